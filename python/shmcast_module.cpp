// The `shmcast` Python module: a thin pybind11 binding of the public C++ API
// (include/shmcast/*.hpp) as it is today. It adds only what Python needs on top:
//
//  - memory safety: no Python object may reach bytes that can go away. Events carry
//    `bytes` copies; a Claim's writable memoryview is counted (the Claim is its buffer
//    exporter) and the claim commits or aborts only once every view of it is released,
//    so a view can never write into a slot that is no longer its own.
//  - waits with the GIL released, in slices of at most kWaitSlice, with a signal check
//    between slices, so other threads run and Ctrl-C interrupts a blocked read.
//  - poll_into(): a batch read that copies payloads into a caller's buffer with the
//    GIL released, so Python pays per batch rather than per message.
//
// A Reader or Producer is used by one thread at a time (as in C++). While a read waits
// with the GIL released, any other call on that reader raises instead of racing it.
//
// When the layout gains in-place reads, rebind try_read/poll_into on them: the Python
// surface (events with bytes, poll_into filling a caller buffer) need not change.
#include <shmcast/shmcast.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;
using namespace std::chrono_literals;

namespace {

constexpr auto kWaitSlice = std::chrono::milliseconds(100);

// ---- errors -------------------------------------------------------------------------

// shmcast.Error and its subclasses, created at import (see make_errors).
struct Errors {
  py::object base;
  py::object by_code[32];
};
Errors* g_errors = nullptr;

const shmcast::Errc kAllCodes[] = {
    shmcast::Errc::invalid_argument, shmcast::Errc::not_found,         shmcast::Errc::already_exists,
    shmcast::Errc::not_ready,        shmcast::Errc::foreign,           shmcast::Errc::version_mismatch,
    shmcast::Errc::truncated,        shmcast::Errc::corrupt,           shmcast::Errc::geometry_mismatch,
    shmcast::Errc::producer_active,  shmcast::Errc::permission_denied, shmcast::Errc::no_space,
    shmcast::Errc::message_too_large, shmcast::Errc::replaced,         shmcast::Errc::system,
    shmcast::Errc::no_snapshot_area, shmcast::Errc::abandoned,
};

std::string class_name_for(shmcast::Errc code) {
  // not_found -> NotFoundError; `system` would shadow Python's builtin SystemError.
  if (code == shmcast::Errc::system) return "SystemCallError";
  std::string out;
  bool upper = true;
  for (const char* p = shmcast::to_string(code); *p; ++p) {
    if (*p == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(*p))) : *p;
    upper = false;
  }
  return out + "Error";
}

void make_errors(py::module_& m) {
  g_errors = new Errors();  // lives as long as the interpreter: exception classes are module globals
  py::dict ns;
  ns["__doc__"] = "A shmcast library error. `.code` is the library's Errc name ('not_found', ...), "
                  "`.ring` the ring it concerns ('' if none), `.reason` the reason in words.";
  ns["code"] = py::str("system");
  ns["ring"] = py::str("");
  ns["reason"] = py::str("");
  PyObject* base = PyErr_NewException("shmcast.Error", PyExc_Exception, ns.ptr());
  if (base == nullptr) throw py::error_already_set();
  g_errors->base = py::reinterpret_steal<py::object>(base);
  m.attr("Error") = g_errors->base;
  for (shmcast::Errc code : kAllCodes) {
    py::tuple bases;
    switch (code) {
      case shmcast::Errc::not_found: bases = py::make_tuple(g_errors->base, py::handle(PyExc_FileNotFoundError)); break;
      case shmcast::Errc::permission_denied:
        bases = py::make_tuple(g_errors->base, py::handle(PyExc_PermissionError));
        break;
      case shmcast::Errc::already_exists:
        bases = py::make_tuple(g_errors->base, py::handle(PyExc_FileExistsError));
        break;
      case shmcast::Errc::invalid_argument:
      case shmcast::Errc::message_too_large:
        bases = py::make_tuple(g_errors->base, py::handle(PyExc_ValueError));
        break;
      default: bases = py::make_tuple(g_errors->base); break;
    }
    const std::string cls = class_name_for(code);
    py::dict cns;
    cns["__doc__"] = std::string("shmcast.Error with code '") + shmcast::to_string(code) + "'.";
    PyObject* sub = PyErr_NewException(("shmcast." + cls).c_str(), bases.ptr(), cns.ptr());
    if (sub == nullptr) throw py::error_already_set();
    g_errors->by_code[static_cast<int>(code)] = py::reinterpret_steal<py::object>(sub);
    m.attr(cls.c_str()) = g_errors->by_code[static_cast<int>(code)];
  }
}

void raise_error(const shmcast::Error& e) {
  py::object cls = g_errors->by_code[static_cast<int>(e.code())];
  if (!cls) cls = g_errors->base;
  // OSError subclasses would read (errno, strerror) from two args: give one, the text.
  py::object exc = cls(py::str(e.what()));
  exc.attr("code") = py::str(shmcast::to_string(e.code()));
  exc.attr("ring") = py::str(e.ring());
  exc.attr("reason") = py::str(e.reason());
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

// ---- buffers ------------------------------------------------------------------------

// A contiguous buffer held for the scope (read-only or writable).
class HeldBuffer {
 public:
  HeldBuffer(py::handle obj, bool writable) {
    if (PyObject_GetBuffer(obj.ptr(), &view_, writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) != 0) {
      throw py::error_already_set();
    }
  }
  ~HeldBuffer() { PyBuffer_Release(&view_); }
  HeldBuffer(const HeldBuffer&) = delete;
  HeldBuffer& operator=(const HeldBuffer&) = delete;
  std::span<const std::byte> bytes() const {
    return {static_cast<const std::byte*>(view_.buf), static_cast<std::size_t>(view_.len)};
  }
  std::byte* data() const { return static_cast<std::byte*>(view_.buf); }
  std::size_t size() const { return static_cast<std::size_t>(view_.len); }

 private:
  Py_buffer view_{};
};

std::uint64_t timestamp_arg(const std::optional<std::uint64_t>& ts) { return ts ? *ts : shmcast::kNow; }

py::bytes to_bytes(std::span<const std::byte> b) {
  return py::reinterpret_steal<py::bytes>(
      PyBytes_FromStringAndSize(reinterpret_cast<const char*>(b.data()), static_cast<Py_ssize_t>(b.size())));
}

// ---- events -------------------------------------------------------------------------

struct PyMessage {
  std::uint64_t seq;
  std::uint32_t type;
  std::uint64_t timestamp_ns;
  py::bytes data;
};
struct PyGap {
  std::uint64_t first;
  std::uint64_t missed;
};
struct PySnapshot {
  std::uint64_t as_of;
  py::bytes data;
};

py::object to_event(const shmcast::ReadResult& r) {
  switch (r.status) {
    case shmcast::ReadStatus::empty: return py::none();
    case shmcast::ReadStatus::message:
      return py::cast(PyMessage{r.message.seq, r.message.type, r.message.timestamp_ns, to_bytes(r.message.payload)});
    case shmcast::ReadStatus::gap: return py::cast(PyGap{r.gap.first, r.gap.missed});
    case shmcast::ReadStatus::snapshot: return py::cast(PySnapshot{r.snapshot.as_of, to_bytes(r.snapshot.data)});
  }
  return py::none();
}

// ---- options ------------------------------------------------------------------------

template <class E>
E enum_arg(const py::object& value, const char* what, std::initializer_list<std::pair<const char*, E>> names) {
  if (py::isinstance<py::str>(value)) {
    const std::string s = value.cast<std::string>();
    for (const auto& [name, e] : names) {
      if (s == name) return e;
    }
    std::string known;
    for (const auto& [name, e] : names) known += (known.empty() ? "" : ", ") + std::string(name);
    throw shmcast::Error(shmcast::Errc::invalid_argument, std::string(what) + ": '" + s + "' is not one of " + known);
  }
  return value.cast<E>();
}

std::chrono::milliseconds seconds_arg(double s, const char* what) {
  if (!(s >= 0)) throw shmcast::Error(shmcast::Errc::invalid_argument, std::string(what) + " must be >= 0 seconds");
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000.0 + 0.5));
}

shmcast::Geometry geometry_arg(std::uint64_t slot_count, std::uint32_t slot_size, std::uint64_t snapshot_capacity) {
  return shmcast::Geometry{slot_count, slot_size, snapshot_capacity};
}

shmcast::CreateOptions create_options_arg(unsigned mode, bool replace, std::optional<unsigned> registry_mode,
                                          std::uint32_t max_readers) {
  shmcast::CreateOptions o;
  o.mode = mode;
  o.replace = replace;
  o.registry_mode = registry_mode;
  o.max_readers = max_readers;
  return o;
}

// ---- producer -----------------------------------------------------------------------

struct PyClaim;

struct PyProducer {
  std::optional<shmcast::Producer> p;
  PyClaim* open_claim = nullptr;  // the claim not yet committed or aborted (borrowed: it owns a ref to us)

  shmcast::Producer& get() {
    if (!p) throw py::value_error("the producer is closed");
    return *p;
  }
  shmcast::Producer& get_for_publish() {
    if (open_claim != nullptr) {
      throw py::value_error("a claim is open: commit or abort it before publishing anything else");
    }
    return get();
  }
};

// The Claim is the exporter of its slot's bytes: every memoryview of it is counted, and
// commit/abort refuse (BufferError) while one is alive, so no view outlives the claim.
struct PyClaim {
  py::object owner;  // the Producer: keeps the mapping alive as long as the claim
  PyProducer* producer = nullptr;
  std::optional<shmcast::Producer::Claim> claim;
  std::uint64_t seq = 0;
  std::size_t size = 0;
  Py_ssize_t exports = 0;
  py::object view_ref;  // weakref to the memoryview handed out by __enter__/view

  bool is_open() const { return claim.has_value(); }
  void check_open() const {
    if (!claim) throw py::value_error("the claim was already committed or aborted");
  }

  py::object view(py::handle self) {
    check_open();
    if (view_ref) {
      py::object mv = view_ref();
      if (!mv.is_none()) return mv;
    }
    py::object mv = py::reinterpret_steal<py::object>(PyMemoryView_FromObject(self.ptr()));
    if (!mv) throw py::error_already_set();
    view_ref = py::reinterpret_steal<py::object>(PyWeakref_NewRef(mv.ptr(), nullptr));
    if (!view_ref) throw py::error_already_set();
    return mv;
  }

  // Releases the memoryview this claim handed out; raises BufferError if any view remains.
  void release_views() {
    if (view_ref) {
      py::object mv = view_ref();
      view_ref = py::object();
      if (!mv.is_none()) mv.attr("release")();  // BufferError if something was made from it
    }
    if (exports > 0) {
      PyErr_Format(PyExc_BufferError,
                   "%zd view(s) of the claimed slot are still alive: release them (del, or "
                   "memoryview.release()) before the claim commits or aborts",
                   exports);
      throw py::error_already_set();
    }
  }

  void finish() {
    claim.reset();
    if (producer && producer->open_claim == this) producer->open_claim = nullptr;
  }

  std::uint64_t commit(std::optional<std::size_t> length) {
    check_open();
    const std::size_t n = length ? *length : size;
    if (n > size) throw py::value_error("commit length " + std::to_string(n) + " exceeds the claim's " + std::to_string(size));
    release_views();
    const std::uint64_t s = claim->commit(n);
    finish();
    return s;
  }

  void abort() {
    if (!claim) return;
    release_views();
    finish();  // the C++ Claim's destructor abandons the slot: no trace for readers
  }

  ~PyClaim() {
    // No view can be alive here (each holds a reference to this claim).
    if (claim) finish();
  }
};

int claim_getbuffer(PyObject* obj, Py_buffer* view, int flags) {
  PyClaim* c = nullptr;
  try {
    c = py::cast<PyClaim*>(py::handle(obj));
  } catch (...) {
    PyErr_SetString(PyExc_BufferError, "not a claim");
    view->obj = nullptr;
    return -1;
  }
  if (c == nullptr || !c->is_open()) {
    PyErr_SetString(PyExc_ValueError, "the claim was already committed or aborted");
    view->obj = nullptr;
    return -1;
  }
  if (PyBuffer_FillInfo(view, obj, c->claim->data(), static_cast<Py_ssize_t>(c->size), 0, flags) != 0) return -1;
  ++c->exports;
  return 0;
}

void claim_releasebuffer(PyObject* obj, Py_buffer*) {
  try {
    if (PyClaim* c = py::cast<PyClaim*>(py::handle(obj))) --c->exports;
  } catch (...) {
  }
}

// ---- reader -------------------------------------------------------------------------

// One record of a poll_into() batch (numpy structured dtype).
struct Record {
  std::uint64_t offset;
  std::uint32_t length;
  std::uint32_t type;
  std::uint64_t seq;
  std::uint64_t timestamp_ns;
};

// numpy is needed by poll_into only: `import shmcast` works without it.
void register_record_dtype() {
  static bool done = false;
  if (done) return;
  PYBIND11_NUMPY_DTYPE(Record, offset, length, type, seq, timestamp_ns);
  done = true;
}

struct PyBatch {
  std::size_t count = 0;
  py::object records = py::none();  // numpy structured array of Record (numpy is imported on first use)
  py::object gap = py::none();
  py::object snapshot = py::none();
  std::size_t used = 0;  // bytes of the buffer used (the end of the last payload)
};

struct PyReader {
  std::optional<shmcast::Reader> r;
  bool busy = false;  // a wait holds the reader with the GIL released
  std::vector<Record> scratch;

  shmcast::Reader& get() {
    if (busy) throw py::value_error("the reader is in use by another thread (a read is waiting)");
    if (!r) throw py::value_error("the reader is closed");
    return *r;
  }

  // Runs f(reader) with the GIL released; the reader is marked busy meanwhile.
  template <class F>
  auto without_gil(F&& f) {
    shmcast::Reader& reader = get();
    busy = true;
    struct Unbusy {
      bool& b;
      ~Unbusy() { b = false; }
    } unbusy{busy};
    py::gil_scoped_release release;
    return f(reader);
  }

  // Waits up to `timeout` seconds (None: forever) in slices, checking for signals.
  shmcast::ReadResult wait_read(std::optional<double> timeout) {
    shmcast::Reader& reader = get();
    shmcast::ReadResult res = reader.try_read();
    if (res || (timeout && *timeout <= 0)) return res;
    const auto deadline = timeout ? std::chrono::steady_clock::now() +
                                        std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::duration<double>(*timeout))
                                  : std::chrono::steady_clock::time_point::max();
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return res;
      const std::chrono::nanoseconds slice =
          std::min<std::chrono::nanoseconds>(kWaitSlice, deadline - now);
      res = without_gil([&](shmcast::Reader& rd) { return rd.read(slice); });
      if (res) return res;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
  }

  PyBatch poll_into(py::handle buffer, std::optional<std::size_t> max_messages, std::optional<double> timeout) {
    register_record_dtype();  // before reading: a missing numpy must not lose a batch
    shmcast::Reader& reader = get();
    HeldBuffer buf(buffer, true);
    const std::size_t cap = reader.geometry().payload_capacity();
    if (buf.size() < cap) {
      throw shmcast::Error(shmcast::Errc::invalid_argument,
                           "poll_into: the buffer (" + std::to_string(buf.size()) +
                               " bytes) must hold at least one message of the ring's largest size (" +
                               std::to_string(cap) + " bytes)");
    }
    const std::size_t limit = max_messages ? *max_messages : buf.size() / 8 + 1;
    PyBatch batch;
    shmcast::ReadResult stop;  // the gap or snapshot that ended the batch
    std::size_t used = 0;
    std::vector<Record>& recs = scratch;
    recs.clear();
    if (limit > 0) {
      shmcast::ReadResult first = wait_read(timeout ? timeout : std::optional<double>(0.0));
      // The first event's payload is in the reader's buffer until its next call: copy it
      // before the loop reads on.
      auto take = [&](const shmcast::ReadResult& e) -> bool {
        if (e.status != shmcast::ReadStatus::message) {
          stop = e;
          return false;
        }
        const std::size_t n = e.message.payload.size();
        std::memcpy(buf.data() + used, e.message.payload.data(), n);
        recs.push_back(Record{used, static_cast<std::uint32_t>(n), e.message.type, e.message.seq, e.message.timestamp_ns});
        used = (used + n + 7) & ~std::size_t{7};
        return true;
      };
      if (first && take(first)) {
        // Snapshots are larger than a slot: they end the batch (copied below, with the GIL).
        without_gil([&](shmcast::Reader& rd) {
          while (recs.size() < limit && buf.size() - std::min(used, buf.size()) >= cap) {
            shmcast::ReadResult e = rd.try_read();
            if (!e || !take(e)) break;
          }
          return 0;
        });
      }
    }
    batch.count = recs.size();
    batch.used = std::min(used, buf.size());
    py::array_t<Record> records(static_cast<py::ssize_t>(recs.size()));
    if (!recs.empty()) std::memcpy(records.mutable_data(), recs.data(), recs.size() * sizeof(Record));
    batch.records = std::move(records);
    if (stop.status == shmcast::ReadStatus::gap) batch.gap = to_event(stop);
    if (stop.status == shmcast::ReadStatus::snapshot) batch.snapshot = to_event(stop);
    return batch;
  }
};

py::object record_field(const PyBatch& b, const char* name) { return b.records[py::str(name)]; }


}  // namespace

PYBIND11_MODULE(shmcast, m) {
  m.doc() =
      "shmcast: a lock-free shared-memory broadcast ring (one producer, many reader processes).\n\n"
      "Producer publishes into a ring; Reader follows it at its own pace and reports every loss as a Gap,\n"
      "so that for each reader delivered + missed == position - start. Reader.poll_into() reads a batch\n"
      "of messages into a caller's buffer with the GIL released.";
  m.attr("__version__") = "0.1.0";
  m.attr("SLOT_HEADER_BYTES") = shmcast::kSlotHeaderBytes;
  m.attr("DEFAULT_MAX_READERS") = shmcast::kDefaultMaxReaders;

  make_errors(m);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const shmcast::Error& e) {
      raise_error(e);
    }
  });

  py::enum_<shmcast::StartAt>(m, "StartAt", "Where a Reader starts (strings 'latest', 'oldest', 'sequence', 'snapshot' work too).")
      .value("latest", shmcast::StartAt::latest, "Only messages published after attaching.")
      .value("oldest", shmcast::StartAt::oldest, "The oldest message still safely held.")
      .value("sequence", shmcast::StartAt::sequence, "start_seq (a gap first if it is no longer held).")
      .value("snapshot", shmcast::StartAt::snapshot, "The newest snapshot, then the messages after it.");
  py::enum_<shmcast::GapPolicy>(m, "GapPolicy", "Where a Reader continues after a gap (or 'oldest', 'latest', 'snapshot').")
      .value("oldest", shmcast::GapPolicy::oldest)
      .value("latest", shmcast::GapPolicy::latest)
      .value("snapshot", shmcast::GapPolicy::snapshot);
  py::enum_<shmcast::WaitStrategy>(m, "WaitStrategy", "How a Reader waits (or 'block', 'spin', 'spin_yield').")
      .value("block", shmcast::WaitStrategy::block)
      .value("spin", shmcast::WaitStrategy::spin)
      .value("spin_yield", shmcast::WaitStrategy::spin_yield);

  py::class_<shmcast::Geometry>(m, "Geometry", "The shape of a ring, fixed at creation.")
      .def_readonly("slot_count", &shmcast::Geometry::slot_count)
      .def_readonly("slot_size", &shmcast::Geometry::slot_size)
      .def_readonly("snapshot_capacity", &shmcast::Geometry::snapshot_capacity)
      .def_property_readonly("payload_capacity", &shmcast::Geometry::payload_capacity,
                             "The largest message, in bytes: slot_size - SLOT_HEADER_BYTES.")
      .def("__eq__", [](const shmcast::Geometry& a, const shmcast::Geometry& b) { return a == b; })
      .def("__repr__", [](const shmcast::Geometry& g) {
        return "Geometry(slot_count=" + std::to_string(g.slot_count) + ", slot_size=" + std::to_string(g.slot_size) +
               ", snapshot_capacity=" + std::to_string(g.snapshot_capacity) + ")";
      });
  m.def("slot_size_for", &shmcast::slot_size_for, py::arg("payload_bytes"),
        "The smallest slot size whose payload holds payload_bytes.");
  m.def("now_ns", &shmcast::now_ns, "The library's clock (what timestamp_ns defaults to), in nanoseconds.");

  py::class_<PyMessage>(m, "Message", "A delivered message; data is a copy of its payload.")
      .def_readonly("seq", &PyMessage::seq)
      .def_readonly("type", &PyMessage::type)
      .def_readonly("timestamp_ns", &PyMessage::timestamp_ns)
      .def_readonly("data", &PyMessage::data)
      .def("__repr__", [](const PyMessage& e) {
        return "Message(seq=" + std::to_string(e.seq) + ", type=" + std::to_string(e.type) +
               ", timestamp_ns=" + std::to_string(e.timestamp_ns) + ", data=" + py::repr(e.data).cast<std::string>() + ")";
      });
  py::class_<PyGap>(m, "Gap", "Messages [first, first + missed) will never be delivered to this reader.")
      .def_readonly("first", &PyGap::first)
      .def_readonly("missed", &PyGap::missed)
      .def("__repr__", [](const PyGap& g) {
        return "Gap(first=" + std::to_string(g.first) + ", missed=" + std::to_string(g.missed) + ")";
      });
  py::class_<PySnapshot>(m, "Snapshot", "The producer's state as of sequence as_of; the reader continues there.")
      .def_readonly("as_of", &PySnapshot::as_of)
      .def_readonly("data", &PySnapshot::data)
      .def("__repr__", [](const PySnapshot& s) {
        return "Snapshot(as_of=" + std::to_string(s.as_of) + ", data=<" + std::to_string(py::len(s.data)) + " bytes>)";
      });

  py::class_<PyBatch>(m, "Batch",
                      "What Reader.poll_into() read: `count` messages whose payloads lie in the caller's buffer at\n"
                      "offsets[i] (8-byte aligned), lengths[i] bytes long; `gap` or `snapshot` if one ended the batch.")
      .def_readonly("count", &PyBatch::count)
      .def_readonly("records", &PyBatch::records,
                    "Structured numpy array: offset, length, type, seq, timestamp_ns per message.")
      .def_readonly("gap", &PyBatch::gap, "The Gap that ended the batch (after its messages), or None.")
      .def_readonly("snapshot", &PyBatch::snapshot, "The Snapshot that ended the batch, or None.")
      .def_readonly("used", &PyBatch::used, "Bytes of the buffer used.")
      .def_property_readonly("offsets", [](const PyBatch& b) { return record_field(b, "offset"); })
      .def_property_readonly("lengths", [](const PyBatch& b) { return record_field(b, "length"); })
      .def_property_readonly("types", [](const PyBatch& b) { return record_field(b, "type"); })
      .def_property_readonly("seqs", [](const PyBatch& b) { return record_field(b, "seq"); })
      .def_property_readonly("timestamps", [](const PyBatch& b) { return record_field(b, "timestamp_ns"); })
      .def("__len__", [](const PyBatch& b) { return b.count; })
      .def("__repr__", [](const PyBatch& b) {
        return "Batch(count=" + std::to_string(b.count) + ", gap=" + py::repr(b.gap).cast<std::string>() +
               ", snapshot=" + std::string(b.snapshot.is_none() ? "None" : "<Snapshot>") + ")";
      });

  // --- Claim ---
  py::class_<PyClaim> claim_cls(m, "Claim", py::buffer_protocol(),
                                "A slot claimed for zero-copy publishing (Producer.claim). As a context manager it\n"
                                "gives a writable memoryview of the payload and commits on exit (aborts on an\n"
                                "exception). Every view of it must be released before it commits or aborts\n"
                                "(BufferError otherwise); after that any use raises.");
  {
    auto* type = reinterpret_cast<PyTypeObject*>(claim_cls.ptr());
    type->tp_as_buffer->bf_getbuffer = claim_getbuffer;
    type->tp_as_buffer->bf_releasebuffer = claim_releasebuffer;
  }
  claim_cls
      .def_property_readonly("seq", [](const PyClaim& c) { return c.seq; }, "The sequence the message will have.")
      .def_property_readonly("size", [](const PyClaim& c) { return c.size; })
      .def_property_readonly("open", &PyClaim::is_open, "True until commit() or abort().")
      .def_property_readonly("view", [](py::object self) { return self.cast<PyClaim&>().view(self); },
                             "The writable memoryview of the claimed payload (one per claim).")
      .def("__len__", [](const PyClaim& c) { return c.size; })
      .def(
          "write",
          [](PyClaim& c, py::handle data, std::size_t offset) {
            c.check_open();
            HeldBuffer b(data, false);
            if (offset > c.size || b.size() > c.size - offset) throw py::value_error("write past the end of the claim");
            c.claim->write(offset, b.bytes());
          },
          py::arg("data"), py::arg("offset") = 0, "Copies data into the payload at offset (atomic words).")
      .def("commit", &PyClaim::commit, py::arg("length") = py::none(),
           "Commits the first `length` bytes (default: all) and returns the sequence.")
      .def("abort", &PyClaim::abort, "Abandons the claim: readers never see it.")
      .def("__enter__", [](py::object self) { return self.cast<PyClaim&>().view(self); })
      .def("__exit__", [](PyClaim& c, py::handle exc_type, py::handle, py::handle) {
        if (!c.is_open()) return false;  // committed inside the block
        if (exc_type.is_none()) {
          c.commit(std::nullopt);
        } else {
          c.abort();
        }
        return false;
      });

  // --- Producer ---
  py::class_<PyProducer>(m, "Producer",
                         "The one writer of a ring. Use Producer.create / open / open_or_create; close() (or\n"
                         "`with`) gives the ring up for another producer.")
      .def_static(
          "create",
          [](const std::string& name, std::uint64_t slot_count, std::uint32_t slot_size, std::uint64_t snapshot_capacity,
             unsigned mode, bool replace, std::optional<unsigned> registry_mode, std::uint32_t max_readers) {
            auto geometry = geometry_arg(slot_count, slot_size, snapshot_capacity);
            auto options = create_options_arg(mode, replace, registry_mode, max_readers);
            PyProducer out;
            py::gil_scoped_release release;
            out.p.emplace(shmcast::Producer::create(name, geometry, options));
            return out;
          },
          py::arg("name"), py::kw_only(), py::arg("slot_count") = 4096, py::arg("slot_size") = 256,
          py::arg("snapshot_capacity") = 0, py::arg("mode") = 0600, py::arg("replace") = false,
          py::arg("registry_mode") = py::none(), py::arg("max_readers") = shmcast::kDefaultMaxReaders,
          "Creates a new ring (AlreadyExistsError if the name is taken, unless replace=True).")
      .def_static(
          "open",
          [](const std::string& name) {
            PyProducer out;
            py::gil_scoped_release release;
            out.p.emplace(shmcast::Producer::open(name));
            return out;
          },
          py::arg("name"), "Takes over an existing ring at its head.")
      .def_static(
          "open_or_create",
          [](const std::string& name, std::uint64_t slot_count, std::uint32_t slot_size, std::uint64_t snapshot_capacity,
             unsigned mode, bool replace, std::optional<unsigned> registry_mode, std::uint32_t max_readers,
             bool use_as_is) {
            auto geometry = geometry_arg(slot_count, slot_size, snapshot_capacity);
            auto options = create_options_arg(mode, replace, registry_mode, max_readers);
            PyProducer out;
            py::gil_scoped_release release;
            out.p.emplace(shmcast::Producer::open_or_create(
                name, geometry, options, use_as_is ? shmcast::ExistingRing::use_as_is : shmcast::ExistingRing::must_match));
            return out;
          },
          py::arg("name"), py::kw_only(), py::arg("slot_count") = 4096, py::arg("slot_size") = 256,
          py::arg("snapshot_capacity") = 0, py::arg("mode") = 0600, py::arg("replace") = false,
          py::arg("registry_mode") = py::none(), py::arg("max_readers") = shmcast::kDefaultMaxReaders,
          py::arg("use_as_is") = false,
          "Takes the ring over if it exists (its geometry must match unless use_as_is), else creates it.")
      .def_static("remove", [](const std::string& name) { return shmcast::Producer::remove(name); }, py::arg("name"),
                  "Removes a ring and its registry; False if absent.")
      .def(
          "publish",
          [](PyProducer& self, py::handle data, std::uint32_t type, std::optional<std::uint64_t> timestamp_ns) {
            shmcast::Producer& p = self.get_for_publish();
            HeldBuffer b(data, false);
            return p.publish(b.bytes(), type, timestamp_arg(timestamp_ns));
          },
          py::arg("data"), py::arg("type") = 0, py::arg("timestamp_ns") = py::none(),
          "Publishes one message (any contiguous buffer) and returns its sequence. MessageTooLargeError\n"
          "(a ValueError) if it exceeds payload_capacity; nothing is written then.")
      .def(
          "claim",
          [](py::object self_obj, std::size_t size, std::uint32_t type, std::optional<std::uint64_t> timestamp_ns) {
            PyProducer& self = self_obj.cast<PyProducer&>();
            shmcast::Producer& p = self.get_for_publish();
            auto c = std::make_unique<PyClaim>();
            c->claim.emplace(p.claim(size, type, timestamp_arg(timestamp_ns)));
            c->seq = c->claim->seq();
            c->size = size;
            c->owner = self_obj;
            c->producer = &self;
            self.open_claim = c.get();
            return c;
          },
          py::arg("size"), py::arg("type") = 0, py::arg("timestamp_ns") = py::none(),
          "Claims a slot for `size` bytes to fill in place: `with producer.claim(n) as mv: mv[:] = ...`.")
      .def(
          "publish_snapshot",
          [](PyProducer& self, py::handle data) {
            shmcast::Producer& p = self.get_for_publish();
            HeldBuffer b(data, false);
            p.publish_snapshot(b.bytes());
          },
          py::arg("data"), "Stores a snapshot of the producer's state as of head.")
      .def_property_readonly("head", [](PyProducer& s) { return s.get().head(); }, "The next sequence to publish.")
      .def_property_readonly("reader_count", [](PyProducer& s) { return s.get().reader_count(); },
                             "Live registered readers (one registry scan).")
      .def_property_readonly("payload_capacity", [](PyProducer& s) { return s.get().payload_capacity(); })
      .def_property_readonly("geometry", [](PyProducer& s) { return s.get().geometry(); })
      .def_property_readonly("name", [](PyProducer& s) { return s.get().name(); })
      .def_property_readonly("ring_id", [](PyProducer& s) { return s.get().ring_id(); })
      .def_property_readonly("wakeups", [](PyProducer& s) { return s.get().wakeups(); })
      .def_property_readonly("closed", [](PyProducer& s) { return !s.p.has_value(); })
      .def(
          "close",
          [](PyProducer& s) {
            if (s.open_claim != nullptr) throw py::value_error("a claim is open: commit or abort it before closing");
            s.p.reset();
          },
          "Gives the ring up (it stays for readers). Any later use raises.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyProducer& s, py::handle, py::handle, py::handle) {
        if (s.open_claim == nullptr) s.p.reset();
        return false;
      });

  // --- Reader ---
  py::class_<PyReader>(m, "Reader",
                       "One reader of a ring. Events are Message, Gap and Snapshot objects; `for ev in reader`\n"
                       "blocks for each. delivered + missed == position - start (seeks aside).")
      .def(py::init([](const std::string& name, py::object start, std::uint64_t start_seq, py::object on_gap,
                       py::object wait, bool register_reader, const std::string& label, double attach_timeout,
                       bool wait_for_ring) {
             shmcast::ReaderOptions o;
             o.start = enum_arg<shmcast::StartAt>(start, "start",
                                                  {{"latest", shmcast::StartAt::latest},
                                                   {"oldest", shmcast::StartAt::oldest},
                                                   {"sequence", shmcast::StartAt::sequence},
                                                   {"snapshot", shmcast::StartAt::snapshot}});
             o.start_seq = start_seq;
             o.on_gap = enum_arg<shmcast::GapPolicy>(on_gap, "on_gap",
                                                     {{"oldest", shmcast::GapPolicy::oldest},
                                                      {"latest", shmcast::GapPolicy::latest},
                                                      {"snapshot", shmcast::GapPolicy::snapshot}});
             o.wait = enum_arg<shmcast::WaitStrategy>(wait, "wait",
                                                      {{"block", shmcast::WaitStrategy::block},
                                                       {"spin", shmcast::WaitStrategy::spin},
                                                       {"spin_yield", shmcast::WaitStrategy::spin_yield}});
             o.register_reader = register_reader;
             o.label = label;
             o.attach_timeout = seconds_arg(attach_timeout, "attach_timeout");
             o.wait_for_ring = wait_for_ring;
             auto out = std::make_unique<PyReader>();
             py::gil_scoped_release release;
             out->r.emplace(name, o);
             return out;
           }),
           py::arg("name"), py::kw_only(), py::arg("start") = "latest", py::arg("start_seq") = 0,
           py::arg("on_gap") = "oldest", py::arg("wait") = "block", py::arg("register") = true, py::arg("label") = "",
           py::arg("attach_timeout") = 2.0, py::arg("wait_for_ring") = false,
           "Attaches to ring `name`. start/on_gap/wait take the enums or their names.")
      .def("try_read", [](PyReader& s) { return to_event(s.get().try_read()); },
           "The next event (Message, Gap or Snapshot), or None if nothing is new. Never blocks.")
      .def(
          "read", [](PyReader& s, std::optional<double> timeout) { return to_event(s.wait_read(timeout)); },
          py::arg("timeout") = py::none(),
          "Waits up to `timeout` seconds (None: forever) for the next event; None on timeout. The GIL is\n"
          "released while waiting; signals (Ctrl-C) are handled within 100 ms.")
      .def("poll_into", &PyReader::poll_into, py::arg("buffer"), py::arg("max_messages") = py::none(),
           py::arg("timeout") = 0.0,
           "Reads up to max_messages messages into `buffer` (a writable bytes-like object, at least one\n"
           "payload_capacity long), payloads back to back at 8-byte aligned offsets, with the GIL released.\n"
           "Waits up to `timeout` seconds (None: forever) for the first event. A gap or snapshot ends the batch\n"
           "(after its messages) and is returned in Batch.gap / Batch.snapshot. Returns a Batch.")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", [](PyReader& s) {
        if (!s.r && !s.busy) throw py::stop_iteration();
        return to_event(s.wait_read(std::nullopt));
      })
      .def("seek", [](PyReader& s, std::uint64_t seq) { return s.get().seek(seq); }, py::arg("seq"),
           "Resumes at seq; True if it is held now.")
      .def_property_readonly("position", [](PyReader& s) { return s.get().position(); })
      .def_property_readonly("start", [](PyReader& s) { return s.get().start(); })
      .def_property_readonly("delivered", [](PyReader& s) { return s.get().delivered(); })
      .def_property_readonly("gaps", [](PyReader& s) { return s.get().gaps(); })
      .def_property_readonly("missed", [](PyReader& s) { return s.get().missed(); })
      .def_property_readonly("snapshots", [](PyReader& s) { return s.get().snapshots(); })
      .def_property_readonly("head", [](PyReader& s) { return s.get().head(); })
      .def_property_readonly("oldest", [](PyReader& s) { return s.get().oldest(); })
      .def_property_readonly("producer_alive", [](PyReader& s) { return s.get().producer_alive(); })
      .def_property_readonly("producer_pid", [](PyReader& s) { return s.get().producer_pid(); })
      .def_property_readonly("replaced", [](PyReader& s) { return s.get().replaced(); })
      .def_property_readonly("registered", [](PyReader& s) { return s.get().registered(); })
      .def_property_readonly("registration_error", [](PyReader& s) { return s.get().registration_error(); })
      .def_property_readonly("geometry", [](PyReader& s) { return s.get().geometry(); })
      .def_property_readonly("name", [](PyReader& s) { return s.get().name(); })
      .def_property_readonly("ring_id", [](PyReader& s) { return s.get().ring_id(); })
      .def_property_readonly("closed", [](PyReader& s) { return !s.r.has_value(); })
      .def(
          "reattach",
          [](PyReader& s, double initial, double cap, double give_up) {
            shmcast::Backoff b{seconds_arg(initial, "initial"), seconds_arg(cap, "cap"), seconds_arg(give_up, "give_up")};
            bool interrupted = false;
            const bool ok = s.without_gil([&](shmcast::Reader& rd) {
              return rd.reattach(b, [&] {
                py::gil_scoped_acquire gil;
                if (PyErr_CheckSignals() != 0) {
                  interrupted = true;  // the error stays set: raised below
                  return true;
                }
                return false;
              });
            });
            if (interrupted) throw py::error_already_set();
            return ok;
          },
          py::arg("initial") = 0.01, py::arg("cap") = 1.0, py::arg("give_up") = 0.0,
          "After `replaced`: waits with backoff (seconds; give_up=0: forever) for a ring under the name again\n"
          "and re-attaches to it at its oldest message. False if it gave up.")
      .def(
          "close", [](PyReader& s) {
            if (s.busy) throw py::value_error("the reader is in use by another thread (a read is waiting)");
            s.r.reset();
          },
          "Detaches. Any later use raises ValueError.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyReader& s, py::handle, py::handle, py::handle) {
        if (!s.busy) s.r.reset();
        return false;
      });
}
