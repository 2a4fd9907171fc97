/*
 * check_watch.c: watch registration and events.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct h *h;
static struct hconn *d0, *w;

static void setup(void)
{
    h = h_new(NULL);
    d0 = h_conn(h, 0);
    w = h_conn(h, 0);
}

static void teardown(void)
{
    h_free(h);
}

START_TEST(test_initial_event)
{
    ck_assert_str_eq(h_watch(w, "/a", "tok"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 1);
    ck_assert_str_eq(h_event(w, 0), "/a|tok");
    ck_assert_str_eq(h_watch(w, "/a", "tok"), "!EEXIST");
    ck_assert_str_eq(h_watch(w, "/a", "tok2"), "OK|");
    ck_assert_str_eq(h_watch(w, "@introduceDomain", "i"), "OK|");
    ck_assert_str_eq(h_watch(w, "@anything", "x"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 4);
    ck_assert_str_eq(h_event(w, 2), "@introduceDomain|i");
}
END_TEST

START_TEST(test_bad_watch)
{
    ck_assert_str_eq(H(w, XS_WATCH, 0, "/a\0tok"), "!EINVAL");
    ck_assert_str_eq(H(w, XS_WATCH, 0, "/a\0tok\0extra\0"), "!EINVAL");
    ck_assert_str_eq(H(w, XS_WATCH, 0, "/a/\0tok\0"), "!EINVAL");
    ck_assert_str_eq(H(w, XS_WATCH, 0, "\0tok\0"), "!EINVAL");
    ck_assert_str_eq(h_unwatch(w, "/a", "nope"), "!ENOENT");
    ck_assert_str_eq(H(w, XS_UNWATCH, 0, "/a\0"), "!EINVAL");
    ck_assert_uint_eq(h_nevents(w), 0);
}
END_TEST

START_TEST(test_fire_once_and_ancestors)
{
    ck_assert_str_eq(h_watch(w, "/a", "A"), "OK|");
    ck_assert_str_eq(h_watch(w, "/a/b/c", "C"), "OK|");
    ck_assert_str_eq(h_watch(w, "/", "ROOT"), "OK|");
    ck_assert_str_eq(h_watch(w, "/a/b/c/d/e", "E"), "OK|");
    h_clear(w);
    /* Creating /a/b/c fires the watches on it and on its ancestors
     * once, not those below it, and not for the parents it created. */
    ck_assert_str_eq(h_write(d0, 0, "/a/b/c", "1"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 3);
    ck_assert(h_has_event(w, "/a/b/c|A"));
    ck_assert(h_has_event(w, "/a/b/c|C"));
    ck_assert(h_has_event(w, "/a/b/c|ROOT"));
    h_clear(w);
    /* Writes fire even when nothing changes; mkdir of an existing node
     * does not. */
    ck_assert_str_eq(h_write(d0, 0, "/a/b/c", "1"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 3);
    h_clear(w);
    ck_assert_str_eq(h_mkdir(d0, 0, "/a/b/c"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 0);
    /* A prefix that is not an ancestor does not match. */
    ck_assert_str_eq(h_write(d0, 0, "/ab", "1"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 1);
    ck_assert_str_eq(h_event(w, 0), "/ab|ROOT");
}
END_TEST

START_TEST(test_rm_fires_subtree)
{
    ck_assert_str_eq(h_write(d0, 0, "/t/x", "1"), "OK|");
    ck_assert_str_eq(h_write(d0, 0, "/t/y/z", "1"), "OK|");
    ck_assert_str_eq(h_watch(w, "/t", "T"), "OK|");
    ck_assert_str_eq(h_watch(w, "/t/y/z", "Z"), "OK|");
    ck_assert_str_eq(h_watch(w, "/t/q", "Q"), "OK|");
    h_clear(w);
    ck_assert_str_eq(h_rm(d0, 0, "/t"), "OK|");
    /* As Xen: children first, watches inside the subtree by exact match,
     * the removed node's own watchers and ancestors once. */
    ck_assert_uint_eq(h_nevents(w), 2);
    ck_assert_str_eq(h_event(w, 0), "/t/y/z|Z");
    ck_assert_str_eq(h_event(w, 1), "/t|T");
    h_clear(w);
    ck_assert_str_eq(h_mkdir(d0, 0, "/t/y"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 1);
    ck_assert_str_eq(h_event(w, 0), "/t/y|T");
}
END_TEST

START_TEST(test_relative_watch)
{
    struct hconn *d3;

    ck_assert_str_eq(h_mkdir(d0, 0, "/local/domain/3"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/3", "n3"), "OK|");
    d3 = h_conn(h, 3);
    ck_assert_str_eq(h_watch(d3, "device", "rel"), "OK|");
    ck_assert_str_eq(h_event(d3, 0), "device|rel");
    ck_assert_str_eq(h_watch(d3, "/local/domain/3/device", "abs"), "OK|");
    h_clear(d3);
    ck_assert_str_eq(h_write(d0, 0, "/local/domain/3/device/vif/0", "x"),
                     "OK|");
    ck_assert(h_has_event(d3, "device/vif/0|rel"));
    ck_assert(h_has_event(d3, "/local/domain/3/device/vif/0|abs"));
    ck_assert_str_eq(h_unwatch(d3, "device", "rel"), "OK|");
    h_clear(d3);
    ck_assert_str_eq(h_write(d0, 0, "/local/domain/3/device/vif/0", "y"),
                     "OK|");
    ck_assert_uint_eq(h_nevents(d3), 1);
    ck_assert_str_eq(h_event(d3, 0), "/local/domain/3/device/vif/0|abs");
}
END_TEST

START_TEST(test_unwatch_and_reset)
{
    ck_assert_str_eq(h_watch(w, "/u", "1"), "OK|");
    ck_assert_str_eq(h_watch(w, "/u", "2"), "OK|");
    ck_assert_str_eq(h_unwatch(w, "/u", "1"), "OK|");
    ck_assert_str_eq(h_unwatch(w, "/u", "1"), "!ENOENT");
    h_clear(w);
    ck_assert_str_eq(h_write(d0, 0, "/u", ""), "OK|");
    ck_assert_uint_eq(h_nevents(w), 1);
    ck_assert_str_eq(h_event(w, 0), "/u|2");
    ck_assert_str_eq(H(w, XS_RESET_WATCHES, 0, ""), "OK|");
    h_clear(w);
    ck_assert_str_eq(h_write(d0, 0, "/u", ""), "OK|");
    ck_assert_uint_eq(h_nevents(w), 0);
    /* The token is free again. */
    ck_assert_str_eq(h_watch(w, "/u", "2"), "OK|");
}
END_TEST

START_TEST(test_watch_permission)
{
    struct hconn *d4;

    ck_assert_str_eq(h_write(d0, 0, "/secret/x", "1"), "OK|");
    d4 = h_conn(h, 4);
    ck_assert_str_eq(h_watch(d4, "/secret", "s"), "OK|");
    ck_assert_uint_eq(h_nevents(d4), 1); /* the initial one is always sent */
    h_clear(d4);
    ck_assert_str_eq(h_write(d0, 0, "/secret/x", "2"), "OK|");
    ck_assert_uint_eq(h_nevents(d4), 0);
    /* Readable node: delivered. */
    ck_assert_str_eq(h_setperms(d0, 0, "/secret/x", "n0 r4"), "OK|");
    h_clear(d4);
    ck_assert_str_eq(h_write(d0, 0, "/secret/x", "3"), "OK|");
    ck_assert_uint_eq(h_nevents(d4), 1);
    /* Losing access: the change of perms itself is still seen. */
    h_clear(d4);
    ck_assert_str_eq(h_setperms(d0, 0, "/secret/x", "n0"), "OK|");
    ck_assert_uint_eq(h_nevents(d4), 1);
    h_clear(d4);
    ck_assert_str_eq(h_write(d0, 0, "/secret/x", "4"), "OK|");
    ck_assert_uint_eq(h_nevents(d4), 0);
    /* A readable parent is enough. */
    ck_assert_str_eq(h_setperms(d0, 0, "/secret", "r0"), "OK|");
    h_clear(d4);
    ck_assert_str_eq(h_write(d0, 0, "/secret/x", "5"), "OK|");
    ck_assert_uint_eq(h_nevents(d4), 1);
}
END_TEST

START_TEST(test_special_watches)
{
    struct hconn *d6;

    ck_assert_str_eq(h_watch(w, "@introduceDomain", "intro"), "OK|");
    ck_assert_str_eq(h_watch(w, "@releaseDomain", "rel"), "OK|");
    d6 = h_conn(h, 6);
    ck_assert_str_eq(h_watch(d6, "@introduceDomain", "x"), "OK|");
    h_clear(w);
    h_clear(d6);
    ck_assert_str_eq(h_introduce(d0, 6), "OK|");
    ck_assert_uint_eq(h_nevents(w), 1);
    ck_assert_str_eq(h_event(w, 0), "@introduceDomain|intro");
    /* Special paths default to "n0": unprivileged watchers see nothing. */
    ck_assert_uint_eq(h_nevents(d6), 0);
    ck_assert_str_eq(h_setperms(d0, 0, "@introduceDomain", "n0 r6"), "OK|");
    ck_assert_str_eq(h_setperms(d6, 0, "@introduceDomain", "n6"),
                     "!EACCES");
    ck_assert_str_eq(h_setperms(d0, 0, "@nosuch", "n0"), "!ENOENT");
    ck_assert_str_eq(h_introduce(d0, 7), "OK|");
    ck_assert_uint_eq(h_nevents(d6), 1);
    ck_assert_str_eq(h_event(d6, 0), "@introduceDomain|x");
    h_clear(w);
    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "7\0"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 1);
    ck_assert_str_eq(h_event(w, 0), "@releaseDomain|rel");
    /* Writes never fire special watches. */
    h_clear(w);
    ck_assert_str_eq(h_write(d0, 0, "/any", "1"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 0);
}
END_TEST

START_TEST(test_many_watches_scale)
{
    char path[64], tok[32];
    int i;

    for (i = 0; i < 5000; i++) {
        snprintf(path, sizeof(path), "/many/n%d", i);
        snprintf(tok, sizeof(tok), "t%d", i);
        ck_assert_str_eq(h_watch(w, path, tok), "OK|");
        h_clear(w);
    }
    ck_assert_str_eq(h_write(d0, 0, "/many/n4321", "x"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 1);
    ck_assert_str_eq(h_event(w, 0), "/many/n4321|t4321");
    h_conn_close(w);
    ck_assert_str_eq(h_write(d0, 0, "/many/n4321", "y"), "OK|");
}
END_TEST

START_TEST(test_lost_event_logged)
{
    ck_assert_str_eq(h_watch(w, "/lost", "t"), "OK|");
    h_clear(w);
    w->fail_send = 1;
    ck_assert_str_eq(h_write(d0, 0, "/lost", "1"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 0);
    ck_assert(h_logged(h, "watch event /lost lost"));
    ck_assert_str_eq(h_write(d0, 0, "/lost", "2"), "OK|");
    ck_assert_uint_eq(h_nevents(w), 1);
}
END_TEST

static Suite *watch_suite(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = tcase_create("events");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_initial_event);
    tcase_add_test(tc, test_bad_watch);
    tcase_add_test(tc, test_fire_once_and_ancestors);
    tcase_add_test(tc, test_rm_fires_subtree);
    tcase_add_test(tc, test_relative_watch);
    tcase_add_test(tc, test_unwatch_and_reset);
    tcase_add_test(tc, test_watch_permission);
    tcase_add_test(tc, test_special_watches);
    tcase_add_test(tc, test_many_watches_scale);
    tcase_add_test(tc, test_lost_event_logged);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(watch_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
