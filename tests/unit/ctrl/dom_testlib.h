/*
 * dom_testlib.h - helpers for the domain builder's unit tests: synthetic
 * PVH ELF kernels, a minimal bzImage wrapper, a logger that keeps the
 * last message, and running Debian's command-line tools.
 */
#ifndef DOM_TESTLIB_H
#define DOM_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xc_dom_internal.h"

#define TELF_MAX_SEGS 8

struct telf_seg {
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t offset;             /* out: where its bytes are in the file */
};

struct telf {
    unsigned int elfclass;       /* 32 or 64 */
    unsigned int nsegs;
    struct telf_seg segs[TELF_MAX_SEGS];
    bool note;                   /* emit the PHYS32_ENTRY note */
    uint64_t entry;
    unsigned int note_descsz;    /* 4 or 8 (0: 4 for ELF32, 8 for ELF64) */
    bool other_notes;            /* a non-Xen note and a Xen note first */
    uint32_t seed;               /* varies the segment contents */
};

/* Build the ELF described by t (t->segs[].offset filled in).  Returns a
 * malloc'd image; aborts the test on failure. */
uint8_t *telf_build(struct telf *t, size_t *len_r);

/* A one-segment ELF64 kernel at 1 MiB, entry at its start. */
void telf_default(struct telf *t, unsigned int elfclass, uint64_t filesz,
                  uint64_t memsz);

/* Wrap payload in a bzImage with the given boot protocol version. */
uint8_t *tbz_wrap(const uint8_t *payload, size_t plen, uint16_t version,
                  size_t *len_r);

/* Append the 32-bit little-endian size (the kernel build's size_append).*/
uint8_t *append_size(uint8_t *buf, size_t *len, uint32_t size);

/* Read / write whole files (abort the test on failure). */
uint8_t *slurp(const char *path, size_t *len_r);
void spit(const char *path, const void *data, size_t len);

/* Run a shell command line; returns its exit status (or -1). */
int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fresh temporary directory (removed by rmtree). */
char *tmpdir_make(void);
void rmtree(const char *dir);

/* The logger every test image uses: counts errors, keeps the last. */
struct test_logger {
    xentoollog_logger vtable;
    unsigned int errors;
    char last[600];
};
void test_logger_init(struct test_logger *tl);

/* An image with the test logger. */
struct xc_dom_image *test_dom(struct test_logger *tl, const char *cmdline);

#endif /* DOM_TESTLIB_H */
