#!/bin/sh
# corpus-check.sh - run our "xl -N create" on every config of the shared
# corpus (../shared/xlcfg beside the source tree) and compare with what
# Xen 4.17's xl printed: the JSON (same keys and values), the exit status,
# and for failures the first error line (file, line and key).
# Exit 77 (skip) when the corpus is absent.  Prints "N of M" matching.
XL=${XL:-../../../xl/xl}
CORPUS=${XLCFG_CORPUS:-$top_srcdir/../shared/xlcfg}
[ -d "$CORPUS" ] || { echo "SKIP: no corpus at $CORPUS"; exit 77; }
export XL_FIXED_UUID=11111111-2222-3333-4444-555555555555
export LIBXL_HOST_CPUS=2 LIBXL_HOST_NODES=1
export XL_CONF_FILE=/dev/null
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
pass=0 total=0 failed=""
for cfg in "$CORPUS"/*.cfg "$CORPUS"/bad/*.cfg "$CORPUS"/edge/*.cfg; do
    [ -f "$cfg" ] || continue
    dir=$(dirname "$cfg"); name=$(basename "$cfg" .cfg)
    ref="$dir/ref/$name"
    [ -f "$ref.rc" ] || continue
    total=$((total + 1))
    (cd "$dir" && "$XL" -N create "$name.cfg") >"$tmp/out" 2>"$tmp/err"
    rc=$?
    ok=1
    [ "$rc" = "$(cat "$ref.rc")" ] || ok=0
    if [ $ok = 1 ]; then
        python3 - "$ref.json" "$tmp/out" <<'PY' || ok=0
import json, sys
def load(p):
    s = open(p).read()
    return json.loads(s) if s.strip() else None
sys.exit(0 if load(sys.argv[1]) == load(sys.argv[2]) else 1)
PY
    fi
    if [ $ok = 1 ] && [ "$rc" != 0 ]; then
        # The first message after "Parsing config" must agree, with the
        # reference's directory prefix removed.
        want=$(sed -n '2p' "$ref.err" | sed 's|^[^ :]*/||')
        got=$(sed -n '2p' "$tmp/err")
        [ "$want" = "$got" ] || ok=0
    fi
    if [ $ok = 1 ]; then
        pass=$((pass + 1))
    else
        failed="$failed $name(rc=$rc)"
    fi
done
echo "corpus: $pass of $total matching"
[ -z "$failed" ] || echo "differ:$failed"
[ "$pass" = "$total" ] || exit 1
exit 0
