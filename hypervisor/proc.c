/*
 * proc.c - what /proc/<pid>/stat says about a process (see proc.h).
 */
#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int proc_stat_field(pid_t pid, int n, char *buf, size_t cap)
{
    char path[64], line[1024], *p, *end;
    size_t len;
    int field;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -errno;
    p = fgets(line, sizeof(line), f);
    fclose(f);
    /* the command name may hold spaces and ')': fields follow the last */
    if (!p || !strchr(line, '\n') || !(p = strrchr(line, ')')) || n < 3)
        return -ERANGE;
    for (field = 2; field < n; field++) {   /* ") " then field 3 */
        p = strchr(p + 1, ' ');
        if (!p)
            return -ERANGE;
    }
    p++;
    end = p + strcspn(p, " \n");
    len = (size_t)(end - p);
    if (len == 0 || len >= cap)
        return -ERANGE;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return 0;
}
