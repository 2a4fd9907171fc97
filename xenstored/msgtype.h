/*
 * msgtype.h - the xenstore message types' names (xs_wire.h), for the
 * daemon's framing (wire.c) and the engine's logs (engine.c).
 */
#ifndef XENOLITH_XENSTORED_MSGTYPE_H
#define XENOLITH_XENSTORED_MSGTYPE_H

#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

/* "READ", "WRITE", ...; NULL for a type the protocol does not have. */
static inline const char *msgtype_name(uint32_t type)
{
    static const char *const names[XS_TYPE_COUNT] = {
        [XS_CONTROL] = "CONTROL",
        [XS_DIRECTORY] = "DIRECTORY",
        [XS_READ] = "READ",
        [XS_GET_PERMS] = "GET_PERMS",
        [XS_WATCH] = "WATCH",
        [XS_UNWATCH] = "UNWATCH",
        [XS_TRANSACTION_START] = "TRANSACTION_START",
        [XS_TRANSACTION_END] = "TRANSACTION_END",
        [XS_INTRODUCE] = "INTRODUCE",
        [XS_RELEASE] = "RELEASE",
        [XS_GET_DOMAIN_PATH] = "GET_DOMAIN_PATH",
        [XS_WRITE] = "WRITE",
        [XS_MKDIR] = "MKDIR",
        [XS_RM] = "RM",
        [XS_SET_PERMS] = "SET_PERMS",
        [XS_WATCH_EVENT] = "WATCH_EVENT",
        [XS_ERROR] = "ERROR",
        [XS_IS_DOMAIN_INTRODUCED] = "IS_DOMAIN_INTRODUCED",
        [XS_RESUME] = "RESUME",
        [XS_SET_TARGET] = "SET_TARGET",
        [XS_RESET_WATCHES] = "RESET_WATCHES",
        [XS_DIRECTORY_PART] = "DIRECTORY_PART",
    };

    return type < XS_TYPE_COUNT ? names[type] : NULL;
}

#endif /* XENOLITH_XENSTORED_MSGTYPE_H */
