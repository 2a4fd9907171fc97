/*
 * libxl_domain.c - running domains: information, pause, PV control
 * (shutdown/reboot), triggers, names, memory, vCPUs, the stored config
 * and the on_* policies.
 */
#include "libxl.h"

#include <inttypes.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "libxl_internal.h"

#define LIST_BATCH 1024

static void xcinfo2xlinfo(const xc_dominfo_t *x, libxl_dominfo *l)
{
    libxl_dominfo_init(l);
    memcpy(l->uuid.uuid, x->handle, sizeof(l->uuid.uuid));
    l->domid = x->domid;
    l->dying = x->dying;
    l->paused = x->paused;
    l->blocked = x->blocked;
    l->running = x->running;
    l->shutdown = x->shutdown;
    l->shutdown_reason = x->shutdown ? (libxl_shutdown_reason)
        x->shutdown_reason : LIBXL_SHUTDOWN_REASON_UNKNOWN;
    l->current_memkb = (uint64_t)x->nr_pages * (XC_PAGE_SIZE / 1024);
    l->max_memkb = x->max_memkb;
    l->cpu_time = x->cpu_time;
    l->vcpu_max_id = x->max_vcpu_id;
    l->vcpu_online = x->nr_online_vcpus;
    l->cpupool = 0;
    l->domain_type = x->hvm ? LIBXL_DOMAIN_TYPE_HVM : LIBXL_DOMAIN_TYPE_PV;
}

int libxl_domain_info(libxl_ctx *ctx, libxl_dominfo *info_r, uint32_t domid)
{
    xc_dominfo_t x;
    int r, rc;

    rc = libxl__need_daemons(ctx, "libxl_domain_info");
    if (rc)
        return rc;
    r = xc_domain_getinfo_single(ctx->xch, domid, &x);
    if (r == -ESRCH || r == -EINVAL)
        return ERROR_DOMAIN_NOTFOUND;
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: getting domain info", domid);
        return ERROR_FAIL;
    }
    if (info_r)
        xcinfo2xlinfo(&x, info_r);
    return 0;
}

libxl_dominfo *libxl_list_domain(libxl_ctx *ctx, int *nb_domain_out)
{
    xc_dominfo_t *x;
    libxl_dominfo *list = NULL;
    uint32_t next = 0;
    int i, n, total = 0;

    *nb_domain_out = 0;
    if (libxl__need_daemons(ctx, "libxl_list_domain"))
        return NULL;
    /* The core answers in id order, LIST_BATCH domains a round trip. */
    x = libxl__calloc_or_die(LIST_BATCH, sizeof(*x));
    do {
        n = xc_domain_getinfolist(ctx->xch, next, LIST_BATCH, x);
        if (n < 0) {
            LOGEV(ctx, ERROR, -n, "getting the domain list");
            libxl_dominfo_list_free(list, total);
            list = NULL;
            total = 0;
            goto out;
        }
        list = libxl__realloc_or_die(list, (total + n + 1) * sizeof(*list));
        for (i = 0; i < n; i++)
            xcinfo2xlinfo(&x[i], &list[total + i]);
        total += n;
        if (n > 0)
            next = x[n - 1].domid + 1;
    } while (n == LIST_BATCH);
    *nb_domain_out = total;
out:
    free(x);
    return list;
}

void libxl_dominfo_list_free(libxl_dominfo *list, int nb_domain)
{
    int i;

    for (i = 0; list && i < nb_domain; i++)
        libxl_dominfo_dispose(&list[i]);
    free(list);
}

/* ------------------------------------------------------------ names */

char *libxl_domid_to_name(libxl_ctx *ctx, uint32_t domid)
{
    if (!ctx->xsh)
        return NULL;
    return libxl__domid_to_name(ctx, XBT_NULL, domid);
}

char *libxl__name_index_path(const char *name)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(name), i, o;
    char *p = libxl__calloc_or_die(1, sizeof(LIBXL__NAMES_PATH) + 1 +
                                   3 * n);

    o = strlen(LIBXL__NAMES_PATH);
    memcpy(p, LIBXL__NAMES_PATH, o);
    p[o++] = '/';
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-') {
            p[o++] = (char)c;
        } else {
            p[o++] = '_';
            p[o++] = hex[c >> 4];
            p[o++] = hex[c & 15];
        }
    }
    p[o] = 0;
    return p;
}

/* The domid an index entry holds; -1 absent or unreadable (errno), -2
 * not a domid (stale too). */
static long index_read(libxl_ctx *ctx, xs_transaction_t t, const char *path)
{
    char *v = libxl__xs_read(ctx, t, path), *end;
    unsigned long d;
    long ret = -2;

    if (!v)
        return -1;
    errno = 0;
    d = strtoul(v, &end, 10);
    if (!errno && *v && !*end && d < DOMID_FIRST_RESERVED)
        ret = (long)d;
    free(v);
    return ret;
}

/* Whether domain d is called name in t. */
static int name_is(libxl_ctx *ctx, xs_transaction_t t, uint32_t d,
                   const char *name)
{
    char *cur = libxl__domid_to_name(ctx, t, d);
    int same = cur && !strcmp(cur, name);

    free(cur);
    return same;
}

/* Removes a stale entry unless it changed meanwhile (best effort). */
static void index_clean(libxl_ctx *ctx, const char *path, const char *name)
{
    xs_transaction_t t = xs_transaction_start(ctx->xsh);
    long d;

    if (!t)
        return;
    d = index_read(ctx, t, path);
    if (d == -1 || (d >= 0 && name_is(ctx, t, (uint32_t)d, name))) {
        xs_transaction_end(ctx->xsh, t, true);
        return;
    }
    xs_rm(ctx->xsh, t, path);
    /* EAGAIN: someone changed it, theirs stands */
    xs_transaction_end(ctx->xsh, t, false);
}

int libxl__name_lookup(libxl_ctx *ctx, xs_transaction_t t,
                       const char *name, uint32_t *domid_r)
{
    char *path = libxl__name_index_path(name);
    long d;
    int rc = ERROR_DOMAIN_NOTFOUND;

    d = index_read(ctx, t, path);
    if (d >= 0 && name_is(ctx, t, (uint32_t)d, name)) {
        *domid_r = (uint32_t)d;
        rc = 0;
        goto out;
    }
    if (d == -1 && errno != ENOENT) {
        LOGE(ctx, ERROR, "reading %s in xenstore", path);
        rc = ERROR_FAIL;
        goto out;
    }
    if (d != -1 && t == XBT_NULL)
        index_clean(ctx, path, name);
    if (!strcmp(name, "Domain-0") && name_is(ctx, t, 0, name)) {
        *domid_r = 0;
        rc = 0;
    }
out:
    free(path);
    return rc;
}

int libxl__name_index_set(libxl_ctx *ctx, xs_transaction_t t,
                          uint32_t domid, const char *old_name,
                          const char *new_name)
{
    char *path = libxl__name_index_path(new_name), *val = NULL;
    char *npath = libxl__sprintf("/local/domain/%u/name", domid);
    uint32_t other;
    int rc;

    rc = libxl__name_lookup(ctx, t, new_name, &other);
    if (rc == 0 && other != domid) {
        LOG(ctx, ERROR, "domain with name \"%s\" already exists "
            "(domain %u)", new_name, other);
        rc = ERROR_INVAL;
        goto out;
    }
    if (rc && rc != ERROR_DOMAIN_NOTFOUND)
        goto out;
    if (old_name && strcmp(old_name, new_name))
        libxl__name_index_remove(ctx, t, domid, old_name);
    val = libxl__sprintf("%u", domid);
    rc = libxl__xs_write(ctx, t, path, val);
    if (!rc)
        rc = libxl__xs_write(ctx, t, npath, new_name);
out:
    free(npath);
    free(val);
    free(path);
    return rc;
}

void libxl__name_index_remove(libxl_ctx *ctx, xs_transaction_t t,
                              uint32_t domid, const char *name)
{
    char *path = libxl__name_index_path(name);

    if (index_read(ctx, t, path) == (long)domid)
        xs_rm(ctx->xsh, t, path);
    free(path);
}

int libxl_name_to_domid(libxl_ctx *ctx, const char *name, uint32_t *domid)
{
    int rc;

    if (!name || !ctx->xsh)
        return ERROR_INVAL;
    rc = libxl__name_lookup(ctx, XBT_NULL, name, domid);
    return rc == ERROR_DOMAIN_NOTFOUND ? ERROR_INVAL : rc;
}

struct preserve_args {
    uint32_t domid;
    const char *name;            /* the new name */
    libxl_uuid uuid;             /* the new /vm */
};

static int preserve_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    GC_INIT;
    const struct preserve_args *a = arg;
    uint32_t domid = a->domid;
    const char *name = a->name;
    struct xs_permissions roperm[2];
    char *dom, *old_vm, *new_vm, *old_name;
    int rc;

    roperm[0].id = 0;
    roperm[0].perms = XS_PERM_NONE;
    roperm[1].id = domid;
    roperm[1].perms = XS_PERM_READ;
    dom = GCSPRINTF("/local/domain/%u", domid);
    new_vm = GCSPRINTF("/vm/" LIBXL_UUID_FMT, LIBXL_UUID_BYTES(a->uuid));
    old_vm = libxl__gc_own(gc, libxl__xs_read(ctx, t,
                                         GCSPRINTF("%s/vm", dom)));
    if (!old_vm) {
        LOG(ctx, ERROR, "domain %u: no such domain in xenstore", domid);
        rc = ERROR_DOMAIN_NOTFOUND;
        goto out;
    }
    rc = libxl__xs_write(ctx, t, new_vm, "");
    if (!rc && !xs_set_permissions(ctx->xsh, t, new_vm, roperm, 2))
        rc = ERROR_FAIL;
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/uuid", new_vm),
                    GCSPRINTF(LIBXL_UUID_FMT, LIBXL_UUID_BYTES(a->uuid)));
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/name", new_vm), name);
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/vm", dom), new_vm);
    if (!rc) {
        old_name = libxl__gc_own(gc, libxl__domid_to_name(ctx, t,
                                                          domid));
        rc = libxl__name_index_set(ctx, t, domid, old_name, name);
    }
    if (!rc && strcmp(old_vm, new_vm))
        xs_rm(ctx->xsh, t, old_vm);
out:
    GC_FREE;
    return rc;
}

int libxl_domain_preserve(libxl_ctx *ctx, uint32_t domid,
                          libxl_domain_create_info *info,
                          const char *name_suffix, libxl_uuid new_uuid)
{
    struct preserve_args a;
    char *name;
    int rc;

    rc = libxl__need_daemons(ctx, "libxl_domain_preserve");
    if (rc)
        return rc;
    name = libxl__sprintf("%s%s", info->name, name_suffix);
    a.domid = domid;
    a.name = name;
    libxl_uuid_copy(ctx, &a.uuid, &new_uuid);
    rc = libxl__xs_transaction(ctx, domid, "the preserve", preserve_body,
                               &a);
    free(name);
    return rc;
}

/* ------------------------------------------------------------ pause */

static int check_guest(libxl_ctx *ctx, uint32_t domid, const char *what)
{
    int rc = libxl__need_daemons(ctx, what);

    if (rc)
        return rc;
    rc = libxl_domain_info(ctx, NULL, domid);
    if (rc == ERROR_DOMAIN_NOTFOUND)
        LOG(ctx, ERROR, "%s: domain %u does not exist", what, domid);
    return rc;
}

int libxl_domain_pause(libxl_ctx *ctx, uint32_t domid,
                       const libxl_asyncop_how *ao_how)
{
    int r, rc = check_guest(ctx, domid, "libxl_domain_pause");

    if (rc)
        return rc;
    r = xc_domain_pause(ctx->xch, domid);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: pausing", domid);
        return ERROR_FAIL;
    }
    return libxl__ao_complete(ctx, domid, ao_how, 0);
}

int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid,
                         const libxl_asyncop_how *ao_how)
{
    int r, rc = check_guest(ctx, domid, "libxl_domain_unpause");

    if (rc)
        return rc;
    r = xc_domain_unpause(ctx->xch, domid);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: unpausing", domid);
        return ERROR_FAIL;
    }
    return libxl__ao_complete(ctx, domid, ao_how, 0);
}

/* ------------------------------------------------------------ PV control */

/* Waits for the guest to clear path (its acknowledgement). */
static int pvcontrol_wait(libxl_ctx *ctx, uint32_t domid, const char *path,
                          const char *cmd)
{
    struct timespec t0, t1;
    struct pollfd pfd;
    char token[64], **w;
    char *v;
    int left, rc;

    snprintf(token, sizeof(token), "libxl-pvcontrol-%u-%p", domid,
             (void *)&token);
    if (!xs_watch(ctx->xsh, path, token)) {
        LOGE(ctx, ERROR, "domain %u: watching %s", domid, path);
        return ERROR_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        v = libxl__xs_read(ctx, XBT_NULL, path);
        if (!v || !*v) {
            free(v);
            rc = 0;
            break;
        }
        free(v);
        if (libxl_domain_info(ctx, NULL, domid)) {
            rc = ERROR_DOMAIN_NOTFOUND;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        left = PVCONTROL_TIMEOUT_MS -
               (int)((t1.tv_sec - t0.tv_sec) * 1000 +
                     (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) {
            LOG(ctx, ERROR, "domain %u: guest didn't acknowledge control "
                "request \"%s\" (%s still set after %d s)", domid, cmd,
                path, PVCONTROL_TIMEOUT_MS / 1000);
            rc = ERROR_TIMEDOUT;
            break;
        }
        pfd.fd = xs_fileno(ctx->xsh);
        pfd.events = POLLIN;
        /* wake at least every second: the domain may go away quietly */
        if (pfd.fd >= 0 && poll(&pfd, 1, left < 1000 ? left : 1000) > 0) {
            while ((w = xs_check_watch(ctx->xsh)) != NULL)
                free(w);
        }
    }
    xs_unwatch(ctx->xsh, path, token);
    return rc;
}

static int pvcontrol(libxl_ctx *ctx, uint32_t domid, const char *cmd,
                     const char *feature, const libxl_asyncop_how *ao_how)
{
    GC_INIT;
    char *dom, *f, *path;
    int rc;

    rc = check_guest(ctx, domid, cmd);
    if (rc)
        goto out;
    dom = GCSPRINTF("/local/domain/%u", domid);
    f = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                  GCSPRINTF("%s/control/%s", dom, feature)));
    if (!f || strcmp(f, "1")) {
        /* as Xen's; a warning, for the caller may press the ACPI
         * button instead (xl does, libxl_send_trigger) */
        LOG(ctx, WARN, "domain %u: PV control interface not available "
            "(control/%s is not 1): the guest cannot be asked to %s",
            domid, feature, cmd);
        rc = ERROR_NOPARAVIRT;
        goto out;
    }
    path = GCSPRINTF("%s/control/shutdown", dom);
    rc = libxl__xs_write(ctx, XBT_NULL, path, cmd);
    if (rc)
        goto out;
    if (ao_how)
        rc = libxl__pvwait_start(ctx, domid, path, cmd, ao_how);
    else
        rc = pvcontrol_wait(ctx, domid, path, cmd);
out:
    GC_FREE;
    return rc;
}

int libxl_domain_shutdown(libxl_ctx *ctx, uint32_t domid,
                          const libxl_asyncop_how *ao_how)
{
    /* with ao_how, completion comes when the guest acknowledges */
    return pvcontrol(ctx, domid, "poweroff", "feature-poweroff", ao_how);
}

int libxl_domain_reboot(libxl_ctx *ctx, uint32_t domid,
                        const libxl_asyncop_how *ao_how)
{
    return pvcontrol(ctx, domid, "reboot", "feature-reboot", ao_how);
}

int libxl_send_trigger(libxl_ctx *ctx, uint32_t domid,
                       libxl_trigger trigger, uint32_t vcpuid,
                       const libxl_asyncop_how *ao_how)
{
    uint32_t t;
    int r, rc;

    rc = check_guest(ctx, domid, "libxl_send_trigger");
    if (rc)
        return rc;
    switch (trigger) {
    case LIBXL_TRIGGER_POWER:
        /* the ACPI power button: the guest decides (xl shutdown -F) */
        t = XEN_DOMCTL_SENDTRIGGER_POWER;
        break;
    case LIBXL_TRIGGER_RESET:
        t = XEN_DOMCTL_SENDTRIGGER_RESET;
        break;
    case LIBXL_TRIGGER_NMI:
        t = XEN_DOMCTL_SENDTRIGGER_NMI;
        break;
    case LIBXL_TRIGGER_INIT:
        t = XEN_DOMCTL_SENDTRIGGER_INIT;
        break;
    case LIBXL_TRIGGER_SLEEP:
        t = XEN_DOMCTL_SENDTRIGGER_SLEEP;
        break;
    default:
        LOG(ctx, ERROR, "domain %u: trigger %s is not supported by the "
            "core", domid, libxl_trigger_to_string(trigger) ?: "?");
        return ERROR_NI;
    }
    r = xc_domain_send_trigger(ctx->xch, domid, t, vcpuid);
    if (r == -EOPNOTSUPP) {
        LOG(ctx, ERROR, "domain %u: trigger %s is not supported by the "
            "core (only power and reset)", domid,
            libxl_trigger_to_string(trigger));
        return ERROR_NI;
    }
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: sending trigger %s", domid,
              libxl_trigger_to_string(trigger));
        return libxl__xc_error(r);
    }
    return libxl__ao_complete(ctx, domid, ao_how, 0);
}

/* ------------------------------------------------------------ memory */

static int read_u64(libxl_ctx *ctx, uint32_t domid, const char *key,
                    uint64_t *v)
{
    char *path = libxl__sprintf("/local/domain/%u/%s", domid, key);
    char *s = libxl__xs_read(ctx, XBT_NULL, path);
    char *end;
    int rc = 0;

    if (!s) {
        LOGE(ctx, ERROR, "domain %u: reading %s", domid, path);
        rc = ERROR_FAIL;
    } else {
        *v = strtoull(s, &end, 10);
        if (*end || end == s) {
            LOG(ctx, ERROR, "domain %u: %s is \"%s\", not a number",
                domid, path, s);
            rc = ERROR_FAIL;
        }
    }
    free(s);
    free(path);
    return rc;
}

int libxl_get_memory_target(libxl_ctx *ctx, uint32_t domid,
                            uint64_t *out_target)
{
    int rc = check_guest(ctx, domid, "libxl_get_memory_target");

    return rc ? rc : read_u64(ctx, domid, "memory/target", out_target);
}

int libxl_domain_setmaxmem(libxl_ctx *ctx, uint32_t domid,
                           uint64_t max_memkb)
{
    char *path, *val;
    uint64_t target;
    int r, rc;

    rc = check_guest(ctx, domid, "libxl_domain_setmaxmem");
    if (rc)
        return rc;
    rc = read_u64(ctx, domid, "memory/target", &target);
    if (rc)
        return rc;
    if (max_memkb < target) {
        LOG(ctx, ERROR, "domain %u: maxmem %" PRIu64 " KiB is below the "
            "current target %" PRIu64 " KiB", domid, max_memkb, target);
        return ERROR_INVAL;
    }
    r = xc_domain_setmaxmem(ctx->xch, domid, max_memkb);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: setting maxmem to %" PRIu64
              " KiB", domid, max_memkb);
        return ERROR_FAIL;
    }
    path = libxl__sprintf("/local/domain/%u/memory/static-max", domid);
    val = libxl__sprintf("%" PRIu64, max_memkb);
    rc = libxl__xs_write(ctx, XBT_NULL, path, val);
    free(val);
    free(path);
    return rc;
}

int libxl_set_memory_target(libxl_ctx *ctx, uint32_t domid,
                            int64_t target_memkb, int relative, int enforce)
{
    uint64_t cur, videoram = 0;
    int64_t want;
    char *path, *val;
    int r, rc;

    rc = check_guest(ctx, domid, "libxl_set_memory_target");
    if (rc)
        return rc;
    rc = read_u64(ctx, domid, "memory/target", &cur);
    if (rc)
        return rc;
    read_u64(ctx, domid, "memory/videoram", &videoram);
    want = relative ? (int64_t)cur + target_memkb : target_memkb;
    if (want < 0) {
        LOG(ctx, ERROR, "domain %u: memory target %" PRId64 " KiB is "
            "negative", domid, want);
        return ERROR_INVAL;
    }
    if (enforce) {
        r = xc_domain_setmaxmem(ctx->xch, domid, (uint64_t)want + videoram);
        if (r < 0) {
            LOGEV(ctx, ERROR, -r, "domain %u: setting maxmem to %" PRId64
                  " KiB", domid, want + (int64_t)videoram);
            return ERROR_FAIL;
        }
    }
    rc = libxl__dm_set_memory_target(ctx, domid, (uint64_t)want);
    if (rc)
        return rc;
    path = libxl__sprintf("/local/domain/%u/memory/target", domid);
    val = libxl__sprintf("%" PRId64, want);
    rc = libxl__xs_write(ctx, XBT_NULL, path, val);
    free(val);
    free(path);
    return rc;
}

int libxl_domain_need_memory(libxl_ctx *ctx, libxl_domain_config *config,
                             uint32_t domid_for_logging,
                             uint64_t *need_memkb)
{
    libxl_domain_build_info *b = &config->b_info;

    (void)ctx;
    (void)domid_for_logging;
    if (b->max_memkb == LIBXL_MEMKB_DEFAULT)
        b->max_memkb = 32 * 1024;
    if (b->target_memkb == LIBXL_MEMKB_DEFAULT)
        b->target_memkb = b->max_memkb;
    if (b->video_memkb == LIBXL_MEMKB_DEFAULT)
        b->video_memkb = 0;
    /* guest RAM is all the core allocates for a PVH domain */
    *need_memkb = b->target_memkb + b->video_memkb;
    return 0;
}

int libxl_get_free_memory(libxl_ctx *ctx, uint64_t *memkb)
{
    xc_physinfo_t pi;
    int r, rc;

    rc = libxl__need_daemons(ctx, "libxl_get_free_memory");
    if (rc)
        return rc;
    r = xc_physinfo(ctx->xch, &pi);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "asking the core for free memory");
        return ERROR_FAIL;
    }
    *memkb = pi.free_pages * (XC_PAGE_SIZE / 1024);
    return 0;
}

int libxl_wait_for_free_memory(libxl_ctx *ctx, uint32_t domid,
                               uint64_t memory_kb, int wait_secs)
{
    uint64_t free_kb = 0;
    int rc, i;

    for (i = 0; ; i++) {
        rc = libxl_get_free_memory(ctx, &free_kb);
        if (rc)
            return rc;
        if (free_kb >= memory_kb)
            return 0;
        if (i >= wait_secs * 10)
            break;
        usleep(100000);
    }
    LOG(ctx, ERROR, "domain %u: %" PRIu64 " KiB free after %d s, %"
        PRIu64 " KiB needed", domid, free_kb, wait_secs, memory_kb);
    return ERROR_NOMEM;
}

/* ------------------------------------------------------------ vCPUs */

int libxl_set_vcpuonline(libxl_ctx *ctx, uint32_t domid,
                         libxl_bitmap *cpumap,
                         const libxl_asyncop_how *ao_how)
{
    GC_INIT;
    xc_dominfo_t x;
    unsigned int i;
    int r, rc;

    rc = check_guest(ctx, domid, "libxl_set_vcpuonline");
    if (rc)
        goto out;
    r = xc_domain_getinfo_single(ctx->xch, domid, &x);
    if (r < 0) {
        rc = libxl__xc_error(r);
        goto out;
    }
    for (i = x.max_vcpu_id + 1; i < cpumap->size * 8; i++) {
        if (libxl_bitmap_test(cpumap, i)) {
            LOG(ctx, ERROR, "domain %u: requested %d vCPUs, however "
                "maxcpus is %u", domid, libxl_bitmap_count_set(cpumap),
                x.max_vcpu_id + 1);
            rc = ERROR_INVAL;
            goto out;
        }
    }
    rc = libxl__dm_set_vcpus(ctx, domid,
                             (unsigned int)libxl_bitmap_count_set(cpumap));
    if (rc)
        goto out;
    for (i = 0; i <= x.max_vcpu_id; i++) {
        rc = libxl__xs_write(ctx, XBT_NULL,
                GCSPRINTF("/local/domain/%u/cpu/%u/availability", domid, i),
                libxl_bitmap_test(cpumap, i) ? "online" : "offline");
        if (rc)
            goto out;
    }
    rc = libxl__ao_complete(ctx, domid, ao_how, 0);
out:
    GC_FREE;
    return rc;
}

static char *bitmap_hex(libxl__gc *gc, const libxl_bitmap *map)
{
    char *s = libxl__gc_own(gc, libxl__calloc_or_die(map->size * 2 + 1, 1));
    uint32_t i;

    for (i = 0; i < map->size; i++)
        sprintf(s + 2 * i, "%02x", map->map[i]);
    return s;
}

static void hex_bitmap(const char *s, libxl_bitmap *map)
{
    uint32_t i;
    unsigned int b;

    for (i = 0; i < map->size && s[2 * i] && s[2 * i + 1]; i++) {
        if (sscanf(s + 2 * i, "%2x", &b) == 1)
            map->map[i] = (uint8_t)b;
    }
}

int libxl_set_vcpuaffinity(libxl_ctx *ctx, uint32_t domid, uint32_t vcpuid,
                           const libxl_bitmap *cpumap_hard,
                           const libxl_bitmap *cpumap_soft)
{
    GC_INIT;
    int r, rc;

    (void)cpumap_soft;
    rc = check_guest(ctx, domid, "libxl_set_vcpuaffinity");
    if (rc || !cpumap_hard)
        goto out;
    r = xc_vcpu_setaffinity(ctx->xch, domid, (int)vcpuid, cpumap_hard->map,
                            cpumap_hard->size);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: setting vCPU %u's hard affinity",
              domid, vcpuid);
        rc = r == -EINVAL ? ERROR_INVAL : ERROR_FAIL;
        goto out;
    }
    /* The core does not report affinity: remember it for list_vcpu. */
    rc = libxl__xs_write(ctx, XBT_NULL,
                         GCSPRINTF("/libxl/%u/vcpu/%u/hard-affinity",
                                   domid, vcpuid),
                         bitmap_hex(gc, cpumap_hard));
out:
    GC_FREE;
    return rc;
}

int libxl_set_vcpuaffinity_force(libxl_ctx *ctx, uint32_t domid,
                                 uint32_t vcpuid,
                                 const libxl_bitmap *cpumap_hard,
                                 const libxl_bitmap *cpumap_soft)
{
    return libxl_set_vcpuaffinity(ctx, domid, vcpuid, cpumap_hard,
                                  cpumap_soft);
}

int libxl_set_vcpuaffinity_all(libxl_ctx *ctx, uint32_t domid,
                               unsigned int max_vcpus,
                               const libxl_bitmap *cpumap_hard,
                               const libxl_bitmap *cpumap_soft)
{
    unsigned int i;
    int rc = 0, r;

    for (i = 0; i < max_vcpus; i++) {
        r = libxl_set_vcpuaffinity(ctx, domid, i, cpumap_hard, cpumap_soft);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

libxl_vcpuinfo *libxl_list_vcpu(libxl_ctx *ctx, uint32_t domid,
                                int *nb_vcpu, int *nr_cpus_out)
{
    GC_INIT;
    libxl_vcpuinfo *list = NULL;
    xc_dominfo_t x;
    char *aff, *avail;
    int i, n, cpus, r;

    *nb_vcpu = 0;
    if (check_guest(ctx, domid, "libxl_list_vcpu"))
        goto out;
    r = xc_domain_getinfo_single(ctx->xch, domid, &x);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: getting its vCPUs", domid);
        goto out;
    }
    cpus = libxl_get_max_cpus(ctx);
    if (cpus < 1)
        cpus = 1;
    *nr_cpus_out = cpus;
    n = (int)x.max_vcpu_id + 1;
    list = libxl__calloc_or_die(n, sizeof(*list));
    for (i = 0; i < n; i++) {
        libxl_vcpuinfo *v = &list[i];

        libxl_vcpuinfo_init(v);
        v->vcpuid = i;
        avail = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                GCSPRINTF("/local/domain/%u/cpu/%d/availability", domid, i)));
        v->online = (unsigned int)i < x.nr_online_vcpus &&
                    (!avail || !strcmp(avail, "online"));
        v->running = v->online && x.running;
        v->blocked = v->online && !x.running;
        v->cpu = 0;
        v->vcpu_time = x.nr_online_vcpus ?
                       x.cpu_time / x.nr_online_vcpus : 0;
        libxl_cpu_bitmap_alloc(ctx, &v->cpumap, cpus);
        libxl_cpu_bitmap_alloc(ctx, &v->cpumap_soft, cpus);
        libxl_bitmap_set_any(&v->cpumap_soft);
        aff = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                GCSPRINTF("/libxl/%u/vcpu/%d/hard-affinity", domid, i)));
        if (aff)
            hex_bitmap(aff, &v->cpumap);
        else
            libxl_bitmap_set_any(&v->cpumap);
    }
    *nb_vcpu = n;
out:
    GC_FREE;
    return list;
}

void libxl_vcpuinfo_list_free(libxl_vcpuinfo *list, int nr_vcpus)
{
    int i;

    for (i = 0; list && i < nr_vcpus; i++)
        libxl_vcpuinfo_dispose(&list[i]);
    free(list);
}

/* ------------------------------------------------------------ config */

int libxl_retrieve_domain_configuration(libxl_ctx *ctx, uint32_t domid,
                                        libxl_domain_config *d_config,
                                        const libxl_asyncop_how *ao_how)
{
    libxl_dominfo info;
    char *name;
    int rc;

    rc = check_guest(ctx, domid, "libxl_retrieve_domain_configuration");
    if (rc)
        return rc;
    rc = libxl__domain_config_load(ctx, domid, d_config);
    if (rc)
        return rc;
    /* Name and uuid as they are now (rename, preserve). */
    name = libxl_domid_to_name(ctx, domid);
    if (name) {
        free(d_config->c_info.name);
        d_config->c_info.name = name;
    }
    if (!libxl_domain_info(ctx, &info, domid)) {
        d_config->c_info.uuid = info.uuid;
        libxl_dominfo_dispose(&info);
    }
    return libxl__ao_complete(ctx, domid, ao_how, 0);
}

/* ------------------------------------------------------------ policies */

libxl_action_on_shutdown libxl_xenolith_shutdown_action(
    const libxl_domain_config *d_config, libxl_shutdown_reason reason)
{
    switch (reason) {
    case LIBXL_SHUTDOWN_REASON_POWEROFF:
        return d_config->on_poweroff;
    case LIBXL_SHUTDOWN_REASON_REBOOT:
        return d_config->on_reboot;
    case LIBXL_SHUTDOWN_REASON_CRASH:
        return d_config->on_crash;
    case LIBXL_SHUTDOWN_REASON_WATCHDOG:
        return d_config->on_watchdog;
    case LIBXL_SHUTDOWN_REASON_SOFT_RESET:
        return d_config->on_soft_reset;
    case LIBXL_SHUTDOWN_REASON_SUSPEND:
        return LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
    default:
        return LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
    }
}

libxl_action_on_shutdown libxl_xenolith_coredump_action(
    libxl_ctx *ctx, uint32_t domid, const libxl_domain_config *d_config,
    const char *dump_dir, libxl_action_on_shutdown action)
{
    char *core;
    int rc;

    if (action != LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY &&
        action != LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART)
        return action;
    core = libxl__sprintf("%s/%s", dump_dir ? dump_dir : "/var/lib/xen/dump",
                          d_config->c_info.name);
    LOG(ctx, INFO, "domain %u: dumping core to %s", domid, core);
    rc = libxl_domain_core_dump(ctx, domid, core, NULL);
    if (rc)
        LOG(ctx, ERROR, "domain %u: core dump to %s failed (%s); going on",
            domid, core, libxl_error_to_string(rc));
    free(core);
    return action == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY ?
           LIBXL_ACTION_ON_SHUTDOWN_DESTROY : LIBXL_ACTION_ON_SHUTDOWN_RESTART;
}

int libxl_xenolith_domain_death(libxl_ctx *ctx, uint32_t *domid_io,
                                libxl_shutdown_reason reason,
                                libxl_domain_config *d_config,
                                const char *dump_dir, int *restarted_r)
{
    GC_INIT;
    libxl_action_on_shutdown action;
    uint32_t domid = *domid_io;
    libxl_uuid new_uuid;
    char suffix[32];
    struct tm tm;
    time_t now;
    int rc, restart = 0;

    if (restarted_r)
        *restarted_r = 0;
    if (reason == LIBXL_SHUTDOWN_REASON_SUSPEND) {
        LOG(ctx, INFO, "domain %u has suspended: nothing to do", domid);
        rc = 0;
        goto out;
    }
    action = libxl_xenolith_shutdown_action(d_config, reason);
    if (!libxl_shutdown_reason_to_string(reason))
        LOG(ctx, WARN, "domain %u: unknown shutdown reason %d: destroying",
            domid, (int)reason);
    LOG(ctx, INFO, "domain %u: action for shutdown reason %s is %s", domid,
        libxl_shutdown_reason_to_string(reason) ?: "?",
        libxl_action_on_shutdown_to_string(action) ?: "?");
    action = libxl_xenolith_coredump_action(ctx, domid, d_config, dump_dir,
                                            action);

    switch (action) {
    case LIBXL_ACTION_ON_SHUTDOWN_PRESERVE:
        *domid_io = INVALID_DOMID;
        rc = 0;
        goto out;
    case LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME:
        now = time(NULL);
        gmtime_r(&now, &tm);
        strftime(suffix, sizeof(suffix), "-%Y%m%dT%H%MZ", &tm);
        libxl_uuid_generate(&new_uuid);
        rc = libxl_domain_preserve(ctx, domid, &d_config->c_info, suffix,
                                   new_uuid);
        if (rc)
            goto out;
        restart = 1;
        break;
    case LIBXL_ACTION_ON_SHUTDOWN_RESTART:
    case LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET:
        restart = 1;
        /* fall through */
    default:
        rc = libxl_domain_destroy(ctx, domid, NULL);
        if (rc && rc != ERROR_DOMAIN_NOTFOUND)
            goto out;
        break;
    }
    *domid_io = INVALID_DOMID;
    if (!restart) {
        rc = 0;
        goto out;
    }
    /* The new incarnation keeps the uuid (a preserved one got a new). */
    rc = libxl_domain_create_new(ctx, d_config, domid_io, NULL, NULL);
    if (rc) {
        LOG(ctx, ERROR, "restarting domain \"%s\" failed (%s)",
            d_config->c_info.name, libxl_error_to_string(rc));
        goto out;
    }
    rc = libxl_domain_unpause(ctx, *domid_io, NULL);
    if (rc)
        goto out;
    if (restarted_r)
        *restarted_r = 1;
out:
    GC_FREE;
    return rc;
}

/* ------------------------------------------------------------ sched */

int libxl_get_scheduler(libxl_ctx *ctx)
{
    (void)ctx;
    /* the core gives credit's weight and cap (on cgroups) */
    return LIBXL_SCHEDULER_CREDIT;
}

int libxl_domain_sched_params_get(libxl_ctx *ctx, uint32_t domid,
                                  libxl_domain_sched_params *params)
{
    struct xen_domctl_sched_credit sc;
    int r, rc;

    rc = check_guest(ctx, domid, "libxl_domain_sched_params_get");
    if (rc)
        return rc;
    if (domid == 0) {
        /* Domain-0 is the host: Xen's defaults, as an unchanged dom0 */
        libxl_domain_sched_params_init(params);
        params->sched = LIBXL_SCHEDULER_CREDIT;
        params->weight = 256;
        params->cap = 0;
        return 0;
    }
    r = xc_sched_credit_domain_get(ctx->xch, domid, &sc);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: getting credit scheduler "
              "parameters", domid);
        return libxl__xc_error(r);
    }
    libxl_domain_sched_params_init(params);
    params->sched = LIBXL_SCHEDULER_CREDIT;
    params->weight = sc.weight;
    params->cap = sc.cap;
    return 0;
}

int libxl_domain_sched_params_set(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_domain_sched_params *params)
{
    struct xen_domctl_sched_credit sc;
    xc_dominfo_t info;
    int r, rc, max_cap;

    rc = check_guest(ctx, domid, "libxl_domain_sched_params_set");
    if (rc)
        return rc;
    if (params->weight != LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT &&
        (params->weight < 1 || params->weight > 65535)) {
        LOG(ctx, ERROR, "domain %u: cpu weight %d out of range, valid "
            "values are within range from 1 to 65535", domid,
            params->weight);
        return ERROR_INVAL;
    }
    if (domid == 0) {
        LOG(ctx, ERROR, "domain 0: Domain-0 is the host: its scheduling "
            "is the host's own, not the core's");
        return ERROR_NI;
    }
    if (params->sched != LIBXL_SCHEDULER_UNKNOWN &&
        params->sched != LIBXL_SCHEDULER_CREDIT) {
        LOG(ctx, ERROR, "domain %u: scheduler %s: only credit is available",
            domid, libxl_scheduler_to_string(params->sched) ?: "?");
        return ERROR_INVAL;
    }
    r = xc_domain_getinfo_single(ctx->xch, domid, &info);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: scheduler parameters", domid);
        return libxl__xc_error(r);
    }
    max_cap = (int)(info.max_vcpu_id + 1) * 100;
    sc.weight = 0;                       /* Xen's "keep" */
    sc.cap = 0xFFFF;
    if (params->weight != LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT)
        sc.weight = (uint16_t)params->weight;
    if (params->cap != LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT) {
        if (params->cap < 0 || params->cap > max_cap) {
            LOG(ctx, ERROR, "domain %u: cpu cap %d out of range, valid "
                "range is from 0 to %d for its number of vcpus", domid,
                params->cap, max_cap);
            return ERROR_INVAL;
        }
        sc.cap = (uint16_t)params->cap;
    }
    r = xc_sched_credit_domain_set(ctx->xch, domid, &sc);
    if (r == -EOPNOTSUPP) {
        LOG(ctx, ERROR, "domain %u: scheduler parameters cannot be applied: "
            "the host has no cgroup cpu controller (see xl dmesg)", domid);
        return ERROR_NI;
    }
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: setting credit scheduler "
              "parameters (weight %d, cap %d)", domid, params->weight,
              params->cap);
        return libxl__xc_error(r);
    }
    return 0;
}

/* Xen's credit defaults; the host's scheduler stands in for them. */
#define CREDIT_TSLICE_MS 30
#define CREDIT_RATELIMIT_US 1000
#define CREDIT_MIGR_DELAY_US 0
/* Xen's ranges (sysctl.h). */
#define CREDIT_TSLICE_MIN 1
#define CREDIT_TSLICE_MAX 1000
#define CREDIT_RATELIMIT_MIN 100
#define CREDIT_RATELIMIT_MAX 500000
#define CREDIT_MIGR_DELAY_MAX (100 * 1000)

static int check_pool(libxl_ctx *ctx, uint32_t poolid, const char *what)
{
    if (poolid == 0)
        return 0;
    LOG(ctx, ERROR, "%s: cpupool %u does not exist (only Pool-0, 0)",
        what, poolid);
    return ERROR_INVAL;
}

int libxl_sched_credit_params_get(libxl_ctx *ctx, uint32_t poolid,
                                  libxl_sched_credit_params *scinfo)
{
    int rc = check_pool(ctx, poolid, "libxl_sched_credit_params_get");

    if (rc)
        return rc;
    libxl_sched_credit_params_init(scinfo);
    scinfo->tslice_ms = CREDIT_TSLICE_MS;
    scinfo->ratelimit_us = CREDIT_RATELIMIT_US;
    scinfo->vcpu_migr_delay_us = CREDIT_MIGR_DELAY_US;
    return 0;
}

int libxl_sched_credit_params_set(libxl_ctx *ctx, uint32_t poolid,
                                  libxl_sched_credit_params *scinfo)
{
    int rc = check_pool(ctx, poolid, "libxl_sched_credit_params_set");

    if (rc)
        return rc;
    if (scinfo->tslice_ms < CREDIT_TSLICE_MIN ||
        scinfo->tslice_ms > CREDIT_TSLICE_MAX) {
        LOG(ctx, ERROR, "cpupool %u: time slice %d ms out of range, valid "
            "values are within range from %d to %d", poolid,
            scinfo->tslice_ms, CREDIT_TSLICE_MIN, CREDIT_TSLICE_MAX);
        return ERROR_INVAL;
    }
    if (scinfo->ratelimit_us != 0 &&
        (scinfo->ratelimit_us < CREDIT_RATELIMIT_MIN ||
         scinfo->ratelimit_us > CREDIT_RATELIMIT_MAX)) {
        LOG(ctx, ERROR, "cpupool %u: rate limit %d us out of range, valid "
            "values are 0 or within range from %d to %d", poolid,
            scinfo->ratelimit_us, CREDIT_RATELIMIT_MIN,
            CREDIT_RATELIMIT_MAX);
        return ERROR_INVAL;
    }
    if (scinfo->ratelimit_us > scinfo->tslice_ms * 1000) {
        LOG(ctx, ERROR, "cpupool %u: rate limit %d us cannot be greater "
            "than the time slice (%d ms)", poolid, scinfo->ratelimit_us,
            scinfo->tslice_ms);
        return ERROR_INVAL;
    }
    if (scinfo->vcpu_migr_delay_us < 0 ||
        scinfo->vcpu_migr_delay_us > CREDIT_MIGR_DELAY_MAX) {
        LOG(ctx, ERROR, "cpupool %u: migration delay %d us out of range, "
            "valid values are within range from 0 to %d", poolid,
            scinfo->vcpu_migr_delay_us, CREDIT_MIGR_DELAY_MAX);
        return ERROR_INVAL;
    }
    if (scinfo->tslice_ms != CREDIT_TSLICE_MS ||
        scinfo->ratelimit_us != CREDIT_RATELIMIT_US ||
        scinfo->vcpu_migr_delay_us != CREDIT_MIGR_DELAY_US) {
        LOG(ctx, ERROR, "cpupool %u: the core's vCPUs run under the host's "
            "scheduler: tslice %d ms, ratelimit %d us and migration delay "
            "%d us are fixed", poolid, CREDIT_TSLICE_MS,
            CREDIT_RATELIMIT_US, CREDIT_MIGR_DELAY_US);
        return ERROR_NI;
    }
    return 0;
}

char *libxl_cpupoolid_to_name(libxl_ctx *ctx, uint32_t poolid)
{
    (void)ctx;
    return poolid == 0 ? libxl__strdup_or_die("Pool-0") : NULL;
}

uint32_t libxl_vm_get_start_time(libxl_ctx *ctx, uint32_t domid)
{
    GC_INIT;
    char *vm, *st;
    uint32_t ret = (uint32_t)-1;

    if (libxl__need_daemons(ctx, "libxl_vm_get_start_time"))
        goto out;
    vm = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                        GCSPRINTF("/local/domain/%u/vm", domid)));
    st = vm ? libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                        GCSPRINTF("%s/start_time", vm))) : NULL;
    if (!st) {
        LOG(ctx, ERROR, "domain %u: can't get its start time", domid);
        goto out;
    }
    ret = (uint32_t)strtoul(st, NULL, 10);
out:
    GC_FREE;
    return ret;
}
