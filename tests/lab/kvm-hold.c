/* kvm-hold: started by tests/lab/init, holds one KVM VM with one vCPU (and
 * its in-kernel LAPIC, software-disabled) for the whole life of L1.
 *
 * Why: when the first VM of a machine is created or the last one destroyed,
 * KVM enables or disables SVM on every CPU through IPIs and waits for them
 * (hardware_enable_all/hardware_disable_all), and flips static keys: the
 * scheduler's preempt-notifier key, and for LAPICs apic_sw_disabled and
 * apic_hw_disabled. Flipping a key patches kernel text through int3
 * breakpoints. Under QEMU 7.2's multi-threaded TCG that patching now and
 * then leaves one L1 CPU looping on a stale int3 (seen in exc_int3, and at
 * the patched NOP in __schedule) while another waits for it in
 * kvm_destroy_vm -> on_each_cpu_cond_mask: L1 locks up for good, about once
 * in 25-50 L2 boots, with QEMU as the L2 VMM as with ours. With one VM and
 * one software-disabled LAPIC always alive, none of those counts crosses
 * zero, so starting and stopping guests patches nothing and sends none of
 * those IPIs. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "kvm-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	int kvm, vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU");
	/* Never runs; just stays. */
	for (;;)
		pause();
}
