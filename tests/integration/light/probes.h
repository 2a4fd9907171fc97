/*
 * probes.h - for the libxl tests: a logger that keeps libxl's messages,
 * and xenstore read through its command-line clients.  The daemons
 * themselves come from tests/host (testhost.h).
 */
#ifndef LIGHT_PROBES_H
#define LIGHT_PROBES_H

#include <stdarg.h>

#include <libxl.h>

#include "testhost.h"

/* test_host_start for `what` (TEST_HOST_*); 0 or -errno, h->err why. */
int start_host(struct test_host *h, unsigned int what);

/* A logger that keeps the last messages (for "names the key" checks). */
xentoollog_logger *test_logger(void);
const char *test_log(void);          /* all messages so far */
void test_log_clear(void);

/* Output of a xenstore client (xenstore-read, -ls, -exists...), run
 * with the private socket; malloc'd, NULL when it fails. */
char *xs_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Value of a node, malloc'd without the newline; NULL if absent. */
char *xs_get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int xs_exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int xs_set(const char *path, const char *value);

#endif
