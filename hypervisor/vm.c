/*
 * vm.c - what every thread of a domain process shares: reports to the
 * daemon, interrupt lines, stopping, and the devices' side of the domain.
 */
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "chan.h"
#include "proto.h"

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

/*
 * MSI routes: KVM takes the whole GSI routing table at once, so the
 * in-kernel irqchip's own routes (GSIs 0-15 to both PICs and the
 * IOAPIC, 16-23 to the IOAPIC, as KVM_CREATE_IRQCHIP sets them up) go
 * in with every change.
 */
#define IOAPIC_PINS 24

static int commit_routes(struct vm *vm)
{
    struct kvm_irq_routing *t;
    struct kvm_irq_routing_entry *e;
    unsigned int i, n = 0;
    int rc = 0;

    t = calloc(1, sizeof(*t) + (16 + IOAPIC_PINS + VM_MAX_MSI) *
                               sizeof(t->entries[0]));
    if (!t)
        return -ENOMEM;
    for (i = 0; i < IOAPIC_PINS; i++) {
        if (i < 16) {
            e = &t->entries[n++];
            e->gsi = i;
            e->type = KVM_IRQ_ROUTING_IRQCHIP;
            e->u.irqchip.irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER :
                                           KVM_IRQCHIP_PIC_SLAVE;
            e->u.irqchip.pin = i % 8;
        }
        e = &t->entries[n++];
        e->gsi = i;
        e->type = KVM_IRQ_ROUTING_IRQCHIP;
        e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
        e->u.irqchip.pin = i;
    }
    for (i = 0; i < VM_MAX_MSI; i++) {
        if (!vm->msi[i].used)
            continue;
        e = &t->entries[n++];
        e->gsi = vm->msi[i].gsi;
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = (uint32_t)vm->msi[i].addr;
        e->u.msi.address_hi = (uint32_t)(vm->msi[i].addr >> 32);
        e->u.msi.data = vm->msi[i].data;
    }
    t->nr = n;
    if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0) {
        rc = -errno;
        vm_log(vm, "KVM_SET_GSI_ROUTING (%u routes): %s", n,
               strerror(errno));
    }
    free(t);
    return rc;
}

static int host_msi_route(void *opaque, unsigned int gsi, uint64_t addr,
                          uint32_t data, int assign)
{
    struct vm *vm = opaque;
    unsigned int i, free_i = VM_MAX_MSI;

    for (i = 0; i < VM_MAX_MSI; i++) {
        if (vm->msi[i].used && vm->msi[i].gsi == gsi)
            break;
        if (!vm->msi[i].used && free_i == VM_MAX_MSI)
            free_i = i;
    }
    if (i == VM_MAX_MSI) {
        if (!assign)
            return 0;
        if (free_i == VM_MAX_MSI)
            return -ENOSPC;
        i = free_i;
    } else if (assign && vm->msi[i].addr == addr &&
               vm->msi[i].data == data) {
        return 0;                        /* no change */
    }
    vm->msi[i].used = assign;
    vm->msi[i].gsi = gsi;
    vm->msi[i].addr = addr;
    vm->msi[i].data = data;
    return commit_routes(vm);
}

static const struct dev_ram *host_ram(void *opaque, unsigned int *n_r)
{
    struct vm *vm = opaque;

    *n_r = vm->nr_ram;
    return vm->ram;
}

int vm_memory_slots(struct vm *vm, uint32_t flags)
{
    struct kvm_userspace_memory_region r;

    memset(&r, 0, sizeof(r));
    r.slot = 0;
    r.flags = flags;
    r.guest_phys_addr = 0;
    r.memory_size = vm->low_end;
    r.userspace_addr = (uintptr_t)vm->mem;
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return -errno;
    if (vm->mem_size > vm->low_end) {
        r.slot = 1;
        r.guest_phys_addr = LAYOUT_HIGH_BASE;
        r.memory_size = vm->mem_size - vm->low_end;
        r.userspace_addr = (uintptr_t)(vm->mem + vm->low_end);
        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
            return -errno;
    }
    return 0;
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

/* The slot holding the device served from path, or 0. */
static unsigned int slot_of(const struct vm *vm, const char *path)
{
    unsigned int i;

    for (i = 1; i < PCI_SLOTS; i++)
        if (vpci_present(&vm->virtio[i]) &&
            !strcmp(vm->virtio[i].vd.path, path))
            return i;
    return 0;
}

int vm_virtio_add(struct vm *vm, uint32_t device_id, const char *path,
                  const uint8_t *mac, int hot, char *err, size_t errlen)
{
    unsigned int i;
    int rc = -ENOSPC;

    pthread_mutex_lock(&vm->dev_lock);
    /* a slot a forced removal left a ghost in comes last: the guest may
     * not have let go of the old device yet */
    for (i = 1; i < PCI_SLOTS; i++)
        if (!vpci_present(&vm->virtio[i]) && !pci_bus_ghost(&vm->pci, i))
            break;
    if (i == PCI_SLOTS)
        for (i = 1; i < PCI_SLOTS; i++)
            if (!vpci_present(&vm->virtio[i]))
                break;
    if (slot_of(vm, path)) {
        snprintf(err, errlen, "PCI slot %u already holds the device "
                 "served from %s", slot_of(vm, path), path);
        rc = -EEXIST;
    } else if (i == PCI_SLOTS) {
        snprintf(err, errlen, "all %u PCI slots are taken", PCI_SLOTS - 1);
    } else {
        rc = vpci_plug(&vm->virtio[i], device_id, path, mac, err, errlen);
        if (rc == 0 && hot)
            pcihp_check(&vm->pcihp, i);
    }
    pthread_mutex_unlock(&vm->dev_lock);
    return rc < 0 ? rc : (int)i;
}

int vm_virtio_del(struct vm *vm, const char *path, int force, char *err,
                  size_t errlen)
{
    unsigned int i;

    pthread_mutex_lock(&vm->dev_lock);
    i = slot_of(vm, path);
    if (!i) {
        pthread_mutex_unlock(&vm->dev_lock);
        snprintf(err, errlen, "no device of the domain is served from %s",
                 path);
        return -ENOENT;
    }
    if (force) {
        /*
         * Gone at once; the guest is then asked to eject what it still
         * holds: acpiphp removes the driver, which finds the device
         * absent (its ghost BAR reads 0, so the reset ends), and the
         * slot's _EJ0 finds it empty.  A Device Check would not do: it
         * only looks for new devices in the slot.
         */
        vpci_unplug(&vm->virtio[i], 1);
        vm->ejecting &= ~(1U << i);
        pcihp_request_eject(&vm->pcihp, i);
        vm_log(vm, "PCI slot %u (%s): taken away; the guest is told", i,
               path);
    } else {
        vm->ejecting |= 1U << i;
        pcihp_request_eject(&vm->pcihp, i);
        vm_log(vm, "PCI slot %u (%s): the guest is asked to release it", i,
               path);
    }
    pthread_mutex_unlock(&vm->dev_lock);
    return 0;
}

unsigned int vm_virtio_state(struct vm *vm, const char *path)
{
    unsigned int i, state;

    pthread_mutex_lock(&vm->dev_lock);
    i = slot_of(vm, path);
    state = !i ? PROTO_VIRTIO_GONE :
            (vm->ejecting & (1U << i)) ? PROTO_VIRTIO_EJECTING :
                                         PROTO_VIRTIO_PRESENT;
    pthread_mutex_unlock(&vm->dev_lock);
    return state;
}

/* The guest released slot (its _EJ0 ran): a vCPU's port write, with
 * dev_lock held. */
static void guest_ejected(void *opaque, unsigned int slot)
{
    struct vm *vm = opaque;

    if (slot >= PCI_SLOTS || !vpci_present(&vm->virtio[slot]))
        return;
    vm_log(vm, "PCI slot %u (%s): released by the guest", slot,
           vm->virtio[slot].vd.path);
    vpci_unplug(&vm->virtio[slot], 0);
    vm->ejecting &= ~(1U << slot);
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
    vm->host.msi_route = host_msi_route;
    vm->host.ram = host_ram;
    dev_bus_init(&vm->bus);
    serial_init(&vm->serial, &vm->host);
    power_init(&vm->power, &vm->host);
    pci_bus_init(&vm->pci);
    pcihp_init(&vm->pcihp, &vm->power, guest_ejected, vm);
    for (i = 1; i < PCI_SLOTS; i++)
        vpci_init(&vm->virtio[i], &vm->host, &vm->pci, i);
    rc = serial_attach(&vm->serial, &vm->bus);
    if (rc == 0)
        rc = power_attach(&vm->power, &vm->bus);
    if (rc == 0)
        rc = pci_bus_attach(&vm->pci, &vm->bus);
    if (rc == 0)
        rc = pcihp_attach(&vm->pcihp, &vm->bus);
    return rc;
}
