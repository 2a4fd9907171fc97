#!/bin/sh
# vif-route.sh - hotplug/vif-route on a real tap in the test's own network
# namespace (the host's addresses, routes and sysctls stay untouched): an
# uplink dummy0 with 192.0.2.1/24 stands for the host's side (a bridge:
# the dummy driver may be missing).
#   online, ip="10.99.1.2 10.99.1.3", netdev=dummy0: the tap is up with
#   192.0.2.1/32, proxy ARP on, one host route per address through the
#   tap from 192.0.2.1; without netdev the host's first global address
#   is used; offline: the routes and the address are gone; offline of a
#   tap that is gone succeeds;
#   refused, saying why: no ip=, a missing tap, an uplink without an
#   IPv4 address, an unknown action.
set -u
here=$(cd "$(dirname "$0")" && pwd)
name=vif-route
. "$here/lib.sh"
in_netns VIFROUTE_IN_NETNS
setup vif9.0

run online vif=vif9.0 ip="10.99.1.2 10.99.1.3" netdev=dummy0; rc=$?
check "online: exit 0 ($(cat "$err"))" [ $rc = 0 ]
check "online: the tap is up" \
    sh -c 'ip -o link show dev vif9.0 | grep -q "[<,]UP[,>]"'
check "online: the tap has the host's 192.0.2.1/32" \
    sh -c 'ip -o -4 addr show dev vif9.0 | grep -q "inet 192.0.2.1/32"'
check "online: proxy ARP on the tap" \
    [ "$(cat /proc/sys/net/ipv4/conf/vif9.0/proxy_arp)" = 1 ]
for a in 10.99.1.2 10.99.1.3; do
    check "online: $a routed through vif9.0 from 192.0.2.1" \
        sh -c "ip route show $a | grep -q 'dev vif9.0.*src 192.0.2.1'"
done
run online vif=vif9.0 ip="10.99.1.2 10.99.1.3" netdev=dummy0; rc=$?
check "online again (a restarted backend): exit 0" [ $rc = 0 ]

run offline vif=vif9.0 ip="10.99.1.2 10.99.1.3"; rc=$?
check "offline: exit 0" [ $rc = 0 ]
check "offline: no route left" \
    [ -z "$(ip route show dev vif9.0 2>/dev/null)" ]
check "offline: no address left" \
    [ -z "$(ip -o -4 addr show dev vif9.0)" ]

run online vif=vif9.0 ip=10.99.1.4; rc=$?
check "online without netdev: the host's first global address" \
    sh -c "[ $rc = 0 ] && ip route show 10.99.1.4 |
           grep -q 'dev vif9.0.*src 192.0.2.1'"
run offline vif=vif9.0 ip=10.99.1.4; rc=$?

run online vif=vif9.0; rc=$?
check "refused: no ip= ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'no address to route' '$err'"
run online vif=vif9.9 ip=10.99.1.2; rc=$?
check "refused: a missing tap, named ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'vif9.9 does not exist' '$err'"
ip link add dummy1 type bridge
run online vif=vif9.0 ip=10.99.1.2 netdev=dummy1; rc=$?
check "refused: an uplink without an address, named ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'no IPv4 address on dummy1' '$err'"
run frobnicate vif=vif9.0 ip=10.99.1.2; rc=$?
check "refused: an unknown action" sh -c "[ $rc != 0 ]"
ip tuntap del dev vif9.0 mode tap
run offline vif=vif9.0 ip=10.99.1.2; rc=$?
check "offline of a tap that is gone: exit 0" [ $rc = 0 ]

finish
