/*
 * serial.h - a 16550A UART model: the domain's console on COM1.
 *
 * Transmitted bytes go to the daemon (console ring); received bytes come
 * from the daemon (console input).  Interrupts on ISA IRQ 4.
 */
#ifndef XENOLITH_SERIAL_H
#define XENOLITH_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#define SERIAL_COM1_BASE 0x3F8
#define SERIAL_COM1_IRQ  4
#define SERIAL_RX_FIFO   256

struct vm;

struct serial {
    uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
    int thr_ipending;             /* THR-empty interrupt owed */
    int irq_level;
    int tx_any;                   /* a byte went out (CONS_FIRST sent) */
    uint8_t rx[SERIAL_RX_FIFO];
    unsigned int rx_head, rx_count;
};

void serial_init(struct serial *s);

/* Port access, offset 0..7 from the base; called with vm->dev_lock. */
uint8_t serial_read(struct vm *vm, struct serial *s, unsigned int off);
void serial_write(struct vm *vm, struct serial *s, unsigned int off,
                  uint8_t val);

/* Queue received bytes (console input); returns the count taken. */
size_t serial_receive(struct vm *vm, struct serial *s, const uint8_t *buf,
                      size_t len);

#endif /* XENOLITH_SERIAL_H */
