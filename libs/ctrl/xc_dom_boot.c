/*
 * xc_dom_boot.c - where the builder meets the control interface.
 *
 * This is the only builder file that calls libxenctrl (the interface's
 * loggers, xc_domain_platform_info, xc_map_foreign_range,
 * xc_vcpu_setcontext); everything else runs on struct xc__dom_memops and
 * is unit-tested on a plain buffer.
 */
#include "xc_dom_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct xc_dom_image *xc_dom_allocate(xc_interface *xch, const char *cmdline,
                                     const char *features)
{
    struct xc_dom_image *dom = xc__dom_alloc(cmdline);

    if (!dom)
        return NULL;
    dom->xch = xch;
    if (xch) {
        dom->lg = xc_interface_dombuild_logger(xch);
        if (!dom->lg)
            dom->lg = xc_interface_logger(xch);
    }
    return dom;
}

int xc_dom_boot_xen_init(struct xc_dom_image *dom, xc_interface *xch,
                         uint32_t domid)
{
    if (!xch)
        return xc__dom_err(dom, -EINVAL, "boot: no control interface");
    if (domid == 0 || domid > XC_DOMID_MAX)
        return xc__dom_err(dom, -EINVAL, "boot: bad domain id %u", domid);
    dom->xch = xch;
    if (!dom->lg) {
        dom->lg = xc_interface_dombuild_logger(xch);
        if (!dom->lg)
            dom->lg = xc_interface_logger(xch);
    }
    dom->domid = domid;
    dom->have_domid = true;
    return 0;
}

/* ------------------------------------------------------------ memory */

struct mapping {
    void *addr;
    size_t len;
};

struct domain_mem {
    uint32_t n;
    uint32_t cap;
    struct mapping *maps;
};

static void *domain_map(struct xc_dom_image *dom, uint64_t paddr,
                        uint64_t size)
{
    struct domain_mem *dm = dom->mem_priv;
    uint64_t off = paddr & (XC__DOM_PAGE_SIZE - 1);
    uint64_t len = (off + size + XC__DOM_PAGE_SIZE - 1) &
                   ~(XC__DOM_PAGE_SIZE - 1);
    uint8_t *p;

    if (size == 0 || !xc__dom_memmap_is_ram(&dom->plat, paddr, size)) {
        xc__dom_err(dom, -EFAULT, "domain %u: guest range 0x%llx+0x%llx is "
                    "not RAM", dom->domid, (unsigned long long)paddr,
                    (unsigned long long)size);
        return NULL;
    }
    if (len > INT_MAX) {
        xc__dom_err(dom, -EFBIG, "domain %u: cannot map 0x%llx bytes at "
                    "0x%llx in one piece", dom->domid,
                    (unsigned long long)size, (unsigned long long)paddr);
        return NULL;
    }
    if (dm->n == dm->cap) {
        uint32_t cap = dm->cap ? dm->cap * 2 : 16;
        struct mapping *nm = realloc(dm->maps, cap * sizeof(*nm));

        if (!nm) {
            xc__dom_err(dom, -ENOMEM, "out of memory");
            return NULL;
        }
        dm->maps = nm;
        dm->cap = cap;
    }
    p = xc_map_foreign_range(dom->xch, dom->domid, (int)len,
                             PROT_READ | PROT_WRITE,
                             (unsigned long)(paddr >> 12));
    if (!p) {
        xc__dom_err(dom, -errno, "domain %u: cannot map guest memory at "
                    "0x%llx (%llu bytes): %s", dom->domid,
                    (unsigned long long)paddr, (unsigned long long)len,
                    strerror(errno));
        return NULL;
    }
    dm->maps[dm->n].addr = p;
    dm->maps[dm->n].len = (size_t)len;
    dm->n++;
    return p + off;
}

static void domain_release(struct xc_dom_image *dom)
{
    struct domain_mem *dm = dom->mem_priv;
    uint32_t i;

    if (!dm)
        return;
    for (i = 0; i < dm->n; i++)
        munmap(dm->maps[i].addr, dm->maps[i].len);
    free(dm->maps);
    free(dm);
    dom->mem_priv = NULL;
}

static const struct xc__dom_memops domain_ops = {
    .map = domain_map,
    .release = domain_release,
};

int xc_dom_boot_mem_init(struct xc_dom_image *dom)
{
    struct xc_platform_info pi;
    struct xc__dom_platform plat;
    struct domain_mem *dm = NULL;
    uint32_t i;
    int rc;

    if (!dom->have_domid)
        return xc__dom_err(dom, -EINVAL, "boot: no domain "
                           "(xc_dom_boot_xen_init)");
    memset(&pi, 0, sizeof(pi));
    rc = xc_domain_platform_info(dom->xch, dom->domid, &pi);
    if (rc < 0) {
        rc = xc__dom_err(dom, rc, "domain %u: cannot read its platform "
                         "info: %s", dom->domid, strerror(-rc));
        goto out;
    }
    if (pi.nr_e820 > XC_MAX_E820) {
        rc = xc__dom_err(dom, -EPROTO, "domain %u: platform info has %u "
                         "memory map entries", dom->domid, pi.nr_e820);
        goto out;
    }
    memset(&plat, 0, sizeof(plat));
    plat.rsdp_paddr = pi.rsdp_paddr;
    plat.nr_ranges = pi.nr_e820;
    for (i = 0; i < pi.nr_e820; i++) {
        /* XC_E820_* and Xen's XEN_HVM_MEMMAP_TYPE_* share numbers. */
        plat.ranges[i].addr = pi.e820[i].addr;
        plat.ranges[i].size = pi.e820[i].size;
        plat.ranges[i].type = pi.e820[i].type;
    }
    if (dom->mem_bytes && pi.memory_kb * 1024 < dom->mem_bytes)
        xc__dom_log(dom, XTL_WARN, "domain %u has %llu KiB of RAM, less "
                    "than the %llu KiB the image was sized for", dom->domid,
                    (unsigned long long)pi.memory_kb,
                    (unsigned long long)(dom->mem_bytes >> 10));

    dm = calloc(1, sizeof(*dm));
    if (!dm) {
        rc = xc__dom_err(dom, -ENOMEM, "out of memory");
        goto out;
    }
    rc = xc__dom_attach_memory(dom, &domain_ops, dm, &plat);
    if (rc)
        goto out;
    dm = NULL;
    rc = 0;

out:
    free(dm);
    return rc;
}

/* ------------------------------------------------------------ vCPU */

int xc_dom_boot_image(struct xc_dom_image *dom)
{
    struct xc_vcpu_context ctx;
    int rc;

    if (!dom->built)
        return xc__dom_err(dom, -EINVAL, "boot: the image has not been "
                           "built (xc_dom_build_image)");
    if (!dom->have_domid)
        return xc__dom_err(dom, -EINVAL, "boot: no domain "
                           "(xc_dom_boot_xen_init)");
    memset(&ctx, 0, sizeof(ctx));
    ctx.mode = XC_VCPU_MODE_PVH32;
    ctx.rip = dom->elf.phys32_entry;
    ctx.rbx = dom->start_info_paddr;
    ctx.rflags = 0x2;
    rc = xc_vcpu_setcontext(dom->xch, dom->domid, 0, &ctx);
    if (rc < 0)
        return xc__dom_err(dom, rc, "domain %u: cannot set vCPU 0's entry "
                           "state (eip 0x%x, ebx 0x%llx): %s", dom->domid,
                           dom->elf.phys32_entry,
                           (unsigned long long)dom->start_info_paddr,
                           strerror(-rc));
    dom->booted = true;
    xc__dom_log(dom, XTL_DETAIL, "domain %u: vCPU 0 enters at 0x%x with "
                "start info at 0x%llx", dom->domid, dom->elf.phys32_entry,
                (unsigned long long)dom->start_info_paddr);
    return 0;
}
