#!/bin/bash
# scenario-dom0.sh: the compatibility scenario over the control domain's
# socket, comparable between Xen's daemon (xs-anchor) and Xenolith's.
#
# Usage: scenario-dom0.sh   (XENSTORED_PATH, COMPAT_CLIENT, COMPAT_TMP set;
# COMPAT_RINGDIR set when the daemon is xs-anchor's).  Prints a transcript
# on stdout; the golden copy is golden/dom0.out, recorded from Xen's daemon
# by record-golden.sh.
set -u
. "$(dirname "$0")/lib.sh"

echo "## initial store"
xs ls -f /
xs ls -p /

echo "## write / read / exists"
xs write /a/b c
xs read /a/b
xs read -p /a/b
xs read /a
xs exists /a/b
xs exists /a/nope
xs read /a/nope
xs write /a/one 1 /a/two 2 /a/three 3
xs read /a/one /a/two /a/three
xs write /a/empty ""
xs read /a/empty
xs write "/a/spaces" "hello world"
xs read /a/spaces
xs write /a/tab "$(printf 'x\ty')"
xs read -R /a/tab
xs ls /a
xs write /a/b overwritten
xs read /a/b
xs write /deep/x/y/z leaf
xs ls -f /deep
run "xenstore read /a/b" "$XS_BIN/xenstore" read /a/b
run "xenstore write /a/m mc" "$XS_BIN/xenstore" write /a/m mc
run "xenstore ls /a" "$XS_BIN/xenstore" ls /a
run "xenstore exists /a/m" "$XS_BIN/xenstore" exists /a/m
run "xenstore list /a" "$XS_BIN/xenstore" list /a
run "xenstore rm /a/m" "$XS_BIN/xenstore" rm /a/m
big=$(head -c 3000 /dev/zero | tr '\0' 'v')
run "xenstore-write /a/big <3000 bytes>" "$XS_BIN/xenstore-write" /a/big "$big"
xs_sum "xenstore-read /a/big" "$XS_BIN/xenstore-read" /a/big
huge=$(head -c 5000 /dev/zero | tr '\0' 'v')
run "xenstore-write /a/huge <5000 bytes>" "$XS_BIN/xenstore-write" /a/huge \
    "$huge"
xs exists /a/huge

echo "## directory"
xs list /a
xs list -p /deep/x
xs list /a/nope
xs ls /nope
xs ls -f /a

echo "## directory of 10000 children (E2BIG -> DIRECTORY_PART)"
args=()
for i in $(seq -w 0 9999); do
    args+=("/bigdir/child-$i" "$i")
done
run "xenstore-write /bigdir/child-0000..9999" "$XS_BIN/xenstore-write" \
    "${args[@]}"
xs_sum "xenstore-list /bigdir" "$XS_BIN/xenstore-list" /bigdir
xs_sum "xenstore-ls /bigdir" "$XS_BIN/xenstore-ls" /bigdir
xs_sum "xenstore-ls -f /bigdir" "$XS_BIN/xenstore-ls" -f /bigdir
client <<'EOF'
A open
A dirsum - /bigdir
A read - /bigdir/child-5000
A tstart t
A dirsum t /bigdir
A write t /bigdir/child-x x
A dirsum t /bigdir
A tend t abort
A dirsum - /bigdir
EOF
xs rm /bigdir
xs exists /bigdir

echo "## rm"
xs rm /a/one
xs exists /a/one
xs rm /a/nope
xs rm /nope/deeper
xs rm /deep/x
xs ls -f /deep
xs write /tidy/p/q/r v
xs rm -t /tidy/p/q/r
xs exists /tidy
xs rm /deep
client <<'EOF'
A open
A rm - /a/nope
A rm - /nope/deeper
A mkdir - /mk/sub
A mkdir - /mk/sub
A read - /mk/sub
A dir - /mk
A rm - /mk
A rm - /mk
EOF

echo "## permissions"
xs write /p/node v /p/node/kid k
xs ls -p /p
xs chmod /p/node r0 w5 b6
xs ls -p /p
xs chmod -r /p n0 r7
xs ls -p /p
xs chmod /p/node n9
xs ls -p /p/node
xs chmod /p/nope r0
xs chmod /p/node x0
client <<'EOF'
A open
A getperms - /p
A getperms - /p/node
A setperms - /p/node b0 r1 w2 n3
A getperms - /p/node
A getperms - /p/nope
A setperms - /p/nope r0
A getperms - /
A getperms - /tool
EOF

echo "## watches"
xs watch -n 1 /w
out="$COMPAT_TMP/watch.out"
: >"$out"
deb timeout 10 "$XS_BIN/xenstore-watch" -n 4 /w >"$out" 2>&1 &
wpid=$!
if wait_lines "$out" 1; then
    xs write /w/a 1
    xs write /w/b 2
    xs rm /w/a
fi
wait "$wpid"
wrc=$?
echo "\$ xenstore-watch -n 4 /w (with writes meanwhile)"
show "| " "$out"
echo "rc=$wrc"
client <<'EOF'
A open
B open
A watch /w tok1
A event
A watch /w tok1
A watch /w/sub tok2
A event
A watch @introduceDomain intro
A event
A watch @releaseDomain rel
A event
A watch bad//path t
A watch @bogus t
B write - /w/sub/x 1
A event
A event
A event 300
B rm - /w
A event
A event
A event 300
A unwatch /w tok1
A unwatch /w tok1
A unwatch /w/nope t
B write - /w/z 1
A event
A event 300
A watch /never/there t3
A event
B write - /never/there/x 1
A event
A event 300
# events come in the order the watches were registered, deepest first here
A watch /order/deep/x first
A event
A watch /order second
A event
A watch /order/deep third
A event
B write - /order/deep/x/y 1
A event
A event
A event
A event 300
EOF

echo "## transactions"
client <<'EOF'
A open
B open
A write - /tx/x 0
# commit, read-your-writes, isolation
A tstart t1
A write t1 /tx/x 1
A read t1 /tx/x
B read - /tx/x
A write t1 /tx/new n
A read - /tx/new
A dir t1 /tx
A tend t1 commit
B read - /tx/x
B read - /tx/new
# abort
A tstart t2
A write t2 /tx/x 2
A rm t2 /tx/new
A tend t2 abort
A read - /tx/x
A read - /tx/new
# conflicting pair: both read then write /tx/x; the second commit loses
A tstart ta
B tstart tb
A read ta /tx/x
B read tb /tx/x
A write ta /tx/x from-a
B write tb /tx/x from-b
A tend ta commit
B tend tb commit
A read - /tx/x
# a plain write to a node the transaction read
A tstart t3
A read t3 /tx/x
B write - /tx/x plain
A write t3 /tx/y y
A tend t3 commit
A read - /tx/y
# a transaction that read a node another client then removed
A tstart t4
A read t4 /tx/new
B rm - /tx/new
A write t4 /tx/other o
A tend t4 commit
# creating siblings in two transactions: the parent's child list conflicts
A tstart t5
B tstart t6
A write t5 /tx/d1 1
B write t6 /tx/d2 2
A tend t5 commit
B tend t6 commit
A dir - /tx
# writes to distinct existing nodes both commit
A write - /tx/e1 0
A write - /tx/e2 0
A tstart t8
B tstart t9
A write t8 /tx/e1 1
B write t9 /tx/e2 2
A tend t8 commit
B tend t9 commit
A read - /tx/e1
A read - /tx/e2
# ending a transaction id that was never started
A tendid 424242 commit
A tendid 424242 abort
# errors inside a transaction
A tstart t7
A read t7 /tx/nope
A rm t7 /tx/nope/deeper
A mkdir t7 /tx/mk
A rm t7 /tx
A read t7 /tx/x
A tend t7 commit
A read - /tx/x
EOF

echo "## domains"
prepare_domain 5 6
client <<'EOF'
A open
A isintro 5
A dompath 5
A dompath 0
A watch @introduceDomain intro
A event
A watch @releaseDomain rel
A event
A introduce 5 4242 1
A event
A isintro 5
A introduce 5 4242 1
A event 300
A introduce 6 4243 2
A event
A settarget 6 5
A settarget 6 99
A settarget 99 5
A resume 5
A resume 99
A release 6
A event
A isintro 6
A release 6
A release 99
A release 5
A event
A isintro 5
A isintro 0
EOF

echo "## bad paths and other errors"
client <<'EOF'
A open
A write - /a/b v
A read - bad//path
A read - /a/b/
A read - /a//b
A read - /a/b~
A write - /a/b.c x
A write - /a/-_@ x
A read - /a/-_@
A read - /a/b*
A write - /a/sp!ce x
A read - relative/path
A write - /a/b/../c x
A dir - /a/b
A dir - /nope
A getperms - /nope
A mkdir - /a/b
A read - /a/b
A read - /
A read - /a
EOF
long=/$(head -c 3100 /dev/zero | tr '\0' 'p')
run "xenstore-write /ppp...<3101-byte path> x" "$XS_BIN/xenstore-write" \
    "$long" x
long2=/$(head -c 3500 /dev/zero | tr '\0' 'p')
run "xenstore-read /ppp...<3501-byte path>" "$XS_BIN/xenstore-read" "$long2"
xs read /tool/xenstored

echo "## control"
run "xenstore-control check" "$XS_CONTROL" check
run "xenstore-control print hello" "$XS_CONTROL" print hello
run "xenstore-control no-such-command" "$XS_CONTROL" no-such-command
client <<'EOF'
A open
A control check
A control print from-libxenstore
A control no-such-command
EOF

echo "## final store"
xs rm /a/big
xs ls -f /
