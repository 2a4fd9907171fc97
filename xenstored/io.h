/*
 * io.h: xenstored's event loop, listening sockets and connections.
 *
 * One epoll loop serves:
 *   <rundir>/socket            the control domain's tools (domid 0);
 *   <rundir>/domains/<domid>   one per introduced domain: every connection
 *                              accepted there has that domain's identity,
 *                              so its permissions and quotas apply;
 *   a signalfd                 SIGTERM/SIGINT stop, SIGHUP reopens logs.
 * Sockets are created mode 0600 (only their owner, root, may connect).
 *
 * Each connection reads in large chunks, cuts them into messages (wire.h),
 * hands each to the engine and queues what the engine sends (outq.h);
 * queues are written with writev once per loop turn.
 *
 * Flow control, per connection:
 *   - when its queued output reaches out_limit bytes, or an unprivileged
 *     connection has `outstanding` replies not yet written, its further
 *     requests wait (unread) until the queue drains;
 *   - watch events for a connection whose output is at out_limit are
 *     dropped and logged, as Xen drops events over a domain's memory quota;
 *     other connections never wait for a slow one.
 * A header with len > XENSTORE_PAYLOAD_MAX, a request the engine rejects
 * as fatal, or a socket error closes that connection only.
 *
 * Live update (Xen's `xenstore-control live-update [-c CMDLINE] BINARY`:
 * CONTROL live-update -f BINARY, -c CMDLINE, -s [-t T] [-F], -a): once
 * no transaction is open (else the answer is BUSY and the client asks
 * again; -F drops them), the daemon writes its output queues out, hands
 * its state to lu.c and executes BINARY (or itself) with the same
 * command line; the new process, in io_new with cfg->restore_fd, adopts
 * the listening socket and every connection, rebuilds the store and the
 * watches by replaying engine_dump()'s requests with their answers
 * dropped, and answers the client's -s with OK.  Clients keep their
 * connections, watches and pending input; the pid stays the same.
 *
 * Crash snapshot (cfg->snapshot): within a second of a change, a forked
 * child writes the store (engine_dump's requests: nodes, permissions,
 * domains; not connections, watches or open transactions) to the file,
 * atomically; a clean stop removes it.  A start that finds it (the
 * daemon died) replays it before serving: what can be lost is the last
 * second's changes, every connection and its watches (clients connect
 * again), and open transactions.
 *
 * Threading: one thread runs the loop and owns the engine.
 */
#ifndef XENSTORED_IO_H
#define XENSTORED_IO_H

#include <stddef.h>

#include "engine.h"

struct io;

struct io_config {
    const char *rundir;          /* holds socket and domains/ */
    unsigned int outstanding;    /* replies in flight, 0 = no limit */
    size_t out_limit;            /* queued output bytes per connection */
    /* live update (lu.h): this binary and the command line it was
     * started with (to execute again), and, in the new process, the
     * descriptor of the state it restores (-1: a fresh start) */
    const char *self;
    char *const *argv;
    int restore_fd;
    /* --snapshot: the store kept in this file for a restart after a
     * crash (NULL: not kept) */
    const char *snapshot;
};

#define IO_OUT_LIMIT_DEFAULT (1024 * 1024)

/*
 * Creates the rundir (0755) and its domains/ folder, the engine and the
 * listening socket <rundir>/socket (with cfg->restore_fd >= 0: restores
 * a live update's state instead, see above; the loop is then made here,
 * for the process does not fork).  Refuses (-EADDRINUSE) when a live
 * daemon answers on that socket; removes a stale one.  Blocks SIGTERM,
 * SIGINT and SIGHUP (io_run() reads them through a signalfd) and ignores
 * SIGPIPE.
 * Returns 0 and *io_r, or -errno (logged).
 */
int io_new(const struct io_config *cfg, const struct engine_config *ecfg,
           struct io **io_r);

/*
 * Runs the loop until SIGTERM or SIGINT, in the process that will serve
 * (call it after forking).  Returns 0, or -errno (logged) when the loop
 * itself failed.
 */
int io_run(struct io *io);

/* Closes every connection and socket, removes the socket files and frees
 * the engine.  NULL is allowed. */
void io_free(struct io *io);

#endif /* XENSTORED_IO_H */
