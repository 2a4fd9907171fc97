/*
 * chan.c - packet helpers for the daemon <-> domain process channel.
 */
#include "chan.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int chan_send(int fd, uint32_t op, uint32_t seq, int32_t rc,
              const void *payload, size_t len, int nonblock)
{
    struct proto_hdr hdr;
    struct iovec iov[2];
    struct msghdr msg;
    ssize_t n;

    memset(&hdr, 0, sizeof(hdr));
    hdr.op = op;
    hdr.seq = seq;
    hdr.rc = rc;
    hdr.len = (uint32_t)len;
    iov[0].iov_base = &hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = (void *)payload;
    iov[1].iov_len = len;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = len ? 2 : 1;
    do {
        n = sendmsg(fd, &msg, MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return 0;
}

int chan_recv(int fd, struct proto_hdr *hdr, void *buf, size_t cap)
{
    struct iovec iov[2];
    struct msghdr msg;
    ssize_t n;

    memset(hdr, 0, sizeof(*hdr));
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(*hdr);
    iov[1].iov_base = buf;
    iov[1].iov_len = cap;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    do {
        n = recvmsg(fd, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    if ((size_t)n < sizeof(*hdr) || (msg.msg_flags & MSG_TRUNC) ||
        hdr->len != (size_t)n - sizeof(*hdr))
        return -EPROTO;
    return (int)hdr->len;
}

int chan_send_fd(int chan, uint32_t op, const void *payload, size_t len,
                 int fd)
{
    struct proto_hdr hdr;
    struct iovec iov[2];
    struct msghdr msg;
    struct cmsghdr *cm;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    ssize_t n;

    memset(&hdr, 0, sizeof(hdr));
    hdr.op = op;
    hdr.len = (uint32_t)len;
    iov[0].iov_base = &hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = (void *)payload;
    iov[1].iov_len = len;
    memset(&msg, 0, sizeof(msg));
    memset(&u, 0, sizeof(u));
    msg.msg_iov = iov;
    msg.msg_iovlen = len ? 2 : 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    do {
        n = sendmsg(chan, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

int chan_recv_fd(int chan, struct proto_hdr *hdr, void *buf, size_t cap,
                 int *fd_r)
{
    struct pollfd pfd = { .fd = chan, .events = POLLIN };
    struct iovec iov[2];
    struct msghdr msg;
    struct cmsghdr *cm;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    ssize_t n;

    *fd_r = -1;
    while (poll(&pfd, 1, -1) < 0)
        if (errno != EINTR)
            return -errno;
    memset(hdr, 0, sizeof(*hdr));
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(*hdr);
    iov[1].iov_base = buf;
    iov[1].iov_len = cap;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    do {
        n = recvmsg(chan, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
            memcpy(fd_r, CMSG_DATA(cm), sizeof(int));
    if ((size_t)n < sizeof(*hdr) || hdr->len != (size_t)n - sizeof(*hdr))
        return -EPROTO;
    return (int)hdr->len;
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
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_IGN);
        close(sv[0]);
        *chan_r = sv[1];
        return 0;
    }
    close(sv[1]);
    *chan_r = sv[0];
    return pid;
}
