/*
 * xs_handle.c: the connection to the daemon: opening, sending requests,
 * receiving and dispatching replies and watch events, the reader thread
 * of a xenbus device handle.
 * See struct xs_handle in xs_internal.h for the locking and state rules.
 */
#include "xenstore.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xs_internal.h"

/* Devices through which a guest kernel reaches xenstore, in order. */
static const char *const xenbus_devices[] = {
    "/dev/xen/xenbus",
    "/proc/xen/xenbus",
};

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

/* Connects to the unix socket `path`; returns the fd or -1 with errno. */
static int connect_socket(const char *path)
{
    struct sockaddr_un addr;
    int fd, saved;

    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Opens `path`, a unix socket or a xenbus device; sets *is_socket. */
static int open_endpoint(const char *path, bool *is_socket)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -1;
    *is_socket = S_ISSOCK(st.st_mode);
    if (*is_socket)
        return connect_socket(path);
    return open(path, O_RDWR | O_CLOEXEC);
}

static struct xs_handle *handle_alloc(void)
{
    struct xs_handle *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->fd = -1;
    h->stop_pipe[0] = h->stop_pipe[1] = -1;
    h->watch_pipe[0] = h->watch_pipe[1] = -1;
    h->epoll_fd = -1;
    h->watch_tail = &h->watch_head;
    h->next_req_id = 1;
    pthread_mutex_init(&h->send_lock, NULL);
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->big_dir_lock, NULL);
    pthread_cond_init(&h->reply_cond, NULL);
    pthread_cond_init(&h->watch_cond, NULL);
    return h;
}

void xs__msg_free(struct xs__msg *msg)
{
    if (!msg)
        return;
    free(msg->body);
    free(msg);
}

/* Frees the handle's memory and descriptors (no thread may use it). */
static void handle_free(struct xs_handle *h, bool destroy_locks)
{
    struct xs__msg *m, *next;
    int saved = errno;

    for (m = h->watch_head; m; m = next) {
        next = m->next;
        xs__msg_free(m);
    }
    if (h->fd >= 0)
        close(h->fd);
    if (h->stop_pipe[0] >= 0) {
        close(h->stop_pipe[0]);
        close(h->stop_pipe[1]);
    }
    if (h->watch_pipe[0] >= 0) {
        close(h->watch_pipe[0]);
        close(h->watch_pipe[1]);
    }
    if (h->epoll_fd >= 0)
        close(h->epoll_fd);
    xs__reconnect_free(h);
    free(h->big_dir);
    if (destroy_locks) {
        pthread_mutex_destroy(&h->send_lock);
        pthread_mutex_destroy(&h->lock);
        pthread_mutex_destroy(&h->big_dir_lock);
        pthread_cond_destroy(&h->reply_cond);
        pthread_cond_destroy(&h->watch_cond);
    }
    free(h);
    errno = saved;
}

XS_API struct xs_handle *xs_open(unsigned long flags)
{
    struct xs_handle *h;
    const char *path, *env;
    int saved;
    size_t i;

    h = handle_alloc();
    if (!h)
        return NULL;

    path = xs_daemon_socket();
    if (!path)
        goto fail;
    env = getenv("XENSTORED_PATH");
    h->fd = open_endpoint(path, &h->is_socket);
    if (h->fd < 0 && !(env && *env)) {
        /* Keep the socket's error unless a xenbus device exists. */
        saved = errno;
        for (i = 0; h->fd < 0 && i < 2; i++)
            if (access(xenbus_devices[i], F_OK) == 0)
                h->fd = open_endpoint(xenbus_devices[i], &h->is_socket);
        if (h->fd < 0)
            errno = saved;
    }
    if (h->fd < 0)
        goto fail;
    if (set_nonblock(h->fd) < 0)
        goto fail;
    if (pipe2(h->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        goto fail;

    h->unwatch_filter = (flags & XS_UNWATCH_FILTER) != 0;
    /* Only a daemon's socket can be connected to again. */
    if (h->is_socket)
        h->reconnect_ms = xs__reconnect_window(flags);
    if (h->reconnect_ms) {
        h->path = strdup(path);
        if (!h->path)
            goto fail;
    }
    return h;

fail:
    handle_free(h, true);
    return NULL;
}

XS_API struct xs_handle *xs_daemon_open(void)
{
    return xs_open(0);
}

XS_API struct xs_handle *xs_domain_open(void)
{
    return xs_open(0);
}

XS_API struct xs_handle *xs_daemon_open_readonly(void)
{
    return xs_open(0);
}

XS_API void xs_close(struct xs_handle *h)
{
    char c = 0;
    bool joined;

    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    joined = h->thread_started;
    pthread_cond_broadcast(&h->reply_cond);
    pthread_mutex_unlock(&h->lock);
    if (joined) {
        /* The reader polls stop_pipe as well as the connection. */
        while (write(h->stop_pipe[1], &c, 1) < 0 && errno == EINTR)
            continue;
        pthread_join(h->thread, NULL);
    }
    handle_free(h, true);
}

XS_API void xs_daemon_close(struct xs_handle *h)
{
    xs_close(h);
}

XS_API void xs_daemon_destroy_postfork(struct xs_handle *h)
{
    /*
     * In the child the reader thread does not exist and the locks may
     * have been copied while held: release memory and descriptors only.
     */
    if (h)
        handle_free(h, false);
}

/* ------------------------------------------------------------ sending */

/* Waits until fd is ready for `events`; 0 or -errno. */
static int wait_fd(int fd, short events)
{
    struct pollfd p = { .fd = fd, .events = events };

    for (;;) {
        int n = poll(&p, 1, -1);

        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/*
 * Writes the whole iovec (modified in place).  Called with send_lock held.
 * Returns 0 or -errno.
 */
static int send_all(struct xs_handle *h, struct iovec *iov, int niov)
{
    while (niov > 0) {
        ssize_t n;

        if (h->is_socket) {
            struct msghdr mh = { .msg_iov = iov, .msg_iovlen = niov };

            n = sendmsg(h->fd, &mh, MSG_NOSIGNAL);
        } else {
            n = writev(h->fd, iov, niov);
        }
        if (n < 0) {
            int rc = -errno;

            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return rc;
            rc = wait_fd(h->fd, POLLOUT);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n == 0)
            return -EIO;
        while (niov > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            niov--;
        }
        if (niov > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- receiving */

/*
 * Marks the connection broken: every waiter and later call fails with
 * `err`.  Called with `lock` held.
 */
static void mark_dead(struct xs_handle *h, int err)
{
    if (!h->dead_errno)
        h->dead_errno = err;
    pthread_cond_broadcast(&h->reply_cond);
    pthread_cond_broadcast(&h->watch_cond);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll()'s timeout until `deadline` (ms on now_ms()'s clock; 0: none). */
static int poll_timeout(long long deadline)
{
    long long left;

    if (!deadline)
        return -1;
    left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Reads one whole message into a new xs__msg.  Only the thread holding the
 * receive role calls this.  Returns 0 or -errno: -EBADF when the daemon
 * closed the connection, -E2BIG for an oversized message, -ECANCELED when
 * xs_close() asked the reader to stop, -ETIMEDOUT past h->recv_deadline;
 * -EAGAIN when `nonblock` and no whole message is there yet (what came of
 * it stays in rbuf).
 */
static int recv_msg(struct xs_handle *h, struct xs__msg **msg_r,
                    bool nonblock)
{
    struct xsd_sockmsg hdr;
    struct xs__msg *msg;
    size_t total;

    for (;;) {
        ssize_t n;

        if (h->rlen >= sizeof(hdr)) {
            memcpy(&hdr, h->rbuf, sizeof(hdr));
            if (hdr.len > XENSTORE_PAYLOAD_MAX)
                return -E2BIG;
            total = sizeof(hdr) + hdr.len;
            if (h->rlen >= total)
                break;
        }
        n = read(h->fd, h->rbuf + h->rlen, sizeof(h->rbuf) - h->rlen);
        if (n > 0) {
            h->rlen += (size_t)n;
            continue;
        }
        if (n == 0)
            return -EBADF;
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && nonblock)
            return -EAGAIN;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd p[2] = {
                { .fd = h->fd, .events = POLLIN },
                { .fd = h->stop_pipe[0], .events = POLLIN },
            };

            int r = poll(p, 2, poll_timeout(h->recv_deadline));

            if (r < 0 && errno != EINTR)
                return -errno;
            if (r == 0)
                return -ETIMEDOUT;
            if (p[1].revents)
                return -ECANCELED;
            continue;
        }
        return -errno;
    }

    msg = malloc(sizeof(*msg));
    if (!msg)
        return -ENOMEM;
    msg->next = NULL;
    msg->hdr = hdr;
    msg->body = malloc(hdr.len + 1);
    if (!msg->body) {
        free(msg);
        return -ENOMEM;
    }
    memcpy(msg->body, h->rbuf + sizeof(hdr), hdr.len);
    msg->body[hdr.len] = '\0';
    h->rlen -= total;
    memmove(h->rbuf, h->rbuf + total, h->rlen);
    *msg_r = msg;
    return 0;
}

/*
 * Makes the watch pipe readable (once: `kicked` says it holds its byte).
 * Called with `lock` held.
 */
static void watch_pipe_kick(struct xs_handle *h)
{
    char c = 0;

    if (h->watch_pipe[1] < 0 || h->kicked)
        return;
    while (write(h->watch_pipe[1], &c, 1) < 0 && errno == EINTR)
        continue;
    h->kicked = true;
}

/* Empties the watch pipe.  Called with `lock` held. */
static void watch_pipe_drain(struct xs_handle *h)
{
    char c;

    if (h->watch_pipe[0] < 0 || !h->kicked)
        return;
    while (read(h->watch_pipe[0], &c, 1) < 0 && errno == EINTR)
        continue;
    h->kicked = false;
}

/*
 * Keeps the handle's watch list in step with a successful WATCH or
 * UNWATCH reply (XS_RECONNECT only: w->watch is NULL otherwise).  Done as
 * the reply is read, so that a reconnection that follows finds the list
 * true.  Called with `lock` held.
 */
static void note_reply(struct xs_handle *h, struct xs__waiter *w,
                       const struct xs__msg *msg)
{
    if (!w->watch || msg->hdr.type != w->type)
        return;
    if (w->type == XS_WATCH) {
        xs__watch_add(h, w->watch);
        w->watch = NULL;
    } else if (w->type == XS_UNWATCH) {
        xs__watch_remove(h, w->watch);
    }
}

/*
 * Hands a received message to its consumer.  Called with `lock` held.
 * Returns 0, or -errno when the message breaks the protocol.
 */
static int dispatch(struct xs_handle *h, struct xs__msg *msg)
{
    struct xs__waiter *w;

    if (msg->hdr.type == XS_WATCH_EVENT) {
        /* An event needs at least path and token. */
        if (xs__count_strings(msg->body, msg->hdr.len) < 2) {
            xs__msg_free(msg);
            return 0;
        }
        /* A thread taking events that reads them in itself settles the
         * pipe once it took one (xs__take_event()). */
        if (!h->taker_reading)
            watch_pipe_kick(h);
        *h->watch_tail = msg;
        h->watch_tail = &msg->next;
        pthread_cond_broadcast(&h->watch_cond);
        return 0;
    }
    for (w = h->waiters; w; w = w->next) {
        if (w->req_id == msg->hdr.req_id && !w->reply) {
            w->reply = msg;
            note_reply(h, w, msg);
            pthread_cond_broadcast(&h->reply_cond);
            return 0;
        }
    }
    /* A reply nobody asked for: the stream cannot be trusted any more. */
    xs__msg_free(msg);
    return -EBADF;
}

/* Errors that say the daemon's end of the connection is gone. */
static bool is_loss(int err)
{
    return err == EPIPE || err == ECONNRESET || err == ENOTCONN;
}

/*
 * Receives and dispatches one message; takes `lock` for the dispatch.
 * Returns 0 or -errno.  When the daemon went away and the handle has
 * XS_RECONNECT, *lost_r is set and the handle is reconnecting instead of
 * dead: the caller, holding the receive role, must call reconnect().
 * With `nonblock`, -EAGAIN when no whole message has come yet.
 */
static int pump_one(struct xs_handle *h, bool *lost_r, bool nonblock)
{
    struct xs__msg *msg = NULL;
    int rc;

    *lost_r = false;
    rc = recv_msg(h, &msg, nonblock);
    if (rc == -EAGAIN)
        return rc;
    pthread_mutex_lock(&h->lock);
    if (!rc)
        rc = dispatch(h, msg);
    else if (h->reconnect_ms
             && (rc == -EBADF || rc == -ETIMEDOUT || is_loss(-rc)))
        *lost_r = true; /* -EBADF from recv_msg() is the end of stream */
    if (*lost_r)
        h->reconnecting = true; /* no new request goes out from now on */
    else if (rc && rc != -ECANCELED)
        mark_dead(h, -rc);
    if (!rc && h->stopping)
        rc = -ECANCELED; /* xs_close() waits for the reader */
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* Unlinks waiter `w`.  Called with `lock` held. */
static void waiter_remove(struct xs_handle *h, struct xs__waiter *w)
{
    struct xs__waiter **pp;

    for (pp = &h->waiters; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            return;
        }
    }
}

/* --------------------------------------------------------- reconnecting */

/* Pause between two connection attempts. */
#define RETRY_MS 25

/*
 * Ends the broken connection: each request still unanswered learns its
 * fate (xs__lost_fate()) and the descriptor is closed.  send_lock makes
 * sure that no thread is still writing to it.
 */
static void drop_connection(struct xs_handle *h)
{
    struct xs__waiter *w;

    pthread_mutex_lock(&h->send_lock);
    pthread_mutex_lock(&h->lock);
    for (w = h->waiters; w; w = w->next)
        if (!w->reply && !w->fate)
            w->fate = xs__lost_fate(w);
    pthread_cond_broadcast(&h->reply_cond);
    if (h->fd >= 0) {
        if (h->epoll_fd >= 0)
            epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, h->fd, NULL);
        close(h->fd);
    }
    h->fd = -1;
    h->rlen = 0;
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&h->send_lock);
}

/*
 * Connects to h->path every RETRY_MS until `deadline`.  Returns the new
 * descriptor, or -errno: the last attempt's error (ECONNREFUSED, ENOENT:
 * no daemon listens there), or ECANCELED when xs_close() stops the reader.
 */
static int connect_again(struct xs_handle *h, long long deadline)
{
    struct pollfd p = { .fd = h->stop_pipe[0], .events = POLLIN };
    long long left;
    int fd, err;

    for (;;) {
        fd = connect_socket(h->path);
        if (fd >= 0 && set_nonblock(fd) == 0)
            return fd;
        err = errno;
        if (fd >= 0) {
            close(fd);
            return -err;
        }
        left = deadline - now_ms();
        if (left <= 0)
            return -err;
        if (poll(&p, 1, left < RETRY_MS ? (int)left : RETRY_MS) > 0)
            return -ECANCELED;
    }
}

/*
 * Makes fd the handle's connection, of a new generation.  0, or -errno
 * when it cannot join xs_fileno()'s epoll set (fd is then closed).
 */
static int install_connection(struct xs_handle *h, int fd)
{
    int rc = 0;

    pthread_mutex_lock(&h->send_lock);
    pthread_mutex_lock(&h->lock);
    if (h->epoll_fd >= 0) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

        /* Outside the set, the caller's poll would miss the daemon. */
        if (epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            rc = -errno;
            close(fd);
        }
    }
    if (!rc) {
        h->fd = fd;
        h->gen++;
    }
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&h->send_lock);
    return rc;
}

/*
 * The reconnector's own request on the new connection, payload a (and b
 * if not NULL) with their NULs; it reads the answer itself as the holder
 * of the receive role, no other thread sending meanwhile.  Returns 0
 * with the reply (of type `type` or XS_ERROR) in *reply_r, or -errno
 * (*lost_r when the connection broke again or did not answer in time).
 */
static int own_request(struct xs_handle *h, enum xsd_sockmsg_type type,
                       const char *a, const char *b,
                       struct xs__msg **reply_r, bool *lost_r)
{
    size_t alen = strlen(a) + 1, blen = b ? strlen(b) + 1 : 0;
    struct xsd_sockmsg hdr = { .type = type };
    struct xs__waiter w = { .type = type };
    struct iovec iov[3] = {
        { &hdr, sizeof(hdr) },
        { (void *)a, alen },
        { (void *)b, blen },
    };
    int rc;

    *lost_r = false;
    hdr.len = (uint32_t)(alen + blen);
    pthread_mutex_lock(&h->send_lock);
    pthread_mutex_lock(&h->lock);
    hdr.req_id = w.req_id = h->next_req_id++;
    w.gen = h->gen;
    w.next = h->waiters;
    h->waiters = &w;
    pthread_mutex_unlock(&h->lock);
    rc = send_all(h, iov, b ? 3 : 2);
    pthread_mutex_unlock(&h->send_lock);
    /* A send that met the break: reading will report it. */
    if (is_loss(-rc))
        rc = 0;
    while (!rc && !w.reply)
        rc = pump_one(h, lost_r, false);

    pthread_mutex_lock(&h->lock);
    waiter_remove(h, &w);
    if (!rc && w.reply->hdr.type != XS_ERROR && w.reply->hdr.type != type) {
        mark_dead(h, EBADF);
        rc = -EBADF;
    }
    pthread_mutex_unlock(&h->lock);
    if (rc) {
        xs__msg_free(w.reply);
        return rc;
    }
    *reply_r = w.reply;
    return 0;
}

/*
 * Whether a daemon serves the new connection: any answer will do.  A
 * connect() can succeed on the listening socket of the daemon that just
 * died, which lives on for a moment after its process, and is reset.
 */
static int probe(struct xs_handle *h, bool *lost_r)
{
    struct xs__msg *reply = NULL;
    int rc = own_request(h, XS_GET_DOMAIN_PATH, "0", NULL, &reply, lost_r);

    xs__msg_free(reply);
    return rc;
}

/*
 * Registers watch x on the new connection.  The daemon fires the watch
 * once as it registers it; that event is queued like any other.  Returns
 * 0, 1 when the daemon refused the watch, or -errno (*lost_r as above).
 */
static int rewatch_one(struct xs_handle *h, const struct xs__watch *x,
                       bool *lost_r)
{
    struct xs__msg *reply = NULL;
    int rc = own_request(h, XS_WATCH, x->path, x->token, &reply, lost_r);

    if (!rc && reply->hdr.type == XS_ERROR)
        rc = 1;
    xs__msg_free(reply);
    return rc;
}

/*
 * Registers every watch of the handle on the new connection.  A watch
 * the new daemon refuses is forgotten.  0 or -errno (*lost_r as above).
 * The list stays put meanwhile: only replies to WATCH and UNWATCH change
 * it, and none but ours can come while the handle is reconnecting.
 */
static int rewatch_all(struct xs_handle *h, bool *lost_r)
{
    struct xs__watch **pp, *x;
    int rc = 0;

    *lost_r = false;
    pthread_mutex_lock(&h->lock);
    pp = &h->watches;
    while ((x = *pp) != NULL) {
        pthread_mutex_unlock(&h->lock);
        rc = rewatch_one(h, x, lost_r);
        pthread_mutex_lock(&h->lock);
        if (rc < 0)
            break;
        if (rc > 0) {
            *pp = x->next;
            xs__watch_free(x);
            rc = 0;
        } else {
            pp = &x->next;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/*
 * Brings back a connection that pump_one() found lost with `err`: called
 * by the thread that holds the receive role.  Connects again within the
 * window, over and over should the new daemon go away too; a connection
 * counts once the daemon answered on it.  Returns 0 (open again), or
 * -errno with the handle dead: the last connection attempt's error
 * (ETIMEDOUT: connected, no answer), or `err` when xs_close() interrupted.
 */
static int reconnect(struct xs_handle *h, int err)
{
    long long deadline = now_ms() + h->reconnect_ms;
    bool lost = true;
    int rc = 0, fd;

    h->recv_deadline = deadline; /* ours: we hold the receive role */
    while (lost) {
        drop_connection(h);
        fd = connect_again(h, deadline);
        if (fd < 0) {
            rc = fd;
            break;
        }
        rc = install_connection(h, fd);
        if (rc)
            break;
        rc = probe(h, &lost);
        if (!rc)
            rc = rewatch_all(h, &lost);
        if (rc && lost && now_ms() >= deadline)
            break; /* connected, but nobody answered in time */
    }
    h->recv_deadline = 0;
    pthread_mutex_lock(&h->lock);
    if (rc)
        mark_dead(h, rc == -ECANCELED ? err : -rc);
    h->reconnecting = false;
    pthread_cond_broadcast(&h->reply_cond);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* ------------------------------------------------------- the reader */

static void *reader_main(void *arg)
{
    struct xs_handle *h = arg;
    bool lost;
    int rc;

    pthread_mutex_lock(&h->lock);
    while (h->reading && !h->stopping && !h->dead_errno)
        pthread_cond_wait(&h->reply_cond, &h->lock);
    if (h->stopping || h->dead_errno) {
        pthread_mutex_unlock(&h->lock);
        return NULL;
    }
    h->reading = true; /* for good */
    pthread_mutex_unlock(&h->lock);

    for (;;) {
        rc = pump_one(h, &lost, false);
        if (rc && (!lost || reconnect(h, -rc) < 0))
            break;
    }
    return NULL;
}

bool xs__start_reader(struct xs_handle *h)
{
    sigset_t all, old;
    int rc;

    pthread_mutex_lock(&h->lock);
    if (h->thread_started) {
        pthread_mutex_unlock(&h->lock);
        return true;
    }
    /* The reader must not take signals meant for the application. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&h->thread, NULL, reader_main, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        h->thread_started = true;
    pthread_mutex_unlock(&h->lock);
    if (rc) {
        errno = rc;
        return false;
    }
    return true;
}

/* Whether rbuf holds a whole message (or a header no message can match). */
static bool whole_msg_buffered(const struct xs_handle *h)
{
    struct xsd_sockmsg hdr;

    if (h->rlen < sizeof(hdr))
        return false;
    memcpy(&hdr, h->rbuf, sizeof(hdr));
    return hdr.len > XENSTORE_PAYLOAD_MAX
        || h->rlen >= sizeof(hdr) + hdr.len;
}

/*
 * Gives up the receive role.  What the last read() brought beyond the
 * message wanted is dispatched first: with the connection drained, no
 * descriptor would become readable for it.  Called without `lock`;
 * returns with it held.
 */
static void release_role(struct xs_handle *h)
{
    bool lost;

    while (whole_msg_buffered(h))
        if (pump_one(h, &lost, true))
            break;
    pthread_mutex_lock(&h->lock);
    h->reading = false;
    /* Let a waiter, or a thread taking events, read next. */
    pthread_cond_broadcast(&h->reply_cond);
    pthread_cond_broadcast(&h->watch_cond);
}

/*
 * Waits for w's reply, reading from the connection ourselves while nobody
 * else does.  Called with `lock` held; returns with it held.  0 (reply
 * in), XS__RESEND, or -errno.
 */
static int wait_reply(struct xs_handle *h, struct xs__waiter *w)
{
    bool lost;
    int rc;

    while (!w->reply && !w->fate && !h->dead_errno) {
        if (!h->reading) {
            h->reading = true;
            pthread_mutex_unlock(&h->lock);
            rc = pump_one(h, &lost, false);
            if (lost)
                reconnect(h, -rc);
            release_role(h);
            continue;
        }
        pthread_cond_wait(&h->reply_cond, &h->lock);
    }
    if (w->reply)
        return 0;
    return w->fate ? w->fate : -h->dead_errno;
}

/* ------------------------------------------------------------ requests */

/*
 * Takes send_lock and `lock` once the handle is not reconnecting.
 * 0 with both held, or -errno (the handle is dead) with neither.
 */
static int lock_for_send(struct xs_handle *h)
{
    int rc;

    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (h->reconnecting && !h->dead_errno)
            pthread_cond_wait(&h->reply_cond, &h->lock);
        pthread_mutex_unlock(&h->lock);

        pthread_mutex_lock(&h->send_lock);
        pthread_mutex_lock(&h->lock);
        if (h->dead_errno) {
            rc = -h->dead_errno;
            break;
        }
        if (!h->reconnecting)
            return 0;
        pthread_mutex_unlock(&h->lock);
        pthread_mutex_unlock(&h->send_lock);
    }
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&h->send_lock);
    return rc;
}

/*
 * Registers w and sends its request (out[0] is the header, hdr) on the
 * current connection, the caller's transaction id translated under
 * XS_RECONNECT.  Returns 0 once w waits for its reply: sent, or not sent
 * because the connection is lost (w->unsent; the reader will notice).
 * Returns -errno with w not registered.
 */
static int send_request(struct xs_handle *h, struct xs__waiter *w,
                        struct xsd_sockmsg *hdr, struct iovec *out,
                        int nout)
{
    int rc;

    rc = lock_for_send(h);
    if (rc)
        return rc;
    hdr->tx_id = w->tx;
    if (h->reconnect_ms && w->tx != XBT_NULL) {
        rc = xs__tx_lookup(h, w->tx, &hdr->tx_id);
        if (rc)
            goto out;
    }
    hdr->req_id = w->req_id = h->next_req_id++;
    w->gen = h->gen;
    w->next = h->waiters;
    h->waiters = w;
    pthread_mutex_unlock(&h->lock);

    rc = send_all(h, out, nout);

    /* Still under send_lock: the reconnector cannot judge w before. */
    pthread_mutex_lock(&h->lock);
    if (rc && h->reconnect_ms && is_loss(-rc)) {
        w->unsent = true; /* a whole message never reached the daemon */
        rc = 0;
    } else if (rc) {
        mark_dead(h, -rc); /* part of a message may have gone out */
        waiter_remove(h, w);
    }
out:
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&h->send_lock);
    return rc;
}

/*
 * Under XS_RECONNECT the caller sees transaction ids of the handle's own,
 * not the daemon's: a new daemon numbers its transactions from 1 again
 * and must not meet the ids of those lost with the old one.  Rewrites
 * the TRANSACTION_START reply accordingly.  0 or -ENOMEM.
 */
static int tx_start_reply(struct xs_handle *h, const struct xs__waiter *w,
                          struct xs__msg *reply)
{
    xs_transaction_t daemon_id, id;
    char buf[MAX_STRLEN(xs_transaction_t)], *body;
    int rc;

    daemon_id = (xs_transaction_t)strtoul(reply->body, NULL, 0);
    pthread_mutex_lock(&h->lock);
    rc = xs__tx_begin(h, daemon_id, w->gen, &id);
    pthread_mutex_unlock(&h->lock);
    if (rc)
        return rc;
    snprintf(buf, sizeof(buf), "%u", (unsigned int)id);
    body = strdup(buf);
    if (!body) {
        pthread_mutex_lock(&h->lock);
        xs__tx_forget(h, id);
        pthread_mutex_unlock(&h->lock);
        return -ENOMEM;
    }
    free(reply->body);
    reply->body = body;
    reply->hdr.len = (uint32_t)strlen(body);
    return 0;
}

/*
 * Sends w's request, again if the connection broke and its fate says so,
 * and waits for the reply.  0 with the reply in w->reply, or -errno.
 */
static int exchange(struct xs_handle *h, struct xs__waiter *w,
                    struct xsd_sockmsg *hdr, const struct iovec *iov,
                    unsigned int niov, struct iovec *out)
{
    int rc;

    for (;;) {
        /* send_all() consumes the iovec: build it for each sending. */
        out[0].iov_base = hdr;
        out[0].iov_len = sizeof(*hdr);
        memcpy(out + 1, iov, niov * sizeof(*iov));
        rc = send_request(h, w, hdr, out, (int)niov + 1);
        if (rc)
            return rc;

        pthread_mutex_lock(&h->lock);
        rc = wait_reply(h, w);
        waiter_remove(h, w);
        if (!rc && w->reply->hdr.type != XS_ERROR
            && w->reply->hdr.type != hdr->type) {
            /* A reply of the wrong kind: the stream is out of step. */
            mark_dead(h, EBADF);
            rc = -EBADF;
        }
        pthread_mutex_unlock(&h->lock);
        if (rc != XS__RESEND)
            return rc;
        if (!w->unsent)
            w->resent = true;
        w->unsent = false;
        w->fate = 0;
    }
}

void *xs__talkv(struct xs_handle *h, xs_transaction_t t,
                enum xsd_sockmsg_type type, const struct iovec *iov,
                unsigned int niov, unsigned int *len_r)
{
    struct xsd_sockmsg hdr = { .type = type };
    struct iovec small[8], *out = small;
    struct xs__waiter w = { .type = type, .tx = t };
    struct xs__msg *reply = NULL;
    char *body = NULL;
    size_t total = 0;
    unsigned int i;
    int rc, cancel_state;

    for (i = 0; i < niov; i++) {
        total += iov[i].iov_len;
        if (total > XENSTORE_PAYLOAD_MAX) {
            errno = E2BIG;
            return NULL;
        }
    }
    hdr.len = (uint32_t)total;
    if (niov + 1 > sizeof(small) / sizeof(small[0])) {
        out = malloc((niov + 1) * sizeof(*out));
        if (!out)
            return NULL;
    }

    /*
     * A request is not cancellable: a thread cancelled half way would
     * leave a partial message or a dangling waiter behind.  A pending
     * cancel acts once the reply is in.
     */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);

    /* The watch list follows WATCH and UNWATCH (see note_reply()). */
    if (h->reconnect_ms && (type == XS_WATCH || type == XS_UNWATCH)) {
        w.watch = xs__watch_new(iov, niov);
        if (!w.watch) {
            rc = -ENOMEM;
            goto out;
        }
    }
    rc = exchange(h, &w, &hdr, iov, niov, out);
    reply = w.reply;
    if (!rc && h->reconnect_ms && reply->hdr.type == XS_TRANSACTION_START)
        rc = tx_start_reply(h, &w, reply);
    if (rc)
        goto out;

    if (reply->hdr.type == XS_ERROR) {
        rc = -xs__errno_from_string(reply->body);
        goto out;
    }
    body = reply->body;
    reply->body = NULL;
    if (len_r)
        *len_r = reply->hdr.len;

out:
    if (h->reconnect_ms && type == XS_TRANSACTION_END) {
        /* Committed, aborted, refused or lost: the id is done with. */
        pthread_mutex_lock(&h->lock);
        xs__tx_forget(h, t);
        pthread_mutex_unlock(&h->lock);
    }
    xs__watch_free(w.watch);
    xs__msg_free(reply);
    if (out != small)
        free(out);
    pthread_setcancelstate(cancel_state, NULL);
    if (rc)
        errno = -rc;
    return body;
}

/* ------------------------------------------------------------ watches */

/*
 * The epoll set behind xs_fileno() of a socket handle: the watch pipe
 * (events queued) and the connection (something came that nobody read).
 * -1 when it cannot be made; the caller falls back to the reader thread.
 * Called with `lock` held and the watch pipe made.
 */
static int make_epoll_set(struct xs_handle *h)
{
    struct epoll_event ev = { .events = EPOLLIN };
    int fd = epoll_create1(EPOLL_CLOEXEC);

    if (fd < 0)
        return -1;
    ev.data.fd = h->watch_pipe[0];
    if (epoll_ctl(fd, EPOLL_CTL_ADD, h->watch_pipe[0], &ev) < 0)
        goto fail;
    if (h->fd >= 0) {
        ev.data.fd = h->fd;
        if (epoll_ctl(fd, EPOLL_CTL_ADD, h->fd, &ev) < 0)
            goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}

/*
 * A socket handle has no reader thread: the descriptor returned is an
 * epoll set that turns readable when the daemon sends, and whoever then
 * takes an event reads it in (one wake-up per event, not two).  A xenbus
 * device handle, or one whose set could not be made, returns the watch
 * pipe that its reader thread fills.
 */
XS_API int xs_fileno(struct xs_handle *h)
{
    bool need_reader = false;
    int fd;

    pthread_mutex_lock(&h->lock);
    if (h->watch_pipe[0] < 0) {
        if (pipe2(h->watch_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
            h->watch_pipe[0] = h->watch_pipe[1] = -1;
        } else if (h->watch_head) {
            watch_pipe_kick(h);
        }
    }
    if (h->watch_pipe[0] >= 0 && h->is_socket && !h->thread_started
        && h->epoll_fd < 0 && !h->epoll_failed) {
        h->epoll_fd = make_epoll_set(h);
        h->epoll_failed = h->epoll_fd < 0;
    }
    fd = h->epoll_fd >= 0 ? h->epoll_fd : h->watch_pipe[0];
    need_reader = fd >= 0 && h->epoll_fd < 0 && h->watches_set;
    pthread_mutex_unlock(&h->lock);
    if (need_reader && !xs__start_reader(h))
        return -1;
    return fd;
}

static void unlock_cleanup(void *mutex)
{
    pthread_mutex_unlock(mutex);
}

bool xs__watch_prepare(struct xs_handle *h)
{
    bool reader;

    pthread_mutex_lock(&h->lock);
    h->watches_set = true;
    /* A xenbus device has no epoll set (see xs_fileno()). */
    reader = !h->is_socket || h->epoll_failed;
    pthread_mutex_unlock(&h->lock);
    return !reader || xs__start_reader(h);
}

/*
 * Reads what the connection has now, as the holder of the receive role,
 * until an event is queued or no whole message is left.  Not cancellable
 * (a thread cancelled here would leave the role taken): it never blocks
 * but to reconnect.  Called without `lock`; returns with it held and the
 * role given up.  0 or -errno (-EAGAIN: nothing whole had come).
 */
static int read_for_events(struct xs_handle *h)
{
    bool lost, queued;
    int rc, cancel_state;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    pthread_mutex_lock(&h->lock);
    h->taker_reading = true;
    pthread_mutex_unlock(&h->lock);
    do {
        rc = pump_one(h, &lost, true);
        if (lost)
            rc = reconnect(h, -rc);
        pthread_mutex_lock(&h->lock);
        queued = h->watch_head != NULL;
        pthread_mutex_unlock(&h->lock);
    } while (!rc && !queued);
    release_role(h);
    h->taker_reading = false;
    pthread_setcancelstate(cancel_state, NULL);
    return rc;
}

/* A cancel while wait_for_input() polls: nothing is held to release. */
static void no_cleanup(void *arg)
{
    (void)arg;
}

/*
 * Waits, without `lock` and cancellably, until the connection or the
 * watch pipe (events another thread queued) has something, or xs_close()
 * stops the handle.  Called with `lock` held; returns with it held.
 *
 * The poll sits in a cleanup region although nothing needs releasing: a
 * cancel then ends in glibc's longjmp to it, which AddressSanitizer sees,
 * and it clears the stack the unwound frames leave; unwound without one,
 * their stale redzones trip ASan when the thread exits.
 */
static void wait_for_input(struct xs_handle *h)
{
    struct pollfd p[3] = {
        { .fd = h->fd, .events = POLLIN },
        { .fd = -1, .events = POLLIN },
        { .fd = h->stop_pipe[0], .events = POLLIN },
    };

    if (h->watch_pipe[0] < 0 &&
        pipe2(h->watch_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        h->watch_pipe[0] = h->watch_pipe[1] = -1;
    /* without the pipe, events queued by others wake us by watch_cond
     * only: the poll then gives up after a while to look */
    p[1].fd = h->watch_pipe[0];
    pthread_mutex_unlock(&h->lock);
    pthread_cleanup_push(no_cleanup, NULL);
    while (poll(p, 3, p[1].fd < 0 ? 100 : -1) < 0 && errno == EINTR)
        continue;
    pthread_cleanup_pop(0);
    pthread_mutex_lock(&h->lock);
}

/* Waits for another thread's reading to queue an event or give up the
 * receive role.  `lock` held.  A thread blocked here may be cancelled:
 * the lock is left free then. */
static void wait_for_event(struct xs_handle *h)
{
    pthread_cleanup_push(unlock_cleanup, &h->lock);
    pthread_cond_wait(&h->watch_cond, &h->lock);
    pthread_cleanup_pop(0);
}

/* Takes the first queued event off the queue.  `lock` held. */
static struct xs__msg *dequeue(struct xs_handle *h)
{
    struct xs__msg *msg = h->watch_head;

    h->watch_head = msg->next;
    if (!h->watch_head) {
        h->watch_tail = &h->watch_head;
        watch_pipe_drain(h);
    } else {
        watch_pipe_kick(h); /* more queued: stay readable */
    }
    msg->next = NULL;
    return msg;
}

struct xs__msg *xs__take_event(struct xs_handle *h, bool block)
{
    struct xs__msg *msg = NULL;
    int err = 0, rc;

    pthread_mutex_lock(&h->lock);
    while (!h->watch_head && !err) {
        if (h->dead_errno) {
            err = h->dead_errno;
        } else if (!h->reading && !h->thread_started) {
            /* Nobody reads: what came is ours to read. */
            h->reading = true;
            pthread_mutex_unlock(&h->lock);
            rc = read_for_events(h);
            if (h->watch_head || h->dead_errno)
                continue;
            if (rc && rc != -EAGAIN)
                err = -rc;
            else if (!block)
                err = EAGAIN;
            else
                wait_for_input(h);
        } else if (!block) {
            err = EAGAIN; /* the reader queues it and wakes the poller */
        } else {
            wait_for_event(h);
        }
    }
    if (h->watch_head)
        msg = dequeue(h);
    pthread_mutex_unlock(&h->lock);
    if (!msg)
        errno = err;
    return msg;
}

void xs__filter_events(struct xs_handle *h, const char *path,
                       const char *token)
{
    struct xs__msg **pp, *m;

    pthread_mutex_lock(&h->lock);
    pp = &h->watch_head;
    while ((m = *pp) != NULL) {
        const char *epath = m->body;
        const char *etoken = epath + strlen(epath) + 1;

        if (strcmp(etoken, token) == 0 && xs_path_is_subpath(path, epath)) {
            *pp = m->next;
            xs__msg_free(m);
            continue;
        }
        pp = &m->next;
    }
    h->watch_tail = pp;
    if (!h->watch_head)
        watch_pipe_drain(h);
    pthread_mutex_unlock(&h->lock);
}
