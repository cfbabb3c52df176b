#include "placement.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

namespace shmcast::bench {

namespace {

// SHMCAST_BENCH_SYSFS_CPU stands in for /sys/devices/system/cpu in the placement tests,
// which describe machines this one is not.
std::string cpu_root() {
  const char* root = std::getenv("SHMCAST_BENCH_SYSFS_CPU");
  return root != nullptr && *root != '\0' ? root : "/sys/devices/system/cpu";
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpu_dir(int cpu) { return cpu_root() + "/cpu" + std::to_string(cpu); }

// The CPUs that share a core with `cpu` (itself included); empty where sysfs does not say.
std::vector<int> siblings_of(int cpu) { return parse_cpu_list(read_line(cpu_dir(cpu) + "/topology/thread_siblings_list")); }

// The CPUs that share `cpu`'s last-level cache: the highest level of its data or unified
// caches. Empty where sysfs does not say.
std::vector<int> llc_of(int cpu) {
  int best_level = 0;
  std::vector<int> best;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = cpu_dir(cpu) + "/cache/index" + std::to_string(index);
    const std::string level = read_line(dir + "/level");
    if (level.empty()) break;
    if (read_line(dir + "/type") == "Instruction") continue;
    const int l = std::atoi(level.c_str());
    if (l > best_level) {
      best_level = l;
      best = parse_cpu_list(read_line(dir + "/shared_cpu_list"));
    }
  }
  return best;
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string format_cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) {
      out += j == i + 1 ? ',' : '-';
      out += std::to_string(cpus[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace

const char* name_of(Placement p) {
  switch (p) {
    case Placement::sibling: return "sibling";
    case Placement::same_cache: return "same-cache";
    case Placement::cross: return "cross";
  }
  return "?";
}

std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> out;
  std::size_t i = 0;
  const auto number = [&](int& v) {
    const std::size_t start = i;
    long n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && n < 1'000'000) n = n * 10 + (text[i++] - '0');
    v = static_cast<int>(n);
    return i > start && n < 1'000'000;
  };
  while (i < text.size()) {
    int first = 0, last = 0;
    if (!number(first)) return {};
    last = first;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(last) || last < first) return {};
    }
    for (int c = first; c <= last; ++c) out.push_back(c);
    if (i < text.size() && text[i] != ',') return {};
    if (i < text.size()) ++i;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const char* name_of(Relation r) {
  switch (r) {
    case Relation::unpinned: return "unpinned";
    case Relation::unknown: return "unknown";
    case Relation::same_cpu: return "same CPU";
    case Relation::smt_siblings: return "SMT siblings";
    case Relation::same_cache: return "same cache";
    case Relation::cross_cache: return "cross-cache";
  }
  return "?";
}

Relation relation(int a, int b) {
  if (a < 0 || b < 0) return Relation::unpinned;
  if (a == b) return Relation::same_cpu;
  if (contains(siblings_of(a), b)) return Relation::smt_siblings;
  const std::vector<int> cache = llc_of(a);
  if (cache.empty()) return Relation::unknown;
  return contains(cache, b) ? Relation::same_cache : Relation::cross_cache;
}

std::optional<std::pair<int, int>> find_pair(Placement p, const std::vector<int>& cpus) {
  const Relation wanted = p == Placement::sibling      ? Relation::smt_siblings
                          : p == Placement::same_cache ? Relation::same_cache
                                                       : Relation::cross_cache;
  for (int a : cpus)
    for (int b : cpus)
      if (a != b && relation(a, b) == wanted) return std::pair{a, b};
  return std::nullopt;
}

std::string topology(const std::vector<int>& cpus) {
  std::set<std::vector<int>> smt, caches;
  for (int c : cpus) {
    std::vector<int> s = siblings_of(c), l = llc_of(c);
    if (s.size() > 1) smt.insert(s);
    if (!l.empty()) caches.insert(l);
  }
  std::string out = "SMT siblings: ";
  if (smt.empty()) out += "none";
  for (auto it = smt.begin(); it != smt.end(); ++it) {
    if (it != smt.begin()) out += ' ';
    out += format_cpu_list(*it);
  }
  out += "; last-level caches: ";
  if (caches.empty()) out += "unknown";
  for (auto it = caches.begin(); it != caches.end(); ++it) {
    if (it != caches.begin()) out += ' ';
    out += format_cpu_list(*it);
  }
  return out;
}

}  // namespace shmcast::bench
