/*
 * xl.c - xl's main: global options, the global configuration file
 * (/etc/xen/xl.conf, or $XL_CONF_FILE), and command dispatch.
 */
#include "xl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xentoollog.h>

#define XL_GLOBAL_CONFIG "/etc/xen/xl.conf"

struct xl_globals xl_globals = {
    .run_hotplug_scripts = 1,
    .claim_mode = 1,
    .autoballoon = -1,
    .max_grant_frames = -1,
    .max_maptrack_frames = -1,
    .max_grant_version = -1,
};
libxl_ctx *ctx;
int dryrun_only;

static void parse_global_config(const char *file, const char *data, int len)
{
    XLU_Config *config = xlu_cfg_init(stderr, file);
    const char *buf;
    long l;
    int e;

    if (!config) {
        fprintf(stderr, "Failed to allocate for configuration\n");
        exit(1);
    }
    e = xlu_cfg_readdata(config, data, len);
    if (e) {
        fprintf(stderr, "Failed to parse config file: %s\n", strerror(e));
        exit(1);
    }
    if (!xlu_cfg_get_string(config, "autoballoon", &buf, 0)) {
        if (!strcmp(buf, "on") || !strcmp(buf, "1"))
            xl_globals.autoballoon = 1;
        else if (!strcmp(buf, "off") || !strcmp(buf, "0"))
            xl_globals.autoballoon = 0;
        else if (!strcmp(buf, "auto"))
            xl_globals.autoballoon = -1;
        else
            fprintf(stderr, "invalid autoballoon option");
    }
    if (!xlu_cfg_get_long(config, "run_hotplug_scripts", &l, 0))
        xl_globals.run_hotplug_scripts = l;
    if (!xlu_cfg_get_string(config, "lockfile", &buf, 0))
        xl_globals.lockfile = xstrdup(buf);
    if (!xlu_cfg_get_string(config, "vifscript", &buf, 0)) {
        fprintf(stderr, "the global config option vifscript is deprecated, "
                "please switch to vif.default.script\n");
        free(xl_globals.default_vifscript);
        xl_globals.default_vifscript = xstrdup(buf);
    }
    if (!xlu_cfg_get_string(config, "vif.default.script", &buf, 0)) {
        free(xl_globals.default_vifscript);
        xl_globals.default_vifscript = xstrdup(buf);
    }
    if (!xlu_cfg_get_string(config, "defaultbridge", &buf, 0)) {
        fprintf(stderr, "the global config option defaultbridge is "
                "deprecated, please switch to vif.default.bridge\n");
        free(xl_globals.default_bridge);
        xl_globals.default_bridge = xstrdup(buf);
    }
    if (!xlu_cfg_get_string(config, "vif.default.bridge", &buf, 0)) {
        free(xl_globals.default_bridge);
        xl_globals.default_bridge = xstrdup(buf);
    }
    if (!xlu_cfg_get_string(config, "vif.default.gatewaydev", &buf, 0))
        xl_globals.default_gatewaydev = xstrdup(buf);
    if (!xlu_cfg_get_string(config, "vif.default.backend", &buf, 0))
        xl_globals.default_vifbackend = xstrdup(buf);
    if (!xlu_cfg_get_string(config, "output_format", &buf, 0)) {
        if (!strcmp(buf, "json"))
            xl_globals.output_format_sxp = 0;
        else if (!strcmp(buf, "sxp"))
            xl_globals.output_format_sxp = 1;
        else
            fprintf(stderr, "invalid default output format \"%s\"\n", buf);
    }
    if (!xlu_cfg_get_string(config, "blkdev_start", &buf, 0))
        xl_globals.blkdev_start = xstrdup(buf);
    if (!xlu_cfg_get_long(config, "claim_mode", &l, 0))
        xl_globals.claim_mode = l;
    e = xlu_cfg_get_bounded_long(config, "max_grant_frames", 0, INT_MAX,
                                 &l, 1);
    if (!e)
        xl_globals.max_grant_frames = l;
    else if (e != ESRCH)
        exit(1);
    e = xlu_cfg_get_bounded_long(config, "max_maptrack_frames", 0, INT_MAX,
                                 &l, 1);
    if (!e)
        xl_globals.max_maptrack_frames = l;
    else if (e != ESRCH)
        exit(1);
    e = xlu_cfg_get_bounded_long(config, "max_grant_version", 0, INT_MAX,
                                 &l, 1);
    if (!e)
        xl_globals.max_grant_version = l;
    else if (e != ESRCH)
        exit(1);
    xlu_cfg_destroy(config);
}

static void read_global_config(void)
{
    const char *file = getenv("XL_CONF_FILE");
    FILE *f;
    char *data = NULL;
    size_t len = 0, cap = 0, n;

    if (!file || !*file)
        file = XL_GLOBAL_CONFIG;
    f = fopen(file, "r");
    if (!f) {
        if (errno != ENOENT)
            fprintf(stderr, "Failed to read config file: %s: %s\n", file,
                    strerror(errno));
        return;
    }
    do {
        if (len + 4096 > cap) {
            cap = cap * 2 + 4096;
            data = xrealloc(data, cap);
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
    } while (n);
    fclose(f);
    parse_global_config(file, data ? data : "", (int)len);
    free(data);
}

int main_not_implemented(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "xl: command \"%s\" is not implemented yet\n", argv[0]);
    return 1;
}

int main_help(int argc, char **argv)
{
    int i;

    if (argc > 1) {
        const struct cmd_spec *c = cmdtable_lookup(argv[argc - 1]);

        if (c) {
            printf("Usage: xl %s %s\n\n%s.\n", c->cmd_name, c->cmd_usage,
                   c->cmd_desc);
            return 0;
        }
    }
    printf("Usage xl [-vfNtT] <subcommand> [args]\n\n"
           "xl full list of subcommands:\n\n");
    for (i = 0; i < cmdtable_len; i++)
        printf(" %-19s%s\n", cmd_table[i].cmd_name, cmd_table[i].cmd_desc);
    return 0;
}

int main(int argc, char **argv)
{
    const struct cmd_spec *cspec;
    xentoollog_logger_stdiostream *logger;
    xentoollog_level minlevel = XTL_PROGRESS;
    int opt, ret;

    while ((opt = getopt(argc, argv, "+vftTN")) >= 0) {
        switch (opt) {
        case 'v':
            if (minlevel > XTL_DEBUG)
                minlevel--;
            break;
        case 'N':
            dryrun_only = 1;
            break;
        case 'f':
        case 't':
        case 'T':
            break;
        default:
            fprintf(stderr, "unknown global option\n");
            return 2;
        }
    }
    if (optind >= argc) {
        main_help(0, argv);
        return 0;
    }
    argv += optind;
    argc -= optind;
    optind = 1;
    cspec = cmdtable_lookup(argv[0]);
    if (!cspec) {
        fprintf(stderr, "command not implemented\n");
        return 2;
    }
    if (dryrun_only && !cspec->can_dryrun) {
        fprintf(stderr, "command does not implement -N (dryrun) option\n");
        return 1;
    }
    if (cspec->needs_root && !dryrun_only && geteuid() != 0 &&
        strcmp(cspec->cmd_name, "create")) {
        fprintf(stderr, "xl: \"%s\" needs root privileges\n", argv[0]);
        return 1;
    }
    logger = xtl_createlogger_stdiostream(stderr, minlevel, 0);
    if (!logger)
        return 1;
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0,
                        (xentoollog_logger *)logger)) {
        fprintf(stderr, "cannot init xl context\n");
        return 1;
    }
    read_global_config();
    ret = cspec->cmd_impl(argc, argv);
    libxl_ctx_free(ctx);
    xtl_logger_destroy((xentoollog_logger *)logger);
    return ret;
}
