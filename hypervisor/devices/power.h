/*
 * power.h - power and reset controls: the ACPI PM1a event/control
 * blocks (S5 power-off), the ACPI reset register at 0xCF9 and the
 * i8042 "pulse reset line" command (0xFE to port 0x64).  The PM1a
 * status register holds the power button's PWRBTN_STS (write 1 to
 * clear), the GPE0 block (arch/x86/acpi.h) the general-purpose events,
 * raised by other devices (power_gpe: PCI hotplug, pcihp.h); the SCI
 * (ACPI_SCI_IRQ, level) is high while a status bit and its enable bit
 * are both set and SCI_EN is on, as on real chipsets.
 */
#ifndef XENOLITH_POWER_H
#define XENOLITH_POWER_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"

#define POWER_PWRBTN     0x0100  /* PM1 status / enable bit 8 */

struct power {
    const struct dev_host *host;
    uint16_t pm1_sts;
    uint16_t pm1_en;
    uint16_t pm1_cnt;
    uint16_t gpe_sts;
    uint16_t gpe_en;
    uint8_t cf9;
    int sci;                     /* level of the SCI line as last set */
};

void power_init(struct power *p, const struct dev_host *host);

/* Claim the PM1a blocks, the reset register and the i8042 command port
 * on bus: 0 or dev_bus_add's -errno. */
int power_attach(struct power *p, struct dev_bus *bus);

/* The power button is pressed (Xen's POWER trigger): PWRBTN_STS is
 * set and the SCI raised if the guest enabled it.  The caller
 * serialises it with bus accesses. */
void power_button(struct power *p);

/* General-purpose event bit (0-15) happened: its status bit is set
 * and the SCI raised if the guest enabled it.  Serialised likewise. */
void power_gpe(struct power *p, unsigned int bit);

/* Its registers for a saved domain (snapshot.h): POWER_STATE_SIZE
 * bytes; power_load: -EINVAL for a wrong length. */
#define POWER_STATE_SIZE 16
void power_save(const struct power *p, uint8_t *out);
int power_load(struct power *p, const uint8_t *in, size_t len);

#endif /* XENOLITH_POWER_H */
