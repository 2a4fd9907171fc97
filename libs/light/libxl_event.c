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

#include <time.h>

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
    LOG(ctx, DEBUG, "domain %u: %s%s%s", evg->domid,
        libxl_event_type_to_string(type),
        type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN ? " " : "",
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

static int evwatch_open(libxl_ctx *ctx);

/* Retries of a lost subscription: first after this long, doubling up
 * to the second (ms). */
#define EVW_RETRY_FIRST_MS 100
#define EVW_RETRY_MAX_MS   2000
/* ... for this long (ms; $XENOLITH_CORE_RECONNECT_MS overrides), after
 * which waiting for events fails as when the core went for good. */
#define EVW_RETRY_WINDOW_MS 30000

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Subscribe again after a loss, when the retry is due (ctx locked):
 * then read the present state of every watched domain.  A daemon that
 * restarted has taken its domains back (xenolithd's adoption), so only
 * what really happened meanwhile is reported. */
static uint64_t retry_window_ms(void)
{
    const char *env = getenv("XENOLITH_CORE_RECONNECT_MS");
    char *end;
    unsigned long long v;

    if (env && *env) {
        v = strtoull(env, &end, 10);
        if (!*end)
            return v;
    }
    return EVW_RETRY_WINDOW_MS;
}

static void evwatch_retry(libxl_ctx *ctx)
{
    libxl_evgen_domain_death *evg;
    uint64_t window;

    if (ctx->evw || !ctx->deaths || !ctx->evw_retry_ms ||
        now_ms() < ctx->evw_retry_at)
        return;
    window = retry_window_ms();
    if (now_ms() - ctx->evw_lost_at >= window) {
        LOG(ctx, ERROR, "the core's domain events: xenolithd (%s) did not "
            "come back within %llu ms: giving up", xc_core_socket_path(),
            (unsigned long long)window);
        ctx->evw_retry_ms = 0;
        return;
    }
    if (evwatch_open(ctx)) {
        ctx->evw_retry_ms *= 2;
        if (ctx->evw_retry_ms > EVW_RETRY_MAX_MS)
            ctx->evw_retry_ms = EVW_RETRY_MAX_MS;
        ctx->evw_retry_at = now_ms() + (uint64_t)ctx->evw_retry_ms;
        return;
    }
    LOG(ctx, INFO, "subscribed to the core's domain events again");
    ctx->evw_retry_ms = 0;
    for (evg = ctx->deaths; evg; evg = evg->next)
        check_domain(ctx, evg);
}

/* Milliseconds until the next retry is due, or -1 if none is waiting
 * (ctx locked). */
static int evwatch_retry_in(libxl_ctx *ctx)
{
    uint64_t now;

    if (ctx->evw || !ctx->deaths || !ctx->evw_retry_ms)
        return -1;
    now = now_ms();
    return ctx->evw_retry_at > now ? (int)(ctx->evw_retry_at - now) : 0;
}

int libxl__evwatch_drain(libxl_ctx *ctx)
{
    struct xc_domain_event ce;
    libxl_evgen_domain_death *evg;
    int r, lost = 0;

    libxl__lock(ctx);
    if (!ctx->evw) {
        evwatch_retry(ctx);
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
        /* Subscribe again (the core may still be there), then read the
         * present state: what happened meanwhile is reported.  If the
         * core does not answer (it is restarting), try again later. */
        if (!evwatch_open(ctx)) {
            lost = 0;
            for (evg = ctx->deaths; evg; evg = evg->next)
                check_domain(ctx, evg);
        } else {
            LOG(ctx, WARN, "the core does not answer: subscribing again "
                "every %d-%d ms while domains are watched",
                EVW_RETRY_FIRST_MS, EVW_RETRY_MAX_MS);
            ctx->evw_retry_ms = EVW_RETRY_FIRST_MS;
            ctx->evw_lost_at = now_ms();
            ctx->evw_retry_at = ctx->evw_lost_at + EVW_RETRY_FIRST_MS;
            lost = 0;
        }
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

/* ------------------------------------------------------------ pvwait */

static int ms_until(const struct timespec *t)
{
    struct timespec now;
    long long ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (long long)(t->tv_sec - now.tv_sec) * 1000 +
         (t->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

static void pvwait_unlink_free(libxl_ctx *ctx, struct libxl__pvwait *w)
{
    struct libxl__pvwait **pp;

    for (pp = &ctx->pvwaits; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    free(w->path);
    free(w->cmd);
    free(w);
}

/* Delivers the result; the entry goes when its timeout is no longer
 * held by the application. */
static void pvwait_complete(libxl_ctx *ctx, struct libxl__pvwait *w, int rc)
{
    struct timeval asap = { 0, 0 };
    libxl_asyncop_how how = w->how;
    libxl_event *ev;
    uint32_t domid = w->domid;

    xs_unwatch(ctx->xsh, w->path, w->token);
    w->done = true;
    if (w->timeout_registered && ctx->osevent_hooks &&
        ctx->osevent_hooks->timeout_modify)
        ctx->osevent_hooks->timeout_modify(ctx->osevent_user,
                                           &w->timeout_reg, asap);
    else
        pvwait_unlink_free(ctx, w);
    if (how.callback) {
        how.callback(ctx, rc, how.u.for_callback);
        return;
    }
    ev = libxl__event_new(domid, how.u.for_event,
                          LIBXL_EVENT_TYPE_OPERATION_COMPLETE);
    ev->u.operation_complete.rc = rc;
    libxl__event_occurred(ctx, ev);
}

int libxl__pvwait_start(libxl_ctx *ctx, uint32_t domid, const char *path,
                        const char *cmd, const libxl_asyncop_how *ao_how)
{
    const libxl_osevent_hooks *h = ctx->osevent_hooks;
    struct libxl__pvwait *w;
    struct timeval abs;
    int rc;

    w = libxl__calloc_or_die(1, sizeof(*w));
    w->domid = domid;
    w->path = libxl__strdup_or_die(path);
    w->cmd = libxl__strdup_or_die(cmd);
    w->how = *ao_how;
    snprintf(w->token, sizeof(w->token), "libxl-pvwait-%u-%p", domid,
             (void *)w);
    clock_gettime(CLOCK_MONOTONIC, &w->deadline);
    w->deadline.tv_sec += PVCONTROL_TIMEOUT_MS / 1000;
    libxl__lock(ctx);
    if (!xs_watch(ctx->xsh, path, w->token)) {
        LOGE(ctx, ERROR, "domain %u: watching %s", domid, path);
        rc = ERROR_FAIL;
        goto fail;
    }
    if (h && h->fd_register && !ctx->xs_registered) {
        if (h->fd_register(ctx->osevent_user, xs_fileno(ctx->xsh),
                           &ctx->xs_reg, POLLIN, &ctx->xs_for_libxl)) {
            rc = ERROR_OSEVENT_REG_FAIL;
            goto fail_unwatch;
        }
        ctx->xs_registered = true;
    }
    if (h && h->timeout_register) {
        gettimeofday(&abs, NULL);
        abs.tv_sec += PVCONTROL_TIMEOUT_MS / 1000;
        if (h->timeout_register(ctx->osevent_user, &w->timeout_reg, abs,
                                w)) {
            rc = ERROR_OSEVENT_REG_FAIL;
            goto fail_unwatch;
        }
        w->timeout_registered = true;
    }
    w->next = ctx->pvwaits;
    ctx->pvwaits = w;
    libxl__unlock(ctx);
    return 0;
fail_unwatch:
    xs_unwatch(ctx->xsh, path, w->token);
fail:
    libxl__unlock(ctx);
    free(w->path);
    free(w->cmd);
    free(w);
    return rc;
}

int libxl__pvwait_process(libxl_ctx *ctx, int *timeout_ms)
{
    struct libxl__pvwait *w, *next;
    char **watch, *v;
    int pending = 0, left;

    *timeout_ms = -1;
    libxl__lock(ctx);
    if (!ctx->pvwaits)
        goto out;
    while ((watch = xs_check_watch(ctx->xsh)) != NULL)
        free(watch);
    for (w = ctx->pvwaits; w; w = next) {
        next = w->next;
        if (w->done)
            continue;
        v = libxl__xs_read(ctx, XBT_NULL, w->path);
        if (!v || !*v) {
            free(v);
            pvwait_complete(ctx, w, 0);
            continue;
        }
        free(v);
        left = ms_until(&w->deadline);
        if (libxl_domain_info(ctx, NULL, w->domid)) {
            LOG(ctx, ERROR, "domain %u went away before acknowledging "
                "\"%s\"", w->domid, w->cmd);
            pvwait_complete(ctx, w, ERROR_DOMAIN_NOTFOUND);
        } else if (left == 0) {
            LOG(ctx, ERROR, "domain %u: guest didn't acknowledge control "
                "request \"%s\" (%s still set after %d s)", w->domid,
                w->cmd, w->path, PVCONTROL_TIMEOUT_MS / 1000);
            pvwait_complete(ctx, w, ERROR_TIMEDOUT);
        } else {
            pending++;
            /* the domain may go away quietly: look again each second */
            if (left > 1000)
                left = 1000;
            if (*timeout_ms < 0 || left < *timeout_ms)
                *timeout_ms = left;
        }
    }
out:
    libxl__unlock(ctx);
    return pending;
}

void libxl__pvwait_free_all(libxl_ctx *ctx)
{
    if (ctx->xs_registered && ctx->osevent_hooks &&
        ctx->osevent_hooks->fd_deregister)
        ctx->osevent_hooks->fd_deregister(ctx->osevent_user,
                                          xs_fileno(ctx->xsh), ctx->xs_reg);
    ctx->xs_registered = false;
    while (ctx->pvwaits) {
        if (!ctx->pvwaits->done)
            xs_unwatch(ctx->xsh, ctx->pvwaits->path, ctx->pvwaits->token);
        pvwait_unlink_free(ctx, ctx->pvwaits);
    }
}

/* ------------------------------------------------------------ waiting */

int libxl_event_check(libxl_ctx *ctx, libxl_event **event_r,
                      uint64_t typemask, libxl_event_predicate *predicate,
                      void *predicate_user)
{
    int timeout;

    libxl__evwatch_drain(ctx);
    libxl__pvwait_process(ctx, &timeout);
    *event_r = take_event(ctx, typemask, predicate, predicate_user);
    return *event_r ? 0 : ERROR_NOT_READY;
}

int libxl_event_wait(libxl_ctx *ctx, libxl_event **event_r,
                     uint64_t typemask, libxl_event_predicate *predicate,
                     void *predicate_user)
{
    struct pollfd pfd[2];
    int r, n, timeout;

    *event_r = NULL;
    for (;;) {
        if (!libxl_event_check(ctx, event_r, typemask, predicate,
                               predicate_user))
            return 0;
        n = 0;
        libxl__lock(ctx);
        if (ctx->evw) {
            pfd[n].fd = xc_evwatch_fd(ctx->evw);
            pfd[n++].events = POLLIN;
        }
        libxl__unlock(ctx);
        if (libxl__pvwait_process(ctx, &timeout)) {
            pfd[n].fd = xs_fileno(ctx->xsh);
            pfd[n++].events = POLLIN;
        } else {
            timeout = -1;
        }
        libxl__lock(ctx);
        r = evwatch_retry_in(ctx);
        libxl__unlock(ctx);
        if (r >= 0 && (timeout < 0 || r < timeout))
            timeout = r;
        if (!n && r < 0) {
            LOG(ctx, ERROR, "waiting for an event while no event "
                "generator or operation is active: it would never come");
            return ERROR_FAIL;
        }
        pfd[0].revents = pfd[1].revents = 0;
        r = poll(pfd, n, timeout);
        if (r < 0 && errno != EINTR) {
            LOGE(ctx, ERROR, "poll on the event sources");
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
    int need, rc = 0, pv, timeout, n = 0;

    (void)now;
    libxl__lock(ctx);
    pv = libxl__pvwait_process(ctx, &timeout);
    need = (ctx->evw ? 1 : 0) + (pv ? 1 : 0);
    if (*nfds_io < need) {
        *nfds_io = need;
        rc = ERROR_BUFFERFULL;
        goto out;
    }
    if (ctx->evw) {
        fds[n].fd = xc_evwatch_fd(ctx->evw);
        fds[n].events = POLLIN;
        fds[n++].revents = 0;
    }
    if (pv) {
        fds[n].fd = xs_fileno(ctx->xsh);
        fds[n].events = POLLIN;
        fds[n++].revents = 0;
        if (*timeout_upd < 0 || timeout < *timeout_upd)
            *timeout_upd = timeout;
    }
    *nfds_io = n;
    /* A lost subscription to retry: come back then. */
    timeout = evwatch_retry_in(ctx);
    if (timeout >= 0 && (*timeout_upd < 0 || timeout < *timeout_upd))
        *timeout_upd = timeout;
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
    int i, fd, timeout;

    (void)now;
    libxl__lock(ctx);
    fd = ctx->evw ? xc_evwatch_fd(ctx->evw) : -1;
    libxl__unlock(ctx);
    for (i = 0; i < nfds; i++)
        if (fds[i].fd == fd && fd >= 0 && fds[i].revents)
            libxl__evwatch_drain(ctx);
    if (fd < 0)
        libxl__evwatch_drain(ctx);       /* a lost subscription's retry */
    /* acknowledgements and deadlines */
    libxl__pvwait_process(ctx, &timeout);
}

void libxl_osevent_occurred_fd(libxl_ctx *ctx, void *for_libxl, int fd,
                               short events, short revents)
{
    int timeout;

    (void)fd;
    (void)events;
    (void)revents;
    if (for_libxl == &ctx->evw_for_libxl)
        libxl__evwatch_drain(ctx);
    else if (for_libxl == &ctx->xs_for_libxl)
        libxl__pvwait_process(ctx, &timeout);
}

void libxl_osevent_occurred_timeout(libxl_ctx *ctx, void *for_libxl)
{
    struct libxl__pvwait *w;
    int timeout;

    libxl__lock(ctx);
    for (w = ctx->pvwaits; w && (void *)w != for_libxl; w = w->next)
        ;
    if (w) {
        /* a fired timeout is no longer the application's */
        w->timeout_registered = false;
        if (w->done) {
            pvwait_unlink_free(ctx, w);
        } else {
            /* its deadline: acknowledged by now, or timed out */
            clock_gettime(CLOCK_MONOTONIC, &w->deadline);
            libxl__pvwait_process(ctx, &timeout);
        }
    }
    libxl__unlock(ctx);
}
