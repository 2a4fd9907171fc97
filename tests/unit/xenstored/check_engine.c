/*
 * check_engine.c: request handling, path rules, error strings and
 * DIRECTORY_PART, as Xen 4.17's xenstored answers them.
 */
#include <check.h>
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

START_TEST(test_initial_tree)
{
    ck_assert_str_eq(h_read(d0, 0, "/"), "");
    ck_assert_str_eq(h_dir(d0, 0, "/"), "tool|");
    ck_assert_str_eq(h_dir(d0, 0, "/tool"), "xenstored|");
    ck_assert_str_eq(h_getperms(d0, 0, "/tool"), "n0|");
}
END_TEST

START_TEST(test_write_read)
{
    ck_assert_str_eq(h_write(d0, 0, "/a", "hello"), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/a"), "hello");
    ck_assert_str_eq(h_write(d0, 0, "/a", ""), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/a"), "");
    /* Binary values, NULs included. */
    ck_assert_str_eq(H(d0, XS_WRITE, 0, "/b\0x\0y"), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/b"), "x|y");
}
END_TEST

START_TEST(test_write_creates_parents)
{
    struct engine_stats st;

    engine_get_stats(h->e, &st);
    ck_assert_uint_eq(st.nodes, 3);
    ck_assert_str_eq(h_write(d0, 0, "/x/y/z", "v"), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/x/y"), "");
    ck_assert_str_eq(h_dir(d0, 0, "/x"), "y|");
    ck_assert_str_eq(h_dir(d0, 0, "/"), "tool|x|");
    engine_get_stats(h->e, &st);
    ck_assert_uint_eq(st.nodes, 6);
}
END_TEST

START_TEST(test_relative_paths)
{
    struct hconn *d5;

    ck_assert_str_eq(h_write(d0, 0, "rel/x", "1"), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/local/domain/0/rel/x"), "1");
    ck_assert_str_eq(h_read(d0, 0, "rel/x"), "1");
    ck_assert_str_eq(h_mkdir(d0, 0, "/local/domain/5"), "OK|");
    ck_assert_str_eq(h_setperms(d0, 0, "/local/domain/5", "n5"), "OK|");
    d5 = h_conn(h, 5);
    ck_assert_str_eq(h_write(d5, 0, "data", "v"), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/local/domain/5/data"), "v");
    ck_assert_str_eq(h_read(d5, 0, "data"), "v");
}
END_TEST

START_TEST(test_path_validation)
{
    char big[3000];

    ck_assert_str_eq(h_read(d0, 0, "/a/"), "!EINVAL");
    ck_assert_str_eq(h_read(d0, 0, "//a"), "!EINVAL");
    ck_assert_str_eq(h_read(d0, 0, "/a//b"), "!EINVAL");
    ck_assert_str_eq(h_read(d0, 0, "/a b"), "!EINVAL");
    ck_assert_str_eq(h_read(d0, 0, "/a.b"), "!EINVAL");
    ck_assert_str_eq(h_read(d0, 0, "@foo"), "!EINVAL");
    ck_assert_str_eq(h_read(d0, 0, ""), "!EINVAL");
    ck_assert_str_eq(h_read(d0, 0, "/ok-_@AZaz09"), "!ENOENT");
    /* Payload: exactly one string. */
    ck_assert_str_eq(H(d0, XS_READ, 0, "/\0junk"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_READ, 0, "/"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_READ, 0, ""), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_WRITE, 0, "/nonul"), "!EINVAL");
    /* Length: 2048 after the domain prefix. */
    memset(big, 'a', sizeof(big));
    big[0] = '/';
    big[2049] = '\0';
    ck_assert_str_eq(h_read(d0, 0, big), "!EINVAL");
    big[2048] = '\0';
    ck_assert_str_eq(h_read(d0, 0, big), "!ENOENT");
    memset(big, 'a', sizeof(big));
    memcpy(big, "/local/domain/7/", 16);
    big[16 + 2049] = '\0';
    ck_assert_str_eq(h_read(d0, 0, big), "!EINVAL");
    big[16 + 2048] = '\0';
    ck_assert_str_eq(h_read(d0, 0, big), "!ENOENT");
}
END_TEST

START_TEST(test_errors)
{
    ck_assert_str_eq(h_read(d0, 0, "/nonexist"), "!ENOENT");
    ck_assert_str_eq(h_read(d0, 0, "/a/b"), "!ENOENT");
    ck_assert_str_eq(h_dir(d0, 0, "/nonexist"), "!ENOENT");
    ck_assert_str_eq(h_getperms(d0, 0, "/nonexist"), "!ENOENT");
    /* rm of a missing node: fine if its parent exists. */
    ck_assert_str_eq(h_rm(d0, 0, "/nonexist"), "OK|");
    ck_assert_str_eq(h_rm(d0, 0, "/nonexist/sub"), "!ENOENT");
    ck_assert_str_eq(h_rm(d0, 0, "/"), "!EINVAL");
    /* mkdir of an existing node is fine. */
    ck_assert_str_eq(h_mkdir(d0, 0, "/tool"), "OK|");
    ck_assert_str_eq(h_mkdir(d0, 0, "/m/n/o"), "OK|");
    ck_assert_str_eq(h_getperms(d0, 0, "/m/n"), "n0|");
    /* Unknown and reserved types. */
    ck_assert_str_eq(H(d0, 20, 0, "/\0"), "!ENOSYS");
    ck_assert_str_eq(H(d0, 25, 0, "/\0"), "!ENOSYS");
    ck_assert_str_eq(H(d0, XS_WATCH_EVENT, 0, "/\0"), "!ENOSYS");
    ck_assert_str_eq(H(d0, XS_ERROR, 0, "/\0"), "!ENOSYS");
    ck_assert_str_eq(H(d0, 0xffff, 0, "/\0"), "!ENOSYS");
    /* Unknown transaction. */
    ck_assert_str_eq(h_read(d0, 999, "/tool"), "!ENOENT");
    ck_assert_str_eq(h_tend(d0, 0, true), "!ENOENT");
    ck_assert_str_eq(h_tend(d0, 5, true), "!ENOENT");
}
END_TEST

START_TEST(test_rm_subtree)
{
    struct engine_stats st;

    ck_assert_str_eq(h_write(d0, 0, "/t/x", "1"), "OK|");
    ck_assert_str_eq(h_write(d0, 0, "/t/y/z", "2"), "OK|");
    ck_assert_str_eq(h_rm(d0, 0, "/t"), "OK|");
    ck_assert_str_eq(h_read(d0, 0, "/t/y/z"), "!ENOENT");
    ck_assert_str_eq(h_read(d0, 0, "/t"), "!ENOENT");
    ck_assert_str_eq(h_dir(d0, 0, "/"), "tool|");
    engine_get_stats(h->e, &st);
    ck_assert_uint_eq(st.nodes, 3);
    /* Recreated nodes go to the end of the child list. */
    ck_assert_str_eq(h_write(d0, 0, "/a", ""), "OK|");
    ck_assert_str_eq(h_write(d0, 0, "/b", ""), "OK|");
    ck_assert_str_eq(h_rm(d0, 0, "/a"), "OK|");
    ck_assert_str_eq(h_write(d0, 0, "/a", ""), "OK|");
    ck_assert_str_eq(h_dir(d0, 0, "/"), "tool|b|a|");
    ck_assert_str_eq(h_control(d0, "check"), "OK|");
}
END_TEST

START_TEST(test_directory_e2big)
{
    char path[64];
    int i;

    /* 400 names of 12 bytes: 4800 bytes, over the payload limit. */
    for (i = 0; i < 400; i++) {
        snprintf(path, sizeof(path), "/big/child-%05d", i);
        ck_assert_str_eq(h_write(d0, 0, path, ""), "OK|");
    }
    ck_assert_str_eq(h_dir(d0, 0, "/big"), "!E2BIG");
}
END_TEST

/* Reassembles a directory with DIRECTORY_PART as libxenstore does. */
static int dir_by_parts(struct hconn *hc, const char *path, char **out,
                        size_t *outlen)
{
    char req[256], gen0[XENSTORE_PAYLOAD_MAX + 64] = "";
    size_t off = 0, total = 0, cap = 1 << 20;
    char *buf = malloc(cap);
    int parts = 0;

    ck_assert_ptr_nonnull(buf);
    for (;;) {
        int len = snprintf(req, sizeof(req), "%s%c%zu", path, '\0', off);
        const char *r = h_callv(hc, XS_DIRECTORY_PART, 0, req,
                                (size_t)len + 1);
        const char *names;
        unsigned int rlen = hc->rhdr.len;
        size_t glen;

        ck_assert_msg(r[0] != '!', "DIRECTORY_PART: %s", r);
        glen = strlen(hc->reply) + 1;
        if (!parts)
            snprintf(gen0, sizeof(gen0), "%s", hc->reply);
        else
            ck_assert_str_eq(gen0, hc->reply);
        parts++;
        names = hc->reply + glen;
        if (rlen - glen == 1 && names[0] == '\0')
            break; /* just the end marker */
        ck_assert_uint_lt(total + (rlen - glen), cap);
        memcpy(buf + total, names, rlen - glen);
        total += rlen - glen;
        if (rlen - glen >= 2 && names[rlen - glen - 1] == '\0' &&
            names[rlen - glen - 2] == '\0') {
            total--; /* the end marker */
            break;
        }
        off += rlen - glen;
    }
    *out = buf;
    *outlen = total;
    return parts;
}

START_TEST(test_directory_part)
{
    char path[64], *buf;
    size_t len, off;
    int i, parts;

    /* Past the end: generation and an empty string. */
    ck_assert_str_eq(strchr(H(d0, XS_DIRECTORY_PART, 0, "/tool\0" "100\0"),
                            '|'), "||");
    ck_assert_str_eq(strchr(H(d0, XS_DIRECTORY_PART, 0, "/tool\0" "0\0"),
                            '|'), "|xenstored||");
    ck_assert_int_gt(atoi(d0->reply), 0);
    ck_assert_str_eq(H(d0, XS_DIRECTORY_PART, 0, "/tool\0"), "!EINVAL");
    ck_assert_str_eq(H(d0, XS_DIRECTORY_PART, 0, "/tool\0" "0\0" "x\0"),
                     "!EINVAL");
    ck_assert_str_eq(H(d0, XS_DIRECTORY_PART, 0, "/none\0" "0\0"),
                     "!ENOENT");

    for (i = 0; i < 10000; i++) {
        snprintf(path, sizeof(path), "/big/c%d", i);
        ck_assert_str_eq(h_mkdir(d0, 0, path), "OK|");
    }
    ck_assert_str_eq(h_dir(d0, 0, "/big"), "!E2BIG");
    parts = dir_by_parts(d0, "/big", &buf, &len);
    ck_assert_int_gt(parts, 10);
    for (i = 0, off = 0; i < 10000; i++) {
        snprintf(path, sizeof(path), "c%d", i);
        ck_assert_uint_lt(off, len);
        ck_assert_str_eq(buf + off, path);
        off += strlen(path) + 1;
    }
    ck_assert_uint_eq(off, len);
    free(buf);
}
END_TEST

START_TEST(test_directory_part_generation_changes)
{
    char gen1[XENSTORE_PAYLOAD_MAX + 64];

    ck_assert_str_eq(h_mkdir(d0, 0, "/d/a"), "OK|");
    H(d0, XS_DIRECTORY_PART, 0, "/d\0" "0\0");
    snprintf(gen1, sizeof(gen1), "%s", d0->reply);
    ck_assert_str_eq(h_mkdir(d0, 0, "/d/b"), "OK|");
    H(d0, XS_DIRECTORY_PART, 0, "/d\0" "0\0");
    ck_assert_str_ne(gen1, d0->reply);
}
END_TEST

START_TEST(test_reply_echoes_ids)
{
    uint32_t tx = h_tstart(d0);

    /* h_callv checks req_id and tx_id of every reply. */
    ck_assert_str_eq(h_write(d0, tx, "/in-tx", "1"), "OK|");
    ck_assert_str_eq(h_read(d0, tx, "/in-tx"), "1");
    ck_assert_str_eq(h_tend(d0, tx, true), "OK|");
    ck_assert_uint_eq(d0->rhdr.tx_id, tx);
}
END_TEST

START_TEST(test_send_failure_logged)
{
    struct xsd_sockmsg hdr = { XS_READ, 1, 0, 2 };

    d0->fail_send = 1;
    ck_assert_int_eq(engine_handle(h->e, d0->c, &hdr, "/"), 0);
    ck_assert_uint_eq(d0->replies, 0);
    ck_assert(h_logged(h, "domain 0: reply to READ lost"));
    /* The engine carries on. */
    ck_assert_str_eq(h_read(d0, 0, "/"), "");
}
END_TEST

START_TEST(test_oversized_request)
{
    struct xsd_sockmsg hdr = { XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1 };
    static char payload[XENSTORE_PAYLOAD_MAX + 1];

    ck_assert_int_lt(engine_handle(h->e, d0->c, &hdr, payload), 0);
}
END_TEST

START_TEST(test_get_domain_path)
{
    ck_assert_str_eq(H(d0, XS_GET_DOMAIN_PATH, 0, "7\0"),
                     "/local/domain/7|");
    ck_assert_str_eq(H(d0, XS_GET_DOMAIN_PATH, 0, "abc\0"),
                     "/local/domain/0|");
    ck_assert_str_eq(H(d0, XS_GET_DOMAIN_PATH, 0, "7"), "!EINVAL");
}
END_TEST

static Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("requests");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_initial_tree);
    tcase_add_test(tc, test_write_read);
    tcase_add_test(tc, test_write_creates_parents);
    tcase_add_test(tc, test_relative_paths);
    tcase_add_test(tc, test_path_validation);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_rm_subtree);
    tcase_add_test(tc, test_directory_e2big);
    tcase_add_test(tc, test_directory_part);
    tcase_add_test(tc, test_directory_part_generation_changes);
    tcase_add_test(tc, test_reply_echoes_ids);
    tcase_add_test(tc, test_send_failure_logged);
    tcase_add_test(tc, test_oversized_request);
    tcase_add_test(tc, test_get_domain_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(engine_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
