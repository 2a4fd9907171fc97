/*
 * xc_dom_hvm.c - the PVH side of building: the e820 memory map, where
 * the start info, command lines and modules go, and writing it all into
 * guest memory.
 *
 * Placement: every piece is page aligned, in RAM below 4 GiB, clear of
 * the kernel's physical range.  Pieces go first-fit from the end of the
 * kernel upwards (as Xen's builder does); only if that fails does the
 * space below the kernel get used.  The whole plan is made before
 * anything is written.
 */
#include "xc_dom_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ memmap */

static int cmp_range(const void *a, const void *b)
{
    const struct xc__dom_range *x = a, *y = b;

    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int xc__dom_memmap_normalise(struct xc_dom_image *dom,
                             const struct xc__dom_range *in, uint32_t n,
                             struct xc__dom_platform *out)
{
    struct xc__dom_range ram[2 * XC__DOM_MAX_RANGES + 2];
    struct xc__dom_range other[XC__DOM_MAX_RANGES];
    struct xc__dom_range all[3 * XC__DOM_MAX_RANGES + 2];
    uint32_t nram = 0, nother = 0, nall = 0, i, j;

    memset(out, 0, sizeof(*out));
    if (n > XC__DOM_MAX_RANGES)
        return xc__dom_err(dom, -ENOSPC, "guest memory map has %u ranges "
                           "(at most %d)", n, XC__DOM_MAX_RANGES);
    for (i = 0; i < n; i++) {
        struct xc__dom_range r = in[i];

        if (r.size == 0)
            continue;
        if (r.addr + r.size < r.addr)
            return xc__dom_err(dom, -EINVAL, "guest memory map range "
                               "0x%llx+0x%llx wraps around",
                               (unsigned long long)r.addr,
                               (unsigned long long)r.size);
        if (r.type < XC__HVM_MEMMAP_RAM || r.type > XC__HVM_MEMMAP_PMEM)
            r.type = XC__HVM_MEMMAP_RESERVED;
        if (r.type == XC__HVM_MEMMAP_RAM)
            ram[nram++] = r;
        else
            other[nother++] = r;
    }
    if (nram == 0)
        return xc__dom_err(dom, -EINVAL, "guest memory map has no RAM");

    qsort(other, nother, sizeof(other[0]), cmp_range);
    for (i = 1; i < nother; i++)
        if (other[i - 1].addr + other[i - 1].size > other[i].addr)
            return xc__dom_err(dom, -EINVAL, "guest memory map: ranges at "
                               "0x%llx and 0x%llx overlap",
                               (unsigned long long)other[i - 1].addr,
                               (unsigned long long)other[i].addr);

    /* Merge overlapping or adjacent RAM. */
    qsort(ram, nram, sizeof(ram[0]), cmp_range);
    for (i = 1, j = 0; i < nram; i++) {
        uint64_t end = ram[j].addr + ram[j].size;

        if (ram[i].addr <= end) {
            uint64_t iend = ram[i].addr + ram[i].size;

            if (iend > end)
                ram[j].size = iend - ram[j].addr;
        } else {
            ram[++j] = ram[i];
        }
    }
    nram = j + 1;

    /* Cut the other ranges out of RAM; each cut adds at most one. */
    for (i = 0; i < nother; i++) {
        uint64_t a = other[i].addr, b = a + other[i].size;

        for (j = 0; j < nram; j++) {
            uint64_t s = ram[j].addr, e = s + ram[j].size;

            if (b <= s || a >= e)
                continue;
            if (a > s && b < e) {
                memmove(&ram[j + 2], &ram[j + 1],
                        (nram - j - 1) * sizeof(ram[0]));
                ram[j + 1].addr = b;
                ram[j + 1].size = e - b;
                ram[j + 1].type = XC__HVM_MEMMAP_RAM;
                ram[j].size = a - s;
                nram++;
                j++;
            } else if (a <= s && b >= e) {
                ram[j].size = 0;
            } else if (a <= s) {
                ram[j].addr = b;
                ram[j].size = e - b;
            } else {
                ram[j].size = a - s;
            }
            if (nram > XC__DOM_MAX_RANGES)
                return xc__dom_err(dom, -ENOSPC, "guest memory map has too "
                                   "many ranges");
        }
    }

    for (i = 0; i < nram; i++)
        if (ram[i].size)
            all[nall++] = ram[i];
    for (i = 0; i < nother; i++)
        all[nall++] = other[i];
    if (nall > XC__DOM_MAX_RANGES)
        return xc__dom_err(dom, -ENOSPC, "guest memory map has too many "
                           "ranges");
    qsort(all, nall, sizeof(all[0]), cmp_range);
    for (i = 0; i < nall; i++)
        if (all[i].type == XC__HVM_MEMMAP_RAM)
            break;
    if (i == nall)
        return xc__dom_err(dom, -EINVAL, "guest memory map has no RAM left "
                           "outside its reserved ranges");
    memcpy(out->ranges, all, nall * sizeof(all[0]));
    out->nr_ranges = nall;
    return 0;
}

bool xc__dom_memmap_is_ram(const struct xc__dom_platform *plat,
                           uint64_t addr, uint64_t size)
{
    uint32_t i;

    for (i = 0; i < plat->nr_ranges; i++) {
        const struct xc__dom_range *r = &plat->ranges[i];

        if (r->type == XC__HVM_MEMMAP_RAM && addr >= r->addr &&
            addr - r->addr <= r->size && size <= r->size - (addr - r->addr))
            return true;
    }
    return false;
}

uint64_t xc__dom_memmap_low_ram(const struct xc__dom_platform *plat)
{
    uint64_t total = 0;
    uint32_t i;

    for (i = 0; i < plat->nr_ranges; i++) {
        const struct xc__dom_range *r = &plat->ranges[i];
        uint64_t end = r->addr + r->size;

        if (r->type != XC__HVM_MEMMAP_RAM || r->addr >= XC__DOM_4G)
            continue;
        total += (end > XC__DOM_4G ? XC__DOM_4G : end) - r->addr;
    }
    return total;
}

/* ------------------------------------------------------------ placement */

struct freelist {
    uint32_t n;
    struct xc__dom_range r[XC__DOM_MAX_RANGES * 2];
};

static uint64_t page_up(uint64_t v)
{
    return (v + XC__DOM_PAGE_SIZE - 1) & ~(XC__DOM_PAGE_SIZE - 1);
}

static uint64_t page_down(uint64_t v)
{
    return v & ~(XC__DOM_PAGE_SIZE - 1);
}

/* Free RAM below 4 GiB, page aligned, above page 0, minus the kernel. */
static void freelist_init(struct freelist *fl,
                          const struct xc__dom_platform *plat,
                          uint64_t kstart, uint64_t kend)
{
    uint32_t i;

    fl->n = 0;
    for (i = 0; i < plat->nr_ranges; i++) {
        const struct xc__dom_range *r = &plat->ranges[i];
        uint64_t s = page_up(r->addr);
        uint64_t e = r->addr + r->size;

        if (r->type != XC__HVM_MEMMAP_RAM)
            continue;
        if (e > XC__DOM_4G)
            e = XC__DOM_4G;
        e = page_down(e);
        if (s < XC__DOM_PAGE_SIZE)
            s = XC__DOM_PAGE_SIZE;
        if (s >= e)
            continue;
        if (kend <= s || kstart >= e) {
            fl->r[fl->n++] = (struct xc__dom_range){ s, e - s, 0 };
            continue;
        }
        if (kstart > s)
            fl->r[fl->n++] = (struct xc__dom_range){ s, kstart - s, 0 };
        if (kend < e)
            fl->r[fl->n++] = (struct xc__dom_range){ kend, e - kend, 0 };
    }
}

static uint64_t freelist_largest(const struct freelist *fl)
{
    uint64_t best = 0;
    uint32_t i;

    for (i = 0; i < fl->n; i++)
        if (fl->r[i].size > best)
            best = fl->r[i].size;
    return best;
}

/* First fit at or above floor, then anywhere.  Returns 0 when full. */
static uint64_t freelist_alloc(struct freelist *fl, uint64_t size,
                               uint64_t floor)
{
    int pass;
    uint32_t i;

    size = page_up(size);
    if (size == 0)
        return 0;
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < fl->n; i++) {
            struct xc__dom_range *r = &fl->r[i];
            uint64_t at;

            if (pass == 0 && r->addr < floor)
                continue;
            if (r->size < size)
                continue;
            at = r->addr;
            r->addr += size;
            r->size -= size;
            return at;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ writing */

static int put(struct xc_dom_image *dom, uint64_t paddr, const void *src,
               size_t len)
{
    uint8_t *dst = dom->memops->map(dom, paddr, len);

    if (!dst)
        return -EFAULT;
    memcpy(dst, src, len);
    return 0;
}

int xc_dom_build_image(struct xc_dom_image *dom)
{
    struct freelist fl;
    struct xc__hvm_start_info si;
    struct xc__hvm_modlist_entry ml[XC_DOM_MAX_MODULES];
    struct xc__hvm_memmap_entry mm[XC__DOM_MAX_RANGES];
    uint64_t mod_at[XC_DOM_MAX_MODULES] = { 0 };
    uint64_t modcl_at[XC_DOM_MAX_MODULES] = { 0 };
    uint64_t si_at, mm_at, cl_at = 0;
    uint64_t kstart, kend;
    size_t si_len, mm_len;
    uint32_t i;
    int rc;

    if (!dom->parsed)
        return xc__dom_err(dom, -EINVAL, "build: the kernel has not been "
                           "parsed (xc_dom_parse_image)");
    if (!dom->mem_ready)
        return xc__dom_err(dom, -EINVAL, "build: no guest memory attached "
                           "(xc_dom_boot_mem_init)");
    dom->built = false;

    for (i = 0; i < dom->elf.nr_segs; i++) {
        const struct xc__dom_seg *s = &dom->elf.segs[i];

        if (!xc__dom_memmap_is_ram(&dom->plat, s->paddr, s->memsz))
            return xc__dom_err(dom, -ENOSPC, "kernel %s: segment at 0x%llx-"
                               "0x%llx is not in guest RAM (%llu bytes of "
                               "RAM below 4 GiB)", dom->kernel.name,
                               (unsigned long long)s->paddr,
                               (unsigned long long)(s->paddr + s->memsz),
                               (unsigned long long)
                               xc__dom_memmap_low_ram(&dom->plat));
    }

    /* Plan. */
    kstart = page_down(dom->elf.pstart);
    kend = page_up(dom->elf.pend);
    freelist_init(&fl, &dom->plat, kstart, kend);
    for (i = 0; i < dom->nr_modules; i++) {
        const struct xc__dom_blob *m = &dom->modules[i];

        mod_at[i] = freelist_alloc(&fl, m->size, kend);
        if (!mod_at[i])
            return xc__dom_err(dom, -ENOSPC, "%s %s (%zu bytes) does not "
                               "fit in guest memory: %llu bytes of RAM "
                               "below 4 GiB, largest free range %llu bytes",
                               i == 0 ? "initrd" : "module", m->name,
                               m->size, (unsigned long long)
                               xc__dom_memmap_low_ram(&dom->plat),
                               (unsigned long long)freelist_largest(&fl));
    }
    si_len = sizeof(si) + dom->nr_modules * sizeof(ml[0]);
    mm_len = dom->plat.nr_ranges * sizeof(mm[0]);
    si_at = freelist_alloc(&fl, si_len, kend);
    mm_at = freelist_alloc(&fl, mm_len, kend);
    if (dom->cmdline)
        cl_at = freelist_alloc(&fl, strlen(dom->cmdline) + 1, kend);
    for (i = 0; i < dom->nr_modules; i++)
        if (dom->modules[i].cmdline)
            modcl_at[i] = freelist_alloc(&fl,
                                         strlen(dom->modules[i].cmdline) + 1,
                                         kend);
    for (i = 0; i < dom->nr_modules; i++)
        if (dom->modules[i].cmdline && !modcl_at[i])
            break;
    if (!si_at || !mm_at || (dom->cmdline && !cl_at) ||
        i < dom->nr_modules)
        return xc__dom_err(dom, -ENOSPC, "no guest RAM left below 4 GiB "
                           "for the start info and command lines");

    /* Write. */
    rc = xc__dom_elf_load(dom, dom->elf_img, &dom->elf);
    if (rc)
        return rc;
    memset(ml, 0, sizeof(ml));
    for (i = 0; i < dom->nr_modules; i++) {
        const struct xc__dom_blob *m = &dom->modules[i];

        rc = put(dom, mod_at[i], m->data, m->size);
        if (rc)
            return rc;
        if (m->cmdline) {
            rc = put(dom, modcl_at[i], m->cmdline, strlen(m->cmdline) + 1);
            if (rc)
                return rc;
        }
        ml[i].paddr = mod_at[i];
        ml[i].size = m->size;
        ml[i].cmdline_paddr = modcl_at[i];
    }
    if (dom->cmdline) {
        rc = put(dom, cl_at, dom->cmdline, strlen(dom->cmdline) + 1);
        if (rc)
            return rc;
    }
    memset(mm, 0, sizeof(mm));
    for (i = 0; i < dom->plat.nr_ranges; i++) {
        mm[i].addr = dom->plat.ranges[i].addr;
        mm[i].size = dom->plat.ranges[i].size;
        mm[i].type = dom->plat.ranges[i].type;
    }
    rc = put(dom, mm_at, mm, mm_len);
    if (rc)
        return rc;

    memset(&si, 0, sizeof(si));
    si.magic = XC__HVM_START_MAGIC;
    si.version = XC__HVM_START_VERSION;
    si.nr_modules = dom->nr_modules;
    si.modlist_paddr = dom->nr_modules ? si_at + sizeof(si) : 0;
    si.cmdline_paddr = cl_at;
    si.rsdp_paddr = dom->plat.rsdp_paddr;
    si.memmap_paddr = mm_at;
    si.memmap_entries = dom->plat.nr_ranges;
    rc = put(dom, si_at, &si, sizeof(si));
    if (rc)
        return rc;
    if (dom->nr_modules) {
        rc = put(dom, si_at + sizeof(si), ml,
                 dom->nr_modules * sizeof(ml[0]));
        if (rc)
            return rc;
    }

    dom->start_info_paddr = si_at;
    dom->cmdline_paddr = cl_at;
    dom->memmap_paddr = mm_at;
    dom->memmap_entries = dom->plat.nr_ranges;
    for (i = 0; i < dom->nr_modules; i++)
        dom->module_paddr[i] = mod_at[i];
    dom->built = true;
    xc__dom_log(dom, XTL_DETAIL, "built: kernel 0x%llx-0x%llx, start info "
                "0x%llx, %u modules, %u memory map entries",
                (unsigned long long)dom->elf.pstart,
                (unsigned long long)dom->elf.pend,
                (unsigned long long)si_at, dom->nr_modules,
                dom->plat.nr_ranges);
    return 0;
}
