// shmcast create NAME: creates a ring (and its reader registry).
#include "commands.hpp"
#include "common/format.hpp"

#include <shmcast/producer.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace shmcast::cli {

namespace {

struct CreateArgs {
  std::string name;
  std::string size = "1M";
  std::optional<std::string> max_message;  // default: a quarter of the ring
  std::string mode = "0600";
  std::optional<std::string> registry_mode;  // default: CreateOptions' (readers of the ring may write)
  std::string snapshot_size = "0";
  std::string max_readers = std::to_string(kDefaultMaxReaders);
  bool force = false;
  bool even_if_live = false;
};

void run_create(const CreateArgs& a) {
  Geometry g;
  g.ring_bytes = parse_ring_size(a.size);
  if (a.max_message) g.max_message = parse_max_message(*a.max_message);
  g.snapshot_capacity = parse_size("--snapshot-size", a.snapshot_size);
  check_geometry(a.name, g, a.size, a.max_message.value_or(""));
  CreateOptions options;
  options.mode = parse_mode(a.mode);
  if (a.registry_mode) options.registry_mode = parse_mode(*a.registry_mode);
  options.replace = a.force && !a.even_if_live;  // the library refuses a live producer's ring
  options.max_readers = static_cast<std::uint32_t>(parse_uint("--max-readers", a.max_readers, 1, kMaxReadersLimit));
  if (a.force && a.even_if_live) Producer::remove(a.name);
  Producer::create(a.name, g, options);
  const std::uint32_t max = g.message_limit();
  const unsigned registry_mode = options.registry_mode.value_or(default_registry_mode(options.mode));
  std::printf("created ring '%s': %s ring, messages up to %u bytes (%s)%s%s, room for %u registered readers, mode %04o "
              "(registry %04o)\n",
              printable(a.name).c_str(), human_bytes(g.ring_bytes).c_str(), max, human_bytes(max).c_str(),
              g.snapshot_capacity != 0 ? ", snapshot area " : "",
              g.snapshot_capacity != 0 ? human_bytes(g.snapshot_capacity).c_str() : "", options.max_readers, options.mode,
              registry_mode);
}

}  // namespace

void add_create_command(CLI::App& app) {
  auto args = std::make_shared<CreateArgs>();
  CLI::App* sub = app.add_subcommand("create", "Create a ring: NAME becomes /dev/shm/shmcast.NAME (and shmcast.NAME.readers)");
  sub->add_option("name", args->name, "Ring name: letters, digits, '.', '_', '-'")->required();
  sub->add_option("--size", args->size,
                  "Bytes of the ring that holds the messages, a power of two from 4K to 64G (K, M, G or KiB, MiB, "
                  "GiB suffixes). It holds about SIZE / (24 + LEN rounded up to 32) messages of LEN bytes")
      ->type_name("BYTES")
      ->capture_default_str();
  sub->add_option("--max-message", args->max_message,
                  "Largest message accepted, in bytes (suffixes as for --size): at least 1, at most half the ring "
                  "less 56 bytes and at most 1G. Default: a quarter of the ring")
      ->type_name("BYTES");
  sub->add_option("--mode", args->mode,
                  "Permission bits of the ring in octal; its reader registry also lets every class that may read "
                  "write, so that their readers can register (0644 gives a 0666 registry)")
      ->capture_default_str();
  sub->add_option("--registry-mode", args->registry_mode,
                  "Permission bits of the reader registry in octal, instead of the default above. Write access to "
                  "it is trust: whoever may write it may truncate it and make the producer fault. Readers without "
                  "it read unregistered (not shown by `stat`) and poll instead of sleeping")
      ->type_name("MODE");
  sub->add_option("--max-readers", args->max_readers,
                  "Registered readers the ring holds at once, 1 to " + std::to_string(kMaxReadersLimit) +
                      "; a reader past it reads on unregistered (not shown by `stat`), and says so")
      ->type_name("N")
      ->capture_default_str();
  sub->add_option("--snapshot-size", args->snapshot_size,
                  "Bytes per snapshot buffer (K, M, G suffixes allowed); 0 = no snapshot area")
      ->capture_default_str();
  sub->add_flag("--force", args->force,
                "Replace an existing ring of that name (attached readers reattach); refused while its producer is "
                "alive, unless --even-if-live");
  sub->add_flag("--even-if-live", args->even_if_live,
                "With --force: replace the ring even while its producer is alive (that producer goes on writing "
                "into the removed ring, unseen by readers: stop it first if you can)");
  const auto refuse_slot_options = add_retired_slot_options(sub);
  sub->callback([args, refuse_slot_options] {
    refuse_slot_options();
    run_create(*args);
  });
}

}  // namespace shmcast::cli
