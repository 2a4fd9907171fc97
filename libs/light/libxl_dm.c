/*
 * libxl_dm.c - domains whose machine is qemu-system-x86_64 (the device
 * model): HVM domains, and PVH domains when the accelerator is TCG.
 *
 * The core keeps the domain's record (XC_DOMCFG_DEVICE_MODEL: no KVM VM
 * of its own); libxl starts qemu paused through libxendm, hands it to
 * the core (xc_domain_attach_dm), puts the NICs' taps on their bridges
 * (the vif hotplug script) and lets go of qemu.  Later commands
 * (cd-insert, mem-set) reach qemu over its QMP socket on demand.
 *
 * What a device-model domain leaves on the host, and teardown removes:
 * qemu (the core kills it), $XENOLITH_RUNDIR/qemu-dm/qemu-dm-<domid>.*,
 * the taps, and the xenstore nodes /local/domain/0/device-model/<domid>
 * and /libxl/<domid>/...
 *
 * A PVH kernel given as a bzImage boots in qemu through its ELF, which
 * the builder decompresses (about half a second for a Debian kernel).
 * The ELF is kept in $XENOLITH_RUNDIR/qemu-dm/kernels/, named after the
 * kernel file's device, inode, size and modification time, so creates
 * and reboots of the same kernel reuse it; the newest KERNEL_CACHE_MAX
 * stay.  qemu reads the file only when it starts.
 */
#include "libxl.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenguest.h>

#include "libxl_internal.h"
#include "xendm.h"

#ifndef XENOLITH_SCRIPTDIR
#define XENOLITH_SCRIPTDIR "/etc/xen/scripts"
#endif

#define DM_VERSION "qemu_xen"
#define DM_START_TIMEOUT_MS 20000

/* ------------------------------------------------------------ helpers */

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

bool libxl__domain_is_dm(libxl_ctx *ctx, uint32_t domid)
{
    char *path = libxl__sprintf("/libxl/%u/dm-version", domid);
    char *v = libxl__xs_read(ctx, XBT_NULL, path);
    bool r = v != NULL;

    free(v);
    free(path);
    return r;
}

/* ------------------------------------------------------------ accel */

/* The host's KVM as this process sees it: *err_r 0 when /dev/kvm opens
 * read-write, else the errno; the KVM module behind it, or NULL.  The
 * software one, kvm_pvm, comes first (xendm_accel_detect's order). */
static void host_kvm(int *err_r, const char **module_r)
{
    static const char *const modules[] = {
        "kvm_pvm", "kvm_intel", "kvm_amd",
    };
    char path[64];
    size_t i;
    int fd;

    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    *err_r = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    *module_r = NULL;
    for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
        snprintf(path, sizeof(path), "/sys/module/%s", modules[i]);
        if (access(path, F_OK) == 0) {
            *module_r = modules[i];
            break;
        }
    }
}

/* What to do about err opening /dev/kvm, in words. */
static const char *kvm_remedy(int err)
{
    if (err == EACCES || err == EPERM)
        return "run xl as root, or give this user read-write access to "
               "/dev/kvm";
    return "load kvm_intel or kvm_amd (modprobe) on a host whose CPU has "
           "VT-x or AMD-V enabled";
}

/*
 * Why the host has no hardware KVM, or which one it has, into buf:
 * "hardware KVM: kvm_amd", "no KVM on this host: cannot open /dev/kvm:
 * <error>", "the host's KVM is kvm_pvm ...".
 */
static void host_kvm_words(char *buf, size_t len)
{
    const char *mod;
    int err;

    host_kvm(&err, &mod);
    if (err)
        snprintf(buf, len, "no KVM on this host: cannot open /dev/kvm: "
                 "%s%s", strerror(err),
                 mod && !strcmp(mod, "kvm_pvm") ?
                 "; kvm_pvm is loaded but gives none" : "");
    else if (mod && !strcmp(mod, "kvm_pvm"))
        snprintf(buf, len, "the host's KVM is kvm_pvm, KVM done in software "
                 "inside a VM: it runs only tiny guests on the core, not "
                 "a Linux kernel");
    else if (!mod)
        snprintf(buf, len, "/dev/kvm opens but neither kvm_intel nor "
                 "kvm_amd is loaded");
    else
        snprintf(buf, len, "hardware KVM: %s", mod);
}

/* The host's accelerator for "auto" (xendm_accel_detect's choice), and
 * why, in words (host_kvm_words). */
static enum xendm_accel detect(char *why, size_t len)
{
    host_kvm_words(why, len);
    return xendm_accel_detect(NULL, NULL, NULL);
}

int libxl_xenolith_accel_host(libxl_ctx *ctx, libxl_xenolith_accel *accel_r,
                              char **why_r)
{
    char why[512];
    enum xendm_accel a = detect(why, sizeof(why));

    (void)ctx;
    *accel_r = a == XENDM_ACCEL_KVM ? LIBXL_XENOLITH_ACCEL_KVM
                                    : LIBXL_XENOLITH_ACCEL_TCG;
    if (why_r)
        *why_r = libxl__strdup_or_die(why);
    return 0;
}

bool libxl__dm_wanted(libxl_ctx *ctx, const libxl_domain_config *d_config,
                      int *accel_r)
{
    const libxl_domain_build_info *b = &d_config->b_info;
    libxl_domain_type type = d_config->c_info.type;
    enum xendm_accel a;
    char why[512];

    if (type != LIBXL_DOMAIN_TYPE_HVM && type != LIBXL_DOMAIN_TYPE_PVH)
        return false;
    switch (b->xenolith_accel) {
    case LIBXL_XENOLITH_ACCEL_KVM:
        a = XENDM_ACCEL_KVM;
        break;
    case LIBXL_XENOLITH_ACCEL_TCG:
        a = XENDM_ACCEL_TCG;
        break;
    default:
        a = detect(why, sizeof(why));
        if (a == XENDM_ACCEL_TCG)
            LOG(ctx, NOTICE, "domain \"%s\": using TCG (software "
                "emulation, slower than hardware KVM): %s",
                d_config->c_info.name ? d_config->c_info.name : "", why);
        break;
    }
    *accel_r = a;
    return type == LIBXL_DOMAIN_TYPE_HVM || a == XENDM_ACCEL_TCG;
}

int libxl__accel_check(libxl_ctx *ctx, const libxl_domain_config *d_config,
                       bool dm, int accel)
{
    const char *name = d_config->c_info.name ? d_config->c_info.name : "";
    const char *what = dm ? "runs its qemu with KVM" :
                            "runs it on the Xenolith core, which needs KVM";
    const char *mod;
    int err;

    if (accel != XENDM_ACCEL_KVM)
        return 0;
    host_kvm(&err, &mod);
    if (err) {
        LOG(ctx, ERROR, "domain \"%s\": accel = \"kvm\" %s, but this "
            "host has no usable KVM: cannot open /dev/kvm: %s%s.  Set "
            "accel = \"tcg\" (in the domain's config, or for all domains "
            "in /etc/xen/xl.conf) to run it under qemu's emulator, or %s",
            name, what, strerror(err),
            mod && !strcmp(mod, "kvm_pvm") ?
            " (only kvm_pvm, KVM in software, is loaded, and it gives "
            "none here)" : "", kvm_remedy(err));
        return ERROR_INVAL;
    }
    if (mod && !strcmp(mod, "kvm_pvm"))
        LOG(ctx, WARN, "domain \"%s\": accel = \"kvm\" %s, and the "
            "host's KVM is kvm_pvm (KVM done in software inside a VM): it "
            "runs tiny test guests but cannot run a Linux kernel.  If "
            "this guest does not boot, set accel = \"tcg\" (qemu's "
            "emulator), or use a host with kvm_intel or kvm_amd",
            name, what);
    return 0;
}

/* ------------------------------------------------------------ config */

/* Xen's device number of a disk name (hd*, sd*, xvd*), or -1. */
static int vdev_number(const char *vdev, char *kind_r, int *index_r)
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

static int check_readable(libxl_ctx *ctx, const char *what, const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
        LOGE(ctx, ERROR, "%s: cannot read %s", what, path);
        return ERROR_INVAL;
    }
    if (S_ISDIR(st.st_mode)) {
        LOG(ctx, ERROR, "%s: %s is a directory", what, path);
        return ERROR_INVAL;
    }
    return 0;
}

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

/* What one device-model domain is made of; owns its strings. */
struct dm_build {
    struct xendm_config cfg;
    struct xendm_hvm hvm;
    struct xendm_disk *disks;
    struct xendm_nic *nics;
    int *nic_devids;
    char **strs;            /* everything malloc'd for cfg */
    int nstrs;
    const char **extra;
    char *run_dir;
    char *vmlinux;          /* the extracted PVH kernel, if any */
};

static char *own(struct dm_build *d, char *s)
{
    d->strs = libxl__realloc_or_die(d->strs,
                                    (d->nstrs + 1) * sizeof(*d->strs));
    d->strs[d->nstrs++] = s;
    return s;
}

static void dm_build_free(struct dm_build *d)
{
    int i;

    for (i = 0; i < d->nstrs; i++)
        free(d->strs[i]);
    free(d->strs);
    free(d->disks);
    free(d->nics);
    free(d->nic_devids);
    free(d->extra);
    free(d->run_dir);
    free(d->vmlinux);
}

static int map_disks(libxl_ctx *ctx, libxl_domain_config *d_config,
                     struct dm_build *d, bool pvh)
{
    int i, idx, rc;
    char kind;

    d->disks = libxl__calloc_or_die(d_config->num_disks + 1,
                                    sizeof(*d->disks));
    for (i = 0; i < d_config->num_disks; i++) {
        libxl_device_disk *disk = &d_config->disks[i];
        struct xendm_disk *x = &d->disks[i];
        const char *vdev = disk->vdev ? disk->vdev : "";
        bool empty = !disk->pdev_path || !*disk->pdev_path ||
                     disk->format == LIBXL_DISK_FORMAT_EMPTY;

        if (vdev_number(vdev, &kind, &idx) < 0) {
            LOG(ctx, ERROR, "disk %d: vdev \"%s\" is not a disk name "
                "(hdX, sdX or xvdX)", i, vdev);
            return ERROR_INVAL;
        }
        if (empty && !disk->is_cdrom) {
            LOG(ctx, ERROR, "disk %s: no target (only a cdrom may be "
                "empty)", vdev);
            return ERROR_INVAL;
        }
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
            rc = check_readable(ctx, own(d, libxl__sprintf("disk %s",
                                                           vdev)),
                                disk->pdev_path);
            if (rc)
                return rc;
            x->path = disk->pdev_path;
        }
        x->readonly = !disk->readwrite || disk->is_cdrom;
        x->cdrom = disk->is_cdrom;
        x->id = vdev;
        if (pvh) {
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

static int map_nics(libxl_ctx *ctx, uint32_t domid,
                    libxl_domain_config *d_config, struct dm_build *d,
                    bool pvh)
{
    int i, devid;

    d->nics = libxl__calloc_or_die(d_config->num_nics + 1,
                                   sizeof(*d->nics));
    d->nic_devids = libxl__calloc_or_die(d_config->num_nics + 1,
                                         sizeof(int));
    for (i = 0; i < d_config->num_nics; i++) {
        libxl_device_nic *nic = &d_config->nics[i];
        struct xendm_nic *x = &d->nics[i];

        if (nic->devid < 0)
            nic->devid = i;
        devid = nic->devid;
        x->model = nic_model(ctx, nic, devid, pvh);
        if (!x->model)
            return ERROR_INVAL;
        if (libxl__mac_is_default(&nic->mac))
            random_mac(&nic->mac);
        x->mac = own(d, libxl__sprintf(LIBXL_MAC_FMT,
                                       LIBXL_MAC_BYTES(nic->mac)));
        x->ifname = own(d, libxl__sprintf("vif%u.%d-emu", domid, devid));
        if (strlen(x->ifname) > 15) {
            LOG(ctx, ERROR, "vif %d: tap name %s is too long", devid,
                x->ifname);
            return ERROR_INVAL;
        }
        d->nic_devids[i] = devid;
    }
    d->cfg.nics = d->nics;
    d->cfg.nr_nics = d_config->num_nics;
    return 0;
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
                   struct dm_build *d)
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
        if (check_readable(ctx, "bios_path_override", fw))
            return ERROR_INVAL;
    } else if (check_readable(ctx, "bios", fw)) {
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
static void map_extra(libxl_domain_config *d_config, struct dm_build *d,
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

#define KERNEL_CACHE_MAX 4

/* Keeps the newest KERNEL_CACHE_MAX files of dir (by modification time;
 * a cache hit touches its file). */
static void kernel_cache_trim(const char *dir)
{
    struct dirent **ents = NULL;
    struct {
        char *path;
        struct timespec t;
    } old = { NULL, { 0, 0 } };
    int n, i, kept;

    for (;;) {
        n = scandir(dir, &ents, NULL, NULL);
        if (n < 0)
            return;
        old.path = NULL;
        kept = 0;
        for (i = 0; i < n; i++) {
            struct stat st;
            char *p;

            if (ents[i]->d_name[0] != '.') {
                p = libxl__sprintf("%s/%s", dir, ents[i]->d_name);
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                    kept++;
                    if (!old.path ||
                        st.st_mtim.tv_sec < old.t.tv_sec ||
                        (st.st_mtim.tv_sec == old.t.tv_sec &&
                         st.st_mtim.tv_nsec < old.t.tv_nsec)) {
                        free(old.path);
                        old.path = p;
                        old.t = st.st_mtim;
                        p = NULL;
                    }
                }
                free(p);
            }
            free(ents[i]);
        }
        free(ents);
        if (kept > KERNEL_CACHE_MAX && old.path)
            unlink(old.path);
        free(old.path);
        if (kept <= KERNEL_CACHE_MAX)
            return;
    }
}

/* Writes len bytes of buf to path through a temporary file renamed into
 * place (a concurrent create sees the whole file or none). */
static int write_whole(libxl_ctx *ctx, uint32_t domid, const char *path,
                       const void *buf, size_t len)
{
    char *tmp = libxl__sprintf("%s.tmp-%d", path, (int)getpid());
    size_t off;
    ssize_t w;
    int fd, rc = ERROR_FAIL;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOGE(ctx, ERROR, "domain %u: writing the kernel's ELF to %s",
             domid, tmp);
        free(tmp);
        return ERROR_FAIL;
    }
    for (off = 0; off < len; off += (size_t)w) {
        w = write(fd, (const char *)buf + off, len - off);
        if (w < 0 && errno == EINTR) {
            w = 0;
            continue;
        }
        if (w <= 0) {
            LOGE(ctx, ERROR, "domain %u: writing %s", domid, tmp);
            goto out;
        }
    }
    if (close(fd) < 0) {
        fd = -1;
        LOGE(ctx, ERROR, "domain %u: writing %s", domid, tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        LOGE(ctx, ERROR, "domain %u: renaming %s to %s", domid, tmp, path);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

/*
 * The file qemu boots for a PVH kernel (*elf_r, malloc'd): the kernel
 * itself when it is an ELF, else its ELF from the cache, decompressed
 * from the bzImage on a miss.  Either way the builder checked it (PVH
 * note, segments) first; a kernel it refuses is refused here.
 */
static int pvh_kernel_elf(libxl_ctx *ctx, uint32_t domid, const char *kernel,
                          const char *run_dir, char **elf_r)
{
    struct xc_dom_image *dom = NULL;
    struct stat st;
    const void *elf = NULL;
    char *dir = NULL, *path = NULL, magic[4];
    size_t len = 0;
    int fd, r, rc;
    ssize_t n;

    if (stat(kernel, &st) < 0) {
        LOGE(ctx, ERROR, "domain %u: kernel %s", domid, kernel);
        return ERROR_INVAL;
    }
    dir = libxl__sprintf("%s/kernels", run_dir);
    path = libxl__sprintf("%s/%jx-%jx-%jx-%jd.%09ld.elf", dir,
                          (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
                          (uintmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
                          st.st_mtim.tv_nsec);
    /* a hit: the kernel was checked when its entry was made */
    if (utimensat(AT_FDCWD, path, NULL, 0) == 0) {
        *elf_r = path;
        path = NULL;
        rc = 0;
        goto out;
    }

    dom = xc_dom_allocate(ctx->xch, NULL, NULL);
    if (!dom) {
        LOGE(ctx, ERROR, "domain %u: allocating the builder", domid);
        rc = ERROR_NOMEM;
        goto out;
    }
    r = xc_dom_kernel_file(dom, kernel);
    if (r == 0)
        r = xc_dom_parse_image(dom);
    if (r == 0)
        r = xc_dom_kernel_elf(dom, &elf, &len);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: kernel %s: %s", domid, kernel,
              xc_dom_last_error(dom));
        rc = ERROR_INVAL;
        goto out;
    }
    /* an ELF already: boot the file itself */
    fd = open(kernel, O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, magic, sizeof(magic)) : -1;
    if (fd >= 0)
        close(fd);
    if (n == (ssize_t)sizeof(magic) && !memcmp(magic, "\177ELF", 4)) {
        *elf_r = libxl__strdup_or_die(kernel);
        rc = 0;
        goto out;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "domain %u: making %s", domid, dir);
        rc = ERROR_FAIL;
        goto out;
    }
    rc = write_whole(ctx, domid, path, elf, len);
    if (rc)
        goto out;
    kernel_cache_trim(dir);
    *elf_r = path;
    path = NULL;
out:
    xc_dom_release(dom);
    free(dir);
    free(path);
    return rc;
}

/* ------------------------------------------------------------ hotplug */

/* Runs "<script> online|offline" for a tap; 0 or ERROR_FAIL (logged
 * with the script's exit). */
static int vif_hotplug(libxl_ctx *ctx, uint32_t domid, int devid,
                       const char *script, const char *bridge,
                       const char *tap, const char *action)
{
    const char *dir = getenv("XENOLITH_SCRIPTS_DIR");
    char *path, *xbpath, *devstr, out[1024], *nl;
    int status, rc, pfd[2] = { -1, -1 };
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    if (!dir || !*dir)
        dir = XENOLITH_SCRIPTDIR;
    if (!script || !*script)
        script = "vif-bridge";
    path = script[0] == '/' ? libxl__strdup_or_die(script)
                            : libxl__sprintf("%s/%s", dir, script);
    xbpath = libxl__sprintf("/libxl/%u/device/vif/%d", domid, devid);
    devstr = libxl__sprintf("%d", devid);
    out[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        LOGE(ctx, ERROR, "domain %u: vif %d: pipe for %s", domid, devid,
             path);
        rc = ERROR_FAIL;
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        LOGE(ctx, ERROR, "domain %u: vif %d: fork for %s", domid, devid,
             path);
        rc = ERROR_FAIL;
        goto out;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);

        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            if (fd > 2)
                close(fd);
        }
        dup2(pfd[1], 2);
        setenv("vif", tap, 1);
        setenv("type_if", "tap", 1);
        setenv("XENBUS_PATH", xbpath, 1);
        setenv("devid", devstr, 1);
        if (bridge && *bridge)
            setenv("bridge", bridge, 1);
        else
            unsetenv("bridge");
        execl(path, path, action, "type_if=tap", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    pfd[1] = -1;
    for (;;) {
        n = read(pfd[0], out + len, sizeof(out) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof(out) - 1)
            len = 0;            /* keep the end of a long story */
    }
    out[len] = '\0';
    while (len && out[len - 1] == '\n')
        out[--len] = '\0';
    nl = strrchr(out, '\n');
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            LOGE(ctx, ERROR, "domain %u: vif %d: waiting for %s", domid,
                 devid, path);
            rc = ERROR_FAIL;
            goto out;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        rc = 0;
    } else {
        if (WIFEXITED(status))
            LOG(ctx, ERROR, "domain %u: vif %d: hotplug script %s %s %s "
                "failed (exit status %d%s)%s%s", domid, devid, path,
                action, tap, WEXITSTATUS(status),
                WEXITSTATUS(status) == 127 ? ": cannot run it" : "",
                *out ? ": " : "", nl ? nl + 1 : out);
        else
            LOG(ctx, ERROR, "domain %u: vif %d: hotplug script %s %s %s "
                "killed by signal %d", domid, devid, path, action, tap,
                WTERMSIG(status));
        rc = ERROR_FAIL;
    }
out:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    free(path);
    free(xbpath);
    free(devstr);
    return rc;
}

/* ------------------------------------------------------------ xenstore */

/* /libxl/<domid>: dm-version and the devices as xl lists them. */
struct dm_xs_args {
    uint32_t domid;
    const libxl_domain_config *d_config;
    const struct dm_build *d;
};

static int dm_xs_body(libxl_ctx *ctx, xs_transaction_t t, void *arg)
{
    GC_INIT;
    const struct dm_xs_args *a = arg;
    const libxl_domain_config *d_config = a->d_config;
    const struct dm_build *d = a->d;
    char *lx = GCSPRINTF("/libxl/%u", a->domid);
    char kind;
    int i, idx, rc;

    rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/dm-version", lx),
                         DM_VERSION);
    if (!rc)
        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/dm-accel", lx),
                             d->cfg.accel == XENDM_ACCEL_KVM ?
                             "kvm" : "tcg");
    for (i = 0; !rc && i < d_config->num_nics; i++) {
        libxl_device_nic *nic = &d_config->nics[i];
        char *p = GCSPRINTF("%s/device/vif/%d", lx, nic->devid);

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
                                 "ioemu");
    }
    for (i = 0; !rc && i < d_config->num_disks; i++) {
        libxl_device_disk *disk = &d_config->disks[i];
        int num = vdev_number(disk->vdev, &kind, &idx);
        char *p = GCSPRINTF("%s/device/vbd/%d", lx, num);

        rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/vdev", p),
                             disk->vdev);
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/params", p),
                                 disk->pdev_path ? disk->pdev_path :
                                 "");
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/format", p),
                                 d->disks[i].format);
        if (!rc)
            rc = libxl__xs_write(ctx, t, GCSPRINTF("%s/mode", p),
                                 d->disks[i].readonly ? "r" : "w");
        if (!rc)
            rc = libxl__xs_write(ctx, t,
                                 GCSPRINTF("%s/device-type", p),
                                 disk->is_cdrom ? "cdrom" : "disk");
    }
    GC_FREE;
    return rc;
}

static int write_dm_xs(libxl_ctx *ctx, uint32_t domid,
                       libxl_domain_config *d_config, struct dm_build *d)
{
    struct dm_xs_args a = { domid, d_config, d };

    return libxl__xs_transaction(ctx, domid, "the device model nodes",
                                 dm_xs_body, &a);
}

/* ------------------------------------------------------------ build */

static char *json_str(const char *s);

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
        char *pw = json_str(h->vncpasswd);

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
        char *pw = json_str(h->spice_passwd);

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
        check_readable(ctx, "kernel", b->kernel))
        return ERROR_INVAL;
    if (b->ramdisk && *b->ramdisk &&
        check_readable(ctx, "ramdisk", b->ramdisk))
        return ERROR_INVAL;
    return 0;
}

int libxl__dm_build(libxl_ctx *ctx, uint32_t domid,
                    libxl_domain_config *d_config, int accel)
{
    libxl_domain_build_info *b = &d_config->b_info;
    bool pvh = d_config->c_info.type == LIBXL_DOMAIN_TYPE_PVH;
    struct dm_build d;
    struct xendm_logger lg;
    struct xendm *dm = NULL;
    int i, nics_up = 0, rc;

    memset(&d, 0, sizeof(d));
    dm_logger(ctx, &lg);
    d.run_dir = libxl__dm_run_dir();
    d.cfg.domid = domid;
    d.cfg.name = d_config->c_info.name;
    d.cfg.qemu = b->device_model && *b->device_model ? b->device_model
                                                     : NULL;
    d.cfg.run_dir = d.run_dir;
    d.cfg.machine = XENDM_MACHINE_PC;
    d.cfg.accel = (enum xendm_accel)accel;
    d.cfg.memory_mib = b->max_memkb / 1024;
    /* vcpus= boots that many; maxvcpus= leaves slots for vcpu-set */
    d.cfg.vcpus = b->avail_vcpus.size ?
        (unsigned int)libxl_bitmap_count_set(&b->avail_vcpus) :
        (unsigned int)b->max_vcpus;
    d.cfg.max_vcpus = b->max_vcpus;
    d.cfg.balloon = true;
    d.cfg.no_shutdown = true;
    d.cfg.no_reboot = true;
    d.cfg.pvpanic = true;
    d.cfg.die_with_parent = false;
    d.cfg.core_monitor = true;
    d.cfg.core_only = true;      /* the core is qemu's one client */
    d.cfg.start_timeout_ms = DM_START_TIMEOUT_MS;

    rc = mkdir_p(ctx, d.run_dir);
    if (rc)
        goto out;
    rc = map_disks(ctx, d_config, &d, pvh);
    if (!rc)
        rc = map_nics(ctx, domid, d_config, &d, pvh);
    if (!rc && !pvh)
        rc = map_hvm(ctx, d_config, &d);
    if (rc)
        goto out;
    map_extra(d_config, &d, pvh);
    if (pvh) {
        if (!b->kernel || !*b->kernel) {
            LOG(ctx, ERROR, "b_info.kernel: a PVH domain needs a kernel");
            rc = ERROR_INVAL;
            goto out;
        }
        rc = pvh_kernel_elf(ctx, domid, b->kernel, d.run_dir, &d.vmlinux);
        if (rc)
            goto out;
        d.cfg.kernel = d.vmlinux;
        d.cfg.bios = XENDM_BIOS_DEFAULT;
    } else if (b->kernel && *b->kernel) {
        d.cfg.kernel = b->kernel;
    }
    if (d.cfg.kernel) {
        d.cfg.initrd = b->ramdisk && *b->ramdisk ? b->ramdisk : NULL;
        d.cfg.cmdline = b->cmdline;
    }

    /* recorded first: teardown finds the taps from here */
    rc = write_dm_xs(ctx, domid, d_config, &d);
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
    if (rc)
        goto out;
    /* through the core, qemu's one client from here on */
    rc = set_display_passwords(ctx, domid, d.cfg.hvm);
    if (rc)
        goto out;
    if (libxl_defbool_is_default(d_config->c_info.run_hotplug_scripts) ||
        libxl_defbool_val(d_config->c_info.run_hotplug_scripts)) {
        for (i = 0; i < d_config->num_nics; i++) {
            libxl_device_nic *nic = &d_config->nics[i];

            rc = vif_hotplug(ctx, domid, nic->devid, nic->script,
                             nic->bridge, d.nics[i].ifname, "online");
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
            vif_hotplug(ctx, domid, d_config->nics[i].devid,
                        d_config->nics[i].script, d_config->nics[i].bridge,
                        d.nics[i].ifname, "offline");
        if (dm)
            xendm_destroy(dm, 0, false);
        xendm_remove_files(d.run_dir, domid, false);
    }
    dm_build_free(&d);
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
        if (vif_hotplug(ctx, g->domid, g->vifs[i].devid, g->vifs[i].script,
                        g->vifs[i].bridge, g->vifs[i].ifname, "offline"))
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

/* ------------------------------------------------------------ QMP */

/* One QMP command to the domain's qemu; 0 or ERROR_* (logged). */
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

/* A JSON string literal of s (malloc'd). */
static char *json_str(const char *s)
{
    size_t n = strlen(s), i, o = 0;
    char *r = libxl__calloc_or_die(n * 6 + 3, 1);

    r[o++] = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            r[o++] = '\\';
            r[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)sprintf(r + o, "\\u%04x", c);
        } else {
            r[o++] = (char)c;
        }
    }
    r[o++] = '"';
    r[o] = '\0';
    return r;
}

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
    num = disk->vdev ? vdev_number(disk->vdev, &kind, &idx) : -1;
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
    id = libxl__gc_own(gc, json_str(disk->vdev));
    if (empty) {
        args = GCSPRINTF("{\"id\": %s, \"force\": true}", id);
        rc = libxl__dm_qmp(ctx, domid, "eject", args);
        if (rc)
            goto out;
    } else {
        rc = check_readable(ctx, GCSPRINTF("cdrom %s", disk->vdev),
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
        file = libxl__gc_own(gc, json_str(disk->pdev_path));
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

/* ------------------------------------------------------------ vCPUs */

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
