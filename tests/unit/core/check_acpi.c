/*
 * check_acpi.c - the ACPI tables a domain gets (hypervisor/arch/x86/
 * acpi.c, aml.c): checksums and links, the FADT's event blocks, and
 * the DSDT as ACPICA's own disassembler (iasl, acpica-tools) reads it:
 * the PCI host bridge, its slots with their _EJ0, the GPE handler.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "devices/pci.h"
#include "arch/x86/aml.h"
#include "layout.h"

#define AREA 0x10000
#define GPA  0xE0000ULL

static uint8_t area[AREA];

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

/* The table at guest address gpa: its signature checked, sum zero. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
    const uint8_t *t;
    uint32_t len;

    ck_assert_uint_ge(gpa, GPA);
    ck_assert_uint_lt(gpa - GPA, AREA - 36);
    t = area + (gpa - GPA);
    ck_assert_msg(!memcmp(t, sig, 4), "%.4s where %s was expected", t, sig);
    len = get32(t + 4);
    ck_assert_uint_le(gpa - GPA + len, AREA);
    ck_assert_msg(sum(t, len) == 0, "%s checksum", sig);
    return t;
}

static const uint8_t *fadt(void)
{
    const uint8_t *xsdt;

    ck_assert_int_eq(acpi_build(area, GPA, sizeof(area), 4), 0);
    ck_assert_int_eq(memcmp(area, "RSD PTR ", 8), 0);
    ck_assert_uint_eq(sum(area, 20), 0);
    ck_assert_uint_eq(sum(area, 36), 0);
    xsdt = table(get64(area + 24), "XSDT");
    table(get32(area + 16), "RSDT");
    table(get64(xsdt + 44), "APIC");
    return table(get64(xsdt + 36), "FACP");
}

START_TEST(tables_link_and_sum)
{
    const uint8_t *f = fadt();

    /* the GPE0 block: 4 bytes at ACPI_GPE0_PORT, in both forms */
    ck_assert_uint_eq(get32(f + 80), ACPI_GPE0_PORT);
    ck_assert_uint_eq(f[92], ACPI_GPE0_LEN);
    ck_assert_uint_eq(f[220], 1);                    /* system I/O */
    ck_assert_uint_eq(get64(f + 224), ACPI_GPE0_PORT);
    table(get64(f + 140), "DSDT");
    ck_assert_uint_eq(get32(f + 40), get64(f + 140));
}
END_TEST

/* Too small an area is refused, not overrun. */
START_TEST(tables_need_room)
{
    static uint8_t small[0x2100];

    ck_assert_int_eq(acpi_build(small, GPA, sizeof(small), 1), -ENOSPC);
    ck_assert_int_eq(acpi_build(area, GPA, sizeof(area), 300), -ENOSPC);
}
END_TEST

/* Package lengths of every width, and the writer's own checks. */
START_TEST(aml_package_lengths)
{
    static uint8_t buf[70000];
    static const uint8_t zero[65536];
    struct aml a;
    size_t body[] = { 10, 62, 63, 4000, 4094, 4095, 65535 };
    unsigned int i;

    for (i = 0; i < sizeof(body) / sizeof(body[0]); i++) {
        aml_init(&a, buf, sizeof(buf));
        aml_open_scope(&a, "S");
        aml_bytes(&a, zero, body[i] - 4);     /* the name is 4 bytes */
        aml_close(&a);
        ck_assert_int_eq(aml_len(&a), (long)(1 + body[i] +
                         (body[i] + 1 <= 63 ? 1 :
                          body[i] + 2 < 4096 ? 2 : 3)));
        if (body[i] + 1 <= 63) {
            ck_assert_uint_eq(buf[1], body[i] + 1);
        } else {
            unsigned int n = (buf[1] >> 6) + 1, k;
            size_t total = buf[1] & 0x0F;

            for (k = 1; k < n; k++)
                total |= (size_t)buf[1 + k] << (4 + 8 * (k - 1));
            ck_assert_uint_eq(total, body[i] + n);
        }
    }
    /* an object left open, one closed twice, a buffer too small */
    aml_init(&a, buf, sizeof(buf));
    aml_open_device(&a, "DEV0");
    ck_assert_int_eq(aml_len(&a), -EINVAL);
    aml_close(&a);
    aml_close(&a);
    ck_assert_int_eq(aml_len(&a), -EINVAL);
    aml_init(&a, buf, 8);
    aml_open_method(&a, "M", 0);
    aml_int(&a, 0x123456789ULL);
    aml_close(&a);
    ck_assert_int_eq(aml_len(&a), -ENOSPC);
}
END_TEST

/* What iasl -d makes of the DSDT, as text (malloc'd). */
static char *disassemble(void)
{
    const uint8_t *f = fadt();
    const uint8_t *d = table(get64(f + 140), "DSDT");
    char dir[] = "/tmp/check_acpi.XXXXXX", cmd[256], path[64];
    char *text;
    FILE *fp;
    long n;
    int rc;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/dsdt.aml", dir);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(d, 1, get32(d + 4), fp), get32(d + 4));
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.aml >iasl.log 2>&1",
             dir);
    rc = system(cmd);
    ck_assert_msg(rc == 0, "iasl -d failed (%d): is acpica-tools "
                  "installed? see %s/iasl.log", rc, dir);
    snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    text = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    return text;
}

static void has(const char *text, const char *want)
{
    ck_assert_msg(strstr(text, want), "the DSDT has no \"%s\"", want);
}

START_TEST(dsdt_as_acpica_reads_it)
{
    char *t = disassemble(), want[128];
    unsigned int i;

    has(t, "Name (_S5, Package (0x04)");
    has(t, "Device (PCI0)");
    has(t, "Name (_HID, EisaId (\"PNP0A03\")");
    has(t, "WordBusNumber (ResourceProducer");
    has(t, "0xC0000000,         // Range Minimum");
    has(t, "0xFDFFFFFF,         // Range Maximum");
    has(t, "OperationRegion (PHPR, SystemIO, 0xAE00, 0x0C)");
    for (i = 1; i < PCI_SLOTS; i++) {
        snprintf(want, sizeof(want), "Device (S%02X)", i);
        has(t, want);
        snprintf(want, sizeof(want), "Name (_ADR, 0x%08X)", i << 16);
        has(t, want);
        /* as wide as its encoding: a byte, word or dword constant */
        snprintf(want, sizeof(want), "B0EJ = 0x%0*X\n",
                 i < 8 ? 2 : i < 16 ? 4 : 8, 1U << i);
        if (i > 1)
            has(t, want);
        snprintf(want, sizeof(want), "Notify (S%02X, 0x03)", i);
        has(t, want);
    }
    has(t, "Method (_EJ0, 1, NotSerialized)");
    has(t, "Local0 = PCIU");
    has(t, "Local1 = PCID");
    has(t, "Method (_E01, 0, NotSerialized)");
    has(t, "\\_SB.PCI0.PCNT ()");
    ck_assert_msg(!strstr(t, "Unknown"), "iasl found something unknown");
    free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acpi");
    TCase *tc = tcase_create("tables");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tables_link_and_sum);
    tcase_add_test(tc, tables_need_room);
    tcase_add_test(tc, aml_package_lengths);
    tcase_add_test(tc, dsdt_as_acpica_reads_it);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
