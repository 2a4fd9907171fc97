/*
 * transaction.h: transactions with snapshot isolation.
 *
 * A transaction reads the store as it was when it started (the store keeps
 * the versions open snapshots need) plus its own changes, which it keeps in
 * a private overlay keyed by path.  Every node it reads, lists or changes
 * is remembered; the commit fails with EAGAIN when a node it read or
 * listed changed in the store after the start, or a node it only
 * overwrote changed its existence or perms (a blind write depends on no
 * more: such writes serialize in commit order), and otherwise applies the
 * whole overlay in one step (nothing else runs in between) and only then
 * fires its watches.
 * The step is all or nothing: everything that can fail, memory included,
 * is checked or set aside before the first change (a store batch).
 */
#ifndef XENSTORED_TRANSACTION_H
#define XENSTORED_TRANSACTION_H

#include "core.h"

/* A node as one request sees it (in or out of a transaction). */
struct nview {
    bool exists;
    uint64_t gen;
    const struct perm *perms;
    unsigned int nperms;
    const char *data;
    unsigned int datalen;
    unsigned int childlen;
};

/* Called per child name, in order; a non-zero return stops the walk. */
typedef int (*tx_name_fn)(void *arg, const char *name, size_t len);

struct tx *tx_lookup(const struct engine_conn *c, uint32_t id);
void tx_conn_drop_all(struct engine_conn *c);

void tx_do_start(struct req *r);
void tx_do_end(struct req *r);

/*
 * Overlay operations on r->tx; paths are canonical.  All return 0 or
 * -errno (-ENOSPC: transaction node quota, -ENOMEM).
 */
int tx_get(struct req *r, const char *path, size_t len, struct nview *v);
/* As tx_get, for a caller that uses only existence and perms (a write). */
int tx_peek(struct req *r, const char *path, size_t len, struct nview *v);
int tx_list(struct req *r, const char *path, size_t len, tx_name_fn fn,
            void *arg, uint64_t *gen_r);
int tx_create(struct req *r, const char *path, size_t len,
              const struct perm *perms, unsigned int nperms,
              const void *data, unsigned int datalen, bool fire);
/* perms NULL keeps them; datalen STORE_KEEP_DATA keeps the value. */
int tx_set(struct req *r, const char *path, size_t len,
           const struct perm *perms, unsigned int nperms, const void *data,
           unsigned int datalen, bool fire);
int tx_delete(struct req *r, const char *path, size_t len);

/* Nodes of the current store, in the same shape (no transaction). */
void view_of_node(const struct node *n, struct nview *v);

#endif /* XENSTORED_TRANSACTION_H */
