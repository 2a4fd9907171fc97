/*
 * proc.h - what /proc/<pid>/stat says about a process.
 */
#ifndef XENOLITH_PROC_H
#define XENOLITH_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Field N of /proc/<pid>/stat (numbered as in proc(5); N >= 3, after
 * the command name) into buf, NUL-terminated.  0, -ENOENT (no such
 * process), -ERANGE (no field N, or buf too small) or another -errno. */
int proc_stat_field(pid_t pid, int n, char *buf, size_t cap);

#endif /* XENOLITH_PROC_H */
