/*
 * libxl_event.c - the event queue, domain death reporting on the core's
 * state-change stream (xc_evwatch), and the poll integration.
 *
 * One xc_evwatch per context, opened when the first death reporter is
 * enabled.  Its fd is what the application polls (beforepoll/afterpoll,
 * or the fd_register hook); every readable edge drains it and turns
 * SHUTDOWN / DESTROYED records into DOMAIN_SHUTDOWN / DOMAIN_DEATH
 * events for the reporters watching that domain.
 */
#include "libxl.h"

#include "libxl_internal.h"

libxl_event *libxl__event_new(uint32_t domid, libxl_ev_user user,
                              libxl_event_type type)
{
    libxl_event *ev = libxl__calloc_or_die(1, sizeof(*ev));

    libxl_event_init(ev);
    libxl_event_init_type(ev, type);
    ev->domid = domid;
    ev->for_user = user;
    return ev;
}

void libxl__event_occurred(libxl_ctx *ctx, libxl_event *ev)
{
    const libxl_event_hooks *hooks = ctx->event_hooks;
    struct libxl__event_entry *e;

    if (hooks && hooks->event_occurs &&
        (hooks->event_occurs_mask & (1ULL << ev->type))) {
        hooks->event_occurs(ctx->event_hooks_user, ev);
        return;
    }
    e = libxl__calloc_or_die(1, sizeof(*e));
    e->ev = ev;
    libxl__lock(ctx);
    *ctx->occurred_tail = e;
    ctx->occurred_tail = &e->next;
    libxl__unlock(ctx);
}

void libxl_event_free(libxl_ctx *ctx, libxl_event *event)
{
    (void)ctx;
    if (!event)
        return;
    libxl_event_dispose(event);
    free(event);
}

void libxl_event_register_callbacks(libxl_ctx *ctx,
                                    const libxl_event_hooks *hooks,
                                    void *user)
{
    libxl__lock(ctx);
    ctx->event_hooks = hooks;
    ctx->event_hooks_user = user;
    libxl__unlock(ctx);
}

/* Takes the first queued event that matches; NULL if none. */
static libxl_event *take_event(libxl_ctx *ctx, uint64_t typemask,
                               libxl_event_predicate *pred, void *user)
{
    struct libxl__event_entry **pp, *e;
    libxl_event *ev = NULL;

    libxl__lock(ctx);
    for (pp = &ctx->occurred; *pp; pp = &(*pp)->next) {
        e = *pp;
        if (!(typemask & (1ULL << e->ev->type)))
            continue;
        if (pred && !pred(e->ev, user))
            continue;
        ev = e->ev;
        *pp = e->next;
        if (!*pp)
            ctx->occurred_tail = pp;
        free(e);
        break;
    }
    libxl__unlock(ctx);
    return ev;
}

/* ------------------------------------------------------------ deaths */

static void report(libxl_ctx *ctx, libxl_evgen_domain_death *evg,
                   libxl_event_type type, unsigned int reason)
{
    libxl_event *ev = libxl__event_new(evg->domid, evg->user, type);

    if (type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN) {
        evg->shutdown_reported = true;
        ev->u.domain_shutdown.shutdown_reason = (uint8_t)reason;
    } else {
        evg->death_reported = true;
    }
    LOG(ctx, DEBUG, "domain %u: %s%s", evg->domid,
        libxl_event_type_to_string(type),
        type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN ?
        libxl_shutdown_reason_to_string(reason) : "");
    libxl__event_occurred(ctx, ev);
}

/* Reports what the domain's present state says for one reporter. */
static void check_domain(libxl_ctx *ctx, libxl_evgen_domain_death *evg)
{
    xc_dominfo_t info;
    int r;

    r = xc_domain_getinfo_single(ctx->xch, evg->domid, &info);
    if (r == -ESRCH) {
        if (!evg->death_reported)
            report(ctx, evg, LIBXL_EVENT_TYPE_DOMAIN_DEATH, 0);
        return;
    }
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: reading its state", evg->domid);
        return;
    }
    if (info.shutdown && !evg->shutdown_reported)
        report(ctx, evg, LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN,
               info.shutdown_reason);
}

int libxl__evwatch_drain(libxl_ctx *ctx)
{
    struct xc_domain_event ce;
    libxl_evgen_domain_death *evg;
    int r, lost = 0;

    libxl__lock(ctx);
    if (!ctx->evw) {
        libxl__unlock(ctx);
        return 0;
    }
    for (;;) {
        r = xc_evwatch_read(ctx->evw, &ce);
        if (r == 0)
            break;
        if (r < 0) {
            /* The stream broke (the core went away or we lagged): look
             * at every watched domain instead. */
            LOGEV(ctx, ERROR, -r, "reading the core's domain events");
            lost = 1;
            break;
        }
        for (evg = ctx->deaths; evg; evg = evg->next) {
            if (evg->domid != ce.domid)
                continue;
            if (ce.type == XC_EVENT_SHUTDOWN && !evg->shutdown_reported)
                report(ctx, evg, LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN,
                       ce.shutdown_reason);
            else if (ce.type == XC_EVENT_DESTROYED && !evg->death_reported)
                report(ctx, evg, LIBXL_EVENT_TYPE_DOMAIN_DEATH, 0);
        }
    }
    if (lost) {
        if (ctx->evw_registered && ctx->osevent_hooks &&
            ctx->osevent_hooks->fd_deregister)
            ctx->osevent_hooks->fd_deregister(ctx->osevent_user,
                                              xc_evwatch_fd(ctx->evw),
                                              ctx->evw_reg);
        ctx->evw_registered = false;
        xc_evwatch_close(ctx->evw);
        ctx->evw = NULL;
        for (evg = ctx->deaths; evg; evg = evg->next)
            check_domain(ctx, evg);
    }
    libxl__unlock(ctx);
    return lost ? ERROR_FAIL : 0;
}

/* Opens the state-change stream (and registers its fd) if needed. */
static int evwatch_open(libxl_ctx *ctx)
{
    int rc;

    if (ctx->evw)
        return 0;
    ctx->evw = xc_evwatch_open(ctx->xch);
    if (!ctx->evw) {
        LOGE(ctx, ERROR, "subscribing to the core's domain events");
        return ERROR_FAIL;
    }
    if (ctx->osevent_hooks && ctx->osevent_hooks->fd_register) {
        rc = ctx->osevent_hooks->fd_register(ctx->osevent_user,
                                             xc_evwatch_fd(ctx->evw),
                                             &ctx->evw_reg, POLLIN,
                                             &ctx->evw_for_libxl);
        if (rc) {
            LOG(ctx, ERROR, "the application refused to watch fd %d",
                xc_evwatch_fd(ctx->evw));
            xc_evwatch_close(ctx->evw);
            ctx->evw = NULL;
            return ERROR_OSEVENT_REG_FAIL;
        }
        ctx->evw_registered = true;
    }
    return 0;
}

int libxl_evenable_domain_death(libxl_ctx *ctx, uint32_t domid,
                                libxl_ev_user user,
                                libxl_evgen_domain_death **evgen_out)
{
    libxl_evgen_domain_death *evg;
    int rc;

    *evgen_out = NULL;
    rc = libxl__need_daemons(ctx, "libxl_evenable_domain_death");
    if (rc)
        return rc;
    libxl__lock(ctx);
    rc = evwatch_open(ctx);
    if (rc)
        goto out;
    evg = libxl__calloc_or_die(1, sizeof(*evg));
    evg->domid = domid;
    evg->user = user;
    evg->next = ctx->deaths;
    ctx->deaths = evg;
    /* Subscribed first, then the present state: nothing is missed. */
    check_domain(ctx, evg);
    *evgen_out = evg;
    rc = 0;
out:
    libxl__unlock(ctx);
    return rc;
}

void libxl_evdisable_domain_death(libxl_ctx *ctx,
                                  libxl_evgen_domain_death *evg)
{
    libxl_evgen_domain_death **pp;

    if (!evg)
        return;
    libxl__lock(ctx);
    for (pp = &ctx->deaths; *pp; pp = &(*pp)->next) {
        if (*pp == evg) {
            *pp = evg->next;
            free(evg);
            break;
        }
    }
    libxl__unlock(ctx);
}

/* ------------------------------------------------------------ waiting */

int libxl_event_check(libxl_ctx *ctx, libxl_event **event_r,
                      uint64_t typemask, libxl_event_predicate *predicate,
                      void *predicate_user)
{
    libxl__evwatch_drain(ctx);
    *event_r = take_event(ctx, typemask, predicate, predicate_user);
    return *event_r ? 0 : ERROR_NOT_READY;
}

int libxl_event_wait(libxl_ctx *ctx, libxl_event **event_r,
                     uint64_t typemask, libxl_event_predicate *predicate,
                     void *predicate_user)
{
    struct pollfd pfd;
    int r;

    *event_r = NULL;
    for (;;) {
        if (!libxl_event_check(ctx, event_r, typemask, predicate,
                               predicate_user))
            return 0;
        libxl__lock(ctx);
        pfd.fd = ctx->evw ? xc_evwatch_fd(ctx->evw) : -1;
        libxl__unlock(ctx);
        if (pfd.fd < 0) {
            LOG(ctx, ERROR, "waiting for an event while no event "
                "generator is enabled: it would never come");
            return ERROR_FAIL;
        }
        pfd.events = POLLIN;
        pfd.revents = 0;
        r = poll(&pfd, 1, -1);
        if (r < 0 && errno != EINTR) {
            LOGE(ctx, ERROR, "poll on the core's event stream");
            return ERROR_FAIL;
        }
    }
}

/* ------------------------------------------------------------ osevent */

void libxl_osevent_register_hooks(libxl_ctx *ctx,
                                  const libxl_osevent_hooks *hooks,
                                  void *user)
{
    libxl__lock(ctx);
    ctx->osevent_hooks = hooks;
    ctx->osevent_user = user;
    libxl__unlock(ctx);
}

int libxl_osevent_beforepoll(libxl_ctx *ctx, int *nfds_io,
                             struct pollfd *fds, int *timeout_upd,
                             struct timeval now)
{
    int need, rc = 0;

    (void)now;
    libxl__lock(ctx);
    need = ctx->evw ? 1 : 0;
    if (*nfds_io < need) {
        *nfds_io = need;
        rc = ERROR_BUFFERFULL;
        goto out;
    }
    if (need) {
        fds[0].fd = xc_evwatch_fd(ctx->evw);
        fds[0].events = POLLIN;
        fds[0].revents = 0;
    }
    *nfds_io = need;
    /* Queued events: the application should come back at once. */
    if (ctx->occurred)
        *timeout_upd = 0;
out:
    libxl__unlock(ctx);
    return rc;
}

void libxl_osevent_afterpoll(libxl_ctx *ctx, int nfds,
                             const struct pollfd *fds, struct timeval now)
{
    int i, fd;

    (void)now;
    libxl__lock(ctx);
    fd = ctx->evw ? xc_evwatch_fd(ctx->evw) : -1;
    libxl__unlock(ctx);
    for (i = 0; i < nfds; i++)
        if (fds[i].fd == fd && fd >= 0 && fds[i].revents)
            libxl__evwatch_drain(ctx);
}

void libxl_osevent_occurred_fd(libxl_ctx *ctx, void *for_libxl, int fd,
                               short events, short revents)
{
    (void)fd;
    (void)events;
    (void)revents;
    if (for_libxl == &ctx->evw_for_libxl)
        libxl__evwatch_drain(ctx);
}

void libxl_osevent_occurred_timeout(libxl_ctx *ctx, void *for_libxl)
{
    (void)ctx;
    (void)for_libxl;
}
