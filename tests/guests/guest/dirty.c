/*
 * test-pvh-dirty: dirties memory for the live-migration benchmark
 * (bench/migrate), and checks that memory came back right.
 *
 * Command line, words separated by spaces (all optional):
 *   dirty=N   rewrite N MiB of RAM in a loop, one 8-byte store at the
 *             start of each 4 KiB page per pass (default: half the RAM
 *             above 4 MiB; 0: no rewriting, only the ticks)
 *   fill=M    at boot, fill M MiB (at least the dirty ones; "all": the
 *             whole RAM above 4 MiB) with a pattern, every word, so that
 *             a migration must carry that memory too (default: the
 *             dirty MiB only)
 *
 * The region starts at 4 MiB (the guest itself lies below 2 MiB) and
 * ends 2 MiB below the end of the RAM range of the memory map that holds
 * it (qemu's firmware keeps its tables up there).  Word 0 of page i
 * holds (i << 32 | pass) after pass `pass` wrote it; every other word w
 * holds FILL(i, w).  Before each store the loop checks that the page
 * still holds the previous pass's value, so a page that a migration
 * brought back wrong is seen on the next pass; a byte typed on COM1
 * checks every word of the filled region.  Either check, when it fails,
 * prints "Test result: FAILURE" with the page; a full check that passes
 * prints "verify: N pages ok" and "Test result: SUCCESS".
 *
 * Output on COM1: "Test result: SUCCESS (dirtying)" once, then a '.'
 * every 2^23 TSC cycles (a few ms: one port write each, so an observer
 * can time the gaps in the guest's run) and every 256 ticks a line
 * "dirty: tick T pass P" (both only ever grow).  The guest's TSC is its
 * clock; a migration that restores the TSC hides the downtime from the
 * guest itself, so the gap is measured by whoever reads the console.
 */
#include "lib.h"

#define COM1        0x3F8
#define UART_LSR    5
#define LSR_DR      0x01
#define MIB         (1ULL << 20)
#define PAGE        4096ULL
#define REGION_BASE (4 * MIB)
#define TOP_SLACK   (2 * MIB)
#define TICK_SHIFT  23
#define LINE_TICKS  256
#define INPUT_TICKS 16
#define PAGES_PER_TSC 4
#define FILL(i, w)  ((((uint64_t)(i) << 32) | (w)) ^ 0xA5A5A5A55A5A5A5AULL)
#define PATTERN(i, pass) (((uint64_t)(i) << 32) | (uint32_t)(pass))
#define E820_RAM    1

static uint64_t *region;           /* REGION_BASE, identity mapped */
static uint64_t dirty_pages, fill_pages;
static uint64_t next_tick, ticks;
static uint32_t pass;              /* being written */
static uint64_t cursor;            /* the next page it writes */

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* One port write: the core's and qemu's UARTs take a byte at any time. */
static void tick_mark(void)
{
    outb(COM1, '.');
}

static uint64_t parse_num(const char *s, const char **end)
{
    uint64_t v = 0;

    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    *end = s;
    return v;
}

/* The value of key=NUM on the command line; def when absent, all for
 * key=all. */
static uint64_t cmdline_value(const char *cl, const char *key, uint64_t def,
                              uint64_t all)
{
    size_t klen = strlen(key);
    const char *p = cl, *end;

    while (p && *p) {
        while (*p == ' ')
            p++;
        if (!memcmp(p, key, klen) && p[klen] == '=') {
            p += klen + 1;
            if (!memcmp(p, "all", 3))
                return all;
            return parse_num(p, &end);
        }
        while (*p && *p != ' ')
            p++;
    }
    return def;
}

/* The end of the RAM range of the memory map that holds REGION_BASE. */
static uint64_t ram_end(const struct hvm_start_info *si)
{
    const struct hvm_memmap_entry *mm =
        (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
    uint32_t k;

    for (k = 0; si->memmap_paddr && k < si->memmap_entries; k++)
        if (mm[k].type == E820_RAM && mm[k].addr <= REGION_BASE &&
            mm[k].addr + mm[k].size > REGION_BASE)
            return mm[k].addr + mm[k].size;
    return 0;
}

/* head.S maps the first 128 MiB in 2 MiB pages: map the whole first GiB
 * the same way (its page directory has room for it). */
static void map_first_gib(void)
{
    uint64_t cr3, *pml4, *pdpt, *pd;
    unsigned int e;

    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    pml4 = (uint64_t *)(uintptr_t)(cr3 & ~0xFFFULL);
    pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xFFFULL);
    pd = (uint64_t *)(uintptr_t)(pdpt[0] & ~0xFFFULL);
    for (e = 0; e < 512; e++)
        if (!(pd[e] & 1))
            pd[e] = ((uint64_t)e << 21) | 0x83;    /* P, W, 2 MiB */
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

static void fail_page(uint64_t i, uint64_t w, uint64_t got, uint64_t want)
{
    verdict(FAILURE, "page %lu (at %p) word %lu holds %lx, not %lx, pass %u",
            (unsigned long)i, (void *)(region + i * 512), (unsigned long)w,
            (unsigned long)got, (unsigned long)want, pass);
    halt_forever();
}

/* Every word of the filled pages, on request. */
static void verify_all(void)
{
    uint64_t i, w, *p;

    for (i = 0; i < fill_pages; i++) {
        p = region + i * 512;
        if (i < dirty_pages) {
            uint32_t want = i < cursor ? pass : pass - 1;

            if (p[0] != PATTERN(i, want))
                fail_page(i, 0, p[0], PATTERN(i, want));
        } else if (p[0] != FILL(i, 0)) {
            fail_page(i, 0, p[0], FILL(i, 0));
        }
        for (w = 1; w < 512; w++)
            if (p[w] != FILL(i, w))
                fail_page(i, w, p[w], FILL(i, w));
    }
    printk("\nverify: %lu pages ok, pass %u\n", (unsigned long)fill_pages,
           pass);
    verdict(SUCCESS, "memory intact");
}

/* Time for a tick?  Then its mark, now and then the line, and any typed
 * byte asks for the full check. */
static void tick_check(void)
{
    uint64_t now = rdtsc();

    if (now < next_tick)
        return;
    next_tick += 1ULL << TICK_SHIFT;
    if (now > next_tick + (4ULL << TICK_SHIFT))
        next_tick = now + (1ULL << TICK_SHIFT);   /* the TSC jumped */
    ticks++;
    tick_mark();
    if (ticks % LINE_TICKS == 0)
        printk("\ndirty: tick %lu pass %u\n", (unsigned long)ticks, pass);
    if (ticks % INPUT_TICKS == 0 && (inb(COM1 + UART_LSR) & LSR_DR)) {
        while (inb(COM1 + UART_LSR) & LSR_DR)
            (void)inb(COM1);
        verify_all();
    }
}

void guest_main(uint32_t start_info)
{
    const struct hvm_start_info *si =
        (const struct hvm_start_info *)(uintptr_t)start_info;
    const char *cl = si->cmdline_paddr ?
        (const char *)(uintptr_t)si->cmdline_paddr : "";
    uint64_t end = ram_end(si), avail, dirty_mib, fill_mib, i, w, *p;

    outb(COM1 + 1, 0x00);            /* no UART interrupts */
    if (end < REGION_BASE + TOP_SLACK + MIB) {
        verdict(ERROR, "no RAM range above 4 MiB in the memory map");
        halt_forever();
    }
    if (end > (1ULL << 30))
        end = 1ULL << 30;            /* what map_first_gib maps */
    avail = (end - TOP_SLACK - REGION_BASE) / MIB;
    dirty_mib = cmdline_value(cl, "dirty", avail / 2, avail);
    fill_mib = cmdline_value(cl, "fill", 0, avail);
    if (dirty_mib > avail || fill_mib > avail) {
        verdict(ERROR, "dirty=%lu fill=%lu: only %lu MiB above 4 MiB",
                (unsigned long)dirty_mib, (unsigned long)fill_mib,
                (unsigned long)avail);
        halt_forever();
    }
    if (fill_mib < dirty_mib)
        fill_mib = dirty_mib;
    /* the start info is read: the region may overwrite it */
    map_first_gib();
    region = (uint64_t *)(uintptr_t)REGION_BASE;
    dirty_pages = dirty_mib * (MIB / PAGE);
    fill_pages = fill_mib * (MIB / PAGE);
    for (i = 0; i < fill_pages; i++) {
        p = region + i * 512;
        for (w = 0; w < 512; w++)
            p[w] = FILL(i, w);
        if (i < dirty_pages)
            p[0] = PATTERN(i, 0);
    }
    printk("dirty: %lu MiB rewritten, %lu MiB filled, at %p\n",
           (unsigned long)dirty_mib, (unsigned long)fill_mib,
           (void *)region);
    verdict(SUCCESS, "dirtying");
    next_tick = rdtsc();
    for (;;) {
        if (!dirty_pages) {
            tick_check();
            __asm__ volatile("pause");
            continue;
        }
        pass++;
        for (cursor = 0; cursor < dirty_pages;) {
            p = region + cursor * 512;
            if (*p != PATTERN(cursor, pass - 1))
                fail_page(cursor, 0, *p, PATTERN(cursor, pass - 1));
            *(volatile uint64_t *)p = PATTERN(cursor, pass);
            if (++cursor % PAGES_PER_TSC == 0)
                tick_check();
        }
    }
}
