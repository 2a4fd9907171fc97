/*
 * chan.c - the daemon <-> domain process channel: its socketpair and
 * fork, and its packets (framed by libs/proto/proto_io.c).
 */
#include "chan.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto_io.h"

int chan_send(int fd, uint32_t op, uint32_t seq, int32_t rc,
              const void *payload, size_t len, int nonblock)
{
    struct proto_hdr hdr;

    memset(&hdr, 0, sizeof(hdr));
    hdr.op = op;
    hdr.seq = seq;
    hdr.rc = rc;
    return proto_send(fd, &hdr, payload, len, -1,
                      nonblock ? PROTO_IO_NONBLOCK : 0);
}

int chan_recv(int fd, struct proto_hdr *hdr, void *buf, size_t cap)
{
    return proto_recv(fd, hdr, buf, cap, NULL, PROTO_IO_NONBLOCK);
}

int chan_recv_nb_fd(int fd, struct proto_hdr *hdr, void *buf, size_t cap,
                    int *fd_r)
{
    return proto_recv(fd, hdr, buf, cap, fd_r, PROTO_IO_NONBLOCK);
}

int chan_send_fd(int chan, uint32_t op, const void *payload, size_t len,
                 int fd)
{
    struct proto_hdr hdr;

    memset(&hdr, 0, sizeof(hdr));
    hdr.op = op;
    return proto_send(chan, &hdr, payload, len, fd, PROTO_IO_NONBLOCK);
}

int chan_recv_fd(int chan, struct proto_hdr *hdr, void *buf, size_t cap,
                 int *fd_r)
{
    return proto_recv(chan, hdr, buf, cap, fd_r, 0);
}

pid_t chan_fork(int *chan_r)
{
    sigset_t none;
    int sv[2], rc;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        close(sv[0]);
        close(sv[1]);
        return rc;
    }
    if (pid == 0) {
        unsigned int c = (unsigned int)sv[1];

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGCHLD, SIG_DFL);
        /* stdio and the channel stay; nothing else of the daemon's */
        if (c > 3)
            close_range(3, c - 1, 0);
        close_range(c + 1, ~0U, 0);
        *chan_r = sv[1];
        return 0;
    }
    close(sv[1]);
    *chan_r = sv[0];
    return pid;
}

void chan_vlog(int fd, int level, const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);

    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    /* a dead daemon is noticed by the reader (EOF); ignore here */
    (void)chan_send(fd, CHAN_LOG, 0, level, buf, (size_t)n, 0);
}
