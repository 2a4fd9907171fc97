/*
 * options.c: xenstored's command line.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const struct option long_opts[] = {
    { "no-fork", no_argument, NULL, 'N' },
    { "output-pid", no_argument, NULL, 'P' },
    { "pid-file", required_argument, NULL, 'F' },
    { "trace-file", required_argument, NULL, 'T' },
    { "log-file", required_argument, NULL, 'L' },
    { "verbose", no_argument, NULL, 'V' },
    { "entry-nb", required_argument, NULL, 'E' },
    { "entry-size", required_argument, NULL, 'S' },
    { "watch-nb", required_argument, NULL, 'W' },
    { "transaction", required_argument, NULL, 't' },
    { "perm-nb", required_argument, NULL, 'A' },
    { "path-max", required_argument, NULL, 'M' },
    { "quota", required_argument, NULL, 'Q' },
    { "help", no_argument, NULL, 'h' },
    { "snapshot", required_argument, NULL, 'K' },
    /* internal: the state of a live update (lu.h) */
    { "live-restore", required_argument, NULL, 'R' },
    { NULL, 0, NULL, 0 },
};

void options_init(struct options *o)
{
    o->foreground = false;
    o->output_pid = false;
    o->verbose = false;
    o->help = false;
    o->pid_file = NULL;
    o->trace_file = NULL;
    o->log_file = NULL;
    o->outstanding = OPTIONS_OUTSTANDING_DEFAULT;
    o->restore = false;
    o->restore_fd = 0;
    o->snapshot = NULL;
}

void options_usage(FILE *f, const char *prog)
{
    fprintf(f,
"Usage: %s [OPTION]...\n"
"The xenstore daemon: serves <rundir>/socket to the control domain and\n"
"<rundir>/domains/<domid> to each introduced domain.  <rundir> is\n"
"$XENSTORED_RUNDIR, else $XENOLITH_RUNDIR/xenstored, else\n"
"%s/xenstored.\n"
"\n"
"  -N, --no-fork           stay in the foreground\n"
"  -F, --pid-file FILE     write the daemon's pid to FILE\n"
"  -P, --output-pid        print the daemon's pid on stdout when ready\n"
"  -T, --trace-file FILE   trace every message in and out to FILE\n"
"  -L, --log-file FILE     log to FILE (default: stderr with -N, else\n"
"                          syslog)\n"
"  -V, --verbose           log informational and debug lines too\n"
"  -E, --entry-nb NB       nodes a domain may own\n"
"  -S, --entry-size BYTES  largest node (value and permissions)\n"
"  -W, --watch-nb NB       watches a domain may hold\n"
"  -t, --transaction NB    transactions open at once per connection\n"
"  -A, --perm-nb NB        permission entries per node\n"
"  -M, --path-max CHARS    longest relative path (at most %d)\n"
"  -Q, --quota WHAT=NB     set a quota; WHAT is one of\n"
"                            memory             bytes a domain may use\n"
"                                               (0: no limit)\n"
"                            transaction-nodes  nodes one transaction may\n"
"                                               touch\n"
"                            outstanding        replies in flight per\n"
"                                               domain connection\n"
"                                               (default %d, 0: no limit)\n"
"      --snapshot FILE     keep the store in FILE (written within a second\n"
"                          of a change, removed at a clean stop); started\n"
"                          with FILE there (the daemon died), restore it\n"
"  -h, -H, --help          show this help and exit\n"
"\n"
"SIGHUP reopens the log and trace files; SIGTERM and SIGINT stop the\n"
"daemon, removing its sockets and pid file.\n",
            prog, XENOLITH_DEFAULT_RUNDIR, XENSTORE_REL_PATH_MAX,
            OPTIONS_OUTSTANDING_DEFAULT);
}

/* A decimal number in [0, UINT_MAX], nothing else. */
static int parse_uint(const char *s, unsigned int *val_r)
{
    unsigned long v;
    char *end;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > UINT_MAX)
        return -EINVAL;
    *val_r = (unsigned int)v;
    return 0;
}

static int parse_quota(struct options *o, const char *arg, char *err,
                       size_t err_size)
{
    const char *eq = strchr(arg, '=');
    unsigned int val;
    size_t n;

    if (!eq || parse_uint(eq + 1, &val)) {
        snprintf(err, err_size,
                 "invalid quota \"%s\": expected WHAT=NUMBER", arg);
        return -EINVAL;
    }
    n = (size_t)(eq - arg);
    if (n == strlen("memory") && !strncmp(arg, "memory", n))
        o->cfg.memory_per_domain = val;
    else if (n == strlen("transaction-nodes") &&
             !strncmp(arg, "transaction-nodes", n))
        o->cfg.transaction_nodes = val;
    else if (n == strlen("outstanding") && !strncmp(arg, "outstanding", n))
        o->outstanding = val;
    else {
        snprintf(err, err_size,
                 "unknown quota \"%.*s\" (memory, transaction-nodes, "
                 "outstanding)", (int)n, arg);
        return -EINVAL;
    }
    return 0;
}

int options_parse(struct options *o, int argc, char **argv, char *err,
                  size_t err_size)
{
    unsigned int *target;
    const char *name;
    int opt, r;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":NPF:T:L:VE:S:W:t:A:M:Q:hH",
                              long_opts, NULL)) != -1) {
        target = NULL;
        switch (opt) {
        case 'N':
            o->foreground = true;
            break;
        case 'P':
            o->output_pid = true;
            break;
        case 'F':
            o->pid_file = optarg;
            break;
        case 'T':
            o->trace_file = optarg;
            break;
        case 'L':
            o->log_file = optarg;
            break;
        case 'V':
            o->verbose = true;
            break;
        case 'E':
            target = &o->cfg.nodes_per_domain;
            break;
        case 'S':
            target = &o->cfg.node_size;
            break;
        case 'W':
            target = &o->cfg.watches_per_domain;
            break;
        case 't':
            target = &o->cfg.transactions;
            break;
        case 'A':
            target = &o->cfg.perms_per_node;
            break;
        case 'M':
            target = &o->cfg.path_max;
            break;
        case 'Q':
            r = parse_quota(o, optarg, err, err_size);
            if (r)
                return r;
            break;
        case 'h':
        case 'H':
            o->help = true;
            break;
        case 'K':
            o->snapshot = optarg;
            break;
        case 'R':
            if (parse_uint(optarg, &o->restore_fd)) {
                snprintf(err, err_size, "--live-restore: \"%s\" is not a "
                         "descriptor", optarg);
                return -EINVAL;
            }
            o->restore = true;
            break;
        case ':':
            snprintf(err, err_size, "option %s needs a value",
                     argv[optind - 1]);
            return -EINVAL;
        default:
            name = argv[optind - 1];
            if (optopt)
                snprintf(err, err_size, "unknown option -%c", optopt);
            else
                snprintf(err, err_size, "unknown option %s", name);
            return -EINVAL;
        }
        if (target && parse_uint(optarg, target)) {
            snprintf(err, err_size, "option -%c: \"%s\" is not a number",
                     opt, optarg);
            return -EINVAL;
        }
    }
    if (optind != argc) {
        snprintf(err, err_size, "unexpected argument \"%s\"", argv[optind]);
        return -EINVAL;
    }
    if (o->cfg.path_max > XENSTORE_REL_PATH_MAX)
        o->cfg.path_max = XENSTORE_REL_PATH_MAX;
    return 0;
}
