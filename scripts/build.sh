#!/bin/sh
# Builds Xenolith out of tree: scripts/build.sh [BUILDDIR [configure args...]]
# Default BUILDDIR is build/main under the source tree.  Re-running is cheap.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/main}
[ $# -gt 0 ] && shift
jobs=$(nproc 2>/dev/null || echo 2)

if [ ! -x "$src/configure" ] || [ "$src/configure.ac" -nt "$src/configure" ]; then
    (cd "$src" && autoreconf -fi >/dev/null)
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$src/configure" -nt config.status ]; then
    "$src/configure" -q "$@"
fi
make -s -j"$jobs" >/dev/null
echo "$build"
