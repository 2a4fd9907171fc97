/*
 * check_outq.c: unit tests of xenstored's output queue (outq.c).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "outq.h"

/* A reference copy of everything queued, to compare with. */
static char *ref;
static size_t ref_len;

static void ref_add(const void *p, size_t n)
{
    ref = realloc(ref, ref_len + n);
    ck_assert_ptr_nonnull(ref);
    memcpy(ref + ref_len, p, n);
    ref_len += n;
}

static void fill(char *p, size_t n, unsigned int *seed)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (char)rand_r(seed);
}

static void teardown(void)
{
    free(ref);
    ref = NULL;
    ref_len = 0;
    outq_pool_drain();
}

START_TEST(test_put_peek_consume)
{
    static char a[5000], b[5000];
    static char got[1024 * 1024];
    unsigned int seed = 7, i;
    size_t alen, blen, n;
    struct outq q;

    outq_init(&q);
    for (i = 0; i < 200; i++) {
        alen = (size_t)rand_r(&seed) % 20;
        blen = (size_t)rand_r(&seed) % 4097;
        fill(a, alen, &seed);
        fill(b, blen, &seed);
        ck_assert_int_eq(outq_put(&q, a, alen, blen ? b : NULL, blen), 0);
        ref_add(a, alen);
        ref_add(b, blen);
    }
    ck_assert_uint_eq(q.bytes, ref_len);
    ck_assert_uint_eq(outq_peek(&q, got, sizeof(got)), ref_len);
    ck_assert_mem_eq(got, ref, ref_len);

    /* Consume in odd steps; what remains is always the tail of ref. */
    n = 0;
    while (q.bytes) {
        size_t k = 1 + (size_t)rand_r(&seed) % 30000;

        if (k > q.bytes)
            k = q.bytes;
        outq_consume(&q, k);
        n += k;
        ck_assert_uint_eq(q.bytes, ref_len - n);
        ck_assert_uint_eq(outq_peek(&q, got, 64), q.bytes < 64 ? q.bytes
                                                                : 64);
        if (q.bytes)
            ck_assert_mem_eq(got, ref + n, q.bytes < 64 ? q.bytes : 64);
    }
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
    /* Reusable after draining. */
    ck_assert_int_eq(outq_put(&q, "hello", 5, NULL, 0), 0);
    ck_assert_uint_eq(outq_peek(&q, got, sizeof(got)), 5);
    ck_assert_mem_eq(got, "hello", 5);
    outq_dispose(&q);
    outq_dispose(&q);
    ck_assert_uint_eq(q.bytes, 0);
}
END_TEST

START_TEST(test_empty_put)
{
    struct outq q;
    int sv[2];

    outq_init(&q);
    ck_assert_int_eq(outq_put(&q, NULL, 0, NULL, 0), 0);
    ck_assert_uint_eq(q.bytes, 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(outq_write(&q, sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
    outq_dispose(&q);
}
END_TEST

/* Writes through a small non-blocking socket, reading the other end. */
START_TEST(test_write_partial)
{
    static char msg[4112];
    static char got[2 * 1024 * 1024];
    unsigned int seed = 99, i;
    size_t have = 0;
    int sv[2], sz = 4096, eagain = 0;
    struct outq q;
    ssize_t r;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
                                sizeof(sz)), 0);
    ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    outq_init(&q);
    for (i = 0; i < 400; i++) {
        size_t n = 16 + (size_t)rand_r(&seed) % 4096;

        fill(msg, n, &seed);
        ck_assert_int_eq(outq_put(&q, msg, 16, msg + 16, n - 16), 0);
        ref_add(msg, n);
    }
    while (q.bytes || have < ref_len) {
        /* Twice before reading: the second finds the socket full. */
        for (i = 0; i < 2; i++) {
            r = outq_write(&q, sv[0]);
            if (r == -EAGAIN)
                eagain++;
            else
                ck_assert_int_ge(r, 0);
        }
        for (;;) {
            r = read(sv[1], got + have, sizeof(got) - have);
            if (r <= 0)
                break;
            have += (size_t)r;
        }
    }
    ck_assert_int_gt(eagain, 0);
    ck_assert_uint_eq(have, ref_len);
    ck_assert_mem_eq(got, ref, ref_len);
    close(sv[0]);
    close(sv[1]);
    outq_dispose(&q);
}
END_TEST

START_TEST(test_write_closed_peer)
{
    struct outq q;
    int sv[2];

    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    outq_init(&q);
    ck_assert_int_eq(outq_put(&q, "abc", 3, "def", 3), 0);
    ck_assert_int_eq(outq_write(&q, sv[0]), -EPIPE);
    ck_assert_uint_eq(q.bytes, 6);
    close(sv[0]);
    outq_dispose(&q);
}
END_TEST

static Suite *outq_suite(void)
{
    Suite *s = suite_create("outq");
    TCase *tc = tcase_create("queue");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_put_peek_consume);
    tcase_add_test(tc, test_empty_put);
    tcase_add_test(tc, test_write_partial);
    tcase_add_test(tc, test_write_closed_peer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(outq_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
