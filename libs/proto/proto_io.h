/*
 * proto_io.h - one packet of the core's protocol (proto.h) onto or off
 * a SOCK_SEQPACKET unix socket: a struct proto_hdr, its payload, and at
 * most one descriptor (SCM_RIGHTS).
 *
 * The one framing code of the control socket (xenolithd <-> libxenctrl)
 * and of the channel between xenolithd and its domain processes.
 * Internal to the core and libxenctrl; not installed.
 */
#ifndef XENOLITH_PROTO_IO_H
#define XENOLITH_PROTO_IO_H

#include <stddef.h>

#include "proto.h"

#define PROTO_IO_NONBLOCK 1      /* flags: never wait (MSG_DONTWAIT) */

/*
 * Send *hdr, its len set to len, then len bytes of payload, as one
 * packet; pass_fd >= 0 goes along.  0 or -errno (EINTR retried; never
 * SIGPIPE).
 */
int proto_send(int sock, struct proto_hdr *hdr, const void *payload,
               size_t len, int pass_fd, int flags);

/*
 * Receive one packet: its header into *hdr, up to cap payload bytes
 * into buf.  Returns the payload length, or -EMSGSIZE (more payload than
 * cap: *hdr is valid, the packet is consumed), -EPIPE (the peer closed),
 * -EPROTO (shorter than a header, or a header whose len is not the
 * payload's), -EAGAIN (PROTO_IO_NONBLOCK, nothing there) or
 * another -errno.  A descriptor that came along goes to *fd_r (-1 when
 * none; close-on-exec); with fd_r NULL, or on an error, it is closed.
 */
int proto_recv(int sock, struct proto_hdr *hdr, void *buf, size_t cap,
               int *fd_r, int flags);

#endif /* XENOLITH_PROTO_IO_H */
