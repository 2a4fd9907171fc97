/*
 * vcpu.c - vCPU threads of a domain process: KVM_RUN and its exits.
 */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "chan.h"
#include "osdep.h"
#include "vm.h"

#define VCPU_STACK_SIZE   (256 * 1024)

/* The kvm_run area of the vCPU this thread runs, for the kick handler. */
static __thread struct kvm_run *this_run;

static void kick_handler(int sig)
{
    (void)sig;
    /* KVM_RUN returns -EINTR at once if the kick came before the entry */
    if (this_run)
        this_run->immediate_exit = 1;
}

int vcpu_signal_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(VM_KICK_SIGNAL, &sa, NULL) < 0)
        return -errno;
    return 0;
}

static void set_cpuid_entry_ids(struct kvm_cpuid2 *c, unsigned int id)
{
    uint32_t i;

    for (i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];

        switch (e->function) {
        case 1:
            e->ebx = (e->ebx & 0x00FFFFFFU) | (id << 24);
            break;
        case 0xB:
        case 0x1F:
            e->edx = id;
            break;
        }
    }
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
    struct kvm_cpuid2 *c = NULL;
    size_t csize;
    int rc;

    vcpu->vm = vm;
    vcpu->id = id;
    vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
    if (vcpu->fd < 0) {
        rc = -errno;
        vm_log(vm, "vcpu%u: KVM_CREATE_VCPU: %s", id, strerror(errno));
        goto out;
    }
    vcpu->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE,
                     MAP_SHARED, vcpu->fd, 0);
    if (vcpu->run == MAP_FAILED) {
        rc = -errno;
        vcpu->run = NULL;
        vm_log(vm, "vcpu%u: mmap kvm_run: %s", id, strerror(errno));
        goto out;
    }
    csize = sizeof(*c) + vm->cpuid->nent * sizeof(c->entries[0]);
    c = malloc(csize);
    if (!c) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(c, vm->cpuid, csize);
    set_cpuid_entry_ids(c, id);
    if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
        rc = -errno;
        vm_log(vm, "vcpu%u: KVM_SET_CPUID2: %s", id, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(c);
    return rc;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
    memset(s, 0, sizeof(*s));
    s->base = 0;
    s->limit = 0xFFFFFFFFU;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->db = 1;
    s->s = 1;
    s->g = 1;
}

/* The PVH entry state (Xen's docs/misc/pvh.pandoc describes it). */
static int apply_context(struct vcpu *v)
{
    const struct xc_vcpu_context *c = &v->ctx;
    struct kvm_sregs sregs;
    struct kvm_regs regs;

    if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    flat_seg(&sregs.cs, 0x10, 0xB);      /* code, execute/read, accessed */
    flat_seg(&sregs.ds, 0x18, 0x3);      /* data, read/write, accessed */
    sregs.es = sregs.ds;
    sregs.fs = sregs.ds;
    sregs.gs = sregs.ds;
    sregs.ss = sregs.ds;
    memset(&sregs.tr, 0, sizeof(sregs.tr));
    sregs.tr.selector = 0x20;
    sregs.tr.limit = 0x67;
    sregs.tr.type = 0xB;                 /* 32-bit TSS, busy */
    sregs.tr.present = 1;
    sregs.cr0 = 0x11;                    /* PE | ET */
    sregs.cr3 = 0;
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
        return -errno;

    memset(&regs, 0, sizeof(regs));
    regs.rip = c->rip;
    regs.rsp = c->rsp;
    regs.rflags = c->rflags ? c->rflags : 0x2;
    regs.rax = c->rax;
    regs.rbx = c->rbx;
    regs.rcx = c->rcx;
    regs.rdx = c->rdx;
    regs.rsi = c->rsi;
    regs.rdi = c->rdi;
    regs.rbp = c->rbp;
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

/* Port I/O: each of count accesses goes to the bus. */
static void io_exit(struct vcpu *v)
{
    struct vm *vm = v->vm;
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    int write = run->io.direction == KVM_EXIT_IO_OUT;
    uint32_t i;

    pthread_mutex_lock(&vm->dev_lock);
    for (i = 0; i < run->io.count; i++, data += run->io.size)
        (void)dev_bus_access(&vm->bus, DEV_PIO, run->io.port, write, data,
                             run->io.size);
    pthread_mutex_unlock(&vm->dev_lock);
}

static void mmio_exit(struct vcpu *v)
{
    struct vm *vm = v->vm;
    struct kvm_run *run = v->run;
    unsigned int len = run->mmio.len;

    if (len > sizeof(run->mmio.data))
        len = sizeof(run->mmio.data);
    pthread_mutex_lock(&vm->dev_lock);
    (void)dev_bus_access(&vm->bus, DEV_MMIO, run->mmio.phys_addr,
                         run->mmio.is_write, run->mmio.data, len);
    pthread_mutex_unlock(&vm->dev_lock);
}

/* What a crashed vCPU was doing, for the log: where it stood and in
 * which mode. */
static void log_state(struct vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
        ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
        vm_log(v->vm, "vcpu%u: reading its registers: %s", v->id,
               strerror(errno));
        return;
    }
    if (r.rip == 0xFFF0 && s.cs.selector == 0xF000) {
        /* SVM leaves the VMCB undefined after a shutdown: KVM resets it */
        vm_log(v->vm, "vcpu%u: its registers were reset by KVM at the exit "
               "(AMD): the state at the fault is lost", v->id);
        return;
    }
    vm_log(v->vm, "vcpu%u: rip %#llx rsp %#llx rflags %#llx cs %#x "
           "cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx efer %#llx "
           "idt %#llx/%#x", v->id,
           (unsigned long long)r.rip, (unsigned long long)r.rsp,
           (unsigned long long)r.rflags, s.cs.selector,
           (unsigned long long)s.cr0, (unsigned long long)s.cr2,
           (unsigned long long)s.cr3, (unsigned long long)s.cr4,
           (unsigned long long)s.efer, (unsigned long long)s.idt.base,
           s.idt.limit);
}

static void handle_exit(struct vcpu *v)
{
    struct vm *vm = v->vm;
    struct kvm_run *run = v->run;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        io_exit(v);
        break;
    case KVM_EXIT_MMIO:
        mmio_exit(v);
        break;
    case KVM_EXIT_HLT:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_INTR:
        break;
    case KVM_EXIT_SHUTDOWN:
        vm_log(vm, "vcpu%u: triple fault (shutdown exit)", v->id);
        log_state(v);
        vm_stop(vm, XC_SHUTDOWN_crash);
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            vm_stop(vm, XC_SHUTDOWN_poweroff);
            break;
        case KVM_SYSTEM_EVENT_RESET:
            vm_stop(vm, XC_SHUTDOWN_reboot);
            break;
        default:
            vm_stop(vm, XC_SHUTDOWN_crash);
            break;
        }
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        vm_log(vm, "vcpu%u: KVM internal error, suberror %u", v->id,
               run->internal.suberror);
        log_state(v);
        vm_stop(vm, XC_SHUTDOWN_crash);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        vm_log(vm, "vcpu%u: VM entry failed, reason 0x%llx", v->id,
               (unsigned long long)
               run->fail_entry.hardware_entry_failure_reason);
        vm_stop(vm, XC_SHUTDOWN_crash);
        break;
    default:
        vm_log(vm, "vcpu%u: unhandled KVM exit %u", v->id, run->exit_reason);
        vm_stop(vm, XC_SHUTDOWN_crash);
        break;
    }
}

static void set_online(struct vcpu *v)
{
    uint32_t id = v->id;

    if (v->online)
        return;
    v->online = 1;
    vm_send(v->vm, CHAN_VCPU_UP, &id, sizeof(id));
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vm *vm = v->vm;
    int first, rc;

    /* guest code runs in long stretches: the default slice */
    osdep_set_slice(0);
    this_run = v->run;
    for (;;) {
        pthread_mutex_lock(&vm->lock);
        if (vm->paused || vm->stopped) {
            vm->parked++;
            pthread_cond_broadcast(&vm->cond);
            while (vm->paused || vm->stopped)
                pthread_cond_wait(&vm->cond, &vm->lock);
            vm->parked--;
        }
        first = !v->ran;
        v->ran = 1;
        pthread_mutex_unlock(&vm->lock);

        if (first && v->have_ctx) {
            rc = apply_context(v);
            if (rc < 0) {
                vm_log(vm, "vcpu%u: loading the context: %s", v->id,
                       strerror(-rc));
                vm_stop(vm, XC_SHUTDOWN_crash);
                continue;
            }
        }
        if (v->id == 0)
            set_online(v);

        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            /* EINTR: kicked; EAGAIN: an AP got INIT, run it again */
            if (errno == EINTR || errno == EAGAIN) {
                v->run->immediate_exit = 0;
                continue;
            }
            vm_log(vm, "vcpu%u: KVM_RUN: %s", v->id, strerror(errno));
            vm_stop(vm, XC_SHUTDOWN_crash);
            continue;
        }
        set_online(v);
        handle_exit(v);
    }
    return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
    pthread_attr_t attr;
    sigset_t all, old;
    int rc;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, VCPU_STACK_SIZE);
    /* the thread inherits this mask: only the kick gets through */
    sigfillset(&all);
    sigdelset(&all, VM_KICK_SIGNAL);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&vcpu->thread, &attr, vcpu_thread, vcpu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        vcpu->thread_started = 1;
    return rc;
}

static void seg_out(struct xc_vcpu_segment *o, const struct kvm_segment *s)
{
    o->base = s->base;
    o->limit = s->limit;
    o->selector = s->selector;
    o->attr = (uint16_t)((s->type & 0xF) | (s->s & 1) << 4 |
                         (s->dpl & 3) << 5 | (s->present & 1) << 7 |
                         (s->avl & 1) << 8 | (s->l & 1) << 9 |
                         (s->db & 1) << 10 | (s->g & 1) << 11);
}

#define EFER_LMA  (1ULL << 10)
#define CR0_PE    1ULL

int vcpu_get_context(struct vcpu *v, struct xc_vcpu_context *c)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;

    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 ||
        ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    memset(c, 0, sizeof(*c));
    if (sregs.efer & EFER_LMA)
        c->mode = sregs.cs.l ? XC_VCPU_MODE_LONG64 : XC_VCPU_MODE_COMPAT;
    else
        c->mode = sregs.cr0 & CR0_PE ? XC_VCPU_MODE_PROT
                                     : XC_VCPU_MODE_REAL;
    c->flags = v->online ? XC_VCPU_CTX_ONLINE : 0;
    c->rip = regs.rip;
    c->rsp = regs.rsp;
    c->rflags = regs.rflags;
    c->rax = regs.rax;
    c->rbx = regs.rbx;
    c->rcx = regs.rcx;
    c->rdx = regs.rdx;
    c->rsi = regs.rsi;
    c->rdi = regs.rdi;
    c->rbp = regs.rbp;
    c->r8 = regs.r8;
    c->r9 = regs.r9;
    c->r10 = regs.r10;
    c->r11 = regs.r11;
    c->r12 = regs.r12;
    c->r13 = regs.r13;
    c->r14 = regs.r14;
    c->r15 = regs.r15;
    c->cr0 = sregs.cr0;
    c->cr2 = sregs.cr2;
    c->cr3 = sregs.cr3;
    c->cr4 = sregs.cr4;
    c->cr8 = sregs.cr8;
    c->efer = sregs.efer;
    c->apic_base = sregs.apic_base;
    seg_out(&c->cs, &sregs.cs);
    seg_out(&c->ds, &sregs.ds);
    seg_out(&c->es, &sregs.es);
    seg_out(&c->fs, &sregs.fs);
    seg_out(&c->gs, &sregs.gs);
    seg_out(&c->ss, &sregs.ss);
    seg_out(&c->tr, &sregs.tr);
    seg_out(&c->ldtr, &sregs.ldt);
    c->gdtr_base = sregs.gdt.base;
    c->gdtr_limit = sregs.gdt.limit;
    c->idtr_base = sregs.idt.base;
    c->idtr_limit = sregs.idt.limit;
    return 0;
}
