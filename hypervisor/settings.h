/*
 * settings.h - the daemon's settings, from its command line (xenolithd.c)
 * and read by the modules that need the run directory and its parts.
 */
#ifndef XENOLITH_SETTINGS_H
#define XENOLITH_SETTINGS_H

struct config {
    char rundir[256];
    char console_dir[300];       /* sockets: <rundir>/console */
    char console_log_dir[300];   /* guest-<domid>.log files */
    char group[64];              /* privileged group, "xenolith" */
    char cmdline[1024];
};

extern struct config config;

#endif /* XENOLITH_SETTINGS_H */
