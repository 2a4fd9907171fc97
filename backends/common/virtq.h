/*
 * virtq.h - guest memory as a vhost-user backend maps it, and the split
 * virtqueues (virtio 1.x, 2.7) in it as the device sees them.  Shared by
 * the backends (compiled into each); never installed.
 *
 * The guest writes the rings while we read them: every index and
 * descriptor field is read once and checked before use, so what a guest
 * changes under us can break only its own device.  Each function that
 * reads the ring returns -EPROTO when the guest broke it (err says how,
 * in one line): the caller closes the connection.
 */
#ifndef BACKEND_VIRTQ_H
#define BACKEND_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* SET_MEM_TABLE carries at most this many regions (the baseline). */
#define VU_MAX_REGIONS 8

struct vu_region {
    uint64_t gpa;               /* guest physical address */
    uint64_t size;
    uint64_t uva;               /* the frontend's address for it */
    uint8_t *host;              /* where gpa is mapped here */
    void *map;                  /* the whole mapping (from offset 0) */
    size_t map_len;
};

struct vu_mem {
    unsigned int nr;
    struct vu_region r[VU_MAX_REGIONS];
};

#define VQ_MAX_SIZE 32768       /* the split ring's limit */

struct vring_desc;
struct vring_avail;
struct vring_used;

/*
 * One split virtqueue.  The frontend sets num, the addresses, the base
 * and the fds (vhost_user.c); the ring is "started" once it has all of
 * them and a kick fd (virtq_start), and stopped by GET_VRING_BASE, a new
 * kick fd or the connection's end.  "enabled" is SET_VRING_ENABLE's.
 */
struct virtq {
    /* set by the frontend */
    unsigned int num;           /* 0 until SET_VRING_NUM */
    uint64_t desc_uva, avail_uva, used_uva;
    bool have_addr;
    int kick_fd;                /* -1 when none */
    int call_fd;                /* -1 when none */
    bool enabled;
    /* while started: the rings, mapped, and our indexes */
    bool started;
    bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;              /* VIRTIO_RING_F_INDIRECT_DESC negotiated
                                 * (set before virtq_start) */
    volatile struct vring_desc *desc;
    volatile struct vring_avail *avail;
    volatile struct vring_used *used;
    uint16_t last_avail;        /* the next avail entry to take */
    uint16_t avail_idx;         /* avail->idx as last read */
    uint16_t used_idx;          /* the next used entry to fill */
    uint16_t signalled_used;    /* used_idx at the last notification */
    bool signalled_valid;       /* false: notify at the next chance */
    /* dirty logging (VHOST_F_LOG_ALL, virtq_log_set): the frontend's
     * bitmap, one bit per 4 KiB page of guest-physical memory; NULL when
     * off.  Read by the thread that pushes, set by the connection's. */
    uint8_t *log;
    uint64_t log_size;          /* bytes */
    const struct vu_mem *mem;   /* as of the last start or remap */
    uint64_t used_gpa;          /* where the used ring is, guest-physical */
};

/* Maps the rings through mem (user addresses) and reads used->idx;
 * started.  -EPROTO when they are not all in guest memory. */
int virtq_start(struct virtq *vq, const struct vu_mem *mem, bool event_idx,
                char *err, size_t errlen);

/* Maps the rings again after a new memory table; -EPROTO as above. */
int virtq_remap(struct virtq *vq, const struct vu_mem *mem, char *err,
                size_t errlen);

/* Forgets the mapping: stopped (fds and addresses stay). */
void virtq_stop(struct virtq *vq);

/*
 * Takes the next available chain: its head in *head_r, its buffers
 * (device-writable ones when writable, else device-readable ones: a
 * buffer of the other kind breaks the ring) translated into iov, *niov_r
 * entries, *len_r bytes.  1 on success, 0 when the ring is empty, -E2BIG
 * when the chain needs more than max_iov entries (taken: give it back
 * used, empty), -EPROTO.
 */
int virtq_pop(struct virtq *vq, const struct vu_mem *mem, bool writable,
              struct iovec *iov, unsigned int max_iov,
              unsigned int *niov_r, uint16_t *head_r, uint64_t *len_r,
              char *err, size_t errlen);

/*
 * The same for a request-and-answer chain (virtio-blk's): device-readable
 * buffers first, then device-writable ones (2.7.4.2: a readable one after
 * a writable one breaks the ring).  iov gets both, *nread_r of them
 * readable; *wlen_r is the writable bytes.
 */
int virtq_pop_rw(struct virtq *vq, const struct vu_mem *mem,
                 struct iovec *iov, unsigned int max_iov,
                 unsigned int *niov_r, unsigned int *nread_r,
                 uint16_t *head_r, uint64_t *wlen_r, char *err,
                 size_t errlen);

/* Gives back the last n chains taken and not yet used. */
void virtq_unpop(struct virtq *vq, unsigned int n);

/*
 * Dirty logging on (log, log_size bytes) or off (NULL): from now on every
 * buffer the device may have written is marked in the log when its chain
 * is pushed, and the used ring when it is published, so that a migration
 * resends those pages.  Safe while another thread pushes.
 */
void virtq_log_set(struct virtq *vq, uint8_t *log, uint64_t log_size);

/* Fills the next used entry (not visible to the guest until
 * virtq_publish); with logging on, marks the chain's writable buffers. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* Makes the used entries pushed so far visible to the guest. */
void virtq_publish(struct virtq *vq);

/* Interrupts the guest (the call fd) if it wants to know about the used
 * entries published since the last time. */
void virtq_signal(struct virtq *vq);

/* Asks the guest not to kick while we are busy with the ring anyway. */
void virtq_disable_kicks(struct virtq *vq);

/* Asks the guest to kick when it adds buffers; then true when it added
 * some meanwhile (take them: no kick will come for those); -EPROTO. */
int virtq_enable_kicks(struct virtq *vq, char *err, size_t errlen);

#endif
