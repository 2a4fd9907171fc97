/*
 * libxl.c - the libxl context (its daemon connections), logging,
 * version information, small xenstore helpers, ao completion.
 */
#include "libxl.h"

#include <sys/utsname.h>

#include "libxl_internal.h"

int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags,
                    xentoollog_logger *lg)
{
    pthread_mutexattr_t attr;
    libxl_ctx *ctx = NULL;
    int rc;

    *pctx = NULL;
    if (version != LIBXL_VERSION)
        return ERROR_VERSION;
    if (flags & ~LIBXL_CTX_XENOLITH_OFFLINE)
        return ERROR_INVAL;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return ERROR_NOMEM;
    ctx->lg = lg;
    ctx->occurred_tail = &ctx->occurred;
    libxl_version_info_init(&ctx->version_info);
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&ctx->lock, &attr);
    pthread_mutexattr_destroy(&attr);

    if (flags & LIBXL_CTX_XENOLITH_OFFLINE)
        goto done;

    /* The toolstack and its watches outlive a restart of xenstored. */
    ctx->xsh = xs_open(XS_RECONNECT);
    if (!ctx->xsh) {
        LOGE(ctx, ERROR, "cannot connect to xenstore: is xenstored "
             "running? (socket %s)", xs_daemon_socket());
        rc = ERROR_FAIL;
        goto out;
    }
    ctx->xch = xc_interface_open(lg, lg, 0);
    if (!ctx->xch) {
        LOGE(ctx, ERROR, "cannot connect to the hypervisor core: is "
             "xenolithd running? (socket %s)", xc_core_socket_path());
        rc = ERROR_FAIL;
        goto out;
    }
done:
    *pctx = ctx;
    ctx = NULL;
    rc = 0;
out:
    libxl_ctx_free(ctx);
    return rc;
}

int libxl_ctx_free(libxl_ctx *ctx)
{
    struct libxl__event_entry *e, *next;

    if (!ctx)
        return 0;
    while (ctx->deaths)
        libxl_evdisable_domain_death(ctx, ctx->deaths);
    libxl__pvwait_free_all(ctx);
    for (e = ctx->occurred; e; e = next) {
        next = e->next;
        libxl_event_free(ctx, e->ev);
        free(e);
    }
    if (ctx->evw) {
        if (ctx->evw_registered && ctx->osevent_hooks &&
            ctx->osevent_hooks->fd_deregister)
            ctx->osevent_hooks->fd_deregister(ctx->osevent_user,
                                              xc_evwatch_fd(ctx->evw),
                                              ctx->evw_reg);
        xc_evwatch_close(ctx->evw);
    }
    xc_interface_close(ctx->xch);
    xs_close(ctx->xsh);
    libxl_version_info_dispose(&ctx->version_info);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
    return 0;
}

void libxl__lock(libxl_ctx *ctx)
{
    pthread_mutex_lock(&ctx->lock);
}

void libxl__unlock(libxl_ctx *ctx)
{
    pthread_mutex_unlock(&ctx->lock);
}

int libxl__need_daemons(libxl_ctx *ctx, const char *what)
{
    if (ctx->xsh && ctx->xch)
        return 0;
    LOG(ctx, ERROR, "%s: this context was made offline "
        "(LIBXL_CTX_XENOLITH_OFFLINE) and reaches no daemon", what);
    return ERROR_FAIL;
}

const libxl_version_info *libxl_get_version_info(libxl_ctx *ctx)
{
    libxl_version_info *vi = &ctx->version_info;
    xen_compile_info_t ci;
    char extra[16], caps[1024], chg[64], cmdline[1024];
    const libxl_version_info *ret = NULL;
    int v;

    libxl__lock(ctx);
    if (ctx->version_info_valid) {
        ret = vi;
        goto out;
    }
    if (libxl__need_daemons(ctx, "libxl_get_version_info"))
        goto out;
    v = xc_version(ctx->xch, XENVER_version, NULL);
    if (v < 0) {
        LOGEV(ctx, ERROR, -v, "asking the core for its version");
        goto out;
    }
    memset(&ci, 0, sizeof(ci));
    if (xc_version(ctx->xch, XENVER_extraversion, extra) < 0 ||
        xc_version(ctx->xch, XENVER_compile_info, &ci) < 0 ||
        xc_version(ctx->xch, XENVER_capabilities, caps) < 0 ||
        xc_version(ctx->xch, XENVER_changeset, chg) < 0 ||
        xc_version(ctx->xch, XENVER_commandline, cmdline) < 0) {
        LOGE(ctx, ERROR, "asking the core for its build information");
        goto out;
    }
    extra[sizeof(extra) - 1] = caps[sizeof(caps) - 1] = '\0';
    chg[sizeof(chg) - 1] = cmdline[sizeof(cmdline) - 1] = '\0';
    ci.compiler[sizeof(ci.compiler) - 1] = '\0';
    ci.compile_by[sizeof(ci.compile_by) - 1] = '\0';
    ci.compile_domain[sizeof(ci.compile_domain) - 1] = '\0';
    ci.compile_date[sizeof(ci.compile_date) - 1] = '\0';
    libxl_version_info_dispose(vi);
    libxl_version_info_init(vi);
    vi->xen_version_major = v >> 16;
    vi->xen_version_minor = v & 0xffff;
    vi->xen_version_extra = libxl__strdup_or_die(extra);
    vi->compiler = libxl__strdup_or_die(ci.compiler);
    vi->compile_by = libxl__strdup_or_die(ci.compile_by);
    vi->compile_domain = libxl__strdup_or_die(ci.compile_domain);
    vi->compile_date = libxl__strdup_or_die(ci.compile_date);
    vi->capabilities = libxl__strdup_or_die(caps);
    vi->changeset = libxl__strdup_or_die(chg);
    vi->commandline = libxl__strdup_or_die(cmdline);
    vi->build_id = libxl__strdup_or_die("");
    v = xc_version(ctx->xch, XENVER_pagesize, NULL);
    vi->pagesize = v > 0 ? v : (int)XC_PAGE_SIZE;
    vi->virt_start = 0;
    ctx->version_info_valid = true;
    ret = vi;
out:
    libxl__unlock(ctx);
    return ret;
}

void libxl__log(libxl_ctx *ctx, xentoollog_level level, int errnoval,
                const char *file, int line, const char *func,
                const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    int r;

    if (!ctx || !ctx->lg)
        return;
    va_start(ap, fmt);
    r = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    xtl_log(ctx->lg, level, errnoval, "libxl", "%s:%d:%s: %s",
            file, line, func, msg);
    free(msg);
}

char *libxl__sprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        abort();
    return s;
}

void *libxl__calloc_or_die(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        abort();
    return p;
}

void *libxl__realloc_or_die(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        abort();
    return p;
}

char *libxl__strdup_or_die(const char *s)
{
    char *p = strdup(s);

    if (!p)
        abort();
    return p;
}

/* ------------------------------------------------------------ xenstore */

char *libxl__dom_path(uint32_t domid)
{
    return libxl__sprintf("/local/domain/%u", domid);
}

char *libxl__libxl_path(uint32_t domid)
{
    return libxl__sprintf("/libxl/%u", domid);
}

static int devid_cmp(const void *a, const void *b)
{
    long x = strtol(*(char *const *)a, NULL, 10);
    long y = strtol(*(char *const *)b, NULL, 10);

    return (x > y) - (x < y);
}

char **libxl__xs_devids(libxl_ctx *ctx, const char *dir, unsigned int *n_r)
{
    char **ents;

    *n_r = 0;
    ents = xs_directory(ctx->xsh, XBT_NULL, dir, n_r);
    if (ents && *n_r)
        qsort(ents, *n_r, sizeof(*ents), devid_cmp);
    return ents;
}

char *libxl__xs_read(libxl_ctx *ctx, xs_transaction_t t, const char *path)
{
    unsigned int len;
    char *v = xs_read(ctx->xsh, t, path, &len);

    return v;
}

int libxl__xs_write(libxl_ctx *ctx, xs_transaction_t t, const char *path,
                    const char *val)
{
    if (xs_write(ctx->xsh, t, path, val, strlen(val)))
        return 0;
    LOGE(ctx, ERROR, "writing %s in xenstore", path);
    return ERROR_FAIL;
}

int libxl__xs_transaction(libxl_ctx *ctx, uint32_t domid, const char *what,
                          libxl__xs_body *body, void *arg)
{
    xs_transaction_t t;
    unsigned int tries;
    int rc;

    for (tries = 1;; tries++) {
        t = xs_transaction_start(ctx->xsh);
        if (!t) {
            LOGE(ctx, ERROR, "domain %u: starting a xenstore transaction "
                 "for %s", domid, what);
            return ERROR_FAIL;
        }
        rc = body(ctx, t, arg);
        if (rc) {
            xs_transaction_end(ctx->xsh, t, true);
            return rc;
        }
        if (xs_transaction_end(ctx->xsh, t, false))
            return 0;
        if (errno != EAGAIN) {
            LOGE(ctx, ERROR, "domain %u: committing %s", domid, what);
            return ERROR_FAIL;
        }
        if (tries == LIBXL__XS_TRIES) {
            LOG(ctx, ERROR, "domain %u: gave up on %s: other xenstore "
                "clients changed its nodes during each of %u tries",
                domid, what, tries);
            return ERROR_FAIL;
        }
        LOG(ctx, DEBUG, "domain %u: %s: another xenstore client got in "
            "first; try %u of %u", domid, what, tries + 1,
            LIBXL__XS_TRIES);
    }
}

char *libxl__domid_to_name(libxl_ctx *ctx, xs_transaction_t t,
                           uint32_t domid)
{
    char *path = libxl__sprintf("/local/domain/%u/name", domid);
    char *name = libxl__xs_read(ctx, t, path);

    free(path);
    return name;
}

/* ------------------------------------------------------------ ao */

int libxl__ao_complete(libxl_ctx *ctx, uint32_t domid,
                       const libxl_asyncop_how *ao_how, int rc)
{
    libxl_event *ev;

    if (!ao_how || rc)
        return rc;
    if (ao_how->callback) {
        ao_how->callback(ctx, 0, ao_how->u.for_callback);
        return 0;
    }
    ev = libxl__event_new(domid, ao_how->u.for_event,
                          LIBXL_EVENT_TYPE_OPERATION_COMPLETE);
    ev->u.operation_complete.rc = 0;
    libxl__event_occurred(ctx, ev);
    return 0;
}

/* ------------------------------------------------------------ gc */

void *libxl__gc_own(libxl__gc *gc, void *p)
{
    if (!p)
        return NULL;
    if (gc->n == gc->cap) {
        gc->cap = gc->cap ? gc->cap * 2 : 16;
        gc->ptrs = libxl__realloc_or_die(gc->ptrs,
                                         gc->cap * sizeof(*gc->ptrs));
    }
    gc->ptrs[gc->n++] = p;
    return p;
}

char *libxl__gc_sprintf(libxl__gc *gc, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        abort();
    return libxl__gc_own(gc, s);
}

void libxl__gc_free(libxl__gc *gc)
{
    int i;

    for (i = 0; i < gc->n; i++)
        free(gc->ptrs[i]);
    free(gc->ptrs);
    gc->ptrs = NULL;
    gc->n = gc->cap = 0;
}
