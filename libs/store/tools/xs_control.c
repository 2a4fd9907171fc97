/*
 * xs_control.c: xenstore-control, which sends one XS_CONTROL command to
 * the daemon and prints its answer.  Exit codes and messages follow Xen
 * 4.17's xenstore-control: 1 no daemon or no memory, 2 usage, 3 the
 * command failed.
 */
#include "xs_tools.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

/* Appends `s` and its NUL to *buf (length *len); false if out of memory. */
static bool buf_add(char **buf, size_t *len, const char *s)
{
    size_t n = strlen(s) + 1;
    char *nb = realloc(*buf, *len + n);

    if (!nb)
        return false;
    memcpy(nb + *len, s, n);
    *buf = nb;
    *len += n;
    return true;
}

/* Sends "live-update" with `args`; 0 if the daemon said OK. */
static int lu_step(struct xs_handle *xsh, const char *args, size_t len,
                   const char *what)
{
    char *ret = xs_control_command(xsh, "live-update", (void *)args,
                                   (unsigned int)len);
    int rc = 0;

    if (!ret || strcmp(ret, "OK") != 0) {
        fprintf(stderr, "%s:\n%s\n", what, ret ? ret : strerror(errno));
        rc = 3;
    }
    free(ret);
    return rc;
}

/*
 * live-update [-c cmdline] [-t timeout] [-F] binary, for a daemon running
 * in dom0: name the new binary, pass its command line, then start the
 * update, repeating while the daemon answers BUSY.
 */
static int live_update(struct xs_handle *xsh, int argc, char **argv)
{
    const char *binary = NULL, *cmdline = NULL;
    unsigned int timeout = 60, len;
    bool force = false;
    char *buf = NULL, *ret = NULL, *val, tbuf[16];
    size_t blen = 0;
    time_t start;
    int i, rc;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0) {
            if (++i == argc) {
                fprintf(stderr, "Missing command line value\n");
                return 2;
            }
            cmdline = argv[i];
        } else if (strcmp(argv[i], "-t") == 0) {
            if (++i == argc) {
                fprintf(stderr, "Missing timeout value\n");
                return 2;
            }
            timeout = (unsigned int)atoi(argv[i]);
        } else if (strcmp(argv[i], "-F") == 0) {
            force = true;
        } else {
            binary = argv[i];
        }
    }
    if (!binary) {
        fprintf(stderr, "Missing binary specification\n");
        return 2;
    }
    val = xs_read(xsh, XBT_NULL, "/tool/xenstored/domid", &len);
    if (val) {
        free(val);
        fprintf(stderr, "Starting live update failed:\n%s\n",
                "live update of a xenstore stub domain is not supported");
        return 3;
    }

    if (!buf_add(&buf, &blen, "-f") || !buf_add(&buf, &blen, binary))
        goto nomem;
    rc = lu_step(xsh, buf, blen, "Setting update binary failed");
    if (rc)
        goto out;
    if (cmdline) {
        blen = 0;
        if (!buf_add(&buf, &blen, "-c") || !buf_add(&buf, &blen, cmdline))
            goto nomem;
        rc = lu_step(xsh, buf, blen, "Setting update binary failed");
        if (rc)
            goto abort;
    }

    snprintf(tbuf, sizeof(tbuf), "%u", timeout);
    blen = 0;
    if (!buf_add(&buf, &blen, "-s") || !buf_add(&buf, &blen, "-t")
        || !buf_add(&buf, &blen, tbuf)
        || (force && !buf_add(&buf, &blen, "-F")))
        goto nomem;
    rc = 3;
    for (start = time(NULL); time(NULL) - start < (time_t)timeout;) {
        free(ret);
        ret = xs_control_command(xsh, "live-update", buf,
                                 (unsigned int)blen);
        if (!ret || strcmp(ret, "BUSY") != 0)
            break;
        sleep(1);
    }
    if (ret && strcmp(ret, "OK") == 0) {
        rc = 0;
        goto out;
    }
    fprintf(stderr, "Starting live update failed:\n%s\n",
            ret ? ret : strerror(errno));
abort:
    free(xs_control_command(xsh, "live-update", "-a", 3));
out:
    free(ret);
    free(buf);
    return rc;
nomem:
    free(ret);
    free(buf);
    return 1;
}

int xs_tool_control_main(int argc, char **argv)
{
    struct xs_handle *xsh;
    char *par = NULL, *ret;
    size_t len = 0;
    int rc = 0, p;

    if (argc < 2) {
        fprintf(stderr, "Usage:\n%s <command> [<arg>...]\n", argv[0]);
        return 2;
    }
    xsh = xs_open(0);
    if (!xsh) {
        fprintf(stderr, "Failed to contact Xenstored.\n");
        return 1;
    }
    if (strcmp(argv[1], "live-update") == 0) {
        rc = live_update(xsh, argc - 2, argv + 2);
        goto out;
    }
    for (p = 2; p < argc; p++) {
        if (!buf_add(&par, &len, argv[p])) {
            fprintf(stderr, "Allocation error.\n");
            rc = 1;
            goto out;
        }
    }
    ret = xs_control_command(xsh, argv[1], par, (unsigned int)len);
    if (!ret) {
        rc = 3;
        if (errno == EINVAL) {
            ret = xs_control_command(xsh, "help", NULL, 0);
            if (ret)
                fprintf(stderr, "Command not supported. Valid commands "
                        "are:\n%s\n", ret);
            else
                fprintf(stderr, "Error when executing command.\n");
        } else {
            fprintf(stderr, "Error %d when trying to execute command.\n",
                    errno);
        }
    } else if (ret[0]) {
        printf("%s\n", ret);
    }
    free(ret);
out:
    xs_close(xsh);
    free(par);
    return rc;
}
