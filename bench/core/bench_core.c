/*
 * bench_core.c - figures for the core on this host.
 *
 *   bench-core create N   time from the xc_domain_create call to the
 *                         guest's first console byte (test-pvh-hello:
 *                         create, build, unpause, run), N runs, each
 *                         after the floor program ($FLOOR --child, time
 *                         from its spawn to its VM's first I/O exit) so
 *                         both see the same host load; 50 ms before each
 *                         create (the daemon's spare process is ready, as
 *                         on an idle host).  Median and min of: the event
 *                         as stamped where it happens (_stamp) and as
 *                         learnt by the waiting program (_seen).
 *   bench-core memory N   N idle hello domains alive at once, per domain:
 *                         guest RAM really allocated (memfd blocks), the
 *                         domain process's own memory (PSS less shared
 *                         memory), the daemon's and the kernel's growth
 *
 * Needs XENOLITHD and GUEST_DIR (run.sh sets them) and /dev/kvm.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define IDLE_MEM_MB 4

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

struct stats {
    double *v;
    int n;
};

static void put(struct stats *s, double v)
{
    s->v[s->n++] = v;
}

static void print_stats(const char *name, struct stats *s)
{
    if (s->n == 0) {
        printf("%s - -\n", name);
        return;
    }
    qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp);
    printf("%s %.3f %.3f\n", name, s->v[s->n / 2], s->v[0]);
}

/*
 * The floor as a whole program: spawn bench-core-floor --child, which
 * reports when its VM's first I/O exit happened.  *stamp_r: spawn ->
 * that exit; *seen_r: spawn -> its report read here.
 */
static int floor_once(const char *path, double *stamp_r, double *seen_r)
{
    char *const argv[] = { (char *)"bench-core-floor", (char *)"--child",
                           NULL };
    posix_spawn_file_actions_t fa;
    uint64_t ns = 0;
    int p[2], status, rc = -1;
    double t0;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    t0 = now_ms();
    if (posix_spawn(&pid, path, &fa, NULL, argv, environ) != 0)
        goto out;
    close(p[1]);
    p[1] = -1;
    if (read(p[0], &ns, sizeof(ns)) == (ssize_t)sizeof(ns)) {
        *seen_r = now_ms() - t0;
        *stamp_r = (double)ns / 1e6 - t0;
        rc = 0;
    }
    waitpid(pid, &status, 0);
out:
    posix_spawn_file_actions_destroy(&fa);
    close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    return rc;
}

/* One hello domain: create call -> first console byte.  *stamp_r: when
 * the byte left the guest (stamped by its process); *seen_r: when
 * xc_console_wait() told us. */
static int core_once(struct core *c, double *stamp_r, double *seen_r)
{
    struct xc_console_status st;
    uint32_t domid;
    double t0 = now_ms();
    int rc;

    rc = guest_boot(c->xch, test_host_guest("test-pvh-hello"), 1, IDLE_MEM_MB,
                    NULL, NULL, 0, &domid);
    if (rc < 0) {
        fprintf(stderr, "create: boot failed: %s\n", strerror(-rc));
        return -1;
    }
    rc = xc_domain_unpause(c->xch, domid);
    if (rc == 0)
        rc = xc_console_wait(c->xch, domid, 0, 10000, &st);
    if (rc == 0) {
        *seen_r = now_ms() - t0;
        *stamp_r = (double)st.first_output_ns / 1e6 - t0;
    } else {
        fprintf(stderr, "create: no console output: %s\n", strerror(-rc));
    }
    xc_domain_destroy(c->xch, domid);
    return rc < 0 ? -1 : 0;
}

/* n runs of each, interleaved so both see the same host load. */
static int bench_create(struct core *c, int n)
{
    const char *floor = getenv("FLOOR");
    struct stats fs, fv, cs, cv;
    double a = 0, b = 0;
    int i, rc = 1;

    fs.v = calloc((size_t)n, sizeof(double));
    fv.v = calloc((size_t)n, sizeof(double));
    cs.v = calloc((size_t)n, sizeof(double));
    cv.v = calloc((size_t)n, sizeof(double));
    fs.n = fv.n = cs.n = cv.n = 0;
    if (!fs.v || !fv.v || !cs.v || !cv.v)
        goto out;
    for (i = 0; i < n; i++) {
        if (floor) {
            if (floor_once(floor, &a, &b) < 0) {
                fprintf(stderr, "create: %s --child failed\n", floor);
                goto out;
            }
            put(&fs, a);
            put(&fv, b);
        }
        /* steady state: the daemon's spare domain process is ready */
        usleep(50000);
        if (core_once(c, &a, &b) < 0)
            goto out;
        put(&cs, a);
        put(&cv, b);
        if (getenv("BENCH_PHASES"))
            fprintf(stderr, "run %d: core %.3f / %.3f ms\n", i, a, b);
        usleep(20000);
    }
    print_stats("floor_proc_stamp_ms", &fs);
    print_stats("floor_proc_seen_ms", &fv);
    print_stats("create_stamp_ms", &cs);
    print_stats("create_seen_ms", &cv);
    rc = 0;
out:
    free(fs.v);
    free(fv.v);
    free(cs.v);
    free(cv.v);
    return rc;
}

/* Sum of some /proc/meminfo fields, KiB. */
static long meminfo(const char *const *names)
{
    char line[256], key[64];
    long v, sum = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    int i;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%63[^:]: %ld", key, &v) != 2)
            continue;
        for (i = 0; names[i]; i++)
            if (!strcmp(key, names[i]))
                sum += v;
    }
    fclose(f);
    return sum;
}

static long used_kib(void)
{
    static const char *const total[] = { "MemTotal", NULL };
    static const char *const avail[] = { "MemAvailable", NULL };

    return meminfo(total) - meminfo(avail);
}

static long kernel_kib(void)
{
    static const char *const k[] = {
        "Slab", "KernelStack", "PageTables", "SecPageTables", "VmallocUsed",
        NULL,
    };

    return meminfo(k);
}

struct procmem {
    long pss, pss_shmem, rss;    /* KiB */
};

/* Pss (all, and of shared memory) and Rss of a process. */
static void proc_mem(pid_t pid, struct procmem *m)
{
    char path[64], line[256];
    long v;
    FILE *f;

    memset(m, 0, sizeof(*m));
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Pss: %ld kB", &v) == 1)
            m->pss = v;
        else if (sscanf(line, "Pss_Shmem: %ld kB", &v) == 1)
            m->pss_shmem = v;
        else if (sscanf(line, "Rss: %ld kB", &v) == 1)
            m->rss = v;
    }
    fclose(f);
}

/* KiB of guest RAM really allocated: the blocks of the domain's memfd,
 * found among its process's descriptors.  -1 if not found. */
static long guest_kib(pid_t pid)
{
    char dir[64], path[320], target[256];
    struct dirent *de;
    struct stat st;
    long kib = -1;
    ssize_t n;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    d = opendir(dir);
    if (!d)
        return -1;
    while ((de = readdir(d))) {
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        n = readlink(path, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (!strstr(target, "memfd:xenolith-d") || stat(path, &st) < 0)
            continue;
        kib = (long)(st.st_blocks * 512 / 1024);
        break;
    }
    closedir(d);
    return kib;
}

static int bench_memory(struct core *c, int n)
{
    uint32_t *ids = calloc((size_t)n, sizeof(*ids));
    long used0, kern0, priv = 0, rss = 0, guest = 0, g;
    struct procmem d0, d1, m;
    double t0 = now_ms(), daemon, kernel;
    int i, rc;

    if (!ids)
        return 1;
    sync();
    used0 = used_kib();
    kern0 = kernel_kib();
    proc_mem(c->host.core, &d0);
    for (i = 0; i < n; i++) {
        rc = guest_boot(c->xch, test_host_guest("test-pvh-hello"), 1,
                        IDLE_MEM_MB, NULL, NULL, 0, &ids[i]);
        if (rc < 0 || xc_domain_unpause(c->xch, ids[i]) < 0) {
            fprintf(stderr, "memory: domain %d of %d failed: %s\n", i + 1,
                    n, strerror(-rc));
            return 1;
        }
    }
    for (i = 0; i < n; i++) {
        if (console_wait(c->xch, ids[i], "Test result: SUCCESS", 60000,
                         NULL, 0) != 1) {
            fprintf(stderr, "memory: domain %u gave no verdict\n", ids[i]);
            return 1;
        }
    }
    for (i = 0; i < n; i++) {
        xc_dominfo_t info;

        if (xc_domain_getinfo_single(c->xch, ids[i], &info) < 0)
            return 1;
        proc_mem(info.pid, &m);
        g = guest_kib(info.pid);
        if (g < 0) {
            fprintf(stderr, "memory: domain %u: no memfd in process %d\n",
                    ids[i], (int)info.pid);
            return 1;
        }
        priv += m.pss - m.pss_shmem;
        rss += m.rss;
        guest += g;
    }
    proc_mem(c->host.core, &d1);
    daemon = (double)(d1.rss - d0.rss) / n;
    kernel = (double)(kernel_kib() - kern0) / n;
    printf("memory_domains %d\n", n);
    printf("memory_boot_all_ms %.0f\n", now_ms() - t0);
    printf("memory_guest_kib_per_domain %.0f\n", (double)guest / n);
    printf("memory_private_kib_per_domain %.0f\n", (double)priv / n);
    printf("memory_rss_kib_per_domain %.0f\n", (double)rss / n);
    printf("memory_daemon_kib_per_domain %.1f\n", daemon);
    printf("memory_kernel_kib_per_domain %.0f\n", kernel);
    printf("memory_overhead_kib_per_domain %.0f\n",
           (double)priv / n + daemon + kernel);
    printf("memory_host_used_kib_per_domain %.0f\n",
           (double)(used_kib() - used0) / n);
    free(ids);
    return 0;
}

int main(int argc, char **argv)
{
    struct core c;
    int n = argc > 2 ? atoi(argv[2]) : 10, rc;

    if (argc < 2 || n <= 0) {
        fprintf(stderr, "usage: bench-core create|memory N\n");
        return 2;
    }
    test_host_require(TEST_HOST_CORE, true);
    rc = core_start(&c);
    if (rc < 0) {
        fprintf(stderr, "starting xenolithd: %s\n", strerror(-rc));
        return 1;
    }
    if (!strcmp(argv[1], "create"))
        rc = bench_create(&c, n);
    else if (!strcmp(argv[1], "memory"))
        rc = bench_memory(&c, n);
    else
        rc = 2;
    core_stop(&c);
    return rc;
}
