/*
 * check_control.c: XS_CONTROL commands.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
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

START_TEST(test_help)
{
    /* Xen 4.17's list, byte for byte (its order, tabs, the indented
     * second line of live-update). */
    ck_assert_str_eq(h_control(d0, "help"),
                     "check\t\n"
                     "log\ton|off\n"
                     "live-update\t[-c <cmdline>] [-F] [-t <timeout>] "
                     "<file>\n    Default timeout is 60 seconds.\n"
                     "logfile\t<file>\n"
                     "memreport\t[<file>]\n"
                     "print\t<string>\n"
                     "quota\t[set <name> <val>|<domid>]\n"
                     "quota-soft\t[set <name> <val>]\n"
                     "help\t\n|");
    ck_assert_str_eq(h_control(d0, "help extra"), "!EINVAL");
}
END_TEST

START_TEST(test_quota_show)
{
    const char *r = h_control(d0, "quota");

    ck_assert_ptr_eq(strstr(r, "Quota settings:\n"), r);
    ck_assert_ptr_nonnull(strstr(r, "nodes            :     1000 "
                                    "Nodes per domain\n"));
    ck_assert_ptr_nonnull(strstr(r, "memory           :  2621440 "));
    ck_assert_ptr_nonnull(strstr(r, "path-max         :     2048 "));
    r = h_control(d0, "quota-soft");
    ck_assert_ptr_nonnull(strstr(r, "memory           :  2097152 "));
    r = h_control(d0, "quota 0");
    ck_assert_ptr_eq(strstr(r, "Domain 0:\n"), r);
    ck_assert_str_eq(h_control(d0, "quota 99"), "!ENOENT");
    ck_assert_str_eq(h_control(d0, "quota 1 2"), "!EINVAL");
    ck_assert_str_eq(h_control(d0, "quota-soft 1"), "!EINVAL");
}
END_TEST

START_TEST(test_misc)
{
    ck_assert_str_eq(h_control(d0, "check"), "OK|");
    ck_assert_str_eq(h_control(d0, "check x"), "!EINVAL");
    ck_assert_str_eq(h_control(d0, "print hello"), "OK|");
    ck_assert(h_logged(h, "control: hello"));
    ck_assert_str_eq(h_control(d0, "print"), "!EINVAL");
    ck_assert_ptr_nonnull(strstr(h_control(d0, "memreport"), "nodes: 3\n"));
    ck_assert_str_eq(h_control(d0, "nope"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_CONTROL, 0, "help"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_CONTROL, 0, ""), "!EINVAL");
    /* Handed to the daemon (the harness answers "log" only). */
    ck_assert_str_eq(h_control(d0, "log on"), "OK|");
    ck_assert_str_eq(h_control(d0, "logfile /x"), "!EINVAL");
    ck_assert_str_eq(h_control(d0, "memreport /x"), "!EINVAL");
    ck_assert_str_eq(h_control(d0, "memreport a b"), "!EINVAL");
    ck_assert_str_eq(h_control(d0, "live-update -s"), "!EINVAL");
}
END_TEST

/* check recounts every domain's nodes, watches and bytes. */
START_TEST(test_check_accounting)
{
    struct hconn *d1;
    struct domain *d;

    ck_assert_str_eq(h_introduce(d0, 1), "OK|");
    d1 = h_conn(h, 1);
    ck_assert_str_eq(h_mkdir(d0, 0, "/local/domain/1"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/1", "n1"), "OK|");
    ck_assert_str_eq(h_write(d1, 0, "a/b", "value"), "OK|");
    ck_assert_str_eq(h_watch(d1, "a", "tok"), "OK|");
    ck_assert_str_eq(h_control(d0, "check"), "OK|");
    d = domain_find(h->e, 1);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->nbentry, 3);
    ck_assert_int_eq(d->nbwatch, 1);

    d->nbentry++;
    ck_assert_str_eq(h_control(d0, "check"), "!EIO");
    ck_assert(h_logged(h, "domain 1: accounted 4 nodes"));
    d->nbentry--;
    d->memory += 5;
    ck_assert_str_eq(h_control(d0, "check"), "!EIO");
    d->memory -= 5;
    d->nbwatch = 0;
    ck_assert_str_eq(h_control(d0, "check"), "!EIO");
    d->nbwatch = 1;
    ck_assert_str_eq(h_control(d0, "check"), "OK|");
    ck_assert_str_eq(h_rm(d1, 0, "a"), "OK|");
    ck_assert_str_eq(h_control(d0, "check"), "OK|");
    ck_assert_int_eq(d->nbentry, 1);
}
END_TEST

static Suite *control_suite(void)
{
    Suite *s = suite_create("control");
    TCase *tc = tcase_create("commands");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_quota_show);
    tcase_add_test(tc, test_misc);
    tcase_add_test(tc, test_check_accounting);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(control_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
