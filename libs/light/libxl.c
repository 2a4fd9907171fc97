/*
 * libxl.c - the libxl context, logging and error names.
 */
#include "libxl.h"

#include "libxl_internal.h"

int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags,
                    xentoollog_logger *lg)
{
    libxl_ctx *ctx;

    *pctx = NULL;
    if (version != LIBXL_VERSION)
        return ERROR_VERSION;
    if (flags)
        return ERROR_INVAL;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return ERROR_NOMEM;
    ctx->lg = lg;
    *pctx = ctx;
    return 0;
}

int libxl_ctx_free(libxl_ctx *ctx)
{
    free(ctx);
    return 0;
}

void libxl__log(libxl_ctx *ctx, xentoollog_level level, int errnoval,
                const char *file, int line, const char *func,
                const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    int r;

    if (!ctx || !ctx->lg)
        return;
    va_start(ap, fmt);
    r = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    xtl_log(ctx->lg, level, errnoval, "libxl", "%s:%d:%s: %s",
            file, line, func, msg);
    free(msg);
}

void *libxl__calloc_or_die(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        abort();
    return p;
}

void *libxl__realloc_or_die(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        abort();
    return p;
}

char *libxl__strdup_or_die(const char *s)
{
    char *p = strdup(s);

    if (!p)
        abort();
    return p;
}
