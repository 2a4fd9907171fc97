/*
 * virtio_pci.h - a virtio device in a PCI slot (virtio 1.x "modern"
 * PCI transport only) whose rings a backend process serves over
 * vhost-user (virtio.h, vhost_user.h).
 *
 * The function: vendor 0x1af4, device 0x1040 + the virtio id (0x1042
 * block, 0x1041 net), revision 1, subsystem 0x1af4:<virtio id>, class
 * 0x010000 (block) or 0x020000 (net), interrupt pin 0 (no INTx: the
 * guest's driver must use MSI-X).  One 32-bit memory BAR 0 of 16 KiB,
 * placed by the core at VPCI_BAR_ADDR(slot) (the guest may move it):
 *
 *   0x0000  common config (struct virtio_pci_common_cfg)
 *   0x1000  ISR status: bit 1 a config change; reading clears it
 *   0x2000  device config space
 *   0x3000  notify: queue i at 0x3000 + 4 * i (notify_off_multiplier 4)
 *   0x3800  MSI-X table, 2 entries; 0x3c00 its PBA (reads 0)
 *
 * described by vendor capabilities (common, notify, ISR, device) and an
 * MSI-X capability with a table of two vectors, which Linux's
 * virtio_pci uses as config (0) and queues (1) when it cannot have one
 * per queue; the driver may put the config interrupt and each queue on
 * either vector or on none (0xffff), and a vector past the table reads
 * back 0xffff, which the driver takes as a refusal.
 *
 * Kicks: while BAR 0 decodes (memory enabled, inside the PCI window) a
 * running queue's kick eventfd is a KVM ioeventfd on its notify address
 * (2 bytes, data its index); it follows the BAR when the guest moves it,
 * and there is none while decoding is off.  Interrupts: each vector has
 * an eventfd, which is the backend's call eventfd of every queue on the
 * vector when the queue starts (a queue on no vector gets none and is
 * polled); vector v of slot n is GSI PCI_MSI_GSI(n, v), routed to the
 * vector's MSI address and data (dev_host.msi_route) and fed by its
 * eventfd (irqfd) while MSI-X is enabled and neither the function nor
 * the vector is masked.  Unmasking writes the eventfd once, as a signal
 * that came while masked is not kept here (a spurious interrupt costs
 * the driver a look at its used rings, a lost one would hang it).  A
 * queue moved to another vector while it runs keeps signalling the old
 * vector's eventfd until it is restarted (Linux sets vectors before it
 * enables the queues).
 *
 * Config space: a block device's is its backend's, read again whenever
 * the guest reads its first bytes; a network device's (MAC, link up) is
 * kept here.  A backend config change (vpci_backend_event) moves
 * config_generation on, sets ISR bit 1 and writes the config vector's
 * eventfd (nothing when the driver gave it no vector).
 *
 * Hotplug: vpci_plug connects to the backend and inserts the function
 * into its slot (the caller tells the guest, ACPI); vpci_unplug takes
 * it out.  The caller holds the domain's dev_lock around every call
 * here, as around the guest's accesses.
 */
#ifndef XENOLITH_VIRTIO_PCI_H
#define XENOLITH_VIRTIO_PCI_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/pci.h"
#include "devices/virtio.h"

#define VPCI_VENDOR        0x1af4
#define VPCI_DEVICE_BASE   0x1040      /* + the virtio device id */
#define VPCI_BAR_SIZE      0x4000
#define VPCI_BAR_STRIDE    0x10000
#define VPCI_BAR_ADDR(n)   (PCI_MMIO_BASE + (uint64_t)(n) * VPCI_BAR_STRIDE)

/* BAR 0's regions. */
#define VPCI_COMMON        0x0000
#define VPCI_ISR           0x1000
#define VPCI_DEVICE        0x2000
#define VPCI_NOTIFY        0x3000
#define VPCI_NOTIFY_MULT   4
#define VPCI_MSIX_TABLE    0x3800
#define VPCI_MSIX_PBA      0x3c00

#define VPCI_VECTORS       2
#define VPCI_NO_VECTOR     0xffff

struct vpci_vector {
    int fd;                          /* its eventfd; -1 when unplugged */
    int irqfd;                       /* fd is an irqfd on its GSI */
    int routed;                      /* an MSI route is set on its GSI */
    uint64_t addr;                   /* the route's */
    uint32_t data;
};

struct vpci {
    struct pci_func fn;
    struct virtio_dev vd;
    const struct dev_host *host;
    struct pci_bus *pb;
    unsigned int slot;
    uint64_t bar;                    /* where BAR 0 decodes, 0: nowhere */
    unsigned int msix_cap;           /* the capability's offset */
    uint32_t dev_features_sel;
    uint32_t drv_features_sel;
    uint16_t queue_sel;
    uint16_t msix_config;            /* the config interrupt's vector */
    uint16_t queue_vector[VIRTIO_QUEUES];
    uint8_t msix_table[16 * VPCI_VECTORS];
    struct vpci_vector vec[VPCI_VECTORS];
};

/* An empty slot (1..PCI_SLOTS - 1) of pb, whose domain is host. */
void vpci_init(struct vpci *d, const struct dev_host *host,
               struct pci_bus *pb, unsigned int slot);

/*
 * Fill the slot with device_id (VIRTIO_ID_NET or VIRTIO_ID_BLOCK)
 * served by the vhost-user backend at path: connect, give it guest RAM,
 * learn its features and, for a block device, its config space, then
 * insert the function into its PCI slot (its BAR pre-assigned, memory
 * decoding off, MSI-X disabled, every vector masked).  mac is a network
 * device's address (6 bytes), NULL otherwise.  0, or -errno with err
 * saying what failed (the slot stays empty).
 */
int vpci_plug(struct vpci *d, uint32_t device_id, const char *path,
              const uint8_t *mac, char *err, size_t errlen);

/*
 * Take the function off the bus, stop its rings, drop its interrupts
 * (irqfds and MSI routes) and hang up on the backend; nothing for an
 * empty slot.  surprise 1 (a forced removal: the guest never released
 * the device): its configuration space reads all ones from then on, but
 * the range its BAR decoded keeps answering, reads 0 and writes dropped,
 * so that Linux's virtio_pci, which polls device_status until it reads 0
 * when its driver is removed afterwards, does not spin; a later
 * vpci_plug into the slot ends that ghost.
 */
void vpci_unplug(struct vpci *d, int surprise);

/* 1 when the slot holds a device. */
int vpci_present(const struct vpci *d);

/*
 * A backend that dies (killed, restarted by its supervisor) hangs up;
 * the guest's rings wait in guest memory meanwhile and its kicks pile up
 * in their eventfds.  vpci_fd is the connection to watch (-1: none);
 * when it turns readable (the backend never writes unasked: that is the
 * hang-up) call vpci_lost, then vpci_reconnect until it returns 0: it
 * connects again, gives guest RAM and the accepted features again and
 * restarts each running ring where the guest's used ring says the
 * backend got to (requests it had taken but not finished run again, as
 * after a crash of a disk's controller), then kicks them.  -errno while
 * the backend is not back (err says why).  A guest access whose request
 * to the backend found its socket broken marks the slot lost too
 * (d->vd.lost), without a hang-up to see on vpci_fd: the caller checks
 * d->vd.lost after the guest's accesses (vmproc retries every lost slot).
 */
int vpci_fd(const struct vpci *d);
void vpci_lost(struct vpci *d);
int vpci_reconnect(struct vpci *d, char *err, size_t errlen);

/*
 * The backend channel (-1: none; a backend without BACKEND_REQ, or one
 * that hung it up or broke it: a reconnect makes a new one).  When it
 * turns readable, call vpci_backend_event: it takes one backend request
 * and, for CONFIG_CHANGE_MSG, reads the config space again and interrupts
 * the guest if it changed.  1 when the guest was interrupted (config
 * holds the new space), 0 when there was nothing for the guest, -EPIPE
 * when the backend hung up the channel (closed here too; not an error of
 * the device: a backend that dies hangs up its socket as well, which
 * vpci_fd reports), -ENOTCONN when there is no channel, other -errno
 * with err saying what failed: a malformed message (the channel is
 * closed), or a config space that could not be read (when the socket
 * broke meanwhile the slot is lost, and vpci_reconnect takes over).
 */
int vpci_backend_fd(const struct vpci *d);
int vpci_backend_event(struct vpci *d, char *err, size_t errlen);

/*
 * Save, restore and migration (virtio.h says what each does to the
 * backend): the function's state is its configuration space, MSI-X
 * table, the transport's registers and the virtio device's.  vpci_load
 * gives it to a slot plugged to the same kind of backend (0, or -errno
 * with err saying why).
 */
struct vpci_state {
    struct virtio_state vd;
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t msix_table[16 * VPCI_VECTORS];
    uint32_t dev_features_sel;
    uint32_t drv_features_sel;
    uint16_t queue_sel;
    uint16_t msix_config;
    uint16_t queue_vector[VIRTIO_QUEUES];
};
void vpci_save(const struct vpci *d, struct vpci_state *st);
int vpci_load(struct vpci *d, const struct vpci_state *st, char *err,
              size_t errlen);
int vpci_log(struct vpci *d, int fd, uint64_t size, char *err,
             size_t errlen);
void vpci_quiesce(struct vpci *d);
int vpci_unquiesce(struct vpci *d, char *err, size_t errlen);

#endif /* XENOLITH_VIRTIO_PCI_H */
