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

int xendm_argv(const struct xendm_config *cfg, enum xendm_accel accel,
               const char *qmp_path, const char *pid_path, char ***argv_r)
{
    struct args a = { 0 };
    const char *fw, *machine;
    char *e = NULL, *cmdline = NULL, *core = NULL;
    bool microvm = cfg->machine == XENDM_MACHINE_MICROVM;
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
    /* graphics=off: no display, so the firmware (SeaBIOS's sercon)
     * talks on the serial port. */
    addf(&a, "%s,accel=%s,graphics=off", machine,
         accel == XENDM_ACCEL_KVM ? "kvm" : "tcg");
    if (accel == XENDM_ACCEL_KVM) {
        add(&a, "-cpu");
        add(&a, "host");
    } else if (cfg->vcpus > 1) {
        add(&a, "-accel");
        add(&a, "tcg,thread=multi");
    }
    add(&a, "-m");
    addf(&a, "%lluM", (unsigned long long)(cfg->memory_mib ?
                                           cfg->memory_mib : 256));
    add(&a, "-smp");
    addf(&a, "%u", cfg->vcpus ? cfg->vcpus : 1);
    add(&a, "-display");
    add(&a, "none");
    add(&a, "-S");
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

    for (i = 0; i < cfg->nr_disks; i++) {
        const struct xendm_disk *d = &cfg->disks[i];

        free(e);
        e = escape_commas(d->path);
        if (!e) {
            rc = -ENOMEM;
            goto out;
        }
        add(&a, "-drive");
        addf(&a, "file=%s,format=%s,if=none,id=disk%u%s", e,
             d->format ? d->format : "raw", i,
             d->readonly ? ",readonly=on" : "");
        add(&a, "-device");
        if (d->bus == XENDM_DISK_VIRTIO)
            addf(&a, "%s,drive=disk%u",
                 microvm ? "virtio-blk-device" : "virtio-blk-pci", i);
        else if (cfg->machine == XENDM_MACHINE_Q35)
            addf(&a, "ide-hd,drive=disk%u,bus=ide.%u", i, i);
        else
            addf(&a, "ide-hd,drive=disk%u,bus=ide.%u,unit=%u", i,
                 i / 2, i % 2);
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
    e = escape_commas(qmp_path);
    if (!e) {
        rc = -ENOMEM;
        goto out;
    }
    add(&a, "-chardev");
    addf(&a, "socket,id=qmp,path=%s,server=on,wait=off", e);
    add(&a, "-mon");
    add(&a, "chardev=qmp,mode=control");
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
