#!/usr/bin/env bash
# The main job: install what is missing, build, and run the live demo (a producer and
# three reader processes; one is lapped and recovers by gaps, one by snapshots).
#   scripts/demo.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release -DSHMCAST_BUILD_TESTS=OFF -DSHMCAST_BUILD_BENCH=OFF
exec build/release/tools/demo/shmcast-demo "${1:-4}"
