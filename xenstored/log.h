/*
 * log.h: xenstored's log and trace files.
 *
 * The log takes diagnostics (start-up, refusals, dropped connections).  It
 * goes to the file given with -L, else to stderr while the daemon runs in
 * the foreground, else to syslog.  Debug and info lines are written only
 * with -V.
 *
 * The trace (-T, CONTROL "log on|off", "logfile FILE") records every
 * message in and out, one line each, as Xen's xenstored does.  It is
 * buffered: log_flush() writes it out, once per event-loop turn.
 *
 * log_reopen() reopens both files by name (SIGHUP, after logrotate).
 * Threading: one thread.
 */
#ifndef XENSTORED_LOG_H
#define XENSTORED_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

enum log_level {
    LOG_LVL_ERROR,
    LOG_LVL_WARN,
    LOG_LVL_INFO,
    LOG_LVL_DEBUG,
};

/*
 * Opens the log.  `path` NULL: stderr, or syslog when `use_syslog`.
 * Returns 0 or -errno (the log then stays on stderr).
 */
int log_open(const char *path, bool use_syslog, bool verbose);
/* Closes the log and the trace; further lines go to stderr. */
void log_close(void);
/* Reopens the log file and the trace file by name.  0 or -errno. */
int log_reopen(void);
/* True when lines of `level` are written. */
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Sets the trace file (NULL: none) and opens it for appending, mode 0600.
 * Returns 0 or -errno (the trace is then off).
 */
int log_trace_set(const char *path);
/* CONTROL "log on": reopen the trace file by name; "log off": close it. */
int log_trace_on(void);
void log_trace_off(void);
bool log_trace_enabled(void);
/* One message in (`out` false) or out of connection `conn_id`. */
void log_trace_msg(bool out, unsigned int conn_id, unsigned int domid,
                   const struct xsd_sockmsg *hdr, const char *payload);
/* A free-form trace line (connection created, closed, event dropped). */
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes out buffered trace lines. */
void log_flush(void);

#endif /* XENSTORED_LOG_H */
