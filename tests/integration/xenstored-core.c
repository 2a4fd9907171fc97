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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "xenstore.h"

#define EVENT_TIMEOUT_MS 10000

struct xsd {
    char rundir[300];
    char log[300];
    pid_t pid;
    struct xs_handle *xs;
};

/* Starts xenstored -N with its rundir under dir; connects a client. */
static void xsd_start(struct xsd *x, const char *dir)
{
    char sock[340];
    int i;

    snprintf(x->rundir, sizeof(x->rundir), "%s/xenstored", dir);
    snprintf(x->log, sizeof(x->log), "%s/xenstored.log", dir);
    snprintf(sock, sizeof(sock), "%s/socket", x->rundir);
    setenv("XENSTORED_RUNDIR", x->rundir, 1);
    setenv("XENSTORED_PATH", sock, 1);
    x->pid = fork();
    ck_assert_int_ge(x->pid, 0);
    if (x->pid == 0) {
        /* Gone with the test when an assertion ends it early. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(getenv("XENSTORED_BIN"), "xenstored", "-N", "-V", "-L",
              x->log, (char *)NULL);
        _exit(127);
    }
    /* the socket shows up at bind(), before listen(): a connection
     * refused in between is retried (a slow host, the lane, sees it) */
    x->xs = NULL;
    for (i = 0; i < 500 && !x->xs; i++) {
        if (access(sock, F_OK) == 0 && (x->xs = xs_open(0)) != NULL)
            break;
        usleep(10000);
    }
    ck_assert_msg(x->xs != NULL, "connecting to xenstored at %s: %s", sock,
                  strerror(errno));
}

static void xsd_stop(struct xsd *x)
{
    int status;

    if (x->xs)
        xs_close(x->xs);
    x->xs = NULL;
    if (x->pid > 0) {
        kill(x->pid, SIGTERM);
        ck_assert_int_eq(waitpid(x->pid, &status, 0), x->pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "xenstored exited with status %#x", status);
    }
    x->pid = 0;
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

/*
 * The core daemonises: should an assertion end the test early, main()
 * stops it, from what this file (named by $XSDCORE_STATE) says.
 */
static void note_core(const struct core *c)
{
    const char *state = getenv("XSDCORE_STATE");
    FILE *f = state ? fopen(state, "w") : NULL;

    if (!f)
        return;
    fprintf(f, "%d %s\n", (int)c->pid, c->dir);
    fclose(f);
}

static void sweep_core(const char *state)
{
    char dir[256], cmd[300];
    FILE *f = fopen(state, "r");
    int pid;

    if (!f)
        return;
    if (fscanf(f, "%d %255s", &pid, dir) == 2 && pid > 0 &&
        kill(pid, SIGTERM) == 0) {
        usleep(200000);
        kill(pid, SIGKILL);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            /* a leftover temporary folder is harmless */
        }
    }
    fclose(f);
    unlink(state);
}

START_TEST(test_guest_poweroff_releases)
{
    struct core core;
    struct xsd x = { .pid = 0 };
    char domsock[400];
    unsigned int reason;
    uint32_t domid = 0;
    int rc;

    rc = core_start(&core);
    ck_assert_msg(rc == 0, "starting xenolithd: %s", strerror(-rc));
    note_core(&core);
    /* core_start set XENOLITH_RUNDIR: xenstored finds core.sock there. */
    xsd_start(&x, core.dir);
    ck_assert(xs_watch(x.xs, "@releaseDomain", "rel"));
    expect_release_event(&x, "(the new watch's first event)");

    rc = guest_boot(core.xch, guest_path("test-pvh-poweroff"), 1, 16, NULL,
                    NULL, 0, &domid);
    ck_assert_msg(rc == 0, "booting test-pvh-poweroff: %s", strerror(-rc));
    ck_assert(xs_introduce_domain(x.xs, domid, 1, 1));
    ck_assert(xs_is_domain_introduced(x.xs, domid));
    snprintf(domsock, sizeof(domsock), "%s/domains/%u", x.rundir, domid);
    ck_assert_int_eq(access(domsock, F_OK), 0);
    /* Created, paused: nothing to report. */
    expect_no_event(&x, 300, "while the guest is paused");
    ck_assert_int_eq(log_count(&x, "connected to the hypervisor core"), 1);

    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    ck_assert_int_eq(shutdown_wait(core.xch, domid, EVENT_TIMEOUT_MS,
                                   &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_poweroff);
    expect_release_event(&x, "after the guest powered off");
    /* Shut down, not gone: still introduced, and no second event. */
    ck_assert(xs_is_domain_introduced(x.xs, domid));
    expect_no_event(&x, 300, "for the same shutdown");
    ck_assert_int_eq(log_count(&x, "has shut down"), 1);

    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    expect_release_event(&x, "after the domain was destroyed");
    ck_assert(!xs_is_domain_introduced(x.xs, domid));
    ck_assert_int_ne(access(domsock, F_OK), 0);
    ck_assert_int_eq(log_count(&x, "forgetting it"), 1);

    xsd_stop(&x);
    core_stop(&core);
    if (getenv("XSDCORE_STATE"))
        unlink(getenv("XSDCORE_STATE"));
}
END_TEST

START_TEST(test_no_core_keeps_serving)
{
    char dir[] = "/tmp/xenolith-xsdcore-XXXXXX", cmd[100];
    struct xsd x = { .pid = 0 };
    unsigned int len;
    char *v;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* A rundir with no core.sock in it. */
    setenv("XENOLITH_RUNDIR", dir, 1);
    xsd_start(&x, dir);
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
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
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
    char state[64];
    SRunner *sr;
    int failed;

    harness_require_kvm();
    snprintf(state, sizeof(state), "/tmp/xenolith-xsdcore-%d.state",
             (int)getpid());
    setenv("XSDCORE_STATE", state, 1);
    sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    sweep_core(state);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
