/*
 * test-pvh-reboot: reset through the i8042 (command line "kbd", the
 * default) or the FADT reset register ("acpi").
 */
#include "lib.h"

void guest_main(uint32_t start_info)
{
    const struct hvm_start_info *si =
        (const struct hvm_start_info *)(uintptr_t)start_info;
    const char *cmdline = si->cmdline_paddr ?
        (const char *)(uintptr_t)si->cmdline_paddr : "";

    if (!strcmp(cmdline, "acpi")) {
        const uint8_t *fadt = acpi_find(si, "FACP");
        uint32_t flags;
        uint64_t port;

        if (!fadt) {
            verdict(FAILURE, "no valid FADT");
            halt_forever();
        }
        memcpy(&flags, fadt + 112, 4);
        memcpy(&port, fadt + 120, 8);
        if (!(flags & (1U << 10)) || fadt[116] != 1) {
            verdict(FAILURE, "no I/O reset register in the FADT");
            halt_forever();
        }
        verdict(SUCCESS, "rebooting via the ACPI reset register %lx",
                (unsigned long)port);
        outb((uint16_t)port, fadt[128]);
    } else {
        verdict(SUCCESS, "rebooting via the i8042");
        outb(0x64, 0xFE);
    }
    verdict(FAILURE, "still running after the reset request");
    halt_forever();
}
