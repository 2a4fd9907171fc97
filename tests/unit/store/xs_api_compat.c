/*
 * xs_api_compat.c: compile-time check that our headers declare Xen 4.17's
 * libxenstore API with the same types.  Each function is declared again
 * with the signature Xen's xenstore.h/xenstore_lib.h give it; a different
 * type in our headers is a compile error ("conflicting types").  The
 * constants are checked with static assertions.
 */
#include "xs_api_compat.h"

#include <xenstore.h>

struct xs_handle *xs_open(unsigned long flags);
void xs_close(struct xs_handle *xsh);
struct xs_handle *xs_daemon_open(void);
struct xs_handle *xs_domain_open(void);
struct xs_handle *xs_daemon_open_readonly(void);
void xs_daemon_close(struct xs_handle *);
void xs_daemon_destroy_postfork(struct xs_handle *);
char **xs_directory(struct xs_handle *h, xs_transaction_t t,
                    const char *path, unsigned int *num);
void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
              unsigned int *len);
bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
              const void *data, unsigned int len);
bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path);
bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path);
bool xs_restrict(struct xs_handle *h, unsigned domid);
struct xs_permissions *xs_get_permissions(struct xs_handle *h,
                                          xs_transaction_t t,
                                          const char *path,
                                          unsigned int *num);
bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
                        const char *path, struct xs_permissions *perms,
                        unsigned int num_perms);
bool xs_watch(struct xs_handle *h, const char *path, const char *token);
int xs_fileno(struct xs_handle *h);
char **xs_check_watch(struct xs_handle *h);
char **xs_read_watch(struct xs_handle *h, unsigned int *num);
bool xs_unwatch(struct xs_handle *h, const char *path, const char *token);
xs_transaction_t xs_transaction_start(struct xs_handle *h);
bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t,
                        bool abort);
bool xs_introduce_domain(struct xs_handle *h, unsigned int domid,
                         unsigned long mfn, unsigned int eventchn);
bool xs_set_target(struct xs_handle *h, unsigned int domid,
                   unsigned int target);
bool xs_resume_domain(struct xs_handle *h, unsigned int domid);
bool xs_release_domain(struct xs_handle *h, unsigned int domid);
char *xs_get_domain_path(struct xs_handle *h, unsigned int domid);
bool xs_path_is_subpath(const char *parent, const char *child);
bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid);
char *xs_control_command(struct xs_handle *h, const char *cmd, void *data,
                         unsigned int len);
char *xs_debug_command(struct xs_handle *h, const char *cmd, void *data,
                       unsigned int len);
int xs_suspend_evtchn_port(int domid);
const char *xs_daemon_rundir(void);
const char *xs_daemon_socket(void);
const char *xs_daemon_socket_ro(void);
bool xs_write_all(int fd, const void *data, unsigned int len);
bool xs_strings_to_perms(struct xs_permissions *perms, unsigned int num,
                         const char *strings);

_Static_assert(XBT_NULL == 0, "XBT_NULL");
_Static_assert(XS_OPEN_READONLY == 1UL, "XS_OPEN_READONLY");
_Static_assert(XS_OPEN_SOCKETONLY == 2UL, "XS_OPEN_SOCKETONLY");
_Static_assert(XS_UNWATCH_FILTER == 4UL, "XS_UNWATCH_FILTER");
_Static_assert(XS_PERM_NONE == 0 && XS_PERM_READ == 1 && XS_PERM_WRITE == 2,
               "XS_PERM_*");
_Static_assert(XS_PERM_ENOENT_OK == 4 && XS_PERM_OWNER == 8
               && XS_PERM_IGNORE == 0x10, "XS_PERM_* internal");
_Static_assert(sizeof(xs_transaction_t) == 4, "xs_transaction_t");
_Static_assert(sizeof(struct xs_permissions) == 2 * sizeof(unsigned int),
               "struct xs_permissions");
_Static_assert(MAX_STRLEN(unsigned int) == 11, "MAX_STRLEN");
_Static_assert(XS_WATCH_PATH == 0 && XS_WATCH_TOKEN == 1, "XS_WATCH_*");

/* Every function of the API, so a missing definition fails to link. */
const void *const xs_api_compat_table[] = {
    (const void *)xs_open, (const void *)xs_close,
    (const void *)xs_daemon_open, (const void *)xs_domain_open,
    (const void *)xs_daemon_open_readonly, (const void *)xs_daemon_close,
    (const void *)xs_daemon_destroy_postfork, (const void *)xs_directory,
    (const void *)xs_read, (const void *)xs_write, (const void *)xs_mkdir,
    (const void *)xs_rm, (const void *)xs_restrict,
    (const void *)xs_get_permissions, (const void *)xs_set_permissions,
    (const void *)xs_watch, (const void *)xs_fileno,
    (const void *)xs_check_watch, (const void *)xs_read_watch,
    (const void *)xs_unwatch, (const void *)xs_transaction_start,
    (const void *)xs_transaction_end, (const void *)xs_introduce_domain,
    (const void *)xs_set_target, (const void *)xs_resume_domain,
    (const void *)xs_release_domain, (const void *)xs_get_domain_path,
    (const void *)xs_path_is_subpath, (const void *)xs_is_domain_introduced,
    (const void *)xs_control_command, (const void *)xs_debug_command,
    (const void *)xs_suspend_evtchn_port, (const void *)xs_daemon_rundir,
    (const void *)xs_daemon_socket, (const void *)xs_daemon_socket_ro,
    (const void *)xs_write_all, (const void *)xs_strings_to_perms,
    (const void *)xs_perm_to_string,
};
const unsigned int xs_api_compat_count =
    sizeof(xs_api_compat_table) / sizeof(xs_api_compat_table[0]);
