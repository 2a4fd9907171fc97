/*
 * xc_dom_elf.c - checking and loading a PVH kernel's ELF image.
 *
 * Every header field is read with memcpy from the untrusted image and
 * checked before use; offsets and sizes are compared without overflow.
 * Only little-endian x86 images are accepted (ELF32 i386, ELF64 x86-64).
 */
#include "xc_dom_internal.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The fields we use, in a class-independent form. */
struct ehdr {
    uint16_t type;
    uint16_t machine;
    uint64_t phoff;
    uint16_t phentsize;
    uint16_t phnum;
};

struct phdr {
    uint32_t type;
    uint64_t offset;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

/* Whether [off, off + len) lies inside size bytes. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

static void read_ehdr(const uint8_t *img, unsigned int cls, struct ehdr *e)
{
    if (cls == ELFCLASS64) {
        Elf64_Ehdr h;

        memcpy(&h, img, sizeof(h));
        e->type = h.e_type;
        e->machine = h.e_machine;
        e->phoff = h.e_phoff;
        e->phentsize = h.e_phentsize;
        e->phnum = h.e_phnum;
    } else {
        Elf32_Ehdr h;

        memcpy(&h, img, sizeof(h));
        e->type = h.e_type;
        e->machine = h.e_machine;
        e->phoff = h.e_phoff;
        e->phentsize = h.e_phentsize;
        e->phnum = h.e_phnum;
    }
}

static void read_phdr(const uint8_t *p, unsigned int cls, struct phdr *ph)
{
    if (cls == ELFCLASS64) {
        Elf64_Phdr h;

        memcpy(&h, p, sizeof(h));
        ph->type = h.p_type;
        ph->offset = h.p_offset;
        ph->paddr = h.p_paddr;
        ph->filesz = h.p_filesz;
        ph->memsz = h.p_memsz;
        ph->align = h.p_align;
    } else {
        Elf32_Phdr h;

        memcpy(&h, p, sizeof(h));
        ph->type = h.p_type;
        ph->offset = h.p_offset;
        ph->paddr = h.p_paddr;
        ph->filesz = h.p_filesz;
        ph->memsz = h.p_memsz;
        ph->align = h.p_align;
    }
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/*
 * Walk the notes of one PT_NOTE segment looking for Xen's PHYS32_ENTRY.
 * Returns 1 when found (*entry set), 0 when not, or a negative error.
 */
static int scan_notes(struct xc_dom_image *dom, const char *name,
                      const uint8_t *p, uint64_t len, uint64_t align,
                      unsigned int idx, uint32_t *entry)
{
    uint64_t pos = 0;
    uint64_t pad = align == 8 ? 8 : 4;

    while (len - pos >= 12) {
        uint32_t namesz = le32(p + pos);
        uint32_t descsz = le32(p + pos + 4);
        uint32_t type = le32(p + pos + 8);
        uint64_t nameoff = pos + 12;
        uint64_t namelen = ((uint64_t)namesz + pad - 1) & ~(pad - 1);
        uint64_t descoff = nameoff + namelen;
        uint64_t desclen = ((uint64_t)descsz + pad - 1) & ~(pad - 1);

        if (namelen > len - nameoff || descsz > len - descoff)
            return xc__dom_err(dom, -ENOEXEC,
                               "kernel %s: note at offset %llu of note "
                               "segment %u overruns the segment", name,
                               (unsigned long long)pos, idx);
        if (namesz == 4 && !memcmp(p + nameoff, "Xen", 4) &&
            type == XC__ELFNOTE_PHYS32_ENTRY) {
            uint64_t v;

            if (descsz == 4)
                v = le32(p + descoff);
            else if (descsz == 8)
                v = le64(p + descoff);
            else
                return xc__dom_err(dom, -ENOEXEC,
                                   "kernel %s: XEN_ELFNOTE_PHYS32_ENTRY "
                                   "has a %u-byte value (want 4 or 8)",
                                   name, descsz);
            if (v >= XC__DOM_4G)
                return xc__dom_err(dom, -ENOEXEC,
                                   "kernel %s: PVH entry 0x%llx is above "
                                   "4 GiB", name, (unsigned long long)v);
            *entry = (uint32_t)v;
            return 1;
        }
        if (desclen > len - descoff)
            break;              /* last note, padding cut short */
        pos = descoff + desclen;
    }
    return 0;
}

static int cmp_seg(const void *a, const void *b)
{
    const struct xc__dom_seg *x = a, *y = b;

    return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

int xc__dom_elf_parse(struct xc_dom_image *dom, const uint8_t *img,
                      size_t size, const char *name,
                      struct xc__dom_elf *elf)
{
    struct ehdr eh;
    unsigned int cls;
    size_t ehsize, phsize;
    bool have_entry = false;
    uint32_t entry = 0;
    uint32_t i;
    int r;

    memset(elf, 0, sizeof(*elf));
    if (size < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG))
        return xc__dom_err(dom, -ENOEXEC,
                           "kernel %s is not an ELF image (nor a bzImage "
                           "or compressed ELF)", name);
    cls = img[EI_CLASS];
    if (cls != ELFCLASS32 && cls != ELFCLASS64)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: unknown ELF class %u",
                           name, cls);
    if (img[EI_DATA] != ELFDATA2LSB)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: not a little-endian "
                           "ELF", name);
    if (img[EI_VERSION] != EV_CURRENT)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: unknown ELF version "
                           "%u", name, img[EI_VERSION]);
    ehsize = cls == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    phsize = cls == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (size < ehsize)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: truncated ELF header "
                           "(%zu bytes)", name, size);
    read_ehdr(img, cls, &eh);

    if (eh.type != ET_EXEC)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: ELF type %u is not "
                           "an executable", name, eh.type);
    if (!(cls == ELFCLASS64 && eh.machine == EM_X86_64) &&
        !(cls == ELFCLASS32 && eh.machine == EM_386))
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: ELF%u for machine %u "
                           "is not an x86 image", name,
                           cls == ELFCLASS64 ? 64 : 32, eh.machine);
    if (eh.phnum == 0 || eh.phnum == PN_XNUM)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: %u program headers",
                           name, eh.phnum);
    if (eh.phentsize != phsize)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: program header size "
                           "%u (want %zu)", name, eh.phentsize, phsize);
    if (!in_file(eh.phoff, (uint64_t)eh.phnum * phsize, size))
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: program headers at "
                           "%llu run past the end of the file (%zu bytes); "
                           "truncated?", name,
                           (unsigned long long)eh.phoff, size);

    elf->elfclass = cls == ELFCLASS64 ? 64 : 32;
    for (i = 0; i < eh.phnum; i++) {
        struct phdr ph;

        read_phdr(img + eh.phoff + (uint64_t)i * phsize, cls, &ph);
        if (ph.type == PT_NOTE) {
            if (!in_file(ph.offset, ph.filesz, size))
                return xc__dom_err(dom, -ENOEXEC, "kernel %s: note "
                                   "segment %u runs past the end of the "
                                   "file (%zu bytes); truncated?", name, i,
                                   size);
            if (have_entry)
                continue;
            r = scan_notes(dom, name, img + ph.offset, ph.filesz, ph.align,
                           i, &entry);
            if (r < 0)
                return r;
            have_entry = r == 1;
            continue;
        }
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        if (!in_file(ph.offset, ph.filesz, size))
            return xc__dom_err(dom, -ENOEXEC, "kernel %s: segment %u "
                               "(offset %llu, %llu bytes) runs past the end "
                               "of the file (%zu bytes); truncated?", name,
                               i, (unsigned long long)ph.offset,
                               (unsigned long long)ph.filesz, size);
        if (ph.filesz > ph.memsz)
            return xc__dom_err(dom, -ENOEXEC, "kernel %s: segment %u has "
                               "more file bytes (%llu) than memory bytes "
                               "(%llu)", name, i,
                               (unsigned long long)ph.filesz,
                               (unsigned long long)ph.memsz);
        if (ph.paddr >= XC__DOM_4G || ph.memsz > XC__DOM_4G - ph.paddr)
            return xc__dom_err(dom, -ENOEXEC, "kernel %s: segment %u at "
                               "0x%llx (+0x%llx) does not lie below 4 GiB",
                               name, i, (unsigned long long)ph.paddr,
                               (unsigned long long)ph.memsz);
        if (elf->nr_segs == XC__DOM_MAX_SEGS)
            return xc__dom_err(dom, -ENOEXEC, "kernel %s: more than %d "
                               "loadable segments", name, XC__DOM_MAX_SEGS);
        elf->segs[elf->nr_segs].paddr = ph.paddr;
        elf->segs[elf->nr_segs].filesz = ph.filesz;
        elf->segs[elf->nr_segs].memsz = ph.memsz;
        elf->segs[elf->nr_segs].offset = ph.offset;
        elf->nr_segs++;
    }

    if (elf->nr_segs == 0)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: no loadable segments",
                           name);
    qsort(elf->segs, elf->nr_segs, sizeof(elf->segs[0]), cmp_seg);
    for (i = 1; i < elf->nr_segs; i++) {
        const struct xc__dom_seg *a = &elf->segs[i - 1];
        const struct xc__dom_seg *b = &elf->segs[i];

        if (a->paddr + a->memsz > b->paddr)
            return xc__dom_err(dom, -ENOEXEC, "kernel %s: segments at "
                               "0x%llx-0x%llx and 0x%llx-0x%llx overlap",
                               name, (unsigned long long)a->paddr,
                               (unsigned long long)(a->paddr + a->memsz),
                               (unsigned long long)b->paddr,
                               (unsigned long long)(b->paddr + b->memsz));
    }
    elf->pstart = elf->segs[0].paddr;
    elf->pend = elf->segs[elf->nr_segs - 1].paddr +
                elf->segs[elf->nr_segs - 1].memsz;

    if (!have_entry)
        return xc__dom_err(dom, -ENOEXEC, "no PVH entry note "
                           "(XEN_ELFNOTE_PHYS32_ENTRY) in %s", name);
    for (i = 0; i < elf->nr_segs; i++) {
        const struct xc__dom_seg *s = &elf->segs[i];

        if (entry >= s->paddr && entry < s->paddr + s->filesz)
            break;
    }
    if (i == elf->nr_segs)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: PVH entry 0x%x is not "
                           "inside a loaded segment", name, entry);
    elf->phys32_entry = entry;
    return 0;
}

int xc__dom_elf_load(struct xc_dom_image *dom, const uint8_t *img,
                     const struct xc__dom_elf *elf)
{
    uint32_t i;

    for (i = 0; i < elf->nr_segs; i++) {
        const struct xc__dom_seg *s = &elf->segs[i];
        uint8_t *dst = dom->memops->map(dom, s->paddr, s->memsz);

        if (!dst)
            return -EFAULT;
        memcpy(dst, img + s->offset, s->filesz);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
    return 0;
}
