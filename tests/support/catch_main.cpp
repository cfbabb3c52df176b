// main() of the Catch2 test suites (see catch_session.hpp).
#define CATCH_CONFIG_RUNNER
#include "catch_session.hpp"

int main(int argc, char** argv) { return shmcast::test::run_catch(argc, argv); }
