/*
 * perms.c: xenstore node permissions (parsing, formatting, checking).
 */
#include "perms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int perms_parse(const char *s, unsigned int count, struct perm *out)
{
    unsigned int i;
    char *end;
    long v;

    for (i = 0; i < count; i++) {
        switch (*s) {
        case 'n':
            out[i].bits = PERM_NONE;
            break;
        case 'r':
            out[i].bits = PERM_READ;
            break;
        case 'w':
            out[i].bits = PERM_WRITE;
            break;
        case 'b':
            out[i].bits = PERM_READ | PERM_WRITE;
            break;
        default:
            return -EINVAL;
        }
        s++;
        if (!*s)
            return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 0);
        if (*end)
            return -EINVAL;
        out[i].id = (uint32_t)v;
        s = end + 1;
    }
    return 0;
}

int perms_format(const struct perm *p, unsigned int n, char *buf,
                 size_t size)
{
    static const char letters[] = { 'n', 'r', 'w', 'b' };
    size_t off = 0;
    unsigned int i;
    int r;

    for (i = 0; i < n; i++) {
        if (off >= size)
            return -E2BIG;
        /* Xen prints the id with %i. */
        r = snprintf(buf + off, size - off, "%c%i", letters[p[i].bits & 3],
                     (int)p[i].id);
        if (r < 0 || (size_t)r + 1 > size - off)
            return -E2BIG;
        off += (size_t)r + 1;
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
