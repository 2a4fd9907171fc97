/*
 * acpi.c - build the ACPI tables (layouts from the ACPI specification).
 */
#include "acpi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"

/* Offsets of the tables inside the area (RSDP first, as layout.h says). */
#define OFF_RSDP  0x000
#define OFF_XSDT  0x040
#define OFF_RSDT  0x080
#define OFF_FADT  0x100
#define OFF_FACS  0x200
#define OFF_DSDT  0x300
#define OFF_MADT  0x800

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
    finish(t);
}

static void build_facs(uint8_t *t)
{
    memcpy(t, "FACS", 4);
    put32(t, 4, FACS_LEN);
    put8(t, 32, 1);                      /* version */
}

/* DSDT body: Name (_S5, Package (4) { 5, 5, 0, 0 }) in AML. */
static const uint8_t dsdt_s5[] = {
    0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
    0x0A, ACPI_SLP_TYP_S5, 0x0A, ACPI_SLP_TYP_S5, 0x00, 0x00,
};

/* AML opcodes and resource descriptors used below. */
#define AML_NAME      0x08
#define AML_BYTE      0x0A
#define AML_STRING    0x0D
#define AML_SCOPE     0x10
#define AML_BUFFER    0x11
#define AML_EXT       0x5B
#define AML_DEVICE    0x82
#define RES_MEM32_FIX 0x86
#define RES_EXT_IRQ   0x89
#define RES_END       0x79

/* Bytes of one virtio-mmio Device () after its PkgLength. */
#define VIRTIO_DEV_BODY 58

static size_t put_name(uint8_t *p, size_t off, const char *seg)
{
    memcpy(p + off, seg, 4);
    return off + 4;
}

/*
 * Device (VRn) { Name (_HID, "LNRO0005") Name (_UID, n)
 *   Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, base,
 *     0x200) Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive)
 *     { gsi } }) }
 * Linux's virtio_mmio binds the _HID; an empty slot reads device id 0.
 */
static size_t put_virtio_dev(uint8_t *p, size_t off, unsigned int n)
{
    char seg[5];

    snprintf(seg, sizeof(seg), "VR%02u", n);
    p[off++] = AML_EXT;
    p[off++] = AML_DEVICE;
    p[off++] = VIRTIO_DEV_BODY + 1;          /* one-byte PkgLength */
    off = put_name(p, off, seg);
    p[off++] = AML_NAME;
    off = put_name(p, off, "_HID");
    p[off++] = AML_STRING;
    memcpy(p + off, "LNRO0005", 9);
    off += 9;
    p[off++] = AML_NAME;
    off = put_name(p, off, "_UID");
    p[off++] = AML_BYTE;
    p[off++] = (uint8_t)n;
    p[off++] = AML_NAME;
    off = put_name(p, off, "_CRS");
    p[off++] = AML_BUFFER;
    p[off++] = 1 + 2 + 23;                   /* PkgLength */
    p[off++] = AML_BYTE;
    p[off++] = 23;                           /* buffer size */
    p[off++] = RES_MEM32_FIX;
    put16(p, off, 9);
    off += 2;
    p[off++] = 1;                            /* read-write */
    put32(p, off, (uint32_t)(LAYOUT_VIRTIO_BASE +
                             n * LAYOUT_VIRTIO_STRIDE));
    put32(p, off + 4, 0x200);
    off += 8;
    p[off++] = RES_EXT_IRQ;
    put16(p, off, 6);
    off += 2;
    p[off++] = 0x03;                         /* consumer, edge, high */
    p[off++] = 1;
    put32(p, off, LAYOUT_VIRTIO_GSI0 + n);
    off += 4;
    p[off++] = RES_END;
    p[off++] = 0;
    return off;
}

static uint32_t dsdt_len(void)
{
    return HDR_LEN + sizeof(dsdt_s5) + 1 + 2 + 5 +
           LAYOUT_VIRTIO_SLOTS * (3 + VIRTIO_DEV_BODY);
}

static void build_dsdt(uint8_t *t)
{
    size_t off = HDR_LEN, scope_len;
    unsigned int i;

    header(t, "DSDT", dsdt_len(), 2);
    memcpy(t + off, dsdt_s5, sizeof(dsdt_s5));
    off += sizeof(dsdt_s5);
    /* Scope (\_SB) { the slots }, with a two-byte PkgLength */
    scope_len = 2 + 5 + LAYOUT_VIRTIO_SLOTS * (3 + VIRTIO_DEV_BODY);
    t[off++] = AML_SCOPE;
    t[off++] = (uint8_t)(0x40 | (scope_len & 0x0F));
    t[off++] = (uint8_t)(scope_len >> 4);
    t[off++] = '\\';
    off = put_name(t, off, "_SB_");
    for (i = 0; i < LAYOUT_VIRTIO_SLOTS; i++)
        off = put_virtio_dev(t, off, i);
    finish(t);
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
    if (nr_vcpus > 255 || OFF_MADT + madt_len(nr_vcpus) > size ||
        OFF_DSDT + dsdt_len() > OFF_MADT)
        return -ENOSPC;
    memset(p, 0, OFF_MADT + madt_len(nr_vcpus));

    build_fadt(p + OFF_FADT, gpa);
    build_facs(p + OFF_FACS);
    build_dsdt(p + OFF_DSDT);
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
