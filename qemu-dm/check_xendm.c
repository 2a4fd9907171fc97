/*
 * check_xendm.c - the qemu-dm library against the real
 * qemu-system-x86_64: command lines, accelerator detection, a paused
 * start with QMP, the run-state commands and their events, failures that
 * name what failed, and nothing left behind.
 */
#include "xendm.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char logbuf[16384];
static char rundir[256];

static void capture(void *opaque, enum xendm_level level, const char *msg)
{
    size_t n = strlen(logbuf);

    (void)opaque;
    (void)level;
    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static const struct xendm_logger lg = { capture, NULL };

static void setup(void)
{
    logbuf[0] = '\0';
    snprintf(rundir, sizeof(rundir), "/tmp/check-xendm.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(rundir));
}

/* The run directory is empty again: no socket, pid file or log. */
static void assert_empty_rundir(void)
{
    struct dirent *de;
    DIR *d = opendir(rundir);

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        ck_assert_msg(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."),
                      "left behind: %s/%s", rundir, de->d_name);
    closedir(d);
}

static void teardown(void)
{
    rmdir(rundir);
}

static bool has_arg(char **argv, const char *opt, const char *val)
{
    size_t i;

    for (i = 0; argv[i]; i++)
        if (!strcmp(argv[i], opt) && argv[i + 1] &&
            (!val || !strcmp(argv[i + 1], val)))
            return true;
    return false;
}

static const char *arg_of(char **argv, const char *opt)
{
    size_t i;

    for (i = 0; argv[i]; i++)
        if (!strcmp(argv[i], opt) && argv[i + 1])
            return argv[i + 1];
    return NULL;
}

/* ---------------------------------------------------------------- argv */

START_TEST(argv_pc_direct_boot)
{
    struct xendm_disk disks[] = {
        { "/img/a,b.img", NULL, XENDM_DISK_IDE, false },
        { "/img/c.qcow2", "qcow2", XENDM_DISK_VIRTIO, true },
    };
    struct xendm_config cfg = {
        .domid = 7, .name = "web", .machine = XENDM_MACHINE_PC,
        .memory_mib = 512, .vcpus = 2, .kernel = "/k/vmlinux",
        .initrd = "/k/initrd.gz", .cmdline = "console=ttyS0",
        .bios = XENDM_BIOS_SEABIOS, .disks = disks, .nr_disks = 2,
        .no_shutdown = true, .pvpanic = true,
    };
    char **argv = NULL;

    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/q.sock",
                                "/r/q.pid", &argv), 0);
    ck_assert_str_eq(argv[0], "qemu-system-x86_64");
    ck_assert(has_arg(argv, "-name", "guest=web,debug-threads=on"));
    ck_assert(has_arg(argv, "-machine", "pc,accel=tcg,graphics=off"));
    ck_assert(has_arg(argv, "-accel", "tcg,thread=multi"));
    ck_assert(has_arg(argv, "-m", "512M"));
    ck_assert(has_arg(argv, "-smp", "2"));
    ck_assert(has_arg(argv, "-bios", XENDM_SEABIOS_PATH));
    ck_assert(has_arg(argv, "-kernel", "/k/vmlinux"));
    ck_assert(has_arg(argv, "-initrd", "/k/initrd.gz"));
    ck_assert(has_arg(argv, "-append", "console=ttyS0"));
    ck_assert(has_arg(argv, "-drive",
                      "file=/img/a,,b.img,format=raw,if=none,id=disk0"));
    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk0,bus=ide.0,"
                      "unit=0"));
    ck_assert(has_arg(argv, "-drive", "file=/img/c.qcow2,format=qcow2,"
                      "if=none,id=disk1,readonly=on"));
    ck_assert(has_arg(argv, "-device", "virtio-blk-pci,drive=disk1"));
    ck_assert(has_arg(argv, "-chardev", "socket,id=qmp,path=/r/q.sock,"
                      "server=on,wait=off"));
    ck_assert(has_arg(argv, "-mon", "chardev=qmp,mode=control"));
    ck_assert(has_arg(argv, "-pidfile", "/r/q.pid"));
    ck_assert(has_arg(argv, "-serial", "chardev:serial0"));
    ck_assert(has_arg(argv, "-chardev", "pty,id=serial0"));
    ck_assert(has_arg(argv, "-display", "none"));
    ck_assert(has_arg(argv, "-device", "pvpanic"));
    ck_assert(!has_arg(argv, "-cpu", NULL));
    xendm_argv_free(argv);
}
END_TEST

START_TEST(argv_kvm_q35_ovmf)
{
    struct xendm_disk disk = { "/d.img", NULL, XENDM_DISK_IDE, false };
    struct xendm_config cfg = {
        .domid = 3, .machine = XENDM_MACHINE_Q35,
        .bios = XENDM_BIOS_OVMF, .disks = &disk, .nr_disks = 1,
    };
    char **argv = NULL;
    size_t i;
    bool paused = false;

    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_KVM, "/r/s", NULL,
                                &argv), 0);
    ck_assert(has_arg(argv, "-name", "guest=domain-3,debug-threads=on"));
    ck_assert(has_arg(argv, "-machine", "q35,accel=kvm,graphics=off"));
    ck_assert(has_arg(argv, "-cpu", "host"));
    ck_assert(has_arg(argv, "-bios", XENDM_OVMF_PATH));
    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk0,bus=ide.0"));
    ck_assert(has_arg(argv, "-m", "256M"));
    ck_assert(!has_arg(argv, "-kernel", NULL));
    ck_assert(!has_arg(argv, "-pidfile", NULL));
    for (i = 0; argv[i]; i++)
        paused |= !strcmp(argv[i], "-S");
    ck_assert(paused);
    xendm_argv_free(argv);
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_AUTO, "/r/s", NULL,
                                &argv), -EINVAL);
}
END_TEST

START_TEST(argv_microvm_tsc)
{
    struct xendm_disk disk = { "/d.img", NULL, XENDM_DISK_VIRTIO, false };
    struct xendm_config cfg = {
        .machine = XENDM_MACHINE_MICROVM, .kernel = "/k",
        .cmdline = "console=ttyS0", .disks = &disk, .nr_disks = 1,
    };
    char **argv = NULL, want[128];
    unsigned long khz = xendm_host_tsc_khz();

    ck_assert_uint_gt(khz, 0);
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/s", NULL,
                                &argv), 0);
    ck_assert_ptr_nonnull(strstr(arg_of(argv, "-machine"), "microvm"));
    snprintf(want, sizeof(want), "console=ttyS0 tsc_early_khz=%lu", khz);
    ck_assert_str_eq(arg_of(argv, "-append"), want);
    ck_assert(has_arg(argv, "-device", "virtio-blk-device,drive=disk0"));
    xendm_argv_free(argv);
    /* Under KVM the kernel calibrates fine: the command line stays. */
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_KVM, "/r/s", NULL,
                                &argv), 0);
    ck_assert_str_eq(arg_of(argv, "-append"), "console=ttyS0");
    xendm_argv_free(argv);
}
END_TEST

/* ---------------------------------------------------------------- accel */

static void touch_module(const char *root, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/module", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/module/%s", root, name);
    ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void rm_module(const char *root, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/module/%s", root, name);
    rmdir(path);
}

START_TEST(accel_detection)
{
    char path[512];

    /* /dev/null opens read-write: a stand-in for /dev/kvm. */
    touch_module(rundir, "kvm");
    touch_module(rundir, "kvm_intel");
    ck_assert_int_eq(xendm_accel_detect(&lg, rundir, "/dev/null"),
                     XENDM_ACCEL_KVM);
    ck_assert_str_eq(logbuf, "");
    touch_module(rundir, "kvm_pvm");
    ck_assert_int_eq(xendm_accel_detect(&lg, rundir, "/dev/null"),
                     XENDM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(logbuf, "using TCG"));
    ck_assert_ptr_nonnull(strstr(logbuf, "kvm_pvm"));
    ck_assert_ptr_null(strchr(strchr(logbuf, '\n') + 1, '\n'));
    logbuf[0] = '\0';
    rm_module(rundir, "kvm_pvm");
    rm_module(rundir, "kvm_intel");
    ck_assert_int_eq(xendm_accel_detect(&lg, rundir, "/dev/null"),
                     XENDM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(logbuf, "neither kvm_intel nor kvm_amd"));
    logbuf[0] = '\0';
    ck_assert_int_eq(xendm_accel_detect(&lg, rundir, "/nonexistent/kvm"),
                     XENDM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(logbuf, "/nonexistent/kvm"));
    rm_module(rundir, "kvm");
    snprintf(path, sizeof(path), "%s/module", rundir);
    rmdir(path);
    /* This host: software KVM (kvm_pvm) must not be taken for hardware. */
    if (access("/sys/module/kvm_pvm", F_OK) == 0)
        ck_assert_int_eq(xendm_accel_detect(&lg, NULL, NULL),
                         XENDM_ACCEL_TCG);
}
END_TEST

/* ---------------------------------------------------------------- qemu */

static unsigned int events_seen[XENDM_EVENT_GONE + 1];

static void on_event(struct xendm *dm, void *opaque,
                     const struct xendm_event *ev)
{
    (void)dm;
    (void)opaque;
    events_seen[ev->type]++;
}

static struct xendm_config base_cfg(void)
{
    struct xendm_config cfg = {
        .domid = 5, .run_dir = rundir, .machine = XENDM_MACHINE_PC,
        .accel = XENDM_ACCEL_TCG, .memory_mib = 64, .vcpus = 1,
        .no_shutdown = true, .event = on_event, .die_with_parent = true,
    };

    memset(events_seen, 0, sizeof(events_seen));
    return cfg;
}

static void status_is(struct xendm *dm, const char *want, bool running)
{
    char *status = NULL;
    bool r = !running;

    ck_assert_int_eq(xendm_query_status(dm, &status, &r), 0);
    ck_assert_str_eq(status, want);
    ck_assert(r == running);
    free(status);
}

START_TEST(lifecycle)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    char *pty = NULL, *reason = NULL, path[512];
    struct stat st;
    pid_t pid;

    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    pid = xendm_pid(dm);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(kill(pid, 0), 0);
    ck_assert_int_eq(stat(xendm_qmp_path(dm), &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    snprintf(path, sizeof(path), "%s/qemu-dm-5.pid", rundir);
    ck_assert_int_eq(access(path, R_OK), 0);
    ck_assert_int_eq(access(xendm_log_path(dm), R_OK), 0);

    status_is(dm, "prelaunch", false);
    ck_assert_int_eq(xendm_serial_pty(dm, &pty), 0);
    ck_assert_str_eq(pty, strstr(pty, "/dev/pts/"));
    ck_assert_int_eq(stat(pty, &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    free(pty);

    ck_assert_int_eq(xendm_cont(dm), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_RESUME, 5000, NULL),
                     0);
    status_is(dm, "running", true);
    ck_assert_int_eq(xendm_stop(dm), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_STOP, 5000, NULL),
                     0);
    status_is(dm, "paused", false);
    ck_assert_int_eq(xendm_cont(dm), 0);
    ck_assert_int_eq(xendm_reset(dm), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_RESET, 5000, NULL),
                     0);
    /* The firmware alone ignores the ACPI button; the command is taken
     * (POWERDOWN event) and the machine keeps running. */
    ck_assert_int_eq(xendm_powerdown(dm), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_OTHER, 5000, NULL),
                     0);
    status_is(dm, "running", true);
    /* A QMP error is an error, logged with qemu's description. */
    ck_assert_int_eq(xendm_qmp_call(dm, "no-such-command", NULL, 0, NULL),
                     -EIO);
    ck_assert_ptr_nonnull(strstr(logbuf, "CommandNotFound"));
    /* quit from the guest's side of things: qemu goes, GONE arrives. */
    ck_assert_int_eq(xendm_qmp_send(dm, "quit", NULL, NULL, NULL), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_GONE, 5000, &reason),
                     0);
    free(reason);
    ck_assert_int_eq(xendm_qmp_call(dm, "query-status", NULL, 0, NULL),
                     -EPIPE);
    xendm_destroy(dm, 0, false);
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    assert_empty_rundir();
}
END_TEST

/* An asynchronous command driven by the caller's own poll loop. */
struct reply {
    int calls, rc;
    char status[32];
};

static void on_reply(struct xendm *dm, void *opaque, int rc, yajl_val ret)
{
    struct reply *r = opaque;
    const char *path[] = { "status", NULL };
    yajl_val s = yajl_tree_get(ret, path, yajl_t_string);

    (void)dm;
    r->calls++;
    r->rc = rc;
    snprintf(r->status, sizeof(r->status), "%s",
             s ? YAJL_GET_STRING(s) : "?");
}

START_TEST(async_and_destroy)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    struct reply r1 = { 0 }, r2 = { 0 };
    struct pollfd pfd;
    int i;
    pid_t pid;

    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    pid = xendm_pid(dm);
    ck_assert_int_eq(xendm_qmp_send(dm, "query-status", NULL, on_reply,
                                    &r1), 0);
    ck_assert_int_eq(xendm_qmp_send(dm, "cont", NULL, NULL, NULL), 0);
    ck_assert_int_eq(xendm_qmp_send(dm, "query-status", NULL, on_reply,
                                    &r2), 0);
    xendm_pollfd(dm, &pfd);
    ck_assert(pfd.events & POLLOUT);
    for (i = 0; i < 200 && !r2.calls; i++) {
        xendm_pollfd(dm, &pfd);
        if (poll(&pfd, 1, 50) > 0)
            ck_assert_int_eq(xendm_io(dm, pfd.revents), 0);
    }
    ck_assert_int_eq(r1.calls, 1);
    ck_assert_int_eq(r1.rc, 0);
    ck_assert_str_eq(r1.status, "prelaunch");
    ck_assert_int_eq(r2.calls, 1);
    ck_assert_str_eq(r2.status, "running");
    ck_assert_uint_eq(events_seen[XENDM_EVENT_RESUME], 1);
    xendm_pollfd(dm, &pfd);
    ck_assert(!(pfd.events & POLLOUT));
    /* destroy quits a live qemu and cleans up. */
    xendm_destroy(dm, 0, false);
    ck_assert_int_eq(kill(pid, 0), -1);
    assert_empty_rundir();
}
END_TEST

/* qemu killed under us: calls fail with -EPIPE (no SIGPIPE), GONE is
 * reported, destroy still removes everything. */
START_TEST(qemu_killed)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    int status = 0, i;

    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    ck_assert_int_eq(kill(xendm_pid(dm), SIGKILL), 0);
    for (i = 0; i < 200 && !xendm_exited(dm, &status); i++)
        usleep(10000);
    ck_assert(xendm_exited(dm, &status));
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(xendm_query_status(dm, NULL, NULL), -EPIPE);
    ck_assert_uint_eq(events_seen[XENDM_EVENT_GONE], 1);
    ck_assert_int_eq(xendm_cont(dm), -EPIPE);
    xendm_destroy(dm, 0, false);
    assert_empty_rundir();
}
END_TEST

/* A released qemu keeps running; a second process-like user connects to
 * its core monitor, sees its events and quits it; the files go with
 * xendm_remove_files. */
START_TEST(release_and_connect)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL, *core = NULL, *again = NULL;
    char *core_path, *qmp_path, *status = NULL;
    pid_t pid;
    int i;

    cfg.core_monitor = true;
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    pid = xendm_pid(dm);
    core_path = strdup(xendm_core_qmp_path(dm));
    ck_assert_ptr_nonnull(core_path);
    ck_assert_int_eq(access(core_path, F_OK), 0);
    xendm_release(dm);
    ck_assert_int_eq(kill(pid, 0), 0);

    ck_assert_int_eq(xendm_connect(core_path, cfg.domid, pid, &lg,
                                   on_event, NULL, 0, &core), 0);
    ck_assert_int_eq(xendm_query_status(core, &status, NULL), 0);
    ck_assert_str_eq(status, "prelaunch");
    free(status);
    /* The first monitor is free again for someone else. */
    qmp_path = xendm_file_path(cfg.run_dir, cfg.domid, ".qmp");
    ck_assert_ptr_nonnull(qmp_path);
    ck_assert_int_eq(xendm_connect(qmp_path, cfg.domid, 0, &lg, NULL, NULL,
                                   0, &again), 0);
    free(qmp_path);
    ck_assert_int_eq(xendm_cont(again), 0);
    ck_assert_int_eq(xendm_wait_event(core, XENDM_EVENT_RESUME, 5000, NULL),
                     0);
    xendm_release(again);
    /* Not our child: destroy quits it and waits for it to go. */
    xendm_destroy(core, 0, false);
    for (i = 0; i < 300 && kill(pid, 0) == 0; i++)
        usleep(10000);
    ck_assert_int_ne(kill(pid, 0), 0);
    /* qemu removes its sockets; the log stays for xendm_remove_files. */
    ck_assert_int_eq(access(core_path, F_OK), -1);
    xendm_remove_files(cfg.run_dir, cfg.domid, false);
    free(core_path);
    assert_empty_rundir();
}
END_TEST

/* die_with_parent: a caller that dies takes its qemu with it. */
START_TEST(dies_with_parent)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    pid_t kid, qemu = 0;
    int fds[2], st, i;
    char cmd[512];

    /* The orphaned qemu comes to us, so we can reap it. */
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    ck_assert_int_eq(pipe(fds), 0);
    kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        close(fds[0]);
        if (xendm_start(&cfg, &lg, &dm) == 0)
            qemu = xendm_pid(dm);
        if (write(fds[1], &qemu, sizeof(qemu)) != sizeof(qemu))
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &qemu, sizeof(qemu)), sizeof(qemu));
    close(fds[0]);
    ck_assert_int_eq(waitpid(kid, &st, 0), kid);
    ck_assert_int_gt(qemu, 0);
    for (i = 0; i < 300 && waitpid(qemu, &st, WNOHANG) != qemu; i++)
        usleep(10000);
    ck_assert_msg(i < 300, "qemu %d outlived its parent", (int)qemu);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGKILL);
    snprintf(cmd, sizeof(cmd), "rm -f %s/qemu-dm-5.*", rundir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(bad_binary)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;

    cfg.qemu = "/nonexistent/qemu-system-x86_64";
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ENOENT);
    ck_assert_ptr_null(dm);
    ck_assert_ptr_nonnull(strstr(logbuf,
                                 "'/nonexistent/qemu-system-x86_64'"));
    logbuf[0] = '\0';
    cfg.qemu = "no-such-qemu-xyz";
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ENOENT);
    ck_assert_ptr_nonnull(strstr(logbuf, "'no-such-qemu-xyz'"));
    ck_assert_ptr_nonnull(strstr(logbuf, "PATH"));
    assert_empty_rundir();
}
END_TEST

START_TEST(bad_firmware)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;

    cfg.bios = XENDM_BIOS_OVMF;
    cfg.firmware = "/nonexistent/OVMF.fd";
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ENOENT);
    ck_assert_ptr_nonnull(strstr(logbuf, "firmware '/nonexistent/OVMF.fd'"));
    ck_assert_ptr_nonnull(strstr(logbuf, "domain 5"));
    logbuf[0] = '\0';
    cfg.bios = XENDM_BIOS_DEFAULT;
    cfg.firmware = NULL;
    cfg.kernel = "/nonexistent/vmlinuz";
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ENOENT);
    ck_assert_ptr_nonnull(strstr(logbuf, "kernel '/nonexistent/vmlinuz'"));
    assert_empty_rundir();
}
END_TEST

/* qemu itself refuses: the error carries the tail of its log. */
START_TEST(qemu_refuses)
{
    static const char *const extra[] = { "-no-such-option", NULL };
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;

    cfg.extra_args = extra;
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ECHILD);
    ck_assert_ptr_null(dm);
    ck_assert_ptr_nonnull(strstr(logbuf, "exited with status 1"));
    ck_assert_ptr_nonnull(strstr(logbuf, "-no-such-option"));
    ck_assert_ptr_nonnull(strstr(logbuf, "qemu-dm-5.log"));
    assert_empty_rundir();
}
END_TEST

/* The guest's firmware boots (SeaBIOS from its Debian path) and the
 * serial port carries its output to the pty. */
START_TEST(seabios_serial)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    char *pty = NULL, buf[8192] = "";
    size_t len = 0;
    ssize_t n;
    int fd, i;

    if (access(XENDM_SEABIOS_PATH, R_OK) != 0) {
        fprintf(stderr, "SKIP seabios_serial: no %s (apt-get install "
                "seabios)\n", XENDM_SEABIOS_PATH);
        return;
    }
    cfg.bios = XENDM_BIOS_SEABIOS;
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    ck_assert_int_eq(xendm_serial_pty(dm, &pty), 0);
    fd = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(xendm_cont(dm), 0);
    /* SeaBIOS prints its banner on the serial port when the machine
     * has no graphics; with no disk it then says so. */
    for (i = 0; i < 100 && !strstr(buf, "SeaBIOS"); i++) {
        usleep(100000);
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n > 0)
            len += n;
        buf[len] = '\0';
    }
    ck_assert_msg(strstr(buf, "SeaBIOS"), "serial output: %s", buf);
    for (i = 0; i < 100 && !strstr(buf, "No bootable device"); i++) {
        usleep(100000);
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n > 0)
            len += n;
        buf[len] = '\0';
    }
    ck_assert_msg(strstr(buf, "No bootable device"), "serial output: %s",
                  buf);
    close(fd);
    free(pty);
    xendm_destroy(dm, 0, false);
    assert_empty_rundir();
}
END_TEST

static Suite *xendm_suite(void)
{
    Suite *s = suite_create("xendm");
    TCase *tc;

    tc = tcase_create("argv");
    tcase_add_test(tc, argv_pc_direct_boot);
    tcase_add_test(tc, argv_kvm_q35_ovmf);
    tcase_add_test(tc, argv_microvm_tsc);
    suite_add_tcase(s, tc);

    tc = tcase_create("accel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, accel_detection);
    suite_add_tcase(s, tc);

    if (system("command -v qemu-system-x86_64 >/dev/null") != 0) {
        fprintf(stderr, "qemu-system-x86_64 not found (Debian: "
                "qemu-system-x86): the tests of the real qemu do not run\n");
        return s;
    }
    tc = tcase_create("qemu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lifecycle);
    tcase_add_test(tc, async_and_destroy);
    tcase_add_test(tc, qemu_killed);
    tcase_add_test(tc, release_and_connect);
    tcase_add_test(tc, dies_with_parent);
    tcase_add_test(tc, bad_binary);
    tcase_add_test(tc, bad_firmware);
    tcase_add_test(tc, qemu_refuses);
    tcase_add_test(tc, seabios_serial);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xendm_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
