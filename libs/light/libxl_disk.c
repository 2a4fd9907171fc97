/*
 * libxl_disk.c - the disks of a device-model domain: Xen's disk names
 * (hdX, sdX, xvdX) -> qemu's drives (IDE, SCSI, virtio-blk), their
 * xenstore record, and cd-insert/cd-eject on a running domain.
 */
#include "libxl.h"

#include "libxl_dm.h"

int libxl__disk_vdev_number(const char *vdev, char *kind_r, int *index_r)
{
    const char *p;
    int disk = 0, n = 0;

    if (!strncmp(vdev, "xvd", 3)) {
        *kind_r = 'x';
        p = vdev + 3;
    } else if (!strncmp(vdev, "hd", 2)) {
        *kind_r = 'h';
        p = vdev + 2;
    } else if (!strncmp(vdev, "sd", 2)) {
        *kind_r = 's';
        p = vdev + 2;
    } else {
        return -1;
    }
    if (*p < 'a' || *p > 'z')
        return -1;
    while (*p >= 'a' && *p <= 'z') {
        disk = disk * 26 + (*p - 'a' + 1);
        p++;
        if (++n > 2)
            return -1;
    }
    if (*p)
        return -1;          /* partitions are not disks here */
    disk--;
    *index_r = disk;
    switch (*kind_r) {
    case 'x':
        return disk < 16 ? (202 << 8) | (disk << 4) : (1 << 28) | (disk << 8);
    case 'h':
        if (disk > 3)
            return -1;
        return ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6);
    default:
        return disk < 16 ? (8 << 8) | (disk << 4) : -1;
    }
}

int libxl__disk_check_script(libxl_ctx *ctx, const libxl_device_disk *disk)
{
    if (!disk->script || !*disk->script)
        return 0;
    LOG(ctx, ERROR, "disk %s: script=%s: block hotplug scripts are not run "
        "(Xenolith's block backend opens the target itself): give the "
        "target's path", disk->vdev ? disk->vdev : "", disk->script);
    return ERROR_INVAL;
}

int libxl__dm_map_disks(libxl_ctx *ctx, libxl_domain_config *d_config,
                        struct libxl__dm_build *d, bool pvh)
{
    int i, j, idx, oidx, num, rc;
    char kind, okind;

    d->disks = libxl__calloc_or_die(d_config->num_disks + 1,
                                    sizeof(*d->disks));
    for (i = 0; i < d_config->num_disks; i++) {
        libxl_device_disk *disk = &d_config->disks[i];
        struct xendm_disk *x = &d->disks[i];
        const char *vdev = disk->vdev ? disk->vdev : "";
        bool empty = !disk->pdev_path || !*disk->pdev_path ||
                     disk->format == LIBXL_DISK_FORMAT_EMPTY;

        num = libxl__disk_vdev_number(vdev, &kind, &idx);
        if (num < 0) {
            LOG(ctx, ERROR, "disk %d: vdev \"%s\" is not a disk name "
                "(hdX, sdX or xvdX)", i, vdev);
            return ERROR_INVAL;
        }
        for (j = 0; j < i; j++) {
            const char *other = d_config->disks[j].vdev;

            if (other && libxl__disk_vdev_number(other, &okind, &oidx) ==
                         num) {
                LOG(ctx, ERROR, "disk %d (%s): the vdev is taken by disk "
                    "%d (%s)", i, vdev, j, other);
                return ERROR_INVAL;
            }
        }
        if (empty && !disk->is_cdrom) {
            LOG(ctx, ERROR, "disk %s: no target (only a cdrom may be "
                "empty)", vdev);
            return ERROR_INVAL;
        }
        rc = libxl__disk_check_script(ctx, disk);
        if (rc)
            return rc;
        switch (disk->format) {
        case LIBXL_DISK_FORMAT_UNKNOWN:
        case LIBXL_DISK_FORMAT_RAW:
        case LIBXL_DISK_FORMAT_EMPTY:
            x->format = "raw";
            break;
        case LIBXL_DISK_FORMAT_QCOW2:
            x->format = "qcow2";
            break;
        default:
            LOG(ctx, ERROR, "disk %s: format %s is not supported (raw, "
                "qcow2)", vdev, libxl_disk_format_to_string(disk->format));
            return ERROR_INVAL;
        }
        if (!empty) {
            rc = libxl__check_readable(ctx, libxl__dm_own(d,
                                           libxl__sprintf("disk %s", vdev)),
                                       disk->pdev_path);
            if (rc)
                return rc;
            x->path = disk->pdev_path;
        }
        x->readonly = !disk->readwrite || disk->is_cdrom;
        x->cdrom = disk->is_cdrom;
        x->id = vdev;
        if (libxl__blkback_wanted(disk, pvh, kind == 'x' && idx >= 4)) {
            /* served by the domain's block backend, not by qemu */
            x->bus = XENDM_DISK_VHOST_USER;
            x->socket = libxl__dm_own(d, libxl__blkback_socket(d->cfg.domid,
                                                               num));
            x->path = NULL;
        } else if (pvh) {
            if (disk->is_cdrom) {
                LOG(ctx, ERROR, "disk %s: a PVH domain has no cdrom drive",
                    vdev);
                return ERROR_INVAL;
            }
            x->bus = XENDM_DISK_VIRTIO;
        } else if (kind == 's') {
            x->bus = XENDM_DISK_SCSI;
            x->slot = idx + 1;
        } else if (idx < 4) {
            x->bus = XENDM_DISK_IDE;
            x->slot = idx + 1;
        } else if (kind == 'x' && !disk->is_cdrom) {
            /* no PV disks: past the four IDE slots, virtio-blk */
            x->bus = XENDM_DISK_VIRTIO;
        } else {
            LOG(ctx, ERROR, "disk %s: only the first four disks of an HVM "
                "domain can be IDE (hda..hdd, xvda..xvdd)", vdev);
            return ERROR_INVAL;
        }
        if (x->cdrom && x->bus != XENDM_DISK_IDE) {
            LOG(ctx, ERROR, "disk %s: a cdrom must be an IDE drive "
                "(hda..hdd, xvda..xvdd)", vdev);
            return ERROR_INVAL;
        }
    }
    d->cfg.disks = d->disks;
    d->cfg.nr_disks = d_config->num_disks;
    return 0;
}

int libxl__dm_disks_xs(libxl_ctx *ctx, xs_transaction_t t, uint32_t domid,
                       const libxl_domain_config *d_config,
                       const struct libxl__dm_build *d)
{
    GC_INIT;
    char kind;
    int i, idx, rc = 0;

    for (i = 0; !rc && i < d_config->num_disks; i++) {
        libxl_device_disk *disk = &d_config->disks[i];
        int num = libxl__disk_vdev_number(disk->vdev, &kind, &idx);
        char *p = GCSPRINTF("/libxl/%u/device/vbd/%d", domid, num);

        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/vdev", p), disk->vdev);
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/params", p),
                                 disk->pdev_path ? disk->pdev_path : "");
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/format", p),
                                 d->disks[i].format);
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/mode", p),
                                 d->disks[i].readonly ? "r" : "w");
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/device-type", p),
                                 disk->is_cdrom ? "cdrom" : "disk");
    }
    GC_FREE;
    return rc;
}

/* cd-insert and cd-eject: qemu changes the medium (through the core) */
int libxl_cdrom_insert(libxl_ctx *ctx, uint32_t domid,
                       libxl_device_disk *disk,
                       const libxl_asyncop_how *ao_how)
{
    GC_INIT;
    char kind, *p, *type, *id, *file, *args;
    const char *fmt;
    bool empty;
    int idx, num, rc;

    rc = libxl__need_daemons(ctx, "libxl_cdrom_insert");
    if (rc)
        goto out;
    rc = libxl_domain_info(ctx, NULL, domid);
    if (rc) {
        LOG(ctx, ERROR, "cd-insert: domain %u does not exist", domid);
        goto out;
    }
    if (!libxl__domain_is_dm(ctx, domid)) {
        LOG(ctx, ERROR, "domain %u: cd-insert/cd-eject need an HVM "
            "domain (this one has no cdrom drive)", domid);
        rc = ERROR_INVAL;
        goto out;
    }
    num = disk->vdev ? libxl__disk_vdev_number(disk->vdev, &kind, &idx) : -1;
    p = GCSPRINTF("/libxl/%u/device/vbd/%d", domid, num);
    type = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                GCSPRINTF("%s/device-type", p)));
    if (num < 0 || !type || strcmp(type, "cdrom")) {
        LOG(ctx, ERROR, "domain %u: %s is not a cdrom drive of the domain",
            domid, disk->vdev ? disk->vdev : "(no vdev)");
        rc = ERROR_INVAL;
        goto out;
    }
    empty = !disk->pdev_path || !*disk->pdev_path ||
            disk->format == LIBXL_DISK_FORMAT_EMPTY;
    id = libxl__gc_own(gc, libxl__json_quote(disk->vdev));
    if (empty) {
        args = GCSPRINTF("{\"id\": %s, \"force\": true}", id);
        rc = libxl__dm_qmp(ctx, domid, "eject", args);
        if (rc)
            goto out;
    } else {
        rc = libxl__check_readable(ctx, GCSPRINTF("cdrom %s", disk->vdev),
                                   disk->pdev_path);
        if (rc)
            goto out;
        if (disk->format == LIBXL_DISK_FORMAT_QCOW2) {
            fmt = "qcow2";
        } else if (disk->format == LIBXL_DISK_FORMAT_RAW ||
                   disk->format == LIBXL_DISK_FORMAT_UNKNOWN) {
            fmt = "raw";
        } else {
            LOG(ctx, ERROR, "cdrom %s: format %s is not supported (raw, "
                "qcow2)", disk->vdev,
                libxl_disk_format_to_string(disk->format));
            rc = ERROR_INVAL;
            goto out;
        }
        file = libxl__gc_own(gc, libxl__json_quote(disk->pdev_path));
        args = GCSPRINTF("{\"id\": %s, \"filename\": %s, \"format\": "
                         "\"%s\", \"read-only-mode\": \"read-only\"}", id,
                         file, fmt);
        rc = libxl__dm_qmp(ctx, domid, "blockdev-change-medium", args);
        if (rc)
            goto out;
    }
    rc = libxl__xs_write(ctx, XBT_NULL, GCSPRINTF("%s/params", p),
                         empty ? "" : disk->pdev_path);
    if (rc)
        goto out;
    rc = libxl__ao_complete(ctx, domid, ao_how, 0);
out:
    GC_FREE;
    return rc;
}

/* ------------------------------------------------------------ listing */

libxl_device_disk *libxl_device_disk_list(libxl_ctx *ctx, uint32_t domid,
                                          int *num)
{
    GC_INIT;
    libxl_device_disk *list = NULL;
    char *dir = GCSPRINTF("/libxl/%u/device/vbd", domid), **ents;
    unsigned int i, n = 0;

    *num = 0;
    ents = libxl__xs_devids(ctx, dir, &n);
    if (!ents || !n)
        goto out;
    list = libxl__calloc_or_die(n, sizeof(*list));
    for (i = 0; i < n; i++) {
        libxl_device_disk *disk = &list[*num];
        char *p = GCSPRINTF("%s/%s", dir, ents[i]), *v;

        libxl_device_disk_init(disk);
        disk->vdev = libxl__xs_read(ctx, XBT_NULL, GCSPRINTF("%s/vdev", p));
        if (!disk->vdev) {
            libxl_device_disk_dispose(disk);
            continue;
        }
        disk->pdev_path = libxl__xs_read(ctx, XBT_NULL,
                                         GCSPRINTF("%s/params", p));
        v = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                             GCSPRINTF("%s/format", p)));
        disk->format = v && !strcmp(v, "qcow2") ? LIBXL_DISK_FORMAT_QCOW2
                                                : LIBXL_DISK_FORMAT_RAW;
        v = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                             GCSPRINTF("%s/mode", p)));
        disk->readwrite = v && !strcmp(v, "w");
        v = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                             GCSPRINTF("%s/device-type",
                                                       p)));
        disk->is_cdrom = v && !strcmp(v, "cdrom");
        disk->removable = disk->is_cdrom;
        v = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                GCSPRINTF("/local/domain/0/backend/vbd/%u/%s/state", domid,
                          ents[i])));
        disk->backend = v ? LIBXL_DISK_BACKEND_STANDALONE
                          : LIBXL_DISK_BACKEND_QDISK;
        (*num)++;
    }
out:
    free(ents);
    if (!*num) {
        free(list);
        list = NULL;
    }
    GC_FREE;
    return list;
}

void libxl_device_disk_list_free(libxl_device_disk *list, int num)
{
    int i;

    for (i = 0; list && i < num; i++)
        libxl_device_disk_dispose(&list[i]);
    free(list);
}

int libxl_device_disk_getinfo(libxl_ctx *ctx, uint32_t domid,
                              const libxl_device_disk *disk,
                              libxl_diskinfo *info)
{
    GC_INIT;
    char kind, *lx, *be, *st;
    int idx, num, rc;

    num = disk->vdev ? libxl__disk_vdev_number(disk->vdev, &kind, &idx)
                     : -1;
    lx = GCSPRINTF("/libxl/%u/device/vbd/%d", domid, num);
    if (num < 0 || !libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                        GCSPRINTF("%s/vdev", lx)))) {
        LOG(ctx, ERROR, "domain %u has no disk %s", domid,
            disk->vdev ? disk->vdev : "(no vdev)");
        rc = ERROR_INVAL;
        goto out;
    }
    libxl_diskinfo_init(info);
    info->devid = num;
    info->backend_id = 0;
    info->frontend_id = domid;
    info->evtch = -1;
    info->rref = -1;
    be = GCSPRINTF("/local/domain/0/backend/vbd/%u/%d", domid, num);
    st = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                          GCSPRINTF("%s/state", be)));
    if (st) {
        info->backend = libxl__strdup_or_die(be);
        info->frontend = libxl__sprintf("/local/domain/%u/device/vbd/%d",
                                        domid, num);
        info->state = atoi(st);
    } else {
        /* qemu's own disk: no backend, served while qemu runs */
        info->backend = libxl__strdup_or_die("");
        info->frontend = libxl__strdup_or_die("");
        info->state = 4;
    }
    rc = 0;
out:
    GC_FREE;
    return rc;
}
