/*
 * libxl_save.c - save, restore and migration of a domain (libxl.h): the
 * toolstack's side of the domain stream (docs/STREAM.md).
 *
 * Save writes the header, the domain's configuration and its xenstore
 * data, then its RAM, read straight from the domain's memfd: with
 * LIBXL_SUSPEND_LIVE in rounds while the guest runs (KVM's dirty page
 * log says what it wrote since the last round) until few pages are left
 * or the rounds stop helping, then paused; then the core's state records
 * (xc_domain_state_get) and END.  Restore reads the same back into a
 * domain created for it (libxl__domain_create with a restore), checking
 * every record before it is used; any failure destroys that domain.
 */
#include "libxl_internal.h"

#include <inttypes.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "stream.h"

#define PAGE_SHIFT 12
#define HIGH_BASE_PFN (0x100000000ULL >> PAGE_SHIFT)
/* Pages per PAGES record (2 MiB of data). */
#define BATCH 512
/* A core state record's largest body (the core's PROTO_STATE_MAX). */
#define STATE_MAX 49152
/* Live rounds: stop when this few pages are left, after MAX_ROUNDS, or
 * when a round no longer shrinks what the guest dirties. */
#define STOP_PAGES 50
#define MAX_ROUNDS 30
/* Mapped at once. */
#define MAP_CHUNK (1ULL << 30)

/* The guest's RAM: its memfd, mapped whole (memfd page i is guest frame
 * page_gfn(i)). */
struct guest_ram {
    uint64_t pages;              /* in the memfd */
    uint64_t low_pages;          /* below 4 GiB */
    int fd;                      /* -1: not mapped */
    uint8_t *base;
};

static uint64_t page_gfn(const struct guest_ram *m, uint64_t i)
{
    return i < m->low_pages ? i : HIGH_BASE_PFN + (i - m->low_pages);
}

/* The memfd page of guest frame gfn, or UINT64_MAX when not RAM. */
static uint64_t gfn_page(const struct guest_ram *m, uint64_t gfn)
{
    if (gfn < m->low_pages)
        return gfn;
    if (gfn >= HIGH_BASE_PFN && gfn - HIGH_BASE_PFN < m->pages - m->low_pages)
        return m->low_pages + (gfn - HIGH_BASE_PFN);
    return UINT64_MAX;
}

static uint8_t *page_at(const struct guest_ram *m, uint64_t i)
{
    return m->base + (i << PAGE_SHIFT);
}

static void ram_unmap(struct guest_ram *m)
{
    if (m->base)
        munmap(m->base, m->pages << PAGE_SHIFT);
    if (m->fd >= 0)
        close(m->fd);
    m->base = NULL;
    m->fd = -1;
}

/* Maps the domain's whole RAM with prot; 0 or ERROR_FAIL (logged). */
static int ram_map(libxl_ctx *ctx, uint32_t domid, int prot,
                   struct guest_ram *m)
{
    uint64_t size, low_end;
    void *p;

    memset(m, 0, sizeof(*m));
    m->fd = xc_domain_memfd(ctx->xch, domid, &size, &low_end);
    if (m->fd < 0) {
        LOGEV(ctx, ERROR, -m->fd, "domain %u: its RAM", domid);
        m->fd = -1;
        return ERROR_FAIL;
    }
    m->pages = size >> PAGE_SHIFT;
    m->low_pages = low_end >> PAGE_SHIFT;
    if (m->low_pages > m->pages)
        m->low_pages = m->pages;
    p = mmap(NULL, (size_t)size, prot, MAP_SHARED, m->fd, 0);
    if (p == MAP_FAILED) {
        LOGE(ctx, ERROR, "domain %u: mapping its RAM (%" PRIu64 " MiB)",
             domid, size >> 20);
        ram_unmap(m);
        return ERROR_FAIL;
    }
    m->base = p;
    return 0;
}

/* ------------------------------------------------------------ save */

static uint64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

struct saver {
    libxl_ctx *ctx;
    uint32_t domid;
    int fd;
    struct guest_ram ram;
    uint8_t *batch;              /* a PAGES body being filled */
    uint64_t nbatch;
    uint64_t sent;               /* pages written */
    uint8_t *dirty;              /* the bitmap of a round */
    size_t dirty_len;
};

static int write_failed(struct saver *s, int r)
{
    LOGEV(s->ctx, ERROR, -r, "domain %u: writing the stream", s->domid);
    return ERROR_FAIL;
}

static int flush_batch(struct saver *s)
{
    int r;

    if (!s->nbatch)
        return 0;
    /* the frame numbers were put after the count; the pages follow */
    memcpy(s->batch, &s->nbatch, 8);
    memmove(s->batch + 8 + s->nbatch * 8, s->batch + 8 + BATCH * 8,
            s->nbatch << PAGE_SHIFT);
    r = stream_write_record(s->fd, STREAM_PAGES, s->batch,
                            8 + s->nbatch * 8 + (s->nbatch << PAGE_SHIFT));
    if (r < 0)
        return write_failed(s, r);
    s->sent += s->nbatch;
    s->nbatch = 0;
    return 0;
}

static int add_page(struct saver *s, uint64_t i, const uint8_t *p)
{
    uint64_t gfn = page_gfn(&s->ram, i);

    memcpy(s->batch + 8 + s->nbatch * 8, &gfn, 8);
    memcpy(s->batch + 8 + BATCH * 8 + (s->nbatch << PAGE_SHIFT), p,
           1 << PAGE_SHIFT);
    if (++s->nbatch == BATCH)
        return flush_batch(s);
    return 0;
}

static int page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    size_t k;

    for (k = 0; k < (1 << PAGE_SHIFT) / 8; k++)
        if (w[k])
            return 0;
    return 1;
}

/* Every page (zero pages left out: a new domain's RAM reads zero), or
 * those set in s->dirty.  The full pass reads only the memfd's data:
 * pages the guest never touched are holes, not read (which would make
 * the host allocate them) and not sent. */
static int send_pages(struct saver *s, int only_dirty)
{
    uint64_t i, end;
    off_t at, hole;
    int rc;

    if (only_dirty) {
        for (i = 0; i < s->ram.pages; i++) {
            if (!(s->dirty[i / 8] & (1u << (i % 8))))
                continue;
            rc = add_page(s, i, page_at(&s->ram, i));
            if (rc)
                return rc;
        }
        return flush_batch(s);
    }
    for (i = 0; i < s->ram.pages; i = end) {
        at = lseek(s->ram.fd, (off_t)(i << PAGE_SHIFT), SEEK_DATA);
        if (at < 0)
            break;                 /* ENXIO: no data from here on */
        hole = lseek(s->ram.fd, at, SEEK_HOLE);
        if (hole < 0)
            hole = (off_t)(s->ram.pages << PAGE_SHIFT);
        i = (uint64_t)at >> PAGE_SHIFT;
        end = ((uint64_t)hole + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT;
        if (end > s->ram.pages)
            end = s->ram.pages;
        for (; i < end; i++) {
            const uint8_t *p = page_at(&s->ram, i);

            if (page_is_zero(p))
                continue;
            rc = add_page(s, i, p);
            if (rc)
                return rc;
        }
    }
    return flush_batch(s);
}

/* KVM's log since the last take, ORed into s->dirty when merge; the
 * count of pages set. */
static int fetch_dirty(struct saver *s, int merge, uint64_t *count_r)
{
    uint8_t chunk[49152];
    uint64_t first = 0, i, count = 0;
    int r;

    if (!merge)
        memset(s->dirty, 0, s->dirty_len);
    do {
        r = xc_domain_dirty_log(s->ctx->xch, s->domid, XC_DIRTY_FETCH,
                                first, chunk, sizeof(chunk));
        if (r < 0) {
            LOGEV(s->ctx, ERROR, -r, "domain %u: reading the dirty page "
                  "log", s->domid);
            return ERROR_FAIL;
        }
        for (i = 0; i < (uint64_t)r && first / 8 + i < s->dirty_len; i++)
            s->dirty[first / 8 + i] |= chunk[i];
        first += (uint64_t)r * 8;
    } while (r == (int)sizeof(chunk));
    for (i = 0; i < s->dirty_len; i++)
        count += (uint64_t)__builtin_popcount(s->dirty[i]);
    *count_r = count;
    return 0;
}

/* The guest's own xenstore data (/local/domain/N/data), as
 * "data/..."\0value\0 pairs, appended to *buf. */
static void xs_collect(libxl_ctx *ctx, const char *base, const char *rel,
                       char **buf, size_t *len)
{
    char *path = libxl__sprintf("%s/%s", base, rel);
    unsigned int n = 0, k;
    char **ents;
    char *val;

    val = libxl__xs_read(ctx, XBT_NULL, path);
    if (val) {
        size_t a = strlen(rel) + 1, b = strlen(val) + 1;

        *buf = libxl__realloc_or_die(*buf, *len + a + b);
        memcpy(*buf + *len, rel, a);
        memcpy(*buf + *len + a, val, b);
        *len += a + b;
        free(val);
    }
    ents = xs_directory(ctx->xsh, XBT_NULL, path, &n);
    for (k = 0; ents && k < n; k++) {
        char *sub = libxl__sprintf("%s/%s", rel, ents[k]);

        xs_collect(ctx, base, sub, buf, len);
        free(sub);
    }
    free(ents);
    free(path);
}

static int save_head(struct saver *s, libxl_domain_config *dc,
                     uint32_t flags)
{
    libxl_ctx *ctx = s->ctx;
    char *json, *base, *xs = NULL;
    size_t xs_len = 0;
    int r;

    r = stream_write_header(s->fd, flags);
    if (r < 0)
        return write_failed(s, r);
    json = libxl_domain_config_to_json(ctx, dc);
    if (!json) {
        LOG(ctx, ERROR, "domain %u: its configuration as JSON", s->domid);
        return ERROR_FAIL;
    }
    r = stream_write_record(s->fd, STREAM_DOMAIN_CONFIG, json,
                            strlen(json) + 1);
    free(json);
    if (r < 0)
        return write_failed(s, r);
    base = libxl__dom_path(s->domid);
    xs_collect(ctx, base, "data", &xs, &xs_len);
    free(base);
    r = stream_write_record(s->fd, STREAM_XENSTORE, xs, xs_len);
    free(xs);
    if (r < 0)
        return write_failed(s, r);
    return 0;
}

/* The core's state records of the paused domain, kept until the pages
 * are out (reading them stops the virtio backends' rings, so that what
 * they wrote is in the last round's log). */
struct state_rec {
    uint32_t type;
    uint32_t len;
    uint8_t *body;
};

static int collect_state(struct saver *s, struct state_rec **recs_r,
                         unsigned int *n_r)
{
    struct state_rec *recs = NULL;
    uint8_t *body = libxl__calloc_or_die(1, STATE_MAX);
    unsigned int n = 0;
    uint32_t type;
    int r, rc = 0;

    for (;;) {
        r = xc_domain_state_get(s->ctx->xch, s->domid, n, &type, body,
                                STATE_MAX);
        if (r == -ENOENT)
            break;
        if (r < 0) {
            rc = ERROR_FAIL;       /* the core's reason is logged */
            break;
        }
        recs = libxl__realloc_or_die(recs, (n + 1) * sizeof(*recs));
        recs[n].type = type;
        recs[n].len = (uint32_t)r;
        recs[n].body = libxl__calloc_or_die(1, (size_t)r);
        memcpy(recs[n].body, body, (size_t)r);
        n++;
    }
    free(body);
    *recs_r = recs;
    *n_r = n;
    return rc;
}

static int write_state(struct saver *s, const struct state_rec *recs,
                       unsigned int n)
{
    unsigned int i;
    int r;

    for (i = 0; i < n; i++) {
        r = stream_write_record(s->fd, recs[i].type, recs[i].body,
                                recs[i].len);
        if (r < 0)
            return write_failed(s, r);
    }
    return 0;
}

static void free_state(struct state_rec *recs, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++)
        free(recs[i].body);
    free(recs);
}

/* Pre-copy: every page while the guest runs, then what it dirtied, round
 * after round; returns with the guest paused and s->dirty holding what
 * the last round left (the caller adds what was written up to the
 * pause). */
static int precopy(struct saver *s, unsigned int *rounds_r,
                   uint64_t *paused_at_r)
{
    libxl_ctx *ctx = s->ctx;
    uint64_t count, prev = UINT64_MAX;
    unsigned int round;
    int r, rc;

    r = xc_domain_dirty_log(ctx->xch, s->domid, XC_DIRTY_START, 0, NULL, 0);
    if (r < 0)
        return ERROR_FAIL;
    /* the log starts now: the full pass below sees every earlier write */
    rc = fetch_dirty(s, 0, &count);
    if (rc)
        return rc;
    rc = send_pages(s, 0);
    if (rc)
        return rc;
    for (round = 1; ; round++) {
        rc = fetch_dirty(s, 0, &count);
        if (rc)
            return rc;
        LOG(ctx, DEBUG, "domain %u: round %u: %" PRIu64 " pages dirty",
            s->domid, round, count);
        if (count <= STOP_PAGES || round >= MAX_ROUNDS ||
            (round >= 3 && count >= prev))
            break;
        rc = send_pages(s, 1);
        if (rc)
            return rc;
        prev = count;
    }
    *rounds_r = round;
    *paused_at_r = now_ms();
    r = xc_domain_pause(ctx->xch, s->domid);
    if (r < 0) {
        LOGEV(ctx, ERROR, -r, "domain %u: pausing it for the last round",
              s->domid);
        return ERROR_FAIL;
    }
    return 0;
}

/*
 * The domain's qcow2 disks are handed over (release) or taken back: the
 * block backend closes each image, writing its cached metadata and
 * dropping its lock, so that a receiver can open it (blkback.h,
 * "xenolith-release"), and says so with state 6.  Raw disks take no
 * lock and stay served.  0, or ERROR_FAIL naming the disk that was not
 * released within 10 s.
 */
static int release_disks(libxl_ctx *ctx, uint32_t domid, bool release)
{
    char *dir = libxl__sprintf("/local/domain/0/backend/vbd/%u", domid);
    unsigned int n = 0, i, tries;
    char **ents = xs_directory(ctx->xsh, XBT_NULL, dir, &n);
    int rc = 0;

    for (i = 0; ents && i < n && !rc; i++) {
        char *base = libxl__sprintf("%s/%s", dir, ents[i]);
        char *key = libxl__sprintf("%s/format", base);
        char *format = libxl__xs_read(ctx, XBT_NULL, key);
        char *state = NULL;

        free(key);
        if (format && !strcmp(format, "qcow2")) {
            key = libxl__sprintf("%s/xenolith-release", base);
            rc = libxl__xs_write(ctx, XBT_NULL, key, release ? "1" : "0");
            free(key);
            key = libxl__sprintf("%s/state", base);
            for (tries = 0; !rc && release; tries++) {
                free(state);
                state = libxl__xs_read(ctx, XBT_NULL, key);
                if (state && !strcmp(state, "6"))
                    break;
                if (tries == 100) {
                    LOG(ctx, ERROR, "domain %u: its block backend did not "
                        "release disk %s (%s) within 10 s", domid, ents[i],
                        base);
                    rc = ERROR_FAIL;
                    break;
                }
                usleep(100000);
            }
            free(key);
        }
        free(state);
        free(format);
        free(base);
    }
    free(ents);
    free(dir);
    return rc;
}

int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd, int flags,
                         const libxl_asyncop_how *ao_how)
{
    libxl_domain_config dc;
    libxl_dominfo info;
    struct saver s;
    struct state_rec *recs = NULL;
    unsigned int rounds = 0, nrecs = 0;
    uint64_t t0, t_pause = 0;
    bool paused_here = false, logging = false, released = false;
    int r, rc;

    memset(&s, 0, sizeof(s));
    s.ram.fd = -1;
    s.ctx = ctx;
    s.domid = domid;
    s.fd = fd;
    libxl_domain_config_init(&dc);
    libxl_dominfo_init(&info);
    rc = libxl__need_daemons(ctx, "libxl_domain_suspend");
    if (rc)
        goto out;
    rc = libxl_domain_info(ctx, &info, domid);
    if (rc) {
        if (rc == ERROR_DOMAIN_NOTFOUND)
            LOG(ctx, ERROR, "saving domain %u: no such domain", domid);
        goto out;
    }
    if (info.shutdown || info.dying) {
        LOG(ctx, ERROR, "saving domain %u: it has shut down", domid);
        rc = ERROR_INVAL;
        goto out;
    }
    rc = libxl__domain_config_load(ctx, domid, &dc);
    if (rc) {
        LOG(ctx, ERROR, "saving domain %u: its configuration is not "
            "stored", domid);
        goto out;
    }
    if (libxl__domain_is_dm(ctx, domid)) {
        /* qemu's own state follows, as DM_STATE records (libxl_save_dm.c) */
        rc = save_head(&s, &dc, STREAM_F_DEVICE_MODEL);
        if (!rc)
            rc = libxl__dm_save(ctx, domid, fd, flags, info.paused);
        goto out;
    }
    t0 = now_ms();
    rc = save_head(&s, &dc, 0);
    if (rc)
        goto out;
    rc = ram_map(ctx, domid, PROT_READ, &s.ram);
    if (rc)
        goto out;
    s.batch = libxl__calloc_or_die(1, 8 + BATCH * 8 +
                                      ((size_t)BATCH << PAGE_SHIFT));
    s.dirty_len = (size_t)((s.ram.pages + 7) / 8);
    s.dirty = libxl__calloc_or_die(1, s.dirty_len);
    if ((flags & LIBXL_SUSPEND_LIVE) && !info.paused) {
        logging = true;
        t_pause = now_ms();
        rc = precopy(&s, &rounds, &t_pause);
        paused_here = true;
        if (!rc)
            rc = collect_state(&s, &recs, &nrecs);
        if (!rc) {
            uint64_t left;

            /* what it wrote up to the pause (the vCPUs', and the
             * backends' up to their rings' stop) joins the last round */
            rc = fetch_dirty(&s, 1, &left);
        }
        if (!rc)
            rc = send_pages(&s, 1);
    } else {
        if (!info.paused) {
            r = xc_domain_pause(ctx->xch, domid);
            if (r < 0) {
                LOGEV(ctx, ERROR, -r, "saving domain %u: pausing it", domid);
                rc = ERROR_FAIL;
                goto out;
            }
            paused_here = true;
        }
        t_pause = now_ms();
        rc = collect_state(&s, &recs, &nrecs);
        if (!rc)
            rc = send_pages(&s, 0);
    }
    if (rc)
        goto out;
    rc = write_state(&s, recs, nrecs);
    if (rc)
        goto out;
    /* before END: a receiver opens the disks once the stream is whole */
    released = true;
    rc = release_disks(ctx, domid, true);
    if (rc)
        goto out;
    r = stream_write_end(fd);
    if (r < 0) {
        rc = write_failed(&s, r);
        goto out;
    }
    LOG(ctx, DEBUG, "domain %u saved: %" PRIu64 " pages in %u rounds, "
        "%" PRIu64 " ms, %" PRIu64 " ms paused", domid, s.sent, rounds,
        now_ms() - t0, now_ms() - t_pause);
    rc = 0;
out:
    if (logging)
        (void)xc_domain_dirty_log(ctx->xch, domid, XC_DIRTY_STOP, 0, NULL, 0);
    if (rc && released)
        (void)release_disks(ctx, domid, false);
    if (rc && paused_here) {
        /* the guest goes on where it was */
        (void)xc_domain_unpause(ctx->xch, domid);
    }
    free_state(recs, nrecs);
    ram_unmap(&s.ram);
    free(s.batch);
    free(s.dirty);
    libxl_domain_config_dispose(&dc);
    libxl_dominfo_dispose(&info);
    return libxl__ao_complete(ctx, domid, ao_how, rc);
}

int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid, int suspend_cancel,
                        const libxl_asyncop_how *ao_how)
{
    (void)suspend_cancel;
    /* its qcow2 images back from a hand-over that did not happen */
    (void)release_disks(ctx, domid, false);
    return libxl_domain_unpause(ctx, domid, ao_how);
}

/* ------------------------------------------------------------ restore */

struct libxl__restore {
    struct stream_reader rd;
    const char *what;            /* "the stream" / the file, for messages */
    libxl_domain_config saved;   /* from DOMAIN_CONFIG */
    char *xs;                    /* XENSTORE's body */
    uint64_t xs_len;
    bool dm;                     /* STREAM_F_DEVICE_MODEL */
    /* virtio devices' records: loaded once the devices are plugged */
    struct {
        void *body;
        uint64_t len;
    } dev[32];
    unsigned int ndev;
};

static int stream_error(libxl_ctx *ctx, libxl__restore *rs, int r)
{
    LOG(ctx, ERROR, "restoring from %s: %s%s", rs->what,
        rs->rd.err[0] ? rs->rd.err : strerror(-r),
        r == -EPIPE ? " (the stream ended early: truncated, or the sender "
        "stopped)" : "");
    return ERROR_FAIL;
}

/* The header and the records before memory: the config and xenstore. */
static int restore_head(libxl_ctx *ctx, libxl__restore *rs)
{
    struct stream_header h;
    uint32_t type;
    uint64_t len;
    void *body = NULL;
    int r, rc;

    r = stream_read_header(&rs->rd, &h);
    if (r < 0)
        return stream_error(ctx, rs, r);
    rs->dm = (h.flags & STREAM_F_DEVICE_MODEL) != 0;
    r = stream_read_record(&rs->rd, &type, &body, &len);
    if (r < 0)
        return stream_error(ctx, rs, r);
    if (type != STREAM_DOMAIN_CONFIG || !len ||
        ((char *)body)[len - 1] != '\0') {
        LOG(ctx, ERROR, "restoring from %s: the first record is %s, not "
            "the domain's configuration", rs->what,
            stream_type_name(type) ?: "unknown");
        free(body);
        return ERROR_INVAL;
    }
    rc = libxl_domain_config_from_json(ctx, &rs->saved, body);
    free(body);
    if (rc) {
        LOG(ctx, ERROR, "restoring from %s: the saved configuration is not "
            "libxl's JSON", rs->what);
        return ERROR_INVAL;
    }
    r = stream_read_record(&rs->rd, &type, &body, &len);
    if (r < 0)
        return stream_error(ctx, rs, r);
    if (type != STREAM_XENSTORE) {
        LOG(ctx, ERROR, "restoring from %s: %s where the xenstore record "
            "belongs", rs->what, stream_type_name(type) ?: "unknown");
        free(body);
        return ERROR_INVAL;
    }
    rs->xs = body;
    rs->xs_len = len;
    return 0;
}

static int restore_xenstore(libxl_ctx *ctx, uint32_t domid,
                            libxl__restore *rs)
{
    struct xs_permissions perm = { .id = domid, .perms = XS_PERM_NONE };
    char *base = libxl__dom_path(domid);
    uint64_t off = 0;
    int rc = 0;

    while (off < rs->xs_len) {
        const char *rel = rs->xs + off, *val;
        size_t a = strnlen(rel, rs->xs_len - off);
        char *path;

        if (off + a + 1 >= rs->xs_len || strncmp(rel, "data", 4) ||
            (rel[4] != '\0' && rel[4] != '/') || strstr(rel, "..")) {
            LOG(ctx, ERROR, "restoring from %s: a xenstore node outside "
                "the guest's data (at byte %" PRIu64 " of the record)",
                rs->what, off);
            rc = ERROR_INVAL;
            break;
        }
        val = rel + a + 1;
        off += a + 1 + strnlen(val, rs->xs_len - off - a - 1) + 1;
        if (off > rs->xs_len) {
            LOG(ctx, ERROR, "restoring from %s: the xenstore record ends "
                "inside a value", rs->what);
            rc = ERROR_INVAL;
            break;
        }
        path = libxl__sprintf("%s/%s", base, rel);
        if (!xs_write(ctx->xsh, XBT_NULL, path, val, strlen(val)) ||
            !xs_set_permissions(ctx->xsh, XBT_NULL, path, &perm, 1)) {
            LOGE(ctx, ERROR, "domain %u: writing %s", domid, path);
            free(path);
            rc = ERROR_FAIL;
            break;
        }
        free(path);
    }
    free(base);
    return rc;
}

static int restore_pages(libxl_ctx *ctx, uint32_t domid, libxl__restore *rs,
                         struct guest_ram *m, const void *body, uint64_t len)
{
    const uint64_t *gfns;
    const uint8_t *data;
    uint64_t n, k, i;
    int r;

    r = stream_pages(&rs->rd, body, len, &n, &gfns, &data);
    if (r < 0)
        return stream_error(ctx, rs, r);
    for (k = 0; k < n; k++) {
        uint64_t gfn;

        memcpy(&gfn, gfns + k, sizeof(gfn));
        i = gfn_page(m, gfn);
        if (i == UINT64_MAX) {
            LOG(ctx, ERROR, "restoring domain %u from %s: frame %#" PRIx64
                " (before byte %" PRIu64 ") is not RAM of a %" PRIu64
                "-MiB domain", domid, rs->what, gfn, rs->rd.offset,
                m->pages >> 8);
            return ERROR_INVAL;
        }
        memcpy(page_at(m, i), data + (k << PAGE_SHIFT), 1 << PAGE_SHIFT);
    }
    return 0;
}

int libxl__restore_build(libxl_ctx *ctx, uint32_t domid,
                         libxl_domain_config *d_config, libxl__restore *rs)
{
    libxl_domain_build_info *saved = &rs->saved.b_info;
    struct guest_ram m = { .fd = -1 };
    uint32_t type;
    uint64_t len;
    void *body = NULL;
    int r, rc;

    memset(&m, 0, sizeof(m));
    m.fd = -1;
    if (d_config->b_info.max_vcpus != saved->max_vcpus ||
        d_config->b_info.target_memkb != saved->target_memkb) {
        LOG(ctx, ERROR, "restoring domain %u from %s: the configuration "
            "gives %d vCPUs and %" PRIu64 " KiB, the saved domain had %d "
            "and %" PRIu64 " KiB", domid, rs->what,
            d_config->b_info.max_vcpus, d_config->b_info.target_memkb,
            saved->max_vcpus, saved->target_memkb);
        return ERROR_INVAL;
    }
    rc = restore_xenstore(ctx, domid, rs);
    if (rc)
        return rc;
    if (rs->dm || libxl__domain_is_dm(ctx, domid))
        return libxl__dm_restore(ctx, domid, rs->dm, &rs->rd, rs->what);
    rc = ram_map(ctx, domid, PROT_READ | PROT_WRITE, &m);
    if (rc)
        return rc;
    for (;;) {
        r = stream_read_record(&rs->rd, &type, &body, &len);
        if (r < 0) {
            rc = stream_error(ctx, rs, r);
            break;
        }
        if (type == STREAM_END) {
            rc = 0;
            break;
        }
        switch (type) {
        case STREAM_PAGES:
            rc = restore_pages(ctx, domid, rs, &m, body, len);
            break;
        case STREAM_DEVICE:
            if (len >= 4 && ((uint8_t *)body)[0] >= 1 &&
                ((uint8_t *)body)[0] < 32 && !((uint8_t *)body)[1] &&
                !((uint8_t *)body)[2] && !((uint8_t *)body)[3] &&
                rs->ndev < 32) {
                /* a virtio slot: its device is plugged after the build */
                rs->dev[rs->ndev].body = body;
                rs->dev[rs->ndev++].len = len;
                body = NULL;
                rc = 0;
                break;
            }
            /* fall through */
        case STREAM_PLATFORM:
        case STREAM_VCPU:
            r = xc_domain_state_set(ctx->xch, domid, type, body, len);
            rc = r < 0 ? ERROR_FAIL : 0;   /* the core's reason is logged */
            break;
        default:
            LOG(ctx, ERROR, "restoring domain %u from %s: a %s record "
                "before byte %" PRIu64 " does not belong there", domid,
                rs->what, stream_type_name(type) ?: "unknown",
                rs->rd.offset);
            rc = ERROR_INVAL;
            break;
        }
        free(body);
        body = NULL;
        if (rc)
            break;
    }
    free(body);
    ram_unmap(&m);
    return rc;
}

int libxl__restore_devices(libxl_ctx *ctx, uint32_t domid,
                           libxl__restore *rs)
{
    unsigned int i;
    int r;

    for (i = 0; i < rs->ndev; i++) {
        r = xc_domain_state_set(ctx->xch, domid, STREAM_DEVICE,
                                rs->dev[i].body, rs->dev[i].len);
        if (r < 0) {
            /* the core's reason is logged */
            LOG(ctx, ERROR, "restoring domain %u from %s: its virtio "
                "devices (the configuration must give the same disks and "
                "network interfaces, in the same order)", domid, rs->what);
            return ERROR_FAIL;
        }
    }
    return 0;
}

int libxl_domain_create_restore(libxl_ctx *ctx, libxl_domain_config *d_config,
                                uint32_t *domid, int restore_fd,
                                int send_back_fd,
                                const libxl_domain_restore_params *params,
                                const libxl_asyncop_how *ao_how,
                                const libxl_asyncprogress_how *aop_console_how)
{
    libxl__restore rs;
    int rc;

    (void)send_back_fd;
    *domid = INVALID_DOMID;
    memset(&rs, 0, sizeof(rs));
    libxl_domain_config_init(&rs.saved);
    stream_reader_init(&rs.rd, restore_fd);
    rs.what = "the stream";
    if (params && params->checkpointed_stream) {
        LOG(ctx, ERROR, "restoring: checkpointed streams (Remus, COLO) are "
            "not supported");
        rc = ERROR_INVAL;
        goto out;
    }
    rc = restore_head(ctx, &rs);
    if (rc)
        goto out;
    rc = libxl__domain_create(ctx, d_config, domid, aop_console_how, &rs);
out:
    while (rs.ndev)
        free(rs.dev[--rs.ndev].body);
    free(rs.xs);
    libxl_domain_config_dispose(&rs.saved);
    return libxl__ao_complete(ctx, *domid, ao_how, rc);
}
