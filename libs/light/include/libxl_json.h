/*
 * libxl_json.h - yajl generators for the libxl types.
 *
 * libxl_<type>_gen_json(hand, p) writes p as one JSON value into a yajl
 * generator, using libxl's JSON form (fields at their default omitted,
 * keyed unions as "KEY.MEMBER" objects).  Callers that only need a string
 * use libxl_<type>_to_json from libxl.h instead.
 */
#ifndef LIBXL_JSON_H
#define LIBXL_JSON_H

/* Everything declared here is exported (the library builds with
 * -fvisibility=hidden). */
#pragma GCC visibility push(default)

#include <yajl/yajl_gen.h>

#include <libxl.h>

yajl_gen_status libxl_defbool_gen_json(yajl_gen hand, libxl_defbool *p);
yajl_gen_status libxl_uuid_gen_json(yajl_gen hand, libxl_uuid *p);
yajl_gen_status libxl_mac_gen_json(yajl_gen hand, libxl_mac *p);
yajl_gen_status libxl_bitmap_gen_json(yajl_gen hand, libxl_bitmap *p);
yajl_gen_status libxl_string_list_gen_json(yajl_gen hand,
                                           libxl_string_list *p);
yajl_gen_status libxl_key_value_list_gen_json(yajl_gen hand,
                                              libxl_key_value_list *p);
yajl_gen_status libxl_cpuid_policy_list_gen_json(yajl_gen hand,
                                                 libxl_cpuid_policy_list *p);
yajl_gen_status libxl_hwcap_gen_json(yajl_gen hand, libxl_hwcap *p);
yajl_gen_status libxl_ms_vm_genid_gen_json(yajl_gen hand,
                                           libxl_ms_vm_genid *p);

#include <libxl_types_json.h>

#pragma GCC visibility pop

#endif /* LIBXL_JSON_H */
