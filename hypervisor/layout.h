/*
 * layout.h - the guest physical address map of a Xenolith domain.
 *
 *   0         .. 0xA0000      RAM
 *   0xA0000   .. 0xE0000      reserved (legacy VGA/ROM window)
 *   0xE0000   .. 0xF0000      ACPI tables (RSDP at 0xE0000)
 *   0xF0000   .. 0x100000     reserved
 *   0x100000  .. low_end      RAM (low_end <= 3 GiB)
 *   0xC0000000.. 0xFE000000   PCI memory window (PCI_MMIO_BASE, devices/pci.h)
 *   0xFEC00000.. 4 GiB        reserved (IOAPIC, LAPIC, KVM's TSS pages)
 *   4 GiB     .. 4 GiB + rest RAM beyond 3 GiB, if any
 *
 * The memfd backs [0, low_end) at offset 0 and the high part right
 * after it, so guest RAM and memfd size are the same.
 */
#ifndef XENOLITH_LAYOUT_H
#define XENOLITH_LAYOUT_H

#include <stdint.h>

#include "xenctrl.h"

#define LAYOUT_LOW_RAM_MAX   0xC0000000ULL
#define LAYOUT_HIGH_BASE     0x100000000ULL
#define LAYOUT_ACPI_BASE     0xE0000ULL
#define LAYOUT_ACPI_SIZE     0x10000ULL
#define LAYOUT_RSDP          LAYOUT_ACPI_BASE
#define LAYOUT_IOAPIC        0xFEC00000ULL
#define LAYOUT_LAPIC         0xFEE00000ULL
#define LAYOUT_IDMAP_ADDR    0xFFFBC000ULL
#define LAYOUT_TSS_ADDR      0xFFFBD000ULL
#define LAYOUT_MIN_RAM       (2ULL << 20)

/* RAM below 4 GiB for a domain with mem_bytes of RAM. */
uint64_t layout_low_end(uint64_t mem_bytes);

/* Fill the platform description (memory map, RSDP) of a domain. */
void layout_platform(uint64_t mem_bytes, unsigned int nr_vcpus,
                     struct xc_platform_info *pi);

#endif /* XENOLITH_LAYOUT_H */
