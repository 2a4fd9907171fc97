/*
 * check_platform.c - what the core offers on top of running guests:
 * reading vCPU registers (xc_vcpu_getcontext), the ACPI power button
 * and reset triggers (xc_domain_send_trigger) and the credit scheduler
 * applied through cgroups (xc_sched_credit_domain_set/get).
 *
 * Built twice (tests/guests/Makefile.am): check_platform runs the cases
 * every host with KVM can run; check_platform_cgroup (CGROUP_CASES=1)
 * runs those that need a cgroup cpu controller the core can use, and
 * exits 77 without one, so that the harness counts them as skipped
 * instead of passed.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_probe.h"
#include "harness.h"

#ifndef CGROUP_CASES
#define CGROUP_CASES 0
#endif

#define TIMEOUT_MS 20000

static struct core core;
static char ring[65537];

static void setup(void)
{
    int rc = core_start(&core);

    ck_assert_msg(rc == 0, "starting xenolithd: %s", strerror(-rc));
}

static void teardown(void)
{
    core_stop(&core);
}

static uint32_t boot(const char *name, unsigned int vcpus)
{
    uint32_t domid = 0;
    int rc;

    rc = guest_boot(core.xch, test_host_guest(name), vcpus, 16, NULL, NULL, 0,
                    &domid);
    ck_assert_msg(rc == 0, "booting %s: %s", name, strerror(-rc));
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    return domid;
}

static size_t ring_len(uint32_t domid)
{
    size_t len = sizeof(ring) - 1;

    ck_assert_int_eq(xc_console_read_ring(core.xch, domid, ring, &len), 0);
    ring[len] = '\0';
    return len;
}

/* The counter guest keeps printing: its output must grow. */
static void expect_counting(uint32_t domid)
{
    size_t a = ring_len(domid), b;
    int i;

    for (i = 0; i < 200; i++) {
        usleep(10000);
        b = ring_len(domid);
        if (b != a || b == sizeof(ring) - 1)
            return;
    }
    ck_abort_msg("domain %u stopped printing", domid);
}

/* The executable PT_LOAD of a guest ELF (identity-mapped). */
static void text_range(const char *name, uint64_t *lo, uint64_t *hi)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    FILE *f = fopen(test_host_guest(name), "r");
    int i;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fread(&eh, sizeof(eh), 1, f), 1);
    *lo = *hi = 0;
    for (i = 0; i < eh.e_phnum; i++) {
        ck_assert_int_eq(fseek(f, (long)(eh.e_phoff + (uint64_t)i *
                                         eh.e_phentsize), SEEK_SET), 0);
        ck_assert_int_eq(fread(&ph, sizeof(ph), 1, f), 1);
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
            *lo = ph.p_paddr;
            *hi = ph.p_paddr + ph.p_memsz;
        }
    }
    fclose(f);
    ck_assert_msg(*hi > *lo, "%s has no executable segment", name);
}

#define EFER_LME  (1ULL << 8)
#define EFER_LMA  (1ULL << 10)
#define CR0_PE    (1ULL << 0)
#define CR0_PG    (1ULL << 31)
#define CR4_PAE   (1ULL << 5)
#define SEG_L     (1U << 9)
#define SEG_P     (1U << 7)

/* A counter guest in its loop: 64-bit, paging on, rip in its text. */
static void expect_long_mode(const struct xc_vcpu_context *c)
{
    uint64_t lo, hi;

    text_range("test-pvh-counter", &lo, &hi);
    ck_assert_uint_eq(c->mode, XC_VCPU_MODE_LONG64);
    ck_assert(c->flags & XC_VCPU_CTX_ONLINE);
    ck_assert_msg(c->rip >= lo && c->rip < hi, "rip %#llx outside the "
                  "guest's text %#llx..%#llx", (unsigned long long)c->rip,
                  (unsigned long long)lo, (unsigned long long)hi);
    ck_assert_uint_eq(c->efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
    ck_assert_uint_eq(c->cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
    ck_assert(c->cr4 & CR4_PAE);
    ck_assert_uint_ne(c->cr3, 0);
    ck_assert(c->cs.attr & SEG_L);
    ck_assert(c->cs.attr & SEG_P);
    ck_assert(c->rflags & 2);
    /* the stack lies in guest RAM (16 MiB) */
    ck_assert(c->rsp > 0x1000 && c->rsp <= 16ULL << 20);
    ck_assert(c->gdtr_limit > 0);
}

START_TEST(test_getcontext_paused)
{
    struct xc_vcpu_context c, c2;
    uint32_t domid = boot("test-pvh-counter", 2);

    ck_assert_int_eq(console_wait(core.xch, domid, "counter 3",
                                  TIMEOUT_MS, NULL, 0), 1);
    /* only a domain that does not run has registers to read */
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, domid, 0, &c), -EBUSY);
    ck_assert_int_eq(xc_domain_pause(core.xch, domid), 0);
    memset(&c, 0xAA, sizeof(c));
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, domid, 0, &c), 0);
    expect_long_mode(&c);
    /* paused: nothing moves between two reads */
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, domid, 0, &c2), 0);
    ck_assert(memcmp(&c, &c2, sizeof(c)) == 0);
    /* vCPU 1 was never started by the guest: reset state */
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, domid, 1, &c2), 0);
    ck_assert_uint_eq(c2.flags & XC_VCPU_CTX_ONLINE, 0);
    ck_assert_uint_eq(c2.mode, XC_VCPU_MODE_REAL);
    ck_assert_uint_eq(c2.rip, 0xFFF0);
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, domid, 2, &c2), -EINVAL);
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, 999, 0, &c2), -ESRCH);
    /* reading leaves the guest intact */
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    expect_counting(domid);

    /* shut down (the process keeps the vCPUs): still readable */
    ck_assert_int_eq(xc_domain_shutdown(core.xch, domid,
                                        XC_SHUTDOWN_crash), 0);
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, domid, 0, &c), 0);
    expect_long_mode(&c);
}
END_TEST

START_TEST(test_getcontext_process_gone)
{
    struct xc_vcpu_context c;
    xc_dominfo_t info;
    unsigned int reason = 99;
    uint32_t domid = boot("test-pvh-counter", 1);

    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    ck_assert_int_gt(info.pid, 0);
    kill(info.pid, SIGKILL);
    ck_assert_int_eq(shutdown_wait(core.xch, domid, TIMEOUT_MS, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_crash);
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, domid, 0, &c), -EIO);
}
END_TEST

START_TEST(test_power_button)
{
    unsigned int reason = 99;
    uint32_t domid = boot("test-pvh-pwrbtn", 1);

    ck_assert_int_eq(console_wait(core.xch, domid, "waiting for the power "
                                  "button", TIMEOUT_MS, NULL, 0), 1);
    /* only the guest powers itself off, and not before the press */
    ck_assert_int_eq(shutdown_wait(core.xch, domid, 200, &reason), 0);
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, domid,
                                            XEN_DOMCTL_SENDTRIGGER_NMI, 0),
                     -EOPNOTSUPP);
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, domid,
                                            XEN_DOMCTL_SENDTRIGGER_POWER, 0),
                     0);
    ck_assert_int_eq(shutdown_wait(core.xch, domid, TIMEOUT_MS, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_poweroff);
    ring_len(domid);
    ck_assert_msg(strstr(ring, "SCI 9 requested") &&
                  strstr(ring, "Test result: SUCCESS"), "console: %s", ring);
    /* a domain that is shut down ignores further presses */
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, domid,
                                            XEN_DOMCTL_SENDTRIGGER_POWER, 0),
                     0);
}
END_TEST

START_TEST(test_power_button_sci)
{
    unsigned int reason = 99;
    uint32_t domid = 0;
    int rc;

    /* the guest waits halted; the SCI through the IOAPIC wakes it */
    rc = guest_boot(core.xch, test_host_guest("test-pvh-pwrbtn"), 1, 16, "sci",
                    NULL, 0, &domid);
    ck_assert_msg(rc == 0, "booting: %s", strerror(-rc));
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    ck_assert_int_eq(console_wait(core.xch, domid, "waiting for the power "
                                  "button", TIMEOUT_MS, NULL, 0), 1);
    ck_assert_int_eq(shutdown_wait(core.xch, domid, 200, &reason), 0);
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, domid,
                                            XEN_DOMCTL_SENDTRIGGER_POWER, 0),
                     0);
    ck_assert_int_eq(shutdown_wait(core.xch, domid, TIMEOUT_MS, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_poweroff);
    ring_len(domid);
    ck_assert_msg(strstr(ring, "SCI 9 taken") &&
                  strstr(ring, "Test result: SUCCESS"), "console: %s", ring);
}
END_TEST

START_TEST(test_power_button_early)
{
    unsigned int reason = 99;
    uint32_t domid = 0;
    int rc;

    /* pressed while the guest has not yet enabled the button: the status
     * bit waits for it */
    rc = guest_boot(core.xch, test_host_guest("test-pvh-pwrbtn"), 1, 16, NULL,
                    NULL, 0, &domid);
    ck_assert_msg(rc == 0, "booting: %s", strerror(-rc));
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, domid,
                                            XEN_DOMCTL_SENDTRIGGER_POWER, 0),
                     0);
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    ck_assert_int_eq(shutdown_wait(core.xch, domid, TIMEOUT_MS, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_poweroff);
    ring_len(domid);
    ck_assert_msg(strstr(ring, "pressed before PWRBTN_EN") &&
                  strstr(ring, "SCI 9 requested") &&
                  strstr(ring, "Test result: SUCCESS"), "console: %s", ring);
}
END_TEST

START_TEST(test_power_button_ignored)
{
    unsigned int reason = 99;
    uint32_t domid = boot("test-pvh-counter", 1);

    /* a guest that never enabled PWRBTN_EN just goes on */
    ck_assert_int_eq(console_wait(core.xch, domid, "counter 3",
                                  TIMEOUT_MS, NULL, 0), 1);
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, domid,
                                            XEN_DOMCTL_SENDTRIGGER_POWER, 0),
                     0);
    ck_assert_int_eq(shutdown_wait(core.xch, domid, 300, &reason), 0);
    expect_counting(domid);
}
END_TEST

START_TEST(test_reset_trigger)
{
    unsigned int reason = 99;
    uint32_t domid = boot("test-pvh-counter", 1);

    ck_assert_int_eq(console_wait(core.xch, domid, "counter 3",
                                  TIMEOUT_MS, NULL, 0), 1);
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, domid,
                                            XEN_DOMCTL_SENDTRIGGER_RESET, 0),
                     0);
    ck_assert_int_eq(shutdown_wait(core.xch, domid, TIMEOUT_MS, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_reboot);
}
END_TEST

/* ------------------------------------------------------------ credit */

enum cg { CG_NONE, CG_V1, CG_V2 };

/* The cpu cgroup directory of process pid, as the core would find it. */
static enum cg cgroup_of(pid_t pid, char *dir, size_t cap)
{
    static const char *const v1[] = { "cpu", "cpu,cpuacct", NULL };
    char path[64], line[512], *rel = NULL;
    enum cg kind = CG_NONE;
    FILE *f;
    int i;

    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        char *ctl = strchr(line, ':'), *p;

        if (!ctl)
            continue;
        *ctl++ = '\0';             /* line: the hierarchy id alone */
        p = strchr(ctl, ':');
        if (!p)
            continue;
        *p++ = '\0';
        p[strcspn(p, "\n")] = '\0';
        for (i = 0; v1[i]; i++) {
            char shares[96];

            snprintf(shares, sizeof(shares), "/sys/fs/cgroup/%s/cpu.shares",
                     v1[i]);
            if (!strcmp(ctl, v1[i]) && access(shares, F_OK) == 0) {
                kind = CG_V1;
                snprintf(dir, cap, "/sys/fs/cgroup/%s%s", ctl, p);
            }
        }
        if (kind == CG_NONE && !strcmp(line, "0") && !*ctl) {
            rel = p;
            snprintf(dir, cap, "/sys/fs/cgroup%s", rel);
            if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
                kind = CG_V2;
        }
    }
    fclose(f);
    return kind;
}

static void read_file(const char *dir, const char *name, char *buf,
                      size_t cap)
{
    char path[600];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

static uint64_t cpu_ns(uint32_t domid)
{
    xc_dominfo_t info;

    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    return info.cpu_time;
}

START_TEST(test_credit_cgroup)
{
    struct xen_domctl_sched_credit sc;
    char dir[512], buf[128], parent[512];
    xc_dominfo_t info;
    uint64_t t0, t1;
    double w0, share, free_share;
    struct stat st;
    enum cg kind;
    uint32_t domid;

    domid = boot("test-pvh-counter", 1);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    kind = cgroup_of(info.pid, dir, sizeof(dir));
    ck_assert_msg(kind != CG_NONE, "domain process in no cpu cgroup");
    ck_assert_msg(strstr(dir, "/xenolith/xenolithd-") &&
                  strstr(dir, "/d1"), "group %s", dir);

    ck_assert_int_eq(xc_sched_credit_domain_get(core.xch, domid, &sc), 0);
    ck_assert_uint_eq(sc.weight, 256);
    ck_assert_uint_eq(sc.cap, 0);

    sc.weight = 512;
    sc.cap = 20;
    ck_assert_int_eq(xc_sched_credit_domain_set(core.xch, domid, &sc), 0);
    memset(&sc, 0, sizeof(sc));
    ck_assert_int_eq(xc_sched_credit_domain_get(core.xch, domid, &sc), 0);
    ck_assert_uint_eq(sc.weight, 512);
    ck_assert_uint_eq(sc.cap, 20);
    if (kind == CG_V1) {
        read_file(dir, "cpu.shares", buf, sizeof(buf));
        ck_assert_str_eq(buf, "2048");
        read_file(dir, "cpu.cfs_period_us", buf, sizeof(buf));
        ck_assert_str_eq(buf, "100000");
        read_file(dir, "cpu.cfs_quota_us", buf, sizeof(buf));
        ck_assert_str_eq(buf, "20000");
    } else {
        read_file(dir, "cpu.weight", buf, sizeof(buf));
        ck_assert_str_eq(buf, "200");
        read_file(dir, "cpu.max", buf, sizeof(buf));
        ck_assert_str_eq(buf, "20000 100000");
    }

    /* the cap holds: about 20% of a CPU over 2 s of wall time */
    expect_counting(domid);
    t0 = cpu_ns(domid);
    w0 = now_ms();
    usleep(2000000);
    t1 = cpu_ns(domid);
    share = (double)(t1 - t0) / 1e6 / (now_ms() - w0);
    printf("credit_cgroup: capped at 20%%: %.1f%% of a CPU\n", share * 100);
    ck_assert_msg(share > 0.02 && share < 0.30, "capped at 20%% but used "
                  "%.1f%% of a CPU", share * 100);

    /* weight 0 and cap 0xFFFF keep; cap 0 lifts the cap */
    sc.weight = 0;
    sc.cap = 0xFFFF;
    ck_assert_int_eq(xc_sched_credit_domain_set(core.xch, domid, &sc), 0);
    ck_assert_int_eq(xc_sched_credit_domain_get(core.xch, domid, &sc), 0);
    ck_assert_uint_eq(sc.weight, 512);
    ck_assert_uint_eq(sc.cap, 20);
    sc.weight = 1;
    sc.cap = 0;
    ck_assert_int_eq(xc_sched_credit_domain_set(core.xch, domid, &sc), 0);
    if (kind == CG_V1) {
        read_file(dir, "cpu.shares", buf, sizeof(buf));
        ck_assert_str_eq(buf, "4");
        read_file(dir, "cpu.cfs_quota_us", buf, sizeof(buf));
        ck_assert_str_eq(buf, "-1");
    } else {
        read_file(dir, "cpu.weight", buf, sizeof(buf));
        ck_assert_str_eq(buf, "1");
        read_file(dir, "cpu.max", buf, sizeof(buf));
        ck_assert_str_eq(buf, "max 100000");
    }
    t0 = cpu_ns(domid);
    w0 = now_ms();
    usleep(500000);
    free_share = (double)(cpu_ns(domid) - t0) / 1e6 / (now_ms() - w0);
    printf("credit_cgroup: uncapped: %.1f%% of a CPU\n", free_share * 100);

    /* one vCPU: at most 100 */
    sc.weight = 256;
    sc.cap = 101;
    ck_assert_int_eq(xc_sched_credit_domain_set(core.xch, domid, &sc),
                     -EINVAL);

    /* nothing left behind: the domain's group, then the daemon's */
    snprintf(parent, sizeof(parent), "%s", dir);
    *strrchr(parent, '/') = '\0';
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    ck_assert_msg(stat(dir, &st) < 0 && errno == ENOENT, "%s left behind",
                  dir);
    ck_assert_int_eq(stat(parent, &st), 0);
    core_stop(&core);
    ck_assert_msg(stat(parent, &st) < 0 && errno == ENOENT,
                  "%s left behind", parent);
}
END_TEST

/* Has pid exited (a zombie counts: a daemonized core is not ours to
 * reap)? */
static int exited(pid_t pid)
{
    char path[64], line[256], *p;
    int done = 1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return 1;
    if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')))
        done = p[1] == ' ' && p[2] == 'Z';
    fclose(f);
    return done;
}

static void wait_exited(pid_t pid)
{
    int i;

    for (i = 0; i < 1000 && !exited(pid); i++)
        usleep(10000);
    ck_assert_msg(exited(pid), "process %d did not exit", (int)pid);
}

START_TEST(test_restart_takes_over)
{
    struct xen_domctl_sched_credit sc = { .weight = 512, .cap = 0 };
    char dir[512], dir2[512], parent[512];
    xc_dominfo_t info, again;
    struct stat st;
    uint32_t domid;

    domid = boot("test-pvh-counter", 1);
    ck_assert_int_eq(xc_sched_credit_domain_set(core.xch, domid, &sc), 0);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    ck_assert(cgroup_of(info.pid, dir, sizeof(dir)) != CG_NONE);
    snprintf(parent, sizeof(parent), "%s", dir);
    *strrchr(parent, '/') = '\0';

    /* the daemon dies: its domain runs on, and the next daemon takes it
     * over, into its own group with the weight it had */
    ck_assert_int_eq(kill(core.host.core, SIGKILL), 0);
    wait_exited(core.host.core);
    ck_assert_msg(!exited(info.pid), "the domain died with the daemon");
    ck_assert_int_eq(core_restart(&core), 0);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &again), 0);
    ck_assert_int_eq(again.pid, info.pid);
    ck_assert(!again.shutdown && !again.paused);
    expect_counting(domid);
    ck_assert(cgroup_of(info.pid, dir2, sizeof(dir2)) != CG_NONE);
    ck_assert_msg(strcmp(dir, dir2) != 0, "still in the dead daemon's "
                  "group %s", dir);
    ck_assert_msg(stat(parent, &st) < 0 && errno == ENOENT,
                  "%s left behind by a dead daemon", parent);
    memset(&sc, 0, sizeof(sc));
    ck_assert_int_eq(xc_sched_credit_domain_get(core.xch, domid, &sc), 0);
    ck_assert_int_eq(sc.weight, 512);
    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    wait_exited(info.pid);
}
END_TEST

/* A new daemon comes before the domain process has read its old
 * channel's end (here: the process is stopped until after the new
 * daemon connected): it is taken over all the same, not refused. */
START_TEST(test_restart_before_process_noticed)
{
    xc_dominfo_t info, again;
    uint32_t domid;
    pid_t waker;

    domid = boot("test-pvh-counter", 1);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);
    ck_assert_int_eq(kill(info.pid, SIGSTOP), 0);
    ck_assert_int_eq(kill(core.host.core, SIGKILL), 0);
    wait_exited(core.host.core);
    waker = fork();
    ck_assert_int_ge(waker, 0);
    if (waker == 0) {
        usleep(300000);          /* the new daemon is connecting by now */
        kill(info.pid, SIGCONT);
        _exit(0);
    }
    ck_assert_int_eq(core_restart(&core), 0);
    ck_assert_int_eq(waitpid(waker, NULL, 0), waker);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &again), 0);
    ck_assert_int_eq(again.pid, info.pid);
    ck_assert(!again.shutdown);
    expect_counting(domid);
    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    wait_exited(info.pid);
}
END_TEST

/* Every "tick N" line in text runs on from the first (first, last);
 * 0 if a line is missing or doubled. */
static int ticks_in_order(const char *text, long *first, long *last)
{
    const char *p = text;
    long n;

    *first = *last = 0;
    while ((p = strstr(p, "tick ")) != NULL) {
        if ((p == text || p[-1] == '\n') && sscanf(p, "tick %ld\n", &n) == 1 &&
            strchr(p, '\n')) {
            if (*first && n != *last + 1) {
                fprintf(stderr, "tick %ld after tick %ld\n", n, *last);
                return 0;
            }
            if (!*first)
                *first = n;
            *last = n;
        }
        p += 5;
    }
    return *first > 0;
}

/* A planned upgrade (SIGUSR2, a new daemon): the guest's output while no
 * daemon ran reaches the new one; its console log holds every line once,
 * in order, across the hand-over. */
START_TEST(test_upgrade_console_log)
{
    static char log[1 << 20];
    struct xc_console_info ci;
    long first, last, mark;
    xc_dominfo_t info;
    uint32_t domid;
    size_t n;
    FILE *f;
    char want[32];

    harness_create_flags |= XC_DOMCFG_CONSOLE_LOG;
    domid = boot("test-pvh-ticker", 1);
    harness_create_flags &= ~XC_DOMCFG_CONSOLE_LOG;
    ck_assert_int_eq(console_wait(core.xch, domid, "tick 20\n", TIMEOUT_MS,
                                  NULL, 0), 1);
    ck_assert_int_eq(xc_console_info(core.xch, domid, &ci), 0);
    ck_assert_msg(ci.log_path[0], "no console log");
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, domid, &info), 0);

    ck_assert_int_eq(kill(core.host.core, SIGUSR2), 0);
    wait_exited(core.host.core);
    ck_assert_msg(!exited(info.pid), "the domain did not outlive the "
                  "upgrade");
    usleep(300000);              /* it ticks on with no daemon */
    ck_assert_int_eq(core_restart(&core), 0);
    ring_len(domid);
    ck_assert(ticks_in_order(ring, &first, &mark));
    snprintf(want, sizeof(want), "tick %ld\n", mark + 20);
    ck_assert_int_eq(console_wait(core.xch, domid, want, TIMEOUT_MS, NULL,
                                  0), 1);
    ring_len(domid);
    ck_assert_msg(ticks_in_order(ring, &first, &last) && first == 1,
                  "ring: %ld..%ld", first, last);

    f = fopen(ci.log_path, "r");
    ck_assert_msg(f != NULL, "%s: %s", ci.log_path, strerror(errno));
    n = fread(log, 1, sizeof(log) - 1, f);
    fclose(f);
    log[n] = '\0';
    ck_assert_msg(ticks_in_order(log, &first, &last) && first == 1 &&
                  last >= mark + 20, "log %s: ticks %ld..%ld, want 1..%ld "
                  "without a gap or a repeat", ci.log_path, first, last,
                  mark + 20);
    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    wait_exited(info.pid);
}
END_TEST

START_TEST(test_credit_no_controller)
{
    struct xen_domctl_sched_credit sc = { 512, 10 };
    char path[400], log[65536];
    uint32_t domid;
    size_t n;
    FILE *f;
    int rc;

    setenv("XENOLITH_CGROUP_ROOT", "/nonexistent/cgroup", 1);
    rc = core_start(&core);
    unsetenv("XENOLITH_CGROUP_ROOT");
    ck_assert_msg(rc == 0, "starting xenolithd: %s", strerror(-rc));
    /* domains still run */
    domid = boot("test-pvh-counter", 1);
    expect_counting(domid);
    ck_assert_int_eq(xc_sched_credit_domain_set(core.xch, domid, &sc),
                     -EOPNOTSUPP);
    ck_assert_int_eq(xc_sched_credit_domain_get(core.xch, domid, &sc), 0);
    ck_assert_uint_eq(sc.weight, 256);
    ck_assert_uint_eq(sc.cap, 0);
    snprintf(path, sizeof(path), "%s/xenolithd.log", core.host.dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(log, 1, sizeof(log) - 1, f);
    fclose(f);
    log[n] = '\0';
    ck_assert_msg(strstr(log, "no cgroup cpu controller") &&
                  strstr(log, "/nonexistent/cgroup"), "log: %s", log);
    core_stop(&core);
}
END_TEST

static Suite *platform_suite(void)
{
    Suite *s = suite_create("platform");
    struct {
        const char *name;
        const TTest *test;
        int fixture;
        int cgroup;             /* needs a cgroup cpu controller */
    } cases[] = {
        { "getcontext_paused", test_getcontext_paused, 1, 0 },
        { "getcontext_process_gone", test_getcontext_process_gone, 1, 0 },
        { "power_button", test_power_button, 1, 0 },
        { "power_button_sci", test_power_button_sci, 1, 0 },
        { "power_button_early", test_power_button_early, 1, 0 },
        { "power_button_ignored", test_power_button_ignored, 1, 0 },
        { "reset_trigger", test_reset_trigger, 1, 0 },
        { "credit_cgroup", test_credit_cgroup, 1, 1 },
        { "restart_takes_over", test_restart_takes_over, 1, 1 },
        { "upgrade_console_log", test_upgrade_console_log, 1, 0 },
        { "restart_before_noticed", test_restart_before_process_noticed, 1,
          0 },
        { "credit_no_controller", test_credit_no_controller, 0, 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc;

        if (cases[i].cgroup != CGROUP_CASES)
            continue;
        tc = tcase_create(cases[i].name);

        tcase_set_timeout(tc, 60);
        if (cases[i].fixture)
            tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    test_host_require(TEST_HOST_CORE, true);
    if (CGROUP_CASES) {
        char why[400];

        if (!cgroup_cpu_usable(why, sizeof(why))) {
            printf("SKIP: credit_cgroup, credit_sweep: %s\n", why);
            return 77;
        }
    }
    sr = srunner_create(platform_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
