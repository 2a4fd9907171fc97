/*
 * libxl_event.h - libxl's events: domain death reporting, the event
 * queue, and how an application's event loop drives libxl (Xen 4.17's
 * names and signatures).  Included by libxl.h.
 *
 * Events are produced while libxl runs on behalf of the application:
 * inside libxl_event_wait / libxl_event_check, libxl_osevent_afterpoll,
 * libxl_osevent_occurred_fd and the initiating calls.  An event goes to
 * event_hooks->event_occurs when its type is in event_occurs_mask,
 * otherwise to the queue that libxl_event_check/_wait read.  The
 * application owns every event it receives and frees it with
 * libxl_event_free.
 */
#ifndef LIBXL_EVENT_H
#define LIBXL_EVENT_H

#include <libxl.h>
#include <poll.h>
#include <sys/time.h>

#pragma GCC visibility push(default)

#define LIBXL_EVENTMASK_ALL (~(unsigned long)0)

/* Non-0 when the event is wanted; must not fail. */
typedef int libxl_event_predicate(const libxl_event *, void *user);

/* Takes a queued event matching typemask (bit 1 << type) and predicate
 * (NULL: any).  ERROR_NOT_READY when there is none. */
int libxl_event_check(libxl_ctx *ctx, libxl_event **event_r,
                      uint64_t typemask,
                      libxl_event_predicate *predicate,
                      void *predicate_user);
/* The same, blocking until such an event occurs. */
int libxl_event_wait(libxl_ctx *ctx, libxl_event **event_r,
                     uint64_t typemask,
                     libxl_event_predicate *predicate,
                     void *predicate_user);
void libxl_event_free(libxl_ctx *ctx, libxl_event *event);

typedef struct libxl_event_hooks {
    uint64_t event_occurs_mask;
    void (*event_occurs)(void *user, libxl_event *event);
    void (*disaster)(void *user, libxl_event_type type,
                     const char *msg, int errnoval);
} libxl_event_hooks;

/* From now on events whose type is in hooks->event_occurs_mask go to
 * hooks->event_occurs (which owns them).  hooks must stay valid. */
void libxl_event_register_callbacks(libxl_ctx *ctx,
                                    const libxl_event_hooks *hooks,
                                    void *user);

/*
 * Domain death: DOMAIN_SHUTDOWN (once, with the reason) when the domain
 * shuts down, then DOMAIN_DEATH when it is destroyed.  A domain already
 * shut down or gone when enabled is reported at once.  Events carry
 * for_user = user.  Returns 0, ERROR_FAIL.
 */
typedef struct libxl__evgen_domain_death libxl_evgen_domain_death;
int libxl_evenable_domain_death(libxl_ctx *ctx, uint32_t domid,
                                libxl_ev_user user,
                                libxl_evgen_domain_death **evgen_out);
/* NULL is accepted. */
void libxl_evdisable_domain_death(libxl_ctx *ctx,
                                  libxl_evgen_domain_death *evg);

/*
 * Polling integration, for applications with their own poll loop:
 * beforepoll adds libxl's fds to fds[] (room for *nfds_io entries; on
 * return the count used, or ERROR_BUFFERFULL with *nfds_io the count
 * needed) and lowers *timeout_upd (ms, -1 = infinite) when libxl has
 * work pending; afterpoll processes what poll found.
 */
int libxl_osevent_beforepoll(libxl_ctx *ctx, int *nfds_io,
                             struct pollfd *fds, int *timeout_upd,
                             struct timeval now);
void libxl_osevent_afterpoll(libxl_ctx *ctx, int nfds,
                             const struct pollfd *fds, struct timeval now);

/*
 * Or: the application registers hooks and libxl tells it which fds to
 * watch (fd_register: the core's event stream when the first death
 * reporter is enabled, xenstore's when an asynchronous shutdown/reboot
 * waits for the guest) and which timeouts (timeout_register: the 60 s
 * deadline of such a wait; libxl never deregisters one, it may make it
 * fire at once with timeout_modify {0,0}).  The application calls
 * libxl_osevent_occurred_fd / _timeout when one is due.  Register the
 * hooks before enabling any event generator or starting an operation.
 */
typedef struct libxl_osevent_hooks {
    int (*fd_register)(void *user, int fd, void **for_app_registration_out,
                       short events, void *for_libxl);
    int (*fd_modify)(void *user, int fd, void **for_app_registration_update,
                     short events);
    void (*fd_deregister)(void *user, int fd, void *for_app_registration);
    int (*timeout_register)(void *user, void **for_app_registration_out,
                            struct timeval abs, void *for_libxl);
    int (*timeout_modify)(void *user, void **for_app_registration_update,
                          struct timeval abs);
    void (*timeout_deregister)(void *user, void *for_app_registration);
} libxl_osevent_hooks;

void libxl_osevent_register_hooks(libxl_ctx *ctx,
                                  const libxl_osevent_hooks *hooks,
                                  void *user);
void libxl_osevent_occurred_fd(libxl_ctx *ctx, void *for_libxl, int fd,
                               short events, short revents);
/* A registered timeout is due (it is then no longer registered). */
void libxl_osevent_occurred_timeout(libxl_ctx *ctx, void *for_libxl);

#pragma GCC visibility pop

#endif /* LIBXL_EVENT_H */
