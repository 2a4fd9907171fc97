/*
 * qsd.c - the qemu-storage-daemon child of xenolith-blkback: starting
 * it, noticing its death, stopping it, and the QMP commands that put a
 * device's export in it and take it out again.
 */
#include "blkback.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define QSD_START_MS 25000      /* for its QMP socket to appear (seconds
                                 * when cold in the nested, emulated lane;
                                 * with QSD_QMP_MS below libxl's 60 s,
                                 * so that this says why first) */
#define QSD_QMP_MS 25000        /* for one QMP reply (its greeting took
                                 * over 10 s once in a loaded lane) */
#define QSD_QUIT_MS 3000        /* from quit to SIGKILL */
#define QSD_EXPORT_GONE_MS 5000 /* for a deleted export to go */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "signal %d, %s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "wait status %#x", status);
}

/*
 * The daemon writes to our stderr, which libxl points at the domain's
 * blkback log.  When that is a file, what the daemon said since offset
 * `from` is read back from it for the message of a failed start.
 */
static off_t output_offset(void)
{
    struct stat st;

    if (fstat(STDERR_FILENO, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;
    return st.st_size;
}

/* The last lines written since `from`, joined by " | " (malloc'd). */
static char *output_tail(off_t from)
{
    char buf[2048], *out, *p, *start;
    unsigned int lines = 0;
    struct stat st;
    ssize_t n;
    int fd;

    if (from < 0)
        return strdup("(its output is above)");
    fd = open("/proc/self/fd/2", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return strdup("(its output is in this log)");
    }
    if (st.st_size - from > (off_t)sizeof(buf) - 1)
        from = st.st_size - (off_t)sizeof(buf) + 1;
    n = pread(fd, buf, sizeof(buf) - 1, from);
    close(fd);
    if (n <= 0)
        return strdup("(it said nothing)");
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    for (start = buf + n; start > buf; start--)
        if (start[-1] == '\n' && ++lines == 5)
            break;
    out = malloc(strlen(start) * 3 + 1);
    if (!out)
        return NULL;
    for (p = out; *start; start++) {
        if (*start == '\r')
            continue;
        if (*start == '\n') {
            memcpy(p, " | ", 3);
            p += 3;
        } else {
            *p++ = *start;
        }
    }
    *p = '\0';
    return out;
}

/* A path inside a qemu option value: commas are doubled. */
static char *opt_escape(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 1), *p = out;

    if (!out)
        return NULL;
    for (; *s; s++) {
        if (*s == ',')
            *p++ = ',';
        *p++ = *s;
    }
    *p = '\0';
    return out;
}

/* A JSON string literal for s, quotes included (malloc'd). */
static char *json_quote(const char *s)
{
    char *out = malloc(strlen(s) * 6 + 3), *p = out;
    unsigned char c;

    if (!out)
        return NULL;
    *p++ = '"';
    for (; *s; s++) {
        c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

/*
 * libxendm's messages.  A refused QMP command is logged there without
 * knowing which device it was for: its description is kept for the
 * caller, which logs it once with the device.
 */
static void lib_log(void *opaque, enum xendm_level level, const char *msg)
{
    struct qsd *q = opaque;
    const char *p, *desc;

    if (level == XENDM_DEBUG)
        return;
    if (level == XENDM_ERROR && strstr(msg, "QMP command ") &&
        (p = strstr(msg, " failed: "))) {
        p += strlen(" failed: ");
        desc = strstr(p, ": ");         /* past the error class */
        snprintf(q->qmp_error, sizeof(q->qmp_error), "%s",
                 desc ? desc + 2 : p);
        return;
    }
    blkback_log("%s", msg);
}

static void on_event(struct xendm *dm, void *opaque,
                     const struct xendm_event *ev)
{
    struct qsd *q = opaque;

    if (ev->type == XENDM_EVENT_GONE)
        q->gone = true;
}

bool qsd_up(const struct qsd *q)
{
    return q->dm && !q->gone && !q->exited;
}

bool qsd_reap(struct qsd *q)
{
    if (q->pid <= 0 || q->exited)
        return q->exited;
    if (waitpid(q->pid, &q->status, WNOHANG) == q->pid)
        q->exited = true;
    return q->exited;
}

/* SIGKILL and reap; the caller forgets the pid. */
static void kill_reap(struct qsd *q)
{
    if (q->pid <= 0 || q->exited)
        return;
    kill(q->pid, SIGKILL);
    while (waitpid(q->pid, &q->status, 0) < 0 && errno == EINTR)
        ;
    q->exited = true;
}

static void forget(struct qsd *q)
{
    xendm_release(q->dm);
    q->dm = NULL;
    q->pid = 0;
    q->gone = false;
    q->exited = false;
}

/* After fork: the daemon, with our stdout and stderr, dying with us. */
static void child(const char *bin, char *chardev, int errpipe,
                  pid_t parent)
{
    char *argv[] = {
        (char *)bin, "--chardev", chardev, "--monitor", "chardev=qmp", NULL,
    };
    sigset_t none;
    int null, e;

    /* blkback blocks the signals its signalfd reads and ignores SIGPIPE;
     * both would be inherited through exec. */
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* A kill -9 of blkback must not leave a daemon serving the disks
     * with nobody supervising it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        goto fail;
    if (getppid() != parent) {
        errno = ESRCH;  /* blkback died before prctl took effect */
        goto fail;
    }
    /* xenstore's and the lock's fds are not the daemon's business. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0)
        goto fail;
    if (null != STDIN_FILENO)
        close(null);
    execvp(bin, argv);
fail:
    e = errno;
    if (write(errpipe, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

/* Until the QMP socket exists: 0, or -errno with the reason in err and
 * the child reaped. */
static int wait_socket(struct qsd *q, off_t out_off, char *err,
                       size_t errlen)
{
    uint64_t deadline = now_ms() + QSD_START_MS;
    char how[64], *tail;
    struct stat st;

    for (;;) {
        if (qsd_reap(q)) {
            describe_status(q->status, how, sizeof(how));
            tail = output_tail(out_off);
            snprintf(err, errlen, "%s (pid %d) exited (%s) before its "
                     "QMP socket %s was up; its output: %s", q->bin,
                     (int)q->pid, how, q->qmp_path,
                     tail ? tail : "(unknown)");
            free(tail);
            return -ECHILD;
        }
        if (stat(q->qmp_path, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
        if (now_ms() >= deadline)
            break;
        usleep(5000);
    }
    kill_reap(q);
    tail = output_tail(out_off);
    snprintf(err, errlen, "%s (pid %d) made no QMP socket %s in %d s: "
             "killed it; its output: %s", q->bin, (int)q->pid, q->qmp_path,
             QSD_START_MS / 1000, tail ? tail : "(unknown)");
    free(tail);
    return -ETIMEDOUT;
}

/* The daemon's version, 0.0 if it cannot say. */
static void query_version(struct qsd *q)
{
    static const char *major_key[] = { "qemu", "major", NULL };
    static const char *minor_key[] = { "qemu", "minor", NULL };
    yajl_val ret = NULL, major, minor;

    q->major = q->minor = 0;
    if (xendm_qmp_call(q->dm, "query-version", NULL, QSD_QMP_MS, &ret))
        return;
    major = yajl_tree_get(ret, major_key, yajl_t_number);
    minor = yajl_tree_get(ret, minor_key, yajl_t_number);
    if (YAJL_IS_INTEGER(major) && YAJL_IS_INTEGER(minor) &&
        YAJL_GET_INTEGER(major) >= 0 && YAJL_GET_INTEGER(minor) >= 0) {
        q->major = (unsigned int)YAJL_GET_INTEGER(major);
        q->minor = (unsigned int)YAJL_GET_INTEGER(minor);
    }
    yajl_tree_free(ret);
}

bool qsd_down(const struct qsd *q)
{
    return q->pid <= 0 && !q->dm;
}

int qsd_start(struct qsd *q, char *err, size_t errlen)
{
    char *path = NULL, *chardev = NULL;
    int errpipe[2] = { -1, -1 }, e, rc;
    pid_t parent = getpid(), pid;
    off_t out_off;
    ssize_t n;

    q->lg.log = lib_log;
    q->lg.opaque = q;
    forget(q);
    /* A socket left by a dead daemon would be connected to by mistake. */
    if (unlink(q->qmp_path) < 0 && errno != ENOENT) {
        rc = -errno;
        snprintf(err, errlen, "cannot remove the old QMP socket %s: %s",
                 q->qmp_path, strerror(errno));
        goto out;
    }
    path = opt_escape(q->qmp_path);
    if (!path || asprintf(&chardev, "socket,id=qmp,path=%s,server=on,"
                          "wait=off", path) < 0) {
        chardev = NULL;
        rc = -ENOMEM;
        snprintf(err, errlen, "starting %s: out of memory", q->bin);
        goto out;
    }
    if (pipe2(errpipe, O_CLOEXEC) < 0) {
        rc = -errno;
        snprintf(err, errlen, "starting %s: pipe: %s", q->bin,
                 strerror(errno));
        goto out;
    }
    out_off = output_offset();
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        snprintf(err, errlen, "starting %s: fork: %s", q->bin,
                 strerror(errno));
        goto out;
    }
    if (pid == 0)
        child(q->bin, chardev, errpipe[1], parent);
    q->pid = pid;
    close(errpipe[1]);
    errpipe[1] = -1;
    do {
        n = read(errpipe[0], &e, sizeof(e));
    } while (n < 0 && errno == EINTR);
    if (n == sizeof(e)) {
        kill_reap(q);
        rc = -e;
        snprintf(err, errlen, "cannot run qemu-storage-daemon '%s': %s",
                 q->bin, strerror(e));
        goto out;
    }
    rc = wait_socket(q, out_off, err, errlen);
    if (rc)
        goto out;
    rc = xendm_connect(q->qmp_path, q->domid, q->pid, &q->lg, on_event, q,
                       QSD_QMP_MS, &q->dm);
    if (rc) {
        /* -ECHILD: libxendm saw it exit and reaped it. */
        if (rc != -ECHILD)
            kill_reap(q);
        snprintf(err, errlen, "no QMP from %s (pid %d) on %s: %s", q->bin,
                 (int)q->pid, q->qmp_path, strerror(-rc));
        q->dm = NULL;
        goto out;
    }
    query_version(q);
    blkback_log("qemu-storage-daemon %u.%u started (pid %d, QMP %s)",
                q->major, q->minor, (int)q->pid, q->qmp_path);
    rc = 0;
out:
    if (rc) {
        q->pid = 0;
        q->exited = false;
        unlink(q->qmp_path);
    }
    if (errpipe[0] >= 0)
        close(errpipe[0]);
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    free(chardev);
    free(path);
    return rc;
}

bool qsd_count_death(struct qsd *q)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (q->nr_deaths == QSD_MAX_DEATHS) {
        memmove(q->deaths, q->deaths + 1,
                (QSD_MAX_DEATHS - 1) * sizeof(q->deaths[0]));
        q->nr_deaths--;
    }
    q->deaths[q->nr_deaths++] = now;
    return q->nr_deaths == QSD_MAX_DEATHS &&
           now.tv_sec - q->deaths[0].tv_sec < QSD_DEATH_WINDOW_S;
}

bool qsd_died(struct qsd *q, bool wanted)
{
    uint64_t deadline = now_ms() + 1000;
    char how[64];
    bool too_many;

    /* The monitor closed but no SIGCHLD yet, or a daemon that closed it
     * and lives on: it must be gone before another one takes the same
     * sockets. */
    while (!qsd_reap(q) && now_ms() < deadline)
        usleep(5000);
    kill_reap(q);
    describe_status(q->status, how, sizeof(how));
    too_many = qsd_count_death(q);
    blkback_log("qemu-storage-daemon (pid %d) exited (%s); %s", (int)q->pid,
                how, !wanted ? "no disk needs it: not restarting it" :
                too_many ? "it keeps dying: giving up" : "restarting");
    forget(q);
    return too_many;
}

void qsd_stop(struct qsd *q)
{
    uint64_t deadline = now_ms() + QSD_QUIT_MS;
    struct pollfd pfd;

    if (qsd_up(q) && xendm_qmp_send(q->dm, "quit", NULL, NULL, NULL) == 0) {
        /* It answers, closes the monitor, then exits. */
        while (!q->gone && now_ms() < deadline) {
            xendm_pollfd(q->dm, &pfd);
            if (poll(&pfd, 1, 50) > 0)
                xendm_io(q->dm, pfd.revents);
        }
    }
    while (q->pid > 0 && !qsd_reap(q) && now_ms() < deadline)
        usleep(10000);
    if (q->pid > 0 && !q->exited)
        blkback_log("qemu-storage-daemon (pid %d) did not quit in %d s: "
                    "killing it", (int)q->pid, QSD_QUIT_MS / 1000);
    kill_reap(q);
    forget(q);
    unlink(q->qmp_path);
}

void qsd_pollfd(const struct qsd *q, int *fd_r, short *events_r)
{
    struct pollfd pfd;

    *fd_r = -1;
    *events_r = 0;
    if (!q->dm)
        return;
    xendm_pollfd(q->dm, &pfd);
    *fd_r = pfd.fd;
    *events_r = pfd.events;
}

void qsd_io(struct qsd *q, short revents)
{
    /* A closed connection comes back as the GONE event (q->gone). */
    if (q->dm)
        xendm_io(q->dm, revents);
}

/*
 * One command, synchronously.  A refusal (-EIO) puts qemu's description
 * in err.  A daemon that does not answer is as good as dead: it is
 * killed, to be restarted by the loop, and the call fails -EPIPE.
 */
static int qmp(struct qsd *q, const char *cmd, const char *args,
               yajl_val *ret_r, char *err, size_t errlen)
{
    int rc;

    if (!qsd_up(q)) {
        snprintf(err, errlen, "qemu-storage-daemon is not running");
        return -EPIPE;
    }
    q->qmp_error[0] = '\0';
    rc = xendm_qmp_call(q->dm, cmd, args, QSD_QMP_MS, ret_r);
    if (rc == -EIO) {
        snprintf(err, errlen, "%s",
                 q->qmp_error[0] ? q->qmp_error : "refused by qemu");
    } else if (rc == -ETIMEDOUT) {
        blkback_log("qemu-storage-daemon (pid %d) did not answer %s in "
                    "%d s: killing it", (int)q->pid, cmd,
                    QSD_QMP_MS / 1000);
        kill(q->pid, SIGKILL);
        q->gone = true;
        rc = -EPIPE;
    }
    if (rc && rc != -EIO)
        snprintf(err, errlen, "qemu-storage-daemon: %s: %s", cmd,
                 rc == -EPIPE ? "it went away" : strerror(-rc));
    return rc;
}

/* A QMP call whose arguments are built here; -ENOMEM if they cannot. */
static int qmpf(struct qsd *q, const char *cmd, yajl_val *ret_r, char *err,
                size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int qmpf(struct qsd *q, const char *cmd, yajl_val *ret_r, char *err,
                size_t errlen, const char *fmt, ...)
{
    char *args;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vasprintf(&args, fmt, ap);
    va_end(ap);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = qmp(q, cmd, args, ret_r, err, errlen);
    free(args);
    return rc;
}

/* A JSON string's text, or "" for anything else. */
static const char *jstr(yajl_val v)
{
    return YAJL_IS_STRING(v) ? v->u.string : "";
}

/* The virtual size of node d<devid> (query-named-block-nodes). */
static int node_size(struct qsd *q, const struct vbd *v, uint64_t *size_r,
                     char *err, size_t errlen)
{
    static const char *name_key[] = { "node-name", NULL };
    static const char *size_key[] = { "image", "virtual-size", NULL };
    yajl_val ret = NULL, node, name, size;
    char want[32];
    size_t i;
    int rc;

    rc = qmp(q, "query-named-block-nodes", "{\"flat\":true}", &ret, err,
             errlen);
    if (rc)
        return rc;
    snprintf(want, sizeof(want), "d%u", v->devid);
    rc = -ENOENT;
    snprintf(err, errlen, "qemu-storage-daemon does not list node %s",
             want);
    for (i = 0; YAJL_IS_ARRAY(ret) && i < ret->u.array.len; i++) {
        node = ret->u.array.values[i];
        name = yajl_tree_get(node, name_key, yajl_t_string);
        if (strcmp(jstr(name), want))
            continue;
        size = yajl_tree_get(node, size_key, yajl_t_number);
        if (size && YAJL_IS_INTEGER(size) && YAJL_GET_INTEGER(size) >= 0) {
            *size_r = (uint64_t)YAJL_GET_INTEGER(size);
            rc = 0;
        }
        break;
    }
    yajl_tree_free(ret);
    return rc;
}

int qsd_export(struct qsd *q, const struct vbd *v, uint64_t *size_r,
               char *err, size_t errlen)
{
    const char *ro = v->writable ? "false" : "true";
    const char *discard = v->discard ? ",\"discard\":\"unmap\"" : "";
    char *target = json_quote(v->target), *sock = json_quote(v->sock);
    char ignored[256];
    int nodes = 0, rc;

    if (!target || !sock) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    rc = qmpf(q, "blockdev-add", NULL, err, errlen,
              "{\"driver\":\"%s\",\"node-name\":\"f%u\",\"filename\":%s,"
              "\"read-only\":%s,\"aio\":\"threads\"%s}",
              v->blockdev ? "host_device" : "file", v->devid, target, ro,
              discard);
    if (rc)
        goto out;
    nodes++;
    rc = qmpf(q, "blockdev-add", NULL, err, errlen,
              "{\"driver\":\"%s\",\"node-name\":\"d%u\",\"file\":\"f%u\","
              "\"read-only\":%s%s}", v->format, v->devid, v->devid, ro,
              discard);
    if (rc)
        goto out;
    nodes++;
    rc = node_size(q, v, size_r, err, errlen);
    if (rc)
        goto out;
    rc = qmpf(q, "block-export-add", NULL, err, errlen,
              "{\"type\":\"vhost-user-blk\",\"id\":\"e%u\","
              "\"node-name\":\"d%u\",\"writable\":%s,"
              "\"addr\":{\"type\":\"unix\",\"path\":%s}}",
              v->devid, v->devid, v->writable ? "true" : "false", sock);
out:
    /* Nodes left behind would make the devid's next attempt clash. */
    if (rc && rc != -EPIPE && nodes > 1)
        qmpf(q, "blockdev-del", NULL, ignored, sizeof(ignored),
             "{\"node-name\":\"d%u\"}", v->devid);
    if (rc && rc != -EPIPE && nodes > 0)
        qmpf(q, "blockdev-del", NULL, ignored, sizeof(ignored),
             "{\"node-name\":\"f%u\"}", v->devid);
    free(target);
    free(sock);
    return rc;
}

/* Whether export e<devid> is still listed; -errno if qemu cannot say. */
static int export_listed(struct qsd *q, const struct vbd *v, char *err,
                         size_t errlen)
{
    static const char *id_key[] = { "id", NULL };
    yajl_val ret = NULL, id;
    char want[32];
    size_t i;
    int rc;

    rc = qmp(q, "query-block-exports", NULL, &ret, err, errlen);
    if (rc)
        return rc;
    snprintf(want, sizeof(want), "e%u", v->devid);
    for (i = 0; YAJL_IS_ARRAY(ret) && i < ret->u.array.len; i++) {
        id = yajl_tree_get(ret->u.array.values[i], id_key, yajl_t_string);
        if (!strcmp(jstr(id), want)) {
            rc = 1;
            break;
        }
    }
    yajl_tree_free(ret);
    return rc;
}

int qsd_unexport(struct qsd *q, const struct vbd *v)
{
    uint64_t deadline;
    char err[256];
    int rc;

    rc = qmpf(q, "block-export-del", NULL, err, sizeof(err),
              "{\"id\":\"e%u\"}", v->devid);
    if (rc == -EIO) {
        /* "safe" refuses while the guest's qemu is connected; the
         * device was detached, so that connection goes too. */
        blkback_log_vbd(v, "block-export-del: %s; removing it with mode "
                        "hard", err);
        rc = qmpf(q, "block-export-del", NULL, err, sizeof(err),
                  "{\"id\":\"e%u\",\"mode\":\"hard\"}", v->devid);
    }
    if (rc)
        goto fail;
    /* Deletion completes in the background: the nodes stay in use until
     * the export is gone (BLOCK_EXPORT_DELETED). */
    deadline = now_ms() + QSD_EXPORT_GONE_MS;
    while ((rc = export_listed(q, v, err, sizeof(err))) == 1) {
        if (now_ms() >= deadline) {
            snprintf(err, sizeof(err), "export e%u still listed after "
                     "%d s", v->devid, QSD_EXPORT_GONE_MS / 1000);
            rc = -ETIMEDOUT;
            goto fail;
        }
        usleep(20000);
    }
    if (rc)
        goto fail;
    rc = qmpf(q, "blockdev-del", NULL, err, sizeof(err),
              "{\"node-name\":\"d%u\"}", v->devid);
    if (rc)
        goto fail;
    rc = qmpf(q, "blockdev-del", NULL, err, sizeof(err),
              "{\"node-name\":\"f%u\"}", v->devid);
    if (rc)
        goto fail;
    return 0;
fail:
    blkback_log_vbd(v, "removing it from qemu-storage-daemon: %s", err);
    return rc;
}
