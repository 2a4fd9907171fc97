/*
 * xenstore.h: client library for the xenstore daemon (libxenstore).
 *
 * Compatibility: source-compatible with Xen 4.17's xenstore.h: the same
 * function names, signatures, types, flags and error conventions, so a
 * program written against Xen's libxenstore builds unchanged.  Not
 * provided: the feature/quota calls Xen added after 4.17.
 *
 * Conventions:
 * - Failures return NULL, false or XBT_NULL and set errno.  Errors
 *   reported by the daemon arrive as their errno names (ENOENT, EACCES,
 *   EAGAIN, ...) and are mapped to the local errno values.
 * - Returned buffers are malloc'd in one block: one free() releases them.
 * - A handle may be shared by several threads.  Requests from different
 *   threads may be in flight at once; each reply goes back to the thread
 *   that sent the request.  Watch events are queued on the handle and
 *   handed out by xs_read_watch()/xs_check_watch().
 * - Cancellation: a thread blocked in xs_read_watch() may be cancelled;
 *   the other calls hold a cancel back until they return.
 * - The library never writes to stderr and never exits the process.
 * - The connection goes to xs_daemon_socket() (see xenstore_lib.h).
 */
#ifndef XENSTORE_H
#define XENSTORE_H

#include <xenstore_lib.h>

/* The "no transaction" id. */
#define XBT_NULL 0

/* xs_open() flags.  READONLY and SOCKETONLY are accepted and ignored. */
#define XS_OPEN_READONLY (1UL << 0)
#define XS_OPEN_SOCKETONLY (1UL << 1)
/*
 * XS_UNWATCH_FILTER: once xs_unwatch(path, token) returns, queued events
 * whose token equals `token` and whose path is `path` or below it are
 * dropped and no such event is handed out later.  This relies on the
 * (token, path) pair being unique: do not register a path and one of its
 * subpaths under the same token.  Without the flag, events queued before
 * the unwatch may still be delivered after it.
 */
#define XS_UNWATCH_FILTER (1UL << 2)
/*
 * XS_RECONNECT (Xenolith; Xen has no such flag, the bit is far from
 * Xen's): the handle survives a restart of the daemon.  When the
 * connection to the daemon's socket breaks (end of stream, ECONNRESET,
 * EPIPE), the library connects to the same socket again, every 25 ms for
 * up to $XENSTORE_RECONNECT_MS milliseconds (default 10000; 0 turns the
 * flag off), and then:
 * - registers every watch of the handle again (same path and token).
 *   The daemon fires each one once as it registers it, so each watch
 *   gets one event that tells the watcher to read its state again:
 *   changes made while the daemon was down, or lost with it, are not
 *   reported otherwise;
 * - a request that was sent but not answered is sent once more if it
 *   cannot act twice (READ, DIRECTORY, GET_PERMS, WATCH, UNWATCH,
 *   GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED, TRANSACTION_START); one that
 *   changes the store or the domains (WRITE, MKDIR, RM, SET_PERMS,
 *   INTRODUCE, RELEASE, CONTROL, ...) fails with EIO: it may or may not
 *   have taken effect.  A request the daemon never received (its sending
 *   failed) is simply sent to the new daemon;
 * - transactions do not survive: a request in a transaction begun
 *   before the break, and xs_transaction_end() of it, fail with EAGAIN,
 *   so the caller runs the transaction again as after a conflict.  To
 *   keep lost ids apart from the new daemon's, transaction ids on such a
 *   handle are the library's own (still never XBT_NULL);
 * - requests made meanwhile wait for the new connection.
 * If no daemon answers within the window the handle is dead as without
 * the flag: every call fails, with the errno of the last connection
 * attempt (ECONNREFUSED or ENOENT: nothing listens on the socket;
 * ETIMEDOUT: a connection was accepted but never answered).
 * What survives is what the restarted daemon restores (see xenstored's
 * --snapshot); writes it did not save are lost.  Only a connection to a
 * socket reconnects, not one to a xenbus device.
 */
#define XS_RECONNECT (1UL << 30)

struct xs_handle;
typedef uint32_t xs_transaction_t;

/* ---------------------------------------------------------- connection */

/*
 * Connects to the daemon and returns a new handle, or NULL with errno set.
 * `flags` is a mask of XS_OPEN_*.  When the daemon's socket cannot be
 * reached and $XENSTORED_PATH is unset, the xenbus device of a guest
 * kernel (/dev/xen/xenbus) is tried as well.  After fork() only the
 * parent may keep using the handle; the child may release it with
 * xs_daemon_destroy_postfork().
 */
struct xs_handle *xs_open(unsigned long flags);

/* Closes the connection and frees the handle.  NULL is accepted. */
void xs_close(struct xs_handle *xsh);

/* Old names for xs_open(0) and xs_close(). */
struct xs_handle *xs_daemon_open(void);
struct xs_handle *xs_domain_open(void);
struct xs_handle *xs_daemon_open_readonly(void);
void xs_daemon_close(struct xs_handle *xsh);

/*
 * In a child after fork(): frees the handle inherited from the parent
 * without touching the parent's connection state.
 */
void xs_daemon_destroy_postfork(struct xs_handle *xsh);

/* ---------------------------------------------------------- nodes */

/*
 * Lists the children of `path`.  Returns a malloc'd array of *num
 * strings, or NULL.  Directories too large for one reply are fetched in
 * parts (XS_DIRECTORY_PART) transparently.
 */
char **xs_directory(struct xs_handle *h, xs_transaction_t t,
                    const char *path, unsigned int *num);

/*
 * Reads the value of `path`.  Returns a malloc'd buffer with a NUL added
 * after the value (*len, if len is not NULL, excludes it), or NULL.
 */
void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
              unsigned int *len);

/* Writes `len` bytes to `path`, creating missing parents. */
bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
              const void *data, unsigned int len);

/* Creates `path` (empty value); succeeds if it exists already. */
bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path);

/* Removes `path` and everything below it. */
bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path);

/* Withdrawn from the protocol: always returns false (errno = ENOSYS). */
bool xs_restrict(struct xs_handle *h, unsigned domid);

/*
 * Returns the permissions of `path` as a malloc'd array of *num entries
 * (entry 0: owner and default access), or NULL.
 */
struct xs_permissions *xs_get_permissions(struct xs_handle *h,
                                          xs_transaction_t t,
                                          const char *path,
                                          unsigned int *num);

/*
 * Replaces the permissions of `path` with perms[0..num_perms-1]; entry 0
 * is the owner and the access of unlisted domains.
 */
bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
                        const char *path, struct xs_permissions *perms,
                        unsigned int num_perms);

/* ---------------------------------------------------------- watches */

/*
 * Registers a watch on `path` (and everything below it) reported with
 * `token`.  The daemon reports each new watch once straight away.
 */
bool xs_watch(struct xs_handle *h, const char *path, const char *token);

/*
 * Returns a descriptor that polls readable while watch events are queued
 * on the handle.  The descriptor belongs to the handle; -1 on failure.
 */
int xs_fileno(struct xs_handle *h);

/*
 * Takes the next queued watch event without blocking.  Returns a
 * malloc'd array: [XS_WATCH_PATH] is the path that changed and
 * [XS_WATCH_TOKEN] the watch's token.  Returns NULL with errno = EAGAIN
 * when nothing is queued.  Call it until EAGAIN once xs_fileno() polls
 * readable.
 */
char **xs_check_watch(struct xs_handle *h);

/*
 * Like xs_check_watch() but waits for an event.  *num is set to the
 * number of strings in the array (at least 2).
 */
char **xs_read_watch(struct xs_handle *h, unsigned int *num);

/*
 * Removes the watch (path, token).  See XS_UNWATCH_FILTER for events
 * already queued.
 */
bool xs_unwatch(struct xs_handle *h, const char *path, const char *token);

/* ---------------------------------------------------------- transactions */

/* Starts a transaction; returns its id, or XBT_NULL on failure. */
xs_transaction_t xs_transaction_start(struct xs_handle *h);

/*
 * Commits (abort false) or discards (abort true) transaction `t`.  A
 * commit that conflicts with another change fails with errno = EAGAIN:
 * the caller runs the transaction again.
 */
bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t,
                        bool abort);

/* ---------------------------------------------------------- domains */

/*
 * Tells the daemon about domain `domid`: its store ring page `mfn` and
 * event channel `eventchn`.
 */
bool xs_introduce_domain(struct xs_handle *h, unsigned int domid,
                         unsigned long mfn, unsigned int eventchn);

/* Lets domain `domid` act with the privileges of domain `target`. */
bool xs_set_target(struct xs_handle *h, unsigned int domid,
                   unsigned int target);

/* Clears the daemon's "shut down" mark on `domid`. */
bool xs_resume_domain(struct xs_handle *h, unsigned int domid);

/* Makes the daemon forget domain `domid`. */
bool xs_release_domain(struct xs_handle *h, unsigned int domid);

/* Returns the malloc'd home path of `domid` (/local/domain/N), or NULL. */
char *xs_get_domain_path(struct xs_handle *h, unsigned int domid);

/*
 * True if `child` equals `parent` or lies below it, by string comparison
 * only.
 */
bool xs_path_is_subpath(const char *parent, const char *child);

/* True if `domid` was introduced; false if not, or on error. */
bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid);

/* ---------------------------------------------------------- control */

/*
 * Sends the daemon control command `cmd` with `len` bytes of arguments
 * (NUL-separated strings).  Returns the malloc'd reply text, or NULL.
 */
char *xs_control_command(struct xs_handle *h, const char *cmd, void *data,
                         unsigned int len);
/* Old name of xs_control_command(). */
char *xs_debug_command(struct xs_handle *h, const char *cmd, void *data,
                       unsigned int len);

/*
 * Reads /local/domain/<domid>/device/suspend/event-channel with a
 * short-lived connection.  Returns the port, or -1.
 */
int xs_suspend_evtchn_port(int domid);

#endif /* XENSTORE_H */
