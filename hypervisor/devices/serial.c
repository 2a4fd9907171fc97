/*
 * serial.c - 16550A UART (register layout from the 16550 data sheet).
 */
#include "devices/serial.h"

#include <errno.h>
#include <string.h>

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

void serial_init(struct serial *s, const struct dev_host *host)
{
    memset(s, 0, sizeof(*s));
    s->host = host;
    s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    s->msr = 0xB0;                       /* DCD, DSR, CTS */
}

static void update_irq(struct serial *s)
{
    int level = ((s->ier & UART_IER_RDI) && s->rx_count) ||
                ((s->ier & UART_IER_THRI) && s->thr_ipending);

    if (level != s->irq_level) {
        s->irq_level = level;
        s->host->irq_line(s->host->opaque, SERIAL_COM1_IRQ, level);
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

static uint8_t reg_read(struct serial *s, unsigned int off)
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
    update_irq(s);
    return v;
}

static void reg_write(struct serial *s, unsigned int off, uint8_t val)
{
    switch (off) {
    case 0:
        if (s->lcr & UART_LCR_DLAB) {
            s->dll = val;
        } else {
            if (!(s->mcr & UART_MCR_LOOP))
                s->host->console_out(s->host->opaque, val);
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
    update_irq(s);
}

/* The bus's accessors: byte registers; a wider access reaches the
 * register at its address and reads the rest as zero. */
static void bus_read(void *dev, uint64_t addr, uint8_t *data,
                     unsigned int size)
{
    struct serial *s = dev;

    memset(data, 0, size);
    data[0] = reg_read(s, (unsigned int)(addr - SERIAL_COM1_BASE));
}

static void bus_write(void *dev, uint64_t addr, const uint8_t *data,
                      unsigned int size)
{
    (void)size;
    reg_write(dev, (unsigned int)(addr - SERIAL_COM1_BASE), data[0]);
}

static const struct dev_ops serial_ops = {
    .name = "serial (COM1)",
    .read = bus_read,
    .write = bus_write,
};

int serial_attach(struct serial *s, struct dev_bus *bus)
{
    return dev_bus_add(bus, DEV_PIO, SERIAL_COM1_BASE, 8, &serial_ops, s,
                       NULL);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
    size_t n = 0;

    while (n < len && s->rx_count < SERIAL_RX_FIFO) {
        s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = buf[n++];
        s->rx_count++;
    }
    update_irq(s);
    return n;
}

void serial_save(const struct serial *s, uint8_t *out)
{
    memset(out, 0, SERIAL_STATE_SIZE);
    out[0] = s->ier;
    out[1] = s->lcr;
    out[2] = s->mcr;
    out[3] = s->lsr;
    out[4] = s->msr;
    out[5] = s->scr;
    out[6] = s->dll;
    out[7] = s->dlm;
    out[8] = s->fcr;
    out[9] = (uint8_t)s->thr_ipending;
    out[10] = (uint8_t)s->irq_level;
    out[11] = (uint8_t)s->rx_head;
    out[12] = (uint8_t)(s->rx_count & 0xFF);
    out[13] = (uint8_t)(s->rx_count >> 8);
    memcpy(out + 16, s->rx, SERIAL_RX_FIFO);
}

int serial_load(struct serial *s, const uint8_t *in, size_t len)
{
    unsigned int count;

    if (len != SERIAL_STATE_SIZE)
        return -EINVAL;
    count = in[12] | (unsigned int)in[13] << 8;
    /* rx_head is one byte: the FIFO is 256 */
    if (count > SERIAL_RX_FIFO)
        return -EINVAL;
    s->ier = in[0];
    s->lcr = in[1];
    s->mcr = in[2];
    s->lsr = in[3];
    s->msr = in[4];
    s->scr = in[5];
    s->dll = in[6];
    s->dlm = in[7];
    s->fcr = in[8];
    s->thr_ipending = in[9] != 0;
    s->irq_level = in[10] != 0;
    s->rx_head = in[11];
    s->rx_count = count;
    memcpy(s->rx, in + 16, SERIAL_RX_FIFO);
    return 0;
}
