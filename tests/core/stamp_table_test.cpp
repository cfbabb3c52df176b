// Every row of the stamp table (docs/DESIGN.md, "The stamp protocol"), produced
// deterministically by writing the writer's in-between states into the ring through a
// private read-write mapping.
#include <catch2/catch.hpp>

#include "layout.hpp"
#include "raw_ring.hpp"
#include "test_support.hpp"

#include <cstring>

using namespace shmcast;
using namespace shmcast::detail;
using shmcast::test::RawRing;
using shmcast::test::RingGuard;
using shmcast::test::unique_ring;

TEST_CASE("stamp table: each stamp a reader can meet, and what it does", "[stamp]") {
  RingGuard g(unique_ring("stamps"));
  Producer p = Producer::create(g.name, {.slot_count = 4, .slot_size = 64});
  for (int i = 0; i < 6; ++i) p.publish(bytes_of(shmcast::test::numbered("m", i)));
  RawRing raw(g.name);
  Reader r(g.name, {.start = StartAt::sequence, .start_seq = 6});  // a fixed start: lost, it is a gap
  REQUIRE(r.position() == 6);
  const std::uint64_t n = 6;  // lives in slot 2, which still holds message 2 (stamp 6)

  SECTION("stamp < 2n+1: not yet published (an older lap's message is there)") {
    CHECK(raw.slot(n).stamp() == stamp_committed(2));
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.position() == n);
  }
  SECTION("stamp == 2n+1: being written, nothing new yet") {
    raw.slot(n).begin(n, 3, 9, 0);
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(r.position() == n);
    SECTION("then 2n+2: message n") {
      std::memcpy(raw.payload(n), "abc", 3);
      raw.slot(n).commit(n);
      ReadResult e = r.try_read();
      REQUIRE(e.status == ReadStatus::message);
      CHECK(e.message.seq == n);
      CHECK(e.message.type == 9);
      CHECK(text_of(e.message.payload) == "abc");
    }
  }
  SECTION("stamp == 2n+2: message n is delivered") {
    p.publish(bytes_of("m6"));
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(e.message.seq == n);
    CHECK(text_of(e.message.payload) == "m6");
  }
  SECTION("stamp > 2n+2: overwritten by a later lap, a gap") {
    for (int i = 6; i < 11; ++i) p.publish(bytes_of(shmcast::test::numbered("m", i)));  // head 11: slot 2 holds 10
    CHECK(raw.slot(n).stamp() == stamp_committed(10));
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == n);
    CHECK(e.gap.missed == r.position() - n);
    CHECK(r.try_read().status == ReadStatus::message);
  }
  SECTION("stamp > 2n+2 while a later lap is being written is a gap too") {
    for (int i = 6; i < 10; ++i) p.publish(bytes_of(shmcast::test::numbered("m", i)));  // head 10
    raw.slot(n).begin(10, 0, 0, 0);  // message 10 half-written
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == n);
  }
  SECTION("a length beyond the slot's capacity is never read: the slot counts as one missed message") {
    p.publish(bytes_of("m6"));
    raw.slot(n).set_length(0xFFFF'0000u);
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::gap);
    CHECK(e.gap.first == n);
    CHECK(e.gap.missed == 1);
    CHECK(r.position() == n + 1);
  }
  SECTION("a slot left vacant by a repair reads as not yet published") {
    raw.slot(n).vacate(n);
    CHECK(r.try_read().status == ReadStatus::empty);
  }
}

TEST_CASE("a producer taking over repairs a half-written slot and continues without a gap", "[stamp][takeover]") {
  RingGuard g(unique_ring("repair"));
  std::uint64_t head = 0;
  {
    Producer p = Producer::create(g.name, {.slot_count = 8, .slot_size = 64});
    for (int i = 0; i < 10; ++i) p.publish(bytes_of(shmcast::test::numbered("m", i)));
    head = p.head();
  }
  Reader r(g.name, {.start = StartAt::latest});
  RawRing raw(g.name);
  SECTION("died after the odd stamp: the slot is made vacant, the sequence reused") {
    raw.slot(head).begin(head, 0, 0, 0);
    Producer p = Producer::open(g.name);
    CHECK(p.head() == head);
    CHECK(raw.slot(head).stamp() == stamp_vacant(head));
    CHECK(r.try_read().status == ReadStatus::empty);
    CHECK(p.publish(bytes_of("new")) == head);
    ReadResult e = r.try_read();
    REQUIRE(e.status == ReadStatus::message);
    CHECK(text_of(e.message.payload) == "new");
    CHECK(r.missed() == 0);
  }
  SECTION("died after committing but before advancing head: the message stands, no duplicate") {
    raw.slot(head).begin(head, 2, 0, 0);
    std::memcpy(raw.payload(head), "ok", 2);
    raw.slot(head).commit(head);
    Producer p = Producer::open(g.name);
    CHECK(p.head() == head + 1);
    CHECK(text_of(r.try_read().message.payload) == "ok");
    CHECK(p.publish(bytes_of("next")) == head + 1);
    CHECK(text_of(r.try_read().message.payload) == "next");
    CHECK(r.missed() == 0);
  }
}
