// The record protocol row by row (docs/DESIGN.md, "The record protocol"): what a reader
// waiting for message n finds at its place, and what it does. Each row is produced
// deterministically, by a real producer or by writing the producer's in-between states
// into the ring through a test's own read-write mapping (RawRing). Then the takeover
// cases: what a producer killed between any two of its stores leaves, and how its
// successor counts it.
#include <catch2/catch.hpp>

#include "layout.hpp"
#include "raw_ring.hpp"
#include "ring_model.hpp"
#include "test_support.hpp"

#include <cstring>
#include <functional>
#include <vector>

using namespace shmcast;
using namespace shmcast::detail;
using shmcast::test::RawRing;
using shmcast::test::RingGuard;
using shmcast::test::RingModel;
using shmcast::test::unique_ring;

namespace {

constexpr Geometry kSmall{.ring_bytes = 4096};  // messages up to 1 KiB

std::string text(const ReadResult& r) { return std::string(text_of(r.message.payload)); }

// Messages "m<from>".. of one 32-byte record each, mirrored in the model.
void publish_n(Producer& p, RingModel& m, std::uint64_t n, std::uint64_t from) {
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::string s = shmcast::test::numbered("m", from + i);
    REQUIRE(p.publish(bytes_of(s)) == from + i);
    m.publish(s.size());
  }
}

// Reads every event left, checking that messages are "m<seq>" in order from `from`.
void read_rest(Reader& r, std::uint64_t from, std::uint64_t head) {
  for (std::uint64_t seq = from; seq < head; ++seq) {
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    REQUIRE(e.message.seq == seq);
    REQUIRE(text(e) == shmcast::test::numbered("m", seq));
  }
  CHECK(r.try_read().status == ReadStatus::empty);
}

}  // namespace

TEST_CASE("record table: what a reader waiting for message n finds at its place, and what it does", "[record]") {
  RingGuard g(unique_ring("records"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  publish_n(p, model, 6, 0);
  RawRing raw(g.name);
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 6});  // a fixed start: lost, it is a gap
  const std::uint64_t n = 6;
  const std::uint64_t at = 6 * 32;  // where message 6 goes
  REQUIRE(raw.producer().tail() == at);
  CHECK(r.try_read().status == ReadStatus::empty);  // finds its place: the producer's tail
  REQUIRE(r.position() == n);

  SECTION("stamp 0, \"nothing yet\": nothing new, and the reader stays") {
    CHECK(raw.record(at).stamp() == kNothingYet);
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.position() == n);
  }
  SECTION("header and payload written, stamp still 0 (a producer mid-publish): nothing new yet") {
    raw.write_unstamped(at, bytes_of("abc"), 9, 77);
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.position() == n);
    SECTION("then the stamp n + 1: message n, and \"nothing yet\" after it") {
      raw.commit(n, at, n, record_bytes(3));
      const ReadResult e = r.try_read();
      REQUIRE(e.status == ReadStatus::message);
      CHECK(e.message.seq == n);
      CHECK(e.message.type == 9);
      CHECK(e.message.timestamp_ns == 77);
      CHECK(text(e) == "abc");
      CHECK(r.try_read().status == ReadStatus::empty);
      CHECK(r.position() == n + 1);
    }
  }
  SECTION("stamp n + 1 from a real publish: message n") {
    p.publish(bytes_of("m6"));
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == n);
    CHECK(text(e) == "m6");
  }
  SECTION("another sequence's stamp and the horizon not past the place: bytes no producer wrote, so nothing new") {
    raw.record(at).set_meta(3, 0, 0);
    raw.record(at).commit(2);  // says "message 2", where message 6 goes
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.position() == n);
    raw.record(at).commit(n + 3);  // a sequence from the future
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.position() == n);
  }
  SECTION("the horizon past the place: a gap, whatever the place holds, even message n itself") {
    // The producer publishes message 6 and laps it: 133 records of 32 bytes in all put
    // the tail 160 bytes into the next lap and the horizon at 256, so the bytes at 192
    // are still the first lap's message 6, but the producer may be writing them.
    publish_n(p, model, 127, 6);
    REQUIRE(raw.producer().tail() == 4096 + 160);
    REQUIRE(raw.reserved() == 4096 + 256);
    REQUIRE(raw.record(at).stamp() == record_stamp(n));
    const int poke = GENERATE(0, 1, 2, 3, 4);
    switch (poke) {
      case 0: break;  // message 6, intact, but behind the horizon
      case 1: raw.record(at).mark_nothing_yet(); break;
      case 2: raw.record(at).commit(n + 4096); break;
      case 3: raw.record(at).commit_padding(); break;
      case 4: raw.record(at).set_meta(kSkipRecordLength, 0, n + 2); break;  // a skip record for 6
    }
    INFO("the place holds case " << poke);
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == n);
    CHECK(e.gap.missed == model.oldest() - n);
    read_rest(r, model.oldest(), 133);
    CHECK(r.delivered() + r.missed() == 133 - n);
  }
}

TEST_CASE("record table: padding at the end of the data sends the reader to its start", "[record]") {
  RingGuard g(unique_ring("padding"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  publish_n(p, model, 126, 0);  // 4032 bytes: 64 left before the end of the data
  RawRing raw(g.name);
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 126});
  CHECK(r.try_read().status == ReadStatus::empty);
  const std::string big(100, 'b');  // a 128-byte record: it does not fit in 64
  SECTION("a real publish: padding, then the record at the data's start, read without a gap") {
    CHECK(p.publish(bytes_of(big)) == 126);
    CHECK(raw.record(4032).stamp() == kPaddingStamp);
    CHECK(raw.record(4096).stamp() == record_stamp(126));
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == 126);
    CHECK(text(e) == big);
    CHECK(r.missed() == 0);
  }
  SECTION("padding committed, the record at the start not yet: nothing new, then the record") {
    // The producer's first steps of a wrap: the horizon over the record, "nothing yet" at
    // the data's start, the padding.
    raw.reserve().reserve(4096 + 256);
    raw.record(4096).mark_nothing_yet();
    raw.record(4032).commit_padding();
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.position() == 126);
    raw.commit_message(126, 4096, 126, bytes_of(big));
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == 126);
    CHECK(text(e) == big);
  }
  SECTION("padding at the very start of the data is corrupt: one message lost, never a hang") {
    p.publish(bytes_of(big));
    p.publish(bytes_of("m127"));
    raw.record(4096).commit_padding();  // where message 126 is, after the real padding
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 126);
    CHECK(e.gap.missed == 1);
    CHECK(text(r.try_read()) == "m127");
  }
}

TEST_CASE("record table: skip records", "[record][skip]") {
  RingGuard g(unique_ring("skiprec"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  publish_n(p, model, 6, 0);
  RawRing raw(g.name);
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 6});
  CHECK(r.try_read().status == ReadStatus::empty);
  SECTION("skip_to writes one 32-byte record; the reader reports the run as one gap at once") {
    p.skip_to(20);
    CHECK(raw.producer().tail() == 6 * 32 + 32);
    CHECK(raw.record(6 * 32).stamp() == record_stamp(6));
    CHECK(raw.record(6 * 32).meta().is_skip());
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 6);
    CHECK(e.gap.missed == 14);
    CHECK(r.try_read().status == ReadStatus::empty);
    p.publish(bytes_of("m20"));
    CHECK(text(r.try_read()) == "m20");
  }
  SECTION("a skip record by hand, then the message after it") {
    raw.commit_skip(6, 192, 6, 50);
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 6);
    CHECK(e.gap.missed == 44);
    CHECK(r.try_read().status == ReadStatus::empty);
    raw.commit_message(7, 224, 50, bytes_of("fifty"));
    const ReadResult m = r.try_read();
    REQUIRE(m.status == ReadStatus::message);
    CHECK(m.message.seq == 50);
    CHECK(text(m) == "fifty");
  }
  SECTION("a skip record that does not skip forward is corrupt: never a message, never counted") {
    raw.commit_skip(6, 192, 6, 6);
    for (int i = 0; i < 3; ++i) CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.delivered() == 0);
    CHECK(r.missed() == 0);
    CHECK(r.position() == 6);
  }
}

TEST_CASE("record table: a header whose length does not fit is never read past: one message lost", "[record]") {
  RingGuard g(unique_ring("badlen"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  SECTION("longer than max_message") {
    publish_n(p, model, 4, 0);
    RawRing raw(g.name);
    const std::uint32_t poked = GENERATE(1025u, 4000u, 4096u, 0x8000'0000u, 0xFFFF'FFFEu);
    INFO("length poked to " << poked);
    Reader r(g.name, {.start = StartAt::oldest});
    CHECK(text(r.try_read()) == "m0");
    raw.record(32).set_length(poked);  // message 1
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 1);
    CHECK(e.gap.missed == 1);
    read_rest(r, 2, 4);
  }
  SECTION("within max_message but past the end of the data") {
    publish_n(p, model, 128, 0);  // message 127 is the last record of the data, at 4064
    RawRing raw(g.name);
    Reader r(g.name, {.start = StartAt::sequence, .start_seq = 126});
    CHECK(text(r.try_read()) == "m126");
    raw.record(4064).set_length(40);  // would need 64 bytes, and 32 are left
    p.publish(bytes_of("m128"));
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 127);
    CHECK(e.gap.missed == 1);
    CHECK(text(r.try_read()) == "m128");
    CHECK(r.try_read().status == ReadStatus::empty);
  }
}

namespace {

// The payload of a record that imitates, at every 32-byte boundary of the data it covers,
// the record header a reader expecting sequence `expect(offset)` there would take for its
// message: the stamp, a plausible length and type, and a payload that says "forged".
// `first_offset` is where the payload starts in the data (position mod ring_bytes).
std::vector<std::byte> forged_payload(std::size_t size, std::uint64_t first_offset,
                                      const std::function<std::uint64_t(std::uint64_t)>& expect) {
  std::vector<std::byte> out(size, std::byte{0x46});
  for (std::size_t i = 0; i + kRecordAlign <= size; ++i) {
    const std::uint64_t offset = first_offset + i;
    if (offset % kRecordAlign != 0) continue;
    const std::uint64_t stamp = record_stamp(expect(offset));
    const std::uint64_t length_type = 6 | (std::uint64_t{0xF0} << 32);
    const std::uint64_t ts = 0xF0F0;
    std::memcpy(out.data() + i, &stamp, 8);
    std::memcpy(out.data() + i + 8, &length_type, 8);
    std::memcpy(out.data() + i + 16, &ts, 8);
    std::memcpy(out.data() + i + 24, "forged", 6);
  }
  return out;
}

}  // namespace

TEST_CASE("record table: a header forged by a later lap's payload is never delivered, copied or in place",
          "[record][hostile]") {
  RingGuard g(unique_ring("forged"));
  Producer p = Producer::create(g.name, kSmall);
  RingModel model(kSmall.ring_bytes);
  publish_n(p, model, 127, 0);  // m0..m126 at 0..4063; the tail at 4064
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 6});
  REQUIRE(text(r.try_read()) == "m6");  // its place is 224, where message 7 is
  // The next lap: a 1000-byte message that does not fit in the 32 bytes left goes to the
  // data's start (4096) and covers 0..1023. At every 32-byte boundary its payload holds
  // the header of message offset / 32, the sequence a reader of the first lap expects there.
  const std::vector<std::byte> forged = forged_payload(1000, kRecordHeaderBytes, [](std::uint64_t offset) { return offset / 32; });
  p.publish(forged);
  model.publish(forged.size());
  publish_n(p, model, 3, 128);
  const RawRing raw(g.name, /*writable=*/false);
  REQUIRE(raw.record(224).stamp() == record_stamp(7));  // the forgery is in place
  REQUIRE(raw.record(224).meta().length == 6);
  const std::uint64_t oldest = model.oldest();
  REQUIRE(oldest > 7);

  SECTION("copied: a gap from the sequence it expected, then the real messages") {
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 7);
    CHECK(e.gap.missed == oldest - 7);
    std::uint64_t seq = oldest;
    while (const ReadResult m = r.try_read()) {
      REQUIRE(m.status == ReadStatus::message);
      REQUIRE(m.message.seq == seq);
      if (seq == 127) CHECK(std::equal(forged.begin(), forged.end(), m.message.payload.begin(), m.message.payload.end()));
      else CHECK(text(m) == shmcast::test::numbered("m", seq));
      ++seq;
    }
    CHECK(seq == 131);
  }
  SECTION("in place: peek hands out no forgery, and says gap") {
    Message batch[8];
    const Reader::Batch b = r.peek(batch);
    CHECK(b.count == 0);  // the horizon is past its place: peek lets try_read decide
    CHECK_FALSE(r.confirm());  // nothing peeked: nothing to vouch for
    CHECK(r.delivered() == 1);
    const ReadResult& e = b.event;
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 7);
    CHECK(e.gap.missed == oldest - 7);
  }
  SECTION("a reader that seeks into the lapped region is told it is gone") {
    CHECK_FALSE(r.seek(3));
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 3);
  }
  SECTION("a fresh oldest reader never starts on a forgery") {
    Reader fresh(g.name, {.start = StartAt::oldest});
    CHECK(fresh.position() == oldest);
    const ReadResult m = fresh.try_read();
    REQUIRE(m.status == ReadStatus::message);
    CHECK(m.message.seq == oldest);
  }
}

// A producer may die between any two of its stores. Its successor (Producer::open) starts
// from the stored tail: a record committed there but not counted stands and is counted;
// a tail not yet stored is moved past the record already counted; a record not committed
// is overwritten. Readers see consecutive sequences either way.
TEST_CASE("record table: a successor counts what its predecessor committed, and only that", "[record][takeover]") {
  RingGuard g(unique_ring("repair"));
  {
    Producer p = Producer::create(g.name, kSmall);
    for (int i = 0; i < 10; ++i) p.publish(bytes_of(shmcast::test::numbered("m", i)));
  }
  const std::uint64_t head = 10, tail = 10 * 32;
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 8});
  RawRing raw(g.name);
  REQUIRE(raw.producer().head() == head);
  REQUIRE(raw.producer().tail() == tail);
  const std::uint64_t published = raw.producer().published();

  SECTION("died mid-publish, before the commit: the record is overwritten, the sequence reused") {
    raw.write_unstamped(tail, bytes_of("torn"));
    Producer p = Producer::open(g.name);
    CHECK(p.head() == head);
    CHECK(raw.record(tail).stamp() == kNothingYet);
    CHECK(p.publish(bytes_of("new")) == head);
    CHECK(text(r.try_read()) == "m8");
    CHECK(text(r.try_read()) == "m9");
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == head);
    CHECK(text(e) == "new");
    CHECK(r.missed() == 0);
    CHECK(inspect(g.name).published == published + 1);
  }
  SECTION("died after the commit, before head, records and tail: the message stands and is counted") {
    raw.commit_message(10, tail, head, bytes_of("kept"), 3, 12345);
    Producer p = Producer::open(g.name);
    CHECK(p.head() == head + 1);
    const RingStatus st = inspect(g.name);
    CHECK(st.published == published + 1);
    CHECK(st.published_bytes == 10 * 2 + 4);
    CHECK(raw.producer().records() == 11);
    CHECK(raw.producer().tail() == tail + 32);
    CHECK(p.publish(bytes_of("next")) == head + 1);
    CHECK(text(r.try_read()) == "m8");
    CHECK(text(r.try_read()) == "m9");
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == head);
    CHECK(e.message.type == 3);
    CHECK(e.message.timestamp_ns == 12345);
    CHECK(text(e) == "kept");
    CHECK(text(r.try_read()) == "next");
    CHECK(r.missed() == 0);
  }
  SECTION("died between head and tail: the successor moves the tail past the record counted") {
    raw.commit_message(10, tail, head, bytes_of("m10"));
    raw.producer().publish_position(head + 1, 11, tail);  // head and records stored, not the tail
    Producer p = Producer::open(g.name);
    CHECK(p.head() == head + 1);
    CHECK(raw.producer().tail() == tail + 32);
    CHECK(inspect(g.name).published == published + 1);  // its totals, stored after the tail, never were: counted once now
    CHECK(p.publish(bytes_of("m11")) == head + 1);
    CHECK(p.publish(bytes_of("m12")) == head + 2);
    read_rest(r, 8, 13);
    CHECK(r.missed() == 0);
  }
  SECTION("died after committing a padding and the record at the data's start") {
    // Fill to 64 bytes before the end, then a record that must wrap, committed by hand.
    {
      Producer p = Producer::open(g.name);
      for (int i = 10; i < 126; ++i) p.publish(bytes_of(shmcast::test::numbered("m", i)));
    }
    REQUIRE(raw.producer().tail() == 4032);
    const std::string big(100, 'w');
    raw.reserve().reserve(4096 + 256);
    raw.record(4096).mark_nothing_yet();
    raw.record(4032).commit_padding();
    raw.commit_message(126, 4096, 126, bytes_of(big));
    Producer p = Producer::open(g.name);
    CHECK(p.head() == 127);
    CHECK(raw.producer().tail() == 4096 + 128);
    CHECK(p.publish(bytes_of("m127")) == 127);
    Reader at(g.name, {.start = StartAt::sequence, .start_seq = 125});
    CHECK(text(at.try_read()) == "m125");
    CHECK(text(at.try_read()) == big);
    CHECK(text(at.try_read()) == "m127");
    CHECK(at.missed() == 0);
  }
  SECTION("died after committing a skip record (skip_to), before head: the jump stands") {
    raw.commit_skip(10, tail, head, 40);
    Producer p = Producer::open(g.name);
    CHECK(p.head() == 40);
    CHECK(inspect(g.name).published == published);  // a skip record is not a message
    CHECK(p.publish(bytes_of("m40")) == 40);
    CHECK(text(r.try_read()) == "m8");
    CHECK(text(r.try_read()) == "m9");
    const ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == 10);
    CHECK(e.gap.missed == 30);
    CHECK(text(r.try_read()) == "m40");
  }
  SECTION("two records committed, none counted: both stand") {
    raw.commit_message(10, tail, head, bytes_of("m10"));
    raw.commit_message(11, tail + 32, head + 1, bytes_of("m11"));
    Producer p = Producer::open(g.name);
    CHECK(p.head() == head + 2);
    CHECK(inspect(g.name).published == published + 2);
    read_rest(r, 8, 12);
  }
}
