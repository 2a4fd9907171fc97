/*
 * xs_compat_client.c: drives a xenstore daemon through DEBIAN's libxenstore
 * (libxenstore.so.4 from xenstore-utils / libxen-dev), never Xenolith's.
 *
 * The compatibility test uses it for what the command-line clients cannot
 * express: several connections at once, transactions (including a
 * conflicting pair), the domain-management requests and exact errno names.
 *
 * Input: one command per line on stdin.  Output: one line per command,
 * "<command>: <result>", where <result> is "ok", "= <value>", or
 * "error <ERRNO-NAME>", so that a transcript can be compared byte for byte
 * between daemons.  Commands (H is a handle letter A-H, T a transaction
 * name or "-" for none):
 *
 *   H open [SOCKET]       xs_open(0), with XENSTORED_PATH=SOCKET if given
 *   H close
 *   H tstart T            H tend T commit|abort
 *   H tendid NUMBER commit|abort   (ends a transaction id never started)
 *   H read T PATH         H write T PATH VALUE     H mkdir T PATH
 *   H rm T PATH           H dir T PATH             H dirsum T PATH
 *   H getperms T PATH     H setperms T PATH PERM...
 *   H watch PATH TOKEN    H unwatch PATH TOKEN     H event [MS]
 *   H introduce DOMID MFN PORT   H release DOMID   H isintro DOMID
 *   H dompath DOMID       H settarget DOMID TARGET H resume DOMID
 *   H control CMD [ARG...]
 *   # comment             (echoed)
 *
 * "dirsum" prints the number of children, the first and the last name
 * and a checksum of the list, for directories too big to print.
 *
 * Exit status: 0 when every line was understood (failed xenstore requests
 * are results, not failures), 2 on a malformed script, 99 when the
 * library in use is not Debian's (loaded from outside /usr/lib or /lib).
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#define MAX_HANDLES 8
#define MAX_TX 16
#define MAX_ARGS 64

struct tx_slot {
    char name[32];
    char handle;
    xs_transaction_t t;
};

static struct xs_handle *handles[MAX_HANDLES];
static struct tx_slot txs[MAX_TX];

/* errno names as xenstore's wire protocol spells them. */
static const struct {
    int num;
    const char *name;
} errnames[] = {
    { EINVAL, "EINVAL" }, { EACCES, "EACCES" }, { EEXIST, "EEXIST" },
    { EISDIR, "EISDIR" }, { ENOENT, "ENOENT" }, { ENOMEM, "ENOMEM" },
    { ENOSPC, "ENOSPC" }, { EIO, "EIO" }, { ENOTEMPTY, "ENOTEMPTY" },
    { ENOSYS, "ENOSYS" }, { EROFS, "EROFS" }, { EBUSY, "EBUSY" },
    { EAGAIN, "EAGAIN" }, { EISCONN, "EISCONN" }, { E2BIG, "E2BIG" },
    { EPERM, "EPERM" }, { EBADF, "EBADF" }, { ECONNRESET, "ECONNRESET" },
    { EPIPE, "EPIPE" }, { ETIMEDOUT, "ETIMEDOUT" },
};

static const char *errname(int e)
{
    static char buf[32];
    size_t i;

    for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
        if (errnames[i].num == e)
            return errnames[i].name;
    snprintf(buf, sizeof(buf), "errno%d", e);
    return buf;
}

static void print_error(const char *line)
{
    printf("%s: error %s\n", line, errname(errno));
}

/* Prints a value with non-printable bytes escaped, as xenstore-ls does. */
static void print_value(const char *line, const char *v, unsigned int len)
{
    unsigned int i;

    printf("%s: = \"", line);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];

        if (c == '\\' || c == '"')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\"\n");
}

static bool library_is_debians(void)
{
    Dl_info info;

    if (!dladdr((void *)xs_open, &info) || !info.dli_fname)
        return false;
    return strncmp(info.dli_fname, "/usr/lib/", 9) == 0 ||
           strncmp(info.dli_fname, "/lib/", 5) == 0;
}

static struct tx_slot *tx_find(const char *name)
{
    int i;

    for (i = 0; i < MAX_TX; i++)
        if (txs[i].name[0] && strcmp(txs[i].name, name) == 0)
            return &txs[i];
    return NULL;
}

/* Resolves a transaction argument; "-" is XBT_NULL.  false if unknown. */
static bool tx_arg(const char *name, xs_transaction_t *t_r)
{
    struct tx_slot *s;

    if (strcmp(name, "-") == 0) {
        *t_r = XBT_NULL;
        return true;
    }
    s = tx_find(name);
    if (!s)
        return false;
    *t_r = s->t;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void do_dir(const char *line, struct xs_handle *h, xs_transaction_t t,
                   const char *path, bool summary)
{
    char **ents;
    unsigned int n, i;
    uint32_t sum = 2166136261u;

    ents = xs_directory(h, t, path, &n);
    if (!ents) {
        print_error(line);
        return;
    }
    if (!summary) {
        printf("%s: = [%u]", line, n);
        for (i = 0; i < n; i++)
            printf(" %s", ents[i]);
        printf("\n");
        goto out;
    }
    /* Order-independent summary: FNV-1a over the sorted names. */
    qsort(ents, n, sizeof(ents[0]), cmp_str);
    for (i = 0; i < n; i++) {
        const char *p;

        for (p = ents[i]; ; p++) {
            sum = (sum ^ (unsigned char)*p) * 16777619u;
            if (!*p)
                break;
        }
    }
    printf("%s: = [%u] first=%s last=%s fnv=%08x\n", line, n,
           n ? ents[0] : "", n ? ents[n - 1] : "", (unsigned int)sum);
out:
    free(ents);
}

/* The letter xenstore uses for a permission set: n, r, w or b (both). */
static char perm_letter(unsigned int perms)
{
    switch (perms & (XS_PERM_READ | XS_PERM_WRITE)) {
    case XS_PERM_READ:
        return 'r';
    case XS_PERM_WRITE:
        return 'w';
    case XS_PERM_READ | XS_PERM_WRITE:
        return 'b';
    default:
        return 'n';
    }
}

static void do_getperms(const char *line, struct xs_handle *h,
                        xs_transaction_t t, const char *path)
{
    struct xs_permissions *p;
    unsigned int n, i;

    p = xs_get_permissions(h, t, path, &n);
    if (!p) {
        print_error(line);
        return;
    }
    printf("%s: =", line);
    for (i = 0; i < n; i++)
        printf(" %c%u", perm_letter(p[i].perms), p[i].id);
    printf("\n");
    free(p);
}

static void do_setperms(const char *line, struct xs_handle *h,
                        xs_transaction_t t, const char *path,
                        int argc, char **argv)
{
    struct xs_permissions p[MAX_ARGS];
    int i;

    for (i = 0; i < argc; i++) {
        if (!xs_strings_to_perms(&p[i], 1, argv[i])) {
            print_error(line);
            return;
        }
    }
    if (xs_set_permissions(h, t, path, p, (unsigned int)argc))
        printf("%s: ok\n", line);
    else
        print_error(line);
}

/* Waits up to `ms` for one watch event; events are printed as they come. */
static void do_event(const char *line, struct xs_handle *h, int ms)
{
    struct pollfd pfd;
    char **ev;
    unsigned int n;
    int r;

    ev = xs_check_watch(h);
    if (!ev && errno == EAGAIN) {
        pfd.fd = xs_fileno(h);
        pfd.events = POLLIN;
        r = poll(&pfd, 1, ms);
        if (r == 0) {
            printf("%s: = none\n", line);
            return;
        }
        ev = xs_read_watch(h, &n);
    }
    if (!ev) {
        print_error(line);
        return;
    }
    printf("%s: = %s %s\n", line, ev[XS_WATCH_PATH], ev[XS_WATCH_TOKEN]);
    free(ev);
}

static unsigned int num_arg(const char *s)
{
    return (unsigned int)strtoul(s, NULL, 0);
}

/*
 * Runs one command.  Returns 0, or -1 for a malformed command (the caller
 * stops with exit status 2).
 */
static int run_line(const char *line, int argc, char **argv)
{
    struct xs_handle **hp, *h;
    const char *op;
    xs_transaction_t t = XBT_NULL;
    char *s;
    unsigned int len;
    bool ok;

    if (argc < 2 || argv[0][0] < 'A' || argv[0][0] >= 'A' + MAX_HANDLES ||
        argv[0][1])
        return -1;
    hp = &handles[argv[0][0] - 'A'];
    op = argv[1];
    argc -= 2;
    argv += 2;

    if (strcmp(op, "open") == 0) {
        char *saved;

        if (argc > 1 || *hp)
            return -1;
        saved = getenv("XENSTORED_PATH");
        /* libxenstore reads XENSTORED_PATH in xs_open(): point it at the
         * given socket for this handle only. */
        if (saved)
            saved = strdup(saved);
        if (argc == 1)
            setenv("XENSTORED_PATH", argv[0], 1);
        *hp = xs_open(0);
        if (saved)
            setenv("XENSTORED_PATH", saved, 1);
        else
            unsetenv("XENSTORED_PATH");
        free(saved);
        if (*hp)
            printf("%s: ok\n", line);
        else
            print_error(line);
        return 0;
    }
    h = *hp;
    if (!h) {
        /* Not open (the open failed): report, keep the transcript going. */
        printf("%s: error not-connected\n", line);
        return 0;
    }

    if (strcmp(op, "close") == 0) {
        xs_close(h);
        *hp = NULL;
        printf("%s: ok\n", line);
        return 0;
    }
    if (strcmp(op, "tstart") == 0) {
        int i;

        if (argc != 1 || strlen(argv[0]) >= sizeof(txs[0].name) ||
            tx_find(argv[0]))
            return -1;
        for (i = 0; i < MAX_TX && txs[i].name[0]; i++)
            ;
        if (i == MAX_TX)
            return -1;
        txs[i].t = xs_transaction_start(h);
        if (txs[i].t == XBT_NULL) {
            print_error(line);
            return 0;
        }
        snprintf(txs[i].name, sizeof(txs[i].name), "%s", argv[0]);
        txs[i].handle = line[0];
        printf("%s: ok\n", line);
        return 0;
    }
    if (strcmp(op, "tend") == 0) {
        struct tx_slot *slot;

        if (argc != 2 || !(slot = tx_find(argv[0])))
            return -1;
        ok = xs_transaction_end(h, slot->t, strcmp(argv[1], "abort") == 0);
        slot->name[0] = '\0';
        if (ok)
            printf("%s: ok\n", line);
        else
            print_error(line);
        return 0;
    }
    if (strcmp(op, "tendid") == 0) {
        if (argc != 2)
            return -1;
        ok = xs_transaction_end(h, (xs_transaction_t)num_arg(argv[0]),
                                strcmp(argv[1], "abort") == 0);
        if (ok)
            printf("%s: ok\n", line);
        else
            print_error(line);
        return 0;
    }

    /* Requests that take a transaction and a path. */
    if (!strcmp(op, "read") || !strcmp(op, "write") || !strcmp(op, "mkdir") ||
        !strcmp(op, "rm") || !strcmp(op, "dir") || !strcmp(op, "dirsum") ||
        !strcmp(op, "getperms") || !strcmp(op, "setperms")) {
        if (argc < 2 || !tx_arg(argv[0], &t))
            return -1;
        if (strcmp(op, "read") == 0) {
            s = xs_read(h, t, argv[1], &len);
            if (s)
                print_value(line, s, len);
            else
                print_error(line);
            free(s);
            return 0;
        }
        if (strcmp(op, "write") == 0) {
            const char *v = argc > 2 ? argv[2] : "";

            ok = xs_write(h, t, argv[1], v, (unsigned int)strlen(v));
        } else if (strcmp(op, "mkdir") == 0) {
            ok = xs_mkdir(h, t, argv[1]);
        } else if (strcmp(op, "rm") == 0) {
            ok = xs_rm(h, t, argv[1]);
        } else if (strcmp(op, "setperms") == 0) {
            do_setperms(line, h, t, argv[1], argc - 2, argv + 2);
            return 0;
        } else if (strcmp(op, "getperms") == 0) {
            do_getperms(line, h, t, argv[1]);
            return 0;
        } else {
            do_dir(line, h, t, argv[1], strcmp(op, "dirsum") == 0);
            return 0;
        }
        if (ok)
            printf("%s: ok\n", line);
        else
            print_error(line);
        return 0;
    }

    if (strcmp(op, "watch") == 0 || strcmp(op, "unwatch") == 0) {
        if (argc != 2)
            return -1;
        ok = op[0] == 'w' ? xs_watch(h, argv[0], argv[1])
                          : xs_unwatch(h, argv[0], argv[1]);
    } else if (strcmp(op, "event") == 0) {
        do_event(line, h, argc > 0 ? (int)num_arg(argv[0]) : 2000);
        return 0;
    } else if (strcmp(op, "introduce") == 0) {
        if (argc != 3)
            return -1;
        ok = xs_introduce_domain(h, num_arg(argv[0]), num_arg(argv[1]),
                                 num_arg(argv[2]));
    } else if (strcmp(op, "release") == 0 && argc == 1) {
        ok = xs_release_domain(h, num_arg(argv[0]));
    } else if (strcmp(op, "resume") == 0 && argc == 1) {
        ok = xs_resume_domain(h, num_arg(argv[0]));
    } else if (strcmp(op, "isintro") == 0 && argc == 1) {
        errno = 0;
        ok = xs_is_domain_introduced(h, num_arg(argv[0]));
        if (ok || errno == 0) {
            printf("%s: = %s\n", line, ok ? "yes" : "no");
            return 0;
        }
    } else if (strcmp(op, "settarget") == 0 && argc == 2) {
        ok = xs_set_target(h, num_arg(argv[0]), num_arg(argv[1]));
    } else if (strcmp(op, "dompath") == 0 && argc == 1) {
        s = xs_get_domain_path(h, num_arg(argv[0]));
        if (s)
            print_value(line, s, (unsigned int)strlen(s));
        else
            print_error(line);
        free(s);
        return 0;
    } else if (strcmp(op, "control") == 0 && argc >= 1) {
        char buf[4096];
        size_t used = 0;
        int i;

        /* Arguments go NUL-separated after the command, as Xen's tool
         * sends them. */
        for (i = 1; i < argc; i++) {
            size_t l = strlen(argv[i]) + 1;

            if (used + l > sizeof(buf))
                return -1;
            memcpy(buf + used, argv[i], l);
            used += l;
        }
        s = xs_control_command(h, argv[0], buf, (unsigned int)used);
        if (s)
            print_value(line, s, (unsigned int)strlen(s));
        else
            print_error(line);
        free(s);
        return 0;
    } else {
        return -1;
    }
    if (ok)
        printf("%s: ok\n", line);
    else
        print_error(line);
    return 0;
}

int main(void)
{
    char line[8192], copy[8192];
    char *argv[MAX_ARGS];
    int lineno = 0, rc = 0, i;

    if (!library_is_debians()) {
        fprintf(stderr, "xs_compat_client: libxenstore is not Debian's "
                "(check LD_LIBRARY_PATH / LD_PRELOAD)\n");
        return 99;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin)) {
        int argc = 0;
        char *save = NULL, *tok;

        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (line[0] == '#') {
            printf("%s\n", line);
            continue;
        }
        snprintf(copy, sizeof(copy), "%s", line);
        for (tok = strtok_r(copy, " ", &save); tok && argc < MAX_ARGS;
             tok = strtok_r(NULL, " ", &save))
            argv[argc++] = tok;
        if (run_line(line, argc, argv) < 0) {
            fprintf(stderr, "xs_compat_client: line %d: bad command: %s\n",
                    lineno, line);
            rc = 2;
            goto out;
        }
        fflush(stdout);
    }
out:
    for (i = 0; i < MAX_HANDLES; i++)
        xs_close(handles[i]);
    return rc;
}
