#!/bin/sh
# install-example.sh - "make install" the libraries into a DESTDIR, build
# docs/examples/list-domains.c against them with pkg-config (as a user of
# the installed package would: PKG_CONFIG_PATH into the DESTDIR, with
# PKG_CONFIG_SYSROOT_DIR), and run it against a private xenstored and
# xenolithd found through the environment.
# Skips (77) without /dev/kvm, pkg-config or a C compiler.
set -u
top=${LIGHT_TOP_BUILDDIR:?}
src=${LIGHT_TOP_SRCDIR:?}
CC=${CC:-cc}
[ -r /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
command -v pkg-config >/dev/null || { echo "SKIP: no pkg-config"; exit 77; }
command -v "$CC" >/dev/null || { echo "SKIP: no $CC"; exit 77; }

tmp=$(mktemp -d /tmp/xenolith-light-install-XXXXXX) || exit 99
run=$tmp/run
mkdir -p "$run"
xs_pid=
cleanup() {
    [ -f "$run/xenolithd.pid" ] && kill "$(cat "$run/xenolithd.pid")" \
        2>/dev/null
    [ -n "$xs_pid" ] && kill "$xs_pid" 2>/dev/null
    sleep 0.2
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -20 "$tmp/log"; exit 1; }

# libtool relinks a library as it installs it, rewriting it in .libs for
# a moment: tests running beside this one (make -j) would load a broken
# libxenlight.so (seen: "invalid ELF header" in xl/console.sh).  So the
# install runs in a copy of the libraries' part of the build tree (with
# qemu-dm, whose libxendm libxenlight links).
bt=$tmp/build
mkdir -p "$bt"
touch "$tmp/stamp"
cp -a "$top/libtool" "$top/config.h" "$top/config.status" "$top/libs" \
    "$top/qemu-dm" "$bt/" ||
    fail "copying the build tree's libraries to $bt"
# libtool's relink commands (in the .la files) and the Makefiles name the
# build tree by its absolute path: point the copy's at the copy, keeping
# each file's time so that make finds nothing to redo.
grep -rlI -F "$top" "$bt" | while IFS= read -r f; do
    sed -i "s|$top|$bt|g" "$f" && touch -r "$top/${f#"$bt"/}" "$f" || exit 1
done || fail "pointing the copy at $bt"
dest=$tmp/dest
for d in libs/store libs/ctrl libs/light; do
    make -s -C "$bt/$d" install DESTDIR="$dest" >"$tmp/log" 2>&1 ||
        fail "make install in $d"
done
touched=$(find "$top/libs" -newer "$tmp/stamp" | head -5)
[ -z "$touched" ] || fail "make install changed the build tree: $touched"
pc=$(find "$dest" -name xenlight.pc | head -1)
[ -n "$pc" ] || fail "xenlight.pc not installed under $dest"
pcdir=$(dirname "$pc")
libdir=${pcdir%/pkgconfig}
libdir=${libdir#"$dest"}
grep -q '@' "$pc" && fail "unsubstituted variables in $pc: $(cat "$pc")"

export PKG_CONFIG_PATH="$dest$libdir/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$dest"
flags=$(pkg-config --cflags --libs xenlight) || fail "pkg-config xenlight"
inc=$(pkg-config --variable=includedir xenlight)
for h in libxl.h libxl_event.h libxl_utils.h libxl_types.h libxl_json.h \
         xentoollog.h; do
    [ -f "$inc/$h" ] || fail "$h not installed in $inc"
done
# A sanitizer build's library needs its runtime in the program too.
san=
ldd "$dest$libdir/libxenlight.so" | grep -q libasan &&
    san="-fsanitize=address,undefined"
# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Wextra -Werror $san -o "$tmp/list-domains" \
    "$src/docs/examples/list-domains.c" $flags \
    -Wl,-rpath-link,"$dest$libdir" >"$tmp/log" 2>&1 ||
    fail "building the example with: $flags"

# the private daemons
export XENOLITH_RUNDIR="$run" XENSTORED_RUNDIR="$run/xenstored"
export XENSTORED_PATH="$run/xenstored/socket"
"$top/xenstored/xenstored" -N -L "$run/xenstored.log" &
xs_pid=$!
"$top/hypervisor/xenolithd" --rundir "$run" --log-file "$run/core.log" ||
    fail "starting xenolithd"
i=0
while [ ! -S "$XENSTORED_PATH" ] || [ ! -S "$run/core.sock" ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "daemons did not come up"
    sleep 0.01
done

LD_LIBRARY_PATH="$dest$libdir" "$tmp/list-domains" >"$tmp/out" \
    2>"$tmp/err" || { cat "$tmp/err"; fail "list-domains failed"; }
grep -q '^Name' "$tmp/out" || fail "no header: $(cat "$tmp/out")"
grep -Eq '^Domain-0 +0 ' "$tmp/out" || fail "no Domain-0: $(cat "$tmp/out")"
# it really uses the installed library, not the build tree's
LD_LIBRARY_PATH="$dest$libdir" ldd "$tmp/list-domains" |
    grep -q "$dest$libdir/libxenlight.so" || fail "not linked to $dest"

# and without the daemons it says which one is missing
kill "$xs_pid"; wait "$xs_pid" 2>/dev/null; xs_pid=
LD_LIBRARY_PATH="$dest$libdir" "$tmp/list-domains" >/dev/null 2>"$tmp/err" &&
    fail "list-domains worked without xenstored"
grep -q "xenstored" "$tmp/err" || fail "error does not name xenstored: \
$(cat "$tmp/err")"
echo "PASS: installed libxenlight, built and ran list-domains"
exit 0
