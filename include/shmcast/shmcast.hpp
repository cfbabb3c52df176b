// shmcast: a lock-free, shared-memory, multi-process broadcaster.
//
//   shmcast::Producer p = shmcast::Producer::create("ticks", {.ring_bytes = 1 << 20});  // messages of any size up to 256 KiB
//   p.publish(std::as_bytes(std::span(data)), /*type=*/1);
//
//   shmcast::Reader r("ticks", {.start = shmcast::StartAt::oldest});
//   if (shmcast::ReadResult e = r.read(std::chrono::seconds(1))) { ... e.status, e.message, e.gap ... }
#pragma once

#include <shmcast/archive.hpp>
#include <shmcast/clock.hpp>
#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>
#include <shmcast/producer.hpp>
#include <shmcast/reader.hpp>
#include <shmcast/snapshot_schedule.hpp>
#include <shmcast/types.hpp>
