/*
 * harness.h - boot test guests on a private xenolithd: a PVH loader,
 * console and shutdown waits.
 */
#ifndef GUESTS_HARNESS_H
#define GUESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testhost.h"
#include "xenctrl.h"

/* A private xenolithd (tests/host) and a libxenctrl handle on it. */
struct core {
    struct test_host host;       /* host.dir: its rundir; host.core: pid */
    xentoollog_logger *logger;
    xc_interface *xch;
};

/* Start xenolithd in a fresh rundir and connect; 0 or -errno (the
 * reason printed). */
int core_start(struct core *c);
/* The same with more of the host (opts->what has TEST_HOST_CORE). */
int core_start_with(struct core *c, const struct test_host_opts *opts);
void core_stop(struct core *c);
/* Start xenolithd again in c's run directory (the test ended the one
 * before) and reconnect c->xch.  0 or -errno. */
int core_restart(struct core *c);

/*
 * Create a domain (vcpus, mem_mb) and load the PVH ELF at path with
 * cmdline and one optional module; leaves it paused with vCPU 0 at the
 * entry.  Returns 0 or -errno; on failure no domain is left.
 */
int guest_boot(xc_interface *xch, const char *path, unsigned int vcpus,
               unsigned int mem_mb, const char *cmdline, const void *mod,
               size_t mod_len, uint32_t *domid_r);

/* xc_domain_config.flags guest_boot() uses (default XC_DOMCFG_HVM). */
extern uint32_t harness_create_flags;

/* Poll the console ring until needle shows up: 1 found, 0 timeout,
 * -errno.  The ring's text is left in buf when buf is given. */
int console_wait(xc_interface *xch, uint32_t domid, const char *needle,
                 int timeout_ms, char *buf, size_t cap);

/* As console_wait, but found only once the line holding prefix has
 * ended (a verdict read mid-line would be cut short). */
int console_wait_line(xc_interface *xch, uint32_t domid, const char *prefix,
                      int timeout_ms, char *buf, size_t cap);

/* Wait for the domain to shut down: 1 with *reason, 0 timeout. */
int shutdown_wait(xc_interface *xch, uint32_t domid, int timeout_ms,
                  unsigned int *reason);

/* Monotonic milliseconds. */
double now_ms(void);

#endif /* GUESTS_HARNESS_H */
