/*
 * dm.c - a device-model domain's process: supervises its qemu over the
 * core's QMP monitor (see dm.h and chan.h).
 */
#include "dm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "handover.h"
#include "proc.h"
#include "settings.h"
#include "xendm.h"

#include <yajl/yajl_gen.h>

#define DM_INBUF 65536           /* console input waiting for the pty */

struct dm {
    uint32_t domid;
    int chan;
    pid_t qemu;
    int pidfd;                   /* -1 once qemu has exited */
    struct xendm *x;             /* NULL once the monitor is gone */
    int mon_gone;                /* the monitor closed (GONE) */
    double mon_gone_at;          /* when, CLOCK_MONOTONIC ms */
    int mon_gone_told;           /* ... and still running: said so */
    int stopped;                 /* shut down: final */
    int quitting;                /* destroy: qemu is meant to go */
    int pty;
    int first_sent;
    /* what the next daemon is told (handover.h), from what was sent */
    uint32_t paused;
    uint32_t reason;
    uint32_t vcpus;
    uint64_t balloon;
    struct handover ho;
    uint8_t in[DM_INBUF];
    size_t in_len;
};

enum req_kind { REQ_PLAIN, REQ_RUN, REQ_AFFINITY, REQ_PASS };

/* A request waiting for qemu's reply. */
struct req {
    struct dm *dm;
    uint32_t seq;
    enum req_kind kind;
    struct proto_affinity aff;
};

/* ------------------------------------------------------- daemon side */

int dm_pidfd_open(pid_t pid)
{
    long fd = syscall(SYS_pidfd_open, pid, 0);

    return fd < 0 ? -errno : (int)fd;
}

int dm_kill_wait(int pidfd, int wait_ms)
{
    struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
    int n;

    if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 &&
        errno != ESRCH)
        return -errno;
    do {
        n = poll(&pfd, 1, wait_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

/* ------------------------------------------------------- the process */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void send_op(struct dm *dm, uint32_t op, uint32_t seq, int32_t rc,
                    const void *payload, size_t len)
{
    int sent = 0;

    /* a dead daemon is noticed by the loop (EOF); the next one learns
     * the state from the hello */
    if (dm->chan >= 0)
        sent = chan_send(dm->chan, op, seq, rc, payload, len, 0) == 0;
    if (op == CHAN_CONS_OUT)
        handover_console(&dm->ho, payload, len, sent);
    else if (op == CHAN_CONS_FIRST && len == sizeof(dm->ho.first_ns))
        memcpy(&dm->ho.first_ns, payload, len);
    else if (op == CHAN_EVT_PAUSED && len == sizeof(dm->paused))
        memcpy(&dm->paused, payload, len);
    else if (op == CHAN_EVT_SHUTDOWN && len == sizeof(dm->reason))
        memcpy(&dm->reason, payload, len);
    else if (op == CHAN_EVT_VCPUS && len == sizeof(dm->vcpus))
        memcpy(&dm->vcpus, payload, len);
    else if (op == CHAN_EVT_BALLOON && len == sizeof(dm->balloon))
        memcpy(&dm->balloon, payload, len);
}

/* No daemon any more (its channel ended, or CHAN_DETACH): qemu runs
 * on; a new daemon adopts the supervisor (handover.h). */
static void lose_daemon(struct dm *dm)
{
    if (dm->chan >= 0)
        close(dm->chan);
    dm->chan = -1;
}

/* Someone connected to the domain's socket: a daemon adopting it if
 * there is none, refused otherwise. */
static void adopt_request(struct dm *dm)
{
    struct chan_hello h;
    int fd;

    memset(&h, 0, sizeof(h));
    h.domid = dm->domid;
    h.dm = 1;
    h.nr_vcpus = dm->vcpus;
    h.nr_online = dm->vcpus;
    h.paused = dm->paused;
    h.shutdown = dm->stopped;
    h.reason = dm->reason;
    h.qemu_pid = dm->pidfd >= 0 ? dm->qemu : 0;
    h.dm_balloon = dm->balloon;
    if (dm->chan >= 0 && handover_chan_gone(dm->chan))
        lose_daemon(dm);         /* its end not read yet */
    fd = handover_accept(&dm->ho, dm->chan < 0, &h, -1);
    if (fd >= 0)
        dm->chan = fd;
}

static void dm_log(struct dm *dm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void dm_log(struct dm *dm, const char *fmt, ...)
{
    va_list ap;

    if (dm->chan < 0)
        return;
    va_start(ap, fmt);
    chan_vlog(dm->chan, CHAN_LOG_WARN, fmt, ap);
    va_end(ap);
}

static void dm_info(struct dm *dm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void dm_info(struct dm *dm, const char *fmt, ...)
{
    va_list ap;

    if (dm->chan < 0)
        return;
    va_start(ap, fmt);
    chan_vlog(dm->chan, CHAN_LOG_INFO, fmt, ap);
    va_end(ap);
}

/* Every command to qemu goes out here, and is logged with the domain
 * (its name only: arguments may hold passwords). */
static int qmp_send(struct dm *dm, const char *command, const char *args,
                    xendm_reply_fn *cb, void *opaque)
{
    dm_info(dm, "domain %u: QMP %s", dm->domid, command);
    return xendm_qmp_send(dm->x, command, args, cb, opaque);
}

/* libxendm's messages: warnings and errors go to the daemon's log. */
static void xendm_msg(void *opaque, enum xendm_level level, const char *msg)
{
    if (level >= XENDM_WARN)
        dm_log(opaque, "%s", msg);
}

/* The domain shuts down with reason, once. */
static void shut_down(struct dm *dm, uint32_t reason)
{
    if (dm->stopped)
        return;
    dm->stopped = 1;
    send_op(dm, CHAN_EVT_SHUTDOWN, 0, 0, &reason, sizeof(reason));
}

/* How qemu ended, from /proc while it is a zombie ("" if unknown). */
static void qemu_exit_status(struct dm *dm, char *buf, size_t cap)
{
    char v[32];
    int status;

    buf[0] = '\0';
    /* exit_code is field 52 */
    if (proc_stat_field(dm->qemu, 52, v, sizeof(v)) < 0)
        return;
    status = atoi(v);
    if (status & 0x7f)
        snprintf(buf, cap, ", killed by signal %d", status & 0x7f);
    else
        snprintf(buf, cap, ", exit status %d", (status >> 8) & 0xff);
}

/* qemu has exited (its pidfd), or its monitor has been gone too long. */
static void qemu_gone(struct dm *dm, const char *what)
{
    char how[64];

    if (dm->pidfd >= 0 && strcmp(what, "exited") == 0) {
        qemu_exit_status(dm, how, sizeof(how));
        close(dm->pidfd);
        dm->pidfd = -1;
    } else {
        how[0] = '\0';
    }
    if (dm->quitting || dm->stopped)
        return;
    dm_log(dm, "domain %u: qemu (pid %d) %s%s without a shutdown: crash",
           dm->domid, (int)dm->qemu, what, how);
    shut_down(dm, XC_SHUTDOWN_crash);
}

/* qemu's SHUTDOWN reason -> Xen's. */
static uint32_t shutdown_reason(const char *reason)
{
    if (!strcmp(reason, "guest-shutdown") || !strcmp(reason, "host-ui"))
        return XC_SHUTDOWN_poweroff;
    if (!strcmp(reason, "guest-reset") ||
        !strcmp(reason, "host-qmp-system-reset"))
        return XC_SHUTDOWN_reboot;
    return XC_SHUTDOWN_crash;    /* guest-panic, host-signal, ... */
}

static void vcpus_counted(struct xendm *x, void *opaque, int rc,
                          yajl_val ret)
{
    struct dm *dm = opaque;
    uint32_t n;

    (void)x;
    if (rc == 0 && YAJL_IS_ARRAY(ret)) {
        n = (uint32_t)ret->u.array.len;
        send_op(dm, CHAN_EVT_VCPUS, 0, 0, &n, sizeof(n));
    }
}

/* Reports how many vCPUs qemu has: at the start, and after a vCPU was
 * plugged or unplugged (the guest's ACPI _OST, DEVICE_DELETED). */
static void count_vcpus(struct dm *dm)
{
    (void)qmp_send(dm, "query-cpus-fast", NULL, vcpus_counted, dm);
}

static void on_event(struct xendm *x, void *opaque,
                     const struct xendm_event *ev)
{
    struct dm *dm = opaque;
    uint32_t v;

    (void)x;
    switch (ev->type) {
    case XENDM_EVENT_SHUTDOWN:
        if (dm->quitting)
            break;
        if (!dm->stopped)
            dm_log(dm, "domain %u: qemu shut down, reason %s", dm->domid,
                   ev->reason);
        shut_down(dm, shutdown_reason(ev->reason));
        break;
    case XENDM_EVENT_GUEST_PANICKED:
        if (!dm->stopped)
            dm_log(dm, "domain %u: the guest panicked", dm->domid);
        shut_down(dm, XC_SHUTDOWN_crash);
        break;
    case XENDM_EVENT_STOP:
    case XENDM_EVENT_RESUME:
        v = ev->type == XENDM_EVENT_STOP;
        send_op(dm, CHAN_EVT_PAUSED, 0, 0, &v, sizeof(v));
        break;
    case XENDM_EVENT_OTHER:
        if (!strcmp(ev->name, "ACPI_DEVICE_OST") ||
            !strcmp(ev->name, "DEVICE_DELETED"))
            count_vcpus(dm);
        if (!strcmp(ev->name, "BALLOON_CHANGE")) {
            static const char *actual_path[] = { "actual", NULL };
            yajl_val a = ev->data ? yajl_tree_get(ev->data, actual_path,
                                                  yajl_t_number) : NULL;
            uint64_t bytes;

            if (a && YAJL_IS_INTEGER(a) && YAJL_GET_INTEGER(a) > 0) {
                bytes = (uint64_t)YAJL_GET_INTEGER(a);
                send_op(dm, CHAN_EVT_BALLOON, 0, 0, &bytes, sizeof(bytes));
            }
        }
        break;
    case XENDM_EVENT_GONE:
        dm->mon_gone = 1;
        dm->mon_gone_at = now_ms();
        break;
    default:
        break;
    }
}

/* Pin vCPU a->vcpu's thread (query-cpus-fast's thread-id). */
static int set_affinity(yajl_val ret, const struct proto_affinity *a)
{
    static const char *idx_path[] = { "cpu-index", NULL };
    static const char *tid_path[] = { "thread-id", NULL };
    cpu_set_t set;
    size_t i;
    uint32_t c;

    if (a->nbytes > sizeof(a->map))
        return -EINVAL;
    CPU_ZERO(&set);
    for (c = 0; c < a->nbytes * 8 && c < CPU_SETSIZE; c++)
        if (a->map[c / 8] & (1U << (c % 8)))
            CPU_SET(c, &set);
    if (CPU_COUNT(&set) == 0)
        return -EINVAL;
    if (!YAJL_IS_ARRAY(ret))
        return -EIO;
    for (i = 0; i < ret->u.array.len; i++) {
        yajl_val v = ret->u.array.values[i];
        yajl_val idx = yajl_tree_get(v, idx_path, yajl_t_number);
        yajl_val tid = yajl_tree_get(v, tid_path, yajl_t_number);

        if (!idx || !tid || YAJL_GET_INTEGER(idx) != (long long)a->vcpu)
            continue;
        if (sched_setaffinity((pid_t)YAJL_GET_INTEGER(tid), sizeof(set),
                              &set) < 0)
            return -errno;
        return 0;
    }
    return -EINVAL;
}

/* yajl_val -> JSON text (yajl has no such call) */
static int gen_value(yajl_gen g, yajl_val v)
{
    size_t i;
    int rc = 0;

    if (!v)
        return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -1;
    switch (v->type) {
    case yajl_t_string:
        rc = yajl_gen_string(g, (const unsigned char *)v->u.string,
                             strlen(v->u.string));
        break;
    case yajl_t_number:
        rc = yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
        break;
    case yajl_t_true:
    case yajl_t_false:
        rc = yajl_gen_bool(g, v->type == yajl_t_true);
        break;
    case yajl_t_null:
        rc = yajl_gen_null(g);
        break;
    case yajl_t_object:
        rc = yajl_gen_map_open(g);
        for (i = 0; rc == yajl_gen_status_ok && i < v->u.object.len; i++) {
            const char *k = v->u.object.keys[i];

            rc = yajl_gen_string(g, (const unsigned char *)k, strlen(k));
            if (rc == yajl_gen_status_ok)
                rc = gen_value(g, v->u.object.values[i]) ? -1 : 0;
        }
        if (rc == yajl_gen_status_ok)
            rc = yajl_gen_map_close(g);
        break;
    case yajl_t_array:
        rc = yajl_gen_array_open(g);
        for (i = 0; rc == yajl_gen_status_ok && i < v->u.array.len; i++)
            rc = gen_value(g, v->u.array.values[i]) ? -1 : 0;
        if (rc == yajl_gen_status_ok)
            rc = yajl_gen_array_close(g);
        break;
    default:
        rc = -1;
        break;
    }
    return rc == yajl_gen_status_ok ? 0 : -1;
}

/* Answer seq with qemu's return value as JSON text, NUL included. */
static void reply_json(struct dm *dm, uint32_t seq, yajl_val ret)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *text;
    size_t len;
    int rc = -ENOMEM;

    if (g && gen_value(g, ret) == 0 &&
        yajl_gen_get_buf(g, &text, &len) == yajl_gen_status_ok) {
        if (len + 1 > CHAN_MAX_PAYLOAD) {
            dm_log(dm, "domain %u: qemu's answer (%zu bytes) is too long "
                   "to pass on", dm->domid, len);
            rc = -E2BIG;
        } else {
            char *buf = malloc(len + 1);

            if (buf) {
                memcpy(buf, text, len);
                buf[len] = '\0';
                send_op(dm, CHAN_REPLY, seq, 0, buf, len + 1);
                free(buf);
                yajl_gen_free(g);
                return;
            }
        }
    }
    if (g)
        yajl_gen_free(g);
    send_op(dm, CHAN_REPLY, seq, rc, NULL, 0);
}

static void on_reply(struct xendm *x, void *opaque, int rc, yajl_val ret)
{
    struct req *r = opaque;
    struct dm *dm = r->dm;

    (void)x;
    if (rc == -EPIPE) {
        /* qemu went away: its crash is reported; nothing left to do */
        rc = r->kind == REQ_AFFINITY || r->kind == REQ_PASS ? -EIO : 0;
    } else if (rc == 0 && r->kind == REQ_AFFINITY) {
        rc = set_affinity(ret, &r->aff);
    } else if (rc == 0 && r->kind == REQ_PASS) {
        reply_json(dm, r->seq, ret);
        free(r);
        return;
    } else if (rc < 0) {
        rc = -EIO;               /* logged by libxendm */
    }
    send_op(dm, CHAN_REPLY, r->seq, rc, NULL, 0);
    free(r);
}

/* Send command; its reply answers seq.  Without a monitor: answered
 * now with rc_gone. */
static void qmp(struct dm *dm, uint32_t seq, const char *command,
                const char *args, enum req_kind kind, const void *aff,
                int rc_gone)
{
    struct req *r;
    int rc;

    if (!dm->x || dm->mon_gone) {
        send_op(dm, CHAN_REPLY, seq, rc_gone, NULL, 0);
        return;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        send_op(dm, CHAN_REPLY, seq, -ENOMEM, NULL, 0);
        return;
    }
    r->dm = dm;
    r->seq = seq;
    r->kind = kind;
    if (aff)
        memcpy(&r->aff, aff, sizeof(r->aff));
    rc = qmp_send(dm, command, args, on_reply, r);
    if (rc < 0) {
        free(r);
        send_op(dm, CHAN_REPLY, seq, rc == -EPIPE ? rc_gone : -EIO, NULL,
                0);
    }
}

/* xc_domain_shutdown / the RESET trigger: stop qemu, shut down. */
static void do_shutdown(struct dm *dm, uint32_t seq, uint32_t reason)
{
    int was = dm->stopped;

    shut_down(dm, reason);
    if (was)
        send_op(dm, CHAN_REPLY, seq, 0, NULL, 0);
    else
        qmp(dm, seq, "stop", NULL, REQ_RUN, NULL, 0);
}

static void cons_flush(struct dm *dm)
{
    ssize_t n;

    while (dm->pty >= 0 && dm->in_len) {
        n = write(dm->pty, dm->in, dm->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        memmove(dm->in, dm->in + n, dm->in_len - (size_t)n);
        dm->in_len -= (size_t)n;
    }
}

static void cons_in(struct dm *dm, const uint8_t *buf, size_t len)
{
    if (dm->pty < 0)
        return;
    if (len > sizeof(dm->in) - dm->in_len)
        len = sizeof(dm->in) - dm->in_len;   /* a stuck guest: drop */
    memcpy(dm->in + dm->in_len, buf, len);
    dm->in_len += len;
    cons_flush(dm);
}

/* Drain qemu's serial pty into the console ring. */
static void cons_out(struct dm *dm)
{
    uint8_t buf[CHAN_MAX_PAYLOAD];
    struct timespec ts;
    uint64_t ns;
    ssize_t n;

    for (;;) {
        n = read(dm->pty, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            /* EIO: qemu closed its side */
            close(dm->pty);
            dm->pty = -1;
            return;
        }
        if (!dm->first_sent) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
            send_op(dm, CHAN_CONS_FIRST, 0, 0, &ns, sizeof(ns));
            dm->first_sent = 1;
        }
        send_op(dm, CHAN_CONS_OUT, 0, 0, buf, (size_t)n);
    }
}

static int trigger(struct dm *dm, uint32_t seq, const uint8_t *buf, int len)
{
    uint32_t t;

    if (len != (int)sizeof(t))
        return -EINVAL;
    memcpy(&t, buf, sizeof(t));
    switch (t) {
    case XEN_DOMCTL_SENDTRIGGER_POWER:
        if (dm->stopped)
            return 0;
        qmp(dm, seq, "system_powerdown", NULL, REQ_PLAIN, NULL, 0);
        return 1;
    case XEN_DOMCTL_SENDTRIGGER_RESET:
        do_shutdown(dm, seq, XC_SHUTDOWN_reboot);
        return 1;
    }
    return -EOPNOTSUPP;
}

/* PROTO_OP_DM_QMP, checked by the daemon already: sent, or -errno. */
static int pass_qmp(struct dm *dm, uint32_t seq, const uint8_t *buf, int len)
{
    struct proto_qmp q;
    const char *args;
    size_t alen;

    if (len < (int)sizeof(q) + 1 || buf[len - 1] != '\0')
        return -EINVAL;
    memcpy(&q, buf, sizeof(q));
    if (!memchr(q.command, '\0', sizeof(q.command)))
        return -EINVAL;
    args = (const char *)buf + sizeof(q);
    alen = strlen(args);
    if (alen != (size_t)len - sizeof(q) - 1)
        return -EINVAL;
    qmp(dm, seq, q.command, alen ? args : NULL, REQ_PASS, NULL, -EIO);
    return 0;
}

/* One request from the daemon.  0: go on; -1: exit. */
static int request(struct dm *dm, const struct proto_hdr *hdr,
                   const uint8_t *buf, int len)
{
    struct proto_affinity a;
    uint32_t reason;
    int rc;

    switch (hdr->op) {
    case CHAN_PAUSE:
        qmp(dm, hdr->seq, "stop", NULL, REQ_RUN, NULL, 0);
        return 0;
    case CHAN_UNPAUSE:
        if (dm->stopped) {
            /* shut down is final, as for a core domain */
            rc = 0;
            break;
        }
        qmp(dm, hdr->seq, "cont", NULL, REQ_RUN, NULL, 0);
        return 0;
    case CHAN_SHUTDOWN:
        if (len != (int)sizeof(reason)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&reason, buf, sizeof(reason));
        do_shutdown(dm, hdr->seq, reason);
        return 0;
    case CHAN_TRIGGER:
        rc = trigger(dm, hdr->seq, buf, len);
        if (rc > 0)
            return 0;
        break;
    case CHAN_AFFINITY:
        if (len != (int)sizeof(a)) {
            rc = -EINVAL;
            break;
        }
        memcpy(&a, buf, sizeof(a));
        qmp(dm, hdr->seq, "query-cpus-fast", NULL, REQ_AFFINITY, &a, -EIO);
        return 0;
    case CHAN_QMP:
        rc = pass_qmp(dm, hdr->seq, buf, len);
        if (rc == 0)
            return 0;
        break;
    case CHAN_CONS_IN:
        cons_in(dm, buf, (size_t)len);
        return 0;
    case CHAN_DESTROY:
        return -1;
    case CHAN_DETACH:
        send_op(dm, CHAN_REPLY, hdr->seq, 0, NULL, 0);
        lose_daemon(dm);
        return 0;
    default:
        rc = -EOPNOTSUPP;        /* vCPU contexts: qemu's business */
        break;
    }
    send_op(dm, CHAN_REPLY, hdr->seq, rc, NULL, 0);
    return 0;
}

/* Destroy: QMP quit, SIGKILL if qemu has not gone within DM_QUIT_MS. */
static void quit_qemu(struct dm *dm)
{
    struct pollfd pfd[2];
    double deadline = now_ms() + DM_QUIT_MS;
    int n, left;

    dm->quitting = 1;
    if (dm->pidfd < 0)
        return;
    if (dm->x && !dm->mon_gone)
        (void)qmp_send(dm, "quit", NULL, NULL, NULL);
    while ((left = (int)(deadline - now_ms())) > 0) {
        pfd[0].fd = dm->pidfd;
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        n = 1;
        if (dm->x && !dm->mon_gone) {
            xendm_pollfd(dm->x, &pfd[1]);
            pfd[1].revents = 0;
            n = 2;
        }
        if (poll(pfd, (nfds_t)n, left) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents)
            return;              /* gone */
        if (n == 2 && pfd[1].revents)
            (void)xendm_io(dm->x, pfd[1].revents);
    }
    dm_log(dm, "domain %u: qemu (pid %d) did not quit within %d ms: "
           "killing it", dm->domid, (int)dm->qemu, DM_QUIT_MS);
    n = dm_kill_wait(dm->pidfd, 1000);
    if (n < 0)
        dm_log(dm, "domain %u: killing qemu (pid %d): %s", dm->domid,
               (int)dm->qemu, strerror(-n));
}

static void serve(struct dm *dm)
{
    static uint8_t buf[CHAN_MAX_PAYLOAD];
    struct pollfd pfd[5];
    struct proto_hdr hdr;
    int n, len, i_chan, i_x, i_pty, i_pid, i_ho, timeout, fd;

    for (;;) {
        n = 0;
        i_chan = i_x = i_pty = i_pid = i_ho = -1;
        if (dm->chan >= 0) {
            pfd[n].fd = dm->chan;
            pfd[n].events = POLLIN;
            i_chan = n++;
        } else if (dm->ho.listen_fd < 0) {
            return;              /* no daemon, and none can come back */
        }
        if (dm->ho.listen_fd >= 0) {
            pfd[n].fd = dm->ho.listen_fd;
            pfd[n].events = POLLIN;
            i_ho = n++;
        }
        if (dm->x && !dm->mon_gone) {
            xendm_pollfd(dm->x, &pfd[n]);
            i_x = n++;
        }
        if (dm->pty >= 0) {
            pfd[n].fd = dm->pty;
            pfd[n].events = POLLIN | (dm->in_len ? POLLOUT : 0);
            i_pty = n++;
        }
        if (dm->pidfd >= 0) {
            pfd[n].fd = dm->pidfd;
            pfd[n].events = POLLIN;
            i_pid = n++;
        }
        timeout = -1;
        if (dm->mon_gone && dm->pidfd >= 0 && !dm->mon_gone_told) {
            /* qemu closed its monitor: it should exit any moment */
            timeout = (int)(dm->mon_gone_at + 1000 - now_ms());
            if (timeout <= 0) {
                qemu_gone(dm, "closed its monitor");
                dm->mon_gone_told = 1;
                timeout = -1;
            }
        }
        for (len = 0; len < n; len++)
            pfd[len].revents = 0;
        if (poll(pfd, (nfds_t)n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (i_x >= 0 && pfd[i_x].revents) {
            if (xendm_io(dm->x, pfd[i_x].revents) == -EPIPE) {
                dm->mon_gone = 1;
                if (dm->mon_gone_at == 0)
                    dm->mon_gone_at = now_ms();
            }
        }
        if (i_pty >= 0 && (pfd[i_pty].revents & POLLOUT))
            cons_flush(dm);
        if (i_pty >= 0 && (pfd[i_pty].revents & (POLLIN | POLLHUP |
                                                 POLLERR)))
            cons_out(dm);
        if (i_pid >= 0 && pfd[i_pid].revents) {
            /* the last output first, then the crash */
            if (dm->pty >= 0)
                cons_out(dm);
            qemu_gone(dm, "exited");
        }
        if (i_ho >= 0 && pfd[i_ho].revents)
            adopt_request(dm);
        if (i_chan < 0 || !pfd[i_chan].revents || dm->chan != pfd[i_chan].fd)
            continue;
        for (;;) {
            len = chan_recv_nb_fd(dm->chan, &hdr, buf, sizeof(buf), &fd);
            if (len == -EAGAIN || len == -EINTR)
                break;
            if (len < 0) {
                lose_daemon(dm);     /* the daemon is gone */
                break;
            }
            if (hdr.op == CHAN_KEEP_FD) {
                handover_keep(&dm->ho, buf, (size_t)len, fd);
                continue;
            }
            if (fd >= 0)
                close(fd);
            if (request(dm, &hdr, buf, len) < 0) {
                quit_qemu(dm);
                return;
            }
            if (dm->chan < 0)
                break;           /* detached */
        }
    }
}

/* Open qemu's serial pty raw and non-blocking.  0 or -errno (logged). */
static int open_pty(struct dm *dm)
{
    struct termios t;
    char *path = NULL;
    int rc;

    rc = xendm_serial_pty(dm->x, &path);
    if (rc < 0) {
        dm_log(dm, "domain %u: qemu's serial pty: %s", dm->domid,
               strerror(-rc));
        return rc;
    }
    dm->pty = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (dm->pty < 0) {
        rc = -errno;
        dm_log(dm, "domain %u: opening qemu's serial pty %s: %s", dm->domid,
               path, strerror(errno));
        free(path);
        return rc;
    }
    if (tcgetattr(dm->pty, &t) == 0) {
        cfmakeraw(&t);
        (void)tcsetattr(dm->pty, TCSANOW, &t);
    }
    free(path);
    return 0;
}

static void __attribute__((noreturn))
dm_main(int chan, uint32_t domid, pid_t qemu, const char *qmp_path)
{
    static struct dm dm;
    struct xendm_logger lg;
    char name[16];
    bool running = false;
    uint32_t v;
    int rc;

    memset(&dm, 0, sizeof(dm));
    dm.chan = chan;
    dm.domid = domid;
    dm.qemu = qemu;
    dm.pty = -1;
    dm.paused = 1;
    handover_init(&dm.ho);
    snprintf(name, sizeof(name), "xenolith-dm%u", domid);
    prctl(PR_SET_NAME, name, 0, 0, 0);

    dm.pidfd = dm_pidfd_open(qemu);
    if (dm.pidfd < 0) {
        rc = dm.pidfd;
        dm_log(&dm, "domain %u: qemu pid %d: %s", domid, (int)qemu,
               strerror(-rc));
        goto fail;
    }
    lg.log = xendm_msg;
    lg.opaque = &dm;
    rc = xendm_connect(qmp_path, domid, qemu, &lg, on_event, &dm,
                       DM_CONNECT_MS, &dm.x);
    if (rc < 0) {
        dm_log(&dm, "domain %u: attaching qemu (pid %d): cannot connect "
               "to its monitor %s: %s", domid, (int)qemu, qmp_path,
               strerror(-rc));
        goto fail;
    }
    rc = open_pty(&dm);
    if (rc < 0)
        goto fail;
    rc = xendm_query_status(dm.x, NULL, &running);
    if (rc < 0)
        goto fail;
    /* the supervisor outlives the daemon, which may come back for it */
    rc = handover_listen(&dm.ho, domid);
    if (rc < 0)
        dm_log(&dm, "domain %u: its socket in %s/dom: %s: it cannot be "
               "taken over by a restarted daemon", domid, config.rundir,
               strerror(-rc));
    send_op(&dm, CHAN_READY, 0, 0, NULL, 0);
    count_vcpus(&dm);
    if (running) {
        v = 0;
        send_op(&dm, CHAN_EVT_PAUSED, 0, 0, &v, sizeof(v));
    }
    serve(&dm);
    handover_close(&dm.ho);
    xendm_release(dm.x);
    _exit(0);

fail:
    send_op(&dm, CHAN_ERROR, 0, rc, NULL, 0);
    xendm_release(dm.x);
    _exit(1);
}

int dm_spawn(uint32_t domid, pid_t qemu_pid, const char *qmp_path,
             pid_t *pid_r, int *chan_r)
{
    int chan;
    pid_t pid;

    pid = chan_fork(&chan);
    if (pid < 0)
        return (int)pid;
    if (pid == 0)
        dm_main(chan, domid, qemu_pid, qmp_path);
    *pid_r = pid;
    *chan_r = chan;
    return 0;
}
