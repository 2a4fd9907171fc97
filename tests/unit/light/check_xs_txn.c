/*
 * check_xs_txn.c - libxl__xs_transaction, the one retry loop of
 * libxenlight's xenstore transactions, against a real xenstored: a
 * writer on a second connection changes a node the transaction read, so
 * its commit fails (EAGAIN) as often as the test asks.  It retries, logs
 * each retry, gives up after LIBXL__XS_TRIES with an error naming what
 * it gave up on, and a body's error drops the transaction.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libxl_internal.h"
#include "testhost.h"

static char logbuf[16384];

static void vmessage(xentoollog_logger *lg, xentoollog_level level,
                     int errnoval, const char *context, const char *fmt,
                     va_list al)
{
    size_t n = strlen(logbuf);

    (void)lg;
    (void)errnoval;
    (void)context;
    snprintf(logbuf + n, sizeof(logbuf) - n, "%s: ",
             level == XTL_DEBUG ? "debug" : level == XTL_ERROR ? "error"
                                                              : "other");
    n = strlen(logbuf);
    vsnprintf(logbuf + n, sizeof(logbuf) - n, fmt, al);
    n = strlen(logbuf);
    if (n + 1 < sizeof(logbuf))
        strcpy(logbuf + n, "\n");
}

static void progress(xentoollog_logger *lg, const char *context,
                     const char *doing_what, int percent, unsigned long done,
                     unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done;
    (void)total;
}

static void destroy(xentoollog_logger *lg)
{
    (void)lg;
}

static xentoollog_logger logger = { vmessage, progress, destroy };

static struct test_host daemon_;
static libxl_ctx *ctx;
static struct xs_handle *other;      /* the conflicting writer */
static char x_path[128], y_path[128];

struct body_state {
    unsigned int calls;
    unsigned int conflicts;          /* commits to spoil */
    int fail_with;                   /* a body error to return */
};

/* Reads x and writes y inside t; while conflicts last, another client
 * writes x before the commit, which makes the commit fail. */
static int body(libxl_ctx *c, xs_transaction_t t, void *arg)
{
    struct body_state *st = arg;
    char val[32];
    free(libxl__xs_read(c, t, x_path));
    st->calls++;
    snprintf(val, sizeof(val), "try %u", st->calls);
    if (libxl__xs_write(c, t, y_path, val))
        return ERROR_FAIL;
    if (st->fail_with)
        return st->fail_with;
    if (st->calls <= st->conflicts)
        ck_assert(xs_write(other, XBT_NULL, x_path, val, strlen(val)));
    return 0;
}

/* Log lines at level ("debug", "error") holding needle. */
static unsigned int count(const char *level, const char *needle)
{
    unsigned int n = 0;
    const char *line = logbuf;

    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[512];

        snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
        if (!strncmp(buf, level, strlen(level)) && strstr(buf, needle))
            n++;
        line += len + (end ? 1 : 0);
    }
    return n;
}

static void setup(void)
{
    static const struct test_host_opts opts = {
        .what = TEST_HOST_XENSTORED,
    };

    ck_assert_msg(test_host_start(&daemon_, &opts) == 0, "%s",
                  daemon_.err);
    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION,
                                     LIBXL_CTX_XENOLITH_OFFLINE, &logger),
                     0);
    ctx->xsh = xs_open(0);
    other = xs_open(0);
    ck_assert_ptr_nonnull(ctx->xsh);
    ck_assert_ptr_nonnull(other);
    test_host_xs_path(x_path, sizeof(x_path), "x");
    test_host_xs_path(y_path, sizeof(y_path), "y");
    ck_assert(xs_write(other, XBT_NULL, x_path, "0", 1));
    xs_rm(other, XBT_NULL, y_path);
    logbuf[0] = '\0';
}

static void teardown(void)
{
    xs_close(other);
    libxl_ctx_free(ctx);         /* closes ctx->xsh */
    ctx = NULL;
    test_host_stop(&daemon_);
}

START_TEST(commits_first_time)
{
    struct body_state st = { 0, 0, 0 };
    char *y;

    ck_assert_int_eq(libxl__xs_transaction(ctx, 7, "the test nodes", body,
                                           &st), 0);
    ck_assert_uint_eq(st.calls, 1);
    y = xs_read(other, XBT_NULL, y_path, NULL);
    ck_assert_str_eq(y, "try 1");
    free(y);
    ck_assert_uint_eq(count("", "another xenstore client got in first"), 0);
}
END_TEST

START_TEST(retries_then_commits)
{
    struct body_state st = { 0, 3, 0 };
    char *y;

    ck_assert_int_eq(libxl__xs_transaction(ctx, 7, "the test nodes", body,
                                           &st), 0);
    ck_assert_uint_eq(st.calls, 4);
    /* what the last try wrote is what stands */
    y = xs_read(other, XBT_NULL, y_path, NULL);
    ck_assert_str_eq(y, "try 4");
    free(y);
    ck_assert_uint_eq(count("debug:", "domain 7: the test nodes: another "
                            "xenstore client got in first"), 3);
    ck_assert_uint_eq(count("", "gave up"), 0);
}
END_TEST

START_TEST(gives_up_after_its_bound)
{
    struct body_state st = { 0, 1000, 0 };

    ck_assert_int_eq(libxl__xs_transaction(ctx, 7, "the test nodes", body,
                                           &st), ERROR_FAIL);
    ck_assert_uint_eq(st.calls, LIBXL__XS_TRIES);
    ck_assert_uint_eq(count("debug:", "another xenstore client got in first"),
                      LIBXL__XS_TRIES - 1);
    ck_assert_uint_eq(count("error:", "domain 7: gave up on the test nodes"),
                      1);
    /* nothing of it was committed */
    ck_assert_ptr_null(xs_read(other, XBT_NULL, y_path, NULL));
}
END_TEST

START_TEST(body_error_drops_the_transaction)
{
    struct body_state st = { 0, 0, ERROR_INVAL };

    ck_assert_int_eq(libxl__xs_transaction(ctx, 7, "the test nodes", body,
                                           &st), ERROR_INVAL);
    ck_assert_uint_eq(st.calls, 1);
    ck_assert_ptr_null(xs_read(other, XBT_NULL, y_path, NULL));
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xs_transaction");
    TCase *tc = tcase_create("retries");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, commits_first_time);
    tcase_add_test(tc, retries_then_commits);
    tcase_add_test(tc, gives_up_after_its_bound);
    tcase_add_test(tc, body_error_drops_the_transaction);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
