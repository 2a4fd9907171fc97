/*
 * check_xlparse.c - unit tests of xl's configuration parsers: the
 * xl.cfg(5) language (suite "xlu_cfg"), disk specifications
 * ("xlu_disk"), vif rates ("xlu_vif") and CPU lists ("cpumap").  The
 * expected values and messages are those of Xen 4.17's xl, including
 * its quirks.  Messages are captured from the report stream.
 */
#include "xl_parse.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The parser's globals, normally in xl.c. */
libxl_ctx *ctx;
struct xl_globals xl_globals;

static xentoollog_logger *lg;
static char *report_buf;
static size_t report_len;
static FILE *report;
static XLU_Config *cfg;

static void setup(void)
{
    setenv("LIBXL_HOST_CPUS", "4", 1);
    setenv("LIBXL_HOST_NODES", "1", 1);
    lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr,
                                                           XTL_ERROR, 0);
    ck_assert_ptr_nonnull(lg);
    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION,
                                     LIBXL_CTX_XENOLITH_OFFLINE, lg), 0);
    report = open_memstream(&report_buf, &report_len);
    ck_assert_ptr_nonnull(report);
    cfg = xlu_cfg_init(report, "test.cfg");
    ck_assert_ptr_nonnull(cfg);
}

static void teardown(void)
{
    xlu_cfg_destroy(cfg);
    fclose(report);
    free(report_buf);
    report_buf = NULL;
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
}

/* What the parser reported so far. */
static const char *reported(void)
{
    fflush(report);
    return report_buf ? report_buf : "";
}

static int load(const char *text)
{
    return xlu_cfg_readdata(cfg, text, (int)strlen(text));
}

/* ------------------------------------------------------------ xlu_cfg */

START_TEST(cfg_strings_numbers_comments)
{
    const char *s;
    long l;

    ck_assert_int_eq(load("name = \"vm1\"; memory = 64 # comment\n"
                          "kernel='/boot/k'\nhex = 0x20\n"), 0);
    ck_assert_int_eq(xlu_cfg_get_string(cfg, "name", &s, 0), 0);
    ck_assert_str_eq(s, "vm1");
    ck_assert_int_eq(xlu_cfg_get_string(cfg, "kernel", &s, 0), 0);
    ck_assert_str_eq(s, "/boot/k");
    ck_assert_int_eq(xlu_cfg_get_long(cfg, "memory", &l, 0), 0);
    ck_assert_int_eq(l, 64);
    ck_assert_int_eq(xlu_cfg_get_long(cfg, "hex", &l, 0), 0);
    ck_assert_int_eq(l, 32);
    ck_assert_int_eq(xlu_cfg_get_string(cfg, "absent", &s, 0), ESRCH);
    ck_assert_str_eq(reported(), "");
}
END_TEST

START_TEST(cfg_escapes)
{
    const char *s;

    ck_assert_int_eq(load("s = \"a\\tb\\\"c\\\\\"\no = \"\\101\"\n"), 0);
    ck_assert_int_eq(xlu_cfg_get_string(cfg, "s", &s, 0), 0);
    ck_assert_str_eq(s, "a\tb\"c\\");
    /* Xen's octal escape keeps the digits' place but stores no byte. */
    ck_assert_int_eq(xlu_cfg_get_string(cfg, "o", &s, 0), 0);
}
END_TEST

START_TEST(cfg_hex_escape_is_refused_as_xen_does)
{
    /* Xen 4.17 rejects two-digit \x escapes (its length check is off by
     * one); xl users see this message. */
    ck_assert_int_eq(load("b = \"\\x41\"\n"), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(),
        "test.cfg:1: config parsing error near `\"\\x41\"': invalid digit "
        "after backslash hexnumerical character escape in quoted string"));
}
END_TEST

START_TEST(cfg_lists)
{
    XLU_ConfigList *list;
    int n;

    ck_assert_int_eq(load("disk = [ 'a',\n  \"b\",\n]\n"
                          "disk += [ 'c' ]\nempty = []\n"), 0);
    ck_assert_int_eq(xlu_cfg_get_list(cfg, "disk", &list, &n, 0), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(xlu_cfg_get_listitem(list, 0), "a");
    ck_assert_str_eq(xlu_cfg_get_listitem(list, 1), "b");
    ck_assert_str_eq(xlu_cfg_get_listitem(list, 2), "c");
    ck_assert_ptr_null(xlu_cfg_get_listitem(list, 3));
    ck_assert_int_eq(xlu_cfg_get_list(cfg, "empty", &list, &n, 0), 0);
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(cfg_string_append)
{
    const char *s;
    long l;

    ck_assert_int_eq(load("s = \"ab\"\ns += \"cd\"\nn = 1\nn += 2\n"), 0);
    ck_assert_int_eq(xlu_cfg_get_string(cfg, "s", &s, 0), 0);
    ck_assert_str_eq(s, "abcd");
    ck_assert_int_eq(xlu_cfg_get_long(cfg, "n", &l, 0), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg:4: warning: can't "
                                 "use += with numbers for parameter `n'"));
}
END_TEST

START_TEST(cfg_wrong_types)
{
    XLU_ConfigList *list;
    const char *s;
    long l;
    int n;

    ck_assert_int_eq(load("m = \"abc\"\nl = [1]\nb = 70000\n"), 0);
    ck_assert_int_eq(xlu_cfg_get_long(cfg, "m", &l, 0), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg:1: warning: "
                                 "parameter `m' is not a valid number"));
    ck_assert_int_eq(xlu_cfg_get_string(cfg, "l", &s, 0), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg:2: warning: "
                                 "parameter `l' is a list but should be a "
                                 "single value"));
    ck_assert_int_eq(xlu_cfg_get_list(cfg, "m", &list, &n, 0), EINVAL);
    ck_assert_int_eq(xlu_cfg_get_bounded_long(cfg, "b", 0, 65535, &l, 0),
                     EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg:3: warning: value "
                                 "`70000' is greater than maximum bound "
                                 "'65535'"));
    /* dont_warn keeps quiet. */
    xlu_cfg_destroy(cfg);
    fclose(report);
    free(report_buf);
    report_buf = NULL;
    report = open_memstream(&report_buf, &report_len);
    ck_assert_ptr_nonnull(report);
    cfg = xlu_cfg_init(report, "test.cfg");
    ck_assert_int_eq(load("m = \"abc\"\n"), 0);
    ck_assert_int_eq(xlu_cfg_get_long(cfg, "m", &l, 1), EINVAL);
    ck_assert_str_eq(reported(), "");
}
END_TEST

START_TEST(cfg_defbool)
{
    libxl_defbool b;

    ck_assert_int_eq(load("t = 1\nf = 0\n"), 0);
    libxl_defbool_unset(&b);
    ck_assert_int_eq(xlu_cfg_get_defbool(cfg, "t", &b, 0), 0);
    ck_assert(libxl_defbool_val(b));
    ck_assert_int_eq(xlu_cfg_get_defbool(cfg, "f", &b, 0), 0);
    ck_assert(!libxl_defbool_val(b));
    libxl_defbool_unset(&b);
    ck_assert_int_eq(xlu_cfg_get_defbool(cfg, "none", &b, 0), ESRCH);
    ck_assert(libxl_defbool_is_default(b));
}
END_TEST

START_TEST(cfg_syntax_errors)
{
    ck_assert_int_eq(load("memory = [\n"), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg:1: config parsing "
                                 "error near `': syntax error, unexpected "
                                 "$end, expecting ']'"));
}
END_TEST

START_TEST(cfg_lexical_error_and_recovery)
{
    /* After a bad line the parser goes on, so every error is reported
     * at once (the configuration as a whole is refused). */
    ck_assert_int_eq(load("a = 1\nb = @\nc = \"ok\"\nd = = 2\n"), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg:2: config parsing "
                                 "error near `@': lexical error"));
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg:4: config parsing "
                                 "error near `=': syntax error, unexpected "
                                 "'=', expecting STRING or NUMBER or '['"));
}
END_TEST

START_TEST(cfg_empty)
{
    long l;

    ck_assert_int_eq(load(""), 0);
    ck_assert_int_eq(xlu_cfg_get_long(cfg, "x", &l, 0), ESRCH);
    ck_assert_int_eq(load("\n\n# only a comment\n"), 0);
}
END_TEST

/* ------------------------------------------------------------ xlu_disk */

static int disk(const char *spec, libxl_device_disk *d)
{
    const char *specs[1] = { spec };

    libxl_device_disk_init(d);
    return xlu_disk_parse(cfg, 1, specs, d);
}

START_TEST(disk_positional)
{
    libxl_device_disk d;

    ck_assert_int_eq(disk("file:/tmp/img,xvda,w", &d), 0);
    ck_assert_str_eq(d.pdev_path, "/tmp/img");
    ck_assert_str_eq(d.vdev, "xvda");
    ck_assert_int_eq(d.format, LIBXL_DISK_FORMAT_RAW);
    ck_assert_int_eq(d.readwrite, 1);
    ck_assert_int_eq(d.is_cdrom, 0);
    libxl_device_disk_dispose(&d);
}
END_TEST

START_TEST(disk_keywords)
{
    libxl_device_disk d;

    ck_assert_int_eq(disk("format=qcow2,vdev=xvdb,access=ro,"
                          "target=/x/y.qcow2", &d), 0);
    ck_assert_str_eq(d.pdev_path, "/x/y.qcow2");
    ck_assert_str_eq(d.vdev, "xvdb");
    ck_assert_int_eq(d.format, LIBXL_DISK_FORMAT_QCOW2);
    ck_assert_int_eq(d.readwrite, 0);
    libxl_device_disk_dispose(&d);
}
END_TEST

START_TEST(disk_cdrom)
{
    libxl_device_disk d;

    ck_assert_int_eq(disk("/dev/sdb,,hdc:cdrom,r", &d), 0);
    ck_assert_str_eq(d.vdev, "hdc");
    ck_assert_int_eq(d.is_cdrom, 1);
    ck_assert_int_eq(d.removable, 1);
    ck_assert_int_eq(d.readwrite, 0);
    libxl_device_disk_dispose(&d);
    /* An empty cdrom drive. */
    ck_assert_int_eq(disk(",,hdc:cdrom,r", &d), 0);
    ck_assert_int_eq(d.format, LIBXL_DISK_FORMAT_EMPTY);
    ck_assert_int_eq(d.is_cdrom, 1);
    libxl_device_disk_dispose(&d);
}
END_TEST

START_TEST(disk_errors)
{
    libxl_device_disk d;

    ck_assert_int_eq(disk("foo,xvda,rw,extra", &d), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg: config parsing "
                                 "error in disk specification: unknown "
                                 "value for format: near `xvda' in "
                                 "`foo,xvda,rw,extra'"));
    libxl_device_disk_dispose(&d);
    ck_assert_int_eq(disk("phy:/dev/x", &d), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "no vdev specified in "
                                 "`phy:/dev/x'"));
    libxl_device_disk_dispose(&d);
}
END_TEST

/* ------------------------------------------------------------ xlu_vif */

START_TEST(vif_rates)
{
    libxl_device_nic n;

    libxl_device_nic_init(&n);
    ck_assert_int_eq(xlu_vif_parse_rate(cfg, "10Mb/s", &n), 0);
    ck_assert_uint_eq(n.rate_bytes_per_interval, 62500);
    ck_assert_uint_eq(n.rate_interval_usecs, 50000);
    ck_assert_int_eq(xlu_vif_parse_rate(cfg, "1GB/s@20ms", &n), 0);
    ck_assert_uint_eq(n.rate_bytes_per_interval, 20000000);
    ck_assert_uint_eq(n.rate_interval_usecs, 20000);
    libxl_device_nic_dispose(&n);
}
END_TEST

START_TEST(vif_errors)
{
    libxl_device_nic n;

    libxl_device_nic_init(&n);
    ck_assert_int_eq(xlu_vif_parse_rate(cfg, "10Xb/s", &n), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg: config parsing "
                                 "error in vif: invalid rate in "
                                 "`10Xb/s'"));
    ck_assert_int_eq(xlu_vif_parse_rate(cfg, "", &n), EINVAL);
    ck_assert_ptr_nonnull(strstr(reported(), "no rate specified"));
    ck_assert_int_ne(xlu_vif_parse_rate(cfg, "99999999999999999999GB/s",
                                        &n), 0);
    libxl_device_nic_dispose(&n);
}
END_TEST

/* ------------------------------------------------------------ accel */

START_TEST(accel_values)
{
    libxl_xenolith_accel a = LIBXL_XENOLITH_ACCEL_AUTO;

    ck_assert_int_eq(load("name = \"x\"\n"), 0);
    ck_assert_int_eq(parse_accel(cfg, &a), ESRCH);
    ck_assert_int_eq(a, LIBXL_XENOLITH_ACCEL_AUTO);
    ck_assert_int_eq(load("accel = \"tcg\"\n"), 0);
    ck_assert_int_eq(parse_accel(cfg, &a), 0);
    ck_assert_int_eq(a, LIBXL_XENOLITH_ACCEL_TCG);
    ck_assert_int_eq(load("accel = \"kvm\"\n"), 0);
    ck_assert_int_eq(parse_accel(cfg, &a), 0);
    ck_assert_int_eq(a, LIBXL_XENOLITH_ACCEL_KVM);
    ck_assert_str_eq(reported(), "");
}
END_TEST

START_TEST(accel_bad_value)
{
    libxl_xenolith_accel a = LIBXL_XENOLITH_ACCEL_TCG;

    ck_assert_int_eq(load("name = \"x\"\n\naccel = \"hvf\"\n"), 0);
    ck_assert_int_eq(parse_accel(cfg, &a), EINVAL);
    ck_assert_int_eq(a, LIBXL_XENOLITH_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(reported(), "test.cfg:3: invalid value "
                                 "\"hvf\" for \"accel\""));
}
END_TEST

/* ------------------------------------------------------------ cpumap */

static int cpus(const char *s, libxl_bitmap *m)
{
    libxl_bitmap_init(m);
    ck_assert_int_eq(libxl_cpu_bitmap_alloc(ctx, m, 0), 0);
    return parse_cpurange(s, m);
}

START_TEST(cpumap_ranges)
{
    libxl_bitmap m;

    ck_assert_int_eq(cpus("0-3,^2", &m), 0);
    ck_assert_int_eq(m.map[0], 0xb);
    libxl_bitmap_dispose(&m);
    ck_assert_int_eq(cpus("1", &m), 0);
    ck_assert_int_eq(m.map[0], 0x2);
    libxl_bitmap_dispose(&m);
    ck_assert_int_eq(cpus("all", &m), 0);
    ck_assert(libxl_bitmap_is_full(&m));
    libxl_bitmap_dispose(&m);
    ck_assert_int_eq(cpus("nodes:0", &m), 0);
    ck_assert_int_eq(m.map[0], 0xf);
    libxl_bitmap_dispose(&m);
}
END_TEST

START_TEST(cpumap_errors)
{
    libxl_bitmap m;

    ck_assert_int_ne(cpus("3-1", &m), 0);
    libxl_bitmap_dispose(&m);
    ck_assert_int_ne(cpus("^all", &m), 0);
    libxl_bitmap_dispose(&m);
    ck_assert_int_ne(cpus("x", &m), 0);
    libxl_bitmap_dispose(&m);
    ck_assert_int_ne(cpus("1-", &m), 0);
    libxl_bitmap_dispose(&m);
}
END_TEST

START_TEST(cpumap_parse_range)
{
    unsigned long a, b;

    ck_assert_int_eq(parse_range("4", &a, &b), 0);
    ck_assert_uint_eq(a, 4);
    ck_assert_uint_eq(b, 4);
    ck_assert_int_eq(parse_range("2-7", &a, &b), 0);
    ck_assert_uint_eq(a, 2);
    ck_assert_uint_eq(b, 7);
    ck_assert_int_ne(parse_range("7-2", &a, &b), 0);
    ck_assert_int_ne(parse_range("", &a, &b), 0);
    ck_assert_int_ne(parse_range("2-3x", &a, &b), 0);
}
END_TEST

static TCase *new_tcase(Suite *s)
{
    TCase *tc = tcase_create("all");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    suite_add_tcase(s, tc);
    return tc;
}

int main(void)
{
    Suite *s_cfg = suite_create("xlu_cfg");
    Suite *s_disk = suite_create("xlu_disk");
    Suite *s_vif = suite_create("xlu_vif");
    Suite *s_cpu = suite_create("cpumap");
    SRunner *sr;
    TCase *tc;
    int failed;

    tc = new_tcase(s_cfg);
    tcase_add_test(tc, cfg_strings_numbers_comments);
    tcase_add_test(tc, cfg_escapes);
    tcase_add_test(tc, cfg_hex_escape_is_refused_as_xen_does);
    tcase_add_test(tc, cfg_lists);
    tcase_add_test(tc, cfg_string_append);
    tcase_add_test(tc, cfg_wrong_types);
    tcase_add_test(tc, cfg_defbool);
    tcase_add_test(tc, cfg_syntax_errors);
    tcase_add_test(tc, cfg_lexical_error_and_recovery);
    tcase_add_test(tc, cfg_empty);
    tc = new_tcase(s_disk);
    tcase_add_test(tc, disk_positional);
    tcase_add_test(tc, disk_keywords);
    tcase_add_test(tc, disk_cdrom);
    tcase_add_test(tc, disk_errors);
    tc = new_tcase(s_vif);
    tcase_add_test(tc, vif_rates);
    tcase_add_test(tc, vif_errors);
    tcase_add_test(tc, accel_values);
    tcase_add_test(tc, accel_bad_value);
    tc = new_tcase(s_cpu);
    tcase_add_test(tc, cpumap_ranges);
    tcase_add_test(tc, cpumap_errors);
    tcase_add_test(tc, cpumap_parse_range);

    sr = srunner_create(s_cfg);
    srunner_add_suite(sr, s_disk);
    srunner_add_suite(sr, s_vif);
    srunner_add_suite(sr, s_cpu);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
