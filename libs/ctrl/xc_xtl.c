/*
 * xc_xtl.c - xentoollog helpers and the stdio logger.
 */
#include "xentoollog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xc_private.h"

struct xentoollog_logger_stdiostream {
    xentoollog_logger vtable;            /* first: callers cast */
    FILE *f;
    xentoollog_level min_level;
    unsigned flags;
};

XC_API
const char *xtl_level_to_string(xentoollog_level level)
{
    static const char *const names[XTL_NUM_LEVELS] = {
        "none", "debug", "verbose", "detail", "progress", "info", "notice",
        "warning", "error", "critical",
    };

    if ((unsigned)level >= XTL_NUM_LEVELS)
        return "unknown";
    return names[level];
}

XC_API
void xtl_logv(xentoollog_logger *logger, xentoollog_level level,
              int errnoval, const char *context, const char *format,
              va_list al)
{
    if (!logger || !logger->vmessage)
        return;
    logger->vmessage(logger, level, errnoval, context, format, al);
}

XC_API
void xtl_log(xentoollog_logger *logger, xentoollog_level level,
             int errnoval, const char *context, const char *format, ...)
{
    va_list al;

    va_start(al, format);
    xtl_logv(logger, level, errnoval, context, format, al);
    va_end(al);
}

XC_API
void xtl_progress(xentoollog_logger *logger, const char *context,
                  const char *doing_what, unsigned long done,
                  unsigned long total)
{
    int percent = 0;

    if (!logger || !logger->progress)
        return;
    if (total)
        percent = (int)((done * 100.0) / total);
    logger->progress(logger, context, doing_what, percent, done, total);
}

XC_API
void xtl_logger_destroy(xentoollog_logger *logger)
{
    if (logger && logger->destroy)
        logger->destroy(logger);
}

static void stdio_vmessage(xentoollog_logger *logger,
                           xentoollog_level level, int errnoval,
                           const char *context, const char *format,
                           va_list al)
{
    xentoollog_logger_stdiostream *lg =
        (xentoollog_logger_stdiostream *)logger;

    if (level < lg->min_level)
        return;
    if (lg->flags & XTL_STDIOSTREAM_SHOW_DATE) {
        char buf[32];
        time_t now = time(NULL);
        struct tm tm;

        if (localtime_r(&now, &tm) &&
            strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm))
            fprintf(lg->f, "%s ", buf);
    }
    if (lg->flags & XTL_STDIOSTREAM_SHOW_PID)
        fprintf(lg->f, "[%d] ", (int)getpid());
    if (context)
        fprintf(lg->f, "%s: ", context);
    fprintf(lg->f, "%s: ", xtl_level_to_string(level));
    vfprintf(lg->f, format, al);
    if (errnoval >= 0)
        fprintf(lg->f, ": %s", strerror(errnoval));
    fputc('\n', lg->f);
    fflush(lg->f);
}

static void stdio_progress(xentoollog_logger *logger, const char *context,
                           const char *doing_what, int percent,
                           unsigned long done, unsigned long total)
{
    xentoollog_logger_stdiostream *lg =
        (xentoollog_logger_stdiostream *)logger;

    if (XTL_PROGRESS < lg->min_level ||
        (lg->flags & XTL_STDIOSTREAM_HIDE_PROGRESS))
        return;
    fprintf(lg->f, "%s%s%s: %d%% (%lu/%lu)\n", context ? context : "",
            context ? ": " : "", doing_what, percent, done, total);
    fflush(lg->f);
}

static void stdio_destroy(xentoollog_logger *logger)
{
    free(logger);
}

XC_API
xentoollog_logger_stdiostream *xtl_createlogger_stdiostream(
    FILE *f, xentoollog_level min_level, unsigned flags)
{
    xentoollog_logger_stdiostream *lg = calloc(1, sizeof(*lg));

    if (!lg) {
        errno = ENOMEM;
        return NULL;
    }
    lg->vtable.vmessage = stdio_vmessage;
    lg->vtable.progress = stdio_progress;
    lg->vtable.destroy = stdio_destroy;
    lg->f = f;
    lg->min_level = min_level;
    lg->flags = flags;
    return lg;
}

XC_API
void xtl_stdiostream_set_minlevel(xentoollog_logger_stdiostream *lg,
                                  xentoollog_level min_level)
{
    lg->min_level = min_level;
}

XC_API
void xtl_stdiostream_adjust_flags(xentoollog_logger_stdiostream *lg,
                                  unsigned set_flags, unsigned clear_flags)
{
    lg->flags = (lg->flags & ~clear_flags) | set_flags;
}
