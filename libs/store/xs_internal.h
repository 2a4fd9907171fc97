/*
 * xs_internal.h: libxenstore internals shared between its source files.
 * Never installed.
 */
#ifndef XS_INTERNAL_H
#define XS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "xenstore.h"

/* Marks a definition as part of the exported API (see libxenstore.map). */
#define XS_API __attribute__((visibility("default")))

/* One message received from the daemon. */
struct xs__msg {
    struct xs__msg *next;
    struct xsd_sockmsg hdr;
    char *body; /* hdr.len bytes plus a NUL */
};

/* A watch the handle holds, kept to register it again (XS_RECONNECT). */
struct xs__watch {
    struct xs__watch *next;
    char *path;  /* path and token share one allocation */
    char *token;
};

/* A transaction started on the handle (XS_RECONNECT). */
struct xs__tx {
    struct xs__tx *next;
    xs_transaction_t id;        /* the id the caller sees */
    xs_transaction_t daemon_id; /* the id on the connection it began on */
    unsigned int gen;           /* that connection's generation */
};

/* xs__waiter.fate: the request must go out again on the new connection. */
#define XS__RESEND 1

/* A request waiting for its reply (lives on the requesting thread's stack). */
struct xs__waiter {
    struct xs__waiter *next;
    uint32_t req_id;
    struct xs__msg *reply; /* set by whoever reads the reply */
    /* What the connection-loss rules need (see reconnection below). */
    enum xsd_sockmsg_type type;
    xs_transaction_t tx;    /* the caller's transaction id */
    unsigned int gen;       /* generation of the connection it went out on */
    bool unsent;            /* the send failed: the daemon never saw it */
    bool resent;            /* this is its second sending */
    int fate;               /* 0; XS__RESEND or -errno once the link broke */
    /* WATCH: the entry to add on success; UNWATCH: the entry to remove. */
    struct xs__watch *watch;
};

/* Receive buffer: room for two whole messages. */
#define XS__RBUF_SIZE (2 * (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX))

/*
 * The handle.
 *
 * Sending: any thread sends a whole request while holding send_lock, after
 * registering a waiter for it under `lock`.  Requests of several threads
 * may thus be in flight together; the daemon echoes req_id and replies are
 * matched on it.
 *
 * Receiving: at most one thread at a time owns the receive side (rbuf and
 * reading from fd), shown by `reading`.  Before xs_watch() a thread that
 * waits for its reply takes that role itself when it is free, dispatches
 * every message it reads (replies to their waiters, events to the watch
 * queue) until its own reply came, then hands the role on.  A thread that
 * takes an event (xs_check_watch(), xs_read_watch()) with the queue empty
 * takes the role the same way and reads what the daemon sent.  Before the
 * role is handed on, every whole message already in rbuf is dispatched, so
 * nothing waits unseen behind a connection with no more to read.  Only a
 * xenbus device handle starts a reader thread (at its first xs_watch()),
 * which takes the role for good.
 *
 * States: open (dead_errno == 0) -> dead (dead_errno set: the connection
 * broke or the daemon broke the protocol; every waiter and every later
 * call fails with dead_errno) -> freed by xs_close().
 *
 * With XS_RECONNECT (reconnect_ms > 0) a connection that breaks (end of
 * stream, ECONNRESET, EPIPE) goes instead from open to reconnecting: the
 * thread holding the receive role when it reads the break becomes the
 * reconnector.  It settles every request still unanswered (fate: resend,
 * EAGAIN inside a transaction, EIO), connects to `path` again until
 * reconnect_ms have passed, registers the handle's watches on the new
 * connection (gen + 1) and goes back to open; or, when the time is up,
 * to dead with the last connect error.  While reconnecting no other
 * thread sends: new requests wait on reply_cond.  Transactions of an
 * older generation are lost: their ids fail with EAGAIN.
 *
 * Lock order: send_lock before lock.  Nothing blocks in I/O while holding
 * `lock`.
 */
struct xs_handle {
    int fd;
    bool is_socket;      /* else a xenbus character device */
    bool unwatch_filter; /* XS_UNWATCH_FILTER */
    int stop_pipe[2];    /* readable once xs_close() wants the reader gone */

    pthread_mutex_t send_lock;

    pthread_mutex_t lock; /* protects everything below */
    pthread_cond_t reply_cond; /* a reply arrived or the reader role is free */
    pthread_cond_t watch_cond; /* an event was queued */
    uint32_t next_req_id;
    struct xs__waiter *waiters;
    bool reading;
    bool thread_started;
    bool stopping;
    pthread_t thread;
    int dead_errno;
    struct xs__msg *watch_head;
    struct xs__msg **watch_tail;
    int watch_pipe[2]; /* made by xs_fileno(); readable iff events queued */
    /* xs_fileno() of a socket handle without a reader thread: an epoll
     * set of watch_pipe[0] and fd, readable while events are queued or
     * the daemon sent something nobody read yet.  -1 until then. */
    int epoll_fd;
    bool epoll_failed;  /* could not make or keep it: reader thread */
    bool watches_set;   /* xs_watch() was called */
    bool kicked;        /* watch_pipe holds its one byte */
    bool taker_reading; /* the role is a taking thread's: it kicks */

    /* XS_RECONNECT (all zero/NULL without it). */
    unsigned int reconnect_ms; /* the window; 0: a break is final */
    char *path;                /* the socket to connect to again */
    bool reconnecting;
    unsigned int gen;          /* bumped by each new connection */
    struct xs__watch *watches; /* registered: to register again */
    struct xs__tx *txs;        /* started and not yet ended */
    xs_transaction_t next_tx_id;

    /* The last directory that did not fit one reply (xs_directory then
     * asks for its parts at once: one round trip less).  Guarded by
     * big_dir_lock, apart from `lock` (the request path takes that). */
    pthread_mutex_t big_dir_lock;
    char *big_dir;

    /* Receive side, owned by the thread with `reading` set. */
    long long recv_deadline; /* reading gives up then (ms); 0: never */
    size_t rlen;
    char rbuf[XS__RBUF_SIZE];
};

/*
 * Sends one request of `type` in transaction `t` whose payload is the
 * concatenation of iov[0..niov-1] and waits for its reply.  Returns the
 * malloc'd reply payload with a NUL appended (its length, without the
 * NUL, in *len_r if not NULL), or NULL with errno set.  An XS_ERROR reply
 * becomes NULL with the errno it names.
 */
void *xs__talkv(struct xs_handle *h, xs_transaction_t t,
                enum xsd_sockmsg_type type, const struct iovec *iov,
                unsigned int niov, unsigned int *len_r);

/* Starts the reader thread if it does not run yet.  false + errno. */
bool xs__start_reader(struct xs_handle *h);

/*
 * Readies h for watch events before its first WATCH: a xenbus device
 * handle (or one whose xs_fileno() set failed) gets its reader thread;
 * a socket handle's events are read by whoever takes them.  false + errno.
 */
bool xs__watch_prepare(struct xs_handle *h);

/*
 * Takes the first queued event; waits for one if `block`.  Returns the
 * event, or NULL with errno (EAGAIN when !block and nothing is queued).
 */
struct xs__msg *xs__take_event(struct xs_handle *h, bool block);

/* Drops queued events for (path, token) as XS_UNWATCH_FILTER says. */
void xs__filter_events(struct xs_handle *h, const char *path,
                       const char *token);

/* ------------------------------------ XS_RECONNECT (xs_reconnect.c) */

/*
 * The reconnection window in ms for xs_open(flags): 0 without
 * XS_RECONNECT, else $XENSTORE_RECONNECT_MS or 10000.
 */
unsigned int xs__reconnect_window(unsigned long flags);

/*
 * A watch entry for the payload of a WATCH or UNWATCH request ("path\0
 * token\0"), or NULL (ENOMEM).  Freed by xs__watch_free().
 */
struct xs__watch *xs__watch_new(const struct iovec *iov, unsigned int niov);
void xs__watch_free(struct xs__watch *w);

/* Adds w to the handle's watches (which then own it).  `lock` held. */
void xs__watch_add(struct xs_handle *h, struct xs__watch *w);

/* Drops the watch with key's path and token, if any.  `lock` held. */
void xs__watch_remove(struct xs_handle *h, const struct xs__watch *key);

/*
 * Records a transaction that began as daemon_id on connection `gen`;
 * its id for the caller in *id_r.  0 or -ENOMEM.  `lock` held.
 */
int xs__tx_begin(struct xs_handle *h, xs_transaction_t daemon_id,
                 unsigned int gen, xs_transaction_t *id_r);

/*
 * The daemon's id of caller transaction `id` in *daemon_id_r.  0,
 * -ENOENT (unknown id) or -EAGAIN (lost with an earlier connection).
 * `lock` held.
 */
int xs__tx_lookup(struct xs_handle *h, xs_transaction_t id,
                  xs_transaction_t *daemon_id_r);

/* Forgets transaction `id` (ended, or lost and ended).  `lock` held. */
void xs__tx_forget(struct xs_handle *h, xs_transaction_t id);

/*
 * What becomes of request w, sent but unanswered when its connection
 * broke: XS__RESEND, -EAGAIN (inside a transaction) or -EIO (it may have
 * taken effect).
 */
int xs__lost_fate(const struct xs__waiter *w);

/* Frees the watches, transactions and path kept for reconnection. */
void xs__reconnect_free(struct xs_handle *h);

/* Frees a message and its body. */
void xs__msg_free(struct xs__msg *msg);

/* Number of NUL-terminated strings in the first len bytes of strings. */
unsigned int xs__count_strings(const char *strings, unsigned int len);

/* Maps an XS_ERROR payload ("ENOENT") to an errno value (EINVAL if none). */
int xs__errno_from_string(const char *name);

#endif /* XS_INTERNAL_H */
