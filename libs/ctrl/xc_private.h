/*
 * xc_private.h - libxenctrl internals (never installed).
 */
#ifndef XC_PRIVATE_H
#define XC_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "proto_io.h"
#include "xenctrl.h"

/* Marks the definitions of public functions: the library is built with
 * -fvisibility=hidden, and libxenctrl.map names what it exports. */
#define XC_API __attribute__((visibility("default")))

/*
 * The memory of the domain this interface created last, from the
 * create's reply: the builder maps it and reads its platform info
 * without asking the daemon again.  Kept from xc_domain_create() until
 * this interface unpauses or destroys that domain, creates another, or
 * closes; fd is -1 when empty.
 */
struct xc__memcache {
    uint32_t domid;
    int fd;
    struct proto_memory mem;
    struct xc_platform_info plat;
};

struct xc_interface_core {
    int fd;
    uint32_t seq;
    xentoollog_logger *logger;
    xentoollog_logger *dombuild_logger;
    struct xc__memcache cache;
};

/* Forget the cached memory of domid (any domain: DOMID_INVALID). */
void xc__cache_drop(xc_interface *xch, uint32_t domid);

/* Open a connection to the core and say HELLO.  Returns the fd or
 * -errno (logged through lg). */
int xc__connect(xentoollog_logger *lg);

/*
 * One request/reply on xch.  resp gets at most resp_cap payload bytes,
 * *got_r (may be NULL) the count; fd_r (may be NULL) a passed
 * descriptor or -1.  Returns the reply's rc (>= 0) or -errno, with errno
 * set.  Transport failures are logged; the caller logs refusals.
 */
int xc__call(xc_interface *xch, uint32_t op, uint32_t domid,
             const void *req, size_t req_len, void *resp, size_t resp_cap,
             size_t *got_r, int *fd_r);

/* Same, giving up after timeout_ms (< 0: never) with -ETIMEDOUT; the
 * late reply is skipped by the next call (its seq is old). */
int xc__call_timed(xc_interface *xch, uint32_t op, uint32_t domid,
                   const void *req, size_t req_len, void *resp,
                   size_t resp_cap, size_t *got_r, int timeout_ms);

/* Same on a raw fd (used before an interface exists). */
int xc__call_fd(int fd, uint32_t seq, uint32_t op, uint32_t domid,
                const void *req, size_t req_len, void *resp,
                size_t resp_cap, size_t *got_r, int *fd_r);

void xc__log(xc_interface *xch, xentoollog_level level, int errnoval,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Log a failed call "what: domain N: reason" at ERROR and return rc
 * with errno set. */
int xc__fail(xc_interface *xch, int rc, uint32_t domid, const char *what);

#endif /* XC_PRIVATE_H */
