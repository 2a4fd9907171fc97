#!/bin/bash
# scenario-domain.sh: the compatibility scenario over per-domain connections
# (Xenolith's <rundir>/domains/<domid> sockets), for permissions, quotas,
# relative paths, watches and set-target.  Xen's daemon under xs-anchor
# treats every socket client as dom0, so for it xs-ring-proxy serves each
# domain's socket through that domain's shared ring (see domain_up); the
# golden copy golden/domain.out is recorded that way by record-golden.sh.
#
# Usage: scenario-domain.sh   (XENSTORED_PATH, COMPAT_RUNDIR, COMPAT_CLIENT
# and COMPAT_TMP set; COMPAT_RINGDIR and COMPAT_PROXY for xs-anchor).
# Prints a transcript on stdout.
set -u
. "$(dirname "$0")/lib.sh"

dsock()
{
    echo "$COMPAT_RUNDIR/domains/$1"
}

# asdom DOMID TOOL ARGS...: a Debian client connected as domain DOMID.
asdom()
{
    local d="$1" tool="$2"
    shift 2
    XENSTORED_PATH="$(dsock "$d")" \
        run "[dom$d] xenstore-$tool $*" "$XS_BIN/xenstore-$tool" "$@"
}

# socket_state DOMID: prints whether the domain's socket exists.
socket_state()
{
    if [ -S "$(dsock "$1")" ]; then
        echo "# socket domains/$1: present"
    else
        echo "# socket domains/$1: absent"
    fi
}

# quota_summary N: filters client output: reports whether the first N
# numbered requests (after "open") succeeded, then the last request's line.
quota_summary()
{
    awk -v n="$1" '
        /^[A-H] / && $2 != "open" {
            i++
            if (i <= n && $NF != "ok")
                bad++
            last = $0
            next
        }
        /^rc=/ { rc = $0; next }
        { print }
        END {
            printf "# first %d requests: %s\n", n,
                bad ? "FAILED " bad : "all ok"
            print last
            print rc
        }'
}

echo "## introduce: per-domain sockets"
socket_state 5
prepare_domain 5 7 8
client <<'EOF'
A open
A introduce 5 0 1
A introduce 7 0 2
A introduce 8 0 3
A mkdir - /local/domain/5
A setperms - /local/domain/5 n5
A write - /local/domain/5/fromdom0 x
A getperms - /local/domain/5/fromdom0
A write - /secret s
A write - /public p
A setperms - /public n0 r5 r7
A mkdir - /local/domain/7
A setperms - /local/domain/7 n7
A mkdir - /local/domain/8
A setperms - /local/domain/8 n8
EOF
domain_up 5 7 8
socket_state 5
socket_state 7
socket_state 6

echo "## reads and writes as dom5"
asdom 5 read /local/domain/5/fromdom0
asdom 5 read /secret
asdom 5 read /public
asdom 5 write /local/domain/5/data/y 1
asdom 5 write name dom5
asdom 5 read name
asdom 5 ls /local/domain/5
asdom 5 ls -p /local/domain/5
asdom 5 write /secret other
asdom 5 write /public other
asdom 5 exists /secret
asdom 5 list /
client <<EOF
B open domains/5
B read - /secret
B read - /secret/missing
B read - /local/domain/5/missing
B read - /public
B write - /public x
B write - /secret/x x
B write - /newtop x
B mkdir - /newtop
B rm - /secret
B rm - /public
B dir - /
B dir - /local/domain/5
B getperms - /secret
B getperms - /public
B getperms - /local/domain/5/data/y
B read - data/y
B write - rel/a 1
B read - /local/domain/5/rel/a
B getperms - rel/a
B setperms - rel/a n5 r0
B getperms - rel/a
B setperms - rel/a n6
B setperms - /public n5
B setperms - /secret n5
B rm - /local/domain/5/data
B read - /local/domain/5/data/y
B dompath 5
B tstart t
B write t /local/domain/5/tx 1
B read t /local/domain/5/tx
B read t /secret
B tend t commit
B read - /local/domain/5/tx
EOF

echo "## privileged requests as dom5"
client <<EOF
B open domains/5
B introduce 9 0 1
B release 7
B isintro 5
B settarget 5 7
B resume 7
B control check
EOF
XENSTORED_PATH="$(dsock 5)" run "[dom5] xenstore-control check" \
    "$XS_CONTROL" check

echo "## watches as dom5"
client <<EOF
A open
B open domains/5
B watch /secret sec
B event
B watch name rel
B event
B watch /local/domain/5 abs
B event
A write - /secret changed
B event 300
A write - /local/domain/5/name changed
B event
B event
B event 300
EOF

echo "## node quotas as dom7 (Xen: 1000 nodes, 2048-byte nodes)"
big=$(head -c 3000 /dev/zero | tr '\0' 'v')
XENSTORED_PATH="$(dsock 7)" run "[dom7] xenstore-write big <3000 bytes>" \
    "$XS_BIN/xenstore-write" /local/domain/7/big "$big"
small=$(head -c 1000 /dev/zero | tr '\0' 'v')
XENSTORED_PATH="$(dsock 7)" run "[dom7] xenstore-write big <1000 bytes>" \
    "$XS_BIN/xenstore-write" /local/domain/7/big "$small"
asdom 7 rm /local/domain/7/big
# A parent's child list counts towards its node size: one flat directory
# of "nNNNN" children reaches 2048 bytes at its 336th child (Xen: record
# header 24 + one permission 8 + 335 * 6 bytes of names = 2042).
{
    echo "C open domains/7"
    for i in $(seq 1 336); do
        printf 'C write - /local/domain/7/flat/n%04d x\n' "$i"
    done
} | client | quota_summary 335
asdom 7 rm /local/domain/7/flat
# The node count: 11 groups of 100 (1 + 11 + 1100 nodes wanted).
{
    echo "C open domains/7"
    for i in $(seq 0 1099); do
        echo "C write - /local/domain/7/g$((i / 100))/n$((i % 100)) x"
    done
} | client | quota_summary 900
client <<EOF
A open
A write - /local/domain/0/q/n1 x
A write - /local/domain/0/q/n2 x
A getperms - /local/domain/7/g0/n1
EOF

echo "## watch quota as dom7 (Xen: 128 per domain)"
{
    echo "C open domains/7"
    for i in $(seq 1 140); do
        echo "C watch /local/domain/7/w$i t"
    done
} | client | quota_summary 128

echo "## transaction quota as dom7 (Xen: 10 per connection)"
{
    echo "C open domains/7"
    for i in $(seq 1 13); do
        echo "C tstart t$i"
    done
} | client | quota_summary 10

echo "## set-target: dom8 gets dom7's rights"
asdom 8 read /local/domain/7/g0/n1
client <<'EOF'
A open
A settarget 8 7
EOF
asdom 8 read /local/domain/7/g0/n1
asdom 8 write /local/domain/7/g0/n1 by-dom8
asdom 8 read /secret

echo "## release"
client <<EOF
A open
A watch @releaseDomain rel
A event
A release 5
A event
A isintro 5
A release 5
EOF
domain_down 5
socket_state 5
asdom 5 read /local/domain/5/name
asdom 7 read /local/domain/7/g0/n1
client <<'EOF'
A open
A release 7
A release 8
A read - /local/domain/5/name
EOF
domain_down 7 8
socket_state 7
socket_state 8
