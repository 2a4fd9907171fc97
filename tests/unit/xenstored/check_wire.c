/*
 * check_wire.c: unit tests of xenstored's stream framing (wire.c).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define MAX_MSGS 512

/* What the handler saw, and how it should answer. */
struct seen {
    unsigned int n;
    struct xsd_sockmsg hdr[MAX_MSGS];
    char *payload[MAX_MSGS];
    const char *last_payload_ptr;
    int stop_at;      /* refuse message number stop_at (WIRE_STOP), -1: no */
    int fail_at;      /* fail message number fail_at with -EBADMSG */
};

static int record(void *arg, const struct xsd_sockmsg *hdr,
                  const char *payload)
{
    struct seen *s = arg;

    if ((int)s->n == s->stop_at)
        return WIRE_STOP;
    if ((int)s->n == s->fail_at)
        return -EBADMSG;
    ck_assert_uint_lt(s->n, MAX_MSGS);
    s->hdr[s->n] = *hdr;
    s->payload[s->n] = malloc(hdr->len + 1);
    memcpy(s->payload[s->n], payload, hdr->len);
    s->last_payload_ptr = payload;
    s->n++;
    return WIRE_NEXT;
}

static void seen_init(struct seen *s)
{
    memset(s, 0, sizeof(*s));
    s->stop_at = -1;
    s->fail_at = -1;
}

static void seen_dispose(struct seen *s)
{
    unsigned int i;

    for (i = 0; i < s->n; i++)
        free(s->payload[i]);
    s->n = 0;
}

/* Appends one message to buf at *off. */
static void put_msg(char *buf, size_t *off, uint32_t type, uint32_t req,
                    const void *payload, uint32_t len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = req, .tx_id = 7,
                             .len = len };

    memcpy(buf + *off, &h, sizeof(h));
    *off += sizeof(h);
    memcpy(buf + *off, payload, len);
    *off += len;
}

START_TEST(test_one_message_zero_copy)
{
    char buf[64];
    size_t len = 0;
    struct wire_in w;
    struct seen s;

    seen_init(&s);
    wire_in_init(&w);
    put_msg(buf, &len, XS_READ, 42, "/a/b", 5);
    ck_assert_int_eq(wire_in_feed(&w, buf, len, record, &s), 0);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_uint_eq(s.hdr[0].type, XS_READ);
    ck_assert_uint_eq(s.hdr[0].req_id, 42);
    ck_assert_uint_eq(s.hdr[0].tx_id, 7);
    ck_assert_uint_eq(s.hdr[0].len, 5);
    ck_assert_mem_eq(s.payload[0], "/a/b", 5);
    /* Handed out in place, nothing kept. */
    ck_assert_ptr_eq(s.last_payload_ptr, buf + WIRE_HDR_SIZE);
    ck_assert_uint_eq(wire_in_kept(&w), 0);
    ck_assert_ptr_null(w.buf);
    wire_in_dispose(&w);
    seen_dispose(&s);
}
END_TEST

START_TEST(test_many_in_one_chunk)
{
    static char buf[200 * (WIRE_HDR_SIZE + 8)];
    size_t len = 0;
    struct wire_in w;
    struct seen s;
    unsigned int i;
    char p[8];

    seen_init(&s);
    wire_in_init(&w);
    for (i = 0; i < 200; i++) {
        snprintf(p, sizeof(p), "%u", i);
        put_msg(buf, &len, XS_WRITE, i, p, (uint32_t)strlen(p) + 1);
    }
    ck_assert_int_eq(wire_in_feed(&w, buf, len, record, &s), 0);
    ck_assert_uint_eq(s.n, 200);
    for (i = 0; i < 200; i++) {
        snprintf(p, sizeof(p), "%u", i);
        ck_assert_uint_eq(s.hdr[i].req_id, i);
        ck_assert_str_eq(s.payload[i], p);
    }
    wire_in_dispose(&w);
    seen_dispose(&s);
}
END_TEST

/* A stream of varied messages, fed in chunks of `step` bytes. */
static void feed_in_steps(size_t step)
{
    static char buf[8 * WIRE_MSG_MAX];
    static char big[XENSTORE_PAYLOAD_MAX];
    size_t len = 0, off;
    struct wire_in w;
    struct seen s;
    size_t n;

    memset(big, 'x', sizeof(big));
    seen_init(&s);
    wire_in_init(&w);
    put_msg(buf, &len, XS_READ, 1, "/x", 3);
    put_msg(buf, &len, XS_TRANSACTION_START, 2, "", 0);
    put_msg(buf, &len, XS_WRITE, 3, big, XENSTORE_PAYLOAD_MAX);
    put_msg(buf, &len, 9999, 4, "odd", 3);
    put_msg(buf, &len, XS_WRITE, 5, big, 100);
    put_msg(buf, &len, XS_RM, 6, "/x", 2);

    for (off = 0; off < len; off += n) {
        n = len - off < step ? len - off : step;
        ck_assert_int_eq(wire_in_feed(&w, buf + off, n, record, &s), 0);
    }
    ck_assert_uint_eq(s.n, 6);
    ck_assert_uint_eq(wire_in_kept(&w), 0);
    ck_assert_uint_eq(s.hdr[1].len, 0);
    ck_assert_uint_eq(s.hdr[2].len, XENSTORE_PAYLOAD_MAX);
    ck_assert_mem_eq(s.payload[2], big, XENSTORE_PAYLOAD_MAX);
    ck_assert_uint_eq(s.hdr[3].type, 9999);
    ck_assert_mem_eq(s.payload[3], "odd", 3);
    ck_assert_mem_eq(s.payload[5], "/x", 2);
    for (n = 0; n < 6; n++)
        ck_assert_uint_eq(s.hdr[n].req_id, n + 1);
    wire_in_dispose(&w);
    seen_dispose(&s);
}

START_TEST(test_split_anywhere)
{
    static const size_t steps[] = { 1, 2, 3, 7, 15, 16, 17, 100, 4095,
                                    4096, 4111, 4112, 4113, 9000 };

    feed_in_steps(steps[_i]);
}
END_TEST

START_TEST(test_random_chunks)
{
    static char buf[300 * 600];
    char payload[600];
    size_t len = 0, off, n, plen;
    struct wire_in w;
    struct seen s;
    unsigned int i, seed = 12345 + (unsigned int)_i;

    seen_init(&s);
    wire_in_init(&w);
    for (i = 0; i < 250; i++) {
        plen = (size_t)rand_r(&seed) % 580;
        memset(payload, 'a' + (int)(i % 26), plen);
        put_msg(buf, &len, (uint32_t)rand_r(&seed) % 30, i, payload,
                (uint32_t)plen);
    }
    for (off = 0; off < len; off += n) {
        n = 1 + (size_t)rand_r(&seed) % 2000;
        if (n > len - off)
            n = len - off;
        ck_assert_int_eq(wire_in_feed(&w, buf + off, n, record, &s), 0);
    }
    ck_assert_uint_eq(s.n, 250);
    for (i = 0; i < 250; i++) {
        ck_assert_uint_eq(s.hdr[i].req_id, i);
        if (s.hdr[i].len)
            ck_assert_int_eq(s.payload[i][0], 'a' + (int)(i % 26));
    }
    wire_in_dispose(&w);
    seen_dispose(&s);
}
END_TEST

START_TEST(test_oversized_header)
{
    struct xsd_sockmsg h = { .type = XS_WRITE, .req_id = 1,
                             .len = XENSTORE_PAYLOAD_MAX + 1 };
    struct wire_in w;
    struct seen s;

    /* Refused from the header alone, in one chunk ... */
    seen_init(&s);
    wire_in_init(&w);
    ck_assert_int_eq(wire_in_feed(&w, (char *)&h, sizeof(h), record, &s),
                     -EPROTO);
    ck_assert_uint_eq(w.bad_len, XENSTORE_PAYLOAD_MAX + 1);
    ck_assert_uint_eq(s.n, 0);
    wire_in_dispose(&w);

    /* ... or split, after a good message. */
    wire_in_init(&w);
    {
        char buf[64];
        size_t len = 0;

        put_msg(buf, &len, XS_READ, 9, "/", 2);
        memcpy(buf + len, &h, sizeof(h));
        len += sizeof(h);
        ck_assert_int_eq(wire_in_feed(&w, buf, len - 5, record, &s), 0);
        ck_assert_uint_eq(s.n, 1);
        ck_assert_int_eq(wire_in_feed(&w, buf + len - 5, 5, record, &s),
                         -EPROTO);
    }
    wire_in_dispose(&w);

    /* A huge length is refused too (no overflow). */
    h.len = UINT32_MAX;
    wire_in_init(&w);
    ck_assert_int_eq(wire_in_feed(&w, (char *)&h, 10, record, &s), 0);
    ck_assert_int_eq(wire_in_feed(&w, (char *)&h + 10, 6, record, &s),
                     -EPROTO);
    ck_assert_uint_eq(w.bad_len, UINT32_MAX);
    wire_in_dispose(&w);
    seen_dispose(&s);
}
END_TEST

START_TEST(test_stop_and_resume)
{
    char buf[20 * 64];
    size_t len = 0;
    struct wire_in w;
    struct seen s;
    unsigned int i;

    seen_init(&s);
    wire_in_init(&w);
    for (i = 0; i < 10; i++)
        put_msg(buf, &len, XS_READ, i, "/p", 3);
    s.stop_at = 3;
    /* Feed all but half a message: 3 handled, the rest kept. */
    ck_assert_int_eq(wire_in_feed(&w, buf, len - 10, record, &s),
                     WIRE_STOP);
    ck_assert_uint_eq(s.n, 3);
    ck_assert(wire_in_held(&w));
    ck_assert_uint_eq(wire_in_kept(&w), len - 10 - 3 * (WIRE_HDR_SIZE + 3));

    /* Still refusing: more bytes are kept, nothing handed out. */
    ck_assert_int_eq(wire_in_feed(&w, buf + len - 10, 4, record, &s),
                     WIRE_STOP);
    ck_assert_uint_eq(s.n, 3);

    /* Taking again: a retry with no new bytes hands out the held ones. */
    s.stop_at = 7;
    ck_assert_int_eq(wire_in_feed(&w, NULL, 0, record, &s), WIRE_STOP);
    ck_assert_uint_eq(s.n, 7);
    s.stop_at = -1;
    ck_assert_int_eq(wire_in_feed(&w, NULL, 0, record, &s), 0);
    ck_assert(!wire_in_held(&w));
    ck_assert_uint_eq(s.n, 9);
    ck_assert_int_eq(wire_in_feed(&w, buf + len - 6, 6, record, &s), 0);
    ck_assert_uint_eq(s.n, 10);
    ck_assert_uint_eq(wire_in_kept(&w), 0);
    for (i = 0; i < 10; i++)
        ck_assert_uint_eq(s.hdr[i].req_id, i);
    wire_in_dispose(&w);
    seen_dispose(&s);
}
END_TEST

START_TEST(test_stop_on_straddling_message)
{
    char buf[4 * 64];
    size_t len = 0;
    struct wire_in w;
    struct seen s;

    seen_init(&s);
    wire_in_init(&w);
    put_msg(buf, &len, XS_READ, 0, "/aaaa", 6);
    put_msg(buf, &len, XS_READ, 1, "/bbbb", 6);
    put_msg(buf, &len, XS_READ, 2, "/cccc", 6);
    /* Message 0 straddles two chunks and is refused when complete. */
    s.stop_at = 0;
    ck_assert_int_eq(wire_in_feed(&w, buf, 10, record, &s), 0);
    ck_assert_int_eq(wire_in_feed(&w, buf + 10, len - 10, record, &s),
                     WIRE_STOP);
    ck_assert_uint_eq(wire_in_kept(&w), len);
    s.stop_at = -1;
    ck_assert_int_eq(wire_in_feed(&w, NULL, 0, record, &s), 0);
    ck_assert_uint_eq(s.n, 3);
    ck_assert_str_eq(s.payload[2], "/cccc");
    wire_in_dispose(&w);
    seen_dispose(&s);
}
END_TEST

START_TEST(test_handler_error)
{
    char buf[4 * 64];
    size_t len = 0;
    struct wire_in w;
    struct seen s;

    seen_init(&s);
    wire_in_init(&w);
    put_msg(buf, &len, XS_READ, 0, "/a", 3);
    put_msg(buf, &len, XS_READ, 1, "/b", 3);
    s.fail_at = 1;
    ck_assert_int_eq(wire_in_feed(&w, buf, len, record, &s), -EBADMSG);
    ck_assert_uint_eq(s.n, 1);
    wire_in_dispose(&w);
    wire_in_dispose(&w);
    seen_dispose(&s);
}
END_TEST

START_TEST(test_type_names)
{
    ck_assert_str_eq(wire_type_name(XS_READ), "READ");
    ck_assert_str_eq(wire_type_name(XS_CONTROL), "CONTROL");
    ck_assert_str_eq(wire_type_name(XS_DIRECTORY_PART), "DIRECTORY_PART");
    ck_assert_str_eq(wire_type_name(XS_SET_TARGET + 1), "UNKNOWN");
    ck_assert_str_eq(wire_type_name(XS_TYPE_COUNT), "UNKNOWN");
    ck_assert_str_eq(wire_type_name(XS_INVALID), "UNKNOWN");
    ck_assert(wire_type_valid(XS_WATCH_EVENT));
    ck_assert(!wire_type_valid(XS_SET_TARGET + 1));
    ck_assert(!wire_type_valid(0xffffffffu));
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("framing");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_one_message_zero_copy);
    tcase_add_test(tc, test_many_in_one_chunk);
    tcase_add_loop_test(tc, test_split_anywhere, 0, 14);
    tcase_add_loop_test(tc, test_random_chunks, 0, 20);
    tcase_add_test(tc, test_oversized_header);
    tcase_add_test(tc, test_stop_and_resume);
    tcase_add_test(tc, test_stop_on_straddling_message);
    tcase_add_test(tc, test_handler_error);
    tcase_add_test(tc, test_type_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wire_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
