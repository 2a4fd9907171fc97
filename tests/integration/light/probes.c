/*
 * probes.c - what the libxl tests look at: libxl's messages, and
 * xenstore through its command-line clients.
 */
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char logbuf[65536];
static size_t loglen;

static void vmessage(xentoollog_logger *lg, xentoollog_level level,
                     int errnoval, const char *context, const char *fmt,
                     va_list al)
{
    char line[2048];
    int n;

    (void)lg;
    n = vsnprintf(line, sizeof(line), fmt, al);
    if (n < 0)
        return;
    if (getenv("LIGHT_VERBOSE"))
        fprintf(stderr, "level %d: %s: %s%s%s\n", (int)level,
                context ? context : "", line, errnoval > 0 ? ": " : "",
                errnoval > 0 ? strerror(errnoval) : "");
    if (level < XTL_WARN)
        return;
    n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s%s%s\n",
                 line, errnoval > 0 ? ": " : "",
                 errnoval > 0 ? strerror(errnoval) : "");
    if (n > 0 && loglen + (size_t)n < sizeof(logbuf))
        loglen += (size_t)n;
}

static void progress(xentoollog_logger *lg, const char *context,
                     const char *doing_what, int percent, unsigned long done,
                     unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done;
    (void)total;
}

static void destroy(xentoollog_logger *lg)
{
    (void)lg;
}

static xentoollog_logger logger = { vmessage, progress, destroy };

xentoollog_logger *test_logger(void)
{
    return &logger;
}

const char *test_log(void)
{
    return logbuf;
}

void test_log_clear(void)
{
    loglen = 0;
    logbuf[0] = '\0';
}

int start_host(struct test_host *h, unsigned int what)
{
    struct test_host_opts opts = { .what = what };

    return test_host_start(h, &opts);
}

/* Debian's clients when installed (a second implementation), else
 * ours. */
static const char *tools_dir(void)
{
    const char *t = getenv("XS_TOOLS");

    if (access("/usr/bin/xenstore-ls", X_OK) == 0)
        return "/usr/bin";
    return t ? t : ".";
}

static char *run(const char *cmd)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    char buf[4096];
    size_t n;
    FILE *p = popen(cmd, "r");

    if (!p)
        return NULL;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            out = realloc(out, cap);
        }
        memcpy(out + len, buf, n);
        len += n;
    }
    if (pclose(p) != 0) {
        free(out);
        return NULL;
    }
    if (!out)
        out = calloc(1, 1);
    else
        out[len] = '\0';
    return out;
}

char *xs_cmd(const char *fmt, ...)
{
    char args[1024], cmd[1400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s/xenstore-%s 2>/dev/null", tools_dir(),
             args);
    return run(cmd);
}

char *xs_get(const char *fmt, ...)
{
    char path[512];
    va_list ap;
    char *v;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    v = xs_cmd("read '%s'", path);
    if (v) {
        n = strlen(v);
        if (n && v[n - 1] == '\n')
            v[n - 1] = '\0';
    }
    return v;
}

int xs_exists(const char *fmt, ...)
{
    char path[512], *v;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    v = xs_cmd("exists '%s'", path);
    free(v);
    return v != NULL;
}

int xs_set(const char *path, const char *value)
{
    char *v = xs_cmd("write '%s' '%s'", path, value);

    free(v);
    return v ? 0 : -1;
}
