/*
 * testhost.c - start and stop a test's private xenstored and xenolithd.
 */
#include "testhost.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR_PREFIX "/tmp/xenolith-test-"
#define WAIT_MS 10000
#define WRAPPED_WAIT_MS 30000
#define MAX_ARGS 32

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* A daemon's binary: from the environment (make check sets it), else
 * for xenstored what the test was built with (-DXENSTORED_BIN). */
static const char *bin(const char *env)
{
    const char *b = getenv(env);

    if (b && *b)
        return b;
#ifdef XENSTORED_BIN
    if (!strcmp(env, "XENSTORED_BIN"))
        return XENSTORED_BIN;
#endif
    return NULL;
}

void test_host_require(unsigned int what, bool kvm)
{
    static const struct {
        unsigned int bit;
        const char *env;
    } bins[] = {
        { TEST_HOST_XENSTORED, "XENSTORED_BIN" },
        { TEST_HOST_CORE, "XENOLITHD" },
    };
    unsigned int i;
    int fd;

    if (kvm) {
        fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            printf("SKIP: /dev/kvm: %s (this test runs guests on the "
                   "core's KVM)\n", strerror(errno));
            exit(77);
        }
        close(fd);
    }
    for (i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
        const char *b = bin(bins[i].env);

        if ((what & bins[i].bit) && (!b || access(b, X_OK) < 0)) {
            printf("SKIP: %s not set or not executable\n", bins[i].env);
            exit(77);
        }
    }
}

const char *test_host_guest(const char *name)
{
    static char path[512];
    const char *dir = getenv("GUEST_DIR");

    snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
    return path;
}

void test_host_xs_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "/xs-test/%d/%s", (int)getpid(), name);
}

/* ------------------------------------------------------------ sockets */

/* Whether a daemon accepts on the unix socket path (xenstored's is a
 * stream socket, the core's a seqpacket one).  The file exists from
 * bind(), but connect is refused until listen(). */
static bool accepts(const char *path)
{
    static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    unsigned int i;
    bool ok = false;
    int fd;

    if (strlen(path) >= sizeof(a.sun_path))
        return false;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    for (i = 0; i < sizeof(types) / sizeof(types[0]) && !ok; i++) {
        fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
    }
    return ok;
}

/* The last line of a daemon's log, for a start that failed. */
static void log_tail(const char *path, char *buf, size_t len)
{
    char chunk[512], *nl;
    size_t n;
    long size;
    FILE *f = fopen(path, "re");

    buf[0] = '\0';
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, size > (long)sizeof(chunk) - 1 ?
             size - ((long)sizeof(chunk) - 1) : 0, SEEK_SET);
    n = fread(chunk, 1, sizeof(chunk) - 1, f);
    fclose(f);
    chunk[n] = '\0';
    while (n && chunk[n - 1] == '\n')
        chunk[--n] = '\0';
    nl = strrchr(chunk, '\n');
    nl = nl ? nl + 1 : chunk;
    n = strlen(nl);
    if (n >= len)
        n = len - 1;
    memcpy(buf, nl, n);
    buf[n] = '\0';
}

/* The last line of what a daemon said: its log, else its stderr. */
static void said(const struct test_host *h, const char *name, char *buf,
                 size_t len)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/%s.log", h->dir, name);
    log_tail(path, buf, len);
    if (!buf[0]) {
        snprintf(path, sizeof(path), "%s/%s.stderr", h->dir, name);
        log_tail(path, buf, len);
    }
}

/* Waits for path to accept while pid (our child, or 0) lives. */
static int wait_accepts(struct test_host *h, const char *name, pid_t pid,
                        const char *path, int ms)
{
    char tail[300], log[128];
    int status, waited;

    snprintf(log, sizeof(log), "%s/%s.log", h->dir, name);
    for (waited = 0; waited < ms; waited += 10) {
        if (accepts(path))
            return 0;
        if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
            said(h, name, tail, sizeof(tail));
            snprintf(h->err, sizeof(h->err), "%s exited (status %#x) "
                     "before accepting on %s: %s", name, status, path,
                     tail);
            return -EIO;
        }
        nap_ms(10);
    }
    snprintf(h->err, sizeof(h->err), "%s: nothing accepts on %s after "
             "%d ms (see %s)", name, path, ms, log);
    return -ETIMEDOUT;
}

/* ------------------------------------------------------------ registry */

/* The host this process started last: stopped at exit should a test
 * end before its teardown, but only by the process that started it (a
 * test forked after a start in main() exits too). */
static struct test_host *current;
static pid_t current_owner;

static void stop_current(void)
{
    if (current && getpid() == current_owner)
        test_host_stop(current);
}

static void note_pid(pid_t pid, const char *dir)
{
    const char *reg = getenv("XENOLITH_TEST_REGISTRY");
    char path[300];
    FILE *f;

    if (!reg || pid <= 0)
        return;
    snprintf(path, sizeof(path), "%s/%d", reg, (int)pid);
    f = fopen(path, "we");
    if (f) {
        fputs(dir, f);
        fclose(f);
    }
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, cap, f);
        fclose(f);
    }
    return n;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void test_host_sweep(void)
{
    const char *reg = getenv("XENOLITH_TEST_REGISTRY");
    char path[300], buf[4096];
    struct dirent *de;
    DIR *d;
    size_t n;
    int pid;

    if (!reg || !(d = opendir(reg)))
        return;
    while ((de = readdir(d)) != NULL) {
        pid = atoi(de->d_name);
        if (pid <= 0)
            continue;
        /* only if it still is one of ours: its command line (xenolithd)
         * or environment (xenstored) names one of our run directories */
        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        n = read_file(path, buf, sizeof(buf) / 2);
        snprintf(path, sizeof(path), "/proc/%d/environ", pid);
        n += read_file(path, buf + n, sizeof(buf) - n);
        if (memmem(buf, n, DIR_PREFIX, strlen(DIR_PREFIX)))
            kill(pid, SIGKILL);
        snprintf(path, sizeof(path), "%s/%s", reg, de->d_name);
        n = read_file(path, buf, 200);
        buf[n] = '\0';
        if (!strncmp(buf, DIR_PREFIX, strlen(DIR_PREFIX)) &&
            !strstr(buf, ".."))
            rm_tree(buf);
    }
    closedir(d);
    rm_tree(reg);
}

void test_host_registry(void)
{
    char reg[] = DIR_PREFIX "reg-XXXXXX";

    if (mkdtemp(reg))
        setenv("XENOLITH_TEST_REGISTRY", reg, 1);
}

/* ------------------------------------------------------------ start */

/* Runs argv with stdin/stdout on /dev/null and stderr into errlog; it
 * dies with this process (a test that crashed leaves no daemon). */
static pid_t spawn_after(const char *const *argv, const char *errlog,
                         int delay_ms)
{
    pid_t pid = fork();

    if (pid == 0) {
        if (delay_ms > 0)
            usleep((useconds_t)delay_ms * 1000);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0600);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static pid_t spawn(const char *const *argv, const char *errlog)
{
    return spawn_after(argv, errlog, 0);
}

static int start_xenstored(struct test_host *h,
                           const struct test_host_opts *o, int delay_ms)
{
    const char *ext = getenv("XS_TEST_XENSTORED_PATH");
    const char *argv[MAX_ARGS];
    char rundir[128], sock[160], log[128], err[128];
    unsigned int n = 0, i;

    if (ext && *ext) {
        if (!accepts(ext)) {
            snprintf(h->err, sizeof(h->err), "XS_TEST_XENSTORED_PATH=%s: "
                     "no xenstored accepts on that socket", ext);
            return -ECONNREFUSED;
        }
        setenv("XENSTORED_PATH", ext, 1);
        h->external_xenstored = true;
        return 0;
    }
    snprintf(rundir, sizeof(rundir), "%s/xenstored", h->dir);
    snprintf(sock, sizeof(sock), "%s/socket", rundir);
    snprintf(log, sizeof(log), "%s/xenstored.log", h->dir);
    snprintf(err, sizeof(err), "%s/xenstored.stderr", h->dir);
    argv[n++] = bin("XENSTORED_BIN");
    argv[n++] = "-N";
    argv[n++] = "-L";
    argv[n++] = log;
    for (i = 0; o->xenstored_args && o->xenstored_args[i] &&
                n < MAX_ARGS - 3; i++)
        argv[n++] = o->xenstored_args[i];
    if (o->snapshot) {
        snprintf(h->snapshot, sizeof(h->snapshot), "%s/store.snapshot",
                 h->dir);
        argv[n++] = "--snapshot";
        argv[n++] = h->snapshot;
    }
    argv[n] = NULL;
    if (!argv[0]) {
        snprintf(h->err, sizeof(h->err), "XENSTORED_BIN is not set");
        return -ENOENT;
    }
    h->xenstored = spawn_after(argv, err, delay_ms);
    if (h->xenstored < 0) {
        h->xenstored = 0;
        snprintf(h->err, sizeof(h->err), "fork for xenstored: %s",
                 strerror(errno));
        return -errno;
    }
    note_pid(h->xenstored, h->dir);
    if (delay_ms > 0)
        return 0;
    return wait_accepts(h, "xenstored", h->xenstored, sock, WAIT_MS);
}

static int start_core(struct test_host *h, const struct test_host_opts *o)
{
    const char *argv[MAX_ARGS];
    char sock[128], log[128], err[128], pidfile[128], tail[300];
    unsigned int n = 0, i;
    int status, pid = 0;
    pid_t child;
    FILE *f;

    snprintf(sock, sizeof(sock), "%s/core.sock", h->dir);
    snprintf(log, sizeof(log), "%s/xenolithd.log", h->dir);
    snprintf(err, sizeof(err), "%s/xenolithd.stderr", h->dir);
    unsetenv("XENOLITH_CORE_SOCKET");
    for (i = 0; o->core_wrapper && o->core_wrapper[i] && n < MAX_ARGS - 8;
         i++)
        argv[n++] = o->core_wrapper[i];
    argv[n++] = bin("XENOLITHD");
    if (!argv[n - 1]) {
        snprintf(h->err, sizeof(h->err), "XENOLITHD is not set");
        return -ENOENT;
    }
    if (o->core_wrapper)
        argv[n++] = "-F";
    argv[n++] = "--rundir";
    argv[n++] = h->dir;
    argv[n++] = "--log-file";
    argv[n++] = log;
    argv[n] = NULL;
    child = spawn(argv, err);
    if (child < 0) {
        snprintf(h->err, sizeof(h->err), "fork for xenolithd: %s",
                 strerror(errno));
        return -errno;
    }
    if (o->core_wrapper) {
        /* in the foreground under its wrapper, which starts slowly */
        h->core = child;
        h->core_child = true;
        note_pid(child, h->dir);
        return wait_accepts(h, "xenolithd", child, sock, WRAPPED_WAIT_MS);
    }
    /* it forks into the background once it listens */
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        said(h, "xenolithd", tail, sizeof(tail));
        snprintf(h->err, sizeof(h->err), "xenolithd did not start (status "
                 "%#x): %s", status, tail);
        return -EIO;
    }
    snprintf(pidfile, sizeof(pidfile), "%s/xenolithd.pid", h->dir);
    f = fopen(pidfile, "re");
    if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0) {
        if (f)
            fclose(f);
        snprintf(h->err, sizeof(h->err), "xenolithd started but %s holds "
                 "no pid", pidfile);
        return -EIO;
    }
    fclose(f);
    h->core = pid;
    note_pid(pid, h->dir);
    return wait_accepts(h, "xenolithd", 0, sock, WAIT_MS);
}

int test_host_start(struct test_host *h, const struct test_host_opts *opts)
{
    char path[128];
    int rc = 0;

    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), DIR_PREFIX "XXXXXX");
    if (!mkdtemp(h->dir)) {
        rc = -errno;
        snprintf(h->err, sizeof(h->err), "mkdtemp %s: %s", h->dir,
                 strerror(errno));
        h->dir[0] = '\0';
        return rc;
    }
    if (!current_owner)
        atexit(stop_current);
    current = h;
    current_owner = getpid();
    /* where clients look, whether or not the daemons are started (a
     * test of a missing one sees this run directory named) */
    snprintf(path, sizeof(path), "%s/xenstored", h->dir);
    setenv("XENSTORED_RUNDIR", path, 1);
    snprintf(path, sizeof(path), "%s/xenstored/socket", h->dir);
    setenv("XENSTORED_PATH", path, 1);
    setenv("XENOLITH_RUNDIR", h->dir, 1);
    if (opts->what & TEST_HOST_XENSTORED)
        rc = start_xenstored(h, opts, 0);
    if (!rc && (opts->what & TEST_HOST_CORE))
        rc = start_core(h, opts);
    if (rc) {
        char err[sizeof(h->err)];

        memcpy(err, h->err, sizeof(err));
        test_host_stop(h);
        memcpy(h->err, err, sizeof(err));
    }
    return rc;
}

int test_host_kill_xenstored(struct test_host *h)
{
    int status;

    if (h->xenstored <= 0)
        return -ESRCH;
    if (kill(h->xenstored, SIGKILL) < 0)
        return -errno;
    if (waitpid(h->xenstored, &status, 0) != h->xenstored)
        return -errno;
    h->xenstored = 0;
    return 0;
}

int test_host_restart_xenstored(struct test_host *h,
                                const struct test_host_opts *opts,
                                int delay_ms)
{
    return start_xenstored(h, opts, delay_ms);
}

int test_host_snapshot_settle(struct test_host *h)
{
    int i;

    for (i = 0; i < 50 && access(h->snapshot, F_OK) != 0; i++)
        usleep(100 * 1000);
    if (access(h->snapshot, F_OK) != 0)
        return -ETIMEDOUT;
    usleep(1300 * 1000);
    return 0;
}

int test_host_start_core(struct test_host *h,
                         const struct test_host_opts *opts)
{
    h->core = 0;
    h->core_child = false;
    return start_core(h, opts);
}

/* ------------------------------------------------------------ stop */

/* Alive and not a zombie (a daemonized core is not our child to reap). */
static bool alive(pid_t pid)
{
    char path[64], line[256], *p;
    bool ok = false;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return false;
    if (fgets(line, sizeof(line), f)) {
        p = strrchr(line, ')');
        ok = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
    }
    fclose(f);
    return ok;
}

/* SIGTERM, then SIGKILL after 2 s; a child's exit status in *status_r
 * (-1 when not ours or killed). */
static void terminate(pid_t pid, bool child, int *status_r)
{
    int i, status;

    *status_r = -1;
    kill(pid, SIGTERM);
    for (i = 0; i < 1000; i++) {
        if (child && waitpid(pid, &status, WNOHANG) == pid) {
            *status_r = status;
            return;
        }
        if (!child && !alive(pid))
            return;
        nap_ms(2);
    }
    kill(pid, SIGKILL);
    if (child)
        waitpid(pid, NULL, 0);
}

/* Kill what still runs with dir in its command line or environment:
 * domain processes and qemus of a core the test killed (they outlive
 * their daemon by design, waiting for the next one). */
static void kill_leftovers(const char *dir)
{
    char path[300], buf[8192];
    size_t n, dlen = strlen(dir);
    struct dirent *de;
    const char *p;
    DIR *d;
    int pid;

    d = opendir("/proc");
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        pid = atoi(de->d_name);
        if (pid <= 0 || pid == (int)getpid())
            continue;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        n = read_file(path, buf, sizeof(buf) / 2);
        snprintf(path, sizeof(path), "/proc/%d/environ", pid);
        n += read_file(path, buf + n, sizeof(buf) - n);
        for (p = buf; (p = memmem(p, n - (size_t)(p - buf), dir, dlen));
             p += dlen) {
            char next = (size_t)(p - buf) + dlen < n ? p[dlen] : '\0';

            /* the directory itself, not one whose name it begins */
            if (next == '\0' || next == '/' || next == ' ') {
                kill(pid, SIGKILL);
                break;
            }
        }
    }
    closedir(d);
}

int test_host_stop(struct test_host *h)
{
    int status, rc = 0;

    if (current == h)
        current = NULL;
    if (h->core > 0) {
        terminate(h->core, h->core_child, &status);
        if (h->core_child && (status < 0 || !WIFEXITED(status) ||
                              WEXITSTATUS(status) != 0)) {
            snprintf(h->err, sizeof(h->err), "xenolithd%s ended with "
                     "status %#x on SIGTERM (see %s)", h->core_child ?
                     " (wrapped)" : "", status, h->dir);
            rc = -1;
        }
        h->core = 0;
    }
    if (h->xenstored > 0) {
        terminate(h->xenstored, true, &status);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            snprintf(h->err, sizeof(h->err), "xenstored ended with status "
                     "%#x on SIGTERM (see %s/xenstored.log)", status,
                     h->dir);
            rc = -1;
        }
        h->xenstored = 0;
    }
    if (h->dir[0])
        kill_leftovers(h->dir);
    if (h->dir[0] && !getenv("XENOLITH_TEST_KEEP"))
        rm_tree(h->dir);
    h->dir[0] = '\0';
    return rc;
}
