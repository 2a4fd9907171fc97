/*
 * log.c - the daemon's log: a file or stderr, plus a ring for dmesg.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_RING_SIZE 65536U

static char ring[LOG_RING_SIZE];
static uint32_t ring_head;        /* bytes ever written */
static uint32_t ring_cleared;     /* position of the last clear */
static int log_fd = STDERR_FILENO;
static int log_verbose;

int log_open(const char *path, int verbose)
{
    int fd;

    log_verbose = verbose;
    if (!path)
        return 0;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    log_fd = fd;
    return 0;
}

static void ring_put(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        ring[(ring_head + i) % LOG_RING_SIZE] = s[i];
    ring_head += (uint32_t)len;
}

void dlog(int level, const char *fmt, ...)
{
    static const char *names[] = {
        "emerg", "alert", "crit", "error", "warning", "notice", "info",
        "debug",
    };
    char line[1024];
    struct timespec ts;
    va_list ap;
    int n, m;

    if (level > DLOG_INFO && !log_verbose)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    n = snprintf(line, sizeof(line), "(XEN) [%ld.%06ld] %s: ",
                 (long)ts.tv_sec, ts.tv_nsec / 1000,
                 names[level & 7]);
    if (n < 0)
        return;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    ring_put(line, (size_t)n);
    if (write(log_fd, line, (size_t)n) < 0) {
        /* nowhere left to report it */
    }
}

uint32_t log_read(char *buf, uint32_t max, int clear, int incremental,
                  uint32_t *index)
{
    uint32_t start, avail, n, i;

    start = incremental && index ? *index : ring_cleared;
    if (ring_head - start > LOG_RING_SIZE || start > ring_head)
        start = ring_head - (ring_head < LOG_RING_SIZE ? ring_head
                                                       : LOG_RING_SIZE);
    if (start < ring_cleared)
        start = ring_cleared;
    avail = ring_head - start;
    n = avail < max ? avail : max;
    for (i = 0; i < n; i++)
        buf[i] = ring[(start + i) % LOG_RING_SIZE];
    if (index)
        *index = start + n;
    if (clear)
        ring_cleared = ring_head;
    return n;
}
