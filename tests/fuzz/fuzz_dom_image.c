/*
 * fuzz_dom_image.c: libFuzzer target for the domain builder's kernel
 * parsing and loading (libs/ctrl/xc_dom_*.c but xc_dom_boot.c), on guest
 * memory that is a plain buffer: no core, no domain.
 *
 * Input: one byte of options, then the kernel.
 *   bit 0      the last 64 bytes are an initrd module, not kernel
 *   bits 1-2   guest memory: 2, 4, 16 or 64 MiB
 *   bit 3      a kernel command line
 * Whatever the bytes, the builder must answer 0 or a documented error
 * (-ENOEXEC, -ENOSPC, -EINVAL, -ENOMEM) with its message set, keep no
 * partial parse or build after a failure, and when it succeeds leave a
 * valid start info inside guest memory with every segment in RAM.
 * With FUZZ_VERBOSE set in the environment, each input's outcome is
 * printed on stderr (for reading reproducers and checking the seeds).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_dom_internal.h"

static void fail(const char *what, const struct xc_dom_image *dom)
{
    fprintf(stderr, "fuzz_dom_image: %s (last error: %s)\n", what,
            dom ? xc_dom_last_error(dom) : "");
    abort();
}

static void verbose(const struct xc_dom_image *dom, const char *step,
                    int rc)
{
    struct xc_dom_info info;

    if (!getenv("FUZZ_VERBOSE"))
        return;
    if (rc < 0) {
        fprintf(stderr, "fuzz_dom_image: %s: %d: %s\n", step, rc,
                xc_dom_last_error(dom));
        return;
    }
    xc_dom_get_info(dom, &info);
    fprintf(stderr, "fuzz_dom_image: built %s, %u segments at 0x%llx-"
            "0x%llx, entry 0x%x, %u modules, start info at 0x%llx\n",
            info.kernel_format, info.nr_segments,
            (unsigned long long)info.kernel_pstart,
            (unsigned long long)info.kernel_pend, info.phys32_entry,
            info.nr_modules, (unsigned long long)info.start_info_paddr);
}

static bool documented(int rc)
{
    return rc == -ENOEXEC || rc == -ENOSPC || rc == -EINVAL ||
           rc == -ENOMEM;
}

/* After a failure: an error message, and no partial result kept. */
static void failed_cleanly(const struct xc_dom_image *dom, int rc,
                           const char *step)
{
    char what[96];

    verbose(dom, step, rc);
    if (!documented(rc)) {
        snprintf(what, sizeof(what), "%s: undocumented error %d", step, rc);
        fail(what, dom);
    }
    if (!xc_dom_last_error(dom)[0]) {
        snprintf(what, sizeof(what), "%s failed without a message", step);
        fail(what, dom);
    }
}

static void check_built(const struct xc_dom_image *dom, const uint8_t *mem,
                        uint64_t size)
{
    struct xc__hvm_start_info si;
    struct xc_dom_info info;
    uint32_t i;

    if (xc_dom_get_info(dom, &info) < 0)
        fail("built, but no info", dom);
    if (!info.start_info_paddr ||
        info.start_info_paddr + sizeof(si) > size)
        fail("start info outside guest memory", dom);
    memcpy(&si, mem + info.start_info_paddr, sizeof(si));
    if (si.magic != XC__HVM_START_MAGIC || si.version != 1)
        fail("start info without its magic and version", dom);
    if (info.kernel_pstart >= info.kernel_pend || info.kernel_pend > size)
        fail("kernel segments outside guest memory", dom);
    if (si.nr_modules != info.nr_modules)
        fail("start info and info disagree on modules", dom);
    for (i = 0; i < info.nr_modules && i < XC_DOM_MAX_MODULES; i++)
        if (info.module_paddr[i] + info.module_size[i] > size)
            fail("module outside guest memory", dom);
    if (info.memmap_paddr + info.memmap_entries * 24ull > size)
        fail("memory map outside guest memory", dom);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned int mem_mb[4] = { 2, 4, 16, 64 };
    struct xc_dom_image *dom;
    struct xc_dom_info info;
    const uint8_t *kernel;
    size_t klen;
    uint8_t opt, *mem = NULL;
    uint64_t memsize;
    int rc;

    if (size < 1)
        return 0;
    opt = data[0];
    kernel = data + 1;
    klen = size - 1;
    memsize = (uint64_t)mem_mb[(opt >> 1) & 3] << 20;
    dom = xc__dom_alloc((opt & 8) ? "console=hvc0 root=/dev/xvda1" : NULL);
    if (!dom)
        return 0;
    if (xc_dom_mem_init(dom, mem_mb[(opt >> 1) & 3]) < 0)
        fail("mem_init of an empty image failed", dom);
    if ((opt & 1) && klen > 64) {
        rc = xc_dom_module_mem(dom, kernel + klen - 64, 64, "initrd");
        if (rc < 0)
            fail("adding a module failed", dom);
        klen -= 64;
    }
    rc = xc_dom_kernel_mem(dom, kernel, klen);
    if (rc < 0) {
        failed_cleanly(dom, rc, "kernel_mem");
        goto out;
    }
    rc = xc_dom_parse_image(dom);
    if (rc < 0) {
        failed_cleanly(dom, rc, "parse");
        if (xc_dom_get_info(dom, &info) != -EINVAL)
            fail("info of an image whose parse failed", dom);
        goto out;
    }
    if (xc_dom_get_info(dom, &info) < 0 || !info.nr_segments ||
        info.kernel_pstart >= info.kernel_pend || !info.kernel_format)
        fail("parsed, but the info is wrong", dom);
    mem = calloc(1, (size_t)memsize);
    if (!mem)
        goto out;
    rc = xc__dom_attach_buffer(dom, mem, (size_t)memsize, NULL);
    if (rc < 0) {
        failed_cleanly(dom, rc, "attach");
        goto out;
    }
    rc = xc_dom_build_image(dom);
    if (rc < 0) {
        failed_cleanly(dom, rc, "build");
        if (xc_dom_get_info(dom, &info) == 0 && info.start_info_paddr)
            fail("a failed build left a start info", dom);
        goto out;
    }
    check_built(dom, mem, memsize);
    verbose(dom, "build", 0);

out:
    xc_dom_release(dom);
    free(mem);
    return 0;
}
