/*
 * credit.h - credit scheduler parameters applied through cgroups.
 *
 * Each domain process is put in a cgroup of its own,
 * <cpu hierarchy>/xenolith/xenolithd-<daemon pid>/d<domid>, where its
 * weight and cap (Xen's credit scheduler parameters) become cgroup v2
 * cpu.weight / cpu.max or v1 cpu.shares / cpu.cfs_quota_us.  The group
 * is removed when the domain is freed, the daemon's group at exit, and
 * groups of daemons that died are removed at start.
 *
 * Without a usable cpu controller the daemon still runs domains; only
 * setting parameters fails (-EOPNOTSUPP).
 */
#ifndef XENOLITH_CREDIT_H
#define XENOLITH_CREDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CREDIT_DEFAULT_WEIGHT  256
#define CREDIT_CAP_KEEP        0xFFFFU
#define CREDIT_PERIOD_US       100000

/* Per-domain state; embedded in struct domain. */
struct credit_dom {
    char path[300];              /* its group, "" if none */
    uint16_t weight;
    uint16_t cap;
};

/*
 * Find the cpu controller: $XENOLITH_CGROUP_ROOT if set (a cgroup v2
 * mount or a v1 cpu hierarchy), else /sys/fs/cgroup (v2, "cpu" in
 * cgroup.controllers), else /sys/fs/cgroup/cpu or cpu,cpuacct (v1).
 * Logs what it found or where it looked.  Returns 0 (also when none is
 * found: the daemon runs without).
 */
int credit_init(void);
/* Remove the groups of daemons that are gone, again: after a restart
 * their domains have moved to this daemon's group (adopt.h). */
void credit_sweep(void);
/* Remove the daemon's group (its domains' groups are gone by then). */
void credit_exit(void);
/* "v1", "v2" or "none". */
const char *credit_kind(void);

/* Defaults for a new domain, no group yet. */
void credit_dom_init(struct credit_dom *s);
/* Make the domain's group and move pid into it.  0 or -errno (logged);
 * without a controller 0 and no group. */
int credit_dom_attach(struct credit_dom *s, uint32_t domid, pid_t pid);
/* Remove the group (the process must be gone).  Idempotent. */
void credit_dom_dispose(struct credit_dom *s, uint32_t domid);
/* Apply weight (0: keep) and cap (CREDIT_CAP_KEEP: keep), cap at most
 * max_cap.  0 or -EINVAL, -EOPNOTSUPP (no controller), -EIO (logged). */
int credit_dom_set(struct credit_dom *s, uint32_t domid, uint16_t weight,
                  uint16_t cap, unsigned int max_cap);

#endif /* XENOLITH_CREDIT_H */
