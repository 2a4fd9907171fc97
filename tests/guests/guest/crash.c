/* test-pvh-crash: triple fault (no usable IDT, then an exception). */
#include "lib.h"

void guest_main(uint32_t start_info)
{
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty_idt = { 0, 0 };

    (void)start_info;
    verdict(SUCCESS, "triple faulting now");
    __asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
    verdict(FAILURE, "survived a triple fault");
    halt_forever();
}
