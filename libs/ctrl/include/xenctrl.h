/*
 * xenctrl.h - libxenctrl, the low-level client of the Xenolith core.
 *
 * The core (hypervisor/xenolithd) runs each domain as a KVM virtual
 * machine in its own process.  This library talks to it over the unix
 * socket $XENOLITH_RUNDIR/core.sock (default /run/xenolith/core.sock);
 * the protocol is private to the library and the daemon (see
 * hypervisor/proto.h).  Only root or members of the group "xenolith" may
 * use the core; every call of anyone else fails with -EACCES.
 *
 * Conventions:
 *  - Functions returning int return 0 (or a count) on success and a
 *    negative errno value on failure; errno is set to the same (positive)
 *    value, so Xen-style "rc < 0 then look at errno" callers work too.
 *  - Failures are also logged through the logger given to
 *    xc_interface_open(), naming the domain and the reason.  The library
 *    never writes to stderr.
 *  - An xc_interface is not thread-safe: use one per thread, or lock.
 *  - Domain ids: 0 is the host ("dom0"); guests are 1 .. XC_DOMID_MAX.
 */
#ifndef XENCTRL_H
#define XENCTRL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xentoollog.h"

/* Compatibility contract: the interface version this header describes.
 * 2: struct xc_vcpu_context grew (xc_vcpu_getcontext), triggers and the
 * credit scheduler were added.
 * 3: device-model domains (XC_DOMCFG_DEVICE_MODEL, xc_domain_attach_dm,
 * xc_dominfo_t.dm).
 * 4: xc_dm_qmp.
 * 5: xc_domain_virtio_add.
 * 6: xc_domain_virtio_del, xc_domain_virtio_state; virtio_add into a
 * running domain. * 7: xc_domain_dirty_log, xc_domain_state_get, xc_domain_state_set,
 *    xc_domain_memfd.
 */
#define XENOLITH_CTRL_INTERFACE_VERSION 7

#define XC_PAGE_SHIFT 12
#define XC_PAGE_SIZE  (1UL << XC_PAGE_SHIFT)

/* Domain ids, as in Xen. */
#define XC_DOMID_MAX            0x7fefU
#define DOMID_FIRST_RESERVED    0x7ff0U
#define DOMID_INVALID           0x7ff4U

/* Shutdown reasons, numbered as Xen's SHUTDOWN_* (sched.h). */
#define XC_SHUTDOWN_poweroff    0
#define XC_SHUTDOWN_reboot      1
#define XC_SHUTDOWN_suspend     2
#define XC_SHUTDOWN_crash       3
#define XC_SHUTDOWN_watchdog    4
#define XC_SHUTDOWN_soft_reset  5

typedef uint8_t xen_domain_handle_t[16];

/* ------------------------------------------------------------ interface */

typedef struct xc_interface_core xc_interface;

/*
 * Connect to the core.  logger receives errors (NULL: discard);
 * dombuild_logger is used by the domain builder (NULL: use logger).
 * open_flags: 0.  Returns NULL on failure with errno set (the reason is
 * also logged): ENOENT/ECONNREFUSED no daemon, EACCES not privileged,
 * EPROTO the daemon speaks another protocol version.
 * The loggers are borrowed: they must outlive the interface.
 */
xc_interface *xc_interface_open(xentoollog_logger *logger,
                                xentoollog_logger *dombuild_logger,
                                unsigned open_flags);

/* Closes the connection and unmaps nothing (mappings stay valid).
 * NULL is accepted.  Returns 0. */
int xc_interface_close(xc_interface *xch);

/* The loggers given at open (for the builder's messages). */
xentoollog_logger *xc_interface_logger(xc_interface *xch);
xentoollog_logger *xc_interface_dombuild_logger(xc_interface *xch);

/* Socket path the library uses: $XENOLITH_CORE_SOCKET if set, else
 * ($XENOLITH_RUNDIR or /run/xenolith)/core.sock.  Static buffer. */
const char *xc_core_socket_path(void);

/* ------------------------------------------------------------ domains */

/* xc_domain_config.flags */
#define XC_DOMCFG_HVM          (1U << 0)  /* PVH/HVM container (always) */
#define XC_DOMCFG_CONSOLE_LOG  (1U << 1)  /* log console to a file */
#define XC_DOMCFG_DEVICE_MODEL (1U << 2)  /* runs in qemu: see below */

struct xc_domain_config {
    uint32_t max_vcpus;       /* 1 .. xc_physinfo.max_vcpus */
    uint32_t flags;           /* XC_DOMCFG_* */
    uint64_t memory_kb;       /* guest RAM, multiple of 4, >= 2048 */
    xen_domain_handle_t handle;  /* opaque 16 bytes (the uuid) */
};

/*
 * Create a domain, PAUSED (as Xen does): memory and vCPUs exist, no vCPU
 * runs until xc_domain_unpause().  *domid_r in: a wanted id (1 ..
 * XC_DOMID_MAX) or 0 / DOMID_INVALID to let the core choose the lowest
 * free id; out: the id.  Errors: -EINVAL bad vCPU count or memory size,
 * -ENOMEM memory above what the host can give, -EEXIST the wanted id is
 * in use, -ENOSPC no free id, -EIO the domain process failed to set up
 * KVM (logged with the reason).  On failure nothing is left behind.
 */
int xc_domain_create(xc_interface *xch, uint32_t *domid_r,
                     const struct xc_domain_config *config);

/*
 * Device-model domains (XC_DOMCFG_DEVICE_MODEL): the guest runs in a
 * qemu-system-x86_64 the caller starts; the core keeps the domain's
 * record (id, memory, vCPUs, state, CPU time, console) but makes no KVM
 * VM and no guest memory for it (xc_map_foreign_range, platform info and
 * vCPU contexts are -EOPNOTSUPP).  xc_domain_create() returns at once
 * with the domain paused; the caller starts qemu paused (-S) with a QMP
 * monitor for the core and hands it over with xc_domain_attach_dm().
 * From then on the core supervises qemu over that monitor:
 *  - pause / unpause: QMP stop / cont; qemu's STOP and RESUME events
 *    keep the domain's paused flag true to qemu's state;
 *  - xc_domain_shutdown(reason) and the RESET trigger: qemu is stopped
 *    and the domain shuts down with that reason (reboot for RESET);
 *    the POWER trigger: QMP system_powerdown (the ACPI power button);
 *  - qemu's SHUTDOWN event: guest-shutdown -> poweroff, guest-reset ->
 *    reboot, guest-panic (and GUEST_PANICKED) -> crash; qemu exiting or
 *    closing the monitor unasked -> crash (logged);
 *  - the console: qemu's serial0 pty is relayed both ways through the
 *    core's console (xc_console_*), as for any domain;
 *  - xc_dominfo_t: cpu_time and pid are qemu's, all vCPUs are online,
 *    dm is set; the credit scheduler applies to qemu's process;
 *  - xc_domain_destroy: QMP quit, SIGKILL if qemu does not go within
 *    2 s, then the domain is gone.
 * Before the attach, pause/unpause/shutdown/triggers fail with -EBUSY.
 */

/*
 * Attach the qemu of device-model domain domid: its pid and the path of
 * the QMP socket it listens on for the core (qemu-dm's core monitor).
 * Returns 0 once the core is connected and has qemu's serial pty (the
 * domain is still paused), or -errno (logged here and, with the path,
 * in the core's log): -ESRCH no such domain; -EINVAL not a device-model
 * domain, one already attached, or no process pid; -ECONNREFUSED,
 * -ENOENT or -ETIMEDOUT the monitor cannot be reached; -EIO qemu
 * answered but not as expected.  A failed attach leaves the domain as
 * it was (attach again or destroy it); qemu is left alone.
 */
int xc_domain_attach_dm(xc_interface *xch, uint32_t domid, pid_t pid,
                        const char *core_qmp_path);

/*
 * Have the core send one QMP command to device-model domain domid's
 * qemu: the core's supervisor is qemu's only client, and logs every
 * command with the domain (its name, not its arguments).  The commands
 * a client may send are those a toolstack drives a running guest's
 * devices with: eject, blockdev-change-medium, balloon,
 * change-vnc-password, set_password, query-hotpluggable-cpus,
 * device_add, device_del, chardev-add, chardev-remove (a disk's or
 * NIC's vhost-user socket), query-pci, netdev_add, netdev_del.
 * args_json is a JSON object or NULL.  On
 * success *ret_json_r (when not NULL) is qemu's "return" value as JSON
 * text (malloc'd).  Returns 0 or -errno (logged): -EIO qemu refused
 * (its error is in the core's log), -EPERM a command not on the list,
 * -EOPNOTSUPP not a device-model domain, -EBUSY qemu not attached yet,
 * -ESRCH no such domain, -EINVAL a command over 63 bytes.
 */
int xc_dm_qmp(xc_interface *xch, uint32_t domid, const char *command,
              const char *args_json, char **ret_json_r);

/*
 * Give domain domid of the core a virtio device (XC_VIRTIO_NET or
 * XC_VIRTIO_BLOCK) whose rings the vhost-user backend listening at
 * socket_path serves; mac is a network device's address (6 bytes), NULL
 * for a disk.  A domain that has run is told of the device (ACPI PCI
 * hotplug) and its guest sets it up.  Returns the device's slot (1..31:
 * the guest's PCI device 00:<slot>.0) or -errno (logged with the core's
 * reason): -EEXIST a device from that socket is there, -ENOSPC no free
 * slot,
 * -EOPNOTSUPP a device-model domain (qemu has its own devices),
 * -ETIMEDOUT / -ECONNREFUSED / -ENOENT / -EIO the backend did not answer
 * or failed.
 */
#define XC_VIRTIO_NET   1
#define XC_VIRTIO_BLOCK 2
int xc_domain_virtio_add(xc_interface *xch, uint32_t domid,
                         unsigned int device_id, const char *socket_path,
                         const uint8_t *mac);

/*
 * Take the device served from socket_path out of the domain.  Without
 * XC_VIRTIO_DEL_FORCE the guest is asked to release it (ACPI eject
 * request) and this returns at once: xc_domain_virtio_state tells when
 * the guest has; with it the device goes now (a surprise removal the
 * guest is told of).  0 or -errno (logged): -ENOENT no such device.
 */
#define XC_VIRTIO_DEL_FORCE 1u
int xc_domain_virtio_del(xc_interface *xch, uint32_t domid,
                         const char *socket_path, unsigned int flags);

/* XC_VIRTIO_GONE (not, or no longer, in the domain), XC_VIRTIO_PRESENT,
 * XC_VIRTIO_EJECTING (the guest was asked to release it), or -errno. */
#define XC_VIRTIO_GONE      0
#define XC_VIRTIO_PRESENT   1
#define XC_VIRTIO_EJECTING  2
int xc_domain_virtio_state(xc_interface *xch, uint32_t domid,
                           const char *socket_path);

/*
 * Save and restore of a domain of the core (libxl_save.c; the stream is
 * docs/STREAM.md).  Guest RAM is read and written through the memfd
 * (xc_domain_memfd); these move the rest.  -EOPNOTSUPP for a
 * device-model domain (qemu migrates its own).
 *
 * xc_domain_dirty_log: XC_DIRTY_START has KVM log the guest's writes to
 * RAM, XC_DIRTY_STOP ends it.  XC_DIRTY_FETCH with first_page 0 takes
 * the log (clearing it) and copies the bitmap of the pages written since
 * the last take into bitmap (bit n of byte b: page 8b + n of the memfd),
 * from first_page on, at most cap bytes; with first_page > 0 (a multiple
 * of 8) it reads on in the same take.  Returns the bytes copied (0 past
 * the end) or -errno.  Virtio backends' writes are not in the log.
 */
#define XC_DIRTY_START 1u
#define XC_DIRTY_STOP  2u
#define XC_DIRTY_FETCH 3u
int xc_domain_dirty_log(xc_interface *xch, uint32_t domid, unsigned int cmd,
                        uint64_t first_page, void *bitmap, size_t cap);

/*
 * State record index (from 0) of a paused domain: *type_r (STREAM_
 * PLATFORM, _VCPU or _DEVICE of libs/stream) and its body in body (at
 * most cap bytes).  Returns the body's length, -ENOENT past the last
 * record, -EBUSY when it runs, -EOPNOTSUPP when its devices cannot be
 * saved (logged with the core's reason), or another -errno.
 */
int xc_domain_state_get(xc_interface *xch, uint32_t domid, uint32_t index,
                        uint32_t *type_r, void *body, size_t cap);

/* Load one such record into a domain created for it, before it first
 * runs.  0 or -errno (logged with the core's reason). */
int xc_domain_state_set(xc_interface *xch, uint32_t domid, uint32_t type,
                        const void *body, size_t len);

/* Kill the domain's process and free everything.  The domain is
 * "dying" until the process is reaped, then gone (-ESRCH after).
 * Returns once it is gone. */
int xc_domain_destroy(xc_interface *xch, uint32_t domid);

/* Stop / restart all vCPUs.  Pausing a paused domain is a no-op.
 * Returns once every vCPU has left (or re-entered) guest mode. */
int xc_domain_pause(xc_interface *xch, uint32_t domid);
int xc_domain_unpause(xc_interface *xch, uint32_t domid);

/* Mark the domain shut down with reason (XC_SHUTDOWN_*), as if the guest
 * had done so: its vCPUs stop and it stays until destroyed. */
int xc_domain_shutdown(xc_interface *xch, uint32_t domid, int reason);

typedef struct xc_dominfo {
    uint32_t domid;
    unsigned int dying:1, crashed:1, shutdown:1, paused:1, blocked:1,
                 running:1, hvm:1,
                 dm:1;              /* XC_DOMCFG_DEVICE_MODEL */
    unsigned int shutdown_reason;   /* XC_SHUTDOWN_*, valid if shutdown */
    unsigned long nr_pages;         /* guest RAM pages */
    uint64_t max_memkb;             /* from xc_domain_setmaxmem */
    uint64_t cpu_time;              /* ns, all vCPUs together */
    unsigned int nr_online_vcpus;   /* vCPUs started by the guest */
    unsigned int max_vcpu_id;       /* max_vcpus - 1 */
    xen_domain_handle_t handle;
    pid_t pid;                      /* the domain's process (0 if gone;
                                       a device-model domain's qemu) */
} xc_dominfo_t;

/* Info on one domain.  -ESRCH if there is no such domain. */
int xc_domain_getinfo_single(xc_interface *xch, uint32_t domid,
                             xc_dominfo_t *info);

/* Info on up to max_domains domains with id >= first_domain, in id
 * order.  Returns the number filled (0 if none). */
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                          unsigned int max_domains, xc_dominfo_t *info);

/* Record the memory limit (KiB) the toolstack allows; guest RAM is fixed
 * at create time, so this is bookkeeping for the balloon target. */
int xc_domain_setmaxmem(xc_interface *xch, uint32_t domid,
                        uint64_t max_memkb);

/* Check max (must equal the count given at create; KVM vCPUs cannot be
 * added later).  -EINVAL otherwise. */
int xc_domain_max_vcpus(xc_interface *xch, uint32_t domid,
                        unsigned int max);

/* Pin vCPU vcpu's thread to the host CPUs set in cpumap (bit n = CPU n,
 * nbytes bytes).  -EINVAL for an empty or offline set. */
int xc_vcpu_setaffinity(xc_interface *xch, uint32_t domid, int vcpu,
                        const uint8_t *cpumap, size_t nbytes);

/* ------------------------------------------------------------ host */

typedef struct xc_physinfo {
    uint32_t threads_per_core;
    uint32_t cores_per_socket;
    uint32_t nr_cpus;            /* online host CPUs */
    uint32_t max_cpu_id;
    uint32_t nr_nodes;
    uint32_t max_node_id;
    uint32_t cpu_khz;
    uint32_t max_vcpus;          /* KVM's limit per domain */
    uint64_t total_pages;        /* host RAM pages */
    uint64_t free_pages;         /* MemAvailable, pages */
    uint64_t scrub_pages;        /* always 0 */
    uint32_t nr_domains;         /* guests alive */
    uint32_t capabilities;       /* XC_PHYSCAP_* */
} xc_physinfo_t;

#define XC_PHYSCAP_hvm   (1U << 0)
#define XC_PHYSCAP_pv    (1U << 1)   /* never set */
#define XC_PHYSCAP_hap   (1U << 2)

int xc_physinfo(xc_interface *xch, xc_physinfo_t *info);

/* Version queries, numbered as Xen's XENVER_* (version.h). */
#define XENVER_version      0   /* returns (major << 16) | minor */
#define XENVER_extraversion 1   /* arg: char[16] */
#define XENVER_compile_info 2   /* arg: xen_compile_info_t */
#define XENVER_capabilities 3   /* arg: char[1024] */
#define XENVER_changeset    4   /* arg: char[64] */
#define XENVER_pagesize     7   /* returns the page size */
#define XENVER_commandline  9   /* arg: char[1024] */

typedef struct xen_compile_info {
    char compiler[64];
    char compile_by[16];
    char compile_domain[32];
    char compile_date[32];
} xen_compile_info_t;

/* As Xen: returns the value for XENVER_version / _pagesize, 0 for the
 * others (filling arg), -EINVAL for an unknown cmd. */
int xc_version(xc_interface *xch, int cmd, void *arg);

/* ------------------------------------------------------------ memory */

/*
 * Map size bytes of the domain's memory starting at guest frame pfn into
 * this process (the domain's memfd is passed over the socket on each
 * call and closed after the mmap).  prot: PROT_READ / PROT_WRITE.  size
 * is rounded up to pages.  The range must lie below low_ram_end or in
 * the RAM above 4 GiB (xc_domain_platform_info; the ACPI area below
 * 1 MiB is included).  Returns the address (release with
 * munmap(addr, size)) or NULL with errno set (ESRCH, EINVAL).
 */
void *xc_map_foreign_range(xc_interface *xch, uint32_t domid, int size,
                           int prot, unsigned long pfn);

/*
 * The domain's guest RAM as its memfd (a descriptor of the caller's, to
 * close; map it MAP_SHARED): *size_r bytes, the first *low_end_r of
 * them at guest-physical 0, the rest from 4 GiB.  Pages the guest never
 * touched are holes (lseek SEEK_DATA / SEEK_HOLE).  The fd, or -errno.
 */
int xc_domain_memfd(xc_interface *xch, uint32_t domid, uint64_t *size_r,
                    uint64_t *low_end_r);

/* ------------------------------------------------------------ platform */

/* e820 range types (ACPI numbering). */
#define XC_E820_RAM       1
#define XC_E820_RESERVED  2
#define XC_E820_ACPI      3
#define XC_E820_NVS       4

#define XC_MAX_E820 16

struct xc_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;        /* XC_E820_* */
    uint32_t reserved;
};

/*
 * What the domain builder must put into hvm_start_info: the ACPI RSDP
 * address the core wrote, the guest memory map (give it verbatim as the
 * start info's memmap), and the RAM size.  The builder must only load
 * into XC_E820_RAM ranges; low_ram_end / the RAM entries tell where.
 */
struct xc_platform_info {
    uint64_t rsdp_paddr;
    uint64_t memory_kb;           /* guest RAM */
    uint64_t low_ram_end;         /* end of RAM below 4 GiB */
    uint32_t nr_vcpus;
    uint32_t nr_e820;
    struct xc_e820_entry e820[XC_MAX_E820];
};

int xc_domain_platform_info(xc_interface *xch, uint32_t domid,
                            struct xc_platform_info *info);

/* ------------------------------------------------------------ vCPU */

/* xc_vcpu_context.mode */
#define XC_VCPU_MODE_PVH32  1   /* 32-bit protected mode, paging off, flat
                                   4 GiB code/data segments, CR0 = PE|ET,
                                   CR4 = 0, EFER = 0, IF clear: the PVH
                                   entry state */
/* Modes xc_vcpu_getcontext() reports (never accepted by setcontext). */
#define XC_VCPU_MODE_LONG64 2   /* EFER.LMA and a 64-bit code segment */
#define XC_VCPU_MODE_COMPAT 3   /* EFER.LMA, 32/16-bit code segment */
#define XC_VCPU_MODE_PROT   4   /* CR0.PE, legacy protected mode */
#define XC_VCPU_MODE_REAL   5   /* CR0.PE clear */

/* xc_vcpu_context.flags (from getcontext) */
#define XC_VCPU_CTX_ONLINE  (1U << 0)   /* the vCPU has run guest code
                                           (an AP: once started) */

/* A segment register as the vCPU holds it (hidden part included). */
struct xc_vcpu_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint16_t attr;               /* from bit 0: type:4 s:1 dpl:2 p:1
                                    avl:1 l:1 db:1 g:1 (Xen's
                                    segment_register attr) */
};

struct xc_vcpu_context {
    uint32_t mode;               /* XC_VCPU_MODE_* */
    uint32_t flags;              /* set: 0; get: XC_VCPU_CTX_* */
    uint64_t rip;                /* entry point (eip) */
    uint64_t rsp;
    uint64_t rflags;             /* 0 means 0x2 */
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;   /* ebx = start info */
    /* Filled by xc_vcpu_getcontext(); ignored by setcontext. */
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
    struct xc_vcpu_segment cs, ds, es, fs, gs, ss, tr, ldtr;
    uint64_t gdtr_base, idtr_base;
    uint32_t gdtr_limit, idtr_limit;
};

/*
 * Set the register state vCPU vcpu starts from at the next unpause (the
 * domain must be paused and the vCPU not yet run).  For a PVH boot, set
 * mode = XC_VCPU_MODE_PVH32, rip = entry, rbx = hvm_start_info address
 * on vCPU 0; other vCPUs are started by the guest (INIT-SIPI-SIPI).
 * Errors: -EINVAL bad vcpu or mode, -EBUSY the vCPU has already run.
 */
int xc_vcpu_setcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                       const struct xc_vcpu_context *ctx);

/*
 * Read vCPU vcpu's registers (general, rip, rflags, segments, control
 * registers, EFER) into *ctx; mode says what the vCPU runs in.  The
 * domain must be paused or shut down (crashed, powered off...: its
 * process keeps the vCPUs until destroyed).  A vCPU that never ran
 * reports its reset state, flags without XC_VCPU_CTX_ONLINE.
 * Errors: -EINVAL bad vcpu, -EBUSY the domain is running, -EIO its
 * process is gone (killed), -ESRCH no such domain.
 */
int xc_vcpu_getcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                       struct xc_vcpu_context *ctx);

/* ------------------------------------------------------------ triggers */

/* Triggers, numbered as Xen's XEN_DOMCTL_SENDTRIGGER_* (domctl.h). */
#define XEN_DOMCTL_SENDTRIGGER_NMI    0
#define XEN_DOMCTL_SENDTRIGGER_RESET  1
#define XEN_DOMCTL_SENDTRIGGER_INIT   2
#define XEN_DOMCTL_SENDTRIGGER_POWER  3
#define XEN_DOMCTL_SENDTRIGGER_SLEEP  4

/*
 * As Xen's HVM triggers.  POWER presses the ACPI power button: PM1a
 * status PWRBTN_STS is set and, when the guest has set PWRBTN_EN, the
 * SCI (the FADT's interrupt) is raised until the guest clears the
 * status; the guest decides what to do (usually power off through S5).
 * RESET resets the machine at once: the domain shuts down with reason
 * reboot, as when the guest resets itself.  vcpu is ignored (Xen uses
 * it for NMI/INIT only).  Errors: -EOPNOTSUPP NMI, INIT, SLEEP or an
 * unknown trigger; -ESRCH no such domain; -EBUSY still being created.
 * A domain already shut down ignores them (0).
 */
int xc_domain_send_trigger(xc_interface *xch, uint32_t domid,
                           uint32_t trigger, uint32_t vcpu);

/* ------------------------------------------------------------ scheduler */

/*
 * Credit scheduler parameters, Xen's names: weight 1..65535 (default
 * 256, a share relative to the other domains), cap 0 (none) or a
 * percentage of one host CPU (100 = one CPU; at most 100 x vCPUs).
 * The core applies them to the domain process's cgroup (cgroup v2
 * cpu.weight / cpu.max, or v1 cpu.shares / cpu.cfs_quota_us) in a group
 * of its own under "xenolith", removed when the domain is freed.
 */
struct xen_domctl_sched_credit {
    uint16_t weight;
    uint16_t cap;
};

/* Xen's convention for set: weight 0 keeps the weight, cap 0xFFFF
 * keeps the cap.  Errors: -EINVAL cap above 100 x vCPUs; -EOPNOTSUPP no
 * cgroup cpu controller on this host (logged with where it looked);
 * -EIO writing the cgroup file failed (logged); -ESRCH no domain. */
int xc_sched_credit_domain_set(xc_interface *xch, uint32_t domid,
                               struct xen_domctl_sched_credit *sdom);
/* The values last set (defaults 256 and 0). */
int xc_sched_credit_domain_get(xc_interface *xch, uint32_t domid,
                               struct xen_domctl_sched_credit *sdom);

/* ------------------------------------------------------------ events */

/* A state change: created, paused, unpaused, shut down, destroyed. */
enum xc_domain_event_type {
    XC_EVENT_CREATED = 1,
    XC_EVENT_PAUSED = 2,
    XC_EVENT_UNPAUSED = 3,
    XC_EVENT_SHUTDOWN = 4,       /* reason in shutdown_reason */
    XC_EVENT_DESTROYED = 5,      /* gone; also when its process died */
};

struct xc_domain_event {
    uint32_t type;               /* enum xc_domain_event_type */
    uint32_t domid;
    uint32_t shutdown_reason;    /* for XC_EVENT_SHUTDOWN */
    uint32_t pad;
};

typedef struct xc_evwatch xc_evwatch;

/*
 * Open a subscription to all domains' state changes (a separate
 * connection).  xc_evwatch_fd() becomes readable when events are queued;
 * xc_evwatch_read() returns 1 with one event, 0 if none is pending (never
 * blocks), or -errno (-EPIPE: the daemon went away).  Events are never
 * merged; if the reader lags by more than 4096 events the daemon drops
 * the connection (-EPIPE) and the reader should re-list the domains.
 */
xc_evwatch *xc_evwatch_open(xc_interface *xch);
int xc_evwatch_fd(xc_evwatch *w);
int xc_evwatch_read(xc_evwatch *w, struct xc_domain_event *ev);
void xc_evwatch_close(xc_evwatch *w);

/* ------------------------------------------------------------ console */

/*
 * Each domain's COM1 (16550) is its console.  The core keeps its output
 * in a 64 KiB ring from the first byte, so nothing early is lost.
 */

/* Paths of the console endpoints.  pty is created on first request. */
struct xc_console_info {
    char pty_path[108];          /* /dev/pts/N */
    char socket_path[108];       /* unix stream socket: ring, then live */
    char log_path[320];          /* "" unless XC_DOMCFG_CONSOLE_LOG */
};

int xc_console_info(xc_interface *xch, uint32_t domid,
                    struct xc_console_info *info);

/*
 * Copy the ring's current contents (oldest first) into buf, at most *len
 * bytes (the newest ones if the ring holds more); *len is set to the
 * count copied.  Works after the domain shut down, until destroyed.
 */
int xc_console_read_ring(xc_interface *xch, uint32_t domid, char *buf,
                         size_t *len);

struct xc_console_status {
    uint64_t produced;           /* bytes the guest has written so far */
    uint64_t first_output_ns;    /* CLOCK_MONOTONIC time its first byte
                                    left the guest (stamped by the
                                    domain's process); 0 before that */
    uint32_t shutdown;           /* 1: the domain has shut down, no more
                                    output will come */
    uint32_t pad;
};

/*
 * Wait until the guest has written more than seen bytes in all (compare
 * with produced), the domain shuts down, or timeout_ms pass (< 0: no
 * limit).  Fills *status (may be NULL) and returns 0; -ETIMEDOUT on
 * timeout (nothing filled), -ESRCH if the domain is or goes away.  The
 * wait is served by the core, so nothing polls.  One wait per
 * interface at a time; a wait left by a timeout is dropped by the next.
 */
int xc_console_wait(xc_interface *xch, uint32_t domid, uint64_t seen,
                    int timeout_ms, struct xc_console_status *status);

/* Send bytes to the console input (COM1 receive).  Returns the count
 * accepted. */
int xc_console_write(xc_interface *xch, uint32_t domid, const char *buf,
                     size_t len);

/*
 * The core's own log (for "xl dmesg"), as Xen's call: buffer gets up to
 * *pnr_chars bytes, *pnr_chars set to the count.  clear: empty the log
 * after reading.  incremental: start at *pindex (a byte position that
 * only grows) and update it.
 */
int xc_readconsolering(xc_interface *xch, char *buffer,
                       unsigned int *pnr_chars, int clear, int incremental,
                       uint32_t *pindex);

#endif /* XENCTRL_H */
