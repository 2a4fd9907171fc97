#!/bin/sh
# bench/boot/lane.sh - create-to-shell of the Debian guest
# (tests/fixtures/debian-guest.sh, vmlinuz, 256 MiB, 2 vCPUs) on the core,
# in the nested-KVM lane where the host's KVM cannot run it, next to the
# same guest as a PVH guest under qemu (TCG where the host has no KVM),
# in one run: tests/integration/dm/core.sh and dm/pvh.sh, RUNS times
# each, interleaved.  Prints every boot's "time:" line and the medians.
#
# Usage: bench/boot/lane.sh [BUILD_DIR]      (default ".", built)
# Env:   RUNS (default 3); XENOLITH_LANE as for the tests.
set -eu

build=$(cd "${1:-.}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
runs=${RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "lane.sh: needs root"; exit 77; }
[ -x "$build/xl/xl" ] || { echo "lane.sh: $build/xl/xl missing: build first" >&2; exit 1; }
out=$(mktemp -d /tmp/lane-bench.XXXXXX)
export LANE_BUILDDIR=$build BUILD=$build
export DM_FIXTURE=$src/tests/fixtures/debian-guest.sh CORE_KINDS=bzimage
trap 'rm -rf "$out"; python3 "$src/tests/lane/lane.py" down >/dev/null 2>&1 || true' EXIT
cd "$build/tests/integration"
echo "lane bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
i=0
while [ $i -lt "$runs" ]; do
    python3 "$src/tests/lane/lane.py" run --needs linux -- \
        "$src/tests/integration/dm/core.sh" >"$out/core.$i" 2>&1 ||
        echo "run $i: dm/core.sh failed: $(grep -m3 '^FAIL' "$out/core.$i")"
    sh "$src/tests/integration/dm/pvh.sh" >"$out/pvh.$i" 2>&1 ||
        echo "run $i: dm/pvh.sh failed: $(grep -m3 '^FAIL' "$out/pvh.$i")"
    grep -h "^time: .*first boot" "$out/core.$i" "$out/pvh.$i" || true
    i=$((i + 1))
done
python3 - "$out" <<'PY'
import glob, re, statistics, sys
for label, pat in (("core, in the lane", "core.*"), ("qemu, on the host", "pvh.*")):
    secs = []
    for f in sorted(glob.glob(sys.argv[1] + "/" + pat)):
        for line in open(f, errors="replace"):
            m = re.match(r"time: \S+ first boot: shell after ([\d.]+) s", line)
            if m:
                secs.append(float(m.group(1)))
    if secs:
        print("%-18s %d boots, median %.2f s (min %.2f, max %.2f)"
              % (label, len(secs), statistics.median(secs), min(secs), max(secs)))
    else:
        print("%-18s no boot reached its shell" % label)
PY
