/*
 * check_ctx.c - the context without daemons: allocation rules, what an
 * offline context (LIBXL_CTX_XENOLITH_OFFLINE) refuses and how it says
 * so, and the event queue's answers when nothing can happen.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>

static char logbuf[8192];

static void vmessage(xentoollog_logger *lg, xentoollog_level level,
                     int errnoval, const char *context, const char *fmt,
                     va_list al)
{
    size_t n = strlen(logbuf);

    (void)lg;
    (void)level;
    (void)errnoval;
    (void)context;
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

START_TEST(test_alloc_rules)
{
    libxl_ctx *ctx = (libxl_ctx *)&logger;

    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION + 1, 0, &logger),
                     ERROR_VERSION);
    ck_assert_ptr_null(ctx);
    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 1, &logger),
                     ERROR_INVAL);
    ck_assert_int_eq(libxl_ctx_free(NULL), 0);
}
END_TEST

/* No daemon at these paths: the error names the daemon and the socket. */
START_TEST(test_alloc_names_missing_xenstored)
{
    libxl_ctx *ctx = NULL;

    setenv("XENSTORED_PATH", "/nonexistent/light-unit/socket", 1);
    logbuf[0] = '\0';
    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger),
                     ERROR_FAIL);
    ck_assert_ptr_null(ctx);
    ck_assert_msg(strstr(logbuf, "xenstored") &&
                  strstr(logbuf, "/nonexistent/light-unit/socket"),
                  "%s", logbuf);
}
END_TEST

START_TEST(test_offline_refuses)
{
    libxl_domain_config c;
    libxl_physinfo pi;
    libxl_event *ev = (libxl_event *)&logger;
    libxl_evgen_domain_death *evg = (libxl_evgen_domain_death *)&logger;
    struct pollfd fds[2];
    struct timeval tv = { 0, 0 };
    libxl_ctx *ctx = NULL;
    uint32_t domid = 5;
    int n = 2, timeout = -1, nb = 7;

    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION,
                                     LIBXL_CTX_XENOLITH_OFFLINE, &logger),
                     0);
    logbuf[0] = '\0';
    libxl_domain_config_init(&c);
    ck_assert_int_eq(libxl_domain_create_new(ctx, &c, &domid, NULL, NULL),
                     ERROR_FAIL);
    ck_assert_uint_eq(domid, INVALID_DOMID);
    ck_assert_msg(strstr(logbuf, "libxl_domain_create_new") &&
                  strstr(logbuf, "OFFLINE"), "%s", logbuf);
    libxl_domain_config_dispose(&c);
    ck_assert_int_eq(libxl_domain_destroy(ctx, 1, NULL), ERROR_FAIL);
    ck_assert_int_eq(libxl_domain_pause(ctx, 1, NULL), ERROR_FAIL);
    ck_assert_ptr_null(libxl_list_domain(ctx, &nb));
    ck_assert_int_eq(nb, 0);
    ck_assert_ptr_null(libxl_domid_to_name(ctx, 0));
    ck_assert_ptr_null(libxl_get_version_info(ctx));
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, 1, 0, &evg),
                     ERROR_FAIL);
    ck_assert_ptr_null(evg);

    /* the host shape still comes from Linux */
    libxl_physinfo_init(&pi);
    ck_assert_int_eq(libxl_get_physinfo(ctx, &pi), 0);
    ck_assert_uint_gt(pi.nr_cpus, 0);
    libxl_physinfo_dispose(&pi);

    /* nothing to poll, nothing queued, and waiting would be forever */
    ck_assert_int_eq(libxl_osevent_beforepoll(ctx, &n, fds, &timeout, tv),
                     0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(timeout, -1);
    ck_assert_int_eq(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                       NULL), ERROR_NOT_READY);
    ck_assert_ptr_null(ev);
    ck_assert_int_eq(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                      NULL), ERROR_FAIL);
    libxl_evdisable_domain_death(ctx, NULL);
    libxl_event_free(ctx, NULL);
    ck_assert_int_eq(libxl_domid_valid_guest(0), 0);
    ck_assert_int_eq(libxl_domid_valid_guest(1), 1);
    ck_assert_int_eq(libxl_domid_valid_guest(0x7ff0), 0);
    ck_assert_int_eq(libxl_ctx_free(ctx), 0);
}
END_TEST

static Suite *ctx_suite(void)
{
    Suite *s = suite_create("ctx");
    TCase *tc = tcase_create("offline");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_alloc_rules);
    tcase_add_test(tc, test_alloc_names_missing_xenstored);
    tcase_add_test(tc, test_offline_refuses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ctx_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
