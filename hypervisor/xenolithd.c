/*
 * xenolithd.c - the Xenolith core daemon: options, set-up, signals; the
 * event loop is loop.c.
 *
 * Usage: xenolithd [-F] [--rundir DIR] [--log-file FILE] [-v]
 *                  [--console-log-dir DIR] [--group NAME] [--upgrade]
 * Without -F it forks into the background once core.sock is listening
 * (the parent exits 0 then), writing <rundir>/xenolithd.pid.
 *
 * Restarts (adopt.h): at start it takes back the domains an earlier
 * daemon left in <rundir>/dom.  SIGTERM stops the daemon and destroys
 * every domain; SIGUSR2 stops it leaving them running, detached, for the
 * next daemon; --upgrade sends that to the running daemon, waits for it
 * to exit and starts in its place.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "adopt.h"
#include "control.h"
#include "credit.h"
#include "domain.h"
#include "log.h"
#include "loop.h"
#include "osdep.h"
#include "record.h"
#include "settings.h"
#include "vm.h"

static int quit;                 /* 1: stop; QUIT_DETACH: upgrade */
#define QUIT_DETACH 2

static void signal_cb(struct loop_fd *w, uint32_t events)
{
    struct signalfd_siginfo si;

    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            domain_reap();
            break;
        case SIGTERM:
        case SIGINT:
            dlog(DLOG_INFO, "signal %u: shutting down", si.ssi_signo);
            quit = 1;
            break;
        case SIGUSR2:
            dlog(DLOG_INFO, "signal %u: leaving the domains running for "
                 "the next daemon", si.ssi_signo);
            quit = QUIT_DETACH;
            break;
        }
    }
}

static int kvm_max_vcpus(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int n;

    if (fd < 0) {
        dlog(DLOG_ERR, "/dev/kvm: %s", strerror(errno));
        return -1;
    }
    n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (n <= 0)
        n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    close(fd);
    if (n <= 0)
        n = 1;
    return n < VM_MAX_VCPUS ? n : VM_MAX_VCPUS;
}

static int mkdirs(const char *path, mode_t mode)
{
    char tmp[512];
    char *p;

    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* A planned upgrade: every domain process answers CHAN_DETACH (what it
 * sent before is read and logged first), then the daemon goes, leaving
 * them running. */
static void detach_all(void)
{
    struct timespec t0, t;
    long ms = 0;

    domain_detach_all();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (domain_detaching() && ms < ADOPT_DETACH_MS) {
        if (loop_run_once() < 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        ms = (t.tv_sec - t0.tv_sec) * 1000 +
             (t.tv_nsec - t0.tv_nsec) / 1000000;
    }
    if (domain_detaching())
        dlog(DLOG_ERR, "%u domain(s) did not detach within %d ms; a new "
             "daemon takes them over all the same", domain_detaching(),
             ADOPT_DETACH_MS);
    dlog(DLOG_INFO, "%u domain(s) left running for the next daemon",
         domain_count());
}

/* --upgrade: stop the running daemon with SIGUSR2 and wait for it to go.
 * 0 (also when none runs) or -1 (logged). */
static int stop_previous(void)
{
    char path[300], comm[64] = "";
    long pid = 0;
    FILE *f;
    int pidfd, n;
    struct pollfd pfd;

    snprintf(path, sizeof(path), "%s/xenolithd.pid", config.rundir);
    f = fopen(path, "re");
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
    if (pid > 0 && (f = fopen(path, "re"))) {
        if (!fgets(comm, sizeof(comm), f))
            comm[0] = '\0';
        fclose(f);
    }
    if (pid <= 0 || strncmp(comm, "xenolithd", 9) != 0) {
        dlog(DLOG_INFO, "upgrade: no daemon runs for %s: starting",
             config.rundir);
        return 0;
    }
    pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (pidfd < 0 || kill((pid_t)pid, SIGUSR2) < 0) {
        dlog(DLOG_ERR, "upgrade: signalling xenolithd %ld: %s", pid,
             strerror(errno));
        return -1;
    }
    pfd.fd = pidfd;
    pfd.events = POLLIN;
    n = poll(&pfd, 1, ADOPT_DETACH_MS + 5000);
    close(pidfd);
    if (n != 1) {
        dlog(DLOG_ERR, "upgrade: xenolithd %ld did not exit within %d ms",
             pid, ADOPT_DETACH_MS + 5000);
        return -1;
    }
    dlog(DLOG_INFO, "upgrade: xenolithd %ld left its domains to us", pid);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: xenolithd [OPTIONS]\n"
            "  -F, --foreground          stay in the foreground\n"
            "  -r, --rundir DIR          sockets and pid file "
            "(default $XENOLITH_RUNDIR or %s)\n"
            "  -l, --log-file FILE       log there instead of stderr\n"
            "  -c, --console-log-dir DIR guest console logs "
            "(default RUNDIR/console)\n"
            "  -g, --group NAME          privileged group "
            "(default xenolith)\n"
            "  -v, --verbose             debug messages too\n"
            "  -u, --upgrade             take over from the running "
            "daemon: its domains\n"
            "                            run on (it exits on SIGUSR2)\n"
            "  -h, --help\n", XENOLITH_DEFAULT_RUNDIR);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "foreground", no_argument, NULL, 'F' },
        { "rundir", required_argument, NULL, 'r' },
        { "log-file", required_argument, NULL, 'l' },
        { "console-log-dir", required_argument, NULL, 'c' },
        { "group", required_argument, NULL, 'g' },
        { "verbose", no_argument, NULL, 'v' },
        { "upgrade", no_argument, NULL, 'u' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct loop_fd sigw = { .fd = -1 };
    const char *log_file = NULL, *env;
    int foreground = 0, verbose = 0, upgrade = 0, ready[2] = { -1, -1 };
    int opt, i, n, rc, max;
    sigset_t mask;
    char pidfile[300];
    size_t used = 0;

    env = getenv("XENOLITH_RUNDIR");
    snprintf(config.rundir, sizeof(config.rundir), "%s",
             env && *env ? env : XENOLITH_DEFAULT_RUNDIR);
    snprintf(config.group, sizeof(config.group), "xenolith");
    while ((opt = getopt_long(argc, argv, "Fr:l:c:g:uvh", opts,
                              NULL)) != -1) {
        switch (opt) {
        case 'F':
            foreground = 1;
            break;
        case 'r':
            snprintf(config.rundir, sizeof(config.rundir), "%s", optarg);
            break;
        case 'l':
            log_file = optarg;
            break;
        case 'c':
            snprintf(config.console_log_dir,
                     sizeof(config.console_log_dir), "%s", optarg);
            break;
        case 'g':
            snprintf(config.group, sizeof(config.group), "%s", optarg);
            break;
        case 'v':
            verbose = 1;
            break;
        case 'u':
            upgrade = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    for (i = 0; i < argc; i++) {
        n = snprintf(config.cmdline + used, sizeof(config.cmdline) - used,
                     "%s%s", i ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof(config.cmdline) - used)
            break;
        used += (size_t)n;
    }
    snprintf(config.console_dir, sizeof(config.console_dir), "%s/console",
             config.rundir);
    if (!config.console_log_dir[0])
        snprintf(config.console_log_dir, sizeof(config.console_log_dir),
                 "%s", config.console_dir);

    rc = log_open(log_file, verbose);
    if (rc < 0) {
        fprintf(stderr, "xenolithd: %s: %s\n", log_file, strerror(-rc));
        return 1;
    }
    if ((rc = mkdirs(config.rundir, 0755)) < 0 ||
        (rc = mkdirs(config.console_dir, 0750)) < 0 ||
        (rc = mkdirs(config.console_log_dir, 0750)) < 0) {
        dlog(DLOG_ERR, "creating %s: %s", config.rundir, strerror(-rc));
        return 1;
    }
    if (upgrade && stop_previous() < 0)
        return 1;
    if (record_init() < 0)
        return 1;
    max = kvm_max_vcpus();
    if (max < 0)
        dlog(DLOG_WARN, "no KVM: only device-model domains (qemu) can "
             "run");
    domain_init(max, control_event);

    if (!foreground) {
        pid_t pid;
        char c;

        if (pipe2(ready, O_CLOEXEC) < 0) {
            dlog(DLOG_ERR, "pipe: %s", strerror(errno));
            return 1;
        }
        pid = fork();
        if (pid < 0) {
            dlog(DLOG_ERR, "fork: %s", strerror(errno));
            return 1;
        }
        if (pid > 0) {
            /* wait until the daemon listens, or gives up */
            close(ready[1]);
            if (read(ready[0], &c, 1) == 1 && c == 'R')
                return 0;
            return 1;
        }
        close(ready[0]);
        setsid();
    }

    /* two descriptors per domain: allow as many as we may */
    {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    /* inherited by the domain processes (their vCPU threads reset it) */
    osdep_set_slice(OSDEP_CONTROL_SLICE_NS);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    rc = loop_init();
    sigw.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    sigw.cb = signal_cb;
    if (rc < 0 || sigw.fd < 0 || (rc = loop_add(&sigw, EPOLLIN)) < 0) {
        dlog(DLOG_ERR, "event loop set-up: %s",
             strerror(rc < 0 ? -rc : errno));
        return 1;
    }
    /* after the fork above: its group is named after our pid */
    credit_init();
    /* requests wait in the socket's backlog until the domains are back */
    if (control_init() < 0)
        return 1;
    adopt_scan();
    credit_sweep();
    if (max > 0 && domain_spare_init() < 0)
        dlog(DLOG_WARN, "cannot fork a spare domain process: %s",
             strerror(errno));

    snprintf(pidfile, sizeof(pidfile), "%s/xenolithd.pid", config.rundir);
    {
        FILE *f = fopen(pidfile, "we");

        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    dlog(DLOG_INFO, "xenolithd %s listening on %s/core.sock (max %d vCPUs "
         "per domain)", PACKAGE_VERSION, config.rundir, max);
    if (!foreground) {
        int devnull = open("/dev/null", O_RDWR);

        if (write(ready[1], "R", 1) < 0) {
            /* the parent is gone; carry on */
        }
        close(ready[1]);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            if (log_file)
                dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
    }

    while (!quit) {
        n = loop_run_once();
        if (n < 0) {
            dlog(DLOG_ERR, "epoll_wait: %s", strerror(-n));
            break;
        }
    }

    domain_spare_exit();
    if (quit == QUIT_DETACH) {
        detach_all();
    } else {
        domain_exit();
        credit_exit();
    }
    control_exit();
    loop_exit();
    unlink(pidfile);
    return 0;
}
