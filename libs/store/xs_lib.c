/*
 * xs_lib.c: run-time paths and string helpers of libxenstore.
 */
#include "xenstore_lib.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xs_internal.h"

/*
 * Per-thread result buffers: the API hands out `const char *` that the
 * caller does not free, and environment lookups may differ per call.
 */
static _Thread_local char rundir_buf[PATH_MAX];
static _Thread_local char socket_buf[PATH_MAX];

/* getenv() that treats an empty value as unset. */
static const char *env_or_null(const char *name)
{
    const char *s = getenv(name);

    return s && *s ? s : NULL;
}

XS_API const char *xs_daemon_rundir(void)
{
    const char *s = env_or_null("XENSTORED_RUNDIR");
    const char *base;
    int n;

    if (s)
        return s;
    base = env_or_null("XENOLITH_RUNDIR");
    if (!base)
        base = XENOLITH_DEFAULT_RUNDIR;
    n = snprintf(rundir_buf, sizeof(rundir_buf), "%s/xenstored", base);
    if (n < 0 || (size_t)n >= sizeof(rundir_buf)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return rundir_buf;
}

XS_API const char *xs_daemon_socket(void)
{
    const char *s = env_or_null("XENSTORED_PATH");
    const char *dir;
    int n;

    if (s)
        return s;
    dir = xs_daemon_rundir();
    if (!dir)
        return NULL;
    n = snprintf(socket_buf, sizeof(socket_buf), "%s/socket", dir);
    if (n < 0 || (size_t)n >= sizeof(socket_buf)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return socket_buf;
}

XS_API const char *xs_daemon_socket_ro(void)
{
    return xs_daemon_socket();
}

XS_API bool xs_write_all(int fd, const void *data, unsigned int len)
{
    const char *p = data;

    while (len) {
        ssize_t done = write(fd, p, len);

        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        p += done;
        len -= (unsigned int)done;
    }
    return true;
}

XS_API bool xs_strings_to_perms(struct xs_permissions *perms,
                                unsigned int num, const char *strings)
{
    const char *p = strings;
    unsigned int i;

    for (i = 0; i < num; i++) {
        char *end;
        long id;

        switch (*p) {
        case 'n':
            perms[i].perms = XS_PERM_NONE;
            break;
        case 'r':
            perms[i].perms = XS_PERM_READ;
            break;
        case 'w':
            perms[i].perms = XS_PERM_WRITE;
            break;
        case 'b':
            perms[i].perms = XS_PERM_READ | XS_PERM_WRITE;
            break;
        default:
            errno = EINVAL;
            return false;
        }
        p++;
        /* Base 0 like Xen: "r0x10" is domain 16. */
        id = strtol(p, &end, 0);
        if (!*p || *end) {
            errno = EINVAL;
            return false;
        }
        perms[i].id = (unsigned int)id;
        p = end + 1;
    }
    return true;
}

XS_API bool xs_perm_to_string(const struct xs_permissions *perm,
                              char *buffer, size_t buf_len)
{
    char c;

    if (buf_len < 2) {
        errno = EINVAL;
        return false;
    }
    switch (perm->perms & ~(unsigned int)XS_PERM_IGNORE) {
    case XS_PERM_NONE:
        c = 'n';
        break;
    case XS_PERM_READ:
        c = 'r';
        break;
    case XS_PERM_WRITE:
        c = 'w';
        break;
    case XS_PERM_READ | XS_PERM_WRITE:
        c = 'b';
        break;
    default:
        errno = EINVAL;
        return false;
    }
    buffer[0] = c;
    /* Signed like Xen, so DOMID_INVALID-style ids print the same way. */
    snprintf(buffer + 1, buf_len - 1, "%i", (int)perm->id);
    return true;
}

XS_API bool xs_path_is_subpath(const char *parent, const char *child)
{
    size_t plen = strlen(parent);

    if (strncmp(child, parent, plen) != 0)
        return false;
    return child[plen] == '\0' || child[plen] == '/';
}

unsigned int xs__count_strings(const char *strings, unsigned int len)
{
    unsigned int i, num = 0;

    for (i = 0; i < len; i++)
        if (strings[i] == '\0')
            num++;
    return num;
}

int xs__errno_from_string(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (strcmp(name, xsd_errors[i].errstring) == 0)
            return xsd_errors[i].errnum;
    return EINVAL;
}
