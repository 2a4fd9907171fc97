/*
 * xc_dom_core.c - the builder's image object: inputs, parsing, errors,
 * and the buffer-backed guest memory used by tests and dry runs.
 */
#include "xc_dom_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ errors */

static void vlog(struct xc_dom_image *dom, xentoollog_level level,
                 int errnoval, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vlog(struct xc_dom_image *dom, xentoollog_level level,
                 int errnoval, const char *fmt, va_list ap)
{
    if (!dom->lg || !dom->lg->vmessage)
        return;
    dom->lg->vmessage(dom->lg, level, errnoval, "xc_dom", fmt, ap);
}

int xc__dom_err(struct xc_dom_image *dom, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dom->err, sizeof(dom->err), fmt, ap);
    va_end(ap);
    xc__dom_log(dom, XTL_ERROR, "%s", dom->err);
    return rc;
}

void xc__dom_log(struct xc_dom_image *dom, xentoollog_level level,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(dom, level, -1, fmt, ap);
    va_end(ap);
}

const char *xc_dom_last_error(const struct xc_dom_image *dom)
{
    return dom ? dom->err : "no image";
}

/* ------------------------------------------------------------ object */

struct xc_dom_image *xc__dom_alloc(const char *cmdline)
{
    struct xc_dom_image *dom = calloc(1, sizeof(*dom));

    if (!dom)
        return NULL;
    if (cmdline) {
        dom->cmdline = strdup(cmdline);
        if (!dom->cmdline) {
            free(dom);
            errno = ENOMEM;
            return NULL;
        }
    }
    return dom;
}

static void blob_dispose(struct xc__dom_blob *b)
{
    if (b->data) {
        if (b->mapped)
            munmap(b->data, b->size);
        else
            free(b->data);
    }
    free(b->name);
    free(b->cmdline);
    memset(b, 0, sizeof(*b));
}

static void drop_parse(struct xc_dom_image *dom)
{
    free(dom->elf_buf);
    dom->elf_buf = NULL;
    dom->elf_img = NULL;
    dom->elf_size = 0;
    dom->format[0] = '\0';
    memset(&dom->elf, 0, sizeof(dom->elf));
    dom->parsed = false;
    dom->built = false;
}

void xc_dom_release(struct xc_dom_image *dom)
{
    uint32_t i;

    if (!dom)
        return;
    if (dom->memops && dom->memops->release)
        dom->memops->release(dom);
    drop_parse(dom);
    blob_dispose(&dom->kernel);
    for (i = 0; i < dom->nr_modules; i++)
        blob_dispose(&dom->modules[i]);
    free(dom->cmdline);
    free(dom);
}

int xc_dom_cmdline(struct xc_dom_image *dom, const char *cmdline)
{
    char *copy = NULL;

    if (cmdline) {
        copy = strdup(cmdline);
        if (!copy)
            return xc__dom_err(dom, -ENOMEM, "out of memory for cmdline");
    }
    free(dom->cmdline);
    dom->cmdline = copy;
    dom->built = false;
    return 0;
}

/* ------------------------------------------------------------ inputs */

/* Map a whole file read-only into b (b untouched on failure). */
static int blob_from_file(struct xc_dom_image *dom, struct xc__dom_blob *b,
                          const char *what, const char *filename)
{
    struct stat st;
    void *data = MAP_FAILED;
    char *name = NULL;
    int fd = -1;
    int rc;

    if (!filename) {
        rc = xc__dom_err(dom, -EINVAL, "%s: no file name given", what);
        goto out;
    }
    fd = open(filename, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        xc__dom_err(dom, rc, "cannot open %s %s: %s", what, filename,
                    strerror(-rc));
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        xc__dom_err(dom, rc, "cannot stat %s %s: %s", what, filename,
                    strerror(-rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = xc__dom_err(dom, -EINVAL, "%s %s is not a regular file",
                         what, filename);
        goto out;
    }
    if (st.st_size == 0) {
        rc = xc__dom_err(dom, -ENOEXEC, "%s %s is empty", what, filename);
        goto out;
    }
    data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
        rc = -errno;
        xc__dom_err(dom, rc, "cannot map %s %s (%lld bytes): %s", what,
                    filename, (long long)st.st_size, strerror(-rc));
        goto out;
    }
    name = strdup(filename);
    if (!name) {
        rc = xc__dom_err(dom, -ENOMEM, "out of memory");
        goto out;
    }

    b->data = data;
    b->size = (size_t)st.st_size;
    b->mapped = true;
    b->name = name;
    data = MAP_FAILED;
    name = NULL;
    rc = 0;

out:
    if (data != MAP_FAILED)
        munmap(data, (size_t)st.st_size);
    free(name);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int blob_from_mem(struct xc_dom_image *dom, struct xc__dom_blob *b,
                         const char *what, const void *mem, size_t size)
{
    uint8_t *data = NULL;
    char *name = NULL;
    int rc;

    if (!mem || size == 0) {
        rc = xc__dom_err(dom, -ENOEXEC, "%s in memory is empty", what);
        goto out;
    }
    data = malloc(size);
    name = strdup("<memory>");
    if (!data || !name) {
        rc = xc__dom_err(dom, -ENOMEM, "out of memory for %s (%zu bytes)",
                         what, size);
        goto out;
    }
    memcpy(data, mem, size);

    b->data = data;
    b->size = size;
    b->mapped = false;
    b->name = name;
    data = NULL;
    name = NULL;
    rc = 0;

out:
    free(data);
    free(name);
    return rc;
}

static int set_kernel(struct xc_dom_image *dom, struct xc__dom_blob *nb)
{
    drop_parse(dom);
    blob_dispose(&dom->kernel);
    dom->kernel = *nb;
    return 0;
}

int xc_dom_kernel_file(struct xc_dom_image *dom, const char *filename)
{
    struct xc__dom_blob nb = { 0 };
    int rc;

    rc = blob_from_file(dom, &nb, "kernel", filename);
    if (rc)
        return rc;
    return set_kernel(dom, &nb);
}

int xc_dom_kernel_mem(struct xc_dom_image *dom, const void *mem,
                      size_t memsize)
{
    struct xc__dom_blob nb = { 0 };
    int rc;

    rc = blob_from_mem(dom, &nb, "kernel", mem, memsize);
    if (rc)
        return rc;
    return set_kernel(dom, &nb);
}

static int add_module(struct xc_dom_image *dom, const char *filename,
                      const void *mem, size_t memsize, const char *cmdline)
{
    struct xc__dom_blob nb = { 0 };
    int rc;

    if (dom->nr_modules >= XC_DOM_MAX_MODULES)
        return xc__dom_err(dom, -ENOSPC,
                           "too many modules (at most %d)",
                           XC_DOM_MAX_MODULES);
    if (filename)
        rc = blob_from_file(dom, &nb, "module", filename);
    else
        rc = blob_from_mem(dom, &nb, "module", mem, memsize);
    if (rc)
        return rc;
    if (cmdline) {
        nb.cmdline = strdup(cmdline);
        if (!nb.cmdline) {
            blob_dispose(&nb);
            return xc__dom_err(dom, -ENOMEM, "out of memory");
        }
    }
    if (dom->mem_bytes && nb.size > dom->mem_bytes) {
        rc = xc__dom_err(dom, -ENOSPC,
                         "module %s (%zu bytes) is larger than the guest "
                         "memory (%llu bytes)", nb.name, nb.size,
                         (unsigned long long)dom->mem_bytes);
        blob_dispose(&nb);
        return rc;
    }
    dom->modules[dom->nr_modules++] = nb;
    dom->built = false;
    return 0;
}

int xc_dom_module_file(struct xc_dom_image *dom, const char *filename,
                       const char *cmdline)
{
    if (!filename)
        return xc__dom_err(dom, -EINVAL, "module: no file name given");
    return add_module(dom, filename, NULL, 0, cmdline);
}

int xc_dom_module_mem(struct xc_dom_image *dom, const void *mem,
                      size_t memsize, const char *cmdline)
{
    return add_module(dom, NULL, mem, memsize, cmdline);
}

/* ------------------------------------------------------------ parsing */

/* Check the modules (and, with kernel, the kernel's end address) against
 * a RAM size. */
static int check_fits(struct xc_dom_image *dom, uint64_t ram, bool kernel)
{
    uint32_t i;

    if (!ram)
        return 0;
    if (kernel && dom->parsed && dom->elf.pend > ram)
        return xc__dom_err(dom, -ENOSPC,
                           "kernel %s needs memory up to 0x%llx but the "
                           "guest has %llu bytes", dom->kernel.name,
                           (unsigned long long)dom->elf.pend,
                           (unsigned long long)ram);
    for (i = 0; i < dom->nr_modules; i++) {
        if (dom->modules[i].size > ram)
            return xc__dom_err(dom, -ENOSPC,
                               "%s %s (%zu bytes) is larger than the "
                               "guest memory (%llu bytes)",
                               i == 0 ? "initrd" : "module",
                               dom->modules[i].name, dom->modules[i].size,
                               (unsigned long long)ram);
    }
    return 0;
}

/* Check the parsed kernel's segments against a memory map. */
static int check_segs_in_ram(struct xc_dom_image *dom,
                             const struct xc__dom_platform *plat)
{
    uint32_t i;

    if (!dom->parsed)
        return 0;
    for (i = 0; i < dom->elf.nr_segs; i++) {
        const struct xc__dom_seg *s = &dom->elf.segs[i];

        if (!xc__dom_memmap_is_ram(plat, s->paddr, s->memsz))
            return xc__dom_err(dom, -ENOSPC, "kernel %s: segment at "
                               "0x%llx-0x%llx is not in guest RAM (%llu "
                               "bytes of RAM below 4 GiB)",
                               dom->kernel.name,
                               (unsigned long long)s->paddr,
                               (unsigned long long)(s->paddr + s->memsz),
                               (unsigned long long)
                               xc__dom_memmap_low_ram(plat));
    }
    return 0;
}

int xc_dom_parse_image(struct xc_dom_image *dom)
{
    const uint8_t *img;
    size_t size;
    const uint8_t *payload;
    size_t plen;
    enum xc__dom_comp comp;
    uint8_t *buf = NULL;
    size_t buflen = 0;
    const char *wrap = "";
    char what[64];
    int rc;

    if (!dom->kernel.data)
        return xc__dom_err(dom, -EINVAL, "no kernel given");
    drop_parse(dom);
    img = dom->kernel.data;
    size = dom->kernel.size;

    if (xc__dom_bzimage_probe(img, size)) {
        rc = xc__dom_bzimage_payload(dom, img, size, &payload, &plen);
        if (rc)
            goto out;
        wrap = "bzImage";
    } else {
        payload = img;
        plen = size;
    }

    comp = xc__dom_comp_detect(payload, plen);
    if (comp != XC__COMP_NONE) {
        snprintf(what, sizeof(what), "%s payload",
                 xc__dom_comp_name(comp));
        rc = xc__dom_decompress(dom, comp, payload, plen, what, &buf,
                                &buflen);
        if (rc)
            goto out;
        payload = buf;
        plen = buflen;
    } else if (*wrap && (plen < 4 || memcmp(payload, "\177ELF", 4))) {
        rc = xc__dom_err(dom, -ENOEXEC,
                         "kernel %s: bzImage payload is in no known "
                         "format (first bytes %02x %02x %02x %02x)",
                         dom->kernel.name,
                         plen > 0 ? payload[0] : 0, plen > 1 ? payload[1] : 0,
                         plen > 2 ? payload[2] : 0, plen > 3 ? payload[3] : 0);
        goto out;
    }

    rc = xc__dom_elf_parse(dom, payload, plen, dom->kernel.name, &dom->elf);
    if (rc)
        goto out;

    if (*wrap || comp != XC__COMP_NONE)
        snprintf(dom->format, sizeof(dom->format), "%s%s%s", wrap,
                 *wrap && comp != XC__COMP_NONE ? "+" : "",
                 comp != XC__COMP_NONE ? xc__dom_comp_name(comp) : "");
    else
        snprintf(dom->format, sizeof(dom->format), "ELF%u",
                 dom->elf.elfclass);
    dom->elf_buf = buf;
    dom->elf_img = payload;
    dom->elf_size = plen;
    buf = NULL;
    dom->parsed = true;

    rc = check_fits(dom, dom->mem_bytes, true);
    if (rc) {
        drop_parse(dom);
        goto out;
    }
    if (dom->mem_ready) {
        rc = check_segs_in_ram(dom, &dom->plat);
        if (rc) {
            drop_parse(dom);
            goto out;
        }
    }
    xc__dom_log(dom, XTL_DETAIL, "kernel %s: %s, %u segments at 0x%llx-"
                "0x%llx, PVH entry 0x%x", dom->kernel.name, dom->format,
                dom->elf.nr_segs, (unsigned long long)dom->elf.pstart,
                (unsigned long long)dom->elf.pend, dom->elf.phys32_entry);
    rc = 0;

out:
    free(buf);
    return rc;
}

int xc_dom_mem_init(struct xc_dom_image *dom, unsigned int mem_mb)
{
    uint64_t bytes = (uint64_t)mem_mb << 20;
    int rc;

    if (mem_mb == 0)
        return xc__dom_err(dom, -EINVAL, "guest memory size is 0");
    rc = check_fits(dom, bytes, true);
    if (rc)
        return rc;
    dom->mem_bytes = bytes;
    return 0;
}

/* ------------------------------------------------------------ memory */

int xc__dom_attach_memory(struct xc_dom_image *dom,
                          const struct xc__dom_memops *ops, void *priv,
                          const struct xc__dom_platform *plat)
{
    struct xc__dom_platform norm;
    int rc;

    if (dom->mem_ready)
        return xc__dom_err(dom, -EINVAL, "guest memory already attached");
    rc = xc__dom_memmap_normalise(dom, plat->ranges, plat->nr_ranges,
                                  &norm);
    if (rc)
        return rc;
    norm.rsdp_paddr = plat->rsdp_paddr;
    rc = check_fits(dom, xc__dom_memmap_low_ram(&norm), false);
    if (rc)
        return rc;
    rc = check_segs_in_ram(dom, &norm);
    if (rc)
        return rc;
    dom->plat = norm;
    dom->memops = ops;
    dom->mem_priv = priv;
    dom->mem_ready = true;
    return 0;
}

struct buffer_mem {
    uint8_t *buf;
    size_t size;
};

static void *buffer_map(struct xc_dom_image *dom, uint64_t paddr,
                        uint64_t size)
{
    struct buffer_mem *bm = dom->mem_priv;

    if (paddr > bm->size || size > bm->size - paddr) {
        xc__dom_err(dom, -EFAULT, "guest range 0x%llx+0x%llx is outside "
                    "the %zu-byte buffer", (unsigned long long)paddr,
                    (unsigned long long)size, bm->size);
        return NULL;
    }
    return bm->buf + paddr;
}

static void buffer_release(struct xc_dom_image *dom)
{
    free(dom->mem_priv);
    dom->mem_priv = NULL;
}

static const struct xc__dom_memops buffer_ops = {
    .map = buffer_map,
    .release = buffer_release,
};

int xc__dom_attach_buffer(struct xc_dom_image *dom, void *buf, size_t size,
                          const struct xc__dom_platform *plat)
{
    struct xc__dom_platform one = { 0 };
    struct buffer_mem *bm;
    int rc;

    if (!plat) {
        one.nr_ranges = 1;
        one.ranges[0].addr = 0;
        one.ranges[0].size = size;
        one.ranges[0].type = XC__HVM_MEMMAP_RAM;
        plat = &one;
    }
    bm = malloc(sizeof(*bm));
    if (!bm)
        return xc__dom_err(dom, -ENOMEM, "out of memory");
    bm->buf = buf;
    bm->size = size;
    rc = xc__dom_attach_memory(dom, &buffer_ops, bm, plat);
    if (rc)
        free(bm);
    return rc;
}

/* ------------------------------------------------------------ results */

int xc_dom_get_info(const struct xc_dom_image *dom,
                    struct xc_dom_info *info_r)
{
    uint32_t i;

    if (!dom->parsed)
        return -EINVAL;
    memset(info_r, 0, sizeof(*info_r));
    info_r->kernel_format = dom->format;
    info_r->kernel_pstart = dom->elf.pstart;
    info_r->kernel_pend = dom->elf.pend;
    info_r->phys32_entry = dom->elf.phys32_entry;
    info_r->nr_segments = dom->elf.nr_segs;
    info_r->nr_modules = dom->nr_modules;
    for (i = 0; i < dom->nr_modules; i++)
        info_r->module_size[i] = dom->modules[i].size;
    if (!dom->built)
        return 0;
    info_r->start_info_paddr = dom->start_info_paddr;
    info_r->cmdline_paddr = dom->cmdline_paddr;
    info_r->memmap_paddr = dom->memmap_paddr;
    info_r->memmap_entries = dom->memmap_entries;
    for (i = 0; i < dom->nr_modules; i++)
        info_r->module_paddr[i] = dom->module_paddr[i];
    return 0;
}

int xc_dom_kernel_elf(const struct xc_dom_image *dom, const void **elf_r,
                      size_t *len_r)
{
    if (!dom->parsed || !dom->elf_img)
        return -EINVAL;
    *elf_r = dom->elf_img;
    *len_r = dom->elf_size;
    return 0;
}
