/*
 * domain.c - domain table, domain processes and their channels.
 */
#include "domain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "dm.h"
#include "layout.h"
#include "log.h"
#include "record.h"
#include "settings.h"
#include "vmproc.h"

static struct domain *table[DOMID_FIRST_RESERVED];
static unsigned int nr_domains;
static uint64_t total_memory;    /* guest RAM of the domains in table */
static uint32_t rover;
static int max_vcpus;
static unsigned int nr_detaching;   /* CHAN_DETACH not yet answered */

/* pending.op of a CHAN_DETACH (not a PROTO_OP_*). */
#define OP_DETACH 0xffffU
static reply_event_fn *event_sink;

static void console_input(void *opaque, const uint8_t *buf, size_t len)
{
    domain_console_input(opaque, buf, len);
}

int domain_init(int kvm_max_vcpus, reply_event_fn *events)
{
    max_vcpus = kvm_max_vcpus;
    event_sink = events;
    return 0;
}

int domain_max_vcpus(void)
{
    /* without KVM, the limit of device-model domains */
    return max_vcpus > 0 ? max_vcpus : DM_MAX_VCPUS;
}

struct domain *domain_find(uint32_t domid)
{
    if (domid == 0 || domid >= DOMID_FIRST_RESERVED)
        return NULL;
    return table[domid];
}

struct domain *domain_next(uint32_t domid)
{
    uint32_t i;

    for (i = domid ? domid : 1; i < DOMID_FIRST_RESERVED; i++)
        if (table[i])
            return table[i];
    return NULL;
}

unsigned int domain_count(void)
{
    return nr_domains;
}

uint64_t domain_total_memory(void)
{
    return total_memory;
}

int host_meminfo(uint64_t *total, uint64_t *avail)
{
    char line[256];
    unsigned long long kb;
    FILE *f;

    *total = 0;
    *avail = 0;
    f = fopen("/proc/meminfo", "re");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            *total = kb << 10;
        else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            *avail = kb << 10;
    }
    fclose(f);
    return 0;
}

static void spare_replace(void);

/* What only the daemon knows of d, to the run directory (record.h). */
void domain_save_record(const struct domain *d)
{
    struct domain_record r;

    memset(&r, 0, sizeof(r));
    r.magic = RECORD_MAGIC;
    r.version = RECORD_VERSION;
    r.domid = d->domid;
    r.flags = d->flags;
    memcpy(r.handle, d->handle, sizeof(r.handle));
    r.max_memkb = d->max_memkb;
    r.mem_size = d->mem_size;
    r.nr_vcpus = d->nr_vcpus;
    r.started = (uint32_t)d->started;
    r.dm = (uint32_t)d->dm;
    r.qemu_pid = d->dm_pid;
    r.qemu_start = d->dm_pid > 0 ? record_start_time(d->dm_pid) : 0;
    r.weight = d->sched.weight;
    r.cap = d->sched.cap;
    record_write(&r);
}

/* The replacement spare is forked once the daemon has been idle this
 * long (ms) after a create, or this long at the latest. */
#define SPARE_IDLE_MS  5
#define SPARE_MAX_MS   200

/* Answer p with rc and, on success, the process's payload. */
static void pending_reply(struct pending *p, uint32_t domid, int32_t rc,
                          const void *data, size_t len)
{
    if (p->to) {
        /* a refusal may carry its reason as text (PROTO_OP_VIRTIO_ADD) */
        reply_send(p->to, p->op, p->seq, domid, rc, data, len, -1);
        reply_drop(p->to);
    } else if (rc < 0 && rc != -ESRCH) {
        dlog(DLOG_ERR, "domain %u: op %u failed in its process: %s", domid,
             p->op, strerror(-rc));
    }
    free(p);
}

static void pending_answer(struct pending *p, uint32_t domid, int32_t rc)
{
    pending_reply(p, domid, rc, NULL, 0);
}

static void fail_forwarded(struct domain *d, int32_t rc)
{
    while (d->fwd) {
        struct pending *p = d->fwd;

        d->fwd = p->next;
        pending_answer(p, d->domid, rc);
    }
}

static void domain_free(struct domain *d)
{
    /* gone before the destroy is answered: nothing left behind */
    credit_dom_dispose(&d->sched, d->domid);
    fail_forwarded(d, -ESRCH);
    while (d->waiters) {
        struct pending *p = d->waiters;

        d->waiters = p->next;
        pending_answer(p, d->domid, 0);
    }
    console_dispose(&d->cons);
    loop_close(&d->chan);
    loop_close(&d->pidw);
    if (d->detaching)
        nr_detaching--;
    d->detaching = 0;
    if (d->dm_pidfd >= 0)
        close(d->dm_pidfd);
    d->dm_pidfd = -1;
    if (d->mem_fd >= 0)
        close(d->mem_fd);
    d->mem_fd = -1;
    if (table[d->domid] == d) {
        record_remove(d->domid);
        table[d->domid] = NULL;
        nr_domains--;
        total_memory -= d->mem_size;
    }
    loop_defer_free(d);
}

void domain_set_shutdown(struct domain *d, unsigned int reason)
{
    if (d->shutdown)
        return;
    d->shutdown = 1;
    d->shutdown_reason = reason;
    d->crashed = reason == XC_SHUTDOWN_crash;
    dlog(DLOG_INFO, "domain %u: shut down, reason %u", d->domid, reason);
    event_sink(XC_EVENT_SHUTDOWN, d->domid, reason);
    console_wake_all(&d->cons, 1, 0);
}

static void on_reply(struct domain *d, const struct proto_hdr *hdr,
                     const void *data, size_t len)
{
    struct pending *p = d->fwd;

    if (!p) {
        dlog(DLOG_WARN, "domain %u: unexpected reply from the process",
             d->domid);
        return;
    }
    d->fwd = p->next;
    if (p->op == OP_DETACH && d->detaching) {
        d->detaching = 0;
        nr_detaching--;
        free(p);
        return;
    }
    pending_reply(p, d->domid, hdr->rc, data, len);
}

/* The create's answer: the id, the memory layout and platform info the
 * builder needs, and the memfd (chan_cb, READY). */
static void created_reply(struct domain *d)
{
    struct proto_created pc;

    memset(&pc, 0, sizeof(pc));
    pc.domid = d->domid;
    pc.mem.size = d->mem_size;
    pc.mem.low_end = layout_low_end(d->mem_size);
    layout_platform(d->mem_size, d->nr_vcpus, &pc.plat);
    reply_send(d->create.to, PROTO_OP_CREATE, d->create.seq, d->domid, 0,
               &pc, sizeof(pc), d->mem_fd);
}

/* Answer the attach in flight. */
static void attach_answer(struct domain *d, int32_t rc)
{
    d->dm_attaching = 0;
    if (!d->attach.to)
        return;
    reply_send(d->attach.to, PROTO_OP_ATTACH_DM, d->attach.seq, d->domid,
               rc, NULL, 0, -1);
    reply_drop(d->attach.to);
    d->attach.to = NULL;
}

/* A device-model domain's supervisor is connected to qemu (READY). */
static void dm_attached(struct domain *d)
{
    d->nr_online = d->nr_vcpus;
    dlog(DLOG_INFO, "domain %u: device model attached (qemu pid %d, "
         "supervisor pid %d)", d->domid, (int)d->dm_pid, (int)d->pid);
    /* a failure is logged; qemu runs, unconstrained */
    (void)credit_dom_attach(&d->sched, d->domid, d->dm_pid);
    domain_save_record(d);
    attach_answer(d, 0);
}

/* qemu stopped or resumed (its STOP / RESUME events). */
static void dm_paused(struct domain *d, int paused)
{
    if (d->paused == paused)
        return;
    d->paused = paused;
    event_sink(paused ? XC_EVENT_PAUSED : XC_EVENT_UNPAUSED, d->domid,
                  0);
}

static void chan_cb(struct loop_fd *w, uint32_t events)
{
    struct domain *d = (struct domain *)((char *)w -
                                         offsetof(struct domain, chan));
    static uint8_t buf[CHAN_MAX_PAYLOAD + 1];
    struct proto_hdr hdr;
    uint32_t v;
    int len;

    for (;;) {
        len = chan_recv(w->fd, &hdr, buf, CHAN_MAX_PAYLOAD);
        if (len == -EAGAIN)
            return;
        if (len < 0) {
            /* process gone or babbling: wait for the reap */
            if (len != -EPIPE)
                dlog(DLOG_ERR, "domain %u: bad packet from its process",
                     d->domid);
            loop_close(w);
            return;
        }
        switch (hdr.op) {
        case CHAN_READY:
            if (d->dm_attaching) {
                dm_attached(d);
                break;
            }
            if (d->phase != DOM_CREATING)
                break;
            d->phase = DOM_ALIVE;
            d->paused = 1;
            dlog(DLOG_INFO, "domain %u: created (pid %d, %u vCPUs, "
                 "%" PRIu64 " KiB)", d->domid, (int)d->pid, d->nr_vcpus,
                 d->mem_size >> 10);
            created_reply(d);
            reply_drop(d->create.to);
            d->create.to = NULL;
            domain_save_record(d);      /* after the answer: off its path */
            event_sink(XC_EVENT_CREATED, d->domid, 0);
            /* not now: the new domain's build and first run come first */
            loop_when_idle(spare_replace, SPARE_IDLE_MS, SPARE_MAX_MS);
            break;
        case CHAN_ERROR:
            d->create_err = hdr.rc;
            break;
        case CHAN_REPLY:
            on_reply(d, &hdr, buf, (size_t)len);
            break;
        case CHAN_EVT_SHUTDOWN:
            if (len == (int)sizeof(v)) {
                memcpy(&v, buf, sizeof(v));
                domain_set_shutdown(d, v);
            }
            break;
        case CHAN_EVT_PAUSED:
            if (len == (int)sizeof(v) && d->dm) {
                memcpy(&v, buf, sizeof(v));
                dm_paused(d, v != 0);
            }
            break;
        case CHAN_EVT_VCPUS:
            if (len == (int)sizeof(v) && d->dm) {
                memcpy(&v, buf, sizeof(v));
                d->nr_online = v < d->nr_vcpus ? v : d->nr_vcpus;
            }
            break;
        case CHAN_EVT_BALLOON:
            if (len == (int)sizeof(d->dm_balloon) && d->dm)
                memcpy(&d->dm_balloon, buf, sizeof(d->dm_balloon));
            break;
        case CHAN_CONS_FIRST:
            if (len == (int)sizeof(d->cons.first_ns) && !d->cons.first_ns)
                memcpy(&d->cons.first_ns, buf, sizeof(d->cons.first_ns));
            break;
        case CHAN_CONS_OUT:
            console_output(&d->cons, buf, (size_t)len);
            break;
        case CHAN_VCPU_UP:
            if (d->nr_online < d->nr_vcpus)
                d->nr_online++;
            break;
        case CHAN_LOG:
            buf[len] = '\0';
            dlog(hdr.rc == CHAN_LOG_INFO ? DLOG_INFO : DLOG_WARN, "d%u: %s",
                 d->domid, (char *)buf);
            break;
        }
        if (w->fd < 0)
            return;
    }
}

struct domain *domain_new(uint32_t domid)
{
    struct domain *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    d->domid = domid;
    d->phase = DOM_CREATING;
    d->paused = 1;
    d->chan.fd = -1;
    d->chan.cb = chan_cb;
    d->pidw.fd = -1;
    d->dm_pidfd = -1;
    d->mem_fd = -1;
    console_init(&d->cons, domid, console_input, d);
    credit_dom_init(&d->sched);
    return d;
}

void domain_insert(struct domain *d)
{
    table[d->domid] = d;
    nr_domains++;
    total_memory += d->mem_size;
}

static uint32_t pick_domid(void)
{
    uint32_t i, id;

    for (i = 0; i < XC_DOMID_MAX; i++) {
        id = (rover + i) % XC_DOMID_MAX + 1;
        if (!table[id]) {
            rover = id;
            return id;
        }
    }
    return 0;
}

/*
 * The spare: a domain process forked ahead of need, with its KVM VM
 * already made (see chan.h).  At most one; a create takes it and a new
 * one is forked once that domain is up.  A spare that fails is reaped
 * and not replaced until the next create asks for one.
 */
static struct {
    pid_t pid;
    struct loop_fd chan;
} spare = { 0, { -1, NULL } };

static void spare_cb(struct loop_fd *w, uint32_t events)
{
    uint8_t buf[CHAN_MAX_PAYLOAD + 1];
    struct proto_hdr hdr;
    int len;

    for (;;) {
        len = chan_recv(w->fd, &hdr, buf, CHAN_MAX_PAYLOAD);
        if (len == -EAGAIN)
            return;
        if (len < 0) {
            loop_close(w);               /* the reap clears the pid */
            return;
        }
        if (hdr.op == CHAN_LOG) {
            buf[len] = '\0';
            dlog(DLOG_ERR, "%s", (char *)buf);
        } else if (hdr.op == CHAN_ERROR) {
            dlog(DLOG_ERR, "spare domain process failed: %s",
                 strerror(-hdr.rc));
        }
    }
}

static int spare_spawn(void)
{
    pid_t pid;
    int fd, rc;

    if (spare.pid > 0)
        return 0;
    rc = vm_spawn(&pid, &fd);
    if (rc < 0)
        return rc;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    spare.pid = pid;
    spare.chan.fd = fd;
    spare.chan.cb = spare_cb;
    if (loop_add(&spare.chan, EPOLLIN) < 0) {
        kill(pid, SIGKILL);
        loop_close(&spare.chan);
    }
    return 0;
}

void domain_spare_exit(void)
{
    if (spare.pid > 0) {
        kill(spare.pid, SIGKILL);
        waitpid(spare.pid, NULL, 0);
        spare.pid = 0;
    }
    loop_close(&spare.chan);
}

int domain_spare_init(void)
{
    return spare_spawn();
}

static void spare_replace(void)
{
    int rc = spare_spawn();

    if (rc < 0)
        dlog(DLOG_WARN, "cannot fork a spare domain process: %s",
             strerror(-rc));
}

static int check_config(const struct xc_domain_config *cfg)
{
    uint64_t total, avail, want;
    int limit = cfg->flags & XC_DOMCFG_DEVICE_MODEL ? DM_MAX_VCPUS :
                max_vcpus;

    if (limit <= 0) {
        dlog(DLOG_WARN, "create: no KVM on this host (/dev/kvm): only "
             "device-model domains can run");
        return -ENODEV;
    }
    if (cfg->max_vcpus < 1 || (int)cfg->max_vcpus > limit) {
        dlog(DLOG_WARN, "create: %u vCPUs asked, the limit is 1..%d",
             cfg->max_vcpus, limit);
        return -EINVAL;
    }
    if (cfg->memory_kb < (LAYOUT_MIN_RAM >> 10) || cfg->memory_kb % 4 ||
        cfg->memory_kb > (1ULL << 40)) {
        dlog(DLOG_WARN, "create: bad memory size %" PRIu64 " KiB (want a "
             "multiple of 4, at least %llu)", cfg->memory_kb,
             LAYOUT_MIN_RAM >> 10);
        return -EINVAL;
    }
    want = cfg->memory_kb << 10;
    if (host_meminfo(&total, &avail) == 0 &&
        (want > avail || domain_total_memory() + want > total)) {
        dlog(DLOG_WARN, "create: %" PRIu64 " KiB asked, host has %"
             PRIu64 " KiB available", cfg->memory_kb, avail >> 10);
        return -ENOMEM;
    }
    return 0;
}

/* A device-model domain: no process and no memory until its qemu is
 * attached; it is there, paused, at once. */
static void dm_create(struct domain *d, struct reply_to *c, uint32_t seq)
{
    struct proto_created pc;

    d->dm = 1;
    d->phase = DOM_ALIVE;
    if (d->flags & XC_DOMCFG_CONSOLE_LOG)
        (void)console_open_log(&d->cons);
    domain_insert(d);
    domain_save_record(d);
    dlog(DLOG_INFO, "domain %u: created for a device model (%u vCPUs, "
         "%" PRIu64 " KiB)", d->domid, d->nr_vcpus, d->mem_size >> 10);
    memset(&pc, 0, sizeof(pc));
    pc.domid = d->domid;
    pc.mem.size = d->mem_size;
    pc.mem.low_end = d->mem_size;
    reply_send(c, PROTO_OP_CREATE, seq, d->domid, 0, &pc, sizeof(pc), -1);
    event_sink(XC_EVENT_CREATED, d->domid, 0);
}

int domain_attach_dm(struct domain *d, struct reply_to *c, uint32_t seq,
                     pid_t pid, const char *qmp_path)
{
    int rc, pidfd = -1, fd;
    pid_t sup;

    if (d->phase == DOM_DYING) {
        rc = -ESRCH;
        goto reply;
    }
    if (!d->dm || d->dm_attaching || d->dm_pid > 0) {
        dlog(DLOG_WARN, "domain %u: attach refused: %s", d->domid,
             !d->dm ? "not a device-model domain" :
             "a device model is already attached");
        rc = -EINVAL;
        goto reply;
    }
    pidfd = dm_pidfd_open(pid);
    if (pidfd < 0) {
        dlog(DLOG_WARN, "domain %u: attach: qemu pid %d: %s", d->domid,
             (int)pid, strerror(-pidfd));
        rc = -EINVAL;
        goto reply;
    }
    rc = dm_spawn(d->domid, pid, qmp_path, &sup, &fd);
    if (rc < 0) {
        dlog(DLOG_ERR, "domain %u: forking its device-model process: %s",
             d->domid, strerror(-rc));
        goto reply;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    d->pid = sup;
    d->chan.fd = fd;
    if (loop_add(&d->chan, EPOLLIN) < 0) {
        /* cannot hear it: kill it, the reap answers the caller */
        kill(sup, SIGKILL);
        d->create_err = -EIO;
    }
    d->dm_pid = pid;
    d->dm_pidfd = pidfd;
    d->dm_attaching = 1;
    d->create_err = 0;
    reply_hold(c);
    d->attach.to = c;
    d->attach.op = PROTO_OP_ATTACH_DM;
    d->attach.seq = seq;
    return 1;

reply:
    if (pidfd >= 0)
        close(pidfd);
    reply_send(c, PROTO_OP_ATTACH_DM, seq, d->domid, rc, NULL, 0, -1);
    return rc;
}

int domain_create(struct reply_to *c, uint32_t seq, uint32_t domid,
                  const struct xc_domain_config *cfg)
{
    struct domain *d = NULL;
    struct chan_config cc;
    char name[32];
    int rc;

    rc = check_config(cfg);
    if (rc < 0)
        goto out;
    if (domid == 0 || domid == DOMID_INVALID) {
        domid = pick_domid();
        if (!domid) {
            rc = -ENOSPC;
            dlog(DLOG_WARN, "create: no free domain id");
            goto out;
        }
    } else if (domid > XC_DOMID_MAX) {
        rc = -EINVAL;
        dlog(DLOG_WARN, "create: domain id %u is reserved", domid);
        goto out;
    } else if (table[domid]) {
        rc = -EEXIST;
        dlog(DLOG_WARN, "create: domain %u exists", domid);
        goto out;
    }

    d = domain_new(domid);
    if (!d) {
        rc = -ENOMEM;
        goto out;
    }
    d->mem_size = cfg->memory_kb << 10;
    d->max_memkb = cfg->memory_kb;
    d->nr_vcpus = cfg->max_vcpus;
    d->flags = cfg->flags;
    memcpy(d->handle, cfg->handle, sizeof(d->handle));
    if (cfg->flags & XC_DOMCFG_DEVICE_MODEL) {
        dm_create(d, c, seq);
        return 0;
    }

    snprintf(name, sizeof(name), "xenolith-d%u", domid);
    d->mem_fd = memfd_create(name, MFD_CLOEXEC);
    if (d->mem_fd < 0 || ftruncate(d->mem_fd, (off_t)d->mem_size) < 0) {
        rc = -errno;
        dlog(DLOG_ERR, "domain %u: guest memory (memfd of %" PRIu64
             " KiB): %s", domid, cfg->memory_kb, strerror(errno));
        goto out;
    }
    if (cfg->flags & XC_DOMCFG_CONSOLE_LOG)
        (void)console_open_log(&d->cons);

    rc = spare_spawn();
    if (rc < 0 || spare.chan.fd < 0) {
        rc = rc < 0 ? rc : -EIO;
        dlog(DLOG_ERR, "domain %u: forking its process: %s", domid,
             strerror(-rc));
        goto out;
    }
    memset(&cc, 0, sizeof(cc));
    cc.domid = domid;
    cc.nr_vcpus = d->nr_vcpus;
    cc.mem_size = d->mem_size;
    rc = chan_send_fd(spare.chan.fd, CHAN_CONFIG, &cc, sizeof(cc),
                      d->mem_fd);
    if (rc < 0) {
        dlog(DLOG_ERR, "domain %u: configuring its process: %s", domid,
             strerror(-rc));
        goto out;
    }
    /* the spare becomes the domain's process */
    d->pid = spare.pid;
    d->chan.fd = spare.chan.fd;
    loop_forget(&spare.chan);
    spare.pid = 0;
    domain_insert(d);
    /* a failure is logged; the domain runs, unconstrained */
    (void)credit_dom_attach(&d->sched, domid, d->pid);
    if (loop_add(&d->chan, EPOLLIN) < 0) {
        /* cannot hear it: kill it, the reap answers the caller */
        kill(d->pid, SIGKILL);
        d->create_err = -EIO;
    }
    reply_hold(c);
    d->create.to = c;
    d->create.op = PROTO_OP_CREATE;
    d->create.seq = seq;
    d = NULL;
    rc = 1;

out:
    if (d) {
        console_dispose(&d->cons);
        if (d->mem_fd >= 0)
            close(d->mem_fd);
        free(d);
    }
    if (rc <= 0)
        reply_send(c, PROTO_OP_CREATE, seq, domid, rc, NULL, 0, -1);
    return rc;
}

static int add_pending(struct pending **list, struct reply_to *c, uint32_t op,
                       uint32_t seq)
{
    struct pending *p = calloc(1, sizeof(*p));

    if (!p)
        return -ENOMEM;
    if (c)
        reply_hold(c);
    p->to = c;
    p->op = op;
    p->seq = seq;
    while (*list)
        list = &(*list)->next;
    *list = p;
    return 0;
}

/* Kill a device-model domain's qemu, if any, and wait (briefly) for it
 * to go, so its cgroup can be removed. */
static void dm_kill(struct domain *d)
{
    int rc;

    if (d->dm_pidfd < 0)
        return;
    rc = dm_kill_wait(d->dm_pidfd, 1000);
    if (rc < 0 && rc != -ESRCH)
        dlog(DLOG_WARN, "domain %u: killing qemu (pid %d): %s", d->domid,
             (int)d->dm_pid, strerror(-rc));
    close(d->dm_pidfd);
    d->dm_pidfd = -1;
}

int domain_destroy(struct domain *d, struct reply_to *c, uint32_t seq)
{
    int rc;

    if (d->phase == DOM_CREATING) {
        rc = -EBUSY;
        goto reply;
    }
    rc = add_pending(&d->waiters, c, PROTO_OP_DESTROY, seq);
    if (rc < 0)
        goto reply;
    if (d->phase == DOM_ALIVE) {
        d->phase = DOM_DYING;
        dlog(DLOG_INFO, "domain %u: destroying", d->domid);
        if (d->dm && d->pid > 0 && d->chan.fd >= 0 && !d->dm_attaching &&
            chan_send(d->chan.fd, CHAN_DESTROY, 0, 0, NULL, 0, 1) == 0) {
            /* the supervisor quits qemu and exits: the reap frees d */
        } else if (d->pid > 0) {
            kill(d->pid, SIGKILL);
            dm_kill(d);
        } else {
            dm_kill(d);
            event_sink(XC_EVENT_DESTROYED, d->domid, 0);
            domain_free(d);
        }
    }
    return 1;

reply:
    reply_send(c, PROTO_OP_DESTROY, seq, d->domid, rc, NULL, 0, -1);
    return rc;
}

/* Can requests go to d's process?  0, or -errno (logged). */
static int can_forward(struct domain *d, uint32_t op)
{
    if (d->phase == DOM_CREATING)
        return -EBUSY;
    if (d->phase == DOM_DYING)
        return -ESRCH;
    if (d->dm && (d->dm_attaching || !d->dm_pid)) {
        dlog(DLOG_WARN, "domain %u: op %u refused: no device model "
             "attached yet", d->domid, op);
        return -EBUSY;
    }
    if (d->pid <= 0 || d->chan.fd < 0) {
        dlog(DLOG_WARN, "domain %u: op %u refused: its process is gone",
             d->domid, op);
        return -EIO;
    }
    return 0;
}

/* Send one request to d's process; its reply answers c (NULL: only
 * checked).  Returns 0 or -errno (logged). */
static int send_op(struct domain *d, struct reply_to *c, uint32_t op,
                   uint32_t seq, uint32_t chan_op, const void *payload,
                   size_t len)
{
    int rc;

    rc = chan_send(d->chan.fd, chan_op, seq, 0, payload, len, 1);
    if (rc < 0) {
        dlog(DLOG_ERR, "domain %u: sending op %u to its process: %s",
             d->domid, op, strerror(-rc));
        return -EIO;
    }
    rc = add_pending(&d->fwd, c, op, seq);
    if (rc < 0) {
        /* its reply will find no one: the process sees the op anyway */
        dlog(DLOG_ERR, "domain %u: op %u: out of memory", d->domid, op);
    }
    return rc;
}

int domain_forward(struct domain *d, struct reply_to *c, uint32_t op,
                   uint32_t seq, uint32_t chan_op, const void *payload,
                   size_t len)
{
    int rc;

    rc = can_forward(d, op);
    if (rc < 0)
        goto reply;
    rc = send_op(d, c, op, seq, chan_op, payload, len);
    if (rc < 0)
        goto reply;
    if (op == PROTO_OP_PAUSE && !d->paused) {
        d->paused = 1;
        event_sink(XC_EVENT_PAUSED, d->domid, 0);
    }
    return 1;

reply:
    reply_send(c, op, seq, d->domid, rc, NULL, 0, -1);
    return rc;
}

int domain_unpause(struct domain *d, struct reply_to *c, uint32_t seq)
{
    int rc;

    rc = can_forward(d, PROTO_OP_UNPAUSE);
    if (rc < 0)
        goto reply;
    rc = send_op(d, NULL, PROTO_OP_UNPAUSE, 0, CHAN_UNPAUSE, NULL, 0);
    if (rc < 0)
        goto reply;
    if (d->paused) {
        d->paused = 0;
        event_sink(XC_EVENT_UNPAUSED, d->domid, 0);
    }
    rc = 0;

reply:
    reply_send(c, PROTO_OP_UNPAUSE, seq, d->domid, rc, NULL, 0, -1);
    if (rc == 0 && !d->started) {
        d->started = 1;
        domain_save_record(d);          /* after the answer: off its path */
    }
    return rc;
}

int domain_set_context(struct domain *d, struct reply_to *c, uint32_t seq,
                       const struct proto_context *pc)
{
    int rc;

    if (d->dm) {
        rc = -EOPNOTSUPP;
        goto reply;
    }
    if (d->started || d->phase != DOM_ALIVE)
        return domain_forward(d, c, PROTO_OP_SET_CONTEXT, seq,
                              CHAN_SET_CONTEXT, pc, sizeof(*pc));
    /* the checks the process would make on a vCPU that never ran */
    if (pc->vcpu >= d->nr_vcpus || pc->ctx.mode != XC_VCPU_MODE_PVH32) {
        dlog(DLOG_WARN, "domain %u: set context: bad vCPU %u or mode %u",
             d->domid, pc->vcpu, pc->ctx.mode);
        rc = -EINVAL;
        goto reply;
    }
    /* A vCPU that never ran: the process takes it now (so it has it
     * even if this daemon goes before the first unpause) and the caller
     * is answered at once, without waiting for it (one round trip
     * less); its reply is only checked. */
    rc = can_forward(d, PROTO_OP_SET_CONTEXT);
    if (rc == 0)
        rc = send_op(d, NULL, PROTO_OP_SET_CONTEXT, 0, CHAN_SET_CONTEXT, pc,
                     sizeof(*pc));

reply:
    reply_send(c, PROTO_OP_SET_CONTEXT, seq, d->domid, rc, NULL, 0, -1);
    return rc;
}

int domain_get_context(struct domain *d, struct reply_to *c, uint32_t seq,
                       uint32_t vcpu)
{
    if (d->dm) {
        /* qemu's registers are qemu's business */
        reply_send(c, PROTO_OP_GET_CONTEXT, seq, d->domid, -EOPNOTSUPP,
                   NULL, 0, -1);
        return -EOPNOTSUPP;
    }
    /* a pause still on its way counts: the channel is ordered */
    if (d->phase == DOM_ALIVE && !d->paused && !d->shutdown) {
        reply_send(c, PROTO_OP_GET_CONTEXT, seq, d->domid, -EBUSY, NULL, 0,
                   -1);
        return -EBUSY;
    }
    if (d->phase == DOM_ALIVE && vcpu >= d->nr_vcpus) {
        reply_send(c, PROTO_OP_GET_CONTEXT, seq, d->domid, -EINVAL, NULL,
                   0, -1);
        return -EINVAL;
    }
    return domain_forward(d, c, PROTO_OP_GET_CONTEXT, seq, CHAN_GET_CONTEXT,
                          &vcpu, sizeof(vcpu));
}

void domain_console_input(struct domain *d, const uint8_t *buf, size_t len)
{
    if (d->pid <= 0 || d->chan.fd < 0 || d->phase != DOM_ALIVE)
        return;
    while (len) {
        size_t n = len > CHAN_MAX_PAYLOAD ? CHAN_MAX_PAYLOAD : len;

        if (chan_send(d->chan.fd, CHAN_CONS_IN, 0, 0, buf, n, 1) < 0)
            return;
        buf += n;
        len -= n;
    }
}

/* Has the process of pidfd exited (a zombie counts)? */
static int dm_exited(int pidfd)
{
    struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

    return pidfd < 0 || (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
}

/* Any vCPU thread (not the main thread) runnable right now? */
static int vcpus_running(pid_t pid)
{
    char path[300], line[256];
    struct dirent *de;
    DIR *dir;
    int running = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    dir = opendir(path);
    if (!dir)
        return 0;
    while (!running && (de = readdir(dir))) {
        const char *p;
        FILE *f;

        if (de->d_name[0] == '.' || atoi(de->d_name) == (int)pid)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
                 de->d_name);
        f = fopen(path, "re");
        if (!f)
            continue;
        if (fgets(line, sizeof(line), f)) {
            p = strrchr(line, ')');
            if (p && p[1] == ' ' && p[2] == 'R')
                running = 1;
        }
        fclose(f);
    }
    closedir(dir);
    return running;
}

void domain_getinfo(const struct domain *d, xc_dominfo_t *info)
{
    struct timespec ts;
    clockid_t cid;
    pid_t pid = d->pid;

    if (d->dm)
        pid = d->dm_attaching ? 0 : d->dm_pid;
    memset(info, 0, sizeof(*info));
    info->domid = d->domid;
    info->dying = d->phase == DOM_DYING;
    info->shutdown = d->shutdown;
    info->crashed = d->crashed;
    info->shutdown_reason = d->shutdown_reason;
    info->paused = d->paused && !d->shutdown;
    info->hvm = 1;
    info->dm = d->dm;
    if (d->dm && pid > 0 && dm_exited(d->dm_pidfd))
        pid = 0;                         /* qemu has gone */
    if (d->phase == DOM_ALIVE && !d->shutdown && !d->paused && pid > 0) {
        info->running = vcpus_running(pid);
        info->blocked = !info->running;
    }
    /* a device model's guest holds less once its balloon inflated */
    info->nr_pages = (unsigned long)((d->dm_balloon && d->dm_balloon <
                                      d->mem_size ? d->dm_balloon
                                                  : d->mem_size) >>
                                     XC_PAGE_SHIFT);
    info->max_memkb = d->max_memkb;
    if (pid > 0 && clock_getcpuclockid(pid, &cid) == 0 &&
        clock_gettime(cid, &ts) == 0)
        info->cpu_time = (uint64_t)ts.tv_sec * 1000000000ULL +
                         (uint64_t)ts.tv_nsec;
    info->nr_online_vcpus = d->nr_online;
    info->max_vcpu_id = d->nr_vcpus - 1;
    memcpy(info->handle, d->handle, sizeof(info->handle));
    info->pid = pid;
}

static struct domain *by_pid(pid_t pid)
{
    uint32_t i;

    for (i = 1; i < DOMID_FIRST_RESERVED; i++)
        if (table[i] && table[i]->pid == pid)
            return table[i];
    return NULL;
}

static void describe(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

void domain_process_gone(struct domain *d, pid_t pid, const char *how)
{
    d->pid = 0;
    loop_close(&d->pidw);
    if (d->detaching) {
        d->detaching = 0;
        nr_detaching--;
    }
    if (d->dm_attaching) {
        /* the attach failed: the domain stays, with no process */
        if (!d->create_err)
            d->create_err = -EIO;
        dlog(DLOG_ERR, "domain %u: attaching qemu (pid %d) failed: %s",
             d->domid, (int)d->dm_pid, strerror(-d->create_err));
        loop_close(&d->chan);
        if (d->dm_pidfd >= 0)
            close(d->dm_pidfd);
        d->dm_pidfd = -1;
        d->dm_pid = 0;
        attach_answer(d, d->create_err);
        if (d->phase == DOM_DYING) {
            event_sink(XC_EVENT_DESTROYED, d->domid, 0);
            domain_free(d);
        }
        return;
    }
    switch (d->phase) {
    case DOM_CREATING:
        if (!d->create_err)
            d->create_err = -EIO;
        dlog(DLOG_ERR, "domain %u: create failed: %s (process %s)",
             d->domid, strerror(-d->create_err), how);
        reply_send(d->create.to, PROTO_OP_CREATE, d->create.seq,
                   d->domid, d->create_err, NULL, 0, -1);
        reply_drop(d->create.to);
        d->create.to = NULL;
        domain_free(d);
        break;
    case DOM_DYING:
        dm_kill(d);                  /* normally gone already */
        dlog(DLOG_INFO, "domain %u: destroyed", d->domid);
        event_sink(XC_EVENT_DESTROYED, d->domid, 0);
        domain_free(d);
        break;
    case DOM_ALIVE:
        dlog(DLOG_ERR, "domain %u: its process %d %s", d->domid,
             (int)pid, how);
        fail_forwarded(d, -EIO);
        loop_close(&d->chan);
        /* qemu without its supervisor: nothing would watch it */
        dm_kill(d);
        domain_set_shutdown(d, XC_SHUTDOWN_crash);
        break;
    }
}

void domain_reap(void)
{
    struct domain *d;
    char how[64];
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == spare.pid) {
            spare.pid = 0;
            loop_close(&spare.chan);
            continue;
        }
        d = by_pid(pid);
        if (!d || d->adopted)
            continue;
        describe(status, how, sizeof(how));
        domain_process_gone(d, pid, how);
    }
}

void domain_keep_console(struct domain *d)
{
    uint32_t kind;

    if (d->cons_kept || d->cons.pty.fd < 0 || d->cons.pty_slave < 0 ||
        d->pid <= 0 || d->chan.fd < 0 || d->phase != DOM_ALIVE)
        return;
    kind = CHAN_FD_PTY_MASTER;
    if (chan_send_fd(d->chan.fd, CHAN_KEEP_FD, &kind, sizeof(kind),
                     d->cons.pty.fd) < 0)
        return;
    kind = CHAN_FD_PTY_SLAVE;
    if (chan_send_fd(d->chan.fd, CHAN_KEEP_FD, &kind, sizeof(kind),
                     d->cons.pty_slave) < 0)
        return;
    d->cons_kept = 1;
}

void domain_detach_all(void)
{
    uint32_t i;

    for (i = 1; i < DOMID_FIRST_RESERVED; i++) {
        struct domain *d = table[i];

        if (!d || d->detaching || d->phase != DOM_ALIVE || d->pid <= 0 ||
            d->chan.fd < 0 || d->dm_attaching)
            continue;
        if (send_op(d, NULL, OP_DETACH, 0, CHAN_DETACH, NULL, 0) < 0)
            continue;
        d->detaching = 1;
        nr_detaching++;
    }
}

unsigned int domain_detaching(void)
{
    return nr_detaching;
}

void domain_exit(void)
{
    uint32_t i;

    for (i = 1; i < DOMID_FIRST_RESERVED; i++) {
        struct domain *d = table[i];

        if (!d)
            continue;
        if (d->pid > 0 && d->adopted && d->pidw.fd >= 0) {
            (void)dm_kill_wait(d->pidw.fd, 1000);
        } else if (d->pid > 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
        }
        d->pid = 0;
        dm_kill(d);
        if (d->dm_attaching)
            attach_answer(d, -ESRCH);
        domain_free(d);
    }
}
