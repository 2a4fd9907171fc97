/*
 * snapshot.c - a domain's state for save, restore and migration (see
 * snapshot.h; the bodies are written up in docs/STREAM.md).
 */
#include "snapshot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "layout.h"
#include "stream.h"
#include "vm.h"

#define PAGE_SHIFT 12
#define MSR_TSC_DEADLINE 0x6E0u
/* More than KVM saves for any vCPU today (about 100). */
#define MAX_MSRS 512u

#define VCPU_ONLINE 1u             /* VCPU records' flags */

struct snapshot {
    struct kvm_msr_list *msrs;     /* KVM_GET_MSR_INDEX_LIST, or NULL */
    uint8_t *bitmap;               /* the last take of the dirty log */
    size_t bitmap_len;
    int logging;
    int restoring;                 /* records came in; not run since */
    int quiesced;                  /* the backends' rings are stopped */
    /* the virtio backends' dirty log: a bit per guest-physical page */
    int devlog_fd;
    uint64_t *devlog;
    size_t devlog_len;             /* bytes */
};

/* The PLATFORM body. */
struct snap_platform {
    struct kvm_irqchip chip[3];    /* PIC master, PIC slave, IOAPIC */
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
};

/* A VCPU body: this, then nr_msrs struct kvm_msr_entry. */
struct snap_vcpu {
    uint32_t vcpu;
    uint32_t flags;                /* VCPU_ONLINE */
    uint32_t nr_msrs;
    uint32_t pad;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xsave xsave;
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_debugregs dregs;
    struct kvm_mp_state mp;
    uint32_t pad2;
};

/* The DEVICE body of SNAPSHOT_DEV_PCI: the bus's address register,
 * the host bridge's configuration space and the hotplug registers. */
struct snap_pci {
    uint32_t addr;
    uint32_t up;
    uint32_t down;
    uint32_t pad;
    uint8_t bridge[PCI_CFG_SIZE];
};

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static struct snapshot *snap_of(struct vm *vm)
{
    if (!vm->snap) {
        vm->snap = calloc(1, sizeof(*vm->snap));
        if (vm->snap)
            vm->snap->devlog_fd = -1;
    }
    return vm->snap;
}

/* KVM's list of the MSRs a vCPU's state includes. */
static int msr_list(struct vm *vm, struct snapshot *s)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };
    struct kvm_msr_list *l;

    if (s->msrs)
        return 0;
    if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 &&
        errno != E2BIG)
        return -errno;
    if (probe.nmsrs > MAX_MSRS)
        probe.nmsrs = MAX_MSRS;
    l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
    if (!l)
        return -ENOMEM;
    l->nmsrs = probe.nmsrs;
    if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
        free(l);
        return -errno;
    }
    s->msrs = l;
    return 0;
}

/*
 * MSRs through KVM_GET_MSRS / KVM_SET_MSRS: KVM stops at the first it
 * refuses, so go on after it.  Reading, the refused ones are left out
 * (n_r says how many were read into e); writing, they are skipped.
 */
static int msrs_io(int fd, unsigned long req, struct kvm_msr_entry *e,
                   uint32_t n, uint32_t *n_r)
{
    struct {
        struct kvm_msrs head;
        struct kvm_msr_entry e[MAX_MSRS];
    } b;
    uint32_t done = 0, kept = 0;
    int r;

    while (done < n) {
        uint32_t batch = n - done;

        memset(&b.head, 0, sizeof(b.head));
        b.head.nmsrs = batch;
        memcpy(b.e, e + done, batch * sizeof(*e));
        r = ioctl(fd, req, &b);
        if (r < 0)
            return -errno;
        if (req == KVM_GET_MSRS) {
            memmove(e + kept, b.e, (size_t)r * sizeof(*e));
            kept += (uint32_t)r;
        }
        done += (uint32_t)r;
        if (done < n)
            done++;                      /* the one KVM refused */
    }
    if (n_r)
        *n_r = kept;
    return 0;
}

static int get_platform(struct vm *vm, struct snap_platform *p)
{
    unsigned int i;

    memset(p, 0, sizeof(*p));
    for (i = 0; i < 3; i++) {
        p->chip[i].chip_id = i;
        if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &p->chip[i]) < 0)
            return -errno;
    }
    if (ioctl(vm->vm_fd, KVM_GET_PIT2, &p->pit) < 0 ||
        ioctl(vm->vm_fd, KVM_GET_CLOCK, &p->clock) < 0)
        return -errno;
    return 0;
}

static int set_platform(struct vm *vm, const struct snap_platform *in)
{
    struct snap_platform p = *in;
    unsigned int i;

    for (i = 0; i < 3; i++) {
        if (p.chip[i].chip_id != i)
            return -EINVAL;
        if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &p.chip[i]) < 0)
            return -errno;
    }
    /* the clock's value only: the flags say what KVM filled in */
    p.clock.flags = 0;
    if (ioctl(vm->vm_fd, KVM_SET_PIT2, &p.pit) < 0 ||
        ioctl(vm->vm_fd, KVM_SET_CLOCK, &p.clock) < 0)
        return -errno;
    return 0;
}

static int get_vcpu(struct vm *vm, struct snapshot *s, unsigned int id,
                    struct snap_vcpu *v, size_t cap, const char **what)
{
    struct vcpu *c = &vm->vcpus[id];
    struct kvm_msr_entry *e = (struct kvm_msr_entry *)(v + 1);
    uint32_t i, n;
    int rc;

    memset(v, 0, sizeof(*v));
    v->vcpu = id;
    v->flags = c->online ? VCPU_ONLINE : 0;
#define GET(req, field)                                                  \
    do {                                                                 \
        *what = #req;                                                    \
        if (ioctl(c->fd, req, &v->field) < 0)                            \
            return -errno;                                               \
    } while (0)
    GET(KVM_GET_REGS, regs);
    GET(KVM_GET_SREGS, sregs);
    GET(KVM_GET_XSAVE, xsave);
    GET(KVM_GET_XCRS, xcrs);
    GET(KVM_GET_LAPIC, lapic);
    GET(KVM_GET_VCPU_EVENTS, events);
    GET(KVM_GET_DEBUGREGS, dregs);
    GET(KVM_GET_MP_STATE, mp);
#undef GET
    *what = "KVM_GET_MSR_INDEX_LIST";
    rc = msr_list(vm, s);
    if (rc < 0)
        return rc;
    n = s->msrs->nmsrs;
    if (sizeof(*v) + n * sizeof(*e) > cap)
        return -E2BIG;
    for (i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof(e[i]));
        e[i].index = s->msrs->indices[i];
    }
    *what = "KVM_GET_MSRS";
    rc = msrs_io(c->fd, KVM_GET_MSRS, e, n, &v->nr_msrs);
    if (rc < 0)
        return rc;
    return (int)(sizeof(*v) + v->nr_msrs * sizeof(*e));
}

/* In KVM's order of dependence: the segment and control registers
 * before the MSRs (EFER, the APIC base), the MSRs before the local
 * APIC, and the TSC deadline again after it (loading the APIC clears
 * it). */
static int set_vcpu(struct vm *vm, const uint8_t *body, size_t len,
                    const char **what)
{
    struct snap_vcpu v;
    struct kvm_msr_entry *e = NULL;
    struct vcpu *c;
    uint32_t i;
    int rc;

    *what = "its length";
    if (len < sizeof(v))
        return -EINVAL;
    memcpy(&v, body, sizeof(v));
    if (v.nr_msrs > MAX_MSRS ||
        len != sizeof(v) + v.nr_msrs * sizeof(struct kvm_msr_entry))
        return -EINVAL;
    *what = "its vCPU number";
    if (v.vcpu >= vm->nr_vcpus)
        return -EINVAL;
    c = &vm->vcpus[v.vcpu];
    if (v.nr_msrs) {
        e = malloc(v.nr_msrs * sizeof(*e));
        if (!e)
            return -ENOMEM;
        memcpy(e, body + sizeof(v), v.nr_msrs * sizeof(*e));
    }
#define SET(req, field)                                                  \
    do {                                                                 \
        *what = #req;                                                    \
        if (ioctl(c->fd, req, &v.field) < 0) {                           \
            rc = -errno;                                                 \
            goto out;                                                    \
        }                                                                \
    } while (0)
    SET(KVM_SET_REGS, regs);
    SET(KVM_SET_XSAVE, xsave);
    SET(KVM_SET_XCRS, xcrs);
    SET(KVM_SET_SREGS, sregs);
    *what = "KVM_SET_MSRS";
    rc = msrs_io(c->fd, KVM_SET_MSRS, e, v.nr_msrs, NULL);
    if (rc < 0)
        goto out;
    SET(KVM_SET_MP_STATE, mp);
    SET(KVM_SET_LAPIC, lapic);
    for (i = 0; i < v.nr_msrs; i++)
        if (e[i].index == MSR_TSC_DEADLINE) {
            *what = "KVM_SET_MSRS (TSC deadline)";
            rc = msrs_io(c->fd, KVM_SET_MSRS, &e[i], 1, NULL);
            if (rc < 0)
                goto out;
        }
    SET(KVM_SET_VCPU_EVENTS, events);
    SET(KVM_SET_DEBUGREGS, dregs);
#undef SET
    pthread_mutex_lock(&vm->lock);
    c->ran = 1;                  /* its state is this, not a boot's */
    c->have_ctx = 0;
    pthread_mutex_unlock(&vm->lock);
    rc = 0;
out:
    free(e);
    return rc;
}

/* The k-th virtio slot in use (from 0), 0 when there are fewer. */
static unsigned int virtio_slot(struct vm *vm, unsigned int k)
{
    unsigned int i;

    for (i = 1; i < PCI_SLOTS; i++)
        if (vpci_present(&vm->virtio[i]) && k-- == 0)
            return i;
    return 0;
}

/* The backends stop writing guest memory (their rings stop), once. */
static void quiesce(struct vm *vm, struct snapshot *s)
{
    unsigned int i;

    if (s->quiesced)
        return;
    s->quiesced = 1;
    pthread_mutex_lock(&vm->dev_lock);
    for (i = 1; i < PCI_SLOTS; i++)
        if (vpci_present(&vm->virtio[i]))
            vpci_quiesce(&vm->virtio[i]);
    pthread_mutex_unlock(&vm->dev_lock);
}

static size_t get_device(struct vm *vm, uint32_t dev, uint8_t *out)
{
    struct snap_pci p;

    switch (dev) {
    case SNAPSHOT_DEV_SERIAL:
        serial_save(&vm->serial, out);
        return SERIAL_STATE_SIZE;
    case SNAPSHOT_DEV_POWER:
        power_save(&vm->power, out);
        return POWER_STATE_SIZE;
    default:
        memset(&p, 0, sizeof(p));
        p.addr = vm->pci.addr;
        p.up = vm->pcihp.up;
        p.down = vm->pcihp.down;
        memcpy(p.bridge, vm->pci.bridge.cfg, sizeof(p.bridge));
        memcpy(out, &p, sizeof(p));
        return sizeof(p);
    }
}

static int set_device(struct vm *vm, uint32_t dev, const uint8_t *in,
                      size_t len, char *err, size_t errlen)
{
    struct snap_pci p;
    struct vpci_state vs;

    if (dev >= 1 && dev < PCI_SLOTS) {
        if (len != sizeof(vs))
            return -EINVAL;
        memcpy(&vs, in, sizeof(vs));
        return vpci_load(&vm->virtio[dev], &vs, err, errlen);
    }
    switch (dev) {
    case SNAPSHOT_DEV_SERIAL:
        return serial_load(&vm->serial, in, len);
    case SNAPSHOT_DEV_POWER:
        return power_load(&vm->power, in, len);
    case SNAPSHOT_DEV_PCI:
        if (len != sizeof(p))
            return -EINVAL;
        memcpy(&p, in, sizeof(p));
        vm->pci.addr = p.addr;
        vm->pcihp.up = p.up;
        vm->pcihp.down = p.down;
        pci_func_load(&vm->pci.bridge, p.bridge);
        return 0;
    }
    return -EINVAL;
}

static const uint32_t devices[] = {
    SNAPSHOT_DEV_SERIAL, SNAPSHOT_DEV_POWER, SNAPSHOT_DEV_PCI,
};
#define NR_DEVICES (sizeof(devices) / sizeof(devices[0]))

int snapshot_get(struct vm *vm, uint32_t index, void *out, size_t cap,
                 char *err, size_t errlen)
{
    struct snapshot *s = snap_of(vm);
    struct proto_state *st = out;
    uint8_t *body = (uint8_t *)(st + 1);
    const char *what = "";
    unsigned int slot;
    int rc, paused;

    if (!s) {
        say(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_lock(&vm->lock);
    paused = vm->paused && vm->parked == vm->nr_vcpus;
    pthread_mutex_unlock(&vm->lock);
    if (!paused) {
        say(err, errlen, "domain %u: its state is read only while it is "
            "paused", vm->domid);
        return -EBUSY;
    }
    cap -= sizeof(*st);
    /* what the backends wrote up to here is in the dirty log; from here
     * on they write nothing */
    quiesce(vm, s);
    if (index == 0) {
        st->type = STREAM_PLATFORM;
        rc = get_platform(vm, (struct snap_platform *)body);
        if (rc < 0) {
            say(err, errlen, "domain %u: reading the platform's state: %s",
                vm->domid, strerror(-rc));
            return rc;
        }
        rc = sizeof(struct snap_platform);
    } else if (index <= vm->nr_vcpus) {
        st->type = STREAM_VCPU;
        rc = get_vcpu(vm, s, index - 1, (struct snap_vcpu *)body, cap,
                      &what);
        if (rc < 0) {
            say(err, errlen, "domain %u: vcpu%u: %s: %s", vm->domid,
                index - 1, what, strerror(-rc));
            return rc;
        }
    } else if (index - vm->nr_vcpus - 1 < NR_DEVICES) {
        uint32_t dev = devices[index - vm->nr_vcpus - 1];

        st->type = STREAM_DEVICE;
        memcpy(body, &dev, sizeof(dev));
        memset(body + 4, 0, 4);
        pthread_mutex_lock(&vm->dev_lock);
        rc = 8 + (int)get_device(vm, dev, body + 8);
        pthread_mutex_unlock(&vm->dev_lock);
    } else {
        pthread_mutex_lock(&vm->dev_lock);
        slot = virtio_slot(vm, index - vm->nr_vcpus - 1 - NR_DEVICES);
        if (slot) {
            st->type = STREAM_DEVICE;
            memcpy(body, &slot, sizeof(slot));
            memset(body + 4, 0, 4);
            vpci_save(&vm->virtio[slot], (struct vpci_state *)(body + 8));
            rc = 8 + (int)sizeof(struct vpci_state);
        }
        pthread_mutex_unlock(&vm->dev_lock);
        if (!slot)
            return -ENOENT;
    }
    st->len = (uint32_t)rc;
    return (int)sizeof(*st) + rc;
}

int snapshot_set(struct vm *vm, const void *in, size_t len, char *err,
                 size_t errlen)
{
    struct snapshot *s = snap_of(vm);
    struct proto_state st;
    const uint8_t *body = (const uint8_t *)in + sizeof(st);
    const char *what = "";
    unsigned int i;
    uint32_t dev;
    int rc, fresh = 1;

    if (!s) {
        say(err, errlen, "out of memory");
        return -ENOMEM;
    }
    memcpy(&st, in, sizeof(st));
    if (st.len != len - sizeof(st)) {
        say(err, errlen, "domain %u: a state record of %zu bytes says it "
            "has %u", vm->domid, len - sizeof(st), st.len);
        return -EINVAL;
    }
    pthread_mutex_lock(&vm->lock);
    for (i = 0; i < vm->nr_vcpus; i++)
        if (vm->vcpus[i].ran && !s->restoring)
            fresh = 0;
    if (!vm->paused)
        fresh = 0;
    pthread_mutex_unlock(&vm->lock);
    if (!fresh) {
        say(err, errlen, "domain %u: state is loaded only into a paused "
            "domain that has not run", vm->domid);
        return -EBUSY;
    }
    s->restoring = 1;
    switch (st.type) {
    case STREAM_PLATFORM:
        if (st.len != sizeof(struct snap_platform)) {
            say(err, errlen, "domain %u: a platform record of %u bytes "
                "(%zu expected)", vm->domid, st.len,
                sizeof(struct snap_platform));
            return -EINVAL;
        }
        rc = set_platform(vm, (const struct snap_platform *)body);
        if (rc < 0)
            say(err, errlen, "domain %u: loading the platform's state: %s",
                vm->domid, strerror(-rc));
        return rc;
    case STREAM_VCPU:
        rc = set_vcpu(vm, body, st.len, &what);
        if (rc < 0)
            say(err, errlen, "domain %u: a vCPU record: %s: %s", vm->domid,
                what, strerror(-rc));
        return rc;
    case STREAM_DEVICE:
        if (st.len < 8) {
            say(err, errlen, "domain %u: a device record of %u bytes",
                vm->domid, st.len);
            return -EINVAL;
        }
        memcpy(&dev, body, sizeof(dev));
        err[0] = '\0';
        pthread_mutex_lock(&vm->dev_lock);
        rc = set_device(vm, dev, body + 8, st.len - 8, err, errlen);
        pthread_mutex_unlock(&vm->dev_lock);
        if (rc < 0 && !err[0])
            say(err, errlen, "domain %u: device %#x's record (%u bytes) "
                "does not fit it", vm->domid, dev, st.len - 8);
        return rc;
    }
    say(err, errlen, "domain %u: a record of type %u is not state",
        vm->domid, st.type);
    return -EINVAL;
}

/* KVM's log of slot into s->bitmap from page first_page on (a multiple
 * of 8: the slots start at MiB boundaries). */
static int take_slot(struct vm *vm, struct snapshot *s, uint32_t slot,
                     uint64_t pages, uint64_t first_page)
{
    struct kvm_dirty_log log;
    size_t bytes = (size_t)((pages + 63) / 64 * 8);
    uint8_t *b = calloc(1, bytes);

    if (!b)
        return -ENOMEM;
    memset(&log, 0, sizeof(log));
    log.slot = slot;
    log.dirty_bitmap = b;
    if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
        int rc = -errno;

        free(b);
        return rc;
    }
    memcpy(s->bitmap + first_page / 8, b, (size_t)((pages + 7) / 8));
    free(b);
    return 0;
}

static void devlog_stop(struct vm *vm, struct snapshot *s)
{
    char err[256];
    unsigned int i;

    if (s->devlog_fd < 0)
        return;
    pthread_mutex_lock(&vm->dev_lock);
    for (i = 1; i < PCI_SLOTS; i++)
        if (vpci_present(&vm->virtio[i]) &&
            vpci_log(&vm->virtio[i], -1, 0, err, sizeof(err)) < 0)
            vm_log(vm, "%s", err);
    pthread_mutex_unlock(&vm->dev_lock);
    munmap(s->devlog, s->devlog_len);
    close(s->devlog_fd);
    s->devlog = NULL;
    s->devlog_fd = -1;
}

/* A log shared with every virtio backend, which marks the pages it
 * writes there (KVM sees only the vCPUs' writes). */
static int devlog_start(struct vm *vm, struct snapshot *s, char *err,
                        size_t errlen)
{
    uint64_t top = vm->mem_size > vm->low_end ?
                   LAYOUT_HIGH_BASE + (vm->mem_size - vm->low_end) :
                   vm->low_end;
    unsigned int i;
    int rc = 0;

    s->devlog_len = (size_t)(((top >> PAGE_SHIFT) / 8 + 4095) & ~4095ULL);
    s->devlog_fd = memfd_create("xenolith-dirty-log", MFD_CLOEXEC);
    if (s->devlog_fd < 0 ||
        ftruncate(s->devlog_fd, (off_t)s->devlog_len) < 0) {
        rc = -errno;
        say(err, errlen, "domain %u: making the backends' dirty log: %s",
            vm->domid, strerror(errno));
        goto fail;
    }
    s->devlog = mmap(NULL, s->devlog_len, PROT_READ | PROT_WRITE,
                     MAP_SHARED, s->devlog_fd, 0);
    if (s->devlog == MAP_FAILED) {
        rc = -errno;
        s->devlog = NULL;
        say(err, errlen, "domain %u: mapping the backends' dirty log: %s",
            vm->domid, strerror(errno));
        goto fail;
    }
    pthread_mutex_lock(&vm->dev_lock);
    for (i = 1; rc == 0 && i < PCI_SLOTS; i++)
        if (vpci_present(&vm->virtio[i]))
            rc = vpci_log(&vm->virtio[i], s->devlog_fd, s->devlog_len, err,
                          errlen);
    pthread_mutex_unlock(&vm->dev_lock);
    if (rc == 0)
        return 0;
fail:
    if (s->devlog) {
        devlog_stop(vm, s);
    } else if (s->devlog_fd >= 0) {
        close(s->devlog_fd);
        s->devlog_fd = -1;
    }
    return rc;
}

/* The backends' marks since the last take, cleared, into s->bitmap
 * (memfd pages). */
static void devlog_take(struct vm *vm, struct snapshot *s)
{
    uint64_t low = vm->low_end >> PAGE_SHIFT;
    uint64_t high = (vm->mem_size - vm->low_end) >> PAGE_SHIFT;
    uint64_t hbase = LAYOUT_HIGH_BASE >> PAGE_SHIFT;
    size_t w, nw = s->devlog_len / 8;

    for (w = 0; w < nw; w++) {
        uint64_t v, gfn, page;

        if (!__atomic_load_n(&s->devlog[w], __ATOMIC_RELAXED))
            continue;
        v = __atomic_exchange_n(&s->devlog[w], 0, __ATOMIC_ACQ_REL);
        while (v) {
            gfn = w * 64 + (uint64_t)__builtin_ctzll(v);
            v &= v - 1;
            if (gfn < low)
                page = gfn;
            else if (gfn >= hbase && gfn - hbase < high)
                page = low + (gfn - hbase);
            else
                continue;
            s->bitmap[page / 8] |= (uint8_t)(1u << (page % 8));
        }
    }
}

int snapshot_dirty(struct vm *vm, const struct proto_dirty *dl, void *out,
                   size_t cap, char *err, size_t errlen)
{
    struct snapshot *s = snap_of(vm);
    uint64_t low = vm->low_end >> PAGE_SHIFT;
    uint64_t all = vm->mem_size >> PAGE_SHIFT;
    size_t n;
    int rc;

    if (!s) {
        say(err, errlen, "out of memory");
        return -ENOMEM;
    }
    switch (dl->cmd) {
    case PROTO_DIRTY_START:
        if (s->logging)
            return 0;
        rc = devlog_start(vm, s, err, errlen);
        if (rc < 0)
            return rc;
        /* fall through */
    case PROTO_DIRTY_STOP:
        if (dl->cmd == PROTO_DIRTY_STOP)
            devlog_stop(vm, s);
        rc = vm_memory_slots(vm, dl->cmd == PROTO_DIRTY_START ?
                                 KVM_MEM_LOG_DIRTY_PAGES : 0);
        if (rc < 0 && dl->cmd == PROTO_DIRTY_START)
            devlog_stop(vm, s);
        if (rc < 0) {
            say(err, errlen, "domain %u: %s KVM's dirty page log: %s",
                vm->domid, dl->cmd == PROTO_DIRTY_START ? "starting" :
                "stopping", strerror(-rc));
            return rc;
        }
        s->logging = dl->cmd == PROTO_DIRTY_START;
        return 0;
    }
    if (!s->logging) {
        say(err, errlen, "domain %u: the dirty page log is not started",
            vm->domid);
        return -EINVAL;
    }
    if (dl->first == 0) {
        if (!s->bitmap) {
            s->bitmap_len = (size_t)((all + 7) / 8);
            s->bitmap = calloc(1, s->bitmap_len);
            if (!s->bitmap) {
                say(err, errlen, "out of memory");
                return -ENOMEM;
            }
        }
        memset(s->bitmap, 0, s->bitmap_len);
        rc = take_slot(vm, s, 0, low, 0);
        if (rc == 0 && all > low)
            rc = take_slot(vm, s, 1, all - low, low);
        if (rc < 0) {
            say(err, errlen, "domain %u: KVM_GET_DIRTY_LOG: %s", vm->domid,
                strerror(-rc));
            return rc;
        }
        if (s->devlog)
            devlog_take(vm, s);
    }
    if (!s->bitmap || dl->first / 8 >= s->bitmap_len)
        return 0;
    n = s->bitmap_len - (size_t)(dl->first / 8);
    if (n > cap)
        n = cap;
    memcpy(out, s->bitmap + dl->first / 8, n);
    return (int)n;
}

void snapshot_free(struct vm *vm)
{
    if (!vm->snap)
        return;
    devlog_stop(vm, vm->snap);
    free(vm->snap->msrs);
    free(vm->snap->bitmap);
    free(vm->snap);
    vm->snap = NULL;
}

void snapshot_ran(struct vm *vm)
{
    struct snapshot *s = vm->snap;
    char err[512];
    unsigned int i;

    if (!s)
        return;
    s->restoring = 0;
    if (!s->quiesced)
        return;
    /* saved and running on here (a checkpoint, a migration that failed):
     * the backends take their rings back */
    s->quiesced = 0;
    pthread_mutex_lock(&vm->dev_lock);
    for (i = 1; i < PCI_SLOTS; i++)
        if (vpci_present(&vm->virtio[i]) &&
            vpci_unquiesce(&vm->virtio[i], err, sizeof(err)) < 0)
            vm_log(vm, "%s", err);
    pthread_mutex_unlock(&vm->dev_lock);
}

int snapshot_restoring(const struct vm *vm)
{
    return vm->snap && vm->snap->restoring;
}
