/*
 * chan.h - the channel between xenolithd and one domain process.
 *
 * A SOCK_SEQPACKET socketpair made before the fork.  Packets are a
 * struct proto_hdr (op from enum chan_op) and a payload.  The daemon's
 * requests (PAUSE .. CONS_IN) are handled in order by the domain
 * process's main thread; each but CONS_IN gets one CHAN_REPLY with the
 * same seq.  The domain process also sends, unasked: READY once KVM is
 * set up (or ERROR with rc = -errno, then exits), SHUTDOWN when the
 * guest powers off / reboots / crashes, CONS_OUT console bytes,
 * VCPU_UP when a vCPU first runs, LOG lines for the daemon's log.
 */
#ifndef XENOLITH_CHAN_H
#define XENOLITH_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum chan_op {
    CHAN_PAUSE = 1,
    CHAN_UNPAUSE,
    CHAN_SET_CONTEXT,     /* struct proto_context */
    CHAN_AFFINITY,        /* struct proto_affinity */
    CHAN_SHUTDOWN,        /* u32 reason: stop the vCPUs */
    CHAN_CONS_IN,         /* bytes, no reply */
    CHAN_REPLY = 100,
    CHAN_READY,
    CHAN_ERROR,
    CHAN_EVT_SHUTDOWN,    /* u32 reason */
    CHAN_CONS_OUT,        /* bytes */
    CHAN_VCPU_UP,         /* u32 vcpu */
    CHAN_LOG,             /* text */
};

#define CHAN_MAX_PAYLOAD 4096

/* Send one packet; returns 0 or -errno.  Never blocks when nonblock. */
int chan_send(int fd, uint32_t op, uint32_t seq, int32_t rc,
              const void *payload, size_t len, int nonblock);

/* Receive one packet into hdr and buf (cap bytes) without blocking;
 * returns the payload length, -EPIPE at EOF, -EAGAIN if none, -EPROTO
 * for a malformed packet, or another -errno. */
int chan_recv(int fd, struct proto_hdr *hdr, void *buf, size_t cap);

#endif /* XENOLITH_CHAN_H */
