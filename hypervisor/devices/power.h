/*
 * power.h - power and reset controls: the ACPI PM1a event/control
 * blocks (S5 power-off), the ACPI reset register at 0xCF9 and the
 * i8042 "pulse reset line" command (0xFE to port 0x64).
 */
#ifndef XENOLITH_POWER_H
#define XENOLITH_POWER_H

#include <stdint.h>

struct vm;

struct power {
    uint16_t pm1_en;
    uint16_t pm1_cnt;
    uint8_t cf9;
};

void power_init(struct power *p);

/* Port access of size bytes; returns 1 if the port is one of ours.
 * Called with vm->dev_lock held. */
int power_io(struct vm *vm, struct power *p, uint16_t port, int write,
             uint8_t *data, unsigned int size);

#endif /* XENOLITH_POWER_H */
