/*
 * xl_light.h - the libxl functions xl calls beyond the parser's, declared
 * with Xen 4.17's signatures (tools/include/libxl.h, libxl_event.h).
 *
 * TEMPORARY (issue 4): libs/light is gaining these functions while xl is
 * written.  Each is re-declared here as a weak reference, so xl builds
 * and links against a libxenlight that lacks some of them; a command
 * whose function is missing says so (XL_NEED) and exits 1.  Once
 * libxl.h declares them all, this header shrinks to nothing (see
 * xl/TODO-light.md).  A re-declaration that disagrees with libxl.h is a
 * compile error, which is the point: xl stays on Xen's signatures.
 */
#ifndef XL_LIGHT_H
#define XL_LIGHT_H

#include <libxl.h>

#define XL_WEAK __attribute__((weak))

/* libxl_event.h */
#ifndef LIBXL_EVENTMASK_ALL
#define LIBXL_EVENTMASK_ALL (~(unsigned long)0)
#endif
typedef int libxl_event_predicate(const libxl_event *, void *user);
typedef struct libxl__evgen_domain_death libxl_evgen_domain_death;

XL_WEAK int libxl_event_check(libxl_ctx *ctx, libxl_event **event_r,
                              uint64_t typemask,
                              libxl_event_predicate *predicate,
                              void *predicate_user);
XL_WEAK int libxl_event_wait(libxl_ctx *ctx, libxl_event **event_r,
                             uint64_t typemask,
                             libxl_event_predicate *predicate,
                             void *predicate_user);
XL_WEAK void libxl_event_free(libxl_ctx *ctx, libxl_event *event);
XL_WEAK int libxl_evenable_domain_death(libxl_ctx *ctx, uint32_t domid,
                                        libxl_ev_user,
                                        libxl_evgen_domain_death **evgen_out);
XL_WEAK void libxl_evdisable_domain_death(libxl_ctx *ctx,
                                          libxl_evgen_domain_death *);

/* libxl.h: domains */
XL_WEAK int libxl_domain_create_new(libxl_ctx *ctx,
                                    libxl_domain_config *d_config,
                                    uint32_t *domid,
                                    const libxl_asyncop_how *ao_how,
                                    const libxl_asyncprogress_how *aop);
XL_WEAK int libxl_retrieve_domain_configuration(libxl_ctx *ctx,
                                                uint32_t domid,
                                                libxl_domain_config *d_config,
                                                const libxl_asyncop_how *ao);
XL_WEAK int libxl_domain_shutdown(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_asyncop_how *ao_how);
XL_WEAK int libxl_domain_reboot(libxl_ctx *ctx, uint32_t domid,
                                const libxl_asyncop_how *ao_how);
XL_WEAK int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid,
                                 const libxl_asyncop_how *ao_how);
XL_WEAK int libxl_domain_rename(libxl_ctx *ctx, uint32_t domid,
                                const char *old_name, const char *new_name);
XL_WEAK int libxl_domain_pause(libxl_ctx *ctx, uint32_t domid,
                               const libxl_asyncop_how *ao_how);
XL_WEAK int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid,
                                 const libxl_asyncop_how *ao_how);
XL_WEAK int libxl_domain_core_dump(libxl_ctx *ctx, uint32_t domid,
                                   const char *filename,
                                   const libxl_asyncop_how *ao_how);
XL_WEAK int libxl_domain_setmaxmem(libxl_ctx *ctx, uint32_t domid,
                                   uint64_t target_memkb);
XL_WEAK int libxl_set_memory_target(libxl_ctx *ctx, uint32_t domid,
                                    int64_t target_memkb, int relative,
                                    int enforce);
XL_WEAK int libxl_console_get_tty(libxl_ctx *ctx, uint32_t domid,
                                  int cons_num, libxl_console_type type,
                                  char **path);
XL_WEAK int libxl_primary_console_exec(libxl_ctx *ctx, uint32_t domid_vm,
                                       int notify_fd);
XL_WEAK int libxl_domain_info(libxl_ctx *, libxl_dominfo *info_r,
                              uint32_t domid);
XL_WEAK libxl_dominfo *libxl_list_domain(libxl_ctx *, int *nb_domain_out);
XL_WEAK void libxl_dominfo_list_free(libxl_dominfo *list, int nb_domain);
XL_WEAK libxl_vcpuinfo *libxl_list_vcpu(libxl_ctx *ctx, uint32_t domid,
                                        int *nb_vcpu, int *nr_cpus_out);
XL_WEAK void libxl_vcpuinfo_list_free(libxl_vcpuinfo *, int nr_vcpus);
XL_WEAK int libxl_set_vcpuonline(libxl_ctx *ctx, uint32_t domid,
                                 libxl_bitmap *cpumap,
                                 const libxl_asyncop_how *ao_how);
XL_WEAK int libxl_set_vcpuaffinity(libxl_ctx *ctx, uint32_t domid,
                                   uint32_t vcpuid,
                                   const libxl_bitmap *cpumap_hard,
                                   const libxl_bitmap *cpumap_soft);
XL_WEAK int libxl_domain_preserve(libxl_ctx *ctx, uint32_t domid,
                                  libxl_domain_create_info *info,
                                  const char *name_suffix,
                                  libxl_uuid new_uuid);
XL_WEAK int libxl_send_trigger(libxl_ctx *ctx, uint32_t domid,
                               libxl_trigger trigger, uint32_t vcpuid,
                               const libxl_asyncop_how *ao_how);
XL_WEAK int libxl_name_to_domid(libxl_ctx *ctx, const char *name,
                                uint32_t *domid);
XL_WEAK char *libxl_domid_to_name(libxl_ctx *ctx, uint32_t domid);
XL_WEAK const libxl_version_info *libxl_get_version_info(libxl_ctx *ctx);
XL_WEAK int libxl_domain_sched_params_get(libxl_ctx *ctx, uint32_t domid,
                                          libxl_domain_sched_params *params);
XL_WEAK int libxl_domain_sched_params_set(libxl_ctx *ctx, uint32_t domid,
                                          const libxl_domain_sched_params *p);
XL_WEAK int libxl_get_scheduler(libxl_ctx *ctx);
XL_WEAK uint32_t libxl_vm_get_start_time(libxl_ctx *ctx, uint32_t domid);

typedef struct libxl__xen_console_reader libxl_xen_console_reader;
XL_WEAK libxl_xen_console_reader *
    libxl_xen_console_read_start(libxl_ctx *ctx, int clear);
XL_WEAK int libxl_xen_console_read_line(libxl_ctx *ctx,
                                        libxl_xen_console_reader *cr,
                                        char **line_r);
XL_WEAK void libxl_xen_console_read_finish(libxl_ctx *ctx,
                                           libxl_xen_console_reader *cr);

/* Says which libxl function the running libxenlight lacks and returns
 * from the calling command with 1. */
#define XL_NEED(fn) \
    do { \
        if (!(fn)) { \
            fprintf(stderr, "xl: this libxenlight has no %s yet\n", #fn); \
            return 1; \
        } \
    } while (0)

#endif /* XL_LIGHT_H */
