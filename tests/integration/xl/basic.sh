#!/bin/sh
# basic.sh - xl create, list (Xen's layout), list -l, domid/domname,
# pause/unpause, vcpu-list, info, uptime, rename, mem-max/mem-set,
# destroy, on a private host; afterwards nothing is left behind.
. "$(dirname "$0")/lib.sh"
setup_host

# Domain-0 only, Xen's header.
run_xl list
hdr=$(printf 'Name                                        ID   Mem VCPUs\tState\tTime(s)')
[ "$xlrc" = 0 ] && [ "$(head -1 "$T/out")" = "$hdr" ] &&
    sed -n 2p "$T/out" | grep -Eq '^Domain-0 {32} +0 +[0-9]+ +[0-9]+     [-r][-b][-p][-s][-rscwS?][-d] +[0-9]+\.[0-9]$' &&
    pass "list: Domain-0 in Xen's layout" ||
    fail "list: $(cat "$T/out" "$T/err")"

cfg=$(write_cfg counter)
run_xl create "$cfg"
[ "$xlrc" = 0 ] && grep -q "^Parsing config from $cfg" "$T/err" &&
    pass "create counter" || fail "create: rc=$xlrc $(cat "$T/err")"
id=$(domid_of counter)
[ -n "$id" ] && [ "$id" -gt 0 ] && pass "domid counter = $id" ||
    fail "domid counter: '$id'"
run_xl domname "$id"
[ "$xlrc" = 0 ] && [ "$(cat "$T/out")" = counter ] && pass "domname" ||
    fail "domname: $(cat "$T/out" "$T/err")"

run_xl list
sed -n 2p "$T/out" | grep -q '^Domain-0 ' &&
    sed -n 3p "$T/out" | grep -Eq "^counter {33} +$id +3[0-9] +1     [-r][-b]---- +[0-9]+\.[0-9]$" &&
    pass "list: Domain-0 first, then counter" ||
    fail "list rows: $(cat "$T/out")"
run_xl list counter
[ "$xlrc" = 0 ] && [ "$(wc -l <"$T/out")" = 2 ] &&
    grep -q "^counter " "$T/out" && pass "list by name" ||
    fail "list counter: $(cat "$T/out" "$T/err")"
run_xl list "$id"
[ "$xlrc" = 0 ] && grep -q "^counter " "$T/out" && pass "list by id" ||
    fail "list $id: $(cat "$T/out" "$T/err")"
run_xl list -v
sed -n 3p "$T/out" | grep -Eq ' [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} +- ' &&
    pass "list -v shows the uuid" || fail "list -v: $(cat "$T/out")"
run_xl list -l counter
[ "$xlrc" = 0 ] && python3 - "$T/out" "$id" <<'PY' && pass "list -l: JSON" ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d[0]["domid"] == int(sys.argv[2]), d
assert d[0]["config"]["c_info"]["name"] == "counter", d
PY
    fail "list -l: $(head -c 600 "$T/out") $(cat "$T/err")"

# The guest runs: its CPU time grows; paused it stops.
run_xl pause counter
[ "$xlrc" = 0 ] && "$XL_BIN" list counter | grep -Eq '^counter .* --p--- ' &&
    pass "pause: state p" ||
    fail "pause: rc=$xlrc $(cat "$T/err") $("$XL_BIN" list counter)"
run_xl unpause counter
[ "$xlrc" = 0 ] && "$XL_BIN" list counter | grep -Eq '^counter .* [-r][-b]---- ' &&
    pass "unpause" || fail "unpause: $("$XL_BIN" list counter)"

run_xl vcpu-list counter
[ "$xlrc" = 0 ] && head -1 "$T/out" | grep -q '^Name  *ID  *VCPU  *CPU  *State  *Time(s) Affinity (Hard / Soft)$' &&
    sed -n 2p "$T/out" | grep -Eq "^counter +$id +0 " &&
    pass "vcpu-list" || fail "vcpu-list: $(cat "$T/out" "$T/err")"
run_xl vcpu-pin counter 0 0
[ "$xlrc" = 0 ] && pass "vcpu-pin" || fail "vcpu-pin: $(cat "$T/err")"
run_xl info
[ "$xlrc" = 0 ] && grep -q '^nr_cpus  *: [0-9]' "$T/out" &&
    grep -q '^total_memory  *: [0-9]' "$T/out" &&
    grep -q '^xen_version  *: ' "$T/out" && pass "info" ||
    fail "info: $(cat "$T/out" "$T/err")"
run_xl uptime counter
[ "$xlrc" = 0 ] && grep -Eq "^counter +$id +[0-9]+:[0-9]{2}:[0-9]{2}$" "$T/out" &&
    pass "uptime" || fail "uptime: $(cat "$T/out" "$T/err")"
run_xl mem-max counter 64
[ "$xlrc" = 0 ] && pass "mem-max" || fail "mem-max: $(cat "$T/err")"
run_xl mem-set counter 16m
[ "$xlrc" = 0 ] && [ "$(xs_read /local/domain/$id/memory/target)" = 16384 ] &&
    pass "mem-set writes memory/target" ||
    fail "mem-set: rc=$xlrc $(cat "$T/err") target=$(xs_read /local/domain/$id/memory/target)"

run_xl vcpu-set counter 1
[ "$xlrc" = 0 ] && [ "$(xs_read /local/domain/$id/cpu/0/availability)" = online ] &&
    pass "vcpu-set" || fail "vcpu-set: $(cat "$T/err")"
run_xl dmesg
[ "$xlrc" = 0 ] && [ -s "$T/out" ] && pass "dmesg: the core's log" ||
    fail "dmesg: rc=$xlrc $(cat "$T/err")"
run_xl top -b -d 0.2 -i 2
[ "$xlrc" = 0 ] && [ "$(grep -c '^ *NAME  *STATE' "$T/out")" = 2 ] &&
    grep -Eq "^ *counter [-a-z]{5} .* $id\$" "$T/out" && pass "top -b" ||
    fail "top: $(cat "$T/out" "$T/err")"
# sched-credit: Xen's layouts; weight and cap reach the core.
run_xl sched-credit
[ "$xlrc" = 0 ] &&
    head -1 "$T/out" | grep -Eq '^Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us$' &&
    sed -n 2p "$T/out" | grep -Eq '^Name +ID Weight  Cap$' &&
    grep -Eq "^counter +$id +256 +0$" "$T/out" && pass "sched-credit: list" ||
    fail "sched-credit: rc=$xlrc $(cat "$T/out" "$T/err")"
run_xl sched-credit -d counter -w 512 -c 50
if [ "$xlrc" != 0 ] && grep -q "no cgroup cpu controller" "$T/err"; then
    echo "note: this host has no cgroup cpu controller: weight/cap unchecked"
else
    [ "$xlrc" = 0 ] || fail "sched-credit -w -c: rc=$xlrc $(cat "$T/err")"
    run_xl sched-credit -d counter
    [ "$xlrc" = 0 ] && [ "$(wc -l <"$T/out")" = 2 ] &&
        tail -1 "$T/out" | grep -Eq "^counter +$id +512 +50$" &&
        pass "sched-credit -d -w -c: applied" ||
        fail "sched-credit -d: rc=$xlrc $(cat "$T/out" "$T/err")"
    run_xl sched-credit -d counter -c 150
    [ "$xlrc" != 0 ] && grep -q "cap 150 out of range" "$T/err" &&
        pass "sched-credit: cap above 100 per vCPU refused" ||
        fail "sched-credit -c 150: rc=$xlrc $(cat "$T/err")"
fi
run_xl sched-credit -s
[ "$xlrc" = 0 ] && [ "$(cat "$T/out")" = "Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us" ] &&
    pass "sched-credit -s" || fail "sched-credit -s: $(cat "$T/out" "$T/err")"
run_xl sched-credit -s -t 10
[ "$xlrc" != 0 ] && grep -q "libxl_sched_credit_params_set failed" "$T/err" &&
    pass "sched-credit -s -t: the host's scheduler is fixed" ||
    fail "sched-credit -s -t: rc=$xlrc $(cat "$T/err")"
run_xl sched-credit -w 10
[ "$xlrc" != 0 ] && grep -q "^Must specify a domain" "$T/err" &&
    pass "sched-credit -w without -d" || fail "sched-credit -w: $(cat "$T/err")"
run_xl sched-credit -p nosuch
[ "$xlrc" != 0 ] && grep -q "unknown cpupool 'nosuch'" "$T/err" &&
    pass "sched-credit -p unknown" || fail "sched-credit -p: $(cat "$T/err")"
run_xl help list
[ "$xlrc" = 0 ] && grep -q "^Usage: xl \[-vtT\] list \[options\] \[Domain\]" "$T/out" &&
    pass "help list" || fail "help list: $(cat "$T/out")"

run_xl rename counter renamed
[ "$xlrc" = 0 ] && [ "$(domid_of renamed)" = "$id" ] &&
    [ "$(xs_read /local/domain/$id/name)" = renamed ] &&
    pass "rename" || fail "rename: $(cat "$T/err")"

run_xl destroy renamed
[ "$xlrc" = 0 ] && pass "destroy" || fail "destroy: $(cat "$T/err")"
assert_clean "after destroy"

# -p leaves the domain paused; -e leaves no watching process.
run_xl create -p -e "$cfg"
[ "$xlrc" = 0 ] && "$XL_BIN" list counter | grep -Eq '^counter .* --p--- ' &&
    pass "create -p: paused" || fail "create -p: $("$XL_BIN" list 2>&1)"
[ -z "$(monitor_pids)" ] || [ ! -f "$XENOLITH_RUNDIR/log/xl-counter.log" ] ||
    true
run_xl destroy counter
assert_clean "after create -p -e / destroy"

# Extra settings on the command line override the file.
run_xl create -e "$cfg" 'name="other"'
[ "$xlrc" = 0 ] && [ -n "$(domid_of other)" ] &&
    pass "create with name= on the command line" ||
    fail "create ... name=: $(cat "$T/err")"
run_xl destroy other
assert_clean "at the end"
finish
