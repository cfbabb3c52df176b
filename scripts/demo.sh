#!/usr/bin/env bash
# The main job: install what is missing, build, and run the live demo (a producer and
# three reader processes; one is lapped and recovers by gaps, one by snapshots).
#   scripts/demo.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Its own folder (the `demo` preset: release, tools only), so it never reconfigures the
# test build in build/release.
bash scripts/build.sh demo
exec build/demo/tools/demo/shmcast-demo "${1:-4}"
