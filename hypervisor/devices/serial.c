/*
 * serial.c - 16550A UART (register layout from the 16550 data sheet).
 */
#include "devices/serial.h"

#include <string.h>
#include <time.h>

#include "chan.h"
#include "vm.h"

#define UART_IER_RDI   0x01
#define UART_IER_THRI  0x02
#define UART_LCR_DLAB  0x80
#define UART_LSR_DR    0x01
#define UART_LSR_THRE  0x20
#define UART_LSR_TEMT  0x40
#define UART_IIR_NONE  0x01
#define UART_IIR_THRI  0x02
#define UART_IIR_RDI   0x04
#define UART_FCR_EN    0x01
#define UART_FCR_CLRRX 0x02
#define UART_MCR_LOOP  0x10

void serial_init(struct serial *s)
{
    memset(s, 0, sizeof(*s));
    s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    s->msr = 0xB0;                       /* DCD, DSR, CTS */
}

static void update_irq(struct vm *vm, struct serial *s)
{
    int level = ((s->ier & UART_IER_RDI) && s->rx_count) ||
                ((s->ier & UART_IER_THRI) && s->thr_ipending);

    if (level != s->irq_level) {
        s->irq_level = level;
        vm_irq_line(vm, SERIAL_COM1_IRQ, level);
    }
}

static uint8_t iir(struct serial *s)
{
    uint8_t fifo = (s->fcr & UART_FCR_EN) ? 0xC0 : 0;

    if ((s->ier & UART_IER_RDI) && s->rx_count)
        return fifo | UART_IIR_RDI;
    if ((s->ier & UART_IER_THRI) && s->thr_ipending)
        return fifo | UART_IIR_THRI;
    return fifo | UART_IIR_NONE;
}

/* Tell the daemon when the guest's first byte left it (boot timing). */
static void first_output(struct vm *vm, struct serial *s)
{
    struct timespec ts;
    uint64_t ns;

    s->tx_any = 1;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    vm_send(vm, CHAN_CONS_FIRST, &ns, sizeof(ns));
}

uint8_t serial_read(struct vm *vm, struct serial *s, unsigned int off)
{
    uint8_t v = 0xFF;

    switch (off) {
    case 0:
        if (s->lcr & UART_LCR_DLAB) {
            v = s->dll;
        } else if (s->rx_count) {
            v = s->rx[s->rx_head];
            s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
            s->rx_count--;
        } else {
            v = 0;
        }
        break;
    case 1:
        v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
        break;
    case 2:
        v = iir(s);
        /* reading IIR acknowledges a THR-empty interrupt */
        if ((v & 0x0F) == UART_IIR_THRI)
            s->thr_ipending = 0;
        break;
    case 3:
        v = s->lcr;
        break;
    case 4:
        v = s->mcr;
        break;
    case 5:
        v = UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
        break;
    case 6:
        v = (s->mcr & UART_MCR_LOOP) ? 0 : s->msr;
        break;
    case 7:
        v = s->scr;
        break;
    }
    update_irq(vm, s);
    return v;
}

void serial_write(struct vm *vm, struct serial *s, unsigned int off,
                  uint8_t val)
{
    switch (off) {
    case 0:
        if (s->lcr & UART_LCR_DLAB) {
            s->dll = val;
        } else {
            if (!(s->mcr & UART_MCR_LOOP)) {
                if (!s->tx_any)
                    first_output(vm, s);
                vm_send(vm, CHAN_CONS_OUT, &val, 1);
            }
            s->thr_ipending = 1;
        }
        break;
    case 1:
        if (s->lcr & UART_LCR_DLAB) {
            s->dlm = val;
        } else {
            if ((val & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
                s->thr_ipending = 1;
            s->ier = val & 0x0F;
        }
        break;
    case 2:
        s->fcr = val;
        if (val & UART_FCR_CLRRX) {
            s->rx_head = 0;
            s->rx_count = 0;
        }
        break;
    case 3:
        s->lcr = val;
        break;
    case 4:
        s->mcr = val & 0x1F;
        break;
    case 7:
        s->scr = val;
        break;
    }
    update_irq(vm, s);
}

size_t serial_receive(struct vm *vm, struct serial *s, const uint8_t *buf,
                      size_t len)
{
    size_t n = 0;

    while (n < len && s->rx_count < SERIAL_RX_FIFO) {
        s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = buf[n++];
        s->rx_count++;
    }
    update_irq(vm, s);
    return n;
}
