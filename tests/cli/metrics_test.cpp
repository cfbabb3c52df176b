// End-to-end tests of `shmcast metrics`: the exposition format checked by Prometheus' own
// validator, and an HTTP endpoint that serves concurrent scrapes.
#include "cli_support.hpp"

#include <catch2/catch.hpp>
