#!/bin/sh
# xendomains.sh - hotplug/xendomains with two counter guests
# (test-pvh-counter) in an auto folder of the test's own, its settings
# from a file as Debian's /etc/default/xendomains (XENDOMAINS_CONFIG)
# and the environment:
#  - start creates both, a second start leaves them alone, status 0;
#  - stop saves both to XENDOMAINS_SAVE/<name>, leaving no domain;
#    status 3, naming the images;
#  - start restores both (their counts going on, the images removed) and
#    creates neither again;
#  - stop with saving off (XENDOMAINS_SAVE= in the environment) shuts
#    them down instead, waiting XENDOMAINS_STOP_MAXWAIT seconds (the
#    counter guest ignores the power button: it says so, status 1).
. "$(dirname "$0")/lib.sh"
XENDOMAINS=${XENDOMAINS:-$BUILD/hotplug/xendomains}
[ -f "$XENDOMAINS" ] || hard_error "no xendomains at $XENDOMAINS"
setup_host

mkdir -p "$T/auto"
for n in xdt-one xdt-two; do
    cat >"$T/auto/$n.cfg" <<CFG
name = "$n"
type = "pvh"
kernel = "$GUESTS/test-pvh-counter"
memory = 32
vcpus = 1
CFG
done
cat >"$T/xendomains" <<CFG
XENDOMAINS_SAVE=$T/save
XENDOMAINS_RESTORE=true
XENDOMAINS_AUTO=$T/auto
XENDOMAINS_STOP_MAXWAIT=30
CFG
export XENDOMAINS_CONFIG="$T/xendomains" XL="$XL_BIN"

# xendomains ACTION: output in $T/xd.out, status in $xdrc; with the
# environment's overrides in $xd_env (VAR=VALUE words).
xd_env=""
xendomains()
{
    # shellcheck disable=SC2086
    env $xd_env sh "$XENDOMAINS" "$1" >"$T/xd.out" 2>&1 </dev/null
    xdrc=$?
    [ -z "$XL_TEST_VERBOSE" ] || cat "$T/xd.out" >&2
}

counting()
{
    id=$(domid_of "$1")
    [ -n "$id" ] && wait_until '[ "$(last_count '"$id"')" -ge 10 ]' 30
}

xendomains start
if [ "$xdrc" = 0 ] && counting xdt-one && counting xdt-two; then
    pass "start: both auto guests created and counting"
else
    fail "start: rc=$xdrc $(cat "$T/xd.out") $("$XL_BIN" list)"
fi
ids="$(domid_of xdt-one) $(domid_of xdt-two)"
xendomains start
[ "$xdrc" = 0 ] && [ "$(domid_of xdt-one) $(domid_of xdt-two)" = "$ids" ] &&
    [ "$(grep -c "already running" "$T/xd.out")" = 2 ] &&
    pass "start again: both left alone" ||
    fail "start again: rc=$xdrc $(cat "$T/xd.out")"
xendomains status
[ "$xdrc" = 0 ] && pass "status: 0 with both running" ||
    fail "status: rc=$xdrc $(cat "$T/xd.out")"

# ---- stop: both saved
b1=$(last_count "$(domid_of xdt-one)")
b2=$(last_count "$(domid_of xdt-two)")
xendomains stop
if [ "$xdrc" = 0 ] && [ -s "$T/save/xdt-one" ] && [ -s "$T/save/xdt-two" ] &&
    [ "$(head -c 16 "$T/save/xdt-one")" = "Xen saved domain" ]; then
    pass "stop: both saved to XENDOMAINS_SAVE/<name>"
else
    fail "stop: rc=$xdrc $(cat "$T/xd.out") $(ls -l "$T/save" 2>&1)"
fi
assert_clean "after stop"
xendomains status
[ "$xdrc" = 3 ] && grep -q "xdt-one is saved in $T/save/xdt-one" \
    "$T/xd.out" && pass "status: 3, naming the saved images" ||
    fail "status after stop: rc=$xdrc $(cat "$T/xd.out")"

# ---- start: both restored, counting on
xendomains start
if [ "$xdrc" = 0 ] && [ -z "$(ls "$T/save")" ] &&
    ! grep -q "^Starting" "$T/xd.out"; then
    pass "start: both restored (images removed, nothing created anew)"
else
    fail "start after stop: rc=$xdrc $(cat "$T/xd.out") $(ls "$T/save")"
fi
for g in "xdt-one $b1" "xdt-two $b2"; do
    set -- $g
    id=$(domid_of "$1")
    if [ -n "$id" ] &&
        wait_until '[ "$(last_count '"$id"')" -gt '"$2"' ]' 20 &&
        r=$(counts_continue "$id" "$2"); then
        pass "start: $1 counts on ($r, $2 before stop)"
    else
        fail "start: $1: id '$id' $r"
    fi
done

# ---- stop with saving off: shut down instead
xd_env="XENDOMAINS_SAVE= XENDOMAINS_STOP_MAXWAIT=2"
xendomains stop
xd_env=""
if [ "$xdrc" = 1 ] && [ ! -e "$T/save/xdt-one" ] &&
    [ "$(grep -c "^Shutting down Xen domain" "$T/xd.out")" = 2 ] &&
    grep -q "still running after 2 s" "$T/xd.out"
then
    pass "stop without saving: shut down, waited, said which run on"
else
    fail "stop without saving: rc=$xdrc $(cat "$T/xd.out")"
fi
for n in xdt-one xdt-two; do
    "$XL_BIN" destroy "$n" >/dev/null 2>&1
done
assert_clean "at the end"
finish
