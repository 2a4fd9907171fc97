/*
 * test-pvh-pwrbtn: wait for the ACPI power button, then power off (S5).
 *
 * Enables PWRBTN_EN in PM1a_EN, says so on the console, polls PM1a_STS
 * for PWRBTN_STS (a press that came before the enable counts too),
 * checks that the SCI (the FADT's SCI_INT, on the slave 8259) is
 * requested, clears the status and powers off.
 *
 * With the command line "sci" it waits halted instead: the SCI is routed
 * through the IOAPIC (level, active high, as the MADT says) to an
 * interrupt handler that clears the status, and the guest powers off
 * once the handler ran.
 */
#include "acpi_power.h"

#define PM1_PWRBTN   0x0100
#define PIC2_CMD     0xA0
#define PIC_READ_IRR 0x0A

#define SCI_VECTOR      0x49
#define IOAPIC_BASE     0xFEC00000ULL
#define LAPIC_EOI       0x0B0
#define LAPIC_TPR       0x080
#define LAPIC_SVR       0x0F0

struct idt_entry {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static uint16_t evt_port;
static volatile unsigned int sci_count;
static volatile uint16_t sci_status;

extern void sci_isr(void);
extern void pwrbtn_unexpected_isr(void);
void sci_handler(void);
void pwrbtn_unexpected(void);

void pwrbtn_unexpected(void)
{
    verdict(FAILURE, "unexpected exception or interrupt");
}

/* The SCI: note the status, clear it (the line drops), EOI. */
void sci_handler(void)
{
    uint16_t sts = inw(evt_port);

    sci_status = sts;
    outw(evt_port, sts & PM1_PWRBTN);
    sci_count++;
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

static void set_gate(unsigned int vec, void (*fn)(void))
{
    uint64_t a = (uint64_t)(uintptr_t)fn;

    idt[vec].off_lo = (uint16_t)a;
    idt[vec].sel = 0x08;
    idt[vec].ist = 0;
    idt[vec].type = 0x8E;                /* present, interrupt gate */
    idt[vec].off_mid = (uint16_t)(a >> 16);
    idt[vec].off_hi = (uint32_t)(a >> 32);
    idt[vec].zero = 0;
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(IOAPIC_BASE, reg);
    mmio_write32(IOAPIC_BASE + 0x10, v);
}

/* IDT, LAPIC on, IOAPIC pin sci -> SCI_VECTOR (level, high, CPU 0). */
static void route_sci(unsigned int sci)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) desc;
    unsigned int v;

    for (v = 0; v < 256; v++)
        set_gate(v, pwrbtn_unexpected_isr);
    set_gate(SCI_VECTOR, sci_isr);
    desc.limit = sizeof(idt) - 1;
    desc.base = (uint64_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" : : "m"(desc));
    /* the 8259s stay masked: the IOAPIC delivers */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    mmio_write32(LAPIC_BASE + LAPIC_SVR, 0x1FF);
    mmio_write32(LAPIC_BASE + LAPIC_TPR, 0);
    ioapic_write(0x11 + 2 * sci, 0);                   /* APIC id 0 */
    ioapic_write(0x10 + 2 * sci, SCI_VECTOR | (1U << 15));
}

/* Wait halted for the SCI; power off from there. */
static void __attribute__((noreturn)) wait_sci(uint16_t sci,
                                               uint32_t pm1a_cnt,
                                               int slp_typ)
{
    unsigned long halts = 0;

    route_sci(sci);
    outw((uint16_t)(evt_port + 2), PM1_PWRBTN);
    printk("pwrbtn: waiting for the power button (SCI %u, halted)\n", sci);
    while (!sci_count) {
        __asm__ volatile("sti; hlt; cli");
        halts++;
    }
    printk("pwrbtn: SCI %u taken (PM1a_STS %x, %lu halts)\n", sci,
           sci_status, halts);
    if (!(sci_status & PM1_PWRBTN)) {
        verdict(FAILURE, "SCI without PWRBTN_STS");
        halt_forever();
    }
    if (inw(evt_port) & PM1_PWRBTN) {
        verdict(FAILURE, "PWRBTN_STS still set after clearing it");
        halt_forever();
    }
    verdict(SUCCESS, "power button (SCI): powering off");
    outw((uint16_t)pm1a_cnt, (uint16_t)((slp_typ << 10) | (1U << 13)));
    verdict(FAILURE, "still running after the S5 request");
    halt_forever();
}

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
    evt_port = (uint16_t)pm1a_evt;
    if (si->cmdline_paddr &&
        !strcmp((const char *)(uintptr_t)si->cmdline_paddr, "sci"))
        wait_sci(sci, pm1a_cnt, slp_typ);
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
