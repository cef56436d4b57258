#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "lib/log.h"

/* Sent to a vCPU thread to interrupt KVM_RUN. */
#define VCPU_KICK_SIGNAL SIGUSR1

#define MSR_IA32_TSC            0x00000010
#define MSR_IA32_SYSENTER_CS    0x00000174
#define MSR_IA32_SYSENTER_ESP   0x00000175
#define MSR_IA32_SYSENTER_EIP   0x00000176
#define MSR_IA32_MISC_ENABLE    0x000001a0
#define MSR_MTRR_DEF_TYPE       0x000002ff
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SYSCALL_MASK        0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102

#define MISC_ENABLE_FAST_STRING (1ULL << 0)
#define MTRR_ENABLE_WB          ((1ULL << 11) | 6)

#define X86_CR0_PE  (1ULL << 0)
#define X86_CR0_ET  (1ULL << 4)
#define X86_CR0_PG  (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define EFER_LME    (1ULL << 8)
#define EFER_LMA    (1ULL << 10)

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI    4
#define APIC_MODE_EXTINT 7

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct kvm_cpuid2 *kvm_supported_cpuid(struct vm *vm)
{
	int n = 128;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG || n >= 4096)
			return NULL;
		n *= 2;
	}
}

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* Topology: every vCPU is one core of one package, one thread per core.
 * Leaves 1, 4, 0xb/0x1f (Intel) and 0x80000008/0x8000001e (AMD) must tell
 * the same story, or Linux warns and may mis-size its per-package data. */
void cpuid_patch(struct kvm_cpuid2 *cpuid, unsigned apic_id, unsigned ncpus,
		 bool tsc_deadline)
{
	unsigned core_bits = bits_for(ncpus);
	uint32_t i;

	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) |
				 ((1u << core_bits) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28;   /* HTT: multi-core package */
			e->ecx |= 1u << 31;           /* running on a hypervisor */
			/* Without the deadline timer Linux calibrates the LAPIC
			 * timer against the PIT at boot, slow and, nested,
			 * unreliable ("APIC timer disabled due to verification
			 * failure"). */
			if (tsc_deadline)
				e->ecx |= 1u << 24;
			break;
		case 4:
			e->eax &= 0x03ffffff;
			e->eax |= ((1u << core_bits) - 1) << 26;
			e->eax &= ~(0xfffu << 14);    /* caches shared by one thread */
			break;
		case 0xb:
		case 0x1f:
			e->edx = apic_id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;   /* SMT level */
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = ncpus;
				e->ecx = (2u << 8) | 1;   /* core level */
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xf0ffu) | (core_bits << 12) | (ncpus - 1);
			break;
		case 0x8000001e:
			e->eax = apic_id;
			e->ebx = apic_id & 0xff;          /* core id, 1 thread */
			e->ecx = 0;                       /* node 0 */
			break;
		}
	}
}

static int setup_msrs(struct vcpu *v)
{
	static const struct { uint32_t index; uint64_t value; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 }, { MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		/* Firmware would enable MTRRs with write-back default; without
		 * it Linux maps all RAM uncached-minus on some paths. */
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB },
	};
	const unsigned n = sizeof(init) / sizeof(init[0]);
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
	unsigned i;
	int ret;

	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = n;
	for (i = 0; i < n; i++) {
		msrs->entries[i].index = init[i].index;
		msrs->entries[i].data = init[i].value;
	}
	ret = ioctl(v->fd, KVM_SET_MSRS, msrs);
	free(msrs);
	if (ret < 0)
		return -errno;
	if ((unsigned)ret != n)
		pr_debug("vCPU %d: KVM took %d of %u initial MSRs", v->id, ret, n);
	return 0;
}

static void lapic_set_lvt(struct kvm_lapic_state *l, int reg, uint32_t mode)
{
	uint32_t *p = (uint32_t *)&l->regs[reg];

	*p = (*p & ~0x700u) | (mode << 8);
}

/* As a BIOS leaves it: LINT0 delivers the 8259's ExtINT (the kernel's
 * early timer path), LINT1 delivers NMIs. */
static int setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	lapic_set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

static int setup_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct vcpu *v, struct vm *vm, int id, unsigned ncpus,
		const struct kvm_cpuid2 *supported)
{
	size_t csize = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *cpuid;
	int ret;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = -1;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return -errno;
	v->run = mmap(NULL, vm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	cpuid = malloc(csize);
	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, supported, csize);
	cpuid_patch(cpuid, id, ncpus,
		    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0);
	ret = ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0 ? -errno : 0;
	free(cpuid);
	if (ret < 0)
		return ret;
	ret = setup_msrs(v);
	if (ret < 0)
		return ret;
	ret = setup_lapic(v);
	if (ret < 0)
		return ret;
	return setup_fpu(v);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->vcpu_mmap_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

static void set_flat_segment(struct kvm_segment *s, uint16_t sel, bool code,
			     bool long_mode)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = code ? 0xb : 0x3;   /* execute/read accessed, read/write accessed */
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code && long_mode;
	s->db = !s->l;
}

int vcpu_set_boot_state(struct vcpu *v, const struct vcpu_boot_state *bs)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	set_flat_segment(&sregs.cs, bs->code_sel, true, bs->long_mode);
	set_flat_segment(&sregs.ds, bs->data_sel, false, bs->long_mode);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = bs->gdt_base;
	sregs.gdt.limit = bs->gdt_limit;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (bs->long_mode) {
		sregs.cr0 |= X86_CR0_PG;
		sregs.cr3 = bs->cr3;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;   /* bit 1 is reserved and always set */
	regs.rip = bs->rip;
	regs.rsp = bs->rsp;
	regs.rsi = bs->rsi;
	regs.rbx = bs->rbx;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t i;

	for (i = 0; i < run->io.count; i++) {
		if (!bus_dispatch(&v->vm->pio, run->io.port, data, run->io.size, is_write))
			pr_debug("vCPU %d: unclaimed port %s 0x%x (%u bytes)", v->id,
				 is_write ? "write" : "read", run->io.port, run->io.size);
		data += run->io.size;
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (!bus_dispatch(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			  run->mmio.len, run->mmio.is_write))
		pr_debug("vCPU %d: unclaimed MMIO %s 0x%llx (%u bytes)", v->id,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
}

static uint64_t vcpu_rip(struct vcpu *v)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		__atomic_add_fetch(&v->exits_io, 1, __ATOMIC_RELAXED);
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		__atomic_add_fetch(&v->exits_mmio, 1, __ATOMIC_RELAXED);
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		__atomic_add_fetch(&v->exits_other, 1, __ATOMIC_RELAXED);
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* No rip: on AMD, KVM has already reset the vCPU (the VMCB is
		 * undefined after a shutdown intercept), so it reads 0xfff0. */
		vm_request_stop(vm, 2, LOG_ERROR, "vCPU %d: triple fault (KVM_EXIT_SHUTDOWN)", v->id);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_request_stop(vm, 2, LOG_ERROR, "vCPU %d: KVM internal error, suberror %u (%s) at rip 0x%llx",
				v->id, run->internal.suberror,
				run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
				"instruction emulation failed" : "see KVM_INTERNAL_ERROR_*",
				(unsigned long long)vcpu_rip(v));
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_request_stop(vm, 2, LOG_ERROR, "vCPU %d: VM entry failed, hardware reason 0x%llx",
				v->id, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vm, 0, LOG_INFO, "guest powered off");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vm, 0, LOG_WARN, "guest requested a reboot; exiting");
			break;
		case KVM_SYSTEM_EVENT_CRASH:
			vm_request_stop(vm, 4, LOG_ERROR, "guest crashed (KVM_SYSTEM_EVENT_CRASH)");
			break;
		default:
			vm_request_stop(vm, 2, LOG_ERROR, "vCPU %d: unknown system event %u",
					v->id, run->system_event.type);
		}
		return false;
	default:
		vm_request_stop(vm, 2, LOG_ERROR, "vCPU %d: unexpected KVM exit reason %u",
				v->id, run->exit_reason);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t set;

	char name[16];

	/* Named, so that tools (and bench/) can tell guest time from ours. */
	snprintf(name, sizeof(name), "vcpu%d", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!vm_stopping(v->vm)) {
		if (!v->first_entry_ns)
			v->first_entry_ns = now_ns();
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			vm_request_stop(v->vm, 2, LOG_ERROR, "vCPU %d: KVM_RUN: %s", v->id,
					strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_start(struct vcpu *v)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	int ret;

	/* The handler only needs to exist so the signal interrupts KVM_RUN
	 * instead of killing us; installing it again is harmless. */
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret)
		return -ret;
	v->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	/* immediate_exit covers the window where the signal lands just
	 * before KVM_RUN is entered. */
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	pthread_join(v->thread, NULL);
	v->thread_started = false;
}
