/*
 * xl_block.c - xl block-list, block-attach and block-detach: a domain's
 * disks as their backends see them (Xen's columns), and disks plugged
 * into and out of a running domain.
 */
#include "xl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "xl_parse.h"

int main_blocklist(int argc, char **argv)
{
    libxl_device_disk *disks;
    libxl_diskinfo info;
    uint32_t domid;
    int opt, i, n, rc = 0;

    SWITCH_FOREACH_OPT(opt, "", NULL, "block-list", 1) {
    }
    printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle",
           "state", "evt-ch", "ring-ref", "BE-path");
    for (argv += optind, argc -= optind; argc > 0; --argc, ++argv) {
        domid = find_domain(*argv);
        disks = libxl_device_disk_list(ctx, domid, &n);
        for (i = 0; i < n; i++) {
            if (libxl_device_disk_getinfo(ctx, domid, &disks[i], &info)) {
                rc = 1;
                continue;
            }
            /* Xen's columns; evt-ch and ring-ref are -1: virtio has
             * neither */
            printf("%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n", info.devid,
                   info.backend_id, info.frontend_id, info.state,
                   info.evtch, info.rref,
                   info.backend && *info.backend ? info.backend : "-");
            libxl_diskinfo_dispose(&info);
        }
        libxl_device_disk_list_free(disks, n);
    }
    return rc;
}

int main_blockattach(int argc, char **argv)
{
    XLU_Config *config;
    libxl_device_disk disk;
    uint32_t domid;
    int opt, rc = 1;

    SWITCH_FOREACH_OPT(opt, "", NULL, "block-attach", 2) {
    }
    domid = find_domain(argv[optind]);
    libxl_device_disk_init(&disk);
    config = xlu_cfg_init(stderr, "command line");
    if (!config) {
        fprintf(stderr, "Failed to allocate for configuration\n");
        goto out;
    }
    /* the rest of the line is one disk spec, as in a config's disk= */
    if (xlu_disk_parse(config, argc - optind - 1,
                       (const char *const *)&argv[optind + 1], &disk)) {
        fprintf(stderr, "format error\n");
        goto out;
    }
    if (libxl_device_disk_add(ctx, domid, &disk, NULL)) {
        fprintf(stderr, "libxl_device_disk_add failed.\n");
        goto out;
    }
    rc = 0;
out:
    libxl_device_disk_dispose(&disk);
    if (config)
        xlu_cfg_destroy(config);
    return rc;
}

int main_blockdetach(int argc, char **argv)
{
    static const struct option opts[] = {
        { "force", 0, 0, 'f' },
        COMMON_LONG_OPTS
    };
    libxl_device_disk disk;
    uint32_t domid;
    int opt, rc = 0, force = 0;

    SWITCH_FOREACH_OPT(opt, "f", opts, "block-detach", 2) {
    case 'f':
        force = 1;
        break;
    }
    domid = find_domain(argv[optind]);
    libxl_device_disk_init(&disk);
    if (libxl_vdev_to_device_disk(ctx, domid, argv[optind + 1], &disk)) {
        fprintf(stderr, "Error: Device %s not connected.\n",
                argv[optind + 1]);
        rc = 1;
        goto out;
    }
    if (force ? libxl_device_disk_destroy(ctx, domid, &disk, NULL)
              : libxl_device_disk_safe_remove(ctx, domid, &disk, NULL)) {
        fprintf(stderr, "libxl_device_disk_%s failed.\n",
                force ? "destroy" : "safe_remove");
        rc = 1;
    }
out:
    libxl_device_disk_dispose(&disk);
    return rc;
}
