/*
 * wire.h: xenstore message framing on stream connections.
 *
 * A stream carries messages back to back: a struct xsd_sockmsg header in
 * host byte order, then exactly hdr.len payload bytes.  A wire_in cuts a
 * stream that arrives in chunks of any size (one byte, or many messages at
 * once) into complete messages and hands each to a callback.
 *
 * Complete messages are handed out straight from the caller's chunk; only
 * the bytes of a message cut by a chunk boundary, or of messages the
 * callback refused for now (WIRE_STOP), are copied and kept.
 *
 * Header validation: a header whose len exceeds XENSTORE_PAYLOAD_MAX is a
 * protocol violation that makes the stream impossible to resynchronise
 * (Xen drops such a connection); it is reported as -EPROTO as soon as the
 * 16 header bytes are in, without waiting for the payload.  The type is not
 * checked here: an unknown type is a well-framed message that the engine
 * answers with EINVAL.
 *
 * Threading: a wire_in is used from one thread.
 */
#ifndef XENSTORED_WIRE_H
#define XENSTORED_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#define WIRE_HDR_SIZE sizeof(struct xsd_sockmsg)
#define WIRE_MSG_MAX (WIRE_HDR_SIZE + XENSTORE_PAYLOAD_MAX)

/* What a wire_msg_fn returns besides -errno. */
enum {
    WIRE_NEXT = 0, /* handled; go on with the next message */
    WIRE_STOP = 1, /* not handled: keep it and what follows for later */
};

/*
 * Called for each complete message.  `hdr` is aligned and in host byte
 * order; `payload` holds exactly hdr->len bytes (not NUL-terminated, not
 * aligned) and is valid only during the call.  Returns WIRE_NEXT, WIRE_STOP
 * or -errno (stop; the wire_in then holds nothing useful).
 */
typedef int (*wire_msg_fn)(void *arg, const struct xsd_sockmsg *hdr,
                           const char *payload);

/* The bytes of a stream not handed out yet. */
struct wire_in {
    char *buf;      /* kept bytes, or NULL */
    size_t len;     /* bytes in buf */
    size_t cap;     /* allocated size of buf */
    bool held;      /* buf starts with a message refused by WIRE_STOP */
    uint32_t bad_len; /* after -EPROTO: the length the header announced */
};

void wire_in_init(struct wire_in *w);
/* Frees the kept bytes; idempotent. */
void wire_in_dispose(struct wire_in *w);

/*
 * Appends `len` bytes of stream (data may be NULL when len is 0) and hands
 * every complete message, oldest first, to fn.  After a WIRE_STOP, call
 * again (with len 0 to only retry) once the callback can take messages.
 *
 * Returns 0 when everything was handed out (a trailing partial message is
 * kept), WIRE_STOP when fn refused a message (it and every later byte are
 * kept), -EPROTO for a header with len > XENSTORE_PAYLOAD_MAX (w->bad_len
 * tells it), -ENOMEM, or fn's -errno.
 */
int wire_in_feed(struct wire_in *w, const char *data, size_t len,
                 wire_msg_fn fn, void *arg);

/* Bytes kept (partial message and held messages). */
static inline size_t wire_in_kept(const struct wire_in *w)
{
    return w->len;
}

/* True when messages refused by WIRE_STOP are waiting. */
static inline bool wire_in_held(const struct wire_in *w)
{
    return w->held;
}

/* True when `type` is a request or reply type of the protocol. */
bool wire_type_valid(uint32_t type);

/* Xen's name of a message type ("READ", "WATCH_EVENT"), or "UNKNOWN". */
const char *wire_type_name(uint32_t type);

#endif /* XENSTORED_WIRE_H */
