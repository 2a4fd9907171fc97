/*
 * layout.c - the guest physical address map (see layout.h).
 */
#include "layout.h"

#include <string.h>

uint64_t layout_low_end(uint64_t mem_bytes)
{
    return mem_bytes < LAYOUT_LOW_RAM_MAX ? mem_bytes : LAYOUT_LOW_RAM_MAX;
}

static void add(struct xc_platform_info *pi, uint64_t addr, uint64_t end,
                uint32_t type)
{
    struct xc_e820_entry *e;

    if (end <= addr || pi->nr_e820 >= XC_MAX_E820)
        return;
    e = &pi->e820[pi->nr_e820++];
    e->addr = addr;
    e->size = end - addr;
    e->type = type;
    e->reserved = 0;
}

void layout_platform(uint64_t mem_bytes, unsigned int nr_vcpus,
                     struct xc_platform_info *pi)
{
    uint64_t low_end = layout_low_end(mem_bytes);

    memset(pi, 0, sizeof(*pi));
    pi->rsdp_paddr = LAYOUT_RSDP;
    pi->memory_kb = mem_bytes >> 10;
    pi->low_ram_end = low_end;
    pi->nr_vcpus = nr_vcpus;
    add(pi, 0, 0xA0000, XC_E820_RAM);
    add(pi, 0xA0000, LAYOUT_ACPI_BASE, XC_E820_RESERVED);
    add(pi, LAYOUT_ACPI_BASE, LAYOUT_ACPI_BASE + LAYOUT_ACPI_SIZE,
        XC_E820_ACPI);
    add(pi, LAYOUT_ACPI_BASE + LAYOUT_ACPI_SIZE, 0x100000,
        XC_E820_RESERVED);
    add(pi, 0x100000, low_end, XC_E820_RAM);
    add(pi, LAYOUT_IOAPIC, LAYOUT_HIGH_BASE, XC_E820_RESERVED);
    add(pi, LAYOUT_HIGH_BASE, LAYOUT_HIGH_BASE + (mem_bytes - low_end),
        XC_E820_RAM);
}
