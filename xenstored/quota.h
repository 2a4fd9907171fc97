/*
 * quota.h: per-domain limits (Xen 4.17's defaults) and their names as
 * CONTROL quota / quota-soft show and set them.
 */
#ifndef XENSTORED_QUOTA_H
#define XENSTORED_QUOTA_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

/* One named limit; `soft` ones are warning levels. */
struct quota_def {
    const char *name;
    size_t offset;               /* in struct engine_config */
    const char *descr;
    bool soft;
};

const struct quota_def *quota_find(const char *name, bool soft);

/* "Quota settings:\n" and one line per limit, as Xen prints them. */
int quota_format(const struct engine_config *cfg, bool soft, char *buf,
                 size_t size);

unsigned int *quota_field(struct engine_config *cfg,
                          const struct quota_def *q);

#endif /* XENSTORED_QUOTA_H */
