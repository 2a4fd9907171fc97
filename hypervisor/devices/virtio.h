/*
 * virtio.h - a virtio 1.x device whose rings a backend process serves
 * over vhost-user (vhost_user.h), independent of the transport that
 * shows it to the guest (virtio_pci.h).
 *
 * This holds what every transport has: the device's features and the
 * driver's, the status (FEATURES_OK checked against what was offered),
 * the queues' layout and their hand-over to the backend, the config
 * space, and the backend's connection with its hang-up, reconnect and
 * backend channel.  The transport decodes the guest's register accesses
 * into calls here and supplies, through struct virtio_transport, how a
 * queue's kick reaches its eventfd (a KVM ioeventfd on the transport's
 * notify address), which eventfd the backend signals for a queue, and
 * how a config-change interrupt reaches the guest.
 *
 * No ring traffic passes through the domain process: the guest's kick
 * signals the queue's kick eventfd in KVM and the backend's call
 * eventfd interrupts the guest (KVM irqfd), as set up by the transport.
 *
 * Config space: a block device's comes from the backend (GET_CONFIG,
 * read again whenever the guest reads its first bytes, so a grown disk
 * shows its new capacity); a network device's (MAC, link up) is kept
 * here.  A backend that takes the backend channel says when its config
 * space changed (CONFIG_CHANGE_MSG, virtio_backend_event): it is read
 * again and, when it differs from what the guest was last told, the
 * config generation moves on, the config interrupt is flagged
 * (int_config, the transport's ISR bit 1) and the transport interrupts
 * the guest.
 */
#ifndef XENOLITH_VIRTIO_H
#define XENOLITH_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/vhost_user.h"

#define VIRTIO_QUEUES       2      /* net: rx and tx; block: one */
#define VIRTIO_QUEUE_MAX    256
#define VIRTIO_CONFIG_MAX   64

/* Virtio device ids. */
#define VIRTIO_ID_NET       1
#define VIRTIO_ID_BLOCK     2

/* Device status bits. */
#define VIRTIO_S_ACKNOWLEDGE 0x01u
#define VIRTIO_S_DRIVER      0x02u
#define VIRTIO_S_DRIVER_OK   0x04u
#define VIRTIO_S_FEATURES_OK 0x08u
#define VIRTIO_S_NEEDS_RESET 0x40u
#define VIRTIO_S_FAILED      0x80u

#define VIRTIO_F_VERSION_1  (1ULL << 32)

struct virtio_dev;

/* What the transport does for the device; every member is required. */
struct virtio_transport {
    /* Wire (assign 1) or unwire (0) queue idx's kick: the guest's
     * notification of it is to signal fd.  0 or -errno. */
    int (*kick)(struct virtio_dev *vd, unsigned int idx, int fd,
                int assign);
    /* The eventfd the backend is to signal for queue idx: -1 for none
     * (the driver polls that queue). */
    int (*call_fd)(struct virtio_dev *vd, unsigned int idx);
    /* The config space changed (int_config is set): interrupt the
     * guest.  0 or -errno, with vd->vhu.err saying why. */
    int (*config_irq)(struct virtio_dev *vd);
};

struct virtio_queue {
    uint32_t num;                    /* size; VIRTIO_QUEUE_MAX at reset */
    uint32_t ready;
    uint64_t desc, driver, device;   /* guest-physical */
    int kick_fd;                     /* -1 until started */
};

struct virtio_dev {
    const struct dev_host *host;
    const struct virtio_transport *tr;
    void *opaque;                    /* the transport's */
    char name[48];                   /* "virtio-pci slot 3": messages */
    uint32_t device_id;              /* 0: empty */
    unsigned int nqueues;
    uint64_t dev_features;
    uint64_t be_features;            /* what the backend offered at plug */
    uint64_t drv_features;
    uint32_t status;
    uint32_t int_config;             /* config-change interrupt pending */
    uint32_t config_gen;
    int config_news;                 /* config changed, guest not told */
    struct virtio_queue q[VIRTIO_QUEUES];
    uint8_t config[VIRTIO_CONFIG_MAX];
    uint32_t config_len;
    int config_remote;               /* config space from the backend */
    int lost;                        /* the backend hung up */
    int quiesced;                    /* rings stopped for a save */
    int log_fd;                      /* dirty log while migrating, or -1 */
    uint64_t log_size;
    char path[108];                  /* its socket */
    struct vhu vhu;
};

/* An empty device; name goes into error messages. */
void virtio_init(struct virtio_dev *vd, const struct dev_host *host,
                 const struct virtio_transport *tr, void *opaque,
                 const char *name);

/*
 * Make vd a device_id (VIRTIO_ID_*) served by the vhost-user backend at
 * path: connect, give it guest RAM, learn its features and, for a block
 * device, its config space; mac is a network device's address (6
 * bytes), NULL otherwise.  The device comes out reset.  0, or -errno
 * with err saying what failed (vd stays empty).
 */
int virtio_plug(struct virtio_dev *vd, uint32_t device_id, const char *path,
                const uint8_t *mac, char *err, size_t errlen);

/* Empty it again: reset (the rings stop), hang up on the backend. */
void virtio_unplug(struct virtio_dev *vd);

/* The driver's reset (status 0): rings stopped and unwired, features,
 * status and a pending config interrupt cleared. */
void virtio_reset(struct virtio_dev *vd);

/* A driver write of the status (0 resets; FEATURES_OK is refused, i.e.
 * reads back clear, for features not offered or without VERSION_1). */
void virtio_set_status(struct virtio_dev *vd, uint32_t v);

/* The driver's features, 32 bits at a time (sel 0 low, 1 high). */
void virtio_set_driver_features(struct virtio_dev *vd, uint32_t sel,
                                uint32_t v);
uint32_t virtio_device_features(const struct virtio_dev *vd, uint32_t sel);

/*
 * The driver enables queue idx: wire its kick and hand the ring to the
 * backend.  0, or -errno: the ring stays off and NEEDS_RESET is set.
 * virtio_queue_disable stops it again.
 */
int virtio_queue_enable(struct virtio_dev *vd, unsigned int idx);
void virtio_queue_disable(struct virtio_dev *vd, unsigned int idx);

/* A notification of queue idx that reached the domain process (its
 * kick is not wired in KVM): signal the kick eventfd if it runs. */
void virtio_queue_notify(struct virtio_dev *vd, unsigned int idx);

/* size bytes of config space at off (zeros past its end); a read at 0
 * reads a backend's config space again first. */
void virtio_config_read(struct virtio_dev *vd, uint64_t off, uint8_t *data,
                        unsigned int size);

/*
 * After each guest access: a request it made (a config read, a status
 * write) may have found the backend's socket broken: the device is then
 * lost, as after a hang-up, so that the owner reconnects it.
 */
void virtio_note_lost(struct virtio_dev *vd);

/*
 * The backend's connection, hang-up and reconnect, and its channel:
 * the contracts of vpci_fd, vpci_lost, vpci_reconnect, vpci_backend_fd
 * and vpci_backend_event (virtio_pci.h), which wrap these.
 */
int virtio_fd(const struct virtio_dev *vd);
void virtio_lost(struct virtio_dev *vd);
int virtio_reconnect(struct virtio_dev *vd, char *err, size_t errlen);
int virtio_backend_fd(const struct virtio_dev *vd);
int virtio_backend_event(struct virtio_dev *vd, char *err, size_t errlen);

/*
 * Save, restore and migration (hypervisor/snapshot.h).
 *
 * virtio_log gives the backend the domain's dirty log (fd, size bytes;
 * one bit per guest-physical page) and turns its marking on, or off with
 * fd -1; a backend that reconnects meanwhile gets it again.  -ENOTSUP
 * for a backend that cannot log (err says so).
 *
 * virtio_quiesce stops the backend's rings (GET_VRING_BASE: a backend
 * answers once what it took is done), so that it writes guest memory no
 * more; virtio_unquiesce (the guest runs on here: a checkpoint, a failed
 * migration) hands them back from the used index on.
 *
 * virtio_save takes the driver's side of the device (features, status,
 * queues); virtio_load gives it to a device plugged to the same kind of
 * backend in a domain whose RAM is restored, and hands it the rings.
 */
struct virtio_state {
    uint32_t device_id;
    uint32_t nqueues;
    uint64_t drv_features;
    uint32_t status;
    uint32_t config_gen;
    uint32_t int_config;
    uint32_t pad;
    struct {
        uint32_t num;
        uint32_t ready;
        uint64_t desc, driver, device;
    } q[VIRTIO_QUEUES];
};

int virtio_log(struct virtio_dev *vd, int fd, uint64_t size, char *err,
               size_t errlen);
void virtio_quiesce(struct virtio_dev *vd);
int virtio_unquiesce(struct virtio_dev *vd, char *err, size_t errlen);
void virtio_save(const struct virtio_dev *vd, struct virtio_state *st);
int virtio_load(struct virtio_dev *vd, const struct virtio_state *st,
                char *err, size_t errlen);

#endif /* XENOLITH_VIRTIO_H */
