/*
 * xs_reconnect.c: what a handle opened with XS_RECONNECT keeps so that it
 * outlives its daemon: the window, the watches to register again, the
 * transactions and their ids, and which lost requests may go out again.
 * The connection itself is rebuilt in xs_handle.c; everything here runs
 * with the handle's `lock` held unless said otherwise.
 */
#include "xenstore.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_internal.h"

/* Without XENSTORE_RECONNECT_MS, XS_RECONNECT waits this long. */
#define DEFAULT_WINDOW_MS 10000

/* Called without `lock` by xs_open(). */
unsigned int xs__reconnect_window(unsigned long flags)
{
    const char *env = getenv("XENSTORE_RECONNECT_MS");
    unsigned long ms;
    char *end;

    if (!(flags & XS_RECONNECT))
        return 0;
    if (!env || !*env)
        return DEFAULT_WINDOW_MS;
    errno = 0;
    ms = strtoul(env, &end, 10);
    if (errno || *end || env[0] == '-')
        return DEFAULT_WINDOW_MS; /* not a number: as if unset */
    return ms > INT_MAX ? INT_MAX : (unsigned int)ms;
}

/* ------------------------------------------------------------ watches */

/* Called without `lock` (it allocates). */
struct xs__watch *xs__watch_new(const struct iovec *iov, unsigned int niov)
{
    struct xs__watch *w;
    size_t len = 0, off = 0;
    unsigned int i;
    char *buf;

    for (i = 0; i < niov; i++)
        len += iov[i].iov_len;
    w = malloc(sizeof(*w) + len + 1);
    if (!w)
        return NULL;
    buf = (char *)(w + 1);
    for (i = 0; i < niov; i++) {
        memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    buf[len] = '\0';
    w->next = NULL;
    w->path = buf;
    /* The payload is "path\0token\0"; a payload without a token makes
     * an entry that the daemon refuses, so it is never kept. */
    w->token = buf + strnlen(buf, len);
    if (w->token < buf + len)
        w->token++;
    return w;
}

void xs__watch_free(struct xs__watch *w)
{
    free(w);
}

void xs__watch_add(struct xs_handle *h, struct xs__watch *w)
{
    w->next = h->watches;
    h->watches = w;
}

void xs__watch_remove(struct xs_handle *h, const struct xs__watch *key)
{
    struct xs__watch **pp, *w;

    for (pp = &h->watches; (w = *pp) != NULL; pp = &w->next) {
        if (!strcmp(w->path, key->path) && !strcmp(w->token, key->token)) {
            *pp = w->next;
            xs__watch_free(w);
            return;
        }
    }
}

/* ------------------------------------------------------- transactions */

static struct xs__tx *tx_find(struct xs_handle *h, xs_transaction_t id)
{
    struct xs__tx *tx;

    for (tx = h->txs; tx; tx = tx->next)
        if (tx->id == id)
            return tx;
    return NULL;
}

/* A fresh caller-side id: never XBT_NULL, never one still in the table. */
static xs_transaction_t tx_next_id(struct xs_handle *h)
{
    xs_transaction_t id;

    do {
        id = h->next_tx_id++;
    } while (id == XBT_NULL || tx_find(h, id));
    return id;
}

int xs__tx_begin(struct xs_handle *h, xs_transaction_t daemon_id,
                 unsigned int gen, xs_transaction_t *id_r)
{
    struct xs__tx *tx = malloc(sizeof(*tx));

    if (!tx)
        return -ENOMEM;
    tx->id = tx_next_id(h);
    tx->daemon_id = daemon_id;
    tx->gen = gen;
    tx->next = h->txs;
    h->txs = tx;
    *id_r = tx->id;
    return 0;
}

int xs__tx_lookup(struct xs_handle *h, xs_transaction_t id,
                  xs_transaction_t *daemon_id_r)
{
    struct xs__tx *tx = tx_find(h, id);

    if (!tx)
        return -ENOENT; /* what the daemon says of an unknown id */
    if (tx->gen != h->gen)
        return -EAGAIN; /* begun on a connection that broke since */
    *daemon_id_r = tx->daemon_id;
    return 0;
}

void xs__tx_forget(struct xs_handle *h, xs_transaction_t id)
{
    struct xs__tx **pp, *tx;

    for (pp = &h->txs; (tx = *pp) != NULL; pp = &tx->next) {
        if (tx->id == id) {
            *pp = tx->next;
            free(tx);
            return;
        }
    }
}

/* ----------------------------------------------------- lost requests */

/*
 * Requests that change nothing, or whose change the lost daemon took
 * with it: sending one again cannot do anything twice.
 */
static bool resendable(enum xsd_sockmsg_type type)
{
    switch (type) {
    case XS_READ:
    case XS_DIRECTORY:
    case XS_DIRECTORY_PART:
    case XS_GET_PERMS:
    case XS_WATCH:
    case XS_UNWATCH:
    case XS_GET_DOMAIN_PATH:
    case XS_IS_DOMAIN_INTRODUCED:
    case XS_TRANSACTION_START: /* a transaction begun there is lost */
        return true;
    default:
        return false;
    }
}

int xs__lost_fate(const struct xs__waiter *w)
{
    if (w->tx != XBT_NULL)
        return -EAGAIN; /* the transaction is gone: run it again */
    if (w->unsent)
        return XS__RESEND; /* no daemon saw it */
    if (!w->resent && resendable(w->type))
        return XS__RESEND;
    return -EIO; /* it may or may not have taken effect */
}

/* ---------------------------------------------------------- freeing */

void xs__reconnect_free(struct xs_handle *h)
{
    struct xs__watch *w, *wnext;
    struct xs__tx *tx, *tnext;

    for (w = h->watches; w; w = wnext) {
        wnext = w->next;
        xs__watch_free(w);
    }
    h->watches = NULL;
    for (tx = h->txs; tx; tx = tnext) {
        tnext = tx->next;
        free(tx);
    }
    h->txs = NULL;
    free(h->path);
    h->path = NULL;
}
