/*
 * libxl_dm_kernel.c - the file qemu boots for a PVH domain's kernel.
 *
 * A kernel given as a bzImage boots in qemu through its ELF, which the
 * builder decompresses (about half a second for a Debian kernel).  The
 * ELF is kept in $XENOLITH_RUNDIR/qemu-dm/kernels/, named after the
 * kernel file's device, inode, size and modification time, so creates
 * and reboots of the same kernel reuse it; the newest KERNEL_CACHE_MAX
 * stay.  qemu reads the file only when it starts.
 */
#include "libxl.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenguest.h>

#include "libxl_dm.h"

#define KERNEL_CACHE_MAX 4

/* Keeps the newest KERNEL_CACHE_MAX files of dir (by modification time;
 * a cache hit touches its file). */
static void kernel_cache_trim(const char *dir)
{
    struct dirent **ents = NULL;
    struct {
        char *path;
        struct timespec t;
    } old = { NULL, { 0, 0 } };
    int n, i, kept;

    for (;;) {
        n = scandir(dir, &ents, NULL, NULL);
        if (n < 0)
            return;
        old.path = NULL;
        kept = 0;
        for (i = 0; i < n; i++) {
            struct stat st;
            char *p;

            if (ents[i]->d_name[0] != '.') {
                p = libxl__sprintf("%s/%s", dir, ents[i]->d_name);
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                    kept++;
                    if (!old.path ||
                        st.st_mtim.tv_sec < old.t.tv_sec ||
                        (st.st_mtim.tv_sec == old.t.tv_sec &&
                         st.st_mtim.tv_nsec < old.t.tv_nsec)) {
                        free(old.path);
                        old.path = p;
                        old.t = st.st_mtim;
                        p = NULL;
                    }
                }
                free(p);
            }
            free(ents[i]);
        }
        free(ents);
        if (kept > KERNEL_CACHE_MAX && old.path)
            unlink(old.path);
        free(old.path);
        if (kept <= KERNEL_CACHE_MAX)
            return;
    }
}

/* Writes len bytes of buf to path through a temporary file renamed into
 * place (a concurrent create sees the whole file or none). */
static int write_whole(libxl_ctx *ctx, uint32_t domid, const char *path,
                       const void *buf, size_t len)
{
    char *tmp = libxl__sprintf("%s.tmp-%d", path, (int)getpid());
    size_t off;
    ssize_t w;
    int fd, rc = ERROR_FAIL;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOGE(ctx, ERROR, "domain %u: writing the kernel's ELF to %s",
             domid, tmp);
        free(tmp);
        return ERROR_FAIL;
    }
    for (off = 0; off < len; off += (size_t)w) {
        w = write(fd, (const char *)buf + off, len - off);
        if (w < 0 && errno == EINTR) {
            w = 0;
            continue;
        }
        if (w <= 0) {
            LOGE(ctx, ERROR, "domain %u: writing %s", domid, tmp);
            goto out;
        }
    }
    if (close(fd) < 0) {
        fd = -1;
        LOGE(ctx, ERROR, "domain %u: writing %s", domid, tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        LOGE(ctx, ERROR, "domain %u: renaming %s to %s", domid, tmp, path);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

/*
 * The file qemu boots for a PVH kernel (*elf_r, malloc'd): the kernel
 * itself when it is an ELF, else its ELF from the cache, decompressed
 * from the bzImage on a miss.  Either way the builder checked it (PVH
 * note, segments) first; a kernel it refuses is refused here.
 */
int libxl__dm_kernel_elf(libxl_ctx *ctx, uint32_t domid,
                         const char *kernel, const char *run_dir,
                         char **elf_r)
{
    struct xc_dom_image *dom = NULL;
    struct stat st;
    const void *elf = NULL;
    char *dir = NULL, *path = NULL, magic[4];
    size_t len = 0;
    int fd, r, rc;
    ssize_t n;

    if (stat(kernel, &st) < 0) {
        LOGE(ctx, ERROR, "domain %u: kernel %s", domid, kernel);
        return ERROR_INVAL;
    }
    dir = libxl__sprintf("%s/kernels", run_dir);
    path = libxl__sprintf("%s/%jx-%jx-%jx-%jd.%09ld.elf", dir,
                          (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
                          (uintmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
                          st.st_mtim.tv_nsec);
    /* a hit: the kernel was checked when its entry was made */
    if (utimensat(AT_FDCWD, path, NULL, 0) == 0) {
        *elf_r = path;
        path = NULL;
        rc = 0;
        goto out;
    }

    dom = xc_dom_allocate(ctx->xch, NULL, NULL);
    if (!dom) {
        LOGE(ctx, ERROR, "domain %u: allocating the builder", domid);
        rc = ERROR_NOMEM;
        goto out;
    }
    r = xc_dom_kernel_file(dom, kernel);
    if (r == 0)
        r = xc_dom_parse_image(dom);
    if (r == 0)
        r = xc_dom_kernel_elf(dom, &elf, &len);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: kernel %s: %s", domid, kernel,
              xc_dom_last_error(dom));
        rc = ERROR_INVAL;
        goto out;
    }
    /* an ELF already: boot the file itself */
    fd = open(kernel, O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, magic, sizeof(magic)) : -1;
    if (fd >= 0)
        close(fd);
    if (n == (ssize_t)sizeof(magic) && !memcmp(magic, "\177ELF", 4)) {
        *elf_r = libxl__strdup_or_die(kernel);
        rc = 0;
        goto out;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "domain %u: making %s", domid, dir);
        rc = ERROR_FAIL;
        goto out;
    }
    rc = write_whole(ctx, domid, path, elf, len);
    if (rc)
        goto out;
    kernel_cache_trim(dir);
    *elf_r = path;
    path = NULL;
out:
    xc_dom_release(dom);
    free(dir);
    free(path);
    return rc;
}
