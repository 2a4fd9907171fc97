/*
 * xs_ring_proxy.c: serves a unix socket as domain DOMID's connection to
 * Xen's real xenstored under xs-anchor, by relaying bytes to and from the
 * domain's shared ring (the file ANCHORDIR/ring-DOMID that the daemon maps
 * on INTRODUCE).  It lets record-golden.sh record the per-domain scenario
 * from Xen's daemon, which otherwise treats every socket client as dom0.
 *
 * Usage: xs-ring-proxy ANCHORDIR DOMID SOCKET
 *   Before the INTRODUCE, ANCHORDIR/ring-DOMID (one zeroed page) and the
 *   FIFO ANCHORDIR/notify-DOMID must exist (record-golden.sh makes them).
 *   Serves one client at a time.  Xen keeps one connection per domain, so
 *   when a client leaves, the proxy sends XS_RESET_WATCHES and drops what
 *   the daemon still sends, so that the next client starts clean (open
 *   transactions stay, as they would for a guest).  Runs until killed.
 *
 * Kicks to the daemon: the domid as a uint32 written to ANCHORDIR/evtchn;
 * the daemon's notifications arrive as bytes on the notify FIFO.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

static volatile struct xenstore_domain_interface *ring;
static int kick_fd, notify_fd;
static uint32_t domid;

static void kick(void)
{
    ssize_t r = write(kick_fd, &domid, sizeof(domid));

    (void)r; /* a full FIFO already holds a kick */
}

static void drain_notify(void)
{
    char buf[256];

    while (read(notify_fd, buf, sizeof(buf)) > 0)
        ;
}

/* Copies up to `len` bytes into the request ring; returns the count. */
static size_t ring_put(const char *data, size_t len)
{
    XENSTORE_RING_IDX cons = ring->req_cons, prod = ring->req_prod;
    size_t n = 0;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    while (n < len && prod - cons < XENSTORE_RING_SIZE) {
        ring->req[MASK_XENSTORE_IDX(prod)] = data[n++];
        prod++;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    ring->req_prod = prod;
    return n;
}

/* Copies up to `size` bytes out of the response ring; returns the count. */
static size_t ring_get(char *buf, size_t size)
{
    XENSTORE_RING_IDX cons = ring->rsp_cons, prod = ring->rsp_prod;
    size_t n = 0;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    while (n < size && cons != prod) {
        buf[n++] = ring->rsp[MASK_XENSTORE_IDX(cons)];
        cons++;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    ring->rsp_cons = cons;
    return n;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t r = write(fd, p, len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/*
 * After a client left: reset the domain's watches and drop everything up
 * to the RESET_WATCHES reply (or an error reply), so the next client sees
 * only its own traffic.  Gives up after about two seconds.
 */
static void reset_connection(void)
{
    struct xsd_sockmsg h = { .type = XS_RESET_WATCHES, .req_id = 0x7e5e7,
                             .len = 1 };
    char msg[sizeof(h) + 1], buf[XENSTORE_RING_SIZE];
    size_t have = 0;
    int i;

    memcpy(msg, &h, sizeof(h));
    msg[sizeof(h)] = '\0';
    if (ring_put(msg, sizeof(msg)) != sizeof(msg))
        return;
    kick();
    for (i = 0; i < 200; i++) {
        struct pollfd p = { .fd = notify_fd, .events = POLLIN };
        size_t n;

        poll(&p, 1, 10);
        drain_notify();
        n = ring_get(buf + have, sizeof(buf) - have);
        kick();
        have += n;
        /* Parse whole messages; stop at the reply to our request. */
        while (have >= sizeof(h)) {
            struct xsd_sockmsg rh;
            size_t whole;

            memcpy(&rh, buf, sizeof(rh));
            whole = sizeof(rh) + rh.len;
            if (whole > sizeof(buf)) {
                have = 0;
                break;
            }
            if (have < whole)
                break;
            memmove(buf, buf + whole, have - whole);
            have -= whole;
            if (rh.req_id == h.req_id && rh.type != XS_WATCH_EVENT)
                return;
        }
    }
}

static void serve(int cfd)
{
    char buf[XENSTORE_RING_SIZE];
    size_t pend = 0, n;
    int eof = 0;

    for (;;) {
        struct pollfd p[2] = {
            { .fd = cfd, .events = pend || eof ? 0 : POLLIN },
            { .fd = notify_fd, .events = POLLIN },
        };
        ssize_t r;

        poll(p, 2, 10);
        drain_notify();
        if (p[0].revents & (POLLIN | POLLHUP)) {
            r = read(cfd, buf, sizeof(buf));
            if (r <= 0)
                eof = 1;
            else
                pend = (size_t)r;
        }
        if (pend) {
            n = ring_put(buf, pend);
            memmove(buf, buf + n, pend - n);
            pend -= n;
            if (n)
                kick();
        }
        while ((n = ring_get(buf + pend, sizeof(buf) - pend)) > 0) {
            kick();
            if (write_all(cfd, buf + pend, n) < 0)
                eof = 1;
        }
        if (eof && !pend)
            break;
    }
    close(cfd);
    reset_connection();
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char path[4096];
    void *map;
    int fd, lfd;

    if (argc != 4) {
        fprintf(stderr, "usage: xs-ring-proxy ANCHORDIR DOMID SOCKET\n");
        return 2;
    }
    domid = (uint32_t)strtoul(argv[2], NULL, 10);
    snprintf(path, sizeof(path), "%s/ring-%s", argv[1], argv[2]);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "xs-ring-proxy: %s: %s\n", path, strerror(errno));
        return 1;
    }
    map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        fprintf(stderr, "xs-ring-proxy: mmap %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    ring = map;
    snprintf(path, sizeof(path), "%s/evtchn", argv[1]);
    kick_fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    snprintf(path, sizeof(path), "%s/notify-%s", argv[1], argv[2]);
    notify_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (kick_fd < 0 || notify_fd < 0) {
        fprintf(stderr, "xs-ring-proxy: evtchn or %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    if (strlen(argv[3]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "xs-ring-proxy: socket path too long\n");
        return 1;
    }
    strcpy(sa.sun_path, argv[3]);
    unlink(argv[3]);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lfd, 8) < 0) {
        fprintf(stderr, "xs-ring-proxy: %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);

        if (cfd >= 0)
            serve(cfd);
    }
}
