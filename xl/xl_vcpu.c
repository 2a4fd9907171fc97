/*
 * xl_vcpu.c - xl vcpu-list, vcpu-pin, vcpu-set, mem-set, mem-max and
 * sched-credit: a domain's vCPUs, memory and scheduling.
 */
#include "xl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ vcpu-list */

static void print_vcpuinfo(uint32_t domid, const libxl_vcpuinfo *v,
                           int nr_cpus)
{
    char *name = libxl_domid_to_name(ctx, domid);

    printf("%-32s %5u %5u", name ? name : "-", domid, v->vcpuid);
    free(name);
    if (!v->online)
        printf("%5c %3c%cp ", '-', '-', '-');
    else
        printf("%5u %3c%c- ", v->cpu, v->running ? 'r' : '-',
               v->blocked ? 'b' : '-');
    printf("%9.1f  ", (double)v->vcpu_time / 1e9);
    print_bitmap(v->cpumap.map, nr_cpus, stdout);
    printf(" / ");
    print_bitmap(v->cpumap_soft.map, nr_cpus, stdout);
    printf("\n");
}

static int print_domain_vcpuinfo(uint32_t domid, int nr_cpus)
{
    libxl_vcpuinfo *v;
    int nb, cpus, i;

    v = libxl_list_vcpu(ctx, domid, &nb, &cpus);
    if (!v) {
        fprintf(stderr, "libxl_list_vcpu failed.\n");
        return 1;
    }
    for (i = 0; i < nb; i++)
        print_vcpuinfo(domid, &v[i], nr_cpus);
    libxl_vcpuinfo_list_free(v, nb);
    return 0;
}

int main_vcpulist(int argc, char **argv)
{
    libxl_physinfo p;
    libxl_dominfo *info;
    int opt, nb, i, rc = 0, nr_cpus;

    SWITCH_FOREACH_OPT(opt, "", NULL, "vcpu-list", 0) {
    }
    libxl_physinfo_init(&p);
    if (libxl_get_physinfo(ctx, &p)) {
        fprintf(stderr, "libxl_physinfo failed.\n");
        return 1;
    }
    nr_cpus = (int)p.nr_cpus;
    libxl_physinfo_dispose(&p);
    printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU",
           "State", "Time(s)", "Affinity (Hard / Soft)");
    if (optind >= argc) {
        info = libxl_list_domain(ctx, &nb);
        if (!info) {
            fprintf(stderr, "libxl_list_domain failed.\n");
            return 1;
        }
        for (i = 0; i < nb; i++)
            rc |= print_domain_vcpuinfo(info[i].domid, nr_cpus);
        libxl_dominfo_list_free(info, nb);
        return rc;
    }
    for (; optind < argc; optind++)
        rc |= print_domain_vcpuinfo(find_domain(argv[optind]), nr_cpus);
    return rc;
}

/* ------------------------------------------------------------ vcpu-pin */

int main_vcpupin(int argc, char **argv)
{
    static const struct option opts[] = {
        { "force", 0, 0, 'f' },
        { "ignore-global-affinity-masks", 0, 0, 'i' },
        COMMON_LONG_OPTS
    };
    libxl_bitmap hard, soft;
    libxl_vcpuinfo *v = NULL;
    const char *vcpu, *hard_str, *soft_str;
    libxl_bitmap *hp = &hard, *sp = &soft;
    uint32_t domid;
    long vcpuid;
    char *end;
    int opt, rc = 1, nb = 0, cpus, i;

    SWITCH_FOREACH_OPT(opt, "fi", opts, "vcpu-pin", 3) {
    case 'f':
    case 'i':
        break;
    }
    libxl_bitmap_init(&hard);
    libxl_bitmap_init(&soft);
    domid = find_domain(argv[optind]);
    vcpu = argv[optind + 1];
    hard_str = argv[optind + 2];
    soft_str = argc > optind + 3 ? argv[optind + 3] : NULL;
    vcpuid = strtol(vcpu, &end, 10);
    if (vcpu == end || *end || vcpuid < 0) {
        if (strcmp(vcpu, "all")) {
            fprintf(stderr, "Error: Invalid argument %s as VCPU.\n", vcpu);
            goto out;
        }
        vcpuid = -1;
    }
    if (libxl_cpu_bitmap_alloc(ctx, &hard, 0) ||
        libxl_cpu_bitmap_alloc(ctx, &soft, 0)) {
        fprintf(stderr, "libxl_cpu_bitmap_alloc failed.\n");
        goto out;
    }
    if (!strcmp(hard_str, "-"))
        hp = NULL;
    else if (parse_cpurange(hard_str, &hard))
        goto out;
    if (!soft_str || !strcmp(soft_str, "-"))
        sp = NULL;
    else if (parse_cpurange(soft_str, &soft))
        goto out;
    if (vcpuid != -1) {
        if (libxl_set_vcpuaffinity(ctx, domid, (uint32_t)vcpuid, hp, sp)) {
            fprintf(stderr, "Could not set affinity for vcpu `%ld'.\n",
                    vcpuid);
            goto out;
        }
        rc = 0;
        goto out;
    }
    v = libxl_list_vcpu(ctx, domid, &nb, &cpus);
    if (!v) {
        fprintf(stderr, "libxl_list_vcpu failed.\n");
        goto out;
    }
    for (i = 0; i < nb; i++) {
        if (libxl_set_vcpuaffinity(ctx, domid, v[i].vcpuid, hp, sp)) {
            fprintf(stderr, "Could not set affinity.\n");
            goto out;
        }
    }
    rc = 0;
out:
    if (v)
        libxl_vcpuinfo_list_free(v, nb);
    libxl_bitmap_dispose(&soft);
    libxl_bitmap_dispose(&hard);
    return rc;
}

/* ------------------------------------------------------------ vcpu-set */

int main_vcpuset(int argc, char **argv)
{
    static const struct option opts[] = {
        { "ignore-host", 0, 0, 'i' },
        COMMON_LONG_OPTS
    };
    libxl_bitmap cpumap;
    libxl_dominfo di;
    unsigned long max_vcpus;
    unsigned int i;
    uint32_t domid;
    int opt, rc, check_host = 1, host_cpus;
    char *end;
    const char *nr;

    SWITCH_FOREACH_OPT(opt, "i", opts, "vcpu-set", 2) {
    case 'i':
        check_host = 0;
        break;
    }
    domid = find_domain(argv[optind]);
    nr = argv[optind + 1];
    errno = 0;
    max_vcpus = strtoul(nr, &end, 10);
    if (nr == end || *end || errno || max_vcpus > INT_MAX) {
        fprintf(stderr, "Error: Invalid argument.\n");
        return 1;
    }
    if (check_host) {
        host_cpus = libxl_get_max_cpus(ctx);
        libxl_dominfo_init(&di);
        if (libxl_domain_info(ctx, &di, domid)) {
            libxl_dominfo_dispose(&di);
            return 1;
        }
        if (max_vcpus > di.vcpu_online && host_cpus > 0 &&
            max_vcpus > (unsigned long)host_cpus) {
            fprintf(stderr, "You are overcommmitting! You have %d physical"
                    " CPUs and want %lu vCPUs! Aborting, use --ignore-host "
                    "to continue\n", host_cpus, max_vcpus);
            libxl_dominfo_dispose(&di);
            return 1;
        }
        libxl_dominfo_dispose(&di);
    }
    libxl_bitmap_init(&cpumap);
    rc = libxl_bitmap_alloc(ctx, &cpumap, max_vcpus ? (int)max_vcpus : 1);
    if (rc) {
        fprintf(stderr, "libxl_cpu_bitmap_alloc failed, rc: %d\n", rc);
        return 1;
    }
    for (i = 0; i < max_vcpus; i++)
        libxl_bitmap_set(&cpumap, (int)i);
    rc = libxl_set_vcpuonline(ctx, domid, &cpumap, NULL);
    if (rc == ERROR_DOMAIN_NOTFOUND)
        fprintf(stderr, "Domain %u does not exist.\n", domid);
    else if (rc)
        fprintf(stderr, "libxl_set_vcpuonline failed domid=%u "
                "max_vcpus=%lu, rc: %d\n", domid, max_vcpus, rc);
    libxl_bitmap_dispose(&cpumap);
    return rc ? 1 : 0;
}

/* ------------------------------------------------------------ memory */

/* "NUMBER[bkmgt]" in KiB (no suffix: MiB, as Xen's xl); -1 if invalid. */
static int64_t parse_mem_size_kb(const char *mem)
{
    char *end;
    double d;
    int64_t kb;

    errno = 0;
    d = strtod(mem, &end);
    if (end == mem || errno || d < 0)
        return -1;
    switch (*end) {
    case 'T': case 't':
        d *= 1024.0 * 1024 * 1024;
        break;
    case 'G': case 'g':
        d *= 1024.0 * 1024;
        break;
    case 'M': case 'm': case '\0':
        d *= 1024;
        break;
    case 'K': case 'k':
        break;
    case 'B': case 'b':
        d /= 1024;
        break;
    default:
        return -1;
    }
    if (*end && end[1])
        return -1;
    if (d > (double)INT64_MAX)
        return -1;
    kb = (int64_t)d;
    return kb;
}

int main_memmax(int argc, char **argv)
{
    uint32_t domid;
    int64_t kb;
    int opt;

    SWITCH_FOREACH_OPT(opt, "", NULL, "mem-max", 2) {
    }
    domid = find_domain(argv[optind]);
    kb = parse_mem_size_kb(argv[optind + 1]);
    if (kb == -1) {
        fprintf(stderr, "invalid memory size: %s\n", argv[optind + 1]);
        return 1;
    }
    if (libxl_domain_setmaxmem(ctx, domid, (uint64_t)kb)) {
        fprintf(stderr, "cannot set domid %u static max memory to : %s\n",
                domid, argv[optind + 1]);
        return 1;
    }
    return 0;
}

int main_memset(int argc, char **argv)
{
    uint32_t domid;
    int64_t kb;
    int opt;

    SWITCH_FOREACH_OPT(opt, "", NULL, "mem-set", 2) {
    }
    domid = find_domain(argv[optind]);
    kb = parse_mem_size_kb(argv[optind + 1]);
    if (kb == -1) {
        fprintf(stderr, "invalid memory size: %s\n", argv[optind + 1]);
        return 1;
    }
    if (libxl_set_memory_target(ctx, domid, kb, 0, 1)) {
        fprintf(stderr, "cannot set domid %u dynamic max memory to : %s\n",
                domid, argv[optind + 1]);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ sched-credit */

/* Xen's layout: the header for a negative domid, else one row. */
static int sched_domain_row(int domid)
{
    libxl_domain_sched_params p;
    char *name;

    if (domid < 0) {
        printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
        return 0;
    }
    libxl_domain_sched_params_init(&p);
    if (libxl_domain_sched_params_get(ctx, (uint32_t)domid, &p)) {
        fprintf(stderr, "libxl_domain_sched_params_get failed.\n");
        libxl_domain_sched_params_dispose(&p);
        return 1;
    }
    if (p.sched != LIBXL_SCHEDULER_CREDIT) {
        fprintf(stderr, "libxl_domain_sched_params_get returned %s not %s.\n",
                libxl_scheduler_to_string(p.sched),
                libxl_scheduler_to_string(LIBXL_SCHEDULER_CREDIT));
        libxl_domain_sched_params_dispose(&p);
        return 1;
    }
    name = libxl_domid_to_name(ctx, (uint32_t)domid);
    printf("%-33s %4d %6d %4d\n", name ? name : "-", domid, p.weight,
           p.cap);
    free(name);
    libxl_domain_sched_params_dispose(&p);
    return 0;
}

static void sched_pool_line(uint32_t poolid)
{
    libxl_sched_credit_params sp;
    char *pool = libxl_cpupoolid_to_name(ctx, poolid);

    if (libxl_sched_credit_params_get(ctx, poolid, &sp)) {
        fprintf(stderr, "libxl_sched_credit_params_get failed.\n");
        printf("Cpupool %s: [sched params unavailable]\n", pool);
    } else {
        printf("Cpupool %s: tslice=%dms ratelimit=%dus "
               "migration-delay=%dus\n", pool, sp.tslice_ms,
               sp.ratelimit_us, sp.vcpu_migr_delay_us);
    }
    free(pool);
}

/* The one pool, by name or number. */
static int pool_lookup(const char *pool, uint32_t *poolid)
{
    if (!strcmp(pool, "Pool-0") || !strcmp(pool, "0")) {
        *poolid = 0;
        return 0;
    }
    fprintf(stderr, "unknown cpupool \'%s\'\n", pool);
    return 1;
}

static int sched_set_pool(uint32_t poolid, int opt_t, int tslice, int opt_r,
                          int ratelimit, int opt_m, int migrdelay)
{
    libxl_sched_credit_params sp;

    if (libxl_sched_credit_params_get(ctx, poolid, &sp)) {
        fprintf(stderr, "libxl_sched_credit_params_get failed.\n");
        return 1;
    }
    if (opt_t)
        sp.tslice_ms = tslice;
    if (opt_r)
        sp.ratelimit_us = ratelimit;
    if (opt_m)
        sp.vcpu_migr_delay_us = migrdelay;
    if (libxl_sched_credit_params_set(ctx, poolid, &sp)) {
        fprintf(stderr, "libxl_sched_credit_params_set failed.\n");
        return 1;
    }
    return 0;
}

static int sched_list(void)
{
    libxl_dominfo *info;
    int nb, i, rc = 0;

    info = libxl_list_domain(ctx, &nb);
    if (!info) {
        fprintf(stderr, "libxl_list_domain failed.\n");
        return 1;
    }
    sched_pool_line(0);
    sched_domain_row(-1);
    for (i = 0; i < nb && !rc; i++)
        rc = sched_domain_row((int)info[i].domid);
    libxl_dominfo_list_free(info, nb);
    return rc;
}

int main_sched_credit(int argc, char **argv)
{
    static const struct option opts[] = {
        { "domain", 1, 0, 'd' },
        { "weight", 1, 0, 'w' },
        { "cap", 1, 0, 'c' },
        { "schedparam", 0, 0, 's' },
        { "tslice_ms", 1, 0, 't' },
        { "ratelimit_us", 1, 0, 'r' },
        { "migration_delay_us", 1, 0, 'm' },
        { "cpupool", 1, 0, 'p' },
        COMMON_LONG_OPTS
    };
    libxl_domain_sched_params p;
    const char *dom = NULL, *pool = NULL;
    int weight = 256, cap = 0, tslice = 0, ratelimit = 0, migrdelay = 0;
    int opt_w = 0, opt_c = 0, opt_t = 0, opt_r = 0, opt_m = 0, opt_s = 0;
    int opt, rc;
    uint32_t poolid = 0, domid;

    SWITCH_FOREACH_OPT(opt, "d:w:c:p:t:r:m:s", opts, "sched-credit", 0) {
    case 'd':
        dom = optarg;
        break;
    case 'w':
        weight = (int)strtol(optarg, NULL, 10);
        opt_w = 1;
        break;
    case 'c':
        cap = (int)strtol(optarg, NULL, 10);
        opt_c = 1;
        break;
    case 't':
        tslice = (int)strtol(optarg, NULL, 10);
        opt_t = 1;
        break;
    case 'r':
        ratelimit = (int)strtol(optarg, NULL, 10);
        opt_r = 1;
        break;
    case 'm':
        migrdelay = (int)strtol(optarg, NULL, 10);
        opt_m = 1;
        break;
    case 's':
        opt_s = 1;
        break;
    case 'p':
        pool = optarg;
        break;
    }
    if ((pool || opt_s) && (dom || opt_w || opt_c)) {
        fprintf(stderr, "Specifying a cpupool or schedparam is not "
                "allowed with domain options.\n");
        return 1;
    }
    if (!dom && (opt_w || opt_c)) {
        fprintf(stderr, "Must specify a domain.\n");
        return 1;
    }
    if (!opt_s && (opt_t || opt_r || opt_m)) {
        fprintf(stderr, "Must specify schedparam to set schedule "
                "parameter values.\n");
        return 1;
    }
    if (pool && pool_lookup(pool, &poolid))
        return 1;
    if (opt_s) {
        if (!opt_t && !opt_r && !opt_m) {
            sched_pool_line(poolid);
            return 0;
        }
        return sched_set_pool(poolid, opt_t, tslice, opt_r, ratelimit,
                              opt_m, migrdelay);
    }
    if (!dom)
        return sched_list();
    domid = find_domain(dom);
    if (!opt_w && !opt_c) {
        sched_domain_row(-1);
        return sched_domain_row((int)domid);
    }
    libxl_domain_sched_params_init(&p);
    p.sched = LIBXL_SCHEDULER_CREDIT;
    if (opt_w)
        p.weight = weight;
    if (opt_c)
        p.cap = cap;
    rc = libxl_domain_sched_params_set(ctx, domid, &p);
    libxl_domain_sched_params_dispose(&p);
    if (rc) {
        fprintf(stderr, "libxl_domain_sched_params_set failed.\n");
        return 1;
    }
    return 0;
}
