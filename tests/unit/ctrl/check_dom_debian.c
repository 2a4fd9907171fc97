/*
 * check_dom_debian.c - Debian's own kernel through the builder.
 *
 * tests/fixtures/debian-kernel.sh fetches linux-image-amd64's kernel
 * (apt-get download, cached).  The builder unwraps and decompresses it;
 * the reference is the payload decompressed by Debian's command-line
 * tool and read back with our own minimal ELF reading, the PVH entry as
 * binutils' readelf prints it.  Skips (77) only when apt cannot get the
 * package.
 */
#include "dom_testlib.h"

#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MiB (1ULL << 20)
#define GUEST_SIZE (256 * MiB)

static char vmlinuz[4096];
static struct test_logger tl;

/* Decompress the bzImage payload with Debian's tool into dir/vmlinux. */
static const char *reference_vmlinux(const char *dir, uint8_t **ref,
                                     size_t *reflen)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *name;
        const char *cmd;
    } tools[] = {
        { "\xfd" "7zXZ\0", 6, "xz", "xz -dc --single-stream" },
        { "\x28\xb5\x2f\xfd", 4, "zstd", "zstd -dcq" },
        { "\x1f\x8b", 2, "gzip", "gzip -dc" },
        { "\x5d\x00\x00", 3, "lzma", "xz -dc --format=lzma --single-stream" },
        { "BZh", 3, "bzip2", "bzip2 -dc" },
    };
    uint8_t *bz;
    size_t bzlen, i;
    uint32_t poff, plen;
    unsigned int sects;
    char path[4200], out[4200];

    bz = slurp(vmlinuz, &bzlen);
    ck_assert_uint_gt(bzlen, 0x250);
    ck_assert_int_eq(bz[0x1fe] | bz[0x1ff] << 8, 0xaa55);
    sects = bz[0x1f1] ? bz[0x1f1] : 4;
    memcpy(&poff, bz + 0x248, 4);
    memcpy(&plen, bz + 0x24c, 4);
    poff += (sects + 1) * 512;
    ck_assert_uint_le((uint64_t)poff + plen, bzlen);
    for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        if (!memcmp(bz + poff, tools[i].magic, tools[i].len))
            break;
    ck_assert_msg(i < sizeof(tools) / sizeof(tools[0]),
                  "Debian's kernel payload starts %02x %02x %02x %02x: "
                  "add its tool here", bz[poff], bz[poff + 1],
                  bz[poff + 2], bz[poff + 3]);
    snprintf(path, sizeof(path), "%s/payload", dir);
    snprintf(out, sizeof(out), "%s/vmlinux", dir);
    spit(path, bz + poff, plen);
    free(bz);
    ck_assert_int_eq(run_cmd("%s %s > %s", tools[i].cmd, path, out), 0);
    *ref = slurp(out, reflen);
    ck_assert_int_eq(run_cmd("readelf -nW %s > %s/notes", out, dir), 0);
    return tools[i].name;
}

/* The PHYS32_ENTRY value as readelf shows it (type 0x12 of "Xen"). */
static uint64_t readelf_entry(const char *dir)
{
    char path[4200], line[1024];
    uint64_t v = 0;
    FILE *f;
    bool found = false;

    snprintf(path, sizeof(path), "%s/notes", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        char *d = strstr(line, "description data:");
        unsigned int b[8];
        int i;

        if (!strstr(line, "Xen") || !strstr(line, "(0x00000012)") || !d)
            continue;
        ck_assert_int_ge(sscanf(d, "description data: %x %x %x %x %x %x "
                                "%x %x", &b[0], &b[1], &b[2], &b[3], &b[4],
                                &b[5], &b[6], &b[7]), 4);
        for (i = 3; i >= 0; i--)
            v = v << 8 | b[i];
        found = true;
    }
    fclose(f);
    ck_assert_msg(found, "readelf shows no XEN_ELFNOTE_PHYS32_ENTRY");
    return v;
}

START_TEST(test_debian_kernel)
{
    static const char cmdline[] = "console=hvc0 root=/dev/xvda1 ro quiet";
    struct xc__dom_platform plat = { 0 };
    struct xc__hvm_start_info si;
    struct xc__hvm_modlist_entry ml;
    struct xc__hvm_memmap_entry mm[16];
    struct xc_dom_image *dom = test_dom(&tl, cmdline);
    struct xc_dom_info info;
    char *dir = tmpdir_make(), *initrd_path;
    uint8_t *ref, *mem, *initrd;
    size_t reflen, i;
    const char *comp;
    char want[64];
    Elf64_Ehdr eh;
    uint64_t ram = 0, prev_end = 0, entry;
    unsigned int loads = 0;

    comp = reference_vmlinux(dir, &ref, &reflen);
    entry = readelf_entry(dir);
    fprintf(stderr, "Debian kernel %s: payload %s, %zu bytes decompressed, "
            "PVH entry 0x%llx\n", vmlinuz, comp, reflen,
            (unsigned long long)entry);

    initrd = malloc(MiB + 123);
    ck_assert_ptr_nonnull(initrd);
    for (i = 0; i < MiB + 123; i++)
        initrd[i] = (uint8_t)(i ^ (i >> 9));
    ck_assert_int_gt(asprintf(&initrd_path, "%s/initrd.img", dir), 0);
    spit(initrd_path, initrd, MiB + 123);

    ck_assert_int_eq(xc_dom_kernel_file(dom, vmlinuz), 0);
    ck_assert_int_eq(xc_dom_module_file(dom, initrd_path, NULL), 0);
    ck_assert_msg(xc_dom_parse_image(dom) == 0, "%s",
                  xc_dom_last_error(dom));
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    snprintf(want, sizeof(want), "bzImage+%s", comp);
    ck_assert_str_eq(info.kernel_format, want);
    ck_assert_uint_eq(info.phys32_entry, entry);
    /* Our decompression equals Debian's tool's. */
    ck_assert_uint_eq(dom->elf_size, reflen);
    ck_assert(!memcmp(dom->elf_img, ref, reflen));
    ck_assert_int_eq(xc_dom_mem_init(dom, GUEST_SIZE >> 20), 0);

    /* A PC-like map: low RAM, the BIOS hole, RAM, ACPI tables at the
     * top holding the RSDP. */
    plat.rsdp_paddr = GUEST_SIZE - MiB + 0x40;
    plat.nr_ranges = 4;
    plat.ranges[0] = (struct xc__dom_range){ 0, 0x9f000, 1 };
    plat.ranges[1] = (struct xc__dom_range){ 0x9f000, 0x61000, 2 };
    plat.ranges[2] = (struct xc__dom_range){ MiB, GUEST_SIZE - 2 * MiB, 1 };
    plat.ranges[3] = (struct xc__dom_range){ GUEST_SIZE - MiB, MiB, 3 };
    mem = calloc(1, GUEST_SIZE);
    ck_assert_ptr_nonnull(mem);
    memset(mem + 4 * MiB, 0xa5, GUEST_SIZE - 8 * MiB);
    ck_assert_int_eq(xc__dom_attach_buffer(dom, mem, GUEST_SIZE, &plat), 0);
    ck_assert_msg(xc_dom_build_image(dom) == 0, "%s",
                  xc_dom_last_error(dom));
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);

    /* Each PT_LOAD at its physical address, bytes as in the ELF. */
    ck_assert_uint_ge(reflen, sizeof(eh));
    memcpy(&eh, ref, sizeof(eh));
    ck_assert_int_eq(eh.e_ident[EI_CLASS], ELFCLASS64);
    for (i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        uint64_t j;

        memcpy(&ph, ref + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        loads++;
        ck_assert_uint_lt(ph.p_paddr + ph.p_memsz, GUEST_SIZE);
        ck_assert_msg(!memcmp(mem + ph.p_paddr, ref + ph.p_offset,
                              ph.p_filesz),
                      "segment at 0x%llx differs from the ELF",
                      (unsigned long long)ph.p_paddr);
        for (j = ph.p_filesz; j < ph.p_memsz; j++)
            ck_assert(mem[ph.p_paddr + j] == 0);
        ck_assert_uint_ge(ph.p_paddr, info.kernel_pstart);
        ck_assert_uint_le(ph.p_paddr + ph.p_memsz, info.kernel_pend);
    }
    ck_assert_uint_eq(loads, info.nr_segments);

    /* The start info. */
    memcpy(&si, mem + info.start_info_paddr, sizeof(si));
    ck_assert_uint_eq(si.magic, 0x336ec578);
    ck_assert_uint_eq(si.version, 1);
    ck_assert_uint_eq(si.rsdp_paddr, GUEST_SIZE - MiB + 0x40);
    ck_assert_str_eq((const char *)mem + si.cmdline_paddr, cmdline);
    ck_assert_uint_eq(si.nr_modules, 1);
    memcpy(&ml, mem + si.modlist_paddr, sizeof(ml));
    ck_assert_uint_eq(ml.size, MiB + 123);
    ck_assert_uint_eq(ml.cmdline_paddr, 0);
    ck_assert_uint_eq(ml.paddr % 4096, 0);
    ck_assert(ml.paddr >= info.kernel_pend ||
              ml.paddr + ml.size <= info.kernel_pstart);
    ck_assert(!memcmp(mem + ml.paddr, initrd, ml.size));
    ck_assert_uint_eq(info.start_info_paddr % 4096, 0);
    ck_assert(info.start_info_paddr >= info.kernel_pend ||
              info.start_info_paddr < info.kernel_pstart);

    /* The memory map: sorted, disjoint, Xen's types, all RAM there. */
    ck_assert_uint_eq(si.memmap_entries, 4);
    memcpy(mm, mem + si.memmap_paddr, 4 * sizeof(mm[0]));
    for (i = 0; i < si.memmap_entries; i++) {
        ck_assert_uint_ge(mm[i].addr, prev_end);
        ck_assert_uint_gt(mm[i].size, 0);
        ck_assert(mm[i].type >= 1 && mm[i].type <= 7);
        if (mm[i].type == 1)
            ram += mm[i].size;
        prev_end = mm[i].addr + mm[i].size;
    }
    ck_assert_uint_eq(ram, 0x9f000 + GUEST_SIZE - 2 * MiB);
    ck_assert_uint_eq(mm[3].type, 3);
    ck_assert_int_eq(tl.errors, 0);

    xc_dom_release(dom);
    rmtree(dir);
    free(dir);
    free(initrd_path);
    free(initrd);
    free(ref);
    free(mem);
}
END_TEST

/* Run the fixture script: 0 with the path, 77 to skip, else failure. */
static int fetch_kernel(void)
{
    const char *fx = getenv("XENOLITH_FIXTURES");
    char cmd[4200];
    FILE *p;
    int st;

    snprintf(cmd, sizeof(cmd), "%s/debian-kernel.sh",
             fx && *fx ? fx : "../../../tests/fixtures");
    p = popen(cmd, "r");
    if (!p)
        return 99;
    if (!fgets(vmlinuz, sizeof(vmlinuz), p))
        vmlinuz[0] = '\0';
    st = pclose(p);
    vmlinuz[strcspn(vmlinuz, "\n")] = '\0';
    if (st == -1 || !WIFEXITED(st))
        return 99;
    if (WEXITSTATUS(st) == 77)
        return 77;
    if (WEXITSTATUS(st) != 0 || !vmlinuz[0]) {
        fprintf(stderr, "%s failed (status %d)\n", cmd, WEXITSTATUS(st));
        return 99;
    }
    return 0;
}

int main(void)
{
    Suite *s = suite_create("dom_debian");
    TCase *tc = tcase_create("debian");
    SRunner *sr;
    int failed, r;

    r = fetch_kernel();
    if (r == 77) {
        fprintf(stderr, "SKIP: apt cannot fetch linux-image-amd64\n");
        return 77;
    }
    if (r)
        return r;
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_debian_kernel);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
