/*
 * check_transaction.c: snapshot isolation, conflicts, abort, atomic commit
 * and watch firing at commit.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct h *h;
static struct hconn *a, *b;

static void setup(void)
{
    h = h_new(NULL);
    a = h_conn(h, 0);
    b = h_conn(h, 0);
}

static void teardown(void)
{
    h_free(h);
}

START_TEST(test_own_writes_visible)
{
    uint32_t t = h_tstart(a);

    ck_assert_uint_ne(t, 0);
    ck_assert_str_eq(h_write(a, t, "/t/x", "1"), "OK|");
    ck_assert_str_eq(h_read(a, t, "/t/x"), "1");
    ck_assert_str_eq(h_dir(a, t, "/t"), "x|");
    ck_assert_str_eq(h_getperms(a, t, "/t/x"), "n0|");
    /* Not visible outside before the commit. */
    ck_assert_str_eq(h_read(b, 0, "/t/x"), "!ENOENT");
    ck_assert_str_eq(h_read(a, 0, "/t/x"), "!ENOENT");
    ck_assert_str_eq(h_tend(a, t, true), "OK|");
    ck_assert_str_eq(h_read(b, 0, "/t/x"), "1");
    ck_assert_str_eq(h_tend(a, t, true), "!ENOENT");
}
END_TEST

START_TEST(test_snapshot_reads)
{
    uint32_t t;

    ck_assert_str_eq(h_write(b, 0, "/s/a", "old"), "OK|");
    ck_assert_str_eq(h_write(b, 0, "/s/gone", "here"), "OK|");
    t = h_tstart(a);
    /* Changes made after the start stay invisible to the transaction. */
    ck_assert_str_eq(h_write(b, 0, "/s/a", "new"), "OK|");
    ck_assert_str_eq(h_write(b, 0, "/s/added", "x"), "OK|");
    ck_assert_str_eq(h_rm(b, 0, "/s/gone"), "OK|");
    ck_assert_str_eq(h_read(a, t, "/s/a"), "old");
    ck_assert_str_eq(h_read(a, t, "/s/gone"), "here");
    ck_assert_str_eq(h_read(a, t, "/s/added"), "!ENOENT");
    ck_assert_str_eq(h_dir(a, t, "/s"), "a|gone|");
    /* Changed twice more: still the start state. */
    ck_assert_str_eq(h_write(b, 0, "/s/a", "newer"), "OK|");
    ck_assert_str_eq(h_write(b, 0, "/s/gone", "back"), "OK|");
    ck_assert_str_eq(h_read(a, t, "/s/a"), "old");
    ck_assert_str_eq(h_read(a, t, "/s/gone"), "here");
    ck_assert_str_eq(h_read(b, 0, "/s/a"), "newer");
    /* It read what changed: the commit must fail. */
    ck_assert_str_eq(h_tend(a, t, true), "!EAGAIN");
    ck_assert_str_eq(h_tend(a, t, true), "!ENOENT");
    ck_assert_str_eq(h_control(a, "check"), "OK|");
}
END_TEST

START_TEST(test_snapshot_of_deleted_subtree)
{
    struct engine_stats st;
    uint32_t t;

    ck_assert_str_eq(h_write(b, 0, "/d/x/y", "deep"), "OK|");
    t = h_tstart(a);
    ck_assert_str_eq(h_rm(b, 0, "/d"), "OK|");
    ck_assert_str_eq(h_read(b, 0, "/d/x/y"), "!ENOENT");
    ck_assert_str_eq(h_dir(b, 0, "/"), "tool|");
    ck_assert_str_eq(h_read(a, t, "/d/x/y"), "deep");
    ck_assert_str_eq(h_dir(a, t, "/"), "tool|d|");
    ck_assert_str_eq(h_dir(a, t, "/d"), "x|");
    /* Recreated outside: the snapshot still sees the old subtree. */
    ck_assert_str_eq(h_write(b, 0, "/d/x", "new"), "OK|");
    ck_assert_str_eq(h_read(a, t, "/d/x"), "");
    ck_assert_str_eq(h_dir(a, t, "/d/x"), "y|");
    ck_assert_str_eq(h_dir(b, 0, "/d/x"), "");
    ck_assert_str_eq(h_tend(a, t, false), "OK|");
    /* All old versions are pruned once no transaction needs them. */
    engine_get_stats(h->e, &st);
    ck_assert_uint_eq(st.transactions, 0);
    ck_assert_uint_eq(st.nodes, 5);
    ck_assert_str_eq(h_control(a, "check"), "OK|");
    ck_assert_str_eq(h_read(b, 0, "/d/x/y"), "!ENOENT");
}
END_TEST

START_TEST(test_conflict_same_node)
{
    uint32_t t1, t2;

    ck_assert_str_eq(h_write(a, 0, "/n", "0"), "OK|");
    t1 = h_tstart(a);
    t2 = h_tstart(b);
    ck_assert_str_eq(h_read(a, t1, "/n"), "0");
    ck_assert_str_eq(h_read(b, t2, "/n"), "0");
    ck_assert_str_eq(h_write(a, t1, "/n", "1"), "OK|");
    ck_assert_str_eq(h_write(b, t2, "/n", "2"), "OK|");
    ck_assert_str_eq(h_tend(a, t1, true), "OK|");
    ck_assert_str_eq(h_tend(b, t2, true), "!EAGAIN");
    ck_assert_str_eq(h_read(a, 0, "/n"), "1");
}
END_TEST

START_TEST(test_conflict_write_only)
{
    struct hconn *d1 = h_conn(h, 1), *d1b = h_conn(h, 1);
    uint32_t t1, t2;

    ck_assert_str_eq(h_write(a, 0, "/n", "0"), "OK|");
    ck_assert_str_eq(h_watch(a, "/n", "tok"), "OK|");
    h_clear(a);
    t1 = h_tstart(a);
    t2 = h_tstart(b);
    /*
     * Blind overwrites of one node depend on its perms alone: both commit,
     * in commit order, each firing the watch.
     */
    ck_assert_str_eq(h_write(a, t1, "/n", "1"), "OK|");
    ck_assert_str_eq(h_write(b, t2, "/n", "2"), "OK|");
    ck_assert_str_eq(h_tend(b, t2, true), "OK|");
    ck_assert_str_eq(h_read(a, t1, "/n"), "1");
    ck_assert_str_eq(h_tend(a, t1, true), "OK|");
    ck_assert_str_eq(h_read(a, 0, "/n"), "1");
    ck_assert_uint_eq(h_nevents(a), 2);

    /* ... but not once its perms changed: the write relied on them. */
    t1 = h_tstart(a);
    ck_assert_str_eq(h_write(a, t1, "/n", "3"), "OK|");
    ck_assert_str_eq(h_setperms(b, 0, "/n", "n0 r1"), "OK|");
    ck_assert_str_eq(h_tend(a, t1, true), "!EAGAIN");
    ck_assert_str_eq(h_getperms(a, 0, "/n"), "n0|r1|");
    /* ... nor once it is gone (running the write now would create it). */
    t1 = h_tstart(a);
    ck_assert_str_eq(h_write(a, t1, "/n", "4"), "OK|");
    ck_assert_str_eq(h_rm(b, 0, "/n"), "OK|");
    ck_assert_str_eq(h_tend(a, t1, true), "!EAGAIN");
    ck_assert_str_eq(h_read(a, 0, "/n"), "!ENOENT");
    /* A refused write relied on the perms too. */
    ck_assert_str_eq(h_write(a, 0, "/m", "0"), "OK|");
    ck_assert_str_eq(h_setperms(a, 0, "/m", "n0 r1"), "OK|");
    t1 = h_tstart(d1);
    ck_assert_str_eq(h_write(d1, t1, "/m", "x"), "!EACCES");
    ck_assert_str_eq(h_setperms(a, 0, "/m", "n0 b1"), "OK|");
    ck_assert_str_eq(h_tend(d1, t1, true), "!EAGAIN");
    /* A read before the write makes it no longer blind. */
    t1 = h_tstart(a);
    ck_assert_str_eq(h_read(a, t1, "/m"), "0");
    ck_assert_str_eq(h_write(a, t1, "/m", "5"), "OK|");
    ck_assert_str_eq(h_write(b, 0, "/m", "6"), "OK|");
    ck_assert_str_eq(h_tend(a, t1, true), "!EAGAIN");
    ck_assert_str_eq(h_read(a, 0, "/m"), "6");
    /* A domain's writes hang on its quotas as well: they conflict. */
    t1 = h_tstart(d1);
    t2 = h_tstart(d1b);
    ck_assert_str_eq(h_write(d1, t1, "/m", "7"), "OK|");
    ck_assert_str_eq(h_write(d1b, t2, "/m", "8"), "OK|");
    ck_assert_str_eq(h_tend(d1b, t2, true), "OK|");
    ck_assert_str_eq(h_tend(d1, t1, true), "!EAGAIN");
    ck_assert_str_eq(h_read(a, 0, "/m"), "8");
    ck_assert_str_eq(h_control(a, "check"), "OK|");
}
END_TEST

START_TEST(test_conflict_parent_child)
{
    uint32_t t1, t2;

    ck_assert_str_eq(h_write(a, 0, "/p/c", "0"), "OK|");
    /* One transaction adds a child, the other removes the parent. */
    t1 = h_tstart(a);
    t2 = h_tstart(b);
    ck_assert_str_eq(h_write(a, t1, "/p/c/new", "x"), "OK|");
    ck_assert_str_eq(h_rm(b, t2, "/p"), "OK|");
    ck_assert_str_eq(h_tend(b, t2, true), "OK|");
    ck_assert_str_eq(h_tend(a, t1, true), "!EAGAIN");
    ck_assert_str_eq(h_read(a, 0, "/p/c/new"), "!ENOENT");
    ck_assert_str_eq(h_read(a, 0, "/p"), "!ENOENT");

    /* A listed directory that gains a child conflicts too. */
    ck_assert_str_eq(h_mkdir(a, 0, "/l"), "OK|");
    t1 = h_tstart(a);
    ck_assert_str_eq(h_dir(a, t1, "/l"), "");
    ck_assert_str_eq(h_write(a, t1, "/other", "1"), "OK|");
    ck_assert_str_eq(h_write(b, 0, "/l/kid", "1"), "OK|");
    ck_assert_str_eq(h_tend(a, t1, true), "!EAGAIN");
    ck_assert_str_eq(h_read(a, 0, "/other"), "!ENOENT");
}
END_TEST

START_TEST(test_no_conflict_disjoint)
{
    uint32_t t1, t2;

    ck_assert_str_eq(h_write(a, 0, "/x/a", "0"), "OK|");
    ck_assert_str_eq(h_write(a, 0, "/x/b", "0"), "OK|");
    t1 = h_tstart(a);
    t2 = h_tstart(b);
    ck_assert_str_eq(h_write(a, t1, "/x/a", "1"), "OK|");
    ck_assert_str_eq(h_write(b, t2, "/x/b", "2"), "OK|");
    ck_assert_str_eq(h_tend(a, t1, true), "OK|");
    ck_assert_str_eq(h_tend(b, t2, true), "OK|");
    ck_assert_str_eq(h_read(a, 0, "/x/a"), "1");
    ck_assert_str_eq(h_read(a, 0, "/x/b"), "2");
}
END_TEST

START_TEST(test_abort)
{
    uint32_t t = h_tstart(a);

    ck_assert_str_eq(h_write(a, t, "/ab/x", "1"), "OK|");
    ck_assert_str_eq(h_rm(a, t, "/tool"), "OK|");
    ck_assert_str_eq(h_read(a, t, "/tool"), "!ENOENT");
    ck_assert_str_eq(h_tend(a, t, false), "OK|");
    ck_assert_str_eq(h_read(a, 0, "/ab/x"), "!ENOENT");
    ck_assert_str_eq(h_dir(a, 0, "/tool"), "xenstored|");
}
END_TEST

START_TEST(test_atomic_commit)
{
    char path[64];
    uint32_t t = h_tstart(a);
    int i;

    for (i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "/atom/n%d", i);
        ck_assert_str_eq(h_write(a, t, path, "v"), "OK|");
        /* Nothing visible until the commit. */
        ck_assert_str_eq(h_read(b, 0, "/atom"), "!ENOENT");
    }
    ck_assert_str_eq(h_rm(a, t, "/tool/xenstored"), "OK|");
    ck_assert_str_eq(h_dir(b, 0, "/tool"), "xenstored|");
    ck_assert_str_eq(h_tend(a, t, true), "OK|");
    for (i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "/atom/n%d", i);
        ck_assert_str_eq(h_read(b, 0, path), "v");
    }
    ck_assert_str_eq(h_dir(b, 0, "/tool"), "");
    ck_assert_str_eq(h_control(a, "check"), "OK|");
}
END_TEST

START_TEST(test_delete_and_recreate_in_tx)
{
    uint32_t t;

    ck_assert_str_eq(h_write(a, 0, "/r/old", "1"), "OK|");
    t = h_tstart(a);
    ck_assert_str_eq(h_rm(a, t, "/r"), "OK|");
    ck_assert_str_eq(h_read(a, t, "/r/old"), "!ENOENT");
    ck_assert_str_eq(h_write(a, t, "/r/new", "2"), "OK|");
    ck_assert_str_eq(h_dir(a, t, "/r"), "new|");
    ck_assert_str_eq(h_tend(a, t, true), "OK|");
    ck_assert_str_eq(h_dir(a, 0, "/r"), "new|");
    ck_assert_str_eq(h_read(a, 0, "/r/old"), "!ENOENT");
    ck_assert_str_eq(h_control(a, "check"), "OK|");
}
END_TEST

START_TEST(test_watches_fire_on_commit)
{
    uint32_t t;

    ck_assert_str_eq(h_watch(b, "/w", "tok"), "OK|");
    h_clear(b);
    t = h_tstart(a);
    ck_assert_str_eq(h_write(a, t, "/w/x", "1"), "OK|");
    ck_assert_str_eq(h_write(a, t, "/w/x", "2"), "OK|");
    ck_assert_str_eq(h_write(a, t, "/w/y", "3"), "OK|");
    ck_assert_uint_eq(h_nevents(b), 0);
    ck_assert_str_eq(h_tend(a, t, true), "OK|");
    /* One event per changed node, not per write. */
    ck_assert_uint_eq(h_nevents(b), 2);
    ck_assert_str_eq(h_event(b, 0), "/w/x|tok");
    ck_assert_str_eq(h_event(b, 1), "/w/y|tok");
    h_clear(b);

    /* Nothing for an aborted or failed transaction. */
    t = h_tstart(a);
    ck_assert_str_eq(h_write(a, t, "/w/x", "9"), "OK|");
    ck_assert_str_eq(h_tend(a, t, false), "OK|");
    ck_assert_uint_eq(h_nevents(b), 0);
    t = h_tstart(a);
    ck_assert_str_eq(h_read(a, t, "/w/x"), "2");
    ck_assert_str_eq(h_write(a, t, "/w/x", "9"), "OK|");
    ck_assert_str_eq(h_write(b, 0, "/w/x", "from-b"), "OK|");
    h_clear(b);
    ck_assert_str_eq(h_tend(a, t, true), "!EAGAIN");
    ck_assert_uint_eq(h_nevents(b), 0);
}
END_TEST

START_TEST(test_nested_and_ids)
{
    uint32_t t1 = h_tstart(a), t2 = h_tstart(a);
    const char *r;

    ck_assert_uint_ne(t1, t2);
    r = h_callv(a, XS_TRANSACTION_START, t1, "", 1);
    ck_assert_str_eq(r, "!EBUSY");
    ck_assert_str_eq(h_callv(a, XS_TRANSACTION_END, t1, "X", 2), "!EINVAL");
    ck_assert_str_eq(h_callv(a, XS_TRANSACTION_END, t1, "T", 1), "!EINVAL");
    /* Transactions belong to their connection. */
    ck_assert_str_eq(h_read(b, t1, "/"), "!ENOENT");
    ck_assert_str_eq(h_tend(a, t1, false), "OK|");
    ck_assert_str_eq(h_tend(a, t2, false), "OK|");
}
END_TEST

START_TEST(test_conn_free_aborts)
{
    struct engine_stats st;
    uint32_t t = h_tstart(a);

    ck_assert_str_eq(h_write(a, t, "/cf", "1"), "OK|");
    engine_get_stats(h->e, &st);
    ck_assert_uint_eq(st.transactions, 1);
    h_conn_close(a);
    engine_get_stats(h->e, &st);
    ck_assert_uint_eq(st.transactions, 0);
    ck_assert_str_eq(h_read(b, 0, "/cf"), "!ENOENT");
}
END_TEST

START_TEST(test_tx_set_perms_and_rm_fire)
{
    uint32_t t;

    ck_assert_str_eq(h_write(a, 0, "/q/a/b", "1"), "OK|");
    ck_assert_str_eq(h_watch(b, "/q/a/b", "sub"), "OK|");
    ck_assert_str_eq(h_watch(b, "/q", "top"), "OK|");
    h_clear(b);
    t = h_tstart(a);
    ck_assert_str_eq(h_setperms(a, t, "/q", "b0"), "OK|");
    ck_assert_str_eq(h_getperms(a, t, "/q"), "b0|");
    ck_assert_str_eq(h_getperms(b, 0, "/q"), "n0|");
    ck_assert_str_eq(h_rm(a, t, "/q/a"), "OK|");
    ck_assert_str_eq(h_tend(a, t, true), "OK|");
    ck_assert_str_eq(h_getperms(b, 0, "/q"), "b0|");
    ck_assert(h_has_event(b, "/q/a/b|sub"));
    ck_assert(h_has_event(b, "/q/a|top"));
    ck_assert(h_has_event(b, "/q|top"));
    ck_assert_uint_eq(h_nevents(b), 3);
}
END_TEST

START_TEST(test_many_transactions_prune)
{
    struct engine_stats st;
    uint32_t t[10];
    int i, round;

    ck_assert_str_eq(h_write(a, 0, "/m", "0"), "OK|");
    for (round = 0; round < 3; round++) {
        for (i = 0; i < 10; i++) {
            char v[16];

            t[i] = h_tstart(a);
            snprintf(v, sizeof(v), "%d", i);
            ck_assert_str_eq(h_write(b, 0, "/m", v), "OK|");
        }
        for (i = 0; i < 10; i++) {
            char v[16];

            snprintf(v, sizeof(v), "%d", i - 1);
            ck_assert_str_eq(h_read(a, t[i], "/m"), i ? v : (round ?
                             "9" : "0"));
        }
        for (i = 9; i >= 0; i--)
            ck_assert_str_eq(h_tend(a, t[i], false), "OK|");
    }
    engine_get_stats(h->e, &st);
    ck_assert_uint_eq(st.transactions, 0);
    ck_assert_str_eq(h_control(a, "check"), "OK|");
    ck_assert_str_eq(strstr(h_control(a, "memreport"), "versions"),
                     "versions: 0\n|");
}
END_TEST

/*
 * Random changes outside, random reads inside several open transactions:
 * every read must give what the store held when that transaction started.
 */
#define RP 13
static const char *const rpaths[RP] = {
    "/r", "/r/a", "/r/b", "/r/c", "/r/a/a", "/r/a/b", "/r/a/c",
    "/r/b/a", "/r/b/b", "/r/b/c", "/r/c/a", "/r/c/b", "/r/c/c",
};

struct snap {
    uint32_t tx;
    char val[RP][64];            /* READ reply ("!ENOENT" when missing) */
    char dir[RP][64];            /* DIRECTORY reply */
};

static void snap_take(struct hconn *c, struct snap *sn)
{
    int i;

    for (i = 0; i < RP; i++) {
        snprintf(sn->val[i], sizeof(sn->val[i]), "%s", h_read(c, 0,
                                                             rpaths[i]));
        snprintf(sn->dir[i], sizeof(sn->dir[i]), "%s", h_dir(c, 0,
                                                            rpaths[i]));
    }
}

START_TEST(test_random_snapshots)
{
    struct snap sn[4];
    bool open[4] = { false, false, false, false };
    unsigned int seed = 12345u + (unsigned int)_i;
    char val[32];
    int step, i;

    for (step = 0; step < 20000; step++) {
        int op = (int)(rand_r(&seed) % 10);
        int p = (int)(rand_r(&seed) % RP);
        int k = (int)(rand_r(&seed) % 4);

        switch (op) {
        case 0: case 1: case 2:
            snprintf(val, sizeof(val), "v%d", step);
            ck_assert_str_eq(h_write(b, 0, rpaths[p], val), "OK|");
            break;
        case 3:
            if (strcmp(rpaths[p], "/r"))
                h_rm(b, 0, rpaths[p]);
            break;
        case 4:
            ck_assert_str_eq(h_mkdir(b, 0, rpaths[p]), "OK|");
            break;
        case 5:
            if (!open[k]) {
                snap_take(b, &sn[k]);
                sn[k].tx = h_tstart(a);
                open[k] = true;
            }
            break;
        case 6:
            if (open[k]) {
                ck_assert_str_eq(h_tend(a, sn[k].tx, false), "OK|");
                open[k] = false;
            }
            break;
        default:
            for (i = 0; i < 4; i++) {
                if (!open[i])
                    continue;
                ck_assert_str_eq(h_read(a, sn[i].tx, rpaths[p]),
                                 sn[i].val[p]);
                ck_assert_str_eq(h_dir(a, sn[i].tx, rpaths[p]),
                                 sn[i].dir[p]);
            }
            break;
        }
        if (step % 50 == 0)
            ck_assert_str_eq(h_control(b, "check"), "OK|");
    }
    for (i = 0; i < 4; i++)
        if (open[i])
            ck_assert_str_eq(h_tend(a, sn[i].tx, false), "OK|");
    ck_assert_str_eq(h_control(b, "check"), "OK|");
    ck_assert_str_eq(strstr(h_control(a, "memreport"), "versions"),
                     "versions: 0\n|");
}
END_TEST

static Suite *tx_suite(void)
{
    Suite *s = suite_create("transaction");
    TCase *tc = tcase_create("isolation");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_own_writes_visible);
    tcase_add_test(tc, test_snapshot_reads);
    tcase_add_test(tc, test_snapshot_of_deleted_subtree);
    tcase_add_test(tc, test_conflict_same_node);
    tcase_add_test(tc, test_conflict_write_only);
    tcase_add_test(tc, test_conflict_parent_child);
    tcase_add_test(tc, test_no_conflict_disjoint);
    tcase_add_test(tc, test_abort);
    tcase_add_test(tc, test_atomic_commit);
    tcase_add_test(tc, test_delete_and_recreate_in_tx);
    tcase_add_test(tc, test_watches_fire_on_commit);
    tcase_add_test(tc, test_nested_and_ids);
    tcase_add_test(tc, test_conn_free_aborts);
    tcase_add_test(tc, test_tx_set_perms_and_rm_fire);
    tcase_add_test(tc, test_many_transactions_prune);
    tcase_add_loop_test(tc, test_random_snapshots, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tx_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
