/*
 * store.h: the xenstore node tree, multi-versioned.
 *
 * Nodes live in one hash table keyed by full path (O(1) lookup) and each
 * node keeps its children in insertion order in a slot array, so listing a
 * 10k-child directory is one pass.  A node is one allocation: header,
 * permissions, base name and value; only the name of the node is stored,
 * its path is the chain of parents.
 *
 * Versions: every change stamps the node with a new generation taken from
 * the store's counter.  While snapshots are open (transactions), a change
 * that would hide a state some snapshot can still see first saves that state
 * in the node's history; deleted nodes stay in the tree, flagged, for as
 * long as a snapshot can see them.  store_snap_close() prunes what no open
 * snapshot needs any more.  Without open snapshots there is no history and
 * no deleted node.
 */
#ifndef XENSTORED_STORE_H
#define XENSTORED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perms.h"

#define NODE_DELETED  0x1u  /* kept for snapshots only */
#define NODE_HIST     0x2u  /* has a history record */

struct kids;

struct node {
    struct node *parent;
    struct kids *kids;   /* use node_nslots()/node_slot(): see below */
    uint64_t gen;        /* last change: content, children, creation or
                          * deletion */
    uint32_t hash;       /* of the full path */
    uint32_t pidx;       /* slot in parent->kids */
    uint16_t namelen;
    uint16_t nperms;
    uint16_t datalen;
    uint16_t flags;
    /* struct perm perms[nperms]; char name[namelen + 1]; char data[]; */
};

/*
 * Children: n->kids is NULL (none), a child pointer tagged with bit 0 (the
 * common case of exactly one child, no array), or this slot array.
 */
struct kids {
    uint32_t used;       /* slots in use, holes included */
    uint32_t cap;
    uint32_t count;      /* non-empty slots (deleted nodes included) */
    uint32_t live;       /* live children */
    uint32_t childlen;   /* bytes of live names, each with its NUL */
    struct node *slot[];
};

/* What a node looks like to one reader. */
struct node_state {
    bool exists;
    uint64_t gen;
    const struct perm *perms;
    unsigned int nperms;
    const char *data;
    unsigned int datalen;
};

/*
 * Accounting hooks: acct is called for every live node created (+1),
 * deleted (-1) or changed (0), with the owner and the change in accounted
 * bytes; it cannot fail.  acct_reserve (may be NULL) is called before a
 * change with every owner the change will account to, so that acct then
 * has what it needs; it returns 0 or -ENOMEM (the change is not made).
 */
struct store_hooks {
    void (*acct)(void *arg, unsigned int owner, int nodes, long bytes);
    int (*acct_reserve)(void *arg, unsigned int owner);
    void *arg;
};

struct store;

struct store *store_new(const struct store_hooks *hooks);
void store_free(struct store *s);

static inline struct perm *node_perms(const struct node *n)
{
    return (struct perm *)(void *)(n + 1);
}
static inline const char *node_name(const struct node *n)
{
    return (const char *)(node_perms(n) + n->nperms);
}
static inline const char *node_data(const struct node *n)
{
    return node_name(n) + n->namelen + 1;
}
static inline bool node_live(const struct node *n)
{
    return !(n->flags & NODE_DELETED);
}
static inline bool node_one_kid(const struct node *n)
{
    return ((uintptr_t)n->kids & 1u) != 0;
}
/* Child slots (holes and deleted children included). */
static inline uint32_t node_nslots(const struct node *n)
{
    if (!n->kids)
        return 0;
    return node_one_kid(n) ? 1 : n->kids->used;
}
/* Slot i: a child, or NULL for a hole. */
static inline struct node *node_slot(const struct node *n, uint32_t i)
{
    if (node_one_kid(n))
        return (struct node *)((uintptr_t)n->kids & ~(uintptr_t)1);
    return n->kids->slot[i];
}
/* Bytes of the live children's names, each with its NUL. */
static inline uint32_t node_childlen(const struct node *n)
{
    const struct node *k;

    if (!n->kids)
        return 0;
    if (!node_one_kid(n))
        return n->kids->childlen;
    k = node_slot(n, 0);
    return node_live(k) ? k->namelen + 1u : 0;
}
static inline uint32_t node_live_kids(const struct node *n)
{
    if (!n->kids)
        return 0;
    if (!node_one_kid(n))
        return n->kids->live;
    return node_live(node_slot(n, 0)) ? 1 : 0;
}

/* Accounted size as Xen counts a record (header, perms, value, children). */
unsigned int node_record_size(unsigned int nperms, unsigned int datalen,
                              unsigned int childlen);

/* What a live node adds to its owner's accounted bytes (acct hook). */
long store_acct_bytes(const struct node *n);

/* The current generation counter, and a fresh (incremented) one. */
uint64_t store_gen(const struct store *s);
uint64_t store_next_gen(struct store *s);

struct node *store_root(const struct store *s);

/* Node at `path` (validated, absolute), deleted ones included; or NULL. */
struct node *store_lookup(const struct store *s, const char *path,
                          size_t len);
/* The live node at path, or NULL. */
struct node *store_get(const struct store *s, const char *path, size_t len);

/* State of n as of snapshot `snap` (UINT64_MAX: now). */
void store_state_at(const struct store *s, const struct node *n,
                    uint64_t snap, struct node_state *st);

/* Full path of n into buf; returns its length or -E2BIG. */
int store_path(const struct node *n, char *buf, size_t size);

/*
 * Changes.  Each of store_create(), store_set() and store_delete() is
 * all-or-nothing: when it fails, the tree, the versions open snapshots see
 * and the accounting are as they were.
 *
 * Creates the live node `path` (its parent must be live) with the given
 * perms and value; re-uses a deleted node of that name.  Returns the node,
 * or NULL with errno = ENOMEM.
 */
struct node *store_create(struct store *s, struct node *parent,
                          const char *path, size_t len,
                          const struct perm *perms, unsigned int nperms,
                          const void *data, unsigned int datalen);

/*
 * Replaces the value and/or the perms of a live node (perms == NULL keeps
 * them, data == NULL with datalen == UINT32_MAX keeps the value).  The node
 * may move: use the returned pointer.  NULL with errno = ENOMEM.
 */
struct node *store_set(struct store *s, struct node *n,
                       const struct perm *perms, unsigned int nperms,
                       const void *data, unsigned int datalen);
#define STORE_KEEP_DATA UINT32_MAX

/*
 * Deletes n and its live subtree, children first; cb (may be NULL) sees
 * every node just before it goes, with its path.  n must not be the root.
 * Returns 0, or -ENOMEM (nothing deleted, cb not called) when the old
 * states that open snapshots still see could not be saved.
 */
typedef void (*store_delete_cb)(void *arg, const struct node *n,
                                const char *path, size_t len, bool top);
int store_delete(struct store *s, struct node *n, store_delete_cb cb,
                 void *arg);

/*
 * Batches: several changes that must all happen or none (a transaction's
 * commit, a WRITE that creates missing parents).  After
 * store_batch_begin(), the store_plan_*() calls set aside everything the
 * planned changes will need: memory, room in the tables, the owners'
 * accounting records.  A plan call that fails (-ENOMEM) has changed
 * nothing visible; the caller then ends the batch and makes no change.
 * Otherwise the changes made next take their memory from what was set
 * aside and cannot fail.  store_batch_end() frees what was not used.
 *
 * The plans describe the changes as they will be made, in any order:
 * store_plan_create() for each node store_create() will make or revive,
 * store_plan_set() for each store_set(), store_plan_delete() for each
 * store_delete(), and store_plan_kids() once per parent with the number
 * of nodes store_create() will newly add under it (not revived ones);
 * parent NULL means a node the batch itself creates.
 */
void store_batch_begin(struct store *s);
void store_batch_end(struct store *s);
int store_plan_create(struct store *s, const char *path, size_t len,
                      unsigned int nperms, unsigned int datalen,
                      unsigned int owner);
int store_plan_set(struct store *s, const struct node *n,
                   unsigned int nperms, unsigned int datalen,
                   unsigned int owner);
int store_plan_delete(struct store *s, const struct node *n);
int store_plan_kids(struct store *s, struct node *parent, unsigned int more);
/* Allocations in batches that nothing was set aside for (tests: 0). */
size_t store_batch_misses(const struct store *s);

/* Open / close a snapshot at generation `gen` (transactions). */
int store_snap_open(struct store *s, uint64_t gen);
void store_snap_close(struct store *s, uint64_t gen);

/* Counters. */
size_t store_nodes(const struct store *s);
size_t store_bytes(const struct store *s);
size_t store_hist_count(const struct store *s);

/*
 * Consistency check (CONTROL check, tests): hash, parent links, child
 * counts.  Returns 0 or -EIO, describing the first problem in buf.
 */
int store_check(const struct store *s, char *buf, size_t size);

#endif /* XENSTORED_STORE_H */
