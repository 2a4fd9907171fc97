#!/bin/sh
# run-fuzz.sh SECONDS: build the libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) in a build folder of their own and
# run fuzz_xenstored for SECONDS.  Exits 0 when nothing was found, 1 on any
# crash, leak, sanitizer report or timeout (the reproducer is left in the
# artifact folder and named on stderr), 2 on a usage or build error.
#
# Environment:
#   FUZZ_BUILDDIR  build folder (default ${TMPDIR:-/tmp}/xenolith-fuzz-build)
#   FUZZ_WORKDIR   where the growing corpus and crash artifacts go
#                  (default $FUZZ_BUILDDIR/run)
#   FUZZ_JOBS      make -j value (default 2)
#   CC             clang binary (default clang)
#   FUZZ_ARGS      extra libFuzzer arguments
set -u

usage() {
    echo "usage: $0 SECONDS" >&2
    exit 2
}
[ $# -eq 1 ] || usage
case $1 in
    ''|*[!0-9]*) usage ;;
esac
seconds=$1

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILDDIR:-${TMPDIR:-/tmp}/xenolith-fuzz-build}
work=${FUZZ_WORKDIR:-$build/run}
jobs=${FUZZ_JOBS:-2}
cc=${CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "run-fuzz: $cc not found (apt-get install clang libclang-rt-dev)" >&2
    exit 2
fi

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
# Compile: coverage instrumentation without libFuzzer's main; warnings are
# the ordinary build's business, not this one's.
cflags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $san \
-Wno-error"

mkdir -p "$build" || exit 2
if [ ! -f "$build/Makefile" ] || [ "$top/configure" -nt "$build/Makefile" ]
then
    if [ ! -x "$top/configure" ]; then
        (cd "$top" && autoreconf -fi) >/dev/null || exit 2
    fi
    echo "run-fuzz: configuring $build"
    (cd "$build" && "$top/configure" -q --enable-fuzzing --disable-shared \
        CC="$cc" CFLAGS="$cflags" LDFLAGS="$san") || exit 2
fi
echo "run-fuzz: building fuzz_xenstored"
make -s -C "$build/xenstored" -j"$jobs" libxsdaemon.a libxsengine.la \
    >/dev/null || exit 2
make -s -C "$build/tests/fuzz" -j"$jobs" fuzz_xenstored >/dev/null || exit 2

corpus="$work/corpus"
artifacts="$work/artifacts"
mkdir -p "$corpus" "$artifacts" || exit 2
echo "run-fuzz: fuzzing for $seconds s (corpus $corpus)"
# detect_leaks: leaks fail the run; -timeout: a stall of 10 s on one input
# counts as a finding; the committed seeds are read, new inputs go to
# $corpus.
# shellcheck disable=SC2086
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$build/tests/fuzz/fuzz_xenstored" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} \
    "$corpus" "$here/corpus/xenstored"
rc=$?
if [ $rc -ne 0 ]; then
    echo "run-fuzz: FAILED (exit $rc); reproducers in $artifacts:" >&2
    ls -l "$artifacts" >&2
    echo "run-fuzz: replay one with $build/tests/fuzz/fuzz_xenstored FILE" \
         "or any build's tests/fuzz/fuzz_xenstored_replay FILE" >&2
    exit 1
fi
echo "run-fuzz: no crash, leak or timeout in $seconds s"
exit 0
