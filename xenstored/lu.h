/*
 * lu.h: live update - what xenstored hands to the next xenstored when it
 * executes itself again (a new binary, or the same one), keeping its
 * sockets open across the exec:
 *   - the listening socket, and every client connection with its domain
 *     identity, its log id and the input it has read but not handled;
 *   - the connection that asked for the update (it gets its "OK" from the
 *     new process) and that request's ids;
 *   - the store, as the requests that rebuild it (engine_dump).
 * The state travels in a memfd whose number the new process gets on its
 * command line (--live-restore FD); nothing is written to disk.
 *
 * The same stream, without connections, is the crash snapshot
 * (--snapshot FILE): the store as the requests that rebuild it, written
 * now and then, read back when the daemon starts after dying unasked.
 */
#ifndef XENSTORED_LU_H
#define XENSTORED_LU_H

#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

struct lu_conn {
    int fd;
    unsigned int domid;
    unsigned int id;
    char *in;                    /* input read and not yet handled */
    size_t inlen;
};

struct lu_state {
    int listen_fd;
    struct lu_conn *conns;
    size_t nconns, conns_cap;
    int requester;               /* index into conns, or -1 */
    uint32_t req_id, tx_id;
    char *reqs;                  /* records: u32 conn + 1, header, payload */
    size_t reqs_len, reqs_cap;
};

void lu_state_init(struct lu_state *s);
void lu_state_free(struct lu_state *s);

/* Adds a connection (in is copied); returns its index or -ENOMEM. */
int lu_add_conn(struct lu_state *s, int fd, unsigned int domid,
                unsigned int id, const char *in, size_t inlen);

/* Adds a request for connection `conn` (-1: the restoring one). */
int lu_add_request(struct lu_state *s, int conn,
                   const struct xsd_sockmsg *hdr, const char *payload);

/* The request at *off (start at 0): 1 with its parts, 0 at the end,
 * -EPROTO for a truncated record. */
int lu_next_request(const struct lu_state *s, size_t *off, int *conn,
                    struct xsd_sockmsg *hdr, const char **payload);

/* Writes s into a new memfd (sealed against writes); 0 and *fd_r, or
 * -errno. */
int lu_save(const struct lu_state *s, int *fd_r);

/* Reads what lu_save wrote from fd (and closes it); 0, or -errno with
 * -EPROTO for a stream that is not one. */
int lu_load(int fd, struct lu_state *s);

/* Writes s to path through path.tmp renamed into place (the crash
 * snapshot); 0 or -errno. */
int lu_write_file(const struct lu_state *s, const char *path);

/*
 * Executes binary with argv (argv[0] first) plus "--live-restore <fd>",
 * the listening socket, the connections and state_fd kept open across it.
 * Returns only on failure (-errno), with the descriptors as they were.
 */
int lu_exec(const char *binary, char *const *argv, const struct lu_state *s,
            int state_fd);

#endif /* XENSTORED_LU_H */
