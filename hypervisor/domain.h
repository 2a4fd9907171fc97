/*
 * domain.h - domains as the daemon sees them.
 *
 * Phases:
 *   CREATING --READY from the process--> ALIVE
 *   ALIVE --destroy--> DYING --reap--> freed
 *   CREATING --ERROR / process exit--> freed (create fails, nothing left)
 *   ALIVE --process dies unasked--> ALIVE, shut down (crash), pid 0
 * Within ALIVE: paused / running, and "shutdown" once the guest powered
 * off, rebooted or crashed (or xc_domain_shutdown was called).
 *
 * A device-model domain (XC_DOMCFG_DEVICE_MODEL) is ALIVE from its
 * create, with no process (pid 0) until PROTO_OP_ATTACH_DM forks its
 * supervisor (dm.c, which holds qemu's monitor); a failed attach leaves
 * it so again.
 */
#ifndef XENOLITH_DOMAIN_H
#define XENOLITH_DOMAIN_H

#include <stdint.h>
#include <sys/types.h>

#include "console.h"
#include "credit.h"
#include "proto.h"
#include "reply.h"
#include "loop.h"
#include "xenctrl.h"

enum domain_phase { DOM_CREATING, DOM_ALIVE, DOM_DYING };

/* A request answered later.  to NULL: the daemon's own (the domain
 * process's reply is only checked). */
struct pending {
    struct reply_to *to;
    uint32_t op;                 /* PROTO_OP_* being answered */
    uint32_t seq;
    struct pending *next;
};

struct domain {
    uint32_t domid;
    enum domain_phase phase;
    int paused;                  /* as last asked of the process */
    int started;                 /* unpaused at least once */
    int shutdown;
    int crashed;
    unsigned int shutdown_reason;
    pid_t pid;
    struct loop_fd chan;
    int mem_fd;
    uint64_t mem_size;
    uint64_t max_memkb;
    unsigned int nr_vcpus;
    unsigned int nr_online;
    uint32_t flags;
    xen_domain_handle_t handle;
    int32_t create_err;
    struct pending create;       /* valid while CREATING */
    struct pending *fwd;         /* forwarded to the process, in order */
    struct pending *waiters;     /* destroy callers, until the reap */
    struct console cons;
    struct credit_dom sched;      /* weight, cap, its cgroup */
    /* device-model domains */
    int dm;                      /* XC_DOMCFG_DEVICE_MODEL */
    int dm_attaching;            /* attach in flight: d->attach */
    pid_t dm_pid;                /* qemu, once attached (0: none) */
    uint64_t dm_balloon;         /* bytes the guest holds after its
                                  * balloon moved (0: never did) */
    int dm_pidfd;                /* qemu's pidfd, -1 if none */
    struct pending attach;
    /* restarts of the daemon (adopt.h) */
    int adopted;                 /* its process is not our child: */
    struct loop_fd pidw;         /* ... its pidfd tells its exit */
    int cons_kept;               /* its process holds the console pty */
    int detaching;               /* CHAN_DETACH not yet answered */
};

int domain_init(int max_vcpus, reply_event_fn *events);
void domain_exit(void);
/* Fork the first spare domain process / kill it (see domain.c). */
int domain_spare_init(void);
void domain_spare_exit(void);

struct domain *domain_find(uint32_t domid);
/* First domain with id >= domid, or NULL. */
struct domain *domain_next(uint32_t domid);
unsigned int domain_count(void);
uint64_t domain_total_memory(void);
int domain_max_vcpus(void);

/*
 * Request handlers.  They either reply at once (returning the rc they
 * replied with) or queue the reply (returning 1).
 */
int domain_create(struct reply_to *c, uint32_t seq, uint32_t domid,
                  const struct xc_domain_config *cfg);
int domain_destroy(struct domain *d, struct reply_to *c, uint32_t seq);
int domain_forward(struct domain *d, struct reply_to *c, uint32_t op,
                   uint32_t seq, uint32_t chan_op, const void *payload,
                   size_t len);

/* PROTO_OP_UNPAUSE: answered as soon as the process has been told
 * (the channel is ordered, so whatever follows sees it unpaused). */
int domain_unpause(struct domain *d, struct reply_to *c, uint32_t seq);

/* PROTO_OP_SET_CONTEXT: before the first unpause the caller is answered
 * as soon as the process has been told (one round trip less);
 * afterwards once the process answers. */
int domain_set_context(struct domain *d, struct reply_to *c, uint32_t seq,
                       const struct proto_context *pc);

void domain_getinfo(const struct domain *d, xc_dominfo_t *info);

/* PROTO_OP_ATTACH_DM: fork d's supervisor for qemu (pid, its core QMP
 * socket); answered once it is connected, or with the error. */
int domain_attach_dm(struct domain *d, struct reply_to *c, uint32_t seq,
                     pid_t pid, const char *qmp_path);

/* PROTO_OP_GET_CONTEXT: only while paused or shut down. */
int domain_get_context(struct domain *d, struct reply_to *c, uint32_t seq,
                       uint32_t vcpu);

/* Write d's record for a restarted daemon (record.h), after a change
 * of what only the daemon knows (max memory, credit parameters...). */
void domain_save_record(const struct domain *d);

/* For adopt.c, which builds a domain taken back after a restart: a new
 * domain (CREATING, paused, no process, console and credit state
 * initialised; NULL without memory), put into the table, its process
 * gone (how: what became of it), its shutdown (once). */
struct domain *domain_new(uint32_t domid);
void domain_insert(struct domain *d);
void domain_process_gone(struct domain *d, pid_t pid, const char *how);
void domain_set_shutdown(struct domain *d, unsigned int reason);

/* The console endpoints were opened: hand the pty to d's process, to
 * keep for a restarted daemon. */
void domain_keep_console(struct domain *d);

/* A planned restart: ask every domain's process to detach (CHAN_DETACH);
 * domain_detaching() counts those that have not answered yet. */
void domain_detach_all(void);
unsigned int domain_detaching(void);

/* SIGCHLD: reap the domain processes that exited. */
void domain_reap(void);



/* Host RAM from /proc/meminfo, bytes; returns 0 or -errno. */
int host_meminfo(uint64_t *total, uint64_t *avail);
/* Forward typed bytes to the guest's console. */
void domain_console_input(struct domain *d, const uint8_t *buf, size_t len);

#endif /* XENOLITH_DOMAIN_H */
