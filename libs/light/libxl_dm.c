/*
 * libxl_dm.c - domains whose machine is qemu-system-x86_64 (the device
 * model): HVM domains, and PVH domains when the accelerator is TCG.
 * This file builds and tears them down; libxl_dm.h names the others.
 *
 * The core keeps the domain's record (XC_DOMCFG_DEVICE_MODEL: no KVM VM
 * of its own); libxl starts qemu paused through libxendm, hands it to
 * the core (xc_domain_attach_dm), puts the NICs' taps on their bridges
 * (the vif hotplug script) and lets go of qemu.  Later commands
 * (cd-insert, mem-set, vcpu-set) reach qemu through the core
 * (xc_dm_qmp), its one client.
 *
 * What a device-model domain leaves on the host, and teardown removes:
 * qemu (the core kills it), $XENOLITH_RUNDIR/qemu-dm/qemu-dm-<domid>.*,
 * the taps, and the xenstore nodes /local/domain/0/device-model/<domid>
 * and /libxl/<domid>/...
 */
#include "libxl.h"

#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libxl_dm.h"

#define DM_VERSION "qemu_xen"

static void dm_log(void *opaque, enum xendm_level level, const char *msg)
{
    libxl_ctx *ctx = opaque;
    static const xentoollog_level map[] = {
        [XENDM_DEBUG] = XTL_DEBUG,
        [XENDM_INFO] = XTL_INFO,
        [XENDM_NOTICE] = XTL_NOTICE,
        [XENDM_WARN] = XTL_WARN,
        [XENDM_ERROR] = XTL_ERROR,
    };

    libxl__log(ctx, map[level], -1, __FILE__, __LINE__, "qemu-dm", "%s",
               msg);
}

static void dm_logger(libxl_ctx *ctx, struct xendm_logger *lg)
{
    lg->log = dm_log;
    lg->opaque = ctx;
}

char *libxl__dm_run_dir(void)
{
    const char *rundir = getenv("XENOLITH_RUNDIR");

    if (!rundir || !*rundir)
        rundir = "/run/xenolith";
    return libxl__sprintf("%s/qemu-dm", rundir);
}

bool libxl__domain_is_dm(libxl_ctx *ctx, uint32_t domid)
{
    char *path = libxl__sprintf("/libxl/%u/dm-version", domid);
    char *v = libxl__xs_read(ctx, XBT_NULL, path);
    bool r = v != NULL;

    free(v);
    free(path);
    return r;
}

/* /libxl/<domid>: dm-version, dm-accel and the devices as xl lists them */
struct dm_xs_args {
    uint32_t domid;
    const libxl_domain_config *d_config;
    const struct libxl__dm_build *d;
};

static int dm_xs_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    const struct dm_xs_args *a = arg;
    char *lx = libxl__sprintf("/libxl/%u", a->domid);
    char *path = libxl__sprintf("%s/dm-version", lx);
    int rc;

    rc = libxl__xs_write(ctx, t, path, DM_VERSION);
    free(path);
    path = libxl__sprintf("%s/dm-accel", lx);
    if (!rc)
        rc = libxl__xs_write(ctx, t, path,
                             a->d->cfg.accel == XENDM_ACCEL_KVM ? "kvm"
                                                                : "tcg");
    free(path);
    free(lx);
    if (!rc)
        rc = libxl__dm_nics_xs(ctx, t, a->domid, a->d_config, a->d);
    if (!rc)
        rc = libxl__dm_disks_xs(ctx, t, a->domid, a->d_config, a->d);
    return rc;
}

static int write_dm_xs(libxl_ctx *ctx, uint32_t domid,
                       libxl_domain_config *d_config,
                       struct libxl__dm_build *d)
{
    struct dm_xs_args a = { domid, d_config, d };

    return libxl__xs_transaction(ctx, domid, "the device model nodes",
                                 dm_xs_body, &a);
}
/*
 * The display passwords go to qemu over QMP, not on its command line
 * (where `ps` would show them): VNC's (change-vnc-password) and SPICE's
 * ticket (set_password).  Until then nobody can connect.
 */
static int set_display_passwords(libxl_ctx *ctx, uint32_t domid,
                                 const struct xendm_hvm *h)
{
    char *args;
    int r;

    if (!h)
        return 0;
    if (h->vnc && h->vncpasswd && *h->vncpasswd) {
        char *pw = libxl__json_quote(h->vncpasswd);

        args = libxl__sprintf("{\"password\": %s}", pw);
        free(pw);
        r = xc_dm_qmp(ctx->xch, domid, "change-vnc-password", args, NULL);
        free(args);
        if (r < 0) {
            LOG(ctx, ERROR, "domain %u: qemu refused the VNC password "
                "(vncpasswd)", domid);
            return ERROR_FAIL;
        }
    }
    if (h->spice && !h->spice_disable_ticketing && h->spice_passwd &&
        *h->spice_passwd) {
        char *pw = libxl__json_quote(h->spice_passwd);

        args = libxl__sprintf("{\"protocol\": \"spice\", "
                              "\"password\": %s}", pw);
        free(pw);
        r = xc_dm_qmp(ctx->xch, domid, "set_password", args, NULL);
        free(args);
        if (r < 0) {
            LOG(ctx, ERROR, "domain %u: qemu refused the SPICE password "
                "(spicepasswd)", domid);
            return ERROR_FAIL;
        }
    }
    return 0;
}

static int attach(libxl_ctx *ctx, uint32_t domid, struct xendm *dm)
{
    int r = xc_domain_attach_dm(ctx->xch, domid, xendm_pid(dm),
                                xendm_core_qmp_path(dm));

    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: handing qemu (pid %d, monitor "
              "%s) to the core", domid, (int)xendm_pid(dm),
              xendm_core_qmp_path(dm));
        return libxl__xc_error(r);
    }
    return 0;
}

unsigned int libxl__dm_domcfg_flag(void)
{
    return XC_DOMCFG_DEVICE_MODEL;
}

int libxl__dm_build(libxl_ctx *ctx, uint32_t domid,
                    libxl_domain_config *d_config, int accel, bool incoming)
{
    struct libxl__dm_build d;
    struct xendm_logger lg;
    struct xendm *dm = NULL;
    int i, nics_up = 0, rc;

    dm_logger(ctx, &lg);
    rc = libxl__dm_config(ctx, domid, d_config, accel, &d);
    if (rc)
        goto out;
    d.cfg.incoming_defer = incoming;

    /* recorded first: teardown finds the taps from here */
    rc = write_dm_xs(ctx, domid, d_config, &d);
    if (rc)
        goto out;
    /* disks qemu reaches over vhost-user: served before qemu starts
     * (a failure here is torn down with the domain) */
    rc = libxl__blkback_start(ctx, domid, d_config, &d);
    if (!rc)
        rc = libxl__netback_start(ctx, domid, d_config, &d);
    if (rc)
        goto out;
    i = xendm_start(&d.cfg, &lg, &dm);
    if (i < 0) {
        /* qemu-dm has logged why (its log's tail when qemu exited) */
        LOG(ctx, ERROR, "domain %u: the device model did not start", domid);
        rc = ERROR_FAIL;
        goto out;
    }
    rc = attach(ctx, domid, dm);
    if (rc) {
        /* qemu may have refused its command line: say what it said
         * before its log goes with the failed domain */
        char *tail = xendm_log_tail(xendm_log_path(dm), 3);

        if (tail && *tail)
            LOG(ctx, ERROR, "domain %u: qemu's log ends: %s", domid, tail);
        free(tail);
        goto out;
    }
    /* through the core, qemu's one client from here on */
    rc = set_display_passwords(ctx, domid, d.cfg.hvm);
    if (rc)
        goto out;
    if (libxl_defbool_is_default(d_config->c_info.run_hotplug_scripts) ||
        libxl_defbool_val(d_config->c_info.run_hotplug_scripts)) {
        for (i = 0; i < d_config->num_nics; i++) {
            libxl_device_nic *nic = &d_config->nics[i];

            rc = libxl__vif_hotplug(ctx, domid, nic->devid, nic->script,
                                    nic->bridge, d.nics[i].ifname,
                                    "online");
            if (rc)
                goto out;
            nics_up++;
        }
    }
    LOG(ctx, DEBUG, "domain %u: qemu pid %d (%s), handed to the core",
        domid, (int)xendm_pid(dm),
        xendm_accel_used(dm) == XENDM_ACCEL_KVM ? "kvm" : "tcg");
    xendm_release(dm);
    dm = NULL;
    rc = 0;
out:
    if (rc) {
        for (i = 0; i < nics_up; i++)
            libxl__vif_hotplug(ctx, domid, d_config->nics[i].devid,
                               d_config->nics[i].script,
                               d_config->nics[i].bridge, d.nics[i].ifname,
                               "offline");
        if (dm)
            xendm_destroy(dm, 0, false);
        xendm_remove_files(d.run_dir, domid, false);
    }
    libxl__dm_build_free(&d);
    return rc;
}

int libxl__dm_created(libxl_ctx *ctx, uint32_t domid)
{
    char *path = libxl__sprintf("/local/domain/0/device-model/%u/state",
                                domid);
    int rc = libxl__xs_write(ctx, XBT_NULL, path, "running");

    free(path);
    return rc;
}

/* ------------------------------------------------------------ teardown */

struct libxl__dm_gone {
    uint32_t domid;
    pid_t pid;
    int n;
    struct {
        int devid;
        char *ifname, *bridge, *script;
    } *vifs;
};

static pid_t read_pid(const char *run_dir, uint32_t domid)
{
    char *p = xendm_file_path(run_dir, domid, ".pid");
    FILE *f = p ? fopen(p, "re") : NULL;
    long v = 0;

    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 0;
        fclose(f);
    }
    free(p);
    return v > 0 ? (pid_t)v : 0;
}

/* Whether pid is a live qemu (not a reused pid). */
static bool is_qemu(pid_t pid)
{
    char path[64], buf[512];
    ssize_t n;

    if (pid <= 0)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    n = readlink(path, buf, sizeof(buf) - 1);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return strstr(buf, "qemu") != NULL;
}

struct libxl__dm_gone *libxl__dm_teardown_begin(libxl_ctx *ctx,
                                                uint32_t domid)
{
    GC_INIT;
    struct libxl__dm_gone *g;
    char *run_dir, *lx, **ents;
    unsigned int i, n = 0;

    if (!libxl__domain_is_dm(ctx, domid)) {
        GC_FREE;
        return NULL;
    }
    g = libxl__calloc_or_die(1, sizeof(*g));
    g->domid = domid;
    run_dir = libxl__gc_own(gc, libxl__dm_run_dir());
    g->pid = read_pid(run_dir, domid);
    lx = GCSPRINTF("/libxl/%u/device/vif", domid);
    ents = xs_directory(ctx->xsh, XBT_NULL, lx, &n);
    if (ents && n) {
        g->vifs = libxl__calloc_or_die(n, sizeof(*g->vifs));
        for (i = 0; i < n; i++) {
            char *p = GCSPRINTF("%s/%s", lx, ents[i]);
            char *ifn = libxl__xs_read(ctx, XBT_NULL,
                                       GCSPRINTF("%s/ifname", p));

            if (!ifn)
                continue;
            g->vifs[g->n].devid = atoi(ents[i]);
            g->vifs[g->n].ifname = ifn;
            g->vifs[g->n].bridge = libxl__xs_read(ctx, XBT_NULL,
                                                  GCSPRINTF("%s/bridge", p));
            g->vifs[g->n].script = libxl__xs_read(ctx, XBT_NULL,
                                                  GCSPRINTF("%s/script", p));
            g->n++;
        }
    }
    free(ents);
    GC_FREE;
    return g;
}

int libxl__dm_teardown_end(libxl_ctx *ctx, struct libxl__dm_gone *g)
{
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    char *run_dir, *path;
    int i, rc = 0;

    if (!g)
        return 0;
    /* the core kills qemu with the domain; make sure, then clean up.
     * A qemu this process started is its child: reap it. */
    for (i = 0; i < 150 && g->pid > 0; i++) {
        if (waitpid(g->pid, NULL, WNOHANG) == g->pid ||
            kill(g->pid, 0) < 0 || !is_qemu(g->pid))
            break;
        nanosleep(&ts, NULL);
    }
    if (is_qemu(g->pid) && kill(g->pid, 0) == 0) {
        LOG(ctx, WARN, "domain %u: qemu (pid %d) still there after the "
            "domain's destruction; killing it", g->domid, (int)g->pid);
        kill(g->pid, SIGKILL);
        waitpid(g->pid, NULL, 0);
    }
    for (i = 0; i < g->n; i++) {
        if (libxl__vif_hotplug(ctx, g->domid, g->vifs[i].devid,
                               g->vifs[i].script, g->vifs[i].bridge,
                               g->vifs[i].ifname, "offline"))
            rc = ERROR_FAIL;
        free(g->vifs[i].ifname);
        free(g->vifs[i].bridge);
        free(g->vifs[i].script);
    }
    run_dir = libxl__dm_run_dir();
    xendm_remove_files(run_dir, g->domid, false);
    free(run_dir);
    path = libxl__sprintf("/local/domain/0/device-model/%u", g->domid);
    if (!xs_rm(ctx->xsh, XBT_NULL, path) && errno != ENOENT) {
        LOGE(ctx, ERROR, "domain %u: removing %s", g->domid, path);
        rc = ERROR_FAIL;
    }
    free(path);
    free(g->vifs);
    free(g);
    return rc;
}

/* One QMP command to the domain's qemu; 0 or ERROR_* (logged). */
/* One QMP command to the domain's qemu through the core; 0 or ERROR_*
 * (logged with what for). */
int libxl__dm_qmp_for(libxl_ctx *ctx, uint32_t domid, const char *cmd,
                      const char *args, char **ret_r, const char *what)
{
    int r = xc_dm_qmp(ctx->xch, domid, cmd, args, ret_r);

    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: %s (QMP %s%s)", domid, what, cmd,
              r == -EIO ? "; qemu's answer is in xl dmesg" : "");
        return ERROR_FAIL;
    }
    return 0;
}

/* Whether qemu still has a PCI device whose id is id (query-pci). */
bool libxl__dm_pci_has(libxl_ctx *ctx, uint32_t domid, const char *id)
{
    char *ret = NULL, *want;
    bool r;

    if (xc_dm_qmp(ctx->xch, domid, "query-pci", NULL, &ret) < 0)
        return true; /* cannot tell: as if still there */
    want = libxl__sprintf("\"qdev_id\": \"%s\"", id);
    /* the core returns qemu's JSON as qemu wrote it: one space after ':' */
    r = ret && (strstr(ret, want) != NULL);
    if (!r && ret) {
        free(want);
        want = libxl__sprintf("\"qdev_id\":\"%s\"", id);
        r = strstr(ret, want) != NULL;
    }
    free(want);
    free(ret);
    return r;
}

int libxl__dm_qmp(libxl_ctx *ctx, uint32_t domid, const char *cmd,
                  const char *args_json)
{
    int r = xc_dm_qmp(ctx->xch, domid, cmd, args_json, NULL);

    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: qemu refused %s %s", domid, cmd,
              args_json ? args_json : "");
        return r == -EIO ? ERROR_QMP_GENERIC_ERROR : ERROR_FAIL;
    }
    return 0;
}

int libxl__dm_set_memory_target(libxl_ctx *ctx, uint32_t domid,
                                uint64_t target_kb)
{
    char *args;
    int rc;

    if (!libxl__domain_is_dm(ctx, domid))
        return 0;
    /* qemu's balloon device asks the guest's driver */
    args = libxl__sprintf("{\"value\": %" PRIu64 "}", target_kb * 1024);
    rc = libxl__dm_qmp(ctx, domid, "balloon", args);
    free(args);
    return rc;
}

/*
 * Plugs or unplugs vCPUs until qemu has `want`: query-hotpluggable-cpus
 * lists every slot (-smp maxcpus=), with a qom-path when it is plugged;
 * missing ones are added in slot order as devices "vcpu<N>", and the
 * highest such devices are deleted (the guest's ACPI ejects them; the
 * vCPUs qemu started with cannot go).  The core learns the new count from
 * qemu's events.
 */
int libxl__dm_set_vcpus(libxl_ctx *ctx, uint32_t domid, unsigned int want)
{
    static const char *type_path[] = { "type", NULL };
    static const char *qom_path[] = { "qom-path", NULL };
    static const char *props_path[] = { "props", NULL };
    yajl_val ret = NULL;
    char *text = NULL;
    unsigned int plugged = 0, i, n;
    int r, rc;

    if (!libxl__domain_is_dm(ctx, domid))
        return 0;
    r = xc_dm_qmp(ctx->xch, domid, "query-hotpluggable-cpus", NULL, &text);
    if (r == 0)
        ret = yajl_tree_parse(text, NULL, 0);
    free(text);
    if (r < 0 || !YAJL_IS_ARRAY(ret)) {
        LOG(ctx, ERROR, "domain %u: qemu cannot list its vCPU slots "
            "(query-hotpluggable-cpus)", domid);
        rc = ERROR_FAIL;
        goto out;
    }
    n = (unsigned int)ret->u.array.len;
    for (i = 0; i < n; i++)
        if (yajl_tree_get(ret->u.array.values[i], qom_path, yajl_t_string))
            plugged++;
    /* qemu lists the slots highest first: walk up to add, down to remove */
    for (i = n; i-- > 0 && plugged < want;) {
        yajl_val c = ret->u.array.values[i];
        yajl_val type = yajl_tree_get(c, type_path, yajl_t_string);
        yajl_val props = yajl_tree_get(c, props_path, yajl_t_object);
        char *args, *p = NULL;
        size_t k;

        if (yajl_tree_get(c, qom_path, yajl_t_string) || !type || !props)
            continue;
        for (k = 0; k < props->u.object.len; k++) {
            yajl_val v = props->u.object.values[k];
            char *q;

            if (!YAJL_IS_INTEGER(v))
                continue;
            q = libxl__sprintf("%s, \"%s\": %lld", p ? p : "",
                               props->u.object.keys[k], YAJL_GET_INTEGER(v));
            free(p);
            p = q;
        }
        args = libxl__sprintf("{\"driver\": \"%s\", \"id\": \"vcpu%u\"%s}",
                              YAJL_GET_STRING(type), n - 1 - i, p ? p : "");
        free(p);
        r = xc_dm_qmp(ctx->xch, domid, "device_add", args, NULL);
        free(args);
        if (r < 0) {
            LOG(ctx, ERROR, "domain %u: qemu refused to plug vCPU %u",
                domid, n - 1 - i);
            rc = ERROR_FAIL;
            goto out;
        }
        plugged++;
    }
    for (i = 0; i < n && plugged > want; i++) {
        yajl_val q = yajl_tree_get(ret->u.array.values[i], qom_path,
                                   yajl_t_string);
        const char *qp = q ? q->u.string : NULL, *id;
        char *args;

        /* only devices we plugged (/machine/peripheral/vcpuN) can go */
        if (!qp || strncmp(qp, "/machine/peripheral/", 20))
            continue;
        id = qp + 20;
        args = libxl__sprintf("{\"id\": \"%s\"}", id);
        r = xc_dm_qmp(ctx->xch, domid, "device_del", args, NULL);
        free(args);
        if (r < 0) {
            LOG(ctx, ERROR, "domain %u: qemu refused to unplug %s", domid,
                id);
            rc = ERROR_FAIL;
            goto out;
        }
        plugged--;
    }
    if (plugged != want) {
        LOG(ctx, ERROR, "domain %u: %u vCPUs wanted, but qemu can have "
            "%u to %u (those it started with stay; maxvcpus sets the most)",
            domid, want, plugged, n);
        rc = ERROR_INVAL;
        goto out;
    }
    rc = 0;
out:
    if (ret)
        yajl_tree_free(ret);
    return rc;
}

