/*
 * xc_evwatch.c - subscription to domain state changes.
 */
#include "xenctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xc_private.h"

struct xc_evwatch {
    xc_interface *xch;
    int fd;
};

XC_API
xc_evwatch *xc_evwatch_open(xc_interface *xch)
{
    xc_evwatch *w;
    int fd, rc;

    w = calloc(1, sizeof(*w));
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    fd = xc__connect(xch->logger);
    if (fd < 0) {
        free(w);
        return NULL;
    }
    rc = xc__call_fd(fd, 2, PROTO_OP_WATCH, 0, NULL, 0, NULL, 0, NULL,
                     NULL);
    if (rc < 0) {
        close(fd);
        free(w);
        xc__fail(xch, rc, DOMID_INVALID, "watch domain events");
        return NULL;
    }
    w->xch = xch;
    w->fd = fd;
    return w;
}

XC_API
int xc_evwatch_fd(xc_evwatch *w)
{
    return w->fd;
}

XC_API
int xc_evwatch_read(xc_evwatch *w, struct xc_domain_event *ev)
{
    struct proto_hdr hdr;
    struct xc_domain_event got;
    int n;

    n = proto_recv(w->fd, &hdr, &got, sizeof(got), NULL, PROTO_IO_NONBLOCK);
    if (n == -EAGAIN || n == -EWOULDBLOCK)
        return 0;
    if (n >= 0 && (n != (int)sizeof(got) || hdr.op != PROTO_OP_EVENT))
        n = -EPROTO;
    if (n < 0) {
        errno = -n;
        return n;
    }
    *ev = got;
    return 1;
}

XC_API
void xc_evwatch_close(xc_evwatch *w)
{
    if (!w)
        return;
    close(w->fd);
    free(w);
}
