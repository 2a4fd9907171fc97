/*
 * xl_vmcontrol.c - xl create (so far: the dry run, "xl create -n" and
 * "xl -N create", which prints the domain configuration as JSON).
 */
#include "xl.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_file(const char *path, char **data_r, int *len_r)
{
    FILE *f = fopen(path, "r");
    char *data = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return -1;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap * 2 + 4096;
            data = xrealloc(data, cap);
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    *data_r = data;
    *len_r = (int)len;
    return 0;
}

int main_create(int argc, char **argv)
{
    static const struct option opts[] = {
        { "defconfig", 1, 0, 'f' },
        { "dryrun", 0, 0, 'n' },
        { "quiet", 0, 0, 'q' },
        { "help", 0, 0, 'h' },
        { 0, 0, 0, 0 }
    };
    const char *config_file = NULL;
    char *extra = NULL, *data = NULL, *json = NULL;
    libxl_domain_config d_config;
    int opt, quiet = 0, len = 0, rc;
    size_t elen = 0;

    libxl_domain_config_init(&d_config);
    if (argc > 1 && argv[1][0] != '-' && !strchr(argv[1], '=')) {
        config_file = argv[1];
        argc--;
        argv++;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "AFVcdef:inpqh", opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            config_file = optarg;
            break;
        case 'n':
            dryrun_only = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            printf("Usage: xl create <ConfigFile> [options] [vars]\n");
            return 0;
        case '?':
            return 2;
        default:
            break;
        }
    }
    for (; optind < argc; optind++) {
        if (strchr(argv[optind], '=')) {
            size_t l = strlen(argv[optind]);

            extra = xrealloc(extra, elen + l + 2);
            memcpy(extra + elen, argv[optind], l);
            elen += l;
            extra[elen++] = '\n';
            extra[elen] = 0;
        } else if (!config_file) {
            config_file = argv[optind];
        } else {
            fprintf(stderr, "Usage: xl create <ConfigFile> [options] "
                    "[vars]\n");
            free(extra);
            return 2;
        }
    }
    if (!config_file) {
        fprintf(stderr, "Config file not specified\n");
        rc = 1;
        goto out;
    }
    if (!dryrun_only && geteuid() != 0) {
        fprintf(stderr, "xl: creating a domain needs root privileges "
                "(use -n for a dry run)\n");
        rc = 1;
        goto out;
    }
    if (!strcmp(config_file, "/dev/null")) {
        data = NULL;
        len = 0;
    } else if (read_file(config_file, &data, &len)) {
        fprintf(stderr, "Failed to read config file: %s: %s\n", config_file,
                strerror(errno));
        rc = 3;
        goto out;
    }
    if (extra && elen) {
        data = xrealloc(data, len + elen + 3);
        len += sprintf(data + len, "\n%s\n", extra);
    }
    if (!quiet)
        fprintf(stderr, "Parsing config from %s\n", config_file);
    parse_config_data(config_file, data ? data : "", len, &d_config);
    if (dryrun_only) {
        json = libxl_domain_config_to_json(ctx, &d_config);
        if (!json) {
            fprintf(stderr, "Failed to convert domain configuration to "
                    "JSON\n");
            exit(1);
        }
        fputs(json, stdout);
        fflush(stdout);
        rc = 0;
        goto out;
    }
    fprintf(stderr, "xl: creating domains is not implemented yet\n");
    rc = 1;
out:
    free(json);
    free(data);
    free(extra);
    libxl_domain_config_dispose(&d_config);
    return rc;
}
