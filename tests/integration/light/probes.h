/*
 * daemons.h - a private xenstored and xenolithd for the libxl tests,
 * plus a few probes done with xenstore command-line clients.
 */
#ifndef LIGHT_DAEMONS_H
#define LIGHT_DAEMONS_H

#include <stdarg.h>
#include <sys/types.h>

#include <libxl.h>

struct daemons {
    char dir[128];               /* temporary XENOLITH_RUNDIR */
    pid_t xenstored;
    pid_t core;
};

/* Exit 77 (skip) without the daemon binaries, or without /dev/kvm when
 * need_kvm (guests on the core; device-model domains run in qemu and
 * xenolithd starts without KVM for them). */
void daemons_require(int need_kvm);

/* Start what is asked for in a fresh rundir (exported in the
 * environment); 0 or -errno. */
int daemons_start(struct daemons *d, int with_xenstored, int with_core);
void daemons_stop(struct daemons *d);
/* Kills what failed tests left running (see daemons.c). */
void daemons_sweep(void);

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

/* $GUEST_DIR/name */
const char *guest(const char *name);

#endif
