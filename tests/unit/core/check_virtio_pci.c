/*
 * check_virtio_pci.c - the PCI bus (hypervisor/devices/pci.c) through
 * configuration mechanism #1 and its MMIO window, and the virtio-pci
 * slot (devices/virtio_pci.c over devices/virtio.c) driven through
 * configuration space and BAR 0 as Linux's virtio_pci and virtio_blk
 * drive them, with a host that records the ioeventfds, irqfds and MSI
 * routes KVM would get: against a real qemu-storage-daemon
 * vhost-user-blk export of a patterned raw image ($XENOLITH_QSD, else
 * qemu-storage-daemon from PATH; without one its test case is skipped),
 * and against a fake backend with a config space and a backend channel
 * (config changes, hang-ups, restarts).  The daemon, the guest's ring
 * and the fake backend are vhu_fixture's, shared with
 * check_vhost_user.c.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/bus.h"
#include "devices/pci.h"
#include "devices/vhost_user.h"
#include "devices/virtio_pci.h"
#include "vhu_fixture.h"

/* ---- a host that records what KVM would be asked ---- */

#define MAX_IOEV        8
#define MAX_GSI         128

static struct {
    struct dev_ram ram;
    struct {
        uint64_t addr, match;
        int fd;
    } io[MAX_IOEV];              /* ioeventfds assigned now */
    int nio;
    int irq_fd[MAX_GSI];         /* assigned irqfd per GSI, -1 none */
    struct {
        int set;
        uint64_t addr;
        uint32_t data;
    } route[MAX_GSI];            /* MSI routes */
    int route_calls;
    int fail_route;              /* msi_route answers -ENOSPC */
} hs;

static int rec_ioeventfd(void *opaque, uint64_t addr, unsigned int len,
                         uint64_t datamatch, int fd, int assign)
{
    int i;

    (void)opaque;
    ck_assert_uint_eq(len, 2);
    for (i = 0; i < hs.nio; i++)
        if (hs.io[i].addr == addr && hs.io[i].match == datamatch)
            break;
    if (assign) {
        if (i < hs.nio)
            return -EEXIST;      /* as KVM says */
        ck_assert_int_lt(hs.nio, MAX_IOEV);
        hs.io[hs.nio].addr = addr;
        hs.io[hs.nio].match = datamatch;
        hs.io[hs.nio++].fd = fd;
        return 0;
    }
    ck_assert_msg(i < hs.nio, "deassigning an ioeventfd at %#llx that "
                  "is not there", (unsigned long long)addr);
    ck_assert_int_eq(hs.io[i].fd, fd);
    hs.io[i] = hs.io[--hs.nio];
    return 0;
}

static int rec_irqfd(void *opaque, unsigned int gsi, int fd, int assign)
{
    (void)opaque;
    ck_assert_uint_lt(gsi, MAX_GSI);
    if (assign) {
        ck_assert_msg(hs.irq_fd[gsi] == -1, "GSI %u has an irqfd", gsi);
        hs.irq_fd[gsi] = fd;
    } else {
        ck_assert_int_eq(hs.irq_fd[gsi], fd);
        hs.irq_fd[gsi] = -1;
    }
    return 0;
}

static int rec_msi_route(void *opaque, unsigned int gsi, uint64_t addr,
                         uint32_t data, int assign)
{
    (void)opaque;
    ck_assert_uint_lt(gsi, MAX_GSI);
    hs.route_calls++;
    if (assign && hs.fail_route)
        return -ENOSPC;
    hs.route[gsi].set = assign;
    hs.route[gsi].addr = assign ? addr : 0;
    hs.route[gsi].data = assign ? data : 0;
    return 0;
}

static const struct dev_ram *rec_ram(void *opaque, unsigned int *n_r)
{
    (void)opaque;
    *n_r = 1;
    return &hs.ram;
}

static const struct dev_host rec_host = {
    .ioeventfd = rec_ioeventfd,
    .irqfd = rec_irqfd,
    .msi_route = rec_msi_route,
    .ram = rec_ram,
};

/* The ioeventfd at addr, or -1. */
static int ioev_at(uint64_t addr, uint64_t match)
{
    int i;

    for (i = 0; i < hs.nio; i++)
        if (hs.io[i].addr == addr && hs.io[i].match == match)
            return hs.io[i].fd;
    return -1;
}

static void ram_up(struct guest *g)
{
    int i;

    guest_ram_up(g);
    memset(&hs, 0, sizeof(hs));
    for (i = 0; i < MAX_GSI; i++)
        hs.irq_fd[i] = -1;
    hs.ram = (struct dev_ram){ .gpa = 0, .size = RAM_SIZE, .hva = g->ram,
                               .fd = g->ram_fd };
}

/* ---- the guest's accesses ---- */

static uint64_t get_le(const uint8_t *b, unsigned int size)
{
    uint64_t v = 0;

    while (size--)
        v = v << 8 | b[size];
    return v;
}

static void put_le(uint8_t *b, unsigned int size, uint64_t v)
{
    unsigned int i;

    for (i = 0; i < size; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t io(const struct dev_bus *bus, enum dev_space sp,
                   uint64_t addr, int write, unsigned int size, uint64_t v)
{
    uint8_t b[8];

    put_le(b, size, v);
    ck_assert_int_eq(dev_bus_access(bus, sp, addr, write, b, size), 1);
    return write ? 0 : get_le(b, size);
}

static uint64_t mrd(const struct dev_bus *bus, uint64_t addr,
                    unsigned int size)
{
    return io(bus, DEV_MMIO, addr, 0, size, 0);
}

static void mwr(const struct dev_bus *bus, uint64_t addr, unsigned int size,
                uint64_t v)
{
    io(bus, DEV_MMIO, addr, 1, size, v);
}

/* Configuration mechanism #1: size bytes at off of bus 0's slot. */
static uint32_t crd(const struct dev_bus *bus, unsigned int slot,
                    unsigned int off, unsigned int size)
{
    io(bus, DEV_PIO, 0xcf8, 1, 4, 0x80000000u | slot << 11 | (off & 0xfc));
    return (uint32_t)io(bus, DEV_PIO, 0xcfc + (off & 3), 0, size, 0);
}

static void cwr(const struct dev_bus *bus, unsigned int slot,
                unsigned int off, unsigned int size, uint32_t v)
{
    io(bus, DEV_PIO, 0xcf8, 1, 4, 0x80000000u | slot << 11 | (off & 0xfc));
    io(bus, DEV_PIO, 0xcfc + (off & 3), 1, size, v);
}

/* The capability with id (and, for a vendor one, cfg_type) in slot's
 * list, as Linux walks it: its offset, or 0. */
static unsigned int find_cap(const struct dev_bus *bus, unsigned int slot,
                             uint8_t id, uint8_t type)
{
    unsigned int at, hops;

    if (!(crd(bus, slot, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return 0;
    at = crd(bus, slot, PCI_CAP_PTR, 1) & 0xfc;
    for (hops = 0; at && hops < 48; hops++) {
        if (crd(bus, slot, at, 1) == id &&
            (id != PCI_CAP_ID_VNDR || crd(bus, slot, at + 3, 1) == type))
            return at;
        at = crd(bus, slot, at + 1, 1) & 0xfc;
    }
    return 0;
}

/* ---- the PCI bus itself, with a model function ---- */

static struct {
    int moves;
    uint64_t old, now;
    uint64_t read_off, write_off;
    unsigned int read_bar;
    int cfg_writes;
} toy;

static void toy_read(struct pci_func *f, unsigned int bar, uint64_t off,
                     uint8_t *data, unsigned int size)
{
    (void)f;
    toy.read_bar = bar;
    toy.read_off = off;
    memset(data, 0x5a, size);
}

static void toy_write(struct pci_func *f, unsigned int bar, uint64_t off,
                      const uint8_t *data, unsigned int size)
{
    (void)f;
    (void)bar;
    (void)data;
    (void)size;
    toy.write_off = off;
}

static void toy_config_written(struct pci_func *f, unsigned int off,
                               unsigned int size)
{
    (void)f;
    (void)off;
    (void)size;
    toy.cfg_writes++;
}

static void toy_moved(struct pci_func *f, unsigned int bar, uint64_t old,
                      uint64_t now)
{
    (void)f;
    ck_assert_uint_eq(bar, 1);
    toy.moves++;
    toy.old = old;
    toy.now = now;
}

static const struct pci_func_ops toy_ops = {
    .bar_read = toy_read,
    .bar_write = toy_write,
    .config_written = toy_config_written,
    .bar_moved = toy_moved,
};

START_TEST(pci_config_mechanism)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct pci_func f;
    const uint64_t at = PCI_MMIO_BASE + 0x100000;
    unsigned int cap1, cap2;

    dev_bus_init(&bus);
    pci_bus_init(&pb);
    ck_assert_int_eq(pci_bus_attach(&pb, &bus), 0);

    /* Linux's pci_check_type1: a byte to 0xCFB (not the bus's), then
     * the address register reads back what was written */
    {
        uint8_t one = 1;

        ck_assert_int_eq(dev_bus_access(&bus, DEV_PIO, 0xcfb, 1, &one, 1),
                         0);
        /* 0xCF9 is left to the reset register (power.h) */
        ck_assert_ptr_null(dev_bus_find(&bus, DEV_PIO, 0xcf9));
    }
    io(&bus, DEV_PIO, 0xcf8, 1, 4, 0x80000000u);
    ck_assert_uint_eq(io(&bus, DEV_PIO, 0xcf8, 0, 4, 0), 0x80000000u);

    /* the host bridge in slot 0, as pci_sanity_check looks for it */
    ck_assert_uint_eq(crd(&bus, 0, PCI_VENDOR_ID, 4), 0x00081b36u);
    ck_assert_uint_eq(crd(&bus, 0, 0x0a, 2), 0x0600);
    ck_assert_uint_eq(crd(&bus, 0, PCI_CLASS_PROG, 1), 0);
    ck_assert_uint_eq(crd(&bus, 0, PCI_HEADER_TYPE, 1), 0);
    /* bytes and words at each data port */
    ck_assert_uint_eq(crd(&bus, 0, 0x00, 1), 0x36);
    ck_assert_uint_eq(crd(&bus, 0, 0x01, 1), 0x1b);
    ck_assert_uint_eq(crd(&bus, 0, 0x02, 2), 0x0008);
    ck_assert_uint_eq(crd(&bus, 0, 0x03, 1), 0x00);
    ck_assert_uint_eq(crd(&bus, 0, 0x0b, 1), 0x06);
    /* read-only ids */
    cwr(&bus, 0, PCI_VENDOR_ID, 4, 0x12345678);
    ck_assert_uint_eq(crd(&bus, 0, PCI_VENDOR_ID, 4), 0x00081b36u);

    /* enable bit clear, another bus, another function, an empty slot:
     * all ones */
    io(&bus, DEV_PIO, 0xcf8, 1, 4, 0x00000000u);
    ck_assert_uint_eq(io(&bus, DEV_PIO, 0xcfc, 0, 4, 0), 0xffffffffu);
    io(&bus, DEV_PIO, 0xcf8, 1, 4, 0x80010000u);
    ck_assert_uint_eq(io(&bus, DEV_PIO, 0xcfc, 0, 4, 0), 0xffffffffu);
    io(&bus, DEV_PIO, 0xcf8, 1, 4, 0x80000100u);
    ck_assert_uint_eq(io(&bus, DEV_PIO, 0xcfc, 0, 4, 0), 0xffffffffu);
    ck_assert_uint_eq(crd(&bus, 5, 0, 4), 0xffffffffu);
    ck_assert_uint_eq(crd(&bus, 5, 0x0a, 2), 0xffff);
    cwr(&bus, 5, PCI_COMMAND, 2, 2);            /* dropped, no crash */
    /* nothing in the window: all ones, writes dropped */
    ck_assert_uint_eq(mrd(&bus, PCI_MMIO_BASE, 4), 0xffffffffu);
    ck_assert_uint_eq(mrd(&bus, PCI_MMIO_BASE + PCI_MMIO_SIZE - 1, 1),
                      0xff);
    mwr(&bus, PCI_MMIO_BASE, 4, 0);
    /* the window and the ports are the bus's */
    ck_assert_ptr_null(dev_bus_find(&bus, DEV_MMIO,
                                    PCI_MMIO_BASE + PCI_MMIO_SIZE));
    ck_assert_int_eq(pci_bus_attach(&pb, &bus), -EEXIST);

    /* a function with a 64 KiB BAR 1 at `at`, and two capabilities */
    pci_func_init(&f, 0x1234, 0x5678, 0x0b4001, 3, &toy_ops, NULL);
    pci_func_bar(&f, 1, 0x10000, (uint32_t)at);
    cap1 = pci_func_add_cap(&f, 0x05, 10);
    cap2 = pci_func_add_cap(&f, 0x11, 12);
    ck_assert_uint_eq(cap1, 0x40);
    ck_assert_uint_eq(cap2, 0x4c);
    ck_assert_int_eq(pci_bus_insert(&pb, 0, &f), -EINVAL);
    ck_assert_int_eq(pci_bus_insert(&pb, PCI_SLOTS, &f), -EINVAL);
    ck_assert_int_eq(pci_bus_insert(&pb, 7, &f), 0);
    ck_assert_int_eq(pci_bus_insert(&pb, 7, &f), -EBUSY);
    ck_assert_ptr_eq(pci_bus_func(&pb, 7), &f);
    ck_assert_int_eq(toy.moves, 0);             /* decoding off */
    ck_assert_uint_eq(crd(&bus, 7, 0, 4), 0x56781234u);
    ck_assert_uint_eq(crd(&bus, 7, PCI_REVISION, 4), 0x0b400103u);
    ck_assert_uint_eq(crd(&bus, 7, PCI_BAR0, 4), 0);
    ck_assert_uint_eq(crd(&bus, 7, PCI_BAR0 + 4, 4), (uint32_t)at);
    ck_assert_uint_eq(find_cap(&bus, 7, 0x05, 0), cap1);
    ck_assert_uint_eq(find_cap(&bus, 7, 0x11, 0), cap2);
    ck_assert_uint_eq(crd(&bus, 7, cap2 + 1, 1), 0);
    ck_assert_uint_eq(crd(&bus, 7, PCI_INTERRUPT_PIN, 1), 0);
    ck_assert_uint_eq(mrd(&bus, at, 4), 0xffffffffu);

    /* sizing: all ones reads the size back; the BARs it lacks read 0 */
    cwr(&bus, 7, PCI_BAR0 + 4, 4, 0xffffffffu);
    ck_assert_uint_eq(crd(&bus, 7, PCI_BAR0 + 4, 4), 0xffff0000u);
    cwr(&bus, 7, PCI_BAR0, 4, 0xffffffffu);
    ck_assert_uint_eq(crd(&bus, 7, PCI_BAR0, 4), 0);
    cwr(&bus, 7, PCI_BAR0 + 4, 4, (uint32_t)at);
    ck_assert_int_eq(toy.moves, 0);

    /* memory decode on: it decodes, accesses reach it with their
     * offset; config writes are told */
    toy.cfg_writes = 0;
    cwr(&bus, 7, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    ck_assert_uint_eq(crd(&bus, 7, PCI_COMMAND, 2),
                      PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    ck_assert_int_eq(toy.cfg_writes, 1);
    ck_assert_int_eq(toy.moves, 1);
    ck_assert_uint_eq(toy.old, 0);
    ck_assert_uint_eq(toy.now, at);
    ck_assert_uint_eq(mrd(&bus, at + 0x1234, 2), 0x5a5a);
    ck_assert_uint_eq(toy.read_bar, 1);
    ck_assert_uint_eq(toy.read_off, 0x1234);
    mwr(&bus, at + 0xfffc, 4, 1);
    ck_assert_uint_eq(toy.write_off, 0xfffc);
    ck_assert_uint_eq(mrd(&bus, at + 0x10000, 4), 0xffffffffu);

    /* moved (byte by byte, as some guests do): it follows */
    cwr(&bus, 7, PCI_BAR0 + 4 + 2, 1, 0x20);
    ck_assert_int_eq(toy.moves, 2);
    ck_assert_uint_eq(toy.old, at);
    ck_assert_uint_eq(toy.now, (at & ~0xff0000ull) | 0x200000);
    ck_assert_uint_eq(mrd(&bus, at, 4), 0xffffffffu);
    ck_assert_uint_eq(mrd(&bus, toy.now + 4, 4), 0x5a5a5a5au);
    /* outside the window, or sized to all ones: it does not decode */
    cwr(&bus, 7, PCI_BAR0 + 4, 4, 0xffffffffu);
    ck_assert_int_eq(toy.moves, 3);
    ck_assert_uint_eq(toy.now, 0);
    cwr(&bus, 7, PCI_BAR0 + 4, 4, (uint32_t)at);
    ck_assert_int_eq(toy.moves, 4);
    ck_assert_uint_eq(toy.now, at);
    /* memory decode off: nowhere */
    cwr(&bus, 7, PCI_COMMAND, 2, 0);
    ck_assert_int_eq(toy.moves, 5);
    ck_assert_uint_eq(toy.now, 0);
    ck_assert_uint_eq(mrd(&bus, at, 4), 0xffffffffu);
    cwr(&bus, 7, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    ck_assert_int_eq(toy.moves, 6);

    /* removed: config space all ones, the range too */
    pci_bus_remove(&pb, 7, 0);
    ck_assert_int_eq(toy.moves, 7);
    ck_assert_uint_eq(toy.old, at);
    ck_assert_uint_eq(toy.now, 0);
    ck_assert_ptr_null(pci_bus_func(&pb, 7));
    ck_assert_uint_eq(crd(&bus, 7, 0, 4), 0xffffffffu);
    ck_assert_uint_eq(mrd(&bus, at, 4), 0xffffffffu);

    /* removed by surprise: the range reads 0 until the slot is filled */
    ck_assert_int_eq(pci_bus_insert(&pb, 7, &f), 0);
    ck_assert_int_eq(toy.moves, 8);
    ck_assert_uint_eq(toy.now, at);
    ck_assert_int_eq(pci_bus_ghost(&pb, 7), 0);
    pci_bus_remove(&pb, 7, 1);
    ck_assert_int_eq(toy.moves, 9);
    ck_assert_int_eq(pci_bus_ghost(&pb, 7), 1);
    ck_assert_int_eq(pci_bus_ghost(&pb, 6), 0);
    ck_assert_int_eq(pci_bus_ghost(&pb, PCI_SLOTS), 0);
    ck_assert_uint_eq(crd(&bus, 7, 0, 4), 0xffffffffu);
    ck_assert_uint_eq(mrd(&bus, at, 4), 0);
    ck_assert_uint_eq(mrd(&bus, at + 0xffff, 1), 0);
    ck_assert_uint_eq(mrd(&bus, at + 0x10000, 4), 0xffffffffu);
    toy.write_off = 0;
    mwr(&bus, at + 8, 4, 1);
    ck_assert_uint_eq(toy.write_off, 0);
    pci_bus_remove(&pb, 7, 0);                  /* empty: nothing */
    ck_assert_int_eq(toy.moves, 9);
    cwr(&bus, 7, PCI_COMMAND, 2, 0);            /* an empty slot's */
    ck_assert_int_eq(pci_bus_insert(&pb, 7, &f), 0);
    ck_assert_int_eq(pci_bus_ghost(&pb, 7), 0);
    ck_assert_uint_eq(mrd(&bus, at, 4), 0x5a5a5a5au);
    pci_bus_remove(&pb, 7, 0);
    ck_assert_uint_eq(mrd(&bus, at, 4), 0xffffffffu);
    /* the host bridge stays */
    pci_bus_remove(&pb, 0, 0);
    ck_assert_uint_eq(crd(&bus, 0, PCI_VENDOR_ID, 2), 0x1b36);
}
END_TEST

/* ---- the virtio-pci slot, driven as Linux's virtio_pci drives it ---- */

#define SLOT            3u
#define C_DFSELECT      0x00
#define C_DF            0x04
#define C_GFSELECT      0x08
#define C_GF            0x0c
#define C_MSIX          0x10
#define C_NUMQ          0x12
#define C_STATUS        0x14
#define C_CFGGEN        0x15
#define C_Q_SELECT      0x16
#define C_Q_SIZE        0x18
#define C_Q_MSIX        0x1a
#define C_Q_ENABLE      0x1c
#define C_Q_NOFF        0x1e
#define C_Q_DESC        0x20
#define C_Q_AVAIL       0x28
#define C_Q_USED        0x30
#define NO_VECTOR       0xffff
#define MSI_ADDR(v)     (0xfee00000u | (v) << 12)
#define MSI_DATA(v)     (0x4041u + (v))

/* A slot of pb on bus, whose guest RAM is g. */
static void slot_init(struct dev_bus *bus, struct pci_bus *pb,
                      struct vpci *d, struct guest *g)
{
    ram_up(g);
    dev_bus_init(bus);
    pci_bus_init(pb);
    ck_assert_int_eq(pci_bus_attach(pb, bus), 0);
    vpci_init(d, &rec_host, pb, SLOT);
    ck_assert_int_eq(vpci_present(d), 0);
    ck_assert_int_eq(vpci_fd(d), -1);
    ck_assert_int_eq(vpci_backend_fd(d), -1);
}

/* The virtio vendor capabilities and MSI-X, as Linux's
 * virtio_pci_modern probe and pci_msix look for them. */
static void check_caps(const struct dev_bus *bus)
{
    static const struct {
        uint8_t type;
        uint32_t off, minlen;
    } want[] = {
        { 1, 0x0000, 0x38 }, { 2, 0x3000, 4 * VIRTIO_QUEUES },
        { 3, 0x1000, 1 }, { 4, 0x2000, 57 },
    };
    unsigned int i, at;

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        at = find_cap(bus, SLOT, PCI_CAP_ID_VNDR, want[i].type);
        ck_assert_msg(at >= 0x40, "no virtio capability of type %u",
                      want[i].type);
        ck_assert_uint_ge(crd(bus, SLOT, at + 2, 1),
                          want[i].type == 2 ? 20 : 16);
        ck_assert_uint_eq(crd(bus, SLOT, at + 4, 1), 0);     /* BAR 0 */
        ck_assert_uint_eq(crd(bus, SLOT, at + 8, 4), want[i].off);
        ck_assert_uint_ge(crd(bus, SLOT, at + 12, 4), want[i].minlen);
        if (want[i].type == 2)
            ck_assert_uint_eq(crd(bus, SLOT, at + 16, 4), 4);
        /* read-only */
        cwr(bus, SLOT, at + 8, 4, 0x1234);
        ck_assert_uint_eq(crd(bus, SLOT, at + 8, 4), want[i].off);
    }
    at = find_cap(bus, SLOT, PCI_CAP_ID_MSIX, 0);
    ck_assert_uint_ge(at, 0x40);
    ck_assert_uint_eq(crd(bus, SLOT, at + 2, 2), 1);   /* 2, all off */
    ck_assert_uint_eq(crd(bus, SLOT, at + 4, 4), 0x3800);
    ck_assert_uint_eq(crd(bus, SLOT, at + 8, 4), 0x3c00);
}

/* The ids of a virtio function with device_id, class class_code. */
static void check_ids(const struct dev_bus *bus, uint32_t device_id,
                      uint32_t class_code)
{
    ck_assert_uint_eq(crd(bus, SLOT, PCI_VENDOR_ID, 2), 0x1af4);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_DEVICE_ID, 2), 0x1040 + device_id);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_REVISION, 1), 1);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_REVISION, 4) >> 8, class_code);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_SUBSYS_VENDOR_ID, 2), 0x1af4);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_SUBSYS_ID, 2), device_id);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_HEADER_TYPE, 1), 0);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_INTERRUPT_PIN, 1), 0);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_COMMAND, 2), 0);
    ck_assert_uint_eq(crd(bus, SLOT, PCI_BAR0, 4),
                      (uint32_t)VPCI_BAR_ADDR(SLOT));
    check_caps(bus);
}

/* Memory decoding on, MSI-X on with both vectors programmed; vectors in
 * unmask (a bit mask) unmasked. */
static void msix_up(const struct dev_bus *bus, uint64_t base,
                    unsigned int unmask)
{
    unsigned int cap = find_cap(bus, SLOT, PCI_CAP_ID_MSIX, 0), v;

    cwr(bus, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    /* as Linux's msix_capability_init: enabled under the function
     * mask, entries written, then the mask lifted */
    cwr(bus, SLOT, cap + 2, 2, 0xc000);
    ck_assert_uint_eq(crd(bus, SLOT, cap + 2, 2), 0xc001);
    for (v = 0; v < VPCI_VECTORS; v++) {
        ck_assert_uint_eq(mrd(bus, base + 0x3800 + 16 * v + 12, 4), 1);
        mwr(bus, base + 0x3800 + 16 * v, 4, MSI_ADDR(v));
        mwr(bus, base + 0x3800 + 16 * v + 4, 4, 0);
        mwr(bus, base + 0x3800 + 16 * v + 8, 4, MSI_DATA(v));
    }
    cwr(bus, SLOT, cap + 2, 2, 0x8000);
    for (v = 0; v < VPCI_VECTORS; v++)
        if (unmask & (1u << v))
            mwr(bus, base + 0x3800 + 16 * v + 12, 4, 0);
}

/*
 * Linux's virtio_pci_modern probe and virtio_blk/virtio_net's queue
 * set-up: reset, features (wanted & offered, plus VERSION_1),
 * FEATURES_OK, the config vector 0, nq queues of QNUM on vector qvec,
 * enabled last, then DRIVER_OK.  Queue q's rings at GPA_* + q * 0x40000.
 */
static void driver_up(const struct dev_bus *bus, uint64_t base,
                      uint64_t desc, unsigned int nq, uint16_t qvec,
                      uint32_t wanted)
{
    uint64_t feat;
    unsigned int q;

    mwr(bus, base + C_STATUS, 1, 0);
    ck_assert_uint_eq(mrd(bus, base + C_STATUS, 1), 0);
    mwr(bus, base + C_STATUS, 1, 1 | 2);
    mwr(bus, base + C_DFSELECT, 4, 0);
    feat = mrd(bus, base + C_DF, 4);
    mwr(bus, base + C_DFSELECT, 4, 1);
    feat |= mrd(bus, base + C_DF, 4) << 32;
    ck_assert(feat & (1ull << F_VERSION_1));
    ck_assert(!(feat & (1ull << 30)));        /* vhost-user's own bit */
    mwr(bus, base + C_GFSELECT, 4, 0);
    mwr(bus, base + C_GF, 4, (uint32_t)feat & wanted);
    mwr(bus, base + C_GFSELECT, 4, 1);
    mwr(bus, base + C_GF, 4, 1);              /* VERSION_1 */
    mwr(bus, base + C_STATUS, 1, 1 | 2 | 8);
    ck_assert_uint_eq(mrd(bus, base + C_STATUS, 1), 1 | 2 | 8);
    mwr(bus, base + C_MSIX, 2, 0);
    ck_assert_uint_eq(mrd(bus, base + C_MSIX, 2), 0);
    ck_assert_uint_eq(mrd(bus, base + C_NUMQ, 2), nq);
    for (q = 0; q < nq; q++) {
        uint64_t off = 0x40000ull * q;

        mwr(bus, base + C_Q_SELECT, 2, q);
        ck_assert_uint_eq(mrd(bus, base + C_Q_SIZE, 2), 256);
        ck_assert_uint_eq(mrd(bus, base + C_Q_ENABLE, 2), 0);
        mwr(bus, base + C_Q_SIZE, 2, QNUM);
        mwr(bus, base + C_Q_DESC, 4, (uint32_t)(desc + off));
        mwr(bus, base + C_Q_DESC + 4, 4, (uint32_t)((desc + off) >> 32));
        mwr(bus, base + C_Q_AVAIL, 4, (uint32_t)(GPA_AVAIL + off));
        mwr(bus, base + C_Q_AVAIL + 4, 4, 0);
        mwr(bus, base + C_Q_USED, 4, (uint32_t)(GPA_USED + off));
        mwr(bus, base + C_Q_USED + 4, 4, 0);
        mwr(bus, base + C_Q_MSIX, 2, qvec);
        ck_assert_uint_eq(mrd(bus, base + C_Q_MSIX, 2), qvec);
        ck_assert_uint_eq(mrd(bus, base + C_Q_NOFF, 2), q);
        ck_assert_uint_eq(mrd(bus, base + C_Q_DESC, 8), desc + off);
    }
    /* a queue past the last is not there */
    mwr(bus, base + C_Q_SELECT, 2, nq);
    ck_assert_uint_eq(mrd(bus, base + C_Q_SIZE, 2), 0);
    for (q = 0; q < nq; q++) {
        mwr(bus, base + C_Q_SELECT, 2, q);
        mwr(bus, base + C_Q_ENABLE, 2, 1);
    }
}

static void driver_ok(const struct dev_bus *bus, uint64_t base)
{
    mwr(bus, base + C_STATUS, 1, 1 | 2 | 8 | 4);
    ck_assert_uint_eq(mrd(bus, base + C_STATUS, 1), 1 | 2 | 8 | 4);
}

/* How often fd was written since the last look. */
static uint64_t fd_count(int fd)
{
    uint64_t cnt = 0;

    ck_assert_int_ge(fd, 0);
    if (read(fd, &cnt, sizeof(cnt)) < 0) {
        ck_assert_int_eq(errno, EAGAIN);
        return 0;
    }
    return cnt;
}

/* vpci_reconnect until the backend is back (5 s at most). */
static void slot_reconnect(struct vpci *d)
{
    char err[512];
    int tries;

    for (tries = 0; vpci_reconnect(d, err, sizeof(err)) < 0 &&
                    tries < 100; tries++)
        usleep(50000);          /* as the domain process tries, 5 s */
    ck_assert_msg(tries < 100, "%s", err);
}

START_TEST(vpci_blk_through_registers)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d;
    const unsigned int gsi0 = PCI_MSI_GSI(SLOT, 0);
    const unsigned int gsi1 = PCI_MSI_GSI(SLOT, 1);
    uint64_t base = VPCI_BAR_ADDR(SLOT), moved = PCI_MMIO_BASE + 0x300000;
    struct guest g;
    struct used_elem e;
    char err[512];
    uint64_t cap;
    unsigned int i;

    ck_assert_uint_eq(gsi0, 32 + 2 * SLOT);
    slot_init(&bus, &pb, &d, &g);
    ck_assert_uint_eq(crd(&bus, SLOT, 0, 4), 0xffffffffu);
    ck_assert_msg(vpci_plug(&d, VIRTIO_ID_BLOCK, qsd_sock, NULL, err,
                            sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(vpci_present(&d), 1);
    ck_assert_int_ge(vpci_fd(&d), 0);
    check_ids(&bus, VIRTIO_ID_BLOCK, 0x010000);
    /* decoding off: no kick, no interrupt, the range is nobody's */
    ck_assert_int_eq(hs.nio, 0);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);
    ck_assert_uint_eq(mrd(&bus, base + C_NUMQ, 2), 0xffff);

    /* sizing BAR 0 as Linux's __pci_read_base: 16 KiB, 32-bit memory */
    cwr(&bus, SLOT, PCI_BAR0, 4, 0xffffffffu);
    ck_assert_uint_eq(crd(&bus, SLOT, PCI_BAR0, 4), 0xffffc000u);
    cwr(&bus, SLOT, PCI_BAR0, 4, (uint32_t)base);
    ck_assert_uint_eq(crd(&bus, SLOT, PCI_BAR0, 4), (uint32_t)base);

    msix_up(&bus, base, 3);
    ck_assert_int_ge(hs.irq_fd[gsi0], 0);
    ck_assert_int_ge(hs.irq_fd[gsi1], 0);
    ck_assert_int_ne(hs.irq_fd[gsi0], hs.irq_fd[gsi1]);
    ck_assert_int_eq(hs.route[gsi1].set, 1);
    ck_assert_uint_eq(hs.route[gsi1].addr, MSI_ADDR(1));
    ck_assert_uint_eq(hs.route[gsi1].data, MSI_DATA(1));

    /* the config space through BAR 0 */
    cap = mrd(&bus, base + 0x2000, 4) | mrd(&bus, base + 0x2004, 4) << 32;
    ck_assert_uint_eq(cap, IMG_SIZE / SECTOR);
    ck_assert_uint_eq(mrd(&bus, base + 0x2000 + 20, 4), SECTOR);
    ck_assert_uint_eq(mrd(&bus, base + 0x2000 + 0x800, 4), 0);

    /* config vector 0, the queue on vector 1, as virtio_blk has them */
    driver_up(&bus, base, GPA_DESC, 1, 1, 1u << BLK_F_FLUSH);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 1);
    /* its kick: an ioeventfd on the queue's notify address */
    ck_assert_int_eq(hs.nio, 1);
    g.kick_fd = ioev_at(base + 0x3000, 0);
    ck_assert_int_ge(g.kick_fd, 0);
    driver_ok(&bus, base);
    /* its call: vector 1's eventfd */
    g.call_fd = hs.irq_fd[gsi1];
    drain_call(&g);

    /* I/O through the ring: a read of the pattern, a write, a read back,
     * a flush */
    submit(&g, BLK_T_IN, 8, 0);
    wait_call(&g);
    e = complete(&g);
    ck_assert_uint_eq(e.len, 4097);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS), 0);
    check_pattern(gva(&g, GPA_DATA), 8ull * SECTOR, 4096);
    memset(gva(&g, GPA_DATA + 4096), 0xa5, 4096);
    submit(&g, BLK_T_OUT, 16, 1);
    e = complete(&g);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + 1), 0);
    submit(&g, BLK_T_IN, 16, 2);
    e = complete(&g);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_DATA + 2 * 4096), 0xa5);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_DATA + 3 * 4096 - 1), 0xa5);
    submit(&g, BLK_T_FLUSH, 0, 3);
    e = complete(&g);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + 3), 0);
    /* a notification that exits (another value than the index) still
     * kicks */
    post(&g, BLK_T_IN, 24, 4);
    mwr(&bus, base + 0x3000, 2, 7);
    e = complete(&g);
    check_pattern(gva(&g, GPA_DATA + 4 * 4096), 24ull * SECTOR, 4096);

    /* the guest moves the BAR: the kick follows */
    cwr(&bus, SLOT, PCI_BAR0, 4, (uint32_t)moved);
    ck_assert_int_eq(hs.nio, 1);
    ck_assert_int_eq(ioev_at(moved + 0x3000, 0), g.kick_fd);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 0xff);
    ck_assert_uint_eq(mrd(&bus, moved + C_STATUS, 1), 1 | 2 | 8 | 4);
    submit(&g, BLK_T_IN, 32, 5);
    e = complete(&g);
    check_pattern(gva(&g, GPA_DATA + 5 * 4096), 32ull * SECTOR, 4096);
    /* decoding off: no kick in KVM; on: back */
    cwr(&bus, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    ck_assert_int_eq(hs.nio, 0);
    cwr(&bus, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    ck_assert_int_eq(ioev_at(moved + 0x3000, 0), g.kick_fd);
    base = moved;

    /* the backend dies: the slot sees the hang-up, and its channel's
     * (closed, no error of the device); until a new one listens on the
     * socket, reconnecting fails naming it */
    {
        struct pollfd p = { .fd = vpci_fd(&d), .events = POLLIN };
        struct pollfd pc = { .fd = vpci_backend_fd(&d), .events = POLLIN };

        ck_assert_int_ge(p.fd, 0);
        ck_assert_int_ge(pc.fd, 0);
        stop_qsd();
        unlink(qsd_sock);
        ck_assert_int_eq(poll(&p, 1, 5000), 1);
        ck_assert_int_eq(poll(&pc, 1, 5000), 1);
        ck_assert_int_eq(vpci_backend_event(&d, err, sizeof(err)), -EPIPE);
        ck_assert_int_eq(vpci_backend_fd(&d), -1);
        ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 1 | 2 | 8 | 4);
    }
    vpci_lost(&d);
    ck_assert_int_eq(vpci_fd(&d), -1);
    ck_assert_int_lt(vpci_reconnect(&d, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, qsd_sock) && strstr(err, "slot 3"), "%s",
                  err);
    /* the guest queues two reads meanwhile, one kicked through KVM's
     * ioeventfd, one by a notification that exits: both run when the
     * backend is back, their completions on vector 1 */
    post(&g, BLK_T_IN, 40, 6);
    {
        uint64_t one = 1;

        ck_assert_int_eq(write(g.kick_fd, &one, sizeof(one)), 8);
    }
    post(&g, BLK_T_IN, 56, 8);
    mwr(&bus, base + 0x3000, 2, 7);
    start_qsd();
    slot_reconnect(&d);
    ck_assert_int_ge(vpci_fd(&d), 0);
    ck_assert_int_ge(vpci_backend_fd(&d), 0);       /* a new channel */
    for (i = 0; i < 2; i++) {
        e = complete(&g);
        ck_assert_uint_eq(e.len, 4097);
    }
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + 6), 0);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + 8), 0);
    check_pattern(gva(&g, GPA_DATA + 6 * 4096), 40ull * SECTOR, 4096);
    check_pattern(gva(&g, GPA_DATA + 8 * 4096), 56ull * SECTOR, 4096);
    drain_call(&g);
    submit(&g, BLK_T_IN, 48, 7);
    wait_call(&g);
    complete(&g);
    check_pattern(gva(&g, GPA_DATA + 7 * 4096), 48ull * SECTOR, 4096);

    /* reset: the ring stops, its kick goes, the vectors are forgotten */
    mwr(&bus, base + C_STATUS, 1, 0);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 0);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 0);
    ck_assert_uint_eq(mrd(&bus, base + C_MSIX, 2), NO_VECTOR);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_MSIX, 2), NO_VECTOR);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_SIZE, 2), 256);
    ck_assert_int_eq(hs.nio, 0);

    /* a ring outside guest RAM: refused, the device asks for a reset */
    driver_up(&bus, base, RAM_SIZE + 0x1000, 1, 1, 0);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 0);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1) & 0x40, 0x40);
    ck_assert_int_eq(hs.nio, 0);
    mwr(&bus, base + C_STATUS, 1, 0);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 0);

    /* features the device did not offer: FEATURES_OK stays clear */
    mwr(&bus, base + C_STATUS, 1, 1 | 2);
    mwr(&bus, base + C_GFSELECT, 4, 1);
    mwr(&bus, base + C_GF, 4, 1 | 1u << 3);   /* VERSION_1, bit 35 */
    mwr(&bus, base + C_STATUS, 1, 1 | 2 | 8);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 1 | 2);
    /* nor without VERSION_1 */
    mwr(&bus, base + C_STATUS, 1, 0);
    mwr(&bus, base + C_STATUS, 1, 1 | 2);
    mwr(&bus, base + C_STATUS, 1, 1 | 2 | 8);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 1 | 2);
    mwr(&bus, base + C_STATUS, 1, 0);

    /* a taken slot is refused; unplugged, it is empty again and its
     * interrupts are gone */
    ck_assert_int_eq(vpci_plug(&d, VIRTIO_ID_BLOCK, qsd_sock, NULL, err,
                               sizeof(err)), -EBUSY);
    ck_assert_msg(strstr(err, "slot 3") != NULL, "%s", err);
    vpci_unplug(&d, 0);
    ck_assert_int_eq(vpci_present(&d), 0);
    ck_assert_int_eq(vpci_fd(&d), -1);
    ck_assert_uint_eq(crd(&bus, SLOT, 0, 4), 0xffffffffu);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 0xff);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);
    ck_assert_int_eq(hs.irq_fd[gsi1], -1);
    ck_assert_int_eq(hs.route[gsi0].set, 0);
    ck_assert_int_eq(hs.route[gsi1].set, 0);
    ck_assert_int_eq(hs.nio, 0);
    guest_ram_down(&g);
}
END_TEST

/* A block slot plugged to the fake backend at path (the caller takes
 * the channel's backend end, cfg_channel). */
static void fake_slot_up(struct dev_bus *bus, struct pci_bus *pb,
                         struct vpci *d, struct guest *g, const char *path)
{
    char err[512];

    slot_init(bus, pb, d, g);
    ck_assert_msg(vpci_plug(d, VIRTIO_ID_BLOCK, path, NULL, err,
                            sizeof(err)) == 0, "%s", err);
}

START_TEST(vpci_msix_routing)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d;
    const unsigned int gsi0 = PCI_MSI_GSI(SLOT, 0);
    const unsigned int gsi1 = PCI_MSI_GSI(SLOT, 1);
    const uint64_t base = VPCI_BAR_ADDR(SLOT);
    const uint64_t t0 = base + 0x3800, t1 = base + 0x3810;
    unsigned int cap;
    struct guest g;
    char path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    int fd0, fd1;

    fake_slot_up(&bus, &pb, &d, &g, path);
    close(cfg_channel());
    cap = find_cap(&bus, SLOT, PCI_CAP_ID_MSIX, 0);
    cwr(&bus, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);

    /* entries start masked, address 0; the PBA reads 0 */
    ck_assert_uint_eq(mrd(&bus, t0 + 12, 4), 1);
    ck_assert_uint_eq(mrd(&bus, t1, 8), 0);
    ck_assert_uint_eq(mrd(&bus, base + 0x3c00, 8), 0);
    /* programmed and unmasked while MSI-X is off: nothing yet */
    mwr(&bus, t0, 8, MSI_ADDR(0));
    mwr(&bus, t0 + 8, 4, MSI_DATA(0));
    mwr(&bus, t0 + 12, 4, 0);
    ck_assert_uint_eq(mrd(&bus, t0, 4), MSI_ADDR(0));
    ck_assert_uint_eq(mrd(&bus, t0 + 8, 4), MSI_DATA(0));
    ck_assert_int_eq(hs.route_calls, 0);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);

    /* enabled under the function mask: still nothing */
    cwr(&bus, SLOT, cap + 2, 2, 0xc000);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);
    /* the mask lifted: vector 0 routed and fed, and signalled once */
    cwr(&bus, SLOT, cap + 3, 1, 0x80);            /* a byte write */
    ck_assert_uint_eq(crd(&bus, SLOT, cap + 2, 2), 0x8001);
    ck_assert_int_eq(hs.route[gsi0].set, 1);
    ck_assert_uint_eq(hs.route[gsi0].addr, MSI_ADDR(0));
    ck_assert_uint_eq(hs.route[gsi0].data, MSI_DATA(0));
    fd0 = hs.irq_fd[gsi0];
    ck_assert_int_ge(fd0, 0);
    ck_assert_uint_eq(fd_count(fd0), 1);
    /* vector 1 has no address: not routed even unmasked */
    mwr(&bus, t1 + 12, 4, 0);
    ck_assert_int_eq(hs.irq_fd[gsi1], -1);
    ck_assert_int_eq(hs.route[gsi1].set, 0);
    mwr(&bus, t1, 4, MSI_ADDR(1));
    mwr(&bus, t1 + 8, 4, MSI_DATA(1));
    fd1 = hs.irq_fd[gsi1];
    ck_assert_int_ge(fd1, 0);
    ck_assert_int_ne(fd0, fd1);
    ck_assert_uint_eq(hs.route[gsi1].data, MSI_DATA(1));
    fd_count(fd1);

    /* a new message while unmasked (an affinity change): re-routed, the
     * irqfd stays */
    mwr(&bus, t0 + 8, 4, MSI_DATA(5));
    ck_assert_uint_eq(hs.route[gsi0].data, MSI_DATA(5));
    ck_assert_int_eq(hs.irq_fd[gsi0], fd0);
    ck_assert_uint_eq(fd_count(fd0), 0);

    /* the entry masked: the irqfd goes, the route stays; unmasked: back,
     * with one signal */
    mwr(&bus, t0 + 12, 4, 1);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);
    ck_assert_int_eq(hs.irq_fd[gsi1], fd1);
    mwr(&bus, t0 + 12, 4, 0);
    ck_assert_int_eq(hs.irq_fd[gsi0], fd0);
    ck_assert_uint_eq(fd_count(fd0), 1);
    /* the function mask: both go; lifted: both back */
    cwr(&bus, SLOT, cap + 2, 2, 0xc000);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);
    ck_assert_int_eq(hs.irq_fd[gsi1], -1);
    cwr(&bus, SLOT, cap + 2, 2, 0x8000);
    ck_assert_int_eq(hs.irq_fd[gsi0], fd0);
    ck_assert_int_eq(hs.irq_fd[gsi1], fd1);
    ck_assert_uint_eq(fd_count(fd0), 1);
    ck_assert_uint_eq(fd_count(fd1), 1);
    /* MSI-X off: both go */
    cwr(&bus, SLOT, cap + 2, 2, 0);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);
    ck_assert_int_eq(hs.irq_fd[gsi1], -1);
    /* the table size is read-only */
    cwr(&bus, SLOT, cap + 2, 2, 0x07ff);
    ck_assert_uint_eq(crd(&bus, SLOT, cap + 2, 2), 1);

    /* a route KVM refuses: no irqfd, the device asks for a reset */
    hs.fail_route = 1;
    mwr(&bus, t0 + 8, 4, MSI_DATA(0));
    cwr(&bus, SLOT, cap + 2, 2, 0x8000);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1) & 0x40, 0x40);
    hs.fail_route = 0;
    mwr(&bus, base + C_STATUS, 1, 0);
    mwr(&bus, t0 + 12, 4, 1);
    mwr(&bus, t0 + 12, 4, 0);
    ck_assert_int_eq(hs.irq_fd[gsi0], fd0);

    /* vectors the driver asks for: 0 and 1 taken, others refused */
    mwr(&bus, base + C_MSIX, 2, 1);
    ck_assert_uint_eq(mrd(&bus, base + C_MSIX, 2), 1);
    mwr(&bus, base + C_MSIX, 2, 2);
    ck_assert_uint_eq(mrd(&bus, base + C_MSIX, 2), NO_VECTOR);
    mwr(&bus, base + C_Q_SELECT, 2, 0);
    mwr(&bus, base + C_Q_MSIX, 2, 0);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_MSIX, 2), 0);
    mwr(&bus, base + C_Q_MSIX, 2, 7);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_MSIX, 2), NO_VECTOR);
    mwr(&bus, base + C_Q_MSIX, 2, NO_VECTOR);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_MSIX, 2), NO_VECTOR);

    /* unplugged: irqfds and routes dropped */
    vpci_unplug(&d, 0);
    ck_assert_int_eq(hs.irq_fd[gsi0], -1);
    ck_assert_int_eq(hs.irq_fd[gsi1], -1);
    ck_assert_int_eq(hs.route[gsi0].set, 0);
    ck_assert_int_eq(hs.route[gsi1].set, 0);
    guest_ram_down(&g);
    cfg_stop(pid, path);
}
END_TEST

static uint64_t rd_capacity(const struct dev_bus *bus, uint64_t base)
{
    return mrd(bus, base + 0x2000, 4) | mrd(bus, base + 0x2004, 4) << 32;
}

/* The backend says its config space changed: one event on the slot. */
static int config_event(struct vpci *d, int be, uint32_t flags)
{
    char err[512];
    int rc;

    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, flags, 0, NULL, 0);
    wait_readable(vpci_backend_fd(d));
    rc = vpci_backend_event(d, err, sizeof(err));
    ck_assert_msg(rc >= 0, "%s", err);
    return rc;
}

START_TEST(vpci_config_change)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d;
    const uint64_t base = VPCI_BAR_ADDR(SLOT);
    struct guest g;
    char err[512], path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    uint32_t gen;
    int be, irq0, irq1;

    fake_slot_up(&bus, &pb, &d, &g, path);
    ck_assert_int_ge(vpci_backend_fd(&d), 0);
    be = cfg_channel();
    msix_up(&bus, base, 3);
    irq0 = hs.irq_fd[PCI_MSI_GSI(SLOT, 0)];
    irq1 = hs.irq_fd[PCI_MSI_GSI(SLOT, 1)];
    fd_count(irq0);
    fd_count(irq1);
    ck_assert_uint_eq(rd_capacity(&bus, base), IMG_SIZE / SECTOR);
    gen = (uint32_t)mrd(&bus, base + C_CFGGEN, 1);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 0);

    /* before the driver gave the config interrupt a vector: the ISR
     * says it, no interrupt */
    cfg->capacity = 2 * IMG_SIZE / SECTOR;
    ck_assert_int_eq(config_event(&d, be, HDR_V1 | HDR_NEED_REPLY), 1);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_uint_eq(fd_count(irq0), 0);
    ck_assert_uint_eq(fd_count(irq1), 0);
    ck_assert_uint_eq(mrd(&bus, base + C_CFGGEN, 1), (gen + 1) & 0xff);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 2);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 0);   /* cleared */

    /* the driver up, config on vector 0, its ring on 1: the config
     * interrupt comes on vector 0 only */
    driver_up(&bus, base, GPA_DESC, 1, 1, 0);
    driver_ok(&bus, base);
    fd_count(irq0);
    fd_count(irq1);
    gen = (uint32_t)mrd(&bus, base + C_CFGGEN, 1);
    cfg->capacity = 5 * IMG_SIZE / SECTOR;
    ck_assert_int_eq(config_event(&d, be, HDR_V1), 1);
    be_silent(be);
    ck_assert_uint_eq(fd_count(irq0), 1);
    ck_assert_uint_eq(fd_count(irq1), 0);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 2);
    ck_assert_uint_eq(mrd(&bus, base + C_CFGGEN, 1), (gen + 1) & 0xff);
    ck_assert_uint_eq(rd_capacity(&bus, base), 5 * IMG_SIZE / SECTOR);
    ck_assert_uint_eq(mrd(&bus, base + C_CFGGEN, 1), (gen + 1) & 0xff);

    /* no news: acked, no interrupt */
    ck_assert_int_eq(config_event(&d, be, HDR_V1 | HDR_NEED_REPLY), 0);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_uint_eq(fd_count(irq0), 0);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 0);
    ck_assert_uint_eq(mrd(&bus, base + C_CFGGEN, 1), (gen + 1) & 0xff);

    /* the guest read the new capacity before the message came: the
     * driver has not been told, so it still is (one generation) */
    cfg->capacity = 3 * IMG_SIZE / SECTOR;
    ck_assert_uint_eq(rd_capacity(&bus, base), 3 * IMG_SIZE / SECTOR);
    ck_assert_uint_eq(mrd(&bus, base + C_CFGGEN, 1), (gen + 2) & 0xff);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 0);
    ck_assert_uint_eq(fd_count(irq0), 0);
    ck_assert_int_eq(config_event(&d, be, HDR_V1 | HDR_NEED_REPLY), 1);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_uint_eq(fd_count(irq0), 1);
    ck_assert_uint_eq(fd_count(irq1), 0);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 2);
    ck_assert_uint_eq(mrd(&bus, base + C_CFGGEN, 1), (gen + 2) & 0xff);

    /* another request: nothing for the guest, refused */
    be_send(be, 77, HDR_V1 | HDR_NEED_REPLY, 0, NULL, 0);
    wait_readable(vpci_backend_fd(&d));
    ck_assert_int_eq(vpci_backend_event(&d, err, sizeof(err)), 0);
    ck_assert_uint_ne(be_ack(be, 77), 0);
    ck_assert_uint_eq(fd_count(irq0), 0);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 0);

    /* vector 0 masked: the signal waits in its eventfd for the unmask */
    mwr(&bus, base + 0x3800 + 12, 4, 1);
    cfg->capacity = 6 * IMG_SIZE / SECTOR;
    ck_assert_int_eq(config_event(&d, be, HDR_V1), 1);
    ck_assert_int_eq(hs.irq_fd[PCI_MSI_GSI(SLOT, 0)], -1);
    mwr(&bus, base + 0x3800 + 12, 4, 0);
    ck_assert_int_eq(hs.irq_fd[PCI_MSI_GSI(SLOT, 0)], irq0);
    ck_assert_uint_ge(fd_count(irq0), 1);

    /* the config interrupt on vector 1, beside the ring */
    mwr(&bus, base + C_MSIX, 2, 1);
    cfg->capacity = 7 * IMG_SIZE / SECTOR;
    ck_assert_int_eq(config_event(&d, be, HDR_V1), 1);
    ck_assert_uint_eq(fd_count(irq0), 0);
    ck_assert_uint_eq(fd_count(irq1), 1);

    /* a malformed message: said, its channel closed, the device fine */
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1, 100000, NULL, 0);
    wait_readable(vpci_backend_fd(&d));
    ck_assert_int_eq(vpci_backend_event(&d, err, sizeof(err)), -EPROTO);
    ck_assert_msg(strstr(err, path) && strstr(err, "too long") &&
                  strstr(err, "slot 3"), "%s", err);
    ck_assert_int_eq(vpci_backend_fd(&d), -1);
    ck_assert_int_ge(vpci_fd(&d), 0);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 1 | 2 | 8 | 4);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 1);
    ck_assert_uint_eq(fd_count(irq0), 0);
    ck_assert_uint_eq(fd_count(irq1), 0);
    /* the change before it is still the driver's to see */
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 2);

    /* a reconnect makes a new channel that works the same */
    close(be);
    vpci_lost(&d);
    ck_assert_int_eq(vpci_backend_fd(&d), -1);
    slot_reconnect(&d);
    be = cfg_channel();
    cfg->capacity = IMG_SIZE / SECTOR;
    ck_assert_int_eq(config_event(&d, be, HDR_V1 | HDR_NEED_REPLY), 1);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_uint_eq(fd_count(irq1), 1);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 1 | 2 | 8 | 4);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 1);
    /* its hang-up alone is no error of the device */
    close(be);
    wait_readable(vpci_backend_fd(&d));
    ck_assert_int_eq(vpci_backend_event(&d, err, sizeof(err)), -EPIPE);
    ck_assert_int_eq(vpci_backend_fd(&d), -1);
    ck_assert_int_ge(vpci_fd(&d), 0);
    ck_assert_int_eq(vpci_backend_event(&d, err, sizeof(err)), -ENOTCONN);
    ck_assert_msg(strstr(err, path) && strstr(err, "slot 3") &&
                  strstr(err, "none is open"), "%s", err);

    /* a reset clears a pending config interrupt */
    d.vd.int_config = 1;
    mwr(&bus, base + C_STATUS, 1, 0);
    ck_assert_uint_eq(mrd(&bus, base + 0x1000, 1), 0);
    vpci_unplug(&d, 0);
    ck_assert_int_eq(vpci_backend_fd(&d), -1);
    guest_ram_down(&g);
    cfg_stop(pid, path);
}
END_TEST

START_TEST(vpci_net_two_queues)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d;
    static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x01, 0x02, 0x03 };
    const uint64_t base = VPCI_BAR_ADDR(SLOT);
    struct guest g;
    char err[512], path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    uint64_t feat;

    slot_init(&bus, &pb, &d, &g);
    ck_assert_int_eq(vpci_plug(&d, VIRTIO_ID_NET, path, NULL, err,
                               sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "MAC") != NULL, "%s", err);
    ck_assert_msg(vpci_plug(&d, VIRTIO_ID_NET, path, mac, err,
                            sizeof(err)) == 0, "%s", err);
    close(cfg_channel());
    check_ids(&bus, VIRTIO_ID_NET, 0x020000);
    msix_up(&bus, base, 3);
    /* MAC and status (link up) are the device's own */
    mwr(&bus, base + C_DFSELECT, 4, 0);
    feat = mrd(&bus, base + C_DF, 4);
    ck_assert(feat & (1u << 5));
    ck_assert(feat & (1u << 16));
    ck_assert_uint_eq(mrd(&bus, base + 0x2000, 4), 0x013e1600u);
    ck_assert_uint_eq(mrd(&bus, base + 0x2004, 2), 0x0302);
    ck_assert_uint_eq(mrd(&bus, base + 0x2006, 2), 1);
    /* config on 0, both queues on 1, as Linux without a vector each */
    driver_up(&bus, base, GPA_DESC, 2, 1, (1u << 5) | (1u << 16));
    driver_ok(&bus, base);
    ck_assert_int_eq(hs.nio, 2);
    ck_assert_int_ge(ioev_at(base + 0x3000, 0), 0);
    ck_assert_int_ge(ioev_at(base + 0x3004, 1), 0);
    ck_assert_int_ne(ioev_at(base + 0x3000, 0), ioev_at(base + 0x3004, 1));
    mwr(&bus, base + C_Q_SELECT, 2, 1);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 1);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_NOFF, 2), 1);
    /* a live ring's layout is fixed */
    mwr(&bus, base + C_Q_SIZE, 2, 64);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_SIZE, 2), QNUM);
    /* a write of 0 to queue_enable is not the driver's to make */
    mwr(&bus, base + C_Q_ENABLE, 2, 0);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 1);
    ck_assert_int_eq(hs.nio, 2);
    mwr(&bus, base + C_STATUS, 1, 0);
    ck_assert_int_eq(hs.nio, 0);
    vpci_unplug(&d, 0);
    guest_ram_down(&g);
    cfg_stop(pid, path);
}
END_TEST

START_TEST(vpci_hot_remove)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d;
    const uint64_t base = VPCI_BAR_ADDR(SLOT);
    const uint64_t moved = PCI_MMIO_BASE + 0x500000;
    struct guest g;
    char err[512], path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    int i, n0;

    /* a removal the guest agreed to: all ones everywhere */
    slot_init(&bus, &pb, &d, &g);
    n0 = open_fds();
    ck_assert_msg(vpci_plug(&d, VIRTIO_ID_BLOCK, path, NULL, err,
                            sizeof(err)) == 0, "%s", err);
    close(cfg_channel());
    msix_up(&bus, base, 3);
    driver_up(&bus, base, GPA_DESC, 1, 1, 0);
    driver_ok(&bus, base);
    ck_assert_int_eq(hs.nio, 1);
    vpci_unplug(&d, 0);
    ck_assert_int_eq(vpci_present(&d), 0);
    ck_assert_int_eq(hs.nio, 0);
    ck_assert_uint_eq(crd(&bus, SLOT, 0, 4), 0xffffffffu);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 0xff);
    vpci_unplug(&d, 0);                       /* empty: nothing */

    /* plugged again, the BAR moved, then a forced removal: config
     * space all ones, the BAR's range reads 0 (so the driver's reset
     * loop ends) and takes writes without a word */
    ck_assert_msg(vpci_plug(&d, VIRTIO_ID_BLOCK, path, NULL, err,
                            sizeof(err)) == 0, "%s", err);
    close(cfg_channel());
    ck_assert_uint_eq(crd(&bus, SLOT, PCI_COMMAND, 2), 0);
    ck_assert_uint_eq(crd(&bus, SLOT, PCI_BAR0, 4), (uint32_t)base);
    cwr(&bus, SLOT, PCI_BAR0, 4, (uint32_t)moved);
    msix_up(&bus, moved, 3);
    driver_up(&bus, moved, GPA_DESC, 1, 1, 0);
    driver_ok(&bus, moved);
    ck_assert_int_ge(ioev_at(moved + 0x3000, 0), 0);
    vpci_unplug(&d, 1);
    ck_assert_int_eq(vpci_present(&d), 0);
    ck_assert_int_eq(vpci_fd(&d), -1);
    ck_assert_int_eq(hs.nio, 0);
    for (i = 0; i < MAX_GSI; i++)
        ck_assert_int_eq(hs.irq_fd[i], -1);
    ck_assert_uint_eq(crd(&bus, SLOT, 0, 4), 0xffffffffu);
    ck_assert_uint_eq(crd(&bus, SLOT, PCI_COMMAND, 2), 0xffff);
    ck_assert_uint_eq(mrd(&bus, moved + C_STATUS, 1), 0);
    mwr(&bus, moved + C_STATUS, 1, 0);
    ck_assert_uint_eq(mrd(&bus, moved + C_STATUS, 1), 0);
    ck_assert_uint_eq(mrd(&bus, moved + 0x1000, 1), 0);
    ck_assert_uint_eq(mrd(&bus, moved + 0x3ffc, 4), 0);
    ck_assert_uint_eq(mrd(&bus, moved + 0x4000, 4), 0xffffffffu);
    ck_assert_uint_eq(mrd(&bus, base, 4), 0xffffffffu);

    /* a plug into the slot ends the ghost */
    ck_assert_msg(vpci_plug(&d, VIRTIO_ID_BLOCK, path, NULL, err,
                            sizeof(err)) == 0, "%s", err);
    close(cfg_channel());
    ck_assert_uint_eq(mrd(&bus, moved + C_STATUS, 1), 0xff);
    ck_assert_uint_eq(crd(&bus, SLOT, PCI_VENDOR_ID, 2), 0x1af4);
    cwr(&bus, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 0);
    ck_assert_uint_eq(mrd(&bus, base + C_NUMQ, 2), 1);
    vpci_unplug(&d, 0);
    /* every eventfd and socket of the three plugs is closed */
    ck_assert_int_eq(open_fds(), n0);
    guest_ram_down(&g);
    cfg_stop(pid, path);
}
END_TEST

START_TEST(vpci_plug_errors)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d, d0;
    static struct dev_host no_msi;
    static struct pci_func f;
    struct guest g;
    char err[512], path[128];

    slot_init(&bus, &pb, &d, &g);
    snprintf(path, sizeof(path), "%s/nobody.sock", test_dir);
    ck_assert_int_lt(vpci_plug(&d, VIRTIO_ID_BLOCK, path, NULL, err,
                               sizeof(err)), 0);
    ck_assert_msg(strstr(err, path) && strstr(err, "connecting") &&
                  strstr(err, "slot 3"), "%s", err);
    ck_assert_int_eq(vpci_present(&d), 0);
    ck_assert_uint_eq(crd(&bus, SLOT, 0, 4), 0xffffffffu);
    ck_assert_int_eq(hs.irq_fd[PCI_MSI_GSI(SLOT, 0)], -1);
    ck_assert_int_eq(vpci_plug(&d, 3, path, NULL, err, sizeof(err)),
                     -EINVAL);
    ck_assert_msg(strstr(err, "3") != NULL, "%s", err);
    /* slot 0 is the host bridge's */
    vpci_init(&d0, &rec_host, &pb, 0);
    ck_assert_int_eq(vpci_plug(&d0, VIRTIO_ID_BLOCK, path, NULL, err,
                               sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "slot 0") != NULL, "%s", err);
    /* nor is there a slot past the bus's */
    vpci_init(&d0, &rec_host, &pb, PCI_SLOTS);
    ck_assert_int_eq(vpci_plug(&d0, VIRTIO_ID_BLOCK, path, NULL, err,
                               sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "PCI slots") != NULL, "%s", err);
    /* a slot another function holds: refused, the function stays */
    pci_func_init(&f, 0x1234, 0x5678, 0x0b4001, 3, &toy_ops, NULL);
    ck_assert_int_eq(pci_bus_insert(&pb, SLOT, &f), 0);
    ck_assert_int_eq(vpci_plug(&d, VIRTIO_ID_BLOCK, path, NULL, err,
                               sizeof(err)), -EBUSY);
    ck_assert_msg(strstr(err, "another function") && strstr(err, "slot 3"),
                  "%s", err);
    ck_assert_int_eq(vpci_present(&d), 0);
    ck_assert_uint_eq(crd(&bus, SLOT, 0, 4), 0x56781234u);
    pci_bus_remove(&pb, SLOT, 0);
    /* a domain that cannot route MSIs */
    no_msi = rec_host;
    no_msi.msi_route = NULL;
    vpci_init(&d0, &no_msi, &pb, 4);
    ck_assert_int_eq(vpci_plug(&d0, VIRTIO_ID_BLOCK, path, NULL, err,
                               sizeof(err)), -ENOTSUP);
    ck_assert_msg(strstr(err, "MSI") != NULL, "%s", err);
    guest_ram_down(&g);
}
END_TEST

/*
 * A backend whose socket breaks under a request the guest's own access
 * makes (a config read): the slot is lost, as after a hang-up, and
 * reconnects; the guest's reset and set-up meanwhile reach the backend
 * when it is back.
 */
START_TEST(vpci_lost_under_guest_access)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d;
    const uint64_t base = VPCI_BAR_ADDR(SLOT);
    struct guest g;
    char path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));

    fake_slot_up(&bus, &pb, &d, &g, path);
    close(cfg_channel());
    cwr(&bus, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    ck_assert_int_eq(d.vd.vhu.timeout_ms, 5000);
    ck_assert_uint_eq(rd_capacity(&bus, base), IMG_SIZE / SECTOR);

    cfg->hangup_on_config = 1;
    rd_capacity(&bus, base);
    ck_assert_int_eq(d.vd.vhu.fd, -1);
    ck_assert_msg(d.vd.lost, "a slot whose socket broke under a guest "
                  "read is not marked lost: it would never reconnect");
    ck_assert_int_eq(vpci_fd(&d), -1);
    /* the guest goes on meanwhile */
    msix_up(&bus, base, 3);
    driver_up(&bus, base, GPA_DESC, 1, 1, 0);
    driver_ok(&bus, base);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 1);
    ck_assert_int_eq(hs.nio, 1);

    cfg->hangup_on_config = 0;
    slot_reconnect(&d);
    close(cfg_channel());
    ck_assert_int_ge(vpci_fd(&d), 0);
    ck_assert_int_eq(d.vd.vhu.timeout_ms, 5000);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 1 | 2 | 8 | 4);
    ck_assert_uint_eq(rd_capacity(&bus, base), IMG_SIZE / SECTOR);
    vpci_unplug(&d, 0);
    guest_ram_down(&g);
    cfg_stop(pid, path);
}
END_TEST

/*
 * The guest resets and sets the device up again while its backend is
 * away (a reboot during a backend restart): the features are accepted
 * and the ring is enabled at once, and both reach the backend when it
 * is back.
 */
START_TEST(vpci_reset_while_backend_away)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d;
    const uint64_t base = VPCI_BAR_ADDR(SLOT);
    struct guest g;
    char path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));

    fake_slot_up(&bus, &pb, &d, &g, path);
    close(cfg_channel());
    msix_up(&bus, base, 3);
    driver_up(&bus, base, GPA_DESC, 1, 1, 0);
    driver_ok(&bus, base);
    ck_assert_int_eq(hs.nio, 1);

    cfg_stop(pid, path);
    vpci_lost(&d);
    driver_up(&bus, base, GPA_DESC, 1, 1, 0);   /* asserts FEATURES_OK */
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 1);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1) & 0x40, 0);
    /* a new ring: a new kick, in KVM at once */
    ck_assert_int_eq(hs.nio, 1);
    ck_assert_int_ge(ioev_at(base + 0x3000, 0), 0);
    ck_assert_int_eq(ioev_at(base + 0x3000, 0), d.vd.q[0].kick_fd);
    driver_ok(&bus, base);

    pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    slot_reconnect(&d);
    close(cfg_channel());
    ck_assert_int_ge(vpci_fd(&d), 0);
    ck_assert_uint_eq(mrd(&bus, base + C_STATUS, 1), 1 | 2 | 8 | 4);
    ck_assert_uint_eq(mrd(&bus, base + C_Q_ENABLE, 2), 1);
    ck_assert_uint_eq(rd_capacity(&bus, base), IMG_SIZE / SECTOR);
    /* the new backend has the driver's features and its ring, with the
     * kick and vector 1's eventfd */
    ck_assert_uint_eq(cfg->features, (1ull << F_VERSION_1) |
                                     (1ull << VHU_F_PROTOCOL_FEATURES));
    ck_assert_uint_eq(cfg->vring_num, QNUM);
    ck_assert_int_eq(cfg->vring_kick_fds, 1);
    ck_assert_int_eq(cfg->vring_call_fds, 1);
    ck_assert_int_eq(cfg->vring_enabled, 1);
    vpci_unplug(&d, 0);
    guest_ram_down(&g);
    cfg_stop(pid, path);
}
END_TEST

/* A backend that comes back without a feature the driver accepted is
 * not taken: the slot stays lost and tries again. */
START_TEST(vpci_reconnect_refuses_fewer_features)
{
    static struct dev_bus bus;
    static struct pci_bus pb;
    static struct vpci d;
    const uint64_t base = VPCI_BAR_ADDR(SLOT);
    struct guest g;
    char path[128], err[512];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));

    fake_slot_up(&bus, &pb, &d, &g, path);
    close(cfg_channel());
    msix_up(&bus, base, 3);
    driver_up(&bus, base, GPA_DESC, 1, 1, 0);
    driver_ok(&bus, base);
    cfg_stop(pid, path);
    vpci_lost(&d);

    pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    cfg->features_drop = 1ull << F_VERSION_1;
    ck_assert_int_eq(vpci_reconnect(&d, err, sizeof(err)), -EPROTO);
    ck_assert_msg(strstr(err, "no longer offers features 0x100000000"),
                  "%s", err);
    ck_assert_int_eq(d.vd.lost, 1);
    ck_assert_int_eq(vpci_fd(&d), -1);
    ck_assert_uint_eq(cfg->features, 0);        /* never told */
    cfg->features_drop = 0;
    slot_reconnect(&d);
    close(cfg_channel());
    ck_assert_int_eq(d.vd.lost, 0);
    ck_assert_uint_eq(cfg->features, (1ull << F_VERSION_1) |
                                     (1ull << VHU_F_PROTOCOL_FEATURES));
    vpci_unplug(&d, 0);
    guest_ram_down(&g);
    cfg_stop(pid, path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("virtio_pci");
    TCase *tc = tcase_create("pci bus");

    tcase_add_test(tc, pci_config_mechanism);
    suite_add_tcase(s, tc);

    qsd_bin = find_qsd();
    if (qsd_bin) {
        tc = add_tcase(s, "virtio-pci and qsd", 1);
        tcase_add_test(tc, vpci_blk_through_registers);
    } else {
        printf("no qemu-storage-daemon (%s): its test is skipped\n",
               qsd_absent_why());
    }

    tc = add_tcase(s, "virtio-pci and a fake backend", 0);
    tcase_add_test(tc, vpci_msix_routing);
    tcase_add_test(tc, vpci_config_change);
    tcase_add_test(tc, vpci_net_two_queues);
    tcase_add_test(tc, vpci_hot_remove);
    tcase_add_test(tc, vpci_plug_errors);
    tcase_add_test(tc, vpci_lost_under_guest_access);
    tcase_add_test(tc, vpci_reset_while_backend_away);
    tcase_add_test(tc, vpci_reconnect_refuses_fewer_features);
    return run_suite(s);
}
