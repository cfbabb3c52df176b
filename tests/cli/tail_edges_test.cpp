// End-to-end tests of `shmcast tail` at its edges: pipes that close, the last N messages,
// snapshot-only rings, options out of range, control characters in payloads.
#include "cli_support.hpp"

#include <catch2/catch.hpp>
