// End-to-end tests of `shmcast tail` at its edges: pipes that close, the last N messages,
// snapshot-only rings, options out of range, control characters in payloads.
#include "cli_support.hpp"
#include "common/event_format.hpp"
#include "common/format.hpp"
#include "common/prometheus.hpp"

#include <catch2/catch.hpp>

#include <shmcast/producer.hpp>

#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace shmcast::clitest;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

// The value of `key:` in /proc/PID/status ("VmRSS:", "RssAnon:"...), summed over the
// process's threads when `all_threads`; -1 when absent.
long proc_status(pid_t pid, const std::string& key, bool all_threads = false) {
  std::vector<std::string> files;
  if (!all_threads) {
    files.push_back("/proc/" + std::to_string(pid) + "/status");
  } else {
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* ent = ::readdir(d))
        if (ent->d_name[0] != '.') files.push_back(dir + "/" + ent->d_name + "/status");
      ::closedir(d);
    }
  }
  long total = -1;
  for (const std::string& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(key, 0) == 0) total = (total < 0 ? 0 : total) + std::stol(line.substr(key.size()));
  }
  return total;
}

// Publishes each payload as one message, byte for byte, through the library.
void publish_raw(const std::string& ring, const std::vector<std::string>& payloads) {
  auto producer = shmcast::Producer::open_or_create(ring, {.ring_bytes = 16 * 1024});
  for (const std::string& p : payloads) producer.publish(shmcast::bytes_of(p), 0);
}

constexpr std::uint64_t kGapLine = UINT64_MAX;  // what seqs() gives a line without a seq

std::vector<std::uint64_t> seqs(const std::string& json_lines) {
  std::vector<std::uint64_t> out;
  for (const std::string& l : lines(json_lines)) out.push_back(json_u64(l, "seq").value_or(kGapLine));
  return out;
}

}  // namespace

TEST_CASE("tail ends promptly with status 0 when the reader of its output goes away", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-epipe"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);

  SECTION("after `head -3` has read its lines, with no further message") {
    REQUIRE(run({"publish", ring.name}, "1\n2\n3\n4\n5\n").rc == 0);
    Proc tail({"tail", ring.name, "--from", "oldest"});
    CHECK(tail.wait_for([](const Proc& p) { return count(p.out(), "\n") >= 3; }));
    tail.close_stdout();
    const auto closed = Clock::now();
    CHECK(tail.finish(5s) == 0);  // not 141 (SIGPIPE), not still waiting for a message (-1)
    CHECK(Clock::now() - closed < 5s);
    CHECK(tail.err().find("Broken pipe") == std::string::npos);
  }
  SECTION("an idle tail that has written nothing") {
    Proc tail({"tail", ring.name});
    REQUIRE(wait_readers(ring.name, 1));
    tail.close_stdout();
    CHECK(tail.finish(5s) == 0);
    REQUIRE(wait_readers(ring.name, 0));  // and it released its registry entry
  }
  SECTION("through a shell pipeline into head -3") {
    REQUIRE(run({"publish", ring.name}, "a\nb\nc\nd\n").rc == 0);
    const std::string command = "timeout 20 sh -c '( { \"" + std::string(SHMCAST_BIN) + "\" tail " + ring.name +
                                " --from oldest 2>/dev/null; echo \"tail=$?\" >&2; } | head -3 ) 2>&1'";
    const auto started = Clock::now();
    FILE* sh = ::popen(command.c_str(), "r");
    REQUIRE(sh != nullptr);
    std::string got;
    char buf[256];
    while (std::fgets(buf, sizeof buf, sh) != nullptr) got += buf;
    const int status = ::pclose(sh);
    CHECK(Clock::now() - started < 10s);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // 124: timeout killed a hung tail
    CHECK(got == "a\nb\nc\ntail=0\n");
  }
}

TEST_CASE("a fresh tail on a busy ring starts with a message and no gap", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-busy"));
  // 32 KiB (1024 of these 4-byte messages, 32 bytes a record) and an unpaced producer: the
  // ring is lapped every few tens of microseconds, sooner than a tail gets from attaching
  // to its first read. That read takes the start again (the next message, for `latest`),
  // and the message comes within a poll or two.
  REQUIRE(run({"create", ring.name, "--size", "32K"}).rc == 0);
  Proc producer({"publish", ring.name, "-m", "busy", "--count", "1000000000000"});
  REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) { return st.head > 1000; }));
  for (int attempt = 0; attempt < 3; ++attempt) {
    const Result tail = run({"tail", ring.name, "--format", "json", "--count", "3"});
    INFO("attempt " << attempt << ": " << tail.out << tail.err);
    REQUIRE(tail.rc == 0);
    const std::vector<std::string> out = lines(tail.out);
    REQUIRE_FALSE(out.empty());
    CHECK(out.front().rfind("{\"seq\":", 0) == 0);  // a message first, not {"gap":...}
  }
  producer.signal(SIGTERM);
  CHECK(producer.finish(10s) >= 0);
}

TEST_CASE("tail with standard output closed is an error, not a quiet end", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-noout"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  const std::string got = shell_output("\"$SHMCAST\" tail " + ring.name + " 2>&1 >&-; echo \"tail=$?\"");
  CHECK(got.find("standard output is not open: Bad file descriptor") != std::string::npos);
  CHECK(got.find("tail=1\n") != std::string::npos);
}

TEST_CASE("an idle tail sleeps instead of polling", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-idle"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  Proc tail({"tail", ring.name});
  REQUIRE(wait_readers(ring.name, 1));
  std::this_thread::sleep_for(300ms);  // past start-up
  // Voluntary switches: each time one of its threads went to sleep (preemption by a busy
  // machine does not count).
  const long before = proc_status(tail.pid(), "voluntary_ctxt_switches:", true);
  std::this_thread::sleep_for(2s);
  const long after = proc_status(tail.pid(), "voluntary_ctxt_switches:", true);
  INFO("sleeps in 2 s: " << after - before);
  // Waking every millisecond costs ~1800 here; the bounded waits (100-200 ms) a few dozen.
  CHECK(after - before < 400);
  tail.signal(SIGTERM);
  CHECK(tail.finish(5s) == 0);
}

TEST_CASE("tail on a ring nothing was published into waits for a producer without naming its creator", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-fresh"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  {
    Proc tail({"tail", ring.name});
    REQUIRE(tail.wait_for([](const Proc& p) { return p.err().find("waiting for one") != std::string::npos; }));
    CHECK(tail.err().find("no producer has published yet") != std::string::npos);
    tail.signal(SIGTERM);
    CHECK(tail.finish() == 0);
  }
  REQUIRE(run({"publish", ring.name, "--message", "m"}).rc == 0);
  Proc tail({"tail", ring.name});
  REQUIRE(tail.wait_for([](const Proc& p) { return p.err().find("waiting for one") != std::string::npos; }));
  CHECK(tail.err().find("no live producer (the last was pid ") != std::string::npos);  // the publisher's
  tail.signal(SIGTERM);
  CHECK(tail.finish() == 0);
}

TEST_CASE("tail -n N starts with the last N held, --first N prints the first N", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-last"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--count", "10", "--message", "m"}).rc == 0);  // sequences 0..9

  using V = std::vector<std::uint64_t>;
  SECTION("-n with --no-follow: the last N, like tail(1)") {
    Result r = run({"tail", ring.name, "-n", "3", "--no-follow", "--format", "json"});
    CHECK(r.rc == 0);
    CHECK(seqs(r.out) == V{7, 8, 9});
    CHECK(seqs(run({"tail", ring.name, "--lines", "1", "--no-follow", "--format", "json"}).out) == V{9});
    CHECK(run({"tail", ring.name, "-n", "0", "--no-follow"}).out.empty());
    CHECK(seqs(run({"tail", ring.name, "-n", "1000", "--no-follow", "--format", "json"}).out) ==
          V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // no more than is held
  }
  SECTION("-n in a ring that skipped sequences: the last N messages, not the last N sequences") {
    shmcast::Producer::open(ring.name).skip_to(100);  // as `replay` or `bridge in` may
    REQUIRE(run({"publish", ring.name, "--count", "3", "--message", "m"}).rc == 0);  // sequences 100..102
    const Result r = run({"tail", ring.name, "-n", "5", "--no-follow", "--format", "json"});
    CHECK(r.rc == 0);
    CHECK(seqs(r.out) == V{8, 9, kGapLine, 100, 101, 102});  // the skipped run, reported between them
    CHECK(r.out.find(R"({"gap":{"first":10,"missed":90,"cause":"skipped"}})") != std::string::npos);
    // In text, the notice says they were skipped, not that the reader was lapped.
    const Result text = run({"tail", ring.name, "-n", "5", "--no-follow"});
    CHECK(text.err.find("gap: missed 90 messages from sequence 10 (skipped by the producer: never published)") !=
          std::string::npos);
    CHECK(text.err.find("lapped") == std::string::npos);
    CHECK(seqs(run({"tail", ring.name, "-n", "3", "--no-follow", "--format", "json"}).out) == V{100, 101, 102});
  }
  SECTION("a ring that wrapped, its producer gone: -n and --from oldest start at the oldest held, none left out") {
    REQUIRE(run({"publish", ring.name, "--count", "2000", "--message", "m"}).rc == 0);  // far past what 8 KiB hold
    const shmcast::RingStatus st = shmcast::inspect(ring.name);
    REQUIRE(st.oldest > 10);
    const Result last = run({"tail", ring.name, "-n", "100000", "--no-follow", "--format", "json"});
    CHECK(last.rc == 0);
    CHECK(last.err.empty());
    CHECK(seqs(last.out).size() == st.held);
    CHECK(seqs(last.out).front() == st.oldest);
    const Result oldest = run({"tail", ring.name, "--from", "oldest", "--no-follow", "--format", "json"});
    CHECK(seqs(oldest.out).front() == st.oldest);
    // From 0: only what the ring no longer holds is a gap.
    const Result from0 = run({"tail", ring.name, "--from", "0", "--no-follow", "--format", "json"});
    CHECK(from0.out.find(R"({"gap":{"first":0,"missed":)" + std::to_string(st.oldest) + ",") != std::string::npos);
  }
  SECTION("-n then follows") {
    Proc tail({"tail", ring.name, "-n", "2", "--format", "json"});
    REQUIRE(tail.wait_for([](const Proc& p) { return count(p.out(), "\n") >= 2; }));
    REQUIRE(run({"publish", ring.name, "--message", "new"}).rc == 0);
    REQUIRE(tail.wait_for([](const Proc& p) { return count(p.out(), "\n") >= 3; }));
    tail.signal(SIGTERM);
    CHECK(tail.finish() == 0);
    CHECK(seqs(tail.out()) == V{8, 9, 10});
    CHECK(lines(tail.out())[2].find(R"("data":"new")") != std::string::npos);
  }
  SECTION("--first N: the first N held, then exit, even in follow mode") {
    Result r = run({"tail", ring.name, "--first", "3", "--format", "json"});
    CHECK(r.rc == 0);
    CHECK(seqs(r.out) == V{0, 1, 2});
    CHECK(seqs(run({"tail", ring.name, "--first", "2", "--from", "5", "--format", "json"}).out) == V{5, 6});
    CHECK(seqs(run({"tail", ring.name, "--first", "50", "--no-follow", "--format", "json"}).out).size() == 10u);
  }
  SECTION("-n with --type: the last N of that type") {
    REQUIRE(run({"publish", ring.name, "--type", "7", "--message", "seven", "--count", "3"}).rc == 0);  // 10..12
    REQUIRE(run({"publish", ring.name, "--count", "5", "--message", "m"}).rc == 0);                     // 13..17
    CHECK(seqs(run({"tail", ring.name, "-n", "2", "--type", "7", "--no-follow", "--format", "json"}).out) == V{11, 12});
    CHECK(seqs(run({"tail", ring.name, "-n", "9", "--type", "7", "--no-follow", "--format", "json"}).out) ==
          V{10, 11, 12});
    CHECK(run({"tail", ring.name, "-n", "0", "--type", "7", "--no-follow"}).out.empty());
    REQUIRE(wait_readers(ring.name, 0));  // the first pass's reader does not register
  }
  SECTION("--count N still exits after N, from wherever it starts") {
    CHECK(seqs(run({"tail", ring.name, "--from", "4", "--count", "2", "--format", "json"}).out) == V{4, 5});
  }
  SECTION("-n with --from or --first is a usage error") {
    for (const auto& args : std::vector<std::vector<std::string>>{{"tail", ring.name, "-n", "3", "--from", "2"},
                                                                  {"tail", ring.name, "-n", "3", "--first", "2"},
                                                                  {"tail", ring.name, "--first", "3", "--count", "2"}}) {
      Result r = run(args);
      CHECK(r.rc == 2);
      CHECK(one_error_line(r.err));
    }
  }
}

TEST_CASE("tail --from snapshot --no-follow prints a ring that holds only a snapshot", "[cli][tail][edges][snapshot]") {
  RingGuard ring(unique_ring("tail-snaponly"));
  const std::string file = "/tmp/" + ring.name + ".state";
  { std::ofstream(file) << "mode=on"; }
  REQUIRE(run({"create", ring.name, "--size", "4K", "--snapshot-size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--snapshot-file", file}).rc == 0);
  std::remove(file.c_str());

  Result json = run({"tail", ring.name, "--from", "snapshot", "--no-follow", "--format", "json"});
  CHECK(json.rc == 0);
  CHECK(json.out == "{\"snapshot\":{\"as_of\":0,\"len\":7,\"data\":\"mode=on\"}}\n");
  Result text = run({"tail", ring.name, "--from", "snapshot", "--no-follow"});
  CHECK(text.rc == 0);
  CHECK(text.out == "mode=on\n");
  CHECK(text.err.find("snapshot as of sequence 0") != std::string::npos);
}

TEST_CASE("tail --on-gap snapshot with only a snapshot older than the ring holds says why nothing comes", "[cli][tail][edges][snapshot]") {
  RingGuard ring(unique_ring("tail-stale"));
  const std::string file = "/tmp/" + ring.name + ".state";
  { std::ofstream(file) << "mode=on"; }
  REQUIRE(run({"create", ring.name, "--size", "4K", "--snapshot-size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--snapshot-file", file}).rc == 0);  // as of sequence 0
  std::remove(file.c_str());
  REQUIRE(run({"publish", ring.name, "--count", "500", "--message", "m"}).rc == 0);  // many laps of 4 KiB
  const Result r = run({"tail", ring.name, "--from", "0", "--on-gap", "snapshot", "--no-follow"});
  CHECK(r.rc == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("lost its place at sequence 0 and the newest snapshot is older than what the ring holds") !=
        std::string::npos);
  Proc follow({"tail", ring.name, "--from", "0", "--on-gap", "snapshot"});
  REQUIRE(follow.wait_for([](const Proc& p) { return p.err().find("waiting for the producer to publish a newer one") != std::string::npos; }));
  // Waiting still follows the ring: made again, it is reattached and read.
  REQUIRE(run({"rm", ring.name}).rc == 0);
  REQUIRE(run({"create", ring.name, "--size", "4K", "--snapshot-size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--message", "after"}).rc == 0);
  REQUIRE(follow.wait_for([](const Proc& p) { return p.out().find("after") != std::string::npos; }));
  follow.signal(SIGTERM);
  CHECK(follow.finish() == 0);
}

TEST_CASE("snapshot options on a ring without a snapshot area are an error", "[cli][tail][edges][snapshot]") {
  RingGuard ring(unique_ring("tail-nosnap"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--message", "x"}).rc == 0);
  for (const auto& extra : std::vector<std::vector<std::string>>{{"--from", "snapshot", "--no-follow"},
                                                                 {"--from", "snapshot"},
                                                                 {"--on-gap", "snapshot", "--no-follow"},
                                                                 {"--on-gap", "snapshot"}}) {
    std::vector<std::string> args{"tail", ring.name};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = run(args, {}, 10s);  // follow mode too: it must not start waiting
    INFO(r.err);
    CHECK(r.rc == 1);
    CHECK(r.out.empty());
    CHECK(one_error_line(r.err, ring.name));
    CHECK(r.err.find("no snapshot area") != std::string::npos);
    CHECK(r.err.find("--snapshot-size") != std::string::npos);  // what to do
  }
}

TEST_CASE("tail --queue has a range and allocates as the queue fills", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-queue"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  for (const char* bad : {"0", "1", "-1", "1048577", "100000000", "99999999999999999999999", "nan", "1e6"}) {
    INFO(bad);
    Result r = run({"tail", ring.name, "--queue", bad, "--no-follow"});
    CHECK(r.rc == 2);
    CHECK(one_error_line(r.err));
  }
  CHECK(run({"tail", ring.name, "--help"}).out.find("1048576") != std::string::npos);  // the range is documented

  // The largest queue against the smallest, in the same build: a sanitizer's own memory
  // (ASan's shadow and quarantine) is in both, the queue's buffers only in the first if
  // they are made up front.
  const auto anon_kb_of_tail_with_queue = [&](const char* queue) {
    Proc tail({"tail", ring.name, "--queue", queue});
    REQUIRE(wait_readers(ring.name, 1));
    // Its notice that no producer is attached passes through the queue: it is set up by then.
    tail.wait_for([](const Proc& p) { return p.err().find("waiting for one") != std::string::npos; });
    std::this_thread::sleep_for(200ms);
    const long anon_kb = proc_status(tail.pid(), "RssAnon:");
    tail.signal(SIGTERM);
    CHECK(tail.finish(5s) == 0);
    REQUIRE(wait_readers(ring.name, 0));
    return anon_kb;
  };
  const long largest = anon_kb_of_tail_with_queue("1048576");
  const long smallest = anon_kb_of_tail_with_queue("2");
  INFO("RssAnon " << largest << " kB with --queue 1048576, " << smallest << " kB with --queue 2");
  CHECK(largest > 0);
  CHECK(largest - smallest < 24 * 1024);  // a million buffers made up front take ~70 MB more
}

TEST_CASE("every numeric option of tail rejects negatives, overflow and non-numbers", "[cli][tail][edges][errors]") {
  RingGuard ring(unique_ring("tail-numbers"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--message", "x", "--count", "2"}).rc == 0);
  const std::vector<std::string> junk = {"-1", "99999999999999999999999", "18446744073709551616", "nan", "inf",
                                         "1.5", "", " 3", "+3", "3x", "0x10"};
  for (const char* option : {"-n", "--first", "--count", "--type", "--queue", "--from"}) {
    for (const std::string& value : junk) {
      INFO(option << " '" << value << "'");
      Result r = run({"tail", ring.name, option, value, "--no-follow"});
      CHECK(r.rc == 2);
      CHECK(one_error_line(r.err));
      CHECK(r.out.empty());
    }
  }
  for (const auto& args : std::vector<std::vector<std::string>>{{"--first", "0"},
                                                                {"--count", "0"},
                                                                {"--queue", "0"},
                                                                {"--type", "4294967296"}}) {
    INFO(args[0] << " " << args[1]);
    Result r = run({"tail", ring.name, args[0], args[1], "--no-follow"});
    CHECK(r.rc == 2);
    CHECK(one_error_line(r.err));
  }
  // The edges that are in range.
  CHECK(run({"tail", ring.name, "-n", "0", "--no-follow"}).rc == 0);
  CHECK(run({"tail", ring.name, "-n", "18446744073709551615", "--no-follow"}).out == "x\nx\n");
  CHECK(run({"tail", ring.name, "--type", "0", "--no-follow"}).out == "x\nx\n");
  CHECK(run({"tail", ring.name, "--type", "4294967295", "--no-follow"}).out.empty());
  CHECK(run({"tail", ring.name, "--from", "18446744073709551615", "--no-follow"}).rc == 0);
}

namespace {

std::string utf8_of(char32_t c) {
  std::string out;
  if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  }
  out += static_cast<char>(0x80 | (c & 0x3F));
  return out;
}

std::string hex_of(unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*x", digits, value);
  return buf;
}

}  // namespace

TEST_CASE("text output escapes bidi overrides and invisible format characters", "[cli][tail][edges][escape]") {
  using namespace shmcast::cli;
  std::vector<char32_t> disguising{0x00AD, 0x061C, 0x180E, 0x2028, 0x2029, 0xFEFF, 0xE0001};
  for (char32_t c = 0x200B; c <= 0x200F; ++c) disguising.push_back(c);
  for (char32_t c = 0x202A; c <= 0x202E; ++c) disguising.push_back(c);
  for (char32_t c = 0x2060; c <= 0x206F; ++c) disguising.push_back(c);
  for (char32_t c = 0xE0020; c <= 0xE007F; ++c) disguising.push_back(c);  // tags: hidden ASCII
  for (const char32_t c : disguising) {
    const std::string raw = utf8_of(c);
    std::string bytes_escaped;
    for (const char b : raw) bytes_escaped += "\\x" + hex_of(static_cast<unsigned char>(b), 2);
    INFO("U+" << hex_of(c, 4));
    // Labels and names: the code point, as for a C1 control (\u009b).
    CHECK(printable("a" + raw + "b") == (c > 0xFFFF ? "a\\U" + hex_of(c, 8) : "a\\u" + hex_of(c, 4)) + "b");
    // Payloads: each byte, as for a C1 control (\xc2\x9b).
    std::string payload;
    append_escaped(payload, "a" + raw + "b");
    CHECK(payload == "a" + bytes_escaped + "b");
    CHECK(escape_label("a" + raw + "b") == "a\xEF\xBF\xBD" "b");
  }
  // Their neighbours, and other printable text, are shown as they are.
  for (const char32_t c : {0x00A0u, 0x00ACu, 0x00AEu, 0x200Au, 0x2027u, 0x202Fu, 0x2070u, 0xFEFEu, 0x05D0u, 0xE0000u,
                           0xE0002u, 0xE0080u, 0x1F600u}) {
    INFO("U+" << hex_of(c, 4));
    CHECK(printable(utf8_of(c)) == utf8_of(c));
    std::string payload;
    append_escaped(payload, utf8_of(c));
    CHECK(payload == utf8_of(c));
  }

  // End to end: a payload in tail's text (json keeps it as valid JSON, unescaped), and a
  // reader's label in stat.
  RingGuard ring(unique_ring("tail-bidi"));
  publish_raw(ring.name, {"price 10\xe2\x80\xae" "05 \xe2\x81\xa6x\xe2\x81\xa9 zw\xe2\x80\x8b"});
  const Result text = run({"tail", ring.name, "--no-follow"});
  CHECK(text.rc == 0);
  CHECK(text.out == "price 10\\xe2\\x80\\xae05 \\xe2\\x81\\xa6x\\xe2\\x81\\xa9 zw\\xe2\\x80\\x8b\n");
  const Result json = run({"tail", ring.name, "--no-follow", "--format", "json"});
  CHECK(json.out.find("\"data\":\"price 10\xe2\x80\xae" "05 \xe2\x81\xa6x") != std::string::npos);
  shmcast::ReaderOptions options;
  options.label = "L\xe2\x80\xaeX";
  shmcast::Reader reader(ring.name, options);
  REQUIRE(wait_labelled(ring.name, {options.label}));
  const Result stat = run({"stat", ring.name});
  INFO(stat.out);
  CHECK(stat.out.find("L\\u202eX") != std::string::npos);
  CHECK(stat.out.find("\xe2\x80\xae") == std::string::npos);
}

TEST_CASE("tail's text format escapes control characters and keeps one line per message", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-escape"));
  publish_raw(ring.name, {"\x1b[31mred\x1b[0m", "line1\nline2", "cr\rbs\bdel\x7f nul" + std::string(1, '\0'),
                          "c1 \xc2\x9b and raw \x9b", "caf\xc3\xa9 \xe2\x80\xa6 tab\tend \xff"});
  Result r = run({"tail", ring.name, "--no-follow"});
  CHECK(r.rc == 0);
  CHECK(lines(r.out) == std::vector<std::string>{"\\x1b[31mred\\x1b[0m", "line1\\nline2", "cr\\rbs\\x08del\\x7f nul\\x00",
                                                 "c1 \\xc2\\x9b and raw \\x9b",
                                                 "caf\xc3\xa9 \xe2\x80\xa6 tab\tend \xff"});  // printable UTF-8 as is
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.out.find('\r') == std::string::npos);

  // json and hex were already safe and keep the exact bytes.
  Result json = run({"tail", ring.name, "--no-follow", "--format", "json"});
  CHECK(json.out.find(R"("data":"\u001b[31mred\u001b[0m")") != std::string::npos);
  CHECK(json.out.find('\x1b') == std::string::npos);
  CHECK(lines(json.out).size() == 5u);
  Result hex = run({"tail", ring.name, "--no-follow", "--format", "hex"});
  CHECK(hex.out.find("1b5b 3331 6d72 6564") != std::string::npos);
  CHECK(hex.out.find('\x1b') == std::string::npos);
  CHECK(run({"tail", "--help"}).out.find("control characters") != std::string::npos);
}

TEST_CASE("tail into a non-blocking pipe that fills waits for room instead of failing", "[cli][tail][edges]") {
  RingGuard ring(unique_ring("tail-nonblock"));
  REQUIRE(run({"create", ring.name, "--size", "4M", "--max-message", "2K"}).rc == 0);
  {
    shmcast::Producer p = shmcast::Producer::open(ring.name);
    const std::string body(1000, 'x');
    for (int i = 0; i < 1000; ++i) p.publish(std::as_bytes(std::span(body)));  // ~1 MB: many pipes full
  }
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);  // O_NONBLOCK on both ends, as a node or asyncio parent sets it
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const std::string bin = SHMCAST_BIN;
  std::vector<std::string> args{bin, "tail", ring.name, "--no-follow"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let it fill the pipe
  std::size_t lines_read = 0;
  char buf[65536];
  for (;;) {
    pollfd in{fds[0], POLLIN, 0};
    if (::poll(&in, 1, 20000) <= 0) break;  // 20 s without output: give up (checked below)
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      break;
    }
    lines_read += static_cast<std::size_t>(std::count(buf, buf + n, '\n'));
  }
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 1: "writing standard output: Resource temporarily unavailable"
  CHECK(lines_read == 1000);
}
