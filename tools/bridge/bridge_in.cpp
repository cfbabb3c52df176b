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
#include "common/format.hpp"

#include <shmcast/error.hpp>
#include <shmcast/producer.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <thread>

namespace shmcast::bridge {
namespace {

constexpr const char* kRole = "in";

// The header each slot had in layout version 2, for the geometry older bridges send.
constexpr std::uint64_t kV2SlotHeaderBytes = 24;

// The source ring's geometry as a record's headers give it (what is missing stays at the
// default): Shmcast-Ring-Bytes and Shmcast-Max-Message, or, from a `bridge out` of layout
// version 2, a ring with the same largest message (the slot less its header) and at least
// the bytes its slots took (rounded up to a power of two).
Geometry source_geometry(natsMsg* m) {
  Geometry g;
  const auto ring_bytes = header_u64(m, kHdrRingBytes);
  const auto max_message = header_u64(m, kHdrMaxMessage);
  if (ring_bytes) g.ring_bytes = *ring_bytes;
  if (max_message && *max_message <= kMaxMessageLimit) g.max_message = static_cast<std::uint32_t>(*max_message);
  const auto count = header_u64(m, kHdrSlotCount);
  const auto size = header_u64(m, kHdrSlotSize);
  if (!ring_bytes && !max_message && count && size && *size > kV2SlotHeaderBytes &&
      *size - kV2SlotHeaderBytes <= kMaxMessageLimit && *count <= (std::uint64_t{1} << 36) / *size) {
    const std::uint64_t max = *size - kV2SlotHeaderBytes;
    g.max_message = static_cast<std::uint32_t>(max);
    g.ring_bytes = std::bit_ceil(std::max({*count * *size, 2 * (max + kRecordHeaderBytes + kRecordAlign),
                                           std::uint64_t{4096}}));
  }
  return g;
}

std::string geometry_text(const Geometry& g) {
  return std::to_string(g.ring_bytes) + " bytes, messages up to " + std::to_string(g.message_limit()) + " bytes";
}

class Applier {
 public:
  explicit Applier(const InOptions& o)
      : o_(o), stream_(o.stream.empty() ? default_stream_for(o.ring) : o.stream) {
    if (o.ring_bytes != 0 && o.max_message != 0) {
      // The geometry is the user's: the ring, if it exists, must have it.
      create(Geometry{.ring_bytes = o.ring_bytes, .max_message = o.max_message});
    } else {
      // The geometry is the source's, known from the first record: resume an existing
      // ring now, create a missing one (or replace a half-created one) at the first record.
      try {
        adopt(Producer::open(o.ring));
      } catch (const Error& e) {
        if (e.code() != Errc::not_found && e.code() != Errc::not_ready) throw;
        if (e.code() == Errc::not_ready)
          log_line(kRole, std::string(e.what()) + "; it is replaced when the first record gives its geometry");
      }
    }
    nc_ = nats_connect(o.url, "shmcast bridge in " + o.ring, kRole, o.should_stop);
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
    while (!stopping(o_.should_stop)) {
      // (Again after a failed subscription: the stream may have been made again meanwhile.)
      if (!sub_ && !(find_subject() && subscribe())) break;  // stopped while waiting
      natsMsg* raw = nullptr;
      const natsStatus s = natsSubscription_NextMsg(&raw, sub_.get(), 100);
      NatsPtr<natsMsg> m(raw);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) {
        log_line(kRole, nats_error_text("subscription failed", s) + "; resubscribing after stream sequence " +
                            std::to_string(applied_));
        sub_.reset();
        std::this_thread::sleep_for(kRetryInterval);
        continue;
      }
      apply(m.get());
    }
    if (o_.verbose)
      log_line(kRole, "stopped at stream sequence " + std::to_string(applied_) + "; " + std::to_string(source_.gaps) +
                          " gaps (" + std::to_string(source_.missed) + " missed), " + std::to_string(stale_) +
                          " stale records skipped");
  }

 private:
  // Opens the ring if it exists (with this geometry, else Errc::geometry_mismatch) or
  // creates it; a ring left half-created by a dead creator is replaced (the library checks
  // that nobody holds its producer lock).
  void create(const Geometry& geometry) {
    CreateOptions co;
    co.mode = o_.mode;
    adopt(Producer::open_or_create(o_.ring, geometry, co, ExistingRing::must_match));
    log_line(kRole, "ring '" + o_.ring + "': " + geometry_text(producer_->geometry()));
  }

  // Writes into `p` from now on, resuming after the stream sequence it has applied and
  // carrying its loss counters on.
  void adopt(Producer p) {
    const Geometry& g = p.geometry();
    if ((o_.ring_bytes != 0 && o_.ring_bytes != g.ring_bytes) || (o_.max_message != 0 && o_.max_message != g.message_limit()))
      throw Error(Errc::geometry_mismatch, o_.ring, "exists with " + geometry_text(g) + ", not as asked");
    producer_.emplace(std::move(p));
    applied_ = producer_->source_position();
    const SourceStatus kept = producer_->source_status();
    source_.head = kept.head;
    source_.gaps = kept.gaps;
    source_.missed = kept.missed;
    if (kept.ring_id != 0) source_.ring_id = kept.ring_id;
    if (kept.epoch != 0) source_.epoch = kept.epoch;
    // apply() jumps for a gap in its source, then stores its counters: a bridge that died
    // between the two left the ring's jump uncounted. Skips made before any status was
    // stored (another producer's) are not the relay's and stay out.
    if (const std::uint64_t uncounted = producer_->uncounted_skips(); uncounted != 0) {
      ++source_.gaps;
      source_.missed += uncounted;
    }
    // Stored now, before any jump of this run: on a ring just created, the first jump is
    // then counted even if the bridge dies right after it.
    producer_->set_source_status(source_);
    if (applied_ != 0)
      log_line(kRole, "ring '" + o_.ring + "' has applied stream sequence " + std::to_string(applied_) + "; resuming after it");
  }

  // The stream's subject (whatever the source ring was called); waits for the stream to exist.
  // The stream is named after the ring `bridge out` reads, which may not be this ring's
  // name: say so once, with the shmcast streams the server has.
  void hint_streams() {
    std::string names;
    jsStreamNamesList* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    if (js_StreamNames(&raw, js_.get(), nullptr, &code) == NATS_OK && raw != nullptr) {
      for (int i = 0; i < raw->Count; ++i) {
        const std::string_view name = raw->List[i];
        if (name.starts_with("shmcast_")) names += (names.empty() ? "" : ", ") + std::string(name);
      }
      jsStreamNamesList_Destroy(raw);
    }
    log_line(kRole, "stream '" + stream_ + "' does not exist (yet): a stream is named after the ring `bridge out` reads" +
                        (names.empty() ? std::string("; the server has no shmcast stream now")
                                       : "; the server has: " + names + " (pass --stream NAME to read one of them)"));
  }

  // False if asked to stop while waiting for the stream.
  bool find_subject() {
    bool hinted = false;
    const bool found = retry_until(
        {kRole, "waiting for stream '" + stream_ + "'", "cannot look up stream '" + stream_ + "'", o_.should_stop},
        [&](jsErrCode& code) {
          NatsPtr<jsStreamInfo> si;
          const natsStatus s = get_stream_info(si, js_.get(), stream_, code, o_.should_stop);
          if (code == JSStreamNotFoundErr && !hinted) {
            hinted = true;
            hint_streams();
          }
          if (s != NATS_OK) return s;
          if (si->Config->SubjectsLen < 1) throw Error(Errc::system, "stream '" + stream_ + "' has no subject");
          subject_ = si->Config->Subjects[0];
          source_.head = si->State.LastSeq;
          // A stream deleted and made again numbers its records from 1 again: the position
          // this ring applied means nothing in it, and records past it would be taken for
          // the next ones. Its creation time tells (and, for a ring that did not keep it, a
          // last sequence below the position). Read such a stream from its start: its
          // records carry ring sequences, and those below this ring's head are skipped.
          // A time of 0 is none (get_stream_info): the epoch kept stays, never replaced by it.
          const auto created = static_cast<std::uint64_t>(std::max<std::int64_t>(si->Created, 0));
          if ((source_.epoch != 0 && created != 0 && created != source_.epoch) || source_.head < applied_) {
            log_line(kRole, "stream '" + stream_ + "' was deleted and made again since this ring applied its sequence " +
                                std::to_string(applied_) + ": reading it from its start (records this ring holds are skipped)");
            applied_ = 0;
          }
          if (created != 0) {
            source_.epoch = created;
          } else if (!warned_no_epoch_) {
            warned_no_epoch_ = true;
            log_line(kRole, "stream '" + stream_ + "' gives no creation time: if it is deleted and made again, this ring "
                            "tells only while the new stream is shorter than what it applied");
          }
          if (producer_) {
            producer_->set_source_position(applied_);
            producer_->set_source_status(source_);
          }
          return NATS_OK;
        });
    return found;
  }

  // A record's source ring: the first one this ring was fed from, or an error. A recreated
  // source numbers its messages from 0 again; written on here they would be skipped as
  // stale or continue the old numbering, and the far readers could not tell.
  void check_source_ring(natsMsg* m, std::uint64_t stream_seq) {
    const std::optional<std::string> id_text = header(m, kHdrRingId);
    if (!id_text) return;  // a record of a bridge out that did not send it
    const std::optional<std::uint64_t> id = header_u64(m, kHdrRingId, 16);
    if (!id) throw bad_record(stream_seq, std::string("a malformed ") + kHdrRingId + " header '" + *id_text + "'");
    if (source_.ring_id == 0) {
      source_.ring_id = *id;
    } else if (*id != source_.ring_id) {
      throw Error(Errc::replaced, o_.ring,
                  "was fed from source ring id " + cli::ring_id_text(source_.ring_id) + ", but stream '" + stream_ + "' sequence " +
                      std::to_string(stream_seq) + " comes from ring id " + cli::ring_id_text(*id) +
                      " (the source ring was recreated and its sequences restarted)");
    }
  }

  // A record `bridge out` did not write, or wrote otherwise: no ring is at fault, and the
  // same record would stop a restarted `bridge in` again.
  [[nodiscard]] Error bad_record(std::uint64_t stream_seq, const std::string& what) const {
    return Error(Errc::system, "stream '" + stream_ + "' sequence " + std::to_string(stream_seq) + " has " + what +
                                   ": it was not written by `shmcast bridge out`. A stream for `bridge in` must carry "
                                   "only what `bridge out` writes: stop whatever else publishes on '" +
                                   subject_ + "', and read a clean stream (--stream)");
  }

  // A numeric header of a record: nullopt when absent, an error when present and not a
  // number in [0, max].
  std::optional<std::uint64_t> number(natsMsg* m, const char* key, std::uint64_t stream_seq, std::uint64_t max) const {
    const std::optional<std::string> text = header(m, key);
    if (!text) return std::nullopt;
    const std::optional<std::uint64_t> v = header_u64(m, key);
    if (!v || *v > max) throw bad_record(stream_seq, std::string("a malformed ") + key + " header '" + *text + "'");
    return v;
  }

  // Consumes the stream from the record after the one last applied; false if asked to
  // stop before the subscription was made.
  bool subscribe() {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream_.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = applied_ + 1;
    so.Config.Heartbeat = std::chrono::nanoseconds(std::chrono::seconds(1)).count();
    natsSubscription* raw = nullptr;
    const bool subscribed = retry_until(
        {kRole, "cannot consume stream '" + stream_ + "' yet", "cannot consume stream '" + stream_ + "'", o_.should_stop},
        [&](jsErrCode& code) { return js_SubscribeSync(&raw, js_.get(), subject_.c_str(), nullptr, &so, &code); });
    if (!subscribed) return false;
    sub_.reset(raw);
    natsSubscription_SetPendingLimits(raw, -1, -1);
    return true;
  }

  void apply(natsMsg* m) {
    jsMsgMetaData* raw_meta = nullptr;
    nats_check(natsMsg_GetMetaData(&raw_meta, m), "natsMsg_GetMetaData");
    NatsPtr<jsMsgMetaData> meta(raw_meta);
    const std::uint64_t stream_seq = meta->Sequence.Stream;
    if (stream_seq <= applied_) return;  // delivered again after a consumer reset
    source_.head = std::max(source_.head, stream_seq + meta->NumPending);

    check_source_ring(m, stream_seq);
    const std::optional<std::uint64_t> seq = number(m, kHdrSeq, stream_seq, kMaxSequence);
    if (!seq) {
      const auto first = number(m, kHdrGapFirst, stream_seq, kMaxSequence);
      const auto missed = number(m, kHdrGapMissed, stream_seq, kMaxSequence);
      if (!first || !missed) throw bad_record(stream_seq, std::string("neither a ") + kHdrSeq + " nor gap headers");
      if (*missed > kMaxSequence - *first)
        throw bad_record(stream_seq, "a gap past the last sequence (" + std::to_string(*missed) + " from " +
                                         std::to_string(*first) + ")");
      if (o_.verbose)
        log_line(kRole, "gap record: " + std::to_string(*missed) + " from " + std::to_string(*first));
      // Local readers see the gap now, not only with the next message.
      if (producer_ && *first + *missed > producer_->head()) {
        ++source_.gaps;
        source_.missed += *first + *missed - producer_->head();
        producer_->skip_to(*first + *missed);
      }
    } else {
      const std::uint32_t type = static_cast<std::uint32_t>(number(m, kHdrType, stream_seq, UINT32_MAX).value_or(0));
      const std::uint64_t ts = number(m, kHdrTs, stream_seq, UINT64_MAX - 1).value_or(kNow);
      if (!producer_) {
        Geometry g = source_geometry(m);
        if (o_.ring_bytes != 0) g.ring_bytes = o_.ring_bytes;
        if (o_.max_message != 0) g.max_message = o_.max_message;
        try {
          create(g);
        } catch (const Error& e) {
          if (e.code() != Errc::invalid_argument) throw;
          throw bad_record(stream_seq, "a source geometry no ring can have (" + std::string(e.reason()) + ")");
        }
      }
      const std::uint64_t head = producer_->head();
      if (*seq < head) {
        if (stale_++ == 0)
          log_line(kRole, "warning: stream sequence " + std::to_string(stream_seq) + " carries ring sequence " +
                              std::to_string(*seq) + ", below the ring's head " + std::to_string(head) + "; skipped");
      } else {
        if (*seq > head) {
          ++source_.gaps;
          source_.missed += *seq - head;
        }
        const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(m));
        const std::span<const std::byte> body(data, static_cast<std::size_t>(natsMsg_GetDataLength(m)));
        producer_->publish_at(*seq, body, type, ts);
      }
    }
    applied_ = stream_seq;
    if (producer_) {
      producer_->set_source_position(applied_);
      producer_->set_source_status(source_);
    }
  }

  const InOptions& o_;
  std::string stream_;
  std::string subject_;
  std::optional<Producer> producer_;
  NatsPtr<natsConnection> nc_;
  NatsPtr<jsCtx> js_;
  NatsPtr<natsSubscription> sub_;
  std::uint64_t applied_ = 0;  // last stream sequence applied (the ring's source_position)
  // The stream's last sequence as last known; jumps in the ring sequence written here, and
  // the sequences they skipped. Kept in the ring (set_source_status) across restarts.
  SourceStatus source_;
  std::uint64_t stale_ = 0;  // records below the ring's head (already applied)
  bool warned_no_epoch_ = false;
};

}  // namespace

void run_in(const InOptions& options) {
  validate_stream_name(options.stream.empty() ? default_stream_for(options.ring) : options.stream);
  validate_nats_urls(options.url);
  Applier applier(options);
  applier.run();
}

}  // namespace shmcast::bridge
