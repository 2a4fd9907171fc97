/*
 * test-pvh-echo: read two lines from COM1 and print each back as
 * "echo: <line>".  Polled: the receive interrupt is left off and the
 * guest spins on the line status register's data-ready bit.
 */
#include "lib.h"

#define COM1      0x3F8
#define UART_LSR  5
#define LSR_DR    0x01

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
                continue;            /* the rest of a CR LF */
            break;
        }
        if (n < cap - 1)
            line[n++] = (char)c;
    }
    line[n] = '\0';
}

void guest_main(uint32_t start_info)
{
    char line[128];
    int i;

    (void)start_info;
    outb(COM1 + 1, 0x00);            /* no UART interrupts */
    printk("echo: ready\n");
    for (i = 0; i < 2; i++) {
        read_line(line, sizeof(line));
        printk("echo: %s\n", line);
    }
    verdict(SUCCESS, NULL);
    halt_forever();
}
