/*
 * harness.c - a private core (tests/host), a small PVH loader and
 * console polling.
 *
 * Guests are loaded by the domain builder (libxenctrl's xc_dom_*).  A
 * minimal loader of our own (ELF64 PT_LOAD + the PHYS32_ENTRY note,
 * start info below 640 KiB) is kept as a cross-check: set
 * HARNESS_MINI_LOADER=1 to use it instead.
 */
#include "harness.h"

#include "xenguest.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SI_ADDR     0x1000UL      /* start info, memmap, module list */
#define CMDLINE_ADDR 0x2000UL
#define MOD_ADDR    0x10000UL
#define MOD_MAX     (0x70000UL)
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct si {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};

struct modent {
    uint64_t paddr, size, cmdline_paddr, reserved;
};

uint32_t harness_create_flags = XC_DOMCFG_HVM;

double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void quiet_vmessage(xentoollog_logger *lg, xentoollog_level level,
                           int errnoval, const char *context,
                           const char *fmt, va_list al)
{
    (void)lg;
    if (level < XTL_ERROR || !getenv("HARNESS_VERBOSE"))
        return;
    fprintf(stderr, "%s: ", context ? context : "?");
    vfprintf(stderr, fmt, al);
    if (errnoval >= 0)
        fprintf(stderr, ": %s", strerror(errnoval));
    fputc('\n', stderr);
}

static xentoollog_logger test_logger = {
    .vmessage = quiet_vmessage,
};

int core_start(struct core *c)
{
    static const struct test_host_opts opts = { .what = TEST_HOST_CORE };

    return core_start_with(c, &opts);
}

int core_start_with(struct core *c, const struct test_host_opts *opts)
{
    int rc, tries;

    memset(c, 0, sizeof(*c));
    rc = test_host_start(&c->host, opts);
    if (rc < 0) {
        fprintf(stderr, "core_start: %s\n", c->host.err);
        return rc;
    }
    c->logger = &test_logger;
    for (tries = 0; tries < 50 && !c->xch; tries++) {
        c->xch = xc_interface_open(c->logger, NULL, 0);
        if (!c->xch)
            usleep(10000);
    }
    return c->xch ? 0 : -EIO;
}

int core_restart(struct core *c)
{
    static const struct test_host_opts opts = { .what = TEST_HOST_CORE };
    int rc, tries;

    xc_interface_close(c->xch);
    c->xch = NULL;
    rc = test_host_start_core(&c->host, &opts);
    if (rc < 0) {
        fprintf(stderr, "core_restart: %s\n", c->host.err);
        return rc;
    }
    for (tries = 0; tries < 50 && !c->xch; tries++) {
        c->xch = xc_interface_open(c->logger, NULL, 0);
        if (!c->xch)
            usleep(10000);
    }
    return c->xch ? 0 : -EIO;
}

void core_stop(struct core *c)
{
    xc_interface_close(c->xch);
    c->xch = NULL;
    test_host_stop(&c->host);
}

static int copy_to_guest(xc_interface *xch, uint32_t domid, uint64_t gpa,
                         const void *src, size_t len, size_t zero_len)
{
    uint64_t start = gpa & ~0xFFFULL;
    size_t span = (size_t)(gpa + len + zero_len - start);
    uint8_t *p;

    p = xc_map_foreign_range(xch, domid, (int)span, PROT_READ | PROT_WRITE,
                             (unsigned long)(start >> 12));
    if (!p)
        return -errno;
    memcpy(p + (gpa - start), src, len);
    memset(p + (gpa - start) + len, 0, zero_len);
    munmap(p, span);
    return 0;
}

/* Load the PT_LOAD segments; find the PHYS32 entry note. */
static int load_elf(xc_interface *xch, uint32_t domid, const uint8_t *img,
                    size_t size, uint32_t *entry_r)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    const Elf64_Phdr *ph;
    int i, rc, found = 0;

    if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_phoff + (size_t)eh->e_phnum * sizeof(*ph) > size)
        return -ENOEXEC;
    ph = (const Elf64_Phdr *)(img + eh->e_phoff);
    for (i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            if (ph[i].p_offset + ph[i].p_filesz > size)
                return -ENOEXEC;
            rc = copy_to_guest(xch, domid, ph[i].p_paddr,
                               img + ph[i].p_offset, ph[i].p_filesz,
                               ph[i].p_memsz - ph[i].p_filesz);
            if (rc < 0)
                return rc;
        } else if (ph[i].p_type == PT_NOTE) {
            size_t off = ph[i].p_offset, end = off + ph[i].p_filesz;

            while (off + 12 <= end && end <= size) {
                uint32_t namesz, descsz, type;

                memcpy(&namesz, img + off, 4);
                memcpy(&descsz, img + off + 4, 4);
                memcpy(&type, img + off + 8, 4);
                off += 12;
                if (namesz == 4 && !memcmp(img + off, "Xen", 4) &&
                    type == XEN_ELFNOTE_PHYS32_ENTRY && descsz >= 4) {
                    memcpy(entry_r, img + off + ((namesz + 3) & ~3U), 4);
                    found = 1;
                }
                off += ((namesz + 3) & ~3U) + ((descsz + 3) & ~3U);
            }
        }
    }
    return found ? 0 : -ENOEXEC;
}

static int load_all(xc_interface *xch, uint32_t domid, const char *path,
                    const char *cmdline, const void *mod, size_t mod_len)
{
    struct xc_platform_info pi;
    struct xc_vcpu_context ctx;
    uint8_t page[4096];
    struct si *si = (struct si *)page;
    struct modent *me;
    uint8_t *img = NULL;
    uint32_t entry = 0;
    struct stat st;
    int fd, rc;
    size_t off;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || st.st_size <= 0) {
        rc = -EIO;
        goto out;
    }
    img = malloc((size_t)st.st_size);
    if (!img || read(fd, img, (size_t)st.st_size) != st.st_size) {
        rc = -EIO;
        goto out;
    }
    rc = load_elf(xch, domid, img, (size_t)st.st_size, &entry);
    if (rc < 0)
        goto out;
    rc = xc_domain_platform_info(xch, domid, &pi);
    if (rc < 0)
        goto out;

    memset(page, 0, sizeof(page));
    si->magic = 0x336ec578U;
    si->version = 1;
    si->rsdp_paddr = pi.rsdp_paddr;
    off = sizeof(*si);
    si->memmap_paddr = SI_ADDR + off;
    si->memmap_entries = pi.nr_e820;
    memcpy(page + off, pi.e820, pi.nr_e820 * sizeof(pi.e820[0]));
    off += pi.nr_e820 * sizeof(pi.e820[0]);
    if (mod && mod_len) {
        if (mod_len > MOD_MAX) {
            rc = -E2BIG;
            goto out;
        }
        me = (struct modent *)(page + off);
        me->paddr = MOD_ADDR;
        me->size = mod_len;
        si->nr_modules = 1;
        si->modlist_paddr = SI_ADDR + off;
        rc = copy_to_guest(xch, domid, MOD_ADDR, mod, mod_len, 0);
        if (rc < 0)
            goto out;
    }
    if (cmdline) {
        rc = copy_to_guest(xch, domid, CMDLINE_ADDR, cmdline,
                           strlen(cmdline) + 1, 0);
        if (rc < 0)
            goto out;
        si->cmdline_paddr = CMDLINE_ADDR;
    }
    rc = copy_to_guest(xch, domid, SI_ADDR, page, sizeof(page), 0);
    if (rc < 0)
        goto out;

    memset(&ctx, 0, sizeof(ctx));
    ctx.mode = XC_VCPU_MODE_PVH32;
    ctx.rip = entry;
    ctx.rbx = SI_ADDR;
    rc = xc_vcpu_setcontext(xch, domid, 0, &ctx);
out:
    free(img);
    close(fd);
    return rc;
}

static int build(xc_interface *xch, uint32_t domid, const char *path,
                 const char *cmdline, const void *mod, size_t mod_len,
                 unsigned int mem_mb)
{
    struct xc_dom_image *dom = xc_dom_allocate(xch, cmdline, NULL);
    int rc;

    if (!dom)
        return -ENOMEM;
    rc = xc_dom_kernel_file(dom, path);
    if (rc == 0 && mod && mod_len)
        rc = xc_dom_module_mem(dom, mod, mod_len, NULL);
    if (rc == 0)
        rc = xc_dom_boot_xen_init(dom, xch, domid);
    if (rc == 0)
        rc = xc_dom_parse_image(dom);
    if (rc == 0)
        rc = xc_dom_mem_init(dom, mem_mb);
    if (rc == 0)
        rc = xc_dom_boot_mem_init(dom);
    if (rc == 0)
        rc = xc_dom_build_image(dom);
    if (rc == 0)
        rc = xc_dom_boot_image(dom);
    if (rc < 0)
        fprintf(stderr, "building %s into domain %u: %s\n", path, domid,
                xc_dom_last_error(dom));
    xc_dom_release(dom);
    return rc;
}

int guest_boot(xc_interface *xch, const char *path, unsigned int vcpus,
               unsigned int mem_mb, const char *cmdline, const void *mod,
               size_t mod_len, uint32_t *domid_r)
{
    struct xc_domain_config cfg;
    uint32_t domid = 0;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_vcpus = vcpus;
    cfg.memory_kb = (uint64_t)mem_mb << 10;
    cfg.flags = harness_create_flags;
    rc = xc_domain_create(xch, &domid, &cfg);
    if (rc < 0)
        return rc;
    if (getenv("HARNESS_MINI_LOADER"))
        rc = load_all(xch, domid, path, cmdline, mod, mod_len);
    else
        rc = build(xch, domid, path, cmdline, mod, mod_len, mem_mb);
    if (rc < 0) {
        xc_domain_destroy(xch, domid);
        return rc;
    }
    *domid_r = domid;
    return 0;
}

/* Does the ring's text hold what the caller waits for? */
typedef bool (*ring_match_fn)(const char *text, const char *needle);

static bool match_anywhere(const char *text, const char *needle)
{
    return strstr(text, needle) != NULL;
}

/* needle, then the end of its line: the whole line has arrived */
static bool match_line(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);

    return p && strchr(p + strlen(needle), '\n');
}

static int ring_wait(xc_interface *xch, uint32_t domid, ring_match_fn match,
                     const char *needle, int timeout_ms, char *buf,
                     size_t cap)
{
    static char local[65537];
    double end = now_ms() + timeout_ms;
    struct xc_console_status st;
    uint64_t seen = 0;
    size_t len;
    int rc, left;

    for (;;) {
        len = sizeof(local) - 1;
        rc = xc_console_read_ring(xch, domid, local, &len);
        if (rc < 0)
            return rc;
        local[len] = '\0';
        if (buf && cap)
            snprintf(buf, cap, "%s", local);
        if (match(local, needle))
            return 1;
        /* the core answers once the guest wrote more than we read */
        left = (int)(end - now_ms());
        if (left <= 0)
            return 0;
        if (seen < len)
            seen = len;
        rc = xc_console_wait(xch, domid, seen, left, &st);
        if (rc == -ETIMEDOUT)
            return 0;
        if (rc < 0)
            return rc;
        if (st.produced <= seen && st.shutdown) {
            /* shut down with nothing new: one last look */
            len = sizeof(local) - 1;
            rc = xc_console_read_ring(xch, domid, local, &len);
            if (rc < 0)
                return rc;
            local[len] = '\0';
            if (buf && cap)
                snprintf(buf, cap, "%s", local);
            return match(local, needle) ? 1 : 0;
        }
        seen = st.produced;
    }
}

int console_wait(xc_interface *xch, uint32_t domid, const char *needle,
                 int timeout_ms, char *buf, size_t cap)
{
    return ring_wait(xch, domid, match_anywhere, needle, timeout_ms, buf,
                     cap);
}

int console_wait_line(xc_interface *xch, uint32_t domid, const char *prefix,
                      int timeout_ms, char *buf, size_t cap)
{
    return ring_wait(xch, domid, match_line, prefix, timeout_ms, buf, cap);
}

int shutdown_wait(xc_interface *xch, uint32_t domid, int timeout_ms,
                  unsigned int *reason)
{
    double end = now_ms() + timeout_ms;
    xc_dominfo_t info;
    int rc;

    for (;;) {
        rc = xc_domain_getinfo_single(xch, domid, &info);
        if (rc < 0)
            return rc;
        if (info.shutdown) {
            *reason = info.shutdown_reason;
            return 1;
        }
        if (now_ms() > end)
            return 0;
        usleep(5000);
    }
}
