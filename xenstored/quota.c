/*
 * quota.c: per-domain limits and their defaults.
 */
#include "quota.h"

#include <stdio.h>
#include <string.h>

#define Q(field) offsetof(struct engine_config, field)

static const struct quota_def quotas[] = {
    { "nodes", Q(nodes_per_domain), "Nodes per domain", false },
    { "watches", Q(watches_per_domain), "Watches per domain", false },
    { "transactions", Q(transactions), "Transactions per domain", false },
    { "outstanding", Q(outstanding), "Outstanding requests per domain",
      false },
    { "transaction-nodes", Q(transaction_nodes),
      "Max. number of accessed nodes per transaction", false },
    { "memory", Q(memory_per_domain),
      "Total Xenstore memory per domain (error level)", false },
    { "node-size", Q(node_size), "Max. size of a node", false },
    { "path-max", Q(path_max), "Max. length of a node path", false },
    { "permissions", Q(perms_per_node),
      "Max. number of permissions per node", false },
    { "memory", Q(memory_soft),
      "Total Xenstore memory per domain (warning level)", true },
};

void engine_config_init(struct engine_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nodes_per_domain = 1000;
    cfg->node_size = 2048;
    cfg->watches_per_domain = 128;
    cfg->transactions = 10;
    cfg->perms_per_node = 5;
    cfg->path_max = XENSTORE_REL_PATH_MAX;
    cfg->transaction_nodes = 1024;
    cfg->memory_per_domain = 2 * 1024 * 1024 + 512 * 1024;
    cfg->memory_soft = 2 * 1024 * 1024;
    cfg->outstanding = 20;
}

const struct quota_def *quota_find(const char *name, bool soft)
{
    size_t i;

    for (i = 0; i < sizeof(quotas) / sizeof(quotas[0]); i++)
        if (quotas[i].soft == soft && !strcmp(quotas[i].name, name))
            return &quotas[i];
    return NULL;
}

unsigned int *quota_field(struct engine_config *cfg,
                          const struct quota_def *q)
{
    return (unsigned int *)(void *)((char *)cfg + q->offset);
}

int quota_format(const struct engine_config *cfg, bool soft, char *buf,
                 size_t size)
{
    size_t off = 0, i;
    int r;

    r = snprintf(buf, size, "Quota settings:\n");
    if (r < 0 || (size_t)r >= size)
        return -1;
    off = (size_t)r;
    for (i = 0; i < sizeof(quotas) / sizeof(quotas[0]); i++) {
        const unsigned int *v;

        if (quotas[i].soft != soft)
            continue;
        v = (const unsigned int *)(const void *)((const char *)cfg +
                                                 quotas[i].offset);
        r = snprintf(buf + off, size - off, "%-17s: %8u %s\n",
                     quotas[i].name, *v, quotas[i].descr);
        if (r < 0 || (size_t)r >= size - off)
            return -1;
        off += (size_t)r;
    }
    return (int)off;
}
