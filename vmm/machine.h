/* The machine: one VM with its RAM, vCPUs and platform devices, assembled
 * from a vmm_config, run until the guest or the host ends it. */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include "kvm/memory.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "lib/loop.h"
#include "pci/pci.h"
#include "vmm/boot.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/devices.h"
#include "vmm/pm.h"
#include "vmm/serial.h"

struct machine {
	const struct vmm_config *cfg;
	struct vm vm;
	bool vm_created;
	struct guest_ram ram;
	struct linux_image image;
	unsigned ncpus;
	struct vcpu vcpus[VMM_MAX_CPUS];
	struct serial serial;
	struct pm pm;
	struct debug_exit debug_exit;
	struct pci_bus pci;   /* host bridge and bus 0; devices join with pci_bus_add() */
	struct device_set devices;
	struct event_loop loop;
	struct console console;
	struct loop_watch stop_watch;
	struct loop_watch signal_watch;
	int signal_fd;
	uint64_t start_ns;    /* CLOCK_MONOTONIC at launch, for boot figures */
};

/* Builds everything up to the first vCPU entry. Returns -errno with a
 * one-line message in err; machine_destroy() is needed either way. */
int machine_create(struct machine *m, const struct vmm_config *cfg,
		   char *err, size_t errlen);
/* Runs until the VM stops; returns the exit status it stopped with. */
int machine_run(struct machine *m);
void machine_destroy(struct machine *m);

#endif
