/*
 * xenolith-stream-check - validates a domain stream (a file written by
 * xl save, or - for standard input) and prints its records, one line
 * each, with what their bodies say in brief.  Exit status 0 for a whole,
 * undamaged stream; 1 with the reason (its offset) on stderr otherwise;
 * 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"

static void describe(struct stream_reader *r, uint32_t type,
                     const void *body, uint64_t len)
{
    const uint8_t *p = body;
    const uint64_t *pfns;
    const uint8_t *data;
    uint64_t n;

    switch (type) {
    case STREAM_PAGES:
        if (stream_pages(r, body, len, &n, &pfns, &data) == 0 && n)
            printf(", %llu pages, frames %#llx..%#llx",
                   (unsigned long long)n, (unsigned long long)pfns[0],
                   (unsigned long long)pfns[n - 1]);
        break;
    case STREAM_VCPU:
    case STREAM_DEVICE:
        if (len >= 4)
            printf(", %s %u", type == STREAM_VCPU ? "vCPU" : "slot",
                   (unsigned)(p[0] | p[1] << 8 | p[2] << 16 |
                              (uint32_t)p[3] << 24));
        break;
    case STREAM_DOMAIN_CONFIG:
        if (len && memchr(body, '\0', len) != (const char *)body + len - 1)
            printf(", NOT one NUL-terminated text");
        break;
    default:
        break;
    }
}

int main(int argc, char **argv)
{
    struct stream_reader r;
    struct stream_header h;
    uint64_t len, at, records = 0;
    uint32_t type;
    void *body;
    int fd, rc;

    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: %s FILE|-\n"
                "Checks a domain stream (docs/STREAM.md) and lists its "
                "records.\n", argv[0]);
        return 2;
    }
    fd = strcmp(argv[1], "-") ? open(argv[1], O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(errno));
        return 1;
    }
    stream_reader_init(&r, fd);
    rc = stream_read_header(&r, &h);
    if (rc < 0)
        goto bad;
    printf("domain stream version %u%s\n", h.version,
           h.flags & STREAM_F_DEVICE_MODEL ? ", a device-model domain" : "");
    for (;;) {
        at = r.offset;
        rc = stream_read_record(&r, &type, &body, &len);
        if (rc < 0)
            goto bad;
        records++;
        printf("%10llu  %-13s %llu bytes", (unsigned long long)at,
               stream_type_name(type), (unsigned long long)len);
        describe(&r, type, body, len);
        printf("\n");
        free(body);
        if (type == STREAM_END)
            break;
    }
    printf("%llu records, %llu bytes: whole and undamaged\n",
           (unsigned long long)records, (unsigned long long)r.offset);
    return 0;
bad:
    fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], r.err);
    return 1;
}
