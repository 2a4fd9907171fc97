/*
 * vmproc.c - the domain process: KVM set-up, then the channel to the
 * daemon, served on the main thread.
 */
#include "vmproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "chan.h"
#include "layout.h"
#include "settings.h"
#include "snapshot.h"
#include "vcpu.h"
#include "vm.h"

static void reply_data(struct vm *vm, uint32_t seq, int rc,
                       const void *payload, size_t len)
{
    pthread_mutex_lock(&vm->chan_lock);
    if (vm->chan_fd >= 0)
        (void)chan_send(vm->chan_fd, CHAN_REPLY, seq, rc, payload, len, 0);
    pthread_mutex_unlock(&vm->chan_lock);
}

static void reply(struct vm *vm, uint32_t seq, int rc)
{
    reply_data(vm, seq, rc, NULL, 0);
}

/* What KVM leaves for the VMM to set in CPUID.1:ECX.  The hypervisor bit:
 * a guest that does not see it never looks at leaf 0x40000000, so it
 * misses kvmclock and, with no HPET to calibrate its TSC against, keeps
 * time by jiffies.  TSC-deadline (the in-kernel LAPIC emulates it where
 * KVM says so): without it Linux calibrates its LAPIC timer against the
 * PIT, which a loaded host fails ("lapic is not functional"). */
static void mark_cpuid(struct kvm_cpuid2 *c, int kvm_fd)
{
    uint32_t i, ecx = 1U << 31;

    if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
        ecx |= 1U << 24;
    for (i = 0; i < c->nent; i++)
        if (c->entries[i].function == 1)
            c->entries[i].ecx |= ecx;
}

static int get_cpuid(struct vm *vm)
{
    int nent = 128;

    for (;;) {
        struct kvm_cpuid2 *c;

        c = calloc(1, sizeof(*c) + (size_t)nent * sizeof(c->entries[0]));
        if (!c)
            return -ENOMEM;
        c->nent = (uint32_t)nent;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            mark_cpuid(c, vm->kvm_fd);
            vm->cpuid = c;
            return 0;
        }
        free(c);
        if (errno != E2BIG || nent >= 4096)
            return -errno;
        nent *= 2;
    }
}

/* The domain-independent part (slow: the PIT starts a kernel thread).
 * Each step logs what failed; returns 0 or -errno. */
static int prepare(struct vm *vm)
{
    struct kvm_pit_config pit;
    const char *what;
    int rc;

    what = "opening /dev/kvm";
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0)
        goto fail_errno;
    what = "KVM_GET_VCPU_MMAP_SIZE";
    vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size <= 0)
        goto fail_errno;
    what = "KVM_CREATE_VM";
    do {
        vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0UL);
    } while (vm->vm_fd < 0 && errno == EINTR);
    if (vm->vm_fd < 0)
        goto fail_errno;
    what = "KVM_SET_TSS_ADDR";
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS_ADDR))
        goto fail_errno;
    what = "KVM_SET_IDENTITY_MAP_ADDR";
    {
        uint64_t idmap = LAYOUT_IDMAP_ADDR;

        if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
            goto fail_errno;
    }
    what = "KVM_CREATE_IRQCHIP";
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        goto fail_errno;
    what = "KVM_CREATE_PIT2";
    memset(&pit, 0, sizeof(pit));
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        goto fail_errno;
    what = "KVM_GET_SUPPORTED_CPUID";
    rc = get_cpuid(vm);
    if (rc < 0)
        goto fail;
    /* every domain has a vCPU 0: make it and its thread now */
    what = "allocating vCPUs";
    vm->vcpus = calloc(VM_MAX_VCPUS, sizeof(*vm->vcpus));
    if (!vm->vcpus) {
        rc = -ENOMEM;
        goto fail;
    }
    what = "creating vCPU 0";
    rc = vcpu_create(vm, &vm->vcpus[0], 0);
    if (rc == 0)
        rc = vcpu_start(&vm->vcpus[0]);
    if (rc < 0)
        goto fail;
    vm->nr_vcpus = 1;
    return 0;

fail_errno:
    rc = -errno;
fail:
    vm_log(vm, "spare domain process: %s: %s", what, strerror(-rc));
    return rc;
}

/* Memory, firmware tables and the other vCPUs of domain vm->domid
 * (nr in all). */
static int finish(struct vm *vm, unsigned int nr)
{
    unsigned int i;
    const char *what;
    int rc;

    what = "mapping guest memory";
    vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   vm->mem_fd, 0);
    if (vm->mem == MAP_FAILED) {
        vm->mem = NULL;
        rc = -errno;
        goto fail;
    }
    what = "setting the memory slots";
    rc = vm_memory_slots(vm, 0);
    if (rc < 0)
        goto fail;
    vm_ram_mapped(vm);
    what = "building the ACPI tables";
    rc = acpi_build(vm->mem + LAYOUT_ACPI_BASE, LAYOUT_ACPI_BASE,
                    LAYOUT_ACPI_SIZE, nr);
    if (rc < 0)
        goto fail;
    what = "creating vCPUs";
    for (i = 1; i < nr; i++) {
        rc = vcpu_create(vm, &vm->vcpus[i], i);
        if (rc < 0)
            goto fail;
    }
    what = "starting vCPU threads";
    for (i = 1; i < nr; i++) {
        rc = vcpu_start(&vm->vcpus[i]);
        if (rc < 0)
            goto fail;
        vm->nr_vcpus = i + 1;
    }
    return 0;

fail:
    vm_log(vm, "domain %u: %s: %s", vm->domid, what, strerror(-rc));
    return rc;
}

static int do_pause(struct vm *vm)
{
    unsigned int i;

    pthread_mutex_lock(&vm->lock);
    vm->paused = 1;
    for (i = 0; i < vm->nr_vcpus; i++)
        vm_kick(&vm->vcpus[i]);
    while (vm->parked < vm->nr_vcpus)
        pthread_cond_wait(&vm->cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

static int do_unpause(struct vm *vm)
{
    snapshot_ran(vm);
    pthread_mutex_lock(&vm->lock);
    vm->paused = 0;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

static int do_set_context(struct vm *vm, const void *buf, int len)
{
    struct proto_context pc;
    struct vcpu *v;
    int rc;

    if (len != (int)sizeof(pc))
        return -EINVAL;
    memcpy(&pc, buf, sizeof(pc));
    if (pc.vcpu >= vm->nr_vcpus || pc.ctx.mode != XC_VCPU_MODE_PVH32)
        return -EINVAL;
    v = &vm->vcpus[pc.vcpu];
    pthread_mutex_lock(&vm->lock);
    if (v->ran || !vm->paused) {
        rc = -EBUSY;
    } else {
        v->ctx = pc.ctx;
        v->have_ctx = 1;
        rc = 0;
    }
    pthread_mutex_unlock(&vm->lock);
    return rc;
}

/* Registers of a vCPU of a paused or stopped domain. */
static int do_get_context(struct vm *vm, const void *buf, int len,
                          struct xc_vcpu_context *ctx)
{
    uint32_t id;
    int rc;

    if (len != (int)sizeof(id))
        return -EINVAL;
    memcpy(&id, buf, sizeof(id));
    if (id >= vm->nr_vcpus)
        return -EINVAL;
    pthread_mutex_lock(&vm->lock);
    if (!vm->paused && !vm->stopped) {
        pthread_mutex_unlock(&vm->lock);
        return -EBUSY;
    }
    /* a stop only kicks: wait until every vCPU is out of KVM_RUN */
    while (vm->parked < vm->nr_vcpus)
        pthread_cond_wait(&vm->cond, &vm->lock);
    rc = vcpu_get_context(&vm->vcpus[id], ctx);
    pthread_mutex_unlock(&vm->lock);
    if (rc < 0)
        vm_log(vm, "vcpu%u: reading its registers: %s", id, strerror(-rc));
    return rc;
}

static int do_trigger(struct vm *vm, const void *buf, int len)
{
    uint32_t t;

    if (len != (int)sizeof(t))
        return -EINVAL;
    memcpy(&t, buf, sizeof(t));
    switch (t) {
    case XEN_DOMCTL_SENDTRIGGER_POWER:
        pthread_mutex_lock(&vm->dev_lock);
        power_button(&vm->power);
        pthread_mutex_unlock(&vm->dev_lock);
        return 0;
    }
    /* RESET is served in serve(): it answers before the domain stops */
    return -EOPNOTSUPP;
}

static int do_affinity(struct vm *vm, const void *buf, int len)
{
    struct proto_affinity a;
    cpu_set_t set;
    uint32_t i;

    if (len != (int)sizeof(a))
        return -EINVAL;
    memcpy(&a, buf, sizeof(a));
    if (a.vcpu >= vm->nr_vcpus || a.nbytes > sizeof(a.map))
        return -EINVAL;
    CPU_ZERO(&set);
    for (i = 0; i < a.nbytes * 8 && i < CPU_SETSIZE; i++)
        if (a.map[i / 8] & (1U << (i % 8)))
            CPU_SET(i, &set);
    if (CPU_COUNT(&set) == 0)
        return -EINVAL;
    return -pthread_setaffinity_np(vm->vcpus[a.vcpu].thread, sizeof(set),
                                   &set);
}

/* CHAN_VIRTIO_ADD: answered here, with the slot or the reason.  A
 * guest that has run is told of the device (PCI hotplug). */
static void do_virtio_add(struct vm *vm, uint32_t seq, const void *buf,
                          int len)
{
    struct proto_virtio v;
    char err[512];
    uint32_t slot;
    int rc;

    if (len != (int)sizeof(v)) {
        reply(vm, seq, -EINVAL);
        return;
    }
    memcpy(&v, buf, sizeof(v));
    v.path[sizeof(v.path) - 1] = '\0';
    /* a restored domain has run, but its guest knows its devices */
    rc = vm_virtio_add(vm, v.device_id, v.path, v.mac,
                       vm->vcpus[0].ran && !snapshot_restoring(vm),
                       err, sizeof(err));
    if (rc < 0) {
        vm_log(vm, "%s", err);
        /* -EPROTO would read as a broken channel to libxenctrl */
        reply_data(vm, seq, rc == -EPROTO ? -EIO : rc, err,
                   strlen(err) + 1);
        return;
    }
    slot = (uint32_t)rc;
    reply_data(vm, seq, 0, &slot, sizeof(slot));
}

/* CHAN_VIRTIO_DEL and CHAN_VIRTIO_STATE. */
static void do_virtio_del(struct vm *vm, uint32_t op, uint32_t seq,
                          const void *buf, int len)
{
    struct proto_virtio_del v;
    char err[512];
    uint32_t state;
    int rc;

    if (len != (int)sizeof(v)) {
        reply(vm, seq, -EINVAL);
        return;
    }
    memcpy(&v, buf, sizeof(v));
    v.path[sizeof(v.path) - 1] = '\0';
    if (op == CHAN_VIRTIO_STATE) {
        state = vm_virtio_state(vm, v.path);
        reply_data(vm, seq, 0, &state, sizeof(state));
        return;
    }
    rc = vm_virtio_del(vm, v.path, !!(v.flags & PROTO_VIRTIO_DEL_FORCE), err,
                       sizeof(err));
    if (rc < 0)
        reply_data(vm, seq, rc, err, strlen(err) + 1);
    else
        reply(vm, seq, 0);
}

/* CHAN_DIRTY_LOG, CHAN_STATE_GET and CHAN_STATE_SET (snapshot.h):
 * answered here, a refusal with its reason as text. */
static void do_snapshot(struct vm *vm, uint32_t op, uint32_t seq,
                        const void *buf, int len)
{
    static uint8_t out[sizeof(struct proto_state) + PROTO_STATE_MAX];
    struct proto_dirty dl;
    char err[512] = "";
    uint32_t index;
    int rc;

    if (op == CHAN_DIRTY_LOG) {
        if (len != (int)sizeof(dl)) {
            reply(vm, seq, -EINVAL);
            return;
        }
        memcpy(&dl, buf, sizeof(dl));
        rc = snapshot_dirty(vm, &dl, out, PROTO_DIRTY_CHUNK, err,
                            sizeof(err));
    } else if (op == CHAN_STATE_GET) {
        if (len != (int)sizeof(index)) {
            reply(vm, seq, -EINVAL);
            return;
        }
        memcpy(&index, buf, sizeof(index));
        rc = snapshot_get(vm, index, out, sizeof(out), err, sizeof(err));
    } else {
        if (len < (int)sizeof(struct proto_state)) {
            reply(vm, seq, -EINVAL);
            return;
        }
        rc = snapshot_set(vm, buf, (size_t)len, err, sizeof(err));
    }
    if (rc < 0 && err[0]) {
        vm_log(vm, "%s", err);
        reply_data(vm, seq, rc == -EPROTO ? -EIO : rc, err, strlen(err) + 1);
    } else if (rc < 0) {
        reply(vm, seq, rc);
    } else if (op == CHAN_STATE_SET) {
        reply(vm, seq, 0);
    } else {
        reply_data(vm, seq, 0, out, (size_t)rc);
    }
}

/* No daemon any more (its channel ended, or CHAN_DETACH): the guest
 * runs on; a new daemon adopts the process (handover.h). */
static void lose_daemon(struct vm *vm)
{
    pthread_mutex_lock(&vm->chan_lock);
    if (vm->chan_fd >= 0)
        close(vm->chan_fd);
    vm->chan_fd = -1;
    pthread_mutex_unlock(&vm->chan_lock);
}

/* Someone connected to the domain's socket: a daemon adopting it if
 * there is none, refused otherwise. */
static void adopt_request(struct vm *vm)
{
    struct chan_hello h;
    int fd;

    memset(&h, 0, sizeof(h));
    h.domid = vm->domid;
    h.nr_vcpus = vm->nr_vcpus;
    h.mem_size = vm->mem_size;
    pthread_mutex_lock(&vm->lock);
    h.paused = vm->paused;
    h.shutdown = vm->stopped;
    h.reason = vm->stop_reason;
    pthread_mutex_unlock(&vm->lock);
    if (vm->chan_fd >= 0 && handover_chan_gone(vm->chan_fd))
        lose_daemon(vm);                 /* its end not read yet */
    pthread_mutex_lock(&vm->chan_lock);
    h.nr_online = vm->nr_up;
    fd = handover_accept(&vm->ho, vm->chan_fd < 0, &h, vm->mem_fd);
    if (fd >= 0)
        vm->chan_fd = fd;
    pthread_mutex_unlock(&vm->chan_lock);
}

/*
 * The virtio backends' connections: one that turns readable has hung up
 * (killed; its supervisor starts it again): the slot reconnects, tried
 * again every RECONNECT_MS until the backend is back.  Beside each, the
 * backend's channel (virtio_pci.h), on which it says its config space
 * changed (a disk that grew).  Adds the connections and channels to
 * watch to pfd from index n (room for 2 per slot); returns the new count
 * and sets *wait_ms when a backend is away.
 */
#define RECONNECT_MS 200

static int watch_backends(struct vm *vm, struct pollfd *pfd, int n,
                          int *wait_ms)
{
    unsigned int i;

    pthread_mutex_lock(&vm->dev_lock);
    for (i = 1; i < PCI_SLOTS; i++) {
        int fd = vpci_fd(&vm->virtio[i]);

        if (fd >= 0) {
            pfd[n].fd = fd;
            pfd[n].events = POLLIN;
            pfd[n++].revents = 0;
        } else if (vm->virtio[i].vd.lost) {
            *wait_ms = RECONNECT_MS;
        }
        fd = vpci_backend_fd(&vm->virtio[i]);
        if (fd >= 0) {
            pfd[n].fd = fd;
            pfd[n].events = POLLIN;
            pfd[n++].revents = 0;
        }
    }
    pthread_mutex_unlock(&vm->dev_lock);
    return n;
}

/* Whether fd is in pfd[0..n) with something to report. */
static int polled(const struct pollfd *pfd, int n, int fd)
{
    int k;

    for (k = 0; fd >= 0 && k < n; k++)
        if (pfd[k].fd == fd)
            return pfd[k].revents != 0;
    return 0;
}

/* Slot i's backend channel is readable: one request off it. */
static void tend_channel(struct vm *vm, unsigned int i)
{
    struct virtio_dev *d = &vm->virtio[i].vd;
    char err[512];
    uint64_t cap = 0;
    unsigned int b;
    int rc;

    rc = vpci_backend_event(&vm->virtio[i], err, sizeof(err));
    if (rc == 1 && d->device_id == VIRTIO_ID_BLOCK && d->config_len >= 8) {
        /* virtio_blk_config.capacity, little-endian, in 512-byte
         * sectors */
        for (b = 0; b < 8; b++)
            cap |= (uint64_t)d->config[b] << (8 * b);
        vm_log(vm, "virtio slot %u: backend %s changed its configuration "
               "(capacity now %llu sectors)", i, d->path,
               (unsigned long long)cap);
    } else if (rc == 1) {
        vm_log(vm, "virtio slot %u: backend %s changed its configuration",
               i, d->path);
    } else if (rc == -EPIPE && d->lost) {
        /* the socket broke under the config read the message asked for:
         * the backend is gone, as after a hang-up */
        vm_log(vm, "virtio slot %u: backend %s hung up: its rings wait "
               "until it is back", i, d->path);
    } else if (rc < 0 && rc != -EPIPE) {
        /* a malformed message closes the channel, so this is said once:
         * it is watched again only once a reconnect makes a new one (a
         * GET_CONFIG that broke the socket starts that reconnect).  A
         * hang-up of the channel alone says nothing: the socket's own
         * hang-up is what is logged when a backend goes. */
        vm_log(vm, "virtio slot %u: %s", i, err);
    }
}

static void tend_backends(struct vm *vm, const struct pollfd *pfd, int n)
{
    char err[512];
    unsigned int i;

    pthread_mutex_lock(&vm->dev_lock);
    for (i = 1; i < PCI_SLOTS; i++) {
        struct vpci *d = &vm->virtio[i];

        if (polled(pfd, n, vpci_fd(d))) {
            vm_log(vm, "virtio slot %u: backend %s hung up: its rings "
                   "wait until it is back", i, d->vd.path);
            vpci_lost(d);
        } else if (polled(pfd, n, vpci_backend_fd(d))) {
            /* before any reconnect, which may reuse the fd's number */
            tend_channel(vm, i);
        }
        if (vpci_present(d) && d->vd.lost) {
            if (vpci_reconnect(d, err, sizeof(err)) == 0)
                vm_log(vm, "virtio slot %u: backend %s is back: its rings "
                       "run again", i, d->vd.path);
        }
    }
    pthread_mutex_unlock(&vm->dev_lock);
}

static void serve(struct vm *vm)
{
    static uint8_t buf[CHAN_MAX_PAYLOAD];
    struct xc_vcpu_context ctx;
    struct proto_hdr hdr;
    struct pollfd pfd[2 + 2 * PCI_SLOTS];
    uint32_t reason;
    int len, rc, n, nctl, fd, wait_ms;

    for (;;) {
        n = 0;
        if (vm->chan_fd >= 0) {
            pfd[n].fd = vm->chan_fd;
            pfd[n++].events = POLLIN;
        }
        if (vm->ho.listen_fd >= 0) {
            pfd[n].fd = vm->ho.listen_fd;
            pfd[n++].events = POLLIN;
        }
        if (n == 0)
            break;                       /* not adoptable: go */
        pfd[0].revents = pfd[1].revents = 0;
        nctl = n;
        wait_ms = -1;
        n = watch_backends(vm, pfd, n, &wait_ms);
        if (poll(pfd, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
            break;
        if (n > nctl || wait_ms >= 0)
            tend_backends(vm, pfd + nctl, n - nctl);
        n = nctl;
        if (vm->ho.listen_fd >= 0 && pfd[n - 1].revents)
            adopt_request(vm);
        if (vm->chan_fd < 0 || !pfd[0].revents || pfd[0].fd != vm->chan_fd)
            continue;
        len = chan_recv_nb_fd(vm->chan_fd, &hdr, buf, sizeof(buf), &fd);
        if (len == -EAGAIN || len == -EINTR)
            continue;
        if (len < 0) {
            lose_daemon(vm);             /* the daemon is gone */
            continue;
        }
        if (hdr.op == CHAN_KEEP_FD) {
            pthread_mutex_lock(&vm->chan_lock);
            handover_keep(&vm->ho, buf, (size_t)len, fd);
            pthread_mutex_unlock(&vm->chan_lock);
            continue;
        }
        if (fd >= 0)
            close(fd);
        switch (hdr.op) {
        case CHAN_PAUSE:
            rc = do_pause(vm);
            break;
        case CHAN_UNPAUSE:
            rc = do_unpause(vm);
            break;
        case CHAN_SET_CONTEXT:
            rc = do_set_context(vm, buf, len);
            break;
        case CHAN_AFFINITY:
            rc = do_affinity(vm, buf, len);
            break;
        case CHAN_GET_CONTEXT:
            rc = do_get_context(vm, buf, len, &ctx);
            if (rc == 0) {
                reply_data(vm, hdr.seq, 0, &ctx, sizeof(ctx));
                continue;
            }
            break;
        case CHAN_TRIGGER: {
            uint32_t t = 0;

            /* a reset answers first: the reboot's shutdown event may
             * get the domain destroyed before a later answer is read */
            if (len == (int)sizeof(t))
                memcpy(&t, buf, sizeof(t));
            if (t == XEN_DOMCTL_SENDTRIGGER_RESET) {
                reply(vm, hdr.seq, 0);
                vm_stop(vm, XC_SHUTDOWN_reboot);
                continue;
            }
            rc = do_trigger(vm, buf, len);
            break;
        }
        case CHAN_SHUTDOWN:
            if (len != (int)sizeof(reason)) {
                rc = -EINVAL;
                break;
            }
            memcpy(&reason, buf, sizeof(reason));
            vm_stop(vm, reason);
            rc = 0;
            break;
        case CHAN_VIRTIO_ADD:
            do_virtio_add(vm, hdr.seq, buf, len);
            continue;
        case CHAN_VIRTIO_DEL:
        case CHAN_VIRTIO_STATE:
            do_virtio_del(vm, hdr.op, hdr.seq, buf, len);
            continue;
        case CHAN_DIRTY_LOG:
        case CHAN_STATE_GET:
        case CHAN_STATE_SET:
            do_snapshot(vm, hdr.op, hdr.seq, buf, len);
            continue;
        case CHAN_CONS_IN:
            pthread_mutex_lock(&vm->dev_lock);
            serial_receive(&vm->serial, buf, (size_t)len);
            pthread_mutex_unlock(&vm->dev_lock);
            continue;
        case CHAN_DETACH:
            /* the answer is the last thing on this channel */
            pthread_mutex_lock(&vm->chan_lock);
            (void)chan_send(vm->chan_fd, CHAN_REPLY, hdr.seq, 0, NULL, 0,
                            0);
            close(vm->chan_fd);
            vm->chan_fd = -1;
            pthread_mutex_unlock(&vm->chan_lock);
            continue;
        default:
            rc = -EOPNOTSUPP;
            break;
        }
        reply(vm, hdr.seq, rc);
    }
}

static void die(struct vm *vm, int rc)
{
    pthread_mutex_lock(&vm->chan_lock);
    (void)chan_send(vm->chan_fd, CHAN_ERROR, 0, rc, NULL, 0, 0);
    pthread_mutex_unlock(&vm->chan_lock);
    _exit(1);
}

/* Wait for the daemon to give this spare a domain of *nr_r vCPUs. */
static int configure(struct vm *vm, unsigned int *nr_r)
{
    struct chan_config cfg;
    struct proto_hdr hdr;
    char name[16];
    int len, fd, rc;

    len = chan_recv_fd(vm->chan_fd, &hdr, &cfg, sizeof(cfg), &fd);
    if (len == -EPIPE)
        _exit(0);                        /* an unused spare, let go */
    if (len != (int)sizeof(cfg) || hdr.op != CHAN_CONFIG || fd < 0 ||
        cfg.nr_vcpus == 0 || cfg.nr_vcpus > VM_MAX_VCPUS ||
        cfg.mem_size < LAYOUT_MIN_RAM) {
        if (fd >= 0)
            close(fd);
        return -EPROTO;
    }
    vm->domid = cfg.domid;
    vm->mem_fd = fd;
    vm->mem_size = cfg.mem_size;
    vm->low_end = layout_low_end(cfg.mem_size);
    *nr_r = cfg.nr_vcpus;
    snprintf(name, sizeof(name), "xenolith-d%u", cfg.domid);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    /* a domain now: it outlives the daemon, which may come back for it */
    rc = handover_listen(&vm->ho, cfg.domid);
    if (rc < 0)
        vm_log(vm, "domain %u: its socket in %s/dom: %s: it cannot be "
               "taken over by a restarted daemon", cfg.domid, config.rundir,
               strerror(-rc));
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (getppid() == 1 && rc < 0)
        _exit(1);                        /* the daemon died meanwhile */
    return 0;
}

int vm_spawn(pid_t *pid_r, int *chan_r)
{
    int chan;
    pid_t pid;

    pid = chan_fork(&chan);
    if (pid < 0)
        return (int)pid;
    if (pid == 0)
        vm_main(chan);
    *pid_r = pid;
    *chan_r = chan;
    return 0;
}

void vm_main(int chan_fd)
{
    static struct vm vm;
    unsigned int nr = 0;
    int rc;

    memset(&vm, 0, sizeof(vm));
    vm.chan_fd = chan_fd;
    vm.mem_fd = -1;
    vm.kvm_fd = -1;
    vm.vm_fd = -1;
    vm.paused = 1;                       /* domains are created paused */
    pthread_mutex_init(&vm.lock, NULL);
    pthread_cond_init(&vm.cond, NULL);
    pthread_mutex_init(&vm.chan_lock, NULL);
    pthread_mutex_init(&vm.dev_lock, NULL);
    handover_init(&vm.ho);

    prctl(PR_SET_NAME, "xenolith-spare", 0, 0, 0);
    /* a spare goes when the daemon goes (a domain does not: configure) */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

    rc = vcpu_signal_init();
    if (rc == 0)
        rc = vm_devices_init(&vm);
    if (rc == 0)
        rc = prepare(&vm);
    if (rc < 0)
        die(&vm, rc);
    vm_send(&vm, CHAN_SPARE_READY, NULL, 0);
    rc = configure(&vm, &nr);
    if (rc == 0)
        rc = finish(&vm, nr);
    if (rc < 0)
        die(&vm, rc);
    vm_send(&vm, CHAN_READY, NULL, 0);
    serve(&vm);
    handover_close(&vm.ho);
    _exit(0);
}
