/*
 * libxl_virtio.c - the disks and NICs of a domain of the Xenolith core.
 *
 * The same backend processes serve them as serve a guest in qemu
 * (libxl_blkback.c, libxl_netback.c; the same xenstore nodes, the same
 * teardown); the core then puts each in a PCI slot of the domain
 * (xc_domain_virtio_add), where the guest's virtio_pci driver finds it:
 * at boot for the config's devices, wired up after the build and before
 * the domain first runs, or through ACPI PCI hotplug for a device added
 * later (block-attach, network-attach), which the guest is also asked to
 * release before it goes (xc_domain_virtio_del).
 */

#include "libxl_dm.h"

struct core_xs_args {
    uint32_t domid;
    const libxl_domain_config *d_config;
    const struct libxl__dm_build *d;
};

/* /libxl/<domid>/device/...: what xl lists and teardown finds */
static int core_xs_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    const struct core_xs_args *a = arg;
    int rc;

    rc = libxl__dm_nics_xs(ctx, t, a->domid, a->d_config, a->d);
    if (!rc)
        rc = libxl__dm_disks_xs(ctx, t, a->domid, a->d_config, a->d);
    return rc;
}

/* Only what a backend process serves can reach a guest of the core. */
static int check_devices(libxl_ctx *ctx, uint32_t domid,
                         const libxl_domain_config *d_config,
                         const struct libxl__dm_build *d)
{
    int i;

    for (i = 0; i < d_config->num_disks; i++) {
        if (d->disks[i].bus != XENDM_DISK_VHOST_USER) {
            LOG(ctx, ERROR, "domain %u: disk %s: a guest of the Xenolith "
                "core has virtio disks only (no cdrom, no "
                "backendtype=qdisk)", domid, d_config->disks[i].vdev);
            return ERROR_INVAL;
        }
    }
    for (i = 0; i < d_config->num_nics; i++) {
        if (!d->nics[i].socket) {
            LOG(ctx, ERROR, "domain %u: vif %d: a guest of the Xenolith "
                "core has virtio NICs only (model %s, type ioemu need "
                "qemu)", domid, d_config->nics[i].devid,
                d->nics[i].model ? d->nics[i].model : "e1000");
            return ERROR_INVAL;
        }
    }
    return 0;
}

int libxl__core_plug(libxl_ctx *ctx, uint32_t domid, unsigned int id,
                     const char *socket, const uint8_t *mac,
                     const char *what)
{
    int r = xc_domain_virtio_add(ctx->xch, domid, id, socket, mac);

    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: %s: the core could not take it "
              "from its backend (%s)", domid, what, socket);
        return ERROR_FAIL;
    }
    LOG(ctx, DEBUG, "domain %u: %s is PCI device 00:%02x.0", domid, what,
        r);
    return 0;
}

/* How long the guest has to release a device (as Xen gives a frontend). */
#define UNPLUG_WAIT_MS 10000
#define UNPLUG_NAP_MS  20

int libxl__core_unplug(libxl_ctx *ctx, uint32_t domid, const char *socket,
                       const char *what, bool force)
{
    int r, waited;

    r = xc_domain_virtio_del(ctx->xch, domid, socket,
                             force ? XC_VIRTIO_DEL_FORCE : 0);
    if (r == -ENOENT) {
        LOG(ctx, DEBUG, "domain %u: %s was not in the guest any more",
            domid, what);
        return 0;
    }
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: %s: the core could not take it "
              "out (%s)", domid, what, socket);
        return ERROR_FAIL;
    }
    for (waited = 0; !force && waited < UNPLUG_WAIT_MS;
         waited += UNPLUG_NAP_MS) {
        r = xc_domain_virtio_state(ctx->xch, domid, socket);
        if (r == XC_VIRTIO_GONE)
            return 0;
        if (r < 0) {
            LOGEV(ctx, ERROR, -r, "domain %u: %s: the core cannot say "
                  "whether the guest released it", domid, what);
            return ERROR_FAIL;
        }
        libxl__nap_ms(UNPLUG_NAP_MS);
    }
    if (!force) {
        LOG(ctx, ERROR, "domain %u: the guest did not release %s within "
            "%d s (-f removes it anyway)", domid, what,
            UNPLUG_WAIT_MS / 1000);
        return ERROR_FAIL;
    }
    return 0;
}

int libxl__core_devices(libxl_ctx *ctx, uint32_t domid,
                        libxl_domain_config *d_config)
{
    struct libxl__dm_build d;
    struct core_xs_args a = { domid, d_config, &d };
    int i, rc;

    if (!d_config->num_disks && !d_config->num_nics)
        return 0;
    memset(&d, 0, sizeof(d));
    d.cfg.domid = domid;
    rc = libxl__dm_map_disks(ctx, d_config, &d, true);
    if (!rc)
        rc = libxl__dm_map_nics(ctx, domid, d_config, &d, true);
    if (!rc)
        rc = check_devices(ctx, domid, d_config, &d);
    if (!rc)
        rc = libxl__xs_transaction(ctx, domid, "the device nodes",
                                   core_xs_body, &a);
    if (!rc)
        rc = libxl__blkback_start(ctx, domid, d_config, &d);
    if (!rc)
        rc = libxl__netback_start(ctx, domid, d_config, &d);
    for (i = 0; !rc && i < d_config->num_nics; i++) {
        libxl_device_nic *nic = &d_config->nics[i];

        if (libxl_defbool_is_default(d_config->c_info.run_hotplug_scripts)
            || libxl_defbool_val(d_config->c_info.run_hotplug_scripts))
            rc = libxl__vif_hotplug(ctx, domid, nic->devid, nic->script,
                                    nic->bridge, d.nics[i].ifname,
                                    "online");
    }
    for (i = 0; !rc && i < d_config->num_disks; i++)
        rc = libxl__core_plug(ctx, domid, XC_VIRTIO_BLOCK,
                              d.disks[i].socket, NULL,
                              libxl__dm_own(&d, libxl__sprintf("disk %s",
                                            d_config->disks[i].vdev)));
    for (i = 0; !rc && i < d_config->num_nics; i++)
        rc = libxl__core_plug(ctx, domid, XC_VIRTIO_NET, d.nics[i].socket,
                              d_config->nics[i].mac,
                              libxl__dm_own(&d, libxl__sprintf("vif %d",
                                            d_config->nics[i].devid)));
    libxl__dm_build_free(&d);
    return rc;
}
