/*
 * check_quota.c: every per-domain limit, Xen's defaults and Xen's errors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct h *h;
static struct hconn *d0, *d5;

static void start(const struct engine_config *cfg)
{
    h = h_new(cfg);
    d0 = h_conn(h, 0);
    ck_assert_str_eq(h_mkdir(d0, 0, "/local/domain/5"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/5", "n5"), "OK|");
    d5 = h_conn(h, 5);
}

static void teardown(void)
{
    if (h)
        h_free(h);
    h = NULL;
}

START_TEST(test_defaults)
{
    struct engine_config cfg;

    engine_config_init(&cfg);
    ck_assert_uint_eq(cfg.nodes_per_domain, 1000);
    ck_assert_uint_eq(cfg.node_size, 2048);
    ck_assert_uint_eq(cfg.watches_per_domain, 128);
    ck_assert_uint_eq(cfg.transactions, 10);
    ck_assert_uint_eq(cfg.perms_per_node, 5);
    ck_assert_uint_eq(cfg.path_max, 2048);
    ck_assert_uint_eq(cfg.transaction_nodes, 1024);
    ck_assert_uint_eq(cfg.memory_per_domain, 2621440);
    ck_assert_uint_eq(cfg.memory_soft, 2097152);
}
END_TEST

START_TEST(test_nodes_per_domain)
{
    struct engine_config cfg;
    char path[64];
    int i;

    engine_config_init(&cfg);
    cfg.nodes_per_domain = 20;
    start(&cfg);
    /* /local/domain/5 is owned by 5 already: 19 more fit. */
    for (i = 0; i < 19; i++) {
        snprintf(path, sizeof(path), "n%d", i);
        ck_assert_str_eq(h_write(d5, 0, path, "x"), "OK|");
    }
    ck_assert_str_eq(h_write(d5, 0, "one-more", "x"), "!ENOSPC");
    ck_assert(h_logged(h, "domain 5: WRITE refused: ENOSPC"));
    /* Overwriting and deleting still work. */
    ck_assert_str_eq(h_write(d5, 0, "n0", "y"), "OK|");
    ck_assert_str_eq(h_rm(d5, 0, "n0"), "OK|");
    ck_assert_str_eq(h_write(d5, 0, "again", "x"), "OK|");
    /* dom0 is exempt. */
    for (i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "/d0/n%d", i);
        ck_assert_str_eq(h_write(d0, 0, path, "x"), "OK|");
    }
}
END_TEST

START_TEST(test_node_size)
{
    char big[4000];

    start(NULL);
    memset(big, 'v', sizeof(big));
    big[2000] = '\0';
    ck_assert_str_eq(h_write(d5, 0, "small", "x"), "OK|");
    /* 24 + 8 + 2000 < 2048 */
    ck_assert_str_eq(h_write(d5, 0, "small", big), "OK|");
    big[2000] = 'v';
    big[2015] = '\0';
    /* 24 + 8 + 2015 = 2047: fits; one more byte does not. */
    ck_assert_str_eq(h_write(d5, 0, "small", big), "OK|");
    big[2015] = 'v';
    big[2016] = '\0';
    ck_assert_str_eq(h_write(d5, 0, "small", big), "!ENOSPC");
    ck_assert_str_eq(h_write(d5, 0, "new", big), "!ENOSPC");
    ck_assert_str_eq(h_read(d5, 0, "new"), "!ENOENT");
    big[2016] = 'v';
    big[3000] = '\0';
    ck_assert_str_eq(h_write(d0, 0, "/local/domain/5/small", big), "OK|");
}
END_TEST

START_TEST(test_watches_per_domain)
{
    struct engine_config cfg;
    char tok[32];
    unsigned int i;

    engine_config_init(&cfg);
    cfg.watches_per_domain = 4;
    start(&cfg);
    /* Xen refuses once the count is above the limit: limit + 1 fit. */
    for (i = 0; i <= cfg.watches_per_domain; i++) {
        snprintf(tok, sizeof(tok), "t%u", i);
        ck_assert_str_eq(h_watch(d5, "/local/domain/5", tok), "OK|");
    }
    ck_assert_str_eq(h_watch(d5, "/local/domain/5", "over"), "!E2BIG");
    ck_assert_str_eq(h_unwatch(d5, "/local/domain/5", "t0"), "OK|");
    ck_assert_str_eq(h_watch(d5, "/local/domain/5", "over"), "OK|");
    for (i = 0; i < 20; i++) {
        snprintf(tok, sizeof(tok), "t%u", i);
        ck_assert_str_eq(h_watch(d0, "/", tok), "OK|");
    }
}
END_TEST

START_TEST(test_transactions_per_conn)
{
    struct engine_config cfg;
    unsigned int i;

    engine_config_init(&cfg);
    cfg.transactions = 3;
    start(&cfg);
    /* As Xen: refused when more than the limit are open already. */
    for (i = 0; i <= cfg.transactions; i++)
        h_tstart(d5);
    ck_assert_str_eq(h_callv(d5, XS_TRANSACTION_START, 0, "", 1),
                     "!ENOSPC");
    for (i = 0; i < 20; i++)
        h_tstart(d0);
}
END_TEST

START_TEST(test_perms_per_node)
{
    start(NULL);
    ck_assert_str_eq(h_write(d5, 0, "p", ""), "OK|");
    ck_assert_str_eq(h_setperms(d5, 0, "p", "n5 r1 r2 r3 r4"), "OK|");
    ck_assert_str_eq(h_setperms(d5, 0, "p", "n5 r1 r2 r3 r4 r6"),
                     "!ENOSPC");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/5/p",
                                "n5 r1 r2 r3 r4 r6 r7 r8"), "OK|");
}
END_TEST

START_TEST(test_path_max)
{
    struct engine_config cfg;
    char path[300];

    engine_config_init(&cfg);
    cfg.path_max = 100;
    start(&cfg);
    memset(path, 'a', sizeof(path));
    path[100] = '\0';
    /* Relative to the domain's home. */
    ck_assert_str_eq(h_write(d5, 0, path, ""), "OK|");
    path[100] = 'a';
    path[101] = '\0';
    ck_assert_str_eq(h_write(d5, 0, path, ""), "!EINVAL");
    path[0] = '/';
    path[100] = '\0';
    ck_assert_str_eq(h_read(d0, 0, path), "!ENOENT");
    path[100] = 'a';
    ck_assert_str_eq(h_read(d0, 0, path), "!EINVAL");
}
END_TEST

START_TEST(test_transaction_nodes)
{
    struct engine_config cfg;
    char path[64];
    uint32_t t;
    int i;

    engine_config_init(&cfg);
    cfg.transaction_nodes = 10;
    start(&cfg);
    t = h_tstart(d5);
    /* Each write touches the node and its parent. */
    for (i = 0; i < 8; i++) {
        snprintf(path, sizeof(path), "n%d", i);
        ck_assert_str_eq(h_write(d5, t, path, "x"), "OK|");
    }
    ck_assert_str_eq(h_write(d5, t, "n8", "x"), "OK|");
    ck_assert_str_eq(h_write(d5, t, "n9", "x"), "!ENOSPC");
    /* Like Xen, the transaction cannot commit any more. */
    ck_assert_str_eq(h_tend(d5, t, true), "!ENOMEM");
    ck_assert_str_eq(h_read(d5, 0, "n0"), "!ENOENT");
    t = h_tstart(d0);
    for (i = 0; i < 30; i++) {
        snprintf(path, sizeof(path), "/dz/n%d", i);
        ck_assert_str_eq(h_write(d0, t, path, "x"), "OK|");
    }
    ck_assert_str_eq(h_tend(d0, t, true), "OK|");
}
END_TEST

START_TEST(test_nodes_quota_at_commit)
{
    struct engine_config cfg;
    char path[64];
    uint32_t t;
    int i;

    engine_config_init(&cfg);
    cfg.nodes_per_domain = 10;
    start(&cfg);
    t = h_tstart(d5);
    for (i = 0; i < 9; i++) {
        snprintf(path, sizeof(path), "n%d", i);
        ck_assert_str_eq(h_write(d5, t, path, "x"), "OK|");
    }
    ck_assert_str_eq(h_tend(d5, t, true), "!ENOSPC");
    ck_assert_str_eq(h_dir(d5, 0, "/local/domain/5"), "");
}
END_TEST

START_TEST(test_memory)
{
    struct engine_config cfg;
    char val[1500], path[32];
    int i;

    engine_config_init(&cfg);
    cfg.memory_per_domain = 8192;
    start(&cfg);
    memset(val, 'm', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    /* Writes succeed until the domain's accounted bytes reach 8192. */
    for (i = 0; i < 10; i++) {
        const char *r;

        snprintf(path, sizeof(path), "m%d", i);
        r = h_write(d5, 0, path, val);
        if (strcmp(r, "OK|")) {
            ck_assert_str_eq(r, "!ENOMEM");
            break;
        }
    }
    ck_assert_int_ge(i, 4);
    ck_assert_int_le(i, 5);
    ck_assert_str_eq(h_read(d5, 0, path), "!ENOENT");
    ck_assert_str_eq(h_rm(d5, 0, "m0"), "OK|");
    ck_assert_str_eq(h_write(d5, 0, path, val), "OK|");
    /* dom0 is exempt. */
    for (i = 0; i < 10; i++) {
        snprintf(path, sizeof(path), "/big%d", i);
        ck_assert_str_eq(h_write(d0, 0, path, val), "OK|");
    }
}
END_TEST

START_TEST(test_quota_control)
{
    struct engine_config cfg;

    engine_config_init(&cfg);
    start(&cfg);
    ck_assert_str_eq(h_control(d0, "quota set nodes 3"), "OK|");
    ck_assert_str_eq(h_write(d5, 0, "a", ""), "OK|");
    ck_assert_str_eq(h_write(d5, 0, "b", ""), "OK|");
    ck_assert_str_eq(h_write(d5, 0, "c", ""), "!ENOSPC");
    ck_assert_str_eq(h_control(d0, "quota set nodes 0"), "!EINVAL");
    ck_assert_str_eq(h_control(d0, "quota set bogus 5"), "!EINVAL");
    ck_assert_str_eq(h_control(d0, "quota-soft set memory 4096"), "OK|");
    ck_assert_ptr_nonnull(strstr(h_control(d0, "quota-soft"),
                                 "memory           :     4096 "));
    ck_assert_ptr_nonnull(strstr(h_control(d0, "quota 5"),
                                 "nodes           :        3"));
}
END_TEST

static Suite *quota_suite(void)
{
    Suite *s = suite_create("quota");
    TCase *tc = tcase_create("limits");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_nodes_per_domain);
    tcase_add_test(tc, test_node_size);
    tcase_add_test(tc, test_watches_per_domain);
    tcase_add_test(tc, test_transactions_per_conn);
    tcase_add_test(tc, test_perms_per_node);
    tcase_add_test(tc, test_path_max);
    tcase_add_test(tc, test_transaction_nodes);
    tcase_add_test(tc, test_nodes_quota_at_commit);
    tcase_add_test(tc, test_memory);
    tcase_add_test(tc, test_quota_control);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(quota_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
