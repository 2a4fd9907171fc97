#!/bin/sh
# saverestore.sh - save, restore and migration of a domain in qemu (a
# device-model domain): an HVM guest (tests/guests' test-pvh-qemu through
# -kernel, under TCG: no KVM needed) that prints "tick N" on its serial
# console, on private daemons.
#  - xl save: the stream's header says device model, qemu's state is in
#    DM_STATE records (xenolith-stream-check), the domain and its qemu
#    are gone; xl restore: the ticks go on past the last one seen, one by
#    one, with no new boot; the guest runs;
#  - xl save -c: the guest runs on and keeps ticking;
#  - xl migrate on this host (the receiver under the same daemons): one
#    domain of the name left, ticking on;
#  - a truncated stream (cut inside qemu's state, or only END missing), a
#    corrupted one (bad CRC), and qemu's state replaced by garbage with
#    a good CRC (qemu refuses it): xl restore fails with a message naming
#    the cause, and nothing is left (xl list, xenstore, qemu, the run
#    dir's qemu-dm/).
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
setup_host tcg
trap dm_teardown EXIT
CHECK=$BUILD/libs/stream/xenolith-stream-check
[ -x "$GUESTS/test-pvh-qemu" ] || hard_error "no $GUESTS/test-pvh-qemu"
[ -x "$CHECK" ] || hard_error "no $CHECK"

cat >"$T/tick.cfg" <<CFG
name = "tick"
type = "hvm"
kernel = "$GUESTS/test-pvh-qemu"
memory = 32
vcpus = 1
serial = "pty"
CFG

last_tick() {
    console_ring "$1" | awk '/^tick [0-9]+$/ { n = $2 } END { print n + 0 }'
}

# ticks_on DOMID BEFORE: the ring of domain DOMID (restored or moved)
# ticks one by one from past BEFORE, never booted again ("qemu guest:").
ticks_on() {
    console_ring "$1" | awk -v before="$2" '
        /^qemu guest:/ { print "the guest booted again"; bad = 1; exit }
        /^tick [0-9]+$/ {
            if (first == "") first = $2
            else if ($2 != last + 1) {
                print "after tick " last ": tick " $2; bad = 1; exit
            }
            last = $2
        }
        END {
            if (bad) exit 1
            if (first == "") { print "no ticks"; exit 1 }
            if (first <= before) {
                print "ticks from " first ", at or before " before; exit 1
            }
            print first ".." last
        }'
}

state_of() { "$XL_BIN" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
running() { case "$(state_of "$1")" in *p*|*s*|*c*|*d*|"") return 1 ;; esac; }

# No domain, no qemu, nothing in qemu-dm/ (migrate-* directories
# included), no device-model node.
all_gone() {
    assert_clean "$1"
    wait_until '[ -z "$(dm_qemu_pids)" ]' 5
    assert_no_dm "$1"
}

# The domain stream's records in an xl savefile: "OFFSET TYPE LENGTH"
# (offsets of the record heads in the file).
records() {
    python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 48 + struct.unpack("<I", d[44:48])[0] + 24
while off + 16 <= len(d):
    t, crc, n = struct.unpack("<IIQ", d[off:off + 16])
    print(off, t, n)
    off += 16 + (n + 7) // 8 * 8
PY
}

# ---- save, then restore
run_xl create "$T/tick.cfg"
[ "$xlrc" = 0 ] || hard_error "create: $(cat "$T/err")"
id=$(domid_of tick)
wait_until '[ "$(last_tick '"$id"')" -ge 3 ]' 60 ||
    hard_error "the guest does not tick: $(console_ring "$id" | tail -3)"
before=$(last_tick "$id")
before_a=$before
run_xl save tick "$T/a.save"
if [ "$xlrc" = 0 ] && [ -z "$(domid_of tick)" ]; then
    pass "save: saved and gone"
else
    fail "save: rc=$xlrc $(cat "$T/err") $("$XL_BIN" list)"
fi
all_gone "after save"
# the stream: flags 1, DOMAIN_CONFIG, XENSTORE, DM_STATE..., END
hdr=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read()
o=48+struct.unpack("<I",d[44:48])[0]
print(d[o:o+8].decode("latin-1"), struct.unpack("<I",d[o+12:o+16])[0])' \
    "$T/a.save")
types=$(records "$T/a.save" | awk '{ print $2 }' | uniq | tr '\n' ' ')
[ "$hdr" = "XNLTDOMS 1" ] && [ "$types" = "1 2 7 2147483647 " ] &&
    pass "save: device-model stream ($types)" ||
    fail "save: stream header '$hdr', record types $types"
hl=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(48)
print(48+struct.unpack("<I",d[44:48])[0])' "$T/a.save")
tail -c +$((hl + 1)) "$T/a.save" >"$T/a.stream"
if "$CHECK" "$T/a.stream" >"$T/check.out" 2>&1 &&
    grep -q "DM_STATE" "$T/check.out"; then
    pass "save: xenolith-stream-check: $(tail -1 "$T/check.out")"
else
    fail "save: xenolith-stream-check: $(cat "$T/check.out")"
fi

run_xl restore "$T/a.save"
id=$(domid_of tick)
if [ "$xlrc" = 0 ] && [ -n "$id" ]; then
    pass "restore: domain $id"
else
    fail "restore: rc=$xlrc $(cat "$T/err")"
fi
wait_until '[ "$(last_tick '"$id"')" -gt '"$before"' ]' 30
if r=$(ticks_on "$id" "$before"); then
    pass "restore: ticks on ($r; $before seen before the save)"
else
    fail "restore: $r; $(console_ring "$id" | tail -3)"
fi
running tick && pass "restore: running" ||
    fail "restore: state '$(state_of tick)'"

# ---- save -c: a checkpoint, the guest runs on
a=$(last_tick "$id")
ckpt=$a
run_xl save -c tick "$T/b.save"
[ "$xlrc" = 0 ] && [ "$(domid_of tick)" = "$id" ] ||
    fail "save -c: rc=$xlrc $(cat "$T/err") $("$XL_BIN" list)"
wait_until '[ "$(last_tick '"$id"')" -gt '"$((a + 3))"' ]' 30
b=$(last_tick "$id")
if running tick && [ "$b" -gt $((a + 3)) ] && r=$(ticks_on "$id" 0); then
    pass "save -c: runs on (tick $a at the save, $b now)"
else
    fail "save -c: state '$(state_of tick)', tick $a then $b, ring: $r"
fi
[ -z "$(ls -A "$XENOLITH_RUNDIR/qemu-dm" | grep migrate)" ] ||
    fail "save -c: left $(ls "$XENOLITH_RUNDIR/qemu-dm")"
tail -c +$((hl + 1)) "$T/b.save" >"$T/b.stream"
"$CHECK" "$T/b.stream" >"$T/check.out" 2>&1 &&
    pass "save -c: a whole stream" ||
    fail "save -c: $(cat "$T/check.out")"

# ---- migrate on this host: the receiver under the same daemons
before=$(last_tick "$id")
run_xl migrate -s env tick "PATH=$BUILD/xl:$PATH"
nid=$(domid_of tick)
n=$("$XL_BIN" list | tail -n +2 | wc -l)
if [ "$xlrc" = 0 ] && [ -n "$nid" ] && [ "$nid" != "$id" ] && [ "$n" = 2 ]
then
    pass "migrate: domain $id is now $nid, one of it"
else
    fail "migrate: rc=$xlrc, $(cat "$T/err") $("$XL_BIN" list)"
fi
wait_until '[ "$(last_tick '"$nid"')" -gt '"$before"' ]' 30
if r=$(ticks_on "$nid" "$before") && running tick; then
    pass "migrate: ticks on ($r; $before before)"
else
    fail "migrate: $r, state '$(state_of tick)'"
fi
[ "$(dm_qemu_pids | wc -l)" = 1 ] ||
    fail "migrate: qemu processes $(dm_qemu_pids | tr '\n' ' ')"

# ---- a receiver that goes away inside qemu's state: the sender's guest
# runs on where it was (qemu's migration had completed: cont)
cat >"$T/gone.sh" <<'SH'
printf 'xl migration receiver ready, send binary domain data.\n'
head -c 300000 >/dev/null
SH
before=$(last_tick "$nid")
run_xl migrate -s "sh $T/gone.sh #" tick nowhere
wait_until '[ "$(last_tick '"$nid"')" -gt '"$((before + 3))"' ]' 30
if [ "$xlrc" != 0 ] && [ "$(domid_of tick)" = "$nid" ] && running tick &&
    [ "$(last_tick "$nid")" -gt $((before + 3)) ] &&
    r=$(ticks_on "$nid" 0); then
    pass "migrate to a receiver that went away: failed, runs on ($r):" \
        "$(grep -m1 "error" "$T/err" | sed 's/.*libxl_save_dm[^ ]* //')"
else
    fail "migrate to a receiver that went away: rc=$xlrc state" \
        "'$(state_of tick)' ticks $before then $(last_tick "$nid")" \
        "$(cat "$T/err")"
fi
left=$(ls -A "$XENOLITH_RUNDIR/qemu-dm" | grep migrate)
[ -z "$left" ] || fail "failed migrate: left $left"
run_xl destroy tick
all_gone "after destroy"

# ---- restore -p of the checkpoint: paused (qemu stopped) until unpaused
run_xl restore -p "$T/b.save"
id=$(domid_of tick)
sleep 1
a=$(last_tick "$id")
sleep 1
case "$xlrc $(state_of tick)" in
"0 "*p*)
    [ "$(last_tick "$id")" = "$a" ] && pass "restore -p: paused" ||
        fail "restore -p: paused, but ticking ($a, $(last_tick "$id"))"
    ;;
*) fail "restore -p: rc=$xlrc state '$(state_of tick)' $(cat "$T/err")" ;;
esac
run_xl unpause tick
wait_until '[ "$(last_tick '"$id"')" -gt '"$((a + 2))"' ]' 30
if [ "$xlrc" = 0 ] && running tick && r=$(ticks_on "$id" "$ckpt"); then
    pass "restore -p, unpause: ticks on ($r; $ckpt at save -c)"
else
    fail "restore -p, unpause: rc=$xlrc state '$(state_of tick)' $r"
fi
run_xl pause tick
a=$(last_tick "$id")
sleep 1
case "$xlrc $(state_of tick)" in
"0 "*p*) [ "$(last_tick "$id")" -le $((a + 1)) ] && pass "pause: paused" ||
        fail "pause: still ticking" ;;
*) fail "pause: rc=$xlrc state '$(state_of tick)'" ;;
esac
run_xl destroy tick
all_gone "after destroying the checkpoint's copy"

# ---- broken streams: refused, naming the cause; nothing left
size=$(stat -c %s "$T/a.save")
dm=$(records "$T/a.save" | awk '$2 == 7 { print $1, $3; exit }')
dm_off=${dm% *} dm_len=${dm#* }
[ -n "$dm_off" ] || hard_error "no DM_STATE record in $T/a.save"
# cut inside qemu's state; without END only
head -c $((dm_off + 16 + dm_len / 2)) "$T/a.save" >"$T/cut.save"
head -c $((size - 16)) "$T/a.save" >"$T/noend.save"
# a byte of qemu's state changed: the CRC says so
cp "$T/a.save" "$T/crc.save"
printf 'X' | dd of="$T/crc.save" bs=1 seek=$((dm_off + 16 + dm_len / 3)) \
    conv=notrunc 2>/dev/null
# qemu's state garbage, with its CRC right: qemu refuses it
python3 - "$T/a.save" "$T/garbage.save" "$dm_off" <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], "rb").read())
off = int(sys.argv[3])
t, crc, n = struct.unpack("<IIQ", d[off:off + 16])
d[off + 16:off + 16 + 64] = b"not qemu's migration stream at all" * 2
body = bytes(d[off + 16:off + 16 + n])
d[off:off + 16] = struct.pack("<IIQ", t, zlib.crc32(body) & 0xffffffff, n)
open(sys.argv[2], "wb").write(d)
PY
check_refused() {
    f=$1 want=$2
    run_xl restore "$T/$f.save"
    if [ "$xlrc" != 0 ] && grep -Eq "$want" "$T/err"; then
        pass "restore of $f.save refused: $(grep -E "$want" "$T/err" |
            head -1 | cut -c1-300)"
    else
        fail "restore of $f.save: rc=$xlrc, wanted /$want/: $(cat "$T/err")"
    fi
    all_gone "after $f.save"
}
check_refused cut "ended early|truncated"
check_refused noend "ended early|truncated"
check_refused crc "CRC"
check_refused garbage "qemu stopped taking its state|loading qemu.s saved state"

# ---- qemu's state in several DM_STATE records (odd sizes): the same
python3 - "$T/a.save" "$T/chunks.save" "$dm_off" <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
off = int(sys.argv[3])
t, crc, n = struct.unpack("<IIQ", d[off:off + 16])
body = d[off + 16:off + 16 + n]
out = bytearray(d[:off])
cuts = [0, 1, 4096 + 3, n // 2 + 5, n]
for a, b in zip(cuts, cuts[1:]):
    piece = body[a:b]
    out += struct.pack("<IIQ", 7, zlib.crc32(piece) & 0xffffffff, len(piece))
    out += piece + b"\0" * (-len(piece) % 8)
out += d[off + 16 + (n + 7) // 8 * 8:]
open(sys.argv[2], "wb").write(out)
PY
run_xl restore "$T/chunks.save"
id=$(domid_of tick)
wait_until '[ "$(last_tick '"$id"')" -gt '"$before_a"' ]' 30
if [ "$xlrc" = 0 ] && r=$(ticks_on "$id" "$before_a"); then
    pass "restore of qemu's state in 4 records: ticks on ($r)"
else
    fail "restore of 4 DM_STATE records: rc=$xlrc $(cat "$T/err") $r"
fi
run_xl destroy tick
all_gone "at the end"
finish
