/*
 * libxl_dm_config.c - a device-model domain's libxl_domain_config,
 * translated once into qemu-dm's struct xendm_config (qemu-dm makes its
 * command line from that): machine, memory, vCPUs, firmware, display,
 * USB, serial, extra arguments; disks and NICs through libxl_disk.c and
 * libxl_nic.c; a PVH kernel through libxl_dm_kernel.c.
 */
#include "libxl.h"

#include <sys/stat.h>
#include <unistd.h>

#include "libxl_dm.h"

#define DM_START_TIMEOUT_MS 20000

char *libxl__dm_own(struct libxl__dm_build *d, char *s)
{
    d->strs = libxl__realloc_or_die(d->strs,
                                    (d->nstrs + 1) * sizeof(*d->strs));
    d->strs[d->nstrs++] = s;
    return s;
}

void libxl__dm_build_free(struct libxl__dm_build *d)
{
    int i;

    for (i = 0; i < d->nstrs; i++)
        free(d->strs[i]);
    free(d->strs);
    free(d->disks);
    free(d->nics);
    free(d->extra);
    free(d->run_dir);
    free(d->vmlinux);
}

static bool defbool_off(libxl_defbool db)
{
    return !libxl_defbool_is_default(db) && !libxl_defbool_val(db);
}

static bool defbool_on(libxl_defbool db)
{
    return !libxl_defbool_is_default(db) && libxl_defbool_val(db);
}

static int map_hvm(libxl_ctx *ctx, libxl_domain_config *d_config,
                   struct libxl__dm_build *d)
{
    libxl_domain_build_info *b = &d_config->b_info;
    struct xendm_hvm *h = &d->hvm;
    const char *fw;
    int i;

    switch (b->u.hvm.bios) {
    case LIBXL_BIOS_TYPE_UNKNOWN:
    case LIBXL_BIOS_TYPE_SEABIOS:
        d->cfg.bios = XENDM_BIOS_SEABIOS;
        fw = XENDM_SEABIOS_PATH;
        break;
    case LIBXL_BIOS_TYPE_OVMF:
        d->cfg.bios = XENDM_BIOS_OVMF;
        fw = XENDM_OVMF_PATH;
        break;
    default:
        LOG(ctx, ERROR, "bios: %s is not supported (seabios, ovmf)",
            libxl_bios_type_to_string(b->u.hvm.bios));
        return ERROR_INVAL;
    }
    if (b->u.hvm.system_firmware && *b->u.hvm.system_firmware) {
        fw = b->u.hvm.system_firmware;
        d->cfg.firmware = fw;
        if (libxl__check_readable(ctx, "bios_path_override", fw))
            return ERROR_INVAL;
    } else if (libxl__check_readable(ctx, "bios", fw)) {
        return ERROR_INVAL;
    }

    h->boot = b->u.hvm.boot;
    h->no_acpi = defbool_off(b->u.hvm.acpi) || defbool_off(b->acpi);
    h->no_apic = defbool_off(b->u.hvm.apic) || defbool_off(b->apic);
    h->no_hpet = defbool_off(b->u.hvm.hpet);
    switch (b->u.hvm.vga.kind) {
    case LIBXL_VGA_INTERFACE_TYPE_STD:
        h->vga = XENDM_VGA_STD;
        break;
    case LIBXL_VGA_INTERFACE_TYPE_CIRRUS:
        h->vga = XENDM_VGA_CIRRUS;
        break;
    case LIBXL_VGA_INTERFACE_TYPE_NONE:
        h->vga = XENDM_VGA_NONE;
        break;
    case LIBXL_VGA_INTERFACE_TYPE_QXL:
        h->vga = XENDM_VGA_QXL;
        break;
    default:
        h->vga = XENDM_VGA_DEFAULT;
        break;
    }
    if (b->video_memkb != LIBXL_MEMKB_DEFAULT && b->video_memkb)
        h->videoram_mib = (unsigned int)(b->video_memkb / 1024);
    h->localtime = defbool_on(b->localtime);
    h->rtc_timeoffset = (int32_t)b->rtc_timeoffset;

    h->vnc = defbool_on(b->u.hvm.vnc.enable);
    h->vnclisten = b->u.hvm.vnc.listen;
    h->vncpasswd = b->u.hvm.vnc.passwd;
    if (defbool_on(b->u.hvm.vnc.findunused) ||
        (libxl_defbool_is_default(b->u.hvm.vnc.findunused) &&
         !b->u.hvm.vnc.display))
        h->vncdisplay = -1;
    else
        h->vncdisplay = b->u.hvm.vnc.display;
    h->sdl = defbool_on(b->u.hvm.sdl.enable);
    h->spice = defbool_on(b->u.hvm.spice.enable);
    h->spice_port = b->u.hvm.spice.port > 0 ? b->u.hvm.spice.port : 0;
    h->spice_tls_port = b->u.hvm.spice.tls_port > 0 ?
                        b->u.hvm.spice.tls_port : 0;
    h->spice_host = b->u.hvm.spice.host;
    h->spice_disable_ticketing =
        defbool_on(b->u.hvm.spice.disable_ticketing);
    h->spice_passwd = b->u.hvm.spice.passwd;
    h->spice_agent_mouse = defbool_on(b->u.hvm.spice.agent_mouse);
    h->spice_vdagent = defbool_on(b->u.hvm.spice.vdagent);
    h->spice_clipboard_sharing =
        defbool_on(b->u.hvm.spice.clipboard_sharing);

    h->usb = defbool_on(b->u.hvm.usb);
    for (i = -1; ; i++) {
        const char *dev = i < 0 ? b->u.hvm.usbdevice :
                          b->u.hvm.usbdevice_list ?
                          b->u.hvm.usbdevice_list[i] : NULL;

        if (i >= 0 && !dev)
            break;
        if (!dev)
            continue;
        if (!strcmp(dev, "tablet")) {
            h->usb_tablet = true;
        } else if (!strcmp(dev, "mouse")) {
            h->usb_mouse = true;
        } else {
            LOG(ctx, ERROR, "usbdevice: \"%s\" is not supported (tablet, "
                "mouse)", dev);
            return ERROR_INVAL;
        }
        h->usb = true;
    }
    h->soundhw = b->u.hvm.soundhw;
    if (b->u.hvm.serial && strcmp(b->u.hvm.serial, "pty")) {
        LOG(ctx, ERROR, "serial: \"%s\" is not supported (\"pty\", the "
            "console)", b->u.hvm.serial);
        return ERROR_INVAL;
    }
    for (i = 0; b->u.hvm.serial_list && b->u.hvm.serial_list[i]; i++) {
        if (i > 0 || strcmp(b->u.hvm.serial_list[i], "pty")) {
            LOG(ctx, ERROR, "serial: [\"%s\"...] is not supported (one "
                "\"pty\", the console)", b->u.hvm.serial_list[0]);
            return ERROR_INVAL;
        }
    }
    h->serial = true;
    d->cfg.hvm = h;
    return 0;
}

/* device_model_args (+ _hvm for HVM); "-machine q35..." picks q35. */
static void map_extra(libxl_domain_config *d_config, struct libxl__dm_build *d,
                      bool pvh)
{
    libxl_domain_build_info *b = &d_config->b_info;
    libxl_string_list lists[2] = { b->extra, pvh ? NULL : b->extra_hvm };
    int n = 0, i, l;

    for (l = 0; l < 2; l++)
        for (i = 0; lists[l] && lists[l][i]; i++)
            n++;
    if (!n)
        return;
    d->extra = libxl__calloc_or_die(n + 1, sizeof(*d->extra));
    n = 0;
    for (l = 0; l < 2; l++) {
        for (i = 0; lists[l] && lists[l][i]; i++) {
            const char *a = lists[l][i];

            if ((!strcmp(a, "-machine") || !strcmp(a, "-M")) &&
                lists[l][i + 1] && !strncmp(lists[l][i + 1], "q35", 3))
                d->cfg.machine = XENDM_MACHINE_Q35;
            if (!strncmp(a, "-machine=q35", 12) ||
                !strncmp(a, "type=q35", 8))
                d->cfg.machine = XENDM_MACHINE_Q35;
            d->extra[n++] = a;
        }
    }
    d->cfg.extra_args = d->extra;
}

int libxl__dm_check_config(libxl_ctx *ctx, libxl_domain_config *d_config)
{
    libxl_domain_build_info *b = &d_config->b_info;

    if (d_config->num_pcidevs || d_config->num_vfbs || d_config->num_vkbs
        || d_config->num_vtpms || d_config->num_p9s
        || d_config->num_channels || d_config->num_usbctrls
        || d_config->num_usbdevs || d_config->num_vdispls
        || d_config->num_vsnds || d_config->num_pvcallsifs
        || d_config->num_dtdevs) {
        LOG(ctx, ERROR, "devices other than disk and vif (pci, vfb, "
            "channel, usbdev, ...): not supported for domains run by qemu");
        return ERROR_INVAL;
    }
    if (b->bootloader && *b->bootloader) {
        LOG(ctx, ERROR, "b_info.bootloader: not supported here (give the "
            "kernel directly, or boot from a disk with firmware)");
        return ERROR_INVAL;
    }
    if (b->kernel && *b->kernel &&
        libxl__check_readable(ctx, "kernel", b->kernel))
        return ERROR_INVAL;
    if (b->ramdisk && *b->ramdisk &&
        libxl__check_readable(ctx, "ramdisk", b->ramdisk))
        return ERROR_INVAL;
    return 0;
}

/* Creates dir and its parents (mode 0755). */
static int mkdir_p(libxl_ctx *ctx, const char *dir)
{
    char *p = libxl__strdup_or_die(dir), *s;
    int rc = 0;

    for (s = p + 1; ; s++) {
        if (*s != '/' && *s)
            continue;
        char c = *s;

        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            LOGE(ctx, ERROR, "creating the directory %s", p);
            rc = ERROR_FAIL;
            break;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    return rc;
}

int libxl__dm_config(libxl_ctx *ctx, uint32_t domid,
                     libxl_domain_config *d_config, int accel,
                     struct libxl__dm_build *d)
{
    libxl_domain_build_info *b = &d_config->b_info;
    bool pvh = d_config->c_info.type == LIBXL_DOMAIN_TYPE_PVH;
    int rc;

    memset(d, 0, sizeof(*d));
    d->run_dir = libxl__dm_run_dir();
    d->cfg.domid = domid;
    /* disks its block backend serves may be plugged in later */
    d->cfg.share_ram = true;
    d->cfg.name = d_config->c_info.name;
    d->cfg.qemu = b->device_model && *b->device_model ? b->device_model
                                                      : NULL;
    d->cfg.run_dir = d->run_dir;
    d->cfg.machine = XENDM_MACHINE_PC;
    d->cfg.accel = (enum xendm_accel)accel;
    d->cfg.memory_mib = b->max_memkb / 1024;
    /* vcpus= boots that many; maxvcpus= leaves slots for vcpu-set */
    d->cfg.vcpus = b->avail_vcpus.size ?
        (unsigned int)libxl_bitmap_count_set(&b->avail_vcpus) :
        (unsigned int)b->max_vcpus;
    d->cfg.max_vcpus = b->max_vcpus;
    d->cfg.balloon = true;
    d->cfg.no_shutdown = true;
    d->cfg.no_reboot = true;
    d->cfg.pvpanic = true;
    d->cfg.die_with_parent = false;
    d->cfg.core_monitor = true;
    d->cfg.core_only = true;     /* the core is qemu's one client */
    d->cfg.start_timeout_ms = DM_START_TIMEOUT_MS;

    rc = mkdir_p(ctx, d->run_dir);
    if (!rc)
        rc = libxl__dm_map_disks(ctx, d_config, d, pvh);
    if (!rc)
        rc = libxl__dm_map_nics(ctx, domid, d_config, d, pvh);
    if (!rc && !pvh)
        rc = map_hvm(ctx, d_config, d);
    if (rc)
        return rc;
    map_extra(d_config, d, pvh);
    if (pvh) {
        if (!b->kernel || !*b->kernel) {
            LOG(ctx, ERROR, "b_info.kernel: a PVH domain needs a kernel");
            return ERROR_INVAL;
        }
        rc = libxl__dm_kernel_elf(ctx, domid, b->kernel, d->run_dir,
                                  &d->vmlinux);
        if (rc)
            return rc;
        d->cfg.kernel = d->vmlinux;
        d->cfg.bios = XENDM_BIOS_DEFAULT;
    } else if (b->kernel && *b->kernel) {
        d->cfg.kernel = b->kernel;
    }
    if (d->cfg.kernel) {
        d->cfg.initrd = b->ramdisk && *b->ramdisk ? b->ramdisk : NULL;
        d->cfg.cmdline = b->cmdline;
    }
    return 0;
}
