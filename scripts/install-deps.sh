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
  iproute2 util-linux nftables acpica-tools
  xenstore-utils xen-utils-4.17 libxen-dev
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
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
