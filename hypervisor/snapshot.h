/*
 * snapshot.h - a domain process's side of save, restore and migration:
 * the state PROTO_OP_STATE_GET/_SET and PROTO_OP_DIRTY_LOG carry
 * (proto.h).  Guest RAM goes through the memfd, not through here.
 *
 * A saved domain is a PLATFORM record (the in-kernel PIC, IOAPIC and
 * PIT, the KVM clock), one VCPU record per vCPU (registers, FPU/XSAVE,
 * local APIC, pending events, MSRs, run state) and DEVICE records for
 * the devices the core models (COM1, the ACPI power block, the PCI host
 * bridge and hotplug registers).  Bodies use KVM's own structures, so a
 * stream moves between hosts of the same architecture and a KVM that
 * knows them (docs/STREAM.md).
 *
 * Called on the domain process's main thread (the channel's), with the
 * domain paused; restore only before its vCPUs first ran.
 */
#ifndef XENOLITH_SNAPSHOT_H
#define XENOLITH_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct vm;

/* DEVICE records' first word: which device (virtio ones use their PCI
 * slot, 1-31). */
#define SNAPSHOT_DEV_SERIAL 0x100u
#define SNAPSHOT_DEV_POWER  0x101u
#define SNAPSHOT_DEV_PCI    0x102u

/*
 * Record index of the paused domain into out (a struct proto_state and
 * its body, at most cap bytes): its total length, -ENOENT past the last,
 * -EBUSY when the domain runs, -EOPNOTSUPP for a domain whose devices
 * cannot be saved (err says why), or another -errno (err says what).
 */
int snapshot_get(struct vm *vm, uint32_t index, void *out, size_t cap,
                 char *err, size_t errlen);

/* Load one record (a struct proto_state and its body, len bytes in all)
 * into a domain that has not run.  0 or -errno, err saying why. */
int snapshot_set(struct vm *vm, const void *in, size_t len, char *err,
                 size_t errlen);

/* PROTO_OP_DIRTY_LOG: START/STOP answer 0; FETCH the bitmap's length in
 * out (at most cap bytes), or -errno with err saying why. */
int snapshot_dirty(struct vm *vm, const struct proto_dirty *dl, void *out,
                   size_t cap, char *err, size_t errlen);

/* The domain runs (unpaused): no more records load into it, and
 * backends stopped for a save get their rings back. */
void snapshot_ran(struct vm *vm);

/* Records are being loaded into it (devices plugged now are not news
 * to the guest). */
int snapshot_restoring(const struct vm *vm);

void snapshot_free(struct vm *vm);

#endif /* XENOLITH_SNAPSHOT_H */
