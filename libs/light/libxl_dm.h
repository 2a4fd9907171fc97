/*
 * libxl_dm.h - inside libxl only: the parts of a device-model domain
 * (qemu as the machine) that its files share.
 *
 *   libxl_dm_config.c  the domain's config -> qemu-dm's struct xendm_config
 *   libxl_dm_kernel.c  a PVH kernel -> the ELF qemu boots (cached)
 *   libxl_disk.c       disks: Xen's vdev names, drives, cd-insert/eject
 *   libxl_nic.c        NICs: model, MAC, tap, the vif hotplug script
 *   libxl_blkback.c    disks served by the domain's block backend
 *   libxl_dm.c         build, hand-over to the core, vCPUs, teardown
 *
 * Every QMP command goes through the core (xc_dm_qmp): libxl holds no
 * monitor of its own.
 */
#ifndef LIBXL_DM_H
#define LIBXL_DM_H

#include "libxl_internal.h"
#include "xendm.h"

/* What one device-model domain is made of; owns its strings. */
struct libxl__dm_build {
    struct xendm_config cfg;
    struct xendm_hvm hvm;
    struct xendm_disk *disks;
    struct xendm_nic *nics;
    char **strs;            /* everything malloc'd for cfg */
    int nstrs;
    const char **extra;
    char *run_dir;
    char *vmlinux;          /* the extracted PVH kernel, if any */
};

/* libxl_dm_config.c */
/* Fills d (zeroed first) from d_config for domain domid, accelerator
 * accel (enum xendm_accel); d owns what it allocates, even on failure:
 * release it with libxl__dm_build_free.  0 or ERROR_* (logged). */
_hidden int libxl__dm_config(libxl_ctx *ctx, uint32_t domid,
                             libxl_domain_config *d_config, int accel,
                             struct libxl__dm_build *d);
_hidden void libxl__dm_build_free(struct libxl__dm_build *d);
/* s (malloc'd) is d's from now on; returns s. */
_hidden char *libxl__dm_own(struct libxl__dm_build *d, char *s);

/* libxl_dm_kernel.c: the file qemu boots for PVH kernel `kernel`
 * (*elf_r, malloc'd), the builder's checks passed. */
_hidden int libxl__dm_kernel_elf(libxl_ctx *ctx, uint32_t domid,
                                 const char *kernel, const char *run_dir,
                                 char **elf_r);

/* libxl_disk.c */
/* Xen's device number of a disk name (hdX, sdX, xvdX; no partitions),
 * or -1; *kind_r its letter ('h', 's', 'x'), *index_r the disk's index. */
_hidden int libxl__disk_vdev_number(const char *vdev, char *kind_r,
                                    int *index_r);
_hidden int libxl__dm_map_disks(libxl_ctx *ctx,
                                libxl_domain_config *d_config,
                                struct libxl__dm_build *d, bool pvh);
/* /libxl/<domid>/device/vbd/<n>/..., as xl lists the disks */
_hidden int libxl__dm_disks_xs(libxl_ctx *ctx, xs_transaction_t t,
                               uint32_t domid,
                               const libxl_domain_config *d_config,
                               const struct libxl__dm_build *d);

/* libxl_netback.c */
/* Whether the domain's network backend serves nic (model: its resolved
 * qemu model): a virtio-net NIC not of type=ioemu. */
_hidden bool libxl__netback_wanted(const libxl_device_nic *nic,
                                   const char *model);
/* Writes the vif nodes of every backend-served NIC of d, starts the
 * domain's xenolith-netback and waits until it serves them all (their
 * taps made).  0, or ERROR_* (logged; the backend stopped). */
_hidden int libxl__netback_start(libxl_ctx *ctx, uint32_t domid,
                                 const libxl_domain_config *d_config,
                                 const struct libxl__dm_build *d);

/* libxl_nic.c */
/* One NIC of domain domid: its model, MAC (Xen's random one when none),
 * tap, and the backend's socket when its network backend serves it;
 * nic->devid must be set.  0 or ERROR_INVAL (logged). */
_hidden int libxl__dm_map_nic(libxl_ctx *ctx, uint32_t domid,
                              libxl_device_nic *nic, bool pvh,
                              struct libxl__dm_build *d,
                              struct xendm_nic *x);
_hidden int libxl__dm_map_nics(libxl_ctx *ctx, uint32_t domid,
                               libxl_domain_config *d_config,
                               struct libxl__dm_build *d, bool pvh);
/* /libxl/<domid>/device/vif/<devid>/...: what teardown finds taps by */
_hidden int libxl__dm_nics_xs(libxl_ctx *ctx, xs_transaction_t t,
                              uint32_t domid,
                              const libxl_domain_config *d_config,
                              const struct libxl__dm_build *d);
/* The vif's ip= and gatewaydev= under path (its /libxl record), which
 * libxl__vif_hotplug hands the script as $ip and $netdev. */
_hidden int libxl__vif_script_keys(libxl_ctx *ctx, xs_transaction_t t,
                                   const char *path,
                                   const libxl_device_nic *nic);
/* Runs "<script> online|offline" for a tap; 0 or ERROR_FAIL (logged
 * with the script's exit and the last line it wrote). */
_hidden int libxl__vif_hotplug(libxl_ctx *ctx, uint32_t domid, int devid,
                               const char *script, const char *bridge,
                               const char *tap, const char *action);

/* libxl_hotplug.c */
/* Where script is: as given when absolute, else in the scripts dir
 * ($XENOLITH_SCRIPTS_DIR, or $(sysconfdir)/xen/scripts).  malloc'd. */
_hidden char *libxl__hotplug_path(const char *script);
/*
 * Runs "<script> <action> [arg]" with env: name, value pairs ending in
 * NULL, a NULL value unsetting the name.  0, or ERROR_FAIL logged with
 * what (the device, for messages), the exit status and the last line
 * the script wrote to stderr.
 */
_hidden int libxl__hotplug_run(libxl_ctx *ctx, const char *what,
                               const char *script, const char *action,
                               const char *arg, char *const *env);

/* libxl_backend.c: a class of backend processes (backends/) */
struct libxl__backend_class {
    const char *kind;       /* xenstore's device type: "vbd" */
    const char *device;     /* for messages: "disk" */
    const char *what;       /* for messages: "block backend" */
    const char *binary;     /* its name: "xenolith-blkback" */
    const char *env;        /* what overrides path: "XENOLITH_BLKBACK" */
    const char *path;       /* installed as */
    const char *pid_name;   /* /libxl/<domid>/<pid_name>-pid */
    /* removes what a backend killed at teardown left behind, or NULL */
    void (*leftovers)(libxl_ctx *ctx, uint32_t domid);
};
_hidden extern const struct libxl__backend_class libxl__blkback_class;
_hidden extern const struct libxl__backend_class libxl__netback_class;
/* <rundir>/backends/<kind>-<domid>/<devid>.sock (malloc'd) */
_hidden char *libxl__backend_socket(const struct libxl__backend_class *cls,
                                    uint32_t domid, int devid);
/* dir/key = val, and a directory owned by owner that reader may read */
_hidden int libxl__backend_write(libxl_ctx *ctx, xs_transaction_t t,
                                 const char *dir, const char *key,
                                 const char *val);
_hidden int libxl__backend_mkdir(libxl_ctx *ctx, xs_transaction_t t,
                                 const char *path, unsigned int owner,
                                 unsigned int reader);
/* Starts domain domid's backend of class cls detached (its own session,
 * not our child; output to its log), records its pid; *pid_r. */
_hidden int libxl__backend_spawn(libxl_ctx *ctx,
                                 const struct libxl__backend_class *cls,
                                 uint32_t domid, pid_t *pid_r);
/* The last line of the domain's backend log (malloc'd), for an error
 * message; NULL when there is none. */
_hidden char *libxl__backend_log_tail(const struct libxl__backend_class *cls,
                                      uint32_t domid);
/* Waits until the backend pid says devices devids[0..n-1] (names[] for
 * messages) are connected: 0, or ERROR_FAIL logged with the reason (the
 * device's hotplug-error, the backend's death and its log's last line,
 * the time it took). */
_hidden int libxl__backend_wait(libxl_ctx *ctx,
                                const struct libxl__backend_class *cls,
                                uint32_t domid, const int *devids,
                                char *const *names, int n, pid_t pid);
_hidden void libxl__nap_ms(long ms);

/* libxl_disk.c: a disk with script= is refused (ERROR_INVAL, logged):
 * block hotplug scripts are not run. */
_hidden int libxl__disk_check_script(libxl_ctx *ctx,
                                     const libxl_device_disk *disk);

/* libxl_blkback.c */
/* Whether the domain's block backend serves disk (not qemu itself): a
 * PVH domain's disks, an HVM domain's xvd disks past the IDE four;
 * never a cdrom or backendtype=qdisk. */
_hidden bool libxl__blkback_wanted(const libxl_device_disk *disk, bool pvh,
                                   bool beyond_ide);
/* The vhost-user socket the backend serves device devid on (malloc'd). */
_hidden char *libxl__blkback_socket(uint32_t domid, int devid);
/* Writes the vbd nodes of every backend-served disk of d, starts the
 * domain's xenolith-blkback and waits until it serves them all.  0, or
 * ERROR_* (logged, naming the disk and why; the backend stopped). */
_hidden int libxl__blkback_start(libxl_ctx *ctx, uint32_t domid,
                                 const libxl_domain_config *d_config,
                                 const struct libxl__dm_build *d);
/* libxl__backend_pid and libxl__backend_stop: libxl_internal.h */

#endif /* LIBXL_DM_H */
