/*
 * lu.c: the live update's state stream and the exec that carries it.
 *
 * Stream (host byte order: the same machine reads it back):
 *   "XSLU" u32 version, i32 listen_fd, u32 nconns, i32 requester,
 *   u32 req_id, u32 tx_id;
 *   per connection: i32 fd, u32 domid, u32 id, u32 inlen, inlen bytes;
 *   u64 reqs_len, then the request records.
 */
#include "lu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LU_MAGIC "XSLU"
#define LU_VERSION 1u

struct lu_head {
    char magic[4];
    uint32_t version;
    int32_t listen_fd;
    uint32_t nconns;
    int32_t requester;
    uint32_t req_id, tx_id;
};

struct lu_conn_rec {
    int32_t fd;
    uint32_t domid, id, inlen;
};

void lu_state_init(struct lu_state *s)
{
    memset(s, 0, sizeof(*s));
    s->listen_fd = -1;
    s->requester = -1;
}

void lu_state_free(struct lu_state *s)
{
    size_t i;

    for (i = 0; i < s->nconns; i++)
        free(s->conns[i].in);
    free(s->conns);
    free(s->reqs);
    lu_state_init(s);
}

int lu_add_conn(struct lu_state *s, int fd, unsigned int domid,
                unsigned int id, const char *in, size_t inlen)
{
    struct lu_conn *c;

    if (s->nconns == s->conns_cap) {
        size_t cap = s->conns_cap ? s->conns_cap * 2 : 16;
        struct lu_conn *n = realloc(s->conns, cap * sizeof(*n));

        if (!n)
            return -ENOMEM;
        s->conns = n;
        s->conns_cap = cap;
    }
    c = &s->conns[s->nconns];
    c->fd = fd;
    c->domid = domid;
    c->id = id;
    c->inlen = inlen;
    c->in = NULL;
    if (inlen) {
        c->in = malloc(inlen);
        if (!c->in)
            return -ENOMEM;
        memcpy(c->in, in, inlen);
    }
    return (int)s->nconns++;
}

static int reqs_put(struct lu_state *s, const void *p, size_t len)
{
    if (s->reqs_len + len > s->reqs_cap) {
        size_t cap = s->reqs_cap ? s->reqs_cap : 65536;
        char *n;

        while (cap < s->reqs_len + len)
            cap *= 2;
        n = realloc(s->reqs, cap);
        if (!n)
            return -ENOMEM;
        s->reqs = n;
        s->reqs_cap = cap;
    }
    memcpy(s->reqs + s->reqs_len, p, len);
    s->reqs_len += len;
    return 0;
}

int lu_add_request(struct lu_state *s, int conn,
                   const struct xsd_sockmsg *hdr, const char *payload)
{
    uint32_t slot = (uint32_t)(conn + 1);
    int r;

    r = reqs_put(s, &slot, sizeof(slot));
    if (!r)
        r = reqs_put(s, hdr, sizeof(*hdr));
    if (!r)
        r = reqs_put(s, payload, hdr->len);
    return r;
}

int lu_next_request(const struct lu_state *s, size_t *off, int *conn,
                    struct xsd_sockmsg *hdr, const char **payload)
{
    uint32_t slot;
    size_t o = *off;

    if (o == s->reqs_len)
        return 0;
    if (s->reqs_len - o < sizeof(slot) + sizeof(*hdr))
        return -EPROTO;
    memcpy(&slot, s->reqs + o, sizeof(slot));
    memcpy(hdr, s->reqs + o + sizeof(slot), sizeof(*hdr));
    o += sizeof(slot) + sizeof(*hdr);
    if (hdr->len > XENSTORE_PAYLOAD_MAX || s->reqs_len - o < hdr->len ||
        slot > s->nconns)
        return -EPROTO;
    *conn = (int)slot - 1;
    *payload = s->reqs + o;
    *off = o + hdr->len;
    return 1;
}

static int write_all(int fd, const void *p, size_t len)
{
    const char *b = p;
    ssize_t w;

    while (len) {
        w = write(fd, b, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t len)
{
    char *b = p;
    ssize_t r;

    while (len) {
        r = read(fd, b, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EPROTO;
        b += r;
        len -= (size_t)r;
    }
    return 0;
}

static int write_stream(int fd, const struct lu_state *s);

int lu_save(const struct lu_state *s, int *fd_r)
{
    int fd, r;

    /* close-on-exec until lu_exec clears it for the exec it wants */
    fd = memfd_create("xenstored-live-update", MFD_CLOEXEC |
                      MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    r = write_stream(fd, s);
    if (!r && (lseek(fd, 0, SEEK_SET) < 0 ||
               fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
                     F_SEAL_SHRINK) < 0))
        r = -errno;
    if (r) {
        close(fd);
        return r;
    }
    *fd_r = fd;
    return 0;
}

int lu_write_file(const struct lu_state *s, const char *path)
{
    char tmp[4096];
    int fd, r;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    r = write_stream(fd, s);
    if (close(fd) < 0 && !r)
        r = -errno;
    if (!r && rename(tmp, path) < 0)
        r = -errno;
    if (r)
        unlink(tmp);
    return r;
}

static int write_stream(int fd, const struct lu_state *s)
{
    struct lu_head h = {
        .magic = LU_MAGIC,
        .version = LU_VERSION,
        .listen_fd = s->listen_fd,
        .nconns = (uint32_t)s->nconns,
        .requester = s->requester,
        .req_id = s->req_id,
        .tx_id = s->tx_id,
    };
    uint64_t len = s->reqs_len;
    size_t i;
    int r;

    r = write_all(fd, &h, sizeof(h));
    for (i = 0; !r && i < s->nconns; i++) {
        struct lu_conn_rec c = {
            .fd = s->conns[i].fd,
            .domid = s->conns[i].domid,
            .id = s->conns[i].id,
            .inlen = (uint32_t)s->conns[i].inlen,
        };

        r = write_all(fd, &c, sizeof(c));
        if (!r && c.inlen)
            r = write_all(fd, s->conns[i].in, c.inlen);
    }
    if (!r)
        r = write_all(fd, &len, sizeof(len));
    if (!r && len)
        r = write_all(fd, s->reqs, s->reqs_len);
    return r;
}

int lu_load(int fd, struct lu_state *s)
{
    struct lu_head h;
    uint64_t len;
    uint32_t i;
    int r;

    lu_state_init(s);
    r = read_all(fd, &h, sizeof(h));
    if (!r && (memcmp(h.magic, LU_MAGIC, 4) || h.version != LU_VERSION))
        r = -EPROTO;
    for (i = 0; !r && i < h.nconns; i++) {
        struct lu_conn_rec c;
        char *in = NULL;

        r = read_all(fd, &c, sizeof(c));
        if (r)
            break;
        if (c.inlen > 2 * (sizeof(struct xsd_sockmsg) +
                           XENSTORE_PAYLOAD_MAX)) {
            r = -EPROTO;
            break;
        }
        if (c.inlen) {
            in = malloc(c.inlen);
            r = in ? read_all(fd, in, c.inlen) : -ENOMEM;
        }
        if (!r)
            r = lu_add_conn(s, c.fd, c.domid, c.id, in, c.inlen);
        free(in);
        r = r < 0 ? r : 0;
    }
    if (!r)
        r = read_all(fd, &len, sizeof(len));
    if (!r && len) {
        s->reqs = malloc(len);
        r = s->reqs ? read_all(fd, s->reqs, len) : -ENOMEM;
        if (!r)
            s->reqs_len = s->reqs_cap = len;
    }
    close(fd);
    if (r) {
        lu_state_free(s);
        return r;
    }
    s->listen_fd = h.listen_fd;
    s->requester = h.requester < (int32_t)s->nconns ? h.requester : -1;
    s->req_id = h.req_id;
    s->tx_id = h.tx_id;
    return 0;
}

static int set_cloexec(int fd, bool on)
{
    int f = fcntl(fd, F_GETFD);

    if (f < 0)
        return -errno;
    f = on ? f | FD_CLOEXEC : f & ~FD_CLOEXEC;
    return fcntl(fd, F_SETFD, f) < 0 ? -errno : 0;
}

static void keep_fds(const struct lu_state *s, int state_fd, bool keep)
{
    size_t i;

    set_cloexec(s->listen_fd, !keep);
    set_cloexec(state_fd, !keep);
    for (i = 0; i < s->nconns; i++)
        set_cloexec(s->conns[i].fd, !keep);
}

int lu_exec(const char *binary, char *const *argv, const struct lu_state *s,
            int state_fd)
{
    char fdarg[16];
    char **args;
    size_t n = 0, i;
    int rc;

    while (argv[n])
        n++;
    args = calloc(n + 3, sizeof(*args));
    if (!args)
        return -ENOMEM;
    for (i = 0; i < n; i++)
        args[i] = argv[i];
    snprintf(fdarg, sizeof(fdarg), "%d", state_fd);
    args[n] = (char *)"--live-restore";
    args[n + 1] = fdarg;
    keep_fds(s, state_fd, true);
    execv(binary, args);
    rc = -errno;
    keep_fds(s, state_fd, false);
    free(args);
    return rc;
}
