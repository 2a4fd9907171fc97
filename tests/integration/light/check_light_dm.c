/*
 * check_light_dm.c - device-model domains through libxl on the real
 * daemons: a private xenstored and xenolithd, and qemu-system-x86_64
 * under TCG.  An HVM domain with SeaBIOS and no disk boots far enough to
 * print SeaBIOS's banner on the serial console (relayed by the core);
 * the xenstore nodes, pause/unpause, the tap on its bridge and destroy
 * leaving nothing are checked from outside.  Each test runs in its own
 * network namespace (the taps and the bridge live there).  No /dev/kvm
 * is needed: xenolithd starts without it and serves device-model domains.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>

#include "probes.h"

static struct test_host D;
static libxl_ctx *ctx;

static void require(void)
{
    if (access("/usr/bin/qemu-system-x86_64", X_OK) ||
        access("/usr/share/seabios/bios-256k.bin", R_OK)) {
        fprintf(stderr, "SKIP: qemu-system-x86_64 or SeaBIOS missing\n");
        exit(77);
    }
}

static void setup(void)
{
    char dir[512];
    const char *src = getenv("LIGHT_TOP_SRCDIR");

    ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s",
                  strerror(errno));
    ck_assert_int_eq(system("ip link set lo up && "
                            "ip link add xenbr0 type bridge"), 0);
    if (src) {
        snprintf(dir, sizeof(dir), "%s/hotplug", src);
        setenv("XENOLITH_SCRIPTS_DIR", dir, 1);
    }
    test_log_clear();
    ck_assert_msg(start_host(&D, TEST_HOST_XENSTORED | TEST_HOST_CORE) == 0,
                  "%s", D.err);
    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, test_logger()),
                     0);
}

static void teardown(void)
{
    libxl_ctx_free(ctx);
    ctx = NULL;
    test_host_stop(&D);
}

static void hvm_config(libxl_domain_config *c, const char *name)
{
    libxl_domain_config_init(c);
    c->c_info.type = LIBXL_DOMAIN_TYPE_HVM;
    c->c_info.name = strdup(name);
    libxl_domain_build_info_init_type(&c->b_info, LIBXL_DOMAIN_TYPE_HVM);
    c->b_info.max_memkb = c->b_info.target_memkb = 64 << 10;
    c->b_info.max_vcpus = 1;
    c->b_info.xenolith_accel = LIBXL_XENOLITH_ACCEL_TCG;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int tty_wait(int fd, const char *needle, int timeout_ms)
{
    static char buf[65536];
    double end = now_ms() + timeout_ms;
    struct pollfd pfd = { fd, POLLIN, 0 };
    size_t len = 0;
    ssize_t n;

    buf[0] = '\0';
    while (!memmem(buf, len, needle, strlen(needle))) {
        int left = (int)(end - now_ms());

        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return 0;
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        if (len == sizeof(buf) - 1)
            len = 0;
    }
    return 1;
}

static int open_tty(uint32_t domid)
{
    struct termios t;
    char *path = NULL;
    int fd;

    ck_assert_int_eq(libxl_primary_console_get_tty(ctx, domid, &path), 0);
    fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    free(path);
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

/* Entries of $XENOLITH_RUNDIR/qemu-dm (-1 when the folder is absent). */
static int dm_files(void)
{
    char path[256];
    struct dirent *e;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "%s/qemu-dm", D.dir);
    d = opendir(path);
    if (!d)
        return -1;
    /* kernels/ is the PVH kernel cache, kept across domains */
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "kernels"))
            n++;
    closedir(d);
    return n;
}

static pid_t dm_pid(uint32_t domid)
{
    char path[256];
    long v = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/qemu-dm/qemu-dm-%u.pid", D.dir, domid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    if (fscanf(f, "%ld", &v) != 1)
        v = 0;
    fclose(f);
    return (pid_t)v;
}

static int nr_domains(void)
{
    libxl_dominfo *l;
    int n = 0;

    l = libxl_list_domain(ctx, &n);
    libxl_dominfo_list_free(l, n);
    return n;
}

static int link_exists(const char *name)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "ip link show dev %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static int link_on_bridge(const char *name, const char *br)
{
    char cmd[192];

    snprintf(cmd, sizeof(cmd), "ip -o link show dev %s | grep -q "
             "'master %s '", name, br);
    return system(cmd) == 0;
}

static void add_nic(libxl_domain_config *c, const char *model)
{
    libxl_device_nic *nic;

    c->nics = realloc(c->nics, (c->num_nics + 1) * sizeof(*c->nics));
    nic = &c->nics[c->num_nics++];
    libxl_device_nic_init(nic);
    nic->devid = c->num_nics - 1;
    nic->bridge = strdup("xenbr0");
    if (model)
        nic->model = strdup(model);
}

START_TEST(test_hvm_lifecycle)
{
    libxl_domain_config c;
    libxl_dominfo info;
    uint32_t domid = 0;
    char *v, tap[32];
    pid_t pid;
    int rc, fd, n0 = nr_domains();

    hvm_config(&c, "hvm-seabios");
    add_nic(&c, NULL);
    rc = libxl_domain_create_new(ctx, &c, &domid, NULL, NULL);
    ck_assert_msg(rc == 0, "create: %s\n%s", libxl_error_to_string(rc),
                  test_log());
    ck_assert(libxl_domid_valid_guest(domid));
    ck_assert_int_eq(nr_domains(), n0 + 1);

    v = xs_get("/libxl/%u/dm-version", domid);
    ck_assert_str_eq(v ? v : "(none)", "qemu_xen");
    free(v);
    v = xs_get("/local/domain/0/device-model/%u/state", domid);
    ck_assert_str_eq(v ? v : "(none)", "running");
    free(v);
    v = xs_get("/local/domain/%u/name", domid);
    ck_assert_str_eq(v ? v : "(none)", "hvm-seabios");
    free(v);
    v = xs_get("/libxl/%u/device/vif/0/model", domid);
    ck_assert_str_eq(v ? v : "(none)", "e1000");
    free(v);
    pid = dm_pid(domid);
    ck_assert_msg(pid > 0 && kill(pid, 0) == 0, "qemu pid %d", (int)pid);
    snprintf(tap, sizeof(tap), "vif%u.0-emu", domid);
    ck_assert_msg(link_on_bridge(tap, "xenbr0"), "%s not on xenbr0", tap);

    fd = open_tty(domid);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ck_assert_msg(tty_wait(fd, "SeaBIOS (version", 30000),
                  "no SeaBIOS banner on the console\n%s", test_log());
    close(fd);

    ck_assert_int_eq(libxl_domain_pause(ctx, domid, NULL), 0);
    libxl_dominfo_init(&info);
    ck_assert_int_eq(libxl_domain_info(ctx, &info, domid), 0);
    ck_assert(info.paused);
    libxl_dominfo_dispose(&info);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    libxl_dominfo_init(&info);
    ck_assert_int_eq(libxl_domain_info(ctx, &info, domid), 0);
    ck_assert(!info.paused);
    libxl_dominfo_dispose(&info);

    rc = libxl_domain_destroy(ctx, domid, NULL);
    ck_assert_msg(rc == 0, "destroy: %s\n%s", libxl_error_to_string(rc),
                  test_log());
    ck_assert_int_eq(libxl_domain_info(ctx, NULL, domid),
                     ERROR_DOMAIN_NOTFOUND);
    ck_assert_int_eq(nr_domains(), n0);
    ck_assert_msg(kill(pid, 0) < 0, "qemu %d still running", (int)pid);
    ck_assert_int_eq(dm_files(), 0);
    ck_assert(!link_exists(tap));
    ck_assert(!xs_exists("/libxl/%u", domid));
    ck_assert(!xs_exists("/local/domain/%u", domid));
    ck_assert(!xs_exists("/local/domain/0/device-model/%u", domid));
    libxl_domain_config_dispose(&c);
}
END_TEST

/* PVH under TCG: the core's test guest, its ELF run by qemu. */
/* Whether qemu's command line (/proc/PID/cmdline) contains needle. */
static int cmdline_has(pid_t pid, const char *needle)
{
    char path[64], buf[16384];
    size_t n, i;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    for (i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

/* VNC and SPICE with passwords: qemu is told them over QMP (a refused
 * command fails the create), never on its command line. */
START_TEST(test_hvm_display_passwords)
{
    libxl_domain_config c;
    uint32_t domid = 0;
    pid_t pid;
    int rc;

    hvm_config(&c, "hvm-displays");
    libxl_defbool_set(&c.b_info.u.hvm.vnc.enable, true);
    c.b_info.u.hvm.vnc.listen = strdup("127.0.0.1");
    libxl_defbool_set(&c.b_info.u.hvm.vnc.findunused, true);
    c.b_info.u.hvm.vnc.passwd = strdup("vnc-s3cret");
    libxl_defbool_set(&c.b_info.u.hvm.spice.enable, true);
    c.b_info.u.hvm.spice.host = strdup("127.0.0.1");
    c.b_info.u.hvm.spice.port = 25931;
    libxl_defbool_set(&c.b_info.u.hvm.spice.disable_ticketing, false);
    c.b_info.u.hvm.spice.passwd = strdup("spice-t1cket");
    rc = libxl_domain_create_new(ctx, &c, &domid, NULL, NULL);
    ck_assert_msg(rc == 0, "create: %s\n%s", libxl_error_to_string(rc),
                  test_log());
    pid = dm_pid(domid);
    ck_assert_msg(pid > 0 && kill(pid, 0) == 0, "qemu pid %d", (int)pid);
    ck_assert_int_eq(cmdline_has(pid, "password=on"), 1);
    ck_assert_int_eq(cmdline_has(pid, "vnc-s3cret"), 0);
    ck_assert_int_eq(cmdline_has(pid, "spice-t1cket"), 0);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    ck_assert_msg(kill(pid, 0) < 0, "qemu %d still running", (int)pid);
    ck_assert_int_eq(dm_files(), 0);
    libxl_domain_config_dispose(&c);
}
END_TEST

START_TEST(test_pvh_tcg)
{
    libxl_domain_config c;
    uint32_t domid = 0;
    char path[256];
    int rc, fd;

    libxl_domain_config_init(&c);
    c.c_info.type = LIBXL_DOMAIN_TYPE_PVH;
    c.c_info.name = strdup("pvh-tcg");
    libxl_domain_build_info_init_type(&c.b_info, LIBXL_DOMAIN_TYPE_PVH);
    c.b_info.kernel = strdup(test_host_guest("test-pvh-hello"));
    c.b_info.max_memkb = c.b_info.target_memkb = 32 << 10;
    c.b_info.max_vcpus = 1;
    c.b_info.xenolith_accel = LIBXL_XENOLITH_ACCEL_TCG;
    rc = libxl_domain_create_new(ctx, &c, &domid, NULL, NULL);
    ck_assert_msg(rc == 0, "create: %s\n%s", libxl_error_to_string(rc),
                  test_log());
    /* an ELF kernel boots as it is: nothing decompressed, no cache */
    snprintf(path, sizeof(path), "%s/qemu-dm/kernels", D.dir);
    ck_assert_msg(access(path, F_OK) != 0, "%s made for an ELF", path);
    fd = open_tty(domid);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ck_assert_msg(tty_wait(fd, "Test result: SUCCESS", 30000),
                  "no verdict on the console\n%s", test_log());
    close(fd);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    ck_assert_int_eq(dm_files(), 0);
    ck_assert(!xs_exists("/libxl/%u", domid));
    libxl_domain_config_dispose(&c);
}
END_TEST

/* A create that must fail with a message naming what; nothing left. */
static void create_fails(libxl_domain_config *c, const char *what)
{
    uint32_t domid = 0;
    int rc, n0 = nr_domains();

    test_log_clear();
    rc = libxl_domain_create_new(ctx, c, &domid, NULL, NULL);
    ck_assert_msg(rc != 0, "create succeeded (expected: %s)", what);
    ck_assert_msg(strstr(test_log(), what), "log does not name \"%s\":\n%s",
                  what, test_log());
    ck_assert_int_eq(nr_domains(), n0);
    ck_assert_msg(dm_files() <= 0, "files left in qemu-dm/");
    ck_assert_msg(system("ip -o link | grep -q -- '-emu'") != 0,
                  "a tap is left");
    libxl_domain_config_dispose(c);
}

START_TEST(test_hvm_errors)
{
    libxl_domain_config c;
    libxl_device_disk *d;

    hvm_config(&c, "bad-bios");
    c.b_info.u.hvm.system_firmware = strdup("/nonexistent/bios.bin");
    create_fails(&c, "/nonexistent/bios.bin");

    hvm_config(&c, "bad-disk");
    c.disks = calloc(1, sizeof(*c.disks));
    c.num_disks = 1;
    d = &c.disks[0];
    libxl_device_disk_init(d);
    d->vdev = strdup("hda");
    d->pdev_path = strdup("/nonexistent/disk.img");
    d->format = LIBXL_DISK_FORMAT_RAW;
    d->readwrite = 1;
    create_fails(&c, "/nonexistent/disk.img");

    hvm_config(&c, "bad-model");
    add_nic(&c, "ne2k-bogus");
    create_fails(&c, "ne2k-bogus");

    hvm_config(&c, "bad-bridge");
    add_nic(&c, "rtl8139");
    free(c.nics[0].bridge);
    c.nics[0].bridge = strdup("nosuchbr");
    create_fails(&c, "nosuchbr");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("light_dm");
    TCase *tc = tcase_create("hvm");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hvm_lifecycle);
    tcase_add_test(tc, test_hvm_errors);
    tcase_add_test(tc, test_hvm_display_passwords);
    tcase_add_test(tc, test_pvh_tcg);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    test_host_require(TEST_HOST_XENSTORED | TEST_HOST_CORE, false);
    require();
    test_host_sweep();
    sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_host_sweep();
    return failed ? 1 : 0;
}
