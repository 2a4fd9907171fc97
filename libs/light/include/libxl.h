/*
 * libxl.h - the Xenolith libxl-compatible toolstack library.
 *
 * API stability promise
 * ---------------------
 * Names, types, values and semantics follow Xen 4.17's libxl for what is
 * implemented here, so that C programs written against Xen's libxl build
 * and behave the same.  A program may pin the API it was written for by
 * defining LIBXL_API_VERSION (0xVVSSEE: major, minor, micro of the Xen
 * release whose API it expects) before including this header; an unknown
 * value is a compile-time error.  Without it the latest API is used.
 * Every addition is announced by a LIBXL_HAVE_<feature> macro below, so
 * callers test for features, never for versions.
 *
 * ABI: enum values are appended, never inserted; public embeddable
 * structs change size only with a soname bump.
 *
 * Memory management
 * -----------------
 * Every libxl_<type> has libxl_<type>_init (before first use),
 * libxl_<type>_dispose (frees what the object owns; idempotent, the
 * object must be _init-ed again before reuse) and libxl_<type>_copy.
 * Strings and objects returned to the caller are malloc'd; the caller
 * frees them with free() or the type's _dispose.  Allocation failure
 * inside the library is fatal (the process aborts after logging), as in
 * Xen's libxl.
 *
 * Errors: functions return 0 or a negative ERROR_* (libxl_error), whose
 * name libxl_error_to_string() gives.  Messages go to the logger passed
 * to libxl_ctx_alloc, never to stderr.
 *
 * Threads: unlike Xen's, a libxl_ctx is used by one thread at a time
 * (its connection to the core is not shared safely); a program with
 * several threads gives each its own context.  The event queue and the
 * death reporters are locked, so libxl_event_check/_wait may run in one
 * thread while another enables or disables reporters.  The type helpers
 * (_init, _dispose, _copy, JSON) touch only their arguments.
 */
#ifndef LIBXL_H
#define LIBXL_H

/* Everything declared here is exported (the library builds with
 * -fvisibility=hidden). */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xentoollog.h>

/* ------------------------------------------------- API compatibility */

#ifdef LIBXL_API_VERSION
#if LIBXL_API_VERSION != 0x040200 && LIBXL_API_VERSION != 0x040300 && \
    LIBXL_API_VERSION != 0x040400 && LIBXL_API_VERSION != 0x040500 && \
    LIBXL_API_VERSION != 0x040700 && LIBXL_API_VERSION != 0x040800 && \
    LIBXL_API_VERSION != 0x041300 && LIBXL_API_VERSION != 0x041400
#error Unknown LIBXL_API_VERSION
#endif
#endif

/* The libxl interface revision these headers provide. */
#define LIBXL_VERSION 0

/* ------------------------------------------------- feature macros */

/*
 * LIBXL_HAVE_VNUMA: libxl_domain_build_info has vnuma_nodes
 * (libxl_vnode_info) and num_vnuma_nodes.
 */
#define LIBXL_HAVE_VNUMA 1

/* LIBXL_HAVE_PVUSB: libxl_device_usbctrl and libxl_device_usbdev. */
#define LIBXL_HAVE_PVUSB 1

/* LIBXL_HAVE_BUILDINFO_HVM_VENDOR_DEVICE: u.hvm.vendor_device. */
#define LIBXL_HAVE_BUILDINFO_HVM_VENDOR_DEVICE 1

/* LIBXL_HAVE_BUILDINFO_EVENT_CHANNELS: b_info.event_channels. */
#define LIBXL_HAVE_BUILDINFO_EVENT_CHANNELS 1

/* LIBXL_HAVE_BUILDINFO_HVM_MS_VM_GENID: u.hvm.ms_vm_genid. */
#define LIBXL_HAVE_BUILDINFO_HVM_MS_VM_GENID 1

/* LIBXL_HAVE_DEVICE_DISK_DIRECT_IO_SAFE: disk.direct_io_safe. */
#define LIBXL_HAVE_DEVICE_DISK_DIRECT_IO_SAFE 1

/* LIBXL_HAVE_LIBXL_DEVICE_DISK_DISCARD_ENABLE: disk.discard_enable. */
#define LIBXL_HAVE_LIBXL_DEVICE_DISK_DISCARD_ENABLE 1

/* LIBXL_HAVE_BUILDINFO_IOMEM_START_GFN: iomem ranges carry a gfn. */
#define LIBXL_HAVE_BUILDINFO_IOMEM_START_GFN 1

/* LIBXL_HAVE_BUILDINFO_HVM_VIRIDIAN_ENABLE_DISABLE: bitmaps of
 * libxl_viridian_enlightenment in u.hvm.viridian_{enable,disable}. */
#define LIBXL_HAVE_BUILDINFO_HVM_VIRIDIAN_ENABLE_DISABLE 1
#define LIBXL_BUILDINFO_HVM_VIRIDIAN_ENABLE_DISABLE_WIDTH 64

/* LIBXL_HAVE_BUILDINFO_HVM_MMIO_HOLE_MEMKB: u.hvm.mmio_hole_memkb. */
#define LIBXL_HAVE_BUILDINFO_HVM_MMIO_HOLE_MEMKB 1

/* LIBXL_HAVE_ERROR_DOMAIN_NOTFOUND: ERROR_DOMAIN_NOTFOUND exists. */
#define LIBXL_HAVE_ERROR_DOMAIN_NOTFOUND 1

/* LIBXL_HAVE_DEVICETREE_PASSTHROUGH: libxl_device_dtdev. */
#define LIBXL_HAVE_DEVICETREE_PASSTHROUGH 1

/* LIBXL_HAVE_DEVICE_MODEL_USER: b_info.device_model_user. */
#define LIBXL_HAVE_DEVICE_MODEL_USER 1

/* LIBXL_HAVE_BUILDINFO_ARM_GIC_VERSION / _ARCH_ARM_TEE / _ARM_VUART. */
#define LIBXL_HAVE_BUILDINFO_ARM_GIC_VERSION 1
#define LIBXL_HAVE_BUILDINFO_ARCH_ARM_TEE 1
#define LIBXL_HAVE_BUILDINFO_ARM_VUART 1

/* LIBXL_HAVE_SOFT_RESET: not defined: on_soft_reset and the soft_reset
 * action exist in the types, but libxl_domain_soft_reset does not (Xen
 * announces both with this macro). */

/* LIBXL_HAVE_BUILDINFO_GRANT_LIMITS / _GRANT_DEFAULT: max_grant_frames
 * and max_maptrack_frames, LIBXL_MAX_GRANT_DEFAULT meaning "default". */
#define LIBXL_HAVE_BUILDINFO_GRANT_LIMITS 1
#define LIBXL_HAVE_BUILDINFO_GRANT_DEFAULT 1
#define LIBXL_MAX_GRANT_DEFAULT (~(uint32_t)0)

/* LIBXL_HAVE_MAX_GRANT_VERSION: b_info.max_grant_version. */
#define LIBXL_HAVE_MAX_GRANT_VERSION 1

/* LIBXL_HAVE_BUILDINFO_{TIMER_MODE,APIC,NESTED_HVM,BOOTLOADER,
 * BOOTLOADER_ARGS,KERNEL}: these b_info fields are outside the union. */
#define LIBXL_HAVE_BUILDINFO_TIMER_MODE 1
#define LIBXL_HAVE_BUILDINFO_APIC 1
#define LIBXL_HAVE_BUILDINFO_NESTED_HVM 1
#define LIBXL_HAVE_BUILDINFO_BOOTLOADER 1
#define LIBXL_HAVE_BUILDINFO_BOOTLOADER_ARGS 1
#define LIBXL_HAVE_BUILDINFO_KERNEL 1

/* LIBXL_HAVE_EXTENDED_VKB: the libxl_device_vkb feature fields. */
#define LIBXL_HAVE_EXTENDED_VKB 1

/* LIBXL_HAVE_BUILDINFO_IOMMU_MEMKB: b_info.iommu_memkb. */
#define LIBXL_HAVE_BUILDINFO_IOMMU_MEMKB 1

/* LIBXL_HAVE_CREATEINFO_PASSTHROUGH: c_info.passthrough. */
#define LIBXL_HAVE_CREATEINFO_PASSTHROUGH 1

/* LIBXL_HAVE_DEVICE_PCI_NAME: libxl_device_pci.name. */
#define LIBXL_HAVE_DEVICE_PCI_NAME 1

/* LIBXL_HAVE_VMTRACE_BUF_KB / LIBXL_HAVE_VPMU: b_info fields. */
#define LIBXL_HAVE_VMTRACE_BUF_KB 1
#define LIBXL_HAVE_VPMU 1

/* LIBXL_HAVE_DISK_TRUSTED / LIBXL_HAVE_NIC_TRUSTED: .trusted. */
#define LIBXL_HAVE_DISK_TRUSTED 1
#define LIBXL_HAVE_NIC_TRUSTED 1

/* LIBXL_HAVE_DEVICE_DISK_SPECIFICATION: disk.specification/transport. */
#define LIBXL_HAVE_DEVICE_DISK_SPECIFICATION 1

/* LIBXL_HAVE_BUILDINFO_VCPU_AFFINITY_ARRAYS: vcpu_{hard,soft}_affinity. */
#define LIBXL_HAVE_BUILDINFO_VCPU_AFFINITY_ARRAYS 1

/* LIBXL_HAVE_BUILDINFO_VKB_DEVICE, _USBDEVICE_LIST, _USBVERSION,
 * _SERIAL_LIST: the u.hvm fields of those names. */
#define LIBXL_HAVE_BUILDINFO_VKB_DEVICE 1
#define LIBXL_HAVE_BUILDINFO_USBDEVICE_LIST 1
#define LIBXL_HAVE_BUILDINFO_USBVERSION 1
#define LIBXL_HAVE_BUILDINFO_SERIAL_LIST 1

/* LIBXL_HAVE_DEVICE_BACKEND_DOMNAME: devices carry backend_domname. */
#define LIBXL_HAVE_DEVICE_BACKEND_DOMNAME 1

/* LIBXL_HAVE_QXL, _SPICE_VDAGENT, _SPICE_USBREDIREDIRECTION,
 * _SPICE_IMAGECOMPRESSION, _SPICE_STREAMINGVIDEO, _HVM_HDTYPE. */
#define LIBXL_HAVE_QXL 1
#define LIBXL_HAVE_SPICE_VDAGENT 1
#define LIBXL_HAVE_SPICE_USBREDIREDIRECTION 1
#define LIBXL_HAVE_SPICE_IMAGECOMPRESSION 1
#define LIBXL_HAVE_SPICE_STREAMINGVIDEO 1
#define LIBXL_HAVE_HVM_HDTYPE 1

/* LIBXL_HAVE_DEVICE_CHANNEL: libxl_device_channel. */
#define LIBXL_HAVE_DEVICE_CHANNEL 1

/* LIBXL_HAVE_SSID_LABEL / LIBXL_HAVE_CPUPOOL_NAME: label and pool name
 * strings in c_info and b_info. */
#define LIBXL_HAVE_SSID_LABEL 1
#define LIBXL_HAVE_CPUPOOL_NAME 1

/* LIBXL_HAVE_MCA_CAPS: u.hvm.mca_caps. */
#define LIBXL_HAVE_MCA_CAPS 1

/* LIBXL_HAVE_UUID_COPY_CTX_PARAM: libxl_uuid_copy takes a ctx. */
#define LIBXL_HAVE_UUID_COPY_CTX_PARAM 1

/* LIBXL_HAVE_CONST_COPY_AND_LENGTH_FUNCTIONS: _copy sources are const. */
#define LIBXL_HAVE_CONST_COPY_AND_LENGTH_FUNCTIONS 1

/* LIBXL_HAVE_BITMAP_AND_OR: not yet. */

/* LIBXL_HAVE_RETRIEVE_DOMAIN_CONFIGURATION: the configuration a domain
 * was created with (stored as JSON under /libxl/<domid>) can be read back
 * with libxl_retrieve_domain_configuration. */
#define LIBXL_HAVE_RETRIEVE_DOMAIN_CONFIGURATION 1

/* LIBXL_HAVE_CONSOLE_NOTIFY_FD: libxl_console_exec and
 * libxl_primary_console_exec take a notify_fd. */
#define LIBXL_HAVE_CONSOLE_NOTIFY_FD 1

/* LIBXL_HAVE_USERDATA_UNLINK: libxl_userdata_unlink exists. */
#define LIBXL_HAVE_USERDATA_UNLINK 1

/* LIBXL_HAVE_DOMAIN_NEED_MEMORY_CONFIG: libxl_domain_need_memory takes
 * the whole domain config. */
#define LIBXL_HAVE_DOMAIN_NEED_MEMORY_CONFIG 1

/* LIBXL_HAVE_MEMKB_64BITS: the memory functions take 64-bit sizes. */
#define LIBXL_HAVE_MEMKB_64BITS 1

/* LIBXL_HAVE_FN_USING_QMP_ASYNC: pause, unpause, shutdown, reboot,
 * send_trigger, set_vcpuonline and retrieve_domain_configuration take an
 * ao_how. */
#define LIBXL_HAVE_FN_USING_QMP_ASYNC 1

/* LIBXL_HAVE_NONCONST_EVENT_OCCURS_EVENT_ARG: event_occurs gets a
 * non-const event it owns. */
#define LIBXL_HAVE_NONCONST_EVENT_OCCURS_EVENT_ARG 1

/* LIBXL_HAVE_NONCONST_LIBXL_BASENAME_RETURN_VALUE: libxl_basename
 * returns char *. */
#define LIBXL_HAVE_NONCONST_LIBXL_BASENAME_RETURN_VALUE 1

/*
 * Xenolith extensions (not in Xen's libxl):
 *
 * LIBXL_HAVE_XENOLITH_CTX_OFFLINE: the flag LIBXL_CTX_XENOLITH_OFFLINE
 * of libxl_ctx_alloc makes a context that connects to no daemon (the
 * type helpers, JSON and host queries work; domain operations fail with
 * ERROR_FAIL).  For dry runs that must work without a running host.
 *
 * LIBXL_HAVE_XENOLITH_DOMAIN_DEATH_ACTION: libxl_xenolith_domain_death
 * carries out the on_poweroff/on_reboot/on_crash/... policy of a domain
 * that shut down (what xl's monitoring child does);
 * libxl_xenolith_shutdown_action and libxl_xenolith_coredump_action are
 * its first steps, for a caller (xl) that restarts domains itself.
 */
#define LIBXL_HAVE_XENOLITH_CTX_OFFLINE 1
#define LIBXL_HAVE_XENOLITH_DOMAIN_DEATH_ACTION 1

/*
 * LIBXL_HAVE_XENOLITH_ACCEL: libxl_domain_build_info.xenolith_accel
 * (auto, kvm, tcg: HVM domains always run in qemu, PVH domains in qemu
 * when the accelerator is TCG) and libxl_xenolith_accel_host, which
 * says what "auto" means on this host and why.
 */
#define LIBXL_HAVE_XENOLITH_ACCEL 1

/* ------------------------------------------------- basic types */

typedef struct libxl__ctx libxl_ctx;

/* A boolean that may be left at "default" for libxl to decide. */
typedef struct {
    int val;    /* < 0: false, 0: default, > 0: true */
} libxl_defbool;

void libxl_defbool_set(libxl_defbool *db, bool b);
void libxl_defbool_unset(libxl_defbool *db);
/* Sets db to b only when it is still at default. */
void libxl_defbool_setdefault(libxl_defbool *db, bool b);
int libxl_defbool_is_default(libxl_defbool db);
/* The value of a defbool that is not at default (asserted). */
bool libxl_defbool_val(libxl_defbool db);
/* "<default>", "True" or "False" (as in libxl's JSON). */
const char *libxl_defbool_to_string(libxl_defbool b);

typedef struct {
    uint8_t uuid[16];
} libxl_uuid;

#define LIBXL_UUID_FMTLEN ((2 * 16) + 4)
#define LIBXL_UUID_FMT "%02hhx%02hhx%02hhx%02hhx-%02hhx%02hhx-%02hhx%02hhx-" \
    "%02hhx%02hhx-%02hhx%02hhx%02hhx%02hhx%02hhx%02hhx"
#define LIBXL_UUID_BYTES(arg) (arg).uuid[0], (arg).uuid[1], \
    (arg).uuid[2], (arg).uuid[3], (arg).uuid[4], (arg).uuid[5], \
    (arg).uuid[6], (arg).uuid[7], (arg).uuid[8], (arg).uuid[9], \
    (arg).uuid[10], (arg).uuid[11], (arg).uuid[12], (arg).uuid[13], \
    (arg).uuid[14], (arg).uuid[15]

int libxl_uuid_is_nil(const libxl_uuid *uuid);
void libxl_uuid_generate(libxl_uuid *uuid);
/* 0, or ERROR_INVAL when in is not "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
int libxl_uuid_from_string(libxl_uuid *uuid, const char *in);
void libxl_uuid_copy(libxl_ctx *ctx, libxl_uuid *dst, const libxl_uuid *src);
void libxl_uuid_clear(libxl_uuid *uuid);
int libxl_uuid_compare(const libxl_uuid *a, const libxl_uuid *b);
const uint8_t *libxl_uuid_bytearray_const(const libxl_uuid *uuid);
uint8_t *libxl_uuid_bytearray(libxl_uuid *uuid);

typedef uint8_t libxl_mac[6];
#define LIBXL_MAC_FMT "%02hhx:%02hhx:%02hhx:%02hhx:%02hhx:%02hhx"
#define LIBXL_MAC_FMTLEN ((2 * 6) + 5)
#define LIBXL_MAC_BYTES(mac) mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
void libxl_mac_copy(libxl_ctx *ctx, libxl_mac *dst, const libxl_mac *src);

/* A set of small integers (CPUs, nodes, ...); size is in bytes. */
typedef struct {
    uint32_t size;
    uint8_t *map;
} libxl_bitmap;

void libxl_bitmap_init(libxl_bitmap *map);
void libxl_bitmap_dispose(libxl_bitmap *map);
/* Allocates room for n_bits (rounded up to whole bytes), all clear. */
int libxl_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *bitmap, int n_bits);
/* max_cpus/max_nodes 0 means "as many as the host has". */
int libxl_cpu_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *cpumap,
                           int max_cpus);
int libxl_node_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *nodemap,
                            int max_nodes);
void libxl_bitmap_copy(libxl_ctx *ctx, libxl_bitmap *dptr,
                       const libxl_bitmap *sptr);
void libxl_bitmap_copy_alloc(libxl_ctx *ctx, libxl_bitmap *dptr,
                             const libxl_bitmap *sptr);
int libxl_bitmap_is_full(const libxl_bitmap *bitmap);
int libxl_bitmap_is_empty(const libxl_bitmap *bitmap);
int libxl_bitmap_test(const libxl_bitmap *bitmap, int bit);
void libxl_bitmap_set(libxl_bitmap *bitmap, int bit);
void libxl_bitmap_reset(libxl_bitmap *bitmap, int bit);
int libxl_bitmap_count_set(const libxl_bitmap *bitmap);
void libxl_bitmap_set_any(libxl_bitmap *bitmap);
void libxl_bitmap_set_none(libxl_bitmap *bitmap);
#define libxl_for_each_bit(var, map) \
    for (var = 0; (var) < (int)(map).size * 8; (var)++)
#define libxl_for_each_set_bit(v, m) \
    for (v = 0; (v) < (int)(m).size * 8; (v)++) \
        if (libxl_bitmap_test(&(m), v))

/* NULL-terminated array of strings; NULL is the empty list. */
typedef char **libxl_string_list;
void libxl_string_list_dispose(libxl_string_list *sl);
int libxl_string_list_length(const libxl_string_list *sl);
void libxl_string_list_copy(libxl_ctx *ctx, libxl_string_list *dst,
                            const libxl_string_list *src);

/* NULL-terminated array of key, value, key, value...; a value may be NULL. */
typedef char **libxl_key_value_list;
void libxl_key_value_list_dispose(libxl_key_value_list *kvl);
int libxl_key_value_list_length(const libxl_key_value_list *kvl);
void libxl_key_value_list_copy(libxl_ctx *ctx, libxl_key_value_list *dst,
                               const libxl_key_value_list *src);

/* CPUID/MSR policy built from xl's cpuid= syntax (opaque). */
typedef struct libxl__cpuid_policy libxl_cpuid_policy;
typedef libxl_cpuid_policy *libxl_cpuid_policy_list;
void libxl_cpuid_dispose(libxl_cpuid_policy_list *cpuid_list);
void libxl_cpuid_policy_list_copy(libxl_ctx *ctx,
                                  libxl_cpuid_policy_list *dst,
                                  const libxl_cpuid_policy_list *src);
/* xend syntax "LEAF[,SUBLEAF]:REG=BITS,...": 0, or 1..5 naming the error
 * (leaf, subleaf, colon, register, length), as xl reports them. */
int libxl_cpuid_parse_config_xend(libxl_cpuid_policy_list *cpuid,
                                  const char *str);
/* xl syntax "FLAG=VALUE": 0, 1 (no '='), 2 (unknown flag), 3 (value). */
int libxl_cpuid_parse_config(libxl_cpuid_policy_list *cpuid,
                             const char *str);

typedef uint32_t libxl_hwcap[8];
void libxl_hwcap_copy(libxl_ctx *ctx, libxl_hwcap *dst,
                      const libxl_hwcap *src);

#define LIBXL_MS_VM_GENID_LEN 16
typedef struct {
    uint8_t bytes[LIBXL_MS_VM_GENID_LEN];
} libxl_ms_vm_genid;
int libxl_ms_vm_genid_is_zero(const libxl_ms_vm_genid *id);
void libxl_ms_vm_genid_copy(libxl_ctx *ctx, libxl_ms_vm_genid *dst,
                            const libxl_ms_vm_genid *src);
int libxl_ms_vm_genid_generate(libxl_ctx *ctx, libxl_ms_vm_genid *id);

typedef uint32_t libxl_domid;
typedef int libxl_devid;
#define INVALID_DOMID (~(libxl_domid)0)

/* A domid libxl picks at random (xl's domid policy "random"). */
#define RANDOM_DOMID (INVALID_DOMID - 1)

/* Used only by libxl_event; opaque to callers. */
typedef struct {
    void *next_;
    void **prev_;
} libxl_ev_link;

typedef struct {
    const char *s;
    int v;
} libxl_enum_string_table;

/* Constants the generated types use as "not set". */
#define LIBXL_MEMKB_DEFAULT ~0ULL
#define LIBXL_TIMER_MODE_DEFAULT -1
#define LIBXL_INVALID_GFN (~(uint64_t)0)
#define LIBXL_PCI_FUNC_ALL (~0U)
#define LIBXL_SCHED_PARAM_VCPU_INDEX_DEFAULT -1
#define LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT -1
#define LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT -1
#define LIBXL_DOMAIN_SCHED_PARAM_PERIOD_DEFAULT -1
#define LIBXL_DOMAIN_SCHED_PARAM_SLICE_DEFAULT -1
#define LIBXL_DOMAIN_SCHED_PARAM_LATENCY_DEFAULT -1
#define LIBXL_DOMAIN_SCHED_PARAM_EXTRATIME_DEFAULT -1
#define LIBXL_DOMAIN_SCHED_PARAM_BUDGET_DEFAULT -1

/* The generated types: enums, structs and their helper prototypes. */
#include <libxl_types.h>

/* libxl_error_to_string (generated) names an ERROR_* value ("fail");
 * NULL for a value that is not one. */

/* ------------------------------------------------- asynchronous operations
 *
 * Long operations take "const libxl_asyncop_how *ao_how": NULL runs them
 * synchronously; otherwise they return 0 once started and report
 * completion through callback (or, when callback is NULL, as an
 * OPERATION_COMPLETE libxl_event carrying for_event).  If starting fails
 * the callback is never called.
 *
 * In this implementation most operations run to their end inside the
 * initiating call (the core answers in milliseconds): with ao_how, a
 * failure is returned by the initiating call (no callback); on success
 * the callback runs before the initiating call returns 0 (as Xen's
 * libxl may do), or the OPERATION_COMPLETE event is queued.  The
 * exceptions are libxl_domain_shutdown and libxl_domain_reboot, which
 * complete when the guest acknowledges (or at the deadline), from
 * libxl_event_check/_wait, libxl_osevent_afterpoll or
 * libxl_osevent_occurred_*.
 */
typedef uint64_t libxl_ev_user;

typedef struct {
    void (*callback)(libxl_ctx *ctx, int rc, void *for_callback);
    union {
        libxl_ev_user for_event;
        void *for_callback;
    } u;
} libxl_asyncop_how;

typedef struct {
    void (*callback)(libxl_ctx *ctx, libxl_event *, void *for_callback);
    libxl_ev_user for_event;
    void *for_callback;
} libxl_asyncprogress_how;

/* ------------------------------------------------- context */

#define LIBXL_CTX_XENOLITH_OFFLINE (1U << 31)

/*
 * libxl_ctx_alloc: creates a context in *pctx.  version must be
 * LIBXL_VERSION; flags 0 (or LIBXL_CTX_XENOLITH_OFFLINE); lg receives
 * every message and must outlive the context.  Connects to xenstored
 * (xs_open with XS_RECONNECT: the context outlives a restart of
 * xenstored, see xenstore.h; socket from XENSTORED_PATH /
 * XENSTORED_RUNDIR / XENOLITH_RUNDIR) and to the core (xc_interface_open;
 * $XENOLITH_RUNDIR/core.sock); when one is unreachable it logs which
 * daemon and which socket path, and returns ERROR_FAIL.  Other returns:
 * 0, ERROR_VERSION, ERROR_INVAL, ERROR_NOMEM.
 */
int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags,
                    xentoollog_logger *lg);
/* Frees ctx (NULL is accepted), disabling its event generators and
 * freeing queued events.  Returns 0. */
int libxl_ctx_free(libxl_ctx *ctx);

/* The core's version and build information; owned by ctx (do not free).
 * NULL on error (logged). */
const libxl_version_info *libxl_get_version_info(libxl_ctx *ctx);

/* ------------------------------------------------- domain lifecycle
 *
 * Domains are PVH guests of the Xenolith core (c_info.type PVH; HVM and
 * PV give ERROR_INVAL).  Every function returns 0 or a negative ERROR_*
 * with the reason logged; ERROR_DOMAIN_NOTFOUND for an unknown domid.
 */

/*
 * Creates and builds a domain from d_config, which is defaulted in place
 * (uuid generated when nil, max_vcpus 1, max_memkb 32 MiB, target_memkb
 * = max_memkb, every vCPU online) and then kept as JSON for
 * libxl_retrieve_domain_configuration.  c_info.domid: a guest id to ask
 * for, RANDOM_DOMID, or 0 (the core picks).  *domid receives the id, or
 * INVALID_DOMID on failure.  Errors: ERROR_INVAL for a config refused
 * before anything is made (type not PVH, no name or a name in use,
 * kernel/ramdisk unreadable, vCPU or memory counts, devices); ERROR_FAIL
 * when the core, the builder (e.g. not a PVH kernel) or xenstore fail,
 * after which everything made is torn down again.  The log names the
 * key or file at fault.  aop_console_how, when given, reports
 * DOMAIN_CREATE_CONSOLE_AVAILABLE once the console can be connected.
 * As in Xen, the new domain is left PAUSED: the caller (xl unless "-p")
 * unpauses it with libxl_domain_unpause.
 */
int libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d_config,
                            uint32_t *domid,
                            const libxl_asyncop_how *ao_how,
                            const libxl_asyncprogress_how *aop_console_how);

/*
 * Save, restore and migration (docs/STREAM.md has the stream's format).
 *
 * libxl_domain_suspend writes the domain to fd as a Xenolith domain
 * stream: its configuration, its xenstore nodes, its memory, vCPU,
 * platform and device state.  With LIBXL_SUSPEND_LIVE the memory is sent
 * while the guest runs (rounds of dirty pages) and the guest is paused
 * only for the last round.  The domain is left paused, not destroyed: the
 * caller destroys it (xl save, a migration the target confirmed) or
 * resumes it (libxl_domain_resume: a checkpoint, a failed migration).
 */
#define LIBXL_HAVE_SUSPEND_RESUME 1
#define LIBXL_SUSPEND_DEBUG 1
#define LIBXL_SUSPEND_LIVE 2
int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd, int flags,
                         const libxl_asyncop_how *ao_how);

/* Runs a domain that libxl_domain_suspend left paused, where it stopped
 * (suspend_cancel is accepted for Xen's sake: every resume is one). */
int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid, int suspend_cancel,
                        const libxl_asyncop_how *ao_how);

/*
 * Makes a domain from the stream on restore_fd, as libxl_domain_suspend
 * wrote it; d_config is the configuration to run it with (xl passes the
 * one saved with the domain, or the user's).  The domain is left paused,
 * as after libxl_domain_create_new.  send_back_fd and params are taken
 * for Xen's sake (COLO and checkpointed streams are not supported: a
 * params->checkpointed_stream other than 0 is ERROR_INVAL).  On any
 * failure nothing is left: no domain, process, node or file.
 */
int libxl_domain_create_restore(libxl_ctx *ctx, libxl_domain_config *d_config,
                                uint32_t *domid, int restore_fd,
                                int send_back_fd,
                                const libxl_domain_restore_params *params,
                                const libxl_asyncop_how *ao_how,
                                const libxl_asyncprogress_how *aop_console_how);

/* Destroys the domain at once: its xenstore nodes (/local/domain/N,
 * /vm/UUID, /libxl/N), xenstored's record (firing @releaseDomain) and
 * the core domain. */
int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid,
                         const libxl_asyncop_how *ao_how);

/*
 * Asks the guest to power off / reboot through its PV control node
 * (control/shutdown = "poweroff" / "reboot") and waits (60 s) for the
 * guest to acknowledge by clearing it.  ERROR_NOPARAVIRT when the guest
 * has not announced control/feature-poweroff (resp. feature-reboot) = 1;
 * then libxl_send_trigger(POWER/RESET) is the fallback -- which these
 * take themselves for a domain run by qemu (HVM, or PVH under TCG): the
 * ACPI power button for shutdown, a reset for reboot.  ERROR_TIMEDOUT
 * when the guest does not acknowledge; ERROR_DOMAIN_NOTFOUND when the
 * domain goes away first.  With ao_how these return once the request is
 * written and complete later (see "asynchronous operations").
 */
int libxl_domain_shutdown(libxl_ctx *ctx, uint32_t domid,
                          const libxl_asyncop_how *ao_how);
int libxl_domain_reboot(libxl_ctx *ctx, uint32_t domid,
                        const libxl_asyncop_how *ao_how);

/*
 * LIBXL_TRIGGER_POWER / LIBXL_TRIGGER_RESET: the core has no ACPI
 * button yet, so these stop the domain as a power-off / reboot of the
 * guest would (it is reported shut down with that reason; the guest OS
 * is not asked).  Other triggers: ERROR_NI.
 */
int libxl_send_trigger(libxl_ctx *ctx, uint32_t domid,
                       libxl_trigger trigger, uint32_t vcpuid,
                       const libxl_asyncop_how *ao_how);

/*
 * Puts the medium disk->pdev_path (format raw or qcow2) into the cdrom
 * drive disk->vdev of an HVM domain; an empty path (or format EMPTY)
 * ejects.  ERROR_INVAL when vdev is not one of the domain's cdroms or
 * the file cannot be read (logged, naming it).
 */
int libxl_cdrom_insert(libxl_ctx *ctx, uint32_t domid,
                       libxl_device_disk *disk,
                       const libxl_asyncop_how *ao_how);

/*
 * The domain's disks as configured (vdev, target, format, access,
 * cdrom; backend STANDALONE for a disk its block backend serves, QDISK
 * for one qemu serves itself), in device order; *num their number.  Free
 * with libxl_device_disk_list_free.  NULL with *num 0 when there are
 * none or on error (logged).
 */
libxl_device_disk *libxl_device_disk_list(libxl_ctx *ctx, uint32_t domid,
                                          int *num);
void libxl_device_disk_list_free(libxl_device_disk *list, int num);

/*
 * What the backend says of one disk of the domain (disk->vdev names it):
 * devid, backend path and domid, frontend path and domid, state (Xen's
 * XenbusState; 4 once served).  evtch and rref are -1: the guest reaches
 * its disks over virtio, without event channels or grant rings.  A disk
 * qemu serves itself has no backend directory: backend "", state 4.
 * 0, or ERROR_INVAL for a vdev the domain has not (logged).
 */
int libxl_device_disk_getinfo(libxl_ctx *ctx, uint32_t domid,
                              const libxl_device_disk *disk,
                              libxl_diskinfo *diskinfo);

/*
 * The domain's NICs as configured (devid, MAC, model, bridge, script,
 * ifname: the tap; nictype VIF for one its network backend serves,
 * VIF_IOEMU for one of qemu's emulated models), in devid order; *num
 * their number.  Free with libxl_device_nic_list_free.  NULL with *num 0
 * when there are none or on error.
 */
libxl_device_nic *libxl_device_nic_list(libxl_ctx *ctx, uint32_t domid,
                                        int *num);
void libxl_device_nic_list_free(libxl_device_nic *list, int num);

/*
 * What the backend says of one NIC of the domain (nic->devid names it),
 * as libxl_device_disk_getinfo does for a disk: evtch, rref_tx and
 * rref_rx are -1 (virtio has no event channels or grant rings); an
 * emulated NIC has no backend directory: backend "", state 4.  0, or
 * ERROR_INVAL for a devid the domain has not (logged).
 */
int libxl_device_nic_getinfo(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_nic *nic,
                             libxl_nicinfo *nicinfo);

/*
 * NIC hotplug (xl network-attach / network-detach), for domains in qemu:
 * a virtio NIC the domain's network backend serves (the model defaults
 * to virtio-net here; not type=ioemu).  add: devid -1 takes the lowest
 * free one, a MAC left all zero gets Xen's random 00:16:3e one; the
 * backend makes its tap vif<domid>.<devid> (the backend is started when
 * the domain had none), the vif hotplug script puts it on its bridge,
 * then qemu plugs a virtio-net-pci device the guest finds (PCI hotplug);
 * ERROR_INVAL for a devid the domain has or another kind of NIC, and a
 * failed hotplug script (a missing bridge) fails the add, leaving
 * nothing.  remove (safe_remove alike): the guest is asked to release it
 * (ACPI eject) and given 10 s, ERROR_FAIL when it does not; destroy does
 * not wait.  A NIC present at boot unplugs the same way.  The stored
 * config follows.  On the core as in qemu (ACPI PCI hotplug).
 */
int libxl_device_nic_add(libxl_ctx *ctx, uint32_t domid,
                         libxl_device_nic *nic,
                         const libxl_asyncop_how *ao_how);
int libxl_device_nic_remove(libxl_ctx *ctx, uint32_t domid,
                            const libxl_device_nic *nic,
                            const libxl_asyncop_how *ao_how);
int libxl_device_nic_safe_remove(libxl_ctx *ctx, uint32_t domid,
                                 const libxl_device_nic *nic,
                                 const libxl_asyncop_how *ao_how);
int libxl_device_nic_destroy(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_nic *nic,
                             const libxl_asyncop_how *ao_how);
/* The domain's vif devid, or the one with MAC mac ("00:16:3e:..."), into
 * *nic (initialised by the caller); ERROR_INVAL when it has none. */
int libxl_devid_to_device_nic(libxl_ctx *ctx, uint32_t domid, int devid,
                              libxl_device_nic *nic);
int libxl_mac_to_device_nic(libxl_ctx *ctx, uint32_t domid,
                            const char *mac, libxl_device_nic *nic);

/*
 * Disk hotplug (xl block-attach / block-detach), for domains in qemu:
 * a disk the domain's block backend serves (virtio over vhost-user: any
 * xvdX of a PVH domain, xvde and later of an HVM one; not a cdrom, not
 * backendtype=qdisk), raw or qcow2.  add: the backend exports it (the
 * backend is started when the domain had none), then qemu plugs a
 * vhost-user-blk-pci device the guest finds (PCI hotplug); ERROR_INVAL
 * for a vdev the domain has, a missing file, another kind of disk.
 * remove (safe_remove alike): the guest is asked to release the device
 * (ACPI eject) and given 10 s, ERROR_FAIL when it does not; destroy
 * does not wait.  The stored config follows, so a reboot keeps the
 * change.  On the core as in qemu (ACPI PCI hotplug).
 */
int libxl_device_disk_add(libxl_ctx *ctx, uint32_t domid,
                          libxl_device_disk *disk,
                          const libxl_asyncop_how *ao_how);
int libxl_device_disk_remove(libxl_ctx *ctx, uint32_t domid,
                             const libxl_device_disk *disk,
                             const libxl_asyncop_how *ao_how);
int libxl_device_disk_safe_remove(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_device_disk *disk,
                                  const libxl_asyncop_how *ao_how);
int libxl_device_disk_destroy(libxl_ctx *ctx, uint32_t domid,
                              const libxl_device_disk *disk,
                              const libxl_asyncop_how *ao_how);
/* The domain's disk vdev (libxl_device_disk_list's form) into *disk
 * (initialised by the caller); ERROR_INVAL when it has none. */
int libxl_vdev_to_device_disk(libxl_ctx *ctx, uint32_t domid,
                              const char *vdev, libxl_device_disk *disk);

/*
 * Being a driver domain (xl devd): watches this host's backend
 * directories, /local/domain/0/backend/vbd and .../vif, and serves the
 * devices another toolstack writes there for its domains (those the
 * core does not have): the domain's block or network backend process
 * started when none runs, a vif's hotplug script run once the backend
 * has made its tap ("online"; "offline" when the directory goes), the
 * backend stopped when its domain's last device of its class goes.  A
 * device its backend cannot serve gets hotplug-status "error" with
 * hotplug-error saying why (also logged).
 *
 * Runs until SIGTERM or SIGINT (its handlers are this function's while
 * it runs), then returns 0, leaving the backends serving their devices
 * (the next call takes them over); ERROR_FAIL when xenstore cannot be
 * watched.  With an ao_how, the completion is reported then.
 */
int libxl_device_events_handler(libxl_ctx *ctx,
                                const libxl_asyncop_how *ao_how);

/*
 * Xenolith: the accelerator "auto" gives on this host (KVM or TCG) and
 * why, in words (*why_r malloc'd, may be NULL): "hardware KVM: kvm_amd"
 * (the module), or the reason for TCG ("no KVM on this host: cannot open
 * /dev/kvm: <error>", or that the host's KVM is kvm_pvm).  0.
 */
int libxl_xenolith_accel_host(libxl_ctx *ctx,
                              libxl_xenolith_accel *accel_r, char **why_r);

int libxl_domain_pause(libxl_ctx *ctx, uint32_t domid,
                       const libxl_asyncop_how *ao_how);
int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid,
                         const libxl_asyncop_how *ao_how);

/* Renames: old_name NULL accepts any current name; ERROR_INVAL when the
 * domain's name is not old_name or new_name is taken by another one. */
int libxl_domain_rename(libxl_ctx *ctx, uint32_t domid,
                        const char *old_name, const char *new_name);

/* Keeps a shut down domain under name "<c_info.name><name_suffix>" and
 * uuid new_uuid, so that a new one can take its place. */
int libxl_domain_preserve(libxl_ctx *ctx, uint32_t domid,
                          libxl_domain_create_info *info,
                          const char *name_suffix, libxl_uuid new_uuid);

/*
 * Writes an ELF core file of the domain to filename: one PT_LOAD per
 * guest RAM range (physical addresses), and a PT_NOTE with one
 * NT_PRSTATUS per vCPU (registers as the core last saw them; zero when
 * unknown).  gdb opens it.  The domain is paused while being dumped and
 * left as it was.
 */
int libxl_domain_core_dump(libxl_ctx *ctx, uint32_t domid,
                           const char *filename,
                           const libxl_asyncop_how *ao_how);

/*
 * The configuration the domain was created with (kept as JSON under
 * /libxl/<domid>/config), with name and uuid as they are now.
 * d_config must be _init-ed; the caller _disposes it.
 */
int libxl_retrieve_domain_configuration(libxl_ctx *ctx, uint32_t domid,
                                        libxl_domain_config *d_config,
                                        const libxl_asyncop_how *ao_how);

/*
 * Xenolith extension: carries out the action d_config assigns to reason
 * (on_poweroff, on_reboot, on_watchdog, on_crash, on_soft_reset) for the
 * shut down domain *domid_io, as xl's monitoring child does:
 *   destroy            destroy;
 *   restart            destroy, then create again from d_config;
 *   preserve           leave it as it is;
 *   rename-restart     preserve it renamed "<name>-<YYYYMMDDTHHMMZ>",
 *                      then create a new one from d_config;
 *   coredump-destroy / coredump-restart
 *                      libxl_domain_core_dump to dump_dir/<name>, then
 *                      destroy / restart;
 *   soft-reset         treated as restart.
 * *domid_io receives the new domain's id after a restart, INVALID_DOMID
 * otherwise.  *restarted_r (may be NULL) is set to 1 after a restart.
 * dump_dir NULL means /var/lib/xen/dump.
 */
int libxl_xenolith_domain_death(libxl_ctx *ctx, uint32_t *domid_io,
                                libxl_shutdown_reason reason,
                                libxl_domain_config *d_config,
                                const char *dump_dir, int *restarted_r);

/*
 * The action d_config sets for a shutdown with reason: on_poweroff,
 * on_reboot, on_crash, on_watchdog or on_soft_reset; PRESERVE for a
 * suspend (nothing to do); DESTROY for a reason libxl does not know.
 */
libxl_action_on_shutdown libxl_xenolith_shutdown_action(
    const libxl_domain_config *d_config, libxl_shutdown_reason reason);

/*
 * For coredump-destroy and coredump-restart: dump domain domid's memory
 * to <dump_dir>/<name> (dump_dir NULL: /var/lib/xen/dump; a failed dump
 * is logged and the policy goes on) and return destroy or restart; any
 * other action is returned as it is, with nothing done.
 */
libxl_action_on_shutdown libxl_xenolith_coredump_action(
    libxl_ctx *ctx, uint32_t domid, const libxl_domain_config *d_config,
    const char *dump_dir, libxl_action_on_shutdown action);

/* ------------------------------------------------- domain information */

/* info_r may be NULL to test existence (ERROR_DOMAIN_NOTFOUND). */
int libxl_domain_info(libxl_ctx *ctx, libxl_dominfo *info_r,
                      uint32_t domid);
/* Every domain, dom0 first; free with libxl_dominfo_list_free.  NULL on
 * error. */
libxl_dominfo *libxl_list_domain(libxl_ctx *ctx, int *nb_domain_out);
void libxl_dominfo_list_free(libxl_dominfo *list, int nb_domain);

/* The domain's vCPUs; *nr_cpus_out = host CPUs.  Free with
 * libxl_vcpuinfo_list_free.  NULL on error. */
libxl_vcpuinfo *libxl_list_vcpu(libxl_ctx *ctx, uint32_t domid,
                                int *nb_vcpu, int *nr_cpus_out);
void libxl_vcpuinfo_list_free(libxl_vcpuinfo *list, int nr_vcpus);

/* ------------------------------------------------- memory and vCPUs */

/* memory/static-max and the core's limit.  ERROR_INVAL below the
 * current target. */
int libxl_domain_setmaxmem(libxl_ctx *ctx, uint32_t domid,
                           uint64_t target_memkb);
/* memory/target (the balloon target); relative adds to the current
 * one; enforce also raises the core's limit when needed. */
int libxl_set_memory_target(libxl_ctx *ctx, uint32_t domid,
                            int64_t target_memkb, int relative,
                            int enforce);
int libxl_get_memory_target(libxl_ctx *ctx, uint32_t domid,
                            uint64_t *out_target);

/* What the host must have free to build config (defaulted in place):
 * its memory, in KiB.  domid_for_logging may be INVALID_DOMID. */
int libxl_domain_need_memory(libxl_ctx *ctx, libxl_domain_config *config,
                             uint32_t domid_for_logging,
                             uint64_t *need_memkb);
/* The host's free memory (KiB) as the core sees it. */
int libxl_get_free_memory(libxl_ctx *ctx, uint64_t *memkb);
/* Waits up to wait_secs for memory_kb to be free: 0, or ERROR_NOMEM. */
int libxl_wait_for_free_memory(libxl_ctx *ctx, uint32_t domid,
                               uint64_t memory_kb, int wait_secs);

/* cpu/<n>/availability = online/offline for each vCPU below max. */
int libxl_set_vcpuonline(libxl_ctx *ctx, uint32_t domid,
                         libxl_bitmap *cpumap,
                         const libxl_asyncop_how *ao_how);

/* Pins a vCPU's thread (hard affinity); soft affinity is accepted and
 * ignored (the core has one kind).  Either map may be NULL. */
int libxl_set_vcpuaffinity(libxl_ctx *ctx, uint32_t domid, uint32_t vcpuid,
                           const libxl_bitmap *cpumap_hard,
                           const libxl_bitmap *cpumap_soft);
int libxl_set_vcpuaffinity_force(libxl_ctx *ctx, uint32_t domid,
                                 uint32_t vcpuid,
                                 const libxl_bitmap *cpumap_hard,
                                 const libxl_bitmap *cpumap_soft);
int libxl_set_vcpuaffinity_all(libxl_ctx *ctx, uint32_t domid,
                               unsigned int max_vcpus,
                               const libxl_bitmap *cpumap_hard,
                               const libxl_bitmap *cpumap_soft);

/* ------------------------------------------------- userdata
 *
 * Data kept with a domain (removed when it is destroyed), by userid (a
 * plain name; "libxl-json" is the domain's config, "xl" is xl's).
 * store with datalen 0 deletes.  retrieve sets *data_r (malloc'd, may be
 * NULL) and *datalen_r to 0 when there is none; both may be NULL.
 */
int libxl_userdata_store(libxl_ctx *ctx, uint32_t domid,
                         const char *userdata_userid,
                         const uint8_t *data, int datalen);
int libxl_userdata_retrieve(libxl_ctx *ctx, uint32_t domid,
                            const char *userdata_userid,
                            uint8_t **data_r, int *datalen_r);
int libxl_userdata_unlink(libxl_ctx *ctx, uint32_t domid,
                          const char *userdata_userid);

/* ------------------------------------------------- scheduling
 *
 * The core runs vCPUs as host threads under Linux's scheduler; the
 * credit scheduler's weight (1..65535, default 256) and cap (0 none, else
 * percent of one CPU, at most 100 per vCPU) are applied through each
 * domain's cgroup.  libxl_get_scheduler() returns LIBXL_SCHEDULER_CREDIT.
 * params->sched must be unknown or credit (else ERROR_INVAL); fields left
 * at their LIBXL_DOMAIN_SCHED_PARAM_*_DEFAULT are kept; the other fields
 * are ignored.  ERROR_NI when the host has no cgroup cpu controller.
 * b_info.sched_params of a domain config are applied at create.
 * Domain-0 (the host) reads as weight 256, cap 0; setting it is ERROR_NI.
 */
int libxl_get_scheduler(libxl_ctx *ctx);
int libxl_domain_sched_params_get(libxl_ctx *ctx, uint32_t domid,
                                  libxl_domain_sched_params *params);
int libxl_domain_sched_params_set(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_domain_sched_params *params);

/*
 * The credit scheduler's pool-wide parameters.  There is one pool,
 * Pool-0 (poolid 0; others ERROR_INVAL).  The core's vCPUs run under
 * the host's scheduler, so they are fixed at Xen's defaults: tslice
 * 30 ms, ratelimit 1000 us, migration delay 0 us.  _set checks Xen's
 * ranges (ERROR_INVAL) and succeeds when the values equal those; other
 * values are ERROR_NI.
 */
int libxl_sched_credit_params_get(libxl_ctx *ctx, uint32_t poolid,
                                  libxl_sched_credit_params *scinfo);
int libxl_sched_credit_params_set(libxl_ctx *ctx, uint32_t poolid,
                                  libxl_sched_credit_params *scinfo);
/* "Pool-0" for poolid 0, else NULL; the caller frees it. */
char *libxl_cpupoolid_to_name(libxl_ctx *ctx, uint32_t poolid);

/* Seconds since the epoch when the domain was built (/vm/UUID/
 * start_time); (uint32_t)-1 on error. */
uint32_t libxl_vm_get_start_time(libxl_ctx *ctx, uint32_t domid);

/* ------------------------------------------------- the core's log
 *
 * "xl dmesg": read_start (clear: empty the log as it is read) returns a
 * reader (NULL on error); each read_line sets *line_r to the next chunk
 * of the log (owned by the reader, valid until the next call) and
 * returns 1, or returns 0 at the end (ERROR_FAIL on error).
 */
typedef struct libxl__xen_console_reader libxl_xen_console_reader;
libxl_xen_console_reader *libxl_xen_console_read_start(libxl_ctx *ctx,
                                                       int clear);
int libxl_xen_console_read_line(libxl_ctx *ctx,
                                libxl_xen_console_reader *cr,
                                char **line_r);
void libxl_xen_console_read_finish(libxl_ctx *ctx,
                                   libxl_xen_console_reader *cr);

/* ------------------------------------------------- consoles
 *
 * A PVH domain's primary console is the core's COM1, reachable through
 * a pty; its path is console/tty (and serial/0/tty) in xenstore.
 */

/* *path: malloc'd tty path.  cons_num 0 only. */
int libxl_console_get_tty(libxl_ctx *ctx, uint32_t domid, int cons_num,
                          libxl_console_type type, char **path);
int libxl_primary_console_get_tty(libxl_ctx *ctx, uint32_t domid_vm,
                                  char **path);
/*
 * Connects the calling terminal (stdin/stdout) to the console and does
 * not return while it is connected: like Xen's, which execs xenconsole,
 * the process ends (exit status 0) when the user types Ctrl-] or the
 * domain goes away.  notify_fd (-1: none) receives one 0x00 byte once
 * connected.  Returns only on error (ERROR_*).
 */
int libxl_console_exec(libxl_ctx *ctx, uint32_t domid, int cons_num,
                       libxl_console_type type, int notify_fd);
int libxl_primary_console_exec(libxl_ctx *ctx, uint32_t domid_vm,
                               int notify_fd);

/* ------------------------------------------------- host */

/* Highest CPU/node count the host can have; negative ERROR_* on error. */
int libxl_get_max_cpus(libxl_ctx *ctx);
int libxl_get_online_cpus(libxl_ctx *ctx);
int libxl_get_max_nodes(libxl_ctx *ctx);
/* Fills physinfo from the core (libxl_physinfo_init first, _dispose
 * after); offline contexts get the host shape from Linux. */
int libxl_get_physinfo(libxl_ctx *ctx, libxl_physinfo *physinfo);
/* Sets in cpumap (allocated by the caller) the CPUs of node. */
int libxl_node_to_cpumap(libxl_ctx *ctx, int node, libxl_bitmap *cpumap);

/* ------------------------------------------------- domain config JSON
 *
 * libxl_domain_config_to_json (generated) returns a malloc'd string with
 * the configuration in libxl's JSON form, fields at their default left
 * out; libxl_domain_config_from_json fills an _init-ed config from such a
 * string and returns 0 or ERROR_INVAL/ERROR_NOMEM.
 */

/* Base name of a path, malloc'd ("." for NULL, like Xen's helper). */
char *libxl_basename(const char *name);

#pragma GCC visibility pop

#include <libxl_event.h>
#include <libxl_utils.h>

#pragma GCC visibility push(default)

#pragma GCC visibility pop

#endif /* LIBXL_H */
