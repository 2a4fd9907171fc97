#!/bin/sh
# backends-valgrind.sh - blkback.sh and netback.sh again, with the
# backend under test (supervisor, worker and, for blkback, each raw
# disk's thread) under valgrind --leak-check=full: an error or a leak
# makes the backend exit 99, which the scripts' exit-status checks fail.
# Exit: 0 pass, 1 fail, 77 when both scripts skip, 99 error.
here=$(cd "$(dirname "$0")" && pwd)
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: no valgrind"; exit 77; }
rc_b=0 rc_n=0
BLKBACK_VALGRIND=1 sh "$here/blkback.sh" || rc_b=$?
NETBACK_VALGRIND=1 sh "$here/netback.sh" || rc_n=$?
echo "blkback.sh under valgrind: exit $rc_b; netback.sh: exit $rc_n"
[ $rc_b = 77 ] && [ $rc_n = 77 ] && exit 77
for rc in $rc_b $rc_n; do
    case $rc in
    0|77) ;;
    99) exit 99 ;;
    *) exit 1 ;;
    esac
done
exit 0
