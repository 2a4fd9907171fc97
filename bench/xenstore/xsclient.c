/*
 * xsclient.c: xenstore as its clients see it, through libxenstore's
 * public API (xenstore.h) one request at a time, the way libxl and the
 * xenstore-* tools use it.  Built twice by run.sh: against Xenolith's
 * libxenstore and against Debian's, each run against both daemons.
 *
 * Usage:
 *   xsclient SECONDS [SCENARIO]   the daemon named by XENSTORED_PATH
 *   xsclient floor SECONDS        a unix-socket ping-pong of the same
 *                                 sizes, with no daemon: the floor a
 *                                 single request cannot beat; its echo
 *                                 process runs on CPU $XSCLIENT_ECHO_CPU
 *                                 when set (where the daemon would)
 *
 * Scenarios: read, write, dir1k, dir10k, tx1, tx4, txr4, watch.  Output: one
 * "name value" line per figure (ops/s, microseconds), for run.sh.
 * Diagnostics go to stderr; exit status 1 when a request failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE                      /* sched_setaffinity, CPU_SET */
#endif
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#define WATCHERS 100
#define TX_CLIENTS 4
#define TX_WRITES 10

static double secs = 2.0;
static const char *only;

static void __attribute__((format(printf, 1, 2))) die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "xsclient: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s\n", strerror(errno));
    va_end(ap);
    exit(1);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool want(const char *name)
{
    return !only || !strcmp(only, name);
}

static struct xs_handle *open_xs(void)
{
    struct xs_handle *h = xs_open(0);

    if (!h)
        die("xs_open (XENSTORED_PATH=%s)", getenv("XENSTORED_PATH") ?
            getenv("XENSTORED_PATH") : "unset");
    return h;
}

static void put(struct xs_handle *h, const char *path, const char *value)
{
    if (!xs_write(h, XBT_NULL, path, value, (unsigned int)strlen(value)))
        die("write %s", path);
}

/* Calls one(h, i) until `secs` have passed; prints name's ops/s. */
static void rate(const char *name, struct xs_handle *h,
                 void (*one)(struct xs_handle *, unsigned long))
{
    unsigned long n = 0;
    double t0 = now(), t;

    do {
        for (unsigned int k = 0; k < 64; k++)
            one(h, n++);
        t = now() - t0;
    } while (t < secs);
    printf("%s %.1f\n", name, (double)n / t);
    fflush(stdout);
}

static void one_read(struct xs_handle *h, unsigned long i)
{
    unsigned int len;
    char *v = xs_read(h, XBT_NULL, "/bench/node", &len);

    (void)i;
    if (!v)
        die("read /bench/node");
    free(v);
}

static void one_write(struct xs_handle *h, unsigned long i)
{
    char v[32];

    snprintf(v, sizeof(v), "%lu", i);
    put(h, "/bench/node", v);
}

static const char *dir_path;
static unsigned int dir_want;

static void one_dir(struct xs_handle *h, unsigned long i)
{
    unsigned int n = 0;
    char **d = xs_directory(h, XBT_NULL, dir_path, &n);

    (void)i;
    if (!d || n != dir_want)
        die("directory %s: %u entries, want %u", dir_path, n, dir_want);
    free(d);
}

static void fill_dir(struct xs_handle *h, const char *dir, unsigned int n)
{
    char path[128];

    for (unsigned int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/child-%05u", dir, i);
        put(h, path, "x");
    }
}

/* ------------------------------------------------------------ transactions */

struct tx_client {
    pthread_t thread;
    unsigned int id;
    bool reads;                  /* read the first node before writing */
    double end;
    unsigned long commits, eagain;
};

static void *tx_loop(void *arg)
{
    struct tx_client *c = arg;
    struct xs_handle *h = open_xs();
    char path[64], v[32];

    while (now() < c->end) {
        xs_transaction_t t = xs_transaction_start(h);

        if (t == XBT_NULL)
            die("transaction_start");
        if (c->reads) {
            /* what it writes depends on what it read: a true conflict */
            free(xs_read(h, t, "/bench/tx/0", NULL));
        }
        for (unsigned int k = 0; k < TX_WRITES; k++) {
            /* every client writes the same nodes (blind unless reads) */
            snprintf(path, sizeof(path), "/bench/tx/%u", k);
            snprintf(v, sizeof(v), "%u-%lu", c->id, c->commits);
            if (!xs_write(h, t, path, v, (unsigned int)strlen(v)))
                die("write %s in a transaction", path);
        }
        if (xs_transaction_end(h, t, false))
            c->commits++;
        else if (errno == EAGAIN)
            c->eagain++;
        else
            die("transaction_end");
    }
    xs_close(h);
    return NULL;
}

static void tx(unsigned int clients, bool reads)
{
    const char *name = reads ? "txr" : "tx";
    struct tx_client c[TX_CLIENTS];
    unsigned long commits = 0, eagain = 0;
    double t0 = now();

    for (unsigned int i = 0; i < clients; i++) {
        c[i] = (struct tx_client){ .id = i, .reads = reads,
                                   .end = t0 + secs };
        if (pthread_create(&c[i].thread, NULL, tx_loop, &c[i]))
            die("pthread_create");
    }
    for (unsigned int i = 0; i < clients; i++) {
        pthread_join(c[i].thread, NULL);
        commits += c[i].commits;
        eagain += c[i].eagain;
    }
    printf("%s%u_commits_per_s %.1f\n", name, clients,
           (double)commits / (now() - t0));
    printf("%s%u_eagain_per_s %.1f\n", name, clients,
           (double)eagain / (now() - t0));
    fflush(stdout);
}

/* ------------------------------------------------------------ watches */

/* Drains what h has queued: the events seen for "/bench/w". */
static unsigned int drain(struct xs_handle *h)
{
    unsigned int n = 0;
    char **ev;

    while ((ev = xs_check_watch(h)) != NULL) {
        if (!strcmp(ev[XS_WATCH_PATH], "/bench/w"))
            n++;
        free(ev);
    }
    return n;
}

/* 100 handles watch one node; a writer changes it and waits until every
 * watcher has had the event: fan-out time per write, events per second. */
static void watch(void)
{
    struct xs_handle *w[WATCHERS], *h = open_xs();
    struct pollfd pfd[WATCHERS];
    unsigned long rounds = 0, events = 0;
    double t0, t;
    char v[32];

    put(h, "/bench/w", "0");
    for (unsigned int i = 0; i < WATCHERS; i++) {
        w[i] = open_xs();
        if (!xs_watch(w[i], "/bench/w", "tok"))
            die("watch");
        pfd[i].fd = xs_fileno(w[i]);
        pfd[i].events = POLLIN;
    }
    /* each watch fires once when set: wait for those first */
    for (unsigned int i = 0; i < WATCHERS; i++) {
        while (!drain(w[i]))
            poll(&pfd[i], 1, 1000);
    }
    t0 = now();
    do {
        unsigned int got = 0;
        bool seen[WATCHERS] = { false };

        snprintf(v, sizeof(v), "%lu", rounds + 1);
        put(h, "/bench/w", v);
        while (got < WATCHERS) {
            if (poll(pfd, WATCHERS, 5000) <= 0)
                die("watch events: %u of %u in 5 s", got, WATCHERS);
            for (unsigned int i = 0; i < WATCHERS; i++) {
                if (!(pfd[i].revents & POLLIN))
                    continue;
                if (drain(w[i]) && !seen[i]) {
                    seen[i] = true;
                    got++;
                }
            }
        }
        events += got;
        rounds++;
        t = now() - t0;
    } while (t < secs);
    printf("watch_fanout_us %.1f\n", t / (double)rounds * 1e6);
    printf("watch_events_per_s %.1f\n", (double)events / t);
    fflush(stdout);
    for (unsigned int i = 0; i < WATCHERS; i++)
        xs_close(w[i]);
    xs_close(h);
}

/* ------------------------------------------------------------ floor */

/* A read request and its answer, as sized on the wire (a 16-byte header,
 * "/bench/node\0" out, a short value back): echoed by a child process
 * over a unix socket pair, one at a time. */
static void floor_pingpong(void)
{
    char req[16 + 12], rep[16 + 4];
    unsigned long n = 0;
    int sv[2];
    double t0, t;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        const char *cpu = getenv("XSCLIENT_ECHO_CPU");

        if (cpu && *cpu) {
            cpu_set_t set;

            CPU_ZERO(&set);
            CPU_SET(atoi(cpu), &set);
            if (sched_setaffinity(0, sizeof(set), &set) < 0)
                die("sched_setaffinity");
        }
        close(sv[0]);
        memset(rep, 'r', sizeof(rep));
        for (;;) {
            size_t got = 0;

            while (got < sizeof(req)) {
                ssize_t r = read(sv[1], req + got, sizeof(req) - got);

                if (r <= 0)
                    _exit(0);
                got += (size_t)r;
            }
            if (write(sv[1], rep, sizeof(rep)) != (ssize_t)sizeof(rep))
                _exit(1);
        }
    }
    close(sv[1]);
    memset(req, 'q', sizeof(req));
    t0 = now();
    do {
        for (unsigned int k = 0; k < 64; k++, n++) {
            size_t got = 0;

            if (write(sv[0], req, sizeof(req)) != (ssize_t)sizeof(req))
                die("ping");
            while (got < sizeof(rep)) {
                ssize_t r = read(sv[0], rep + got, sizeof(rep) - got);

                if (r <= 0)
                    die("pong");
                got += (size_t)r;
            }
        }
        t = now() - t0;
    } while (t < secs);
    close(sv[0]);
    waitpid(pid, NULL, 0);
    printf("floor_ops_per_s %.1f\n", (double)n / t);
    printf("floor_rtt_us %.2f\n", t / (double)n * 1e6);
}

int main(int argc, char **argv)
{
    struct xs_handle *h;

    if (argc >= 3 && !strcmp(argv[1], "floor")) {
        secs = atof(argv[2]);
        floor_pingpong();
        return 0;
    }
    if (argc < 2 || argc > 3 || atof(argv[1]) <= 0) {
        fprintf(stderr, "usage: xsclient SECONDS [SCENARIO] | "
                "xsclient floor SECONDS\n");
        return 2;
    }
    secs = atof(argv[1]);
    only = argc == 3 ? argv[2] : NULL;
    h = open_xs();
    put(h, "/bench/node", "value");
    if (want("read"))
        rate("read_ops_per_s", h, one_read);
    if (want("write"))
        rate("write_ops_per_s", h, one_write);
    if (want("dir1k")) {
        fill_dir(h, "/bench/d1k", 1000);
        dir_path = "/bench/d1k";
        dir_want = 1000;
        rate("dir1k_ops_per_s", h, one_dir);
    }
    if (want("dir10k")) {
        fill_dir(h, "/bench/d10k", 10000);
        dir_path = "/bench/d10k";
        dir_want = 10000;
        rate("dir10k_ops_per_s", h, one_dir);
    }
    if (want("tx1"))
        tx(1, false);
    if (want("tx4"))
        tx(TX_CLIENTS, false);
    if (want("txr4"))
        tx(TX_CLIENTS, true);
    if (want("watch"))
        watch();
    xs_rm(h, XBT_NULL, "/bench");
    xs_close(h);
    return 0;
}
