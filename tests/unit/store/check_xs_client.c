/*
 * check_xs_client.c: our xenstore tools against Debian's xenstore-utils.
 * Each test runs one sequence of commands twice against the same daemon
 * (ours, from tests/host): first with our tools from the build tree,
 * then, after removing what the first run created, with Debian's tools
 * from /usr/bin.  Exit codes, stdout, stderr and the resulting store
 * content must be identical.
 *
 * Skipped (exit 77) when Debian's xenstore-utils are not installed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "testhost.h"

#define DEBIAN_BIN "/usr/bin"
#define DEBIAN_CONTROL "/usr/lib/xen-4.17/bin/xenstore-control"

/* A growing text buffer. */
struct text {
    char *s;
    size_t len;
};

__attribute__((format(printf, 2, 3)))
static void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    t->s = realloc(t->s, t->len + (size_t)n + 1);
    ck_assert_ptr_nonnull(t->s);
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void text_add(struct text *t, const char *data, size_t len)
{
    t->s = realloc(t->s, t->len + len + 1);
    ck_assert_ptr_nonnull(t->s);
    memcpy(t->s + t->len, data, len);
    t->len += len;
    t->s[t->len] = '\0';
}

/* When non-zero, stdout is a terminal of this many columns (for ls). */
static unsigned short pty_cols;

/* Called once the tool printed its first line (used by watch steps). */
typedef void (*first_line_fn)(void);

/*
 * Runs `path` with argv (argv[0] is the name the tool runs under) and
 * appends "rc", stdout and stderr to *tr.
 */
static void run(struct text *tr, const char *path, char *const argv[],
                first_line_fn on_first_line)
{
    int out[2], err[2], status, open_fds = 2;
    struct text o = { 0 }, e = { 0 };
    bool first = on_first_line == NULL;
    pid_t pid;

    if (pty_cols) {
        struct winsize ws = { .ws_row = 25, .ws_col = pty_cols };

        ck_assert_int_eq(openpty(&out[0], &out[1], NULL, NULL, &ws), 0);
        fcntl(out[0], F_SETFD, FD_CLOEXEC);
        fcntl(out[1], F_SETFD, FD_CLOEXEC);
    } else {
        ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    }
    ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);

        dup2(null, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        execv(path, argv);
        _exit(126);
    }
    close(out[1]);
    close(err[1]);
    while (open_fds > 0) {
        struct pollfd p[2] = {
            { .fd = out[0], .events = POLLIN },
            { .fd = err[0], .events = POLLIN },
        };
        char buf[4096];
        int i;

        ck_assert_int_ge(poll(p, 2, 20000), 1);
        for (i = 0; i < 2; i++) {
            ssize_t n;

            if (p[i].fd < 0 || !p[i].revents)
                continue;
            n = read(p[i].fd, buf, sizeof(buf));
            if (n <= 0) {
                close(p[i].fd);
                if (i == 0)
                    out[0] = -1;
                else
                    err[0] = -1;
                open_fds--;
                continue;
            }
            text_add(i ? &e : &o, buf, (size_t)n);
        }
        if (!first && o.len && memchr(o.s, '\n', o.len)) {
            first = true;
            on_first_line();
        }
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    text_printf(tr, "rc=%d\n--- stdout\n%s--- stderr\n%s---\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status),
                o.s ? o.s : "", e.s ? e.s : "");
    free(o.s);
    free(e.s);
}

/* Which tools a sequence runs with. */
enum side { OURS, DEBIAN };

/* Base of the test's nodes; "@" at the start of an argument stands for it. */
static char base[256];

/*
 * Runs one command: `tool` is the program name ("xenstore-read" or
 * "xenstore"), args a NULL-terminated list.
 */
static void cmd(struct text *tr, enum side side, const char *tool,
                const char *const *args, first_line_fn fn)
{
    char *argv[32], path[512];
    int n = 0, i;

    if (side == OURS)
        snprintf(path, sizeof(path), "%s/%s", XS_TOOLS_DIR, tool);
    else if (strcmp(tool, "xenstore-control") == 0)
        snprintf(path, sizeof(path), "%s", DEBIAN_CONTROL);
    else
        snprintf(path, sizeof(path), "%s/%s", DEBIAN_BIN, tool);
    argv[n++] = (char *)tool;
    text_printf(tr, "$ %s", tool);
    for (i = 0; args[i]; i++) {
        if (args[i][0] == '@') {
            ck_assert_int_ge(asprintf(&argv[n], "%s%s", base, args[i] + 1),
                             0);
        } else {
            argv[n] = strdup(args[i]);
        }
        text_printf(tr, " %s", argv[n]);
        n++;
    }
    argv[n] = NULL;
    text_printf(tr, "\n");
    run(tr, path, argv, fn);
    for (i = 1; i < n; i++)
        free(argv[i]);
}

#define CMD(tool, ...)                                                     \
    cmd(tr, side, tool, (const char *const[]){ __VA_ARGS__, NULL }, NULL)
#define CMD0(tool) cmd(tr, side, tool, (const char *const[]){ NULL }, NULL)

/* Appends every node below `path`: name, value and permissions. */
static void dump(struct text *tr, struct xs_handle *h, const char *path)
{
    unsigned int num, len, np, i, j;
    struct xs_permissions *p;
    char **d, *v;

    v = xs_read(h, XBT_NULL, path, &len);
    p = xs_get_permissions(h, XBT_NULL, path, &np);
    text_printf(tr, "%s len=%u [", path, v ? len : 0);
    if (v)
        text_add(tr, v, len);
    text_printf(tr, "] perms");
    for (j = 0; p && j < np; j++)
        text_printf(tr, " %u:%u", p[j].id, p[j].perms);
    text_printf(tr, "\n");
    free(v);
    free(p);
    d = xs_directory(h, XBT_NULL, path, &num);
    for (i = 0; d && i < num; i++) {
        char *child;

        ck_assert_int_ge(asprintf(&child, "%s/%s", path, d[i]), 0);
        dump(tr, h, child);
        free(child);
    }
    free(d);
}

/*
 * Gives base's ancestors dom0-only permissions again: chmod -u changes
 * them, and new nodes inherit from their parent.
 */
static void reset_ancestors(struct xs_handle *h)
{
    struct xs_permissions p = { 0, XS_PERM_NONE };
    char *path = strdup(base), *slash;

    ck_assert(xs_mkdir(h, XBT_NULL, base));
    while ((slash = strrchr(path, '/')) != NULL && slash != path) {
        *slash = '\0';
        ck_assert(xs_set_permissions(h, XBT_NULL, path, &p, 1));
    }
    free(path);
    ck_assert(xs_rm(h, XBT_NULL, base));
}

typedef void (*sequence_fn)(struct text *tr, enum side side);

/* Runs `seq` with both tool sets and compares the transcripts. */
static void compare(sequence_fn seq)
{
    struct text tr[2] = { { 0 }, { 0 } };
    struct xs_handle *h = xs_open(0);
    const char *a, *b;
    int line = 1, s;

    ck_assert_ptr_nonnull(h);
    test_host_xs_path(base, sizeof(base), "c");
    for (s = 0; s < 2; s++) {
        xs_rm(h, XBT_NULL, base);
        reset_ancestors(h);
        seq(&tr[s], s == 0 ? OURS : DEBIAN);
        text_printf(&tr[s], "=== store\n");
        dump(&tr[s], h, base);
    }
    xs_rm(h, XBT_NULL, base);
    xs_close(h);

    for (a = tr[0].s, b = tr[1].s; *a && *a == *b; a++, b++)
        if (*a == '\n')
            line++;
    if (getenv("XS_TEST_TRANSCRIPT"))
        fprintf(stderr, "%s", tr[0].s);
    if (*a || *b) {
        fprintf(stderr, "---- ours:\n%s\n---- debian:\n%s\n", tr[0].s,
                tr[1].s);
        ck_abort_msg("transcripts differ at line %d: ours \"%.60s\" vs "
                     "debian \"%.60s\"", line, a, b);
    }
    free(tr[0].s);
    free(tr[1].s);
}

/* ----------------------------------------------------------- sequences */

static void seq_read_write(struct text *tr, enum side side)
{
    CMD("xenstore-write", "@/a", "1", "@/b/c", "two words");
    CMD("xenstore-write", "@/esc", "tab\\there\\nnl\\\\bs\\x01\\177\\x7f");
    CMD("xenstore-write", "@/trail", "end\\");
    CMD("xenstore-write", "-R", "@/raw", "raw\\x41\\n");
    CMD("xenstore-write", "-s", "@/s", "socket");
    CMD("xenstore-read", "@/a");
    CMD("xenstore-read", "-p", "@/a", "@/b/c", "@/b");
    CMD("xenstore-read", "@/esc");
    CMD("xenstore-read", "-R", "@/esc");
    CMD("xenstore-read", "@/trail");
    CMD("xenstore-read", "@/raw");
    CMD("xenstore-read", "-s", "-R", "@/raw");
    CMD("xenstore-read", "@/missing");
    CMD("xenstore-read", "@/a", "@/missing", "@/b/c");
    CMD("xenstore-read", "/bad//path");
    CMD("xenstore-write", "@/odd");
    CMD("xenstore-write", "@/x", "1", "@/y");
    CMD("xenstore-write", "/bad//path", "v");
    CMD("xenstore", "read", "@/a");
    CMD("xenstore", "write", "@/viamode", "m");
    CMD("xenstore", "read", "-p", "@/viamode");
}

static void seq_list_exists_rm(struct text *tr, enum side side)
{
    CMD("xenstore-write", "@/d/one", "1", "@/d/two", "2", "@/d/three/x",
        "3");
    CMD("xenstore-list", "@/d");
    CMD("xenstore-list", "-p", "@/d");
    CMD("xenstore-list", "-s", "@/d/one");
    CMD("xenstore-list", "@/d", "@/d/three");
    CMD("xenstore-list", "@/missing");
    CMD("xenstore-list", "-p", "/");
    CMD("xenstore-exists", "@/d/one");
    CMD("xenstore-exists", "@/d/missing");
    CMD("xenstore-exists", "@/d/one", "@/d/missing");
    CMD("xenstore-rm", "@/d/one");
    CMD("xenstore-rm", "@/d/missing");
    CMD("xenstore-rm", "@/nothere/deeper");
    CMD("xenstore-exists", "@/d/one");
    /* -t removes emptied parents without values. */
    CMD("xenstore-write", "@/t/p/q/r", "leaf", "@/t/keep", "k");
    CMD("xenstore-rm", "-t", "@/t/p/q/r");
    CMD("xenstore-list", "@/t");
    CMD("xenstore-write", "@/t2/valued", "v");
    CMD("xenstore-write", "@/t2/valued/child", "c");
    CMD("xenstore-rm", "-t", "@/t2/valued/child");
    CMD("xenstore-rm", "-t", "@/t3/missing");
    CMD("xenstore", "rm", "@/d/two");
    CMD("xenstore", "list", "@/d");
    CMD("xenstore", "exists", "@/d");
}

static void seq_ls(struct text *tr, enum side side)
{
    static char longv[160];

    memset(longv, 'L', sizeof(longv) - 1);
    CMD("xenstore-write", "@/top", "t", "@/top/mid/leaf", "value",
        "@/top/empty", "", "@/top/bin", "\\x01\\x02\\t",
        "@/top/averyveryveryveryveryveryveryveryveryveryverylongname",
        "short");
    CMD("xenstore-write", "@/top/long", longv);
    CMD("xenstore-write", "@/top/mid/longer", "abcdefghijklmnopqrstuvwxyz"
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefgh");
    CMD("xenstore-chmod", "@/top/mid", "b3", "r4");
    CMD("xenstore-ls", "@/top");
    CMD("xenstore-ls", "-p", "@/top");
    CMD("xenstore-ls", "-f", "@/top");
    CMD("xenstore-ls", "-f", "-p", "@/top");
    CMD("xenstore-ls", "-s", "@/top/");
    CMD("xenstore-ls", "@/top/mid", "@/top/mid/leaf");
    CMD("xenstore-ls", "@/missing");
    CMD0("xenstore-ls");
    CMD("xenstore-ls", "-p");
    CMD("xenstore", "ls", "-f", "@/top/mid");
    /* On a terminal the width comes from it. */
    for (pty_cols = 1; pty_cols <= 121; pty_cols += 40) {
        text_printf(tr, "[terminal of %u columns]\n", pty_cols);
        CMD("xenstore-ls", "@/top");
        CMD("xenstore-ls", "-p", "@/top");
        CMD("xenstore-ls", "-f", "-p", "@/top");
    }
    pty_cols = 0;
}

static void seq_chmod(struct text *tr, enum side side)
{
    CMD("xenstore-write", "@/m/a/b/c", "1", "@/m/a/x", "2");
    CMD("xenstore-chmod", "@/m/a", "r1");
    CMD("xenstore-ls", "-p", "@/m");
    CMD("xenstore-chmod", "-r", "@/m/a", "b2", "n3", "w4");
    CMD("xenstore-ls", "-p", "@/m");
    CMD("xenstore-chmod", "-u", "@/m/a/b/c", "n5");
    CMD("xenstore-ls", "-p", "@/m");
    CMD("xenstore-chmod", "-s", "@/m/a/x", "b0");
    CMD("xenstore-chmod", "@/m/a", "z1");
    CMD("xenstore-chmod", "@/m/missing", "r1");
    CMD("xenstore-chmod", "@/m/a");
    CMD0("xenstore-chmod");
    CMD("xenstore", "chmod", "@/m", "r9");
    CMD("xenstore-ls", "-p", "@/m");
}

static void seq_usage(struct text *tr, enum side side)
{
    static const char *const tools[] = {
        "xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-list",
        "xenstore-rm", "xenstore-chmod", "xenstore-exists", "xenstore-watch",
    };
    static const char *const modes[] = {
        "read", "write", "ls", "list", "rm", "chmod", "exists", "watch",
    };
    size_t i;

    for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        CMD(tools[i], "-h");
        CMD(tools[i], "--help");
        CMD(tools[i], "-Z", "-h");
        CMD(tools[i], "-p", "-R", "-t", "-u", "-f", "@/x");
        CMD(tools[i], "-n", "2", "-r", "@/x");
        CMD(tools[i], "--raw", "--prefix", "@/x");
        CMD(tools[i], "--bogus");
        CMD("xenstore", modes[i], "-h");
        CMD("xenstore", modes[i], "-f");
    }
    CMD0("xenstore-read");
    CMD0("xenstore-write");
    CMD0("xenstore-rm");
    CMD0("xenstore-watch");
    CMD0("xenstore");
    CMD("xenstore", "-h");
    CMD("xenstore", "bogus");
    CMD("xenstore", "read");
    CMD("xenstore-list", "-n");
    CMD("xenstore", "read", "-Z", "@/x");
    CMD("xenstore", "write", "--number=3", "@/x", "v");
    CMD("xenstore-watch", "--number");
}

static void seq_control(struct text *tr, enum side side)
{
    CMD0("xenstore-control");
    CMD("xenstore-control", "help");
    CMD("xenstore-control", "print", "hello from the test");
    CMD("xenstore-control", "no-such-command", "arg");
    CMD("xenstore-control", "live-update");
    CMD("xenstore-control", "live-update", "-c");
    CMD("xenstore-control", "live-update", "-t");
}

/* Watch: the initial event, then changes made while the tool runs. */
static void make_changes(void)
{
    struct xs_handle *h = xs_open(0);
    char p[300];

    ck_assert_ptr_nonnull(h);
    snprintf(p, sizeof(p), "%s/w/one", base);
    ck_assert(xs_write(h, XBT_NULL, p, "1", 1));
    snprintf(p, sizeof(p), "%s/other", base);
    ck_assert(xs_write(h, XBT_NULL, p, "x", 1));
    snprintf(p, sizeof(p), "%s/w/two/deep", base);
    ck_assert(xs_write(h, XBT_NULL, p, "2", 1));
    snprintf(p, sizeof(p), "%s/w/one", base);
    ck_assert(xs_rm(h, XBT_NULL, p));
    xs_close(h);
}

static void seq_watch(struct text *tr, enum side side)
{
    CMD("xenstore-write", "@/w", "");
    CMD("xenstore-watch", "-n", "1", "@/w");
    CMD("xenstore-watch", "-n", "1", "-s", "@/w/not-yet");
    CMD("xenstore", "watch", "-n", "1", "@/w");
    cmd(tr, side, "xenstore-watch",
        (const char *const[]){ "-n", "4", "@/w", NULL }, make_changes);
    CMD("xenstore-watch", "-n", "0", "@/w");
    CMD("xenstore-watch", "-n", "1", "/bad//path");
}

static void seq_no_daemon(struct text *tr, enum side side)
{
    const char *saved = getenv("XENSTORED_PATH");
    char *keep = saved ? strdup(saved) : NULL;

    setenv("XENSTORED_PATH", "/nonexistent/xenstored/socket", 1);
    CMD("xenstore-read", "/a");
    CMD("xenstore-ls", "/");
    CMD("xenstore-write", "/a", "b");
    CMD("xenstore-control", "help");
    if (keep) {
        setenv("XENSTORED_PATH", keep, 1);
        free(keep);
    }
}

START_TEST(test_read_write)
{
    compare(seq_read_write);
}
END_TEST

START_TEST(test_list_exists_rm)
{
    compare(seq_list_exists_rm);
}
END_TEST

START_TEST(test_ls)
{
    compare(seq_ls);
}
END_TEST

START_TEST(test_chmod)
{
    compare(seq_chmod);
}
END_TEST

START_TEST(test_usage)
{
    compare(seq_usage);
}
END_TEST

START_TEST(test_control)
{
    if (access(DEBIAN_CONTROL, X_OK) != 0)
        return; /* xen-utils-4.17 absent: nothing to compare with */
    compare(seq_control);
}
END_TEST

START_TEST(test_watch)
{
    compare(seq_watch);
}
END_TEST

START_TEST(test_no_daemon)
{
    compare(seq_no_daemon);
}
END_TEST

/* Our links all run the one program. */
START_TEST(test_links)
{
    static const char *const names[] = {
        "xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-list",
        "xenstore-rm", "xenstore-chmod", "xenstore-exists",
        "xenstore-watch", "xenstore-control",
    };
    char path[512], target[512];
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ssize_t n;

        snprintf(path, sizeof(path), "%s/%s", XS_TOOLS_DIR, names[i]);
        n = readlink(path, target, sizeof(target) - 1);
        ck_assert_msg(n > 0, "%s: %s", path, strerror(errno));
        target[n] = '\0';
        ck_assert_str_eq(target, "xenstore");
    }
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("xenstore-client");
    TCase *tc = tcase_create("vs-debian");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_read_write);
    tcase_add_test(tc, test_list_exists_rm);
    tcase_add_test(tc, test_ls);
    tcase_add_test(tc, test_chmod);
    tcase_add_test(tc, test_usage);
    tcase_add_test(tc, test_control);
    tcase_add_test(tc, test_watch);
    tcase_add_test(tc, test_no_daemon);
    tcase_add_test(tc, test_links);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    static const struct test_host_opts opts = {
        .what = TEST_HOST_XENSTORED,
    };
    struct test_host d;
    SRunner *sr;
    int failed;

    if (access(DEBIAN_BIN "/xenstore-read", X_OK) != 0) {
        fprintf(stderr, "check_xs_client: %s/xenstore-read missing "
                "(Debian xenstore-utils): skipped\n", DEBIAN_BIN);
        return 77;
    }
    if (test_host_start(&d, &opts) < 0) {
        fprintf(stderr, "check_xs_client: cannot start xenstored: %s\n",
                d.err);
        return 1;
    }
    sr = srunner_create(client_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_host_stop(&d);
    return failed ? 1 : 0;
}
