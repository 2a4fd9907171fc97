/*
 * proto_io.c - packet framing of the core's protocol (see proto_io.h).
 */
#include "proto_io.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

union fd_space {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

int proto_send(int sock, struct proto_hdr *hdr, const void *payload,
               size_t len, int pass_fd, int flags)
{
    struct iovec iov[2];
    struct msghdr msg;
    union fd_space u;
    ssize_t n;

    if (len > PROTO_MAX_MSG - sizeof(*hdr))
        return -EMSGSIZE;
    hdr->len = (uint32_t)len;
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(*hdr);
    iov[1].iov_base = (void *)payload;
    iov[1].iov_len = len;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = len ? 2 : 1;
    if (pass_fd >= 0) {
        struct cmsghdr *cm;

        memset(&u, 0, sizeof(u));
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    }
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL |
                    (flags & PROTO_IO_NONBLOCK ? MSG_DONTWAIT : 0));
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

int proto_recv(int sock, struct proto_hdr *hdr, void *buf, size_t cap,
               int *fd_r, int flags)
{
    struct iovec iov[2];
    struct msghdr msg;
    struct cmsghdr *cm;
    union fd_space u;
    ssize_t n;
    int passed = -1;

    if (fd_r)
        *fd_r = -1;
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
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC |
                    (flags & PROTO_IO_NONBLOCK ? MSG_DONTWAIT : 0));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
            if (passed >= 0)
                close(passed);
            memcpy(&passed, CMSG_DATA(cm), sizeof(int));
        }
    if (n > 0 && (size_t)n >= sizeof(*hdr) && (msg.msg_flags & MSG_TRUNC)) {
        /* a whole header, but more payload than cap */
        if (passed >= 0)
            close(passed);
        return -EMSGSIZE;
    }
    if (n == 0 || (size_t)n < sizeof(*hdr) ||
        (msg.msg_flags & MSG_CTRUNC) ||
        hdr->len != (size_t)n - sizeof(*hdr)) {
        if (passed >= 0)
            close(passed);
        return n == 0 ? -EPIPE : -EPROTO;
    }
    if (fd_r)
        *fd_r = passed;
    else if (passed >= 0)
        close(passed);
    return (int)hdr->len;
}
