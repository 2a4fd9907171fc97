/*
 * check_dom.c - the domain builder on buffer-backed guest memory: ELF
 * loading, the PVH entry note, hvm_start_info, placement, the memory
 * map, and every kind of bad input.
 */
#include "dom_testlib.h"

#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MiB (1ULL << 20)
#define POISON 0xa5

static struct test_logger tl;

/* Guest memory: size bytes of POISON, so zeroed bss shows. */
static uint8_t *guest(size_t size)
{
    uint8_t *buf = malloc(size);

    ck_assert_ptr_nonnull(buf);
    memset(buf, POISON, size);
    return buf;
}

static void check_segments(const uint8_t *mem, const uint8_t *img,
                           const struct telf *t)
{
    unsigned int i;
    uint64_t j;

    for (i = 0; i < t->nsegs; i++) {
        const struct telf_seg *s = &t->segs[i];

        ck_assert_msg(!memcmp(mem + s->paddr, img + s->offset, s->filesz),
                      "segment %u bytes differ from the ELF", i);
        for (j = s->filesz; j < s->memsz; j++)
            ck_assert_msg(mem[s->paddr + j] == 0,
                          "bss byte 0x%llx of segment %u not zeroed",
                          (unsigned long long)j, i);
    }
}

/* [a, a+al) and [b, b+bl) overlap */
static bool overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
    return a < b + bl && b < a + al;
}

struct placed {
    uint64_t at, len;
};

/* Everything the builder placed: page aligned, in RAM below 4 GiB, off
 * the kernel, not overlapping each other. */
static void check_placement(const struct xc_dom_image *dom,
                            const struct placed *p, unsigned int n)
{
    unsigned int i, j;

    for (i = 0; i < n; i++) {
        ck_assert_msg(p[i].at % 4096 == 0, "piece %u at 0x%llx unaligned",
                      i, (unsigned long long)p[i].at);
        ck_assert_uint_lt(p[i].at + p[i].len, 1ULL << 32);
        ck_assert_msg(xc__dom_memmap_is_ram(&dom->plat, p[i].at, p[i].len),
                      "piece %u at 0x%llx not in RAM", i,
                      (unsigned long long)p[i].at);
        ck_assert_msg(!overlap(p[i].at, p[i].len, dom->elf.pstart,
                               dom->elf.pend - dom->elf.pstart),
                      "piece %u overlaps the kernel", i);
        for (j = 0; j < i; j++)
            ck_assert_msg(!overlap(p[i].at, p[i].len, p[j].at, p[j].len),
                          "pieces %u and %u overlap", i, j);
    }
}

static struct xc__hvm_start_info read_si(const uint8_t *mem,
                                         const struct xc_dom_info *info)
{
    struct xc__hvm_start_info si;

    memcpy(&si, mem + info->start_info_paddr, sizeof(si));
    ck_assert_uint_eq(si.magic, 0x336ec578);
    ck_assert_uint_eq(si.version, 1);
    ck_assert_uint_eq(si.flags, 0);
    ck_assert_uint_eq(si.reserved, 0);
    return si;
}

/* Parse, attach size bytes of buffer (plat may be NULL) and build. */
static uint8_t *build_buf(struct xc_dom_image *dom, size_t size,
                          const struct xc__dom_platform *plat)
{
    uint8_t *mem = guest(size);

    ck_assert_int_eq(xc_dom_parse_image(dom), 0);
    ck_assert_int_eq(xc__dom_attach_buffer(dom, mem, size, plat), 0);
    ck_assert_msg(xc_dom_build_image(dom) == 0, "build: %s",
                  xc_dom_last_error(dom));
    return mem;
}

/* ------------------------------------------------------------ loading */

START_TEST(test_elf64_load)
{
    struct telf t;
    struct xc_dom_image *dom = test_dom(&tl, "console=ttyS0");
    struct xc_dom_info info;
    size_t len;
    uint8_t *img, *mem;

    telf_default(&t, 64, 20000, 70000);
    t.other_notes = true;
    img = telf_build(&t, &len);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    mem = build_buf(dom, 16 * MiB, NULL);
    check_segments(mem, img, &t);

    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    ck_assert_str_eq(info.kernel_format, "ELF64");
    ck_assert_uint_eq(info.phys32_entry, (1 << 20) + 0x10);
    ck_assert_uint_eq(info.kernel_pstart, 1 << 20);
    ck_assert_uint_eq(info.kernel_pend, (1 << 20) + 70000);
    ck_assert_uint_eq(info.nr_segments, 1);
    ck_assert_int_eq(tl.errors, 0);
    xc_dom_release(dom);
    free(mem);
    free(img);
}
END_TEST

START_TEST(test_elf32_load)
{
    struct telf t;
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    struct xc__hvm_start_info si;
    size_t len;
    uint8_t *img, *mem;

    telf_default(&t, 32, 5000, 5000);
    t.nsegs = 2;
    t.segs[1].paddr = 3 * MiB;
    t.segs[1].filesz = 100;
    t.segs[1].memsz = 9000;
    t.entry = 3 * MiB + 50;
    img = telf_build(&t, &len);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    mem = build_buf(dom, 8 * MiB, NULL);
    check_segments(mem, img, &t);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    ck_assert_str_eq(info.kernel_format, "ELF32");
    ck_assert_uint_eq(info.phys32_entry, 3 * MiB + 50);
    ck_assert_uint_eq(info.nr_segments, 2);
    /* no cmdline, no modules */
    si = read_si(mem, &info);
    ck_assert_uint_eq(si.cmdline_paddr, 0);
    ck_assert_uint_eq(si.nr_modules, 0);
    ck_assert_uint_eq(si.modlist_paddr, 0);
    ck_assert_uint_eq(si.memmap_entries, 1);
    xc_dom_release(dom);
    free(mem);
    free(img);
}
END_TEST

/* Notes with a 4-byte value in an ELF64, and segments listed out of
 * address order. */
START_TEST(test_elf64_note4_unsorted)
{
    struct telf t;
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    size_t len;
    uint8_t *img, *mem;

    telf_default(&t, 64, 4096, 8192);
    t.note_descsz = 4;
    t.nsegs = 3;
    t.segs[0].paddr = 6 * MiB;
    t.segs[1] = (struct telf_seg){ 2 * MiB, 3000, 3000, 0 };
    t.segs[2] = (struct telf_seg){ 4 * MiB, 0, 4096, 0 };
    t.entry = 2 * MiB + 8;
    img = telf_build(&t, &len);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    mem = build_buf(dom, 16 * MiB, NULL);
    check_segments(mem, img, &t);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    ck_assert_uint_eq(info.kernel_pstart, 2 * MiB);
    ck_assert_uint_eq(info.kernel_pend, 6 * MiB + 8192);
    ck_assert_uint_eq(info.phys32_entry, 2 * MiB + 8);
    xc_dom_release(dom);
    free(mem);
    free(img);
}
END_TEST

/* ------------------------------------------------------------ start info */

START_TEST(test_start_info)
{
    static const char cmdline[] = "console=hvc0 root=/dev/xvda1 quiet";
    uint8_t initrd[10000], extra[300];
    struct xc__dom_platform plat = { 0 };
    struct xc__hvm_modlist_entry ml[2];
    struct xc__hvm_memmap_entry mm[8];
    struct xc__hvm_start_info si;
    struct xc_dom_image *dom = test_dom(&tl, cmdline);
    struct xc_dom_info info;
    struct placed p[8];
    struct telf t;
    size_t len, i;
    uint8_t *img, *mem;

    for (i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i * 7);
    memset(extra, 0x3c, sizeof(extra));
    /* 48M of RAM declared as one range, with the BIOS hole, a reserved
     * page, ACPI tables (holding the RSDP) at 32M and the LAPIC page
     * cut out of it. */
    plat.rsdp_paddr = 0x1ff0000;
    plat.nr_ranges = 5;
    plat.ranges[0] = (struct xc__dom_range){ 0, 48 * MiB, 1 };
    plat.ranges[1] = (struct xc__dom_range){ 0xa0000, 0x60000, 2 };
    plat.ranges[2] = (struct xc__dom_range){ 0x1ff0000, 0x10000, 3 };
    plat.ranges[3] = (struct xc__dom_range){ 0x1e00000, 0x1000, 2 };
    plat.ranges[4] = (struct xc__dom_range){ 0xfee00000, 0x1000, 2 };

    telf_default(&t, 64, 50000, 200000);
    img = telf_build(&t, &len);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    ck_assert_int_eq(xc_dom_module_mem(dom, initrd, sizeof(initrd),
                                       "initrd-args"), 0);
    ck_assert_int_eq(xc_dom_module_mem(dom, extra, sizeof(extra), NULL), 0);
    ck_assert_int_eq(xc_dom_mem_init(dom, 48), 0);
    mem = build_buf(dom, 48 * MiB, &plat);
    check_segments(mem, img, &t);

    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    si = read_si(mem, &info);
    ck_assert_uint_eq(si.rsdp_paddr, 0x1ff0000);
    ck_assert_uint_eq(si.cmdline_paddr, info.cmdline_paddr);
    ck_assert_str_eq((const char *)mem + si.cmdline_paddr, cmdline);
    ck_assert_uint_eq(si.nr_modules, 2);
    memcpy(ml, mem + si.modlist_paddr, sizeof(ml));
    ck_assert_uint_eq(ml[0].size, sizeof(initrd));
    ck_assert_uint_eq(ml[0].paddr, info.module_paddr[0]);
    ck_assert(!memcmp(mem + ml[0].paddr, initrd, sizeof(initrd)));
    ck_assert_str_eq((const char *)mem + ml[0].cmdline_paddr,
                     "initrd-args");
    ck_assert_uint_eq(ml[1].size, sizeof(extra));
    ck_assert(!memcmp(mem + ml[1].paddr, extra, sizeof(extra)));
    ck_assert_uint_eq(ml[1].cmdline_paddr, 0);
    ck_assert_uint_eq(ml[0].reserved, 0);

    /* RAM minus the reserved ranges, sorted, Xen's type numbers. */
    ck_assert_uint_eq(si.memmap_entries, 8);
    ck_assert_uint_eq(info.memmap_entries, 8);
    memcpy(mm, mem + si.memmap_paddr, sizeof(mm));
    {
        static const struct { uint64_t a, s; uint32_t ty; } want[8] = {
            { 0, 0xa0000, 1 },
            { 0xa0000, 0x60000, 2 },
            { 0x100000, 0x1e00000 - 0x100000, 1 },
            { 0x1e00000, 0x1000, 2 },
            { 0x1e01000, 0x1ff0000 - 0x1e01000, 1 },
            { 0x1ff0000, 0x10000, 3 },
            { 0x2000000, 16 * MiB, 1 },
            { 0xfee00000, 0x1000, 2 },
        };

        for (i = 0; i < 8; i++) {
            ck_assert_msg(mm[i].addr == want[i].a && mm[i].size == want[i].s
                          && mm[i].type == want[i].ty,
                          "memmap[%zu] = 0x%llx+0x%llx type %u", i,
                          (unsigned long long)mm[i].addr,
                          (unsigned long long)mm[i].size, mm[i].type);
            ck_assert_uint_eq(mm[i].reserved, 0);
        }
    }

    p[0] = (struct placed){ si.cmdline_paddr, sizeof(cmdline) };
    p[1] = (struct placed){ ml[0].paddr, ml[0].size };
    p[2] = (struct placed){ ml[0].cmdline_paddr, 12 };
    p[3] = (struct placed){ ml[1].paddr, ml[1].size };
    p[4] = (struct placed){ si.memmap_paddr, 8 * sizeof(mm[0]) };
    p[5] = (struct placed){ info.start_info_paddr,
                            sizeof(si) + 2 * sizeof(ml[0]) };
    check_placement(dom, p, 6);
    /* Placed above the kernel, as Xen does. */
    ck_assert_uint_ge(ml[0].paddr, info.kernel_pend);
    xc_dom_release(dom);
    free(mem);
    free(img);
}
END_TEST

/* The kernel sits at the top of RAM: pieces go below it. */
START_TEST(test_placement_below_kernel)
{
    uint8_t initrd[50000];
    struct xc_dom_image *dom = test_dom(&tl, "x");
    struct xc_dom_info info;
    struct xc__hvm_start_info si;
    struct placed p[3];
    struct telf t;
    size_t len;
    uint8_t *img, *mem;

    memset(initrd, 0x11, sizeof(initrd));
    telf_default(&t, 64, 4096, 4 * MiB - 4096);
    t.segs[0].paddr = 4 * MiB;
    t.entry = 4 * MiB;
    img = telf_build(&t, &len);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    ck_assert_int_eq(xc_dom_module_mem(dom, initrd, sizeof(initrd), NULL),
                     0);
    mem = build_buf(dom, 8 * MiB - 4096, NULL);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    si = read_si(mem, &info);
    p[0] = (struct placed){ info.module_paddr[0], sizeof(initrd) };
    p[1] = (struct placed){ si.cmdline_paddr, 2 };
    p[2] = (struct placed){ info.start_info_paddr, 88 };
    check_placement(dom, p, 3);
    ck_assert_uint_lt(info.module_paddr[0], 4 * MiB);
    ck_assert(!memcmp(mem + info.module_paddr[0], initrd, sizeof(initrd)));
    xc_dom_release(dom);
    free(mem);
    free(img);
}
END_TEST

/* ------------------------------------------------------------ memmap */

START_TEST(test_memmap_normalise)
{
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc__dom_platform out;
    struct xc__dom_range in[4];

    /* Two adjacent RAM ranges merge; an unknown type becomes reserved;
     * an empty range is dropped. */
    in[0] = (struct xc__dom_range){ 0, MiB, 1 };
    in[1] = (struct xc__dom_range){ MiB, MiB, 1 };
    in[2] = (struct xc__dom_range){ 4 * MiB, MiB, 99 };
    in[3] = (struct xc__dom_range){ 9 * MiB, 0, 2 };
    ck_assert_int_eq(xc__dom_memmap_normalise(dom, in, 4, &out), 0);
    ck_assert_uint_eq(out.nr_ranges, 2);
    ck_assert_uint_eq(out.ranges[0].size, 2 * MiB);
    ck_assert_uint_eq(out.ranges[1].type, 2);
    ck_assert_uint_eq(xc__dom_memmap_low_ram(&out), 2 * MiB);
    ck_assert(xc__dom_memmap_is_ram(&out, MiB - 10, 20));
    ck_assert(!xc__dom_memmap_is_ram(&out, 2 * MiB - 10, 20));

    /* Reserved ranges overlapping each other: refused. */
    in[0] = (struct xc__dom_range){ 0, 8 * MiB, 1 };
    in[1] = (struct xc__dom_range){ MiB, MiB, 2 };
    in[2] = (struct xc__dom_range){ MiB + 4096, MiB, 3 };
    ck_assert_int_eq(xc__dom_memmap_normalise(dom, in, 3, &out), -EINVAL);
    ck_assert_ptr_nonnull(strstr(tl.last, "overlap"));

    /* Only reserved: no RAM. */
    in[0] = (struct xc__dom_range){ 0, MiB, 2 };
    ck_assert_int_eq(xc__dom_memmap_normalise(dom, in, 1, &out), -EINVAL);
    ck_assert_ptr_nonnull(strstr(tl.last, "no RAM"));

    /* A range that wraps. */
    in[0] = (struct xc__dom_range){ ~0ULL - 10, 100, 1 };
    ck_assert_int_eq(xc__dom_memmap_normalise(dom, in, 1, &out), -EINVAL);
    xc_dom_release(dom);
}
END_TEST

/* ------------------------------------------------------------ bad input */

/* Parse img; expect rc and a message containing want. */
static void expect_parse_error(const uint8_t *img, size_t len, int rc,
                               const char *want)
{
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    int r;

    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    r = xc_dom_parse_image(dom);
    ck_assert_msg(r == rc, "parse returned %d (want %d): %s", r, rc,
                  xc_dom_last_error(dom));
    ck_assert_msg(strstr(xc_dom_last_error(dom), want),
                  "error \"%s\" lacks \"%s\"", xc_dom_last_error(dom), want);
    ck_assert_str_eq(tl.last, xc_dom_last_error(dom));
    ck_assert_uint_eq(tl.errors, 1);
    /* Nothing half-parsed is left. */
    ck_assert_int_eq(xc_dom_get_info(dom, &info), -EINVAL);
    ck_assert_int_eq(xc_dom_build_image(dom), -EINVAL);
    xc_dom_release(dom);
}

START_TEST(test_not_elf)
{
    static const char text[] = "#!/bin/sh\necho this is no kernel\n";

    expect_parse_error((const uint8_t *)text, sizeof(text), -ENOEXEC,
                       "kernel <memory> is not an ELF image");
}
END_TEST

START_TEST(test_no_pvh_note)
{
    struct telf t;
    size_t len;
    uint8_t *img;

    telf_default(&t, 64, 4096, 4096);
    t.note = false;
    t.other_notes = true;
    img = telf_build(&t, &len);
    expect_parse_error(img, len, -ENOEXEC,
                       "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) in "
                       "<memory>");
    free(img);
}
END_TEST

/* Every proper prefix of a kernel fails to parse, cleanly. */
START_TEST(test_truncated_every_length)
{
    struct telf t;
    size_t len, cut;
    uint8_t *img;

    telf_default(&t, _i ? 64 : 32, 3000, 3000);
    img = telf_build(&t, &len);
    for (cut = 0; cut < len; cut++) {
        struct xc_dom_image *dom = test_dom(&tl, NULL);
        int r;

        if (cut == 0) {
            ck_assert_int_eq(xc_dom_kernel_mem(dom, img, cut), -ENOEXEC);
            xc_dom_release(dom);
            continue;
        }
        ck_assert_int_eq(xc_dom_kernel_mem(dom, img, cut), 0);
        r = xc_dom_parse_image(dom);
        ck_assert_msg(r == -ENOEXEC, "prefix of %zu bytes: rc %d", cut, r);
        ck_assert_str_ne(xc_dom_last_error(dom), "");
        xc_dom_release(dom);
    }
    free(img);
}
END_TEST

START_TEST(test_truncated_message)
{
    struct telf t;
    size_t len;
    uint8_t *img;

    telf_default(&t, 64, 3000, 3000);
    img = telf_build(&t, &len);
    expect_parse_error(img, len - 1, -ENOEXEC,
                       "runs past the end of the file");
    expect_parse_error(img, 40, -ENOEXEC, "truncated ELF header");
    free(img);
}
END_TEST

static uint8_t *two_segs(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz,
                         size_t *len)
{
    struct telf t;

    telf_default(&t, 64, 100, asz);
    t.segs[0].paddr = a;
    t.entry = a;
    t.nsegs = 2;
    t.segs[1] = (struct telf_seg){ b, 100, bsz, 0 };
    return telf_build(&t, len);
}

START_TEST(test_overlapping_segments)
{
    size_t len;
    uint8_t *img = two_segs(MiB, 8192, MiB + 4096, 4096, &len);

    expect_parse_error(img, len, -ENOEXEC, "overlap");
    free(img);
}
END_TEST

START_TEST(test_bad_segments)
{
    struct telf t;
    size_t len;
    uint8_t *img;
    Elf64_Phdr ph;

    /* filesz > memsz */
    telf_default(&t, 64, 4096, 4096);
    img = telf_build(&t, &len);
    memcpy(&ph, img + sizeof(Elf64_Ehdr), sizeof(ph));
    ph.p_memsz = 100;
    memcpy(img + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
    expect_parse_error(img, len, -ENOEXEC, "more file bytes");
    free(img);

    /* offset beyond the file */
    img = telf_build(&t, &len);
    memcpy(&ph, img + sizeof(Elf64_Ehdr), sizeof(ph));
    ph.p_offset = ~0ULL - 10;
    memcpy(img + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
    expect_parse_error(img, len, -ENOEXEC, "runs past the end");
    free(img);

    /* above 4 GiB */
    img = two_segs(MiB, 4096, (1ULL << 32) - 4096, 8192, &len);
    expect_parse_error(img, len, -ENOEXEC, "below 4 GiB");
    free(img);

    /* PVH entry outside the segments */
    telf_default(&t, 64, 4096, 4096);
    t.entry = 8 * MiB;
    img = telf_build(&t, &len);
    expect_parse_error(img, len, -ENOEXEC, "PVH entry 0x800000 is not "
                       "inside a loaded segment");
    free(img);

    /* a 2-byte note value */
    telf_default(&t, 64, 4096, 4096);
    t.note_descsz = 2;
    img = telf_build(&t, &len);
    expect_parse_error(img, len, -ENOEXEC, "2-byte value");
    free(img);
}
END_TEST

START_TEST(test_bad_headers)
{
    struct telf t;
    size_t len;
    uint8_t *img;
    uint16_t v;

    telf_default(&t, 64, 4096, 4096);
    img = telf_build(&t, &len);
    img[EI_DATA] = ELFDATA2MSB;
    expect_parse_error(img, len, -ENOEXEC, "not a little-endian ELF");
    img[EI_DATA] = ELFDATA2LSB;
    img[EI_CLASS] = 7;
    expect_parse_error(img, len, -ENOEXEC, "unknown ELF class 7");
    img[EI_CLASS] = ELFCLASS64;
    v = ET_DYN;
    memcpy(img + offsetof(Elf64_Ehdr, e_type), &v, 2);
    expect_parse_error(img, len, -ENOEXEC, "not an executable");
    v = ET_EXEC;
    memcpy(img + offsetof(Elf64_Ehdr, e_type), &v, 2);
    v = EM_AARCH64;
    memcpy(img + offsetof(Elf64_Ehdr, e_machine), &v, 2);
    expect_parse_error(img, len, -ENOEXEC, "not an x86 image");
    v = EM_X86_64;
    memcpy(img + offsetof(Elf64_Ehdr, e_machine), &v, 2);
    v = 1000;
    memcpy(img + offsetof(Elf64_Ehdr, e_phnum), &v, 2);
    expect_parse_error(img, len, -ENOEXEC, "program headers");
    free(img);
}
END_TEST

START_TEST(test_segment_above_memory)
{
    struct telf t;
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    size_t len;
    uint8_t *img, *mem = guest(4 * MiB);

    telf_default(&t, 64, 4096, 4096);
    t.segs[0].paddr = 6 * MiB;
    t.entry = 6 * MiB;
    img = telf_build(&t, &len);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    ck_assert_int_eq(xc_dom_parse_image(dom), 0);
    /* early check from the size */
    ck_assert_int_eq(xc_dom_mem_init(dom, 4), -ENOSPC);
    ck_assert_ptr_nonnull(strstr(xc_dom_last_error(dom), "needs memory "
                                 "up to 0x601000"));
    /* and against the memory map: nothing attached on failure */
    ck_assert_int_eq(xc__dom_attach_buffer(dom, mem, 4 * MiB, NULL),
                     -ENOSPC);
    ck_assert_ptr_nonnull(strstr(xc_dom_last_error(dom), "not in guest "
                                 "RAM"));
    ck_assert_int_eq(xc_dom_build_image(dom), -EINVAL);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    ck_assert_uint_eq(info.start_info_paddr, 0);
    xc_dom_release(dom);
    free(mem);
    free(img);
}
END_TEST

START_TEST(test_initrd_too_big)
{
    struct telf t;
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    size_t len;
    uint8_t *img, *mem, *initrd;
    char *dir = tmpdir_make(), *path;
    char want[256];

    ck_assert_int_gt(asprintf(&path, "%s/initrd.img", dir), 0);
    initrd = calloc(1, 5 * MiB);
    spit(path, initrd, 5 * MiB);
    telf_default(&t, 64, 4096, MiB);
    img = telf_build(&t, &len);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    ck_assert_int_eq(xc_dom_module_file(dom, path, NULL), 0);

    /* larger than memory */
    ck_assert_int_eq(xc_dom_mem_init(dom, 4), -ENOSPC);
    snprintf(want, sizeof(want), "initrd %s (5242880 bytes) is larger than "
             "the guest memory (4194304 bytes)", path);
    ck_assert_str_eq(xc_dom_last_error(dom), want);

    /* smaller than memory, but the kernel leaves no room for it */
    ck_assert_int_eq(xc_dom_mem_init(dom, 6), 0);
    ck_assert_int_eq(xc_dom_parse_image(dom), 0);
    mem = guest(6 * MiB);
    ck_assert_int_eq(xc__dom_attach_buffer(dom, mem, 6 * MiB, NULL), 0);
    ck_assert_int_eq(xc_dom_build_image(dom), -ENOSPC);
    snprintf(want, sizeof(want), "initrd %s (5242880 bytes) does not fit "
             "in guest memory", path);
    ck_assert_msg(strstr(xc_dom_last_error(dom), want), "%s",
                  xc_dom_last_error(dom));
    ck_assert_ptr_nonnull(strstr(xc_dom_last_error(dom), "largest free "
                                 "range"));
    /* nothing was written: the planning failed first */
    ck_assert_uint_eq(mem[MiB], POISON);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    ck_assert_uint_eq(info.start_info_paddr, 0);
    ck_assert(!dom->built);

    xc_dom_release(dom);
    rmtree(dir);
    free(dir);
    free(path);
    free(mem);
    free(img);
    free(initrd);
}
END_TEST

START_TEST(test_files)
{
    struct telf t;
    struct xc_dom_image *dom = test_dom(&tl, "a=b");
    struct xc_dom_info info;
    struct xc__hvm_start_info si;
    struct xc__hvm_modlist_entry ml;
    char *dir = tmpdir_make(), *kpath, *ipath, *missing, *empty;
    size_t len;
    uint8_t *img, *mem;
    char want[256];

    ck_assert_int_gt(asprintf(&kpath, "%s/vmlinux", dir), 0);
    ck_assert_int_gt(asprintf(&ipath, "%s/initrd", dir), 0);
    ck_assert_int_gt(asprintf(&missing, "%s/nonexistent", dir), 0);
    ck_assert_int_gt(asprintf(&empty, "%s/empty", dir), 0);
    telf_default(&t, 64, 10000, 10000);
    img = telf_build(&t, &len);
    spit(kpath, img, len);
    spit(ipath, "INITRD!", 7);
    spit(empty, "", 0);

    ck_assert_int_eq(xc_dom_kernel_file(dom, missing), -ENOENT);
    snprintf(want, sizeof(want), "cannot open kernel %s: No such file or "
             "directory", missing);
    ck_assert_str_eq(xc_dom_last_error(dom), want);
    ck_assert_int_eq(xc_dom_module_file(dom, missing, NULL), -ENOENT);
    ck_assert_int_eq(xc_dom_kernel_file(dom, empty), -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(xc_dom_last_error(dom), "is empty"));
    ck_assert_int_eq(xc_dom_kernel_file(dom, dir), -EINVAL);
    ck_assert_int_eq(xc_dom_parse_image(dom), -EINVAL);

    ck_assert_int_eq(xc_dom_kernel_file(dom, kpath), 0);
    ck_assert_int_eq(xc_dom_module_file(dom, ipath, "rd"), 0);
    mem = build_buf(dom, 4 * MiB, NULL);
    check_segments(mem, img, &t);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    si = read_si(mem, &info);
    memcpy(&ml, mem + si.modlist_paddr, sizeof(ml));
    ck_assert_uint_eq(ml.size, 7);
    ck_assert(!memcmp(mem + ml.paddr, "INITRD!", 7));
    ck_assert_str_eq((const char *)mem + ml.cmdline_paddr, "rd");
    ck_assert_str_eq((const char *)mem + si.cmdline_paddr, "a=b");

    xc_dom_release(dom);
    rmtree(dir);
    free(dir);
    free(kpath);
    free(ipath);
    free(missing);
    free(empty);
    free(mem);
    free(img);
}
END_TEST

START_TEST(test_call_order_and_limits)
{
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    uint8_t mod[16] = { 0 };
    int i;

    ck_assert_int_eq(xc_dom_parse_image(dom), -EINVAL);
    ck_assert_str_eq(xc_dom_last_error(dom), "no kernel given");
    ck_assert_int_eq(xc_dom_build_image(dom), -EINVAL);
    ck_assert_int_eq(xc_dom_mem_init(dom, 0), -EINVAL);
    for (i = 0; i < XC_DOM_MAX_MODULES; i++)
        ck_assert_int_eq(xc_dom_module_mem(dom, mod, sizeof(mod), NULL), 0);
    ck_assert_int_eq(xc_dom_module_mem(dom, mod, sizeof(mod), NULL),
                     -ENOSPC);
    ck_assert_int_eq(xc_dom_cmdline(dom, "new"), 0);
    ck_assert_str_eq(dom->cmdline, "new");
    xc_dom_release(dom);
    xc_dom_release(NULL);
}
END_TEST

/* A failed step leaves the image usable: fix the input and go on. */
START_TEST(test_retry_after_failure)
{
    struct telf t, tbad;
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    size_t len, badlen;
    uint8_t *img, *bad, *mem;

    telf_default(&t, 64, 4096, 4096);
    img = telf_build(&t, &len);
    tbad = t;
    tbad.note = false;
    bad = telf_build(&tbad, &badlen);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, bad, badlen), 0);
    ck_assert_int_eq(xc_dom_parse_image(dom), -ENOEXEC);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, img, len), 0);
    mem = build_buf(dom, 4 * MiB, NULL);
    check_segments(mem, img, &t);
    xc_dom_release(dom);
    free(mem);
    free(img);
    free(bad);
}
END_TEST

/* ------------------------------------------------------------ bzImage */

START_TEST(test_bzimage_plain_payload)
{
    struct telf t;
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    size_t len, bzlen;
    uint8_t *img, *bz, *mem;

    telf_default(&t, 64, 9000, 9000);
    img = telf_build(&t, &len);
    bz = tbz_wrap(img, len, 0x020f, &bzlen);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, bz, bzlen), 0);
    mem = build_buf(dom, 4 * MiB, NULL);
    check_segments(mem, img, &t);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    ck_assert_str_eq(info.kernel_format, "bzImage");
    xc_dom_release(dom);
    free(mem);
    free(bz);
    free(img);
}
END_TEST

START_TEST(test_bzimage_bad)
{
    struct telf t;
    size_t len, bzlen;
    uint8_t *img, *bz;
    uint32_t v;

    telf_default(&t, 64, 9000, 9000);
    img = telf_build(&t, &len);

    bz = tbz_wrap(img, len, 0x0207, &bzlen);
    expect_parse_error(bz, bzlen, -ENOEXEC, "bzImage boot protocol 2.07 is "
                       "older than 2.08");
    free(bz);

    bz = tbz_wrap(img, len, 0x020f, &bzlen);
    v = (uint32_t)bzlen;
    memcpy(bz + 0x24c, &v, 4);
    expect_parse_error(bz, bzlen, -ENOEXEC, "is outside the");
    /* truncated file */
    memcpy(bz + 0x24c, &(uint32_t){ (uint32_t)len }, 4);
    expect_parse_error(bz, 3000, -ENOEXEC, "truncated?");
    /* payload in no known format */
    memset(bz + 4 * 512 + 0x200, 0x77, 16);
    expect_parse_error(bz, bzlen, -ENOEXEC, "payload is in no known "
                       "format");
    free(bz);
    free(img);
}
END_TEST

/* ------------------------------------------------------------ mutations */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* gzip in-process (zlib with the gzip wrapper). */
static uint8_t *gzip_buf(const uint8_t *in, size_t len, size_t *outlen)
{
    z_stream zs;
    uint8_t *out = malloc(len + 1024);

    ck_assert_ptr_nonnull(out);
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)(len + 1024);
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *outlen = zs.total_out;
    deflateEnd(&zs);
    return out;
}

/*
 * Random damage never crashes the builder or gets past it half-checked:
 * parsing returns 0 or -ENOEXEC, and what parses builds or is refused
 * with -ENOSPC.  Seeds: an ELF64 with three segments and extra notes, an
 * ELF32, and a bzImage around a gzip'd ELF.
 */
START_TEST(test_mutations)
{
    const size_t memsize = 16 * MiB;
    uint8_t *mem = guest(memsize);
    uint8_t *seed, *work, *gz = NULL;
    size_t len, gzlen, n;
    unsigned int iter, parsed = 0;
    struct telf t;

    telf_default(&t, _i == 1 ? 32 : 64, 3000, 5000);
    t.other_notes = _i == 0;
    if (_i == 0) {
        t.nsegs = 3;
        t.segs[1] = (struct telf_seg){ 2 * MiB, 700, 900, 0 };
        t.segs[2] = (struct telf_seg){ 3 * MiB, 0, 4096, 0 };
    }
    seed = telf_build(&t, &len);
    if (_i == 2) {
        uint8_t *bz;

        gz = gzip_buf(seed, len, &gzlen);
        bz = tbz_wrap(gz, gzlen, 0x020f, &len);
        free(seed);
        seed = bz;
    }
    work = malloc(len);
    ck_assert_ptr_nonnull(work);
    rng_state += (uint64_t)_i * 7919;
    for (iter = 0; iter < 4000; iter++) {
        struct xc_dom_image *dom = test_dom(&tl, "x");
        unsigned int flips = 1 + rnd(4), k;
        int r;

        memcpy(work, seed, len);
        for (k = 0; k < flips; k++) {
            /* mostly the headers, notes and setup header */
            size_t at = rnd(2) ? rnd((uint32_t)(len < 700 ? len : 700))
                               : rnd((uint32_t)len);
            work[at] = rnd(3) ? (uint8_t)rnd(256) : work[at] ^ 0x80;
        }
        n = rnd(10) ? len : 1 + rnd((uint32_t)len);
        ck_assert_int_eq(xc_dom_kernel_mem(dom, work, n), 0);
        r = xc_dom_parse_image(dom);
        ck_assert_msg(r == 0 || r == -ENOEXEC, "iteration %u: parse %d",
                      iter, r);
        if (r == 0) {
            parsed++;
            r = xc__dom_attach_buffer(dom, mem, memsize, NULL);
            ck_assert_msg(r == 0 || r == -ENOSPC, "attach %d", r);
            if (r == 0) {
                r = xc_dom_build_image(dom);
                ck_assert_msg(r == 0 || r == -ENOSPC, "build %d: %s", r,
                              xc_dom_last_error(dom));
            }
        } else {
            ck_assert_str_ne(xc_dom_last_error(dom), "");
        }
        xc_dom_release(dom);
    }
    /* The damage is not all fatal: some images still load. */
    ck_assert_uint_gt(parsed, 0);
    free(work);
    free(seed);
    free(gz);
    free(mem);
}
END_TEST

/* Known guest memory bounds decompression: a kernel that inflates past
 * it stops there with an error, not an allocation of its full size. */
START_TEST(test_decompress_limit)
{
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    struct telf t;
    uint8_t *elf, *gz, *bz;
    size_t len, gzlen, bzlen;

    telf_default(&t, 64, 3 * MiB, 3 * MiB);
    elf = telf_build(&t, &len);
    gz = gzip_buf(elf, len, &gzlen);
    bz = tbz_wrap(gz, gzlen, 0x020f, &bzlen);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, bz, bzlen), 0);
    ck_assert_int_eq(xc_dom_mem_init(dom, 2), 0);
    ck_assert_int_eq(xc_dom_parse_image(dom), -ENOEXEC);
    ck_assert_str_eq(xc_dom_last_error(dom), "kernel <memory>: gzip "
                     "payload decompresses to more than 2 MiB (the guest "
                     "memory)");
    ck_assert_int_eq(xc_dom_get_info(dom, &info), -EINVAL);
    /* with room, the same image parses */
    ck_assert_int_eq(xc_dom_mem_init(dom, 8), 0);
    ck_assert_int_eq(xc_dom_parse_image(dom), 0);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    ck_assert_str_eq(info.kernel_format, "bzImage+gzip");
    xc_dom_release(dom);
    free(bz);
    free(gz);
    free(elf);
}
END_TEST

static Suite *dom_suite(void)
{
    Suite *s = suite_create("dom");
    TCase *tc = tcase_create("load");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_elf64_load);
    tcase_add_test(tc, test_elf32_load);
    tcase_add_test(tc, test_elf64_note4_unsorted);
    tcase_add_test(tc, test_start_info);
    tcase_add_test(tc, test_placement_below_kernel);
    tcase_add_test(tc, test_memmap_normalise);
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_bzimage_plain_payload);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_input");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_not_elf);
    tcase_add_test(tc, test_no_pvh_note);
    tcase_add_loop_test(tc, test_truncated_every_length, 0, 2);
    tcase_add_test(tc, test_truncated_message);
    tcase_add_test(tc, test_overlapping_segments);
    tcase_add_test(tc, test_bad_segments);
    tcase_add_test(tc, test_bad_headers);
    tcase_add_test(tc, test_segment_above_memory);
    tcase_add_test(tc, test_initrd_too_big);
    tcase_add_test(tc, test_call_order_and_limits);
    tcase_add_test(tc, test_retry_after_failure);
    tcase_add_test(tc, test_bzimage_bad);
    tcase_add_test(tc, test_decompress_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("mutations");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_mutations, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dom_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
