/*
 * xs_test_daemon.c: the daemon fixture of the store tests.
 */
#include "xs_test_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int can_connect(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd, rc;

    if (strlen(path) >= sizeof(addr.sun_path))
        return 0;
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    close(fd);
    return rc == 0;
}

/* The last bytes of the daemon's log, for start-up failures. */
static void log_tail(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;
    long size;

    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    if (size > (long)len - 1)
        fseek(f, size - ((long)len - 1), SEEK_SET);
    else
        fseek(f, 0, SEEK_SET);
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

int xs_test_daemon_start(struct xs_test_daemon *d, char *err, size_t errlen)
{
    const char *env = getenv("XS_TEST_XENSTORED_PATH");
    const char *bin = XENSTORED_BIN;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    char logpath[128];
    int i, status;

    memset(d, 0, sizeof(*d));
    if (env && *env) {
        snprintf(d->socket, sizeof(d->socket), "%s", env);
        if (!can_connect(d->socket)) {
            snprintf(err, errlen, "XS_TEST_XENSTORED_PATH=%s: no daemon "
                     "accepts on that socket", env);
            return -1;
        }
        setenv("XENSTORED_PATH", d->socket, 1);
        return 0;
    }

    if (access(bin, X_OK) != 0) {
        snprintf(err, errlen, "the daemon under test is not built: %s: %s "
                 "(build xenstored first)", bin, strerror(errno));
        return -1;
    }
    snprintf(d->dir, sizeof(d->dir), "/tmp/xs-test-XXXXXX");
    if (!mkdtemp(d->dir)) {
        snprintf(err, errlen, "mkdtemp %s: %s", d->dir, strerror(errno));
        return -1;
    }
    snprintf(d->socket, sizeof(d->socket), "%s/socket", d->dir);
    snprintf(logpath, sizeof(logpath), "%s/xenstored.log", d->dir);

    d->pid = fork();
    if (d->pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (d->pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        setenv("XENSTORED_RUNDIR", d->dir, 1);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        /* Refusals are logged; keep them out of the test output. */
        if (log >= 0)
            dup2(log, STDERR_FILENO);
        execl(bin, "xenstored", "-N", (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }

    /* Up to ten seconds for the socket to accept. */
    for (i = 0; i < 500; i++) {
        if (can_connect(d->socket)) {
            setenv("XENSTORED_PATH", d->socket, 1);
            return 0;
        }
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            char tail[256] = "";

            log_tail(logpath, tail, sizeof(tail));
            snprintf(err, errlen, "%s -N exited (status 0x%x) before "
                     "serving %s; its log ends: %s", bin, status,
                     d->socket, tail);
            d->pid = 0;
            xs_test_daemon_stop(d);
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    snprintf(err, errlen, "%s -N: no socket at %s after 10 s", bin,
             d->socket);
    xs_test_daemon_stop(d);
    return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    remove(path);
    return 0;
}

void xs_test_daemon_stop(struct xs_test_daemon *d)
{
    if (d->pid > 0) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        int i;

        kill(d->pid, SIGTERM);
        for (i = 0; i < 500; i++) {
            if (waitpid(d->pid, NULL, WNOHANG) == d->pid)
                break;
            nanosleep(&ts, NULL);
        }
        if (i == 500) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
        }
        d->pid = 0;
    }
    if (d->dir[0]) {
        nftw(d->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        d->dir[0] = '\0';
    }
}

void xs_test_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "/xs-test/%d/%s", (int)getpid(), name);
}
