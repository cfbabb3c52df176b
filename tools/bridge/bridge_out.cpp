// `shmcast bridge out`: a registered reader of a ring that publishes every message, and
// every gap it suffers, to one JetStream stream, pipelined, in ring order.
#include "bridge/bridge.hpp"
#include "bridge/nats_util.hpp"
#include "common/format.hpp"

#include <shmcast/error.hpp>
#include <shmcast/reader.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

namespace shmcast::bridge {
namespace {

constexpr const char* kRole = "out";

// Filled by nats.c's publish-ack thread, read by the relay loop.
struct AckState {
  std::atomic<bool> failed{false};             // some publish was refused or not acked in time
  std::atomic<std::uint64_t> stream_seq{0};    // highest stream sequence acknowledged
  std::atomic<std::uint64_t> ring_next{0};     // the ring sequence after the last record acknowledged; 0: none yet
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> duplicates{0};    // resends JetStream recognised by Nats-Msg-Id
  std::mutex mutex;
  std::string error;                           // the first failure since the last resync
};

// Raises `value` to `v` if it is below (the ack thread and the relay loop both raise them).
void raise_to(std::atomic<std::uint64_t>& value, std::uint64_t v) {
  std::uint64_t seen = value.load(std::memory_order_relaxed);
  while (v > seen && !value.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}

void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* st = static_cast<AckState*>(closure);
  if (pa != nullptr) {
    raise_to(st->stream_seq, pa->Sequence);
    st->acked.fetch_add(1, std::memory_order_relaxed);
    if (pa->Duplicate) st->duplicates.fetch_add(1, std::memory_order_relaxed);
    // What the stream holds up to: a resync against a stream emptied since (its records
    // aged out) goes on from here instead of from the ring's oldest message.
    std::uint64_t next = 0;
    if (msg != nullptr) {
      if (const auto seq = header_u64(msg, kHdrSeq)) next = *seq + 1;
      else if (const auto first = header_u64(msg, kHdrGapFirst), missed = header_u64(msg, kHdrGapMissed); first && missed)
        next = *first + *missed;
    }
    raise_to(st->ring_next, next);
  } else if (pae != nullptr) {
    std::lock_guard lock(st->mutex);
    if (!st->failed.load(std::memory_order_relaxed)) {
      const char* id = nullptr;
      if (msg != nullptr) natsMsgHeader_Get(msg, kHdrMsgId, &id);
      st->error = std::string("publish of ") + (id != nullptr ? id : "?") + " failed: " + natsStatus_GetText(pae->Err);
      if (pae->ErrText != nullptr) st->error += std::string(" (") + pae->ErrText + ")";
      if (pae->ErrCode != 0) st->error += " [JetStream error " + std::to_string(static_cast<int>(pae->ErrCode)) + "]";
      st->failed.store(true, std::memory_order_release);
    }
  }
  natsMsg_Destroy(msg);
}

class Relay {
 public:
  Relay(const OutOptions& o)
      : o_(o),
        stream_(o.stream.empty() ? default_stream_for(o.ring) : o.stream),
        subject_(subject_for(o.ring)),
        reader_(o.ring, ReaderOptions{.start = StartAt::latest, .on_gap = GapPolicy::oldest, .label = o.label}),
        ring_hex_(cli::ring_id_text(reader_.ring_id())),
        ring_bytes_(std::to_string(reader_.geometry().ring_bytes)),
        max_message_(std::to_string(reader_.geometry().message_limit())) {
    if (!reader_.registered()) log_line(kRole, "warning: not registered in the ring (" + reader_.registration_error() + ")");
    nc_ = nats_connect(o.url, "shmcast bridge out " + o.ring, kRole, o.should_stop);
    if (!nc_) return;  // stopped while waiting for the server
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 3000;
    jo.PublishAsync.MaxPending = o.max_pending;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = &acks_;
    jo.PublishAsync.StallWait = 50;
    jsCtx* js = nullptr;
    nats_check(natsConnection_JetStream(&js, nc_.get(), &jo), "natsConnection_JetStream");
    js_.reset(js);
  }

  void run() {
    if (!nc_ || !ensure_stream()) return;  // stopped while waiting
    resync(true);
    auto last_report = std::chrono::steady_clock::now();
    while (!stopping(o_.should_stop)) {
      if (acks_.failed.load(std::memory_order_acquire)) {
        {
          std::lock_guard lock(acks_.mutex);
          log_line(kRole, acks_.error + "; resynchronising with the stream");
        }
        resync(false);
        continue;
      }
      const ReadResult r = reader_.read(std::chrono::milliseconds(20));
      if (r.status == ReadStatus::message) {
        publish_message(r.message);
      } else if (r.status == ReadStatus::gap) {
        log_line(kRole, "ring gap: " + std::to_string(r.gap.missed) + " from " + std::to_string(r.gap.first) + " (" +
                            to_string(r.gap.cause) + "), published as a gap record");
        publish_gap(r.gap.first, r.gap.missed);
      } else if (r.status == ReadStatus::empty && reader_.replaced()) {
        throw Error(Errc::replaced, o_.ring,
                    "was removed or recreated; its stream '" + stream_ + "' continues the old ring");
      }
      const auto now = std::chrono::steady_clock::now();
      if (r.status == ReadStatus::empty || now - last_report > std::chrono::milliseconds(50)) {
        reader_.set_external_position(acks_.stream_seq.load(std::memory_order_relaxed));
        last_report = now;
      }
    }
    drain();
    reader_.set_external_position(acks_.stream_seq.load(std::memory_order_relaxed));
    if (o_.verbose)
      log_line(kRole, "stopped: " + std::to_string(acks_.acked.load()) + " acked, " +
                          std::to_string(acks_.duplicates.load()) + " duplicates dropped by JetStream");
  }

 private:
  // Looks the stream up, creating it if it is missing; waits while JetStream does not
  // answer. False if asked to stop first.
  bool ensure_stream() {
    const bool ready = retry_until(
        {kRole, "waiting for JetStream", "cannot look up stream '" + stream_ + "'", o_.should_stop},
        [&](jsErrCode& code) {
          for (;;) {
            jsStreamInfo* raw = nullptr;
            natsStatus s = js_GetStreamInfo(&raw, js_.get(), stream_.c_str(), nullptr, &code);
            NatsPtr<jsStreamInfo> si(raw);
            if (s == NATS_OK) {
              bool takes_subject = false;
              for (int i = 0; i < si->Config->SubjectsLen; ++i) takes_subject |= subject_ == si->Config->Subjects[i];
              if (!takes_subject)
                throw Error(Errc::system, "stream '" + stream_ + "' exists but does not take subject '" + subject_ +
                                              "': it belongs to something else; pass another --stream");
              return NATS_OK;
            }
            if (s != NATS_NOT_FOUND && code != JSStreamNotFoundErr) return s;
            code = static_cast<jsErrCode>(0);
            s = add_stream(code);
            if (s == NATS_OK) {
              log_line(kRole, "created stream '" + stream_ + "' on subject '" + subject_ + "'");
              return NATS_OK;
            }
            if (code != JSStreamNameExistErr) nats_check(s, "cannot create stream '" + stream_ + "'", code);
            // Another bridge made it first: look it up again.
          }
        });
    return ready;
  }

  natsStatus add_stream(jsErrCode& code) {
    const char* subjects[] = {subject_.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream_.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Discard = js_DiscardOld;
    cfg.MaxMsgs = o_.max_msgs;
    cfg.MaxBytes = o_.max_bytes;
    cfg.MaxAge = std::chrono::nanoseconds(o_.max_age).count();
    cfg.Replicas = o_.replicas;
    // JetStream refuses a de-duplication window longer than the age limit: a record
    // resent after it aged out is no duplicate of anything the stream holds.
    const auto window = o_.max_age.count() != 0 ? std::min<std::chrono::nanoseconds>(o_.duplicate_window, o_.max_age)
                                                : std::chrono::nanoseconds(o_.duplicate_window);
    cfg.Duplicates = window.count();
    jsStreamInfo* created = nullptr;
    const natsStatus s = js_AddStream(&created, js_.get(), &cfg, nullptr, &code);
    jsStreamInfo_Destroy(created);
    return s;
  }

  // Waits for every outstanding publish to be acknowledged or to fail.
  void drain() {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = o_.ack_wait.count() + 1000;
    if (js_PublishAsyncComplete(js_.get(), &po) != NATS_OK) {
      natsMsgList pending{};
      if (js_PublishAsyncGetPendingList(&pending, js_.get()) == NATS_OK) natsMsgList_Destroy(&pending);
    }
  }

  // Finds where the stream ends and positions the reader after it.
  void resync(bool first) {
    drain();
    // Back off while resynchronising makes no progress (a publish JetStream keeps refusing).
    const std::uint64_t acked = acks_.acked.load(std::memory_order_relaxed);
    backoff_ms_ = (first || acked != acked_at_resync_) ? 0 : std::min<int>(backoff_ms_ * 2 + 50, 2000);
    acked_at_resync_ = acked;
    if (backoff_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms_));
    {
      std::lock_guard lock(acks_.mutex);
      acks_.failed.store(false, std::memory_order_relaxed);
      acks_.error.clear();
    }
    retry_until({kRole, "waiting for stream '" + stream_ + "'", "cannot read the end of stream '" + stream_ + "'",
                 o_.should_stop},
                [&](jsErrCode& code) {
                  jsStreamInfo* raw = nullptr;
                  natsStatus s = js_GetStreamInfo(&raw, js_.get(), stream_.c_str(), nullptr, &code);
                  NatsPtr<jsStreamInfo> si(raw);
                  if (s != NATS_OK) return s;
                  stream_last_ = si->State.LastSeq;
                  note_acked_stream_seq(stream_last_);
                  if (si->State.Msgs == 0) {
                    if (stream_last_ == 0) {  // a new stream: everything the ring holds
                      position_reader(std::nullopt);
                    } else if (const std::uint64_t next = acks_.ring_next.load(std::memory_order_relaxed); next != 0) {
                      log_line(kRole, "stream '" + stream_ + "' is empty (its records aged out); going on after the "
                                          "last record it acknowledged, ring sequence " + std::to_string(next - 1));
                      position_reader(next);
                    } else {
                      // What it held is gone and nothing says where in the ring it ended:
                      // resending from the oldest would send again what it held, so the
                      // stream would go back in ring order. Start at the head; what came
                      // before reaches `bridge in` as a gap, counted.
                      log_line(kRole, "warning: stream '" + stream_ + "' is empty (its records aged out) and does not say "
                                          "where ring '" + o_.ring + "' was: starting at the ring's head, sequence " +
                                          std::to_string(reader_.head()) + "; the far side sees what came before as a gap");
                      position_reader(reader_.head());
                    }
                    return NATS_OK;
                  }
                  natsMsg* last = nullptr;
                  s = js_GetLastMsg(&last, js_.get(), stream_.c_str(), subject_.c_str(), nullptr, &code);
                  NatsPtr<natsMsg> m(last);
                  if (s == NATS_NOT_FOUND || code == JSNoMessageFoundErr) {
                    position_reader(std::nullopt);
                    return NATS_OK;
                  }
                  if (s != NATS_OK) return s;
                  position_reader(next_after(m.get()));
                  if (first || o_.verbose)
                    log_line(kRole, "stream '" + stream_ + "' ends at stream sequence " + std::to_string(stream_last_) +
                                        "; relaying ring '" + o_.ring + "' from sequence " + std::to_string(next_));
                  return NATS_OK;
                });
  }

  // The ring sequence that follows the stream's last record.
  std::uint64_t next_after(natsMsg* last) const {
    const auto id = header(last, kHdrRingId);
    if (id && *id != ring_hex_)
      throw Error(Errc::replaced, "stream '" + stream_ + "' holds ring id " + *id + " but ring '" + o_.ring +
                                      "' now has id " + ring_hex_ +
                                      " (recreated): delete the stream or use another --stream, and give `bridge in` a "
                                      "new ring (it refuses a recreated source)");
    if (const auto seq = header_u64(last, kHdrSeq)) return *seq + 1;
    const auto first = header_u64(last, kHdrGapFirst);
    const auto missed = header_u64(last, kHdrGapMissed);
    if (first && missed) return *first + *missed;
    throw Error(Errc::system, "the last message of stream '" + stream_ + "' was not written by `shmcast bridge out`: "
                              "pass a stream only it writes (--stream)");
  }

  void position_reader(std::optional<std::uint64_t> next) {
    if (!next) {
      reader_.seek(reader_.oldest());
      next_ = reader_.position();
    } else {
      if (*next > reader_.head())
        throw Error(Errc::system, "stream '" + stream_ + "' is ahead of ring '" + o_.ring + "' (next sequence " +
                                      std::to_string(*next) + ", ring head " + std::to_string(reader_.head()) +
                                      "): it was fed by another ring of the same id, or altered; use another --stream");
      reader_.seek(*next);  // false: no longer held; the next read reports the gap
      next_ = *next;
    }
    first_after_sync_ = true;
  }

  // The stream holds everything up to `stream_seq`: `stat` shows it as the far position
  // before the first acknowledgement after a restart.
  void note_acked_stream_seq(std::uint64_t stream_seq) {
    raise_to(acks_.stream_seq, stream_seq);
    reader_.set_external_position(acks_.stream_seq.load(std::memory_order_relaxed));
  }

  NatsPtr<natsMsg> new_msg(std::span<const std::byte> body) {
    natsMsg* raw = nullptr;
    nats_check(natsMsg_Create(&raw, subject_.c_str(), nullptr, reinterpret_cast<const char*>(body.data()),
                              static_cast<int>(body.size())),
               "natsMsg_Create");
    NatsPtr<natsMsg> m(raw);
    natsMsgHeader_Set(m.get(), kHdrRingId, ring_hex_.c_str());
    natsMsgHeader_Set(m.get(), kHdrRingBytes, ring_bytes_.c_str());
    natsMsgHeader_Set(m.get(), kHdrMaxMessage, max_message_.c_str());
    return m;
  }

  void publish_message(const Message& msg) {
    NatsPtr<natsMsg> m = new_msg(msg.payload);
    natsMsgHeader_Set(m.get(), kHdrSeq, std::to_string(msg.seq).c_str());
    natsMsgHeader_Set(m.get(), kHdrType, std::to_string(msg.type).c_str());
    natsMsgHeader_Set(m.get(), kHdrTs, std::to_string(msg.timestamp_ns).c_str());
    send(std::move(m), ring_hex_ + "-" + std::to_string(msg.seq));
    next_ = msg.seq + 1;
  }

  void publish_gap(std::uint64_t first, std::uint64_t missed) {
    NatsPtr<natsMsg> m = new_msg({});
    natsMsgHeader_Set(m.get(), kHdrGapFirst, std::to_string(first).c_str());
    natsMsgHeader_Set(m.get(), kHdrGapMissed, std::to_string(missed).c_str());
    send(std::move(m), ring_hex_ + "-g" + std::to_string(first));
    next_ = first + missed;
  }

  // Queues one publish whose acceptance requires the stream to end with our previous one.
  void send(NatsPtr<natsMsg> m, std::string id) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();
    po.ExpectStream = stream_.c_str();
    po.MaxWait = o_.ack_wait.count();
    if (first_after_sync_)
      po.ExpectLastSeq = stream_last_;  // 0 (empty stream): no expectation
    else
      po.ExpectLastMsgId = last_id_.c_str();
    natsMsg* raw = m.release();
    for (;;) {
      const natsStatus s = js_PublishMsgAsync(js_.get(), &raw, &po);
      if (s == NATS_OK) break;
      // NATS_TIMEOUT: stalled, the pipeline is full; wait on unless stopping or resynchronising.
      if (s == NATS_TIMEOUT && !stopping(o_.should_stop) && !acks_.failed.load(std::memory_order_acquire)) continue;
      natsMsg_Destroy(raw);
      std::lock_guard lock(acks_.mutex);
      if (!acks_.failed.load(std::memory_order_relaxed)) {
        acks_.error = nats_error_text("publish of " + id, s);
        acks_.failed.store(true, std::memory_order_release);
      }
      return;
    }
    last_id_ = std::move(id);
    first_after_sync_ = false;
  }

  const OutOptions& o_;
  std::string stream_;
  std::string subject_;
  Reader reader_;
  std::string ring_hex_;
  std::string ring_bytes_;
  std::string max_message_;
  AckState acks_;
  NatsPtr<natsConnection> nc_;
  NatsPtr<jsCtx> js_;
  std::uint64_t next_ = 0;         // ring sequence the stream expects next
  std::uint64_t stream_last_ = 0;  // stream's last sequence at the last resync
  std::string last_id_;            // Nats-Msg-Id of our last queued publish
  bool first_after_sync_ = true;
  std::uint64_t acked_at_resync_ = 0;
  int backoff_ms_ = 0;
};

}  // namespace

void run_out(const OutOptions& options) {
  validate_stream_name(options.stream.empty() ? default_stream_for(options.ring) : options.stream);
  validate_nats_urls(options.url);
  Relay relay(options);
  relay.run();
}

}  // namespace shmcast::bridge
