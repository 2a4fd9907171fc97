/*
 * test-pvh-qemu: a guest for qemu's pc machine (PVH entry through
 * -kernel), where the core's devices are not: qemu's PIIX4 power
 * management, its reset control register and its pvpanic device.  The
 * command line picks what it does after printing "qemu guest: <mode>":
 *   (none)    print "tick N" lines forever
 *   echo      print each line read from COM1 as "echo: <line>", forever
 *   poweroff  S5 through PM1a_CNT (0x604: the PIIX4 PM block SeaBIOS
 *             maps at 0x600; qemu's \_S5 is SLP_TYP 0)
 *   reset     a hard reset through the reset control register 0xCF9
 *   panic     report a panic to pvpanic (port 0x505, bit 0)
 */
#include "lib.h"

#define COM1        0x3F8
#define UART_LSR    5
#define LSR_DR      0x01
#define PIIX4_PM1A_CNT 0x604
#define SLP_EN      (1U << 13)
#define RST_CNT     0xCF9
#define PVPANIC     0x505

static void read_line(char *line, size_t cap)
{
    size_t n = 0;
    uint8_t c;

    for (;;) {
        while (!(inb(COM1 + UART_LSR) & LSR_DR))
            __asm__ volatile("pause");
        c = inb(COM1);
        if (c == '\r' || c == '\n') {
            if (n == 0)
                continue;
            break;
        }
        if (n < cap - 1)
            line[n++] = (char)c;
    }
    line[n] = '\0';
}

void guest_main(uint32_t start_info)
{
    const struct hvm_start_info *si =
        (const struct hvm_start_info *)(uintptr_t)start_info;
    const char *mode = si->cmdline_paddr ?
        (const char *)(uintptr_t)si->cmdline_paddr : "";
    volatile unsigned long spin;
    unsigned long n = 0;
    char line[128];

    outb(COM1 + 1, 0x00);            /* no UART interrupts */
    printk("qemu guest: %s\n", *mode ? mode : "count");
    if (!strcmp(mode, "poweroff")) {
        outw(PIIX4_PM1A_CNT, SLP_EN);
    } else if (!strcmp(mode, "reset")) {
        outb(RST_CNT, 0x06);
    } else if (!strcmp(mode, "panic")) {
        outb(PVPANIC, 1);
    } else if (!strcmp(mode, "echo")) {
        for (;;) {
            read_line(line, sizeof(line));
            printk("echo: %s\n", line);
        }
    } else {
        for (;;) {
            printk("tick %lu\n", ++n);
            for (spin = 0; spin < 2000000; spin++)
                ;
        }
    }
    printk("qemu guest: still running after %s\n", mode);
    halt_forever();
}
