/*
 * xenguest.h - the domain builder of libxenctrl.
 *
 * The builder puts a PVH kernel into a domain's memory and sets up the
 * state it starts from: the ELF segments at their physical addresses,
 * the initrd and other modules, the command line, an hvm_start_info
 * (version 1, with the e820 memory map and the ACPI RSDP address) and
 * vCPU 0's registers (32-bit protected mode, paging off, eip = the
 * kernel's XEN_ELFNOTE_PHYS32_ENTRY, ebx = the start info address).
 *
 * Kernels: an ELF32 or ELF64 image with a XEN_ELFNOTE_PHYS32_ENTRY note
 * (e.g. vmlinux), or a bzImage (boot protocol 2.08 or later) whose
 * payload holds such an ELF compressed with gzip, bzip2, lzma, xz, lzo
 * (lzop stream), lz4 (legacy frame) or zstd.  A bare compressed ELF is
 * accepted as well.
 *
 * Names follow Xen's xenguest.h.  Calling sequence:
 *
 *     dom = xc_dom_allocate(xch, cmdline, NULL);
 *     xc_dom_kernel_file(dom, "/boot/vmlinuz");
 *     xc_dom_module_file(dom, "/boot/initrd.img", NULL);   optional
 *     xc_dom_boot_xen_init(dom, xch, domid);   domain made by the caller
 *     xc_dom_parse_image(dom);
 *     xc_dom_mem_init(dom, memory_mb);
 *     xc_dom_boot_mem_init(dom);
 *     xc_dom_build_image(dom);
 *     xc_dom_boot_image(dom);
 *     xc_dom_release(dom);
 *     xc_domain_unpause(xch, domid);
 *
 * The domain must have been created paused (xc_domain_create) and stay
 * paused until xc_dom_boot_image() returned.
 *
 * Conventions:
 *  - Functions returning int return 0 on success and a negative errno
 *    value on failure.  -EINVAL: a call out of order or a bad argument;
 *    -ENOEXEC: the kernel is not a loadable PVH image (not ELF, bad
 *    header, truncated, corrupt compressed data, no PVH entry note);
 *    -ENOSPC: the kernel or a module does not fit the guest memory;
 *    -ENOENT, -EACCES, ...: from opening a file; -ENOMEM: out of memory;
 *    others: from the control interface (see xenctrl.h).
 *  - Every failure is logged at XTL_ERROR through the interface's
 *    dombuild logger (xc_interface_open), naming the file, the sizes or
 *    addresses and the reason; xc_dom_last_error() returns the same text.
 *  - On failure the image object stays valid and holds no partial
 *    result of the failed step (a failed xc_dom_parse_image() leaves the
 *    image unparsed, a failed build leaves it unbuilt); the step can be
 *    retried after fixing its input, or the object released.  Guest
 *    memory written by a failed xc_dom_build_image() is not restored:
 *    the CALLER MUST DESTROY THE DOMAIN (xc_domain_destroy) when any
 *    step fails; the builder never does.
 *  - An image object is used by one thread at a time.
 */
#ifndef XENGUEST_H
#define XENGUEST_H

#include <stddef.h>
#include <stdint.h>

#include "xenctrl.h"

/* Most modules (the initrd is module 0) one image can carry. */
#define XC_DOM_MAX_MODULES 4

struct xc_dom_image;

/*
 * A new, empty image.  cmdline (may be NULL) is the kernel command line;
 * features is accepted for source compatibility with Xen and ignored
 * (may be NULL).  The builder logs through xch's dombuild logger; xch
 * may be NULL for an image that is only parsed (nothing is logged then).
 * Returns NULL with errno = ENOMEM.  Free with xc_dom_release().
 */
struct xc_dom_image *xc_dom_allocate(xc_interface *xch, const char *cmdline,
                                     const char *features);

/* Frees the image and everything it holds, unmaps guest memory it
 * mapped.  The domain itself is untouched.  NULL is accepted. */
void xc_dom_release(struct xc_dom_image *dom);

/* Replace the kernel command line (NULL: none). */
int xc_dom_cmdline(struct xc_dom_image *dom, const char *cmdline);

/*
 * The kernel, from a file (mapped read-only) or from memory (copied).
 * A second call replaces the first.  Errors: -ENOENT and other open
 * errors, -ENOEXEC an empty file.
 */
int xc_dom_kernel_file(struct xc_dom_image *dom, const char *filename);
int xc_dom_kernel_mem(struct xc_dom_image *dom, const void *mem,
                      size_t memsize);

/*
 * Add a module (the first one added is the initrd), from a file (mapped
 * read-only) or from memory (copied), with its own command line
 * (NULL: none).  Modules are loaded as they are (not decompressed).
 * -ENOSPC after XC_DOM_MAX_MODULES modules.
 */
int xc_dom_module_file(struct xc_dom_image *dom, const char *filename,
                       const char *cmdline);
int xc_dom_module_mem(struct xc_dom_image *dom, const void *mem,
                      size_t memsize, const char *cmdline);

/*
 * Recognise and check the kernel: unwrap a bzImage, decompress, check
 * the ELF (headers, segments, notes) and find the PVH entry point.
 * Nothing is written anywhere.  -ENOEXEC with the reason logged.
 */
int xc_dom_parse_image(struct xc_dom_image *dom);

/*
 * The kernel as an ELF image, after xc_dom_parse_image(): a bzImage's
 * payload decompressed, or the (decompressed) file itself.  For booting
 * the same kernel elsewhere (qemu's -kernel takes an ELF with a PVH
 * note).  *elf_r stays valid until the kernel changes or dom is
 * released.  -EINVAL before a successful parse.
 */
int xc_dom_kernel_elf(const struct xc_dom_image *dom, const void **elf_r,
                      size_t *len_r);

/*
 * The guest's RAM size in MiB, for early checks: the kernel's segments
 * and every module must fit below it (-ENOSPC otherwise).  The domain's
 * real memory map (xc_dom_boot_mem_init) is what placement uses.
 */
int xc_dom_mem_init(struct xc_dom_image *dom, unsigned int mem_mb);

/* Bind the image to a domain created (paused) by the caller. */
int xc_dom_boot_xen_init(struct xc_dom_image *dom, xc_interface *xch,
                         uint32_t domid);

/* Read the domain's memory map and RSDP address (xenctrl's
 * xc_domain_platform_info) and check the image fits it. */
int xc_dom_boot_mem_init(struct xc_dom_image *dom);

/*
 * Write the image into guest memory: the kernel segments (bss zeroed),
 * the modules, the command lines, the memory map and the start info,
 * each page aligned in RAM below 4 GiB and clear of the kernel.  All
 * placement is decided (and can fail with -ENOSPC) before the first
 * byte is written.
 */
int xc_dom_build_image(struct xc_dom_image *dom);

/* Set vCPU 0's entry state (xc_vcpu_setcontext, XC_VCPU_MODE_PVH32,
 * eip = PVH entry, ebx = start info).  The domain stays paused. */
int xc_dom_boot_image(struct xc_dom_image *dom);

/* The message of the last failure ("" if none); valid until the next
 * call on dom. */
const char *xc_dom_last_error(const struct xc_dom_image *dom);

/* ------------------------------------------------------------ results */

/* What parsing and building found, for logs and tests. */
struct xc_dom_info {
    const char *kernel_format;   /* "ELF64", "bzImage+xz", ... */
    uint64_t kernel_pstart;      /* lowest loaded physical address */
    uint64_t kernel_pend;        /* end of the highest segment */
    uint32_t phys32_entry;       /* XEN_ELFNOTE_PHYS32_ENTRY */
    uint32_t nr_segments;        /* PT_LOAD segments loaded */
    uint64_t start_info_paddr;   /* 0 until built */
    uint64_t cmdline_paddr;      /* 0 if no command line */
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t nr_modules;
    uint64_t module_paddr[XC_DOM_MAX_MODULES];
    uint64_t module_size[XC_DOM_MAX_MODULES];
};

/* Fill *info_r.  -EINVAL before xc_dom_parse_image(). */
int xc_dom_get_info(const struct xc_dom_image *dom,
                    struct xc_dom_info *info_r);

#endif /* XENGUEST_H */
