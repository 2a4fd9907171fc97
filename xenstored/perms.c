/*
 * perms.c: xenstore node permissions (parsing, formatting, checking).
 */
#include "perms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore_lib.h"

static bool who_is(const struct perm_who *who, uint32_t id)
{
    return id == who->domid || (who->has_target && id == who->target);
}

unsigned int perms_for(const struct perm_who *who, const struct perm *p,
                       unsigned int n)
{
    unsigned int all = PERM_READ | PERM_WRITE | PERM_OWNER;
    unsigned int i;

    if (who->privileged || n == 0 || who_is(who, p[0].id))
        return all;
    for (i = 1; i < n; i++) {
        if (who_is(who, p[i].id))
            return p[i].bits & (PERM_READ | PERM_WRITE);
    }
    return p[0].bits & (PERM_READ | PERM_WRITE);
}

/* The wire's "<letter><domid>" strings are read and written by
 * libxenstore's helpers (xs_lib.c), as Xen's daemon does with its
 * library's: one table of letters for the daemon, the library and the
 * tools. */
int perms_parse(const char *s, unsigned int count, struct perm *out)
{
    struct xs_permissions one;
    unsigned int i;

    for (i = 0; i < count; i++) {
        if (!xs_strings_to_perms(&one, 1, s))
            return -EINVAL;
        out[i].id = (uint32_t)one.id;
        out[i].bits = one.perms & (PERM_READ | PERM_WRITE);
        s += strlen(s) + 1;
    }
    return 0;
}

int perms_format(const struct perm *p, unsigned int n, char *buf,
                 size_t size)
{
    struct xs_permissions one;
    size_t off = 0, len;
    unsigned int i;

    for (i = 0; i < n; i++) {
        one.id = p[i].id;
        one.perms = p[i].bits & (PERM_READ | PERM_WRITE);
        if (off >= size ||
            !xs_perm_to_string(&one, buf + off, size - off))
            return -E2BIG;
        len = strlen(buf + off);
        /* a truncated entry fills the rest: no room for its NUL */
        if (len + 1 >= size - off)
            return -E2BIG;
        off += len + 1;
    }
    return (int)off;
}

unsigned int perms_remove_domid(struct perm *p, unsigned int n,
                                unsigned int domid)
{
    unsigned int cur, out;

    if (n == 0)
        return 0;
    if (p[0].id == domid)
        p[0].id = 0;
    for (cur = out = 1; cur < n; cur++) {
        if (p[cur].id == domid)
            continue;
        p[out++] = p[cur];
    }
    return out;
}
