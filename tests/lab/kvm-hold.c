/* kvm-hold: started by tests/lab/init, holds one KVM VM with one vCPU (and
 * its in-kernel LAPIC, software-disabled) for the whole life of L1.
 *
 * Why: when the first VM of a machine is created or the last one destroyed,
 * KVM enables or disables SVM on every CPU through IPIs and waits for them
 * (hardware_enable_all/hardware_disable_all), and a LAPIC that is created,
 * enabled or freed flips the static keys apic_sw_disabled/apic_hw_disabled,
 * which patches kernel text through int3 breakpoints and more IPIs. Under
 * QEMU 7.2's multi-threaded TCG that patching now and then leaves one L1 CPU
 * looping on a stale int3 forever while another waits for it with
 * interrupts on: L1 locks up for good (seen about once in 30-50 L2 boots,
 * with QEMU as the L2 VMM as with ours; soft lockup in kvm_destroy_vm ->
 * on_each_cpu_cond_mask, the other CPU in exc_int3). With one VM and one
 * software-disabled LAPIC always alive, neither count ever crosses zero, so
 * starting and stopping guests no longer patches L1's kernel or sends those
 * IPIs. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm, vm, vcpu;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvm-hold: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "kvm-hold: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		fprintf(stderr, "kvm-hold: KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		fprintf(stderr, "kvm-hold: KVM_CREATE_VCPU: %s\n", strerror(errno));
		return 1;
	}
	/* Never runs; just stays. */
	for (;;)
		pause();
}
