/*
 * check_guests.c - boot each test guest on a private xenolithd through
 * KVM and check its verdict line and the state the core reports.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define TIMEOUT_MS 20000

static struct core core;
static char ring[65537];

static void setup(void)
{
    int rc = core_start(&core);

    ck_assert_msg(rc == 0, "starting xenolithd: %s", strerror(-rc));
}

static void teardown(void)
{
    core_stop(&core);
}

static uint32_t boot(const char *name, unsigned int vcpus,
                     const char *cmdline, const void *mod, size_t mod_len)
{
    uint32_t domid = 0;
    int rc;

    rc = guest_boot(core.xch, test_host_guest(name), vcpus, 32, cmdline, mod,
                    mod_len, &domid);
    ck_assert_msg(rc == 0, "booting %s: %s", name, strerror(-rc));
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    return domid;
}

/* Wait for the verdict line and check it is want. */
static void expect_verdict(uint32_t domid, const char *want)
{
    char line[64];
    int rc;

    rc = console_wait_line(core.xch, domid, "Test result: ", TIMEOUT_MS,
                           ring, sizeof(ring));
    ck_assert_msg(rc == 1, "domain %u: no whole verdict line; console:\n%s",
                  domid, ring);
    snprintf(line, sizeof(line), "Test result: %s", want);
    ck_assert_msg(strstr(ring, line), "domain %u: want %s; console:\n%s",
                  domid, want, ring);
}

static void expect_shutdown(uint32_t domid, unsigned int want)
{
    unsigned int reason = 99;
    int rc = shutdown_wait(core.xch, domid, TIMEOUT_MS, &reason);

    ck_assert_msg(rc == 1, "domain %u did not shut down", domid);
    ck_assert_msg(reason == want, "domain %u: shutdown reason %u, want %u",
                  domid, reason, want);
}

START_TEST(test_hello)
{
    xc_dominfo_t info;
    uint32_t domid;
    double t0 = now_ms();

    domid = boot("test-pvh-hello", 1, NULL, NULL, 0);
    expect_verdict(domid, "SUCCESS");
    ck_assert_ptr_nonnull(strstr(ring, "Hello from test-pvh-hello"));
    printf("hello: verdict after %.1f ms\n", now_ms() - t0);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    ck_assert_uint_eq(info.domid, domid);
    ck_assert(!info.shutdown && !info.dying && !info.paused);
    ck_assert_uint_eq(info.nr_online_vcpus, 1);
    ck_assert_uint_eq(info.nr_pages, 32 * 256);
    ck_assert(info.cpu_time > 0);
    ck_assert(info.pid > 0);
    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info),
                     -ESRCH);
    ck_assert_int_eq(kill(info.pid, 0) == 0 ? 1 : 0, 0);
}
END_TEST

START_TEST(test_startinfo)
{
    static const char module[] = "XENOLITH-MODULE-PAYLOAD-0123456789abcdef";
    uint32_t domid;

    domid = boot("test-pvh-startinfo", 1,
                 "xenolith-startinfo console=ttyS0 answer=42", module,
                 sizeof(module) - 1);
    expect_verdict(domid, "SUCCESS");
}
END_TEST

START_TEST(test_poweroff)
{
    uint32_t domid = boot("test-pvh-poweroff", 1, NULL, NULL, 0);
    xc_dominfo_t info;

    expect_verdict(domid, "SUCCESS");
    expect_shutdown(domid, XC_SHUTDOWN_poweroff);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    ck_assert(info.shutdown && !info.crashed && !info.running);
    ck_assert_ptr_null(strstr(ring, "still running"));
}
END_TEST

START_TEST(test_reboot_kbd)
{
    uint32_t domid = boot("test-pvh-reboot", 1, "kbd", NULL, 0);

    expect_verdict(domid, "SUCCESS");
    expect_shutdown(domid, XC_SHUTDOWN_reboot);
}
END_TEST

START_TEST(test_reboot_acpi)
{
    uint32_t domid = boot("test-pvh-reboot", 1, "acpi", NULL, 0);

    expect_verdict(domid, "SUCCESS");
    ck_assert_ptr_nonnull(strstr(ring, "ACPI reset register"));
    expect_shutdown(domid, XC_SHUTDOWN_reboot);
}
END_TEST

START_TEST(test_crash)
{
    uint32_t domid = boot("test-pvh-crash", 1, NULL, NULL, 0);
    xc_dominfo_t info;

    expect_verdict(domid, "SUCCESS");
    expect_shutdown(domid, XC_SHUTDOWN_crash);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    ck_assert(info.crashed);
    ck_assert_ptr_null(strstr(ring, "survived"));
}
END_TEST

START_TEST(test_smp)
{
    uint32_t domid = boot("test-pvh-smp", 4, NULL, NULL, 0);
    xc_dominfo_t info;
    int i;

    expect_verdict(domid, "SUCCESS");
    /* the verdict line's end may come later (seen in the nested lane) */
    ck_assert_msg(console_wait(core.xch, domid, "4 vCPUs up", TIMEOUT_MS,
                               ring, sizeof(ring)) == 1,
                  "domain %u: no \"4 vCPUs up\"; console:\n%s", domid, ring);
    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info),
                         0);
        if (info.nr_online_vcpus == 4)
            break;
        usleep(10000);
    }
    ck_assert_uint_eq(info.nr_online_vcpus, 4);
    ck_assert_uint_eq(info.max_vcpu_id, 3);
}
END_TEST

START_TEST(test_timer)
{
    uint32_t domid = boot("test-pvh-timer", 1, NULL, NULL, 0);

    expect_verdict(domid, "SUCCESS");
    ck_assert_ptr_nonnull(strstr(ring, "LAPIC timer interrupt"));
}
END_TEST

static size_t ring_len(uint32_t domid)
{
    size_t len = sizeof(ring) - 1;

    ck_assert_int_eq(xc_console_read_ring(core.xch, domid, ring, &len), 0);
    return len;
}

START_TEST(test_counter_pause)
{
    uint32_t domid = boot("test-pvh-counter", 1, NULL, NULL, 0);
    xc_dominfo_t info;
    size_t a, b;

    ck_assert_int_eq(console_wait(core.xch, domid, "counter 3\n",
                                  TIMEOUT_MS, ring, sizeof(ring)), 1);
    ck_assert_int_eq(xc_domain_pause(core.xch, domid), 0);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    ck_assert(info.paused && !info.running);
    a = ring_len(domid);
    usleep(300000);
    b = ring_len(domid);
    ck_assert_msg(a == b, "output went on while paused (%zu -> %zu)", a, b);
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    usleep(300000);
    b = ring_len(domid);
    ck_assert_msg(b > a, "no output after unpause");
}
END_TEST

START_TEST(test_echo)
{
    struct xc_console_info ci;
    struct sockaddr_un sa;
    uint32_t domid;
    int fd;

    domid = boot("test-pvh-echo", 1, NULL, NULL, 0);
    ck_assert_int_eq(console_wait(core.xch, domid, "echo: ready\n",
                                  TIMEOUT_MS, ring, sizeof(ring)), 1);
    /* typed through libxenctrl */
    ck_assert_int_eq(xc_console_write(core.xch, domid, "hello xenolith\n",
                                      15), 15);
    ck_assert_int_eq(console_wait(core.xch, domid, "echo: hello xenolith\n",
                                  TIMEOUT_MS, ring, sizeof(ring)), 1);
    /* and through the console socket, as "xl console" does */
    ck_assert_int_eq(xc_console_info(core.xch, domid, &ci), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ci.socket_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(write(fd, "second line\r\n", 13), 13);
    ck_assert_int_eq(console_wait(core.xch, domid, "Test result: SUCCESS",
                                  TIMEOUT_MS, ring, sizeof(ring)), 1);
    ck_assert_ptr_nonnull(strstr(ring, "echo: second line\n"));
    close(fd);
}
END_TEST

static Suite *guests_suite(void)
{
    Suite *s = suite_create("guests");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        { "hello", test_hello },
        { "startinfo", test_startinfo },
        { "poweroff", test_poweroff },
        { "reboot_kbd", test_reboot_kbd },
        { "reboot_acpi", test_reboot_acpi },
        { "crash", test_crash },
        { "smp", test_smp },
        { "timer", test_timer },
        { "counter_pause", test_counter_pause },
        { "echo", test_echo },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);

        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    test_host_require(TEST_HOST_CORE, true);
    sr = srunner_create(guests_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
