// The `shmcast` Python module: a thin pybind11 binding of the public C++ API
// (include/shmcast/*.hpp), layout version 3: rings sized in bytes, messages of any size
// up to max_message, and reads in place (Reader::peek / confirm). It adds only what
// Python needs on top:
//
//  - memory safety: no Python object may reach bytes that can go away or that the
//    library no longer vouches for.
//      * Events (try_read, read, iteration) carry `bytes` copies.
//      * A Claim's writable memoryview is counted (the Claim is its buffer exporter) and the
//        claim commits or aborts only once every view of it is released, so a view can
//        never write into room that is no longer its own.
//      * Reads in place (Reader.peek) hand out MessageView objects, never raw pointers.
//        Each view belongs to one reader "generation": every call that moves the reader
//        (a read, peek, poll_into, seek, confirm, the batch's end, reattach, close) starts
//        a new one, and a view of an older generation raises on every use. Its methods
//        (tobytes, into, [i], len) check that on each call. A view can also export its
//        bytes through the buffer protocol (memoryview(v), numpy.frombuffer(v)): such an
//        export cannot be revoked, so the reader counts them and refuses (BufferError) to
//        start a new generation while one is alive. No export can therefore outlive its
//        batch, its confirm(), or the reader's mapping.
//  - waits with the GIL released, in slices of at most kWaitSlice, with a signal check
//    between slices, so other threads run and Ctrl-C interrupts a blocked read.
//  - poll_into(): a batch read that peeks messages in place, copies them into a caller's
//    buffer with the GIL released and returns only those confirm() vouched for, so Python
//    pays per batch rather than per message.
//
// A Reader or Producer is used by one thread at a time (as in C++). While a read waits
// with the GIL released, any other call on that reader raises instead of racing it.
#include <shmcast/shmcast.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace py = pybind11;
using namespace std::chrono_literals;

namespace {

constexpr auto kWaitSlice = std::chrono::milliseconds(100);
// Messages peeked at a time by poll_into: one confirm() (and one registry store) per chunk.
constexpr std::size_t kPeekChunk = 512;
// The most messages one Reader.peek() hands out (it may always return fewer than asked).
constexpr std::size_t kPeekMost = std::size_t{1} << 16;

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

// None is "now"; the C++ sentinel for it (2^64 - 1) is not a time a caller can give.
std::uint64_t timestamp_arg(const std::optional<std::uint64_t>& ts) {
  if (ts && *ts == shmcast::kNow)
    throw shmcast::Error(shmcast::Errc::invalid_argument, "timestamp_ns 2**64 - 1 is reserved: pass None for now");
  return ts ? *ts : shmcast::kNow;
}

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
  const char* cause;  // to_string(GapCause)
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
    case shmcast::ReadStatus::gap: return py::cast(PyGap{r.gap.first, r.gap.missed, shmcast::to_string(r.gap.cause)});
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
    for (const auto& [name, e] : names) {
      if (!known.empty()) known += ", ";
      known += name;
    }
    throw shmcast::Error(shmcast::Errc::invalid_argument, std::string(what) + ": '" + s + "' is not one of " + known);
  }
  if (!py::isinstance<E>(value))
    throw py::type_error(std::string(what) + " must be a str or a shmcast." + std::string(py::str(py::type::of<E>().attr("__name__"))) +
                         ", not " + std::string(py::str(value.get_type().attr("__name__"))));
  return value.cast<E>();
}

// The longest wait or delay a float of seconds may ask for: about 31 years, far inside
// what a clock's 64-bit nanoseconds count, so no conversion below can overflow.
constexpr double kMaxSeconds = 1e9;

std::chrono::milliseconds seconds_arg(double s, const char* what) {
  if (!(s >= 0) || !(s <= kMaxSeconds))  // NaN fails both
    throw shmcast::Error(shmcast::Errc::invalid_argument,
                         std::string(what) + " must be a number of seconds from 0 to 1e9 (not NaN or infinity)");
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000.0 + 0.5));
}

// A `timeout` argument: None or +infinity (or anything past kMaxSeconds) waits for ever
// (nullopt), a negative one does not wait (0), NaN is refused.
std::optional<double> timeout_arg(std::optional<double> timeout) {
  if (!timeout) return std::nullopt;
  if (std::isnan(*timeout)) throw shmcast::Error(shmcast::Errc::invalid_argument, "timeout must be a number of seconds or None, not NaN");
  if (*timeout > kMaxSeconds) return std::nullopt;
  return std::max(*timeout, 0.0);
}

// A byte count given as a Python int (not a float or a string): TypeError otherwise,
// InvalidArgumentError if it is negative or does not fit `limit`.
std::uint64_t bytes_arg(const py::handle& value, const char* what, std::uint64_t limit = UINT64_MAX) {
  if (!PyLong_Check(value.ptr()) || PyBool_Check(value.ptr())) {
    throw py::type_error(std::string(what) + " must be an int (bytes), not " +
                         std::string(py::str(py::type::handle_of(value).attr("__name__"))));
  }
  const unsigned long long v = PyLong_AsUnsignedLongLong(value.ptr());
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw shmcast::Error(shmcast::Errc::invalid_argument,
                         std::string(what) + " must be a byte count from 0 to " + std::to_string(limit));
  }
  if (v > limit) {
    throw shmcast::Error(shmcast::Errc::invalid_argument,
                         std::string(what) + " " + std::to_string(v) + " exceeds " + std::to_string(limit));
  }
  return v;
}

// The keywords Producer.create / open_or_create take besides the geometry: anything else
// is a TypeError, and the layout-2 geometry keywords say what replaced them.
void refuse_other_keywords(const char* function, const py::kwargs& extra) {
  for (const auto& item : extra) {
    const std::string key = py::str(item.first);
    if (key == "slot_count" || key == "slot_size") {
      throw py::type_error(std::string(function) + "(): '" + key +
                           "' was removed with layout version 3, where messages of any size share one byte ring: "
                           "give the ring's size in bytes (ring_bytes= or size=, a power of two from 4096; "
                           "slot_count * slot_size is a ring of the same bytes) and the largest message "
                           "(max_message=, default a quarter of the ring)");
    }
    throw py::type_error(std::string(function) + "() got an unexpected keyword argument '" + key + "'");
  }
}

shmcast::Geometry geometry_arg(const char* function, const py::object& ring_bytes, const py::object& size,
                               const py::object& max_message, const py::object& snapshot_capacity) {
  if (!ring_bytes.is_none() && !size.is_none()) {
    throw py::type_error(std::string(function) + "(): give the ring's size as ring_bytes= or size=, not both");
  }
  shmcast::Geometry g;  // ring_bytes defaults to 1 MiB
  const py::object& bytes = ring_bytes.is_none() ? size : ring_bytes;
  if (!bytes.is_none()) g.ring_bytes = bytes_arg(bytes, ring_bytes.is_none() ? "size" : "ring_bytes");
  g.max_message = static_cast<std::uint32_t>(bytes_arg(max_message, "max_message", UINT32_MAX));
  g.snapshot_capacity = bytes_arg(snapshot_capacity, "snapshot_capacity");
  return g;
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

// The Claim is the exporter of its room's bytes: every memoryview of it is counted, and
// commit/abort refuse (BufferError) while one is alive, so no view outlives the claim.
struct PyClaim {
  py::object owner;  // the Producer: keeps the mapping alive as long as the claim
  PyProducer* producer = nullptr;
  std::optional<shmcast::Producer::Claim> claim;
  std::uint64_t seq = 0;
  std::size_t size = 0;             // the room claimed: the most commit() may take
  std::optional<std::size_t> length;  // set by `claim.length = n`: what commit() takes
  std::optional<std::size_t> written_end;  // the end of the furthest write(), once one was made
  bool viewed = false;              // a memoryview was handed out: what it wrote is unknown
  Py_ssize_t exports = 0;
  py::object view_ref;  // weakref to the memoryview handed out by __enter__/view

  bool is_open() const { return claim.has_value(); }
  void check_open() const {
    if (!claim) throw py::value_error("the claim was already committed or aborted");
  }

  // What commit() without a length takes: `length` if set; else the end of the furthest
  // write() when only write() filled it; else (a view was taken, or nothing written) all.
  std::size_t commit_length() const {
    if (length) return *length;
    if (!viewed && written_end) return *written_end;
    return size;
  }

  void set_length(std::size_t n) {
    check_open();
    if (n > size) throw py::value_error("length " + std::to_string(n) + " exceeds the claim's " + std::to_string(size));
    length = n;
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
                   "%zd view(s) of the claimed room are still alive: release them (del, or "
                   "memoryview.release()) before the claim commits or aborts",
                   exports);
      throw py::error_already_set();
    }
  }

  void finish() {
    claim.reset();
    if (producer && producer->open_claim == this) producer->open_claim = nullptr;
  }

  std::uint64_t commit(std::optional<std::size_t> n_arg) {
    check_open();
    const std::size_t n = n_arg ? *n_arg : commit_length();
    if (n > size) throw py::value_error("commit length " + std::to_string(n) + " exceeds the claim's " + std::to_string(size));
    release_views();
    const std::uint64_t s = claim->commit(n);
    finish();
    return s;
  }

  void abort() {
    if (!claim) return;
    release_views();
    finish();  // the C++ Claim's destructor abandons the room: no trace for readers
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
  c->viewed = true;
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

// A message the reader had already copied and delivered, not yet in the caller's hands
// for good: one a poll_into() batch had no room left for, or one a peek() waited for and
// that batch has not confirmed. Handed out first by the reader's next read.
struct Carried {
  std::uint64_t seq = 0;
  std::uint32_t type = 0;
  std::uint64_t timestamp_ns = 0;
  std::vector<std::byte> data;
};

struct PyReader {
  static constexpr const char* kInUse =
      "the reader is in use: a read is waiting (in another thread, or under this signal handler)";
  std::optional<shmcast::Reader> r;
  bool busy = false;  // a wait holds the reader with the GIL released
  // Which in-place views are alive: those made since the last call that moved the reader.
  std::uint64_t generation = 1;
  // Buffer exports (memoryviews, numpy arrays) of this generation's views still alive.
  Py_ssize_t exports = 0;
  std::optional<Carried> carry;
  std::vector<std::byte> served;  // a carried message handed to peek(): its views point here
  std::vector<Record> scratch;
  std::vector<shmcast::Message> peeked;

  // `Reader.__new__(Reader)` without __init__ gives memory pybind11 allocated and never
  // constructed (nor registered): refused before any field of it is read.
  void check_made() const {
    if (!py::detail::find_registered_python_instance(const_cast<PyReader*>(this),
                                                     py::detail::get_type_info(typeid(PyReader))))
      throw py::type_error("this Reader was never initialised: make one with Reader(name, ...)");
  }

  shmcast::Reader& get() {
    check_made();
    if (busy) throw py::value_error(kInUse);
    if (!r) throw py::value_error("the reader is closed");
    return *r;
  }

  // Ends the current generation of in-place views before `what` moves the reader (or
  // unmaps it): BufferError, changing nothing, while a buffer export of one is alive.
  void end_views(const char* what) {
    if (exports > 0) {
      PyErr_Format(PyExc_BufferError,
                   "%zd buffer(s) exported from in-place views (memoryview, numpy.frombuffer) are still alive: "
                   "release them (del, or memoryview.release()) before %s",
                   exports, what);
      throw py::error_already_set();
    }
    ++generation;
  }

  // The reader, for a call that moves it: the views of the last peek die first.
  shmcast::Reader& moving(const char* what) {
    shmcast::Reader& rd = get();
    end_views(what);
    return rd;
  }

  // A seek, reattach or close: the reader goes elsewhere, a carried message with it.
  void reposition() { carry.reset(); }

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

  // The carried message as an event, if there is one (it is handed out once).
  py::object take_carry() {
    if (!carry) return py::none();
    py::object ev = py::cast(PyMessage{carry->seq, carry->type, carry->timestamp_ns, to_bytes(carry->data)});
    carry.reset();
    return ev;
  }

  // Waits up to `timeout` seconds (None: forever) in slices, checking for signals. The
  // caller ended the views and handed out any carried message.
  shmcast::ReadResult wait_read(std::optional<double> timeout) {
    timeout = timeout_arg(timeout);
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
      // Signal handlers run here, with the call still under way: one that calls into this
      // reader is refused as another thread is (it would move the reader, or free a served
      // copy, under this call's views).
      busy = true;
      const int signalled = PyErr_CheckSignals();
      busy = false;
      if (signalled != 0) throw py::error_already_set();
    }
  }

  // try_read / read / iteration: the next event, a copy.
  py::object read_event(const char* what, std::optional<double> timeout) {
    timeout = timeout_arg(timeout);
    moving(what);
    if (carry) return take_carry();
    return to_event(wait_read(timeout));
  }

  std::span<shmcast::Message> peek_space(std::size_t n) {
    if (peeked.size() < n) peeked.resize(n);
    return {peeked.data(), n};
  }

  PyBatch poll_into(py::handle buffer, std::optional<std::size_t> max_messages, std::optional<double> timeout) {
    timeout = timeout_arg(timeout);
    register_record_dtype();  // before reading: a missing numpy must not lose a batch
    HeldBuffer buf(buffer, true);  // first: taking it may run Python code (__buffer__), which may close this reader
    shmcast::Reader& reader = get();
    const std::size_t cap = reader.geometry().message_limit();
    if (buf.size() < cap) {
      throw shmcast::Error(shmcast::Errc::invalid_argument,
                           "poll_into: the buffer (" + std::to_string(buf.size()) +
                               " bytes) must hold at least one message of the ring's largest size (max_message " +
                               std::to_string(cap) + " bytes)");
    }
    end_views("poll_into()");
    const std::size_t limit = max_messages ? *max_messages : buf.size() / 8 + 1;
    PyBatch batch;
    shmcast::ReadResult stop;  // the gap or snapshot that ended the batch
    std::size_t used = 0;
    std::vector<Record>& recs = scratch;
    recs.clear();
    // Copies messages into the buffer while they fit; how many it copied.
    auto copy = [&](std::span<const shmcast::Message> ms) -> std::size_t {
      std::size_t k = 0;
      for (const shmcast::Message& m : ms) {
        const std::size_t n = m.payload.size();
        if (n > buf.size() - used) break;
        std::memcpy(buf.data() + used, m.payload.data(), n);
        recs.push_back(Record{used, static_cast<std::uint32_t>(n), m.type, m.seq, m.timestamp_ns});
        used = std::min((used + n + 7) & ~std::size_t{7}, buf.size());
        ++k;
      }
      return k;
    };
    enum class Step { more, full, event };
    // One peek of up to `want` messages: copied while they fit, then confirmed; only
    // what confirm() vouches for stays in the batch.
    auto step = [&](auto& self, shmcast::Reader& rd, std::size_t want) -> Step {
      const std::uint64_t delivered_before = rd.delivered();
      const shmcast::Reader::Batch b = rd.peek(peek_space(want));
      if (b.count == 0) {
        stop = b.event;
        return Step::event;
      }
      if (rd.delivered() != delivered_before) {
        // The reader copied this one (its slow path) and delivered it already: it must
        // reach the caller, in this batch or the next. Either way it is ours now, so the
        // reader stops holding it (it would hand it out again).
        const bool fits = copy({peeked.data(), 1}) == 1;
        if (!fits) {
          const shmcast::Message& m = peeked[0];
          carry = Carried{m.seq, m.type, m.timestamp_ns, {m.payload.begin(), m.payload.end()}};
        }
        (void)rd.confirm();
        return fits ? Step::more : Step::full;
      }
      const std::size_t base_used = used, base_count = recs.size();
      const auto drop = [&] {
        used = base_used;
        recs.resize(base_count);
      };
      const std::size_t k = copy({peeked.data(), b.count});
      if (k == b.count) {
        if (!rd.confirm()) drop();  // overwritten while copied: the next peek reports the gap
        return Step::more;
      }
      // The buffer ends inside this peek. Unconfirmed, the peek is offered again by the
      // next read; peek again just the k that fit and confirm those (the same records,
      // unless the producer overwrote them meanwhile, which confirm() then finds).
      drop();
      if (k == 0) {
        (void)rd.peek({});  // the peek is given up: the next read returns its messages again
        return Step::full;
      }
      return self(self, rd, k) == Step::event ? Step::event : Step::full;
    };
    auto fill = [&](shmcast::Reader& rd) {
      while (recs.size() < limit && used < buf.size()) {
        if (step(step, rd, std::min(limit - recs.size(), kPeekChunk)) != Step::more) return 0;
      }
      return 0;
    };
    if (limit > 0) {
      if (carry) {
        const Carried c = std::move(*carry);
        carry.reset();
        const shmcast::Message m{c.seq, c.type, c.timestamp_ns, {c.data.data(), c.data.size()}};
        copy({&m, 1});  // fits: the buffer holds max_message
      }
      without_gil(fill);
      if (recs.empty() && stop.status == shmcast::ReadStatus::empty && !(timeout && *timeout <= 0)) {
        // Nothing yet: wait for the first event (a message comes copied), then peek on.
        shmcast::ReadResult first = wait_read(timeout);
        if (first.status == shmcast::ReadStatus::message) {
          copy({&first.message, 1});
          without_gil(fill);
        } else {
          stop = first;
        }
      }
    }
    batch.count = recs.size();
    batch.used = used;
    py::array_t<Record> records(static_cast<py::ssize_t>(recs.size()));
    if (!recs.empty()) std::memcpy(records.mutable_data(), recs.data(), recs.size() * sizeof(Record));
    batch.records = std::move(records);
    if (stop.status == shmcast::ReadStatus::gap) batch.gap = to_event(stop);
    if (stop.status == shmcast::ReadStatus::snapshot) batch.snapshot = to_event(stop);
    return batch;
  }
};

py::object record_field(const PyBatch& b, const char* name) { return b.records[py::str(name)]; }

// ---- reading in place -------------------------------------------------------------------

// One message of a peek, in place: in the ring (or, on the reader's slow path, in its
// own buffer). Valid while the reader's generation is the one it was made in.
struct PyMessageView {
  py::object owner;  // the Reader: keeps its mapping alive as long as the view
  PyReader* reader = nullptr;
  std::uint64_t generation = 0;
  shmcast::Message message;

  bool valid() const { return reader->r.has_value() && reader->generation == generation; }
  void check() const {
    if (!valid()) {
      throw py::value_error(
          "this in-place view is no longer valid: its batch was confirmed or closed, the reader read on or "
          "was closed. Copy what you need (tobytes, into) before confirm(), and trust it only if confirm() "
          "returned True");
    }
  }
  std::span<const std::byte> bytes() const {
    check();
    return message.payload;
  }
};

// What Reader.peek() returned: up to max_messages views, or the event met instead.
struct PyPeek {
  py::object owner;  // the Reader
  PyReader* reader = nullptr;
  std::uint64_t generation = 0;
  std::vector<shmcast::Message> messages;
  py::object event = py::none();  // when no message: the Gap or Snapshot met, or None
  // The one message is the reader's carried one (copied and delivered already): confirm()
  // hands it over for good; unconfirmed, the next read returns it again.
  bool carried = false;
  std::optional<bool> confirmed;
  py::object views;  // the list of MessageView, made on first use

  bool valid() const { return reader->r.has_value() && reader->generation == generation; }

  py::list view_list() {
    if (!views) {
      py::list out(messages.size());
      for (std::size_t i = 0; i < messages.size(); ++i) {
        auto v = std::make_unique<PyMessageView>();
        v->owner = owner;
        v->reader = reader;
        v->generation = generation;
        v->message = messages[i];
        out[i] = py::cast(std::move(v));
      }
      views = out;
    }
    return views.cast<py::list>();
  }

  bool confirm() {
    if (confirmed) return *confirmed;
    if (!valid()) {
      throw py::value_error(
          "this batch can no longer be confirmed: the reader read on, or was closed, since this peek "
          "(its messages were not delivered and are read again)");
    }
    shmcast::Reader& rd = reader->get();
    reader->end_views("confirm()");
    if (carried) {
      reader->carry.reset();
      confirmed = true;
    } else {
      // A batch without messages has nothing to vouch for (and the reader's confirm()
      // would answer for an earlier call).
      confirmed = !messages.empty() && rd.confirm();
    }
    return *confirmed;
  }

  // Ends the batch unconfirmed: its views die, its messages are read again.
  void close(bool quiet) {
    if (!valid()) return;
    if (quiet && reader->exports > 0) return;  // an exception is on its way: leave the exports be
    reader->end_views("the batch closes");
  }
};

int view_getbuffer(PyObject* obj, Py_buffer* buffer, int flags) {
  PyMessageView* v = nullptr;
  try {
    v = py::cast<PyMessageView*>(py::handle(obj));
  } catch (...) {
    PyErr_SetString(PyExc_BufferError, "not a MessageView");
    buffer->obj = nullptr;
    return -1;
  }
  if (v == nullptr || !v->valid()) {
    PyErr_SetString(PyExc_ValueError,
                    "this in-place view is no longer valid: its batch was confirmed or closed, the reader read on or "
                    "was closed");
    buffer->obj = nullptr;
    return -1;
  }
  // Read-only: the ring is mapped read-only for readers (BufferError if asked to write).
  void* data = const_cast<std::byte*>(v->message.payload.data());
  if (PyBuffer_FillInfo(buffer, obj, data, static_cast<Py_ssize_t>(v->message.payload.size()), 1, flags) != 0) {
    return -1;
  }
  ++v->reader->exports;
  return 0;
}

void view_releasebuffer(PyObject* obj, Py_buffer*) {
  try {
    if (PyMessageView* v = py::cast<PyMessageView*>(py::handle(obj))) --v->reader->exports;
  } catch (...) {
  }
}

std::unique_ptr<PyPeek> peek(py::object self_obj, std::size_t max_messages, std::optional<double> timeout) {
  timeout = timeout_arg(timeout);
  PyReader& self = self_obj.cast<PyReader&>();
  shmcast::Reader& reader = self.moving("peek()");
  auto out = std::make_unique<PyPeek>();
  out->owner = self_obj;
  out->reader = &self;
  shmcast::Reader::Batch b;
  // The carried message (delivered already) as this batch's one message: it stays carried
  // until the batch is confirmed.
  const auto serve_carry = [&] {
    const Carried& c = *self.carry;
    self.served = c.data;
    self.peek_space(1)[0] = shmcast::Message{c.seq, c.type, c.timestamp_ns, {self.served.data(), self.served.size()}};
    out->carried = true;
    b = {1, {}};
  };
  if (max_messages == 0) {
    (void)reader.peek({});  // returns nothing, and gives up a peek poll_into() left open
  } else if (self.carry) {
    serve_carry();  // one poll_into() had no room for, or a peek() did not confirm
  } else {
    b = reader.peek(self.peek_space(std::min(max_messages, kPeekMost)));
    if (b.count == 0 && b.event.status == shmcast::ReadStatus::empty && !(timeout && *timeout <= 0)) {
      // Wait for the next event: a message comes copied, and delivered already; carried
      // until this batch is confirmed.
      shmcast::ReadResult e = self.wait_read(timeout);
      if (e.status == shmcast::ReadStatus::message) {
        const shmcast::Message& m = e.message;
        self.carry = Carried{m.seq, m.type, m.timestamp_ns, {m.payload.begin(), m.payload.end()}};
        serve_carry();
      } else {
        b = {0, e};
      }
    }
  }
  out->generation = self.generation;
  out->messages.assign(self.peeked.begin(), self.peeked.begin() + static_cast<std::ptrdiff_t>(b.count));
  if (b.count == 0) out->event = to_event(b.event);
  return out;
}

// A slice of a view: a copy.
py::bytes view_slice(const PyMessageView& v, const py::slice& s) {
  const std::span<const std::byte> data = v.bytes();
  Py_ssize_t start = 0, stop = 0, step = 0, n = 0;
  if (!s.compute(static_cast<Py_ssize_t>(data.size()), &start, &stop, &step, &n)) throw py::error_already_set();
  if (step == 1) return to_bytes(data.subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(n)));
  std::string out(static_cast<std::size_t>(n), '\0');
  for (Py_ssize_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(data[static_cast<std::size_t>(start + i * step)]);
  return py::bytes(out);
}

}  // namespace

PYBIND11_MODULE(shmcast, m) {
  m.doc() =
      "shmcast: a lock-free shared-memory broadcast ring (one producer, many reader processes).\n\n"
      "Producer publishes messages of any size up to max_message into a byte ring; Reader follows it at its\n"
      "own pace and reports every loss as a Gap, so that for each reader delivered + missed == position - start.\n"
      "Reader.peek() reads in place, without a copy, under confirm(); Reader.poll_into() reads a batch of\n"
      "messages into a caller's buffer with the GIL released.";
  m.attr("__version__") = "0.3.0";
  m.attr("LAYOUT_VERSION") = 3;
  m.attr("RECORD_HEADER_BYTES") = shmcast::kRecordHeaderBytes;
  m.attr("RECORD_ALIGN") = shmcast::kRecordAlign;
  m.attr("DEFAULT_RING_BYTES") = shmcast::Geometry{}.ring_bytes;
  m.attr("DEFAULT_MAX_READERS") = shmcast::kDefaultMaxReaders;

  make_errors(m);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const shmcast::Error& e) {
      raise_error(e);
    }
  });

  // Names of layout version 2, gone: say what replaced them (PEP 562 module __getattr__).
  m.def("__getattr__", [](const std::string& name) -> py::object {
    const char* instead = nullptr;
    if (name == "slot_size_for") instead = "record_bytes(n) (the bytes a message of n bytes takes in the ring)";
    if (name == "SLOT_HEADER_BYTES") instead = "RECORD_HEADER_BYTES (and RECORD_ALIGN)";
    if (instead != nullptr) {
      throw py::attribute_error("shmcast." + name + " was removed with layout version 3: use shmcast." + instead);
    }
    throw py::attribute_error("module 'shmcast' has no attribute '" + name + "'");
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

  const auto removed = [](const char* what, const char* instead) {
    return [what, instead](const py::object&) -> py::object {
      throw py::attribute_error(std::string(what) + " was removed with layout version 3: " + instead);
    };
  };
  py::class_<shmcast::Geometry>(m, "Geometry",
                                "The shape of a ring, fixed at creation: a byte ring of ring_bytes holding messages\n"
                                "of any size up to max_message (a ring of B bytes holds about\n"
                                "B // record_bytes(n) messages of n bytes).")
      .def_readonly("ring_bytes", &shmcast::Geometry::ring_bytes, "The byte ring's size: a power of two, 4 KiB to 64 GiB.")
      .def_property_readonly("max_message", &shmcast::Geometry::message_limit, "The largest message accepted, in bytes.")
      .def_readonly("snapshot_capacity", &shmcast::Geometry::snapshot_capacity, "Bytes per snapshot buffer; 0: none.")
      .def_property_readonly("slot_count", removed("Geometry.slot_count", "a ring is ring_bytes long"))
      .def_property_readonly("slot_size", removed("Geometry.slot_size", "a ring is ring_bytes long"))
      .def_property_readonly("payload_capacity", removed("Geometry.payload_capacity", "use max_message"))
      .def("__eq__", [](const shmcast::Geometry& a, const shmcast::Geometry& b) { return a == b; }, py::is_operator())
      .def("__repr__", [](const shmcast::Geometry& g) {
        return "Geometry(ring_bytes=" + std::to_string(g.ring_bytes) + ", max_message=" +
               std::to_string(g.message_limit()) + ", snapshot_capacity=" + std::to_string(g.snapshot_capacity) + ")";
      });
  m.def(
      "record_bytes",
      [](std::uint64_t payload_bytes) {
        // Past the largest message a ring can take the rounding would wrap: refused instead.
        if (payload_bytes > shmcast::kMaxMessageLimit)
          throw shmcast::Error(shmcast::Errc::invalid_argument,
                               "record_bytes: " + std::to_string(payload_bytes) + " bytes is more than any ring takes (" +
                                   std::to_string(shmcast::kMaxMessageLimit) + ")");
        return shmcast::record_bytes(payload_bytes);
      },
      py::arg("payload_bytes"),
        "The bytes a message of payload_bytes takes in the ring: RECORD_HEADER_BYTES and the payload,\n"
        "rounded up to RECORD_ALIGN.");
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
      .def_readonly("cause", &PyGap::cause,
                    "Why they will never come: 'overwritten' (this reader was lapped, or started older than the ring\n"
                    "holds), 'skipped' (the producer skipped them), 'not_archived' (catching up: the archive lacks them\n"
                    "too) or 'corrupt' (a damaged record, dropped).")
      .def("__repr__", [](const PyGap& g) {
        return "Gap(first=" + std::to_string(g.first) + ", missed=" + std::to_string(g.missed) + ", cause='" + g.cause + "')";
      });
  py::class_<PySnapshot>(m, "Snapshot", "The producer's state as of sequence as_of; the reader continues there.")
      .def_readonly("as_of", &PySnapshot::as_of)
      .def_readonly("data", &PySnapshot::data)
      .def("__repr__", [](const PySnapshot& s) {
        return "Snapshot(as_of=" + std::to_string(s.as_of) + ", data=<" + std::to_string(py::len(s.data)) + " bytes>)";
      });

  py::class_<PyBatch>(m, "Batch",
                      "What Reader.poll_into() read: `count` messages whose payloads lie in the caller's buffer at\n"
                      "offsets[i] (8-byte aligned), lengths[i] bytes long, each vouched for by the reader's\n"
                      "confirm(); `gap` or `snapshot` if one ended the batch.")
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

  // --- reading in place ---
  py::class_<PyMessageView> view_cls(
      m, "MessageView", py::buffer_protocol(),
      "One message of a Reader.peek() batch, read in place: its payload is in the ring itself, which the\n"
      "producer may overwrite at any moment. Read it, copy it or decode it, and trust nothing you derived\n"
      "until the batch's confirm() returns True.\n\n"
      "A view is valid only until its batch is confirmed or closed, the reader reads on (try_read, read,\n"
      "peek, poll_into, seek, reattach) or is closed; after that every use raises ValueError (seq and\n"
      "valid excepted). tobytes(), into(), v[i], v[a:b] and len(v) check this on each call.\n\n"
      "The buffer protocol (memoryview(v), bytes(v), numpy.frombuffer(v)) gives read-only access without a\n"
      "copy. Such an export cannot be revoked once made, so the reader refuses (BufferError) to confirm,\n"
      "read on or close while one is alive: release them first (del, memoryview.release()).");
  {
    auto* type = reinterpret_cast<PyTypeObject*>(view_cls.ptr());
    type->tp_as_buffer->bf_getbuffer = view_getbuffer;
    type->tp_as_buffer->bf_releasebuffer = view_releasebuffer;
  }
  view_cls
      .def_property_readonly("seq", [](const PyMessageView& v) { return v.message.seq; }, "The message's sequence.")
      .def_property_readonly("type", [](const PyMessageView& v) { return v.check(), v.message.type; })
      .def_property_readonly("timestamp_ns", [](const PyMessageView& v) { return v.check(), v.message.timestamp_ns; })
      .def_property_readonly("valid", &PyMessageView::valid, "True until the view dies (see the class).")
      .def("__len__", [](const PyMessageView& v) { return v.bytes().size(); })
      .def("tobytes", [](const PyMessageView& v) { return to_bytes(v.bytes()); }, "A copy of the payload.")
      .def("__bytes__", [](const PyMessageView& v) { return to_bytes(v.bytes()); })
      .def(
          "into",
          [](const PyMessageView& v, py::handle buffer, std::size_t offset) {
            HeldBuffer out(buffer, true);  // first: taking it may run Python code, which may end the view
            const std::span<const std::byte> data = v.bytes();
            if (offset > out.size() || data.size() > out.size() - offset) {
              throw py::value_error("into: the buffer (" + std::to_string(out.size()) + " bytes) cannot hold " +
                                    std::to_string(data.size()) + " bytes at offset " + std::to_string(offset));
            }
            std::memcpy(out.data() + offset, data.data(), data.size());
            return data.size();
          },
          py::arg("buffer"), py::arg("offset") = 0,
          "Copies the payload into a writable buffer at offset; returns its length.")
      .def("__getitem__",
           [](const PyMessageView& v, Py_ssize_t i) {
             const std::span<const std::byte> data = v.bytes();
             const auto n = static_cast<Py_ssize_t>(data.size());
             if (i < 0) i += n;
             if (i < 0 || i >= n) throw py::index_error("MessageView index out of range");
             return static_cast<int>(data[static_cast<std::size_t>(i)]);
           })
      .def("__getitem__", &view_slice, "A byte (int), or a slice (a bytes copy).")
      .def("__repr__", [](const PyMessageView& v) {
        return "MessageView(seq=" + std::to_string(v.message.seq) +
               (v.valid() ? ", len=" + std::to_string(v.message.payload.size()) : std::string(", invalid")) + ")";
      });

  py::class_<PyPeek>(m, "PeekBatch",
                     "What Reader.peek() read: up to max_messages MessageView objects in place (iterate, index,\n"
                     "len), or, when there is no message, the event met instead in `event` (a Gap, already counted\n"
                     "and repositioned; a Snapshot, copied; or None: nothing new).\n\n"
                     "confirm() says whether every message of the batch stayed intact until now: True, they count\n"
                     "as delivered and the reader moves past them; False, discard everything derived from them, they\n"
                     "are never delivered and the next read reports the loss as a gap. Either way the views die.\n"
                     "A batch closed (or left by `with`) unconfirmed is not delivered: the next read returns the same\n"
                     "messages again. A batch with no message confirms nothing: confirm() says False.")
      .def_property_readonly("count", [](const PyPeek& b) { return b.messages.size(); })
      .def("__len__", [](const PyPeek& b) { return b.messages.size(); })
      .def("__getitem__",
           [](PyPeek& b, Py_ssize_t i) {
             py::list views = b.view_list();
             const auto n = static_cast<Py_ssize_t>(b.messages.size());
             if (i < 0) i += n;
             if (i < 0 || i >= n) throw py::index_error("PeekBatch index out of range");
             return py::object(views[static_cast<std::size_t>(i)]);
           })
      .def("__iter__", [](PyPeek& b) { return py::iter(b.view_list()); })
      .def_property_readonly("views", [](PyPeek& b) { return b.view_list(); }, "The MessageView objects, as a list.")
      .def_readonly("event", &PyPeek::event, "When count is 0: the Gap or Snapshot met instead, or None.")
      .def_property_readonly("valid", &PyPeek::valid, "True while the views are alive.")
      .def_property_readonly("confirmed", [](const PyPeek& b) { return b.confirmed; },
                             "None until confirm(), then its result.")
      .def("confirm", &PyPeek::confirm,
           "True if every message of the batch stayed intact until now: they are delivered. False: discard what\n"
           "you derived from them; the next read reports the gap. The views die either way. BufferError while a\n"
           "buffer export of a view is alive; ValueError if the reader read on since the peek.")
      .def("close", [](PyPeek& b) { b.close(false); },
           "Ends the batch unconfirmed (if it is not already): its views die, its messages are read again.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyPeek& b, py::handle exc_type, py::handle, py::handle) {
        b.close(!exc_type.is_none());
        return false;
      })
      .def("__repr__", [](const PyPeek& b) {
        return "PeekBatch(count=" + std::to_string(b.messages.size()) +
               (b.messages.empty() ? ", event=" + py::repr(b.event).cast<std::string>() : std::string()) +
               (b.confirmed ? std::string(", confirmed=") + (*b.confirmed ? "True" : "False") : std::string()) +
               (b.valid() ? "" : ", closed") + ")";
      });

  // --- Claim ---
  py::class_<PyClaim> claim_cls(m, "Claim", py::buffer_protocol(),
                                "Room claimed in the ring for zero-copy publishing (Producer.claim(size)). Fill it in\n"
                                "place, then commit a length up to size: only that length takes room in the ring. As a\n"
                                "context manager it gives a writable memoryview of the room and commits on exit (aborts\n"
                                "on an exception) the length commit() would: `length` if set, else the end of the\n"
                                "furthest write() if only write() filled it, else all of size. Every view of it must be\n"
                                "released before it commits or aborts (BufferError otherwise); after that any use raises.");
  {
    auto* type = reinterpret_cast<PyTypeObject*>(claim_cls.ptr());
    type->tp_as_buffer->bf_getbuffer = claim_getbuffer;
    type->tp_as_buffer->bf_releasebuffer = claim_releasebuffer;
  }
  claim_cls
      .def_property_readonly("seq", [](const PyClaim& c) { return c.seq; }, "The sequence the message will have.")
      .def_property_readonly("size", [](const PyClaim& c) { return c.size; }, "The room claimed: the most it may commit.")
      .def_property("length", &PyClaim::commit_length, &PyClaim::set_length,
                    "The length commit() (and the `with` block's end) commits: set it to commit less than size.")
      .def_property_readonly("open", &PyClaim::is_open, "True until commit() or abort().")
      .def_property_readonly("view", [](py::object self) { return self.cast<PyClaim&>().view(self); },
                             "The writable memoryview of the claimed room (one per claim).")
      .def("__len__", [](const PyClaim& c) { return c.size; })
      .def(
          "write",
          [](PyClaim& c, py::handle data, std::size_t offset) {
            HeldBuffer b(data, false);  // first: taking it may run Python code, which may end the claim
            c.check_open();
            if (offset > c.size || b.size() > c.size - offset) throw py::value_error("write past the end of the claim");
            c.claim->write(offset, b.bytes());
            c.written_end = std::max(c.written_end.value_or(0), offset + b.size());
          },
          py::arg("data"), py::arg("offset") = 0, "Copies data into the room at offset (atomic words).")
      .def("commit", &PyClaim::commit, py::arg("length") = py::none(),
           "Commits the first `length` bytes (default: the `length` property) and returns the sequence.")
      .def("abort", &PyClaim::abort, "Abandons the claim: readers never see it.")
      .def("__enter__", [](py::object self) { return self.cast<PyClaim&>().view(self); })
      .def("__exit__", [](PyClaim& c, py::handle exc_type, py::handle, py::handle) {
        if (!c.is_open()) return false;  // committed inside the block
        if (exc_type.is_none()) {
          c.commit(std::nullopt);
        } else {
          // An exception on its way is the error to see: a view still exported keeps the
          // claim open (BufferError would hide it), and a warning says so.
          try {
            c.abort();
          } catch (const py::error_already_set& e) {
            if (!e.matches(PyExc_BufferError)) throw;
            PyErr_WarnEx(PyExc_ResourceWarning,
                         "a claim left by an exception stays open while views of it are alive: abort() it once "
                         "they are released",
                         1);
          }
        }
        return false;
      });

  // --- Producer ---
  const char* geometry_doc =
      "ring_bytes (or size): the byte ring's size, a power of two from 4096 to 64 GiB (default 1 MiB);\n"
      "max_message: the largest message, at most ring_bytes / 2 - 56 and 1 GiB (default 0: a quarter of the ring);\n"
      "snapshot_capacity: bytes per snapshot buffer (0: no snapshots). slot_count and slot_size are gone\n"
      "(layout version 3): passing them raises TypeError.";
  py::class_<PyProducer>(m, "Producer",
                         "The one writer of a ring. Use Producer.create / open / open_or_create; close() (or\n"
                         "`with`) gives the ring up for another producer.")
      .def_static(
          "create",
          [](const std::string& name, const py::object& ring_bytes, const py::object& size, const py::object& max_message,
             const py::object& snapshot_capacity, unsigned mode, bool replace, std::optional<unsigned> registry_mode,
             std::uint32_t max_readers, const py::kwargs& extra) {
            refuse_other_keywords("create", extra);
            auto geometry = geometry_arg("create", ring_bytes, size, max_message, snapshot_capacity);
            auto options = create_options_arg(mode, replace, registry_mode, max_readers);
            PyProducer out;
            py::gil_scoped_release release;
            out.p.emplace(shmcast::Producer::create(name, geometry, options));
            return out;
          },
          py::arg("name"), py::kw_only(), py::arg("ring_bytes") = py::none(), py::arg("size") = py::none(),
          py::arg("max_message") = 0, py::arg("snapshot_capacity") = 0, py::arg("mode") = 0600,
          py::arg("replace") = false, py::arg("registry_mode") = py::none(),
          py::arg("max_readers") = shmcast::kDefaultMaxReaders,
          (std::string("Creates a new ring (AlreadyExistsError if the name is taken, unless replace=True, which\n"
                       "removes it first: ProducerActiveError, removing nothing, while a live producer holds it).\n") +
           geometry_doc)
              .c_str())
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
          [](const std::string& name, const py::object& ring_bytes, const py::object& size, const py::object& max_message,
             const py::object& snapshot_capacity, unsigned mode, bool replace, std::optional<unsigned> registry_mode,
             std::uint32_t max_readers, bool use_as_is, const py::kwargs& extra) {
            refuse_other_keywords("open_or_create", extra);
            auto geometry = geometry_arg("open_or_create", ring_bytes, size, max_message, snapshot_capacity);
            auto options = create_options_arg(mode, replace, registry_mode, max_readers);
            PyProducer out;
            py::gil_scoped_release release;
            out.p.emplace(shmcast::Producer::open_or_create(
                name, geometry, options, use_as_is ? shmcast::ExistingRing::use_as_is : shmcast::ExistingRing::must_match));
            return out;
          },
          py::arg("name"), py::kw_only(), py::arg("ring_bytes") = py::none(), py::arg("size") = py::none(),
          py::arg("max_message") = 0, py::arg("snapshot_capacity") = 0, py::arg("mode") = 0600,
          py::arg("replace") = false, py::arg("registry_mode") = py::none(),
          py::arg("max_readers") = shmcast::kDefaultMaxReaders, py::arg("use_as_is") = false,
          (std::string("Takes the ring over if it exists (its geometry must match unless use_as_is), else creates it.\n") +
           geometry_doc)
              .c_str())
      .def_static("remove", [](const std::string& name) { return shmcast::Producer::remove(name); }, py::arg("name"),
                  "Removes a ring and its registry, even under a live producer (which goes on writing into the removed "
                  "ring, unseen by readers); False if absent.")
      .def_static(
          "remove_unless_live", [](const std::string& name) { return shmcast::Producer::remove_unless_live(name); },
          py::arg("name"), "remove(), but ProducerActiveError, removing nothing, while a live producer holds the ring.")
      .def(
          "publish",
          [](PyProducer& self, py::handle data, std::uint32_t type, std::optional<std::uint64_t> timestamp_ns) {
            HeldBuffer b(data, false);  // first: taking it may run Python code, which may close the producer
            shmcast::Producer& p = self.get_for_publish();
            return p.publish(b.bytes(), type, timestamp_arg(timestamp_ns));
          },
          py::arg("data"), py::arg("type") = 0, py::arg("timestamp_ns") = py::none(),
          "Publishes one message (any contiguous buffer, 0 to max_message bytes) and returns its sequence.\n"
          "MessageTooLargeError (a ValueError) if it exceeds max_message; nothing is written then.")
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
          "Claims room for up to `size` bytes (at most max_message) to fill in place:\n"
          "`with producer.claim(n) as mv: mv[:] = ...`, or claim the most and commit what was used:\n"
          "`c = producer.claim(producer.max_message); n = fill(c.view); c.commit(n)`.")
      .def(
          "publish_snapshot",
          [](PyProducer& self, py::handle data) {
            HeldBuffer b(data, false);  // first, as in publish
            shmcast::Producer& p = self.get_for_publish();
            p.publish_snapshot(b.bytes());
          },
          py::arg("data"), "Stores a snapshot of the producer's state as of head.")
      .def_property_readonly("head", [](PyProducer& s) { return s.get().head(); }, "The next sequence to publish.")
      .def_property_readonly("reader_count", [](PyProducer& s) { return s.get().reader_count(); },
                             "Live registered readers (one registry scan).")
      .def_property_readonly("max_message", [](PyProducer& s) { return s.get().max_message(); },
                             "The largest message the ring accepts, in bytes.")
      .def_property_readonly("payload_capacity", removed("Producer.payload_capacity", "use max_message"))
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
      .def("__exit__", [](PyProducer& s, py::handle exc_type, py::handle, py::handle) {
        // A claim still open is abandoned (nothing of it was committed) so that the block
        // always ends with the producer closed, as `with` promises: it used to stay open,
        // holding the ring, with nothing said.
        const bool had_claim = s.open_claim != nullptr;
        if (had_claim) {
          try {
            s.open_claim->abort();
          } catch (py::error_already_set&) {
            // A view of the claim is still alive (BufferError): the claim, and so the
            // producer, cannot close. An exception already on its way is not masked by
            // this one; it is said as a warning instead.
            if (exc_type.is_none()) throw;
            if (PyErr_WarnEx(PyExc_ResourceWarning,
                             "Producer left open: a view of its open claim is still alive (release it, then close)", 1) < 0)
              throw py::error_already_set();
            return false;
          }
        }
        s.p.reset();
        if (had_claim && exc_type.is_none() &&
            PyErr_WarnEx(PyExc_ResourceWarning, "Producer closed with a claim open: the claim was aborted", 1) < 0)
          throw py::error_already_set();
        return false;
      });

  // --- Reader ---
  py::class_<PyReader>(m, "Reader",
                       "One reader of a ring. Events are Message, Gap and Snapshot objects; `for ev in reader`\n"
                       "blocks for each. peek() reads in place under confirm(); poll_into() reads batches into a\n"
                       "buffer. delivered + missed == position - start (seeks aside).")
      .def(py::init([](const std::string& name, py::object start, std::uint64_t start_seq, py::object on_gap,
                       py::object wait, bool register_reader, const std::string& label, double attach_timeout,
                       bool wait_for_ring, bool give_back_lines, std::uint64_t stand_back_bytes) {
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
             o.give_back_lines = give_back_lines;
             o.stand_back_bytes = stand_back_bytes;
             // Attached in slices of kWaitSlice with the GIL released, checking for signals
             // between them, as a read waits: a wait for a ring that is missing or being
             // created (up to attach_timeout) answers Ctrl-C.
             auto out = std::make_unique<PyReader>();
             const auto started = std::chrono::steady_clock::now();
             for (;;) {
               const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
               const auto left = o.attach_timeout > waited ? o.attach_timeout - waited : std::chrono::milliseconds(0);
               shmcast::ReaderOptions slice = o;
               slice.attach_timeout = std::min<std::chrono::milliseconds>(left, kWaitSlice);
               try {
                 py::gil_scoped_release release;
                 out->r.emplace(name, slice);
                 return out;
               } catch (const shmcast::Error& e) {
                 const bool waiting = e.code() == shmcast::Errc::not_ready || (wait_for_ring && e.code() == shmcast::Errc::not_found);
                 if (!waiting || left <= slice.attach_timeout) throw;
               }
               if (PyErr_CheckSignals() != 0) throw py::error_already_set();
             }
           }),
           py::arg("name"), py::kw_only(), py::arg("start") = "latest", py::arg("start_seq") = 0,
           py::arg("on_gap") = "oldest", py::arg("wait") = "block", py::arg("register") = true, py::arg("label") = "",
           py::arg("attach_timeout") = 2.0, py::arg("wait_for_ring") = false, py::arg("give_back_lines") = true,
           py::arg("stand_back_bytes") = 0,
           "Attaches to ring `name`. start/on_gap/wait take the enums or their names. give_back_lines:\n"
           "ReaderOptions::give_back_lines (turn it off when reader and producer are SMT siblings).\n"
           "stand_back_bytes: ReaderOptions::stand_back_bytes (throughput over latency; 0, the default, is off).")
      .def("try_read", [](PyReader& s) { return s.read_event("try_read()", 0.0); },
           "The next event (Message, Gap or Snapshot), or None if nothing is new. Never blocks.")
      .def(
          "read",
          [](PyReader& s, std::optional<double> timeout) { return s.read_event("read()", timeout); },
          py::arg("timeout") = py::none(),
          "Waits up to `timeout` seconds (None or math.inf: forever; NaN is refused) for the next event;\n"
          "None on timeout. The GIL is released while waiting; signals (Ctrl-C) are handled within 100 ms.")
      .def("peek", &peek, py::arg("max_messages") = 64, py::arg("timeout") = 0.0,
           "Reads up to max_messages (at most 65536) messages in place, without copying them, and returns a PeekBatch of\n"
           "MessageView objects (or, if the next event is not a message, that event in batch.event).\n"
           "Waits up to `timeout` seconds (None or math.inf: forever) for an event if there is none (a message met\n"
           "that way comes alone, copied). Then batch.confirm(): True, they are\n"
           "delivered; False, discard what you derived, the next read reports the gap:\n\n"
           "    with reader.peek(64) as batch:\n"
           "        values = [decode(v) for v in batch]   # v.tobytes(), v[i], memoryview(v)...\n"
           "        if batch.confirm():\n"
           "            use(values)\n\n"
           "Any later read, seek or close of the reader ends the batch: its views raise on use.")
      .def("poll_into", &PyReader::poll_into, py::arg("buffer"), py::arg("max_messages") = py::none(),
           py::arg("timeout") = 0.0,
           "Reads up to max_messages messages into `buffer` (a writable bytes-like object, at least\n"
           "max_message long), payloads back to back at 8-byte aligned offsets, with the GIL released. It\n"
           "peeks them in place, copies them and returns only those confirm() vouched for; a batch that was\n"
           "overwritten while copied is dropped and the gap reported. Waits up to `timeout` seconds (None:\n"
           "forever) for the first event. A gap or snapshot ends the batch (after its messages) and is\n"
           "returned in Batch.gap / Batch.snapshot. Returns a Batch.")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", [](PyReader& s) {
        return s.read_event("reading on", std::nullopt);  // closed: ValueError, as a closed file
      })
      .def(
          "seek",
          [](PyReader& s, std::uint64_t seq) {
            shmcast::Reader& rd = s.moving("seek()");
            // A seek past head changes nothing, and keeps a carried message; one that
            // moves the reader (to seq) leaves it behind, as the C++ reader does its copy.
            const bool held = rd.seek(seq);
            if (rd.position() == seq) s.reposition();
            return held;
          },
          py::arg("seq"), "Resumes at seq; True if it is held now.")
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
      .def_property_readonly("max_message", [](PyReader& s) { return s.get().geometry().message_limit(); },
                             "The largest message the ring holds, in bytes.")
      .def_property_readonly("name", [](PyReader& s) { return s.get().name(); })
      .def_property_readonly("ring_id", [](PyReader& s) { return s.get().ring_id(); })
      .def_property_readonly("closed", [](PyReader& s) {
        s.check_made();
        return !s.r.has_value();
      })
      .def(
          "reattach",
          [](PyReader& s, double initial, double cap, double give_up) {
            shmcast::Backoff b{seconds_arg(initial, "initial"), seconds_arg(cap, "cap"), seconds_arg(give_up, "give_up")};
            s.moving("reattach()");
            s.reposition();
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
          "close",
          [](PyReader& s) {
            s.check_made();
            if (s.busy) throw py::value_error(PyReader::kInUse);
            if (!s.r) return;
            s.end_views("the reader closes");
            s.reposition();
            s.r.reset();
          },
          "Detaches; the views of its last peek die. Any later use raises ValueError. BufferError while a\n"
          "buffer export of an in-place view is alive.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyReader& s, py::handle exc_type, py::handle, py::handle) {
        s.check_made();
        if (s.busy) {  // another thread waits in it: never left open without a word, nor hiding an error
          if (!exc_type.is_none()) return false;
          throw py::value_error(PyReader::kInUse);
        }
        if (!s.r) return false;
        // With an exception on its way, a live export keeps the reader open rather than
        // hide that exception (it closes when collected); otherwise BufferError says so.
        if (s.exports > 0 && !exc_type.is_none()) return false;
        s.end_views("the reader closes");
        s.r.reset();
        return false;
      });

  // The classes whose objects only the module makes (returned by its calls): without a
  // constructor, `Cls.__new__(Cls)` would give one pybind11 never constructed, which any use
  // would read as garbage. Refused instead ("cannot create instances"); pybind11 makes its
  // own with tp_alloc, not tp_new.
  for (const char* name : {"Geometry", "Message", "Gap", "Snapshot", "Batch", "MessageView", "PeekBatch", "Claim", "Producer"})
    reinterpret_cast<PyTypeObject*>(m.attr(name).ptr())->tp_new = nullptr;
}
