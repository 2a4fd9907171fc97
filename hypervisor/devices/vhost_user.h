/*
 * vhost_user.h - the front-end side of the vhost-user protocol: how a
 * domain process hands one virtio device's rings to a backend process
 * (backends/blk's qemu-storage-daemon export, backends/net's
 * xenolith-netback) over a unix socket.
 *
 * The backend maps guest RAM from the memfd regions given to
 * vhu_set_mem_table() and addresses rings by this process's virtual
 * addresses (the regions' hva), as the protocol defines.  Kicks and
 * calls go through eventfds the caller owns (KVM ioeventfd and irqfd on
 * the core), so no ring traffic passes through this module.
 *
 * Every call is synchronous (one request, and its reply when the message
 * has one or REPLY_ACK was negotiated) with a bounded wait; a failure
 * returns -errno and leaves a message naming the request and the socket
 * in v->err.  The caller serialises calls on one struct vhu.
 *
 * The backend channel: the socket carries front-end requests only, so a
 * backend with news of its own (a disk that grew) needs a second one.
 * When the backend offers BACKEND_REQ, vhu_connect makes a socketpair and
 * hands it one end (SET_BACKEND_REQ_FD); the other is v->req_fd, which
 * the owner polls and, when it is readable, calls vhu_backend_message to
 * take one backend request (and ack it where the backend asked).  Only
 * CONFIG_CHANGE_MSG means anything here: the owner reads the config
 * space again (GET_CONFIG) and tells the guest (virtio_pci.h).  The ack
 * goes out before the owner acts on the message: a backend waiting for
 * it answers nothing on the socket meanwhile.  A backend that sends a
 * request with need-reply while this side waits for a reply on the
 * socket stalls both until the reply's timeout: requests are not served
 * during a call.
 */
#ifndef XENOLITH_VHOST_USER_H
#define XENOLITH_VHOST_USER_H

#include <stddef.h>
#include <stdint.h>

#define VHU_MAX_REGIONS 8

/* Feature bits of the protocol itself. */
#define VHU_F_PROTOCOL_FEATURES 30       /* in GET/SET_FEATURES */
#define VHU_F_LOG_ALL           26       /* dirty logging */
#define VHU_PF_MQ               0        /* protocol features */
#define VHU_PF_LOG_SHMFD        1
#define VHU_PF_REPLY_ACK        3
#define VHU_PF_BACKEND_REQ      5        /* formerly SLAVE_REQ */
#define VHU_PF_CONFIG           9

/* Backend requests (on the backend channel, v->req_fd). */
#define VHU_BACKEND_IOTLB_MSG           1
#define VHU_BACKEND_CONFIG_CHANGE_MSG   2
#define VHU_BACKEND_VRING_HOST_NOTIFIER_MSG 3

/* One piece of guest RAM as the backend is to map it. */
struct vhu_region {
    uint64_t gpa;                        /* guest-physical start */
    uint64_t size;
    uint64_t hva;                        /* where this process maps it */
    int fd;                              /* memfd holding it */
    uint64_t fd_offset;                  /* its offset in fd */
};

struct vhu {
    int fd;                              /* -1 when not connected */
    int req_fd;                          /* backend channel, -1: none */
    char path[108];
    uint64_t features;                   /* what the backend offers */
    uint64_t protocol_features;          /* negotiated (ours & its) */
    unsigned int max_queues;             /* GET_QUEUE_NUM, or 1 */
    int timeout_ms;                      /* per reply; default 5000 */
    char err[256];
};

/* A struct vhu that holds nothing (fd and req_fd -1). */
void vhu_init(struct vhu *v);

/*
 * Connect to the backend at path (waiting up to timeout_ms for the
 * socket to appear and accept), then SET_OWNER, GET_FEATURES and, when
 * the backend offers VHU_F_PROTOCOL_FEATURES, GET/SET_PROTOCOL_FEATURES
 * (taking MQ, REPLY_ACK, BACKEND_REQ and CONFIG where offered),
 * GET_QUEUE_NUM and, with BACKEND_REQ, SET_BACKEND_REQ_FD (v->req_fd).
 * 0 or -errno (v->err says which step failed and why).
 */
int vhu_connect(struct vhu *v, const char *path, int timeout_ms);

/* SET_MEM_TABLE with n regions (at most VHU_MAX_REGIONS). */
int vhu_set_mem_table(struct vhu *v, const struct vhu_region *r,
                      unsigned int n);

/*
 * SET_FEATURES: the device features the driver accepted (virtio bits),
 * plus VHU_F_PROTOCOL_FEATURES when the backend offered it.
 */
int vhu_set_features(struct vhu *v, uint64_t features);

/*
 * Dirty logging for a migration: vhu_can_log says whether the backend
 * offers it (VHOST_F_LOG_ALL with the log in shared memory); then
 * SET_LOG_BASE gives it the log (size bytes of fd, one bit per 4 KiB
 * page of guest-physical memory) and SET_FEATURES with VHU_F_LOG_ALL
 * turns the marking on, without it off.
 */
int vhu_can_log(const struct vhu *v);
int vhu_set_log_base(struct vhu *v, int fd, uint64_t size);

/* GET_CONFIG of len bytes at offset of the device's config space
 * (needs VHU_PF_CONFIG: -ENOTSUP otherwise). */
int vhu_get_config(struct vhu *v, uint32_t offset, void *buf,
                   uint32_t len);

/*
 * Start ring idx: SET_VRING_NUM, SET_VRING_BASE (0), SET_VRING_ADDR
 * (the rings' addresses as this process sees them), SET_VRING_KICK,
 * SET_VRING_CALL and, when protocol features were negotiated,
 * SET_VRING_ENABLE 1.  kick_fd and call_fd stay the caller's.
 */
int vhu_queue_start(struct vhu *v, unsigned int idx, unsigned int num,
                    uint64_t desc_hva, uint64_t avail_hva,
                    uint64_t used_hva, int kick_fd, int call_fd);

/* The same for a ring the guest has used already (a backend that came
 * back): the backend reads the avail ring from index base on. */
int vhu_queue_resume(struct vhu *v, unsigned int idx, unsigned int num,
                     uint16_t base, uint64_t desc_hva, uint64_t avail_hva,
                     uint64_t used_hva, int kick_fd, int call_fd);

/* Stop ring idx (GET_VRING_BASE); *last_avail_r, when not NULL, gets
 * the next avail index the backend would have read. */
int vhu_queue_stop(struct vhu *v, unsigned int idx,
                   uint16_t *last_avail_r);

/*
 * Take one request off the backend channel (v->req_fd), waiting at most
 * v->timeout_ms for the rest of a message once its first bytes are in;
 * descriptors it carries are closed.  With REPLY_ACK negotiated, a
 * request with need-reply is acked: 0 for CONFIG_CHANGE_MSG (when CONFIG
 * was negotiated), non-zero for anything else, which this front end does
 * not serve.  Returns the request (VHU_BACKEND_*, or another the caller
 * ignores; *req_r gets it too), or -EAGAIN with nothing waiting, or
 * -EPIPE when the backend hung up the channel, -EPROTO for a malformed
 * message (one a hang-up cuts short included), -ETIMEDOUT for one whose
 * rest does not come, -ENOTCONN with no channel, -errno otherwise.  On
 * any error but -EAGAIN and -ENOTCONN the channel is closed (req_fd -1;
 * the socket stays up) and v->err says why; the next vhu_connect makes a
 * new one.
 */
int vhu_backend_message(struct vhu *v, uint32_t *req_r);

/* Hang up (the backend then drops its state for this front end); the
 * backend channel goes too. */
void vhu_close(struct vhu *v);

#endif /* XENOLITH_VHOST_USER_H */
