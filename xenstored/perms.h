/*
 * perms.h: xenstore node permissions.
 *
 * A permission list is one or more (domid, bits) entries.  The first entry
 * names the owner, and its bits are what every domain not listed later gets.
 * On the wire an entry is "<letter><domid>" with letter n (none), r (read),
 * w (write) or b (both).
 */
#ifndef XENSTORED_PERMS_H
#define XENSTORED_PERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERM_NONE   0x00u
#define PERM_READ   0x01u
#define PERM_WRITE  0x02u
#define PERM_OWNER  0x08u  /* never stored: returned by perms_for() */

/* One entry; lists are arrays of these. */
struct perm {
    uint32_t id;
    uint32_t bits;
};

/* Who is asking: a domain, and the domain it acts for (SET_TARGET). */
struct perm_who {
    unsigned int domid;
    bool privileged;
    bool has_target;
    unsigned int target;
};

/*
 * The bits `who` has on a node with list p[0..n): everything for privileged
 * callers and for the owner (or the target's owner), else the entry naming
 * the caller (or its target), else the owner entry's bits.
 */
unsigned int perms_for(const struct perm_who *who, const struct perm *p,
                       unsigned int n);

/*
 * Parses `count` NUL-terminated entries starting at `s` (Xen's syntax: the
 * domid is read with base 0 and must be followed by the NUL).  Returns 0 or
 * -EINVAL.
 */
int perms_parse(const char *s, unsigned int count, struct perm *out);

/*
 * Writes the list as NUL-separated entries into buf (size bytes).  Returns
 * the length including the final NUL, or -E2BIG when it does not fit.
 */
int perms_format(const struct perm *p, unsigned int n, char *buf,
                 size_t size);

/* Replaces every occurrence of domid: owner becomes 0, others dropped.
 * Returns the new count. */
unsigned int perms_remove_domid(struct perm *p, unsigned int n,
                                unsigned int domid);

#endif /* XENSTORED_PERMS_H */
