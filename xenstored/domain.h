/*
 * domain.h: the domain table (accounting, introduction, targets) and the
 * domain requests (INTRODUCE, RELEASE, RESUME, IS_DOMAIN_INTRODUCED,
 * GET_DOMAIN_PATH, SET_TARGET), plus the special watch paths
 * @introduceDomain / @releaseDomain and their permissions.
 */
#ifndef XENSTORED_DOMAIN_H
#define XENSTORED_DOMAIN_H

#include "core.h"

/* Xen's DOMID_SELF. */
#define DOMID_SELF_VALUE 0x7FF0u

struct domain {
    struct domain *hnext;
    unsigned int domid;
    bool introduced;
    bool shutdown;               /* seen shut down since INTRODUCE/RESUME */
    bool has_target;
    unsigned int target;
    unsigned int port;
    unsigned long mfn;
    int nbentry;                 /* nodes owned */
    int nbwatch;                 /* watches of its connections */
    long memory;                 /* accounted bytes */
};

/* The record for domid, created on first use; NULL on ENOMEM. */
struct domain *domain_get(struct engine *e, unsigned int domid);
struct domain *domain_find(const struct engine *e, unsigned int domid);
void domain_table_free(struct engine *e);

/* store_hooks.acct and .acct_reserve */
void domain_acct(void *engine, unsigned int owner, int nodes, long bytes);
int domain_acct_reserve(void *engine, unsigned int owner);

/* The accounting half of engine_check(). */
int domain_check(struct engine *e, char *buf, size_t size);

/* Special paths: index 0 = @introduceDomain, 1 = @releaseDomain, -1. */
int domain_special_index(const char *path);
int domain_special_init(struct engine *e);
void domain_special_free(struct engine *e);
/* SET_PERMS on a special path. */
int domain_special_set_perms(struct req *r, int idx, const struct perm *p,
                             unsigned int n);
/* Whether the connection may see events of the special path idx. */
bool domain_special_readable(const struct engine *e, int idx,
                             const struct engine_conn *c);

void domain_do_introduce(struct req *r);
void domain_do_release(struct req *r);
void domain_do_resume(struct req *r);
void domain_do_is_introduced(struct req *r);
void domain_do_get_path(struct req *r);
void domain_do_set_target(struct req *r);

#endif /* XENSTORED_DOMAIN_H */
