/*
 * xendm_spawn.c - starting qemu, watching it, and leaving nothing
 * behind.
 */
#include "xendm.h"
#include "xendm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *xendm_log_tail(const char *path, unsigned int lines)
{
    char *buf = NULL, *out = NULL, *p, *start;
    size_t len = 0, cap = 0, n;
    unsigned int seen = 0;
    FILE *f;

    f = fopen(path, "re");
    if (!f)
        return NULL;
    /* Logs of a failed start are short; read the last 8 KiB at most. */
    if (fseek(f, -8192, SEEK_END) < 0)
        rewind(f);
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            p = realloc(buf, cap);
            if (!p)
                goto out;
            buf = p;
        }
        n = fread(buf + len, 1, 4096, f);
        if (!n)
            break;
        len += n;
    }
    if (!buf)
        goto out;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    start = buf + len;
    while (start > buf) {
        if (start[-1] == '\n' && ++seen == lines)
            break;
        start--;
    }
    if (!*start)
        goto out;
    out = malloc(strlen(start) * 3 + 1);
    if (!out)
        goto out;
    for (n = 0, p = start; *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            memcpy(out + n, " | ", 3);
            n += 3;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
out:
    free(buf);
    fclose(f);
    return out;
}

/* Which program execvp would run for name, or NULL (errno set). */
static int check_binary(const struct xendm_logger *lg, const char *name)
{
    const char *path, *p, *q;
    char buf[4096];

    if (strchr(name, '/')) {
        if (access(name, X_OK) == 0)
            return 0;
        XDM_LOGE(lg, errno, "qemu-dm: cannot run qemu binary '%s'", name);
        return -errno;
    }
    path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; ; p = q + 1) {
        q = strchr(p, ':');
        if (!q)
            q = p + strlen(p);
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)(q - p),
                 q == p ? "." : p, name);
        if (access(buf, X_OK) == 0)
            return 0;
        if (!*q)
            break;
    }
    XDM_LOG(lg, XENDM_ERROR, "qemu-dm: qemu binary '%s' is not on PATH "
            "(%s)", name, path);
    return -ENOENT;
}

static int check_file(const struct xendm_logger *lg, unsigned int domid,
                      const char *what, const char *path, int mode)
{
    if (access(path, mode) == 0)
        return 0;
    XDM_LOGE(lg, errno, "qemu-dm: domain %u: %s '%s'", domid, what, path);
    return -errno;
}

static int check_paths(const struct xendm_config *cfg,
                       const struct xendm_logger *lg)
{
    const char *fw = xendm__firmware(cfg);
    unsigned int i;
    int rc;

    rc = check_binary(lg, cfg->qemu ? cfg->qemu : "qemu-system-x86_64");
    if (rc)
        return rc;
    if (fw && (rc = check_file(lg, cfg->domid, "firmware", fw, R_OK)))
        return rc;
    if (cfg->kernel &&
        (rc = check_file(lg, cfg->domid, "kernel", cfg->kernel, R_OK)))
        return rc;
    if (cfg->initrd &&
        (rc = check_file(lg, cfg->domid, "initrd", cfg->initrd, R_OK)))
        return rc;
    for (i = 0; i < cfg->nr_disks; i++) {
        const struct xendm_disk *d = &cfg->disks[i];

        if (!d->path || !*d->path)      /* an empty cdrom drive */
            continue;
        if (d->bus == XENDM_DISK_VHOST_USER) /* the backend's image */
            continue;
        rc = check_file(lg, cfg->domid, d->cdrom ? "cdrom image" : "disk",
                        d->path, d->readonly || d->cdrom ? R_OK
                                                         : R_OK | W_OK);
        if (rc)
            return rc;
    }
    if (!cfg->run_dir) {
        XDM_LOG(lg, XENDM_ERROR, "qemu-dm: domain %u: no run directory",
                cfg->domid);
        return -EINVAL;
    }
    return check_file(lg, cfg->domid, "run directory", cfg->run_dir,
                      W_OK | X_OK);
}

/* The child: log as stdout/stderr, /dev/null as stdin, own session, then
 * exec.  An exec failure goes back through errpipe as an errno. */
static void child(char **argv, int logfd, int errpipe, pid_t parent,
                  bool die_with_parent)
{
    static const int sigs[] = { SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP };
    sigset_t none;
    size_t i;
    int null, e;

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (die_with_parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
            goto fail;
        if (getppid() != parent) {
            errno = ESRCH;
            goto fail;
        }
    }
    /* The caller's other fds (sockets, ttys) are not qemu's business. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    setsid();
    null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 ||
        dup2(logfd, 2) < 0)
        goto fail;
    execvp(argv[0], argv);
fail:
    e = errno;
    if (write(errpipe, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

bool xendm_exited(struct xendm *dm, int *status_r)
{
    pid_t r;

    if (dm->pid > 0 && !dm->spawned) {
        /* Not started here: reap it if it happens to be our child
         * (else waitpid fails with ECHILD), then see if it is there. */
        if (waitpid(dm->pid, &dm->wstatus, WNOHANG) == dm->pid ||
            (kill(dm->pid, 0) < 0 && errno == ESRCH)) {
            dm->pid = 0;
            dm->wstatus = 0;
        }
    } else if (dm->pid > 0) {
        r = waitpid(dm->pid, &dm->wstatus, WNOHANG);
        if (r == dm->pid)
            dm->pid = 0;
    }
    if (dm->pid == 0 && status_r)
        *status_r = dm->wstatus;
    return dm->pid == 0;
}

static void describe_exit(const struct xendm *dm, char *buf, size_t len)
{
    if (WIFEXITED(dm->wstatus))
        snprintf(buf, len, "exited with status %d",
                 WEXITSTATUS(dm->wstatus));
    else if (WIFSIGNALED(dm->wstatus))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(dm->wstatus));
    else
        snprintf(buf, len, "ended (wait status %#x)", dm->wstatus);
}

static void kill_and_reap(struct xendm *dm, unsigned int timeout_ms)
{
    uint64_t deadline;

    if (dm->pid <= 0)
        return;
    kill(dm->pid, SIGTERM);
    deadline = now_ms() + (timeout_ms ? timeout_ms : 3000);
    while (!xendm_exited(dm, NULL)) {
        if (now_ms() >= deadline) {
            kill(dm->pid, SIGKILL);
            if (!dm->spawned) {
                while (!xendm_exited(dm, NULL) && now_ms() < deadline + 2000)
                    usleep(10000);
                dm->pid = 0;
            } else if (waitpid(dm->pid, &dm->wstatus, 0) == dm->pid) {
                dm->pid = 0;
            }
            break;
        }
        usleep(10000);
    }
}

static void unlink_files(struct xendm *dm, bool keep_log)
{
    if (!dm->spawned)
        return;
    if (dm->qmp_path)
        unlink(dm->qmp_path);
    if (dm->core_qmp_path)
        unlink(dm->core_qmp_path);
    if (dm->pid_path)
        unlink(dm->pid_path);
    if (dm->log_path && !keep_log)
        unlink(dm->log_path);
}

static void dm_free(struct xendm *dm)
{
    struct xendm_pending *p;

    while ((p = dm->pending)) {
        dm->pending = p->next;
        free(p);
    }
    free(dm->qmp_path);
    free(dm->core_qmp_path);
    free(dm->pid_path);
    free(dm->log_path);
    free(dm->rbuf);
    free(dm->wbuf);
    free(dm->shutdown_reason);
    free(dm);
}

static void log_argv(const struct xendm_logger *lg, unsigned int domid,
                     char **argv)
{
    char line[4096];
    size_t n = 0, i;
    int r;

    for (i = 0; argv[i] && n < sizeof(line); i++) {
        r = snprintf(line + n, sizeof(line) - n, "%s%s", i ? " " : "",
                     argv[i]);
        if (r < 0)
            break;
        n += r;
    }
    XDM_LOG(lg, XENDM_DEBUG, "qemu-dm: domain %u: %s", domid, line);
}

/* core_only: qemu is up once it listens on the core's socket (the core
 * connects; nothing here does).  0, -ETIMEDOUT, or -ECHILD when qemu
 * exited first. */
static int wait_core_socket(struct xendm *dm, unsigned int timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    struct stat st;

    for (;;) {
        if (stat(dm->core_qmp_path, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
        if (xendm_exited(dm, NULL))
            return -ECHILD;
        if (now_ms() >= deadline)
            return -ETIMEDOUT;
        usleep(5000);
    }
}

int xendm_start(const struct xendm_config *cfg,
                const struct xendm_logger *lg, struct xendm **dm_r)
{
    struct xendm *dm = NULL;
    char **argv = NULL, *tail = NULL, how[64];
    int logfd = -1, errpipe[2] = { -1, -1 }, e, rc;
    pid_t parent;
    ssize_t n;

    rc = xendm_config_check(cfg, lg);
    if (rc)
        goto out;
    rc = check_paths(cfg, lg);
    if (rc)
        goto out;
    dm = calloc(1, sizeof(*dm));
    if (!dm) {
        rc = -ENOMEM;
        goto out;
    }
    if (lg)
        dm->lg = *lg;
    dm->domid = cfg->domid;
    dm->fd = -1;
    dm->event = cfg->event;
    dm->event_opaque = cfg->event_opaque;
    dm->next_id = 1;
    dm->spawned = true;
    dm->qmp_path = xendm_file_path(cfg->run_dir, cfg->domid,
                                   XENDM_SUFFIX_QMP);
    dm->pid_path = xendm_file_path(cfg->run_dir, cfg->domid,
                                   XENDM_SUFFIX_PID);
    dm->log_path = xendm_file_path(cfg->run_dir, cfg->domid,
                                   XENDM_SUFFIX_LOG);
    if (cfg->core_monitor)
        dm->core_qmp_path = xendm_file_path(cfg->run_dir, cfg->domid,
                                            XENDM_SUFFIX_CORE);
    if (!dm->qmp_path || !dm->pid_path || !dm->log_path ||
        (cfg->core_monitor && !dm->core_qmp_path)) {
        rc = -ENOMEM;
        goto out;
    }
    dm->accel = cfg->accel;
    if (dm->accel == XENDM_ACCEL_AUTO)
        dm->accel = xendm_accel_detect(lg, NULL, NULL);
    rc = xendm_argv(cfg, dm->accel, dm->qmp_path, dm->pid_path, &argv);
    if (rc)
        goto out;

    /* A stale socket from a dead qemu would be connected to by mistake. */
    unlink(dm->qmp_path);
    if (dm->core_qmp_path)
        unlink(dm->core_qmp_path);
    logfd = open(dm->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                 0640);
    if (logfd < 0) {
        rc = -errno;
        XDM_LOGE(lg, errno, "qemu-dm: domain %u: log '%s'", cfg->domid,
                 dm->log_path);
        goto out;
    }
    if (pipe2(errpipe, O_CLOEXEC) < 0) {
        rc = -errno;
        XDM_LOGE(lg, errno, "qemu-dm: domain %u: pipe", cfg->domid);
        goto out;
    }
    parent = getpid();
    dm->pid = fork();
    if (dm->pid < 0) {
        rc = -errno;
        dm->pid = 0;
        XDM_LOGE(lg, errno, "qemu-dm: domain %u: fork", cfg->domid);
        goto out;
    }
    if (dm->pid == 0)
        child(argv, logfd, errpipe[1], parent, cfg->die_with_parent);
    close(errpipe[1]);
    errpipe[1] = -1;
    do {
        n = read(errpipe[0], &e, sizeof(e));
    } while (n < 0 && errno == EINTR);
    if (n == sizeof(e)) {
        rc = -e;
        XDM_LOGE(lg, e, "qemu-dm: domain %u: cannot run qemu '%s'",
                 cfg->domid, argv[0]);
        goto out;
    }
    log_argv(lg, cfg->domid, argv);
    XDM_LOG(lg, XENDM_DEBUG, "qemu-dm: domain %u: qemu pid %d, log %s",
            cfg->domid, (int)dm->pid, dm->log_path);

    if (cfg->core_only)
        rc = wait_core_socket(dm, cfg->start_timeout_ms ?
                              cfg->start_timeout_ms : 10000);
    else
        rc = xendm__qmp_connect(dm, cfg->start_timeout_ms ?
                                cfg->start_timeout_ms : 10000);
    if (rc) {
        if (xendm_exited(dm, NULL)) {
            describe_exit(dm, how, sizeof(how));
            tail = xendm_log_tail(dm->log_path, 5);
            XDM_LOG(lg, XENDM_ERROR, "qemu-dm: domain %u: qemu '%s' %s "
                    "before QMP was up; log %s: %s", cfg->domid, argv[0],
                    how, dm->log_path, tail ? tail : "(empty)");
        } else {
            tail = xendm_log_tail(dm->log_path, 5);
            XDM_LOG(lg, XENDM_ERROR, "qemu-dm: domain %u: no QMP on %s "
                    "(%s); log %s: %s", cfg->domid,
                    cfg->core_only ? dm->core_qmp_path : dm->qmp_path,
                    strerror(-rc), dm->log_path, tail ? tail : "(empty)");
        }
        goto out;
    }
    *dm_r = dm;
    dm = NULL;
    rc = 0;
out:
    if (dm) {
        xendm__qmp_close(dm);
        kill_and_reap(dm, 500);
        unlink_files(dm, false);
        dm_free(dm);
    }
    if (logfd >= 0)
        close(logfd);
    if (errpipe[0] >= 0)
        close(errpipe[0]);
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    free(tail);
    xendm_argv_free(argv);
    return rc;
}

void xendm_destroy(struct xendm *dm, unsigned int timeout_ms, bool keep_log)
{
    uint64_t deadline;

    if (!dm)
        return;
    if (dm->fd >= 0 && (dm->pid > 0 || !dm->spawned)) {
        /* quit: qemu answers, then closes the connection and exits. */
        if (xendm_qmp_send(dm, "quit", NULL, NULL, NULL) == 0) {
            deadline = now_ms() + (timeout_ms ? timeout_ms : 3000);
            while (dm->fd >= 0 && now_ms() < deadline) {
                struct pollfd pfd;

                xendm_pollfd(dm, &pfd);
                if (poll(&pfd, 1, 50) > 0)
                    xendm_io(dm, pfd.revents);
            }
            while (!xendm_exited(dm, NULL) && now_ms() < deadline)
                usleep(5000);
        }
    }
    xendm__qmp_close(dm);
    kill_and_reap(dm, timeout_ms);
    unlink_files(dm, keep_log);
    dm_free(dm);
}

int xendm_connect(const char *qmp_path, unsigned int domid, pid_t pid,
                  const struct xendm_logger *lg, xendm_event_fn *event,
                  void *opaque, unsigned int timeout_ms,
                  struct xendm **dm_r)
{
    struct xendm *dm;
    int rc;

    dm = calloc(1, sizeof(*dm));
    if (!dm)
        return -ENOMEM;
    if (lg)
        dm->lg = *lg;
    dm->domid = domid;
    dm->fd = -1;
    dm->pid = pid > 0 ? pid : 0;
    dm->event = event;
    dm->event_opaque = opaque;
    dm->next_id = 1;
    dm->accel = XENDM_ACCEL_AUTO;
    dm->qmp_path = strdup(qmp_path);
    if (!dm->qmp_path) {
        dm_free(dm);
        return -ENOMEM;
    }
    rc = xendm__qmp_connect(dm, timeout_ms ? timeout_ms : 5000);
    if (rc) {
        XDM_LOG(lg, XENDM_ERROR, "qemu-dm: domain %u: cannot connect to "
                "QMP on %s: %s", domid, qmp_path, strerror(-rc));
        xendm__qmp_close(dm);
        dm_free(dm);
        return rc;
    }
    *dm_r = dm;
    return 0;
}

void xendm_release(struct xendm *dm)
{
    if (!dm)
        return;
    xendm__qmp_close(dm);
    dm_free(dm);
}

const char *xendm_core_qmp_path(const struct xendm *dm)
{
    return dm->core_qmp_path;
}

pid_t xendm_pid(const struct xendm *dm)
{
    return dm->pid;
}

const char *xendm_log_path(const struct xendm *dm)
{
    return dm->log_path;
}

const char *xendm_qmp_path(const struct xendm *dm)
{
    return dm->qmp_path;
}

enum xendm_accel xendm_accel_used(const struct xendm *dm)
{
    return dm->accel;
}
