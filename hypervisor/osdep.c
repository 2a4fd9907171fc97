/*
 * osdep.c - Linux scheduler hints (see osdep.h).
 */
#include "osdep.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/sched.h>
#include <linux/sched/types.h>

int osdep_set_slice(uint64_t ns)
{
    struct sched_attr attr;
    int nice;

    errno = 0;
    nice = getpriority(PRIO_PROCESS, 0);
    if (nice == -1 && errno)
        return -errno;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.sched_policy = SCHED_NORMAL;
    attr.sched_nice = nice;              /* only the slice changes */
    attr.sched_runtime = ns;
    if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
        return -errno;
    return 0;
}
