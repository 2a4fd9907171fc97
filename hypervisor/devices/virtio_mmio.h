/*
 * virtio_mmio.h - a virtio device slot on the MMIO transport (virtio
 * 1.x, register layout version 2) whose rings a backend process serves
 * over vhost-user (vhost_user.h).
 *
 * The domain has a fixed row of slots (layout.h), each announced in the
 * DSDT as an "LNRO0005" device with its window and an edge-triggered
 * GSI, which Debian's stock virtio_mmio module binds.  An empty slot
 * reads as device id 0, which Linux skips without a word.  A slot is
 * filled (vmmio_plug) before the guest first runs; the guest then drives
 * the registers through vCPU exits, and this file answers them and hands
 * each ring to the backend when the driver marks it ready.  After that
 * no ring traffic passes through the domain process: a guest write to
 * QueueNotify signals the ring's kick eventfd in KVM (ioeventfd), and the
 * backend's call eventfd pulses the slot's GSI (irqfd).  So
 * InterruptStatus cannot know whether a ring interrupt came: it always
 * reports one once the driver is up, and the driver finds out from the
 * used rings (a spurious look costs a few loads).
 *
 * Config space: a block device's comes from the backend (GET_CONFIG,
 * read again whenever the guest reads its first bytes, so a grown disk
 * shows its new capacity); a network device's (MAC, link up) is kept
 * here.  A backend that takes the backend channel (BACKEND_REQ, see
 * vhost_user.h) says when its config space changed (CONFIG_CHANGE_MSG):
 * the slot reads it again and, when it differs from what the guest was
 * last told, moves ConfigGeneration on, sets InterruptStatus bit 1 (the
 * driver clears it with InterruptACK) and pulses the slot's GSI through
 * the call eventfd, which is its irqfd from the plug on, so this works
 * before any ring runs.  Linux's virtio_blk then reads the capacity and
 * resizes the disk.
 */
#ifndef XENOLITH_VIRTIO_MMIO_H
#define XENOLITH_VIRTIO_MMIO_H

#include <stdint.h>

#include "devices/bus.h"
#include "devices/vhost_user.h"

#define VMMIO_WINDOW      0x200     /* registers + config space */
#define VMMIO_QUEUES      2         /* net: rx and tx; block: one */
#define VMMIO_QUEUE_MAX   256       /* QueueNumMax */
#define VMMIO_CONFIG_MAX  64

/* Virtio device ids. */
#define VMMIO_ID_NET      1
#define VMMIO_ID_BLOCK    2

struct vmmio_queue {
    uint32_t num;
    uint32_t ready;
    uint64_t desc, driver, device;   /* guest-physical */
    int kick_fd;                     /* -1 until started */
};

struct vmmio {
    const struct dev_host *host;
    uint64_t base;
    unsigned int gsi;
    uint32_t device_id;              /* 0: the slot is empty */
    unsigned int nqueues;
    uint64_t dev_features;
    uint64_t drv_features;
    uint32_t dev_features_sel;
    uint32_t drv_features_sel;
    uint32_t queue_sel;
    uint32_t status;
    uint32_t int_config;             /* config-change interrupt pending */
    uint32_t config_gen;
    int config_news;                 /* config changed, guest not told */
    struct vmmio_queue q[VMMIO_QUEUES];
    uint8_t config[VMMIO_CONFIG_MAX];
    uint32_t config_len;
    int config_remote;               /* config space from the backend */
    int call_fd;                     /* the backend's call: irqfd on gsi */
    int lost;                        /* the backend hung up */
    char path[108];                  /* its socket */
    struct vhu vhu;
};

/* An empty slot at MMIO base, interrupting on gsi. */
void vmmio_init(struct vmmio *d, const struct dev_host *host, uint64_t base,
                unsigned int gsi);

/* Claim the slot's window on bus: 0 or dev_bus_add's -errno. */
int vmmio_attach(struct vmmio *d, struct dev_bus *bus);

/*
 * Fill the slot with device_id (VMMIO_ID_*) served by the vhost-user
 * backend at path: connect, give it guest RAM, learn its features and,
 * for a block device, its config space; mac is a network device's
 * address (6 bytes), NULL otherwise.  0, or -errno with err saying what
 * failed (the slot stays empty).
 */
int vmmio_plug(struct vmmio *d, uint32_t device_id, const char *path,
               const uint8_t *mac, char *err, size_t errlen);

/* Empty the slot again: stop the rings, hang up on the backend. */
void vmmio_unplug(struct vmmio *d);

/*
 * A backend that dies (killed, restarted by its supervisor) hangs up;
 * the guest's rings wait in guest memory meanwhile and its kicks pile up
 * in their eventfds.  vmmio_fd is the connection to watch (-1: none);
 * when it turns readable (the backend never writes unasked: that is the
 * hang-up) call vmmio_lost, then vmmio_reconnect until it returns 0: it
 * connects again, gives guest RAM and the accepted features again and
 * restarts each running ring where the guest's used ring says the
 * backend got to (requests it had taken but not finished run again, as
 * after a crash of a disk's controller), then kicks them.  -errno while
 * the backend is not back (err says why).
 */
int vmmio_fd(const struct vmmio *d);
void vmmio_lost(struct vmmio *d);
int vmmio_reconnect(struct vmmio *d, char *err, size_t errlen);

/*
 * The backend channel (-1: none; a backend without BACKEND_REQ, or one
 * that hung it up or broke it: a reconnect makes a new one).  When it
 * turns readable, call vmmio_backend_event: it takes one backend request
 * and, for CONFIG_CHANGE_MSG, reads the config space again and interrupts
 * the guest if it changed.  1 when the guest was interrupted (config
 * holds the new space), 0 when there was nothing for the guest, -EPIPE
 * when the backend hung up the channel (closed here too; not an error of
 * the device: a backend that dies hangs up its socket as well, which
 * vmmio_fd reports), -ENOTCONN when there is no channel, other -errno
 * with err saying what failed: a malformed message (the channel is
 * closed), or a config space that could not be read (when the socket
 * broke meanwhile the slot is lost, and vmmio_reconnect takes over).
 */
int vmmio_backend_fd(const struct vmmio *d);
int vmmio_backend_event(struct vmmio *d, char *err, size_t errlen);

#endif /* XENOLITH_VIRTIO_MMIO_H */
