/*
 * libxl_blkback.c - a domain's disks served by its block backend,
 * xenolith-blkback (backends/blk/): the vbd nodes Xen lays out in
 * xenstore, the backend started with the domain (libxl_backend.c) and
 * disks plugged in and out of a running domain.
 *
 * The backend reads what it serves from
 * /local/domain/0/backend/vbd/<domid>/<devid>/ (params, format, mode,
 * dev) and answers there: hotplug-status "connected" (state 4, sectors,
 * vhost-user-socket) or "error" with hotplug-error.  It watches that
 * directory and /local/domain/<domid>, and leaves when the domain does.
 * libxl records its pid in /libxl/<domid>/blkback-pid; its log is
 * <rundir>/backends/vbd-<domid>.log.
 */

#include "libxl_dm.h"

char *libxl__blkback_socket(uint32_t domid, int devid)
{
    return libxl__backend_socket(&libxl__blkback_class, domid, devid);
}

/* ------------------------------------------------------------ xenstore */

struct vbd_args {
    uint32_t domid;
    const libxl_domain_config *d_config;
    const struct libxl__dm_build *d;
};

/* One disk's backend and frontend directories, as Xen's libxl has them. */
static int vbd_nodes(libxl_ctx *ctx, xs_transaction_t t, uint32_t domid,
                     const libxl_device_disk *disk,
                     const struct xendm_disk *x, int devid)
{
    char *be = libxl__sprintf("/local/domain/0/backend/vbd/%u/%d", domid,
                              devid);
    char *fe = libxl__sprintf("/local/domain/%u/device/vbd/%d", domid,
                              devid);
    char num[16], dom[16];
    int rc;

    snprintf(num, sizeof(num), "%d", devid);
    snprintf(dom, sizeof(dom), "%u", domid);
    rc = libxl__backend_mkdir(ctx, t, be, 0, domid);
    if (!rc)
        rc = libxl__backend_mkdir(ctx, t, fe, domid, 0);
    /* the backend's */
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "frontend", fe);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "frontend-id", dom);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "params", disk->pdev_path);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "format", x->format);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "mode", x->readonly ? "r" : "w");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "dev", disk->vdev);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "type", "standalone");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "specification", "virtio");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "device-type", "disk");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "removable", "0");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "bootable", "1");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "online", "1");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "discard-enable",
                      libxl_defbool_is_default(disk->discard_enable) ||
                      libxl_defbool_val(disk->discard_enable) ? "1" : "0");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "state", "1");
    /* the frontend's: what the guest's device is */
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "backend", be);
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "backend-id", "0");
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "virtual-device", num);
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "device-type", "disk");
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "state", "1");
    free(be);
    free(fe);
    return rc;
}

static int vbd_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    const struct vbd_args *a = arg;
    int i, rc = 0;
    char kind;
    int idx;

    for (i = 0; !rc && i < a->d_config->num_disks; i++) {
        const libxl_device_disk *disk = &a->d_config->disks[i];

        if (a->d->disks[i].bus != XENDM_DISK_VHOST_USER)
            continue;
        rc = vbd_nodes(ctx, t, a->domid, disk, &a->d->disks[i],
                       libxl__disk_vdev_number(disk->vdev, &kind, &idx));
    }
    return rc;
}

/* ------------------------------------------------------------ the API */

bool libxl__blkback_wanted(const libxl_device_disk *disk, bool pvh,
                           bool beyond_ide)
{
    /* backendtype=qdisk asks for qemu's own block layer, in qemu */
    if (disk->is_cdrom || disk->backend == LIBXL_DISK_BACKEND_QDISK)
        return false;
    return pvh || beyond_ide;
}

int libxl__blkback_start(libxl_ctx *ctx, uint32_t domid,
                         const libxl_domain_config *d_config,
                         const struct libxl__dm_build *d)
{
    struct vbd_args a = { domid, d_config, d };
    pid_t pid = 0;
    int i, rc;

    for (i = 0; i < d_config->num_disks; i++)
        if (d->disks[i].bus == XENDM_DISK_VHOST_USER)
            break;
    if (i == d_config->num_disks)
        return 0;
    rc = libxl__xs_transaction(ctx, domid, "the vbd nodes", vbd_body, &a);
    if (rc)
        return rc;
    rc = libxl__backend_spawn(ctx, &libxl__blkback_class, domid, &pid);
    if (!rc) {
        int *devids = libxl__calloc_or_die(d_config->num_disks,
                                           sizeof(*devids));
        char **vdevs = libxl__calloc_or_die(d_config->num_disks,
                                            sizeof(*vdevs));
        int n = 0, idx;
        char kind;

        for (i = 0; i < d_config->num_disks; i++) {
            if (d->disks[i].bus != XENDM_DISK_VHOST_USER)
                continue;
            vdevs[n] = d_config->disks[i].vdev;
            devids[n] = libxl__disk_vdev_number(vdevs[n], &kind, &idx);
            n++;
        }
        rc = libxl__backend_wait(ctx, &libxl__blkback_class, domid, devids,
                                 vdevs, n, pid);
        free(devids);
        free(vdevs);
    }
    if (rc && pid)
        libxl__backend_stop(ctx, &libxl__blkback_class, domid, pid);
    else if (!rc)
        LOG(ctx, DEBUG, "domain %u: block backend pid %d serves its disks",
            domid, (int)pid);
    return rc;
}

/* ------------------------------------------------------------ hotplug */

/* The disk's vdev number, and whether the domain has that disk now. */
static bool have_disk(libxl_ctx *ctx, uint32_t domid, int devid)
{
    char *p = libxl__sprintf("/libxl/%u/device/vbd/%d/vdev", domid, devid);
    char *v = libxl__xs_read(ctx, XBT_NULL, p);
    bool r = v != NULL;

    free(v);
    free(p);
    return r;
}

/* Writes /libxl/<domid>/device/vbd/<devid> for a disk added later, as
 * libxl__dm_disks_xs does at creation. */
static int libxl_nodes(libxl_ctx *ctx, xs_transaction_t t, uint32_t domid,
                       const libxl_device_disk *disk,
                       const struct xendm_disk *x, int devid)
{
    char *p = libxl__sprintf("/libxl/%u/device/vbd/%d", domid, devid);
    int rc = libxl__backend_write(ctx, t, p, "vdev", disk->vdev);

    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "params", disk->pdev_path);
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "format", x->format);
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "mode", x->readonly ? "r" : "w");
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "device-type", "disk");
    free(p);
    return rc;
}

struct add_args {
    uint32_t domid;
    const libxl_device_disk *disk;
    const struct xendm_disk *x;
    int devid;
};

static int add_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    const struct add_args *a = arg;
    int rc = vbd_nodes(ctx, t, a->domid, a->disk, a->x, a->devid);

    if (!rc)
        rc = libxl_nodes(ctx, t, a->domid, a->disk, a->x, a->devid);
    return rc;
}

/* Removes the disk's nodes: the backend's (its backend drops the export
 * when they go), the frontend's, libxl's. */
static void remove_nodes(libxl_ctx *ctx, uint32_t domid, int devid)
{
    char *paths[3];
    size_t i;

    paths[0] = libxl__sprintf("/local/domain/0/backend/vbd/%u/%d", domid,
                              devid);
    paths[1] = libxl__sprintf("/local/domain/%u/device/vbd/%d", domid,
                              devid);
    paths[2] = libxl__sprintf("/libxl/%u/device/vbd/%d", domid, devid);
    for (i = 0; i < 3; i++) {
        char *p = paths[i];

        if (!xs_rm(ctx->xsh, XBT_NULL, p) && errno != ENOENT)
            LOGE(ctx, WARN, "domain %u: removing %s", domid, p);
        free(p);
    }
}

/* The stored config follows the disks, so that a reboot keeps them. */
static void store_disks(libxl_ctx *ctx, uint32_t domid,
                        const libxl_device_disk *add, const char *drop)
{
    libxl_domain_config c;
    int i, j;

    libxl_domain_config_init(&c);
    if (libxl__domain_config_load(ctx, domid, &c))
        goto out;
    if (drop) {
        for (i = j = 0; i < c.num_disks; i++) {
            if (c.disks[i].vdev && !strcmp(c.disks[i].vdev, drop))
                libxl_device_disk_dispose(&c.disks[i]);
            else
                c.disks[j++] = c.disks[i];
        }
        c.num_disks = j;
    }
    if (add) {
        c.disks = libxl__realloc_or_die(c.disks, (c.num_disks + 1) *
                                                 sizeof(*c.disks));
        libxl_device_disk_init(&c.disks[c.num_disks]);
        libxl_device_disk_copy(ctx, &c.disks[c.num_disks], add);
        c.num_disks++;
    }
    if (libxl__domain_config_store(ctx, domid, &c))
        LOG(ctx, WARN, "domain %u: its stored config does not have the "
            "disk change (a reboot will not keep it)", domid);
out:
    libxl_domain_config_dispose(&c);
}

int libxl_device_disk_add(libxl_ctx *ctx, uint32_t domid,
                          libxl_device_disk *disk,
                          const libxl_asyncop_how *ao_how)
{
    GC_INIT;
    libxl_domain_config c;
    struct xendm_disk x = { .bus = XENDM_DISK_VHOST_USER };
    struct add_args a;
    pid_t pid;
    char kind, *args, *vu, *sock;
    int devid, idx, rc;
    bool core, pvh, fresh = false;

    libxl_domain_config_init(&c);
    rc = libxl__need_daemons(ctx, "libxl_device_disk_add");
    if (rc)
        goto out;
    if (libxl_domain_info(ctx, NULL, domid)) {
        LOG(ctx, ERROR, "block-attach: domain %u does not exist", domid);
        rc = ERROR_INVAL;
        goto out;
    }
    core = !libxl__domain_is_dm(ctx, domid);
    devid = disk->vdev ? libxl__disk_vdev_number(disk->vdev, &kind, &idx)
                       : -1;
    if (devid < 0) {
        LOG(ctx, ERROR, "domain %u: vdev \"%s\" is not a disk name (hdX, "
            "sdX or xvdX)", domid, disk->vdev ? disk->vdev : "");
        rc = ERROR_INVAL;
        goto out;
    }
    if (have_disk(ctx, domid, devid)) {
        LOG(ctx, ERROR, "domain %u: disk %s: the domain has that vdev "
            "already", domid, disk->vdev);
        rc = ERROR_INVAL;
        goto out;
    }
    rc = libxl__domain_config_load(ctx, domid, &c);
    if (rc)
        goto out;
    /* a guest of the core is PVH (a PV config runs as one) */
    pvh = core || c.c_info.type == LIBXL_DOMAIN_TYPE_PVH;
    if (!libxl__blkback_wanted(disk, pvh, kind == 'x' && idx >= 4)) {
        LOG(ctx, ERROR, "domain %u: disk %s: only a virtio disk can be "
            "added to a running domain (%s; not a cdrom, not "
            "backendtype=qdisk)", domid, disk->vdev,
            pvh ? "xvdX" : "xvde or later on HVM");
        rc = ERROR_INVAL;
        goto out;
    }
    if (!disk->pdev_path || !*disk->pdev_path) {
        LOG(ctx, ERROR, "domain %u: disk %s: no target", domid,
            disk->vdev);
        rc = ERROR_INVAL;
        goto out;
    }
    rc = libxl__disk_check_script(ctx, disk);
    if (rc)
        goto out;
    rc = libxl__check_readable(ctx, GCSPRINTF("disk %s", disk->vdev),
                               disk->pdev_path);
    if (rc)
        goto out;
    switch (disk->format) {
    case LIBXL_DISK_FORMAT_UNKNOWN:
    case LIBXL_DISK_FORMAT_RAW:
        x.format = "raw";
        break;
    case LIBXL_DISK_FORMAT_QCOW2:
        x.format = "qcow2";
        break;
    default:
        LOG(ctx, ERROR, "disk %s: format %s is not supported (raw, qcow2)",
            disk->vdev, libxl_disk_format_to_string(disk->format));
        rc = ERROR_INVAL;
        goto out;
    }
    x.readonly = !disk->readwrite;

    a = (struct add_args){ domid, disk, &x, devid };
    rc = libxl__xs_transaction(ctx, domid, "the new disk's nodes", add_body,
                               &a);
    if (rc)
        goto out;
    pid = libxl__backend_pid(ctx, &libxl__blkback_class, domid);
    if (!pid) {
        /* the domain's first disk its backend serves */
        rc = libxl__backend_spawn(ctx, &libxl__blkback_class, domid, &pid);
        if (rc)
            goto undo;
        fresh = true;
    }
    rc = libxl__backend_wait(ctx, &libxl__blkback_class, domid, &devid,
                             &disk->vdev, 1, pid);
    if (rc)
        goto undo;
    if (core) {
        rc = libxl__core_plug(ctx, domid, XC_VIRTIO_BLOCK,
                              libxl__gc_own(gc, libxl__blkback_socket(domid,
                                                                      devid)),
                              NULL, GCSPRINTF("disk %s", disk->vdev));
        if (rc)
            goto undo;
        goto added;
    }
    sock = libxl__gc_own(gc, libxl__json_quote(
                             libxl__gc_own(gc, libxl__blkback_socket(domid,
                                                                     devid))));
    vu = GCSPRINTF("vu-%s", disk->vdev);
    args = GCSPRINTF("{\"id\": \"%s\", \"backend\": {\"type\": \"socket\", "
                     "\"data\": {\"addr\": {\"type\": \"unix\", \"data\": "
                     "{\"path\": %s}}, \"server\": false, \"reconnect\": "
                     "1}}}", vu, sock);
    rc = libxl__dm_qmp_for(ctx, domid, "chardev-add", args, NULL,
             GCSPRINTF("connecting qemu to disk %s's backend", disk->vdev));
    if (rc)
        goto undo;
    /* config-wce off as at creation (qemu-dm/xendm_argv.c says why) */
    args = GCSPRINTF("{\"driver\": \"vhost-user-blk-pci\", \"chardev\": "
                     "\"%s\", \"id\": \"%s\", \"num-queues\": 1, "
                     "\"config-wce\": false}", vu,
                     disk->vdev);
    rc = libxl__dm_qmp_for(ctx, domid, "device_add", args, NULL,
             GCSPRINTF("plugging disk %s", disk->vdev));
    if (rc) {
        libxl__dm_qmp_for(ctx, domid, "chardev-remove",
            GCSPRINTF("{\"id\": \"%s\"}", vu), NULL, "undoing it");
        goto undo;
    }
added:
    store_disks(ctx, domid, disk, NULL);
    LOG(ctx, DEBUG, "domain %u: disk %s (%s) added", domid, disk->vdev,
        disk->pdev_path);
    rc = libxl__ao_complete(ctx, domid, ao_how, 0);
    goto out;

undo:
    remove_nodes(ctx, domid, devid);
    if (fresh)
        libxl__backend_stop(ctx, &libxl__blkback_class, domid, pid);
out:
    libxl_domain_config_dispose(&c);
    GC_FREE;
    return rc;
}

/*
 * Unplugs disk->vdev: asks the guest to release it (PCI hot-unplug) and,
 * unless `force`, waits until it has; then drops qemu's socket and the
 * nodes (the backend drops its export).
 */
static int disk_remove(libxl_ctx *ctx, uint32_t domid,
                       const libxl_device_disk *disk, bool force)
{
    GC_INIT;
    char kind, *st;
    int devid, idx, i, rc;

    rc = libxl__need_daemons(ctx, "libxl_device_disk_remove");
    if (rc)
        goto out;
    devid = disk->vdev ? libxl__disk_vdev_number(disk->vdev, &kind, &idx)
                       : -1;
    if (devid < 0 || !have_disk(ctx, domid, devid)) {
        LOG(ctx, ERROR, "domain %u has no disk %s", domid,
            disk->vdev ? disk->vdev : "(no vdev)");
        rc = ERROR_INVAL;
        goto out;
    }
    st = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                GCSPRINTF("/local/domain/0/backend/vbd/%u/%d/state", domid,
                          devid)));
    if (!st) {
        LOG(ctx, ERROR, "domain %u: disk %s is qemu's own (an emulated or "
            "backendtype=qdisk disk): it cannot be unplugged", domid,
            disk->vdev);
        rc = ERROR_INVAL;
        goto out;
    }
    if (!libxl__domain_is_dm(ctx, domid)) {
        rc = libxl__core_unplug(ctx, domid,
                                libxl__gc_own(gc, libxl__blkback_socket(domid,
                                                                        devid)),
                                GCSPRINTF("disk %s", disk->vdev), force);
        if (rc)
            goto out;
        goto removed;
    }
    rc = libxl__dm_qmp_for(ctx, domid, "device_del",
             GCSPRINTF("{\"id\": \"%s\"}", disk->vdev), NULL,
             GCSPRINTF("asking the guest to release disk %s", disk->vdev));
    if (rc && !force)
        goto out;
    for (i = 0; !force && i < 500 &&
                libxl__dm_pci_has(ctx, domid, disk->vdev); i++)
        libxl__nap_ms(20);
    if (!force && libxl__dm_pci_has(ctx, domid, disk->vdev)) {
        LOG(ctx, ERROR, "domain %u: the guest did not release disk %s "
            "within 10 s (block-detach -f removes it anyway)", domid,
            disk->vdev);
        rc = ERROR_FAIL;
        goto out;
    }
    /* with -f qemu may still hold the socket: then it goes with qemu */
    libxl__dm_qmp_for(ctx, domid, "chardev-remove",
        GCSPRINTF("{\"id\": \"vu-%s\"}", disk->vdev), NULL,
        GCSPRINTF("closing disk %s's socket", disk->vdev));
removed:
    remove_nodes(ctx, domid, devid);
    store_disks(ctx, domid, NULL, disk->vdev);
    rc = 0;
out:
    GC_FREE;
    return rc;
}

int libxl_device_disk_remove(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_disk *disk,
                             const libxl_asyncop_how *ao_how)
{
    return libxl__ao_complete(ctx, domid, ao_how,
                              disk_remove(ctx, domid, disk, false));
}

int libxl_device_disk_safe_remove(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_device_disk *disk,
                                  const libxl_asyncop_how *ao_how)
{
    return libxl_device_disk_remove(ctx, domid, disk, ao_how);
}

int libxl_device_disk_destroy(libxl_ctx *ctx, uint32_t domid,
                              const libxl_device_disk *disk,
                              const libxl_asyncop_how *ao_how)
{
    return libxl__ao_complete(ctx, domid, ao_how,
                              disk_remove(ctx, domid, disk, true));
}

int libxl_vdev_to_device_disk(libxl_ctx *ctx, uint32_t domid,
                              const char *vdev, libxl_device_disk *disk)
{
    libxl_device_disk *list;
    int i, n, rc = ERROR_INVAL;

    list = libxl_device_disk_list(ctx, domid, &n);
    for (i = 0; i < n; i++) {
        if (list[i].vdev && !strcmp(list[i].vdev, vdev)) {
            libxl_device_disk_copy(ctx, disk, &list[i]);
            rc = 0;
            break;
        }
    }
    libxl_device_disk_list_free(list, n);
    return rc;
}
