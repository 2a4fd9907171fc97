/*
 * netback.c - xenolith-netback: the network backend of one domain.
 * Makes a tap and a vhost-user socket for each NIC the domain's vif
 * backend directories name, moves the packets between each tap and the
 * guest's queues, and goes (taking the taps with it) when the domain
 * does.  README.md has the interface.
 */
#include "netback.h"
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xenstore.h>

#define TOKEN_BACKEND "backend"
#define TOKEN_DOMAIN "domain"
#define MAX_EVENTS 64

static unsigned int log_domid;

static void __attribute__((format(printf, 2, 0)))
log_line(const char *pre, const char *fmt, va_list ap)
{
    backend_log_line("xenolith-netback", log_domid, pre, fmt, ap);
}

void netback_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line("", fmt, ap);
    va_end(ap);
}

void netback_log_vif(const struct vif *v, const char *fmt, ...)
{
    char pre[128];
    va_list ap;

    snprintf(pre, sizeof(pre), "domain %u vif %u (%s): ", log_domid,
             v->devid, v->name);
    va_start(ap, fmt);
    log_line(pre, fmt, ap);
    va_end(ap);
}

char *netback_sprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) {
        netback_log("out of memory");
        exit(1);
    }
    return s;
}

void *netback_zalloc(size_t size)
{
    void *p = calloc(1, size);

    if (!p) {
        netback_log("out of memory (%zu bytes)", size);
        exit(1);
    }
    return p;
}

int netback_poll_add(struct netback *nb, int fd, uint32_t events,
                     struct ev *ev)
{
    struct epoll_event e = { .events = events, .data.ptr = ev };
    int rc;

    if (epoll_ctl(nb->epfd, EPOLL_CTL_ADD, fd, &e) == 0)
        return 0;
    rc = -errno;
    netback_log("cannot poll fd %d: %s", fd, strerror(errno));
    return rc;
}

int netback_poll_mod(struct netback *nb, int fd, uint32_t events,
                     struct ev *ev)
{
    struct epoll_event e = { .events = events, .data.ptr = ev };
    int rc;

    if (epoll_ctl(nb->epfd, EPOLL_CTL_MOD, fd, &e) == 0)
        return 0;
    rc = -errno;
    netback_log("cannot change the polling of fd %d: %s", fd,
                strerror(errno));
    return rc;
}

void netback_poll_del(struct netback *nb, int fd)
{
    /* Fails only for an fd that is not there: nothing to undo. */
    epoll_ctl(nb->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xenolith-netback --domid DOMID\n"
            "Serves the NICs of domain DOMID (its vif backend directories "
            "in xenstore):\none tap each, and vhost-user for the guest's "
            "qemu.  Environment:\nXENOLITH_RUNDIR (default %s).\n",
            XENOLITH_DEFAULT_RUNDIR);
}

/* ---------------------------------------------------------- the directory */

/* Whether name is one of ours: "<digits>.sock". */
static bool our_file(const char *name)
{
    size_t n = strspn(name, "0123456789");

    return n > 0 && !strcmp(name + n, ".sock");
}

/* Makes nb->dir and locks it (backend_take_dir). */
static int take_dir(struct netback *nb)
{
    return backend_take_dir(nb->dir, "xenolith-netback", our_file,
                            netback_log);
}

static void remove_dir(struct netback *nb, int dfd)
{
    backend_remove_dir(nb->dir, dfd, our_file, netback_log);
}

/* ---------------------------------------------------------- xenstore */

static struct ev xs_ev = { .kind = EV_XENSTORE };

/*
 * Opens the store, watches the two paths and polls the handle; false
 * with errno.  Not XS_RECONNECT: the library's reconnection waits up to
 * its window (10 s) inside whichever call found the break, and this
 * loop moves packets.  A lost daemon is tried again each second from the
 * loop instead (take_watches), which never blocks for it.
 */
static bool xs_connect(struct netback *nb)
{
    int e, fd;

    nb->xs = xs_open(0);
    if (!nb->xs)
        return false;
    fd = xs_fileno(nb->xs);
    if (fd >= 0 && xs_watch(nb->xs, nb->be_path, TOKEN_BACKEND) &&
        xs_watch(nb->xs, nb->dom_path, TOKEN_DOMAIN) &&
        !netback_poll_add(nb, fd, EPOLLIN, &xs_ev))
        return true;
    e = fd < 0 ? EIO : errno;
    xs_close(nb->xs);
    nb->xs = NULL;
    errno = e;
    return false;
}

static void xs_disconnect(struct netback *nb)
{
    if (!nb->xs)
        return;
    netback_poll_del(nb, xs_fileno(nb->xs));
    xs_close(nb->xs);
    nb->xs = NULL;
}

static struct vif *find_vif(struct netback *nb, unsigned int devid)
{
    struct vif *v;

    for (v = nb->vifs; v; v = v->next)
        if (v->devid == devid)
            return v;
    return NULL;
}

/*
 * The backend directory changed: vifs that went are detached, new ones
 * read and set up.  With refresh, the others' state is written again
 * (see take_watches).
 */
static void rescan(struct netback *nb, bool refresh)
{
    struct vif *v, **pp, **tail;
    unsigned int n = 0, i, devid;
    char **ents;

    ents = xs_directory(nb->xs, XBT_NULL, nb->be_path, &n);
    if (!ents && errno != ENOENT) {
        netback_log("listing %s: %s", nb->be_path, strerror(errno));
        return;
    }
    if (!ents)
        n = 0;
    for (v = nb->vifs; v; v = v->next)
        v->seen = false;
    for (i = 0; i < n; i++)
        if (backend_parse_devid(ents[i], &devid) && (v = find_vif(nb, devid)))
            v->seen = true;
    for (pp = &nb->vifs; (v = *pp); ) {
        if (v->seen) {
            pp = &v->next;
            continue;
        }
        *pp = v->next;
        vif_destroy(nb, v, true);
    }
    for (tail = &nb->vifs; *tail; tail = &(*tail)->next)
        if (refresh)
            vif_publish(nb, *tail);
    for (i = 0; i < n; i++) {
        if (!backend_parse_devid(ents[i], &devid) || find_vif(nb, devid))
            continue;
        if (vif_read(nb, devid, &v) != 1)
            continue;
        v->seen = true;
        *tail = v;
        tail = &v->next;
    }
    free(ents);
}

/*
 * Watch events: 1 when the domain is gone, else 0.  An event for the
 * watched path itself comes when the watch is registered: at start, and
 * when xs_connect is back with a restarted xenstored, whose store may
 * predate what we wrote: then every vif's state is written anew.  (Our
 * own writes fire events for the keys below, never for the path.)
 */
static int take_watches(struct netback *nb, int tfd)
{
    struct itimerspec every_s = { { 1, 0 }, { 1, 0 } };
    bool backend = false, domain = false, refresh = false;
    char **w;

    while ((w = xs_check_watch(nb->xs))) {
        if (!strcmp(w[XS_WATCH_TOKEN], TOKEN_DOMAIN)) {
            domain = true;
        } else {
            backend = true;
            refresh |= !strcmp(w[XS_WATCH_PATH], nb->be_path);
        }
        free(w);
    }
    if (errno != EAGAIN) {
        /* The connection broke: the daemon died or restarts. */
        netback_log("lost xenstore: %s; the NICs are still served, "
                    "trying to reconnect every second", strerror(errno));
        xs_disconnect(nb);
        timerfd_settime(tfd, 0, &every_s, NULL);
        return 0;
    }
    if (domain && backend_domain_gone(nb->xs, nb->dom_path)) {
        netback_log("domain %u is gone (%s): exiting", nb->domid,
                    nb->dom_path);
        return 1;
    }
    if (backend)
        rescan(nb, refresh);
    return 0;
}

/* ---------------------------------------------------------- the loop */

/* Runs until the domain goes or a signal says so: the exit status. */
static int run(struct netback *nb, int sfd, int tfd)
{
    struct itimerspec off = { { 0, 0 }, { 0, 0 } };
    struct epoll_event evs[MAX_EVENTS];
    struct signalfd_siginfo si;
    bool sig, xs, tick, busy;
    uint64_t ticks;
    struct vif *v;
    struct ev *ev;
    int n, i;

    for (;;) {
        /* A vif whose tx budget ran out goes on without waiting. */
        busy = false;
        for (v = nb->vifs; v; v = v->next)
            busy |= v->tx_more;
        n = epoll_wait(nb->epfd, evs, MAX_EVENTS, busy ? 0 : -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            netback_log("epoll_wait: %s", strerror(errno));
            return 1;
        }
        /* The packets first; what may free a vif (xenstore) last, so
         * that no event of this batch points at a freed one. */
        sig = xs = tick = false;
        for (i = 0; i < n; i++) {
            ev = evs[i].data.ptr;
            switch (ev->kind) {
            case EV_SIGNAL:
                sig = true;
                break;
            case EV_XENSTORE:
                xs = true;
                break;
            case EV_RECONNECT:
                tick = true;
                break;
            case EV_LISTEN:
                vu_accept(&ev->vif->c, ev->vif->listen_fd, ev->vif->sock);
                break;
            case EV_CONN:
                vu_input(&ev->vif->c);
                break;
            case EV_TAP:
                vif_tap_event(nb, ev->vif, evs[i].events);
                break;
            case EV_KICK:
                vif_kick(nb, ev->vif, ev->q);
                break;
            case EV_THROTTLE:
                vif_throttle_event(nb, ev->vif);
                break;
            }
        }
        for (v = nb->vifs; v; v = v->next)
            if (v->tx_more)
                vif_tx_more(nb, v);
        if (sig && read(sfd, &si, sizeof(si)) == sizeof(si)) {
            netback_log("%s: exiting", strsignal((int)si.ssi_signo));
            return 0;
        }
        if (tick && read(tfd, &ticks, sizeof(ticks)) > 0 && !nb->xs &&
            xs_connect(nb)) {
            netback_log("xenstore is back");
            timerfd_settime(tfd, 0, &off, NULL);
        }
        if (xs && nb->xs && take_watches(nb, tfd))
            return 0;
    }
}

int main(int argc, char **argv)
{
    struct netback nb = { .epfd = -1 };
    struct ev sig_ev = { .kind = EV_SIGNAL };
    struct ev tick_ev = { .kind = EV_RECONNECT };
    int sfd = -1, tfd = -1, dfd = -1, status = 1, r;
    const char *rundir;
    sigset_t sigs;
    struct vif *v;

    r = backend_parse_args("xenolith-netback", argc, argv, usage, &nb.domid);
    if (r)
        return r > 0 ? 0 : 1;
    log_domid = nb.domid;
    /* from here on the worker; the supervisor restarts it if it dies */
    backend_supervise("xenolith-netback", nb.domid);
    rundir = getenv("XENOLITH_RUNDIR");
    if (!rundir || !*rundir)
        rundir = XENOLITH_DEFAULT_RUNDIR;
    nb.dir = netback_sprintf("%s/backends/vif-%u", rundir, nb.domid);
    nb.be_path = netback_sprintf("/local/domain/0/backend/vif/%u",
                                 nb.domid);
    nb.dom_path = netback_sprintf("/local/domain/%u", nb.domid);

    /* Signals come through the loop. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    nb.epfd = epoll_create1(EPOLL_CLOEXEC);
    sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (nb.epfd < 0 || sfd < 0 || tfd < 0) {
        netback_log("cannot make its epoll, signalfd or timerfd: %s",
                    strerror(errno));
        goto out;
    }
    if (netback_poll_add(&nb, sfd, EPOLLIN, &sig_ev) ||
        netback_poll_add(&nb, tfd, EPOLLIN, &tick_ev))
        goto out;

    if (!xs_connect(&nb)) {
        netback_log("cannot reach xenstore: %s", strerror(errno));
        goto out;
    }
    if (backend_domain_gone(nb.xs, nb.dom_path)) {
        netback_log("domain %u does not exist (no %s)", nb.domid,
                    nb.dom_path);
        goto out;
    }
    dfd = take_dir(&nb);
    if (dfd < 0)
        goto out;
    vif_reap_taps(&nb);
    netback_log("serving domain %u: %s, sockets in %s", nb.domid,
                nb.be_path, nb.dir);
    /* The watches fire once as registered: the first scan comes from
     * the loop. */
    status = run(&nb, sfd, tfd);

out:
    while ((v = nb.vifs)) {
        nb.vifs = v->next;
        vif_destroy(&nb, v, false);
    }
    if (dfd >= 0) {
        remove_dir(&nb, dfd);
        close(dfd);
    }
    xs_disconnect(&nb);
    if (sfd >= 0)
        close(sfd);
    if (tfd >= 0)
        close(tfd);
    if (nb.epfd >= 0)
        close(nb.epfd);
    free(nb.dir);
    free(nb.be_path);
    free(nb.dom_path);
    return status;
}
