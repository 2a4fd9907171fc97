/* xs_api_compat.h: see xs_api_compat.c and xs_compat_headers.c. */
#ifndef XS_API_COMPAT_H
#define XS_API_COMPAT_H

#include <stdbool.h>

/* Addresses of every libxenstore function (all non-NULL once linked). */
extern const void *const xs_api_compat_table[];
extern const unsigned int xs_api_compat_count;

/* True when the old header names xs.h and xs_lib.h work. */
bool xs_compat_headers_ok(void);

#endif /* XS_API_COMPAT_H */
