/*
 * xs_compat_headers.c: the deprecated header names still build a program
 * (they warn, as Xen's do; this file is compiled with -Wno-cpp).
 */
#include "xs_api_compat.h"

#include <xs.h>
#include <xs_lib.h>

bool xs_compat_headers_ok(void)
{
    struct xs_permissions p = { 0, XS_PERM_READ };
    char buf[MAX_STRLEN(unsigned int) + 1];

    return XBT_NULL == 0 && xs_perm_to_string(&p, buf, sizeof(buf));
}
