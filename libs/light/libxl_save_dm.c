/*
 * libxl_save_dm.c - save, restore and migration of a device-model
 * domain (qemu as its machine): qemu's own migration stream, carried in
 * the domain stream's DM_STATE records (docs/STREAM.md).  libxl_save.c
 * writes and reads the rest (the header with STREAM_F_DEVICE_MODEL,
 * DOMAIN_CONFIG, XENSTORE) and calls here for what lies between
 * XENSTORE and END.
 *
 * qemu is the core's: libxl speaks to it only through xc_dm_qmp, and no
 * descriptor changes hands.  libxl makes a private directory,
 * $XENOLITH_RUNDIR/qemu-dm/migrate-<domid>.XXXXXX (mode 0700), and qemu
 * migrates to, or takes its state from, a unix socket in it:
 *
 *   save     [stop] -> migrate-set-parameters (no bandwidth cap) ->
 *            libxl listens, migrate unix:PATH -> accept -> qemu's bytes,
 *            as they come, in DM_STATE records of up to DM_CHUNK ->
 *            qemu closes -> query-migrate "completed" (qemu has stopped
 *            the guest) -> END.  LIBXL_SUSPEND_LIVE lets the guest run
 *            through qemu's pre-copy; without it the guest is stopped
 *            first.  A failure cancels the migration (migrate_cancel)
 *            and has the guest run again unless it was paused before.
 *   restore  qemu started with -incoming defer (libxl__dm_build) ->
 *            migrate-incoming unix:PATH (qemu listens) -> connect ->
 *            each DM_STATE body written in order up to END ->
 *            query-migrate "completed"; qemu stays stopped (-S) until
 *            the domain is unpaused (cont).  On failure the caller
 *            destroys the domain (qemu with it).
 *
 * Either way the directory and its socket are gone when the call
 * returns.
 */
#include "libxl_internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libxl_dm.h"
#include "stream.h"

/* A DM_STATE record's body, at most. */
#define DM_CHUNK (4u << 20)
/* qemu connects to libxl's socket (save) within this. */
#define DM_ACCEPT_MS 10000
/* qemu sends nothing for this long: the save is given up. */
#define DM_STALL_MS 60000
/* How often a quiet save asks qemu how its migration is going. */
#define DM_QUIET_MS 1000
/* qemu reports its migration finished within this once the bytes are
 * through (or, cancelled, that it stopped). */
#define DM_FINISH_MS 30000
/* qemu's migration bandwidth: its default (32 MiB/s) is for networks;
 * this one goes through a local socket. */
#define DM_BANDWIDTH (8ULL << 30)

static uint64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

/* The private directory and the socket path in it. */
struct dm_mig {
    char *dir;
    struct sockaddr_un sa;
};

/* 0, or ERROR_FAIL (logged). */
static int mig_dir_make(libxl_ctx *ctx, uint32_t domid, struct dm_mig *m)
{
    char *run_dir = libxl__dm_run_dir();
    char *path;
    int rc;

    memset(m, 0, sizeof(*m));
    m->sa.sun_family = AF_UNIX;
    if (mkdir(run_dir, 0700) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "domain %u: making %s", domid, run_dir);
        free(run_dir);
        return ERROR_FAIL;
    }
    m->dir = libxl__sprintf("%s/migrate-%u.XXXXXX", run_dir, domid);
    free(run_dir);
    if (!mkdtemp(m->dir)) {
        LOGE(ctx, ERROR, "domain %u: making a directory for qemu's "
             "migration socket (%s)", domid, m->dir);
        free(m->dir);
        m->dir = NULL;
        return ERROR_FAIL;
    }
    path = libxl__sprintf("%s/qemu.sock", m->dir);
    if (strlen(path) >= sizeof(m->sa.sun_path)) {
        LOG(ctx, ERROR, "domain %u: qemu's migration socket %s: the path "
            "is too long for a unix socket (XENOLITH_RUNDIR is too deep)",
            domid, path);
        rc = ERROR_FAIL;
    } else {
        strcpy(m->sa.sun_path, path);
        rc = 0;
    }
    free(path);
    if (rc) {
        rmdir(m->dir);
        free(m->dir);
        m->dir = NULL;
    }
    return rc;
}

static void mig_dir_remove(struct dm_mig *m)
{
    if (!m->dir)
        return;
    if (m->sa.sun_path[0])
        unlink(m->sa.sun_path);
    rmdir(m->dir);
    free(m->dir);
    m->dir = NULL;
}

/* {"uri": "unix:<socket>"} (malloc'd) */
static char *mig_uri_args(const struct dm_mig *m)
{
    char *uri = libxl__sprintf("unix:%s", m->sa.sun_path);
    char *q = libxl__json_quote(uri);
    char *args = libxl__sprintf("{\"uri\": %s}", q);

    free(q);
    free(uri);
    return args;
}

/*
 * query-migrate: *status_r qemu's migration status ("none" when it
 * reports none), *error_r its error-desc or NULL (both malloc'd).
 * 0, or the negative errno of xc_dm_qmp (qemu or the core unreachable).
 */
static int query_migrate(libxl_ctx *ctx, uint32_t domid, char **status_r,
                         char **error_r)
{
    static const char *status_path[] = { "status", NULL };
    static const char *error_path[] = { "error-desc", NULL };
    char *text = NULL;
    yajl_val ret, v;
    int r;

    *status_r = NULL;
    if (error_r)
        *error_r = NULL;
    r = xc_dm_qmp(ctx->xch, domid, "query-migrate", NULL, &text);
    if (r < 0)
        return r;
    ret = text ? yajl_tree_parse(text, NULL, 0) : NULL;
    free(text);
    v = ret ? yajl_tree_get(ret, status_path, yajl_t_string) : NULL;
    *status_r = libxl__strdup_or_die(v ? YAJL_GET_STRING(v) : "none");
    v = ret ? yajl_tree_get(ret, error_path, yajl_t_string) : NULL;
    if (v && error_r)
        *error_r = libxl__strdup_or_die(YAJL_GET_STRING(v));
    if (ret)
        yajl_tree_free(ret);
    return 0;
}

static bool status_failed(const char *status)
{
    return !strcmp(status, "failed") || !strcmp(status, "cancelled") ||
           !strcmp(status, "cancelling");
}

/* The tail of domain domid's qemu log as " (qemu's log ends: ...)", or
 * "" (malloc'd): what qemu said when it refused or died. */
static char *qemu_log_tail(uint32_t domid)
{
    char *run_dir = libxl__dm_run_dir();
    char *path = xendm_file_path(run_dir, domid, ".log");
    char *tail = path ? xendm_log_tail(path, 3) : NULL;
    char *s;

    s = tail && *tail ? libxl__sprintf(" (qemu's log ends: %s)", tail)
                      : libxl__strdup_or_die("");
    free(tail);
    free(path);
    free(run_dir);
    return s;
}

/*
 * Waits until qemu's migration is over: 0 once it says "completed";
 * ERROR_FAIL (logged, with what as the step) when it failed, was
 * cancelled, qemu could not be asked, or DM_FINISH_MS passed.
 */
static int wait_completed(libxl_ctx *ctx, uint32_t domid, const char *what)
{
    uint64_t deadline = now_ms() + DM_FINISH_MS;
    unsigned int pause_ms = 10;
    char *status = NULL, *error = NULL, *tail;
    int r;

    for (;;) {
        r = query_migrate(ctx, domid, &status, &error);
        if (r < 0) {
            tail = qemu_log_tail(domid);
            LOGEV(ctx, ERROR, -r, "domain %u: %s: qemu does not answer "
                  "query-migrate (did it exit?)%s", domid, what, tail);
            free(tail);
            return ERROR_FAIL;
        }
        if (!strcmp(status, "completed")) {
            free(status);
            free(error);
            return 0;
        }
        if (status_failed(status)) {
            tail = qemu_log_tail(domid);
            LOG(ctx, ERROR, "domain %u: %s: qemu's migration %s%s%s%s",
                domid, what, status, error ? ": " : "", error ? error : "",
                tail);
            free(tail);
            free(status);
            free(error);
            return ERROR_FAIL;
        }
        if (now_ms() > deadline) {
            LOG(ctx, ERROR, "domain %u: %s: qemu's migration still \"%s\" "
                "after %d s", domid, what, status, DM_FINISH_MS / 1000);
            free(status);
            free(error);
            return ERROR_FAIL;
        }
        free(status);
        free(error);
        sleep_ms(pause_ms);
        if (pause_ms < 200)
            pause_ms *= 2;
    }
}

/* ------------------------------------------------------------ save */

/* A listening socket at m's path: the fd, or ERROR_FAIL (logged). */
static int mig_listen(libxl_ctx *ctx, uint32_t domid, struct dm_mig *m)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&m->sa, sizeof(m->sa)) < 0 ||
        listen(fd, 1) < 0) {
        LOGE(ctx, ERROR, "domain %u: listening on %s for qemu's state",
             domid, m->sa.sun_path);
        if (fd >= 0)
            close(fd);
        return ERROR_FAIL;
    }
    return fd;
}

/* qemu's connection to lfd: the fd, or ERROR_FAIL (logged). */
static int mig_accept(libxl_ctx *ctx, uint32_t domid, int lfd)
{
    uint64_t deadline = now_ms() + DM_ACCEPT_MS;
    struct pollfd pfd = { .fd = lfd, .events = POLLIN };
    char *status = NULL, *error = NULL;
    int fd, n, r;

    for (;;) {
        n = poll(&pfd, 1, 200);
        if (n < 0 && errno != EINTR) {
            LOGE(ctx, ERROR, "domain %u: waiting for qemu to connect",
                 domid);
            return ERROR_FAIL;
        }
        if (n > 0) {
            fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                return fd;
            if (errno != EAGAIN && errno != EINTR) {
                LOGE(ctx, ERROR, "domain %u: accepting qemu's connection",
                     domid);
                return ERROR_FAIL;
            }
            continue;
        }
        /* not yet: has qemu given up already? */
        r = query_migrate(ctx, domid, &status, &error);
        if (r == 0 && status_failed(status)) {
            LOG(ctx, ERROR, "domain %u: qemu's migration %s before it "
                "connected%s%s", domid, status, error ? ": " : "",
                error ? error : "");
            free(status);
            free(error);
            return ERROR_FAIL;
        }
        free(status);
        free(error);
        status = error = NULL;
        if (r < 0 || now_ms() > deadline) {
            LOG(ctx, ERROR, "domain %u: qemu did not connect to %s within "
                "%d s", domid, "libxl's migration socket",
                DM_ACCEPT_MS / 1000);
            return ERROR_FAIL;
        }
    }
}

/* Reads qemu's stream from cfd until qemu closes it, writing it to fd
 * as DM_STATE records.  0 or ERROR_FAIL (logged). */
static int copy_out(libxl_ctx *ctx, uint32_t domid, int cfd, int fd,
                    uint64_t *bytes_r, unsigned int *records_r)
{
    uint8_t *buf = libxl__calloc_or_die(1, DM_CHUNK);
    uint64_t quiet_since = now_ms();
    char *status = NULL, *error = NULL;
    size_t have = 0;
    ssize_t n;
    bool eof = false;
    int r, rc = 0;

    while (!eof) {
        struct pollfd pfd = { .fd = cfd, .events = POLLIN };

        r = poll(&pfd, 1, DM_QUIET_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            /* quiet: still migrating? */
            r = query_migrate(ctx, domid, &status, &error);
            if (r == 0 && status_failed(status)) {
                LOG(ctx, ERROR, "domain %u: qemu's migration %s%s%s",
                    domid, status, error ? ": " : "", error ? error : "");
                rc = ERROR_FAIL;
            } else if (r < 0) {
                LOGEV(ctx, ERROR, -r, "domain %u: qemu does not answer "
                      "query-migrate during its migration", domid);
                rc = ERROR_FAIL;
            } else if (now_ms() - quiet_since > DM_STALL_MS) {
                LOG(ctx, ERROR, "domain %u: qemu sent nothing for %d s "
                    "(migration \"%s\")", domid, DM_STALL_MS / 1000,
                    status);
                rc = ERROR_FAIL;
            }
            free(status);
            free(error);
            status = error = NULL;
            if (rc)
                break;
            continue;
        }
        n = read(cfd, buf + have, DM_CHUNK - have);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            LOGE(ctx, ERROR, "domain %u: reading qemu's state", domid);
            rc = ERROR_FAIL;
            break;
        }
        if (n == 0)
            eof = true;
        else
            quiet_since = now_ms();
        have += (size_t)n;
        *bytes_r += (uint64_t)n;
        if (have && (have == DM_CHUNK || eof)) {
            r = stream_write_record(fd, STREAM_DM_STATE, buf, have);
            if (r < 0) {
                LOGEV(ctx, ERROR, -r, "domain %u: writing the stream",
                      domid);
                rc = ERROR_FAIL;
                break;
            }
            (*records_r)++;
            have = 0;
        }
    }
    free(buf);
    return rc;
}

/* After a failed save: qemu's migration cancelled and over, the guest
 * running again if it ran before. */
static void save_undo(libxl_ctx *ctx, uint32_t domid, bool started,
                      bool was_paused)
{
    uint64_t deadline = now_ms() + 5000;
    char *status = NULL;
    int r;

    if (started) {
        (void)xc_dm_qmp(ctx->xch, domid, "migrate_cancel", NULL, NULL);
        /* qemu restarts the guest itself once the migration is over */
        for (;;) {
            r = query_migrate(ctx, domid, &status, NULL);
            if (r < 0 || (strcmp(status, "active") &&
                          strcmp(status, "setup") &&
                          strcmp(status, "device") &&
                          strcmp(status, "cancelling") &&
                          strcmp(status, "pre-switchover")) ||
                now_ms() > deadline)
                break;
            free(status);
            status = NULL;
            sleep_ms(50);
        }
        free(status);
    }
    if (!was_paused) {
        r = xc_domain_unpause(ctx->xch, domid);
        if (r < 0)
            LOGEV(ctx, ERROR, -r, "domain %u: running the guest again "
                  "after the failed save", domid);
    }
}

int libxl__dm_save(libxl_ctx *ctx, uint32_t domid, int fd, int flags,
                   bool was_paused)
{
    struct dm_mig m = { NULL };
    uint64_t t0 = now_ms(), bytes = 0;
    unsigned int records = 0;
    bool live = (flags & LIBXL_SUSPEND_LIVE) && !was_paused;
    bool stopped = false, started = false;
    int lfd = -1, cfd = -1, r, rc;
    char *args = NULL;

    rc = mig_dir_make(ctx, domid, &m);
    if (rc)
        goto out;
    lfd = mig_listen(ctx, domid, &m);
    if (lfd < 0) {
        rc = lfd;
        goto out;
    }
    if (!live && !was_paused) {
        r = xc_domain_pause(ctx->xch, domid);
        if (r < 0) {
            LOGEV(ctx, ERROR, -r, "saving domain %u: pausing it", domid);
            rc = ERROR_FAIL;
            goto out;
        }
        stopped = true;
    }
    args = libxl__sprintf("{\"max-bandwidth\": %llu}",
                          (unsigned long long)DM_BANDWIDTH);
    rc = libxl__dm_qmp_for(ctx, domid, "migrate-set-parameters", args,
                           NULL, "setting qemu's migration bandwidth");
    free(args);
    args = NULL;
    if (rc)
        goto out;
    args = mig_uri_args(&m);
    rc = libxl__dm_qmp_for(ctx, domid, "migrate", args, NULL,
                           "qemu refused to save its state");
    if (rc)
        goto out;
    started = true;
    cfd = mig_accept(ctx, domid, lfd);
    if (cfd < 0) {
        rc = cfd;
        goto out;
    }
    rc = copy_out(ctx, domid, cfd, fd, &bytes, &records);
    if (rc)
        goto out;
    rc = wait_completed(ctx, domid, "saving qemu's state");
    if (rc)
        goto out;
    if (!records) {
        LOG(ctx, ERROR, "domain %u: qemu's migration completed without "
            "sending anything", domid);
        rc = ERROR_FAIL;
        goto out;
    }
    r = stream_write_end(fd);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: writing the stream", domid);
        rc = ERROR_FAIL;
        goto out;
    }
    LOG(ctx, DEBUG, "domain %u saved: qemu's state, %" PRIu64 " bytes in "
        "%u records, %" PRIu64 " ms%s", domid, bytes, records,
        now_ms() - t0, live ? " (live)" : "");
    rc = 0;
out:
    if (cfd >= 0)
        close(cfd);
    if (lfd >= 0)
        close(lfd);
    mig_dir_remove(&m);
    free(args);
    if (rc && (started || stopped))
        save_undo(ctx, domid, started, was_paused);
    return rc;
}

/* ------------------------------------------------------------ restore */

/* Connects to qemu's listening socket at m's path: the fd, or
 * ERROR_FAIL (logged). */
static int mig_connect(libxl_ctx *ctx, uint32_t domid, struct dm_mig *m)
{
    uint64_t deadline = now_ms() + DM_ACCEPT_MS;
    int fd;

    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            LOGE(ctx, ERROR, "domain %u: a socket for qemu's state", domid);
            return ERROR_FAIL;
        }
        if (connect(fd, (struct sockaddr *)&m->sa, sizeof(m->sa)) == 0)
            return fd;
        close(fd);
        if ((errno != ENOENT && errno != ECONNREFUSED) ||
            now_ms() > deadline) {
            LOGE(ctx, ERROR, "domain %u: connecting to qemu at %s for its "
                 "saved state", domid, m->sa.sun_path);
            return ERROR_FAIL;
        }
        sleep_ms(20);
    }
}

/* Writes all of buf to qemu; 0 or -errno. */
static int send_all(int fd, const uint8_t *buf, uint64_t len)
{
    ssize_t n;

    while (len) {
        n = send(fd, buf, len > (1u << 20) ? (1u << 20) : (size_t)len,
                 MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* A stream the reader refused, as libxl_save.c words it. */
static int stream_failed(libxl_ctx *ctx, uint32_t domid,
                         struct stream_reader *rd, const char *what, int r)
{
    LOG(ctx, ERROR, "restoring domain %u from %s: %s%s", domid, what,
        rd->err[0] ? rd->err : strerror(-r),
        r == -EPIPE ? " (the stream ended early: truncated, or the sender "
        "stopped)" : "");
    return ERROR_FAIL;
}

int libxl__dm_restore(libxl_ctx *ctx, uint32_t domid, bool stream_dm,
                      struct stream_reader *rd, const char *what)
{
    struct dm_mig m = { NULL };
    uint64_t t0 = now_ms(), bytes = 0;
    unsigned int records = 0;
    uint32_t type;
    uint64_t len;
    void *body = NULL;
    char *args = NULL, *tail;
    int cfd = -1, r, rc;

    if (stream_dm != libxl__domain_is_dm(ctx, domid)) {
        LOG(ctx, ERROR, "restoring domain %u from %s: the saved domain %s, "
            "but its configuration here makes it %s (the accelerator "
            "differs: accel = \"kvm\" or \"tcg\")", domid, what,
            stream_dm ? "ran in qemu" : "ran on the core",
            stream_dm ? "a domain of the core" : "one in qemu");
        return ERROR_INVAL;
    }
    rc = mig_dir_make(ctx, domid, &m);
    if (rc)
        goto out;
    args = mig_uri_args(&m);
    rc = libxl__dm_qmp_for(ctx, domid, "migrate-incoming", args, NULL,
                           "qemu refused to take a saved state");
    if (rc)
        goto out;
    cfd = mig_connect(ctx, domid, &m);
    if (cfd < 0) {
        rc = cfd;
        goto out;
    }
    for (;;) {
        r = stream_read_record(rd, &type, &body, &len);
        if (r < 0) {
            rc = stream_failed(ctx, domid, rd, what, r);
            goto out;
        }
        if (type == STREAM_END)
            break;
        if (type != STREAM_DM_STATE) {
            LOG(ctx, ERROR, "restoring domain %u from %s: a %s record "
                "before byte %" PRIu64 " in the stream of a domain that "
                "ran in qemu (only DM_STATE belongs there)", domid, what,
                stream_type_name(type) ?: "unknown", rd->offset);
            rc = ERROR_INVAL;
            goto out;
        }
        r = send_all(cfd, body, len);
        if (r < 0) {
            tail = qemu_log_tail(domid);
            LOGEV(ctx, ERROR, -r, "restoring domain %u from %s: qemu "
                  "stopped taking its state after %" PRIu64 " bytes%s",
                  domid, what, bytes, tail);
            free(tail);
            rc = ERROR_FAIL;
            goto out;
        }
        bytes += len;
        records++;
        free(body);
        body = NULL;
    }
    if (!records) {
        LOG(ctx, ERROR, "restoring domain %u from %s: the stream has no "
            "DM_STATE record (qemu's state is missing)", domid, what);
        rc = ERROR_INVAL;
        goto out;
    }
    /* all of it is there: qemu sees its end */
    shutdown(cfd, SHUT_WR);
    rc = wait_completed(ctx, domid, "loading qemu's saved state");
    if (rc)
        goto out;
    LOG(ctx, DEBUG, "domain %u restored: qemu's state, %" PRIu64 " bytes "
        "in %u records, %" PRIu64 " ms", domid, bytes, records,
        now_ms() - t0);
    rc = 0;
out:
    free(body);
    free(args);
    /* on failure qemu loses its connection mid-state and gives up (and
     * exits); the caller destroys the domain */
    if (cfd >= 0)
        close(cfd);
    mig_dir_remove(&m);
    return rc;
}
