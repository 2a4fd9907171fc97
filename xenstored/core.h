/*
 * core.h: the engine's shared state, for its own modules only (store,
 * transaction, watch, domain, quota, control).  Not used by the daemon.
 */
#ifndef XENSTORED_CORE_H
#define XENSTORED_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "perms.h"
#include "store.h"

struct domain;
struct watch;
struct tx;

struct watch_index {
    struct watch **map;
    size_t cap;          /* power of two */
    size_t count;
};

/*
 * Serialized child lists of recently listed nodes, keyed by node and
 * generation (any change of the list moves the generation; generations
 * are never reused), so repeated DIRECTORY requests are one copy.
 */
#define DIR_CACHE_SLOTS 8
struct dir_cache {
    const struct node *node;
    uint64_t gen;
    uint32_t len;
    char buf[XENSTORE_PAYLOAD_MAX];
};

struct engine {
    struct engine_config cfg;
    struct engine_ops ops;
    void *opaque;
    struct store *store;

    struct engine_conn *conns;   /* all connections */
    size_t nconns;
    uint64_t seq;                /* orders connections and watches */
    size_t ntx;                  /* open transactions, all connections */

    struct domain **domains;     /* hash by domid */
    size_t domains_cap;
    size_t ndomains;             /* introduced ones */

    struct watch_index watches;
    struct watch **hits;         /* watch_fire()'s reusable list */
    size_t hits_cap;

    struct dir_cache *dir_cache; /* DIR_CACHE_SLOTS entries */
    unsigned int dir_cache_next;

    /* The last big child list read by DIRECTORY_PART, same keys. */
    const struct node *big_node;
    uint64_t big_gen;
    char *big_buf;
    size_t big_len, big_cap;

    /*
     * Events sent while handling the current request: Xen drops an event
     * identical to one still queued for the connection, and everything a
     * request causes is queued together.  Reset per request.
     */
    struct sent_event *sent;
    size_t nsent, sent_cap;
    uint32_t *sent_tab;          /* open addressing over sent[], +1 */
    size_t sent_tab_cap;
    char *sent_buf;
    size_t sent_len, sent_buf_cap;

    /* Permissions of @introduceDomain and @releaseDomain. */
    struct perm *special_perms[2];
    unsigned int special_nperms[2];
};

struct engine_conn {
    struct engine *e;
    struct engine_conn *next, *prev;
    unsigned int domid;
    uint64_t seq;                /* creation order */
    void *opaque;
    struct domain *dom;          /* accounting record of domid */
    struct watch *watches;       /* this connection's, newest first */
    struct tx *txs;
    unsigned int ntx;
    uint32_t next_txid;
    char implicit[24];           /* "/local/domain/<domid>" */
    size_t implicit_len;
    bool txid_wrapped;
};

/* One request being handled. */
struct req {
    struct engine *e;
    struct engine_conn *c;
    const struct xsd_sockmsg *hdr;
    const char *payload;
    unsigned int len;
    struct tx *tx;               /* NULL outside a transaction */
    struct perm_who who;
    bool replied;
};

/* Maximum length of a canonical path, with the domain prefix. */
#define PATH_MAX_ABS 4200

/* ---------------------------------------------------------------- replies */

/* Sends the reply (type of the request unless XS_ERROR etc.). */
void req_reply(struct req *r, uint32_t type, const void *data,
               unsigned int len);
void req_ack(struct req *r);
/* Error reply; logs the refusal. `why` may be NULL. */
void req_error(struct req *r, int err, const char *why);

void engine_logf(struct engine *e, enum engine_log_level level,
                 const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- helpers */

bool conn_privileged(const struct engine_conn *c);
void conn_who(const struct engine_conn *c, struct perm_who *who);

/*
 * Payload parsing: counts NUL-terminated strings in the payload; "onearg"
 * is the payload as one string with its only NUL at the end.
 */
unsigned int payload_count(const char *p, unsigned int len);
const char *payload_onearg(const struct req *r);
/* Up to n strings; returns how many complete strings the payload has. */
unsigned int payload_strings(const struct req *r, const char **vec,
                             unsigned int n);

/*
 * Resolves a relative path against the connection's home and checks it
 * (Xen's rules).  out gets the canonical path.  Returns its length or
 * -EINVAL.
 */
int path_canonical(const struct engine_conn *c, const char *in,
                   char *out, size_t size, const struct engine_config *cfg);
bool path_valid(const char *path, size_t len,
                const struct engine_config *cfg);

/* Parent path length of a canonical path other than "/". */
size_t path_parent_len(const char *path, size_t len);

/*
 * Deletes a live node and its subtree outside any transaction, firing the
 * watches as RM does (engine.c).  0, or -ENOMEM with nothing deleted.
 */
int engine_delete_node(struct engine *e, struct node *n);

/*
 * Consistency check (CONTROL check, tests, fuzzing): the store's links and
 * counters (store_check) and every domain's accounting against a recount
 * of the nodes it owns and its connections' watches.  Returns 0, -EIO
 * describing the first problem in buf, or -ENOMEM.
 */
int engine_check(struct engine *e, char *buf, size_t size);

/* Drops a connection's watches and transactions (RESET_WATCHES). */
void engine_conn_reset(struct engine_conn *c);

/* Xen's atoi(): leading digits, else 0. */
unsigned int parse_uint(const char *s);

#endif /* XENSTORED_CORE_H */
