/*
 * vif.c - one NIC: its backend directory in xenstore read into a struct
 * vif, its tap and vhost-user socket made, the outcome written back
 * where libxl waits for it, and the packets: tap -> rx queue, tx queue
 * -> tap, with the "rate" limit on tx.
 */
#include "netback.h"

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>

/* What the tap puts before each frame (TUNSETVNETHDRSZ): virtio-net's
 * version 1 header, the same as the guest's with VERSION_1. */
#define TAP_HDR_LEN sizeof(struct virtio_net_hdr_v1)
/* One byte more than the biggest frame: a bigger one shows as such. */
#define RX_BUF_SIZE (TAP_HDR_LEN + VIF_FRAME_MAX + 1)

#define BIT(f) (1ULL << (f))
/* The offloads offered: checksums and TCP segmentation (IPv4, IPv6,
 * with ECN) both ways.  Not UFO: Linux has not made UFO frames since
 * 4.14 (its guests no longer negotiate it on tx), and the tap would
 * ignore TUN_F_UFO. */
#define VIF_OFFLOADS (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | \
                      BIT(VIRTIO_NET_F_GUEST_TSO4) |                      \
                      BIT(VIRTIO_NET_F_GUEST_TSO6) |                      \
                      BIT(VIRTIO_NET_F_GUEST_ECN) |                       \
                      BIT(VIRTIO_NET_F_HOST_TSO4) |                       \
                      BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN))

static void rx_run(struct netback *nb, struct vif *v);
static void tx_run(struct netback *nb, struct vif *v);

static void vif_free(struct vif *v)
{
    if (!v)
        return;
    free(v->path);
    free(v->name);
    free(v->mac);
    free(v->sock);
    free(v->error);
    free(v->rx_buf);
    free(v);
}

/* key under v's directory: malloc'd, or NULL with errno (ENOENT). */
static char *read_key(struct netback *nb, const struct vif *v,
                      const char *key)
{
    return backend_read_key(nb->xs, v->path, key);
}

/* Key/value pairs (NULL-terminated) into v's directory, unless it is
 * gone (backend_write_keys); a failure is logged. */
static void write_keys(struct netback *nb, const struct vif *v, ...)
{
    va_list ap;
    int rc;

    va_start(ap, v);
    rc = backend_write_keys(nb->xs, v->path, ap);
    va_end(ap);
    if (rc == -ENOTCONN)
        netback_log_vif(v, "cannot report to xenstore: it is not connected");
    else if (rc)
        netback_log_vif(v, "cannot write its state under %s: %s", v->path,
                        strerror(-rc));
}

void vif_publish(struct netback *nb, struct vif *v)
{
    if (v->state == VIF_ERROR)
        write_keys(nb, v, "hotplug-error", v->error, "hotplug-status",
                   "error", NULL);
    else
        write_keys(nb, v, "vifname", v->name, "vhost-user-socket", v->sock,
                   "hotplug-status", "connected", "state", "4", NULL);
}

/* Closes what the vif holds (its connection, socket, tap, timer). */
static void teardown(struct netback *nb, struct vif *v)
{
    vu_close(&v->c, NULL);
    if (v->listen_fd >= 0) {
        netback_poll_del(nb, v->listen_fd);
        close(v->listen_fd);
        v->listen_fd = -1;
        if (unlink(v->sock) < 0 && errno != ENOENT)
            netback_log_vif(v, "cannot remove %s: %s", v->sock,
                            strerror(errno));
    }
    /* No longer persistent: closing the fd takes the tap away. */
    if (v->tap_fd >= 0) {
        netback_poll_del(nb, v->tap_fd);
        /* EBADFD: its interface was deleted already. */
        if (ioctl(v->tap_fd, TUNSETPERSIST, 0UL) < 0 && errno != EBADFD)
            netback_log_vif(v, "cannot make tap %s go with its fd "
                            "(TUNSETPERSIST 0): %s", v->name,
                            strerror(errno));
        close(v->tap_fd);
        v->tap_fd = -1;
    }
    if (v->timer_fd >= 0) {
        netback_poll_del(nb, v->timer_fd);
        close(v->timer_fd);
        v->timer_fd = -1;
    }
}

/* Marks a vif refused: hotplug-error = reason, hotplug-status error. */
static void vif_fail(struct netback *nb, struct vif *v, const char *reason)
{
    teardown(nb, v);
    free(v->error);
    v->error = netback_sprintf("%s", reason);
    v->state = VIF_ERROR;
    netback_log_vif(v, "refused: %s", reason);
    vif_publish(nb, v);
}

void vif_destroy(struct netback *nb, struct vif *v, bool log)
{
    teardown(nb, v);
    if (log)
        netback_log_vif(v, "detached (its backend directory is gone)");
    vif_free(v);
}

/* ---------------------------------------------------------- set-up */

/* "aa:bb:cc:dd:ee:ff", as libxl writes it. */
static bool valid_mac(const char *s)
{
    unsigned int i;

    for (i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return s[17] == '\0';
}

/* Xen's "rate" as libxl writes it: "<bytes>,<microseconds>", both
 * decimal and not 0. */
static bool parse_rate(const char *s, uint64_t *bytes_r, uint32_t *usec_r)
{
    unsigned long long b;
    unsigned long u;
    char *end;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    b = strtoull(s, &end, 10);
    if (errno || *end != ',' || !b)
        return false;
    s = end + 1;
    if (*s < '0' || *s > '9')
        return false;
    u = strtoul(s, &end, 10);
    if (errno || *end || !u || u > UINT32_MAX)
        return false;
    *bytes_r = b;
    *usec_r = (uint32_t)u;
    return true;
}

/* An interface ioctl on a socket of ours; -errno. */
static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
    int s, rc = 0;

    s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    if (ioctl(s, req, ifr) < 0)
        rc = -errno;
    close(s);
    return rc;
}

/*
 * The tap: vnet headers of virtio-net's version 1 (so a frame passes
 * with its header as the guest's queues carry it), up, no offloads
 * until a guest accepts some (set_tap_offloads: one that died may have
 * left its own on a tap taken back).
 * Persistent while the vif exists: a worker that dies (kill -9, a
 * crash) leaves it, on its bridge with whatever the vif hotplug script
 * set, and the worker its supervisor starts again takes it back by its
 * name; teardown() makes it go.  Its own address is fe:ff:ff:ff:ff:ff,
 * as Xen gives its backend vifs: a Linux bridge takes the lowest address
 * of its ports for its own, and this one is never the lowest.  The fd,
 * or -errno with reason set; *kept_r says whether the tap was there.
 */
static int tap_open(struct vif *v, bool *kept_r, char *reason, size_t len)
{
    static const unsigned char backend_mac[6] = {
        0xfe, 0xff, 0xff, 0xff, 0xff, 0xff
    };
    struct ifreq ifr;
    int fd, hdr = TAP_HDR_LEN, rc;
    const char *what;

    /* A tap left by a worker that died, or one of the host's. */
    *kept_r = if_nametoindex(v->name) != 0;
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(reason, len, "cannot create tap %s: /dev/net/tun: %s",
                 v->name, strerror(errno));
        return rc;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", v->name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        rc = -errno;
        snprintf(reason, len, "cannot create tap %s: %s", v->name,
                 strerror(errno));
        close(fd);
        return rc;
    }
    what = "TUNSETVNETHDRSZ";
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
        goto fail;
    what = "TUNSETOFFLOAD";
    if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0)
        goto fail;
    what = "TUNSETPERSIST";
    if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
        goto fail;
    what = "SIOCSIFHWADDR";
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, backend_mac, sizeof(backend_mac));
    if ((rc = if_ioctl(SIOCSIFHWADDR, &ifr)))
        goto fail_rc;
    what = "SIOCGIFFLAGS";
    if ((rc = if_ioctl(SIOCGIFFLAGS, &ifr)))
        goto fail_rc;
    what = "SIOCSIFFLAGS";
    ifr.ifr_flags |= IFF_UP;
    if ((rc = if_ioctl(SIOCSIFFLAGS, &ifr)))
        goto fail_rc;
    return fd;

fail:
    rc = -errno;
fail_rc:
    snprintf(reason, len, "cannot set up tap %s: %s: %s", v->name, what,
             strerror(-rc));
    if (!*kept_r)
        ioctl(fd, TUNSETPERSIST, 0UL);  /* leave nothing behind */
    close(fd);
    return rc;
}

/* The vhost-user socket, listening; the fd, or -errno with reason. */
static int listen_on(struct vif *v, char *reason, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, rc;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(reason, len, "cannot make a socket for %s: %s", v->sock,
                 strerror(errno));
        return rc;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", v->sock);
    /* A dead netback's socket: the directory is ours (locked). */
    unlink(v->sock);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 4) < 0) {
        rc = -errno;
        snprintf(reason, len, "cannot listen on %s: %s", v->sock,
                 strerror(errno));
        close(fd);
        unlink(v->sock);
        return rc;
    }
    return fd;
}

/* Makes the tap and the socket; CONNECTED, or refused with the reason. */
static void vif_setup(struct netback *nb, struct vif *v, const char *bridge)
{
    char reason[512], rate[64] = "";
    bool kept;
    int fd;

    fd = tap_open(v, &kept, reason, sizeof(reason));
    if (fd < 0)
        goto fail;
    v->tap_fd = fd;
    v->tap_offloads = 0;
    fd = listen_on(v, reason, sizeof(reason));
    if (fd < 0)
        goto fail;
    v->listen_fd = fd;
    if (v->rate_bytes) {
        v->timer_fd = timerfd_create(CLOCK_MONOTONIC,
                                     TFD_NONBLOCK | TFD_CLOEXEC);
        if (v->timer_fd < 0) {
            snprintf(reason, sizeof(reason), "cannot make the rate "
                     "limit's timer: %s", strerror(errno));
            goto fail;
        }
        v->tokens = (double)v->rate_bytes;
        clock_gettime(CLOCK_MONOTONIC, &v->refilled);
        snprintf(rate, sizeof(rate), ", tx limited to %" PRIu64 " bytes "
                 "per %" PRIu32 " us", v->rate_bytes, v->rate_usec);
    }
    /* Read (and dropped) until a guest takes the frames: see
     * update_tap_events. */
    if (netback_poll_add(nb, v->tap_fd, EPOLLIN, &v->tap_ev) ||
        netback_poll_add(nb, v->listen_fd, EPOLLIN, &v->listen_ev) ||
        (v->timer_fd >= 0 &&
         netback_poll_add(nb, v->timer_fd, EPOLLIN, &v->timer_ev))) {
        snprintf(reason, sizeof(reason), "cannot poll its tap and socket "
                 "(see the log)");
        goto fail;
    }
    v->tap_events = EPOLLIN;
    v->state = VIF_CONNECTED;
    vif_publish(nb, v);
    netback_log_vif(v, "tap %s%s for mac %s (bridge %s%s), vhost-user on %s",
                    v->name, kept ? " (kept from before)" : "", v->mac,
                    bridge && *bridge ? bridge : "none", rate, v->sock);
    return;

fail:
    vif_fail(nb, v, reason);
}

/* Makes a persistent tap that no process holds go; false when it is
 * not such a tap (another kind of interface, or one in use). */
static bool tap_remove(const char *name)
{
    struct ifreq ifr;
    bool ok;
    int fd;

    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ok = ioctl(fd, TUNSETIFF, &ifr) == 0 &&
         ioctl(fd, TUNSETPERSIST, 0UL) == 0;
    close(fd);
    return ok;
}

void vif_reap_taps(struct netback *nb)
{
    struct if_nameindex *ifs, *i;
    unsigned int domid, devid, n = 0, k;
    char **ents, *path;
    int end;

    ifs = if_nameindex();
    if (!ifs)
        return;
    ents = xs_directory(nb->xs, XBT_NULL, nb->be_path, &n);
    if (!ents && errno != ENOENT) {
        netback_log("listing %s: %s", nb->be_path, strerror(errno));
        if_freenameindex(ifs);
        return;
    }
    for (i = ifs; i->if_name; i++) {
        end = 0;
        if (sscanf(i->if_name, "vif%u.%u%n", &domid, &devid, &end) != 2 ||
            i->if_name[end] || domid != nb->domid)
            continue;
        path = netback_sprintf("%u", devid);
        for (k = 0; k < n && strcmp(ents[k], path); k++)
            ;
        free(path);
        if (k < n)
            continue;       /* its vif is there: taken over by vif_read */
        if (tap_remove(i->if_name))
            netback_log("removed tap %s, left by an earlier backend: its "
                        "vif is gone", i->if_name);
    }
    free(ents);
    if_freenameindex(ifs);
}

/* ---------------------------------------------------------- vhost-user */

static int vif_poll_add(struct vu *c, int fd, int q)
{
    struct vif *v = c->owner;

    return netback_poll_add(v->nb, fd, EPOLLIN,
                            q == VU_CONN ? &v->conn_ev : &v->kick_ev[q]);
}

static void vif_poll_del(struct vu *c, int fd)
{
    struct vif *v = c->owner;

    netback_poll_del(v->nb, fd);
}

static void vif_vu_log(struct vu *c, const char *msg)
{
    netback_log_vif(c->owner, "%s", msg);
}

static void vif_vu_changed(struct vu *c)
{
    struct vif *v = c->owner;

    vif_queues_changed(v->nb, v);
}

/*
 * TUN_F_* for a guest that accepted features f: what it takes in
 * (GUEST_*), no more, so that the kernel hands the tap checksummed
 * and segmented whatever else.  Segmentation comes only with checksum
 * offload (virtio's GUEST_TSO* require GUEST_CSUM, and the tap ignores
 * TUN_F_TSO* without TUN_F_CSUM), ECN only with segmentation.
 */
static unsigned int tap_offloads_for(uint64_t f)
{
    unsigned int off;

    if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
        return 0;
    off = TUN_F_CSUM;
    if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
        off |= TUN_F_TSO4;
    if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
        off |= TUN_F_TSO6;
    if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) &&
        (f & BIT(VIRTIO_NET_F_GUEST_ECN)))
        off |= TUN_F_TSO_ECN;
    return off;
}

/* The tap's offloads (TUNSETOFFLOAD) to off, said in the log when they
 * change.  A failure leaves the old ones (logged): rx_header drops
 * what the guest cannot take. */
static void set_tap_offloads(struct vif *v, unsigned int off)
{
    if (v->tap_fd < 0 || off == v->tap_offloads)
        return;
    if (ioctl(v->tap_fd, TUNSETOFFLOAD, (unsigned long)off) < 0) {
        /* EBADFD: its interface is gone, which tap_lost says. */
        if (errno != EBADFD)
            netback_log_vif(v, "cannot set tap %s's offloads to %#x "
                            "(TUNSETOFFLOAD): %s", v->name, off,
                            strerror(errno));
        return;
    }
    v->tap_offloads = off;
    netback_log_vif(v, "tap %s offloads: %s%s%s%s", v->name,
                    off ? "checksum" : "none",
                    off & TUN_F_TSO4 ? ", TSO4" : "",
                    off & TUN_F_TSO6 ? ", TSO6" : "",
                    off & TUN_F_TSO_ECN ? ", ECN" : "");
}

static int vif_features_set(struct vu *c, uint64_t f)
{
    struct vif *v = c->owner;

    v->mrg_rxbuf = f & BIT(VIRTIO_NET_F_MRG_RXBUF);
    /* virtio 1.x has the 12-byte header whether buffers merge or not;
     * a legacy driver without merged buffers the 10-byte one. */
    if (v->mrg_rxbuf || (f & BIT(VIRTIO_F_VERSION_1)))
        v->hdr_len = sizeof(struct virtio_net_hdr_v1);
    else
        v->hdr_len = sizeof(struct virtio_net_hdr);
    set_tap_offloads(v, tap_offloads_for(f));
    return 0;
}

/* One queue pair, merged rx buffers, event indexes, the offloads; of
 * the protocol features only REPLY_ACK: no config space (the MAC and
 * link are the frontend's), no MQ. */
static const struct vu_ops vif_vu_ops = {
    .features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
                BIT(VIRTIO_RING_F_EVENT_IDX) | VIF_OFFLOADS |
                BIT(VU_F_PROTOCOL_FEATURES),
    .protocol_features = 1ULL << VU_PF_REPLY_ACK,
    .nr_queues = VQ_COUNT,
    .queues = "one rx and one tx queue",
    .poll_add = vif_poll_add,
    .poll_del = vif_poll_del,
    .log = vif_vu_log,
    .queues_changed = vif_vu_changed,
    .features_set = vif_features_set,
};

bool vif_queue_ready(const struct vif *v, unsigned int q)
{
    const struct virtq *vq = &v->c.vq[q];

    /* A disabled tx queue is still emptied (its packets dropped). */
    return v->c.fd >= 0 && vq->started && (q == VQ_TX || vq->enabled);
}

int vif_read(struct netback *nb, unsigned int devid, struct vif **v_r)
{
    char *bridge = NULL, *rate = NULL, reason[512];
    struct sockaddr_un sa;
    unsigned int q;
    struct vif *v;
    int rc;

    v = netback_zalloc(sizeof(*v));
    v->devid = devid;
    v->tap_fd = v->listen_fd = v->timer_fd = -1;
    v->tap_ev = (struct ev){ .kind = EV_TAP, .vif = v };
    v->listen_ev = (struct ev){ .kind = EV_LISTEN, .vif = v };
    v->timer_ev = (struct ev){ .kind = EV_THROTTLE, .vif = v };
    v->conn_ev = (struct ev){ .kind = EV_CONN, .vif = v };
    for (q = 0; q < VQ_COUNT; q++)
        v->kick_ev[q] = (struct ev){ .kind = EV_KICK, .vif = v, .q = q };
    v->nb = nb;
    v->hdr_len = sizeof(struct virtio_net_hdr);
    vu_init(&v->c, &vif_vu_ops, v);
    v->path = netback_sprintf("%s/%u", nb->be_path, devid);
    v->name = netback_sprintf("vif%u.%u", nb->domid, devid);
    /* libxl writes the directory in one transaction, mac among it: a
     * directory without it is still being written (or not ours). */
    v->mac = read_key(nb, v, "mac");
    if (!v->mac)
        goto missing;
    bridge = read_key(nb, v, "bridge");
    if (!bridge && errno != ENOENT)
        goto xs_error;
    rate = read_key(nb, v, "rate");
    if (!rate && errno != ENOENT)
        goto xs_error;
    v->sock = netback_sprintf("%s/%u.sock", nb->dir, devid);
    v->rx_buf = netback_zalloc(RX_BUF_SIZE);
    v->state = VIF_CONNECTED;
    *v_r = v;
    rc = 1;

    if (strlen(v->name) >= IFNAMSIZ) {
        snprintf(reason, sizeof(reason), "tap name %s is longer than %d "
                 "characters", v->name, IFNAMSIZ - 1);
        vif_fail(nb, v, reason);
    } else if (!valid_mac(v->mac)) {
        snprintf(reason, sizeof(reason), "mac '%s' is not a MAC address "
                 "(aa:bb:cc:dd:ee:ff)", v->mac);
        vif_fail(nb, v, reason);
    } else if (rate && !parse_rate(rate, &v->rate_bytes, &v->rate_usec)) {
        snprintf(reason, sizeof(reason), "rate '%s' is not <bytes>,"
                 "<microseconds> (both above 0)", rate);
        vif_fail(nb, v, reason);
    } else if (strlen(v->sock) >= sizeof(sa.sun_path)) {
        snprintf(reason, sizeof(reason), "socket path %s is longer than "
                 "%zu bytes", v->sock, sizeof(sa.sun_path) - 1);
        vif_fail(nb, v, reason);
    } else {
        vif_setup(nb, v, bridge);
    }
    goto out;

missing:
    if (errno != ENOENT)
        goto xs_error;
    rc = 0;
    vif_free(v);
    goto out;
xs_error:
    rc = -errno;
    netback_log("reading %s: %s", v->path, strerror(errno));
    vif_free(v);
out:
    free(bridge);
    free(rate);
    return rc;
}

/* ---------------------------------------------------------- packets */

/*
 * What the tap is polled for follows what the queues can take.  It is
 * read unless the guest is out of rx buffers (then its queue holds the
 * frames until the guest posts some): without a guest to take them the
 * frames are dropped, as by a NIC whose link is down.  Polling it for
 * input also shows its deletion: tun wakes its readers then, and only
 * those polling for input hear it.
 */
static void update_tap_events(struct netback *nb, struct vif *v)
{
    uint32_t want = 0;

    if (v->tap_fd < 0)
        return;
    if (!v->rx_starved || !vif_queue_ready(v, VQ_RX))
        want |= EPOLLIN;
    if (v->tx_blocked)
        want |= EPOLLOUT;
    if (want != v->tap_events &&
        !netback_poll_mod(nb, v->tap_fd, want, &v->tap_ev))
        v->tap_events = want;
}

/* A frame dropped (one the guest's buffers cannot hold, a malformed one
 * of the guest's, one the tap refused): logged once per connection and
 * direction, counted always. */
static void __attribute__((format(printf, 3, 4)))
dropped(struct vif *v, bool rx, const char *fmt, ...)
{
    bool *warned = rx ? &v->warned_rx_drop : &v->warned_tx_drop;
    char why[256];
    va_list ap;

    if (rx)
        v->rx_dropped++;
    else
        v->tx_dropped++;
    if (*warned)
        return;
    *warned = true;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    netback_log_vif(v, "dropping %s frames: %s (said once per connection)",
                    rx ? "rx" : "tx", why);
}

/* The guest broke a ring: its connection goes (c.err says why). */
static void broken_ring(struct netback *nb, struct vif *v, unsigned int q)
{
    char why[sizeof(v->c.err) + 16];

    snprintf(why, sizeof(why), "%s queue: %s", q == VQ_RX ? "rx" : "tx",
             v->c.err);
    vu_close(&v->c, why);
}

/* A position in an iovec array, and copying into it. */
struct iov_pos {
    unsigned int i;
    size_t off;
};

static void iov_put(const struct iovec *iov, unsigned int n,
                    struct iov_pos *pos, const void *src, size_t len)
{
    const unsigned char *s = src;
    size_t room, k;

    while (len && pos->i < n) {
        room = iov[pos->i].iov_len - pos->off;
        k = room < len ? room : len;
        memcpy((unsigned char *)iov[pos->i].iov_base + pos->off, s, k);
        s += k;
        len -= k;
        pos->off += k;
        if (pos->off == iov[pos->i].iov_len) {
            pos->i++;
            pos->off = 0;
        }
    }
}

/* Copying out of an iovec array; the bytes copied. */
static size_t iov_get(const struct iovec *iov, unsigned int n,
                      struct iov_pos *pos, void *dst, size_t len)
{
    unsigned char *d = dst;
    size_t room, k, done = 0;

    while (len && pos->i < n) {
        room = iov[pos->i].iov_len - pos->off;
        k = room < len ? room : len;
        memcpy(d + done, (unsigned char *)iov[pos->i].iov_base + pos->off,
               k);
        done += k;
        len -= k;
        pos->off += k;
        if (pos->off == iov[pos->i].iov_len) {
            pos->i++;
            pos->off = 0;
        }
    }
    return done;
}

/*
 * The tap's header made the guest's (in place): what the guest accepted
 * passes, the rest is cleared.  NULL, or why the frame cannot go to
 * this guest: a partial checksum or a segmentation it did not accept.
 * The tap's offloads follow the guest's (set_tap_offloads), so only a
 * TUNSETOFFLOAD that failed, or one of someone else's, lets one come.
 */
static const char *rx_header(const struct vif *v,
                             struct virtio_net_hdr_v1 *h)
{
    uint64_t f = v->c.features, need;

    if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM))) {
        if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
            return "a partial checksum the guest did not accept";
        h->flags = 0;               /* DATA_VALID too: virtio's rule */
    }
    h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
    if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        h->csum_start = h->csum_offset = 0;
    if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
        h->hdr_len = h->gso_size = 0;
        return NULL;
    }
    switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
    case VIRTIO_NET_HDR_GSO_TCPV4:
        need = BIT(VIRTIO_NET_F_GUEST_TSO4);
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        need = BIT(VIRTIO_NET_F_GUEST_TSO6);
        break;
    default:
        return "a segmentation type the guest cannot be offered";
    }
    if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
        need |= BIT(VIRTIO_NET_F_GUEST_ECN);
    if ((f & need) != need)
        return "a segmentation the guest did not accept";
    return NULL;
}

/*
 * The frame in rx_buf into the guest's rx buffers: one chain, or with
 * merged buffers as many as it takes (num_buffers says how many), the
 * tap's header passed on (rx_header).  1 when it went (or was
 * dropped), 0 when the guest has not posted enough buffers yet
 * (nothing taken), -EPROTO.
 */
static int rx_deliver(struct vif *v)
{
    struct vu *c = &v->c;
    struct virtq *vq = &c->vq[VQ_RX];
    size_t frame = v->rx_len - TAP_HDR_LEN, need = v->hdr_len + frame;
    unsigned int nbuf = 0, niov = 0, n, max_buf, i;
    struct virtio_net_hdr_v1 hdr;
    struct iov_pos pos = { 0, 0 };
    uint64_t cap = 0, len, w;
    const char *why;
    uint16_t head;
    int rc;

    /* Checked here rather than when read: the features may change
     * while the frame waits for buffers. */
    memcpy(&hdr, v->rx_buf, TAP_HDR_LEN);
    why = rx_header(v, &hdr);
    if (why) {
        dropped(v, true, "the tap gave %s (flags %#x, gso_type %#x)", why,
                v->rx_buf[0], v->rx_buf[1]);
        return 1;
    }
    max_buf = v->mrg_rxbuf ? vq->num : 1;
    if (max_buf > VIF_MAX_IOV)
        max_buf = VIF_MAX_IOV;
    while (cap < need && nbuf < max_buf) {
        rc = virtq_pop(vq, &c->mem, true, v->iov + niov, VIF_MAX_IOV - niov,
                       &n, &head, &len, c->err, sizeof(c->err));
        if (rc == 0) {
            virtq_unpop(vq, nbuf);
            return 0;
        }
        if (rc == -EPROTO)
            return rc;
        v->rx_slots[nbuf].head = head;
        v->rx_slots[nbuf++].cap = rc == -E2BIG ? 0 : len;
        if (rc == -E2BIG) {
            /* Taken and unusable: back to the guest, empty (it drops
             * them as short packets), with what came before. */
            for (i = 0; i < nbuf; i++)
                virtq_push(vq, v->rx_slots[i].head, 0);
            virtq_publish(vq);
            dropped(v, true, "the guest's rx buffers come in more than %d "
                    "pieces", VIF_MAX_IOV);
            return 1;
        }
        niov += n;
        cap += len;
    }
    if (cap < need) {
        virtq_unpop(vq, nbuf);
        dropped(v, true, "a frame of %zu bytes does not fit in %s (%" PRIu64
                " bytes)", frame, v->mrg_rxbuf ? "the whole rx ring" :
                "an rx buffer", cap);
        return 1;
    }
    /* 1 without merged buffers, as virtio 1.x asks. */
    hdr.num_buffers = htole16((uint16_t)nbuf);
    iov_put(v->iov, niov, &pos, &hdr, v->hdr_len);
    iov_put(v->iov, niov, &pos, v->rx_buf + TAP_HDR_LEN, frame);
    for (i = 0, len = need; i < nbuf; i++) {
        w = v->rx_slots[i].cap < len ? v->rx_slots[i].cap : len;
        virtq_push(vq, v->rx_slots[i].head, (uint32_t)w);
        len -= w;
    }
    /* All of a merged frame at once: the guest reads num_buffers
     * entries as soon as it sees the first. */
    virtq_publish(vq);
    return 1;
}

static void tap_lost(struct netback *nb, struct vif *v);

/* No rx queue to take them: VIF_BUDGET frames from the tap, dropped. */
static void rx_discard(struct netback *nb, struct vif *v)
{
    unsigned int n;

    v->rx_len = 0;
    for (n = 0; n < VIF_BUDGET; n++) {
        if (read(v->tap_fd, v->rx_buf, RX_BUF_SIZE) >= 0)
            continue;
        if (errno == EBADFD)
            tap_lost(nb, v);
        return;
    }
}

/* Frames from the tap into the rx queue, VIF_BUDGET at most. */
static void rx_run(struct netback *nb, struct vif *v)
{
    struct virtq *vq = &v->c.vq[VQ_RX];
    unsigned int n;
    ssize_t r;
    int rc;

    if (!vif_queue_ready(v, VQ_RX) || v->rx_starved || v->tap_fd < 0)
        return;
    for (n = 0; n < VIF_BUDGET; n++) {
        if (!v->rx_len) {
            r = read(v->tap_fd, v->rx_buf, RX_BUF_SIZE);
            if (r < 0 && errno == EBADFD) {
                tap_lost(nb, v);        /* its interface was deleted */
                return;
            }
            if (r < 0) {
                if (errno != EAGAIN && errno != EINTR && !v->warned_tap) {
                    v->warned_tap = true;
                    netback_log_vif(v, "reading the tap: %s",
                                    strerror(errno));
                }
                break;
            }
            if ((size_t)r < TAP_HDR_LEN + ETH_HLEN ||
                (size_t)r > TAP_HDR_LEN + VIF_FRAME_MAX) {
                dropped(v, true, "the tap gave a frame of %zd bytes", r);
                continue;
            }
            v->rx_len = (size_t)r;
        }
        rc = rx_deliver(v);
        if (rc < 0) {
            broken_ring(nb, v, VQ_RX);
            return;
        }
        if (rc == 0) {
            /* No buffers: the tap waits (its queue, then the kernel,
             * drop what does not fit) until the guest posts some. */
            rc = virtq_enable_kicks(vq, v->c.err, sizeof(v->c.err));
            if (rc < 0) {
                broken_ring(nb, v, VQ_RX);
                return;
            }
            if (rc > 0)
                continue;
            v->rx_starved = true;
            break;
        }
        v->rx_len = 0;
    }
    virtq_signal(vq);
    update_tap_events(nb, v);
}

/* ---------------------------------------------------------- tx, rate */

/* Tokens accrue at rate_bytes per rate_usec, up to rate_bytes. */
static void refill(struct vif *v)
{
    struct timespec now;
    double ns;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ns = (double)(now.tv_sec - v->refilled.tv_sec) * 1e9 +
         (double)(now.tv_nsec - v->refilled.tv_nsec);
    v->refilled = now;
    v->tokens += ns * (double)v->rate_bytes / ((double)v->rate_usec * 1e3);
    if (v->tokens > (double)v->rate_bytes)
        v->tokens = (double)v->rate_bytes;
}

/*
 * Whether a frame of len bytes may go now; if not, the timer is set for
 * when it may.  A frame bigger than the whole bucket goes once the
 * bucket is full, leaving it in debt: the average rate still holds, as
 * with Xen's netback, which lets one packet exceed the credit.
 */
static bool take_tokens(struct vif *v, size_t len)
{
    struct itimerspec its = { { 0, 0 }, { 0, 0 } };
    double need, ns;

    refill(v);
    need = (double)len < (double)v->rate_bytes ? (double)len :
           (double)v->rate_bytes;
    if (v->tokens >= need) {
        v->tokens -= (double)len;
        return true;
    }
    ns = (need - v->tokens) * (double)v->rate_usec * 1e3 /
         (double)v->rate_bytes;
    if (ns < 1e3)
        ns = 1e3;
    its.it_value.tv_sec = (time_t)(ns / 1e9);
    its.it_value.tv_nsec = (long)(ns - (double)its.it_value.tv_sec * 1e9);
    if (timerfd_settime(v->timer_fd, 0, &its, NULL) < 0) {
        /* Without a timer nothing would wake us: let it through. */
        v->tokens -= (double)len;
        return true;
    }
    v->throttled = true;
    return false;
}

/*
 * The guest's header of a tx frame of len bytes, checked against what
 * it negotiated before the kernel reads it (which would refuse some of
 * it too, but with no word of why): true, or false with why.  Virtio's
 * rules: NEEDS_CSUM only with VIRTIO_NET_F_CSUM, its checksum inside
 * the frame; a segmentation type only with its HOST_ feature, and then
 * with NEEDS_CSUM and an MSS.  DATA_VALID, meaningless on tx, is
 * cleared.
 */
static bool tx_header_ok(const struct vif *v, struct virtio_net_hdr_v1 *h,
                         size_t len, char *why, size_t n)
{
    uint64_t f = v->c.features, need = 0;
    unsigned int start = le16toh(h->csum_start);
    unsigned int off = le16toh(h->csum_offset);
    bool csum;

    h->flags &= ~VIRTIO_NET_HDR_F_DATA_VALID;
    csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
    if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        snprintf(why, n, "flags %#x", h->flags);
        return false;
    }
    if (csum && !(f & BIT(VIRTIO_NET_F_CSUM))) {
        snprintf(why, n, "NEEDS_CSUM without VIRTIO_NET_F_CSUM negotiated");
        return false;
    }
    if (csum && start + off + 2 > len) {
        snprintf(why, n, "csum_start %u + csum_offset %u past the end of "
                 "a frame of %zu bytes", start, off, len);
        return false;
    }
    if (le16toh(h->hdr_len) > len) {
        snprintf(why, n, "hdr_len %u past the end of a frame of %zu bytes",
                 le16toh(h->hdr_len), len);
        return false;
    }
    if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
        return true;
    if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_TCPV4)
        need = BIT(VIRTIO_NET_F_HOST_TSO4);
    else if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) ==
             VIRTIO_NET_HDR_GSO_TCPV6)
        need = BIT(VIRTIO_NET_F_HOST_TSO6);
    if (need && (h->gso_type & VIRTIO_NET_HDR_GSO_ECN))
        need |= BIT(VIRTIO_NET_F_HOST_ECN);
    if (!need || (f & need) != need) {
        snprintf(why, n, "gso_type %#x without its feature negotiated "
                 "(HOST_TSO4 for 0x1, HOST_TSO6 for 0x4, HOST_ECN for "
                 "0x80; UFO is not offered)", h->gso_type);
        return false;
    }
    if (!csum || !h->gso_size) {
        snprintf(why, n, "gso_type %#x without NEEDS_CSUM or gso_size",
                 h->gso_type);
        return false;
    }
    return true;
}

/*
 * One tx chain (in v->iov from entry 1, niov entries, len bytes with the
 * guest's header) to the tap.  1 when it is done with (sent, dropped,
 * or discarded by a disabled queue), 0 when it must wait (throttled, or
 * the tap is full): the caller gives it back to the ring.
 */
static int tx_frame(struct vif *v, bool too_many, unsigned int niov,
                    uint64_t len)
{
    struct vu *c = &v->c;
    struct iovec *iov = v->iov + 1;
    struct virtio_net_hdr_v1 hdr = { 0 };
    struct iov_pos pos = { 0, 0 };
    size_t skip = v->hdr_len, frame;
    unsigned int i = 0;
    char why[160];
    ssize_t r;

    if (too_many) {
        dropped(v, false, "a frame in more than %d pieces", VIF_MAX_IOV);
        return 1;
    }
    if (len < v->hdr_len + ETH_HLEN || len - v->hdr_len > VIF_FRAME_MAX) {
        dropped(v, false, "a chain of %" PRIu64 " bytes (a %zu-byte header "
                "and a frame of %d to %d)", len, v->hdr_len, ETH_HLEN,
                VIF_FRAME_MAX);
        return 1;
    }
    /* A disabled queue is emptied without effect (vhost-user's rule). */
    if (!c->vq[VQ_TX].enabled)
        return 1;
    frame = len - v->hdr_len;
    /* Ours, checked: the guest may change its copy meanwhile.  A legacy
     * header (10 bytes) leaves num_buffers 0, as the tap wants it. */
    iov_get(iov, niov, &pos, &hdr, v->hdr_len);
    hdr.num_buffers = 0;
    if (!tx_header_ok(v, &hdr, frame, why, sizeof(why))) {
        dropped(v, false, "a bad virtio-net header: %s", why);
        return 1;
    }
    if (v->rate_bytes && !take_tokens(v, frame))
        return 0;
    while (skip) {
        if (iov[i].iov_len <= skip) {
            skip -= iov[i].iov_len;
            i++;
        } else {
            iov[i].iov_base = (unsigned char *)iov[i].iov_base + skip;
            iov[i].iov_len -= skip;
            skip = 0;
        }
    }
    /* Our checked copy of the guest's header in its place. */
    v->iov[i] = (struct iovec){ &hdr, TAP_HDR_LEN };
    r = writev(v->tap_fd, v->iov + i, (int)(niov - i + 1));
    if (r < 0 && errno == EAGAIN) {
        if (v->rate_bytes)
            v->tokens += (double)frame;
        v->tx_blocked = true;
        return 0;
    }
    if (r < 0)
        dropped(v, false, "writing to the tap: %s", strerror(errno));
    return 1;
}

/* Frames from the tx queue to the tap, VIF_BUDGET at most. */
static void tx_run(struct netback *nb, struct vif *v)
{
    struct vu *c = &v->c;
    struct virtq *vq = &c->vq[VQ_TX];
    unsigned int n = 0, niov;
    uint16_t head;
    uint64_t len;
    int rc;

    v->tx_more = false;
    if (!vif_queue_ready(v, VQ_TX) || v->tx_blocked || v->throttled ||
        v->tap_fd < 0)
        return;
    virtq_disable_kicks(vq);
    while (n < VIF_BUDGET) {
        rc = virtq_pop(vq, &c->mem, false, v->iov + 1, VIF_MAX_IOV, &niov,
                       &head, &len, c->err, sizeof(c->err));
        if (rc == 0) {
            rc = virtq_enable_kicks(vq, c->err, sizeof(c->err));
            if (rc == 0)
                break;          /* idle until the guest kicks */
            if (rc > 0) {
                virtq_disable_kicks(vq);
                continue;
            }
        }
        if (rc == -EPROTO) {
            broken_ring(nb, v, VQ_TX);
            return;
        }
        n++;
        if (!tx_frame(v, rc == -E2BIG, niov, len)) {
            virtq_unpop(vq, 1);
            break;
        }
        virtq_push(vq, head, 0);
    }
    if (n == VIF_BUDGET)
        v->tx_more = true;
    virtq_publish(vq);
    virtq_signal(vq);
    update_tap_events(nb, v);
}

/* ---------------------------------------------------------- events */

void vif_tx_more(struct netback *nb, struct vif *v)
{
    tx_run(nb, v);
}

/* The tap is gone from under us (ip link del): the vif is out of
 * service until it is attached again. */
static void tap_lost(struct netback *nb, struct vif *v)
{
    char reason[128];

    snprintf(reason, sizeof(reason), "tap %s was removed from under the "
             "backend", v->name);
    vif_fail(nb, v, reason);
}

void vif_tap_event(struct netback *nb, struct vif *v, uint32_t events)
{
    if (v->tap_fd < 0)
        return;
    /* A tap reports errors only once its interface is unregistered. */
    if (events & (EPOLLERR | EPOLLHUP)) {
        tap_lost(nb, v);
        return;
    }
    if (events & EPOLLOUT) {
        v->tx_blocked = false;
        tx_run(nb, v);
    }
    if ((events & EPOLLIN) && v->tap_fd >= 0) {
        if (vif_queue_ready(v, VQ_RX))
            rx_run(nb, v);
        else
            rx_discard(nb, v);
    }
    update_tap_events(nb, v);
}

/* Reads an eventfd that polls readable.  Kick fds are qemu's and
 * blocking (setting O_NONBLOCK would change them for qemu too): look
 * before reading. */
static void drain(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint64_t n;

    if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) &&
        read(fd, &n, sizeof(n)) != sizeof(n))
        return;                 /* taken by qemu meanwhile: no matter */
}

void vif_kick(struct netback *nb, struct vif *v, unsigned int q)
{
    struct virtq *vq = &v->c.vq[q];

    if (vq->kick_fd < 0)
        return;
    drain(vq->kick_fd);
    if (!vif_queue_ready(v, q))
        return;
    if (q == VQ_TX) {
        tx_run(nb, v);
        return;
    }
    /* Rx kicks matter only when we wait for buffers. */
    if (v->rx_starved) {
        v->rx_starved = false;
        virtq_disable_kicks(vq);
    }
    rx_run(nb, v);
}

void vif_throttle_event(struct netback *nb, struct vif *v)
{
    uint64_t ticks;

    if (v->timer_fd < 0 || read(v->timer_fd, &ticks, sizeof(ticks)) < 0)
        return;
    v->throttled = false;
    tx_run(nb, v);
}

void vif_queues_changed(struct netback *nb, struct vif *v)
{
    struct itimerspec off = { { 0, 0 }, { 0, 0 } };

    if (v->c.fd < 0) {
        /* What was pending belongs to the connection that went. */
        if (v->rx_dropped || v->tx_dropped)
            netback_log_vif(v, "that connection dropped %" PRIu64 " rx and "
                            "%" PRIu64 " tx frames", v->rx_dropped,
                            v->tx_dropped);
        v->rx_len = 0;
        /* Until the next frontend says otherwise: no features, and the
         * tap without offloads. */
        v->mrg_rxbuf = false;
        v->hdr_len = sizeof(struct virtio_net_hdr);
        set_tap_offloads(v, 0);
        v->rx_starved = v->tx_more = v->tx_blocked = false;
        v->warned_rx_drop = v->warned_tx_drop = v->warned_tap = false;
        v->rx_dropped = v->tx_dropped = 0;
        if (v->throttled && v->timer_fd >= 0)
            timerfd_settime(v->timer_fd, 0, &off, NULL);
        v->throttled = false;
    }
    /* A queue that just started may have work the guest kicked for
     * before we had it: look now. */
    if (vif_queue_ready(v, VQ_RX)) {
        v->rx_starved = false;
        virtq_disable_kicks(&v->c.vq[VQ_RX]);
        rx_run(nb, v);
    }
    if (vif_queue_ready(v, VQ_TX))
        tx_run(nb, v);
    update_tap_events(nb, v);
}
