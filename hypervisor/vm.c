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

static int host_ioeventfd(void *opaque, uint64_t addr, unsigned int len,
                          uint64_t datamatch, int fd, int assign)
{
    struct vm *vm = opaque;
    struct kvm_ioeventfd io;

    memset(&io, 0, sizeof(io));
    io.datamatch = datamatch;
    io.addr = addr;
    io.len = len;
    io.fd = fd;
    io.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
               (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
    if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
        int rc = -errno;

        vm_log(vm, "KVM_IOEVENTFD %#llx: %s", (unsigned long long)addr,
               strerror(errno));
        return rc;
    }
    return 0;
}

static int host_irqfd(void *opaque, unsigned int gsi, int fd, int assign)
{
    struct vm *vm = opaque;
    struct kvm_irqfd irq;

    memset(&irq, 0, sizeof(irq));
    irq.fd = (uint32_t)fd;
    irq.gsi = gsi;
    irq.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
    if (ioctl(vm->vm_fd, KVM_IRQFD, &irq) < 0) {
        int rc = -errno;

        vm_log(vm, "KVM_IRQFD GSI %u: %s", gsi, strerror(errno));
        return rc;
    }
    return 0;
}

static const struct dev_ram *host_ram(void *opaque, unsigned int *n_r)
{
    struct vm *vm = opaque;

    *n_r = vm->nr_ram;
    return vm->ram;
}

void vm_ram_mapped(struct vm *vm)
{
    vm->ram[0] = (struct dev_ram){ .gpa = 0, .size = vm->low_end,
                                   .hva = vm->mem, .fd = vm->mem_fd,
                                   .fd_offset = 0 };
    vm->nr_ram = 1;
    if (vm->mem_size > vm->low_end) {
        vm->ram[1] = (struct dev_ram){ .gpa = LAYOUT_HIGH_BASE,
                                       .size = vm->mem_size - vm->low_end,
                                       .hva = vm->mem + vm->low_end,
                                       .fd = vm->mem_fd,
                                       .fd_offset = vm->low_end };
        vm->nr_ram = 2;
    }
}

int vm_virtio_add(struct vm *vm, uint32_t device_id, const char *path,
                  const uint8_t *mac, char *err, size_t errlen)
{
    unsigned int i;
    int rc = -ENOSPC;

    pthread_mutex_lock(&vm->dev_lock);
    for (i = 0; i < LAYOUT_VIRTIO_SLOTS; i++)
        if (!vm->virtio[i].device_id)
            break;
    if (i == LAYOUT_VIRTIO_SLOTS)
        snprintf(err, errlen, "all %u virtio slots are taken",
                 LAYOUT_VIRTIO_SLOTS);
    else
        rc = vmmio_plug(&vm->virtio[i], device_id, path, mac, err, errlen);
    pthread_mutex_unlock(&vm->dev_lock);
    return rc < 0 ? rc : (int)i;
}

int vm_devices_init(struct vm *vm)
{
    unsigned int i;
    int rc;

    vm->host.opaque = vm;
    vm->host.irq_line = host_irq_line;
    vm->host.console_out = host_console_out;
    vm->host.shutdown = host_shutdown;
    vm->host.ioeventfd = host_ioeventfd;
    vm->host.irqfd = host_irqfd;
    vm->host.ram = host_ram;
    dev_bus_init(&vm->bus);
    serial_init(&vm->serial, &vm->host);
    power_init(&vm->power, &vm->host);
    rc = serial_attach(&vm->serial, &vm->bus);
    if (rc == 0)
        rc = power_attach(&vm->power, &vm->bus);
    for (i = 0; rc == 0 && i < LAYOUT_VIRTIO_SLOTS; i++) {
        vmmio_init(&vm->virtio[i], &vm->host,
                   LAYOUT_VIRTIO_BASE + i * LAYOUT_VIRTIO_STRIDE,
                   LAYOUT_VIRTIO_GSI0 + i);
        rc = vmmio_attach(&vm->virtio[i], &vm->bus);
    }
    return rc;
}
