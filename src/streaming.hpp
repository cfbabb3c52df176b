// When a reader counts as streaming: it found its next record committed, or nearly, at
// its last delivery (fewer than kStreamingIdlePolls empty polls since the one before).
// A reader that waits for each message (paced messages, round trips) polls in vain many
// times between deliveries and does not. Two behaviours hang on it: giving lines back
// (line_give_back.hpp) and standing back from the producer (stand_back.hpp), both of
// which would only cost a waiting reader latency.
#pragma once

#include <cstdint>

namespace shmcast::detail {

inline constexpr std::uint64_t kStreamingIdlePolls = 4;

[[nodiscard]] constexpr bool streaming(std::uint64_t idle_polls_since_delivery) noexcept {
  return idle_polls_since_delivery < kStreamingIdlePolls;
}

}  // namespace shmcast::detail
