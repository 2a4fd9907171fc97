/*
 * libxl_nic.c - the NICs of a device-model domain: qemu's model, the MAC
 * (Xen's 00:16:3e prefix when none is given), the tap vif<domid>.<devid>-emu,
 * their xenstore record, and the vif hotplug script that puts the tap on
 * its bridge (online) and takes it off (offline).
 */
#include "libxl.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libxl_dm.h"

#ifndef XENOLITH_SCRIPTDIR
#define XENOLITH_SCRIPTDIR "/etc/xen/scripts"
#endif

static const char *nic_model(libxl_ctx *ctx, const libxl_device_nic *nic,
                             int devid, bool pvh)
{
    static const char *const alias[][2] = {
        { "e1000", "e1000" }, { "rtl8139", "rtl8139" },
        { "virtio-net", "virtio-net" }, { "virtio", "virtio-net" },
        { "virtio-net-pci", "virtio-net" },
    };
    size_t i;

    if (!nic->model || !*nic->model)
        return pvh ? "virtio-net" : "e1000";
    for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (!strcmp(nic->model, alias[i][0]))
            return alias[i][1];
    LOG(ctx, ERROR, "vif %d: unknown model \"%s\" (known: e1000, rtl8139, "
        "virtio-net)", devid, nic->model);
    return NULL;
}

static void random_mac(libxl_mac *mac)
{
    uint8_t r[3] = { 0, 0, 0 };
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (read(fd, r, sizeof(r)) != sizeof(r))
            r[0] = r[1] = r[2] = (uint8_t)getpid();
        close(fd);
    }
    (*mac)[0] = 0x00;
    (*mac)[1] = 0x16;
    (*mac)[2] = 0x3e;
    (*mac)[3] = r[0] & 0x7f;
    (*mac)[4] = r[1];
    (*mac)[5] = r[2];
}

int libxl__dm_map_nic(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                      bool pvh, struct libxl__dm_build *d,
                      struct xendm_nic *x)
{
    int devid = nic->devid;

    x->model = nic_model(ctx, nic, devid, pvh);
    if (!x->model)
        return ERROR_INVAL;
    if (libxl__mac_is_default(&nic->mac))
        random_mac(&nic->mac);
    x->mac = libxl__dm_own(d, libxl__sprintf(LIBXL_MAC_FMT,
                                             LIBXL_MAC_BYTES(nic->mac)));
    if (libxl__netback_wanted(nic, x->model)) {
        /* the network backend's tap and socket (libxl_netback.c) */
        x->socket = libxl__dm_own(d, libxl__backend_socket(
            &libxl__netback_class, domid, devid));
        x->ifname = libxl__dm_own(d, libxl__sprintf("vif%u.%d", domid,
                                                    devid));
    } else {
        x->ifname = libxl__dm_own(d, libxl__sprintf("vif%u.%d-emu",
                                                    domid, devid));
    }
    if (strlen(x->ifname) > 15) {
        LOG(ctx, ERROR, "vif %d: tap name %s is too long", devid,
            x->ifname);
        return ERROR_INVAL;
    }
    return 0;
}

int libxl__dm_map_nics(libxl_ctx *ctx, uint32_t domid,
                       libxl_domain_config *d_config,
                       struct libxl__dm_build *d, bool pvh)
{
    int i, rc;

    d->nics = libxl__calloc_or_die(d_config->num_nics + 1,
                                   sizeof(*d->nics));
    for (i = 0; i < d_config->num_nics; i++) {
        libxl_device_nic *nic = &d_config->nics[i];

        if (nic->devid < 0)
            nic->devid = i;
        rc = libxl__dm_map_nic(ctx, domid, nic, pvh, d, &d->nics[i]);
        if (rc)
            return rc;
    }
    d->cfg.nics = d->nics;
    d->cfg.nr_nics = d_config->num_nics;
    return 0;
}

int libxl__dm_nics_xs(libxl_ctx *ctx, xs_transaction_t t, uint32_t domid,
                      const libxl_domain_config *d_config,
                      const struct libxl__dm_build *d)
{
    GC_INIT;
    int i, rc = 0;

    for (i = 0; !rc && i < d_config->num_nics; i++) {
        libxl_device_nic *nic = &d_config->nics[i];
        char *p = GCSPRINTF("/libxl/%u/device/vif/%d", domid, nic->devid);

        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/ifname", p),
                             d->nics[i].ifname);
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/mac", p),
                                 d->nics[i].mac);
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/model", p),
                                 d->nics[i].model);
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/bridge", p),
                                 nic->bridge ? nic->bridge : "");
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/script", p),
                                 nic->script ? nic->script : "");
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/type", p),
                                 d->nics[i].socket ? "vif" : "ioemu");
        if (!rc)
            rc = libxl__vif_script_keys(ctx, t, p, nic);
        /* qemu's names for it (qemu-dm/xendm_argv.c): for unplugging */
        if (!rc && d->nics[i].socket)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/qemu-ids", p),
                                 GCSPRINTF("nic%d,net%d,vn%d", i, i, i));
    }
    GC_FREE;
    return rc;
}

int libxl__vif_script_keys(libxl_ctx *ctx, xs_transaction_t t,
                           const char *path, const libxl_device_nic *nic)
{
    char *p = libxl__sprintf("%s/ip", path);
    int rc = 0;

    if (nic->ip && *nic->ip)
        rc = libxl__xs_write(ctx, t, p, nic->ip);
    free(p);
    p = libxl__sprintf("%s/gatewaydev", path);
    if (!rc && nic->gatewaydev && *nic->gatewaydev)
        rc = libxl__xs_write(ctx, t, p, nic->gatewaydev);
    free(p);
    return rc;
}

int libxl__vif_hotplug(libxl_ctx *ctx, uint32_t domid, int devid,
                       const char *script, const char *bridge,
                       const char *tap, const char *action)
{
    char *xbpath, *devstr, *what, *p, *ip, *netdev;
    int rc;

    xbpath = libxl__sprintf("/libxl/%u/device/vif/%d", domid, devid);
    devstr = libxl__sprintf("%d", devid);
    what = libxl__sprintf("domain %u: vif %d (%s)", domid, devid, tap);
    /* what vif-route needs, from the vif's record */
    p = libxl__sprintf("%s/ip", xbpath);
    ip = libxl__xs_read(ctx, XBT_NULL, p);
    free(p);
    p = libxl__sprintf("%s/gatewaydev", xbpath);
    netdev = libxl__xs_read(ctx, XBT_NULL, p);
    free(p);
    {
        char *const env[] = {
            "vif", (char *)tap, "type_if", "tap", "XENBUS_PATH", xbpath,
            "devid", devstr,
            "bridge", bridge && *bridge ? (char *)bridge : NULL,
            "ip", ip, "netdev", netdev, NULL,
        };

        rc = libxl__hotplug_run(ctx, what,
                                script && *script ? script : "vif-bridge",
                                action, "type_if=tap", env);
    }
    free(xbpath);
    free(devstr);
    free(what);
    free(ip);
    free(netdev);
    return rc;
}

/* ------------------------------------------------------------ listing */

/* "00:16:3e:xx:xx:xx" into mac; 0, or -1 when it is not one. */
static int parse_mac(const char *s, libxl_mac mac)
{
    unsigned int b[6];
    int i, end = 0;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5], &end) != 6 || end != 17 || s[end])
        return -1;
    for (i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return 0;
}

libxl_device_nic *libxl_device_nic_list(libxl_ctx *ctx, uint32_t domid,
                                        int *num)
{
    GC_INIT;
    libxl_device_nic *list = NULL;
    char *dir = GCSPRINTF("/libxl/%u/device/vif", domid), **ents;
    unsigned int i, n = 0;

    *num = 0;
    ents = libxl__xs_devids(ctx, dir, &n);
    if (!ents || !n)
        goto out;
    list = libxl__calloc_or_die(n, sizeof(*list));
    for (i = 0; i < n; i++) {
        libxl_device_nic *nic = &list[*num];
        char *p = GCSPRINTF("%s/%s", dir, ents[i]), *v, *end;

        libxl_device_nic_init(nic);
        nic->devid = (int)strtol(ents[i], &end, 10);
        v = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                             GCSPRINTF("%s/mac", p)));
        if (*end || !v || parse_mac(v, nic->mac)) {
            libxl_device_nic_dispose(nic);
            continue;
        }
        nic->ifname = libxl__xs_read(ctx, XBT_NULL,
                                     GCSPRINTF("%s/ifname", p));
        nic->model = libxl__xs_read(ctx, XBT_NULL,
                                    GCSPRINTF("%s/model", p));
        nic->bridge = libxl__xs_read(ctx, XBT_NULL,
                                     GCSPRINTF("%s/bridge", p));
        nic->script = libxl__xs_read(ctx, XBT_NULL,
                                     GCSPRINTF("%s/script", p));
        v = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                             GCSPRINTF("%s/type", p)));
        nic->nictype = v && !strcmp(v, "ioemu") ? LIBXL_NIC_TYPE_VIF_IOEMU
                                                : LIBXL_NIC_TYPE_VIF;
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

void libxl_device_nic_list_free(libxl_device_nic *list, int num)
{
    int i;

    for (i = 0; list && i < num; i++)
        libxl_device_nic_dispose(&list[i]);
    free(list);
}

int libxl_device_nic_getinfo(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_nic *nic,
                             libxl_nicinfo *info)
{
    GC_INIT;
    char *be, *st;
    int rc;

    if (!libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
            GCSPRINTF("/libxl/%u/device/vif/%d/mac", domid, nic->devid)))) {
        LOG(ctx, ERROR, "domain %u has no vif %d", domid, nic->devid);
        rc = ERROR_INVAL;
        goto out;
    }
    libxl_nicinfo_init(info);
    info->devid = nic->devid;
    info->backend_id = 0;
    info->frontend_id = domid;
    info->evtch = -1;
    info->rref_tx = -1;
    info->rref_rx = -1;
    be = GCSPRINTF("/local/domain/0/backend/vif/%u/%d", domid, nic->devid);
    st = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                          GCSPRINTF("%s/state", be)));
    if (st) {
        info->backend = libxl__strdup_or_die(be);
        info->frontend = libxl__sprintf("/local/domain/%u/device/vif/%d",
                                        domid, nic->devid);
        info->state = atoi(st);
    } else {
        /* an emulated NIC: qemu's, no backend, up while qemu runs */
        info->backend = libxl__strdup_or_die("");
        info->frontend = libxl__strdup_or_die("");
        info->state = 4;
    }
    rc = 0;
out:
    GC_FREE;
    return rc;
}
