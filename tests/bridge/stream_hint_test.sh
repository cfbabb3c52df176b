#!/usr/bin/env bash
# `bridge in` for a ring whose name differs from the relayed ring's: while it waits for the
# stream named after its own ring, it says what the server has and points at --stream.
#   stream_hint_test.sh SCRIPTS_NATS_SH SHMCAST_BIN
set -euo pipefail
script=$1 shmcast=$2
command -v nats-server >/dev/null 2>&1 || [[ -x /usr/sbin/nats-server ]] || { echo "SKIPPED: nats-server is not installed"; exit 77; }
export SHMCAST_NATS_DIR
SHMCAST_NATS_DIR=$(mktemp -d)
src="hint-src-$$" dst="hint-dst-$$"
out_pid=""
cleanup() {
  [[ -n $out_pid ]] && kill "$out_pid" 2>/dev/null && wait "$out_pid" 2>/dev/null || true
  "$shmcast" rm "$src" >/dev/null 2>&1 || true
  "$shmcast" rm "$dst" >/dev/null 2>&1 || true
  "$script" stop >/dev/null 2>&1 || true
  rm -rf "$SHMCAST_NATS_DIR"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=$("$script" start "$port")
"$shmcast" create "$src" --size 8K >/dev/null
"$shmcast" bridge out "$src" --nats "$url" 2>"$SHMCAST_NATS_DIR/out.log" &
out_pid=$!
# bridge out makes the stream shmcast_<src>; wait for it by asking bridge in for it.
for _ in $(seq 1 100); do
  grep -q "stream" "$SHMCAST_NATS_DIR/out.log" 2>/dev/null && break
  sleep 0.1
done
sleep 1
log=$(timeout 5 "$shmcast" bridge in "$dst" --nats "$url" --size 8K --max-message 1K 2>&1 || true)
echo "$log"
grep -q "stream 'shmcast_$dst' does not exist" <<<"$log" || { echo "no hint about the missing stream"; exit 1; }
grep -q "shmcast_$src" <<<"$log" || { echo "the hint does not name the stream the server has"; exit 1; }
grep -q -- "--stream" <<<"$log" || { echo "the hint does not point at --stream"; exit 1; }
echo "stream hint OK"
