/*
 * test-pvh-timer: in long mode, take a LAPIC timer interrupt (one-shot)
 * and return from it with iretq.
 */
#include "lib.h"

#define TIMER_VECTOR   0x40
#define LAPIC_TPR      0x080
#define LAPIC_SVR      0x0F0
#define LAPIC_LVT_TMR  0x320
#define LAPIC_TMR_INIT 0x380
#define LAPIC_TMR_DIV  0x3E0

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
volatile unsigned int timer_ticks;

extern void timer_isr(void);
extern void unexpected_isr(void);
void unexpected_interrupt(void);

void unexpected_interrupt(void)
{
    verdict(FAILURE, "unexpected exception or interrupt");
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

void guest_main(uint32_t start_info)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) desc;
    unsigned long spins;
    unsigned int v;

    (void)start_info;
    for (v = 0; v < 256; v++)
        set_gate(v, unexpected_isr);
    set_gate(TIMER_VECTOR, timer_isr);
    desc.limit = sizeof(idt) - 1;
    desc.base = (uint64_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" : : "m"(desc));

    mmio_write32(LAPIC_BASE + LAPIC_SVR, 0x1FF);
    mmio_write32(LAPIC_BASE + LAPIC_TPR, 0);
    mmio_write32(LAPIC_BASE + LAPIC_TMR_DIV, 0x3);      /* divide by 16 */
    mmio_write32(LAPIC_BASE + LAPIC_LVT_TMR, TIMER_VECTOR);
    mmio_write32(LAPIC_BASE + LAPIC_TMR_INIT, 100000);

    for (spins = 0; !timer_ticks && spins < 1000; spins++)
        __asm__ volatile("sti; hlt; cli");
    if (timer_ticks)
        verdict(SUCCESS, "%u LAPIC timer interrupt(s)", timer_ticks);
    else
        verdict(FAILURE, "no LAPIC timer interrupt");
    halt_forever();
}
