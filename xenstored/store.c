/*
 * store.c: the xenstore node tree, multi-versioned (see store.h).
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A saved state of a node, for snapshots that still see it. */
struct hver {
    struct hver *older;
    uint64_t gen;
    uint16_t nperms;
    uint16_t datalen;
    bool exists;
    /* struct perm perms[nperms]; char data[datalen]; */
};

struct hist {
    struct hist *hnext;  /* chain in the pointer map */
    struct hist *lnext;  /* list of all records */
    struct node *node;
    struct hver *vers;   /* newest first */
};

struct store {
    struct store_hooks hooks;
    uint64_t gen;
    struct node *root;

    /* Open addressing, linear probing, backward-shift deletion. */
    struct node **tab;
    uint32_t *tabh;      /* hashes beside the pointers: no node misses */
    size_t tab_cap;      /* power of two */
    size_t tab_used;     /* nodes in the table, deleted ones included */
    size_t live;         /* live nodes */
    size_t bytes;

    /* History records, keyed by node pointer. */
    struct hist **hmap;
    size_t hmap_cap;
    size_t hist_count;
    struct hist *hlist;

    /* Open snapshots. */
    uint64_t *snaps;
    size_t nsnaps, snaps_cap;

    /* The batch under way (store_batch_begin) and what it set aside. */
    bool batch;
    bool sorted;                 /* spare[] sorted by size, next[] valid */
    struct spare *spare;
    size_t nspare, spare_cap;
    size_t plan_nodes;           /* table entries the batch will add */
    size_t plan_hists;           /* history records it may add */
    const struct node *plan_last;
    size_t misses;
};

/*
 * A block set aside for a batch.  next: the first block at or after this
 * one still free (itself when free), with path compression, so that a
 * batch of n changes finds its blocks in O(n log n) in all.
 */
struct spare {
    void *p;
    size_t size;
    size_t next;
};

#define PATH_BUF 4200

static uint32_t hash_bytes(const char *p, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 16777619u;
    }
    /* Final avalanche: the table uses the low bits. */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

unsigned int node_record_size(unsigned int nperms, unsigned int datalen,
                              unsigned int childlen)
{
    /* Xen's record: 24-byte header, 8 bytes per permission, value, names */
    return 24 + 8 * nperms + datalen + childlen;
}

static size_t node_alloc_size(unsigned int nperms, unsigned int namelen,
                              unsigned int datalen)
{
    return sizeof(struct node) + nperms * sizeof(struct perm) + namelen + 1 +
           datalen;
}

static long node_acct_bytes(const struct node *n)
{
    return (long)n->namelen + 1 + node_record_size(n->nperms, n->datalen, 0);
}

long store_acct_bytes(const struct node *n)
{
    return node_acct_bytes(n);
}

static unsigned int node_owner(const struct node *n)
{
    return n->nperms ? node_perms(n)[0].id : 0;
}

static void acct(struct store *s, unsigned int owner, int nodes, long bytes)
{
    if (s->hooks.acct)
        s->hooks.acct(s->hooks.arg, owner, nodes, bytes);
}

static int acct_reserve(struct store *s, unsigned int owner)
{
    if (s->hooks.acct_reserve)
        return s->hooks.acct_reserve(s->hooks.arg, owner);
    return 0;
}

/* ------------------------------------------------------------ reserve */

static int spare_cmp(const void *a, const void *b)
{
    const struct spare *x = a, *y = b;

    return x->size < y->size ? -1 : x->size > y->size;
}

static void spare_sort(struct store *s)
{
    size_t i, j;

    for (i = j = 0; i < s->nspare; i++)
        if (s->spare[i].p)
            s->spare[j++] = s->spare[i];
    s->nspare = j;
    qsort(s->spare, s->nspare, sizeof(*s->spare), spare_cmp);
    for (i = 0; i < s->nspare; i++)
        s->spare[i].next = i;
    s->sorted = true;
}

/* The first free block at or after index i (nspare: none). */
static size_t spare_free_from(struct store *s, size_t i)
{
    size_t r = i, t;

    while (r < s->nspare && s->spare[r].next != r)
        r = s->spare[r].next;
    while (i < s->nspare && i != r) {
        t = s->spare[i].next;
        s->spare[i].next = r;
        i = t;
    }
    return r;
}

/* The smallest free block of at least size bytes, or NULL. */
static void *spare_take(struct store *s, size_t size)
{
    size_t lo = 0, hi, i;
    void *p;

    if (!s->sorted)
        spare_sort(s);
    hi = s->nspare;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->spare[mid].size < size)
            lo = mid + 1;
        else
            hi = mid;
    }
    i = spare_free_from(s, lo);
    if (i >= s->nspare)
        return NULL;
    p = s->spare[i].p;
    s->spare[i].p = NULL;
    s->spare[i].next = i + 1;
    return p;
}

/* Sets a block of size bytes aside for the batch. */
static int spare_add(struct store *s, size_t size)
{
    void *p;

    if (s->nspare == s->spare_cap) {
        size_t ncap = s->spare_cap ? s->spare_cap * 2 : 64;
        struct spare *ns = realloc(s->spare, ncap * sizeof(*ns));

        if (!ns)
            return -ENOMEM;
        s->spare = ns;
        s->spare_cap = ncap;
    }
    p = malloc(size);
    if (!p)
        return -ENOMEM;
    s->spare[s->nspare].p = p;
    s->spare[s->nspare].size = size;
    s->nspare++;
    s->sorted = false;
    return 0;
}

/*
 * Every allocation that changes the tree goes through here: inside a
 * batch it takes a block set aside by the plan.
 */
static void *s_alloc(struct store *s, size_t size)
{
    void *p;

    if (!s->batch)
        return malloc(size);
    p = spare_take(s, size);
    if (p)
        return p;
    s->misses++;
    return malloc(size);
}

/* ------------------------------------------------------------ hash table */

static bool node_matches(const struct node *n, const char *path, size_t len)
{
    if (!n->parent)
        return len == 1 && path[0] == '/';
    while (n->parent) {
        if (len < (size_t)n->namelen + 1)
            return false;
        if (memcmp(path + len - n->namelen, node_name(n), n->namelen))
            return false;
        len -= n->namelen;
        if (path[len - 1] != '/')
            return false;
        len--;
        n = n->parent;
    }
    return len == 0;
}

static int tab_grow(struct store *s)
{
    size_t ncap = s->tab_cap ? s->tab_cap * 2 : 1024;
    struct node **nt = calloc(ncap, sizeof(*nt));
    uint32_t *nh = malloc(ncap * sizeof(*nh));
    size_t i, j;

    if (!nt || !nh) {
        free(nt);
        free(nh);
        return -ENOMEM;
    }
    for (i = 0; i < s->tab_cap; i++) {
        struct node *n = s->tab[i];

        if (!n)
            continue;
        for (j = s->tabh[i] & (ncap - 1); nt[j]; j = (j + 1) & (ncap - 1))
            ;
        nt[j] = n;
        nh[j] = s->tabh[i];
    }
    s->bytes -= s->tab_cap * (sizeof(*nt) + sizeof(*nh));
    s->bytes += ncap * (sizeof(*nt) + sizeof(*nh));
    free(s->tab);
    free(s->tabh);
    s->tab = nt;
    s->tabh = nh;
    s->tab_cap = ncap;
    return 0;
}

static int tab_insert(struct store *s, struct node *n)
{
    size_t j;

    /* Up to 7/8 full: probes compare the hashes beside the pointers. */
    if ((s->tab_used + 1) * 8 > s->tab_cap * 7) {
        if (s->batch)
            s->misses++;
        if (tab_grow(s) < 0)
            return -ENOMEM;
    }
    for (j = n->hash & (s->tab_cap - 1); s->tab[j];
         j = (j + 1) & (s->tab_cap - 1))
        ;
    s->tab[j] = n;
    s->tabh[j] = n->hash;
    s->tab_used++;
    return 0;
}

static size_t tab_slot(const struct store *s, const struct node *n)
{
    size_t j;

    for (j = n->hash & (s->tab_cap - 1); s->tab[j] != n;
         j = (j + 1) & (s->tab_cap - 1))
        ;
    return j;
}

static void tab_remove(struct store *s, const struct node *n)
{
    size_t mask = s->tab_cap - 1;
    size_t i = tab_slot(s, n), j = i, k;

    s->tab[i] = NULL;
    for (;;) {
        j = (j + 1) & mask;
        if (!s->tab[j])
            break;
        k = s->tabh[j] & mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        s->tab[i] = s->tab[j];
        s->tabh[i] = s->tabh[j];
        s->tab[j] = NULL;
        i = j;
    }
    s->tab_used--;
}

struct node *store_lookup(const struct store *s, const char *path,
                          size_t len)
{
    uint32_t h = hash_bytes(path, len);
    size_t mask = s->tab_cap - 1, j;

    for (j = h & mask; s->tab[j]; j = (j + 1) & mask) {
        if (s->tabh[j] == h && node_matches(s->tab[j], path, len))
            return s->tab[j];
    }
    return NULL;
}

struct node *store_get(const struct store *s, const char *path, size_t len)
{
    struct node *n = store_lookup(s, path, len);

    return (n && node_live(n)) ? n : NULL;
}

int store_path(const struct node *n, char *buf, size_t size)
{
    const struct node *i;
    size_t len = 0, pos;

    if (!n->parent) {
        if (size < 2)
            return -E2BIG;
        memcpy(buf, "/", 2);
        return 1;
    }
    for (i = n; i->parent; i = i->parent)
        len += (size_t)i->namelen + 1;
    if (len + 1 > size)
        return -E2BIG;
    buf[len] = '\0';
    pos = len;
    for (i = n; i->parent; i = i->parent) {
        pos -= i->namelen;
        memcpy(buf + pos, node_name(i), i->namelen);
        buf[--pos] = '/';
    }
    return (int)len;
}

/* ------------------------------------------------------------ history */

static size_t ptr_hash(const void *p, size_t cap)
{
    uintptr_t v = (uintptr_t)p;

    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull;
    return (size_t)(v >> 20) & (cap - 1);
}

static struct hist *hist_find(const struct store *s, const struct node *n)
{
    struct hist *h;

    if (!(n->flags & NODE_HIST))
        return NULL;
    for (h = s->hmap[ptr_hash(n, s->hmap_cap)]; h; h = h->hnext)
        if (h->node == n)
            return h;
    return NULL;
}

static void hmap_unlink(struct store *s, struct hist *h)
{
    struct hist **pp = &s->hmap[ptr_hash(h->node, s->hmap_cap)];

    while (*pp != h)
        pp = &(*pp)->hnext;
    *pp = h->hnext;
}

static void hmap_link(struct store *s, struct hist *h)
{
    size_t b = ptr_hash(h->node, s->hmap_cap);

    h->hnext = s->hmap[b];
    s->hmap[b] = h;
}

static int hmap_grow(struct store *s)
{
    size_t ncap, i;
    struct hist **nm, *h, *next;

    ncap = s->hmap_cap ? s->hmap_cap * 2 : 256;
    nm = calloc(ncap, sizeof(*nm));
    if (!nm)
        return -ENOMEM;
    for (i = 0; i < s->hmap_cap; i++) {
        for (h = s->hmap[i]; h; h = next) {
            size_t b = ptr_hash(h->node, ncap);

            next = h->hnext;
            h->hnext = nm[b];
            nm[b] = h;
        }
    }
    free(s->hmap);
    s->hmap = nm;
    s->hmap_cap = ncap;
    return 0;
}

static int hmap_reserve(struct store *s)
{
    if (s->hmap && s->hist_count < s->hmap_cap)
        return 0;
    if (s->batch)
        s->misses++;
    return hmap_grow(s);
}

static void hver_free_chain(struct store *s, struct hver *v)
{
    struct hver *next;

    for (; v; v = next) {
        next = v->older;
        s->bytes -= sizeof(*v) + v->nperms * sizeof(struct perm) +
                    v->datalen;
        free(v);
    }
}

/* Snapshots open in generation order: the array stays sorted. */
static uint64_t snaps_max(const struct store *s)
{
    return s->nsnaps ? s->snaps[s->nsnaps - 1] : 0;
}

/* True when an open snapshot sees the node's current state. */
static bool state_needed(const struct store *s, const struct node *n)
{
    return s->nsnaps && snaps_max(s) >= n->gen;
}

/* Size of the history version that saves n's current state. */
static size_t hver_size(const struct node *n)
{
    if (!node_live(n))
        return sizeof(struct hver);
    return sizeof(struct hver) + n->nperms * sizeof(struct perm) +
           n->datalen;
}

/*
 * Saves n's current state in its history.  -ENOMEM on failure (nothing
 * saved); a saved state nobody needs yet is harmless.
 */
static int hist_push(struct store *s, struct node *n)
{
    struct hist *h = hist_find(s, n);
    struct hver *v;
    bool exists = node_live(n);
    unsigned int np = exists ? n->nperms : 0;
    unsigned int dl = exists ? n->datalen : 0;
    size_t sz = hver_size(n);

    if (!h) {
        if (hmap_reserve(s) < 0)
            return -ENOMEM;
        h = s_alloc(s, sizeof(*h));
        if (!h)
            return -ENOMEM;
        memset(h, 0, sizeof(*h));
    }
    v = s_alloc(s, sz);
    if (!v) {
        if (!(n->flags & NODE_HIST))
            free(h);
        return -ENOMEM;
    }
    v->gen = n->gen;
    v->exists = exists;
    v->nperms = (uint16_t)np;
    v->datalen = (uint16_t)dl;
    memcpy(v + 1, node_perms(n), np * sizeof(struct perm));
    memcpy((char *)(v + 1) + np * sizeof(struct perm), node_data(n), dl);
    s->bytes += sz;
    if (!(n->flags & NODE_HIST)) {
        h->node = n;
        h->vers = NULL;
        hmap_link(s, h);
        h->lnext = s->hlist;
        s->hlist = h;
        s->hist_count++;
        s->bytes += sizeof(*h);
        n->flags |= NODE_HIST;
    }
    v->older = h->vers;
    h->vers = v;
    return 0;
}

void store_state_at(const struct store *s, const struct node *n,
                    uint64_t snap, struct node_state *st)
{
    const struct hist *h;
    const struct hver *v;

    if (n->gen <= snap) {
        st->exists = node_live(n);
        st->gen = n->gen;
        st->perms = node_perms(n);
        st->nperms = n->nperms;
        st->data = node_data(n);
        st->datalen = n->datalen;
        return;
    }
    st->exists = false;
    st->gen = 0;
    st->perms = NULL;
    st->nperms = 0;
    st->data = NULL;
    st->datalen = 0;
    h = hist_find(s, n);
    for (v = h ? h->vers : NULL; v; v = v->older) {
        if (v->gen <= snap) {
            st->exists = v->exists;
            st->gen = v->gen;
            st->perms = (const struct perm *)(const void *)(v + 1);
            st->nperms = v->nperms;
            st->data = (const char *)(v + 1) +
                       v->nperms * sizeof(struct perm);
            st->datalen = v->datalen;
            return;
        }
    }
}

/* ------------------------------------------------------------ children */

static struct node *tag_one(struct node *n)
{
    return (struct node *)((uintptr_t)n | 1u);
}

static size_t kids_size(uint32_t cap)
{
    return sizeof(struct kids) + cap * sizeof(struct node *);
}

static int kids_append(struct store *s, struct node *parent, struct node *n)
{
    struct kids *k;
    uint32_t i, j;

    if (!parent->kids) {
        parent->kids = (struct kids *)(void *)tag_one(n);
        n->pidx = 0;
        return 0;
    }
    if (node_one_kid(parent)) {
        struct node *only = node_slot(parent, 0);

        k = s_alloc(s, kids_size(2));
        if (!k)
            return -ENOMEM;
        s->bytes += kids_size(2);
        k->cap = 2;
        k->used = 1;
        k->count = 1;
        k->live = node_live(only) ? 1 : 0;
        k->childlen = node_live(only) ? only->namelen + 1u : 0;
        k->slot[0] = only;
        parent->kids = k;
    }
    k = parent->kids;
    if (k->used == k->cap) {
        if (k->count * 4 < k->used * 3) {
            /* Compact the holes away, renumbering. */
            for (i = j = 0; i < k->used; i++) {
                if (!k->slot[i])
                    continue;
                k->slot[j] = k->slot[i];
                k->slot[j]->pidx = j;
                j++;
            }
            k->used = j;
        } else {
            uint32_t ncap = k->cap * 2;
            struct kids *nk;

            if (s->batch) {
                /* The plan set the bigger array aside. */
                nk = s_alloc(s, kids_size(ncap));
                if (nk) {
                    memcpy(nk, k, kids_size(k->cap));
                    free(k);
                }
            } else {
                nk = realloc(k, kids_size(ncap));
            }
            if (!nk)
                return -ENOMEM;
            s->bytes += kids_size(ncap) - kids_size(nk->cap);
            nk->cap = ncap;
            parent->kids = k = nk;
        }
    }
    n->pidx = k->used;
    k->slot[k->used++] = n;
    k->count++;
    return 0;
}

static void kids_drop(struct node *parent, struct node *n)
{
    struct kids *k = parent->kids;

    if (node_one_kid(parent)) {
        parent->kids = NULL;
        return;
    }
    k->slot[n->pidx] = NULL;
    k->count--;
    while (k->used && !k->slot[k->used - 1])
        k->used--;
}

static void kids_free(struct store *s, struct node *n)
{
    if (n->kids && !node_one_kid(n)) {
        s->bytes -= kids_size(n->kids->cap);
        free(n->kids);
    }
    n->kids = NULL;
}

/* A live child came (+1) or went (-1). */
static void kids_live(struct node *parent, const struct node *n, int d)
{
    if (node_one_kid(parent))
        return; /* derived from the child itself */
    parent->kids->live += (uint32_t)d;
    parent->kids->childlen += (uint32_t)d * (n->namelen + 1u);
}

/* ------------------------------------------------------------ nodes */

static struct node *node_alloc(struct store *s, const char *name,
                               size_t namelen, const struct perm *perms,
                               unsigned int nperms, const void *data,
                               unsigned int datalen)
{
    size_t sz = node_alloc_size(nperms, (unsigned int)namelen, datalen);
    struct node *n = s_alloc(s, sz);
    char *p;

    if (!n)
        return NULL;
    memset(n, 0, sizeof(*n));
    n->namelen = (uint16_t)namelen;
    n->nperms = (uint16_t)nperms;
    n->datalen = (uint16_t)datalen;
    memcpy(node_perms(n), perms, nperms * sizeof(struct perm));
    p = (char *)node_name(n);
    memcpy(p, name, namelen);
    p[namelen] = '\0';
    if (datalen)
        memcpy(p + namelen + 1, data, datalen);
    s->bytes += sz;
    return n;
}

/* The node moved from `old` (already freed) to n: repoint its neighbours. */
static void node_moved(struct store *s, struct node *n, size_t slot,
                       struct hist *h)
{
    uint32_t i;

    s->tab[slot] = n;
    if (!n->parent)
        s->root = n;
    else if (node_one_kid(n->parent))
        n->parent->kids = (struct kids *)(void *)tag_one(n);
    else
        n->parent->kids->slot[n->pidx] = n;
    for (i = 0; i < node_nslots(n); i++)
        if (node_slot(n, i))
            node_slot(n, i)->parent = n;
    if (h) {
        hmap_unlink(s, h);
        h->node = n;
        hmap_link(s, h);
    }
}

/* Whether node_rewrite() needs a new block for these sizes. */
static bool rewrite_moves(const struct node *n, unsigned int nperms,
                          unsigned int datalen)
{
    return nperms != n->nperms || datalen != n->datalen;
}

/*
 * Rewrites perms and value of n in place or in a new allocation.  perms
 * and data may point into n itself (a kept value or kept perms).
 */
static struct node *node_rewrite(struct store *s, struct node *n,
                                 const struct perm *perms,
                                 unsigned int nperms, const void *data,
                                 unsigned int datalen)
{
    size_t slot = tab_slot(s, n);
    struct hist *h = hist_find(s, n);
    size_t oldsz = node_alloc_size(n->nperms, n->namelen, n->datalen);
    size_t sz = node_alloc_size(nperms, n->namelen, datalen);
    struct node *nn;

    if (!rewrite_moves(n, nperms, datalen)) {
        /* Same layout: overwrite in place. */
        if (perms != node_perms(n))
            memmove(node_perms(n), perms, nperms * sizeof(struct perm));
        if (datalen && data != node_data(n))
            memmove((char *)node_data(n), data, datalen);
        return n;
    }
    if (nperms == n->nperms && !s->batch) {
        /*
         * Layout up to the value unchanged, so the value is not n's own
         * (that would be the same length): grow or shrink in place.
         */
        if (perms != node_perms(n))
            memmove(node_perms(n), perms, nperms * sizeof(struct perm));
        nn = realloc(n, sz);
        if (!nn)
            return NULL;
        if (datalen)
            memmove((char *)node_data(nn), data, datalen);
        nn->datalen = (uint16_t)datalen;
    } else {
        nn = s_alloc(s, sz);
        if (!nn)
            return NULL;
        memcpy(nn, n, sizeof(*n));
        nn->nperms = (uint16_t)nperms;
        nn->datalen = (uint16_t)datalen;
        memcpy(node_perms(nn), perms, nperms * sizeof(struct perm));
        memcpy((char *)node_name(nn), node_name(n), n->namelen + 1u);
        if (datalen)
            memcpy((char *)node_data(nn), data, datalen);
        free(n);
    }
    s->bytes += sz;
    s->bytes -= oldsz;
    if (nn != n)
        node_moved(s, nn, slot, h);
    return nn;
}

struct store *store_new(const struct store_hooks *hooks)
{
    struct store *s = calloc(1, sizeof(*s));
    struct perm p = { 0, PERM_NONE };

    if (!s)
        return NULL;
    if (hooks)
        s->hooks = *hooks;
    if (tab_grow(s) < 0 || hmap_reserve(s) < 0)
        goto fail;
    s->root = node_alloc(s, "", 0, &p, 1, NULL, 0);
    if (!s->root)
        goto fail;
    s->root->hash = hash_bytes("/", 1);
    s->root->gen = ++s->gen;
    if (tab_insert(s, s->root) < 0) {
        free(s->root);
        goto fail;
    }
    s->live = 1;
    acct(s, 0, 1, node_acct_bytes(s->root));
    return s;

fail:
    free(s->tab);
    free(s->tabh);
    free(s->hmap);
    free(s);
    return NULL;
}

void store_free(struct store *s)
{
    struct hist *h, *next;
    size_t i;

    if (!s)
        return;
    for (h = s->hlist; h; h = next) {
        next = h->lnext;
        hver_free_chain(s, h->vers);
        free(h);
    }
    for (i = 0; i < s->tab_cap; i++) {
        if (s->tab[i]) {
            kids_free(s, s->tab[i]);
            free(s->tab[i]);
        }
    }
    free(s->tab);
    free(s->tabh);
    free(s->hmap);
    free(s->snaps);
    free(s->spare);
    free(s);
}

uint64_t store_gen(const struct store *s)
{
    return s->gen;
}

uint64_t store_next_gen(struct store *s)
{
    return ++s->gen;
}

struct node *store_root(const struct store *s)
{
    return s->root;
}

struct node *store_create(struct store *s, struct node *parent,
                          const char *path, size_t len,
                          const struct perm *perms, unsigned int nperms,
                          const void *data, unsigned int datalen)
{
    struct node *n = store_lookup(s, path, len);
    const char *base = path + len;
    size_t baselen;
    uint64_t g;

    while (base > path && base[-1] != '/')
        base--;
    baselen = (size_t)(path + len - base);

    if (acct_reserve(s, nperms ? perms[0].id : 0) < 0)
        goto nomem;
    /* The parent changes too: save what open snapshots see of it. */
    if (state_needed(s, parent) && hist_push(s, parent) < 0)
        goto nomem;
    if (n) {
        /* Revive a deleted node kept for snapshots. */
        if (state_needed(s, n) && hist_push(s, n) < 0)
            goto nomem;
        /*
         * It keeps its place among its siblings, where the snapshots that
         * still see its old state expect it (Xen, without snapshots, would
         * append it: the order differs only in this case).
         */
        n = node_rewrite(s, n, perms, nperms, data, datalen);
        if (!n)
            goto nomem;
        n->flags &= (uint16_t)~NODE_DELETED;
    } else {
        n = node_alloc(s, base, baselen, perms, nperms, data, datalen);
        if (!n)
            goto nomem;
        n->hash = hash_bytes(path, len);
        n->parent = parent;
        if (tab_insert(s, n) < 0) {
            s->bytes -= node_alloc_size(nperms, (unsigned int)baselen,
                                        datalen);
            free(n);
            goto nomem;
        }
        if (kids_append(s, parent, n) < 0) {
            tab_remove(s, n);
            s->bytes -= node_alloc_size(nperms, (unsigned int)baselen,
                                        datalen);
            free(n);
            goto nomem;
        }
    }
    g = ++s->gen;
    n->gen = g;
    parent->gen = g;
    kids_live(parent, n, 1);
    s->live++;
    acct(s, node_owner(n), 1, node_acct_bytes(n));
    return n;

nomem:
    errno = ENOMEM;
    return NULL;
}

struct node *store_set(struct store *s, struct node *n,
                       const struct perm *perms, unsigned int nperms,
                       const void *data, unsigned int datalen)
{
    unsigned int old_owner = node_owner(n);
    long old_bytes = node_acct_bytes(n);

    /* Kept perms and value are read from n itself by node_rewrite(). */
    if (!perms) {
        perms = node_perms(n);
        nperms = n->nperms;
    }
    if (datalen == STORE_KEEP_DATA) {
        data = node_data(n);
        datalen = n->datalen;
    }
    if (acct_reserve(s, nperms ? perms[0].id : 0) < 0)
        goto nomem;
    /* A saved state that ends up unused (no memory below) is harmless. */
    if (state_needed(s, n) && hist_push(s, n) < 0)
        goto nomem;
    n = node_rewrite(s, n, perms, nperms, data, datalen);
    if (!n)
        goto nomem;
    n->gen = ++s->gen;
    if (node_owner(n) != old_owner) {
        acct(s, old_owner, -1, -old_bytes);
        acct(s, node_owner(n), 1, node_acct_bytes(n));
    } else {
        acct(s, old_owner, 0, node_acct_bytes(n) - old_bytes);
    }
    return n;

nomem:
    errno = ENOMEM;
    return NULL;
}

/* Frees a node no snapshot needs; cascades to deleted parents. */
static void node_release(struct store *s, struct node *n)
{
    struct node *parent;

    while (n && !node_live(n) && !(n->flags & NODE_HIST) &&
           (!n->kids || (!node_one_kid(n) && n->kids->count == 0))) {
        parent = n->parent;
        tab_remove(s, n);
        kids_drop(parent, n);
        kids_free(s, n);
        s->bytes -= node_alloc_size(n->nperms, n->namelen, n->datalen);
        free(n);
        n = parent;
    }
}

struct del_ctx {
    struct store *s;
    store_delete_cb cb;
    void *arg;
    char path[PATH_BUF];
};

static void delete_one(struct del_ctx *d, struct node *n, size_t len,
                       bool top)
{
    struct store *s = d->s;
    struct node *parent = n->parent;
    uint64_t g;
    uint32_t i;

    {
        for (i = 0; i < node_nslots(n); i++) {
            struct node *k = node_slot(n, i);
            size_t klen;

            if (!k || !node_live(k))
                continue;
            klen = len + 1 + k->namelen;
            if (klen + 1 > sizeof(d->path))
                continue; /* cannot happen: paths are bounded */
            d->path[len] = '/';
            memcpy(d->path + len + 1, node_name(k), k->namelen + 1u);
            delete_one(d, k, klen, false);
            d->path[len] = '\0';
        }
    }
    if (d->cb)
        d->cb(d->arg, n, d->path, len, top);

    /*
     * store_plan_delete() set aside the memory these saved states take,
     * so they cannot fail.
     */
    g = ++s->gen;
    if (state_needed(s, parent))
        hist_push(s, parent);
    parent->gen = g;
    kids_live(parent, n, -1);
    s->live--;
    acct(s, node_owner(n), -1, -node_acct_bytes(n));
    if (state_needed(s, n))
        hist_push(s, n);
    n->flags |= NODE_DELETED;
    n->gen = g;
    node_release(s, n);
}

int store_delete(struct store *s, struct node *n, store_delete_cb cb,
                 void *arg)
{
    bool own = !s->batch;
    struct del_ctx *d, local;
    int len, rc;

    if (!n->parent || !node_live(n))
        return 0;
    if (own) {
        store_batch_begin(s);
        rc = store_plan_delete(s, n);
        if (rc < 0) {
            store_batch_end(s);
            return rc;
        }
    }
    d = malloc(sizeof(*d));
    if (!d) {
        /* Fall back to a stack buffer: deletion must not fail. */
        d = &local;
    }
    d->s = s;
    d->cb = cb;
    d->arg = arg;
    len = store_path(n, d->path, sizeof(d->path));
    if (len < 0)
        len = 0;
    delete_one(d, n, (size_t)len, true);
    if (d != &local)
        free(d);
    if (own)
        store_batch_end(s);
    return 0;
}

/* ------------------------------------------------------------ batches */

void store_batch_begin(struct store *s)
{
    s->batch = true;
    s->sorted = false;
    s->nspare = 0;
    s->plan_nodes = 0;
    s->plan_hists = 0;
    s->plan_last = NULL;
}

void store_batch_end(struct store *s)
{
    size_t i;

    for (i = 0; i < s->nspare; i++)
        free(s->spare[i].p);
    s->nspare = 0;
    s->batch = false;
    if (s->spare_cap > 256) {
        free(s->spare);
        s->spare = NULL;
        s->spare_cap = 0;
    }
}

size_t store_batch_misses(const struct store *s)
{
    return s->misses;
}

/*
 * What hist_push(n) will take, if open snapshots need n's state.  The
 * history record is set aside even when n has one: closing a snapshot
 * between the plan and the change (RELEASE) may prune it.
 */
static int plan_hist(struct store *s, const struct node *n)
{
    if (!n || !state_needed(s, n) || n == s->plan_last)
        return 0;
    s->plan_last = n;
    if (spare_add(s, sizeof(struct hist)) < 0)
        return -ENOMEM;
    s->plan_hists++;
    if (s->hist_count + s->plan_hists > s->hmap_cap && hmap_grow(s) < 0)
        return -ENOMEM;
    return spare_add(s, hver_size(n));
}

int store_plan_create(struct store *s, const char *path, size_t len,
                      unsigned int nperms, unsigned int datalen,
                      unsigned int owner)
{
    struct node *n = store_lookup(s, path, len);
    size_t plen = len, baselen;
    int rc;

    while (plen > 1 && path[plen - 1] != '/')
        plen--;
    baselen = len - plen;
    plen = plen > 1 ? plen - 1 : 1;
    rc = acct_reserve(s, owner);
    if (rc < 0)
        return rc;
    rc = plan_hist(s, store_lookup(s, path, plen));
    if (rc < 0)
        return rc;
    if (n) {
        if (node_live(n))
            return -EEXIST;
        /* Revived: its saved state, and its new size. */
        rc = plan_hist(s, n);
        if (rc == 0 && rewrite_moves(n, nperms, datalen))
            rc = spare_add(s, node_alloc_size(nperms, n->namelen, datalen));
        return rc;
    }
    rc = spare_add(s, node_alloc_size(nperms, (unsigned int)baselen,
                                      datalen));
    if (rc < 0)
        return rc;
    /* Room in the table for every node the batch adds. */
    s->plan_nodes++;
    while ((s->tab_used + s->plan_nodes) * 8 > s->tab_cap * 7)
        if (tab_grow(s) < 0)
            return -ENOMEM;
    return 0;
}

int store_plan_set(struct store *s, const struct node *n,
                   unsigned int nperms, unsigned int datalen,
                   unsigned int owner)
{
    int rc;

    rc = acct_reserve(s, owner);
    if (rc == 0)
        rc = plan_hist(s, n);
    if (rc == 0 && rewrite_moves(n, nperms, datalen))
        rc = spare_add(s, node_alloc_size(nperms, n->namelen, datalen));
    return rc;
}

static int plan_subtree(struct store *s, const struct node *n)
{
    uint32_t i;
    int rc;

    rc = plan_hist(s, n);
    for (i = 0; rc == 0 && i < node_nslots(n); i++) {
        const struct node *k = node_slot(n, i);

        if (k && node_live(k))
            rc = plan_subtree(s, k);
    }
    return rc;
}

int store_plan_delete(struct store *s, const struct node *n)
{
    int rc;

    /*
     * Deleting takes memory only to save old states for open snapshots
     * (the owners' accounting records exist: they own the nodes).
     */
    if (!s->nsnaps || !node_live(n))
        return 0;
    rc = plan_hist(s, n->parent);
    if (rc == 0)
        rc = plan_subtree(s, n);
    return rc;
}

/*
 * Makes room in parent's child array for `more` appends (an invisible
 * change: the same children, in a bigger array).
 */
static int kids_reserve(struct store *s, struct node *p, uint32_t more)
{
    uint32_t used = node_nslots(p), need = used + more, cap = 2;
    struct node *only = NULL;
    struct kids *k;

    if (!p->kids && more < 2)
        return 0; /* one child: the tagged pointer */
    if (p->kids && !node_one_kid(p) && p->kids->cap >= need)
        return 0;
    while (cap < need)
        cap *= 2;
    if (p->kids && !node_one_kid(p)) {
        k = realloc(p->kids, kids_size(cap));
        if (!k)
            return -ENOMEM;
        s->bytes += kids_size(cap) - kids_size(k->cap);
        k->cap = cap;
        p->kids = k;
        return 0;
    }
    k = malloc(kids_size(cap));
    if (!k)
        return -ENOMEM;
    s->bytes += kids_size(cap);
    if (p->kids)
        only = node_slot(p, 0);
    k->cap = cap;
    k->used = k->count = only ? 1 : 0;
    k->live = only && node_live(only) ? 1 : 0;
    k->childlen = k->live ? only->namelen + 1u : 0;
    if (only)
        k->slot[0] = only;
    p->kids = k;
    return 0;
}

int store_plan_kids(struct store *s, struct node *parent, unsigned int more)
{
    uint32_t cap;

    if (!more)
        return 0;
    if (parent)
        return kids_reserve(s, parent, more);
    /* A node the batch creates: its array grows 2, 4, 8, ... */
    for (cap = 2; more >= 2; cap *= 2) {
        if (spare_add(s, kids_size(cap)) < 0)
            return -ENOMEM;
        if (cap >= more)
            break;
    }
    return 0;
}

/* ------------------------------------------------------------ snapshots */

int store_snap_open(struct store *s, uint64_t gen)
{
    if (s->nsnaps == s->snaps_cap) {
        size_t ncap = s->snaps_cap ? s->snaps_cap * 2 : 16;
        uint64_t *ns = realloc(s->snaps, ncap * sizeof(*ns));

        if (!ns)
            return -ENOMEM;
        s->snaps = ns;
        s->snaps_cap = ncap;
    }
    if (s->nsnaps && gen < s->snaps[s->nsnaps - 1])
        return -EINVAL;
    s->snaps[s->nsnaps++] = gen;
    return 0;
}

static void prune(struct store *s)
{
    uint64_t min = s->nsnaps ? s->snaps[0] : UINT64_MAX;
    struct hist **pp = &s->hlist, *h;
    struct hver *v;

    while ((h = *pp)) {
        struct node *n = h->node;

        if (!s->nsnaps || n->gen <= min) {
            hver_free_chain(s, h->vers);
            h->vers = NULL;
        } else {
            for (v = h->vers; v && v->gen > min; v = v->older)
                ;
            if (v) {
                hver_free_chain(s, v->older);
                v->older = NULL;
            }
        }
        if (h->vers) {
            pp = &h->lnext;
            continue;
        }
        *pp = h->lnext;
        hmap_unlink(s, h);
        free(h);
        s->bytes -= sizeof(*h);
        s->hist_count--;
        n->flags &= (uint16_t)~NODE_HIST;
        node_release(s, n);
    }
}

void store_snap_close(struct store *s, uint64_t gen)
{
    size_t i;

    for (i = 0; i < s->nsnaps; i++) {
        if (s->snaps[i] == gen) {
            memmove(s->snaps + i, s->snaps + i + 1,
                    (s->nsnaps - i - 1) * sizeof(*s->snaps));
            s->nsnaps--;
            break;
        }
    }
    /*
     * Only the oldest snapshot bounds what must be kept: prune when it
     * goes (versions only a younger one needed wait until then).
     */
    if (i == 0 || !s->nsnaps)
        prune(s);
}

/* ------------------------------------------------------------ counters */

size_t store_nodes(const struct store *s)
{
    return s->live;
}

size_t store_bytes(const struct store *s)
{
    return s->bytes;
}

size_t store_hist_count(const struct store *s)
{
    return s->hist_count;
}

int store_check(const struct store *s, char *buf, size_t size)
{
    char path[PATH_BUF];
    size_t i, live = 0, used = 0;
    uint32_t j, count, nlive, childlen;

    for (i = 0; i < s->tab_cap; i++) {
        const struct node *n = s->tab[i];
        int len;

        if (!n)
            continue;
        used++;
        if (node_live(n))
            live++;
        len = store_path(n, path, sizeof(path));
        if (len < 0 || store_lookup(s, path, (size_t)len) != n) {
            snprintf(buf, size, "node %s: not found by its path",
                     len < 0 ? "?" : path);
            return -EIO;
        }
        if (node_live(n) && n->parent && !node_live(n->parent)) {
            snprintf(buf, size, "node %s: live under a deleted parent",
                     path);
            return -EIO;
        }
        if (n->parent && (n->pidx >= node_nslots(n->parent) ||
                          node_slot(n->parent, n->pidx) != n)) {
            snprintf(buf, size, "node %s: wrong slot in parent", path);
            return -EIO;
        }
        if (!n->kids)
            continue;
        count = nlive = childlen = 0;
        for (j = 0; j < node_nslots(n); j++) {
            const struct node *k = node_slot(n, j);

            if (!k)
                continue;
            count++;
            if (k->parent != n || k->pidx != j) {
                snprintf(buf, size, "node %s: child %u has a bad link",
                         path, j);
                return -EIO;
            }
            if (node_live(k)) {
                nlive++;
                childlen += k->namelen + 1u;
            }
        }
        if ((!node_one_kid(n) && count != n->kids->count) ||
            nlive != node_live_kids(n) || childlen != node_childlen(n)) {
            snprintf(buf, size, "node %s: child counters are wrong", path);
            return -EIO;
        }
    }
    if (used != s->tab_used || live != s->live) {
        snprintf(buf, size, "store: %zu nodes in the table, %zu counted",
                 s->tab_used, used);
        return -EIO;
    }
    if (buf && size)
        buf[0] = '\0';
    return 0;
}
