/*
 * libxl_create.c - domain creation (PVH on the core; HVM, and PVH under
 * TCG, through libxl_dm.c), and teardown.
 *
 * create: validate and default the config -> xc_domain_create (paused)
 * -> the xenstore skeleton (Xen's layout and permissions) -> the domain
 * builder -> memory limit, vCPU affinity -> the build-time nodes,
 * console nodes, the stored config -> xs_introduce_domain.  Any failure
 * once the domain exists runs libxl__domain_teardown, which removes
 * every trace (and is what libxl_domain_destroy runs).
 */
#include "libxl.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <xenguest.h>

#include "libxl_internal.h"

/* Xen's defaults and limits. */
#define DEFAULT_MEMKB        (32 * 1024)
#define XENCONSOLE_LIMIT     1048576
#define MIN_MEMKB            2048

int libxl__xc_error(int r)
{
    switch (-r) {
    case 0:
        return 0;
    case ESRCH:
        return ERROR_DOMAIN_NOTFOUND;
    case EINVAL:
        return ERROR_INVAL;
    case ENOMEM:
        return ERROR_NOMEM;
    default:
        return ERROR_FAIL;
    }
}

int libxl_domid_valid_guest(uint32_t domid)
{
    return domid > 0 && domid < DOMID_FIRST_RESERVED;
}

/* ------------------------------------------------------------ validate */

static int check_file(libxl_ctx *ctx, const char *key, const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
        LOGE(ctx, ERROR, "%s: cannot read %s", key, path);
        return ERROR_INVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        LOG(ctx, ERROR, "%s: %s is not a regular file", key, path);
        return ERROR_INVAL;
    }
    return 0;
}

/* Defaults d_config in place and checks it; logs the key at fault. */
static int config_setdefault(libxl_ctx *ctx, libxl_domain_config *d_config,
                             bool dm)
{
    libxl_domain_create_info *c = &d_config->c_info;
    libxl_domain_build_info *b = &d_config->b_info;
    xc_physinfo_t pi;
    int i, r, rc;

    if (c->type != LIBXL_DOMAIN_TYPE_PVH &&
        c->type != LIBXL_DOMAIN_TYPE_HVM) {
        LOG(ctx, ERROR, "c_info.type: %s domains are not supported here "
            "(Xenolith runs PVH and HVM guests)",
            libxl_domain_type_to_string(c->type) ?: "invalid");
        return ERROR_INVAL;
    }
    if (b->type != c->type) {
        LOG(ctx, ERROR, "b_info.type (%s) differs from c_info.type (%s)",
            libxl_domain_type_to_string(b->type) ?: "invalid",
            libxl_domain_type_to_string(c->type));
        return ERROR_INVAL;
    }
    if (!c->name || !*c->name) {
        LOG(ctx, ERROR, "c_info.name: a domain needs a name");
        return ERROR_INVAL;
    }
    if (libxl_uuid_is_nil(&c->uuid))
        libxl_uuid_generate(&c->uuid);

    r = xc_physinfo(ctx->xch, &pi);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "asking the core for the host's limits");
        return ERROR_FAIL;
    }
    if (b->max_vcpus == 0)
        b->max_vcpus = 1;
    if (b->max_vcpus < 0 || (uint32_t)b->max_vcpus > pi.max_vcpus) {
        LOG(ctx, ERROR, "b_info.max_vcpus: %d is outside 1..%u (the "
            "core's limit per domain)", b->max_vcpus, pi.max_vcpus);
        return ERROR_INVAL;
    }
    if (!b->avail_vcpus.size) {
        rc = libxl_bitmap_alloc(ctx, &b->avail_vcpus, b->max_vcpus);
        if (rc)
            return rc;
        for (i = 0; i < b->max_vcpus; i++)
            libxl_bitmap_set(&b->avail_vcpus, i);
    }
    if (libxl_bitmap_count_set(&b->avail_vcpus) == 0) {
        LOG(ctx, ERROR, "b_info.avail_vcpus: no vCPU is online");
        return ERROR_INVAL;
    }
    for (i = b->max_vcpus; i < (int)b->avail_vcpus.size * 8; i++) {
        if (libxl_bitmap_test(&b->avail_vcpus, i)) {
            LOG(ctx, ERROR, "b_info.avail_vcpus: vCPU %d is above "
                "max_vcpus (%d)", i, b->max_vcpus);
            return ERROR_INVAL;
        }
    }

    if (b->max_memkb == LIBXL_MEMKB_DEFAULT)
        b->max_memkb = DEFAULT_MEMKB;
    if (b->target_memkb == LIBXL_MEMKB_DEFAULT)
        b->target_memkb = b->max_memkb;
    if (b->target_memkb > b->max_memkb) {
        LOG(ctx, ERROR, "b_info.target_memkb (%" PRIu64 ") is above "
            "b_info.max_memkb (%" PRIu64 ")", b->target_memkb, b->max_memkb);
        return ERROR_INVAL;
    }
    if (b->target_memkb < MIN_MEMKB) {
        LOG(ctx, ERROR, "b_info.target_memkb: %" PRIu64 " KiB is below "
            "the minimum of %d KiB", b->target_memkb, MIN_MEMKB);
        return ERROR_INVAL;
    }
    if (b->target_memkb > pi.total_pages * (XC_PAGE_SIZE / 1024)) {
        LOG(ctx, ERROR, "b_info.target_memkb: %" PRIu64 " KiB is more "
            "than the host has (%" PRIu64 " KiB)", b->target_memkb,
            (uint64_t)pi.total_pages * (XC_PAGE_SIZE / 1024));
        return ERROR_INVAL;
    }
    if (b->video_memkb == LIBXL_MEMKB_DEFAULT)
        b->video_memkb = 0;
    if (dm)
        return libxl__dm_check_config(ctx, d_config);

    if (!b->kernel || !*b->kernel) {
        LOG(ctx, ERROR, "b_info.kernel: a PVH domain needs a kernel");
        return ERROR_INVAL;
    }
    rc = check_file(ctx, "b_info.kernel", b->kernel);
    if (rc)
        return rc;
    if (b->ramdisk && *b->ramdisk) {
        rc = check_file(ctx, "b_info.ramdisk", b->ramdisk);
        if (rc)
            return rc;
    }
    if (b->bootloader && *b->bootloader) {
        LOG(ctx, ERROR, "b_info.bootloader: not supported for PVH "
            "domains here (give the kernel directly)");
        return ERROR_INVAL;
    }
    /* disks and NICs: virtio, through backends (libxl_virtio.c) */
    if (d_config->num_pcidevs
        || d_config->num_vfbs || d_config->num_vkbs || d_config->num_vtpms
        || d_config->num_p9s || d_config->num_channels
        || d_config->num_usbctrls || d_config->num_usbdevs
        || d_config->num_vdispls || d_config->num_vsnds
        || d_config->num_pvcallsifs || d_config->num_dtdevs) {
        LOG(ctx, ERROR, "devices other than disks and vifs (pci, vfb, "
            "vkb, vtpm, p9, channel, usb, ...): not supported yet on the "
            "Xenolith core");
        return ERROR_INVAL;
    }
    return 0;
}

/* ------------------------------------------------------------ xenstore */

static int mknod_perm(libxl_ctx *ctx, xs_transaction_t t, const char *path,
                      struct xs_permissions *perms, unsigned int n)
{
    if (!xs_write(ctx->xsh, t, path, "", 0) ||
        !xs_set_permissions(ctx->xsh, t, path, perms, n)) {
        LOGE(ctx, ERROR, "creating %s in xenstore", path);
        return ERROR_FAIL;
    }
    return 0;
}

/* The name check and write, inside the caller's transaction: the name
 * index makes it two reads whatever the number of domains. */
static int name_set(libxl_ctx *ctx, xs_transaction_t t, uint32_t domid,
                    const char *old_name, const char *new_name)
{
    char *cur = NULL;
    int rc;

    if (!new_name || !*new_name) {
        LOG(ctx, ERROR, "domain %u: the new name is empty", domid);
        return ERROR_INVAL;
    }
    cur = libxl__domid_to_name(ctx, t, domid);
    if (old_name && (!cur || strcmp(cur, old_name))) {
        LOG(ctx, ERROR, "domain %u is called \"%s\", not \"%s\"",
            domid, cur ? cur : "", old_name);
        rc = ERROR_INVAL;
        goto out;
    }
    rc = libxl__name_index_set(ctx, t, domid, cur, new_name);
out:
    free(cur);
    return rc;
}

struct rename_args {
    uint32_t domid;
    const char *old_name, *new_name;
};

static int rename_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    GC_INIT;
    const struct rename_args *a = arg;
    char *vm;
    int rc;

    vm = libxl__gc_own(gc, libxl__xs_read(ctx, t,
                    GCSPRINTF("/local/domain/%u/vm", a->domid)));
    if (!vm) {
        LOG(ctx, ERROR, "domain %u: no such domain in xenstore", a->domid);
        rc = ERROR_DOMAIN_NOTFOUND;
        goto out;
    }
    rc = name_set(ctx, t, a->domid, a->old_name, a->new_name);
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/name", vm), a->new_name);
out:
    GC_FREE;
    return rc;
}

int libxl_domain_rename(libxl_ctx *ctx, uint32_t domid,
                        const char *old_name, const char *new_name)
{
    struct rename_args a = { domid, old_name, new_name };
    int rc;

    rc = libxl__need_daemons(ctx, "libxl_domain_rename");
    if (rc)
        return rc;
    return libxl__xs_transaction(ctx, domid, "the rename", rename_body, &a);
}

/* Xen's skeleton: /local/domain/N, /vm/UUID, /libxl/N with their
 * permissions, the name, control nodes the guest may write. */
struct skeleton_args {
    uint32_t domid;
    const libxl_domain_create_info *c;
};

static int skeleton_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    GC_INIT;
    const struct skeleton_args *a = arg;
    const libxl_domain_create_info *c = a->c;
    uint32_t domid = a->domid;
    struct xs_permissions noperm[1], roperm[2], rwperm[1];
    static const char *const ro_dirs[] = { "cpu", "memory", "device",
                                           "control" };
    static const char *const rw_dirs[] = {
        "control/shutdown", "control/feature-poweroff",
        "control/feature-reboot", "control/feature-suspend",
        "control/sysrq", "data", "drivers", "feature", "attr", "error",
        "device/suspend/event-channel",
    };
    char *dom, *vm, *lx;
    const char *type;
    unsigned int i;
    int rc;

    noperm[0].id = 0;
    noperm[0].perms = XS_PERM_NONE;
    roperm[0].id = 0;
    roperm[0].perms = XS_PERM_NONE;
    roperm[1].id = domid;
    roperm[1].perms = XS_PERM_READ;
    rwperm[0].id = domid;
    rwperm[0].perms = XS_PERM_NONE;
    dom = GCSPRINTF("/local/domain/%u", domid);
    vm = GCSPRINTF("/vm/" LIBXL_UUID_FMT, LIBXL_UUID_BYTES(c->uuid));
    lx = GCSPRINTF("/libxl/%u", domid);
    type = libxl_domain_type_to_string(c->type);

    xs_rm(ctx->xsh, t, dom);
    xs_rm(ctx->xsh, t, vm);
    xs_rm(ctx->xsh, t, lx);
    rc = mknod_perm(ctx, t, dom, roperm, 2);
    if (!rc)
        rc = mknod_perm(ctx, t, vm, roperm, 2);
    if (!rc)
        rc = mknod_perm(ctx, t, lx, noperm, 1);
    if (!rc)
        rc = mknod_perm(ctx, t, GCSPRINTF("%s/device", lx), noperm, 1);
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/vm", dom), vm);
    if (!rc)
        rc = name_set(ctx, t, domid, NULL, c->name);
    for (i = 0; !rc && i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++)
        rc = mknod_perm(ctx, t, GCSPRINTF("%s/%s", dom, ro_dirs[i]),
                        roperm, 2);
    for (i = 0; !rc && i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++)
        rc = mknod_perm(ctx, t, GCSPRINTF("%s/%s", dom, rw_dirs[i]),
                        rwperm, 1);
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/uuid", vm),
                             GCSPRINTF(LIBXL_UUID_FMT,
                                       LIBXL_UUID_BYTES(c->uuid)));
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/name", vm), c->name);
    for (i = 0; !rc && c->xsdata && c->xsdata[i]; i += 2)
        rc = libxl__xs_write(ctx, t,
                             GCSPRINTF("%s/%s", dom, c->xsdata[i]),
                             c->xsdata[i + 1] ? c->xsdata[i + 1] : "");
    for (i = 0; !rc && c->platformdata && c->platformdata[i]; i += 2)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/platform/%s", dom,
                                               c->platformdata[i]),
                             c->platformdata[i + 1] ?
                             c->platformdata[i + 1] : "");
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/control/"
                    "platform-feature-multiprocessor-suspend", dom), "1");
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/control/"
                    "platform-feature-xs_reset_watches", dom), "1");
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/type", lx), type);
    GC_FREE;
    return rc;
}

static int domain_make_xs(libxl_ctx *ctx, uint32_t domid,
                          libxl_domain_config *d_config)
{
    struct skeleton_args a = { domid, &d_config->c_info };

    return libxl__xs_transaction(ctx, domid, "the xenstore skeleton",
                                 skeleton_body, &a);
}

/* memory, domid, cpu availability, /vm start_time, the console. */
struct post_xs_args {
    uint32_t domid;
    const libxl_domain_config *d_config;
    const struct timeval *start;
    const struct xc_console_info *ci;
};

static int post_xs_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    GC_INIT;
    const struct post_xs_args *a = arg;
    const libxl_domain_build_info *b = &a->d_config->b_info;
    const struct xc_console_info *ci = a->ci;
    const struct timeval *start = a->start;
    uint32_t domid = a->domid;
    struct xs_permissions roperm[2];
    char *dom, *vm;
    int i, rc;

    roperm[0].id = 0;
    roperm[0].perms = XS_PERM_NONE;
    roperm[1].id = domid;
    roperm[1].perms = XS_PERM_READ;
    dom = GCSPRINTF("/local/domain/%u", domid);
    vm = GCSPRINTF("/vm/" LIBXL_UUID_FMT,
                   LIBXL_UUID_BYTES(a->d_config->c_info.uuid));
    rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/memory/static-max", dom),
                         GCSPRINTF("%" PRIu64, b->max_memkb));
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/memory/target", dom),
                             GCSPRINTF("%" PRIu64, b->target_memkb));
    if (!rc)
        rc = libxl__xs_write(ctx, t,
                             GCSPRINTF("%s/memory/videoram", dom),
                             GCSPRINTF("%" PRIu64, b->video_memkb));
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/domid", dom),
                             GCSPRINTF("%u", domid));
    for (i = 0; !rc && i < b->max_vcpus; i++)
        rc = libxl__xs_write(ctx, t,
                GCSPRINTF("%s/cpu/%d/availability", dom, i),
                libxl_bitmap_test(&b->avail_vcpus, i) ?
                "online" : "offline");
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/start_time", vm),
                             GCSPRINTF("%jd.%02d",
                                       (intmax_t)start->tv_sec,
                                       (int)start->tv_usec / 10000));
    if (!rc)
        rc = mknod_perm(ctx, t, GCSPRINTF("%s/console", dom), roperm, 2);
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/console/type", dom),
                             "xenconsoled");
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/console/output", dom),
                             "pty");
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/console/limit", dom),
                             GCSPRINTF("%d", XENCONSOLE_LIMIT));
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/console/tty", dom),
                             ci->pty_path);
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/serial/0/tty", dom),
                             ci->pty_path);
    GC_FREE;
    return rc;
}

static int domain_post_xs(libxl_ctx *ctx, uint32_t domid,
                          libxl_domain_config *d_config,
                          const struct timeval *start)
{
    struct xc_console_info ci;
    struct post_xs_args a = { domid, d_config, start, &ci };
    int r;

    r = xc_console_info(ctx->xch, domid, &ci);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: asking the core for the console",
              domid);
        return ERROR_FAIL;
    }
    return libxl__xs_transaction(ctx, domid, "the build nodes", post_xs_body,
                                 &a);
}

/* ------------------------------------------------------------ build */

static int domain_build(libxl_ctx *ctx, uint32_t domid,
                        libxl_domain_config *d_config)
{
    libxl_domain_build_info *b = &d_config->b_info;
    struct xc_dom_image *dom;
    const char *step;
    int r, rc;

    dom = xc_dom_allocate(ctx->xch, b->cmdline, NULL);
    if (!dom) {
        LOGE(ctx, ERROR, "domain %u: allocating the builder", domid);
        return ERROR_NOMEM;
    }
    step = "loading the kernel";
    r = xc_dom_kernel_file(dom, b->kernel);
    if (r == 0 && b->ramdisk && *b->ramdisk) {
        step = "loading the ramdisk";
        r = xc_dom_module_file(dom, b->ramdisk, NULL);
    }
    if (r == 0) {
        step = "binding the image to the domain";
        r = xc_dom_boot_xen_init(dom, ctx->xch, domid);
    }
    if (r == 0) {
        step = "parsing the kernel";
        r = xc_dom_parse_image(dom);
    }
    if (r == 0) {
        step = "sizing the guest memory";
        r = xc_dom_mem_init(dom, (unsigned int)(b->target_memkb / 1024));
    }
    if (r == 0) {
        step = "reading the guest memory map";
        r = xc_dom_boot_mem_init(dom);
    }
    if (r == 0) {
        step = "writing the image into guest memory";
        r = xc_dom_build_image(dom);
    }
    if (r == 0) {
        step = "setting the boot vCPU";
        r = xc_dom_boot_image(dom);
    }
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: %s (kernel %s%s%s): %s", domid,
              step, b->kernel, b->ramdisk ? ", ramdisk " : "",
              b->ramdisk ? b->ramdisk : "", xc_dom_last_error(dom));
        rc = ERROR_FAIL;
    } else {
        rc = 0;
    }
    xc_dom_release(dom);
    return rc;
}

static int domain_affinity(libxl_ctx *ctx, uint32_t domid,
                           libxl_domain_build_info *b)
{
    int i, rc;

    for (i = 0; i < b->max_vcpus; i++) {
        const libxl_bitmap *map = NULL;

        if (i < b->num_vcpu_hard_affinity)
            map = &b->vcpu_hard_affinity[i];
        else if (b->cpumap.size && !libxl_bitmap_is_full(&b->cpumap))
            map = &b->cpumap;
        if (!map || !map->size)
            continue;
        rc = libxl_set_vcpuaffinity(ctx, domid, i, map, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static uint32_t pick_random_domid(void)
{
    uint16_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (read(fd, &v, sizeof(v)) != sizeof(v))
            v = 0;
        close(fd);
    }
    v &= 0x7fff;
    return libxl_domid_valid_guest(v) ? v : 1 + (v % 0x7fef);
}

int libxl__domain_create(libxl_ctx *ctx, libxl_domain_config *d_config,
                         uint32_t *domid_r,
                         const libxl_asyncprogress_how *aop_console_how,
                         libxl__restore *rs)
{
    libxl_domain_create_info *c = &d_config->c_info;
    libxl_domain_build_info *b = &d_config->b_info;
    struct xc_domain_config cfg;
    struct timeval start;
    uint32_t domid = INVALID_DOMID, want;
    libxl_event *ev;
    bool dm = false;
    int r, rc, tries, accel = 0;

    *domid_r = INVALID_DOMID;
    rc = libxl__need_daemons(ctx, "libxl_domain_create_new");
    if (rc)
        goto out;
    if (b->type == c->type) {
        dm = libxl__dm_wanted(ctx, d_config, &accel);
        rc = libxl__accel_check(ctx, d_config, dm, accel);
        if (rc)
            goto out;
    }
    rc = config_setdefault(ctx, d_config, dm);
    if (rc)
        goto out;
    if (libxl_name_to_domid(ctx, c->name, &want) == 0) {
        LOG(ctx, ERROR, "domain with name \"%s\" already exists "
            "(domain %u)", c->name, want);
        rc = ERROR_INVAL;
        goto out;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_vcpus = b->max_vcpus;
    cfg.flags = XC_DOMCFG_HVM | (dm ? libxl__dm_domcfg_flag() : 0);
    cfg.memory_kb = (b->target_memkb + 3) & ~3ULL;
    memcpy(cfg.handle, c->uuid.uuid, sizeof(cfg.handle));
    for (tries = 0; ; tries++) {
        if (c->domid == RANDOM_DOMID)
            want = pick_random_domid();
        else if (libxl_domid_valid_guest(c->domid))
            want = c->domid;
        else
            want = 0;
        r = xc_domain_create(ctx->xch, &want, &cfg);
        if (r == -EEXIST && c->domid == RANDOM_DOMID && tries < 64)
            continue;
        break;
    }
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "creating domain \"%s\" in the core "
              "(%d vCPUs, %" PRIu64 " KiB)%s", c->name, b->max_vcpus,
              b->target_memkb, r == -ENOMEM ? ": not enough host memory" :
              r == -EEXIST ? ": the domid is in use" :
              r == -ENODEV ? ": the core has no KVM (it could not open "
              "/dev/kvm when it started, see xl dmesg): set accel = "
              "\"tcg\" to run the guest under qemu's emulator, or load "
              "kvm_intel or kvm_amd and restart the core (xencommons)" :
              "");
        rc = ERROR_FAIL;
        goto out;
    }
    domid = want;
    *domid_r = domid;
    gettimeofday(&start, NULL);

    rc = domain_make_xs(ctx, domid, d_config);
    if (rc)
        goto out;
    /* a restore builds a device-model domain's qemu first (waiting for
     * its state), then hands it the stream */
    if (dm)
        rc = libxl__dm_build(ctx, domid, d_config, accel, rs != NULL);
    else if (!rs)
        rc = domain_build(ctx, domid, d_config);
    else
        rc = 0;
    if (!rc && rs)
        rc = libxl__restore_build(ctx, domid, d_config, rs);
    if (!rc && !dm)
        rc = libxl__core_devices(ctx, domid, d_config);
    if (!rc && !dm && rs)
        rc = libxl__restore_devices(ctx, domid, rs);
    if (rc)
        goto out;
    r = xc_domain_setmaxmem(ctx->xch, domid, b->max_memkb);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: setting maxmem to %" PRIu64
              " KiB", domid, b->max_memkb);
        rc = ERROR_FAIL;
        goto out;
    }
    rc = domain_affinity(ctx, domid, b);
    if (rc)
        goto out;
    if (b->sched_params.weight != LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT ||
        b->sched_params.cap != LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT) {
        rc = libxl_domain_sched_params_set(ctx, domid, &b->sched_params);
        if (rc)
            goto out;
    }
    rc = domain_post_xs(ctx, domid, d_config, &start);
    if (rc)
        goto out;
    rc = libxl__domain_config_store(ctx, domid, d_config);
    if (rc)
        goto out;
    if (!xs_introduce_domain(ctx->xsh, domid, 0, 1)) {
        LOGE(ctx, ERROR, "domain %u: introducing it to xenstored", domid);
        rc = ERROR_FAIL;
        goto out;
    }
    if (dm) {
        rc = libxl__dm_created(ctx, domid);
        if (rc)
            goto out;
    }
    if (aop_console_how) {
        ev = libxl__event_new(domid, aop_console_how->for_event,
                    LIBXL_EVENT_TYPE_DOMAIN_CREATE_CONSOLE_AVAILABLE);
        if (aop_console_how->callback)
            aop_console_how->callback(ctx, ev,
                                      aop_console_how->for_callback);
        else
            libxl__event_occurred(ctx, ev);
    }
    LOG(ctx, DEBUG, "domain %u (\"%s\") created, paused", domid, c->name);
    rc = 0;
out:
    if (rc && domid != INVALID_DOMID) {
        libxl__domain_teardown(ctx, domid);
        *domid_r = INVALID_DOMID;
    }
    return rc;
}

int libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d_config,
                            uint32_t *domid,
                            const libxl_asyncop_how *ao_how,
                            const libxl_asyncprogress_how *aop_console_how)
{
    int rc = libxl__domain_create(ctx, d_config, domid, aop_console_how,
                                  NULL);

    return libxl__ao_complete(ctx, *domid, ao_how, rc);
}

/* ------------------------------------------------------------ teardown */

int libxl__domain_teardown(libxl_ctx *ctx, uint32_t domid)
{
    GC_INIT;
    xc_dominfo_t info;
    libxl_uuid uuid;
    struct libxl__dm_gone *dmg;
    pid_t backends[4] = { 0 };
    char *dom, *vm, *name;
    int i, r, rc = 0;

    dmg = libxl__dm_teardown_begin(ctx, domid);
    for (i = 0; libxl__backend_classes[i]; i++)
        backends[i] = libxl__backend_pid(ctx, libxl__backend_classes[i],
                                         domid);
    dom = GCSPRINTF("/local/domain/%u", domid);
    vm = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                          GCSPRINTF("%s/vm", dom)));
    name = libxl__gc_own(gc, libxl__domid_to_name(ctx, XBT_NULL, domid));
    if (name)
        libxl__name_index_remove(ctx, XBT_NULL, domid, name);
    r = xc_domain_getinfo_single(ctx->xch, domid, &info);
    if (r == 0) {
        memcpy(uuid.uuid, info.handle, sizeof(uuid.uuid));
        libxl__userdata_destroyall(ctx, domid, &uuid);
    }
    if (vm && !strncmp(vm, "/vm/", 4) && !xs_rm(ctx->xsh, XBT_NULL, vm) &&
        errno != ENOENT) {
        LOGE(ctx, ERROR, "domain %u: removing %s", domid, vm);
        rc = ERROR_FAIL;
    }
    if (!xs_rm(ctx->xsh, XBT_NULL, dom) && errno != ENOENT) {
        LOGE(ctx, ERROR, "domain %u: removing %s", domid, dom);
        rc = ERROR_FAIL;
    }
    if (!xs_rm(ctx->xsh, XBT_NULL, GCSPRINTF("/libxl/%u", domid)) &&
        errno != ENOENT) {
        LOGE(ctx, ERROR, "domain %u: removing /libxl/%u", domid, domid);
        rc = ERROR_FAIL;
    }
    if (xs_is_domain_introduced(ctx->xsh, domid) &&
        !xs_release_domain(ctx->xsh, domid)) {
        LOGE(ctx, ERROR, "domain %u: releasing it in xenstored", domid);
        rc = ERROR_FAIL;
    }
    r = xc_domain_destroy(ctx->xch, domid);
    if (r < 0 && r != -ESRCH) {
        LOGEV(ctx, ERROR, -r, "domain %u: destroying it in the core",
              domid);
        if (!rc)
            rc = ERROR_FAIL;
    }
    r = libxl__dm_teardown_end(ctx, dmg);
    if (r && !rc)
        rc = r;
    /* backends leave with /local/domain/<domid> by themselves; make sure */
    for (i = 0; libxl__backend_classes[i]; i++) {
        r = libxl__backend_stop(ctx, libxl__backend_classes[i], domid,
                                backends[i]);
        if (r && !rc)
            rc = r;
    }
    GC_FREE;
    return rc;
}

int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid,
                         const libxl_asyncop_how *ao_how)
{
    int rc;

    rc = libxl__need_daemons(ctx, "libxl_domain_destroy");
    if (rc)
        return rc;
    if (!libxl_domid_valid_guest(domid)) {
        LOG(ctx, ERROR, "domain %u: not a guest domain; refusing to "
            "destroy it", domid);
        return ERROR_INVAL;
    }
    rc = libxl_domain_info(ctx, NULL, domid);
    if (rc == ERROR_DOMAIN_NOTFOUND)
        LOG(ctx, ERROR, "domain %u: non-existant domain", domid);
    if (rc)
        return rc;
    rc = libxl__domain_teardown(ctx, domid);
    return libxl__ao_complete(ctx, domid, ao_how, rc);
}
