/*
 * xl_devd.c - xl devd [-F] [-p PIDFILE]: this host as the driver domain
 * of other toolstacks' domains (libxl_device_events_handler).
 *
 * Without -F it daemonizes as xl's domain watcher does: its log is
 * $XENOLITH_RUNDIR/log/xl-xldevd.log (Xen's name, under Xen's
 * /var/log/xen), stdin /dev/null, its own session, the working directory
 * /; the pid in PIDFILE (-p; as in Xen, only when daemonizing).  The
 * command returns once the daemon is ready, or exits 1 with the daemon's
 * reason when it could not start.  One xl devd per host: the lock
 * $XENOLITH_RUNDIR/xl-devd.lock.  SIGTERM or SIGINT end it (status 0),
 * the pidfile removed; the backends keep serving their devices.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xl.h"

static const char *rundir(void)
{
    const char *r = getenv("XENOLITH_RUNDIR");

    return r && *r ? r : "/run/xenolith";
}

/* The daemon's report to the waiting parent: "" when ready, else why. */
static int report_fd = -1;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    /* to the log (or the terminal) and to the parent */
    fprintf(stderr, "xl devd: %s\n", buf);
    if (report_fd >= 0) {
        if (write(report_fd, buf, (size_t)n + 1) < 0) {
            /* the parent is gone: the log has it */
        }
        close(report_fd);
        report_fd = -1;
    }
}

static void ready(void)
{
    if (report_fd >= 0) {
        if (write(report_fd, "", 1) < 0) {
            /* the parent is gone */
        }
        close(report_fd);
        report_fd = -1;
    }
}

/* One xl devd per host: the lock, kept for the process's life. */
static int take_lock(void)
{
    char *path = xasprintf_("%s/xl-devd.lock", rundir());
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        report("cannot open the lock %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            report("another xl devd runs on this host (it holds %s)",
                   path);
        else
            report("cannot lock %s: %s", path, strerror(errno));
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;      /* left open: the lock lasts as long as the process */
}

static int write_pidfile(const char *path)
{
    char buf[32];
    int fd, n;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        report("cannot open the pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (write(fd, buf, (size_t)n) != n || close(fd) < 0) {
        report("cannot write the pidfile %s: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

static libxl_ctx *volatile abandoned_ctx;

/*
 * The double fork.  The parent (returns 1) waits for the daemon's
 * report: 0 once it is ready, -1 (reported) when it failed.  The
 * daemon returns 0 with stdio on the log, in a session of its own, and
 * its libxl context (the parent's stays with the parent).
 */
static int daemonize(int *ready_r)
{
    xentoollog_logger_stdiostream *lg;
    char *dir, *path, msg[512];
    int pfd[2], fd, nullfd, status;
    size_t len = 0;
    ssize_t n;
    pid_t child;

    if (pipe(pfd) < 0) {
        fprintf(stderr, "xl devd: pipe: %s\n", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    child = fork();
    if (child < 0) {
        fprintf(stderr, "xl devd: fork: %s\n", strerror(errno));
        return -1;
    }
    if (child) {
        close(pfd[1]);
        for (;;) {
            n = read(pfd[0], msg + len, sizeof(msg) - 1 - len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            len += (size_t)n;
            if (len == sizeof(msg) - 1 || memchr(msg, '\0', len))
                break;
        }
        close(pfd[0]);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
            ;
        msg[len] = '\0';
        if (len == 0) {
            fprintf(stderr, "xl devd: the daemon exited before it was "
                    "ready (see %s/log/xl-xldevd.log)\n", rundir());
            *ready_r = -1;
        } else if (msg[0]) {
            fprintf(stderr, "xl devd: %s\n", msg);
            *ready_r = -1;
        } else {
            *ready_r = 0;
        }
        return 1;
    }
    /* the middle process: a new session, then its child is the daemon */
    close(pfd[0]);
    if (setsid() < 0)
        _exit(1);
    child = fork();
    if (child < 0)
        _exit(1);
    if (child)
        _exit(0);
    report_fd = pfd[1];
    fcntl(report_fd, F_SETFD, FD_CLOEXEC);
    if (chdir("/") < 0) {
        report("chdir /: %s", strerror(errno));
        exit(1);
    }
    dir = xasprintf_("%s/log", rundir());
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        report("cannot create %s: %s", dir, strerror(errno));
        exit(1);
    }
    path = xasprintf_("%s/xl-xldevd.log", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        report("cannot open the log %s: %s", path, strerror(errno));
        exit(1);
    }
    nullfd = open("/dev/null", O_RDONLY);
    if (nullfd < 0) {
        report("cannot open /dev/null: %s", strerror(errno));
        exit(1);
    }
    free(path);
    free(dir);
    dup2(nullfd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(nullfd);
    close(fd);
    setvbuf(stderr, NULL, _IOLBF, 0);
    /* The parent's context (its sockets) is the parent's: kept
     * reachable, not freed (that would talk on the shared connection). */
    abandoned_ctx = ctx;
    ctx = NULL;
    lg = xtl_createlogger_stdiostream(stderr, XTL_PROGRESS,
                                      XTL_STDIOSTREAM_SHOW_DATE |
                                      XTL_STDIOSTREAM_SHOW_PID);
    if (!lg || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0,
                               (xentoollog_logger *)lg)) {
        report("cannot init the daemon's libxl context (xenstored or "
               "xenolithd gone?)");
        exit(1);
    }
    xl_logger = (xentoollog_logger *)lg;
    return 0;
}

int main_devd(int argc, char **argv)
{
    static const struct option opts[] = {
        { "pidfile", 1, 0, 'p' },
        COMMON_LONG_OPTS
    };
    const char *pidfile = NULL;
    char *abs_pidfile = NULL, *cwd;
    int opt, daemon = 1, rc, lock, ready_rc = 0;
    sigset_t sigs;

    SWITCH_FOREACH_OPT(opt, "Fp:", opts, "devd", 0) {
    case 'F':
        daemon = 0;
        break;
    case 'p':
        pidfile = optarg;
        break;
    }
    if (optind < argc) {
        fprintf(stderr, "xl devd: unexpected argument '%s'\n", argv[optind]);
        help("devd");
        return 2;
    }
    if (daemon) {
        /* the daemon works in /: the pidfile's path made absolute */
        if (pidfile && *pidfile) {
            if (pidfile[0] == '/') {
                abs_pidfile = xstrdup(pidfile);
            } else {
                cwd = getcwd(NULL, 0);
                if (!cwd) {
                    fprintf(stderr, "xl devd: getcwd: %s\n",
                            strerror(errno));
                    return 1;
                }
                abs_pidfile = xasprintf_("%s/%s", cwd, pidfile);
                free(cwd);
            }
        }
        rc = daemonize(&ready_rc);
        if (rc) {
            free(abs_pidfile);
            return rc < 0 || ready_rc ? 1 : 0;
        }
    }
    /* held back until the handler takes them: a SIGTERM from now on
     * still removes the pidfile */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    lock = take_lock();
    if (lock < 0) {
        free(abs_pidfile);
        return 1;
    }
    if (abs_pidfile && write_pidfile(abs_pidfile) < 0) {
        free(abs_pidfile);
        return 1;
    }
    if (daemon)
        fprintf(stderr, "xl devd: daemon started [pid %ld]\n",
                (long)getpid());
    ready();
    rc = libxl_device_events_handler(ctx, NULL);
    if (rc)
        fprintf(stderr, "xl devd: the device events handler failed: %s\n",
                xl_strerror(rc));
    if (abs_pidfile)
        unlink(abs_pidfile);
    free(abs_pidfile);
    close(lock);
    return rc ? 1 : 0;
}
