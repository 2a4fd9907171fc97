/*
 * record.c - the run directory's record of each domain (record.h).
 */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "settings.h"
#include "xenctrl.h"

static char dir[300];

int record_init(void)
{
    char path[sizeof(dir)];

    snprintf(path, sizeof(path), "%s/dom", config.rundir);
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        dlog(DLOG_ERR, "creating %s: %s: domains cannot be taken over "
             "after a restart", path, strerror(errno));
        return -errno;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    return 0;
}

const char *record_dir(void)
{
    return dir;
}

void record_write(const struct domain_record *r)
{
    char path[400], tmp[420];
    ssize_t n;
    int fd;

    if (!dir[0])
        return;
    snprintf(path, sizeof(path), "%s/%u.rec", dir, r->domid);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    n = write(fd, r, sizeof(*r));
    if (n != (ssize_t)sizeof(*r)) {
        if (n >= 0)
            errno = EIO;
        close(fd);
        unlink(tmp);
        goto fail;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        goto fail;
    }
    return;

fail:
    dlog(DLOG_ERR, "domain %u: writing its record %s: %s: a restarted "
         "daemon would not find it", r->domid, path, strerror(errno));
}

void record_remove(uint32_t domid)
{
    char path[400];

    if (!dir[0])
        return;
    snprintf(path, sizeof(path), "%s/%u.rec", dir, domid);
    unlink(path);
    snprintf(path, sizeof(path), "%s/%u.sock", dir, domid);
    unlink(path);
}

int record_load(const char *path, struct domain_record *r)
{
    ssize_t n;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, r, sizeof(*r));
    if (n < 0)
        rc = -errno;
    else if (n != (ssize_t)sizeof(*r) || r->magic != RECORD_MAGIC ||
             r->version != RECORD_VERSION || r->domid == 0 ||
             r->domid >= DOMID_FIRST_RESERVED)
        rc = -EPROTO;
    close(fd);
    return rc;
}

uint64_t record_start_time(pid_t pid)
{
    char v[32];

    /* starttime is field 22 */
    return proc_stat_field(pid, 22, v, sizeof(v)) == 0 ?
           strtoull(v, NULL, 10) : 0;
}
