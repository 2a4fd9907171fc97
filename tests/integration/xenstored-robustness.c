/*
 * xenstored-robustness.c: abuse a live xenstored over raw sockets.
 *
 * Every test starts the freshly built daemon (-N, with a trace file) in a
 * temporary rundir, connects a well-behaved client W, throws one abuse at
 * the daemon, and then checks that W was never stalled (each of its
 * requests answered within PING_MS), that a brand-new client is served,
 * and, at teardown, that SIGTERM stops the daemon with status 0 and
 * removes its socket and pid file.
 *
 * Environment:
 *   XENSTORED_BIN      the daemon (default ../../xenstored/xenstored)
 *   XENSTORED_WRAPPER  a command to run it under, split at spaces
 *                      (xenstored-valgrind.sh sets valgrind here)
 *   XS_TIME_SCALE      multiply every time limit (default 1)
 * Tests tagged "valgrind" form the scripted session that runs under it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#define HDR sizeof(struct xsd_sockmsg)
#define PING_MS 1000            /* W's worst acceptable latency */
#define REPLY_MS 5000           /* any expected reply */

static int scale = 1;
static char base_dir[32];   /* all rundirs, removed by main() */
static char rundir[64];
static char sock_path[128];
static char pid_path[128];
static char trace_path[128];
static char log_path[128];
static pid_t daemon_pid = -1;
static bool daemon_gone;

/* The well-behaved client that must never stall. */
static int wfd = -1;
static uint32_t wreq = 1000;

/* ------------------------------------------------------------ clock */

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ client */

static int try_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int xconnect(const char *path)
{
    int fd = try_connect(path);

    ck_assert_msg(fd >= 0, "connect %s: %s", path, strerror(errno));
    return fd;
}

/* Writes all of buf (blocking). */
static void send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    ssize_t r;

    while (len) {
        r = send(fd, p, len, MSG_NOSIGNAL);
        ck_assert_msg(r > 0, "send: %s", strerror(errno));
        p += r;
        len -= (size_t)r;
    }
}

static void send_msg(int fd, uint32_t type, uint32_t req, uint32_t tx,
                     const void *payload, uint32_t len)
{
    char buf[HDR + XENSTORE_PAYLOAD_MAX + 64];
    struct xsd_sockmsg h = { type, req, tx, len };

    ck_assert_uint_le(len, sizeof(buf) - HDR);
    memcpy(buf, &h, HDR);
    memcpy(buf + HDR, payload, len);
    send_all(fd, buf, HDR + len);
}

/*
 * Reads exactly len bytes within timeout_ms.  Returns 1, 0 on EOF (or
 * connection reset), -1 on timeout.
 */
static int recv_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    char *p = buf;
    ssize_t r;
    int left;

    while (len) {
        left = (int)(end - now_ms());
        if (left < 0)
            return -1;
        if (poll(&pfd, 1, left) == 0)
            return -1;
        r = recv(fd, p, len, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return 0;
        if (r < 0) {
            ck_assert_msg(errno == EAGAIN || errno == EINTR, "recv: %s",
                          strerror(errno));
            continue;
        }
        p += r;
        len -= (size_t)r;
    }
    return 1;
}

/* One message; payload NUL-terminated in buf. 1, 0 (EOF), -1 (timeout). */
static int recv_msg(int fd, struct xsd_sockmsg *h, char *buf, int timeout_ms)
{
    int r = recv_exact(fd, h, HDR, timeout_ms);

    if (r != 1)
        return r;
    ck_assert_uint_le(h->len, XENSTORE_PAYLOAD_MAX);
    r = recv_exact(fd, buf, h->len, timeout_ms);
    if (r == 1)
        buf[h->len] = '\0';
    return r;
}

/* The reply to `req`, skipping watch events (counted in *events). */
static uint32_t recv_reply(int fd, uint32_t req, char *buf, uint32_t *len_r,
                           unsigned int *events, int timeout_ms)
{
    struct xsd_sockmsg h;
    int r;

    for (;;) {
        r = recv_msg(fd, &h, buf, timeout_ms);
        ck_assert_msg(r == 1, "no reply to request %u (%s)", req,
                      r ? "timeout" : "connection closed");
        if (h.type == XS_WATCH_EVENT) {
            if (events)
                (*events)++;
            continue;
        }
        ck_assert_uint_eq(h.req_id, req);
        if (len_r)
            *len_r = h.len;
        return h.type;
    }
}

/* Request and reply; returns the reply type, reply text in buf. */
static uint32_t request(int fd, uint32_t type, const void *p, uint32_t len,
                        char *buf)
{
    static uint32_t req = 1;
    char dummy[XENSTORE_PAYLOAD_MAX + 1];

    req++;
    send_msg(fd, type, req, 0, p, len);
    return recv_reply(fd, req, buf ? buf : dummy, NULL, NULL,
                      REPLY_MS * scale);
}

/* "a\0b\0..." from strings; the last one without NUL when `last_raw`. */
static uint32_t join(char *out, bool last_raw, const char *first, ...)
{
    const char *s, *next;
    uint32_t len = 0;
    size_t n;
    va_list ap;

    va_start(ap, first);
    for (s = first; s; s = next) {
        next = va_arg(ap, const char *);
        n = strlen(s);
        memcpy(out + len, s, n);
        len += (uint32_t)n;
        if (next || !last_raw)
            out[len++] = '\0';
    }
    va_end(ap);
    return len;
}

static void xs_write(int fd, const char *path, const char *value)
{
    char p[XENSTORE_PAYLOAD_MAX], r[XENSTORE_PAYLOAD_MAX + 1];
    uint32_t len = join(p, true, path, value, NULL);

    ck_assert_uint_eq(request(fd, XS_WRITE, p, len, r), XS_WRITE);
}

static void xs_read_expect(int fd, const char *path, const char *value)
{
    char p[512], r[XENSTORE_PAYLOAD_MAX + 1];
    uint32_t len = join(p, false, path, NULL);

    ck_assert_uint_eq(request(fd, XS_READ, p, len, r), XS_READ);
    ck_assert_str_eq(r, value);
}

/* W: a write and a read, each answered within PING_MS. */
static void ping(void)
{
    char p[128], r[XENSTORE_PAYLOAD_MAX + 1], v[32];
    long long t0;
    uint32_t len;

    snprintf(v, sizeof(v), "%u", ++wreq);
    len = join(p, true, "/robust/ping", v, NULL);
    t0 = now_ms();
    send_msg(wfd, XS_WRITE, wreq, 0, p, len);
    ck_assert_uint_eq(recv_reply(wfd, wreq, r, NULL, NULL, PING_MS * scale),
                      XS_WRITE);
    len = join(p, false, "/robust/ping", NULL);
    send_msg(wfd, XS_READ, ++wreq, 0, p, len);
    ck_assert_uint_eq(recv_reply(wfd, wreq, r, NULL, NULL, PING_MS * scale),
                      XS_READ);
    ck_assert_str_eq(r, v);
    ck_assert_msg(now_ms() - t0 < PING_MS * scale,
                  "well-behaved client stalled for %lld ms",
                  now_ms() - t0);
}

/* A brand-new client is served. */
static void fresh_client_ok(void)
{
    int fd = xconnect(sock_path);

    xs_write(fd, "/robust/fresh", "yes");
    xs_read_expect(fd, "/robust/fresh", "yes");
    close(fd);
}

static void daemon_alive(void)
{
    ck_assert_msg(kill(daemon_pid, 0) == 0, "xenstored is gone");
    ck_assert_int_eq(waitpid(daemon_pid, NULL, WNOHANG), 0);
}

/* The checks after every abuse. */
static void after_abuse(void)
{
    daemon_alive();
    ping();
    fresh_client_ok();
    ping();
}

/* True when the daemon closes fd within timeout_ms. */
static bool closed_by_daemon(int fd, int timeout_ms)
{
    char buf[4096];
    long long end = now_ms() + timeout_ms;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    ssize_t r;

    while (now_ms() < end) {
        if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
            continue;
        r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
    }
    return false;
}

/* Lines of the trace file containing `needle`. */
static unsigned int trace_count(const char *needle)
{
    char line[8192];
    unsigned int n = 0;
    FILE *f = fopen(trace_path, "r");

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

static long daemon_rss_kb(void)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static unsigned int daemon_fds(void)
{
    char cmd[128], out[32] = "";
    FILE *p;

    snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)daemon_pid);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    if (!fgets(out, sizeof(out), p))
        out[0] = '\0';
    pclose(p);
    return (unsigned int)atoi(out);
}

/* ------------------------------------------------------------ fixture */

static void start_daemon(void)
{
    const char *bin = getenv("XENSTORED_BIN");
    const char *wrap = getenv("XENSTORED_WRAPPER");
    char *argv[32], *wcopy = NULL, *tok, *save;
    long long t0, end;
    int argc = 0, fd;

    if (!bin)
        bin = "../../xenstored/xenstored";
    if (wrap && wrap[0]) {
        wcopy = strdup(wrap);
        for (tok = strtok_r(wcopy, " ", &save); tok && argc < 24;
             tok = strtok_r(NULL, " ", &save))
            argv[argc++] = tok;
    }
    argv[argc++] = (char *)bin;
    argv[argc++] = (char *)"-N";
    argv[argc++] = (char *)"-T";
    argv[argc++] = trace_path;
    argv[argc++] = (char *)"-F";
    argv[argc++] = pid_path;
    argv[argc++] = (char *)"-L";
    argv[argc++] = log_path;
    argv[argc] = NULL;

    t0 = now_ms();
    daemon_pid = fork();
    ck_assert_int_ge(daemon_pid, 0);
    if (daemon_pid == 0) {
        /* A test that fails half-way must not leave the daemon behind. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        setenv("XENSTORED_RUNDIR", rundir, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    free(wcopy);
    end = t0 + 10000LL * scale;
    while ((fd = try_connect(sock_path)) < 0) {
        ck_assert_msg(now_ms() < end, "xenstored did not start");
        ck_assert_msg(waitpid(daemon_pid, NULL, WNOHANG) == 0,
                      "xenstored exited at start-up");
        sleep_ms(1);
    }
    close(fd);
}

static void remove_rundir(void)
{
    char cmd[128];

    if (!rundir[0])
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", rundir);
    rundir[0] = '\0';
}

/* At exit of a failed test (check exits the test's process). */
static void cleanup_at_exit(void)
{
    if (daemon_pid > 0 && !daemon_gone) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
    }
    remove_rundir();
}

static void setup(void)
{
    const char *s = getenv("XS_TIME_SCALE");

    scale = s && atoi(s) > 0 ? atoi(s) : 1;
    snprintf(rundir, sizeof(rundir), "%s/t-XXXXXX", base_dir);
    ck_assert_ptr_nonnull(mkdtemp(rundir));
    snprintf(sock_path, sizeof(sock_path), "%s/socket", rundir);
    snprintf(pid_path, sizeof(pid_path), "%s/xenstored.pid", rundir);
    snprintf(trace_path, sizeof(trace_path), "%s/trace", rundir);
    snprintf(log_path, sizeof(log_path), "%s/log", rundir);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup_at_exit);
    daemon_gone = false;
    start_daemon();
    wfd = xconnect(sock_path);
    ping();
}

static void teardown(void)
{
    int status = -1;
    long long end;

    if (wfd >= 0)
        close(wfd);
    wfd = -1;
    if (daemon_pid > 0 && !daemon_gone) {
        kill(daemon_pid, SIGTERM);
        end = now_ms() + 20000LL * scale;
        while (waitpid(daemon_pid, &status, WNOHANG) == 0) {
            if (now_ms() > end) {
                kill(daemon_pid, SIGKILL);
                waitpid(daemon_pid, &status, 0);
                ck_abort_msg("xenstored ignored SIGTERM");
            }
            sleep_ms(5);
        }
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "xenstored did not exit cleanly (status 0x%x)",
                      status);
        ck_assert_msg(access(sock_path, F_OK) < 0, "socket left behind");
        ck_assert_msg(access(pid_path, F_OK) < 0, "pid file left behind");
    }
    daemon_pid = -1;
    remove_rundir();
}

/* ------------------------------------------------------------ abuses */

START_TEST(test_bad_type)
{
    static const uint32_t types[] = { XS_TYPE_COUNT, 20, 9999, XS_INVALID,
                                      0xffffffffu };
    char r[XENSTORE_PAYLOAD_MAX + 1];
    uint32_t len;
    unsigned int i;
    int fd = xconnect(sock_path);

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        send_msg(fd, types[i], 77 + i, 0, "/x", 3);
        ck_assert_uint_eq(recv_reply(fd, 77 + i, r, &len, NULL,
                                     REPLY_MS * scale), XS_ERROR);
        /* Xen 4.17 answers an unknown operation with ENOSYS. */
        ck_assert_str_eq(r, "ENOSYS");
    }
    /* The same connection still works. */
    xs_write(fd, "/robust/a", "1");
    xs_read_expect(fd, "/robust/a", "1");
    close(fd);
    after_abuse();
}
END_TEST

START_TEST(test_oversized_length)
{
    static const uint32_t lens[] = { XENSTORE_PAYLOAD_MAX + 1, 1u << 20,
                                     0xffffffffu };
    struct xsd_sockmsg h = { XS_WRITE, 1, 0, 0 };
    unsigned int i;
    int fd;

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        fd = xconnect(sock_path);
        xs_write(fd, "/robust/b", "1");
        h.len = lens[i];
        /* The header alone is enough: Xen drops such a connection. */
        send_all(fd, &h, sizeof(h));
        ck_assert_msg(closed_by_daemon(fd, REPLY_MS * scale),
                      "len %u: connection not closed", lens[i]);
        close(fd);
        ping();
    }
    /* Exactly the maximum is fine. */
    {
        static char p[XENSTORE_PAYLOAD_MAX];
        char r[XENSTORE_PAYLOAD_MAX + 1];

        memset(p, 'v', sizeof(p));
        memcpy(p, "/robust/max", 12);
        fd = xconnect(sock_path);
        send_msg(fd, XS_WRITE, 5, 0, p, XENSTORE_PAYLOAD_MAX);
        recv_reply(fd, 5, r, NULL, NULL, REPLY_MS * scale);
        close(fd);
    }
    after_abuse();
}
END_TEST

START_TEST(test_unterminated_strings)
{
    static const struct {
        uint32_t type;
        const char *p;
        uint32_t len;
    } cases[] = {
        { XS_READ, "/robust/x", 9 },
        { XS_WRITE, "/robust/novalue", 15 },
        { XS_WATCH, "/robust\0tok", 11 },
        { XS_WATCH, "/robust", 7 },
        { XS_UNWATCH, "/robust", 7 },
        { XS_RM, "/robust/zz", 10 },
        { XS_MKDIR, "/robust/zz", 10 },
        { XS_DIRECTORY, "/", 1 },
        { XS_GET_PERMS, "/", 1 },
        { XS_SET_PERMS, "/robust\0b0", 10 },
        { XS_INTRODUCE, "5\0001", 3 },
        { XS_RELEASE, "5", 1 },
        { XS_GET_DOMAIN_PATH, "12", 2 },
        { XS_IS_DOMAIN_INTRODUCED, "0", 1 },
        { XS_TRANSACTION_END, "T", 1 },
        { XS_CONTROL, "log", 3 },
        { XS_DIRECTORY_PART, "/\0000", 3 },
        { XS_SET_TARGET, "1\0002", 3 },
        { XS_RESET_WATCHES, "x", 1 },
        { XS_READ, "", 0 },
        { XS_WRITE, "", 0 },
        { XS_WATCH_EVENT, "/a", 2 },
        { XS_ERROR, "EINVAL", 6 },
    };
    char r[XENSTORE_PAYLOAD_MAX + 1];
    unsigned int i;
    int fd = xconnect(sock_path);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        send_msg(fd, cases[i].type, 300 + i, 0, cases[i].p, cases[i].len);
        /* Any reply is fine; it must come, on a live connection. */
        recv_reply(fd, 300 + i, r, NULL, NULL, REPLY_MS * scale);
    }
    xs_write(fd, "/robust/c", "ok");
    close(fd);
    after_abuse();
}
END_TEST

START_TEST(test_partial_messages)
{
    char p[128], buf[256], r[XENSTORE_PAYLOAD_MAX + 1];
    struct xsd_sockmsg h = { XS_WRITE, 9, 0, 0 };
    uint32_t len = join(p, true, "/robust/partial", "value", NULL);
    int fd = xconnect(sock_path);
    int cut;

    h.len = len;
    memcpy(buf, &h, HDR);
    memcpy(buf + HDR, p, len);
    /* Cut inside the header, at its end, inside the payload. */
    for (cut = 1; cut < (int)(HDR + len); cut += 7) {
        h.req_id = 100 + (uint32_t)cut;
        memcpy(buf, &h, HDR);
        send_all(fd, buf, (size_t)cut);
        sleep_ms(20);
        ping();
        send_all(fd, buf + cut, HDR + len - (size_t)cut);
        ck_assert_uint_eq(recv_reply(fd, h.req_id, r, NULL, NULL,
                                     REPLY_MS * scale), XS_WRITE);
    }
    /* One byte at a time. */
    h.req_id = 999;
    memcpy(buf, &h, HDR);
    for (cut = 0; cut < (int)(HDR + len); cut++) {
        send_all(fd, buf + cut, 1);
        if (cut % 8 == 0)
            sleep_ms(1);
    }
    ck_assert_uint_eq(recv_reply(fd, 999, r, NULL, NULL, REPLY_MS * scale),
                      XS_WRITE);
    xs_read_expect(fd, "/robust/partial", "value");
    /* A half message left hanging while others are served. */
    send_all(fd, buf, HDR + 3);
    ping();
    fresh_client_ok();
    close(fd);
    after_abuse();
}
END_TEST

START_TEST(test_disconnect_mid_message)
{
    static char big[HDR + XENSTORE_PAYLOAD_MAX];
    struct xsd_sockmsg h = { XS_WRITE, 1, 0, XENSTORE_PAYLOAD_MAX };
    unsigned int i;
    int fd;

    memcpy(big, &h, HDR);
    memcpy(big + HDR, "/robust/cut", 12);
    for (i = 0; i < 200; i++) {
        fd = xconnect(sock_path);
        send_all(fd, big, 1 + (i * 97) % (sizeof(big) - 1));
        close(fd);
        if (i % 50 == 0)
            ping();
    }
    /* Many whole requests, then a close without reading the replies. */
    for (i = 0; i < 50; i++) {
        char p[64];
        uint32_t len = join(p, true, "/robust/d", "v", NULL);
        unsigned int k;

        fd = xconnect(sock_path);
        for (k = 0; k < 20; k++)
            send_msg(fd, XS_WRITE, k, 0, p, len);
        close(fd);
    }
    after_abuse();
}
END_TEST

START_TEST(test_garbage)
{
    static char junk[64 * 1024];
    unsigned int seed, i, round;
    ssize_t r;
    int fd;

    for (round = 0; round < 20; round++) {
        seed = 4242 + round;
        for (i = 0; i < sizeof(junk); i++)
            junk[i] = (char)rand_r(&seed);
        /* Small lengths now and then, so some frames parse. */
        if (round % 2)
            for (i = 0; i + 16 <= sizeof(junk); i += 97)
                junk[i + 13] = junk[i + 14] = junk[i + 15] = 0;
        fd = xconnect(sock_path);
        /* The daemon may close on us half-way: that is fine. */
        r = send(fd, junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)r;
        sleep_ms(5);
        close(fd);
        ping();
    }
    after_abuse();
}
END_TEST

/* A watcher that never reads while W fires events at it. */
START_TEST(test_never_reads_events)
{
    char p[128], r[XENSTORE_PAYLOAD_MAX + 1];
    struct xsd_sockmsg h;
    unsigned int i, events = 0, got;
    long rss;
    uint32_t len;
    int nfd = xconnect(sock_path);
    int n = 20000;

    len = join(p, false, "/robust/flood", "tok", NULL);
    send_msg(nfd, XS_WATCH, 1, 0, p, len);
    ck_assert_uint_eq(recv_reply(nfd, 1, r, NULL, &events,
                                 REPLY_MS * scale), XS_WATCH);
    /* nfd reads nothing from here on. */
    for (i = 0; i < (unsigned int)n / (unsigned int)scale; i++) {
        char path[64], v[16];

        snprintf(path, sizeof(path), "/robust/flood/%u", i % 50);
        snprintf(v, sizeof(v), "%u", i);
        len = join(p, true, path, v, NULL);
        send_msg(wfd, XS_WRITE, ++wreq, 0, p, len);
        ck_assert_uint_eq(recv_reply(wfd, wreq, r, NULL, NULL,
                                     PING_MS * scale), XS_WRITE);
    }
    after_abuse();
    rss = daemon_rss_kb();
    ck_assert_msg(rss < 64 * 1024, "xenstored RSS %ld KiB", rss);

    /*
     * The slow watcher is still connected (events beyond its queue limit
     * were dropped, as Xen drops them): once it reads, it is served.
     */
    send_msg(nfd, XS_READ, 2, 0, "/robust/ping", 13);
    got = 0;
    for (;;) {
        ck_assert_int_eq(recv_msg(nfd, &h, r, REPLY_MS * scale), 1);
        if (h.type != XS_WATCH_EVENT)
            break;
        got++;
    }
    ck_assert_uint_eq(h.req_id, 2);
    ck_assert_uint_gt(got, 0);
    close(nfd);
}
END_TEST

/* A client that pipelines requests and never reads its replies. */
START_TEST(test_never_reads_replies)
{
    static char p[XENSTORE_PAYLOAD_MAX];
    char r[XENSTORE_PAYLOAD_MAX + 1];
    struct xsd_sockmsg h;
    unsigned int sent = 0, i;
    long long end;
    uint32_t len;
    long rss;
    int fd = xconnect(sock_path);
    char *msg;

    /* A 3000-byte value: each reply is big, the queue fills fast. */
    memset(p, 'q', 3000);
    p[3000] = '\0';
    xs_write(wfd, "/robust/big", p);
    len = join(p, false, "/robust/big", NULL);
    msg = malloc(HDR + len);
    ck_assert_uint_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    end = now_ms() + 3000LL * scale;
    while (now_ms() < end) {
        h = (struct xsd_sockmsg){ XS_READ, sent, 0, len };
        memcpy(msg, &h, HDR);
        memcpy(msg + HDR, p, len);
        if (send(fd, msg, HDR + len, MSG_NOSIGNAL) != (ssize_t)(HDR + len))
            break;  /* the daemon stopped reading us: good */
        sent++;
        if (sent % 500 == 0)
            ping();
    }
    free(msg);
    ck_assert_msg(now_ms() < end, "xenstored kept reading a client that "
                  "never reads (%u requests)", sent);
    for (i = 0; i < 5; i++)
        ping();
    after_abuse();
    rss = daemon_rss_kb();
    ck_assert_msg(rss < 64 * 1024, "xenstored RSS %ld KiB", rss);
    /* All of them are answered, in order, once the client reads. */
    ck_assert_uint_eq(fcntl(fd, F_SETFL, 0), 0);
    for (i = 0; i < sent; i++) {
        ck_assert_int_eq(recv_msg(fd, &h, r, REPLY_MS * scale), 1);
        ck_assert_uint_eq(h.req_id, i);
        ck_assert_uint_eq(h.type, XS_READ);
        ck_assert_uint_eq(h.len, 3000);
    }
    close(fd);
}
END_TEST

START_TEST(test_many_connections)
{
    enum { N = 1000 };
    static int fds[N];
    char p[64], r[XENSTORE_PAYLOAD_MAX + 1];
    struct rlimit rl;
    unsigned int i, before;
    uint32_t len;

    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < N + 64 && rl.rlim_max >= N + 64) {
        rl.rlim_cur = N + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    ck_assert_uint_ge(rl.rlim_cur, N + 64);
    before = daemon_fds();
    len = join(p, false, "/robust/ping", NULL);
    for (i = 0; i < N; i++) {
        fds[i] = xconnect(sock_path);
        send_msg(fds[i], XS_READ, i, 0, p, len);
    }
    ping();
    for (i = 0; i < N; i++) {
        ck_assert_uint_eq(recv_reply(fds[i], i, r, NULL, NULL,
                                     REPLY_MS * scale), XS_READ);
    }
    ck_assert_uint_ge(daemon_fds(), before + N);
    for (i = 0; i < N; i++)
        close(fds[i]);
    after_abuse();
    /* Every closed connection was let go. */
    for (i = 0; i < 100 && daemon_fds() > before + 1; i++)
        sleep_ms(10 * scale);
    ck_assert_uint_le(daemon_fds(), before + 1);
}
END_TEST

/* INTRODUCE domid over dom0's socket; returns its socket's path. */
static void introduce(unsigned int domid, char *path, size_t size)
{
    char p[64], r[XENSTORE_PAYLOAD_MAX + 1], d[16];
    uint32_t len;

    snprintf(d, sizeof(d), "%u", domid);
    len = join(p, false, d, "4660", "3", NULL);
    ck_assert_uint_eq(request(wfd, XS_INTRODUCE, p, len, r), XS_INTRODUCE);
    snprintf(path, size, "%s/domains/%u", rundir, domid);
}

START_TEST(test_domain_socket)
{
    char path[128], p[128], r[XENSTORE_PAYLOAD_MAX + 1];
    struct stat st;
    uint32_t len;
    int dfd, dfd2;

    introduce(5, path, sizeof(path));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    dfd = xconnect(path);
    dfd2 = xconnect(path);

    /* Domain 5 is not privileged: dom0's nodes are out of its reach. */
    xs_write(wfd, "/robust/private", "secret");
    len = join(p, true, "/robust/private", "mine", NULL);
    ck_assert_uint_eq(request(dfd, XS_WRITE, p, len, r), XS_ERROR);
    ck_assert_str_eq(r, "EACCES");
    len = join(p, false, "5", "4660", "3", NULL);
    ck_assert_uint_eq(request(dfd2, XS_INTRODUCE, p, len, r), XS_ERROR);
    ck_assert_str_eq(r, "EACCES");
    xs_read_expect(wfd, "/robust/private", "secret");

    /* RELEASE closes the socket, removes it and drops its connections. */
    len = join(p, false, "5", NULL);
    ck_assert_uint_eq(request(wfd, XS_RELEASE, p, len, r), XS_RELEASE);
    ck_assert(closed_by_daemon(dfd, REPLY_MS * scale));
    ck_assert(closed_by_daemon(dfd2, REPLY_MS * scale));
    ck_assert_int_lt(stat(path, &st), 0);
    ck_assert_int_lt(try_connect(path), 0);
    close(dfd);
    close(dfd2);

    /* Introduced again, it gets a fresh socket. */
    introduce(5, path, sizeof(path));
    dfd = xconnect(path);
    len = join(p, false, "/robust/private", NULL);
    ck_assert_uint_eq(request(dfd, XS_READ, p, len, r), XS_ERROR);
    ck_assert_str_eq(r, "EACCES");
    close(dfd);
    after_abuse();
}
END_TEST

/*
 * Pipelines `max` reads of /robust/big in large writes until the socket
 * refuses more; returns how many went out whole.  Leaves fd non-blocking.
 */
static unsigned int flood_domain(int fd, unsigned int max)
{
    char p[64];
    struct xsd_sockmsg h;
    uint32_t len = join(p, false, "/robust/big", NULL);
    size_t one = HDR + len, total = one * max, off = 0;
    char *buf = malloc(total);
    unsigned int i;
    ssize_t r;

    ck_assert_ptr_nonnull(buf);
    for (i = 0; i < max; i++) {
        h = (struct xsd_sockmsg){ XS_READ, i, 0, len };
        memcpy(buf + i * one, &h, HDR);
        memcpy(buf + i * one + HDR, p, len);
    }
    ck_assert_uint_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    while (off < total) {
        r = send(fd, buf + off, total - off, MSG_NOSIGNAL);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    /* A message cut by the full socket stays unanswered: fine. */
    free(buf);
    return (unsigned int)(off / one);
}

START_TEST(test_outstanding_quota)
{
    char path[128], p[128], r[XENSTORE_PAYLOAD_MAX + 1], v[3001];
    struct xsd_sockmsg h;
    unsigned int sent0, sentd, in0, ind, i;
    uint32_t len;
    int dfd, fd0;

    memset(v, 'q', 3000);
    v[3000] = '\0';
    xs_write(wfd, "/robust/big", v);
    len = join(p, false, "/robust/big", "r0", NULL);
    ck_assert_uint_eq(request(wfd, XS_SET_PERMS, p, len, r), XS_SET_PERMS);
    introduce(7, path, sizeof(path));

    dfd = xconnect(path);
    fd0 = xconnect(sock_path);
    /* Both pipeline 2000 reads of 3000 bytes and read nothing. */
    sentd = flood_domain(dfd, 2000);
    sent0 = flood_domain(fd0, 2000);
    sleep_ms(300 * scale);
    ping();
    fprintf(stderr, "outstanding quota: dom0 sent %u, domain sent %u\n",
            sent0, sentd);
    /* The trace shows how many each had handled when it stalled. */
    in0 = 0;
    ind = 0;
    {
        char line[8192];
        FILE *f = fopen(trace_path, "r");

        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f)) {
            if (strncmp(line, "IN ", 3) || !strstr(line, "READ req") ||
                !strstr(line, "/robust/big"))
                continue;
            if (strstr(line, " dom 7 "))
                ind++;
            else if (strstr(line, " dom 0 "))
                in0++;
        }
        fclose(f);
    }
    fprintf(stderr, "outstanding quota: handled dom0 %u, domain %u\n", in0,
            ind);
    /*
     * Both stop being read once their replies back up; the domain much
     * earlier: at 20 replies not yet written, against dom0's 1 MiB queue
     * (about 340 replies of 3 KiB).
     */
    ck_assert_uint_lt(ind, sentd);
    ck_assert_uint_lt(in0, sent0);
    ck_assert_uint_lt(ind + 200, in0);
    /* Everything is answered, in order, once they read. */
    ck_assert_uint_eq(fcntl(dfd, F_SETFL, 0), 0);
    ck_assert_uint_eq(fcntl(fd0, F_SETFL, 0), 0);
    for (i = 0; i < sentd; i++) {
        ck_assert_int_eq(recv_msg(dfd, &h, r, REPLY_MS * scale), 1);
        ck_assert_uint_eq(h.req_id, i);
        ck_assert_uint_eq(h.len, 3000);
    }
    for (i = 0; i < sent0; i++) {
        ck_assert_int_eq(recv_msg(fd0, &h, r, REPLY_MS * scale), 1);
        ck_assert_uint_eq(h.req_id, i);
    }
    close(dfd);
    close(fd0);
    after_abuse();
}
END_TEST

START_TEST(test_trace_and_log_control)
{
    char p[512], r[XENSTORE_PAYLOAD_MAX + 1], other[128];
    uint32_t len;

    xs_write(wfd, "/robust/traced", "1");
    ping();
    ck_assert_uint_gt(trace_count("IN conn"), 0);
    ck_assert_uint_gt(trace_count("OUT conn"), 0);
    ck_assert_uint_gt(trace_count("/robust/traced"), 0);

    /* CONTROL logfile: the trace moves to another file. */
    snprintf(other, sizeof(other), "%s/trace2", rundir);
    len = join(p, false, "logfile", other, NULL);
    ck_assert_uint_eq(request(wfd, XS_CONTROL, p, len, r), XS_CONTROL);
    xs_write(wfd, "/robust/moved", "1");
    ping();
    ck_assert_uint_eq(trace_count("/robust/moved"), 0);
    {
        char save[128];

        snprintf(save, sizeof(save), "%s", trace_path);
        snprintf(trace_path, sizeof(trace_path), "%s", other);
        ck_assert_uint_gt(trace_count("/robust/moved"), 0);
        /* CONTROL log off / on. */
        len = join(p, false, "log", "off", NULL);
        ck_assert_uint_eq(request(wfd, XS_CONTROL, p, len, r), XS_CONTROL);
        xs_write(wfd, "/robust/untraced", "1");
        ping();
        ck_assert_uint_eq(trace_count("/robust/untraced"), 0);
        len = join(p, false, "log", "on", NULL);
        ck_assert_uint_eq(request(wfd, XS_CONTROL, p, len, r), XS_CONTROL);
        xs_write(wfd, "/robust/retraced", "1");
        ping();
        ck_assert_uint_gt(trace_count("/robust/retraced"), 0);
        len = join(p, false, "log", "sideways", NULL);
        ck_assert_uint_eq(request(wfd, XS_CONTROL, p, len, r), XS_ERROR);

        /* SIGHUP reopens the trace by name (log rotation). */
        snprintf(p, sizeof(p), "%s.1", trace_path);
        ck_assert_int_eq(rename(trace_path, p), 0);
        ck_assert_int_eq(kill(daemon_pid, SIGHUP), 0);
        sleep_ms(100 * scale);
        xs_write(wfd, "/robust/rotated", "1");
        ping();
        ck_assert_uint_gt(trace_count("/robust/rotated"), 0);
        snprintf(trace_path, sizeof(trace_path), "%s", save);
    }
    after_abuse();
}
END_TEST

/* ------------------------------------------------------------ lifecycle */

START_TEST(test_second_daemon_refused)
{
    char cmd[1024];
    const char *bin = getenv("XENSTORED_BIN");
    int rc;

    if (!bin)
        bin = "../../xenstored/xenstored";
    snprintf(cmd, sizeof(cmd), "XENSTORED_RUNDIR='%s' '%s' -N "
             "2>/dev/null", rundir, bin);
    rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 1,
                  "second daemon: status 0x%x", rc);
    /* The first one still owns its socket. */
    after_abuse();
}
END_TEST

static pid_t read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    long pid = -1;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

START_TEST(test_daemonise_and_startup_time)
{
    char dir[96], sock[128], pidf[128], cmd[1024];
    const char *bin = getenv("XENSTORED_BIN");
    long long t0, t;
    pid_t pid;
    int rc, fd, i;

    if (!bin)
        bin = "../../xenstored/xenstored";
    /* Stop the fixture's daemon: this test runs its own. */
    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, NULL, 0);
    daemon_gone = true;

    snprintf(dir, sizeof(dir), "%s/bg", rundir);
    snprintf(sock, sizeof(sock), "%s/socket", dir);
    snprintf(pidf, sizeof(pidf), "%s/pid", rundir);
    snprintf(cmd, sizeof(cmd), "XENSTORED_RUNDIR='%s' '%s' -F '%s'", dir,
             bin, pidf);
    /* Without -N: when the parent returns, the socket already accepts. */
    t0 = now_ms();
    rc = system(cmd);
    t = now_ms() - t0;
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "status 0x%x", rc);
    fd = try_connect(sock);
    ck_assert_msg(fd >= 0, "socket not accepting after the parent returned");
    close(fd);
    fprintf(stderr, "daemonised start (shell + fork + ready): %lld ms\n",
            t);
    pid = read_pid(pidf);
    ck_assert_int_eq(kill(pid, 0), 0);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    for (i = 0; i < 1000 && kill(pid, 0) == 0; i++)
        sleep_ms(5);
    ck_assert_int_ne(kill(pid, 0), 0);
    ck_assert_int_lt(access(sock, F_OK), 0);
    ck_assert_int_lt(access(pidf, F_OK), 0);

    /*
     * Foreground: exec to accepting, 21 times.  The median must be under
     * 100 ms (a busy machine may stretch a single run).
     */
    {
        long long times[21], sum = 0, tmp;
        int j;

        for (i = 0; i < 21; i++) {
            pid_t p;

            t0 = now_ms();
            p = fork();
            ck_assert_int_ge(p, 0);
            if (p == 0) {
                setenv("XENSTORED_RUNDIR", dir, 1);
                execl(bin, bin, "-N", (char *)NULL);
                _exit(127);
            }
            while ((fd = try_connect(sock)) < 0) {
                ck_assert_msg(now_ms() - t0 < 5000 * scale, "no socket");
                usleep(200);
            }
            times[i] = now_ms() - t0;
            close(fd);
            sum += times[i];
            kill(p, SIGTERM);
            waitpid(p, &rc, 0);
            ck_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
        }
        for (i = 1; i < 21; i++)
            for (j = i; j > 0 && times[j - 1] > times[j]; j--) {
                tmp = times[j];
                times[j] = times[j - 1];
                times[j - 1] = tmp;
            }
        fprintf(stderr, "start-up (exec to accepting): median %lld ms, "
                "mean %lld ms, worst %lld ms\n", times[10], sum / 21,
                times[20]);
        ck_assert_msg(times[10] < 100LL * scale, "start-up took %lld ms",
                      times[10]);
    }
}
END_TEST

START_TEST(test_stale_socket_replaced)
{
    /* SIGKILL leaves the socket behind; the next daemon takes it over. */
    kill(daemon_pid, SIGKILL);
    waitpid(daemon_pid, NULL, 0);
    ck_assert_int_eq(access(sock_path, F_OK), 0);
    close(wfd);
    start_daemon();
    wfd = xconnect(sock_path);
    after_abuse();
}
END_TEST

static Suite *robust_suite(void)
{
    Suite *s = suite_create("xenstored-robustness");
    TCase *tc;

    tc = tcase_create("malformed");
    tcase_set_tags(tc, "valgrind");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bad_type);
    tcase_add_test(tc, test_oversized_length);
    tcase_add_test(tc, test_unterminated_strings);
    tcase_add_test(tc, test_partial_messages);
    tcase_add_test(tc, test_disconnect_mid_message);
    tcase_add_test(tc, test_garbage);
    suite_add_tcase(s, tc);

    tc = tcase_create("slow-clients");
    tcase_set_tags(tc, "valgrind");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_never_reads_events);
    tcase_add_test(tc, test_never_reads_replies);
    tcase_add_test(tc, test_outstanding_quota);
    suite_add_tcase(s, tc);

    tc = tcase_create("many");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_many_connections);
    suite_add_tcase(s, tc);

    tc = tcase_create("domains");
    tcase_set_tags(tc, "valgrind");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_domain_socket);
    tcase_add_test(tc, test_trace_and_log_control);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_second_daemon_refused);
    tcase_add_test(tc, test_daemonise_and_startup_time);
    tcase_add_test(tc, test_stale_socket_replaced);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    char cmd[64];
    int failed;

    snprintf(base_dir, sizeof(base_dir), "/tmp/xs-robust-XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 99;
    }
    sr = srunner_create(robust_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base_dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
