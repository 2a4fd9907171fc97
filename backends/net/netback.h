/*
 * netback.h - what the files of xenolith-netback share; never installed.
 *
 * One process serves the NICs of one domain: netback.c reads them from
 * xenstore and runs the loop, vif.c owns one NIC (its tap, its socket,
 * the packets between the tap and the guest); backends/common's
 * vhost_user.c speaks the vhost-user protocol with the guest's qemu and
 * maps the guest's RAM, and its virtq.c walks the split virtqueues in
 * that RAM.  Single-threaded: everything runs from the epoll loop in
 * netback.c.
 *
 * Trust: xenstore (dom0's) is trusted; the frontend (the guest's qemu)
 * and the guest are not.  Nothing either sends may crash the process:
 * a malformed message or ring closes that vif's connection, with a log
 * line, and the vif waits for qemu to connect again.
 */
#ifndef NETBACK_H
#define NETBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "backend.h"
#include "vhost_user.h"

struct xs_handle;
struct vif;

/* ---------------------------------------------------------- the loop */

/*
 * What an epoll event is about: each registered fd carries a pointer to
 * one of these, embedded in the object that owns the fd.
 */
enum ev_kind {
    EV_SIGNAL,                  /* the signalfd */
    EV_XENSTORE,                /* xs_fileno() */
    EV_RECONNECT,               /* the timer that retries a lost xenstore */
    EV_LISTEN,                  /* a vif's listening socket */
    EV_CONN,                    /* a vif's vhost-user connection */
    EV_TAP,                     /* a vif's tap */
    EV_KICK,                    /* a virtqueue's kick eventfd */
    EV_THROTTLE,                /* a vif's rate-limit timer */
};

struct ev {
    enum ev_kind kind;
    struct vif *vif;
    unsigned int q;             /* EV_KICK: the queue */
};

struct netback {
    unsigned int domid;
    char *dir;                  /* <rundir>/backends/vif-<domid> */
    char *be_path;              /* /local/domain/0/backend/vif/<domid> */
    char *dom_path;             /* /local/domain/<domid> */
    struct xs_handle *xs;       /* NULL while xenstore is lost */
    int epfd;
    struct vif *vifs;
};

/* The queues of a vif's connection (backends/common/vhost_user.h). */
#define VQ_RX 0                 /* host to guest */
#define VQ_TX 1                 /* guest to host */
#define VQ_COUNT 2

/* ---------------------------------------------------------- one vif */

/* The biggest frame a tap carries either way (the largest MTU, or a
 * 64 KiB segmentation-offload frame, with an Ethernet header and a VLAN
 * tag); bigger ones are dropped. */
#define VIF_FRAME_MAX (65535 + 14 + 4)
/* Work per queue per wakeup: a busy vif does not starve the others. */
#define VIF_BUDGET 64
/* The most iovec entries a chain (tx) or a frame's buffers (rx) may
 * take. */
#define VIF_MAX_IOV 1024

/*
 *   CONNECTED: its tap and socket exist, hotplug-status "connected"
 *     (whether qemu is connected or not is c.fd);
 *   ERROR: refused, hotplug-status "error"; stays so until detached.
 * A vif leaves the list when its directory goes (detach).
 */
enum vif_state {
    VIF_CONNECTED,
    VIF_ERROR,
};

/* One guest buffer an rx frame goes into. */
struct rx_slot {
    uint16_t head;
    uint64_t cap;               /* its bytes */
};

struct vif {
    struct vif *next;
    unsigned int devid;
    char *path;                 /* its backend directory in xenstore */
    char *name;                 /* the tap: vif<domid>.<devid> */
    char *mac;                  /* the guest's, for the log */
    char *sock;                 /* <dir>/<devid>.sock */
    uint64_t rate_bytes;        /* "rate": 0 when unlimited */
    uint32_t rate_usec;
    enum vif_state state;
    char *error;                /* ERROR: the reason, as written */
    bool seen;                  /* still listed (during a rescan) */

    struct netback *nb;
    int tap_fd;
    int listen_fd;
    int timer_fd;               /* the rate limit's; -1 when no rate */
    struct ev tap_ev, listen_ev, timer_ev, conn_ev, kick_ev[VQ_COUNT];
    uint32_t tap_events;        /* what the tap is polled for now */
    struct vu c;                /* the guest's qemu */
    size_t hdr_len;             /* the virtio-net header in the guest's
                                 * buffers: 12 (v1 or merged), else 10 */
    bool mrg_rxbuf;
    unsigned int tap_offloads;  /* TUNSETOFFLOAD's TUN_F_* as last set:
                                 * what the guest accepted (GUEST_*) */

    /* rx: a frame read from the tap that waits for guest buffers */
    unsigned char *rx_buf;      /* the vnet header, then the frame */
    size_t rx_len;              /* 0: none waiting */
    bool rx_starved;            /* no buffers: the tap is not read until
                                 * the guest kicks */
    /* tx */
    bool tx_more;               /* the budget ran out: more to do */
    bool tx_blocked;            /* the tap said EAGAIN: wait for POLLOUT */
    bool throttled;             /* out of tokens: wait for the timer */
    double tokens;              /* the bucket, in bytes */
    struct timespec refilled;   /* when tokens was last brought up */
    /* what this connection did wrong, logged once each */
    bool warned_rx_drop, warned_tx_drop, warned_tap;
    uint64_t rx_dropped, tx_dropped;

    /* scratch, kept here rather than on the stack */
    struct iovec iov[VIF_MAX_IOV + 1];
    struct rx_slot rx_slots[VIF_MAX_IOV];
};

/* vif.c */

/*
 * Reads the device directory devid of nb->be_path.  1 with *v_r a new
 * vif (CONNECTED, or ERROR with the reason written to xenstore), 0 when
 * the directory is not complete yet (no mac), -errno on a xenstore
 * failure.
 */
int vif_read(struct netback *nb, unsigned int devid, struct vif **v_r);

/* At start: removes the taps an earlier backend of the domain left
 * (persistent, see tap_open in vif.c) whose vifs are gone meanwhile. */
void vif_reap_taps(struct netback *nb);

/* Writes the vif's state (CONNECTED or ERROR) to xenstore again. */
void vif_publish(struct netback *nb, struct vif *v);

/* Closes its connection, tap and socket (the directory went, or we
 * leave) and frees it; log says whether to say so. */
void vif_destroy(struct netback *nb, struct vif *v, bool log);

/* Events on the vif's fds, from the loop. */
void vif_tap_event(struct netback *nb, struct vif *v, uint32_t events);
void vif_kick(struct netback *nb, struct vif *v, unsigned int q);
void vif_throttle_event(struct netback *nb, struct vif *v);

/* The budget ran out last time: carry on with the tx queue. */
void vif_tx_more(struct netback *nb, struct vif *v);

/* Whether a queue may move packets now (started; rx also enabled). */
bool vif_queue_ready(const struct vif *v, unsigned int q);

/* A queue started, stopped or was enabled or disabled, or the
 * connection came or went: the tap's polling follows, and a queue that
 * is ready is looked at (the guest may have kicked before we had it). */
void vif_queues_changed(struct netback *nb, struct vif *v);

/* ---------------------------------------------------------- netback.c */

/*
 * The log.  One line on stderr (libxl's log file for the domain),
 * "xenolith-netback[D]: " and the message; netback_log_vif adds the vif
 * ("domain D vif 0 (vif5.0): ").
 */
void netback_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void netback_log_vif(const struct vif *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Allocation that cannot fail.  Running out of memory is not something
 * a guest or a client causes; netback logs it and exits 1 (the kernel
 * takes the taps away with the process).
 */
char *netback_sprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void *netback_zalloc(size_t size);

/* epoll registration of an fd with its ev; 0 or -errno (logged). */
int netback_poll_add(struct netback *nb, int fd, uint32_t events,
                     struct ev *ev);
int netback_poll_mod(struct netback *nb, int fd, uint32_t events,
                     struct ev *ev);
void netback_poll_del(struct netback *nb, int fd);

#endif
