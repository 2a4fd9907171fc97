/*
 * check_xs_proto.c: libxenstore against a scripted fake daemon, for the
 * protocol cases a correct daemon rarely produces: replies out of order,
 * error names, a directory that changes between parts, broken and
 * closed connections.  Each test runs a server thread on a unix socket in
 * a temporary directory and points XENSTORED_PATH at it.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenstore.h>

#include "xs_api_compat.h"

struct req {
    struct xsd_sockmsg hdr;
    char body[XENSTORE_PAYLOAD_MAX + 1];
};

typedef void (*script_fn)(int fd);

struct server {
    char dir[64];
    char path[128];
    int lfd;
    script_fn script;
    pthread_t thr;
};

static bool read_full(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len) {
        ssize_t n = read(fd, p, len);

        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads one request; false when the client went away. */
static bool srv_recv(int fd, struct req *r)
{
    if (!read_full(fd, &r->hdr, sizeof(r->hdr)))
        return false;
    if (r->hdr.len > XENSTORE_PAYLOAD_MAX)
        return false;
    if (!read_full(fd, r->body, r->hdr.len))
        return false;
    r->body[r->hdr.len] = '\0';
    return true;
}

static void srv_send(int fd, uint32_t type, uint32_t req_id,
                     const void *body, uint32_t len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = req_id, .len = len };
    ssize_t n;

    n = write(fd, &h, sizeof(h));
    if (len)
        n = write(fd, body, len);
    (void)n;
}

static void srv_reply_str(int fd, const struct req *r, const char *s)
{
    srv_send(fd, r->hdr.type, r->hdr.req_id, s, (uint32_t)strlen(s) + 1);
}

static void srv_error(int fd, const struct req *r, const char *name)
{
    srv_send(fd, XS_ERROR, r->hdr.req_id, name, (uint32_t)strlen(name) + 1);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);

    if (fd >= 0) {
        s->script(fd);
        close(fd);
    }
    return NULL;
}

static struct server srv;

static void server_start(script_fn script)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    snprintf(srv.dir, sizeof(srv.dir), "/tmp/xs-proto-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(srv.dir));
    snprintf(srv.path, sizeof(srv.path), "%s/socket", srv.dir);
    srv.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(srv.lfd, 0);
    strcpy(addr.sun_path, srv.path);
    ck_assert_int_eq(bind(srv.lfd, (struct sockaddr *)&addr, sizeof(addr)),
                     0);
    ck_assert_int_eq(listen(srv.lfd, 4), 0);
    srv.script = script;
    ck_assert_int_eq(pthread_create(&srv.thr, NULL, server_main, &srv), 0);
    setenv("XENSTORED_PATH", srv.path, 1);
}

static void server_stop(void)
{
    pthread_join(srv.thr, NULL);
    close(srv.lfd);
    unlink(srv.path);
    rmdir(srv.dir);
}

/* -------------------------------------------------- out-of-order replies */

/* Collects three requests, answers them last first. */
static void script_reverse(int fd)
{
    static struct req r[3];
    int i;

    for (i = 0; i < 3; i++)
        if (!srv_recv(fd, &r[i]))
            return;
    for (i = 2; i >= 0; i--) {
        char val[64];

        /* Echo the path as the value so callers can check. */
        snprintf(val, sizeof(val), "value-of-%s", r[i].body);
        srv_send(fd, XS_READ, r[i].hdr.req_id, val, (uint32_t)strlen(val));
    }
    while (srv_recv(fd, &r[0]))
        continue;
}

struct reader_arg {
    struct xs_handle *h;
    const char *path;
    char *got;
};

static void *reader(void *arg)
{
    struct reader_arg *a = arg;

    a->got = xs_read(a->h, XBT_NULL, a->path, NULL);
    return NULL;
}

START_TEST(test_replies_out_of_order)
{
    struct reader_arg a[3] = {
        { .path = "/one" }, { .path = "/two" }, { .path = "/three" },
    };
    pthread_t thr[3];
    struct xs_handle *h;
    int i;

    server_start(script_reverse);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    for (i = 0; i < 3; i++) {
        a[i].h = h;
        ck_assert_int_eq(pthread_create(&thr[i], NULL, reader, &a[i]), 0);
    }
    for (i = 0; i < 3; i++) {
        char want[64];

        pthread_join(thr[i], NULL);
        snprintf(want, sizeof(want), "value-of-%s", a[i].path);
        ck_assert_ptr_nonnull(a[i].got);
        ck_assert_str_eq(a[i].got, want);
        free(a[i].got);
    }
    xs_close(h);
    server_stop();
}
END_TEST

/* ------------------------------------------------------------ errors */

static const char *const error_names[] = {
    "EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC",
    "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN",
    "E2BIG", "EPERM", "EWHATEVER",
};
static const int error_values[] = {
    EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO,
    ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM, EINVAL,
};

static void script_errors(int fd)
{
    struct req r;
    size_t i;

    for (i = 0; i < sizeof(error_names) / sizeof(error_names[0]); i++) {
        if (!srv_recv(fd, &r))
            return;
        srv_error(fd, &r, error_names[i]);
    }
    while (srv_recv(fd, &r))
        srv_reply_str(fd, &r, "OK");
}

START_TEST(test_error_names)
{
    struct xs_handle *h;
    size_t i;

    server_start(script_errors);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    for (i = 0; i < sizeof(error_names) / sizeof(error_names[0]); i++) {
        errno = 0;
        ck_assert(!xs_mkdir(h, XBT_NULL, "/x"));
        ck_assert_msg(errno == error_values[i], "%s gave errno %d",
                      error_names[i], errno);
    }
    /* Errors leave the connection usable. */
    ck_assert(xs_mkdir(h, XBT_NULL, "/x"));
    xs_close(h);
    server_stop();
}
END_TEST

/* ------------------------------------------------------- broken streams */

static void script_close_after_one(int fd)
{
    struct req r;

    if (srv_recv(fd, &r))
        srv_reply_str(fd, &r, "OK");
    if (srv_recv(fd, &r))
        return; /* close without replying */
}

START_TEST(test_connection_closed)
{
    struct xs_handle *h;
    unsigned int n;

    server_start(script_close_after_one);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    ck_assert(xs_mkdir(h, XBT_NULL, "/x"));
    errno = 0;
    ck_assert_ptr_null(xs_read(h, XBT_NULL, "/x", &n));
    ck_assert_int_eq(errno, EBADF);
    /* Later calls fail at once instead of waiting forever. */
    errno = 0;
    ck_assert(!xs_write(h, XBT_NULL, "/x", "1", 1));
    ck_assert_int_eq(errno, EBADF);
    xs_close(h);
    server_stop();
}
END_TEST

static void script_wrong_type(int fd)
{
    struct req r;

    if (srv_recv(fd, &r))
        srv_send(fd, XS_WRITE, r.hdr.req_id, "OK", 3);
    while (srv_recv(fd, &r))
        srv_reply_str(fd, &r, "OK");
}

START_TEST(test_wrong_reply_type)
{
    struct xs_handle *h;

    server_start(script_wrong_type);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    errno = 0;
    ck_assert_ptr_null(xs_read(h, XBT_NULL, "/x", NULL));
    ck_assert_int_eq(errno, EBADF);
    errno = 0;
    ck_assert(!xs_mkdir(h, XBT_NULL, "/x"));
    ck_assert_int_eq(errno, EBADF);
    xs_close(h);
    server_stop();
}
END_TEST

static void script_oversized(int fd)
{
    struct req r;
    struct xsd_sockmsg hdr = { .type = XS_READ };
    ssize_t n;

    if (!srv_recv(fd, &r))
        return;
    hdr.req_id = r.hdr.req_id;
    hdr.len = XENSTORE_PAYLOAD_MAX + 1;
    n = write(fd, &hdr, sizeof(hdr));
    (void)n;
    while (srv_recv(fd, &r))
        continue;
}

START_TEST(test_oversized_reply)
{
    struct xs_handle *h;

    server_start(script_oversized);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    errno = 0;
    ck_assert_ptr_null(xs_read(h, XBT_NULL, "/x", NULL));
    ck_assert_int_eq(errno, E2BIG);
    xs_close(h);
    server_stop();
}
END_TEST

static void script_unknown_req_id(int fd)
{
    struct req r;

    if (srv_recv(fd, &r))
        srv_send(fd, XS_READ, r.hdr.req_id + 1000, "v", 1);
    while (srv_recv(fd, &r))
        continue;
}

START_TEST(test_reply_unknown_req_id)
{
    struct xs_handle *h;

    server_start(script_unknown_req_id);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    errno = 0;
    ck_assert_ptr_null(xs_read(h, XBT_NULL, "/x", NULL));
    ck_assert_int_eq(errno, EBADF);
    xs_close(h);
    server_stop();
}
END_TEST

/* ------------------------------------------------------- watch events */

/* Sends an event before each reply, then closes after the unwatch. */
static void script_events(int fd)
{
    static const char ev[] = "/w/x\0tok";
    struct req r;

    while (srv_recv(fd, &r)) {
        srv_send(fd, XS_WATCH_EVENT, 0, ev, sizeof(ev));
        srv_reply_str(fd, &r, "OK");
        if (r.hdr.type == XS_UNWATCH)
            return;
    }
}

START_TEST(test_events_and_close)
{
    struct xs_handle *h;
    unsigned int num;
    char **v;

    server_start(script_events);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    ck_assert(xs_watch(h, "/w", "tok"));
    v = xs_read_watch(h, &num);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(num, 2);
    ck_assert_str_eq(v[XS_WATCH_PATH], "/w/x");
    ck_assert_str_eq(v[XS_WATCH_TOKEN], "tok");
    free(v);
    ck_assert(xs_mkdir(h, XBT_NULL, "/w"));
    v = xs_check_watch(h);
    ck_assert_ptr_nonnull(v);
    free(v);
    ck_assert(xs_unwatch(h, "/w", "tok"));
    v = xs_read_watch(h, &num); /* the event sent before the reply */
    ck_assert_ptr_nonnull(v);
    free(v);
    /* The server is gone: a blocked reader returns instead of hanging. */
    errno = 0;
    ck_assert_ptr_null(xs_read_watch(h, &num));
    ck_assert_int_eq(errno, EBADF);
    xs_close(h);
    server_stop();
}
END_TEST

/* ------------------------------------------------------ directory parts */

static int part_requests;

/*
 * DIRECTORY answers E2BIG.  Parts come two names at a time; after the
 * first part the generation changes once, so the client must start over.
 */
static void script_dir_parts(int fd)
{
    static const char names[] = "aa\0bb\0cc\0dd\0ee";
    struct req r;

    while (srv_recv(fd, &r)) {
        const char *off_s, *gen;
        unsigned int off, end, n;
        char reply[128];

        if (r.hdr.type == XS_DIRECTORY) {
            srv_error(fd, &r, "E2BIG");
            continue;
        }
        if (r.hdr.type != XS_DIRECTORY_PART) {
            srv_error(fd, &r, "EINVAL");
            continue;
        }
        part_requests++;
        off_s = r.body + strlen(r.body) + 1;
        off = (unsigned int)atoi(off_s);
        gen = part_requests == 1 ? "7" : "8";
        n = (unsigned int)strlen(gen) + 1;
        memcpy(reply, gen, n);
        /* Two names from `off` (each name is 3 bytes with its NUL). */
        end = off + 6 > sizeof(names) ? (unsigned int)sizeof(names)
                                      : off + 6;
        memcpy(reply + n, names + off, end - off);
        n += end - off;
        if (end == sizeof(names))
            reply[n++] = '\0'; /* the empty name that ends the list */
        srv_send(fd, XS_DIRECTORY_PART, r.hdr.req_id, reply, n);
    }
}

START_TEST(test_directory_parts_restart)
{
    static const char *const want[] = { "aa", "bb", "cc", "dd", "ee" };
    struct xs_handle *h;
    unsigned int num, i;
    char **d;

    server_start(script_dir_parts);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    d = xs_directory(h, XBT_NULL, "/big", &num);
    ck_assert_msg(d != NULL, "%s", strerror(errno));
    ck_assert_uint_eq(num, 5);
    for (i = 0; i < num; i++)
        ck_assert_str_eq(d[i], want[i]);
    free(d);
    /* One part of generation 7, one that shows 8, then 3 parts of 8. */
    ck_assert_int_eq(part_requests, 5);
    xs_close(h);
    server_stop();
}
END_TEST

static void script_no_parts(int fd)
{
    struct req r;

    while (srv_recv(fd, &r))
        srv_error(fd, &r, r.hdr.type == XS_DIRECTORY ? "E2BIG" : "ENOSYS");
}

START_TEST(test_directory_parts_unsupported)
{
    struct xs_handle *h;
    unsigned int num;

    server_start(script_no_parts);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    errno = 0;
    ck_assert_ptr_null(xs_directory(h, XBT_NULL, "/big", &num));
    ck_assert_int_eq(errno, E2BIG);
    xs_close(h);
    server_stop();
}
END_TEST

/* ---------------------------------------------------------- wire format */

static struct req seen[8];
static int nseen;

static void script_record(int fd)
{
    struct req r;

    while (nseen < 8 && srv_recv(fd, &r)) {
        seen[nseen++] = r;
        switch (r.hdr.type) {
        case XS_TRANSACTION_START:
            srv_reply_str(fd, &r, "42");
            break;
        case XS_IS_DOMAIN_INTRODUCED:
            srv_reply_str(fd, &r, "F");
            break;
        default:
            srv_reply_str(fd, &r, "OK");
            break;
        }
    }
}

START_TEST(test_wire_format)
{
    struct xs_permissions p[2] = { { 1, XS_PERM_NONE }, { 2, XS_PERM_READ } };
    struct xs_handle *h;

    server_start(script_record);
    h = xs_open(0);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(xs_transaction_start(h), 42);
    ck_assert(xs_write(h, 42, "/a", "val", 3));
    ck_assert(xs_set_permissions(h, 42, "/a", p, 2));
    ck_assert(xs_transaction_end(h, 42, true));
    ck_assert(xs_introduce_domain(h, 3, 0x12345678UL, 9));
    ck_assert(!xs_is_domain_introduced(h, 3));
    ck_assert(xs_set_target(h, 3, 4));
    ck_assert(xs_watch(h, "/w", "tk"));
    xs_close(h);
    server_stop();

    ck_assert_int_eq(nseen, 8);
    ck_assert_uint_eq(seen[0].hdr.type, XS_TRANSACTION_START);
    ck_assert_uint_eq(seen[0].hdr.len, 1);
    ck_assert_uint_eq(seen[1].hdr.type, XS_WRITE);
    ck_assert_uint_eq(seen[1].hdr.tx_id, 42);
    ck_assert_uint_eq(seen[1].hdr.len, 6);
    ck_assert_mem_eq(seen[1].body, "/a\0val", 6);
    ck_assert_uint_eq(seen[2].hdr.type, XS_SET_PERMS);
    ck_assert_uint_eq(seen[2].hdr.len, 9);
    ck_assert_mem_eq(seen[2].body, "/a\0n1\0r2\0", 9);
    ck_assert_uint_eq(seen[3].hdr.type, XS_TRANSACTION_END);
    ck_assert_str_eq(seen[3].body, "F");
    ck_assert_uint_eq(seen[4].hdr.type, XS_INTRODUCE);
    ck_assert_mem_eq(seen[4].body, "3\0" "305419896\0" "9\0", 14);
    ck_assert_uint_eq(seen[5].hdr.type, XS_IS_DOMAIN_INTRODUCED);
    ck_assert_str_eq(seen[5].body, "3");
    ck_assert_uint_eq(seen[6].hdr.type, XS_SET_TARGET);
    ck_assert_mem_eq(seen[6].body, "3\0" "4\0", 4);
    ck_assert_uint_eq(seen[7].hdr.type, XS_WATCH);
    ck_assert_mem_eq(seen[7].body, "/w\0tk\0", 6);
    /* Request ids differ. */
    ck_assert_uint_ne(seen[0].hdr.req_id, seen[1].hdr.req_id);
}
END_TEST

/* The whole Xen 4.17 API is declared alike and linked (xs_api_compat.c). */
START_TEST(test_api_complete)
{
    unsigned int i;

    ck_assert(xs_compat_headers_ok());
    ck_assert_uint_eq(xs_api_compat_count, 38);
    for (i = 0; i < xs_api_compat_count; i++)
        ck_assert_ptr_nonnull(xs_api_compat_table[i]);
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("xenstore-proto");
    TCase *tc = tcase_create("fake-daemon");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_replies_out_of_order);
    tcase_add_test(tc, test_error_names);
    tcase_add_test(tc, test_connection_closed);
    tcase_add_test(tc, test_wrong_reply_type);
    tcase_add_test(tc, test_oversized_reply);
    tcase_add_test(tc, test_reply_unknown_req_id);
    tcase_add_test(tc, test_events_and_close);
    tcase_add_test(tc, test_directory_parts_restart);
    tcase_add_test(tc, test_directory_parts_unsupported);
    tcase_add_test(tc, test_wire_format);
    tcase_add_test(tc, test_api_complete);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proto_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
