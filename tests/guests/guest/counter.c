/*
 * test-pvh-counter: print "counter N" lines forever, so the harness can
 * see that output stops while the domain is paused.
 */
#include "lib.h"

void guest_main(uint32_t start_info)
{
    unsigned long n = 0;
    volatile unsigned long spin;

    (void)start_info;
    verdict(SUCCESS, "counting");
    for (;;) {
        printk("counter %lu\n", ++n);
        for (spin = 0; spin < 2000; spin++)
            ;
    }
}
