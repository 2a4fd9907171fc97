/*
 * engine.h: the xenstore request engine.
 *
 * The engine is everything xenstored does between "a complete, framed
 * message arrived on connection C" and "these messages must be sent to these
 * connections": the node tree, permissions, quotas, transactions, watches,
 * the domain table and the CONTROL commands.  It performs no I/O of its own,
 * so the daemon's event loop (io.c), the unit tests and the fuzz target all
 * drive the same code through this interface.
 *
 * Threading: an engine and its connections are used from one thread.
 *
 * Ownership: engine_conn objects belong to the engine; engine_conn_free()
 * aborts the connection's transactions and drops its watches.
 *
 * Behaviour is Xen 4.17's C xenstored's (replies, error names, events and
 * their order, quotas), with one deliberate difference: transactions have
 * snapshot isolation.  A transaction reads the store as it was when it
 * started plus its own changes, and its commit fails with EAGAIN when any
 * node it read, listed or changed was changed by someone else since.
 */
#ifndef XENSTORED_ENGINE_H
#define XENSTORED_ENGINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#include <xen/io/xs_wire.h>

struct engine;
struct engine_conn;

/* Limits, with Xen 4.17's C xenstored defaults (see engine_config_init). */
struct engine_config {
    unsigned int nodes_per_domain;     /* -E / --entry-nb */
    unsigned int node_size;            /* -S / --entry-size (bytes) */
    unsigned int watches_per_domain;   /* -W / --watch-nb */
    unsigned int transactions;         /* -t / --transaction (per conn) */
    unsigned int perms_per_node;       /* -A / --perm-nb */
    unsigned int path_max;             /* -M / --path-max (relative) */
    unsigned int transaction_nodes;    /* nodes touched by one transaction */
    unsigned int memory_per_domain;    /* -Q / --quota (bytes, 0 = off) */
    /* Added after the first version of this interface: */
    unsigned int memory_soft;          /* -q memory= (bytes, warning only) */
    unsigned int outstanding;          /* -Q outstanding= (daemon's) */
};

/* Fills *cfg with the defaults. */
void engine_config_init(struct engine_config *cfg);

/* Log levels for engine_ops.log. */
enum engine_log_level {
    ENGINE_LOG_ERROR,
    ENGINE_LOG_WARN,   /* refusals: quota, permission, malformed request */
    ENGINE_LOG_INFO,
    ENGINE_LOG_DEBUG,
};

/*
 * Callbacks supplied by the embedding program (the daemon, a test, the
 * fuzzer).  `opaque` is engine_new()'s argument; `conn_opaque` is
 * engine_conn_new()'s.
 */
struct engine_ops {
    /*
     * Queue one message (header + hdr->len payload bytes) for sending to a
     * connection.  Replies and watch events both come through here.  The
     * engine never keeps `payload`.  Returns 0, or -errno when the message
     * could not be queued (the engine then logs it; for watch events the
     * event is lost for that connection only).
     */
    int (*send)(void *conn_opaque, const struct xsd_sockmsg *hdr,
                const void *payload);
    /*
     * INTRODUCE succeeded for `domid`: the embedding program makes the
     * domain's connection point (for the daemon, its per-domain socket).
     * Returns 0 or -errno; on failure the introduction is undone and the
     * client gets the error.  May be NULL.
     */
    int (*domain_introduced)(void *opaque, unsigned int domid);
    /*
     * The domain was released (RELEASE) or otherwise forgotten: close its
     * connection point and every connection that has its identity, by
     * calling engine_conn_free() on them (after this returns).  May be NULL.
     */
    void (*domain_released)(void *opaque, unsigned int domid);
    /*
     * CONTROL commands the engine does not know itself (log, logfile, ...).
     * Writes a NUL-terminated answer of at most `reply_size` bytes.  Returns
     * 0, or -errno (-ENOSYS: unknown command; -EINPROGRESS: no answer now,
     * the daemon sends it later itself).  May be NULL.
     */
    int (*control)(void *opaque, int argc, char **argv, char *reply,
                   size_t reply_size);
    /* Diagnostics; may be NULL. */
    void (*log)(void *opaque, enum engine_log_level level, const char *msg);
};

/* Creates an empty store holding "/" and "/tool" (as Xen's does). NULL with
 * errno set on failure. */
struct engine *engine_new(const struct engine_config *cfg,
                          const struct engine_ops *ops, void *opaque);
void engine_free(struct engine *e);

/*
 * A connection with the identity of `domid` (0 = the control domain,
 * privileged).  Returns NULL with errno set on failure.
 */
struct engine_conn *engine_conn_new(struct engine *e, unsigned int domid,
                                    void *conn_opaque);
void engine_conn_free(struct engine_conn *c);
unsigned int engine_conn_domid(const struct engine_conn *c);

/*
 * Handles one complete request: hdr is already in host byte order and
 * `payload` holds exactly hdr->len bytes (hdr->len <= XENSTORE_PAYLOAD_MAX;
 * the caller has checked that).  Sends exactly one reply through ops->send
 * (an XS_ERROR reply for every refused request, echoing req_id and tx_id)
 * plus any watch events the request causes.  Returns 0, or -errno when the
 * connection must be closed (a protocol violation the client cannot
 * recover from).
 */
int engine_handle(struct engine *e, struct engine_conn *c,
                  const struct xsd_sockmsg *hdr, const char *payload);

/*
 * What the hypervisor says of an introduced domain (Xen's xenstored learns
 * it from VIRQ_DOM_EXC and the domain's info; the daemon here from the
 * core's state-change notifications).
 */
enum engine_domain_state {
    ENGINE_DOMAIN_RUNNING,   /* nothing to do */
    ENGINE_DOMAIN_SHUTDOWN,  /* shut down or crashed, still exists */
    ENGINE_DOMAIN_DYING,     /* being destroyed */
    ENGINE_DOMAIN_GONE,      /* no longer exists */
};

struct engine_domain_info {
    unsigned int domid;
    enum engine_domain_state state;
};

/*
 * Reports the states of introduced domains (entries for other domains
 * are ignored), in order, with Xen 4.17's rules: a domain seen shut down
 * for the first time since its introduction (or its last RESUME) is
 * marked so; a dying or gone domain is forgotten as by RELEASE (the nodes
 * it owns deleted, its connections reset, ops->domain_released called)
 * and @releaseDomain fires for it, standing for the shutdowns marked
 * before it; if shutdowns were marked after the last domain forgotten,
 * @releaseDomain fires once more at the end.  Returns the number of
 * domains forgotten, or -ENOMEM when one could not be (it stays
 * introduced; report it again later).
 */
int engine_domains_changed(struct engine *e,
                           const struct engine_domain_info *info, size_t n);

/* Counters for CONTROL memreport, benchmarks and tests. */
struct engine_stats {
    size_t nodes;
    size_t watches;
    size_t transactions;
    size_t connections;
    size_t domains;
    size_t bytes; /* heap bytes held for nodes, values and permissions */
};
void engine_get_stats(const struct engine *e, struct engine_stats *st);

/*
 * The text of CONTROL memreport (the counters above, one "name: value"
 * line each) into buf.  Returns its length, or -ENOSPC when it does not
 * fit in `size` bytes.  The daemon writes it to a file for
 * "memreport <file>".
 */
int engine_memreport(const struct engine *e, char *buf, size_t size);

/*
 * Live update (the daemon executes itself again, keeping its sockets):
 * the engine's state as the requests that rebuild it in a fresh engine,
 * in order - every live node (WRITE, SET_PERMS; parents first), the
 * permissions of @introduceDomain and @releaseDomain, the introduced
 * domains (INTRODUCE, SET_TARGET) and each connection's watches (WATCH,
 * oldest first).  fn gets each request with the connection it belongs
 * to: NULL for a privileged connection that restores, else one of e's
 * connections, whose opaque tells the daemon which.  Refuses with -EBUSY
 * while transactions are open, unless force (they are not carried).
 * Returns 0, or the first error (fn's own, -E2BIG, -ENOMEM).
 */
typedef int (*engine_dump_fn)(void *arg, struct engine_conn *c,
                              const struct xsd_sockmsg *hdr,
                              const char *payload);
int engine_dump(struct engine *e, bool force, engine_dump_fn fn, void *arg);

/* engine_conn_new()'s conn_opaque. */
void *engine_conn_opaque(const struct engine_conn *c);

#endif /* XENSTORED_ENGINE_H */
