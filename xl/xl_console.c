/*
 * xl_console.c - xl console: the terminal joined to a domain's console
 * tty, raw, until the escape character Ctrl-] (as Xen's xenconsole).
 */
#include "xl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define ESCAPE_CHARACTER 0x1d   /* Ctrl-] */

static int write_all(int fd, const char *buf, size_t len)
{
    ssize_t r;

    while (len) {
        r = write(fd, buf, len);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        buf += r;
        len -= (size_t)r;
    }
    return 0;
}

/*
 * Like Xen's console client, give a domain that is still being built
 * (one just re-created by a reboot) up to TTY_WAIT_SECONDS to show its
 * console's tty.  The polls go through a context of their own whose
 * logger keeps quiet; the caller's last try says what failed.
 */
#define TTY_WAIT_SECONDS 5

static void wait_for_tty(uint32_t domid, int cons_num,
                         libxl_console_type type)
{
    xentoollog_logger_stdiostream *quiet;
    libxl_ctx *qctx = NULL;
    struct timespec start, now, nap = { 0, 100 * 1000 * 1000 };
    char *path = NULL;
    int rc;

    quiet = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
    if (!quiet)
        return;
    if (libxl_ctx_alloc(&qctx, LIBXL_VERSION, 0,
                        (xentoollog_logger *)quiet))
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        rc = libxl_console_get_tty(qctx, domid, cons_num, type, &path);
        free(path);
        path = NULL;
        /* there, or no such domain (any more): the caller says which */
        if (rc != ERROR_FAIL)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= TTY_WAIT_SECONDS)
            break;
        nanosleep(&nap, NULL);
    }
out:
    if (qctx)
        libxl_ctx_free(qctx);
    xtl_logger_destroy((xentoollog_logger *)quiet);
}

int console_attach(uint32_t domid, int cons_num, libxl_console_type type,
                   const char *tty)
{
    struct termios saved, raw;
    struct pollfd pfd[2];
    char *path = NULL, buf[4096];
    int fd = -1, rc, raw_set = 0, in_open = 1;
    ssize_t n, i;

    if (!tty) {
        wait_for_tty(domid, cons_num, type);
        rc = libxl_console_get_tty(ctx, domid, cons_num, type, &path);
        if (rc) {
            fprintf(stderr, "xl: no console %d of that type for domain %u "
                    "(rc=%d: %s)\n", cons_num, domid, rc, xl_strerror(rc));
            return 1;
        }
        tty = path;
    }
    fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "xl: cannot open the console of domain %u (%s): "
                "%s\n", domid, tty, strerror(errno));
        rc = 1;
        goto out;
    }
    /* The pty's own side passes bytes through untouched. */
    if (!tcgetattr(fd, &raw)) {
        cfmakeraw(&raw);
        tcsetattr(fd, TCSANOW, &raw);
    }
    if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved)) {
        raw = saved;
        cfmakeraw(&raw);
        /* TCSANOW: what was typed while xl started (a Ctrl-] already)
         * is kept for the loop below, not flushed */
        if (!tcsetattr(STDIN_FILENO, TCSANOW, &raw))
            raw_set = 1;
    }
    for (;;) {
        pfd[0].fd = fd;
        pfd[0].events = POLLIN;
        pfd[1].fd = in_open ? STDIN_FILENO : -1;
        pfd[1].events = POLLIN;
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(fd, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                break;      /* the domain went away */
            if (write_all(STDOUT_FILENO, buf, (size_t)n))
                break;
        }
        if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                in_open = 0;    /* keep showing output */
                continue;
            }
            for (i = 0; i < n; i++)
                if (buf[i] == ESCAPE_CHARACTER)
                    break;
            if (i && write_all(fd, buf, (size_t)i))
                break;
            if (i < n)
                break;
        }
    }
    rc = 0;
out:
    if (raw_set)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

int main_console(int argc, char **argv)
{
    libxl_console_type type = LIBXL_CONSOLE_TYPE_UNKNOWN;
    uint32_t domid;
    int opt, num = 0;
    char *end;

    SWITCH_FOREACH_OPT(opt, "n:t:", NULL, "console", 1) {
    case 't':
        if (!strcmp(optarg, "pv")) {
            type = LIBXL_CONSOLE_TYPE_PV;
        } else if (!strcmp(optarg, "serial")) {
            type = LIBXL_CONSOLE_TYPE_SERIAL;
        } else if (!strcmp(optarg, "vuart")) {
            type = LIBXL_CONSOLE_TYPE_VUART;
        } else {
            fprintf(stderr, "console type supported are: pv, serial, "
                    "vuart\n");
            return 1;
        }
        break;
    case 'n':
        num = (int)strtol(optarg, &end, 10);
        if (*end || num < 0) {
            fprintf(stderr, "xl: bad console number \"%s\"\n", optarg);
            return 1;
        }
        break;
    }
    domid = find_domain(argv[optind]);
    /* The primary console of a Xenolith PVH guest is its serial port. */
    if (type == LIBXL_CONSOLE_TYPE_UNKNOWN)
        type = LIBXL_CONSOLE_TYPE_SERIAL;
    return console_attach(domid, num, type, NULL);
}
