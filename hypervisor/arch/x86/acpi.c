/*
 * acpi.c - build the ACPI tables (layouts from the ACPI specification).
 */
#include "acpi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "devices/pci.h"
#include "layout.h"

/* Offsets of the tables inside the area (RSDP first, as layout.h says). */
#define OFF_RSDP  0x000
#define OFF_XSDT  0x040
#define OFF_RSDT  0x080
#define OFF_FADT  0x100
#define OFF_FACS  0x200
#define OFF_MADT  0x300
#define OFF_DSDT  0x2000                 /* to the end of the area */

#define HDR_LEN   36
#define FADT_LEN  244
#define FACS_LEN  64

static void put8(uint8_t *p, size_t off, uint8_t v)
{
    p[off] = v;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
    memcpy(p + off, &v, 2);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
    memcpy(p + off, &v, 4);
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
    memcpy(p + off, &v, 8);
}

static uint8_t sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    while (len--)
        s += *p++;
    return s;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t, 4, len);
    put8(t, 8, rev);
    memcpy(t + 10, "XENOLT", 6);
    memcpy(t + 16, "XENOLITH", 8);
    put32(t, 24, 1);
    memcpy(t + 28, "XNLT", 4);
    put32(t, 32, 1);
}

static void finish(uint8_t *t)
{
    uint32_t len;

    memcpy(&len, t + 4, 4);
    t[9] = 0;
    t[9] = (uint8_t)-sum(t, len);
}

/* Generic address structure, system I/O space. */
static void gas_io(uint8_t *p, size_t off, uint8_t bits, uint8_t access,
                   uint64_t port)
{
    put8(p, off, 1);
    put8(p, off + 1, bits);
    put8(p, off + 2, 0);
    put8(p, off + 3, access);
    put64(p, off + 4, port);
}

static void build_fadt(uint8_t *t, uint64_t gpa)
{
    header(t, "FACP", FADT_LEN, 4);
    put32(t, 36, (uint32_t)(gpa + OFF_FACS));
    put32(t, 40, (uint32_t)(gpa + OFF_DSDT));
    put16(t, 46, ACPI_SCI_IRQ);
    put32(t, 56, ACPI_PM1A_EVT_PORT);
    put32(t, 64, ACPI_PM1A_CNT_PORT);
    put8(t, 88, 4);                      /* PM1_EVT_LEN */
    put8(t, 89, 2);                      /* PM1_CNT_LEN */
    put16(t, 96, 101);                   /* no C2 */
    put16(t, 98, 1001);                  /* no C3 */
    put16(t, 109, 1U << 2);              /* IAPC_BOOT_ARCH: no VGA */
    /* WBINVD; PWR_BUTTON (bit 4) clear: the power button is the fixed
     * one in PM1 (devices/power.c), which Linux binds only then; no sleep
     * button; reset register supported */
    put32(t, 112, (1U << 0) | (1U << 5) | (1U << 10));
    gas_io(t, 116, 8, 1, ACPI_RESET_PORT);
    put8(t, 128, ACPI_RESET_VALUE);
    put64(t, 132, gpa + OFF_FACS);
    put64(t, 140, gpa + OFF_DSDT);
    gas_io(t, 148, 32, 2, ACPI_PM1A_EVT_PORT);
    gas_io(t, 172, 16, 2, ACPI_PM1A_CNT_PORT);
    put32(t, 80, ACPI_GPE0_PORT);
    put8(t, 92, ACPI_GPE0_LEN);          /* status, then enable bytes */
    gas_io(t, 220, ACPI_GPE0_LEN * 8, 1, ACPI_GPE0_PORT);
    finish(t);
}

static void build_facs(uint8_t *t)
{
    memcpy(t, "FACS", 4);
    put32(t, 4, FACS_LEN);
    put8(t, 32, 1);                      /* version */
}

/*
 * The DSDT: \_S5 for power-off, then the PCI host bridge (bus 0 behind
 * configuration mechanism #1, devices/pci.h) with one ejectable slot
 * object per device number, and the GPE handler of PCI hotplug
 * (devices/pcihp.h): Linux's acpiphp binds the slots, adds a device on
 * a Device Check notification and, on an Eject Request, removes the
 * driver and then calls the slot's _EJ0, which tells the core.
 */
static void dsdt_pci(struct aml *a)
{
    static const char *const fields[] = { "PCIU", "PCID", "B0EJ" };
    char path[16];
    unsigned int i;

    aml_open_scope(a, "\\_SB_");
    aml_open_device(a, "PCI0");
    aml_name_decl(a, "_HID");
    aml_eisaid(a, "PNP0A03");
    aml_name_decl(a, "_ADR");
    aml_int(a, 0);
    aml_name_decl(a, "_UID");
    aml_int(a, 0);
    aml_name_decl(a, "_CRS");
    aml_open_buffer(a);
    aml_res_word(a, AML_RES_BUS_TYPE, 0, 0);
    aml_res_io(a, 0xCF8, 8);
    aml_res_word(a, AML_RES_IO16_TYPE, 0x0000, 0x0CF7);
    aml_res_word(a, AML_RES_IO16_TYPE, 0x0D00, 0xFFFF);
    aml_res_dword_mem(a, (uint32_t)PCI_MMIO_BASE,
                      (uint32_t)(PCI_MMIO_BASE +
                                 PCI_MMIO_SIZE - 1));
    aml_res_end(a);
    aml_close(a);
    aml_io_region(a, "PHPR", ACPI_PCIHP_PORT, ACPI_PCIHP_LEN);
    aml_dword_fields(a, "PHPR", fields, 3);
    for (i = 1; i < PCI_SLOTS; i++) {
        snprintf(path, sizeof(path), "S%02X", i);
        aml_open_device(a, path);
        aml_name_decl(a, "_ADR");
        aml_int(a, (uint64_t)i << 16);
        aml_name_decl(a, "_SUN");
        aml_int(a, i);
        aml_open_method(a, "_EJ0", 1);
        aml_store_int(a, 1ULL << i, "B0EJ");
        aml_close(a);
        aml_close(a);
    }
    /* PCNT: what changed, read once (the registers clear on read) */
    aml_open_method(a, "PCNT", 0);
    aml_store_to_local(a, "PCIU", AML_LOCAL0);
    aml_store_to_local(a, "PCID", AML_LOCAL1);
    for (i = 1; i < PCI_SLOTS; i++) {
        snprintf(path, sizeof(path), "S%02X", i);
        aml_open_if_bits(a, AML_LOCAL0, 1ULL << i);
        aml_notify(a, path, 1);          /* Device Check */
        aml_close(a);
        aml_open_if_bits(a, AML_LOCAL1, 1ULL << i);
        aml_notify(a, path, 3);          /* Eject Request */
        aml_close(a);
    }
    aml_close(a);
    aml_close(a);                        /* PCI0 */
    aml_close(a);                        /* \_SB */
    aml_open_scope(a, "\\_GPE");
    snprintf(path, sizeof(path), "_E%02X", ACPI_GPE_PCIHP);
    aml_open_method(a, path, 0);
    aml_call0(a, "\\_SB_.PCI0.PCNT");
    aml_close(a);
    aml_close(a);
}

/* Package (4) { 5, 5, 0, 0 }: SLP_TYP for PM1a and PM1b */
static const uint8_t s5_package[] = {
    0x12, 0x08, 0x04, 0x0A, ACPI_SLP_TYP_S5, 0x0A, ACPI_SLP_TYP_S5,
    0x00, 0x00,
};

static long build_dsdt(uint8_t *t, size_t room)
{
    struct aml a;
    long len;

    if (room < HDR_LEN)
        return -ENOSPC;
    aml_init(&a, t + HDR_LEN, room - HDR_LEN);
    aml_name_decl(&a, "_S5_");
    aml_bytes(&a, s5_package, sizeof(s5_package));
    dsdt_pci(&a);
    len = aml_len(&a);
    if (len < 0)
        return len;
    header(t, "DSDT", (uint32_t)(HDR_LEN + len), 2);
    finish(t);
    return HDR_LEN + len;
}

static uint32_t madt_len(unsigned int nr_vcpus)
{
    return HDR_LEN + 8 + 8 * nr_vcpus + 12 + 10;
}

static void build_madt(uint8_t *t, unsigned int nr_vcpus)
{
    uint32_t len = madt_len(nr_vcpus);
    size_t off = HDR_LEN + 8;
    unsigned int i;

    header(t, "APIC", len, 3);
    put32(t, HDR_LEN, (uint32_t)LAYOUT_LAPIC);
    put32(t, HDR_LEN + 4, 1);            /* PCAT_COMPAT: 8259s exist */
    for (i = 0; i < nr_vcpus; i++, off += 8) {
        put8(t, off, 0);                 /* processor local APIC */
        put8(t, off + 1, 8);
        put8(t, off + 2, (uint8_t)i);
        put8(t, off + 3, (uint8_t)i);
        put32(t, off + 4, 1);            /* enabled */
    }
    put8(t, off, 1);                     /* I/O APIC */
    put8(t, off + 1, 12);
    put8(t, off + 2, 0);
    put32(t, off + 4, (uint32_t)LAYOUT_IOAPIC);
    put32(t, off + 8, 0);
    off += 12;
    put8(t, off, 2);                     /* SCI: level, active high */
    put8(t, off + 1, 10);
    put8(t, off + 2, 0);
    put8(t, off + 3, ACPI_SCI_IRQ);
    put32(t, off + 4, ACPI_SCI_IRQ);
    put16(t, off + 8, 0x000D);
    finish(t);
}

int acpi_build(void *buf, uint64_t gpa, size_t size, unsigned int nr_vcpus)
{
    uint8_t *p = buf;
    uint8_t *t;

    /* xAPIC ids are 8 bits wide in the MADT entries used here. */
    long dsdt;

    if (nr_vcpus > 255 || OFF_MADT + madt_len(nr_vcpus) > OFF_DSDT ||
        size < OFF_DSDT)
        return -ENOSPC;
    memset(p, 0, size);
    dsdt = build_dsdt(p + OFF_DSDT, size - OFF_DSDT);
    if (dsdt < 0)
        return (int)dsdt;

    build_fadt(p + OFF_FADT, gpa);
    build_facs(p + OFF_FACS);
    build_madt(p + OFF_MADT, nr_vcpus);

    t = p + OFF_XSDT;
    header(t, "XSDT", HDR_LEN + 16, 1);
    put64(t, HDR_LEN, gpa + OFF_FADT);
    put64(t, HDR_LEN + 8, gpa + OFF_MADT);
    finish(t);

    t = p + OFF_RSDT;
    header(t, "RSDT", HDR_LEN + 8, 1);
    put32(t, HDR_LEN, (uint32_t)(gpa + OFF_FADT));
    put32(t, HDR_LEN + 4, (uint32_t)(gpa + OFF_MADT));
    finish(t);

    t = p + OFF_RSDP;
    memcpy(t, "RSD PTR ", 8);
    memcpy(t + 9, "XENOLT", 6);
    put8(t, 15, 2);                      /* revision: ACPI 2.0+ */
    put32(t, 16, (uint32_t)(gpa + OFF_RSDT));
    put32(t, 20, 36);
    put64(t, 24, gpa + OFF_XSDT);
    t[8] = (uint8_t)-sum(t, 20);
    t[32] = (uint8_t)-sum(t, 36);
    return 0;
}
