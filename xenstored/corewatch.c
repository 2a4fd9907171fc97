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

int corewatch_drain(struct corewatch *cw,
                    void (*note)(void *opaque, unsigned int domid),
                    void *opaque)
{
    struct xc_domain_event ev;
    int changed = 0, rc;

    if (!cw->ev)
        return 0;
    while ((rc = xc_evwatch_read(cw->ev, &ev)) == 1) {
        if (ev.type == XC_EVENT_SHUTDOWN || ev.type == XC_EVENT_DESTROYED) {
            note(opaque, ev.domid);
            changed = 1;
        }
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

static enum engine_domain_state state_of(const xc_dominfo_t *x)
{
    if (x->dying)
        return ENGINE_DOMAIN_DYING;
    if (x->shutdown || x->crashed)
        return ENGINE_DOMAIN_SHUTDOWN;
    return ENGINE_DOMAIN_RUNNING;
}

static int by_domid(const void *a, const void *b)
{
    const struct engine_domain_info *x = a, *y = b;

    return (x->domid > y->domid) - (x->domid < y->domid);
}

/* Domains come from the core in id order, a batch per round trip. */
#define COREWATCH_BATCH 1024
/* Up to this many domains are asked about one by one. */
#define COREWATCH_FEW 16

static enum engine_domain_state state_one(struct corewatch *cw,
                                          unsigned int domid)
{
    xc_dominfo_t x;
    int rc = xc_domain_getinfo_single(cw->xch, domid, &x);

    if (rc == -ESRCH)
        return ENGINE_DOMAIN_GONE;
    if (rc < 0) {
        log_msg(LOG_LVL_WARN, "asking the hypervisor core about domain %u: "
                "%s", domid, strerror(-rc));
        return ENGINE_DOMAIN_RUNNING;
    }
    return state_of(&x);
}

void corewatch_states(struct corewatch *cw, struct engine_domain_info *info,
                      size_t n)
{
    xc_dominfo_t *batch = NULL;
    uint32_t next = 0;
    size_t i;
    int got, k;

    for (i = 0; i < n; i++)
        info[i].state = ENGINE_DOMAIN_RUNNING;
    if (!cw->xch || !n)
        return;
    if (n <= COREWATCH_FEW) {
        for (i = 0; i < n; i++)
            info[i].state = state_one(cw, info[i].domid);
        return;
    }
    batch = calloc(COREWATCH_BATCH, sizeof(*batch));
    if (!batch) {
        log_msg(LOG_LVL_WARN, "no memory to list the core's domains");
        return;
    }
    /* Whatever the listing does not name is gone. */
    qsort(info, n, sizeof(*info), by_domid);
    for (i = 0; i < n; i++)
        info[i].state = ENGINE_DOMAIN_GONE;
    i = 0;
    do {
        got = xc_domain_getinfolist(cw->xch, next, COREWATCH_BATCH, batch);
        if (got < 0) {
            log_msg(LOG_LVL_WARN, "listing the hypervisor core's domains: "
                    "%s", strerror(-got));
            for (i = 0; i < n; i++)
                info[i].state = ENGINE_DOMAIN_RUNNING;
            goto out;
        }
        for (k = 0; k < got; k++) {
            while (i < n && info[i].domid < batch[k].domid)
                i++;
            if (i < n && info[i].domid == batch[k].domid)
                info[i].state = state_of(&batch[k]);
        }
        if (got > 0)
            next = batch[got - 1].domid + 1;
    } while (got == COREWATCH_BATCH);
out:
    free(batch);
}
