/*
 * loop.h - the daemon's event loop: every fd the daemon serves (the
 * control socket and its clients, domain channels, consoles, signals)
 * is a struct loop_fd watched here.  Single-threaded.
 */
#ifndef XENOLITH_LOOP_H
#define XENOLITH_LOOP_H

#include <stddef.h>
#include <stdint.h>

/* An fd watched by the event loop; embed it, set fd and cb. */
struct loop_fd {
    int fd;
    void (*cb)(struct loop_fd *w, uint32_t events);
};

int loop_add(struct loop_fd *w, uint32_t events);
int loop_mod(struct loop_fd *w, uint32_t events);
/* Stop watching without closing (the fd moves elsewhere); fd = -1. */
void loop_forget(struct loop_fd *w);
/* Stop watching and close the fd (sets w->fd = -1).  Idempotent. */
void loop_close(struct loop_fd *w);
/*
 * Run fn once the loop has seen no event for idle_ms, or at the latest
 * after max_ms (a busy daemon still gets it done).  One job at a time: a
 * second call replaces the first.  For work that must not compete with
 * a request being served (forking the spare domain process).
 */
void loop_when_idle(void (*fn)(void), int idle_ms, int max_ms);

/* Free p after the current batch of events has been handled, so a
 * callback never sees a freed object. */
void loop_defer_free(void *p);

/* Make the loop; 0 or -errno.  loop_exit frees what is deferred and the
 * loop itself. */
int loop_init(void);
void loop_exit(void);

/* Wait for events (or the idle job's time) and run their callbacks, the
 * idle job, then the deferred frees.  0, or -errno when waiting failed
 * (EINTR is 0). */
int loop_run_once(void);

#endif /* XENOLITH_LOOP_H */
