/*
 * fuzz_stream.c: libFuzzer target for the domain stream's reader
 * (libs/stream): the input is a stream, read from a memfd as xl restore
 * reads a file.  Whatever the bytes, the reader must answer 0 or a
 * documented error (-EPROTO, -EPIPE, -ENOMEM) with its message set and
 * naming an offset, never read past the input, and account for every
 * byte it consumed; PAGES bodies it accepts must hold what they count.
 * Its seeds are built in (fuzz_replay_builtin): a whole stream, and that
 * stream cut at every record boundary and damaged in each record.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_replay_builtin(void);

static void die(const char *what, const struct stream_reader *r)
{
    fprintf(stderr, "fuzz_stream: %s (reader: %s)\n", what, r->err);
    abort();
}

static void check_failure(const struct stream_reader *r, int rc)
{
    if (rc != -EPROTO && rc != -EPIPE && rc != -ENOMEM)
        die("an undocumented error", r);
    if (strncmp(r->err, "offset ", 7))
        die("a failure without an offset", r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stream_reader r;
    struct stream_header h;
    const uint64_t *pfns;
    const uint8_t *pages;
    uint64_t len, n, before;
    uint32_t type = 0;
    void *body;
    int fd, rc;

    fd = memfd_create("stream", MFD_CLOEXEC);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) ||
        lseek(fd, 0, SEEK_SET) != 0) {
        perror("fuzz_stream: memfd");
        abort();
    }
    stream_reader_init(&r, fd);
    rc = stream_read_header(&r, &h);
    while (rc == 0 && type != STREAM_END) {
        before = r.offset;
        rc = stream_read_record(&r, &type, &body, &len);
        if (rc < 0)
            break;
        if (r.offset != before + STREAM_RECORD_HEAD + len +
                            ((8 - (len & 7)) & 7))
            die("the offset does not follow the record", &r);
        if (!stream_type_name(type) || (len && !body) || (!len && body))
            die("a record the reader should have refused", &r);
        if (type == STREAM_PAGES &&
            stream_pages(&r, body, len, &n, &pfns, &pages) == 0 &&
            8 + n * (8 + STREAM_PAGE_SIZE) != len)
            die("PAGES accepted with the wrong size", &r);
        free(body);
    }
    if (rc < 0)
        check_failure(&r, rc);
    if (r.offset > size)
        die("read past the input", &r);
    close(fd);
    return 0;
}

/* ---- seeds ---- */

static uint8_t *seed;
static size_t seed_len;

static void add(int fd, uint32_t type, const void *body, uint64_t len)
{
    if (stream_write_record(fd, type, body, len) < 0)
        abort();
}

void fuzz_replay_builtin(void)
{
    static const char config[] = "{\"c_info\": {\"name\": \"seed\"}}";
    uint8_t pages[8 + 8 + STREAM_PAGE_SIZE] = { 1 }, vcpu[16] = { 0 };
    size_t cuts[8], ncuts = 0, i;
    int fd = memfd_create("seed", MFD_CLOEXEC);
    off_t end;

    pages[8] = 0x42;                      /* frame 0x42 */
    memset(pages + 16, 0x5a, STREAM_PAGE_SIZE);
    if (fd < 0 || stream_write_header(fd, STREAM_F_DEVICE_MODEL) < 0)
        abort();
    cuts[ncuts++] = (size_t)lseek(fd, 0, SEEK_CUR);
    add(fd, STREAM_DOMAIN_CONFIG, config, sizeof(config));
    cuts[ncuts++] = (size_t)lseek(fd, 0, SEEK_CUR);
    add(fd, STREAM_XENSTORE, "name\0seed\0", 10);
    cuts[ncuts++] = (size_t)lseek(fd, 0, SEEK_CUR);
    add(fd, STREAM_PAGES, pages, sizeof(pages));
    cuts[ncuts++] = (size_t)lseek(fd, 0, SEEK_CUR);
    add(fd, STREAM_VCPU, vcpu, sizeof(vcpu));
    cuts[ncuts++] = (size_t)lseek(fd, 0, SEEK_CUR);
    if (stream_write_end(fd) < 0)
        abort();
    end = lseek(fd, 0, SEEK_CUR);
    seed_len = (size_t)end;
    seed = malloc(seed_len);
    if (!seed || pread(fd, seed, seed_len, 0) != (ssize_t)seed_len)
        abort();
    close(fd);
    LLVMFuzzerTestOneInput(seed, seed_len);
    for (i = 0; i < ncuts; i++) {
        /* cut at the record, inside its head; its type and length
         * damaged */
        LLVMFuzzerTestOneInput(seed, cuts[i]);
        LLVMFuzzerTestOneInput(seed, cuts[i] + 5);
        seed[cuts[i] + 1] ^= 0x10;
        LLVMFuzzerTestOneInput(seed, seed_len);
        seed[cuts[i] + 1] ^= 0x10;
        seed[cuts[i] + 15] ^= 0x80;
        LLVMFuzzerTestOneInput(seed, seed_len);
        seed[cuts[i] + 15] ^= 0x80;
        if (cuts[i] + STREAM_RECORD_HEAD + 3 >= seed_len)
            continue;               /* END: no body */
        /* cut inside its body; its body damaged */
        LLVMFuzzerTestOneInput(seed, cuts[i] + STREAM_RECORD_HEAD + 3);
        seed[cuts[i] + STREAM_RECORD_HEAD] ^= 0xff;
        LLVMFuzzerTestOneInput(seed, seed_len);
        seed[cuts[i] + STREAM_RECORD_HEAD] ^= 0xff;
    }
    LLVMFuzzerTestOneInput(seed, 3);
    free(seed);
}
