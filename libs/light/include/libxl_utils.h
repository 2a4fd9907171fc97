/*
 * libxl_utils.h - libxl's helper functions (Xen 4.17's names and
 * signatures).  Included by libxl.h.
 */
#ifndef LIBXL_UTILS_H
#define LIBXL_UTILS_H

#include <libxl.h>

#pragma GCC visibility push(default)

/* The domid of the domain called name: 0, or ERROR_INVAL when there is
 * none (as Xen), ERROR_FAIL when xenstore fails.  Two xenstore reads
 * through libxl's name index, whatever the number of domains. */
int libxl_name_to_domid(libxl_ctx *ctx, const char *name, uint32_t *domid);
/* The domain's name, malloc'd; NULL when unknown. */
char *libxl_domid_to_name(libxl_ctx *ctx, uint32_t domid);

/* 1 when domid can name a guest (1 .. 0x7fef). */
int libxl_domid_valid_guest(uint32_t domid);

#pragma GCC visibility pop

#endif /* LIBXL_UTILS_H */
