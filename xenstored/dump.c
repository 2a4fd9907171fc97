/*
 * dump.c: the engine's state as the requests that rebuild it (live
 * update).  Replaying them, in order, into a fresh engine gives the same
 * nodes with the same values and permissions, the same domains
 * introduced (with their targets), the same permissions on the special
 * paths and, on each connection, the same watches in the same order.
 * Generations, quota counters and duplicate-event memory are the new
 * engine's own.  Transactions are not carried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "domain.h"
#include "watch.h"

struct dumper {
    struct engine *e;
    engine_dump_fn emit;
    void *arg;
    char *buf;                   /* one request's payload */
    char path[PATH_MAX_ABS + 1];
};

static int emit(struct dumper *d, struct engine_conn *c, uint32_t type,
                size_t len)
{
    struct xsd_sockmsg hdr = { .type = type, .len = (uint32_t)len };

    if (len > XENSTORE_PAYLOAD_MAX)
        return -E2BIG;
    return d->emit(d->arg, c, &hdr, d->buf);
}

/* "path\0perm\0perm\0..." for SET_PERMS; the payload's length or -E2BIG */
static int perms_payload(struct dumper *d, const char *path,
                         const struct perm *p, unsigned int n)
{
    size_t off = strlen(path) + 1;
    int r;

    if (off > XENSTORE_PAYLOAD_MAX)
        return -E2BIG;
    memcpy(d->buf, path, off);
    r = perms_format(p, n, d->buf + off, XENSTORE_PAYLOAD_MAX - off);
    return r < 0 ? r : (int)off + r;
}

/* One live node (WRITE of its value, then SET_PERMS), then its
 * children, parents before children. */
static int dump_node(struct dumper *d, const struct node *n)
{
    size_t plen;
    int r, len;
    uint32_t i;

    r = store_path(n, d->path, sizeof(d->path));
    if (r < 0)
        return r;
    plen = (size_t)r;
    if (n->parent) {
        /* the root has no value of its own to write */
        if (plen + 1 + n->datalen > XENSTORE_PAYLOAD_MAX)
            return -E2BIG;
        memcpy(d->buf, d->path, plen + 1);
        memcpy(d->buf + plen + 1, node_data(n), n->datalen);
        r = emit(d, NULL, XS_WRITE, plen + 1 + n->datalen);
        if (r < 0)
            return r;
    }
    len = perms_payload(d, d->path, node_perms(n), n->nperms);
    if (len < 0)
        return len;
    r = emit(d, NULL, XS_SET_PERMS, (size_t)len);
    if (r < 0)
        return r;
    for (i = 0; i < node_nslots(n); i++) {
        const struct node *k = node_slot(n, i);

        if (k && node_live(k)) {
            r = dump_node(d, k);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int cmp_domid(const void *a, const void *b)
{
    const struct domain *x = *(struct domain *const *)a;
    const struct domain *y = *(struct domain *const *)b;

    return x->domid < y->domid ? -1 : x->domid > y->domid;
}

/* INTRODUCE (and SET_TARGET) of every introduced domain, by domid; not
 * the control domain's: every engine starts with it. */
static int dump_domains(struct dumper *d)
{
    struct domain **list;
    size_t n = 0, i;
    int r = 0, len;

    for (i = 0; i < d->e->domains_cap; i++)
        for (struct domain *x = d->e->domains[i]; x; x = x->hnext)
            n++;
    list = calloc(n + 1, sizeof(*list));
    if (!list)
        return -ENOMEM;
    n = 0;
    for (i = 0; i < d->e->domains_cap; i++)
        for (struct domain *x = d->e->domains[i]; x; x = x->hnext)
            if (x->introduced && x->domid != 0)
                list[n++] = x;
    qsort(list, n, sizeof(*list), cmp_domid);
    for (i = 0; i < n && r >= 0; i++) {
        len = snprintf(d->buf, XENSTORE_PAYLOAD_MAX, "%u%c%lu%c%u%c",
                       list[i]->domid, 0, list[i]->mfn, 0, list[i]->port, 0);
        r = emit(d, NULL, XS_INTRODUCE, (size_t)len);
    }
    for (i = 0; i < n && r >= 0; i++) {
        if (!list[i]->has_target)
            continue;
        len = snprintf(d->buf, XENSTORE_PAYLOAD_MAX, "%u%c%u%c",
                       list[i]->domid, 0, list[i]->target, 0);
        r = emit(d, NULL, XS_SET_TARGET, (size_t)len);
    }
    free(list);
    return r;
}

/* WATCH of every watch, each on its connection, oldest first. */
static int dump_watches(struct dumper *d, struct engine_conn *c)
{
    const struct watch *w;
    size_t n = 0, i;
    const struct watch **list;
    int r = 0;

    for (w = c->watches; w; w = watch_next(w))
        n++;
    if (!n)
        return 0;
    list = calloc(n, sizeof(*list));
    if (!list)
        return -ENOMEM;
    i = n;
    for (w = c->watches; w; w = watch_next(w))
        list[--i] = w;
    for (i = 0; i < n && r >= 0; i++) {
        const char *path = watch_registered_path(list[i]);
        const char *token = watch_token(list[i]);
        size_t pl = strlen(path) + 1, tl = strlen(token) + 1;

        if (pl + tl > XENSTORE_PAYLOAD_MAX) {
            r = -E2BIG;
            break;
        }
        memcpy(d->buf, path, pl);
        memcpy(d->buf + pl, token, tl);
        r = emit(d, c, XS_WATCH, pl + tl);
    }
    free(list);
    return r;
}

int engine_dump(struct engine *e, bool force, engine_dump_fn fn, void *arg)
{
    struct dumper d = { .e = e, .emit = fn, .arg = arg };
    struct engine_conn *c;
    unsigned int i;
    int r, len;

    if (e->ntx && !force)
        return -EBUSY;
    d.buf = malloc(XENSTORE_PAYLOAD_MAX + 1);
    if (!d.buf)
        return -ENOMEM;
    r = dump_node(&d, store_root(e->store));
    for (i = 0; i < 2 && r >= 0; i++) {
        len = perms_payload(&d, i ? "@releaseDomain" : "@introduceDomain",
                            e->special_perms[i], e->special_nperms[i]);
        r = len < 0 ? len : emit(&d, NULL, XS_SET_PERMS, (size_t)len);
    }
    if (r >= 0)
        r = dump_domains(&d);
    for (c = e->conns; c && r >= 0; c = c->next)
        r = dump_watches(&d, c);
    free(d.buf);
    return r < 0 ? r : 0;
}
