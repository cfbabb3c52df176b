#!/usr/bin/env bash
# Configures and builds one flavour of shmcast with its CMake preset (CMakePresets.json),
# each in a folder of its own:
#   scripts/build.sh release|tsan|asan|demo [extra cmake args...]
#     release  build/release  library, tools, tests, benchmarks
#     tsan     build/tsan     the same under ThreadSanitizer (no benchmarks)
#     asan     build/asan     the same under AddressSanitizer + UBSan (no benchmarks)
#     demo     build/demo     library and tools only (scripts/demo.sh)
# Extra arguments go to the configure step (cmake --preset FLAVOUR ARGS...) and override
# the preset. Every preset spells out all of its options, so a folder configured earlier
# with other values is put back.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
shift || true
case "$flavour" in
  release|tsan|asan|demo) ;;
  *) echo "usage: scripts/build.sh release|tsan|asan|demo [cmake args...]" >&2; exit 2 ;;
esac
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset "$flavour" "$@" >/dev/null
cmake --build --preset "$flavour" -j"$jobs"
