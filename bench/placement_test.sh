#!/usr/bin/env bash
# --placement against machines this one is not: a fake /sys/devices/system/cpu
# (SHMCAST_BENCH_SYSFS_CPU) describes CPUs 0 and 1 as SMT siblings, then as cores on two
# different last-level caches. The run itself uses the real CPUs 0 and 1; what is checked
# is the pair chosen, the refusal of a placement the machine cannot give, and that the
# table and bench.json say which placement the figures come from.
#   bench/placement_test.sh SHMCAST_BENCH
set -euo pipefail
bench=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# cpu DIR N SIBLINGS LLC: one CPU with an L1 data, an L1 instruction and an L3 cache.
cpu() {
  local d=$1/cpu$2
  mkdir -p "$d/topology" "$d/cache/index0" "$d/cache/index1" "$d/cache/index2"
  echo "$3" >"$d/topology/thread_siblings_list"
  echo 1 >"$d/cache/index0/level"; echo Data >"$d/cache/index0/type"; echo "$2" >"$d/cache/index0/shared_cpu_list"
  echo 1 >"$d/cache/index1/level"; echo Instruction >"$d/cache/index1/type"; echo "0-1" >"$d/cache/index1/shared_cpu_list"
  echo 3 >"$d/cache/index2/level"; echo Unified >"$d/cache/index2/type"; echo "$4" >"$d/cache/index2/shared_cpu_list"
}
run() {  # SYSFS ARGS...: the bench's exit status; its output in $work/out
  local sysfs=$1; shift
  local rc=0
  SHMCAST_BENCH_SYSFS_CPU=$sysfs "$bench" --quick --transports ring --workloads rtt --no-sweep "$@" >"$work/out" 2>&1 || rc=$?
  return $rc
}

# SMT siblings sharing one L3.
smt=$work/smt
cpu "$smt" 0 0-1 0-1
cpu "$smt" 1 0-1 0-1
run "$smt" --pin 0,1 --placement sibling --out "$work/sib" || { cat "$work/out"; fail "--placement sibling on siblings"; }
grep -q 'placement: producer on CPU 0, first reader on CPU 1: SMT siblings (--placement sibling); SMT siblings: 0,1; last-level caches: 0,1' "$work/out" ||
  { cat "$work/out"; fail "the log does not name the placement"; }
grep -q '^placement: .*SMT siblings (--placement sibling)' "$work/sib/table.txt" || fail "table.txt does not name the placement"
grep -q '"probe":"pingpong".*"placement":"SMT siblings"' "$work/sib/bench.json" || fail "the floor probe's placement is not in bench.json"
grep -q '"transport":"ring".*"placement":"SMT siblings"' "$work/sib/bench.json" || fail "the ring's placement is not in bench.json"
rc=0; run "$smt" --pin 0,1 --placement cross || rc=$?
[ "$rc" -eq 2 ] || fail "--placement cross on one cache: exit $rc, not 2"
grep -q -- '--placement cross: no two of the CPUs to pin to stand in it' "$work/out" || { cat "$work/out"; fail "no reason given"; }
grep -q 'Placements these CPUs offer: sibling.' "$work/out" || { cat "$work/out"; fail "the placements on offer are not listed"; }

# Two cores on two last-level caches, listed in the other order: the pair is reordered.
cross=$work/cross
cpu "$cross" 0 0 0
cpu "$cross" 1 1 1
run "$cross" --pin 1,0 --placement cross || { cat "$work/out"; fail "--placement cross across caches"; }
grep -q 'placement: producer on CPU 1, first reader on CPU 0: cross-cache (--placement cross); SMT siblings: none; last-level caches: 0 1' "$work/out" ||
  { cat "$work/out"; fail "cross-cache not reported"; }
rc=0; run "$cross" --pin 0,1 --placement same-cache || rc=$?
[ "$rc" -eq 2 ] && grep -q 'Placements these CPUs offer: cross.' "$work/out" || { cat "$work/out"; fail "--placement same-cache across caches"; }
rc=0; run "$cross" --no-pin --placement cross || rc=$?
[ "$rc" -eq 2 ] || fail "--placement with --no-pin: exit $rc, not 2"

# Without --placement the report still says what the first two CPUs are.
run "$cross" --pin 0,1 || { cat "$work/out"; fail "a run without --placement"; }
grep -q 'first reader on CPU 1: cross-cache (the first two CPUs; --placement chooses)' "$work/out" || { cat "$work/out"; fail "default placement not reported"; }
echo "placement: ok"
