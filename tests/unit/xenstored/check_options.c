/*
 * check_options.c: unit tests of xenstored's command line (options.c).
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

static struct options o;
static char err[256];

/* Parses a NULL-terminated list of arguments after "xenstored". */
static int parse(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    const char *a;
    va_list ap;

    memset(&o.cfg, 0, sizeof(o.cfg));
    o.cfg.nodes_per_domain = 1000;
    o.cfg.path_max = 2048;
    options_init(&o);
    err[0] = '\0';
    argv[argc++] = (char *)"xenstored";
    va_start(ap, first);
    for (a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return options_parse(&o, argc, argv, err, sizeof(err));
}

START_TEST(test_defaults)
{
    ck_assert_int_eq(parse(NULL), 0);
    ck_assert(!o.foreground);
    ck_assert(!o.verbose);
    ck_assert(!o.help);
    ck_assert(!o.output_pid);
    ck_assert_ptr_null(o.pid_file);
    ck_assert_ptr_null(o.trace_file);
    ck_assert_ptr_null(o.log_file);
    ck_assert_uint_eq(o.outstanding, OPTIONS_OUTSTANDING_DEFAULT);
    ck_assert_uint_eq(o.cfg.nodes_per_domain, 1000);
}
END_TEST

START_TEST(test_short_options)
{
    ck_assert_int_eq(parse("-N", "-V", "-P", "-F", "/run/x.pid", "-T",
                           "/tmp/trace", "-L", "/tmp/log", "-E", "12",
                           "-S", "3000", "-W", "9", "-t", "4", "-A", "6",
                           "-M", "300", NULL), 0);
    ck_assert(o.foreground);
    ck_assert(o.verbose);
    ck_assert(o.output_pid);
    ck_assert_str_eq(o.pid_file, "/run/x.pid");
    ck_assert_str_eq(o.trace_file, "/tmp/trace");
    ck_assert_str_eq(o.log_file, "/tmp/log");
    ck_assert_uint_eq(o.cfg.nodes_per_domain, 12);
    ck_assert_uint_eq(o.cfg.node_size, 3000);
    ck_assert_uint_eq(o.cfg.watches_per_domain, 9);
    ck_assert_uint_eq(o.cfg.transactions, 4);
    ck_assert_uint_eq(o.cfg.perms_per_node, 6);
    ck_assert_uint_eq(o.cfg.path_max, 300);
}
END_TEST

START_TEST(test_long_options)
{
    ck_assert_int_eq(parse("--no-fork", "--verbose", "--pid-file=/p",
                           "--trace-file", "/t", "--log-file=/l",
                           "--entry-nb=5", "--entry-size", "100",
                           "--watch-nb=1", "--transaction=2",
                           "--perm-nb=3", "--path-max=99",
                           "--quota=memory=4096", NULL), 0);
    ck_assert(o.foreground);
    ck_assert(o.verbose);
    ck_assert_str_eq(o.pid_file, "/p");
    ck_assert_str_eq(o.trace_file, "/t");
    ck_assert_str_eq(o.log_file, "/l");
    ck_assert_uint_eq(o.cfg.nodes_per_domain, 5);
    ck_assert_uint_eq(o.cfg.node_size, 100);
    ck_assert_uint_eq(o.cfg.watches_per_domain, 1);
    ck_assert_uint_eq(o.cfg.transactions, 2);
    ck_assert_uint_eq(o.cfg.perms_per_node, 3);
    ck_assert_uint_eq(o.cfg.path_max, 99);
    ck_assert_uint_eq(o.cfg.memory_per_domain, 4096);
}
END_TEST

START_TEST(test_quota)
{
    ck_assert_int_eq(parse("-Q", "outstanding=3", "-Q",
                           "transaction-nodes=77", "-Q", "memory=0", NULL),
                     0);
    ck_assert_uint_eq(o.outstanding, 3);
    ck_assert_uint_eq(o.cfg.transaction_nodes, 77);
    ck_assert_uint_eq(o.cfg.memory_per_domain, 0);

    ck_assert_int_eq(parse("-Q", "nodes=3", NULL), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown quota \"nodes\""));
    ck_assert_int_eq(parse("-Q", "memory", NULL), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "WHAT=NUMBER"));
    ck_assert_int_eq(parse("-Q", "memory=-1", NULL), -EINVAL);
    ck_assert_int_eq(parse("-Q", "memory=1k", NULL), -EINVAL);
    ck_assert_int_eq(parse("-Q", "memoryx=1", NULL), -EINVAL);
}
END_TEST

START_TEST(test_bad_numbers)
{
    ck_assert_int_eq(parse("-E", "abc", NULL), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "\"abc\" is not a number"));
    ck_assert_int_eq(parse("-W", "-3", NULL), -EINVAL);
    ck_assert_int_eq(parse("-S", "", NULL), -EINVAL);
    ck_assert_int_eq(parse("-t", "12x", NULL), -EINVAL);
    ck_assert_int_eq(parse("-A", "99999999999", NULL), -EINVAL);
    ck_assert_int_eq(parse("-E", "4294967295", NULL), 0);
    ck_assert_uint_eq(o.cfg.nodes_per_domain, 4294967295u);
}
END_TEST

START_TEST(test_path_max_clamped)
{
    ck_assert_int_eq(parse("-M", "100000", NULL), 0);
    ck_assert_uint_eq(o.cfg.path_max, XENSTORE_REL_PATH_MAX);
}
END_TEST

START_TEST(test_errors)
{
    ck_assert_int_eq(parse("-X", NULL), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown option -X"));
    ck_assert_int_eq(parse("--bogus", NULL), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown option --bogus"));
    ck_assert_int_eq(parse("-F", NULL), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    ck_assert_int_eq(parse("stray", NULL), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unexpected argument \"stray\""));
}
END_TEST

START_TEST(test_help)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    ck_assert_int_eq(parse("-h", NULL), 0);
    ck_assert(o.help);
    ck_assert_int_eq(parse("-H", NULL), 0);
    ck_assert(o.help);
    ck_assert_int_eq(parse("--help", NULL), 0);
    ck_assert(o.help);

    f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    options_usage(f, "xenstored");
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "--trace-file"));
    ck_assert_ptr_nonnull(strstr(text, "outstanding"));
    free(text);
}
END_TEST

static Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("parse");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_short_options);
    tcase_add_test(tc, test_long_options);
    tcase_add_test(tc, test_quota);
    tcase_add_test(tc, test_bad_numbers);
    tcase_add_test(tc, test_path_max_clamped);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_help);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(options_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
