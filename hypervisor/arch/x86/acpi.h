/*
 * acpi.h - the ACPI tables a domain's firmware area carries.
 *
 * RSDP, XSDT, RSDT, FADT (with PM1a event/control blocks, the GPE0
 * block and the reset register), FACS, MADT (one LAPIC per vCPU, the
 * IOAPIC) and a DSDT holding \_S5, so a guest can power off with
 * SLP_TYP = ACPI_SLP_TYP_S5 | SLP_EN written to PM1a_CNT, and the PCI
 * host bridge with its hot-pluggable slots (acpi.c says how).
 */
#ifndef XENOLITH_ACPI_H
#define XENOLITH_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_PM1A_EVT_PORT   0x600   /* 4 bytes: status, enable */
#define ACPI_PM1A_CNT_PORT   0x604   /* 2 bytes */
#define ACPI_RESET_PORT      0xCF9
#define ACPI_RESET_VALUE     0x06
#define ACPI_SLP_TYP_S5      5
#define ACPI_SLP_EN          (1U << 13)
#define ACPI_SCI_IRQ         9
#define ACPI_GPE0_PORT       0xAFE0  /* 2 status bytes, 2 enable bytes */
#define ACPI_GPE0_LEN        4
#define ACPI_GPE_PCIHP       1       /* GPE of PCI hotplug (pcihp.h) */
#define ACPI_PCIHP_PORT      0xAE00  /* PCIU, PCID, B0EJ: 32 bits each */
#define ACPI_PCIHP_LEN       12

/*
 * Write the tables into buf, which guest physical address gpa maps and
 * which is size bytes long.  Returns 0, or -ENOSPC if they do not fit.
 */
int acpi_build(void *buf, uint64_t gpa, size_t size, unsigned int nr_vcpus);

#endif /* XENOLITH_ACPI_H */
