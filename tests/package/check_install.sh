#!/usr/bin/env bash
# Installs the built library into a temporary prefix, then configures, builds and runs
# a separate consumer project against it with find_package(shmcast).
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/package/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE="${3:-Release}" ${CXXFLAGS_EXTRA:+-DCMAKE_CXX_FLAGS="$CXXFLAGS_EXTRA"} >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
