/*
 * xl_info.c - xl list, info, dmesg, uptime, top, domid, domname: what xl
 * reports about the host and its domains (Xen 4.17's layouts).
 */
#include "xl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

static const char shutdown_letters[] = "-rscwS";

static void print_list_header(int verbose)
{
    printf("Name                                        ID   Mem VCPUs\t"
           "State\tTime(s)");
    if (verbose)
        printf("   UUID                            Reason-Code\t"
               "Security Label");
    printf("\n");
}

static void print_list_row(const libxl_dominfo *d, int verbose)
{
    char *name = libxl_domid_to_name(ctx, d->domid);
    int reason = d->shutdown ? d->shutdown_reason : 0;

    printf("%-40s %5u %5lu %5u     %c%c%c%c%c%c  %8.1f",
           name ? name : "(null)", d->domid,
           (unsigned long)((d->current_memkb + d->outstanding_memkb) / 1024),
           d->vcpu_online,
           d->running ? 'r' : '-', d->blocked ? 'b' : '-',
           d->paused ? 'p' : '-', d->shutdown ? 's' : '-',
           reason >= 0 && reason < (int)sizeof(shutdown_letters) - 1 ?
               shutdown_letters[reason] : '?',
           d->dying ? 'd' : '-', (double)d->cpu_time / 1e9);
    free(name);
    if (verbose) {
        printf(" " LIBXL_UUID_FMT, LIBXL_UUID_BYTES(d->uuid));
        if (d->shutdown)
            printf(" %8x", reason);
        else
            printf(" %8s", "-");
        printf(" %16s", d->ssid_label ? d->ssid_label : "-");
    }
    putchar('\n');
}

/* Prints each line of s indented by n spaces (after the first). */
static void print_indented(const char *s, int n)
{
    const char *nl;

    while (*s) {
        nl = strchr(s, '\n');
        if (!nl) {
            fputs(s, stdout);
            return;
        }
        fwrite(s, 1, (size_t)(nl - s) + 1, stdout);
        s = nl + 1;
        if (*s && *s != '\n')
            printf("%*s", n, "");
    }
}

/* xl list -l: [ { "domid": N, "config": {...} }, ... ] as Xen prints. */
static void list_details(const libxl_dominfo *info, int nb)
{
    libxl_domain_config d_config;
    char *json;
    int i, first = 1;

    printf("[\n");
    for (i = 0; i < nb; i++) {
        libxl_domain_config_init(&d_config);
        if (libxl_retrieve_domain_configuration(ctx, info[i].domid,
                                                &d_config, NULL)) {
            libxl_domain_config_dispose(&d_config);
            continue;
        }
        json = libxl_domain_config_to_json(ctx, &d_config);
        libxl_domain_config_dispose(&d_config);
        if (!json)
            continue;
        printf("%s    {\n        \"domid\": %u,\n        \"config\": ",
               first ? "" : ",\n", info[i].domid);
        while (*json && json[strlen(json) - 1] == '\n')
            json[strlen(json) - 1] = 0;
        print_indented(json, 8);
        printf("\n    }");
        first = 0;
        free(json);
    }
    printf("%s]\n", first ? "" : "\n");
}

int main_list(int argc, char **argv)
{
    static const struct option opts[] = {
        { "long", 0, 0, 'l' },
        { "verbose", 0, 0, 'v' },
        { "context", 0, 0, 'Z' },
        COMMON_LONG_OPTS
    };
    libxl_dominfo one, *info = NULL;
    int opt, nb, i, rc, verbose = 0, details = 0;

    SWITCH_FOREACH_OPT(opt, "lvZ", opts, "list", 0) {
    case 'l':
        details = 1;
        break;
    case 'v':
    case 'Z':
        verbose = 1;
        break;
    }
    libxl_dominfo_init(&one);
    if (optind >= argc) {
        info = libxl_list_domain(ctx, &nb);
        if (!info) {
            fprintf(stderr, "libxl_list_domain failed.\n");
            return 1;
        }
    } else if (optind == argc - 1) {
        uint32_t domid = find_domain(argv[optind]);

        rc = libxl_domain_info(ctx, &one, domid);
        if (rc == ERROR_DOMAIN_NOTFOUND) {
            fprintf(stderr, "Error: Domain '%s' does not exist.\n",
                    argv[optind]);
            return 1;
        }
        if (rc) {
            fprintf(stderr, "libxl_domain_info failed (code %d).\n", rc);
            return 1;
        }
        nb = 1;
    } else {
        help("list");
        return 2;
    }
    if (details) {
        list_details(info ? info : &one, nb);
    } else {
        print_list_header(verbose);
        for (i = 0; i < nb; i++)
            print_list_row(info ? &info[i] : &one, verbose);
    }
    if (info)
        libxl_dominfo_list_free(info, nb);
    libxl_dominfo_dispose(&one);
    return 0;
}

int main_domid(int argc, char **argv)
{
    uint32_t domid;
    int opt;

    SWITCH_FOREACH_OPT(opt, "", NULL, "domid", 1) {
    }
    if (libxl_name_to_domid(ctx, argv[optind], &domid)) {
        fprintf(stderr, "Can't get domid of domain name '%s', maybe this "
                "domain does not exist.\n", argv[optind]);
        return 1;
    }
    printf("%u\n", domid);
    return 0;
}

int main_domname(int argc, char **argv)
{
    unsigned long l;
    char *end, *name;
    int opt;

    SWITCH_FOREACH_OPT(opt, "", NULL, "domname", 1) {
    }
    l = strtoul(argv[optind], &end, 10);
    if (!*argv[optind] || *end || l >= INVALID_DOMID) {
        fprintf(stderr, "Invalid domain id.\n\n");
        return 1;
    }
    name = libxl_domid_to_name(ctx, (uint32_t)l);
    if (!name) {
        fprintf(stderr, "Can't get domain name of domain id '%lu', maybe "
                "this domain does not exist.\n", l);
        return 1;
    }
    printf("%s\n", name);
    free(name);
    return 0;
}

/* ------------------------------------------------------------ info */

/* Xenolith: which accelerator domains get, and why. */
static void print_accel(void)
{
    libxl_xenolith_accel host;
    char *why = NULL;
    const char *xlconf = getenv("XL_CONF_FILE");

    if (!xlconf || !*xlconf)
        xlconf = "/etc/xen/xl.conf";
    if (libxl_xenolith_accel_host(ctx, &host, &why))
        return;
    if (xl_globals.accel == LIBXL_XENOLITH_ACCEL_AUTO)
        printf("xenolith_accel         : %s (%s%s)\n",
               libxl_xenolith_accel_to_string(host), why,
               host == LIBXL_XENOLITH_ACCEL_KVM ? "" :
               "; HVM and PVH guests run under qemu's emulator");
    else if (xl_globals.accel == LIBXL_XENOLITH_ACCEL_KVM &&
             host != LIBXL_XENOLITH_ACCEL_KVM)
        printf("xenolith_accel         : kvm (accel=\"kvm\" in %s, but "
               "%s: set accel = \"tcg\" there to run guests under qemu's "
               "emulator, or load kvm_intel or kvm_amd)\n", xlconf, why);
    else
        printf("xenolith_accel         : %s (accel=\"%s\" in %s; auto "
               "would be %s: %s)\n",
               libxl_xenolith_accel_to_string(xl_globals.accel),
               libxl_xenolith_accel_to_string(xl_globals.accel), xlconf,
               libxl_xenolith_accel_to_string(host), why);
    free(why);
}

static void print_host_info(void)
{
    const libxl_version_info *v = NULL;
    libxl_physinfo p;
    struct utsname u;
    int sched = -1;
    uint64_t per_mb;

    if (!uname(&u)) {
        printf("host                   : %s\n", u.nodename);
        printf("release                : %s\n", u.release);
        printf("version                : %s\n", u.version);
        printf("machine                : %s\n", u.machine);
    }
    libxl_physinfo_init(&p);
    if (libxl_get_physinfo(ctx, &p)) {
        fprintf(stderr, "libxl_physinfo failed.\n");
    } else {
        printf("nr_cpus                : %u\n", p.nr_cpus);
        printf("max_cpu_id             : %u\n", p.max_cpu_id);
        printf("nr_nodes               : %u\n", p.nr_nodes);
        printf("cores_per_socket       : %u\n", p.cores_per_socket);
        printf("threads_per_core       : %u\n", p.threads_per_core);
        printf("cpu_mhz                : %u.%03u\n", p.cpu_khz / 1000,
               p.cpu_khz % 1000);
        printf("hw_caps                : %08x:%08x:%08x:%08x:%08x:%08x:"
               "%08x:%08x\n", p.hw_cap[0], p.hw_cap[1], p.hw_cap[2],
               p.hw_cap[3], p.hw_cap[4], p.hw_cap[5], p.hw_cap[6],
               p.hw_cap[7]);
        printf("virt_caps              :%s%s%s%s%s\n",
               p.cap_pv ? " pv" : "", p.cap_hvm ? " hvm" : "",
               p.cap_hap ? " hap" : "", p.cap_shadow ? " shadow" : "",
               p.cap_vpmu ? " vpmu" : "");
        per_mb = 256;   /* 4 KiB pages */
        printf("total_memory           : %" PRIu64 "\n",
               p.total_pages / per_mb);
        printf("free_memory            : %" PRIu64 "\n",
               (p.free_pages - p.outstanding_pages) / per_mb);
        printf("sharing_freed_memory   : %" PRIu64 "\n",
               p.sharing_freed_pages / per_mb);
        printf("sharing_used_memory    : %" PRIu64 "\n",
               p.sharing_used_frames / per_mb);
        printf("outstanding_claims     : %" PRIu64 "\n",
               p.outstanding_pages / per_mb);
        printf("free_cpus              : %u\n", p.nr_cpus);
    }
    libxl_physinfo_dispose(&p);
    v = libxl_get_version_info(ctx);
    sched = libxl_get_scheduler(ctx);
    if (v) {
        printf("xen_major              : %d\n", v->xen_version_major);
        printf("xen_minor              : %d\n", v->xen_version_minor);
        printf("xen_extra              : %s\n",
               v->xen_version_extra ? v->xen_version_extra : "");
        printf("xen_version            : %d.%d%s\n", v->xen_version_major,
               v->xen_version_minor,
               v->xen_version_extra ? v->xen_version_extra : "");
        printf("xen_caps               : %s\n",
               v->capabilities ? v->capabilities : "");
        printf("xen_scheduler          : %s\n",
               sched >= 0 && libxl_scheduler_to_string(sched) ?
               libxl_scheduler_to_string(sched) : "(none)");
        printf("xen_pagesize           : %d\n", v->pagesize);
        printf("platform_params        : virt_start=0x%" PRIx64 "\n",
               v->virt_start);
        printf("xen_changeset          : %s\n",
               v->changeset ? v->changeset : "");
        printf("xen_commandline        : %s\n",
               v->commandline ? v->commandline : "");
        printf("cc_compiler            : %s\n",
               v->compiler ? v->compiler : "");
        printf("cc_compile_by          : %s\n",
               v->compile_by ? v->compile_by : "");
        printf("cc_compile_domain      : %s\n",
               v->compile_domain ? v->compile_domain : "");
        printf("cc_compile_date        : %s\n",
               v->compile_date ? v->compile_date : "");
        printf("build_id               : %s\n",
               v->build_id ? v->build_id : "");
    } else {
        fprintf(stderr, "libxl_get_version_info failed.\n");
    }
    printf("xend_config_format     : 4\n");
    print_accel();
}

int main_info(int argc, char **argv)
{
    static const struct option opts[] = {
        { "numa", 0, 0, 'n' },
        COMMON_LONG_OPTS
    };
    int opt;

    SWITCH_FOREACH_OPT(opt, "n", opts, "info", 0) {
    case 'n':
        break;
    }
    print_host_info();
    return 0;
}

/* ------------------------------------------------------------ dmesg */

int main_dmesg(int argc, char **argv)
{
    libxl_xen_console_reader *cr;
    char *line;
    int opt, clear = 0, rc;

    SWITCH_FOREACH_OPT(opt, "c", NULL, "dmesg", 0) {
    case 'c':
        clear = 1;
        break;
    }
    cr = libxl_xen_console_read_start(ctx, clear);
    if (!cr) {
        fprintf(stderr, "xl: cannot read the core's log\n");
        return 1;
    }
    while ((rc = libxl_xen_console_read_line(ctx, cr, &line)) > 0)
        printf("%s", line);
    libxl_xen_console_read_finish(ctx, cr);
    return rc < 0 ? 1 : 0;
}

/* ------------------------------------------------------------ uptime */

void print_uptime_secs(unsigned long secs, int short_mode)
{
    unsigned long days = secs / 86400, h, m, s;

    secs %= 86400;
    h = secs / 3600;
    m = (secs % 3600) / 60;
    s = secs % 60;
    if (short_mode) {
        printf("%lu day%s, %2lu:%02lu", days, days == 1 ? "" : "s", h, m);
        return;
    }
    if (days)
        printf("%lu day%s, %2lu:%02lu:%02lu", days, days == 1 ? "" : "s",
               h, m, s);
    else
        printf("%2lu:%02lu:%02lu", h, m, s);
}

static void print_uptime(const libxl_dominfo *d, int short_mode, time_t now)
{
    unsigned long up = 0;
    uint32_t start;
    char *name;

    if (d->domid == 0) {
        FILE *f = fopen("/proc/uptime", "r");
        double u = 0;

        if (f) {
            if (fscanf(f, "%lf", &u) != 1)
                u = 0;
            fclose(f);
        }
        up = (unsigned long)u;
    } else {
        start = libxl_vm_get_start_time(ctx, d->domid);
        if (start != (uint32_t)-1 && (time_t)start <= now)
            up = (unsigned long)(now - (time_t)start);
    }
    name = libxl_domid_to_name(ctx, d->domid);
    if (short_mode) {
        print_uptime_secs(up, 1);
        printf(" %s\n", name ? name : "-");
    } else {
        printf("%-33s %5u ", name ? name : "-", d->domid);
        print_uptime_secs(up, 0);
        printf("\n");
    }
    free(name);
}

int main_uptime(int argc, char **argv)
{
    libxl_dominfo *info, one;
    time_t now = time(NULL);
    int opt, nb, i, short_mode = 0, rc;

    SWITCH_FOREACH_OPT(opt, "s", NULL, "uptime", 0) {
    case 's':
        short_mode = 1;
        break;
    }
    if (!short_mode)
        printf("%-33s %5s %s\n", "Name", "ID", "Uptime");
    if (optind < argc) {
        for (; optind < argc; optind++) {
            libxl_dominfo_init(&one);
            rc = libxl_domain_info(ctx, &one, find_domain(argv[optind]));
            if (rc) {
                fprintf(stderr, "Error: Domain '%s' does not exist.\n",
                        argv[optind]);
                libxl_dominfo_dispose(&one);
                return 1;
            }
            print_uptime(&one, short_mode, now);
            libxl_dominfo_dispose(&one);
        }
        return 0;
    }
    info = libxl_list_domain(ctx, &nb);
    if (!info) {
        fprintf(stderr, "libxl_list_domain failed.\n");
        return 1;
    }
    for (i = 0; i < nb; i++)
        print_uptime(&info[i], short_mode, now);
    libxl_dominfo_list_free(info, nb);
    return 0;
}

/* ------------------------------------------------------------ top */

/*
 * A batch xentop: every delay seconds, one table of the domains with the
 * CPU share each used since the previous table.
 */
int main_top(int argc, char **argv)
{
    libxl_dominfo *info;
    uint64_t *prev = NULL;
    uint32_t *prev_id = NULL;
    int prev_nb = 0, opt, nb, i, j, iter = 0, iterations = -1;
    double delay = 3, pct;
    struct timespec t0, t1;
    char *end, *name;

    SWITCH_FOREACH_OPT(opt, "bd:i:", NULL, "top", 0) {
    case 'b':
        break;
    case 'd':
        delay = strtod(optarg, &end);
        if (*end || delay <= 0) {
            fprintf(stderr, "xl: bad delay \"%s\"\n", optarg);
            return 1;
        }
        break;
    case 'i':
        iterations = (int)strtol(optarg, &end, 10);
        if (*end || iterations <= 0) {
            fprintf(stderr, "xl: bad iteration count \"%s\"\n", optarg);
            return 1;
        }
        break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        info = libxl_list_domain(ctx, &nb);
        if (!info) {
            fprintf(stderr, "libxl_list_domain failed.\n");
            free(prev);
            free(prev_id);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%10s %5s %10s %6s %10s %6s %5s\n", "NAME", "STATE",
               "CPU(sec)", "CPU(%)", "MEM(k)", "VCPUS", "ID");
        for (i = 0; i < nb; i++) {
            double dt = (double)(t1.tv_sec - t0.tv_sec) +
                        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

            pct = 0;
            for (j = 0; j < prev_nb; j++)
                if (prev_id[j] == info[i].domid && dt > 0 &&
                    info[i].cpu_time >= prev[j])
                    pct = (double)(info[i].cpu_time - prev[j]) / 1e9 /
                          dt * 100;
            name = libxl_domid_to_name(ctx, info[i].domid);
            printf("%10.10s %c%c%c%c%c %10.0f %6.1f %10lu %6u %5u\n",
                   name ? name : "-",
                   info[i].dying ? 'd' : '-',
                   info[i].shutdown ? 's' : '-',
                   info[i].blocked ? 'b' : '-',
                   info[i].paused ? 'p' : '-',
                   info[i].running ? 'r' : '-',
                   (double)info[i].cpu_time / 1e9, pct,
                   (unsigned long)info[i].current_memkb,
                   info[i].vcpu_online, info[i].domid);
            free(name);
        }
        fflush(stdout);
        prev = xrealloc(prev, sizeof(*prev) * (nb ? nb : 1));
        prev_id = xrealloc(prev_id, sizeof(*prev_id) * (nb ? nb : 1));
        for (i = 0; i < nb; i++) {
            prev[i] = info[i].cpu_time;
            prev_id[i] = info[i].domid;
        }
        prev_nb = nb;
        libxl_dominfo_list_free(info, nb);
        if (iterations > 0 && ++iter >= iterations)
            break;
        t0 = t1;
        usleep((useconds_t)(delay * 1e6));
        printf("\n");
    }
    free(prev);
    free(prev_id);
    return 0;
}
