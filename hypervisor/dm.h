/*
 * dm.h - a device-model domain's process: qemu's supervisor.
 *
 * Forked by the daemon at PROTO_OP_ATTACH_DM (dm_spawn).  It connects
 * to qemu's core QMP monitor, opens qemu's serial pty, reports READY
 * (ERROR and exits if it cannot) and then, on one poll() loop, maps the
 * daemon's channel requests to QMP commands and qemu's events to the
 * domain's state (chan.h), relays the console both ways, and watches
 * qemu's pidfd.  It never runs guest code itself.
 */
#ifndef XENOLITH_DM_H
#define XENOLITH_DM_H

#include <stdint.h>
#include <sys/types.h>

/* vCPUs a device-model domain may have (Xen's HVM limit). */
#define DM_MAX_VCPUS 128

/* How long destroy waits for qemu to quit before SIGKILL (ms). */
#define DM_QUIT_MS 2000

/* How long the attach waits for qemu's monitor (ms). */
#define DM_CONNECT_MS 3000

/*
 * Fork the supervisor of domain domid's qemu (pid, listening on
 * qmp_path): *pid_r, and in *chan_r the daemon's end of its channel
 * (close-on-exec, blocking).  0 or -errno.  (The fuzz harness links its
 * own, which forks nothing.)
 */
int dm_spawn(uint32_t domid, pid_t qemu_pid, const char *qmp_path,
             pid_t *pid_r, int *chan_r);

/* pidfd_open(2) of qemu: the fd, or -errno. */
int dm_pidfd_open(pid_t pid);

/* SIGKILL the process of pidfd and wait up to wait_ms for it to exit.
 * 0, -ETIMEDOUT, or -errno. */
int dm_kill_wait(int pidfd, int wait_ms);

#endif /* XENOLITH_DM_H */
