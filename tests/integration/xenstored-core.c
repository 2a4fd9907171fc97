/*
 * xenstored-core.c: xenstored and the hypervisor core together.
 *
 * A guest that stops by itself makes @releaseDomain fire, as on Xen: a
 * real xenolithd runs test-pvh-poweroff as a domain that a real xenstored
 * has been told about (INTRODUCE); once the guest powers off, the watcher
 * gets @releaseDomain and the domain is still introduced; once it is
 * destroyed, @releaseDomain fires again and xenstored has forgotten it.
 * And xenstored with no core to reach keeps serving, logging that once.
 *
 * Environment (set by `make check`): XENSTORED_BIN, XENOLITHD, GUEST_DIR.
 * Skips (77) as a whole without /dev/kvm or xenolithd: it is one of the
 * tests of the core (LANE_CORE_TESTS), which `make check` runs in the
 * nested-KVM lane where the host has no KVM, and a program that ran only
 * the second test must not pass for the first.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "xenstore.h"

#define EVENT_TIMEOUT_MS 10000

struct xsd {
    struct core core;            /* its host: xenstored, and the core */
    char rundir[300];            /* xenstored's */
    char log[300];
    struct xs_handle *xs;
};

/* Starts xenstored -N -V (and the core when with_core, xenolithd's
 * handle in x->core.xch) in a fresh rundir; connects a client. */
static void xsd_start(struct xsd *x, bool with_core)
{
    static const char *const verbose[] = { "-V", NULL };
    struct test_host_opts opts = {
        .what = TEST_HOST_XENSTORED | (with_core ? TEST_HOST_CORE : 0),
        .xenstored_args = verbose,
    };
    int rc;

    memset(x, 0, sizeof(*x));
    if (with_core) {
        rc = core_start_with(&x->core, &opts);
        ck_assert_msg(rc == 0, "starting xenstored and xenolithd: %s",
                      x->core.host.err);
    } else {
        rc = test_host_start(&x->core.host, &opts);
        ck_assert_msg(rc == 0, "starting xenstored: %s", x->core.host.err);
    }
    snprintf(x->rundir, sizeof(x->rundir), "%s/xenstored",
             x->core.host.dir);
    snprintf(x->log, sizeof(x->log), "%s/xenstored.log", x->core.host.dir);
    x->xs = xs_open(0);
    ck_assert_msg(x->xs != NULL, "connecting to xenstored in %s: %s",
                  x->rundir, strerror(errno));
}

/* Both daemons must exit 0 on SIGTERM. */
static void xsd_stop(struct xsd *x)
{
    if (x->xs)
        xs_close(x->xs);
    x->xs = NULL;
    xc_interface_close(x->core.xch);
    x->core.xch = NULL;
    ck_assert_msg(test_host_stop(&x->core.host) == 0, "%s",
                  x->core.host.err);
}

/* Times the log holds needle. */
static int log_count(const struct xsd *x, const char *needle)
{
    char line[1024];
    int n = 0;
    FILE *f = fopen(x->log, "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

/* The next watch event's path within timeout_ms, or NULL (caller frees
 * the vector through *vec_r). */
static const char *next_event(struct xsd *x, int timeout_ms, char ***vec_r)
{
    struct pollfd p = { .fd = xs_fileno(x->xs), .events = POLLIN };
    double end = now_ms() + timeout_ms;
    char **vec;

    *vec_r = NULL;
    for (;;) {
        vec = xs_check_watch(x->xs);
        if (vec) {
            *vec_r = vec;
            return vec[XS_WATCH_PATH];
        }
        ck_assert_int_eq(errno, EAGAIN);
        if (now_ms() >= end)
            return NULL;
        poll(&p, 1, (int)(end - now_ms()) + 1);
    }
}

static void expect_release_event(struct xsd *x, const char *why)
{
    char **vec;
    const char *path = next_event(x, EVENT_TIMEOUT_MS, &vec);

    ck_assert_msg(path != NULL, "no @releaseDomain within %d ms %s",
                  EVENT_TIMEOUT_MS, why);
    ck_assert_str_eq(path, "@releaseDomain");
    ck_assert_str_eq(vec[XS_WATCH_TOKEN], "rel");
    free(vec);
}

static void expect_no_event(struct xsd *x, int ms, const char *why)
{
    char **vec;
    const char *path = next_event(x, ms, &vec);

    ck_assert_msg(path == NULL, "unexpected event %s %s", path, why);
}

START_TEST(test_guest_poweroff_releases)
{
    struct xsd x;
    char domsock[400];
    unsigned int reason;
    uint32_t domid = 0;
    int rc;

    /* the core's socket is in the rundir xenstored is given */
    xsd_start(&x, true);
    ck_assert(xs_watch(x.xs, "@releaseDomain", "rel"));
    expect_release_event(&x, "(the new watch's first event)");

    rc = guest_boot(x.core.xch, test_host_guest("test-pvh-poweroff"), 1, 16,
                    NULL, NULL, 0, &domid);
    ck_assert_msg(rc == 0, "booting test-pvh-poweroff: %s", strerror(-rc));
    ck_assert(xs_introduce_domain(x.xs, domid, 1, 1));
    ck_assert(xs_is_domain_introduced(x.xs, domid));
    snprintf(domsock, sizeof(domsock), "%s/domains/%u", x.rundir, domid);
    ck_assert_int_eq(access(domsock, F_OK), 0);
    /* Created, paused: nothing to report. */
    expect_no_event(&x, 300, "while the guest is paused");
    ck_assert_int_eq(log_count(&x, "connected to the hypervisor core"), 1);

    ck_assert_int_eq(xc_domain_unpause(x.core.xch, domid), 0);
    ck_assert_int_eq(shutdown_wait(x.core.xch, domid, EVENT_TIMEOUT_MS,
                                   &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_poweroff);
    expect_release_event(&x, "after the guest powered off");
    /* Shut down, not gone: still introduced, and no second event. */
    ck_assert(xs_is_domain_introduced(x.xs, domid));
    expect_no_event(&x, 300, "for the same shutdown");
    ck_assert_int_eq(log_count(&x, "has shut down"), 1);

    ck_assert_int_eq(xc_domain_destroy(x.core.xch, domid), 0);
    expect_release_event(&x, "after the domain was destroyed");
    ck_assert(!xs_is_domain_introduced(x.xs, domid));
    ck_assert_int_ne(access(domsock, F_OK), 0);
    ck_assert_int_eq(log_count(&x, "forgetting it"), 1);

    xsd_stop(&x);
}
END_TEST

START_TEST(test_no_core_keeps_serving)
{
    struct xsd x;
    unsigned int len;
    char *v;

    /* a rundir with no core.sock in it */
    xsd_start(&x, false);
    ck_assert(xs_watch(x.xs, "@releaseDomain", "rel"));
    expect_release_event(&x, "(the new watch's first event)");
    ck_assert(xs_introduce_domain(x.xs, 5, 1, 1));
    ck_assert(xs_write(x.xs, XBT_NULL, "/local/domain/5/x", "1", 1));
    v = xs_read(x.xs, XBT_NULL, "/local/domain/5/x", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "1");
    free(v);
    /* Tried again at the next INTRODUCE, logged once. */
    ck_assert(xs_introduce_domain(x.xs, 6, 1, 1));
    ck_assert(xs_is_domain_introduced(x.xs, 6));
    ck_assert_int_eq(log_count(&x, "cannot reach the hypervisor core"), 1);
    ck_assert(xs_release_domain(x.xs, 5));
    expect_release_event(&x, "after RELEASE");
    ck_assert(!xs_is_domain_introduced(x.xs, 5));
    xsd_stop(&x);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("xenstored-core");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_no_core_keeps_serving);
    tcase_add_test(tc, test_guest_poweroff_releases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    test_host_require(TEST_HOST_XENSTORED | TEST_HOST_CORE, true);
    test_host_registry();
    sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    test_host_sweep();
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
