/*
 * libxl_internal.h - what the libxenlight source files share; never
 * installed.  Everything here is hidden (not exported).
 */
#ifndef LIBXL_INTERNAL_H
#define LIBXL_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "libxl.h"
#include "libxl_json.h"

#define _hidden __attribute__((visibility("hidden")))

/* The context.  Later issues add the xenstore handle, the core
 * connection, the event machinery and its lock here. */
struct libxl__ctx {
    xentoollog_logger *lg;
};

/*
 * Logging: every message goes to the ctx's logger with context "libxl";
 * LOG adds file:line: function:.  errnoval -1 means "no errno".
 */
_hidden void libxl__log(libxl_ctx *ctx, xentoollog_level level, int errnoval,
                        const char *file, int line, const char *func,
                        const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
#define LOG(ctx, lvl, ...) \
    libxl__log((ctx), XTL_##lvl, -1, __FILE__, __LINE__, __func__, \
               __VA_ARGS__)
#define LOGE(ctx, lvl, ...) \
    libxl__log((ctx), XTL_##lvl, errno, __FILE__, __LINE__, __func__, \
               __VA_ARGS__)

/* Allocation that cannot fail: on exhaustion the process aborts (the one
 * place libxl stops the process, as Xen's libxl does). */
_hidden void *libxl__calloc_or_die(size_t nmemb, size_t size);
_hidden void *libxl__realloc_or_die(void *ptr, size_t size);
_hidden char *libxl__strdup_or_die(const char *s);

/* Builtin type helpers used by the generated code. */
_hidden int libxl__mac_is_default(const libxl_mac *mac);
_hidden int libxl__string_list_is_empty(const libxl_string_list *sl);
_hidden int libxl__key_value_list_is_empty(const libxl_key_value_list *kvl);
_hidden int libxl__cpuid_policy_is_empty(const libxl_cpuid_policy_list *pl);
_hidden int libxl__hwcap_is_default(const libxl_hwcap *hwcap);
_hidden int libxl__enum_from_string(const libxl_enum_string_table *t,
                                    const char *s, int *e);
_hidden void libxl_string_copy(libxl_ctx *ctx, char **dst,
                               char *const *src);

/* JSON generation. */
typedef yajl_gen_status (*libxl__gen_json_callback)(yajl_gen hand, void *);
_hidden char *libxl__object_to_json(libxl_ctx *ctx, const char *type,
                                    libxl__gen_json_callback gen, void *p);
_hidden yajl_gen_status libxl__yajl_gen_asciiz(yajl_gen hand,
                                               const char *str);
_hidden yajl_gen_status libxl__yajl_gen_enum(yajl_gen hand, const char *str);
_hidden yajl_gen_status libxl__string_gen_json(yajl_gen hand, const char *p);
_hidden yajl_gen_status libxl__uint64_gen_json(yajl_gen hand, uint64_t val);

/* JSON parsing (yajl trees).  Each returns 0 or ERROR_INVAL. */
typedef int (*libxl__parse_json_callback)(yajl_val v, void *p);
_hidden int libxl__object_from_json(libxl_ctx *ctx, const char *type,
                                    libxl__parse_json_callback parse,
                                    void *p, const char *s);
_hidden yajl_val libxl__json_map_get(yajl_val map, const char *key);
_hidden int libxl__enum_parse_json(yajl_val v, int *e,
                                   int (*from_string)(const char *, void *));
_hidden int libxl__int_parse_json(yajl_val v, int *p);
_hidden int libxl__uint8_parse_json(yajl_val v, uint8_t *p);
_hidden int libxl__uint16_parse_json(yajl_val v, uint16_t *p);
_hidden int libxl__uint32_parse_json(yajl_val v, uint32_t *p);
_hidden int libxl__uint64_parse_json(yajl_val v, uint64_t *p);
_hidden int libxl__memkb_parse_json(yajl_val v, uint64_t *p);
_hidden int libxl__bool_parse_json(yajl_val v, bool *p);
_hidden int libxl__string_parse_json(yajl_val v, char **p);
_hidden int libxl__defbool_parse_json(yajl_val v, libxl_defbool *p);
_hidden int libxl__domid_parse_json(yajl_val v, libxl_domid *p);
_hidden int libxl__devid_parse_json(yajl_val v, libxl_devid *p);
_hidden int libxl__uuid_parse_json(yajl_val v, libxl_uuid *p);
_hidden int libxl__mac_parse_json(yajl_val v, libxl_mac *p);
_hidden int libxl__bitmap_parse_json(yajl_val v, libxl_bitmap *p);
_hidden int libxl__string_list_parse_json(yajl_val v, libxl_string_list *p);
_hidden int libxl__key_value_list_parse_json(yajl_val v,
                                             libxl_key_value_list *p);
_hidden int libxl__cpuid_policy_list_parse_json(yajl_val v,
                                                libxl_cpuid_policy_list *p);
_hidden int libxl__hwcap_parse_json(yajl_val v, libxl_hwcap *p);
_hidden int libxl__ms_vm_genid_parse_json(yajl_val v, libxl_ms_vm_genid *p);
_hidden int libxl__ev_link_parse_json(yajl_val v, libxl_ev_link *p);

#include "libxl_types_private.h"

/* Host shape, until the core answers physinfo (see libxl_host.c). */
_hidden int libxl__host_cpus(void);
_hidden int libxl__host_nodes(void);

#endif /* LIBXL_INTERNAL_H */
