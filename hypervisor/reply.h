/*
 * reply.h - a client's request, to be answered later.
 *
 * Connections are control.c's: the domain and console code never see
 * one.  What they keep for a request they answer after a wait (a create
 * until the domain process is ready, a pause until its vCPUs parked, a
 * console wait until output) is a struct reply_to, which the control
 * layer made and answers through.  hold/drop keep it valid while a
 * request is outstanding, so a client hanging up mid-request leaves no
 * dangling pointer.  A NULL reply_to is the daemon's own request: it is
 * answered nowhere.
 */
#ifndef XENOLITH_REPLY_H
#define XENOLITH_REPLY_H

#include <stddef.h>
#include <stdint.h>

struct reply_to;

struct reply_ops {
    /* Answer request (op, seq) about domid; fd >= 0 is passed along. */
    void (*send)(struct reply_to *to, uint32_t op, uint32_t seq,
                 uint32_t domid, int32_t rc, const void *payload,
                 size_t len, int fd);
    void (*hold)(struct reply_to *to);
    void (*drop)(struct reply_to *to);
};

struct reply_to {
    const struct reply_ops *ops;
};

static inline void reply_send(struct reply_to *to, uint32_t op, uint32_t seq,
                              uint32_t domid, int32_t rc,
                              const void *payload, size_t len, int fd)
{
    if (to)
        to->ops->send(to, op, seq, domid, rc, payload, len, fd);
}

static inline void reply_hold(struct reply_to *to)
{
    if (to)
        to->ops->hold(to);
}

static inline void reply_drop(struct reply_to *to)
{
    if (to)
        to->ops->drop(to);
}

/* Where the domain code reports XC_EVENT_* (control.c tells watchers). */
typedef void reply_event_fn(uint32_t type, uint32_t domid, uint32_t reason);

#endif /* XENOLITH_REPLY_H */
