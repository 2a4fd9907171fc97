/*
 * log.c: xenstored's log and trace files.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

static struct {
    char *path;        /* -L file, or NULL */
    FILE *file;        /* open log file, or NULL */
    bool use_syslog;
    bool verbose;
    char *trace_path;  /* -T file, or NULL */
    FILE *trace;       /* open trace file, or NULL */
    time_t stamp_at;   /* second that `stamp` shows */
    char stamp[32];
} lg;

static const char *const level_names[] = {
    [LOG_LVL_ERROR] = "error",
    [LOG_LVL_WARN] = "warning",
    [LOG_LVL_INFO] = "info",
    [LOG_LVL_DEBUG] = "debug",
};

static const int syslog_levels[] = {
    [LOG_LVL_ERROR] = LOG_ERR,
    [LOG_LVL_WARN] = LOG_WARNING,
    [LOG_LVL_INFO] = LOG_INFO,
    [LOG_LVL_DEBUG] = LOG_DEBUG,
};

/* Opens `path` for appending with `mode`, line- or fully buffered. */
static FILE *open_append(const char *path, mode_t mode, bool line_buffered)
{
    FILE *f;
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
              mode);
    if (fd < 0)
        return NULL;
    f = fdopen(fd, "a");
    if (!f) {
        close(fd);
        return NULL;
    }
    if (line_buffered)
        setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

/* "20261122 07:52:25", recomputed once a second. */
static const char *stamp(void)
{
    time_t now = time(NULL);
    struct tm tm;

    if (now != lg.stamp_at || !lg.stamp[0]) {
        localtime_r(&now, &tm);
        strftime(lg.stamp, sizeof(lg.stamp), "%Y%m%d %H:%M:%S", &tm);
        lg.stamp_at = now;
    }
    return lg.stamp;
}

static int reopen_log_file(void)
{
    FILE *f;

    if (!lg.path)
        return 0;
    f = open_append(lg.path, 0600, true);
    if (!f)
        return -errno;
    if (lg.file)
        fclose(lg.file);
    lg.file = f;
    return 0;
}

int log_open(const char *path, bool use_syslog, bool verbose)
{
    int r;

    lg.verbose = verbose;
    lg.use_syslog = use_syslog && !path;
    free(lg.path);
    lg.path = NULL;
    if (path) {
        lg.path = strdup(path);
        if (!lg.path)
            return -ENOMEM;
    }
    r = reopen_log_file();
    if (r) {
        free(lg.path);
        lg.path = NULL;
        return r;
    }
    if (lg.use_syslog)
        openlog("xenstored", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    return 0;
}

void log_close(void)
{
    log_trace_off();
    free(lg.trace_path);
    lg.trace_path = NULL;
    if (lg.file)
        fclose(lg.file);
    lg.file = NULL;
    free(lg.path);
    lg.path = NULL;
    if (lg.use_syslog)
        closelog();
    lg.use_syslog = false;
}

int log_reopen(void)
{
    int r = reopen_log_file();
    int t = 0;

    if (lg.trace_path)
        t = log_trace_on();
    return r ? r : t;
}

bool log_enabled(enum log_level level)
{
    return level <= LOG_LVL_WARN || lg.verbose;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    if (lg.use_syslog) {
        syslog(syslog_levels[level], "%s", line);
        return;
    }
    fprintf(lg.file ? lg.file : stderr, "%s xenstored[%ld]: %s: %s\n",
            stamp(), (long)getpid(), level_names[level], line);
    if (lg.trace)
        fprintf(lg.trace, "%s LOG %s: %s\n", stamp(), level_names[level],
                line);
}

int log_trace_set(const char *path)
{
    char *p = NULL;

    if (path) {
        p = strdup(path);
        if (!p)
            return -ENOMEM;
    }
    log_trace_off();
    free(lg.trace_path);
    lg.trace_path = p;
    return p ? log_trace_on() : 0;
}

int log_trace_on(void)
{
    FILE *f;

    if (!lg.trace_path)
        return -ENOENT;
    f = open_append(lg.trace_path, 0600, false);
    if (!f)
        return -errno;
    log_trace_off();
    lg.trace = f;
    fprintf(lg.trace, "\n*** %s xenstored[%ld] trace opened\n", stamp(),
            (long)getpid());
    return 0;
}

void log_trace_off(void)
{
    if (lg.trace)
        fclose(lg.trace);
    lg.trace = NULL;
}

bool log_trace_enabled(void)
{
    return lg.trace != NULL;
}

void log_trace_msg(bool out, unsigned int conn_id, unsigned int domid,
                   const struct xsd_sockmsg *hdr, const char *payload)
{
    FILE *f = lg.trace;
    uint32_t i;
    int c;

    if (!f)
        return;
    fprintf(f, "%s conn %u dom %u %s %s req %u tx %u (", out ? "OUT" : "IN",
            conn_id, domid, stamp(), wire_type_name(hdr->type),
            hdr->req_id, hdr->tx_id);
    /* One line per message: NUL shows as a space, other controls as '.'. */
    for (i = 0; i < hdr->len; i++) {
        c = (unsigned char)payload[i];
        if (c == 0)
            c = ' ';
        else if (c < 0x20 || c == 0x7f)
            c = '.';
        putc_unlocked(c, f);
    }
    fputs(")\n", f);
}

void log_trace(const char *fmt, ...)
{
    va_list ap;

    if (!lg.trace)
        return;
    fprintf(lg.trace, "%s ", stamp());
    va_start(ap, fmt);
    vfprintf(lg.trace, fmt, ap);
    va_end(ap);
    putc('\n', lg.trace);
}

void log_flush(void)
{
    if (lg.trace)
        fflush(lg.trace);
}
