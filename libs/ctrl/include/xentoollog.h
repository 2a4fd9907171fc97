/*
 * xentoollog.h - the logger interface shared by the Xenolith libraries.
 *
 * Source compatible with the type of the same name in Xen's tools: a
 * logger is a struct of callbacks that the application supplies; the
 * libraries (libxenctrl, the domain builder, libxl) never write to
 * stderr themselves, they hand every message to such a logger.
 *
 * The level names and their order follow Xen, so code written against
 * Xen's header builds unchanged.  The helpers below live in libxenctrl.
 */
#ifndef XENTOOLLOG_H
#define XENTOOLLOG_H

#include <stdarg.h>
#include <stdio.h>

typedef enum xentoollog_level {
    XTL_NONE,      /* never a message's level; used as a sentinel */
    XTL_DEBUG,
    XTL_VERBOSE,
    XTL_DETAIL,
    XTL_PROGRESS,  /* progress reports use this level too */
    XTL_INFO,
    XTL_NOTICE,
    XTL_WARN,
    XTL_ERROR,
    XTL_CRITICAL,
    XTL_NUM_LEVELS
} xentoollog_level;

typedef struct xentoollog_logger xentoollog_logger;

/*
 * A logger.  A consumer embeds this struct first in its own state.
 *   vmessage: one message; errnoval is an errno value or -1 when none
 *             applies; context names the emitter ("xc", "xl"), may be
 *             NULL; format has no level prefix and no trailing newline.
 *   progress: may be NULL.  Called with done == 0 first for each new
 *             (context, doing_what) pair.
 *   destroy:  frees the logger (not any FILE it writes to).
 */
struct xentoollog_logger {
    void (*vmessage)(xentoollog_logger *logger, xentoollog_level level,
                     int errnoval, const char *context,
                     const char *format, va_list al)
        __attribute__((format(printf, 5, 0)));
    void (*progress)(xentoollog_logger *logger, const char *context,
                     const char *doing_what, int percent,
                     unsigned long done, unsigned long total);
    void (*destroy)(xentoollog_logger *logger);
};

/* Flags of the stdio logger (values as in Xen). */
#define XTL_STDIOSTREAM_SHOW_PID            001u
#define XTL_STDIOSTREAM_SHOW_DATE           002u
#define XTL_STDIOSTREAM_HIDE_PROGRESS       004u
#define XTL_STDIOSTREAM_PROGRESS_USE_CR     010u
#define XTL_STDIOSTREAM_PROGRESS_NO_CR      020u

typedef struct xentoollog_logger_stdiostream xentoollog_logger_stdiostream;

/*
 * A logger writing "context: level: message" lines to f, dropping
 * messages below min_level.  Returns NULL when out of memory.  Destroying
 * it does not close f.  Meant for applications (xl, tests), not libraries.
 */
xentoollog_logger_stdiostream *xtl_createlogger_stdiostream(
    FILE *f, xentoollog_level min_level, unsigned flags);
void xtl_stdiostream_set_minlevel(xentoollog_logger_stdiostream *lg,
                                  xentoollog_level min_level);
void xtl_stdiostream_adjust_flags(xentoollog_logger_stdiostream *lg,
                                  unsigned set_flags, unsigned clear_flags);

/* Destroys any logger; NULL is accepted. */
void xtl_logger_destroy(xentoollog_logger *logger);

/* Emit a message through logger; a NULL logger drops it. */
void xtl_logv(xentoollog_logger *logger, xentoollog_level level,
              int errnoval, const char *context, const char *format,
              va_list al) __attribute__((format(printf, 5, 0)));
void xtl_log(xentoollog_logger *logger, xentoollog_level level,
             int errnoval, const char *context, const char *format, ...)
    __attribute__((format(printf, 5, 6)));
void xtl_progress(xentoollog_logger *logger, const char *context,
                  const char *doing_what, unsigned long done,
                  unsigned long total);

/* Lower-case name of a level ("error"); never NULL. */
const char *xtl_level_to_string(xentoollog_level level);

#endif /* XENTOOLLOG_H */
