#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "kvm/vm.h"
#include "lib/log.h"

/* KVM's own placement for the TSS and the real-mode identity map page on
 * Intel; inside the 32-bit MMIO hole, below the BIOS ROM alias, as QEMU. */
#define KVM_TSS_GPA          0xfffbd000ULL
#define KVM_IDENTITY_MAP_GPA 0xfffbc000ULL

static bool cpu_has_hw_virt(void)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return true; /* cannot tell: do not get in the way */
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
	}
	fclose(f);
	return found;
}

const char *kvm_host_problem(char *buf, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(buf, len, "/dev/kvm does not exist: KVM is not available on this host (load kvm-intel or kvm-amd, or run in the lab: tests/lab/run -- CMD)");
		else if (errno == EACCES || errno == EPERM)
			snprintf(buf, len, "/dev/kvm: permission denied (add yourself to the 'kvm' group or run as root)");
		else
			snprintf(buf, len, "/dev/kvm: %s", strerror(errno));
		return buf;
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(buf, len, "/dev/kvm: unsupported KVM API version");
		close(fd);
		return buf;
	}
	close(fd);
	/* PVM runs only PVM-enabled guest kernels natively; a stock kernel
	 * would crawl through KVM's instruction emulator for minutes and then
	 * die on an instruction it cannot emulate. Say so at once. */
	if (access("/sys/module/kvm_pvm", F_OK) == 0 && !cpu_has_hw_virt()) {
		snprintf(buf, len, "/dev/kvm is PVM (kvm_pvm), a software KVM without VMX/SVM: a stock Linux kernel cannot boot on it. Use a host with VMX/SVM, or run inside the lab: tests/lab/run -- CMD");
		return buf;
	}
	return NULL;
}

struct cap_need {
	int cap;
	const char *what;
};

static const struct cap_need needed_caps[] = {
	{ KVM_CAP_IRQCHIP, "in-kernel irqchip (KVM_CAP_IRQCHIP)" },
	{ KVM_CAP_USER_MEMORY, "user memory (KVM_CAP_USER_MEMORY)" },
	{ KVM_CAP_IRQ_ROUTING, "GSI routing (KVM_CAP_IRQ_ROUTING)" },
	{ KVM_CAP_IRQFD, "irqfd (KVM_CAP_IRQFD)" },
	{ KVM_CAP_IOEVENTFD, "ioeventfd (KVM_CAP_IOEVENTFD)" },
	{ KVM_CAP_SIGNAL_MSI, "MSI injection (KVM_CAP_SIGNAL_MSI)" },
	{ KVM_CAP_PIT2, "in-kernel PIT (KVM_CAP_PIT2)" },
	{ KVM_CAP_EXT_CPUID, "CPUID setup (KVM_CAP_EXT_CPUID)" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

int vm_create(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	const char *problem;
	char buf[256];
	size_t i;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");

	problem = kvm_host_problem(buf, sizeof(buf));
	if (problem) {
		snprintf(err, errlen, "%s", problem);
		return -ENODEV;
	}
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		goto fail_errno;
	for (i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed_caps[i].cap) <= 0) {
			snprintf(err, errlen, "KVM lacks %s", needed_caps[i].what);
			return -ENOTSUP;
		}
	}
	vm->max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (vm->max_vcpus <= 0)
		vm->max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (vm->max_vcpus <= 0)
		vm->max_vcpus = 4;
	vm->ioeventfd_any_length =
		ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size <= 0)
		goto fail_errno;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA) < 0) {
		snprintf(err, errlen, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ KVM_IDENTITY_MAP_GPA }) < 0)
		pr_debug("KVM_SET_IDENTITY_MAP_ADDR: %s (harmless on AMD)", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, errlen, "KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	ret = irq_routing_init(vm);
	if (ret < 0) {
		snprintf(err, errlen, "GSI routing setup: %s", strerror(-ret));
		return ret;
	}
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0)
		goto fail_errno;
	return 0;

fail_errno:
	ret = -errno;
	snprintf(err, errlen, "/dev/kvm: %s", strerror(errno));
	return ret;
}

void vm_destroy(struct vm *vm)
{
	irq_routing_free(&vm->routing);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	vm->vm_fd = vm->kvm_fd = vm->stop_fd = -1;
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_mutex_destroy(&vm->stop_lock);
}

int vm_set_memory(struct vm *vm, unsigned slot, uint64_t gpa, uint64_t size,
		  void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	return 0;
}

int vm_irq_line(struct vm *vm, unsigned gsi, bool level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

void vm_request_stop(struct vm *vm, int status, enum log_level level,
		     const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->stop_status = status;
		vm->stop_level = level;
		va_start(ap, fmt);
		vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
		va_end(ap);
		if (eventfd_write(vm->stop_fd, 1) < 0)
			pr_err("cannot wake the main loop: %s", strerror(errno));
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

bool vm_stopping(struct vm *vm)
{
	bool s;

	pthread_mutex_lock(&vm->stop_lock);
	s = vm->stopping;
	pthread_mutex_unlock(&vm->stop_lock);
	return s;
}
