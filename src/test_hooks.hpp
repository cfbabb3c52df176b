// Fault-injection points for the crash tests. They exist only in the `shmcast_hooked`
// library built for tests (SHMCAST_TEST_HOOKS); the real library has no trace of them.
#pragma once

#include <cstdint>

namespace shmcast::detail {

#ifdef SHMCAST_TEST_HOOKS
// Called inside publish() after the payload is written and before the commit stamp:
// a test that kills the process here leaves a half-written (uncommitted) record behind.
extern void (*g_mid_publish_hook)(std::uint64_t seq);
#define SHMCAST_MID_PUBLISH_HOOK(seq) \
  do { if (::shmcast::detail::g_mid_publish_hook) ::shmcast::detail::g_mid_publish_hook(seq); } while (0)
// Called inside try_read() between the payload copy and the horizon check: a test
// that overwrites the record here exercises "overwritten while copying" deterministically.
extern void (*g_mid_copy_hook)(std::uint64_t seq);
#define SHMCAST_MID_COPY_HOOK(seq) \
  do { if (::shmcast::detail::g_mid_copy_hook) ::shmcast::detail::g_mid_copy_hook(seq); } while (0)
// Called in the record chain's searches (record_chain.cpp) right after their first load
// of the producer's counters: a test that publishes here exercises a search that the
// producer overtakes between its loads.
extern void (*g_chain_search_hook)();
#define SHMCAST_CHAIN_SEARCH_HOOK() \
  do { if (::shmcast::detail::g_chain_search_hook) ::shmcast::detail::g_chain_search_hook(); } while (0)
// Called when a reader standing back looks at the producer's tail (stand_back.hpp): a
// test that publishes here plays a producer that has always moved on since the last look.
extern void (*g_tail_look_hook)();
#define SHMCAST_TAIL_LOOK_HOOK() \
  do { if (::shmcast::detail::g_tail_look_hook) ::shmcast::detail::g_tail_look_hook(); } while (0)
// Called in claim_entry() right after a reader has taken an entry and before it stamps its
// start time: a test that reaps dead entries here checks that a claim in progress never
// looks dead.
extern void (*g_mid_claim_hook)();
#define SHMCAST_MID_CLAIM_HOOK() \
  do { if (::shmcast::detail::g_mid_claim_hook) ::shmcast::detail::g_mid_claim_hook(); } while (0)
// Called in the registry's owner_of() between its load of an entry's owner and of that
// owner's start time: a test that hands the entry to another reader here checks that the
// pair judged is one owner's.
extern void (*g_owner_seen_hook)();
#define SHMCAST_OWNER_SEEN_HOOK() \
  do { if (::shmcast::detail::g_owner_seen_hook) ::shmcast::detail::g_owner_seen_hook(); } while (0)
// Called in Producer::open_or_create() when it has found the ring abandoned and before it
// removes it: a test that creates the ring anew here plays a process that got there first.
extern void (*g_abandoned_hook)();
#define SHMCAST_ABANDONED_HOOK() \
  do { if (::shmcast::detail::g_abandoned_hook) ::shmcast::detail::g_abandoned_hook(); } while (0)
#else
#define SHMCAST_MID_PUBLISH_HOOK(seq) ((void)0)
#define SHMCAST_MID_COPY_HOOK(seq) ((void)0)
#define SHMCAST_CHAIN_SEARCH_HOOK() ((void)0)
#define SHMCAST_TAIL_LOOK_HOOK() ((void)0)
#define SHMCAST_MID_CLAIM_HOOK() ((void)0)
#define SHMCAST_OWNER_SEEN_HOOK() ((void)0)
#define SHMCAST_ABANDONED_HOOK() ((void)0)
#endif

}  // namespace shmcast::detail
