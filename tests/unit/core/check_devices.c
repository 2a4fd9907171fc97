/*
 * check_devices.c - the device registry (hypervisor/devices/bus.c) and
 * the serial, power and PCI hotplug models reached through it, as a
 * vCPU's exits reach them.  The host side records what the devices
 * asked for.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "devices/bus.h"
#include "devices/pcihp.h"
#include "devices/power.h"
#include "devices/serial.h"
#include "xenctrl.h"

/* What the devices asked of their host. */
static struct {
    int irq_level[16];
    int irq_calls;
    uint8_t out[64];
    unsigned int nout;
    unsigned int shutdown;       /* last reason + 1, 0 when none */
    unsigned int shutdowns;
} seen;

static void rec_irq(void *opaque, unsigned int irq, int level)
{
    (void)opaque;
    ck_assert_uint_lt(irq, 16);
    seen.irq_level[irq] = level;
    seen.irq_calls++;
}

static void rec_out(void *opaque, uint8_t byte)
{
    (void)opaque;
    if (seen.nout < sizeof(seen.out))
        seen.out[seen.nout++] = byte;
}

static void rec_shutdown(void *opaque, unsigned int reason)
{
    (void)opaque;
    seen.shutdown = reason + 1;
    seen.shutdowns++;
}

static const struct dev_host host = {
    .opaque = NULL,
    .irq_line = rec_irq,
    .console_out = rec_out,
    .shutdown = rec_shutdown,
};

static struct dev_bus bus;
static struct serial com1;
static struct power pm;
static struct pcihp hp;
static uint32_t ejected;                 /* slots the guest released */
static unsigned int ejects;

static void rec_eject(void *opaque, unsigned int slot)
{
    ck_assert_ptr_eq(opaque, &hp);
    ejected |= 1U << slot;
    ejects++;
}

static void setup(void)
{
    memset(&seen, 0, sizeof(seen));
    dev_bus_init(&bus);
    serial_init(&com1, &host);
    power_init(&pm, &host);
    ck_assert_int_eq(serial_attach(&com1, &bus), 0);
    ck_assert_int_eq(power_attach(&pm, &bus), 0);
    ejected = 0;
    ejects = 0;
    pcihp_init(&hp, &pm, rec_eject, &hp);
    ck_assert_int_eq(pcihp_attach(&hp, &bus), 0);
}

static void out32(uint64_t port, uint32_t v)
{
    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, port, 1, (uint8_t *)&v,
                                    4), 1);
}

static uint32_t in32(uint64_t port)
{
    uint32_t v = 0;

    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, port, 0, (uint8_t *)&v,
                                    4), 1);
    return v;
}

static void out8(uint64_t port, uint8_t v)
{
    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, port, 1, &v, 1), 1);
}

static uint8_t in8(uint64_t port)
{
    uint8_t v = 0;

    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, port, 0, &v, 1), 1);
    return v;
}

static void out16(uint64_t port, uint16_t v)
{
    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, port, 1, (uint8_t *)&v,
                                    2), 1);
}

static uint16_t in16(uint64_t port)
{
    uint16_t v = 0;

    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, port, 0, (uint8_t *)&v,
                                    2), 1);
    return v;
}

/* A device that counts what reaches it, and where. */
static unsigned int probe_hits;
static uint64_t probe_addr;

static void probe_read(void *dev, uint64_t addr, uint8_t *data,
                       unsigned int size)
{
    (void)dev;
    probe_hits++;
    probe_addr = addr;
    memset(data, 0x5A, size);
}

static void probe_write(void *dev, uint64_t addr, const uint8_t *data,
                        unsigned int size)
{
    (void)dev;
    (void)data;
    (void)size;
    probe_hits++;
    probe_addr = addr;
}

static const struct dev_ops probe_ops = {
    .name = "probe", .read = probe_read, .write = probe_write,
};
static const struct dev_ops other_ops = {
    .name = "other", .read = probe_read, .write = probe_write,
};

START_TEST(bus_claims)
{
    const struct dev_ops *clash = NULL;
    uint8_t b = 0;
    unsigned int i;

    dev_bus_init(&bus);
    ck_assert_int_eq(dev_bus_add(&bus, DEV_MMIO, 0xFED00000, 0x1000,
                                 &probe_ops, NULL, NULL), 0);
    /* the same addresses in the other space are free */
    ck_assert_int_eq(dev_bus_add(&bus, DEV_PIO, 0xFED00000, 0x10,
                                 &other_ops, NULL, NULL), 0);
    /* neighbours touching on either side are fine */
    ck_assert_int_eq(dev_bus_add(&bus, DEV_MMIO, 0xFECFF000, 0x1000,
                                 &other_ops, NULL, NULL), 0);
    ck_assert_int_eq(dev_bus_add(&bus, DEV_MMIO, 0xFED01000, 0x1000,
                                 &other_ops, NULL, NULL), 0);
    /* overlaps from below, inside, from above and around are refused,
     * the holder named */
    ck_assert_int_eq(dev_bus_add(&bus, DEV_MMIO, 0xFED00FFF, 2, &other_ops,
                                 NULL, &clash), -EEXIST);
    ck_assert_ptr_nonnull(clash);
    ck_assert_int_eq(dev_bus_add(&bus, DEV_MMIO, 0xFED00800, 1, &other_ops,
                                 NULL, &clash), -EEXIST);
    ck_assert_str_eq(clash->name, "probe");
    ck_assert_int_eq(dev_bus_add(&bus, DEV_MMIO, 0xFE000000, 0x2000000,
                                 &other_ops, NULL, &clash), -EEXIST);
    ck_assert_int_eq(dev_bus_add(&bus, DEV_MMIO, 0x1000, 0, &other_ops,
                                 NULL, NULL), -EINVAL);
    ck_assert_int_eq(dev_bus_add(&bus, DEV_MMIO, UINT64_MAX - 1, 4,
                                 &other_ops, NULL, NULL), -EINVAL);
    ck_assert_uint_eq(bus.count, 4);

    /* dispatch: the holder gets the absolute address */
    probe_hits = 0;
    ck_assert_int_eq(dev_bus_access(&bus, DEV_MMIO, 0xFED00010, 0, &b, 1),
                     1);
    ck_assert_uint_eq(b, 0x5A);
    ck_assert_uint_eq(probe_hits, 1);
    ck_assert_uint_eq(probe_addr, 0xFED00010);
    /* nobody there: reads all ones, writes dropped, 0 returned */
    b = 0;
    ck_assert_int_eq(dev_bus_access(&bus, DEV_MMIO, 0xFED02000, 0, &b, 1),
                     0);
    ck_assert_uint_eq(b, 0xFF);
    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, 0xFED0000F, 1, &b, 1),
                     1);
    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, 0xFED00010, 1, &b, 1),
                     0);
    ck_assert_uint_eq(probe_hits, 2);

    /* full */
    for (i = bus.count; i < DEV_BUS_MAX_RANGES; i++)
        ck_assert_int_eq(dev_bus_add(&bus, DEV_PIO, 0x100 + i, 1,
                                     &other_ops, NULL, NULL), 0);
    ck_assert_int_eq(dev_bus_add(&bus, DEV_PIO, 0x10, 1, &other_ops, NULL,
                                 NULL), -ENOSPC);
    /* and every one still found */
    for (i = 4; i < DEV_BUS_MAX_RANGES; i++)
        ck_assert_ptr_nonnull(dev_bus_find(&bus, DEV_PIO, 0x100 + i));
    ck_assert_ptr_null(dev_bus_find(&bus, DEV_PIO, 0x100 + 3));
}
END_TEST

START_TEST(devices_do_not_overlap)
{
    const struct dev_ops *clash = NULL;

    setup();
    /* a second UART on COM1 clashes with the first */
    ck_assert_int_eq(dev_bus_add(&bus, DEV_PIO, 0x3FF, 1, &probe_ops, NULL,
                                 &clash), -EEXIST);
    ck_assert_ptr_nonnull(strstr(clash->name, "serial"));
    ck_assert_int_eq(dev_bus_add(&bus, DEV_PIO, ACPI_RESET_PORT, 1,
                                 &probe_ops, NULL, &clash), -EEXIST);
    ck_assert_ptr_nonnull(strstr(clash->name, "power"));
    /* COM2 is free */
    ck_assert_int_eq(dev_bus_add(&bus, DEV_PIO, 0x2F8, 8, &probe_ops, NULL,
                                 NULL), 0);
}
END_TEST

START_TEST(serial_output_and_irq)
{
    setup();
    out8(SERIAL_COM1_BASE, 'h');
    out8(SERIAL_COM1_BASE, 'i');
    ck_assert_uint_eq(seen.nout, 2);
    ck_assert_int_eq(memcmp(seen.out, "hi", 2), 0);
    /* transmitter always empty */
    ck_assert_uint_eq(in8(SERIAL_COM1_BASE + 5) & 0x60, 0x60);
    /* enabling the THR-empty interrupt raises IRQ 4 */
    out8(SERIAL_COM1_BASE + 1, 0x02);
    ck_assert_int_eq(seen.irq_level[SERIAL_COM1_IRQ], 1);
    /* reading IIR says why and acknowledges it: the line drops */
    ck_assert_uint_eq(in8(SERIAL_COM1_BASE + 2) & 0x0F, 0x02);
    ck_assert_int_eq(seen.irq_level[SERIAL_COM1_IRQ], 0);
    /* loopback: nothing leaves */
    out8(SERIAL_COM1_BASE + 4, 0x10);
    out8(SERIAL_COM1_BASE, 'x');
    ck_assert_uint_eq(seen.nout, 2);
    /* the divisor latch hides THR */
    out8(SERIAL_COM1_BASE + 4, 0);
    out8(SERIAL_COM1_BASE + 3, 0x80);
    out8(SERIAL_COM1_BASE, 0x01);
    ck_assert_uint_eq(in8(SERIAL_COM1_BASE), 0x01);
    ck_assert_uint_eq(seen.nout, 2);
}
END_TEST

START_TEST(serial_input)
{
    uint8_t big[SERIAL_RX_FIFO + 10];

    setup();
    out8(SERIAL_COM1_BASE + 1, 0x01);          /* receive interrupt */
    ck_assert_int_eq(seen.irq_level[SERIAL_COM1_IRQ], 0);
    ck_assert_uint_eq(serial_receive(&com1, (const uint8_t *)"ok", 2), 2);
    ck_assert_int_eq(seen.irq_level[SERIAL_COM1_IRQ], 1);
    ck_assert_uint_eq(in8(SERIAL_COM1_BASE + 5) & 0x01, 0x01);
    ck_assert_uint_eq(in8(SERIAL_COM1_BASE), 'o');
    ck_assert_uint_eq(in8(SERIAL_COM1_BASE), 'k');
    ck_assert_uint_eq(in8(SERIAL_COM1_BASE + 5) & 0x01, 0);
    ck_assert_int_eq(seen.irq_level[SERIAL_COM1_IRQ], 0);
    /* the FIFO takes what fits and says so */
    memset(big, 'z', sizeof(big));
    ck_assert_uint_eq(serial_receive(&com1, big, sizeof(big)),
                      SERIAL_RX_FIFO);
}
END_TEST

START_TEST(power_off_and_resets)
{
    setup();
    /* S5 through PM1a_CNT */
    out16(ACPI_PM1A_CNT_PORT, (ACPI_SLP_TYP_S5 << 10) | ACPI_SLP_EN);
    ck_assert_uint_eq(seen.shutdown, XC_SHUTDOWN_poweroff + 1);
    /* SLP_EN is write-only, SCI_EN stays set */
    ck_assert_uint_eq(in16(ACPI_PM1A_CNT_PORT) & (ACPI_SLP_EN | 1), 1);
    /* another sleep type is not a power-off */
    seen.shutdowns = 0;
    out16(ACPI_PM1A_CNT_PORT, (1 << 10) | ACPI_SLP_EN);
    ck_assert_uint_eq(seen.shutdowns, 0);
    /* the reset register and the i8042 reset line */
    out8(ACPI_RESET_PORT, ACPI_RESET_VALUE);
    ck_assert_uint_eq(seen.shutdown, XC_SHUTDOWN_reboot + 1);
    seen.shutdown = 0;
    out8(ACPI_RESET_PORT, 0x02);
    ck_assert_uint_eq(seen.shutdown, 0);
    out8(0x64, 0xFE);
    ck_assert_uint_eq(seen.shutdown, XC_SHUTDOWN_reboot + 1);
}
END_TEST

START_TEST(power_button_sci)
{
    uint8_t b = 0;

    setup();
    /* pressed while not enabled: status set, no SCI */
    power_button(&pm);
    ck_assert_uint_eq(in16(ACPI_PM1A_EVT_PORT) & POWER_PWRBTN, POWER_PWRBTN);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 0);
    /* enabling it raises the SCI; writing 1 to the status clears it */
    out16(ACPI_PM1A_EVT_PORT + 2, POWER_PWRBTN);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 1);
    out16(ACPI_PM1A_EVT_PORT, POWER_PWRBTN);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 0);
    ck_assert_uint_eq(in16(ACPI_PM1A_EVT_PORT) & POWER_PWRBTN, 0);
    /* a byte inside the block with no register reads all ones */
    ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, ACPI_PM1A_EVT_PORT + 1,
                                    0, &b, 1), 1);
    ck_assert_uint_eq(b, 0xFF);
    ck_assert_uint_eq(seen.shutdowns, 0);
}
END_TEST

/* The GPE block as ACPICA drives it: byte registers, enable after. */
START_TEST(gpe_sci)
{
    setup();
    power_gpe(&pm, ACPI_GPE_PCIHP);
    ck_assert_uint_eq(in8(ACPI_GPE0_PORT), 1U << ACPI_GPE_PCIHP);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 0);   /* not enabled */
    out8(ACPI_GPE0_PORT + 2, 1U << ACPI_GPE_PCIHP);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 1);
    ck_assert_uint_eq(in8(ACPI_GPE0_PORT + 2), 1U << ACPI_GPE_PCIHP);
    /* writing 1 clears the status, and the SCI drops */
    out8(ACPI_GPE0_PORT, 1U << ACPI_GPE_PCIHP);
    ck_assert_uint_eq(in8(ACPI_GPE0_PORT), 0);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 0);
    /* the power button and a GPE share the line: it stays up while
     * either is pending */
    out16(ACPI_PM1A_EVT_PORT + 2, POWER_PWRBTN);
    power_button(&pm);
    power_gpe(&pm, ACPI_GPE_PCIHP);
    out16(ACPI_PM1A_EVT_PORT, POWER_PWRBTN);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 1);
    out8(ACPI_GPE0_PORT, 1U << ACPI_GPE_PCIHP);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 0);
    /* the second status byte and the bytes past the block */
    power_gpe(&pm, 9);
    ck_assert_uint_eq(in8(ACPI_GPE0_PORT + 1), 1U << 1);
    ck_assert_uint_eq(in16(ACPI_GPE0_PORT), 1U << 9);
}
END_TEST

START_TEST(pci_hotplug_registers)
{
    setup();
    out8(ACPI_GPE0_PORT + 2, 1U << ACPI_GPE_PCIHP);
    /* a device came into slot 3: Device Check news, the GPE fires */
    pcihp_check(&hp, 3);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 1);
    ck_assert_uint_eq(in32(ACPI_PCIHP_PORT), 1U << 3);
    ck_assert_uint_eq(in32(ACPI_PCIHP_PORT), 0);      /* read once */
    ck_assert_uint_eq(in32(ACPI_PCIHP_PORT + 4), 0);
    out8(ACPI_GPE0_PORT, 1U << ACPI_GPE_PCIHP);
    ck_assert_int_eq(seen.irq_level[ACPI_SCI_IRQ], 0);
    /* eject requests for two slots, read together */
    pcihp_request_eject(&hp, 3);
    pcihp_request_eject(&hp, 31);
    ck_assert_uint_eq(in32(ACPI_PCIHP_PORT + 4), (1U << 3) | (1U << 31));
    ck_assert_uint_eq(in32(ACPI_PCIHP_PORT + 4), 0);
    /* slot 0 (the host bridge) and slots past 31 are not hot-pluggable */
    pcihp_check(&hp, 0);
    pcihp_request_eject(&hp, 32);
    ck_assert_uint_eq(in32(ACPI_PCIHP_PORT), 0);
    ck_assert_uint_eq(in32(ACPI_PCIHP_PORT + 4), 0);
    /* the guest's _EJ0 writes its slot's bit */
    ck_assert_uint_eq(ejects, 0);
    out32(ACPI_PCIHP_PORT + 8, 1U << 3);
    ck_assert_uint_eq(ejected, 1U << 3);
    ck_assert_uint_eq(ejects, 1);
    /* bit 0 is the host bridge: never ejected */
    out32(ACPI_PCIHP_PORT + 8, 1U);
    ck_assert_uint_eq(ejects, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("devices");
    TCase *tc = tcase_create("bus");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, bus_claims);
    tcase_add_test(tc, devices_do_not_overlap);
    tcase_add_test(tc, serial_output_and_irq);
    tcase_add_test(tc, serial_input);
    tcase_add_test(tc, power_off_and_resets);
    tcase_add_test(tc, power_button_sci);
    tcase_add_test(tc, gpe_sci);
    tcase_add_test(tc, pci_hotplug_registers);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
