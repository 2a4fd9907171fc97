/*
 * test-pvh-smp: start every AP the MADT lists with INIT-SIPI-SIPI and
 * check each one checked in.
 */
#include "lib.h"

#define TRAMP_ADDR   0x8000UL
#define LAPIC_SVR    0x0F0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_BUSY     (1U << 12)

extern const uint8_t ap_tramp_start[], ap_tramp_end[], ap_tramp_count[];

static void delay(unsigned long n)
{
    volatile unsigned long i;

    for (i = 0; i < n; i++)
        __asm__ volatile("pause");
}

static void ipi(uint32_t lo)
{
    unsigned long tries = 0;

    mmio_write32(LAPIC_BASE + LAPIC_ICR_HI, 0);
    mmio_write32(LAPIC_BASE + LAPIC_ICR_LO, lo);
    while ((mmio_read32(LAPIC_BASE + LAPIC_ICR_LO) & ICR_BUSY) &&
           ++tries < 100000)
        ;
}

static unsigned int madt_cpus(const struct hvm_start_info *si)
{
    const uint8_t *madt = acpi_find(si, "APIC");
    uint32_t len, off, n = 0;

    if (!madt)
        return 0;
    memcpy(&len, madt + 4, 4);
    for (off = 44; off + 2 <= len && madt[off + 1]; off += madt[off + 1])
        if (madt[off] == 0 && (madt[off + 4] & 1))
            n++;
    return n;
}

void guest_main(uint32_t start_info)
{
    const struct hvm_start_info *si =
        (const struct hvm_start_info *)(uintptr_t)start_info;
    volatile uint16_t *count;
    unsigned int cpus = madt_cpus(si);
    unsigned long waited;

    if (cpus == 0) {
        verdict(FAILURE, "no processors in the MADT");
        halt_forever();
    }
    printk("smp: the MADT lists %u processors\n", cpus);
    if (cpus == 1) {
        verdict(SKIP, "only one vCPU");
        halt_forever();
    }
    memcpy((void *)TRAMP_ADDR, ap_tramp_start,
           (size_t)(ap_tramp_end - ap_tramp_start));
    count = (volatile uint16_t *)(TRAMP_ADDR +
                                  (uintptr_t)(ap_tramp_count -
                                              ap_tramp_start));
    *count = 0;

    mmio_write32(LAPIC_BASE + LAPIC_SVR, 0x1FF);
    /* all excluding self: INIT, then two start-ups at TRAMP_ADDR */
    ipi(0x000C4500);
    delay(2000);
    ipi(0x000C4600 | (TRAMP_ADDR >> 12));
    delay(200);
    ipi(0x000C4600 | (TRAMP_ADDR >> 12));

    for (waited = 0; *count < cpus - 1 && waited < 2000000; waited++)
        __asm__ volatile("pause");
    printk("\nsmp: %u of %u APs checked in\n", (unsigned)*count, cpus - 1);
    if (*count == cpus - 1)
        verdict(SUCCESS, "%u vCPUs up", cpus);
    else
        verdict(FAILURE, "only %u of %u APs started", (unsigned)*count,
                cpus - 1);
    halt_forever();
}
