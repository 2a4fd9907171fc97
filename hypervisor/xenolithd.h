/*
 * xenolithd.h - shared pieces of the daemon: event loop, configuration,
 * logging.  (The domain process code in vm.c/vcpu.c does not use them.)
 */
#ifndef XENOLITH_XENOLITHD_H
#define XENOLITH_XENOLITHD_H

#include <stddef.h>
#include <stdint.h>

/* An fd watched by the event loop; embed it, set fd and cb. */
struct loop_fd {
    int fd;
    void (*cb)(struct loop_fd *w, uint32_t events);
};

int loop_add(struct loop_fd *w, uint32_t events);
int loop_mod(struct loop_fd *w, uint32_t events);
/* Stop watching without closing (the fd moves elsewhere); fd = -1. */
void loop_forget(struct loop_fd *w);
/* Stop watching and close the fd (sets w->fd = -1).  Idempotent. */
void loop_close(struct loop_fd *w);
/*
 * Run fn once the loop has seen no event for idle_ms, or at the latest
 * after max_ms (a busy daemon still gets it done).  One job at a time: a
 * second call replaces the first.  For work that must not compete with
 * a request being served (forking the spare domain process).
 */
void loop_when_idle(void (*fn)(void), int idle_ms, int max_ms);

/* Free p after the current batch of events has been handled, so a
 * callback never sees a freed object. */
void loop_defer_free(void *p);

struct config {
    char rundir[256];
    char console_dir[300];       /* sockets: <rundir>/console */
    char console_log_dir[300];   /* guest-<domid>.log files */
    char group[64];              /* privileged group, "xenolith" */
    char cmdline[1024];
};

extern struct config config;

/* Log levels (syslog's numbers). */
#define DLOG_ERR     3
#define DLOG_WARN    4
#define DLOG_INFO    6
#define DLOG_DEBUG   7

/* Write a line to the daemon's log (stderr or its log file) and to the
 * in-memory ring read by "xl dmesg". */
void dlog(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int log_open(const char *path, int verbose);

/* Copy the ring (see xc_readconsolering); returns the count. */
uint32_t log_read(char *buf, uint32_t max, int clear, int incremental,
                  uint32_t *index);

#endif /* XENOLITH_XENOLITHD_H */
