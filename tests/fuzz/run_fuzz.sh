#!/usr/bin/env bash
# Runs the libFuzzer target over a copy of the seed corpus for a bounded time.
#   tests/fuzz/run_fuzz.sh [SECONDS] [BUILD_DIR]     (defaults: 60, build-fuzz)
# Configures a clang build with SHMCAST_BUILD_FUZZ=ON and no global sanitizer (the fuzz
# target brings its own ASan+UBSan), builds shmcast-fuzz, and exits non-zero on a crash,
# leak, sanitizer report or timeout; the reproducer lands in BUILD_DIR/fuzz-artifacts/.
set -euo pipefail

seconds="${1:-60}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${2:-$root/build-fuzz}"
jobs="${SHMCAST_JOBS:-2}"

cxx="${CXX_FUZZ:-$(command -v clang++ || true)}"
if [[ -z "$cxx" ]]; then
  echo "run_fuzz.sh: clang++ not found (apt-get install clang)" >&2
  exit 2
fi

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSHMCAST_BUILD_FUZZ=ON -DSHMCAST_SANITIZE= -DSHMCAST_BUILD_TOOLS=OFF -DSHMCAST_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target shmcast-fuzz shmcast-fuzz-archive shmcast-fuzz-archive-replay

work="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
rm -rf "$work"
mkdir -p "$work" "$artifacts"
cp "$here"/corpus/* "$work"/

echo "run_fuzz.sh: fuzzing for ${seconds}s over $(ls "$work" | wc -l) seed inputs"
# -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory.
"$build/tests/fuzz/shmcast-fuzz" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -artifact_prefix="$artifacts/" -print_final_stats=1
echo "run_fuzz.sh: no crash in ${seconds}s"

# The archive reader and the writer's repair: a third of the time, from real archives.
archive_seconds=$(( seconds / 3 > 5 ? seconds / 3 : 5 ))
archive_work="$build/fuzz-archive-corpus"
rm -rf "$archive_work"
"$build/tests/fuzz/shmcast-fuzz-archive-replay" --write-seeds "$archive_work"
echo "run_fuzz.sh: fuzzing the archive for ${archive_seconds}s"
"$build/tests/fuzz/shmcast-fuzz-archive" "$archive_work" -max_total_time="$archive_seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=262144 -artifact_prefix="$artifacts/archive-" -print_final_stats=1
echo "run_fuzz.sh: no archive crash in ${archive_seconds}s"
