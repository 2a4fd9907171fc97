/* test-pvh-poweroff: power off through ACPI (PM1a_CNT, \_S5). */
#include "acpi_power.h"

void guest_main(uint32_t start_info)
{
    const struct hvm_start_info *si =
        (const struct hvm_start_info *)(uintptr_t)start_info;
    const uint8_t *fadt = acpi_find(si, "FACP");
    uint32_t pm1a_cnt;
    int slp_typ;

    if (!fadt) {
        verdict(FAILURE, "no valid FADT");
        halt_forever();
    }
    memcpy(&pm1a_cnt, fadt + 64, 4);
    slp_typ = acpi_s5_type(fadt);
    if (!pm1a_cnt || slp_typ < 0) {
        verdict(FAILURE, "no PM1a_CNT or no \\_S5");
        halt_forever();
    }
    printk("S5: SLP_TYP %d via PM1a_CNT port %x\n", slp_typ, pm1a_cnt);
    verdict(SUCCESS, "powering off");
    outw((uint16_t)pm1a_cnt, (uint16_t)((slp_typ << 10) | (1U << 13)));
    verdict(FAILURE, "still running after the S5 request");
    halt_forever();
}
