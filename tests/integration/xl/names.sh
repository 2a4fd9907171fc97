#!/bin/sh
# names.sh - libxenlight's name index (/libxl/names/<encoded name> =
# domid, see libs/light/libxl_internal.h): written at create and rename,
# moved by rename, removed at destroy; stale entries count as absent and
# are removed by the lookup; Domain-0 is 0 also without its entry; names
# with characters xenstore paths do not allow are encoded.
. "$(dirname "$0")/lib.sh"
setup_host

xs_write() { "$XENSTORE_BINDIR/xenstore-write" "$@" >/dev/null 2>&1; }
xs_rm() { "$XENSTORE_BINDIR/xenstore-rm" "$1" >/dev/null 2>&1; }
xs_exists() { "$XENSTORE_BINDIR/xenstore-exists" "$1" >/dev/null 2>&1; }

[ "$(xs_read /libxl/names/Domain-0)" = 0 ] && [ "$(domid_of Domain-0)" = 0 ] &&
    pass "xencommons writes Domain-0's entry" ||
    fail "Domain-0 entry: '$(xs_read /libxl/names/Domain-0)'"
xs_rm /libxl/names/Domain-0
[ "$(domid_of Domain-0)" = 0 ] && pass "Domain-0 is 0 without its entry" ||
    fail "xl domid Domain-0 without the entry: '$(domid_of Domain-0)'"
xs_write /libxl/names/Domain-0 0

# A name with '.', '_', ' ' and '/': encoded as _XX (hex of the byte).
# (-e: no watching process, whose log file is named after the domain.)
name='web.1_x y/z'
enc=web_2e1_5fx_20y_2fz
sed "s|^name = .*|name = \"$name\"|" "$(write_cfg counter)" >"$T/web.cfg"
run_xl create -e "$T/web.cfg"
id=$(domid_of "$name")
[ "$xlrc" = 0 ] && [ -n "$id" ] && [ "$id" -gt 0 ] &&
    [ "$(xs_read /libxl/names/$enc)" = "$id" ] &&
    [ "$(xs_read /local/domain/$id/name)" = "$name" ] &&
    pass "create: /libxl/names/$enc = $id" ||
    fail "create '$name': rc=$xlrc id='$id' entry='$(xs_read /libxl/names/$enc)' $(cat "$T/err")"
run_xl domname "$id"
[ "$(cat "$T/out")" = "$name" ] && pass "domname of an encoded name" ||
    fail "domname $id: $(cat "$T/out" "$T/err")"
run_xl list "$name"
[ "$xlrc" = 0 ] && tail -1 "$T/out" | grep -q "^web.1_x y/z  *$id " &&
    pass "list NAME" || fail "list '$name': $(cat "$T/out" "$T/err")"

# The same name again is refused, the index is unchanged.
run_xl create -e "$T/web.cfg"
[ "$xlrc" != 0 ] && grep -q "already exists" "$T/err" &&
    [ "$(xs_read /libxl/names/$enc)" = "$id" ] &&
    pass "create: a taken name is refused" ||
    fail "second create: rc=$xlrc $(cat "$T/err")"

# rename moves the entry.
run_xl rename "$name" renamed
[ "$xlrc" = 0 ] && [ "$(xs_read /libxl/names/renamed)" = "$id" ] &&
    ! xs_exists /libxl/names/$enc && [ "$(domid_of renamed)" = "$id" ] &&
    [ -z "$(domid_of "$name")" ] && pass "rename moves the entry" ||
    fail "rename: rc=$xlrc $(cat "$T/err") $(xs_ls /libxl/names | tr '\n' ' ')"
# Renaming to a name another domain has is refused.
run_xl rename renamed Domain-0
[ "$xlrc" != 0 ] && [ "$(domid_of renamed)" = "$id" ] &&
    pass "rename to a taken name is refused" ||
    fail "rename to Domain-0: rc=$xlrc $(cat "$T/err")"

# A stale entry (its domain is called otherwise) is absent and cleaned.
xs_write /libxl/names/ghost "$id"
[ -z "$(domid_of ghost)" ] && ! xs_exists /libxl/names/ghost &&
    pass "stale entry: absent and removed" ||
    fail "stale entry: domid ghost='$(domid_of ghost)'"
# ... also one naming a domain that does not exist; create takes the name.
xs_write /libxl/names/counter 999
run_xl create "$(write_cfg counter)"
cid=$(domid_of counter)
[ "$xlrc" = 0 ] && [ -n "$cid" ] &&
    [ "$(xs_read /libxl/names/counter)" = "$cid" ] &&
    pass "create over a stale entry" ||
    fail "create over stale: rc=$xlrc $(cat "$T/err") entry=$(xs_read /libxl/names/counter)"
# An entry that is not a number is absent too.
xs_write /libxl/names/junk "12abc"
[ -z "$(domid_of junk)" ] && ! xs_exists /libxl/names/junk &&
    pass "malformed entry: absent and removed" ||
    fail "malformed entry: '$(domid_of junk)'"

# destroy removes the entries.
run_xl destroy renamed
[ "$xlrc" = 0 ] && ! xs_exists /libxl/names/renamed &&
    pass "destroy removes the entry" || fail "destroy: $(cat "$T/err")"
run_xl destroy "$cid"
assert_clean "at the end"
finish
