/*
 * libxl_internal.h - what the libxenlight source files share; never
 * installed.  Everything here is hidden (not exported).
 */
#ifndef LIBXL_INTERNAL_H
#define LIBXL_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "libxl.h"
#include "libxl_json.h"

#include <xenctrl.h>
#include <xenstore.h>

#define _hidden __attribute__((visibility("hidden")))

/* A queued event (libxl_event itself has room for a link). */
struct libxl__event_entry {
    libxl_event *ev;
    struct libxl__event_entry *next;
};

/*
 * The context.  xsh and xch are opened by libxl_ctx_alloc (NULL only in
 * an offline context).  lock (recursive) guards everything below it;
 * it is held across callbacks into the application only where libxl.h
 * says so (never across event_occurs or ao callbacks).
 */
struct libxl__ctx {
    xentoollog_logger *lg;
    struct xs_handle *xsh;
    xc_interface *xch;
    pthread_mutex_t lock;

    /* events */
    xc_evwatch *evw;                      /* domain state changes */
    libxl_evgen_domain_death *deaths;     /* enabled death reporters */
    struct libxl__event_entry *occurred;  /* waiting for event_check */
    struct libxl__event_entry **occurred_tail;
    const libxl_event_hooks *event_hooks;
    void *event_hooks_user;
    const libxl_osevent_hooks *osevent_hooks;
    void *osevent_user;
    void *evw_reg;                        /* the app's fd registration */
    bool evw_registered;
    char evw_for_libxl;                   /* address given as for_libxl */
    /* the stream was lost and the core did not answer (restarting):
     * subscribe again at evw_retry_at (CLOCK_MONOTONIC ms) */
    uint64_t evw_retry_at;
    int evw_retry_ms;
    uint64_t evw_lost_at;                 /* ... since then; given up
                                           * after XENOLITH_CORE_RECONNECT_MS */

    /* guest acknowledgements awaited by asynchronous shutdown/reboot */
    struct libxl__pvwait *pvwaits;
    void *xs_reg;                         /* the app's xs fd registration */
    bool xs_registered;
    char xs_for_libxl;

    libxl_version_info version_info;
    bool version_info_valid;
};

/*
 * An asynchronous libxl_domain_shutdown/_reboot: waits (watching path)
 * for the guest to clear control/shutdown, until deadline.  Once done it
 * stays listed only while the application still holds its timeout
 * registration (which libxl then makes fire at once: Xen's rule that
 * libxl never deregisters a timeout).
 */
struct libxl__pvwait {
    uint32_t domid;
    char *path;
    char *cmd;
    char token[64];
    struct timespec deadline;             /* CLOCK_MONOTONIC */
    libxl_asyncop_how how;
    bool done;
    bool timeout_registered;
    void *timeout_reg;
    struct libxl__pvwait *next;
};

struct libxl__evgen_domain_death {
    uint32_t domid;
    libxl_ev_user user;
    bool shutdown_reported;
    bool death_reported;
    libxl_evgen_domain_death *next;
};

/*
 * Logging: every message goes to the ctx's logger with context "libxl";
 * LOG adds file:line: function:.  errnoval -1 means "no errno".
 */
_hidden void libxl__log(libxl_ctx *ctx, xentoollog_level level, int errnoval,
                        const char *file, int line, const char *func,
                        const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
#define LOG(ctx, lvl, ...) \
    libxl__log((ctx), XTL_##lvl, -1, __FILE__, __LINE__, __func__, \
               __VA_ARGS__)
#define LOGE(ctx, lvl, ...) \
    libxl__log((ctx), XTL_##lvl, errno, __FILE__, __LINE__, __func__, \
               __VA_ARGS__)
/* The same with an explicit errno value (e.g. -rc of a xc_* call). */
#define LOGEV(ctx, lvl, errnoval, ...) \
    libxl__log((ctx), XTL_##lvl, (errnoval), __FILE__, __LINE__, __func__, \
               __VA_ARGS__)

/* Allocation that cannot fail: on exhaustion the process aborts (the one
 * place libxl stops the process, as Xen's libxl does). */
_hidden void *libxl__calloc_or_die(size_t nmemb, size_t size);
_hidden void *libxl__realloc_or_die(void *ptr, size_t size);
_hidden char *libxl__strdup_or_die(const char *s);

/* Builtin type helpers used by the generated code. */
_hidden int libxl__mac_is_default(const libxl_mac *mac);
_hidden int libxl__string_list_is_empty(const libxl_string_list *sl);
_hidden int libxl__key_value_list_is_empty(const libxl_key_value_list *kvl);
_hidden int libxl__cpuid_policy_is_empty(const libxl_cpuid_policy_list *pl);
_hidden int libxl__hwcap_is_default(const libxl_hwcap *hwcap);
_hidden int libxl__enum_from_string(const libxl_enum_string_table *t,
                                    const char *s, int *e);
_hidden void libxl_string_copy(libxl_ctx *ctx, char **dst,
                               char *const *src);

/* JSON generation. */
typedef yajl_gen_status (*libxl__gen_json_callback)(yajl_gen hand, void *);
_hidden char *libxl__object_to_json(libxl_ctx *ctx, const char *type,
                                    libxl__gen_json_callback gen, void *p);
_hidden yajl_gen_status libxl__yajl_gen_asciiz(yajl_gen hand,
                                               const char *str);
_hidden yajl_gen_status libxl__yajl_gen_enum(yajl_gen hand, const char *str);
_hidden yajl_gen_status libxl__string_gen_json(yajl_gen hand, const char *p);
_hidden yajl_gen_status libxl__uint64_gen_json(yajl_gen hand, uint64_t val);

/* JSON parsing (yajl trees).  Each returns 0 or ERROR_INVAL. */
typedef int (*libxl__parse_json_callback)(yajl_val v, void *p);
_hidden int libxl__object_from_json(libxl_ctx *ctx, const char *type,
                                    libxl__parse_json_callback parse,
                                    void *p, const char *s);
_hidden yajl_val libxl__json_map_get(yajl_val map, const char *key);
/* s as a JSON string literal, quotes and escapes included (malloc'd). */
_hidden char *libxl__json_quote(const char *s);
_hidden int libxl__enum_parse_json(yajl_val v, int *e,
                                   int (*from_string)(const char *, void *));
_hidden int libxl__int_parse_json(yajl_val v, int *p);
_hidden int libxl__uint8_parse_json(yajl_val v, uint8_t *p);
_hidden int libxl__uint16_parse_json(yajl_val v, uint16_t *p);
_hidden int libxl__uint32_parse_json(yajl_val v, uint32_t *p);
_hidden int libxl__uint64_parse_json(yajl_val v, uint64_t *p);
_hidden int libxl__memkb_parse_json(yajl_val v, uint64_t *p);
_hidden int libxl__bool_parse_json(yajl_val v, bool *p);
_hidden int libxl__string_parse_json(yajl_val v, char **p);
_hidden int libxl__defbool_parse_json(yajl_val v, libxl_defbool *p);
_hidden int libxl__domid_parse_json(yajl_val v, libxl_domid *p);
_hidden int libxl__devid_parse_json(yajl_val v, libxl_devid *p);
_hidden int libxl__uuid_parse_json(yajl_val v, libxl_uuid *p);
_hidden int libxl__mac_parse_json(yajl_val v, libxl_mac *p);
_hidden int libxl__bitmap_parse_json(yajl_val v, libxl_bitmap *p);
_hidden int libxl__string_list_parse_json(yajl_val v, libxl_string_list *p);
_hidden int libxl__key_value_list_parse_json(yajl_val v,
                                             libxl_key_value_list *p);
_hidden int libxl__cpuid_policy_list_parse_json(yajl_val v,
                                                libxl_cpuid_policy_list *p);
_hidden int libxl__hwcap_parse_json(yajl_val v, libxl_hwcap *p);
_hidden int libxl__ms_vm_genid_parse_json(yajl_val v, libxl_ms_vm_genid *p);
_hidden int libxl__ev_link_parse_json(yajl_val v, libxl_ev_link *p);

#include "libxl_types_private.h"

/* Host shape, until the core answers physinfo (see libxl_host.c). */
_hidden int libxl__host_cpus(void);
_hidden int libxl__host_nodes(void);

/* ------------------------------------------------- context helpers */

/* ERROR_FAIL (logged) when ctx is offline (no daemons). */
_hidden int libxl__need_daemons(libxl_ctx *ctx, const char *what);
_hidden void libxl__lock(libxl_ctx *ctx);
_hidden void libxl__unlock(libxl_ctx *ctx);

/*
 * A per-call arena for temporaries: GC_INIT at the top of a function,
 * GCSPRINTF / libxl__gc_own to allocate or adopt, GC_FREE at out:.
 */
typedef struct {
    void **ptrs;
    int n, cap;
} libxl__gc;
#define GC_INIT libxl__gc gc_[1] = {{NULL, 0, 0}}; libxl__gc *gc = gc_
#define GC_FREE libxl__gc_free(gc)
#define GCSPRINTF(...) libxl__gc_sprintf(gc, __VA_ARGS__)
_hidden void *libxl__gc_own(libxl__gc *gc, void *p);
_hidden char *libxl__gc_sprintf(libxl__gc *gc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_hidden void libxl__gc_free(libxl__gc *gc);

/* printf into a malloc'd string (aborts on exhaustion). */
_hidden char *libxl__sprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------- xenstore helpers */

/* "/local/domain/<domid>", "/libxl/<domid>"; malloc'd. */
_hidden char *libxl__dom_path(uint32_t domid);
_hidden char *libxl__libxl_path(uint32_t domid);
/* xs_read of a string, malloc'd; NULL when absent (errno ENOENT). */
/* The entries of a device directory (/libxl/<domid>/device/vbd, ...)
 * in devid order: one malloc'd block, or NULL with *n_r 0. */
_hidden char **libxl__xs_devids(libxl_ctx *ctx, const char *dir,
                                unsigned int *n_r);
_hidden char *libxl__xs_read(libxl_ctx *ctx, xs_transaction_t t,
                             const char *path);
/* xs_write of a string; 0 or ERROR_FAIL (logged with the path). */
_hidden int libxl__xs_write(libxl_ctx *ctx, xs_transaction_t t,
                            const char *path, const char *val);
/*
 * Runs body in a xenstore transaction and commits it.  When another
 * client committed first (EAGAIN) the body runs again in a new
 * transaction (logged at debug level), at most LIBXL__XS_TRIES times in
 * all; then ERROR_FAIL, logged as "domain <domid>: gave up on <what>".
 * A body returns 0 to commit, or a libxl error: the transaction is
 * then dropped and that error returned.  Returns 0 once committed.
 */
#define LIBXL__XS_TRIES 20
typedef int libxl__xs_body(libxl_ctx *ctx, xs_transaction_t t, void *arg);
_hidden int libxl__xs_transaction(libxl_ctx *ctx, uint32_t domid,
                                  const char *what, libxl__xs_body *body,
                                  void *arg);
/* The domain's name from xenstore (malloc'd) or NULL. */
_hidden char *libxl__domid_to_name(libxl_ctx *ctx, xs_transaction_t t,
                                   uint32_t domid);

/*
 * The name index: /libxl/names/<encoded name> = domid, kept in the same
 * transaction as /local/domain/<domid>/name, so that a name lookup is
 * two reads whatever the number of domains.  The encoding keeps
 * [A-Za-z0-9-] and writes any other byte as '_' and two lowercase hex
 * digits ("web.1" -> "web_2e1", "a_b" -> "a_5fb"), so any name maps to
 * one valid path component and back.  An entry whose domain is no longer
 * called so is stale: lookups treat it as absent and remove it.
 * Domain-0 (xencommons writes its entry) is 0 also without one.
 */
#define LIBXL__NAMES_PATH "/libxl/names"
/* "/libxl/names/<encoded>", malloc'd. */
_hidden char *libxl__name_index_path(const char *name);
/* The domain called NAME in transaction t (XBT_NULL: none, and a stale
 * entry is cleaned): 0 and *domid_r, ERROR_DOMAIN_NOTFOUND, or
 * ERROR_FAIL (logged). */
_hidden int libxl__name_lookup(libxl_ctx *ctx, xs_transaction_t t,
                               const char *name, uint32_t *domid_r);
/* In t: domain domid is now called new_name (written at
 * /local/domain/<domid>/name too); its entry for old_name (if any, and
 * if it is still its own) goes.  ERROR_INVAL if another domain has the
 * name (logged). */
_hidden int libxl__name_index_set(libxl_ctx *ctx, xs_transaction_t t,
                                  uint32_t domid, const char *old_name,
                                  const char *new_name);
/* Removes domain domid's entry for name if it is still its own. */
_hidden void libxl__name_index_remove(libxl_ctx *ctx, xs_transaction_t t,
                                      uint32_t domid, const char *name);

/* ------------------------------------------------- asynchronous ops */

/*
 * Completion of an operation started with ao_how.  Every operation here
 * runs to its end inside the initiating call; then:
 *   ao_how NULL                    -> returns rc;
 *   rc != 0                        -> returns rc, no callback (a failed
 *                                     initiation never calls back);
 *   ao_how->callback               -> calls it with 0, returns 0;
 *   otherwise                      -> queues OPERATION_COMPLETE with
 *                                     for_event, returns 0.
 */
_hidden int libxl__ao_complete(libxl_ctx *ctx, uint32_t domid,
                               const libxl_asyncop_how *ao_how, int rc);

/* ------------------------------------------------- events */

/* Hands ev to the application (event_occurs hook or the queue). */
_hidden void libxl__event_occurred(libxl_ctx *ctx, libxl_event *ev);
_hidden libxl_event *libxl__event_new(uint32_t domid, libxl_ev_user user,
                                      libxl_event_type type);
/* How long a guest has to acknowledge a PV control request (Xen's). */
#define PVCONTROL_TIMEOUT_MS (60 * 1000)

/* Starts waiting for the guest's acknowledgement of cmd (written to
 * path); completion goes to ao_how.  0 or ERROR_*. */
_hidden int libxl__pvwait_start(libxl_ctx *ctx, uint32_t domid,
                                const char *path, const char *cmd,
                                const libxl_asyncop_how *ao_how);
/* Completes the waits that are over; returns how many are pending and
 * the milliseconds to the nearest deadline in *timeout_ms (-1: none). */
_hidden int libxl__pvwait_process(libxl_ctx *ctx, int *timeout_ms);
_hidden void libxl__pvwait_free_all(libxl_ctx *ctx);
/* Reads every pending core event and reports deaths; 0 or ERROR_*. */
_hidden int libxl__evwatch_drain(libxl_ctx *ctx);

/* ------------------------------------------------- domains */

/* Maps a core errno (negative) to a libxl ERROR_* value. */
_hidden int libxl__xc_error(int r);
/* Removes every trace of domid: xenstore nodes, xenstored's record and
 * the core domain.  Idempotent; 0 or the first ERROR_* met. */
_hidden int libxl__domain_teardown(libxl_ctx *ctx, uint32_t domid);

/*
 * A restore under way (libxl_save.c): the stream read up to the domain's
 * memory.  libxl__domain_create makes the domain as a create does, but
 * builds it with libxl__restore_build (RAM, the core's state, the
 * guest's xenstore data) instead of loading a kernel; NULL: a create.
 */
typedef struct libxl__restore libxl__restore;
_hidden int libxl__domain_create(libxl_ctx *ctx,
                                 libxl_domain_config *d_config,
                                 uint32_t *domid_r,
                                 const libxl_asyncprogress_how *aop,
                                 libxl__restore *rs);
_hidden int libxl__restore_build(libxl_ctx *ctx, uint32_t domid,
                                 libxl_domain_config *d_config,
                                 libxl__restore *rs);
/* Then, once its virtio devices are plugged, their saved state. */
_hidden int libxl__restore_devices(libxl_ctx *ctx, uint32_t domid,
                                   libxl__restore *rs);
/*
 * libxl_save_dm.c: the part of the stream a device-model domain's qemu
 * writes and reads (DM_STATE records, docs/STREAM.md).
 *
 * libxl__dm_save runs after the header (STREAM_F_DEVICE_MODEL),
 * DOMAIN_CONFIG and XENSTORE are written to fd: qemu migrates to libxl,
 * its stream goes out as DM_STATE records, then END.  flags: the
 * LIBXL_SUSPEND_* of libxl_domain_suspend (LIVE: qemu's pre-copy runs
 * while the guest does; else the guest is stopped first); was_paused:
 * whether the guest was paused before.  0: the domain is left paused
 * (qemu's state is final); ERROR_*: logged, qemu's migration cancelled
 * and the guest running again unless it was paused.
 *
 * libxl__dm_restore runs once the XENSTORE record is read and the
 * domain's qemu waits for its state (libxl__dm_build with incoming):
 * the DM_STATE records up to END go to qemu in order.  stream_dm: the
 * stream's header says device model.  0: the domain is left paused;
 * ERROR_*: logged, naming what failed; the caller destroys the domain.
 */
struct stream_reader;
_hidden int libxl__dm_save(libxl_ctx *ctx, uint32_t domid, int fd,
                           int flags, bool was_paused);
_hidden int libxl__dm_restore(libxl_ctx *ctx, uint32_t domid,
                              bool stream_dm, struct stream_reader *rd,
                              const char *what);
/*
 * Userdata: files $XENOLITH_RUNDIR/libxl/userdata-d.<domid>.<uuid>.<id>
 * (Xen keeps them under /var/lib/xen).  The domain's config is the
 * userdata "libxl-json".
 */
_hidden int libxl__domain_config_store(libxl_ctx *ctx, uint32_t domid,
                                       libxl_domain_config *d_config);
_hidden int libxl__domain_config_load(libxl_ctx *ctx, uint32_t domid,
                                      libxl_domain_config *d_config);
_hidden void libxl__userdata_destroyall(libxl_ctx *ctx, uint32_t domid,
                                        const libxl_uuid *uuid);

/* A file given in a config (what: "disk hda", "kernel") is there, not a
 * directory, and readable: 0, or ERROR_INVAL logged with the reason. */
_hidden int libxl__check_readable(libxl_ctx *ctx, const char *what,
                                  const char *path);

/* ------------------------------------------------- device models */

/* A domain's backend processes (libxl_backend.c; classes in
 * libxl_dm.h): the pid of domain domid's backend of class cls (checked
 * to be one), or 0; stopping it (SIGTERM, then SIGKILL after 5 s) and
 * removing its backend nodes and log. */
struct libxl__backend_class;
_hidden pid_t libxl__backend_pid(libxl_ctx *ctx,
                                 const struct libxl__backend_class *cls,
                                 uint32_t domid);
_hidden int libxl__backend_stop(libxl_ctx *ctx,
                                const struct libxl__backend_class *cls,
                                uint32_t domid, pid_t pid);
/* Every backend class, NULL-ended: teardown stops them all. */
_hidden extern const struct libxl__backend_class *const
    libxl__backend_classes[];

/*
 * Domains whose machine is qemu (HVM; PVH under TCG): libxl_accel.c
 * picks the accelerator, libxl_dm.c builds and tears down (its helpers:
 * libxl_dm.h).  The accel values are enum xendm_accel's (xendm.h is not
 * included here).
 */
/* "$XENOLITH_RUNDIR/qemu-dm", malloc'd. */
_hidden char *libxl__dm_run_dir(void);
/* Whether domid runs in qemu (/libxl/<domid>/dm-version exists). */
_hidden bool libxl__domain_is_dm(libxl_ctx *ctx, uint32_t domid);
/* Whether d_config goes to qemu; *accel_r the resolved accelerator (a
 * notice is logged when "auto" falls back to TCG). */
_hidden bool libxl__dm_wanted(libxl_ctx *ctx,
                              const libxl_domain_config *d_config,
                              int *accel_r);
/* Whether the host can give d_config the accelerator accel resolved to
 * (libxl__dm_wanted; dm: it goes to qemu), before anything is built:
 * accel KVM without a /dev/kvm that opens is ERROR_INVAL, logged saying
 * what is missing and what to set instead; on kvm_pvm (KVM in software)
 * a warning.  0 otherwise. */
_hidden int libxl__accel_check(libxl_ctx *ctx,
                               const libxl_domain_config *d_config,
                               bool dm, int accel);
/* The xc_domain_create flag for such a domain. */
_hidden unsigned int libxl__dm_domcfg_flag(void);
/* The checks of the config that apply before the domain exists. */
_hidden int libxl__dm_check_config(libxl_ctx *ctx,
                                   libxl_domain_config *d_config);
/* Starts qemu for the (paused, core-side) domain, hands it to the core,
 * runs the vif hotplug scripts; on failure leaves nothing of its own. */
/* libxl_virtio.c */
/* The disks and NICs of domain domid of the core (built, not yet run):
 * their backends started and each handed to the core as a virtio PCI
 * device.  0 or ERROR_* (logged; teardown stops what started). */
_hidden int libxl__core_devices(libxl_ctx *ctx, uint32_t domid,
                                libxl_domain_config *d_config);
/* Hand the device a backend serves at socket to the core (XC_VIRTIO_*;
 * into a running guest too: PCI hotplug).  what names it in messages.
 * 0 or ERROR_FAIL (logged). */
_hidden int libxl__core_plug(libxl_ctx *ctx, uint32_t domid,
                             unsigned int id, const char *socket,
                             const uint8_t *mac, const char *what);
/* Take it out again: the guest is asked to release it and given 10 s;
 * force takes it away at once (the guest is told).  0, ERROR_FAIL (the
 * guest kept it, or the core failed: logged). */
_hidden int libxl__core_unplug(libxl_ctx *ctx, uint32_t domid,
                               const char *socket, const char *what,
                               bool force);

/* incoming: for a restore, qemu starts waiting for its saved state
 * (-incoming defer; libxl__dm_restore feeds it). */
_hidden int libxl__dm_build(libxl_ctx *ctx, uint32_t domid,
                            libxl_domain_config *d_config, int accel,
                            bool incoming);
/* /local/domain/0/device-model/<domid>/state = running. */
_hidden int libxl__dm_created(libxl_ctx *ctx, uint32_t domid);
/* Teardown: _begin (before the xenstore nodes go) notes what to clean,
 * NULL for a domain without a device model; _end (after the core's
 * destroy) makes sure qemu is gone and removes taps, files, nodes. */
struct libxl__dm_gone;
_hidden struct libxl__dm_gone *libxl__dm_teardown_begin(libxl_ctx *ctx,
                                                        uint32_t domid);
_hidden int libxl__dm_teardown_end(libxl_ctx *ctx,
                                   struct libxl__dm_gone *g);
/* A domain's memory target (mem-set) and vCPU count (vcpu-set), for the
 * parts the domain's qemu must act on: its balloon device, and vCPUs
 * plugged or unplugged (QMP device_add/device_del).  Nothing to do, 0,
 * for a domain without a device model. */
_hidden int libxl__dm_set_memory_target(libxl_ctx *ctx, uint32_t domid,
                                        uint64_t target_kb);
_hidden int libxl__dm_set_vcpus(libxl_ctx *ctx, uint32_t domid,
                                unsigned int want);
/* One QMP command (args_json: an object or NULL) to domid's qemu,
 * through the core; 0 or ERROR_* (logged). */
_hidden int libxl__dm_qmp(libxl_ctx *ctx, uint32_t domid, const char *cmd,
                          const char *args_json);
/* The same, saying what for when qemu refuses (0 or ERROR_FAIL);
 * *ret_r (may be NULL) gets qemu's return value, malloc'd. */
_hidden int libxl__dm_qmp_for(libxl_ctx *ctx, uint32_t domid,
                              const char *cmd, const char *args,
                              char **ret_r, const char *what);
/* Whether qemu still has a PCI device whose id is id (query-pci; true
 * when it cannot tell). */
_hidden bool libxl__dm_pci_has(libxl_ctx *ctx, uint32_t domid,
                               const char *id);

#endif /* LIBXL_INTERNAL_H */
