/*
 * vm.h - one KVM virtual machine: the state the threads of a domain
 * process share (vmproc.h is the process, vcpu.h its vCPU threads).
 * Nothing in here touches another domain.
 *
 * Run state (vm.lock protects paused, stopped, parked, online):
 *   created paused --unpause--> running --pause--> paused --> ...
 *   any --guest power-off/reboot/crash or CHAN_SHUTDOWN--> stopped
 * "stopped" is final: the vCPUs stay parked until the daemon kills the
 * process.  A vCPU thread parks (waits on vm.cond) while paused or
 * stopped; pausing waits until every vCPU thread has parked.
 */
#ifndef XENOLITH_VM_H
#define XENOLITH_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/kvm.h>

#include "xenctrl.h"
#include "devices/bus.h"
#include "devices/pci.h"
#include "devices/pcihp.h"
#include "devices/power.h"
#include "devices/serial.h"
#include "devices/virtio_pci.h"
#include "handover.h"
#include "layout.h"

/* Xen's HVM limit, which the MADT's 8-bit APIC ids also allow. */
#define VM_MAX_VCPUS 128

/* MSI routes at once: two vectors per PCI slot (devices/pci.h). */
#define VM_MAX_MSI 64

/* Interrupts a vCPU thread's KVM_RUN (vm_kick); blocked elsewhere. */
#define VM_KICK_SIGNAL SIGUSR1

struct vm;
struct snapshot;

struct vcpu {
    struct vm *vm;
    unsigned int id;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    int thread_started;
    int ran;                      /* has entered KVM_RUN */
    int online;                   /* reported VCPU_UP */
    int have_ctx;
    struct xc_vcpu_context ctx;
};

struct vm {
    uint32_t domid;
    int chan_fd;
    int mem_fd;
    int kvm_fd;
    int vm_fd;
    int run_size;
    uint8_t *mem;                 /* guest RAM, memfd layout */
    uint64_t mem_size;
    uint64_t low_end;
    unsigned int nr_vcpus;        /* vCPUs with a thread */
    struct vcpu *vcpus;           /* VM_MAX_VCPUS slots */
    struct kvm_cpuid2 *cpuid;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    int paused;
    int stopped;
    unsigned int parked;

    unsigned int stop_reason;     /* XC_SHUTDOWN_*, once stopped */
    unsigned int nr_up;           /* vCPUs that reported VCPU_UP */

    pthread_mutex_t chan_lock;    /* serialises sends on chan_fd, and
                                   * guards chan_fd (-1: no daemon) and
                                   * ho, nr_up */
    struct handover ho;           /* for the next daemon (handover.h) */
    pthread_mutex_t dev_lock;     /* the bus and every device on it */
    struct dev_host host;         /* the devices' way back to the vm */
    struct dev_bus bus;           /* vCPU exits are dispatched here */
    struct serial serial;
    struct power power;
    struct pci_bus pci;
    struct pcihp pcihp;
    struct vpci virtio[PCI_SLOTS];  /* by slot; 0 is the host bridge */
    uint32_t ejecting;            /* slots the guest was asked to free */
    struct {
        int used;
        unsigned int gsi;
        uint64_t addr;
        uint32_t data;
    } msi[VM_MAX_MSI];            /* MSI routes (vm.c) */
    struct dev_ram ram[2];        /* guest RAM below and above 4 GiB */
    unsigned int nr_ram;
    int console_any;              /* a console byte went out */
    struct snapshot *snap;        /* save/restore (snapshot.h), or NULL */
};

/* Report to the daemon (any thread); with no daemon, console output
 * waits in vm.ho and events are kept as state for the next one. */
void vm_send(struct vm *vm, uint32_t op, const void *payload, size_t len);
void vm_log(struct vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Stop every vCPU for good and report reason (XC_SHUTDOWN_*) once. */
void vm_stop(struct vm *vm, unsigned int reason);

/* Raise or lower an ISA interrupt line of the in-kernel irqchip. */
void vm_irq_line(struct vm *vm, unsigned int irq, int level);

/* Make vcpu's thread leave KVM_RUN and look at the run state. */
void vm_kick(struct vcpu *vcpu);

/* Put the devices on the bus, their host pointing at vm.  0 or -errno. */
int vm_devices_init(struct vm *vm);

/* Give KVM guest RAM (vm.mem) as its slots (0: below 4 GiB, 1: above),
 * with KVM_MEM_* flags (KVM_MEM_LOG_DIRTY_PAGES).  0 or -errno. */
int vm_memory_slots(struct vm *vm, uint32_t flags);
/* Guest RAM is mapped (vm.mem): describe it for the devices. */
void vm_ram_mapped(struct vm *vm);

/*
 * A virtio device (VIRTIO_ID_*) served by the vhost-user backend at
 * path, in the first free PCI slot; hot: the guest runs already and is
 * told (ACPI PCI hotplug).  Its slot, or -errno with err saying why.
 */
int vm_virtio_add(struct vm *vm, uint32_t device_id, const char *path,
                  const uint8_t *mac, int hot, char *err, size_t errlen);

/*
 * The device served from path leaves: force takes it away now (the
 * guest is told it vanished), otherwise the guest is asked to release
 * it and the slot empties when it has (its _EJ0).  0, or -ENOENT (no
 * device from path, err says so).
 */
int vm_virtio_del(struct vm *vm, const char *path, int force, char *err,
                  size_t errlen);

/* PROTO_VIRTIO_GONE, _PRESENT or _EJECTING for the device from path. */
unsigned int vm_virtio_state(struct vm *vm, const char *path);

#endif /* XENOLITH_VM_H */
