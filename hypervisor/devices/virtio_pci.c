/*
 * virtio_pci.c - virtio devices in PCI slots, served by vhost-user
 * backends (see virtio_pci.h; layouts from the virtio 1.x
 * specification, 4.1, and the PCI specification's MSI-X capability).
 */
#include "virtio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* struct virtio_pci_common_cfg */
#define C_DFSELECT         0x00
#define C_DF               0x04
#define C_GFSELECT         0x08
#define C_GF               0x0c
#define C_MSIX             0x10
#define C_NUMQ             0x12
#define C_STATUS           0x14
#define C_CFGGEN           0x15
#define C_Q_SELECT         0x16
#define C_Q_SIZE           0x18
#define C_Q_MSIX           0x1a
#define C_Q_ENABLE         0x1c
#define C_Q_NOFF           0x1e
#define C_Q_DESCLO         0x20
#define C_Q_DESCHI         0x24
#define C_Q_AVAILLO        0x28
#define C_Q_AVAILHI        0x2c
#define C_Q_USEDLO         0x30
#define C_Q_USEDHI         0x34
#define COMMON_LEN         0x38      /* what the capability announces */
#define COMMON_IMAGE       0x40      /* up to queue_reset, and padding */

/* struct virtio_pci_cap: cfg_type */
#define CAP_COMMON         1
#define CAP_NOTIFY         2
#define CAP_ISR            3
#define CAP_DEVICE         4

#define ISR_CONFIG         0x2u

/* The MSI-X capability and table. */
#define MSIX_CTRL          2         /* message control, in the cap */
#define MSIX_CTRL_ENABLE   0x8000u
#define MSIX_CTRL_MASKALL  0x4000u
#define MSIX_ENTRY_CTRL    12        /* vector control, in an entry */
#define MSIX_ENTRY_MASKED  0x1u

static const struct {
    unsigned int off, len;
} fields[] = {
    { C_DFSELECT, 4 }, { C_DF, 4 }, { C_GFSELECT, 4 }, { C_GF, 4 },
    { C_MSIX, 2 }, { C_NUMQ, 2 }, { C_STATUS, 1 }, { C_CFGGEN, 1 },
    { C_Q_SELECT, 2 }, { C_Q_SIZE, 2 }, { C_Q_MSIX, 2 }, { C_Q_ENABLE, 2 },
    { C_Q_NOFF, 2 }, { C_Q_DESCLO, 4 }, { C_Q_DESCHI, 4 },
    { C_Q_AVAILLO, 4 }, { C_Q_AVAILHI, 4 }, { C_Q_USEDLO, 4 },
    { C_Q_USEDHI, 4 },
};

static uint32_t le_get(const uint8_t *p, unsigned int len)
{
    uint32_t v = 0;

    while (len--)
        v = v << 8 | p[len];
    return v;
}

static void le_put(uint8_t *p, unsigned int len, uint64_t v)
{
    unsigned int i;

    for (i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void set_lo(uint64_t *v, uint32_t lo)
{
    *v = (*v & ~0xffffffffULL) | lo;
}

static void set_hi(uint64_t *v, uint32_t hi)
{
    *v = (*v & 0xffffffffULL) | ((uint64_t)hi << 32);
}

static struct vpci *of_vd(struct virtio_dev *vd)
{
    return vd->opaque;
}

/* ---- what the virtio device asks of its transport ---- */

static int notify_wire(struct vpci *d, uint64_t bar, unsigned int idx,
                       int fd, int assign)
{
    return d->host->ioeventfd(d->host->opaque,
                              bar + VPCI_NOTIFY + VPCI_NOTIFY_MULT * idx, 2,
                              idx, fd, assign);
}

static int tr_kick(struct virtio_dev *vd, unsigned int idx, int fd,
                   int assign)
{
    struct vpci *d = of_vd(vd);

    /* not decoding: wired when the BAR is (bar_moved) */
    return d->bar ? notify_wire(d, d->bar, idx, fd, assign) : 0;
}

static int tr_call_fd(struct virtio_dev *vd, unsigned int idx)
{
    struct vpci *d = of_vd(vd);
    uint16_t v = idx < VIRTIO_QUEUES ? d->queue_vector[idx] : VPCI_NO_VECTOR;

    return v < VPCI_VECTORS ? d->vec[v].fd : -1;
}

static int tr_config_irq(struct virtio_dev *vd)
{
    struct vpci *d = of_vd(vd);
    uint64_t one = 1;

    if (d->msix_config >= VPCI_VECTORS)
        return 0;                  /* the driver wanted no interrupt */
    if (write(d->vec[d->msix_config].fd, &one, sizeof(one)) < 0) {
        int rc = -errno;

        snprintf(vd->vhu.err, sizeof(vd->vhu.err),
                 "eventfd write of MSI-X vector %u: %s", d->msix_config,
                 strerror(errno));
        return rc;
    }
    return 0;
}

static const struct virtio_transport vpci_transport = {
    .kick = tr_kick,
    .call_fd = tr_call_fd,
    .config_irq = tr_config_irq,
};

/* ---- MSI-X ---- */

/*
 * Bring vector v's route and irqfd in line with the table and the
 * capability: fed while MSI-X is on and neither the function nor the
 * vector is masked; a failure sets NEEDS_RESET, the guest's only way to
 * hear of it.
 */
static void vector_update(struct vpci *d, unsigned int v)
{
    struct vpci_vector *x = &d->vec[v];
    const uint8_t *e = d->msix_table + 16 * v;
    uint16_t ctrl = pci_get16(&d->fn, d->msix_cap + MSIX_CTRL);
    uint64_t addr = le_get(e, 4) | (uint64_t)le_get(e + 4, 4) << 32;
    uint32_t data = le_get(e + 8, 4);
    unsigned int gsi = PCI_MSI_GSI(d->slot, v);
    uint64_t one = 1;
    int want;

    if (x->fd < 0)
        return;
    want = (ctrl & MSIX_CTRL_ENABLE) && !(ctrl & MSIX_CTRL_MASKALL) &&
           !(e[MSIX_ENTRY_CTRL] & MSIX_ENTRY_MASKED) && addr;
    if (want && (!x->routed || x->addr != addr || x->data != data)) {
        if (d->host->msi_route(d->host->opaque, gsi, addr, data, 1) < 0) {
            d->vd.status |= VIRTIO_S_NEEDS_RESET;
            want = 0;
        } else {
            x->routed = 1;
            x->addr = addr;
            x->data = data;
        }
    }
    if (want && !x->irqfd) {
        if (d->host->irqfd(d->host->opaque, gsi, x->fd, 1) < 0) {
            d->vd.status |= VIRTIO_S_NEEDS_RESET;
            return;
        }
        x->irqfd = 1;
        /* whatever came while it was masked */
        if (write(x->fd, &one, sizeof(one)) < 0)
            d->vd.status |= VIRTIO_S_NEEDS_RESET;
    } else if (!want && x->irqfd) {
        d->host->irqfd(d->host->opaque, gsi, x->fd, 0);
        x->irqfd = 0;
    }
}

static void vectors_update(struct vpci *d)
{
    unsigned int v;

    for (v = 0; v < VPCI_VECTORS; v++)
        vector_update(d, v);
}

/* Every vector off the guest's interrupts, its eventfd closed. */
static void vectors_down(struct vpci *d)
{
    struct vpci_vector *x;
    unsigned int v, gsi;

    for (v = 0; v < VPCI_VECTORS; v++) {
        x = &d->vec[v];
        gsi = PCI_MSI_GSI(d->slot, v);
        if (x->irqfd)
            d->host->irqfd(d->host->opaque, gsi, x->fd, 0);
        if (x->routed)
            d->host->msi_route(d->host->opaque, gsi, 0, 0, 0);
        if (x->fd >= 0)
            close(x->fd);
        memset(x, 0, sizeof(*x));
        x->fd = -1;
    }
}

/* ---- the common config ---- */

static void common_image(struct vpci *d, uint8_t *img)
{
    struct virtio_dev *vd = &d->vd;
    struct virtio_queue *q = d->queue_sel < vd->nqueues ?
                                 &vd->q[d->queue_sel] : NULL;

    memset(img, 0, COMMON_IMAGE);
    le_put(img + C_DFSELECT, 4, d->dev_features_sel);
    le_put(img + C_DF, 4, virtio_device_features(vd, d->dev_features_sel));
    le_put(img + C_GFSELECT, 4, d->drv_features_sel);
    if (d->drv_features_sel < 2)
        le_put(img + C_GF, 4,
               vd->drv_features >> (32 * d->drv_features_sel));
    le_put(img + C_MSIX, 2, d->msix_config);
    le_put(img + C_NUMQ, 2, vd->nqueues);
    img[C_STATUS] = (uint8_t)vd->status;
    img[C_CFGGEN] = (uint8_t)vd->config_gen;
    le_put(img + C_Q_SELECT, 2, d->queue_sel);
    le_put(img + C_Q_MSIX, 2, VPCI_NO_VECTOR);
    if (!q)
        return;                    /* no such queue: size 0 */
    le_put(img + C_Q_SIZE, 2, q->num);
    le_put(img + C_Q_MSIX, 2, d->queue_vector[d->queue_sel]);
    le_put(img + C_Q_ENABLE, 2, q->ready);
    le_put(img + C_Q_NOFF, 2, d->queue_sel);
    le_put(img + C_Q_DESCLO, 8, q->desc);
    le_put(img + C_Q_AVAILLO, 8, q->driver);
    le_put(img + C_Q_USEDLO, 8, q->device);
}

/* The transport's own state at a device reset. */
static void transport_reset(struct vpci *d)
{
    unsigned int i;

    d->dev_features_sel = 0;
    d->drv_features_sel = 0;
    d->queue_sel = 0;
    d->msix_config = VPCI_NO_VECTOR;
    for (i = 0; i < VIRTIO_QUEUES; i++)
        d->queue_vector[i] = VPCI_NO_VECTOR;
}

static uint16_t vector_or_none(uint32_t v)
{
    return v < VPCI_VECTORS ? (uint16_t)v : VPCI_NO_VECTOR;
}

/* The driver wrote field off (its new value v) of the common config. */
static void common_field(struct vpci *d, unsigned int off, uint32_t v)
{
    struct virtio_dev *vd = &d->vd;
    struct virtio_queue *q = d->queue_sel < vd->nqueues ?
                                 &vd->q[d->queue_sel] : NULL;

    switch (off) {
    case C_DFSELECT:
        d->dev_features_sel = v;
        return;
    case C_GFSELECT:
        d->drv_features_sel = v;
        return;
    case C_GF:
        virtio_set_driver_features(vd, d->drv_features_sel, v);
        return;
    case C_MSIX:
        d->msix_config = vector_or_none(v);
        return;
    case C_STATUS:
        virtio_set_status(vd, v);
        if (v == 0)
            transport_reset(d);
        return;
    case C_Q_SELECT:
        d->queue_sel = (uint16_t)v;
        return;
    default:
        break;
    }
    if (!q)
        return;
    switch (off) {
    case C_Q_MSIX:
        d->queue_vector[d->queue_sel] = vector_or_none(v);
        return;
    case C_Q_ENABLE:
        /* 1 only: a 0 is not the driver's to write (a reset is) */
        if (v == 1)
            virtio_queue_enable(vd, d->queue_sel);
        return;
    default:
        break;
    }
    if (q->ready)
        return;                    /* a live ring's layout is fixed */
    switch (off) {
    case C_Q_SIZE:
        q->num = v;
        break;
    case C_Q_DESCLO:
        set_lo(&q->desc, v);
        break;
    case C_Q_DESCHI:
        set_hi(&q->desc, v);
        break;
    case C_Q_AVAILLO:
        set_lo(&q->driver, v);
        break;
    case C_Q_AVAILHI:
        set_hi(&q->driver, v);
        break;
    case C_Q_USEDLO:
        set_lo(&q->device, v);
        break;
    case C_Q_USEDHI:
        set_hi(&q->device, v);
        break;
    default:
        break;                     /* read-only */
    }
}

static void common_write(struct vpci *d, uint64_t off, const uint8_t *data,
                         unsigned int size)
{
    uint8_t img[COMMON_IMAGE];
    unsigned int i, f;

    if (off >= COMMON_IMAGE)
        return;
    if (size > COMMON_IMAGE - off)
        size = (unsigned int)(COMMON_IMAGE - off);
    /* the bytes written over the fields as they are: a field written in
     * part keeps its other bytes */
    common_image(d, img);
    memcpy(img + off, data, size);
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        f = fields[i].off;
        if (f < off + size && off < f + fields[i].len)
            common_field(d, f, le_get(img + f, fields[i].len));
    }
}

/* ---- BAR 0 ---- */

static void bar_read(struct pci_func *fn, unsigned int bar, uint64_t off,
                     uint8_t *data, unsigned int size)
{
    struct vpci *d = fn->opaque;
    uint8_t img[COMMON_IMAGE];
    unsigned int n;

    (void)bar;
    memset(data, 0, size);
    if (off < VPCI_ISR) {
        if (off < COMMON_IMAGE) {
            common_image(d, img);
            n = (unsigned int)(COMMON_IMAGE - off);
            memcpy(data, img + off, size < n ? size : n);
        }
    } else if (off < VPCI_DEVICE) {
        if (off == VPCI_ISR) {
            data[0] = d->vd.int_config ? ISR_CONFIG : 0;
            d->vd.int_config = 0;  /* read to clear */
        }
    } else if (off < VPCI_NOTIFY) {
        virtio_config_read(&d->vd, off - VPCI_DEVICE, data, size);
    } else if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_PBA) {
        off -= VPCI_MSIX_TABLE;
        if (off < sizeof(d->msix_table)) {
            n = (unsigned int)(sizeof(d->msix_table) - off);
            memcpy(data, d->msix_table + off, size < n ? size : n);
        }
    }
    /* notify reads 0; so does the PBA: a signal that comes while its
     * vector is masked waits in the eventfd, where this cannot see it */
    virtio_note_lost(&d->vd);
}

static void table_write(struct vpci *d, uint64_t off, const uint8_t *data,
                        unsigned int size)
{
    unsigned int first, last, v;

    if (off >= sizeof(d->msix_table))
        return;
    if (size > sizeof(d->msix_table) - off)
        size = (unsigned int)(sizeof(d->msix_table) - off);
    memcpy(d->msix_table + off, data, size);
    first = (unsigned int)off / 16;
    last = ((unsigned int)off + size - 1) / 16;
    for (v = first; v <= last; v++)
        vector_update(d, v);
}

static void bar_write(struct pci_func *fn, unsigned int bar, uint64_t off,
                      const uint8_t *data, unsigned int size)
{
    struct vpci *d = fn->opaque;

    (void)bar;
    if (off < VPCI_ISR) {
        common_write(d, off, data, size);
    } else if (off >= VPCI_NOTIFY && off < VPCI_MSIX_TABLE) {
        /* KVM signals the kick itself; a write that exits here is a
         * queue whose kick is not wired (or another value than its
         * index) */
        virtio_queue_notify(&d->vd, (unsigned int)((off - VPCI_NOTIFY) /
                                                   VPCI_NOTIFY_MULT));
    } else if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_PBA) {
        table_write(d, off - VPCI_MSIX_TABLE, data, size);
    }
    /* ISR, device config (read-only here) and PBA: dropped */
    virtio_note_lost(&d->vd);
}

static void config_written(struct pci_func *fn, unsigned int off,
                           unsigned int size)
{
    struct vpci *d = fn->opaque;
    unsigned int ctrl = d->msix_cap + MSIX_CTRL;

    if (off < ctrl + 2 && ctrl < off + size)
        vectors_update(d);
}

static void bar_moved(struct pci_func *fn, unsigned int bar, uint64_t old,
                      uint64_t addr)
{
    struct vpci *d = fn->opaque;
    unsigned int i;
    int fd;

    if (bar != 0)
        return;
    d->bar = addr;
    for (i = 0; i < d->vd.nqueues; i++) {
        fd = d->vd.q[i].kick_fd;
        if (fd < 0)
            continue;
        if (old)
            notify_wire(d, old, i, fd, 0);
        if (addr && notify_wire(d, addr, i, fd, 1) < 0)
            d->vd.status |= VIRTIO_S_NEEDS_RESET;
    }
}

static const struct pci_func_ops vpci_func_ops = {
    .bar_read = bar_read,
    .bar_write = bar_write,
    .config_written = config_written,
    .bar_moved = bar_moved,
};

/* ---- the function ---- */

/* A virtio_pci_cap of cfg_type for [off, off + len) of BAR 0. */
static unsigned int add_vendor_cap(struct pci_func *fn, uint8_t type,
                                   uint32_t off, uint32_t len,
                                   unsigned int cap_len)
{
    unsigned int at = pci_func_add_cap(fn, PCI_CAP_ID_VNDR, cap_len);

    if (!at)
        return 0;
    pci_set8(fn, at + 2, (uint8_t)cap_len);
    pci_set8(fn, at + 3, type);
    pci_set8(fn, at + 4, 0);       /* BAR 0 */
    pci_set32(fn, at + 8, off);
    pci_set32(fn, at + 12, len);
    return at;
}

static void build_function(struct vpci *d, uint32_t device_id)
{
    struct pci_func *fn = &d->fn;
    unsigned int at;

    pci_func_init(fn, VPCI_VENDOR, (uint16_t)(VPCI_DEVICE_BASE + device_id),
                  device_id == VIRTIO_ID_BLOCK ? 0x010000 : 0x020000, 1,
                  &vpci_func_ops, d);
    pci_set16(fn, PCI_SUBSYS_VENDOR_ID, VPCI_VENDOR);
    pci_set16(fn, PCI_SUBSYS_ID, (uint16_t)device_id);
    pci_func_bar(fn, 0, VPCI_BAR_SIZE, (uint32_t)VPCI_BAR_ADDR(d->slot));
    add_vendor_cap(fn, CAP_COMMON, VPCI_COMMON, COMMON_LEN, 16);
    at = add_vendor_cap(fn, CAP_NOTIFY, VPCI_NOTIFY,
                        VPCI_MSIX_TABLE - VPCI_NOTIFY, 20);
    pci_set32(fn, at + 16, VPCI_NOTIFY_MULT);
    add_vendor_cap(fn, CAP_ISR, VPCI_ISR, 1, 16);
    add_vendor_cap(fn, CAP_DEVICE, VPCI_DEVICE, VPCI_NOTIFY - VPCI_DEVICE,
                   16);
    d->msix_cap = pci_func_add_cap(fn, PCI_CAP_ID_MSIX, 12);
    /* table size - 1; the guest sets enable and function mask */
    pci_set16(fn, d->msix_cap + MSIX_CTRL, VPCI_VECTORS - 1);
    fn->wmask[d->msix_cap + MSIX_CTRL + 1] =
        (uint8_t)((MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8);
    pci_set32(fn, d->msix_cap + 4, VPCI_MSIX_TABLE);     /* BIR 0 */
    pci_set32(fn, d->msix_cap + 8, VPCI_MSIX_PBA);       /* BIR 0 */
}

void vpci_init(struct vpci *d, const struct dev_host *host,
               struct pci_bus *pb, unsigned int slot)
{
    char name[48];
    unsigned int v;

    memset(d, 0, sizeof(*d));
    d->host = host;
    d->pb = pb;
    d->slot = slot;
    snprintf(name, sizeof(name), "virtio-pci slot %u", slot);
    virtio_init(&d->vd, host, &vpci_transport, d, name);
    for (v = 0; v < VPCI_VECTORS; v++)
        d->vec[v].fd = -1;
    transport_reset(d);
}

int vpci_plug(struct vpci *d, uint32_t device_id, const char *path,
              const uint8_t *mac, char *err, size_t errlen)
{
    unsigned int v;
    int rc;

    if (d->vd.device_id) {
        snprintf(err, errlen, "%s is taken", d->vd.name);
        return -EBUSY;
    }
    if (d->slot == 0 || d->slot >= PCI_SLOTS) {
        snprintf(err, errlen, "%s: PCI slots are 1 to %u", d->vd.name,
                 PCI_SLOTS - 1);
        return -EINVAL;
    }
    if (pci_bus_func(d->pb, d->slot)) {
        snprintf(err, errlen, "%s: another function holds the slot",
                 d->vd.name);
        return -EBUSY;
    }
    if (!d->host->msi_route || !d->host->irqfd || !d->host->ioeventfd) {
        snprintf(err, errlen, "%s: the domain cannot route MSIs or wire "
                 "eventfds", d->vd.name);
        return -ENOTSUP;
    }
    rc = virtio_plug(&d->vd, device_id, path, mac, err, errlen);
    if (rc < 0)
        return rc;
    for (v = 0; v < VPCI_VECTORS; v++) {
        d->vec[v].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->vec[v].fd < 0) {
            rc = -errno;
            snprintf(err, errlen, "%s: backend %s: making MSI-X vector "
                     "%u's eventfd: %s", d->vd.name, path, v,
                     strerror(errno));
            goto fail;
        }
    }
    transport_reset(d);
    d->bar = 0;
    memset(d->msix_table, 0, sizeof(d->msix_table));
    for (v = 0; v < VPCI_VECTORS; v++)
        d->msix_table[16 * v + MSIX_ENTRY_CTRL] = MSIX_ENTRY_MASKED;
    build_function(d, device_id);
    rc = pci_bus_insert(d->pb, d->slot, &d->fn);
    if (rc < 0) {
        snprintf(err, errlen, "%s: inserting it into the PCI bus: %s",
                 d->vd.name, strerror(-rc));
        goto fail;
    }
    return 0;

fail:
    vectors_down(d);
    virtio_unplug(&d->vd);
    return rc;
}

void vpci_unplug(struct vpci *d, int surprise)
{
    if (!d->vd.device_id)
        return;
    /* the BAR stops decoding first: the kicks come off KVM */
    pci_bus_remove(d->pb, d->slot, surprise);
    d->bar = 0;
    virtio_unplug(&d->vd);
    vectors_down(d);
    transport_reset(d);
}

int vpci_present(const struct vpci *d)
{
    return d->vd.device_id != 0;
}

int vpci_fd(const struct vpci *d)
{
    return virtio_fd(&d->vd);
}

void vpci_lost(struct vpci *d)
{
    virtio_lost(&d->vd);
}

int vpci_reconnect(struct vpci *d, char *err, size_t errlen)
{
    return virtio_reconnect(&d->vd, err, errlen);
}

int vpci_backend_fd(const struct vpci *d)
{
    return virtio_backend_fd(&d->vd);
}

int vpci_backend_event(struct vpci *d, char *err, size_t errlen)
{
    return virtio_backend_event(&d->vd, err, errlen);
}

/* ------------------------------------------------------- migration */

void vpci_save(const struct vpci *d, struct vpci_state *st)
{
    memset(st, 0, sizeof(*st));
    virtio_save(&d->vd, &st->vd);
    memcpy(st->cfg, d->fn.cfg, sizeof(st->cfg));
    memcpy(st->msix_table, d->msix_table, sizeof(st->msix_table));
    st->dev_features_sel = d->dev_features_sel;
    st->drv_features_sel = d->drv_features_sel;
    st->queue_sel = d->queue_sel;
    st->msix_config = d->msix_config;
    memcpy(st->queue_vector, d->queue_vector, sizeof(st->queue_vector));
}

int vpci_load(struct vpci *d, const struct vpci_state *st, char *err,
              size_t errlen)
{
    unsigned int i;

    if (!d->vd.device_id) {
        snprintf(err, errlen, "%s is empty: the saved domain had a virtio "
                 "device there", d->vd.name);
        return -EINVAL;
    }
    /* the table first: enabling MSI-X in the capability routes it */
    memcpy(d->msix_table, st->msix_table, sizeof(d->msix_table));
    d->dev_features_sel = st->dev_features_sel;
    d->drv_features_sel = st->drv_features_sel;
    d->queue_sel = st->queue_sel;
    d->msix_config = vector_or_none(st->msix_config);
    for (i = 0; i < VIRTIO_QUEUES; i++)
        d->queue_vector[i] = vector_or_none(st->queue_vector[i]);
    pci_func_load(&d->fn, st->cfg);
    return virtio_load(&d->vd, &st->vd, err, errlen);
}

int vpci_log(struct vpci *d, int fd, uint64_t size, char *err,
             size_t errlen)
{
    return virtio_log(&d->vd, fd, size, err, errlen);
}

void vpci_quiesce(struct vpci *d)
{
    virtio_quiesce(&d->vd);
}

int vpci_unquiesce(struct vpci *d, char *err, size_t errlen)
{
    return virtio_unquiesce(&d->vd, err, errlen);
}
