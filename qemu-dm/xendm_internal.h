/*
 * xendm_internal.h - what the qemu-dm files share; never installed.
 */
#ifndef XENDM_INTERNAL_H
#define XENDM_INTERNAL_H

#include "xendm.h"

#include <stdarg.h>

/* A command waiting for its reply. */
struct xendm_pending {
    struct xendm_pending *next;
    unsigned long id;
    xendm_reply_fn *cb;
    void *opaque;
};

/*
 * States: started by xendm_start (qemu running paused, QMP negotiated),
 * then live until xendm_destroy.  fd < 0 once QMP closed (GONE sent);
 * pid 0 once qemu was reaped.
 */
struct xendm {
    struct xendm_logger lg;
    unsigned int domid;
    enum xendm_accel accel;
    xendm_event_fn *event;
    void *event_opaque;
    pid_t pid;
    int wstatus;
    int fd;
    char *qmp_path;
    char *core_qmp_path;  /* NULL unless cfg->core_monitor */
    bool spawned;       /* pid is our child (xendm_start) */
    char *pid_path;
    char *log_path;
    char *rbuf;         /* input not yet split into lines */
    size_t rlen, rcap;
    char *wbuf;         /* output not yet written */
    size_t wlen, wcap;
    unsigned long next_id;
    struct xendm_pending *pending;
    bool greeted;
    yajl_val cur_root;  /* the message being dispatched */
    unsigned int seen;  /* event types not yet consumed (1 << type) */
    char *shutdown_reason;
};

void xendm__log(const struct xendm_logger *lg, enum xendm_level level,
                int errnoval, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define XDM_LOG(lg, lvl, fmt, ...) \
    xendm__log(lg, lvl, -1, "%s: " fmt, __func__, ##__VA_ARGS__)
#define XDM_LOGE(lg, err, fmt, ...) \
    xendm__log(lg, XENDM_ERROR, err, "%s: " fmt, __func__, ##__VA_ARGS__)

/* xendm_argv.c: the firmware file cfg boots, or NULL for qemu's own. */
const char *xendm__firmware(const struct xendm_config *cfg);

/* xendm_argv.c: file suffixes under run_dir. */
#define XENDM_SUFFIX_QMP ".qmp"
#define XENDM_SUFFIX_CORE ".core.qmp"
#define XENDM_SUFFIX_PID ".pid"
#define XENDM_SUFFIX_LOG ".log"

/* xendm_qmp.c: connect, greeting, capabilities (synchronous). */
int xendm__qmp_connect(struct xendm *dm, unsigned int timeout_ms);
void xendm__qmp_close(struct xendm *dm);

#endif
