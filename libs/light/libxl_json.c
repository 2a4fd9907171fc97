/*
 * libxl_json.c - JSON for the builtin types and the plumbing the
 * generated _gen_json/_parse_json functions use.
 */
#include "libxl.h"

#include <inttypes.h>
#include <stdio.h>

#include "libxl_internal.h"

/* ------------------------------------------------------------ generating */

yajl_gen_status libxl__yajl_gen_asciiz(yajl_gen hand, const char *str)
{
    return yajl_gen_string(hand, (const unsigned char *)str, strlen(str));
}

yajl_gen_status libxl__yajl_gen_enum(yajl_gen hand, const char *str)
{
    if (str)
        return libxl__yajl_gen_asciiz(hand, str);
    return yajl_gen_null(hand);
}

yajl_gen_status libxl__string_gen_json(yajl_gen hand, const char *p)
{
    if (p)
        return libxl__yajl_gen_asciiz(hand, p);
    return yajl_gen_null(hand);
}

yajl_gen_status libxl__uint64_gen_json(yajl_gen hand, uint64_t val)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRIu64, val);

    return yajl_gen_number(hand, buf, n);
}

yajl_gen_status libxl_defbool_gen_json(yajl_gen hand, libxl_defbool *p)
{
    return libxl__yajl_gen_asciiz(hand, libxl_defbool_to_string(*p));
}

yajl_gen_status libxl_uuid_gen_json(yajl_gen hand, libxl_uuid *p)
{
    char buf[LIBXL_UUID_FMTLEN + 1];

    snprintf(buf, sizeof(buf), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(*p));
    return libxl__yajl_gen_asciiz(hand, buf);
}

yajl_gen_status libxl_mac_gen_json(yajl_gen hand, libxl_mac *p)
{
    char buf[LIBXL_MAC_FMTLEN + 1];

    snprintf(buf, sizeof(buf), LIBXL_MAC_FMT, LIBXL_MAC_BYTES((*p)));
    return libxl__yajl_gen_asciiz(hand, buf);
}

yajl_gen_status libxl_bitmap_gen_json(yajl_gen hand, libxl_bitmap *p)
{
    yajl_gen_status s;
    int i;

    s = yajl_gen_array_open(hand);
    if (s != yajl_gen_status_ok)
        return s;
    libxl_for_each_set_bit(i, *p) {
        s = yajl_gen_integer(hand, i);
        if (s != yajl_gen_status_ok)
            return s;
    }
    return yajl_gen_array_close(hand);
}

yajl_gen_status libxl_string_list_gen_json(yajl_gen hand,
                                           libxl_string_list *p)
{
    yajl_gen_status s;
    int i;

    s = yajl_gen_array_open(hand);
    for (i = 0; s == yajl_gen_status_ok && *p && (*p)[i]; i++)
        s = libxl__yajl_gen_asciiz(hand, (*p)[i]);
    if (s != yajl_gen_status_ok)
        return s;
    return yajl_gen_array_close(hand);
}

yajl_gen_status libxl_key_value_list_gen_json(yajl_gen hand,
                                              libxl_key_value_list *p)
{
    yajl_gen_status s;
    int i;

    s = yajl_gen_map_open(hand);
    for (i = 0; s == yajl_gen_status_ok && *p && (*p)[i]; i += 2) {
        s = libxl__yajl_gen_asciiz(hand, (*p)[i]);
        if (s == yajl_gen_status_ok)
            s = libxl__string_gen_json(hand, (*p)[i + 1]);
    }
    if (s != yajl_gen_status_ok)
        return s;
    return yajl_gen_map_close(hand);
}

yajl_gen_status libxl_hwcap_gen_json(yajl_gen hand, libxl_hwcap *p)
{
    yajl_gen_status s;
    int i;

    s = yajl_gen_array_open(hand);
    for (i = 0; s == yajl_gen_status_ok && i < 8; i++)
        s = yajl_gen_integer(hand, (*p)[i]);
    if (s != yajl_gen_status_ok)
        return s;
    return yajl_gen_array_close(hand);
}

yajl_gen_status libxl_ms_vm_genid_gen_json(yajl_gen hand,
                                           libxl_ms_vm_genid *p)
{
    yajl_gen_status s;
    int i;

    s = yajl_gen_array_open(hand);
    for (i = 0; s == yajl_gen_status_ok && i < LIBXL_MS_VM_GENID_LEN; i++)
        s = yajl_gen_integer(hand, p->bytes[i]);
    if (s != yajl_gen_status_ok)
        return s;
    return yajl_gen_array_close(hand);
}

char *libxl__object_to_json(libxl_ctx *ctx, const char *type,
                            libxl__gen_json_callback gen, void *p)
{
    const unsigned char *buf;
    size_t len;
    yajl_gen hand;
    yajl_gen_status s;
    char *ret = NULL;

    hand = yajl_gen_alloc(NULL);
    if (!hand)
        return NULL;
    yajl_gen_config(hand, yajl_gen_beautify, 1);
    yajl_gen_config(hand, yajl_gen_indent_string, "    ");
    s = gen(hand, p);
    if (s != yajl_gen_status_ok)
        goto out;
    s = yajl_gen_get_buf(hand, &buf, &len);
    if (s != yajl_gen_status_ok)
        goto out;
    ret = malloc(len + 1);
    if (!ret)
        goto out;
    memcpy(ret, buf, len);
    ret[len] = 0;
out:
    yajl_gen_free(hand);
    if (s != yajl_gen_status_ok)
        LOG(ctx, ERROR, "unable to convert %s to JSON: yajl status %d",
            type, (int)s);
    else if (!ret)
        LOG(ctx, ERROR, "out of memory converting %s to JSON", type);
    return ret;
}

/* ------------------------------------------------------------ parsing */

int libxl__object_from_json(libxl_ctx *ctx, const char *type,
                            libxl__parse_json_callback parse,
                            void *p, const char *s)
{
    char err[256];
    yajl_val tree;
    int rc;

    err[0] = 0;
    tree = yajl_tree_parse(s, err, sizeof(err));
    if (!tree) {
        LOG(ctx, ERROR, "unable to parse %s JSON: %s", type, err);
        return ERROR_INVAL;
    }
    rc = parse(tree, p);
    if (rc)
        LOG(ctx, ERROR, "JSON does not describe a valid %s", type);
    yajl_tree_free(tree);
    return rc;
}

yajl_val libxl__json_map_get(yajl_val map, const char *key)
{
    size_t i;

    if (!YAJL_IS_OBJECT(map))
        return NULL;
    for (i = 0; i < map->u.object.len; i++)
        if (!strcmp(map->u.object.keys[i], key))
            return map->u.object.values[i];
    return NULL;
}

int libxl__enum_parse_json(yajl_val v, int *e,
                           int (*from_string)(const char *, void *))
{
    if (!YAJL_IS_STRING(v))
        return ERROR_INVAL;
    return from_string(v->u.string, e) ? ERROR_INVAL : 0;
}

static int parse_integer(yajl_val v, long long min, unsigned long long max,
                         unsigned long long *out)
{
    char *end;

    if (!YAJL_IS_NUMBER(v) || !v->u.number.r)
        return ERROR_INVAL;
    errno = 0;
    if (v->u.number.r[0] == '-') {
        long long x = strtoll(v->u.number.r, &end, 10);

        if (errno || *end || x < min)
            return ERROR_INVAL;
        *out = (unsigned long long)x;
        return 0;
    }
    *out = strtoull(v->u.number.r, &end, 10);
    if (errno || *end || *out > max)
        return ERROR_INVAL;
    return 0;
}

int libxl__int_parse_json(yajl_val v, int *p)
{
    unsigned long long x;
    int rc = parse_integer(v, INT32_MIN, UINT32_MAX, &x);

    if (!rc)
        *p = (int)x;
    return rc;
}

#define UINT_PARSER(w)                                                  \
int libxl__uint##w##_parse_json(yajl_val v, uint##w##_t *p)             \
{                                                                       \
    unsigned long long x;                                               \
    int rc = parse_integer(v, 0, UINT##w##_MAX, &x);                    \
                                                                        \
    if (!rc)                                                            \
        *p = (uint##w##_t)x;                                            \
    return rc;                                                          \
}
UINT_PARSER(8)
UINT_PARSER(16)
UINT_PARSER(32)

int libxl__uint64_parse_json(yajl_val v, uint64_t *p)
{
    unsigned long long x;
    int rc = parse_integer(v, 0, UINT64_MAX, &x);

    if (!rc)
        *p = x;
    return rc;
}

int libxl__memkb_parse_json(yajl_val v, uint64_t *p)
{
    return libxl__uint64_parse_json(v, p);
}

int libxl__domid_parse_json(yajl_val v, libxl_domid *p)
{
    return libxl__uint32_parse_json(v, p);
}

int libxl__devid_parse_json(yajl_val v, libxl_devid *p)
{
    return libxl__int_parse_json(v, p);
}

int libxl__bool_parse_json(yajl_val v, bool *p)
{
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
        return ERROR_INVAL;
    *p = YAJL_IS_TRUE(v);
    return 0;
}

int libxl__string_parse_json(yajl_val v, char **p)
{
    free(*p);
    *p = NULL;
    if (YAJL_IS_NULL(v))
        return 0;
    if (!YAJL_IS_STRING(v))
        return ERROR_INVAL;
    *p = libxl__strdup_or_die(v->u.string);
    return 0;
}

int libxl__defbool_parse_json(yajl_val v, libxl_defbool *p)
{
    if (!YAJL_IS_STRING(v))
        return ERROR_INVAL;
    if (!strcmp(v->u.string, "<default>"))
        p->val = 0;
    else if (!strcmp(v->u.string, "True"))
        p->val = 1;
    else if (!strcmp(v->u.string, "False"))
        p->val = -1;
    else
        return ERROR_INVAL;
    return 0;
}

int libxl__uuid_parse_json(yajl_val v, libxl_uuid *p)
{
    if (!YAJL_IS_STRING(v))
        return ERROR_INVAL;
    return libxl_uuid_from_string(p, v->u.string);
}

int libxl__mac_parse_json(yajl_val v, libxl_mac *p)
{
    unsigned int b[6];
    char tail;
    int i;

    if (!YAJL_IS_STRING(v) ||
        sscanf(v->u.string, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2],
               &b[3], &b[4], &b[5], &tail) != 6)
        return ERROR_INVAL;
    for (i = 0; i < 6; i++) {
        if (b[i] > 255)
            return ERROR_INVAL;
        (*p)[i] = b[i];
    }
    return 0;
}

int libxl__bitmap_parse_json(yajl_val v, libxl_bitmap *p)
{
    size_t i, n;
    uint32_t bit, max = 0;

    if (!YAJL_IS_ARRAY(v))
        return ERROR_INVAL;
    n = v->u.array.len;
    libxl_bitmap_dispose(p);
    if (!n)
        return 0;
    for (i = 0; i < n; i++) {
        if (libxl__uint32_parse_json(v->u.array.values[i], &bit) ||
            bit > (1u << 20))
            return ERROR_INVAL;
        if (bit > max)
            max = bit;
    }
    libxl_bitmap_alloc(NULL, p, max + 1);
    for (i = 0; i < n; i++) {
        libxl__uint32_parse_json(v->u.array.values[i], &bit);
        libxl_bitmap_set(p, bit);
    }
    return 0;
}

int libxl__string_list_parse_json(yajl_val v, libxl_string_list *p)
{
    size_t i, n;

    if (!YAJL_IS_ARRAY(v))
        return ERROR_INVAL;
    libxl_string_list_dispose(p);
    n = v->u.array.len;
    if (!n)
        return 0;
    *p = libxl__calloc_or_die(n + 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        if (!YAJL_IS_STRING(v->u.array.values[i]))
            return ERROR_INVAL;
        (*p)[i] = libxl__strdup_or_die(v->u.array.values[i]->u.string);
    }
    return 0;
}

int libxl__key_value_list_parse_json(yajl_val v, libxl_key_value_list *p)
{
    size_t i, n;

    if (!YAJL_IS_OBJECT(v))
        return ERROR_INVAL;
    libxl_key_value_list_dispose(p);
    n = v->u.object.len;
    *p = libxl__calloc_or_die(2 * n + 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        yajl_val x = v->u.object.values[i];

        if (!YAJL_IS_STRING(x) && !YAJL_IS_NULL(x))
            return ERROR_INVAL;
        (*p)[2 * i] = libxl__strdup_or_die(v->u.object.keys[i]);
        if (YAJL_IS_STRING(x))
            (*p)[2 * i + 1] = libxl__strdup_or_die(x->u.string);
    }
    return 0;
}

int libxl__hwcap_parse_json(yajl_val v, libxl_hwcap *p)
{
    size_t i;

    if (!YAJL_IS_ARRAY(v) || v->u.array.len < 8)
        return ERROR_INVAL;
    for (i = 0; i < 8; i++)
        if (libxl__uint32_parse_json(v->u.array.values[i], &(*p)[i]))
            return ERROR_INVAL;
    return 0;
}

int libxl__ms_vm_genid_parse_json(yajl_val v, libxl_ms_vm_genid *p)
{
    size_t i;

    if (!YAJL_IS_ARRAY(v) || v->u.array.len < LIBXL_MS_VM_GENID_LEN)
        return ERROR_INVAL;
    for (i = 0; i < LIBXL_MS_VM_GENID_LEN; i++)
        if (libxl__uint8_parse_json(v->u.array.values[i], &p->bytes[i]))
            return ERROR_INVAL;
    return 0;
}

int libxl__ev_link_parse_json(yajl_val v, libxl_ev_link *p)
{
    (void)v;
    (void)p;
    return 0;
}

char *libxl__json_quote(const char *s)
{
    size_t n = strlen(s), i, o = 0;
    char *r = libxl__calloc_or_die(n * 6 + 3, 1);

    r[o++] = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            r[o++] = '\\';
            r[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)sprintf(r + o, "\\u%04x", c);
        } else {
            r[o++] = (char)c;
        }
    }
    r[o++] = '"';
    r[o] = '\0';
    return r;
}
