/*
 * domain.c - domain table, domain processes and their channels.
 */
#include "domain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include "layout.h"
#include "vm.h"

static struct domain *table[DOMID_FIRST_RESERVED];
static unsigned int nr_domains;
static uint32_t rover;
static int max_vcpus;

int domain_init(int kvm_max_vcpus)
{
    max_vcpus = kvm_max_vcpus;
    return 0;
}

int domain_max_vcpus(void)
{
    return max_vcpus;
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
    uint64_t sum = 0;
    uint32_t i;

    for (i = 1; i < DOMID_FIRST_RESERVED; i++)
        if (table[i])
            sum += table[i]->mem_size;
    return sum;
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

static void pending_answer(struct pending *p, uint32_t domid, int32_t rc)
{
    conn_reply(p->conn, p->op, p->seq, domid, rc, NULL, 0, -1);
    conn_unref(p->conn);
    free(p);
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
    fail_forwarded(d, -ESRCH);
    while (d->waiters) {
        struct pending *p = d->waiters;

        d->waiters = p->next;
        pending_answer(p, d->domid, 0);
    }
    console_dispose(&d->cons);
    loop_close(&d->chan);
    if (d->mem_fd >= 0)
        close(d->mem_fd);
    d->mem_fd = -1;
    if (table[d->domid] == d) {
        table[d->domid] = NULL;
        nr_domains--;
    }
    loop_defer_free(d);
}

static void set_shutdown(struct domain *d, unsigned int reason)
{
    if (d->shutdown)
        return;
    d->shutdown = 1;
    d->shutdown_reason = reason;
    d->crashed = reason == XC_SHUTDOWN_crash;
    dlog(DLOG_INFO, "domain %u: shut down, reason %u", d->domid, reason);
    control_event(XC_EVENT_SHUTDOWN, d->domid, reason);
}

static void on_reply(struct domain *d, const struct proto_hdr *hdr)
{
    struct pending *p = d->fwd;

    if (!p) {
        dlog(DLOG_WARN, "domain %u: unexpected reply from the process",
             d->domid);
        return;
    }
    d->fwd = p->next;
    if (hdr->rc == 0 && p->op == PROTO_OP_PAUSE && !d->paused) {
        d->paused = 1;
        control_event(XC_EVENT_PAUSED, d->domid, 0);
    } else if (hdr->rc == 0 && p->op == PROTO_OP_UNPAUSE && d->paused) {
        d->paused = 0;
        control_event(XC_EVENT_UNPAUSED, d->domid, 0);
    }
    pending_answer(p, d->domid, hdr->rc);
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
            if (d->phase != DOM_CREATING)
                break;
            d->phase = DOM_ALIVE;
            d->paused = 1;
            dlog(DLOG_INFO, "domain %u: created (pid %d, %u vCPUs, "
                 "%" PRIu64 " KiB)", d->domid, (int)d->pid, d->nr_vcpus,
                 d->mem_size >> 10);
            v = d->domid;
            conn_reply(d->create.conn, PROTO_OP_CREATE, d->create.seq,
                       d->domid, 0, &v, sizeof(v), -1);
            conn_unref(d->create.conn);
            d->create.conn = NULL;
            control_event(XC_EVENT_CREATED, d->domid, 0);
            break;
        case CHAN_ERROR:
            d->create_err = hdr.rc;
            break;
        case CHAN_REPLY:
            on_reply(d, &hdr);
            break;
        case CHAN_EVT_SHUTDOWN:
            if (len == (int)sizeof(v)) {
                memcpy(&v, buf, sizeof(v));
                set_shutdown(d, v);
            }
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
            dlog(DLOG_WARN, "d%u: %s", d->domid, (char *)buf);
            break;
        }
        if (w->fd < 0)
            return;
    }
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

/* Keep fds a and b (and stdio), close every other descriptor. */
static void close_others(int a, int b)
{
    unsigned int lo = (unsigned int)(a < b ? a : b);
    unsigned int hi = (unsigned int)(a < b ? b : a);

    if (lo > 3)
        close_range(3, lo - 1, 0);
    if (hi > lo + 1)
        close_range(lo + 1, hi - 1, 0);
    close_range(hi + 1, ~0U, 0);
}

static void child(struct domain *d, int chan_fd)
{
    sigset_t none;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    close_others(chan_fd, d->mem_fd);
    vm_main(d->domid, chan_fd, d->mem_fd, d->mem_size, d->nr_vcpus);
}

static int check_config(const struct xc_domain_config *cfg)
{
    uint64_t total, avail, want;

    if (cfg->max_vcpus < 1 || (int)cfg->max_vcpus > max_vcpus) {
        dlog(DLOG_WARN, "create: %u vCPUs asked, the limit is 1..%d",
             cfg->max_vcpus, max_vcpus);
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

int domain_create(struct conn *c, uint32_t seq, uint32_t domid,
                  const struct xc_domain_config *cfg)
{
    struct domain *d = NULL;
    char name[32];
    int sv[2] = { -1, -1 };
    int rc;
    pid_t pid;

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

    d = calloc(1, sizeof(*d));
    if (!d) {
        rc = -ENOMEM;
        goto out;
    }
    d->domid = domid;
    d->phase = DOM_CREATING;
    d->paused = 1;
    d->chan.fd = -1;
    d->chan.cb = chan_cb;
    d->mem_size = cfg->memory_kb << 10;
    d->max_memkb = cfg->memory_kb;
    d->nr_vcpus = cfg->max_vcpus;
    d->flags = cfg->flags;
    memcpy(d->handle, cfg->handle, sizeof(d->handle));
    console_init(&d->cons, d, domid);

    snprintf(name, sizeof(name), "xenolith-d%u", domid);
    d->mem_fd = memfd_create(name, MFD_CLOEXEC);
    if (d->mem_fd < 0 || ftruncate(d->mem_fd, (off_t)d->mem_size) < 0) {
        rc = -errno;
        dlog(DLOG_ERR, "domain %u: guest memory (memfd of %" PRIu64
             " KiB): %s", domid, cfg->memory_kb, strerror(errno));
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        rc = -errno;
        dlog(DLOG_ERR, "domain %u: socketpair: %s", domid, strerror(errno));
        goto out;
    }
    if (cfg->flags & XC_DOMCFG_CONSOLE_LOG)
        (void)console_open_log(&d->cons);

    pid = fork();
    if (pid < 0) {
        rc = -errno;
        dlog(DLOG_ERR, "domain %u: fork: %s", domid, strerror(errno));
        goto out;
    }
    if (pid == 0)
        child(d, sv[1]);
    close(sv[1]);
    sv[1] = -1;
    d->pid = pid;
    d->chan.fd = sv[0];
    sv[0] = -1;
    fcntl(d->chan.fd, F_SETFL, O_NONBLOCK);
    table[domid] = d;
    nr_domains++;
    if (loop_add(&d->chan, EPOLLIN) < 0) {
        /* cannot hear it: kill it, the reap answers the caller */
        kill(pid, SIGKILL);
        d->create_err = -EIO;
    }
    conn_ref(c);
    d->create.conn = c;
    d->create.op = PROTO_OP_CREATE;
    d->create.seq = seq;
    d = NULL;
    rc = 1;

out:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (d) {
        console_dispose(&d->cons);
        if (d->mem_fd >= 0)
            close(d->mem_fd);
        free(d);
    }
    if (rc <= 0)
        conn_reply(c, PROTO_OP_CREATE, seq, domid, rc, NULL, 0, -1);
    return rc;
}

static int add_pending(struct pending **list, struct conn *c, uint32_t op,
                       uint32_t seq)
{
    struct pending *p = calloc(1, sizeof(*p));

    if (!p)
        return -ENOMEM;
    conn_ref(c);
    p->conn = c;
    p->op = op;
    p->seq = seq;
    while (*list)
        list = &(*list)->next;
    *list = p;
    return 0;
}

int domain_destroy(struct domain *d, struct conn *c, uint32_t seq)
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
        if (d->pid > 0) {
            kill(d->pid, SIGKILL);
        } else {
            control_event(XC_EVENT_DESTROYED, d->domid, 0);
            domain_free(d);
        }
    }
    return 1;

reply:
    conn_reply(c, PROTO_OP_DESTROY, seq, d->domid, rc, NULL, 0, -1);
    return rc;
}

int domain_forward(struct domain *d, struct conn *c, uint32_t op,
                   uint32_t seq, uint32_t chan_op, const void *payload,
                   size_t len)
{
    int rc;

    if (d->phase == DOM_CREATING) {
        rc = -EBUSY;
        goto reply;
    }
    if (d->phase == DOM_DYING) {
        rc = -ESRCH;
        goto reply;
    }
    if (d->pid <= 0 || d->chan.fd < 0) {
        rc = -EIO;
        dlog(DLOG_WARN, "domain %u: op %u refused: its process is gone",
             d->domid, op);
        goto reply;
    }
    rc = chan_send(d->chan.fd, chan_op, seq, 0, payload, len, 1);
    if (rc < 0) {
        dlog(DLOG_ERR, "domain %u: sending op %u to its process: %s",
             d->domid, op, strerror(-rc));
        rc = -EIO;
        goto reply;
    }
    rc = add_pending(&d->fwd, c, op, seq);
    if (rc < 0)
        goto reply;
    return 1;

reply:
    conn_reply(c, op, seq, d->domid, rc, NULL, 0, -1);
    return rc;
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

    memset(info, 0, sizeof(*info));
    info->domid = d->domid;
    info->dying = d->phase == DOM_DYING;
    info->shutdown = d->shutdown;
    info->crashed = d->crashed;
    info->shutdown_reason = d->shutdown_reason;
    info->paused = d->paused && !d->shutdown;
    info->hvm = 1;
    if (d->phase == DOM_ALIVE && !d->shutdown && !d->paused && d->pid > 0) {
        info->running = vcpus_running(d->pid);
        info->blocked = !info->running;
    }
    info->nr_pages = (unsigned long)(d->mem_size >> XC_PAGE_SHIFT);
    info->max_memkb = d->max_memkb;
    if (d->pid > 0 && clock_getcpuclockid(d->pid, &cid) == 0 &&
        clock_gettime(cid, &ts) == 0)
        info->cpu_time = (uint64_t)ts.tv_sec * 1000000000ULL +
                         (uint64_t)ts.tv_nsec;
    info->nr_online_vcpus = d->nr_online;
    info->max_vcpu_id = d->nr_vcpus - 1;
    memcpy(info->handle, d->handle, sizeof(info->handle));
    info->pid = d->pid;
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

void domain_reap(void)
{
    struct domain *d;
    char how[64];
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        d = by_pid(pid);
        if (!d)
            continue;
        describe(status, how, sizeof(how));
        d->pid = 0;
        switch (d->phase) {
        case DOM_CREATING:
            if (!d->create_err)
                d->create_err = -EIO;
            dlog(DLOG_ERR, "domain %u: create failed: %s (process %s)",
                 d->domid, strerror(-d->create_err), how);
            conn_reply(d->create.conn, PROTO_OP_CREATE, d->create.seq,
                       d->domid, d->create_err, NULL, 0, -1);
            conn_unref(d->create.conn);
            d->create.conn = NULL;
            domain_free(d);
            break;
        case DOM_DYING:
            dlog(DLOG_INFO, "domain %u: destroyed", d->domid);
            control_event(XC_EVENT_DESTROYED, d->domid, 0);
            domain_free(d);
            break;
        case DOM_ALIVE:
            dlog(DLOG_ERR, "domain %u: its process %d %s", d->domid,
                 (int)pid, how);
            fail_forwarded(d, -EIO);
            loop_close(&d->chan);
            set_shutdown(d, XC_SHUTDOWN_crash);
            break;
        }
    }
}

void domain_exit(void)
{
    uint32_t i;

    for (i = 1; i < DOMID_FIRST_RESERVED; i++) {
        struct domain *d = table[i];

        if (!d)
            continue;
        if (d->pid > 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
        }
        d->pid = 0;
        domain_free(d);
    }
}
