/*
 * control.h - the control interface: clients of core.sock.
 *
 * A connection is refcounted: a request forwarded to a domain process
 * holds a reference (reply.h) until its reply is sent, so a client
 * hanging up mid-request never leaves a dangling pointer.  Only this
 * file writes to a connection.
 */
#ifndef XENOLITH_CONTROL_H
#define XENOLITH_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"
#include "reply.h"
#include "loop.h"

struct conn {
    struct loop_fd w;            /* first: the loop frees through it */
    struct reply_to to;          /* what domain.c and console.c hold */
    int refs;
    int hello_done;
    int privileged;
    int watching;
    uid_t uid;
    pid_t pid;
    struct conn *next;
};

/* Listen on <rundir>/core.sock; returns 0 or -errno (logged). */
int control_init(void);
void control_exit(void);

/* Serve the client on fd (non-blocking; its credentials given): the
 * listener's accept, and the fuzz harness's way in.  NULL on failure
 * (fd then stays the caller's). */
struct conn *control_conn_new(int fd, uid_t uid, gid_t gid, pid_t pid);

/* Tell every watcher (the domain code's reply_event_fn). */
void control_event(uint32_t type, uint32_t domid, uint32_t reason);

#endif /* XENOLITH_CONTROL_H */
