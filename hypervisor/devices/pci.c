/*
 * pci.c - PCI bus 0 behind configuration mechanism #1 (see pci.h;
 * register layout from the PCI Local Bus specification, type 0 header).
 */
#include "pci.h"

#include <errno.h>
#include <string.h>

#define ADDR_ENABLE       0x80000000u
#define BAR_FLAGS         0xfu               /* 32-bit memory: all 0 */

/* The host bridge's ids: a generic PCIe host bridge. */
#define BRIDGE_VENDOR     0x1b36
#define BRIDGE_DEVICE     0x0008
#define BRIDGE_CLASS      0x060000

uint8_t pci_get8(const struct pci_func *f, unsigned int off)
{
    return f->cfg[off];
}

uint16_t pci_get16(const struct pci_func *f, unsigned int off)
{
    return (uint16_t)(f->cfg[off] | f->cfg[off + 1] << 8);
}

uint32_t pci_get32(const struct pci_func *f, unsigned int off)
{
    return (uint32_t)pci_get16(f, off) |
           (uint32_t)pci_get16(f, off + 2) << 16;
}

void pci_set8(struct pci_func *f, unsigned int off, uint8_t v)
{
    f->cfg[off] = v;
}

void pci_set16(struct pci_func *f, unsigned int off, uint16_t v)
{
    f->cfg[off] = (uint8_t)v;
    f->cfg[off + 1] = (uint8_t)(v >> 8);
}

void pci_set32(struct pci_func *f, unsigned int off, uint32_t v)
{
    pci_set16(f, off, (uint16_t)v);
    pci_set16(f, off + 2, (uint16_t)(v >> 16));
}

void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device,
                   uint32_t class_code, uint8_t revision,
                   const struct pci_func_ops *ops, void *opaque)
{
    memset(f, 0, sizeof(*f));
    f->ops = ops;
    f->opaque = opaque;
    pci_set16(f, PCI_VENDOR_ID, vendor);
    pci_set16(f, PCI_DEVICE_ID, device);
    pci_set8(f, PCI_REVISION, revision);
    pci_set8(f, PCI_CLASS_PROG, (uint8_t)class_code);
    pci_set16(f, PCI_CLASS_PROG + 1, (uint16_t)(class_code >> 8));
    /* memory decode, bus master, INTx off; cache line size, latency
     * timer and interrupt line are scratch bytes for the guest */
    f->wmask[PCI_COMMAND] = (uint8_t)(PCI_COMMAND_MEMORY |
                                      PCI_COMMAND_MASTER);
    f->wmask[PCI_COMMAND + 1] = (uint8_t)(PCI_COMMAND_INTX_OFF >> 8);
    f->wmask[0x0c] = 0xff;
    f->wmask[0x0d] = 0xff;
    f->wmask[PCI_INTERRUPT_LINE] = 0xff;
    f->cap_end = 0x40;
}

void pci_func_bar(struct pci_func *f, unsigned int bar, uint32_t size,
                  uint32_t addr)
{
    uint32_t mask = ~(size - 1) & ~BAR_FLAGS;

    f->bar_size[bar] = size;
    pci_set32(f, PCI_BAR0 + 4 * bar, addr & mask);
    f->wmask[PCI_BAR0 + 4 * bar] = (uint8_t)mask;
    f->wmask[PCI_BAR0 + 4 * bar + 1] = (uint8_t)(mask >> 8);
    f->wmask[PCI_BAR0 + 4 * bar + 2] = (uint8_t)(mask >> 16);
    f->wmask[PCI_BAR0 + 4 * bar + 3] = (uint8_t)(mask >> 24);
}

unsigned int pci_func_add_cap(struct pci_func *f, uint8_t id,
                              unsigned int len)
{
    unsigned int off = f->cap_end, at, hops;

    if (len < 2 || off + len > PCI_CFG_SIZE)
        return 0;
    f->cfg[off] = id;
    f->cfg[off + 1] = 0;
    if (!f->cfg[PCI_CAP_PTR]) {
        f->cfg[PCI_CAP_PTR] = (uint8_t)off;
    } else {
        at = f->cfg[PCI_CAP_PTR];
        for (hops = 0; f->cfg[at + 1] && hops < 64; hops++)
            at = f->cfg[at + 1];
        f->cfg[at + 1] = (uint8_t)off;
    }
    pci_set16(f, PCI_STATUS, pci_get16(f, PCI_STATUS) | PCI_STATUS_CAP_LIST);
    f->cap_end = (off + len + 3) & ~3u;
    return off;
}

/* Where BAR bar decodes as configured now: 0 when nowhere. */
static uint64_t bar_decode(const struct pci_func *f, unsigned int bar)
{
    uint64_t size = f->bar_size[bar];
    uint64_t a;

    if (!size || !(pci_get16(f, PCI_COMMAND) & PCI_COMMAND_MEMORY))
        return 0;
    a = pci_get32(f, PCI_BAR0 + 4 * bar) & ~(uint32_t)BAR_FLAGS &
        ~(size - 1);
    if (a < PCI_MMIO_BASE || a + size > PCI_MMIO_BASE + PCI_MMIO_SIZE)
        return 0;
    return a;
}

/* Tell f of each BAR that starts, stops or moves decoding. */
static void update_decode(struct pci_func *f)
{
    unsigned int i;
    uint64_t now, old;

    for (i = 0; i < PCI_BARS; i++) {
        now = bar_decode(f, i);
        if (now == f->bar_addr[i])
            continue;
        old = f->bar_addr[i];
        f->bar_addr[i] = now;
        if (f->ops && f->ops->bar_moved)
            f->ops->bar_moved(f, i, old, now);
    }
}

/* The function the address register selects, or NULL (all ones). */
static struct pci_func *selected(const struct pci_bus *pb)
{
    uint32_t a = pb->addr;

    if (!(a & ADDR_ENABLE) || ((a >> 16) & 0xff) || ((a >> 8) & 7))
        return NULL;
    return pb->slot[(a >> 11) & 0x1f];
}

static void config_read(struct pci_bus *pb, unsigned int port,
                        uint8_t *data, unsigned int size)
{
    struct pci_func *f = selected(pb);
    unsigned int off = (pb->addr & 0xfc) + (port - 0xcfc), i;

    for (i = 0; i < size; i++)
        data[i] = f && off + i < PCI_CFG_SIZE ? f->cfg[off + i] : 0xff;
}

static void config_write(struct pci_bus *pb, unsigned int port,
                         const uint8_t *data, unsigned int size)
{
    struct pci_func *f = selected(pb);
    unsigned int off = (pb->addr & 0xfc) + (port - 0xcfc), i, o;

    if (!f || off >= PCI_CFG_SIZE)
        return;
    if (size > PCI_CFG_SIZE - off)
        size = PCI_CFG_SIZE - off;
    for (i = 0; i < size; i++) {
        o = off + i;
        f->cfg[o] = (uint8_t)((f->cfg[o] & ~f->wmask[o]) |
                              (data[i] & f->wmask[o]));
    }
    /* the command register or a BAR: decoding may have changed */
    if (off < PCI_BAR0 + 4 * PCI_BARS && off + size > PCI_COMMAND)
        update_decode(f);
    if (f->ops && f->ops->config_written)
        f->ops->config_written(f, off, size);
}

static void cf8_read(void *dev, uint64_t addr, uint8_t *data,
                     unsigned int size)
{
    struct pci_bus *pb = dev;

    if (addr >= PCI_CONFIG_PORT + 4) {
        config_read(pb, (unsigned int)addr, data, size);
    } else if (addr == PCI_CONFIG_PORT && size == 4) {
        memcpy(data, &pb->addr, 4);
    } else {
        memset(data, 0xff, size);   /* no other register there */
    }
}

static void cf8_write(void *dev, uint64_t addr, const uint8_t *data,
                      unsigned int size)
{
    struct pci_bus *pb = dev;
    uint32_t v;

    if (addr >= PCI_CONFIG_PORT + 4) {
        config_write(pb, (unsigned int)addr, data, size);
    } else if (addr == PCI_CONFIG_PORT && size == 4) {
        memcpy(&v, data, 4);
        pb->addr = v & ~3u;
    }
    /* byte and word writes there (0xCF9: reset control, 0xCFB: the
     * mechanism switch of old chipsets) are dropped */
}

static const struct dev_ops config_ops = {
    .name = "pci-config",
    .read = cf8_read,
    .write = cf8_write,
};

/*
 * The function and BAR decoding addr: 1 (*f_r, *bar_r, *off_r set), or
 * 0 when none does; a ghost range sets *f_r NULL and returns 1.
 */
static int route(const struct pci_bus *pb, uint64_t addr,
                 struct pci_func **f_r, unsigned int *bar_r,
                 uint64_t *off_r)
{
    unsigned int s, i;
    struct pci_func *f;

    for (s = 0; s < PCI_SLOTS; s++) {
        f = pb->slot[s];
        if (!f)
            continue;
        for (i = 0; i < PCI_BARS; i++)
            if (f->bar_addr[i] && addr >= f->bar_addr[i] &&
                addr - f->bar_addr[i] < f->bar_size[i]) {
                *f_r = f;
                *bar_r = i;
                *off_r = addr - f->bar_addr[i];
                return 1;
            }
    }
    for (s = 0; s < PCI_SLOTS; s++)
        for (i = 0; i < PCI_BARS; i++)
            if (pb->ghost[s][i].len && addr >= pb->ghost[s][i].base &&
                addr - pb->ghost[s][i].base < pb->ghost[s][i].len) {
                *f_r = NULL;
                return 1;
            }
    return 0;
}

static void window_read(void *dev, uint64_t addr, uint8_t *data,
                        unsigned int size)
{
    struct pci_func *f;
    unsigned int bar;
    uint64_t off;

    if (!route(dev, addr, &f, &bar, &off)) {
        memset(data, 0xff, size);
    } else if (!f || !f->ops || !f->ops->bar_read) {
        memset(data, 0, size);         /* a ghost */
    } else {
        f->ops->bar_read(f, bar, off, data, size);
    }
}

static void window_write(void *dev, uint64_t addr, const uint8_t *data,
                         unsigned int size)
{
    struct pci_func *f;
    unsigned int bar;
    uint64_t off;

    if (route(dev, addr, &f, &bar, &off) && f && f->ops &&
        f->ops->bar_write)
        f->ops->bar_write(f, bar, off, data, size);
}

static const struct dev_ops window_ops = {
    .name = "pci-mmio",
    .read = window_read,
    .write = window_write,
};

void pci_bus_init(struct pci_bus *pb)
{
    memset(pb, 0, sizeof(*pb));
    pci_func_init(&pb->bridge, BRIDGE_VENDOR, BRIDGE_DEVICE, BRIDGE_CLASS,
                  0, NULL, NULL);
    pb->slot[0] = &pb->bridge;
}

int pci_bus_attach(struct pci_bus *pb, struct dev_bus *bus)
{
    int rc;

    /* the address register is reached whole at 0xCF8 (the bus routes
     * an access by its first port); 0xCF9 is the reset register
     * (power.h), as on real chipsets */
    rc = dev_bus_add(bus, DEV_PIO, PCI_CONFIG_PORT, 1, &config_ops, pb,
                     NULL);
    if (rc == 0)
        rc = dev_bus_add(bus, DEV_PIO, PCI_CONFIG_PORT + 4, 4, &config_ops,
                         pb, NULL);
    if (rc == 0)
        rc = dev_bus_add(bus, DEV_MMIO, PCI_MMIO_BASE, PCI_MMIO_SIZE,
                         &window_ops, pb, NULL);
    return rc;
}

int pci_bus_insert(struct pci_bus *pb, unsigned int slot,
                   struct pci_func *f)
{
    if (slot == 0 || slot >= PCI_SLOTS)
        return -EINVAL;
    if (pb->slot[slot])
        return -EBUSY;
    memset(pb->ghost[slot], 0, sizeof(pb->ghost[slot]));
    memset(f->bar_addr, 0, sizeof(f->bar_addr));
    pb->slot[slot] = f;
    update_decode(f);
    return 0;
}

void pci_bus_remove(struct pci_bus *pb, unsigned int slot, int ghost)
{
    struct pci_func *f;
    uint64_t old;
    unsigned int i;

    if (slot == 0 || slot >= PCI_SLOTS || !pb->slot[slot])
        return;
    f = pb->slot[slot];
    pb->slot[slot] = NULL;
    memset(pb->ghost[slot], 0, sizeof(pb->ghost[slot]));
    for (i = 0; i < PCI_BARS; i++) {
        if (!f->bar_addr[i])
            continue;
        old = f->bar_addr[i];
        f->bar_addr[i] = 0;
        if (ghost)
            pb->ghost[slot][i] = (struct pci_ghost){ old, f->bar_size[i] };
        if (f->ops && f->ops->bar_moved)
            f->ops->bar_moved(f, i, old, 0);
    }
}

int pci_bus_ghost(const struct pci_bus *pb, unsigned int slot)
{
    unsigned int i;

    for (i = 0; slot < PCI_SLOTS && i < PCI_BARS; i++)
        if (pb->ghost[slot][i].len)
            return 1;
    return 0;
}

struct pci_func *pci_bus_func(const struct pci_bus *pb, unsigned int slot)
{
    return slot < PCI_SLOTS ? pb->slot[slot] : NULL;
}

void pci_func_load(struct pci_func *f, const uint8_t *cfg)
{
    unsigned int i;

    for (i = 0; i < PCI_CFG_SIZE; i++)
        f->cfg[i] = (uint8_t)((f->cfg[i] & ~f->wmask[i]) |
                              (cfg[i] & f->wmask[i]));
    update_decode(f);
    if (f->ops && f->ops->config_written)
        f->ops->config_written(f, 0, PCI_CFG_SIZE);
}
