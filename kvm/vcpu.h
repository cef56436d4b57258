/* A virtual CPU: its fd, shared kvm_run page, x86 setup (CPUID, MSRs,
 * LAPIC, FPU) and a thread that runs it and dispatches exits to the VM's
 * buses. */
#ifndef KVM_VCPU_H
#define KVM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	/* CLOCK_MONOTONIC ns of the first KVM_RUN, for boot measurements. */
	uint64_t first_entry_ns;
	/* Exits that reached us, by kind: what "the VMM is not on the data
	 * path" is measured by. Written by the vCPU thread, read by anyone. */
	uint64_t exits_io, exits_mmio, exits_other;
};

/* Register state at the kernel's entry point: either 64-bit long mode
 * (Linux boot protocol 64-bit entry) or 32-bit flat protected mode with
 * paging off (PVH entry). */
struct vcpu_boot_state {
	bool long_mode;
	uint64_t rip, rsp, rsi, rbx;
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint16_t code_sel, data_sel;
};

/* KVM_GET_SUPPORTED_CPUID, allocated; free() it. NULL with errno set. */
struct kvm_cpuid2 *kvm_supported_cpuid(struct vm *vm);

/* Creates vCPU id of ncpus with CPUID derived from supported (APIC id =
 * id, one core per vCPU in one package), MSRs, LAPIC LINT0/LINT1 and FPU
 * in their reset state. Returns -errno; the caller adds context. */
int vcpu_create(struct vcpu *v, struct vm *vm, int id, unsigned ncpus,
		const struct kvm_cpuid2 *supported);
void vcpu_destroy(struct vcpu *v);
int vcpu_set_boot_state(struct vcpu *v, const struct vcpu_boot_state *s);

/* Starts the vCPU thread; it runs until vm_request_stop(). */
int vcpu_start(struct vcpu *v);
/* Makes a running vCPU leave KVM_RUN so that it notices the stop. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);

/* Pure CPUID patching, exposed for tests. tsc_deadline: KVM emulates the
 * LAPIC TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER), which
 * KVM_GET_SUPPORTED_CPUID does not report. */
void cpuid_patch(struct kvm_cpuid2 *cpuid, unsigned apic_id, unsigned ncpus,
		 bool tsc_deadline);

#endif
