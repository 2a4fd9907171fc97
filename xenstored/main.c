/*
 * main.c: xenstored start-up: options, daemonising, pid file, shut-down.
 *
 * Without -N the daemon forks; the parent exits 0 only once the child's
 * socket is listening and its pid file is written, or 1 when start-up
 * failed (the reason is on stderr), so init scripts can start clients
 * straight after it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "options.h"

/* `path` made absolute against the current directory (we chdir to /). */
static char *abs_path(const char *path)
{
    char cwd[PATH_MAX];
    char *p;

    if (path[0] == '/')
        return strdup(path);
    if (!getcwd(cwd, sizeof(cwd)))
        return NULL;
    if (asprintf(&p, "%s/%s", cwd, path) < 0)
        return NULL;
    return p;
}

/* $XENSTORED_RUNDIR, else $XENOLITH_RUNDIR/xenstored, else the default. */
static char *find_rundir(void)
{
    const char *env;
    char *dir, *p;

    env = getenv("XENSTORED_RUNDIR");
    if (env && env[0])
        return abs_path(env);
    env = getenv("XENOLITH_RUNDIR");
    if (!env || !env[0])
        env = XENOLITH_DEFAULT_RUNDIR;
    if (asprintf(&dir, "%s/xenstored", env) < 0)
        return NULL;
    p = abs_path(dir);
    free(dir);
    return p;
}

static int write_pid_file(const char *path)
{
    char buf[32];
    int fd, n, rc;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
              0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (write(fd, buf, (size_t)n) != n) {
        rc = errno ? -errno : -EIO;
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0 && close(fd) < 0 && !rc)
        rc = -errno;
    if (rc)
        log_msg(LOG_LVL_ERROR, "writing pid file %s: %s", path,
                strerror(-rc));
    return rc;
}

/*
 * Forks.  The parent waits for the child's "ready" byte on a pipe and exits
 * with 0 (ready) or 1 (the child failed).  In the child, returns the write
 * end of the pipe, or -1 on failure (in the parent).
 */
static int daemonise(void)
{
    int p[2];
    pid_t pid;
    char c;
    ssize_t n;

    if (pipe2(p, O_CLOEXEC) < 0) {
        log_msg(LOG_LVL_ERROR, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        log_msg(LOG_LVL_ERROR, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        do {
            n = read(p[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 && c == 'R' ? 0 : 1);
    }
    close(p[0]);
    setsid();
    return p[1];
}

/* Stdio to /dev/null, cwd to /, and the log to syslog unless -L. */
static void detach(const struct options *o)
{
    int fd = open("/dev/null", O_RDWR | O_NOCTTY);

    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    if (chdir("/") < 0) {
        /* Paths are absolute already; nothing depends on the cwd. */
    }
    if (!o->log_file)
        log_open(NULL, true, o->verbose);
}

int main(int argc, char **argv)
{
    struct io_config icfg = { .out_limit = IO_OUT_LIMIT_DEFAULT };
    struct options o;
    struct io *io = NULL;
    char *rundir = NULL, *pid_file = NULL, *log_file = NULL;
    char *trace_file = NULL, *self = NULL, **args = NULL, *snapshot = NULL;
    char err[256];
    int ready_fd = -1;
    int rc, status = 1, i, n;

    /* what a live update executes again: this binary (as it was found at
     * start: an upgrade replaces the file) and the command line, kept
     * before getopt permutes it, without a former --live-restore */
    self = realpath("/proc/self/exe", NULL);
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args) {
        fprintf(stderr, "xenstored: out of memory\n");
        free(self);
        return 1;
    }
    for (i = 0, n = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--live-restore") && i + 1 < argc) {
            i++;
            continue;
        }
        if (!strncmp(argv[i], "--live-restore=", 15))
            continue;
        args[n++] = argv[i];
    }
    engine_config_init(&o.cfg);
    options_init(&o);
    if (options_parse(&o, argc, argv, err, sizeof(err))) {
        fprintf(stderr, "xenstored: %s\nTry 'xenstored --help'.\n", err);
        goto out;
    }
    if (o.help) {
        options_usage(stdout, "xenstored");
        status = 0;
        goto out;
    }

    if (o.restore) {
        /* a live update: this process replaces the running daemon, whose
         * pid, stdio and session it keeps (lu.h) */
        o.foreground = true;
        o.output_pid = false;
    }
    rundir = find_rundir();
    if (o.pid_file)
        pid_file = abs_path(o.pid_file);
    if (o.log_file)
        log_file = abs_path(o.log_file);
    if (o.trace_file)
        trace_file = abs_path(o.trace_file);
    if (o.snapshot)
        snapshot = abs_path(o.snapshot);
    if (!rundir || (o.pid_file && !pid_file) || (o.log_file && !log_file) ||
        (o.trace_file && !trace_file) || (o.snapshot && !snapshot)) {
        fprintf(stderr, "xenstored: resolving paths: %s\n", strerror(errno));
        goto out;
    }

    rc = log_open(log_file, false, o.verbose);
    if (rc) {
        fprintf(stderr, "xenstored: opening log file %s: %s\n", log_file,
                strerror(-rc));
        goto out;
    }
    icfg.rundir = rundir;
    icfg.outstanding = o.outstanding;
    icfg.self = self;
    icfg.argv = args;
    icfg.restore_fd = o.restore ? (int)o.restore_fd : -1;
    icfg.snapshot = snapshot;
    rc = io_new(&icfg, &o.cfg, &io);
    if (rc)
        goto out;

    if (!o.foreground) {
        ready_fd = daemonise();
        if (ready_fd < 0)
            goto out;
    }
    rc = log_trace_set(trace_file);
    if (rc) {
        log_msg(LOG_LVL_ERROR, "opening trace file %s: %s", trace_file,
                strerror(-rc));
        goto out;
    }
    if (pid_file && write_pid_file(pid_file)) {
        free(pid_file);
        pid_file = NULL;
        goto out;
    }
    if (o.output_pid) {
        printf("%ld\n", (long)getpid());
        fflush(stdout);
    }
    if (!o.foreground) {
        detach(&o);
        if (write(ready_fd, "R", 1) != 1)
            goto out;
        close(ready_fd);
        ready_fd = -1;
    }
    log_msg(LOG_LVL_INFO, "serving %s/socket", rundir);

    rc = io_run(io);
    status = rc ? 1 : 0;

out:
    io_free(io);
    if (pid_file)
        unlink(pid_file);
    if (ready_fd >= 0)
        close(ready_fd);
    log_close();
    free(rundir);
    free(pid_file);
    free(log_file);
    free(trace_file);
    free(self);
    free(args);
    free(snapshot);
    return status;
}
