/*
 * outq.h: a connection's queue of bytes waiting to be written.
 *
 * Messages are copied into fixed-size chunks and written with writev, many
 * messages per system call.  Chunks are recycled through a small free list
 * shared by all queues, so a busy connection does not malloc per message.
 *
 * Threading: queues and the free list are used from one thread.
 */
#ifndef XENSTORED_OUTQ_H
#define XENSTORED_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct outq_chunk;

struct outq {
    struct outq_chunk *head;  /* oldest chunk; writing starts here */
    struct outq_chunk *tail;  /* newest chunk; messages go here */
    size_t bytes;             /* queued and not yet written */
};

void outq_init(struct outq *q);
/* Drops what is queued; idempotent. */
void outq_dispose(struct outq *q);

/* Appends a then b (b may be NULL when blen is 0).  0 or -ENOMEM. */
int outq_put(struct outq *q, const void *a, size_t alen,
             const void *b, size_t blen);

/*
 * Writes as much as the non-blocking `fd` takes.  Returns the bytes written
 * (0 when nothing was queued), -EAGAIN when the socket took nothing, or
 * another -errno from writev.
 */
ssize_t outq_write(struct outq *q, int fd);

/* Copies up to `max` queued bytes to buf without removing them. */
size_t outq_peek(const struct outq *q, void *buf, size_t max);
/* Removes the first n (<= q->bytes) queued bytes. */
void outq_consume(struct outq *q, size_t n);

/* Frees the shared free list (at exit, for leak checkers). */
void outq_pool_drain(void);

#endif /* XENSTORED_OUTQ_H */
