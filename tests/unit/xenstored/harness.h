/*
 * harness.h: drives the xenstore engine directly in unit tests.  Every
 * connection records what the engine sends it (replies and watch events);
 * h_call() sends one request and returns its reply in a printable form.
 */
#ifndef XENSTORED_TEST_HARNESS_H
#define XENSTORED_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define H_MAX_EVENTS 4096

struct h;

struct hconn {
    struct h *h;
    struct engine_conn *c;
    unsigned int domid;
    uint32_t next_req;
    /* Last reply. */
    struct xsd_sockmsg rhdr;
    char reply[XENSTORE_PAYLOAD_MAX + 64];
    unsigned int replies;        /* replies received since the last call */
    /* Watch events, "path|token". */
    char *events[H_MAX_EVENTS];
    unsigned int nevents;
    int fail_send;               /* > 0: fail that many sends */
};

struct h {
    struct engine *e;
    struct engine_config cfg;
    struct hconn *conns[64];
    unsigned int nconns;
    unsigned int introduced[64], nintroduced;
    unsigned int released[64], nreleased;
    int introduce_rc;
    char log[65536];
    size_t loglen;
};

/* cfg NULL: Xen's defaults. */
struct h *h_new(const struct engine_config *cfg);
void h_free(struct h *h);
struct hconn *h_conn(struct h *h, unsigned int domid);
void h_conn_close(struct hconn *hc);

/*
 * Sends a request; returns the reply: "!NAME" for XS_ERROR, else the
 * payload with each NUL shown as '|' (a final one dropped... see .c).
 */
const char *h_callv(struct hconn *hc, uint32_t type, uint32_t tx,
                    const char *payload, size_t len);
#define H(hc, type, tx, lit) h_callv((hc), (type), (tx), (lit), \
                                     sizeof(lit) - 1)

/* Common requests with C strings. */
const char *h_read(struct hconn *hc, uint32_t tx, const char *path);
const char *h_write(struct hconn *hc, uint32_t tx, const char *path,
                    const char *value);
const char *h_mkdir(struct hconn *hc, uint32_t tx, const char *path);
const char *h_rm(struct hconn *hc, uint32_t tx, const char *path);
const char *h_dir(struct hconn *hc, uint32_t tx, const char *path);
const char *h_getperms(struct hconn *hc, uint32_t tx, const char *path);
/* perms: space-separated, e.g. "n0 r5". */
const char *h_setperms(struct hconn *hc, uint32_t tx, const char *path,
                       const char *perms);
const char *h_watch(struct hconn *hc, const char *path, const char *token);
const char *h_unwatch(struct hconn *hc, const char *path,
                      const char *token);
uint32_t h_tstart(struct hconn *hc);
const char *h_tend(struct hconn *hc, uint32_t tx, bool commit);
const char *h_introduce(struct hconn *hc, unsigned int domid);
const char *h_control(struct hconn *hc, const char *args);

/* Events since the last h_clear(). */
unsigned int h_nevents(const struct hconn *hc);
const char *h_event(const struct hconn *hc, unsigned int i);
bool h_has_event(const struct hconn *hc, const char *ev);
void h_clear(struct hconn *hc);

bool h_logged(const struct h *h, const char *needle);

#endif /* XENSTORED_TEST_HARNESS_H */
