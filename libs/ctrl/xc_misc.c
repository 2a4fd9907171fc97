/*
 * xc_misc.c - host information, version, consoles and the core's log.
 */
#include "xenctrl.h"

#include <errno.h>
#include <string.h>

#include "xc_private.h"

XC_API
int xc_physinfo(xc_interface *xch, xc_physinfo_t *info)
{
    size_t n;
    int rc;

    rc = xc__call(xch, PROTO_OP_PHYSINFO, 0, NULL, 0, info, sizeof(*info),
                  &n, NULL);
    if (rc < 0)
        return xc__fail(xch, rc, DOMID_INVALID, "physinfo");
    if (n != sizeof(*info))
        return xc__fail(xch, -EPROTO, DOMID_INVALID, "physinfo");
    return 0;
}

static size_t version_size(int cmd)
{
    switch (cmd) {
    case XENVER_extraversion:
        return 16;
    case XENVER_compile_info:
        return sizeof(xen_compile_info_t);
    case XENVER_capabilities:
    case XENVER_commandline:
        return 1024;
    case XENVER_changeset:
        return 64;
    }
    return 0;
}

XC_API
int xc_version(xc_interface *xch, int cmd, void *arg)
{
    uint32_t c = (uint32_t)cmd;
    size_t want = version_size(cmd);
    int rc;

    if (want && !arg) {
        errno = EINVAL;
        return xc__fail(xch, -EINVAL, DOMID_INVALID, "version");
    }
    rc = xc__call(xch, PROTO_OP_VERSION, 0, &c, sizeof(c), arg, want,
                  NULL, NULL);
    if (rc < 0)
        return xc__fail(xch, rc, DOMID_INVALID, "version");
    return rc;
}

XC_API
int xc_console_info(xc_interface *xch, uint32_t domid,
                    struct xc_console_info *info)
{
    size_t n;
    int rc;

    rc = xc__call(xch, PROTO_OP_CONSOLE_INFO, domid, NULL, 0, info,
                  sizeof(*info), &n, NULL);
    if (rc < 0)
        return xc__fail(xch, rc, domid, "console info");
    if (n != sizeof(*info))
        return xc__fail(xch, -EPROTO, domid, "console info");
    return 0;
}

XC_API
int xc_console_read_ring(xc_interface *xch, uint32_t domid, char *buf,
                         size_t *len)
{
    uint32_t max = (uint32_t)(*len > 65536 ? 65536 : *len);
    size_t n;
    int rc;

    rc = xc__call(xch, PROTO_OP_CONSOLE_READ, domid, &max, sizeof(max),
                  buf, *len, &n, NULL);
    if (rc < 0) {
        *len = 0;
        return xc__fail(xch, rc, domid, "console read");
    }
    *len = n;
    return 0;
}

XC_API
int xc_console_wait(xc_interface *xch, uint32_t domid, uint64_t seen,
                    int timeout_ms, struct xc_console_status *status)
{
    struct xc_console_status st;
    size_t n;
    int rc;

    rc = xc__call_timed(xch, PROTO_OP_CONSOLE_WAIT, domid, &seen,
                        sizeof(seen), &st, sizeof(st), &n, timeout_ms);
    if (rc == -ETIMEDOUT || rc == -ESRCH) {
        errno = -rc;
        return rc;                       /* answers, not failures */
    }
    if (rc < 0)
        return xc__fail(xch, rc, domid, "console wait");
    if (n != sizeof(st))
        return xc__fail(xch, -EPROTO, domid, "console wait");
    if (status)
        *status = st;
    return 0;
}

XC_API
int xc_console_write(xc_interface *xch, uint32_t domid, const char *buf,
                     size_t len)
{
    int rc;

    if (len > 4096)
        len = 4096;
    rc = xc__call(xch, PROTO_OP_CONSOLE_WRITE, domid, buf, len, NULL, 0,
                  NULL, NULL);
    if (rc < 0)
        return xc__fail(xch, rc, domid, "console write");
    return rc;
}

XC_API
int xc_readconsolering(xc_interface *xch, char *buffer,
                       unsigned int *pnr_chars, int clear, int incremental,
                       uint32_t *pindex)
{
    struct proto_logread lr;
    char reply[PROTO_MAX_MSG];
    size_t n;
    uint32_t index;
    int rc;

    memset(&lr, 0, sizeof(lr));
    lr.max = *pnr_chars;
    lr.clear = clear ? 1 : 0;
    lr.incremental = incremental ? 1 : 0;
    lr.index = pindex ? *pindex : 0;
    rc = xc__call(xch, PROTO_OP_LOG_READ, 0, &lr, sizeof(lr), reply,
                  sizeof(reply), &n, NULL);
    if (rc < 0)
        return xc__fail(xch, rc, DOMID_INVALID, "read the core's log");
    if (n < 4 || n - 4 != (size_t)rc || (unsigned int)rc > *pnr_chars)
        return xc__fail(xch, -EPROTO, DOMID_INVALID, "read the core's log");
    memcpy(&index, reply, 4);
    memcpy(buffer, reply + 4, (size_t)rc);
    *pnr_chars = (unsigned int)rc;
    if (pindex)
        *pindex = index;
    return 0;
}
