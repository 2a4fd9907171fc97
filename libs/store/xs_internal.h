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

/* A request waiting for its reply (lives on the requesting thread's stack). */
struct xs__waiter {
    struct xs__waiter *next;
    uint32_t req_id;
    struct xs__msg *reply; /* set by whoever reads the reply */
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
 * queue) until its own reply came, then hands the role on.  From the first
 * xs_watch() on, a reader thread takes the role for good so that events
 * are queued while no request is in flight.
 *
 * States: open (dead_errno == 0) -> dead (dead_errno set: the connection
 * broke or the daemon broke the protocol; every waiter and every later
 * call fails with dead_errno) -> freed by xs_close().
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

    /* Receive side, owned by the thread with `reading` set. */
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
 * Takes the first queued event; waits for one if `block`.  Returns the
 * event, or NULL with errno (EAGAIN when !block and nothing is queued).
 */
struct xs__msg *xs__take_event(struct xs_handle *h, bool block);

/* Drops queued events for (path, token) as XS_UNWATCH_FILTER says. */
void xs__filter_events(struct xs_handle *h, const char *path,
                       const char *token);

/* Frees a message and its body. */
void xs__msg_free(struct xs__msg *msg);

/* Number of NUL-terminated strings in the first len bytes of strings. */
unsigned int xs__count_strings(const char *strings, unsigned int len);

/* Maps an XS_ERROR payload ("ENOENT") to an errno value (EINVAL if none). */
int xs__errno_from_string(const char *name);

#endif /* XS_INTERNAL_H */
