/*
 * xl_utils.c - allocation helpers for xl (out of memory ends xl).
 */
#include "xl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
    fputs("xl: out of memory\n", stderr);
    exit(1);
}

void *xmalloc(size_t sz)
{
    void *p = malloc(sz ? sz : 1);

    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);

    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t sz)
{
    p = realloc(p, sz ? sz : 1);
    if (!p)
        oom();
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);

    if (!p)
        oom();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (!p)
        oom();
    return p;
}

char *xasprintf_(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom();
    return s;
}
