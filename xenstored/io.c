/*
 * io.c: xenstored's event loop, listening sockets and connections.
 *
 * Connection states:
 *   open     reading (EPOLLIN) unless `held`; writing when output is queued
 *   held     messages are waiting in `in` because the output queue is full
 *            or the outstanding quota is reached; taken up again by
 *            conn_flush() once the queue drains
 *   eof      the peer closed its side: no more reading; the connection is
 *            closed once held messages are handled and the queue is empty
 *   dead     closed: the fd is gone and the engine must not reach it; it is
 *            freed at the end of the loop turn (so events already fetched
 *            for it, and callbacks in progress, never see freed memory)
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corewatch.h"
#include "log.h"
#include "lu.h"
#include "outq.h"
#include "wire.h"

#define RBUF_SIZE (64 * 1024)
#define MAX_EVENTS 128
#define ACCEPT_BATCH 64
/* Log the first dropped watch event of a connection, then one in this. */
#define DROP_LOG_EVERY 1000

enum item_kind {
    ITEM_LISTEN,   /* <rundir>/socket */
    ITEM_DOMAIN,   /* <rundir>/domains/<domid> */
    ITEM_CONN,
    ITEM_SIGNAL,
    ITEM_CORE,     /* the hypervisor core's domain notifications */
};

/* What an epoll event points to: the first member of each owner. */
struct item {
    enum item_kind kind;
    int fd;
};

struct domsock {
    struct item it;
    unsigned int domid;
    bool dead;
    char *path;
    struct domsock *next;       /* io->domsocks, or io->dead_domsocks */
};

struct conn {
    struct item it;
    struct io *io;
    struct engine_conn *ec;
    unsigned int id;            /* for logs and the trace */
    unsigned int domid;
    struct wire_in in;
    struct outq out;
    uint32_t events;            /* epoll interest now registered */
    bool want_out;              /* the socket refused bytes: wait EPOLLOUT */
    bool held;
    bool eof;
    bool dead;
    bool dirty;                 /* on io->dirty */
    bool muted;                 /* restoring: what it is sent is dropped */
    int lu_index;               /* live update: its index in the state */
    struct conn *prev, *next;   /* io->conns */
    struct conn *dirty_next;
    struct conn *dead_next;
    /*
     * Outstanding replies of an unprivileged connection: for each reply
     * queued and not yet fully written, the stream offset where it ends
     * (a ring of reply_cap entries; reply_cap 0 = not counted).
     */
    uint64_t queued;
    uint64_t written;
    uint64_t *reply_end;
    unsigned int reply_cap, reply_head, reply_count;
    unsigned long dropped;      /* watch events dropped */
};

struct io {
    struct io_config cfg;
    char *rundir;
    char *sock_path;
    char *dom_dir;
    struct engine *engine;
    int epfd;
    int spare_fd;               /* given up to accept() when out of fds */
    struct item listen;
    struct item sig;
    struct item core;
    struct corewatch *cw;
    bool core_want;             /* a domain was introduced this turn */
    bool core_check;            /* ask the core about introduced domains */
    bool core_check_all;        /* ... all of them, not just core_pending */
    long long core_retry_at;    /* the notifications ended: connect again
                                 * then (CLOCK_MONOTONIC ms), 0: no */
    int core_retry_ms;          /* the wait before that, doubling */
    unsigned int *core_pending; /* domains to ask about at core_check */
    size_t core_npending, core_cap_pending;
    bool quit;
    unsigned int next_id;
    unsigned int nconns;
    struct conn *conns;
    struct conn *dirty;
    struct conn *dead;
    struct domsock *domsocks;
    struct domsock *dead_domsocks;
    /* handling a request of this connection (CONTROL needs to know) */
    struct conn *cur;
    const struct xsd_sockmsg *cur_hdr;
    /* live update (lu.h): asked for by lu_conn's request lu_req_id */
    char *lu_binary;            /* live-update -f */
    char *lu_cmdline;           /* live-update -c */
    bool lu_start, lu_force;
    struct conn *lu_conn;
    uint32_t lu_req_id, lu_tx_id;
    unsigned int lu_refused;    /* restoring: requests refused */
    /* crash snapshot (cfg.snapshot): changed since the last one, the
     * child writing one, and when the next may start */
    bool snap_dirty;
    bool serving;               /* io_run began: its stop is a clean one */
    pid_t snap_child;
    long long snap_next_ms;
    char rbuf[RBUF_SIZE];
};

/* ------------------------------------------------------------ helpers */

static char *path_join(const char *dir, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

static int epoll_set(struct io *io, int op, struct item *it, uint32_t ev)
{
    struct epoll_event e = { .events = ev, .data.ptr = it };

    if (epoll_ctl(io->epfd, op, it->fd, &e) < 0)
        return -errno;
    return 0;
}

/*
 * A listening unix socket at `path`, mode 0600.  With `check_live`, a
 * socket file that a process still answers on is left alone
 * (-EADDRINUSE); otherwise an existing file is replaced.
 */
static int listen_at(const char *path, bool check_live, int *fd_r)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = -1, probe = -1;
    int rc;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_msg(LOG_LVL_ERROR, "socket path %s: longer than %zu bytes",
                path, sizeof(sa.sun_path) - 1);
        rc = -ENAMETOOLONG;
        goto out;
    }
    strcpy(sa.sun_path, path);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        log_msg(LOG_LVL_ERROR, "socket for %s: %s", path, strerror(errno));
        goto out;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno != EADDRINUSE) {
            rc = -errno;
            log_msg(LOG_LVL_ERROR, "bind %s: %s", path, strerror(errno));
            goto out;
        }
        if (check_live) {
            probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (probe >= 0 &&
                connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                log_msg(LOG_LVL_ERROR,
                        "%s: another xenstored is already serving it",
                        path);
                rc = -EADDRINUSE;
                goto out;
            }
        }
        if (unlink(path) < 0 && errno != ENOENT) {
            rc = -errno;
            log_msg(LOG_LVL_ERROR, "removing stale socket %s: %s", path,
                    strerror(errno));
            goto out;
        }
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            rc = -errno;
            log_msg(LOG_LVL_ERROR, "bind %s: %s", path, strerror(errno));
            goto out;
        }
    }
    if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
        rc = -errno;
        log_msg(LOG_LVL_ERROR, "listen on %s: %s", path, strerror(errno));
        unlink(path);
        goto out;
    }
    *fd_r = fd;
    fd = -1;
    rc = 0;
out:
    if (probe >= 0)
        close(probe);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ------------------------------------------------------------ connections */

static int handle_msg(void *arg, const struct xsd_sockmsg *hdr,
                      const char *payload);

static bool conn_can_take(const struct conn *c)
{
    if (c->dead)
        return false;
    if (c->out.bytes >= c->io->cfg.out_limit)
        return false;
    return !c->reply_cap || c->reply_count < c->reply_cap;
}

static void conn_mark_dirty(struct conn *c)
{
    if (c->dirty || c->dead)
        return;
    c->dirty = true;
    c->dirty_next = c->io->dirty;
    c->io->dirty = c;
}

static void conn_close(struct conn *c, enum log_level level,
                       const char *why)
{
    struct io *io = c->io;

    if (c->dead)
        return;
    log_msg(level, "connection %u (domain %u): %s; closing", c->id,
            c->domid, why);
    log_trace("DESTROY conn %u dom %u: %s", c->id, c->domid, why);
    c->dead = true;
    epoll_ctl(io->epfd, EPOLL_CTL_DEL, c->it.fd, NULL);
    close(c->it.fd);
    c->it.fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        io->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    io->nconns--;
    c->dead_next = io->dead;
    io->dead = c;
}

static void conn_destroy(struct conn *c)
{
    if (c->ec)
        engine_conn_free(c->ec);
    wire_in_dispose(&c->in);
    outq_dispose(&c->out);
    free(c->reply_end);
    free(c);
}

/* Registers the epoll interest that the connection's state calls for. */
static void conn_update_events(struct conn *c)
{
    uint32_t want = 0;

    if (c->dead)
        return;
    if (!c->held && !c->eof)
        want |= EPOLLIN;
    if (c->want_out && c->out.bytes)
        want |= EPOLLOUT;
    if (want == c->events)
        return;
    if (epoll_set(c->io, EPOLL_CTL_MOD, &c->it, want) < 0) {
        conn_close(c, LOG_LVL_ERROR, "epoll_ctl failed");
        return;
    }
    c->events = want;
}

/* What to do after wire_in_feed() returned rc. */
static void conn_after_feed(struct conn *c, int rc)
{
    char why[128];

    if (c->dead)
        return;
    if (rc < 0) {
        if (rc == -EPROTO)
            snprintf(why, sizeof(why), "message header announces %u "
                     "payload bytes, more than %d", c->in.bad_len,
                     XENSTORE_PAYLOAD_MAX);
        else
            snprintf(why, sizeof(why), "input: %s", strerror(-rc));
        conn_close(c, LOG_LVL_WARN, why);
        return;
    }
    c->held = rc == WIRE_STOP;
    conn_update_events(c);
}

static void conn_read(struct conn *c)
{
    struct io *io = c->io;
    ssize_t n;
    int rc;

    n = read(c->it.fd, io->rbuf, sizeof(io->rbuf));
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_close(c, LOG_LVL_INFO, strerror(errno));
        return;
    }
    if (n == 0) {
        c->eof = true;
        if (!c->held && !c->out.bytes) {
            conn_close(c, LOG_LVL_DEBUG, "peer closed");
            return;
        }
        conn_update_events(c);
        return;
    }
    rc = wire_in_feed(&c->in, io->rbuf, (size_t)n, handle_msg, c);
    conn_after_feed(c, rc);
}

/* Forgets the replies that the written bytes completed. */
static void conn_replies_written(struct conn *c)
{
    while (c->reply_count && c->reply_end[c->reply_head] <= c->written) {
        c->reply_head = (c->reply_head + 1) % c->reply_cap;
        c->reply_count--;
    }
}

static void conn_flush(struct conn *c)
{
    ssize_t r;
    int rc;

    while (c->out.bytes) {
        r = outq_write(&c->out, c->it.fd);
        if (r == -EAGAIN) {
            c->want_out = true;
            break;
        }
        if (r < 0) {
            conn_close(c, LOG_LVL_INFO, strerror((int)-r));
            return;
        }
        c->written += (uint64_t)r;
    }
    if (!c->out.bytes)
        c->want_out = false;
    conn_replies_written(c);

    if (c->held && conn_can_take(c)) {
        rc = wire_in_feed(&c->in, NULL, 0, handle_msg, c);
        conn_after_feed(c, rc);
        if (c->dead)
            return;
    }
    if (c->eof && !c->held && !c->out.bytes) {
        conn_close(c, LOG_LVL_DEBUG, "peer closed");
        return;
    }
    conn_update_events(c);
}

static struct conn *conn_new(struct io *io, int fd, unsigned int domid)
{
    struct conn *c;

    c = calloc(1, sizeof(*c));
    if (!c)
        goto fail;
    c->it.kind = ITEM_CONN;
    c->it.fd = fd;
    c->io = io;
    c->id = ++io->next_id;
    c->domid = domid;
    wire_in_init(&c->in);
    outq_init(&c->out);
    if (domid != 0 && io->cfg.outstanding) {
        c->reply_cap = io->cfg.outstanding;
        c->reply_end = calloc(c->reply_cap, sizeof(*c->reply_end));
        if (!c->reply_end)
            goto fail;
    }
    c->ec = engine_conn_new(io->engine, domid, c);
    if (!c->ec) {
        log_msg(LOG_LVL_WARN, "new connection for domain %u refused: %s",
                domid, strerror(errno));
        goto fail;
    }
    c->events = EPOLLIN;
    if (epoll_set(io, EPOLL_CTL_ADD, &c->it, c->events) < 0) {
        log_msg(LOG_LVL_ERROR, "epoll_ctl for a new connection: %s",
                strerror(errno));
        goto fail;
    }
    c->next = io->conns;
    if (io->conns)
        io->conns->prev = c;
    io->conns = c;
    io->nconns++;
    log_msg(LOG_LVL_DEBUG, "connection %u (domain %u) opened", c->id, domid);
    log_trace("CREATE conn %u dom %u", c->id, domid);
    return c;

fail:
    close(fd);
    if (c) {
        c->it.fd = -1;
        conn_destroy(c);
    }
    return NULL;
}

/* The wire_msg_fn of every connection: one request into the engine. */
static int handle_msg(void *arg, const struct xsd_sockmsg *hdr,
                      const char *payload)
{
    struct conn *c = arg;
    char why[128];
    int rc;

    if (!conn_can_take(c))
        return c->dead ? -EPIPE : WIRE_STOP;
    log_trace_msg(false, c->id, c->domid, hdr, payload);
    c->io->cur = c;
    c->io->cur_hdr = hdr;
    rc = engine_handle(c->io->engine, c->ec, hdr, payload);
    c->io->cur = NULL;
    c->io->cur_hdr = NULL;
    switch (hdr->type) {
    case XS_WRITE: case XS_MKDIR: case XS_RM: case XS_SET_PERMS:
    case XS_INTRODUCE: case XS_RELEASE: case XS_SET_TARGET:
    case XS_RESUME: case XS_TRANSACTION_END: case XS_RESET_WATCHES:
        c->io->snap_dirty = true;  /* the store or its domains may have
                                    * changed: snapshot them */
        break;
    }
    if (rc < 0) {
        snprintf(why, sizeof(why), "%s request (req_id %u) is a protocol "
                 "violation: %s", wire_type_name(hdr->type), hdr->req_id,
                 strerror(-rc));
        conn_close(c, LOG_LVL_WARN, why);
        return -EPIPE;
    }
    if (c->dead)
        return -EPIPE;
    return WIRE_NEXT;
}

/* ------------------------------------------------------------ engine ops */

/* The io being restored from a live update, and the request of its state
 * being replayed (op_send counts and names refusals). */
static struct io *restoring_io;
static const struct xsd_sockmsg *restoring_hdr;
static const char *restoring_payload;

static int op_send(void *conn_opaque, const struct xsd_sockmsg *hdr,
                   const void *payload)
{
    struct conn *c = conn_opaque;
    size_t len = WIRE_HDR_SIZE + hdr->len;
    bool event = hdr->type == XS_WATCH_EVENT;
    int r;

    if (!c || c->muted) {
        /* a live update's restore: the answers go nowhere, refusals are
         * counted (and the first ones logged) */
        if (hdr->type == XS_ERROR && restoring_io &&
            restoring_io->lu_refused++ < 8 && restoring_hdr)
            log_msg(LOG_LVL_ERROR, "live update: %s %.*s of the state was "
                    "refused: %.*s", wire_type_name(restoring_hdr->type),
                    (int)strnlen(restoring_payload, restoring_hdr->len),
                    restoring_payload, (int)hdr->len,
                    (const char *)payload);
        return 0;
    }
    if (c->dead)
        return -EPIPE;
    if (event && c->out.bytes >= c->io->cfg.out_limit) {
        if (c->dropped++ % DROP_LOG_EVERY == 0)
            log_msg(LOG_LVL_WARN, "connection %u (domain %u) does not read "
                    "its output (%zu bytes queued): watch event dropped "
                    "(%lu so far)", c->id, c->domid, c->out.bytes,
                    c->dropped);
        log_trace("DROP conn %u dom %u watch event", c->id, c->domid);
        return -ENOBUFS;
    }
    r = outq_put(&c->out, hdr, WIRE_HDR_SIZE, payload, hdr->len);
    if (r < 0)
        return r;
    log_trace_msg(true, c->id, c->domid, hdr, payload);
    c->queued += len;
    if (!event && c->reply_cap && c->reply_count < c->reply_cap) {
        c->reply_end[(c->reply_head + c->reply_count) % c->reply_cap] =
            c->queued;
        c->reply_count++;
    }
    conn_mark_dirty(c);
    return 0;
}

/* Remembers that the core must be asked about domid at the end of the
 * turn; when memory runs short, every introduced domain is asked. */
static void core_note(void *opaque, unsigned int domid)
{
    struct io *io = opaque;
    unsigned int *p;
    size_t cap;

    if (io->core_npending == io->core_cap_pending) {
        cap = io->core_cap_pending ? 2 * io->core_cap_pending : 8;
        p = realloc(io->core_pending, cap * sizeof(*p));
        if (!p) {
            io->core_check_all = true;
            return;
        }
        io->core_pending = p;
        io->core_cap_pending = cap;
    }
    io->core_pending[io->core_npending++] = domid;
}

static int op_domain_introduced(void *opaque, unsigned int domid)
{
    struct io *io = opaque;
    struct domsock *ds;
    char name[16];
    int rc;

    for (ds = io->domsocks; ds; ds = ds->next)
        if (ds->domid == domid)
            return 0;
    ds = calloc(1, sizeof(*ds));
    if (!ds)
        return -ENOMEM;
    ds->it.kind = ITEM_DOMAIN;
    ds->it.fd = -1;
    ds->domid = domid;
    snprintf(name, sizeof(name), "%u", domid);
    ds->path = path_join(io->dom_dir, name);
    if (!ds->path) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = listen_at(ds->path, false, &ds->it.fd);
    if (rc)
        goto fail;
    rc = epoll_set(io, EPOLL_CTL_ADD, &ds->it, EPOLLIN);
    if (rc) {
        log_msg(LOG_LVL_ERROR, "epoll_ctl for %s: %s", ds->path,
                strerror(-rc));
        unlink(ds->path);
        goto fail;
    }
    ds->next = io->domsocks;
    io->domsocks = ds;
    log_msg(LOG_LVL_INFO, "domain %u introduced: listening on %s", domid,
            ds->path);
    /* At the end of the turn (not inside the engine's request): watch the
     * core, and ask it about the domain, which may have stopped already. */
    if (domid != 0) {
        io->core_want = true;
        core_note(io, domid);
    }
    return 0;

fail:
    if (ds->it.fd >= 0)
        close(ds->it.fd);
    free(ds->path);
    free(ds);
    return rc;
}

static void domsock_close(struct io *io, struct domsock *ds)
{
    struct domsock **pp;

    for (pp = &io->domsocks; *pp; pp = &(*pp)->next) {
        if (*pp == ds) {
            *pp = ds->next;
            break;
        }
    }
    ds->dead = true;
    epoll_ctl(io->epfd, EPOLL_CTL_DEL, ds->it.fd, NULL);
    close(ds->it.fd);
    ds->it.fd = -1;
    if (unlink(ds->path) < 0 && errno != ENOENT)
        log_msg(LOG_LVL_WARN, "removing %s: %s", ds->path, strerror(errno));
    ds->next = io->dead_domsocks;
    io->dead_domsocks = ds;
}

static void op_domain_released(void *opaque, unsigned int domid)
{
    struct io *io = opaque;
    struct domsock *ds;
    struct conn *c, *next;

    for (ds = io->domsocks; ds; ds = ds->next) {
        if (ds->domid == domid) {
            domsock_close(io, ds);
            break;
        }
    }
    for (c = io->conns; c; c = next) {
        next = c->next;
        if (c->domid == domid)
            conn_close(c, LOG_LVL_INFO, "its domain was released");
    }
    log_msg(LOG_LVL_INFO, "domain %u released", domid);
}

/* CONTROL memreport FILE: appends the report to FILE, as Xen does. */
static int memreport_to(struct io *io, const char *path)
{
    char buf[1024];
    int len, fd, rc = 0;
    ssize_t w;

    len = engine_memreport(io->engine, buf, sizeof(buf));
    if (len < 0)
        return len;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    w = write(fd, buf, (size_t)len);
    if (w < 0)
        rc = -errno;
    else if (w != len)
        rc = -EIO;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    return rc;
}

/*
 * CONTROL live-update, as Xen's xenstore-control drives it: -f BINARY
 * (the daemon to execute), -c CMDLINE (its arguments, instead of ours),
 * -s [-t SECONDS] [-F] (start: BUSY while transactions are open, unless
 * -F; else answered by the new process, or with what failed), -a (abort
 * what -f and -c set).  The other answers are OK or what is wrong.
 */
static int lu_control(struct io *io, int argc, char **argv, char *reply,
                      size_t size)
{
    struct engine_stats st;
    bool force = false;
    char **slot = NULL;
    int i;

    if (argc < 1)
        return -EINVAL;
    if (!strcmp(argv[0], "-f") || !strcmp(argv[0], "-c")) {
        if (argc != 2)
            return -EINVAL;
        if (argv[0][1] == 'f' &&
            (argv[1][0] != '/' || access(argv[1], X_OK) < 0)) {
            snprintf(reply, size, "live-update -f %s: not an executable "
                     "file named by its absolute path", argv[1]);
            return 0;
        }
        slot = argv[0][1] == 'f' ? &io->lu_binary : &io->lu_cmdline;
        free(*slot);
        *slot = strdup(argv[1]);
        if (!*slot)
            return -ENOMEM;
    } else if (!strcmp(argv[0], "-a")) {
        free(io->lu_binary);
        free(io->lu_cmdline);
        io->lu_binary = io->lu_cmdline = NULL;
    } else if (!strcmp(argv[0], "-s")) {
        for (i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "-F"))
                force = true;
            else if (!strcmp(argv[i], "-t") && i + 1 < argc)
                i++;
            else
                return -EINVAL;
        }
        if (!io->cur)
            return -EINVAL;
        engine_get_stats(io->engine, &st);
        if (st.transactions && !force) {
            snprintf(reply, size, "BUSY");
            return 0;
        }
        if (io->lu_start) {
            snprintf(reply, size, "live-update: already starting");
            return 0;
        }
        io->lu_start = true;
        io->lu_force = force;
        io->lu_conn = io->cur;
        io->lu_req_id = io->cur_hdr->req_id;
        io->lu_tx_id = io->cur_hdr->tx_id;
        return -EINPROGRESS;     /* the answer comes with the update */
    } else {
        return -EINVAL;
    }
    snprintf(reply, size, "OK");
    return 0;
}

static int op_control(void *opaque, int argc, char **argv, char *reply,
                      size_t reply_size)
{
    struct io *io = opaque;
    int rc;

    if (argc < 1)
        return -ENOSYS;
    if (!strcmp(argv[0], "log")) {
        if (argc != 2)
            return -EINVAL;
        if (!strcmp(argv[1], "on")) {
            rc = log_trace_on();
            /* No trace file named: nothing to reopen, as in Xen. */
            if (rc && rc != -ENOENT)
                return rc;
        } else if (!strcmp(argv[1], "off")) {
            log_trace_off();
        } else {
            return -EINVAL;
        }
    } else if (!strcmp(argv[0], "logfile")) {
        if (argc != 2 || !argv[1][0])
            return -EINVAL;
        rc = log_trace_set(argv[1]);
        if (rc) {
            log_msg(LOG_LVL_WARN, "CONTROL logfile %s: %s", argv[1],
                    strerror(-rc));
            return rc;
        }
    } else if (!strcmp(argv[0], "live-update")) {
        return lu_control(io, argc - 1, argv + 1, reply, reply_size);
    } else if (!strcmp(argv[0], "memreport")) {
        if (argc != 2 || !argv[1][0])
            return -EINVAL;
        rc = memreport_to(io, argv[1]);
        if (rc) {
            log_msg(LOG_LVL_WARN, "CONTROL memreport %s: %s", argv[1],
                    strerror(-rc));
            return rc;
        }
    } else {
        return -ENOSYS;
    }
    snprintf(reply, reply_size, "OK");
    return 0;
}

static void op_log(void *opaque, enum engine_log_level level,
                   const char *msg)
{
    static const enum log_level map[] = {
        [ENGINE_LOG_ERROR] = LOG_LVL_ERROR,
        [ENGINE_LOG_WARN] = LOG_LVL_WARN,
        [ENGINE_LOG_INFO] = LOG_LVL_INFO,
        [ENGINE_LOG_DEBUG] = LOG_LVL_DEBUG,
    };
    enum log_level l = level <= ENGINE_LOG_DEBUG ? map[level]
                                                 : LOG_LVL_DEBUG;

    log_msg(l, "%s", msg);
}

static const struct engine_ops io_engine_ops = {
    .send = op_send,
    .domain_introduced = op_domain_introduced,
    .domain_released = op_domain_released,
    .control = op_control,
    .log = op_log,
};

/* ------------------------------------------------------------ loop */

static void accept_on(struct io *io, struct item *it, unsigned int domid)
{
    unsigned int i;
    int fd;

    for (i = 0; i < ACCEPT_BATCH; i++) {
        fd = accept4(it->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /*
                 * Out of descriptors: take the connection with the spare
                 * one and close it, so that the listener does not stay
                 * readable and spin the loop.
                 */
                log_msg(LOG_LVL_WARN, "out of file descriptors with %u "
                        "connections: refusing a new one", io->nconns);
                if (io->spare_fd >= 0) {
                    close(io->spare_fd);
                    fd = accept(it->fd, NULL, NULL);
                    if (fd >= 0)
                        close(fd);
                    io->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
            } else if (errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR && errno != ECONNABORTED) {
                log_msg(LOG_LVL_ERROR, "accept: %s", strerror(errno));
            }
            return;
        }
        conn_new(io, fd, domid);
    }
}

static void read_signals(struct io *io)
{
    struct signalfd_siginfo si;
    int r;

    while (read(io->sig.fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            r = log_reopen();
            if (r)
                log_msg(LOG_LVL_ERROR, "SIGHUP: reopening the log files: "
                        "%s", strerror(-r));
            else
                log_msg(LOG_LVL_INFO, "SIGHUP: log files reopened");
        } else {
            log_msg(LOG_LVL_INFO, "signal %u: stopping", si.ssi_signo);
            io->quit = true;
        }
    }
}

/* ------------------------------------------------------------ core */

/* Reports the introduced domains' states, as the core sees them, to the
 * engine (which fires @releaseDomain and forgets the dead ones). */
static void core_check_domains(struct io *io)
{
    struct engine_domain_info *info;
    struct domsock *ds;
    size_t n = 0, i = 0, k;
    int r;

    if (io->core_check_all) {
        for (ds = io->domsocks; ds; ds = ds->next)
            n++;
    } else {
        n = io->core_npending;
    }
    if (!n)
        goto done;
    info = calloc(n, sizeof(*info));
    if (!info) {
        log_msg(LOG_LVL_ERROR, "no memory to check %zu domains' states", n);
        io->core_check = true;      /* next turn */
        return;
    }
    if (io->core_check_all) {
        for (ds = io->domsocks; ds && i < n; ds = ds->next)
            if (ds->domid != 0)
                info[i++].domid = ds->domid;
    } else {
        for (k = 0; k < n; k++)
            if (io->core_pending[k] != 0)
                info[i++].domid = io->core_pending[k];
    }
    corewatch_states(io->cw, info, i);
    /* The engine may close domain sockets now: the list is not walked.
     * Domains it no longer knows are ignored by it. */
    r = engine_domains_changed(io->engine, info, i);
    if (r < 0) {
        io->core_check = true;
        io->core_check_all = true;
        free(info);
        return;
    }
    if (r > 0)
        io->snap_dirty = true;  /* domains forgotten, their nodes gone */
    free(info);
done:
    io->core_check_all = false;
    io->core_npending = 0;
}

/* Waits between attempts to reach the core again after its
 * notifications ended (a restart of xenolithd takes a second or so). */
#define CORE_RETRY_FIRST_MS 100
#define CORE_RETRY_MAX_MS   2000

static long long mono_ms(void);

static void core_lost(struct io *io)
{
    epoll_ctl(io->epfd, EPOLL_CTL_DEL, io->core.fd, NULL);
    io->core.fd = -1;
    corewatch_disconnect(io->cw);
    io->core_retry_ms = CORE_RETRY_FIRST_MS;
    io->core_retry_at = mono_ms() + CORE_RETRY_FIRST_MS;
}

/* What domain introductions and core notifications asked for this turn. */
static void core_turn(struct io *io)
{
    bool fresh;
    int rc;

    if (io->core_want) {
        io->core_want = false;
        if (corewatch_connect(io->cw, &fresh) == 0) {
            io->core_check = true;
            if (fresh) {
                /* Notifications may have been missed until now. */
                io->core_check_all = true;
                io->core.fd = corewatch_fd(io->cw);
                rc = epoll_set(io, EPOLL_CTL_ADD, &io->core, EPOLLIN);
                if (rc) {
                    log_msg(LOG_LVL_ERROR, "epoll_ctl for the core's "
                            "notifications: %s", strerror(-rc));
                    io->core.fd = -1;
                    corewatch_disconnect(io->cw);
                    io->core_check = false;
                }
            }
        }
    }
    if (io->core_check) {
        io->core_check = false;
        core_check_domains(io);
    }
}

/* After the core's notifications ended: connect again when due, and
 * then check every introduced domain (what changed meanwhile becomes
 * @releaseDomain).  Returns the epoll timeout the next attempt needs
 * (ms, -1 none). */
static int core_retry_turn(struct io *io)
{
    long long now;

    if (!io->core_retry_at)
        return -1;
    if (io->core.fd >= 0) {
        io->core_retry_at = 0;
        return -1;
    }
    now = mono_ms();
    if (now < io->core_retry_at)
        return (int)(io->core_retry_at - now);
    io->core_want = true;
    core_turn(io);
    if (io->core.fd >= 0) {
        io->core_retry_at = 0;
        return -1;
    }
    io->core_retry_ms *= 2;
    if (io->core_retry_ms > CORE_RETRY_MAX_MS)
        io->core_retry_ms = CORE_RETRY_MAX_MS;
    io->core_retry_at = now + io->core_retry_ms;
    return io->core_retry_ms;
}

static void core_readable(struct io *io)
{
    int rc = corewatch_drain(io->cw, core_note, io);

    if (rc < 0)
        core_lost(io);
    else if (rc > 0)
        io->core_check = true;
}

/* Frees what was closed this turn and writes out queued output. */
static void finish_turn(struct io *io)
{
    struct domsock *ds;
    struct conn *c;

    /*
     * A connection closed this turn may still be on the dirty list: free
     * the dead only once that list is empty (dead ones never join it).
     */
    for (;;) {
        if ((c = io->dirty)) {
            io->dirty = c->dirty_next;
            c->dirty = false;
            if (!c->dead)
                conn_flush(c);
            continue;
        }
        if ((c = io->dead)) {
            io->dead = c->dead_next;
            conn_destroy(c);
            continue;
        }
        break;
    }
    while ((ds = io->dead_domsocks)) {
        io->dead_domsocks = ds->next;
        free(ds->path);
        free(ds);
    }
    log_flush();
}

/*
 * The epoll set and the signalfd are made by the process that runs the
 * loop: a signalfd polled through an epoll set made before fork() would
 * wake the parent, not the daemon.
 */
static int loop_init(struct io *io)
{
    sigset_t set;
    int rc;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    io->sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (io->sig.fd < 0 || io->epfd < 0) {
        rc = -errno;
        log_msg(LOG_LVL_ERROR, "signalfd/epoll: %s", strerror(errno));
        return rc;
    }
    rc = epoll_set(io, EPOLL_CTL_ADD, &io->listen, EPOLLIN);
    if (!rc)
        rc = epoll_set(io, EPOLL_CTL_ADD, &io->sig, EPOLLIN);
    if (rc)
        log_msg(LOG_LVL_ERROR, "epoll_ctl: %s", strerror(-rc));
    return rc;
}

/* ------------------------------------------------------------ snapshot */

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int snap_cb(void *arg, struct engine_conn *ec,
                   const struct xsd_sockmsg *hdr, const char *payload)
{
    if (ec)
        return 0;               /* watches go with their connections */
    return lu_add_request(arg, -1, hdr, payload);
}

/* In the child: the store into the snapshot file. */
static int snap_write(struct io *io)
{
    struct lu_state st;
    int r;

    lu_state_init(&st);
    r = engine_dump(io->engine, true, snap_cb, &st);
    if (!r)
        r = lu_write_file(&st, io->cfg.snapshot);
    lu_state_free(&st);
    return r;
}

/* Reaps a finished snapshot child (and says when one failed). */
static void snap_reap(struct io *io)
{
    int status;
    pid_t p;

    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
        if (p != io->snap_child)
            continue;           /* a live update's predecessor's */
        io->snap_child = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status))
            log_msg(LOG_LVL_ERROR, "snapshot of the store into %s failed "
                    "(status %#x): a crash now would lose more",
                    io->cfg.snapshot, status);
    }
}

/*
 * After a turn: a snapshot when the store changed, at most one a second,
 * one at a time.  Returns the epoll timeout the next one needs (ms, -1
 * none).
 */
static int snap_turn(struct io *io)
{
    long long now;
    pid_t p;

    if (!io->cfg.snapshot)
        return -1;
    if (io->snap_child)
        snap_reap(io);
    if (!io->snap_dirty)
        return io->snap_child ? 100 : -1;
    if (io->snap_child)
        return 100;
    now = mono_ms();
    if (now < io->snap_next_ms)
        return (int)(io->snap_next_ms - now);
    log_flush();
    p = fork();
    if (p < 0) {
        log_msg(LOG_LVL_ERROR, "snapshot of the store: fork: %s",
                strerror(errno));
        io->snap_next_ms = now + 1000;
        return 1000;
    }
    if (p == 0)
        _exit(snap_write(io) ? 1 : 0);
    io->snap_child = p;
    io->snap_dirty = false;
    io->snap_next_ms = now + 1000;
    return 100;
}

/* Replays st's requests: the restoring connection's on rec, the others'
 * on conns[i] (NULL: gone); returns how many there were. */
static size_t lu_replay(struct io *io, const struct lu_state *st,
                        struct conn **conns, struct engine_conn *rec)
{
    struct xsd_sockmsg hdr;
    const char *payload;
    size_t off = 0, n = 0;
    int r, slot;

    restoring_io = io;
    while ((r = lu_next_request(st, &off, &slot, &hdr, &payload)) > 0) {
        struct engine_conn *ec = slot < 0 ? rec :
                                 conns && conns[slot] ? conns[slot]->ec :
                                 NULL;

        restoring_hdr = &hdr;
        restoring_payload = payload;
        if (ec && engine_handle(io->engine, ec, &hdr, payload) < 0)
            io->lu_refused++;
        n++;
    }
    restoring_io = NULL;
    restoring_hdr = NULL;
    if (r < 0)
        log_msg(LOG_LVL_ERROR, "the saved state is cut short after %zu "
                "requests", n);
    return n;
}

/* At a fresh start: the snapshot a crashed daemon left, if any. */
static int snap_restore(struct io *io)
{
    struct engine_conn *rec;
    struct lu_state st;
    struct stat sb;
    char bad[4096];
    size_t n;
    int fd, r;

    fd = open(io->cfg.snapshot, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fd, &sb) < 0)
        sb.st_mtime = 0;
    r = lu_load(fd, &st);
    if (r) {
        snprintf(bad, sizeof(bad), "%s.bad", io->cfg.snapshot);
        rename(io->cfg.snapshot, bad);
        log_msg(LOG_LVL_ERROR, "the store's snapshot %s is unreadable (%s): "
                "kept as %s; starting with an empty store",
                io->cfg.snapshot, strerror(-r), bad);
        return 0;
    }
    rec = engine_conn_new(io->engine, 0, NULL);
    if (!rec) {
        lu_state_free(&st);
        return -ENOMEM;
    }
    n = lu_replay(io, &st, NULL, rec);
    engine_conn_free(rec);
    lu_state_free(&st);
    log_msg(LOG_LVL_WARN, "xenstored did not stop cleanly: the store "
            "restored from %s (%zu requests, %u refused, written %lld s "
            "before this start); connections and watches were lost",
            io->cfg.snapshot, n, io->lu_refused,
            (long long)(time(NULL) - sb.st_mtime));
    return 0;
}

/* ------------------------------------------------------------ live update */

/* A CONTROL answer to c's request req_id (the live update's -s). */
static void lu_answer(struct conn *c, uint32_t req_id, uint32_t tx_id,
                      const char *text)
{
    struct xsd_sockmsg hdr = {
        .type = XS_CONTROL,
        .req_id = req_id,
        .tx_id = tx_id,
        .len = (uint32_t)strlen(text) + 1,
    };

    op_send(c, &hdr, text);
}

/* Writes every connection's queued output out, waiting up to 5 s. */
static int lu_drain(struct io *io)
{
    struct conn *c, *next;
    bool pending;
    ssize_t r;
    int tries;

    for (tries = 0; tries < 5000; tries++) {
        pending = false;
        for (c = io->conns; c; c = next) {
            next = c->next;
            while (!c->dead && c->out.bytes) {
                r = outq_write(&c->out, c->it.fd);
                if (r == -EAGAIN) {
                    pending = true;
                    break;
                }
                if (r < 0) {
                    conn_close(c, LOG_LVL_INFO, strerror((int)-r));
                    break;
                }
                c->written += (uint64_t)r;
            }
        }
        if (!pending)
            return 0;
        usleep(1000);
    }
    return -ETIMEDOUT;
}

static int lu_dump_cb(void *arg, struct engine_conn *ec,
                      const struct xsd_sockmsg *hdr, const char *payload)
{
    struct conn *c = ec ? engine_conn_opaque(ec) : NULL;

    if (c && c->dead)
        return 0;               /* closed while the output drained */
    return lu_add_request(arg, c ? c->lu_index : -1, hdr, payload);
}

/* The new process's command line: -c's, or ours, after the binary. */
static char **lu_argv(const struct io *io, const char *binary)
{
    char **argv, *cmd = NULL, *tok, *save;
    size_t n = 1, i;

    for (i = 1; io->cfg.argv && io->cfg.argv[i]; i++)
        n++;
    if (io->lu_cmdline) {
        cmd = strdup(io->lu_cmdline);
        if (!cmd)
            return NULL;
        n = 1 + strlen(cmd) / 2 + 1;
    }
    argv = calloc(n + 1, sizeof(*argv));
    if (!argv) {
        free(cmd);
        return NULL;
    }
    argv[0] = (char *)binary;
    n = 1;
    if (cmd) {
        /* the words stay allocated: the process is replaced */
        for (tok = strtok_r(cmd, " ", &save); tok;
             tok = strtok_r(NULL, " ", &save))
            argv[n++] = tok;
    } else {
        for (i = 1; io->cfg.argv && io->cfg.argv[i]; i++)
            argv[n++] = io->cfg.argv[i];
    }
    argv[n] = NULL;
    return argv;
}

/*
 * Carries out the live update asked for this turn: drain, save, execute.
 * Comes back only when it failed (the client is told why) or when
 * transactions were opened meanwhile (BUSY, it asks again).
 */
static void live_update(struct io *io)
{
    struct conn *asker = io->lu_conn, *c;
    const char *binary = io->lu_binary ? io->lu_binary : io->cfg.self;
    uint32_t req_id = io->lu_req_id, tx_id = io->lu_tx_id;
    struct lu_state st;
    char msg[512], **argv = NULL;
    int fd = -1, r;

    io->lu_start = false;
    io->lu_conn = NULL;
    lu_state_init(&st);
    if (!binary) {
        snprintf(msg, sizeof(msg), "live-update: the daemon's own binary "
                 "is unknown: give one (-f)");
        goto fail;
    }
    if (lu_drain(io)) {
        snprintf(msg, sizeof(msg), "live-update: the connections' output "
                 "could not be written within 5 s");
        goto fail;
    }
    if (asker->dead) {
        log_msg(LOG_LVL_WARN, "live update: the connection that asked "
                "for it closed; not done");
        goto out;
    }
    st.listen_fd = io->listen.fd;
    for (c = io->conns; c; c = c->next) {
        r = lu_add_conn(&st, c->it.fd, c->domid, c->id, c->in.buf,
                        wire_in_kept(&c->in));
        if (r < 0)
            goto fail_r;
        c->lu_index = r;
    }
    st.requester = asker->lu_index;
    st.req_id = req_id;
    st.tx_id = tx_id;
    r = engine_dump(io->engine, io->lu_force, lu_dump_cb, &st);
    if (r == -EBUSY) {
        lu_answer(asker, req_id, tx_id, "BUSY");
        goto out;
    }
    if (!r)
        r = lu_save(&st, &fd);
    argv = r ? NULL : lu_argv(io, binary);
    if (!r && !argv)
        r = -ENOMEM;
    if (r)
        goto fail_r;
    log_msg(LOG_LVL_INFO, "live update: executing %s (%zu connections, "
            "%zu bytes of state)", binary, st.nconns, st.reqs_len);
    log_flush();
    r = lu_exec(binary, argv, &st, fd);
    snprintf(msg, sizeof(msg), "live-update: executing %s: %s", binary,
             strerror(-r));
    goto fail;
fail_r:
    snprintf(msg, sizeof(msg), "live-update: saving the state: %s",
             strerror(-r));
fail:
    log_msg(LOG_LVL_ERROR, "%s", msg);
    if (!asker->dead)
        lu_answer(asker, req_id, tx_id, msg);
out:
    if (fd >= 0)
        close(fd);
    free(argv);
    lu_state_free(&st);
}

/*
 * The new process's half: adopt the sockets, replay the state's requests
 * with their answers dropped, answer the client that asked, then handle
 * the input the connections had waiting.
 */
static int lu_restore(struct io *io, int fd)
{
    struct engine_conn *rec = NULL;
    struct conn **conns = NULL;
    struct lu_state st;
    size_t i, n = 0;
    int r;

    r = lu_load(fd, &st);
    if (r) {
        log_msg(LOG_LVL_ERROR, "live update: reading the state "
                "(descriptor %d): %s", fd, strerror(-r));
        return r;
    }
    io->listen.fd = st.listen_fd;
    fcntl(io->listen.fd, F_SETFD, FD_CLOEXEC);
    r = loop_init(io);
    conns = calloc(st.nconns + 1, sizeof(*conns));
    rec = engine_conn_new(io->engine, 0, NULL);
    if (!r && (!conns || !rec))
        r = -ENOMEM;
    if (r)
        goto out;
    for (i = 0; i < st.nconns; i++) {
        fcntl(st.conns[i].fd, F_SETFD, FD_CLOEXEC);
        conns[i] = conn_new(io, st.conns[i].fd, st.conns[i].domid);
        if (!conns[i])
            continue;           /* logged; the client sees its end */
        conns[i]->id = st.conns[i].id;
        if (conns[i]->id > io->next_id)
            io->next_id = conns[i]->id;
        conns[i]->muted = true;
    }
    n = lu_replay(io, &st, conns, rec);
    for (i = 0; i < st.nconns; i++)
        if (conns[i])
            conns[i]->muted = false;
    if (st.requester >= 0 && conns[st.requester])
        lu_answer(conns[st.requester], st.req_id, st.tx_id, "OK");
    for (i = 0; i < st.nconns; i++) {
        if (conns[i] && st.conns[i].inlen)
            conn_after_feed(conns[i], wire_in_feed(&conns[i]->in,
                            st.conns[i].in, st.conns[i].inlen, handle_msg,
                            conns[i]));
    }
    log_msg(io->lu_refused ? LOG_LVL_ERROR : LOG_LVL_INFO,
            "live update: restored %zu connections from %zu requests of "
            "state (%u refused)", st.nconns, n, io->lu_refused);
    if (io->core_want || io->core_check)
        core_turn(io);
    finish_turn(io);
    r = 0;
out:
    if (rec)
        engine_conn_free(rec);
    free(conns);
    lu_state_free(&st);
    return r;
}

int io_run(struct io *io)
{
    struct epoll_event ev[MAX_EVENTS];
    struct item *it;
    struct conn *c;
    int i, n, rc, timeout = -1;

    if (io->epfd < 0) {
        rc = loop_init(io);
        if (rc)
            return rc;
    }
    if (io->cfg.snapshot && io->cfg.restore_fd < 0) {
        rc = snap_restore(io);
        if (rc) {
            log_msg(LOG_LVL_ERROR, "restoring the store from %s: %s",
                    io->cfg.snapshot, strerror(-rc));
            return rc;
        }
        if (io->core_want || io->core_check)
            core_turn(io);
    }
    io->serving = true;
    while (!io->quit) {
        n = epoll_wait(io->epfd, ev, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_LVL_ERROR, "epoll_wait: %s", strerror(errno));
            return -errno;
        }
        for (i = 0; i < n; i++) {
            it = ev[i].data.ptr;
            switch (it->kind) {
            case ITEM_LISTEN:
                accept_on(io, it, 0);
                break;
            case ITEM_DOMAIN:
                if (!((struct domsock *)it)->dead)
                    accept_on(io, it, ((struct domsock *)it)->domid);
                break;
            case ITEM_SIGNAL:
                read_signals(io);
                break;
            case ITEM_CORE:
                if (io->core.fd >= 0)
                    core_readable(io);
                break;
            case ITEM_CONN:
                c = (struct conn *)it;
                if (c->dead)
                    break;
                if (ev[i].events & EPOLLIN)
                    conn_read(c);
                if (!c->dead && (ev[i].events & EPOLLOUT))
                    conn_mark_dirty(c);
                if (!c->dead && (ev[i].events & (EPOLLHUP | EPOLLERR)) &&
                    !(ev[i].events & EPOLLIN))
                    conn_close(c, LOG_LVL_DEBUG, "peer hung up");
                break;
            }
        }
        if (io->core_want || io->core_check)
            core_turn(io);
        finish_turn(io);
        if (io->lu_start)
            live_update(io);
        timeout = snap_turn(io);
        i = core_retry_turn(io);
        if (i >= 0 && (timeout < 0 || i < timeout))
            timeout = i;
    }
    return 0;
}

/* ------------------------------------------------------------ set-up */

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        log_msg(LOG_LVL_ERROR, "creating %s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}

/* The rundir and its parents, like mkdir -p. */
static int make_dirs(const char *path)
{
    char *p = strdup(path), *s;
    int rc = 0;

    if (!p)
        return -ENOMEM;
    for (s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            rc = -errno;
            log_msg(LOG_LVL_ERROR, "creating %s: %s", p, strerror(errno));
            goto out;
        }
        *s = '/';
    }
    rc = make_dir(p);
out:
    free(p);
    return rc;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int io_new(const struct io_config *cfg, const struct engine_config *ecfg,
           struct io **io_r)
{
    struct io *io;
    sigset_t set;
    int rc;

    io = calloc(1, sizeof(*io));
    if (!io)
        return -ENOMEM;
    io->cfg = *cfg;
    io->epfd = -1;
    io->spare_fd = -1;
    io->listen.kind = ITEM_LISTEN;
    io->listen.fd = -1;
    io->sig.kind = ITEM_SIGNAL;
    io->sig.fd = -1;
    io->core.kind = ITEM_CORE;
    io->core.fd = -1;
    io->cw = corewatch_new();
    if (!io->cw) {
        rc = -ENOMEM;
        goto fail;
    }

    io->rundir = strdup(cfg->rundir);
    io->sock_path = path_join(cfg->rundir, "socket");
    io->dom_dir = path_join(cfg->rundir, "domains");
    if (!io->rundir || !io->sock_path || !io->dom_dir) {
        rc = -ENOMEM;
        goto fail;
    }
    io->cfg.rundir = io->rundir;
    if (!io->cfg.out_limit)
        io->cfg.out_limit = IO_OUT_LIMIT_DEFAULT;

    rc = make_dirs(io->rundir);
    if (rc)
        goto fail;
    rc = make_dir(io->dom_dir);
    if (rc)
        goto fail;
    raise_fd_limit();

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    io->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    io->engine = engine_new(ecfg, &io_engine_ops, io);
    if (!io->engine) {
        rc = errno ? -errno : -ENOMEM;
        log_msg(LOG_LVL_ERROR, "creating the store: %s", strerror(-rc));
        goto fail;
    }

    if (cfg->restore_fd >= 0) {
        rc = lu_restore(io, cfg->restore_fd);
    } else {
        rc = listen_at(io->sock_path, true, &io->listen.fd);
        /* a snapshot is restored by io_run, once the loop exists */
    }
    if (rc)
        goto fail;
    *io_r = io;
    return 0;

fail:
    io_free(io);
    return rc;
}

void io_free(struct io *io)
{
    struct domsock *ds;
    struct conn *c;

    if (!io)
        return;
    if (io->snap_child) {
        kill(io->snap_child, SIGKILL);
        waitpid(io->snap_child, NULL, 0);
    }
    /* a clean stop: nothing to restore at the next start (a start that
     * failed leaves the file to the daemon that may be running) */
    if (io->cfg.snapshot && io->serving)
        unlink(io->cfg.snapshot);
    while ((c = io->conns))
        conn_close(c, LOG_LVL_DEBUG, "xenstored stopping");
    while ((ds = io->domsocks))
        domsock_close(io, ds);
    finish_turn(io);
    if (io->listen.fd >= 0) {
        close(io->listen.fd);
        unlink(io->sock_path);
    }
    if (io->engine)
        engine_free(io->engine);
    /* Domains the engine forgot while it was freed. */
    finish_turn(io);
    corewatch_free(io->cw);
    free(io->core_pending);
    if (io->sig.fd >= 0)
        close(io->sig.fd);
    if (io->epfd >= 0)
        close(io->epfd);
    if (io->spare_fd >= 0)
        close(io->spare_fd);
    free(io->rundir);
    free(io->sock_path);
    free(io->dom_dir);
    free(io->lu_binary);
    free(io->lu_cmdline);
    free(io);
    outq_pool_drain();
}
