// The ring's geometry on the command line (layout version 3): `create --size BYTES
// --max-message BYTES` and every way they can be wrong, the retired --slots/--slot-size,
// what stat, list and metrics show of the byte ring, and messages of any size through
// publish and tail.
#include "cli_support.hpp"

#include "common/json.hpp"

#include <catch2/catch.hpp>

#include <shmcast/types.hpp>

using namespace shmcast::clitest;
using shmcast::record_bytes;
using shmcast::cli::Json;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

// `len` bytes of letters, a to z over and over: easy to check once printed.
std::string letters(std::size_t len) {
  std::string s(len, 'a');
  for (std::size_t i = 0; i < len; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

Json stat_json(const std::string& ring) { return Json::parse(run({"stat", ring, "--json"}).out); }

// The sample of `family` for `ring` in a metrics text, as its exact text; "" if absent.
std::string sample(const std::string& metrics, const std::string& family, const std::string& ring) {
  const std::string head = family + "{ring=\"" + ring + "\"} ";
  const std::size_t at = metrics.find("\n" + head);
  if (at == std::string::npos) return {};
  const std::size_t from = at + 1 + head.size();
  return metrics.substr(from, metrics.find('\n', from) - from);
}

constexpr const char* kReplaced =
    "--slots/--slot-size were replaced by --size BYTES and --max-message BYTES in layout version 3 (records of any "
    "size packed in one byte ring)";

}  // namespace

TEST_CASE("create --size and --max-message take bytes with K, M, G suffixes", "[cli][geometry]") {
  struct Case {
    std::vector<std::string> options;
    std::uint64_t ring_bytes;
    std::uint64_t max_message;
  };
  for (const Case& c : std::vector<Case>{{{}, 1u << 20, 1u << 18},  // the defaults: 1 MiB, a quarter of it
                                         {{"--size", "4096"}, 4096, 1024},
                                         {{"--size", "8K"}, 8192, 2048},
                                         {{"--size", "8KiB"}, 8192, 2048},
                                         {{"--size", "2M"}, 2u << 20, 1u << 19},
                                         {{"--size", "2MiB", "--max-message", "1K"}, 2u << 20, 1024},
                                         {{"--size", "64K", "--max-message", "32712"}, 65536, 32712},  // half less 56
                                         {{"--size", "4K", "--max-message", "1"}, 4096, 1},
                                         {{"--max-message", "300KiB"}, 1u << 20, 300 * 1024}}) {
    RingGuard ring(unique_ring("geo-ok"));
    std::vector<std::string> args{"create", ring.name};
    args.insert(args.end(), c.options.begin(), c.options.end());
    const Result r = run(args);
    INFO(joined(args) << "\n" << r.out << r.err);
    REQUIRE(r.rc == 0);
    CHECK(r.out.find("messages up to " + std::to_string(c.max_message) + " bytes") != std::string::npos);
    const Json st = stat_json(ring.name);
    CHECK(st["ring_bytes"] == c.ring_bytes);
    CHECK(st["max_message"] == c.max_message);
  }
}

TEST_CASE("size suffixes are taken in lower case as in upper case", "[cli][geometry]") {
  RingGuard ring(unique_ring("geo-case"));
  Result r = run({"create", ring.name, "--size", "2m", "--max-message", "1k"});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(stat_json(ring.name)["ring_bytes"] == 2u << 20);
  CHECK(stat_json(ring.name)["max_message"] == 1024);
  // g is read as G: these fail on their value, not on their unit.
  r = run({"create", unique_ring("geo-case"), "--size", "128g"});
  CHECK(r.rc == 2);
  CHECK(r.err.find("ring size 137438953472 must be a power of two") != std::string::npos);
  r = run({"create", unique_ring("geo-case"), "--max-message", "2g"});
  CHECK(r.rc == 2);
  CHECK(r.err.find("--max-message '2g' is too large: the largest message is at most 1 GiB") != std::string::npos);
}

TEST_CASE("create refuses a bad --size or --max-message with exit 2 and says why", "[cli][geometry][errors]") {
  struct Case {
    std::vector<std::string> options;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--size", "3000"}, "--size '3000': ring size 3000 must be a power of two from 4 KiB to 64 GiB"},
      {{"--size", "0"}, "ring size 0 must be a power of two from 4 KiB to 64 GiB"},
      {{"--size", "2K"}, "ring size 2048 must be a power of two from 4 KiB to 64 GiB"},  // too small
      {{"--size", "128G"}, "ring size 137438953472 must be a power of two from 4 KiB to 64 GiB"},
      {{"--size", "-1M"}, "--size '-1M' is negative"},
      {{"--size", "99999999999999999999"}, "--size '99999999999999999999' is too large: the ring is at most 64G"},
      {{"--size", "17179869184G"}, "--size '17179869184G' is too large"},  // 2^64 bytes
      {{"--size", "1X"}, "--size '1X': unknown unit"},
      {{"--size", ""}, "--size '' is not a size"},
      {{"--size", "1.5M"}, "--size '1.5M': unknown unit"},
      {{"--size", "4K", "--max-message", "3K"},
       "--max-message '3K' does not fit a ring of 4096 bytes: maximum message size 3072 must be at most half the ring "
       "less 56 bytes (1992 here)"},
      {{"--size", "64K", "--max-message", "32713"}, "(32712 here)"},
      {{"--max-message", "2G"}, "--max-message '2G' is too large: the largest message is at most 1 GiB"},
      {{"--max-message", "4294967360"}, "--max-message '4294967360' is too large"},  // not cut to 32 bits (64)
      {{"--max-message", "-5"}, "--max-message '-5' is negative"},
      {{"--max-message", "0"}, "--max-message '0' is zero"},
      {{"--snapshot-size", "5G"}, "snapshot capacity is larger than 4 GiB"},
  };
  const std::string name = unique_ring("geo-bad");
  for (const Case& c : cases) {
    std::vector<std::string> args{"create", name};
    args.insert(args.end(), c.options.begin(), c.options.end());
    const Result r = run(args);
    INFO(joined(args) << "\nstderr: " << r.err);
    CHECK(r.rc == 2);
    CHECK(one_error_line(r.err));
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.out.empty());
  }
  CHECK(run({"stat", name}).rc == 1);  // nothing was created
}

TEST_CASE("create and bridge in refuse --slots and --slot-size, saying what replaced them", "[cli][geometry][errors]") {
  const std::string name = unique_ring("geo-slots");
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{{"--slots", "64", "--slot-size", "128"},
                                                                                     {"--slots", "64"},
                                                                                     {"--slot-size", "256"},
                                                                                     {"--slots"},
                                                                                     {"--size", "8K", "--slots", "64"}}) {
    std::vector<std::string> args{"create", name};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = run(args);
    INFO(joined(args) << "\nstderr: " << r.err);
    CHECK(r.rc == 2);
    CHECK(one_error_line(r.err));
    CHECK(r.err.find(kReplaced) != std::string::npos);
  }
  CHECK(run({"stat", name}).rc == 1);  // nothing was created
  const Result help = run({"create", "--help"});
  CHECK(help.out.find("--size") != std::string::npos);
  CHECK(help.out.find("--max-message") != std::string::npos);
  CHECK(help.out.find("--slots") == std::string::npos);  // known, not offered

  if (run({"bridge", "--help"}).rc != 0) {
    WARN("shmcast built without the bridge: `bridge in --slots` not checked");
    return;
  }
  // `bridge in` took them too: refused before it tries to connect.
  for (const char* option : {"--slots", "--slot-size"}) {
    const Result r = run({"bridge", "in", name, "--nats", "nats://127.0.0.1:1", option, "64"}, {}, 10s);
    INFO(r.err);
    CHECK(r.rc == 2);
    CHECK(one_error_line(r.err));
    CHECK(r.err.find(kReplaced) != std::string::npos);
  }
}

TEST_CASE("stat, list and metrics show the ring's bytes, its largest message and what it holds", "[cli][geometry]") {
  RingGuard ring(unique_ring("geo-held"));
  REQUIRE(run({"create", ring.name, "--size", "4K", "--max-message", "100"}).rc == 0);

  SECTION("before the ring is full: every message held, its records' bytes summed") {
    // Messages of mixed sizes, packed back to back: 1, 8, 9, 40 and 100 bytes.
    const std::vector<std::size_t> sizes{1, 8, 9, 40, 100};
    std::string input;
    std::uint64_t bytes = 0;
    for (std::size_t len : sizes) {
      input += letters(len) + "\n";
      bytes += record_bytes(len);
    }
    REQUIRE(bytes == 32 + 32 + 64 + 64 + 128);
    REQUIRE(run({"publish", ring.name}, input).rc == 0);
    const Json st = stat_json(ring.name);
    CHECK(st["ring_bytes"] == 4096);
    CHECK(st["max_message"] == 100);
    CHECK(st["head"] == 5);
    CHECK(st["oldest"] == 0);
    CHECK(st["held"] == 5);
    CHECK(st["held_bytes"] == bytes);

    const Result text = run({"stat", ring.name});
    INFO(text.out);
    CHECK(text.out.find("  geometry   4.0 KiB ring, messages up to 100 B, ") != std::string::npos);
    CHECK(text.out.find("  held       sequences 0-4 (5), 320 B of the ring (7.8%)\n") != std::string::npos);
    CHECK(text.out.find("slot") == std::string::npos);

    const Result m = run({"metrics", ring.name});
    CHECK(sample(m.out, "shmcast_ring_bytes", ring.name) == "4096");
    CHECK(sample(m.out, "shmcast_max_message_bytes", ring.name) == "100");
    CHECK(sample(m.out, "shmcast_oldest_sequence", ring.name) == "0");
    CHECK(sample(m.out, "shmcast_held_sequences", ring.name) == "5");
    CHECK(sample(m.out, "shmcast_held_bytes", ring.name) == "320");
  }

  SECTION("once lapped: the oldest held moves on and held counts from it") {
    REQUIRE(run({"publish", ring.name, "--message", std::string(20, 'x'), "--count", "500"}).rc == 0);
    const Json st = stat_json(ring.name);
    INFO(st.dump());
    const std::uint64_t oldest = st["oldest"], held = st["held"], held_bytes = st["held_bytes"];
    CHECK(st["head"] == 500);
    CHECK(oldest > 0);                   // 500 records of 64 bytes do not fit in 4 KiB
    CHECK(held == 500 - oldest);
    CHECK(held_bytes == held * record_bytes(20));
    CHECK(held_bytes <= 4096);
    CHECK(held >= (4096 - 4096 / 16) / record_bytes(20) - 1);  // less at most one reservation step

    const Result text = run({"stat", ring.name});
    CHECK(text.out.find("  held       sequences " + std::to_string(oldest) + "-499 (" + std::to_string(held) + "), ") !=
          std::string::npos);
    const Result m = run({"metrics", ring.name});
    CHECK(sample(m.out, "shmcast_oldest_sequence", ring.name) == std::to_string(oldest));
    CHECK(sample(m.out, "shmcast_held_sequences", ring.name) == std::to_string(held));
    CHECK(sample(m.out, "shmcast_held_bytes", ring.name) == std::to_string(held_bytes));

    // list: the same figures, in JSON and as columns.
    const Json list = Json::parse(run({"list", "--json"}).out);
    bool found = false;
    for (const Json& entry : list) {
      if (entry["name"] != ring.name) continue;
      found = true;
      CHECK(entry["ring_bytes"] == 4096);
      CHECK(entry["max_message"] == 100);
      CHECK(entry["oldest"] == oldest);
      CHECK(entry["held"] == held);
      CHECK(entry["held_bytes"] == held_bytes);
      CHECK_FALSE(entry.contains("slots"));
    }
    CHECK(found);
    const std::vector<std::string> rows = lines(run({"list"}).out);
    REQUIRE(!rows.empty());
    CHECK(rows[0].find("RING") != std::string::npos);
    CHECK(rows[0].find("MAX_MESSAGE") != std::string::npos);
    CHECK(rows[0].find("OLDEST") != std::string::npos);
    CHECK(rows[0].find("HELD_BYTES") != std::string::npos);
    std::string row;
    for (const std::string& r : rows)
      if (r.rfind(ring.name + " ", 0) == 0) row = r;
    INFO(row);
    CHECK(row.find(" 4.0 KiB ") != std::string::npos);
    CHECK(row.find(" 100 ") != std::string::npos);
    const std::string oldest_cell = std::string(" ").append(std::to_string(oldest)).append(" ");
    CHECK(row.find(oldest_cell) != std::string::npos);
  }
}

TEST_CASE("tail prints a message larger than 64 KiB whole, in every format", "[cli][geometry][tail]") {
  RingGuard ring(unique_ring("geo-big"));
  REQUIRE(run({"create", ring.name, "--size", "1M", "--max-message", "200K"}).rc == 0);
  const std::string big = letters(100000);
  REQUIRE(run({"publish", ring.name}, big + "\ntiny\n").rc == 0);

  SECTION("text") {
    const Result r = run({"tail", ring.name, "--no-follow"});
    CHECK(r.rc == 0);
    CHECK(r.out.size() == big.size() + 6);
    CHECK(r.out == big + "\ntiny\n");
  }
  SECTION("json") {
    const Result r = run({"tail", ring.name, "--no-follow", "--format", "json"});
    CHECK(r.rc == 0);
    const auto ls = lines(r.out);
    REQUIRE(ls.size() == 2);
    const Json first = Json::parse(ls[0]);
    CHECK(first["seq"] == 0);
    CHECK(first["len"] == 100000);
    CHECK(first["data"] == big);
    CHECK(Json::parse(ls[1])["data"] == "tiny");
  }
  SECTION("hex") {
    const Result r = run({"tail", ring.name, "--no-follow", "--format", "hex"});
    CHECK(r.rc == 0);
    CHECK(r.out.rfind("seq=0 type=0 ts_ns=", 0) == 0);
    CHECK(r.out.find(" len=100000\n") != std::string::npos);
    CHECK(r.out.find("  00000000: 6162 6364 6566 6768 696a 6b6c 6d6e 6f70  abcdefghijklmnop\n") != std::string::npos);
    // 100000 bytes: 6250 lines of 16, the last at offset 99984 (0x18690).
    CHECK(count(r.out, ": ") == 6250 + 1);  // and the tiny message's one line
    CHECK(r.out.find("  00018690: ") != std::string::npos);
    CHECK(r.out.find("  000186a0: ") == std::string::npos);
    CHECK(r.out.find("seq=1 type=0") != std::string::npos);
  }
  SECTION("following, as it arrives") {
    Proc tail({"tail", ring.name, "--format", "json", "--count", "1"});
    REQUIRE(wait_readers(ring.name, 1));
    const std::string larger = letters(150000);
    REQUIRE(run({"publish", ring.name}, larger + "\n").rc == 0);
    CHECK(tail.finish() == 0);
    const auto ls = lines(tail.out());
    REQUIRE(ls.size() == 1);
    const Json m = Json::parse(ls[0]);
    CHECK(m["seq"] == 2);
    CHECK(m["len"] == 150000);
    CHECK(m["data"] == larger);
  }
}

TEST_CASE("publish takes any size up to the ring's max_message and names the limit past it", "[cli][geometry][publish]") {
  RingGuard ring(unique_ring("geo-limit"));
  REQUIRE(run({"create", ring.name, "--size", "1M", "--max-message", "200K"}).rc == 0);

  const Result over = run({"publish", ring.name}, letters(204801) + "\n");
  INFO(over.err);
  CHECK(over.rc == 1);
  CHECK(one_error_line(over.err, ring.name));
  CHECK(over.err.find("line 1: message of 204801 bytes exceeds the ring's maximum message size of 204800 bytes") !=
        std::string::npos);
  CHECK(over.err.find("nothing was published") != std::string::npos);
  CHECK(over.err.find("--max-message") != std::string::npos);
  CHECK(stat_json(ring.name)["head"] == 0);

  // Exactly the limit fits, and so does an empty line.
  REQUIRE(run({"publish", ring.name}, letters(204800) + "\n\n").rc == 0);
  const Json st = stat_json(ring.name);
  CHECK(st["head"] == 2);
  CHECK(st["published_bytes"] == 204800);
  const auto ls = lines(run({"tail", ring.name, "--no-follow", "--format", "json"}).out);
  REQUIRE(ls.size() == 2);
  CHECK(Json::parse(ls[0])["len"] == 204800);
  CHECK(Json::parse(ls[1])["len"] == 0);

  // A line far past the limit is counted, not kept, and nothing of it is published.
  const Result huge = run({"publish", ring.name}, "ok\n" + std::string(8u << 20, 'h') + "\n");
  CHECK(huge.rc == 1);
  CHECK(huge.err.find("line 2: message of 8388608 bytes exceeds") != std::string::npos);
  CHECK(huge.err.find("line 1 was published (sequence 2), line 2 and after were not") != std::string::npos);
  CHECK(stat_json(ring.name)["head"] == 3);

  // --message, past a smaller ring's limit.
  RingGuard small(unique_ring("geo-limit-m"));
  REQUIRE(run({"create", small.name, "--size", "256K", "--max-message", "64K"}).rc == 0);
  const Result message = run({"publish", small.name, "--message", letters(70000), "--count", "3"});
  CHECK(message.rc == 1);
  CHECK(one_error_line(message.err, small.name));
  CHECK(message.err.find("message of 70000 bytes exceeds the ring's maximum message size of 65536 bytes; nothing was "
                         "published") != std::string::npos);
  CHECK(stat_json(small.name)["head"] == 0);
  CHECK(run({"publish", small.name, "--message", letters(65536)}).rc == 0);
}
