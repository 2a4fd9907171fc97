/*
 * transaction.c: transactions with snapshot isolation (see transaction.h).
 */
#include "transaction.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "watch.h"

#define TXE_READ     0x01u   /* content seen: validate at commit */
#define TXE_LISTED   0x02u   /* child list seen: validate at commit */
#define TXE_WRITTEN  0x04u   /* overlay holds the content */
#define TXE_EXISTS   0x08u   /* ... and the node exists */
#define TXE_KIDS     0x10u   /* overlay holds the child list */
#define TXE_FIRE     0x20u   /* fire watches at commit */
#define TXE_EXACT    0x40u   /* ... for the node only */
#define TXE_OPERMS   0x80u   /* operms holds the perms before the change */
#define TXE_PSEEN    0x100u  /* only existence and perms seen: validate those */

struct txent {
    struct txent *hnext;
    struct txent *onext;         /* access order */
    uint32_t hash;
    uint32_t flags;
    uint64_t lgen;               /* generation of the overlay state */
    struct perm *perms;
    unsigned int nperms;
    char *data;
    unsigned int datalen;
    char *kids;                  /* NUL-separated names */
    unsigned int kidslen, kidscap;
    struct perm *operms;
    unsigned int noperms;
    unsigned int nnew;           /* commit: nodes it gets as new children */
    size_t len;
    char path[];
};

struct dom_delta {
    unsigned int domid;
    int delta;
};

struct tx {
    struct tx *next;
    uint32_t id;
    uint64_t start;
    struct txent **map;
    size_t cap, nents;
    struct txent *first, *last;
    struct dom_delta *deltas;
    size_t ndeltas;
    bool failed;
    bool created;
    bool snap_closed;            /* committing: its snapshot is done */
};

static uint32_t hash_path(const char *p, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

void view_of_node(const struct node *n, struct nview *v)
{
    v->exists = node_live(n);
    v->gen = n->gen;
    v->perms = node_perms(n);
    v->nperms = n->nperms;
    v->data = node_data(n);
    v->datalen = n->datalen;
    v->childlen = node_childlen(n);
}

/* ---------------------------------------------------------------- overlay */

static struct txent *ent_find(const struct tx *t, const char *path,
                              size_t len, uint32_t h)
{
    struct txent *x;

    for (x = t->map[h & (t->cap - 1)]; x; x = x->hnext)
        if (x->hash == h && x->len == len && !memcmp(x->path, path, len))
            return x;
    return NULL;
}

static void ent_free(struct txent *x)
{
    free(x->perms);
    free(x->data);
    free(x->kids);
    free(x->operms);
    free(x);
}

static int ent_add(struct req *r, const char *path, size_t len, uint32_t h,
                   struct txent **x_r)
{
    struct tx *t = r->tx;
    struct txent *x;

    if (!r->who.privileged && t->nents >= r->e->cfg.transaction_nodes) {
        t->failed = true;
        return -ENOSPC;
    }
    if (t->nents >= t->cap) {
        size_t ncap = t->cap * 2, i;
        struct txent **nm = calloc(ncap, sizeof(*nm));
        struct txent *y, *next;

        if (!nm) {
            t->failed = true;
            return -ENOMEM;
        }
        for (i = 0; i < t->cap; i++) {
            for (y = t->map[i]; y; y = next) {
                next = y->hnext;
                y->hnext = nm[y->hash & (ncap - 1)];
                nm[y->hash & (ncap - 1)] = y;
            }
        }
        free(t->map);
        t->map = nm;
        t->cap = ncap;
    }
    x = calloc(1, sizeof(*x) + len + 1);
    if (!x) {
        t->failed = true;
        return -ENOMEM;
    }
    x->hash = h;
    x->len = len;
    memcpy(x->path, path, len);
    x->path[len] = '\0';
    x->hnext = t->map[h & (t->cap - 1)];
    t->map[h & (t->cap - 1)] = x;
    if (t->last)
        t->last->onext = x;
    else
        t->first = x;
    t->last = x;
    t->nents++;
    *x_r = x;
    return 0;
}

static int ent_get(struct req *r, const char *path, size_t len,
                   struct txent **x_r)
{
    uint32_t h = hash_path(path, len);

    *x_r = ent_find(r->tx, path, len, h);
    if (*x_r)
        return 0;
    return ent_add(r, path, len, h, x_r);
}

/* Visible children of a store node at the snapshot. */
static int snap_list(const struct store *s, const struct node *n,
                     uint64_t snap, tx_name_fn fn, void *arg)
{
    struct node_state st;
    uint32_t i;
    int rc;

    if (!n)
        return 0;
    for (i = 0; i < node_nslots(n); i++) {
        const struct node *k = node_slot(n, i);

        if (!k)
            continue;
        store_state_at(s, k, snap, &st);
        if (!st.exists)
            continue;
        rc = fn(arg, node_name(k), k->namelen);
        if (rc)
            return rc;
    }
    return 0;
}

static int count_fn(void *arg, const char *name, size_t len)
{
    (void)name;
    *(unsigned int *)arg += (unsigned int)len + 1;
    return 0;
}

static unsigned int snap_childlen(const struct store *s, const struct node *n,
                                  uint64_t snap)
{
    unsigned int total = 0;

    if (!n || !n->kids)
        return 0;
    if (n->gen <= snap)
        return node_childlen(n);
    snap_list(s, n, snap, count_fn, &total);
    return total;
}

static int kids_append(struct txent *x, const char *name, size_t len)
{
    if (x->kidslen + len + 1 > x->kidscap) {
        unsigned int ncap = x->kidscap ? x->kidscap * 2 : 64;
        char *nk;

        while (ncap < x->kidslen + len + 1)
            ncap *= 2;
        nk = realloc(x->kids, ncap);
        if (!nk)
            return -ENOMEM;
        x->kids = nk;
        x->kidscap = ncap;
    }
    memcpy(x->kids + x->kidslen, name, len);
    x->kids[x->kidslen + len] = '\0';
    x->kidslen += (unsigned int)len + 1;
    return 0;
}

static int append_fn(void *arg, const char *name, size_t len)
{
    return kids_append(arg, name, len);
}

/* Gives x its own copy of the child list, from the snapshot. */
static int materialize(struct req *r, struct txent *x)
{
    struct store *s = r->e->store;
    const struct node *n;
    int rc;

    if (x->flags & TXE_KIDS)
        return 0;
    x->flags |= TXE_LISTED | TXE_KIDS;
    x->kidslen = 0;
    n = store_lookup(s, x->path, x->len);
    rc = snap_list(s, n, r->tx->start, append_fn, x);
    if (rc) {
        r->tx->failed = true;
        return -ENOMEM;
    }
    return 0;
}

static void kids_remove(struct txent *x, const char *name, size_t len)
{
    unsigned int off = 0;

    while (off < x->kidslen) {
        size_t l = strlen(x->kids + off);

        if (l == len && !memcmp(x->kids + off, name, len)) {
            memmove(x->kids + off, x->kids + off + l + 1,
                    x->kidslen - off - l - 1);
            x->kidslen -= (unsigned int)l + 1;
            return;
        }
        off += (unsigned int)l + 1;
    }
}

static void view_of_ent(struct req *r, const struct txent *x,
                        struct nview *v)
{
    v->exists = x->flags & TXE_EXISTS;
    v->gen = x->lgen;
    v->perms = x->perms;
    v->nperms = x->nperms;
    v->data = x->data;
    v->datalen = x->datalen;
    if (x->flags & TXE_KIDS)
        v->childlen = x->kidslen;
    else
        v->childlen = snap_childlen(r->e->store,
                                    store_lookup(r->e->store, x->path,
                                                 x->len),
                                    r->tx->start);
}

static void view_of_snap(struct req *r, const char *path, size_t len,
                         struct nview *v)
{
    struct store *s = r->e->store;
    const struct node *n = store_lookup(s, path, len);
    struct node_state st;

    memset(v, 0, sizeof(*v));
    if (!n)
        return;
    store_state_at(s, n, r->tx->start, &st);
    if (!st.exists)
        return;
    v->exists = true;
    v->gen = st.gen;
    v->perms = st.perms;
    v->nperms = st.nperms;
    v->data = st.data;
    v->datalen = st.datalen;
    v->childlen = snap_childlen(s, n, r->tx->start);
}

int tx_get(struct req *r, const char *path, size_t len, struct nview *v)
{
    struct txent *x;
    int rc;

    rc = ent_get(r, path, len, &x);
    if (rc < 0)
        return rc;
    if (x->flags & TXE_WRITTEN) {
        view_of_ent(r, x, v);
        return 0;
    }
    x->flags |= TXE_READ;
    view_of_snap(r, path, len, v);
    return 0;
}

/* Remembers the perms before the first change, for watch checks. */
static int save_operms(struct txent *x, const struct nview *v);

int tx_peek(struct req *r, const char *path, size_t len, struct nview *v)
{
    struct txent *x;
    int rc;

    rc = ent_get(r, path, len, &x);
    if (rc < 0)
        return rc;
    if (x->flags & TXE_WRITTEN) {
        view_of_ent(r, x, v);
        return 0;
    }
    view_of_snap(r, path, len, v);
    x->flags |= TXE_PSEEN;
    if (save_operms(x, v) < 0) {
        r->tx->failed = true;
        return -ENOMEM;
    }
    return 0;
}

struct list_ctx {
    tx_name_fn fn;
    void *arg;
};

int tx_list(struct req *r, const char *path, size_t len, tx_name_fn fn,
            void *arg, uint64_t *gen_r)
{
    struct store *s = r->e->store;
    struct nview v;
    struct txent *x;
    unsigned int off;
    int rc;

    rc = ent_get(r, path, len, &x);
    if (rc < 0)
        return rc;
    if (x->flags & TXE_KIDS) {
        *gen_r = x->lgen;
        for (off = 0; off < x->kidslen;) {
            size_t l = strlen(x->kids + off);

            if (fn(arg, x->kids + off, l))
                break;
            off += (unsigned int)l + 1;
        }
        return 0;
    }
    x->flags |= TXE_LISTED | TXE_READ;
    view_of_snap(r, path, len, &v);
    *gen_r = (x->flags & TXE_WRITTEN) ? x->lgen : v.gen;
    snap_list(s, store_lookup(s, path, len), r->tx->start, fn, arg);
    return 0;
}

static void add_delta(struct tx *t, unsigned int domid, int delta)
{
    struct dom_delta *nd;
    size_t i;

    for (i = 0; i < t->ndeltas; i++) {
        if (t->deltas[i].domid == domid) {
            t->deltas[i].delta += delta;
            return;
        }
    }
    nd = realloc(t->deltas, (t->ndeltas + 1) * sizeof(*nd));
    if (!nd) {
        t->failed = true;
        return;
    }
    t->deltas = nd;
    t->deltas[t->ndeltas].domid = domid;
    t->deltas[t->ndeltas].delta = delta;
    t->ndeltas++;
}

static void queue_fire(struct txent *x, bool exact)
{
    if (!(x->flags & TXE_FIRE)) {
        x->flags |= TXE_FIRE;
        if (exact)
            x->flags |= TXE_EXACT;
    } else if (!exact) {
        x->flags &= ~TXE_EXACT;
    }
}

static int copy_perms(struct perm **dst, unsigned int *n_r,
                      const struct perm *src, unsigned int n)
{
    struct perm *p = malloc((n ? n : 1) * sizeof(*p));

    if (!p)
        return -ENOMEM;
    memcpy(p, src, n * sizeof(*p));
    free(*dst);
    *dst = p;
    *n_r = n;
    return 0;
}

static int copy_data(struct txent *x, const void *data, unsigned int len)
{
    char *d = NULL;

    if (len) {
        d = malloc(len);
        if (!d)
            return -ENOMEM;
        memcpy(d, data, len);
    }
    free(x->data);
    x->data = d;
    x->datalen = len;
    return 0;
}

static int save_operms(struct txent *x, const struct nview *v)
{
    if ((x->flags & TXE_OPERMS) || !v->exists)
        return 0;
    x->flags |= TXE_OPERMS;
    return copy_perms(&x->operms, &x->noperms, v->perms, v->nperms);
}

static const char *base_of(const char *path, size_t len, size_t *blen)
{
    const char *b = path + len;

    while (b > path && b[-1] != '/')
        b--;
    *blen = (size_t)(path + len - b);
    return b;
}

int tx_create(struct req *r, const char *path, size_t len,
              const struct perm *perms, unsigned int nperms,
              const void *data, unsigned int datalen, bool fire)
{
    size_t plen = path_parent_len(path, len), blen;
    const char *base = base_of(path, len, &blen);
    struct txent *px, *x;
    struct nview old;
    int rc;

    rc = ent_get(r, path, plen, &px);
    if (rc < 0)
        return rc;
    rc = materialize(r, px);
    if (rc < 0)
        return rc;
    rc = ent_get(r, path, len, &x);
    if (rc < 0)
        return rc;
    if (!(x->flags & TXE_WRITTEN)) {
        view_of_snap(r, path, len, &old);
        x->flags |= TXE_READ;
    }
    if (kids_append(px, base, blen) < 0 ||
        copy_perms(&x->perms, &x->nperms, perms, nperms) < 0 ||
        copy_data(x, data, datalen) < 0) {
        r->tx->failed = true;
        return -ENOMEM;
    }
    px->lgen = store_next_gen(r->e->store);
    free(x->kids);
    x->kids = NULL;
    x->kidslen = x->kidscap = 0;
    x->flags |= TXE_WRITTEN | TXE_EXISTS | TXE_KIDS;
    x->lgen = store_next_gen(r->e->store);
    add_delta(r->tx, perms[0].id, 1);
    r->tx->created = true;
    if (fire)
        queue_fire(x, false);
    return 0;
}

int tx_set(struct req *r, const char *path, size_t len,
           const struct perm *perms, unsigned int nperms, const void *data,
           unsigned int datalen, bool fire)
{
    struct txent *x;
    struct nview v;
    unsigned int old_owner;
    int rc;

    rc = ent_get(r, path, len, &x);
    if (rc < 0)
        return rc;
    if (!(x->flags & TXE_WRITTEN)) {
        view_of_snap(r, path, len, &v);
        /* A new value on the old perms depends on those perms alone. */
        x->flags |= (!perms && datalen != STORE_KEEP_DATA) ? TXE_PSEEN
                                                           : TXE_READ;
        if (!v.exists)
            return -ENOENT;
        if (save_operms(x, &v) < 0 ||
            copy_perms(&x->perms, &x->nperms, v.perms, v.nperms) < 0 ||
            copy_data(x, v.data, v.datalen) < 0)
            goto nomem;
        x->flags |= TXE_WRITTEN | TXE_EXISTS;
    } else if (!(x->flags & TXE_EXISTS)) {
        return -ENOENT;
    }
    old_owner = x->perms[0].id;
    if (perms && copy_perms(&x->perms, &x->nperms, perms, nperms) < 0)
        goto nomem;
    if (datalen != STORE_KEEP_DATA && copy_data(x, data, datalen) < 0)
        goto nomem;
    if (x->perms[0].id != old_owner) {
        add_delta(r->tx, old_owner, -1);
        add_delta(r->tx, x->perms[0].id, 1);
    }
    x->lgen = store_next_gen(r->e->store);
    if (fire)
        queue_fire(x, false);
    return 0;

nomem:
    r->tx->failed = true;
    return -ENOMEM;
}

struct names {
    char *buf;
    size_t len, cap;
};

static int names_fn(void *arg, const char *name, size_t len)
{
    struct names *nm = arg;

    if (nm->len + len + 1 > nm->cap) {
        size_t ncap = nm->cap ? nm->cap * 2 : 256;
        char *nb;

        while (ncap < nm->len + len + 1)
            ncap *= 2;
        nb = realloc(nm->buf, ncap);
        if (!nb)
            return -ENOMEM;
        nm->buf = nb;
        nm->cap = ncap;
    }
    memcpy(nm->buf + nm->len, name, len);
    nm->buf[nm->len + len] = '\0';
    nm->len += len + 1;
    return 0;
}

static int delete_rec(struct req *r, char *path, size_t len, bool top)
{
    struct names nm = { NULL, 0, 0 };
    struct txent *x;
    struct nview v;
    uint64_t gen;
    size_t off;
    int rc;

    rc = tx_get(r, path, len, &v);
    if (rc < 0)
        return rc;
    if (!v.exists)
        return 0;
    rc = tx_list(r, path, len, names_fn, &nm, &gen);
    if (rc < 0)
        goto out;
    for (off = 0; off < nm.len;) {
        size_t l = strlen(nm.buf + off);

        if (len + 1 + l + 1 <= PATH_MAX_ABS) {
            path[len] = '/';
            memcpy(path + len + 1, nm.buf + off, l + 1);
            rc = delete_rec(r, path, len + 1 + l, false);
            path[len] = '\0';
            if (rc < 0)
                goto out;
        }
        off += l + 1;
    }
    rc = ent_get(r, path, len, &x);
    if (rc < 0)
        goto out;
    /* v may point into x: take the old perms before changing x. */
    rc = tx_get(r, path, len, &v);
    if (rc < 0 || save_operms(x, &v) < 0 ||
        copy_perms(&x->perms, &x->nperms, v.perms, v.nperms) < 0) {
        rc = -ENOMEM;
        goto out;
    }
    add_delta(r->tx, x->perms[0].id, -1);
    free(x->data);
    x->data = NULL;
    x->datalen = 0;
    free(x->kids);
    x->kids = NULL;
    x->kidslen = x->kidscap = 0;
    x->flags |= TXE_WRITTEN | TXE_KIDS;
    x->flags &= ~TXE_EXISTS;
    x->lgen = store_next_gen(r->e->store);
    queue_fire(x, !top);
    rc = 0;

out:
    free(nm.buf);
    if (rc < 0)
        r->tx->failed = true;
    return rc;
}

int tx_delete(struct req *r, const char *path, size_t len)
{
    size_t plen = path_parent_len(path, len), blen;
    const char *base = base_of(path, len, &blen);
    char *buf = malloc(PATH_MAX_ABS);
    struct txent *px;
    int rc;

    if (!buf)
        return -ENOMEM;
    memcpy(buf, path, len);
    buf[len] = '\0';
    rc = delete_rec(r, buf, len, true);
    free(buf);
    if (rc < 0)
        return rc;
    rc = ent_get(r, path, plen, &px);
    if (rc < 0)
        return rc;
    rc = materialize(r, px);
    if (rc < 0)
        return rc;
    kids_remove(px, base, blen);
    px->lgen = store_next_gen(r->e->store);
    return 0;
}

/* ---------------------------------------------------------------- life */

struct tx *tx_lookup(const struct engine_conn *c, uint32_t id)
{
    struct tx *t;

    for (t = c->txs; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

static void tx_free(struct engine_conn *c, struct tx *t)
{
    struct tx **pp;
    struct txent *x, *next;

    for (pp = &c->txs; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    c->ntx--;
    c->e->ntx--;
    if (!t->snap_closed)
        store_snap_close(c->e->store, t->start);
    for (x = t->first; x; x = next) {
        next = x->onext;
        ent_free(x);
    }
    free(t->map);
    free(t->deltas);
    free(t);
}

void tx_conn_drop_all(struct engine_conn *c)
{
    while (c->txs)
        tx_free(c, c->txs);
}

void tx_do_start(struct req *r)
{
    struct engine_conn *c = r->c;
    struct engine *e = r->e;
    char buf[16];
    struct tx *t;
    int len;

    if (r->tx) {
        req_error(r, EBUSY, "TRANSACTION_START inside a transaction");
        return;
    }
    if (!r->who.privileged && c->ntx > e->cfg.transactions) {
        req_error(r, ENOSPC, "transaction quota reached");
        return;
    }
    t = calloc(1, sizeof(*t));
    if (t)
        t->map = calloc(16, sizeof(*t->map));
    if (!t || !t->map) {
        if (t)
            free(t);
        req_error(r, ENOMEM, "no memory for the transaction");
        return;
    }
    t->cap = 16;
    t->start = store_next_gen(e->store);
    if (store_snap_open(e->store, t->start) < 0) {
        free(t->map);
        free(t);
        req_error(r, ENOMEM, "no memory for the transaction");
        return;
    }
    /* Ids only repeat after 2^32 transactions: check from then on. */
    do {
        t->id = c->next_txid++;
        if (!t->id)
            c->txid_wrapped = true;
    } while (!t->id || (c->txid_wrapped && tx_lookup(c, t->id)));
    t->next = c->txs;
    c->txs = t;
    c->ntx++;
    e->ntx++;
    len = snprintf(buf, sizeof(buf), "%u", t->id);
    req_reply(r, XS_TRANSACTION_START, buf, (unsigned int)len + 1);
}

static int depth_of(const struct txent *x)
{
    int d = 0;
    size_t i;

    for (i = 0; i < x->len; i++)
        d += x->path[i] == '/';
    return d;
}

static int apply_cmp(const void *a, const void *b)
{
    const struct txent *x = *(const struct txent *const *)a;
    const struct txent *y = *(const struct txent *const *)b;
    bool xe = x->flags & TXE_EXISTS, ye = y->flags & TXE_EXISTS;
    int dx = depth_of(x), dy = depth_of(y);

    if (xe != ye)
        return xe ? -1 : 1;
    /* Creations top-down, deletions bottom-up. */
    return xe ? dx - dy : dy - dx;
}

static bool same_perms(const struct node *n, const struct txent *x)
{
    return n->nperms == x->noperms &&
           !memcmp(node_perms(n), x->operms, x->noperms * sizeof(*x->operms));
}

/*
 * Commit check: has anything this transaction saw changed since?  A node
 * it read or listed must be as at the start.  A node it only overwrote
 * (a blind write) needs only the existence and perms its write relied
 * on: applying the write now gives what running it now would give, so
 * two transactions that overwrite one node both commit, in commit order.
 */
static bool tx_conflicts(const struct engine *e, const struct tx *t,
                         const char **path_r)
{
    const struct txent *x;

    for (x = t->first; x; x = x->onext) {
        const struct node *n = store_lookup(e->store, x->path, x->len);
        bool existed, live = n && node_live(n);

        if (!(x->flags & (TXE_READ | TXE_LISTED)) &&
            (x->flags & TXE_PSEEN)) {
            existed = x->flags & TXE_OPERMS;
            if (live != existed || (live && !same_perms(n, x))) {
                *path_r = x->path;
                return true;
            }
            continue;
        }
        if (!n)
            continue;
        /* Child list changes move the parent's generation too. */
        if (n->gen > t->start) {
            *path_r = x->path;
            return true;
        }
    }
    return false;
}

/* The changes of a commit, in the order they are made. */
static struct txent **tx_order(struct tx *t, size_t *n_r)
{
    struct txent **order, *x;
    size_t n = 0;

    order = malloc((t->nents ? t->nents : 1) * sizeof(*order));
    if (!order)
        return NULL;
    for (x = t->first; x; x = x->onext)
        if (x->flags & TXE_WRITTEN)
            order[n++] = x;
    qsort(order, n, sizeof(*order), apply_cmp);
    *n_r = n;
    return order;
}

/*
 * Everything the commit can fail on, before it changes anything: every
 * change must still be possible (creations under an existing parent,
 * changes to existing nodes) and the store sets aside all the memory the
 * changes will take.  Returns 0, -EAGAIN or -ENOMEM.
 */
static int tx_plan(struct engine *e, struct tx *t, struct txent **order,
                   size_t n)
{
    struct store *s = e->store;
    struct txent *x, *px;
    size_t i, plen;
    int rc = 0;

    for (i = 0; rc == 0 && i < n; i++) {
        const struct node *node;

        x = order[i];
        node = store_lookup(s, x->path, x->len);
        if (!(x->flags & TXE_EXISTS)) {
            if (node && node_live(node))
                rc = store_plan_delete(s, node);
            continue;
        }
        if (node && node_live(node)) {
            rc = store_plan_set(s, node, x->nperms, x->datalen,
                                x->perms[0].id);
            continue;
        }
        /* A creation: the parent exists, or an earlier change makes it. */
        plen = path_parent_len(x->path, x->len);
        px = ent_find(t, x->path, plen, hash_path(x->path, plen));
        if (!store_get(s, x->path, plen) &&
            (!px || (px->flags & (TXE_WRITTEN | TXE_EXISTS)) !=
                        (TXE_WRITTEN | TXE_EXISTS)))
            return -EAGAIN;
        rc = store_plan_create(s, x->path, x->len, x->nperms, x->datalen,
                               x->perms[0].id);
        if (rc == 0 && !node) {
            /* Brand new: it takes a slot in its parent's child list. */
            if (px)
                px->nnew++;
            else
                rc = store_plan_kids(s, store_lookup(s, x->path, plen), 1);
        }
    }
    /* Room in each parent's child list (NULL: a parent made here too). */
    for (px = t->first; px; px = px->onext) {
        if (rc == 0 && px->nnew)
            rc = store_plan_kids(s, store_lookup(s, px->path, px->len),
                                 px->nnew);
        px->nnew = 0;
    }
    return rc;
}

/* Makes the planned changes: nothing here can fail. */
static void tx_apply(struct req *r, struct tx *t, struct txent **order,
                     size_t n)
{
    struct engine *e = r->e;
    struct store *s = e->store;
    struct txent *x;
    size_t i;

    for (i = 0; i < n; i++) {
        struct node *node;

        x = order[i];
        node = store_get(s, x->path, x->len);
        if (x->flags & TXE_EXISTS) {
            if (node) {
                node = store_set(s, node, x->perms, x->nperms, x->data,
                                 x->datalen);
            } else {
                struct node *parent = store_get(s, x->path,
                                                path_parent_len(x->path,
                                                                x->len));

                node = parent ? store_create(s, parent, x->path, x->len,
                                             x->perms, x->nperms, x->data,
                                             x->datalen)
                              : NULL;
            }
            if (!node)
                engine_logf(e, ENGINE_LOG_ERROR,
                            "domain %u: transaction %u: could not apply %s",
                            r->c->domid, t->id, x->path);
        } else if (node) {
            store_delete(s, node, NULL, NULL);
        }
    }
}

static void tx_fire(struct engine *e, struct tx *t)
{
    struct txent *x;

    for (x = t->first; x; x = x->onext) {
        const struct perm *p = NULL;
        unsigned int np = 0;

        if (!(x->flags & TXE_FIRE))
            continue;
        if (!(x->flags & TXE_EXISTS)) {
            /* Deleted: the perms it had are all there is to check. */
            p = x->perms;
            np = x->nperms;
        }
        watch_fire(e, x->path, x->len, x->flags & TXE_EXACT, p, np,
                   (x->flags & TXE_OPERMS) ? x->operms : NULL, x->noperms);
    }
}

void tx_do_end(struct req *r)
{
    const char *arg = payload_onearg(r);
    struct engine *e = r->e;
    struct tx *t = r->tx;
    const char *where = NULL;
    struct txent **order;
    size_t i, n;
    int rc;

    if (!arg || (strcmp(arg, "T") && strcmp(arg, "F"))) {
        req_error(r, EINVAL, "TRANSACTION_END needs T or F");
        return;
    }
    if (!t) {
        req_error(r, ENOENT, "TRANSACTION_END outside a transaction");
        return;
    }
    if (!strcmp(arg, "F")) {
        tx_free(r->c, t);
        r->tx = NULL;
        req_ack(r);
        return;
    }
    if (t->failed) {
        tx_free(r->c, t);
        r->tx = NULL;
        req_error(r, ENOMEM, "transaction failed earlier");
        return;
    }
    if (tx_conflicts(e, t, &where)) {
        engine_logf(e, ENGINE_LOG_DEBUG,
                    "domain %u: transaction %u conflicts on %s",
                    r->c->domid, t->id, where);
        tx_free(r->c, t);
        r->tx = NULL;
        req_error(r, EAGAIN, NULL);
        return;
    }
    if (t->created && !r->who.privileged) {
        for (i = 0; i < t->ndeltas; i++) {
            const struct domain *d = domain_find(e, t->deltas[i].domid);
            int cnt = (d ? d->nbentry : 0) + t->deltas[i].delta;

            if (t->deltas[i].domid != 0 &&
                cnt >= (int)e->cfg.nodes_per_domain) {
                tx_free(r->c, t);
                r->tx = NULL;
                req_error(r, ENOSPC, "node quota reached at commit");
                return;
            }
        }
    }
    /* All or nothing: every failure is found before the first change. */
    order = tx_order(t, &n);
    rc = order ? 0 : -ENOMEM;
    if (rc == 0) {
        /*
         * The transaction reads nothing more: its snapshot closes now, so
         * that the commit saves no old states only it would have needed.
         */
        store_snap_close(e->store, t->start);
        t->snap_closed = true;
        store_batch_begin(e->store);
        rc = tx_plan(e, t, order, n);
        if (rc == 0)
            tx_apply(r, t, order, n);
        store_batch_end(e->store);
        free(order);
    }
    if (rc < 0) {
        tx_free(r->c, t);
        r->tx = NULL;
        req_error(r, -rc, rc == -ENOMEM ? "no memory to commit"
                                        : "parent gone at commit");
        return;
    }
    tx_fire(e, t);
    tx_free(r->c, t);
    r->tx = NULL;
    req_ack(r);
}
