/*
 * domain.c: domain table, domain requests and special watch paths.
 */
#include "domain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch.h"

static const char *const special_names[2] = {
    "@introduceDomain",
    "@releaseDomain",
};

/* ---------------------------------------------------------------- table */

static size_t dom_bucket(const struct engine *e, unsigned int domid)
{
    return (domid * 2654435761u) & (e->domains_cap - 1);
}

struct domain *domain_find(const struct engine *e, unsigned int domid)
{
    struct domain *d;

    for (d = e->domains[dom_bucket(e, domid)]; d; d = d->hnext)
        if (d->domid == domid)
            return d;
    return NULL;
}

struct domain *domain_get(struct engine *e, unsigned int domid)
{
    struct domain *d = domain_find(e, domid);
    size_t b;

    if (d)
        return d;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->domid = domid;
    b = dom_bucket(e, domid);
    d->hnext = e->domains[b];
    e->domains[b] = d;
    return d;
}

void domain_table_free(struct engine *e)
{
    struct domain *d, *next;
    size_t i;

    for (i = 0; i < e->domains_cap; i++) {
        for (d = e->domains[i]; d; d = next) {
            next = d->hnext;
            free(d);
        }
    }
    free(e->domains);
    e->domains = NULL;
}

void domain_acct(void *engine, unsigned int owner, int nodes, long bytes)
{
    struct engine *e = engine;
    struct domain *d = domain_get(e, owner);

    /* Without memory for the record the counters are lost, not the node. */
    if (!d) {
        engine_logf(e, ENGINE_LOG_ERROR,
                    "domain %u: no memory for its accounting record", owner);
        return;
    }
    d->nbentry += nodes;
    d->memory += bytes;
}

int domain_acct_reserve(void *engine, unsigned int owner)
{
    return domain_get(engine, owner) ? 0 : -ENOMEM;
}

/* ---------------------------------------------------------------- check */

struct recount {
    unsigned int domid;
    int nodes;
    int watches;
    long memory;
};

static int recount_cmp(const void *a, const void *b)
{
    const struct recount *x = a, *y = b;

    return x->domid < y->domid ? -1 : x->domid > y->domid;
}

static struct recount *recount_find(struct recount *rc, size_t n,
                                    unsigned int domid)
{
    struct recount key = { domid, 0, 0, 0 };

    return bsearch(&key, rc, n, sizeof(*rc), recount_cmp);
}

/* Adds the live subtree of n to the counts; false: an unknown owner. */
static bool recount_nodes(const struct node *n, struct recount *rc,
                          size_t nrc, unsigned int *bad_r)
{
    unsigned int owner = n->nperms ? node_perms(n)[0].id : 0;
    struct recount *c = recount_find(rc, nrc, owner);
    uint32_t i;

    if (!c) {
        *bad_r = owner;
        return false;
    }
    c->nodes++;
    c->memory += store_acct_bytes(n);
    for (i = 0; i < node_nslots(n); i++) {
        const struct node *k = node_slot(n, i);

        if (k && node_live(k) && !recount_nodes(k, rc, nrc, bad_r))
            return false;
    }
    return true;
}

int domain_check(struct engine *e, char *buf, size_t size)
{
    struct recount *rc;
    const struct engine_conn *c;
    const struct domain *d;
    size_t n = 0, i;
    unsigned int bad = 0;
    int ret = 0;

    for (i = 0; i < e->domains_cap; i++)
        for (d = e->domains[i]; d; d = d->hnext)
            n++;
    rc = calloc(n ? n : 1, sizeof(*rc));
    if (!rc)
        return -ENOMEM;
    n = 0;
    for (i = 0; i < e->domains_cap; i++)
        for (d = e->domains[i]; d; d = d->hnext)
            rc[n++].domid = d->domid;
    qsort(rc, n, sizeof(*rc), recount_cmp);
    if (!recount_nodes(store_root(e->store), rc, n, &bad)) {
        snprintf(buf, size, "nodes owned by domain %u, which has no "
                 "accounting record", bad);
        ret = -EIO;
        goto out;
    }
    for (c = e->conns; c; c = c->next) {
        struct recount *x = recount_find(rc, n, c->domid);
        int count = 0;
        long bytes = 0;

        watch_conn_usage(c, &count, &bytes);
        if (!count)
            continue;
        if (!x || c->dom != domain_find(e, c->domid)) {
            snprintf(buf, size, "connection of domain %u: no accounting "
                     "record", c->domid);
            ret = -EIO;
            goto out;
        }
        x->watches += count;
        x->memory += bytes;
    }
    for (i = 0; i < n; i++) {
        d = domain_find(e, rc[i].domid);
        if (d->nbentry != rc[i].nodes || d->nbwatch != rc[i].watches ||
            d->memory != rc[i].memory) {
            snprintf(buf, size, "domain %u: accounted %d nodes, %d "
                     "watches, %ld bytes; counted %d, %d, %ld", d->domid,
                     d->nbentry, d->nbwatch, d->memory, rc[i].nodes,
                     rc[i].watches, rc[i].memory);
            ret = -EIO;
            goto out;
        }
    }
out:
    free(rc);
    return ret;
}

/* ---------------------------------------------------------------- special */

int domain_special_index(const char *path)
{
    if (!strcmp(path, special_names[0]))
        return 0;
    if (!strcmp(path, special_names[1]))
        return 1;
    return -1;
}

int domain_special_init(struct engine *e)
{
    int i;

    for (i = 0; i < 2; i++) {
        e->special_perms[i] = calloc(1, sizeof(struct perm));
        if (!e->special_perms[i])
            return -ENOMEM;
        e->special_perms[i]->id = 0;
        e->special_perms[i]->bits = PERM_NONE;
        e->special_nperms[i] = 1;
    }
    return 0;
}

void domain_special_free(struct engine *e)
{
    free(e->special_perms[0]);
    free(e->special_perms[1]);
    e->special_perms[0] = e->special_perms[1] = NULL;
}

int domain_special_set_perms(struct req *r, int idx, const struct perm *p,
                             unsigned int n)
{
    struct engine *e = r->e;
    struct perm *copy;
    unsigned int bits;

    if (idx < 0)
        return -ENOENT; /* what Xen 4.17 answers for other @ paths */
    bits = perms_for(&r->who, e->special_perms[idx], e->special_nperms[idx]);
    if ((bits & (PERM_WRITE | PERM_OWNER)) != (PERM_WRITE | PERM_OWNER))
        return -EACCES;
    copy = malloc(n * sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    memcpy(copy, p, n * sizeof(*copy));
    free(e->special_perms[idx]);
    e->special_perms[idx] = copy;
    e->special_nperms[idx] = n;
    return 0;
}

bool domain_special_readable(const struct engine *e, int idx,
                             const struct engine_conn *c)
{
    struct perm_who who;

    conn_who(c, &who);
    return perms_for(&who, e->special_perms[idx], e->special_nperms[idx]) &
           PERM_READ;
}

/* ---------------------------------------------------------------- requests */

static void reset_domain_conns(struct engine *e, unsigned int domid)
{
    struct engine_conn *c;

    for (c = e->conns; c; c = c->next)
        if (c->domid == domid)
            engine_conn_reset(c);
}

void domain_do_introduce(struct req *r)
{
    struct engine *e = r->e;
    const char *vec[3];
    unsigned int domid;
    struct domain *d;
    long port;
    int rc;

    if (payload_strings(r, vec, 3) < 3) {
        req_error(r, EINVAL, "INTRODUCE needs domid, mfn and port");
        return;
    }
    domid = parse_uint(vec[0]);
    port = atol(vec[2]);
    if (port <= 0) {
        req_error(r, EINVAL, "INTRODUCE with a bad event channel port");
        return;
    }
    d = domain_get(e, domid);
    if (!d) {
        req_error(r, ENOMEM, "INTRODUCE: no memory for the domain record");
        return;
    }
    if (d->introduced) {
        /* Again: Xen re-binds the port and resets the connection. */
        d->port = (unsigned int)port;
        reset_domain_conns(e, domid);
        req_ack(r);
        return;
    }
    d->introduced = true;
    d->port = (unsigned int)port;
    d->mfn = strtoul(vec[1], NULL, 10);
    if (e->ops.domain_introduced) {
        rc = e->ops.domain_introduced(e->opaque, domid);
        if (rc < 0) {
            d->introduced = false;
            req_error(r, -rc, "INTRODUCE: the daemon could not connect it");
            return;
        }
    }
    e->ndomains++;
    engine_logf(e, ENGINE_LOG_INFO, "domain %u introduced (port %ld)",
                domid, port);
    if (domid != 0)
        watch_fire_special(e, 0);
    req_ack(r);
}

struct orphans {
    char **paths;
    size_t n, cap;
    bool nomem;
};

/* Kept out of line: its path buffer must not sit in every recursion frame. */
static __attribute__((noinline)) void add_orphan(const struct node *n,
                                                 struct orphans *o)
{
    char buf[PATH_MAX_ABS];
    int len = store_path(n, buf, sizeof(buf));
    char **np;

    if (len < 0)
        return;
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 16;

        np = realloc(o->paths, ncap * sizeof(*np));
        if (!np) {
            o->nomem = true;
            return;
        }
        o->paths = np;
        o->cap = ncap;
    }
    o->paths[o->n] = strdup(buf);
    if (!o->paths[o->n]) {
        o->nomem = true;
        return;
    }
    o->n++;
}

/* Collects the paths of the topmost live nodes owned by domid. */
static void collect_orphans(const struct node *n, unsigned int domid,
                            struct orphans *o)
{
    uint32_t i;

    if (n->parent && node_perms(n)[0].id == domid) {
        add_orphan(n, o);
        return;
    }
    for (i = 0; i < node_nslots(n); i++) {
        const struct node *k = node_slot(n, i);

        if (k && node_live(k))
            collect_orphans(k, domid, o);
    }
}

static void orphans_free(struct orphans *o)
{
    size_t i;

    for (i = 0; i < o->n; i++)
        free(o->paths[i]);
    free(o->paths);
}

/*
 * Xen deletes the nodes a released domain still owns.  Inside a store
 * batch: lists them and sets aside what deleting them takes.  0 or
 * -ENOMEM (nothing changed).
 */
static int plan_orphans(struct engine *e, struct domain *d,
                        struct orphans *o)
{
    size_t i;
    int rc = 0;

    if (d->nbentry <= 0)
        return 0;
    collect_orphans(store_root(e->store), d->domid, o);
    if (o->nomem)
        return -ENOMEM;
    for (i = 0; rc == 0 && i < o->n; i++) {
        struct node *n = store_get(e->store, o->paths[i],
                                   strlen(o->paths[i]));

        if (n)
            rc = store_plan_delete(e->store, n);
    }
    return rc;
}

/* The planned deletions: they cannot fail. */
static void remove_orphans(struct engine *e, struct domain *d,
                           const struct orphans *o)
{
    size_t i;

    for (i = 0; i < o->n; i++) {
        struct node *n = store_get(e->store, o->paths[i],
                                   strlen(o->paths[i]));

        if (!n)
            continue;
        engine_logf(e, ENGINE_LOG_INFO,
                    "domain %u released: deleting its node %s", d->domid,
                    o->paths[i]);
        if (engine_delete_node(e, n) < 0)
            engine_logf(e, ENGINE_LOG_ERROR,
                        "domain %u released: could not delete its node %s",
                        d->domid, o->paths[i]);
    }
}

static struct domain *onearg_domain(struct req *r, int *err)
{
    const char *arg = payload_onearg(r);
    unsigned int domid;
    struct domain *d;

    if (!arg) {
        *err = EINVAL;
        return NULL;
    }
    domid = parse_uint(arg);
    if (!domid) {
        *err = EINVAL;
        return NULL;
    }
    d = domain_find(r->e, domid);
    if (!d || !d->introduced) {
        *err = ENOENT;
        return NULL;
    }
    return d;
}

/*
 * Forgets an introduced domain (RELEASE, or the hypervisor says it is
 * dying or gone): deletes the nodes it owns, resets its connections, fires
 * @releaseDomain.  The caller calls ops.domain_released afterwards.
 * 0, or -ENOMEM with nothing changed.
 */
static int domain_forget(struct engine *e, struct domain *d)
{
    struct orphans o = { NULL, 0, 0, false };
    unsigned int domid = d->domid, i;

    /* All or nothing: what can fail comes first. */
    store_batch_begin(e->store);
    if (plan_orphans(e, d, &o) < 0) {
        store_batch_end(e->store);
        orphans_free(&o);
        return -ENOMEM;
    }
    d->introduced = false;
    d->shutdown = false;
    d->has_target = false;
    e->ndomains--;
    reset_domain_conns(e, domid);
    remove_orphans(e, d, &o);
    store_batch_end(e->store);
    orphans_free(&o);
    for (i = 0; i < 2; i++)
        e->special_nperms[i] = perms_remove_domid(e->special_perms[i],
                                                  e->special_nperms[i],
                                                  domid);
    engine_logf(e, ENGINE_LOG_INFO, "domain %u released", domid);
    watch_fire_special(e, 1);
    return 0;
}

void domain_do_release(struct req *r)
{
    struct engine *e = r->e;
    struct domain *d;
    unsigned int domid;
    int err;

    d = onearg_domain(r, &err);
    if (!d) {
        req_error(r, err, "RELEASE of a domain that is not introduced");
        return;
    }
    domid = d->domid;
    if (domain_forget(e, d) < 0) {
        req_error(r, ENOMEM, "RELEASE: no memory to delete the domain's "
                  "nodes");
        return;
    }
    req_ack(r);
    if (e->ops.domain_released)
        e->ops.domain_released(e->opaque, domid);
}

int engine_domains_changed(struct engine *e,
                           const struct engine_domain_info *info, size_t n)
{
    bool notify = false;
    int forgotten = 0, rc = 0;
    struct domain *d;
    size_t i;

    for (i = 0; i < n; i++) {
        d = domain_find(e, info[i].domid);
        if (!d || !d->introduced || info[i].state == ENGINE_DOMAIN_RUNNING)
            continue;
        if (info[i].state == ENGINE_DOMAIN_SHUTDOWN) {
            if (!d->shutdown) {
                d->shutdown = true;
                notify = true;
                engine_logf(e, ENGINE_LOG_INFO, "domain %u has shut down",
                            d->domid);
            }
            continue;
        }
        /* One event per domain forgotten, as Xen: not merged. */
        watch_request_begin(e);
        engine_logf(e, ENGINE_LOG_INFO, "domain %u is %s: forgetting it",
                    d->domid, info[i].state == ENGINE_DOMAIN_DYING ?
                    "dying" : "gone");
        if (domain_forget(e, d) < 0) {
            engine_logf(e, ENGINE_LOG_ERROR, "domain %u is %s: no memory "
                        "to delete its nodes; it stays introduced",
                        d->domid, info[i].state == ENGINE_DOMAIN_DYING ?
                        "dying" : "gone");
            rc = -ENOMEM;
            continue;
        }
        forgotten++;
        /* Its own event stands for the shutdowns seen so far (Xen). */
        notify = false;
        if (e->ops.domain_released)
            e->ops.domain_released(e->opaque, info[i].domid);
    }
    if (notify) {
        watch_request_begin(e);
        watch_fire_special(e, 1);
    }
    return rc < 0 ? rc : forgotten;
}

void domain_do_resume(struct req *r)
{
    struct domain *d;
    int err;

    d = onearg_domain(r, &err);
    if (!d) {
        req_error(r, err, "RESUME of a domain that is not introduced");
        return;
    }
    /* Resumed after a suspend: its next shutdown is news again. */
    d->shutdown = false;
    req_ack(r);
}

void domain_do_is_introduced(struct req *r)
{
    const char *arg = payload_onearg(r);
    struct domain *d;
    unsigned int domid;
    bool yes;

    if (!arg) {
        req_error(r, EINVAL, "IS_DOMAIN_INTRODUCED needs one domid");
        return;
    }
    domid = parse_uint(arg);
    d = domain_find(r->e, domid);
    yes = domid == DOMID_SELF_VALUE || (d && d->introduced);
    req_reply(r, XS_IS_DOMAIN_INTRODUCED, yes ? "T" : "F", 2);
}

void domain_do_get_path(struct req *r)
{
    const char *arg = payload_onearg(r);
    char buf[32];
    int len;

    if (!arg) {
        req_error(r, EINVAL, "GET_DOMAIN_PATH needs one domid");
        return;
    }
    len = snprintf(buf, sizeof(buf), "/local/domain/%u", parse_uint(arg));
    req_reply(r, XS_GET_DOMAIN_PATH, buf, (unsigned int)len + 1);
}

void domain_do_set_target(struct req *r)
{
    const char *vec[2];
    struct domain *d, *t;

    if (payload_strings(r, vec, 2) < 2) {
        req_error(r, EINVAL, "SET_TARGET needs two domids");
        return;
    }
    d = domain_find(r->e, parse_uint(vec[0]));
    t = domain_find(r->e, parse_uint(vec[1]));
    if (!d || !d->introduced || !t || !t->introduced) {
        req_error(r, ENOENT, "SET_TARGET of a domain not introduced");
        return;
    }
    d->has_target = true;
    d->target = t->domid;
    req_ack(r);
}
