/*
 * pcihp.c - ACPI PCI hotplug registers (see pcihp.h).
 */
#include "devices/pcihp.h"

#include <string.h>

#include "arch/x86/acpi.h"
#include "devices/pci.h"

void pcihp_init(struct pcihp *h, struct power *pm,
                void (*eject)(void *opaque, unsigned int slot),
                void *opaque)
{
    memset(h, 0, sizeof(*h));
    h->pm = pm;
    h->eject = eject;
    h->opaque = opaque;
}

void pcihp_check(struct pcihp *h, unsigned int slot)
{
    if (slot == 0 || slot >= PCI_SLOTS)
        return;
    h->up |= 1U << slot;
    power_gpe(h->pm, ACPI_GPE_PCIHP);
}

void pcihp_request_eject(struct pcihp *h, unsigned int slot)
{
    if (slot == 0 || slot >= PCI_SLOTS)
        return;
    h->down |= 1U << slot;
    power_gpe(h->pm, ACPI_GPE_PCIHP);
}

/* Registers are read whole (the DSDT's fields are DWordAcc). */
static void hp_read(void *dev, uint64_t addr, uint8_t *data,
                    unsigned int size)
{
    struct pcihp *h = dev;
    uint32_t v = 0;

    switch (addr - ACPI_PCIHP_PORT) {
    case 0:
        v = h->up;
        h->up = 0;
        break;
    case 4:
        v = h->down;
        h->down = 0;
        break;
    default:
        break;
    }
    memset(data, 0, size);
    memcpy(data, &v, size < 4 ? size : 4);
}

static void hp_write(void *dev, uint64_t addr, const uint8_t *data,
                     unsigned int size)
{
    struct pcihp *h = dev;
    uint32_t v = 0;
    unsigned int slot;

    if (addr - ACPI_PCIHP_PORT != 8)
        return;
    memcpy(&v, data, size < 4 ? size : 4);
    for (slot = 1; slot < PCI_SLOTS; slot++)
        if ((v & (1U << slot)) && h->eject)
            h->eject(h->opaque, slot);
}

static const struct dev_ops pcihp_ops = {
    .name = "ACPI PCI hotplug",
    .read = hp_read,
    .write = hp_write,
};

int pcihp_attach(struct pcihp *h, struct dev_bus *bus)
{
    return dev_bus_add(bus, DEV_PIO, ACPI_PCIHP_PORT, ACPI_PCIHP_LEN,
                       &pcihp_ops, h, NULL);
}
