/*
 * blkback.h - what the files of xenolith-blkback share; never installed.
 *
 * One process serves the disks of one domain: blkback.c reads them from
 * xenstore and runs the loop, vbd.c turns one backend directory into
 * one served disk and reports it back, qsd.c owns the
 * qemu-storage-daemon child (qcow2 images) and speaks QMP to it, vublk.c
 * serves a raw disk itself.  The loop in blkback.c and the QMP calls
 * (synchronous) run in the main thread; each raw disk has a thread of
 * its own for its guest's requests (vublk.c).
 */
#ifndef BLKBACK_H
#define BLKBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "backend.h"
#include "xendm.h"

struct xs_handle;
struct vublk;

/* Five deaths of qemu-storage-daemon within a minute: give up. */
#define QSD_MAX_DEATHS 5
#define QSD_DEATH_WINDOW_S 60

/*
 * The daemon child, started when the first qcow2 disk is to be exported
 * and stopped when the last one goes (blkback.c).  States: down (pid 0,
 * dm NULL: not started yet, stopped, or a start that failed), up (pid
 * and dm set, QMP negotiated), gone (dm's connection closed or the child
 * exited: "gone" or "exited" set, waiting for blkback.c to restart it).
 */
struct qsd {
    /* inputs */
    unsigned int domid;
    const char *bin;            /* XENOLITH_QSD or "qemu-storage-daemon" */
    char *qmp_path;             /* <dir>/qsd.qmp */
    /* private */
    pid_t pid;
    struct xendm *dm;
    struct xendm_logger lg;
    bool gone;                  /* the QMP connection closed */
    bool exited;                /* reaped: status holds the wait status */
    int status;
    char qmp_error[512];        /* description of the last QMP error */
    unsigned int major, minor;  /* its version (query-version) */
    struct timespec deaths[QSD_MAX_DEATHS];  /* oldest first */
    unsigned int nr_deaths;
};

/*
 * One device: a numeric directory under the domain's vbd backend path.
 *   PENDING: to be exported by the current qsd (new, or its qsd died);
 *   CONNECTED: exported, hotplug-status "connected";
 *   ERROR: refused, hotplug-status "error"; stays so until detached.
 * A device leaves the list when its directory goes (detach).
 */
enum vbd_state {
    VBD_PENDING,
    VBD_CONNECTED,
    VBD_ERROR,
};

struct vbd {
    struct vbd *next;
    unsigned int devid;
    char *path;                 /* its backend directory in xenstore */
    char *vdev;                 /* "xvda" (or the devid): for messages */
    char *target;               /* "params": a file or block device */
    char *format;               /* "raw" or "qcow2" */
    bool writable;              /* mode "w" */
    bool discard;               /* discard-enable = 1 */
    bool blockdev;              /* the target is a block device */
    char *sock;                 /* <dir>/<devid>.sock */
    struct vublk *self;         /* a raw disk served by blkback itself
                                 * (CONNECTED); NULL: qsd's export */
    enum vbd_state state;
    uint64_t size;              /* the target's size as last seen */
    uint64_t sectors;           /* CONNECTED: as written to xenstore */
    char *error;                /* ERROR: the reason, as written */
    bool seen;                  /* still listed (during a rescan) */
    bool released;              /* handed over (vbd_release) */
};


struct blkback {
    unsigned int domid;
    char *dir;                  /* <rundir>/backends/vbd-<domid> */
    char *be_path;              /* /local/domain/0/backend/vbd/<domid> */
    char *dom_path;             /* /local/domain/<domid> */
    struct xs_handle *xs;       /* NULL while xenstore is lost */
    struct qsd qsd;
    struct vbd *vbds;
};

/*
 * blkback.c: the log.  One line on stderr (libxl's log file for the
 * domain), "xenolith-blkback[D]: " and the message; blkback_log_vbd adds
 * the device ("domain D vbd 51712 (xvda): ").
 */
void blkback_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void blkback_log_vbd(const struct vbd *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * blkback.c: allocation that cannot fail.  Running out of memory is not
 * something a guest or a client causes; blkback logs it and exits 1
 * (its qemu-storage-daemon dies with it, PR_SET_PDEATHSIG).
 */
char *blkback_sprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- qsd.c */

/*
 * Starts the daemon with its QMP monitor on q->qmp_path and connects to
 * it (success is logged).  0, or -errno with nothing left running and
 * err (one line, for the caller to log and report) saying why: its exit
 * status and the tail of its output when it dies first.
 */
int qsd_start(struct qsd *q, char *err, size_t errlen);

/* Whether the daemon is up and answering (not gone, not exited). */
bool qsd_up(const struct qsd *q);

/* Whether it is down: not started, stopped or not started after all;
 * neither up nor a dead one waiting to be restarted. */
bool qsd_down(const struct qsd *q);

/* Reaps the child if it exited (after SIGCHLD); true when it did. */
bool qsd_reap(struct qsd *q);

/* Notes one more death (a failed start counts); true when it makes
 * QSD_MAX_DEATHS within QSD_DEATH_WINDOW_S. */
bool qsd_count_death(struct qsd *q);

/*
 * After gone or exited: makes sure the child is reaped (killing it if it
 * only closed its monitor), logs how it ended (and whether it is
 * restarted: wanted, a disk needs it) and forgets it.  Returns true when
 * this death makes QSD_MAX_DEATHS within QSD_DEATH_WINDOW_S.
 */
bool qsd_died(struct qsd *q, bool wanted);

/* Quits the daemon (QMP quit, SIGKILL after 3 s), reaps it and removes
 * its QMP socket.  Fine on a daemon that is down. */
void qsd_stop(struct qsd *q);

/* For poll(): the QMP fd (-1 when down) and its events; then the I/O. */
void qsd_pollfd(const struct qsd *q, int *fd_r, short *events_r);
void qsd_io(struct qsd *q, short revents);

/*
 * Exports v: its protocol and format nodes, then the vhost-user-blk
 * export on v->sock; *size_r gets the disk's size in bytes as qemu sees
 * it.  On failure nothing of v is left in the daemon and err (one line)
 * says why: -EIO for qemu's refusal, -EPIPE when the daemon went away.
 */
int qsd_export(struct qsd *q, const struct vbd *v, uint64_t *size_r,
               char *err, size_t errlen);

/* Removes v's export (waiting until qemu dropped it) and its nodes. */
int qsd_unexport(struct qsd *q, const struct vbd *v);

/* ---- vublk.c */

/*
 * Serves v's target (raw: opened now, read-only for mode r) on v->sock
 * in a thread of its own, size bytes.  0 with *d_r, or -errno with err
 * (one line) saying why and nothing left (no thread, fd or socket).
 */
int vublk_start(const struct vbd *v, unsigned int domid, uint64_t size,
                struct vublk **d_r, char *err, size_t errlen);

/* The target grew to size bytes: the capacity changes and the guest is
 * told (a config-change message to its frontend). */
void vublk_resize(struct vublk *d, uint64_t size);

/* Stops the thread, ends the frontend's connection and closes the
 * target; the socket is the caller's to remove.  Fine on NULL. */
void vublk_stop(struct vublk *d);

/* ---- vbd.c */

/*
 * Reads the device directory devid of bb->be_path.  1 with *v_r a new
 * device (PENDING, or ERROR with the reason written to xenstore), 0
 * when the directory is not complete yet (no params, mode or format),
 * -errno on a xenstore failure.
 */
int vbd_read(struct blkback *bb, unsigned int devid, struct vbd **v_r);

/*
 * Exports a PENDING device and reports the result in xenstore
 * (connected, or error with the reason).  A qcow2 one starts the daemon
 * when it is down (its failure to start is the device's error), and
 * waits for its restart while it is dead.
 */
void vbd_attach(struct blkback *bb, struct vbd *v);

/* Whether the device needs the daemon: qcow2, and not refused. */
bool vbd_needs_qsd(const struct vbd *v);

/* Takes the device out of the daemon (when up) and removes its socket;
 * v stays allocated (vbd_free). */
void vbd_detach(struct blkback *bb, struct vbd *v);

/* Marks a device refused: hotplug-error = reason, hotplug-status error. */
void vbd_fail(struct blkback *bb, struct vbd *v, const char *reason);

/* Writes the device's state (CONNECTED or ERROR) to xenstore again: a
 * xenstored restarted from an older snapshot, or writes made while it
 * was away, may have lost it. */
void vbd_publish(struct blkback *bb, struct vbd *v);

/* The daemon died: CONNECTED devices go back to PENDING, reported as
 * hotplug-status "restarting". */
void vbd_restarting(struct blkback *bb, struct vbd *v);

/*
 * A migration or a save hands the domain over (libxl writes its key
 * "xenolith-release" = 1 once the domain is paused and its rings are
 * stopped): a qcow2 image is closed, its cached metadata written and its
 * lock dropped, so that the receiving host's qemu-storage-daemon can
 * open it; "state" 6 (closed) says so.  0 again (the domain runs on
 * here): exported again, state 4, and the domain's process reconnects
 * as after a backend restart.  Raw images are served on throughout: a
 * raw file takes no lock.  Called at each rescan.
 */
void vbd_release_check(struct blkback *bb, struct vbd *v);

/* Once a second: a raw target that grew is resized online (the guest
 * is told). */
void vbd_check_size(struct blkback *bb, struct vbd *v);

void vbd_free(struct vbd *v);

#endif
