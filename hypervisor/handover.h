/*
 * handover.h - a domain process's side of a daemon restart.
 *
 * A domain process (vmproc.c, or dm.c for a device model) outlives the
 * daemon that forked it.  Once configured it listens on
 * <rundir>/dom/<domid>.sock; while its channel works it refuses whoever
 * connects there.  When the channel ends (the daemon died) or the daemon
 * asked it to detach (CHAN_DETACH, a planned upgrade), the guest runs on
 * and the process waits for a new daemon to connect: it then sends
 * CHAN_HELLO with its state, gives back the descriptors it was asked to
 * keep (CHAN_KEPT), sends the console output it kept (CHAN_CONS_OUT)
 * and CHAN_HELLO_END; that connection is its channel from then on.
 *
 * The console: every byte the guest prints is also kept here, the last
 * HANDOVER_KEEP bytes, with a count of those a daemon was sent, so the
 * new daemon gets its ring back and logs exactly what it missed.
 */
#ifndef XENOLITH_HANDOVER_H
#define XENOLITH_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

#include "chan.h"

#define HANDOVER_KEEP 65536U     /* console bytes kept, as the ring */
#define HANDOVER_NR_FDS 3        /* indexed by enum chan_fd_kind */

struct handover {
    uint32_t domid;
    int listen_fd;               /* -1: not adoptable */
    char path[108];
    uint8_t *ring;               /* NULL until the first byte */
    uint64_t head;               /* console bytes ever output */
    uint64_t sent;               /* ... of which went to a daemon */
    uint64_t first_ns;
    int kept[HANDOVER_NR_FDS];
};

void handover_init(struct handover *h);

/* Listen on <rundir>/dom/<domid>.sock (replacing a stale one).  0 or
 * -errno; the caller reports it (the domain then cannot be adopted). */
int handover_listen(struct handover *h, uint32_t domid);

/* The guest printed buf; sent: it also went to the daemon. */
void handover_console(struct handover *h, const void *buf, size_t len,
                      int sent);

/* CHAN_KEEP_FD's payload and descriptor: hold fd (taken, closed on a
 * bad payload). */
void handover_keep(struct handover *h, const void *payload, size_t len,
                   int fd);

/*
 * Accept a connection on the listening socket.  adopt: send hello
 * (its console fields filled in here), memfd (-1: none), the kept
 * descriptors and the unsent output, and return the connection as the
 * new channel (blocking, close-on-exec); otherwise close it (the
 * channel still works) and return -EBUSY.  -errno on failure.
 */
int handover_accept(struct handover *h, int adopt, struct chan_hello *hello,
                    int memfd);

/* Has the daemon's end of chan gone (hung up)?  A daemon killed a
 * moment ago may be followed by a new one before the process has read
 * the old channel's end: asked when someone connects. */
int handover_chan_gone(int chan);

/* Remove the socket (the process is going).  Idempotent. */
void handover_close(struct handover *h);

#endif /* XENOLITH_HANDOVER_H */
