/*
 * vcpu.h - the vCPU threads of a domain process: KVM_RUN and its exits.
 * I/O and MMIO exits go to the domain's device bus (devices/bus.h).
 */
#ifndef XENOLITH_VCPU_H
#define XENOLITH_VCPU_H

#include "xenctrl.h"

struct vm;
struct vcpu;

/* Make vCPU id of vm (its KVM vCPU, run area and CPUID). 0 or -errno. */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
/* Start its thread, which parks while the domain is paused. */
int vcpu_start(struct vcpu *vcpu);
/* Read the registers of a vCPU that is parked (vm.lock held). */
int vcpu_get_context(struct vcpu *vcpu, struct xc_vcpu_context *ctx);
/* Install the kick handler (VM_KICK_SIGNAL), once per process. */
int vcpu_signal_init(void);

#endif /* XENOLITH_VCPU_H */
