/*
 * corewatch.c: the core's domain state notifications, through libxenctrl.
 */
#include "corewatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xenctrl.h"

struct corewatch {
    xentoollog_logger logger;   /* first: the library gets &cw->logger */
    xc_interface *xch;
    xc_evwatch *ev;
    bool failed_logged;         /* the last failure to connect was logged */
};

/* The library's messages go to the daemon's log, as debug lines: the
 * daemon logs what matters itself. */
static void __attribute__((format(printf, 5, 0)))
xc_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
            const char *context, const char *format, va_list al)
{
    char msg[512];

    (void)lg;
    if (!log_enabled(LOG_LVL_DEBUG))
        return;
    vsnprintf(msg, sizeof(msg), format, al);
    log_msg(LOG_LVL_DEBUG, "%s: %s: %s%s%s", context ? context : "xc",
            xtl_level_to_string(level), msg, errnoval >= 0 ? ": " : "",
            errnoval >= 0 ? strerror(errnoval) : "");
}

static void xc_logger_destroy(xentoollog_logger *lg)
{
    (void)lg;
}

struct corewatch *corewatch_new(void)
{
    struct corewatch *cw = calloc(1, sizeof(*cw));

    if (!cw)
        return NULL;
    cw->logger.vmessage = xc_vmessage;
    cw->logger.destroy = xc_logger_destroy;
    return cw;
}

void corewatch_disconnect(struct corewatch *cw)
{
    if (cw->ev)
        xc_evwatch_close(cw->ev);
    cw->ev = NULL;
    if (cw->xch)
        xc_interface_close(cw->xch);
    cw->xch = NULL;
}

void corewatch_free(struct corewatch *cw)
{
    if (!cw)
        return;
    corewatch_disconnect(cw);
    free(cw);
}

int corewatch_connect(struct corewatch *cw, bool *fresh_r)
{
    int rc;

    *fresh_r = false;
    if (cw->ev)
        return 0;
    cw->xch = xc_interface_open(&cw->logger, NULL, 0);
    if (!cw->xch) {
        rc = errno ? -errno : -EIO;
        goto fail;
    }
    cw->ev = xc_evwatch_open(cw->xch);
    if (!cw->ev) {
        rc = errno ? -errno : -EIO;
        xc_interface_close(cw->xch);
        cw->xch = NULL;
        goto fail;
    }
    log_msg(LOG_LVL_INFO, "connected to the hypervisor core (%s): watching "
            "introduced domains", xc_core_socket_path());
    cw->failed_logged = false;
    *fresh_r = true;
    return 0;

fail:
    if (!cw->failed_logged)
        log_msg(LOG_LVL_WARN, "cannot reach the hypervisor core at %s: %s; "
                "domains that stop will not be noticed (@releaseDomain) "
                "until it can be reached (tried again at each INTRODUCE)",
                xc_core_socket_path(), strerror(-rc));
    cw->failed_logged = true;
    return rc;
}

int corewatch_fd(const struct corewatch *cw)
{
    return cw->ev ? xc_evwatch_fd(cw->ev) : -1;
}

int corewatch_drain(struct corewatch *cw)
{
    struct xc_domain_event ev;
    int changed = 0, rc;

    if (!cw->ev)
        return 0;
    while ((rc = xc_evwatch_read(cw->ev, &ev)) == 1) {
        if (ev.type == XC_EVENT_SHUTDOWN || ev.type == XC_EVENT_DESTROYED)
            changed = 1;
    }
    if (rc < 0) {
        /* Events may have been lost: the caller checks every domain at
         * the next connection. */
        log_msg(LOG_LVL_WARN, "the hypervisor core's notifications ended: "
                "%s (connecting again at the next INTRODUCE)",
                strerror(-rc));
        cw->failed_logged = false;
        return rc;
    }
    return changed;
}

enum engine_domain_state corewatch_state(struct corewatch *cw,
                                         unsigned int domid)
{
    xc_dominfo_t info;
    int rc;

    if (!cw->xch)
        return ENGINE_DOMAIN_RUNNING;
    rc = xc_domain_getinfo_single(cw->xch, domid, &info);
    if (rc == -ESRCH)
        return ENGINE_DOMAIN_GONE;
    if (rc < 0) {
        log_msg(LOG_LVL_WARN, "asking the hypervisor core about domain %u: "
                "%s", domid, strerror(-rc));
        return ENGINE_DOMAIN_RUNNING;
    }
    if (info.dying)
        return ENGINE_DOMAIN_DYING;
    if (info.shutdown || info.crashed)
        return ENGINE_DOMAIN_SHUTDOWN;
    return ENGINE_DOMAIN_RUNNING;
}
