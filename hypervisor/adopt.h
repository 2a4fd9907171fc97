/*
 * adopt.h - a restarted daemon takes back the domains of the one before.
 *
 * At start, once the control socket listens and before a request is
 * served, adopt_scan() goes through <rundir>/dom (record.h): for each
 * record it connects to the domain process's socket (handover.h), reads
 * its hello, the descriptors it kept and its console output, and builds
 * the domain again in the table (domain_new, domain_insert), watching
 * its process through a pidfd and moving it into this daemon's cgroup
 * with the weight and cap it had.  A record whose process no longer answers is a domain
 * that died meanwhile: it is listed as crashed (its on_crash policy is
 * its watcher's to run), and a qemu its supervisor left is killed.  A
 * process with no record (its create had not finished) is killed.
 *
 * A planned upgrade (SIGUSR2, or `xenolithd --upgrade` which sends it):
 * the running daemon asks every domain process to detach, reads their
 * channels up to each answer (so no console byte is lost), and exits
 * leaving the domains running; the new daemon adopts them.
 */
#ifndef XENOLITH_ADOPT_H
#define XENOLITH_ADOPT_H

/* Take back every domain recorded in the run directory.  Returns how
 * many were found (adopted or found dead). */
int adopt_scan(void);

/* How long adopt_scan waits for each process's packets (ms). */
#define ADOPT_WAIT_MS 3000

/* A process that refuses (it still holds a channel) is asked again this
 * many times, this long apart (ms). */
#define ADOPT_REFUSED_TRIES 20
#define ADOPT_REFUSED_WAIT_MS 50

/* How long a planned upgrade waits for the domains to detach (ms). */
#define ADOPT_DETACH_MS 5000

#endif /* XENOLITH_ADOPT_H */
