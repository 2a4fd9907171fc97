/*
 * options.h: xenstored's command line, with Xen 4.17's option names.
 */
#ifndef XENSTORED_OPTIONS_H
#define XENSTORED_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine.h"

/* Replies in flight per unprivileged connection (Xen's default). */
#define OPTIONS_OUTSTANDING_DEFAULT 20

struct options {
    bool foreground;            /* -N: do not fork */
    bool output_pid;            /* -P: print the daemon's pid on stdout */
    bool verbose;               /* -V: info and debug lines in the log */
    bool help;                  /* -h, -H */
    const char *pid_file;       /* -F */
    const char *trace_file;     /* -T */
    const char *log_file;       /* -L */
    unsigned int outstanding;   /* -Q outstanding=N, 0 = no limit */
    const char *snapshot;       /* --snapshot FILE (the store after a crash) */
    bool restore;               /* --live-restore FD (internal, lu.h) */
    unsigned int restore_fd;
    struct engine_config cfg;   /* -E -S -W -t -A -M -Q */
};

/*
 * Fills *o with the defaults except o->cfg, which the caller sets first
 * (engine_config_init) and which options_parse() then changes.
 */
void options_init(struct options *o);

/*
 * Parses argv (getopt_long, so argv may be permuted).  Returns 0, or
 * -EINVAL with a one-line reason in err.
 */
int options_parse(struct options *o, int argc, char **argv, char *err,
                  size_t err_size);

void options_usage(FILE *f, const char *prog);

#endif /* XENSTORED_OPTIONS_H */
