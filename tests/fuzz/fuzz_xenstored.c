/*
 * fuzz_xenstored.c: libFuzzer target for xenstored's wire parser and engine.
 *
 * The input is a script of records, each acting on one of NSLOTS client
 * connections (two of the control domain, two of introduced domains 1 and
 * 2, one of domain 3 that nobody introduced):
 *
 *   op < 0xc0      data:  u16 little-endian length n, then n bytes that
 *                  the connection "receives" (op % NSLOTS picks it); they
 *                  go through wire.c's framing into the engine exactly as
 *                  the daemon does it, cut wherever the input cuts them
 *   0xc0..0xdf     the client disconnects, mid-message or not
 *   0xe0..0xff     the client reads all its queued output (until then a
 *                  connection whose queue passed OUT_LIMIT gets no more
 *                  requests handled, and watch events to it are dropped,
 *                  as in io.c)
 *
 * Every message the engine sends is checked against engine.h's contract:
 * payload within XENSTORE_PAYLOAD_MAX, exactly one reply per handled
 * request echoing its req_id and tx_id, replies only to the requester,
 * watch events made of two NUL-terminated strings.  A violation aborts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "outq.h"
#include "wire.h"

#define NSLOTS 5
#define OUT_LIMIT 8192

struct slot {
    unsigned int domid;
    struct engine_conn *ec;   /* NULL: disconnected (reconnects on data) */
    struct wire_in in;
    struct outq out;
    bool held;
    bool doomed;              /* its domain was released: close it */
};

static const unsigned int slot_domid[NSLOTS] = { 0, 0, 1, 2, 3 };

static struct {
    struct engine *e;
    struct slot slots[NSLOTS];
    struct slot *cur;          /* whose request the engine handles */
    struct xsd_sockmsg req;    /* that request's header */
    unsigned int replies;      /* replies sent for it */
} fz;

static void violation(const char *what, const struct xsd_sockmsg *h)
{
    fprintf(stderr, "engine contract violated: %s (type %u req %u tx %u "
            "len %u)\n", what, h->type, h->req_id, h->tx_id, h->len);
    abort();
}

static int fz_send(void *conn_opaque, const struct xsd_sockmsg *hdr,
                   const void *payload)
{
    struct slot *s = conn_opaque;
    const char *p = payload;
    const char *nul;

    if (hdr->len > XENSTORE_PAYLOAD_MAX)
        violation("message longer than XENSTORE_PAYLOAD_MAX", hdr);
    if (hdr->type == XS_WATCH_EVENT) {
        nul = memchr(p, '\0', hdr->len);
        if (hdr->len < 2 || !nul || p[hdr->len - 1] != '\0')
            violation("watch event is not \"path\\0token\\0\"", hdr);
        if (s->out.bytes >= OUT_LIMIT)
            return -ENOBUFS;
    } else {
        if (s != fz.cur)
            violation("reply sent to a connection that asked nothing", hdr);
        if (++fz.replies > 1)
            violation("more than one reply to a request", hdr);
        if (hdr->req_id != fz.req.req_id)
            violation("reply does not echo req_id", hdr);
        if (hdr->type != XS_ERROR && hdr->type != fz.req.type)
            violation("reply type is neither ERROR nor the request's", hdr);
        if (hdr->type == XS_ERROR &&
            (hdr->len < 2 || p[hdr->len - 1] != '\0'))
            violation("error reply is not a NUL-terminated string", hdr);
    }
    if (!s->ec)
        violation("message to a freed connection", hdr);
    return outq_put(&s->out, hdr, sizeof(*hdr), payload, hdr->len);
}

static int fz_domain_introduced(void *opaque, unsigned int domid)
{
    /* One domain whose connection point cannot be made. */
    return domid == 13 ? -EIO : 0;
}

static void fz_domain_released(void *opaque, unsigned int domid)
{
    unsigned int i;

    for (i = 0; i < NSLOTS; i++)
        if (fz.slots[i].ec && fz.slots[i].domid == domid)
            fz.slots[i].doomed = true;
}

static int fz_control(void *opaque, int argc, char **argv, char *reply,
                      size_t reply_size)
{
    if (argc < 1)
        return -ENOSYS;
    if (strcmp(argv[0], "log") && strcmp(argv[0], "logfile"))
        return -ENOSYS;
    if (argc != 2)
        return -EINVAL;
    snprintf(reply, reply_size, "OK");
    return 0;
}

static const struct engine_ops fz_ops = {
    .send = fz_send,
    .domain_introduced = fz_domain_introduced,
    .domain_released = fz_domain_released,
    .control = fz_control,
    .log = NULL,
};

static void slot_close(struct slot *s)
{
    if (s->ec) {
        engine_conn_free(s->ec);
        s->ec = NULL;
    }
    wire_in_dispose(&s->in);
    outq_dispose(&s->out);
    s->held = false;
    s->doomed = false;
}

/* Connections whose domain went away are closed after the request. */
static void reap(void)
{
    unsigned int i;

    for (i = 0; i < NSLOTS; i++)
        if (fz.slots[i].doomed)
            slot_close(&fz.slots[i]);
}

static int handle(void *arg, const struct xsd_sockmsg *hdr,
                  const char *payload)
{
    struct slot *s = arg;
    int rc;

    if (s->doomed)
        return -EPIPE;
    if (s->out.bytes >= OUT_LIMIT)
        return WIRE_STOP;
    fz.cur = s;
    fz.req = *hdr;
    fz.replies = 0;
    rc = engine_handle(fz.e, s->ec, hdr, payload);
    fz.cur = NULL;
    if (rc == 0 && fz.replies != 1)
        violation("request handled without a reply", hdr);
    if (rc > 0)
        violation("engine_handle returned a positive value", hdr);
    if (rc < 0)
        return rc;
    return s->doomed ? -EPIPE : WIRE_NEXT;
}

static void slot_open(struct slot *s)
{
    s->ec = engine_conn_new(fz.e, s->domid, s);
    wire_in_init(&s->in);
    outq_init(&s->out);
}

static void feed(struct slot *s, const uint8_t *data, size_t len)
{
    int rc;

    if (!s->ec)
        slot_open(s);
    if (!s->ec)
        return;
    rc = wire_in_feed(&s->in, (const char *)data, len, handle, s);
    if (rc < 0)
        slot_close(s);
    else
        s->held = rc == WIRE_STOP;
    reap();
}

static void drain(struct slot *s)
{
    int rc;

    if (!s->ec)
        return;
    outq_consume(&s->out, s->out.bytes);
    if (s->held) {
        rc = wire_in_feed(&s->in, NULL, 0, handle, s);
        if (rc < 0)
            slot_close(s);
        else
            s->held = rc == WIRE_STOP;
        reap();
    }
}

/* INTRODUCE domains 1 and 2 from the control domain, as a toolstack does. */
static void introduce(unsigned int domid)
{
    static const char tail[] = "\0" "4660\0" "3";
    char payload[32];
    struct xsd_sockmsg h = { XS_INTRODUCE, 0, 0, 0 };
    int n;

    n = snprintf(payload, sizeof(payload), "%u", domid);
    memcpy(payload + n, tail, sizeof(tail));
    h.len = (uint32_t)n + sizeof(tail);
    h.req_id = domid;
    handle(&fz.slots[0], &h, payload);
    reap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct engine_config cfg;
    size_t i = 0, n;
    unsigned int k;
    uint8_t op;

    engine_config_init(&cfg);
    fz.e = engine_new(&cfg, &fz_ops, NULL);
    if (!fz.e)
        return 0;
    for (k = 0; k < NSLOTS; k++) {
        fz.slots[k].domid = slot_domid[k];
        slot_open(&fz.slots[k]);
    }
    introduce(1);
    introduce(2);

    while (i < size) {
        op = data[i++];
        k = op % NSLOTS;
        if (op >= 0xe0) {
            drain(&fz.slots[k]);
        } else if (op >= 0xc0) {
            slot_close(&fz.slots[k]);
        } else {
            if (size - i < 2)
                break;
            n = (size_t)data[i] | (size_t)data[i + 1] << 8;
            i += 2;
            if (n > size - i)
                n = size - i;
            feed(&fz.slots[k], data + i, n);
            i += n;
        }
    }

    for (k = 0; k < NSLOTS; k++)
        slot_close(&fz.slots[k]);
    engine_free(fz.e);
    fz.e = NULL;
    outq_pool_drain();
    return 0;
}
