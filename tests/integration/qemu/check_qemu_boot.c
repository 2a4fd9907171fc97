/*
 * check_qemu_boot.c - real Debian guests under qemu through the qemu-dm
 * library: the kernel linux-image-amd64 depends on, with busybox and the
 * virtio/ata modules in an initramfs (tests/fixtures/debian-guest.sh),
 * booted as PVH (ELF vmlinux, -kernel) and as HVM (bzImage through
 * SeaBIOS or OVMF), on pc, q35 and microvm.  Each boot must reach the
 * guest's shell over the serial pty within BOOT_LIMIT_S; the test then
 * runs commands there, reads and writes the raw disk with dd, powers off and
 * sees qemu's SHUTDOWN event.  Boot times go to the log.
 *
 * Skips (77) only when qemu-system-x86_64 is missing or the fixture
 * cannot get the Debian packages; SeaBIOS and OVMF are dependencies like
 * qemu itself, and a boot that lacks its firmware fails.
 */
#include "xendm.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define BOOT_LIMIT_S 30

static char guest[4096];        /* the fixture's directory */
static char rundir[256];
static char logbuf[32768];

static void capture(void *opaque, enum xendm_level level, const char *msg)
{
    size_t n = strlen(logbuf);

    (void)opaque;
    (void)level;
    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static const struct xendm_logger lg = { capture, NULL };

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void setup(void)
{
    logbuf[0] = '\0';
    snprintf(rundir, sizeof(rundir), "/tmp/check-qemu-boot.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(rundir));
}

static void teardown(void)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", rundir);
}

/* ---- the serial console, as a terminal seen from the host. */
struct console {
    int fd;
    char buf[1 << 16];
    size_t len;
    size_t mark;        /* where the next wait starts looking */
};

static void console_open(struct console *c, const char *pty)
{
    struct termios t;

    c->fd = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    ck_assert_msg(c->fd >= 0, "open %s: %s", pty, strerror(errno));
    ck_assert_int_eq(tcgetattr(c->fd, &t), 0);
    cfmakeraw(&t);
    ck_assert_int_eq(tcsetattr(c->fd, TCSANOW, &t), 0);
    c->len = c->mark = 0;
    c->buf[0] = '\0';
}

/* Waits until what is after the mark contains want; moves the mark past
 * it.  Returns false after timeout_s. */
static bool console_wait(struct console *c, const char *want,
                         double timeout_s)
{
    double deadline = now_s() + timeout_s;
    struct pollfd pfd = { c->fd, POLLIN, 0 };
    char *hit;
    ssize_t n;

    for (;;) {
        hit = strstr(c->buf + c->mark, want);
        if (hit) {
            c->mark = hit + strlen(want) - c->buf;
            return true;
        }
        if (now_s() >= deadline || c->len + 1 >= sizeof(c->buf))
            return false;
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        if (n > 0) {
            /* NULs from the UART would end the string early. */
            for (ssize_t i = 0; i < n; i++)
                if (!c->buf[c->len + i])
                    c->buf[c->len + i] = ' ';
            c->len += n;
            c->buf[c->len] = '\0';
        }
    }
}

static void console_send(struct console *c, const char *line)
{
    size_t len = strlen(line), off = 0;
    ssize_t n;

    /* A slow UART under TCG: a few bytes at a time. */
    while (off < len) {
        n = write(c->fd, line + off, len - off > 16 ? 16 : len - off);
        if (n < 0 && errno == EAGAIN) {
            usleep(1000);
            continue;
        }
        ck_assert_int_gt(n, 0);
        off += n;
        usleep(2000);
    }
}

/* Runs cmd in the guest's shell; its output must contain want. */
static void guest_run(struct console *c, const char *cmd, const char *want,
                      double timeout_s)
{
    char line[1024];

    snprintf(line, sizeof(line), "%s\r", cmd);
    console_send(c, line);
    ck_assert_msg(console_wait(c, want, timeout_s),
                  "guest did not answer \"%s\" with \"%s\"; console:\n%s",
                  cmd, want, c->buf + (c->len > 2000 ? c->len - 2000 : 0));
}

/*
 * Waits for a QMP event while reading the console: a pty nobody reads
 * fills up, qemu stops taking the UART's bytes and a guest printing
 * (a panic's backtrace) stalls before it gets anywhere.
 */
static int wait_event_draining(struct xendm *dm, struct console *c,
                               enum xendm_event_type type, double timeout_s,
                               char **reason_r)
{
    double deadline = now_s() + timeout_s;
    size_t mark = c->mark;
    int rc;

    for (;;) {
        console_wait(c, "\001never printed\001", 0.05);
        c->mark = mark;
        rc = xendm_wait_event(dm, type, 50, reason_r);
        if (rc != -ETIMEDOUT || now_s() >= deadline)
            return rc;
    }
}

/* ---- one boot. */
struct boot {
    const char *label;
    enum xendm_machine machine;
    enum xendm_bios bios;
    const char *kernel;         /* file in the fixture directory */
    enum xendm_disk_bus bus;
    const char *blockdev;       /* the disk as the guest names it */
};

enum ending {
    END_POWEROFF,       /* poweroff -f in the guest */
    END_ACPI,           /* system_powerdown: the ACPI power button */
    END_PANIC,          /* a kernel panic, seen through pvpanic */
};

static void boot_and_drive(const struct boot *b, enum ending ending)
{
    char kernel[4200], initrd[4200], disk[512], cmd[9000], *pty = NULL;
    char *reason = NULL, want[128], sector[64];
    struct xendm_disk d = { .path = disk, .format = "raw", .bus = b->bus };
    struct xendm_config cfg = {
        .domid = 11, .run_dir = rundir, .machine = b->machine,
        .accel = XENDM_ACCEL_AUTO, .memory_mib = 512, .vcpus = 1,
        .kernel = kernel, .initrd = initrd,
        .cmdline = "console=ttyS0 quiet panic=-1", .bios = b->bios,
        .disks = &d, .nr_disks = 1, .no_shutdown = true,
        .pvpanic = ending == END_PANIC, .die_with_parent = true,
    };
    static struct console con;
    struct xendm *dm = NULL;
    double t0, t_ready, t_shell;
    int i, tag = (int)(getpid() % 10000);
    FILE *f;

    snprintf(kernel, sizeof(kernel), "%s/%s", guest, b->kernel);
    snprintf(initrd, sizeof(initrd), "%s/initrd.gz", guest);
    snprintf(disk, sizeof(disk), "%s/disk.img", rundir);
    snprintf(cmd, sizeof(cmd), "cp '%s/disk.img' '%s'", guest, disk);
    ck_assert_int_eq(system(cmd), 0);

    t0 = now_s();
    ck_assert_msg(xendm_start(&cfg, &lg, &dm) == 0, "start: %s", logbuf);
    ck_assert_int_eq(xendm_serial_pty(dm, &pty), 0);
    console_open(&con, pty);
    ck_assert_int_eq(xendm_cont(dm), 0);
    ck_assert_msg(console_wait(&con, "XENOLITH-GUEST-READY", BOOT_LIMIT_S),
                  "%s: no ready marker within %d s; console:\n%s\nlog: %s",
                  b->label, BOOT_LIMIT_S, con.buf,
                  xendm_log_tail(xendm_log_path(dm), 5));
    t_ready = now_s() - t0;
    /* The shell answers: the output differs from the echoed input. */
    snprintf(cmd, sizeof(cmd), "echo hello-$((6*7))-%d", tag);
    snprintf(want, sizeof(want), "hello-42-%d", tag);
    guest_run(&con, cmd, want, BOOT_LIMIT_S - t_ready);
    t_shell = now_s() - t0;
    ck_assert_msg(t_shell < BOOT_LIMIT_S, "%s: shell after %.1f s",
                  b->label, t_shell);
    fprintf(stderr, "boot %-22s accel %s: marker %.2f s, shell %.2f s\n",
            b->label, xendm_accel_used(dm) == XENDM_ACCEL_KVM ? "kvm" :
            "tcg", t_ready, t_shell);

    /* The disk: read the marker, write a sector, read it back. */
    snprintf(cmd, sizeof(cmd), "dd if=/dev/%s bs=16 count=1 2>/dev/null "
             "| sed \"s/V1/V1-read-$((2+2))/\"; echo", b->blockdev);
    guest_run(&con, cmd, "XENOLITH-DISK-V1-read-4", 20);
    snprintf(sector, sizeof(sector), "written-by-guest-%d", tag);
    snprintf(cmd, sizeof(cmd), "echo %s | dd of=/dev/%s bs=512 seek=1 "
             "conv=fsync 2>/dev/null && echo dd-ok-$((3*3))", sector,
             b->blockdev);
    guest_run(&con, cmd, "dd-ok-9", 20);
    snprintf(cmd, sizeof(cmd), "dd if=/dev/%s bs=512 skip=1 count=1 "
             "iflag=direct 2>/dev/null | head -c 30 | sed 's/^/back:/'",
             b->blockdev);
    snprintf(want, sizeof(want), "back:%s", sector);
    guest_run(&con, cmd, want, 20);

    /* The end: from inside, with the ACPI button (busybox acpid in the
     * guest turns it into poweroff), or a panic. */
    switch (ending) {
    case END_POWEROFF:
        console_send(&con, "poweroff -f\r");
        break;
    case END_ACPI:
        ck_assert_int_eq(xendm_powerdown(dm), 0);
        ck_assert_msg(console_wait(&con, "XENOLITH-GUEST-POWER-BUTTON", 20),
                      "no power button in the guest; console:\n%s",
                      con.buf + con.mark);
        break;
    case END_PANIC:
        /* Panic only once pvpanic's driver is bound to qemu's device:
         * a panic before that reboots the guest (panic=-1) unseen. */
        guest_run(&con, "until [ -e /sys/bus/platform/drivers/pvpanic-mmio/"
                  "QEMU0001:00 ]; do sleep 0.1; done; "
                  "echo pvpanic-bound-$((5*5))", "pvpanic-bound-25", 20);
        console_send(&con, "echo c > /proc/sysrq-trigger\r");
        ck_assert_msg(wait_event_draining(dm, &con,
                                          XENDM_EVENT_GUEST_PANICKED, 20,
                                          NULL) == 0,
                      "no GUEST_PANICKED; qemu-dm log:\n%s\nconsole:\n%s",
                      logbuf, con.buf + (con.len > 3000 ? con.len - 3000 :
                                         0));
        ck_assert(console_wait(&con, "Kernel panic", 5));
        break;
    }
    if (ending != END_PANIC) {
        ck_assert_int_eq(wait_event_draining(dm, &con, XENDM_EVENT_SHUTDOWN,
                                             20, &reason), 0);
        ck_assert_str_eq(reason, "guest-shutdown");
    }
    free(reason);
    close(con.fd);
    free(pty);
    xendm_destroy(dm, 0, false);

    /* What the guest wrote is in the image on the host. */
    f = fopen(disk, "re");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 512, SEEK_SET), 0);
    memset(cmd, 0, sizeof(cmd));
    ck_assert_uint_gt(fread(cmd, 1, strlen(sector), f), 0);
    fclose(f);
    ck_assert_str_eq(cmd, sector);
    /* Nothing of qemu's is left: socket, pid file, log. */
    for (i = 0; i < 3; i++) {
        static const char *const ext[] = { "qmp", "pid", "log" };

        snprintf(cmd, sizeof(cmd), "%s/qemu-dm-11.%s", rundir, ext[i]);
        ck_assert_msg(access(cmd, F_OK) != 0, "left behind: %s", cmd);
    }
}

START_TEST(pvh_pc)
{
    static const struct boot b = {
        "pvh vmlinux, pc", XENDM_MACHINE_PC, XENDM_BIOS_DEFAULT,
        "vmlinux", XENDM_DISK_IDE, "sda",
    };

    boot_and_drive(&b, END_POWEROFF);
}
END_TEST

START_TEST(hvm_seabios_pc)
{
    static const struct boot b = {
        "hvm bzImage seabios, pc", XENDM_MACHINE_PC, XENDM_BIOS_SEABIOS,
        "vmlinuz", XENDM_DISK_IDE, "sda",
    };

    boot_and_drive(&b, END_POWEROFF);
}
END_TEST

START_TEST(hvm_seabios_q35_virtio)
{
    static const struct boot b = {
        "hvm bzImage seabios, q35", XENDM_MACHINE_Q35, XENDM_BIOS_SEABIOS,
        "vmlinuz", XENDM_DISK_VIRTIO, "vda",
    };

    boot_and_drive(&b, END_POWEROFF);
}
END_TEST

START_TEST(pvh_microvm_virtio)
{
    static const struct boot b = {
        "pvh vmlinux, microvm", XENDM_MACHINE_MICROVM, XENDM_BIOS_DEFAULT,
        "vmlinux", XENDM_DISK_VIRTIO, "vda",
    };

    boot_and_drive(&b, END_POWEROFF);
}
END_TEST

START_TEST(pvh_pc_acpi_powerdown)
{
    static const struct boot b = {
        "pvh vmlinux, pc, acpi", XENDM_MACHINE_PC, XENDM_BIOS_DEFAULT,
        "vmlinux", XENDM_DISK_VIRTIO, "vda",
    };

    boot_and_drive(&b, END_ACPI);
}
END_TEST

START_TEST(hvm_seabios_pc_panic)
{
    static const struct boot b = {
        "hvm bzImage, pc, panic", XENDM_MACHINE_PC, XENDM_BIOS_SEABIOS,
        "vmlinuz", XENDM_DISK_IDE, "sda",
    };

    boot_and_drive(&b, END_PANIC);
}
END_TEST

START_TEST(hvm_ovmf_q35)
{
    static const struct boot b = {
        "hvm bzImage ovmf, q35", XENDM_MACHINE_Q35, XENDM_BIOS_OVMF,
        "vmlinuz", XENDM_DISK_IDE, "sda",
    };

    /* OVMF is one of the project's Debian dependencies, as SeaBIOS is
     * (scripts/install-deps.sh): without it this boot fails, it does not
     * pass unrun. */
    ck_assert_msg(access(XENDM_OVMF_PATH, R_OK) == 0, "no %s: %s (apt-get "
                  "install ovmf, or scripts/install-deps.sh)",
                  XENDM_OVMF_PATH, strerror(errno));
    boot_and_drive(&b, END_POWEROFF);
}
END_TEST

/* Runs the fixture; false (skip) when it exits 77. */
static int get_guest(void)
{
    const char *script = getenv("QEMU_FIXTURE");
    char cmd[4200];
    FILE *p;
    int st;

    if (!script)
        script = "tests/fixtures/debian-guest.sh";
    snprintf(cmd, sizeof(cmd), "sh '%s'", script);
    p = popen(cmd, "r");
    if (!p || !fgets(guest, sizeof(guest), p)) {
        guest[0] = '\0';
    }
    st = p ? pclose(p) : -1;
    guest[strcspn(guest, "\n")] = '\0';
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        return 77;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !guest[0]) {
        fprintf(stderr, "%s failed (status %#x)\n", script, st);
        return 99;
    }
    return 0;
}

int main(void)
{
    const struct {
        const char *name;
        const TTest *test;
    } boots[] = {
        { "pvh_pc", pvh_pc },
        { "hvm_seabios_pc", hvm_seabios_pc },
        { "hvm_seabios_q35_virtio", hvm_seabios_q35_virtio },
        { "pvh_microvm_virtio", pvh_microvm_virtio },
        { "pvh_pc_acpi_powerdown", pvh_pc_acpi_powerdown },
        { "hvm_seabios_pc_panic", hvm_seabios_pc_panic },
        { "hvm_ovmf_q35", hvm_ovmf_q35 },
    };
    /* QEMU_BOOT_ONLY=<part of a name> runs only the matching boots. */
    const char *only = getenv("QEMU_BOOT_ONLY");
    Suite *s = suite_create("qemu_boot");
    SRunner *sr;
    TCase *tc;
    size_t i;
    int failed, rc;

    if (system("command -v qemu-system-x86_64 >/dev/null") != 0) {
        fprintf(stderr, "SKIP: qemu-system-x86_64 not found (Debian: "
                "qemu-system-x86)\n");
        return 77;
    }
    rc = get_guest();
    if (rc)
        return rc;
    tc = tcase_create("boot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    for (i = 0; i < sizeof(boots) / sizeof(boots[0]); i++)
        if (!only || strstr(boots[i].name, only))
            tcase_add_test(tc, boots[i].test);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
