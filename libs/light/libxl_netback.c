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
    if (!rc && nic->ip && *nic->ip)
        rc = libxl__backend_write(ctx, t, be, "ip", nic->ip);
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

/* ------------------------------------------------------------ hotplug */

/* Whether the domain has vif devid now. */
static bool have_vif(libxl_ctx *ctx, uint32_t domid, int devid)
{
    char *p = libxl__sprintf("/libxl/%u/device/vif/%d/mac", domid, devid);
    char *v = libxl__xs_read(ctx, XBT_NULL, p);
    bool r = v != NULL;

    free(v);
    free(p);
    return r;
}

static bool run_scripts(const libxl_domain_config *c)
{
    return libxl_defbool_is_default(c->c_info.run_hotplug_scripts) ||
           libxl_defbool_val(c->c_info.run_hotplug_scripts);
}

struct nic_add_args {
    uint32_t domid;
    const libxl_device_nic *nic;
    const struct xendm_nic *x;
};

/* The backend's and frontend's nodes, and libxl's record with qemu's
 * names for the device (as libxl__dm_nics_xs writes at creation). */
static int nic_add_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    const struct nic_add_args *a = arg;
    char *p = libxl__sprintf("/libxl/%u/device/vif/%d", a->domid,
                             a->nic->devid);
    char ids[64];
    int rc;

    snprintf(ids, sizeof(ids), "vif%d,nvif%d,cvif%d", a->nic->devid,
             a->nic->devid, a->nic->devid);
    rc = vif_nodes(ctx, t, a->domid, a->nic, a->x);
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "ifname", a->x->ifname);
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "mac", a->x->mac);
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "model", a->x->model);
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "bridge",
                                  a->nic->bridge ? a->nic->bridge : "");
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "script",
                                  a->nic->script ? a->nic->script : "");
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "type", "vif");
    if (!rc)
        rc = libxl__backend_write(ctx, t, p, "qemu-ids", ids);
    if (!rc)
        rc = libxl__vif_script_keys(ctx, t, p, a->nic);
    free(p);
    return rc;
}

/* Removes the vif's nodes: the backend's (the backend then drops its
 * tap and socket), the frontend's, libxl's. */
static void nic_remove_nodes(libxl_ctx *ctx, uint32_t domid, int devid)
{
    char *paths[3];
    size_t i;

    paths[0] = libxl__sprintf("/local/domain/0/backend/vif/%u/%d", domid,
                              devid);
    paths[1] = libxl__sprintf("/local/domain/%u/device/vif/%d", domid,
                              devid);
    paths[2] = libxl__sprintf("/libxl/%u/device/vif/%d", domid, devid);
    for (i = 0; i < 3; i++) {
        if (!xs_rm(ctx->xsh, XBT_NULL, paths[i]) && errno != ENOENT)
            LOGE(ctx, WARN, "domain %u: removing %s", domid, paths[i]);
        free(paths[i]);
    }
}

/* The stored config follows the NICs, so that a reboot keeps them. */
static void store_nics(libxl_ctx *ctx, uint32_t domid,
                       const libxl_device_nic *add, int drop)
{
    libxl_domain_config c;
    int i, j;

    libxl_domain_config_init(&c);
    if (libxl__domain_config_load(ctx, domid, &c))
        goto out;
    for (i = j = 0; i < c.num_nics; i++) {
        if (drop >= 0 && c.nics[i].devid == drop)
            libxl_device_nic_dispose(&c.nics[i]);
        else
            c.nics[j++] = c.nics[i];
    }
    c.num_nics = j;
    if (add) {
        c.nics = libxl__realloc_or_die(c.nics, (c.num_nics + 1) *
                                               sizeof(*c.nics));
        libxl_device_nic_init(&c.nics[c.num_nics]);
        libxl_device_nic_copy(ctx, &c.nics[c.num_nics], add);
        c.num_nics++;
    }
    if (libxl__domain_config_store(ctx, domid, &c))
        LOG(ctx, WARN, "domain %u: its stored config does not have the "
            "vif change (a reboot will not keep it)", domid);
out:
    libxl_domain_config_dispose(&c);
}

int libxl_device_nic_add(libxl_ctx *ctx, uint32_t domid,
                         libxl_device_nic *nic,
                         const libxl_asyncop_how *ao_how)
{
    GC_INIT;
    libxl_domain_config c;
    struct libxl__dm_build d;
    struct xendm_nic x;
    struct nic_add_args a;
    char *args, *sock;
    pid_t pid;
    bool core, fresh = false, online = false;
    int rc;

    memset(&d, 0, sizeof(d));
    memset(&x, 0, sizeof(x));
    libxl_domain_config_init(&c);
    rc = libxl__need_daemons(ctx, "libxl_device_nic_add");
    if (rc)
        goto out;
    if (libxl_domain_info(ctx, NULL, domid)) {
        LOG(ctx, ERROR, "network-attach: domain %u does not exist", domid);
        rc = ERROR_INVAL;
        goto out;
    }
    core = !libxl__domain_is_dm(ctx, domid);
    rc = libxl__domain_config_load(ctx, domid, &c);
    if (rc)
        goto out;
    if (nic->devid < 0) {
        for (nic->devid = 0; have_vif(ctx, domid, nic->devid); nic->devid++)
            ;
    } else if (have_vif(ctx, domid, nic->devid)) {
        LOG(ctx, ERROR, "domain %u: vif %d: the domain has that vif "
            "already", domid, nic->devid);
        rc = ERROR_INVAL;
        goto out;
    }
    if (!nic->model || !*nic->model)
        nic->model = libxl__strdup_or_die("virtio-net");
    d.cfg.domid = domid;
    rc = libxl__dm_map_nic(ctx, domid, nic,
                           core || c.c_info.type == LIBXL_DOMAIN_TYPE_PVH,
                           &d, &x);
    if (rc)
        goto out;
    if (!x.socket) {
        LOG(ctx, ERROR, "domain %u: vif %d: only a virtio NIC its network "
            "backend serves can be added to a running domain (model %s, "
            "not type=ioemu)", domid, nic->devid, x.model);
        rc = ERROR_INVAL;
        goto out;
    }
    a = (struct nic_add_args){ domid, nic, &x };
    rc = libxl__xs_transaction(ctx, domid, "the new vif's nodes",
                               nic_add_body, &a);
    if (rc)
        goto out;
    pid = libxl__backend_pid(ctx, &libxl__netback_class, domid);
    if (!pid) {
        /* the domain's first NIC its backend serves */
        rc = libxl__backend_spawn(ctx, &libxl__netback_class, domid, &pid);
        if (rc)
            goto undo;
        fresh = true;
    }
    rc = libxl__backend_wait(ctx, &libxl__netback_class, domid,
                             &nic->devid, (char **)&x.ifname, 1, pid);
    if (rc)
        goto undo;
    if (run_scripts(&c)) {
        rc = libxl__vif_hotplug(ctx, domid, nic->devid, nic->script,
                                nic->bridge, x.ifname, "online");
        if (rc)
            goto undo;
        online = true;
    }
    if (core) {
        rc = libxl__core_plug(ctx, domid, XC_VIRTIO_NET, x.socket, nic->mac,
                              GCSPRINTF("vif %d", nic->devid));
        if (rc)
            goto undo;
        goto added;
    }
    sock = libxl__gc_own(gc, libxl__json_quote(x.socket));
    args = GCSPRINTF("{\"id\": \"cvif%d\", \"backend\": {\"type\": "
                     "\"socket\", \"data\": {\"addr\": {\"type\": \"unix\", "
                     "\"data\": {\"path\": %s}}, \"server\": false, "
                     "\"reconnect\": 1}}}", nic->devid, sock);
    rc = libxl__dm_qmp_for(ctx, domid, "chardev-add", args, NULL,
                           GCSPRINTF("connecting qemu to vif %d's backend",
                                     nic->devid));
    if (rc)
        goto undo;
    args = GCSPRINTF("{\"type\": \"vhost-user\", \"id\": \"nvif%d\", "
                     "\"chardev\": \"cvif%d\"}", nic->devid, nic->devid);
    rc = libxl__dm_qmp_for(ctx, domid, "netdev_add", args, NULL,
                           GCSPRINTF("adding vif %d's network", nic->devid));
    if (rc)
        goto undo_chardev;
    /* vectors 0 as at creation (qemu-dm/xendm_argv.c says why) */
    args = GCSPRINTF("{\"driver\": \"virtio-net-pci\", \"id\": \"vif%d\", "
                     "\"netdev\": \"nvif%d\", \"mac\": \"%s\", \"vectors\": "
                     "0}", nic->devid, nic->devid, x.mac);
    rc = libxl__dm_qmp_for(ctx, domid, "device_add", args, NULL,
                           GCSPRINTF("plugging vif %d", nic->devid));
    if (rc) {
        libxl__dm_qmp_for(ctx, domid, "netdev_del",
                          GCSPRINTF("{\"id\": \"nvif%d\"}", nic->devid),
                          NULL, "undoing it");
        goto undo_chardev;
    }
added:
    store_nics(ctx, domid, nic, -1);
    LOG(ctx, DEBUG, "domain %u: vif %d (%s) added", domid, nic->devid,
        x.mac);
    rc = libxl__ao_complete(ctx, domid, ao_how, 0);
    goto out;

undo_chardev:
    libxl__dm_qmp_for(ctx, domid, "chardev-remove",
                      GCSPRINTF("{\"id\": \"cvif%d\"}", nic->devid), NULL,
                      "undoing it");
undo:
    if (online)
        libxl__vif_hotplug(ctx, domid, nic->devid, nic->script, nic->bridge,
                           x.ifname, "offline");
    nic_remove_nodes(ctx, domid, nic->devid);
    if (fresh)
        libxl__backend_stop(ctx, &libxl__netback_class, domid, pid);
out:
    libxl__dm_build_free(&d);
    libxl_domain_config_dispose(&c);
    GC_FREE;
    return rc;
}

/*
 * Unplugs vif devid: asks the guest to release it (PCI hot-unplug) and,
 * unless force, waits until it has; then drops qemu's netdev and socket,
 * takes the tap off its bridge (hotplug script) and removes the nodes
 * (the backend drops the tap).
 */
static int nic_remove(libxl_ctx *ctx, uint32_t domid,
                      const libxl_device_nic *nic, bool force)
{
    GC_INIT;
    char *lx, *st, *ids, *dev, *net, *chr, *ifname, *script, *bridge;
    int i, rc;

    rc = libxl__need_daemons(ctx, "libxl_device_nic_remove");
    if (rc)
        goto out;
    lx = GCSPRINTF("/libxl/%u/device/vif/%d", domid, nic->devid);
    if (!have_vif(ctx, domid, nic->devid)) {
        LOG(ctx, ERROR, "domain %u has no vif %d", domid, nic->devid);
        rc = ERROR_INVAL;
        goto out;
    }
    st = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                GCSPRINTF("/local/domain/0/backend/vif/%u/%d/state", domid,
                          nic->devid)));
    ids = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                           GCSPRINTF("%s/qemu-ids", lx)));
    if (st && !libxl__domain_is_dm(ctx, domid)) {
        rc = libxl__core_unplug(ctx, domid,
                                libxl__gc_own(gc, libxl__backend_socket(
                                    &libxl__netback_class, domid,
                                    nic->devid)),
                                GCSPRINTF("vif %d", nic->devid), force);
        if (rc)
            goto out;
        goto unplugged;
    }
    if (!st || !ids) {
        LOG(ctx, ERROR, "domain %u: vif %d cannot be unplugged (an emulated "
            "NIC is qemu's own)", domid, nic->devid);
        rc = ERROR_INVAL;
        goto out;
    }
    dev = ids;
    net = strchr(dev, ',');
    chr = net ? strchr(net + 1, ',') : NULL;
    if (!chr) {
        LOG(ctx, ERROR, "domain %u: vif %d: %s/qemu-ids \"%s\" is not "
            "device,netdev,chardev", domid, nic->devid, lx, ids);
        rc = ERROR_FAIL;
        goto out;
    }
    *net++ = '\0';
    *chr++ = '\0';
    rc = libxl__dm_qmp_for(ctx, domid, "device_del",
                           GCSPRINTF("{\"id\": \"%s\"}", dev), NULL,
                           GCSPRINTF("asking the guest to release vif %d",
                                     nic->devid));
    if (rc && !force)
        goto out;
    for (i = 0; !force && i < 500 && libxl__dm_pci_has(ctx, domid, dev);
         i++)
        libxl__nap_ms(20);
    if (!force && libxl__dm_pci_has(ctx, domid, dev)) {
        LOG(ctx, ERROR, "domain %u: the guest did not release vif %d within "
            "10 s (network-detach of a guest that ignores ACPI ejects "
            "needs xl destroy)", domid, nic->devid);
        rc = ERROR_FAIL;
        goto out;
    }
    libxl__dm_qmp_for(ctx, domid, "netdev_del",
                      GCSPRINTF("{\"id\": \"%s\"}", net), NULL,
                      GCSPRINTF("dropping vif %d's network", nic->devid));
    libxl__dm_qmp_for(ctx, domid, "chardev-remove",
                      GCSPRINTF("{\"id\": \"%s\"}", chr), NULL,
                      GCSPRINTF("closing vif %d's socket", nic->devid));
unplugged:
    ifname = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                              GCSPRINTF("%s/ifname", lx)));
    script = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                              GCSPRINTF("%s/script", lx)));
    bridge = libxl__gc_own(gc, libxl__xs_read(ctx, XBT_NULL,
                                              GCSPRINTF("%s/bridge", lx)));
    if (ifname)
        libxl__vif_hotplug(ctx, domid, nic->devid,
                           script && *script ? script : NULL,
                           bridge && *bridge ? bridge : NULL, ifname,
                           "offline");
    nic_remove_nodes(ctx, domid, nic->devid);
    store_nics(ctx, domid, NULL, nic->devid);
    rc = 0;
out:
    GC_FREE;
    return rc;
}

int libxl_device_nic_remove(libxl_ctx *ctx, uint32_t domid,
                            const libxl_device_nic *nic,
                            const libxl_asyncop_how *ao_how)
{
    return libxl__ao_complete(ctx, domid, ao_how,
                              nic_remove(ctx, domid, nic, false));
}

int libxl_device_nic_safe_remove(libxl_ctx *ctx, uint32_t domid,
                                 const libxl_device_nic *nic,
                                 const libxl_asyncop_how *ao_how)
{
    return libxl_device_nic_remove(ctx, domid, nic, ao_how);
}

int libxl_device_nic_destroy(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_nic *nic,
                             const libxl_asyncop_how *ao_how)
{
    return libxl__ao_complete(ctx, domid, ao_how,
                              nic_remove(ctx, domid, nic, true));
}

int libxl_devid_to_device_nic(libxl_ctx *ctx, uint32_t domid, int devid,
                              libxl_device_nic *nic)
{
    libxl_device_nic *list;
    int i, n, rc = ERROR_INVAL;

    list = libxl_device_nic_list(ctx, domid, &n);
    for (i = 0; i < n; i++) {
        if (list[i].devid == devid) {
            libxl_device_nic_copy(ctx, nic, &list[i]);
            rc = 0;
            break;
        }
    }
    libxl_device_nic_list_free(list, n);
    return rc;
}

int libxl_mac_to_device_nic(libxl_ctx *ctx, uint32_t domid,
                            const char *mac, libxl_device_nic *nic)
{
    libxl_device_nic *list;
    char have[32];
    int i, n, rc = ERROR_INVAL;

    list = libxl_device_nic_list(ctx, domid, &n);
    for (i = 0; i < n; i++) {
        snprintf(have, sizeof(have), LIBXL_MAC_FMT,
                 LIBXL_MAC_BYTES(list[i].mac));
        if (mac && !strcasecmp(have, mac)) {
            libxl_device_nic_copy(ctx, nic, &list[i]);
            rc = 0;
            break;
        }
    }
    libxl_device_nic_list_free(list, n);
    return rc;
}
