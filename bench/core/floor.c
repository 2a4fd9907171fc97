/*
 * floor.c - the least a KVM VM can cost: memfd RAM, one vCPU started in
 * the same 32-bit flat protected mode as a PVH guest (this host's KVM
 * cannot run real mode) on seven bytes of code that write to COM1, run
 * until that first I/O exit.
 *
 * Usage: bench-core-floor N     N VMs one after another in this process:
 *                               "floor_ms <median> <min>", and the RSS of
 *                               a process holding one such idle VM
 *        bench-core-floor --child   one VM, then write the CLOCK_MONOTONIC
 *                               time (u64 ns) of its first I/O exit to
 *                               stdout and exit: bench-core spawns it to
 *                               time a whole program, from its start
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#define MEM_SIZE (4UL << 20)
#define CODE_ADDR 0x100000UL

static void flat(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
    memset(s, 0, sizeof(*s));
    s->limit = 0xFFFFFFFFU;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->db = 1;
    s->s = 1;
    s->g = 1;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static uint64_t exit_ns;         /* when one() saw its I/O exit */

/* One VM from nothing to its first I/O exit; returns 0 or -1. */
static int one(int keep)
{
    /* 32-bit: mov $0x3f8, %dx; mov $'A', %al; out %al, (%dx) */
    static const uint8_t code[] = {
        0x66, 0xBA, 0xF8, 0x03, 0xB0, 0x41, 0xEE,
    };
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    struct kvm_userspace_memory_region r;
    struct kvm_run *run;
    int kvm, vm, vcpu, mem, size, rc = -1;
    uint8_t *ram;

    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return -1;
    vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
    mem = memfd_create("floor", MFD_CLOEXEC);
    if (vm < 0 || mem < 0 || ftruncate(mem, MEM_SIZE) < 0)
        goto out;
    ram = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mem, 0);
    if (ram == MAP_FAILED)
        goto out;
    memcpy(ram + CODE_ADDR, code, sizeof(code));
    memset(&r, 0, sizeof(r));
    r.memory_size = MEM_SIZE;
    r.userspace_addr = (uintptr_t)ram;
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        goto out;
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
    size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vcpu < 0 || size <= 0)
        goto out;
    run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu,
               0);
    if (run == MAP_FAILED)
        goto out;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        goto out;
    flat(&sregs.cs, 0x10, 0xB);
    flat(&sregs.ds, 0x18, 0x3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.cr0 = 0x11;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        goto out;
    memset(&regs, 0, sizeof(regs));
    regs.rip = CODE_ADDR;
    regs.rflags = 2;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        goto out;
    if (ioctl(vcpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO ||
        run->io.port != 0x3F8)
        goto out;
    {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        exit_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
                  (uint64_t)ts.tv_nsec;
    }
    rc = 0;
    if (keep > 1)
        return rc;                       /* exiting: the kernel cleans up */
    if (keep)
        return rc;                       /* hold the VM for the RSS probe */
    munmap(run, (size_t)size);
    munmap(ram, MEM_SIZE);
    close(vcpu);
out:
    if (mem >= 0)
        close(mem);
    if (vm >= 0)
        close(vm);
    close(kvm);
    return rc;
}

int main(int argc, char **argv)
{
    int n, i;
    double *t;
    char line[256];
    long rss = 0;
    FILE *f;

    if (argc > 1 && !strcmp(argv[1], "--child")) {
        if (one(2) < 0)
            return 1;
        return write(STDOUT_FILENO, &exit_ns, sizeof(exit_ns)) ==
               (ssize_t)sizeof(exit_ns) ? 0 : 1;
    }
    n = argc > 1 ? atoi(argv[1]) : 20;
    t = calloc((size_t)(n > 0 ? n : 1), sizeof(*t));
    if (!t || n <= 0)
        return 2;
    for (i = 0; i < n; i++) {
        double t0 = now_ms();

        if (one(0) < 0) {
            fprintf(stderr, "floor: KVM run failed: %s\n", strerror(errno));
            return 1;
        }
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("floor_ms %.3f %.3f\n", t[n / 2], t[0]);
    if (one(1) == 0 && (f = fopen("/proc/self/status", "r"))) {
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "VmRSS: %ld kB", &rss) == 1)
                break;
        fclose(f);
        printf("floor_rss_kib %ld\n", rss);
    }
    free(t);
    return 0;
}
