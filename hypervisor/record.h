/*
 * record.h - what the daemon alone knows about each domain, kept in the
 * run directory so that a restarted daemon can take the domain back.
 *
 * <rundir>/dom/<domid>.rec holds a struct domain_record, rewritten
 * (write to a temporary file, rename) whenever one of its fields
 * changes; <rundir>/dom/<domid>.sock is the domain process's own socket
 * (handover.h).  Both go when the domain is freed.  The live state
 * (paused, shut down, vCPUs up, the console) is the process's to tell.
 */
#ifndef XENOLITH_RECORD_H
#define XENOLITH_RECORD_H

#include <stdint.h>
#include <sys/types.h>

#define RECORD_MAGIC   0x584e4452U      /* "XNDR" */
#define RECORD_VERSION 1

struct domain_record {
    uint32_t magic;
    uint32_t version;
    uint32_t domid;
    uint32_t flags;              /* XC_DOMCFG_* */
    uint8_t handle[16];
    uint64_t max_memkb;
    uint64_t mem_size;
    uint32_t nr_vcpus;
    uint32_t started;            /* unpaused at least once */
    uint32_t dm;                 /* a device-model domain */
    int32_t qemu_pid;            /* its qemu, 0 if none */
    uint64_t qemu_start;         /* qemu's start time (/proc stat field
                                  * 22): the pid is still that qemu */
    uint16_t weight;             /* credit scheduler parameters */
    uint16_t cap;
    uint32_t pad;
};

/* Make <rundir>/dom; records are written from then on.  0 or -errno
 * (logged). */
int record_init(void);

/* Write r (magic and version set by the caller).  Failures are logged:
 * the domain runs on, but a restarted daemon would not find it. */
void record_write(const struct domain_record *r);

/* Remove domid's record and its process's socket. */
void record_remove(uint32_t domid);

/* Read the record at path: 0, or -errno (-EPROTO: not a record of this
 * version). */
int record_load(const char *path, struct domain_record *r);

/* <rundir>/dom, "" before record_init. */
const char *record_dir(void);

/* A process's start time in clock ticks since boot, 0 if unknown. */
uint64_t record_start_time(pid_t pid);

#endif /* XENOLITH_RECORD_H */
