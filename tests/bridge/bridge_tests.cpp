// End-to-end bridge tests on loopback: ring A -> bridge out -> JetStream (a real
// nats-server) -> bridge in -> ring B. The bridges run as separate processes (the driver
// binary, wired like `shmcast bridge`) so they can be SIGKILLed mid-stream.
#define CATCH_CONFIG_RUNNER
#include "catch_session.hpp"

#include "bridge/nats_util.hpp"
#include "bridge_harness.hpp"
#include "test_support.hpp"

#include <atomic>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

using namespace shmcast;
using namespace shmcast::test;
using namespace shmcast::test::bridge;
using namespace std::chrono_literals;

namespace {

std::vector<std::byte> payload_for(std::uint64_t seq) {
  std::vector<std::byte> buf(24 + seq % 97);
  fill_payload(buf.data(), buf.size(), seq);
  return buf;
}

void publish(Producer& p, std::uint64_t seq) {
  const auto body = payload_for(seq);
  p.publish_at(seq, body, static_cast<std::uint32_t>(seq % 7));
}

// Ring A, ring B, a private server and the two bridges.
struct Rig {
  std::string a = unique_ring("bra");
  std::string b = unique_ring("brb");
  RingGuard guard_a{a};
  RingGuard guard_b{b};
  std::string stream = "shmcast_" + a;
  NatsServer server;
  Process out;
  Process in;

  Rig() { REQUIRE(server.start()); }

  void start_out(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{SHMCAST_BRIDGE_DRIVER, "bridge", "out", a, "--nats", server.url(), "-v"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    out.start(argv);
    REQUIRE(out.running());
  }
  void start_in(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{SHMCAST_BRIDGE_DRIVER, "bridge", "in", b, "--nats", server.url(), "--stream", stream, "-v"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    in.start(argv);
    REQUIRE(in.running());
  }
  // Waits until ring B's head reaches `head`.
  bool b_reaches(std::uint64_t head, std::chrono::milliseconds timeout = 20s) const {
    return wait_until([&] { return head_of(b) >= head; }, timeout);
  }
  std::uint64_t acked_stream_seq() const {
    for (const ReaderStatus& r : inspect(a).readers)
      if (r.alive && r.label == "bridge-out") return r.external_position;
    return 0;
  }
};

// The stream holds exactly ring sequences 0..n-1, in order, at stream sequences 1..n.
void require_exact_stream(const Rig& rig, std::uint64_t n) {
  const std::vector<StreamRecord> recs = read_stream(rig.server.url(), rig.stream);
  REQUIRE(recs.size() == n);
  std::uint64_t bad = 0;
  for (std::uint64_t i = 0; i < recs.size(); ++i)
    if (recs[i].gap || recs[i].seq != i || recs[i].stream_seq != i + 1) ++bad;
  REQUIRE(bad == 0);
}

// Publishes 0..n-1 at about `rate` per second from a thread, while `during` runs.
void produce_while(Producer& p, std::uint64_t n, double rate, const std::function<void()>& during) {
  std::thread producer([&] {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < n; ++i) {
      publish(p, i);
      if (i % 64 == 0) std::this_thread::sleep_until(t0 + std::chrono::duration<double>(static_cast<double>(i) / rate));
    }
  });
  during();
  producer.join();
}

void require_no_gaps(const std::vector<Event>& events, std::uint64_t n) {
  REQUIRE(events.size() == n);
  std::uint64_t bad = 0;
  for (std::uint64_t i = 0; i < n; ++i)
    if (events[i].gap || events[i].seq != i) ++bad;
  REQUIRE(bad == 0);
}

// Both bridges running and kDisruptedCount messages published on ring A at 15000 a second
// while `disrupt` runs; then ring B must hold exactly ring A's messages, without a gap.
// Returns ring A's producer, kept alive for the caller's further checks.
constexpr std::uint64_t kDisruptedCount = 30000;
Producer relay_through(Rig& rig, const std::function<void()>& disrupt, std::chrono::milliseconds limit = 20s) {
  // 8 MiB: all kDisruptedCount messages (24 to 120 bytes, 64 to 160 a record) stay held.
  Producer p = Producer::create(rig.a, Geometry{.ring_bytes = 8u << 20});
  rig.start_out();
  rig.start_in();
  produce_while(p, kDisruptedCount, 15000, disrupt);
  REQUIRE(rig.b_reaches(kDisruptedCount, limit));
  const std::vector<Event> eb = collect(rig.b);
  require_no_gaps(eb, kDisruptedCount);
  REQUIRE(eb == collect(rig.a));
  return p;
}

}  // namespace

TEST_CASE("messages and gaps arrive identical on both sides", "[bridge]") {
  Rig rig;
  // Not the default geometry, so that ring B's shows it came from the message headers.
  Producer p = Producer::create(rig.a, Geometry{.ring_bytes = 2u << 20, .max_message = 1000});
  // Before the bridge starts: two source gaps (a relay ring's own skips).
  for (std::uint64_t s = 0; s < 500; ++s) publish(p, s);
  for (std::uint64_t s = 600; s < 1000; ++s) publish(p, s);
  for (std::uint64_t s = 1500; s < 2000; ++s) publish(p, s);
  rig.start_out();
  rig.start_in();
  REQUIRE(rig.b_reaches(2000));
  // Live: more messages and one more gap.
  for (std::uint64_t s = 2000; s < 3000; ++s) publish(p, s);
  for (std::uint64_t s = 3007; s < 4000; ++s) publish(p, s);
  REQUIRE(rig.b_reaches(4000));

  const std::vector<Event> ea = collect(rig.a);
  const std::vector<Event> eb = collect(rig.b);
  REQUIRE(ea.size() == 4000 - 100 - 500 - 7 + 3);
  REQUIRE(eb == ea);

  const RingStatus sa = inspect(rig.a);
  const RingStatus sb = inspect(rig.b);
  CHECK(sb.geometry == sa.geometry);  // taken from the message headers
  CHECK(sb.geometry.ring_bytes == 2u << 20);
  CHECK(sb.geometry.max_message == 1000);
  const std::vector<StreamRecord> recs = read_stream(rig.server.url(), rig.stream);
  REQUIRE(recs.size() == 4000 - 607 + 3);
  CHECK(sb.source_position == recs.back().stream_seq);
  CHECK(sb.source_head == recs.back().stream_seq);
  CHECK(sb.source_gaps == 3);
  CHECK(sb.source_missed == 607);
  CHECK(wait_until([&] { return rig.acked_stream_seq() == recs.back().stream_seq; }, 5s));
  CHECK(rig.out.kill(SIGTERM) == 0);  // a clean stop exits 0
  CHECK(rig.in.kill(SIGTERM) == 0);
}

TEST_CASE("bridge out killed and restarted mid-stream: no duplicate, no reorder, no loss", "[bridge]") {
  Rig rig;
  Producer p = relay_through(rig, [&] {
    for (int round = 0; round < 3; ++round) {
      std::this_thread::sleep_for(400ms);
      REQUIRE(rig.out.kill(SIGKILL) == 128 + SIGKILL);
      std::this_thread::sleep_for(round == 1 ? 0ms : 150ms);
      rig.start_out();
    }
  });
  require_exact_stream(rig, kDisruptedCount);
  CHECK(inspect(rig.b).source_gaps == 0);
}

TEST_CASE("server restarted mid-stream: both bridges carry on in order", "[bridge]") {
  Rig rig;
  Producer p = relay_through(
      rig,
      [&] {
        std::this_thread::sleep_for(600ms);
        rig.server.stop(SIGKILL);
        std::this_thread::sleep_for(300ms);
        REQUIRE(rig.server.start());
        std::this_thread::sleep_for(500ms);
        rig.server.stop(SIGTERM);
        REQUIRE(rig.server.start());
      },
      30s);
  require_exact_stream(rig, kDisruptedCount);
}

TEST_CASE("bridge in killed and restarted resumes exactly where the ring left off", "[bridge]") {
  Rig rig;
  Producer p = relay_through(rig, [&] {
    for (int round = 0; round < 3; ++round) {
      std::this_thread::sleep_for(400ms);
      REQUIRE(rig.in.kill(SIGKILL) == 128 + SIGKILL);
      std::this_thread::sleep_for(round == 1 ? 0ms : 200ms);
      rig.start_in();
    }
  });
  const RingStatus sb = inspect(rig.b);
  CHECK(sb.source_position == kDisruptedCount);  // stream sequence of ring sequence kDisruptedCount - 1
  CHECK(sb.source_gaps == 0);
}

TEST_CASE("a stream whose start aged out reaches ring B as one gap of the right count", "[bridge]") {
  Rig rig;
  Producer p = Producer::create(rig.a, Geometry{.ring_bytes = 1u << 20});
  rig.start_out({"--max-msgs", "100"});
  for (std::uint64_t s = 0; s < 1000; ++s) publish(p, s);
  REQUIRE(wait_until([&] { return rig.acked_stream_seq() == 1000; }, 10s));
  // A reader of ring B waiting from sequence 0 before bridge in writes anything. (A reader
  // that attaches later at `oldest` starts at the ring's first sequence, 900: no gap.)
  Producer::create(rig.b, Geometry{.ring_bytes = 1u << 20});
  Reader early(rig.b, ReaderOptions{.start = StartAt::sequence, .start_seq = 0, .register_reader = false});
  rig.start_in();
  REQUIRE(rig.b_reaches(1000));
  const std::vector<Event> eb = collect(early);
  REQUIRE(eb.size() == 101);
  CHECK(eb[0] == gap_event(0, 900));
  const std::vector<Event> ea = collect(rig.a);
  REQUIRE(std::equal(eb.begin() + 1, eb.end(), ea.end() - 100));
  const RingStatus sb = inspect(rig.b);
  CHECK(sb.source_gaps == 1);
  CHECK(sb.source_missed == 900);
  CHECK(sb.source_position == 1000);
  CHECK(sb.source_head == 1000);
}

namespace {

// Ring A of 32 KiB, a few hundred of these messages, so that 1000 published while a
// bridge is down lap it; ring B made to the bridge's own geometry, which holds them all.
// Relays 0..99 through both bridges.
Producer relay_hundred_through_small_ring(Rig& rig) {
  Producer p = Producer::create(rig.a, Geometry{.ring_bytes = 32u << 10});
  rig.start_out();
  rig.start_in({"--size", "1048576", "--max-message", "192"});
  for (std::uint64_t s = 0; s < 100; ++s) publish(p, s);
  REQUIRE(rig.b_reaches(100));
  return p;
}

// Ring B after ring A moved from 100 to 1100 while a bridge was down, losing [100, oldest):
// 0..99, that loss as one gap, then everything ring A holds.
void require_b_lost_only_what_a_lost(const Rig& rig, std::uint64_t oldest) {
  const std::vector<Event> eb = collect(rig.b);
  REQUIRE(eb.size() == 100 + 1 + (1100 - oldest));
  CHECK(eb[100] == gap_event(100, oldest - 100));
  const std::vector<Event> ea = collect(rig.a);  // holds [oldest, 1100)
  REQUIRE(std::equal(eb.begin() + 101, eb.end(), ea.end() - static_cast<std::ptrdiff_t>(1100 - oldest)));
}

}  // namespace

TEST_CASE("bridge in that died between a jump and storing its counters counts that gap once on restart", "[bridge]") {
  Rig rig;
  Producer p = relay_hundred_through_small_ring(rig);
  REQUIRE(rig.in.kill(SIGKILL) == 128 + SIGKILL);
  for (std::uint64_t s = 150; s < 160; ++s) publish(p, s);  // ring A skips [100, 150)
  REQUIRE(wait_until([&] { return read_stream(rig.server.url(), rig.stream).size() == 111; }, 20s));
  const std::vector<StreamRecord> recs = read_stream(rig.server.url(), rig.stream);
  REQUIRE(recs[100].gap);
  REQUIRE(recs[100].seq == 100);
  REQUIRE(recs[100].missed == 50);
  {
    // What bridge in does with that gap record, up to where it died: the jump, neither its
    // counters nor the stream position it applied.
    Producer b = Producer::open(rig.b);
    b.skip_to(150);
  }
  rig.start_in({"--size", "1048576", "--max-message", "192"});
  REQUIRE(rig.b_reaches(160));
  const RingStatus sb = inspect(rig.b);
  CHECK(sb.source_gaps == 1);
  CHECK(sb.source_missed == 50);
  CHECK(sb.skipped == 50);
  CHECK(sb.source_position == 111);
  CHECK(collect(rig.b) == collect(rig.a));  // 0..99, the gap [100, 150), 150..159
}

TEST_CASE("the ring moving on while bridge out is down becomes a gap record", "[bridge]") {
  Rig rig;
  Producer p = relay_hundred_through_small_ring(rig);
  REQUIRE(rig.out.kill(SIGKILL) == 128 + SIGKILL);
  for (std::uint64_t s = 100; s < 1100; ++s) publish(p, s);
  const std::uint64_t oldest = Reader(rig.a, ReaderOptions{.register_reader = false}).oldest();
  REQUIRE(oldest > 100);
  rig.start_out();
  REQUIRE(rig.b_reaches(1100));
  require_b_lost_only_what_a_lost(rig, oldest);
  const std::vector<StreamRecord> recs = read_stream(rig.server.url(), rig.stream);
  REQUIRE(recs.size() == 101 + (1100 - oldest));
  CHECK(recs[100].gap);
  CHECK(recs[100].seq == 100);
  CHECK(recs[100].missed == oldest - 100);
  CHECK(inspect(rig.b).geometry.ring_bytes == 1u << 20);
  CHECK(inspect(rig.b).geometry.max_message == 192);
}

// What a `bridge out` of layout version 2 wrote: the stream (in memory) and `count`
// messages carrying the slot geometry in Shmcast-Slot-Count / Shmcast-Slot-Size. False if
// the server refused any of it.
bool write_v2_stream(const std::string& url, const std::string& stream, const std::string& subject,
                     std::uint64_t count) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return false;
  jsCtx* js = nullptr;
  bool ok = natsConnection_JetStream(&js, nc, nullptr) == NATS_OK;
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = stream.c_str();
  const char* subjects[] = {subject.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_MemoryStorage;
  jsStreamInfo* si = nullptr;
  ok = ok && js_AddStream(&si, js, &cfg, nullptr, nullptr) == NATS_OK;
  jsStreamInfo_Destroy(si);
  for (std::uint64_t seq = 0; ok && seq < count; ++seq) {
    const auto body = payload_for(seq);
    natsMsg* m = nullptr;
    ok = natsMsg_Create(&m, subject.c_str(), nullptr, reinterpret_cast<const char*>(body.data()),
                        static_cast<int>(body.size())) == NATS_OK;
    if (!ok) break;
    for (const auto& [key, value] : std::vector<std::pair<const char*, std::string>>{
             {"Shmcast-Seq", std::to_string(seq)},
             {"Shmcast-Type", std::to_string(seq % 7)},
             {"Shmcast-Ts", "1"},
             {"Shmcast-Ring-Id", "00000000000000ab"},
             {"Shmcast-Slot-Count", "4096"},
             {"Shmcast-Slot-Size", "256"}})
      natsMsgHeader_Set(m, key, value.c_str());
    jsPubAck* ack = nullptr;
    ok = js_PublishMsg(&ack, js, m, nullptr, nullptr) == NATS_OK;
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return ok;
}

TEST_CASE("a stream of a layout version 2 bridge out gives ring B the same largest message", "[bridge]") {
  Rig rig;
  REQUIRE(write_v2_stream(rig.server.url(), rig.stream, "shmcast." + rig.a, 50));
  rig.start_in();
  REQUIRE(rig.b_reaches(50));
  // 4096 slots of 256 bytes: messages up to 256 - 24 bytes, in a ring of at least the
  // slots' 1 MiB.
  const RingStatus sb = inspect(rig.b);
  CHECK(sb.geometry.max_message == 232);
  CHECK(sb.geometry.ring_bytes == 1u << 20);
  const std::vector<Event> eb = collect(rig.b);
  require_no_gaps(eb, 50);
  for (std::uint64_t seq = 0; seq < eb.size(); ++seq) {
    const auto body = payload_for(seq);
    CHECK(eb[seq].payload == std::string(reinterpret_cast<const char*>(body.data()), body.size()));
    CHECK(eb[seq].type == seq % 7);
  }
  CHECK(rig.in.kill(SIGTERM) == 0);
}

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing |= std::string_view(argv[i]).starts_with("--list");
  if (!listing && !NatsServer::installed()) {
    std::printf("SKIPPED: nats-server is not installed (apt-get install nats-server, or scripts/setup.sh)\n");
    return 77;
  }
  return shmcast::test::run_catch(argc, argv);
}

namespace {

// Deletes `stream` as an operator would (`nats stream rm`); false if the server refused.
bool delete_stream(const std::string& url, const std::string& stream) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return false;
  jsCtx* js = nullptr;
  bool deleted = false;
  if (natsConnection_JetStream(&js, nc, nullptr) == NATS_OK)
    deleted = js_DeleteStream(js, stream.c_str(), nullptr, nullptr) == NATS_OK;
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return deleted;
}

// Waits up to `limit` for `p` to end; its exit code, or -1 if it is still running.
int exit_within(Process& p, std::chrono::milliseconds limit) {
  int code = -1;
  if (wait_until([&] { return p.exited(&code); }, limit)) return code;
  return -1;
}

}  // namespace

TEST_CASE("bridge in refuses a recreated source ring instead of writing its messages on", "[bridge]") {
  Rig rig;
  {
    Producer p = Producer::create(rig.a, Geometry{.ring_bytes = 1u << 20});
    rig.start_out();
    rig.start_in();
    for (std::uint64_t s = 0; s < 100; ++s) publish(p, s);
    REQUIRE(rig.b_reaches(100));
    REQUIRE(rig.out.kill(SIGTERM) == 0);
  }
  REQUIRE(rig.in.kill(SIGTERM) == 0);
  // Ring A made again: its sequences start at 0. Bridge out refuses the old stream, so the
  // operator deletes it, and bridge out makes it again.
  REQUIRE(delete_stream(rig.server.url(), rig.stream));
  Producer p = Producer::create(rig.a, Geometry{.ring_bytes = 1u << 20}, CreateOptions{.replace = true});
  rig.start_out();
  const std::uint64_t count = GENERATE(150, 20);  // the new stream past, or short of, what ring B applied
  CAPTURE(count);
  for (std::uint64_t s = 0; s < count; ++s) publish(p, s);
  REQUIRE(wait_until([&] { return read_stream(rig.server.url(), rig.stream).size() == count; }, 20s));
  rig.start_in();
  // Runtime error, exit 1; ring B as it was: none of the new ring's messages written on.
  CHECK(exit_within(rig.in, 20s) == 1);
  CHECK(head_of(rig.b) == 100);
  const std::vector<Event> eb = collect(rig.b);
  require_no_gaps(eb, 100);
}

TEST_CASE("bridge out against a stream its records aged out of never sends them again", "[bridge]") {
  Rig rig;
  Producer p = Producer::create(rig.a, Geometry{.ring_bytes = 1u << 20});
  rig.start_out({"--max-age", "1"});
  for (std::uint64_t s = 0; s < 10; ++s) publish(p, s);
  REQUIRE(wait_until([&] { return rig.acked_stream_seq() == 10; }, 10s));
  REQUIRE(rig.out.kill(SIGKILL) == 128 + SIGKILL);
  // JetStream drops them a second or so later.
  REQUIRE(wait_until([&] { return read_stream(rig.server.url(), rig.stream).empty(); }, 20s));
  rig.start_out({"--max-age", "1"});
  // The new bridge out shows the stream's end (10) once it has looked at it.
  REQUIRE(wait_until([&] { return rig.acked_stream_seq() == 10; }, 10s));
  publish(p, 10);
  publish(p, 11);
  std::vector<StreamRecord> recs;
  REQUIRE(wait_until([&] {
    recs = read_stream(rig.server.url(), rig.stream);
    return !recs.empty() && recs.back().seq == 11;
  }, 20s));
  // Only what came after the restart (10 too, unless it was published before bridge out
  // placed itself at the ring's head): the stream goes on in ring order, where ring
  // sequences 0-9 again would take it back.
  REQUIRE(recs.size() <= 2);
  CHECK(recs.front().seq >= 10);
  CHECK(recs.front().stream_seq == 11);
  for (const StreamRecord& r : recs) CHECK_FALSE(r.gap);
}

TEST_CASE("bridges stopped while they wait for a stream exit 0, and a foreign record stops bridge in with 1",
          "[bridge]") {
  Rig rig;
  SECTION("stopped while waiting") {
    rig.start_in({"--stream", "shmcast_nothing_here"});
    std::this_thread::sleep_for(500ms);
    CHECK(rig.in.kill(SIGTERM) == 0);
  }
  SECTION("a record bridge out did not write") {
    Producer p = Producer::create(rig.a, Geometry{.ring_bytes = 1u << 20});
    rig.start_out();
    publish(p, 0);
    REQUIRE(wait_until([&] { return rig.acked_stream_seq() == 1; }, 10s));
    natsConnection* nc = nullptr;
    REQUIRE(natsConnection_ConnectTo(&nc, rig.server.url().c_str()) == NATS_OK);
    CHECK(natsConnection_PublishString(nc, ("shmcast." + rig.a).c_str(), "not from bridge out") == NATS_OK);
    CHECK(natsConnection_Flush(nc) == NATS_OK);
    natsConnection_Destroy(nc);
    REQUIRE(wait_until([&] { return read_stream(rig.server.url(), rig.stream).size() == 2; }, 10s));
    rig.start_in();
    CHECK(exit_within(rig.in, 20s) == 1);  // a runtime error, not a usage error
    CHECK(head_of(rig.b) == 1);            // what came before it was written
  }
}

// A lookup that races the stream's creation can find it before JetStream has given it a
// creation time. `bridge in` keeps that time as the epoch that tells a stream made again
// (above): a lookup that took "none" for the time left the epoch unknown, and a later
// `bridge in` resumed inside the new stream. One thread makes and deletes the stream while
// another looks it up; every lookup that finds it must carry its time. (About 2 in 100 of
// these lookups find it without one; js_GetStreamInfo alone fails this test.)
TEST_CASE("a stream lookup racing the stream's creation waits for its creation time", "[bridge]") {
  NatsServer server;
  REQUIRE(server.start());
  const auto connect = [&](natsConnection*& nc, jsCtx*& js) {
    REQUIRE(natsConnection_ConnectTo(&nc, server.url().c_str()) == NATS_OK);
    REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  };
  natsConnection* maker_nc = nullptr;
  jsCtx* maker_js = nullptr;
  connect(maker_nc, maker_js);
  natsConnection* looker_nc = nullptr;
  jsCtx* looker_js = nullptr;
  connect(looker_nc, looker_js);
  std::atomic<bool> done{false};
  std::uint64_t found = 0;
  std::uint64_t without_time = 0;
  std::thread looker([&] {
    while (!done.load()) {
      shmcast::bridge::NatsPtr<jsStreamInfo> si;
      jsErrCode code{};
      if (shmcast::bridge::get_stream_info(si, looker_js, "race", code, {}) != NATS_OK) continue;
      ++found;
      if (si->Created <= 0) ++without_time;
    }
  });
  const char* subjects[] = {"race.x"};
  for (int i = 0; i < 600; ++i) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = "race";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* made = nullptr;
    js_AddStream(&made, maker_js, &cfg, nullptr, nullptr);
    jsStreamInfo_Destroy(made);
    js_DeleteStream(maker_js, "race", nullptr, nullptr);
  }
  done = true;
  looker.join();
  for (jsCtx* js : {maker_js, looker_js}) jsCtx_Destroy(js);
  for (natsConnection* nc : {maker_nc, looker_nc}) natsConnection_Destroy(nc);
  INFO("lookups that found the stream: " << found);
  CHECK(found > 100);
  CHECK(without_time == 0);
}

TEST_CASE("a stream deleted and made again is read from its start: ring B loses only what ring A lost", "[bridge]") {
  Rig rig;
  Producer p = relay_hundred_through_small_ring(rig);
  REQUIRE(rig.out.kill(SIGTERM) == 0);
  REQUIRE(rig.in.kill(SIGTERM) == 0);
  REQUIRE(delete_stream(rig.server.url(), rig.stream));
  for (std::uint64_t s = 100; s < 1100; ++s) publish(p, s);
  const std::uint64_t oldest = Reader(rig.a, ReaderOptions{.register_reader = false}).oldest();
  REQUIRE(oldest > 200);  // so that the new stream is longer than what ring B applied
  // The new stream starts at ring A's oldest, at stream sequence 1.
  rig.start_out();
  REQUIRE(wait_until([&] { return read_stream(rig.server.url(), rig.stream).size() == 1100 - oldest; }, 20s));
  rig.start_in({"--size", "1048576", "--max-message", "192"});
  REQUIRE(rig.b_reaches(1100));
  require_b_lost_only_what_a_lost(rig, oldest);
  CHECK(inspect(rig.b).source_position == 1100 - oldest);
}
