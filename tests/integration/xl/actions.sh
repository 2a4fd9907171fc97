#!/bin/sh
# actions.sh - the xl process watching each domain applies on_poweroff,
# on_reboot and on_crash as Xen's xl does (destroy, preserve, restart,
# rename-restart, coredump-destroy), with guests that power off, reboot
# and crash; xl shutdown/reboot of a guest without PV control; -F keeps
# the watcher in the foreground.
. "$(dirname "$0")/lib.sh"
setup_host

gone() { [ -z "$(domid_of "$1")" ]; }
state_of() { "$XL_BIN" list "$1" 2>/dev/null | sed -n '2s/.* \([-a-zS?]\{6\}\) .*/\1/p'; }
log_has() { grep -q "$2" "$XENOLITH_RUNDIR/log/xl-$1.log" 2>/dev/null; }

# on_poweroff = destroy (the default): the domain goes, the watcher too.
cfg=$(write_cfg poweroff)
run_xl create "$cfg"
[ "$xlrc" = 0 ] || fail "create poweroff: $(cat "$T/err")"
wait_until "gone poweroff" 10 &&
    log_has poweroff "Action for shutdown reason code 0 is destroy" &&
    pass "on_poweroff=destroy" ||
    fail "on_poweroff=destroy: $("$XL_BIN" list) $(cat "$XENOLITH_RUNDIR"/log/xl-poweroff.log)"
assert_clean "after on_poweroff=destroy"

# on_poweroff = preserve: it stays, shut down ('s', reason '-').
cfg=$(write_cfg poweroff 'on_poweroff = "preserve"')
run_xl create "$cfg"
wait_until '[ "$(state_of poweroff)" = "---s--" ]' 10 &&
    log_has poweroff "is preserve" && pass "on_poweroff=preserve" ||
    fail "on_poweroff=preserve: $("$XL_BIN" list)"
run_xl destroy poweroff
assert_clean "after preserve + destroy"

# on_crash = destroy / coredump-destroy / preserve.
cfg=$(write_cfg crash 'on_crash = "destroy"')
run_xl create "$cfg"
wait_until "gone crash" 10 &&
    log_has crash "Action for shutdown reason code 3 is destroy" &&
    pass "on_crash=destroy" || fail "on_crash=destroy: $("$XL_BIN" list)"
assert_clean "after on_crash=destroy"
cfg=$(write_cfg crash 'on_crash = "coredump-destroy"')
run_xl create "$cfg"
wait_until "gone crash" 10 && [ -s "$XENOLITH_DUMPDIR/crash" ] &&
    head -c 4 "$XENOLITH_DUMPDIR/crash" | grep -q "ELF" &&
    pass "on_crash=coredump-destroy: ELF core in the dump dir" ||
    fail "coredump-destroy: $(ls -la "$XENOLITH_DUMPDIR" 2>&1)"
assert_clean "after coredump-destroy"
cfg=$(write_cfg crash 'on_crash = "preserve"')
run_xl create "$cfg"
wait_until '[ "$(state_of crash)" = "---sc-" ]' 10 &&
    pass "on_crash=preserve: state ---sc-" ||
    fail "on_crash=preserve: $("$XL_BIN" list)"
run_xl destroy crash
assert_clean "after on_crash=preserve"

# on_reboot = restart (default): a new domain, same name, new id.
cfg=$(write_cfg reboot 'on_reboot = "restart"')
run_xl create -p "$cfg"
first=$(domid_of reboot)
[ -n "$first" ] || fail "create -p reboot: $(cat "$T/err")"
run_xl unpause reboot
# The guest reboots again at once: the watcher keeps restarting it.
nwait() { grep -c "Waiting for domain reboot" "$XENOLITH_RUNDIR/log/xl-reboot.log"; }
wait_until '[ "$(nwait)" -ge 3 ]' 15 &&
    grep -q "Waiting for domain reboot (domid $((first + 2)))" \
        "$XENOLITH_RUNDIR/log/xl-reboot.log" &&
    pass "on_reboot=restart: restarted twice (ids $first, $((first + 1)), $((first + 2)))" ||
    fail "on_reboot=restart: first=$first $("$XL_BIN" list) $(cat "$XENOLITH_RUNDIR/log/xl-reboot.log")"
# The guest reboots forever: stop its watcher, then destroy.
for p in $(monitor_pids); do kill "$p" 2>/dev/null; done
wait_until '[ -z "$(for p in $(monitor_pids); do exited $p || echo $p; done)" ]' 5
for d in $("$XL_BIN" list | awk 'NR > 2 { print $1 }'); do
    "$XL_BIN" destroy "$d"
done
assert_clean "after on_reboot=restart"

# on_reboot = rename-restart: the old one kept as reboot-<time>.
rm -f "$XENOLITH_RUNDIR"/log/xl-*.log
cfg=$(write_cfg reboot 'on_reboot = "rename-restart"')
run_xl create "$cfg"
wait_until '"$XL_BIN" list | grep -Eq "^reboot-[0-9]{8}T[0-9]{4}Z "' 10 &&
    pass "on_reboot=rename-restart: preserved as $("$XL_BIN" list | grep -Eo '^reboot-[0-9T]*Z')" ||
    fail "rename-restart: $("$XL_BIN" list)"
for p in $(monitor_pids); do kill "$p" 2>/dev/null; done
sleep 0.5
for d in $("$XL_BIN" list | awk 'NR > 2 { print $1 }'); do
    "$XL_BIN" destroy "$d"
done
assert_clean "after rename-restart"

# create -F: the watcher stays in the foreground and ends with the domain.
rm -f "$XENOLITH_RUNDIR"/log/xl-*.log
cfg=$(write_cfg poweroff)
timeout 20 "$XL_BIN" create -F "$cfg" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 0 ] && grep -q "Waiting for domain poweroff" "$T/err" &&
    grep -q "Done. Exiting now" "$T/err" && gone poweroff &&
    pass "create -F: foreground until the domain is gone" ||
    fail "create -F: rc=$rc $(cat "$T/err")"
assert_clean "after create -F"

# shutdown/reboot of a guest without PV control (every guest here: the
# Xen guest ABI is out of reach): the ACPI power button, the guest
# decides; the counter guest ignores it and keeps running.  -F does the
# same.
cfg=$(write_cfg counter)
run_xl create "$cfg"
for how in "" -F; do
    run_xl shutdown $how counter
    sleep 1
    [ "$xlrc" = 0 ] && ! gone counter &&
        state_of counter | grep -Eq '^[-rb]{2}----$' &&
        pass "shutdown $how: a guest ignoring the button keeps running" ||
        fail "shutdown $how counter: rc=$xlrc $(cat "$T/err") $("$XL_BIN" list)"
done
# reboot without PV control: a reset; on_reboot=restart brings it back
# under a new domid.
old=$("$XL_BIN" domid counter)
run_xl reboot counter
[ "$xlrc" = 0 ] &&
    wait_until '[ "$("$XL_BIN" domid counter 2>/dev/null)" != "$old" ] &&
        ! gone counter' 10 &&
    pass "reboot without PV control: reset, back as a new domain" ||
    fail "reboot counter: rc=$xlrc $(cat "$T/err") $("$XL_BIN" list)"
run_xl destroy counter
assert_clean "after destroying counter"
# test-pvh-pwrbtn powers off on the button; -w waits for the end.
cfg=$(write_cfg pwrbtn)
run_xl create "$cfg"
run_xl shutdown -F -w pwrbtn
[ "$xlrc" = 0 ] && wait_until "gone pwrbtn" 5 &&
    pass "shutdown -F -w: the guest powered off on the button" ||
    fail "shutdown -F -w: rc=$xlrc $(cat "$T/err") $("$XL_BIN" list)"
assert_clean "after shutdown -F"
sed 's/^name = .*/name = "pwrbtn2"/' "$cfg" >"$T/pwrbtn2.cfg"
run_xl create "$cfg"
run_xl create "$T/pwrbtn2.cfg"
run_xl shutdown -a -F -w
[ "$xlrc" = 0 ] && wait_until "gone pwrbtn && gone pwrbtn2" 5 &&
    pass "shutdown -a -F -w" ||
    fail "shutdown -a: rc=$xlrc $(cat "$T/err") $("$XL_BIN" list)"
assert_clean "at the end"
finish
