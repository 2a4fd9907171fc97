/*
 * xendm.h - qemu-system-x86_64 as a domain's device model, driven over
 * QMP.  Internal to Xenolith (a noinst library libs/light links).
 *
 * A device model is started from a struct xendm_config: the command line
 * is built (xendm_argv), qemu is spawned paused (-S) with its output in a
 * log file, the QMP socket is connected and capabilities negotiated.
 * Then commands go out asynchronously (xendm_qmp_send, replies through a
 * callback) or synchronously (xendm_qmp_call); events (SHUTDOWN, RESET,
 * STOP, RESUME, GUEST_PANICKED) reach the config's event callback.  The
 * QMP fd is non-blocking: an event loop polls xendm_pollfd and calls
 * xendm_io.  xendm_destroy quits qemu (SIGKILL if it does not go) and
 * removes the socket, pid file and log.
 *
 * Callbacks (events, replies) run inside xendm_io and the synchronous
 * calls; they may send commands but must not call xendm_destroy.
 *
 * Errors: functions return 0 or a negative errno value and log the reason
 * (what failed, the path, the domid) through the caller's logger; a
 * library never writes to stderr.  Allocation failure is -ENOMEM.
 * Objects are not thread-safe: one thread drives one device model.
 */
#ifndef XENDM_H
#define XENDM_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

/* ---- logging: everything the library says goes through this. */
enum xendm_level {
    XENDM_DEBUG,
    XENDM_INFO,
    XENDM_NOTICE,
    XENDM_WARN,
    XENDM_ERROR,
};

struct xendm_logger {
    void (*log)(void *opaque, enum xendm_level level, const char *msg);
    void *opaque;
};

/* ---- acceleration. */
enum xendm_accel {
    XENDM_ACCEL_AUTO,   /* hardware KVM when present, else TCG */
    XENDM_ACCEL_KVM,
    XENDM_ACCEL_TCG,
};

/*
 * Which accelerator AUTO means on this host: KVM when /dev/kvm opens and
 * the loaded KVM module is a hardware one (kvm_intel, kvm_amd), TCG
 * otherwise -- notably for kvm_pvm, KVM done in software inside a VM,
 * which runs guests but slower and less faithfully than TCG here.
 * Falling back to TCG logs one notice saying why.  sysfs_root is
 * normally NULL ("/sys"); tests point it elsewhere.
 */
enum xendm_accel xendm_accel_detect(const struct xendm_logger *lg,
                                    const char *sysfs_root,
                                    const char *dev_kvm);

/* The host's TSC frequency in kHz (from the kernel's tsc_khz when the
 * sysfs file exists, else the "cpu MHz" of /proc/cpuinfo), or 0. */
unsigned long xendm_host_tsc_khz(void);

/* ---- configuration. */
enum xendm_machine {
    XENDM_MACHINE_PC,
    XENDM_MACHINE_Q35,
    XENDM_MACHINE_MICROVM,
};

enum xendm_bios {
    XENDM_BIOS_DEFAULT, /* qemu's own choice (SeaBIOS; qboot on microvm) */
    XENDM_BIOS_SEABIOS,
    XENDM_BIOS_OVMF,
};

enum xendm_disk_bus {
    XENDM_DISK_IDE,     /* emulated IDE (pc) or AHCI (q35) */
    XENDM_DISK_VIRTIO,  /* virtio-blk (PCI; MMIO on microvm) */
    XENDM_DISK_SCSI,    /* a disk on an emulated SCSI controller */
    XENDM_DISK_VHOST_USER, /* virtio-blk served by a backend process
                            * (xenolith-blkback) over vhost-user */
};

/*
 * Disk slots and ids.  A disk's slot is 1 + its index on its bus:
 *   IDE on pc (PIIX): slot 1..4 = hda..hdd = bus ide.0 unit 0, ide.0
 *     unit 1, ide.1 unit 0, ide.1 unit 1;
 *   IDE on q35 (ICH9 AHCI): slot 1..6 = port ide.0..ide.5;
 *   SCSI (one lsi53c895a, virtio-scsi on microvm, id "scsi0"): slot
 *     1..7 = scsi-id 0..6;
 *   virtio-blk and vhost-user: no slot (the field is ignored).
 * Slot 0 takes the lowest slot of its bus that no other disk names.
 * qemu's ids: a disk whose id is set gets it as both its drive (block
 * backend) and device id.  A cdrom without an id gets "ide-<slot-1>"
 * (IDE/AHCI: "ide-2" for hdc) or "scsi-<slot-1>", the same for drive
 * and device, so QMP's blockdev-change-medium and eject name it with
 * "id".  Other disks without an id: drive "disk<i>" (i = index in
 * disks[]), no device id.  IDE/AHCI hard disks cannot be read-only
 * (qemu refuses), virtio-blk cannot be a cdrom; no IDE on microvm.
 * format: raw, qcow2, qcow, qed, vpc (or "vhd").
 * A vhost-user disk is the backend's: qemu opens no image, only the
 * backend's unix socket (`socket`; it reconnects when the backend comes
 * back), path and format are unused, and it cannot be a cdrom.  The
 * guest's RAM is then a shared memfd the backend maps.
 */
struct xendm_disk {
    const char *path;           /* NULL or "": an empty cdrom drive */
    const char *format;         /* NULL: "raw"; or "qcow2", ... */
    enum xendm_disk_bus bus;
    bool readonly;
    bool cdrom;                 /* a removable cdrom (IDE/AHCI) */
    unsigned int slot;          /* 1 + index on its bus (hda/sda/xvda
                                 * = 1, hdc = 3, ...); 0: the next free */
    const char *id;             /* qemu's device id, for QMP (cd-insert);
                                 * NULL: chosen by the library */
    const char *socket;         /* XENDM_DISK_VHOST_USER: the backend's */
};

/* An emulated NIC on a tap device qemu opens (script=no): the vif
 * hotplug script then puts the tap on its bridge. */
struct xendm_nic {
    const char *model;          /* "e1000", "rtl8139", "virtio-net", ...
                                 * (NULL: "e1000") */
    const char *mac;            /* "00:16:3e:xx:xx:xx" */
    const char *ifname;         /* the tap device, e.g. "vif3.0-emu" */
    const char *socket;         /* set: a virtio-net NIC a backend process
                                 * serves over vhost-user (its socket;
                                 * ifname is then the backend's tap) */
};

/* Whether model is a NIC model xendm_argv knows: "e1000", "e1000e",
 * "rtl8139", "virtio-net" (or "virtio-net-pci"), "ne2k_pci", "pcnet",
 * "i82551", "i82557b", "i82559er", "vmxnet3"; NULL counts as the
 * default.  On microvm only virtio-net works.  xendm_argv refuses others
 * with -EINVAL; the caller names the key in its error. */
bool xendm_nic_model_valid(const char *model);

enum xendm_vga {
    XENDM_VGA_DEFAULT,          /* std when a display (vnc, sdl, spice)
                                 * is on, else none */
    XENDM_VGA_NONE,
    XENDM_VGA_STD,
    XENDM_VGA_CIRRUS,
    XENDM_VGA_QXL,
};

/* What an HVM guest's machine has besides disks and NICs (xl.cfg's keys;
 * zero-initialised = qemu's defaults for the machine, no display). */
struct xendm_hvm {
    const char *boot;           /* boot order, e.g. "cd" (xl.cfg boot=) */
    bool no_acpi;               /* acpi=0: machine acpi=off */
    bool no_apic;               /* apic=0: one vCPU without a local APIC
                                 * (-cpu ...,-apic); ignored with more
                                 * vCPUs, as Xen's apic is */
    bool no_hpet;               /* hpet=0: machine hpet=off */
    enum xendm_vga vga;
    unsigned int videoram_mib;  /* 0: Xen's default (std 16, cirrus 8,
                                 * qxl 128) */
    bool localtime;             /* RTC in local time */
    long long rtc_timeoffset;   /* seconds added to the RTC */
    /* Displays: VNC when vnc is set (listen address, display number,
     * password); SDL when sdl; SPICE when spice. */
    bool vnc;
    const char *vnclisten;      /* NULL: "127.0.0.1" */
    int vncdisplay;             /* -1: unused (vncunused) */
    const char *vncpasswd;      /* only switches password=on: the caller
                                 * sets it over QMP after the start,
                                 * change-vnc-password (as Xen does) */
    bool sdl;
    bool spice;
    unsigned int spice_port, spice_tls_port;
    const char *spice_host;
    bool spice_disable_ticketing;
    const char *spice_passwd;   /* not on the command line: the caller
                                 * sets it over QMP, set_password
                                 * {"protocol": "spice", ...}; until then
                                 * no client gets in */
    bool spice_agent_mouse, spice_vdagent, spice_clipboard_sharing;
    bool usb;                   /* a USB controller */
    bool usb_tablet;            /* usbdevice = "tablet" */
    bool usb_mouse;             /* usbdevice = "mouse" */
    const char *soundhw;        /* "hda", "ac97", "sb16", "es1370" or
                                 * NULL; the sound goes to SPICE when
                                 * spice is on, else nowhere */
    bool serial;                /* serial = "pty": COM1 on a pty (the
                                 * console); always on for now */
};

enum xendm_event_type {
    XENDM_EVENT_SHUTDOWN,       /* reason: qemu's "reason" field */
    XENDM_EVENT_RESET,
    XENDM_EVENT_STOP,
    XENDM_EVENT_RESUME,
    XENDM_EVENT_GUEST_PANICKED,
    XENDM_EVENT_OTHER,          /* name: qemu's event name */
    XENDM_EVENT_GONE,           /* the QMP connection closed */
};

struct xendm_event {
    enum xendm_event_type type;
    const char *name;           /* QMP event name ("" for GONE) */
    const char *reason;         /* SHUTDOWN: "guest-shutdown", ...; or "" */
    bool guest;                 /* SHUTDOWN/RESET: caused by the guest */
    yajl_val data;              /* the event's "data", or NULL */
};

struct xendm;

typedef void xendm_event_fn(struct xendm *dm, void *opaque,
                            const struct xendm_event *ev);

struct xendm_config {
    unsigned int domid;
    const char *name;           /* NULL: "domain-<domid>" */
    const char *qemu;           /* NULL: qemu-system-x86_64 on PATH */
    const char *run_dir;        /* socket, pid file and log go here */
    enum xendm_machine machine;
    enum xendm_accel accel;
    uint64_t memory_mib;
    unsigned int vcpus;         /* vCPUs at boot */
    unsigned int max_vcpus;     /* 0 or <= vcpus: none to plug later;
                                 * more: -smp maxcpus=, the rest hot-
                                 * pluggable (QMP device_add) */
    /* Direct kernel boot: an ELF vmlinux with a PVH note boots through
     * its PVH entry, a bzImage through the Linux boot protocol. */
    const char *kernel;
    const char *initrd;
    const char *cmdline;
    enum xendm_bios bios;
    const char *firmware;       /* overrides the bios's default path */
    const struct xendm_disk *disks;
    unsigned int nr_disks;
    const struct xendm_nic *nics;
    unsigned int nr_nics;
    const struct xendm_hvm *hvm;        /* NULL: none of it */
    bool balloon;               /* a virtio-balloon device (mem-set) */
    bool no_shutdown;           /* stay (stopped) after the guest's
                                 * shutdown, so the reason is read */
    bool no_reboot;             /* guest reboot = SHUTDOWN event */
    bool share_ram;             /* the guest's RAM a shared memfd, for
                                 * vhost-user backends plugged later
                                 * (always so with a vhost-user disk) */
    bool pvpanic;               /* a pvpanic device: a guest's panic is
                                 * a GUEST_PANICKED event */
    bool die_with_parent;       /* SIGKILL qemu when the thread that
                                 * started it dies (tests, dry runs); a
                                 * domain's qemu normally outlives xl */
    bool core_monitor;          /* a second QMP monitor, the socket
                                 * xendm_core_qmp_path names, for the
                                 * core to hold for the domain's life */
    bool incoming_defer;        /* -incoming defer: qemu waits for a
                                 * saved state (QMP migrate-incoming)
                                 * instead of booting; it stays paused
                                 * (-S) once the state is in */
    bool core_only;             /* with core_monitor: the core's is the
                                 * only monitor; xendm_start opens no QMP
                                 * connection but waits for that socket
                                 * (xendm_qmp_* then fail with -EPIPE,
                                 * xendm_destroy signals qemu) */
    const char *const *extra_args;      /* NULL-terminated, or NULL */
    unsigned int start_timeout_ms;      /* 0: 10 s for QMP to come up */
    xendm_event_fn *event;
    void *event_opaque;
};

/* Default firmware paths (Debian's seabios and ovmf packages). */
#define XENDM_SEABIOS_PATH "/usr/share/seabios/bios-256k.bin"
#define XENDM_OVMF_PATH "/usr/share/ovmf/OVMF.fd"

/*
 * Checks what xendm_argv would refuse (-EINVAL): unknown NIC model, MAC
 * or tap name; disk format, slot, id or bus the machine lacks; bad boot
 * order; SPICE without a port, or with ticketing but no password; VNC
 * listen address with a display and a vncdisplay; unknown soundhw; PCI
 * devices on microvm.  The first problem is logged naming the domain and
 * the setting.  0 or -EINVAL.
 */
int xendm_config_check(const struct xendm_config *cfg,
                       const struct xendm_logger *lg);

/*
 * The command line for cfg, accel already resolved (not AUTO), with the
 * QMP socket, pid file and serial chosen by the library.  *argv_r is
 * NULL-terminated; free with xendm_argv_free.
 */
int xendm_argv(const struct xendm_config *cfg, enum xendm_accel accel,
               const char *qmp_path, const char *pid_path,
               char ***argv_r);
void xendm_argv_free(char **argv);

/* ---- lifecycle. */

/*
 * Checks the paths cfg names (binary, firmware, kernel, initrd, disks;
 * each refusal names the file), spawns qemu paused with stdout/stderr
 * in <run_dir>/qemu-dm-<domid>.log, connects <run_dir>/qemu-dm-<domid>
 * .qmp and negotiates capabilities.  When qemu exits before QMP answers,
 * the error carries the tail of its log.  On success *dm_r is the
 * device model (free with xendm_destroy); on failure nothing is left
 * running or on disk.  Synchronous (up to start_timeout_ms).
 */
int xendm_start(const struct xendm_config *cfg,
                const struct xendm_logger *lg, struct xendm **dm_r);

/*
 * Quits qemu over QMP (SIGTERM, then SIGKILL after timeout_ms; 0 means
 * 3 s), reaps it, and removes the socket, pid file and log (the log is
 * kept when keep_log).  NULL is fine.
 */
void xendm_destroy(struct xendm *dm, unsigned int timeout_ms, bool keep_log);

/*
 * Connects to the QMP monitor at qmp_path of a qemu started elsewhere
 * (by another process: pid is its pid, or 0 when unknown) and negotiates
 * capabilities, waiting up to timeout_ms (0: 5 s) for the socket.
 * Events go to event(opaque).  xendm_destroy on such a device model
 * quits it and, when pid is known, kills it if it does not go; it removes
 * no files.  xendm_release just lets go.
 */
int xendm_connect(const char *qmp_path, unsigned int domid, pid_t pid,
                  const struct xendm_logger *lg, xendm_event_fn *event,
                  void *opaque, unsigned int timeout_ms,
                  struct xendm **dm_r);

/* Closes the QMP connection and frees dm, leaving qemu running and its
 * files in place (a domain's qemu outlives the process that started it).
 * NULL is fine. */
void xendm_release(struct xendm *dm);

/*
 * The files a domain's device model keeps in run_dir: the QMP socket,
 * the core's monitor socket, the pid file and the log (malloc'd;
 * NULL on allocation failure).  xendm_remove_files unlinks them all
 * (the log too unless keep_log); for cleaning up after a qemu that was
 * released and has gone.
 */
char *xendm_file_path(const char *run_dir, unsigned int domid,
                      const char *suffix);
void xendm_remove_files(const char *run_dir, unsigned int domid,
                        bool keep_log);

pid_t xendm_pid(const struct xendm *dm);
const char *xendm_core_qmp_path(const struct xendm *dm);
const char *xendm_log_path(const struct xendm *dm);
const char *xendm_qmp_path(const struct xendm *dm);
enum xendm_accel xendm_accel_used(const struct xendm *dm);

/* Whether qemu has exited (reaped without blocking); *status_r gets the
 * waitpid status when it has. */
bool xendm_exited(struct xendm *dm, int *status_r);

/* The last lines of qemu's log joined by " | " (malloc'd), or NULL. */
char *xendm_log_tail(const char *path, unsigned int lines);

/* ---- QMP, asynchronous. */

/* rc is 0 with ret (the "return" value) or negative (-EIO for a QMP
 * error, logged with its class and description; -EPIPE when qemu went
 * away).  ret is valid only during the call. */
typedef void xendm_reply_fn(struct xendm *dm, void *opaque, int rc,
                            yajl_val ret);

/* Queues a command; args_json is a JSON object or NULL.  cb may be NULL.
 * 0 or -errno (the callback then never runs). */
int xendm_qmp_send(struct xendm *dm, const char *command,
                   const char *args_json, xendm_reply_fn *cb, void *opaque);

/* For poll(): the fd and the events wanted now (POLLOUT while output is
 * queued). */
void xendm_pollfd(const struct xendm *dm, struct pollfd *pfd);

/* Does the I/O poll() reported: writes queued output, reads, dispatches
 * replies and events.  0, or -EPIPE once the connection closed (the GONE
 * event and the pending callbacks have run by then). */
int xendm_io(struct xendm *dm, short revents);

/* ---- QMP, synchronous (poll loops inside; events are dispatched). */

/* Sends command and waits up to timeout_ms (0: 5 s) for its reply.  On
 * success, when ret_r is not NULL, *ret_r is the reply's "return" value
 * (free with yajl_tree_free). */
int xendm_qmp_call(struct xendm *dm, const char *command,
                   const char *args_json, unsigned int timeout_ms,
                   yajl_val *ret_r);

/* Runs the loop until an event of type arrives or timeout_ms passes
 * (-ETIMEDOUT).  An event of that type that arrived earlier (during
 * another call) and was not waited for yet counts; waiting consumes it.
 * *reason_r (malloc'd) gets a SHUTDOWN's reason, else "". */
int xendm_wait_event(struct xendm *dm, enum xendm_event_type type,
                     unsigned int timeout_ms, char **reason_r);

/* query-status: *status_r (malloc'd) is e.g. "prelaunch", "running",
 * "paused", "shutdown"; *running_r its running flag.  Either may be
 * NULL. */
int xendm_query_status(struct xendm *dm, char **status_r, bool *running_r);

/* query-chardev: the host pty of the guest's serial port ("serial0"),
 * e.g. "/dev/pts/3" (malloc'd). */
int xendm_serial_pty(struct xendm *dm, char **path_r);

/* cont, stop, system_powerdown (ACPI power button), system_reset. */
int xendm_cont(struct xendm *dm);
int xendm_stop(struct xendm *dm);
int xendm_powerdown(struct xendm *dm);
int xendm_reset(struct xendm *dm);

#endif
