/*
 * check_perms.c: Xen's permission model, through the engine and on the
 * perms module itself.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "perms.h"

static struct h *h;
static struct hconn *d0, *d1, *d2;

static void setup(void)
{
    h = h_new(NULL);
    d0 = h_conn(h, 0);
    d1 = h_conn(h, 1);
    d2 = h_conn(h, 2);
    ck_assert_str_eq(h_write(d0, 0, "/p/node", "v"), "OK|");
}

static void teardown(void)
{
    h_free(h);
}

START_TEST(test_parse_format)
{
    struct perm p[4];
    char buf[64];

    ck_assert_int_eq(perms_parse("n0\0r5\0w7\0b0x10", 4, p), 0);
    ck_assert_uint_eq(p[0].bits, PERM_NONE);
    ck_assert_uint_eq(p[1].bits, PERM_READ);
    ck_assert_uint_eq(p[1].id, 5);
    ck_assert_uint_eq(p[2].bits, PERM_WRITE);
    ck_assert_uint_eq(p[3].bits, PERM_READ | PERM_WRITE);
    ck_assert_uint_eq(p[3].id, 16);
    ck_assert_int_eq(perms_format(p, 4, buf, sizeof(buf)), 13);
    ck_assert_mem_eq(buf, "n0\0r5\0w7\0b16", 13);
    ck_assert_int_eq(perms_parse("x5", 1, p), -EINVAL);
    ck_assert_int_eq(perms_parse("b", 1, p), -EINVAL);
    ck_assert_int_eq(perms_parse("b5x", 1, p), -EINVAL);
    ck_assert_int_eq(perms_format(p, 4, buf, 5), -E2BIG);
}
END_TEST

START_TEST(test_perms_for)
{
    struct perm p[2] = { { 3, PERM_READ }, { 4, PERM_WRITE } };
    struct perm_who who = { 3, false, false, 0 };

    ck_assert_uint_eq(perms_for(&who, p, 2),
                      PERM_READ | PERM_WRITE | PERM_OWNER);
    who.domid = 4;
    ck_assert_uint_eq(perms_for(&who, p, 2), PERM_WRITE);
    who.domid = 5;
    ck_assert_uint_eq(perms_for(&who, p, 2), PERM_READ);
    who.has_target = true;
    who.target = 3;
    ck_assert_uint_eq(perms_for(&who, p, 2),
                      PERM_READ | PERM_WRITE | PERM_OWNER);
    who.target = 4;
    ck_assert_uint_eq(perms_for(&who, p, 2), PERM_WRITE);
    who.has_target = false;
    who.privileged = true;
    ck_assert_uint_eq(perms_for(&who, p, 2),
                      PERM_READ | PERM_WRITE | PERM_OWNER);
}
END_TEST

START_TEST(test_default_none)
{
    /* n0: dom0 owns it, nobody else gets anything. */
    ck_assert_str_eq(h_read(d1, 0, "/p/node"), "!EACCES");
    ck_assert_str_eq(h_write(d1, 0, "/p/node", "x"), "!EACCES");
    ck_assert_str_eq(h_dir(d1, 0, "/p"), "!EACCES");
    ck_assert_str_eq(h_getperms(d1, 0, "/p/node"), "!EACCES");
    ck_assert_str_eq(h_rm(d1, 0, "/p/node"), "!EACCES");
    ck_assert_str_eq(h_mkdir(d1, 0, "/p/new"), "!EACCES");
    ck_assert_str_eq(h_setperms(d1, 0, "/p/node", "b1"), "!EACCES");
    /* A missing node under an unreadable parent: EACCES, not ENOENT. */
    ck_assert_str_eq(h_read(d1, 0, "/p/missing"), "!EACCES");
    ck_assert_str_eq(h_read(d1, 0, "/nothing/here"), "!EACCES");
    ck_assert_str_eq(h_read(d0, 0, "/p/missing"), "!ENOENT");
}
END_TEST

START_TEST(test_read_write_both)
{
    ck_assert_str_eq(h_setperms(d0, 0, "/p/node", "n0 r1 w2"), "OK|");
    ck_assert_str_eq(h_getperms(d0, 0, "/p/node"), "n0|r1|w2|");
    ck_assert_str_eq(h_read(d1, 0, "/p/node"), "v");
    ck_assert_str_eq(h_write(d1, 0, "/p/node", "x"), "!EACCES");
    ck_assert_str_eq(h_read(d2, 0, "/p/node"), "!EACCES");
    ck_assert_str_eq(h_write(d2, 0, "/p/node", "by2"), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/p/node"), "by2");
    ck_assert_str_eq(h_setperms(d0, 0, "/p/node", "r0 b1"), "OK|");
    ck_assert_str_eq(h_write(d1, 0, "/p/node", "by1"), "OK|");
    ck_assert_str_eq(h_read(d2, 0, "/p/node"), "by1");
    ck_assert_str_eq(h_write(d2, 0, "/p/node", "x"), "!EACCES");
    /* Not the owner: may not change perms even with write access. */
    ck_assert_str_eq(h_setperms(d1, 0, "/p/node", "r0 b1"), "!EACCES");
}
END_TEST

START_TEST(test_owner)
{
    ck_assert_str_eq(h_setperms(d0, 0, "/p/node", "n1"), "OK|");
    /* The owner has every right whatever the bits say. */
    ck_assert_str_eq(h_read(d1, 0, "/p/node"), "v");
    ck_assert_str_eq(h_write(d1, 0, "/p/node", "mine"), "OK|");
    ck_assert_str_eq(h_setperms(d1, 0, "/p/node", "n1 r2"), "OK|");
    ck_assert_str_eq(h_read(d2, 0, "/p/node"), "mine");
    /* Only dom0 may give a node away. */
    ck_assert_str_eq(h_setperms(d1, 0, "/p/node", "n2"), "!EPERM");
    ck_assert_str_eq(h_setperms(d0, 0, "/p/node", "n2"), "OK|");
    ck_assert_str_eq(h_read(d1, 0, "/p/node"), "!EACCES");
}
END_TEST

START_TEST(test_inheritance)
{
    ck_assert_str_eq(h_setperms(d0, 0, "/p", "r0 w1"), "OK|");
    /* dom0 creating: the child copies the parent's perms as they are. */
    ck_assert_str_eq(h_write(d0, 0, "/p/a/b", "x"), "OK|");
    ck_assert_str_eq(h_getperms(d0, 0, "/p/a"), "r0|w1|");
    ck_assert_str_eq(h_getperms(d0, 0, "/p/a/b"), "r0|w1|");
    /* An unprivileged creator becomes the owner of what it creates. */
    ck_assert_str_eq(h_write(d1, 0, "/p/c/d", "x"), "OK|");
    ck_assert_str_eq(h_getperms(d0, 0, "/p/c"), "r1|w1|");
    ck_assert_str_eq(h_getperms(d0, 0, "/p/c/d"), "r1|w1|");
    /* Write access on the nearest existing ancestor is what counts. */
    ck_assert_str_eq(h_write(d2, 0, "/p/e/f", "x"), "!EACCES");
    ck_assert_str_eq(h_mkdir(d2, 0, "/p/e"), "!EACCES");
    ck_assert_str_eq(h_read(d2, 0, "/p/c/d"), "x");
}
END_TEST

START_TEST(test_rm_rules)
{
    ck_assert_str_eq(h_setperms(d0, 0, "/p", "r0"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/p/node", "n1"), "OK|");
    /* Deleting needs write access to the node only. */
    ck_assert_str_eq(h_rm(d2, 0, "/p/node"), "!EACCES");
    ck_assert_str_eq(h_rm(d1, 0, "/p/node"), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/p/node"), "!ENOENT");
    /* Missing node, readable but not writable parent. */
    ck_assert_str_eq(h_rm(d2, 0, "/p/node"), "!EACCES");
}
END_TEST

START_TEST(test_target)
{
    ck_assert_str_eq(h_mkdir(d0, 0, "/local/domain/2"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/2", "n2"), "OK|");
    ck_assert_str_eq(h_read(d1, 0, "/local/domain/2"), "!EACCES");
    ck_assert_str_eq(h_introduce(d0, 1), "OK|");
    ck_assert_str_eq(h_introduce(d0, 2), "OK|");
    ck_assert_str_eq(H(d1, XS_SET_TARGET, 0, "1\0" "2\0"), "!EACCES");
    ck_assert_str_eq(H(d0, XS_SET_TARGET, 0, "1\0" "2\0"), "OK|");
    /* Domain 1 now acts with domain 2's rights. */
    ck_assert_str_eq(h_read(d1, 0, "/local/domain/2"), "");
    ck_assert_str_eq(h_write(d1, 0, "/local/domain/2/dm", "x"), "OK|");
    ck_assert_str_eq(h_getperms(d0, 0, "/local/domain/2/dm"), "n1|");
    ck_assert_str_eq(h_setperms(d0, 0, "/p/node", "n0 r2"), "OK|");
    ck_assert_str_eq(h_read(d1, 0, "/p/node"), "v");
    /* But it is not privileged. */
    ck_assert_str_eq(h_read(d1, 0, "/tool"), "!EACCES");
}
END_TEST

START_TEST(test_setperms_errors)
{
    ck_assert_str_eq(H(d0, XS_SET_PERMS, 0, "/p/node\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_SET_PERMS, 0, "/p/node"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_SET_PERMS, 0, "/p/node\0x5\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_SET_PERMS, 0, "/p/node\0b5x\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_SET_PERMS, 0, "/p/node\0\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_SET_PERMS, 0, "/p/none\0n0\0"), "!ENOENT");
    ck_assert_str_eq(H(d0, XS_SET_PERMS, 0, "/p/node\0b0x10\0"), "OK|");
    ck_assert_str_eq(h_getperms(d0, 0, "/p/node"), "b16|");
}
END_TEST

START_TEST(test_refusals_logged)
{
    ck_assert_str_eq(h_read(d1, 0, "/p/node"), "!EACCES");
    ck_assert(h_logged(h, "domain 1: READ refused: EACCES"));
}
END_TEST

static Suite *perms_suite(void)
{
    Suite *s = suite_create("perms");
    TCase *tc = tcase_create("model");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_parse_format);
    tcase_add_test(tc, test_perms_for);
    tcase_add_test(tc, test_default_none);
    tcase_add_test(tc, test_read_write_both);
    tcase_add_test(tc, test_owner);
    tcase_add_test(tc, test_inheritance);
    tcase_add_test(tc, test_rm_rules);
    tcase_add_test(tc, test_target);
    tcase_add_test(tc, test_setperms_errors);
    tcase_add_test(tc, test_refusals_logged);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(perms_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
