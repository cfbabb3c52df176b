// End-to-end tests of the other `shmcast` commands at their edges: numbers out of range,
// several names, live producers, permissions, misspelt commands, and safe output.
#include "cli_support.hpp"

#include <catch2/catch.hpp>
