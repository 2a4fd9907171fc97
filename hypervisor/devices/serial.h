/*
 * serial.h - a 16550A UART model: the domain's console on COM1.
 *
 * Transmitted bytes go to the host's console_out (the daemon's console
 * ring); received bytes come in through serial_receive (console input).
 * Interrupts on ISA IRQ 4.
 */
#ifndef XENOLITH_SERIAL_H
#define XENOLITH_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"

#define SERIAL_COM1_BASE 0x3F8
#define SERIAL_COM1_IRQ  4
#define SERIAL_RX_FIFO   256

struct serial {
    const struct dev_host *host;
    uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
    int thr_ipending;             /* THR-empty interrupt owed */
    int irq_level;
    uint8_t rx[SERIAL_RX_FIFO];
    unsigned int rx_head, rx_count;
};

void serial_init(struct serial *s, const struct dev_host *host);

/* Claim COM1's eight ports on bus: 0 or dev_bus_add's -errno. */
int serial_attach(struct serial *s, struct dev_bus *bus);

/* Queue received bytes (console input); returns the count taken.  The
 * caller serialises it with bus accesses. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

/*
 * Its registers and received bytes for a saved domain (snapshot.h):
 * serial_save writes SERIAL_STATE_SIZE bytes; serial_load takes them
 * back (-EINVAL for a wrong length or a bad count), the interrupt line
 * left as the platform's saved state has it.
 */
#define SERIAL_STATE_SIZE (16 + SERIAL_RX_FIFO)
void serial_save(const struct serial *s, uint8_t *out);
int serial_load(struct serial *s, const uint8_t *in, size_t len);

#endif /* XENOLITH_SERIAL_H */
