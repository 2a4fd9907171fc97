/*
 * fuzz_vhost_user.c - libFuzzer target for the backends' vhost-user side
 * (backends/common/vhost_user.c) and the split rings it starts
 * (backends/common/virtq.c): an untrusted frontend's messages and an
 * untrusted guest's rings, through one connection of a device that is
 * set up like xenolith-blkback's (one queue, REPLY_ACK, CONFIG and
 * BACKEND_REQ).
 *
 * Each input gets a fresh connection (vu_accept on a listening socket of
 * ours), which the harness sets up itself over the socket as a frontend
 * would: SET_OWNER, the features, the protocol features, SET_MEM_TABLE
 * with one memfd of GUEST_SIZE bytes (guest-physical 0, user address
 * GUEST_UVA), the queue's size, addresses (the descriptors at 0, the
 * avail ring at 0x800, the used ring at 0x1000 of guest memory), base
 * and call and kick eventfds.  The device's queues_changed drains the
 * ring as the real ones do (virtq_pop_rw like blkback, or virtq_pop
 * like netback), reading every readable buffer and writing every
 * writable one.
 *
 * Input: [u8 flags][u8 flags2][u16 guest length, little endian][guest
 * bytes][messages].  The guest bytes are the start of guest memory (the
 * rings, descriptors and buffers) before the ring starts, and what the
 * device writes into writable buffers (from the chain's head's
 * descriptor on: a guest that put a buffer over its own ring sees it
 * change under it); the rest is a
 * stream of vhost-user messages written to the socket after the set-up,
 * each sent on its own (as its header's size says) so that the fds the
 * flags ask for go with it.  flags:
 *   bits 0-2  the queue's size, log 2 (1 to 128)
 *   bit 3     a net-style queue (virtq_pop) instead of blk's
 *   bit 4     net: device-writable chains (rx) instead of readable (tx)
 *   bit 5     SET_VRING_KICK, _CALL and _ERR of the stream come with an
 *             eventfd where they say one comes
 *   bit 6     the stream's SET_MEM_TABLE comes with one memfd a region
 *             (the first: guest memory again; the others new ones) and
 *             SET_BACKEND_REQ_FD with a socket
 *   bit 7     the frontend hangs up at the end (else vu_close)
 * flags2:
 *   bit 0     EVENT_IDX not acked
 *   bit 1     no SET_PROTOCOL_FEATURES in the set-up
 *   bit 2     no call fd in the set-up
 *   bit 3     the stream's vring fds are memfds, not eventfds
 *   bit 4     every fourth chain taken is given back (virtq_unpop, as
 *             netback does when the tap is full) and taken again
 *   bit 5     the stream's messages that take no fd get an eventfd
 *   bit 6     the stream's SET_MEM_TABLE gets up to 12 fds (more than
 *             a message may carry)
 *
 * Invariants (abort() when broken): no sanitizer report; a connection
 * that vu_input or a ring closes has c->err set; every iovec a pop
 * returns lies inside a region of guest memory as mapped, nread <= niov
 * and the writable bytes are the writable iovecs' sum; the rings lie in
 * guest memory while started; replies are well-formed and say what the
 * device offers; poll_add and poll_del pair up; after the end of the
 * connection it holds no fd, no mapping and nothing polled, and the
 * process has exactly the fds it had before the input.
 *
 * Its seeds are built in (fuzz_replay_builtin): blk- and net-style
 * chains, a descriptor loop, descriptors outside guest memory, an avail
 * index far ahead, a chain longer than the device takes, and messages
 * (GET_CONFIG valid and oversized, SET_VRING_ENABLE, GET_VRING_BASE, a
 * new memory table, one that leaves the rings misaligned, the
 * backend's channel, an unknown request, a cut one).  With FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes them there
 * as files (run-fuzz.sh points it at the target's corpus).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost_user.h"
#include "virtq.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_replay_builtin(void);

/* The requests (vhost-user.rst's numbers). */
enum {
    GET_FEATURES = 1,
    SET_FEATURES = 2,
    SET_OWNER = 3,
    RESET_OWNER = 4,
    SET_MEM_TABLE = 5,
    SET_LOG_BASE = 6,
    SET_LOG_FD = 7,
    SET_VRING_NUM = 8,
    SET_VRING_ADDR = 9,
    SET_VRING_BASE = 10,
    GET_VRING_BASE = 11,
    SET_VRING_KICK = 12,
    SET_VRING_CALL = 13,
    SET_VRING_ERR = 14,
    GET_PROTOCOL_FEATURES = 15,
    SET_PROTOCOL_FEATURES = 16,
    SET_VRING_ENABLE = 18,
    SET_BACKEND_REQ_FD = 21,
    GET_CONFIG = 24,
    SET_CONFIG = 25,
};

#define MSG_VERSION 0x1u
#define MSG_REPLY 0x4u
#define MSG_NEED_REPLY 0x8u
#define VRING_NOFD (1u << 8)

/* Guest memory: one region, and where the harness puts the rings. */
#define GUEST_SIZE 0x10000u
#define GUEST_UVA 0x7f5a00000000ULL
#define DESC_OFF 0x0000u
#define AVAIL_OFF 0x0800u
#define USED_OFF 0x1000u
#define BUF_OFF 0x2000u         /* where the seeds' buffers go */
#define IND_OFF 0x0400u         /* a seed's indirect table (small rings) */
/* A new region of the stream's SET_MEM_TABLE gets at most this. */
#define NEW_REGION_MAX 0x40000u

/* The device: like blkback's, with few iovecs so that -E2BIG comes. */
#define MAX_IOV 8
#define BUDGET 16
#define ROUNDS 8

#define F_QSIZE 0x07
#define F_NET 0x08
#define F_NET_RX 0x10
#define F_VRING_FDS 0x20
#define F_MEM_FDS 0x40
#define F_HANGUP 0x80
#define G_NO_EVENT_IDX 0x01
#define G_NO_PROTOCOL 0x02
#define G_NO_CALL 0x04
#define G_NOT_EVENTFD 0x08
#define G_UNPOP 0x10
#define G_STRAY_FDS 0x20
#define G_MANY_FDS 0x40
#define G_NO_INDIRECT 0x80
#define MANY_FDS 12

#define INPUT_HEAD 4
#define MAX_PEERS 8
#define MAX_POLLED 8
#define FD_SET_MAX 1024

static const uint64_t features =
    (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
    (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
    (1ULL << VU_F_PROTOCOL_FEATURES) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
    (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH);
static const uint64_t protocol_features =
    (1ULL << VU_PF_REPLY_ACK) | (1ULL << VU_PF_CONFIG) |
    (1ULL << VU_PF_BACKEND_REQ);

/* The device's config space: the first bytes of a virtio_blk_config
 * (capacity 0x2000 sectors, seg_max 8, blk_size 512). */
static const unsigned char config_space[24] = {
    0x00, 0x20, 0, 0, 0, 0, 0, 0,       /* capacity */
    0, 0, 0, 0,                         /* size_max */
    MAX_IOV - 2, 0, 0, 0,               /* seg_max */
    0, 0, 0, 0,                         /* geometry */
    0x00, 0x02, 0, 0,                   /* blk_size */
};

struct polled {
    int fd;
    int q;
};

struct harness {
    struct vu c;
    struct vu_ops ops;
    uint8_t flags, flags2;
    int sock;                   /* the frontend's end */
    int guest_fd;               /* guest memory's memfd */
    int peers[MAX_PEERS];       /* our ends of the backend's channels */
    unsigned int nr_peers;
    struct polled polled[MAX_POLLED];
    unsigned int nr_polled;
    unsigned char rbuf[8192];   /* replies read, not yet checked */
    size_t rlen;
    uint64_t pf_acks;           /* protocol features a reply may see */
    const uint8_t *disk;        /* what the device writes (the guest */
    size_t disk_len, disk_at;   /* bytes of the input), and where */
    unsigned int popped;
    unsigned int replies;
    volatile uint8_t sink;      /* what reading the buffers added up to */
};

static bool verbose;
static int listen_fd = -1;
static char listen_name[64];

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_vhost_user:%d: ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define check(cond)                                                        \
    do {                                                                   \
        if (!(cond))                                                       \
            fail(__LINE__, "%s", #cond);                                   \
    } while (0)

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* ------------------------------------------------------- the process */

/* The fds open in this process, as a bitmap; false when /proc is not
 * there to tell. */
static bool open_fds(unsigned char set[FD_SET_MAX / 8])
{
    struct dirent *de;
    DIR *d = opendir("/proc/self/fd");
    int fd, self;

    memset(set, 0, FD_SET_MAX / 8);
    if (!d)
        return false;
    self = dirfd(d);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        fd = atoi(de->d_name);
        if (fd == self)
            continue;
        check(fd >= 0 && fd < FD_SET_MAX);
        set[fd / 8] |= (unsigned char)(1u << (fd % 8));
    }
    closedir(d);
    return true;
}

static void setup_listener(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (listen_fd >= 0)
        return;
    /* Abstract: nothing on disk to clean up. */
    snprintf(listen_name, sizeof(listen_name), "xenolith-fuzz-vu-%d",
             (int)getpid());
    memcpy(sa.sun_path + 1, listen_name, strlen(listen_name));
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       0);
    if (listen_fd < 0 ||
        bind(listen_fd, (struct sockaddr *)&sa,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                         strlen(listen_name))) < 0 ||
        listen(listen_fd, 4) < 0)
        fail(__LINE__, "listening socket: %s", strerror(errno));
}

static int connect_listener(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    memcpy(sa.sun_path + 1, listen_name, strlen(listen_name));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 ||
        connect(fd, (struct sockaddr *)&sa,
                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                            strlen(listen_name))) < 0)
        fail(__LINE__, "connecting: %s", strerror(errno));
    return fd;
}

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    if (fd < 0)
        fail(__LINE__, "eventfd: %s", strerror(errno));
    return fd;
}

static int new_memfd(uint64_t size)
{
    int fd = memfd_create("fuzz-vu-guest", MFD_CLOEXEC);

    if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
        fail(__LINE__, "memfd: %s", strerror(errno));
    return fd;
}

/* ---------------------------------------------------------- the device */

static struct polled *find_polled(struct harness *h, int fd)
{
    unsigned int i;

    for (i = 0; i < h->nr_polled; i++)
        if (h->polled[i].fd == fd)
            return &h->polled[i];
    return NULL;
}

static int poll_add(struct vu *c, int fd, int q)
{
    struct harness *h = c->owner;

    check(q == VU_CONN || (q >= 0 && (unsigned int)q < c->ops->nr_queues));
    if (fd < 0 || fcntl(fd, F_GETFD) < 0)
        return -EBADF;
    /* Polled twice: an fd closed without poll_del, or one added again. */
    check(!find_polled(h, fd));
    /* The connection and one kick fd a queue, no more. */
    check(h->nr_polled < 1 + c->ops->nr_queues);
    h->polled[h->nr_polled++] = (struct polled){ .fd = fd, .q = q };
    return 0;
}

static void poll_del(struct vu *c, int fd)
{
    struct harness *h = c->owner;
    struct polled *p = find_polled(h, fd);

    check(p);
    /* Before it is closed. */
    check(fcntl(fd, F_GETFD) >= 0);
    *p = h->polled[--h->nr_polled];
}

static void log_line(struct vu *c, const char *msg)
{
    check(msg && strlen(msg) < 512);
    if (verbose)
        fprintf(stderr, "fuzz_vhost_user: %s\n", msg);
}

/* A modern-only device, as a backend may be. */
static int features_set(struct vu *c, uint64_t f)
{
    /* dirty logging is the connection's: the device never sees it */
    check(f == (c->features & ~(1ULL << VU_F_LOG_ALL)));
    if (!(f & (1ULL << VIRTIO_F_VERSION_1))) {
        snprintf(c->err, sizeof(c->err), "VIRTIO_F_VERSION_1 not acked");
        return -EPROTO;
    }
    return 0;
}

static void get_config(struct vu *c, uint32_t off, unsigned char *buf,
                       uint32_t len)
{
    uint32_t i;

    check(c->protocol_features & (1ULL << VU_PF_CONFIG));
    check(len <= VU_CONFIG_MAX && off <= VU_CONFIG_MAX - len);
    for (i = 0; i < len; i++) {
        check(buf[i] == 0);     /* the connection zeroes it */
        if (off + i < sizeof(config_space))
            buf[i] = config_space[off + i];
    }
}

/* Whether [p, p + len) lies in one region of guest memory as mapped. */
static bool in_guest(const struct vu_mem *mem, const volatile void *p,
                     uint64_t len)
{
    uintptr_t a = (uintptr_t)p;
    const struct vu_region *r;
    unsigned int i;

    for (i = 0; i < mem->nr; i++) {
        r = &mem->r[i];
        if (a >= (uintptr_t)r->host && a - (uintptr_t)r->host <= r->size &&
            len <= r->size - (a - (uintptr_t)r->host))
            return true;
    }
    return false;
}

/* A chain a pop returned 1 for: checks it, then does what a device
 * does (reads the readable buffers, fills the writable ones); the
 * length for its used entry. */
static uint32_t take_chain(struct harness *h, const struct iovec *iov,
                           unsigned int niov, unsigned int nread,
                           uint64_t wlen, uint64_t total, uint16_t head)
{
    struct vu *c = &h->c;
    uint64_t sum = 0, all = 0;
    uint8_t acc = 0;
    unsigned int i;
    size_t k;

    check(head < c->vq[0].num);
    check(niov <= MAX_IOV);
    check(nread <= niov);
    for (i = 0; i < niov; i++) {
        check(iov[i].iov_base && iov[i].iov_len);
        if (!in_guest(&c->mem, iov[i].iov_base, iov[i].iov_len))
            fail(__LINE__, "iovec %u (%p, %zu bytes) of the chain from %u "
                 "is not in guest memory", i, iov[i].iov_base,
                 iov[i].iov_len, head);
        if (i >= nread)
            sum += iov[i].iov_len;
        all += iov[i].iov_len;
    }
    check(sum == wlen);
    check(total == UINT64_MAX || all == total);
    for (i = 0; i < nread; i++)
        for (k = 0; k < iov[i].iov_len; k++)
            acc ^= ((volatile uint8_t *)iov[i].iov_base)[k];
    h->sink ^= acc;
    /* The guest sees what we write: into its rings too, if it put a
     * buffer there.  What: the guest bytes from the chain's head's
     * descriptor on, as if a disk held them. */
    if (h->disk_len)
        h->disk_at = (16 * (size_t)head) % h->disk_len;
    for (i = nread; i < niov; i++) {
        uint8_t *b = iov[i].iov_base;

        for (k = 0; k < iov[i].iov_len; k++) {
            if (!h->disk_len) {
                b[k] = (uint8_t)(head + k);
                continue;
            }
            b[k] = h->disk[h->disk_at++];
            if (h->disk_at == h->disk_len)
                h->disk_at = 0;
        }
    }
    return wlen > UINT32_MAX ? UINT32_MAX : (uint32_t)wlen;
}

static void ring_broken(struct vu *c, int rc)
{
    char why[sizeof(c->err) + 32];

    check(rc == -EPROTO);
    check(c->err[0]);
    snprintf(why, sizeof(why), "the request queue: %s", c->err);
    vu_close(c, why);
    check(c->fd < 0);
}

static int pop(struct harness *h, struct iovec *iov, unsigned int *niov,
               unsigned int *nread, uint16_t *head, uint64_t *len,
               uint64_t *wlen)
{
    struct vu *c = &h->c;
    struct virtq *vq = &c->vq[0];

    *niov = *nread = UINT_MAX;
    *len = *wlen = UINT64_MAX;
    *head = UINT16_MAX;
    c->err[0] = '\0';
    if (h->flags & F_NET)
        return virtq_pop(vq, &c->mem, h->flags & F_NET_RX, iov, MAX_IOV,
                         niov, head, len, c->err, sizeof(c->err));
    return virtq_pop_rw(vq, &c->mem, iov, MAX_IOV, niov, nread, head, wlen,
                        c->err, sizeof(c->err));
}

/* queues_changed: drains the ring as blkback's serve() does. */
static void serve(struct vu *c)
{
    struct harness *h = c->owner;
    struct virtq *vq = &c->vq[0];
    struct iovec iov[MAX_IOV], again[MAX_IOV];
    unsigned int niov, nread, n, round, niov2, nread2;
    uint64_t len, wlen, len2, wlen2;
    uint16_t head, head2;
    uint32_t used;
    int rc, rc2;

    if (c->fd < 0 || !vq->started)
        return;
    for (round = 0; round < ROUNDS; round++) {
        virtq_disable_kicks(vq);
        for (n = 0; n < BUDGET; n++) {
            rc = pop(h, iov, &niov, &nread, &head, &len, &wlen);
            if ((rc == 1 || rc == -E2BIG) && (h->flags2 & G_UNPOP) &&
                h->popped++ % 4 == 3) {
                /* Not now: given back, then taken again, the same. */
                virtq_unpop(vq, 1);
                rc2 = pop(h, again, &niov2, &nread2, &head2, &len2, &wlen2);
                check(rc2 == rc && head2 == head && niov2 == niov);
                check(!memcmp(again, iov, sizeof(iov[0]) *
                              (niov < MAX_IOV ? niov : MAX_IOV)));
                check(h->flags & F_NET ? len2 == len
                                       : nread2 == nread && wlen2 == wlen);
            }
            if (rc == 0)
                break;
            if (rc == -E2BIG) {
                check(head < vq->num);
                virtq_push(vq, head, 0);
                continue;
            }
            if (rc < 0) {
                ring_broken(c, rc);
                return;
            }
            check(rc == 1);
            if (h->flags & F_NET)
                used = take_chain(h, iov, niov,
                                  h->flags & F_NET_RX ? 0 : niov,
                                  h->flags & F_NET_RX ? len : 0, len, head);
            else
                used = take_chain(h, iov, niov, nread, wlen, UINT64_MAX,
                                  head);
            virtq_push(vq, head, used);
        }
        virtq_publish(vq);
        virtq_signal(vq);
        if (n == BUDGET)
            continue;
        c->err[0] = '\0';
        rc = virtq_enable_kicks(vq, c->err, sizeof(c->err));
        if (rc < 0) {
            ring_broken(c, rc);
            return;
        }
        check(rc == 0 || rc == 1);
        if (rc == 0)
            return;
    }
}

/* ------------------------------------------------------------ checks */

static void check_state(struct harness *h)
{
    struct vu *c = &h->c;
    struct virtq *vq = &c->vq[0];
    const struct vu_region *r;
    unsigned int i;

    if (c->fd < 0) {
        check(h->nr_polled == 0);
        check(c->mem.nr == 0);
        check(c->nr_fds == 0);
        check(c->req_fd < 0);
        check(c->have == 0);
        check(vq->kick_fd < 0 && vq->call_fd < 0);
        check(!vq->started && !vq->desc && !vq->avail && !vq->used);
        return;
    }
    check(c->have < VU_HDR_SIZE + VU_MAX_PAYLOAD);
    check(c->have || !c->nr_fds);
    check(c->nr_fds <= VU_MAX_FDS);
    check(c->mem.nr <= VU_MAX_REGIONS);
    for (i = 0; i < c->mem.nr; i++) {
        r = &c->mem.r[i];
        check(r->size && r->map && r->host >= (uint8_t *)r->map);
        check((size_t)(r->host - (uint8_t *)r->map) <= r->map_len &&
              r->size <= r->map_len - (size_t)(r->host -
                                               (uint8_t *)r->map));
    }
    /* Polled: the connection and the kick fd, nothing else. */
    check(h->nr_polled == 1u + (vq->kick_fd >= 0));
    check(find_polled(h, c->fd) && find_polled(h, c->fd)->q == VU_CONN);
    check(vq->kick_fd < 0 || find_polled(h, vq->kick_fd));
    if (vq->started) {
        check(vq->kick_fd >= 0 && vq->num && vq->have_addr && c->mem.nr);
        check(vq->num <= VQ_MAX_SIZE && !(vq->num & (vq->num - 1)));
        check(in_guest(&c->mem, vq->desc, 16ULL * vq->num));
        check(in_guest(&c->mem, vq->avail, 6 + 2ULL * vq->num));
        check(in_guest(&c->mem, vq->used, 6 + 8ULL * vq->num));
        /* As the ring's layout wants them (2.7), where we access them:
         * else the 16- and 32-bit accesses split (and the atomic ones
         * fault where the CPU insists on alignment). */
        check((uintptr_t)vq->desc % 16 == 0);
        check((uintptr_t)vq->avail % 2 == 0);
        check((uintptr_t)vq->used % 4 == 0);
    } else {
        check(!vq->desc && !vq->avail && !vq->used);
    }
}

/* The replies read so far: each well-formed, and saying what the device
 * offers. */
static void check_replies(struct harness *h)
{
    const unsigned char *m, *p;
    uint32_t req, flags, size, off, len, i;
    size_t at = 0;

    while (h->rlen - at >= VU_HDR_SIZE) {
        m = h->rbuf + at;
        req = get32(m);
        flags = get32(m + 4);
        size = get32(m + 8);
        p = m + VU_HDR_SIZE;
        check(flags == (MSG_VERSION | MSG_REPLY));
        check(size <= VU_MAX_PAYLOAD);
        if (h->rlen - at < VU_HDR_SIZE + size)
            break;
        switch (req) {
        case GET_FEATURES:
            /* every device offers dirty logging besides its own */
            check(size == 8 &&
                  get64(p) == (features | (1ULL << VU_F_LOG_ALL)));
            break;
        case GET_PROTOCOL_FEATURES:
            check(size == 8 && get64(p) == (protocol_features |
                                            (1ULL << VU_PF_LOG_SHMFD)));
            break;
        case SET_LOG_BASE:
            /* answered once the log is mapped, REPLY_ACK or not */
            check(size == 8 && get64(p) == 0);
            break;
        case GET_VRING_BASE:
            check(size == 8 && get32(p) == 0 && get32(p + 4) <= UINT16_MAX);
            break;
        case GET_CONFIG:
            check(size >= 12);
            off = get32(p);
            len = get32(p + 4);
            check(len <= VU_CONFIG_MAX && off <= VU_CONFIG_MAX - len);
            check(size == 12 + len);
            for (i = 0; i < len; i++)
                check(p[12 + i] == (off + i < sizeof(config_space) ?
                                    config_space[off + i] : 0));
            break;
        default:
            /* REPLY_ACK's: success. */
            check(h->pf_acks & (1ULL << VU_PF_REPLY_ACK));
            check(size == 8 && get64(p) == 0);
            check(req == SET_FEATURES || req == SET_OWNER ||
                  req == RESET_OWNER || req == SET_MEM_TABLE ||
                  req == SET_LOG_FD ||
                  (req >= SET_VRING_NUM && req <= SET_VRING_ERR &&
                   req != GET_VRING_BASE) ||
                  req == SET_PROTOCOL_FEATURES || req == SET_VRING_ENABLE ||
                  req == SET_BACKEND_REQ_FD || req == SET_CONFIG);
            break;
        }
        h->replies++;
        at += VU_HDR_SIZE + size;
    }
    memmove(h->rbuf, h->rbuf + at, h->rlen - at);
    h->rlen -= at;
}

static void read_replies(struct harness *h)
{
    ssize_t n;

    while (h->sock >= 0) {
        check(h->rlen < sizeof(h->rbuf));
        n = recv(h->sock, h->rbuf + h->rlen, sizeof(h->rbuf) - h->rlen,
                 MSG_DONTWAIT);
        if (n <= 0)
            break;
        h->rlen += (size_t)n;
        check_replies(h);
    }
}

/* Lets the connection read what is in its socket, as its poll would. */
static void pump(struct harness *h)
{
    struct vu *c = &h->c;
    unsigned int i;
    int avail;

    for (i = 0; i < 256 && c->fd >= 0; i++) {
        c->err[0] = '\0';
        /* A reply may come from before the protocol features changed
         * (or the connection closed). */
        h->pf_acks = c->protocol_features;
        vu_input(c);
        h->pf_acks |= c->protocol_features;
        if (c->fd < 0)
            check(c->err[0]);   /* closed, saying why */
        read_replies(h);
        check_state(h);
        if (c->fd < 0 || ioctl(c->fd, FIONREAD, &avail) < 0 || !avail)
            break;
    }
}

/* --------------------------------------------------------- messages */

/* Sends one message (or what the input has of it) with nfd fds, then
 * lets the connection handle it; false when the connection is gone. */
static bool send_raw(struct harness *h, const unsigned char *m, size_t len,
                     const int *fds, unsigned int nfd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * MANY_FDS)];
    } ctl;
    struct msghdr mh = { 0 };
    struct cmsghdr *cm;
    struct iovec iov;
    unsigned int tries;
    ssize_t n;

    check(nfd <= MANY_FDS);
    for (tries = 0; len && tries < 64; tries++) {
        if (h->c.fd < 0)
            return false;
        iov = (struct iovec){ (void *)m, len };
        mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1 };
        if (nfd) {
            memset(&ctl, 0, sizeof(ctl));
            mh.msg_control = ctl.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
            cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
            memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfd);
        }
        n = sendmsg(h->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return false;       /* it hung up */
        if (n > 0) {
            m += n;
            len -= (size_t)n;
            nfd = 0;            /* they went with the first byte */
        }
        pump(h);
    }
    check(!len || h->c.fd < 0);
    return h->c.fd >= 0;
}

static bool send_msg(struct harness *h, uint32_t req, uint32_t flags,
                     const void *payload, uint32_t size, int fd)
{
    unsigned char m[VU_HDR_SIZE + VU_MAX_PAYLOAD];

    check(size <= VU_MAX_PAYLOAD);
    put32(m, req);
    put32(m + 4, MSG_VERSION | flags);
    put32(m + 8, size);
    if (size)
        memcpy(m + VU_HDR_SIZE, payload, size);
    return send_raw(h, m, VU_HDR_SIZE + size, &fd, fd >= 0);
}

static bool send_u64(struct harness *h, uint32_t req, uint64_t v, int fd)
{
    unsigned char p[8];

    put64(p, v);
    return send_msg(h, req, 0, p, 8, fd);
}

/* The fds the flags have go with a message of the stream: created here,
 * and our copies closed once it is sent. */
static unsigned int stream_fds(struct harness *h, const unsigned char *m,
                               size_t len, int fds[MANY_FDS])
{
    uint32_t req, size, nr, i;
    const unsigned char *p = m + VU_HDR_SIZE, *rp;
    uint64_t off, rlen, want;
    int sv[2];

    if (len < VU_HDR_SIZE)
        return 0;
    req = get32(m);
    size = (uint32_t)(len - VU_HDR_SIZE);
    switch (req) {
    case SET_VRING_KICK:
    case SET_VRING_CALL:
    case SET_VRING_ERR:
        if (!(h->flags & F_VRING_FDS) || size < 8 ||
            (get64(p) & VRING_NOFD))
            return 0;
        fds[0] = h->flags2 & G_NOT_EVENTFD ? new_memfd(8) : new_eventfd();
        return 1;
    case SET_MEM_TABLE:
        if (!(h->flags & F_MEM_FDS) || size < 8)
            return 0;
        nr = get32(p);
        if (nr > (h->flags2 & G_MANY_FDS ? MANY_FDS : VU_MAX_FDS))
            nr = h->flags2 & G_MANY_FDS ? MANY_FDS : VU_MAX_FDS;
        for (i = 0; i < nr; i++) {
            if (i == 0) {
                fds[i] = dup(h->guest_fd);
                check(fds[i] >= 0);
                continue;
            }
            /* Big enough for the region, within reason. */
            want = NEW_REGION_MAX;
            if (i < VU_MAX_REGIONS && size >= 8 + 32 * (i + 1)) {
                rp = p + 8 + 32 * i;
                rlen = get64(rp + 8);
                off = get64(rp + 24);
                if (off + rlen >= off && off + rlen < want)
                    want = off + rlen;
            }
            fds[i] = new_memfd(want);
        }
        return nr;
    case SET_LOG_BASE:
        /* the dirty log: a memfd as large as it says, within reason */
        if (!(h->flags & F_MEM_FDS) || size < 16)
            return 0;
        want = get64(p) + get64(p + 8);
        fds[0] = new_memfd(want >= get64(p) && want < NEW_REGION_MAX ?
                           want : NEW_REGION_MAX);
        return 1;
    case SET_BACKEND_REQ_FD:
        if (!(h->flags & F_MEM_FDS) || h->nr_peers == MAX_PEERS)
            return 0;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       0, sv) < 0)
            fail(__LINE__, "socketpair: %s", strerror(errno));
        h->peers[h->nr_peers++] = sv[0];
        fds[0] = sv[1];
        return 1;
    default:
        if (!(h->flags2 & G_STRAY_FDS))
            return 0;
        fds[0] = new_eventfd();
        return 1;
    }
}

/* The frontend's part of the input: one message after the other. */
static void send_stream(struct harness *h, const uint8_t *s, size_t len)
{
    int fds[MANY_FDS];
    unsigned int nfd, i;
    size_t n;
    bool up;

    while (len && h->c.fd >= 0) {
        n = VU_HDR_SIZE;
        if (len >= VU_HDR_SIZE)
            n += get32(s + 8) < len - VU_HDR_SIZE ? get32(s + 8)
                                                   : len - VU_HDR_SIZE;
        else
            n = len;
        nfd = stream_fds(h, s, n, fds);
        up = send_raw(h, s, n, fds, nfd);
        for (i = 0; i < nfd; i++)
            close(fds[i]);
        if (!up)
            return;
        s += n;
        len -= n;
    }
}

/* --------------------------------------------------------- the set-up */

static bool set_up(struct harness *h, unsigned int num)
{
    unsigned char p[40];
    uint64_t acked = features;
    int fd;
    bool up;

    if (h->flags2 & G_NO_EVENT_IDX)
        acked &= ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
    if (h->flags2 & G_NO_INDIRECT)
        acked &= ~(1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    if (!send_msg(h, SET_OWNER, 0, NULL, 0, -1) ||
        !send_msg(h, GET_FEATURES, 0, NULL, 0, -1) ||
        !send_u64(h, SET_FEATURES, acked, -1))
        return false;
    if (!(h->flags2 & G_NO_PROTOCOL) &&
        (!send_msg(h, GET_PROTOCOL_FEATURES, 0, NULL, 0, -1) ||
         !send_u64(h, SET_PROTOCOL_FEATURES,
                   protocol_features | (1ULL << VU_PF_LOG_SHMFD), -1)))
        return false;
    put32(p, 1);
    put32(p + 4, 0);
    put64(p + 8, 0);                    /* guest-physical */
    put64(p + 16, GUEST_SIZE);
    put64(p + 24, GUEST_UVA);
    put64(p + 32, 0);                   /* offset in the fd */
    fd = dup(h->guest_fd);
    check(fd >= 0);
    up = send_msg(h, SET_MEM_TABLE, MSG_NEED_REPLY, p, 40, fd);
    close(fd);
    if (!up)
        return false;
    check(h->c.mem.nr == 1 && h->c.mem.r[0].size == GUEST_SIZE);
    put32(p, 0);
    put32(p + 4, num);
    if (!send_msg(h, SET_VRING_NUM, 0, p, 8, -1))
        return false;
    put32(p, 0);
    put32(p + 4, 0);
    put64(p + 8, GUEST_UVA + DESC_OFF);
    put64(p + 16, GUEST_UVA + USED_OFF);
    put64(p + 24, GUEST_UVA + AVAIL_OFF);
    put64(p + 32, 0);
    if (!send_msg(h, SET_VRING_ADDR, 0, p, 40, -1))
        return false;
    put32(p, 0);
    put32(p + 4, 0);
    if (!send_msg(h, SET_VRING_BASE, 0, p, 8, -1))
        return false;
    if (!(h->flags2 & G_NO_CALL)) {
        fd = new_eventfd();
        up = send_u64(h, SET_VRING_CALL, 0, fd);
        close(fd);
        if (!up)
            return false;
    }
    check(!h->c.vq[0].started);
    /* The ring starts, and is drained (a broken one closes it). */
    fd = new_eventfd();
    up = send_u64(h, SET_VRING_KICK, 0, fd);
    close(fd);
    return up;
}

/* The backend's channel, if it has one: a CONFIG_CHANGE comes on it. */
static void config_changed(struct harness *h)
{
    unsigned char m[64];
    unsigned int i;
    size_t got = 0;
    ssize_t n;
    int rc;

    rc = vu_config_changed(&h->c);
    if (h->c.req_fd < 0) {
        check(rc == -ENOTCONN);
        return;
    }
    check(rc == 0);
    for (i = 0; i < h->nr_peers; i++) {
        n = recv(h->peers[i], m + got, sizeof(m) - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
    }
    check(got == VU_HDR_SIZE);
    check(get32(m) == 2 && get32(m + 4) == MSG_VERSION && get32(m + 8) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct harness h;
    unsigned char before[FD_SET_MAX / 8], after[FD_SET_MAX / 8];
    size_t glen;
    bool have_fds;
    unsigned int i, num;
    ssize_t n;

    setup_listener();
    have_fds = open_fds(before);

    memset(&h, 0, sizeof(h));
    h.flags = size > 0 ? data[0] : 0;
    h.flags2 = size > 1 ? data[1] : 0;
    glen = size > 3 ? (size_t)data[2] | (size_t)data[3] << 8 : 0;
    data += size < INPUT_HEAD ? size : INPUT_HEAD;
    size -= size < INPUT_HEAD ? size : INPUT_HEAD;
    if (glen > size)
        glen = size;
    if (glen > GUEST_SIZE)
        glen = GUEST_SIZE;
    num = 1u << (h.flags & F_QSIZE);

    h.ops = (struct vu_ops){
        .features = features,
        .protocol_features = protocol_features,
        .nr_queues = 1,
        .queues = "one request queue",
        .poll_add = poll_add,
        .poll_del = poll_del,
        .log = log_line,
        .queues_changed = serve,
        .features_set = features_set,
        .get_config = get_config,
    };
    vu_init(&h.c, &h.ops, &h);
    check_state(&h);

    /* The guest's memory, as it is when the ring starts. */
    h.guest_fd = new_memfd(GUEST_SIZE);
    if (glen && pwrite(h.guest_fd, data, glen, 0) != (ssize_t)glen)
        fail(__LINE__, "writing guest memory: %s", strerror(errno));
    h.disk = data;
    h.disk_len = glen;

    h.sock = connect_listener();
    vu_accept(&h.c, listen_fd, listen_name);
    check(h.c.fd >= 0);
    check_state(&h);

    if (set_up(&h, num)) {
        send_stream(&h, data + glen, size - glen);
        pump(&h);
        /* A kick after it all. */
        serve(&h.c);
        check_state(&h);
        if (h.c.fd >= 0)
            config_changed(&h);
    }

    if (h.flags & F_HANGUP && h.c.fd >= 0) {
        close(h.sock);
        h.sock = -1;
        /* What it had not read yet, then the end. */
        for (i = 0; i < 1024 && h.c.fd >= 0; i++) {
            h.c.err[0] = '\0';
            vu_input(&h.c);
            check_state(&h);
        }
        check(h.c.fd < 0 && h.c.err[0]);
    }
    if (verbose)
        fprintf(stderr, "fuzz_vhost_user: %u replies, the ring %s, the "
                "connection %s\n", h.replies,
                h.c.vq[0].started ? "started" : "stopped",
                h.c.fd >= 0 ? "up" : "closed");
    vu_close(&h.c, NULL);
    check(h.c.fd < 0);
    check_state(&h);
    check(h.c.vq[0].num == 0 && !h.c.vq[0].have_addr &&
          !h.c.vq[0].enabled);
    check(h.c.features == 0 && h.c.protocol_features == 0);
    vu_close(&h.c, NULL);       /* fine when there is none */
    vu_input(&h.c);             /* an event from before it closed */

    /* What the frontend still gets: replies, then the end. */
    if (h.sock >= 0) {
        read_replies(&h);
        check(h.rlen == 0);     /* no reply cut short */
        n = recv(h.sock, h.rbuf, sizeof(h.rbuf), MSG_DONTWAIT);
        check(n == 0);
        close(h.sock);
    }
    for (i = 0; i < h.nr_peers; i++)
        close(h.peers[i]);
    close(h.guest_fd);

    /* Every fd the connection took is closed again. */
    if (have_fds && open_fds(after) && memcmp(before, after, sizeof(after)))
        for (i = 0; i < FD_SET_MAX; i++)
            if ((before[i / 8] ^ after[i / 8]) & (1u << (i % 8)))
                fail(__LINE__, "fd %u was %s during the input", i,
                     before[i / 8] & (1u << (i % 8)) ? "closed" : "left "
                     "open");
    return 0;
}

/* --------------------------------------------------------------- seeds */

static FILE *seed_out;
static const char *seed_dir;
static unsigned int nr_seeds;

static struct {
    uint8_t flags, flags2;
    uint8_t guest[0x1100];
    size_t glen;
    uint8_t msgs[4096];
    size_t mlen;
} sd;

static void seed_begin(uint8_t flags, uint8_t flags2)
{
    memset(&sd, 0, sizeof(sd));
    sd.flags = flags;
    sd.flags2 = flags2;
}

static void guest_put(size_t off, const void *p, size_t len)
{
    check(off + len <= sizeof(sd.guest));
    memcpy(sd.guest + off, p, len);
    if (off + len > sd.glen)
        sd.glen = off + len;
}

static void guest16(size_t off, uint16_t v)
{
    guest_put(off, &v, 2);
}

/* Descriptor i of the table at guest offset table (the ring's, or an
 * indirect one). */
static void guest_desc_at(uint64_t table, unsigned int i, uint64_t addr,
                          uint32_t len, uint16_t flags, uint16_t next)
{
    unsigned char d[16];

    put64(d, addr);
    put32(d + 8, len);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
    guest_put(table + 16 * i, d, 16);
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next)
{
    guest_desc_at(DESC_OFF, i, addr, len, flags, next);
}

/* The avail ring: idx, and its first entries. */
static void avail(uint16_t idx, unsigned int n, const uint16_t *heads)
{
    unsigned int i;

    guest16(AVAIL_OFF + 2, idx);
    for (i = 0; i < n; i++)
        guest16(AVAIL_OFF + 4 + 2 * i, heads[i]);
}

static void msg(uint32_t req, uint32_t flags, const void *payload,
                uint32_t size)
{
    unsigned char *m = sd.msgs + sd.mlen;

    check(sd.mlen + VU_HDR_SIZE + size <= sizeof(sd.msgs));
    put32(m, req);
    put32(m + 4, MSG_VERSION | flags);
    put32(m + 8, size);
    if (size)
        memcpy(m + VU_HDR_SIZE, payload, size);
    sd.mlen += VU_HDR_SIZE + size;
}

static void msg_u64(uint32_t req, uint32_t flags, uint64_t v)
{
    unsigned char p[8];

    put64(p, v);
    msg(req, flags, p, 8);
}

static void msg_index(uint32_t req, uint32_t flags, uint32_t index,
                      uint32_t num)
{
    unsigned char p[8];

    put32(p, index);
    put32(p + 4, num);
    msg(req, flags, p, 8);
}

static void msg_config(uint32_t off, uint32_t len, uint32_t payload)
{
    unsigned char p[VU_MAX_PAYLOAD] = { 0 };

    check(payload <= sizeof(p));
    put32(p, off);
    put32(p + 4, len);
    msg(GET_CONFIG, MSG_NEED_REPLY, p, payload);
}

static void seed_end(void)
{
    static uint8_t in[INPUT_HEAD + sizeof(sd.guest) + sizeof(sd.msgs)];
    size_t len = 0;
    char path[4096];

    in[len++] = sd.flags;
    in[len++] = sd.flags2;
    in[len++] = (uint8_t)sd.glen;
    in[len++] = (uint8_t)(sd.glen >> 8);
    memcpy(in + len, sd.guest, sd.glen);
    len += sd.glen;
    memcpy(in + len, sd.msgs, sd.mlen);
    len += sd.mlen;
    nr_seeds++;
    if (!seed_dir) {
        LLVMFuzzerTestOneInput(in, len);
        return;
    }
    snprintf(path, sizeof(path), "%s/seed-vhost-user-%02u", seed_dir,
             nr_seeds);
    seed_out = fopen(path, "wb");
    if (!seed_out || fwrite(in, 1, len, seed_out) != len ||
        fclose(seed_out) != 0)
        fail(__LINE__, "writing %s: %s", path, strerror(errno));
    seed_out = NULL;
}

static void msg_addr(uint64_t desc_uva, uint64_t used_uva, uint64_t avail_uva)
{
    unsigned char p[40] = { 0 };

    put64(p + 8, desc_uva);
    put64(p + 16, used_uva);
    put64(p + 24, avail_uva);
    msg(SET_VRING_ADDR, MSG_NEED_REPLY, p, 40);
}

/* A blk request: header readable, data and status writable. */
static void blk_chain(unsigned int first, uint64_t buf)
{
    desc(first, buf, 16, VRING_DESC_F_NEXT, (uint16_t)(first + 1));
    desc(first + 1, buf + 0x200, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
         (uint16_t)(first + 2));
    desc(first + 2, buf + 0x400, 1, VRING_DESC_F_WRITE, 0);
}

static void all_seeds(void)
{
    static const uint16_t h0[] = { 0 }, h01[] = { 0, 1 }, h03[] = { 0, 3 };
    unsigned char p[40];
    unsigned int i;

    /* blk: one request, then messages about the ring */
    seed_begin(3 | F_VRING_FDS, 0);
    blk_chain(0, BUF_OFF);
    avail(1, 1, h0);
    msg_config(0, 24, 12 + 24);
    msg_config(20, 8, 12 + 8);
    msg_index(SET_VRING_ENABLE, MSG_NEED_REPLY, 0, 1);
    msg_index(GET_VRING_BASE, 0, 0, 0);
    msg_index(SET_VRING_BASE, MSG_NEED_REPLY, 0, 1);
    msg_u64(SET_VRING_KICK, 0, 0);
    msg_index(SET_VRING_ENABLE, 0, 0, 0);
    seed_end();

    /* blk: two requests, EVENT_IDX off, no call fd; the frontend hangs
     * up */
    seed_begin(3 | F_HANGUP, G_NO_EVENT_IDX | G_NO_CALL);
    blk_chain(0, BUF_OFF);
    blk_chain(3, BUF_OFF + 0x1000);
    avail(2, 2, h03);
    msg_u64(SET_VRING_CALL, 0, VRING_NOFD);
    msg_index(SET_VRING_ENABLE, 0, 0, 1);
    msg_index(SET_VRING_ENABLE, MSG_NEED_REPLY, 0, 1);
    seed_end();

    /* net tx: a one-buffer chain and a two-buffer one */
    seed_begin(2 | F_NET, 0);
    desc(0, BUF_OFF, 64, 0, 0);
    desc(1, BUF_OFF + 0x100, 100, VRING_DESC_F_NEXT, 2);
    desc(2, BUF_OFF + 0x200, 1400, 0, 0);
    avail(2, 2, h01);
    msg_index(SET_VRING_ENABLE, 0, 0, 1);
    seed_end();

    /* net rx: a writable buffer; the used event asked for */
    seed_begin(2 | F_NET | F_NET_RX, 0);
    desc(0, BUF_OFF, 1514, VRING_DESC_F_WRITE, 0);
    avail(1, 1, h0);
    guest16(AVAIL_OFF + 4 + 2 * 4, 0);     /* used_event */
    seed_end();

    /* a descriptor loop */
    seed_begin(3, 0);
    desc(0, BUF_OFF, 16, VRING_DESC_F_NEXT, 1);
    desc(1, BUF_OFF + 16, 16, VRING_DESC_F_NEXT, 0);
    avail(1, 1, h0);
    seed_end();

    /* descriptors outside guest memory: across its end; a user address
     * where a guest-physical one belongs */
    seed_begin(3, 0);
    desc(0, GUEST_SIZE - 0x100, 0x200, 0, 0);
    avail(1, 1, h0);
    seed_end();
    seed_begin(3 | F_NET, 0);
    desc(0, GUEST_UVA, 16, 0, 0);
    avail(1, 1, h0);
    seed_end();

    /* more chains than one round takes (all of them descriptor 0);
     * with EVENT_IDX, the guest's used_event says when to interrupt;
     * every fourth chain given back and taken again */
    seed_begin(5, G_UNPOP);
    desc(0, BUF_OFF, 16, 0, 0);
    avail(20, 0, NULL);
    guest16(AVAIL_OFF + 4 + 2 * 32, 17);   /* used_event */
    seed_end();
    seed_begin(5 | F_NET | F_NET_RX, G_UNPOP | G_NO_EVENT_IDX);
    desc(0, BUF_OFF, 64, VRING_DESC_F_WRITE, 0);
    avail(20, 0, NULL);
    seed_end();

    /* a guest whose buffer lies over its own avail index: what the
     * device writes there (the guest bytes' first two: 0x0002) queues
     * one more request while it serves */
    seed_begin(3, 0);
    desc(0, 0x0002, 16, VRING_DESC_F_NEXT, 1);
    desc(1, AVAIL_OFF + 2, 2, VRING_DESC_F_WRITE, 0);
    avail(1, 1, h0);
    seed_end();

    /* the used ring over the avail ring, the ring restarted at 0: what
     * the device publishes, the guest seems to queue */
    seed_begin(3 | F_VRING_FDS, 0);
    blk_chain(0, BUF_OFF);
    avail(1, 1, h0);
    msg_index(GET_VRING_BASE, 0, 0, 0);
    msg_addr(GUEST_UVA + DESC_OFF, GUEST_UVA + AVAIL_OFF,
             GUEST_UVA + AVAIL_OFF);
    msg_index(SET_VRING_BASE, 0, 0, 0);
    msg_u64(SET_VRING_KICK, 0, 0);
    seed_end();

    /* rings moved while they run: misaligned, then outside guest
     * memory */
    seed_begin(3, 0);
    msg_addr(GUEST_UVA + DESC_OFF + 8, GUEST_UVA + USED_OFF,
             GUEST_UVA + AVAIL_OFF);
    seed_end();
    seed_begin(3, 0);
    msg_addr(GUEST_UVA + DESC_OFF, GUEST_UVA + GUEST_SIZE - 8,
             GUEST_UVA + AVAIL_OFF);
    seed_end();

    /* descriptors the ring does not have; an indirect one; a writable
     * buffer where the device reads */
    seed_begin(3, 0);
    {
        static const uint16_t past[] = { 9 };

        avail(1, 1, past);
    }
    seed_end();
    seed_begin(3, 0);
    desc(0, BUF_OFF, 16, VRING_DESC_F_NEXT, 8);
    avail(1, 1, h0);
    seed_end();
    seed_begin(3, G_NO_INDIRECT);
    desc(0, BUF_OFF, 16, VRING_DESC_F_INDIRECT, 0);
    avail(1, 1, h0);
    seed_end();
    /* an indirect table (negotiated) holding a blk-style chain, and
     * one that names another indirect table */
    seed_begin(3, 0);
    desc(0, IND_OFF, 48, VRING_DESC_F_INDIRECT, 0);
    guest_desc_at(IND_OFF, 0, BUF_OFF, 16, VRING_DESC_F_NEXT, 1);
    guest_desc_at(IND_OFF, 1, BUF_OFF + 64, 64,
                  VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    guest_desc_at(IND_OFF, 2, BUF_OFF + 128, 1, VRING_DESC_F_WRITE, 0);
    avail(1, 1, h0);
    seed_end();
    seed_begin(3, 0);
    desc(0, IND_OFF, 32, VRING_DESC_F_INDIRECT, 0);
    guest_desc_at(IND_OFF, 0, BUF_OFF, 16, VRING_DESC_F_NEXT, 1);
    guest_desc_at(IND_OFF, 1, IND_OFF, 32,
                  VRING_DESC_F_INDIRECT, 0);
    avail(1, 1, h0);
    seed_end();
    seed_begin(3 | F_NET, 0);
    desc(0, BUF_OFF, 16, VRING_DESC_F_WRITE, 0);
    avail(1, 1, h0);
    seed_end();

    /* dirty logging on (SET_LOG_BASE, then LOG_ALL), a chain answered
     * (its writable buffer marked), logging off, another */
    seed_begin(3 | F_MEM_FDS, 0);
    blk_chain(0, BUF_OFF);
    avail(1, 1, h0);
    memset(p, 0, sizeof(p));
    put64(p, 4096);
    msg(SET_LOG_BASE, 0, p, 16);
    msg_u64(SET_FEATURES, 0, features | (1ULL << VU_F_LOG_ALL));
    msg(SET_LOG_FD, MSG_NEED_REPLY, NULL, 0);   /* acked, nothing kept */
    msg_u64(SET_FEATURES, 0, features);
    seed_end();
    /* a log past the end of its file (marking it would fault: refused) */
    seed_begin(3 | F_MEM_FDS, 0);
    blk_chain(0, BUF_OFF);
    avail(1, 1, h0);
    memset(p, 0, sizeof(p));
    put64(p, 4096);
    put64(p + 8, 4 * NEW_REGION_MAX);
    msg(SET_LOG_BASE, 0, p, 16);
    msg_u64(SET_FEATURES, 0, features | (1ULL << VU_F_LOG_ALL));
    seed_end();

    /* the avail index far ahead of the ring */
    seed_begin(3, 0);
    blk_chain(0, BUF_OFF);
    avail(100, 1, h0);
    seed_end();

    /* a chain longer than the device's iovecs (-E2BIG), and a readable
     * buffer after a writable one */
    seed_begin(4, 0);
    for (i = 0; i < 10; i++)
        desc(i, BUF_OFF + 0x100 * i, 0x80,
             i < 9 ? VRING_DESC_F_NEXT : VRING_DESC_F_WRITE,
             (uint16_t)(i + 1));
    desc(10, BUF_OFF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 11);
    desc(11, BUF_OFF + 16, 16, 0, 0);
    {
        static const uint16_t heads[] = { 0, 10 };

        avail(2, 2, heads);
    }
    seed_end();

    /* GET_CONFIG oversized: its length, then its payload */
    seed_begin(3, 0);
    msg_config(0, 300, 12);
    seed_end();
    seed_begin(3, 0);
    msg_config(0, 8, 12 + VU_CONFIG_MAX + 8);
    seed_end();

    /* an fd with a message that takes none; more fds than a message
     * may carry */
    seed_begin(3, G_STRAY_FDS);
    msg_index(SET_VRING_ENABLE, 0, 0, 1);
    seed_end();
    seed_begin(3 | F_MEM_FDS, G_MANY_FDS);
    memset(p, 0, sizeof(p));
    put32(p, 12);
    msg(SET_MEM_TABLE, 0, p, 8);
    seed_end();

    /* an unknown request; GET_CONFIG without the protocol features */
    seed_begin(3, 0);
    msg_index(GET_VRING_BASE, 0, 0, 0);
    msg(99, 0, NULL, 0);
    seed_end();
    seed_begin(3, G_NO_PROTOCOL);
    msg_config(0, 8, 12 + 8);
    seed_end();

    /* the ring stopped, a new memory table (guest memory at another user
     * address), the ring moved there and started again; the backend's
     * channel; the same table again while the ring runs; a cut message
     * at the end */
    seed_begin(3 | F_MEM_FDS | F_VRING_FDS, 0);
    blk_chain(0, BUF_OFF);
    avail(1, 1, h0);
    msg_index(GET_VRING_BASE, 0, 0, 0);
    memset(p, 0, sizeof(p));
    put32(p, 1);
    put64(p + 16, GUEST_SIZE);
    put64(p + 24, GUEST_UVA + 0x100000);
    msg(SET_MEM_TABLE, MSG_NEED_REPLY, p, 40);
    put32(p, 0);
    put32(p + 4, 0);
    put64(p + 8, GUEST_UVA + 0x100000 + DESC_OFF);
    put64(p + 16, GUEST_UVA + 0x100000 + USED_OFF);
    put64(p + 24, GUEST_UVA + 0x100000 + AVAIL_OFF);
    put64(p + 32, 0);
    msg(SET_VRING_ADDR, MSG_NEED_REPLY, p, 40);
    msg_index(SET_VRING_BASE, 0, 0, 1);
    msg(SET_BACKEND_REQ_FD, MSG_NEED_REPLY, NULL, 0);
    msg_u64(SET_VRING_CALL, 0, 0);
    msg_u64(SET_VRING_ERR, 0, 0);
    msg_u64(SET_VRING_KICK, 0, 0);
    memset(p, 0, sizeof(p));
    put32(p, 1);
    put64(p + 16, GUEST_SIZE);
    put64(p + 24, GUEST_UVA + 0x100000);
    msg(SET_MEM_TABLE, MSG_NEED_REPLY, p, 40);
    msg_index(SET_VRING_ENABLE, 0, 0, 1);
    msg(SET_CONFIG, MSG_NEED_REPLY, "\0\0\0\0\1\0\0\0\0\0\0\0\1", 13);
    msg(RESET_OWNER, 0, NULL, 0);
    sd.mlen += 5;                       /* a header cut short */
    seed_end();

    /* a new memory table whose offset in the fd leaves the running
     * rings misaligned where they are mapped */
    seed_begin(3 | F_MEM_FDS, 0);
    memset(p, 0, sizeof(p));
    put32(p, 1);
    put64(p + 16, GUEST_SIZE - 0x10);
    put64(p + 24, GUEST_UVA);
    put64(p + 32, 1);
    msg(SET_MEM_TABLE, MSG_NEED_REPLY, p, 40);
    msg_index(SET_VRING_ENABLE, 0, 0, 1);
    seed_end();

    /* two regions, the second a new memfd; a kick fd that is no
     * eventfd */
    seed_begin(3 | F_MEM_FDS | F_VRING_FDS, G_NOT_EVENTFD);
    {
        unsigned char t[8 + 2 * 32] = { 0 };

        put32(t, 2);
        put64(t + 8 + 8, GUEST_SIZE);
        put64(t + 8 + 16, GUEST_UVA);
        put64(t + 40, 0x100000);
        put64(t + 40 + 8, 0x1000);
        put64(t + 40 + 16, 0x10000000);
        msg(SET_MEM_TABLE, MSG_NEED_REPLY, t, sizeof(t));
    }
    msg_u64(SET_VRING_KICK, 0, 0);
    seed_end();
}

void fuzz_replay_builtin(void)
{
    seed_dir = NULL;
    all_seeds();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_VU_VERBOSE") != NULL;
    seed_dir = getenv("FUZZ_SEED_DIR");
    if (seed_dir && *seed_dir) {
        all_seeds();
        fprintf(stderr, "fuzz_vhost_user: %u seeds written to %s\n",
                nr_seeds, seed_dir);
    }
    seed_dir = NULL;
    return 0;
}
