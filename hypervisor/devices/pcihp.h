/*
 * pcihp.h - ACPI PCI hotplug: the registers the DSDT's slot objects and
 * GPE handler read and write (arch/x86/acpi.c), at ACPI_PCIHP_PORT.
 *
 *   +0 PCIU  slots with news for the guest to check (bit n: slot n);
 *            a device came, or vanished without the guest's consent
 *   +4 PCID  slots whose device the core asks the guest to give up
 *   +8 B0EJ  written by a slot's _EJ0 once the guest released it
 *
 * PCIU and PCID clear when read: the GPE handler reads each once and
 * notifies every slot named (Device Check, Eject Request), and news that
 * comes meanwhile raises the GPE again.  Linux's acpiphp answers a Device
 * Check by scanning the slot (a new device is set up, a vanished one
 * removed), an Eject Request by removing the slot's driver and calling
 * its _EJ0: the core then takes the device off the bus (the eject
 * callback).
 */
#ifndef XENOLITH_PCIHP_H
#define XENOLITH_PCIHP_H

#include <stdint.h>

#include "devices/bus.h"
#include "devices/power.h"

struct pcihp {
    struct power *pm;                  /* whose GPE block signals */
    uint32_t up;
    uint32_t down;
    /* the guest released slot (its _EJ0 ran) */
    void (*eject)(void *opaque, unsigned int slot);
    void *opaque;
};

void pcihp_init(struct pcihp *h, struct power *pm,
                void (*eject)(void *opaque, unsigned int slot),
                void *opaque);

/* Claim the registers on bus: 0 or dev_bus_add's -errno. */
int pcihp_attach(struct pcihp *h, struct dev_bus *bus);

/* Slot's device came or vanished: ask the guest to look (Device Check). */
void pcihp_check(struct pcihp *h, unsigned int slot);

/* Ask the guest to release slot's device (Eject Request). */
void pcihp_request_eject(struct pcihp *h, unsigned int slot);

#endif /* XENOLITH_PCIHP_H */
