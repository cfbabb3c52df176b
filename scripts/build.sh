#!/usr/bin/env bash
# Configures and builds one flavour of shmcast into build/<flavour>:
#   scripts/build.sh release|tsan|asan [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
shift || true
# Every option is spelled out, so that a directory configured earlier with other values
# (scripts/demo.sh builds without tests) is put back; extra arguments override these.
all=(-DSHMCAST_BUILD_TESTS=ON -DSHMCAST_BUILD_TOOLS=ON)
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release -DSHMCAST_SANITIZE= -DSHMCAST_BUILD_BENCH=ON "${all[@]}") ;;
  tsan)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMCAST_SANITIZE=thread -DSHMCAST_BUILD_BENCH=OFF "${all[@]}") ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMCAST_SANITIZE=address -DSHMCAST_BUILD_BENCH=OFF "${all[@]}") ;;
  *) echo "usage: scripts/build.sh release|tsan|asan [cmake args...]" >&2; exit 2 ;;
esac
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "build/$flavour" "${args[@]}" "$@" >/dev/null
cmake --build "build/$flavour" -j"$jobs"
