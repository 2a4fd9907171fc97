/*
 * netback.h - what the files of xenolith-netback share; never installed.
 *
 * One process serves the NICs of one domain: netback.c reads them from
 * xenstore and runs the loop, vif.c owns one NIC (its tap, its socket,
 * the packets between the tap and the guest), vhost_user.c speaks the
 * vhost-user protocol with the guest's qemu and maps the guest's RAM,
 * virtq.c walks the split virtqueues in that RAM.  Single-threaded:
 * everything runs from the epoll loop in netback.c.
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

/* ---------------------------------------------------------- guest memory */

/* SET_MEM_TABLE carries at most this many regions (the baseline). */
#define VU_MAX_REGIONS 8

struct vu_region {
    uint64_t gpa;               /* guest physical address */
    uint64_t size;
    uint64_t uva;               /* the frontend's address for it */
    uint8_t *host;              /* where gpa is mapped here */
    void *map;                  /* the whole mapping (from offset 0) */
    size_t map_len;
};

struct vu_mem {
    unsigned int nr;
    struct vu_region r[VU_MAX_REGIONS];
};

/* ---------------------------------------------------------- virtqueues */

#define VQ_RX 0                 /* host to guest */
#define VQ_TX 1                 /* guest to host */
#define VQ_COUNT 2
#define VQ_MAX_SIZE 32768       /* the split ring's limit */

struct vring_desc;
struct vring_avail;
struct vring_used;

/*
 * One split virtqueue.  The frontend sets num, the addresses, the base
 * and the fds (vhost_user.c); the ring is "started" once it has all of
 * them and a kick fd (virtq_start), and stopped by GET_VRING_BASE, a new
 * kick fd or the connection's end.  "enabled" is SET_VRING_ENABLE's:
 * a started ring that is not enabled takes tx buffers and drops them,
 * and gets no rx packets (vhost-user's rule).
 */
struct virtq {
    /* set by the frontend */
    unsigned int num;           /* 0 until SET_VRING_NUM */
    uint64_t desc_uva, avail_uva, used_uva;
    bool have_addr;
    int kick_fd;                /* -1 when none */
    int call_fd;                /* -1 when none */
    bool enabled;
    struct ev kick_ev;
    /* while started: the rings, mapped, and our indexes */
    bool started;
    bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated */
    volatile struct vring_desc *desc;
    volatile struct vring_avail *avail;
    volatile struct vring_used *used;
    uint16_t last_avail;        /* the next avail entry to take */
    uint16_t avail_idx;         /* avail->idx as last read */
    uint16_t used_idx;          /* the next used entry to fill */
    uint16_t signalled_used;    /* used_idx at the last notification */
    bool signalled_valid;       /* false: notify at the next chance */
};

/*
 * virtq.c.  Each function that reads the ring returns -EPROTO when the
 * guest broke it (err says how, in one line): the caller closes the
 * connection.
 */

/* Maps the rings through mem (user addresses) and reads used->idx;
 * started.  -EPROTO when they are not all in guest memory. */
int virtq_start(struct virtq *vq, const struct vu_mem *mem, bool event_idx,
                char *err, size_t errlen);

/* Maps the rings again after a new memory table; -EPROTO as above. */
int virtq_remap(struct virtq *vq, const struct vu_mem *mem, char *err,
                size_t errlen);

/* Forgets the mapping: stopped (fds and addresses stay). */
void virtq_stop(struct virtq *vq);

/*
 * Takes the next available chain: its head in *head_r, its buffers
 * (device-writable ones when writable, else device-readable ones)
 * translated into iov, *niov_r entries, *len_r bytes.  1 on success,
 * 0 when the ring is empty, -E2BIG when the chain needs more than
 * max_iov entries (taken: give it back used, empty), -EPROTO.
 */
int virtq_pop(struct virtq *vq, const struct vu_mem *mem, bool writable,
              struct iovec *iov, unsigned int max_iov,
              unsigned int *niov_r, uint16_t *head_r, uint64_t *len_r,
              char *err, size_t errlen);

/* Gives back the last n chains taken and not yet used. */
void virtq_unpop(struct virtq *vq, unsigned int n);

/* Fills the next used entry (not visible to the guest until
 * virtq_publish). */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* Makes the used entries pushed so far visible to the guest. */
void virtq_publish(struct virtq *vq);

/* Interrupts the guest (the call fd) if it wants to know about the used
 * entries published since the last time. */
void virtq_signal(struct virtq *vq);

/* Asks the guest not to kick while we are busy with the ring anyway. */
void virtq_disable_kicks(struct virtq *vq);

/* Asks the guest to kick when it adds buffers; then true when it added
 * some meanwhile (take them: no kick will come for those); -EPROTO. */
int virtq_enable_kicks(struct virtq *vq, char *err, size_t errlen);

/* ---------------------------------------------------------- vhost-user */

#define VU_HDR_SIZE 12
#define VU_MAX_PAYLOAD 512      /* the largest we accept: SET_MEM_TABLE */
#define VU_MAX_FDS 8

/*
 * A vif's vhost-user connection: fd -1 when no frontend is connected.
 * States: none (fd -1); connected (fd set: messages arrive, the queues
 * start and stop as the frontend says).  Its end (vu_close: the
 * frontend left, or broke a message or a ring) stops the queues, closes
 * every fd it gave and unmaps guest memory; the vif listens on.
 */
struct vu {
    int fd;
    struct ev ev;
    unsigned char msg[VU_HDR_SIZE + VU_MAX_PAYLOAD];
    size_t have;                /* bytes of msg read so far */
    int fds[VU_MAX_FDS];        /* fds that came with this message */
    unsigned int nr_fds;
    uint64_t features;          /* as acked by SET_FEATURES */
    uint64_t protocol_features;
    struct vu_mem mem;
    struct virtq vq[VQ_COUNT];
    size_t hdr_len;             /* the virtio-net header in the guest's
                                 * buffers: 12 (v1 or merged), else 10 */
    bool mrg_rxbuf;
    char err[256];              /* why it is being closed */
};

/* Sets up an unconnected c (once, when the vif is made). */
void vu_init(struct vu *c, struct vif *v);

/* The listening socket polled readable: accepts one frontend. */
void vu_accept(struct netback *nb, struct vif *v);

/* The connection polled readable: reads and handles its messages. */
void vu_input(struct netback *nb, struct vif *v);

/* Ends the connection (fine when there is none); why for the log, NULL
 * for none. */
void vu_close(struct netback *nb, struct vif *v, const char *why);

/* Whether a queue may move packets now (started; rx also enabled). */
bool vu_queue_ready(const struct vu *c, unsigned int q);

/* ---------------------------------------------------------- one vif */

/* The biggest frame a tap carries (the largest MTU, an Ethernet header
 * and a VLAN tag); bigger ones are dropped. */
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

    int tap_fd;
    int listen_fd;
    int timer_fd;               /* the rate limit's; -1 when no rate */
    struct ev tap_ev, listen_ev, timer_ev;
    uint32_t tap_events;        /* what the tap is polled for now */
    struct vu c;

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
