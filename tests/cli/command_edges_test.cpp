// End-to-end tests of the other `shmcast` commands at their edges: numbers out of range,
// several names, live producers, permissions, misspelt commands, and safe output.
#include "cli_support.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <shmcast/reader.hpp>

#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sys/stat.h>

using namespace shmcast::clitest;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

namespace {

// Each command is a usage error: exit 2, one line on stderr, nothing on stdout, and the
// ring `ring` untouched (its head still `head`).
void check_usage_errors(const std::vector<std::vector<std::string>>& cases, const std::string& ring, std::uint64_t head) {
  for (const auto& args : cases) {
    Result r = run(args, {}, 10s);
    INFO(joined(args) << "\nstderr: " << r.err);
    CHECK(r.rc == 2);
    CHECK(one_error_line(r.err));
    CHECK(r.out.empty());
  }
  CHECK(json_u64(run({"stat", ring, "--json"}).out, "head") == head);
}

}  // namespace

TEST_CASE("numeric options reject negative values with exit code 2", "[cli][edges][numbers]") {
  RingGuard ring(unique_ring("edge-neg"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  const std::string other = ring.name + "x";
  check_usage_errors({{"create", other, "--size", "-4K"},
                      {"create", other, "--size", "-4096"},
                      {"create", other, "--max-message", "-64"},
                      {"create", other, "--snapshot-size", "-1K"},
                      {"create", other, "--max-readers", "-1"},
                      {"publish", ring.name, "--count", "-3", "--message", "x"},
                      {"publish", ring.name, "--type", "-1", "--message", "x"},
                      {"publish", ring.name, "--rate", "-1", "--message", "x"},
                      {"stat", ring.name, "--watch", "-1"}},
                     ring.name, 0);
  CHECK(run({"stat", other}).rc == 1);  // nothing was created
  const Result r = run({"publish", ring.name, "--count", "-3", "--message", "x"});
  CHECK(r.err.find("--count '-3' is negative") != std::string::npos);
  CHECK(r.err.find(ring.name) == std::string::npos);  // a usage error about an option, not about the ring
}

TEST_CASE("numeric options reject overflow with exit code 2", "[cli][edges][numbers]") {
  RingGuard ring(unique_ring("edge-ovf"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  const std::string other = ring.name + "x";
  check_usage_errors({{"create", other, "--size", "18446744073709551616"},
                      {"create", other, "--size", "9223372036854775808"},  // 2^63: a power of two, too large
                      {"create", other, "--size", "17179869184G"},         // 2^64 once the unit is applied
                      {"create", other, "--max-message", "4294967360"},    // 2^32 + 64: not cut to 64
                      {"create", other, "--max-message", "18446744073709551616"},
                      {"create", other, "--snapshot-size", "18446744073709551616"},
                      {"create", other, "--snapshot-size", "17179869184G"},
                      {"create", other, "--max-readers", "16385"},
                      {"create", other, "--max-readers", "4294967297"},
                      {"publish", ring.name, "--count", "99999999999999999999", "--message", "x"},
                      {"publish", ring.name, "--type", "4294967296", "--message", "x"},
                      {"publish", ring.name, "--rate", "1e400", "--message", "x"},
                      {"stat", ring.name, "--watch", "1e400"}},
                     ring.name, 0);
  CHECK(run({"publish", ring.name, "--type", "4294967296", "-m", "x"}).err.find("too large") != std::string::npos);
  CHECK(run({"publish", ring.name, "--rate", "1e400", "-m", "x"}).err.find("'1e400' is too large") != std::string::npos);
  CHECK(run({"stat", ring.name, "--watch", "1e-400"}).err.find("'1e-400' is too small") != std::string::npos);
  CHECK(run({"create", ring.name + "x", "--snapshot-size", "17179869184G"}).err.find("too large") != std::string::npos);
}

TEST_CASE("numeric options reject NaN and infinity with exit code 2", "[cli][edges][numbers]") {
  RingGuard ring(unique_ring("edge-nan"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  check_usage_errors({{"publish", ring.name, "--rate", "nan", "--message", "x"},
                      {"publish", ring.name, "--rate", "inf", "--message", "x"},
                      {"publish", ring.name, "--count", "nan", "--message", "x"},
                      {"create", ring.name + "x", "--size", "nan"},
                      {"create", ring.name + "x", "--max-message", "inf"},
                      {"stat", ring.name, "--watch", "nan"},
                      {"stat", ring.name, "--watch", "inf"}},
                     ring.name, 0);
}

TEST_CASE("numeric options reject 0 where it has no meaning, like --rate -1", "[cli][edges][numbers]") {
  RingGuard ring(unique_ring("edge-zero"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  check_usage_errors({{"publish", ring.name, "--rate", "0", "--message", "x"},
                      {"publish", ring.name, "--count", "0", "--message", "x"},
                      {"create", ring.name + "x", "--size", "0"},
                      {"create", ring.name + "x", "--max-message", "0"},
                      {"create", ring.name + "x", "--max-readers", "0"},
                      {"stat", ring.name, "--watch", "0"}},
                     ring.name, 0);
  const Result rate0 = run({"publish", ring.name, "--rate", "0", "--message", "x"});
  const Result rate_neg = run({"publish", ring.name, "--rate", "-1", "--message", "x"});
  CHECK(rate0.err.find("--rate '0' is zero") != std::string::npos);
  CHECK(rate_neg.err.find("--rate '-1' is negative") != std::string::npos);
  // A rate so low that its delay would not fit a clock.
  const Result rate_tiny = run({"publish", ring.name, "--rate", "1e-12", "--message", "x"});
  CHECK(rate_tiny.rc == 2);
  CHECK(rate_tiny.err.find("--rate '1e-12' is too small: it must be a number of messages per second from 0.001 to") !=
        std::string::npos);
  // Where 0 means something it is still accepted.
  CHECK(run({"publish", ring.name, "--type", "0", "--message", "x"}).rc == 0);
  CHECK(run({"create", ring.name + "y", "--size", "4K", "--snapshot-size", "0"}).rc == 0);
  CHECK(run({"rm", ring.name + "y"}).rc == 0);
}

TEST_CASE("stat --watch ends with status 0 when the reader of its output goes away", "[cli][edges][output]") {
  RingGuard ring(unique_ring("edge-watchpipe"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  for (const bool json : {false, true}) {
    INFO((json ? "--json" : "text"));
    std::vector<std::string> args{"stat", ring.name, "--watch", "0.05"};
    if (json) args.push_back("--json");
    Proc watch(args);
    REQUIRE(watch.wait_for([json](const Proc& p) { return p.out().find(json ? "\"name\"" : "geometry") != std::string::npos; }));
    watch.close_stdout();  // as `| head -3` does
    CHECK(watch.finish(10s) == 0);  // not still writing into a closed pipe (-1), not 141
    CHECK(watch.err().empty());
  }
}

TEST_CASE("a command whose output cannot be written says so and exits 1", "[cli][edges][output]") {
  RingGuard ring(unique_ring("edge-full"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  for (const std::string& command : {std::string("stat ") + ring.name + " --json", std::string("list --json"),
                                     std::string("metrics ") + ring.name}) {
    INFO(command);
    const std::string line = std::string(SHMCAST_BIN) + " " + command + " > /dev/full 2>/dev/null";
    const int st = std::system(line.c_str());
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 1);  // not 0: nothing was written
  }
}

TEST_CASE("create --max-readers sets how many readers register, and a tail past it says so", "[cli][edges][registry]") {
  RingGuard ring(unique_ring("edge-maxr"));
  const Result created = run({"create", ring.name, "--size", "4K", "--max-readers", "2"});
  REQUIRE(created.rc == 0);
  CHECK(created.out.find("room for 2 registered readers") != std::string::npos);
  Proc a({"tail", ring.name, "--label", "a"});
  Proc b({"tail", ring.name, "--label", "b"});
  REQUIRE(wait_labelled(ring.name, {"a", "b"}));
  Proc c({"tail", ring.name, "--label", "c"});
  REQUIRE(c.wait_for([](const Proc& p) { return p.err().find("reading unregistered") != std::string::npos; }));
  CHECK(c.err().find("all 2 reader entries") != std::string::npos);
  CHECK(c.err().find("--max-readers") != std::string::npos);
  REQUIRE(run({"publish", ring.name, "-m", "hello"}).rc == 0);
  CHECK(c.wait_for([](const Proc& p) { return p.out().find("hello") != std::string::npos; }));  // it still reads
  const Result text = run({"stat", ring.name});
  CHECK(text.out.find("2 live (room for 2)") != std::string::npos);
  const Result json = run({"stat", ring.name, "--json"});
  CHECK(json_u64(json.out, "max_readers") == 2u);
  CHECK(run({"metrics", ring.name}).out.find("shmcast_reader_capacity{ring=\"" + ring.name + "\"} 2") != std::string::npos);
  for (Proc* p : {&a, &b, &c}) {
    p->signal(SIGTERM);
    CHECK(p->finish() == 0);
  }
}

TEST_CASE("rm processes every name, exits 1 if any failed, and -f ignores missing ones", "[cli][edges][rm]") {
  RingGuard a(unique_ring("edge-rm-a"));
  RingGuard b(unique_ring("edge-rm-b"));
  RingGuard c(unique_ring("edge-rm-c"));
  REQUIRE(run({"create", b.name, "--size", "4K"}).rc == 0);
  REQUIRE(run({"create", c.name, "--size", "4K"}).rc == 0);
  const Result r = run({"rm", a.name, b.name});
  CHECK(r.rc == 1);
  CHECK(one_error_line(r.err, a.name));
  CHECK(r.out.find("removed ring '" + b.name + "'") != std::string::npos);
  CHECK(run({"stat", b.name}).rc == 1);  // B is gone although A was missing
  const Result f = run({"rm", "-f", a.name, c.name});
  CHECK(f.rc == 0);
  CHECK(f.err.empty());
  CHECK(run({"stat", c.name}).rc == 1);
  CHECK(run({"rm", "--force", a.name}).rc == 0);
}

TEST_CASE("rm and create --force refuse while the producer is alive, unless --even-if-live", "[cli][edges][live]") {
  RingGuard ring(unique_ring("edge-live"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  Proc producer({"publish", ring.name, "--rate", "50", "--count", "1000000", "--message", "tick"});
  REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) { return st.producer_alive && st.head > 0; }));
  const std::string pid = "pid " + std::to_string(producer.pid());

  const Result rm = run({"rm", ring.name});
  CHECK(rm.rc == 1);
  CHECK(one_error_line(rm.err, ring.name));
  CHECK(rm.err.find(pid) != std::string::npos);
  CHECK(rm.err.find("--even-if-live") != std::string::npos);
  const Result force = run({"create", ring.name, "--size", "8K", "--force"});
  CHECK(force.rc == 1);
  CHECK(one_error_line(force.err, ring.name));
  CHECK(force.err.find(pid) != std::string::npos);
  CHECK(force.err.find("--even-if-live") != std::string::npos);
  // Still the same ring, still fed.
  CHECK(wait_ring(ring.name, [](const shmcast::RingStatus& st) { return st.producer_alive; }));

  CHECK(run({"create", ring.name, "--size", "16K", "--force", "--even-if-live"}).rc == 0);
  CHECK(json_u64(run({"stat", ring.name, "--json"}).out, "ring_bytes") == 16384u);
  producer.signal(SIGTERM);
  producer.finish();
  Proc second({"publish", ring.name, "--rate", "50", "--count", "1000000", "--message", "tick"});
  REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) { return st.producer_alive && st.head > 0; }));
  CHECK(run({"rm", ring.name}).rc == 1);
  CHECK(run({"rm", ring.name, "--even-if-live"}).rc == 0);
  CHECK(run({"stat", ring.name}).rc == 1);
}

TEST_CASE("publish opens an existing ring only, unless --create", "[cli][edges][publish]") {
  RingGuard ring(unique_ring("edge-pubmiss"));
  const Result r = run({"publish", ring.name, "--message", "x"});
  CHECK(r.rc == 1);
  CHECK(one_error_line(r.err, ring.name));
  CHECK(r.err.find("`shmcast create " + ring.name + "`") != std::string::npos);
  CHECK(r.err.find("--create") != std::string::npos);
  CHECK(run({"stat", ring.name}).rc == 1);  // no ring was made
  REQUIRE(run({"publish", ring.name, "--create", "--message", "x", "--count", "2"}).rc == 0);
  const Result stat = run({"stat", ring.name, "--json"});
  CHECK(json_u64(stat.out, "ring_bytes") == 1048576u);  // the default geometry
  CHECK(json_u64(stat.out, "max_message") == 262144u);
  CHECK(json_u64(stat.out, "head") == 2u);
  CHECK(run({"publish", ring.name, "--message", "y"}).rc == 0);  // now it exists
}

TEST_CASE("publish --snapshot-file publishes the lines of standard input first and the snapshot after them", "[cli][edges][publish]") {
  RingGuard ring(unique_ring("edge-snapin"));
  shmcast::test::TempDir dir;
  const std::string file = dir.path + "/state";
  std::ofstream(file) << "state";
  REQUIRE(run({"create", ring.name, "--size", "4K", "--snapshot-size", "256"}).rc == 0);
  const Result r = run({"publish", ring.name, "--snapshot-file", file}, "1\n2\n3\n");
  INFO(r.err);
  REQUIRE(r.rc == 0);
  const shmcast::RingStatus st = shmcast::inspect(ring.name);
  CHECK(st.published == 3);
  CHECK(st.snapshots_published == 1);
  CHECK(st.snapshot_as_of == 3);  // after the messages
  // With --message, the same order.
  REQUIRE(run({"publish", ring.name, "--snapshot-file", file, "-m", "four"}).rc == 0);
  CHECK(shmcast::inspect(ring.name).snapshot_as_of == 4);
}

TEST_CASE("an oversized line in standard input says what was and was not published", "[cli][edges][publish]") {
  RingGuard ring(unique_ring("edge-bigline"));
  REQUIRE(run({"create", ring.name, "--size", "4K", "--max-message", "40"}).rc == 0);
  const Result r = run({"publish", ring.name}, "one\ntwo\n" + std::string(41, 'x') + "\nfour\n");
  CHECK(r.rc == 1);
  INFO(r.err);
  CHECK(one_error_line(r.err, ring.name));
  CHECK(r.err.find("line 3: message of 41 bytes exceeds the ring's maximum message size of 40 bytes") != std::string::npos);
  CHECK(r.err.find("lines 1-2 were published (sequences 0-1), line 3 and after were not") != std::string::npos);
  CHECK(json_u64(run({"stat", ring.name, "--json"}).out, "head") == 2u);

  const Result first = run({"publish", ring.name}, std::string(50, 'y') + "\nok\n");
  CHECK(first.rc == 1);
  CHECK(first.err.find("line 1: message of 50 bytes") != std::string::npos);
  CHECK(first.err.find("nothing was published") != std::string::npos);
  const Result second = run({"publish", ring.name}, "ok\n" + std::string(50, 'y') + "\n");
  CHECK(second.err.find("line 1 was published (sequence 2), line 2 and after were not") != std::string::npos);
}

TEST_CASE("shmcast-demo takes --help and refuses bad arguments", "[cli][edges][demo]") {
  std::string bin = SHMCAST_BIN;
  bin = bin.substr(0, bin.rfind('/')) + "/demo/shmcast-demo";
  struct stat sb {};
  if (::stat(bin.c_str(), &sb) != 0) {
    WARN("shmcast-demo not built at " << bin);
    return;
  }
  auto run_demo = [&](const std::vector<std::string>& args) {
    const std::string out_file = "/tmp/" + unique_ring("demo-out");
    std::string cmd = "timeout 20 " + bin;
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " >" + out_file + " 2>&1";
    const int st = std::system(cmd.c_str());
    std::ifstream in(out_file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::remove(out_file.c_str());
    return std::pair<int, std::string>(WIFEXITED(st) ? WEXITSTATUS(st) : -1, text);
  };
  const auto help = run_demo({"--help"});
  CHECK(help.first == 0);
  CHECK(help.second.find("Usage: shmcast-demo") != std::string::npos);
  CHECK(help.second.find("shmcast demo: ring") == std::string::npos);  // no demo ran
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{{"--bogus"}, {"0"}, {"-3"}, {"2x"}, {"1", "2"}}) {
    const auto r = run_demo(bad);
    INFO(bad[0] << ": " << r.second);
    CHECK(r.first == 2);
    CHECK(r.second.find("shmcast demo: ring") == std::string::npos);
  }
}

TEST_CASE("a misspelt subcommand is named, with the closest match", "[cli][edges][usage]") {
  const Result stats = run({"stats", "x"});
  CHECK(stats.rc == 2);
  CHECK(one_error_line(stats.err));
  CHECK(stats.err.find("unknown subcommand 'stats'") != std::string::npos);
  CHECK(stats.err.find("did you mean 'stat'?") != std::string::npos);
  CHECK(stats.err.find("A subcommand is required") == std::string::npos);
  const Result publsh = run({"publsh", "x"});
  CHECK(publsh.err.find("did you mean 'publish'?") != std::string::npos);
  const Result far = run({"frobnicate"});
  CHECK(far.rc == 2);
  CHECK(far.err.find("unknown subcommand 'frobnicate'") != std::string::npos);
  CHECK(far.err.find("did you mean") == std::string::npos);
  CHECK(run({}).rc == 2);  // none at all is still "a subcommand is required"
}

TEST_CASE("an object left empty is told apart from a ring being created", "[cli][edges][not_ready]") {
  RingGuard ring(unique_ring("edge-empty"));
  const std::string path = "/dev/shm/shmcast." + ring.name;
  { std::ofstream touch(path, std::ios::binary); }
  // A creator holds the ring's producer lock (an OFD write lock on byte 0) from the moment
  // it makes the object: while one does, the ring is being created.
  const int creator = ::open(path.c_str(), O_RDWR);
  REQUIRE(creator >= 0);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_len = 1;
  REQUIRE(::fcntl(creator, F_OFD_SETLK, &lock) == 0);
  const Result creating = run({"stat", ring.name});
  INFO(creating.err);
  CHECK(creating.rc == 1);
  CHECK(one_error_line(creating.err, ring.name));
  CHECK(creating.err.find("being created") != std::string::npos);
  CHECK(creating.err.find("retry") != std::string::npos);
  ::close(creator);
  // Nobody creating it: abandoned or foreign, not something to retry, whatever its age.
  const Result empty = run({"stat", ring.name});
  INFO(empty.err);
  CHECK(empty.rc == 1);
  CHECK(one_error_line(empty.err, ring.name));
  CHECK(empty.err.find("empty object that no process is creating") != std::string::npos);
  CHECK(empty.err.find("retry") == std::string::npos);
  CHECK(empty.err.find("`shmcast rm " + ring.name + "`") != std::string::npos);
  CHECK(run({"rm", ring.name}).rc == 0);
}

TEST_CASE("a FIFO in the ring's place is named once and advised once", "[cli][edges][foreign]") {
  const std::string name = unique_ring("edge-fifo");
  const std::string path = "/dev/shm/shmcast." + name;
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  const Result r = run({"stat", name});
  ::unlink(path.c_str());
  INFO(r.err);
  CHECK(r.rc == 1);
  CHECK(one_error_line(r.err, name));
  CHECK(r.err.find("is a FIFO") != std::string::npos);
  CHECK(count(r.err, "remove it") == 1);
  CHECK(r.err.find("remove it or choose another name") != std::string::npos);
}

TEST_CASE("stat --watch shows a removed ring as gone and goes on watching", "[cli][edges][watch]") {
  RingGuard ring(unique_ring("edge-watch"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  Proc watch({"stat", ring.name, "--watch", "0.1", "--json"});
  REQUIRE(watch.wait_for([](const Proc& p) { return count(p.out(), "\"ring_id\"") >= 1; }));
  REQUIRE(run({"rm", ring.name}).rc == 0);
  REQUIRE(watch.wait_for([](const Proc& p) { return p.out().find("\"gone\":true") != std::string::npos; }));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  CHECK(watch.wait_for([](const Proc& p) {
    const std::size_t gone = p.out().find("\"gone\":true");
    return gone != std::string::npos && p.out().find("\"ring_bytes\":8192", gone) != std::string::npos;
  }));
  watch.signal(SIGTERM);
  CHECK(watch.finish() == 0);
  CHECK(watch.err().empty());

  // The text form says so too.
  Proc text({"stat", ring.name, "--watch", "0.1"});
  REQUIRE(text.wait_for([](const Proc& p) { return p.out().find("geometry") != std::string::npos; }));
  REQUIRE(run({"rm", ring.name}).rc == 0);
  CHECK(text.wait_for([](const Proc& p) { return p.out().find("(gone: ") != std::string::npos; }));
  text.signal(SIGTERM);
  CHECK(text.finish() == 0);
}

TEST_CASE("stat and list escape control characters in labels and other shared-memory text", "[cli][edges][escape]") {
  RingGuard ring(unique_ring("edge-esc"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  shmcast::ReaderOptions options;
  options.label = "evil\x1b[31mred\nrow\x7f\xc2\x9b";
  shmcast::Reader reader(ring.name, options);
  REQUIRE(wait_readers(ring.name, 1));
  const Result stat = run({"stat", ring.name});
  CHECK(stat.rc == 0);
  INFO(stat.out);
  CHECK(stat.out.find('\x1b') == std::string::npos);
  CHECK(stat.out.find('\x7f') == std::string::npos);
  CHECK(stat.out.find("\xc2\x9b") == std::string::npos);
  CHECK(stat.out.find("evil\\x1b[31mred\\nrow\\x7f\\u009b") != std::string::npos);
  // The reader's row is one line.
  std::size_t rows = 0;
  for (const std::string& line : lines(stat.out)) rows += line.find("evil") != std::string::npos ? 1 : 0;
  CHECK(rows == 1);
  CHECK(stat.out.find("\nrow") == std::string::npos);
  const Result list = run({"list"});
  CHECK(list.out.find('\x1b') == std::string::npos);
  // JSON keeps the label exact (escaped as JSON).
  CHECK(run({"stat", ring.name, "--json"}).out.find(R"(evil\u001b[31mred\nrow)") != std::string::npos);
}

TEST_CASE("ring_id is a string in JSON, times stay integers, as documented", "[cli][edges][json]") {
  RingGuard ring(unique_ring("edge-id"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  const Result stat = run({"stat", ring.name, "--json"});
  const std::size_t at = stat.out.find("\"ring_id\":\"");
  REQUIRE(at != std::string::npos);
  const std::string id = stat.out.substr(at + 11, 16);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(stat.out[at + 11 + 16] == '"');
  CHECK(run({"stat", ring.name}).out.find("id " + id) != std::string::npos);  // as the text shows it
  CHECK(json_u64(stat.out, "created_ns").has_value());
  const Result list = run({"list", "--json"});
  CHECK(list.out.find("\"ring_id\":\"" + id + "\"") != std::string::npos);
  const Result help = run({"stat", "--help"});
  CHECK(help.out.find("2^53") != std::string::npos);
}

TEST_CASE("a ring just created has no producer yet in stat list and metrics", "[cli][edges][grammar]") {
  RingGuard ring(unique_ring("edge-fresh"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  const Result stat = run({"stat", ring.name});
  INFO(stat.out);
  CHECK(stat.out.find("  producer   none yet\n") != std::string::npos);
  std::string row;
  for (const std::string& line : lines(run({"list"}).out))
    if (line.rfind(ring.name + " ", 0) == 0) row = line;
  INFO(row);
  CHECK(row.find("none yet") != std::string::npos);
  const Result metrics = run({"metrics", ring.name});
  INFO(metrics.out);
  CHECK(metrics.out.find("shmcast_producer_pid{ring=\"" + ring.name + "\"} 0\n") != std::string::npos);
  // The JSON keeps the pid it read: the create process's.
  CHECK(json_u64(run({"stat", ring.name, "--json"}).out, "pid").value_or(0) != 0);
  // Once a message is published, the producer that wrote it is gone, not "none yet".
  REQUIRE(run({"publish", ring.name, "-m", "x"}).rc == 0);
  CHECK(run({"stat", ring.name}).out.find("  producer   gone (last pid ") != std::string::npos);
}

TEST_CASE("singular and plural, and the producer's state in list", "[cli][edges][grammar]") {
  RingGuard ring(unique_ring("edge-gram"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--message", "one"}).rc == 0);
  const Result stat = run({"stat", ring.name});
  INFO(stat.out);
  CHECK(stat.out.find("published 1 message,") != std::string::npos);
  CHECK(stat.out.find("1 messages") == std::string::npos);
  auto list_row = [&] {
    for (const std::string& line : lines(run({"list"}).out))
      if (line.rfind(ring.name + " ", 0) == 0) return line;
    return std::string();
  };
  // list: a finished producer is gone, a running one live.
  CHECK(list_row().find("gone (was pid ") != std::string::npos);
  Proc producer({"publish", ring.name, "--rate", "50", "--count", "1000000", "--message", "tick"});
  REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) { return st.producer_alive; }));
  CHECK(list_row().find("live (pid " + std::to_string(producer.pid()) + ")") != std::string::npos);
  // A producer that dies is taken over by the next one: one takeover, in the singular.
  producer.signal(SIGKILL);
  producer.finish();
  REQUIRE(run({"publish", ring.name, "--message", "after"}).rc == 0);
  const Result after = run({"stat", ring.name});
  INFO(after.out);
  CHECK(json_u64(run({"stat", ring.name, "--json"}).out, "takeovers") == 1u);
  CHECK(after.out.find(", 1 takeover\n") != std::string::npos);
}

TEST_CASE("a command started with a standard descriptor closed never reads or writes the ring through it",
          "[cli][edges]") {
  // The ring (or the archive's lock file) would be the first file opened, and take the
  // closed number: publish once published the ring's own header as a message, and a
  // closed stderr carried record's and bridge in's log lines into the files.
  RingGuard ring(unique_ring("edge-fds"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  const std::string publish = shell_output("\"$SHMCAST\" publish " + ring.name + " <&-; echo \"publish=$?\"");
  INFO(publish);
  CHECK(publish.find("publish=1") != std::string::npos);  // reading stdin fails, as it would closed
  CHECK(publish.find("Bad file descriptor") != std::string::npos);
  const Result stat = run({"stat", ring.name, "--json"});
  INFO(stat.out << stat.err);
  REQUIRE(stat.rc == 0);
  CHECK(json_u64(stat.out, "head") == 0u);

  shmcast::test::TempDir dir;
  // SIGINT once the recorder has registered (it handles signals by then: a background job
  // of sh starts with SIGINT ignored).
  const std::string record = shell_output(
      "\"$SHMCAST\" record " + ring.name + " --dir " + dir.path + " 2>&- & pid=$!; i=0; while [ $i -lt 300 ] && ! \"$SHMCAST\" stat " +
      ring.name + " --json 2>/dev/null | grep -q \"\\\"label\\\":\\\"record\\\"\"; do sleep 0.1; i=$((i+1)); done; kill -INT $pid; wait $pid; echo \"record=$?\"");
  INFO(record);
  CHECK(record.find("record=0") != std::string::npos);
  struct stat lock {};
  REQUIRE(::stat((dir.path + "/.lock").c_str(), &lock) == 0);
  CHECK(lock.st_size == 0);  // nothing written into the lock file
  CHECK(run({"stat", ring.name}).rc == 0);
}
