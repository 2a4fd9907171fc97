/*
 * xenstored-liveupdate.c: xenstored updated under its clients
 * (`xenstore-control live-update BINARY`, Xen's client and ours).
 *
 * A real xenstored holds nodes (values with NUL bytes, permissions naming
 * other domains), a domain introduced, and a watcher; while a writer
 * changes a node 300 times, the daemon executes itself again.  Afterwards:
 * the same process id, the watcher's connection still there and every
 * one of the 300 events seen once, no event made up by the update, every
 * node with its value and permissions, the domain still introduced, new
 * clients served, and a second update in a row.  With a transaction open
 * the update waits (BUSY) and gives up at its timeout, changing nothing.
 *
 * And the unplanned restart: a daemon with --snapshot killed with -9
 * comes back, started again, with every node, permission and domain
 * written more than a second before, says that it did not stop cleanly,
 * and removes its snapshot when stopped cleanly.
 *
 * Environment (set by `make check`): XENSTORED_BIN, XS_TOOLS (our
 * xenstore-* tools).
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testhost.h"
#include "xenstore.h"

#define WRITES 300

static struct test_host host;

static void setup(void)
{
    static const char *const verbose[] = { "-V", NULL };
    static const struct test_host_opts opts = {
        .what = TEST_HOST_XENSTORED,
        .xenstored_args = verbose,  /* the update's info lines */
    };

    ck_assert_msg(test_host_start(&host, &opts) == 0, "%s", host.err);
}

static void teardown(void)
{
    ck_assert_msg(test_host_stop(&host) == 0, "%s", host.err);
}

/* Runs a xenstore-control live-update; its exit status. */
static int live_update(const char *control, const char *extra)
{
    char cmd[1024];
    int st;

    snprintf(cmd, sizeof(cmd), "%s live-update %s %s >%s/lu.out 2>&1",
             control, extra, getenv("XENSTORED_BIN"), host.dir);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *lu_output(void)
{
    static char buf[1024];
    char path[128];
    size_t n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/lu.out", host.dir);
    f = fopen(path, "re");
    if (f) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* The xenstore-control binaries to try: Xen's (Debian's) and ours. */
static const char *controls[2];

static void find_controls(void)
{
    static char ours[512];
    const char *tools = getenv("XS_TOOLS");

    /* Debian's binary itself: /usr/bin's wrapper wants a Xen host */
    if (access("/usr/lib/xen-4.17/bin/xenstore-control", X_OK) == 0)
        controls[0] = "/usr/lib/xen-4.17/bin/xenstore-control";
    snprintf(ours, sizeof(ours), "%s/xenstore-control", tools ? tools : ".");
    if (access(ours, X_OK) == 0)
        controls[controls[0] ? 1 : 0] = ours;
}

/* Times the daemon's log holds needle. */
static int logged(const char *needle)
{
    char path[128], line[1024];
    int n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/xenstored.log", host.dir);
    f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

static void put(struct xs_handle *h, const char *path, const char *v,
                unsigned int len)
{
    ck_assert_msg(xs_write(h, XBT_NULL, path, v, len), "write %s: %s", path,
                  strerror(errno));
}

/* Events for path on w within ms; counts them. */
static unsigned int events(struct xs_handle *w, const char *path, int ms)
{
    struct pollfd p = { .fd = xs_fileno(w), .events = POLLIN };
    unsigned int n = 0;
    char **ev;

    for (;;) {
        while ((ev = xs_check_watch(w)) != NULL) {
            if (!strcmp(ev[XS_WATCH_PATH], path))
                n++;
            free(ev);
        }
        if (poll(&p, 1, ms) <= 0)
            return n;
    }
}

/* A connection with domid's identity: its socket in the rundir. */
static struct xs_handle *domain_open(unsigned int domid)
{
    char path[160], *saved = strdup(getenv("XENSTORED_PATH"));
    struct xs_handle *h;

    snprintf(path, sizeof(path), "%s/xenstored/domains/%u", host.dir,
             domid);
    setenv("XENSTORED_PATH", path, 1);
    h = xs_open(0);
    setenv("XENSTORED_PATH", saved, 1);
    free(saved);
    ck_assert_msg(h != NULL, "connecting as domain %u on %s: %s", domid,
                  path, strerror(errno));
    return h;
}

static void check_nodes(struct xs_handle *h)
{
    static const char bin[] = { 'a', 0, 'b', 0, 'c' };
    struct xs_permissions *p;
    unsigned int len, n;
    char *v;

    v = xs_read(h, XBT_NULL, "/lu/bin", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, sizeof(bin));
    ck_assert(!memcmp(v, bin, len));
    free(v);
    v = xs_read(h, XBT_NULL, "/lu/deep/x/y", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "z");
    free(v);
    p = xs_get_permissions(h, XBT_NULL, "/lu/deep/x/y", &n);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(p[0].id, 5);
    ck_assert_uint_eq(p[0].perms, XS_PERM_NONE);
    ck_assert_uint_eq(p[1].id, 7);
    ck_assert_uint_eq(p[1].perms, XS_PERM_READ);
    free(p);
    ck_assert(xs_is_domain_introduced(h, 5));
}

START_TEST(test_update_under_clients)
{
    static const char bin[] = { 'a', 0, 'b', 0, 'c' };
    struct xs_permissions perms[2] = {
        { .id = 5, .perms = XS_PERM_NONE },
        { .id = 7, .perms = XS_PERM_READ },
    };
    const char *control = controls[_i];
    struct xs_handle *h = xs_open(0), *w = xs_open(0), *h2, *d5;
    pid_t pid = host.xenstored, writer;
    unsigned int len;
    char v[16], *v5;
    int st, rc;

    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(w);
    put(h, "/lu/bin", bin, sizeof(bin));
    put(h, "/lu/deep/x/y", "z", 1);
    ck_assert(xs_set_permissions(h, XBT_NULL, "/lu/deep/x/y", perms, 2));
    ck_assert(xs_introduce_domain(h, 5, 1234, 7));
    /* domain 5's own connection, with a relative watch in its home */
    put(h, "/local/domain/5/data", "", 0);
    ck_assert(xs_set_permissions(h, XBT_NULL, "/local/domain/5/data",
                                 perms, 1));
    d5 = domain_open(5);
    ck_assert(xs_watch(d5, "data", "rel"));
    ck_assert_uint_eq(events(d5, "data", 1000), 1);
    put(h, "/lu/n", "0", 1);
    ck_assert(xs_watch(w, "/lu/n", "tok"));
    ck_assert_uint_eq(events(w, "/lu/n", 1000), 1);   /* the first fire */

    /* a writer changes /lu/n WRITES times, through the update */
    writer = fork();
    ck_assert_int_ge(writer, 0);
    if (writer == 0) {
        struct xs_handle *x = xs_open(0);
        struct timespec ts = { 0, 2 * 1000 * 1000 };
        int i;

        for (i = 1; x && i <= WRITES; i++) {
            snprintf(v, sizeof(v), "%d", i);
            if (!xs_write(x, XBT_NULL, "/lu/n", v, (unsigned int)strlen(v)))
                _exit(1);
            nanosleep(&ts, NULL);
        }
        _exit(x ? 0 : 2);
    }
    usleep(100 * 1000);
    rc = live_update(control, "");
    ck_assert_msg(rc == 0, "%s live-update: exit %d: %s", control, rc,
                  lu_output());
    ck_assert_int_eq(waitpid(writer, &st, 0), writer);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "the writer failed (status %#x)", st);
    /* the same process, executed again, and nothing of the state refused */
    ck_assert_int_eq(kill(pid, 0), 0);
    ck_assert_int_eq(host.xenstored, pid);
    ck_assert_int_eq(logged("live update: executing"), 1);
    ck_assert_int_eq(logged("(0 refused)"), 1);
    /* every write's event, once each, and none made up */
    ck_assert_uint_eq(events(w, "/lu/n", 1000), WRITES);
    check_nodes(h);
    check_nodes(w);
    h2 = xs_open(0);
    ck_assert_ptr_nonnull(h2);
    check_nodes(h2);
    put(h2, "/lu/n", "after", 5);
    ck_assert_uint_eq(events(w, "/lu/n", 1000), 1);
    /* the domain's connection and its relative watch */
    ck_assert_uint_eq(events(d5, "data", 200), 0);
    put(h2, "/local/domain/5/data/x", "1", 1);
    ck_assert_uint_eq(events(d5, "data/x", 1000), 1);
    v5 = xs_read(d5, XBT_NULL, "data/x", &len);
    ck_assert_ptr_nonnull(v5);
    free(v5);

    /* and again, from the process that was itself restored */
    rc = live_update(control, "");
    ck_assert_msg(rc == 0, "second live-update: exit %d: %s", rc,
                  lu_output());
    ck_assert_int_eq(kill(pid, 0), 0);
    ck_assert_int_eq(logged("(0 refused)"), 2);
    check_nodes(h2);
    put(h, "/lu/n", "again", 5);
    ck_assert_uint_eq(events(w, "/lu/n", 1000), 1);
    xs_close(d5);
    xs_close(h2);
    xs_close(w);
    xs_close(h);
}
END_TEST

START_TEST(test_busy_with_a_transaction)
{
    const char *control = controls[_i];
    struct xs_handle *h = xs_open(0);
    xs_transaction_t t;
    int rc;

    ck_assert_ptr_nonnull(h);
    t = xs_transaction_start(h);
    ck_assert(t != XBT_NULL);
    ck_assert(xs_write(h, t, "/lu/tx", "1", 1));
    rc = live_update(control, "-t 2");
    ck_assert_msg(rc == 3 && strstr(lu_output(), "BUSY"),
                  "with a transaction open: exit %d: %s", rc, lu_output());
    /* nothing changed: the transaction commits */
    ck_assert(xs_transaction_end(h, t, false));
    xs_close(h);
}
END_TEST

START_TEST(test_bad_binary_refused)
{
    const char *control = controls[_i];
    char cmd[512];
    int st;

    snprintf(cmd, sizeof(cmd), "%s live-update /nonexistent/xenstored "
             ">%s/lu.out 2>&1", control, host.dir);
    st = system(cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3 &&
                  strstr(lu_output(), "/nonexistent/xenstored"),
                  "status %#x: %s", st, lu_output());
    ck_assert_int_eq(kill(host.xenstored, 0), 0);
}
END_TEST

/* ------------------------------------------------------------ crash */

static const char *const crash_args[] = { "-V", NULL };
static const struct test_host_opts crash_opts = {
    .what = TEST_HOST_XENSTORED,
    .xenstored_args = crash_args,
    .snapshot = true,
};

static void crash_setup(void)
{
    ck_assert_msg(test_host_start(&host, &crash_opts) == 0, "%s",
                  host.err);
}

static void crash_teardown(void)
{
    test_host_stop(&host);
}

START_TEST(test_crash_restart)
{
    static const char bin[] = { 'x', 0, 'y' };
    struct xs_permissions perms[2] = {
        { .id = 9, .perms = XS_PERM_READ },
        { .id = 3, .perms = XS_PERM_WRITE },
    };
    struct xs_handle *h = xs_open(0);
    struct xs_permissions *p;
    unsigned int len, n;
    int i, status;
    char *v;
    pid_t d;

    ck_assert_ptr_nonnull(h);
    put(h, "/cr/bin", bin, sizeof(bin));
    put(h, "/cr/deep/a/b", "c", 1);
    ck_assert(xs_set_permissions(h, XBT_NULL, "/cr/deep/a/b", perms, 2));
    ck_assert(xs_introduce_domain(h, 9, 4321, 11));
    /* the snapshot follows within a second of a change */
    ck_assert_msg(test_host_snapshot_settle(&host) == 0,
                  "no snapshot %s after 5 s", host.snapshot);
    xs_close(h);

    ck_assert_int_eq(test_host_kill_xenstored(&host), 0);
    ck_assert_msg(test_host_restart_xenstored(&host, &crash_opts, 0) == 0,
                  "%s", host.err);
    d = host.xenstored;
    for (i = 0, h = NULL; i < 100 && !h; i++) {
        h = xs_open(0);
        if (!h)
            usleep(50 * 1000);
    }
    ck_assert_msg(h != NULL, "xenstored did not come back");
    v = xs_read(h, XBT_NULL, "/cr/bin", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, sizeof(bin));
    ck_assert(!memcmp(v, bin, len));
    free(v);
    p = xs_get_permissions(h, XBT_NULL, "/cr/deep/a/b", &n);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(p[0].id, 9);
    ck_assert_uint_eq(p[0].perms, XS_PERM_READ);
    ck_assert_uint_eq(p[1].id, 3);
    ck_assert_uint_eq(p[1].perms, XS_PERM_WRITE);
    free(p);
    ck_assert(xs_is_domain_introduced(h, 9));
    ck_assert_int_eq(logged("did not stop cleanly"), 1);
    xs_close(h);

    /* a clean stop leaves nothing to restore */
    ck_assert_int_eq(kill(d, SIGTERM), 0);
    ck_assert_int_eq(waitpid(d, &status, 0), d);
    host.xenstored = 0;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "status %#x", status);
    ck_assert_int_ne(access(host.snapshot, F_OK), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xenstored-liveupdate");
    TCase *tc = tcase_create("update");
    SRunner *sr;
    int n, failed;

    test_host_require(TEST_HOST_XENSTORED, false);
    find_controls();
    if (!controls[0]) {
        printf("SKIP: no xenstore-control (ours is built in "
               "libs/store/tools; Xen's is in xenstore-utils)\n");
        return 77;
    }
    n = controls[1] ? 2 : 1;
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_update_under_clients, 0, n);
    tcase_add_loop_test(tc, test_busy_with_a_transaction, 0, n);
    tcase_add_loop_test(tc, test_bad_binary_refused, 0, n);
    suite_add_tcase(s, tc);
    tc = tcase_create("crash");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, crash_setup, crash_teardown);
    tcase_add_test(tc, test_crash_restart);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
