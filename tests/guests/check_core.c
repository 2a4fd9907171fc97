/*
 * check_core.c - the control interface of xenolithd: privilege check,
 * bad input, domain ids, isolation between domains, events, consoles,
 * the core's log.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "harness.h"
#include "proto.h"

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

static int count_domains(void)
{
    xc_dominfo_t info[16];

    return xc_domain_getinfolist(core.xch, 0, 16, info);
}

static size_t ring_len(uint32_t domid)
{
    size_t len = sizeof(ring) - 1;

    ck_assert_int_eq(xc_console_read_ring(core.xch, domid, ring, &len), 0);
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

START_TEST(test_unprivileged_refused)
{
    pid_t pid;
    int status;

    /* the rundir is private to root; open it so the daemon decides */
    ck_assert_int_eq(chmod(core.host.dir, 0755), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        xc_interface *xch;

        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(2);
        xch = xc_interface_open(NULL, NULL, 0);
        _exit(!xch && errno == EACCES ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "nobody was not refused with EACCES (status %d)", status);
    /* and the daemon logged the refusal */
    {
        char buf[8192];
        unsigned int n = sizeof(buf) - 1;

        ck_assert_int_eq(xc_readconsolering(core.xch, buf, &n, 0, 0, NULL),
                         0);
        buf[n] = '\0';
        ck_assert_ptr_nonnull(strstr(buf, "not privileged"));
    }
}
END_TEST

START_TEST(test_bad_input)
{
    struct xc_domain_config cfg;
    xc_physinfo_t pi;
    uint32_t domid;

    ck_assert_int_eq(xc_physinfo(core.xch, &pi), 0);
    ck_assert_uint_ge(pi.max_vcpus, 1);
    memset(&cfg, 0, sizeof(cfg));
    cfg.memory_kb = 16 << 10;

    cfg.max_vcpus = 0;
    domid = 0;
    ck_assert_int_eq(xc_domain_create(core.xch, &domid, &cfg), -EINVAL);
    cfg.max_vcpus = pi.max_vcpus + 1;
    ck_assert_int_eq(xc_domain_create(core.xch, &domid, &cfg), -EINVAL);
    cfg.max_vcpus = 1;
    cfg.memory_kb = (pi.total_pages * 4) * 2;
    ck_assert_int_eq(xc_domain_create(core.xch, &domid, &cfg), -ENOMEM);
    cfg.memory_kb = 1000;
    ck_assert_int_eq(xc_domain_create(core.xch, &domid, &cfg), -EINVAL);
    cfg.memory_kb = 16 << 10;
    domid = DOMID_FIRST_RESERVED + 1;
    ck_assert_int_eq(xc_domain_create(core.xch, &domid, &cfg), -EINVAL);
    /* only dom0 is listed: nothing was left behind */
    ck_assert_int_eq(count_domains(), 1);
    ck_assert_int_eq(xc_domain_destroy(core.xch, 42), -ESRCH);
    ck_assert_int_eq(xc_domain_pause(core.xch, 0), -EINVAL);
}
END_TEST

START_TEST(test_domids)
{
    struct xc_domain_config cfg;
    uint32_t a = 0, b = 0, c = 7, d = 7;
    xc_dominfo_t info[8];

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_vcpus = 1;
    cfg.memory_kb = 4 << 10;
    cfg.handle[0] = 0xAB;
    ck_assert_int_eq(xc_domain_create(core.xch, &a, &cfg), 0);
    ck_assert_int_eq(xc_domain_create(core.xch, &b, &cfg), 0);
    ck_assert_uint_eq(a, 1);
    ck_assert_uint_eq(b, 2);
    ck_assert_int_eq(xc_domain_create(core.xch, &c, &cfg), 0);
    ck_assert_uint_eq(c, 7);
    ck_assert_int_eq(xc_domain_create(core.xch, &d, &cfg), -EEXIST);
    ck_assert_int_eq(xc_domain_getinfolist(core.xch, 0, 8, info), 4);
    ck_assert_uint_eq(info[0].domid, 0);
    ck_assert_uint_eq(info[3].domid, 7);
    ck_assert(info[1].paused);
    ck_assert_uint_eq(info[1].handle[0], 0xAB);
    ck_assert_int_eq(xc_domain_getinfolist(core.xch, 2, 8, info), 2);
    ck_assert_int_eq(xc_domain_max_vcpus(core.xch, a, 1), 0);
    ck_assert_int_eq(xc_domain_max_vcpus(core.xch, a, 2), -EINVAL);
    ck_assert_int_eq(xc_domain_setmaxmem(core.xch, a, 8192), 0);
    ck_assert_int_eq(xc_domain_getinfolist(core.xch, a, 1, info), 1);
    ck_assert_uint_eq(info[0].max_memkb, 8192);
    /* memory outside RAM cannot be mapped */
    ck_assert_ptr_null(xc_map_foreign_range(core.xch, a, 4096, PROT_READ,
                                            0x100000));
    ck_assert_int_eq(xc_domain_destroy(core.xch, a), 0);
    ck_assert_int_eq(xc_domain_destroy(core.xch, b), 0);
    ck_assert_int_eq(xc_domain_destroy(core.xch, c), 0);
    ck_assert_int_eq(count_domains(), 1);
}
END_TEST

static void isolation(const char *victim, int kill_it)
{
    uint32_t a, b;
    xc_dominfo_t info;
    xc_physinfo_t pi;
    unsigned int reason = 99;

    a = boot("test-pvh-counter", 1);
    ck_assert_int_eq(console_wait(core.xch, a, "counter 2\n", TIMEOUT_MS,
                                  NULL, 0), 1);
    b = boot(victim, 1);
    if (kill_it) {
        ck_assert_int_eq(console_wait(core.xch, b, "Test result", TIMEOUT_MS,
                                      NULL, 0), 1);
        ck_assert_int_eq(xc_domain_getinfo_single(core.xch, b, &info), 0);
        ck_assert_int_eq(kill(info.pid, SIGKILL), 0);
    }
    ck_assert_int_eq(shutdown_wait(core.xch, b, TIMEOUT_MS, &reason), 1);
    ck_assert_uint_eq(reason, XC_SHUTDOWN_crash);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, b, &info), 0);
    ck_assert(info.crashed);
    /* the other domain and the control interface carry on */
    expect_counting(a);
    ck_assert_int_eq(xc_physinfo(core.xch, &pi), 0);
    ck_assert_int_eq(xc_domain_pause(core.xch, a), 0);
    ck_assert_int_eq(xc_domain_unpause(core.xch, a), 0);
    ck_assert_int_eq(xc_domain_destroy(core.xch, b), 0);
    expect_counting(a);
    ck_assert_int_eq(xc_domain_getinfo_single(core.xch, a, &info), 0);
    ck_assert(!info.shutdown);
}

START_TEST(test_isolation_kill)
{
    isolation("test-pvh-hello", 1);
}
END_TEST

START_TEST(test_isolation_triple_fault)
{
    isolation("test-pvh-crash", 0);
}
END_TEST

static int next_event(xc_evwatch *w, struct xc_domain_event *ev)
{
    struct pollfd p = { .fd = xc_evwatch_fd(w), .events = POLLIN };
    int rc = xc_evwatch_read(w, ev);

    if (rc != 0)
        return rc;
    if (poll(&p, 1, TIMEOUT_MS) != 1)
        return 0;
    return xc_evwatch_read(w, ev);
}

START_TEST(test_events)
{
    struct xc_domain_event ev;
    xc_evwatch *w = xc_evwatch_open(core.xch);
    uint32_t domid;

    ck_assert_ptr_nonnull(w);
    domid = boot("test-pvh-poweroff", 1);
    ck_assert_int_eq(next_event(w, &ev), 1);
    ck_assert_uint_eq(ev.type, XC_EVENT_CREATED);
    ck_assert_uint_eq(ev.domid, domid);
    ck_assert_int_eq(next_event(w, &ev), 1);
    ck_assert_uint_eq(ev.type, XC_EVENT_UNPAUSED);
    ck_assert_int_eq(next_event(w, &ev), 1);
    ck_assert_uint_eq(ev.type, XC_EVENT_SHUTDOWN);
    ck_assert_uint_eq(ev.shutdown_reason, XC_SHUTDOWN_poweroff);
    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    ck_assert_int_eq(next_event(w, &ev), 1);
    ck_assert_uint_eq(ev.type, XC_EVENT_DESTROYED);
    ck_assert_uint_eq(ev.domid, domid);
    xc_evwatch_close(w);
}
END_TEST

START_TEST(test_console_endpoints)
{
    struct xc_console_info ci;
    struct sockaddr_un sa;
    struct stat st;
    char buf[4096];
    size_t got = 0;
    uint32_t domid;
    ssize_t n;
    int fd;

    domid = boot("test-pvh-hello", 1);
    ck_assert_int_eq(console_wait(core.xch, domid, "Test result",
                                  TIMEOUT_MS, NULL, 0), 1);
    ck_assert_int_eq(xc_console_info(core.xch, domid, &ci), 0);
    ck_assert_int_eq(stat(ci.pty_path, &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    /* a late socket client still gets the early output */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ci.socket_path);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    while (got < sizeof(buf) - 1) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        if (poll(&p, 1, 2000) != 1)
            break;
        n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "Test result: SUCCESS"))
            break;
    }
    buf[got] = '\0';
    close(fd);
    ck_assert_msg(strstr(buf, "Hello from test-pvh-hello"),
                  "socket gave: %s", buf);
    /* input is accepted */
    ck_assert_int_eq(xc_console_write(core.xch, domid, "x", 1), 1);
}
END_TEST

START_TEST(test_console_log_file)
{
    struct xc_console_info ci;
    char buf[4096];
    uint32_t domid;
    size_t n = 0;
    FILE *f;
    int i;

    harness_create_flags = XC_DOMCFG_HVM | XC_DOMCFG_CONSOLE_LOG;
    domid = boot("test-pvh-hello", 1);
    ck_assert_int_eq(console_wait(core.xch, domid, "Test result: SUCCESS\n",
                                  TIMEOUT_MS, NULL, 0), 1);
    ck_assert_int_eq(xc_console_info(core.xch, domid, &ci), 0);
    ck_assert_msg(ci.log_path[0], "no console log path");
    for (i = 0; i < 100; i++) {
        f = fopen(ci.log_path, "r");
        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (strstr(buf, "Test result: SUCCESS"))
            break;
        usleep(10000);
    }
    ck_assert_msg(strstr(buf, "Hello from test-pvh-hello"), "log: %s", buf);
}
END_TEST

START_TEST(test_log_and_version)
{
    char buf[65536], extra[16];
    unsigned int n = sizeof(buf) - 1;
    uint32_t index = 0;
    uint32_t domid = boot("test-pvh-hello", 1);
    int v;

    ck_assert_int_eq(console_wait(core.xch, domid, "Test result",
                                  TIMEOUT_MS, NULL, 0), 1);
    ck_assert_int_eq(xc_readconsolering(core.xch, buf, &n, 0, 1, &index),
                     0);
    buf[n] = '\0';
    ck_assert_ptr_nonnull(strstr(buf, "created"));
    ck_assert_uint_eq(index, n);
    v = xc_version(core.xch, XENVER_version, NULL);
    ck_assert_int_eq(v >> 16, 4);
    ck_assert_int_eq(xc_version(core.xch, XENVER_extraversion, extra), 0);
    ck_assert_ptr_nonnull(strstr(extra, "xenolith"));
    ck_assert_int_eq(xc_version(core.xch, XENVER_pagesize, NULL), 4096);
}
END_TEST

START_TEST(test_context_after_run)
{
    struct xc_vcpu_context ctx;
    uint32_t domid = boot("test-pvh-hello", 1);
    uint8_t map = 1;

    ck_assert_int_eq(console_wait(core.xch, domid, "Test result",
                                  TIMEOUT_MS, NULL, 0), 1);
    memset(&ctx, 0, sizeof(ctx));
    ctx.mode = XC_VCPU_MODE_PVH32;
    ck_assert_int_eq(xc_vcpu_setcontext(core.xch, domid, 0, &ctx), -EBUSY);
    ck_assert_int_eq(xc_vcpu_setcontext(core.xch, domid, 5, &ctx), -EINVAL);
    ck_assert_int_eq(xc_vcpu_setaffinity(core.xch, domid, 0, &map, 1), 0);
    map = 0;
    ck_assert_int_eq(xc_vcpu_setaffinity(core.xch, domid, 0, &map, 1),
                     -EINVAL);
    ck_assert_int_eq(xc_domain_shutdown(core.xch, domid,
                                        XC_SHUTDOWN_poweroff), 0);
    {
        unsigned int reason = 99;

        ck_assert_int_eq(shutdown_wait(core.xch, domid, 1000, &reason), 1);
        ck_assert_uint_eq(reason, XC_SHUTDOWN_poweroff);
    }
}
END_TEST

START_TEST(test_console_wait)
{
    struct xc_console_status st;
    struct xc_vcpu_context ctx;
    uint32_t domid = 0;
    uint64_t stamped;
    double t0;
    int rc;

    /* created, not yet run: nothing to wait for but the timeout */
    rc = guest_boot(core.xch, test_host_guest("test-pvh-hello"), 1, 16, NULL,
                    NULL, 0, &domid);
    ck_assert_int_eq(rc, 0);
    t0 = now_ms();
    ck_assert_int_eq(xc_console_wait(core.xch, domid, 0, 100, &st),
                     -ETIMEDOUT);
    ck_assert(now_ms() - t0 >= 90);
    /* the daemon checks a boot context before the first unpause */
    memset(&ctx, 0, sizeof(ctx));
    ctx.mode = XC_VCPU_MODE_PVH32;
    ck_assert_int_eq(xc_vcpu_setcontext(core.xch, domid, 1, &ctx), -EINVAL);
    ctx.mode = 0;
    ck_assert_int_eq(xc_vcpu_setcontext(core.xch, domid, 0, &ctx), -EINVAL);

    /* the late answer to the timed-out wait must not confuse this one */
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    ck_assert_int_eq(xc_console_wait(core.xch, domid, 0, TIMEOUT_MS, &st),
                     0);
    ck_assert(st.produced > 0);
    ck_assert_uint_eq(st.shutdown, 0);
    ck_assert(st.first_output_ns > 0);
    stamped = st.first_output_ns;
    ck_assert(stamped / 1e6 >= t0 && stamped / 1e6 <= now_ms());
    ck_assert_int_eq(console_wait(core.xch, domid, "Test result: SUCCESS",
                                  TIMEOUT_MS, NULL, 0), 1);

    /* nothing more comes from a halted guest; its shutdown answers */
    ck_assert_int_eq(xc_console_wait(core.xch, domid, ~0ULL >> 1, 50, &st),
                     -ETIMEDOUT);
    ck_assert_int_eq(xc_domain_shutdown(core.xch, domid,
                                        XC_SHUTDOWN_poweroff), 0);
    ck_assert_int_eq(xc_console_wait(core.xch, domid, ~0ULL >> 1,
                                     TIMEOUT_MS, &st), 0);
    ck_assert_uint_eq(st.shutdown, 1);
    ck_assert(st.first_output_ns == stamped);
    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    ck_assert_int_eq(xc_console_wait(core.xch, domid, 0, 50, &st), -ESRCH);
}
END_TEST

/* A raw connection to core.sock (non-blocking), no HELLO sent. */
static int raw_connect(void)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", xc_core_socket_path());
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void raw_send(int fd, uint32_t op, uint32_t hdr_len, const void *p,
                     size_t len)
{
    static uint8_t buf[PROTO_MAX_MSG + 64];
    struct proto_hdr h;

    memset(&h, 0, sizeof(h));
    h.op = op;
    h.seq = 42;
    h.len = hdr_len;
    memcpy(buf, &h, sizeof(h));
    if (len)
        memcpy(buf + sizeof(h), p, len);
    ck_assert_int_eq(send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL),
                     (ssize_t)(sizeof(h) + len));
}

/* The next reply's rc (its header in *h), or 1 if the daemon hung up. */
#define raw_reply(fd, h) raw_reply_at(fd, h, __LINE__)
static int raw_reply_at(int fd, struct proto_hdr *h, int line)
{
    uint8_t buf[PROTO_MAX_MSG];
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    ssize_t n;

    ck_assert_msg(poll(&pfd, 1, TIMEOUT_MS) == 1, "line %d: no reply from "
                  "xenolithd", line);
    n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
        return 1;
    ck_assert_int_ge(n, (ssize_t)sizeof(*h));
    memcpy(h, buf, sizeof(*h));
    return h->rc;
}

static void raw_hello(int fd)
{
    struct proto_hdr h;
    uint32_t v = PROTO_VERSION;

    raw_send(fd, PROTO_OP_HELLO, sizeof(v), &v, sizeof(v));
    ck_assert_int_eq(raw_reply(fd, &h), 0);
}

START_TEST(test_protocol_abuse)
{
    static uint8_t big[PROTO_MAX_MSG + 8];
    struct proto_hdr h;
    uint32_t v = PROTO_VERSION + 1, domid;
    int fd, i, idle[8];

    /* no HELLO first: refused, then cut off */
    fd = raw_connect();
    raw_send(fd, PROTO_OP_GETINFO, 0, NULL, 0);
    ck_assert_int_eq(raw_reply(fd, &h), -EPROTO);
    ck_assert_int_eq(raw_reply(fd, &h), 1);
    close(fd);
    /* another version: told ours, cut off */
    fd = raw_connect();
    raw_send(fd, PROTO_OP_HELLO, sizeof(v), &v, sizeof(v));
    ck_assert_int_eq(raw_reply(fd, &h), -EPROTO);
    ck_assert_int_eq(raw_reply(fd, &h), 1);
    close(fd);
    /* shorter than a header */
    fd = raw_connect();
    ck_assert_int_eq(send(fd, "\1\0", 2, MSG_NOSIGNAL), 2);
    ck_assert_int_eq(raw_reply(fd, &h), 1);
    close(fd);
    /* the header's length disagrees with the packet */
    fd = raw_connect();
    raw_hello(fd);
    raw_send(fd, PROTO_OP_PHYSINFO, 100, NULL, 0);
    ck_assert_int_eq(raw_reply(fd, &h), 1);
    close(fd);
    /* larger than any message */
    fd = raw_connect();
    raw_hello(fd);
    memset(big, 0xA5, sizeof(big));
    raw_send(fd, PROTO_OP_CONSOLE_WRITE, sizeof(big), big, sizeof(big));
    ck_assert_int_eq(raw_reply(fd, &h), 1);
    close(fd);
    /* well formed but wrong: answered, and the connection stays */
    fd = raw_connect();
    raw_hello(fd);
    raw_send(fd, PROTO_OP_MAX + 7, 0, NULL, 0);
    ck_assert_int_eq(raw_reply(fd, &h), -EOPNOTSUPP);
    raw_send(fd, PROTO_OP_CREATE, 3, "abc", 3);
    ck_assert_int_eq(raw_reply(fd, &h), -EINVAL);
    raw_send(fd, PROTO_OP_GETINFOLIST, 1, "x", 1);
    ck_assert_int_eq(raw_reply(fd, &h), -EINVAL);
    raw_send(fd, PROTO_OP_EVENT, 0, NULL, 0);
    ck_assert_int_eq(raw_reply(fd, &h), -EINVAL);
    raw_send(fd, PROTO_OP_HELLO, sizeof(v), &v, sizeof(v));
    ck_assert_int_eq(raw_reply(fd, &h), -EINVAL);
    raw_send(fd, PROTO_OP_PHYSINFO, 0, NULL, 0);
    ck_assert_int_eq(raw_reply(fd, &h), 0);
    /* a request, then gone before the answer */
    raw_send(fd, PROTO_OP_CONSOLE_WAIT, 0, NULL, 0);
    close(fd);
    /* clients that connect and say nothing, or half a HELLO */
    for (i = 0; i < 8; i++) {
        idle[i] = raw_connect();
        if (i % 2)
            ck_assert_int_eq(send(idle[i], &v, 1, MSG_NOSIGNAL), 1);
    }

    /* through all that, a good client is served */
    domid = boot("test-pvh-hello", 1);
    ck_assert_int_eq(console_wait(core.xch, domid, "Test result: SUCCESS",
                                  TIMEOUT_MS, NULL, 0), 1);
    ck_assert_int_eq(xc_domain_destroy(core.xch, domid), 0);
    ck_assert_int_eq(kill(core.host.core, 0), 0);
    for (i = 0; i < 8; i++)
        close(idle[i]);
    ck_assert_int_eq(count_domains(), 1);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        { "unprivileged_refused", test_unprivileged_refused },
        { "bad_input", test_bad_input },
        { "domids", test_domids },
        { "isolation_kill", test_isolation_kill },
        { "isolation_triple_fault", test_isolation_triple_fault },
        { "events", test_events },
        { "console_endpoints", test_console_endpoints },
        { "console_log_file", test_console_log_file },
        { "log_and_version", test_log_and_version },
        { "context_after_run", test_context_after_run },
        { "console_wait", test_console_wait },
        { "protocol_abuse", test_protocol_abuse },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);

        tcase_set_timeout(tc, 60);
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
    sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
