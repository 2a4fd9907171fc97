/*
 * chan.h - the channel between xenolithd and one domain process.
 *
 * A SOCK_SEQPACKET socketpair made before the fork.  Packets are a
 * struct proto_hdr (op from enum chan_op) and a payload.  The daemon's
 * requests (PAUSE .. CONS_IN) are handled in order by the domain
 * process's main thread; each but CONS_IN gets one CHAN_REPLY with the
 * same seq (CHAN_GET_CONTEXT's carries the registers).
 *
 * A domain process is forked ahead of need as a "spare": it makes its
 * KVM VM (irqchip, PIT: the slow part) and sends SPARE_READY; a create
 * then hands it CONFIG (struct chan_config, the memfd attached), and it
 * adds memory, ACPI tables and vCPUs.  The domain process also sends,
 * unasked: READY once set up (or ERROR with rc = -errno, then exits;
 * also for a failing spare), SHUTDOWN when the
 * guest powers off / reboots / crashes, CONS_OUT console bytes (the
 * very first preceded by CONS_FIRST, its time),
 * VCPU_UP when a vCPU first runs, LOG lines for the daemon's log.
 *
 * A device-model domain's process (dm.c) is forked at the attach and
 * supervises qemu instead of running a VM: it sends READY once
 * connected to qemu's monitor (ERROR and exits otherwise), answers the
 * same requests (GET_CONTEXT, SET_CONTEXT: -EOPNOTSUPP), sends PAUSED
 * when qemu stops or resumes, and on DESTROY quits qemu and exits.
 */
#ifndef XENOLITH_CHAN_H
#define XENOLITH_CHAN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

enum chan_op {
    CHAN_PAUSE = 1,
    CHAN_UNPAUSE,
    CHAN_SET_CONTEXT,     /* struct proto_context */
    CHAN_AFFINITY,        /* struct proto_affinity */
    CHAN_SHUTDOWN,        /* u32 reason: stop the vCPUs */
    CHAN_CONS_IN,         /* bytes, no reply */
    CHAN_CONFIG,          /* struct chan_config + memfd, no reply */
    CHAN_GET_CONTEXT,     /* u32 vcpu -> reply + xc_vcpu_context */
    CHAN_TRIGGER,         /* u32 XEN_DOMCTL_SENDTRIGGER_* */
    CHAN_DESTROY,         /* device model: quit qemu, exit; no reply */
    CHAN_QMP,             /* device model: PROTO_OP_DM_QMP's payload ->
                           * reply + the return value, JSON text */
    CHAN_KEEP_FD,         /* u32 CHAN_FD_*, a descriptor attached: hold
                           * it for the next daemon; no reply */
    CHAN_DETACH,          /* reply, then the process sends nothing more
                           * on this channel and waits to be adopted */
    CHAN_VIRTIO_ADD,      /* struct proto_virtio -> reply + u32 slot, or
                           * the reason as text */
    CHAN_VIRTIO_DEL,      /* struct proto_virtio_del -> reply, or the
                           * reason as text */
    CHAN_VIRTIO_STATE,    /* struct proto_virtio_del -> reply + u32 */
    CHAN_DIRTY_LOG,       /* struct proto_dirty -> reply + bitmap */
    CHAN_STATE_GET,       /* u32 index -> reply + proto_state + body */
    CHAN_STATE_SET,       /* proto_state + body -> reply */
    CHAN_REPLY = 100,
    CHAN_READY,
    CHAN_ERROR,
    CHAN_EVT_SHUTDOWN,    /* u32 reason */
    CHAN_CONS_OUT,        /* bytes */
    CHAN_VCPU_UP,         /* u32 vcpu */
    CHAN_LOG,             /* text */
    CHAN_SPARE_READY,
    CHAN_CONS_FIRST,      /* u64 CLOCK_MONOTONIC ns of the first byte */
    CHAN_EVT_PAUSED,      /* device model: u32 1 qemu stopped, 0 runs */
    CHAN_EVT_BALLOON,     /* device model: u64 bytes the guest holds
                           * (qemu's BALLOON_CHANGE "actual") */
    CHAN_EVT_VCPUS,       /* device model: u32 vCPUs qemu has now */
    CHAN_HELLO,           /* first on an adoption: struct chan_hello,
                           * the memfd attached (core domains) */
    CHAN_KEPT,            /* u32 CHAN_FD_*, a descriptor given back */
    CHAN_HELLO_END,       /* the adoption's packets are all sent */
};

/* Descriptors a domain process keeps for the daemon (CHAN_KEEP_FD). */
enum chan_fd_kind {
    CHAN_FD_PTY_MASTER = 1,
    CHAN_FD_PTY_SLAVE,
};

struct chan_config {
    uint32_t domid;
    uint32_t nr_vcpus;
    uint64_t mem_size;
};

/*
 * What a domain process tells a daemon that adopts it (handover.h):
 * its live state.  The daemon's own facts about the domain come from
 * its record file (record.h).  After HELLO: CHAN_KEPT per descriptor
 * held, then CHAN_CONS_OUT packets with the console output it kept (the
 * newest HANDOVER_KEEP bytes, ending at byte number cons_head; those from
 * cons_sent on never reached a daemon), then CHAN_HELLO_END.
 */
struct chan_hello {
    uint32_t domid;
    uint32_t dm;                 /* 1: a device model's supervisor */
    uint32_t nr_vcpus;
    uint32_t nr_online;
    uint64_t mem_size;
    uint32_t paused;
    uint32_t shutdown;           /* 1: shut down, reason below */
    uint32_t reason;
    int32_t qemu_pid;            /* dm: qemu, 0 once it exited */
    uint64_t dm_balloon;
    uint64_t cons_first_ns;      /* 0: no output yet */
    uint64_t cons_head;          /* console bytes ever output */
    uint64_t cons_sent;          /* ... of which a daemon was sent */
};

/* Large enough for qemu's answers to PROTO_OP_DM_QMP (128 vCPU slots). */
#define CHAN_MAX_PAYLOAD 61440

/* CHAN_LOG's rc: how the daemon logs the line. */
#define CHAN_LOG_WARN 0
#define CHAN_LOG_INFO 1

/*
 * Forks a process joined to this one by a new channel.  In the parent:
 * the child's pid, *chan_r the parent's end.  In the child: 0, *chan_r
 * the child's end, the signal mask cleared, SIGPIPE ignored, SIGCHLD
 * default, and every descriptor but stdio and the channel closed.
 * -errno when the socketpair or the fork fails (nothing is left open).
 */
pid_t chan_fork(int *chan_r);

/* Send one packet; returns 0 or -errno.  Never blocks when nonblock. */
int chan_send(int fd, uint32_t op, uint32_t seq, int32_t rc,
              const void *payload, size_t len, int nonblock);

/* Send one packet with a descriptor attached (SCM_RIGHTS). */
int chan_send_fd(int chan, uint32_t op, const void *payload, size_t len,
                 int fd);

/* chan_recv that also takes a descriptor (*fd_r, -1 if none). */
int chan_recv_nb_fd(int fd, struct proto_hdr *hdr, void *buf, size_t cap,
                    int *fd_r);

/* Wait for and receive one packet that may carry a descriptor (*fd_r,
 * -1 if none).  Returns the payload length or -errno. */
int chan_recv_fd(int chan, struct proto_hdr *hdr, void *buf, size_t cap,
                 int *fd_r);

/* Receive one packet into hdr and buf (cap bytes) without blocking;
 * returns the payload length, -EPIPE at EOF, -EAGAIN if none, -EPROTO
 * for a malformed packet, or another -errno. */
int chan_recv(int fd, struct proto_hdr *hdr, void *buf, size_t cap);

/* A CHAN_LOG line for the daemon's log (up to 511 bytes of it), at
 * level CHAN_LOG_WARN or CHAN_LOG_INFO. */
void chan_vlog(int fd, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif /* XENOLITH_CHAN_H */
