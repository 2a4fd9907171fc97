/*
 * libxl_accel.c - which accelerator a domain gets: the host's KVM when
 * /dev/kvm opens (and is not kvm_pvm, KVM done in software, which cannot
 * run a Linux kernel), else qemu's TCG; and whether a domain then runs
 * on the Xenolith core (KVM) or in qemu (HVM, or PVH under TCG).
 */
#include "libxl.h"

#include <fcntl.h>
#include <unistd.h>

#include "libxl_internal.h"
#include "xendm.h"


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
