#!/bin/sh
# image.sh - print the directory of the nested-KVM lane's boot image:
# Debian's own kernel (the package linux-image-amd64 depends on) and an
# initramfs of busybox-static, the modules the lane needs and its init.
# Both packages are fetched once with apt-get download and kept in the
# fixture cache (see tests/fixtures/debian-kernel.sh for where); a second
# run only prints the path.
#
# The directory holds:
#   vmlinuz     the kernel, booted by qemu -kernel
#   initrd.gz   newc cpio, gzip: busybox, the modules, /init
#   release     the kernel release
#
# The image's /init (see the heredoc below) mounts the host's root
# and the source tree read-only and the build tree read-write over
# virtio-9p, loads kvm_amd
# (qemu's TCG emulates AMD SVM with nested paging), puts tmpfs where the
# tests make sockets, brings up the one NIC that carries the agent's
# port, and runs tests/lane/lane.py's agent chrooted into the host's
# root.  It powers the VM off when the agent returns.
#
# Exit status: 0 with the directory on stdout; 77 when apt cannot get a
# package; 1 on other failures.  Messages go to stderr.
set -eu

say() { echo "lane-image: $*" >&2; }
here=$(cd "$(dirname "$0")" && pwd)

# Bump when the modules or /init change: a new cache entry is built.
layout=5
wanted="virtio_pci virtio_net 9p 9pnet_virtio kvm_amd tun bridge veth"

. "$here/../fixtures/lib.sh"
fixture_unpack lane
order=$(kmods_order "$moddir" $wanted) || exit 1

root=$tmp/root
initramfs_base "$root" "$root/lib/modules/order" "$order" host

# /init: the lane's parameters come on the kernel command line
# (lane.src=<the source tree>, lane.build=<the build tree>,
# lane.agent=<lane.py>, lane.port=<port>,
# lane.idle=<seconds>).  Everything it prints goes to the serial
# console, which the host keeps in the lane's console.log.
cat > "$root/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() {
    echo "lane-init: $*"
    poweroff -f
}
for m in $(cat /lib/modules/order); do
    insmod /lib/modules/$m || fail "insmod $m failed"
done
for w in $(cat /proc/cmdline); do
    case $w in
        lane.src=*) src=${w#lane.src=} ;;
        lane.build=*) build=${w#lane.build=} ;;
        lane.agent=*) agent=${w#lane.agent=} ;;
        lane.port=*) port=${w#lane.port=} ;;
        lane.idle=*) idle=${w#lane.idle=} ;;
    esac
done
[ -n "${src:-}" ] && [ -n "${build:-}" ] && [ -n "${agent:-}" ] &&
    [ -n "${port:-}" ] ||
    fail "lane.src, lane.build, lane.agent and lane.port must be on the" \
        "command line"
# The host's root, read-only: cached, since nothing changes it while
# the lane runs.  It is seen at /host through a bind, so that the tmpfs
# below can cover its /tmp and the like.  The source tree (which may lie
# under /tmp) comes on its own export, read-only and uncached: a test
# edited while the lane is up runs as edited.  The build tree,
# read-write and uncached: the tests build and write there.
mkdir -p /hostroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,ro \
    hostroot /hostroot || fail "mounting the host's root over 9p failed"
mount --bind /hostroot /host || fail "binding the host's root"
# Sockets cannot live on 9p: tmpfs wherever the tests make them.
for d in tmp run var/tmp root; do
    mount -t tmpfs -o mode=1777 tmpfs "/host/$d" || fail "tmpfs on /$d"
done
mkdir -p "/host$src" "/host$build" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=mmap,ro \
    srctree "/host$src" || fail "mounting the source tree $src failed"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=mmap \
    buildtree "/host$build" || fail "mounting the build tree $build failed"
chmod 700 /host/root
mkdir -p /host/run/lock /host/run/netns
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o ptmxmode=0666,newinstance devpts /host/dev/pts
ln -sf pts/ptmx /host/dev/ptmx 2>/dev/null
mount -t tmpfs tmpfs /host/dev/shm
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup || fail "mounting cgroup2"
echo "+cpu +cpuset +pids +memory" > /host/sys/fs/cgroup/cgroup.subtree_control
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
[ -c /dev/kvm ] || fail "kvm_amd loaded but there is no /dev/kvm"
echo "XENOLITH-LANE-UP $(uname -r) $(nproc) CPUs"
chroot /host /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    /usr/bin/python3 -u "$agent" agent --port "$port" --build "$build" \
    --idle "${idle:-300}"
echo "lane-init: the agent returned $?; powering off"
sync
poweroff -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | "$bb" cpio -o -H newc 2>/dev/null) |
    gzip -6n > "$tmp/initrd.gz"
rm -rf "$root"

fixture_publish
