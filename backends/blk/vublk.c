/*
 * vublk.c - a raw disk served by blkback itself: a vhost-user-blk
 * device on the disk's socket, in a thread of its own, reading and
 * writing the file or block device for the guest.
 *
 * Why not qemu-storage-daemon for these: a raw image that grows must
 * reach the running guest (a vhost-user config-change message), and
 * Debian 12's qemu-storage-daemon (7.2) neither sends one nor updates
 * the capacity its export reports; nor does it give the guest the disk's
 * vdev as its serial (GET_ID answers "vhost_user_blk").  qcow2 images
 * stay with qemu-storage-daemon (qsd.c), whose format driver we do not
 * replace.
 *
 * One thread per disk, one epoll loop each: the listening socket, the
 * frontend's connection (backends/common/vhost_user.c), the queue's kick
 * fd, an eventfd through which blkback's main thread says "stop" or "the
 * disk grew", and the eventfd of the disk's io_uring.  Every request
 * taken from the ring in one pass is submitted to the io_uring at once
 * (readv, writev, fsync), each answered when it completes, in whatever
 * order; the guest hears once per batch of answers.  Where the kernel
 * gives us no io_uring (too old, or a seccomp filter) the requests are
 * served one at a time, synchronously (preadv, pwritev, fdatasync).
 *
 * Requests in flight use guest memory (their buffers, the status byte)
 * and the ring (their used entries): before the thread handles any
 * message of the frontend (a new memory table, GET_VRING_BASE, a new
 * kick fd) or ends the connection, it waits for all of them, so none
 * completes into memory that is gone and the index GET_VRING_BASE
 * reports covers every request taken.
 */
#include "blkback.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost_user.h"

#define SECTOR 512
/* Requests taken per wakeup before the loop looks at its other fds. */
#define BUDGET 64
/* iovec entries per request: seg_max data segments, the header, the
 * status, and room for segments split where guest memory regions meet.
 * A request longer than the ring goes in an indirect table (offered):
 * without one Linux could not place a request of more than the ring's
 * 128 descriptors, and 1 MiB would be three requests. */
#define SEG_MAX 510
#define MAX_IOV 1024
/* virtio-blk's GET_ID answer: at most 20 bytes, not NUL-terminated
 * when all 20 are used. */
#define ID_BYTES VIRTIO_BLK_ID_BYTES
/* A discard request names at most this many ranges; each at most
 * this many sectors. */
#define DISCARD_SEGS 32
#define DISCARD_SECTORS (1u << 22)
/* Requests in flight at most: the ring's size, and never more than this
 * (the completion queue has an entry for each). */
#define SLOTS 1024
/* Submission queue entries: a full pass of BUDGET requests fits. */
#define SQ_ENTRIES 128
/* A transfer that moves nothing and asks to be tried again (-EAGAIN,
 * -EINTR) is tried this many times before it fails. */
#define RETRIES 16

enum tag_kind {
    TAG_CTL,
    TAG_LISTEN,
    TAG_CONN,
    TAG_KICK,
    TAG_DONE,
};

/*
 * A request being served: IN, OUT or FLUSH (the others are answered at
 * once).  With the io_uring it owns a copy of its data's iovecs, which a
 * short transfer moves on; synchronously, the iovecs are the thread's.
 */
struct req {
    struct iovec *iov;          /* the data not moved yet */
    unsigned int niov, cap;     /* entries in iov, allocated */
    uint8_t *status;            /* the status byte, in guest memory */
    uint64_t sector, bytes;     /* as asked (for the log) */
    uint64_t off, left;         /* the rest: its offset, its bytes */
    uint64_t gen;               /* see struct vublk's gen */
    unsigned int waits;         /* a FLUSH: the earlier writes not done */
    unsigned int tries;         /* transfers in a row that moved nothing */
    uint32_t type;
    uint32_t used;              /* the used length if it succeeds */
    uint16_t head;
    struct req *next;           /* in the free list or the FLUSH queue */
};

struct tag {
    enum tag_kind kind;
};

struct vublk {
    pthread_t thread;
    bool running;               /* the thread was started */
    char *who;                  /* "domain D vbd N (xvda)" */
    char *target;
    char *sock;
    char serial[ID_BYTES];      /* the vdev, as GET_ID gives it */
    bool writable, discard, blockdev;
    int file_fd, listen_fd, ctl_fd, epfd;
    struct tag ctl_tag, listen_tag, conn_tag, kick_tag, done_tag;
    atomic_uint_fast64_t sectors;   /* written by the main thread */
    atomic_bool stop, grew;
    uint64_t told_sectors;          /* the capacity the frontend knows */
    struct vu_ops ops;
    struct vu c;
    bool warned_big;            /* a chain over MAX_IOV, logged once */
    bool warned_ring;           /* an io_uring call failing, logged once */
    struct iovec iov[MAX_IOV];  /* the request being taken */
    /* With an io_uring (uring): its completions signal done_fd. */
    bool uring;
    struct io_uring ring;
    int done_fd;
    struct req *reqs;           /* SLOTS of them */
    struct req *free;
    unsigned int inflight;      /* taken from the ring, not answered */
    bool full;                  /* taking stopped at the in-flight limit */
    /*
     * A FLUSH completes only after the writes taken before it did: each
     * FLUSH starts a new generation (gen); a write belongs to the one it
     * was taken in; open_writes counts the current generation's writes
     * in flight, a queued FLUSH's waits those of its own, and it is
     * submitted (in order) once they and the earlier FLUSHes' are done.
     */
    uint64_t gen;
    unsigned int open_writes;
    struct req *flushes, **flushes_tail;
    struct req sync_req;        /* without an io_uring */
};

static void __attribute__((format(printf, 2, 3)))
dlog(const struct vublk *d, const char *fmt, ...)
{
    char line[640];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    blkback_log("%s: %s", d->who, line);
}

/* ---------------------------------------------------------- vu_ops */

static int poll_add(struct vu *c, int fd, int q)
{
    struct vublk *d = c->owner;
    struct epoll_event ev = { .events = EPOLLIN };

    ev.data.ptr = q == VU_CONN ? &d->conn_tag : &d->kick_tag;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        dlog(d, "cannot poll fd %d: %s", fd, strerror(errno));
        return -errno;
    }
    return 0;
}

static void poll_del(struct vu *c, int fd)
{
    struct vublk *d = c->owner;

    epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void vu_log_line(struct vu *c, const char *msg)
{
    dlog(c->owner, "%s", msg);
}

static void serve(struct vublk *d);

static void queues_changed(struct vu *c)
{
    struct vublk *d = c->owner;

    /* The guest may have queued requests before the ring was ours. */
    serve(d);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

/* The config space (struct virtio_blk_config, little-endian): what it
 * says lives at the offsets of the features we offer. */
static void get_config(struct vu *c, uint32_t off, unsigned char *buf,
                       uint32_t len)
{
    struct vublk *d = c->owner;
    unsigned char cfg[sizeof(struct virtio_blk_config)] = { 0 };
    uint64_t cap = htole64(atomic_load(&d->sectors));

    memcpy(cfg + offsetof(struct virtio_blk_config, capacity), &cap,
           sizeof(cap));
    put_le32(cfg + offsetof(struct virtio_blk_config, seg_max), SEG_MAX);
    put_le32(cfg + offsetof(struct virtio_blk_config, blk_size), SECTOR);
    if (d->ops.features & (1ULL << VIRTIO_BLK_F_DISCARD)) {
        put_le32(cfg + offsetof(struct virtio_blk_config,
                                max_discard_sectors), DISCARD_SECTORS);
        put_le32(cfg + offsetof(struct virtio_blk_config, max_discard_seg),
                 DISCARD_SEGS);
        put_le32(cfg + offsetof(struct virtio_blk_config,
                                discard_sector_alignment), 1);
    }
    d->told_sectors = atomic_load(&d->sectors);
    if (off < sizeof(cfg))
        memcpy(buf, cfg + off,
               len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

/* ---------------------------------------------------------- requests */

/* Copies up to len bytes from the start of iov[0..n) into buf; the
 * count copied. */
static size_t iov_take(const struct iovec *iov, unsigned int n, void *buf,
                       size_t len)
{
    size_t done = 0, k;
    unsigned int i;

    for (i = 0; i < n && done < len; i++) {
        k = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
        memcpy((char *)buf + done, iov[i].iov_base, k);
        done += k;
    }
    return done;
}

/*
 * Drops skip bytes from the front of iov[0..*n) (in place, shifting the
 * array) and keeps at most keep bytes after them; the bytes left.
 */
static size_t iov_trim(struct iovec *iov, unsigned int *n, size_t skip,
                       size_t keep)
{
    unsigned int i = 0, j = 0;
    size_t total = 0, k;

    while (i < *n && skip >= iov[i].iov_len)
        skip -= iov[i++].iov_len;
    for (; i < *n && total < keep; i++) {
        iov[j].iov_base = (char *)iov[i].iov_base + skip;
        k = iov[i].iov_len - skip;
        skip = 0;
        if (k > keep - total)
            k = keep - total;
        iov[j++].iov_len = k;
        total += k;
    }
    *n = j;
    return total;
}

/* preadv or pwritev of all of iov at off, carrying on after a short
 * transfer: 0, -EIO for an end of file, -errno. */
static int rw_all(int fd, bool write, struct iovec *iov, unsigned int n,
                  uint64_t off)
{
    ssize_t r;

    while (n) {
        r = write ? pwritev(fd, iov, (int)n, (off_t)off) :
                    preadv(fd, iov, (int)n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        off += (uint64_t)r;
        while (n && (size_t)r >= iov->iov_len) {
            r -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n) {
            iov->iov_base = (char *)iov->iov_base + r;
            iov->iov_len -= (size_t)r;
        }
    }
    return 0;
}

/* Whether sectors [sector, sector + bytes/512) lie on the disk. */
static bool in_disk(const struct vublk *d, uint64_t sector, uint64_t bytes)
{
    uint64_t cap = atomic_load(&d->sectors);

    return bytes % SECTOR == 0 && sector <= cap &&
           bytes / SECTOR <= cap - sector;
}

static uint8_t discard(struct vublk *d, struct iovec *iov, unsigned int n,
                       size_t len)
{
    struct virtio_blk_discard_write_zeroes seg;
    uint64_t sector, range[2];
    unsigned int i, nseg;
    uint32_t num;

    if (len % sizeof(seg) || len / sizeof(seg) > DISCARD_SEGS)
        return VIRTIO_BLK_S_IOERR;
    nseg = (unsigned int)(len / sizeof(seg));
    for (i = 0; i < nseg; i++) {
        if (iov_take(iov, n, &seg, sizeof(seg)) != sizeof(seg))
            return VIRTIO_BLK_S_IOERR;
        iov_trim(iov, &n, sizeof(seg), SIZE_MAX);
        sector = le64toh(seg.sector);
        num = le32toh(seg.num_sectors);
        /* virtio 1.1 5.2.6.2: a discard with the unmap flag (or any
         * flag) set is not supported */
        if (le32toh(seg.flags))
            return VIRTIO_BLK_S_UNSUPP;
        if (num > DISCARD_SECTORS ||
            !in_disk(d, sector, (uint64_t)num * SECTOR))
            return VIRTIO_BLK_S_IOERR;
        range[0] = sector * SECTOR;
        range[1] = (uint64_t)num * SECTOR;
        /* A hint: a target that cannot punch holes keeps its data. */
        if (d->blockdev)
            ioctl(d->file_fd, BLKDISCARD, range);
        else
            fallocate(d->file_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)range[0], (off_t)range[1]);
    }
    return VIRTIO_BLK_S_OK;
}

/* ---------------------------------------------------------- answers */

/* Answers r: its status byte, then its used entry (published with the
 * batch).  The status is the last byte we write for it. */
static void finish(struct vublk *d, struct req *r, uint8_t status)
{
    *r->status = status;
    virtq_push(&d->c.vq[0], r->head,
               status == VIRTIO_BLK_S_OK ? r->used : 1);
    if (r == &d->sync_req)
        return;
    r->next = d->free;
    d->free = r;
    d->inflight--;
}

static void log_rw_error(struct vublk *d, const struct req *r,
                         const char *why)
{
    dlog(d, "%s %" PRIu64 " bytes at sector %" PRIu64 " of %s: %s",
         r->type == VIRTIO_BLK_T_IN ? "reading" : "writing", r->bytes,
         r->sector, d->target, why);
}

/* A request, synchronously: iov[0..n) its data. */
static void run_sync(struct vublk *d, struct req *r, struct iovec *iov,
                     unsigned int n)
{
    int rc;

    if (r->type == VIRTIO_BLK_T_FLUSH) {
        if (fdatasync(d->file_fd) < 0) {
            dlog(d, "flushing %s: %s", d->target, strerror(errno));
            finish(d, r, VIRTIO_BLK_S_IOERR);
            return;
        }
        finish(d, r, VIRTIO_BLK_S_OK);
        return;
    }
    rc = rw_all(d->file_fd, r->type == VIRTIO_BLK_T_OUT, iov, n, r->off);
    if (rc) {
        log_rw_error(d, r, strerror(-rc));
        finish(d, r, VIRTIO_BLK_S_IOERR);
        return;
    }
    finish(d, r, VIRTIO_BLK_S_OK);
}

/* ---------------------------------------------------------- io_uring */

/* Submits what is queued, trying again until the kernel took it all (it
 * refuses only for a lack of memory, which passes). */
static void submit(struct vublk *d)
{
    static const struct timespec ms = { 0, 1000000 };
    int rc;

    while (io_uring_sq_ready(&d->ring)) {
        rc = io_uring_submit(&d->ring);
        if (rc > 0 || rc == -EINTR)
            continue;
        if (!d->warned_ring)
            dlog(d, "submitting requests for %s to io_uring: %s (trying "
                 "again)", d->target, rc ? strerror(-rc) : "none taken");
        d->warned_ring = true;
        nanosleep(&ms, NULL);
    }
}

static struct io_uring_sqe *get_sqe(struct vublk *d)
{
    struct io_uring_sqe *sqe;

    while (!(sqe = io_uring_get_sqe(&d->ring)))
        submit(d);              /* the queue is full: make room */
    return sqe;
}

/* Queues r's transfer of what is left of it. */
static void queue_rw(struct vublk *d, struct req *r)
{
    struct io_uring_sqe *sqe = get_sqe(d);

    if (r->type == VIRTIO_BLK_T_IN)
        io_uring_prep_readv(sqe, d->file_fd, r->iov, r->niov, r->off);
    else
        io_uring_prep_writev(sqe, d->file_fd, r->iov, r->niov, r->off);
    io_uring_sqe_set_data(sqe, r);
}

/* Queues the fsyncs of the FLUSHes whose writes are all done, in order. */
static void release_flushes(struct vublk *d)
{
    struct io_uring_sqe *sqe;
    struct req *f;

    while ((f = d->flushes) && !f->waits) {
        d->flushes = f->next;
        if (!d->flushes)
            d->flushes_tail = &d->flushes;
        sqe = get_sqe(d);
        io_uring_prep_fsync(sqe, d->file_fd, IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data(sqe, f);
    }
}

/* Write r is done (or failed): the FLUSH after it waits for one less. */
static void write_done(struct vublk *d, const struct req *r)
{
    struct req *f;

    if (r->gen == d->gen) {
        d->open_writes--;
        return;
    }
    for (f = d->flushes; f; f = f->next)
        if (f->gen == r->gen) {
            f->waits--;
            return;
        }
}

/* Starts r with the io_uring: iov[0..n) its data. */
static void start_uring(struct vublk *d, struct req *r, struct iovec *iov,
                        unsigned int n)
{
    struct iovec *p;

    if (r->type == VIRTIO_BLK_T_FLUSH) {
        r->gen = d->gen++;
        r->waits = d->open_writes;
        d->open_writes = 0;
        r->next = NULL;
        *d->flushes_tail = r;
        d->flushes_tail = &r->next;
        release_flushes(d);
        return;
    }
    if (n > r->cap) {
        p = realloc(r->iov, n * sizeof(*p));
        if (!p) {
            log_rw_error(d, r, "no memory for its buffers' list");
            finish(d, r, VIRTIO_BLK_S_IOERR);
            return;
        }
        r->iov = p;
        r->cap = n;
    }
    memcpy(r->iov, iov, n * sizeof(*iov));
    r->niov = n;
    if (r->type == VIRTIO_BLK_T_OUT) {
        r->gen = d->gen;
        d->open_writes++;
    }
    queue_rw(d, r);
}

/* Moves r's iovecs past the done bytes it transferred. */
static void advance(struct req *r, uint64_t done)
{
    unsigned int i = 0, j;

    r->off += done;
    r->left -= done;
    while (i < r->niov && done >= r->iov[i].iov_len)
        done -= r->iov[i++].iov_len;
    if (i < r->niov) {
        r->iov[i].iov_base = (char *)r->iov[i].iov_base + done;
        r->iov[i].iov_len -= done;
    }
    for (j = 0; i < r->niov; )
        r->iov[j++] = r->iov[i++];
    r->niov = j;
}

/*
 * A completion: res as the system call would have returned it.  A short
 * transfer goes on with the rest (as preadv and pwritev would be called
 * again); one that moves nothing at all (the file ends early: it shrank
 * under us) fails with IOERR, as does an error.
 */
static void done(struct vublk *d, struct req *r, int res)
{
    char why[64];

    if (r->type == VIRTIO_BLK_T_FLUSH) {
        if (res < 0)
            dlog(d, "flushing %s: %s", d->target, strerror(-res));
        finish(d, r, res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
        return;
    }
    if ((res == -EAGAIN || res == -EINTR) && ++r->tries < RETRIES) {
        queue_rw(d, r);
        return;
    }
    if (res > 0 && (uint64_t)res < r->left) {
        r->tries = 0;
        advance(r, (uint64_t)res);
        queue_rw(d, r);
        return;
    }
    if (r->type == VIRTIO_BLK_T_OUT)
        write_done(d, r);
    if (res < 0) {
        log_rw_error(d, r, strerror(-res));
        finish(d, r, VIRTIO_BLK_S_IOERR);
        return;
    }
    if (res == 0) {
        snprintf(why, sizeof(why), "nothing moved at byte %" PRIu64
                 " (the end of the file)", r->off);
        log_rw_error(d, r, why);
        finish(d, r, VIRTIO_BLK_S_IOERR);
        return;
    }
    finish(d, r, VIRTIO_BLK_S_OK);
}

/* Answers every completion there is, and submits what they queued. */
static void reap(struct vublk *d)
{
    struct io_uring_cqe *cqe;
    struct req *r;
    int res;

    /* Each entry is given back before its request goes on: a retry's
     * completion needs the room. */
    while (io_uring_peek_cqe(&d->ring, &cqe) == 0) {
        r = io_uring_cqe_get_data(cqe);
        res = cqe->res;
        io_uring_cqe_seen(&d->ring, cqe);
        done(d, r, res);
    }
    release_flushes(d);
    submit(d);
}

/*
 * Waits until every request taken is answered (before the ring stops,
 * the memory table changes or the connection ends); the guest is told.
 * Requests on a disk that never answers keep us here, as the synchronous
 * path would.
 */
static void drain(struct vublk *d)
{
    static const struct timespec ms = { 0, 1000000 };
    struct io_uring_cqe *cqe;
    int rc;

    if (!d->inflight)
        return;
    while (d->inflight) {
        submit(d);
        rc = io_uring_wait_cqe(&d->ring, &cqe);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN) {
            if (!d->warned_ring)
                dlog(d, "waiting for requests on %s to complete: %s "
                     "(trying again)", d->target, strerror(-rc));
            d->warned_ring = true;
            nanosleep(&ms, NULL);
        }
        reap(d);
    }
    d->full = false;
    if (d->c.vq[0].started) {
        virtq_publish(&d->c.vq[0]);
        virtq_signal(&d->c.vq[0]);
    }
}

/* ---------------------------------------------------------- requests */

/* A request of type IN, OUT or FLUSH, for head's chain. */
static struct req *new_req(struct vublk *d, uint16_t head, uint8_t *status,
                           uint32_t type, uint64_t sector, uint64_t bytes,
                           uint32_t used)
{
    struct req *r = &d->sync_req;

    if (d->uring) {
        r = d->free;            /* serve() takes no more than there are */
        d->free = r->next;
        d->inflight++;
    }
    r->head = head;
    r->status = status;
    r->type = type;
    r->sector = sector;
    r->bytes = r->left = bytes;
    r->off = sector * SECTOR;
    r->used = used;
    r->tries = 0;
    return r;
}

static void start(struct vublk *d, struct req *r, struct iovec *iov,
                  unsigned int n)
{
    if (d->uring)
        start_uring(d, r, iov, n);
    else
        run_sync(d, r, iov, n);
}

/*
 * One request taken from the ring, head's: d->iov[0..nread) the
 * device-readable part (the header, then an OUT's data or a DISCARD's
 * ranges), d->iov[nread..niov) the writable part (an IN's data or
 * GET_ID's answer, then the status byte), wlen bytes.  Answered here, or
 * started (IN, OUT and FLUSH) and answered when done.
 */
static void take(struct vublk *d, uint16_t head, unsigned int niov,
                 unsigned int nread, uint64_t wlen)
{
    struct virtq *vq = &d->c.vq[0];
    struct virtio_blk_outhdr hdr;
    struct iovec *in = d->iov + nread;
    unsigned int nin = niov - nread, nout = nread;
    uint64_t sector, data_in;
    uint8_t status = VIRTIO_BLK_S_IOERR;
    uint32_t used = 1, type;
    uint8_t *status_p;
    size_t len;
    int last;

    if (!niov || nread == niov || !wlen) {
        virtq_push(vq, head, 0);    /* no status byte to write */
        return;
    }
    data_in = wlen - 1;
    /* The status byte is the writable part's last (no entry is empty:
     * virtq.c adds none for an empty buffer). */
    last = (int)nin - 1;
    in[last].iov_len--;
    status_p = (uint8_t *)in[last].iov_base + in[last].iov_len;
    nin = (unsigned int)last + (in[last].iov_len ? 1 : 0);
    if (iov_take(d->iov, nout, &hdr, sizeof(hdr)) != sizeof(hdr))
        goto done;
    len = iov_trim(d->iov, &nout, sizeof(hdr), SIZE_MAX);
    sector = le64toh(hdr.sector);
    type = le32toh(hdr.type);
    switch (type) {
    case VIRTIO_BLK_T_IN:
        if (!in_disk(d, sector, data_in))
            break;
        start(d, new_req(d, head, status_p, type, sector, data_in,
                         (uint32_t)data_in + 1), in, nin);
        return;
    case VIRTIO_BLK_T_OUT:
        if (!d->writable || !in_disk(d, sector, len))
            break;
        start(d, new_req(d, head, status_p, type, sector, len, 1), d->iov,
              nout);
        return;
    case VIRTIO_BLK_T_FLUSH:
        if (!d->writable) {
            status = VIRTIO_BLK_S_OK;   /* nothing was written */
            break;
        }
        start(d, new_req(d, head, status_p, type, 0, 0, 1), NULL, 0);
        return;
    case VIRTIO_BLK_T_GET_ID: {
        char id[ID_BYTES];
        size_t k, i, put = 0;

        memcpy(id, d->serial, sizeof(id));
        for (i = 0; i < nin && put < sizeof(id); i++) {
            k = in[i].iov_len < sizeof(id) - put ? in[i].iov_len :
                                                   sizeof(id) - put;
            memcpy(in[i].iov_base, id + put, k);
            put += k;
        }
        used += (uint32_t)put;
        status = VIRTIO_BLK_S_OK;
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
        /* Synchronous: a hint, rare, and quick. */
        if (d->ops.features & (1ULL << VIRTIO_BLK_F_DISCARD))
            status = discard(d, d->iov, nout, len);
        else
            status = VIRTIO_BLK_S_UNSUPP;
        break;
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
done:
    *status_p = status;
    virtq_push(vq, head, used);
}

/* The ring broke: what was taken is answered, then the connection ends. */
static void broke(struct vublk *d)
{
    char why[sizeof(d->c.err) + 32];

    snprintf(why, sizeof(why), "the request queue: %s", d->c.err);
    drain(d);
    vu_close(&d->c, why);
}

/*
 * Takes what the guest queued, up to the in-flight limit (the ring's
 * size), a pass of BUDGET requests at a time submitted together;
 * answers what completed at once; then asks for kicks again.  At the
 * limit it stops with kicks off: completions call it again.
 */
static void serve(struct vublk *d)
{
    struct virtq *vq = &d->c.vq[0];
    unsigned int niov, nread, n, limit;
    uint64_t wlen;
    uint16_t head;
    bool empty;
    int rc;

    /* Served once started, enabled or not: a frontend that negotiated
     * protocol features but never enables the ring (qemu 7.2's
     * vhost-user-blk does not) must still get its disk. */
    if (d->c.fd < 0 || !vq->started)
        return;
    limit = vq->num < SLOTS ? vq->num : SLOTS;
    d->full = false;
    for (;;) {
        virtq_disable_kicks(vq);
        empty = false;
        for (n = 0; n < BUDGET && d->inflight < limit; n++) {
            rc = virtq_pop_rw(vq, &d->c.mem, d->iov, MAX_IOV, &niov, &nread,
                              &head, &wlen, d->c.err, sizeof(d->c.err));
            if (rc == 0) {
                empty = true;
                break;
            }
            if (rc == -E2BIG) {
                /* More segments than seg_max allows: answered empty. */
                if (!d->warned_big)
                    dlog(d, "a request of more than %d buffers: failed",
                         MAX_IOV);
                d->warned_big = true;
                virtq_push(vq, head, 0);
                continue;
            }
            if (rc < 0) {
                broke(d);
                return;
            }
            take(d, head, niov, nread, wlen);
        }
        if (d->uring) {
            submit(d);
            reap(d);            /* what completed at once (cached data) */
        }
        virtq_publish(vq);
        virtq_signal(vq);
        if (!empty) {
            /* The budget is spent, or the limit reached. */
            if (d->inflight < limit)
                continue;
            d->full = true;
            return;
        }
        rc = virtq_enable_kicks(vq, d->c.err, sizeof(d->c.err));
        if (rc < 0) {
            broke(d);
            return;
        }
        if (rc == 0)
            return;
    }
}

/* The io_uring's eventfd: answers what completed, takes more if taking
 * had stopped at the limit. */
static void completed(struct vublk *d)
{
    struct virtq *vq = &d->c.vq[0];
    uint64_t n;

    if (read(d->done_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        dlog(d, "reading its io_uring's eventfd: %s", strerror(errno));
    if (!d->inflight)
        return;
    reap(d);
    virtq_publish(vq);
    virtq_signal(vq);
    if (d->full)
        serve(d);
}

/* ---------------------------------------------------------- the thread */

static void control(struct vublk *d)
{
    uint64_t sectors, n;

    if (read(d->ctl_fd, &n, sizeof(n)) < 0)
        return;
    if (!atomic_exchange(&d->grew, false))
        return;
    sectors = atomic_load(&d->sectors);
    if (d->c.fd < 0 || sectors == d->told_sectors)
        return;
    if (vu_config_changed(&d->c) == 0)
        dlog(d, "told the frontend: %" PRIu64 " sectors", sectors);
    else
        dlog(d, "cannot tell the frontend of %" PRIu64 " sectors (no "
             "backend channel: it reads the size when it next looks)",
             sectors);
}

static void *loop(void *arg)
{
    struct vublk *d = arg;
    struct epoll_event evs[8];
    struct tag *t;
    uint64_t n64;
    int n, i;

    while (!atomic_load(&d->stop)) {
        n = epoll_wait(d->epfd, evs, 8, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            dlog(d, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (i = 0; i < n; i++) {
            t = evs[i].data.ptr;
            switch (t->kind) {
            case TAG_CTL:
                control(d);
                break;
            case TAG_LISTEN:
                vu_accept(&d->c, d->listen_fd, d->sock);
                break;
            case TAG_CONN:
                /* A message may stop the ring or replace guest memory,
                 * the end of the connection unmaps it: nothing may be
                 * in flight then. */
                drain(d);
                vu_input(&d->c);
                break;
            case TAG_DONE:
                completed(d);
                break;
            case TAG_KICK:
                if (d->c.vq[0].kick_fd >= 0 &&
                    read(d->c.vq[0].kick_fd, &n64, sizeof(n64)) < 0 &&
                    errno != EAGAIN)
                    break;
                serve(d);
                break;
            }
        }
    }
    drain(d);
    vu_close(&d->c, NULL);
    return NULL;
}

/* ---------------------------------------------------------- the API */

static void destroy(struct vublk *d)
{
    unsigned int i;

    if (d->uring)
        io_uring_queue_exit(&d->ring);
    if (d->reqs)
        for (i = 0; i < SLOTS; i++)
            free(d->reqs[i].iov);
    free(d->reqs);
    if (d->done_fd >= 0)
        close(d->done_fd);
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    if (d->file_fd >= 0)
        close(d->file_fd);
    if (d->ctl_fd >= 0)
        close(d->ctl_fd);
    if (d->epfd >= 0)
        close(d->epfd);
    free(d->who);
    free(d->target);
    free(d->sock);
    free(d);
}

static int add_fd(struct vublk *d, int fd, struct tag *t)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };

    return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/*
 * The disk's io_uring, its completions signalling done_fd (polled), and
 * its requests; 0, or -errno with why (what failed): the disk is then
 * served synchronously.
 */
static int uring_init(struct vublk *d, char *why, size_t len)
{
    struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE,
                                 .cq_entries = SLOTS };
    unsigned int i;
    int rc;

    rc = io_uring_queue_init_params(SQ_ENTRIES, &d->ring, &p);
    if (rc < 0) {
        snprintf(why, len, "io_uring_setup: %s", strerror(-rc));
        return rc;
    }
    d->uring = true;
    d->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->done_fd < 0) {
        snprintf(why, len, "eventfd: %s", strerror(errno));
        return -errno;
    }
    rc = io_uring_register_eventfd(&d->ring, d->done_fd);
    if (rc < 0) {
        snprintf(why, len, "registering its eventfd: %s", strerror(-rc));
        return rc;
    }
    rc = add_fd(d, d->done_fd, &d->done_tag);
    if (rc < 0) {
        snprintf(why, len, "polling its eventfd: %s", strerror(-rc));
        return rc;
    }
    d->reqs = calloc(SLOTS, sizeof(*d->reqs));
    if (!d->reqs) {
        snprintf(why, len, "no memory for %d requests", SLOTS);
        return -ENOMEM;
    }
    for (i = 0; i < SLOTS; i++)
        d->reqs[i].next = i + 1 < SLOTS ? &d->reqs[i + 1] : NULL;
    d->free = d->reqs;
    return 0;
}

/* A disk without an io_uring: served synchronously. */
static void uring_fini(struct vublk *d)
{
    if (d->done_fd >= 0)
        epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->done_fd, NULL);
    if (d->uring)
        io_uring_queue_exit(&d->ring);
    d->uring = false;
    if (d->done_fd >= 0)
        close(d->done_fd);
    d->done_fd = -1;
    free(d->reqs);
    d->reqs = NULL;
    d->free = NULL;
}

/* Whether a disk found no io_uring (logged once). */
static atomic_flag uring_missing = ATOMIC_FLAG_INIT;

int vublk_start(const struct vbd *v, unsigned int domid, uint64_t size,
                struct vublk **d_r, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct vublk *d;
    char why[128];
    int rc;

    d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    d->file_fd = d->listen_fd = d->ctl_fd = d->epfd = d->done_fd = -1;
    d->flushes_tail = &d->flushes;
    d->who = blkback_sprintf("domain %u vbd %u (%s)", domid, v->devid,
                             v->vdev);
    d->target = blkback_sprintf("%s", v->target);
    d->sock = blkback_sprintf("%s", v->sock);
    memcpy(d->serial, v->vdev, strnlen(v->vdev, sizeof(d->serial)));
    d->writable = v->writable;
    d->blockdev = v->blockdev;
    d->discard = v->discard && v->writable;
    atomic_init(&d->sectors, size / SECTOR);
    atomic_init(&d->stop, false);
    atomic_init(&d->grew, false);
    d->ctl_tag.kind = TAG_CTL;
    d->listen_tag.kind = TAG_LISTEN;
    d->conn_tag.kind = TAG_CONN;
    d->kick_tag.kind = TAG_KICK;
    d->done_tag.kind = TAG_DONE;

    d->ops = (struct vu_ops){
        .features = (1ULL << VIRTIO_F_VERSION_1) |
                    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
                    (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
                    (1ULL << VIRTIO_BLK_F_SEG_MAX) |
                    (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
                    (1ULL << VIRTIO_BLK_F_FLUSH) |
                    (d->writable ? 0 : 1ULL << VIRTIO_BLK_F_RO) |
                    (d->discard ? 1ULL << VIRTIO_BLK_F_DISCARD : 0) |
                    (1ULL << VU_F_PROTOCOL_FEATURES),
        .protocol_features = (1ULL << VU_PF_REPLY_ACK) |
                             (1ULL << VU_PF_CONFIG) |
                             (1ULL << VU_PF_BACKEND_REQ),
        .nr_queues = 1,
        .queues = "one request queue",
        .poll_add = poll_add,
        .poll_del = poll_del,
        .log = vu_log_line,
        .queues_changed = queues_changed,
        .get_config = get_config,
    };
    vu_init(&d->c, &d->ops, d);

    d->file_fd = open(v->target, (d->writable ? O_RDWR : O_RDONLY) |
                      O_CLOEXEC);
    if (d->file_fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open it: %s", strerror(errno));
        goto fail;
    }
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->epfd < 0 || d->ctl_fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot make its epoll or eventfd: %s",
                 strerror(errno));
        goto fail;
    }
    d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                          SOCK_CLOEXEC, 0);
    if (d->listen_fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "socket: %s", strerror(errno));
        goto fail;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
    unlink(d->sock);
    if (bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(d->listen_fd, 4) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot listen on %s: %s", d->sock,
                 strerror(errno));
        goto fail;
    }
    rc = add_fd(d, d->ctl_fd, &d->ctl_tag);
    if (!rc)
        rc = add_fd(d, d->listen_fd, &d->listen_tag);
    if (rc) {
        snprintf(err, errlen, "cannot poll its fds: %s", strerror(-rc));
        goto fail;
    }
    if (uring_init(d, why, sizeof(why)) < 0) {
        uring_fini(d);
        /* Once: every disk meets the same kernel. */
        if (!atomic_flag_test_and_set(&uring_missing))
            blkback_log("io_uring is not available (%s): raw disks are "
                        "served one request at a time", why);
    }
    rc = -pthread_create(&d->thread, NULL, loop, d);
    if (rc) {
        snprintf(err, errlen, "cannot start its thread: %s", strerror(-rc));
        goto fail;
    }
    d->running = true;
    *d_r = d;
    return 0;

fail:
    if (d->listen_fd >= 0)
        unlink(d->sock);
    destroy(d);
    return rc;
}

void vublk_resize(struct vublk *d, uint64_t size)
{
    static const uint64_t one = 1;

    atomic_store(&d->sectors, size / SECTOR);
    atomic_store(&d->grew, true);
    if (write(d->ctl_fd, &one, sizeof(one)) < 0)
        dlog(d, "cannot wake its thread: %s", strerror(errno));
}

void vublk_stop(struct vublk *d)
{
    static const uint64_t one = 1;

    if (!d)
        return;
    if (d->running) {
        atomic_store(&d->stop, true);
        if (write(d->ctl_fd, &one, sizeof(one)) < 0)
            dlog(d, "cannot wake its thread: %s", strerror(errno));
        pthread_join(d->thread, NULL);
    }
    destroy(d);
}
