/*
 * vmproc.h - the domain process.
 *
 * xenolithd forks one process per domain (vm_main), ahead of need: the
 * process makes its KVM VM as a "spare", then a create gives it its
 * memory and vCPU count (chan.h).  Its main thread serves the channel
 * to the daemon; each vCPU is a thread (vcpu.h).
 */
#ifndef XENOLITH_VMPROC_H
#define XENOLITH_VMPROC_H

#include <sys/types.h>

/*
 * Body of a domain process: never returns.  chan_fd is its only
 * descriptor worth keeping; the caller has closed the others.  It makes
 * the VM, reports SPARE_READY, waits for CHAN_CONFIG (chan.h), then
 * finishes the domain and serves the channel.
 */
void vm_main(int chan_fd) __attribute__((noreturn));

/*
 * Fork a domain process running vm_main(): *pid_r, and in *chan_r the
 * daemon's end of its channel (close-on-exec, blocking).  Returns 0 or
 * -errno.  (The fuzz harness links its own, which forks nothing.)
 */
int vm_spawn(pid_t *pid_r, int *chan_r);

#endif /* XENOLITH_VMPROC_H */
