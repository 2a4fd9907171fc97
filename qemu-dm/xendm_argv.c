/*
 * xendm_argv.c - the qemu command line, accelerator detection, logging.
 */
#include "xendm.h"
#include "xendm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void xendm__log(const struct xendm_logger *lg, enum xendm_level level,
                int errnoval, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    int n;

    if (!lg || !lg->log)
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && errnoval >= 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnoval));
    lg->log(lg->opaque, level, msg);
}

char *xendm_file_path(const char *run_dir, unsigned int domid,
                      const char *suffix)
{
    char *p;

    if (asprintf(&p, "%s/qemu-dm-%u%s", run_dir, domid, suffix) < 0)
        return NULL;
    return p;
}

void xendm_remove_files(const char *run_dir, unsigned int domid,
                        bool keep_log)
{
    static const char *const suffixes[] = {
        XENDM_SUFFIX_QMP, XENDM_SUFFIX_CORE, XENDM_SUFFIX_PID,
        XENDM_SUFFIX_LOG,
    };
    size_t i, n = sizeof(suffixes) / sizeof(suffixes[0]);
    char *p;

    for (i = 0; i < (keep_log ? n - 1 : n); i++) {
        p = xendm_file_path(run_dir, domid, suffixes[i]);
        if (p)
            unlink(p);
        free(p);
    }
}

/* ---------------------------------------------------------------- accel */

static bool sys_has(const char *root, const char *module)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/module/%s", root, module);
    return access(path, F_OK) == 0;
}

enum xendm_accel xendm_accel_detect(const struct xendm_logger *lg,
                                    const char *sysfs_root,
                                    const char *dev_kvm)
{
    const char *root = sysfs_root ? sysfs_root : "/sys";
    const char *dev = dev_kvm ? dev_kvm : "/dev/kvm";
    int fd;

    fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        xendm__log(lg, XENDM_NOTICE, errno,
                   "qemu-dm: using TCG: cannot open %s", dev);
        return XENDM_ACCEL_TCG;
    }
    close(fd);
    if (sys_has(root, "kvm_pvm")) {
        xendm__log(lg, XENDM_NOTICE, -1,
                   "qemu-dm: using TCG: %s is kvm_pvm (KVM in software, "
                   "no hardware virtualization)", dev);
        return XENDM_ACCEL_TCG;
    }
    if (sys_has(root, "kvm_intel") || sys_has(root, "kvm_amd"))
        return XENDM_ACCEL_KVM;
    xendm__log(lg, XENDM_NOTICE, -1,
               "qemu-dm: using TCG: %s is present but neither kvm_intel "
               "nor kvm_amd is loaded", dev);
    return XENDM_ACCEL_TCG;
}

unsigned long xendm_host_tsc_khz(void)
{
    static const char *const paths[] = {
        "/sys/devices/system/cpu/cpu0/tsc_freq_khz",
        "/sys/devices/system/clocksource/clocksource0/tsc_khz",
    };
    unsigned long khz = 0;
    char line[256];
    double mhz;
    FILE *f;
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        f = fopen(paths[i], "re");
        if (!f)
            continue;
        if (fscanf(f, "%lu", &khz) != 1)
            khz = 0;
        fclose(f);
        if (khz)
            return khz;
    }
    f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) {
            khz = (unsigned long)(mhz * 1000.0 + 0.5);
            break;
        }
    }
    fclose(f);
    return khz;
}

/* ---------------------------------------------------------------- argv */

struct args {
    char **v;
    size_t n, cap;
    bool oom;
};

static void add(struct args *a, const char *s)
{
    char **nv;
    size_t ncap;

    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        ncap = a->cap ? a->cap * 2 : 32;
        nv = realloc(a->v, ncap * sizeof(*nv));
        if (!nv) {
            a->oom = true;
            return;
        }
        a->v = nv;
        a->cap = ncap;
    }
    a->v[a->n] = strdup(s);
    if (!a->v[a->n]) {
        a->oom = true;
        return;
    }
    a->v[++a->n] = NULL;
}

static void addf(struct args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void addf(struct args *a, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;

    if (a->oom)
        return;
    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) {
        a->oom = true;
        return;
    }
    add(a, s);
    free(s);
}

void xendm_argv_free(char **argv)
{
    size_t i;

    if (!argv)
        return;
    for (i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* qemu's option syntax doubles a comma inside a value. */
static char *escape_commas(const char *s)
{
    size_t n = strlen(s), i, j;
    char *e = malloc(2 * n + 1);

    if (!e)
        return NULL;
    for (i = j = 0; i < n; i++) {
        e[j++] = s[i];
        if (s[i] == ',')
            e[j++] = ',';
    }
    e[j] = '\0';
    return e;
}

const char *xendm__firmware(const struct xendm_config *cfg)
{
    if (cfg->firmware)
        return cfg->firmware;
    switch (cfg->bios) {
    case XENDM_BIOS_SEABIOS:
        return XENDM_SEABIOS_PATH;
    case XENDM_BIOS_OVMF:
        return XENDM_OVMF_PATH;
    case XENDM_BIOS_DEFAULT:
        break;
    }
    return NULL;
}

/* --------------------------------------------------------------- checks */

static const char *const nic_models[] = {
    "e1000", "e1000e", "rtl8139", "virtio-net", "virtio-net-pci",
    "ne2k_pci", "pcnet", "i82551", "i82557b", "i82559er", "vmxnet3",
};

bool xendm_nic_model_valid(const char *model)
{
    size_t i;

    if (!model)
        return true;
    for (i = 0; i < sizeof(nic_models) / sizeof(nic_models[0]); i++)
        if (!strcmp(model, nic_models[i]))
            return true;
    return false;
}

static bool nic_is_virtio(const char *model)
{
    return model && (!strcmp(model, "virtio-net") ||
                     !strcmp(model, "virtio-net-pci"));
}

/* qemu's name for an image format, or NULL when unknown. */
static const char *disk_format(const char *format)
{
    static const char *const known[] = {
        "raw", "qcow2", "qcow", "qed", "vpc",
    };
    size_t i;

    if (!format)
        return "raw";
    if (!strcmp(format, "vhd"))
        return "vpc";
    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(format, known[i]))
            return known[i];
    return NULL;
}

/* qemu's id syntax: a letter, then letters, digits, '-', '.', '_'. */
static bool valid_id(const char *s)
{
    const char *p;

    if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    for (p = s + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
              *p == '_'))
            return false;
    return p - s < 128;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static bool valid_mac(const char *s)
{
    int i;

    for (i = 0; i < 6; i++) {
        if (!is_hex(s[3 * i]) || !is_hex(s[3 * i + 1]))
            return false;
        if (s[3 * i + 2] != (i == 5 ? '\0' : ':'))
            return false;
    }
    return true;
}

/* A Linux interface name (IFNAMSIZ 16) qemu's option parser keeps. */
static bool valid_ifname(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '/' || s[i] == ':' || s[i] <= ' ' ||
            s[i] == 0x7f)
            return false;
    return true;
}

/* How many slots a disk bus has on cfg's machine (0: no such bus, or
 * no slots: virtio). */
static unsigned int bus_slots(const struct xendm_config *cfg,
                              enum xendm_disk_bus bus)
{
    switch (bus) {
    case XENDM_DISK_IDE:
        if (cfg->machine == XENDM_MACHINE_MICROVM)
            return 0;
        return cfg->machine == XENDM_MACHINE_Q35 ? 6 : 4;
    case XENDM_DISK_SCSI:
        return 7;       /* scsi-id 0..6; 7 is the controller's */
    case XENDM_DISK_VIRTIO:
    case XENDM_DISK_VHOST_USER:
        break;
    }
    return 0;
}

static const char *bus_name(enum xendm_disk_bus bus)
{
    switch (bus) {
    case XENDM_DISK_IDE:
        return "IDE";
    case XENDM_DISK_SCSI:
        return "SCSI";
    case XENDM_DISK_VIRTIO:
        return "virtio";
    case XENDM_DISK_VHOST_USER:
        return "vhost-user";
    }
    return "?";
}

#define CHECK_LOG(lg, cfg, fmt, ...) \
    xendm__log(lg, XENDM_ERROR, -1, "qemu-dm: domain %u: " fmt, \
               (cfg)->domid, ##__VA_ARGS__)

/* Disks on a bus without slots. */
static bool slotless(enum xendm_disk_bus bus)
{
    return bus == XENDM_DISK_VIRTIO || bus == XENDM_DISK_VHOST_USER;
}

/* Whether the guest's RAM must be shared with a backend process. */
static bool shares_ram(const struct xendm_config *cfg)
{
    unsigned int i;

    if (cfg->share_ram)
        return true;
    for (i = 0; i < cfg->nr_disks; i++)
        if (cfg->disks[i].bus == XENDM_DISK_VHOST_USER)
            return true;
    for (i = 0; i < cfg->nr_nics; i++)
        if (cfg->nics[i].socket)
            return true;
    return false;
}

/*
 * The slot of each disk (slots_r[i], 1-based; 0 for virtio-blk): named
 * slots first, then slot 0 takes the lowest free one of its bus.
 * -EINVAL (logged) for a slot past the bus's end, two disks in one slot,
 * a full bus or a bus the machine lacks.
 */
static int disk_slots(const struct xendm_config *cfg,
                      const struct xendm_logger *lg, unsigned int *slots_r)
{
    const struct xendm_disk *d;
    unsigned int i, j, max;

    for (i = 0; i < cfg->nr_disks; i++) {
        d = &cfg->disks[i];
        slots_r[i] = 0;
        if (slotless(d->bus))
            continue;
        max = bus_slots(cfg, d->bus);
        if (!max) {
            CHECK_LOG(lg, cfg, "disk %u: no %s bus on machine microvm "
                      "(use virtio)", i, bus_name(d->bus));
            return -EINVAL;
        }
        if (d->slot > max) {
            CHECK_LOG(lg, cfg, "disk %u: %s slot %u out of range 1-%u",
                      i, bus_name(d->bus), d->slot, max);
            return -EINVAL;
        }
        if (!d->slot)
            continue;
        for (j = 0; j < i; j++) {
            if (cfg->disks[j].bus == d->bus && slots_r[j] == d->slot) {
                CHECK_LOG(lg, cfg, "disks %u and %u: both in %s slot %u",
                          j, i, bus_name(d->bus), d->slot);
                return -EINVAL;
            }
        }
        slots_r[i] = d->slot;
    }
    for (i = 0; i < cfg->nr_disks; i++) {
        unsigned int s;

        d = &cfg->disks[i];
        if (slotless(d->bus) || d->slot)
            continue;
        max = bus_slots(cfg, d->bus);
        for (s = 1; s <= max; s++) {
            for (j = 0; j < cfg->nr_disks; j++)
                if (cfg->disks[j].bus == d->bus && slots_r[j] == s)
                    break;
            if (j == cfg->nr_disks)
                break;
        }
        if (s > max) {
            CHECK_LOG(lg, cfg, "disk %u: all %u %s slots taken", i, max,
                      bus_name(d->bus));
            return -EINVAL;
        }
        slots_r[i] = s;
    }
    return 0;
}

static int check_disks(const struct xendm_config *cfg,
                       const struct xendm_logger *lg)
{
    unsigned int i, *slots;
    int rc;

    for (i = 0; i < cfg->nr_disks; i++) {
        const struct xendm_disk *d = &cfg->disks[i];

        if (d->bus == XENDM_DISK_VHOST_USER) {
            if (d->cdrom) {
                CHECK_LOG(lg, cfg, "disk %u: a cdrom cannot be a "
                          "vhost-user disk (no removable media)", i);
                return -EINVAL;
            }
            if (!d->socket || !*d->socket) {
                CHECK_LOG(lg, cfg, "disk %u: a vhost-user disk without "
                          "its backend's socket", i);
                return -EINVAL;
            }
            if (d->id && !valid_id(d->id)) {
                CHECK_LOG(lg, cfg, "disk %u: bad id '%s' (a letter, then "
                          "letters, digits, '-', '.', '_')", i, d->id);
                return -EINVAL;
            }
            continue; /* no image, no format: the backend's */
        }
        if (!disk_format(d->format)) {
            CHECK_LOG(lg, cfg, "disk %u: unknown format '%s' (raw, qcow2, "
                      "qcow, qed, vhd)", i, d->format);
            return -EINVAL;
        }
        if (d->id && !valid_id(d->id)) {
            CHECK_LOG(lg, cfg, "disk %u: bad id '%s' (a letter, then "
                      "letters, digits, '-', '.', '_')", i, d->id);
            return -EINVAL;
        }
        if (!d->cdrom && (!d->path || !*d->path)) {
            CHECK_LOG(lg, cfg, "disk %u: no image (only a cdrom may be "
                      "empty)", i);
            return -EINVAL;
        }
        if (d->cdrom && d->bus == XENDM_DISK_VIRTIO) {
            CHECK_LOG(lg, cfg, "disk %u: a cdrom cannot be virtio-blk "
                      "(no removable media)", i);
            return -EINVAL;
        }
        if (d->readonly && !d->cdrom && d->bus == XENDM_DISK_IDE) {
            CHECK_LOG(lg, cfg, "disk %u: '%s': qemu's IDE/AHCI disks "
                      "cannot be read-only (as in Xen)", i, d->path);
            return -EINVAL;
        }
    }
    if (!cfg->nr_disks)
        return 0;
    slots = calloc(cfg->nr_disks, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    rc = disk_slots(cfg, lg, slots);
    free(slots);
    return rc;
}

static int check_nics(const struct xendm_config *cfg,
                      const struct xendm_logger *lg)
{
    unsigned int i;

    for (i = 0; i < cfg->nr_nics; i++) {
        const struct xendm_nic *n = &cfg->nics[i];

        if (!xendm_nic_model_valid(n->model)) {
            CHECK_LOG(lg, cfg, "nic %u: unknown model '%s' (e1000, "
                      "rtl8139, virtio-net, ...)", i, n->model);
            return -EINVAL;
        }
        if (cfg->machine == XENDM_MACHINE_MICROVM &&
            !nic_is_virtio(n->model)) {
            CHECK_LOG(lg, cfg, "nic %u: model '%s' needs PCI: machine "
                      "microvm has only virtio-net", i,
                      n->model ? n->model : "e1000");
            return -EINVAL;
        }
        if (n->socket && !nic_is_virtio(n->model)) {
            CHECK_LOG(lg, cfg, "nic %u: a vhost-user NIC is virtio-net, "
                      "not '%s'", i, n->model ? n->model : "e1000");
            return -EINVAL;
        }
        if (n->socket && strchr(n->socket, ',')) {
            CHECK_LOG(lg, cfg, "nic %u: a comma in the socket path '%s'",
                      i, n->socket);
            return -EINVAL;
        }
        if (n->mac && !valid_mac(n->mac)) {
            CHECK_LOG(lg, cfg, "nic %u: bad MAC address '%s'", i, n->mac);
            return -EINVAL;
        }
        if (n->ifname && !valid_ifname(n->ifname)) {
            CHECK_LOG(lg, cfg, "nic %u: bad tap name '%s'", i, n->ifname);
            return -EINVAL;
        }
    }
    return 0;
}

static bool soundhw_valid(const char *s)
{
    return !strcmp(s, "hda") || !strcmp(s, "ac97") || !strcmp(s, "sb16") ||
           !strcmp(s, "es1370");
}

static int check_hvm(const struct xendm_config *cfg,
                     const struct xendm_logger *lg)
{
    const struct xendm_hvm *h = cfg->hvm;
    bool microvm = cfg->machine == XENDM_MACHINE_MICROVM;
    const char *p;

    if (!h)
        return 0;
    if (h->boot) {
        for (p = h->boot; *p >= 'a' && *p <= 'p'; p++)
            ;
        if (*p || p == h->boot) {
            CHECK_LOG(lg, cfg, "bad boot order '%s' (letters a-p: c disk, "
                      "d cdrom, n network)", h->boot);
            return -EINVAL;
        }
    }
    if (h->vga > XENDM_VGA_QXL) {
        CHECK_LOG(lg, cfg, "unknown vga kind %d", (int)h->vga);
        return -EINVAL;
    }
    if (h->vnc && h->vnclisten) {
        if (!*h->vnclisten || strchr(h->vnclisten, ',')) {
            CHECK_LOG(lg, cfg, "bad vnclisten '%s'", h->vnclisten);
            return -EINVAL;
        }
        if (strchr(h->vnclisten, ':') && h->vncdisplay > 0) {
            CHECK_LOG(lg, cfg, "vnclisten '%s' has a display and "
                      "vncdisplay is %d", h->vnclisten, h->vncdisplay);
            return -EINVAL;
        }
    }
    if (h->spice) {
        if (!h->spice_port && !h->spice_tls_port) {
            CHECK_LOG(lg, cfg, "spice needs spiceport or spicetls_port");
            return -EINVAL;
        }
        if (h->spice_port > 65535 || h->spice_tls_port > 65535) {
            CHECK_LOG(lg, cfg, "spice port out of range");
            return -EINVAL;
        }
        if (!h->spice_disable_ticketing &&
            (!h->spice_passwd || !*h->spice_passwd)) {
            CHECK_LOG(lg, cfg, "spice ticketing is on but spicepasswd is "
                      "empty");
            return -EINVAL;
        }
        if (h->spice_host && (!*h->spice_host || strlen(h->spice_host) > 255 ||
                              strchr(h->spice_host, ','))) {
            CHECK_LOG(lg, cfg, "bad spicehost '%s'", h->spice_host);
            return -EINVAL;
        }
    }
    if (h->soundhw && !soundhw_valid(h->soundhw)) {
        CHECK_LOG(lg, cfg, "unknown soundhw '%s' (hda, ac97, sb16, "
                  "es1370)", h->soundhw);
        return -EINVAL;
    }
    if (microvm && (h->usb || h->usb_tablet || h->usb_mouse || h->soundhw ||
                    (h->vga != XENDM_VGA_DEFAULT &&
                     h->vga != XENDM_VGA_NONE))) {
        CHECK_LOG(lg, cfg, "machine microvm has no PCI for usb, soundhw "
                  "or vga");
        return -EINVAL;
    }
    return 0;
}

int xendm_config_check(const struct xendm_config *cfg,
                       const struct xendm_logger *lg)
{
    int rc;

    if (cfg->core_only && !cfg->core_monitor) {
        XDM_LOG(lg, XENDM_ERROR, "qemu-dm: domain %u: core_only without "
                "core_monitor would leave qemu without a monitor",
                cfg->domid);
        return -EINVAL;
    }
    rc = check_disks(cfg, lg);
    if (!rc)
        rc = check_nics(cfg, lg);
    if (!rc)
        rc = check_hvm(cfg, lg);
    return rc;
}

/* ----------------------------------------------------------------- argv */

static bool has_display(const struct xendm_hvm *h)
{
    return h && (h->vnc || h->sdl || h->spice);
}

/* "-drive" and "-device" for disk i in slot (1-based; 0 for virtio). */
static int add_disk(struct args *a, const struct xendm_config *cfg,
                    unsigned int i, unsigned int slot)
{
    const struct xendm_disk *d = &cfg->disks[i];
    bool q35 = cfg->machine == XENDM_MACHINE_Q35;
    bool microvm = cfg->machine == XENDM_MACHINE_MICROVM;
    char id[160], devid[168] = "", *e = NULL;

    if (d->id)
        snprintf(id, sizeof(id), "%s", d->id);
    else if (d->cdrom)
        snprintf(id, sizeof(id), "%s-%u",
                 d->bus == XENDM_DISK_SCSI ? "scsi" : "ide", slot - 1);
    else
        snprintf(id, sizeof(id), "disk%u", i);
    if (d->id || d->cdrom)
        snprintf(devid, sizeof(devid), ",id=%s", id);

    if (d->bus == XENDM_DISK_VHOST_USER) {
        /* reconnect: a backend that restarts finds its guest again */
        e = escape_commas(d->socket);
        if (!e)
            return -ENOMEM;
        add(a, "-chardev");
        addf(a, "socket,id=vu-%s,path=%s,reconnect=1", id, e);
        free(e);
        /* config-wce=off: qemu-storage-daemon 7.2 leaves the write
         * cache bit of its config space 0, so a guest offered it takes
         * the disk for write-through and never flushes, while the
         * daemon caches (qcow2 metadata): without it the guest goes by
         * the flush feature, writes back and flushes on fsync.
         * num-queues=1: the export's (qemu would ask one per vCPU, and
         * give up when the backend has fewer) */
        add(a, "-device");
        addf(a, "%s,chardev=vu-%s,num-queues=1,config-wce=off%s",
             microvm ? "vhost-user-blk" : "vhost-user-blk-pci", id, devid);
        return 0;
    }

    add(a, "-drive");
    if (d->path && *d->path) {
        e = escape_commas(d->path);
        if (!e)
            return -ENOMEM;
        addf(a, "file=%s,format=%s,if=none,id=%s%s", e,
             disk_format(d->format), id,
             d->readonly || d->cdrom ? ",readonly=on" : "");
        free(e);
    } else {
        addf(a, "if=none,id=%s,readonly=on", id);
    }

    add(a, "-device");
    switch (d->bus) {
    case XENDM_DISK_VIRTIO:
        addf(a, "%s,drive=%s%s",
             microvm ? "virtio-blk-device" : "virtio-blk-pci", id, devid);
        break;
    case XENDM_DISK_VHOST_USER: /* above */
        break;
    case XENDM_DISK_SCSI:
        addf(a, "%s,drive=%s,bus=scsi0.0,scsi-id=%u%s",
             d->cdrom ? "scsi-cd" : "scsi-hd", id, slot - 1, devid);
        break;
    case XENDM_DISK_IDE:
        if (q35)
            addf(a, "%s,drive=%s,bus=ide.%u%s",
                 d->cdrom ? "ide-cd" : "ide-hd", id, slot - 1, devid);
        else
            addf(a, "%s,drive=%s,bus=ide.%u,unit=%u%s",
                 d->cdrom ? "ide-cd" : "ide-hd", id, (slot - 1) / 2,
                 (slot - 1) % 2, devid);
        break;
    }
    return 0;
}

static int add_disks(struct args *a, const struct xendm_config *cfg)
{
    unsigned int i, *slots;
    int rc = 0;

    if (!cfg->nr_disks)
        return 0;
    slots = calloc(cfg->nr_disks, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    rc = disk_slots(cfg, NULL, slots);
    if (rc)
        goto out;
    /* One SCSI controller for all SCSI disks, ahead of them. */
    for (i = 0; i < cfg->nr_disks; i++) {
        if (cfg->disks[i].bus == XENDM_DISK_SCSI) {
            add(a, "-device");
            add(a, cfg->machine == XENDM_MACHINE_MICROVM ?
                "virtio-scsi-device,id=scsi0" : "lsi53c895a,id=scsi0");
            break;
        }
    }
    for (i = 0; i < cfg->nr_disks && !rc; i++)
        rc = add_disk(a, cfg, i, slots[i]);
out:
    free(slots);
    return rc;
}

static void add_nics(struct args *a, const struct xendm_config *cfg)
{
    bool microvm = cfg->machine == XENDM_MACHINE_MICROVM;
    const char *model;
    unsigned int i;
    char ifname[32], mac[32];

    for (i = 0; i < cfg->nr_nics; i++) {
        const struct xendm_nic *n = &cfg->nics[i];

        model = n->model ? n->model : "e1000";
        if (nic_is_virtio(model))
            model = microvm ? "virtio-net-device" : "virtio-net-pci";
        ifname[0] = mac[0] = '\0';
        if (n->ifname)
            snprintf(ifname, sizeof(ifname), ",ifname=%s", n->ifname);
        if (n->mac)
            snprintf(mac, sizeof(mac), ",mac=%s", n->mac);
        if (n->socket) {
            /* the backend's: qemu opens no tap, only its socket */
            add(a, "-chardev");
            addf(a, "socket,id=vn%u,path=%s,reconnect=1", i, n->socket);
            add(a, "-netdev");
            addf(a, "vhost-user,id=net%u,chardev=vn%u", i, i);
        } else {
            add(a, "-netdev");
            addf(a, "tap,id=net%u%s,script=no,downscript=no", i, ifname);
        }
        add(a, "-device");
        /* vectors=0: Debian 12's qemu 7.2 crashes under TCG when a
         * vhost-user virtio-net starts with MSI-X; INTx serves */
        addf(a, "%s,id=nic%u,netdev=net%u%s%s", model, i, i, mac,
             n->socket && !microvm ? ",vectors=0" : "");
    }
}

static void add_vga(struct args *a, const struct xendm_hvm *h)
{
    enum xendm_vga vga = h->vga;
    unsigned int mib = h->videoram_mib;

    if (vga == XENDM_VGA_DEFAULT)
        vga = has_display(h) ? XENDM_VGA_STD : XENDM_VGA_NONE;
    switch (vga) {
    case XENDM_VGA_STD:
        add(a, "-device");
        addf(a, "VGA,vgamem_mb=%u", mib ? mib : 16);
        break;
    case XENDM_VGA_CIRRUS:
        add(a, "-device");
        addf(a, "cirrus-vga,vgamem_mb=%u", mib ? mib : 8);
        break;
    case XENDM_VGA_QXL:
        /* qxl's memory is two regions (ram and vram), half each. */
        mib = mib ? mib : 128;
        add(a, "-device");
        addf(a, "qxl-vga,vram_size_mb=%u,ram_size_mb=%u", mib / 2,
             mib / 2);
        break;
    case XENDM_VGA_DEFAULT:
    case XENDM_VGA_NONE:
        break;
    }
}

static void add_vnc(struct args *a, const struct xendm_hvm *h)
{
    int display = h->vncdisplay > 0 ? h->vncdisplay : 0;
    const char *pw = h->vncpasswd && *h->vncpasswd ? ",password=on" : "";
    const char *to = h->vncdisplay < 0 ? ",to=99" : "";

    add(a, "-vnc");
    /* Xen's rule: a listen address with a ':' carries its display. */
    if (h->vnclisten && strchr(h->vnclisten, ':'))
        addf(a, "%s%s%s", h->vnclisten, pw, to);
    else
        addf(a, "%s:%d%s%s", h->vnclisten ? h->vnclisten : "127.0.0.1",
             display, pw, to);
}

static void add_spice(struct args *a, const struct xendm_config *cfg,
                      const struct xendm_hvm *h)
{
    char port[32] = "", tls[32] = "", host[300] = "";

    if (h->spice_port)
        snprintf(port, sizeof(port), "port=%u,", h->spice_port);
    if (h->spice_tls_port)
        snprintf(tls, sizeof(tls), "tls-port=%u,", h->spice_tls_port);
    if (h->spice_host)
        snprintf(host, sizeof(host), "addr=%s,", h->spice_host);
    add(a, "-spice");
    /* With ticketing, the password comes over QMP (set_password). */
    addf(a, "%s%s%s%sagent-mouse=%s%s", port, tls, host,
         h->spice_disable_ticketing ? "disable-ticketing=on," : "",
         h->spice_agent_mouse ? "on" : "off",
         h->spice_clipboard_sharing ? "" : ",disable-copy-paste=on");
    if (h->spice_vdagent) {
        add(a, "-device");
        add(a, cfg->machine == XENDM_MACHINE_MICROVM ?
            "virtio-serial-device" : "virtio-serial-pci");
        add(a, "-chardev");
        add(a, "spicevmc,id=vdagent,name=vdagent");
        add(a, "-device");
        add(a, "virtserialport,chardev=vdagent,name=com.redhat.spice.0");
    }
}

static void add_usb(struct args *a, const struct xendm_config *cfg,
                    const struct xendm_hvm *h)
{
    if (!h->usb && !h->usb_tablet && !h->usb_mouse)
        return;
    add(a, "-device");
    add(a, cfg->machine == XENDM_MACHINE_Q35 ? "qemu-xhci,id=usb" :
        "piix3-usb-uhci,id=usb");
    if (h->usb_tablet) {
        add(a, "-device");
        add(a, "usb-tablet,bus=usb.0");
    }
    if (h->usb_mouse) {
        add(a, "-device");
        add(a, "usb-mouse,bus=usb.0");
    }
}

static void add_sound(struct args *a, const struct xendm_hvm *h)
{
    if (!h->soundhw)
        return;
    add(a, "-audiodev");
    add(a, h->spice ? "spice,id=audio0" : "none,id=audio0");
    add(a, "-device");
    if (!strcmp(h->soundhw, "hda")) {
        add(a, "intel-hda,id=sound0");
        add(a, "-device");
        add(a, "hda-duplex,bus=sound0.0,audiodev=audio0");
    } else if (!strcmp(h->soundhw, "ac97")) {
        add(a, "AC97,id=sound0,audiodev=audio0");
    } else if (!strcmp(h->soundhw, "sb16")) {
        add(a, "sb16,id=sound0,audiodev=audio0");
    } else {
        add(a, "ES1370,id=sound0,audiodev=audio0");
    }
}

/* -rtc: localtime and rtc_timeoffset.  qemu takes a start date; the
 * offset is added to now (UTC, or local time with localtime). */
static int add_rtc(struct args *a, const struct xendm_hvm *h)
{
    time_t t;
    struct tm tm;
    char buf[64];

    if (!h->localtime && !h->rtc_timeoffset)
        return 0;
    add(a, "-rtc");
    if (!h->rtc_timeoffset) {
        add(a, "base=localtime");
        return 0;
    }
    t = time(NULL) + (time_t)h->rtc_timeoffset;
    if (!(h->localtime ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)))
        return -EINVAL;
    strftime(buf, sizeof(buf), "base=%Y-%m-%dT%H:%M:%S", &tm);
    add(a, buf);
    return 0;
}

static int add_hvm(struct args *a, const struct xendm_config *cfg)
{
    const struct xendm_hvm *h = cfg->hvm;

    if (!h)
        return 0;
    if (h->boot) {
        add(a, "-boot");
        addf(a, "order=%s", h->boot);
    }
    add_vga(a, h);
    if (h->vnc)
        add_vnc(a, h);
    if (h->spice)
        add_spice(a, cfg, h);
    add_usb(a, cfg, h);
    add_sound(a, h);
    return add_rtc(a, h);
}

int xendm_argv(const struct xendm_config *cfg, enum xendm_accel accel,
               const char *qmp_path, const char *pid_path, char ***argv_r)
{
    struct args a = { 0 };
    const struct xendm_hvm *h = cfg->hvm;
    const char *fw, *machine;
    char *e = NULL, *cmdline = NULL, *core = NULL;
    bool microvm = cfg->machine == XENDM_MACHINE_MICROVM;
    bool no_apic = h && h->no_apic && cfg->vcpus <= 1;
    unsigned int i;
    int rc;

    switch (cfg->machine) {
    case XENDM_MACHINE_Q35:
        machine = "q35";
        break;
    case XENDM_MACHINE_MICROVM:
        /* The legacy PIC/PIT/RTC stay for a stock distribution kernel. */
        machine = "microvm,x-option-roms=off,pit=on,pic=on,rtc=on";
        break;
    case XENDM_MACHINE_PC:
    default:
        machine = "pc";
        break;
    }
    if (accel == XENDM_ACCEL_AUTO) {
        rc = -EINVAL;
        goto out;
    }
    rc = xendm_config_check(cfg, NULL);
    if (rc)
        goto out;

    add(&a, cfg->qemu ? cfg->qemu : "qemu-system-x86_64");
    add(&a, "-name");
    if (cfg->name) {
        e = escape_commas(cfg->name);
        if (!e) {
            rc = -ENOMEM;
            goto out;
        }
        addf(&a, "guest=%s,debug-threads=on", e);
    } else {
        addf(&a, "guest=domain-%u,debug-threads=on", cfg->domid);
    }
    add(&a, "-nodefaults");
    add(&a, "-no-user-config");
    add(&a, "-machine");
    /* graphics=off when there is no display, so the firmware (SeaBIOS's
     * sercon) talks on the serial port.  microvm has no HPET. */
    addf(&a, "%s%s%s%s%s", machine,
         has_display(h) ? "" : ",graphics=off",
         h && h->no_acpi ? ",acpi=off" : "",
         h && h->no_hpet && !microvm ? ",hpet=off" : "",
         shares_ram(cfg) ? ",memory-backend=xenolith-ram" : "");
    /* The accelerator only through -accel: qemu refuses it given both
     * there and in -machine. */
    add(&a, "-accel");
    if (accel == XENDM_ACCEL_KVM) {
        add(&a, "kvm");
        add(&a, "-cpu");
        add(&a, no_apic ? "host,-apic" : "host");
    } else {
        add(&a, cfg->vcpus > 1 ? "tcg,thread=multi" : "tcg");
        if (no_apic) {
            add(&a, "-cpu");
            add(&a, "qemu64,-apic");
        }
    }
    add(&a, "-m");
    addf(&a, "%lluM", (unsigned long long)(cfg->memory_mib ?
                                           cfg->memory_mib : 256));
    if (shares_ram(cfg)) {
        /* vhost-user backends map the guest's RAM from this memfd */
        add(&a, "-object");
        addf(&a, "memory-backend-memfd,id=xenolith-ram,size=%lluM,"
             "share=on", (unsigned long long)(cfg->memory_mib ?
                                              cfg->memory_mib : 256));
    }
    add(&a, "-smp");
    if (cfg->max_vcpus > (cfg->vcpus ? cfg->vcpus : 1))
        addf(&a, "%u,maxcpus=%u", cfg->vcpus ? cfg->vcpus : 1,
             cfg->max_vcpus);
    else
        addf(&a, "%u", cfg->vcpus ? cfg->vcpus : 1);
    add(&a, "-display");
    add(&a, h && h->sdl ? "sdl" : "none");
    add(&a, "-S");
    if (cfg->incoming_defer) {
        add(&a, "-incoming");
        add(&a, "defer");
    }
    if (cfg->no_shutdown)
        add(&a, "-no-shutdown");
    if (cfg->no_reboot)
        add(&a, "-no-reboot");

    fw = xendm__firmware(cfg);
    if (fw) {
        add(&a, "-bios");
        add(&a, fw);
    }
    if (cfg->kernel) {
        add(&a, "-kernel");
        add(&a, cfg->kernel);
        if (cfg->initrd) {
            add(&a, "-initrd");
            add(&a, cfg->initrd);
        }
        /* Under TCG, microvm's boot hangs now and then while the kernel
         * calibrates the TSC (no PIT calibration path); telling it the
         * frequency avoids the calibration. */
        if (microvm && accel == XENDM_ACCEL_TCG && xendm_host_tsc_khz() &&
            (!cfg->cmdline || !strstr(cfg->cmdline, "tsc_early_khz="))) {
            if (asprintf(&cmdline, "%s%stsc_early_khz=%lu",
                         cfg->cmdline ? cfg->cmdline : "",
                         cfg->cmdline && *cfg->cmdline ? " " : "",
                         xendm_host_tsc_khz()) < 0) {
                cmdline = NULL;
                rc = -ENOMEM;
                goto out;
            }
        }
        if (cmdline || cfg->cmdline) {
            add(&a, "-append");
            add(&a, cmdline ? cmdline : cfg->cmdline);
        }
    }

    rc = add_disks(&a, cfg);
    if (rc)
        goto out;
    add_nics(&a, cfg);
    rc = add_hvm(&a, cfg);
    if (rc)
        goto out;
    if (cfg->balloon) {
        add(&a, "-device");
        add(&a, microvm ? "virtio-balloon-device,id=balloon0" :
            "virtio-balloon-pci,id=balloon0");
    }

    if (cfg->pvpanic) {
        add(&a, "-device");
        add(&a, "pvpanic");
    }
    add(&a, "-chardev");
    add(&a, "pty,id=serial0");
    add(&a, "-serial");
    add(&a, "chardev:serial0");
    free(e);
    e = NULL;
    if (!cfg->core_only) {
        e = escape_commas(qmp_path);
        if (!e) {
            rc = -ENOMEM;
            goto out;
        }
        add(&a, "-chardev");
        addf(&a, "socket,id=qmp,path=%s,server=on,wait=off", e);
        add(&a, "-mon");
        add(&a, "chardev=qmp,mode=control");
    }
    if (cfg->core_monitor) {
        free(e);
        e = NULL;
        core = xendm_file_path(cfg->run_dir, cfg->domid, XENDM_SUFFIX_CORE);
        if (core)
            e = escape_commas(core);
        if (!e) {
            rc = -ENOMEM;
            goto out;
        }
        add(&a, "-chardev");
        addf(&a, "socket,id=qmp-core,path=%s,server=on,wait=off", e);
        add(&a, "-mon");
        add(&a, "chardev=qmp-core,mode=control");
    }
    if (pid_path) {
        add(&a, "-pidfile");
        add(&a, pid_path);
    }
    if (cfg->extra_args)
        for (i = 0; cfg->extra_args[i]; i++)
            add(&a, cfg->extra_args[i]);
    if (a.oom) {
        rc = -ENOMEM;
        goto out;
    }
    *argv_r = a.v;
    a.v = NULL;
    rc = 0;
out:
    free(e);
    free(core);
    free(cmdline);
    xendm_argv_free(a.v);
    return rc;
}
