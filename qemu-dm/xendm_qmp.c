/*
 * xendm_qmp.c - the QMP client: one JSON object per line each way,
 * commands tagged with a numeric id, events dispatched as they come.
 */
#include "xendm.h"
#include "xendm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE (1 << 20)

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static yajl_val get(yajl_val obj, const char *key)
{
    size_t i;

    if (!YAJL_IS_OBJECT(obj))
        return NULL;
    for (i = 0; i < obj->u.object.len; i++)
        if (!strcmp(obj->u.object.keys[i], key))
            return obj->u.object.values[i];
    return NULL;
}

/* Takes key's value out of obj, which no longer frees it. */
static yajl_val detach(yajl_val obj, const char *key)
{
    yajl_val v;
    size_t i;

    if (!YAJL_IS_OBJECT(obj))
        return NULL;
    for (i = 0; i < obj->u.object.len; i++)
        if (!strcmp(obj->u.object.keys[i], key)) {
            v = obj->u.object.values[i];
            obj->u.object.values[i] = NULL;
            return v;
        }
    return NULL;
}

static const char *str(yajl_val v)
{
    return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
}

static void emit(struct xendm *dm, struct xendm_event *ev)
{
    dm->seen |= 1u << ev->type;
    if (dm->event)
        dm->event(dm, dm->event_opaque, ev);
}

static void closed(struct xendm *dm)
{
    struct xendm_pending *p;
    struct xendm_event ev = { XENDM_EVENT_GONE, "", "", false, NULL };

    if (dm->fd < 0)
        return;
    close(dm->fd);
    dm->fd = -1;
    dm->wlen = 0;
    while ((p = dm->pending)) {
        dm->pending = p->next;
        if (p->cb)
            p->cb(dm, p->opaque, -EPIPE, NULL);
        free(p);
    }
    emit(dm, &ev);
}

void xendm__qmp_close(struct xendm *dm)
{
    struct xendm_pending *p;

    if (dm->fd >= 0)
        close(dm->fd);
    dm->fd = -1;
    while ((p = dm->pending)) {
        dm->pending = p->next;
        free(p);
    }
}

static void dispatch_event(struct xendm *dm, yajl_val root)
{
    static const struct {
        const char *name;
        enum xendm_event_type type;
    } names[] = {
        { "SHUTDOWN", XENDM_EVENT_SHUTDOWN },
        { "RESET", XENDM_EVENT_RESET },
        { "STOP", XENDM_EVENT_STOP },
        { "RESUME", XENDM_EVENT_RESUME },
        { "GUEST_PANICKED", XENDM_EVENT_GUEST_PANICKED },
    };
    struct xendm_event ev;
    yajl_val data = get(root, "data");
    size_t i;

    ev.name = str(get(root, "event"));
    ev.type = XENDM_EVENT_OTHER;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(ev.name, names[i].name))
            ev.type = names[i].type;
    ev.reason = str(get(data, "reason"));
    ev.guest = YAJL_IS_TRUE(get(data, "guest"));
    ev.data = data;
    XDM_LOG(&dm->lg, XENDM_DEBUG, "qemu-dm: domain %u: event %s%s%s",
            dm->domid, ev.name, *ev.reason ? " reason " : "", ev.reason);
    if (ev.type == XENDM_EVENT_SHUTDOWN) {
        free(dm->shutdown_reason);
        dm->shutdown_reason = strdup(ev.reason);
    }
    emit(dm, &ev);
}

static void dispatch_reply(struct xendm *dm, yajl_val root)
{
    struct xendm_pending **pp, *p;
    yajl_val id = get(root, "id"), err = get(root, "error");
    unsigned long n;

    if (!YAJL_IS_INTEGER(id)) {
        XDM_LOG(&dm->lg, XENDM_WARN, "qemu-dm: domain %u: QMP reply "
                "without our id", dm->domid);
        return;
    }
    n = (unsigned long)YAJL_GET_INTEGER(id);
    for (pp = &dm->pending; *pp; pp = &(*pp)->next)
        if ((*pp)->id == n)
            break;
    p = *pp;
    if (!p) {
        XDM_LOG(&dm->lg, XENDM_WARN, "qemu-dm: domain %u: QMP reply to "
                "unknown id %lu", dm->domid, n);
        return;
    }
    *pp = p->next;
    if (err)
        XDM_LOG(&dm->lg, XENDM_ERROR, "qemu-dm: domain %u: QMP command "
                "%lu failed: %s: %s", dm->domid, n,
                str(get(err, "class")), str(get(err, "desc")));
    if (p->cb)
        p->cb(dm, p->opaque, err ? -EIO : 0, get(root, "return"));
    free(p);
}

static void dispatch_line(struct xendm *dm, const char *line)
{
    char errbuf[256];
    yajl_val root;

    root = yajl_tree_parse(line, errbuf, sizeof(errbuf));
    if (!root) {
        XDM_LOG(&dm->lg, XENDM_WARN, "qemu-dm: domain %u: bad QMP "
                "message: %s", dm->domid, errbuf);
        return;
    }
    dm->cur_root = root;
    if (get(root, "QMP"))
        dm->greeted = true;
    else if (get(root, "event"))
        dispatch_event(dm, root);
    else if (get(root, "return") || get(root, "error"))
        dispatch_reply(dm, root);
    yajl_tree_free(dm->cur_root);
    dm->cur_root = NULL;
}

static int grow(char **buf, size_t *cap, size_t need)
{
    size_t ncap = *cap ? *cap : 4096;
    char *n;

    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    n = realloc(*buf, ncap);
    if (!n)
        return -ENOMEM;
    *buf = n;
    *cap = ncap;
    return 0;
}

int xendm_qmp_send(struct xendm *dm, const char *command,
                   const char *args_json, xendm_reply_fn *cb, void *opaque)
{
    struct xendm_pending *p, **pp;
    char *msg = NULL;
    int n, rc;

    if (dm->fd < 0)
        return -EPIPE;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->id = dm->next_id++;
    p->cb = cb;
    p->opaque = opaque;
    n = asprintf(&msg, "{\"execute\":\"%s\"%s%s%s,\"id\":%lu}\r\n",
                 command, args_json ? ",\"arguments\":" : "",
                 args_json ? args_json : "", "", p->id);
    if (n < 0) {
        msg = NULL;
        rc = -ENOMEM;
        goto out;
    }
    rc = grow(&dm->wbuf, &dm->wcap, dm->wlen + n);
    if (rc)
        goto out;
    memcpy(dm->wbuf + dm->wlen, msg, n);
    dm->wlen += n;
    /* Keep the queue in send order: replies come in order. */
    for (pp = &dm->pending; *pp; pp = &(*pp)->next)
        ;
    *pp = p;
    p = NULL;
    rc = 0;
out:
    free(p);
    free(msg);
    return rc;
}

void xendm_pollfd(const struct xendm *dm, struct pollfd *pfd)
{
    pfd->fd = dm->fd;
    pfd->events = POLLIN | (dm->wlen ? POLLOUT : 0);
    pfd->revents = 0;
}

static int flush(struct xendm *dm)
{
    ssize_t n;

    while (dm->wlen) {
        /* No SIGPIPE for the caller when qemu went away. */
        n = send(dm->fd, dm->wbuf, dm->wlen, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return -errno;
        }
        memmove(dm->wbuf, dm->wbuf + n, dm->wlen - n);
        dm->wlen -= n;
    }
    return 0;
}

int xendm_io(struct xendm *dm, short revents)
{
    char *nl;
    ssize_t n;
    size_t off;
    int rc;

    if (dm->fd < 0)
        return -EPIPE;
    if (dm->wlen && flush(dm) < 0) {
        closed(dm);
        return -EPIPE;
    }
    for (;;) {
        rc = grow(&dm->rbuf, &dm->rcap, dm->rlen + 4096);
        if (rc)
            return rc;
        n = read(dm->fd, dm->rbuf + dm->rlen, dm->rcap - dm->rlen - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            closed(dm);
            return -EPIPE;
        }
        dm->rlen += n;
        dm->rbuf[dm->rlen] = '\0';
        off = 0;
        while ((nl = memchr(dm->rbuf + off, '\n', dm->rlen - off))) {
            *nl = '\0';
            dispatch_line(dm, dm->rbuf + off);
            off = nl + 1 - dm->rbuf;
            if (dm->fd < 0)
                return -EPIPE;
        }
        memmove(dm->rbuf, dm->rbuf + off, dm->rlen - off);
        dm->rlen -= off;
        if (dm->rlen > MAX_LINE) {
            XDM_LOG(&dm->lg, XENDM_ERROR, "qemu-dm: domain %u: QMP line "
                    "over %d bytes", dm->domid, MAX_LINE);
            closed(dm);
            return -EPIPE;
        }
    }
    return 0;
}

/* One round of the loop: waits up to ms for I/O and handles it. */
static int turn(struct xendm *dm, int ms)
{
    struct pollfd pfd;
    int r;

    if (dm->fd < 0)
        return -EPIPE;
    xendm_pollfd(dm, &pfd);
    r = poll(&pfd, 1, ms);
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    if (r == 0)
        return 0;
    return xendm_io(dm, pfd.revents);
}

struct sync_call {
    bool done;
    int rc;
    yajl_val ret;
};

static void sync_done(struct xendm *dm, void *opaque, int rc, yajl_val ret)
{
    struct sync_call *sc = opaque;

    sc->done = true;
    sc->rc = rc;
    if (!rc && dm->cur_root)
        sc->ret = detach(dm->cur_root, "return");
}

int xendm_qmp_call(struct xendm *dm, const char *command,
                   const char *args_json, unsigned int timeout_ms,
                   yajl_val *ret_r)
{
    struct sync_call sc = { false, 0, NULL };
    struct xendm_pending **pp;
    uint64_t deadline = now_ms() + (timeout_ms ? timeout_ms : 5000);
    uint64_t t;
    int rc;

    rc = xendm_qmp_send(dm, command, args_json, sync_done, &sc);
    if (rc)
        return rc;
    while (!sc.done) {
        t = now_ms();
        if (t >= deadline) {
            /* Forget the command; a late reply is dropped. */
            for (pp = &dm->pending; *pp; pp = &(*pp)->next)
                if ((*pp)->opaque == &sc) {
                    struct xendm_pending *p = *pp;

                    *pp = p->next;
                    free(p);
                    break;
                }
            XDM_LOG(&dm->lg, XENDM_ERROR, "qemu-dm: domain %u: no reply "
                    "to %s within %u ms", dm->domid, command,
                    timeout_ms ? timeout_ms : 5000);
            return -ETIMEDOUT;
        }
        rc = turn(dm, (int)(deadline - t));
        if (rc < 0 && !sc.done)
            return rc;
    }
    if (!sc.rc && ret_r)
        *ret_r = sc.ret;
    else
        yajl_tree_free(sc.ret);
    return sc.rc;
}

int xendm_wait_event(struct xendm *dm, enum xendm_event_type type,
                     unsigned int timeout_ms, char **reason_r)
{
    uint64_t deadline = now_ms() + timeout_ms, t;
    unsigned int bit = 1u << type;
    int rc;

    while (!(dm->seen & bit)) {
        t = now_ms();
        if (t >= deadline)
            return -ETIMEDOUT;
        rc = turn(dm, (int)(deadline - t));
        if (rc < 0 && !(dm->seen & bit))
            return rc;
    }
    dm->seen &= ~bit;
    if (reason_r) {
        *reason_r = strdup(type == XENDM_EVENT_SHUTDOWN &&
                           dm->shutdown_reason ? dm->shutdown_reason : "");
        if (!*reason_r)
            return -ENOMEM;
    }
    return 0;
}

int xendm__qmp_connect(struct xendm *dm, unsigned int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    uint64_t deadline = now_ms() + timeout_ms, t;
    int fd = -1, rc;

    if (strlen(dm->qmp_path) >= sizeof(sa.sun_path)) {
        XDM_LOG(&dm->lg, XENDM_ERROR, "qemu-dm: domain %u: QMP socket "
                "path too long: %s", dm->domid, dm->qmp_path);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, dm->qmp_path);
    for (;;) {
        if ((dm->spawned || dm->pid > 0) && xendm_exited(dm, NULL))
            return -ECHILD;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        rc = -errno;
        close(fd);
        fd = -1;
        if (rc != -ENOENT && rc != -ECONNREFUSED)
            return rc;
        if (now_ms() >= deadline)
            return -ETIMEDOUT;
        /* qemu makes its socket some 50 ms after exec: a fine step,
         * as every ms here delays the guest's start */
        usleep(2000);
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    dm->fd = fd;
    while (!dm->greeted) {
        t = now_ms();
        if (t >= deadline)
            return -ETIMEDOUT;
        rc = turn(dm, (int)(deadline - t));
        if (rc < 0)
            return rc;
    }
    t = now_ms();
    return xendm_qmp_call(dm, "qmp_capabilities", NULL,
                          t < deadline ? (unsigned int)(deadline - t) : 1,
                          NULL);
}

/* ---------------------------------------------------------------- helpers */

int xendm_query_status(struct xendm *dm, char **status_r, bool *running_r)
{
    yajl_val ret = NULL;
    int rc;

    rc = xendm_qmp_call(dm, "query-status", NULL, 0, &ret);
    if (rc)
        return rc;
    if (!YAJL_IS_STRING(get(ret, "status"))) {
        rc = -EPROTO;
        goto out;
    }
    if (status_r) {
        *status_r = strdup(str(get(ret, "status")));
        if (!*status_r) {
            rc = -ENOMEM;
            goto out;
        }
    }
    if (running_r)
        *running_r = YAJL_IS_TRUE(get(ret, "running"));
    rc = 0;
out:
    yajl_tree_free(ret);
    return rc;
}

int xendm_serial_pty(struct xendm *dm, char **path_r)
{
    yajl_val ret = NULL, c;
    const char *f;
    size_t i;
    int rc;

    rc = xendm_qmp_call(dm, "query-chardev", NULL, 0, &ret);
    if (rc)
        return rc;
    rc = -ENOENT;
    if (!YAJL_IS_ARRAY(ret))
        goto out;
    for (i = 0; i < ret->u.array.len; i++) {
        c = ret->u.array.values[i];
        if (strcmp(str(get(c, "label")), "serial0"))
            continue;
        f = str(get(c, "filename"));
        if (strncmp(f, "pty:", 4))
            goto out;
        *path_r = strdup(f + 4);
        rc = *path_r ? 0 : -ENOMEM;
        goto out;
    }
out:
    if (rc == -ENOENT)
        XDM_LOG(&dm->lg, XENDM_ERROR, "qemu-dm: domain %u: no serial0 pty "
                "in query-chardev", dm->domid);
    yajl_tree_free(ret);
    return rc;
}

int xendm_cont(struct xendm *dm)
{
    return xendm_qmp_call(dm, "cont", NULL, 0, NULL);
}

int xendm_stop(struct xendm *dm)
{
    return xendm_qmp_call(dm, "stop", NULL, 0, NULL);
}

int xendm_powerdown(struct xendm *dm)
{
    return xendm_qmp_call(dm, "system_powerdown", NULL, 0, NULL);
}

int xendm_reset(struct xendm *dm)
{
    return xendm_qmp_call(dm, "system_reset", NULL, 0, NULL);
}
