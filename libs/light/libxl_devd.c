/*
 * libxl_devd.c - libxl_device_events_handler (xl devd): this host as
 * the driver domain of domains another toolstack made.
 *
 * It watches /local/domain/0/backend/vbd and /local/domain/0/backend/vif.
 * A device directory <kind>/<domid>/<devid> that appears there for a
 * domain whose backend process of that class is not running
 * (libxl__backend_pid) gets one started (libxl__backend_spawn); the
 * backend serves every device under <kind>/<domid> and answers in each
 * (hotplug-status "connected", or "error" with hotplug-error).  Once a
 * vif is connected its hotplug script runs (libxl__vif_hotplug
 * "online", with the directory's script and bridge; ip and gatewaydev
 * are copied into /libxl/<domid>/device/vif/<devid>, where
 * libxl__vif_hotplug hands them to the script), and "offline" when the
 * directory goes.  The backends leave by themselves when the domain
 * does (/local/domain/<domid> removed), not when their last device
 * goes: that is when this handler stops them (SIGTERM, their clean
 * exit), as Xen's devd stops a domain's qdisk backend with its last
 * disk.
 *
 * Domains the core has are left alone: this host's libxl made them and
 * serves their devices itself (it starts their backends at create and
 * at block-/network-attach; two starters would race for the backend's
 * lock).  What this handler writes of its own: /libxl/<domid>/<class>-
 * pid (libxl__backend_spawn), the vif records above; both go with the
 * domain's last device.  The backends' logs are
 * <rundir>/backends/<kind>-<domid>.log, removed when the handler forgets
 * the domain (its last device gone).
 *
 * Single-threaded: one poll over xenstore's fd and a self-pipe that
 * SIGTERM and SIGINT write to (their handlers are this function's while
 * it runs), woken each second for backends that died or take too long.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "libxl_dm.h"

/* How long a backend may take to answer for a new device (as libxl
 * waits at create: qsd's start-up under emulation included). */
#define DEVD_READY_MS 20000
/* How long a backend just started may take to reach its exec. */
#define DEVD_EXEC_MS 5000
/* How long a backend stopped with SIGTERM may take to leave. */
#define DEVD_STOP_MS 5000

enum devd_state {
    DEV_WAITING,        /* its backend has not answered yet */
    DEV_CONNECTED,      /* served (and a vif's script run) */
    DEV_FAILED,         /* refused or unserved: logged, left as it is */
};

struct devd_dev {
    const struct libxl__backend_class *cls;
    uint32_t domid;
    int devid;
    enum devd_state state;
    bool seen;              /* its directory is there this scan */
    bool started;           /* its backend was found or started */
    struct timespec since;  /* when it was first seen */
    /* a vif whose script ran "online": what "offline" needs */
    bool online;
    char *tap, *script, *bridge;
    struct devd_dev *next;
};

/* A backend process this handler started or found serving a domain. */
struct devd_backend {
    const struct libxl__backend_class *cls;
    uint32_t domid;
    pid_t pid;
    struct timespec spawned;    /* when this handler started it */
    struct devd_backend *next;
};

struct devd {
    libxl_ctx *ctx;
    struct devd_dev *devs;
    struct devd_backend *bes;
    struct { uint32_t domid; bool seen; } *core; /* the core's domains */
    size_t n_core;
    bool first_scan;
};

static const struct libxl__backend_class *const devd_classes[] = {
    &libxl__blkback_class,
    &libxl__netback_class,
};
#define N_CLASSES (sizeof(devd_classes) / sizeof(devd_classes[0]))

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t sig_got;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;

    sig_got = sig;
    if (sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
        /* full: one byte is enough to wake the loop */
    }
    errno = saved;
}

static const char *run_dir(void)
{
    const char *r = getenv("XENOLITH_RUNDIR");

    return r && *r ? r : "/run/xenolith";
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)(t1.tv_sec - t0->tv_sec) * 1000 +
           (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* "<kind>/<domid>/<devid>" in the backend tree; malloc'd. */
static char *be_path(const struct libxl__backend_class *cls, uint32_t domid,
                     int devid)
{
    return libxl__sprintf("/local/domain/0/backend/%s/%u/%d", cls->kind,
                          domid, devid);
}

static char *be_read(libxl_ctx *ctx, const struct devd_dev *d,
                     const char *key)
{
    char *p = libxl__sprintf("/local/domain/0/backend/%s/%u/%d/%s",
                             d->cls->kind, d->domid, d->devid, key);
    char *v = libxl__xs_read(ctx, XBT_NULL, p);

    free(p);
    return v;
}

/* The device's name for messages: "vbd 51712 (xvda)", "vif 0". */
static char *dev_name(libxl_ctx *ctx, const struct devd_dev *d)
{
    char *vdev = strcmp(d->cls->kind, "vbd") ? NULL : be_read(ctx, d, "dev");
    char *s = vdev && *vdev
        ? libxl__sprintf("%s %d (%s)", d->cls->kind, d->devid, vdev)
        : libxl__sprintf("%s %d", d->cls->kind, d->devid);

    free(vdev);
    return s;
}

/* Whether a decimal number, within range; *v_r its value. */
static bool number(const char *s, unsigned long max, unsigned long *v_r)
{
    char *end;
    unsigned long v;

    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *v_r = v;
    return true;
}

/* ------------------------------------------------------------ xenstore */

struct error_args {
    const char *dir, *why;
};

/* hotplug-status "error" and hotplug-error, if the directory is still
 * there (a write must not bring a removed device back). */
static int error_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    const struct error_args *a = arg;
    unsigned int n;
    char **ents = xs_directory(ctx->xsh, t, a->dir, &n);
    int rc;

    if (!ents)
        return 0;
    free(ents);
    rc = libxl__backend_write(ctx, t, a->dir, "hotplug-error", a->why);
    if (!rc)
        rc = libxl__backend_write(ctx, t, a->dir, "hotplug-status", "error");
    return rc;
}

/* The device failed: logged, and said in its directory. */
static void dev_fail(struct devd *dd, struct devd_dev *d, const char *why)
{
    libxl_ctx *ctx = dd->ctx;
    char *name = dev_name(ctx, d);
    struct error_args a = { be_path(d->cls, d->domid, d->devid), why };

    LOG(ctx, ERROR, "domain %u: %s: %s", d->domid, name, why);
    libxl__xs_transaction(ctx, d->domid, "the device's hotplug-error",
                          error_body, &a);
    d->state = DEV_FAILED;
    free((char *)a.dir);
    free(name);
}

/* Removes path when it has no entries. */
static void rm_if_empty(libxl_ctx *ctx, const char *path)
{
    unsigned int n = 0;
    char **ents = xs_directory(ctx->xsh, XBT_NULL, path, &n);

    free(ents);
    if (ents && n == 0)
        xs_rm(ctx->xsh, XBT_NULL, path);
}

/* What this handler wrote of a domain's class, once it has neither its
 * devices nor its backend: the backend's pid key and log; and with the
 * domain's last class, the vif records and /libxl/<domid> when nothing
 * else is left in it. */
static void forget(struct devd *dd, const struct libxl__backend_class *cls,
                   uint32_t domid)
{
    libxl_ctx *ctx = dd->ctx;
    struct devd_backend *b;
    struct devd_dev *d;
    char *p;

    for (d = dd->devs; d; d = d->next)
        if (d->cls == cls && d->domid == domid)
            return;
    for (b = dd->bes; b; b = b->next)
        if (b->cls == cls && b->domid == domid)
            return;
    if (!libxl__backend_pid(ctx, cls, domid)) {
        p = libxl__sprintf("/libxl/%u/%s-pid", domid, cls->pid_name);
        xs_rm(ctx->xsh, XBT_NULL, p);
        free(p);
        p = libxl__sprintf("%s/backends/%s-%u.log", run_dir(), cls->kind,
                           domid);
        unlink(p);
        free(p);
    }
    for (d = dd->devs; d; d = d->next)
        if (d->domid == domid)
            return;
    for (b = dd->bes; b; b = b->next)
        if (b->domid == domid)
            return;
    p = libxl__sprintf("/libxl/%u/device/vif", domid);
    rm_if_empty(ctx, p);
    free(p);
    p = libxl__sprintf("/libxl/%u/device", domid);
    rm_if_empty(ctx, p);
    free(p);
    p = libxl__sprintf("/libxl/%u", domid);
    rm_if_empty(ctx, p);
    free(p);
}

/* ------------------------------------------------------------ backends */

static struct devd_backend *find_backend(struct devd *dd,
                                         const struct libxl__backend_class *c,
                                         uint32_t domid)
{
    struct devd_backend *b;

    for (b = dd->bes; b; b = b->next)
        if (b->cls == c && b->domid == domid)
            return b;
    return NULL;
}

static void drop_backend(struct devd *dd, struct devd_backend *gone)
{
    struct devd_backend **pp;

    for (pp = &dd->bes; *pp; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            free(gone);
            return;
        }
    }
}

/* Whether the backend b recorded runs still: libxl__backend_pid's
 * answer (the pid recorded, its command line the backend's), but in the
 * first seconds after the start only that its process runs, not a
 * zombie: until the backend's exec its command line is the middle
 * process's, or libtool's wrapper's.  The backend was started in a
 * session of its own and is not this process's child: init reaps it. */
static bool backend_runs(struct devd *dd, const struct devd_backend *b)
{
    char path[64], buf[256], *p;
    ssize_t n;
    int fd;

    if (ms_since(&b->spawned) >= DEVD_EXEC_MS)
        return libxl__backend_pid(dd->ctx, b->cls, b->domid) == b->pid;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)b->pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/*
 * The domain's backend of class cls for its new devices: the one that
 * runs, or one started now.  NULL when none could be (each waiting
 * device of that domain and class then fails, saying why).
 */
static struct devd_backend *ensure_backend(struct devd *dd,
                                           const struct libxl__backend_class
                                           *cls, uint32_t domid)
{
    libxl_ctx *ctx = dd->ctx;
    struct devd_backend *b = find_backend(dd, cls, domid);
    struct devd_dev *d;
    char *p, *v, *why = NULL;
    bool found = false;
    unsigned int n;
    pid_t pid;

    if (b && backend_runs(dd, b))
        return b;
    if (b)
        drop_backend(dd, b);
    pid = libxl__backend_pid(ctx, cls, domid);
    if (pid) {
        LOG(ctx, INFO, "domain %u: its %s runs already (pid %d)", domid,
            cls->what, (int)pid);
        found = true;
        goto record;
    }
    /* the backend refuses to start for a domain xenstore does not have */
    p = libxl__sprintf("/local/domain/%u", domid);
    v = xs_read(ctx->xsh, XBT_NULL, p, &n);
    free(v);
    if (!v) {
        why = libxl__sprintf("cannot start the %s: domain %u does not "
                             "exist (no %s in xenstore)", cls->what, domid,
                             p);
        free(p);
        goto failed;
    }
    free(p);
    /* an answer left by an earlier backend is not this one's */
    for (d = dd->devs; d; d = d->next) {
        if (d->cls != cls || d->domid != domid || d->state != DEV_WAITING)
            continue;
        p = libxl__sprintf("/local/domain/0/backend/%s/%u/%d/hotplug-status",
                           cls->kind, domid, d->devid);
        xs_rm(ctx->xsh, XBT_NULL, p);
        free(p);
        p = libxl__sprintf("/local/domain/0/backend/%s/%u/%d/hotplug-error",
                           cls->kind, domid, d->devid);
        xs_rm(ctx->xsh, XBT_NULL, p);
        free(p);
    }
    if (libxl__backend_spawn(ctx, cls, domid, &pid)) {
        why = libxl__sprintf("cannot start the %s (see above)", cls->what);
        goto failed;
    }
    LOG(ctx, INFO, "domain %u: started its %s (pid %d)", domid, cls->what,
        (int)pid);
record:
    b = libxl__calloc_or_die(1, sizeof(*b));
    b->cls = cls;
    b->domid = domid;
    b->pid = pid;
    clock_gettime(CLOCK_MONOTONIC, &b->spawned);
    if (found)      /* not ours: its command line is the backend's */
        b->spawned.tv_sec -= DEVD_EXEC_MS / 1000 + 1;
    b->next = dd->bes;
    dd->bes = b;
    return b;

failed:
    for (d = dd->devs; d; d = d->next)
        if (d->cls == cls && d->domid == domid && d->state == DEV_WAITING)
            dev_fail(dd, d, why);
    free(why);
    return NULL;
}

/* Stops a backend whose domain has no devices of its class left: SIGTERM
 * (it closes its connections and removes its sockets and taps), and
 * what libxl's teardown does when it does not leave in time. */
static void stop_backend(struct devd *dd, struct devd_backend *b)
{
    libxl_ctx *ctx = dd->ctx;
    struct timespec t0;

    if (backend_runs(dd, b)) {
        LOG(ctx, INFO, "domain %u: no %s devices left: stopping its %s "
            "(pid %d)", b->domid, b->cls->kind, b->cls->what, (int)b->pid);
        kill(b->pid, SIGTERM);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (backend_runs(dd, b) && ms_since(&t0) < DEVD_STOP_MS)
            libxl__nap_ms(20);
        if (backend_runs(dd, b)) {
            LOG(ctx, WARN, "domain %u: the %s (pid %d) did not stop in "
                "%d s", b->domid, b->cls->what, (int)b->pid,
                DEVD_STOP_MS / 1000);
            libxl__backend_stop(ctx, b->cls, b->domid, b->pid);
        }
    } else {
        char *tail = libxl__backend_log_tail(b->cls, b->domid);

        LOG(ctx, INFO, "domain %u: its %s (pid %d) exited: %s", b->domid,
            b->cls->what, (int)b->pid, tail ? tail : "(its log is empty)");
        free(tail);
    }
    drop_backend(dd, b);
}

/* ------------------------------------------------------------ devices */

static void dev_free(struct devd_dev *d)
{
    free(d->tap);
    free(d->script);
    free(d->bridge);
    free(d);
}

/* The vif's record for its script: ip and gatewaydev, where
 * libxl__vif_hotplug reads them. */
static void vif_record(libxl_ctx *ctx, const struct devd_dev *d)
{
    static const char *const keys[] = { "ip", "gatewaydev" };
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *v = be_read(ctx, d, keys[i]);
        char *p = libxl__sprintf("/libxl/%u/device/vif/%d/%s", d->domid,
                                 d->devid, keys[i]);

        if (v && *v)
            libxl__xs_write(ctx, XBT_NULL, p, v);
        free(p);
        free(v);
    }
}

static void vif_record_rm(libxl_ctx *ctx, const struct devd_dev *d)
{
    char *p = libxl__sprintf("/libxl/%u/device/vif/%d", d->domid, d->devid);

    xs_rm(ctx->xsh, XBT_NULL, p);
    free(p);
}

/* The vif's tap, script and bridge (for "offline" after it went). */
static void vif_keys(libxl_ctx *ctx, struct devd_dev *d)
{
    char *s;

    free(d->tap);
    free(d->script);
    free(d->bridge);
    d->tap = be_read(ctx, d, "vifname");
    if (!d->tap || !*d->tap) {
        free(d->tap);
        d->tap = libxl__sprintf("vif%u.%d", d->domid, d->devid);
    }
    s = be_read(ctx, d, "script");
    d->script = s && *s ? s : (free(s), NULL);
    s = be_read(ctx, d, "bridge");
    d->bridge = s && *s ? s : (free(s), NULL);
}

/* The backend answered "connected": a vif's script puts its tap on its
 * bridge. */
static void dev_connected(struct devd *dd, struct devd_dev *d)
{
    libxl_ctx *ctx = dd->ctx;
    char *name = dev_name(ctx, d), *why;

    if (!strcmp(d->cls->kind, "vif")) {
        vif_keys(ctx, d);
        vif_record(ctx, d);
        if (libxl__vif_hotplug(ctx, d->domid, d->devid, d->script,
                               d->bridge, d->tap, "online")) {
            why = libxl__sprintf("the hotplug script %s failed to put tap "
                                 "%s online (the reason is in xl devd's "
                                 "log)", d->script ? d->script
                                                   : "vif-bridge", d->tap);
            dev_fail(dd, d, why);
            free(why);
            vif_record_rm(ctx, d);
            free(name);
            return;
        }
        d->online = true;
        LOG(ctx, INFO, "domain %u: %s connected: tap %s online%s%s", d->domid,
            name, d->tap, d->bridge ? " on bridge " : "",
            d->bridge ? d->bridge : "");
    } else {
        LOG(ctx, INFO, "domain %u: %s connected", d->domid, name);
    }
    d->state = DEV_CONNECTED;
    free(name);
}

/* What the backend says of a waiting device. */
static void dev_check(struct devd *dd, struct devd_dev *d)
{
    libxl_ctx *ctx = dd->ctx;
    struct devd_backend *b = find_backend(dd, d->cls, d->domid);
    char *st = be_read(ctx, d, "hotplug-status"), *err, *why, *tail;

    if (st && !strcmp(st, "connected")) {
        dev_connected(dd, d);
    } else if (st && !strcmp(st, "error")) {
        char *name = dev_name(ctx, d);

        err = be_read(ctx, d, "hotplug-error");
        LOG(ctx, ERROR, "domain %u: %s: the %s cannot serve it: %s",
            d->domid, name, d->cls->what, err ? err : "(no reason given)");
        d->state = DEV_FAILED;
        free(err);
        free(name);
    } else if (!b || !backend_runs(dd, b)) {
        tail = libxl__backend_log_tail(d->cls, d->domid);
        why = libxl__sprintf("the %s exited before serving it: %s",
                             d->cls->what, tail ? tail
                                                : "(its log is empty)");
        dev_fail(dd, d, why);
        free(why);
        free(tail);
    } else if (ms_since(&d->since) >= DEVD_READY_MS) {
        why = libxl__sprintf("the %s (pid %d) did not serve it within %d s",
                             d->cls->what, (int)b->pid,
                             DEVD_READY_MS / 1000);
        dev_fail(dd, d, why);
        free(why);
    }
    free(st);
}

/* A device whose directory went: a vif's script takes it offline (the
 * backend drops the tap itself). */
static void dev_gone(struct devd *dd, struct devd_dev *d)
{
    libxl_ctx *ctx = dd->ctx;

    if (d->online) {
        libxl__vif_hotplug(ctx, d->domid, d->devid, d->script, d->bridge,
                           d->tap, "offline");
        vif_record_rm(ctx, d);
    }
    LOG(ctx, INFO, "domain %u: %s %d removed", d->domid, d->cls->kind,
        d->devid);
}

static struct devd_dev *find_dev(struct devd *dd,
                                 const struct libxl__backend_class *cls,
                                 uint32_t domid, int devid)
{
    struct devd_dev *d;

    for (d = dd->devs; d; d = d->next)
        if (d->cls == cls && d->domid == domid && d->devid == devid)
            return d;
    return NULL;
}

/* Whether the domain is one the core has (this host's toolstack made
 * it and serves its devices), remembered while it has device
 * directories: 1, 0, or -1 when the core cannot say now. */
static int core_domain(struct devd *dd, uint32_t domid)
{
    size_t i;
    int rc;

    for (i = 0; i < dd->n_core; i++) {
        if (dd->core[i].domid == domid) {
            dd->core[i].seen = true;
            return 1;
        }
    }
    rc = libxl_domain_info(dd->ctx, NULL, domid);
    if (rc == ERROR_DOMAIN_NOTFOUND)
        return 0;
    if (rc)
        return -1;
    LOG(dd->ctx, DEBUG, "domain %u: this host's toolstack serves its "
        "devices", domid);
    dd->core = libxl__realloc_or_die(dd->core,
                                     (dd->n_core + 1) * sizeof(*dd->core));
    dd->core[dd->n_core].domid = domid;
    dd->core[dd->n_core++].seen = true;
    return 1;
}

/*
 * One domain's directory <kind>/<domid>: its devices marked seen, new
 * ones recorded.  Those of a domain the core has are not this handler's;
 * one the core cannot be asked about now waits for the next scan.
 */
static void scan_domain(struct devd *dd,
                        const struct libxl__backend_class *cls,
                        uint32_t domid)
{
    libxl_ctx *ctx = dd->ctx;
    char *dir = libxl__sprintf("/local/domain/0/backend/%s/%u", cls->kind,
                               domid);
    unsigned int i, n = 0;
    char **ents = xs_directory(ctx->xsh, XBT_NULL, dir, &n);
    int core = -2;

    for (i = 0; ents && i < n; i++) {
        struct devd_dev *d;
        unsigned long devid;

        if (!number(ents[i], INT32_MAX, &devid))
            continue;
        d = find_dev(dd, cls, domid, (int)devid);
        if (d) {
            d->seen = true;
            continue;
        }
        if (core == -2)
            core = core_domain(dd, domid);
        if (core)
            break;
        d = libxl__calloc_or_die(1, sizeof(*d));
        d->cls = cls;
        d->domid = domid;
        d->devid = (int)devid;
        d->seen = true;
        d->state = DEV_WAITING;
        clock_gettime(CLOCK_MONOTONIC, &d->since);
        d->next = dd->devs;
        dd->devs = d;
    }
    free(ents);
    free(dir);
}

/* At the first scan, a device an earlier handler's backend serves
 * already is taken over as it is (a vif's script ran then). */
static void adopt(struct devd *dd, struct devd_dev *d)
{
    libxl_ctx *ctx = dd->ctx;
    char *st = be_read(ctx, d, "hotplug-status"), *name;

    if (st && !strcmp(st, "connected") &&
        libxl__backend_pid(ctx, d->cls, d->domid)) {
        name = dev_name(ctx, d);
        if (!strcmp(d->cls->kind, "vif")) {
            vif_keys(ctx, d);
            d->online = true;
        }
        d->state = DEV_CONNECTED;
        LOG(ctx, INFO, "domain %u: %s served already", d->domid, name);
        free(name);
    }
    free(st);
}

/* Everything again: the trees listed, devices gone and new handled, the
 * waiting ones checked, backends left without devices stopped. */
static void scan(struct devd *dd)
{
    libxl_ctx *ctx = dd->ctx;
    struct devd_dev *d, *e, **pp;
    struct devd_backend *b, *bnext;
    struct { const struct libxl__backend_class *cls; uint32_t domid; }
        *gone = NULL;
    size_t c, i, n_gone = 0;

    for (d = dd->devs; d; d = d->next)
        d->seen = false;
    for (i = 0; i < dd->n_core; i++)
        dd->core[i].seen = false;
    for (c = 0; c < N_CLASSES; c++) {
        const struct libxl__backend_class *cls = devd_classes[c];
        char *top = libxl__sprintf("/local/domain/0/backend/%s", cls->kind);
        unsigned int k, n = 0;
        char **doms = xs_directory(ctx->xsh, XBT_NULL, top, &n);

        for (k = 0; doms && k < n; k++) {
            unsigned long domid;

            /* 1 .. DOMID_FIRST_RESERVED - 1 */
            if (number(doms[k], 0x7fef, &domid) && domid != 0)
                scan_domain(dd, cls, (uint32_t)domid);
        }
        free(doms);
        free(top);
    }
    /* the core's domains without device directories are forgotten */
    for (i = c = 0; i < dd->n_core; i++)
        if (dd->core[i].seen)
            dd->core[c++] = dd->core[i];
    dd->n_core = c;
    /* the devices that went */
    for (pp = &dd->devs; *pp;) {
        d = *pp;
        if (d->seen) {
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        dev_gone(dd, d);
        gone = libxl__realloc_or_die(gone, (n_gone + 1) * sizeof(*gone));
        gone[n_gone].cls = d->cls;
        gone[n_gone++].domid = d->domid;
        dev_free(d);
    }
    /* new devices: their domain's backend, started if none runs */
    for (d = dd->devs; d; d = d->next) {
        if (d->state != DEV_WAITING || d->started)
            continue;
        if (dd->first_scan)
            adopt(dd, d);
        if (!ensure_backend(dd, d->cls, d->domid))
            continue;
        for (e = dd->devs; e; e = e->next)
            if (e->cls == d->cls && e->domid == d->domid)
                e->started = true;
    }
    for (d = dd->devs; d; d = d->next)
        if (d->state == DEV_WAITING && d->started)
            dev_check(dd, d);
    /* backends without devices, and those that left by themselves */
    for (b = dd->bes; b; b = bnext) {
        bool any = false;

        bnext = b->next;
        for (d = dd->devs; d && !any; d = d->next)
            any = d->cls == b->cls && d->domid == b->domid;
        if (!any) {
            stop_backend(dd, b);
        } else if (!backend_runs(dd, b)) {
            char *tail = libxl__backend_log_tail(b->cls, b->domid);

            LOG(ctx, WARN, "domain %u: its %s (pid %d) exited: %s",
                b->domid, b->cls->what, (int)b->pid,
                tail ? tail : "(its log is empty)");
            free(tail);
            drop_backend(dd, b);
        }
    }
    for (i = 0; i < n_gone; i++)
        forget(dd, gone[i].cls, gone[i].domid);
    free(gone);
    dd->first_scan = false;
}

/* At the end: the records (the backends keep serving their devices). */
static void forget_all(struct devd *dd)
{
    struct devd_dev *d;

    while ((d = dd->devs) != NULL) {
        dd->devs = d->next;
        dev_free(d);
    }
    while (dd->bes)
        drop_backend(dd, dd->bes);
    free(dd->core);
    dd->core = NULL;
    dd->n_core = 0;
}

/* ------------------------------------------------------------ the loop */

#define DEVD_TOKEN "libxl-devd"

int libxl_device_events_handler(libxl_ctx *ctx,
                                const libxl_asyncop_how *ao_how)
{
    struct devd dd = { .ctx = ctx, .first_scan = true };
    struct sigaction sa, old_term, old_int;
    sigset_t unblock, old_mask;
    char *paths[N_CLASSES] = { NULL };
    bool watched[N_CLASSES] = { false };
    size_t c;
    int rc;

    rc = libxl__need_daemons(ctx, "libxl_device_events_handler");
    if (rc)
        return rc;
    if (sig_pipe[0] >= 0) {
        LOG(ctx, ERROR, "libxl_device_events_handler runs already in this "
            "process");
        return ERROR_INVAL;
    }
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        LOGE(ctx, ERROR, "device events: a pipe for the signals");
        sig_pipe[0] = sig_pipe[1] = -1;
        return ERROR_FAIL;
    }
    sig_got = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    /* a caller may have held them back until now (xl devd does, from
     * before its pidfile): one pending is delivered here */
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGTERM);
    sigaddset(&unblock, SIGINT);
    sigprocmask(SIG_UNBLOCK, &unblock, &old_mask);

    for (c = 0; c < N_CLASSES; c++) {
        paths[c] = libxl__sprintf("/local/domain/0/backend/%s",
                                  devd_classes[c]->kind);
        if (!xs_watch(ctx->xsh, paths[c], DEVD_TOKEN)) {
            LOGE(ctx, ERROR, "device events: watching %s", paths[c]);
            rc = ERROR_FAIL;
            goto out;
        }
        watched[c] = true;
    }
    LOG(ctx, INFO, "serving the devices of other toolstacks' domains "
        "under /local/domain/0/backend/{vbd,vif}");
    scan(&dd);
    while (!sig_got) {
        struct pollfd pfd[2] = {
            { .fd = xs_fileno(ctx->xsh), .events = POLLIN },
            { .fd = sig_pipe[0], .events = POLLIN },
        };
        char **w;
        int r;

        r = poll(pfd, 2, 1000);
        if (r < 0 && errno != EINTR) {
            LOGE(ctx, ERROR, "device events: poll");
            rc = ERROR_FAIL;
            goto out;
        }
        if (sig_got)
            break;
        /* whatever changed, and each second: backends that died,
         * devices that wait too long */
        while ((w = xs_check_watch(ctx->xsh)) != NULL)
            free(w);
        scan(&dd);
    }
    LOG(ctx, INFO, "%s: no longer serving devices (the backends keep "
        "serving theirs)", strsignal(sig_got));
    rc = 0;
out:
    for (c = 0; c < N_CLASSES; c++) {
        if (watched[c])
            xs_unwatch(ctx->xsh, paths[c], DEVD_TOKEN);
        free(paths[c]);
    }
    forget_all(&dd);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
    return libxl__ao_complete(ctx, 0, ao_how, rc);
}
