/*
 * dom_testlib.c - helpers for the domain builder's unit tests.
 */
#include "dom_testlib.h"

#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ ELF */

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* A note: name "Xen" or other, type, value of descsz bytes. */
static size_t emit_note(uint8_t *p, const char *name, uint32_t type,
                        uint64_t value, unsigned int descsz)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    size_t n = 12;

    put32(p, namesz);
    put32(p + 4, descsz);
    put32(p + 8, type);
    memcpy(p + n, name, namesz);
    n += (namesz + 3) & ~3U;
    memcpy(p + n, &value, descsz);
    n += (descsz + 3) & ~3U;
    return n;
}

void telf_default(struct telf *t, unsigned int elfclass, uint64_t filesz,
                  uint64_t memsz)
{
    memset(t, 0, sizeof(*t));
    t->elfclass = elfclass;
    t->nsegs = 1;
    t->segs[0].paddr = 1 << 20;
    t->segs[0].filesz = filesz;
    t->segs[0].memsz = memsz;
    t->note = true;
    t->entry = (1 << 20) + 0x10;
}

uint8_t *telf_build(struct telf *t, size_t *len_r)
{
    bool is64 = t->elfclass == 64;
    size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    size_t phsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    unsigned int nph = t->nsegs + 1;
    unsigned int descsz = t->note_descsz ? t->note_descsz : (is64 ? 8 : 4);
    uint8_t notes[256];
    size_t nlen = 0, off, total, i, j;
    uint8_t *img;

    if (t->other_notes) {
        nlen += emit_note(notes + nlen, "GNU", 3, 0x1234, 4);
        nlen += emit_note(notes + nlen, "Xen", 6, 0x78756e694cULL, 8);
    }
    if (t->note)
        nlen += emit_note(notes + nlen, "Xen", XC__ELFNOTE_PHYS32_ENTRY,
                          t->entry, descsz);

    off = ehsize + nph * phsize + nlen;
    for (i = 0; i < t->nsegs; i++) {
        off = (off + 15) & ~(size_t)15;
        t->segs[i].offset = off;
        off += t->segs[i].filesz;
    }
    total = off;
    img = calloc(1, total);
    ck_assert_ptr_nonnull(img);

    if (is64) {
        Elf64_Ehdr eh = { 0 };

        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_EXEC;
        eh.e_machine = EM_X86_64;
        eh.e_version = EV_CURRENT;
        eh.e_entry = 0xffffffff81000000ULL;
        eh.e_phoff = ehsize;
        eh.e_ehsize = (uint16_t)ehsize;
        eh.e_phentsize = (uint16_t)phsize;
        eh.e_phnum = (uint16_t)nph;
        memcpy(img, &eh, sizeof(eh));
    } else {
        Elf32_Ehdr eh = { 0 };

        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS32;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_EXEC;
        eh.e_machine = EM_386;
        eh.e_version = EV_CURRENT;
        eh.e_entry = (uint32_t)t->entry;
        eh.e_phoff = (uint32_t)ehsize;
        eh.e_ehsize = (uint16_t)ehsize;
        eh.e_phentsize = (uint16_t)phsize;
        eh.e_phnum = (uint16_t)nph;
        memcpy(img, &eh, sizeof(eh));
    }

    for (i = 0; i < nph; i++) {
        bool isnote = i == t->nsegs;
        uint64_t type = isnote ? PT_NOTE : PT_LOAD;
        uint64_t o = isnote ? ehsize + nph * phsize : t->segs[i].offset;
        uint64_t fs = isnote ? nlen : t->segs[i].filesz;
        uint64_t ms = isnote ? nlen : t->segs[i].memsz;
        uint64_t pa = isnote ? 0 : t->segs[i].paddr;
        uint8_t *p = img + ehsize + i * phsize;

        if (is64) {
            Elf64_Phdr ph = { 0 };

            ph.p_type = (uint32_t)type;
            ph.p_offset = o;
            ph.p_paddr = pa;
            ph.p_vaddr = pa + 0xffffffff80000000ULL;
            ph.p_filesz = fs;
            ph.p_memsz = ms;
            ph.p_align = isnote ? 4 : 0x1000;
            ph.p_flags = PF_R | PF_X;
            memcpy(p, &ph, sizeof(ph));
        } else {
            Elf32_Phdr ph = { 0 };

            ph.p_type = (uint32_t)type;
            ph.p_offset = (uint32_t)o;
            ph.p_paddr = (uint32_t)pa;
            ph.p_vaddr = (uint32_t)pa;
            ph.p_filesz = (uint32_t)fs;
            ph.p_memsz = (uint32_t)ms;
            ph.p_align = isnote ? 4 : 0x1000;
            ph.p_flags = PF_R | PF_X;
            memcpy(p, &ph, sizeof(ph));
        }
    }
    memcpy(img + ehsize + nph * phsize, notes, nlen);

    /* Compressible but not trivial: runs of a per-segment pattern. */
    for (i = 0; i < t->nsegs; i++) {
        uint8_t *p = img + t->segs[i].offset;
        uint32_t x = t->seed * 2654435761U + (uint32_t)i * 40503U + 1;

        for (j = 0; j < t->segs[i].filesz; j++) {
            if ((j & 63) == 0)
                x = x * 1103515245U + 12345U;
            p[j] = (uint8_t)((x >> 16) + (j & 7));
        }
    }
    *len_r = total;
    return img;
}

/* ------------------------------------------------------------ bzImage */

uint8_t *tbz_wrap(const uint8_t *payload, size_t plen, uint16_t version,
                  size_t *len_r)
{
    const unsigned int sects = 3;
    const size_t pm = (sects + 1) * 512;
    const uint32_t poff = 0x200;         /* "decompressor code" first */
    size_t total = pm + poff + plen + 0x100;
    uint8_t *img = calloc(1, total);
    uint32_t v;

    ck_assert_ptr_nonnull(img);
    img[0x1f1] = sects;
    img[0x1fe] = 0x55;
    img[0x1ff] = 0xaa;
    memcpy(img + 0x202, "HdrS", 4);
    img[0x206] = (uint8_t)version;
    img[0x207] = (uint8_t)(version >> 8);
    v = poff;
    memcpy(img + 0x248, &v, 4);
    v = (uint32_t)plen;
    memcpy(img + 0x24c, &v, 4);
    memset(img + pm, 0xcc, poff);
    memcpy(img + pm + poff, payload, plen);
    memset(img + pm + poff + plen, 0xee, 0x100);
    *len_r = total;
    return img;
}

uint8_t *append_size(uint8_t *buf, size_t *len, uint32_t size)
{
    uint8_t *nb = realloc(buf, *len + 4);

    ck_assert_ptr_nonnull(nb);
    memcpy(nb + *len, &size, 4);
    *len += 4;
    return nb;
}

/* ------------------------------------------------------------ files */

uint8_t *slurp(const char *path, size_t *len_r)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY);

    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    ck_assert_int_eq(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(buf);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

        ck_assert_msg(r > 0, "read %s: %s", path, strerror(errno));
        got += (size_t)r;
    }
    close(fd);
    *len_r = got;
    return buf;
}

void spit(const char *path, const void *data, size_t len)
{
    const uint8_t *p = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
    while (len) {
        ssize_t r = write(fd, p, len);

        ck_assert_msg(r > 0, "write %s: %s", path, strerror(errno));
        p += r;
        len -= (size_t)r;
    }
    ck_assert_int_eq(close(fd), 0);
}

int run_cmd(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    if (st < 0 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

char *tmpdir_make(void)
{
    const char *base = getenv("TMPDIR");
    char *dir;

    ck_assert_int_gt(asprintf(&dir, "%s/xc_dom_test.XXXXXX",
                              base && *base ? base : "/tmp"), 0);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    return remove(path);
}

void rmtree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------ logger */

static void tl_vmessage(xentoollog_logger *lg, xentoollog_level level,
                        int errnoval, const char *context,
                        const char *format, va_list al)
{
    struct test_logger *tl = (struct test_logger *)lg;

    if (level < XTL_ERROR)
        return;
    tl->errors++;
    vsnprintf(tl->last, sizeof(tl->last), format, al);
}

void test_logger_init(struct test_logger *tl)
{
    memset(tl, 0, sizeof(*tl));
    tl->vtable.vmessage = tl_vmessage;
}

struct xc_dom_image *test_dom(struct test_logger *tl, const char *cmdline)
{
    struct xc_dom_image *dom;

    test_logger_init(tl);
    dom = xc__dom_alloc(cmdline);
    ck_assert_ptr_nonnull(dom);
    dom->lg = &tl->vtable;
    return dom;
}
