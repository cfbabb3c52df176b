// The Prometheus text exposition (format 0.0.4) of rings' status, for `shmcast metrics`.
// Names start with shmcast_, every sample carries a `ring` label, per-reader samples
// also `reader` (the registry slot), `label` and `pid`. A ring that cannot be read has
// shmcast_up 0 and no other samples.
#pragma once

#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace shmcast::cli {

// A label value with '\\', '"' and newlines escaped, and each byte that is not part of
// valid UTF-8 (a label cut inside a character, say) replaced by U+FFFD: Prometheus rejects
// the whole scrape otherwise. Other controls, and the format characters that would
// disguise a terminal showing the metrics (utf8_control_or_format_at), become U+FFFD too.
[[nodiscard]] std::string escape_label(std::string_view v);
// A sample value: the shortest text that reads back as `v` (NaN, +Inf, -Inf spelled as
// the format wants).
[[nodiscard]] std::string format_value(double v);

// Metric families in the order they first appear; each gets its # HELP and # TYPE once.
class Exposition {
 public:
  void add(const char* name, const char* type, const char* help, const std::string& labels, double value);
  void add(const char* name, const char* type, const char* help, const std::string& labels, std::uint64_t value);
  [[nodiscard]] std::string str() const;

 private:
  struct Family {
    std::string name, type, help, samples;
  };
  void sample(const char* name, const char* type, const char* help, const std::string& labels, const std::string& value);
  std::vector<Family> families_;
};

// Every series of one ring.
void add_ring(Exposition& m, const RingStatus& st);
// shmcast_up 0 for a ring that could not be read.
void add_unreadable(Exposition& m, std::string_view name);

// The exposition of the rings `names`, each read by `status_of(name)`. A ring whose read
// throws shmcast::Error is shmcast_up 0 and its error goes to `errors` (if not null);
// Errc::invalid_argument (a bad name: a usage error) is thrown on.
[[nodiscard]] std::string render(const std::vector<std::string>& names,
                                 const std::function<RingStatus(const std::string&)>& status_of,
                                 std::vector<Error>* errors);

}  // namespace shmcast::cli
