/*
 * libxl_coredump.c - an ELF64 core file of a domain that gdb opens:
 * PT_NOTE with one NT_PRSTATUS per vCPU, then one PT_LOAD per guest RAM
 * range of the domain's memory map (vaddr = paddr = guest physical).
 */
#include "libxl.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>

#include "libxl_internal.h"

#define CHUNK (64UL << 20)

/* One note: header, "CORE\0" padded to 8, the prstatus (a multiple of
 * 4 bytes); laid out byte by byte, without struct padding. */
#define NOTE_NAME_SZ 8
#define NOTE_SIZE (sizeof(Elf64_Nhdr) + NOTE_NAME_SZ + \
                   sizeof(struct elf_prstatus))

static int write_all(int fd, const void *p, size_t len)
{
    const char *b = p;
    ssize_t w;

    while (len) {
        w = write(fd, b, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The vCPU's registers as gdb reads them from NT_PRSTATUS (struct
 * user_regs_struct); left zero, with a warning, if the core cannot
 * give them (the domain's process is gone). */
static void fill_regs(libxl_ctx *ctx, uint32_t domid, unsigned int vcpu,
                      struct elf_prstatus *prs)
{
    struct xc_vcpu_context c;
    struct user_regs_struct u;
    int r;

    r = xc_vcpu_getcontext(ctx->xch, domid, vcpu, &c);
    if (r < 0) {
        LOGEV(ctx, WARN, -r, "domain %u: core dump: vCPU %u registers "
              "unavailable, written as zero", domid, vcpu);
        return;
    }
    memset(&u, 0, sizeof(u));
    u.r15 = c.r15;
    u.r14 = c.r14;
    u.r13 = c.r13;
    u.r12 = c.r12;
    u.rbp = c.rbp;
    u.rbx = c.rbx;
    u.r11 = c.r11;
    u.r10 = c.r10;
    u.r9 = c.r9;
    u.r8 = c.r8;
    u.rax = c.rax;
    u.rcx = c.rcx;
    u.rdx = c.rdx;
    u.rsi = c.rsi;
    u.rdi = c.rdi;
    u.orig_rax = ~0ULL;
    u.rip = c.rip;
    u.cs = c.cs.selector;
    u.eflags = c.rflags;
    u.rsp = c.rsp;
    u.ss = c.ss.selector;
    u.fs_base = c.fs.base;
    u.gs_base = c.gs.base;
    u.ds = c.ds.selector;
    u.es = c.es.selector;
    u.fs = c.fs.selector;
    u.gs = c.gs.selector;
    memcpy(&prs->pr_reg, &u, sizeof(u) < sizeof(prs->pr_reg) ?
           sizeof(u) : sizeof(prs->pr_reg));
}

static int dump(libxl_ctx *ctx, uint32_t domid, const char *filename)
{
    struct xc_platform_info pi;
    uint8_t *notes = NULL;
    struct elf_prstatus prs;
    Elf64_Nhdr nh;
    Elf64_Phdr *ph = NULL;
    Elf64_Ehdr eh;
    xc_dominfo_t x;
    uint64_t off, done, len;
    unsigned int nload = 0, nvcpu, i, k;
    int fd = -1, r, rc;
    void *m;

    r = xc_domain_getinfo_single(ctx->xch, domid, &x);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: core dump", domid);
        return libxl__xc_error(r);
    }
    r = xc_domain_platform_info(ctx->xch, domid, &pi);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: reading its memory map", domid);
        return ERROR_FAIL;
    }
    nvcpu = x.max_vcpu_id + 1;
    for (i = 0; i < pi.nr_e820; i++)
        if (pi.e820[i].type == XC_E820_RAM)
            nload++;
    fd = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOGE(ctx, ERROR, "domain %u: creating core file %s", domid,
             filename);
        return ERROR_FAIL;
    }

    memset(&eh, 0, sizeof(eh));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = (Elf64_Half)(1 + nload);

    ph = libxl__calloc_or_die(1 + nload, sizeof(*ph));
    notes = libxl__calloc_or_die(nvcpu, NOTE_SIZE);
    for (i = 0; i < nvcpu; i++) {
        uint8_t *p = notes + (size_t)i * NOTE_SIZE;

        memset(&nh, 0, sizeof(nh));
        nh.n_namesz = 5;
        nh.n_descsz = sizeof(prs);
        nh.n_type = NT_PRSTATUS;
        memcpy(p, &nh, sizeof(nh));
        memcpy(p + sizeof(nh), "CORE", 5);
        /* gdb shows each vCPU as a thread */
        memset(&prs, 0, sizeof(prs));
        prs.pr_pid = (int)(i + 1);
        fill_regs(ctx, domid, i, &prs);
        memcpy(p + sizeof(nh) + NOTE_NAME_SZ, &prs, sizeof(prs));
    }
    off = sizeof(eh) + (1 + nload) * sizeof(Elf64_Phdr);
    ph[0].p_type = PT_NOTE;
    ph[0].p_offset = off;
    ph[0].p_filesz = (uint64_t)nvcpu * NOTE_SIZE;
    ph[0].p_align = 4;
    off += ph[0].p_filesz;
    off = (off + XC_PAGE_SIZE - 1) & ~(uint64_t)(XC_PAGE_SIZE - 1);
    for (i = 0, k = 1; i < pi.nr_e820; i++) {
        if (pi.e820[i].type != XC_E820_RAM)
            continue;
        ph[k].p_type = PT_LOAD;
        ph[k].p_flags = PF_R | PF_W | PF_X;
        ph[k].p_offset = off;
        ph[k].p_vaddr = pi.e820[i].addr;
        ph[k].p_paddr = pi.e820[i].addr;
        ph[k].p_filesz = pi.e820[i].size;
        ph[k].p_memsz = pi.e820[i].size;
        ph[k].p_align = XC_PAGE_SIZE;
        off += pi.e820[i].size;
        k++;
    }
    if (write_all(fd, &eh, sizeof(eh)) < 0 ||
        write_all(fd, ph, (1 + nload) * sizeof(*ph)) < 0 ||
        write_all(fd, notes, ph[0].p_filesz) < 0)
        goto io_error;
    for (k = 1; k <= nload; k++) {
        if (lseek(fd, (off_t)ph[k].p_offset, SEEK_SET) < 0)
            goto io_error;
        for (done = 0; done < ph[k].p_filesz; done += len) {
            len = ph[k].p_filesz - done;
            if (len > CHUNK)
                len = CHUNK;
            m = xc_map_foreign_range(ctx->xch, domid, (int)len, PROT_READ,
                    (unsigned long)((ph[k].p_paddr + done) >> XC_PAGE_SHIFT));
            if (!m) {
                LOGE(ctx, ERROR, "domain %u: mapping guest memory at %#lx",
                     domid, (unsigned long)(ph[k].p_paddr + done));
                rc = ERROR_FAIL;
                goto out;
            }
            r = write_all(fd, m, len);
            munmap(m, len);
            if (r < 0)
                goto io_error;
        }
    }
    if (fsync(fd) < 0)
        goto io_error;
    rc = 0;
    goto out;
io_error:
    LOGE(ctx, ERROR, "domain %u: writing core file %s", domid, filename);
    rc = ERROR_FAIL;
out:
    free(ph);
    free(notes);
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(filename);
    return rc;
}

int libxl_domain_core_dump(libxl_ctx *ctx, uint32_t domid,
                           const char *filename,
                           const libxl_asyncop_how *ao_how)
{
    libxl_dominfo info;
    bool was_paused;
    int rc;

    rc = libxl__need_daemons(ctx, "libxl_domain_core_dump");
    if (rc)
        return rc;
    rc = libxl_domain_info(ctx, &info, domid);
    if (rc) {
        LOG(ctx, ERROR, "domain %u: core dump: no such domain", domid);
        return rc;
    }
    was_paused = info.paused || info.shutdown;
    libxl_dominfo_dispose(&info);
    if (!was_paused && xc_domain_pause(ctx->xch, domid) < 0) {
        LOGE(ctx, ERROR, "domain %u: pausing it for the core dump", domid);
        return ERROR_FAIL;
    }
    rc = dump(ctx, domid, filename);
    if (!was_paused)
        xc_domain_unpause(ctx->xch, domid);
    return libxl__ao_complete(ctx, domid, ao_how, rc);
}
