/*
 * vhost_user.c - the front end of the vhost-user protocol (see
 * vhost_user.h; messages as docs/interop/vhost-user.rst defines them).
 *
 * The socket is non-blocking and every send and receive waits in poll()
 * against a deadline of v->timeout_ms from the start of the request, so a
 * backend that stops reading or answering costs at most that long.  When
 * an exchange breaks half-way (timeout, hang-up, a reply that is not the
 * one expected) the stream can no longer be trusted to be in step, so the
 * connection is closed (v->fd becomes -1); a backend that merely refuses
 * a request (a non-zero REPLY_ACK) keeps its connection.
 *
 * The backend channel (v->req_fd) is read the same way, but only once
 * the owner has seen it readable, and a channel that breaks is closed on
 * its own: the socket and the rings it serves are not out of step.
 */
#include "devices/vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Requests (front end to back end). */
enum {
    REQ_GET_FEATURES = 1,
    REQ_SET_FEATURES = 2,
    REQ_SET_OWNER = 3,
    REQ_SET_MEM_TABLE = 5,
    REQ_SET_LOG_BASE = 6,
    REQ_SET_VRING_NUM = 8,
    REQ_SET_VRING_ADDR = 9,
    REQ_SET_VRING_BASE = 10,
    REQ_GET_VRING_BASE = 11,
    REQ_SET_VRING_KICK = 12,
    REQ_SET_VRING_CALL = 13,
    REQ_GET_PROTOCOL_FEATURES = 15,
    REQ_SET_PROTOCOL_FEATURES = 16,
    REQ_GET_QUEUE_NUM = 17,
    REQ_SET_VRING_ENABLE = 18,
    REQ_SET_BACKEND_REQ_FD = 21,
    REQ_GET_CONFIG = 24,
};

#define HDR_VERSION     0x1u
#define HDR_VERSION_MASK 0x3u
#define HDR_REPLY       (1u << 2)
#define HDR_NEED_REPLY  (1u << 3)

#define VRING_NOFD      (1ull << 8)      /* SET_VRING_KICK/CALL: no fd */
#define CONFIG_HDR_SIZE 12u
#define CONFIG_MAX      256u             /* the spec's largest config */
#define RETRY_NS        10000000L        /* between connect() tries */
#define DEFAULT_TIMEOUT 5000

/* The protocol features this front end takes when offered. */
#define OUR_PROTOCOL_FEATURES ((1ull << VHU_PF_MQ) | \
                               (1ull << VHU_PF_LOG_SHMFD) | \
                               (1ull << VHU_PF_REPLY_ACK) | \
                               (1ull << VHU_PF_BACKEND_REQ) | \
                               (1ull << VHU_PF_CONFIG))

struct msg_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
};

struct vring_state {
    uint32_t index;
    uint32_t num;
};

struct vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc;
    uint64_t used;
    uint64_t avail;
    uint64_t log;
};

struct mem_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
};

struct mem_table {
    uint32_t nregions;
    uint32_t padding;
    struct mem_region regions[VHU_MAX_REGIONS];
};

_Static_assert(sizeof(struct msg_hdr) == 12, "vhost-user header");
_Static_assert(sizeof(struct vring_state) == 8, "vring state");
_Static_assert(sizeof(struct vring_addr) == 40, "vring address");
_Static_assert(sizeof(struct mem_region) == 32, "memory region");
_Static_assert(sizeof(struct mem_table) == 8 + 32 * VHU_MAX_REGIONS,
               "memory table");

#define MAX_PAYLOAD (CONFIG_HDR_SIZE + CONFIG_MAX)
_Static_assert(sizeof(struct mem_table) <= MAX_PAYLOAD, "payload size");

/*
 * The largest backend request taken: those the protocol defines carry a
 * few dozen bytes at most, so anything longer is garbage, not a request
 * to skip.
 */
#define BACKEND_MAX_PAYLOAD MAX_PAYLOAD

static const char *req_name(uint32_t req)
{
    switch (req) {
    case REQ_GET_FEATURES:          return "GET_FEATURES";
    case REQ_SET_FEATURES:          return "SET_FEATURES";
    case REQ_SET_OWNER:             return "SET_OWNER";
    case REQ_SET_MEM_TABLE:         return "SET_MEM_TABLE";
    case REQ_SET_LOG_BASE:          return "SET_LOG_BASE";
    case REQ_SET_VRING_NUM:         return "SET_VRING_NUM";
    case REQ_SET_VRING_ADDR:        return "SET_VRING_ADDR";
    case REQ_SET_VRING_BASE:        return "SET_VRING_BASE";
    case REQ_GET_VRING_BASE:        return "GET_VRING_BASE";
    case REQ_SET_VRING_KICK:        return "SET_VRING_KICK";
    case REQ_SET_VRING_CALL:        return "SET_VRING_CALL";
    case REQ_GET_PROTOCOL_FEATURES: return "GET_PROTOCOL_FEATURES";
    case REQ_SET_PROTOCOL_FEATURES: return "SET_PROTOCOL_FEATURES";
    case REQ_GET_QUEUE_NUM:         return "GET_QUEUE_NUM";
    case REQ_SET_VRING_ENABLE:      return "SET_VRING_ENABLE";
    case REQ_SET_BACKEND_REQ_FD:    return "SET_BACKEND_REQ_FD";
    case REQ_GET_CONFIG:            return "GET_CONFIG";
    default:                        return "request";
    }
}

static const char *backend_req_name(uint32_t req)
{
    switch (req) {
    case VHU_BACKEND_IOTLB_MSG:               return "IOTLB_MSG";
    case VHU_BACKEND_CONFIG_CHANGE_MSG:       return "CONFIG_CHANGE_MSG";
    case VHU_BACKEND_VRING_HOST_NOTIFIER_MSG: return "VRING_HOST_NOTIFIER_MSG";
    default:                                  return "unknown";
    }
}

/* Writes "WHAT on PATH: cause" into v->err and gives back -err. */
static int vfail(struct vhu *v, const char *what, int err, const char *fmt,
                 va_list ap)
{
    int n;

    n = snprintf(v->err, sizeof(v->err), "%s on %s: ", what,
                 v->path[0] ? v->path : "(no socket)");
    if (n >= 0 && (size_t)n < sizeof(v->err))
        vsnprintf(v->err + n, sizeof(v->err) - (size_t)n, fmt, ap);
    return -err;
}

static int fail(struct vhu *v, const char *what, int err, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static int fail(struct vhu *v, const char *what, int err, const char *fmt,
                ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(v, what, err, fmt, ap);
    va_end(ap);
    return -err;
}

/*
 * As fail(), and the connection is dropped: it is out of step.  The
 * backend channel goes with it, as the backend's session is over.
 */
static int broken(struct vhu *v, uint32_t req, int err, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

static int broken(struct vhu *v, uint32_t req, int err, const char *fmt,
                  ...)
{
    va_list ap;

    vhu_close(v);
    va_start(ap, fmt);
    vfail(v, req_name(req), err, fmt, ap);
    va_end(ap);
    return -err;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_in(const struct vhu *v)
{
    return now_ms() + (v->timeout_ms > 0 ? v->timeout_ms : DEFAULT_TIMEOUT);
}

/*
 * Waits for events on fd until deadline: 1 when ready, 0 on timeout,
 * -errno when poll itself fails.
 */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = { .fd = fd, .events = events };
    int64_t left;
    int rc;

    for (;;) {
        left = deadline - now_ms();
        if (left < 0)
            left = 0;
        rc = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (rc > 0)
            return 1;
        if (rc == 0) {
            if (left == 0 || now_ms() >= deadline)
                return 0;
            continue;
        }
        if (errno != EINTR)
            return -errno;
    }
}

static int waited_ms(const struct vhu *v)
{
    return v->timeout_ms > 0 ? v->timeout_ms : DEFAULT_TIMEOUT;
}

/*
 * Writes len bytes of buf to fd by deadline, fds (at most
 * VHU_MAX_REGIONS) travelling with the first byte as SCM_RIGHTS.  0, or
 * -ETIMEDOUT, -EPIPE or -ECONNRESET (the peer hung up), or the -errno of
 * sendmsg or poll.  It names nothing: its callers say what was sent, on
 * which link.
 */
static int write_full(int fd, const void *buf, size_t len, const int *fds,
                      unsigned int nfds, int64_t deadline)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * VHU_MAX_REGIONS)];
    } ctl;
    size_t done = 0;
    struct iovec iov;
    struct msghdr mh;
    struct cmsghdr *c;
    ssize_t n;
    int rc;

    while (done < len) {
        memset(&mh, 0, sizeof(mh));
        iov.iov_base = (char *)buf + done;
        iov.iov_len = len - done;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (done == 0 && nfds) {
            /* the descriptors travel with the first byte */
            memset(&ctl, 0, sizeof(ctl));
            mh.msg_control = ctl.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
            c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
            memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
        }
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0)
            return -EPIPE;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            rc = wait_fd(fd, POLLOUT, deadline);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return -ETIMEDOUT;
            continue;
        }
        return -errno;
    }
    return 0;
}

/* Closes whatever descriptors a message carried: none is expected. */
static void drop_fds(struct msghdr *mh)
{
    struct cmsghdr *c;
    size_t i, n;
    int fd;

    for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < n; i++) {
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (fd >= 0)
                close(fd);
        }
    }
}

/*
 * Reads exactly len bytes from fd into buf by deadline, closing whatever
 * descriptors come along.  0, or -EPIPE (end of file) or -ECONNRESET,
 * -ETIMEDOUT, or the -errno of recvmsg or poll; *got_r says how many
 * bytes came before a failure.  With nowait, an fd with nothing to read
 * at all gives -EAGAIN at once: only the rest of a message is waited for.
 */
static int read_full(int fd, void *buf, size_t len, int64_t deadline,
                     int nowait, size_t *got_r)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * VHU_MAX_REGIONS)];
    } ctl;
    size_t done = 0;
    struct iovec iov;
    struct msghdr mh;
    ssize_t n;
    int rc;

    *got_r = 0;
    while (done < len) {
        memset(&mh, 0, sizeof(mh));
        iov.iov_base = (char *)buf + done;
        iov.iov_len = len - done;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n > 0) {
            drop_fds(&mh);
            done += (size_t)n;
            *got_r = done;
            continue;
        }
        if (n == 0)
            return -EPIPE;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (nowait && done == 0)
                return -EAGAIN;
            rc = wait_fd(fd, POLLIN, deadline);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return -ETIMEDOUT;
            continue;
        }
        return -errno;
    }
    return 0;
}

/* Sends one message, with fds (at most VHU_MAX_REGIONS) as SCM_RIGHTS. */
static int send_msg(struct vhu *v, uint32_t req, uint32_t flags,
                    const void *payload, uint32_t size, const int *fds,
                    unsigned int nfds, int64_t deadline)
{
    unsigned char buf[sizeof(struct msg_hdr) + MAX_PAYLOAD];
    struct msg_hdr hdr = { req, HDR_VERSION | flags, size };
    int rc;

    memcpy(buf, &hdr, sizeof(hdr));
    if (size)
        memcpy(buf + sizeof(hdr), payload, size);
    rc = write_full(v->fd, buf, sizeof(hdr) + size, fds, nfds, deadline);
    if (rc == 0)
        return 0;
    if (rc == -ETIMEDOUT)
        return broken(v, req, ETIMEDOUT, "backend took no data for %d ms",
                      waited_ms(v));
    if (rc == -EPIPE || rc == -ECONNRESET)
        return broken(v, req, EPIPE, "backend hung up (send: %s)",
                      strerror(-rc));
    return broken(v, req, -rc, "send: %s", strerror(-rc));
}

/* Reads exactly len bytes of the reply to req. */
static int recv_exact(struct vhu *v, uint32_t req, void *buf, size_t len,
                      int64_t deadline)
{
    size_t got;
    int rc;

    rc = read_full(v->fd, buf, len, deadline, 0, &got);
    if (rc == 0)
        return 0;
    if (rc == -EPIPE)
        return broken(v, req, EPIPE, "backend hung up (%s)",
                      got ? "in the middle of a reply" : "no reply");
    if (rc == -ECONNRESET)
        return broken(v, req, EPIPE, "backend hung up (recv: %s)",
                      strerror(-rc));
    if (rc == -ETIMEDOUT)
        return broken(v, req, ETIMEDOUT, "no reply within %d ms",
                      waited_ms(v));
    return broken(v, req, -rc, "recv: %s", strerror(-rc));
}

/*
 * Reads the reply to req into payload: its size must lie within
 * [min, max]; *size_r gets it.
 */
static int recv_reply(struct vhu *v, uint32_t req, void *payload,
                      uint32_t min, uint32_t max, uint32_t *size_r,
                      int64_t deadline)
{
    struct msg_hdr hdr;
    int rc;

    rc = recv_exact(v, req, &hdr, sizeof(hdr), deadline);
    if (rc < 0)
        return rc;
    if (hdr.request != req)
        return broken(v, req, EPROTO,
                      "reply is for request %u (%s), not %u",
                      hdr.request, req_name(hdr.request), req);
    if ((hdr.flags & HDR_VERSION_MASK) != HDR_VERSION ||
        !(hdr.flags & HDR_REPLY))
        return broken(v, req, EPROTO, "bad reply flags %#x", hdr.flags);
    if (hdr.size > max)
        return broken(v, req, EPROTO, "reply too long (%u bytes, at most "
                      "%u)", hdr.size, max);
    rc = recv_exact(v, req, payload, hdr.size, deadline);
    if (rc < 0)
        return rc;
    if (hdr.size < min)
        return fail(v, req_name(req), EPROTO,
                    "short reply (%u bytes, want %u)", hdr.size, min);
    if (size_r)
        *size_r = hdr.size;
    return 0;
}

static int check_conn(struct vhu *v, uint32_t req)
{
    if (v->fd < 0)
        return fail(v, req_name(req), ENOTCONN, "not connected");
    return 0;
}

/*
 * A request without a reply of its own: with REPLY_ACK negotiated, ask
 * for the ack and check it.
 */
static int request(struct vhu *v, uint32_t req, const void *payload,
                   uint32_t size, const int *fds, unsigned int nfds)
{
    int ack = (v->protocol_features >> VHU_PF_REPLY_ACK) & 1;
    int64_t deadline = deadline_in(v);
    uint64_t status;
    int rc;

    rc = check_conn(v, req);
    if (rc < 0)
        return rc;
    rc = send_msg(v, req, ack ? HDR_NEED_REPLY : 0, payload, size, fds,
                  nfds, deadline);
    if (rc < 0 || !ack)
        return rc;
    rc = recv_reply(v, req, &status, sizeof(status), sizeof(status), NULL,
                    deadline);
    if (rc < 0)
        return rc;
    if (status != 0)
        return fail(v, req_name(req), EIO,
                    "backend refused it (REPLY_ACK %llu)",
                    (unsigned long long)status);
    return 0;
}

/* A request with a u64 reply (GET_FEATURES and the like). */
static int get_u64(struct vhu *v, uint32_t req, uint64_t *val)
{
    int64_t deadline = deadline_in(v);
    int rc;

    rc = check_conn(v, req);
    if (rc < 0)
        return rc;
    rc = send_msg(v, req, 0, NULL, 0, NULL, 0, deadline);
    if (rc < 0)
        return rc;
    return recv_reply(v, req, val, sizeof(*val), sizeof(*val), NULL,
                      deadline);
}

void vhu_init(struct vhu *v)
{
    memset(v, 0, sizeof(*v));
    v->fd = -1;
    v->req_fd = -1;
    v->timeout_ms = DEFAULT_TIMEOUT;
}

static void nap(int64_t deadline)
{
    struct timespec ts = { 0, RETRY_NS };
    int64_t left = deadline - now_ms();

    if (left <= 0)
        return;
    if (left < RETRY_NS / 1000000)
        ts.tv_nsec = (long)left * 1000000;
    nanosleep(&ts, NULL);
}

/* connect(), retried while the socket is missing or not listening. */
static int open_socket(struct vhu *v, int64_t deadline)
{
    struct sockaddr_un sa;
    int fd, err, last = 0;
    int64_t start = now_ms();

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, v->path, strlen(v->path) + 1);
    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return fail(v, "connect", errno, "socket: %s", strerror(errno));
        /* a unix socket connects at once or not at all */
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            v->fd = fd;
            return 0;
        }
        err = errno;
        close(fd);
        if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN &&
            err != EINTR)
            return fail(v, "connect", err, "%s", strerror(err));
        if (err != EINTR)
            last = err;
        if (now_ms() >= deadline)
            break;
        nap(deadline);
    }
    if (!last)
        last = ETIMEDOUT;
    return fail(v, "connect", last, "%s (gave up after %lld ms)",
                strerror(last), (long long)(now_ms() - start));
}

/*
 * SET_BACKEND_REQ_FD: the backend gets one end of a new socketpair, this
 * side keeps the other as v->req_fd, non-blocking like the socket.  The
 * backend's end stays blocking, as backends that wait for an ack read
 * their end with a plain read (libvhost-user does).
 */
static int open_channel(struct vhu *v)
{
    int sv[2], err, rc;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return fail(v, "SET_BACKEND_REQ_FD", errno, "socketpair: %s",
                    strerror(errno));
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
        err = errno;
        close(sv[0]);
        close(sv[1]);
        return fail(v, "SET_BACKEND_REQ_FD", err, "fcntl O_NONBLOCK: %s",
                    strerror(err));
    }
    rc = request(v, REQ_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
    /* the backend holds its own copy now (or never will) */
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        return rc;
    }
    v->req_fd = sv[0];
    return 0;
}

static int handshake(struct vhu *v, const char *path);

int vhu_connect(struct vhu *v, const char *path, int timeout_ms)
{
    int rc, keep;

    if (v->fd >= 0)
        return fail(v, "connect", EISCONN, "already connected");
    v->features = 0;
    v->protocol_features = 0;
    v->max_queues = 0;
    v->path[0] = '\0';
    /* timeout_ms bounds the connection and its handshake only: later
     * requests keep the handle's own (a reconnect's short wait must not
     * become every later request's) */
    if (v->timeout_ms <= 0)
        v->timeout_ms = DEFAULT_TIMEOUT;
    keep = v->timeout_ms;
    if (timeout_ms > 0)
        v->timeout_ms = timeout_ms;
    rc = handshake(v, path);
    v->timeout_ms = keep;
    return rc;
}

static int handshake(struct vhu *v, const char *path)
{
    uint64_t pf, n;
    int rc;

    if (!path || !path[0])
        return fail(v, "connect", EINVAL, "no socket path");
    if (strlen(path) >= sizeof(v->path)) {
        snprintf(v->err, sizeof(v->err),
                 "connect: socket path too long (%zu bytes): %.100s...",
                 strlen(path), path);
        return -ENAMETOOLONG;
    }
    memcpy(v->path, path, strlen(path) + 1);
    rc = open_socket(v, deadline_in(v));
    if (rc < 0)
        return rc;

    rc = request(v, REQ_SET_OWNER, NULL, 0, NULL, 0);
    if (rc < 0)
        goto out;
    rc = get_u64(v, REQ_GET_FEATURES, &v->features);
    if (rc < 0)
        goto out;
    if (v->features & (1ull << VHU_F_PROTOCOL_FEATURES)) {
        rc = get_u64(v, REQ_GET_PROTOCOL_FEATURES, &pf);
        if (rc < 0)
            goto out;
        pf &= OUR_PROTOCOL_FEATURES;
        /* no ack asked: REPLY_ACK is not in force before this */
        rc = request(v, REQ_SET_PROTOCOL_FEATURES, &pf, sizeof(pf), NULL,
                     0);
        if (rc < 0)
            goto out;
        v->protocol_features = pf;
    }
    v->max_queues = 1;
    if (v->protocol_features & (1ull << VHU_PF_MQ)) {
        rc = get_u64(v, REQ_GET_QUEUE_NUM, &n);
        if (rc < 0)
            goto out;
        if (n == 0 || n > 0xffff) {
            rc = fail(v, "GET_QUEUE_NUM", EPROTO,
                      "backend serves %llu queues", (unsigned long long)n);
            goto out;
        }
        v->max_queues = (unsigned int)n;
    }
    if (v->protocol_features & (1ull << VHU_PF_BACKEND_REQ)) {
        /* a backend that offered the channel and then refuses it is
         * refused in turn, as QEMU does: it is not the backend it said */
        rc = open_channel(v);
        if (rc < 0)
            goto out;
    }
    return 0;

out:
    vhu_close(v);
    v->features = 0;
    v->protocol_features = 0;
    v->max_queues = 0;
    return rc;
}

int vhu_set_mem_table(struct vhu *v, const struct vhu_region *r,
                      unsigned int n)
{
    struct mem_table t;
    int fds[VHU_MAX_REGIONS];
    unsigned int i;

    if (n > VHU_MAX_REGIONS)
        return fail(v, "SET_MEM_TABLE", EINVAL, "%u regions (at most %d)",
                    n, VHU_MAX_REGIONS);
    memset(&t, 0, sizeof(t));
    t.nregions = n;
    for (i = 0; i < n; i++) {
        if (r[i].fd < 0 || r[i].size == 0 ||
            r[i].gpa + r[i].size < r[i].gpa)
            return fail(v, "SET_MEM_TABLE", EINVAL,
                        "region %u is not valid (fd %d, size %#llx)", i,
                        r[i].fd, (unsigned long long)r[i].size);
        t.regions[i].guest_phys_addr = r[i].gpa;
        t.regions[i].memory_size = r[i].size;
        t.regions[i].userspace_addr = r[i].hva;
        t.regions[i].mmap_offset = r[i].fd_offset;
        fds[i] = r[i].fd;
    }
    /* only the regions in use travel */
    return request(v, REQ_SET_MEM_TABLE, &t,
                   (uint32_t)(8 + n * sizeof(struct mem_region)), fds, n);
}

int vhu_set_features(struct vhu *v, uint64_t features)
{
    uint64_t extra;

    extra = features & ~v->features;
    if (extra && v->fd >= 0)
        return fail(v, "SET_FEATURES", EINVAL,
                    "features %#llx were not offered",
                    (unsigned long long)extra);
    features |= v->features & (1ull << VHU_F_PROTOCOL_FEATURES);
    return request(v, REQ_SET_FEATURES, &features, sizeof(features), NULL,
                   0);
}

int vhu_can_log(const struct vhu *v)
{
    return (v->features & (1ull << VHU_F_LOG_ALL)) &&
           (v->protocol_features & (1ull << VHU_PF_LOG_SHMFD));
}

int vhu_set_log_base(struct vhu *v, int fd, uint64_t size)
{
    struct {
        uint64_t size;
        uint64_t offset;
    } log = { size, 0 };
    int64_t deadline = deadline_in(v);
    uint64_t ack;
    int rc;

    rc = check_conn(v, REQ_SET_LOG_BASE);
    if (rc < 0)
        return rc;
    if (!vhu_can_log(v))
        return fail(v, "SET_LOG_BASE", ENOTSUP, "the backend does not "
                    "offer dirty logging (VHOST_F_LOG_ALL, LOG_SHMFD)");
    rc = send_msg(v, REQ_SET_LOG_BASE, 0, &log, sizeof(log), &fd, 1,
                  deadline);
    if (rc < 0)
        return rc;
    /* with LOG_SHMFD the backend answers once it has mapped the log */
    return recv_reply(v, REQ_SET_LOG_BASE, &ack, 0, sizeof(ack), NULL,
                      deadline);
}

int vhu_get_config(struct vhu *v, uint32_t offset, void *buf, uint32_t len)
{
    unsigned char msg[CONFIG_HDR_SIZE + CONFIG_MAX];
    uint32_t want[3], got[3], size;
    int64_t deadline;
    int rc;

    rc = check_conn(v, REQ_GET_CONFIG);
    if (rc < 0)
        return rc;
    if (!(v->protocol_features & (1ull << VHU_PF_CONFIG)))
        return fail(v, "GET_CONFIG", ENOTSUP,
                    "backend does not offer the CONFIG protocol feature");
    if (offset > CONFIG_MAX || len > CONFIG_MAX - offset)
        return fail(v, "GET_CONFIG", EINVAL,
                    "%u bytes at %u is past the %u-byte config space", len,
                    offset, CONFIG_MAX);
    if (len == 0)
        return 0;
    /*
     * Ask for the space from its start and take the slice wanted:
     * libvhost-user backends (qemu-storage-daemon) read the offset field
     * as 0 whatever it says, as QEMU only ever sends 0.
     */
    want[0] = 0;
    want[1] = offset + len;
    want[2] = 0;
    memset(msg, 0, sizeof(msg));
    memcpy(msg, want, sizeof(want));
    deadline = deadline_in(v);
    size = CONFIG_HDR_SIZE + want[1];
    rc = send_msg(v, REQ_GET_CONFIG, 0, msg, size, NULL, 0, deadline);
    if (rc < 0)
        return rc;
    rc = recv_reply(v, REQ_GET_CONFIG, msg, 0, sizeof(msg), &size,
                    deadline);
    if (rc < 0)
        return rc;
    if (size == 0)
        return fail(v, "GET_CONFIG", EIO,
                    "backend refused it (empty reply) for %u bytes",
                    want[1]);
    if (size != CONFIG_HDR_SIZE + want[1])
        return fail(v, "GET_CONFIG", EPROTO,
                    "reply of %u bytes, want %u", size,
                    CONFIG_HDR_SIZE + want[1]);
    memcpy(got, msg, sizeof(got));
    if (got[1] != want[1])
        return fail(v, "GET_CONFIG", EPROTO,
                    "reply holds %u bytes of config, want %u", got[1],
                    want[1]);
    memcpy(buf, msg + CONFIG_HDR_SIZE + offset, len);
    return 0;
}

/* SET_VRING_KICK or SET_VRING_CALL: fd -1 sends the no-fd flag. */
static int set_vring_fd(struct vhu *v, uint32_t req, unsigned int idx,
                        int fd)
{
    uint64_t val = idx;

    if (fd < 0)
        val |= VRING_NOFD;
    return request(v, req, &val, sizeof(val), &fd, fd < 0 ? 0 : 1);
}

static int set_vring_state(struct vhu *v, uint32_t req, unsigned int idx,
                           unsigned int num)
{
    struct vring_state s = { idx, num };

    return request(v, req, &s, sizeof(s), NULL, 0);
}

int vhu_queue_start(struct vhu *v, unsigned int idx, unsigned int num,
                    uint64_t desc_hva, uint64_t avail_hva,
                    uint64_t used_hva, int kick_fd, int call_fd)
{
    return vhu_queue_resume(v, idx, num, 0, desc_hva, avail_hva, used_hva,
                            kick_fd, call_fd);
}

int vhu_queue_resume(struct vhu *v, unsigned int idx, unsigned int num,
                     uint16_t base, uint64_t desc_hva, uint64_t avail_hva,
                     uint64_t used_hva, int kick_fd, int call_fd)
{
    struct vring_addr a;
    int rc;

    rc = check_conn(v, REQ_SET_VRING_NUM);
    if (rc < 0)
        return rc;
    /* no check against max_queues: a network backend counts pairs */
    if (idx > 0xff)
        return fail(v, "SET_VRING_NUM", EINVAL, "queue %u", idx);
    if (num == 0 || num > 32768 || (num & (num - 1)))
        return fail(v, "SET_VRING_NUM", EINVAL,
                    "queue %u: size %u is not a power of 2 up to 32768",
                    idx, num);
    rc = set_vring_state(v, REQ_SET_VRING_NUM, idx, num);
    if (rc < 0)
        return rc;
    rc = set_vring_state(v, REQ_SET_VRING_BASE, idx, base);
    if (rc < 0)
        return rc;
    memset(&a, 0, sizeof(a));
    a.index = idx;
    a.desc = desc_hva;
    a.used = used_hva;
    a.avail = avail_hva;
    rc = request(v, REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    if (rc < 0)
        return rc;
    rc = set_vring_fd(v, REQ_SET_VRING_KICK, idx, kick_fd);
    if (rc < 0)
        return rc;
    rc = set_vring_fd(v, REQ_SET_VRING_CALL, idx, call_fd);
    if (rc < 0)
        return rc;
    if (v->features & (1ull << VHU_F_PROTOCOL_FEATURES))
        rc = set_vring_state(v, REQ_SET_VRING_ENABLE, idx, 1);
    return rc;
}

int vhu_queue_stop(struct vhu *v, unsigned int idx, uint16_t *last_avail_r)
{
    struct vring_state s = { idx, 0 };
    int64_t deadline = deadline_in(v);
    int rc;

    rc = check_conn(v, REQ_GET_VRING_BASE);
    if (rc < 0)
        return rc;
    if (idx > 0xff)
        return fail(v, "GET_VRING_BASE", EINVAL, "queue %u", idx);
    rc = send_msg(v, REQ_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0,
                  deadline);
    if (rc < 0)
        return rc;
    rc = recv_reply(v, REQ_GET_VRING_BASE, &s, sizeof(s), sizeof(s), NULL,
                    deadline);
    if (rc < 0)
        return rc;
    if (s.index != idx)
        return fail(v, "GET_VRING_BASE", EPROTO,
                    "reply is for queue %u, not %u", s.index, idx);
    if (last_avail_r)
        *last_avail_r = (uint16_t)s.num;
    return 0;
}

/* As fail(), and the backend channel is closed: it is out of step (the
 * socket is not). */
static int channel_broken(struct vhu *v, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int channel_broken(struct vhu *v, int err, const char *fmt, ...)
{
    va_list ap;

    if (v->req_fd >= 0) {
        close(v->req_fd);
        v->req_fd = -1;
    }
    va_start(ap, fmt);
    vfail(v, "backend channel", err, fmt, ap);
    va_end(ap);
    return -err;
}

/*
 * Reads len bytes of a backend request, part naming which; first: these
 * are its first bytes, so an empty channel is -EAGAIN and a hang-up is
 * the channel's end rather than a message cut short.
 */
static int channel_read(struct vhu *v, void *buf, size_t len,
                        int64_t deadline, int first, const char *part)
{
    size_t got;
    int rc;

    rc = read_full(v->req_fd, buf, len, deadline, first, &got);
    if (rc == 0 || rc == -EAGAIN)
        return rc;
    if ((rc == -EPIPE || rc == -ECONNRESET) && first && got == 0)
        return channel_broken(v, EPIPE, "backend hung up (%s)",
                              rc == -EPIPE ? "end of file"
                                           : strerror(-rc));
    if (rc == -EPIPE || rc == -ECONNRESET)
        return channel_broken(v, EPROTO, "message cut short: backend hung "
                              "up after %zu of the %zu bytes of its %s",
                              got, len, part);
    if (rc == -ETIMEDOUT)
        return channel_broken(v, ETIMEDOUT, "message cut short: %zu of "
                              "the %zu bytes of its %s came, then nothing "
                              "for %d ms", got, len, part, waited_ms(v));
    return channel_broken(v, -rc, "recv: %s", strerror(-rc));
}

int vhu_backend_message(struct vhu *v, uint32_t *req_r)
{
    unsigned char payload[BACKEND_MAX_PAYLOAD];
    unsigned char reply[sizeof(struct msg_hdr) + sizeof(uint64_t)];
    struct msg_hdr hdr, ack;
    uint64_t status;
    int64_t deadline;
    int rc;

    if (req_r)
        *req_r = 0;
    if (v->req_fd < 0)
        return fail(v, "backend channel", ENOTCONN, "none is open");
    deadline = deadline_in(v);
    rc = channel_read(v, &hdr, sizeof(hdr), deadline, 1, "header");
    if (rc == -EAGAIN)
        return fail(v, "backend channel", EAGAIN, "no message waiting");
    if (rc < 0)
        return rc;
    /* nothing of a bad header is trusted, its size least: the channel
     * cannot be read in step after it */
    if ((hdr.flags & HDR_VERSION_MASK) != HDR_VERSION)
        return channel_broken(v, EPROTO, "message of version %u (flags "
                              "%#x, request %u), not 1",
                              hdr.flags & HDR_VERSION_MASK, hdr.flags,
                              hdr.request);
    if (hdr.flags & HDR_REPLY)
        return channel_broken(v, EPROTO, "a reply (flags %#x, request "
                              "%u) where only requests come", hdr.flags,
                              hdr.request);
    if (hdr.request == 0 || hdr.request > INT_MAX)
        return channel_broken(v, EPROTO, "request %u is none the "
                              "protocol has", hdr.request);
    if (hdr.size > BACKEND_MAX_PAYLOAD)
        return channel_broken(v, EPROTO, "request %u (%s) of %u bytes is "
                              "too long (at most %u)", hdr.request,
                              backend_req_name(hdr.request), hdr.size,
                              BACKEND_MAX_PAYLOAD);
    if (hdr.size) {
        rc = channel_read(v, payload, hdr.size, deadline, 0, "payload");
        if (rc < 0)
            return rc;
    }
    /*
     * The ack goes before the caller acts (GET_CONFIG on the socket): a
     * backend that asked for it waits for it and answers nothing else
     * meanwhile.  need-reply means nothing without REPLY_ACK.
     */
    if ((hdr.flags & HDR_NEED_REPLY) &&
        (v->protocol_features & (1ull << VHU_PF_REPLY_ACK))) {
        status = hdr.request == VHU_BACKEND_CONFIG_CHANGE_MSG &&
                 (v->protocol_features & (1ull << VHU_PF_CONFIG)) ? 0 : 1;
        ack.request = hdr.request;
        ack.flags = HDR_VERSION | HDR_REPLY;
        ack.size = sizeof(status);
        memcpy(reply, &ack, sizeof(ack));
        memcpy(reply + sizeof(ack), &status, sizeof(status));
        rc = write_full(v->req_fd, reply, sizeof(reply), NULL, 0, deadline);
        if (rc == -ETIMEDOUT)
            return channel_broken(v, ETIMEDOUT, "backend took no ack of "
                                  "request %u (%s) for %d ms",
                                  hdr.request,
                                  backend_req_name(hdr.request),
                                  waited_ms(v));
        if (rc == -EPIPE || rc == -ECONNRESET)
            return channel_broken(v, EPIPE, "backend hung up before the "
                                  "ack of request %u (%s) (send: %s)",
                                  hdr.request,
                                  backend_req_name(hdr.request),
                                  strerror(-rc));
        if (rc < 0)
            return channel_broken(v, -rc, "acking request %u (%s): send: "
                                  "%s", hdr.request,
                                  backend_req_name(hdr.request),
                                  strerror(-rc));
    }
    if (req_r)
        *req_r = hdr.request;
    return (int)hdr.request;
}

void vhu_close(struct vhu *v)
{
    if (v->fd >= 0)
        close(v->fd);
    v->fd = -1;
    if (v->req_fd >= 0)
        close(v->req_fd);
    v->req_fd = -1;
}
