/*
 * log.h - the daemon's log: a file or stderr, and the ring that
 * "xl dmesg" reads.
 */
#ifndef XENOLITH_LOG_H
#define XENOLITH_LOG_H

#include <stdint.h>

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

#endif /* XENOLITH_LOG_H */
