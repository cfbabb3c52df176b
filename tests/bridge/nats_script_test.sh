#!/usr/bin/env bash
# scripts/nats.sh: start on a free loopback port, JetStream answers, stop removes everything.
set -euo pipefail
script=$1
command -v nats-server >/dev/null 2>&1 || [[ -x /usr/sbin/nats-server ]] || { echo "SKIPPED: nats-server is not installed"; exit 77; }
export SHMCAST_NATS_DIR
SHMCAST_NATS_DIR=$(mktemp -d)
trap '"$script" stop >/dev/null 2>&1 || true; rm -rf "$SHMCAST_NATS_DIR"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=$("$script" start "$port")
[[ $url == "nats://127.0.0.1:$port" ]] || { echo "unexpected URL '$url'"; exit 1; }
pid=$(<"$SHMCAST_NATS_DIR/nats.pid")
store=$(<"$SHMCAST_NATS_DIR/store")
kill -0 "$pid"
[[ -d $store ]]
# Listens on loopback only.
if command -v ss >/dev/null; then
  ss -ltnp 2>/dev/null | grep ":$port " | grep -v "127.0.0.1:$port" && { echo "listens beyond loopback"; exit 1; }
fi
"$script" status | grep -q "127.0.0.1:$port"
if "$script" start "$port" 2>/dev/null; then echo "a second start should fail"; exit 1; fi
"$script" stop
! kill -0 "$pid" 2>/dev/null
[[ ! -e $store ]]
! "$script" status >/dev/null
echo "nats.sh start/stop OK"
