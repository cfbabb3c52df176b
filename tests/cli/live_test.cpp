// Long-running commands with several processes at once: tail following a live ring,
// a slow tail lapped by the producer (gaps that add up), two readers seen by stat with
// their lag, a killed reader's entry reclaimed, the producer going away and coming
// back, the ring replaced under a tail, and metrics served over HTTP on loopback.
#include "cli_support.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

using namespace shmcast::clitest;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

bool has_line_with(const Proc& p, const std::string& needle, bool on_stderr = false) {
  return (on_stderr ? p.err() : p.out()).find(needle) != std::string::npos;
}

// GET `path` from 127.0.0.1:port; the whole response (headers and body), or "" on failure.
std::string http_get(unsigned port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

}  // namespace

TEST_CASE("tail follows a live ring and exits after --count messages", "[cli][live]") {
  RingGuard ring(unique_ring("cli-follow"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  for (const char* wait : {"block", "spin"}) {
    INFO(wait);
    std::vector<std::string> args{"tail", ring.name, "--format", "json", "--count", "3"};
    if (std::string(wait) == "spin") args.push_back("--spin");
    Proc tail(args);
    REQUIRE(wait_readers(ring.name, 1));
    const std::uint64_t start = shmcast::inspect(ring.name).head;
    REQUIRE(run({"publish", ring.name}, "one\ntwo\nthree\nfour\n").rc == 0);
    CHECK(tail.finish() == 0);
    const auto ls = lines(tail.out());
    REQUIRE(ls.size() == 3);
    CHECK(json_u64(ls[0], "seq") == start);
    CHECK(ls[2].find(R"("data":"three")") != std::string::npos);
    CHECK(json_u64(ls[2], "seq") == start + 2);
    REQUIRE(wait_readers(ring.name, 0));  // its registry entry was released on exit
  }
}

TEST_CASE("a slow tail is lapped and its gaps add up to the span", "[cli][live][gaps]") {
  RingGuard ring(unique_ring("cli-slow"));
  // 16 KiB: about 85 of the 150-byte messages below (192 bytes a record), lapped many times.
  REQUIRE(run({"create", ring.name, "--size", "16K"}).rc == 0);
  // Nobody reads the tail's stdout while the producer runs: its pipe fills, the writer
  // blocks, the 4-entry queue fills and the reader stops consuming: the ring laps it.
  Proc tail({"tail", ring.name, "--from", "oldest", "--format", "json", "--queue", "4", "--label", "slow"});
  REQUIRE(wait_readers(ring.name, 1));
  // One message first, so that the tail's start is fixed (a start lost before the first
  // event would be taken again): from here on every loss is a gap.
  REQUIRE(run({"publish", ring.name, "--message", std::string(150, 'm')}).rc == 0);
  REQUIRE(tail.wait_for([&](const Proc& p) { return has_line_with(p, "{\"seq\":0,"); }, 30s));
  constexpr std::uint64_t kCount = 5000;
  REQUIRE(run({"publish", ring.name, "--count", std::to_string(kCount - 1), "--message", std::string(150, 'm')}).rc == 0);
  const std::string last = "{\"seq\":" + std::to_string(kCount - 1) + ",";
  REQUIRE(tail.wait_for([&](const Proc& p) { return has_line_with(p, last); }, 30s));

  // The registry agrees with the stream.
  Result stat = run({"stat", ring.name, "--json"});
  const std::string slow = reader_object(stat.out, "slow");
  REQUIRE(!slow.empty());
  CHECK(json_u64(slow, "position") == kCount);
  CHECK(json_u64(slow, "lag") == 0u);
  CHECK(*json_u64(slow, "delivered") + *json_u64(slow, "missed") == kCount);
  CHECK(json_u64(slow, "gaps") >= 1u);

  tail.signal(SIGTERM);
  CHECK(tail.finish() == 0);
  std::uint64_t next = 0, delivered = 0, missed = 0, gaps = 0;
  bool ordered = true;
  for (const std::string& line : lines(tail.out())) {
    if (line.rfind("{\"gap\":", 0) == 0) {
      ordered = ordered && json_u64(line, "first") == next;
      const std::uint64_t k = json_u64(line, "missed").value_or(0);
      CHECK(k > 0);
      next += k;
      missed += k;
      ++gaps;
    } else {
      ordered = ordered && json_u64(line, "seq") == next;
      ++next;
      ++delivered;
    }
  }
  CHECK(ordered);  // every sequence appears once, as a message or inside a gap, in order
  CHECK(gaps >= 1);
  CHECK(delivered + missed == kCount);
  CHECK(next == kCount);
  CHECK(delivered == *json_u64(slow, "delivered"));
  CHECK(missed == *json_u64(slow, "missed"));
  CHECK(gaps == *json_u64(slow, "gaps"));
}

TEST_CASE("in text format a gap is one line on stderr", "[cli][live][gaps]") {
  RingGuard ring(unique_ring("cli-textgap"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  // The 4 KiB ring holds at most 4096 / 32 of these: 400 lap it.
  REQUIRE(run({"publish", ring.name, "--count", "400", "--message", "x"}).rc == 0);
  Result r = run({"tail", ring.name, "--from", "0", "--no-follow"});
  CHECK(r.rc == 0);
  const auto err = lines(r.err);
  REQUIRE(err.size() == 1);
  CHECK(err[0].find(ring.name) != std::string::npos);
  CHECK(err[0].find("from sequence 0") != std::string::npos);
  const std::size_t printed = lines(r.out).size();
  const std::size_t missed = std::stoul(err[0].substr(err[0].find("missed ") + 7));
  CHECK(printed + missed == 400);
  CHECK(missed > 0);
}

TEST_CASE("stat --json shows two readers and their lag", "[cli][live][stat]") {
  RingGuard ring(unique_ring("cli-stat2"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--count", "10", "--message", "m"}).rc == 0);
  Proc fast({"tail", ring.name, "--from", "oldest", "--label", "fast"});
  Proc slow({"tail", ring.name, "--label", "slow"});
  REQUIRE(wait_labelled(ring.name, {"fast", "slow"}));
  slow.signal(SIGSTOP);
  REQUIRE(run({"publish", ring.name, "--count", "5", "--message", "n"}).rc == 0);
  REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) {
    for (const auto& r : st.readers)
      if (r.label == "fast" && r.position == 15) return true;
    return false;
  }));

  Result stat = run({"stat", ring.name, "--json"});
  REQUIRE(stat.rc == 0);
  CHECK(json_u64(stat.out, "head") == 15u);
  CHECK(count(stat.out, "\"label\":") == 2);
  const std::string f = reader_object(stat.out, "fast");
  const std::string s = reader_object(stat.out, "slow");
  REQUIRE(!f.empty());
  REQUIRE(!s.empty());
  CHECK(json_u64(f, "pid") == static_cast<std::uint64_t>(fast.pid()));
  CHECK(json_u64(s, "pid") == static_cast<std::uint64_t>(slow.pid()));
  CHECK(f.find("\"alive\":true") != std::string::npos);
  CHECK(s.find("\"alive\":true") != std::string::npos);
  CHECK(json_u64(f, "lag") == 0u);
  CHECK(json_u64(f, "delivered") == 15u);
  CHECK(json_u64(s, "position") == 10u);
  CHECK(json_u64(s, "lag") == 5u);
  CHECK(json_u64(s, "delivered") == 0u);
  for (const std::string& r : {f, s}) {
    CHECK(json_u64(r, "id").has_value());
    CHECK(json_u64(r, "gaps") == 0u);
    CHECK(json_u64(r, "missed") == 0u);
  }
  Result human = run({"stat", ring.name});
  CHECK(human.out.find("fast") != std::string::npos);
  CHECK(human.out.find("slow") != std::string::npos);
  CHECK(human.out.find("2 live") != std::string::npos);

  slow.signal(SIGCONT);
  CHECK(slow.wait_for([](const Proc& p) { return p.out() == "n\nn\nn\nn\nn\n"; }));  // caught up, nothing lost
  fast.signal(SIGTERM);
  slow.signal(SIGTERM);
  CHECK(fast.finish() == 0);
  CHECK(slow.finish() == 0);
}

TEST_CASE("a killed reader's registry entry is reclaimed", "[cli][live][stat]") {
  RingGuard ring(unique_ring("cli-dead"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  Proc tail({"tail", ring.name, "--label", "doomed"});
  REQUIRE(wait_labelled(ring.name, {"doomed"}));
  tail.signal(SIGKILL);
  CHECK(tail.finish() == 128 + SIGKILL);

  Result kept = run({"stat", ring.name, "--json", "--no-reap"});
  const std::string entry = reader_object(kept.out, "doomed");
  INFO("stat --no-reap: " << kept.out << kept.err);
  REQUIRE(!entry.empty());
  CHECK(entry.find("\"alive\":false") != std::string::npos);
  CHECK(run({"stat", ring.name, "--no-reap"}).out.find("dead") != std::string::npos);  // its STATE

  Result reaped = run({"stat", ring.name, "--json"});
  CHECK(reaped.rc == 0);
  CHECK(reaped.out.find(R"("readers":[])") != std::string::npos);
  CHECK(shmcast::inspect(ring.name).readers.empty());
}

TEST_CASE("tail says once when the producer goes away and once when one comes back", "[cli][live][producer]") {
  RingGuard ring(unique_ring("cli-gone"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  auto producer = std::make_unique<Proc>(std::vector<std::string>{"publish", ring.name, "--rate", "50", "--count",
                                                                   "100000", "--message", "first"});
  REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) { return st.producer_alive; }));
  Proc tail({"tail", ring.name});
  REQUIRE(tail.wait_for([](const Proc& p) { return has_line_with(p, "first\n"); }));
  producer->signal(SIGTERM);
  CHECK(producer->finish() == 0);
  REQUIRE(tail.wait_for([](const Proc& p) { return has_line_with(p, "is gone", true); }));
  producer = std::make_unique<Proc>(std::vector<std::string>{"publish", ring.name, "--rate", "50", "--count", "100000",
                                                              "--message", "second"});
  REQUIRE(tail.wait_for([](const Proc& p) { return has_line_with(p, "second\n"); }));
  REQUIRE(tail.wait_for([](const Proc& p) { return has_line_with(p, "is back", true); }));
  producer->signal(SIGTERM);
  CHECK(producer->finish() == 0);
  tail.signal(SIGTERM);
  CHECK(tail.finish() == 0);
  CHECK(count(tail.err(), "is gone") == 1);
  CHECK(count(tail.err(), "is back") == 1);
  CHECK(count(tail.err(), ring.name) == 2);
  CHECK(tail.out().find("error") == std::string::npos);
}

TEST_CASE("tail reattaches when the ring is removed and recreated", "[cli][live][replace]") {
  RingGuard ring(unique_ring("cli-replace"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--message", "old"}).rc == 0);

  SECTION("by default") {
    Proc tail({"tail", ring.name, "--from", "oldest", "--format", "json"});
    REQUIRE(tail.wait_for([](const Proc& p) { return has_line_with(p, R"("data":"old")"); }));
    REQUIRE(run({"rm", ring.name}).rc == 0);
    REQUIRE(tail.wait_for([](const Proc& p) { return has_line_with(p, "recreated", true); }));
    REQUIRE(run({"create", ring.name, "--size", "16K", "--max-message", "1000"}).rc == 0);
    REQUIRE(run({"publish", ring.name, "--message", "new"}).rc == 0);
    REQUIRE(tail.wait_for([](const Proc& p) { return has_line_with(p, R"("data":"new")"); }));
    CHECK(has_line_with(tail, "reattached", true));
    CHECK(has_line_with(tail, "(16.0 KiB, messages up to 1000 bytes)", true));
    tail.signal(SIGTERM);
    CHECK(tail.finish() == 0);
    const auto ls = lines(tail.out());
    REQUIRE(ls.size() == 2);
    CHECK(json_u64(ls[1], "seq") == 0u);  // the new ring's own numbering
  }
  SECTION("with --no-reattach it exits 1") {
    Proc tail({"tail", ring.name, "--from", "oldest", "--no-reattach"});
    REQUIRE(tail.wait_for([](const Proc& p) { return has_line_with(p, "old\n"); }));
    REQUIRE(run({"rm", ring.name}).rc == 0);
    CHECK(tail.finish() == 1);
    // Notices may come first (no live producer); the error is the last line.
    const auto err = lines(tail.err());
    REQUIRE(!err.empty());
    CHECK(one_error_line(err.back(), ring.name));
    CHECK(err.back().find("recreated") != std::string::npos);
  }
}

TEST_CASE("metrics --listen serves /metrics over HTTP on loopback", "[cli][live][metrics]") {
  RingGuard ring(unique_ring("cli-http"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--count", "3", "--message", "abc"}).rc == 0);
  Proc tail({"tail", ring.name, "--from", "oldest", "--label", "watcher"});
  REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) {
    return !st.readers.empty() && st.readers[0].position == 3;
  }));

  Proc server({"metrics", ring.name, "--listen", "127.0.0.1:0"});
  REQUIRE(server.wait_for([](const Proc& p) { return p.err().find("/metrics") != std::string::npos; }));
  const std::string banner = server.err();
  const std::size_t colon = banner.find("127.0.0.1:");
  REQUIRE(colon != std::string::npos);
  const unsigned port = static_cast<unsigned>(std::stoul(banner.substr(colon + 10)));
  REQUIRE(port > 0);

  const std::string response = http_get(port, "/metrics");
  REQUIRE(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(response.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  const std::string r = "ring=\"" + ring.name + "\"";
  CHECK(response.find("shmcast_published_messages_total{" + r + "} 3\n") != std::string::npos);
  CHECK(response.find("shmcast_published_bytes_total{" + r + "} 9\n") != std::string::npos);
  CHECK(response.find("shmcast_head{" + r + "} 3\n") != std::string::npos);
  CHECK(response.find("shmcast_readers{" + r + "} 1\n") != std::string::npos);
  CHECK(response.find("# TYPE shmcast_reader_lag gauge") != std::string::npos);
  const std::string reader = "{" + r + ",reader=\"";
  CHECK(response.find("shmcast_reader_lag" + reader) != std::string::npos);
  CHECK(response.find("shmcast_reader_gaps_total" + reader) != std::string::npos);
  CHECK(response.find("shmcast_reader_missed_total" + reader) != std::string::npos);
  CHECK(response.find("label=\"watcher\"") != std::string::npos);

  // Served live: a new publish shows on the next scrape.
  REQUIRE(run({"publish", ring.name, "--message", "more"}).rc == 0);
  CHECK(http_get(port, "/metrics").find("shmcast_head{" + r + "} 4\n") != std::string::npos);
  CHECK(http_get(port, "/nothing-here").rfind("HTTP/1.1 404", 0) == 0);

  server.signal(SIGTERM);
  CHECK(server.finish() == 0);
  tail.signal(SIGTERM);
  CHECK(tail.finish() == 0);
}
