/*
 * bus.h - the domain's device registry.
 *
 * A device model claims its I/O port or MMIO ranges here, each with a
 * static ops table; a vCPU's I/O or MMIO exit is dispatched through the
 * bus (dev_bus_access) and the exit loop names no device.  Devices reach
 * back to the domain only through the dev_host they were attached with,
 * so nothing under devices/ includes the domain process's headers.
 *
 * Ranges do not overlap: a claim that would is refused.  The bus is
 * filled while the domain is built and read-only afterwards; the caller
 * serialises accesses (vm.dev_lock), as device state is not thread-safe.
 */
#ifndef XENOLITH_DEV_BUS_H
#define XENOLITH_DEV_BUS_H

#include <stdint.h>

#define DEV_BUS_MAX_RANGES 64

enum dev_space {
    DEV_PIO,                       /* x86 I/O ports */
    DEV_MMIO,                      /* guest-physical memory addresses */
};

/* A piece of guest RAM: where the guest and this process see it. */
struct dev_ram {
    uint64_t gpa;
    uint64_t size;
    uint8_t *hva;
    int fd;                        /* the memfd holding it */
    uint64_t fd_offset;
};

/* What a device may ask of the domain holding it. */
struct dev_host {
    void *opaque;
    /* Drive an ISA interrupt line of the domain's interrupt controller. */
    void (*irq_line)(void *opaque, unsigned int irq, int level);
    /* One byte out of the domain's console (serial line). */
    void (*console_out)(void *opaque, uint8_t byte);
    /* The guest asked to stop: XC_SHUTDOWN_poweroff or _reboot. */
    void (*shutdown)(void *opaque, unsigned int reason);
    /*
     * For devices whose rings a backend process serves (virtio_pci.h):
     * signal fd on a guest write of datamatch (len bytes) at MMIO addr,
     * without a vCPU exit; pulse interrupt line gsi on each write to fd;
     * assign 0 undoes either.  0 or -errno.
     */
    int (*ioeventfd)(void *opaque, uint64_t addr, unsigned int len,
                     uint64_t datamatch, int fd, int assign);
    int (*irqfd)(void *opaque, unsigned int gsi, int fd, int assign);
    /*
     * Route gsi to the MSI (addr, data) (assign 1), or drop the route
     * (assign 0): a PCI function's MSI-X vector (virtio_pci.h).  0 or
     * -errno.
     */
    int (*msi_route)(void *opaque, unsigned int gsi, uint64_t addr,
                     uint32_t data, int assign);
    /* Guest RAM, as pieces of the memfd behind it: *n_r of them. */
    const struct dev_ram *(*ram)(void *opaque, unsigned int *n_r);
};

/*
 * A device's accessors.  addr is the absolute port or address of the
 * access, size its width in bytes (1, 2, 4 or 8); a read fills data.
 */
struct dev_ops {
    const char *name;
    void (*read)(void *dev, uint64_t addr, uint8_t *data, unsigned int size);
    void (*write)(void *dev, uint64_t addr, const uint8_t *data,
                  unsigned int size);
};

struct dev_range {
    enum dev_space space;
    uint64_t base;
    uint64_t len;
    const struct dev_ops *ops;
    void *dev;
};

struct dev_bus {
    struct dev_range range[DEV_BUS_MAX_RANGES];  /* sorted by space, base */
    unsigned int count;
};

void dev_bus_init(struct dev_bus *bus);

/*
 * Claim [base, base + len) of space for dev.  0, or -EINVAL (empty or
 * wrapping range), -EEXIST (it overlaps a claimed range: *clash_r, when
 * not NULL, names the holder's ops) or -ENOSPC (the bus is full).
 */
int dev_bus_add(struct dev_bus *bus, enum dev_space space, uint64_t base,
                uint64_t len, const struct dev_ops *ops, void *dev,
                const struct dev_ops **clash_r);

/* The range holding addr, or NULL. */
const struct dev_range *dev_bus_find(const struct dev_bus *bus,
                                     enum dev_space space, uint64_t addr);

/*
 * One access of size bytes at addr: the device holding addr serves it
 * and 1 is returned.  Where no device is, a read gives all ones (as an
 * empty ISA bus or unbacked memory does), a write is dropped, and 0 is
 * returned.
 */
int dev_bus_access(const struct dev_bus *bus, enum dev_space space,
                   uint64_t addr, int write, uint8_t *data,
                   unsigned int size);

#endif /* XENOLITH_DEV_BUS_H */
