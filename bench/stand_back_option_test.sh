#!/usr/bin/env bash
# --stand-back's argument: a byte count with an optional K or M suffix, refused with exit
# status 2 before anything runs when it is not one, or when it is more than a quarter of
# the ring some point would use (the library's limit, which would otherwise fail those
# points one by one); accepted, and said in the report, otherwise.
#   bench/stand_back_option_test.sh SHMCAST_BENCH
set -euo pipefail
bench=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() {  # ARGS...: the bench's exit status; its output in $work/out
  local rc=0
  "$bench" --quick --transports ring --workloads throughput --readers 1 --no-sweep "$@" >"$work/out" 2>&1 || rc=$?
  return $rc
}
expect_refusal() {  # MESSAGE ARGS...
  local message=$1; shift
  local rc=0
  run "$@" || rc=$?
  [ "$rc" -eq 2 ] || fail "$* exited $rc, not 2: $(cat "$work/out")"
  grep -qF -- "$message" "$work/out" || fail "$* did not say '$message': $(cat "$work/out")"
  ! grep -q "throughput  *1" "$work/out" || fail "$* ran points before refusing"
}

# The 8-byte points' ring is 256 KiB: a quarter is 64 KiB.
expect_refusal "Give at most 65536, or leave 8 out of --sizes." --stand-back 65537 --sizes 8,64
expect_refusal "'16Q' is not a byte count" --stand-back 16Q
expect_refusal "'-1' is not a byte count" --stand-back -1
expect_refusal "'2000000M' is not a byte count below 2^40" --stand-back 2000000M

run --stand-back 64k --sizes 8 --duration 0.05 || fail "--stand-back 64k --sizes 8 refused: $(cat "$work/out")"
grep -q "stood 65536 bytes behind a busy producer" "$work/out" || fail "the report does not say the distance: $(cat "$work/out")"
echo "stand-back option: ok"
