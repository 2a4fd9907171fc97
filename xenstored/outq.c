/*
 * outq.c: a connection's queue of bytes waiting to be written.
 */
#include "outq.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* 16 KiB per chunk, header included: four full-size messages. */
#define CHUNK_DATA (16384 - 3 * sizeof(size_t))
/*
 * Chunks kept for reuse: 4 MiB.  A watch event to N connections takes a
 * chunk for each; a pool smaller than the fan-out frees the rest after
 * every event and mallocs them again for the next (each time moving the
 * heap's end with brk).
 */
#define POOL_MAX 256
/* iovecs per writev: 1 MiB at most. */
#define IOV_BATCH 64

struct outq_chunk {
    struct outq_chunk *next;
    size_t start;   /* first unwritten byte */
    size_t end;     /* first free byte */
    char data[CHUNK_DATA];
};

static struct outq_chunk *pool;
static unsigned int pool_len;

static struct outq_chunk *chunk_get(void)
{
    struct outq_chunk *ch = pool;

    if (ch) {
        pool = ch->next;
        pool_len--;
    } else {
        ch = malloc(sizeof(*ch));
        if (!ch)
            return NULL;
    }
    ch->next = NULL;
    ch->start = 0;
    ch->end = 0;
    return ch;
}

static void chunk_put(struct outq_chunk *ch)
{
    if (pool_len >= POOL_MAX) {
        free(ch);
        return;
    }
    ch->next = pool;
    pool = ch;
    pool_len++;
}

void outq_pool_drain(void)
{
    struct outq_chunk *ch;

    while ((ch = pool)) {
        pool = ch->next;
        free(ch);
    }
    pool_len = 0;
}

void outq_init(struct outq *q)
{
    q->head = NULL;
    q->tail = NULL;
    q->bytes = 0;
}

void outq_dispose(struct outq *q)
{
    struct outq_chunk *ch;

    while ((ch = q->head)) {
        q->head = ch->next;
        chunk_put(ch);
    }
    outq_init(q);
}

/* Free bytes the queue has without a new chunk. */
static size_t room(const struct outq *q)
{
    return q->tail ? CHUNK_DATA - q->tail->end : 0;
}

int outq_put(struct outq *q, const void *a, size_t alen,
             const void *b, size_t blen)
{
    struct outq_chunk *first = NULL, *last = NULL, *ch;
    const char *src[2] = { a, b };
    size_t len[2] = { alen, blen };
    size_t have = room(q), n;
    unsigned int i;

    /* Get every chunk first, so that a failure queues nothing. */
    while (have < alen + blen) {
        ch = chunk_get();
        if (!ch)
            goto fail;
        if (last)
            last->next = ch;
        else
            first = ch;
        last = ch;
        have += CHUNK_DATA;
    }
    if (first) {
        if (q->tail)
            q->tail->next = first;
        else
            q->head = first;
    }
    if (!q->tail)
        q->tail = first;

    for (i = 0; i < 2; i++) {
        while (len[i]) {
            if (q->tail->end == CHUNK_DATA)
                q->tail = q->tail->next;
            n = CHUNK_DATA - q->tail->end;
            if (n > len[i])
                n = len[i];
            memcpy(q->tail->data + q->tail->end, src[i], n);
            q->tail->end += n;
            src[i] += n;
            len[i] -= n;
        }
    }
    q->bytes += alen + blen;
    return 0;

fail:
    while ((ch = first)) {
        first = ch->next;
        chunk_put(ch);
    }
    return -ENOMEM;
}

void outq_consume(struct outq *q, size_t n)
{
    struct outq_chunk *ch;
    size_t k;

    q->bytes -= n;
    while (n) {
        ch = q->head;
        k = ch->end - ch->start;
        if (k > n)
            k = n;
        ch->start += k;
        n -= k;
        if (ch->start == ch->end && (ch->end == CHUNK_DATA || !ch->next)) {
            q->head = ch->next;
            if (!q->head)
                q->tail = NULL;
            chunk_put(ch);
        }
    }
}

size_t outq_peek(const struct outq *q, void *buf, size_t max)
{
    const struct outq_chunk *ch;
    size_t done = 0, k;

    for (ch = q->head; ch && done < max; ch = ch->next) {
        k = ch->end - ch->start;
        if (k > max - done)
            k = max - done;
        memcpy((char *)buf + done, ch->data + ch->start, k);
        done += k;
    }
    return done;
}

ssize_t outq_write(struct outq *q, int fd)
{
    struct iovec iov[IOV_BATCH];
    struct outq_chunk *ch;
    ssize_t r;
    int n = 0;

    for (ch = q->head; ch && n < IOV_BATCH; ch = ch->next) {
        if (ch->end == ch->start)
            continue;
        iov[n].iov_base = ch->data + ch->start;
        iov[n].iov_len = ch->end - ch->start;
        n++;
    }
    if (!n)
        return 0;
    do {
        r = writev(fd, iov, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    outq_consume(q, (size_t)r);
    return r;
}
