#!/bin/sh
# saverestore.sh - xl save and xl restore of the counter guest
# (test-pvh-counter, which prints "counter N" forever) on the core:
#  - save writes Xen's xl savefile header (magic, byte order marker,
#    flags, the config as JSON) and the domain stream, and destroys the
#    domain; restore brings it back: in xl list, counting on from where
#    it stopped (never from 1 again);
#  - save -c leaves it running, save -p paused; restore -p leaves it
#    paused; restore CFG FILE takes the config from CFG; restore -e
#    leaves no watching process;
#  - a restore of a domain whose name is taken fails and leaves the
#    running one alone;
#  - a truncated file (in the header, in the stream), a bad magic, a
#    corrupt stream, a Xen savefile, a missing file: a clear error
#    naming the file, exit non-zero, and no domain, domain process,
#    xenstore node, stored config or watching xl left.
. "$(dirname "$0")/lib.sh"
setup_host

state_of() { "$XL_BIN" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }

# Nothing of a domain left: xl list, xenstore, watchers (assert_clean),
# the core's domain processes, libxl's stored configs.
all_gone()
{
    assert_clean "$1"
    wait_until '[ -z "$(domain_procs)" ]' 5 ||
        fail "$1: domain processes left: $(domain_procs)"
    left=$(ls "$XENOLITH_RUNDIR/libxl" 2>/dev/null | grep -v 'userdata-d\.0\.')
    [ -z "$left" ] || fail "$1: libxl files left: $left"
}

cfg=$(write_cfg counter)
run_xl create "$cfg"
[ "$xlrc" = 0 ] || hard_error "create counter: $(cat "$T/err")"
id=$(domid_of counter)
wait_until '[ "$(last_count '"$id"')" -ge 20 ]' 30 ||
    hard_error "counter does not count: $(console_ring "$id" | tail -3)"

# ---- save, then restore: the count goes on
before=$(last_count "$id")
run_xl save counter "$T/c.save"
cp "$T/err" "$T/save.err"
if [ "$xlrc" = 0 ] && [ -z "$(domid_of counter)" ]; then
    pass "save: the domain is saved and gone"
else
    fail "save: rc=$xlrc $(cat "$T/err") $("$XL_BIN" list)"
fi
all_gone "after save"
magic=$(head -c 27 "$T/c.save")
[ "$magic" = "Xen saved domain, xl format" ] &&
    grep -q "Saving to $T/c.save new xl format" "$T/save.err" &&
    pass "save: Xen's xl savefile header" ||
    fail "save: header '$magic', stderr $(cat "$T/save.err")"
# the saved config is libxl's JSON, NUL-terminated, after the header
if python3 - "$T/c.save" <<'PY'
import json, struct, sys
d = open(sys.argv[1], "rb").read()
bo, mand, opt, optlen = struct.unpack("<IIII", d[32:48])
n, = struct.unpack("<I", d[48:52])
cfg = json.loads(d[52:52 + n - 1])
assert bo == 0x01020304 and mand & 1 and d[52 + n - 1] == 0, (bo, mand)
assert cfg["c_info"]["name"] == "counter", cfg["c_info"]
assert d[48 + optlen:48 + optlen + 8] == b"XNLTDOMS"
PY
then
    pass "save: the config in the header"
else
    fail "save: the header's config (see above)"
fi

run_xl restore "$T/c.save"
id=$(domid_of counter)
if [ "$xlrc" = 0 ] && [ -n "$id" ]; then
    pass "restore: counter is back (domain $id)"
else
    hard_error "restore: rc=$xlrc $(cat "$T/err")"
fi
"$XL_BIN" list | grep -q '^counter ' && pass "restore: in xl list" ||
    fail "restore: not in xl list: $("$XL_BIN" list)"
wait_until '[ "$(last_count '"$id"')" -gt '"$before"' ]' 20
if r=$(counts_continue "$id" "$before"); then
    pass "restore: the count goes on ($r, $before before the save)"
else
    fail "restore: $r"
fi

# ---- a second restore of the same name is refused
run_xl restore "$T/c.save"
[ "$xlrc" != 0 ] && [ "$(domid_of counter)" = "$id" ] &&
    pass "restore of a running name is refused, the domain runs on" ||
    fail "restore over a running name: rc=$xlrc $(cat "$T/err")"

# ---- save -c: a checkpoint, the domain runs on
before=$(last_count "$id")
run_xl save -c counter "$T/c2.save"
if [ "$xlrc" = 0 ] && [ "$(domid_of counter)" = "$id" ] &&
    wait_until '[ "$(last_count '"$id"')" -gt '"$((before + 20))"' ]' 10 &&
    counts_continue "$id" "$before" >/dev/null; then
    pass "save -c: the domain runs on"
else
    fail "save -c: rc=$xlrc $(cat "$T/err") state $(state_of counter)"
fi
checkpoint=$(last_count "$id")

# ---- a save onto a full file system: refused, naming the file; the
# domain runs on, no partial file is left
mkdir -p "$T/full"
if mount -t tmpfs -o size=8k tmpfs "$T/full" 2>/dev/null; then
    before=$(last_count "$id")
    run_xl save counter "$T/full/c.save"
    if [ "$xlrc" != 0 ] && grep -q "$T/full/c.save" "$T/err" &&
        grep -qi "no space" "$T/err" &&
        [ "$(domid_of counter)" = "$id" ] &&
        wait_until '[ "$(last_count '"$id"')" -gt '"$before"' ]' 10 &&
        [ ! -e "$T/full/c.save" ]; then
        pass "save onto a full file system: refused by name, the domain" \
             "runs on, no file left"
    else
        fail "save onto a full file system: rc=$xlrc $(cat "$T/err")" \
             "$(ls -la "$T/full") state $(state_of counter)"
    fi
    umount "$T/full"
else
    fail "cannot mount an 8 KiB tmpfs for the full-disk case"
fi

# ---- save -p: left paused
run_xl save -p counter "$T/c3.save"
case "$xlrc $(state_of counter)" in
"0 "*p*)
    a=$(last_count "$id")
    sleep 0.5
    [ "$(last_count "$id")" = "$a" ] && pass "save -p: left paused" ||
        fail "save -p: paused but counting"
    ;;
*) fail "save -p: rc=$xlrc state $(state_of counter) $(cat "$T/err")" ;;
esac
run_xl destroy counter
all_gone "after destroy"

# ---- restore -p of the checkpoint, with the config given (CFG FILE)
run_xl restore -p "$cfg" "$T/c2.save"
id=$(domid_of counter)
case "$xlrc $(state_of counter)" in
"0 "*p*) pass "restore -p CFG FILE: paused" ;;
*) fail "restore -p CFG FILE: rc=$xlrc state $(state_of counter)" \
        "$(cat "$T/err")" ;;
esac
grep -q "Parsing config from $cfg" "$T/err" ||
    fail "restore CFG FILE: the config did not come from $cfg"
"$XL_BIN" unpause counter
wait_until '[ "$(last_count '"$id"')" -gt '"$checkpoint"' ]' 20
if r=$(counts_continue "$id" "$checkpoint"); then
    pass "restore of the checkpoint counts on ($r, $checkpoint at save -c)"
else
    fail "restore of the checkpoint: $r"
fi
run_xl destroy counter
all_gone "after destroying the restored checkpoint"

# ---- restore -e: no watching process
run_xl restore -e "$T/c3.save"
if [ "$xlrc" = 0 ] && [ -n "$(domid_of counter)" ] &&
    [ -z "$(monitor_pids | while read -r p; do exited "$p" || echo "$p"; \
          done)" ]; then
    pass "restore -e: no watching process"
else
    fail "restore -e: rc=$xlrc $(cat "$T/err") watchers $(monitor_pids)"
fi
run_xl destroy counter
all_gone "after restore -e"

# ---- broken files: refused by name, nothing left
size=$(stat -c %s "$T/c.save")
hdrlen=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(48)
print(48 + struct.unpack("<I", d[44:48])[0])' "$T/c.save")
head -c 20 "$T/c.save" >"$T/short-header.save"
head -c $((hdrlen + (size - hdrlen) / 2)) "$T/c.save" >"$T/short-stream.save"
{ printf 'Not a saved domain, some other format\n'; tail -c +40 "$T/c.save"; } \
    >"$T/magic.save"
cp "$T/c.save" "$T/corrupt.save"
printf 'CORRUPTCORRUPTCORRUPT' |
    dd of="$T/corrupt.save" bs=1 seek=$((hdrlen + (size - hdrlen) / 3)) \
        conv=notrunc 2>/dev/null
python3 - "$T/c.save" "$T/xen.save" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
d[36:40] = struct.pack("<I", 3)     # Xen 4.17's flags: JSON | STREAMv2
open(sys.argv[2], "wb").write(d)
PY
for f in short-header short-stream magic corrupt xen; do
    run_xl restore "$T/$f.save"
    if [ "$xlrc" != 0 ] && grep -q "$T/$f.save" "$T/err"; then
        pass "restore of $f.save refused: $(grep "$T/$f.save" "$T/err" |
            tail -1)"
    else
        fail "restore of $f.save: rc=$xlrc $(cat "$T/err")"
    fi
    all_gone "after the refused $f.save"
done
run_xl restore "$T/magic.save"
grep -q "wrong magic number" "$T/err" && pass "bad magic: said so" ||
    fail "bad magic: $(cat "$T/err")"
run_xl restore "$T/no-such.save"
[ "$xlrc" != 0 ] && grep -q "$T/no-such.save" "$T/err" &&
    pass "restore of a missing file: named" ||
    fail "restore of a missing file: rc=$xlrc $(cat "$T/err")"
run_xl save counter "$T/x.save"
[ "$xlrc" != 0 ] && [ ! -e "$T/x.save" ] &&
    pass "save of an unknown domain: refused, no file" ||
    fail "save of an unknown domain: rc=$xlrc $(cat "$T/err")"
all_gone "at the end"
finish
