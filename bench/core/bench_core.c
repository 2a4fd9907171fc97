/*
 * bench_core.c - figures for the core on this host.
 *
 *   bench-core create N   time from xc_domain_create to the guest's
 *                         first console byte (test-pvh-hello: create,
 *                         build, unpause, run), N runs 50 ms apart (so
 *                         the daemon's spare process is ready, as on an
 *                         idle host): median and min
 *   bench-core memory N   N idle hello domains alive at once: host memory
 *                         per domain (PSS/RSS of the domain processes,
 *                         the daemon's growth, kernel memory growth)
 *
 * Needs XENOLITHD and GUEST_DIR (run.sh sets them) and /dev/kvm.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define IDLE_MEM_MB 4

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int bench_create(struct core *c, int n)
{
    double *t = calloc((size_t)n, sizeof(*t));
    int i, rc;

    if (!t)
        return 1;
    for (i = 0; i < n; i++) {
        char buf[8];
        size_t len = 0;
        uint32_t domid;
        double t0 = now_ms();

        rc = guest_boot(c->xch, guest_path("test-pvh-hello"), 1,
                        IDLE_MEM_MB, NULL, NULL, 0, &domid);
        if (rc < 0 || xc_domain_unpause(c->xch, domid) < 0) {
            fprintf(stderr, "create: boot failed: %s\n", strerror(-rc));
            return 1;
        }
        while (len == 0) {
            len = sizeof(buf);
            if (xc_console_read_ring(c->xch, domid, buf, &len) < 0)
                return 1;
        }
        t[i] = now_ms() - t0;
        if (getenv("BENCH_PHASES"))
            fprintf(stderr, "run %d: %.2f ms\n", i, t[i]);
        xc_domain_destroy(c->xch, domid);
        /* steady state: let the next spare domain process get ready */
        usleep(50000);
    }
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("create_ms %.3f %.3f\n", t[n / 2], t[0]);
    free(t);
    return 0;
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

/* Pss and Rss of a process, KiB. */
static void proc_mem(pid_t pid, long *pss, long *rss)
{
    char path[64], line[256];
    long v;
    FILE *f;

    *pss = *rss = 0;
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Pss: %ld kB", &v) == 1)
            *pss = v;
        else if (sscanf(line, "Rss: %ld kB", &v) == 1)
            *rss = v;
    }
    fclose(f);
}

static int bench_memory(struct core *c, int n)
{
    uint32_t *ids = calloc((size_t)n, sizeof(*ids));
    long used0, kern0, dpss0, drss0, pss = 0, rss = 0, p, r;
    long dpss, drss;
    double t0 = now_ms();
    int i, rc;

    if (!ids)
        return 1;
    sync();
    used0 = used_kib();
    kern0 = kernel_kib();
    proc_mem(c->pid, &dpss0, &drss0);
    for (i = 0; i < n; i++) {
        rc = guest_boot(c->xch, guest_path("test-pvh-hello"), 1,
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
        proc_mem(info.pid, &p, &r);
        pss += p;
        rss += r;
    }
    proc_mem(c->pid, &dpss, &drss);
    printf("memory_domains %d\n", n);
    printf("memory_boot_all_ms %.0f\n", now_ms() - t0);
    printf("memory_pss_kib_per_domain %.0f\n", (double)pss / n);
    printf("memory_rss_kib_per_domain %.0f\n", (double)rss / n);
    printf("memory_daemon_kib_per_domain %.1f\n",
           (double)(drss - drss0) / n);
    printf("memory_kernel_kib_per_domain %.0f\n",
           (double)(kernel_kib() - kern0) / n);
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
    harness_require_kvm();
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
