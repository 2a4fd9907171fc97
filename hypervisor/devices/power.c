/*
 * power.c - power-off and reset ports (see power.h).
 */
#include "devices/power.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "xenctrl.h"

#define I8042_CMD_PORT   0x64
#define I8042_CMD_RESET  0xFE
#define CF9_RESET        0x04
#define PM1_SCI_EN       0x0001
#define PM1_SLP_TYP(v)   (((v) >> 10) & 7)

void power_init(struct power *p, const struct dev_host *host)
{
    memset(p, 0, sizeof(*p));
    p->host = host;
    p->pm1_cnt = PM1_SCI_EN;             /* already in ACPI mode */
}

static uint32_t get(const uint8_t *data, unsigned int size)
{
    uint32_t v = 0;

    memcpy(&v, data, size > 4 ? 4 : size);
    return v;
}

static void put(uint8_t *data, unsigned int size, uint32_t v)
{
    memcpy(data, &v, size > 4 ? 4 : size);
}

/* Drive the SCI from status & enable. */
static void update_sci(struct power *p)
{
    int level = ((p->pm1_sts & p->pm1_en & POWER_PWRBTN) ||
                 (p->gpe_sts & p->gpe_en)) &&
                (p->pm1_cnt & PM1_SCI_EN);

    if (level == p->sci)
        return;
    p->sci = level;
    p->host->irq_line(p->host->opaque, ACPI_SCI_IRQ, level);
}

void power_button(struct power *p)
{
    p->pm1_sts |= POWER_PWRBTN;
    update_sci(p);
}

void power_gpe(struct power *p, unsigned int bit)
{
    p->gpe_sts |= (uint16_t)(1U << bit);
    update_sci(p);
}

static void stop(struct power *p, unsigned int reason)
{
    p->host->shutdown(p->host->opaque, reason);
}

/*
 * The GPE0 block, byte by byte as ACPICA reaches it (a wider access
 * covers the next registers): status bytes at 0-1, enable bytes at 2-3.
 */
static void gpe_access(struct power *p, unsigned int off, int write,
                       uint8_t *data, unsigned int size)
{
    unsigned int i;

    for (i = 0; i < size; i++, off++) {
        uint16_t *reg = off < 2 ? &p->gpe_sts : &p->gpe_en;
        unsigned int shift = 8 * (off & 1);

        if (off >= ACPI_GPE0_LEN) {
            if (!write)
                data[i] = 0xFF;
            continue;
        }
        if (!write)
            data[i] = (uint8_t)(*reg >> shift);
        else if (off < 2)
            *reg &= (uint16_t)~((unsigned int)data[i] << shift);
        else
            *reg = (uint16_t)((*reg & ~(0xFFU << shift)) |
                              ((unsigned int)data[i] << shift));
    }
    update_sci(p);
}

/* One access; returns 0 where no register is (inside a claimed block:
 * the odd byte of PM1a), which reads as all ones. */
static int pm_access(struct power *p, uint64_t port, int write, uint8_t *data,
                  unsigned int size)
{
    uint32_t v = write ? get(data, size) : 0;

    switch (port) {
    case ACPI_PM1A_EVT_PORT:             /* status (write 1 to clear) */
        if (!write) {
            put(data, size, p->pm1_sts | (size > 2 ?
                                          (uint32_t)p->pm1_en << 16 : 0));
            return 1;
        }
        p->pm1_sts &= (uint16_t)~v;
        if (size > 2)
            p->pm1_en = (uint16_t)(v >> 16);
        update_sci(p);
        return 1;
    case ACPI_PM1A_EVT_PORT + 2:
        if (write) {
            p->pm1_en = (uint16_t)v;
            update_sci(p);
        } else {
            put(data, size, p->pm1_en);
        }
        return 1;
    case ACPI_PM1A_CNT_PORT:
        if (!write) {
            put(data, size, p->pm1_cnt);
            return 1;
        }
        p->pm1_cnt = (uint16_t)((v & ~ACPI_SLP_EN) | PM1_SCI_EN);
        if ((v & ACPI_SLP_EN) && PM1_SLP_TYP(v) == ACPI_SLP_TYP_S5)
            stop(p, XC_SHUTDOWN_poweroff);
        return 1;
    case ACPI_GPE0_PORT:                 /* status (write 1 to clear) */
    case ACPI_GPE0_PORT + 1:
    case ACPI_GPE0_PORT + 2:             /* enable */
    case ACPI_GPE0_PORT + 3:
        gpe_access(p, (unsigned int)(port - ACPI_GPE0_PORT), write, data,
                   size);
        return 1;
    case ACPI_RESET_PORT:
        if (!write) {
            put(data, size, p->cf9);
            return 1;
        }
        p->cf9 = (uint8_t)v;
        if (v & CF9_RESET)
            stop(p, XC_SHUTDOWN_reboot);
        return 1;
    case I8042_CMD_PORT:
        if (!write)
            put(data, size, 0);          /* nothing buffered */
        else if ((v & 0xFF) == I8042_CMD_RESET)
            stop(p, XC_SHUTDOWN_reboot);
        return 1;
    }
    return 0;
}

static void bus_read(void *dev, uint64_t addr, uint8_t *data,
                     unsigned int size)
{
    if (!pm_access(dev, addr, 0, data, size))
        memset(data, 0xFF, size);
}

static void bus_write(void *dev, uint64_t addr, const uint8_t *data,
                      unsigned int size)
{
    uint8_t v[8];

    memcpy(v, data, size > sizeof(v) ? sizeof(v) : size);
    (void)pm_access(dev, addr, 1, v, size);
}

static const struct dev_ops power_ops = {
    .name = "power (ACPI PM1a, GPE0, reset, i8042)",
    .read = bus_read,
    .write = bus_write,
};

int power_attach(struct power *p, struct dev_bus *bus)
{
    static const struct { uint64_t base, len; } claims[] = {
        { ACPI_PM1A_EVT_PORT, 4 },
        { ACPI_PM1A_CNT_PORT, 2 },
        { ACPI_RESET_PORT, 1 },
        { ACPI_GPE0_PORT, ACPI_GPE0_LEN },
        { I8042_CMD_PORT, 1 },
    };
    size_t i;
    int rc;

    for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
        rc = dev_bus_add(bus, DEV_PIO, claims[i].base, claims[i].len,
                         &power_ops, p, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

void power_save(const struct power *p, uint8_t *out)
{
    memset(out, 0, POWER_STATE_SIZE);
    put16(out, p->pm1_sts);
    put16(out + 2, p->pm1_en);
    put16(out + 4, p->pm1_cnt);
    put16(out + 6, p->gpe_sts);
    put16(out + 8, p->gpe_en);
    out[10] = p->cf9;
    out[11] = (uint8_t)p->sci;
}

int power_load(struct power *p, const uint8_t *in, size_t len)
{
    if (len != POWER_STATE_SIZE)
        return -EINVAL;
    p->pm1_sts = get16(in);
    p->pm1_en = get16(in + 2);
    p->pm1_cnt = get16(in + 4);
    p->gpe_sts = get16(in + 6);
    p->gpe_en = get16(in + 8);
    p->cf9 = in[10];
    p->sci = in[11] != 0;
    return 0;
}
