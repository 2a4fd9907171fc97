/*
 * xl_saverestore.c - xl save and xl restore, and the savefile header
 * that both share with migration (xl.h): the header names the domain's
 * configuration, libxl's domain stream follows it.
 */
#include "xl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int xl_read_exactly(int fd, void *buf, size_t len, const char *source,
                    const char *what)
{
    char *p = buf;
    ssize_t r;

    while (len) {
        r = read(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "failed to read %s from %s: %s\n", what, source,
                    strerror(errno));
            return -1;
        }
        if (r == 0) {
            fprintf(stderr, "file/stream truncated reading %s from %s\n",
                    what, source);
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

int xl_write_exactly(int fd, const void *buf, size_t len,
                     const char *source, const char *what)
{
    const char *p = buf;
    ssize_t r;

    while (len) {
        r = write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "failed to write %s for %s: %s\n", what, source,
                    strerror(errno));
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

void save_domain_core_begin(uint32_t domid, int preserve_domid,
                            const char *override_file, char **data_r,
                            int *len_r)
{
    libxl_domain_config d_config;
    char *data = NULL, *json;
    long flen;
    FILE *f;
    int rc;

    libxl_domain_config_init(&d_config);
    if (override_file) {
        f = fopen(override_file, "r");
        if (!f || fseek(f, 0, SEEK_END) || (flen = ftell(f)) < 0 ||
            fseek(f, 0, SEEK_SET)) {
            fprintf(stderr, "unable to read overridden config file %s: %s\n",
                    override_file, strerror(errno));
            exit(EXIT_FAILURE);
        }
        data = xmalloc((size_t)flen + 1);
        if (fread(data, 1, (size_t)flen, f) != (size_t)flen) {
            fprintf(stderr, "unable to read overridden config file %s\n",
                    override_file);
            exit(EXIT_FAILURE);
        }
        fclose(f);
        data[flen] = 0;
        parse_config_data(override_file, data, (int)flen, &d_config);
        free(data);
    } else {
        rc = libxl_retrieve_domain_configuration(ctx, domid, &d_config,
                                                 NULL);
        if (rc) {
            fprintf(stderr, "unable to retrieve domain configuration "
                    "(rc=%d: %s)\n", rc, xl_strerror(rc));
            exit(EXIT_FAILURE);
        }
        /* 0: the restoring host picks an id (as in Xen: -D keeps it) */
        d_config.c_info.domid = preserve_domid ? domid : 0;
    }
    json = libxl_domain_config_to_json(ctx, &d_config);
    if (!json) {
        fprintf(stderr, "unable to convert config file to JSON\n");
        exit(EXIT_FAILURE);
    }
    libxl_domain_config_dispose(&d_config);
    *data_r = json;
    *len_r = (int)strlen(json) + 1;
}

int save_domain_core_writeconfig(int fd, const char *source,
                                 const char *config_data, int config_len)
{
    struct save_file_header hdr;
    uint32_t len32 = (uint32_t)config_len;
    char *optdata;
    int rc;

    memset(&hdr, 0, sizeof(hdr));
    memcpy(hdr.magic, SAVEFILE_MAGIC, sizeof(hdr.magic));
    hdr.byteorder = SAVEFILE_BYTEORDER_VALUE;
    hdr.mandatory_flags = XL_MANDATORY_FLAG_XENOLITH;
    if (config_len)
        hdr.mandatory_flags |= XL_MANDATORY_FLAG_JSON;
    hdr.optional_data_len = sizeof(len32) + (uint32_t)config_len;
    optdata = xmalloc(hdr.optional_data_len);
    memcpy(optdata, &len32, sizeof(len32));
    if (config_len)
        memcpy(optdata + sizeof(len32), config_data, (size_t)config_len);
    rc = xl_write_exactly(fd, &hdr, sizeof(hdr), source, "header");
    if (!rc)
        rc = xl_write_exactly(fd, optdata, hdr.optional_data_len, source,
                              "header");
    free(optdata);
    if (rc)
        return -1;
    fprintf(stderr, "Saving to %s new xl format (info 0x%" PRIx32 "/0x%"
            PRIx32 "/%" PRIu32 ")\n", source, hdr.mandatory_flags,
            hdr.optional_flags, hdr.optional_data_len);
    return 0;
}

/* The most optional data a header may announce (the configuration of a
 * domain with thousands of devices stays far below). */
#define OPTDATA_MAX (16u << 20)

int restore_read_header(int fd, const char *source, char **config_r)
{
    struct save_file_header hdr;
    uint32_t badflags, config_len;
    char *optdata = NULL;

    *config_r = NULL;
    if (xl_read_exactly(fd, &hdr, sizeof(hdr), source, "header"))
        return ERROR_INVAL;
    if (memcmp(hdr.magic, SAVEFILE_MAGIC, sizeof(hdr.magic))) {
        fprintf(stderr, "%s: File has wrong magic number -"
                " corrupt or for a different tool?\n", source);
        return ERROR_INVAL;
    }
    if (hdr.byteorder != SAVEFILE_BYTEORDER_VALUE) {
        fprintf(stderr, "%s: File has wrong byte order\n", source);
        return ERROR_INVAL;
    }
    fprintf(stderr, "Loading new save file %s (new xl fmt info"
            " 0x%" PRIx32 "/0x%" PRIx32 "/%" PRIu32 ")\n", source,
            hdr.mandatory_flags, hdr.optional_flags, hdr.optional_data_len);
    if (!(hdr.mandatory_flags & XL_MANDATORY_FLAG_XENOLITH)) {
        fprintf(stderr, "%s: saved by Xen's xl (a libxc domain stream%s):"
                " Xenolith restores only its own domain streams\n", source,
                hdr.mandatory_flags & XL_MANDATORY_FLAG_STREAMv2 ?
                "" : ", version 1");
        return ERROR_INVAL;
    }
    badflags = hdr.mandatory_flags & ~XL_MANDATORY_FLAG_ALL;
    if (badflags) {
        fprintf(stderr, "%s: Savefile has mandatory flag(s) 0x%" PRIx32
                " which are not supported; need newer xl\n", source,
                badflags);
        return ERROR_INVAL;
    }
    if (hdr.optional_data_len > OPTDATA_MAX) {
        fprintf(stderr, "%s: Savefile header announces %" PRIu32 " bytes of"
                " optional data - corrupt?\n", source,
                hdr.optional_data_len);
        return ERROR_INVAL;
    }
    if (!hdr.optional_data_len)
        return 0;
    optdata = xmalloc(hdr.optional_data_len);
    if (xl_read_exactly(fd, optdata, hdr.optional_data_len, source,
                        "optdata"))
        goto truncated_quietly;
    fprintf(stderr, " Savefile contains xl domain config%s\n",
            hdr.mandatory_flags & XL_MANDATORY_FLAG_JSON ?
            " in JSON format" : "");
    if (hdr.optional_data_len < sizeof(config_len))
        goto truncated;
    memcpy(&config_len, optdata, sizeof(config_len));
    if (config_len > hdr.optional_data_len - sizeof(config_len))
        goto truncated;
    if (!config_len) {
        free(optdata);
        return 0;
    }
    if (!(hdr.mandatory_flags & XL_MANDATORY_FLAG_JSON)) {
        /* Xen's oldest savefiles kept the xl.cfg text: not ours. */
        fprintf(stderr, "%s: the saved configuration is not JSON\n", source);
        free(optdata);
        return ERROR_INVAL;
    }
    if (optdata[sizeof(config_len) + config_len - 1]) {
        fprintf(stderr, "%s: the saved configuration is not terminated -"
                " corrupt?\n", source);
        free(optdata);
        return ERROR_INVAL;
    }
    *config_r = xstrdup(optdata + sizeof(config_len));
    free(optdata);
    return 0;

truncated:
    fprintf(stderr, "%s: Savefile truncated.\n", source);
truncated_quietly:
    free(optdata);
    return ERROR_INVAL;
}

/* ------------------------------------------------------------ xl save */

static int save_domain(uint32_t domid, int preserve_domid,
                       const char *filename, int checkpoint, int leavepaused,
                       const char *override_file, int debug)
{
    char *config_data;
    int config_len, fd, rc;

    save_domain_core_begin(domid, preserve_domid, override_file,
                           &config_data, &config_len);
    fd = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "Failed to open %s for writing: %s\n", filename,
                strerror(errno));
        free(config_data);
        return EXIT_FAILURE;
    }
    rc = save_domain_core_writeconfig(fd, filename, config_data, config_len)
         ? ERROR_FAIL : 0;
    free(config_data);
    if (!rc)
        rc = libxl_domain_suspend(ctx, domid, fd,
                                  debug ? LIBXL_SUSPEND_DEBUG : 0, NULL);
    if (!rc && fsync(fd) && errno != EINVAL) {
        fprintf(stderr, "Failed to write %s: %s\n", filename,
                strerror(errno));
        rc = ERROR_FAIL;
    }
    if (close(fd) && !rc) {
        fprintf(stderr, "Failed to write %s: %s\n", filename,
                strerror(errno));
        rc = ERROR_FAIL;
    }
    if (rc) {
        /* A savefile cut short would be restored later (xendomains) and
         * refused: it goes, and the domain runs on. */
        fprintf(stderr, "Failed to save domain (rc=%d: %s), resuming "
                "domain\n", rc, xl_strerror(rc));
        unlink(filename);
        libxl_domain_resume(ctx, domid, 1, NULL);
        return EXIT_FAILURE;
    }
    /* libxl_domain_suspend leaves the domain paused */
    if (leavepaused)
        return EXIT_SUCCESS;
    if (checkpoint) {
        rc = libxl_domain_resume(ctx, domid, 1, NULL);
        if (rc) {
            fprintf(stderr, "Saved, but failed to resume the domain (rc=%d:"
                    " %s)\n", rc, xl_strerror(rc));
            return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
    }
    rc = libxl_domain_destroy(ctx, domid, NULL);
    if (rc) {
        fprintf(stderr, "Saved, but failed to destroy the domain (rc=%d: "
                "%s)\n", rc, xl_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

int main_save(int argc, char **argv)
{
    uint32_t domid;
    const char *config_filename = NULL;
    int opt, checkpoint = 0, leavepaused = 0, preserve_domid = 0;

    SWITCH_FOREACH_OPT(opt, "cpD", NULL, "save", 2) {
    case 'c':
        checkpoint = 1;
        break;
    case 'p':
        leavepaused = 1;
        break;
    case 'D':
        preserve_domid = 1;
        break;
    }
    if (argc - optind > 3) {
        help("save");
        return EXIT_FAILURE;
    }
    domid = find_domain(argv[optind]);
    if (domid == 0) {
        fprintf(stderr, "Domain-0 cannot be saved\n");
        return EXIT_FAILURE;
    }
    if (argc - optind >= 3)
        config_filename = argv[optind + 2];
    return save_domain(domid, preserve_domid, argv[optind + 1], checkpoint,
                       leavepaused, config_filename, 0);
}

/* --------------------------------------------------------- xl restore */

int main_restore(int argc, char **argv)
{
    static const struct option opts[] = {
        { "vncviewer", 0, 0, 'V' },
        { "vncviewer-autopass", 0, 0, 'A' },
        COMMON_LONG_OPTS
    };
    struct domain_create dc = {
        .daemonize = 1, .monitor = 1, .migrate_fd = -1, .send_back_fd = -1,
    };
    int opt, rc;

    SWITCH_FOREACH_OPT(opt, "FcpdeVA", opts, "restore", 1) {
    case 'c':
        dc.console = 1;
        break;
    case 'p':
        dc.paused = 1;
        break;
    case 'd':
        dc.debug = 1;
        break;
    case 'F':
        dc.daemonize = 0;
        break;
    case 'e':
        dc.daemonize = 0;
        dc.monitor = 0;
        break;
    case 'V':
    case 'A':
        /* As xl create: no VNC display in Xenolith guests yet. */
        break;
    }
    if (argc - optind == 1) {
        dc.restore_file = argv[optind];
    } else if (argc - optind == 2) {
        dc.config_file = argv[optind];
        dc.restore_file = argv[optind + 1];
    } else {
        help("restore");
        return EXIT_FAILURE;
    }
    rc = create_domain(&dc);
    return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
