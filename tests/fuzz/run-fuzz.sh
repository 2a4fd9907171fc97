#!/bin/sh
# run-fuzz.sh SECONDS [TARGET...]: build the libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) in a build folder of their own and
# run every target (or the ones named) in turn, SECONDS split evenly
# between them (at least 1 s each).  Targets: fuzz_xenstored,
# fuzz_xenstored_engine, fuzz_dom_image, fuzz_control, fuzz_stream,
# fuzz_vhost_user, fuzz_virtio_pci.  Exits 0 when nothing was found,
# 1 on any crash, leak, sanitizer report or timeout (the reproducer is left
# in the target's artifact folder and named on stderr; the other targets
# still run), 2 on a usage or build error.
#
# Environment:
#   FUZZ_BUILDDIR  build folder (default build/fuzz-store in the source
#                  tree); one configured from another source tree is
#                  configured afresh
#   FUZZ_WORKDIR   where each target's growing corpus and crash artifacts
#                  go, in a folder named after it (default
#                  $FUZZ_BUILDDIR/run)
#   FUZZ_JOBS      make -j value (default 2)
#   CC             clang binary (default clang)
#   FUZZ_ARGS      extra libFuzzer arguments
set -u

all_targets="fuzz_xenstored fuzz_xenstored_engine fuzz_dom_image fuzz_control \
fuzz_stream fuzz_vhost_user fuzz_virtio_pci"

usage() {
    echo "usage: $0 SECONDS [TARGET...] (targets: $all_targets)" >&2
    exit 2
}
[ $# -ge 1 ] || usage
case $1 in
    ''|*[!0-9]*) usage ;;
esac
seconds=$1
shift
targets=${*:-$all_targets}
ntargets=0
for t in $targets; do
    case " $all_targets " in
        *" $t "*) ntargets=$((ntargets + 1)) ;;
        *) echo "run-fuzz: unknown target $t" >&2; usage ;;
    esac
done
per=$((seconds / ntargets))
[ "$per" -ge 1 ] || per=1

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILDDIR:-$top/build/fuzz-store}
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
# A folder configured from another checkout would build that checkout's
# sources: only reuse one whose config.status names this tree.
if [ -f "$build/config.status" ] &&
    ! grep -qx "srcdir='$top'" "$build/config.status"; then
    echo "run-fuzz: $build was configured from another source tree;" \
        "configuring it afresh"
    # Its dependency files name the other tree's sources: start empty.
    rm -rf "$build" && mkdir -p "$build" || exit 2
fi
if [ ! -f "$build/Makefile" ] || [ "$top/configure" -nt "$build/Makefile" ]
then
    if [ ! -x "$top/configure" ]; then
        (cd "$top" && autoreconf -fi) >/dev/null || exit 2
    fi
    echo "run-fuzz: configuring $build"
    (cd "$build" && "$top/configure" -q --enable-fuzzing --disable-shared \
        CC="$cc" CFLAGS="$cflags" LDFLAGS="$san") || exit 2
fi
echo "run-fuzz: building $targets"
# the engine links libxenstore's string helpers (libxs_lib.la)
make -s -C "$build/libs/store" -j"$jobs" libxs_lib.la >/dev/null || exit 2
make -s -C "$build/xenstored" -j"$jobs" libxsdaemon.a libxsengine.la \
    >/dev/null || exit 2
make -s -C "$build/libs/proto" -j"$jobs" libxenproto.la >/dev/null || exit 2
make -s -C "$build/libs/stream" -j"$jobs" libxenstream.la >/dev/null || exit 2
# shellcheck disable=SC2086
make -s -C "$build/tests/fuzz" -j"$jobs" $targets >/dev/null || exit 2

failed=""
for t in $targets; do
    # fuzz_control builds its seeds (its replay runs them): none on disk;
    # a target that can write its built-in seeds (FUZZ_SEED_DIR, read by
    # its LLVMFuzzerInitialize: fuzz_vhost_user, fuzz_virtio_pci) puts
    # them in its corpus
    seeds="$here/corpus/${t#fuzz_}"
    [ -d "$seeds" ] || seeds=
    corpus="$work/$t/corpus"
    artifacts="$work/$t/artifacts"
    mkdir -p "$corpus" "$artifacts" || exit 2
    echo "run-fuzz: $t for $per s (corpus $corpus)"
    # detect_leaks: leaks fail the run; -timeout: a stall of 10 s on one
    # input counts as a finding; the committed seeds are read, new inputs
    # go to $corpus.
    # shellcheck disable=SC2086
    FUZZ_SEED_DIR="$corpus" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/$t" \
        -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} \
        "$corpus" $seeds
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "run-fuzz: $t FAILED (exit $rc); reproducers in $artifacts:" >&2
        ls -l "$artifacts" >&2
        echo "run-fuzz: replay one with $build/tests/fuzz/$t FILE or any" \
             "build's tests/fuzz/${t}_replay FILE" >&2
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "run-fuzz: findings in:$failed" >&2
    exit 1
fi
echo "run-fuzz: no crash, leak or timeout in $seconds s ($targets)"
exit 0
