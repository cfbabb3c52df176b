// shmcast dump DIR: prints an archive's messages, in tail's formats, from --from to --to.
// Gaps recorded in the archive are reported where they fall: in the json stream, or as a
// notice on standard error in the text and hex formats. Ends at the end of what is
// written; `| head` ends it quietly (exit 0).
#include "commands.hpp"
#include "common/event_format.hpp"
#include "common/format.hpp"
#include "common/stop.hpp"

#include <shmcast/archive.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unistd.h>

namespace shmcast::cli {

namespace {

struct DumpArgs {
  std::string dir;
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::string format = "text";
};

// Writes `out` to standard output; false once the reader of it has gone (EPIPE).
bool write_out(std::string& out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, out.data() + done, out.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR && !stop_requested()) {
      continue;
    } else {
      if (n < 0 && errno != EPIPE && errno != EINTR) throw Error(Errc::system, std::string("writing standard output: ") + std::strerror(errno));
      return false;
    }
  }
  out.clear();
  return true;
}

void run(const DumpArgs& a) {
  const std::uint64_t from = a.from ? parse_uint("--from", *a.from, 0, UINT64_MAX - 1) : 0;
  const std::uint64_t to = a.to ? parse_uint("--to", *a.to, 0, UINT64_MAX - 1) : UINT64_MAX - 1;
  if (a.from && a.to && to < from) throw CLI::ValidationError("--to " + *a.to + " is before --from " + *a.from);
  const OutputFormat format = *output_format(a.format);
  install_stop_handlers();
  Archive archive(a.dir, EmptyArchive::empty);
  if (a.from) archive.seek(from);
  std::string out;
  // Past --to nothing more is read: damage after the range is not this dump's business.
  while (!stop_requested() && archive.position() <= to) {
    ReadResult r;
    try {
      r = archive.next();
    } catch (const Error&) {
      (void)write_out(out);  // everything before the damaged record, then the error
      throw;
    }
    if (!r) break;
    if (r.status == ReadStatus::gap) {
      if (r.gap.first > to) break;
      const Gap gap{r.gap.first, std::min(r.gap.missed, to - r.gap.first + 1), r.gap.cause};
      if (format == OutputFormat::json) {
        append_gap_json(out, gap);
      } else {
        if (!write_out(out)) return;
        std::fprintf(stderr, "shmcast dump: %s\n", gap_notice(gap).c_str());
      }
    } else {
      if (r.message.seq > to) break;
      append_message(out, format, r.message.seq, r.message.type, r.message.timestamp_ns, text_of(r.message.payload));
    }
    if (out.size() >= 64 * 1024 && !write_out(out)) return;
  }
  (void)write_out(out);
}

}  // namespace

void add_dump_command(CLI::App& app) {
  auto args = std::make_shared<DumpArgs>();
  CLI::App* sub = app.add_subcommand("dump", "Print the messages of an archive written by `shmcast record`");
  sub->footer(
      "Prints the archive's messages from --from to --to (both included; default: all), in the formats of "
      "`shmcast tail`: text (one line per payload, control characters escaped), json (one object per line, "
      "{\"seq\",\"type\",\"ts_ns\",\"len\",\"data\"}, with {\"gap\":{\"first\",\"missed\",\"cause\"}} where the archive holds none: the cause is \"skipped\" "
      "where the producer skipped them, \"corrupt\" where the recorder dropped damaged records, else "
      "\"not_archived\") or hex. In text and hex, gaps are notices on standard error. A damaged record that is not the "
      "newest one is an error naming its file and offset (exit 1).");
  sub->add_option("dir", args->dir, "Archive directory")->required();
  sub->add_option("--from", args->from, "First sequence to print");
  sub->add_option("--to", args->to, "Last sequence to print");
  sub->add_option("--format", args->format, "Output format: text, json or hex")->check(CLI::IsMember({"text", "json", "hex"}));
  sub->callback([args] { run(*args); });
}

}  // namespace shmcast::cli
