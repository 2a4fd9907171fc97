/*
 * console.c - console ring, log file, pty and socket (see console.h).
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "reply.h"
#include "settings.h"

struct console_client {
    struct loop_fd w;
    struct console *con;
    struct console_client *next;
};

struct console_waiter {
    struct reply_to *to;
    uint32_t seq;
    uint64_t seen;
    struct console_waiter *next;
};

static void waiter_answer(struct console *c, struct console_waiter *w,
                          int done, int32_t rc)
{
    struct xc_console_status st;

    memset(&st, 0, sizeof(st));
    st.produced = c->head;
    st.first_output_ns = c->first_ns;
    st.shutdown = done ? 1 : 0;
    reply_send(w->to, PROTO_OP_CONSOLE_WAIT, w->seq, c->domid, rc,
               rc < 0 ? NULL : &st, rc < 0 ? 0 : sizeof(st), -1);
    reply_drop(w->to);
    free(w);
}

void console_wait(struct console *c, struct reply_to *to, uint32_t seq,
                  uint64_t seen, int done)
{
    struct console_waiter **pp, *w;

    for (pp = &c->waiters; *pp; pp = &(*pp)->next) {
        if ((*pp)->to == to) {
            w = *pp;
            *pp = w->next;
            waiter_answer(c, w, done, 0);
            break;
        }
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        reply_send(to, PROTO_OP_CONSOLE_WAIT, seq, c->domid, -ENOMEM,
                   NULL, 0, -1);
        return;
    }
    reply_hold(to);
    w->to = to;
    w->seq = seq;
    w->seen = seen;
    if (done || c->head > seen) {
        waiter_answer(c, w, done, 0);
        return;
    }
    w->next = c->waiters;
    c->waiters = w;
}

void console_wake_all(struct console *c, int done, int32_t rc)
{
    struct console_waiter *w;

    while ((w = c->waiters)) {
        c->waiters = w->next;
        waiter_answer(c, w, done, rc);
    }
}

/* Answer the waiters that have seen less than there is now. */
static void wake_readers(struct console *c)
{
    struct console_waiter **pp = &c->waiters, *w;

    while ((w = *pp)) {
        if (c->head > w->seen) {
            *pp = w->next;
            waiter_answer(c, w, 0, 0);
        } else {
            pp = &w->next;
        }
    }
}

void console_init(struct console *c, uint32_t domid, console_input_fn *input,
                  void *input_opaque)
{
    memset(c, 0, sizeof(*c));
    c->input = input;
    c->input_opaque = input_opaque;
    c->domid = domid;
    c->pty.fd = -1;
    c->pty_slave = -1;
    c->listen.fd = -1;
    c->log_fd = -1;
}

static void client_drop(struct console_client *cl)
{
    struct console_client **pp;

    for (pp = &cl->con->clients; *pp; pp = &(*pp)->next) {
        if (*pp == cl) {
            *pp = cl->next;
            break;
        }
    }
    loop_close(&cl->w);
    loop_defer_free(cl);
}

void console_dispose(struct console *c)
{
    console_wake_all(c, 1, -ESRCH);
    while (c->clients)
        client_drop(c->clients);
    loop_close(&c->pty);
    if (c->pty_slave >= 0)
        close(c->pty_slave);
    c->pty_slave = -1;
    if (c->listen.fd >= 0)
        unlink(c->sock_path);
    loop_close(&c->listen);
    if (c->log_fd >= 0)
        close(c->log_fd);
    c->log_fd = -1;
    free(c->ring);
    c->ring = NULL;
}

int console_open_log(struct console *c)
{
    snprintf(c->log_path, sizeof(c->log_path), "%s/guest-%u.log",
             config.console_log_dir, c->domid);
    c->log_fd = open(c->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                     0640);
    if (c->log_fd < 0) {
        int rc = -errno;

        dlog(DLOG_ERR, "domain %u: console log %s: %s", c->domid,
             c->log_path, strerror(errno));
        c->log_path[0] = '\0';
        return rc;
    }
    return 0;
}

static void input(struct console *c, int fd)
{
    uint8_t buf[256];
    ssize_t n;

    n = read(fd, buf, sizeof(buf));
    if (n > 0)
        c->input(c->input_opaque, buf, (size_t)n);
}

static void pty_cb(struct loop_fd *w, uint32_t events)
{
    struct console *c = (struct console *)((char *)w -
                                           offsetof(struct console, pty));

    if (events & EPOLLIN)
        input(c, w->fd);
}

static void client_cb(struct loop_fd *w, uint32_t events)
{
    struct console_client *cl = (struct console_client *)w;
    uint8_t buf[256];
    ssize_t n;

    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    n = read(w->fd, buf, sizeof(buf));
    if (n > 0) {
        cl->con->input(cl->con->input_opaque, buf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    client_drop(cl);
}

static void send_all(int fd, const char *buf, size_t len)
{
    ssize_t n;

    while (len) {
        n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0)
            return;                      /* slow reader: drop the rest */
        buf += n;
        len -= (size_t)n;
    }
}

static void listen_cb(struct loop_fd *w, uint32_t events)
{
    struct console *c = (struct console *)((char *)w -
                                           offsetof(struct console,
                                                    listen));
    struct console_client *cl;
    char *backlog;
    size_t n;
    int fd;

    fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    cl = calloc(1, sizeof(*cl));
    backlog = malloc(CONSOLE_RING_SIZE);
    if (!cl || !backlog) {
        free(cl);
        free(backlog);
        close(fd);
        return;
    }
    n = console_read_ring(c, backlog, CONSOLE_RING_SIZE);
    send_all(fd, backlog, n);
    free(backlog);
    cl->con = c;
    cl->w.fd = fd;
    cl->w.cb = client_cb;
    if (loop_add(&cl->w, EPOLLIN) < 0) {
        close(fd);
        free(cl);
        return;
    }
    cl->next = c->clients;
    c->clients = cl;
}

static int open_pty(struct console *c)
{
    struct termios t;
    const char *name;
    int fd, rc;

    fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (grantpt(fd) < 0 || unlockpt(fd) < 0 || !(name = ptsname(fd))) {
        rc = -errno;
        goto fail;
    }
    snprintf(c->pty_path, sizeof(c->pty_path), "%s", name);
    c->pty_slave = open(c->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (c->pty_slave < 0) {
        rc = -errno;
        goto fail;
    }
    /* raw, like a serial line: no echo, no line editing */
    if (tcgetattr(c->pty_slave, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(c->pty_slave, TCSANOW, &t);
    }
    c->pty.fd = fd;
    c->pty.cb = pty_cb;
    rc = loop_add(&c->pty, EPOLLIN);
    if (rc < 0) {
        c->pty.fd = -1;
        goto fail;
    }
    return 0;

fail:
    close(fd);
    if (c->pty_slave >= 0)
        close(c->pty_slave);
    c->pty_slave = -1;
    c->pty_path[0] = '\0';
    return rc;
}

static int open_socket(struct console *c)
{
    struct sockaddr_un sa;
    int fd, rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    rc = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%u.sock",
                  config.console_dir, c->domid);
    if (rc < 0 || (size_t)rc >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(sa.sun_path, 0660) < 0 || listen(fd, 8) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    snprintf(c->sock_path, sizeof(c->sock_path), "%s", sa.sun_path);
    c->listen.fd = fd;
    c->listen.cb = listen_cb;
    rc = loop_add(&c->listen, EPOLLIN);
    if (rc < 0) {
        unlink(c->sock_path);
        close(fd);
        c->listen.fd = -1;
        return rc;
    }
    return 0;
}

int console_open_endpoints(struct console *c)
{
    int rc;

    if (c->pty.fd < 0) {
        rc = open_pty(c);
        if (rc < 0) {
            dlog(DLOG_ERR, "domain %u: console pty: %s", c->domid,
                 strerror(-rc));
            return rc;
        }
    }
    if (c->listen.fd < 0) {
        rc = open_socket(c);
        if (rc < 0) {
            dlog(DLOG_ERR, "domain %u: console socket in %s: %s", c->domid,
                 config.console_dir, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

void console_output(struct console *c, const uint8_t *buf, size_t len)
{
    struct console_client *cl;
    size_t i;

    if (!c->ring) {
        c->ring = malloc(CONSOLE_RING_SIZE);
        if (!c->ring)
            return;
    }
    for (i = 0; i < len; i++)
        c->ring[(c->head + i) % CONSOLE_RING_SIZE] = (char)buf[i];
    c->head += len;
    if (c->log_fd >= 0 && write(c->log_fd, buf, len) < 0) {
        dlog(DLOG_WARN, "domain %u: console log %s: %s", c->domid,
             c->log_path, strerror(errno));
        close(c->log_fd);
        c->log_fd = -1;
    }
    if (c->pty.fd >= 0 && write(c->pty.fd, buf, len) < 0) {
        /* nobody reading the pty: the ring keeps the output */
    }
    for (cl = c->clients; cl; cl = cl->next)
        send_all(cl->w.fd, (const char *)buf, len);
    wake_readers(c);
}

void console_restore(struct console *c, uint64_t head, const uint8_t *buf,
                     size_t len, uint64_t sent)
{
    uint64_t start;
    size_t i, had;

    if (len > head)
        len = (size_t)head;
    start = head - len;
    /* bytes before start: no longer kept anywhere */
    had = sent <= start ? 0 : sent - start < len ? (size_t)(sent - start)
                                                 : len;
    if (!c->ring) {
        c->ring = malloc(CONSOLE_RING_SIZE);
        if (!c->ring)
            return;
    }
    for (i = 0; i < had; i++)
        c->ring[(start + i) % CONSOLE_RING_SIZE] = (char)buf[i];
    c->head = start + had;
    /* the part no daemon had: to the ring, the log and the readers */
    if (had < len)
        console_output(c, buf + had, len - had);
}

int console_take_pty(struct console *c, int master, int slave)
{
    const char *name;
    int rc;

    name = ptsname(master);
    if (!name) {
        rc = -errno;
        goto fail;
    }
    snprintf(c->pty_path, sizeof(c->pty_path), "%s", name);
    fcntl(master, F_SETFL, O_NONBLOCK);
    c->pty_slave = slave;
    c->pty.fd = master;
    c->pty.cb = pty_cb;
    rc = loop_add(&c->pty, EPOLLIN);
    if (rc == 0)
        return 0;
    c->pty.fd = -1;
    c->pty_slave = -1;
fail:
    dlog(DLOG_ERR, "domain %u: the console pty its process kept: %s",
         c->domid, strerror(-rc));
    close(master);
    close(slave);
    return rc;
}

size_t console_read_ring(const struct console *c, char *buf, size_t max)
{
    uint64_t held = c->head < CONSOLE_RING_SIZE ? c->head
                                                : CONSOLE_RING_SIZE;
    uint64_t start;
    size_t i, n;

    if (!c->ring)
        return 0;
    n = held < max ? (size_t)held : max;
    start = c->head - n;
    for (i = 0; i < n; i++)
        buf[i] = c->ring[(start + i) % CONSOLE_RING_SIZE];
    return n;
}
