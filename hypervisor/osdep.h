/*
 * osdep.h - Linux scheduler hints for the daemon and domain processes.
 */
#ifndef XENOLITH_OSDEP_H
#define XENOLITH_OSDEP_H

#include <stdint.h>

/* Slice asked for by the daemon and the domain processes' main threads:
 * they run in bursts of tens of microseconds. */
#define OSDEP_CONTROL_SLICE_NS  100000ULL

/*
 * Ask for a scheduler slice of ns for the calling thread (0: the
 * default).  Under EEVDF (Linux >= 6.12) a task with a shorter slice than
 * the one running may preempt it on wakeup, so a control message does
 * not wait for a busy task's slice to end; the task gets no more CPU
 * time than before.  Older kernels ignore the hint.  Best effort:
 * returns 0 or -errno, and callers go on either way.
 */
int osdep_set_slice(uint64_t ns);

#endif /* XENOLITH_OSDEP_H */
