/*
 * xc_private.h - libxenctrl internals (never installed).
 */
#ifndef XC_PRIVATE_H
#define XC_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "xenctrl.h"

struct xc_interface_core {
    int fd;
    uint32_t seq;
    xentoollog_logger *logger;
    xentoollog_logger *dombuild_logger;
};

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
