/*
 * test-pvh-pwrbtn: wait for the ACPI power button, then power off (S5).
 *
 * Enables PWRBTN_EN in PM1a_EN, says so on the console, polls PM1a_STS
 * for PWRBTN_STS (a press that came before the enable counts too),
 * checks that the SCI (the FADT's SCI_INT, on the slave 8259) is
 * requested, clears the status and powers off.
 */
#include "acpi_power.h"

#define PM1_PWRBTN   0x0100
#define PIC2_CMD     0xA0
#define PIC_READ_IRR 0x0A

/* Is ISA interrupt irq requested at the 8259s (IRR)? */
static int pic_irr(unsigned int irq)
{
    uint16_t port = irq < 8 ? 0x20 : PIC2_CMD;

    outb(port, PIC_READ_IRR);
    return (inb(port) >> (irq & 7)) & 1;
}

void guest_main(uint32_t start_info)
{
    const struct hvm_start_info *si =
        (const struct hvm_start_info *)(uintptr_t)start_info;
    const uint8_t *fadt = acpi_find(si, "FACP");
    uint32_t pm1a_evt, pm1a_cnt;
    uint16_t sci, sts;
    unsigned long spins = 0;
    int slp_typ;

    if (!fadt) {
        verdict(FAILURE, "no valid FADT");
        halt_forever();
    }
    memcpy(&sci, fadt + 46, 2);
    memcpy(&pm1a_evt, fadt + 56, 4);
    memcpy(&pm1a_cnt, fadt + 64, 4);
    slp_typ = acpi_s5_type(fadt);
    if (!pm1a_evt || !pm1a_cnt || slp_typ < 0 || sci > 15) {
        verdict(FAILURE, "no PM1a blocks, SCI or \\_S5");
        halt_forever();
    }
    /* a press before PWRBTN_EN was set is kept in the status; with the
     * enable, it raises the SCI like a later one */
    if (inw((uint16_t)pm1a_evt) & PM1_PWRBTN) {
        printk("pwrbtn: pressed before PWRBTN_EN was set\n");
    } else if (pic_irr(sci)) {
        verdict(FAILURE, "SCI %u requested before any press", sci);
        halt_forever();
    }
    /* PM1a_EN is the second half of the event block */
    outw((uint16_t)(pm1a_evt + 2), PM1_PWRBTN);
    printk("pwrbtn: waiting for the power button (SCI %u)\n", sci);
    while (!((sts = inw((uint16_t)pm1a_evt)) & PM1_PWRBTN)) {
        __asm__ volatile("pause");
        spins++;
    }
    printk("pwrbtn: pressed (PM1a_STS %x after %lu polls)\n", sts, spins);
    if (!pic_irr(sci)) {
        verdict(FAILURE, "PWRBTN_STS set but SCI %u not requested", sci);
        halt_forever();
    }
    printk("pwrbtn: SCI %u requested\n", sci);
    outw((uint16_t)pm1a_evt, PM1_PWRBTN);          /* write 1 to clear */
    if (inw((uint16_t)pm1a_evt) & PM1_PWRBTN) {
        verdict(FAILURE, "PWRBTN_STS still set after clearing it");
        halt_forever();
    }
    verdict(SUCCESS, "power button: powering off");
    outw((uint16_t)pm1a_cnt, (uint16_t)((slp_typ << 10) | (1U << 13)));
    verdict(FAILURE, "still running after the S5 request");
    halt_forever();
}
