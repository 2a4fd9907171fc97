/*
 * libxl_host.c - what libxl knows about the host.
 *
 * Until the hypervisor core answers physinfo (issue 4), the host shape
 * comes from the running Linux: its CPU count, and one NUMA node.  The
 * environment variables LIBXL_HOST_CPUS and LIBXL_HOST_NODES override
 * it, so tests can reproduce a given machine.
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
    (void)ctx;
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
