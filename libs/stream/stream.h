/*
 * stream.h - the domain stream: how a domain travels to a file (xl save)
 * or to another host (xl migrate), and back.  The format is written up in
 * docs/STREAM.md; this is its one reader and writer.
 *
 * A stream is a header, then typed records, the last of type
 * STREAM_END.  Every record carries its length and the CRC-32 of its
 * body, so a reader tells a damaged or truncated stream from a good one
 * before it acts on any of it.  All integers are little-endian.
 *
 * The writer and reader work on a file descriptor (a file, a pipe, a
 * socket) and return 0 or -errno; the reader also leaves, in r->err, a
 * message that names the offset and what is wrong there.
 */
#ifndef XENOLITH_STREAM_H
#define XENOLITH_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_MAGIC        "XNLTDOMS"
#define STREAM_VERSION      1
#define STREAM_HEADER_SIZE  24
#define STREAM_RECORD_HEAD  16
#define STREAM_MAX_RECORD   (1ULL << 30)   /* a body longer is refused */

/* Header flags. */
#define STREAM_F_DEVICE_MODEL 0x1   /* the domain runs in qemu */

/* Record types (docs/STREAM.md says what each body holds). */
enum stream_type {
    STREAM_DOMAIN_CONFIG = 1,   /* libxl_domain_config as JSON, NUL */
    STREAM_XENSTORE = 2,        /* the domain's nodes: path\0value\0... */
    STREAM_PAGES = 3,           /* u64 n, n u64 frame numbers, n pages */
    STREAM_VCPU = 4,            /* u32 vcpu, u32 0, its state */
    STREAM_PLATFORM = 5,        /* interrupt controllers, timers, clock */
    STREAM_DEVICE = 6,          /* u32 slot, u32 0, a device's state */
    STREAM_DM_STATE = 7,        /* qemu's own migration stream */
    STREAM_END = 0x7fffffff,    /* no body: the stream is complete */
};

#define STREAM_PAGE_SIZE 4096

struct stream_header {
    uint32_t version;
    uint32_t flags;
};

struct stream_reader {
    int fd;
    uint64_t offset;            /* bytes consumed so far */
    char err[256];
};

/* The record type's name ("PAGES"), or NULL for an unknown type. */
const char *stream_type_name(uint32_t type);

int stream_write_header(int fd, uint32_t flags);
/* One record: head, body (len bytes), padding to 8 bytes. */
int stream_write_record(int fd, uint32_t type, const void *body,
                        uint64_t len);
int stream_write_end(int fd);

void stream_reader_init(struct stream_reader *r, int fd);
/* -EPROTO: not a stream, or a version this reader does not know. */
int stream_read_header(struct stream_reader *r, struct stream_header *h);
/*
 * The next record: *type_r, and its body (malloc'd, *body_r; NULL for an
 * empty one) of *len_r bytes, its CRC checked.  -EPROTO for a damaged
 * record (bad CRC, unknown type, over STREAM_MAX_RECORD), -EPIPE when the
 * stream ends early (truncated), -ENOMEM, or a read error.
 */
int stream_read_record(struct stream_reader *r, uint32_t *type_r,
                       void **body_r, uint64_t *len_r);

/*
 * Checks a PAGES body: *n_r pages, *pfns_r the frame numbers in it and
 * *data_r the first page.  -EPROTO (r->err says why) when its length does
 * not match its count.
 */
int stream_pages(struct stream_reader *r, const void *body, uint64_t len,
                 uint64_t *n_r, const uint64_t **pfns_r,
                 const uint8_t **data_r);

#endif /* XENOLITH_STREAM_H */
