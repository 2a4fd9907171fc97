/*
 * adopt.c - a restarted daemon takes back the domains (adopt.h).
 */
#include "adopt.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan.h"
#include "domain.h"
#include "handover.h"
#include "log.h"
#include "record.h"

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
    int fd, rc;

    memset(&a, 0, sizeof(a));
    a.rec = *r;
    a.chan = a.mem_fd = a.pty_master = a.pty_slave = -1;
    a.cons = cons;
    snprintf(path, sizeof(path), "%s/%u.sock", dir, r->domid);
    fd = connect_to(path);
    if (fd < 0) {
        dlog(DLOG_INFO, "domain %u: its process's socket %s: %s", r->domid,
             path, strerror(-fd));
        a.gone = 1;
    } else {
        a.pid = peer_pid(fd);
        rc = read_hello(fd, &a, cons);
        if (rc == -EPIPE && !a.hello.domid) {
            /* it refused: a daemon still holds it; leave it be */
            dlog(DLOG_ERR, "domain %u: its process %d is held by another "
                 "daemon: not taken over", r->domid, (int)a.pid);
            close(fd);
            return;
        }
        if (rc < 0 || a.pid <= 0) {
            dlog(DLOG_ERR, "domain %u: taking over its process %d (%s): "
                 "%s: killing it", r->domid, (int)a.pid, path,
                 rc < 0 ? strerror(-rc) : "no peer pid");
            if (a.pid > 0)
                kill(a.pid, SIGKILL);
            close(fd);
            a.gone = 1;
        } else {
            a.chan = fd;
        }
    }
    (void)domain_adopt(&a);
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
