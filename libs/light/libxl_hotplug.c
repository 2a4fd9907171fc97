/*
 * libxl_hotplug.c - running a hotplug script (hotplug/: vif-bridge,
 * vif-route, vif-nat, block, or the user's own) as Xen's libxl does: the
 * action as its first argument, what it needs in its environment, its
 * stderr kept so that a failure says what the script said.
 */

#include "libxl_dm.h"

#include <fcntl.h>
#include <sys/wait.h>

char *libxl__hotplug_path(const char *script)
{
    const char *dir = getenv("XENOLITH_SCRIPTS_DIR");

    if (!dir || !*dir)
        dir = XENOLITH_SCRIPTDIR;
    return script[0] == '/' ? libxl__strdup_or_die(script)
                            : libxl__sprintf("%s/%s", dir, script);
}

/* The child: stdin and stdout on /dev/null, stderr into err_fd. */
static void child(const char *path, const char *action, const char *arg,
                  char *const *env, int err_fd)
{
    int fd = open("/dev/null", O_RDWR), i;

    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        if (fd > 2)
            close(fd);
    }
    dup2(err_fd, 2);
    for (i = 0; env[i]; i += 2) {
        if (env[i + 1])
            setenv(env[i], env[i + 1], 1);
        else
            unsetenv(env[i]);
    }
    execl(path, path, action, arg, (char *)NULL);
    _exit(127);
}

/* Reads fd to its end, keeping the last bytes of a long story. */
static void slurp(int fd, char *out, size_t size)
{
    size_t len = 0;
    ssize_t n;

    for (;;) {
        n = read(fd, out + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            len = 0;
    }
    out[len] = '\0';
    while (len && out[len - 1] == '\n')
        out[--len] = '\0';
}

int libxl__hotplug_run(libxl_ctx *ctx, const char *what, const char *script,
                       const char *action, const char *arg,
                       char *const *env)
{
    char *path = libxl__hotplug_path(script), out[1024], *nl;
    int status, rc, pfd[2] = { -1, -1 };
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        LOGE(ctx, ERROR, "%s: pipe for %s", what, path);
        rc = ERROR_FAIL;
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        LOGE(ctx, ERROR, "%s: fork for %s", what, path);
        rc = ERROR_FAIL;
        goto out;
    }
    if (pid == 0)
        child(path, action, arg, env, pfd[1]);
    close(pfd[1]);
    pfd[1] = -1;
    slurp(pfd[0], out, sizeof(out));
    nl = strrchr(out, '\n');
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            LOGE(ctx, ERROR, "%s: waiting for %s", what, path);
            rc = ERROR_FAIL;
            goto out;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        rc = 0;
    } else {
        if (WIFEXITED(status))
            LOG(ctx, ERROR, "%s: hotplug script %s %s%s%s failed (exit "
                "status %d%s)%s%s", what, path, action, arg ? " " : "",
                arg ? arg : "", WEXITSTATUS(status),
                WEXITSTATUS(status) == 127 ? ": cannot run it" : "",
                *out ? ": " : "", nl ? nl + 1 : out);
        else
            LOG(ctx, ERROR, "%s: hotplug script %s %s killed by signal %d",
                what, path, action, WTERMSIG(status));
        rc = ERROR_FAIL;
    }
out:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    free(path);
    return rc;
}
