/* test-pvh-hello: print a line, succeed, idle. */
#include "lib.h"

void guest_main(uint32_t start_info)
{
    const struct hvm_start_info *si =
        (const struct hvm_start_info *)(uintptr_t)start_info;

    printk("Hello from test-pvh-hello\n");
    if (!si || si->magic != HVM_START_MAGIC) {
        verdict(ERROR, "no hvm_start_info (ebx %x)", start_info);
        halt_forever();
    }
    verdict(SUCCESS, NULL);
    halt_forever();
}
