#!/usr/bin/env bash
# A local NATS server with JetStream for shmcast's bridge tests and the README example.
#
#   scripts/nats.sh start [PORT]   start nats-server on 127.0.0.1:PORT (default 4222), JetStream
#                                  on, store in a fresh temporary directory; prints its URL
#   scripts/nats.sh stop           stop it (by its pid) and remove the store
#   scripts/nats.sh status         print the URL if it runs
#
# Loopback only: the server listens on 127.0.0.1, never on another address.
# State (pid, port, store path, log) lives in $SHMCAST_NATS_DIR (default
# ${XDG_RUNTIME_DIR:-/tmp}/shmcast-nats-$UID): set it to run several servers at once.
# nats-server comes from Debian (apt-get install nats-server; scripts/setup.sh does it).
set -euo pipefail

state_dir=${SHMCAST_NATS_DIR:-${XDG_RUNTIME_DIR:-/tmp}/shmcast-nats-$(id -u)}
pid_file=$state_dir/nats.pid

die() { echo "nats.sh: $*" >&2; exit 1; }

find_server() {
  local s
  for s in "$(command -v nats-server 2>/dev/null || true)" /usr/sbin/nats-server /usr/local/bin/nats-server; do
    [[ -n $s && -x $s ]] && { echo "$s"; return; }
  done
  die "nats-server is not installed (sudo apt-get install nats-server, or scripts/setup.sh)"
}

running_pid() {
  [[ -f $pid_file ]] || return 1
  local pid
  pid=$(<"$pid_file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local port=${1:-4222}
  [[ $port =~ ^[0-9]+$ ]] && (( port > 0 && port < 65536 )) || die "bad port '$port'"
  if pid=$(running_pid); then die "already running (pid $pid, nats://127.0.0.1:$(<"$state_dir/port")); stop it first"; fi
  port_open "$port" && die "127.0.0.1:$port is already in use"
  local server store
  server=$(find_server)
  mkdir -p "$state_dir"
  store=$(mktemp -d "${TMPDIR:-/tmp}/shmcast-nats-store.XXXXXX")
  echo "$store" >"$state_dir/store"
  echo "$port" >"$state_dir/port"
  "$server" -a 127.0.0.1 -p "$port" -js -sd "$store" -l "$state_dir/nats.log" -P "$pid_file" </dev/null >>"$state_dir/nats.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$pid_file"
  for _ in $(seq 100); do
    if port_open "$port"; then
      echo "nats://127.0.0.1:$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  rm -rf -- "$store"
  rm -f "$pid_file"
  die "nats-server did not start; see $state_dir/nats.log"
}

stop() {
  local pid store
  if pid=$(running_pid); then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  else
    echo "nats.sh: not running" >&2
  fi
  if [[ -f $state_dir/store ]]; then
    store=$(<"$state_dir/store")
    [[ $store == */shmcast-nats-store.* && -d $store ]] && rm -rf -- "$store"
  fi
  rm -f "$pid_file" "$state_dir/store" "$state_dir/port"
}

status() {
  local pid
  if pid=$(running_pid); then echo "nats://127.0.0.1:$(<"$state_dir/port") (pid $pid)"; else echo "not running"; return 1; fi
}

case ${1:-} in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [PORT] | stop | status" >&2; exit 2 ;;
esac
