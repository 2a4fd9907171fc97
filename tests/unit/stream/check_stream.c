/*
 * check_stream.c - the domain stream (libs/stream): what the writer
 * writes the reader gives back; damaged, truncated and foreign streams
 * are refused with the offset and the reason; xenolith-stream-check
 * ($STREAM_CHECK) agrees on each.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream.h"

static char dir[64], path[128];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/xl-stream.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

static const char config[] = "{\"c_info\": {\"name\": \"g\"}}";

/* Two pages at frames 0x10 and 0x11, filled with 0xa0 and 0xa1. */
static uint8_t *pages_body(uint64_t *len_r)
{
    uint64_t len = 8 + 2 * (8 + STREAM_PAGE_SIZE), n = 2, f[2] = { 0x10,
                                                                0x11 };
    uint8_t *b = malloc(len);

    ck_assert_ptr_nonnull(b);
    memcpy(b, &n, 8);
    memcpy(b + 8, f, 16);
    memset(b + 24, 0xa0, STREAM_PAGE_SIZE);
    memset(b + 24 + STREAM_PAGE_SIZE, 0xa1, STREAM_PAGE_SIZE);
    *len_r = len;
    return b;
}

/* header, DOMAIN_CONFIG, PAGES, VCPU, END; the PAGES record's offset. */
static uint64_t write_good(void)
{
    uint8_t vcpu[12] = { 1, 0, 0, 0, 0, 0, 0, 0, 'r', 'e', 'g', 's' };
    uint64_t plen;
    uint8_t *pages = pages_body(&plen);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    off_t at;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(stream_write_header(fd, STREAM_F_DEVICE_MODEL), 0);
    ck_assert_int_eq(stream_write_record(fd, STREAM_DOMAIN_CONFIG, config,
                                         sizeof(config)), 0);
    at = lseek(fd, 0, SEEK_CUR);
    ck_assert_int_eq(stream_write_record(fd, STREAM_PAGES, pages, plen), 0);
    ck_assert_int_eq(stream_write_record(fd, STREAM_VCPU, vcpu,
                                         sizeof(vcpu)), 0);
    ck_assert_int_eq(stream_write_end(fd), 0);
    close(fd);
    free(pages);
    return (uint64_t)at;
}

/* Reads path to its end: 0, or the first error (r->err kept). */
static int read_all(struct stream_reader *r, int *records_r)
{
    struct stream_header h;
    uint32_t type = 0;
    uint64_t len;
    void *body;
    int fd = open(path, O_RDONLY), rc;

    ck_assert_int_ge(fd, 0);
    stream_reader_init(r, fd);
    *records_r = 0;
    rc = stream_read_header(r, &h);
    while (rc == 0 && type != STREAM_END) {
        rc = stream_read_record(r, &type, &body, &len);
        if (rc == 0) {
            (*records_r)++;
            free(body);
        }
    }
    close(fd);
    return rc;
}

/* Runs the checker on path: its exit status; its stdout and stderr. */
static int checker(char *out, size_t outlen)
{
    const char *tool = getenv("STREAM_CHECK");
    char cmd[512];
    FILE *p;
    size_t n;
    int st;

    ck_assert_msg(tool && access(tool, X_OK) == 0,
                  "STREAM_CHECK (%s) is not the checker", tool);
    snprintf(cmd, sizeof(cmd), "%s %s 2>&1", tool, path);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void flip_byte(uint64_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t b;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)at), 1);
    b ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)at), 1);
    close(fd);
}

START_TEST(test_roundtrip)
{
    struct stream_reader r;
    struct stream_header h;
    const uint64_t *pfns;
    const uint8_t *data;
    uint64_t len, n, plen;
    uint8_t *want = pages_body(&plen);
    uint32_t type;
    void *body;
    struct stat st;
    char out[2048];
    int fd;

    write_good();
    fd = open(path, O_RDONLY);
    stream_reader_init(&r, fd);
    ck_assert_int_eq(stream_read_header(&r, &h), 0);
    ck_assert_uint_eq(h.version, STREAM_VERSION);
    ck_assert_uint_eq(h.flags, STREAM_F_DEVICE_MODEL);
    ck_assert_int_eq(stream_read_record(&r, &type, &body, &len), 0);
    ck_assert_uint_eq(type, STREAM_DOMAIN_CONFIG);
    ck_assert_uint_eq(len, sizeof(config));
    ck_assert_str_eq(body, config);
    free(body);
    /* an odd length is padded: the next record is found all the same */
    ck_assert_int_eq(stream_read_record(&r, &type, &body, &len), 0);
    ck_assert_uint_eq(type, STREAM_PAGES);
    ck_assert_uint_eq(len, plen);
    ck_assert(memcmp(body, want, plen) == 0);
    ck_assert_int_eq(stream_pages(&r, body, len, &n, &pfns, &data), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(pfns[1], 0x11);
    ck_assert_uint_eq(data[STREAM_PAGE_SIZE], 0xa1);
    ck_assert_int_eq(stream_pages(&r, body, len - 1, &n, &pfns, &data),
                     -EPROTO);
    ck_assert_msg(strstr(r.err, "does not hold"), "%s", r.err);
    free(body);
    ck_assert_int_eq(stream_read_record(&r, &type, &body, &len), 0);
    ck_assert_uint_eq(type, STREAM_VCPU);
    free(body);
    ck_assert_int_eq(stream_read_record(&r, &type, &body, &len), 0);
    ck_assert_uint_eq(type, STREAM_END);
    ck_assert_ptr_null(body);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_uint_eq(r.offset, (uint64_t)st.st_size);
    ck_assert_uint_eq(r.offset % 8, 0);
    close(fd);
    free(want);

    ck_assert_int_eq(checker(out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "device-model domain") &&
                  strstr(out, "PAGES") &&
                  strstr(out, "2 pages, frames 0x10..0x11") &&
                  strstr(out, "vCPU 1") &&
                  strstr(out, "4 records") && strstr(out, "undamaged"),
                  "%s", out);
}
END_TEST

START_TEST(test_damaged)
{
    struct stream_reader r;
    uint64_t at = write_good();
    char out[2048], want[64];
    int n;

    /* a byte of the first page: the PAGES record's CRC catches it */
    flip_byte(at + STREAM_RECORD_HEAD + 100);
    ck_assert_int_eq(read_all(&r, &n), -EPROTO);
    ck_assert_int_eq(n, 1);
    snprintf(want, sizeof(want), "offset %llu: PAGES",
             (unsigned long long)at);
    ck_assert_msg(strstr(r.err, want) && strstr(r.err, "damaged"), "%s",
                  r.err);
    ck_assert_int_eq(checker(out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, want) && strstr(out, path), "%s", out);

    /* the record's type: unknown */
    write_good();
    flip_byte(at + 1);
    ck_assert_int_eq(read_all(&r, &n), -EPROTO);
    ck_assert_msg(strstr(r.err, "unknown record type"), "%s", r.err);
    /* its length: far too long */
    write_good();
    flip_byte(at + 8 + 3);
    ck_assert_int_eq(read_all(&r, &n), -EPROTO);
    ck_assert_msg(strstr(r.err, "at most"), "%s", r.err);
}
END_TEST

START_TEST(test_truncated)
{
    struct stream_reader r;
    uint64_t at = write_good();
    struct stat st;
    char out[2048];
    int n;

    ck_assert_int_eq(stat(path, &st), 0);
    /* in the PAGES body */
    ck_assert_int_eq(truncate(path, (off_t)(at + STREAM_RECORD_HEAD +
                                            5000)), 0);
    ck_assert_int_eq(read_all(&r, &n), -EPIPE);
    ck_assert_msg(strstr(r.err, "PAGES record truncated: 5000 of"), "%s",
                  r.err);
    ck_assert_int_eq(checker(out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, "truncated"), "%s", out);
    /* in a record's head */
    write_good();
    ck_assert_int_eq(truncate(path, (off_t)at + 4), 0);
    ck_assert_int_eq(read_all(&r, &n), -EPIPE);
    ck_assert_msg(strstr(r.err, "record's head"), "%s", r.err);
    /* without its END record */
    write_good();
    ck_assert_int_eq(truncate(path, st.st_size - STREAM_RECORD_HEAD), 0);
    ck_assert_int_eq(read_all(&r, &n), -EPIPE);
    ck_assert_int_eq(n, 3);
    ck_assert_msg(strstr(r.err, "without an END"), "%s", r.err);
    /* in the header */
    ck_assert_int_eq(truncate(path, 10), 0);
    ck_assert_int_eq(read_all(&r, &n), -EPROTO);
    ck_assert_msg(strstr(r.err, "shorter than its header"), "%s", r.err);
}
END_TEST

START_TEST(test_foreign)
{
    struct stream_reader r;
    char out[2048];
    int fd, n;

    write_good();
    flip_byte(0);
    ck_assert_int_eq(read_all(&r, &n), -EPROTO);
    ck_assert_msg(strstr(r.err, "not a domain stream"), "%s", r.err);
    ck_assert_int_eq(checker(out, sizeof(out)), 1);
    write_good();
    flip_byte(8);                       /* version 65 */
    ck_assert_int_eq(read_all(&r, &n), -EPROTO);
    ck_assert_msg(strstr(r.err, "stream version 65"), "%s", r.err);
    write_good();
    flip_byte(13);                      /* an unknown flag */
    ck_assert_int_eq(read_all(&r, &n), -EPROTO);
    ck_assert_msg(strstr(r.err, "unknown header flags"), "%s", r.err);

    /* the writer refuses what the reader would */
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(stream_write_record(fd, 99, "x", 1), -EINVAL);
    ck_assert_int_eq(stream_write_record(fd, STREAM_XENSTORE, NULL, 5),
                     -EINVAL);
    ck_assert_int_eq(stream_write_record(fd, STREAM_DM_STATE, "x",
                                         STREAM_MAX_RECORD + 1), -EINVAL);
    close(fd);
    /* no such file */
    unlink(path);
    ck_assert_int_eq(checker(out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, path), "%s", out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("stream");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_damaged);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_foreign);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
