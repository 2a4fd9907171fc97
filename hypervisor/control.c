/*
 * control.c - core.sock: accept, check the peer, dispatch requests.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan.h"
#include "domain.h"
#include "layout.h"
#include "log.h"
#include "proto_io.h"
#include "settings.h"

#define EVENT_SNDBUF (4 << 20)

static struct loop_fd listener = { .fd = -1 };
static char sock_path[300];
static struct conn *conns;

static void conn_ref(struct conn *c)
{
    c->refs++;
}

static void conn_unref(struct conn *c)
{
    if (--c->refs == 0)
        loop_defer_free(c);
}

static void conn_close(struct conn *c)
{
    struct conn **pp;

    if (c->w.fd < 0)
        return;
    loop_close(&c->w);
    for (pp = &conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    conn_unref(c);
}

static void conn_reply(struct conn *c, uint32_t op, uint32_t seq,
                       uint32_t domid, int32_t rc, const void *payload,
                       size_t len, int fd)
{
    struct proto_hdr hdr;
    int n;

    if (!c || c->w.fd < 0)
        return;
    memset(&hdr, 0, sizeof(hdr));
    hdr.op = op;
    hdr.seq = seq;
    hdr.domid = domid;
    hdr.rc = rc;
    n = proto_send(c->w.fd, &hdr, payload, len, fd, PROTO_IO_NONBLOCK);
    if (n < 0) {
        dlog(DLOG_WARN, "client pid %d: reply dropped (%s), disconnecting",
             (int)c->pid, strerror(-n));
        conn_close(c);
    }
}

/* The connection as the domain and console code hold it (reply.h). */
static struct conn *conn_of(struct reply_to *to)
{
    return (struct conn *)((char *)to - offsetof(struct conn, to));
}

static void to_send(struct reply_to *to, uint32_t op, uint32_t seq,
                    uint32_t domid, int32_t rc, const void *payload,
                    size_t len, int fd)
{
    conn_reply(conn_of(to), op, seq, domid, rc, payload, len, fd);
}

static void to_hold(struct reply_to *to)
{
    conn_ref(conn_of(to));
}

static void to_drop(struct reply_to *to)
{
    conn_unref(conn_of(to));
}

static const struct reply_ops conn_reply_ops = {
    .send = to_send,
    .hold = to_hold,
    .drop = to_drop,
};

void control_event(uint32_t type, uint32_t domid, uint32_t reason)
{
    struct xc_domain_event ev;
    struct conn *c, *next;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.domid = domid;
    ev.shutdown_reason = reason;
    for (c = conns; c; c = next) {
        next = c->next;
        if (c->watching)
            conn_reply(c, PROTO_OP_EVENT, 0, domid, 0, &ev, sizeof(ev), -1);
    }
}

/* uid 0, or the group config.group among the peer's groups. */
static int peer_privileged(int fd, uid_t uid, gid_t gid)
{
    gid_t groups[256];
    socklen_t len = sizeof(groups);
    struct group *gr;
    size_t i;

    if (uid == 0)
        return 1;
    gr = getgrnam(config.group);
    if (!gr)
        return 0;
    if (gid == gr->gr_gid)
        return 1;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
        return 0;
    for (i = 0; i < len / sizeof(gid_t); i++)
        if (groups[i] == gr->gr_gid)
            return 1;
    return 0;
}

static void dom0_info(xc_dominfo_t *info)
{
    uint64_t total, avail;

    memset(info, 0, sizeof(*info));
    host_meminfo(&total, &avail);
    info->domid = 0;
    info->running = 1;
    info->nr_pages = (unsigned long)(total >> XC_PAGE_SHIFT);
    info->max_memkb = total >> 10;
    info->nr_online_vcpus = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
    info->max_vcpu_id = info->nr_online_vcpus - 1;
    info->pid = getpid();
}

static unsigned int cpu_khz(void)
{
    char line[256];
    double mhz = 0;
    FILE *f = fopen("/proc/cpuinfo", "re");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
            break;
    fclose(f);
    return (unsigned int)(mhz * 1000);
}

static void physinfo(xc_physinfo_t *pi)
{
    uint64_t total, avail;
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    memset(pi, 0, sizeof(*pi));
    host_meminfo(&total, &avail);
    pi->threads_per_core = 1;
    pi->nr_cpus = (uint32_t)(n > 0 ? n : 1);
    pi->cores_per_socket = pi->nr_cpus;
    pi->max_cpu_id = pi->nr_cpus - 1;
    pi->nr_nodes = 1;
    pi->cpu_khz = cpu_khz();
    pi->max_vcpus = (uint32_t)domain_max_vcpus();
    pi->total_pages = total >> XC_PAGE_SHIFT;
    pi->free_pages = avail >> XC_PAGE_SHIFT;
    pi->nr_domains = domain_count();
    pi->capabilities = XC_PHYSCAP_hvm | XC_PHYSCAP_hap;
}

static void version(struct conn *c, const struct proto_hdr *h,
                    const uint8_t *buf, int len)
{
    union {
        char caps[1024];
        xen_compile_info_t ci;
    } u;
    uint32_t cmd;
    size_t n = 0;
    int rc = 0;

    if (len != (int)sizeof(cmd)) {
        conn_reply(c, h->op, h->seq, 0, -EINVAL, NULL, 0, -1);
        return;
    }
    memcpy(&cmd, buf, sizeof(cmd));
    memset(&u, 0, sizeof(u));
    switch (cmd) {
    case XENVER_version:
        rc = (4 << 16) | 17;             /* the Xen interface we mimic */
        break;
    case XENVER_extraversion:
        n = 16;
        snprintf(u.caps, n, "-xenolith");
        break;
    case XENVER_compile_info:
        n = sizeof(u.ci);
        snprintf(u.ci.compiler, sizeof(u.ci.compiler), "gcc %s",
                 __VERSION__);
        snprintf(u.ci.compile_by, sizeof(u.ci.compile_by), "xenolith");
        snprintf(u.ci.compile_date, sizeof(u.ci.compile_date), "%s",
                 __DATE__);
        break;
    case XENVER_capabilities:
        n = 1024;
        snprintf(u.caps, n, "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
        break;
    case XENVER_changeset:
        n = 64;
        snprintf(u.caps, n, "xenolith %s", PACKAGE_VERSION);
        break;
    case XENVER_pagesize:
        rc = (int)XC_PAGE_SIZE;
        break;
    case XENVER_commandline:
        n = 1024;
        snprintf(u.caps, n, "%s", config.cmdline);
        break;
    default:
        rc = -EINVAL;
        break;
    }
    conn_reply(c, h->op, h->seq, 0, rc, &u, n, -1);
}

static void getinfolist(struct conn *c, const struct proto_hdr *h,
                        const uint8_t *buf, int len)
{
    xc_dominfo_t *infos;
    uint32_t max, id = h->domid, n = 0;
    size_t cap = (PROTO_MAX_MSG - sizeof(struct proto_hdr)) /
                 sizeof(xc_dominfo_t);
    struct domain *d;

    if (len != (int)sizeof(max)) {
        conn_reply(c, h->op, h->seq, 0, -EINVAL, NULL, 0, -1);
        return;
    }
    memcpy(&max, buf, sizeof(max));
    if (max > cap)
        max = (uint32_t)cap;
    infos = calloc(max ? max : 1, sizeof(*infos));
    if (!infos) {
        conn_reply(c, h->op, h->seq, 0, -ENOMEM, NULL, 0, -1);
        return;
    }
    if (id == 0 && n < max) {
        dom0_info(&infos[n++]);
        id = 1;
    }
    while (n < max && (d = domain_next(id))) {
        domain_getinfo(d, &infos[n++]);
        id = d->domid + 1;
    }
    conn_reply(c, h->op, h->seq, 0, (int32_t)n, infos, n * sizeof(*infos),
               -1);
    free(infos);
}

static void console_read(struct conn *c, const struct proto_hdr *h,
                         struct domain *d, const uint8_t *buf, int len)
{
    uint32_t max;
    char *out;
    size_t n;

    if (len != (int)sizeof(max)) {
        conn_reply(c, h->op, h->seq, h->domid, -EINVAL, NULL, 0, -1);
        return;
    }
    memcpy(&max, buf, sizeof(max));
    if (max > PROTO_MAX_MSG - sizeof(struct proto_hdr))
        max = PROTO_MAX_MSG - sizeof(struct proto_hdr);
    out = malloc(max ? max : 1);
    if (!out) {
        conn_reply(c, h->op, h->seq, h->domid, -ENOMEM, NULL, 0, -1);
        return;
    }
    n = console_read_ring(&d->cons, out, max);
    conn_reply(c, h->op, h->seq, h->domid, (int32_t)n, out, n, -1);
    free(out);
}

static void log_read_op(struct conn *c, const struct proto_hdr *h,
                        const uint8_t *buf, int len)
{
    struct proto_logread lr;
    uint32_t cap = PROTO_MAX_MSG - sizeof(struct proto_hdr) - 4;
    char *out;
    uint32_t n;

    if (len != (int)sizeof(lr)) {
        conn_reply(c, h->op, h->seq, 0, -EINVAL, NULL, 0, -1);
        return;
    }
    memcpy(&lr, buf, sizeof(lr));
    if (lr.max > cap)
        lr.max = cap;
    out = malloc(lr.max + 4);
    if (!out) {
        conn_reply(c, h->op, h->seq, 0, -ENOMEM, NULL, 0, -1);
        return;
    }
    n = log_read(out + 4, lr.max, (int)lr.clear, (int)lr.incremental,
                 &lr.index);
    memcpy(out, &lr.index, 4);
    conn_reply(c, h->op, h->seq, 0, (int32_t)n, out, n + 4, -1);
    free(out);
}

/* Requests about one existing domain. */
/* PROTO_OP_DM_QMP: well formed, for a device-model domain, a command
 * of the list.  0 or -errno (logged). */
static int check_qmp(const struct domain *d, const uint8_t *buf, int len)
{
    static const char *const allowed[] = { PROTO_QMP_COMMANDS };
    struct proto_qmp q;
    size_t i;

    if (len < (int)sizeof(q) + 1 || buf[len - 1] != '\0' ||
        strlen((const char *)buf + sizeof(q)) != (size_t)len - sizeof(q) - 1)
        return -EINVAL;
    memcpy(&q, buf, sizeof(q));
    if (!memchr(q.command, '\0', sizeof(q.command)))
        return -EINVAL;
    if (!d->dm) {
        dlog(DLOG_WARN, "domain %u: QMP %s refused: the domain has no "
             "device model", d->domid, q.command);
        return -EOPNOTSUPP;
    }
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (!strcmp(q.command, allowed[i]))
            return 0;
    dlog(DLOG_WARN, "domain %u: QMP %s refused: not a command clients "
         "may send", d->domid, q.command);
    return -EPERM;
}

static void domain_op(struct conn *c, const struct proto_hdr *h,
                      const uint8_t *buf, int len)
{
    struct domain *d = domain_find(h->domid);
    int32_t rc = 0;

    if (!d) {
        rc = h->domid == 0 ? -EINVAL : -ESRCH;
        if (h->domid == 0 && h->op == PROTO_OP_GETINFO) {
            xc_dominfo_t info;

            dom0_info(&info);
            conn_reply(c, h->op, h->seq, 0, 0, &info, sizeof(info), -1);
            return;
        }
        dlog(DLOG_DEBUG, "op %u on domain %u: %s", h->op, h->domid,
             rc == -ESRCH ? "no such domain" : "not for domain 0");
        conn_reply(c, h->op, h->seq, h->domid, rc, NULL, 0, -1);
        return;
    }

    switch (h->op) {
    case PROTO_OP_DESTROY:
        domain_destroy(d, &c->to, h->seq);
        return;
    case PROTO_OP_PAUSE:
        /* paused, and no pause still on its way: the vCPUs are parked */
        if (d->paused && d->phase == DOM_ALIVE && !d->fwd)
            break;
        domain_forward(d, &c->to, h->op, h->seq, CHAN_PAUSE, NULL, 0);
        return;
    case PROTO_OP_UNPAUSE:
        if (!d->paused && d->phase == DOM_ALIVE)
            break;
        domain_unpause(d, &c->to, h->seq);
        return;
    case PROTO_OP_SHUTDOWN: {
        uint32_t reason;

        if (len != (int)sizeof(reason)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&reason, buf, sizeof(reason));
        if (reason > XC_SHUTDOWN_soft_reset) {
            rc = -EINVAL;
            break;
        }
        domain_forward(d, &c->to, h->op, h->seq, CHAN_SHUTDOWN, buf,
                       (size_t)len);
        return;
    }
    case PROTO_OP_SET_CONTEXT: {
        struct proto_context pc;

        if (len != (int)sizeof(pc)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&pc, buf, sizeof(pc));
        domain_set_context(d, &c->to, h->seq, &pc);
        return;
    }
    case PROTO_OP_VCPU_AFFINITY:
        if (len != (int)sizeof(struct proto_affinity)) {
            rc = -EINVAL;
            break;
        }
        domain_forward(d, &c->to, h->op, h->seq, CHAN_AFFINITY, buf,
                       (size_t)len);
        return;
    case PROTO_OP_GETINFO: {
        xc_dominfo_t info;

        domain_getinfo(d, &info);
        conn_reply(c, h->op, h->seq, d->domid, 0, &info, sizeof(info), -1);
        return;
    }
    case PROTO_OP_SETMAXMEM: {
        uint64_t kb;

        if (len != (int)sizeof(kb)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&kb, buf, sizeof(kb));
        d->max_memkb = kb;
        domain_save_record(d);
        break;
    }
    case PROTO_OP_MAX_VCPUS: {
        uint32_t max;

        if (len != (int)sizeof(max)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&max, buf, sizeof(max));
        if (max != d->nr_vcpus) {
            dlog(DLOG_WARN, "domain %u: max_vcpus %u refused: fixed at "
                 "%u at create", d->domid, max, d->nr_vcpus);
            rc = -EINVAL;
        }
        break;
    }
    case PROTO_OP_MAP_MEMORY: {
        struct proto_memory pm;

        if (d->dm) {
            rc = -EOPNOTSUPP;            /* its memory is qemu's */
            break;
        }
        if (d->mem_fd < 0 || d->phase == DOM_DYING) {
            rc = -ESRCH;
            break;
        }
        pm.size = d->mem_size;
        pm.low_end = layout_low_end(d->mem_size);
        conn_reply(c, h->op, h->seq, d->domid, 0, &pm, sizeof(pm),
                   d->mem_fd);
        return;
    }
    case PROTO_OP_PLATFORM_INFO: {
        struct xc_platform_info pi;

        if (d->dm) {
            rc = -EOPNOTSUPP;
            break;
        }
        layout_platform(d->mem_size, d->nr_vcpus, &pi);
        conn_reply(c, h->op, h->seq, d->domid, 0, &pi, sizeof(pi), -1);
        return;
    }
    case PROTO_OP_CONSOLE_INFO: {
        struct xc_console_info ci;

        rc = console_open_endpoints(&d->cons);
        if (rc < 0)
            break;
        domain_keep_console(d);
        memset(&ci, 0, sizeof(ci));
        snprintf(ci.pty_path, sizeof(ci.pty_path), "%s", d->cons.pty_path);
        snprintf(ci.socket_path, sizeof(ci.socket_path), "%s",
                 d->cons.sock_path);
        snprintf(ci.log_path, sizeof(ci.log_path), "%s", d->cons.log_path);
        conn_reply(c, h->op, h->seq, d->domid, 0, &ci, sizeof(ci), -1);
        return;
    }
    case PROTO_OP_CONSOLE_READ:
        console_read(c, h, d, buf, len);
        return;
    case PROTO_OP_CONSOLE_WAIT: {
        uint64_t seen;

        if (len != (int)sizeof(seen)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&seen, buf, sizeof(seen));
        console_wait(&d->cons, &c->to, h->seq, seen,
                     d->shutdown || d->phase == DOM_DYING);
        return;
    }
    case PROTO_OP_CONSOLE_WRITE:
        domain_console_input(d, buf, (size_t)len);
        rc = len;
        break;
    case PROTO_OP_GET_CONTEXT: {
        uint32_t vcpu;

        if (len != (int)sizeof(vcpu)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&vcpu, buf, sizeof(vcpu));
        domain_get_context(d, &c->to, h->seq, vcpu);
        return;
    }
    case PROTO_OP_TRIGGER: {
        uint32_t req[2];

        if (len != (int)sizeof(req)) {
            rc = -EINVAL;
            break;
        }
        memcpy(req, buf, sizeof(req));
        if (req[0] != XEN_DOMCTL_SENDTRIGGER_POWER &&
            req[0] != XEN_DOMCTL_SENDTRIGGER_RESET) {
            dlog(DLOG_WARN, "domain %u: trigger %u not supported",
                 d->domid, req[0]);
            rc = -EOPNOTSUPP;
            break;
        }
        if (d->shutdown && d->phase == DOM_ALIVE)
            break;                       /* nothing left to press */
        domain_forward(d, &c->to, h->op, h->seq, CHAN_TRIGGER, &req[0],
                       sizeof(req[0]));
        return;
    }
    case PROTO_OP_VIRTIO_ADD: {
        struct proto_virtio v;

        if (len != (int)sizeof(v)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&v, buf, sizeof(v));
        if ((v.device_id != 1 && v.device_id != 2) ||
            !memchr(v.path, '\0', sizeof(v.path)) || v.path[0] != '/') {
            dlog(DLOG_WARN, "domain %u: virtio device %u at '%.*s' refused",
                 d->domid, v.device_id, (int)sizeof(v.path), v.path);
            rc = -EINVAL;
            break;
        }
        if (d->dm) {
            rc = -EOPNOTSUPP;              /* qemu has its own */
            break;
        }
        domain_forward(d, &c->to, h->op, h->seq, CHAN_VIRTIO_ADD, &v,
                       sizeof(v));
        return;
    }
    case PROTO_OP_VIRTIO_DEL:
    case PROTO_OP_VIRTIO_STATE: {
        struct proto_virtio_del v;

        if (len != (int)sizeof(v)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&v, buf, sizeof(v));
        if ((v.flags & ~PROTO_VIRTIO_DEL_FORCE) ||
            !memchr(v.path, '\0', sizeof(v.path)) || v.path[0] != '/') {
            dlog(DLOG_WARN, "domain %u: virtio removal of '%.*s' (flags "
                 "%#x) refused", d->domid, (int)sizeof(v.path), v.path,
                 v.flags);
            rc = -EINVAL;
            break;
        }
        if (d->dm) {
            rc = -EOPNOTSUPP;              /* qemu has its own */
            break;
        }
        domain_forward(d, &c->to, h->op, h->seq,
                       h->op == PROTO_OP_VIRTIO_DEL ? CHAN_VIRTIO_DEL :
                                                      CHAN_VIRTIO_STATE,
                       &v, sizeof(v));
        return;
    }
    case PROTO_OP_DIRTY_LOG: {
        struct proto_dirty dl;

        if (len != (int)sizeof(dl)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&dl, buf, sizeof(dl));
        if (dl.cmd < PROTO_DIRTY_START || dl.cmd > PROTO_DIRTY_FETCH ||
            dl.first % 8) {
            rc = -EINVAL;
            break;
        }
        if (d->dm) {
            rc = -EOPNOTSUPP;              /* qemu migrates itself */
            break;
        }
        domain_forward(d, &c->to, h->op, h->seq, CHAN_DIRTY_LOG, &dl,
                       sizeof(dl));
        return;
    }
    case PROTO_OP_STATE_GET:
    case PROTO_OP_STATE_SET:
        if (h->op == PROTO_OP_STATE_GET ? len != (int)sizeof(uint32_t) :
            (len < (int)sizeof(struct proto_state) ||
             len > (int)(sizeof(struct proto_state) + PROTO_STATE_MAX))) {
            rc = -EINVAL;
            break;
        }
        if (d->dm) {
            rc = -EOPNOTSUPP;
            break;
        }
        domain_forward(d, &c->to, h->op, h->seq,
                       h->op == PROTO_OP_STATE_GET ? CHAN_STATE_GET :
                                                     CHAN_STATE_SET,
                       buf, (size_t)len);
        return;
    case PROTO_OP_DM_QMP:
        rc = check_qmp(d, buf, len);
        if (rc < 0)
            break;
        domain_forward(d, &c->to, h->op, h->seq, CHAN_QMP, buf, (size_t)len);
        return;
    case PROTO_OP_SCHED_SET: {
        struct xen_domctl_sched_credit sc;

        if (len != (int)sizeof(sc)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&sc, buf, sizeof(sc));
        if (d->phase == DOM_DYING) {
            rc = -ESRCH;
            break;
        }
        rc = credit_dom_set(&d->sched, d->domid, sc.weight, sc.cap,
                           100 * d->nr_vcpus);
        if (rc == 0)
            domain_save_record(d);
        break;
    }
    case PROTO_OP_ATTACH_DM: {
        struct proto_attach_dm a;

        if (len != (int)sizeof(a)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&a, buf, sizeof(a));
        if (a.pid <= 0 || !memchr(a.qmp_path, '\0', sizeof(a.qmp_path)) ||
            !a.qmp_path[0]) {
            dlog(DLOG_WARN, "domain %u: attach: bad qemu pid %d or QMP "
                 "path", d->domid, (int)a.pid);
            rc = -EINVAL;
            break;
        }
        domain_attach_dm(d, &c->to, h->seq, (pid_t)a.pid, a.qmp_path);
        return;
    }
    case PROTO_OP_SCHED_GET: {
        struct xen_domctl_sched_credit sc;

        sc.weight = d->sched.weight;
        sc.cap = d->sched.cap;
        conn_reply(c, h->op, h->seq, d->domid, 0, &sc, sizeof(sc), -1);
        return;
    }
    default:
        rc = -EOPNOTSUPP;
        break;
    }
    conn_reply(c, h->op, h->seq, d->domid, rc, NULL, 0, -1);
}

static void request(struct conn *c, const struct proto_hdr *h,
                    const uint8_t *buf, int len)
{
    uint32_t v;

    if (!c->hello_done) {
        if (h->op != PROTO_OP_HELLO || len != (int)sizeof(v)) {
            dlog(DLOG_WARN, "client pid %d: no HELLO first, disconnecting",
                 (int)c->pid);
            conn_reply(c, h->op, h->seq, 0, -EPROTO, NULL, 0, -1);
            conn_close(c);
            return;
        }
        memcpy(&v, buf, sizeof(v));
        c->hello_done = 1;
        if (v != PROTO_VERSION) {
            dlog(DLOG_WARN, "client pid %d: protocol version %u, we speak "
                 "%u", (int)c->pid, v, PROTO_VERSION);
            v = PROTO_VERSION;
            conn_reply(c, h->op, h->seq, 0, -EPROTO, &v, sizeof(v), -1);
            conn_close(c);
            return;
        }
        v = PROTO_VERSION;
        conn_reply(c, h->op, h->seq, 0, c->privileged ? 0 : -EACCES, &v,
                   sizeof(v), -1);
        return;
    }
    if (!c->privileged) {
        dlog(DLOG_WARN, "client pid %d uid %d: op %u refused: not root nor "
             "in group %s", (int)c->pid, (int)c->uid, h->op, config.group);
        conn_reply(c, h->op, h->seq, h->domid, -EACCES, NULL, 0, -1);
        return;
    }

    switch (h->op) {
    case PROTO_OP_CREATE: {
        struct xc_domain_config cfg;

        if (len != (int)sizeof(cfg)) {
            conn_reply(c, h->op, h->seq, 0, -EINVAL, NULL, 0, -1);
            return;
        }
        memcpy(&cfg, buf, sizeof(cfg));
        domain_create(&c->to, h->seq, h->domid, &cfg);
        return;
    }
    case PROTO_OP_GETINFOLIST:
        getinfolist(c, h, buf, len);
        return;
    case PROTO_OP_PHYSINFO: {
        xc_physinfo_t pi;

        physinfo(&pi);
        conn_reply(c, h->op, h->seq, 0, 0, &pi, sizeof(pi), -1);
        return;
    }
    case PROTO_OP_VERSION:
        version(c, h, buf, len);
        return;
    case PROTO_OP_LOG_READ:
        log_read_op(c, h, buf, len);
        return;
    case PROTO_OP_WATCH: {
        int sz = EVENT_SNDBUF;

        if (setsockopt(c->w.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz,
                       sizeof(sz)) < 0)
            setsockopt(c->w.fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        conn_reply(c, h->op, h->seq, 0, 0, NULL, 0, -1);
        c->watching = 1;
        return;
    }
    case PROTO_OP_HELLO:
    case PROTO_OP_EVENT:
        conn_reply(c, h->op, h->seq, 0, -EINVAL, NULL, 0, -1);
        return;
    }
    if (h->op >= PROTO_OP_MAX) {
        conn_reply(c, h->op, h->seq, 0, -EOPNOTSUPP, NULL, 0, -1);
        return;
    }
    domain_op(c, h, buf, len);
}

static void conn_cb(struct loop_fd *w, uint32_t events)
{
    struct conn *c = (struct conn *)w;
    static uint8_t buf[PROTO_MAX_MSG];
    struct proto_hdr hdr;
    int len;

    conn_ref(c);
    for (;;) {
        if (c->w.fd < 0)
            break;
        len = proto_recv(c->w.fd, &hdr, buf, sizeof(buf), NULL,
                         PROTO_IO_NONBLOCK);
        if (len == -EAGAIN)
            break;
        if (len < 0) {
            if (len == -EPROTO || len == -EMSGSIZE)
                dlog(DLOG_WARN, "client pid %d: malformed packet, "
                     "disconnecting", (int)c->pid);
            conn_close(c);
            break;
        }
        request(c, &hdr, buf, len);
    }
    conn_unref(c);
}

struct conn *control_conn_new(int fd, uid_t uid, gid_t gid, pid_t pid)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->w.fd = fd;
    c->w.cb = conn_cb;
    c->refs = 1;
    c->to.ops = &conn_reply_ops;
    c->uid = uid;
    c->pid = pid;
    c->privileged = peer_privileged(fd, uid, gid);
    if (!c->privileged)
        dlog(DLOG_WARN, "client pid %d uid %d is not privileged: every "
             "request will get EACCES", (int)pid, (int)uid);
    if (loop_add(&c->w, EPOLLIN) < 0) {
        free(c);
        return NULL;
    }
    c->next = conns;
    conns = c;
    return c;
}

static void listen_cb(struct loop_fd *w, uint32_t events)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    int fd;

    for (;;) {
        fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
            !control_conn_new(fd, cred.uid, cred.gid, cred.pid))
            close(fd);
    }
}

int control_init(void)
{
    struct sockaddr_un sa;
    int fd, rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    rc = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/core.sock",
                  config.rundir);
    if (rc < 0 || (size_t)rc >= sizeof(sa.sun_path)) {
        dlog(DLOG_ERR, "socket path under %s is too long", config.rundir);
        return -ENAMETOOLONG;
    }
    snprintf(sock_path, sizeof(sock_path), "%s", sa.sun_path);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    /* a live daemon answers; a stale socket file does not */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(fd);
        dlog(DLOG_ERR, "%s: another xenolithd is running", sock_path);
        return -EADDRINUSE;
    }
    close(fd);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    unlink(sa.sun_path);
    /* everyone may connect; the daemon itself refuses the unprivileged,
     * so they get a clear EACCES per request instead of a connect error */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(sa.sun_path, 0666) < 0 || listen(fd, 128) < 0) {
        rc = -errno;
        close(fd);
        goto fail;
    }
    listener.fd = fd;
    listener.cb = listen_cb;
    rc = loop_add(&listener, EPOLLIN);
    if (rc < 0) {
        close(fd);
        listener.fd = -1;
        goto fail;
    }
    return 0;

fail:
    dlog(DLOG_ERR, "%s: %s", sock_path, strerror(-rc));
    return rc;
}

void control_exit(void)
{
    while (conns)
        conn_close(conns);
    if (listener.fd >= 0)
        unlink(sock_path);
    loop_close(&listener);
}
