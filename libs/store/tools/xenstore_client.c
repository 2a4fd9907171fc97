/*
 * xenstore_client.c: the xenstore command-line tools.  One program; the
 * mode comes from the name it runs under (xenstore-read, xenstore-ls, ...)
 * or from its first argument (xenstore read ...).  Options, output and
 * messages follow Xen 4.17's xenstore-utils.
 */
#include "xs_tools.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <xenstore.h>

enum mode {
    MODE_unknown,
    MODE_chmod,
    MODE_exists,
    MODE_list,
    MODE_ls,
    MODE_read,
    MODE_rm,
    MODE_write,
    MODE_watch,
};

/* Options, as parsed from the command line. */
struct opts {
    enum mode mode;
    int prefix;     /* -p */
    int tidy;       /* -t */
    int upto;       /* -u */
    int recurse;    /* -r */
    int raw;        /* -R */
    int nr_watches; /* -n, -1 for no limit */
};

/*
 * Output of read and list goes to a buffer that reaches stdout only after
 * the transaction committed, so a retried transaction prints once.
 */
static struct xs_tool_buf out_buf;
static size_t out_pos;
/* Scratch buffer for sanitised values. */
static struct xs_tool_buf val_buf;

/* ls layout: line width, where the -p column starts, -f. */
static int max_width = 80;
static int desired_width = 60;
static int show_whole_path;

/* The " = \"...\"" that a cut value ends with. */
#define TAG_LEN 8
/* Longest path ls builds. */
#define LS_PATH_MAX (XENSTORE_ABS_PATH_MAX + 1024)

static void out_reserve(size_t len)
{
    char *nb;

    if (out_pos + len <= out_buf.size)
        return;
    nb = realloc(out_buf.buf, out_pos + len + 1024);
    if (!nb)
        err(1, "malloc");
    out_buf.buf = nb;
    out_buf.size = out_pos + len + 1024;
}

__attribute__((format(printf, 1, 2)))
static void out_printf(const char *fmt, ...)
{
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        err(1, "output");
    out_reserve((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(out_buf.buf + out_pos, (size_t)len + 1, fmt, ap);
    va_end(ap);
    out_pos += (size_t)len;
}

static void out_raw(const char *data, size_t len)
{
    out_reserve(len);
    memcpy(out_buf.buf + out_pos, data, len);
    out_pos += len;
}

static const char *sanitised(const char *val, unsigned int len)
{
    const char *s = xs_tool_sanitise(&val_buf, val, len);

    if (!s)
        err(1, "malloc");
    return s;
}

__attribute__((noreturn))
static void usage(enum mode mode, int incl_mode, const char *progname)
{
    const char *m = "";

    switch (mode) {
    case MODE_unknown:
        break;
    case MODE_read:
        m = incl_mode ? "read " : "";
        errx(1, "Usage: %s %s[-h] [-p] [-s] [-R] key [...]", progname, m);
    case MODE_write:
        m = incl_mode ? "write " : "";
        errx(1, "Usage: %s %s[-h] [-s] [-R] key value [...]", progname, m);
    case MODE_rm:
        m = incl_mode ? "rm " : "";
        errx(1, "Usage: %s %s[-h] [-s] [-t] key [...]", progname, m);
    case MODE_exists:
    case MODE_list:
        /* exists shares list's usage text. */
        if (incl_mode)
            m = mode == MODE_exists ? "exists " : "list ";
        errx(1, "Usage: %s %s[-h] [-p] [-s] key [...]", progname, m);
    case MODE_ls:
        m = incl_mode ? "ls " : "";
        errx(1, "Usage: %s %s[-h] [-f] [-p] [-s] [path]", progname, m);
    case MODE_chmod:
        m = incl_mode ? "chmod " : "";
        errx(1, "Usage: %s %s[-h] [-u] [-r] [-s] key <mode [modes...]>",
             progname, m);
    case MODE_watch:
        m = incl_mode ? "watch " : "";
        errx(1, "Usage: %s %s[-h] [-n NR] key", progname, m);
    }
    errx(1, "Usage: %s <mode> [-h] [...]", progname);
}

static enum mode lookup_mode(const char *m)
{
    static const struct {
        const char *name;
        enum mode mode;
    } modes[] = {
        { "read", MODE_read },     { "chmod", MODE_chmod },
        { "exists", MODE_exists }, { "list", MODE_list },
        { "ls", MODE_ls },         { "rm", MODE_rm },
        { "write", MODE_write },   { "watch", MODE_watch },
    };
    size_t i;

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(m, modes[i].name) == 0)
            return modes[i].mode;
    /* Xen's message ends in an extra newline; kept for identical output. */
    errx(1, "unknown mode %s\n", m);
}

static int do_rm(struct xs_handle *xsh, xs_transaction_t t, const char *path)
{
    if (xs_rm(xsh, t, path))
        return 0;
    warnx("could not remove path %s", path);
    return 1;
}

/*
 * rm -t: after removing `path`, also remove each parent that is now an
 * empty node without a value, going up towards the root.
 */
static int do_rm_tidy(struct xs_handle *xsh, xs_transaction_t t,
                      const char *path)
{
    char *p = strdup(path), *slash;
    int rc = 0;

    if (!p)
        return 1;
    for (;;) {
        unsigned int len, num;
        char *val, **list;
        bool again = false;

        if (do_rm(xsh, t, p)) {
            rc = 1;
            break;
        }
        slash = strrchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        val = xs_read(xsh, t, p, &len);
        if (val && len == 0) {
            list = xs_directory(xsh, t, p, &num);
            if (list) {
                again = num == 0;
                free(list);
            }
        }
        free(val);
        if (!again)
            break;
    }
    free(p);
    return rc;
}

static void do_ls(struct xs_handle *h, const char *path, int depth,
                  int show_perms)
{
    unsigned int num, len, i;
    size_t plen = strlen(path);
    const char *sep = plen && path[plen - 1] == '/' ? "" : "/";
    char **e, *newpath;

    e = xs_directory(h, XBT_NULL, path, &num);
    if (!e) {
        /* A node removed while we walk is not an error. */
        if (depth && errno == ENOENT)
            return;
        err(1, "xs_directory (%s)", path);
    }
    newpath = malloc(LS_PATH_MAX);
    if (!newpath)
        err(1, "malloc in do_ls");

    for (i = 0; i < num; i++) {
        char pbuf[MAX_STRLEN(unsigned int) + 1];
        struct xs_permissions *perms;
        unsigned int nperms, j;
        int n, linewid = 0;
        char *val = NULL;

        n = snprintf(newpath, LS_PATH_MAX, "%s%s%s", path, sep, e[i]);
        if (show_whole_path) {
            fputs(newpath, stdout);
        } else {
            for (; linewid < depth; linewid++)
                putchar(' ');
            linewid += printf("%.*s", max_width - TAG_LEN - linewid, e[i]);
        }

        /* A path cut by snprintf names no node. */
        len = 0;
        if (n >= 0 && n < LS_PATH_MAX)
            val = xs_read(h, XBT_NULL, newpath, &len);
        if (!val) {
            printf(":\n");
        } else if ((size_t)max_width
                   < (size_t)linewid + len + (size_t)TAG_LEN) {
            /* Unsigned like Xen: a negative width never cuts. */
            printf(" = \"%.*s\\...\"", max_width - TAG_LEN - linewid,
                   sanitised(val, len));
        } else {
            linewid += printf(" = \"%s\"", sanitised(val, len));
            if (show_perms) {
                int end = desired_width < max_width ? desired_width
                                                    : max_width;

                putchar(' ');
                for (linewid++; linewid < end; linewid++)
                    putchar(linewid & 1 ? '.' : ' ');
            }
        }
        free(val);

        if (show_perms) {
            perms = xs_get_permissions(h, XBT_NULL, newpath, &nperms);
            if (!perms) {
                warn("\ncould not access permissions for %s", e[i]);
            } else {
                fputs("  (", stdout);
                for (j = 0; j < nperms; j++) {
                    if (j)
                        putchar(',');
                    xs_perm_to_string(&perms[j], pbuf, sizeof(pbuf));
                    fputs(pbuf, stdout);
                }
                putchar(')');
                free(perms);
            }
        }
        putchar('\n');
        do_ls(h, newpath, depth + 1, show_perms);
    }
    free(e);
    free(newpath);
}

static void do_chmod(char *path, struct xs_permissions *perms, int nperms,
                     int upto, int recurse, struct xs_handle *xsh,
                     xs_transaction_t t)
{
    if (!path[0])
        return;
    if (!xs_set_permissions(xsh, t, path, perms, (unsigned int)nperms))
        err(1, "Error occurred setting permissions on '%s'", path);

    if (upto) {
        /* The same permissions on every parent up to the root. */
        char *slash = strrchr(path, '/');

        if (!slash)
            errx(1, "Unable to locate path separator '%c' in '%s'", '/',
                 path);
        *slash = '\0';
        do_chmod(path, perms, nperms, 1, 0, xsh, t);
        *slash = '/';
    }

    if (recurse) {
        unsigned int num, i;
        char **list = xs_directory(xsh, t, path, &num);

        if (!list)
            return;
        for (i = 0; i < num; i++) {
            char *child;

            if (asprintf(&child, "%s/%s", path, list[i]) < 0)
                err(1, "malloc");
            do_chmod(child, perms, nperms, 0, 1, xsh, t);
            free(child);
        }
        free(list);
    }
}

static void do_watch(struct xs_handle *xsh, int max_events)
{
    int count;

    for (count = 0; max_events == -1 || count < max_events; count++) {
        unsigned int num;
        char **vec = xs_read_watch(xsh, &num);

        if (!vec) {
            /*
             * Xen retries forever.  Our handle reconnects by itself
             * (XS_RECONNECT); once it gave up, nothing will heal.
             */
            if (errno == EINTR || errno == EAGAIN)
                continue;
            err(1, "xs_read_watch: lost xenstored at %s",
                xs_daemon_socket());
        }
        printf("%s\n", vec[XS_WATCH_PATH]);
        fflush(stdout);
        free(vec);
    }
}

/* Performs the mode on argv[optind..argc-1]; returns 0 or 1. */
static int perform(const struct opts *o, int optind, int argc, char **argv,
                   struct xs_handle *xsh, xs_transaction_t t)
{
    if (o->mode == MODE_ls && optind == argc) {
        do_ls(xsh, "/", 0, o->prefix);
        return 0;
    }

    while (optind < argc) {
        const char *path = argv[optind];

        switch (o->mode) {
        case MODE_unknown:
            errx(1, "invalid mode %d", o->mode);
        case MODE_read: {
            unsigned int len;
            char *val = xs_read(xsh, t, path, &len);

            if (!val) {
                warnx("couldn't read path %s", path);
                return 1;
            }
            if (o->prefix)
                out_printf("%s: ", path);
            if (o->raw)
                out_raw(val, len);
            else
                out_printf("%s\n", sanitised(val, len));
            free(val);
            optind++;
            break;
        }
        case MODE_write: {
            const char *spec = argv[optind + 1];
            size_t len = strlen(spec);
            char *val = malloc(len + 1);
            bool ok;

            if (!val)
                err(1, "malloc");
            if (o->raw)
                memcpy(val, spec, len + 1);
            else
                len = xs_tool_unsanitise(val, spec);
            ok = xs_write(xsh, t, path, val, (unsigned int)len);
            free(val);
            if (!ok) {
                warnx("could not write path %s", path);
                return 1;
            }
            optind += 2;
            break;
        }
        case MODE_rm:
            if (o->tidy ? do_rm_tidy(xsh, t, path) : do_rm(xsh, t, path))
                return 1;
            optind++;
            break;
        case MODE_exists: {
            char *val = xs_read(xsh, t, path, NULL);

            if (!val)
                return 1;
            free(val);
            optind++;
            break;
        }
        case MODE_list: {
            unsigned int num, i;
            char **list = xs_directory(xsh, t, path, &num);

            if (!list) {
                warnx("could not list path %s", path);
                return 1;
            }
            for (i = 0; i < num; i++) {
                if (o->prefix)
                    out_printf("%s/", path);
                out_printf("%s\n", list[i]);
            }
            free(list);
            optind++;
            break;
        }
        case MODE_ls:
            do_ls(xsh, path, 0, o->prefix);
            optind++;
            break;
        case MODE_chmod: {
            int nperms = argc - optind - 1, i;
            struct xs_permissions *perms;
            char *p = argv[optind];

            perms = calloc(nperms ? (size_t)nperms : 1, sizeof(*perms));
            if (!perms)
                err(1, "malloc");
            for (i = 0; i < nperms; i++) {
                const char *spec = argv[optind + 1 + i];

                /* the letter as the library reads it; the domid as
                 * Xen's xenstore-chmod reads it (atoi: "r0x10" is 0) */
                char letter[3] = { spec[0], '0', '\0' };

                if (!spec[0] || !xs_strings_to_perms(&perms[i], 1, letter))
                    errx(1, "Invalid permission specification: '%c'",
                         spec[0]);
                perms[i].id = (unsigned int)atoi(spec + 1);
            }
            do_chmod(p, perms, nperms, o->upto, o->recurse, xsh, t);
            free(perms);
            optind = argc;
            break;
        }
        case MODE_watch:
            for (; optind < argc; optind++) {
                const char *w = argv[optind];

                if (!xs_watch(xsh, w, w))
                    errx(1, "Unable to add watch on %s\n", w);
            }
            do_watch(xsh, o->nr_watches);
            break;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "flat", no_argument, NULL, 'f' },
        { "prefix", no_argument, NULL, 'p' },
        { "tidy", no_argument, NULL, 't' },
        { "upto", no_argument, NULL, 'u' },
        { "recurse", no_argument, NULL, 'r' },
        { "number", required_argument, NULL, 'n' },
        { "raw", no_argument, NULL, 'R' },
        { NULL, 0, NULL, 0 },
    };
    struct opts o = { .mode = MODE_unknown, .nr_watches = -1 };
    xs_transaction_t t = XBT_NULL;
    const char *slash = strrchr(argv[0], '/');
    const char *command = slash ? slash + 1 : argv[0];
    int switch_argv, nargs, sargc, transaction, ret;
    struct xs_handle *xsh;
    char **sargv;
    struct winsize ws;

    if (strcmp(command, "xenstore-control") == 0)
        return xs_tool_control_main(argc, argv);

    if (strncmp(command, "xenstore-", 9) == 0) {
        switch_argv = 0;
        command += 9;
    } else if (argc < 2) {
        usage(MODE_unknown, 0, argv[0]);
    } else {
        command = argv[1];
        switch_argv = 1;
    }
    o.mode = lookup_mode(command);

    /* Options are parsed after the mode word, like Xen does. */
    sargc = argc - switch_argv;
    sargv = argv + switch_argv;
    for (;;) {
        int c = getopt_long(sargc, sargv, "hfspturn:R", long_options, NULL);

        if (c == -1)
            break;
        switch (c) {
        case 'h':
            usage(o.mode, switch_argv, argv[0]);
        case 'f':
            if (o.mode != MODE_ls)
                usage(o.mode, switch_argv, argv[0]);
            max_width = INT_MAX / 2;
            desired_width = 0;
            show_whole_path = 1;
            break;
        case 'p':
            if (o.mode != MODE_read && o.mode != MODE_list
                && o.mode != MODE_ls)
                usage(o.mode, switch_argv, argv[0]);
            o.prefix = 1;
            break;
        case 't':
            if (o.mode != MODE_rm)
                usage(o.mode, switch_argv, argv[0]);
            o.tidy = 1;
            break;
        case 'u':
            if (o.mode != MODE_chmod)
                usage(o.mode, switch_argv, argv[0]);
            o.upto = 1;
            break;
        case 'r':
            if (o.mode != MODE_chmod)
                usage(o.mode, switch_argv, argv[0]);
            o.recurse = 1;
            break;
        case 'n':
            if (o.mode != MODE_watch)
                usage(o.mode, switch_argv, argv[0]);
            o.nr_watches = atoi(optarg);
            break;
        case 'R':
            if (o.mode != MODE_read && o.mode != MODE_write)
                usage(o.mode, switch_argv, argv[0]);
            o.raw = 1;
            break;
        default:
            /* -s (socket only) is accepted and has no effect; getopt
             * already reported unknown options, which are then ignored. */
            break;
        }
    }

    nargs = sargc - optind;
    if (o.mode == MODE_write && nargs % 2 == 1)
        usage(o.mode, switch_argv, argv[0]);
    if (o.mode != MODE_ls && nargs == 0)
        usage(o.mode, switch_argv, argv[0]);

    switch (o.mode) {
    case MODE_read:
        transaction = nargs > 1;
        break;
    case MODE_write:
        transaction = nargs > 2;
        break;
    case MODE_ls:
    case MODE_watch:
        transaction = 0;
        break;
    default:
        transaction = 1;
        break;
    }

    if (o.mode == MODE_ls) {
        memset(&ws, 0, sizeof(ws));
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
            max_width = ws.ws_col - 2;
    }

    /* A watcher outlives a restart of the daemon, its watches with it. */
    xsh = xs_open(o.mode == MODE_watch ? XS_RECONNECT : 0);
    if (!xsh)
        err(1, "xs_open");

    for (;;) {
        if (transaction) {
            t = xs_transaction_start(xsh);
            if (t == XBT_NULL)
                errx(1, "couldn't start transaction");
        }
        ret = perform(&o, optind, sargc, sargv, xsh, t);
        if (!transaction || xs_transaction_end(xsh, t, ret != 0))
            break;
        /* A conflicting change: run the whole command again. */
        if (ret == 0 && errno == EAGAIN) {
            out_pos = 0;
            continue;
        }
        errx(1, "couldn't end transaction");
    }

    if (out_pos)
        fwrite(out_buf.buf, 1, out_pos, stdout);
    free(out_buf.buf);
    free(val_buf.buf);
    xs_close(xsh);
    return ret;
}
