/*
 * xc_core.c - connection to xenolithd and the request/reply exchange.
 */
#include "xenctrl.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "xc_private.h"

XC_API
const char *xc_core_socket_path(void)
{
    static char path[108];
    const char *env = getenv("XENOLITH_CORE_SOCKET");
    const char *dir;

    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
        return path;
    }
    dir = getenv("XENOLITH_RUNDIR");
    if (!dir || !*dir)
        dir = XENOLITH_DEFAULT_RUNDIR;
    snprintf(path, sizeof(path), "%s/core.sock", dir);
    return path;
}

void xc__log(xc_interface *xch, xentoollog_level level, int errnoval,
             const char *fmt, ...)
{
    va_list ap;

    if (!xch || !xch->logger)
        return;
    va_start(ap, fmt);
    xtl_logv(xch->logger, level, errnoval, "xc", fmt, ap);
    va_end(ap);
}

int xc__fail(xc_interface *xch, int rc, uint32_t domid, const char *what)
{
    if (domid == DOMID_INVALID)
        xc__log(xch, XTL_ERROR, -rc, "%s failed", what);
    else
        xc__log(xch, XTL_ERROR, -rc, "%s: domain %u failed", what, domid);
    errno = -rc;
    return rc;
}

/* Wait up to *left_ms (< 0: forever) for fd to be readable, counting
 * the time off; 0, -ETIMEDOUT or -errno. */
static int wait_readable(int fd, int *left_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    struct timespec a, b;
    int r, spent;

    if (*left_ms < 0)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do {
        r = poll(&pfd, 1, *left_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return -ETIMEDOUT;
    clock_gettime(CLOCK_MONOTONIC, &b);
    spent = (int)((b.tv_sec - a.tv_sec) * 1000 +
                  (b.tv_nsec - a.tv_nsec) / 1000000);
    *left_ms = spent < *left_ms ? *left_ms - spent : 0;
    return 0;
}

static int exchange(int fd, uint32_t seq, uint32_t op, uint32_t domid,
                    const void *req, size_t req_len, void *resp,
                    size_t resp_cap, size_t *got_r, int *fd_r,
                    int timeout_ms, int *sent_r)
{
    struct proto_hdr hdr;
    int n, passed = -1;

    *sent_r = 0;
    if (got_r)
        *got_r = 0;
    if (fd_r)
        *fd_r = -1;
    memset(&hdr, 0, sizeof(hdr));
    hdr.op = op;
    hdr.seq = seq;
    hdr.domid = domid;
    n = proto_send(fd, &hdr, req, req_len, -1, 0);
    if (n < 0) {
        errno = -n;
        return n;
    }
    *sent_r = 1;

    for (;;) {
        int w = wait_readable(fd, &timeout_ms);

        if (w < 0) {
            errno = -w;
            return w;
        }
        n = proto_recv(fd, &hdr, resp, resp_cap, &passed, 0);
        if (n == -EMSGSIZE && (hdr.seq != seq || hdr.op != op))
            continue;            /* a stale reply, too long for resp */
        if (n == -EMSGSIZE)
            n = -EPROTO;
        if (n < 0) {
            errno = -n;
            return n;
        }
        if (hdr.seq == seq && hdr.op == op)
            break;
        if (passed >= 0)                 /* a stale reply: skip it */
            close(passed);
        passed = -1;
    }
    if (got_r)
        *got_r = (size_t)n;
    if (fd_r)
        *fd_r = passed;
    else if (passed >= 0)
        close(passed);
    if (hdr.rc < 0)
        errno = -hdr.rc;
    return hdr.rc;
}

int xc__call_fd(int fd, uint32_t seq, uint32_t op, uint32_t domid,
                const void *req, size_t req_len, void *resp,
                size_t resp_cap, size_t *got_r, int *fd_r)
{
    int sent;

    return exchange(fd, seq, op, domid, req, req_len, resp, resp_cap,
                    got_r, fd_r, -1, &sent);
}

static int call(xc_interface *xch, uint32_t op, uint32_t domid,
                const void *req, size_t req_len, void *resp,
                size_t resp_cap, size_t *got_r, int *fd_r, int timeout_ms)
{
    int rc, sent, tries;

    /* A connection the daemon dropped (it restarted under us) is made
     * again: the request is sent once more only if it never left. */
    for (tries = 0; tries < 2; tries++) {
        if (xch->fd < 0) {
            xch->fd = xc__connect(xch->logger);
            if (xch->fd < 0) {
                errno = -xch->fd;
                rc = xch->fd;
                xch->fd = -1;
                return rc;
            }
        }
        rc = exchange(xch->fd, ++xch->seq, op, domid, req, req_len, resp,
                      resp_cap, got_r, fd_r, timeout_ms, &sent);
        if (rc != -EPIPE && rc != -ECONNRESET && rc != -EPROTO)
            return rc;
        close(xch->fd);
        xch->fd = -1;
        if (sent)
            break;
    }
    xc__log(xch, XTL_ERROR, -rc, "lost the connection to xenolithd");
    errno = -rc;
    return rc;
}

int xc__call(xc_interface *xch, uint32_t op, uint32_t domid,
             const void *req, size_t req_len, void *resp, size_t resp_cap,
             size_t *got_r, int *fd_r)
{
    return call(xch, op, domid, req, req_len, resp, resp_cap, got_r, fd_r,
                -1);
}

int xc__call_timed(xc_interface *xch, uint32_t op, uint32_t domid,
                   const void *req, size_t req_len, void *resp,
                   size_t resp_cap, size_t *got_r, int timeout_ms)
{
    return call(xch, op, domid, req, req_len, resp, resp_cap, got_r, NULL,
                timeout_ms);
}

int xc__connect(xentoollog_logger *lg)
{
    struct sockaddr_un sa;
    const char *path = xc_core_socket_path();
    uint32_t v = PROTO_VERSION, theirs = 0;
    int fd, rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        xtl_log(lg, XTL_ERROR, errno, "xc", "socket: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        xtl_log(lg, XTL_ERROR, errno, "xc",
                "cannot connect to xenolithd at %s (is it running?)",
                path);
        goto out;
    }
    rc = xc__call_fd(fd, 1, PROTO_OP_HELLO, 0, &v, sizeof(v), &theirs,
                     sizeof(theirs), NULL, NULL);
    if (rc == -EACCES) {
        xtl_log(lg, XTL_ERROR, EACCES, "xc",
                "xenolithd at %s refuses us: only root and members of "
                "group xenolith may control domains", path);
        goto out;
    }
    if (rc == -EPROTO) {
        xtl_log(lg, XTL_ERROR, EPROTO, "xc",
                "xenolithd at %s speaks protocol %u, we speak %u", path,
                theirs, v);
        goto out;
    }
    if (rc < 0) {
        xtl_log(lg, XTL_ERROR, -rc, "xc", "handshake with %s failed", path);
        goto out;
    }
    rc = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        errno = -rc;
    return rc;
}

XC_API
xc_interface *xc_interface_open(xentoollog_logger *logger,
                                xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    xc_interface *xch;
    int fd, err;

    (void)open_flags;
    xch = calloc(1, sizeof(*xch));
    if (!xch) {
        xtl_log(logger, XTL_CRITICAL, ENOMEM, "xc", "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    fd = xc__connect(logger);
    if (fd < 0) {
        err = errno;
        free(xch);
        errno = err;
        return NULL;
    }
    xch->fd = fd;
    xch->cache.fd = -1;
    xch->logger = logger;
    xch->dombuild_logger = dombuild_logger ? dombuild_logger : logger;
    return xch;
}

XC_API
int xc_interface_close(xc_interface *xch)
{
    if (!xch)
        return 0;
    xc__cache_drop(xch, DOMID_INVALID);
    if (xch->fd >= 0)
        close(xch->fd);
    free(xch);
    return 0;
}

void xc__cache_drop(xc_interface *xch, uint32_t domid)
{
    if (xch->cache.fd < 0 ||
        (domid != DOMID_INVALID && domid != xch->cache.domid))
        return;
    close(xch->cache.fd);
    xch->cache.fd = -1;
}

XC_API
xentoollog_logger *xc_interface_logger(xc_interface *xch)
{
    return xch->logger;
}

XC_API
xentoollog_logger *xc_interface_dombuild_logger(xc_interface *xch)
{
    return xch->dombuild_logger;
}
