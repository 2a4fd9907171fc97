/*
 * backend.h - what every backend process (backends/<class>/) does the
 * same way: its run directory and its devices' xenstore keys.  Internal
 * to backends/; never installed.
 */
#ifndef BACKEND_COMMON_H
#define BACKEND_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <xenstore.h>

/* A backend's log function: one line, printf-style. */
typedef void backend_log_fn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * A backend's command line, `<name> --domid D` (1 <= D <= 32751): 0 with
 * *domid_r set; 1 after --help (usage on stdout); -1 for bad arguments
 * (said on stderr, with usage).
 */
int backend_parse_args(const char *name, int argc, char **argv,
                       void (*usage)(FILE *f), unsigned int *domid_r);

/*
 * Writes one log line to stderr, "<name>[<domid>]: <pre><message>\n",
 * in one write (the backend's daemons write to the same file).
 */
void backend_log_line(const char *name, unsigned int domid, const char *pre,
                      const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/*
 * Makes dir (its parents 0755, itself 0700) and locks it (flock): a
 * second backend of the same class for the same domain would take the
 * first one's sockets.  Then removes the files `ours` names that a dead
 * worker left.  Returns the locked descriptor; -EBUSY when another
 * `binary` holds the lock (nothing to remove); another -errno.  Logged.
 */
int backend_take_dir(const char *dir, const char *binary,
                     bool (*ours)(const char *name), backend_log_fn *log);

/* Removes the files `ours` names and dir itself (logged if it cannot). */
void backend_remove_dir(const char *dir, int dfd,
                        bool (*ours)(const char *name), backend_log_fn *log);

/* dir/key: malloc'd, or NULL with errno (ENOENT; ENOTCONN when xs is
 * NULL: no store connected now). */
char *backend_read_key(struct xs_handle *xs, const char *dir,
                       const char *key);

/*
 * Writes the key/value pairs of ap (NULL-terminated) under dir in one
 * transaction, unless dir is gone: libxl removes it to detach the
 * device, and a plain write would make it again.  0 (written, or dir
 * gone), or -errno (ENOTCONN without a store).
 */
int backend_write_keys(struct xs_handle *xs, const char *dir, va_list ap);

/* Whether dom_path (/local/domain/<domid>) is gone, not just
 * unreadable: the domain is, and its backend leaves. */
bool backend_domain_gone(struct xs_handle *xs, const char *dom_path);

/* A devid: a decimal number in canonical form (no sign, no leading 0). */
bool backend_parse_devid(const char *s, unsigned int *devid_r);

#endif /* BACKEND_COMMON_H */
