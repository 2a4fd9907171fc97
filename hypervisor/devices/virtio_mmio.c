/*
 * virtio_mmio.c - virtio-mmio slots served by vhost-user backends (see
 * virtio_mmio.h; register offsets from the virtio 1.x specification).
 */
#include "virtio_mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define R_MAGIC            0x000
#define R_VERSION          0x004
#define R_DEVICE_ID        0x008
#define R_VENDOR_ID        0x00c
#define R_DEV_FEATURES     0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES     0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL        0x030
#define R_QUEUE_NUM_MAX    0x034
#define R_QUEUE_NUM        0x038
#define R_QUEUE_READY      0x044
#define R_QUEUE_NOTIFY     0x050
#define R_INT_STATUS       0x060
#define R_INT_ACK          0x064
#define R_STATUS           0x070
#define R_QUEUE_DESC_LO    0x080
#define R_QUEUE_DESC_HI    0x084
#define R_QUEUE_DRIVER_LO  0x090
#define R_QUEUE_DRIVER_HI  0x094
#define R_QUEUE_DEVICE_LO  0x0a0
#define R_QUEUE_DEVICE_HI  0x0a4
#define R_CONFIG_GEN       0x0fc
#define R_CONFIG           0x100

#define MAGIC              0x74726976u      /* "virt" */
#define VENDOR             0x544c4e58u      /* "XNLT" */

#define S_FEATURES_OK      0x08u
#define S_DRIVER_OK        0x04u
#define S_NEEDS_RESET      0x40u

#define INT_VRING          0x1u
#define INT_CONFIG         0x2u

#define F_VERSION_1        (1ULL << 32)
#define F_INDIRECT_DESC    (1ULL << 28)
#define F_EVENT_IDX        (1ULL << 29)

/* Device bits this transport passes on: no control queue, one queue
 * (pair), split rings only. */
#define NET_F_MAC          (1ULL << 5)
#define NET_F_STATUS       (1ULL << 16)
#define NET_FEATURES       (0xff83ULL | NET_F_MAC | NET_F_STATUS)
#define BLK_FEATURES       ((1ULL << 1) | (1ULL << 2) | (1ULL << 4) | \
                            (1ULL << 5) | (1ULL << 6) | (1ULL << 9) | \
                            (1ULL << 10) | (1ULL << 13) | (1ULL << 14))
#define COMMON_FEATURES    (F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX)

/* virtio_blk_config up to and including write_zeroes_may_unmap */
#define BLK_CONFIG_LEN     57

static uint32_t get32(const uint8_t *data, unsigned int size)
{
    uint32_t v = 0;

    memcpy(&v, data, size < 4 ? size : 4);
    return v;
}

static void put32(uint8_t *data, unsigned int size, uint32_t v)
{
    memset(data, 0, size);
    memcpy(data, &v, size < 4 ? size : 4);
}

static void set_lo(uint64_t *v, uint32_t lo)
{
    *v = (*v & ~0xffffffffULL) | lo;
}

static void set_hi(uint64_t *v, uint32_t hi)
{
    *v = (*v & 0xffffffffULL) | ((uint64_t)hi << 32);
}

/* Where this process sees [gpa, gpa + len) of guest RAM; 0 if nowhere. */
static uint64_t to_hva(const struct vmmio *d, uint64_t gpa, uint64_t len)
{
    const struct dev_ram *r;
    unsigned int n, i;

    r = d->host->ram(d->host->opaque, &n);
    for (i = 0; i < n; i++)
        if (gpa >= r[i].gpa && len <= r[i].size &&
            gpa - r[i].gpa <= r[i].size - len)
            return (uint64_t)(uintptr_t)(r[i].hva + (gpa - r[i].gpa));
    return 0;
}

static void queue_stop(struct vmmio *d, unsigned int idx)
{
    struct vmmio_queue *q = &d->q[idx];

    if (q->kick_fd < 0)
        return;
    if (!d->lost)
        vhu_queue_stop(&d->vhu, idx, NULL);
    d->host->ioeventfd(d->host->opaque, d->base + R_QUEUE_NOTIFY, 4, idx,
                       q->kick_fd, 0);
    close(q->kick_fd);
    q->kick_fd = -1;
}

/* The driver set QueueReady: hand the ring to the backend. */
static int queue_start(struct vmmio *d, unsigned int idx)
{
    struct vmmio_queue *q = &d->q[idx];
    uint64_t desc, avail, used;
    int rc;

    if (q->num == 0 || q->num > VMMIO_QUEUE_MAX || (q->num & (q->num - 1)))
        return -EINVAL;
    desc = to_hva(d, q->desc, 16ULL * q->num);
    avail = to_hva(d, q->driver, 6 + 2ULL * q->num);
    used = to_hva(d, q->device, 6 + 8ULL * q->num);
    if (!desc || !avail || !used)
        return -EFAULT;
    q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->kick_fd < 0)
        return -errno;
    rc = d->host->ioeventfd(d->host->opaque, d->base + R_QUEUE_NOTIFY, 4,
                            idx, q->kick_fd, 1);
    /* a backend that is away gets the ring when it is back
     * (vmmio_reconnect resumes every ring with a kick fd) */
    if (rc == 0 && !d->lost) {
        rc = vhu_queue_start(&d->vhu, idx, q->num, desc, avail, used,
                             q->kick_fd, d->call_fd);
        if (rc < 0)
            d->host->ioeventfd(d->host->opaque, d->base + R_QUEUE_NOTIFY,
                               4, idx, q->kick_fd, 0);
    }
    if (rc < 0) {
        close(q->kick_fd);
        q->kick_fd = -1;
    }
    return rc;
}

static void reset(struct vmmio *d)
{
    unsigned int i;

    for (i = 0; i < VMMIO_QUEUES; i++) {
        queue_stop(d, i);
        memset(&d->q[i], 0, sizeof(d->q[i]));
        d->q[i].kick_fd = -1;
    }
    d->drv_features = 0;
    d->dev_features_sel = 0;
    d->drv_features_sel = 0;
    d->queue_sel = 0;
    d->status = 0;
    d->int_config = 0;
    d->config_news = 0;            /* a new driver reads it afresh */
}

static void set_status(struct vmmio *d, uint32_t v)
{
    uint32_t was = d->status;

    if (v == 0) {
        reset(d);
        return;
    }
    d->status = v;
    if ((v & S_FEATURES_OK) && !(was & S_FEATURES_OK)) {
        /* only what was offered, and a modern driver; the backend
         * hears of its own bits (a NIC's MAC and link status are
         * ours) */
        /* a backend that is away hears of them when it is back
         * (vmmio_reconnect) */
        if ((d->drv_features & ~d->dev_features) ||
            !(d->drv_features & F_VERSION_1) ||
            (!d->lost && vhu_set_features(&d->vhu, d->drv_features &
                                                   d->vhu.features) < 0))
            d->status &= ~S_FEATURES_OK;
    }
}

/*
 * Reads the backend's config space again: 1 when it changed (the
 * generation moves on and config_news is set, as the guest has not been
 * interrupted for it yet), 0 when not, or vhu_get_config's -errno.
 */
static int refresh_config(struct vmmio *d)
{
    uint8_t buf[VMMIO_CONFIG_MAX];
    int rc;

    if (!d->config_remote)
        return 0;
    rc = vhu_get_config(&d->vhu, 0, buf, d->config_len);
    if (rc < 0)
        return rc;
    if (!memcmp(buf, d->config, d->config_len))
        return 0;
    memcpy(d->config, buf, d->config_len);
    d->config_gen++;
    d->config_news = 1;
    return 1;
}

static void read_reg(void *dev, uint64_t addr, uint8_t *data,
                     unsigned int size)
{
    struct vmmio *d = dev;
    uint64_t off = addr - d->base;
    struct vmmio_queue *q = d->queue_sel < d->nqueues ?
                                &d->q[d->queue_sel] : NULL;
    uint32_t v = 0;

    if (off >= R_CONFIG) {
        off -= R_CONFIG;
        if (off == 0)
            (void)refresh_config(d);   /* a failure keeps what we had */
        memset(data, 0, size);
        if (off < d->config_len)
            memcpy(data, d->config + off,
                   size < d->config_len - off ? size : d->config_len - off);
        return;
    }
    switch (off) {
    case R_MAGIC:
        v = MAGIC;
        break;
    case R_VERSION:
        v = 2;
        break;
    case R_DEVICE_ID:
        v = d->device_id;
        break;
    case R_VENDOR_ID:
        v = VENDOR;
        break;
    case R_DEV_FEATURES:
        if (d->dev_features_sel < 2)
            v = (uint32_t)(d->dev_features >> (32 * d->dev_features_sel));
        break;
    case R_QUEUE_NUM_MAX:
        v = q ? VMMIO_QUEUE_MAX : 0;
        break;
    case R_QUEUE_READY:
        v = q ? q->ready : 0;
        break;
    case R_INT_STATUS:
        v = ((d->status & S_DRIVER_OK) ? INT_VRING : 0) |
            (d->int_config ? INT_CONFIG : 0);
        break;
    case R_STATUS:
        v = d->status;
        break;
    case R_CONFIG_GEN:
        v = d->config_gen;
        break;
    default:
        break;
    }
    put32(data, size, v);
}

static void queue_write(struct vmmio *d, uint64_t off, uint32_t v)
{
    struct vmmio_queue *q;

    if (d->queue_sel >= d->nqueues)
        return;
    q = &d->q[d->queue_sel];
    if (off == R_QUEUE_READY) {
        if (v && !q->ready) {
            if (queue_start(d, d->queue_sel) == 0)
                q->ready = 1;
            else
                d->status |= S_NEEDS_RESET;
        } else if (!v && q->ready) {
            queue_stop(d, d->queue_sel);
            q->ready = 0;
        }
        return;
    }
    if (q->ready)
        return;                    /* a live ring's layout is fixed */
    switch (off) {
    case R_QUEUE_NUM:
        q->num = v;
        break;
    case R_QUEUE_DESC_LO:
        set_lo(&q->desc, v);
        break;
    case R_QUEUE_DESC_HI:
        set_hi(&q->desc, v);
        break;
    case R_QUEUE_DRIVER_LO:
        set_lo(&q->driver, v);
        break;
    case R_QUEUE_DRIVER_HI:
        set_hi(&q->driver, v);
        break;
    case R_QUEUE_DEVICE_LO:
        set_lo(&q->device, v);
        break;
    case R_QUEUE_DEVICE_HI:
        set_hi(&q->device, v);
        break;
    default:
        break;
    }
}

static void write_reg(void *dev, uint64_t addr, const uint8_t *data,
                      unsigned int size)
{
    struct vmmio *d = dev;
    uint64_t off = addr - d->base;
    uint32_t v = get32(data, size);

    if (off >= R_CONFIG || !d->device_id)
        return;                    /* config space is read-only here */
    switch (off) {
    case R_DEV_FEATURES_SEL:
        d->dev_features_sel = v;
        break;
    case R_DRV_FEATURES:
        if (d->drv_features_sel == 0)
            set_lo(&d->drv_features, v);
        else if (d->drv_features_sel == 1)
            set_hi(&d->drv_features, v);
        break;
    case R_DRV_FEATURES_SEL:
        d->drv_features_sel = v;
        break;
    case R_QUEUE_SEL:
        d->queue_sel = v;
        break;
    case R_QUEUE_NOTIFY:
        /* KVM signals the kick itself; an exit here means a ring that
         * is not running */
        if (v < d->nqueues && d->q[v].kick_fd >= 0) {
            uint64_t one = 1;

            if (write(d->q[v].kick_fd, &one, sizeof(one)) < 0)
                d->status |= S_NEEDS_RESET;
        }
        break;
    case R_INT_ACK:
        if (v & INT_CONFIG)
            d->int_config = 0;
        break;
    case R_STATUS:
        set_status(d, v);
        break;
    default:
        queue_write(d, off, v);
        break;
    }
}

/*
 * A request the guest's access made (a config read, a status write) may
 * find the backend's socket broken: the slot is then lost, like after a
 * hang-up, so that the domain process reconnects it.
 */
static void note_lost(struct vmmio *d)
{
    if (d->device_id && !d->lost && d->vhu.fd < 0)
        d->lost = 1;
}

static void mmio_read(void *dev, uint64_t addr, uint8_t *data,
                      unsigned int size)
{
    read_reg(dev, addr, data, size);
    note_lost(dev);
}

static void mmio_write(void *dev, uint64_t addr, const uint8_t *data,
                       unsigned int size)
{
    write_reg(dev, addr, data, size);
    note_lost(dev);
}

static const struct dev_ops vmmio_ops = {
    .name = "virtio-mmio",
    .read = mmio_read,
    .write = mmio_write,
};

void vmmio_init(struct vmmio *d, const struct dev_host *host, uint64_t base,
                unsigned int gsi)
{
    unsigned int i;

    memset(d, 0, sizeof(*d));
    d->host = host;
    d->base = base;
    d->gsi = gsi;
    d->call_fd = -1;
    for (i = 0; i < VMMIO_QUEUES; i++)
        d->q[i].kick_fd = -1;
    vhu_init(&d->vhu);
}

int vmmio_attach(struct vmmio *d, struct dev_bus *bus)
{
    return dev_bus_add(bus, DEV_MMIO, d->base, VMMIO_WINDOW, &vmmio_ops, d,
                       NULL);
}

/* Guest RAM as the backend is to map it. */
static int give_ram(struct vmmio *d)
{
    struct vhu_region reg[VHU_MAX_REGIONS];
    const struct dev_ram *r;
    unsigned int n, i;

    r = d->host->ram(d->host->opaque, &n);
    if (n > VHU_MAX_REGIONS)
        return -E2BIG;
    for (i = 0; i < n; i++) {
        reg[i].gpa = r[i].gpa;
        reg[i].size = r[i].size;
        reg[i].hva = (uint64_t)(uintptr_t)r[i].hva;
        reg[i].fd = r[i].fd;
        reg[i].fd_offset = r[i].fd_offset;
    }
    return vhu_set_mem_table(&d->vhu, reg, n);
}

int vmmio_plug(struct vmmio *d, uint32_t device_id, const char *path,
               const uint8_t *mac, char *err, size_t errlen)
{
    const char *what;
    int rc;

    if (d->device_id) {
        snprintf(err, errlen, "virtio-mmio slot at %#llx is taken",
                 (unsigned long long)d->base);
        return -EBUSY;
    }
    if (device_id != VMMIO_ID_BLOCK && device_id != VMMIO_ID_NET) {
        snprintf(err, errlen, "virtio device id %u is not served",
                 device_id);
        return -EINVAL;
    }
    snprintf(d->path, sizeof(d->path), "%s", path);
    what = "connecting";
    rc = vhu_connect(&d->vhu, path, 5000);
    if (rc < 0)
        goto fail;
    what = "giving it guest RAM";
    rc = give_ram(d);
    if (rc < 0)
        goto fail;
    /* a network backend counts queue pairs */
    d->nqueues = device_id == VMMIO_ID_NET ? 2 : 1;
    what = "counting its queues";
    if (d->vhu.max_queues < 1) {
        rc = -EPROTO;
        snprintf(d->vhu.err, sizeof(d->vhu.err), "it serves no queue");
        goto fail;
    }
    if (device_id == VMMIO_ID_BLOCK) {
        what = "reading its config space";
        d->dev_features = d->vhu.features & (BLK_FEATURES | COMMON_FEATURES);
        d->config_len = BLK_CONFIG_LEN;
        rc = vhu_get_config(&d->vhu, 0, d->config, d->config_len);
        if (rc < 0)
            goto fail;
        d->config_remote = 1;
    } else {
        d->dev_features = (d->vhu.features & (NET_FEATURES | COMMON_FEATURES))
                          | NET_F_MAC | NET_F_STATUS;
        memcpy(d->config, mac, 6);
        d->config[6] = 1;          /* VIRTIO_NET_S_LINK_UP */
        d->config_len = 8;
    }
    what = "checking its features";
    if (!(d->dev_features & F_VERSION_1)) {
        rc = -EPROTO;
        snprintf(d->vhu.err, sizeof(d->vhu.err),
                 "it does not offer VIRTIO_F_VERSION_1");
        goto fail;
    }
    what = "making its interrupt";
    d->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->call_fd < 0) {
        rc = -errno;
        snprintf(d->vhu.err, sizeof(d->vhu.err), "eventfd: %s",
                 strerror(errno));
        goto fail;
    }
    rc = d->host->irqfd(d->host->opaque, d->gsi, d->call_fd, 1);
    if (rc < 0) {
        snprintf(d->vhu.err, sizeof(d->vhu.err), "irqfd on GSI %u: %s",
                 d->gsi, strerror(-rc));
        goto fail;
    }
    d->device_id = device_id;
    return 0;

fail:
    snprintf(err, errlen, "virtio-mmio %#llx: backend %s: %s: %s",
             (unsigned long long)d->base, path, what, d->vhu.err);
    if (d->call_fd >= 0)
        close(d->call_fd);
    d->call_fd = -1;
    vhu_close(&d->vhu);
    d->nqueues = 0;
    d->dev_features = 0;
    d->config_len = 0;
    d->config_remote = 0;
    return rc;
}

void vmmio_unplug(struct vmmio *d)
{
    if (!d->device_id)
        return;
    reset(d);
    d->host->irqfd(d->host->opaque, d->gsi, d->call_fd, 0);
    close(d->call_fd);
    d->call_fd = -1;
    vhu_close(&d->vhu);
    d->lost = 0;
    d->device_id = 0;
    d->nqueues = 0;
    d->dev_features = 0;
    d->config_len = 0;
    d->config_remote = 0;
}

int vmmio_fd(const struct vmmio *d)
{
    return d->device_id && !d->lost ? d->vhu.fd : -1;
}

void vmmio_lost(struct vmmio *d)
{
    vhu_close(&d->vhu);
    d->lost = 1;
}

int vmmio_backend_fd(const struct vmmio *d)
{
    return d->device_id && !d->lost ? d->vhu.req_fd : -1;
}

int vmmio_backend_event(struct vmmio *d, char *err, size_t errlen)
{
    uint64_t one = 1;
    const char *what;
    uint32_t req;
    int rc;

    what = "reading its channel";
    rc = vhu_backend_message(&d->vhu, &req);
    if (rc == -EAGAIN)
        return 0;                  /* woken for nothing */
    if (rc < 0)
        goto fail;
    /* a network device's config space is ours: the backend has no say */
    if (req != VHU_BACKEND_CONFIG_CHANGE_MSG || !d->config_remote)
        return 0;
    what = "reading its changed config space";
    rc = refresh_config(d);
    if (rc < 0) {
        /* a socket that broke under GET_CONFIG is a backend gone: the
         * owner's reconnect takes over, as after a hang-up */
        if (d->vhu.fd < 0)
            vmmio_lost(d);
        goto fail;
    }
    /*
     * No change is still news when a guest read of the config space got
     * there first (between the backend's change and its message): the
     * driver then holds the new values without having been told.
     */
    if (!d->config_news)
        return 0;
    d->config_news = 0;
    d->int_config = 1;
    /*
     * The call eventfd is the slot's irqfd from the plug on, rings
     * started or not: a write pulses the GSI as the backend's calls do.
     * The driver reads InterruptStatus, sees the config bit and reads
     * the config space (a driver not up yet reads it at probe anyway).
     */
    what = "interrupting the guest";
    if (write(d->call_fd, &one, sizeof(one)) < 0) {
        rc = -errno;
        snprintf(d->vhu.err, sizeof(d->vhu.err), "eventfd write: %s",
                 strerror(errno));
        goto fail;
    }
    return 1;

fail:
    snprintf(err, errlen, "virtio-mmio %#llx: backend %s: %s: %s",
             (unsigned long long)d->base, d->path, what, d->vhu.err);
    return rc;
}

int vmmio_reconnect(struct vmmio *d, char *err, size_t errlen)
{
    struct vmmio_queue *q;
    const char *what;
    unsigned int i;
    uint64_t one = 1;
    int rc;

    if (!d->device_id || !d->lost)
        return 0;
    what = "connecting";
    rc = vhu_connect(&d->vhu, d->path, 50);
    if (rc == 0) {
        what = "giving it guest RAM";
        rc = give_ram(d);
    }
    if (rc == 0 && (d->status & S_FEATURES_OK)) {
        what = "giving it the features";
        rc = vhu_set_features(&d->vhu, d->drv_features & d->vhu.features);
    }
    for (i = 0; rc == 0 && i < d->nqueues; i++) {
        volatile uint16_t *used_idx;

        q = &d->q[i];
        if (q->kick_fd < 0)
            continue;
        what = "restarting a ring";
        used_idx = (volatile uint16_t *)(uintptr_t)to_hva(d, q->device + 2,
                                                           2);
        rc = vhu_queue_resume(&d->vhu, i, q->num, used_idx ? *used_idx : 0,
                              to_hva(d, q->desc, 16ULL * q->num),
                              to_hva(d, q->driver, 6 + 2ULL * q->num),
                              to_hva(d, q->device, 6 + 8ULL * q->num),
                              q->kick_fd, d->call_fd);
    }
    if (rc < 0) {
        snprintf(err, errlen, "virtio-mmio %#llx: backend %s: %s: %s",
                 (unsigned long long)d->base, d->path, what, d->vhu.err);
        vhu_close(&d->vhu);
        return rc;
    }
    d->lost = 0;
    /* what the guest queued meanwhile */
    for (i = 0; i < d->nqueues; i++)
        if (d->q[i].kick_fd >= 0 &&
            write(d->q[i].kick_fd, &one, sizeof(one)) < 0)
            d->status |= S_NEEDS_RESET;
    return 0;
}
