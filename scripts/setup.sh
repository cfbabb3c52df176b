#!/usr/bin/env bash
# Installs what shmcast needs to build, test and benchmark on Debian 12, using apt-get only.
# Safe to run again: it installs only the packages that are missing.
set -euo pipefail

packages=(
  build-essential cmake git pkg-config ca-certificates procps
  libboost-dev            # Boost.Interprocess and Boost.Lockfree (header-only)
  libcli11-dev            # the CLI
  nlohmann-json3-dev      # JSON output of the CLI and the benchmark
  python3                 # test scripts and bench/targets.py
  catch2                  # tests (v2 on Debian 12)
  libbenchmark-dev        # micro-benchmarks
  clang libclang-rt-14-dev  # libFuzzer target and sanitizer runtimes
  gnuplot-nox             # benchmark plot
  curl                    # metrics endpoint test
  prometheus              # promtool: the metrics test checks the exposition format with it
  nats-server libnats-dev # bridge across hosts (NATS JetStream), and its tests
  iceoryx libiceoryx-posh-dev  # optional shmcast-bench transport: iceoryx 2.0 (iox-roudi, posh library)
  libzmq3-dev             # optional shmcast-bench transport: ZeroMQ PUB/SUB over ipc://
  pybind11-dev python3-pybind11 python3-dev  # the `shmcast` Python module (python/)
  python3-numpy python3-pytest  # its batch API (numpy arrays) and its tests (tests/python)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all build dependencies present"
fi
