#!/bin/sh
# Installs every Debian 12 package Xenolith needs to build, test and run.
# Idempotent; run as root.  Used by scripts/test.sh, scripts/demo.sh, CI.
set -eu

packages="
  build-essential autoconf automake libtool pkg-config clang python3 gdb
  libclang-rt-14-dev valgrind
  check libyajl-dev uuid-dev zlib1g-dev liblzma-dev libbz2-dev
  liblzo2-dev liblz4-dev libzstd-dev libnl-3-dev libnl-route-3-dev
  liburing-dev
  lzop lz4 zstd bzip2 xz-utils qemu-system-x86 qemu-utils seabios ovmf
  iproute2 util-linux nftables acpica-tools socat
  xenstore-utils xen-utils-4.17 libxen-dev
  openvswitch-switch openvswitch-common
"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: these Debian packages are missing and installing them" \
         "needs root:$missing" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive

# openvswitch-switch (ovs-vsctl, ovs-vswitchd; ovsdb-server and ovsdb-tool
# come with openvswitch-common) would start the host's Open vSwitch when
# installed; the tests (tests/integration/hotplug/vif-openvswitch.sh) run
# switches of their own and want no system-wide daemons.  While it is
# installed, a policy-rc.d (where the host has none: Debian's container
# images have one that forbids every start) forbids starting its
# services, for systemd (deb-systemd-invoke) and init scripts
# (invoke-rc.d) alike, and whatever started all the same is stopped
# after.  The service stays enabled: a host that boots later starts it.
ovs_new=""
case " $missing " in *" openvswitch-switch "*) ovs_new=1 ;; esac
policy=/usr/sbin/policy-rc.d
if [ -n "$ovs_new" ] && [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    trap 'exit 1' INT TERM HUP
    cat > "$policy" <<'EOF'
#!/bin/sh
# Written by Xenolith's scripts/install-deps.sh for the length of one
# apt-get install: Open vSwitch's services are not started (101).
for a in "$@"; do
    case "$a" in openvswitch* | ovs-* | ovsdb-*) exit 101 ;; esac
done
exit 0
EOF
    chmod 755 "$policy"
fi

apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

if [ -n "$ovs_new" ]; then
    if [ -d /run/systemd/system ]; then
        systemctl stop openvswitch-switch.service ovs-vswitchd.service \
            ovsdb-server.service >/dev/null 2>&1 || true
    elif [ -e /run/openvswitch/ovsdb-server.pid ] ||
         [ -e /run/openvswitch/ovs-vswitchd.pid ]; then
        /etc/init.d/openvswitch-switch stop >/dev/null 2>&1 || true
    fi
fi
