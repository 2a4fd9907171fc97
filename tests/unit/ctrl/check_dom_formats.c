/*
 * check_dom_formats.c - every compressed bzImage payload format.
 *
 * The payloads are made at test time by Debian's command-line
 * compressors, invoked as the kernel build does (the uncompressed size
 * appended after every format but gzip), and wrapped in a synthetic
 * bzImage.  The kernel inside is a 9 MiB ELF, large enough to span
 * several blocks of every format (lz4's legacy blocks are 8 MiB).
 */
#include "dom_testlib.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (1ULL << 20)

struct format {
    const char *id;              /* names the test case and its files */
    const char *name;            /* as in the kernel format "bzImage+..." */
    const char *tool;            /* the command that must exist */
    const char *package;         /* Debian package providing it */
    const char *cmd;             /* compresses its argument to stdout */
    bool size_append;
    size_t corrupt_at;           /* 0: flip a byte mid-stream (formats
                                    with checksums); else where to
                                    break a format without one */
};

/* The commands and options Linux's build uses (scripts/Makefile.lib,
 * scripts/xz_wrap.sh), plus variants of the container options. */
static const struct format formats[] = {
    { "gzip", "gzip", "gzip", "gzip", "gzip -n -f -9 -c", false, 0 },
    { "bzip2", "bzip2", "bzip2", "bzip2", "bzip2 -9 -c", true, 0 },
    /* lzma has no checksum: break the range coder's first byte, which
     * must be zero. */
    { "lzma", "lzma", "lzma", "xz-utils", "lzma -9 -c", true, 13 },
    { "xz", "xz", "xz", "xz-utils",
      "xz --check=crc32 --x86 --lzma2=,dict=32MiB -c", true, 0 },
    { "xz-crc64", "xz", "xz", "xz-utils", "xz -6 -c", true, 0 },
    { "lzo", "lzo", "lzop", "lzop", "lzop -9 -c", true, 0 },
    { "lzo-crc32", "lzo", "lzop", "lzop", "lzop -9 --crc32 -c", true, 0 },
    /* lz4's legacy frame has no checksum: shorten the first block (its
     * size field follows the magic) so it ends mid-sequence. */
    { "lz4", "lz4", "lz4", "lz4", "lz4 -l -12 --favor-decSpeed -c", true,
      4 },
    { "zstd", "zstd", "zstd", "zstd", "zstd -22 --ultra -q -c", true, 0 },
};
#define NR_FORMATS (int)(sizeof(formats) / sizeof(formats[0]))

static struct test_logger tl;
/* Compressed outputs, made once per run and shared by the tests. */
static char *cache_dir;

/* Build the test kernel and the compressed bzImage of format f. */
static uint8_t *make_bzimage(const struct format *f, struct telf *t,
                             uint8_t **elf_r, size_t *elflen_r,
                             size_t *bzlen_r, size_t *payload_len_r)
{
    char *in, *out;
    uint8_t *elf, *payload, *bz;
    size_t elflen, plen;

    ck_assert_msg(run_cmd("command -v %s >/dev/null 2>&1", f->tool) == 0,
                  "the %s command is missing: apt-get install %s",
                  f->tool, f->package);
    telf_default(t, 64, 9 * MiB, 10 * MiB);
    t->nsegs = 2;
    t->segs[1] = (struct telf_seg){ 12 * MiB, 200000, 300000, 0 };
    t->seed = 7;
    elf = telf_build(t, &elflen);
    ck_assert_int_gt(asprintf(&in, "%s/vmlinux.%s.in", cache_dir, f->id),
                     0);
    ck_assert_int_gt(asprintf(&out, "%s/vmlinux.%s", cache_dir, f->id), 0);
    if (access(out, F_OK) != 0) {
        spit(in, elf, elflen);
        ck_assert_msg(run_cmd("%s %s > %s.tmp && mv %s.tmp %s", f->cmd, in,
                              out, out, out) == 0, "%s failed", f->tool);
        unlink(in);
    }
    payload = slurp(out, &plen);
    if (f->size_append)
        payload = append_size(payload, &plen, (uint32_t)elflen);
    bz = tbz_wrap(payload, plen, 0x020f, bzlen_r);
    *payload_len_r = plen;
    *elf_r = elf;
    *elflen_r = elflen;
    free(payload);
    free(in);
    free(out);
    return bz;
}

/* Offset of the payload in tbz_wrap's layout. */
#define PAYLOAD_AT (4 * 512 + 0x200)

START_TEST(test_format_loads)
{
    const struct format *f = &formats[_i];
    struct xc_dom_image *dom = test_dom(&tl, "console=ttyS0");
    struct xc_dom_info info;
    struct telf t;
    uint8_t *elf, *bz, *mem;
    size_t elflen, bzlen, plen;
    char want[32];
    unsigned int i;

    bz = make_bzimage(f, &t, &elf, &elflen, &bzlen, &plen);
    ck_assert_int_eq(xc_dom_kernel_mem(dom, bz, bzlen), 0);
    ck_assert_msg(xc_dom_parse_image(dom) == 0, "%s: %s", f->id,
                  xc_dom_last_error(dom));
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    snprintf(want, sizeof(want), "bzImage+%s", f->name);
    ck_assert_str_eq(info.kernel_format, want);
    ck_assert_uint_eq(info.phys32_entry, t.entry);
    /* The decompressed image is the ELF, byte for byte. */
    ck_assert_uint_eq(dom->elf_size, elflen);
    ck_assert(!memcmp(dom->elf_img, elf, elflen));

    mem = malloc(32 * MiB);
    ck_assert_ptr_nonnull(mem);
    memset(mem, 0xa5, 32 * MiB);
    ck_assert_int_eq(xc__dom_attach_buffer(dom, mem, 32 * MiB, NULL), 0);
    ck_assert_msg(xc_dom_build_image(dom) == 0, "%s",
                  xc_dom_last_error(dom));
    for (i = 0; i < t.nsegs; i++) {
        const struct telf_seg *s = &t.segs[i];
        uint64_t j;

        ck_assert(!memcmp(mem + s->paddr, elf + s->offset, s->filesz));
        for (j = s->filesz; j < s->memsz; j++)
            ck_assert_uint_eq(mem[s->paddr + j], 0);
    }
    ck_assert_int_eq(tl.errors, 0);
    xc_dom_release(dom);
    free(mem);
    free(bz);
    free(elf);
}
END_TEST

static void expect_bad(const struct format *f, const uint8_t *bz,
                       size_t bzlen, const char *kind)
{
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    char want[64];
    int r;

    ck_assert_int_eq(xc_dom_kernel_mem(dom, bz, bzlen), 0);
    r = xc_dom_parse_image(dom);
    ck_assert_msg(r == -ENOEXEC, "%s %s: parse returned %d: %s", kind,
                  f->id, r, xc_dom_last_error(dom));
    snprintf(want, sizeof(want), "kernel <memory>: %s payload is %s",
             f->name, kind);
    ck_assert_msg(strstr(xc_dom_last_error(dom), want),
                  "\"%s\" lacks \"%s\"", xc_dom_last_error(dom), want);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), -EINVAL);
    xc_dom_release(dom);
}

START_TEST(test_format_truncated)
{
    const struct format *f = &formats[_i];
    struct telf t;
    uint8_t *elf, *bz;
    size_t elflen, bzlen, plen, cut;
    uint32_t v;

    bz = make_bzimage(f, &t, &elf, &elflen, &bzlen, &plen);
    /* Cut the stream (and the file) at several points; the setup header
     * is told the shorter length so only the stream is short. */
    for (cut = plen / 2; cut >= 64; cut /= 3) {
        v = (uint32_t)cut;
        memcpy(bz + 0x24c, &v, 4);
        expect_bad(f, bz, PAYLOAD_AT + cut, "truncated");
    }
    free(bz);
    free(elf);
}
END_TEST

START_TEST(test_format_corrupt)
{
    const struct format *f = &formats[_i];
    struct telf t;
    uint8_t *elf, *bz;
    size_t elflen, bzlen, plen, at;

    bz = make_bzimage(f, &t, &elf, &elflen, &bzlen, &plen);
    at = f->corrupt_at ? f->corrupt_at : plen / 2;
    if (!strcmp(f->name, "lz4"))
        memcpy(bz + PAYLOAD_AT + at, &(uint32_t){ 1000 }, 4);
    else if (f->corrupt_at)
        bz[PAYLOAD_AT + at] = 0xff;
    else
        bz[PAYLOAD_AT + at] ^= 0x5a;
    expect_bad(f, bz, bzlen, "corrupt");
    free(bz);
    free(elf);
}
END_TEST

START_TEST(test_detect)
{
    static const struct {
        const char *magic;
        size_t len;
        enum xc__dom_comp comp;
    } m[] = {
        { "\x1f\x8b\x08", 3, XC__COMP_GZIP },
        { "BZh9", 4, XC__COMP_BZIP2 },
        { "\x5d\x00\x00\x80", 4, XC__COMP_LZMA },
        { "\xfd" "7zXZ\0", 6, XC__COMP_XZ },
        { "\x89LZO\0\r\n\x1a\n", 9, XC__COMP_LZO },
        { "\x02\x21\x4c\x18", 4, XC__COMP_LZ4 },
        { "\x28\xb5\x2f\xfd", 4, XC__COMP_ZSTD },
        { "\x7f" "ELF", 4, XC__COMP_NONE },
        { "\x1f", 1, XC__COMP_NONE },
    };
    unsigned int i;

    for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        ck_assert_int_eq(xc__dom_comp_detect((const uint8_t *)m[i].magic,
                                             m[i].len), m[i].comp);
}
END_TEST

/* A bare compressed ELF (no bzImage around it) loads too. */
START_TEST(test_bare_gzip)
{
    struct xc_dom_image *dom = test_dom(&tl, NULL);
    struct xc_dom_info info;
    struct telf t;
    char *dir = tmpdir_make(), *in, *out;
    uint8_t *elf;
    size_t elflen, kelflen = 0;
    const void *kelf = NULL;

    telf_default(&t, 32, 100000, 100000);
    elf = telf_build(&t, &elflen);
    ck_assert_int_gt(asprintf(&in, "%s/k", dir), 0);
    ck_assert_int_gt(asprintf(&out, "%s/k.gz", dir), 0);
    spit(in, elf, elflen);
    ck_assert_int_eq(run_cmd("gzip -c %s > %s", in, out), 0);
    ck_assert_int_eq(xc_dom_kernel_file(dom, out), 0);
    ck_assert_int_eq(xc_dom_kernel_elf(dom, &kelf, &kelflen), -EINVAL);
    ck_assert_int_eq(xc_dom_parse_image(dom), 0);
    ck_assert_int_eq(xc_dom_get_info(dom, &info), 0);
    ck_assert_str_eq(info.kernel_format, "gzip");
    ck_assert(!memcmp(dom->elf_img, elf, elflen));
    /* the decompressed ELF, for booting it elsewhere (qemu -kernel) */
    ck_assert_int_eq(xc_dom_kernel_elf(dom, &kelf, &kelflen), 0);
    ck_assert_uint_eq(kelflen, elflen);
    ck_assert(!memcmp(kelf, elf, elflen));
    xc_dom_release(dom);
    rmtree(dir);
    free(dir);
    free(in);
    free(out);
    free(elf);
}
END_TEST

static Suite *formats_suite(void)
{
    Suite *s = suite_create("dom_formats");
    TCase *tc = tcase_create("formats");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_detect);
    tcase_add_test(tc, test_bare_gzip);
    tcase_add_loop_test(tc, test_format_loads, 0, NR_FORMATS);
    tcase_add_loop_test(tc, test_format_truncated, 0, NR_FORMATS);
    tcase_add_loop_test(tc, test_format_corrupt, 0, NR_FORMATS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(formats_suite());
    int failed;

    if (asprintf(&cache_dir, "%s/xc_dom_formats.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") < 0 ||
        !mkdtemp(cache_dir)) {
        perror("mkdtemp");
        return 99;
    }
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rmtree(cache_dir);
    free(cache_dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
