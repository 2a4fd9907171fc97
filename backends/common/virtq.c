/*
 * virtq.c - the split virtqueues (virtio 1.x, 2.7) in guest memory, as
 * the device sees them: chains taken from the available ring, returned
 * through the used ring, and the two notification schemes (the flags,
 * or VIRTIO_RING_F_EVENT_IDX's event indexes).
 *
 * The guest writes the rings while we read them: every index and
 * descriptor field is read once into a local and checked before use,
 * so what a guest changes under us can break only its own traffic.
 */
#include "virtq.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <unistd.h>

static uint16_t load16(volatile uint16_t *p)
{
    return le16toh(*p);
}

static void store16(volatile uint16_t *p, uint16_t v)
{
    *p = htole16(v);
}

/* The guest's used_event (after the avail ring) and our avail_event
 * (after the used ring), with VIRTIO_RING_F_EVENT_IDX. */
static volatile uint16_t *used_event(const struct virtq *vq)
{
    return &vq->avail->ring[vq->num];
}

static volatile uint16_t *avail_event(const struct virtq *vq)
{
    return (volatile uint16_t *)&vq->used->ring[vq->num];
}

/* Where [uva, uva + len) of the frontend's memory is here; NULL when it
 * is not inside one region. */
static uint8_t *map_uva(const struct vu_mem *mem, uint64_t uva, uint64_t len)
{
    const struct vu_region *r;
    unsigned int i;

    for (i = 0; i < mem->nr; i++) {
        r = &mem->r[i];
        if (uva >= r->uva && uva - r->uva < r->size &&
            len <= r->size - (uva - r->uva))
            return r->host + (uva - r->uva);
    }
    return NULL;
}

int virtq_remap(struct virtq *vq, const struct vu_mem *mem, char *err,
                size_t errlen)
{
    uint64_t n = vq->num;
    uint8_t *desc, *avail, *used;

    /* The ring's alignment rules (2.7): a misaligned ring is a broken
     * driver, and would make our 16- and 32-bit accesses split. */
    if (vq->desc_uva % 16 || vq->avail_uva % 2 || vq->used_uva % 4) {
        snprintf(err, errlen, "misaligned ring (descriptors 0x%llx, "
                 "avail 0x%llx, used 0x%llx)",
                 (unsigned long long)vq->desc_uva,
                 (unsigned long long)vq->avail_uva,
                 (unsigned long long)vq->used_uva);
        return -EPROTO;
    }
    /* With the event index fields, whether negotiated or not. */
    desc = map_uva(mem, vq->desc_uva, 16 * n);
    avail = map_uva(mem, vq->avail_uva, 6 + 2 * n);
    used = map_uva(mem, vq->used_uva, 6 + 8 * n);
    if (!desc || !avail || !used) {
        snprintf(err, errlen, "its %s ring at 0x%llx (%u entries) is not "
                 "in guest memory", !desc ? "descriptor" :
                 !avail ? "avail" : "used",
                 (unsigned long long)(!desc ? vq->desc_uva :
                                      !avail ? vq->avail_uva :
                                      vq->used_uva), vq->num);
        return -EPROTO;
    }
    /* Aligned addresses can still land misaligned here: a region's
     * offset in its fd need not agree with its address. */
    if ((uintptr_t)desc % 16 || (uintptr_t)avail % 2 ||
        (uintptr_t)used % 4) {
        snprintf(err, errlen, "its rings are misaligned where guest memory "
                 "is mapped (a region's offset and address disagree)");
        return -EPROTO;
    }
    vq->desc = (volatile struct vring_desc *)desc;
    vq->avail = (volatile struct vring_avail *)avail;
    vq->used = (volatile struct vring_used *)used;
    vq->mem = mem;
    vq->used_gpa = UINT64_MAX;
    for (unsigned int i = 0; i < mem->nr; i++) {
        const struct vu_region *r = &mem->r[i];

        if (vq->used_uva >= r->uva && vq->used_uva - r->uva < r->size)
            vq->used_gpa = r->gpa + (vq->used_uva - r->uva);
    }
    return 0;
}

int virtq_start(struct virtq *vq, const struct vu_mem *mem, bool event_idx,
                char *err, size_t errlen)
{
    int rc;

    rc = virtq_remap(vq, mem, err, errlen);
    if (rc)
        return rc;
    vq->event_idx = event_idx;
    /* What the guest has seen used is where we go on from (0 on a new
     * ring; after a backend restart, what the last one published). */
    vq->used_idx = load16(&vq->used->idx);
    vq->avail_idx = vq->last_avail;
    vq->signalled_valid = false;
    vq->started = true;
    return 0;
}

void virtq_stop(struct virtq *vq)
{
    vq->started = false;
    vq->desc = NULL;
    vq->avail = NULL;
    vq->used = NULL;
}

/* The region holding guest-physical address gpa, or NULL. */
static const struct vu_region *region_of(const struct vu_mem *mem,
                                         uint64_t gpa)
{
    unsigned int i;

    for (i = 0; i < mem->nr; i++)
        if (gpa >= mem->r[i].gpa && gpa - mem->r[i].gpa < mem->r[i].size)
            return &mem->r[i];
    return NULL;
}

/*
 * Appends the guest-physical range [gpa, gpa + len) to iov, split where
 * it crosses regions.  Entries past max are counted in *n but not
 * stored.  -1 when part of it is not guest memory.
 */
static int add_range(const struct vu_mem *mem, uint64_t gpa, uint64_t len,
                     struct iovec *iov, unsigned int max, unsigned int *n)
{
    const struct vu_region *r;
    uint64_t off, chunk;

    while (len) {
        r = region_of(mem, gpa);
        if (!r)
            return -1;
        off = gpa - r->gpa;
        chunk = r->size - off < len ? r->size - off : len;
        if (*n < max) {
            iov[*n].iov_base = r->host + off;
            iov[*n].iov_len = chunk;
        }
        (*n)++;
        gpa += chunk;
        len -= chunk;
    }
    return 0;
}

/* Reads avail->idx: 0, or -EPROTO when it ran further ahead of us than
 * the ring holds. */
static int read_avail_idx(struct virtq *vq, uint16_t *idx_r, char *err,
                          size_t errlen)
{
    uint16_t idx;

    /* Acquire: the entries and descriptors the guest wrote before it
     * moved the index are seen by the reads that follow. */
    idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
    if ((uint16_t)(idx - vq->last_avail) > vq->num) {
        snprintf(err, errlen, "avail index %u is %u entries past the "
                 "next one to take (%u), more than the ring's %u", idx,
                 (uint16_t)(idx - vq->last_avail), vq->last_avail,
                 vq->num);
        return -EPROTO;
    }
    *idx_r = idx;
    return 0;
}

/* Indirect tables longer than this are refused (a ring's limit). */
#define INDIRECT_MAX VQ_MAX_SIZE

/*
 * The indirect table the ring's descriptor head names: mapped, its
 * entries in *n_r; NULL with err when it breaks 2.7.5.3 (NEXT set
 * beside INDIRECT, a length that is not a whole number of descriptors,
 * a table outside one region of guest memory or misaligned there).
 */
static volatile struct vring_desc *
indirect_table(struct virtq *vq, const struct vu_mem *mem, uint16_t head,
               unsigned int *n_r, char *err, size_t errlen)
{
    uint16_t flags = load16(&vq->desc[head].flags);
    uint64_t addr = le64toh(vq->desc[head].addr);
    uint32_t len = le32toh(vq->desc[head].len);
    const struct vu_region *r = region_of(mem, addr);
    uint8_t *host;

    if (flags & VRING_DESC_F_NEXT) {
        snprintf(err, errlen, "descriptor %u is indirect and has a next "
                 "one", head);
        return NULL;
    }
    if (!len || len % sizeof(struct vring_desc) ||
        len / sizeof(struct vring_desc) > INDIRECT_MAX) {
        snprintf(err, errlen, "descriptor %u's indirect table of %u bytes "
                 "is not 1 to %d descriptors", head, len, INDIRECT_MAX);
        return NULL;
    }
    if (!r || len > r->size - (addr - r->gpa)) {
        snprintf(err, errlen, "descriptor %u's indirect table (0x%llx, %u "
                 "bytes) is not in guest memory", head,
                 (unsigned long long)addr, len);
        return NULL;
    }
    host = r->host + (addr - r->gpa);
    /* Its 64-bit fields are read whole. */
    if ((uintptr_t)host % 8) {
        snprintf(err, errlen, "descriptor %u's indirect table at 0x%llx "
                 "is misaligned", head, (unsigned long long)addr);
        return NULL;
    }
    *n_r = len / sizeof(struct vring_desc);
    return (volatile struct vring_desc *)host;
}

/* Which buffers a chain may hold (see virtq_pop and virtq_pop_rw). */
enum chain_kind {
    CHAIN_READABLE,
    CHAIN_WRITABLE,
    CHAIN_READ_THEN_WRITE,
};

static int pop(struct virtq *vq, const struct vu_mem *mem,
               enum chain_kind kind, struct iovec *iov, unsigned int max_iov,
               unsigned int *niov_r, unsigned int *nread_r, uint16_t *head_r,
               uint64_t *len_r, uint64_t *wlen_r, char *err, size_t errlen)
{
    unsigned int count = 0, niov = 0, nread = 0, mask = vq->num - 1;
    volatile struct vring_desc *tab = vq->desc;
    unsigned int tabn = vq->num;
    uint16_t head, i, flags, idx;
    uint64_t addr, len = 0, wlen = 0;
    bool write, seen_write = false;
    uint32_t dlen;
    int rc;

    if (vq->last_avail == vq->avail_idx) {
        rc = read_avail_idx(vq, &idx, err, errlen);
        if (rc)
            return rc;
        vq->avail_idx = idx;
        if (idx == vq->last_avail)
            return 0;
    }
    head = load16(&vq->avail->ring[vq->last_avail & mask]);
    if (head >= vq->num) {
        snprintf(err, errlen, "avail entry %u names descriptor %u, past "
                 "the ring's %u", vq->last_avail, head, vq->num);
        return -EPROTO;
    }
    i = head;
    flags = load16(&vq->desc[head].flags);
    if ((flags & VRING_DESC_F_INDIRECT) && vq->indirect) {
        /* The chain is a table of its own (2.7.5.3): the head names it
         * and is the chain's only descriptor in the ring. */
        tab = indirect_table(vq, mem, head, &tabn, err, errlen);
        if (!tab)
            return -EPROTO;
        i = 0;
    }
    for (;; i = load16(&tab[i].next)) {
        if (i >= tabn) {
            snprintf(err, errlen, "the chain from descriptor %u goes on "
                     "to %u, past the %s's %u", head, i,
                     tab == vq->desc ? "ring" : "indirect table", tabn);
            return -EPROTO;
        }
        /* A chain longer than the table loops. */
        if (++count > tabn) {
            snprintf(err, errlen, "the chain from descriptor %u is longer "
                     "than the %s (%u): a loop", head,
                     tab == vq->desc ? "ring" : "indirect table", tabn);
            return -EPROTO;
        }
        flags = load16(&tab[i].flags);
        addr = le64toh(tab[i].addr);
        dlen = le32toh(tab[i].len);
        if ((flags & VRING_DESC_F_INDIRECT) &&
            (!vq->indirect || tab != vq->desc)) {
            snprintf(err, errlen, "descriptor %u is indirect, which %s", i,
                     vq->indirect ? "only the head in the ring may be" :
                     "was not negotiated");
            return -EPROTO;
        }
        write = flags & VRING_DESC_F_WRITE;
        if (kind != CHAIN_READ_THEN_WRITE &&
            write != (kind == CHAIN_WRITABLE)) {
            snprintf(err, errlen, "descriptor %u is device-%s in a queue "
                     "whose buffers are device-%s", i,
                     write ? "writable" : "readable",
                     write ? "readable" : "writable");
            return -EPROTO;
        }
        if (kind == CHAIN_READ_THEN_WRITE && seen_write && !write) {
            snprintf(err, errlen, "descriptor %u is device-readable after "
                     "a device-writable one in the chain from %u", i, head);
            return -EPROTO;
        }
        seen_write |= write;
        if (add_range(mem, addr, dlen, iov, max_iov, &niov)) {
            snprintf(err, errlen, "descriptor %u (0x%llx, %u bytes) is not "
                     "in guest memory", i, (unsigned long long)addr, dlen);
            return -EPROTO;
        }
        if (!write)
            nread = niov;
        else
            wlen += dlen;
        len += dlen;
        if (!(flags & VRING_DESC_F_NEXT))
            break;
    }
    vq->last_avail++;
    *head_r = head;
    *niov_r = niov < max_iov ? niov : max_iov;
    if (nread_r)
        *nread_r = nread < max_iov ? nread : max_iov;
    if (len_r)
        *len_r = len;
    if (wlen_r)
        *wlen_r = wlen;
    return niov > max_iov ? -E2BIG : 1;
}

int virtq_pop(struct virtq *vq, const struct vu_mem *mem, bool writable,
              struct iovec *iov, unsigned int max_iov,
              unsigned int *niov_r, uint16_t *head_r, uint64_t *len_r,
              char *err, size_t errlen)
{
    return pop(vq, mem, writable ? CHAIN_WRITABLE : CHAIN_READABLE, iov,
               max_iov, niov_r, NULL, head_r, len_r, NULL, err, errlen);
}

int virtq_pop_rw(struct virtq *vq, const struct vu_mem *mem,
                 struct iovec *iov, unsigned int max_iov,
                 unsigned int *niov_r, unsigned int *nread_r,
                 uint16_t *head_r, uint64_t *wlen_r, char *err,
                 size_t errlen)
{
    return pop(vq, mem, CHAIN_READ_THEN_WRITE, iov, max_iov, niov_r, nread_r,
               head_r, NULL, wlen_r, err, errlen);
}

void virtq_unpop(struct virtq *vq, unsigned int n)
{
    vq->last_avail -= (uint16_t)n;
}

void virtq_log_set(struct virtq *vq, uint8_t *log, uint64_t log_size)
{
    if (log)
        __atomic_store_n(&vq->log_size, log_size, __ATOMIC_RELAXED);
    __atomic_store_n(&vq->log, log, __ATOMIC_RELEASE);
}

static void log_range(uint8_t *log, uint64_t size, uint64_t gpa,
                      uint64_t len)
{
    uint64_t page, last;

    if (!len)
        return;
    last = (gpa + len - 1) >> 12;
    for (page = gpa >> 12; page <= last && page / 8 < size; page++)
        __atomic_fetch_or(&log[page / 8], (uint8_t)(1u << (page % 8)),
                          __ATOMIC_RELAXED);
}

/*
 * Marks the device-writable buffers of the chain at head.  The chain
 * was checked when it was taken and stays the device's until published;
 * the walk is bounded all the same, and stops at anything odd (a guest
 * that changed it broke only its own copy).
 */
static void log_chain(struct virtq *vq, uint8_t *log, uint64_t size,
                      uint16_t head)
{
    volatile struct vring_desc *t = vq->desc;
    unsigned int n = vq->num, steps = 0, i = head;
    bool in_table = false;

    while (i < n && steps++ <= n) {
        uint16_t flags = load16(&t[i].flags);
        uint64_t addr = le64toh(t[i].addr);
        uint32_t len = le32toh(t[i].len);

        if ((flags & VRING_DESC_F_INDIRECT) && !in_table) {
            const struct vu_region *r = vq->mem ? region_of(vq->mem, addr)
                                                : NULL;

            if (!r || len > r->size - (addr - r->gpa) ||
                len % sizeof(struct vring_desc))
                return;
            t = (volatile struct vring_desc *)(r->host + (addr - r->gpa));
            n = len / sizeof(struct vring_desc);
            i = 0;
            steps = 0;
            in_table = true;
            continue;
        }
        if (flags & VRING_DESC_F_WRITE)
            log_range(log, size, addr, len);
        if (!(flags & VRING_DESC_F_NEXT))
            return;
        i = load16(&t[i].next);
    }
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
    volatile struct vring_used_elem *e;
    uint8_t *log = __atomic_load_n(&vq->log, __ATOMIC_ACQUIRE);

    if (log)
        log_chain(vq, log, __atomic_load_n(&vq->log_size, __ATOMIC_RELAXED),
                  head);

    e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
    e->id = htole32(head);
    e->len = htole32(len);
    vq->used_idx++;
}

void virtq_publish(struct virtq *vq)
{
    /* Release: the data and the used entries before the index. */
    uint8_t *log;

    __atomic_store_n(&vq->used->idx, htole16(vq->used_idx),
                     __ATOMIC_RELEASE);
    log = __atomic_load_n(&vq->log, __ATOMIC_ACQUIRE);
    if (log && vq->used_gpa != UINT64_MAX)
        log_range(log, __atomic_load_n(&vq->log_size, __ATOMIC_RELAXED),
                  vq->used_gpa, 6 + 8ULL * vq->num);
}

/* Whether the guest asked to hear of the used entries [old, new_idx):
 * it named the entry after which it wants an interrupt. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

void virtq_signal(struct virtq *vq)
{
    uint16_t old = vq->signalled_used;
    bool valid = vq->signalled_valid;
    static const uint64_t one = 1;
    bool notify;

    if (valid && old == vq->used_idx)
        return;                 /* nothing new */
    /* The used index we published must be visible before we read what
     * the guest wants: it does the same the other way round. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    vq->signalled_used = vq->used_idx;
    vq->signalled_valid = true;
    if (vq->event_idx)
        notify = !valid || need_event(load16(used_event(vq)), vq->used_idx,
                                      old);
    else
        notify = !(load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
    if (!notify || vq->call_fd < 0)
        return;
    /* An eventfd write fails only when its counter would overflow, which
     * qemu's reading prevents; a lost interrupt could not be helped. */
    if (write(vq->call_fd, &one, sizeof(one)) < 0)
        return;
}

void virtq_disable_kicks(struct virtq *vq)
{
    /* With event indexes the guest kicks once past avail_event and not
     * again until we move it: nothing to do. */
    if (!vq->event_idx)
        store16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

int virtq_enable_kicks(struct virtq *vq, char *err, size_t errlen)
{
    uint16_t idx;
    int rc;

    if (vq->event_idx)
        store16(avail_event(vq), vq->avail_idx);
    else
        store16(&vq->used->flags, 0);
    /* The guest may have added buffers before it could see that: make
     * our write visible, then look again. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    rc = read_avail_idx(vq, &idx, err, errlen);
    if (rc)
        return rc;
    if (idx == vq->avail_idx)
        return 0;
    vq->avail_idx = idx;
    return 1;
}
