/*
 * check_domain.c: INTRODUCE, RELEASE, RESUME, IS_DOMAIN_INTRODUCED,
 * SET_TARGET and GET_DOMAIN_PATH.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct h *h;
static struct hconn *d0;

static void setup(void)
{
    h = h_new(NULL);
    d0 = h_conn(h, 0);
}

static void teardown(void)
{
    h_free(h);
}

START_TEST(test_introduce)
{
    struct engine_stats st;

    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "7\0"), "F|");
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "0\0"), "T|");
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "32752\0"), "T|");
    ck_assert_str_eq(h_introduce(d0, 7), "OK|");
    ck_assert_uint_eq(h->nintroduced, 1);
    ck_assert_uint_eq(h->introduced[0], 7);
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "7\0"), "T|");
    engine_get_stats(h->e, &st);
    ck_assert_uint_eq(st.domains, 2);
    /* Again: accepted, no second callback. */
    ck_assert_str_eq(h_introduce(d0, 7), "OK|");
    ck_assert_uint_eq(h->nintroduced, 1);
}
END_TEST

START_TEST(test_introduce_errors)
{
    struct hconn *d3 = h_conn(h, 3);

    ck_assert_str_eq(H(d0, XS_INTRODUCE, 0, "7\0" "1\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_INTRODUCE, 0, "7\0" "1\0" "0\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_INTRODUCE, 0, "7\0" "1\0" "-3\0"), "!EINVAL");
    ck_assert_str_eq(h_introduce(d3, 9), "!EACCES");
    ck_assert_str_eq(H(d3, XS_IS_DOMAIN_INTRODUCED, 0, "0\0"), "!EACCES");
    ck_assert_str_eq(H(d3, XS_RELEASE, 0, "0\0"), "!EACCES");
    ck_assert_str_eq(H(d3, XS_RESUME, 0, "0\0"), "!EACCES");
    ck_assert_str_eq(H(d3, XS_CONTROL, 0, "help\0"), "!EACCES");
    ck_assert(h_logged(h, "domain 3: INTRODUCE refused: EACCES"));
    /* The daemon cannot connect it: undone, error passed on. */
    h->introduce_rc = -EIO;
    ck_assert_str_eq(h_introduce(d0, 8), "!EIO");
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "8\0"), "F|");
    h->introduce_rc = 0;
    ck_assert_str_eq(h_introduce(d0, 8), "OK|");
}
END_TEST

START_TEST(test_release)
{
    struct hconn *d7;

    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "0\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "7\0"), "!ENOENT");
    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "7"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_RESUME, 0, "7\0"), "!ENOENT");
    ck_assert_str_eq(h_introduce(d0, 7), "OK|");
    ck_assert_str_eq(H(d0, XS_RESUME, 0, "7\0"), "OK|");
    ck_assert_str_eq(h_mkdir(d0, 0, "/local/domain/7"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/7", "n7"), "OK|");
    ck_assert_str_eq(h_write(d0, 0, "/local/domain/7/x/y", "1"), "OK|");
    ck_assert_str_eq(h_write(d0, 0, "/kept", "1"), "OK|");
    d7 = h_conn(h, 7);
    ck_assert_str_eq(h_write(d7, 0, "mine", "1"), "OK|");
    ck_assert_str_eq(h_watch(d7, "mine", "t"), "OK|");
    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "7\0"), "OK|");
    ck_assert_uint_eq(h->nreleased, 1);
    ck_assert_uint_eq(h->released[0], 7);
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "7\0"), "F|");
    /* Xen deletes the nodes the released domain owned. */
    ck_assert_str_eq(h_read(d0, 0, "/local/domain/7"), "!ENOENT");
    ck_assert_str_eq(h_read(d0, 0, "/kept"), "1");
    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "7\0"), "!ENOENT");
    h_conn_close(d7);
    ck_assert_str_eq(h_control(d0, "check"), "OK|");
}
END_TEST

START_TEST(test_release_drops_special_perms)
{
    struct hconn *d5 = h_conn(h, 5);

    ck_assert_str_eq(h_introduce(d0, 5), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "@releaseDomain", "n0 r5"), "OK|");
    ck_assert_str_eq(h_watch(d5, "@releaseDomain", "r"), "OK|");
    h_clear(d5);
    ck_assert_str_eq(h_introduce(d0, 6), "OK|");
    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "6\0"), "OK|");
    ck_assert_uint_eq(h_nevents(d5), 1);
    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "5\0"), "OK|");
    h_clear(d5);
    /* Re-introduced 5 does not inherit the old grant. */
    ck_assert_str_eq(h_introduce(d0, 5), "OK|");
    ck_assert_str_eq(h_introduce(d0, 6), "OK|");
    ck_assert_str_eq(h_watch(d5, "@releaseDomain", "r"), "OK|");
    h_clear(d5);
    ck_assert_str_eq(H(d0, XS_RELEASE, 0, "6\0"), "OK|");
    ck_assert_uint_eq(h_nevents(d5), 0);
}
END_TEST

START_TEST(test_set_target)
{
    ck_assert_str_eq(H(d0, XS_SET_TARGET, 0, "1\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_SET_TARGET, 0, "1\0" "2\0"), "!ENOENT");
    ck_assert_str_eq(h_introduce(d0, 1), "OK|");
    ck_assert_str_eq(H(d0, XS_SET_TARGET, 0, "1\0" "2\0"), "!ENOENT");
    ck_assert_str_eq(h_introduce(d0, 2), "OK|");
    ck_assert_str_eq(H(d0, XS_SET_TARGET, 0, "1\0" "2\0"), "OK|");
}
END_TEST

START_TEST(test_reintroduce_resets)
{
    struct hconn *d4 = h_conn(h, 4);
    uint32_t t;

    ck_assert_str_eq(h_introduce(d0, 4), "OK|");
    ck_assert_str_eq(h_watch(d4, "/x", "t"), "OK|");
    t = h_tstart(d4);
    ck_assert_str_eq(h_introduce(d0, 4), "OK|");
    ck_assert_str_eq(h_tend(d4, t, true), "!ENOENT");
    h_clear(d4);
    ck_assert_str_eq(h_write(d0, 0, "/x", ""), "OK|");
    ck_assert_uint_eq(h_nevents(d4), 0);
}
END_TEST

/* The hypervisor's reports (engine_domains_changed), Xen's rules. */
START_TEST(test_domains_changed)
{
    struct engine_domain_info info[3];
    struct hconn *d5;

    ck_assert_str_eq(h_introduce(d0, 5), "OK|");
    ck_assert_str_eq(h_introduce(d0, 6), "OK|");
    ck_assert_str_eq(h_introduce(d0, 7), "OK|");
    d5 = h_conn(h, 5);
    ck_assert_str_eq(h_write(d0, 0, "/local/domain/5/x", "1"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/5", "n5"), "OK|");
    ck_assert_str_eq(h_watch(d0, "@releaseDomain", "r"), "OK|");
    h_clear(d0);

    /* Running, or a domain never introduced: nothing. */
    info[0] = (struct engine_domain_info){ 5, ENGINE_DOMAIN_RUNNING };
    info[1] = (struct engine_domain_info){ 9, ENGINE_DOMAIN_GONE };
    ck_assert_int_eq(engine_domains_changed(h->e, info, 2), 0);
    ck_assert_uint_eq(h_nevents(d0), 0);

    /* Two shut down: one event; again: none; still introduced. */
    info[0] = (struct engine_domain_info){ 5, ENGINE_DOMAIN_SHUTDOWN };
    info[1] = (struct engine_domain_info){ 6, ENGINE_DOMAIN_SHUTDOWN };
    ck_assert_int_eq(engine_domains_changed(h->e, info, 2), 0);
    ck_assert_uint_eq(h_nevents(d0), 1);
    ck_assert_str_eq(h_event(d0, 0), "@releaseDomain|r");
    h_clear(d0);
    ck_assert_int_eq(engine_domains_changed(h->e, info, 2), 0);
    ck_assert_uint_eq(h_nevents(d0), 0);
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "5\0"), "T|");
    ck_assert_uint_eq(h->nreleased, 0);

    /* RESUME makes the next shutdown news again. */
    ck_assert_str_eq(H(d0, XS_RESUME, 0, "5\0"), "OK|");
    ck_assert_int_eq(engine_domains_changed(h->e, info, 1), 0);
    ck_assert_uint_eq(h_nevents(d0), 1);
    h_clear(d0);

    /* Dying and gone: forgotten as by RELEASE, one event each, none
     * extra for 7, newly shut down before them. */
    info[0] = (struct engine_domain_info){ 7, ENGINE_DOMAIN_SHUTDOWN };
    info[1] = (struct engine_domain_info){ 5, ENGINE_DOMAIN_DYING };
    info[2] = (struct engine_domain_info){ 6, ENGINE_DOMAIN_GONE };
    ck_assert_int_eq(engine_domains_changed(h->e, info, 3), 2);
    ck_assert_uint_eq(h_nevents(d0), 2);
    ck_assert_uint_eq(h->nreleased, 2);
    ck_assert_uint_eq(h->released[0], 5);
    ck_assert_uint_eq(h->released[1], 6);
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "5\0"), "F|");
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "6\0"), "F|");
    ck_assert_str_eq(H(d0, XS_IS_DOMAIN_INTRODUCED, 0, "7\0"), "T|");
    /* Its nodes went with it, as on RELEASE. */
    ck_assert_str_eq(h_read(d0, 0, "/local/domain/5/x"), "!ENOENT");
    ck_assert(h_logged(h, "domain 5 is dying: forgetting it"));
    ck_assert_str_eq(h_control(d0, "check"), "OK|");
    h_clear(d0);

    /* A shutdown after the last domain forgotten: one more event. */
    ck_assert_str_eq(h_introduce(d0, 5), "OK|");
    ck_assert_str_eq(h_introduce(d0, 6), "OK|");
    info[0] = (struct engine_domain_info){ 5, ENGINE_DOMAIN_GONE };
    info[1] = (struct engine_domain_info){ 6, ENGINE_DOMAIN_SHUTDOWN };
    ck_assert_int_eq(engine_domains_changed(h->e, info, 2), 1);
    ck_assert_uint_eq(h_nevents(d0), 2);
    (void)d5;
}
END_TEST

static Suite *domain_suite(void)
{
    Suite *s = suite_create("domain");
    TCase *tc = tcase_create("domains");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_introduce);
    tcase_add_test(tc, test_introduce_errors);
    tcase_add_test(tc, test_release);
    tcase_add_test(tc, test_release_drops_special_perms);
    tcase_add_test(tc, test_set_target);
    tcase_add_test(tc, test_reintroduce_resets);
    tcase_add_test(tc, test_domains_changed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(domain_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
