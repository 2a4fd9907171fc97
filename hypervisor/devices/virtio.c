/*
 * virtio.c - a virtio device served by a vhost-user backend, whatever
 * its transport (see virtio.h; bits from the virtio 1.x specification).
 */
#include "virtio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define F_INDIRECT_DESC    (1ULL << 28)
#define F_EVENT_IDX        (1ULL << 29)

/* Device bits passed on: no control queue, one queue (pair), split
 * rings only. */
#define NET_F_MAC          (1ULL << 5)
#define NET_F_STATUS       (1ULL << 16)
#define NET_FEATURES       (0xff83ULL | NET_F_MAC | NET_F_STATUS)
#define BLK_FEATURES       ((1ULL << 1) | (1ULL << 2) | (1ULL << 4) | \
                            (1ULL << 5) | (1ULL << 6) | (1ULL << 9) | \
                            (1ULL << 10) | (1ULL << 13) | (1ULL << 14))
#define COMMON_FEATURES    (VIRTIO_F_VERSION_1 | F_INDIRECT_DESC | \
                            F_EVENT_IDX)

/* virtio_blk_config up to and including write_zeroes_may_unmap */
#define BLK_CONFIG_LEN     57

static void set_lo(uint64_t *v, uint32_t lo)
{
    *v = (*v & ~0xffffffffULL) | lo;
}

static void set_hi(uint64_t *v, uint32_t hi)
{
    *v = (*v & 0xffffffffULL) | ((uint64_t)hi << 32);
}

/* Where this process sees [gpa, gpa + len) of guest RAM; 0 if nowhere. */
static uint64_t to_hva(const struct virtio_dev *vd, uint64_t gpa,
                       uint64_t len)
{
    const struct dev_ram *r;
    unsigned int n, i;

    r = vd->host->ram(vd->host->opaque, &n);
    for (i = 0; i < n; i++)
        if (gpa >= r[i].gpa && len <= r[i].size &&
            gpa - r[i].gpa <= r[i].size - len)
            return (uint64_t)(uintptr_t)(r[i].hva + (gpa - r[i].gpa));
    return 0;
}

/* What the backend is to hear in SET_FEATURES: the driver's bits it
 * serves, and dirty logging while a migration runs. */
static uint64_t backend_features(const struct virtio_dev *vd)
{
    return (vd->drv_features & vd->vhu.features) |
           (vd->log_fd >= 0 ? 1ULL << VHU_F_LOG_ALL : 0);
}

void virtio_init(struct virtio_dev *vd, const struct dev_host *host,
                 const struct virtio_transport *tr, void *opaque,
                 const char *name)
{
    unsigned int i;

    memset(vd, 0, sizeof(*vd));
    vd->host = host;
    vd->tr = tr;
    vd->opaque = opaque;
    snprintf(vd->name, sizeof(vd->name), "%s", name);
    for (i = 0; i < VIRTIO_QUEUES; i++) {
        vd->q[i].kick_fd = -1;
        vd->q[i].num = VIRTIO_QUEUE_MAX;
    }
    vd->log_fd = -1;
    vhu_init(&vd->vhu);
}

static void queue_stop(struct virtio_dev *vd, unsigned int idx)
{
    struct virtio_queue *q = &vd->q[idx];

    if (q->kick_fd < 0)
        return;
    if (!vd->lost)
        vhu_queue_stop(&vd->vhu, idx, NULL);
    vd->tr->kick(vd, idx, q->kick_fd, 0);
    close(q->kick_fd);
    q->kick_fd = -1;
}

int virtio_queue_enable(struct virtio_dev *vd, unsigned int idx)
{
    struct virtio_queue *q;
    uint64_t desc, avail, used;
    int rc;

    if (idx >= vd->nqueues)
        return -EINVAL;
    q = &vd->q[idx];
    if (q->ready)
        return 0;
    rc = -EINVAL;
    if (q->num == 0 || q->num > VIRTIO_QUEUE_MAX || (q->num & (q->num - 1)))
        goto fail;
    desc = to_hva(vd, q->desc, 16ULL * q->num);
    avail = to_hva(vd, q->driver, 6 + 2ULL * q->num);
    used = to_hva(vd, q->device, 6 + 8ULL * q->num);
    rc = -EFAULT;
    if (!desc || !avail || !used)
        goto fail;
    q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->kick_fd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = vd->tr->kick(vd, idx, q->kick_fd, 1);
    /* a backend that is away gets the ring when it is back
     * (virtio_reconnect resumes every ring with a kick fd) */
    if (rc == 0 && !vd->lost) {
        rc = vhu_queue_start(&vd->vhu, idx, q->num, desc, avail, used,
                             q->kick_fd, vd->tr->call_fd(vd, idx));
        if (rc < 0)
            vd->tr->kick(vd, idx, q->kick_fd, 0);
    }
    if (rc < 0) {
        close(q->kick_fd);
        q->kick_fd = -1;
        goto fail;
    }
    q->ready = 1;
    return 0;

fail:
    vd->status |= VIRTIO_S_NEEDS_RESET;
    return rc;
}

void virtio_queue_disable(struct virtio_dev *vd, unsigned int idx)
{
    if (idx >= vd->nqueues || !vd->q[idx].ready)
        return;
    queue_stop(vd, idx);
    vd->q[idx].ready = 0;
}

void virtio_queue_notify(struct virtio_dev *vd, unsigned int idx)
{
    uint64_t one = 1;

    if (idx < vd->nqueues && vd->q[idx].kick_fd >= 0 &&
        write(vd->q[idx].kick_fd, &one, sizeof(one)) < 0)
        vd->status |= VIRTIO_S_NEEDS_RESET;
}

void virtio_reset(struct virtio_dev *vd)
{
    unsigned int i;

    for (i = 0; i < VIRTIO_QUEUES; i++) {
        queue_stop(vd, i);
        memset(&vd->q[i], 0, sizeof(vd->q[i]));
        vd->q[i].kick_fd = -1;
        vd->q[i].num = VIRTIO_QUEUE_MAX;
    }
    vd->drv_features = 0;
    vd->status = 0;
    vd->int_config = 0;
    vd->config_news = 0;           /* a new driver reads it afresh */
}

void virtio_set_status(struct virtio_dev *vd, uint32_t v)
{
    uint32_t was = vd->status;

    if (v == 0) {
        virtio_reset(vd);
        return;
    }
    /* NEEDS_RESET is the device's to set: it stays until the reset */
    vd->status = (v & 0xff) | (was & VIRTIO_S_NEEDS_RESET);
    if ((v & VIRTIO_S_FEATURES_OK) && !(was & VIRTIO_S_FEATURES_OK)) {
        /* only what was offered, and a modern driver; the backend
         * hears of its own bits (a NIC's MAC and link status are
         * ours); a backend that is away hears of them when it is back
         * (virtio_reconnect) */
        if ((vd->drv_features & ~vd->dev_features) ||
            !(vd->drv_features & VIRTIO_F_VERSION_1) ||
            (!vd->lost && vhu_set_features(&vd->vhu,
                                           backend_features(vd)) < 0))
            vd->status &= ~VIRTIO_S_FEATURES_OK;
    }
}

void virtio_set_driver_features(struct virtio_dev *vd, uint32_t sel,
                                uint32_t v)
{
    /* fixed once accepted: the backend has them */
    if (vd->status & VIRTIO_S_FEATURES_OK)
        return;
    if (sel == 0)
        set_lo(&vd->drv_features, v);
    else if (sel == 1)
        set_hi(&vd->drv_features, v);
}

uint32_t virtio_device_features(const struct virtio_dev *vd, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(vd->dev_features >> (32 * sel)) : 0;
}

/*
 * Reads the backend's config space again: 1 when it changed (the
 * generation moves on and config_news is set, as the guest has not been
 * interrupted for it yet), 0 when not, or vhu_get_config's -errno.
 */
static int refresh_config(struct virtio_dev *vd)
{
    uint8_t buf[VIRTIO_CONFIG_MAX];
    int rc;

    if (!vd->config_remote || vd->lost)
        return 0;
    rc = vhu_get_config(&vd->vhu, 0, buf, vd->config_len);
    if (rc < 0)
        return rc;
    if (!memcmp(buf, vd->config, vd->config_len))
        return 0;
    memcpy(vd->config, buf, vd->config_len);
    vd->config_gen++;
    vd->config_news = 1;
    return 1;
}

void virtio_config_read(struct virtio_dev *vd, uint64_t off, uint8_t *data,
                        unsigned int size)
{
    if (off == 0)
        (void)refresh_config(vd);  /* a failure keeps what we had */
    memset(data, 0, size);
    if (off < vd->config_len)
        memcpy(data, vd->config + off,
               size < vd->config_len - off ? size : vd->config_len - off);
}

void virtio_note_lost(struct virtio_dev *vd)
{
    if (vd->device_id && !vd->lost && vd->vhu.fd < 0)
        vd->lost = 1;
}

/* Guest RAM as the backend is to map it. */
static int give_ram(struct virtio_dev *vd)
{
    struct vhu_region reg[VHU_MAX_REGIONS];
    const struct dev_ram *r;
    unsigned int n, i;

    r = vd->host->ram(vd->host->opaque, &n);
    if (n > VHU_MAX_REGIONS) {
        snprintf(vd->vhu.err, sizeof(vd->vhu.err),
                 "guest RAM is %u pieces, the protocol takes %u", n,
                 VHU_MAX_REGIONS);
        return -E2BIG;
    }
    for (i = 0; i < n; i++) {
        reg[i].gpa = r[i].gpa;
        reg[i].size = r[i].size;
        reg[i].hva = (uint64_t)(uintptr_t)r[i].hva;
        reg[i].fd = r[i].fd;
        reg[i].fd_offset = r[i].fd_offset;
    }
    return vhu_set_mem_table(&vd->vhu, reg, n);
}

int virtio_plug(struct virtio_dev *vd, uint32_t device_id, const char *path,
                const uint8_t *mac, char *err, size_t errlen)
{
    const char *what;
    int rc;

    if (vd->device_id) {
        snprintf(err, errlen, "%s is taken", vd->name);
        return -EBUSY;
    }
    if (device_id != VIRTIO_ID_BLOCK && device_id != VIRTIO_ID_NET) {
        snprintf(err, errlen, "%s: virtio device id %u is not served",
                 vd->name, device_id);
        return -EINVAL;
    }
    if (device_id == VIRTIO_ID_NET && !mac) {
        snprintf(err, errlen, "%s: a network device needs a MAC address",
                 vd->name);
        return -EINVAL;
    }
    virtio_reset(vd);
    vd->lost = 0;
    snprintf(vd->path, sizeof(vd->path), "%s", path);
    what = "connecting";
    rc = vhu_connect(&vd->vhu, path, 5000);
    if (rc < 0)
        goto fail;
    what = "giving it guest RAM";
    rc = give_ram(vd);
    if (rc < 0)
        goto fail;
    /* a network backend counts queue pairs */
    vd->nqueues = device_id == VIRTIO_ID_NET ? 2 : 1;
    what = "counting its queues";
    if (vd->vhu.max_queues < 1) {
        rc = -EPROTO;
        snprintf(vd->vhu.err, sizeof(vd->vhu.err), "it serves no queue");
        goto fail;
    }
    vd->be_features = vd->vhu.features;
    if (device_id == VIRTIO_ID_BLOCK) {
        what = "reading its config space";
        vd->dev_features = vd->vhu.features &
                           (BLK_FEATURES | COMMON_FEATURES);
        vd->config_len = BLK_CONFIG_LEN;
        rc = vhu_get_config(&vd->vhu, 0, vd->config, vd->config_len);
        if (rc < 0)
            goto fail;
        vd->config_remote = 1;
    } else {
        vd->dev_features = (vd->vhu.features &
                            (NET_FEATURES | COMMON_FEATURES)) |
                           NET_F_MAC | NET_F_STATUS;
        memcpy(vd->config, mac, 6);
        vd->config[6] = 1;         /* VIRTIO_NET_S_LINK_UP */
        vd->config_len = 8;
    }
    what = "checking its features";
    if (!(vd->dev_features & VIRTIO_F_VERSION_1)) {
        rc = -EPROTO;
        snprintf(vd->vhu.err, sizeof(vd->vhu.err),
                 "it does not offer VIRTIO_F_VERSION_1");
        goto fail;
    }
    vd->device_id = device_id;
    return 0;

fail:
    snprintf(err, errlen, "%s: backend %s: %s: %s", vd->name, path, what,
             vd->vhu.err);
    vhu_close(&vd->vhu);
    vd->nqueues = 0;
    vd->dev_features = 0;
    vd->config_len = 0;
    vd->config_remote = 0;
    return rc;
}

void virtio_unplug(struct virtio_dev *vd)
{
    if (!vd->device_id)
        return;
    virtio_reset(vd);
    vhu_close(&vd->vhu);
    if (vd->log_fd >= 0)
        close(vd->log_fd);
    vd->log_fd = -1;
    vd->quiesced = 0;
    vd->lost = 0;
    vd->device_id = 0;
    vd->nqueues = 0;
    vd->dev_features = 0;
    vd->config_len = 0;
    vd->config_remote = 0;
}

int virtio_fd(const struct virtio_dev *vd)
{
    return vd->device_id && !vd->lost ? vd->vhu.fd : -1;
}

void virtio_lost(struct virtio_dev *vd)
{
    vhu_close(&vd->vhu);
    vd->lost = 1;
}

int virtio_backend_fd(const struct virtio_dev *vd)
{
    return vd->device_id && !vd->lost ? vd->vhu.req_fd : -1;
}

int virtio_backend_event(struct virtio_dev *vd, char *err, size_t errlen)
{
    const char *what;
    uint32_t req;
    int rc;

    what = "reading its channel";
    rc = vhu_backend_message(&vd->vhu, &req);
    if (rc == -EAGAIN)
        return 0;                  /* woken for nothing */
    if (rc < 0)
        goto fail;
    /* a network device's config space is ours: the backend has no say */
    if (req != VHU_BACKEND_CONFIG_CHANGE_MSG || !vd->config_remote)
        return 0;
    what = "reading its changed config space";
    rc = refresh_config(vd);
    if (rc < 0) {
        /* a socket that broke under GET_CONFIG is a backend gone: the
         * owner's reconnect takes over, as after a hang-up */
        if (vd->vhu.fd < 0)
            virtio_lost(vd);
        goto fail;
    }
    /*
     * No change is still news when a guest read of the config space got
     * there first (between the backend's change and its message): the
     * driver then holds the new values without having been told.
     */
    if (!vd->config_news)
        return 0;
    vd->config_news = 0;
    vd->int_config = 1;
    what = "interrupting the guest";
    rc = vd->tr->config_irq(vd);
    if (rc < 0)
        goto fail;
    return 1;

fail:
    snprintf(err, errlen, "%s: backend %s: %s: %s", vd->name, vd->path,
             what, vd->vhu.err);
    return rc;
}

/*
 * Hands the backend every ring that has a kick fd, from the used index
 * in guest memory on: what the guest was told is done is where the
 * backend goes on (requests taken and not answered are taken again).
 */
static int resume_rings(struct virtio_dev *vd)
{
    struct virtio_queue *q;
    unsigned int i;
    int rc = 0;

    for (i = 0; rc == 0 && i < vd->nqueues; i++) {
        volatile uint16_t *used_idx;

        q = &vd->q[i];
        if (q->kick_fd < 0)
            continue;
        used_idx = (volatile uint16_t *)(uintptr_t)to_hva(vd, q->device + 2,
                                                           2);
        rc = vhu_queue_resume(&vd->vhu, i, q->num, used_idx ? *used_idx : 0,
                              to_hva(vd, q->desc, 16ULL * q->num),
                              to_hva(vd, q->driver, 6 + 2ULL * q->num),
                              to_hva(vd, q->device, 6 + 8ULL * q->num),
                              q->kick_fd, vd->tr->call_fd(vd, i));
    }
    return rc;
}

int virtio_reconnect(struct virtio_dev *vd, char *err, size_t errlen)
{
    const char *what;
    unsigned int i;
    int rc;

    if (!vd->device_id || !vd->lost)
        return 0;
    what = "connecting";
    rc = vhu_connect(&vd->vhu, vd->path, 50);
    if (rc == 0) {
        what = "giving it guest RAM";
        rc = give_ram(vd);
    }
    if (rc == 0 && (vd->status & VIRTIO_S_FEATURES_OK)) {
        /* a backend that came back without what the driver accepted
         * (another build, other options) would serve the rings the
         * driver set up under other rules: it is not taken, and the
         * slot tries again */
        uint64_t missing = vd->drv_features & vd->be_features &
                           ~vd->vhu.features;

        what = "checking its features";
        if (missing) {
            rc = -EPROTO;
            snprintf(vd->vhu.err, sizeof(vd->vhu.err), "it no longer "
                     "offers features %#llx that the driver accepted",
                     (unsigned long long)missing);
        }
    }
    if (rc == 0 && vd->log_fd >= 0) {
        what = "giving it the dirty log";
        rc = vhu_set_log_base(&vd->vhu, vd->log_fd, vd->log_size);
    }
    if (rc == 0 && (vd->status & VIRTIO_S_FEATURES_OK)) {
        what = "giving it the features";
        rc = vhu_set_features(&vd->vhu, backend_features(vd));
    }
    if (rc == 0 && !vd->quiesced) {
        what = "restarting a ring";
        rc = resume_rings(vd);
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: backend %s: %s: %s", vd->name, vd->path,
                 what, vd->vhu.err);
        vhu_close(&vd->vhu);
        return rc;
    }
    vd->lost = 0;
    /* what the guest queued meanwhile */
    for (i = 0; i < vd->nqueues; i++)
        virtio_queue_notify(vd, i);
    return 0;
}

/* ------------------------------------------------------- migration */

int virtio_log(struct virtio_dev *vd, int fd, uint64_t size, char *err,
               size_t errlen)
{
    const char *what = "";
    int rc = 0;

    if (!vd->device_id)
        return 0;
    if (fd >= 0 && !vhu_can_log(&vd->vhu) && !vd->lost) {
        snprintf(err, errlen, "%s: backend %s does not log the pages it "
                 "writes (VHOST_F_LOG_ALL with LOG_SHMFD): the device "
                 "cannot move while the guest runs", vd->name, vd->path);
        return -ENOTSUP;
    }
    if (vd->log_fd >= 0)
        close(vd->log_fd);
    vd->log_fd = -1;
    if (fd >= 0) {
        vd->log_fd = dup(fd);
        if (vd->log_fd < 0) {
            snprintf(err, errlen, "%s: dup: %s", vd->name, strerror(errno));
            return -errno;
        }
        vd->log_size = size;
    }
    if (vd->lost)
        return 0;                  /* the reconnect says it */
    if (fd >= 0) {
        what = "giving it the dirty log";
        rc = vhu_set_log_base(&vd->vhu, fd, size);
    }
    if (rc == 0 && (vd->status & VIRTIO_S_FEATURES_OK)) {
        what = fd >= 0 ? "turning its dirty logging on" :
                         "turning its dirty logging off";
        rc = vhu_set_features(&vd->vhu, backend_features(vd));
    }
    if (rc < 0)
        snprintf(err, errlen, "%s: backend %s: %s: %s", vd->name, vd->path,
                 what, vd->vhu.err);
    return rc;
}

void virtio_quiesce(struct virtio_dev *vd)
{
    unsigned int i;

    if (!vd->device_id || vd->quiesced)
        return;
    vd->quiesced = 1;
    for (i = 0; i < vd->nqueues && !vd->lost; i++)
        if (vd->q[i].kick_fd >= 0 &&
            vhu_queue_stop(&vd->vhu, i, NULL) < 0 && vd->vhu.fd < 0)
            vd->lost = 1;
}

int virtio_unquiesce(struct virtio_dev *vd, char *err, size_t errlen)
{
    unsigned int i;
    int rc;

    if (!vd->quiesced)
        return 0;
    vd->quiesced = 0;
    if (vd->lost)
        return 0;                  /* the reconnect resumes them */
    rc = resume_rings(vd);
    if (rc < 0) {
        snprintf(err, errlen, "%s: backend %s: restarting a ring: %s",
                 vd->name, vd->path, vd->vhu.err);
        return rc;
    }
    for (i = 0; i < vd->nqueues; i++)
        virtio_queue_notify(vd, i);
    return 0;
}

void virtio_save(const struct virtio_dev *vd, struct virtio_state *st)
{
    unsigned int i;

    memset(st, 0, sizeof(*st));
    st->device_id = vd->device_id;
    st->nqueues = vd->nqueues;
    st->drv_features = vd->drv_features;
    st->status = vd->status;
    st->config_gen = vd->config_gen;
    st->int_config = vd->int_config;
    for (i = 0; i < VIRTIO_QUEUES; i++) {
        st->q[i].num = vd->q[i].num;
        st->q[i].ready = vd->q[i].ready;
        st->q[i].desc = vd->q[i].desc;
        st->q[i].driver = vd->q[i].driver;
        st->q[i].device = vd->q[i].device;
    }
}

int virtio_load(struct virtio_dev *vd, const struct virtio_state *st,
                char *err, size_t errlen)
{
    struct virtio_queue *q;
    const char *what;
    unsigned int i;
    int rc;

    if (st->device_id != vd->device_id || st->nqueues != vd->nqueues) {
        snprintf(err, errlen, "%s: the saved device is virtio device %u "
                 "with %u queues, this one %u with %u", vd->name,
                 st->device_id, st->nqueues, vd->device_id, vd->nqueues);
        return -EINVAL;
    }
    if ((st->status & VIRTIO_S_FEATURES_OK) &&
        (st->drv_features & ~vd->dev_features)) {
        snprintf(err, errlen, "%s: backend %s does not offer features "
                 "%#llx that the guest's driver uses", vd->name, vd->path,
                 (unsigned long long)(st->drv_features & ~vd->dev_features));
        return -EINVAL;
    }
    for (i = 0; i < vd->nqueues; i++)
        if (st->q[i].ready &&
            (!st->q[i].num || st->q[i].num > VIRTIO_QUEUE_MAX ||
             (st->q[i].num & (st->q[i].num - 1)))) {
            snprintf(err, errlen, "%s: queue %u has %u entries", vd->name,
                     i, st->q[i].num);
            return -EINVAL;
        }
    virtio_reset(vd);
    vd->drv_features = st->drv_features;
    vd->status = st->status & 0xff;
    vd->config_gen = st->config_gen;
    vd->int_config = st->int_config & 1;
    what = "giving it the features";
    rc = 0;
    if (vd->status & VIRTIO_S_FEATURES_OK)
        rc = vhu_set_features(&vd->vhu, backend_features(vd));
    for (i = 0; rc == 0 && i < vd->nqueues; i++) {
        q = &vd->q[i];
        q->num = st->q[i].num;
        q->desc = st->q[i].desc;
        q->driver = st->q[i].driver;
        q->device = st->q[i].device;
        if (!st->q[i].ready)
            continue;
        what = "finding a ring in guest memory";
        if (!to_hva(vd, q->desc, 16ULL * q->num) ||
            !to_hva(vd, q->driver, 6 + 2ULL * q->num) ||
            !to_hva(vd, q->device, 6 + 8ULL * q->num)) {
            rc = -EFAULT;
            snprintf(vd->vhu.err, sizeof(vd->vhu.err), "queue %u's rings "
                     "are not in guest RAM", i);
            break;
        }
        what = "wiring a ring's kick";
        q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->kick_fd < 0) {
            rc = -errno;
            snprintf(vd->vhu.err, sizeof(vd->vhu.err), "eventfd: %s",
                     strerror(errno));
            break;
        }
        rc = vd->tr->kick(vd, i, q->kick_fd, 1);
        if (rc < 0) {
            snprintf(vd->vhu.err, sizeof(vd->vhu.err), "%s",
                     strerror(-rc));
            close(q->kick_fd);
            q->kick_fd = -1;
            break;
        }
        q->ready = 1;
    }
    if (rc == 0) {
        what = "restarting a ring";
        rc = resume_rings(vd);
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: backend %s: %s: %s", vd->name, vd->path,
                 what, vd->vhu.err);
        virtio_reset(vd);
        return rc;
    }
    for (i = 0; i < vd->nqueues; i++)
        virtio_queue_notify(vd, i);
    return 0;
}
