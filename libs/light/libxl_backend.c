/*
 * libxl_backend.c - the device backends' processes (backends/): one per
 * domain and class (xenolith-blkback for vbd, ...), started apart from
 * this process, waited for until each of its devices is served, and
 * stopped with the domain.  What is the same for every class: the
 * xenstore answer a backend gives (hotplug-status "connected", or
 * "error" with hotplug-error, in /local/domain/0/backend/<kind>/<domid>/
 * <devid>), its pid in /libxl/<domid>/<name>-pid, its log
 * <rundir>/backends/<kind>-<domid>.log and its sockets in
 * <rundir>/backends/<kind>-<domid>/<devid>.sock.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libxl_dm.h"

/* How long a backend may take to serve every device (qemu-storage-
 * daemon's start and one QMP exchange per device; slow under emulation:
 * in the nested-KVM lane, with CI's other guests beside it, its QMP
 * greeting once took over 10 s). */
#define BACKEND_READY_MS 60000

const struct libxl__backend_class libxl__blkback_class = {
    .kind = "vbd", .device = "disk", .what = "block backend",
    .binary = "xenolith-blkback", .env = "XENOLITH_BLKBACK",
    .path = XENOLITH_LIBEXECDIR "/xenolith-blkback", .pid_name = "blkback",
};

const struct libxl__backend_class *const libxl__backend_classes[] = {
    &libxl__blkback_class,
    &libxl__netback_class,
    NULL,
};

static const char *base_run_dir(void)
{
    const char *rundir = getenv("XENOLITH_RUNDIR");

    return rundir && *rundir ? rundir : "/run/xenolith";
}

char *libxl__backend_socket(const struct libxl__backend_class *cls,
                            uint32_t domid, int devid)
{
    return libxl__sprintf("%s/backends/%s-%u/%d.sock", base_run_dir(),
                          cls->kind, domid, devid);
}

static char *log_path(const struct libxl__backend_class *cls,
                      uint32_t domid)
{
    return libxl__sprintf("%s/backends/%s-%u.log", base_run_dir(),
                          cls->kind, domid);
}

static char *pid_key(const struct libxl__backend_class *cls, uint32_t domid)
{
    return libxl__sprintf("/libxl/%u/%s-pid", domid, cls->pid_name);
}

static const char *binary(const struct libxl__backend_class *cls)
{
    const char *b = getenv(cls->env);

    return b && *b ? b : cls->path;
}

/* ------------------------------------------------------------ xenstore */

int libxl__backend_write(libxl_ctx *ctx, xs_transaction_t t,
                         const char *dir, const char *key, const char *val)
{
    char *p = libxl__sprintf("%s/%s", dir, key);
    int rc = libxl__xs_write(ctx, t, p, val);

    free(p);
    return rc;
}

int libxl__backend_mkdir(libxl_ctx *ctx, xs_transaction_t t,
                         const char *path, unsigned int owner,
                         unsigned int reader)
{
    struct xs_permissions perms[2] = {
        { .id = owner, .perms = XS_PERM_NONE },
        { .id = reader, .perms = XS_PERM_READ },
    };

    if (!xs_mkdir(ctx->xsh, t, path) ||
        !xs_set_permissions(ctx->xsh, t, path, perms, 2)) {
        LOGE(ctx, ERROR, "creating %s in xenstore", path);
        return ERROR_FAIL;
    }
    return 0;
}

/* ------------------------------------------------------------ process */

/* /proc/<pid>/<what> into buf, NUL-terminated: its length, or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf,
                         size_t size)
{
    char path[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* Whether pid is domain domid's backend (not a pid reused since). */
static bool is_backend(const struct libxl__backend_class *cls, pid_t pid,
                       uint32_t domid)
{
    char buf[512], want[32];
    ssize_t n;

    if (pid <= 0)
        return false;
    n = read_proc(pid, "cmdline", buf, sizeof(buf));
    if (n < 0)
        return false;
    /* argv[0] \0 "--domid" \0 "<domid>" */
    snprintf(want, sizeof(want), "%u", domid);
    return strstr(buf, cls->binary) &&
           (size_t)n > strlen(buf) + 9 &&
           !strcmp(buf + strlen(buf) + 1, "--domid") &&
           !strcmp(buf + strlen(buf) + 9, want);
}

/* Whether pid runs still (a zombie has stopped: its parent is init). */
static bool alive(pid_t pid)
{
    char buf[256], *p;

    if (read_proc(pid, "stat", buf, sizeof(buf)) < 0)
        return false;
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

char *libxl__backend_log_tail(const struct libxl__backend_class *cls,
                              uint32_t domid)
{
    char *log = log_path(cls, domid), *line = NULL, buf[4096];
    struct stat st;
    off_t off = 0;
    ssize_t n;
    int fd = open(log, O_RDONLY | O_CLOEXEC);

    free(log);
    if (fd < 0)
        return NULL;
    /* the end of the log: a long one has its last line there */
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(buf) - 1)
        off = st.st_size - (off_t)(sizeof(buf) - 1);
    n = pread(fd, buf, sizeof(buf) - 1, off);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    line = strrchr(buf, '\n');
    return libxl__strdup_or_die(line ? line + 1 : buf);
}

static char *read_key(libxl_ctx *ctx, const char *dir, const char *key)
{
    char *p = libxl__sprintf("%s/%s", dir, key);
    char *v = libxl__xs_read(ctx, XBT_NULL, p);

    free(p);
    return v;
}

void libxl__nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}

/*
 * Starts the backend detached (its own session, not our child: it
 * outlives xl create), its output to the log.  The pid in *pid_r.
 */
int libxl__backend_spawn(libxl_ctx *ctx,
                         const struct libxl__backend_class *cls,
                         uint32_t domid, pid_t *pid_r)
{
    char *log = log_path(cls, domid), *dir, domstr[16], *p, buf[16];
    int pfd[2] = { -1, -1 }, status, rc;
    pid_t mid, pid = 0;
    ssize_t n;

    snprintf(domstr, sizeof(domstr), "%u", domid);
    dir = libxl__sprintf("%s/backends", base_run_dir());
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "domain %u: creating %s", domid, dir);
        rc = ERROR_FAIL;
        goto out;
    }
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        LOGE(ctx, ERROR, "domain %u: pipe for the %s", domid, cls->what);
        rc = ERROR_FAIL;
        goto out;
    }
    mid = fork();
    if (mid < 0) {
        LOGE(ctx, ERROR, "domain %u: fork for the %s", domid, cls->what);
        rc = ERROR_FAIL;
        goto out;
    }
    if (mid == 0) {
        /* the middle process: a new session, then the backend's parent
         * exits at once so that init adopts it */
        const char *argv[] = { binary(cls), "--domid", domstr, NULL };
        int fd;

        setsid();
        pid = fork();
        if (pid != 0) {
            if (write(pfd[1], &pid, sizeof(pid)) < 0)
                _exit(1);
            _exit(pid < 0);
        }
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0 && fd != 0) {
            dup2(fd, 0);
            close(fd);
        }
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], (char *const *)argv);
        dprintf(2, "%s[%u]: cannot run %s: %s\n", cls->binary, domid,
                argv[0], strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    pfd[1] = -1;
    n = read(pfd[0], &pid, sizeof(pid));
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
        continue;
    if (n != sizeof(pid) || pid <= 0) {
        LOG(ctx, ERROR, "domain %u: the %s %s could not be started "
            "(fork)", domid, cls->what, binary(cls));
        rc = ERROR_FAIL;
        goto out;
    }
    *pid_r = pid;
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    p = pid_key(cls, domid);
    rc = libxl__xs_write(ctx, XBT_NULL, p, buf);
    free(p);
out:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    free(dir);
    free(log);
    return rc;
}

/*
 * Waits until the backend answered for devices devids[0..n-1] (vdevs
 * name them): 0 when all are connected, else ERROR_FAIL with the reason
 * logged (the device's hotplug-error, the backend's death and its log's
 * last line, or the time it took).
 */
int libxl__backend_wait(libxl_ctx *ctx,
                        const struct libxl__backend_class *cls,
                        uint32_t domid, const int *devids,
                        char *const *names, int n, pid_t pid)
{
    struct timespec t0, t1;
    int i, waited;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        bool all = true;

        for (i = 0; i < n; i++) {
            char *be, *st, *err;

            be = libxl__sprintf("/local/domain/0/backend/%s/%u/%d", cls->kind,
                                domid, devids[i]);
            st = read_key(ctx, be, "hotplug-status");
            if (st && !strcmp(st, "error")) {
                err = read_key(ctx, be, "hotplug-error");
                LOG(ctx, ERROR, "domain %u: %s %s: the %s cannot serve "
                    "it: %s", domid, cls->device, names[i], cls->what,
                    err ? err : "(no reason given)");
                free(err);
                free(st);
                free(be);
                return ERROR_FAIL;
            }
            if (!st || strcmp(st, "connected"))
                all = false;
            free(st);
            free(be);
        }
        if (all)
            return 0;
        if (!alive(pid)) {
            char *tail = libxl__backend_log_tail(cls, domid);

            LOG(ctx, ERROR, "domain %u: the %s (pid %d) exited before "
                "serving its devices: %s", domid, cls->what, (int)pid,
                tail ? tail : "(its log is empty)");
            free(tail);
            return ERROR_FAIL;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        waited = (int)((t1.tv_sec - t0.tv_sec) * 1000 +
                       (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (waited >= BACKEND_READY_MS) {
            LOG(ctx, ERROR, "domain %u: the %s (pid %d) did not serve "
                "its devices within %d s", domid, cls->what, (int)pid,
                BACKEND_READY_MS / 1000);
            return ERROR_FAIL;
        }
        libxl__nap_ms(20);
    }
}

pid_t libxl__backend_pid(libxl_ctx *ctx,
                        const struct libxl__backend_class *cls,
                        uint32_t domid)
{
    char *p = pid_key(cls, domid);
    char *v = libxl__xs_read(ctx, XBT_NULL, p);
    long pid = v ? strtol(v, NULL, 10) : 0;

    free(v);
    free(p);
    return pid > 0 && is_backend(cls, (pid_t)pid, domid) ? (pid_t)pid : 0;
}

/* The backend's directory (its sockets), after it was killed. */
static void remove_dir(const struct libxl__backend_class *cls,
                       uint32_t domid)
{
    char *dir = libxl__sprintf("%s/backends/%s-%u", base_run_dir(),
                               cls->kind, domid);
    DIR *dh = opendir(dir);
    struct dirent *e;

    while (dh && (e = readdir(dh)) != NULL) {
        if (e->d_name[0] != '.')
            unlinkat(dirfd(dh), e->d_name, 0);
    }
    if (dh)
        closedir(dh);
    rmdir(dir);
    free(dir);
}

int libxl__backend_stop(libxl_ctx *ctx,
                        const struct libxl__backend_class *cls,
                        uint32_t domid, pid_t pid)
{
    char *be, *log;
    int i, rc = 0;

    if (pid > 0 && is_backend(cls, pid, domid)) {
        kill(pid, SIGTERM);
        for (i = 0; i < 250 && alive(pid); i++)
            libxl__nap_ms(20);
        if (alive(pid)) {
            LOG(ctx, WARN, "domain %u: the %s (pid %d) did not stop in "
                "5 s; killing it", domid, cls->what, (int)pid);
            kill(pid, SIGKILL);
        }
    }
    if (pid > 0 && !alive(pid)) {
        /* what a killed backend left */
        remove_dir(cls, domid);
        if (cls->leftovers)
            cls->leftovers(ctx, domid);
    }
    be = libxl__sprintf("/local/domain/0/backend/%s/%u", cls->kind,
                         domid);
    if (!xs_rm(ctx->xsh, XBT_NULL, be) && errno != ENOENT) {
        LOGE(ctx, ERROR, "domain %u: removing %s", domid, be);
        rc = ERROR_FAIL;
    }
    free(be);
    log = log_path(cls, domid);
    unlink(log);
    free(log);
    return rc;
}

