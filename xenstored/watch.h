/*
 * watch.h: watches and watch events.
 *
 * Every watch sits in one index keyed by its canonical path, so a change
 * of /a/b/c finds its watchers with one lookup per ancestor (/, /a, /a/b,
 * /a/b/c): the cost does not grow with the number of watches elsewhere.
 */
#ifndef XENSTORED_WATCH_H
#define XENSTORED_WATCH_H

#include "core.h"

int watch_index_init(struct engine *e);
void watch_index_free(struct engine *e);

/*
 * Sends events for a change of the node `path`: exact fires only watches
 * on the path itself, otherwise those on the path and its ancestors.  The
 * watcher needs read access to the node (perms, or old perms when given)
 * or to its parent (looked up in the store as it is now).
 */
void watch_fire(struct engine *e, const char *path, size_t len, bool exact,
                const struct perm *perms, unsigned int nperms,
                const struct perm *old, unsigned int nold);

/* @introduceDomain (0) or @releaseDomain (1). */
void watch_fire_special(struct engine *e, int idx);

/* Forgets the events of the previous request (duplicate suppression). */
void watch_request_begin(struct engine *e);

/* Drops every watch of c. */
void watch_conn_drop_all(struct engine_conn *c);

/* c's watches and the bytes they account (path and token lengths). */
void watch_conn_usage(const struct engine_conn *c, int *count_r,
                      long *bytes_r);

/* A connection's watches, newest first (c->watches, then watch_next);
 * the path as registered (relative ones without the home) and the
 * token (live update, dump.c). */
const struct watch *watch_next(const struct watch *w);
const char *watch_registered_path(const struct watch *w);
const char *watch_token(const struct watch *w);

void watch_do_watch(struct req *r);
void watch_do_unwatch(struct req *r);

#endif /* XENSTORED_WATCH_H */
