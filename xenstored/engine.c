/*
 * engine.c: the xenstore request engine: connections, request dispatch and
 * the node requests (READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART,
 * GET_PERMS, SET_PERMS).  The other requests live with their concern
 * (transaction.c, watch.c, domain.c, control.c).
 */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "core.h"
#include "domain.h"
#include "msgtype.h"
#include "transaction.h"
#include "watch.h"

/* ---------------------------------------------------------------- logging */

static const char *type_name(uint32_t type)
{
    const char *name = msgtype_name(type);

    return name ? name : "UNKNOWN";
}

void engine_logf(struct engine *e, enum engine_log_level level,
                 const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    if (!e->ops.log)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    e->ops.log(e->opaque, level, buf);
}

static const char *err_name(int err)
{
    size_t i;

    for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (xsd_errors[i].errnum == err)
            return xsd_errors[i].errstring;
    return NULL;
}

/* ---------------------------------------------------------------- replies */

void req_reply(struct req *r, uint32_t type, const void *data,
               unsigned int len)
{
    struct xsd_sockmsg hdr;
    int rc;

    if (len > XENSTORE_PAYLOAD_MAX) {
        req_error(r, E2BIG, "reply over the payload limit");
        return;
    }
    hdr.type = type;
    hdr.req_id = r->hdr->req_id;
    hdr.tx_id = r->hdr->tx_id;
    hdr.len = len;
    r->replied = true;
    rc = r->e->ops.send(r->c->opaque, &hdr, data);
    if (rc < 0)
        engine_logf(r->e, ENGINE_LOG_WARN,
                    "domain %u: reply to %s lost: %s", r->c->domid,
                    type_name(r->hdr->type), strerror(-rc));
}

void req_ack(struct req *r)
{
    req_reply(r, r->hdr->type, "OK", 3);
}

void req_error(struct req *r, int err, const char *why)
{
    const char *name = err_name(err);
    enum engine_log_level level;

    if (!name) {
        engine_logf(r->e, ENGINE_LOG_ERROR,
                    "domain %u: %s: error %d has no protocol name",
                    r->c->domid, type_name(r->hdr->type), err);
        name = "EINVAL";
    }
    switch (err) {
    case ENOENT:
    case EEXIST:
    case EAGAIN:
    case EBUSY:
        level = ENGINE_LOG_DEBUG;
        break;
    default:
        level = ENGINE_LOG_WARN;
        break;
    }
    engine_logf(r->e, level, "domain %u: %s refused: %s%s%s", r->c->domid,
                type_name(r->hdr->type), name, why ? ": " : "",
                why ? why : "");
    req_reply(r, XS_ERROR, name, (unsigned int)strlen(name) + 1);
}

/* ---------------------------------------------------------------- helpers */

bool conn_privileged(const struct engine_conn *c)
{
    return c->domid == 0;
}

void conn_who(const struct engine_conn *c, struct perm_who *who)
{
    who->domid = c->domid;
    who->privileged = conn_privileged(c);
    who->has_target = c->dom && c->dom->has_target;
    who->target = who->has_target ? c->dom->target : 0;
}

unsigned int payload_count(const char *p, unsigned int len)
{
    unsigned int n = 0, i;

    for (i = 0; i < len; i++)
        n += p[i] == '\0';
    return n;
}

const char *payload_onearg(const struct req *r)
{
    if (!r->len || memchr(r->payload, '\0', r->len) !=
                       r->payload + r->len - 1)
        return NULL;
    return r->payload;
}

unsigned int payload_strings(const struct req *r, const char **vec,
                             unsigned int n)
{
    unsigned int off = 0, i = 0;

    while (off < r->len) {
        const char *nul = memchr(r->payload + off, '\0', r->len - off);

        if (!nul)
            break;
        if (i < n)
            vec[i] = r->payload + off;
        i++;
        off = (unsigned int)(nul - r->payload) + 1;
    }
    return i;
}

unsigned int parse_uint(const char *s)
{
    return (unsigned int)atoi(s);
}

bool path_valid(const char *path, size_t len,
                const struct engine_config *cfg)
{
    static const char prefix[] = "/local/domain/";
    size_t local_off = 0, i, digits;

    if (!len || path[0] != '/')
        return false;
    if (len > 1 && path[len - 1] == '/')
        return false;
    if (len > sizeof(prefix) - 1 &&
        !memcmp(path, prefix, sizeof(prefix) - 1)) {
        i = sizeof(prefix) - 1;
        digits = 0;
        while (i < len && digits < 5 && path[i] >= '0' && path[i] <= '9') {
            i++;
            digits++;
        }
        if (digits && i < len && path[i] == '/')
            local_off = i + 1;
    }
    if (len > local_off + cfg->path_max)
        return false;
    for (i = 0; i < len; i++) {
        char ch = path[i];

        if (ch == '/') {
            if (i + 1 < len && path[i + 1] == '/')
                return false;
            continue;
        }
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '@')
            continue;
        return false;
    }
    return true;
}

int path_canonical(const struct engine_conn *c, const char *in,
                   char *out, size_t size, const struct engine_config *cfg)
{
    size_t len = strlen(in);

    if (in[0] == '/') {
        if (len + 1 > size)
            return -EINVAL;
        memcpy(out, in, len + 1);
    } else {
        if (in[0] == '@' || c->implicit_len + 1 + len + 1 > size)
            return -EINVAL;
        memcpy(out, c->implicit, c->implicit_len);
        out[c->implicit_len] = '/';
        memcpy(out + c->implicit_len + 1, in, len + 1);
        len += c->implicit_len + 1;
    }
    if (!path_valid(out, len, cfg))
        return -EINVAL;
    return (int)len;
}

size_t path_parent_len(const char *path, size_t len)
{
    while (len > 1 && path[len - 1] != '/')
        len--;
    return len > 1 ? len - 1 : 1;
}

/* ---------------------------------------------------------------- views */

/* The node as this request sees it (transaction snapshot or store). */
static int view_get(struct req *r, const char *path, size_t len,
                    struct nview *v)
{
    const struct node *n;

    if (r->tx)
        return tx_get(r, path, len, v);
    n = store_get(r->e->store, path, len);
    if (!n) {
        memset(v, 0, sizeof(*v));
        return 0;
    }
    view_of_node(n, v);
    return 0;
}

static int view_list(struct req *r, const char *path, size_t len,
                     tx_name_fn fn, void *arg, uint64_t *gen_r)
{
    const struct node *n;
    struct nview v;
    uint32_t i;

    if (r->tx)
        return tx_list(r, path, len, fn, arg, gen_r);
    n = store_get(r->e->store, path, len);
    if (!n)
        return -ENOENT;
    view_of_node(n, &v);
    *gen_r = v.gen;
    for (i = 0; i < node_nslots(n); i++) {
        const struct node *k = node_slot(n, i);

        if (k && node_live(k) && fn(arg, node_name(k), k->namelen))
            break;
    }
    return 0;
}

/*
 * Xen's get_node(): the node if it exists and `perm` is granted; else
 * -EACCES, or -ENOENT when the nearest existing ancestor grants `perm`
 * (so that a missing node tells nothing the caller may not know).
 */
static int get_node_as(struct req *r, const char *path, size_t len,
                       unsigned int perm, struct nview *v, bool blind)
{
    struct nview anc;
    size_t alen = len;
    int rc;

    rc = blind && r->tx ? tx_peek(r, path, len, v)
                        : view_get(r, path, len, v);
    if (rc < 0)
        return rc;
    if (v->exists) {
        if ((perms_for(&r->who, v->perms, v->nperms) & perm) == perm)
            return 0;
        rc = -EACCES;
    } else {
        rc = -ENOENT;
    }
    do {
        alen = path_parent_len(path, alen);
        if (view_get(r, path, alen, &anc) < 0)
            return -ENOMEM;
        if (anc.exists)
            break;
    } while (alen > 1);
    if (!anc.exists)
        return -EIO; /* no root: cannot happen */
    if (perms_for(&r->who, anc.perms, anc.nperms) & perm)
        return rc;
    return -EACCES;
}

static int get_node(struct req *r, const char *path, size_t len,
                    unsigned int perm, struct nview *v)
{
    return get_node_as(r, path, len, perm, v, false);
}

static int canonical_arg(struct req *r, const char *arg, char *out,
                         size_t *len_r)
{
    int len;

    if (!arg)
        return -EINVAL;
    len = path_canonical(r->c, arg, out, PATH_MAX_ABS, &r->e->cfg);
    if (len < 0)
        return len;
    *len_r = (size_t)len;
    return 0;
}

/* ---------------------------------------------------------------- create */

static long acct_bytes(size_t baselen, unsigned int nperms,
                       unsigned int datalen)
{
    return (long)baselen + 1 + node_record_size(nperms, datalen, 0);
}

static bool over_memory(struct req *r, long add)
{
    const struct domain *d = r->c->dom;

    return !r->who.privileged && r->e->cfg.memory_per_domain && d &&
           d->memory + add >= (long)r->e->cfg.memory_per_domain;
}

static void delete_fire_cb(void *arg, const struct node *n, const char *path,
                           size_t len, bool top)
{
    watch_fire(arg, path, len, !top, node_perms(n), n->nperms, NULL, 0);
}

int engine_delete_node(struct engine *e, struct node *n)
{
    return store_delete(e->store, n, delete_fire_cb, e);
}

/*
 * The missing levels of create_path() outside transactions, as one batch:
 * all of them are made or none.
 */
static int create_levels(struct req *r, const char *path,
                         const size_t *lens, unsigned int levels,
                         const struct perm *perms, unsigned int np,
                         const void *data, unsigned int datalen)
{
    struct store *s = r->e->store;
    struct node *parent;
    unsigned int i;
    int rc = 0;

    if (levels == 1) {
        /* One node: store_create() is all-or-nothing by itself. */
        parent = store_get(s, path, path_parent_len(path, lens[0]));
        if (!parent || !store_create(s, parent, path, lens[0], perms, np,
                                     data, datalen))
            return -ENOMEM;
        return 0;
    }
    store_batch_begin(s);
    for (i = levels; rc == 0 && i-- > 0;) {
        size_t l = lens[i], pl = path_parent_len(path, l);

        rc = store_plan_create(s, path, l, np, i == 0 ? datalen : 0,
                               perms[0].id);
        /* A brand new node takes a slot in its parent's list. */
        if (rc == 0 && !store_lookup(s, path, l))
            rc = store_plan_kids(s, store_lookup(s, path, pl), 1);
    }
    for (i = levels; rc == 0 && i-- > 0;) {
        size_t l = lens[i];

        parent = store_get(s, path, path_parent_len(path, l));
        if (!parent || !store_create(s, parent, path, l, perms, np,
                                     i == 0 ? data : NULL,
                                     i == 0 ? datalen : 0)) {
            /* Cannot happen: the plan set everything aside. */
            engine_logf(r->e, ENGINE_LOG_ERROR,
                        "domain %u: creating %.*s failed half-way",
                        r->c->domid, (int)l, path);
            rc = -EIO;
        }
    }
    store_batch_end(s);
    return rc;
}

/*
 * Creates `path` and its missing ancestors (write, mkdir): each new node
 * copies the perms of the nearest existing ancestor, owned by the caller
 * when it is unprivileged.  Fires the watches of `path` only.
 */
static int create_path(struct req *r, const char *path, size_t len,
                       const void *data, unsigned int datalen)
{
    struct engine *e = r->e;
    const struct engine_config *cfg = &e->cfg;
    size_t lens[PATH_MAX_ABS / 2];
    unsigned int levels = 0, i, np;
    struct perm *perms = NULL;
    struct nview anc;
    size_t alen = len;
    long bytes = 0;
    int rc;

    /* Walk up to the nearest existing ancestor. */
    for (;;) {
        lens[levels++] = alen;
        alen = path_parent_len(path, alen);
        rc = view_get(r, path, alen, &anc);
        if (rc < 0)
            return rc;
        if (anc.exists || alen == 1)
            break;
    }
    if (!anc.exists)
        return -EIO;
    np = anc.nperms;
    if (!r->who.privileged && np > 0 &&
        node_record_size(np, anc.datalen, anc.childlen) +
                (unsigned int)(lens[levels - 1] - alen) >=
            cfg->node_size)
        return -ENOSPC;
    perms = malloc(np * sizeof(*perms));
    if (!perms)
        return -ENOMEM;
    memcpy(perms, anc.perms, np * sizeof(*perms));
    if (!r->who.privileged)
        perms[0].id = r->c->domid;

    for (i = levels; i-- > 0;) {
        size_t l = lens[i];
        size_t pl = path_parent_len(path, l);
        size_t base = pl == 1 ? l - 1 : l - pl - 1;
        unsigned int dl = i == 0 ? datalen : 0;
        unsigned int cl = i == 0 ? 0 :
                          (unsigned int)(lens[i - 1] - l);

        if (!r->who.privileged) {
            if (r->c->dom &&
                r->c->dom->nbentry + (int)(levels - 1 - i) >=
                    (int)cfg->nodes_per_domain) {
                rc = -ENOSPC;
                goto out;
            }
            if (node_record_size(np, dl, cl) >= cfg->node_size) {
                rc = -ENOSPC;
                goto out;
            }
        }
        bytes += acct_bytes(base, np, dl);
    }
    if (over_memory(r, bytes)) {
        rc = -ENOMEM;
        goto out;
    }

    if (r->tx) {
        for (i = levels; i-- > 0;) {
            rc = tx_create(r, path, lens[i], perms, np,
                           i == 0 ? data : NULL, i == 0 ? datalen : 0,
                           i == 0);
            if (rc < 0)
                goto out;
        }
    } else {
        rc = create_levels(r, path, lens, levels, perms, np, data, datalen);
        if (rc < 0)
            goto out;
    }
    if (!r->tx)
        watch_fire(e, path, len, false, perms, np, NULL, 0);
    rc = 0;

out:
    free(perms);
    return rc;
}

/* ---------------------------------------------------------------- requests */

static void do_read(struct req *r)
{
    char path[PATH_MAX_ABS];
    struct nview v;
    size_t len = 0;
    int rc;

    rc = canonical_arg(r, payload_onearg(r), path, &len);
    if (rc == 0)
        rc = get_node(r, path, len, PERM_READ, &v);
    if (rc < 0) {
        req_error(r, -rc, NULL);
        return;
    }
    req_reply(r, XS_READ, v.data, v.datalen);
}

static void do_write(struct req *r)
{
    struct engine *e = r->e;
    char path[PATH_MAX_ABS];
    const char *vec[1];
    const char *data;
    unsigned int datalen;
    struct nview v;
    size_t len = 0;
    int rc;

    if (payload_strings(r, vec, 1) < 1) {
        req_error(r, EINVAL, "WRITE without a path");
        return;
    }
    data = vec[0] + strlen(vec[0]) + 1;
    datalen = r->len - (unsigned int)(data - r->payload);
    rc = canonical_arg(r, vec[0], path, &len);
    /*
     * Overwriting a node depends on its existence and perms, and for a
     * domain also on its size and children (quotas): only the privileged
     * write blind (see tx_conflicts()).
     */
    if (rc == 0)
        rc = get_node_as(r, path, len, PERM_WRITE, &v, r->who.privileged);
    if (rc == -ENOENT) {
        rc = create_path(r, path, len, data, datalen);
        if (rc < 0) {
            req_error(r, -rc, rc == -ENOSPC ? "quota reached" : NULL);
            return;
        }
        req_ack(r);
        return;
    }
    if (rc < 0) {
        req_error(r, -rc, NULL);
        return;
    }
    if (!r->who.privileged &&
        node_record_size(v.nperms, datalen, v.childlen) >=
            e->cfg.node_size) {
        req_error(r, ENOSPC, "node size quota reached");
        return;
    }
    if (over_memory(r, (long)datalen - (long)v.datalen)) {
        req_error(r, ENOMEM, "memory quota reached");
        return;
    }
    if (r->tx) {
        rc = tx_set(r, path, len, NULL, 0, data, datalen, true);
        if (rc < 0) {
            req_error(r, -rc, NULL);
            return;
        }
    } else {
        struct node *n = store_get(e->store, path, len);

        n = store_set(e->store, n, NULL, 0, data, datalen);
        if (!n) {
            req_error(r, ENOMEM, "no memory for the value");
            return;
        }
        watch_fire(e, path, len, false, node_perms(n), n->nperms, NULL, 0);
    }
    req_ack(r);
}

static void do_mkdir(struct req *r)
{
    char path[PATH_MAX_ABS];
    struct nview v;
    size_t len = 0;
    int rc;

    rc = canonical_arg(r, payload_onearg(r), path, &len);
    if (rc == 0)
        rc = get_node(r, path, len, PERM_WRITE, &v);
    if (rc == -ENOENT)
        rc = create_path(r, path, len, NULL, 0);
    if (rc < 0) {
        req_error(r, -rc, rc == -ENOSPC ? "quota reached" : NULL);
        return;
    }
    req_ack(r);
}

static void do_rm(struct req *r)
{
    char path[PATH_MAX_ABS];
    struct nview v, parent;
    size_t len = 0;
    int rc;

    rc = canonical_arg(r, payload_onearg(r), path, &len);
    if (rc == 0)
        rc = get_node(r, path, len, PERM_WRITE, &v);
    if (rc == -ENOENT) {
        /* Deleting what is not there is fine if the parent is. */
        rc = view_get(r, path, path_parent_len(path, len), &parent);
        if (rc == 0 && parent.exists) {
            req_ack(r);
            return;
        }
        rc = rc < 0 ? rc : -ENOENT;
    }
    if (rc == 0 && len == 1)
        rc = -EINVAL;
    if (rc < 0) {
        req_error(r, -rc, NULL);
        return;
    }
    if (r->tx) {
        rc = tx_delete(r, path, len);
        if (rc < 0) {
            req_error(r, -rc, NULL);
            return;
        }
    } else {
        rc = engine_delete_node(r->e, store_get(r->e->store, path, len));
        if (rc < 0) {
            req_error(r, -rc, "no memory to delete the subtree");
            return;
        }
    }
    req_ack(r);
}

struct strbuf {
    char *buf;
    size_t len, cap;
    size_t limit;
    bool over;
};

static int strbuf_name(void *arg, const char *name, size_t len)
{
    struct strbuf *b = arg;

    if (b->len + len + 1 > b->limit) {
        b->over = true;
        return 1;
    }
    if (b->len + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        char *nb;

        while (ncap < b->len + len + 1)
            ncap *= 2;
        nb = realloc(b->buf, ncap);
        if (!nb)
            return -ENOMEM;
        b->buf = nb;
        b->cap = ncap;
    }
    memcpy(b->buf + b->len, name, len);
    b->buf[b->len + len] = '\0';
    b->len += len + 1;
    return 0;
}

/* The node's child list, from the cache or built into it. */
static const struct dir_cache *dir_cached(struct engine *e,
                                          const struct node *n)
{
    struct dir_cache *dc;
    uint32_t i, off = 0;

    for (i = 0; i < DIR_CACHE_SLOTS; i++) {
        dc = &e->dir_cache[i];
        if (dc->node == n && dc->gen == n->gen)
            return dc;
    }
    dc = &e->dir_cache[e->dir_cache_next++ % DIR_CACHE_SLOTS];
    for (i = 0; i < node_nslots(n); i++) {
        const struct node *k = node_slot(n, i);

        if (!k || !node_live(k))
            continue;
        memcpy(dc->buf + off, node_name(k), k->namelen + 1u);
        off += k->namelen + 1u;
    }
    dc->node = n;
    dc->gen = n->gen;
    dc->len = off;
    return dc;
}

static void do_directory(struct req *r)
{
    struct strbuf b = { NULL, 0, 0, XENSTORE_PAYLOAD_MAX, false };
    char path[PATH_MAX_ABS];
    struct nview v;
    uint64_t gen;
    size_t len = 0;
    int rc;

    rc = canonical_arg(r, payload_onearg(r), path, &len);
    if (rc == 0)
        rc = get_node(r, path, len, PERM_READ, &v);
    if (rc == 0 && v.childlen > XENSTORE_PAYLOAD_MAX)
        rc = -E2BIG;
    if (rc == 0 && !r->tx) {
        const struct dir_cache *dc;

        dc = dir_cached(r->e, store_get(r->e->store, path, len));
        req_reply(r, XS_DIRECTORY, dc->buf, dc->len);
        return;
    }
    if (rc == 0)
        rc = view_list(r, path, len, strbuf_name, &b, &gen);
    if (rc == 0 && b.over)
        rc = -E2BIG;
    if (rc < 0)
        req_error(r, -rc, rc == -E2BIG ? "directory over 4096 bytes" : NULL);
    else
        req_reply(r, XS_DIRECTORY, b.buf ? b.buf : "", (unsigned int)b.len);
    free(b.buf);
}

/*
 * The child list of a big directory, serialized once per generation: the
 * DIRECTORY_PART requests that read it chunk by chunk then each cost one
 * chunk.  NULL on ENOMEM.
 */
static const char *big_list(struct engine *e, const struct node *n,
                            size_t *len_r)
{
    size_t need = node_childlen(n), off = 0;
    uint32_t i;

    if (need == 0) {
        *len_r = 0;
        return "";
    }
    if (e->big_node == n && e->big_gen == n->gen) {
        *len_r = e->big_len;
        return e->big_buf;
    }
    if (need > e->big_cap) {
        char *nb = realloc(e->big_buf, need);

        if (!nb)
            return NULL;
        e->big_buf = nb;
        e->big_cap = need;
    }
    for (i = 0; i < node_nslots(n); i++) {
        const struct node *k = node_slot(n, i);

        if (!k || !node_live(k))
            continue;
        memcpy(e->big_buf + off, node_name(k), k->namelen + 1u);
        off += k->namelen + 1u;
    }
    e->big_node = n;
    e->big_gen = n->gen;
    e->big_len = off;
    *len_r = off;
    return e->big_buf;
}

static void do_directory_part(struct req *r)
{
    struct strbuf b = { NULL, 0, 0, SIZE_MAX, false };
    char path[PATH_MAX_ABS], gen_s[24];
    const char *vec[2];
    size_t len = 0, off, plen, maxlen, genlen, n, listlen;
    const char *list, *end;
    struct nview v;
    uint64_t gen;
    char *out = NULL;
    int rc;

    if (payload_count(r->payload, r->len) != 2 ||
        payload_strings(r, vec, 2) != 2) {
        req_error(r, EINVAL, "DIRECTORY_PART needs a path and an offset");
        return;
    }
    rc = canonical_arg(r, vec[0], path, &len);
    if (rc == 0)
        rc = get_node(r, path, len, PERM_READ, &v);
    if (rc < 0) {
        req_error(r, -rc, NULL);
        return;
    }
    off = (size_t)(unsigned int)atoi(vec[1]);
    out = malloc(XENSTORE_PAYLOAD_MAX + 1);
    if (!out) {
        req_error(r, ENOMEM, NULL);
        return;
    }
    if (!r->tx) {
        const struct node *node = store_get(r->e->store, path, len);

        gen = node->gen;
        list = big_list(r->e, node, &listlen);
        if (!list) {
            req_error(r, ENOMEM, NULL);
            goto out;
        }
    } else {
        rc = view_list(r, path, len, strbuf_name, &b, &gen);
        if (rc < 0) {
            req_error(r, -rc, NULL);
            goto out;
        }
        list = b.buf;
        listlen = b.len;
    }
    genlen = (size_t)snprintf(gen_s, sizeof(gen_s), "%" PRIu64, gen) + 1;
    memcpy(out, gen_s, genlen);
    if (off >= listlen) {
        /* Past the end: the generation and an empty string. */
        out[genlen] = '\0';
        req_reply(r, XS_DIRECTORY_PART, out, (unsigned int)genlen + 1);
        goto out;
    }
    /*
     * As many whole names from off as fit, Xen's way: everything up to the
     * last NUL that lies within the room left (the list ends with a NUL).
     * One memrchr per chunk, not a strlen per name.
     */
    maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
    n = listlen - off < maxlen ? listlen - off : maxlen;
    end = memrchr(list + off, '\0', n);
    plen = end ? (size_t)(end - (list + off)) + 1 : 0;
    memcpy(out + genlen, list + off, plen);
    if (off + plen == listlen)
        out[genlen + plen++] = '\0';
    req_reply(r, XS_DIRECTORY_PART, out, (unsigned int)(genlen + plen));

out:
    free(out);
    free(b.buf);
}

static void do_get_perms(struct req *r)
{
    char path[PATH_MAX_ABS], buf[XENSTORE_PAYLOAD_MAX];
    struct nview v;
    size_t len = 0;
    int rc;

    rc = canonical_arg(r, payload_onearg(r), path, &len);
    if (rc == 0)
        rc = get_node(r, path, len, PERM_READ, &v);
    if (rc == 0)
        rc = perms_format(v.perms, v.nperms, buf, sizeof(buf));
    if (rc < 0) {
        req_error(r, -rc, NULL);
        return;
    }
    req_reply(r, XS_GET_PERMS, buf, (unsigned int)rc);
}

static void do_set_perms(struct req *r)
{
    struct engine *e = r->e;
    char path[PATH_MAX_ABS];
    unsigned int num = payload_count(r->payload, r->len);
    struct perm *perms = NULL, *old = NULL;
    unsigned int nold = 0;
    struct nview v;
    size_t len = 0;
    int rc;

    if (num < 2) {
        req_error(r, EINVAL, "SET_PERMS needs a path and permissions");
        return;
    }
    num--;
    if (!r->who.privileged && num > e->cfg.perms_per_node) {
        req_error(r, ENOSPC, "permission quota reached");
        return;
    }
    perms = malloc(num * sizeof(*perms));
    if (!perms) {
        req_error(r, ENOMEM, NULL);
        return;
    }
    rc = perms_parse(r->payload + strlen(r->payload) + 1, num, perms);
    if (rc < 0) {
        req_error(r, EINVAL, "malformed permissions");
        goto out;
    }
    if (r->payload[0] == '@') {
        rc = domain_special_set_perms(r, domain_special_index(r->payload),
                                      perms, num);
        if (rc < 0)
            req_error(r, -rc, "special path");
        else
            req_ack(r);
        goto out;
    }
    rc = canonical_arg(r, r->payload, path, &len);
    if (rc == 0)
        rc = get_node(r, path, len, PERM_WRITE | PERM_OWNER, &v);
    if (rc == 0 && !r->who.privileged && perms[0].id != v.perms[0].id)
        rc = -EPERM;
    if (rc == 0 && !r->who.privileged &&
        node_record_size(num, v.datalen, v.childlen) >= e->cfg.node_size)
        rc = -ENOSPC;
    if (rc < 0) {
        req_error(r, -rc, rc == -EPERM ? "only dom0 may change the owner"
                                       : NULL);
        goto out;
    }
    if (r->tx) {
        rc = tx_set(r, path, len, perms, num, NULL, STORE_KEEP_DATA, true);
        if (rc < 0) {
            req_error(r, -rc, NULL);
            goto out;
        }
    } else {
        struct node *n = store_get(e->store, path, len);

        nold = n->nperms;
        old = malloc(nold * sizeof(*old));
        if (!old) {
            req_error(r, ENOMEM, NULL);
            goto out;
        }
        memcpy(old, node_perms(n), nold * sizeof(*old));
        n = store_set(e->store, n, perms, num, NULL, STORE_KEEP_DATA);
        if (!n) {
            req_error(r, ENOMEM, NULL);
            goto out;
        }
        watch_fire(e, path, len, false, perms, num, old, nold);
    }
    req_ack(r);

out:
    free(perms);
    free(old);
}

static void do_reset_watches(struct req *r)
{
    engine_conn_reset(r->c);
    r->tx = NULL;
    req_ack(r);
}

/* ---------------------------------------------------------------- dispatch */

#define F_PRIV  0x1u   /* privileged connections only */
#define F_NOTX  0x2u   /* ignores the transaction id */

static const struct {
    void (*fn)(struct req *r);
    unsigned int flags;
} handlers[XS_TYPE_COUNT] = {
    [XS_CONTROL] = { control_do, F_PRIV },
    [XS_DIRECTORY] = { do_directory, 0 },
    [XS_READ] = { do_read, 0 },
    [XS_GET_PERMS] = { do_get_perms, 0 },
    [XS_WATCH] = { watch_do_watch, F_NOTX },
    [XS_UNWATCH] = { watch_do_unwatch, F_NOTX },
    [XS_TRANSACTION_START] = { tx_do_start, 0 },
    [XS_TRANSACTION_END] = { tx_do_end, 0 },
    [XS_INTRODUCE] = { domain_do_introduce, F_PRIV },
    [XS_RELEASE] = { domain_do_release, F_PRIV },
    [XS_GET_DOMAIN_PATH] = { domain_do_get_path, 0 },
    [XS_WRITE] = { do_write, 0 },
    [XS_MKDIR] = { do_mkdir, 0 },
    [XS_RM] = { do_rm, 0 },
    [XS_SET_PERMS] = { do_set_perms, 0 },
    [XS_IS_DOMAIN_INTRODUCED] = { domain_do_is_introduced, F_PRIV },
    [XS_RESUME] = { domain_do_resume, F_PRIV },
    [XS_SET_TARGET] = { domain_do_set_target, F_PRIV },
    [XS_RESET_WATCHES] = { do_reset_watches, 0 },
    [XS_DIRECTORY_PART] = { do_directory_part, 0 },
};

int engine_handle(struct engine *e, struct engine_conn *c,
                  const struct xsd_sockmsg *hdr, const char *payload)
{
    struct req r;

    if (hdr->len > XENSTORE_PAYLOAD_MAX)
        return -EINVAL;
    r.e = e;
    r.c = c;
    r.hdr = hdr;
    r.payload = payload;
    r.len = hdr->len;
    r.tx = NULL;
    r.replied = false;
    conn_who(c, &r.who);
    watch_request_begin(e);

    if (hdr->type >= XS_TYPE_COUNT || !handlers[hdr->type].fn) {
        req_error(&r, ENOSYS, "unknown request type");
        return 0;
    }
    if ((handlers[hdr->type].flags & F_PRIV) && !r.who.privileged) {
        req_error(&r, EACCES, "privileged request");
        return 0;
    }
    if (!(handlers[hdr->type].flags & F_NOTX) && hdr->tx_id) {
        r.tx = tx_lookup(c, hdr->tx_id);
        if (!r.tx) {
            req_error(&r, ENOENT, "unknown transaction");
            return 0;
        }
    }
    handlers[hdr->type].fn(&r);
    if (!r.replied) {
        engine_logf(e, ENGINE_LOG_ERROR, "domain %u: %s left unanswered",
                    c->domid, type_name(hdr->type));
        req_error(&r, EIO, NULL);
    }
    return 0;
}

/* ---------------------------------------------------------------- life */

struct engine *engine_new(const struct engine_config *cfg,
                          const struct engine_ops *ops, void *opaque)
{
    static const char *const initial[] = { "/tool", "/tool/xenstored" };
    struct store_hooks hooks;
    struct perm p = { 0, PERM_NONE };
    struct engine *e;
    struct domain *d0;
    size_t i;

    if (!cfg || !ops || !ops->send) {
        errno = EINVAL;
        return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        goto nomem;
    e->cfg = *cfg;
    e->ops = *ops;
    e->opaque = opaque;
    e->domains_cap = 256;
    e->domains = calloc(e->domains_cap, sizeof(*e->domains));
    e->dir_cache = calloc(DIR_CACHE_SLOTS, sizeof(*e->dir_cache));
    if (!e->domains || !e->dir_cache || domain_special_init(e) < 0 ||
        watch_index_init(e) < 0)
        goto fail;
    hooks.acct = domain_acct;
    hooks.acct_reserve = domain_acct_reserve;
    hooks.arg = e;
    e->store = store_new(&hooks);
    if (!e->store)
        goto fail;
    for (i = 0; i < 2; i++) {
        const char *path = initial[i];
        size_t len = strlen(path);
        struct node *parent = store_get(e->store, path,
                                        path_parent_len(path, len));

        if (!store_create(e->store, parent, path, len, &p, 1, NULL, 0))
            goto fail;
    }
    /* The control domain counts as introduced from the start, as in Xen */
    d0 = domain_get(e, 0);
    if (!d0)
        goto fail;
    d0->introduced = true;
    e->ndomains = 1;
    return e;

fail:
    engine_free(e);
nomem:
    errno = ENOMEM;
    return NULL;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    while (e->conns)
        engine_conn_free(e->conns);
    store_free(e->store);
    watch_index_free(e);
    domain_special_free(e);
    domain_table_free(e);
    free(e->dir_cache);
    free(e->big_buf);
    free(e);
}

struct engine_conn *engine_conn_new(struct engine *e, unsigned int domid,
                                    void *conn_opaque)
{
    struct engine_conn *c = calloc(1, sizeof(*c));

    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    c->e = e;
    c->domid = domid;
    c->opaque = conn_opaque;
    c->next_txid = 1;
    c->seq = ++e->seq;
    c->dom = domain_get(e, domid);
    if (!c->dom) {
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    c->implicit_len = (size_t)snprintf(c->implicit, sizeof(c->implicit),
                                       "/local/domain/%u", domid);
    c->next = e->conns;
    if (e->conns)
        e->conns->prev = c;
    e->conns = c;
    e->nconns++;
    return c;
}

void engine_conn_reset(struct engine_conn *c)
{
    watch_conn_drop_all(c);
    tx_conn_drop_all(c);
}

void engine_conn_free(struct engine_conn *c)
{
    struct engine *e;

    if (!c)
        return;
    e = c->e;
    engine_conn_reset(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        e->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    e->nconns--;
    free(c);
}

void *engine_conn_opaque(const struct engine_conn *c)
{
    return c->opaque;
}

unsigned int engine_conn_domid(const struct engine_conn *c)
{
    return c->domid;
}

int engine_check(struct engine *e, char *buf, size_t size)
{
    int rc = store_check(e->store, buf, size);

    if (rc == 0)
        rc = domain_check(e, buf, size);
    if (rc == -ENOMEM)
        snprintf(buf, size, "no memory for the check");
    return rc;
}

void engine_get_stats(const struct engine *e, struct engine_stats *st)
{
    st->nodes = store_nodes(e->store);
    st->watches = e->watches.count;
    st->transactions = e->ntx;
    st->connections = e->nconns;
    st->domains = e->ndomains;
    st->bytes = store_bytes(e->store);
}
