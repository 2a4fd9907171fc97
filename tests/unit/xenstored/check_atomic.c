/*
 * check_atomic.c: changes are all-or-nothing under memory exhaustion.
 *
 * This program is linked with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc (see Makefile.am): every allocation of the engine goes
 * through the wrappers below, which can make the k-th allocation after
 * arming fail (or every one from the k-th on).  Each scenario prepares a
 * store, then makes one request (a transaction commit, a WRITE creating
 * missing parents, an RM of a subtree, a RELEASE deleting the domain's
 * nodes, ...) with allocation k failing, for
 * k = 0, 1, 2, ... until the request no longer reaches k allocations.
 * After each attempt the store must be exactly as before (the request
 * failed with ENOMEM) or exactly as after a run without failures (the
 * request succeeded); a transaction open from before must still read the
 * store as it was; and the engine's own check (links, counters, quota
 * accounting) must pass.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* ---------------------------------------------------- failure injection */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

/*
 * Armed only around engine_handle() (the check library allocates in its
 * assertions: they must not fail).
 */
static struct {
    bool pending;        /* arm for the next request */
    bool armed;
    bool persistent;     /* fail every allocation from fail_at on */
    long fail_at;
    long count;          /* allocations since arming */
    long failed;         /* allocations made to fail */
} inj;

static bool inject(void)
{
    long i;

    if (!inj.armed)
        return false;
    i = inj.count++;
    if (i == inj.fail_at || (inj.persistent && i > inj.fail_at)) {
        inj.failed++;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t size)
{
    return inject() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return inject() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return inject() ? NULL : __real_realloc(p, size);
}

static void arm_next(long k, bool persistent)
{
    inj.count = 0;
    inj.failed = 0;
    inj.fail_at = k;
    inj.persistent = persistent;
    inj.pending = true;
}

/* ------------------------------------------------------------ driver */

struct tconn {
    struct engine_conn *c;
    struct xsd_sockmsg rhdr;
    unsigned int nreplies;
    char reply[XENSTORE_PAYLOAD_MAX + 2];
    unsigned int nevents;
};

static struct engine *e;
static struct tconn wr, snap;        /* the writer, the snapshot holder */
static struct tconn d5;              /* a connection of domain 5 */
static uint32_t snap_tx, wr_tx;

/* Records in static buffers: nothing here allocates. */
static int t_send(void *opaque, const struct xsd_sockmsg *hdr,
                  const void *payload)
{
    struct tconn *tc = opaque;

    if (hdr->type == XS_WATCH_EVENT) {
        tc->nevents++;
        return 0;
    }
    tc->nreplies++;
    tc->rhdr = *hdr;
    memcpy(tc->reply, payload, hdr->len);
    tc->reply[hdr->len] = '\0';
    return 0;
}

static const struct engine_ops t_ops = { .send = t_send };

/* One request; the reply as a string, "!ENAME" for an error. */
static const char *call(struct tconn *tc, uint32_t type, uint32_t tx,
                        const char *payload, size_t len)
{
    static char err[64];
    struct xsd_sockmsg hdr = { type, 7, tx, (uint32_t)len };

    int rc;

    tc->nreplies = 0;
    inj.armed = inj.pending;
    inj.pending = false;
    rc = engine_handle(e, tc->c, &hdr, payload);
    inj.armed = false;
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(tc->nreplies, 1);
    if (tc->rhdr.type == XS_ERROR) {
        err[0] = '!';
        snprintf(err + 1, sizeof(err) - 1, "%.32s", tc->reply);
        return err;
    }
    return tc->reply;
}

static const char *req1(struct tconn *tc, uint32_t type, uint32_t tx,
                        const char *arg)
{
    return call(tc, type, tx, arg, strlen(arg) + 1);
}

static const char *req2(struct tconn *tc, uint32_t type, uint32_t tx,
                        const char *a, const char *b, bool nul_b)
{
    char buf[512];
    size_t la = strlen(a), lb = strlen(b);

    ck_assert_uint_lt(la + lb + 2, sizeof(buf));
    memcpy(buf, a, la + 1);
    memcpy(buf + la + 1, b, lb + 1);
    return call(tc, type, tx, buf, la + 1 + lb + (nul_b ? 1 : 0));
}

static void ok(const char *reply)
{
    ck_assert_str_eq(reply, "OK");
}

static void w(uint32_t tx, const char *path, const char *value)
{
    ok(req2(&wr, XS_WRITE, tx, path, value, false));
}

/* perms: "b0\0r5\0" style, given with its length. */
static const char *setperms(uint32_t tx, const char *path, const char *p,
                            size_t plen)
{
    char buf[256];
    size_t l = strlen(path);

    memcpy(buf, path, l + 1);
    memcpy(buf + l + 1, p, plen);
    return call(&wr, XS_SET_PERMS, tx, buf, l + 1 + plen);
}

static uint32_t tstart(struct tconn *tc)
{
    const char *r = call(tc, XS_TRANSACTION_START, 0, "", 1);

    ck_assert(r[0] != '!');
    return (uint32_t)strtoul(r, NULL, 10);
}

/* -------------------------------------------------------------- dumps */

struct dump {
    char buf[1 << 16];
    size_t len;
};

static void dump_add(struct dump *d, const char *s, size_t n)
{
    ck_assert_uint_lt(d->len + n, sizeof(d->buf));
    memcpy(d->buf + d->len, s, n);
    d->len += n;
    d->buf[d->len] = '\0';
}

/* The subtree at path as tc sees it in tx: path, value, perms per node. */
static void dump_node(struct tconn *tc, uint32_t tx, const char *path,
                      struct dump *d)
{
    char names[XENSTORE_PAYLOAD_MAX + 2], sub[512];
    const char *r;
    size_t off, n;

    dump_add(d, path, strlen(path));
    r = req1(tc, XS_READ, tx, path);
    dump_add(d, "=", 1);
    dump_add(d, r, strlen(r));
    r = req1(tc, XS_GET_PERMS, tx, path);
    dump_add(d, " [", 2);
    for (n = 0; n < tc->rhdr.len; n++)
        dump_add(d, r[n] ? r + n : ",", 1);
    dump_add(d, "]\n", 2);
    req1(tc, XS_DIRECTORY, tx, path);
    ck_assert_uint_ne(tc->rhdr.type, XS_ERROR);
    n = tc->rhdr.len;
    memcpy(names, tc->reply, n);
    for (off = 0; off < n; off += strlen(names + off) + 1) {
        snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "",
                 names + off);
        dump_node(tc, tx, sub, d);
    }
}

static void dump_store(struct tconn *tc, uint32_t tx, struct dump *d)
{
    d->len = 0;
    d->buf[0] = '\0';
    dump_node(tc, tx, "/", d);
}

static void engine_ok(void)
{
    char why[256];

    ck_assert_msg(engine_check(e, why, sizeof(why)) == 0, "%s", why);
    ck_assert_uint_eq(store_batch_misses(e->store), 0);
}

/* ---------------------------------------------------------- scenarios */

struct scenario {
    const char *name;
    bool snapshot;               /* a transaction open from before */
    bool prep_first;             /* prepare before it starts */
    void (*prepare)(void);
    const char *(*act)(void);
};

static void new_engine(const struct scenario *sc)
{
    struct engine_config cfg;

    engine_config_init(&cfg);
    e = engine_new(&cfg, &t_ops, NULL);
    ck_assert_ptr_nonnull(e);
    memset(&wr, 0, sizeof(wr));
    memset(&snap, 0, sizeof(snap));
    wr.c = engine_conn_new(e, 0, &wr);
    snap.c = engine_conn_new(e, 0, &snap);
    ck_assert_ptr_nonnull(wr.c);
    ck_assert_ptr_nonnull(snap.c);
    w(0, "/a/x", "1");
    w(0, "/a/y/z", "2");
    w(0, "/b/q", "3");
    w(0, "/b/r/s", "4");
    w(0, "/d/e", "5");
    ok(setperms(0, "/b/q", "r0\0b3\0", 6));
    ok(req2(&wr, XS_WATCH, 0, "/", "tok", true));
    snap_tx = 0;
    if (sc->prep_first)
        sc->prepare();
    if (sc->snapshot) {
        snap_tx = tstart(&snap);
        /* The snapshot holder has seen everything: all of it is kept. */
        ck_assert_str_eq(req1(&snap, XS_READ, snap_tx, "/a/x"), "1");
        /* Deleted after it started: kept as deleted nodes. */
        ok(req1(&wr, XS_RM, 0, "/d/e"));
    }
    if (!sc->prep_first)
        sc->prepare();
}

/* A transaction doing a bit of everything. */
static void prep_commit(void)
{
    static const char *const kids[] = { "k1", "k2", "k3", "k4", "k5" };
    char path[32];
    size_t i;

    wr_tx = tstart(&wr);
    w(wr_tx, "/a/x", "changed, and longer than before");
    for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
        snprintf(path, sizeof(path), "/a/%s", kids[i]);
        w(wr_tx, path, kids[i]);
    }
    w(wr_tx, "/n1/n2/n3", "deep");
    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/n1/m%zu", i);
        w(wr_tx, path, "");
    }
    ok(setperms(wr_tx, "/a/y", "b0\0r1\0r2\0", 9));
    ok(req1(&wr, XS_MKDIR, wr_tx, "/a/y/z/w"));
    ok(req1(&wr, XS_RM, wr_tx, "/b"));
    /* Revives /d/e where the snapshot keeps it deleted. */
    w(wr_tx, "/d/e/f", "again");
}

static const char *act_commit(void)
{
    return req1(&wr, XS_TRANSACTION_END, wr_tx, "T");
}

static void prep_none(void)
{
}

static const char *act_write_parents(void)
{
    return req2(&wr, XS_WRITE, 0, "/a/y/p/q/r", "new", false);
}

static const char *act_write_revive(void)
{
    return req2(&wr, XS_WRITE, 0, "/d/e/f/g", "back", false);
}

static const char *act_rm_subtree(void)
{
    return req1(&wr, XS_RM, 0, "/a");
}

static const char *act_set_perms(void)
{
    return setperms(0, "/a/y/z", "n0\0r1\0b2\0w3\0", 12);
}

/* Domain 5 owns nodes in two places and has a transaction open. */
static void prep_release(void)
{
    static const char intro[] = "5\0" "1234\0" "3";
    uint32_t t;

    ok(call(&wr, XS_INTRODUCE, 0, intro, sizeof(intro)));
    ok(req1(&wr, XS_MKDIR, 0, "/local/domain/5"));
    ok(setperms(0, "/local/domain/5", "n5\0", 3));
    w(0, "/local/domain/5/x/y", "mine");
    w(0, "/a/y/own", "orphan");
    ok(setperms(0, "/a/y/own", "b5\0", 3));
    memset(&d5, 0, sizeof(d5));
    d5.c = engine_conn_new(e, 5, &d5);
    ck_assert_ptr_nonnull(d5.c);
    t = tstart(&d5);
    ck_assert_str_eq(req1(&d5, XS_READ, t, "/local/domain/5/x/y"), "mine");
    /* Changed after it started: the store keeps the old state for it. */
    w(0, "/local/domain/5/x/y", "changed");
}

static const char *act_release(void)
{
    return req1(&wr, XS_RELEASE, 0, "5");
}

static const char *act_write_new(void)
{
    return req2(&wr, XS_WRITE, 0, "/a/new", "node", false);
}

static const char *act_write_existing(void)
{
    return req2(&wr, XS_WRITE, 0, "/a/x", "a longer value than 1", false);
}

static const struct scenario scenarios[] = {
    { "commit, snapshot open", true, false, prep_commit, act_commit },
    { "commit", false, false, prep_commit, act_commit },
    { "write with parents, snapshot open", true, false, prep_none,
      act_write_parents },
    { "write with parents", false, false, prep_none, act_write_parents },
    { "write reviving deleted nodes", true, false, prep_none,
      act_write_revive },
    { "rm of a subtree, snapshot open", true, false, prep_none,
      act_rm_subtree },
    { "set_perms, snapshot open", true, false, prep_none, act_set_perms },
    { "write, snapshot open", true, false, prep_none, act_write_existing },
    { "write of a new node, snapshot open", true, false, prep_none,
      act_write_new },
    { "release with orphans", false, false, prep_release, act_release },
    { "release with orphans seen by a snapshot", true, true, prep_release,
      act_release },
};
#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static struct dump before, after, snapview, seen;

static void run_scenario(const struct scenario *sc, bool persistent)
{
    unsigned int failures = 0;
    const char *r;
    long k;

    /* The reference: what the store looks like before and after. */
    new_engine(sc);
    dump_store(&wr, 0, &before);
    if (sc->snapshot)
        dump_store(&snap, snap_tx, &snapview);
    ok(sc->act());
    dump_store(&wr, 0, &after);
    ck_assert_str_ne(before.buf, after.buf);
    engine_ok();
    engine_free(e);

    for (k = 0;; k++) {
        new_engine(sc);
        arm_next(k, persistent);
        r = sc->act();
        if (!strcmp(r, "OK")) {
            dump_store(&wr, 0, &seen);
            ck_assert_msg(!strcmp(seen.buf, after.buf),
                          "%s: allocation %ld failed, request succeeded, "
                          "store is\n%s\nexpected\n%s", sc->name, k,
                          seen.buf, after.buf);
        } else {
            ck_assert_msg(!strcmp(r, "!ENOMEM"), "%s: allocation %ld "
                          "failed: %s", sc->name, k, r);
            failures++;
            dump_store(&wr, 0, &seen);
            ck_assert_msg(!strcmp(seen.buf, before.buf),
                          "%s: allocation %ld failed, request failed, "
                          "store is\n%s\nexpected\n%s", sc->name, k,
                          seen.buf, before.buf);
        }
        if (sc->snapshot) {
            /* What the snapshot sees never changed. */
            dump_store(&snap, snap_tx, &seen);
            ck_assert_str_eq(seen.buf, snapview.buf);
        }
        engine_ok();
        engine_free(e);
        if (inj.count <= k)
            break;   /* allocation k was never reached: all covered */
    }
    /* Every scenario takes memory; some failure must have been seen. */
    ck_assert_uint_gt(failures, 0);
}

START_TEST(test_fail_one)
{
    run_scenario(&scenarios[_i], false);
}
END_TEST

START_TEST(test_fail_from)
{
    run_scenario(&scenarios[_i], true);
}
END_TEST

/* Without failures, batches never allocate outside their plan. */
START_TEST(test_commit_plan_exact)
{
    char path[32];
    uint32_t t, t2;
    int i;

    new_engine(&scenarios[0]);
    t = tstart(&wr);
    t2 = tstart(&snap);
    for (i = 0; i < 300; i++) {
        snprintf(path, sizeof(path), "/big/c%d/x", i);
        w(t, path, "v");
        if (i % 3 == 0) {
            snprintf(path, sizeof(path), "/a/c%d", i);
            w(t, path, "w");
        }
    }
    ok(req1(&wr, XS_RM, t, "/b"));
    ck_assert_str_eq(req1(&snap, XS_READ, t2, "/b/q"), "3");
    ok(req1(&wr, XS_TRANSACTION_END, t, "T"));
    ck_assert_str_eq(req1(&snap, XS_READ, t2, "/b/q"), "3");
    ck_assert_str_eq(req1(&wr, XS_READ, 0, "/big/c299/x"), "v");
    ck_assert_str_eq(req1(&wr, XS_READ, 0, "/b/q"), "!ENOENT");
    engine_ok();
    engine_free(e);
}
END_TEST

static Suite *atomic_suite(void)
{
    Suite *s = suite_create("atomic");
    TCase *tc = tcase_create("allocation failures");

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_fail_one, 0, NSCENARIOS);
    tcase_add_loop_test(tc, test_fail_from, 0, NSCENARIOS);
    tcase_add_test(tc, test_commit_plan_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(atomic_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
