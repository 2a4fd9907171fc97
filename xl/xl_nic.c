/*
 * xl_nic.c - xl network-list, network-attach and network-detach: a
 * domain's NICs as their backends see them (Xen's columns), and NICs
 * plugged into and out of a running domain.
 */
#include "xl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl_parse.h"

int main_networklist(int argc, char **argv)
{
    libxl_device_nic *nics;
    libxl_nicinfo info;
    uint32_t domid;
    int opt, i, n, rc = 0;

    SWITCH_FOREACH_OPT(opt, "", NULL, "network-list", 1) {
    }
    printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx", "BE",
           "Mac Addr.", "handle", "state", "evt-ch", "tx-", "rx-ring-ref",
           "BE-path");
    for (argv += optind, argc -= optind; argc > 0; --argc, ++argv) {
        domid = find_domain(*argv);
        nics = libxl_device_nic_list(ctx, domid, &n);
        for (i = 0; i < n; i++) {
            if (libxl_device_nic_getinfo(ctx, domid, &nics[i], &info)) {
                rc = 1;
                continue;
            }
            /* Xen's columns; the event channel and rings are -1: virtio
             * has neither */
            printf("%-3d %-2d %02x:%02x:%02x:%02x:%02x:%02x "
                   "%6d %5d %6d %5d/%-11d %-30s\n", info.devid,
                   info.backend_id, nics[i].mac[0], nics[i].mac[1],
                   nics[i].mac[2], nics[i].mac[3], nics[i].mac[4],
                   nics[i].mac[5], info.devid, info.state, info.evtch,
                   info.rref_tx, info.rref_rx,
                   info.backend && *info.backend ? info.backend : "-");
            libxl_nicinfo_dispose(&info);
        }
        libxl_device_nic_list_free(nics, n);
    }
    return rc;
}

int main_networkattach(int argc, char **argv)
{
    XLU_Config *config;
    libxl_device_nic nic;
    uint32_t domid;
    int opt, i, rc = 1;

    SWITCH_FOREACH_OPT(opt, "", NULL, "network-attach", 1) {
    }
    domid = find_domain(argv[optind]);
    libxl_device_nic_init(&nic);
    config = xlu_cfg_init(stderr, "command line");
    if (!config) {
        fprintf(stderr, "Failed to allocate for configuration\n");
        goto out;
    }
    nic_defaults(&nic);
    /* the rest of the line: the keys of a vif spec, as in vif= */
    for (i = optind + 1; i < argc; i++) {
        if (parse_nic_spec(&nic, config, argv[i])) {
            fprintf(stderr, "network-attach: \"%s\" is not a vif "
                    "setting (xl-network-configuration(5))\n", argv[i]);
            goto out;
        }
    }
    if (libxl_device_nic_add(ctx, domid, &nic, NULL)) {
        fprintf(stderr, "libxl_device_nic_add failed.\n");
        goto out;
    }
    rc = 0;
out:
    libxl_device_nic_dispose(&nic);
    if (config)
        xlu_cfg_destroy(config);
    return rc;
}

int main_networkdetach(int argc, char **argv)
{
    libxl_device_nic nic;
    const char *which;
    uint32_t domid;
    char *end;
    long devid;
    int opt, rc = 1;

    SWITCH_FOREACH_OPT(opt, "", NULL, "network-detach", 2) {
    }
    domid = find_domain(argv[optind]);
    which = argv[optind + 1];
    libxl_device_nic_init(&nic);
    /* a devid, or a MAC */
    devid = strtol(which, &end, 10);
    if (strchr(which, ':') ? libxl_mac_to_device_nic(ctx, domid, which,
                                                     &nic)
                           : (*end || devid < 0 ||
                              libxl_devid_to_device_nic(ctx, domid,
                                                        (int)devid,
                                                        &nic))) {
        fprintf(stderr, "Unknown device %s.\n", which);
        goto out;
    }
    if (libxl_device_nic_remove(ctx, domid, &nic, NULL)) {
        fprintf(stderr, "libxl_device_nic_del failed.\n");
        goto out;
    }
    rc = 0;
out:
    libxl_device_nic_dispose(&nic);
    return rc;
}
