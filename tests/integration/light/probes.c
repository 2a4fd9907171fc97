/*
 * daemons.c - start and stop the private daemons, probe xenstore.
 */
#include "daemons.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char logbuf[65536];
static size_t loglen;

static void vmessage(xentoollog_logger *lg, xentoollog_level level,
                     int errnoval, const char *context, const char *fmt,
                     va_list al)
{
    char line[2048];
    int n;

    (void)lg;
    n = vsnprintf(line, sizeof(line), fmt, al);
    if (n < 0)
        return;
    if (getenv("LIGHT_VERBOSE"))
        fprintf(stderr, "level %d: %s: %s%s%s\n", (int)level,
                context ? context : "", line, errnoval > 0 ? ": " : "",
                errnoval > 0 ? strerror(errnoval) : "");
    if (level < XTL_WARN)
        return;
    n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s%s%s\n",
                 line, errnoval > 0 ? ": " : "",
                 errnoval > 0 ? strerror(errnoval) : "");
    if (n > 0 && loglen + (size_t)n < sizeof(logbuf))
        loglen += (size_t)n;
}

static void progress(xentoollog_logger *lg, const char *context,
                     const char *doing_what, int percent, unsigned long done,
                     unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done;
    (void)total;
}

static void destroy(xentoollog_logger *lg)
{
    (void)lg;
}

static xentoollog_logger logger = { vmessage, progress, destroy };

xentoollog_logger *test_logger(void)
{
    return &logger;
}

const char *test_log(void)
{
    return logbuf;
}

void test_log_clear(void)
{
    loglen = 0;
    logbuf[0] = '\0';
}

void daemons_require(int need_kvm)
{
    const char *bins[] = { "XENOLITHD", "XENSTORED_BIN" };
    unsigned int i;
    int fd;

    if (need_kvm) {
        fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            printf("SKIP: /dev/kvm: %s (the tests here run guests on the "
                   "core's KVM)\n", strerror(errno));
            exit(77);
        }
        close(fd);
    }
    for (i = 0; i < 2; i++) {
        const char *b = getenv(bins[i]);

        if (!b || access(b, X_OK) < 0) {
            printf("SKIP: %s not set or not executable\n", bins[i]);
            exit(77);
        }
    }
}

/*
 * A test that fails exits without its teardown; one that times out is
 * killed.  Daemons must not outlive it: atexit stops the current ones,
 * and every pid is also noted in $LIGHT_REGISTRY, which the runner
 * sweeps at the end (daemons_sweep).
 */
static struct daemons *current;

static void stop_current(void)
{
    if (current)
        daemons_stop(current);
}

static void note_pid(pid_t pid, const char *dir)
{
    const char *reg = getenv("LIGHT_REGISTRY");
    char path[300];
    FILE *f;

    if (!reg)
        return;
    snprintf(path, sizeof(path), "%s/%d", reg, (int)pid);
    f = fopen(path, "w");
    if (f) {
        fputs(dir, f);
        fclose(f);
    }
}

static size_t read_proc(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, cap, f);
        fclose(f);
    }
    return n;
}

void daemons_sweep(void)
{
    const char *reg = getenv("LIGHT_REGISTRY");
    char path[300], cmd[4096];
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
        /* only if it still is one of ours (pids get reused): its
         * command line (xenolithd) or environment (xenstored) names one
         * of our rundirs */
        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        n = read_proc(path, cmd, sizeof(cmd) / 2);
        snprintf(path, sizeof(path), "/proc/%d/environ", pid);
        n += read_proc(path, cmd + n, sizeof(cmd) - n);
        if (memmem(cmd, n, "/tmp/xenolith-light-", 20))
            kill(pid, SIGKILL);
        /* and its rundir, if it is still there */
        snprintf(path, sizeof(path), "%s/%s", reg, de->d_name);
        n = read_proc(path, cmd, 200);
        cmd[n] = '\0';
        if (!strncmp(cmd, "/tmp/xenolith-light-", 20) &&
            !strchr(cmd, '\'')) {
            snprintf(path, sizeof(path), "rm -rf '%.200s'", cmd);
            if (system(path) != 0) {
                /* harmless */
            }
        }
    }
    closedir(d);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", reg);
    if (system(cmd) != 0) {
        /* harmless */
    }
}

/* Whether a daemon accepts on the unix socket path (stream or seqpacket:
 * xenstored's and the core's).  The file exists from bind(), but connect
 * is refused until listen() (seen in the nested-KVM lane). */
static int accepts(const char *path)
{
    static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    unsigned int i;
    int fd, ok = 0;

    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    for (i = 0; i < sizeof(types) / sizeof(types[0]) && !ok; i++) {
        fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 0;
        ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
    }
    return ok;
}

static int wait_for(const char *path)
{
    int i;

    for (i = 0; i < 500; i++) {
        if (accepts(path))
            return 0;
        usleep(10000);
    }
    return -ETIMEDOUT;
}

int daemons_start(struct daemons *d, int with_xenstored, int with_core)
{
    char path[256], log[256];
    int status;
    pid_t pid;
    FILE *f;

    memset(d, 0, sizeof(*d));
    snprintf(d->dir, sizeof(d->dir), "/tmp/xenolith-light-XXXXXX");
    if (!mkdtemp(d->dir))
        return -errno;
    if (!current)
        atexit(stop_current);
    current = d;
    setenv("XENOLITH_RUNDIR", d->dir, 1);
    snprintf(path, sizeof(path), "%s/xenstored", d->dir);
    setenv("XENSTORED_RUNDIR", path, 1);
    snprintf(path, sizeof(path), "%s/xenstored/socket", d->dir);
    setenv("XENSTORED_PATH", path, 1);
    unsetenv("XENOLITH_CORE_SOCKET");

    if (with_xenstored) {
        snprintf(log, sizeof(log), "%s/xenstored.log", d->dir);
        pid = fork();
        if (pid < 0)
            return -errno;
        if (pid == 0) {
            execl(getenv("XENSTORED_BIN"), "xenstored", "-N", "-L", log,
                  (char *)NULL);
            _exit(127);
        }
        d->xenstored = pid;
        note_pid(pid, d->dir);
        if (wait_for(path) < 0)
            return -ETIMEDOUT;
    }
    if (with_core) {
        snprintf(log, sizeof(log), "%s/xenolithd.log", d->dir);
        pid = fork();
        if (pid < 0)
            return -errno;
        if (pid == 0) {
            execl(getenv("XENOLITHD"), "xenolithd", "--rundir", d->dir,
                  "--log-file", log, (char *)NULL);
            _exit(127);
        }
        /* it forks into the background once it listens */
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            return -EIO;
        snprintf(path, sizeof(path), "%s/xenolithd.pid", d->dir);
        f = fopen(path, "r");
        if (!f)
            return -EIO;
        if (fscanf(f, "%d", &d->core) != 1)
            d->core = 0;
        fclose(f);
        if (d->core <= 0)
            return -EIO;
        note_pid(d->core, d->dir);
        snprintf(path, sizeof(path), "%s/core.sock", d->dir);
        if (wait_for(path) < 0)
            return -ETIMEDOUT;
    }
    return 0;
}

static int alive(pid_t pid)
{
    char path[64], line[256], *p;
    FILE *f;
    int ok = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fgets(line, sizeof(line), f)) {
        p = strrchr(line, ')');
        ok = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
    }
    fclose(f);
    return ok;
}

void daemons_stop(struct daemons *d)
{
    char cmd[300];
    int i;

    if (current == d)
        current = NULL;
    if (d->core > 0) {
        kill(d->core, SIGTERM);
        for (i = 0; i < 500 && alive(d->core); i++)
            usleep(2000);
        if (alive(d->core))
            kill(d->core, SIGKILL);
        d->core = 0;
    }
    if (d->xenstored > 0) {
        kill(d->xenstored, SIGTERM);
        waitpid(d->xenstored, NULL, 0);
        d->xenstored = 0;
    }
    if (d->dir[0] && !getenv("LIGHT_KEEP")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
        if (system(cmd) != 0) {
            /* a leftover temporary directory is harmless */
        }
    }
}

/* Debian's clients when installed (a second implementation), else
 * ours. */
static const char *tools_dir(void)
{
    const char *t = getenv("XS_TOOLS");

    if (access("/usr/bin/xenstore-ls", X_OK) == 0)
        return "/usr/bin";
    return t ? t : ".";
}

static char *run(const char *cmd)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    char buf[4096];
    size_t n;
    FILE *p = popen(cmd, "r");

    if (!p)
        return NULL;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            out = realloc(out, cap);
        }
        memcpy(out + len, buf, n);
        len += n;
    }
    if (pclose(p) != 0) {
        free(out);
        return NULL;
    }
    if (!out)
        out = calloc(1, 1);
    else
        out[len] = '\0';
    return out;
}

char *xs_cmd(const char *fmt, ...)
{
    char args[1024], cmd[1400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s/xenstore-%s 2>/dev/null", tools_dir(),
             args);
    return run(cmd);
}

char *xs_get(const char *fmt, ...)
{
    char path[512];
    va_list ap;
    char *v;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    v = xs_cmd("read '%s'", path);
    if (v) {
        n = strlen(v);
        if (n && v[n - 1] == '\n')
            v[n - 1] = '\0';
    }
    return v;
}

int xs_exists(const char *fmt, ...)
{
    char path[512], *v;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    v = xs_cmd("exists '%s'", path);
    free(v);
    return v != NULL;
}

int xs_set(const char *path, const char *value)
{
    char *v = xs_cmd("write '%s' '%s'", path, value);

    free(v);
    return v ? 0 : -1;
}

const char *guest(const char *name)
{
    static char path[512];
    const char *dir = getenv("GUEST_DIR");

    snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
    return path;
}
