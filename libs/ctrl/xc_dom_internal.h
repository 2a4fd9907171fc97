/*
 * xc_dom_internal.h - the domain builder's internals (never installed).
 *
 * Only xc_dom_boot.c talks to the control interface.  Every other
 * xc_dom_*.c file is pure: it sees guest memory through the two hooks of
 * struct xc__dom_memops, so the unit tests run it on a plain buffer
 * (xc__dom_attach_buffer).
 */
#ifndef XC_DOM_INTERNAL_H
#define XC_DOM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenguest.h"

#define XC__DOM_PAGE_SIZE    4096ULL
#define XC__DOM_4G           (1ULL << 32)
#define XC__DOM_MAX_SEGS     32
#define XC__DOM_MAX_RANGES   64
/* Largest decompressed kernel accepted. */
#define XC__DOM_DECOMP_MAX   (1024ULL << 20)

/* hvm_start_info and friends (Xen public/arch-x86/hvm/start_info.h). */
#define XC__HVM_START_MAGIC      0x336ec578U
#define XC__HVM_START_VERSION    1U
#define XC__HVM_MEMMAP_RAM       1U
#define XC__HVM_MEMMAP_RESERVED  2U
#define XC__HVM_MEMMAP_ACPI      3U
#define XC__HVM_MEMMAP_NVS       4U
#define XC__HVM_MEMMAP_UNUSABLE  5U
#define XC__HVM_MEMMAP_DISABLED  6U
#define XC__HVM_MEMMAP_PMEM      7U

struct xc__hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;        /* version 1 from here */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct xc__hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct xc__hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

_Static_assert(sizeof(struct xc__hvm_start_info) == 56, "start info");
_Static_assert(sizeof(struct xc__hvm_modlist_entry) == 32, "modlist");
_Static_assert(sizeof(struct xc__hvm_memmap_entry) == 24, "memmap");

/* Xen's ELF note type of the PVH 32-bit entry point. */
#define XC__ELFNOTE_PHYS32_ENTRY 18

/* ------------------------------------------------------------ types */

/* A kernel or module: file contents, mapped or malloc'd. */
struct xc__dom_blob {
    uint8_t *data;
    size_t size;
    bool mapped;                 /* munmap, else free */
    char *name;                  /* file name or "<memory>" */
    char *cmdline;               /* modules only; NULL: none */
};

/* A PT_LOAD segment of the kernel. */
struct xc__dom_seg {
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t offset;             /* in the ELF image */
};

struct xc__dom_elf {
    unsigned int elfclass;       /* 32 or 64 */
    uint32_t nr_segs;
    struct xc__dom_seg segs[XC__DOM_MAX_SEGS];   /* sorted by paddr */
    uint32_t phys32_entry;
    uint64_t pstart;
    uint64_t pend;
};

/* A range of the guest memory map; type is XC__HVM_MEMMAP_*. */
struct xc__dom_range {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

/* What the domain's platform says (from xc_domain_platform_info). */
struct xc__dom_platform {
    uint64_t rsdp_paddr;
    uint32_t nr_ranges;
    struct xc__dom_range ranges[XC__DOM_MAX_RANGES];
};

/*
 * Guest memory access.  map returns a writable pointer to size bytes at
 * guest physical paddr (valid until release), or NULL after setting the
 * error with xc__dom_err.  release drops every mapping; called by
 * xc_dom_release.
 */
struct xc__dom_memops {
    void *(*map)(struct xc_dom_image *dom, uint64_t paddr, uint64_t size);
    void (*release)(struct xc_dom_image *dom);
};

enum xc__dom_comp {
    XC__COMP_NONE,
    XC__COMP_GZIP,
    XC__COMP_BZIP2,
    XC__COMP_LZMA,
    XC__COMP_XZ,
    XC__COMP_LZO,
    XC__COMP_LZ4,
    XC__COMP_ZSTD,
};

/*
 * The image.  Inputs (set by the caller's calls), then what parsing
 * found, then guest memory and what building placed.
 *
 * States: empty -> (kernel set) -> parsed (xc_dom_parse_image) ->
 * memory attached (xc_dom_boot_mem_init or xc__dom_attach_buffer) ->
 * built (xc_dom_build_image) -> booted (xc_dom_boot_image).  Changing the
 * kernel drops the parse; changing modules or cmdline drops the build.
 */
struct xc_dom_image {
    /* inputs */
    xc_interface *xch;
    xentoollog_logger *lg;
    uint32_t domid;
    bool have_domid;
    char *cmdline;
    struct xc__dom_blob kernel;
    struct xc__dom_blob modules[XC_DOM_MAX_MODULES];
    uint32_t nr_modules;
    uint64_t mem_bytes;          /* xc_dom_mem_init; 0 = unknown */

    /* parse results */
    bool parsed;
    uint8_t *elf_buf;            /* decompressed ELF, or NULL */
    const uint8_t *elf_img;      /* elf_buf or the kernel blob */
    size_t elf_size;
    char format[32];
    struct xc__dom_elf elf;

    /* guest memory */
    const struct xc__dom_memops *memops;
    void *mem_priv;
    bool mem_ready;
    struct xc__dom_platform plat;

    /* build results */
    bool built;
    bool booted;
    uint64_t start_info_paddr;
    uint64_t cmdline_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint64_t module_paddr[XC_DOM_MAX_MODULES];

    char err[512];
};

/* ------------------------------------------------------------ core */

/* A new image with no logger and no interface (xc_dom_allocate wraps
 * it).  NULL with errno = ENOMEM. */
struct xc_dom_image *xc__dom_alloc(const char *cmdline);

/* Record (and log at XTL_ERROR) the failure; returns rc. */
int xc__dom_err(struct xc_dom_image *dom, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void xc__dom_log(struct xc_dom_image *dom, xentoollog_level level,
                 const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Attach guest memory: ops, their private data, and the platform (its
 * ranges are normalised, see xc__dom_memmap_normalise).  Checks the
 * parsed kernel against it when already parsed. */
int xc__dom_attach_memory(struct xc_dom_image *dom,
                          const struct xc__dom_memops *ops, void *priv,
                          const struct xc__dom_platform *plat);

/* Guest memory is buf (size bytes at guest physical 0..size): for tests
 * and dry runs.  plat NULL: one RAM range [0, size). */
int xc__dom_attach_buffer(struct xc_dom_image *dom, void *buf, size_t size,
                          const struct xc__dom_platform *plat);

/* ------------------------------------------------------------ memmap */

/*
 * Sort ranges, drop empty ones, cut RAM where any other type overlaps
 * it (the non-RAM range wins), merge adjacent RAM.  -EINVAL (error set)
 * if non-RAM ranges overlap each other, a range wraps, or there is no
 * RAM; -ENOSPC if the result has more than XC__DOM_MAX_RANGES entries.
 */
int xc__dom_memmap_normalise(struct xc_dom_image *dom,
                             const struct xc__dom_range *in, uint32_t n,
                             struct xc__dom_platform *out);

/* Whether [addr, addr + size) lies inside one RAM range. */
bool xc__dom_memmap_is_ram(const struct xc__dom_platform *plat,
                           uint64_t addr, uint64_t size);

/* RAM bytes below 4 GiB. */
uint64_t xc__dom_memmap_low_ram(const struct xc__dom_platform *plat);

/* ------------------------------------------------------------ kernel */

/* Whether the image starts with a bzImage setup header. */
bool xc__dom_bzimage_probe(const uint8_t *img, size_t size);

/* The compressed payload of a bzImage (a pointer into img). */
int xc__dom_bzimage_payload(struct xc_dom_image *dom, const uint8_t *img,
                            size_t size, const uint8_t **payload_r,
                            size_t *len_r);

/* Format by magic (XC__COMP_NONE: none recognised) and its name. */
enum xc__dom_comp xc__dom_comp_detect(const uint8_t *p, size_t n);
const char *xc__dom_comp_name(enum xc__dom_comp comp);

/* Decompress in (what names it in errors) into a new malloc'd buffer. */
int xc__dom_decompress(struct xc_dom_image *dom, enum xc__dom_comp comp,
                       const uint8_t *in, size_t inlen, const char *what,
                       uint8_t **out_r, size_t *outlen_r);

/* Check an ELF image and fill *elf.  name names it in errors. */
int xc__dom_elf_parse(struct xc_dom_image *dom, const uint8_t *img,
                      size_t size, const char *name,
                      struct xc__dom_elf *elf);

/* Copy the segments into guest memory and zero their bss. */
int xc__dom_elf_load(struct xc_dom_image *dom, const uint8_t *img,
                     const struct xc__dom_elf *elf);

#endif /* XC_DOM_INTERNAL_H */
