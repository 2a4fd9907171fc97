/*
 * check_store.c: the multi-versioned node tree (store.h) on its own.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static struct store *s;
static long acct_nodes, acct_bytes;

static void acct(void *arg, unsigned int owner, int nodes, long bytes)
{
    (void)arg;
    (void)owner;
    acct_nodes += nodes;
    acct_bytes += bytes;
}

static void setup(void)
{
    struct store_hooks hooks = { .acct = acct, .arg = NULL };

    acct_nodes = acct_bytes = 0;
    s = store_new(&hooks);
    ck_assert_ptr_nonnull(s);
}

static void teardown(void)
{
    store_free(s);
}

static struct node *mk(const char *path, const char *val)
{
    static const struct perm p = { 0, PERM_NONE };
    size_t len = strlen(path), plen = len;
    struct node *parent;

    while (plen > 1 && path[plen - 1] != '/')
        plen--;
    if (plen > 1)
        plen--;
    parent = store_get(s, path, plen);
    ck_assert_ptr_nonnull(parent);
    return store_create(s, parent, path, len, &p, 1, val,
                        (unsigned int)strlen(val));
}

static struct node *get(const char *path)
{
    return store_get(s, path, strlen(path));
}

static void assert_check(void)
{
    char why[256];

    ck_assert_msg(store_check(s, why, sizeof(why)) == 0, "%s", why);
}

START_TEST(test_lookup)
{
    char buf[64];
    struct node *n;

    ck_assert_ptr_eq(get("/"), store_root(s));
    ck_assert_ptr_nonnull(mk("/a", "1"));
    ck_assert_ptr_nonnull(mk("/a/b", "2"));
    ck_assert_ptr_nonnull(mk("/ab", "3"));
    n = get("/a/b");
    ck_assert_ptr_nonnull(n);
    ck_assert_mem_eq(node_data(n), "2", 1);
    ck_assert_int_eq(store_path(n, buf, sizeof(buf)), 4);
    ck_assert_str_eq(buf, "/a/b");
    ck_assert_ptr_null(get("/a/c"));
    ck_assert_ptr_null(get("/b"));
    ck_assert_ptr_null(get("/ab/b"));
    ck_assert_int_eq(store_path(n, buf, 3), -E2BIG);
    ck_assert_uint_eq(store_nodes(s), 4);
    ck_assert_int_eq(acct_nodes, 4);
    assert_check();
}
END_TEST

START_TEST(test_many_nodes_and_delete)
{
    char path[64];
    int i;

    ck_assert_ptr_nonnull(mk("/big", ""));
    for (i = 0; i < 20000; i++) {
        snprintf(path, sizeof(path), "/big/n%d", i);
        ck_assert_ptr_nonnull(mk(path, "v"));
    }
    ck_assert_uint_eq(node_live_kids(get("/big")), 20000);
    for (i = 0; i < 20000; i += 2) {
        snprintf(path, sizeof(path), "/big/n%d", i);
        store_delete(s, get(path), NULL, NULL);
    }
    /* Holes are compacted as the list grows again. */
    for (i = 0; i < 20000; i += 2) {
        snprintf(path, sizeof(path), "/big/m%d", i);
        ck_assert_ptr_nonnull(mk(path, "v"));
    }
    assert_check();
    ck_assert_uint_eq(node_live_kids(get("/big")), 20000);
    store_delete(s, get("/big"), NULL, NULL);
    ck_assert_uint_eq(store_nodes(s), 1);
    ck_assert_int_eq(acct_nodes, 1);
    assert_check();
}
END_TEST

START_TEST(test_set_moves_node)
{
    char big[3000];
    struct perm p[3] = { { 1, PERM_READ }, { 2, PERM_WRITE }, { 3, 0 } };
    struct node *n;
    int i;

    ck_assert_ptr_nonnull(mk("/m", "x"));
    for (i = 0; i < 100; i++) {
        char path[32];

        snprintf(path, sizeof(path), "/m/k%d", i);
        ck_assert_ptr_nonnull(mk(path, ""));
    }
    memset(big, 'b', sizeof(big));
    n = store_set(s, get("/m"), NULL, 0, big, sizeof(big));
    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_eq(get("/m"), n);
    n = store_set(s, n, p, 3, NULL, STORE_KEEP_DATA);
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_eq(n->nperms, 3);
    ck_assert_uint_eq(n->datalen, sizeof(big));
    ck_assert_int_eq(node_data(n)[2999], 'b');
    ck_assert_ptr_eq(get("/m/k50")->parent, n);
    assert_check();
}
END_TEST

START_TEST(test_versions)
{
    struct node_state st;
    uint64_t snap;
    struct node *n;

    ck_assert_ptr_nonnull(mk("/v", "one"));
    snap = store_next_gen(s);
    ck_assert_int_eq(store_snap_open(s, snap), 0);
    n = store_set(s, get("/v"), NULL, 0, "two", 3);
    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_nonnull(mk("/w", "new"));
    store_state_at(s, n, snap, &st);
    ck_assert(st.exists);
    ck_assert_mem_eq(st.data, "one", 3);
    store_state_at(s, n, UINT64_MAX, &st);
    ck_assert_mem_eq(st.data, "two", 3);
    store_state_at(s, get("/w"), snap, &st);
    ck_assert(!st.exists);
    /* Deleted: kept for the snapshot, gone for everyone else. */
    store_delete(s, n, NULL, NULL);
    ck_assert_ptr_null(get("/v"));
    n = store_lookup(s, "/v", 2);
    ck_assert_ptr_nonnull(n);
    store_state_at(s, n, snap, &st);
    ck_assert(st.exists);
    ck_assert_mem_eq(st.data, "one", 3);
    ck_assert_uint_eq(store_nodes(s), 2);
    assert_check();
    store_snap_close(s, snap);
    ck_assert_ptr_null(store_lookup(s, "/v", 2));
    ck_assert_uint_eq(store_hist_count(s), 0);
    assert_check();
}
END_TEST

static int deleted;

static void count_cb(void *arg, const struct node *n, const char *path,
                     size_t len, bool top)
{
    (void)arg;
    (void)n;
    ck_assert_uint_eq(strlen(path), len);
    if (top)
        ck_assert_str_eq(path, "/d");
    deleted++;
}

START_TEST(test_delete_callback)
{
    ck_assert_ptr_nonnull(mk("/d", ""));
    ck_assert_ptr_nonnull(mk("/d/a", ""));
    ck_assert_ptr_nonnull(mk("/d/a/b", ""));
    ck_assert_ptr_nonnull(mk("/d/c", ""));
    deleted = 0;
    store_delete(s, get("/d"), count_cb, NULL);
    ck_assert_int_eq(deleted, 4);
    ck_assert_int_eq(acct_nodes, 1);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *su = suite_create("store");
    TCase *tc = tcase_create("tree");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lookup);
    tcase_add_test(tc, test_many_nodes_and_delete);
    tcase_add_test(tc, test_set_moves_node);
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_delete_callback);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
