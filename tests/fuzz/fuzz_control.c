/*
 * fuzz_control.c - libFuzzer target: arbitrary packets into xenolithd's
 * control interface (control.c's decoder and dispatcher, domain.c,
 * console.c), without KVM.
 *
 * The real daemon code runs on a small event loop of our own (the
 * loop_* functions of loop.h, by poll()), and vm_spawn() hands out
 * fake domain processes: socketpairs whose far end this harness serves
 * like a domain process would (READY on CONFIG, a REPLY to each request,
 * console output after an unpause).  Nothing is forked.  dm_spawn()
 * likewise hands out fake device-model supervisors (READY at once) and
 * qemu's pidfd is an eventfd that never fires.
 *
 * Input: records [u8 flags][u16 len, little endian][len bytes], each
 * sent as one packet.  flags bit 0: send on the unprivileged connection
 * (uid 12345) instead of the privileged one (uid 0, HELLO already
 * done); bit 1: set the header's len to the payload's real length; bit
 * 2: fold the op into the known range; bit 3: fold the domain id into
 * 0..7; bit 4: the newest fake domain process hangs up afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "control.h"
#include "dm.h"
#include "domain.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "settings.h"
#include "vmproc.h"

struct config config;

/* ------------------------------------------------------------ the loop */

#define MAX_WATCHED 256

static struct loop_fd *watched[MAX_WATCHED];
static void **graveyard;
static size_t graveyard_len, graveyard_cap;

int loop_add(struct loop_fd *w, uint32_t events)
{
    size_t i;

    (void)events;
    for (i = 0; i < MAX_WATCHED; i++) {
        if (!watched[i]) {
            watched[i] = w;
            return 0;
        }
    }
    return -ENOSPC;
}

int loop_mod(struct loop_fd *w, uint32_t events)
{
    (void)w;
    (void)events;
    return 0;
}

static void unwatch(struct loop_fd *w)
{
    size_t i;

    for (i = 0; i < MAX_WATCHED; i++)
        if (watched[i] == w)
            watched[i] = NULL;
}

void loop_forget(struct loop_fd *w)
{
    if (w->fd < 0)
        return;
    unwatch(w);
    w->fd = -1;
}

void loop_close(struct loop_fd *w)
{
    if (w->fd < 0)
        return;
    unwatch(w);
    close(w->fd);
    w->fd = -1;
}

void loop_defer_free(void *p)
{
    if (graveyard_len == graveyard_cap) {
        size_t cap = graveyard_cap ? graveyard_cap * 2 : 64;
        void **g = realloc(graveyard, cap * sizeof(*g));

        if (!g)
            abort();                     /* a harness without memory */
        graveyard = g;
        graveyard_cap = cap;
    }
    graveyard[graveyard_len++] = p;
}

void loop_when_idle(void (*fn)(void), int idle_ms, int max_ms)
{
    /* the spare is replaced at the next create (vm_spawn below) */
    (void)fn;
    (void)idle_ms;
    (void)max_ms;
}

static void bury(void)
{
    size_t i;

    for (i = 0; i < graveyard_len; i++)
        free(graveyard[i]);
    graveyard_len = 0;
}

/* ------------------------------------------------ fake domain processes */

#define MAX_PROCS 64
#define FAKE_PID_BASE 0x40000000     /* above any pid_max: kill() misses */

static int procs[MAX_PROCS];         /* our ends, -1 when gone */
static int nr_procs;

int vm_spawn(pid_t *pid_r, int *chan_r)
{
    int sv[2];

    if (nr_procs == MAX_PROCS)
        return -EAGAIN;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    procs[nr_procs] = sv[1];
    *pid_r = FAKE_PID_BASE + nr_procs;
    nr_procs++;
    *chan_r = sv[0];
    chan_send(sv[1], CHAN_SPARE_READY, 0, 0, NULL, 0, 1);
    return 0;
}

int dm_spawn(uint32_t domid, pid_t qemu_pid, const char *qmp_path,
             pid_t *pid_r, int *chan_r)
{
    int rc;

    (void)domid;
    (void)qemu_pid;
    (void)qmp_path;
    rc = vm_spawn(pid_r, chan_r);
    if (rc == 0)
        chan_send(procs[nr_procs - 1], CHAN_READY, 0, 0, NULL, 0, 1);
    return rc;
}

int dm_pidfd_open(pid_t pid)
{
    int fd;

    if (pid <= 0)
        return -ESRCH;
    fd = eventfd(0, EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int dm_kill_wait(int pidfd, int wait_ms)
{
    (void)pidfd;
    (void)wait_ms;
    return 0;
}

/* Receive one packet, closing any descriptor it carries. */
static int proc_recv(int fd, struct proto_hdr *hdr, uint8_t *buf,
                     size_t cap)
{
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov[2] = {
        { .iov_base = hdr, .iov_len = sizeof(*hdr) },
        { .iov_base = buf, .iov_len = cap },
    };
    struct msghdr msg;
    struct cmsghdr *cm;
    ssize_t n;
    int passed;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    msg.msg_control = u.b;
    msg.msg_controllen = sizeof(u.b);
    n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n <= 0)
        return -1;
    for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            memcpy(&passed, CMSG_DATA(cm), sizeof(passed));
            close(passed);
        }
    }
    return (size_t)n < sizeof(*hdr) ? -1 : (int)(n - sizeof(*hdr));
}

/* Answer what the daemon sent to each fake process, as vmproc.c would. */
static void serve_procs(void)
{
    static const char out[] = "hello\n";
    struct proto_hdr hdr;
    uint8_t buf[CHAN_MAX_PAYLOAD];
    uint64_t ns = 1;
    int i;

    for (i = 0; i < nr_procs; i++) {
        int fd = procs[i];

        if (fd < 0)
            continue;
        while (proc_recv(fd, &hdr, buf, sizeof(buf)) >= 0) {
            switch (hdr.op) {
            case CHAN_CONFIG:
                chan_send(fd, CHAN_READY, 0, 0, NULL, 0, 1);
                break;
            case CHAN_CONS_IN:
                break;
            case CHAN_DESTROY:
                /* a supervisor quits qemu and exits */
                close(fd);
                procs[i] = -1;
                break;
            case CHAN_UNPAUSE:
                chan_send(fd, CHAN_REPLY, hdr.seq, 0, NULL, 0, 1);
                chan_send(fd, CHAN_VCPU_UP, 0, 0, &ns, 4, 1);
                chan_send(fd, CHAN_CONS_FIRST, 0, 0, &ns, sizeof(ns), 1);
                chan_send(fd, CHAN_CONS_OUT, 0, 0, out, sizeof(out) - 1,
                          1);
                break;
            case CHAN_SHUTDOWN:
                chan_send(fd, CHAN_REPLY, hdr.seq, 0, NULL, 0, 1);
                chan_send(fd, CHAN_EVT_SHUTDOWN, 0, 0, buf, 4, 1);
                break;
            default:
                chan_send(fd, CHAN_REPLY, hdr.seq, 0, NULL, 0, 1);
                break;
            }
        }
    }
}

/* Run the daemon's callbacks until nothing is left to read. */
static void run_loop(void)
{
    struct pollfd pfd;
    int round, i, busy;

    for (round = 0; round < 64; round++) {
        serve_procs();
        busy = 0;
        for (i = 0; i < MAX_WATCHED; i++) {
            struct loop_fd *w = watched[i];

            if (!w || w->fd < 0)
                continue;
            pfd.fd = w->fd;
            pfd.events = POLLIN;
            if (poll(&pfd, 1, 0) == 1) {
                busy = 1;
                w->cb(w, pfd.revents);
            }
        }
        bury();
        if (!busy)
            break;
    }
}

/* ------------------------------------------------------------ clients */

static void drain(int fd)
{
    uint8_t buf[PROTO_MAX_MSG];
    struct proto_hdr hdr;

    while (proc_recv(fd, &hdr, buf, sizeof(buf)) >= 0)
        ;
}

static int client(uid_t uid, int *far_r)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    if (!control_conn_new(sv[0], uid, uid, 1)) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    *far_r = sv[1];
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char dir[] = "/tmp/xenolith-fuzz-XXXXXX";

    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        abort();
    snprintf(config.rundir, sizeof(config.rundir), "%s", dir);
    snprintf(config.console_dir, sizeof(config.console_dir), "%s", dir);
    snprintf(config.console_log_dir, sizeof(config.console_log_dir), "%s",
             dir);
    snprintf(config.group, sizeof(config.group), "xenolith-fuzz-none");
    /* FUZZ_CONTROL_LOG=1: the daemon's log on stderr */
    log_open(getenv("FUZZ_CONTROL_LOG") ? NULL : "/dev/null", 1);
    domain_init(4, control_event);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pkt[PROTO_MAX_MSG];
    struct proto_hdr hello;
    uint32_t v = PROTO_VERSION;
    int root = -1, user = -1, i;
    size_t off = 0;

    if (!config.rundir[0])
        LLVMFuzzerInitialize(NULL, NULL);
    nr_procs = 0;
    if (client(0, &root) < 0 || client(12345, &user) < 0)
        goto out;
    memset(&hello, 0, sizeof(hello));
    hello.op = PROTO_OP_HELLO;
    hello.len = sizeof(v);
    memcpy(pkt, &hello, sizeof(hello));
    memcpy(pkt + sizeof(hello), &v, sizeof(v));
    send(root, pkt, sizeof(hello) + sizeof(v), MSG_DONTWAIT);
    run_loop();
    drain(root);

    while (off + 3 <= size) {
        uint8_t flags = data[off];
        size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
        struct proto_hdr *h = (struct proto_hdr *)pkt;

        off += 3;
        if (len > size - off)
            len = size - off;
        memcpy(pkt, data + off, len);
        off += len;
        if (len >= sizeof(*h)) {
            if (flags & 2)
                h->len = (uint32_t)(len - sizeof(*h));
            if (flags & 4)
                h->op %= PROTO_OP_MAX + 1;
            if (flags & 8)
                h->domid %= 8;
        }
        send(flags & 1 ? user : root, pkt, len, MSG_DONTWAIT);
        run_loop();
        drain(root);
        drain(user);
        if ((flags & 16) && nr_procs > 0 && procs[nr_procs - 1] >= 0) {
            close(procs[nr_procs - 1]);
            procs[nr_procs - 1] = -1;
            run_loop();
        }
    }

out:
    if (root >= 0)
        close(root);
    if (user >= 0)
        close(user);
    run_loop();
    domain_exit();
    domain_spare_exit();
    bury();
    for (i = 0; i < nr_procs; i++)
        if (procs[i] >= 0)
            close(procs[i]);
    nr_procs = 0;
    return 0;
}
