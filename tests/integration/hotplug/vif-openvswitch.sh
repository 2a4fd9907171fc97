#!/bin/sh
# vif-openvswitch.sh - hotplug/vif-openvswitch on a real tap in the test's
# own network namespace, against an Open vSwitch of the test's own:
# ovsdb-server and ovs-vswitchd started here with their database, run,
# log and config folders in a temporary folder (OVS_DBDIR, OVS_RUNDIR,
# OVS_LOGDIR, OVS_SYSCONFDIR), bridges xbr0 and xbr1 with
# datapath_type=netdev (the userspace datapath: no kernel module).  The
# host's Open vSwitch, if any, is never asked; the daemons are killed
# and the folder removed at the end, passed or not.
#   online, bridge=xbr0: the tap is a port of xbr0 (list-ports,
#   port-to-br), no tag and no trunks, the switch took it (ofport), it
#   is up, external-ids xen-domid/xen-devid say domain 4, devid 1;
#   online again (a restarted backend) leaves one port; bridge=xbr1
#   moves it; bridge=xbr0.10: tag 10; bridge=xbr0:10:20:30: trunks
#   10,20,30; bridge=xbr1.7:8:9: native VLAN 7 (native-untagged) and
#   trunks 8,9; without bridge=, the first
#   bridge (xbr0); where the xenstore answers (a stand-in xenstore-read
#   here), attached-mac, xen-vm-name (quotes kept), xen-vm-uuid, vm-id;
#   offline: the port is gone and so is the tap (as vif-bridge); offline
#   of a port whose tap is gone removes the port; offline of a tap that
#   is gone and was never a port succeeds;
#   refused, saying why and leaving no port: a missing bridge, a Linux
#   bridge, a bad VLAN (5000, abc, an empty one, in a tag or in trunks),
#   no ovs-vsctl in PATH, a switch that does not answer, a missing tap,
#   an unknown action.
set -u
here=$(cd "$(dirname "$0")" && pwd)
name=vif-openvswitch
. "$here/lib.sh"
schema=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
if [ -z "${VIFOVS_IN_NETNS:-}" ]; then
    PATH=$PATH:/usr/sbin:/sbin
    export PATH
    [ -r "$schema" ] ||
        { echo "SKIP: no $schema (openvswitch-switch)"; exit 77; }
fi
in_netns VIFOVS_IN_NETNS ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl
setup vif4.1

ovs=$(mktemp -d /tmp/vif-ovs.XXXXXX) || { echo "ERROR: mktemp"; exit 99; }
OVS_RUNDIR=$ovs/run OVS_DBDIR=$ovs/db OVS_LOGDIR=$ovs/log
OVS_SYSCONFDIR=$ovs/etc
export OVS_RUNDIR OVS_DBDIR OVS_LOGDIR OVS_SYSCONFDIR

stop_daemons() { # TERM, then KILL what is left after 10 s
    pids=""
    for d in ovs-vswitchd ovsdb-server; do
        [ -s "$OVS_RUNDIR/$d.pid" ] && pids="$pids $(cat "$OVS_RUNDIR/$d.pid")"
    done
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null
    i=0
    while [ $i -lt 100 ]; do
        left=""
        for p in $pids; do
            kill -0 "$p" 2>/dev/null && left="$left $p"
        done
        [ -z "$left" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "ovs daemons did not stop on TERM:$left: killing them"
    # shellcheck disable=SC2086
    kill -9 $left 2>/dev/null
}
cleanup() {
    stop_daemons
    if [ $failures != 0 ] && [ -s "$OVS_LOGDIR/ovs-vswitchd.log" ]; then
        echo "--- ovs-vswitchd.log (the end)"
        tail -n 20 "$OVS_LOGDIR/ovs-vswitchd.log"
    fi
    rm -rf "$ovs"
    rm -f "$err"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

mkdir -p "$OVS_RUNDIR" "$OVS_DBDIR" "$OVS_LOGDIR" "$OVS_SYSCONFDIR"
# what the daemons say before they detach goes to daemons.err, shown if
# they do not start
{ ovsdb-tool create "$OVS_DBDIR/conf.db" "$schema" &&
    ovsdb-server --remote="punix:$OVS_RUNDIR/db.sock" --pidfile --detach \
        --log-file "$OVS_DBDIR/conf.db" &&
    ovs-vsctl --timeout=10 --no-wait init &&
    ovs-vswitchd --pidfile --detach --log-file \
        "unix:$OVS_RUNDIR/db.sock" &&
    ovs-vsctl --timeout=30 add-br xbr0 -- set bridge xbr0 \
        datapath_type=netdev &&
    ovs-vsctl --timeout=30 add-br xbr1 -- set bridge xbr1 \
        datapath_type=netdev; } 2>"$ovs/daemons.err" || {
    echo "ERROR: cannot start a private Open vSwitch:"
    cat "$ovs/daemons.err"
    failures=1
    exit 99
}

orun() { # orun ACTION VAR=VALUE...: run, against the test's switch
    a=$1
    shift
    run "$a" OVS_RUNDIR="$OVS_RUNDIR" "$@"
}
vs() { ovs-vsctl --timeout=10 "$@" 2>/dev/null; }
col() { # col TABLE RECORD COLUMN: its value, quotes dropped
    vs get "$1" "$2" "$3" | tr -d '"'
}
onbr() { # onbr PORT BRIDGE: PORT is on BRIDGE, once
    [ "$(vs port-to-br "$1")" = "$2" ] &&
        [ "$(vs list-ports "$2" | grep -cx "$1")" = 1 ]
}
noport() { # noport PORT: on no bridge, no Port or Interface record
    ! vs port-to-br "$1" >/dev/null &&
        ! vs --if-exists get port "$1" name | grep -q . &&
        ! vs --if-exists get interface "$1" name | grep -q .
}
is_up() { ip -o link show dev "$1" | grep -q "[<,]UP[,>]"; }
xb=/libxl/4/device/vif/1

# ---- online / offline ------------------------------------------------------
orun online vif=vif4.1 bridge=xbr0 XENBUS_PATH=$xb devid=1; rc=$?
check "online bridge=xbr0: exit 0 ($(cat "$err"))" [ $rc = 0 ]
check "online: vif4.1 is a port of xbr0 (port-to-br, list-ports)" \
    onbr vif4.1 xbr0
check "online: no tag, no trunks" \
    sh -c "[ '$(col port vif4.1 tag)' = '[]' ] &&
           [ '$(col port vif4.1 trunks)' = '[]' ]"
ofport=$(col interface vif4.1 ofport)
check "online: the switch took it (ofport $ofport)" \
    sh -c "[ '$ofport' -ge 1 ] 2>/dev/null"
check "online: the tap is up" is_up vif4.1
check "online: external-ids xen-domid=4 xen-devid=1" \
    sh -c "[ '$(col interface vif4.1 external-ids:xen-domid)' = 4 ] &&
           [ '$(col interface vif4.1 external-ids:xen-devid)' = 1 ]"

orun online vif=vif4.1 bridge=xbr0 XENBUS_PATH=$xb devid=1; rc=$?
check "online again (a restarted backend): exit 0, still one port" \
    sh -c "[ $rc = 0 ] && [ \$(ovs-vsctl list-ports xbr0 | wc -l) = 1 ]"
orun online vif=vif4.1 bridge=xbr1 XENBUS_PATH=$xb devid=1; rc=$?
check "online bridge=xbr1: moved from xbr0 ($(cat "$err"))" \
    sh -c "[ $rc = 0 ] && [ -z \"\$(ovs-vsctl list-ports xbr0)\" ]"
check "online bridge=xbr1: a port of xbr1" onbr vif4.1 xbr1

orun offline vif=vif4.1 bridge=xbr1 XENBUS_PATH=$xb devid=1; rc=$?
check "offline: exit 0 ($(cat "$err"))" [ $rc = 0 ]
check "offline: the port is gone" noport vif4.1
check "offline: the tap left is deleted (as vif-bridge)" \
    sh -c '! ip link show dev vif4.1 >/dev/null 2>&1'

newtap() { ip tuntap add dev vif4.1 mode tap || bad "cannot make the tap"; }

# ---- VLANs ------------------------------------------------------------------
newtap
orun online vif=vif4.1 bridge=xbr0.10 XENBUS_PATH=$xb devid=1; rc=$?
check "online bridge=xbr0.10: exit 0 ($(cat "$err"))" [ $rc = 0 ]
check "bridge=xbr0.10: on xbr0 with tag 10, no trunks, up" \
    sh -c "[ '$(col port vif4.1 tag)' = 10 ] &&
           [ '$(col port vif4.1 trunks)' = '[]' ] &&
           [ '$(vs port-to-br vif4.1)' = xbr0 ]" && is_up vif4.1
orun online vif=vif4.1 bridge=xbr0:10:20:030 XENBUS_PATH=$xb devid=1; rc=$?
check "online bridge=xbr0:10:20:030 (over the access port): exit 0" \
    [ $rc = 0 ]
check "bridge=xbr0:10:20:030: trunks 10,20,30, no tag" \
    sh -c "[ '$(col port vif4.1 trunks)' = '[10, 20, 30]' ] &&
           [ '$(col port vif4.1 tag)' = '[]' ]"
orun online vif=vif4.1 bridge=xbr1.7:8:9 XENBUS_PATH=$xb devid=1; rc=$?
check "online bridge=xbr1.7:8:9: on xbr1, native VLAN 7 untagged, trunks 8,9" \
    sh -c "[ $rc = 0 ] && [ '$(col port vif4.1 tag)' = 7 ] &&
           [ '$(col port vif4.1 trunks)' = '[8, 9]' ] &&
           [ '$(col port vif4.1 vlan_mode)' = native-untagged ] &&
           [ '$(vs port-to-br vif4.1)' = xbr1 ]"
orun offline vif=vif4.1
check "offline: the VLAN port is gone" noport vif4.1

# ---- the default bridge, what the xenstore knows ----------------------------
newtap
bin=$ovs/bin
mkdir -p "$bin"
cat > "$bin/xenstore-read" <<'EOF'
#!/bin/sh
# a stand-in for the xenstore: the nodes vif-openvswitch reads
case "$1" in
/libxl/4/device/vif/1/mac) echo 00:16:3e:12:34:56 ;;
/local/domain/4/vm) echo /vm/6e7a2b1c-0d4e-4f50-9a8b-1c2d3e4f5a6b ;;
/vm/*/uuid) echo 6e7a2b1c-0d4e-4f50-9a8b-1c2d3e4f5a6b ;;
/vm/*/name) echo 'web "one"' ;;
*) echo "xenstore-read: couldn't read path $1" >&2; exit 1 ;;
esac
EOF
chmod +x "$bin/xenstore-read"
run online OVS_RUNDIR="$OVS_RUNDIR" PATH="$bin:$PATH" vif=vif4.1 \
    XENBUS_PATH=$xb devid=1; rc=$?
check "online without bridge=: exit 0 ($(cat "$err"))" [ $rc = 0 ]
check "online without bridge=: on the first bridge, xbr0" onbr vif4.1 xbr0
check "online: attached-mac from the xenstore" \
    [ "$(col interface vif4.1 external-ids:attached-mac)" = 00:16:3e:12:34:56 ]
uuid=6e7a2b1c-0d4e-4f50-9a8b-1c2d3e4f5a6b
check "online: xen-vm-uuid and vm-id, the domain's UUID" \
    sh -c "[ '$(col interface vif4.1 external-ids:xen-vm-uuid)' = $uuid ] &&
           [ '$(col interface vif4.1 external-ids:vm-id)' = $uuid ]"
check "online: xen-vm-name, its quotes kept" \
    [ "$(vs get interface vif4.1 external-ids:xen-vm-name)" = '"web \"one\""' ]

# ---- offline of what is half gone -------------------------------------------
ip tuntap del dev vif4.1 mode tap
orun offline vif=vif4.1; rc=$?
check "offline of a port whose tap is gone: exit 0 ($(cat "$err"))" \
    [ $rc = 0 ]
check "offline of a port whose tap is gone: the port removed" noport vif4.1
orun offline vif=vif4.1; rc=$?
check "offline of a tap that is gone, on no bridge: exit 0" [ $rc = 0 ]

# ---- refused ----------------------------------------------------------------
newtap
said() { # said RC TEXT: RC is not 0 and stderr has TEXT
    [ "$1" != 0 ] && grep -qF -- "$2" "$err"
}
# refused WHAT PATTERN ARGS...: online fails, PATTERN on stderr, no port
refused() {
    what=$1 pat=$2
    shift 2
    orun online vif=vif4.1 "$@"; rc=$?
    check "refused: $what ($(cat "$err"))" said $rc "$pat"
    check "  nothing left of it" noport vif4.1
}
refused "a missing bridge" "Open vSwitch bridge nosuch0 does not exist" \
    bridge=nosuch0
refused "a missing bridge with a VLAN" \
    "Open vSwitch bridge nosuch0 does not exist" bridge=nosuch0.10
refused "a Linux bridge" "dummy0 is a Linux bridge" bridge=dummy0
refused "VLAN 5000" "bad VLAN '5000'" bridge=xbr0.5000
refused "VLAN abc" "bad VLAN 'abc'" bridge=xbr0.abc
refused "an empty VLAN" "bad VLAN ''" bridge=xbr0.
refused "a bad trunk VLAN" "bad VLAN 'x'" bridge=xbr0:10:x
refused "an empty trunk VLAN" "bad VLAN ''" bridge=xbr0:10:
refused "a trunk VLAN 4096" "bad VLAN '4096'" bridge=xbr0:4096
refused "no bridge name" "no bridge name" bridge=.10
nobin=$ovs/nobin
mkdir -p "$nobin"
for c in ip sed tr grep; do ln -s "$(command -v $c)" "$nobin/$c"; done
env -i PATH="$nobin" vif=vif4.1 bridge=xbr0 "$script" online 2>"$err"; rc=$?
check "refused: no ovs-vsctl in PATH, named ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'ovs-vsctl not found' '$err'"
check "  nothing left of it" noport vif4.1
run online OVS_RUNDIR="$ovs/nowhere" vif=vif4.1 bridge=xbr0; rc=$?
check "refused: a switch that does not answer ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'cannot ask Open vSwitch' '$err'"
check "  nothing left of it" noport vif4.1
orun online vif=vif4.9 bridge=xbr0; rc=$?
check "refused: a missing tap, named ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'interface vif4.9 does not exist' '$err'"
check "  nothing left of it" noport vif4.9
orun frobnicate vif=vif4.1 bridge=xbr0; rc=$?
check "refused: an unknown action" sh -c "[ $rc != 0 ]"
check "  the tap untouched and on no bridge" \
    sh -c "ip link show dev vif4.1 >/dev/null &&
           ! ovs-vsctl port-to-br vif4.1 2>/dev/null"

finish
