/*
 * xenstored-reconnect.c: libxenstore handles opened with XS_RECONNECT
 * outlive a crash of the daemon (kill -9 of a real xenstored started with
 * --snapshot, then started again with the same snapshot, as xencommons
 * does).
 *
 * - The same handle reads what was written before the snapshot, its
 *   watch fires once as it is registered again and then for a write of
 *   another client, a transaction open across the crash ends with EAGAIN
 *   (and a new one on the new daemon commits), and requests made while
 *   no daemon runs wait for the new one.
 * - Requests in flight when the daemon died (it was stopped first, so
 *   they were sent and never answered): a read is sent again, a write
 *   fails with EIO, a request in a transaction with EAGAIN.
 * - No daemon within XENSTORE_RECONNECT_MS: calls fail, and no hang.
 * - Our xenstore-watch goes on through the restart.
 *
 * Environment (set by `make check`): XENSTORED_BIN, XS_TOOLS (our
 * xenstore-* tools).
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
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

static struct test_host host;
static const char *const xs_args[] = { "-V", NULL };
static const struct test_host_opts opts = {
    .what = TEST_HOST_XENSTORED,
    .xenstored_args = xs_args,
    .snapshot = true,
};

static void setup(void)
{
    unsetenv("XENSTORE_RECONNECT_MS");
    ck_assert_msg(test_host_start(&host, &opts) == 0, "%s", host.err);
}

static void teardown(void)
{
    ck_assert_msg(test_host_stop(&host) == 0, "%s", host.err);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put(struct xs_handle *h, xs_transaction_t t, const char *path,
                const char *v)
{
    ck_assert_msg(xs_write(h, t, path, v, (unsigned int)strlen(v)),
                  "write %s: %s", path, strerror(errno));
}

static void expect_value(struct xs_handle *h, const char *path,
                         const char *want)
{
    unsigned int len;
    char *v = xs_read(h, XBT_NULL, path, &len);

    ck_assert_msg(v != NULL, "read %s: %s", path, strerror(errno));
    ck_assert_str_eq(v, want);
    free(v);
}

/* Waits up to ms for an event (path, token) on h; skips others. */
static bool event_for(struct xs_handle *h, const char *path,
                      const char *token, int ms)
{
    struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
    long long end = now_ms() + ms;
    bool seen = false;
    char **ev;

    while (!seen) {
        while (!seen && (ev = xs_check_watch(h)) != NULL) {
            seen = !strcmp(ev[XS_WATCH_PATH], path)
                   && !strcmp(ev[XS_WATCH_TOKEN], token);
            free(ev);
        }
        if (seen || now_ms() >= end
            || poll(&p, 1, (int)(end - now_ms())) <= 0)
            break;
    }
    return seen;
}

/* Waits until the store as of now is in the snapshot. */
static void wait_snapshot(void)
{
    ck_assert_msg(test_host_snapshot_settle(&host) == 0,
                  "no snapshot %s after 5 s", host.snapshot);
}

static void kill_xenstored(void)
{
    ck_assert_int_eq(test_host_kill_xenstored(&host), 0);
}

/* Starts xenstored again in the same run directory with the same
 * snapshot, after delay_ms; test_host_stop() stops it. */
static void restart_xenstored(int delay_ms)
{
    ck_assert_msg(test_host_restart_xenstored(&host, &opts, delay_ms) == 0,
                  "%s", host.err);
}

START_TEST(test_survives_restart)
{
    struct xs_handle *h = xs_open(XS_RECONNECT);
    struct xs_handle *q = xs_open(XS_RECONNECT); /* no watch, no reader */
    struct xs_handle *other;
    xs_transaction_t t, t2;
    long long t0;

    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(q);
    put(h, XBT_NULL, "/rc/a", "before");
    put(h, XBT_NULL, "/rc/w/x", "0");
    ck_assert(xs_watch(h, "/rc/w", "tok"));
    ck_assert(event_for(h, "/rc/w", "tok", 2000)); /* the first fire */
    t = xs_transaction_start(h);
    ck_assert(t != XBT_NULL);
    put(h, t, "/rc/tx", "lost");
    wait_snapshot();

    kill_xenstored();
    restart_xenstored(400);
    /* made while no daemon runs: waits for the new one */
    t0 = now_ms();
    expect_value(h, "/rc/a", "before");
    ck_assert_int_ge(now_ms() - t0, 300);
    put(q, XBT_NULL, "/rc/q", "after");   /* its send met the break */
    expect_value(q, "/rc/q", "after");
    expect_value(h, "/rc/q", "after");

    /* the watch, registered again, fires once by itself */
    ck_assert_msg(event_for(h, "/rc/w", "tok", 2000),
                  "no event for the watch registered again");
    ck_assert(!event_for(h, "/rc/w", "tok", 200));

    /* a new transaction, numbered 1 again by the new daemon ... */
    t2 = xs_transaction_start(h);
    ck_assert(t2 != XBT_NULL);
    ck_assert_uint_ne(t2, t);
    /* ... does not meet the lost one: that one fails with EAGAIN */
    errno = 0;
    ck_assert(!xs_write(h, t, "/rc/tx", "x", 1));
    ck_assert_int_eq(errno, EAGAIN);
    errno = 0;
    ck_assert(!xs_transaction_end(h, t, false));
    ck_assert_int_eq(errno, EAGAIN);
    /* and is forgotten */
    errno = 0;
    ck_assert(!xs_transaction_end(h, t, false));
    ck_assert_int_eq(errno, ENOENT);
    put(h, t2, "/rc/tx", "new");
    ck_assert_msg(xs_transaction_end(h, t2, false), "commit: %s",
                  strerror(errno));
    expect_value(q, "/rc/tx", "new");

    /* another client's write reaches the watch */
    other = xs_open(0);
    ck_assert_ptr_nonnull(other);
    put(other, XBT_NULL, "/rc/w/x", "1");
    ck_assert(event_for(h, "/rc/w/x", "tok", 2000));
    xs_close(other);

    /* an unwatch after the restart: the new daemon holds the watch */
    ck_assert_msg(xs_unwatch(h, "/rc/w", "tok"), "unwatch: %s",
                  strerror(errno));
    xs_close(q);
    xs_close(h);
}
END_TEST

/* ------------------------------------------- requests in flight */

struct inflight {
    struct xs_handle *h;
    xs_transaction_t t;
    bool write;
    bool ok;
    int err;
    char *value;
};

static void *inflight_main(void *arg)
{
    struct inflight *f = arg;

    errno = 0;
    if (f->write) {
        f->ok = xs_write(f->h, f->t, "/rc/inflight", "w", 1);
    } else {
        f->value = xs_read(f->h, f->t, "/rc/a", NULL);
        f->ok = f->value != NULL;
    }
    f->err = errno;
    return NULL;
}

START_TEST(test_in_flight)
{
    struct xs_handle *h = xs_open(XS_RECONNECT);
    struct inflight f[3];
    pthread_t th[3];
    xs_transaction_t t;
    int i;

    ck_assert_ptr_nonnull(h);
    put(h, XBT_NULL, "/rc/a", "kept");
    t = xs_transaction_start(h);
    ck_assert(t != XBT_NULL);
    wait_snapshot();

    /* a stopped daemon takes the requests in and never answers */
    ck_assert_int_eq(kill(host.xenstored, SIGSTOP), 0);
    memset(f, 0, sizeof(f));
    for (i = 0; i < 3; i++)
        f[i].h = h;
    f[0].write = true;                  /* may have been done: EIO */
    f[1].write = false;                 /* changes nothing: sent again */
    f[2].write = true;                  /* in a transaction: EAGAIN */
    f[2].t = t;
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, inflight_main,
                                        &f[i]), 0);
    usleep(300 * 1000);
    kill_xenstored();
    restart_xenstored(0);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);

    ck_assert_msg(!f[0].ok && f[0].err == EIO, "write: ok %d, %s",
                  f[0].ok, strerror(f[0].err));
    ck_assert_msg(f[1].ok, "read: %s", strerror(f[1].err));
    ck_assert_str_eq(f[1].value, "kept");
    free(f[1].value);
    ck_assert_msg(!f[2].ok && f[2].err == EAGAIN,
                  "write in a transaction: ok %d, %s", f[2].ok,
                  strerror(f[2].err));
    errno = 0;
    ck_assert(!xs_transaction_end(h, t, true));
    ck_assert_int_eq(errno, EAGAIN);
    /* the handle goes on */
    put(h, XBT_NULL, "/rc/b", "1");
    expect_value(h, "/rc/b", "1");
    xs_close(h);
}
END_TEST

/* ----------------------------------------------- xenstore-watch */

/* Lines in path (0 when there is no such file). */
static int lines_in(const char *path)
{
    FILE *f = fopen(path, "re");
    int n = 0, c;

    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

START_TEST(test_watch_tool)
{
    const char *tools = getenv("XS_TOOLS");
    char tool[512], out[128], buf[256];
    struct xs_handle *h;
    int i, status;
    size_t n;
    FILE *f;
    pid_t p;

    snprintf(tool, sizeof(tool), "%s/xenstore-watch", tools ? tools : ".");
    snprintf(out, sizeof(out), "%s/watch.out", host.dir);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    put(h, XBT_NULL, "/rcw/x", "0");
    xs_close(h);
    wait_snapshot();
    p = fork();
    ck_assert_int_ge(p, 0);
    if (p == 0) {
        if (!freopen(out, "w", stdout) || !freopen(out, "a", stderr))
            _exit(126);
        execl(tool, "xenstore-watch", "-n", "3", "/rcw", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 100 && lines_in(out) < 1; i++)
        usleep(20 * 1000);
    ck_assert_int_eq(lines_in(out), 1);         /* the first fire */

    kill_xenstored();
    restart_xenstored(200);
    for (i = 0, h = NULL; i < 250 && !h; i++) {
        h = xs_open(0);
        if (!h)
            usleep(20 * 1000);
    }
    ck_assert_msg(h != NULL, "xenstored did not come back");
    /* the watch registered again (or the watcher's error) */
    for (i = 0; i < 250 && lines_in(out) < 2; i++)
        usleep(20 * 1000);
    put(h, XBT_NULL, "/rcw/x", "1");
    xs_close(h);
    ck_assert_int_eq(waitpid(p, &status, 0), p);
    f = fopen(out, "re");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "xenstore-watch: status %#x: %s", status, buf);
    /* the first fire, the fire of the watch registered again, the write */
    ck_assert_str_eq(buf, "/rcw\n/rcw\n/rcw/x\n");
}
END_TEST

/* ------------------------------------------------- no daemon again */

START_TEST(test_window_passes)
{
    struct xs_handle *h, *plain;
    unsigned int num;
    long long t0, took;
    char **ev;
    void *v;

    setenv("XENSTORE_RECONNECT_MS", "300", 1);
    h = xs_open(XS_RECONNECT);
    unsetenv("XENSTORE_RECONNECT_MS");
    plain = xs_open(0);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(plain);
    ck_assert(xs_watch(h, "/rc", "tok"));
    ck_assert(event_for(h, "/rc", "tok", 2000));

    kill_xenstored();
    /* without the flag: the loss is reported at once, as in Xen */
    errno = 0;
    ck_assert(!xs_read(plain, XBT_NULL, "/rc", NULL));
    ck_assert_msg(errno == EBADF || errno == EPIPE, "errno %d (%s)", errno,
                  strerror(errno));

    t0 = now_ms();
    errno = 0;
    v = xs_read(h, XBT_NULL, "/rc", NULL);
    took = now_ms() - t0;
    ck_assert_ptr_null(v);
    ck_assert_msg(errno == ECONNREFUSED || errno == ENOENT,
                  "errno %d (%s)", errno, strerror(errno));
    ck_assert_msg(took < 3000, "gave up after %lld ms", took);
    /* dead now: a blocked watcher returns, later calls fail at once */
    ev = xs_read_watch(h, &num);
    ck_assert_ptr_null(ev);
    t0 = now_ms();
    ck_assert(!xs_write(h, XBT_NULL, "/rc/x", "1", 1));
    ck_assert_int_lt(now_ms() - t0, 100);
    xs_close(plain);
    xs_close(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xenstored-reconnect");
    TCase *tc = tcase_create("reconnect");
    SRunner *sr;
    int failed;

    test_host_require(TEST_HOST_XENSTORED, false);
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_survives_restart);
    tcase_add_test(tc, test_in_flight);
    tcase_add_test(tc, test_window_passes);
    tcase_add_test(tc, test_watch_tool);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
