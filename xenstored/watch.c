/*
 * watch.c: watches and watch events.
 */
#include "watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

struct watch {
    struct watch *hnext;         /* chain in the index */
    struct watch *cnext;         /* the connection's list */
    struct watch *cprev;
    struct engine_conn *conn;
    uint64_t seq;                /* registration order */
    uint32_t hash;
    uint16_t pathlen;
    uint16_t tokenlen;
    bool relative;
    char buf[];                  /* path NUL token NUL */
};

#define FNV_INIT 2166136261u

static uint32_t fnv_step(uint32_t h, unsigned char c)
{
    return (h ^ c) * 16777619u;
}

static uint32_t fnv(const char *p, size_t len)
{
    uint32_t h = FNV_INIT;
    size_t i;

    for (i = 0; i < len; i++)
        h = fnv_step(h, (unsigned char)p[i]);
    return h;
}

const char *watch_token(const struct watch *w)
{
    return w->buf + w->pathlen + 1;
}

int watch_index_init(struct engine *e)
{
    e->watches.cap = 256;
    e->watches.count = 0;
    e->watches.map = calloc(e->watches.cap, sizeof(*e->watches.map));
    return e->watches.map ? 0 : -ENOMEM;
}

void watch_index_free(struct engine *e)
{
    free(e->watches.map);
    e->watches.map = NULL;
    free(e->sent);
    free(e->sent_tab);
    free(e->sent_buf);
    free(e->hits);
    e->hits = NULL;
    e->sent = NULL;
    e->sent_tab = NULL;
    e->sent_buf = NULL;
}

static void index_grow(struct engine *e)
{
    struct watch_index *ix = &e->watches;
    size_t ncap = ix->cap * 2, i;
    struct watch **nm = calloc(ncap, sizeof(*nm));
    struct watch *w, *next;

    if (!nm)
        return; /* longer chains, still correct */
    for (i = 0; i < ix->cap; i++) {
        for (w = ix->map[i]; w; w = next) {
            next = w->hnext;
            w->hnext = nm[w->hash & (ncap - 1)];
            nm[w->hash & (ncap - 1)] = w;
        }
    }
    free(ix->map);
    ix->map = nm;
    ix->cap = ncap;
}

static void index_unlink(struct engine *e, struct watch *w)
{
    struct watch **pp = &e->watches.map[w->hash & (e->watches.cap - 1)];

    while (*pp != w)
        pp = &(*pp)->hnext;
    *pp = w->hnext;
    e->watches.count--;
}

/* The path as the watcher registered it: relative ones lose the home. */
static const char *event_path(const struct watch *w, const char *path)
{
    if (!w->relative)
        return path;
    path += w->conn->implicit_len;
    if (*path == '/')
        path++;
    return path;
}

const struct watch *watch_next(const struct watch *w)
{
    return w->cnext;
}

const char *watch_registered_path(const struct watch *w)
{
    return event_path(w, w->buf);
}

struct sent_event {
    const struct engine_conn *conn;
    uint32_t hash;
    uint32_t len;
    size_t off;
};

void watch_request_begin(struct engine *e)
{
    if (e->nsent)
        memset(e->sent_tab, 0, e->sent_tab_cap * sizeof(*e->sent_tab));
    e->nsent = 0;
    e->sent_len = 0;
}

static int sent_grow(struct engine *e)
{
    size_t ncap = e->sent_cap ? e->sent_cap * 2 : 64, i;
    struct sent_event *ns = realloc(e->sent, ncap * sizeof(*ns));
    uint32_t *nt;

    if (!ns)
        return -ENOMEM;
    e->sent = ns;
    e->sent_cap = ncap;
    nt = calloc(ncap * 2, sizeof(*nt));
    if (!nt)
        return -ENOMEM;
    for (i = 0; i < e->nsent; i++) {
        size_t j = e->sent[i].hash & (ncap * 2 - 1);

        while (nt[j])
            j = (j + 1) & (ncap * 2 - 1);
        nt[j] = (uint32_t)i + 1;
    }
    free(e->sent_tab);
    e->sent_tab = nt;
    e->sent_tab_cap = ncap * 2;
    return 0;
}

/*
 * True when the same event already went to this connection during this
 * request; otherwise remembers it.  Special events are never merged.
 */
static bool duplicate_event(struct engine *e, const struct engine_conn *c,
                            const char *buf, size_t len)
{
    uint32_t h = fnv(buf, len) ^ (uint32_t)c->seq;
    size_t j;

    if (buf[0] == '@')
        return false;
    if (e->nsent + 1 > e->sent_cap && sent_grow(e) < 0)
        return false;
    for (j = h & (e->sent_tab_cap - 1); e->sent_tab[j];
         j = (j + 1) & (e->sent_tab_cap - 1)) {
        const struct sent_event *s = &e->sent[e->sent_tab[j] - 1];

        if (s->hash == h && s->conn == c && s->len == len &&
            !memcmp(e->sent_buf + s->off, buf, len))
            return true;
    }
    if (e->sent_len + len > e->sent_buf_cap) {
        size_t ncap = e->sent_buf_cap ? e->sent_buf_cap * 2 : 4096;
        char *nb;

        while (ncap < e->sent_len + len)
            ncap *= 2;
        nb = realloc(e->sent_buf, ncap);
        if (!nb)
            return false;
        e->sent_buf = nb;
        e->sent_buf_cap = ncap;
    }
    memcpy(e->sent_buf + e->sent_len, buf, len);
    e->sent[e->nsent].conn = c;
    e->sent[e->nsent].hash = h;
    e->sent[e->nsent].len = (uint32_t)len;
    e->sent[e->nsent].off = e->sent_len;
    e->sent_len += len;
    e->sent_tab[j] = (uint32_t)++e->nsent;
    return false;
}

static void send_event(struct engine *e, const struct watch *w,
                       const char *path)
{
    char buf[XENSTORE_PAYLOAD_MAX + 1];
    struct xsd_sockmsg hdr;
    const char *p = event_path(w, path);
    size_t plen = strlen(p);
    size_t len = plen + 1 + w->tokenlen + 1;
    int rc;

    if (len > XENSTORE_PAYLOAD_MAX)
        return;
    memcpy(buf, p, plen + 1);
    memcpy(buf + plen + 1, watch_token(w), w->tokenlen + 1u);
    if (duplicate_event(e, w->conn, buf, len))
        return;
    hdr.type = XS_WATCH_EVENT;
    hdr.req_id = 0;
    hdr.tx_id = 0;
    hdr.len = (uint32_t)len;
    rc = e->ops.send(w->conn->opaque, &hdr, buf);
    if (rc < 0)
        engine_logf(e, ENGINE_LOG_WARN,
                    "domain %u: watch event %s lost: %s", w->conn->domid,
                    path, strerror(-rc));
}

struct fire_ctx {
    struct engine *e;
    const char *path;
    size_t len;
    const struct perm *perms, *old;
    unsigned int nperms, nold;
    bool parent_done;
    const struct node *parent;
    /* Matching watches, sent in Xen's order once all are found. */
    struct watch **hits;
    size_t nhits, cap;
    struct watch *local[16];
};

static bool permitted(struct fire_ctx *f, const struct engine_conn *c)
{
    struct perm_who who;

    conn_who(c, &who);
    if (who.privileged)
        return true;
    if (f->old && (perms_for(&who, f->old, f->nold) & PERM_READ))
        return true;
    if (f->perms && (perms_for(&who, f->perms, f->nperms) & PERM_READ))
        return true;
    if (!f->parent_done) {
        f->parent_done = true;
        if (f->len > 1)
            f->parent = store_get(f->e->store, f->path,
                                  path_parent_len(f->path, f->len));
    }
    return f->parent &&
           (perms_for(&who, node_perms(f->parent), f->parent->nperms) &
            PERM_READ);
}

static void add_hit(struct fire_ctx *f, struct watch *w)
{
    struct engine *e = f->e;

    if (f->nhits == f->cap) {
        /* Grows the engine's list, kept for the next fan-outs. */
        size_t ncap = f->cap * 2;
        struct watch **nh = realloc(f->hits == f->local ? NULL : f->hits,
                                    ncap * sizeof(*nh));

        if (!nh) {
            engine_logf(e, ENGINE_LOG_ERROR,
                        "no memory to order the watch events of %s",
                        f->path);
            send_event(e, w, f->path);
            return;
        }
        if (f->hits == f->local)
            memcpy(nh, f->local, f->nhits * sizeof(*nh));
        f->hits = e->hits = nh;
        f->cap = e->hits_cap = ncap;
    }
    f->hits[f->nhits++] = w;
}

static void fire_on(struct fire_ctx *f, uint32_t h, size_t plen)
{
    struct engine *e = f->e;
    struct watch *w;

    for (w = e->watches.map[h & (e->watches.cap - 1)]; w; w = w->hnext) {
        if (w->hash != h || w->pathlen != plen ||
            memcmp(w->buf, f->path, plen))
            continue;
        if (permitted(f, w->conn))
            add_hit(f, w);
    }
}

/* Xen's order: connections as they came, each one's watches as set. */
static int hit_cmp(const void *a, const void *b)
{
    const struct watch *x = *(const struct watch *const *)a;
    const struct watch *y = *(const struct watch *const *)b;

    if (x->conn->seq != y->conn->seq)
        return x->conn->seq < y->conn->seq ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static void send_hits(struct fire_ctx *f)
{
    size_t i;

    if (f->nhits > 1)
        qsort(f->hits, f->nhits, sizeof(*f->hits), hit_cmp);
    for (i = 0; i < f->nhits; i++)
        send_event(f->e, f->hits[i], f->path);
}

void watch_fire(struct engine *e, const char *path, size_t len, bool exact,
                const struct perm *perms, unsigned int nperms,
                const struct perm *old, unsigned int nold)
{
    struct fire_ctx f;
    uint32_t h = FNV_INIT;
    size_t i;
    const struct node *n;

    if (!e->watches.count)
        return;
    f.e = e;
    f.path = path;
    f.len = len;
    f.perms = perms;
    f.nperms = nperms;
    f.old = old;
    f.nold = nold;
    f.parent_done = false;
    f.parent = NULL;
    if (e->hits) {
        f.hits = e->hits;
        f.cap = e->hits_cap;
    } else {
        f.hits = f.local;
        f.cap = sizeof(f.local) / sizeof(f.local[0]);
    }
    f.nhits = 0;
    if (!perms) {
        n = store_get(e->store, path, len);
        if (n) {
            f.perms = node_perms(n);
            f.nperms = n->nperms;
        }
    }
    if (exact) {
        fire_on(&f, fnv(path, len), len);
    } else {
        for (i = 0; i < len; i++) {
            h = fnv_step(h, (unsigned char)path[i]);
            /* Node prefixes: "/", then up to each '/' and the end. */
            if (i == 0 || i + 1 == len || path[i + 1] == '/')
                fire_on(&f, h, i + 1);
        }
    }
    send_hits(&f);
}

void watch_fire_special(struct engine *e, int idx)
{
    const char *name = idx ? "@releaseDomain" : "@introduceDomain";
    size_t len = strlen(name);
    uint32_t h = fnv(name, len);
    struct watch *w;

    if (!e->watches.count)
        return;
    for (w = e->watches.map[h & (e->watches.cap - 1)]; w; w = w->hnext) {
        if (w->hash != h || w->pathlen != len || memcmp(w->buf, name, len))
            continue;
        if (domain_special_readable(e, idx, w->conn))
            send_event(e, w, name);
    }
}

static void watch_free(struct engine *e, struct watch *w)
{
    struct domain *d = w->conn->dom;

    index_unlink(e, w);
    if (d) {
        if (d->nbwatch)
            d->nbwatch--;
        d->memory -= (long)w->pathlen + w->tokenlen;
    }
    free(w);
}

void watch_conn_usage(const struct engine_conn *c, int *count_r,
                      long *bytes_r)
{
    const struct watch *w;

    *count_r = 0;
    *bytes_r = 0;
    for (w = c->watches; w; w = w->cnext) {
        (*count_r)++;
        *bytes_r += (long)w->pathlen + w->tokenlen;
    }
}

void watch_conn_drop_all(struct engine_conn *c)
{
    struct watch *w, *next;

    for (w = c->watches; w; w = next) {
        next = w->cnext;
        watch_free(c->e, w);
    }
    c->watches = NULL;
}

void watch_do_watch(struct req *r)
{
    struct engine *e = r->e;
    struct engine_conn *c = r->c;
    char path[PATH_MAX_ABS];
    const char *vec[2];
    size_t plen, tlen;
    bool relative;
    struct watch *w;
    uint32_t h;
    int len;

    if (payload_strings(r, vec, 2) != 2 || payload_count(r->payload,
                                                         r->len) != 2) {
        req_error(r, EINVAL, "WATCH needs a path and a token");
        return;
    }
    if (vec[0][0] == '@') {
        relative = false;
        plen = strlen(vec[0]);
        if (plen > XENSTORE_REL_PATH_MAX) {
            req_error(r, EINVAL, "WATCH of an over-long special path");
            return;
        }
        memcpy(path, vec[0], plen + 1);
    } else {
        relative = vec[0][0] != '/';
        len = path_canonical(c, vec[0], path, sizeof(path), &e->cfg);
        if (len < 0) {
            req_error(r, EINVAL, "WATCH of an invalid path");
            return;
        }
        plen = (size_t)len;
    }
    tlen = strlen(vec[1]);
    h = fnv(path, plen);
    for (w = e->watches.map[h & (e->watches.cap - 1)]; w; w = w->hnext) {
        if (w->conn == c && w->pathlen == plen && w->tokenlen == tlen &&
            !memcmp(w->buf, path, plen) && !strcmp(watch_token(w), vec[1])) {
            req_error(r, EEXIST, "WATCH already set with that token");
            return;
        }
    }
    if (!r->who.privileged && c->dom &&
        c->dom->nbwatch > (int)e->cfg.watches_per_domain) {
        req_error(r, E2BIG, "watch quota reached");
        return;
    }
    if (!r->who.privileged && c->dom && e->cfg.memory_per_domain &&
        c->dom->memory + (long)(plen + tlen) >=
            (long)e->cfg.memory_per_domain) {
        req_error(r, ENOMEM, "memory quota reached");
        return;
    }
    w = malloc(sizeof(*w) + plen + 1 + tlen + 1);
    if (!w) {
        req_error(r, ENOMEM, "no memory for the watch");
        return;
    }
    w->conn = c;
    w->seq = ++e->seq;
    w->hash = h;
    w->pathlen = (uint16_t)plen;
    w->tokenlen = (uint16_t)tlen;
    w->relative = relative;
    memcpy(w->buf, path, plen + 1);
    memcpy(w->buf + plen + 1, vec[1], tlen + 1);
    if (e->watches.count >= e->watches.cap)
        index_grow(e);
    w->hnext = e->watches.map[h & (e->watches.cap - 1)];
    e->watches.map[h & (e->watches.cap - 1)] = w;
    e->watches.count++;
    w->cnext = c->watches;
    w->cprev = NULL;
    if (c->watches)
        c->watches->cprev = w;
    c->watches = w;
    if (c->dom) {
        c->dom->nbwatch++;
        c->dom->memory += (long)(plen + tlen);
    }
    req_ack(r);
    /* A new watch fires once at once. */
    send_event(e, w, w->buf);
}

void watch_do_unwatch(struct req *r)
{
    struct engine_conn *c = r->c;
    char path[PATH_MAX_ABS];
    const char *vec[2];
    struct engine *e = r->e;
    struct watch *w;
    size_t plen;
    uint32_t h;

    if (payload_strings(r, vec, 2) != 2 || payload_count(r->payload,
                                                         r->len) != 2) {
        req_error(r, EINVAL, "UNWATCH needs a path and a token");
        return;
    }
    /* Xen only prefixes relative paths here, without validating them. */
    if (vec[0][0] == '/' || vec[0][0] == '@') {
        plen = strlen(vec[0]);
        if (plen >= sizeof(path)) {
            req_error(r, ENOENT, "UNWATCH of an unknown watch");
            return;
        }
        memcpy(path, vec[0], plen + 1);
    } else {
        int len = snprintf(path, sizeof(path), "%s/%s", c->implicit, vec[0]);

        if (len < 0 || (size_t)len >= sizeof(path)) {
            req_error(r, ENOENT, "UNWATCH of an unknown watch");
            return;
        }
        plen = (size_t)len;
    }
    h = fnv(path, plen);
    for (w = e->watches.map[h & (e->watches.cap - 1)]; w; w = w->hnext) {
        if (w->conn == c && w->pathlen == plen &&
            !memcmp(w->buf, path, plen) && !strcmp(watch_token(w), vec[1])) {
            if (w->cprev)
                w->cprev->cnext = w->cnext;
            else
                c->watches = w->cnext;
            if (w->cnext)
                w->cnext->cprev = w->cprev;
            watch_free(e, w);
            req_ack(r);
            return;
        }
    }
    req_error(r, ENOENT, "UNWATCH of an unknown watch");
}
