/*
 * cgroup_probe.h - whether this host offers the core a cgroup cpu
 * controller it can use (the credit scheduler's weight and cap), looked
 * for where xenolithd looks (hypervisor/credit.c): $XENOLITH_CGROUP_ROOT
 * when set, else /sys/fs/cgroup (cgroup v2 with "cpu" in
 * cgroup.controllers, or a v1 hierarchy with cpu.shares), then the v1
 * mounts /sys/fs/cgroup/cpu and /sys/fs/cgroup/cpu,cpuacct.
 *
 * It judges the host, never the core: a core that fails to set its
 * groups up where this says it could is a test failure, not a skip.
 * Header-only so that the tests of tests/guests and tests/integration
 * share it without another source file.
 */
#ifndef GUESTS_CGROUP_PROBE_H
#define GUESTS_CGROUP_PROBE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether dir/file holds word (space or newline separated). */
static inline int cgroup_probe_has_word(const char *dir, const char *file,
                                        const char *word)
{
    char path[400], buf[1024], *tok, *save = NULL;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (tok = strtok_r(buf, " \n", &save); tok;
         tok = strtok_r(NULL, " \n", &save))
        if (!strcmp(tok, word))
            return 1;
    return 0;
}

static inline int cgroup_probe_exists(const char *dir, const char *file,
                                      int mode)
{
    char path[400];

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return access(path, mode) == 0;
}

/* Whether the cgroup dir has processes of its own. */
static inline int cgroup_probe_has_procs(const char *dir)
{
    char path[400];
    int c = EOF;
    FILE *f;

    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    f = fopen(path, "r");
    if (f) {
        c = fgetc(f);
        fclose(f);
    }
    return c != EOF;
}

/*
 * 1 when the core can put its domains in cpu cgroups here; else 0 with
 * the reason in why.
 */
static inline int cgroup_cpu_usable(char *why, size_t cap)
{
    static const char *const dirs[] = {
        "/sys/fs/cgroup", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct",
        NULL
    };
    const char *env = getenv("XENOLITH_CGROUP_ROOT");
    const char *one[] = { env, NULL };
    const char *const *d = env && *env ? one : dirs;

    snprintf(why, cap, "no cgroup cpu controller at %s (cgroup v2 with "
             "\"cpu\" in cgroup.controllers, or a v1 hierarchy with "
             "cpu.shares)", env && *env ? env : "/sys/fs/cgroup, "
             "/sys/fs/cgroup/cpu or /sys/fs/cgroup/cpu,cpuacct");
    for (; *d; d++) {
        if (cgroup_probe_exists(*d, "cgroup.controllers", F_OK)) {
            if (!cgroup_probe_has_word(*d, "cgroup.controllers", "cpu"))
                continue;
            if (!cgroup_probe_exists(*d, "cgroup.subtree_control", W_OK)) {
                snprintf(why, cap, "cgroup v2 at %s has the cpu controller "
                         "but its cgroup.subtree_control is not writable "
                         "here (not root?)", *d);
                return 0;
            }
            /* a group other than the real root (cgroup.type exists)
             * cannot enable a controller for its children while it
             * holds processes itself */
            if (!cgroup_probe_has_word(*d, "cgroup.subtree_control", "cpu")
                && cgroup_probe_exists(*d, "cgroup.type", F_OK)
                && cgroup_probe_has_procs(*d)) {
                snprintf(why, cap, "cgroup v2 at %s (a delegated group with "
                         "processes of its own) does not enable \"cpu\" for "
                         "its children", *d);
                return 0;
            }
            return 1;
        }
        if (cgroup_probe_exists(*d, "cpu.shares", F_OK)) {
            if (access(*d, W_OK) != 0) {
                snprintf(why, cap, "cgroup v1 cpu hierarchy at %s is not "
                         "writable here (not root?)", *d);
                return 0;
            }
            return 1;
        }
    }
    return 0;
}

#endif /* GUESTS_CGROUP_PROBE_H */
