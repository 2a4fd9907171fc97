/*
 * supervise.h - a backend process kept alive by a parent of its own.
 *
 * A backend (backends/<class>/) calls backend_supervise() first thing.
 * The process libxl started stays a small supervisor; it forks the
 * worker, which returns from the call and does the backend's work.  A
 * worker that dies of a signal (kill -9, a crash) is started again, so
 * the guest's qemu finds its devices back (it reconnects to the same
 * sockets); five such deaths within 60 s end the supervisor too.  A
 * worker that exits (0: the domain is gone; 1: an error it reported) ends
 * the supervisor with the same status.  SIGTERM and SIGINT are passed on
 * to the worker, which cleans up.  The worker dies with its supervisor
 * (PR_SET_PDEATHSIG).  Internal to backends/; never installed.
 */
#ifndef BACKEND_SUPERVISE_H
#define BACKEND_SUPERVISE_H

/*
 * Returns 0 in the worker; in the supervisor it never returns.  name and
 * domid are for the supervisor's log lines ("<name>[<domid>]: ...", on
 * stderr, which the worker shares).
 */
int backend_supervise(const char *name, unsigned int domid);

#endif /* BACKEND_SUPERVISE_H */
