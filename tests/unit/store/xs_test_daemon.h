/*
 * xs_test_daemon.h: starts the xenstore daemon that the store tests talk
 * to, in a temporary run directory, and points the client library at it.
 */
#ifndef XS_TEST_DAEMON_H
#define XS_TEST_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

struct xs_test_daemon {
    pid_t pid;          /* 0 when the daemon was not started by us */
    char dir[64];       /* temporary XENSTORED_RUNDIR */
    char socket[128];   /* the socket clients use */
};

/*
 * Starts $(top_builddir)/xenstored/xenstored -N with XENSTORED_RUNDIR set
 * to a new temporary directory, waits until its socket accepts, and sets
 * XENSTORED_PATH for this process and its children.
 *
 * For development only: if $XS_TEST_XENSTORED_PATH names the socket of a
 * daemon that already runs (e.g. xs-anchor's), that daemon is used.
 *
 * Returns 0, or -1 with a message in err.
 */
int xs_test_daemon_start(struct xs_test_daemon *d, char *err, size_t errlen);

/* Stops a daemon started by xs_test_daemon_start and removes its rundir. */
void xs_test_daemon_stop(struct xs_test_daemon *d);

/* A path unique to this test process: "/xs-test/<pid>/<name>". */
void xs_test_path(char *buf, size_t len, const char *name);

#endif /* XS_TEST_DAEMON_H */
