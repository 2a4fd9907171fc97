/*
 * check_light.c - libxl on the real daemons: a private xenstored and
 * xenolithd, the tiny PVH test guests, and nothing but libxl.h between
 * this program and them (xenstore is inspected with the command-line
 * clients, as an outsider would).
 *
 * Built twice (tests/integration/light.am): check_light runs the cases
 * every host with KVM can run; check_light_cgroup (CGROUP_CASES=1) runs
 * those that need a cgroup cpu controller the core can use (credit
 * weight and cap), and exits 77 without one, so that the harness counts
 * them as skipped instead of passed.
 */
#include <check.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>

#include "../../guests/cgroup_probe.h"
#include "probes.h"

#ifndef CGROUP_CASES
#define CGROUP_CASES 0
#endif

static struct test_host D;
static libxl_ctx *ctx;

static void setup(void)
{
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

static void config(libxl_domain_config *c, const char *name,
                   const char *guest_name, int mem_mb, int vcpus)
{
    libxl_domain_config_init(c);
    c->c_info.type = LIBXL_DOMAIN_TYPE_PVH;
    c->c_info.name = strdup(name);
    libxl_domain_build_info_init_type(&c->b_info, LIBXL_DOMAIN_TYPE_PVH);
    c->b_info.kernel = strdup(test_host_guest(guest_name));
    c->b_info.max_memkb = c->b_info.target_memkb = (uint64_t)mem_mb << 10;
    c->b_info.max_vcpus = vcpus;
    /* the core's PVH path (auto may mean qemu on a host without
     * hardware KVM; check_light_dm covers that) */
    c->b_info.xenolith_accel = LIBXL_XENOLITH_ACCEL_KVM;
}

static uint32_t create(const char *name, const char *guest_name,
                       libxl_domain_config *keep)
{
    libxl_domain_config c;
    uint32_t domid = 0;
    int rc;

    config(&c, name, guest_name, 32, 1);
    rc = libxl_domain_create_new(ctx, &c, &domid, NULL, NULL);
    ck_assert_msg(rc == 0, "create %s: %s\n%s", name,
                  libxl_error_to_string(rc), test_log());
    ck_assert(libxl_domid_valid_guest(domid));
    if (keep)
        *keep = c;
    else
        libxl_domain_config_dispose(&c);
    return domid;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Reads the domain's console tty until needle shows up. */
static int tty_wait(int fd, const char *needle, int timeout_ms, char *buf,
                    size_t cap)
{
    double end = now_ms() + timeout_ms;
    struct pollfd pfd = { fd, POLLIN, 0 };
    size_t len = 0;
    ssize_t n;

    buf[0] = '\0';
    while (!strstr(buf, needle)) {
        int left = (int)(end - now_ms());

        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return 0;
        n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        if (len == cap - 1)
            return 0;
    }
    return 1;
}

static int open_tty(uint32_t domid)
{
    struct termios t;
    char *path = NULL;
    int fd;

    ck_assert_int_eq(libxl_primary_console_get_tty(ctx, domid, &path), 0);
    ck_assert_msg(!strncmp(path, "/dev/pts/", 9), "tty %s", path);
    fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    free(path);
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

static int count_children(const char *path)
{
    char *out = xs_cmd("list %s", path), *p;
    int n = 0;

    if (!out)
        return 0;
    for (p = out; *p; p++)
        n += *p == '\n';
    free(out);
    return n;
}

/* Userdata files of domid (all domains: INVALID_DOMID) in the rundir. */
static int count_userdata(uint32_t domid)
{
    char dir[300], prefix[64];
    struct dirent *de;
    DIR *d;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/libxl", D.dir);
    if (domid == INVALID_DOMID)
        snprintf(prefix, sizeof(prefix), "userdata-d.");
    else
        snprintf(prefix, sizeof(prefix), "userdata-d.%u.", domid);
    d = opendir(dir);
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL)
        n += !strncmp(de->d_name, prefix, strlen(prefix));
    closedir(d);
    return n;
}

static int count_userdata_all(void)
{
    return count_userdata(INVALID_DOMID);
}

/* Only dom0 and the domains in keep[] exist, in the core and xenstore. */
static void assert_clean(const uint32_t *keep, int nkeep)
{
    libxl_dominfo *list;
    int n, i, j, found;

    list = libxl_list_domain(ctx, &n);
    ck_assert_ptr_nonnull(list);
    ck_assert_msg(n == 1 + nkeep, "%d domains in the core, want %d", n,
                  1 + nkeep);
    for (i = 0; i < n; i++) {
        found = list[i].domid == 0;
        for (j = 0; j < nkeep; j++)
            found |= list[i].domid == keep[j];
        ck_assert_msg(found, "domain %u left in the core", list[i].domid);
    }
    libxl_dominfo_list_free(list, n);
    for (j = 0; j < nkeep; j++)
        ck_assert(xs_exists("/local/domain/%u", keep[j]));
    n = count_children("/local/domain");
    ck_assert_msg(n <= 1 + nkeep, "%d nodes under /local/domain", n);
    ck_assert_int_eq(count_children("/vm"), nkeep);
    /* /libxl/<domid> of each, and the name index: one entry each */
    ck_assert_int_eq(count_children("/libxl") -
                     (xs_exists("/libxl/names") ? 1 : 0), nkeep);
    ck_assert_int_eq(count_children("/libxl/names"), nkeep);
    /* no stored config or userdata of a domain that is gone */
    n = count_userdata_all();
    for (j = 0; j < nkeep; j++)
        n -= count_userdata(keep[j]);
    ck_assert_msg(n == 0, "%d userdata files of gone domains", n);
}

static void assert_gone(uint32_t domid, const char *vm)
{
    char path[300];

    ck_assert_int_eq(libxl_domain_info(ctx, NULL, domid),
                     ERROR_DOMAIN_NOTFOUND);
    ck_assert(!xs_exists("/local/domain/%u", domid));
    ck_assert(!xs_exists("/libxl/%u", domid));
    if (vm)
        ck_assert(!xs_exists("%s", vm));
    snprintf(path, sizeof(path), "%s/xenstored/domains/%u", D.dir, domid);
    ck_assert_msg(access(path, F_OK) < 0, "%s left behind", path);
}

/* A xenstore-watch client that stops after 2 events (the first one is
 * the registration's). */
static FILE *popen_watch(const char *path)
{
    char *ready = xs_cmd("watch -n 1 '%s'", path);   /* daemon is up */
    char cmd[600];
    FILE *f;

    free(ready);
    snprintf(cmd, sizeof(cmd), "timeout 10 %s/xenstore-watch -n 2 '%s'",
             access("/usr/bin/xenstore-watch", X_OK) == 0 ? "/usr/bin" :
             getenv("XS_TOOLS"), path);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    return f;
}

/* The lines a watcher of popen_watch printed that start with want.  The
 * first, the watch's initial firing, is read before the caller acts (a
 * fixed sleep was too short in the nested-KVM lane), so it is counted
 * here without being read again. */
static FILE *watch_registered(FILE *f, const char *want)
{
    char line[512];

    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    ck_assert_int_eq(strncmp(line, want, strlen(want)), 0);
    return f;
}

static int watch_lines(FILE *f, const char *want)
{
    char line[512];
    int n = 1;          /* the initial firing, read by watch_registered */

    while (fgets(line, sizeof(line), f))
        n += !strncmp(line, want, strlen(want));
    pclose(f);
    return n;
}

/* ------------------------------------------------------------ context */

START_TEST(test_ctx_names_missing_daemon)
{
    struct test_host d;
    libxl_ctx *c = NULL;

    test_log_clear();
    ck_assert_msg(start_host(&d, 0) == 0, "%s", d.err);
    ck_assert_int_eq(libxl_ctx_alloc(&c, LIBXL_VERSION, 0, test_logger()),
                     ERROR_FAIL);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(test_log(), "xenstored") &&
                  strstr(test_log(), d.dir), "%s", test_log());
    test_host_stop(&d);

    test_log_clear();
    ck_assert_msg(start_host(&d, TEST_HOST_XENSTORED) == 0, "%s", d.err);
    ck_assert_int_eq(libxl_ctx_alloc(&c, LIBXL_VERSION, 0, test_logger()),
                     ERROR_FAIL);
    ck_assert_msg(strstr(test_log(), "xenolithd") &&
                  strstr(test_log(), "core.sock"), "%s", test_log());
    /* an offline context works without them */
    ck_assert_int_eq(libxl_ctx_alloc(&c, LIBXL_VERSION,
                                     LIBXL_CTX_XENOLITH_OFFLINE,
                                     test_logger()), 0);
    ck_assert_int_eq(libxl_domain_info(c, NULL, 1), ERROR_FAIL);
    libxl_ctx_free(c);
    ck_assert_int_eq(libxl_ctx_alloc(&c, 99, 0, test_logger()),
                     ERROR_VERSION);
    test_host_stop(&d);
}
END_TEST

/* ------------------------------------------------------------ lifecycle */

START_TEST(test_lifecycle)
{
    libxl_domain_config c;
    libxl_dominfo info, *list;
    libxl_physinfo pi;
    const libxl_version_info *vi;
    char buf[8192], path[300], uuid[40], vm[64], *v, *name;
    uint32_t domid = 0, other;
    FILE *watch;
    int fd, n, i, found = 0;

    config(&c, "light-hello", "test-pvh-hello", 32, 2);
    ck_assert_int_eq(libxl_domain_create_new(ctx, &c, &domid, NULL, NULL),
                     0);
    ck_assert(libxl_domid_valid_guest(domid));
    snprintf(uuid, sizeof(uuid), LIBXL_UUID_FMT,
             LIBXL_UUID_BYTES(c.c_info.uuid));
    snprintf(vm, sizeof(vm), "/vm/%s", uuid);

    /* left paused, as Xen's libxl does */
    libxl_dominfo_init(&info);
    ck_assert_int_eq(libxl_domain_info(ctx, &info, domid), 0);
    ck_assert(info.paused);
    ck_assert_int_eq(info.vcpu_max_id, 1);
    ck_assert_uint_eq(info.current_memkb, 32768);
    ck_assert(!libxl_uuid_compare(&info.uuid, &c.c_info.uuid));
    libxl_dominfo_dispose(&info);

    list = libxl_list_domain(ctx, &n);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(list[0].domid, 0);
    for (i = 0; i < n; i++)
        found += list[i].domid == domid;
    ck_assert_int_eq(found, 1);
    libxl_dominfo_list_free(list, n);

    ck_assert_int_eq(libxl_name_to_domid(ctx, "light-hello", &other), 0);
    ck_assert_uint_eq(other, domid);
    ck_assert_int_eq(libxl_name_to_domid(ctx, "nope", &other), ERROR_INVAL);
    name = libxl_domid_to_name(ctx, domid);
    ck_assert_str_eq(name, "light-hello");
    free(name);

    /* Xen's xenstore layout */
#define XS_EQ(want, ...) do { \
        v = xs_get(__VA_ARGS__); \
        ck_assert_msg(v && !strcmp(v, want), "%s: \"%s\", want \"%s\"", \
                      #__VA_ARGS__, v ? v : "(absent)", want); \
        free(v); \
    } while (0)
    XS_EQ("light-hello", "/local/domain/%u/name", domid);
    snprintf(path, sizeof(path), "%u", domid);
    XS_EQ(path, "/local/domain/%u/domid", domid);
    XS_EQ(vm, "/local/domain/%u/vm", domid);
    XS_EQ("32768", "/local/domain/%u/memory/target", domid);
    XS_EQ("32768", "/local/domain/%u/memory/static-max", domid);
    XS_EQ("online", "/local/domain/%u/cpu/0/availability", domid);
    XS_EQ("online", "/local/domain/%u/cpu/1/availability", domid);
    XS_EQ("xenconsoled", "/local/domain/%u/console/type", domid);
    XS_EQ("1048576", "/local/domain/%u/console/limit", domid);
    XS_EQ("1", "/local/domain/%u/control/platform-feature-xs_reset_watches",
          domid);
    XS_EQ("", "/local/domain/%u/control/shutdown", domid);
    XS_EQ("light-hello", "%s/name", vm);
    XS_EQ(uuid, "%s/uuid", vm);
    XS_EQ("pvh", "/libxl/%u/type", domid);
    ck_assert(xs_exists("%s/start_time", vm));
    ck_assert(xs_exists("/local/domain/%u/data", domid));
    v = xs_get("/local/domain/%u/console/tty", domid);
    ck_assert_msg(v && !strncmp(v, "/dev/pts/", 9), "tty %s", v);
    free(v);
    /* permissions: dom0 owns, the guest reads; the guest owns control */
    v = xs_cmd("ls -p /local/domain/%u", domid);
    ck_assert_ptr_nonnull(v);
    snprintf(path, sizeof(path), "(n0,r%u)", domid);
    ck_assert_msg(strstr(v, path), "%s", v);
    snprintf(path, sizeof(path), "shutdown = \"\"");
    ck_assert_msg(strstr(v, path), "%s", v);
    free(v);
    v = xs_cmd("ls -p /local/domain/%u/control", domid);
    snprintf(path, sizeof(path), "(n%u)", domid);
    ck_assert_msg(v && strstr(v, path), "%s", v);
    free(v);
    /* introduced to xenstored: it made the domain's socket */
    snprintf(path, sizeof(path), "%s/xenstored/domains/%u", D.dir, domid);
    ck_assert_msg(access(path, F_OK) == 0, "%s missing", path);

    /* run: the verdict comes through the console tty */
    fd = open_tty(domid);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ck_assert_msg(tty_wait(fd, "Test result: SUCCESS", 10000, buf,
                           sizeof(buf)), "console: %s", buf);
    close(fd);
    ck_assert_int_eq(libxl_domain_info(ctx, &info, domid), 0);
    ck_assert(!info.paused);
    ck_assert(!info.shutdown);
    ck_assert_int_eq(libxl_domain_pause(ctx, domid, NULL), 0);
    ck_assert_int_eq(libxl_domain_info(ctx, &info, domid), 0);
    ck_assert(info.paused);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);

    /* rename */
    ck_assert_int_eq(libxl_domain_rename(ctx, domid, "wrong", "x"),
                     ERROR_INVAL);
    ck_assert_int_eq(libxl_domain_rename(ctx, domid, "light-hello",
                                         "light-renamed"), 0);
    XS_EQ("light-renamed", "/local/domain/%u/name", domid);
    XS_EQ("light-renamed", "%s/name", vm);
    ck_assert_int_eq(libxl_name_to_domid(ctx, "light-renamed", &other), 0);
    ck_assert_uint_eq(other, domid);

    /* host */
    libxl_physinfo_init(&pi);
    ck_assert_int_eq(libxl_get_physinfo(ctx, &pi), 0);
    ck_assert_uint_gt(pi.nr_cpus, 0);
    ck_assert_uint_gt(pi.total_pages, 8192);
    ck_assert(pi.cap_hvm);
    libxl_physinfo_dispose(&pi);
    vi = libxl_get_version_info(ctx);
    ck_assert_ptr_nonnull(vi);
    ck_assert_ptr_nonnull(vi->capabilities);
    ck_assert_int_eq(vi->pagesize, 4096);

    /* destroy leaves nothing, and xenstored tells its watchers */
    watch = watch_registered(popen_watch("@releaseDomain"),
                             "@releaseDomain");
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    ck_assert_int_eq(watch_lines(watch, "@releaseDomain"), 2);
    assert_gone(domid, vm);
    assert_clean(NULL, 0);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL),
                     ERROR_DOMAIN_NOTFOUND);
    ck_assert_int_eq(libxl_domain_pause(ctx, domid, NULL),
                     ERROR_DOMAIN_NOTFOUND);
    ck_assert_int_eq(libxl_domain_destroy(ctx, 0, NULL), ERROR_INVAL);
    libxl_domain_config_dispose(&c);
}
END_TEST

/* ------------------------------------------------------------ events */

static void expect_death_cycle(uint32_t domid, libxl_event *ev,
                               libxl_shutdown_reason reason, uint64_t user)
{
    ck_assert_int_eq(ev->type, LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN);
    ck_assert_uint_eq(ev->domid, domid);
    ck_assert_uint_eq(ev->for_user, user);
    ck_assert_msg(ev->u.domain_shutdown.shutdown_reason == reason,
                  "reason %d, want %d",
                  ev->u.domain_shutdown.shutdown_reason, reason);
}

START_TEST(test_death_event_wait)
{
    const char *guests[] = { "test-pvh-poweroff", "test-pvh-reboot",
                             "test-pvh-crash" };
    const libxl_shutdown_reason reasons[] = {
        LIBXL_SHUTDOWN_REASON_POWEROFF, LIBXL_SHUTDOWN_REASON_REBOOT,
        LIBXL_SHUTDOWN_REASON_CRASH };
    libxl_evgen_domain_death *evg;
    libxl_event *ev;
    libxl_dominfo info;
    uint32_t domid;
    int i = _i;

    domid = create("light-death", guests[i], NULL);
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 77 + i, &evg),
                     0);
    ck_assert_int_eq(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                       NULL), ERROR_NOT_READY);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ck_assert_int_eq(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                      NULL), 0);
    expect_death_cycle(domid, ev, reasons[i], 77 + i);
    libxl_event_free(ctx, ev);
    ck_assert_int_eq(libxl_domain_info(ctx, &info, domid), 0);
    ck_assert(info.shutdown);
    ck_assert_int_eq(info.shutdown_reason, reasons[i]);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    ck_assert_int_eq(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                      NULL), 0);
    ck_assert_int_eq(ev->type, LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    ck_assert_uint_eq(ev->domid, domid);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, evg);
    assert_clean(NULL, 0);
}
END_TEST

/* beforepoll/afterpoll until an event or the deadline */
static libxl_event *poll_event(int timeout_ms)
{
    double end = now_ms() + timeout_ms;
    struct pollfd fds[4];
    struct timeval tv = { 0, 0 };
    libxl_event *ev;
    int nfds, timeout;

    for (;;) {
        if (!libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL))
            return ev;
        if (now_ms() > end)
            return NULL;
        nfds = 4;
        timeout = 500;
        ck_assert_int_eq(libxl_osevent_beforepoll(ctx, &nfds, fds, &timeout,
                                                  tv), 0);
        poll(fds, nfds, timeout);
        libxl_osevent_afterpoll(ctx, nfds, fds, tv);
    }
}

START_TEST(test_death_event_poll)
{
    libxl_evgen_domain_death *evg;
    libxl_event *ev;
    struct pollfd fds[1];
    struct timeval tv = { 0, 0 };
    uint32_t domid;
    int nfds = 0, timeout = -1;

    domid = create("light-reboot", "test-pvh-reboot", NULL);
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 5, &evg), 0);
    /* too small an array: ERROR_BUFFERFULL with the count needed */
    ck_assert_int_eq(libxl_osevent_beforepoll(ctx, &nfds, fds, &timeout, tv),
                     ERROR_BUFFERFULL);
    ck_assert_int_eq(nfds, 1);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ev = poll_event(10000);
    ck_assert_ptr_nonnull(ev);
    expect_death_cycle(domid, ev, LIBXL_SHUTDOWN_REASON_REBOOT, 5);
    libxl_event_free(ctx, ev);
    /* enabling again on a shut down domain reports it at once */
    libxl_evdisable_domain_death(ctx, evg);
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 6, &evg), 0);
    ck_assert_int_eq(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                       NULL), 0);
    expect_death_cycle(domid, ev, LIBXL_SHUTDOWN_REASON_REBOOT, 6);
    libxl_event_free(ctx, ev);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    ev = poll_event(10000);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(ev->type, LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, evg);
    /* a domain that does not exist: DEATH at once */
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 7, &evg), 0);
    ck_assert_int_eq(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                       NULL), 0);
    ck_assert_int_eq(ev->type, LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, evg);
}
END_TEST

/* the application's own loop through the osevent and event hooks */
static int reg_fd = -1;
static void *reg_for_libxl;
static libxl_event *hooked;

static int h_fd_register(void *user, int fd, void **reg, short events,
                         void *for_libxl)
{
    (void)user;
    (void)events;
    reg_fd = fd;
    reg_for_libxl = for_libxl;
    *reg = &reg_fd;
    return 0;
}

static int h_fd_modify(void *user, int fd, void **reg, short events)
{
    (void)user; (void)fd; (void)reg; (void)events;
    return 0;
}

static void h_fd_deregister(void *user, int fd, void *reg)
{
    (void)user; (void)fd; (void)reg;
    reg_fd = -1;
}

static int h_timeout_register(void *user, void **reg, struct timeval abs,
                              void *for_libxl)
{
    (void)user; (void)reg; (void)abs; (void)for_libxl;
    return 0;
}

static int h_timeout_modify(void *user, void **reg, struct timeval abs)
{
    (void)user; (void)reg; (void)abs;
    return 0;
}

static void h_timeout_deregister(void *user, void *reg)
{
    (void)user; (void)reg;
}

static void h_event_occurs(void *user, libxl_event *ev)
{
    ck_assert_ptr_eq(user, &hooked);
    ck_assert_ptr_null(hooked);
    hooked = ev;
}

static const libxl_osevent_hooks os_hooks = {
    h_fd_register, h_fd_modify, h_fd_deregister,
    h_timeout_register, h_timeout_modify, h_timeout_deregister,
};

static const libxl_event_hooks ev_hooks = {
    (1ULL << LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN) |
    (1ULL << LIBXL_EVENT_TYPE_DOMAIN_DEATH),
    h_event_occurs, NULL,
};

static void hook_loop(int timeout_ms)
{
    double end = now_ms() + timeout_ms;
    struct pollfd pfd;

    while (!hooked && now_ms() < end) {
        ck_assert_int_ge(reg_fd, 0);
        pfd.fd = reg_fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 500) > 0)
            libxl_osevent_occurred_fd(ctx, reg_for_libxl, reg_fd, POLLIN,
                                      pfd.revents);
    }
}

START_TEST(test_death_event_hooks)
{
    libxl_evgen_domain_death *evg;
    uint32_t domid;

    libxl_osevent_register_hooks(ctx, &os_hooks, NULL);
    libxl_event_register_callbacks(ctx, &ev_hooks, &hooked);
    domid = create("light-crash", "test-pvh-crash", NULL);
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 9, &evg), 0);
    ck_assert_int_ge(reg_fd, 0);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    hook_loop(10000);
    ck_assert_ptr_nonnull(hooked);
    expect_death_cycle(domid, hooked, LIBXL_SHUTDOWN_REASON_CRASH, 9);
    libxl_event_free(ctx, hooked);
    hooked = NULL;
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    hook_loop(10000);
    ck_assert_ptr_nonnull(hooked);
    ck_assert_int_eq(hooked->type, LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    libxl_event_free(ctx, hooked);
    hooked = NULL;
    libxl_evdisable_domain_death(ctx, evg);
    libxl_ctx_free(ctx);
    ctx = NULL;
    ck_assert_int_eq(reg_fd, -1);      /* deregistered by ctx_free */
    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, test_logger()),
                     0);
}
END_TEST

/* The core goes away for good while a program waits for deaths: the
 * wait ends with an error once the reconnection window has passed,
 * instead of hanging. */
START_TEST(test_death_wait_core_gone)
{
    libxl_evgen_domain_death *evg;
    libxl_event *ev = NULL;
    uint32_t domid;
    double t0;
    int rc;

    domid = create("light-orphan", "test-pvh-counter", NULL);
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 3, &evg), 0);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    test_log_clear();
    setenv("XENOLITH_CORE_RECONNECT_MS", "500", 1);
    ck_assert_int_eq(kill(D.core, SIGKILL), 0);
    t0 = now_ms();
    rc = libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL);
    unsetenv("XENOLITH_CORE_RECONNECT_MS");
    ck_assert_msg(rc == ERROR_FAIL, "rc %d, event %p", rc, (void *)ev);
    ck_assert_msg(now_ms() - t0 >= 400, "gave up after %.0f ms",
                  now_ms() - t0);
    ck_assert_msg(strstr(test_log(), "did not come back within 500 ms"),
                  "%s", test_log());
    libxl_evdisable_domain_death(ctx, evg);
}
END_TEST

/* The core restarts (kill -9, a new xenolithd takes the domain over)
 * while a program waits for deaths: the wait goes on, and the domain's
 * death is reported when it is destroyed through the new core. */
START_TEST(test_death_wait_core_restart)
{
    static const struct test_host_opts core_only = {
        .what = TEST_HOST_CORE
    };
    libxl_evgen_domain_death *evg;
    libxl_event *ev = NULL;
    uint32_t domid;
    int rc, i;

    domid = create("light-restart", "test-pvh-counter", NULL);
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 4, &evg), 0);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ck_assert_int_eq(kill(D.core, SIGKILL), 0);
    /* the wait notices the loss and starts retrying */
    ck_assert_int_eq(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                       NULL), ERROR_NOT_READY);
    for (i = 0; i < 500 && kill(D.core, 0) == 0; i++) {
        char path[64], st[256], *p;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)D.core);
        f = fopen(path, "re");
        if (!f)
            break;
        p = fgets(st, sizeof(st), f) ? strrchr(st, ')') : NULL;
        fclose(f);
        if (p && p[2] == 'Z')
            break;               /* a zombie: gone */
        usleep(10000);
    }
    rc = test_host_start_core(&D, &core_only);
    ck_assert_msg(rc == 0, "restarting xenolithd: %s", D.err);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    rc = libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(ev->domid, domid);
    ck_assert_int_eq(ev->type, LIBXL_EVENT_TYPE_DOMAIN_DEATH);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, evg);
}
END_TEST

/* ------------------------------------------------------------ failures */

static void expect_create_fails(libxl_domain_config *c, int want_rc,
                                const char *want_log1,
                                const char *want_log2)
{
    uint32_t domid = 1234;
    int rc;

    test_log_clear();
    rc = libxl_domain_create_new(ctx, c, &domid, NULL, NULL);
    ck_assert_msg(rc == want_rc, "rc %s, want %s\n%s",
                  libxl_error_to_string(rc), libxl_error_to_string(want_rc),
                  test_log());
    ck_assert_uint_eq(domid, INVALID_DOMID);
    ck_assert_msg(strstr(test_log(), want_log1), "log lacks \"%s\": %s",
                  want_log1, test_log());
    if (want_log2)
        ck_assert_msg(strstr(test_log(), want_log2), "log lacks \"%s\": %s",
                      want_log2, test_log());
    libxl_domain_config_dispose(c);
}

START_TEST(test_create_failures)
{
    libxl_domain_config c;
    char bad[300], missing[300];
    uint32_t keep;
    FILE *f;

    keep = create("light-keep", "test-pvh-hello", NULL);
    snprintf(missing, sizeof(missing), "%s/no-such-kernel", D.dir);
    snprintf(bad, sizeof(bad), "%s/bad-kernel", D.dir);
    f = fopen(bad, "w");
    ck_assert_ptr_nonnull(f);
    fputs("this is not an ELF kernel\n", f);
    fclose(f);

    /* missing kernel: refused before anything exists */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    free(c.b_info.kernel);
    c.b_info.kernel = strdup(missing);
    expect_create_fails(&c, ERROR_INVAL, "b_info.kernel", missing);
    assert_clean(&keep, 1);

    /* bad kernel: fails in the builder, after the domain was made */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    free(c.b_info.kernel);
    c.b_info.kernel = strdup(bad);
    expect_create_fails(&c, ERROR_FAIL, bad, "parsing the kernel");
    assert_clean(&keep, 1);

    /* a ramdisk that does not exist */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    c.b_info.ramdisk = strdup(missing);
    expect_create_fails(&c, ERROR_INVAL, "b_info.ramdisk", missing);
    assert_clean(&keep, 1);

    /* duplicate name */
    config(&c, "light-keep", "test-pvh-hello", 32, 1);
    expect_create_fails(&c, ERROR_INVAL, "already exists", "light-keep");
    assert_clean(&keep, 1);

    /* more memory than the host has */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    c.b_info.max_memkb = c.b_info.target_memkb = 1ULL << 40;
    expect_create_fails(&c, ERROR_INVAL, "target_memkb", NULL);
    assert_clean(&keep, 1);

    /* target above max */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    c.b_info.max_memkb = 16384;
    expect_create_fails(&c, ERROR_INVAL, "max_memkb", NULL);
    assert_clean(&keep, 1);

    /* too many vCPUs */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    c.b_info.max_vcpus = 100000;
    expect_create_fails(&c, ERROR_INVAL, "max_vcpus", NULL);
    assert_clean(&keep, 1);

    /* the core refuses: the wanted domid is in use */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    c.c_info.domid = keep;
    expect_create_fails(&c, ERROR_FAIL, "in use", NULL);
    assert_clean(&keep, 1);

    /* not PVH */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    c.c_info.type = LIBXL_DOMAIN_TYPE_HVM;
    expect_create_fails(&c, ERROR_INVAL, "c_info.type", NULL);
    assert_clean(&keep, 1);

    /* no name */
    config(&c, "light-x", "test-pvh-hello", 32, 1);
    free(c.c_info.name);
    c.c_info.name = NULL;
    expect_create_fails(&c, ERROR_INVAL, "c_info.name", NULL);
    assert_clean(&keep, 1);

    ck_assert_int_eq(libxl_domain_destroy(ctx, keep, NULL), 0);
    assert_clean(NULL, 0);
}
END_TEST

/* ------------------------------------------------------------ async */

static int cb_calls, cb_rc;
static void *cb_arg;
static int console_cb_calls;

static void ao_cb(libxl_ctx *c, int rc, void *for_callback)
{
    ck_assert_ptr_eq(c, ctx);
    cb_calls++;
    cb_rc = rc;
    cb_arg = for_callback;
}

static void console_cb(libxl_ctx *c, libxl_event *ev, void *for_callback)
{
    ck_assert_ptr_eq(c, ctx);
    ck_assert_ptr_eq(for_callback, &console_cb_calls);
    ck_assert_int_eq(ev->type,
                     LIBXL_EVENT_TYPE_DOMAIN_CREATE_CONSOLE_AVAILABLE);
    console_cb_calls++;
    libxl_event_free(c, ev);
}

START_TEST(test_async)
{
    libxl_asyncop_how how;
    libxl_asyncprogress_how chow;
    libxl_domain_config c;
    libxl_event *ev;
    uint32_t domid = 0;

    memset(&how, 0, sizeof(how));
    how.callback = ao_cb;
    how.u.for_callback = &cb_calls;
    memset(&chow, 0, sizeof(chow));
    chow.callback = console_cb;
    chow.for_callback = &console_cb_calls;

    /* a failing initiation never calls back */
    config(&c, "light-async", "no-such-guest", 32, 1);
    ck_assert_int_eq(libxl_domain_create_new(ctx, &c, &domid, &how, &chow),
                     ERROR_INVAL);
    ck_assert_int_eq(cb_calls, 0);
    ck_assert_int_eq(console_cb_calls, 0);
    libxl_domain_config_dispose(&c);

    config(&c, "light-async", "test-pvh-hello", 32, 1);
    ck_assert_int_eq(libxl_domain_create_new(ctx, &c, &domid, &how, &chow),
                     0);
    ck_assert_int_eq(cb_calls, 1);
    ck_assert_int_eq(cb_rc, 0);
    ck_assert_ptr_eq(cb_arg, &cb_calls);
    ck_assert_int_eq(console_cb_calls, 1);
    ck_assert_int_eq(libxl_domain_info(ctx, NULL, domid), 0);

    /* no callback: an OPERATION_COMPLETE event */
    memset(&how, 0, sizeof(how));
    how.u.for_event = 4242;
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, &how), 0);
    ck_assert_int_eq(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                       NULL), 0);
    ck_assert_int_eq(ev->type, LIBXL_EVENT_TYPE_OPERATION_COMPLETE);
    ck_assert_uint_eq(ev->for_user, 4242);
    ck_assert_int_eq(ev->u.operation_complete.rc, 0);
    ck_assert_uint_eq(ev->domid, domid);
    libxl_event_free(ctx, ev);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, &how), 0);
    ck_assert_int_eq(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                       NULL), 0);
    ck_assert_int_eq(ev->type, LIBXL_EVENT_TYPE_OPERATION_COMPLETE);
    libxl_event_free(ctx, ev);
    assert_clean(NULL, 0);
    libxl_domain_config_dispose(&c);
}
END_TEST

/* ------------------------------------------------------------ shutdown */

/* A guest agent (played by a child): clears control/shutdown once it
 * reads cmd there; exits 0 when it did. */
static pid_t ack_child(uint32_t domid, const char *cmd)
{
    char path[128], *v;
    pid_t pid;
    int i;

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid)
        return pid;
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
    for (i = 0; i < 1000; i++) {
        v = xs_get("%s", path);
        if (v && !strcmp(v, cmd))
            _exit(xs_set(path, "") ? 2 : 0);
        free(v);
        usleep(10000);
    }
    _exit(1);
}

static void child_ok(pid_t pid)
{
    int status;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_shutdown_pvcontrol)
{
    libxl_evgen_domain_death *evg;
    libxl_event *ev;
    char path[128], *v;
    uint32_t domid;
    pid_t pid;

    domid = create("light-pv", "test-pvh-hello", NULL);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);

    /* the guest has no PV control: Xen's answer, nothing written */
    test_log_clear();
    ck_assert_int_eq(libxl_domain_shutdown(ctx, domid, NULL),
                     ERROR_NOPARAVIRT);
    ck_assert_msg(strstr(test_log(), "feature-poweroff"), "%s", test_log());
    ck_assert_int_eq(libxl_domain_reboot(ctx, domid, NULL),
                     ERROR_NOPARAVIRT);
    v = xs_get("/local/domain/%u/control/shutdown", domid);
    ck_assert_str_eq(v, "");
    free(v);

    /* a guest agent (played by a child) announces and acknowledges */
    snprintf(path, sizeof(path), "/local/domain/%u/control/feature-poweroff",
             domid);
    ck_assert_int_eq(xs_set(path, "1"), 0);
    pid = ack_child(domid, "poweroff");
    ck_assert_int_eq(libxl_domain_shutdown(ctx, domid, NULL), 0);
    child_ok(pid);

    /* xl -F: the ACPI power button; this guest does not handle it, so
     * (as on Xen) nothing happens.  The reset trigger resets it. */
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 1, &evg), 0);
    ck_assert_int_eq(libxl_send_trigger(ctx, domid, LIBXL_TRIGGER_POWER, 0,
                                        NULL), 0);
    usleep(300000);
    ck_assert_int_eq(libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                       NULL), ERROR_NOT_READY);
    ck_assert_int_eq(libxl_send_trigger(ctx, domid, LIBXL_TRIGGER_RESET, 0,
                                        NULL), 0);
    ck_assert_int_eq(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                      NULL), 0);
    expect_death_cycle(domid, ev, LIBXL_SHUTDOWN_REASON_REBOOT, 1);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, evg);
    ck_assert_int_eq(libxl_send_trigger(ctx, domid, LIBXL_TRIGGER_NMI, 0,
                                        NULL), ERROR_NI);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    assert_clean(NULL, 0);
}
END_TEST

/* xl shutdown -F on a guest without PV drivers: the power button, which
 * the guest handles by powering off through ACPI S5. */
START_TEST(test_power_button)
{
    libxl_evgen_domain_death *evg;
    libxl_event *ev;
    char buf[4096];
    uint32_t domid;
    int fd;

    domid = create("light-pwrbtn", "test-pvh-pwrbtn", NULL);
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 5, &evg), 0);
    fd = open_tty(domid);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ck_assert_msg(tty_wait(fd, "waiting for the power button", 10000, buf,
                           sizeof(buf)), "console: %s", buf);
    ck_assert_int_eq(libxl_domain_shutdown(ctx, domid, NULL),
                     ERROR_NOPARAVIRT);
    ck_assert_int_eq(libxl_send_trigger(ctx, domid, LIBXL_TRIGGER_POWER, 0,
                                        NULL), 0);
    ck_assert_int_eq(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                      NULL), 0);
    expect_death_cycle(domid, ev, LIBXL_SHUTDOWN_REASON_POWEROFF, 5);
    libxl_event_free(ctx, ev);
    ck_assert_msg(tty_wait(fd, "Test result: SUCCESS", 5000, buf,
                           sizeof(buf)), "console: %s", buf);
    close(fd);
    libxl_evdisable_domain_death(ctx, evg);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    assert_clean(NULL, 0);
}
END_TEST

/* Credit weight and cap: from the config at create, then set and read
 * back; Xen's range checks. */
START_TEST(test_sched_params)
{
    libxl_domain_sched_params p;
    libxl_domain_config c;
    uint32_t domid = 0;
    int rc;

    ck_assert_int_eq(libxl_get_scheduler(ctx), LIBXL_SCHEDULER_CREDIT);
    config(&c, "light-sched", "test-pvh-hello", 32, 2);
    c.b_info.sched_params.weight = 512;
    c.b_info.sched_params.cap = 150;
    rc = libxl_domain_create_new(ctx, &c, &domid, NULL, NULL);
    ck_assert_msg(rc == 0, "create: %s\n%s", libxl_error_to_string(rc),
                  test_log());
    libxl_domain_config_dispose(&c);
    libxl_domain_sched_params_init(&p);
    ck_assert_int_eq(libxl_domain_sched_params_get(ctx, domid, &p), 0);
    ck_assert_int_eq(p.sched, LIBXL_SCHEDULER_CREDIT);
    ck_assert_int_eq(p.weight, 512);
    ck_assert_int_eq(p.cap, 150);
    libxl_domain_sched_params_dispose(&p);

    /* only the weight: the cap stays */
    libxl_domain_sched_params_init(&p);
    p.weight = 100;
    ck_assert_int_eq(libxl_domain_sched_params_set(ctx, domid, &p), 0);
    ck_assert_int_eq(libxl_domain_sched_params_get(ctx, domid, &p), 0);
    ck_assert_int_eq(p.weight, 100);
    ck_assert_int_eq(p.cap, 150);

    p.weight = 65536;
    ck_assert_int_eq(libxl_domain_sched_params_set(ctx, domid, &p),
                     ERROR_INVAL);
    p.weight = LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT;
    p.cap = 201;                         /* 2 vCPUs: at most 200 */
    ck_assert_int_eq(libxl_domain_sched_params_set(ctx, domid, &p),
                     ERROR_INVAL);
    p.cap = 0;
    p.sched = LIBXL_SCHEDULER_RTDS;
    ck_assert_int_eq(libxl_domain_sched_params_set(ctx, domid, &p),
                     ERROR_INVAL);
    p.sched = LIBXL_SCHEDULER_CREDIT;
    ck_assert_int_eq(libxl_domain_sched_params_set(ctx, domid, &p), 0);
    ck_assert_int_eq(libxl_domain_sched_params_get(ctx, domid, &p), 0);
    ck_assert_int_eq(p.cap, 0);
    libxl_domain_sched_params_dispose(&p);
    ck_assert_int_eq(libxl_domain_sched_params_get(ctx, 0x7000, &p),
                     ERROR_DOMAIN_NOTFOUND);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    assert_clean(NULL, 0);
}
END_TEST

/* beforepoll/afterpoll until *flag is set or the deadline */
static void poll_until(const int *flag, int timeout_ms)
{
    double end = now_ms() + timeout_ms;
    struct pollfd fds[4];
    struct timeval tv = { 0, 0 };
    int nfds, timeout;

    while (!*flag && now_ms() < end) {
        nfds = 4;
        timeout = 500;
        ck_assert_int_eq(libxl_osevent_beforepoll(ctx, &nfds, fds, &timeout,
                                                  tv), 0);
        ck_assert_int_ge(nfds, 1);      /* xenstore's fd is in */
        poll(fds, nfds, timeout);
        libxl_osevent_afterpoll(ctx, nfds, fds, tv);
    }
}

/* timeouts the application holds for libxl (see the osevent hooks) */
static void *tmo_for_libxl;
static int tmo_registered, tmo_modified;

static int t_timeout_register(void *user, void **reg, struct timeval abs,
                              void *for_libxl)
{
    struct timeval now;

    (void)user;
    gettimeofday(&now, NULL);
    /* Xen's deadline: 60 s from now */
    ck_assert_int_ge(abs.tv_sec, now.tv_sec + 55);
    ck_assert_int_le(abs.tv_sec, now.tv_sec + 65);
    tmo_for_libxl = for_libxl;
    tmo_registered++;
    *reg = &tmo_for_libxl;
    return 0;
}

static int t_timeout_modify(void *user, void **reg, struct timeval abs)
{
    (void)user;
    ck_assert_ptr_eq(*reg, &tmo_for_libxl);
    ck_assert(abs.tv_sec == 0 && abs.tv_usec == 0);
    tmo_modified++;
    return 0;
}

static const libxl_osevent_hooks tmo_hooks = {
    h_fd_register, h_fd_modify, h_fd_deregister,
    t_timeout_register, t_timeout_modify, h_timeout_deregister,
};

START_TEST(test_shutdown_async)
{
    libxl_asyncop_how how;
    libxl_event *ev;
    char path[128], *v;
    uint32_t domid;
    pid_t pid;

    domid = create("light-pv-async", "test-pvh-hello", NULL);
    snprintf(path, sizeof(path), "/local/domain/%u/control/feature-poweroff",
             domid);
    ck_assert_int_eq(xs_set(path, "1"), 0);
    snprintf(path, sizeof(path), "/local/domain/%u/control/feature-reboot",
             domid);
    ck_assert_int_eq(xs_set(path, "1"), 0);

    /* callback: returns at once, called back once the guest acks */
    memset(&how, 0, sizeof(how));
    how.callback = ao_cb;
    how.u.for_callback = &cb_calls;
    cb_calls = 0;
    cb_rc = 1;
    ck_assert_int_eq(libxl_domain_shutdown(ctx, domid, &how), 0);
    ck_assert_int_eq(cb_calls, 0);
    v = xs_get("/local/domain/%u/control/shutdown", domid);
    ck_assert_str_eq(v, "poweroff");
    free(v);
    pid = ack_child(domid, "poweroff");
    poll_until(&cb_calls, 10000);
    ck_assert_int_eq(cb_calls, 1);
    ck_assert_int_eq(cb_rc, 0);
    child_ok(pid);

    /* no callback: OPERATION_COMPLETE through libxl_event_wait */
    memset(&how, 0, sizeof(how));
    how.u.for_event = 99;
    ck_assert_int_eq(libxl_domain_reboot(ctx, domid, &how), 0);
    pid = ack_child(domid, "reboot");
    ck_assert_int_eq(libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                      NULL), 0);
    ck_assert_int_eq(ev->type, LIBXL_EVENT_TYPE_OPERATION_COMPLETE);
    ck_assert_uint_eq(ev->for_user, 99);
    ck_assert_int_eq(ev->u.operation_complete.rc, 0);
    libxl_event_free(ctx, ev);
    child_ok(pid);

    /* hooks: the deadline is the application's timeout; when it is due
     * and the guest said nothing, ERROR_TIMEDOUT */
    libxl_osevent_register_hooks(ctx, &tmo_hooks, NULL);
    memset(&how, 0, sizeof(how));
    how.callback = ao_cb;
    cb_calls = 0;
    ck_assert_int_eq(libxl_domain_shutdown(ctx, domid, &how), 0);
    ck_assert_int_eq(tmo_registered, 1);
    ck_assert_int_ge(reg_fd, 0);           /* xenstore's fd */
    test_log_clear();
    libxl_osevent_occurred_timeout(ctx, tmo_for_libxl);
    ck_assert_int_eq(cb_calls, 1);
    ck_assert_int_eq(cb_rc, ERROR_TIMEDOUT);
    ck_assert_msg(strstr(test_log(), "acknowledge"), "%s", test_log());
    /* acknowledged early: libxl makes its timeout fire at once */
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
    ck_assert_int_eq(xs_set(path, ""), 0);
    cb_calls = 0;
    ck_assert_int_eq(libxl_domain_shutdown(ctx, domid, &how), 0);
    pid = ack_child(domid, "poweroff");
    child_ok(pid);
    libxl_osevent_occurred_fd(ctx, reg_for_libxl, reg_fd, POLLIN, POLLIN);
    ck_assert_int_eq(cb_calls, 1);
    ck_assert_int_eq(cb_rc, 0);
    ck_assert_int_eq(tmo_modified, 1);
    libxl_osevent_occurred_timeout(ctx, tmo_for_libxl);
    ck_assert_int_eq(cb_calls, 1);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
}
END_TEST

/* ------------------------------------------------------------ on_* */

static uint32_t boot_and_shut(const char *name, libxl_action_on_shutdown a,
                              libxl_domain_config *retrieved)
{
    libxl_domain_config c;
    libxl_evgen_domain_death *evg;
    libxl_event *ev;
    uint32_t domid = 0;

    config(&c, name, "test-pvh-poweroff", 32, 1);
    c.on_poweroff = a;
    ck_assert_int_eq(libxl_domain_create_new(ctx, &c, &domid, NULL, NULL),
                     0);
    libxl_domain_config_dispose(&c);
    ck_assert_int_eq(libxl_evenable_domain_death(ctx, domid, 0, &evg), 0);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ck_assert_int_eq(libxl_event_wait(ctx, &ev,
                     1ULL << LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, NULL, NULL), 0);
    expect_death_cycle(domid, ev, LIBXL_SHUTDOWN_REASON_POWEROFF, 0);
    libxl_event_free(ctx, ev);
    libxl_evdisable_domain_death(ctx, evg);
    libxl_domain_config_init(retrieved);
    ck_assert_int_eq(libxl_retrieve_domain_configuration(ctx, domid,
                                                         retrieved, NULL), 0);
    ck_assert_str_eq(retrieved->c_info.name, name);
    ck_assert_int_eq(retrieved->on_poweroff, a);
    return domid;
}

/* The bytes the guest ELF's first PT_LOAD puts at its paddr. */
static uint64_t elf_first_load(const char *path, uint8_t *bytes, size_t n)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    FILE *f = fopen(path, "rb");
    int i;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fread(&eh, sizeof(eh), 1, f), 1);
    for (i = 0; i < eh.e_phnum; i++) {
        fseek(f, (long)(eh.e_phoff + i * sizeof(ph)), SEEK_SET);
        ck_assert_int_eq(fread(&ph, sizeof(ph), 1, f), 1);
        if (ph.p_type == PT_LOAD && ph.p_filesz >= n) {
            fseek(f, (long)ph.p_offset, SEEK_SET);
            ck_assert_int_eq(fread(bytes, 1, n, f), n);
            fclose(f);
            return ph.p_paddr;
        }
    }
    fclose(f);
    ck_abort_msg("no PT_LOAD in %s", path);
    return 0;
}

/* The executable PT_LOAD of a guest ELF: [*lo, *hi). */
static void elf_text(const char *path, uint64_t *lo, uint64_t *hi)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    FILE *f = fopen(path, "rb");
    int i;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fread(&eh, sizeof(eh), 1, f), 1);
    *lo = *hi = 0;
    for (i = 0; i < eh.e_phnum; i++) {
        fseek(f, (long)(eh.e_phoff + i * sizeof(ph)), SEEK_SET);
        ck_assert_int_eq(fread(&ph, sizeof(ph), 1, f), 1);
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
            *lo = ph.p_paddr;
            *hi = ph.p_paddr + ph.p_memsz;
        }
    }
    fclose(f);
    ck_assert_msg(*hi > *lo, "no executable PT_LOAD in %s", path);
}

/* gdb reads vCPU 0's rip from the core's NT_PRSTATUS: the powered-off
 * guest stopped in its own text, after the S5 write. */
static void check_core_rip(const char *core)
{
    char cmd[1024], line[512];
    unsigned long long rip = 0;
    uint64_t lo, hi;
    int found = 0;
    FILE *f;

    elf_text(test_host_guest("test-pvh-poweroff"), &lo, &hi);
    snprintf(cmd, sizeof(cmd), "gdb -batch -n -c '%s' -ex 'info registers "
             "rip' -ex 'info registers rsp' 2>&1", core);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "rip 0x%llx", &rip) == 1)
            found = 1;
    pclose(f);
    ck_assert_msg(found, "gdb showed no rip for %s", core);
    ck_assert_msg(rip >= lo && rip < hi, "rip %#llx from the core is not "
                  "in the guest's text %#llx..%#llx", rip,
                  (unsigned long long)lo, (unsigned long long)hi);
}

static void check_core_file(const char *core)
{
    uint8_t want[4];
    Elf64_Ehdr eh;
    char cmd[1024], expect[128], *out = NULL;
    size_t cap = 0;
    uint64_t paddr;
    FILE *f;

    f = fopen(core, "rb");
    ck_assert_msg(f != NULL, "no core file %s", core);
    ck_assert_int_eq(fread(&eh, sizeof(eh), 1, f), 1);
    fclose(f);
    ck_assert(!memcmp(eh.e_ident, ELFMAG, SELFMAG));
    ck_assert_int_eq(eh.e_type, ET_CORE);
    ck_assert_int_eq(eh.e_machine, EM_X86_64);
    ck_assert_int_ge(eh.e_phnum, 2);
    if (access("/usr/bin/gdb", X_OK) < 0)
        return;
    /* gdb opens it and reads the kernel's bytes at its load address */
    paddr = elf_first_load(test_host_guest("test-pvh-poweroff"), want, 4);
    snprintf(cmd, sizeof(cmd), "gdb -batch -n -c '%s' -ex 'x/4xb %#llx' "
             "2>&1", core, (unsigned long long)paddr);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    snprintf(expect, sizeof(expect), "0x%02x\t0x%02x\t0x%02x\t0x%02x",
             want[0], want[1], want[2], want[3]);
    {
        char line[512];
        int ok = 0;

        while (fgets(line, sizeof(line), f))
            ok |= strstr(line, expect) != NULL;
        pclose(f);
        ck_assert_msg(ok, "gdb did not read %s at %#llx from %s", expect,
                      (unsigned long long)paddr, core);
    }
    check_core_rip(core);
    free(out);
    (void)cap;
}

START_TEST(test_on_actions)
{
    static const libxl_action_on_shutdown actions[] = {
        LIBXL_ACTION_ON_SHUTDOWN_DESTROY,
        LIBXL_ACTION_ON_SHUTDOWN_RESTART,
        LIBXL_ACTION_ON_SHUTDOWN_PRESERVE,
        LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME,
        LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY,
        LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART,
        LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET,
    };
    libxl_action_on_shutdown a = actions[_i];
    libxl_domain_config c;
    libxl_dominfo info;
    char name[64], core[400], *n;
    uint32_t domid, old, other;
    int restarted = -1, rc;

    snprintf(name, sizeof(name), "light-on-%d", _i);
    old = domid = boot_and_shut(name, a, &c);
    rc = libxl_xenolith_domain_death(ctx, &domid,
                                     LIBXL_SHUTDOWN_REASON_POWEROFF, &c,
                                     D.dir, &restarted);
    ck_assert_msg(rc == 0, "%s: %s\n%s", libxl_action_on_shutdown_to_string(a),
                  libxl_error_to_string(rc), test_log());
    snprintf(core, sizeof(core), "%s/%s", D.dir, name);

    switch (a) {
    case LIBXL_ACTION_ON_SHUTDOWN_DESTROY:
    case LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY:
        ck_assert_uint_eq(domid, INVALID_DOMID);
        ck_assert_int_eq(restarted, 0);
        assert_gone(old, NULL);
        assert_clean(NULL, 0);
        break;
    case LIBXL_ACTION_ON_SHUTDOWN_PRESERVE:
        ck_assert_uint_eq(domid, INVALID_DOMID);
        ck_assert_int_eq(libxl_domain_info(ctx, &info, old), 0);
        ck_assert(info.shutdown);
        ck_assert_int_eq(libxl_domain_destroy(ctx, old, NULL), 0);
        break;
    case LIBXL_ACTION_ON_SHUTDOWN_RESTART:
    case LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART:
    case LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME:
    case LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET:
        ck_assert_int_eq(restarted, 1);
        ck_assert(libxl_domid_valid_guest(domid));
        ck_assert_uint_ne(domid, old);
        ck_assert_int_eq(libxl_name_to_domid(ctx, name, &other), 0);
        ck_assert_uint_eq(other, domid);
        ck_assert_int_eq(libxl_domain_info(ctx, &info, domid), 0);
        ck_assert(!info.paused);
        /* the new incarnation is the same VM: same uuid, as in Xen */
        ck_assert(!libxl_uuid_compare(&info.uuid, &c.c_info.uuid));
        if (a == LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME) {
            n = libxl_domid_to_name(ctx, old);
            ck_assert_msg(n && !strncmp(n, name, strlen(name)) &&
                          n[strlen(name)] == '-', "preserved as %s", n);
            free(n);
            ck_assert_int_eq(libxl_domain_destroy(ctx, old, NULL), 0);
        } else {
            assert_gone(old, NULL);
        }
        ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
        assert_clean(NULL, 0);
        break;
    default:
        break;
    }
    if (a == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY ||
        a == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART)
        check_core_file(core);
    else
        ck_assert(access(core, F_OK) < 0);
    libxl_domain_config_dispose(&c);
}
END_TEST

/* ------------------------------------------------------------ memory */

START_TEST(test_memory_vcpus_config)
{
    libxl_domain_config c, r;
    libxl_bitmap map;
    libxl_vcpuinfo *vl;
    libxl_xen_console_reader *cr;
    uint64_t target;
    uint32_t start;
    size_t logged = 0;
    uint64_t free_kb = 0, need = 0;
    uint8_t *ud = NULL;
    char *line;
    int rc, udlen = -1;
    char *v;
    uint32_t domid = 0;
    int nb = 0, ncpus = 0;

    config(&c, "light-mem", "test-pvh-hello", 32, 2);
    c.b_info.cmdline = strdup("console=ttyS0 quiet");
    /* cpus= pins every vCPU at create */
    ck_assert_int_eq(libxl_cpu_bitmap_alloc(ctx, &c.b_info.cpumap, 0), 0);
    libxl_bitmap_set(&c.b_info.cpumap, 0);
    ck_assert_int_eq(libxl_domain_create_new(ctx, &c, &domid, NULL, NULL),
                     0);

    ck_assert_int_eq(libxl_domain_setmaxmem(ctx, domid, 65536), 0);
    v = xs_get("/local/domain/%u/memory/static-max", domid);
    ck_assert_str_eq(v, "65536");
    free(v);
    ck_assert_int_eq(libxl_domain_setmaxmem(ctx, domid, 1024), ERROR_INVAL);
    ck_assert_int_eq(libxl_set_memory_target(ctx, domid, 16384, 0, 0), 0);
    ck_assert_int_eq(libxl_set_memory_target(ctx, domid, 1024, 1, 1), 0);
    ck_assert_int_eq(libxl_get_memory_target(ctx, domid, &target), 0);
    ck_assert_uint_eq(target, 17408);
    v = xs_get("/local/domain/%u/memory/target", domid);
    ck_assert_str_eq(v, "17408");
    free(v);
    ck_assert_int_eq(libxl_set_memory_target(ctx, domid, -100000, 1, 0),
                     ERROR_INVAL);

    libxl_bitmap_init(&map);
    ck_assert_int_eq(libxl_bitmap_alloc(ctx, &map, 8), 0);
    libxl_bitmap_set(&map, 0);
    ck_assert_int_eq(libxl_set_vcpuonline(ctx, domid, &map, NULL), 0);
    v = xs_get("/local/domain/%u/cpu/1/availability", domid);
    ck_assert_str_eq(v, "offline");
    free(v);
    libxl_bitmap_set(&map, 5);
    ck_assert_int_eq(libxl_set_vcpuonline(ctx, domid, &map, NULL),
                     ERROR_INVAL);
    libxl_bitmap_dispose(&map);

    ck_assert_int_eq(libxl_cpu_bitmap_alloc(ctx, &map, 0), 0);
    libxl_bitmap_set(&map, 0);
    ck_assert_int_eq(libxl_set_vcpuaffinity(ctx, domid, 1, &map, NULL), 0);
    vl = libxl_list_vcpu(ctx, domid, &nb, &ncpus);
    ck_assert_ptr_nonnull(vl);
    ck_assert_int_eq(nb, 2);
    ck_assert_int_gt(ncpus, 0);
    ck_assert_int_eq(vl[1].vcpuid, 1);
    ck_assert(libxl_bitmap_test(&vl[1].cpumap, 0));
    ck_assert_int_eq(libxl_bitmap_count_set(&vl[1].cpumap), 1);
    ck_assert(libxl_bitmap_test(&vl[0].cpumap, 0));
    ck_assert_int_eq(libxl_bitmap_count_set(&vl[0].cpumap), 1);
    libxl_vcpuinfo_list_free(vl, nb);
    libxl_bitmap_dispose(&map);

    /* the stored config comes back, with the current name */
    ck_assert_int_eq(libxl_domain_rename(ctx, domid, NULL, "light-mem2"), 0);
    libxl_domain_config_init(&r);
    ck_assert_int_eq(libxl_retrieve_domain_configuration(ctx, domid, &r,
                                                         NULL), 0);
    ck_assert_str_eq(r.c_info.name, "light-mem2");
    ck_assert_str_eq(r.b_info.kernel, c.b_info.kernel);
    ck_assert_str_eq(r.b_info.cmdline, "console=ttyS0 quiet");
    ck_assert_uint_eq(r.b_info.max_memkb, 32768);
    ck_assert_int_eq(r.b_info.max_vcpus, 2);
    ck_assert(!libxl_uuid_compare(&r.c_info.uuid, &c.c_info.uuid));
    libxl_domain_config_dispose(&r);

    /* userdata, kept with the domain */
    ck_assert_int_eq(libxl_userdata_store(ctx, domid, "xl",
                                          (const uint8_t *)"cfg=1", 5), 0);
    ck_assert_int_eq(libxl_userdata_retrieve(ctx, domid, "xl", &ud, &udlen),
                     0);
    ck_assert_int_eq(udlen, 5);
    ck_assert(!memcmp(ud, "cfg=1", 5));
    free(ud);
    ck_assert_int_eq(libxl_userdata_retrieve(ctx, domid, "none", &ud,
                                             &udlen), 0);
    ck_assert_ptr_null(ud);
    ck_assert_int_eq(udlen, 0);
    ck_assert_int_eq(libxl_userdata_store(ctx, domid, "../x",
                                          (const uint8_t *)"x", 1),
                     ERROR_INVAL);
    ck_assert_int_eq(libxl_userdata_store(ctx, domid, "gone",
                                          (const uint8_t *)"x", 1), 0);
    ck_assert_int_eq(libxl_userdata_unlink(ctx, domid, "gone"), 0);
    ck_assert_int_eq(libxl_userdata_retrieve(ctx, domid, "gone", NULL,
                                             &udlen), 0);
    ck_assert_int_eq(udlen, 0);
    ck_assert_int_eq(count_userdata(domid), 2);   /* libxl-json, xl */

    /* memory accounting */
    ck_assert_int_eq(libxl_get_free_memory(ctx, &free_kb), 0);
    ck_assert_uint_gt(free_kb, 0);
    ck_assert_int_eq(libxl_wait_for_free_memory(ctx, domid, 1024, 0), 0);
    ck_assert_int_eq(libxl_wait_for_free_memory(ctx, domid, free_kb * 1024,
                                                0), ERROR_NOMEM);
    libxl_domain_config_init(&r);
    r.b_info.max_memkb = r.b_info.target_memkb = LIBXL_MEMKB_DEFAULT;
    ck_assert_int_eq(libxl_domain_need_memory(ctx, &r, INVALID_DOMID,
                                              &need), 0);
    ck_assert_uint_eq(need, 32768);
    libxl_domain_config_dispose(&r);

    /* start time, the core's log, the scheduler */
    start = libxl_vm_get_start_time(ctx, domid);
    ck_assert_msg(start != (uint32_t)-1 && start <= (uint32_t)time(NULL) &&
                  start + 60 >= (uint32_t)time(NULL), "start %u", start);
    cr = libxl_xen_console_read_start(ctx, 0);
    ck_assert_ptr_nonnull(cr);
    while ((rc = libxl_xen_console_read_line(ctx, cr, &line)) > 0)
        logged += strlen(line);
    ck_assert_int_eq(rc, 0);
    libxl_xen_console_read_finish(ctx, cr);
    ck_assert_int_gt(logged, 0);
    ck_assert_int_eq(libxl_get_scheduler(ctx), LIBXL_SCHEDULER_CREDIT);

    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    ck_assert_int_eq(count_userdata(domid), 0);
    libxl_domain_config_init(&r);
    ck_assert_int_eq(libxl_retrieve_domain_configuration(ctx, domid, &r,
                                                         NULL),
                     ERROR_DOMAIN_NOTFOUND);
    libxl_domain_config_dispose(&r);
    libxl_domain_config_dispose(&c);
    assert_clean(NULL, 0);
}
END_TEST

/* ------------------------------------------------------------ boot */

/* kernel + cmdline + ramdisk reach the guest: test-pvh-startinfo checks
 * its command line and module bytes and says SUCCESS only if both are
 * exactly what it expects. */
START_TEST(test_cmdline_ramdisk)
{
    static const char module[] = "XENOLITH-MODULE-PAYLOAD-0123456789abcdef";
    libxl_domain_config c;
    char rd[300], buf[8192];
    uint32_t domid = 0;
    FILE *f;
    int fd;

    snprintf(rd, sizeof(rd), "%s/initrd", D.dir);
    f = fopen(rd, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(module, 1, sizeof(module) - 1, f),
                     sizeof(module) - 1);
    fclose(f);
    config(&c, "light-startinfo", "test-pvh-startinfo", 64, 1);
    c.b_info.cmdline = strdup("xenolith-startinfo console=ttyS0 answer=42");
    c.b_info.ramdisk = strdup(rd);
    ck_assert_int_eq(libxl_domain_create_new(ctx, &c, &domid, NULL, NULL),
                     0);
    fd = open_tty(domid);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    /* a FAILURE verdict names what differed; it shows in the message */
    ck_assert_msg(tty_wait(fd, "Test result: SUCCESS", 10000, buf,
                           sizeof(buf)), "console: %s", buf);
    close(fd);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    libxl_domain_config_dispose(&c);
    assert_clean(NULL, 0);
}
END_TEST

/* ------------------------------------------------------------ console */

START_TEST(test_console_exec)
{
    int in[2], out[2], note[2], status;
    char buf[8192], c, *path = NULL;
    libxl_ctx *c2;
    uint32_t domid;
    pid_t pid;

    domid = create("light-console", "test-pvh-hello", NULL);
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(note), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        close(note[0]);
        if (libxl_ctx_alloc(&c2, LIBXL_VERSION, 0, test_logger()))
            _exit(3);
        libxl_primary_console_exec(c2, domid, note[1]);
        _exit(4);                       /* returns only on error */
    }
    close(in[0]);
    close(out[1]);
    close(note[1]);
    /* connected before the guest runs: nothing is missed */
    ck_assert_int_eq(read(note[0], &c, 1), 1);
    ck_assert_int_eq(c, 0);
    ck_assert_int_eq(libxl_domain_unpause(ctx, domid, NULL), 0);
    ck_assert_msg(tty_wait(out[0], "Test result: SUCCESS", 10000, buf,
                           sizeof(buf)), "console: %s", buf);
    ck_assert_msg(strstr(buf, "Hello from test-pvh-hello"), "%s", buf);
    c = 0x1d;                           /* Ctrl-] leaves */
    ck_assert_int_eq(write(in[1], &c, 1), 1);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(in[1]);
    close(out[0]);
    close(note[0]);
    ck_assert_int_eq(libxl_domain_destroy(ctx, domid, NULL), 0);
    ck_assert_int_eq(libxl_console_get_tty(ctx, domid, 0,
                                           LIBXL_CONSOLE_TYPE_PV, &path),
                     ERROR_DOMAIN_NOTFOUND);
    ck_assert_ptr_null(path);
}
END_TEST

/* check_light_cgroup: the cases that need a cgroup cpu controller. */
static Suite *cgroup_suite(void)
{
    Suite *s = suite_create("light_cgroup");
    TCase *tc = tcase_create("sched");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sched_params);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *light_suite(void)
{
    Suite *s = suite_create("light");
    TCase *tc;

    tc = tcase_create("ctx");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_ctx_names_missing_daemon);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifecycle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_create_failures);
    tcase_add_test(tc, test_async);
    tcase_add_test(tc, test_shutdown_pvcontrol);
    tcase_add_test(tc, test_power_button);
    tcase_add_test(tc, test_shutdown_async);
    tcase_add_test(tc, test_memory_vcpus_config);
    tcase_add_test(tc, test_console_exec);
    tcase_add_test(tc, test_cmdline_ramdisk);
    suite_add_tcase(s, tc);

    tc = tcase_create("events");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_death_event_wait, 0, 3);
    tcase_add_test(tc, test_death_event_poll);
    tcase_add_test(tc, test_death_event_hooks);
    tcase_add_test(tc, test_death_wait_core_gone);
    tcase_add_test(tc, test_death_wait_core_restart);
    suite_add_tcase(s, tc);

    tc = tcase_create("on_actions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_on_actions, 0, 7);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    test_host_require(TEST_HOST_XENSTORED | TEST_HOST_CORE, true);
    if (CGROUP_CASES) {
        char why[400];

        if (!cgroup_cpu_usable(why, sizeof(why))) {
            printf("SKIP: sched_params: %s\n", why);
            return 77;
        }
    }
    test_host_registry();
    sr = srunner_create(CGROUP_CASES ? cgroup_suite() : light_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_host_sweep();
    return failed ? 1 : 0;
}
