/*
 * libxl_save.c - save, restore and migration of a domain (libxl.h):
 * libxl's part of the domain stream (docs/STREAM.md).
 */
#include "libxl_internal.h"

int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd, int flags,
                         const libxl_asyncop_how *ao_how)
{
    (void)fd;
    (void)flags;
    LOG(ctx, ERROR, "domain %u: saving is not built yet", domid);
    return libxl__ao_complete(ctx, domid, ao_how, ERROR_FAIL);
}

int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid, int suspend_cancel,
                        const libxl_asyncop_how *ao_how)
{
    (void)suspend_cancel;
    return libxl_domain_unpause(ctx, domid, ao_how);
}

int libxl_domain_create_restore(libxl_ctx *ctx, libxl_domain_config *d_config,
                                uint32_t *domid, int restore_fd,
                                int send_back_fd,
                                const libxl_domain_restore_params *params,
                                const libxl_asyncop_how *ao_how,
                                const libxl_asyncprogress_how *aop_console_how)
{
    (void)d_config;
    (void)restore_fd;
    (void)send_back_fd;
    (void)params;
    (void)aop_console_how;
    *domid = INVALID_DOMID;
    LOG(ctx, ERROR, "restoring a domain is not built yet");
    return libxl__ao_complete(ctx, INVALID_DOMID, ao_how, ERROR_FAIL);
}
