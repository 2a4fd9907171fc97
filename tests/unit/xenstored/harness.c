/*
 * harness.c: test driver for the xenstore engine (see harness.h).
 */
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int h_send(void *conn_opaque, const struct xsd_sockmsg *hdr,
                  const void *payload)
{
    struct hconn *hc = conn_opaque;
    char *ev, *p;

    ck_assert_uint_le(hdr->len, XENSTORE_PAYLOAD_MAX);
    if (hc->fail_send > 0) {
        hc->fail_send--;
        return -ENOBUFS;
    }
    if (hdr->type == XS_WATCH_EVENT) {
        /* Exactly two NUL-terminated strings. */
        ck_assert_uint_ge(hdr->len, 2);
        ck_assert_int_eq(((const char *)payload)[hdr->len - 1], '\0');
        ck_assert_uint_lt(hc->nevents, H_MAX_EVENTS);
        ev = malloc(hdr->len);
        ck_assert_ptr_nonnull(ev);
        memcpy(ev, payload, hdr->len);
        p = memchr(ev, '\0', hdr->len);
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_eq(memchr(p + 1, '\0', hdr->len - (size_t)(p - ev) - 1),
                         ev + hdr->len - 1);
        *p = '|';
        hc->events[hc->nevents++] = ev;
        return 0;
    }
    hc->rhdr = *hdr;
    memcpy(hc->reply, payload, hdr->len);
    hc->replies++;
    return 0;
}

static int h_introduced(void *opaque, unsigned int domid)
{
    struct h *h = opaque;

    if (h->introduce_rc)
        return h->introduce_rc;
    h->introduced[h->nintroduced++ % 64] = domid;
    return 0;
}

static void h_released(void *opaque, unsigned int domid)
{
    struct h *h = opaque;

    h->released[h->nreleased++ % 64] = domid;
}

static void h_log(void *opaque, enum engine_log_level level, const char *msg)
{
    struct h *h = opaque;
    size_t len = strlen(msg);

    (void)level;
    if (h->loglen + len + 2 >= sizeof(h->log))
        h->loglen = 0;
    memcpy(h->log + h->loglen, msg, len);
    h->loglen += len;
    h->log[h->loglen++] = '\n';
    h->log[h->loglen] = '\0';
}

static int h_ctl(void *opaque, int argc, char **argv, char *reply,
                 size_t size)
{
    (void)opaque;
    if (argc >= 1 && !strcmp(argv[0], "log")) {
        snprintf(reply, size, "OK");
        return 0;
    }
    return -ENOSYS;
}

struct h *h_new(const struct engine_config *cfg)
{
    static const struct engine_ops ops = {
        .send = h_send,
        .domain_introduced = h_introduced,
        .domain_released = h_released,
        .control = h_ctl,
        .log = h_log,
    };
    struct h *h = calloc(1, sizeof(*h));

    ck_assert_ptr_nonnull(h);
    if (cfg)
        h->cfg = *cfg;
    else
        engine_config_init(&h->cfg);
    h->e = engine_new(&h->cfg, &ops, h);
    ck_assert_ptr_nonnull(h->e);
    return h;
}

static void hconn_free(struct hconn *hc)
{
    h_clear(hc);
    free(hc);
}

void h_free(struct h *h)
{
    unsigned int i;

    engine_free(h->e);
    for (i = 0; i < h->nconns; i++)
        if (h->conns[i])
            hconn_free(h->conns[i]);
    free(h);
}

struct hconn *h_conn(struct h *h, unsigned int domid)
{
    struct hconn *hc = calloc(1, sizeof(*hc));

    ck_assert_ptr_nonnull(hc);
    ck_assert_uint_lt(h->nconns, 64);
    hc->h = h;
    hc->domid = domid;
    hc->next_req = 1;
    hc->c = engine_conn_new(h->e, domid, hc);
    ck_assert_ptr_nonnull(hc->c);
    ck_assert_uint_eq(engine_conn_domid(hc->c), domid);
    h->conns[h->nconns++] = hc;
    return hc;
}

void h_conn_close(struct hconn *hc)
{
    engine_conn_free(hc->c);
    hc->c = NULL;
}

const char *h_callv(struct hconn *hc, uint32_t type, uint32_t tx,
                    const char *payload, size_t len)
{
    static char out[XENSTORE_PAYLOAD_MAX + 128];
    struct xsd_sockmsg hdr;
    char *copy;
    unsigned int i, n;
    int rc;

    hdr.type = type;
    hdr.req_id = hc->next_req++;
    hdr.tx_id = tx;
    hdr.len = (uint32_t)len;
    /* An exact-size heap copy: ASan catches reads past the payload. */
    copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, payload, len);
    hc->replies = 0;
    rc = engine_handle(hc->h->e, hc->c, &hdr, copy);
    free(copy);
    ck_assert_int_eq(rc, 0);
    /* Exactly one reply, echoing the request's ids. */
    ck_assert_uint_eq(hc->replies, 1);
    ck_assert_uint_eq(hc->rhdr.req_id, hdr.req_id);
    ck_assert_uint_eq(hc->rhdr.tx_id, tx);
    if (hc->rhdr.type == XS_ERROR) {
        ck_assert_uint_ge(hc->rhdr.len, 2);
        ck_assert_int_eq(hc->reply[hc->rhdr.len - 1], '\0');
        out[0] = '!';
        memcpy(out + 1, hc->reply, hc->rhdr.len);
        return out;
    }
    if (type != XS_TRANSACTION_END || hc->rhdr.type != XS_ERROR)
        ck_assert_uint_eq(hc->rhdr.type, type);
    n = hc->rhdr.len;
    for (i = 0; i < n; i++)
        out[i] = hc->reply[i] ? hc->reply[i] : '|';
    out[n] = '\0';
    return out;
}

static const char *call_str(struct hconn *hc, uint32_t type, uint32_t tx,
                            const char *a, const char *b, bool nul_b)
{
    char buf[XENSTORE_PAYLOAD_MAX + 64];
    size_t la = strlen(a), lb = b ? strlen(b) : 0, len;

    ck_assert_uint_lt(la + lb + 2, sizeof(buf));
    memcpy(buf, a, la + 1);
    len = la + 1;
    if (b) {
        memcpy(buf + len, b, lb);
        len += lb;
        if (nul_b)
            buf[len++] = '\0';
    }
    return h_callv(hc, type, tx, buf, len);
}

const char *h_read(struct hconn *hc, uint32_t tx, const char *path)
{
    return call_str(hc, XS_READ, tx, path, NULL, false);
}

const char *h_write(struct hconn *hc, uint32_t tx, const char *path,
                    const char *value)
{
    return call_str(hc, XS_WRITE, tx, path, value, false);
}

const char *h_mkdir(struct hconn *hc, uint32_t tx, const char *path)
{
    return call_str(hc, XS_MKDIR, tx, path, NULL, false);
}

const char *h_rm(struct hconn *hc, uint32_t tx, const char *path)
{
    return call_str(hc, XS_RM, tx, path, NULL, false);
}

const char *h_dir(struct hconn *hc, uint32_t tx, const char *path)
{
    return call_str(hc, XS_DIRECTORY, tx, path, NULL, false);
}

const char *h_getperms(struct hconn *hc, uint32_t tx, const char *path)
{
    return call_str(hc, XS_GET_PERMS, tx, path, NULL, false);
}

const char *h_setperms(struct hconn *hc, uint32_t tx, const char *path,
                       const char *perms)
{
    char buf[1024];
    size_t i, len = strlen(path) + 1;

    ck_assert_uint_lt(len + strlen(perms) + 2, sizeof(buf));
    memcpy(buf, path, len);
    for (i = 0; perms[i]; i++)
        buf[len++] = perms[i] == ' ' ? '\0' : perms[i];
    buf[len++] = '\0';
    return h_callv(hc, XS_SET_PERMS, tx, buf, len);
}

const char *h_watch(struct hconn *hc, const char *path, const char *token)
{
    return call_str(hc, XS_WATCH, 0, path, token, true);
}

const char *h_unwatch(struct hconn *hc, const char *path,
                      const char *token)
{
    return call_str(hc, XS_UNWATCH, 0, path, token, true);
}

uint32_t h_tstart(struct hconn *hc)
{
    const char *r = h_callv(hc, XS_TRANSACTION_START, 0, "", 1);

    ck_assert_msg(r[0] != '!', "TRANSACTION_START failed: %s", r);
    return (uint32_t)strtoul(r, NULL, 10);
}

const char *h_tend(struct hconn *hc, uint32_t tx, bool commit)
{
    return h_callv(hc, XS_TRANSACTION_END, tx, commit ? "T" : "F", 2);
}

const char *h_introduce(struct hconn *hc, unsigned int domid)
{
    char buf[64];
    int len = snprintf(buf, sizeof(buf), "%u%c1234%c%u", domid, '\0', '\0',
                       domid + 10);

    return h_callv(hc, XS_INTRODUCE, 0, buf, (size_t)len + 1);
}

const char *h_control(struct hconn *hc, const char *args)
{
    char buf[1024];
    size_t i, len = 0;

    for (i = 0; args[i]; i++)
        buf[len++] = args[i] == ' ' ? '\0' : args[i];
    buf[len++] = '\0';
    return h_callv(hc, XS_CONTROL, 0, buf, len);
}

unsigned int h_nevents(const struct hconn *hc)
{
    return hc->nevents;
}

const char *h_event(const struct hconn *hc, unsigned int i)
{
    ck_assert_uint_lt(i, hc->nevents);
    return hc->events[i];
}

bool h_has_event(const struct hconn *hc, const char *ev)
{
    unsigned int i;

    for (i = 0; i < hc->nevents; i++)
        if (!strcmp(hc->events[i], ev))
            return true;
    return false;
}

void h_clear(struct hconn *hc)
{
    unsigned int i;

    for (i = 0; i < hc->nevents; i++)
        free(hc->events[i]);
    hc->nevents = 0;
}

bool h_logged(const struct h *h, const char *needle)
{
    return strstr(h->log, needle) != NULL;
}
