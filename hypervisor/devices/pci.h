/*
 * pci.h - the domain's PCI bus 0, behind configuration mechanism #1.
 *
 * The guest reaches configuration space through I/O ports 0xCF8 (the
 * address register: bit 31 enable, bus in bits 23:16, device 15:11,
 * function 10:8, register 7:2; dword accesses only) and 0xCFC-0xCFF (the
 * data: byte, word or dword at the register plus the port's offset).
 * Only bus 0 answers, and there only function 0 of each of its 32
 * devices ("slots"); everything else, and an empty slot, reads all ones
 * and drops writes.  Slot 0 holds a host bridge (1b36:0008, class
 * 0x060000), which Linux's pci_sanity_check wants to see on bus 0.
 *
 * A function (struct pci_func) is a 256-byte configuration space with a
 * write mask per byte, up to six 32-bit memory BARs and a capability
 * list.  The guest sizes a BAR the usual way (writing all ones reads the
 * size mask back) and may move it; a BAR decodes while the command
 * register's memory-enable bit is set and the whole BAR lies inside the
 * bus's MMIO window, [PCI_MMIO_BASE, PCI_MMIO_BASE + PCI_MMIO_SIZE).
 * The window is claimed on the domain's dev_bus once, at attach (the
 * dev_bus is read-only after the domain is built); an access inside it
 * goes to the function whose decoding BAR holds the address, and where
 * none does it reads all ones and writes are dropped.  Each time a BAR
 * starts, stops or moves decoding the function hears of it (bar_moved),
 * so that what it wired to the old address (KVM ioeventfds) follows.
 *
 * Functions are inserted into and removed from slots 1..31 while the
 * guest runs (hotplug; the guest learns of it through ACPI): the caller
 * serialises these with the guest's accesses (vm.dev_lock), as for every
 * device call.  A function removed by surprise (the guest never let it
 * go) may leave a ghost: its configuration space reads all ones as for
 * any empty slot, but the ranges its BARs decoded keep answering, reads
 * with 0 and writes dropped, so that a driver torn down afterwards does
 * not spin on registers that read all ones.  A function inserted into
 * the slot ends its ghost.
 */
#ifndef XENOLITH_PCI_H
#define XENOLITH_PCI_H

#include <stdint.h>

#include "devices/bus.h"

#define PCI_MMIO_BASE     0xC0000000ULL
#define PCI_MMIO_SIZE     0x3E000000ULL      /* up to 0xFE000000 */
#define PCI_SLOTS         32
#define PCI_CFG_SIZE      256
#define PCI_BARS          6
#define PCI_CONFIG_PORT   0xCF8              /* 0xCF8-0xCFB, 0xCFC-0xCFF */

/*
 * The GSIs a function in slot n interrupts on: MSI-X vector v (v < 2)
 * goes through KVM's GSI PCI_MSI_GSI(n, v), routed to the MSI address
 * and data the guest programmed (dev_host.msi_route).
 */
#define PCI_MSI_GSI(n, v) (32u + 2u * (n) + (v))

/* Configuration space registers. */
#define PCI_VENDOR_ID         0x00
#define PCI_DEVICE_ID         0x02
#define PCI_COMMAND           0x04
#define PCI_STATUS            0x06
#define PCI_REVISION          0x08
#define PCI_CLASS_PROG        0x09           /* class code: 0x09-0x0b */
#define PCI_HEADER_TYPE       0x0e
#define PCI_BAR0              0x10
#define PCI_SUBSYS_VENDOR_ID  0x2c
#define PCI_SUBSYS_ID         0x2e
#define PCI_CAP_PTR           0x34
#define PCI_INTERRUPT_LINE    0x3c
#define PCI_INTERRUPT_PIN     0x3d

#define PCI_COMMAND_MEMORY    0x0002
#define PCI_COMMAND_MASTER    0x0004
#define PCI_COMMAND_INTX_OFF  0x0400
#define PCI_STATUS_CAP_LIST   0x0010

#define PCI_CAP_ID_VNDR       0x09
#define PCI_CAP_ID_MSIX       0x11

struct pci_func;

/*
 * What a function's model does with the guest's accesses; any may be
 * NULL.  off is an offset into the BAR (or into configuration space).
 */
struct pci_func_ops {
    void (*bar_read)(struct pci_func *f, unsigned int bar, uint64_t off,
                     uint8_t *data, unsigned int size);
    void (*bar_write)(struct pci_func *f, unsigned int bar, uint64_t off,
                      const uint8_t *data, unsigned int size);
    /* After a guest write of size bytes at off of configuration space
     * (the masked bytes are in f->cfg already). */
    void (*config_written)(struct pci_func *f, unsigned int off,
                           unsigned int size);
    /* BAR bar decoded at old and now decodes at addr (0: nowhere). */
    void (*bar_moved)(struct pci_func *f, unsigned int bar, uint64_t old,
                      uint64_t addr);
};

struct pci_func {
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE];         /* bits the guest may write */
    uint32_t bar_size[PCI_BARS];         /* 0: no such BAR */
    uint64_t bar_addr[PCI_BARS];         /* where it decodes, 0: nowhere */
    unsigned int cap_end;                /* next free capability byte */
    const struct pci_func_ops *ops;
    void *opaque;                        /* the model's */
};

struct pci_ghost {
    uint64_t base;
    uint64_t len;                        /* 0: none */
};

struct pci_bus {
    uint32_t addr;                       /* the 0xCF8 register */
    struct pci_func bridge;              /* slot 0 */
    struct pci_func *slot[PCI_SLOTS];
    struct pci_ghost ghost[PCI_SLOTS][PCI_BARS];
};

/*
 * A function with ids vendor:device, class (24 bits: base class, sub
 * class, programming interface) and revision, no BAR, no capability,
 * interrupt pin 0 (none), command register 0; ops and opaque are the
 * model's.
 */
void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device,
                   uint32_t class_code, uint8_t revision,
                   const struct pci_func_ops *ops, void *opaque);

/* Declare BAR bar (< PCI_BARS) a 32-bit memory BAR of size bytes (a
 * power of 2, at least 16), programmed to addr (a multiple of size). */
void pci_func_bar(struct pci_func *f, unsigned int bar, uint32_t size,
                  uint32_t addr);

/*
 * Append a capability of len bytes (header included) with id to the
 * list: its offset in configuration space, its first two bytes (id,
 * next) filled in and the rest zero and read-only; 0 when it does not
 * fit.  The caller fills it in and opens bits to the guest via wmask.
 */
unsigned int pci_func_add_cap(struct pci_func *f, uint8_t id,
                              unsigned int len);

/* Configuration space, little-endian, as the model sets it up. */
uint8_t pci_get8(const struct pci_func *f, unsigned int off);
uint16_t pci_get16(const struct pci_func *f, unsigned int off);
uint32_t pci_get32(const struct pci_func *f, unsigned int off);
void pci_set8(struct pci_func *f, unsigned int off, uint8_t v);
void pci_set16(struct pci_func *f, unsigned int off, uint16_t v);
void pci_set32(struct pci_func *f, unsigned int off, uint32_t v);

/* An empty bus: the host bridge in slot 0, slots 1..31 empty. */
void pci_bus_init(struct pci_bus *pb);

/*
 * Claim the configuration ports (0xCF8 and 0xCFC-0xCFF: 0xCF9 is the
 * reset register, power.h) and the MMIO window on
 * bus: 0 or dev_bus_add's -errno.
 */
int pci_bus_attach(struct pci_bus *pb, struct dev_bus *bus);

/*
 * Put f into slot (1..PCI_SLOTS - 1): it answers from now on; a ghost
 * in the slot ends, and f's BARs that decode as f is set up are
 * announced (bar_moved from 0).  0, or -EINVAL (no such slot, or slot
 * 0), -EBUSY (taken).
 */
int pci_bus_insert(struct pci_bus *pb, unsigned int slot,
                   struct pci_func *f);

/*
 * Take the function out of slot (nothing when it is empty): its BARs
 * stop decoding (bar_moved to 0) and its configuration space reads all
 * ones.  ghost 1: the ranges its BARs decoded keep answering, reads 0
 * and writes dropped, until the next pci_bus_insert into the slot.
 */
void pci_bus_remove(struct pci_bus *pb, unsigned int slot, int ghost);

/* 1 when slot holds a ghost (pci_bus_remove with ghost 1). */
int pci_bus_ghost(const struct pci_bus *pb, unsigned int slot);

/* The function in slot, or NULL. */
struct pci_func *pci_bus_func(const struct pci_bus *pb, unsigned int slot);

/*
 * A saved domain's configuration space for f (PCI_CFG_SIZE bytes): only
 * the bits the guest may write are taken (ids and layout stay f's); the
 * BARs then decode where they say and the model hears of the change
 * (bar_moved, config_written).
 */
void pci_func_load(struct pci_func *f, const uint8_t *cfg);

#endif /* XENOLITH_PCI_H */
