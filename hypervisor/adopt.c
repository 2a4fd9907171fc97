/*
 * adopt.c - a restarted daemon takes back the domains (adopt.h).
 */
#include "adopt.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan.h"
#include "credit.h"
#include "dm.h"
#include "domain.h"
#include "handover.h"
#include "log.h"
#include "record.h"

/* ------------------------------------------------ the domain, again */

/* A domain found again: what the record and its process say. */
struct domain_adoption {
    struct domain_record rec;    /* the daemon's record of it */
    int gone;                    /* its process died meanwhile */
    struct chan_hello hello;     /* else: its state, from the process */
    pid_t pid;
    int chan;                    /* the new channel (taken) */
    int mem_fd;                  /* core domains (taken) */
    int pty_master, pty_slave;   /* the console pty, -1 if none (taken) */
    const uint8_t *cons;         /* the console output it kept ... */
    size_t cons_len;             /* ... ending at hello.cons_head */
};


/* An adopted process (not our child) exited: its pidfd. */
static void pidw_cb(struct loop_fd *w, uint32_t events)
{
    struct domain *d = (struct domain *)((char *)w -
                                         offsetof(struct domain, pidw));

    (void)events;
    domain_process_gone(d, d->pid, "exited (a process taken over from an "
                 "earlier daemon)");
}

/* Kill qemu of an adoption whose supervisor is gone, if that pid is
 * still the qemu the record names. */
static void adopt_kill_qemu(const struct domain_record *r)
{
    int pidfd;

    if (r->qemu_pid <= 0 || !r->qemu_start ||
        record_start_time(r->qemu_pid) != r->qemu_start)
        return;
    pidfd = dm_pidfd_open(r->qemu_pid);
    if (pidfd < 0)
        return;
    dlog(DLOG_WARN, "domain %u: killing its qemu (pid %d): its supervisor "
         "died while no daemon ran", r->domid, (int)r->qemu_pid);
    (void)dm_kill_wait(pidfd, 1000);
    close(pidfd);
}

/* The adopted process's live state into d; 0 or -errno (logged). */
static int adopt_live(struct domain *d, struct domain_adoption *a)
{
    const struct chan_hello *h = &a->hello;
    int rc;

    d->pid = a->pid;
    d->adopted = 1;
    d->paused = h->paused != 0;
    d->nr_online = h->nr_online < d->nr_vcpus ? h->nr_online : d->nr_vcpus;
    if (h->shutdown) {
        d->shutdown = 1;
        d->shutdown_reason = h->reason;
        d->crashed = h->reason == XC_SHUTDOWN_crash;
    }
    if (d->dm && h->qemu_pid > 0) {
        d->dm_pid = h->qemu_pid;
        d->dm_pidfd = dm_pidfd_open(h->qemu_pid);
        d->dm_balloon = h->dm_balloon;
    }
    d->cons.first_ns = h->cons_first_ns;
    console_restore(&d->cons, h->cons_head, a->cons, a->cons_len,
                    h->cons_sent);
    if (a->pty_master >= 0 && a->pty_slave >= 0) {
        rc = console_take_pty(&d->cons, a->pty_master, a->pty_slave);
        a->pty_master = a->pty_slave = -1;
        if (rc == 0 && console_open_endpoints(&d->cons) == 0)
            d->cons_kept = 1;
    }
    rc = dm_pidfd_open(d->pid);
    d->pidw.fd = rc < 0 ? -1 : rc;
    d->pidw.cb = pidw_cb;
    if (rc >= 0)
        rc = loop_add(&d->pidw, EPOLLIN);
    if (rc < 0) {
        dlog(DLOG_ERR, "domain %u: watching its process %d: %s", d->domid,
             (int)d->pid, strerror(-rc));
        return rc;
    }
    fcntl(a->chan, F_SETFL, O_NONBLOCK);
    d->chan.fd = a->chan;
    a->chan = -1;
    if (loop_add(&d->chan, EPOLLIN) < 0) {
        dlog(DLOG_ERR, "domain %u: its channel: %s", d->domid,
             strerror(errno));
        return -EIO;
    }
    /* the cgroup of this daemon, with the weight and cap it had */
    (void)credit_dom_attach(&d->sched, d->domid, d->dm ? d->dm_pid : d->pid);
    if (d->sched.path[0] && (a->rec.weight != CREDIT_DEFAULT_WEIGHT ||
                             a->rec.cap))
        (void)credit_dom_set(&d->sched, d->domid, a->rec.weight,
                             a->rec.cap, 100 * d->nr_vcpus);
    return 0;
}

/* Take a domain back (its descriptors taken in every case).  0 or
 * -errno. */
static int adopt_domain(struct domain_adoption *a)
{
    const struct domain_record *r = &a->rec;
    struct domain *d;
    int rc = 0;

    if (domain_find(r->domid)) {
        rc = -EEXIST;
        goto out;
    }
    d = domain_new(r->domid);
    if (!d) {
        rc = -ENOMEM;
        goto out;
    }
    d->phase = DOM_ALIVE;
    d->mem_fd = a->mem_fd;
    a->mem_fd = -1;
    d->mem_size = r->mem_size;
    d->max_memkb = r->max_memkb;
    d->nr_vcpus = r->nr_vcpus;
    d->nr_online = r->nr_vcpus;
    d->flags = r->flags;
    d->dm = r->dm != 0;
    d->started = r->started != 0;
    memcpy(d->handle, r->handle, sizeof(d->handle));
    if (d->flags & XC_DOMCFG_CONSOLE_LOG)
        (void)console_open_log(&d->cons);
    domain_insert(d);
    if (!a->gone && adopt_live(d, a) < 0) {
        /* cannot hold it: let it go as if it had died */
        if (d->pid > 0)
            kill(d->pid, SIGKILL);
        a->gone = 1;
    }
    if (a->gone) {
        loop_close(&d->chan);
        loop_close(&d->pidw);
        d->pid = 0;
        if (d->dm) {
            adopt_kill_qemu(r);
            if (d->dm_pidfd >= 0)
                close(d->dm_pidfd);
            d->dm_pidfd = -1;
        }
        d->dm_pid = 0;
        dlog(DLOG_ERR, "domain %u: its process died while no daemon ran: "
             "crashed", d->domid);
        domain_set_shutdown(d, XC_SHUTDOWN_crash);
    } else {
        dlog(DLOG_INFO, "domain %u: taken over (process %d%s, %s%s)",
             d->domid, (int)d->pid, d->dm ? ", a device model" : "",
             d->shutdown ? "shut down" : d->paused ? "paused" : "running",
             d->cons_kept ? ", console pty kept" : "");
    }
    domain_save_record(d);

out:
    if (a->chan >= 0)
        close(a->chan);
    if (a->mem_fd >= 0)
        close(a->mem_fd);
    if (a->pty_master >= 0)
        close(a->pty_master);
    if (a->pty_slave >= 0)
        close(a->pty_slave);
    a->chan = a->mem_fd = a->pty_master = a->pty_slave = -1;
    if (rc < 0)
        dlog(DLOG_ERR, "domain %u: cannot take it over: %s", r->domid,
             strerror(-rc));
    return rc;
}

/* ------------------------------------------- finding the processes */

/* Connect to path (a domain process's socket): the fd, or -errno. */
static int connect_to(const char *path)
{
    struct sockaddr_un sa;
    int fd, rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static pid_t peer_pid(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return 0;
    return cr.pid;
}

/* One packet within ADOPT_WAIT_MS: its length, or -errno. */
static int recv_one(int fd, struct proto_hdr *hdr, void *buf, size_t cap,
                    int *fd_r)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int n;

    n = poll(&pfd, 1, ADOPT_WAIT_MS);
    if (n == 0)
        return -ETIMEDOUT;
    if (n < 0)
        return -errno;
    return chan_recv_nb_fd(fd, hdr, buf, cap, fd_r);
}

/* Read what the process sends on an adoption into a (handover.h).
 * 0 or -errno. */
static int read_hello(int fd, struct domain_adoption *a, uint8_t *cons)
{
    static uint8_t buf[CHAN_MAX_PAYLOAD];
    struct proto_hdr hdr;
    uint32_t kind;
    int len, pfd;

    len = recv_one(fd, &hdr, &a->hello, sizeof(a->hello), &a->mem_fd);
    if (len < 0)
        return len;
    if (hdr.op != CHAN_HELLO || len != (int)sizeof(a->hello) ||
        a->hello.domid != a->rec.domid || !a->hello.dm != !a->rec.dm ||
        (!a->rec.dm && a->mem_fd < 0))
        return -EPROTO;
    for (;;) {
        len = recv_one(fd, &hdr, buf, sizeof(buf), &pfd);
        if (len < 0)
            return len;
        if (hdr.op == CHAN_HELLO_END)
            return pfd >= 0 ? (close(pfd), -EPROTO) : 0;
        if (hdr.op == CHAN_KEPT && pfd >= 0 && len == (int)sizeof(kind)) {
            memcpy(&kind, buf, sizeof(kind));
            if (kind == CHAN_FD_PTY_MASTER && a->pty_master < 0)
                a->pty_master = pfd;
            else if (kind == CHAN_FD_PTY_SLAVE && a->pty_slave < 0)
                a->pty_slave = pfd;
            else
                close(pfd);
            continue;
        }
        if (pfd >= 0)
            close(pfd);
        if (hdr.op != CHAN_CONS_OUT)
            return -EPROTO;
        /* the process keeps HANDOVER_KEEP bytes at most */
        if ((size_t)len > HANDOVER_KEEP - a->cons_len)
            return -EPROTO;
        memcpy(cons + a->cons_len, buf, (size_t)len);
        a->cons_len += (size_t)len;
    }
}

static void adopt_one(const char *dir, const struct domain_record *r)
{
    static uint8_t cons[HANDOVER_KEEP];
    struct domain_adoption a;
    char path[400];
    int fd, rc = 0, tries;

    memset(&a, 0, sizeof(a));
    a.rec = *r;
    a.chan = a.mem_fd = a.pty_master = a.pty_slave = -1;
    a.cons = cons;
    snprintf(path, sizeof(path), "%s/%u.sock", dir, r->domid);
    /* a process refuses while it still holds a channel: right after the
     * old daemon died it may not have seen that yet, so ask again */
    for (tries = 0;; tries++) {
        fd = connect_to(path);
        if (fd < 0)
            break;
        a.pid = peer_pid(fd);
        rc = read_hello(fd, &a, cons);
        if (rc != -EPIPE || a.hello.domid)
            break;
        close(fd);
        if (tries == ADOPT_REFUSED_TRIES) {
            dlog(DLOG_ERR, "domain %u: its process %d is held by another "
                 "daemon: not taken over", r->domid, (int)a.pid);
            return;
        }
        usleep(ADOPT_REFUSED_WAIT_MS * 1000);
    }
    if (fd < 0) {
        dlog(DLOG_INFO, "domain %u: its process's socket %s: %s", r->domid,
             path, strerror(-fd));
        a.gone = 1;
    } else if (rc < 0 || a.pid <= 0) {
        dlog(DLOG_ERR, "domain %u: taking over its process %d (%s): %s: "
             "killing it", r->domid, (int)a.pid, path,
             rc < 0 ? strerror(-rc) : "no peer pid");
        if (a.pid > 0)
            kill(a.pid, SIGKILL);
        close(fd);
        a.gone = 1;
    } else {
        a.chan = fd;
    }
    (void)adopt_domain(&a);
}

/* A socket with no record: a process whose create never finished. */
static void kill_unrecorded(const char *dir, unsigned int domid)
{
    char path[400];
    pid_t pid;
    int fd;

    snprintf(path, sizeof(path), "%s/%u.sock", dir, domid);
    if (domain_find(domid))
        return;
    fd = connect_to(path);
    if (fd >= 0) {
        pid = peer_pid(fd);
        if (pid > 0) {
            dlog(DLOG_WARN, "domain process %d (%s) has no record (its "
                 "create never finished): killing it", (int)pid, path);
            kill(pid, SIGKILL);
        }
        close(fd);
    }
    unlink(path);
}

int adopt_scan(void)
{
    const char *dir = record_dir();
    struct domain_record r;
    struct dirent *de;
    char path[600], tail[8];
    unsigned int domid;
    int found = 0, rc;
    DIR *d;

    if (!dir[0] || !(d = opendir(dir)))
        return 0;
    while ((de = readdir(d))) {
        if (sscanf(de->d_name, "%u.%7s", &domid, tail) != 2 ||
            strcmp(tail, "rec"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        rc = record_load(path, &r);
        if (rc < 0 || r.domid != domid) {
            dlog(DLOG_ERR, "%s: %s: ignored", path,
                 rc < 0 ? strerror(-rc) : "names another domain");
            unlink(path);
            continue;
        }
        adopt_one(dir, &r);
        found++;
    }
    rewinddir(d);
    while ((de = readdir(d)))
        if (sscanf(de->d_name, "%u.%7s", &domid, tail) == 2 &&
            !strcmp(tail, "sock"))
            kill_unrecorded(dir, domid);
    closedir(d);
    if (found)
        dlog(DLOG_INFO, "%d domain(s) of an earlier daemon found in %s",
             found, dir);
    return found;
}
