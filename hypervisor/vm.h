/*
 * vm.h - the domain process: one KVM virtual machine.
 *
 * xenolithd forks one process per domain (vm_main), ahead of need: the
 * process makes its KVM VM as a "spare", then a create gives it its
 * memory and vCPU count (chan.h).  Its main thread serves the channel
 * to the daemon; each vCPU is a thread (vcpu.c).  Nothing in here
 * touches another domain.
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
#include <stdint.h>
#include <sys/types.h>

#include <linux/kvm.h>

#include "xenctrl.h"
#include "devices/power.h"
#include "devices/serial.h"

/* Xen's HVM limit, which the MADT's 8-bit APIC ids also allow. */
#define VM_MAX_VCPUS 128

struct vm;

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

    pthread_mutex_t chan_lock;    /* serialises sends on chan_fd */
    pthread_mutex_t dev_lock;     /* device models */
    struct serial serial;
    struct power power;
};

/*
 * Body of a domain process: never returns.  chan_fd is its only
 * descriptor worth keeping; the caller has closed the others.  It makes
 * the VM, reports SPARE_READY, waits for CHAN_CONFIG (chan.h), then
 * finishes the domain and serves the channel.
 */
void vm_main(int chan_fd) __attribute__((noreturn));

/*
 * Fork a domain process running vm_main(): *pid_r, and in *chan_r the
 * daemon's end of its channel (close-on-exec, blocking).  Returns 0 or
 * -errno.  (The fuzz harness links its own, which forks nothing.)
 */
int vm_spawn(pid_t *pid_r, int *chan_r);

/* Report to the daemon (any thread). */
void vm_send(struct vm *vm, uint32_t op, const void *payload, size_t len);
void vm_log(struct vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Stop every vCPU for good and report reason (XC_SHUTDOWN_*) once. */
void vm_stop(struct vm *vm, unsigned int reason);

/* Raise or lower an ISA interrupt line of the in-kernel irqchip. */
void vm_irq_line(struct vm *vm, unsigned int irq, int level);

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
/* Read the registers of a vCPU that is parked (vm.lock held). */
int vcpu_get_context(struct vcpu *vcpu, struct xc_vcpu_context *ctx);
int vcpu_signal_init(void);

#endif /* XENOLITH_VM_H */
