/*
 * list-domains.c - list the domains of a Xenolith (or Xen) host with
 * libxenlight, like "xl list".
 *
 * Build:  cc list-domains.c $(pkg-config --cflags --libs xenlight)
 * Run:    ./a.out    (as root, with xenstored and xenolithd running)
 */
#include <stdio.h>
#include <stdlib.h>

#include <libxl.h>

/* Messages from libxl go to stderr, warnings and worse only. */
static void vmessage(xentoollog_logger *lg, xentoollog_level level,
                     int errnoval, const char *context, const char *fmt,
                     va_list al)
{
    (void)lg;
    (void)errnoval;
    if (level < XTL_WARN)
        return;
    fprintf(stderr, "%s: ", context ? context : "libxl");
    vfprintf(stderr, fmt, al);
    fputc('\n', stderr);
}

static void progress(xentoollog_logger *lg, const char *context,
                     const char *doing_what, int percent, unsigned long done,
                     unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done;
    (void)total;
}

static void destroy(xentoollog_logger *lg)
{
    (void)lg;
}

int main(void)
{
    xentoollog_logger logger = { vmessage, progress, destroy };
    libxl_ctx *ctx = NULL;
    libxl_dominfo *doms;
    int i, n, rc;

    rc = libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger);
    if (rc) {
        fprintf(stderr, "cannot connect to the host: %s\n",
                libxl_error_to_string(rc));
        return 1;
    }
    doms = libxl_list_domain(ctx, &n);
    if (!doms) {
        fprintf(stderr, "cannot list the domains\n");
        libxl_ctx_free(ctx);
        return 1;
    }
    printf("%-32s %5s %8s %5s %s\n", "Name", "ID", "Mem(MiB)", "VCPUs",
           "State");
    for (i = 0; i < n; i++) {
        char *name = libxl_domid_to_name(ctx, doms[i].domid);

        printf("%-32s %5u %8lu %5u %c%c%c%c\n",
               name ? name : (doms[i].domid ? "(unnamed)" : "Domain-0"),
               doms[i].domid,
               (unsigned long)(doms[i].current_memkb / 1024),
               doms[i].vcpu_online,
               doms[i].running ? 'r' : '-', doms[i].paused ? 'p' : '-',
               doms[i].shutdown ? 's' : '-', doms[i].dying ? 'd' : '-');
        free(name);
    }
    libxl_dominfo_list_free(doms, n);
    libxl_ctx_free(ctx);
    return 0;
}
