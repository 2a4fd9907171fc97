/*
 * check_compat.c: the engine against Xen 4.17's own xenstored.
 *
 * An optional comparison: when the xs-anchor tool (Debian's real
 * xenstored on a unix socket) is found, the same request sequence goes to
 * both and every reply and watch event must match byte for byte, in order
 * (DIRECTORY_PART generations aside).  Without the tool the test is
 * skipped (exit 77).  $XS_ANCHOR names the tool's run-real-xenstored;
 * $XS_COMPAT_SEED and $XS_COMPAT_STEPS vary the random part.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine.h"

#define DEFAULT_ANCHOR "/work/shared/tools/xs-anchor/run-real-xenstored"

struct msg {
    uint32_t type, tx;
    const char *p;
    size_t len;
};

#define R(type, tx, lit) { (type), (tx), (lit), sizeof(lit) - 1 }

static const struct msg seq[] = {
    R(XS_READ, 0, "/\0"), R(XS_DIRECTORY, 0, "/\0"),
    R(XS_GET_PERMS, 0, "/tool\0"), R(25, 0, "/\0"), R(20, 0, "/\0"),
    R(XS_READ, 0, "/nonexist\0"), R(XS_READ, 0, "rel\0"),
    R(XS_WRITE, 0, "rel/x\0val"), R(XS_DIRECTORY, 0, "/local/domain/0\0"),
    R(XS_READ, 0, "/a/\0"), R(XS_READ, 0, "//a\0"), R(XS_READ, 0, "/a b\0"),
    R(XS_READ, 0, "/\0junk"), R(XS_READ, 0, "/a"), R(XS_READ, 0, "\0"),
    R(XS_READ, 0, "@foo\0"), R(XS_RM, 0, "/nonexist\0"),
    R(XS_RM, 0, "/nonexist/sub\0"), R(XS_RM, 0, "/\0"),
    R(XS_MKDIR, 0, "/tool\0"), R(XS_MKDIR, 0, "/m/n/o\0"),
    R(XS_SET_PERMS, 0, "/m\0b5\0r7\0"), R(XS_GET_PERMS, 0, "/m\0"),
    R(XS_SET_PERMS, 0, "/m\0x5\0"), R(XS_SET_PERMS, 0, "/m\0b5x\0"),
    R(XS_SET_PERMS, 0, "/m\0\0"), R(XS_SET_PERMS, 0, "/m\0"),
    R(XS_SET_PERMS, 0, "/m\0b0x10\0"), R(XS_SET_PERMS, 0, "/none\0b0\0"),
    R(XS_SET_PERMS, 0, "@introduceDomain\0n0\0"),
    R(XS_SET_PERMS, 0, "@bogus\0n0\0"), R(XS_GET_PERMS, 0, "@x\0"),
    R(XS_DIRECTORY_PART, 0, "/\0"), R(XS_DIRECTORY_PART, 0, "/\0" "0\0"),
    R(XS_DIRECTORY_PART, 0, "/\0" "100\0"),
    R(XS_DIRECTORY_PART, 0, "/m\0" "2\0"),
    R(XS_GET_DOMAIN_PATH, 0, "7\0"), R(XS_GET_DOMAIN_PATH, 0, "7"),
    R(XS_IS_DOMAIN_INTRODUCED, 0, "7\0"),
    R(XS_IS_DOMAIN_INTRODUCED, 0, "0\0"), R(XS_RELEASE, 0, "0\0"),
    R(XS_RELEASE, 0, "7\0"), R(XS_RESUME, 0, "7\0"),
    R(XS_SET_TARGET, 0, "7\0" "0\0"), R(XS_SET_TARGET, 0, "7\0"),
    R(XS_INTRODUCE, 0, "5\0" "1\0" "0\0"),
    R(XS_TRANSACTION_END, 0, "T\0"), R(XS_TRANSACTION_END, 5, "T\0"),
    R(XS_READ, 5, "/\0"),
    /* Watches and events. */
    R(XS_WATCH, 0, "/wt\0" "A\0"), R(XS_WATCH, 0, "/wt/a/b\0" "B\0"),
    R(XS_WATCH, 0, "/\0" "ROOT\0"), R(XS_WATCH, 0, "/wt\0" "A\0"),
    R(XS_WATCH, 0, "/wt\0" "A"), R(XS_WATCH, 0, "/w\0t\0x\0"),
    R(XS_WATCH, 0, "rel\0" "R\0"), R(XS_WATCH, 0, "@releaseDomain\0S\0"),
    R(XS_WRITE, 0, "/wt/a/b/c\0" "1"), R(XS_WRITE, 0, "/wt/a/b/c\0" "1"),
    R(XS_MKDIR, 0, "/wt/a/b/c\0"), R(XS_MKDIR, 0, "/wt/new\0"),
    R(XS_SET_PERMS, 0, "/wt/a\0r0\0"), R(XS_WRITE, 0, "rel/y\0" "2"),
    R(XS_RM, 0, "/wt/a\0"), R(XS_UNWATCH, 0, "/wt\0nope\0"),
    R(XS_UNWATCH, 0, "rel\0" "R\0"), R(XS_UNWATCH, 0, "/\0"),
    /* Transactions (ids 1, 2, ...). */
    R(XS_TRANSACTION_START, 0, "\0"), R(XS_TRANSACTION_START, 0, "\0"),
    R(XS_TRANSACTION_START, 1, "\0"),
    R(XS_WRITE, 1, "/wt/t1\0x"), R(XS_WRITE, 2, "/wt/t2\0y"),
    R(XS_READ, 1, "/wt/t2\0"), R(XS_DIRECTORY, 1, "/wt\0"),
    R(XS_DIRECTORY, 2, "/wt\0"), R(XS_TRANSACTION_END, 1, "X\0"),
    R(XS_TRANSACTION_END, 1, "T"), R(XS_TRANSACTION_END, 1, "T\0"),
    R(XS_TRANSACTION_END, 2, "T\0"), R(XS_TRANSACTION_END, 2, "T\0"),
    R(XS_TRANSACTION_START, 0, "\0"), R(XS_READ, 3, "/wt/t1\0"),
    R(XS_WRITE, 0, "/wt/t1\0changed"), R(XS_WRITE, 3, "/wt/t9\0z"),
    R(XS_TRANSACTION_END, 3, "T\0"),
    R(XS_TRANSACTION_START, 0, "\0"), R(XS_RM, 4, "/wt\0"),
    R(XS_DIRECTORY, 4, "/wt\0"), R(XS_READ, 4, "/wt/t1\0"),
    R(XS_TRANSACTION_END, 4, "T\0"), R(XS_READ, 0, "/wt\0"),
    R(XS_TRANSACTION_START, 0, "\0"), R(XS_WRITE, 5, "/new/deep/n\0q"),
    R(XS_MKDIR, 5, "/new/deep2\0"), R(XS_TRANSACTION_END, 5, "T\0"),
    R(XS_DIRECTORY, 0, "/new\0"), R(XS_GET_PERMS, 0, "/new/deep\0"),
    R(XS_TRANSACTION_START, 0, "\0"), R(XS_RM, 6, "/nothere\0"),
    R(XS_RM, 6, "/nothere/x\0"), R(XS_TRANSACTION_END, 6, "F\0"),
    R(XS_RESET_WATCHES, 0, "\0"), R(XS_WRITE, 0, "/wt/quiet\0" "1"),
    /* CONTROL. */
    R(XS_CONTROL, 0, "quota\0set\0nodes\0" "0\0"),
    R(XS_CONTROL, 0, "quota\0set\0bogus\0" "5\0"),
    R(XS_CONTROL, 0, "nope\0"), R(XS_CONTROL, 0, "print\0hi\0"),
    R(XS_CONTROL, 0, "print\0"), R(XS_CONTROL, 0, "check\0"),
    R(XS_CONTROL, 0, "check\0x\0"), R(XS_CONTROL, 0, "quota-soft\0"),
};

/* The reply and events of one request, as one comparable byte string. */
struct out {
    char buf[65536];
    size_t len;
};

static void out_add(struct out *o, const struct xsd_sockmsg *hdr,
                    const void *p)
{
    const char *payload = p;
    size_t len = hdr->len;

    if (hdr->type == XS_DIRECTORY_PART) {
        /* Generations differ between two stores: drop them. */
        const char *nul = memchr(payload, '\0', len);

        if (nul) {
            len -= (size_t)(nul + 1 - payload);
            payload = nul + 1;
        }
    }
    ck_assert_uint_lt(o->len + 8 + len, sizeof(o->buf));
    memcpy(o->buf + o->len, &hdr->type, 4);
    memcpy(o->buf + o->len + 4, &len, 4);
    memcpy(o->buf + o->len + 8, payload, len);
    o->len += 8 + len;
}

static int sock;
static const char *anchor;
static char dir[] = "/tmp/xs-compat-XXXXXX";

static void sock_send(uint32_t type, uint32_t req, uint32_t tx,
                      const char *p, size_t len)
{
    struct xsd_sockmsg hdr = { type, req, tx, (uint32_t)len };

    ck_assert_int_eq(write(sock, &hdr, sizeof(hdr)), (int)sizeof(hdr));
    if (len)
        ck_assert_int_eq(write(sock, p, len), (int)len);
}

static void read_full(void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = read(sock, (char *)buf + got, len - got);

        ck_assert_int_gt(r, 0);
        got += (size_t)r;
    }
}

/* Xen: request, then a marker request; all up to the marker's reply. */
static void xen_call(const struct msg *m, struct out *o)
{
    static char p[XENSTORE_PAYLOAD_MAX];
    struct xsd_sockmsg hdr;

    sock_send(m->type, 1, m->tx, m->p, m->len);
    sock_send(XS_GET_DOMAIN_PATH, 0xfeed, 0, "1", 2);
    for (;;) {
        read_full(&hdr, sizeof(hdr));
        ck_assert_uint_le(hdr.len, sizeof(p));
        read_full(p, hdr.len);
        if (hdr.req_id == 0xfeed && hdr.type == XS_GET_DOMAIN_PATH)
            break;
        out_add(o, &hdr, p);
    }
}

static struct out *cur;

static int eng_send(void *conn_opaque, const struct xsd_sockmsg *hdr,
                    const void *payload)
{
    (void)conn_opaque;
    out_add(cur, hdr, payload);
    return 0;
}

static void dump(const char *who, const struct out *o)
{
    size_t i;

    fprintf(stderr, "  %s:", who);
    for (i = 0; i < o->len; i++) {
        unsigned char ch = (unsigned char)o->buf[i];

        fprintf(stderr, ch >= 32 && ch < 127 ? "%c" : "\\x%02x", ch);
    }
    fprintf(stderr, "\n");
}

/* One request to both; returns 1 when the answers differ. */
static int compare(struct engine *e, struct engine_conn *c,
                   const struct msg *msg, struct out *x, struct out *m,
                   size_t no)
{
    struct xsd_sockmsg hdr = { msg->type, 1, msg->tx, (uint32_t)msg->len };
    char *copy = malloc(msg->len + 1);

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, msg->p, msg->len);
    x->len = m->len = 0;
    xen_call(msg, x);
    cur = m;
    ck_assert_int_eq(engine_handle(e, c, &hdr, copy), 0);
    free(copy);
    if (x->len == m->len && !memcmp(x->buf, m->buf, x->len))
        return 0;
    fprintf(stderr, "request %zu (type %u) differs:\n", no, msg->type);
    dump("xen", x);
    dump("engine", m);
    return 1;
}

/* Random requests (no transactions: Xen's are not snapshots). */
static size_t random_phase(struct engine *e, struct engine_conn *c,
                           struct out *x, struct out *m)
{
    static const char *const paths[] = {
        "/r", "/r/a", "/r/b", "/r/a/x", "/r/a/y", "/r/b/x", "/r/a/x/deep",
        "rel", "rel/p", "/r/", "//r", "/r/bad name", "@introduceDomain",
        "/",
    };
    static const struct {
        const char *p;
        size_t len;
    } perms[] = {
        { "n0", 3 }, { "r0", 3 }, { "b0\0r5", 6 }, { "w3", 3 }, { "x", 2 },
    };
    static const uint32_t types[] = {
        XS_READ, XS_WRITE, XS_WRITE, XS_MKDIR, XS_RM, XS_DIRECTORY,
        XS_GET_PERMS, XS_SET_PERMS, XS_WATCH, XS_UNWATCH,
        XS_DIRECTORY_PART,
    };
    const char *env_seed = getenv("XS_COMPAT_SEED");
    const char *env_steps = getenv("XS_COMPAT_STEPS");
    unsigned int seed = env_seed ? (unsigned int)atoi(env_seed) : 4217;
    int steps = env_steps ? atoi(env_steps) : 3000;
    size_t bad = 0;
    int step;

    for (step = 0; step < steps && bad < 5; step++) {
        uint32_t type = types[rand_r(&seed) % (sizeof(types) /
                                               sizeof(types[0]))];
        const char *path = paths[rand_r(&seed) % (sizeof(paths) /
                                                  sizeof(paths[0]))];
        char buf[128];
        size_t len = strlen(path) + 1;
        struct msg g;

        memcpy(buf, path, len);
        switch (type) {
        case XS_WRITE:
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "v%d",
                                    step % 7);
            break;
        case XS_SET_PERMS: {
            unsigned int k = rand_r(&seed) % 5;

            memcpy(buf + len, perms[k].p, perms[k].len);
            len += perms[k].len;
            break;
        }
        case XS_WATCH:
        case XS_UNWATCH:
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "t%u",
                                    rand_r(&seed) % 3) + 1;
            break;
        case XS_DIRECTORY_PART:
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u",
                                    rand_r(&seed) % 8) + 1;
            break;
        default:
            break;
        }
        g.type = type;
        g.tx = 0;
        g.p = buf;
        g.len = len;
        bad += (size_t)compare(e, c, &g, x, m, 10000 + (size_t)step);
    }
    return bad;
}

START_TEST(test_same_as_xen)
{
    static const struct engine_ops ops = { .send = eng_send };
    static struct out x, m;
    struct sockaddr_un sa;
    struct engine_config cfg;
    struct engine *e;
    struct engine_conn *c;
    size_t i, bad = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket", dir);
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(sock, 0);
    ck_assert_int_eq(connect(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);

    engine_config_init(&cfg);
    e = engine_new(&cfg, &ops, NULL);
    ck_assert_ptr_nonnull(e);
    c = engine_conn_new(e, 0, NULL);
    ck_assert_ptr_nonnull(c);
    for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        bad += compare(e, c, &seq[i], &x, &m, i);
    /* A directory over the payload limit, read whole and in parts. */
    for (i = 0; i < 330; i++) {
        static const unsigned int offs[] = { 0, 5, 100, 4000, 4070, 4100,
                                             7000, 7290, 8000, 9999 };
        char buf[64];
        struct msg g;
        int len;

        if (i < 300)
            len = snprintf(buf, sizeof(buf), "/big/entry-%04zu%c", i, 0);
        else if (i == 300)
            len = snprintf(buf, sizeof(buf), "/big%c", 0);
        else if (i - 301 < sizeof(offs) / sizeof(offs[0]))
            len = snprintf(buf, sizeof(buf), "/big%c%u%c", 0,
                           offs[i - 301], 0);
        else
            break;
        g.type = i < 300 ? XS_WRITE : i == 300 ? XS_DIRECTORY
                                               : XS_DIRECTORY_PART;
        g.tx = 0;
        g.p = buf;
        g.len = (size_t)len;
        bad += compare(e, c, &g, &x, &m, 1000 + i);
    }
    bad += random_phase(e, c, &x, &m);
    close(sock);
    engine_free(e);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

int main(void)
{
    const char *slash;
    char cmd[512];
    Suite *s;
    TCase *tc;
    SRunner *sr;
    int failed;

    anchor = getenv("XS_ANCHOR");
    if (!anchor)
        anchor = DEFAULT_ANCHOR;
    if (access(anchor, X_OK) != 0) {
        printf("SKIP: no reference xenstored (%s)\n", anchor);
        return 77;
    }
    if (!mkdtemp(dir))
        return 99;
    snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", anchor, dir);
    if (system(cmd) != 0) {
        printf("SKIP: the reference xenstored did not start (%s)\n", cmd);
        return 77;
    }
    s = suite_create("compat");
    tc = tcase_create("xen");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_same_as_xen);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    slash = strrchr(anchor, '/');
    snprintf(cmd, sizeof(cmd), "%.*s/stop-real-xenstored %s >/dev/null 2>&1",
             slash ? (int)(slash - anchor) : 1, slash ? anchor : ".", dir);
    if (system(cmd) != 0)
        printf("could not stop the reference xenstored in %s\n", dir);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("could not remove %s\n", dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
