/*
 * wire.c: xenstore message framing on stream connections.
 */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msgtype.h"

/* A kept buffer larger than this is given back once it empties. */
#define KEEP_CAP_MAX (2 * WIRE_MSG_MAX)


bool wire_type_valid(uint32_t type)
{
    return msgtype_name(type) != NULL;
}

const char *wire_type_name(uint32_t type)
{
    const char *name = msgtype_name(type);

    return name ? name : "UNKNOWN";
}

void wire_in_init(struct wire_in *w)
{
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->held = false;
    w->bad_len = 0;
}

void wire_in_dispose(struct wire_in *w)
{
    free(w->buf);
    wire_in_init(w);
}

/* Makes room for `more` bytes after the kept ones. */
static int reserve(struct wire_in *w, size_t more)
{
    size_t cap;
    char *nb;

    if (w->cap - w->len >= more)
        return 0;
    cap = w->cap ? w->cap : WIRE_MSG_MAX;
    while (cap - w->len < more)
        cap *= 2;
    nb = realloc(w->buf, cap);
    if (!nb)
        return -ENOMEM;
    w->buf = nb;
    w->cap = cap;
    return 0;
}

static int keep(struct wire_in *w, const char *data, size_t len)
{
    int r;

    if (!len)
        return 0;
    r = reserve(w, len);
    if (r)
        return r;
    memcpy(w->buf + w->len, data, len);
    w->len += len;
    return 0;
}

/* Drops the first `n` kept bytes. */
static void unkeep(struct wire_in *w, size_t n)
{
    w->len -= n;
    if (w->len) {
        memmove(w->buf, w->buf + n, w->len);
        return;
    }
    if (w->cap > KEEP_CAP_MAX) {
        free(w->buf);
        w->buf = NULL;
        w->cap = 0;
    }
}

/*
 * Hands out the complete messages at the start of buf.  *used_r is set to
 * the bytes handed out (a message refused with WIRE_STOP is not counted).
 */
static int deliver(const char *buf, size_t len, wire_msg_fn fn, void *arg,
                   size_t *used_r, uint32_t *bad_len_r)
{
    struct xsd_sockmsg hdr;
    size_t off = 0;
    int rc;

    for (;;) {
        if (len - off < WIRE_HDR_SIZE) {
            rc = 0;
            break;
        }
        memcpy(&hdr, buf + off, WIRE_HDR_SIZE);
        if (hdr.len > XENSTORE_PAYLOAD_MAX) {
            *bad_len_r = hdr.len;
            rc = -EPROTO;
            break;
        }
        if (len - off - WIRE_HDR_SIZE < hdr.len) {
            rc = 0;
            break;
        }
        rc = fn(arg, &hdr, buf + off + WIRE_HDR_SIZE);
        if (rc)
            break;
        off += WIRE_HDR_SIZE + hdr.len;
    }
    *used_r = off;
    return rc;
}

/*
 * Completes the partial message kept in w from data; returns the bytes
 * taken in *took_r.  On return w holds either a complete message or less,
 * with all of data taken.
 */
static int complete_kept(struct wire_in *w, const char *data, size_t len,
                         size_t *took_r)
{
    struct xsd_sockmsg hdr;
    size_t need, take, took = 0;
    int r;

    if (w->len < WIRE_HDR_SIZE) {
        take = WIRE_HDR_SIZE - w->len;
        if (take > len)
            take = len;
        r = keep(w, data, take);
        if (r)
            goto out;
        took = take;
        if (w->len < WIRE_HDR_SIZE) {
            r = 0;
            goto out;
        }
    }
    memcpy(&hdr, w->buf, WIRE_HDR_SIZE);
    if (hdr.len > XENSTORE_PAYLOAD_MAX) {
        w->bad_len = hdr.len;
        r = -EPROTO;
        goto out;
    }
    need = WIRE_HDR_SIZE + hdr.len - w->len;
    take = need < len - took ? need : len - took;
    r = keep(w, data + took, take);
    if (r)
        goto out;
    took += take;
out:
    *took_r = took;
    return r;
}

int wire_in_feed(struct wire_in *w, const char *data, size_t len,
                 wire_msg_fn fn, void *arg)
{
    size_t used, took;
    int rc;

    if (w->len) {
        /*
         * Held messages first, then the one message that straddles the
         * boundary between the kept bytes and the new chunk.
         */
        rc = deliver(w->buf, w->len, fn, arg, &used, &w->bad_len);
        unkeep(w, used);
        if (rc) {
            w->held = rc == WIRE_STOP;
            if (rc == WIRE_STOP && keep(w, data, len))
                rc = -ENOMEM;
            return rc;
        }
        w->held = false;
        if (!len)
            return 0;
        rc = complete_kept(w, data, len, &took);
        if (rc)
            return rc;
        data += took;
        len -= took;
        rc = deliver(w->buf, w->len, fn, arg, &used, &w->bad_len);
        unkeep(w, used);
        if (rc) {
            w->held = rc == WIRE_STOP;
            if (rc == WIRE_STOP && keep(w, data, len))
                rc = -ENOMEM;
            return rc;
        }
        if (w->len) {
            /* complete_kept() took all of data and still wants more. */
            return 0;
        }
    }

    rc = deliver(data, len, fn, arg, &used, &w->bad_len);
    if (rc < 0)
        return rc;
    w->held = rc == WIRE_STOP;
    if (keep(w, data + used, len - used))
        return -ENOMEM;
    return rc;
}
