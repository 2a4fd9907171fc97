/*
 * xl.c - xl's main: global options, the global configuration file
 * (/etc/xen/xl.conf, or $XL_CONF_FILE), and command dispatch.
 */
#include "xl.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

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
    if (parse_accel(config, &xl_globals.accel) == EINVAL)
        exit(1);
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

void help(const char *command)
{
    const struct cmd_spec *cmd;
    int i;

    if (!command || !strcmp(command, "help")) {
        printf("Usage xl [-vfNtT] <subcommand> [args]\n\n"
               "xl full list of subcommands:\n\n");
        for (i = 0; i < cmdtable_len; i++) {
            printf(" %-19s ", cmd_table[i].cmd_name);
            if (strlen(cmd_table[i].cmd_name) > 19)
                printf("\n %-19s ", "");
            printf("%s\n", cmd_table[i].cmd_desc);
        }
        return;
    }
    cmd = cmdtable_lookup(command);
    if (!cmd) {
        printf("command \"%s\" not implemented\n", command);
        return;
    }
    printf("Usage: xl [-vtT%s%s] %s %s\n\n%s.\n\n",
           cmd->needs_root ? "f" : "", cmd->can_dryrun ? "N" : "",
           cmd->cmd_name, cmd->cmd_usage, cmd->cmd_desc);
    if (cmd->cmd_option)
        printf("Options:\n\n%s\n", cmd->cmd_option);
}

int main_help(int argc, char **argv)
{
    help(argc > 1 ? argv[argc - 1] : NULL);
    return 0;
}

int def_getopt(int argc, char *const argv[], const char *optstring,
               const struct option *longopts, const char *helpstr,
               int reqargs)
{
    static const struct option def_options[] = { COMMON_LONG_OPTS };
    int opt;

    if (!longopts)
        longopts = def_options;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, optstring, longopts, NULL)) ==
           '?') {
        if (optopt == 'h') {
            help(helpstr);
            exit(0);
        }
        if (optopt)
            fprintf(stderr, "option `%c' not supported.\n", optopt);
        else
            fprintf(stderr, "option `%s' not supported.\n",
                    argv[optind - 1]);
        exit(2);
    }
    if (opt == 'h') {
        help(helpstr);
        exit(0);
    }
    if (opt != -1)
        return opt;
    if (argc - optind <= reqargs - 1) {
        fprintf(stderr, "'xl %s' requires at least %d argument%s.\n\n",
                helpstr, reqargs, reqargs > 1 ? "s" : "");
        help(helpstr);
        exit(2);
    }
    return -1;
}

const char *xl_strerror(int rc)
{
    const char *s = libxl_error_to_string(rc);

    return s ? s : "unknown error";
}

uint32_t find_domain(const char *p)
{
    libxl_dominfo info;
    uint32_t domid;
    char *end;
    unsigned long l;
    int rc, i;

    for (i = 0; p[i] >= '0' && p[i] <= '9'; i++)
        ;
    if (i > 0 && !p[i]) {
        errno = 0;
        l = strtoul(p, &end, 10);
        if (errno || l >= INVALID_DOMID) {
            fprintf(stderr, "%s is an invalid domain identifier (rc=%d)\n",
                    p, ERROR_INVAL);
            exit(EXIT_FAILURE);
        }
        domid = (uint32_t)l;
    } else {
        rc = libxl_name_to_domid(ctx, p, &domid);
        if (rc) {
            fprintf(stderr, "%s is an invalid domain identifier (rc=%d)\n",
                    p, rc);
            exit(EXIT_FAILURE);
        }
        return domid;
    }
    /* A number: say plainly when no such domain exists. */
    libxl_dominfo_init(&info);
    rc = libxl_domain_info(ctx, &info, domid);
    libxl_dominfo_dispose(&info);
    if (rc == ERROR_DOMAIN_NOTFOUND || rc == ERROR_INVAL) {
        fprintf(stderr, "Error: Domain '%s' does not exist.\n", p);
        exit(EXIT_FAILURE);
    }
    return domid;
}

void print_bitmap(const uint8_t *map, int maplen, FILE *stream)
{
    int i, firstset = 0, state = 0;
    uint8_t pmap = 0, bitmask = 0;

    for (i = 0; i < maplen; i++) {
        if (i % 8 == 0) {
            pmap = *map++;
            bitmask = 1;
        } else {
            bitmask <<= 1;
        }
        switch (state) {
        case 0:
        case 2:
            if (pmap & bitmask) {
                firstset = i;
                state++;
            }
            continue;
        case 1:
        case 3:
            if (!(pmap & bitmask)) {
                fprintf(stream, "%s%d", state > 1 ? "," : "", firstset);
                if (i - 1 > firstset)
                    fprintf(stream, "-%d", i - 1);
                state = 2;
            }
            continue;
        }
    }
    switch (state) {
    case 0:
        fprintf(stream, "none");
        break;
    case 2:
        break;
    case 1:
        if (firstset == 0) {
            fprintf(stream, "all");
            break;
        }
        /* fall through */
    case 3:
        fprintf(stream, "%s%d", state > 1 ? "," : "", firstset);
        if (i - 1 > firstset)
            fprintf(stream, "-%d", i - 1);
        break;
    }
}

/* Which daemon is missing, for the message when the context fails:
 * whether something accepts on path (xenstored's socket is a stream,
 * the core's a seqpacket one). */
static int socket_answers(const char *path)
{
    static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    unsigned int i;
    int fd, ok = 0;

    if (strlen(path) >= sizeof(sa.sun_path))
        return 0;
    strcpy(sa.sun_path, path);
    for (i = 0; i < sizeof(types) / sizeof(types[0]) && !ok; i++) {
        fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
    }
    return ok;
}

static void report_ctx_failure(void)
{
    const char *rundir = getenv("XENOLITH_RUNDIR");
    const char *xs = getenv("XENSTORED_PATH");
    const char *xsrun = getenv("XENSTORED_RUNDIR");
    char *xspath, *core;
    int missing = 0;

    if (!rundir || !*rundir)
        rundir = "/run/xenolith";
    if (xs && *xs)
        xspath = xstrdup(xs);
    else if (xsrun && *xsrun)
        xspath = xasprintf_("%s/socket", xsrun);
    else
        xspath = xasprintf_("%s/xenstored/socket", rundir);
    core = getenv("XENOLITH_CORE_SOCKET") ?
        xstrdup(getenv("XENOLITH_CORE_SOCKET")) :
        xasprintf_("%s/core.sock", rundir);
    if (!socket_answers(xspath)) {
        fprintf(stderr, "xl: xenstored is not running (no answer on %s)\n",
                xspath);
        missing = 1;
    }
    if (!socket_answers(core)) {
        fprintf(stderr, "xl: xenolithd (the core) is not running (no answer "
                "on %s)\n", core);
        missing = 1;
    }
    if (missing)
        fprintf(stderr, "xl: start the host daemons with "
                "\"xencommons start\"\n");
    else
        fprintf(stderr, "xl: cannot init xl context\n");
    free(xspath);
    free(core);
}

/* Root, or a member of group "xenolith" (the core accepts both). */
static int privileged(void)
{
    struct group *g;
    gid_t groups[256];
    int n, i;

    if (geteuid() == 0)
        return 1;
    g = getgrnam("xenolith");
    if (!g)
        return 0;
    if (getegid() == g->gr_gid)
        return 1;
    n = getgroups(256, groups);
    for (i = 0; i < n; i++)
        if (groups[i] == g->gr_gid)
            return 1;
    return 0;
}

xentoollog_logger *xl_logger;

/* A dry run ("xl -N", "xl create -n/--dryrun") needs no daemons. */
static int dry_run_requested(const struct cmd_spec *cspec, int argc,
                             char **argv)
{
    int i;

    if (dryrun_only)
        return 1;
    if (cspec->cmd_impl != main_create)
        return 0;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--dryrun") ||
            (argv[i][0] == '-' && argv[i][1] != '-' &&
             strchr(argv[i], 'n') && !strchr(argv[i], 'f')))
            return 1;
    }
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
        help(NULL);
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
    /* help needs no daemons; xl create -n is found by main_create. */
    if (cspec->cmd_impl == main_help)
        return main_help(argc, argv);
    if (!dry_run_requested(cspec, argc, argv) && !privileged()) {
        fprintf(stderr, "xl: \"%s\" needs root privileges (or membership "
                "of group xenolith)\n", argv[0]);
        return 1;
    }
    logger = xtl_createlogger_stdiostream(stderr, minlevel, 0);
    if (!logger)
        return 1;
    xl_logger = (xentoollog_logger *)logger;
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION,
                        dry_run_requested(cspec, argc, argv) ?
                        LIBXL_CTX_XENOLITH_OFFLINE : 0, xl_logger)) {
        report_ctx_failure();
        xtl_logger_destroy(xl_logger);
        return 1;
    }
    read_global_config();
    ret = cspec->cmd_impl(argc, argv);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(xl_logger);
    return ret;
}
