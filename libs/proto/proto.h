/*
 * proto.h - the Xenolith core control protocol (version 2).
 *
 * Shared by xenolithd and libxenctrl; private to them (not installed).
 *
 * Transport: a SOCK_SEQPACKET unix socket, $XENOLITH_RUNDIR/core.sock.
 * Every message is one packet: a struct proto_hdr followed by len bytes
 * of payload.  The client's first packet must be PROTO_OP_HELLO carrying
 * its version; the reply carries the daemon's version, or -EPROTO when
 * they differ (the connection is then closed), or -EACCES when the peer
 * is neither uid 0 nor a member of the group "xenolith" (every later
 * request on that connection gets -EACCES too).
 *
 * Requests carry a client-chosen seq; each gets exactly one reply with
 * the same op and seq, rc = 0 / a count or -errno, and the payload
 * listed below.  A client may keep one request in flight at a time.
 * PROTO_OP_MAP_MEMORY's reply carries the domain's memfd as SCM_RIGHTS;
 * so does PROTO_OP_CREATE's (struct proto_created), which spares the
 * domain builder a PLATFORM_INFO and a MAP_MEMORY round trip (not for a
 * device-model domain, which has no memfd).
 * After PROTO_OP_WATCH the connection only receives PROTO_OP_EVENT
 * packets (payload struct xc_domain_event), seq 0.
 *
 * Payloads are the host's native layout (same machine, same build).
 */
#ifndef XENOLITH_PROTO_H
#define XENOLITH_PROTO_H

#include <stdint.h>

#include "xenctrl.h"

/* 2: xc_vcpu_context grew (getcontext's registers); GET_CONTEXT,
 * TRIGGER, SCHED_SET/GET.  3: device-model domains (ATTACH_DM; CREATE's
 * reply carries no memfd for them).  4: DM_QMP. */
#define PROTO_VERSION   4
#define PROTO_MAX_MSG   65536     /* largest packet, header included */

enum proto_op {
    PROTO_OP_HELLO = 1,       /* u32 version          -> u32 version */
    PROTO_OP_CREATE,          /* xc_domain_config, domid in hdr
                                 -> proto_created + memfd */
    PROTO_OP_DESTROY,
    PROTO_OP_PAUSE,
    PROTO_OP_UNPAUSE,
    PROTO_OP_SHUTDOWN,        /* u32 reason */
    PROTO_OP_GETINFO,         /* hdr.domid            -> xc_dominfo_t */
    PROTO_OP_GETINFOLIST,     /* u32 max, hdr.domid = first -> n infos */
    PROTO_OP_SETMAXMEM,       /* u64 KiB */
    PROTO_OP_MAX_VCPUS,       /* u32 max */
    PROTO_OP_VCPU_AFFINITY,   /* proto_affinity */
    PROTO_OP_PHYSINFO,        /*                      -> xc_physinfo_t */
    PROTO_OP_VERSION,         /* u32 cmd              -> rc + bytes */
    PROTO_OP_MAP_MEMORY,      /*                      -> memfd (rights) */
    PROTO_OP_PLATFORM_INFO,   /*                      -> xc_platform_info */
    PROTO_OP_SET_CONTEXT,     /* proto_context */
    PROTO_OP_WATCH,           /* then events */
    PROTO_OP_CONSOLE_INFO,    /*                      -> xc_console_info */
    PROTO_OP_CONSOLE_READ,    /* u32 max              -> bytes */
    PROTO_OP_CONSOLE_WRITE,   /* bytes                -> count */
    PROTO_OP_LOG_READ,        /* proto_logread        -> u32 index, bytes */
    PROTO_OP_EVENT,           /* daemon -> watcher: xc_domain_event */
    PROTO_OP_CONSOLE_WAIT,    /* u64 seen -> xc_console_status, once the
                                 guest wrote more / shut down */
    PROTO_OP_GET_CONTEXT,     /* u32 vcpu             -> xc_vcpu_context
                                 (paused or shut down) */
    PROTO_OP_TRIGGER,         /* u32 trigger, u32 vcpu */
    PROTO_OP_SCHED_SET,       /* xen_domctl_sched_credit */
    PROTO_OP_SCHED_GET,       /*                      -> the same */
    PROTO_OP_ATTACH_DM,       /* proto_attach_dm; answered once the
                                 core is connected to qemu */
    PROTO_OP_DM_QMP,          /* proto_qmp: a command for the domain's
                                 qemu -> its return value, JSON text */
    PROTO_OP_VIRTIO_ADD,      /* proto_virtio -> u32 slot; on failure
                                 the reason, NUL-terminated text */
    PROTO_OP_VIRTIO_DEL,      /* proto_virtio_del; on failure the
                                 reason, as for VIRTIO_ADD */
    PROTO_OP_VIRTIO_STATE,    /* proto_virtio_del (flags 0) -> u32
                                 PROTO_VIRTIO_* */
    PROTO_OP_DIRTY_LOG,       /* proto_dirty -> a bitmap (FETCH) */
    PROTO_OP_STATE_GET,       /* u32 index -> proto_state + its body;
                                 -ENOENT past the last */
    PROTO_OP_STATE_SET,       /* proto_state + its body */
    PROTO_OP_MAX
};

struct proto_hdr {
    uint32_t op;
    uint32_t seq;
    uint32_t domid;
    int32_t rc;               /* replies: 0 / count or -errno */
    uint32_t len;             /* payload bytes after the header */
    uint32_t pad;
};

struct proto_affinity {
    uint32_t vcpu;
    uint32_t nbytes;
    uint8_t map[128];         /* 1024 host CPUs */
};

struct proto_context {
    uint32_t vcpu;
    uint32_t pad;
    struct xc_vcpu_context ctx;
};

/* Reply to PROTO_OP_MAP_MEMORY, with the memfd attached. */
struct proto_memory {
    uint64_t size;            /* bytes of guest RAM in the memfd */
    uint64_t low_end;         /* RAM below 4 GiB: memfd [0, low_end);
                                 the rest sits at 4 GiB upwards */
};

/* Reply to PROTO_OP_CREATE, with the domain's memfd attached. */
struct proto_created {
    uint32_t domid;
    uint32_t pad;
    struct proto_memory mem;
    struct xc_platform_info plat;
};

/* PROTO_OP_ATTACH_DM: qemu's pid and its core QMP socket. */
struct proto_attach_dm {
    int32_t pid;
    uint32_t pad;
    char qmp_path[256];       /* NUL-terminated */
};

/*
 * PROTO_OP_DM_QMP: one of the commands a device-model domain's qemu is
 * driven with after its build (PROTO_QMP_COMMANDS), sent by the core's
 * supervisor, the only client of qemu's monitor.  The struct is followed
 * by the arguments, a JSON object, NUL-terminated (an empty string for
 * none).  The reply carries qemu's "return" value as NUL-terminated JSON
 * text; -EIO when qemu refused (its error is in the core's log), -EPERM
 * for a command not on the list, -EOPNOTSUPP for a domain of the core.
 * The migrate commands carry qemu's state to and from a unix socket of
 * libxl's for save, restore and migration (libs/light/libxl_save_dm.c).
 */
struct proto_qmp {
    char command[64];         /* NUL-terminated */
};
#define PROTO_QMP_COMMANDS \
    "eject", "blockdev-change-medium", "balloon", "change-vnc-password", \
    "set_password", "query-hotpluggable-cpus", "device_add", "device_del", \
    "chardev-add", "chardev-remove", "query-pci", "netdev_add", \
    "netdev_del", "migrate", "migrate-incoming", "query-migrate", \
    "migrate_cancel", "migrate-set-parameters"

/*
 * PROTO_OP_VIRTIO_ADD: a virtio device for a domain of the core, whose
 * rings the vhost-user backend listening at path serves; it takes the
 * domain's first free PCI slot.  A domain that has run is told of it
 * (ACPI PCI hotplug).
 */
struct proto_virtio {
    uint32_t device_id;       /* 1 network, 2 block */
    uint8_t mac[6];           /* network: the guest's address */
    uint8_t pad[2];
    char path[108];           /* NUL-terminated */
};

/*
 * PROTO_OP_VIRTIO_DEL: the device served from path leaves the domain.
 * Without PROTO_VIRTIO_DEL_FORCE the guest is asked to release it and
 * the answer comes at once: PROTO_OP_VIRTIO_STATE says when it has
 * (PROTO_VIRTIO_GONE); with it, the device is taken away now and the
 * guest told.  -ENOENT: no device is served from path.
 */
#define PROTO_VIRTIO_DEL_FORCE 1u
#define PROTO_VIRTIO_GONE      0u  /* no such device (any more) */
#define PROTO_VIRTIO_PRESENT   1u
#define PROTO_VIRTIO_EJECTING  2u  /* the guest was asked to release it */

struct proto_virtio_del {
    uint32_t flags;
    char path[108];           /* NUL-terminated */
};

/*
 * Save and restore of a domain of the core (libxl_save.c is the client;
 * -EOPNOTSUPP for a device-model domain).  Guest RAM itself travels
 * through the memfd (PROTO_OP_MAP_MEMORY); these carry the rest.
 *
 * PROTO_OP_DIRTY_LOG: START has KVM log the pages the guest writes,
 * STOP ends that.  FETCH with first 0 takes KVM's log (clearing it) and
 * answers with the bitmap of pages written since the last take, one bit
 * per page of the memfd (bit n of byte b: page 8b + n), from page
 * first, at most PROTO_DIRTY_CHUNK bytes; a FETCH with first > 0 reads
 * on in the same take.  Pages written by virtio backends are not in it.
 */
#define PROTO_DIRTY_START 1u
#define PROTO_DIRTY_STOP  2u
#define PROTO_DIRTY_FETCH 3u
#define PROTO_DIRTY_CHUNK 49152u

struct proto_dirty {
    uint32_t cmd;
    uint32_t pad;
    uint64_t first;           /* FETCH: first page, a multiple of 8 */
};

/*
 * PROTO_OP_STATE_GET of a paused domain: its state as records of the
 * domain stream (libs/stream/stream.h: PLATFORM, then one VCPU per vCPU,
 * then one DEVICE per device), index from 0.  PROTO_OP_STATE_SET gives a
 * record back to a domain made for it (created, never run); every
 * record of the set must come before it is unpaused.  Bodies are at most
 * PROTO_STATE_MAX bytes, in the core's own layout (docs/STREAM.md).
 */
#define PROTO_STATE_MAX 49152u

struct proto_state {
    uint32_t type;            /* STREAM_PLATFORM, _VCPU or _DEVICE */
    uint32_t len;             /* body bytes after this struct */
};

struct proto_logread {
    uint32_t max;
    uint32_t clear;
    uint32_t incremental;
    uint32_t index;
};

#endif /* XENOLITH_PROTO_H */
