/*
 * credit.c - credit scheduler parameters through cgroups (see credit.h).
 */
#include "credit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

enum cg_kind { CG_NONE, CG_V1, CG_V2 };

static enum cg_kind kind = CG_NONE;
static char root[200];           /* the cpu hierarchy's mount */
static char group[260];          /* this daemon's group, "" if none */
static char home[230];           /* <root>/xenolith */

const char *credit_kind(void)
{
    return kind == CG_V2 ? "v2" : kind == CG_V1 ? "v1" : "none";
}

/* Write s to dir/file.  0 or -errno. */
static int cg_write(const char *dir, const char *file, const char *s)
{
    char path[400];
    size_t len = strlen(s);
    ssize_t n;
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = write(fd, s, len);
    rc = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

/* Does dir/file hold the word w (space-separated)? */
static int cg_has_word(const char *dir, const char *file, const char *w)
{
    char path[400], buf[512], *tok, *save;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "re");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (tok = strtok_r(buf, " \n", &save); tok;
         tok = strtok_r(NULL, " \n", &save))
        if (!strcmp(tok, w))
            return 1;
    return 0;
}

static int file_exists(const char *dir, const char *file)
{
    char path[400];

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

static enum cg_kind probe(const char *dir)
{
    if (file_exists(dir, "cgroup.controllers"))
        return cg_has_word(dir, "cgroup.controllers", "cpu") ? CG_V2
                                                             : CG_NONE;
    if (file_exists(dir, "cpu.shares"))
        return CG_V1;
    return CG_NONE;
}

/* mkdir that accepts an existing directory. */
static int cg_mkdir(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* v2: let the children of dir use the cpu controller. */
static int cg_enable_cpu(const char *dir)
{
    if (kind != CG_V2 || cg_has_word(dir, "cgroup.subtree_control", "cpu"))
        return 0;
    return cg_write(dir, "cgroup.subtree_control", "+cpu");
}

/* Does pid run a xenolithd (not a zombie: a daemon that died before
 * its parent reaped it is gone; nor another program with its pid; its
 * command line names xenolithd, also under a wrapper such as valgrind)? */
static int daemon_alive(long pid)
{
    char path[64], buf[4096], state[8];
    size_t n, i;
    FILE *f;

    /* field 3: the state */
    if (proc_stat_field((pid_t)pid, 3, state, sizeof(state)) < 0 ||
        state[0] == 'Z')
        return 0;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    for (i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return strstr(buf, "xenolithd") != NULL;
}

/* Remove the groups of daemons that are gone ("nothing left behind"
 * even after a crash of the daemon). */
static void sweep_dead(const char *base)
{
    char path[600];
    struct dirent *de, *sub;
    DIR *dir, *d2;
    long pid;

    dir = opendir(base);
    if (!dir)
        return;
    while ((de = readdir(dir))) {
        if (sscanf(de->d_name, "xenolithd-%ld", &pid) != 1 || pid <= 0 ||
            pid == (long)getpid() || daemon_alive(pid))
            continue;
        snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
        d2 = opendir(path);
        if (d2) {
            while ((sub = readdir(d2))) {
                char p2[900];

                if (sub->d_name[0] != 'd' || sub->d_type != DT_DIR)
                    continue;
                snprintf(p2, sizeof(p2), "%s/%s", path, sub->d_name);
                (void)rmdir(p2);
            }
            closedir(d2);
        }
        if (rmdir(path) == 0)
            dlog(DLOG_INFO, "cgroup %s of a dead daemon removed", path);
    }
    closedir(dir);
}

int credit_init(void)
{
    static const char *const v1_dirs[] = {
        "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", NULL
    };
    const char *env = getenv("XENOLITH_CGROUP_ROOT");
    int i, rc;

    kind = CG_NONE;
    group[0] = '\0';
    if (env && *env) {
        snprintf(root, sizeof(root), "%s", env);
        kind = probe(root);
    } else {
        snprintf(root, sizeof(root), "/sys/fs/cgroup");
        kind = probe(root);
        for (i = 0; kind == CG_NONE && v1_dirs[i]; i++) {
            snprintf(root, sizeof(root), "%s", v1_dirs[i]);
            kind = probe(root);
        }
    }
    if (kind == CG_NONE) {
        dlog(DLOG_WARN, "no cgroup cpu controller (looked at %s: cgroup v2 "
             "with \"cpu\" in cgroup.controllers, or a v1 hierarchy with "
             "cpu.shares%s): credit scheduler parameters cannot be applied",
             env && *env ? env : "/sys/fs/cgroup",
             env && *env ? "" : "; and /sys/fs/cgroup/cpu");
        return 0;
    }
    snprintf(home, sizeof(home), "%s/xenolith", root);
    snprintf(group, sizeof(group), "%s/xenolithd-%ld", home,
             (long)getpid());
    rc = cg_enable_cpu(root);
    if (rc == 0)
        rc = cg_mkdir(home);
    if (rc == 0)
        rc = cg_enable_cpu(home);
    if (rc == 0) {
        sweep_dead(home);
        rc = cg_mkdir(group);
    }
    if (rc == 0)
        rc = cg_enable_cpu(group);
    if (rc < 0) {
        dlog(DLOG_WARN, "cgroup %s (%s): cannot set up %s: %s: credit "
             "scheduler parameters cannot be applied", root,
             credit_kind(), group, strerror(-rc));
        kind = CG_NONE;
        group[0] = '\0';
        return 0;
    }
    dlog(DLOG_INFO, "credit scheduler through cgroup %s at %s",
         credit_kind(), group);
    return 0;
}

void credit_sweep(void)
{
    if (kind != CG_NONE && home[0])
        sweep_dead(home);
}

void credit_exit(void)
{
    if (group[0] && rmdir(group) < 0 && errno != ENOENT)
        dlog(DLOG_WARN, "removing cgroup %s: %s", group, strerror(errno));
    group[0] = '\0';
}

void credit_dom_init(struct credit_dom *s)
{
    s->path[0] = '\0';
    s->weight = CREDIT_DEFAULT_WEIGHT;
    s->cap = 0;
}

int credit_dom_attach(struct credit_dom *s, uint32_t domid, pid_t pid)
{
    char num[32];
    int rc;

    if (kind == CG_NONE || !group[0])
        return 0;
    snprintf(s->path, sizeof(s->path), "%s/d%u", group, domid);
    rc = cg_mkdir(s->path);
    if (rc == 0) {
        snprintf(num, sizeof(num), "%ld", (long)pid);
        rc = cg_write(s->path, "cgroup.procs", num);
    }
    if (rc < 0) {
        dlog(DLOG_ERR, "domain %u: putting its process %ld in cgroup %s: "
             "%s", domid, (long)pid, s->path, strerror(-rc));
        (void)rmdir(s->path);
        s->path[0] = '\0';
    }
    return rc;
}

void credit_dom_dispose(struct credit_dom *s, uint32_t domid)
{
    int tries, err = 0;

    if (!s->path[0])
        return;
    /* the last exiting threads may leave the group just after the reap */
    for (tries = 0; tries < 20; tries++) {
        err = rmdir(s->path) < 0 ? errno : 0;
        if (err != EBUSY)
            break;
        usleep(1000);
    }
    if (err && err != ENOENT)
        dlog(DLOG_WARN, "domain %u: removing cgroup %s: %s", domid,
             s->path, strerror(err));
    s->path[0] = '\0';
}

static int apply_weight(const char *dir, uint16_t weight)
{
    char buf[32];
    unsigned long v;

    if (kind == CG_V1) {
        /* Xen's default 256 is the default 1024 shares */
        v = (unsigned long)weight * 4;
        snprintf(buf, sizeof(buf), "%lu", v < 2 ? 2 : v);
        return cg_write(dir, "cpu.shares", buf);
    }
    /* v2: default 100, range 1..10000 */
    v = ((unsigned long)weight * 100 + 128) / 256;
    snprintf(buf, sizeof(buf), "%lu", v < 1 ? 1 : v > 10000 ? 10000 : v);
    return cg_write(dir, "cpu.weight", buf);
}

static int apply_cap(const char *dir, uint16_t cap)
{
    char buf[64];
    int rc;

    /* cap is a percentage of one CPU: quota per 100 ms period */
    if (kind == CG_V1) {
        snprintf(buf, sizeof(buf), "%d", CREDIT_PERIOD_US);
        rc = cg_write(dir, "cpu.cfs_period_us", buf);
        if (rc < 0)
            return rc;
        if (cap)
            snprintf(buf, sizeof(buf), "%lu",
                     (unsigned long)cap * (CREDIT_PERIOD_US / 100));
        else
            snprintf(buf, sizeof(buf), "-1");
        return cg_write(dir, "cpu.cfs_quota_us", buf);
    }
    if (cap)
        snprintf(buf, sizeof(buf), "%lu %d",
                 (unsigned long)cap * (CREDIT_PERIOD_US / 100),
                 CREDIT_PERIOD_US);
    else
        snprintf(buf, sizeof(buf), "max %d", CREDIT_PERIOD_US);
    return cg_write(dir, "cpu.max", buf);
}

int credit_dom_set(struct credit_dom *s, uint32_t domid, uint16_t weight,
                  uint16_t cap, unsigned int max_cap)
{
    int rc;

    if (cap != CREDIT_CAP_KEEP && cap > max_cap) {
        dlog(DLOG_WARN, "domain %u: cap %u refused: at most %u (100 per "
             "vCPU)", domid, cap, max_cap);
        return -EINVAL;
    }
    if (kind == CG_NONE) {
        dlog(DLOG_WARN, "domain %u: scheduler parameters refused: no "
             "cgroup cpu controller", domid);
        return -EOPNOTSUPP;
    }
    if (!s->path[0]) {
        dlog(DLOG_WARN, "domain %u: scheduler parameters refused: its "
             "process has no cgroup", domid);
        return -EIO;
    }
    if (weight) {
        rc = apply_weight(s->path, weight);
        if (rc < 0)
            goto fail;
        s->weight = weight;
    }
    if (cap != CREDIT_CAP_KEEP) {
        rc = apply_cap(s->path, cap);
        if (rc < 0)
            goto fail;
        s->cap = cap;
    }
    dlog(DLOG_INFO, "domain %u: weight %u cap %u", domid, s->weight,
         s->cap);
    return 0;

fail:
    dlog(DLOG_ERR, "domain %u: writing cgroup %s (%s): %s", domid, s->path,
         credit_kind(), strerror(-rc));
    return -EIO;
}
