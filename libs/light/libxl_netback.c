/*
 * libxl_netback.c - a domain's NICs served by its network backend,
 * xenolith-netback (backends/net/): the vif nodes Xen lays out in
 * xenstore and the backend started with the domain (libxl_backend.c).
 *
 * A virtio-net NIC (a PVH guest's by default; not one of type=ioemu) is
 * the backend's: it makes the tap vif<domid>.<devid>, serves the guest's
 * qemu over vhost-user on <rundir>/backends/vif-<domid>/<devid>.sock and
 * answers in /local/domain/0/backend/vif/<domid>/<devid> (hotplug-status
 * "connected", vifname); then the vif hotplug script puts the tap on its
 * bridge, as for qemu's own taps (libxl_nic.c).
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libxl_dm.h"

/*
 * The backend keeps its taps persistent, so that a worker its supervisor
 * restarts finds them on their bridges; it drops them as it stops.  One
 * killed at teardown cannot: its taps vif<domid>.<devid> go here.
 */
static void drop_taps(libxl_ctx *ctx, uint32_t domid)
{
    /* this network namespace's interfaces (sysfs may show another) */
    struct if_nameindex *all = if_nameindex(), *i;
    char prefix[32];
    size_t plen;

    snprintf(prefix, sizeof(prefix), "vif%u.", domid);
    plen = strlen(prefix);
    for (i = all; i && i->if_index; i++) {
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
        int fd;

        if (strncmp(i->if_name, prefix, plen) || strchr(i->if_name, '-') ||
            strlen(i->if_name) >= IFNAMSIZ)
            continue; /* qemu's own taps end in -emu */
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", i->if_name);
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 ||
            ioctl(fd, TUNSETPERSIST, 0) < 0)
            LOGE(ctx, WARN, "domain %u: removing the tap %s its network "
                 "backend left", domid, i->if_name);
        if (fd >= 0)
            close(fd); /* no longer persistent: it goes with this */
    }
    if (all)
        if_freenameindex(all);
}

const struct libxl__backend_class libxl__netback_class = {
    .kind = "vif", .device = "vif", .what = "network backend",
    .binary = "xenolith-netback", .env = "XENOLITH_NETBACK",
    .path = XENOLITH_LIBEXECDIR "/xenolith-netback", .pid_name = "netback",
    .leftovers = drop_taps,
};

bool libxl__netback_wanted(const libxl_device_nic *nic, const char *model)
{
    return !strcmp(model, "virtio-net") &&
           nic->nictype != LIBXL_NIC_TYPE_VIF_IOEMU;
}

struct vif_args {
    uint32_t domid;
    const libxl_domain_config *d_config;
    const struct libxl__dm_build *d;
};

/* One NIC's backend and frontend directories, as Xen's libxl has them. */
static int vif_nodes(libxl_ctx *ctx, xs_transaction_t t, uint32_t domid,
                     const libxl_device_nic *nic, const struct xendm_nic *x)
{
    char *be = libxl__sprintf("/local/domain/0/backend/vif/%u/%d", domid,
                              nic->devid);
    char *fe = libxl__sprintf("/local/domain/%u/device/vif/%d", domid,
                              nic->devid);
    char num[16], dom[16], rate[48];
    int rc;

    snprintf(num, sizeof(num), "%d", nic->devid);
    snprintf(dom, sizeof(dom), "%u", domid);
    rc = libxl__backend_mkdir(ctx, t, be, 0, domid);
    if (!rc)
        rc = libxl__backend_mkdir(ctx, t, fe, domid, 0);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "frontend", fe);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "frontend-id", dom);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "handle", num);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "mac", x->mac);
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "bridge",
                                  nic->bridge ? nic->bridge : "");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "script",
                                  nic->script ? nic->script : "");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "type", "vif");
    if (!rc && nic->rate_bytes_per_interval) {
        snprintf(rate, sizeof(rate), "%llu,%u",
                 (unsigned long long)nic->rate_bytes_per_interval,
                 nic->rate_interval_usecs);
        rc = libxl__backend_write(ctx, t, be, "rate", rate);
    }
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "online", "1");
    if (!rc)
        rc = libxl__backend_write(ctx, t, be, "state", "1");
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "backend", be);
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "backend-id", "0");
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "handle", num);
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "mac", x->mac);
    if (!rc)
        rc = libxl__backend_write(ctx, t, fe, "state", "1");
    free(be);
    free(fe);
    return rc;
}

static int vif_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    const struct vif_args *a = arg;
    int i, rc = 0;

    for (i = 0; !rc && i < a->d_config->num_nics; i++)
        if (a->d->nics[i].socket)
            rc = vif_nodes(ctx, t, a->domid, &a->d_config->nics[i],
                           &a->d->nics[i]);
    return rc;
}

int libxl__netback_start(libxl_ctx *ctx, uint32_t domid,
                         const libxl_domain_config *d_config,
                         const struct libxl__dm_build *d)
{
    struct vif_args a = { domid, d_config, d };
    int *devids = NULL, i, n = 0, rc;
    char **names = NULL;
    pid_t pid = 0;

    for (i = 0; i < d_config->num_nics; i++)
        n += d->nics[i].socket != NULL;
    if (!n)
        return 0;
    rc = libxl__xs_transaction(ctx, domid, "the vif nodes", vif_body, &a);
    if (rc)
        return rc;
    rc = libxl__backend_spawn(ctx, &libxl__netback_class, domid, &pid);
    if (rc)
        goto out;
    devids = libxl__calloc_or_die(n, sizeof(*devids));
    names = libxl__calloc_or_die(n, sizeof(*names));
    for (i = n = 0; i < d_config->num_nics; i++) {
        if (!d->nics[i].socket)
            continue;
        devids[n] = d_config->nics[i].devid;
        names[n++] = (char *)d->nics[i].ifname;
    }
    rc = libxl__backend_wait(ctx, &libxl__netback_class, domid, devids,
                             names, n, pid);
out:
    if (rc && pid)
        libxl__backend_stop(ctx, &libxl__netback_class, domid, pid);
    else if (!rc)
        LOG(ctx, DEBUG, "domain %u: network backend pid %d serves its "
            "vifs", domid, (int)pid);
    free(devids);
    free(names);
    return rc;
}
