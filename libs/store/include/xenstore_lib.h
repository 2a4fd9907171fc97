/*
 * xenstore_lib.h: types and helpers shared by libxenstore, the xenstore
 * daemon and the xenstore tools.
 *
 * Compatibility: source-compatible with the xenstore_lib.h of Xen 4.17
 * (same names, types, flag values and signatures).  xs_perm_to_string() is
 * an addition that older Xen releases also made public.
 *
 * Thread-safety: every function here may be called from any thread.
 */
#ifndef XENSTORE_LIB_H
#define XENSTORE_LIB_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

/*
 * One access-control entry of a node.  In a node's list the first entry
 * names the owner (who may always read and write) and gives the access of
 * every domain not listed later; the following entries grant access to
 * single domains.
 */
struct xs_permissions {
    unsigned int id;    /* domain id */
    unsigned int perms; /* XS_PERM_* bits */
#define XS_PERM_NONE 0x00
#define XS_PERM_READ 0x01
#define XS_PERM_WRITE 0x02
    /* Used inside the daemon only; never sent on the wire. */
#define XS_PERM_ENOENT_OK 0x04
#define XS_PERM_OWNER 0x08
#define XS_PERM_IGNORE 0x10
};

/*
 * Bytes needed to print an integer object `x` in decimal, with sign and
 * terminating NUL (roughly three digits per ten bits, plus two).
 */
#define MAX_STRLEN(x) ((sizeof(x) * CHAR_BIT + CHAR_BIT - 1) / 10 * 3 + 2)

/*
 * Run-time locations.  Each returns a string owned by the library (valid
 * until the next call from the same thread) or NULL if the path would not
 * fit in PATH_MAX.
 *
 * xs_daemon_rundir(): $XENSTORED_RUNDIR if set, else
 *   $XENOLITH_RUNDIR/xenstored, else /run/xenolith/xenstored.
 * xs_daemon_socket(): $XENSTORED_PATH if set, else
 *   xs_daemon_rundir()/socket.
 * xs_daemon_socket_ro(): the same socket (read-only sockets are gone).
 */
const char *xs_daemon_rundir(void);
const char *xs_daemon_socket(void);
const char *xs_daemon_socket_ro(void);

/*
 * Writes all `len` bytes to `fd`, retrying after EINTR and short writes.
 * Returns false with errno set when the descriptor fails.
 */
bool xs_write_all(int fd, const void *data, unsigned int len);

/*
 * Parses `num` NUL-separated permission strings ("r0", "b5", "n12", "w7";
 * the letter is n(one), r(ead), w(rite) or b(oth), followed by a domain
 * id) into perms[0..num-1].  Returns false with errno = EINVAL on a
 * malformed string.
 */
bool xs_strings_to_perms(struct xs_permissions *perms, unsigned int num,
                         const char *strings);

/*
 * Formats one permission as its wire string ("b0") into buffer, which
 * should hold MAX_STRLEN(unsigned int) + 1 bytes.  XS_PERM_IGNORE is not
 * part of the string.  Returns false with errno = EINVAL if perm->perms
 * has bits other than READ, WRITE and IGNORE.
 */
bool xs_perm_to_string(const struct xs_permissions *perm, char *buffer,
                       size_t buf_len);

#endif /* XENSTORE_LIB_H */
