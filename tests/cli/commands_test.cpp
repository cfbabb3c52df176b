// One-shot commands end to end: create, publish, tail --no-follow in every format,
// stat, list, rm, metrics, snapshots, and every error path with its exit code.
#include "cli_support.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sys/stat.h>

using namespace shmcast::clitest;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

TEST_CASE("version and help", "[cli]") {
  Result v = run({"--version"});
  CHECK(v.rc == 0);
  CHECK(v.out.find(SHMCAST_VERSION) != std::string::npos);
  for (const char* sub : {"create", "publish", "tail", "stat", "list", "rm", "metrics"}) {
    Result h = run({sub, "--help"});
    INFO(sub);
    CHECK(h.rc == 0);
    CHECK(h.out.find("Usage") != std::string::npos);
  }
  Result tail_help = run({"tail", "--help"});
  CHECK(tail_help.out.find("\\u00XX") != std::string::npos);  // the escaping of non-UTF-8 bytes is documented
}

TEST_CASE("publish and tail round trip in text and json and hex", "[cli]") {
  RingGuard ring(unique_ring("cli-rt"));
  REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
  const std::string input = std::string("hello\n") + "w\xff" + "rld\n" + "say \"hi\"\\\t\n" + "h\xc3\xa9 \n";
  Result pub = run({"publish", ring.name, "--type", "7"}, input);
  REQUIRE(pub.rc == 0);
  CHECK(pub.err.empty());

  SECTION("text") {
    Result r = run({"tail", ring.name, "--no-follow"});
    CHECK(r.rc == 0);
    CHECK(r.out == input);
    CHECK(r.err.empty());
  }
  SECTION("json") {
    Result r = run({"tail", ring.name, "--no-follow", "--format", "json"});
    CHECK(r.rc == 0);
    const auto ls = lines(r.out);
    REQUIRE(ls.size() == 4);
    CHECK(ls[0].rfind(R"({"seq":0,"type":7,"ts_ns":)", 0) == 0);
    CHECK(ls[0].find(R"(,"len":5,"data":"hello"})") != std::string::npos);
    CHECK(ls[1].find(R"("len":5,"data":"w\u00ffrld","data_base64":"d/9ybGQ="})") != std::string::npos);
    CHECK(ls[2].find(R"("data":"say \"hi\"\\\t"})") != std::string::npos);
    CHECK(ls[3].find("\"data\":\"h\xc3\xa9 \"}") != std::string::npos);
    for (std::uint64_t i = 0; i < 4; ++i) CHECK(json_u64(ls[i], "seq") == i);
  }
  SECTION("hex") {
    Result r = run({"tail", ring.name, "--no-follow", "--format", "hex"});
    CHECK(r.rc == 0);
    CHECK(r.out.find("seq=0 type=7 ts_ns=") != std::string::npos);
    CHECK(r.out.find("6865 6c6c 6f") != std::string::npos);  // "hello"
    CHECK(r.out.find("77ff 726c 64") != std::string::npos);  // "w\xffrld"
    CHECK(r.out.find("seq=3 type=7") != std::string::npos);
  }
  SECTION("--type filter, --from SEQ and --count") {
    REQUIRE(run({"publish", ring.name, "--type", "9", "--message", "nine", "--count", "2"}).rc == 0);
    Result only9 = run({"tail", ring.name, "--no-follow", "--type", "9"});
    CHECK(only9.out == "nine\nnine\n");
    Result from2 = run({"tail", ring.name, "--no-follow", "--from", "2", "--count", "2", "--format", "json"});
    const auto ls = lines(from2.out);
    REQUIRE(ls.size() == 2);
    CHECK(json_u64(ls[0], "seq") == 2u);
    CHECK(json_u64(ls[1], "seq") == 3u);
  }
}

TEST_CASE("publish --create creates a missing ring with the default geometry and list and rm see it", "[cli]") {
  RingGuard ring(unique_ring("cli-list"));
  REQUIRE(run({"publish", ring.name, "--create", "--message", "x", "--count", "3"}).rc == 0);
  Result stat = run({"stat", ring.name, "--json"});
  REQUIRE(stat.rc == 0);
  CHECK(json_u64(stat.out, "ring_bytes") == 1048576u);
  CHECK(json_u64(stat.out, "max_message") == 262144u);  // a quarter of the ring
  CHECK(json_u64(stat.out, "head") == 3u);
  CHECK(json_u64(stat.out, "oldest") == 0u);
  CHECK(json_u64(stat.out, "held") == 3u);
  CHECK(json_u64(stat.out, "held_bytes") == 3 * shmcast::record_bytes(1));
  CHECK(stat.out.find("\"slot") == std::string::npos);
  CHECK(json_u64(stat.out, "published") == 3u);
  CHECK(stat.out.find(R"("producer":{"pid":)") != std::string::npos);
  CHECK(stat.out.find(R"("alive":false)") != std::string::npos);
  CHECK(stat.out.find(R"("readers":[])") != std::string::npos);

  Result list = run({"list", "--json"});
  REQUIRE(list.rc == 0);
  const std::size_t at = list.out.find("{\"name\":\"" + ring.name + "\"");
  REQUIRE(at != std::string::npos);
  CHECK(json_u64(list.out, "head", at) == 3u);
  CHECK(list.out.front() == '[');
  Result human = run({"list"});
  CHECK(human.out.find(ring.name) != std::string::npos);

  Result human_stat = run({"stat", ring.name});
  CHECK(human_stat.rc == 0);
  CHECK(human_stat.out.find("1.0 MiB ring, messages up to 262144 B") != std::string::npos);
  CHECK(human_stat.out.find("held       sequences 0-2 (3), 96 B of the ring") != std::string::npos);

  Result rm = run({"rm", ring.name});
  CHECK(rm.rc == 0);
  Result again = run({"rm", ring.name});
  CHECK(again.rc == 1);
  CHECK(one_error_line(again.err, ring.name));
}

TEST_CASE("snapshots from create --snapshot-size and publish --snapshot-file to tail --from snapshot", "[cli]") {
  RingGuard ring(unique_ring("cli-snap"));
  const std::string file = "/tmp/" + ring.name + ".state";
  { std::ofstream(file) << "k1=v1;k2=v2"; }
  REQUIRE(run({"create", ring.name, "--size", "4K", "--snapshot-size", "4K"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--message", "delta", "--count", "3"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--snapshot-file", file}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--message", "after"}).rc == 0);

  Result r = run({"tail", ring.name, "--from", "snapshot", "--no-follow", "--format", "json"});
  CHECK(r.rc == 0);
  const auto ls = lines(r.out);
  REQUIRE(ls.size() == 2);
  CHECK(ls[0] == R"({"snapshot":{"as_of":3,"len":11,"data":"k1=v1;k2=v2"}})");
  CHECK(ls[1].find(R"("seq":3)") != std::string::npos);
  CHECK(ls[1].find(R"("data":"after")") != std::string::npos);

  Result stat = run({"stat", ring.name, "--json"});
  const std::size_t snap = stat.out.find("\"snapshot\":{");
  REQUIRE(snap != std::string::npos);
  CHECK(json_u64(stat.out, "as_of", snap) == 3u);
  CHECK(json_u64(stat.out, "len", snap) == 11u);
  CHECK(run({"stat", ring.name}).out.find("snapshot   as of 3") != std::string::npos);

  // A reader lapped with --on-gap snapshot gets the gap, then the newest snapshot instead
  // of a replay. The 4 KiB ring holds 4096 / 32 of these 5-byte messages at most: 200 lap it.
  REQUIRE(run({"publish", ring.name, "--message", "later", "--count", "200"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--snapshot-file", file}).rc == 0);  // as of 204
  REQUIRE(json_u64(run({"stat", ring.name, "--json"}).out, "oldest") > 0u);
  Result lapped = run({"tail", ring.name, "--from", "0", "--on-gap", "snapshot", "--no-follow", "--format", "json"});
  CHECK(lapped.rc == 0);
  CHECK(lines(lapped.out) == std::vector<std::string>{R"({"gap":{"first":0,"missed":204,"cause":"overwritten"}})",
                                                      R"({"snapshot":{"as_of":204,"len":11,"data":"k1=v1;k2=v2"}})"});
  std::remove(file.c_str());
}

TEST_CASE("usage errors exit 2 with one line on stderr", "[cli][errors]") {
  RingGuard ring(unique_ring("cli-usage"));
  REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"tail"},
      {"tail", ring.name, "--format", "xml"},
      {"tail", ring.name, "--from", "yesterday"},
      {"tail", ring.name, "--on-gap", "never"},
      {"tail", ring.name, "-n", "many"},
      {"tail", ring.name, "--bogus"},
      {"tail", "bad/name"},
      {"create", ring.name + "x", "--size", "1000"},
      {"create", ring.name + "x", "--max-message", "0"},
      {"create", ring.name + "x", "--slots", "64"},
      {"create", ring.name + "x", "--mode", "999"},
      {"create", ring.name + "x", "--registry-mode", "0888"},
      {"create", ring.name + "x", "--snapshot-size", "12X"},
      {"publish", ring.name, "--rate", "-5", "--message", "x"},
      {"publish", ring.name, "--snapshot-file", "/nonexistent/file"},
      {"stat", ring.name, "--watch", "0"},
      {"metrics", ring.name, "--listen", "nocolon"},
      {"rm"},
  };
  for (const auto& args : cases) {
    Result r = run(args);
    INFO(joined(args) << "\nstderr: " << r.err);
    CHECK(r.rc == 2);
    CHECK(one_error_line(r.err));
    CHECK(r.out.empty());
  }
  // Names in usage errors: the ring is named where there is one, and only there.
  CHECK(one_error_line(run({"create", ring.name + "x", "--size", "1000"}).err, ring.name + "x"));
  const Result watch = run({"stat", ring.name, "--watch", "0"});
  CHECK(watch.err.rfind("shmcast stat: --watch", 0) == 0);
  CHECK(watch.err.find(ring.name) == std::string::npos);
  CHECK(run({"stat", ring.name + "x"}).rc == 1);  // nothing was created by the failed attempts
}

TEST_CASE("runtime errors exit 1 with one line naming the ring", "[cli][errors]") {
  SECTION("a missing ring") {
    const std::string missing = unique_ring("cli-missing");
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"tail", missing}, {"stat", missing}, {"rm", missing}, {"metrics", missing}}) {
      Result r = run(args);
      INFO(args[0] << ": " << r.err);
      CHECK(r.rc == 1);
      CHECK(one_error_line(r.err, missing));
      CHECK(r.err.rfind("shmcast " + args[0] + ": ring '" + missing + "': ", 0) == 0);  // the command, the ring
      const bool says_what_to_do = r.err.find("; see `shmcast list`") != std::string::npos ||
                                   r.err.find("; create it with `shmcast create " + missing + "`") != std::string::npos;
      CHECK(says_what_to_do);
    }
  }

  SECTION("a foreign object in /dev/shm") {
    RingGuard ring(unique_ring("cli-foreign"));
    {
      std::ofstream junk("/dev/shm/shmcast." + ring.name, std::ios::binary);
      junk << std::string(4096, '\xab');
    }
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"tail", ring.name}, {"stat", ring.name}, {"publish", ring.name, "-m", "x"}}) {
      Result r = run(args);
      INFO(args[0] << ": " << r.err);
      CHECK(r.rc == 1);
      CHECK(one_error_line(r.err, ring.name));
      CHECK(r.err.find("not a shmcast ring") != std::string::npos);
    }
    Result list = run({"list", "--json"});
    CHECK(list.rc == 0);
    CHECK(list.out.find("{\"name\":\"" + ring.name + "\",\"error\":") != std::string::npos);
    Result metrics = run({"metrics", ring.name});
    CHECK(metrics.rc == 1);
    CHECK(metrics.out.find("shmcast_up{ring=\"" + ring.name + "\"} 0") != std::string::npos);
    CHECK(run({"rm", ring.name}).rc == 0);  // and it can be removed
  }

  SECTION("an oversized message") {
    RingGuard ring(unique_ring("cli-big"));
    REQUIRE(run({"create", ring.name, "--size", "4K", "--max-message", "40"}).rc == 0);
    Result r = run({"publish", ring.name, "--message", std::string(41, 'x')});
    CHECK(r.rc == 1);
    CHECK(one_error_line(r.err, ring.name));
    INFO(r.err);
    CHECK(r.err.find("message of 41 bytes exceeds the ring's maximum message size of 40 bytes") != std::string::npos);
    CHECK(r.err.find("nothing was published") != std::string::npos);
    CHECK(r.err.find("--max-message") != std::string::npos);  // what to do
    CHECK(json_u64(run({"stat", ring.name, "--json"}).out, "head") == 0u);
    CHECK(run({"publish", ring.name, "--message", std::string(40, 'x')}).rc == 0);  // 40 fits
    CHECK(json_u64(run({"stat", ring.name, "--json"}).out, "head") == 1u);
  }

  SECTION("create on an existing ring, then --force") {
    RingGuard ring(unique_ring("cli-exists"));
    REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
    Result r = run({"create", ring.name, "--size", "4K"});
    CHECK(r.rc == 1);
    CHECK(one_error_line(r.err, ring.name));
    CHECK(r.err.find("--force") != std::string::npos);
    CHECK(run({"create", ring.name, "--size", "8K", "--force", "--mode", "0640"}).rc == 0);
    Result stat = run({"stat", ring.name, "--json"});
    CHECK(json_u64(stat.out, "ring_bytes") == 8192u);
    CHECK(stat.out.find(R"("mode":"0640")") != std::string::npos);
  }

  SECTION("create --registry-mode withholds write from readers who should not have it") {
    RingGuard ring(unique_ring("cli-regmode"));
    const auto mode_of = [](const std::string& path) {
      struct stat st {};
      return ::stat(path.c_str(), &st) == 0 ? static_cast<unsigned>(st.st_mode & 0777) : 0u;
    };
    const std::string registry = "/dev/shm/shmcast." + ring.name + ".readers";
    Result def = run({"create", ring.name, "--size", "4K", "--mode", "0644"});
    REQUIRE(def.rc == 0);
    CHECK(def.out.find("mode 0644 (registry 0666)") != std::string::npos);
    CHECK(mode_of(registry) == 0666u);
    Result set = run({"create", ring.name, "--size", "4K", "--mode", "0644", "--registry-mode", "0640", "--force"});
    REQUIRE(set.rc == 0);
    CHECK(set.out.find("mode 0644 (registry 0640)") != std::string::npos);
    CHECK(mode_of(registry) == 0640u);
  }

  SECTION("a snapshot on a ring without a snapshot area") {
    RingGuard ring(unique_ring("cli-nosnap"));
    REQUIRE(run({"create", ring.name, "--size", "4K"}).rc == 0);
    Result r = run({"publish", ring.name, "--snapshot-file", "/etc/hostname"});
    CHECK(r.rc == 1);
    CHECK(one_error_line(r.err, ring.name));
    CHECK(r.err.find("--snapshot-size") != std::string::npos);
  }

  SECTION("a second producer") {
    RingGuard ring(unique_ring("cli-2prod"));
    REQUIRE(run({"create", ring.name, "--size", "8K"}).rc == 0);
    Proc first({"publish", ring.name, "--rate", "20", "--count", "100000", "--message", "tick"});
    REQUIRE(wait_ring(ring.name, [](const shmcast::RingStatus& st) { return st.producer_alive && st.head > 0; }));
    Result second = run({"publish", ring.name, "--message", "other"});
    CHECK(second.rc == 1);
    CHECK(one_error_line(second.err, ring.name));
    CHECK(second.err.find("pid " + std::to_string(first.pid())) != std::string::npos);
    first.signal(SIGTERM);
    CHECK(first.finish() == 0);  // a stop signal ends publishing cleanly
    CHECK(run({"publish", ring.name, "--message", "now"}).rc == 0);
  }
}

TEST_CASE("metrics prints the Prometheus text format once", "[cli][metrics]") {
  RingGuard ring(unique_ring("cli-metrics"));
  REQUIRE(run({"create", ring.name, "--size", "4K", "--max-message", "100"}).rc == 0);
  REQUIRE(run({"publish", ring.name, "--message", "abcd", "--count", "5"}).rc == 0);
  Result m = run({"metrics", ring.name});
  CHECK(m.rc == 0);
  const std::string r = "{ring=\"" + ring.name + "\"}";
  CHECK(m.out.find("# HELP shmcast_published_messages_total ") != std::string::npos);
  CHECK(m.out.find("# TYPE shmcast_published_messages_total counter") != std::string::npos);
  CHECK(m.out.find("shmcast_published_messages_total" + r + " 5\n") != std::string::npos);
  CHECK(m.out.find("shmcast_published_bytes_total" + r + " 20\n") != std::string::npos);
  CHECK(m.out.find("shmcast_head" + r + " 5\n") != std::string::npos);
  CHECK(m.out.find("shmcast_readers" + r + " 0\n") != std::string::npos);
  CHECK(m.out.find("shmcast_up" + r + " 1\n") != std::string::npos);
  // The geometry and what the ring holds.
  CHECK(m.out.find("# TYPE shmcast_ring_bytes gauge\nshmcast_ring_bytes" + r + " 4096\n") != std::string::npos);
  CHECK(m.out.find("# TYPE shmcast_max_message_bytes gauge\nshmcast_max_message_bytes" + r + " 100\n") != std::string::npos);
  CHECK(m.out.find("# TYPE shmcast_oldest_sequence gauge\nshmcast_oldest_sequence" + r + " 0\n") != std::string::npos);
  CHECK(m.out.find("# TYPE shmcast_held_sequences gauge\nshmcast_held_sequences" + r + " 5\n") != std::string::npos);
  CHECK(m.out.find("# TYPE shmcast_held_bytes gauge\nshmcast_held_bytes" + r + " 160\n") != std::string::npos);
  for (const char* gone : {"shmcast_slots", "shmcast_slot_size_bytes", "shmcast_payload_capacity_bytes"})
    CHECK(m.out.find(gone) == std::string::npos);
  // Every family has its HELP line.
  for (const char* family : {"shmcast_ring_bytes", "shmcast_max_message_bytes", "shmcast_oldest_sequence",
                             "shmcast_held_sequences", "shmcast_held_bytes"})
    CHECK(m.out.find(std::string("# HELP ") + family + " ") != std::string::npos);
  // Every sample line belongs to a family announced with # TYPE.
  for (const std::string& line : lines(m.out)) {
    if (line.empty() || line[0] == '#') continue;
    const std::string family = line.substr(0, line.find('{'));
    CHECK(family.rfind("shmcast_", 0) == 0);
    CHECK(m.out.find("# TYPE " + family + " ") != std::string::npos);
  }
}
