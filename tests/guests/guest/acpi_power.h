/* Shared by the power-off and reboot guests: FADT fields. */
#ifndef GUEST_ACPI_POWER_H
#define GUEST_ACPI_POWER_H

#include "lib.h"

/* \_S5's SLP_TYPa from the DSDT, or -1. */
static inline int acpi_s5_type(const uint8_t *fadt)
{
    uint32_t dsdt_addr, len, i;
    const uint8_t *dsdt;

    memcpy(&dsdt_addr, fadt + 40, 4);
    dsdt = (const uint8_t *)(uintptr_t)dsdt_addr;
    if (memcmp(dsdt, "DSDT", 4))
        return -1;
    memcpy(&len, dsdt + 4, 4);
    /* NameOp "_S5_" PackageOp PkgLength NumElements BytePrefix value */
    for (i = 36; i + 10 < len; i++)
        if (dsdt[i] == 0x08 && !memcmp(dsdt + i + 1, "_S5_", 4) &&
            dsdt[i + 5] == 0x12)
            return dsdt[i + 8] == 0x0A ? dsdt[i + 9] : dsdt[i + 8];
    return -1;
}

#endif
