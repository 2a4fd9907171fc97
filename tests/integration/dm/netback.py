#!/usr/bin/env python3
"""netback.py - two real Debian PVH guests whose virtio NICs their
network backend serves (xenolith-netback over vhost-user, a tap per vif
on the bridge xenbr0 that netback.sh makes in the test's own network
namespace, 10.99.0.1/24 on the host's side), under xl with qemu as the
machine:

  each domain has one xenolith-netback (apart from xl), its tap
  vif<domid>.0 on xenbr0, Xen's vif nodes (backend state 4, connected);
  qemu opens no tap of its own; the guests' drivers accept the offloads
  (each tap gets TSO and checksum offload, as ethtool -k shows them);
  the guests ping the host and each other;
  64 MiB go from the host to a guest and from one guest to the other,
  each checked by its md5; `kill -9` of a backend's worker: its
  supervisor starts it again, the guest's qemu reconnects and the guest
  pings again, the domain up all along; xl network-attach of a second
  vif: its tap on the bridge, the guest finds the NIC and pings through
  it, xl network-list shows both; network-detach (by MAC) unplugs it, and
  a boot NIC (by devid); a routed vif (script=vif-route ip=...): the
  host routes the address through its tap and the guest reaches the
  host; a NAT vif (script=vif-nat ip=...): the tap gets the router
  address (the guest's + 127), the guest reaches it and its route is
  gone after detach; refused: a missing bridge (leaving nothing), a devid in use, an
  unknown vif; xl destroy: no backend, tap, socket or
  node left.

Reuses lifecycle.py's helpers.  Environment: as lifecycle.py, and
XENOLITH_NETBACK (dm/lib.sh).  Prints "ok: ..." / "FAIL: ..."; exit
status 0, 1 on failures.
"""
import fcntl
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.argv[1:] = ["netback"]        # lifecycle's KIND: NAME is dm-netback
import lifecycle as L  # noqa: E402
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             ".."))
from vufront import if_offloads  # noqa: E402

MIB = 1 << 20
DATA_MIB = 64
GUESTS = (("dm-netback-a", "00:16:3e:5a:02:0a", "10.99.0.2"),
          ("dm-netback-b", "00:16:3e:5a:02:0b", "10.99.0.3"))


def write_cfg(name, mac):
    lines = [
        'name = "%s"' % name,
        'type = "pvh"',
        "memory = 256",
        "vcpus = 1",
        'kernel = "%s/vmlinuz"' % L.GUEST,
        'ramdisk = "%s/initrd.gz"' % L.GUEST,
        'cmdline = "console=ttyS0 quiet"',
        'on_poweroff = "destroy"',
        'on_reboot = "destroy"',
        'on_crash = "destroy"',
        'vif = [ "bridge=%s,mac=%s" ]' % (L.BRIDGE, mac),
    ]
    if os.environ.get("DM_ACCEL"):
        lines.append('accel = "%s"' % os.environ["DM_ACCEL"])
    cfg = os.path.join(L.TMP, name + ".cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    return cfg


def domid_of(name):
    rc, out, _ = L.xl("domid", name)
    return int(out.strip()) if rc == 0 and out.strip().isdigit() else None


def cmdlines():
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                found[int(d)] = f.read().decode(errors="replace") \
                    .replace("\0", " ")
        except OSError:
            continue
    return found


def netbacks(dom):
    return [p for p, c in cmdlines().items()
            if "xenolith-netback --domid %d " % dom in c + " "
            and L.alive(p)]


def ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def be(dom, key):
    return L.xs_read("/local/domain/0/backend/vif/%d/0/%s" % (dom, key))


def send_to_guest(ip, port, data):
    """Connects to the guest's nc -l and sends data, then closes."""
    end = time.monotonic() + 20
    while True:
        try:
            s = socket.create_connection((ip, port), timeout=10)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)
    with s:
        s.settimeout(120)
        s.sendall(data)


def guest_md5(con, path, tag):
    marker = "%s-$((6*7))" % tag
    if not con.run("echo %s-$(md5sum %s | cut -c1-32)-%s" % (tag, path,
                                                          marker),
                   "%s-42" % tag, L.SLOW):
        return None
    m = re.findall(r"%s-([0-9a-f]{32})-%s-42" % (tag, tag), con.tail(800))
    return m[-1] if m else None


def wait_size(con, path, size, secs):
    """Until path in the guest has size bytes."""
    def size_now():
        con.run("echo fs-$(wc -c < %s 2>/dev/null)-$((8*8))" % path,
                "-64", 10)
        m = re.findall(r"fs-(\d*)-64", con.tail(300))
        return int(m[-1]) if m and m[-1] else -1
    return L.wait_for(lambda: size_now() == size, secs)


def scenario():
    lock = open(L.BOOT_LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    doms, cons = [], []
    try:
        for name, mac, ip in GUESTS:
            t0 = time.monotonic()
            rc, out, err = L.xl("create", write_cfg(name, mac))
            L.check(rc == 0, "xl create %s" % name,
                    "rc=%d %s%s" % (rc, out, err), fatal=True)
            dom = domid_of(name)
            L.check(dom is not None, "xl domid %s: %s" % (name, dom),
                    fatal=True)
            doms.append(dom)
            con = L.console(name)
            cons.append(con)
            L.reach_shell(con, t0, "boot of %s" % name)
            L.check(con.run("ip link set eth0 up && ip addr add %s/24 dev "
                            "eth0 && echo up-$((2+9))" % ip, "up-11", 20),
                    "%s: eth0 is %s" % (name, ip), con.tail(400))

        for (name, mac, ip), dom, con in zip(GUESTS, doms, cons):
            nb = netbacks(dom)
            sup = [p for p in nb if ppid(p) not in nb]
            L.check(len(nb) == 2 and len(sup) == 1,
                    "%s: one xenolith-netback (supervisor and worker)"
                    % name, str(nb))
            tap = "vif%d.0" % dom
            line = L.links().get(tap, "")
            L.check(re.search(r"\bmaster %s\b" % L.BRIDGE, line),
                    "%s: the backend's tap %s is on %s"
                    % (name, tap, L.BRIDGE), line)
            L.check(be(dom, "state") == "4" and
                    be(dom, "hotplug-status") == "connected" and
                    be(dom, "mac") == mac,
                    "%s: backend vif/%d/0: state 4, connected, mac %s"
                    % (name, dom, mac),
                    "%r %r %r" % (be(dom, "state"),
                                  be(dom, "hotplug-status"),
                                  be(dom, "mac")))
            # xl network-list: Xen's header and columns
            rc, out, err = L.xl("network-list", name)
            rows = [ln.split() for ln in out.splitlines()]
            L.check(rc == 0 and out.startswith(
                        "Idx BE Mac Addr.         handle state evt-ch   "
                        "tx-/rx-ring-ref BE-path") and
                    rows[1:] == [["0", "0", mac, "0", "4", "-1", "-1/-1",
                                  "/local/domain/0/backend/vif/%d/0"
                                  % dom]],
                    "%s: xl network-list: vif 0, %s, state 4, its backend"
                    % (name, mac), "rc=%d %s%s" % (rc, out, err))
            qemu = L.qemu_pid(dom)
            try:
                with open("/proc/%d/cmdline" % qemu, "rb") as f:
                    argv = f.read().decode(errors="replace").split("\0")
            except (OSError, TypeError):
                argv = []
            L.check(any(a.startswith("vhost-user,") for a in argv) and
                    not any(a.startswith("tap,") for a in argv),
                    "%s: qemu's NIC is vhost-user, no tap of its own"
                    % name)
            L.check(con.run("cat /sys/class/net/eth0/address | "
                            "sed 's/^/mac:/'", "mac:" + mac, 20),
                    "%s: eth0 has the vif's MAC" % name, con.tail(400))
            tap = "vif%d.0" % dom
            L.check(L.wait_for(lambda: if_offloads(tap) == (1, 1), 10),
                    "%s: its driver took the offloads: %s has TSO and "
                    "checksum offload" % (name, tap),
                    "ethtool: %r" % (if_offloads(tap),))

        a, b = cons
        L.check(a.run("ping -c 3 -W 10 10.99.0.1 >/dev/null && "
                      "echo pa-$((5+5))", "pa-10", L.SLOW),
                "guest a pings the host", a.tail(400))
        L.check(a.run("ping -c 3 -W 10 10.99.0.3 >/dev/null && "
                      "echo pb-$((5+6))", "pb-11", L.SLOW),
                "guest a pings guest b over the bridge", a.tail(400))

        # ---- 64 MiB: host -> a, then a -> b, each by its md5.
        data = os.urandom(DATA_MIB * MIB)
        want = hashlib.md5(data).hexdigest()
        a.send("nc -l -p 5001 > /tmp/r &\r")
        time.sleep(1)
        t0 = time.monotonic()
        try:
            send_to_guest("10.99.0.2", 5001, data)
            sent = True
        except OSError as e:
            sent = False
            L.fail("the host sends 64 MiB to guest a: %s" % e)
        secs = time.monotonic() - t0
        if sent:
            L.check(wait_size(a, "/tmp/r", len(data), 60) and
                    guest_md5(a, "/tmp/r", "ra") == want,
                    "guest a got the host's 64 MiB (md5 %s; %.1f MB/s)"
                    % (want, len(data) / secs / 1e6), a.tail(400))
            print("time: host -> guest, 64 MiB: %.2f s" % secs, flush=True)
        # busybox nc writes 1 KiB at a time: guest a serves the file
        # with busybox httpd, guest b fetches it with wget
        a.run("httpd -p 8080 -h /tmp && echo httpd-$((3*11))", "httpd-33",
              20)
        t0 = time.monotonic()
        ok = b.run("wget -q -O /tmp/r2 http://10.99.0.2:8080/r && "
                   "echo got-$((4*11))", "got-44", 180)
        secs = time.monotonic() - t0
        L.check(ok and guest_md5(b, "/tmp/r2", "rb") == want,
                "guest b got the 64 MiB from guest a (md5 %s; %.1f MB/s)"
                % (want, len(data) / secs / 1e6), b.tail(400))
        a.send("kill %1 2>/dev/null; pkill httpd; rm -f /tmp/r\r")
        b.send("rm -f /tmp/r2\r")

        # ---- the backend dies: its supervisor starts it again.
        nb = netbacks(doms[0])
        worker = [p for p in nb if ppid(p) in nb]
        for p in worker:
            os.kill(p, signal.SIGKILL)
        L.check(L.wait_for(lambda: [p for p in netbacks(doms[0])
                                    if p not in nb], 15),
                "kill -9 of guest a's netback: a new worker",
                str(netbacks(doms[0])))
        L.check(a.run("ping -c 3 -W 10 10.99.0.1 >/dev/null && "
                      "echo pc-$((6+6))", "pc-12", L.SLOW) and
                domid_of(GUESTS[0][0]) == doms[0],
                "guest a pings the host again, the domain up all along",
                a.tail(400))

        # ---- network-attach / network-detach: NIC hotplug.
        hot_mac = "00:16:3e:5a:02:1a"
        name_a = GUESTS[0][0]
        rc, out, err = L.xl("network-attach", name_a, "bridge=nosuchbr0",
                            "mac=00:16:3e:5a:02:2a")
        L.check(rc != 0 and "nosuchbr0" in out + err,
                "network-attach to a missing bridge: refused, naming it",
                "rc=%d %s%s" % (rc, out, err))
        L.check("vif%d.1" % doms[0] not in L.links() and
                not L.xs_exists("/local/domain/0/backend/vif/%d/1"
                                % doms[0]),
                "... leaving no tap and no vif nodes", str(L.links()))
        rc, out, err = L.xl("network-attach", name_a, "bridge=" + L.BRIDGE,
                            "mac=" + hot_mac)
        L.check(rc == 0, "xl network-attach %s (vif 1, %s)"
                % (name_a, hot_mac), "rc=%d %s%s" % (rc, out, err))
        rc, out, err = L.xl("network-list", name_a)
        rows = [ln.split() for ln in out.splitlines()]
        L.check(rc == 0 and [r[:5] for r in rows[1:]] ==
                [["0", "0", GUESTS[0][1], "0", "4"],
                 ["1", "0", hot_mac, "1", "4"]],
                "xl network-list: vif 0 and the new vif 1, state 4", out)
        line = L.links().get("vif%d.1" % doms[0], "")
        L.check(re.search(r"\bmaster %s\b" % L.BRIDGE, line),
                "the new vif's tap vif%d.1 is on %s" % (doms[0], L.BRIDGE),
                line)
        L.check(a.run("for i in $(seq 1 40); do grep -qi %s /sys/class/net/"
                      "*/address 2>/dev/null && break; sleep 0.5; done; "
                      "grep -li %s /sys/class/net/*/address | cut -d/ -f5 "
                      "| sed 's/^/hot:/'" % (hot_mac, hot_mac), "hot:eth",
                      60),
                "guest a finds the new NIC (MAC %s)" % hot_mac, a.tail(400))
        m = re.findall(r"hot:(eth\d+)", a.tail(400))
        hot_if = m[-1] if m else "eth1"
        L.check(a.run("ip link set %s up && ip addr add 10.99.0.12/24 dev %s"
                      " && ip route add 10.99.0.1/32 dev %s && ping -c 3 -W "
                      "10 -I %s 10.99.0.1 >/dev/null && echo hp-$((7+7))"
                      % (hot_if, hot_if, hot_if, hot_if), "hp-14", L.SLOW),
                "guest a pings the host through the new NIC", a.tail(400))
        rc, out, err = L.xl("network-attach", name_a, "devid=1",
                            "bridge=" + L.BRIDGE)
        L.check(rc != 0 and "already" in out + err,
                "network-attach on a devid in use: refused",
                "rc=%d %s%s" % (rc, out, err))
        rc, out, err = L.xl("network-detach", name_a, "7")
        L.check(rc != 0 and "Unknown device 7" in out + err,
                "network-detach of a vif the domain has not: refused",
                "rc=%d %s%s" % (rc, out, err))
        rc, out, err = L.xl("network-detach", name_a, hot_mac)
        L.check(rc == 0, "xl network-detach %s %s (by MAC)"
                % (name_a, hot_mac), "rc=%d %s%s" % (rc, out, err))
        L.check(a.run("ls /sys/class/net | grep -c %s | sed 's/^/n:/'"
                      % hot_if, "n:0", 30),
                "guest a released %s" % hot_if, a.tail(400))
        L.check(L.wait_for(lambda: "vif%d.1" % doms[0] not in L.links(), 10)
                and not L.xs_exists("/local/domain/0/backend/vif/%d/1"
                                    % doms[0]),
                "its tap and vif nodes are gone", str(L.links()))
        rc, out, err = L.xl("network-list", name_a)
        L.check(rc == 0 and len(out.splitlines()) == 2,
                "xl network-list: vif 0 alone again", out)
        # routed instead of bridged: script=vif-route with ip= (libxl
        # hands the script the vif's ip and gatewaydev)
        rc, out, err = L.xl("network-attach", name_a, "script=vif-route",
                            "ip=10.99.2.2", "gatewaydev=" + L.BRIDGE,
                            "mac=00:16:3e:5a:02:3a")
        tap = "vif%d.1" % doms[0]
        routes = subprocess.run(["ip", "route", "show", "10.99.2.2"],
                                capture_output=True, text=True).stdout
        L.check(rc == 0 and re.search(r"dev %s .*src 10\.99\.0\.1" %
                                      re.escape(tap), routes),
                "network-attach script=vif-route ip=10.99.2.2: the host "
                "routes it through %s" % tap,
                "rc=%d %s%s; routes: %s" % (rc, out, err, routes))
        L.check(a.run("for i in $(seq 1 40); do grep -qi 02:3a /sys/class/"
                      "net/*/address 2>/dev/null && break; sleep 0.5; done;"
                      " r=$(grep -li 02:3a /sys/class/net/*/address | "
                      "cut -d/ -f5); ip link set $r up && ip addr add "
                      "10.99.2.2/32 dev $r && ip route add 10.99.0.1/32 dev "
                      "$r 2>/dev/null; ping -c 3 -W 10 -I 10.99.2.2 "
                      "10.99.0.1 >/dev/null && echo rt-$((8+8))", "rt-16",
                      L.SLOW),
                "guest a reaches the host over the routed vif",
                a.tail(400))
        rc, out, err = L.xl("network-detach", name_a, "1")
        routes = subprocess.run(["ip", "route", "show", "10.99.2.2"],
                                capture_output=True, text=True).stdout
        L.check(rc == 0 and not routes.strip(),
                "network-detach: the route is gone", routes)
        # behind NAT: script=vif-nat, the router address on the tap
        rc, out, err = L.xl("network-attach", name_a, "script=vif-nat",
                            "ip=10.99.4.5", "mac=00:16:3e:5a:02:4a")
        addrs = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev",
                                tap], capture_output=True, text=True).stdout
        L.check(rc == 0 and "inet 10.99.4.132/32" in addrs,
                "network-attach script=vif-nat ip=10.99.4.5: %s has the "
                "router address 10.99.4.132" % tap,
                "rc=%d %s%s; %s" % (rc, out, err, addrs))
        L.check(a.run("for i in $(seq 1 40); do grep -qi 02:4a /sys/class/"
                      "net/*/address 2>/dev/null && break; sleep 0.5; done;"
                      " r=$(grep -li 02:4a /sys/class/net/*/address | "
                      "cut -d/ -f5); ip link set $r up && ip addr add "
                      "10.99.4.5/24 dev $r; ping -c 3 -W 10 10.99.4.132 "
                      ">/dev/null && echo nat-$((9+9))", "nat-18", L.SLOW),
                "guest a reaches its router over the NAT vif", a.tail(400))
        rc, out, err = L.xl("network-detach", name_a, "1")
        routes = subprocess.run(["ip", "route", "show", "10.99.4.5"],
                                capture_output=True, text=True).stdout
        L.check(rc == 0 and not routes.strip(),
                "network-detach of the NAT vif: its route is gone", routes)
        # a NIC from the config unplugs too (guest b's vif 0)
        rc, out, err = L.xl("network-detach", GUESTS[1][0], "0")
        L.check(rc == 0 and L.wait_for(
                    lambda: "vif%d.0" % doms[1] not in L.links(), 10),
                "xl network-detach %s 0: its boot NIC and tap are gone"
                % GUESTS[1][0], "rc=%d %s%s" % (rc, out, err))

        # ---- destroy: nothing left.
        for (name, _, _), dom, con in zip(GUESTS, doms, cons):
            rc, out, err = L.xl("destroy", name)
            L.check(rc == 0, "xl destroy %s" % name,
                    "rc=%d %s%s" % (rc, out, err))
            con.close()
            L.check(L.wait_for(lambda: not netbacks(dom), 10),
                    "%s: no netback left" % name, str(netbacks(dom)))
            L.check(not L.taps(dom), "%s: no tap left" % name,
                    str(L.taps(dom)))
            L.check(not L.xs_exists("/local/domain/0/backend/vif/%d" % dom),
                    "%s: no vif backend nodes" % name)
            bdir = os.path.join(L.RUNDIR, "backends", "vif-%d" % dom)
            L.check(not os.path.exists(bdir) and
                    not os.path.exists(bdir + ".log"),
                    "%s: no %s, no log" % (name, bdir))
        doms = []
    finally:
        for con in cons:
            con.close()
        for name, _, _ in GUESTS:
            if domid_of(name) is not None:
                L.xl("destroy", name)


if __name__ == "__main__":
    L.main(scenario)
