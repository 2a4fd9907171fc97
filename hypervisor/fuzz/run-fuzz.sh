#!/bin/sh
# run-fuzz.sh SECONDS [BUILD_DIR] - build hypervisor/fuzz/fuzz_control
# with clang (-fsanitize=fuzzer,address,undefined) and run it.
#
# BUILD_DIR (default build/fuzz-core in the source tree) is configured
# here with
# --enable-fuzzing (afresh when it was configured from another source
# tree); the corpus grows in BUILD_DIR/corpus-control, and a
# crash leaves its input in BUILD_DIR (crash-*).  Exit status: libFuzzer's
# (0: nothing found).
set -eu
secs=${1:?usage: run-fuzz.sh SECONDS [BUILD_DIR]}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$src/build/fuzz-core}
command -v clang >/dev/null || { echo "run-fuzz.sh: clang missing" >&2; exit 1; }

mkdir -p "$build"
cd "$build"
if [ -f config.status ] && ! grep -qx "srcdir='$src'" config.status; then
    echo "run-fuzz.sh: $build was configured from another source tree;" \
        "configuring it afresh" >&2
    cd / && rm -rf "$build" && mkdir -p "$build" && cd "$build"
fi
if [ ! -f config.status ]; then
    "$src/configure" -q --enable-fuzzing CC=clang \
        CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
        LDFLAGS="-fsanitize=address,undefined"
fi
make -j2 -C hypervisor fuzz_control >/dev/null
mkdir -p corpus-control
exec ./hypervisor/fuzz_control -max_total_time="$secs" -max_len=4096 \
    -timeout=10 corpus-control
