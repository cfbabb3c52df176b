#!/usr/bin/env bash
# Installs what is missing, builds shmcast three ways and runs the whole suite in each:
# release, ThreadSanitizer, AddressSanitizer + UndefinedBehaviorSanitizer. Then a bounded
# libFuzzer run over the hostile-shared-memory target. Exits non-zero if anything fails.
#   scripts/test.sh [release|tsan|asan|fuzz ...]   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

flavours=("$@")
((${#flavours[@]})) || flavours=(release tsan asan fuzz)
jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0 summary=()

run_ctest() {  # flavour
  local flavour=$1 log
  log=$(mktemp)
  local began=$SECONDS built
  echo "== $flavour: build"
  bash scripts/build.sh "$flavour"
  built=$SECONDS
  echo "== $flavour: test"
  # Sanitizer runtimes need a conventional address-space layout; some kernels
  # randomise mmap more than TSan's shadow mapping allows, so run without ASLR.
  local runner=()
  if [ "$flavour" != release ] && command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R true 2>/dev/null; then
    runner=(setarch "$(uname -m)" -R)
  fi
  local rc=0
  # The test preset (CMakePresets.json) runs build/$flavour with --output-on-failure, a
  # 600 s timeout and the sanitizers' options (halt on the first report).
  "${runner[@]}" ctest --preset "$flavour" -j"$jobs" 2>&1 | tee "$log" || rc=$?
  local line p f
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [ -n "$line" ]; then
    f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    p=$(( $(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line") - f ))
  else
    p=0 f=1
  fi
  [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
  passed=$((passed + p)) failed=$((failed + f))
  summary+=("$flavour: $p passed, $f failed (build $((built - began)) s, tests $((SECONDS - built)) s)")
  rm -f "$log"
}

for flavour in "${flavours[@]}"; do
  case "$flavour" in
    release|tsan|asan) run_ctest "$flavour" ;;
    fuzz)
      if [ -x tests/fuzz/run_fuzz.sh ]; then
        echo "== fuzz: ${SHMCAST_FUZZ_SECONDS:-60} s of libFuzzer on the ring's attach and read paths and, beside it, on the archive's"
        began=$SECONDS
        if bash tests/fuzz/run_fuzz.sh "${SHMCAST_FUZZ_SECONDS:-60}"; then
          passed=$((passed + 1)); summary+=("fuzz: 1 passed, 0 failed (build and run $((SECONDS - began)) s)")
        else
          failed=$((failed + 1)); summary+=("fuzz: 0 passed, 1 failed (build and run $((SECONDS - began)) s)")
        fi
      fi ;;
    *) echo "unknown flavour '$flavour' (release, tsan, asan, fuzz)" >&2; exit 2 ;;
  esac
done

echo
printf '%s\n' "${summary[@]}"
echo "total: $passed passed, $failed failed ($SECONDS s in all, setup included)"
[ "$failed" -eq 0 ]
