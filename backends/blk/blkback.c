/*
 * blkback.c - xenolith-blkback: the block backend of one domain.  Serves
 * each disk the domain's vbd backend directories name (raw ones itself,
 * qcow2 ones through the domain's qemu-storage-daemon, started when the
 * first one comes, restarted when it dies, stopped when the last one
 * goes), and goes (taking the daemon with it) when the domain does.
 * README.md has the interface.
 */
#include "blkback.h"
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xenstore.h>

#define TOKEN_BACKEND "backend"
#define TOKEN_DOMAIN "domain"

static unsigned int log_domid;

static void __attribute__((format(printf, 2, 0)))
log_line(const char *pre, const char *fmt, va_list ap)
{
    backend_log_line("xenolith-blkback", log_domid, pre, fmt, ap);
}

void blkback_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line("", fmt, ap);
    va_end(ap);
}

void blkback_log_vbd(const struct vbd *v, const char *fmt, ...)
{
    char pre[128];
    va_list ap;

    snprintf(pre, sizeof(pre), "domain %u vbd %u (%s): ", log_domid,
             v->devid, v->vdev);
    va_start(ap, fmt);
    log_line(pre, fmt, ap);
    va_end(ap);
}

char *blkback_sprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) {
        blkback_log("out of memory");
        exit(1);
    }
    return s;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xenolith-blkback --domid DOMID\n"
            "Serves the disks of domain DOMID (its vbd backend directories "
            "in xenstore):\nraw ones itself, qcow2 ones through "
            "qemu-storage-daemon, started for the\nfirst.  Environment: "
            "XENOLITH_RUNDIR (default %s),\nXENOLITH_QSD (default "
            "qemu-storage-daemon).\n", XENOLITH_DEFAULT_RUNDIR);
}

/* ---------------------------------------------------------- the directory */

/* Whether name is one of ours: "qsd.qmp" or "<digits>.sock". */
static bool our_file(const char *name)
{
    size_t n = strspn(name, "0123456789");

    return !strcmp(name, "qsd.qmp") || (n > 0 && !strcmp(name + n, ".sock"));
}

/* Makes bb->dir and locks it (backend_take_dir). */
static int take_dir(struct blkback *bb)
{
    return backend_take_dir(bb->dir, "xenolith-blkback", our_file,
                            blkback_log);
}

static void remove_dir(struct blkback *bb, int dfd)
{
    backend_remove_dir(bb->dir, dfd, our_file, blkback_log);
}

/* ---------------------------------------------------------- xenstore */

/* Opens the store and watches the two paths; false with errno. */
static bool xs_connect(struct blkback *bb)
{
    int e;

    bb->xs = xs_open(XS_RECONNECT);
    if (!bb->xs)
        return false;
    if (xs_watch(bb->xs, bb->be_path, TOKEN_BACKEND) &&
        xs_watch(bb->xs, bb->dom_path, TOKEN_DOMAIN))
        return true;
    e = errno;
    xs_close(bb->xs);
    bb->xs = NULL;
    errno = e;
    return false;
}

/* Whether a device needs the daemon (a qcow2 disk not refused). */
static bool qsd_wanted(const struct blkback *bb)
{
    const struct vbd *v;

    for (v = bb->vbds; v; v = v->next)
        if (vbd_needs_qsd(v))
            return true;
    return false;
}

/* No device needs the daemon (any more): it stops. */
static void qsd_idle(struct blkback *bb)
{
    pid_t pid = bb->qsd.pid;

    if (!qsd_up(&bb->qsd) || qsd_wanted(bb))
        return;
    qsd_stop(&bb->qsd);
    blkback_log("qemu-storage-daemon (pid %d) stopped: no qcow2 disk "
                "needs it", (int)pid);
}

static struct vbd *find_vbd(struct blkback *bb, unsigned int devid)
{
    struct vbd *v;

    for (v = bb->vbds; v; v = v->next)
        if (v->devid == devid)
            return v;
    return NULL;
}

/*
 * The backend directory changed: devices that went are detached, new
 * ones read and exported.  With refresh, the others' state is written
 * again (see take_watches).
 */
static void rescan(struct blkback *bb, bool refresh)
{
    struct vbd *v, **pp, **tail;
    unsigned int n = 0, i, devid;
    char **ents;

    ents = xs_directory(bb->xs, XBT_NULL, bb->be_path, &n);
    if (!ents && errno != ENOENT) {
        blkback_log("listing %s: %s", bb->be_path, strerror(errno));
        return;
    }
    if (!ents)
        n = 0;
    for (v = bb->vbds; v; v = v->next)
        v->seen = false;
    for (i = 0; i < n; i++)
        if (backend_parse_devid(ents[i], &devid) && (v = find_vbd(bb, devid)))
            v->seen = true;
    for (pp = &bb->vbds; (v = *pp); ) {
        if (v->seen) {
            pp = &v->next;
            continue;
        }
        *pp = v->next;
        vbd_detach(bb, v);
        vbd_free(v);
    }
    for (tail = &bb->vbds; *tail; tail = &(*tail)->next) {
        if (refresh)
            vbd_publish(bb, *tail);
        vbd_release_check(bb, *tail);
    }
    for (i = 0; i < n; i++) {
        if (!backend_parse_devid(ents[i], &devid) || find_vbd(bb, devid))
            continue;
        if (vbd_read(bb, devid, &v) != 1)
            continue;
        v->seen = true;
        *tail = v;
        tail = &v->next;
        vbd_attach(bb, v);
    }
    free(ents);
    qsd_idle(bb);
}

/*
 * Watch events: 1 when the domain is gone, else 0.  An event for the
 * watched path itself comes when the watch is registered, and again
 * when XS_RECONNECT registers it with a restarted xenstored, whose store
 * may predate what we wrote: then every device's state is written anew.
 * (Our own writes fire events for the keys below, never for the path.)
 */
static int take_watches(struct blkback *bb)
{
    bool backend = false, domain = false, refresh = false;
    char **w;

    while ((w = xs_check_watch(bb->xs))) {
        if (!strcmp(w[XS_WATCH_TOKEN], TOKEN_DOMAIN)) {
            domain = true;
        } else {
            backend = true;
            refresh |= !strcmp(w[XS_WATCH_PATH], bb->be_path);
        }
        free(w);
    }
    if (errno != EAGAIN) {
        /* Only when XS_RECONNECT could not find a daemon again. */
        blkback_log("lost xenstore: %s; the disks are still served, "
                    "trying to reconnect every second", strerror(errno));
        xs_close(bb->xs);
        bb->xs = NULL;
        return 0;
    }
    if (domain && backend_domain_gone(bb->xs, bb->dom_path)) {
        blkback_log("domain %u is gone (%s): exiting", bb->domid,
                    bb->dom_path);
        return 1;
    }
    if (backend)
        rescan(bb, refresh);
    return 0;
}

/* ---------------------------------------------------------- supervision */

/*
 * The daemon died: a new one, and every device exported again on the
 * same sockets (the guests' qemu reconnect by themselves); none when no
 * device needs it any more (the next qcow2 disk starts one).  A failed
 * start counts as a death.  false when it keeps dying: every device is
 * then reported in error.
 */
static bool supervise(struct blkback *bb)
{
    bool wanted = qsd_wanted(bb), too_many;
    char reason[2048];
    struct vbd *v;

    too_many = qsd_died(&bb->qsd, wanted);
    if (!wanted)
        return true;
    for (v = bb->vbds; v; v = v->next)
        vbd_restarting(bb, v);
    while (!too_many && qsd_start(&bb->qsd, reason, sizeof(reason))) {
        blkback_log("%s", reason);
        too_many = qsd_count_death(&bb->qsd);
    }
    if (too_many) {
        snprintf(reason, sizeof(reason), "qemu-storage-daemon keeps dying "
                 "(%d times in %d s)", QSD_MAX_DEATHS, QSD_DEATH_WINDOW_S);
        blkback_log("%s: giving up", reason);
        for (v = bb->vbds; v; v = v->next)
            if (v->state != VBD_ERROR)
                vbd_fail(bb, v, reason);
        return false;
    }
    for (v = bb->vbds; v; v = v->next)
        vbd_attach(bb, v);
    qsd_idle(bb);
    return true;
}

/* ---------------------------------------------------------- the loop */

/* Runs until the domain goes or a signal says so: the exit status. */
static int run(struct blkback *bb, int sfd, int tfd)
{
    struct signalfd_siginfo si;
    struct pollfd pfd[4];
    uint64_t ticks;
    struct vbd *v;
    int r;

    for (;;) {
        if ((bb->qsd.gone || bb->qsd.exited) && !supervise(bb))
            return 1;
        pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        pfd[1] = (struct pollfd){ .fd = tfd, .events = POLLIN };
        pfd[2] = (struct pollfd){ .fd = bb->xs ? xs_fileno(bb->xs) : -1,
                                  .events = POLLIN };
        pfd[3] = (struct pollfd){ .fd = -1 };
        qsd_pollfd(&bb->qsd, &pfd[3].fd, &pfd[3].events);
        r = poll(pfd, 4, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            blkback_log("poll: %s", strerror(errno));
            return 1;
        }
        if (pfd[3].revents)
            qsd_io(&bb->qsd, pfd[3].revents);
        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
            if (si.ssi_signo == SIGCHLD) {
                qsd_reap(&bb->qsd);
                continue;
            }
            blkback_log("%s: exiting", strsignal((int)si.ssi_signo));
            return 0;
        }
        if (pfd[1].revents && read(tfd, &ticks, sizeof(ticks)) > 0) {
            if (!bb->xs && xs_connect(bb))
                blkback_log("xenstore is back");
            for (v = bb->vbds; v; v = v->next)
                vbd_check_size(bb, v);
        }
        if (pfd[2].revents && bb->xs && take_watches(bb))
            return 0;
    }
}

int main(int argc, char **argv)
{
    struct itimerspec every_s = { { 1, 0 }, { 1, 0 } };
    struct blkback bb = { 0 };
    int sfd = -1, tfd = -1, dfd = -1, status = 1, r;
    const char *rundir;
    sigset_t sigs;
    struct vbd *v;

    r = backend_parse_args("xenolith-blkback", argc, argv, usage, &bb.domid);
    if (r)
        return r > 0 ? 0 : 1;
    log_domid = bb.domid;
    /* from here on the worker; the supervisor restarts it if it dies */
    backend_supervise("xenolith-blkback", bb.domid);
    rundir = getenv("XENOLITH_RUNDIR");
    if (!rundir || !*rundir)
        rundir = XENOLITH_DEFAULT_RUNDIR;
    bb.dir = blkback_sprintf("%s/backends/vbd-%u", rundir, bb.domid);
    bb.be_path = blkback_sprintf("/local/domain/0/backend/vbd/%u",
                                 bb.domid);
    bb.dom_path = blkback_sprintf("/local/domain/%u", bb.domid);
    bb.qsd.domid = bb.domid;
    bb.qsd.bin = getenv("XENOLITH_QSD");
    if (!bb.qsd.bin || !*bb.qsd.bin)
        bb.qsd.bin = "qemu-storage-daemon";
    bb.qsd.qmp_path = blkback_sprintf("%s/qsd.qmp", bb.dir);

    /* Signals come through the loop; blocked before the daemon starts,
     * so that its death cannot go unseen. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &every_s, NULL) < 0) {
        blkback_log("cannot make its signalfd or timerfd: %s",
                    strerror(errno));
        goto out;
    }

    if (!xs_connect(&bb)) {
        blkback_log("cannot reach xenstore: %s", strerror(errno));
        goto out;
    }
    if (backend_domain_gone(bb.xs, bb.dom_path)) {
        blkback_log("domain %u does not exist (no %s)", bb.domid,
                    bb.dom_path);
        goto out;
    }
    dfd = take_dir(&bb);
    if (dfd < 0)
        goto out;
    blkback_log("serving domain %u: %s", bb.domid, bb.be_path);
    /* The watches fire once as registered: the first scan comes from
     * the loop, and qsd starts when it finds a qcow2 disk (vbd_attach). */
    status = run(&bb, sfd, tfd);

out:
    qsd_stop(&bb.qsd);
    while ((v = bb.vbds)) {
        bb.vbds = v->next;
        unlink(v->sock);
        vbd_free(v);
    }
    if (dfd >= 0) {
        remove_dir(&bb, dfd);
        close(dfd);
    }
    xs_close(bb.xs);
    if (sfd >= 0)
        close(sfd);
    if (tfd >= 0)
        close(tfd);
    free(bb.dir);
    free(bb.be_path);
    free(bb.dom_path);
    free(bb.qsd.qmp_path);
    return status;
}
