/*
 * handover.c - a domain process's side of a daemon restart (handover.h).
 */
#include "handover.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "settings.h"

void handover_init(struct handover *h)
{
    int i;

    memset(h, 0, sizeof(*h));
    h->listen_fd = -1;
    for (i = 0; i < HANDOVER_NR_FDS; i++)
        h->kept[i] = -1;
}

int handover_listen(struct handover *h, uint32_t domid)
{
    struct sockaddr_un sa;
    int fd, rc;

    h->domid = domid;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    rc = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom/%u.sock",
                  config.rundir, domid);
    if (rc < 0 || (size_t)rc >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(sa.sun_path, 0600) < 0 || listen(fd, 4) < 0) {
        rc = -errno;
        unlink(sa.sun_path);
        close(fd);
        return rc;
    }
    snprintf(h->path, sizeof(h->path), "%s", sa.sun_path);
    h->listen_fd = fd;
    return 0;
}

void handover_console(struct handover *h, const void *buf, size_t len,
                      int sent)
{
    const uint8_t *p = buf;
    uint64_t was = h->head;
    size_t i;

    if (!h->ring) {
        h->ring = malloc(HANDOVER_KEEP);
        if (!h->ring)
            return;
    }
    for (i = 0; i < len; i++)
        h->ring[(h->head + i) % HANDOVER_KEEP] = p[i];
    h->head += len;
    /* a byte not sent leaves a gap: nothing after it counts as sent */
    if (sent && h->sent == was)
        h->sent = h->head;
}

void handover_keep(struct handover *h, const void *payload, size_t len,
                   int fd)
{
    uint32_t kind;

    if (fd < 0)
        return;
    if (len != sizeof(kind)) {
        close(fd);
        return;
    }
    memcpy(&kind, payload, sizeof(kind));
    if (kind == 0 || kind >= HANDOVER_NR_FDS) {
        close(fd);
        return;
    }
    if (h->kept[kind] >= 0)
        close(h->kept[kind]);
    h->kept[kind] = fd;
}

/* The output kept (the last HANDOVER_KEEP bytes: the new daemon's ring;
 * from byte number h->sent on, what no daemon has had), in packets. */
static int send_kept(struct handover *h, int chan)
{
    uint64_t from = 0, n;
    uint8_t buf[4096];
    size_t i;
    int rc;

    if (h->head > HANDOVER_KEEP)
        from = h->head - HANDOVER_KEEP;
    while (from < h->head && h->ring) {
        n = h->head - from;
        if (n > sizeof(buf))
            n = sizeof(buf);
        for (i = 0; i < n; i++)
            buf[i] = h->ring[(from + i) % HANDOVER_KEEP];
        rc = chan_send(chan, CHAN_CONS_OUT, 0, 0, buf, (size_t)n, 0);
        if (rc < 0)
            return rc;
        from += n;
    }
    return 0;
}

int handover_accept(struct handover *h, int adopt, struct chan_hello *hello,
                    int memfd)
{
    uint32_t kind;
    int fd, rc;

    fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (!adopt) {
        close(fd);
        return -EBUSY;
    }
    hello->cons_first_ns = h->first_ns;
    hello->cons_head = h->head;
    hello->cons_sent = h->sent;
    rc = memfd >= 0 ? chan_send_fd(fd, CHAN_HELLO, hello, sizeof(*hello),
                                   memfd)
                    : chan_send(fd, CHAN_HELLO, 0, 0, hello, sizeof(*hello),
                                0);
    for (kind = 1; rc == 0 && kind < HANDOVER_NR_FDS; kind++)
        if (h->kept[kind] >= 0)
            rc = chan_send_fd(fd, CHAN_KEPT, &kind, sizeof(kind),
                              h->kept[kind]);
    if (rc == 0)
        rc = send_kept(h, fd);
    if (rc == 0)
        rc = chan_send(fd, CHAN_HELLO_END, 0, 0, NULL, 0, 0);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    h->sent = h->head;
    return fd;
}

int handover_chan_gone(int chan)
{
    struct pollfd pfd = { .fd = chan, .events = POLLIN };

    if (chan < 0)
        return 1;
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

void handover_close(struct handover *h)
{
    if (h->listen_fd < 0)
        return;
    close(h->listen_fd);
    h->listen_fd = -1;
    unlink(h->path);
}
