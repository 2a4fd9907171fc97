/*
 * corewatch.h: what the hypervisor core says of introduced domains.
 *
 * Xen's xenstored learns from VIRQ_DOM_EXC and the domain's info that an
 * introduced domain shut down or died.  Here the daemon opens the core
 * (libxenctrl, $XENOLITH_RUNDIR/core.sock) when the first domain is
 * introduced and subscribes to its state-change notifications; their fd
 * joins the daemon's epoll loop.  On a change the daemon asks the core for
 * each introduced domain's state and reports it to the engine
 * (engine_domains_changed), which keeps Xen's rules.
 *
 * Without a core the daemon works on: the failure is logged once, and the
 * connection is tried again at the next INTRODUCE.  If the core goes away
 * later, the same.
 *
 * Threading: the daemon's loop thread only.
 */
#ifndef XENSTORED_COREWATCH_H
#define XENSTORED_COREWATCH_H

#include <stdbool.h>

#include "engine.h"

struct corewatch;

/* Not connected yet.  NULL on ENOMEM. */
struct corewatch *corewatch_new(void);
void corewatch_free(struct corewatch *cw);

/*
 * Connects to the core and subscribes, unless already done.  Returns 0
 * (*fresh_r true when this call connected: the caller adds the fd to its
 * loop and checks every introduced domain, since changes before now were
 * not notified), or -errno (logged on the first failure after a success
 * or at start only).
 */
int corewatch_connect(struct corewatch *cw, bool *fresh_r);

/* The notification fd, -1 when not connected. */
int corewatch_fd(const struct corewatch *cw);

/*
 * Reads the pending notifications (never blocks), calling note(opaque,
 * domid) for each domain whose state may have changed.  Returns 1 when
 * there was one, 0 when not, or -errno when the core went away (logged):
 * the caller then removes the fd from its loop and calls
 * corewatch_disconnect().
 */
int corewatch_drain(struct corewatch *cw,
                    void (*note)(void *opaque, unsigned int domid),
                    void *opaque);

/* The core's word on each info[i].domid, filled into info[i].state: one
 * question per domain for a few, else one listing of the core's domains
 * whatever their number (info is then sorted by domid): RUNNING also
 * when the core could not be asked (logged). */
void corewatch_states(struct corewatch *cw, struct engine_domain_info *info,
                      size_t n);

/* Drops the connection (the caller removed the fd from its loop). */
void corewatch_disconnect(struct corewatch *cw);

#endif /* XENSTORED_COREWATCH_H */
