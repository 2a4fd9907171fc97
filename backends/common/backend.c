/*
 * backend.c - a backend's run directory and its devices' xenstore keys
 * (backend.h).
 */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DOMID 32751         /* Xen's DOMID_FIRST_RESERVED - 1 */

int backend_parse_args(const char *name, int argc, char **argv,
                       void (*usage)(FILE *f), unsigned int *domid_r)
{
    static const struct option opts[] = {
        { "domid", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    unsigned long d;
    bool have = false;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            errno = 0;
            d = strtoul(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end || errno ||
                d < 1 || d > MAX_DOMID) {
                fprintf(stderr, "%s: --domid '%s': not a domain id (a "
                        "decimal number, 1 to %d)\n", name, optarg,
                        MAX_DOMID);
                return -1;
            }
            *domid_r = (unsigned int)d;
            have = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", name,
                argv[optind]);
        return -1;
    }
    if (!have) {
        fprintf(stderr, "%s: --domid is required\n", name);
        usage(stderr);
        return -1;
    }
    return 0;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

void backend_log_line(const char *name, unsigned int domid, const char *pre,
                      const char *fmt, va_list ap)
{
    char line[2048];
    const size_t cap = sizeof(line) - 1;        /* room for the newline */
    size_t off = 0, done;
    ssize_t n;
    int r;

    r = snprintf(line, cap, "%s[%u]: %s", name, domid, pre);
    if (r > 0)
        off = min_size((size_t)r, cap - 1);
    r = vsnprintf(line + off, cap - off, fmt, ap);
    if (r > 0)
        off += min_size((size_t)r, cap - off - 1);
    line[off++] = '\n';
    for (done = 0; done < off; done += (size_t)n) {
        n = write(STDERR_FILENO, line + done, off - done);
        if (n < 0 && errno == EINTR)
            n = 0;
        else if (n <= 0)
            return;
    }
}

/* Removes the files in the directory that `ours` names. */
static void clean_dir(int dfd, bool (*ours)(const char *name))
{
    struct dirent *de;
    DIR *d;
    int fd;

    fd = dup(dfd);
    if (fd < 0)
        return;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    while ((de = readdir(d)))
        if (ours(de->d_name))
            unlinkat(dfd, de->d_name, 0);
    closedir(d);
}

/* mkdir -p of dir's parents, then dir itself (0700); -errno logged. */
static int make_dir(const char *dir, backend_log_fn *log)
{
    char *p = strdup(dir), *s;
    int rc = 0;

    if (!p) {
        log("out of memory");
        return -ENOMEM;
    }
    for (s = p + 1; ; s++) {
        if (*s && *s != '/')
            continue;
        bool last = !*s;

        *s = '\0';
        if (mkdir(p, last ? 0700 : 0755) < 0 && errno != EEXIST) {
            rc = -errno;
            log("cannot make directory %s: %s", p, strerror(errno));
            break;
        }
        if (last)
            break;
        *s = '/';
    }
    free(p);
    return rc;
}

int backend_take_dir(const char *dir, const char *binary,
                     bool (*ours)(const char *name), backend_log_fn *log)
{
    int fd, rc;

    rc = make_dir(dir, log);
    if (rc)
        return rc;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        log("cannot open %s: %s", dir, strerror(errno));
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        if (rc == -EBUSY)
            log("cannot lock %s: another %s serves this domain", dir,
                binary);
        else
            log("cannot lock %s: %s", dir, strerror(-rc));
        close(fd);
        return rc;
    }
    clean_dir(fd, ours);
    return fd;
}

void backend_remove_dir(const char *dir, int dfd,
                        bool (*ours)(const char *name), backend_log_fn *log)
{
    clean_dir(dfd, ours);
    if (rmdir(dir) < 0 && errno != ENOENT)
        log("cannot remove %s: %s", dir, strerror(errno));
}

/* "dir/key", malloc'd; NULL with errno ENOMEM. */
static char *join(const char *dir, const char *key)
{
    size_t n = strlen(dir) + strlen(key) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", dir, key);
    return p;
}

char *backend_read_key(struct xs_handle *xs, const char *dir,
                       const char *key)
{
    char *path, *val;

    if (!xs) {
        errno = ENOTCONN;
        return NULL;
    }
    path = join(dir, key);
    if (!path)
        return NULL;
    val = xs_read(xs, XBT_NULL, path, NULL);
    free(path);
    return val;
}

int backend_write_keys(struct xs_handle *xs, const char *dir, va_list ap)
{
    const char *key, *val;
    xs_transaction_t t;
    unsigned int tries;
    char *path, *cur;
    va_list aq;
    bool ok;

    if (!xs)
        return -ENOTCONN;
    for (tries = 0; tries < 10; tries++) {
        t = xs_transaction_start(xs);
        if (t == XBT_NULL)
            break;
        cur = xs_read(xs, t, dir, NULL);
        if (!cur) {
            xs_transaction_end(xs, t, true);
            if (errno == ENOENT)
                return 0;       /* detached meanwhile: nothing to say */
            break;
        }
        free(cur);
        ok = true;
        va_copy(aq, ap);
        while (ok && (key = va_arg(aq, const char *))) {
            val = va_arg(aq, const char *);
            path = join(dir, key);
            ok = path && xs_write(xs, t, path, val, strlen(val));
            free(path);
        }
        va_end(aq);
        if (!ok) {
            xs_transaction_end(xs, t, true);
            if (errno == EAGAIN)
                continue;
            break;
        }
        if (xs_transaction_end(xs, t, false))
            return 0;
        if (errno != EAGAIN)
            break;
    }
    return errno ? -errno : -EIO;
}

bool backend_domain_gone(struct xs_handle *xs, const char *dom_path)
{
    char *v = xs_read(xs, XBT_NULL, dom_path, NULL);

    if (v) {
        free(v);
        return false;
    }
    return errno == ENOENT;
}

bool backend_parse_devid(const char *s, unsigned int *devid_r)
{
    unsigned long d;
    char *end;

    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1]))
        return false;
    errno = 0;
    d = strtoul(s, &end, 10);
    if (*end || errno || d > UINT_MAX)
        return false;
    *devid_r = (unsigned int)d;
    return true;
}
