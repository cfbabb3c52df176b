// `shmcast bridge in`: writes a JetStream stream made by `bridge out` into a local ring
// under the source's own sequence numbers.
//
// Consumer: an ordered push consumer (ephemeral, flow-controlled, heartbeats; nats.c
// recreates it from the last stream sequence delivered whenever it notices a gap or a
// stall, e.g. after a server restart). It keeps no state on the server: the position to
// resume from is the ring's own source_position() (the last stream sequence applied), so
// the ring and the position can never disagree, and nothing needs acking.
#include "bridge/bridge.hpp"
#include "bridge/nats_util.hpp"
#include "common/stop.hpp"

#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>
#include <shmcast/producer.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <thread>

namespace shmcast::bridge {
namespace {

constexpr const char* kRole = "in";

bool retryable(natsStatus s) {
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED ||
         s == NATS_CONNECTION_DISCONNECTED || s == NATS_NO_SERVER || s == NATS_STALE_CONNECTION ||
         s == NATS_IO_ERROR || s == NATS_NOT_FOUND;
}

class Applier {
 public:
  explicit Applier(const InOptions& o)
      : o_(o), stream_(o.stream.empty() ? default_stream_for(o.ring) : o.stream) {
    try {
      producer_.emplace(Producer::open(o.ring));
      const Geometry& g = producer_->geometry();
      if ((o.slot_count != 0 && o.slot_count != g.slot_count) || (o.slot_size != 0 && o.slot_size != g.slot_size))
        throw Error(Errc::geometry_mismatch, "ring '" + o.ring + "' exists with " + std::to_string(g.slot_count) +
                                                 " slots of " + std::to_string(g.slot_size) + " bytes, not as asked");
    } catch (const Error& e) {
      if (e.code() == Errc::not_ready) {
        // Still uninitialised after open()'s own wait: its creator (most likely an earlier
        // bridge in) died while creating it. It never held a message: create it afresh.
        log_line(kRole, std::string(e.what()) + "; recreating it");
        replace_ = true;
      } else if (e.code() != Errc::not_found) {
        throw;
      }
      if (o.slot_count != 0 && o.slot_size != 0) create(o.slot_count, o.slot_size);
    }
    if (producer_) {
      applied_ = producer_->source_position();
      const RingStatus st = inspect(o.ring);  // carry the loss counters across restarts
      gaps_ = st.source_gaps;
      missed_ = st.source_missed;
      if (applied_ != 0)
        log_line(kRole, "ring '" + o.ring + "' has applied stream sequence " + std::to_string(applied_) + "; resuming after it");
    }
    nc_ = nats_connect(o.url, "shmcast bridge in " + o.ring, kRole);
    if (!nc_) return;  // stopped while waiting for the server
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 3000;
    jsCtx* js = nullptr;
    nats_check(natsConnection_JetStream(&js, nc_.get(), &jo), "natsConnection_JetStream");
    js_.reset(js);
  }

  void run() {
    if (!nc_) return;
    find_subject();
    while (!cli::stop_requested()) {
      if (!sub_) {
        subscribe();
        continue;
      }
      natsMsg* raw = nullptr;
      const natsStatus s = natsSubscription_NextMsg(&raw, sub_.get(), 100);
      NatsPtr<natsMsg> m(raw);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) {
        log_line(kRole, nats_error_text("subscription failed", s) + "; resubscribing after stream sequence " +
                            std::to_string(applied_));
        sub_.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        continue;
      }
      apply(m.get());
    }
    if (o_.verbose)
      log_line(kRole, "stopped at stream sequence " + std::to_string(applied_) + "; " + std::to_string(gaps_) + " gaps (" +
                          std::to_string(missed_) + " missed), " + std::to_string(stale_) + " stale records skipped");
  }

 private:
  void create(std::uint64_t slot_count, std::uint32_t slot_size) {
    CreateOptions co;
    co.mode = o_.mode;
    // Replacing means a new ring: remove the old one by name (open_or_create would keep it).
    if (replace_) Producer::remove(o_.ring);
    replace_ = false;
    producer_.emplace(Producer::open_or_create(o_.ring, Geometry{.slot_count = slot_count, .slot_size = slot_size}, co));
    log_line(kRole, "ring '" + o_.ring + "': " + std::to_string(slot_count) + " slots of " + std::to_string(slot_size) + " bytes");
  }

  // The stream's subject (whatever the source ring was called); waits for the stream to exist.
  void find_subject() {
    for (bool logged = false;; logged = true) {
      jsStreamInfo* raw = nullptr;
      jsErrCode code = static_cast<jsErrCode>(0);
      const natsStatus s = js_GetStreamInfo(&raw, js_.get(), stream_.c_str(), nullptr, &code);
      NatsPtr<jsStreamInfo> si(raw);
      if (s == NATS_OK) {
        if (si->Config->SubjectsLen < 1) throw Error(Errc::invalid_argument, "stream '" + stream_ + "' has no subject");
        subject_ = si->Config->Subjects[0];
        source_head_ = si->State.LastSeq;
        if (source_head_ < applied_)
          log_line(kRole, "warning: stream '" + stream_ + "' ends at " + std::to_string(source_head_) +
                              ", before the sequence this ring applied (" + std::to_string(applied_) +
                              "): was the stream recreated? Waiting for sequences after " + std::to_string(applied_));
        return;
      }
      if (!retryable(s) && code != JSStreamNotFoundErr) nats_check(s, "cannot look up stream '" + stream_ + "'", code);
      if (!logged) log_line(kRole, nats_error_text("waiting for stream '" + stream_ + "'", s, code));
      if (cli::stop_requested()) throw Error(Errc::system, "stopped while waiting for stream '" + stream_ + "'");
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  void subscribe() {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream_.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = applied_ + 1;
    so.Config.Heartbeat = std::chrono::nanoseconds(std::chrono::seconds(1)).count();
    natsSubscription* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_SubscribeSync(&raw, js_.get(), subject_.c_str(), nullptr, &so, &code);
    if (s != NATS_OK) {
      if (!retryable(s)) nats_check(s, "cannot consume stream '" + stream_ + "'", code);
      if (!sub_failed_logged_) log_line(kRole, nats_error_text("cannot consume stream '" + stream_ + "' yet", s, code));
      sub_failed_logged_ = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      return;
    }
    sub_failed_logged_ = false;
    sub_.reset(raw);
    natsSubscription_SetPendingLimits(raw, -1, -1);
  }

  void apply(natsMsg* m) {
    jsMsgMetaData* raw_meta = nullptr;
    nats_check(natsMsg_GetMetaData(&raw_meta, m), "natsMsg_GetMetaData");
    NatsPtr<jsMsgMetaData> meta(raw_meta);
    const std::uint64_t stream_seq = meta->Sequence.Stream;
    if (stream_seq <= applied_) return;  // delivered again after a consumer reset
    source_head_ = std::max(source_head_, stream_seq + meta->NumPending);

    std::optional<std::uint64_t> seq = header_u64(m, kHdrSeq);
    if (!seq) {
      const auto first = header_u64(m, kHdrGapFirst);
      const auto missed = header_u64(m, kHdrGapMissed);
      if (!first || !missed)
        throw Error(Errc::corrupt, "stream '" + stream_ + "' sequence " + std::to_string(stream_seq) +
                                       " is not a shmcast record (no " + kHdrSeq + " header)");
      if (o_.verbose)
        log_line(kRole, "gap record: " + std::to_string(*missed) + " from " + std::to_string(*first));
      // Local readers see the gap now, not only with the next message.
      if (producer_ && *first + *missed > producer_->head()) {
        ++gaps_;
        missed_ += *first + *missed - producer_->head();
        producer_->skip_to(*first + *missed);
      }
    } else {
      if (!producer_) {
        const std::uint64_t count = o_.slot_count != 0 ? o_.slot_count : header_u64(m, kHdrSlotCount).value_or(4096);
        const std::uint64_t size = o_.slot_size != 0 ? o_.slot_size : header_u64(m, kHdrSlotSize).value_or(256);
        create(count, static_cast<std::uint32_t>(size));
      }
      const std::uint64_t head = producer_->head();
      if (*seq < head) {
        if (stale_++ == 0)
          log_line(kRole, "warning: stream sequence " + std::to_string(stream_seq) + " carries ring sequence " +
                              std::to_string(*seq) + ", below the ring's head " + std::to_string(head) + "; skipped");
      } else {
        if (*seq > head) {
          ++gaps_;
          missed_ += *seq - head;
        }
        const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(m));
        const std::span<const std::byte> body(data, static_cast<std::size_t>(natsMsg_GetDataLength(m)));
        producer_->publish_at(*seq, body, static_cast<std::uint32_t>(header_u64(m, kHdrType).value_or(0)),
                              header_u64(m, kHdrTs).value_or(kNow));
      }
    }
    applied_ = stream_seq;
    if (producer_) {
      producer_->set_source_position(applied_);
      producer_->set_source_status(source_head_, gaps_, missed_);
    }
  }

  const InOptions& o_;
  std::string stream_;
  std::string subject_;
  std::optional<Producer> producer_;
  NatsPtr<natsConnection> nc_;
  NatsPtr<jsCtx> js_;
  NatsPtr<natsSubscription> sub_;
  std::uint64_t applied_ = 0;      // last stream sequence applied (the ring's source_position)
  std::uint64_t source_head_ = 0;  // stream's last sequence, as last known
  std::uint64_t gaps_ = 0;         // jumps in the ring sequence written here
  std::uint64_t missed_ = 0;       // sequences those jumps skipped
  std::uint64_t stale_ = 0;        // records below the ring's head (already applied)
  bool sub_failed_logged_ = false;
  bool replace_ = false;           // the ring was left half-created: replace it
};

}  // namespace

void run_in(const InOptions& options) {
  validate_stream_name(options.stream.empty() ? default_stream_for(options.ring) : options.stream);
  Applier applier(options);
  applier.run();
}

}  // namespace shmcast::bridge
