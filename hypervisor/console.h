/*
 * console.h - a domain's console in the daemon.
 *
 * Output from the domain's UART is kept in a 64 KiB ring from the first
 * byte, appended to a log file when asked (XC_DOMCFG_CONSOLE_LOG), and
 * copied to the pty and the socket clients, if any.  The pty and the
 * socket <rundir>/console/<domid>.sock are made on first request
 * (console_open_endpoints).  A socket client gets the ring's contents
 * first, then live output; what it or the pty's user types goes to the
 * guest.  A slow reader loses bytes; the ring never blocks the guest.
 */
#ifndef XENOLITH_CONSOLE_H
#define XENOLITH_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define CONSOLE_RING_SIZE 65536U

struct console_client;
struct console_waiter;
struct reply_to;

/* Where typed bytes go (the domain's serial input). */
typedef void console_input_fn(void *opaque, const uint8_t *buf, size_t len);

struct console {
    console_input_fn *input;
    void *input_opaque;
    uint32_t domid;
    char *ring;                  /* NULL until the first byte */
    uint64_t head;               /* bytes ever written */
    struct loop_fd pty;          /* master side */
    int pty_slave;               /* kept open so the master never HUPs */
    char pty_path[108];
    struct loop_fd listen;
    char sock_path[108];
    struct console_client *clients;
    int log_fd;
    char log_path[320];
    uint64_t first_ns;           /* when the first byte left the guest */
    struct console_waiter *waiters;   /* PROTO_OP_CONSOLE_WAIT */
};

void console_init(struct console *c, uint32_t domid, console_input_fn *input,
                  void *input_opaque);
/* Frees everything and removes the socket; idempotent. */
void console_dispose(struct console *c);
int console_open_log(struct console *c);
int console_open_endpoints(struct console *c);
void console_output(struct console *c, const uint8_t *buf, size_t len);
/*
 * After a daemon restart (adopt.c): the ring as the domain process
 * kept it, len bytes ending at byte number head; those from byte number
 * sent on never reached the log, pty or clients: they go there now.
 */
void console_restore(struct console *c, uint64_t head, const uint8_t *buf,
                     size_t len, uint64_t sent);
/* Use the pty the domain process kept (master and slave, taken).  0 or
 * -errno (logged; both closed). */
int console_take_pty(struct console *c, int master, int slave);

/* Newest min(max, held) bytes, oldest first; returns the count. */
size_t console_read_ring(const struct console *c, char *buf, size_t max);

/*
 * PROTO_OP_CONSOLE_WAIT: answer c once more than seen bytes were
 * written (at once if they were, or if done).  A connection waits once
 * per console: a second wait answers the first.
 */
void console_wait(struct console *c, struct reply_to *to, uint32_t seq,
                  uint64_t seen, int done);
/* The domain shut down (done) or goes (-ESRCH): answer every waiter. */
void console_wake_all(struct console *c, int done, int32_t rc);

#endif /* XENOLITH_CONSOLE_H */
