/*
 * xlu_disk.c - xl-disk-configuration(5): "[target=]PATH,[format],[vdev],
 * [access]" positional parameters, key=value parameters and the old
 * "phy:", "tap:aio:", "raw:" ... prefixes, with Xen 4.17's precedence and
 * error messages.  The scanner takes, at each point, the longest of the
 * forms that match (the first listed on a tie), as Xen's does.
 */
#include "xl_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    XLU_Config *cfg;
    const char *spec;
    libxl_device_disk *disk;
    int err;
    int access_set;
    int had_depr_prefix;
} disk_ctx;

static void disk_err(disk_ctx *d, const char *erroneous, const char *msg)
{
    fprintf(xlu_cfg_report(d->cfg), "%s: config parsing error in disk "
            "specification: %s%s%s%s in `%s'\n", xlu_cfg_source(d->cfg), msg,
            erroneous ? ": near `" : "", erroneous ? erroneous : "",
            erroneous ? "'" : "", d->spec);
    if (!d->err)
        d->err = EINVAL;
}

static void savestring(disk_ctx *d, const char *what, char **update,
                       const char *value)
{
    if (*update) {
        if (**update) {
            char msg[64];

            snprintf(msg, sizeof(msg), "%s respecified", what);
            disk_err(d, value, msg);
            return;
        }
        free(*update);
    }
    *update = xstrdup(value);
}

static void setaccess(disk_ctx *d, const char *s)
{
    if (!strcmp(s, "r") || !strcmp(s, "ro"))
        d->disk->readwrite = 0;
    else if (!strcmp(s, "rw") || !strcmp(s, "w") || !strcmp(s, ""))
        d->disk->readwrite = 1;
    else
        disk_err(d, s, "unknown value for access");
}

#define SET_ENUM(d, member, val, s, what) do {                          \
        if ((d)->disk->member && (d)->disk->member != (val))            \
            disk_err((d), (s), what " respecified");                    \
        else                                                            \
            (d)->disk->member = (val);                                  \
    } while (0)

static void setformat(disk_ctx *d, const char *s)
{
    static const struct { const char *n; libxl_disk_format f; } t[] = {
        { "", LIBXL_DISK_FORMAT_RAW }, { "raw", LIBXL_DISK_FORMAT_RAW },
        { "qcow", LIBXL_DISK_FORMAT_QCOW },
        { "qcow2", LIBXL_DISK_FORMAT_QCOW2 },
        { "vhd", LIBXL_DISK_FORMAT_VHD },
        { "empty", LIBXL_DISK_FORMAT_EMPTY },
        { "qed", LIBXL_DISK_FORMAT_QED },
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (!strcmp(s, t[i].n)) {
            SET_ENUM(d, format, t[i].f, s, "format");
            return;
        }
    }
    disk_err(d, s, "unknown value for format");
}

static void setbackendtype(disk_ctx *d, const char *s)
{
    libxl_disk_backend b;

    if (!strcmp(s, "phy"))
        b = LIBXL_DISK_BACKEND_PHY;
    else if (!strcmp(s, "tap"))
        b = LIBXL_DISK_BACKEND_TAP;
    else if (!strcmp(s, "qdisk"))
        b = LIBXL_DISK_BACKEND_QDISK;
    else if (!strcmp(s, "standalone"))
        b = LIBXL_DISK_BACKEND_STANDALONE;
    else {
        disk_err(d, s, "unknown value for backendtype");
        return;
    }
    SET_ENUM(d, backend, b, s, "backend");
}

static void setspecification(disk_ctx *d, const char *s)
{
    if (!strcmp(s, "xen"))
        SET_ENUM(d, specification, LIBXL_DISK_SPECIFICATION_XEN, s,
                 "specification");
    else if (!strcmp(s, "virtio"))
        SET_ENUM(d, specification, LIBXL_DISK_SPECIFICATION_VIRTIO, s,
                 "specification");
    else
        disk_err(d, s, "unknown value for specification");
}

/* "VDEV:cdrom" / "VDEV:disk": 1 if it had a devtype, 0 otherwise. */
static int vdev_and_devtype(disk_ctx *d, char *s)
{
    char *colon = strrchr(s, ':');

    if (!colon)
        return 0;
    *colon++ = 0;
    savestring(d, "vdev", &d->disk->vdev, s);
    if (!strcmp(colon, "cdrom"))
        d->disk->is_cdrom = 1;
    else if (!strcmp(colon, "disk"))
        d->disk->is_cdrom = 0;
    else
        disk_err(d, colon, "unknown deprecated type");
    return 1;
}

/* Length of "[^,]*,?" from s. */
static size_t upto_comma(const char *s)
{
    size_t n = strcspn(s, ",");

    return s[n] == ',' ? n + 1 : n;
}

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static const char *const keywords[] = {
    "format=", "access=", "backend=", "backendtype=", "specification=",
    "vdev=", "script=", "colo-host=", "colo-port=", "colo-export=",
    "active-disk=", "hidden-disk=", NULL
};

static const char *const flags[] = {
    "cdrom", "direct-io-safe", "discard", "no-discard", "colo", "no-colo",
    "trusted", "untrusted", NULL
};

static const char *const old_prefixes[] = {
    "raw:", "qcow:", "qcow2:", "vhd:", "iscsi:", "nbd:", "enbd:", "drbd:",
    "tapdisk:", "tap:", "tap2:", "aio:", "ioemu:", "file:", "phy:", NULL
};

static void keyword(disk_ctx *d, const char *kw, char *val)
{
    libxl_device_disk *disk = d->disk;

    if (!strcmp(kw, "format="))
        setformat(d, val);
    else if (!strcmp(kw, "access="))
        setaccess(d, val);
    else if (!strcmp(kw, "backend="))
        savestring(d, "backend", &disk->backend_domname, val);
    else if (!strcmp(kw, "backendtype="))
        setbackendtype(d, val);
    else if (!strcmp(kw, "specification="))
        setspecification(d, val);
    else if (!strcmp(kw, "vdev="))
        savestring(d, "vdev", &disk->vdev, val);
    else if (!strcmp(kw, "script="))
        savestring(d, "script", &disk->script, val);
    else if (!strcmp(kw, "colo-host="))
        savestring(d, "colo-host", &disk->colo_host, val);
    else if (!strcmp(kw, "colo-port=")) {
        int port = atoi(val);

        if (port)
            disk->colo_port = port;
        else
            disk_err(d, val, "unknown value for colo_port");
    } else if (!strcmp(kw, "colo-export="))
        savestring(d, "colo-export", &disk->colo_export, val);
    else if (!strcmp(kw, "active-disk="))
        savestring(d, "active-disk", &disk->active_disk, val);
    else if (!strcmp(kw, "hidden-disk="))
        savestring(d, "hidden-disk", &disk->hidden_disk, val);
}

static void flag(disk_ctx *d, const char *f)
{
    libxl_device_disk *disk = d->disk;

    if (!strcmp(f, "cdrom"))
        disk->is_cdrom = 1;
    else if (!strcmp(f, "direct-io-safe"))
        disk->direct_io_safe = 1;
    else if (!strcmp(f, "discard"))
        libxl_defbool_set(&disk->discard_enable, true);
    else if (!strcmp(f, "no-discard"))
        libxl_defbool_set(&disk->discard_enable, false);
    else if (!strcmp(f, "colo"))
        libxl_defbool_set(&disk->colo_enable, true);
    else if (!strcmp(f, "no-colo"))
        libxl_defbool_set(&disk->colo_enable, false);
    else if (!strcmp(f, "trusted"))
        libxl_defbool_set(&disk->trusted, true);
    else if (!strcmp(f, "untrusted"))
        libxl_defbool_set(&disk->trusted, false);
}

static void old_prefix(disk_ctx *d, const char *p)
{
    char *name = xstrndup(p, strlen(p) - 1);

    d->had_depr_prefix = 1;
    if (!strcmp(name, "raw") || !strcmp(name, "qcow") ||
        !strcmp(name, "qcow2") || !strcmp(name, "vhd")) {
        setformat(d, name);
    } else if (!strcmp(name, "iscsi") || !strcmp(name, "nbd") ||
               !strcmp(name, "enbd") || !strcmp(name, "drbd")) {
        char *script = xasprintf_("block-%s", name);

        savestring(d, "script", &d->disk->script, script);
        free(script);
    }
    free(name);
}

static int positional(disk_ctx *d, char *s)
{
    libxl_device_disk *disk = d->disk;

    if (d->err) {
        /* earlier errors may just cause later ones */
    } else if (!disk->pdev_path) {
        savestring(d, "target", &disk->pdev_path, s);
    } else if (!d->had_depr_prefix &&
               disk->format == LIBXL_DISK_FORMAT_UNKNOWN) {
        if (!*disk->pdev_path && vdev_and_devtype(d, s))
            disk->format = LIBXL_DISK_FORMAT_EMPTY;
        else
            setformat(d, s);
    } else if (!disk->vdev) {
        if (!vdev_and_devtype(d, s))
            savestring(d, "vdev", &disk->vdev, s);
    } else if (!d->access_set) {
        d->access_set = 1;
        setaccess(d, s);
    } else {
        disk_err(d, s, "too many positional parameters");
        return 1;
    }
    return 0;
}

/* Scans one spec; returns when it is used up or scanning must stop. */
static void scan(disk_ctx *d, const char *spec)
{
    const char *p = spec;

    while (*p) {
        size_t best = 0, n, rest = strlen(p);
        int kind = 0;           /* which form won */
        const char *which = NULL;
        int i;

        if (strchr(" \t\n", *p)) {
            p += strspn(p, " \t\n");
            continue;
        }
        for (i = 0; keywords[i]; i++) {
            if (starts(p, keywords[i])) {
                n = strlen(keywords[i]) +
                    upto_comma(p + strlen(keywords[i]));
                if (n > best) {
                    best = n;
                    kind = 1;
                    which = keywords[i];
                }
            }
        }
        for (i = 0; flags[i]; i++) {
            size_t fl = strlen(flags[i]);

            if (starts(p, flags[i])) {
                n = fl + (p[fl] == ',');
                if (n > best) {
                    best = n;
                    kind = 2;
                    which = flags[i];
                }
            }
        }
        if (starts(p, "devtype=")) {
            n = 8 + upto_comma(p + 8);
            if (n > best) {
                best = n;
                kind = 3;
            }
        }
        if (starts(p, "target=") && rest > best) {
            best = rest;
            kind = 4;
        }
        /* unknown "name=X" (one value character, as Xen's pattern) */
        if (*p >= 'a' && *p <= 'z') {
            size_t k = 1 + strspn(p + 1, "-abcdefghijklmnopqrstuvwxyz"
                                  "0123456789");

            if (p[k] == '=' && p[k + 1] && p[k + 1] != ',') {
                n = k + 2 + (p[k + 2] == ',');
                if (n > best) {
                    best = n;
                    kind = 5;
                }
            }
        }
        /* old prefixes count as matching the whole rest */
        for (i = 0; old_prefixes[i]; i++) {
            if (starts(p, old_prefixes[i]) && rest > best) {
                best = rest;
                kind = 6;
                which = old_prefixes[i];
            }
        }
        if (*p >= 'a' && *p <= 'z') {
            size_t k = 1 + strspn(p + 1, "abcdefghijklmnopqrstuvwxyz"
                                  "0123456789");
            /* p[k + 1] exists only when p[k] is not the end. */
            char after = p[k] == ':' ? p[k + 1] : 0;

            if (p[k] == ':' && rest > best &&
                !((after >= 'a' && after <= 'z') ||
                  (after >= '0' && after <= '9'))) {
                best = rest;
                kind = 7;
                which = p;
            }
        }
        n = strcspn(p, "=,");
        if (p[n] == ',')
            n++;
        if (n > best) {
            best = n;
            kind = 8;
        }
        if (!best) {
            disk_err(d, p, "bad disk syntax");
            return;
        }

        switch (kind) {
        case 1: {
            size_t kl = strlen(which);
            char *val = xstrndup(p + kl, best - kl);

            if (best > kl && val[best - kl - 1] == ',')
                val[best - kl - 1] = 0;
            keyword(d, which, val);
            free(val);
            break;
        }
        case 2:
            flag(d, which);
            break;
        case 3:
            if (starts(p, "devtype=cdrom") && best == 13 + (p[13] == ','))
                d->disk->is_cdrom = 1;
            else if (starts(p, "devtype=disk") &&
                     best == 12 + (p[12] == ','))
                d->disk->is_cdrom = 0;
            else {
                char *t = xstrndup(p, best);

                disk_err(d, t, "unknown value for type");
                free(t);
            }
            break;
        case 4: {
            char *val = xstrdup(p + 7);
            size_t l = strlen(val);

            if (l && val[l - 1] == ',')
                val[l - 1] = 0;
            savestring(d, "target", &d->disk->pdev_path, val);
            free(val);
            break;
        }
        case 5: {
            char *t = xstrndup(p, best);

            disk_err(d, t, "unknown parameter");
            free(t);
            break;
        }
        case 6:
            old_prefix(d, which);
            best = strlen(which);
            break;
        case 7: {
            size_t k = strcspn(p, ":") + 1;
            char *t = xstrndup(p, k);

            disk_err(d, t, "unknown deprecated disk prefix");
            free(t);
            return;
        }
        case 8: {
            char *t = xstrndup(p, best);
            int stop;

            if (best && t[best - 1] == ',')
                t[best - 1] = 0;
            stop = positional(d, t);
            free(t);
            if (stop)
                return;
            break;
        }
        }
        p += best;
    }
}

int xlu_disk_parse(XLU_Config *cfg, int nspecs, const char *const *specs,
                   libxl_device_disk *disk)
{
    disk_ctx d;
    int i;

    memset(&d, 0, sizeof(d));
    d.cfg = cfg;
    d.disk = disk;
    disk->readwrite = 1;
    for (i = 0; i < nspecs; i++) {
        d.spec = specs[i];
        scan(&d, specs[i]);
        if (d.err)
            return d.err;
    }
    if (disk->format == LIBXL_DISK_FORMAT_UNKNOWN)
        disk->format = LIBXL_DISK_FORMAT_RAW;
    if (disk->is_cdrom) {
        disk->removable = 1;
        disk->readwrite = 0;
        if (!disk->pdev_path || !strcmp(disk->pdev_path, ""))
            disk->format = LIBXL_DISK_FORMAT_EMPTY;
    }
    if (!disk->vdev) {
        disk_err(&d, NULL, "no vdev specified");
        return d.err;
    }
    if (!disk->pdev_path && !disk->removable) {
        disk_err(&d, NULL, "no target specified (and device not removable)");
        return d.err;
    }
    return 0;
}
