/*
 * check_valgrind.c - xenolithd under valgrind (memcheck, full leak
 * check) through a guest's create, boot and destroy, then a clean exit:
 * any error valgrind finds in the daemon fails the test.  Skipped when
 * valgrind is absent.  (The domain processes, forked from the daemon,
 * run under valgrind too; they are killed, so only the daemon's verdict
 * counts, and its log is kept on failure.)
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TIMEOUT_MS 60000

static const char *valgrind_path(void)
{
    static const char *const paths[] = {
        "/usr/bin/valgrind", "/usr/local/bin/valgrind", NULL,
    };
    int i;

    for (i = 0; paths[i]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

START_TEST(test_daemon_under_valgrind)
{
    char vglog[300], logopt[320];
    const char *wrapper[] = {
        valgrind_path(), "-q", "--leak-check=full", "--error-exitcode=1",
        "--child-silent-after-fork=yes", logopt, NULL,
    };
    struct test_host_opts opts = {
        .what = TEST_HOST_CORE,
        .core_wrapper = wrapper,
    };
    struct test_host host;
    xc_interface *xch = NULL;
    uint32_t domid = 0;
    int i, rc;

    /* valgrind's log goes beside the run directory (removed at stop) */
    snprintf(vglog, sizeof(vglog), "/tmp/xenolith-valgrind-%d.log",
             (int)getpid());
    snprintf(logopt, sizeof(logopt), "--log-file=%s", vglog);
    rc = test_host_start(&host, &opts);
    ck_assert_msg(rc == 0, "xenolithd under valgrind: %s", host.err);
    for (i = 0; i < 300 && !xch; i++) {
        xch = xc_interface_open(NULL, NULL, 0);
        if (!xch)
            usleep(100000);
    }
    ck_assert_msg(xch != NULL, "xenolithd under valgrind did not answer");

    rc = guest_boot(xch, test_host_guest("test-pvh-hello"), 1, 16, NULL, NULL,
                    0, &domid);
    ck_assert_msg(rc == 0, "booting hello: %s", strerror(-rc));
    ck_assert_int_eq(xc_domain_unpause(xch, domid), 0);
    ck_assert_int_eq(console_wait(xch, domid, "Test result: SUCCESS",
                                  TIMEOUT_MS, NULL, 0), 1);
    ck_assert_int_eq(xc_domain_destroy(xch, domid), 0);
    xc_interface_close(xch);

    ck_assert_msg(test_host_stop(&host) == 0, "valgrind found errors in "
                  "xenolithd: %s; see %s", host.err, vglog);
    unlink(vglog);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("valgrind");
    TCase *tc = tcase_create("daemon");
    SRunner *sr;
    int failed;

    test_host_require(TEST_HOST_CORE, true);
    if (!valgrind_path()) {
        printf("SKIP: valgrind not installed\n");
        return 77;
    }
    if (getenv("XENOLITH_SANITIZED") &&
        strcmp(getenv("XENOLITH_SANITIZED"), "1") == 0) {
        printf("SKIP: an ASan-built xenolithd cannot run under valgrind\n");
        return 77;
    }
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_daemon_under_valgrind);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
