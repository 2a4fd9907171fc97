/*
 * check_dump.c: engine_dump(), the live update's and the crash
 * snapshot's view of the engine - replaying its requests into a fresh
 * engine gives back the same nodes, values, permissions, domains,
 * targets, special paths' permissions and watches, and a consistent
 * engine (CONTROL check); open transactions refuse it unless forced.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct dumped {
    int conn;                    /* index into h->conns, -1 restoring */
    struct xsd_sockmsg hdr;
    char *payload;
};

struct dump {
    struct h *h;
    struct dumped *r;
    size_t n, cap;
};

static int collect(void *arg, struct engine_conn *ec,
                   const struct xsd_sockmsg *hdr, const char *payload)
{
    struct dump *d = arg;
    unsigned int i;
    int conn = -1;

    if (ec) {
        for (i = 0; i < d->h->nconns; i++)
            if (d->h->conns[i] && d->h->conns[i]->c == ec)
                conn = (int)i;
        ck_assert_int_ge(conn, 0);
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->r = realloc(d->r, d->cap * sizeof(*d->r));
        ck_assert_ptr_nonnull(d->r);
    }
    d->r[d->n].conn = conn;
    d->r[d->n].hdr = *hdr;
    d->r[d->n].payload = malloc(hdr->len + 1);
    ck_assert_ptr_nonnull(d->r[d->n].payload);
    memcpy(d->r[d->n].payload, payload, hdr->len);
    d->n++;
    return 0;
}

static void dump_free(struct dump *d)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        free(d->r[i].payload);
    free(d->r);
}

/* The state of src; every request of it replayed into a new engine whose
 * connections mirror src's (same domids, same order). */
static struct h *replay(struct h *src)
{
    struct h *dst = h_new(NULL);
    struct hconn *rec, *mirror[64] = { NULL };
    struct dump d = { .h = src };
    unsigned int i;
    size_t k;

    ck_assert_int_eq(engine_dump(src->e, false, collect, &d), 0);
    for (i = 0; i < src->nconns; i++)
        if (src->conns[i])
            mirror[i] = h_conn(dst, src->conns[i]->domid);
    rec = h_conn(dst, 0);
    for (k = 0; k < d.n; k++) {
        struct hconn *c = d.r[k].conn < 0 ? rec : mirror[d.r[k].conn];
        const char *rep = h_callv(c, d.r[k].hdr.type, 0, d.r[k].payload,
                                  d.r[k].hdr.len);

        ck_assert_msg(rep[0] != '!', "replaying request %zu (type %u, "
                      "%s): %s", k, d.r[k].hdr.type, d.r[k].payload, rep);
        h_clear(c);
    }
    h_conn_close(rec);
    dump_free(&d);
    return dst;
}

static void same(struct hconn *a, struct hconn *b, const char *path)
{
    char ra[8192];

    snprintf(ra, sizeof(ra), "%s", h_read(a, 0, path));
    ck_assert_msg(!strcmp(ra, h_read(b, 0, path)), "%s: read", path);
    snprintf(ra, sizeof(ra), "%s", h_getperms(a, 0, path));
    ck_assert_msg(!strcmp(ra, h_getperms(b, 0, path)), "%s: perms %s",
                  path, ra);
    snprintf(ra, sizeof(ra), "%s", h_dir(a, 0, path));
    ck_assert_msg(!strcmp(ra, h_dir(b, 0, path)), "%s: children", path);
}

START_TEST(test_roundtrip)
{
    struct h *h = h_new(NULL), *n;
    struct hconn *d0 = h_conn(h, 0), *d3, *n0, *n3;
    char path[64], val[32];
    int i, j;

    /* a tree, values, permissions naming other domains */
    for (i = 0; i < 20; i++) {
        for (j = 0; j < 10; j++) {
            snprintf(path, sizeof(path), "/t/%d/%d", i, j);
            snprintf(val, sizeof(val), "v%d.%d", i, j);
            ck_assert_str_eq(h_write(d0, 0, path, val), "OK|");
        }
    }
    ck_assert_str_eq(h_setperms(d0, 0, "/t/3/4", "b3 r4 w5"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/t/7", "n4"), "OK|");
    ck_assert_str_eq(h_mkdir(d0, 0, "/empty"), "OK|");
    ck_assert_str_eq(H(d0, XS_WRITE, 0, "/bin\0a\0b"), "OK|");
    /* domains, a target, the special paths */
    ck_assert_str_eq(h_introduce(d0, 3), "OK|");
    ck_assert_str_eq(h_introduce(d0, 4), "OK|");
    ck_assert_str_eq(H(d0, XS_SET_TARGET, 0, "4\0" "3\0"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "@releaseDomain", "n0 r3"), "OK|");
    ck_assert_str_eq(h_write(d0, 0, "/local/domain/3/data", ""), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/3/data", "n3"), "OK|");
    /* watches: relative and absolute on a domain's connection */
    d3 = h_conn(h, 3);
    ck_assert_str_eq(h_watch(d3, "data", "rel"), "OK|");
    ck_assert_str_eq(h_watch(d3, "/t/3/4", "abs"), "OK|");
    ck_assert_str_eq(h_watch(d0, "@introduceDomain", "intro"), "OK|");

    n = replay(h);
    n0 = n->conns[0];
    n3 = n->conns[1];
    ck_assert_uint_eq(n3->domid, 3);
    same(d0, n0, "/");
    same(d0, n0, "/t");
    same(d0, n0, "/t/3/4");
    same(d0, n0, "/t/7");
    same(d0, n0, "/t/19/9");
    same(d0, n0, "/empty");
    same(d0, n0, "/local/domain/3/data");
    same(d0, n0, "/bin");
    ck_assert_str_eq(H(n0, XS_IS_DOMAIN_INTRODUCED, 0, "3\0"), "T|");
    ck_assert_str_eq(H(n0, XS_IS_DOMAIN_INTRODUCED, 0, "4\0"), "T|");
    ck_assert_str_eq(H(n0, XS_IS_DOMAIN_INTRODUCED, 0, "5\0"), "F|");
    /* the watches fire on the mirrored connections, as registered */
    h_clear(n0);
    h_clear(n3);
    ck_assert_str_eq(h_write(n0, 0, "/local/domain/3/data/x", "1"), "OK|");
    ck_assert(h_has_event(n3, "data/x|rel"));
    ck_assert_str_eq(h_write(n0, 0, "/t/3/4/y", "1"), "OK|");
    ck_assert(h_has_event(n3, "/t/3/4/y|abs"));
    ck_assert_str_eq(h_introduce(n0, 6), "OK|");
    ck_assert(h_has_event(n0, "@introduceDomain|intro"));
    /* @releaseDomain kept its permissions: domain 3 may read it */
    ck_assert_str_eq(h_watch(n3, "@releaseDomain", "rel2"), "OK|");
    h_clear(n3);
    ck_assert_str_eq(H(n0, XS_RELEASE, 0, "6\0"), "OK|");
    ck_assert(h_has_event(n3, "@releaseDomain|rel2"));
    /* and the new engine is consistent */
    ck_assert_str_eq(h_control(n0, "check"), "OK|");
    h_free(n);
    h_free(h);
}
END_TEST

START_TEST(test_busy_with_transactions)
{
    struct h *h = h_new(NULL);
    struct hconn *d0 = h_conn(h, 0);
    struct dump d = { .h = h };
    uint32_t tx = h_tstart(d0);

    ck_assert_uint_ne(tx, 0);
    ck_assert_str_eq(h_write(d0, tx, "/in-tx", "1"), "OK|");
    ck_assert_int_eq(engine_dump(h->e, false, collect, &d), -EBUSY);
    ck_assert_uint_eq(d.n, 0);
    /* forced: the transaction's write is not part of the state */
    ck_assert_int_eq(engine_dump(h->e, true, collect, &d), 0);
    for (size_t k = 0; k < d.n; k++)
        ck_assert_ptr_null(strstr(d.r[k].payload, "/in-tx"));
    dump_free(&d);
    ck_assert_str_eq(h_tend(d0, tx, true), "OK|");
    h_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dump");
    TCase *tc = tcase_create("dump");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_busy_with_transactions);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
