/*
 * libxl_host.c - what libxl knows about the host.
 *
 * libxl_get_physinfo asks the core.  The CPU and node counts (and an
 * offline context's physinfo) come from the running Linux: its CPU
 * count, and one NUMA node.  The environment variables LIBXL_HOST_CPUS
 * and LIBXL_HOST_NODES override them, so tests can reproduce a given
 * machine.
 */
#include "libxl.h"

#include <unistd.h>

#include "libxl_internal.h"

static int env_count(const char *name, int dflt)
{
    const char *s = getenv(name);
    char *end;
    long v;

    if (!s || !*s)
        return dflt;
    v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 4096)
        return dflt;
    return (int)v;
}

int libxl__host_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);

    return env_count("LIBXL_HOST_CPUS", n > 0 ? (int)n : 1);
}

int libxl__host_nodes(void)
{
    return env_count("LIBXL_HOST_NODES", 1);
}

int libxl_get_max_cpus(libxl_ctx *ctx)
{
    (void)ctx;
    return libxl__host_cpus();
}

int libxl_get_online_cpus(libxl_ctx *ctx)
{
    (void)ctx;
    return libxl__host_cpus();
}

int libxl_get_max_nodes(libxl_ctx *ctx)
{
    (void)ctx;
    return libxl__host_nodes();
}

int libxl_get_physinfo(libxl_ctx *ctx, libxl_physinfo *physinfo)
{
    xc_physinfo_t pi;
    int r;

    if (ctx && ctx->xch) {
        r = xc_physinfo(ctx->xch, &pi);
        if (r < 0) {
            LOGEV(ctx, ERROR, -r, "asking the core for the host's "
                  "physinfo");
            return ERROR_FAIL;
        }
        physinfo->threads_per_core = pi.threads_per_core;
        physinfo->cores_per_socket = pi.cores_per_socket;
        physinfo->max_cpu_id = pi.max_cpu_id;
        physinfo->nr_cpus = pi.nr_cpus;
        physinfo->cpu_khz = pi.cpu_khz;
        physinfo->total_pages = pi.total_pages;
        physinfo->free_pages = pi.free_pages;
        physinfo->scrub_pages = pi.scrub_pages;
        physinfo->outstanding_pages = 0;
        physinfo->max_possible_mfn = pi.total_pages;
        physinfo->nr_nodes = pi.nr_nodes;
        physinfo->cap_hvm = !!(pi.capabilities & XC_PHYSCAP_hvm);
        physinfo->cap_pv = !!(pi.capabilities & XC_PHYSCAP_pv);
        physinfo->cap_hap = !!(pi.capabilities & XC_PHYSCAP_hap);
        physinfo->cap_shadow = false;
        physinfo->cap_hvm_directio = false;
        physinfo->cap_gnttab_v1 = false;
        physinfo->cap_gnttab_v2 = false;
        return 0;
    }
    physinfo->nr_cpus = libxl__host_cpus();
    physinfo->max_cpu_id = physinfo->nr_cpus - 1;
    physinfo->nr_nodes = libxl__host_nodes();
    physinfo->threads_per_core = 1;
    physinfo->cores_per_socket = physinfo->nr_cpus;
    return 0;
}

int libxl_node_to_cpumap(libxl_ctx *ctx, int node, libxl_bitmap *cpumap)
{
    int cpus = libxl__host_cpus(), nodes = libxl__host_nodes();
    int per = (cpus + nodes - 1) / nodes;
    int i;

    (void)ctx;
    if (node < 0 || node >= nodes)
        return ERROR_INVAL;
    libxl_bitmap_set_none(cpumap);
    for (i = node * per; i < (node + 1) * per && i < cpus; i++)
        libxl_bitmap_set(cpumap, i);
    return 0;
}
