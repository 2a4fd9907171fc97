/*
 * vhost_user.h - the back-end's side of vhost-user (QEMU's
 * docs/interop/vhost-user.rst): one connection from a frontend (the
 * guest's qemu, or a domain process of the core) to one device of a
 * backend.  Shared by the backends (compiled into each); never
 * installed.
 *
 * The connection reads the frontend's messages, maps the guest's RAM
 * from SET_MEM_TABLE's fds, keeps each queue's fds and addresses and
 * starts and stops its ring (virtq.h); the device (its owner) moves the
 * data and says what it offers through struct vu_ops.  Single-threaded
 * per connection: every call on one struct vu comes from one thread.
 *
 * Trust: the frontend and the guest are not trusted.  Nothing either
 * sends may crash the process: a malformed message or ring closes the
 * connection, with a log line naming the request and why, and the
 * device waits for the frontend to connect again.
 */
#ifndef BACKEND_VHOST_USER_H
#define BACKEND_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq.h"

#define VU_HDR_SIZE 12
#define VU_MAX_PAYLOAD 512      /* the largest we accept: SET_MEM_TABLE */
#define VU_MAX_FDS 8
#define VU_MAX_QUEUES 2
#define VU_CONFIG_MAX 256       /* the largest config space we serve */

/* Feature bits of the protocol (GET_FEATURES) and protocol features. */
#define VU_F_PROTOCOL_FEATURES 30
#define VU_F_LOG_ALL 26         /* dirty logging, for migration */
#define VU_PF_LOG_SHMFD 1
#define VU_PF_REPLY_ACK 3
#define VU_PF_BACKEND_REQ 5
#define VU_PF_CONFIG 9

/* vu_ops.poll_add's q for the connection's own fd. */
#define VU_CONN (-1)

struct vu;

/* What the device offers and what the connection asks of it. */
struct vu_ops {
    uint64_t features;          /* virtio and vhost-user feature bits */
    uint64_t protocol_features; /* of VU_PF_*: REPLY_ACK at least */
    unsigned int nr_queues;     /* at most VU_MAX_QUEUES */
    const char *queues;         /* "one rx and one tx queue": messages */
    /* Polls fd for input: the connection (q VU_CONN) or queue q's kick
     * fd; 0 or -errno (logged by the owner). */
    int (*poll_add)(struct vu *c, int fd, int q);
    void (*poll_del)(struct vu *c, int fd);
    /* One line for the log, about this connection. */
    void (*log)(struct vu *c, const char *msg);
    /* A queue started, stopped or was enabled or disabled, or the
     * connection came or went. */
    void (*queues_changed)(struct vu *c);
    /* Optional: the features were acked (0, or -EPROTO with c->err). */
    int (*features_set)(struct vu *c, uint64_t features);
    /* With VU_PF_CONFIG: len bytes of the config space from off into
     * buf (the rest of buf zero). */
    void (*get_config)(struct vu *c, uint32_t off, unsigned char *buf,
                       uint32_t len);
};

/*
 * A device's connection: fd -1 when no frontend is connected.  Its end
 * (vu_close: the frontend left, or broke a message or a ring) stops the
 * queues, closes every fd it gave and unmaps guest memory; the device
 * listens on.
 */
struct vu {
    const struct vu_ops *ops;
    void *owner;                /* the device's, for its callbacks */
    int fd;
    unsigned char msg[VU_HDR_SIZE + VU_MAX_PAYLOAD];
    size_t have;                /* bytes of msg read so far */
    int fds[VU_MAX_FDS];        /* fds that came with this message */
    unsigned int nr_fds;
    uint64_t features;          /* as acked by SET_FEATURES */
    uint64_t protocol_features;
    int req_fd;                 /* the backend's channel, -1 when none */
    struct vu_mem mem;
    uint8_t *log;               /* SET_LOG_BASE's bitmap, NULL: none */
    uint64_t log_size;
    struct virtq vq[VU_MAX_QUEUES];
    char err[256];              /* why it is being closed */
};

/* Sets up an unconnected c (once, when the device is made). */
void vu_init(struct vu *c, const struct vu_ops *ops, void *owner);

/* listen_fd (bound to sock) polled readable: accepts one frontend. */
void vu_accept(struct vu *c, int listen_fd, const char *sock);

/* The connection polled readable: reads and handles its messages. */
void vu_input(struct vu *c);

/* Ends the connection (fine when there is none); why for the log, NULL
 * for none. */
void vu_close(struct vu *c, const char *why);

/*
 * Tells the frontend that the config space changed (a disk grew): a
 * CONFIG_CHANGE message on the backend's channel.  No reply is asked
 * for: the frontend answers it by reading the config over the
 * connection, which this thread serves.  0, -ENOTCONN when there is no
 * channel (not negotiated, or no frontend), -errno when it cannot be
 * sent.
 */
int vu_config_changed(struct vu *c);

#endif
