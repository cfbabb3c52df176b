#!/usr/bin/env bash
# Repeats the README's two commands on a machine that has never seen the project: a fresh
# Debian 12 `debootstrap --variant=minbase` chroot (no compiler, no cmake, no git), holding
# only the committed tree (git archive HEAD), in which, as root:
#   bash scripts/demo.sh     installs what is missing, builds, runs the live demo
#   bash scripts/test.sh     installs, builds three ways and runs every test
# The chroot is removed afterwards, whatever happened. Takes minutes (the full suite runs
# inside); it is a check to run before calling work done, not part of CI.
#   scripts/check-fresh.sh [demo|test|both]     (default: both)
# Needs root and Debian's mirror (the one this machine's apt uses).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-both}
case "$what" in demo|test|both) ;; *) echo "usage: scripts/check-fresh.sh [demo|test|both]" >&2; exit 2 ;; esac
if [ "$(id -u)" -ne 0 ]; then
  echo "check-fresh: needs root (debootstrap, chroot and mounts)" >&2
  exit 1
fi

# Every mount below happens in a private mount namespace, so none of them can propagate
# to the host (a tmpfs over the chroot's /dev/shm must never cover the host's).
if [ -z "${SHMCAST_FRESH_NS:-}" ]; then
  SHMCAST_FRESH_NS=1 exec unshare --mount --propagation private -- bash "$(pwd)/scripts/check-fresh.sh" "$what"
fi

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "check-fresh: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi

root=$(mktemp -d /var/tmp/shmcast-fresh.XXXXXX)
# mktemp makes it 0700; as the chroot's / it must be 0755, or no user but root can reach
# anything (the permission tests switch to `nobody`).
chmod 0755 "$root"
mounted=()
cleanup() {
  local i p
  # An interrupted run leaves the chroot's processes (a build, a test) behind: end them first.
  for p in /proc/[0-9]*; do
    if [[ $(readlink "$p/root" 2>/dev/null) == "$root" ]]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
  done
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "check-fresh: debootstrap --variant=minbase bookworm into $root from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
  tail -n 30 "$root.debootstrap.log" >&2
  rm -f "$root.debootstrap.log"
  exit 1
}
rm -f "$root.debootstrap.log"

mkdir -p "$root/src/shmcast"
git archive HEAD | tar -x -C "$root/src/shmcast"
# The tests read ../shared only if it exists; the committed tree is all the chroot gets.
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount -t sysfs sys "$root/sys" && mounted+=("$root/sys")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 && mounted+=("$root/dev/pts")
mount -t tmpfs -o size=4g,mode=1777 shm "$root/dev/shm" && mounted+=("$root/dev/shm")

run() {  # a README command, as root in the chroot, with a clean environment
  echo "check-fresh: $*"
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 /bin/bash -c "cd /src/shmcast && $*"
}

rc=0
if [ "$what" = demo ] || [ "$what" = both ]; then
  run "bash scripts/demo.sh" || rc=$?
fi
if [ $rc -eq 0 ] && { [ "$what" = test ] || [ "$what" = both ]; }; then
  run "bash scripts/test.sh" || rc=$?
fi
if [ $rc -eq 0 ]; then echo "check-fresh: passed ($what)"; else echo "check-fresh: FAILED ($what), exit $rc" >&2; fi
exit $rc
