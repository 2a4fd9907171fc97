/*
 * loop.c - the daemon's event loop (see loop.h): epoll, one idle job,
 * and frees deferred to the end of a batch.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS      64

static int epfd = -1;
static void **graveyard;
static size_t graveyard_len, graveyard_cap;
static struct {
    void (*fn)(void);
    int idle_ms;
    int64_t deadline;            /* ms, CLOCK_MONOTONIC */
} idle_job;

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void loop_when_idle(void (*fn)(void), int idle_ms, int max_ms)
{
    idle_job.fn = fn;
    idle_job.idle_ms = idle_ms;
    idle_job.deadline = mono_ms() + max_ms;
}

/* epoll_wait's timeout: the idle delay, cut short by the deadline. */
static int idle_timeout(void)
{
    int64_t left;

    if (!idle_job.fn)
        return -1;
    left = idle_job.deadline - mono_ms();
    if (left < 0)
        left = 0;
    return left < idle_job.idle_ms ? (int)left : idle_job.idle_ms;
}

static void run_idle_job(int events)
{
    void (*fn)(void) = idle_job.fn;

    if (!fn || (events > 0 && mono_ms() < idle_job.deadline))
        return;
    idle_job.fn = NULL;
    fn();
}

int loop_add(struct loop_fd *w, uint32_t events)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = w;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
        return -errno;
    return 0;
}

int loop_mod(struct loop_fd *w, uint32_t events)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = w;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return -errno;
    return 0;
}

void loop_forget(struct loop_fd *w)
{
    if (w->fd < 0)
        return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->fd = -1;
}

void loop_close(struct loop_fd *w)
{
    if (w->fd < 0)
        return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
    close(w->fd);
    w->fd = -1;
}

void loop_defer_free(void *p)
{
    if (graveyard_len == graveyard_cap) {
        size_t cap = graveyard_cap ? graveyard_cap * 2 : 64;
        void **g = realloc(graveyard, cap * sizeof(*g));

        if (!g)
            return;                      /* leak rather than use-after-free */
        graveyard = g;
        graveyard_cap = cap;
    }
    graveyard[graveyard_len++] = p;
}

static void bury(void)
{
    size_t i;

    for (i = 0; i < graveyard_len; i++)
        free(graveyard[i]);
    graveyard_len = 0;
}

int loop_init(void)
{
    epfd = epoll_create1(EPOLL_CLOEXEC);
    return epfd < 0 ? -errno : 0;
}

int loop_run_once(void)
{
    struct epoll_event evs[MAX_EVENTS];
    int i, n;

    n = epoll_wait(epfd, evs, MAX_EVENTS, idle_timeout());
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (i = 0; i < n; i++) {
        struct loop_fd *w = evs[i].data.ptr;

        /* closed by an earlier callback of this batch */
        if (w->fd >= 0)
            w->cb(w, evs[i].events);
    }
    run_idle_job(n);
    bury();
    return 0;
}

void loop_exit(void)
{
    bury();
    free(graveyard);
    graveyard = NULL;
    graveyard_cap = 0;
    if (epfd >= 0)
        close(epfd);
    epfd = -1;
}
