/*
 * vbd.c - one device: its backend directory in xenstore read into a
 * struct vbd, its target checked, served (a raw target by vublk.c, a
 * qcow2 image by an export in qsd.c) or taken away, and the outcome
 * written back where libxl waits for it.
 */
#include "blkback.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>

#define SECTOR 512

void vbd_free(struct vbd *v)
{
    if (!v)
        return;
    vublk_stop(v->self);
    free(v->path);
    free(v->vdev);
    free(v->target);
    free(v->format);
    free(v->sock);
    free(v->error);
    free(v);
}

/* key under v's directory: malloc'd, or NULL with errno (ENOENT). */
static char *read_key(struct blkback *bb, const struct vbd *v,
                      const char *key)
{
    return backend_read_key(bb->xs, v->path, key);
}

/* Key/value pairs (NULL-terminated) into v's directory, unless it is
 * gone (backend_write_keys); a failure is logged. */
static void write_keys(struct blkback *bb, const struct vbd *v, ...)
{
    va_list ap;
    int rc;

    va_start(ap, v);
    rc = backend_write_keys(bb->xs, v->path, ap);
    va_end(ap);
    if (rc == -ENOTCONN)
        blkback_log_vbd(v, "cannot report to xenstore: it is not connected");
    else if (rc)
        blkback_log_vbd(v, "cannot write its state under %s: %s", v->path,
                        strerror(-rc));
}

void vbd_publish(struct blkback *bb, struct vbd *v)
{
    char sectors[32];

    if (v->state == VBD_ERROR) {
        write_keys(bb, v, "hotplug-error", v->error, "hotplug-status",
                   "error", NULL);
    } else if (v->state == VBD_CONNECTED) {
        snprintf(sectors, sizeof(sectors), "%" PRIu64, v->sectors);
        write_keys(bb, v, "sector-size", "512", "sectors", sectors,
                   "vhost-user-socket", v->sock, "hotplug-status",
                   "connected", "state", "4", NULL);
    }
}

void vbd_fail(struct blkback *bb, struct vbd *v, const char *reason)
{
    free(v->error);
    v->error = blkback_sprintf("%s", reason);
    v->state = VBD_ERROR;
    blkback_log_vbd(v, "refused: %s", reason);
    vbd_publish(bb, v);
}

void vbd_restarting(struct blkback *bb, struct vbd *v)
{
    if (v->state != VBD_CONNECTED || v->self)
        return;
    v->state = VBD_PENDING;
    write_keys(bb, v, "hotplug-status", "restarting", NULL);
}

/* The size of a file or block device in bytes; -errno. */
static int target_size(const struct vbd *v, uint64_t *size_r)
{
    struct stat st;
    int fd, rc;

    if (!v->blockdev) {
        if (stat(v->target, &st) < 0)
            return -errno;
        *size_r = (uint64_t)st.st_size;
        return 0;
    }
    fd = open(v->target, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = ioctl(fd, BLKGETSIZE64, size_r) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Whether the target can be served as asked; reason says why not. */
static int check_target(struct vbd *v, char *reason, size_t len)
{
    struct stat st;
    int rc;

    if (stat(v->target, &st) < 0) {
        rc = -errno;
        snprintf(reason, len, "%s: %s", v->target, strerror(errno));
        return rc;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        snprintf(reason, len, "%s: not a regular file or a block device",
                 v->target);
        return -EINVAL;
    }
    v->blockdev = S_ISBLK(st.st_mode);
    if (access(v->target, v->writable ? R_OK | W_OK : R_OK) < 0) {
        rc = -errno;
        snprintf(reason, len, "%s: %s (mode %s)", v->target,
                 strerror(errno), v->writable ? "w" : "r");
        return rc;
    }
    rc = target_size(v, &v->size);
    if (rc)
        snprintf(reason, len, "%s: cannot read its size: %s", v->target,
                 strerror(-rc));
    return rc;
}

int vbd_read(struct blkback *bb, unsigned int devid, struct vbd **v_r)
{
    struct sockaddr_un sa;
    char *mode = NULL, *discard = NULL, reason[512];
    struct vbd *v;
    int rc;

    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->devid = devid;
    v->path = blkback_sprintf("%s/%u", bb->be_path, devid);
    v->vdev = read_key(bb, v, "dev");
    if (!v->vdev && errno != ENOENT)
        goto xs_error;
    if (!v->vdev)
        v->vdev = blkback_sprintf("%u", devid);
    /* libxl writes the directory in one transaction; a directory without
     * these is still being written (or not ours): wait for more.  No
     * default format: a qcow2 image served as raw would be overwritten. */
    v->target = read_key(bb, v, "params");
    if (!v->target)
        goto missing;
    mode = read_key(bb, v, "mode");
    if (!mode)
        goto missing;
    v->format = read_key(bb, v, "format");
    if (!v->format)
        goto missing;
    discard = read_key(bb, v, "discard-enable");
    if (!discard && errno != ENOENT)
        goto xs_error;
    v->discard = discard && !strcmp(discard, "1");
    v->writable = !strcmp(mode, "w");
    v->sock = blkback_sprintf("%s/%u.sock", bb->dir, devid);
    v->state = VBD_PENDING;
    *v_r = v;
    rc = 1;

    if (strcmp(mode, "w") && strcmp(mode, "r")) {
        snprintf(reason, sizeof(reason), "mode '%s' is neither r nor w",
                 mode);
        vbd_fail(bb, v, reason);
    } else if (strcmp(v->format, "raw") && strcmp(v->format, "qcow2")) {
        snprintf(reason, sizeof(reason), "%s: format '%s' is not served "
                 "(raw or qcow2)", v->target, v->format);
        vbd_fail(bb, v, reason);
    } else if (!*v->target) {
        vbd_fail(bb, v, "no target: params is empty");
    } else if (strlen(v->sock) >= sizeof(sa.sun_path)) {
        snprintf(reason, sizeof(reason), "socket path %s is longer than "
                 "%zu bytes", v->sock, sizeof(sa.sun_path) - 1);
        vbd_fail(bb, v, reason);
    }
    goto out;

missing:
    if (errno != ENOENT)
        goto xs_error;
    rc = 0;
    vbd_free(v);
    goto out;
xs_error:
    rc = -errno;
    blkback_log("reading %s: %s", v->path, strerror(errno));
    vbd_free(v);
out:
    free(mode);
    free(discard);
    return rc;
}

bool vbd_needs_qsd(const struct vbd *v)
{
    return strcmp(v->format, "raw") && v->state != VBD_ERROR;
}

void vbd_attach(struct blkback *bb, struct vbd *v)
{
    char reason[2048], err[512];
    bool raw = !strcmp(v->format, "raw");
    uint64_t size;
    int rc;

    /* A dead daemon: the loop restarts it and attaches the device then;
     * a released one waits to be taken back. */
    if (v->state != VBD_PENDING || v->released ||
        (!raw && !qsd_up(&bb->qsd) && !qsd_down(&bb->qsd)))
        return;
    if (check_target(v, reason, sizeof(reason))) {
        vbd_fail(bb, v, reason);
        return;
    }
    /* The first qcow2 disk starts the daemon.  A failure is this disk's
     * (the next one tries again), with qsd_start's own reason in
     * hotplug-error (libxl quotes it) and on the log's last line. */
    if (!raw && qsd_down(&bb->qsd) &&
        qsd_start(&bb->qsd, reason, sizeof(reason))) {
        vbd_fail(bb, v, reason);
        return;
    }
    /* A socket of an earlier daemon: the export binds the path anew. */
    unlink(v->sock);
    size = v->size;
    if (raw)
        rc = vublk_start(v, bb->domid, size, &v->self, err, sizeof(err));
    else
        rc = qsd_export(&bb->qsd, v, &size, err, sizeof(err));
    if (rc == -EPIPE)
        return;         /* the daemon died: again after its restart */
    if (rc) {
        snprintf(reason, sizeof(reason), "%s: %s", v->target, err);
        vbd_fail(bb, v, reason);
        return;
    }
    v->state = VBD_CONNECTED;
    /* qemu rounds a partial last sector up; we serve whole ones only */
    v->sectors = raw ? size / SECTOR : (size + SECTOR - 1) / SECTOR;
    vbd_publish(bb, v);
    blkback_log_vbd(v, "%s (%s, %s%s) %s on %s, %" PRIu64 " sectors",
                    v->target, v->format, v->writable ? "rw" : "ro",
                    v->discard ? ", discard" : "",
                    raw ? "served by blkback" : "exported by "
                    "qemu-storage-daemon", v->sock, v->sectors);
}

void vbd_detach(struct blkback *bb, struct vbd *v)
{
    if (v->self) {
        vublk_stop(v->self);
        v->self = NULL;
    } else if (v->state == VBD_CONNECTED && qsd_up(&bb->qsd)) {
        qsd_unexport(&bb->qsd, v);
    }
    if (unlink(v->sock) < 0 && errno != ENOENT)
        blkback_log_vbd(v, "cannot remove %s: %s", v->sock,
                        strerror(errno));
    blkback_log_vbd(v, "detached (its backend directory is gone)");
}

void vbd_check_size(struct blkback *bb, struct vbd *v)
{
    uint64_t size, old_sectors = v->sectors;
    char sectors[32];

    /* qcow2 images are not watched: their size is their virtual size,
     * which `qemu-img resize` changes only with the image closed. */
    if (v->state != VBD_CONNECTED || !v->self || target_size(v, &size) ||
        size <= v->size)
        return;
    v->size = size;
    v->sectors = size / SECTOR;
    vublk_resize(v->self, size);
    snprintf(sectors, sizeof(sectors), "%" PRIu64, v->sectors);
    write_keys(bb, v, "sectors", sectors, NULL);
    blkback_log_vbd(v, "%s grew from %" PRIu64 " to %s sectors: the guest "
                    "is told", v->target, old_sectors, sectors);
}

void vbd_release_check(struct blkback *bb, struct vbd *v)
{
    char *val = read_key(bb, v, "xenolith-release");
    bool want = val && !strcmp(val, "1");

    free(val);
    if (want == v->released || !strcmp(v->format, "raw"))
        return;
    if (want) {
        if (v->state == VBD_CONNECTED && qsd_up(&bb->qsd))
            qsd_unexport(&bb->qsd, v);
        if (v->state != VBD_ERROR)
            v->state = VBD_PENDING;
        v->released = true;
        write_keys(bb, v, "state", "6", NULL);
        blkback_log_vbd(v, "%s released for a migration or save: closed, "
                        "its lock dropped", v->target);
        return;
    }
    v->released = false;
    blkback_log_vbd(v, "%s taken back: the domain runs on here",
                    v->target);
    vbd_attach(bb, v);
}
