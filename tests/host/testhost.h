/*
 * testhost.h - the host side of a C test: a private xenstored and/or
 * xenolithd in a fresh run directory, started and stopped the same way
 * by every test program (the unit tests of the store and of libxl, the
 * guests on the core, the libxl integration tests, the benchmarks).
 *
 * The run directory is /tmp/xenolith-test-XXXXXX; the daemons' logs are
 * xenstored.log and xenolithd.log in it.  Starting exports what clients
 * look for, whichever daemons it starts: XENOLITH_RUNDIR (the core's
 * socket, libxl's files), XENSTORED_RUNDIR and XENSTORED_PATH
 * (xenstored's socket).
 */
#ifndef TESTHOST_H
#define TESTHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TEST_HOST_XENSTORED 0x1u
#define TEST_HOST_CORE      0x2u

struct test_host_opts {
    unsigned int what;                  /* TEST_HOST_* */
    /* more arguments for xenstored (after -N -L <log>), NULL-ended */
    const char *const *xenstored_args;
    /* a program xenolithd runs under (e.g. valgrind and its options,
     * NULL-ended): the core then stays in the foreground (-F) as the
     * wrapper's child, and a client may need to wait for its socket */
    const char *const *core_wrapper;
    /* xenstored with --snapshot <run dir>/store.snapshot (h->snapshot) */
    bool snapshot;
};

struct test_host {
    char dir[64];           /* the run directory; "" when none */
    char err[512];          /* why start or stop failed */
    pid_t xenstored;        /* our child, 0 when not running */
    pid_t core;             /* xenolithd (or its wrapper), 0 when not */
    bool core_child;        /* core is our child (wrapped, foreground) */
    bool external_xenstored;
    char snapshot[96];      /* xenstored's snapshot file, "" if none */
};

/* Exits 77 (a counted skip), saying why, unless what the test needs is
 * here: the binaries of `what` (environment XENSTORED_BIN, XENOLITHD;
 * xenstored's also from -DXENSTORED_BIN at build time),
 * and /dev/kvm when kvm. */
void test_host_require(unsigned int what, bool kvm);

/*
 * Starts the daemons opts asks for, each once it accepts on its socket
 * (up to 10 s; 30 s under a wrapper).  0, or -errno with h->err saying
 * which daemon failed and how (its log's last line).  What was started
 * is stopped again on failure, and at exit should the test end early.
 *
 * XS_TEST_XENSTORED_PATH, when set, names the socket of a xenstored that
 * already runs (xs-anchor's: the tests against Xen's own daemon); it is
 * used instead of starting ours.
 */
int test_host_start(struct test_host *h, const struct test_host_opts *opts);

/* kill -9 of h's xenstored (our child), reaped.  0 or -errno. */
int test_host_kill_xenstored(struct test_host *h);

/* Starts xenstored again in h's run directory with opts' arguments (its
 * snapshot replayed, if opts->snapshot), as xencommons would after a
 * crash.  With delay_ms > 0 it is started that much later and this
 * returns at once; otherwise once it accepts.  0 or -errno (h->err). */
int test_host_restart_xenstored(struct test_host *h,
                                const struct test_host_opts *opts,
                                int delay_ms);

/* Waits until h's xenstored has a snapshot and the store as of now is
 * in it (snapshots are written at most once a second).  0, or
 * -ETIMEDOUT after 5 s without one. */
int test_host_snapshot_settle(struct test_host *h);

/* Starts xenolithd again in h's run directory, after the test ended the
 * one before (kill -9, or SIGUSR2 for a planned upgrade): the new one
 * takes over its domains.  As test_host_start. */
int test_host_start_core(struct test_host *h,
                         const struct test_host_opts *opts);

/* Stops the daemons (SIGTERM, then SIGKILL after 2 s), kills what still
 * runs with the run directory in its command line or environment (the
 * domain processes and qemus of a core the test killed: they wait for
 * the next daemon by design), and removes the run directory (kept when
 * XENOLITH_TEST_KEEP is set).  0, or -1 with
 * h->err when a daemon that is our child did not exit 0 on SIGTERM (a
 * wrapper's verdict: valgrind's error exit). */
int test_host_stop(struct test_host *h);

/*
 * Daemons of tests that crashed or timed out before their teardown: when
 * XENOLITH_TEST_REGISTRY names a directory, every daemon started is
 * noted there, and test_host_sweep() kills those still running (checked
 * by their run directory, pids get reused) and removes their run
 * directories.
 */
void test_host_sweep(void);
/* Makes such a registry (a fresh directory, exported) for this process
 * and the tests it forks; a test program's main() calls it first. */
void test_host_registry(void);

/* A xenstore path unique to this test process: /xs-test/<pid>/<name>. */
void test_host_xs_path(char *buf, size_t len, const char *name);

/* $GUEST_DIR/name (a static buffer). */
const char *test_host_guest(const char *name);

#endif /* TESTHOST_H */
