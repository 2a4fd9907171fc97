/*
 * test-pvh-ticker: print "tick N" lines forever, paced by the TSC (a line
 * every 2^25 cycles, some 10-30 ms), so a test can check that not one
 * line is lost or doubled while the daemon around the domain restarts.
 */
#include "lib.h"

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

void guest_main(uint32_t start_info)
{
    unsigned long n = 0;
    uint64_t next;

    (void)start_info;
    verdict(SUCCESS, "ticking");
    next = rdtsc();
    for (;;) {
        next += 1ULL << 25;
        while (rdtsc() < next)
            ;
        printk("tick %lu\n", ++n);
    }
}
