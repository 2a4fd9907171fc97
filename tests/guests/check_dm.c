/*
 * check_dm.c - device-model domains on a private xenolithd: a real
 * qemu-system-x86_64 (TCG, pc machine) started with libxendm boots the
 * test-pvh-qemu guest through -kernel, is attached to its domain with
 * xc_domain_attach_dm, and the core drives it: console both ways,
 * pause/unpause, CPU time, the guest's power-off / reset / panic, the
 * shutdown call and triggers, qemu killed, destroy, attach errors.
 * Needs root and qemu-system-x86_64; skips (77) otherwise.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "xendm.h"

static struct core core;
static char run_dir[300];

/* One domain and its qemu. */
struct dmt {
    uint32_t domid;
    struct xendm *dm;            /* the main QMP monitor (ours) */
    pid_t pid;
};

static void quiet(void *opaque, enum xendm_level level, const char *msg)
{
    (void)opaque;
    if (level >= XENDM_WARN && getenv("HARNESS_VERBOSE"))
        fprintf(stderr, "xendm: %s\n", msg);
}

static const struct xendm_logger dm_logger = { quiet, NULL };

static void setup(void)
{
    int rc = core_start(&core);

    ck_assert_msg(rc == 0, "core_start: %s", strerror(-rc));
    snprintf(run_dir, sizeof(run_dir), "%s/qemu-dm", core.host.dir);
    ck_assert_int_eq(mkdir(run_dir, 0755), 0);
}

static void teardown(void)
{
    core_stop(&core);
}

/* Create a device-model domain and start its qemu (paused) on the
 * guest with mode as its command line; not attached yet. */
static void dm_start(struct dmt *t, const char *mode)
{
    struct xc_domain_config cfg;
    struct xendm_config dc;
    int rc;

    memset(t, 0, sizeof(*t));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_vcpus = 1;
    cfg.memory_kb = 64 << 10;
    cfg.flags = XC_DOMCFG_HVM | XC_DOMCFG_DEVICE_MODEL;
    rc = xc_domain_create(core.xch, &t->domid, &cfg);
    ck_assert_msg(rc == 0, "create: %s", strerror(-rc));

    memset(&dc, 0, sizeof(dc));
    dc.domid = t->domid;
    dc.run_dir = run_dir;
    dc.machine = XENDM_MACHINE_PC;
    dc.accel = XENDM_ACCEL_TCG;
    dc.memory_mib = 64;
    dc.vcpus = 1;
    dc.kernel = test_host_guest("test-pvh-qemu");
    dc.cmdline = mode;
    dc.no_shutdown = true;
    dc.no_reboot = true;
    dc.pvpanic = true;
    dc.core_monitor = true;
    dc.die_with_parent = true;
    rc = xendm_start(&dc, &dm_logger, &t->dm);
    ck_assert_msg(rc == 0, "xendm_start: %s", strerror(-rc));
    t->pid = xendm_pid(t->dm);
    ck_assert_int_gt(t->pid, 0);
}

static void dm_attach(struct dmt *t)
{
    int rc = xc_domain_attach_dm(core.xch, t->domid, t->pid,
                                 xendm_core_qmp_path(t->dm));

    ck_assert_msg(rc == 0, "attach: %s", strerror(-rc));
}

static void dm_boot(struct dmt *t, const char *mode)
{
    dm_start(t, mode);
    dm_attach(t);
    ck_assert_int_eq(xc_domain_unpause(core.xch, t->domid), 0);
}

/* Reaped within ms (we are its parent): 1, else 0. */
static int qemu_reaped(pid_t pid, int ms)
{
    int i, status;

    for (i = 0; i < ms / 10; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return 1;
        usleep(10000);
    }
    return 0;
}

/* Destroy: returns once qemu is gone and the domain with it. */
static void dm_destroy(struct dmt *t)
{
    xc_dominfo_t info;

    ck_assert_int_eq(xc_domain_destroy(core.xch, t->domid), 0);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, t->domid, &info),
                     -ESRCH);
    ck_assert_msg(qemu_reaped(t->pid, 3000), "qemu %d still there",
                  (int)t->pid);
    xendm_release(t->dm);
    t->dm = NULL;
}

static void info(struct dmt *t, xc_dominfo_t *i)
{
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, t->domid, i), 0);
}

START_TEST(test_lifecycle)
{
    struct xc_console_status st;
    xc_dominfo_t i;
    char *status = NULL;
    int rc;
    struct dmt t;

    dm_start(&t, "");
    info(&t, &i);
    ck_assert(i.dm);
    ck_assert(i.paused);
    ck_assert_int_eq(i.pid, 0);              /* nothing attached yet */
    dm_attach(&t);
    info(&t, &i);
    ck_assert(i.paused && !i.shutdown);
    ck_assert_int_eq(i.pid, t.pid);
    ck_assert_uint_eq(i.nr_online_vcpus, 1);
    ck_assert_uint_eq(i.max_memkb, 64 << 10);

    ck_assert_int_eq(xc_domain_unpause(core.xch, t.domid), 0);
    ck_assert_int_eq(console_wait(core.xch, t.domid, "tick 2", 30000,
                                  NULL, 0), 1);
    info(&t, &i);
    ck_assert(!i.paused && !i.shutdown);
    ck_assert_uint_gt(i.cpu_time, 0);
    ck_assert_int_eq(xendm_query_status(t.dm, &status, NULL), 0);
    ck_assert_str_eq(status, "running");
    free(status);

    /* paused: qemu stopped and the output stops */
    ck_assert_int_eq(xc_domain_pause(core.xch, t.domid), 0);
    info(&t, &i);
    ck_assert(i.paused);
    ck_assert_int_eq(xendm_query_status(t.dm, &status, NULL), 0);
    ck_assert_str_eq(status, "paused");
    free(status);
    usleep(300000);                          /* the pty drains */
    ck_assert_int_eq(xc_console_wait(core.xch, t.domid, 0, 1000, &st), 0);
    rc = xc_console_wait(core.xch, t.domid, st.produced, 1500, NULL);
    ck_assert_int_eq(rc, -ETIMEDOUT);
    ck_assert_uint_gt(st.first_output_ns, 0);

    /* qemu's own stop and cont show in dominfo too */
    ck_assert_int_eq(xendm_cont(t.dm), 0);
    ck_assert_int_eq(xc_console_wait(core.xch, t.domid, st.produced,
                                     10000, NULL), 0);
    info(&t, &i);
    ck_assert(!i.paused);
    ck_assert_int_eq(xendm_stop(t.dm), 0);
    usleep(200000);
    info(&t, &i);
    ck_assert(i.paused);
    ck_assert_int_eq(xc_domain_unpause(core.xch, t.domid), 0);
    info(&t, &i);
    ck_assert(!i.paused);

    dm_destroy(&t);
}
END_TEST

/* The guest does mode; the domain shuts down with reason. */
static void guest_stops(const char *mode, unsigned int want)
{
    unsigned int reason = 99;
    char needle[64];
    xc_dominfo_t i;
    struct dmt t;

    dm_boot(&t, mode);
    ck_assert_int_eq(shutdown_wait(core.xch, t.domid, 30000, &reason), 1);
    ck_assert_uint_eq(reason, want);
    snprintf(needle, sizeof(needle), "qemu guest: %s", mode);
    ck_assert_int_eq(console_wait(core.xch, t.domid, needle, 5000, NULL,
                                  0), 1);
    info(&t, &i);
    ck_assert(i.shutdown);
    ck_assert_int_eq(i.crashed, want == XC_SHUTDOWN_crash);
    ck_assert_int_eq(i.pid, t.pid);          /* qemu stays until destroy */
    /* shut down is final: unpause does not restart it */
    ck_assert_int_eq(xc_domain_unpause(core.xch, t.domid), 0);
    info(&t, &i);
    ck_assert(i.shutdown && !i.running);
    dm_destroy(&t);
}

START_TEST(test_guest_poweroff)
{
    guest_stops("poweroff", XC_SHUTDOWN_poweroff);
}
END_TEST

START_TEST(test_guest_reset)
{
    guest_stops("reset", XC_SHUTDOWN_reboot);
}
END_TEST

START_TEST(test_guest_panic)
{
    guest_stops("panic", XC_SHUTDOWN_crash);
}
END_TEST

START_TEST(test_console_input)
{
    struct dmt t;

    dm_boot(&t, "echo");
    ck_assert_int_eq(console_wait(core.xch, t.domid, "qemu guest: echo",
                                  30000, NULL, 0), 1);
    ck_assert_int_eq(xc_console_write(core.xch, t.domid, "hello dm\r", 9),
                     9);
    ck_assert_int_eq(console_wait(core.xch, t.domid, "echo: hello dm",
                                  10000, NULL, 0), 1);
    dm_destroy(&t);
}
END_TEST

START_TEST(test_shutdown_call)
{
    unsigned int reason = 99;
    char *status = NULL;
    struct dmt t;

    dm_boot(&t, "");
    ck_assert_int_eq(console_wait(core.xch, t.domid, "tick 1", 30000,
                                  NULL, 0), 1);
    /* the power button: this guest has no ACPI driver, it keeps going */
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, t.domid,
                                            XEN_DOMCTL_SENDTRIGGER_POWER,
                                            0), 0);
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, t.domid,
                                            XEN_DOMCTL_SENDTRIGGER_NMI,
                                            0), -EOPNOTSUPP);
    ck_assert_int_eq(xc_domain_shutdown(core.xch, t.domid,
                                        XC_SHUTDOWN_poweroff), 0);
    ck_assert_int_eq(shutdown_wait(core.xch, t.domid, 1000, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_poweroff);
    ck_assert_int_eq(xendm_query_status(t.dm, &status, NULL), 0);
    ck_assert_str_eq(status, "paused");      /* stopped, not gone */
    free(status);
    dm_destroy(&t);

    dm_boot(&t, "");
    ck_assert_int_eq(xc_domain_send_trigger(core.xch, t.domid,
                                            XEN_DOMCTL_SENDTRIGGER_RESET,
                                            0), 0);
    ck_assert_int_eq(shutdown_wait(core.xch, t.domid, 1000, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_reboot);
    dm_destroy(&t);
}
END_TEST

START_TEST(test_qemu_killed)
{
    unsigned int reason = 99;
    xc_dominfo_t i;
    char log[16384];
    unsigned int n = sizeof(log) - 1;
    struct dmt t;

    dm_boot(&t, "");
    ck_assert_int_eq(console_wait(core.xch, t.domid, "tick 1", 30000,
                                  NULL, 0), 1);
    ck_assert_int_eq(kill(t.pid, SIGKILL), 0);
    ck_assert_int_eq(shutdown_wait(core.xch, t.domid, 5000, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_crash);
    info(&t, &i);
    ck_assert(i.crashed);
    ck_assert_int_eq(i.pid, 0);              /* qemu is gone */
    /* logged, with how it ended */
    ck_assert_int_eq(xc_readconsolering(core.xch, log, &n, 0, 0, NULL), 0);
    log[n] = '\0';
    ck_assert_msg(strstr(log, "killed by signal 9"), "log: %s", log);
    ck_assert_int_eq(xc_domain_pause(core.xch, t.domid), 0);
    ck_assert_int_eq(xc_domain_destroy(core.xch, t.domid), 0);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, t.domid, &i),
                     -ESRCH);
    ck_assert(qemu_reaped(t.pid, 1000));
    xendm_release(t.dm);
}
END_TEST

START_TEST(test_attach_errors)
{
    struct xc_vcpu_context ctx;
    xc_dominfo_t i;
    struct dmt t;
    int rc;

    dm_start(&t, "");
    /* before the attach: nothing to drive */
    ck_assert_int_eq(xc_domain_unpause(core.xch, t.domid), -EBUSY);
    ck_assert_int_eq(xc_domain_attach_dm(core.xch, 999, t.pid,
                                         xendm_core_qmp_path(t.dm)),
                     -ESRCH);
    ck_assert_int_eq(xc_domain_attach_dm(core.xch, t.domid, 0x3ffffff0,
                                         xendm_core_qmp_path(t.dm)),
                     -EINVAL);
    rc = xc_domain_attach_dm(core.xch, t.domid, t.pid, "/nonexistent/x");
    ck_assert_msg(rc == -ENOENT || rc == -ECONNREFUSED || rc == -ETIMEDOUT,
                  "bad path: %s", strerror(-rc));
    /* the domain is as it was: attach properly now */
    info(&t, &i);
    ck_assert(i.paused && !i.shutdown);
    dm_attach(&t);
    ck_assert_int_eq(xc_domain_attach_dm(core.xch, t.domid, t.pid,
                                         xendm_core_qmp_path(t.dm)),
                     -EINVAL);
    ck_assert_int_eq(xc_vcpu_getcontext(core.xch, t.domid, 0, &ctx),
                     -EOPNOTSUPP);
    ck_assert_ptr_null(xc_map_foreign_range(core.xch, t.domid, 4096,
                                            PROT_READ, 0));
    dm_destroy(&t);

    /* a domain of the core is no device model's */
    if (access("/dev/kvm", R_OK | W_OK) == 0) {
        struct xc_domain_config cfg;
        uint32_t domid = 0;

        memset(&cfg, 0, sizeof(cfg));
        cfg.max_vcpus = 1;
        cfg.memory_kb = 16 << 10;
        cfg.flags = XC_DOMCFG_HVM;
        ck_assert_int_eq(xc_domain_create(core.xch, &domid, &cfg), 0);
        ck_assert_int_eq(xc_domain_attach_dm(core.xch, domid, getpid(),
                                             "/nonexistent/x"), -EINVAL);
        ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    }
}
END_TEST

static Suite *dm_suite(void)
{
    Suite *s = suite_create("dm");
    TCase *tc = tcase_create("qemu");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_guest_poweroff);
    tcase_add_test(tc, test_guest_reset);
    tcase_add_test(tc, test_guest_panic);
    tcase_add_test(tc, test_console_input);
    tcase_add_test(tc, test_shutdown_call);
    tcase_add_test(tc, test_qemu_killed);
    tcase_add_test(tc, test_attach_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *d = getenv("XENOLITHD");
    SRunner *sr;
    int failed;

    if (geteuid() != 0) {
        printf("SKIP: device-model domains need root\n");
        return 77;
    }
    if (!d || access(d, X_OK) < 0) {
        printf("SKIP: XENOLITHD not set or not executable\n");
        return 77;
    }
    if (system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0) {
        printf("SKIP: no qemu-system-x86_64\n");
        return 77;
    }
    sr = srunner_create(dm_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
