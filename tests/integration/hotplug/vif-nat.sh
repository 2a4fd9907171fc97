#!/bin/sh
# vif-nat.sh - hotplug/vif-nat on a real tap in the test's own network
# namespace (the host's addresses, routes, sysctls and nftables stay
# untouched): an uplink dummy0 with 192.0.2.1/24 stands for the host's
# way out (a bridge: the dummy driver may be missing).
#   online, ip=10.99.3.5, netdev=dummy0: the tap is up with the router
#   address 10.99.3.132/32 (the guest's last octet + 127), the guest's
#   address routed through it from there, forwarding on, and one
#   masquerade rule for 10.99.3.5 out of dummy0 in table ip
#   xenolith-nat; online again adds no second rule; offline: the rule,
#   the route and the address are gone; without ip= the address comes
#   from the domain and devid (10.0.7.3 for domain 7, devid 2); offline
#   of a tap that is gone succeeds;
#   refused, saying why: a missing tap, a missing uplink, an address
#   that is not IPv4, one whose router address would pass .255, no ip=
#   and nothing to derive one from, an unknown action.
set -u
here=$(cd "$(dirname "$0")" && pwd)
name=vif-nat
. "$here/lib.sh"
in_netns VIFNAT_IN_NETNS nft
setup vif7.2

rules() { nft list chain ip xenolith-nat postrouting 2>/dev/null |
              grep -c "ip saddr $1 oifname \"dummy0\" masquerade"; }

run online vif=vif7.2 ip=10.99.3.5 netdev=dummy0; rc=$?
check "online: exit 0 ($(cat "$err"))" [ $rc = 0 ]
check "online: the tap is up" \
    sh -c 'ip -o link show dev vif7.2 | grep -q "[<,]UP[,>]"'
check "online: the tap has the router address 10.99.3.132/32" \
    sh -c 'ip -o -4 addr show dev vif7.2 | grep -q "inet 10.99.3.132/32"'
check "online: 10.99.3.5 routed through vif7.2 from 10.99.3.132" \
    sh -c "ip route show 10.99.3.5 | grep -q 'dev vif7.2.*src 10.99.3.132'"
check "online: IPv4 forwarding on" \
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
check "online: one masquerade rule for 10.99.3.5 out of dummy0" \
    [ "$(rules 10.99.3.5)" = 1 ]
run online vif=vif7.2 ip=10.99.3.5 netdev=dummy0; rc=$?
check "online again (a restarted backend): exit 0, still one rule" \
    sh -c "[ $rc = 0 ] && [ $(rules 10.99.3.5) = 1 ]"

run offline vif=vif7.2 ip=10.99.3.5 netdev=dummy0; rc=$?
check "offline: exit 0" [ $rc = 0 ]
check "offline: no masquerade rule left" [ "$(rules 10.99.3.5)" = 0 ]
check "offline: no route left" \
    [ -z "$(ip route show dev vif7.2 2>/dev/null)" ]
check "offline: no address left" \
    [ -z "$(ip -o -4 addr show dev vif7.2)" ]

run online vif=vif7.2 devid=2 \
    XENBUS_PATH=/local/domain/0/backend/vif/7/2; rc=$?
check "online without ip=: 10.0.7.3 from domain 7 devid 2, router 10.0.7.130" \
    sh -c "[ $rc = 0 ] && ip route show 10.0.7.3 |
           grep -q 'dev vif7.2.*src 10.0.7.130'"
check "online without netdev: no masquerade rule" \
    [ "$(rules 10.0.7.3)" = 0 ]
run offline vif=vif7.2 devid=2 XENBUS_PATH=/local/domain/0/backend/vif/7/2
# the path Xenolith's libxl hands its scripts: the vif's record
run online vif=vif7.2 devid=2 XENBUS_PATH=/libxl/7/device/vif/2; rc=$?
check "online without ip=, libxl's XENBUS_PATH: 10.0.7.3 as well" \
    sh -c "[ $rc = 0 ] && ip route show 10.0.7.3 |
           grep -q 'dev vif7.2.*src 10.0.7.130'"
run offline vif=vif7.2 devid=2 XENBUS_PATH=/libxl/7/device/vif/2

run online vif=vif7.9 ip=10.99.3.5; rc=$?
check "refused: a missing tap, named ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'vif7.9 does not exist' '$err'"
run online vif=vif7.2 ip=10.99.3.5 netdev=nosuch0; rc=$?
check "refused: a missing uplink, named ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'uplink nosuch0 does not exist' '$err'"
run offline vif=vif7.2 ip=10.99.3.5
run online vif=vif7.2 ip=fe80::1; rc=$?
check "refused: not an IPv4 address ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'not an IPv4 address' '$err'"
run online vif=vif7.2 ip=10.99.3.200; rc=$?
check "refused: no router address past .255 ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'leaves no router address' '$err'"
run online vif=vif7.2; rc=$?
check "refused: no ip= and nothing to derive it from ($(cat "$err"))" \
    sh -c "[ $rc != 0 ] && grep -q 'no ip= and no XENBUS_PATH' '$err'"
run frobnicate vif=vif7.2 ip=10.99.3.5; rc=$?
check "refused: an unknown action" sh -c "[ $rc != 0 ]"
ip tuntap del dev vif7.2 mode tap
run offline vif=vif7.2 ip=10.99.3.5; rc=$?
check "offline of a tap that is gone: exit 0" [ $rc = 0 ]

finish
