/*
 * vm.c - what every thread of a domain process shares: reports to the
 * daemon, interrupt lines, stopping, and the devices' side of the domain.
 */
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "chan.h"

void vm_send(struct vm *vm, uint32_t op, const void *payload, size_t len)
{
    int sent = 0;

    pthread_mutex_lock(&vm->chan_lock);
    /* a dead daemon is noticed by the main thread (EOF); the next one
     * learns the state from the hello (handover.h) */
    if (vm->chan_fd >= 0)
        sent = chan_send(vm->chan_fd, op, 0, 0, payload, len, 0) == 0;
    if (op == CHAN_CONS_OUT)
        handover_console(&vm->ho, payload, len, sent);
    else if (op == CHAN_CONS_FIRST && len == sizeof(vm->ho.first_ns))
        memcpy(&vm->ho.first_ns, payload, len);
    else if (op == CHAN_VCPU_UP)
        vm->nr_up++;
    pthread_mutex_unlock(&vm->chan_lock);
}

void vm_log(struct vm *vm, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pthread_mutex_lock(&vm->chan_lock);
    if (vm->chan_fd >= 0)
        chan_vlog(vm->chan_fd, CHAN_LOG_WARN, fmt, ap);
    pthread_mutex_unlock(&vm->chan_lock);
    va_end(ap);
}

void vm_irq_line(struct vm *vm, unsigned int irq, int level)
{
    struct kvm_irq_level l;

    memset(&l, 0, sizeof(l));
    l.irq = irq;
    l.level = level;
    if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
        vm_log(vm, "KVM_IRQ_LINE %u: %s", irq, strerror(errno));
}

void vm_stop(struct vm *vm, unsigned int reason)
{
    uint32_t r = reason;
    unsigned int i;
    int first;

    pthread_mutex_lock(&vm->lock);
    first = !vm->stopped;
    vm->stopped = 1;
    if (first)
        vm->stop_reason = reason;
    pthread_mutex_unlock(&vm->lock);
    if (!first)
        return;
    for (i = 0; i < vm->nr_vcpus; i++)
        vm_kick(&vm->vcpus[i]);
    vm_send(vm, CHAN_EVT_SHUTDOWN, &r, sizeof(r));
}

void vm_kick(struct vcpu *vcpu)
{
    if (vcpu->thread_started)
        pthread_kill(vcpu->thread, VM_KICK_SIGNAL);
}

/* The devices' host (devices/bus.h) */

static void host_irq_line(void *opaque, unsigned int irq, int level)
{
    vm_irq_line(opaque, irq, level);
}

/* Console bytes go to the daemon; the first one with its time, for the
 * boot timing of `xl create` (CHAN_CONS_FIRST). */
static void host_console_out(void *opaque, uint8_t byte)
{
    struct vm *vm = opaque;

    if (!vm->console_any) {
        struct timespec ts;
        uint64_t ns;

        vm->console_any = 1;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
        vm_send(vm, CHAN_CONS_FIRST, &ns, sizeof(ns));
    }
    vm_send(vm, CHAN_CONS_OUT, &byte, 1);
}

static void host_shutdown(void *opaque, unsigned int reason)
{
    vm_stop(opaque, reason);
}

int vm_devices_init(struct vm *vm)
{
    int rc;

    vm->host.opaque = vm;
    vm->host.irq_line = host_irq_line;
    vm->host.console_out = host_console_out;
    vm->host.shutdown = host_shutdown;
    dev_bus_init(&vm->bus);
    serial_init(&vm->serial, &vm->host);
    power_init(&vm->power, &vm->host);
    rc = serial_attach(&vm->serial, &vm->bus);
    if (rc == 0)
        rc = power_attach(&vm->power, &vm->bus);
    return rc;
}
