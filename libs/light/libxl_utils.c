/*
 * libxl_utils.c - the builtin types: defbool, uuid, mac, bitmap, string
 * and key/value lists, hwcap, VM generation id; enum string lookup.
 */
#include "libxl.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "libxl_internal.h"

/* ------------------------------------------------------------ defbool */

void libxl_defbool_set(libxl_defbool *db, bool b)
{
    db->val = b ? 1 : -1;
}

void libxl_defbool_unset(libxl_defbool *db)
{
    db->val = 0;
}

void libxl_defbool_setdefault(libxl_defbool *db, bool b)
{
    if (!db->val)
        libxl_defbool_set(db, b);
}

int libxl_defbool_is_default(libxl_defbool db)
{
    return !db.val;
}

bool libxl_defbool_val(libxl_defbool db)
{
    if (!db.val)
        abort();
    return db.val > 0;
}

const char *libxl_defbool_to_string(libxl_defbool b)
{
    if (b.val < 0)
        return "False";
    if (b.val > 0)
        return "True";
    return "<default>";
}

/* ------------------------------------------------------------ uuid */

int libxl_uuid_is_nil(const libxl_uuid *uuid)
{
    return uuid_is_null(uuid->uuid);
}

void libxl_uuid_generate(libxl_uuid *uuid)
{
    uuid_generate(uuid->uuid);
}

int libxl_uuid_from_string(libxl_uuid *uuid, const char *in)
{
    if (!in || strlen(in) != LIBXL_UUID_FMTLEN ||
        uuid_parse(in, uuid->uuid))
        return ERROR_INVAL;
    return 0;
}

void libxl_uuid_copy(libxl_ctx *ctx, libxl_uuid *dst, const libxl_uuid *src)
{
    (void)ctx;
    memcpy(dst->uuid, src->uuid, sizeof(dst->uuid));
}

void libxl_uuid_clear(libxl_uuid *uuid)
{
    memset(uuid->uuid, 0, sizeof(uuid->uuid));
}

int libxl_uuid_compare(const libxl_uuid *a, const libxl_uuid *b)
{
    return memcmp(a->uuid, b->uuid, sizeof(a->uuid));
}

const uint8_t *libxl_uuid_bytearray_const(const libxl_uuid *uuid)
{
    return uuid->uuid;
}

uint8_t *libxl_uuid_bytearray(libxl_uuid *uuid)
{
    return uuid->uuid;
}

/* ------------------------------------------------------------ mac, hwcap */

void libxl_mac_copy(libxl_ctx *ctx, libxl_mac *dst, const libxl_mac *src)
{
    (void)ctx;
    memcpy(*dst, *src, sizeof(*dst));
}

int libxl__mac_is_default(const libxl_mac *mac)
{
    static const libxl_mac zero;

    return !memcmp(*mac, zero, sizeof(zero));
}

void libxl_hwcap_copy(libxl_ctx *ctx, libxl_hwcap *dst,
                      const libxl_hwcap *src)
{
    (void)ctx;
    memcpy(*dst, *src, sizeof(*dst));
}

int libxl__hwcap_is_default(const libxl_hwcap *hwcap)
{
    static const libxl_hwcap zero;

    return !memcmp(*hwcap, zero, sizeof(zero));
}

int libxl_ms_vm_genid_is_zero(const libxl_ms_vm_genid *id)
{
    static const libxl_ms_vm_genid zero;

    return !memcmp(id->bytes, zero.bytes, sizeof(zero.bytes));
}

void libxl_ms_vm_genid_copy(libxl_ctx *ctx, libxl_ms_vm_genid *dst,
                            const libxl_ms_vm_genid *src)
{
    (void)ctx;
    *dst = *src;
}

int libxl_ms_vm_genid_generate(libxl_ctx *ctx, libxl_ms_vm_genid *id)
{
    int fd = -1;
    int rc;
    ssize_t r;

    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        LOGE(ctx, ERROR, "cannot open /dev/urandom for a VM generation id");
        rc = ERROR_FAIL;
        goto out;
    }
    r = read(fd, id->bytes, sizeof(id->bytes));
    if (r != (ssize_t)sizeof(id->bytes)) {
        LOGE(ctx, ERROR, "short read from /dev/urandom");
        rc = ERROR_FAIL;
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ------------------------------------------------------------ bitmap */

void libxl_bitmap_init(libxl_bitmap *map)
{
    memset(map, 0, sizeof(*map));
}

void libxl_bitmap_dispose(libxl_bitmap *map)
{
    free(map->map);
    map->map = NULL;
    map->size = 0;
}

int libxl_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *bitmap, int n_bits)
{
    int sz = (n_bits + 7) / 8;

    (void)ctx;
    bitmap->map = libxl__calloc_or_die(sz ? sz : 1, 1);
    bitmap->size = sz;
    return 0;
}

int libxl_cpu_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *cpumap,
                           int max_cpus)
{
    if (max_cpus < 0)
        return ERROR_INVAL;
    if (max_cpus == 0)
        max_cpus = libxl_get_max_cpus(ctx);
    if (max_cpus < 0)
        return max_cpus;
    return libxl_bitmap_alloc(ctx, cpumap, max_cpus);
}

int libxl_node_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *nodemap,
                            int max_nodes)
{
    if (max_nodes < 0)
        return ERROR_INVAL;
    if (max_nodes == 0)
        max_nodes = libxl_get_max_nodes(ctx);
    if (max_nodes < 0)
        return max_nodes;
    return libxl_bitmap_alloc(ctx, nodemap, max_nodes);
}

void libxl_bitmap_copy(libxl_ctx *ctx, libxl_bitmap *dptr,
                       const libxl_bitmap *sptr)
{
    uint32_t sz = dptr->size < sptr->size ? dptr->size : sptr->size;

    (void)ctx;
    if (sz)
        memcpy(dptr->map, sptr->map, sz);
}

void libxl_bitmap_copy_alloc(libxl_ctx *ctx, libxl_bitmap *dptr,
                             const libxl_bitmap *sptr)
{
    (void)ctx;
    dptr->size = sptr->size;
    dptr->map = NULL;
    if (sptr->map) {
        dptr->map = libxl__calloc_or_die(sptr->size ? sptr->size : 1, 1);
        memcpy(dptr->map, sptr->map, sptr->size);
    }
}

int libxl_bitmap_is_full(const libxl_bitmap *bitmap)
{
    uint32_t i;

    for (i = 0; i < bitmap->size; i++)
        if (bitmap->map[i] != 0xff)
            return 0;
    return 1;
}

int libxl_bitmap_is_empty(const libxl_bitmap *bitmap)
{
    uint32_t i;

    for (i = 0; i < bitmap->size; i++)
        if (bitmap->map[i])
            return 0;
    return 1;
}

int libxl_bitmap_test(const libxl_bitmap *bitmap, int bit)
{
    if (bit < 0 || bit >= (int)bitmap->size * 8)
        return 0;
    return (bitmap->map[bit / 8] >> (bit & 7)) & 1;
}

void libxl_bitmap_set(libxl_bitmap *bitmap, int bit)
{
    if (bit < 0 || bit >= (int)bitmap->size * 8)
        return;
    bitmap->map[bit / 8] |= 1 << (bit & 7);
}

void libxl_bitmap_reset(libxl_bitmap *bitmap, int bit)
{
    if (bit < 0 || bit >= (int)bitmap->size * 8)
        return;
    bitmap->map[bit / 8] &= ~(1 << (bit & 7));
}

int libxl_bitmap_count_set(const libxl_bitmap *bitmap)
{
    int i, n = 0;

    libxl_for_each_bit(i, *bitmap)
        n += libxl_bitmap_test(bitmap, i);
    return n;
}

void libxl_bitmap_set_any(libxl_bitmap *bitmap)
{
    if (bitmap->size)
        memset(bitmap->map, 0xff, bitmap->size);
}

void libxl_bitmap_set_none(libxl_bitmap *bitmap)
{
    if (bitmap->size)
        memset(bitmap->map, 0, bitmap->size);
}

/* ------------------------------------------------------------ lists */

int libxl_string_list_length(const libxl_string_list *sl)
{
    int n = 0;

    if (!*sl)
        return 0;
    while ((*sl)[n])
        n++;
    return n;
}

void libxl_string_list_dispose(libxl_string_list *sl)
{
    int i;

    if (!*sl)
        return;
    for (i = 0; (*sl)[i]; i++)
        free((*sl)[i]);
    free(*sl);
    *sl = NULL;
}

void libxl_string_list_copy(libxl_ctx *ctx, libxl_string_list *dst,
                            const libxl_string_list *src)
{
    int i, n = libxl_string_list_length(src);

    (void)ctx;
    *dst = NULL;
    if (!*src)
        return;
    *dst = libxl__calloc_or_die(n + 1, sizeof(char *));
    for (i = 0; i < n; i++)
        (*dst)[i] = libxl__strdup_or_die((*src)[i]);
}

int libxl__string_list_is_empty(const libxl_string_list *sl)
{
    return !libxl_string_list_length(sl);
}

int libxl_key_value_list_length(const libxl_key_value_list *kvl)
{
    int n = 0;

    if (!*kvl)
        return 0;
    while ((*kvl)[n])
        n += 2;
    return n / 2;
}

void libxl_key_value_list_dispose(libxl_key_value_list *kvl)
{
    int i;

    if (!*kvl)
        return;
    for (i = 0; (*kvl)[i]; i += 2) {
        free((*kvl)[i]);
        free((*kvl)[i + 1]);
    }
    free(*kvl);
    *kvl = NULL;
}

void libxl_key_value_list_copy(libxl_ctx *ctx, libxl_key_value_list *dst,
                               const libxl_key_value_list *src)
{
    int i, n = libxl_key_value_list_length(src);

    (void)ctx;
    *dst = NULL;
    if (!*src)
        return;
    *dst = libxl__calloc_or_die(n * 2 + 1, sizeof(char *));
    for (i = 0; i < n * 2; i += 2) {
        (*dst)[i] = libxl__strdup_or_die((*src)[i]);
        if ((*src)[i + 1])
            (*dst)[i + 1] = libxl__strdup_or_die((*src)[i + 1]);
    }
}

int libxl__key_value_list_is_empty(const libxl_key_value_list *kvl)
{
    return !libxl_key_value_list_length(kvl);
}

void libxl_string_copy(libxl_ctx *ctx, char **dst, char *const *src)
{
    (void)ctx;
    *dst = *src ? libxl__strdup_or_die(*src) : NULL;
}

/* ------------------------------------------------------------ enums */

int libxl__enum_from_string(const libxl_enum_string_table *t,
                            const char *s, int *e)
{
    if (!t || !s)
        return ERROR_INVAL;
    for (; t->s; t++) {
        if (!strcasecmp(t->s, s)) {
            *e = t->v;
            return 0;
        }
    }
    return ERROR_FAIL;
}

char *libxl_basename(const char *name)
{
    const char *p;

    if (!name)
        return libxl__strdup_or_die(".");
    p = strrchr(name, '/');
    return libxl__strdup_or_die(p ? p + 1 : name);
}

int libxl__check_readable(libxl_ctx *ctx, const char *what, const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
        LOGE(ctx, ERROR, "%s: cannot read %s", what, path);
        return ERROR_INVAL;
    }
    if (S_ISDIR(st.st_mode)) {
        LOG(ctx, ERROR, "%s: %s is a directory", what, path);
        return ERROR_INVAL;
    }
    return 0;
}
