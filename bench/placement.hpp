// Where the producer and its first reader run relative to each other, read from sysfs:
// the same CPU, SMT siblings (two hardware threads of one core), two cores that share the
// last-level cache, or two cores that do not. Latency between two processes depends on
// it more than on anything either one does: published peer figures are often taken
// between siblings, and cross-cache figures run two to three times higher.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shmcast::bench {

enum class Placement { sibling, same_cache, cross };
inline constexpr Placement kAllPlacements[] = {Placement::sibling, Placement::same_cache, Placement::cross};

const char* name_of(Placement p);  // "sibling", "same-cache", "cross": --placement's spelling

// How two CPUs relate. same_cache: they share the last-level cache and are not SMT
// siblings. unpinned: either is negative (not pinned); unknown: sysfs does not say.
enum class Relation { unpinned, unknown, same_cpu, smt_siblings, same_cache, cross_cache };
const char* name_of(Relation r);  // "same CPU", "SMT siblings", "same cache", "cross-cache", ...

Relation relation(int a, int b);

// The first pair (producer, reader) of distinct CPUs from `cpus`, in that order of
// preference, that stands in placement `p`; nullopt if none does.
std::optional<std::pair<int, int>> find_pair(Placement p, const std::vector<int>& cpus);

// One line for a report: "SMT siblings: none; last-level caches: 0-1" over `cpus`.
std::string topology(const std::vector<int>& cpus);

// A CPU list as sysfs writes it ("0-3,8,10-11"); empty on a malformed one.
std::vector<int> parse_cpu_list(const std::string& text);

}  // namespace shmcast::bench
