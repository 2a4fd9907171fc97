/*
 * supervise.c - the supervisor half of a backend process (supervise.h).
 */
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEATHS 5
#define DEATH_WINDOW_S 60

static const char *sv_name;
static unsigned int sv_domid;

static void sv_log(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s[%u]: supervisor: ", sv_name, sv_domid);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static time_t now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Forks the worker: its pid here; 0 in the worker itself. */
static pid_t start_worker(const sigset_t *old)
{
    pid_t parent = getpid(), pid = fork();

    if (pid != 0)
        return pid;
    /* the worker: gone with its supervisor, its signals its own */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    sigprocmask(SIG_SETMASK, old, NULL);
    return 0;
}

int backend_supervise(const char *name, unsigned int domid)
{
    time_t deaths[MAX_DEATHS] = { 0 };
    struct signalfd_siginfo si;
    sigset_t sigs, old;
    unsigned int ndeaths = 0;
    int sfd, status;
    pid_t worker;

    sv_name = name;
    sv_domid = domid;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, &old);
    sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sfd < 0) {
        sv_log("cannot make its signalfd: %s", strerror(errno));
        exit(1);
    }
    for (;;) {
        worker = start_worker(&old);
        if (worker == 0) {
            close(sfd);
            return 0;
        }
        if (worker < 0) {
            sv_log("cannot fork the worker: %s", strerror(errno));
            exit(1);
        }
        for (;;) {
            if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
                if (errno == EINTR)
                    continue;
                sv_log("reading its signalfd: %s", strerror(errno));
                kill(worker, SIGKILL);
                exit(1);
            }
            if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                kill(worker, (int)si.ssi_signo);
                continue;
            }
            if (waitpid(worker, &status, WNOHANG) == worker)
                break;
        }
        if (WIFEXITED(status))
            exit(WEXITSTATUS(status));
        /* a death, not an exit: start it again unless it keeps dying */
        memmove(deaths, deaths + 1, (MAX_DEATHS - 1) * sizeof(*deaths));
        deaths[MAX_DEATHS - 1] = now_s();
        if (++ndeaths >= MAX_DEATHS &&
            deaths[MAX_DEATHS - 1] - deaths[0] < DEATH_WINDOW_S) {
            sv_log("the worker (pid %d) was killed by signal %d, %d times "
                   "in %d s: giving up", (int)worker, WTERMSIG(status),
                   MAX_DEATHS, DEATH_WINDOW_S);
            exit(1);
        }
        sv_log("the worker (pid %d) was killed by signal %d (%s); "
               "restarting it", (int)worker, WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    }
}
