/*
 * xl_cdrom.c - xl cd-insert and cd-eject: the medium in an HVM domain's
 * cdrom drive.
 */
#include "xl.h"

#include <stdlib.h>
#include <string.h>

/* "vdev=V,access=r,devtype=cdrom,target=T" through the disk parser, so
 * that "raw:/path" and "qcow2:/path" (format:target) work as in Xen. */
static int cd_insert(uint32_t domid, const char *vdev, const char *target)
{
    XLU_Config *config;
    libxl_device_disk disk;
    char *spec;
    const char *specs[1];
    int rc;

    libxl_device_disk_init(&disk);
    config = xlu_cfg_init(stderr, "command line");
    if (!config) {
        fprintf(stderr, "Failed to allocate for configuration\n");
        return 1;
    }
    spec = xasprintf_("vdev=%s,access=r,devtype=cdrom,target=%s", vdev,
                      target ? target : "");
    specs[0] = spec;
    if (xlu_disk_parse(config, 1, specs, &disk)) {
        fprintf(stderr, "format error\n");
        rc = 1;
        goto out;
    }
    if (!target || !*target)
        disk.format = LIBXL_DISK_FORMAT_EMPTY;
    rc = libxl_cdrom_insert(ctx, domid, &disk, NULL) ? 1 : 0;
out:
    free(spec);
    libxl_device_disk_dispose(&disk);
    xlu_cfg_destroy(config);
    return rc;
}

int main_cd_eject(int argc, char **argv)
{
    int opt;

    SWITCH_FOREACH_OPT(opt, "", NULL, "cd-eject", 2) {
    }
    return cd_insert(find_domain(argv[optind]), argv[optind + 1], NULL);
}

int main_cd_insert(int argc, char **argv)
{
    int opt;

    SWITCH_FOREACH_OPT(opt, "", NULL, "cd-insert", 3) {
    }
    return cd_insert(find_domain(argv[optind]), argv[optind + 1],
                     argv[optind + 2]);
}
