/* A KVM virtual machine: the /dev/kvm and VM fds, the capabilities we rely
 * on, the in-kernel irqchip and PIT, the I/O buses, and the stop request
 * that any device or vCPU can raise. */
#ifndef KVM_VM_H
#define KVM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/bus.h"
#include "kvm/irq.h"
#include "lib/log.h"

struct guest_ram;

struct vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	int max_vcpus;
	struct bus pio;
	struct bus mmio;
	struct irq_routing routing;
	struct guest_ram *ram;
	/* KVM_CAP_IOEVENTFD_ANY_LENGTH: a zero-length MMIO ioeventfd matches
	 * any write at its address, and KVM signals it without decoding the
	 * instruction (its fast MMIO path). */
	bool ioeventfd_any_length;

	/* The first stop request wins; the main loop waits on stop_fd. */
	pthread_mutex_t stop_lock;
	bool stopping;
	int stop_status;
	enum log_level stop_level;
	char stop_reason[160];
	int stop_fd; /* eventfd */
};

/* Why /dev/kvm cannot run the guest, for a one-line error; NULL if it can.
 * Checks existence, permissions, the API version and PVM (a software KVM
 * that only runs PVM-enabled kernels). */
const char *kvm_host_problem(char *buf, size_t len);

/* Opens /dev/kvm, checks capabilities, creates the VM with in-kernel irqchip
 * and PIT, and the default GSI routing. On failure returns -errno and a
 * message in err. */
int vm_create(struct vm *vm, char *err, size_t errlen);
void vm_destroy(struct vm *vm);

/* Maps [gpa, gpa+size) of the guest onto hva. */
int vm_set_memory(struct vm *vm, unsigned slot, uint64_t gpa, uint64_t size,
		  void *hva);

/* Raises or lowers an interrupt line (ISA IRQ / IOAPIC pin number). */
int vm_irq_line(struct vm *vm, unsigned gsi, bool level);

/* Asks the VM to stop with the given exit status. The reason is logged at
 * level once the VM has stopped (a clean poweroff is only info, a reboot
 * a warning, a crash an error). Safe from any thread; the first wins. */
void vm_request_stop(struct vm *vm, int status, enum log_level level,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool vm_stopping(struct vm *vm);

#endif
