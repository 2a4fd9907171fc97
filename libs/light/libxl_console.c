/*
 * libxl_console.c - the primary console: the core's COM1 pty, whose
 * path libxl writes to console/tty, and a terminal relay standing in for
 * Xen's xenconsole.
 */
#include "libxl.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include "libxl_internal.h"

#define ESCAPE_CHAR 0x1d    /* Ctrl-], as xenconsole */

int libxl_console_get_tty(libxl_ctx *ctx, uint32_t domid, int cons_num,
                          libxl_console_type type, char **path)
{
    char *key, *tty;
    int rc;

    *path = NULL;
    rc = libxl__need_daemons(ctx, "libxl_console_get_tty");
    if (rc)
        return rc;
    if (cons_num != 0) {
        LOG(ctx, ERROR, "domain %u: console %d: only console 0 exists",
            domid, cons_num);
        return ERROR_INVAL;
    }
    switch (type) {
    case LIBXL_CONSOLE_TYPE_PV:
        key = libxl__sprintf("/local/domain/%u/console/tty", domid);
        break;
    case LIBXL_CONSOLE_TYPE_SERIAL:
        key = libxl__sprintf("/local/domain/%u/serial/0/tty", domid);
        break;
    default:
        LOG(ctx, ERROR, "domain %u: console type %d is not supported",
            domid, (int)type);
        return ERROR_INVAL;
    }
    tty = libxl__xs_read(ctx, XBT_NULL, key);
    if (!tty || !*tty) {
        LOGE(ctx, ERROR, "domain %u: unable to read console tty path `%s'",
             domid, key);
        free(tty);
        rc = libxl_domain_info(ctx, NULL, domid) ? ERROR_DOMAIN_NOTFOUND :
             ERROR_FAIL;
        free(key);
        return rc;
    }
    free(key);
    *path = tty;
    return 0;
}

int libxl_primary_console_get_tty(libxl_ctx *ctx, uint32_t domid_vm,
                                  char **path)
{
    return libxl_console_get_tty(ctx, domid_vm, 0, LIBXL_CONSOLE_TYPE_PV,
                                 path);
}

static int write_all(int fd, const char *buf, size_t len)
{
    ssize_t w;

    while (len) {
        w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Relays stdin/stdout <-> the pty until Ctrl-], EOF or the domain goes. */
static int relay(libxl_ctx *ctx, uint32_t domid, int tty, int notify_fd)
{
    struct termios saved, raw;
    struct pollfd pfd[2];
    char buf[4096];
    bool is_tty = isatty(STDIN_FILENO);
    ssize_t n;
    int r, i;

    if (is_tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
        is_tty = false;
    }
    if (notify_fd >= 0) {
        buf[0] = 0x00;
        if (write_all(notify_fd, buf, 1) < 0)
            LOGE(ctx, WARN, "domain %u: writing to notify fd %d", domid,
                 notify_fd);
    }
    pfd[0].fd = STDIN_FILENO;
    pfd[1].fd = tty;
    for (;;) {
        pfd[0].events = pfd[1].events = POLLIN;
        r = poll(pfd, 2, 1000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (r == 0) {
            if (libxl_domain_info(ctx, NULL, domid))
                break;
            continue;
        }
        if (pfd[1].revents) {
            n = read(tty, buf, sizeof(buf));
            if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                break;
        }
        if (pfd[0].revents) {
            n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n <= 0)
                break;
            for (i = 0; i < n && buf[i] != ESCAPE_CHAR; i++)
                ;
            if (i && write_all(tty, buf, (size_t)i) < 0)
                break;
            if (i < n)
                break;
        }
    }
    if (is_tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return 0;
}

int libxl_console_exec(libxl_ctx *ctx, uint32_t domid, int cons_num,
                       libxl_console_type type, int notify_fd)
{
    struct termios t;
    char *path = NULL;
    int fd, rc;

    rc = libxl_console_get_tty(ctx, domid, cons_num, type, &path);
    if (rc)
        return rc;
    fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        LOGE(ctx, ERROR, "domain %u: opening console %s", domid, path);
        free(path);
        return ERROR_FAIL;
    }
    free(path);
    /* The pty carries bytes as they are. */
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    relay(ctx, domid, fd, notify_fd);
    close(fd);
    /* As an exec'd xenconsole would: the process ends here. */
    fflush(NULL);
    _exit(0);
}

int libxl_primary_console_exec(libxl_ctx *ctx, uint32_t domid_vm,
                               int notify_fd)
{
    return libxl_console_exec(ctx, domid_vm, 0, LIBXL_CONSOLE_TYPE_PV,
                              notify_fd);
}

/* ------------------------------------------------------------ dmesg */

#define CONSOLE_CHUNK 16384

struct libxl__xen_console_reader {
    char *buffer;
    unsigned int size;
    unsigned int count;
    int clear;
    uint32_t index;
};

libxl_xen_console_reader *libxl_xen_console_read_start(libxl_ctx *ctx,
                                                       int clear)
{
    libxl_xen_console_reader *cr;

    if (libxl__need_daemons(ctx, "libxl_xen_console_read_start"))
        return NULL;
    cr = libxl__calloc_or_die(1, sizeof(*cr));
    cr->size = CONSOLE_CHUNK;
    cr->buffer = libxl__calloc_or_die(1, cr->size);
    cr->clear = clear;
    return cr;
}

int libxl_xen_console_read_line(libxl_ctx *ctx,
                                libxl_xen_console_reader *cr,
                                char **line_r)
{
    int r;

    memset(cr->buffer, 0, cr->size);
    cr->count = cr->size - 1;
    r = xc_readconsolering(ctx->xch, cr->buffer, &cr->count, cr->clear, 1,
                           &cr->index);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "reading the core's log");
        return ERROR_FAIL;
    }
    if (!cr->count) {
        *line_r = NULL;
        return 0;
    }
    cr->buffer[cr->count] = '\0';
    *line_r = cr->buffer;
    return 1;
}

void libxl_xen_console_read_finish(libxl_ctx *ctx,
                                   libxl_xen_console_reader *cr)
{
    (void)ctx;
    if (!cr)
        return;
    free(cr->buffer);
    free(cr);
}
