/*
 * control.c: XS_CONTROL commands.
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "quota.h"

#define MAX_ARGS 16

struct cmd {
    const char *name;
    int (*fn)(struct req *r, int argc, char **argv);
    const char *pars;
};

static int cmd_help(struct req *r, int argc, char **argv);

static int cmd_check(struct req *r, int argc, char **argv)
{
    char why[256];

    (void)argv;
    if (argc)
        return -EINVAL;
    if (engine_check(r->e, why, sizeof(why)) < 0) {
        engine_logf(r->e, ENGINE_LOG_ERROR, "store check failed: %s", why);
        return -EIO;
    }
    req_ack(r);
    return 0;
}

static int cmd_print(struct req *r, int argc, char **argv)
{
    if (argc != 1)
        return -EINVAL;
    engine_logf(r->e, ENGINE_LOG_INFO, "control: %s", argv[0]);
    req_ack(r);
    return 0;
}

int engine_memreport(const struct engine *e, char *buf, size_t size)
{
    struct engine_stats st;
    int len;

    engine_get_stats(e, &st);
    len = snprintf(buf, size,
                   "nodes: %zu\nwatches: %zu\ntransactions: %zu\n"
                   "connections: %zu\ndomains: %zu\nbytes: %zu\n"
                   "versions: %zu\n",
                   st.nodes, st.watches, st.transactions, st.connections,
                   st.domains, st.bytes, store_hist_count(e->store));
    if (len < 0 || (size_t)len >= size)
        return -ENOSPC;
    return len;
}

/*
 * Commands whose work is I/O (log, logfile, memreport <file>): handed to
 * the embedding program.  argv is control_do()'s vector past the command's
 * name, so argv - 1 is the whole command, name first.
 */
static int to_daemon(struct req *r, int argc, char **argv)
{
    struct engine *e = r->e;
    char *reply;
    int rc;

    if (!e->ops.control)
        return -EINVAL;
    reply = malloc(XENSTORE_PAYLOAD_MAX);
    if (!reply)
        return -ENOMEM;
    reply[0] = '\0';
    rc = e->ops.control(e->opaque, argc + 1, argv - 1, reply,
                        XENSTORE_PAYLOAD_MAX);
    if (rc == -ENOSYS)
        rc = -EINVAL;
    if (rc == -EINPROGRESS) {
        /* the daemon answers later itself (live-update -s) */
        r->replied = true;
        rc = 0;
    } else if (!rc)
        req_reply(r, XS_CONTROL, reply,
                  (unsigned int)strnlen(reply, XENSTORE_PAYLOAD_MAX - 1) + 1);
    free(reply);
    return rc;
}

static int cmd_memreport(struct req *r, int argc, char **argv)
{
    char buf[512];
    int len;

    if (argc > 1)
        return -EINVAL;
    /* With a file: the daemon appends the report to it. */
    if (argc == 1)
        return to_daemon(r, argc, argv);
    len = engine_memreport(r->e, buf, sizeof(buf));
    if (len < 0)
        return len;
    req_reply(r, XS_CONTROL, buf, (unsigned int)len + 1);
    return 0;
}

static int quota_set(struct req *r, int argc, char **argv, bool soft)
{
    const struct quota_def *q;
    int val;

    if (argc != 2)
        return -EINVAL;
    val = atoi(argv[1]);
    if (val < 1)
        return -EINVAL;
    q = quota_find(argv[0], soft);
    if (!q)
        return -EINVAL;
    *quota_field(&r->e->cfg, q) = (unsigned int)val;
    engine_logf(r->e, ENGINE_LOG_INFO, "quota%s %s set to %d",
                soft ? "-soft" : "", argv[0], val);
    req_ack(r);
    return 0;
}

static int quota_show(struct req *r, bool soft)
{
    char buf[1024];
    int len = quota_format(&r->e->cfg, soft, buf, sizeof(buf));

    if (len < 0)
        return -ENOMEM;
    req_reply(r, XS_CONTROL, buf, (unsigned int)len + 1);
    return 0;
}

static int quota_domain(struct req *r, const char *arg)
{
    const struct domain *d = domain_find(r->e, (unsigned int)atoi(arg));
    const struct engine_conn *c;
    unsigned int ntx = 0;
    char buf[512];
    int len;

    if (!d)
        return -ENOENT;
    for (c = r->e->conns; c; c = c->next)
        if (c->domid == d->domid)
            ntx += c->ntx;
    len = snprintf(buf, sizeof(buf),
                   "Domain %u:\n%-16s: %8d\n%-16s: %8d\n%-16s: %8u\n"
                   "%-16s: %8d\n%-16s: %8ld\n",
                   d->domid, "nodes", d->nbentry, "watches", d->nbwatch,
                   "transactions", ntx, "outstanding", 0, "memory",
                   d->memory);
    req_reply(r, XS_CONTROL, buf, (unsigned int)len + 1);
    return 0;
}

static int cmd_quota(struct req *r, int argc, char **argv)
{
    if (argc == 0)
        return quota_show(r, false);
    if (!strcmp(argv[0], "set"))
        return quota_set(r, argc - 1, argv + 1, false);
    if (argc != 1)
        return -EINVAL;
    return quota_domain(r, argv[0]);
}

static int cmd_quota_soft(struct req *r, int argc, char **argv)
{
    if (argc == 0)
        return quota_show(r, true);
    if (!strcmp(argv[0], "set"))
        return quota_set(r, argc - 1, argv + 1, true);
    return -EINVAL;
}

/* Xen 4.17's commands, in its order (its help lists them so). */
static const struct cmd cmds[] = {
    { "check", cmd_check, "" },
    { "log", to_daemon, "on|off" },
    { "live-update", to_daemon,
      "[-c <cmdline>] [-F] [-t <timeout>] <file>\n"
      "    Default timeout is 60 seconds." },
    { "logfile", to_daemon, "<file>" },
    { "memreport", cmd_memreport, "[<file>]" },
    { "print", cmd_print, "<string>" },
    { "quota", cmd_quota, "[set <name> <val>|<domid>]" },
    { "quota-soft", cmd_quota_soft, "[set <name> <val>]" },
    { "help", cmd_help, "" },
};

static int cmd_help(struct req *r, int argc, char **argv)
{
    char buf[1024];
    size_t off = 0, i;
    int n;

    (void)argv;
    if (argc)
        return -EINVAL;
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        n = snprintf(buf + off, sizeof(buf) - off, "%s\t%s\n", cmds[i].name,
                     cmds[i].pars);
        if (n < 0 || (size_t)n >= sizeof(buf) - off)
            return -ENOMEM;
        off += (size_t)n;
    }
    req_reply(r, XS_CONTROL, buf, (unsigned int)off + 1);
    return 0;
}

void control_do(struct req *r)
{
    char *copy, *argv[MAX_ARGS];
    unsigned int n, off, i;
    int rc;

    if (!r->len || !memchr(r->payload, '\0', r->len)) {
        req_error(r, EINVAL, "CONTROL without a command");
        return;
    }
    copy = malloc(r->len);
    if (!copy) {
        req_error(r, ENOMEM, "no memory for CONTROL");
        return;
    }
    memcpy(copy, r->payload, r->len);
    for (n = 0, off = 0; off < r->len && n < MAX_ARGS;) {
        char *nul = memchr(copy + off, '\0', r->len - off);

        if (!nul)
            break;
        argv[n++] = copy + off;
        off = (unsigned int)(nul - copy) + 1;
    }
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (!strcmp(argv[0], cmds[i].name)) {
            rc = cmds[i].fn(r, (int)n - 1, argv + 1);
            if (rc < 0)
                req_error(r, -rc, "CONTROL command refused");
            goto out;
        }
    }
    req_error(r, EINVAL, "unknown CONTROL command");

out:
    free(copy);
}
