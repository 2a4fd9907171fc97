/*
 * libxl_userdata.c - data kept per domain by libxl and its callers
 * (libxl_userdata_*), and the domain's config as the userdata
 * "libxl-json": files in $XENOLITH_RUNDIR/libxl, named
 * userdata-d.<domid>.<uuid>.<userid>, written atomically, removed with
 * the domain.
 */
#include "libxl.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libxl_internal.h"

#define CONFIG_USERID "libxl-json"

static const char *userdata_dir(libxl__gc *gc)
{
    const char *rundir = getenv("XENOLITH_RUNDIR");

    if (!rundir || !*rundir)
        rundir = "/run/xenolith";
    return GCSPRINTF("%s/libxl", rundir);
}

static char *userdata_prefix(libxl__gc *gc, uint32_t domid,
                             const libxl_uuid *uuid)
{
    return GCSPRINTF("userdata-d.%u." LIBXL_UUID_FMT ".", domid,
                     LIBXL_UUID_BYTES(*uuid));
}

static int valid_userid(libxl_ctx *ctx, const char *userid)
{
    if (!userid || !*userid || strchr(userid, '/') || userid[0] == '.') {
        LOG(ctx, ERROR, "userdata id \"%s\" is not a plain name",
            userid ? userid : "(null)");
        return ERROR_INVAL;
    }
    return 0;
}

/* The path for (domid, userid), from the domain's uuid in the core. */
static int userdata_path(libxl_ctx *ctx, libxl__gc *gc, uint32_t domid,
                         const char *userid, char **path_r)
{
    xc_dominfo_t info;
    libxl_uuid uuid;
    int r, rc;

    rc = libxl__need_daemons(ctx, "userdata");
    if (rc)
        return rc;
    rc = valid_userid(ctx, userid);
    if (rc)
        return rc;
    r = xc_domain_getinfo_single(ctx->xch, domid, &info);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: userdata \"%s\": no such domain",
              domid, userid);
        return libxl__xc_error(r);
    }
    memcpy(uuid.uuid, info.handle, sizeof(uuid.uuid));
    *path_r = GCSPRINTF("%s/%s%s", userdata_dir(gc),
                        userdata_prefix(gc, domid, &uuid), userid);
    return 0;
}

static int write_atomic(libxl_ctx *ctx, libxl__gc *gc, const char *path,
                        const uint8_t *data, size_t len)
{
    const char *dir = userdata_dir(gc);
    char *tmp = GCSPRINTF("%s.tmp", path);
    int fd, rc;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "creating %s", dir);
        return ERROR_FAIL;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOGE(ctx, ERROR, "creating %s", tmp);
        return ERROR_FAIL;
    }
    if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) {
        LOGE(ctx, ERROR, "writing %s", tmp);
        rc = ERROR_FAIL;
    } else if (rename(tmp, path) < 0) {
        LOGE(ctx, ERROR, "renaming %s to %s", tmp, path);
        rc = ERROR_FAIL;
    } else {
        rc = 0;
    }
    close(fd);
    if (rc)
        unlink(tmp);
    return rc;
}

/* *data_r malloc'd with a NUL after *len_r bytes; NULL/0 when absent. */
static int read_all(libxl_ctx *ctx, const char *path, uint8_t **data_r,
                    size_t *len_r)
{
    struct stat st;
    uint8_t *buf;
    int fd;

    *data_r = NULL;
    *len_r = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        LOGE(ctx, ERROR, "opening %s", path);
        return ERROR_FAIL;
    }
    if (fstat(fd, &st) < 0) {
        LOGE(ctx, ERROR, "reading %s", path);
        close(fd);
        return ERROR_FAIL;
    }
    buf = libxl__calloc_or_die(1, (size_t)st.st_size + 1);
    if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
        LOGE(ctx, ERROR, "reading %s", path);
        free(buf);
        close(fd);
        return ERROR_FAIL;
    }
    close(fd);
    *data_r = buf;
    *len_r = (size_t)st.st_size;
    return 0;
}

int libxl_userdata_store(libxl_ctx *ctx, uint32_t domid,
                         const char *userdata_userid,
                         const uint8_t *data, int datalen)
{
    GC_INIT;
    char *path;
    int rc;

    rc = userdata_path(ctx, gc, domid, userdata_userid, &path);
    if (rc)
        goto out;
    if (datalen <= 0) {
        if (unlink(path) < 0 && errno != ENOENT) {
            LOGE(ctx, ERROR, "removing %s", path);
            rc = ERROR_FAIL;
        }
        goto out;
    }
    rc = write_atomic(ctx, gc, path, data, (size_t)datalen);
out:
    GC_FREE;
    return rc;
}

int libxl_userdata_retrieve(libxl_ctx *ctx, uint32_t domid,
                            const char *userdata_userid,
                            uint8_t **data_r, int *datalen_r)
{
    GC_INIT;
    uint8_t *data = NULL;
    size_t len = 0;
    char *path;
    int rc;

    rc = userdata_path(ctx, gc, domid, userdata_userid, &path);
    if (rc)
        goto out;
    rc = read_all(ctx, path, &data, &len);
    if (rc)
        goto out;
    if (len > 0x7fffffff) {
        LOG(ctx, ERROR, "%s is too large", path);
        free(data);
        rc = ERROR_FAIL;
        goto out;
    }
    if (data_r) {
        *data_r = data;
        data = NULL;
    }
    if (datalen_r)
        *datalen_r = (int)len;
out:
    free(data);
    GC_FREE;
    return rc;
}

int libxl_userdata_unlink(libxl_ctx *ctx, uint32_t domid,
                          const char *userdata_userid)
{
    return libxl_userdata_store(ctx, domid, userdata_userid, NULL, 0);
}

void libxl__userdata_destroyall(libxl_ctx *ctx, uint32_t domid,
                                const libxl_uuid *uuid)
{
    GC_INIT;
    const char *dir = userdata_dir(gc);
    const char *prefix = userdata_prefix(gc, domid, uuid);
    struct dirent *de;
    DIR *d = opendir(dir);

    if (!d)
        goto out;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) < 0)
            LOGE(ctx, WARN, "domain %u: removing %s/%s", domid, dir,
                 de->d_name);
    }
    closedir(d);
out:
    GC_FREE;
}

int libxl__domain_config_store(libxl_ctx *ctx, uint32_t domid,
                               libxl_domain_config *d_config)
{
    char *json = libxl_domain_config_to_json(ctx, d_config);
    int rc;

    if (!json) {
        LOG(ctx, ERROR, "domain %u: the config does not convert to JSON",
            domid);
        return ERROR_FAIL;
    }
    rc = libxl_userdata_store(ctx, domid, CONFIG_USERID,
                              (const uint8_t *)json, (int)strlen(json));
    free(json);
    return rc;
}

int libxl__domain_config_load(libxl_ctx *ctx, uint32_t domid,
                              libxl_domain_config *d_config)
{
    uint8_t *data = NULL;
    int len = 0, rc;

    rc = libxl_userdata_retrieve(ctx, domid, CONFIG_USERID, &data, &len);
    if (rc)
        return rc;
    if (!len) {
        LOG(ctx, ERROR, "domain %u: no stored config (userdata \"%s\")",
            domid, CONFIG_USERID);
        free(data);
        return ERROR_JSON_CONFIG_EMPTY;
    }
    rc = libxl_domain_config_from_json(ctx, d_config, (const char *)data);
    if (rc)
        LOG(ctx, ERROR, "domain %u: the stored config is not a domain "
            "config", domid);
    free(data);
    return rc;
}
