/*
 * stream.c - the domain stream's writer and reader (see stream.h and
 * docs/STREAM.md).
 */
#include "stream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char pad_zeros[8];

const char *stream_type_name(uint32_t type)
{
    switch (type) {
    case STREAM_DOMAIN_CONFIG:
        return "DOMAIN_CONFIG";
    case STREAM_XENSTORE:
        return "XENSTORE";
    case STREAM_PAGES:
        return "PAGES";
    case STREAM_VCPU:
        return "VCPU";
    case STREAM_PLATFORM:
        return "PLATFORM";
    case STREAM_DEVICE:
        return "DEVICE";
    case STREAM_DM_STATE:
        return "DM_STATE";
    case STREAM_END:
        return "END";
    }
    return NULL;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t crc_of(const void *body, uint64_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const Bytef *p = body;

    while (len) {
        uInt n = len > (1U << 30) ? (1U << 30) : (uInt)len;

        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

static int write_all(int fd, const void *buf, uint64_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len > (1U << 30) ? (1U << 30) : len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (uint64_t)n;
    }
    return 0;
}

int stream_write_header(int fd, uint32_t flags)
{
    uint8_t h[STREAM_HEADER_SIZE];

    memset(h, 0, sizeof(h));
    memcpy(h, STREAM_MAGIC, 8);
    put32(h + 8, STREAM_VERSION);
    put32(h + 12, flags);
    return write_all(fd, h, sizeof(h));
}

int stream_write_record(int fd, uint32_t type, const void *body,
                        uint64_t len)
{
    uint8_t h[STREAM_RECORD_HEAD];
    int rc;

    if (!stream_type_name(type) || len > STREAM_MAX_RECORD ||
        (len && !body))
        return -EINVAL;
    put32(h, type);
    put32(h + 4, crc_of(body, len));
    put64(h + 8, len);
    rc = write_all(fd, h, sizeof(h));
    if (rc == 0 && len)
        rc = write_all(fd, body, len);
    if (rc == 0 && (len & 7))
        rc = write_all(fd, pad_zeros, 8 - (len & 7));
    return rc;
}

int stream_write_end(int fd)
{
    return stream_write_record(fd, STREAM_END, NULL, 0);
}

void stream_reader_init(struct stream_reader *r, int fd)
{
    r->fd = fd;
    r->offset = 0;
    r->err[0] = '\0';
}

static int fail(struct stream_reader *r, uint64_t at, int rc,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct stream_reader *r, uint64_t at, int rc,
                const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(r->err, sizeof(r->err), "offset %llu: ",
                 (unsigned long long)at);
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

/* Exactly len bytes, or -EPIPE (with *got_r what came) / -errno. */
static int read_exact(struct stream_reader *r, void *buf, uint64_t len,
                      uint64_t *got_r)
{
    uint8_t *p = buf;
    uint64_t got = 0;

    while (got < len) {
        uint64_t want = len - got;
        ssize_t n = read(r->fd, p + got,
                         want > (1U << 30) ? (1U << 30) : want);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *got_r = got;
            return -errno;
        }
        if (n == 0) {
            *got_r = got;
            return -EPIPE;
        }
        got += (uint64_t)n;
    }
    *got_r = got;
    return 0;
}

int stream_read_header(struct stream_reader *r, struct stream_header *h)
{
    uint8_t b[STREAM_HEADER_SIZE];
    uint64_t got;
    int rc;

    rc = read_exact(r, b, sizeof(b), &got);
    r->offset += got;
    if (rc == -EPIPE)
        return fail(r, 0, -EPROTO, "not a domain stream: %llu bytes, "
                    "shorter than its header", (unsigned long long)got);
    if (rc < 0)
        return fail(r, 0, rc, "reading the header: %s", strerror(-rc));
    if (memcmp(b, STREAM_MAGIC, 8))
        return fail(r, 0, -EPROTO, "not a domain stream (no \"%s\" "
                    "magic)", STREAM_MAGIC);
    h->version = get32(b + 8);
    h->flags = get32(b + 12);
    if (h->version != STREAM_VERSION)
        return fail(r, 8, -EPROTO, "stream version %u, this reader knows "
                    "%u", h->version, STREAM_VERSION);
    if (h->flags & ~(uint32_t)STREAM_F_DEVICE_MODEL)
        return fail(r, 12, -EPROTO, "unknown header flags %#x", h->flags);
    return 0;
}

int stream_read_record(struct stream_reader *r, uint32_t *type_r,
                       void **body_r, uint64_t *len_r)
{
    uint8_t h[STREAM_RECORD_HEAD], pad[8];
    uint64_t at = r->offset, len, got, padlen;
    const char *name;
    uint32_t type, crc, got32;
    void *body = NULL;
    int rc;

    *body_r = NULL;
    rc = read_exact(r, h, sizeof(h), &got);
    r->offset += got;
    if (rc == -EPIPE && got == 0)
        return fail(r, at, -EPIPE, "the stream ends without an END "
                    "record (truncated)");
    if (rc == -EPIPE)
        return fail(r, at, -EPIPE, "truncated in a record's head");
    if (rc < 0)
        return fail(r, at, rc, "reading a record: %s", strerror(-rc));
    type = get32(h);
    crc = get32(h + 4);
    len = get64(h + 8);
    name = stream_type_name(type);
    if (!name)
        return fail(r, at, -EPROTO, "unknown record type %#x", type);
    if (len > STREAM_MAX_RECORD)
        return fail(r, at, -EPROTO, "%s record of %llu bytes (at most "
                    "%llu)", name, (unsigned long long)len,
                    (unsigned long long)STREAM_MAX_RECORD);
    if (type == STREAM_END && len)
        return fail(r, at, -EPROTO, "END record with a body");
    if (len) {
        body = malloc(len);
        if (!body)
            return fail(r, at, -ENOMEM, "no memory for a %s record of "
                        "%llu bytes", name, (unsigned long long)len);
        rc = read_exact(r, body, len, &got);
        r->offset += got;
        if (rc < 0) {
            free(body);
            if (rc == -EPIPE)
                return fail(r, at, -EPIPE, "%s record truncated: %llu of "
                            "%llu bytes", name, (unsigned long long)got,
                            (unsigned long long)len);
            return fail(r, at, rc, "reading a %s record: %s", name,
                        strerror(-rc));
        }
        padlen = (8 - (len & 7)) & 7;
        rc = read_exact(r, pad, padlen, &got);
        r->offset += got;
        if (rc < 0) {
            free(body);
            return fail(r, at, rc == -EPIPE ? -EPIPE : rc, "%s record: "
                        "truncated in its padding", name);
        }
    }
    got32 = crc_of(body, len);
    if (got32 != crc) {
        free(body);
        return fail(r, at, -EPROTO, "%s record of %llu bytes: CRC %08x, "
                    "its body gives %08x (damaged)", name,
                    (unsigned long long)len, crc, got32);
    }
    *type_r = type;
    *body_r = body;
    *len_r = len;
    return 0;
}

int stream_pages(struct stream_reader *r, const void *body, uint64_t len,
                 uint64_t *n_r, const uint64_t **pfns_r,
                 const uint8_t **data_r)
{
    const uint8_t *p = body;
    uint64_t n;

    if (len < 8)
        return fail(r, r->offset, -EPROTO, "PAGES record of %llu bytes "
                    "has no count", (unsigned long long)len);
    n = get64(p);
    if (n > (len - 8) / (8 + STREAM_PAGE_SIZE) ||
        8 + n * (8 + STREAM_PAGE_SIZE) != len)
        return fail(r, r->offset, -EPROTO, "PAGES record of %llu bytes "
                    "does not hold the %llu pages it counts",
                    (unsigned long long)len, (unsigned long long)n);
    *n_r = n;
    *pfns_r = (const uint64_t *)(const void *)(p + 8);
    *data_r = p + 8 + n * 8;
    return 0;
}
