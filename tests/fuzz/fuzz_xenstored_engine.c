/*
 * fuzz_xenstored_engine.c: libFuzzer target for xenstored's request
 * engine, checking the store's invariants after every request.
 *
 * The input is a script of requests from five connections (slot 0 and 1:
 * the control domain; 2 and 3: domains 1 and 2, introduced at the start;
 * 4: domain 3, not introduced).  Each record is
 *
 *   op     low 5 bits: the kind (see enum kind); high 3 bits: the slot
 *   path   bits 0-1: prefix ("/", /local/domain/1, /local/domain/2,
 *          relative to the connection's home); bits 2-3: depth 0-3;
 *          bits 4-5, 6-7: components a-d (a third repeats the first).
 *          A relative depth 0 names @introduceDomain or @releaseDomain
 *   tx     0: none; 0xff: an id never issued; else one of the slot's
 *          open transactions
 *
 * followed by what the kind needs (a value, permissions, a token, ...).
 * K_DOMAIN_STATE is no request: it reports a domain's state as the
 * hypervisor would (engine_domains_changed).
 *
 * After every request the engine's own check must pass: every node's
 * parent exists and lists it, the child counters are right, and every
 * domain's node, watch and memory accounting equals a recount.  Every
 * transaction the script opens is checked too: a transaction must read
 * every node exactly as it was when the transaction started (READ,
 * DIRECTORY and GET_PERMS of a fixed set of paths, as its connection saw
 * them then), except the nodes it changed itself.  It is checked before
 * its TRANSACTION_END and whenever the script asks.  Any violation aborts.
 * With FUZZ_VERBOSE set in the environment, every request of the script
 * and its reply are printed on stderr (for reading reproducers).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "transaction.h"

#define NSLOTS 5
#define MAX_TX 4             /* tracked per slot */
#define MAX_DIRTY 48
#define NUNIV 68

enum kind {
    K_READ, K_WRITE, K_MKDIR, K_RM, K_DIRECTORY, K_GET_PERMS, K_SET_PERMS,
    K_WATCH, K_UNWATCH, K_TX_START, K_TX_COMMIT, K_TX_ABORT,
    K_DIRECTORY_PART, K_INTRODUCE, K_RELEASE, K_SET_TARGET,
    K_RESET_WATCHES, K_IS_INTRODUCED, K_GET_DOMAIN_PATH, K_RESUME,
    K_CONTROL, K_RECONNECT, K_VERIFY, K_RAW,
    K_DOMAIN_STATE,   /* the hypervisor reports a domain's state */
    K_COUNT
};

/* A transaction of the script, and what its connection saw at start. */
struct mtx {
    uint32_t id;
    bool unverifiable;
    bool exists[NUNIV];          /* in its view, as far as it changed it */
    unsigned int ndirty;
    char dirty[MAX_DIRTY][64];
    uint64_t seen[NUNIV][3];     /* READ, DIRECTORY, GET_PERMS */
};

struct slot {
    unsigned int domid;
    struct engine_conn *ec;
    bool doomed;                 /* its domain was released */
    struct mtx tx[MAX_TX];
    unsigned int ntx;
    /* The last reply. */
    uint32_t rtype;
    uint32_t rlen;
    char reply[XENSTORE_PAYLOAD_MAX + 1];
};

static const unsigned int slot_domid[NSLOTS] = { 0, 0, 1, 2, 3 };

static struct {
    struct engine *e;
    struct slot slots[NSLOTS];
    struct slot *cur;
    struct xsd_sockmsg req;
    unsigned int replies;
    char univ[NUNIV][40];
    unsigned int nuniv;
} fz;

static void fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "fuzz_xenstored_engine: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* ------------------------------------------------------------ engine ops */

static int fz_send(void *conn_opaque, const struct xsd_sockmsg *hdr,
                   const void *payload)
{
    struct slot *s = conn_opaque;
    const char *p = payload;

    if (hdr->len > XENSTORE_PAYLOAD_MAX)
        fail("message of %u bytes", hdr->len);
    if (!s->ec)
        fail("message to a freed connection");
    if (hdr->type == XS_WATCH_EVENT) {
        if (hdr->len < 2 || p[hdr->len - 1] != '\0' ||
            !memchr(p, '\0', hdr->len - 1))
            fail("watch event is not \"path\\0token\\0\"");
        return 0;
    }
    if (s != fz.cur)
        fail("reply to a connection that asked nothing");
    if (++fz.replies > 1)
        fail("two replies to one request (type %u)", fz.req.type);
    if (hdr->req_id != fz.req.req_id || hdr->tx_id != fz.req.tx_id)
        fail("reply does not echo the request's ids");
    if (hdr->type == XS_ERROR && (hdr->len < 2 || p[hdr->len - 1]))
        fail("error reply is not a string");
    s->rtype = hdr->type;
    s->rlen = hdr->len;
    if (hdr->len)
        memcpy(s->reply, payload, hdr->len);
    s->reply[hdr->len] = '\0';
    return 0;
}

static int fz_domain_introduced(void *opaque, unsigned int domid)
{
    return domid == 4 ? -EIO : 0;
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
    return -ENOSYS;
}

static const struct engine_ops fz_ops = {
    .send = fz_send,
    .domain_introduced = fz_domain_introduced,
    .domain_released = fz_domain_released,
    .control = fz_control,
};

/* ------------------------------------------------------------ requests */

static void slot_open(struct slot *s)
{
    s->ec = engine_conn_new(fz.e, s->domid, s);
    s->ntx = 0;
    s->doomed = false;
}

static void slot_close(struct slot *s)
{
    engine_conn_free(s->ec);
    s->ec = NULL;
    s->ntx = 0;
    s->doomed = false;
}

static void trace(const struct slot *s, const char *payload, size_t len)
{
    size_t i;

    fprintf(stderr, "dom %u type %u tx %u (", s->domid, fz.req.type,
            fz.req.tx_id);
    for (i = 0; i < len; i++)
        fputc(payload[i] ? payload[i] : ' ', stderr);
    fprintf(stderr, ") -> %s", s->rtype == XS_ERROR ? "error " : "");
    for (i = 0; i < s->rlen && i < 80; i++)
        fputc(s->reply[i] ? s->reply[i] : ' ', stderr);
    fputc('\n', stderr);
}

static void check_engine(void)
{
    char why[256];

    if (engine_check(fz.e, why, sizeof(why)) < 0)
        fail("engine check after a %u request: %s", fz.req.type, why);
}

/* One request; false when the connection is gone. */
static bool request(struct slot *s, uint32_t type, uint32_t tx,
                    const char *payload, size_t len)
{
    static uint32_t req_id;
    int rc;

    if (!s->ec)
        slot_open(s);
    if (!s->ec)
        return false;
    fz.cur = s;
    fz.req.type = type;
    fz.req.req_id = ++req_id;
    fz.req.tx_id = tx;
    fz.req.len = (uint32_t)len;
    fz.replies = 0;
    s->rtype = UINT32_MAX;
    rc = engine_handle(fz.e, s->ec, &fz.req, payload);
    fz.cur = NULL;
    if (rc > 0)
        fail("engine_handle returned %d", rc);
    if (rc == 0 && fz.replies != 1)
        fail("request of type %u answered %u times", type, fz.replies);
    if (rc < 0)
        slot_close(s);
    return rc == 0;
}

static uint64_t reply_hash(const struct slot *s)
{
    uint64_t h = 14695981039346656037ull;
    uint32_t i;

    h = (h ^ s->rtype) * 1099511628211ull;
    for (i = 0; i < s->rlen; i++)
        h = (h ^ (unsigned char)s->reply[i]) * 1099511628211ull;
    return h;
}

static bool reply_is(const struct slot *s, const char *err)
{
    return s->rtype == XS_ERROR && !strcmp(s->reply, err);
}

/* ------------------------------------------------------- transactions */

static void universe_init(void)
{
    static const char *const bases[] = {
        "", "/local/domain/0", "/local/domain/1", "/local/domain/2",
        "/local/domain/3",
    };
    static const char comps[] = "abc";
    unsigned int b, i, j;

    fz.nuniv = 0;
#define ADD(...) snprintf(fz.univ[fz.nuniv++], sizeof(fz.univ[0]), __VA_ARGS__)
    ADD("/");
    ADD("/tool");
    ADD("/local");
    ADD("/local/domain");
    for (b = 0; b < 5; b++) {
        if (b)
            ADD("%s", bases[b]);
        for (i = 0; i < 3; i++) {
            ADD("%s/%c", bases[b], comps[i]);
            for (j = 0; j < 3; j++)
                ADD("%s/%c/%c", bases[b], comps[i], comps[j]);
        }
    }
#undef ADD
    if (fz.nuniv != NUNIV)
        fail("universe of %u paths", fz.nuniv);
}

/* What s sees of universe path i (in tx, or outside with tx 0). */
static bool look(struct slot *s, uint32_t tx, unsigned int i, uint64_t *h)
{
    static const uint32_t types[3] = { XS_READ, XS_DIRECTORY,
                                       XS_GET_PERMS };
    const char *p = fz.univ[i];
    unsigned int k;

    for (k = 0; k < 3; k++) {
        if (!request(s, types[k], tx, p, strlen(p) + 1))
            return false;
        /* The transaction's own limits, not what it sees. */
        if (reply_is(s, "ENOSPC") || reply_is(s, "ENOMEM"))
            h[k] = 0;
        else
            h[k] = reply_hash(s);
    }
    return true;
}

static struct mtx *mtx_find(struct slot *s, uint32_t id)
{
    unsigned int i;

    for (i = 0; i < s->ntx; i++)
        if (s->tx[i].id == id)
            return &s->tx[i];
    return NULL;
}

static void mtx_drop(struct slot *s, struct mtx *t)
{
    unsigned int i = (unsigned int)(t - s->tx);

    memmove(&s->tx[i], &s->tx[i + 1], (s->ntx - i - 1) * sizeof(*t));
    s->ntx--;
}

/* Forgets the transactions the engine no longer has. */
static void mtx_sync(void)
{
    unsigned int k, i;

    for (k = 0; k < NSLOTS; k++) {
        struct slot *s = &fz.slots[k];

        for (i = 0; i < s->ntx;) {
            if (!s->ec || !tx_lookup(s->ec, s->tx[i].id))
                mtx_drop(s, &s->tx[i]);
            else
                i++;
        }
    }
}

static void mtx_started(struct slot *s)
{
    struct mtx *t;
    unsigned int i;

    if (s->rtype != XS_TRANSACTION_START || s->ntx == MAX_TX)
        return;
    t = &s->tx[s->ntx++];
    t->id = (uint32_t)strtoul(s->reply, NULL, 10);
    t->unverifiable = false;
    t->ndirty = 0;
    /* Nothing ran since the start: the store as the transaction saw it. */
    for (i = 0; i < fz.nuniv; i++)
        if (!look(s, 0, i, t->seen[i]))
            return;
    /* Which nodes exist, as the control domain sees them. */
    for (i = 0; i < fz.nuniv; i++) {
        if (!request(&fz.slots[0], XS_READ, 0, fz.univ[i],
                     strlen(fz.univ[i]) + 1))
            return;
        t->exists[i] = !reply_is(&fz.slots[0], "ENOENT");
    }
}

static void canonical(const struct slot *s, const char *path, char *out,
                      size_t size)
{
    if (path[0] == '/' || path[0] == '@')
        snprintf(out, size, "%s", path);
    else
        snprintf(out, size, "/local/domain/%u/%s", s->domid, path);
}

static void mtx_dirty(struct mtx *t, const char *path)
{
    if (t->ndirty == MAX_DIRTY) {
        t->unverifiable = true;
        return;
    }
    snprintf(t->dirty[t->ndirty++], sizeof(t->dirty[0]), "%s", path);
}

static int univ_index(const char *path)
{
    unsigned int i;

    for (i = 0; i < fz.nuniv; i++)
        if (!strcmp(fz.univ[i], path))
            return (int)i;
    return -1;
}

/* Same node, or one above the other. */
static bool related(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > lb)
        return related(b, a);
    if (!strcmp(a, "/"))
        return true;
    return !strncmp(a, b, la) && (b[la] == '\0' || b[la] == '/');
}

/*
 * After a change made in transaction id: what it changed is left out of
 * the checks.  A WRITE or MKDIR also makes the missing ancestors (what a
 * missing node below them reads as depends on them: ENOENT or EACCES),
 * an RM removes the subtree.  A change refused before it started changes
 * nothing; one refused for its quota or memory may have changed part.
 */
static void mtx_changed(struct slot *s, uint32_t id, enum kind kind,
                        const char *path)
{
    struct mtx *t = mtx_find(s, id);
    char canon[64], anc[64];
    unsigned int i;
    size_t len;
    int k;

    if (!t)
        return;
    if (s->rtype == XS_ERROR) {
        if (reply_is(s, "ENOSPC") || reply_is(s, "ENOMEM"))
            t->unverifiable = true;
        return;
    }
    canonical(s, path, canon, sizeof(canon));
    mtx_dirty(t, canon);
    if (kind == K_WRITE || kind == K_MKDIR) {
        len = strlen(canon);
        for (i = 1; i <= len; i++) {
            if (i < len && canon[i] != '/')
                continue;
            snprintf(anc, sizeof(anc), "%.*s", (int)i, canon);
            k = univ_index(anc);
            if (k >= 0 && !t->exists[k]) {
                t->exists[k] = true;
                mtx_dirty(t, anc);
            }
        }
    } else if (kind == K_RM) {
        for (i = 0; i < fz.nuniv; i++) {
            len = strlen(canon);
            if (!strncmp(fz.univ[i], canon, len) &&
                (fz.univ[i][len] == '\0' || fz.univ[i][len] == '/'))
                t->exists[i] = false;
        }
    }
}

static void mtx_verify(struct slot *s, struct mtx *t)
{
    uint64_t h[3];
    unsigned int i, d, k;
    uint32_t id = t->id;

    if (t->unverifiable || !s->ec || !tx_lookup(s->ec, id))
        return;
    for (i = 0; i < fz.nuniv; i++) {
        for (d = 0; d < t->ndirty; d++)
            if (related(fz.univ[i], t->dirty[d]))
                break;
        if (d < t->ndirty)
            continue;
        if (!look(s, id, i, h))
            return;
        /* The lookups may not add to t: find it again. */
        t = mtx_find(s, id);
        if (!t)
            return;
        for (k = 0; k < 3; k++) {
            if (h[k] && t->seen[i][k] && h[k] != t->seen[i][k])
                fail("transaction %u of domain %u sees a change of %s "
                     "made after it started (request %u: %s)", id,
                     s->domid, fz.univ[i], k, s->reply);
        }
    }
}

/* Target relations change what reads see: stop checking. */
static void mtx_all_unverifiable(void)
{
    unsigned int k, i;

    for (k = 0; k < NSLOTS; k++)
        for (i = 0; i < fz.slots[k].ntx; i++)
            fz.slots[k].tx[i].unverifiable = true;
}

/* ------------------------------------------------------------ script */

struct input {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct input *in)
{
    uint8_t b;

    if (!in->n)
        return 0;
    b = *in->p++;
    in->n--;
    return b;
}

static void path_of(const struct slot *s, uint8_t sel, char *out,
                    size_t size)
{
    static const char *const prefix[3] = { "", "/local/domain/1",
                                           "/local/domain/2" };
    static const char comps[] = "abcd";
    unsigned int pre = sel & 3, depth = (sel >> 2) & 3;
    char c[3];
    size_t len = 0;
    unsigned int i;

    c[0] = comps[(sel >> 4) & 3];
    c[1] = comps[(sel >> 6) & 3];
    c[2] = c[0];
    if (pre == 3 && depth == 0) {
        snprintf(out, size, "%s", (sel & 0x10) ? "@releaseDomain"
                                               : "@introduceDomain");
        return;
    }
    if (pre < 3)
        len = (size_t)snprintf(out, size, "%s", prefix[pre]);
    if (pre == 0 && depth == 0)
        len = (size_t)snprintf(out, size, "/");
    for (i = 0; i < depth && len + 3 < size; i++) {
        if (pre < 3 || i > 0)
            out[len++] = '/';
        out[len++] = c[i];
    }
    out[len] = '\0';
    (void)s;
}

static uint32_t tx_of(struct slot *s, uint8_t sel)
{
    if (sel == 0xff)
        return 0x7777;
    if (!sel || !s->ntx)
        return 0;
    return s->tx[(sel - 1) % s->ntx].id;
}

/* Payload builder: strings with their NULs. */
struct buf {
    char b[XENSTORE_PAYLOAD_MAX];
    size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > sizeof(b->b))
        n = sizeof(b->b) - b->len;
    memcpy(b->b + b->len, p, n);
    b->len += n;
}

static void puts0(struct buf *b, const char *s)
{
    put(b, s, strlen(s) + 1);
}

static void putf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(struct buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    puts0(b, tmp);
}

static void step(struct input *in)
{
#define C(lit) { lit, sizeof(lit) }
    static const struct {
        const char *s;
        size_t len;
    } controls[] = {
        C("check"), C("memreport"), C("quota"), C("quota\0" "1"),
        C("quota-soft"), C("quota\0" "set\0" "entry-nb\0" "30"),
        C("help"), C("nosuch"),
    };
#undef C
    uint8_t op = byte(in), psel = byte(in), tsel = byte(in);
    enum kind kind = (enum kind)((op & 31) % K_COUNT);
    struct slot *s = &fz.slots[(op >> 5) % NSLOTS];
    struct buf b = { .len = 0 };
    char path[64];
    uint32_t tx;
    unsigned int i, n;
    uint32_t type = 0;
    bool mutates = false;

    if (!s->ec)
        slot_open(s);
    if (!s->ec)
        return;
    path_of(s, psel, path, sizeof(path));
    tx = tx_of(s, tsel);
    switch (kind) {
    case K_READ:
    case K_DIRECTORY:
    case K_GET_PERMS:
    case K_MKDIR:
    case K_RM:
        type = kind == K_READ ? XS_READ : kind == K_DIRECTORY ? XS_DIRECTORY
               : kind == K_GET_PERMS ? XS_GET_PERMS
               : kind == K_MKDIR ? XS_MKDIR : XS_RM;
        mutates = kind == K_MKDIR || kind == K_RM;
        puts0(&b, path);
        break;
    case K_WRITE:
        type = XS_WRITE;
        mutates = true;
        puts0(&b, path);
        n = byte(in) % 24;
        for (i = 0; i < n; i++) {
            char c = (char)byte(in);

            put(&b, &c, 1);
        }
        break;
    case K_SET_PERMS:
        type = XS_SET_PERMS;
        mutates = true;
        puts0(&b, path);
        n = 1 + byte(in) % 4;
        for (i = 0; i < n; i++) {
            uint8_t p = byte(in);

            putf(&b, "%c%u", "nrwb"[p & 3], (p >> 2) % 5);
        }
        break;
    case K_WATCH:
    case K_UNWATCH:
        type = kind == K_WATCH ? XS_WATCH : XS_UNWATCH;
        puts0(&b, path);
        putf(&b, "t%u", byte(in) % 4);
        break;
    case K_TX_START:
        type = XS_TRANSACTION_START;
        puts0(&b, "");
        break;
    case K_TX_COMMIT:
    case K_TX_ABORT:
        type = XS_TRANSACTION_END;
        puts0(&b, kind == K_TX_COMMIT ? "T" : "F");
        if (tx && mtx_find(s, tx))
            mtx_verify(s, mtx_find(s, tx));
        break;
    case K_DIRECTORY_PART:
        type = XS_DIRECTORY_PART;
        puts0(&b, path);
        putf(&b, "%u", byte(in));
        break;
    case K_INTRODUCE:
        type = XS_INTRODUCE;
        putf(&b, "%u", byte(in) % 6);
        puts0(&b, "4660");
        putf(&b, "%u", byte(in) % 3);
        break;
    case K_RELEASE:
    case K_IS_INTRODUCED:
    case K_GET_DOMAIN_PATH:
    case K_RESUME:
        type = kind == K_RELEASE ? XS_RELEASE
               : kind == K_IS_INTRODUCED ? XS_IS_DOMAIN_INTRODUCED
               : kind == K_GET_DOMAIN_PATH ? XS_GET_DOMAIN_PATH : XS_RESUME;
        putf(&b, "%u", byte(in) % 6);
        if (kind == K_RELEASE)
            mtx_all_unverifiable();
        break;
    case K_SET_TARGET:
        type = XS_SET_TARGET;
        putf(&b, "%u", byte(in) % 6);
        putf(&b, "%u", byte(in) % 6);
        mtx_all_unverifiable();
        break;
    case K_RESET_WATCHES:
        type = XS_RESET_WATCHES;
        puts0(&b, "");
        break;
    case K_CONTROL:
        type = XS_CONTROL;
        i = byte(in) % (sizeof(controls) / sizeof(controls[0]));
        put(&b, controls[i].s, controls[i].len);
        break;
    case K_RECONNECT:
        slot_close(s);
        slot_open(s);
        return;
    case K_VERIFY:
        if (s->ntx)
            mtx_verify(s, &s->tx[tsel % s->ntx]);
        return;
    case K_DOMAIN_STATE: {
        struct engine_domain_info info = {
            .domid = byte(in) % 6,
            .state = (enum engine_domain_state)(byte(in) % 4),
        };

        /* Dying or gone: as RELEASE, which the checks cannot follow. */
        mtx_all_unverifiable();
        engine_domains_changed(fz.e, &info, 1);
        return;
    }
    case K_RAW:
    default:
        type = byte(in) % (XS_TYPE_COUNT + 2);
        n = byte(in);
        for (i = 0; i < n; i++) {
            char c = (char)byte(in);

            put(&b, &c, 1);
        }
        /* Changes the checks cannot follow. */
        if (type == XS_SET_TARGET || type == XS_RELEASE) {
            mtx_all_unverifiable();
        } else if (tx && mtx_find(s, tx) &&
                   (type == XS_WRITE || type == XS_MKDIR || type == XS_RM ||
                    type == XS_SET_PERMS)) {
            mtx_find(s, tx)->unverifiable = true;
        }
        break;
    }
    if (!request(s, type, tx, b.b, b.len))
        return;
    if (mutates && tx)
        mtx_changed(s, tx, kind, path);
    if (getenv("FUZZ_VERBOSE"))
        trace(s, b.b, b.len);
    if (kind == K_TX_START && !tx)
        mtx_started(s);
}

static void reap(void)
{
    unsigned int i;

    for (i = 0; i < NSLOTS; i++)
        if (fz.slots[i].doomed)
            slot_close(&fz.slots[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct engine_config cfg;
    struct input in = { data, size };
    unsigned int k;

    universe_init();
    engine_config_init(&cfg);
    /* Small limits, so that scripts reach them. */
    cfg.nodes_per_domain = 32;
    /* Above what the isolation checks read (NUNIV and ancestors). */
    cfg.transaction_nodes = 128;
    cfg.watches_per_domain = 8;
    cfg.transactions = 3;
    cfg.perms_per_node = 4;
    cfg.memory_per_domain = 8192;
    fz.e = engine_new(&cfg, &fz_ops, NULL);
    if (!fz.e)
        return 0;
    for (k = 0; k < NSLOTS; k++) {
        fz.slots[k].domid = slot_domid[k];
        slot_open(&fz.slots[k]);
    }
    for (k = 1; k <= 2; k++) {
        char p[16] = { 0 };
        int n = snprintf(p, sizeof(p), "%u", k);

        memcpy(p + n + 1, "4660\0" "3", 7);
        request(&fz.slots[0], XS_INTRODUCE, 0, p, (size_t)n + 8);
    }
    while (in.n) {
        step(&in);
        reap();
        mtx_sync();
        check_engine();
    }
    for (k = 0; k < NSLOTS; k++)
        if (fz.slots[k].ec)
            slot_close(&fz.slots[k]);
    engine_free(fz.e);
    fz.e = NULL;
    return 0;
}
