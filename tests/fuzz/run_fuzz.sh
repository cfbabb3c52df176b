#!/usr/bin/env bash
# Runs the libFuzzer targets over copies of their seed corpora for a bounded time.
#   tests/fuzz/run_fuzz.sh [SECONDS] [BUILD_DIR]     (defaults: 60, build-fuzz)
# Configures a clang build with SHMCAST_BUILD_FUZZ=ON and no global sanitizer (the fuzz
# targets bring their own ASan+UBSan), builds the ring and archive targets, and exits non-zero on a crash,
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

# The ring target and the archive target (the archive reader and the writer's repair, from
# real archives), each for SECONDS, side by side, one per core; each one's output goes to a
# log of its own: its end is printed, or all of it on a failure.
work="$build/fuzz-corpus"
archive_work="$build/fuzz-archive-corpus"
artifacts="$build/fuzz-artifacts"
rm -rf "$work" "$archive_work"
mkdir -p "$work" "$artifacts"
cp "$here"/corpus/* "$work"/
"$build/tests/fuzz/shmcast-fuzz-archive-replay" --write-seeds "$archive_work"

echo "run_fuzz.sh: fuzzing the ring for ${seconds}s over $(ls "$work" | wc -l) seed inputs," \
     "and the archive for ${seconds}s over $(ls "$archive_work" | wc -l)"
# -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory.
"$build/tests/fuzz/shmcast-fuzz-archive" "$archive_work" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -max_len=262144 -artifact_prefix="$artifacts/archive-" -print_final_stats=1 \
  >"$build/fuzz-archive.log" 2>&1 &
archive_pid=$!
ring_rc=0
"$build/tests/fuzz/shmcast-fuzz" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$build/fuzz-ring.log" 2>&1 || ring_rc=$?
archive_rc=0
wait "$archive_pid" || archive_rc=$?

report() {  # TARGET EXIT_STATUS: its log's end, or all of it and what failed
  local log="$build/fuzz-$1.log"
  if [[ $2 -ne 0 ]]; then
    cat "$log"
    echo "run_fuzz.sh: the $1 target failed (exit $2; whole log: $log)" >&2
  else
    tail -n 12 "$log"
    echo "run_fuzz.sh: no crash in the $1 target in ${seconds}s"
  fi
}
report ring "$ring_rc"
report archive "$archive_rc"
[[ $ring_rc -eq 0 && $archive_rc -eq 0 ]]
