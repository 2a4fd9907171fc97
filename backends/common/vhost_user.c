/*
 * vhost_user.c - the back-end's side of vhost-user (QEMU's
 * docs/interop/vhost-user.rst) for one device: the messages of its
 * frontend, the guest's RAM mapped from the fds of SET_MEM_TABLE, the
 * queues' fds and addresses handed to virtq.c, the config space and the
 * backend's channel for telling the frontend that it changed.
 *
 * The device says what it offers (struct vu_ops).  Every device also
 * offers dirty logging for migration (VHOST_F_LOG_ALL, with the log in
 * shared memory: LOG_SHMFD): while it is on, the buffers the device
 * writes and the used rings are marked in the frontend's bitmap
 * (virtq.h).  No IOMMU, no packed rings, no MQ: any other request is a
 * frontend we do not understand, and the connection is closed.
 */
#include "vhost_user.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    VU_GET_FEATURES = 1,
    VU_SET_FEATURES = 2,
    VU_SET_OWNER = 3,
    VU_RESET_OWNER = 4,
    VU_SET_MEM_TABLE = 5,
    VU_SET_LOG_BASE = 6,
    VU_SET_LOG_FD = 7,
    VU_SET_VRING_NUM = 8,
    VU_SET_VRING_ADDR = 9,
    VU_SET_VRING_BASE = 10,
    VU_GET_VRING_BASE = 11,
    VU_SET_VRING_KICK = 12,
    VU_SET_VRING_CALL = 13,
    VU_SET_VRING_ERR = 14,
    VU_GET_PROTOCOL_FEATURES = 15,
    VU_SET_PROTOCOL_FEATURES = 16,
    VU_SET_VRING_ENABLE = 18,
    VU_SET_BACKEND_REQ_FD = 21,
    VU_GET_CONFIG = 24,
    VU_SET_CONFIG = 25,
};

/* Requests on the backend's channel. */
enum {
    VU_BACKEND_CONFIG_CHANGE = 2,
};

#define VU_VERSION 0x1
#define VU_VERSION_MASK 0x3
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_VRING_INDEX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)

#define VU_VRING_F_LOG 0

/* GET_CONFIG and SET_CONFIG: offset, size and flags, then the bytes. */
#define VU_CONFIG_HDR 12

/* A region's numbers, as SET_MEM_TABLE lays them out. */
#define VU_REGION_SIZE 32
#define VU_MEM_HEADER 8

/* Messages handled per wakeup: the others' packets go on meanwhile. */
#define VU_MSG_BUDGET 32

static const char *request_name(uint32_t req)
{
    static const char *const names[] = {
        [VU_GET_FEATURES] = "GET_FEATURES",
        [VU_SET_FEATURES] = "SET_FEATURES",
        [VU_SET_OWNER] = "SET_OWNER",
        [VU_RESET_OWNER] = "RESET_OWNER",
        [VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
        [VU_SET_VRING_NUM] = "SET_VRING_NUM",
        [VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
        [VU_SET_VRING_BASE] = "SET_VRING_BASE",
        [VU_GET_VRING_BASE] = "GET_VRING_BASE",
        [VU_SET_LOG_BASE] = "SET_LOG_BASE",
        [VU_SET_LOG_FD] = "SET_LOG_FD",
        [VU_SET_VRING_KICK] = "SET_VRING_KICK",
        [VU_SET_VRING_CALL] = "SET_VRING_CALL",
        [VU_SET_VRING_ERR] = "SET_VRING_ERR",
        [VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        [VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
        [VU_GET_CONFIG] = "GET_CONFIG",
        [VU_SET_CONFIG] = "SET_CONFIG",
    };

    if (req < sizeof(names) / sizeof(names[0]) && names[req])
        return names[req];
    return "an unknown request";
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

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void unmap_mem(struct vu_mem *mem)
{
    unsigned int i;

    for (i = 0; i < mem->nr; i++)
        munmap(mem->r[i].map, mem->r[i].map_len);
    mem->nr = 0;
}

static void __attribute__((format(printf, 2, 3)))
vu_log(struct vu *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->ops->log(c, line);
}

static void drop_kick(struct vu *c, struct virtq *vq)
{
    if (vq->kick_fd < 0)
        return;
    c->ops->poll_del(c, vq->kick_fd);
    close_fd(&vq->kick_fd);
}

#define LOG_ALL ((uint64_t)1 << VU_F_LOG_ALL)

static void unmap_log(struct vu *c)
{
    unsigned int q;

    for (q = 0; q < VU_MAX_QUEUES; q++)
        virtq_log_set(&c->vq[q], NULL, 0);
    if (c->log)
        munmap(c->log, c->log_size);
    c->log = NULL;
    c->log_size = 0;
}

/* The rings log into c->log while LOG_ALL is acked and a log is set. */
static void log_update(struct vu *c)
{
    bool on = (c->features & LOG_ALL) && c->log;
    unsigned int q;

    for (q = 0; q < c->ops->nr_queues; q++)
        virtq_log_set(&c->vq[q], on ? c->log : NULL, c->log_size);
}

static void reset_queue(struct vu *c, struct virtq *vq)
{
    virtq_stop(vq);
    drop_kick(c, vq);
    close_fd(&vq->call_fd);
    vq->num = 0;
    vq->have_addr = false;
    vq->enabled = false;
    vq->last_avail = 0;
}

void vu_init(struct vu *c, const struct vu_ops *ops, void *owner)
{
    unsigned int q;

    memset(c, 0, sizeof(*c));
    c->ops = ops;
    c->owner = owner;
    c->fd = -1;
    c->req_fd = -1;
    for (q = 0; q < VU_MAX_QUEUES; q++) {
        c->vq[q].kick_fd = -1;
        c->vq[q].call_fd = -1;
    }
}

void vu_close(struct vu *c, const char *why)
{
    unsigned int q, i;

    if (c->fd < 0)
        return;
    if (why)
        vu_log(c, "vhost-user connection closed: %s", why);
    for (q = 0; q < c->ops->nr_queues; q++)
        reset_queue(c, &c->vq[q]);
    unmap_mem(&c->mem);
    unmap_log(c);
    for (i = 0; i < c->nr_fds; i++)
        close_fd(&c->fds[i]);
    c->nr_fds = 0;
    close_fd(&c->req_fd);
    c->ops->poll_del(c, c->fd);
    close_fd(&c->fd);
    c->have = 0;
    c->features = 0;
    c->protocol_features = 0;
    c->ops->queues_changed(c);
}

void vu_accept(struct vu *c, int listen_fd, const char *sock)
{
    int fd;

    fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            vu_log(c, "accepting on %s: %s", sock, strerror(errno));
        return;
    }
    if (c->fd >= 0) {
        /* One frontend per device: a second one would fight over the
         * same queues. */
        vu_log(c, "refused a second vhost-user connection on %s: one is "
               "already served", sock);
        close(fd);
        return;
    }
    if (c->ops->poll_add(c, fd, VU_CONN)) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->have = 0;
    vu_log(c, "vhost-user frontend connected on %s", sock);
}

int vu_config_changed(struct vu *c)
{
    unsigned char msg[VU_HDR_SIZE];
    ssize_t n;

    if (c->fd < 0 || c->req_fd < 0)
        return -ENOTCONN;
    put32(msg, VU_BACKEND_CONFIG_CHANGE);
    put32(msg + 4, VU_VERSION);
    put32(msg + 8, 0);
    /* Not waited for: the frontend reads the config over the
     * connection before it would answer, and this thread serves that. */
    n = send(c->req_fd, msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == (ssize_t)sizeof(msg))
        return 0;
    return n < 0 ? -errno : -EAGAIN;
}

/* ---------------------------------------------------------- requests */

/* Sets c->err and returns -EPROTO: the connection will be closed. */
static int __attribute__((format(printf, 2, 3)))
broken(struct vu *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -EPROTO;
}

/* Starts queue q if it has everything a ring needs and is not running. */
static int try_start(struct vu *c, unsigned int q, bool *changed)
{
    struct virtq *vq = &c->vq[q];
    char why[160];
    int rc;

    if (vq->started || vq->kick_fd < 0 || !vq->num || !vq->have_addr ||
        !c->mem.nr)
        return 0;
    vq->indirect = c->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    rc = virtq_start(vq, &c->mem,
                     c->features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
                     why, sizeof(why));
    if (rc)
        return broken(c, "queue %u: %s", q, why);
    log_update(c);
    *changed = true;
    return 0;
}

/* Checks the index of a queue message; the queue, or NULL (broken). */
static struct virtq *queue_of(struct vu *c, uint32_t index)
{
    if (index >= c->ops->nr_queues) {
        broken(c, "queue %" PRIu32 " does not exist (%s)", index,
               c->ops->queues);
        return NULL;
    }
    return &c->vq[index];
}

/* SET_LOG_BASE with LOG_SHMFD: {size, offset} and the log's fd. */
static int set_log_base(struct vu *c, const unsigned char *p)
{
    uint64_t size = get64(p), off = get64(p + 8);
    struct stat st = { .st_size = -1 };
    void *m;

    if (!(c->protocol_features & (1ULL << VU_PF_LOG_SHMFD)))
        return broken(c, "SET_LOG_BASE without LOG_SHMFD negotiated");
    if (c->nr_fds != 1)
        return broken(c, "SET_LOG_BASE with %u fds, where one was due",
                      c->nr_fds);
    if (!size || size > (1ULL << 32) || off % 4096)
        return broken(c, "SET_LOG_BASE of %" PRIu64 " bytes at offset "
                      "%" PRIu64, size, off);
    /* a log past the end of its file would fault (SIGBUS) when marked */
    if (fstat(c->fds[0], &st) < 0 || st.st_size < 0 ||
        (uint64_t)st.st_size < off || (uint64_t)st.st_size - off < size) {
        close_fd(&c->fds[0]);
        c->nr_fds = 0;
        return broken(c, "SET_LOG_BASE of %" PRIu64 " bytes at offset %"
                      PRIu64 " in a file of %lld bytes", size, off,
                      (long long)st.st_size);
    }
    m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
             c->fds[0], (off_t)off);
    close_fd(&c->fds[0]);
    c->nr_fds = 0;
    if (m == MAP_FAILED)
        return broken(c, "mapping the dirty log (%" PRIu64 " bytes): %s",
                      size, strerror(errno));
    unmap_log(c);
    c->log = m;
    c->log_size = size;
    log_update(c);
    return 0;
}

static int set_features(struct vu *c, uint64_t f)
{
    unsigned int q;

    if (f & ~(c->ops->features | LOG_ALL))
        return broken(c, "features 0x%" PRIx64 " include some not offered "
                      "(0x%" PRIx64 ")", f, c->ops->features | LOG_ALL);
    c->features = f;
    log_update(c);
    f &= ~LOG_ALL;
    /* Without protocol features no SET_VRING_ENABLE will come: the
     * rings are enabled from the start. */
    if (!(f & (1ULL << VU_F_PROTOCOL_FEATURES)))
        for (q = 0; q < c->ops->nr_queues; q++)
            c->vq[q].enabled = true;
    return c->ops->features_set ? c->ops->features_set(c, f) : 0;
}

/*
 * SET_MEM_TABLE: maps every region of the new table, then moves the
 * started rings to it, then unmaps the old one.  We are single-threaded,
 * so nothing uses the old mapping once this message is handled, which
 * is what the frontend's REPLY_ACK wait is for.
 */
static int set_mem_table(struct vu *c, const unsigned char *p, uint32_t size)
{
    struct vu_mem mem = { 0 }, old;
    uint64_t gpa, len, uva, off;
    const unsigned char *rp;
    struct vu_region *r;
    unsigned int i, q;
    char why[160];
    struct stat st;
    uint32_t nr;
    void *map;
    int rc;

    nr = size >= VU_MEM_HEADER ? get32(p) : 0;
    if (size < VU_MEM_HEADER || nr < 1 || nr > VU_MAX_REGIONS ||
        size != VU_MEM_HEADER + nr * VU_REGION_SIZE)
        return broken(c, "SET_MEM_TABLE of %" PRIu32 " bytes for %" PRIu32
                      " regions (1 to %d)", size, nr, VU_MAX_REGIONS);
    if (c->nr_fds != nr)
        return broken(c, "SET_MEM_TABLE of %" PRIu32 " regions came with "
                      "%u fds", nr, c->nr_fds);
    for (i = 0; i < nr; i++) {
        rp = p + VU_MEM_HEADER + i * VU_REGION_SIZE;
        gpa = get64(rp);
        len = get64(rp + 8);
        uva = get64(rp + 16);
        off = get64(rp + 24);
        if (!len || gpa + len < gpa || uva + len < uva || off + len < off ||
            off + len > SIZE_MAX) {
            rc = broken(c, "memory region %u (guest 0x%" PRIx64 ", %" PRIu64
                        " bytes at offset %" PRIu64 ") is empty or wraps "
                        "around", i, gpa, len, off);
            goto fail;
        }
        if (fstat(c->fds[i], &st) < 0) {
            rc = broken(c, "memory region %u: fstat of its fd: %s", i,
                        strerror(errno));
            goto fail;
        }
        /* Mapping past the end of the file would fault on access. */
        if ((uint64_t)st.st_size < off + len) {
            rc = broken(c, "memory region %u: its fd holds %lld bytes, "
                        "fewer than its offset %" PRIu64 " and size %" PRIu64,
                        i, (long long)st.st_size, off, len);
            goto fail;
        }
        /* From offset 0: the offset need not be page-aligned. */
        map = mmap(NULL, off + len, PROT_READ | PROT_WRITE, MAP_SHARED,
                   c->fds[i], 0);
        if (map == MAP_FAILED) {
            rc = broken(c, "cannot map memory region %u (%" PRIu64 " bytes): "
                        "%s", i, off + len, strerror(errno));
            goto fail;
        }
        r = &mem.r[mem.nr++];
        *r = (struct vu_region){ .gpa = gpa, .size = len, .uva = uva,
                                 .host = (uint8_t *)map + off, .map = map,
                                 .map_len = off + len };
    }
    for (i = 0; i < c->nr_fds; i++)
        close_fd(&c->fds[i]);
    old = c->mem;
    c->mem = mem;
    unmap_mem(&old);
    for (q = 0; q < c->ops->nr_queues; q++) {
        if (!c->vq[q].started)
            continue;
        rc = virtq_remap(&c->vq[q], &c->mem, why, sizeof(why));
        if (rc)
            return broken(c, "queue %u after a new memory table: %s", q,
                          why);
    }
    return 0;

fail:
    unmap_mem(&mem);
    return rc;
}

/*
 * Whether fd is an eventfd.  Kick and call fds are shared with qemu and
 * blocking (their flags are qemu's too): an eventfd never blocks a
 * write and is read only once it polls readable, but a pipe nobody
 * reads would block our writes, and with them every device.  Where /proc
 * is missing we cannot tell, and trust the frontend.
 */
static bool is_eventfd(int fd)
{
    char path[64], target[64];
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return errno == ENOENT && access("/proc/self", F_OK) < 0;
    target[n] = '\0';
    return !strcmp(target, "anon_inode:[eventfd]");
}

/*
 * SET_VRING_KICK, _CALL and _ERR: the queue index and whether an fd
 * came; the fd (taken from the message) in *fd_r, or -1.
 */
static struct virtq *vring_fd(struct vu *c, const unsigned char *p,
                              int *fd_r)
{
    struct virtq *vq;
    uint64_t u;

    u = get64(p);
    vq = queue_of(c, (uint32_t)(u & VU_VRING_INDEX_MASK));
    if (!vq)
        return NULL;
    if (c->nr_fds != ((u & VU_VRING_NOFD) ? 0 : 1)) {
        broken(c, "%u fds, where the message says %s", c->nr_fds,
               (u & VU_VRING_NOFD) ? "none" : "one");
        return NULL;
    }
    if (c->nr_fds && !is_eventfd(c->fds[0])) {
        broken(c, "queue %u: its fd is not an eventfd",
               (unsigned int)(vq - c->vq));
        return NULL;
    }
    *fd_r = c->nr_fds ? c->fds[0] : -1;
    c->fds[0] = -1;
    c->nr_fds = 0;
    return vq;
}

/* The payload size each request must have; -1 for one we do not serve
 * (SET_MEM_TABLE's and the config's are at most this, checked by their
 * handlers). */
static long payload_size(uint32_t req)
{
    switch (req) {
    case VU_GET_FEATURES:
    case VU_SET_OWNER:
    case VU_RESET_OWNER:
    case VU_GET_PROTOCOL_FEATURES:
        return 0;
    case VU_SET_FEATURES:
    case VU_SET_PROTOCOL_FEATURES:
    case VU_SET_VRING_KICK:
    case VU_SET_VRING_CALL:
    case VU_SET_VRING_ERR:
    case VU_SET_VRING_NUM:
    case VU_SET_VRING_BASE:
    case VU_GET_VRING_BASE:
    case VU_SET_VRING_ENABLE:
        return 8;
    case VU_SET_VRING_ADDR:
        return 40;
    case VU_SET_MEM_TABLE:
        return VU_MAX_PAYLOAD;
    case VU_SET_BACKEND_REQ_FD:
    case VU_SET_LOG_FD:
        return 0;
    case VU_SET_LOG_BASE:
        return 16;
    case VU_GET_CONFIG:
    case VU_SET_CONFIG:
        return VU_CONFIG_HDR + VU_CONFIG_MAX;
    default:
        return -1;
    }
}

/*
 * GET_CONFIG and SET_CONFIG: {offset, size, flags} and size bytes.  A
 * read gets the device's bytes; a write (virtio-blk's writeback toggle,
 * which we do not offer) is acknowledged and ignored, as the spec lets
 * a device ignore writes to read-only fields.
 */
static int config(struct vu *c, uint32_t req, const unsigned char *p,
                  uint32_t size, unsigned char *reply, uint32_t *reply_size,
                  bool *has_reply)
{
    uint32_t off, len;

    if (!c->ops->get_config ||
        !(c->protocol_features & (1ULL << VU_PF_CONFIG)))
        return broken(c, "the config space was not negotiated");
    if (size < VU_CONFIG_HDR)
        return broken(c, "a payload of %" PRIu32 " bytes, shorter than its "
                      "header", size);
    off = get32(p);
    len = get32(p + 4);
    if (len > VU_CONFIG_MAX || size != VU_CONFIG_HDR + len ||
        off > VU_CONFIG_MAX - len)
        return broken(c, "%" PRIu32 " bytes at offset %" PRIu32 " in a "
                      "payload of %" PRIu32 " (a config space of %d bytes)",
                      len, off, size, VU_CONFIG_MAX);
    if (req == VU_SET_CONFIG)
        return 0;
    memcpy(reply, p, VU_CONFIG_HDR);
    memset(reply + VU_CONFIG_HDR, 0, len);
    c->ops->get_config(c, off, reply + VU_CONFIG_HDR, len);
    *reply_size = VU_CONFIG_HDR + len;
    *has_reply = true;
    return 0;
}

/*
 * Handles one message.  A reply (its payload in reply, *reply_size
 * bytes) when *has_reply; *changed when a queue started, stopped or was
 * enabled or disabled.  0, or -EPROTO with c->err set.
 */
static int handle(struct vu *c, uint32_t req, const unsigned char *p,
                  uint32_t size, unsigned char *reply, uint32_t *reply_size,
                  bool *has_reply, bool *changed)
{
    struct virtq *vq;
    uint32_t index, num;
    uint64_t u;
    long want = payload_size(req);
    unsigned int q;
    int fd, rc;

    if (want < 0)
        return broken(c, "request %" PRIu32 " is not served", req);
    if (req == VU_SET_MEM_TABLE || req == VU_GET_CONFIG ||
        req == VU_SET_CONFIG ? size > (uint32_t)want : size != want)
        return broken(c, "%s with a payload of %" PRIu32 " bytes, not %ld",
                      request_name(req), size, want);
    if (req != VU_SET_MEM_TABLE && req != VU_SET_VRING_KICK &&
        req != VU_SET_VRING_CALL && req != VU_SET_VRING_ERR &&
        req != VU_SET_BACKEND_REQ_FD && req != VU_SET_LOG_BASE &&
        req != VU_SET_LOG_FD && c->nr_fds)
        return broken(c, "%s came with %u fds", request_name(req),
                      c->nr_fds);

    switch (req) {
    case VU_GET_FEATURES:
        put64(reply, c->ops->features | LOG_ALL);
        *reply_size = 8;
        *has_reply = true;
        return 0;
    case VU_GET_PROTOCOL_FEATURES:
        put64(reply, c->ops->protocol_features | (1ULL << VU_PF_LOG_SHMFD));
        *reply_size = 8;
        *has_reply = true;
        return 0;
    case VU_SET_FEATURES:
        *changed = true;
        return set_features(c, get64(p));
    case VU_SET_PROTOCOL_FEATURES:
        u = get64(p);
        if (u & ~(c->ops->protocol_features | (1ULL << VU_PF_LOG_SHMFD)))
            return broken(c, "protocol features 0x%" PRIx64 " include some "
                          "not offered (0x%" PRIx64 ")", u,
                          c->ops->protocol_features);
        c->protocol_features = u;
        return 0;
    case VU_SET_OWNER:
        return 0;
    case VU_RESET_OWNER:
        /* Deprecated; the spec's advice: disable the rings. */
        for (q = 0; q < c->ops->nr_queues; q++)
            c->vq[q].enabled = false;
        *changed = true;
        return 0;
    case VU_SET_MEM_TABLE:
        rc = set_mem_table(c, p, size);
        for (q = 0; !rc && q < c->ops->nr_queues; q++)
            rc = try_start(c, q, changed);
        return rc;
    case VU_SET_BACKEND_REQ_FD:
        if (!(c->protocol_features & (1ULL << VU_PF_BACKEND_REQ)))
            return broken(c, "the backend's channel was not negotiated");
        if (c->nr_fds != 1)
            return broken(c, "%u fds, where one was due", c->nr_fds);
        close_fd(&c->req_fd);
        c->req_fd = c->fds[0];
        c->fds[0] = -1;
        c->nr_fds = 0;
        return 0;
    case VU_GET_CONFIG:
    case VU_SET_CONFIG:
        return config(c, req, p, size, reply, reply_size, has_reply);
    case VU_SET_LOG_BASE:
        rc = set_log_base(c, p);
        /* answered once mapped, as LOG_SHMFD asks */
        put64(reply, 0);
        *reply_size = 8;
        *has_reply = rc == 0;
        return rc;
    case VU_SET_LOG_FD:
        /* notifications of log writes: not needed with a shared log */
        for (q = 0; q < c->nr_fds; q++)
            close_fd(&c->fds[q]);
        c->nr_fds = 0;
        return 0;
    }

    if (req == VU_SET_VRING_KICK || req == VU_SET_VRING_CALL ||
        req == VU_SET_VRING_ERR) {
        vq = vring_fd(c, p, &fd);
        if (!vq)
            return -EPROTO;
        q = (unsigned int)(vq - c->vq);
        if (req == VU_SET_VRING_ERR) {
            /* We report errors by closing the connection, not here. */
            close_fd(&fd);
            return 0;
        }
        if (req == VU_SET_VRING_CALL) {
            close_fd(&vq->call_fd);
            vq->call_fd = fd;
            /* The new fd may have missed an interrupt the old one got. */
            vq->signalled_valid = false;
            return 0;
        }
        /* A new kick fd restarts the ring (vhost-user's "ring states"). */
        virtq_stop(vq);
        drop_kick(c, vq);
        *changed = true;
        if (fd < 0) {
            vu_log(c, "queue %u: no kick fd (polling mode), which is not "
                   "served: the queue stays stopped", q);
            return 0;
        }
        if (c->ops->poll_add(c, fd, (int)q)) {
            close(fd);
            return broken(c, "queue %u: cannot poll its kick fd", q);
        }
        vq->kick_fd = fd;
        return try_start(c, q, changed);
    }

    index = get32(p);
    vq = queue_of(c, index);
    if (!vq)
        return -EPROTO;
    num = get32(p + 4);
    switch (req) {
    case VU_SET_VRING_NUM:
        if (num < 1 || num > VQ_MAX_SIZE || (num & (num - 1)))
            return broken(c, "queue %" PRIu32 ": size %" PRIu32 " is not a "
                          "power of 2 up to %d", index, num, VQ_MAX_SIZE);
        virtq_stop(vq);
        vq->num = num;
        *changed = true;
        return try_start(c, index, changed);
    case VU_SET_VRING_BASE:
        if (num > UINT16_MAX)
            return broken(c, "queue %" PRIu32 ": base %" PRIu32 " is not a "
                          "split ring's index", index, num);
        virtq_stop(vq);
        vq->last_avail = (uint16_t)num;
        *changed = true;
        return try_start(c, index, changed);
    case VU_GET_VRING_BASE:
        /* Stopped: from now on qemu owns the ring and its kicks. */
        virtq_stop(vq);
        drop_kick(c, vq);
        *changed = true;
        put32(reply, index);
        put32(reply + 4, vq->last_avail);
        *reply_size = 8;
        *has_reply = true;
        return 0;
    case VU_SET_VRING_ENABLE:
        if (num > 1)
            return broken(c, "queue %" PRIu32 ": SET_VRING_ENABLE %" PRIu32,
                          index, num);
        vq->enabled = num;
        *changed = true;
        return 0;
    case VU_SET_VRING_ADDR:
        if (get32(p + 4) & (1u << VU_VRING_F_LOG))
            return broken(c, "queue %" PRIu32 ": dirty logging asked for, "
                          "which was not offered", index);
        vq->desc_uva = get64(p + 8);
        vq->used_uva = get64(p + 16);
        vq->avail_uva = get64(p + 24);
        vq->have_addr = true;
        if (vq->started) {
            char why[160];

            if (virtq_remap(vq, &c->mem, why, sizeof(why)))
                return broken(c, "queue %" PRIu32 ": %s", index, why);
            return 0;
        }
        return try_start(c, index, changed);
    }
    return broken(c, "request %" PRIu32 " is not served", req);
}

static int send_reply(struct vu *c, uint32_t req, const unsigned char *p,
                      uint32_t size)
{
    unsigned char buf[VU_HDR_SIZE + VU_CONFIG_HDR + VU_CONFIG_MAX];
    size_t len = VU_HDR_SIZE + size;
    ssize_t n;

    put32(buf, req);
    put32(buf + 4, VU_VERSION | VU_FLAG_REPLY);
    put32(buf + 8, size);
    memcpy(buf + VU_HDR_SIZE, p, size);
    /* A reply is small; a frontend that does not read its socket is
     * given up on rather than waited for. */
    n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == (ssize_t)len)
        return 0;
    return broken(c, "cannot send the reply to %s: %s", request_name(req),
                  n < 0 ? strerror(errno) : "the socket is full");
}

/* The message in c->msg is complete: handles it and replies. */
static int dispatch(struct vu *c, bool *changed)
{
    unsigned char reply[VU_CONFIG_HDR + VU_CONFIG_MAX];
    uint32_t req = get32(c->msg), flags = get32(c->msg + 4);
    uint32_t size = get32(c->msg + 8), reply_size = 0;
    bool has_reply = false;
    int rc;

    rc = handle(c, req, c->msg + VU_HDR_SIZE, size, reply, &reply_size,
                &has_reply, changed);
    if (rc)
        return rc;
    if (!has_reply && (flags & VU_FLAG_NEED_REPLY) &&
        (c->protocol_features & (1ULL << VU_PF_REPLY_ACK))) {
        put64(reply, 0);
        reply_size = 8;
        has_reply = true;
    }
    return has_reply ? send_reply(c, req, reply, reply_size) : 0;
}

/*
 * Reads what is missing of the current message (the header, then the
 * payload): reading no further than the message keeps the fds of the
 * next one for it.  1 when the message is complete, 2 when part of it
 * came, 0 when nothing is there to read, -1 when the connection must
 * close (c->err).
 */
static int read_msg(struct vu *c)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
    } ctl;
    struct msghdr mh = { 0 };
    struct cmsghdr *cm;
    struct iovec iov;
    size_t want, nfd, i;
    uint32_t size, flags;
    bool extra = false;
    int *fds;
    ssize_t n;

    if (c->have < VU_HDR_SIZE) {
        want = VU_HDR_SIZE - c->have;
    } else {
        size = get32(c->msg + 8);
        want = VU_HDR_SIZE + size - c->have;
    }
    iov = (struct iovec){ c->msg + c->have, want };
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0) {
        snprintf(c->err, sizeof(c->err), "reading its socket: %s",
                 strerror(errno));
        return -1;
    }
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        fds = (int *)CMSG_DATA(cm);
        nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < nfd; i++) {
            int fd;

            memcpy(&fd, fds + i, sizeof(fd));
            if (c->nr_fds < VU_MAX_FDS) {
                c->fds[c->nr_fds++] = fd;
            } else {
                close(fd);
                extra = true;
            }
        }
    }
    if (extra || (mh.msg_flags & MSG_CTRUNC)) {
        snprintf(c->err, sizeof(c->err), "a message came with more than %d "
                 "fds", VU_MAX_FDS);
        return -1;
    }
    if (n == 0) {
        snprintf(c->err, sizeof(c->err), "the frontend closed it%s",
                 c->have ? " in the middle of a message" : "");
        return -1;
    }
    c->have += (size_t)n;
    if (c->have < VU_HDR_SIZE)
        return 2;
    flags = get32(c->msg + 4);
    size = get32(c->msg + 8);
    if ((flags & VU_VERSION_MASK) != VU_VERSION || (flags & VU_FLAG_REPLY)) {
        snprintf(c->err, sizeof(c->err), "%s with flags 0x%" PRIx32 " (not "
                 "a version 1 request)", request_name(get32(c->msg)), flags);
        return -1;
    }
    if (size > VU_MAX_PAYLOAD) {
        snprintf(c->err, sizeof(c->err), "%s with a payload of %" PRIu32
                 " bytes, more than the %d we take",
                 request_name(get32(c->msg)), size, VU_MAX_PAYLOAD);
        return -1;
    }
    return c->have == VU_HDR_SIZE + size ? 1 : 2;
}

void vu_input(struct vu *c)
{
    char why[sizeof(c->err) + 48];
    bool changed = false;
    unsigned int n, i;
    int r;

    if (c->fd < 0)
        return;                 /* an event from before it closed */
    /* Each pass reads at least a byte or stops. */
    for (n = 0; n < 2 * VU_MSG_BUDGET; n++) {
        r = read_msg(c);
        if (r == 0)
            break;
        if (r == 1 && dispatch(c, &changed)) {
            snprintf(why, sizeof(why), "%s: %s",
                     request_name(get32(c->msg)), c->err);
            vu_close(c, why);
            return;
        }
        if (r == 1) {
            for (i = 0; i < c->nr_fds; i++)
                close_fd(&c->fds[i]);
            c->nr_fds = 0;
            c->have = 0;
        }
        if (r < 0) {
            vu_close(c, c->err);
            return;
        }
    }
    if (changed)
        c->ops->queues_changed(c);
}
