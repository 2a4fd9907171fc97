#!/bin/sh
# install.sh - "make install" into a DESTDIR installs the sample
# configuration share/xenolith/examples/hello.cfg (xl) and the guest it
# boots, libexec/xenolith/guests/test-pvh-hello (tests/guests), the only
# guest installed; the configuration's kernel names the installed guest,
# and (with root and /dev/kvm) that installed guest boots with xl and says
# hello on its console.
. "$(dirname "$0")/lib.sh"

D=$(mktemp -d /tmp/xl-install.XXXXXX) || hard_error "mktemp"
trap 'rm -rf "$D"' EXIT     # setup_host replaces it: see the end
dest=$D/dest
make -s -C "$BUILD/xl" install-examplesDATA DESTDIR="$dest" \
    >"$D/log" 2>&1 || { cat "$D/log"; hard_error "make install in xl"; }
make -s -C "$BUILD/tests/guests" install DESTDIR="$dest" \
    >"$D/log" 2>&1 || { cat "$D/log"; hard_error "make install in guests"; }

cfg=$(find "$dest" -path '*/xenolith/examples/hello.cfg')
guest=$(find "$dest" -path '*/xenolith/guests/test-pvh-hello')
[ -n "$cfg" ] && [ -f "$cfg" ] && pass "hello.cfg installed" ||
    fail "no share/xenolith/examples/hello.cfg under $dest"
[ -n "$guest" ] && [ -x "$guest" ] && cmp -s "$guest" "$GUESTS/test-pvh-hello" &&
    pass "test-pvh-hello installed" ||
    fail "no executable libexec/xenolith/guests/test-pvh-hello under $dest"
left=$(find "$dest" -name 'test-pvh-*' ! -name test-pvh-hello)
[ -z "$left" ] && pass "no other guest installed" ||
    fail "test-only guests installed: $left"
kernel=$(sed -n 's/^kernel = "\(.*\)"$/\1/p' "$cfg" 2>/dev/null)
[ -n "$kernel" ] && [ "$dest$kernel" = "$guest" ] &&
    pass "hello.cfg's kernel is the installed guest ($kernel)" ||
    fail "hello.cfg's kernel '$kernel' is not the installed $guest"
grep -q '@' "$cfg" && fail "unsubstituted variables in $cfg"

# Boot the installed guest with the installed config (its kernel path
# moved under DESTDIR, nothing else changed).
if [ "$(id -u)" = 0 ] && [ -w /dev/kvm ] && [ -n "$guest" ]; then
    setup_host
    sed "s|^kernel = .*|kernel = \"$dest$kernel\"|" "$cfg" >"$T/hello.cfg"
    python3 "$(dirname "$0")/ptyrun.py" 10 "$XL_BIN" create -e -c \
        "$T/hello.cfg" >"$T/pty" 2>&1
    grep -q "Hello from test-pvh-hello" "$T/pty" &&
        grep -q "Test result: SUCCESS" "$T/pty" &&
        pass "the installed guest boots and says hello" ||
        fail "create -c with the installed config: $(cat "$T/pty")"
    run_xl destroy hello
    assert_clean "at the end"
else
    echo "note: not root or no /dev/kvm: the installed guest was not booted"
fi
rm -rf "$D"
finish
