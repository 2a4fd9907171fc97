#!/bin/sh
# restart-qemu.sh - restart.sh with guests in qemu (PVH and HVM, TCG):
# the device-model domains through the daemons' restarts, on the host
# (no KVM needed).
RESTART_GUESTS=qemu
. "$(dirname "$0")/restart.sh"
