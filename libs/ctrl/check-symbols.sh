#!/bin/sh
# check-symbols.sh - libxenctrl.so exports exactly what libxenctrl.map
# lists, and every public function of the installed headers is listed.
# Run by "make check" in libs/ctrl.
set -eu
srcdir=${srcdir:-.}
so=.libs/libxenctrl.so
map="$srcdir/libxenctrl.map"
[ -f "$so" ] || { echo "SKIP: $so not built (shared libraries off?)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
    sort -u >"$tmp/exported"
sed -e 's,/\*.*\*/,,' "$map" | grep -E '^[[:space:]]+x[a-z_0-9]+;' |
    tr -d ' ;' | sort -u >"$tmp/listed"
cat "$srcdir/include/xenctrl.h" "$srcdir/include/xentoollog.h" \
    "$srcdir/include/xenguest.h" | tr '\n' ' ' | tr ';' '\n' |
    grep -oE '\b(xc|xtl)_[a-z_0-9]+\s*\([^()]*\)\s*(__attribute__.*)?$' |
    grep -oE '^(xc|xtl)_[a-z_0-9]+' | sort -u >"$tmp/declared"

rc=0
if ! cmp -s "$tmp/exported" "$tmp/listed"; then
    echo "FAIL: exported symbols differ from $map (< exported, > listed):"
    diff "$tmp/exported" "$tmp/listed" || true
    rc=1
fi
if ! cmp -s "$tmp/declared" "$tmp/listed"; then
    echo "FAIL: header functions differ from $map (< declared, > listed):"
    diff "$tmp/declared" "$tmp/listed" || true
    rc=1
fi
[ $rc -eq 0 ] && echo "PASS: $(wc -l <"$tmp/listed") symbols"
exit $rc
