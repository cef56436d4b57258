/* How a guest ends the VM: ACPI fixed-hardware PM1 registers (poweroff via
 * _S5), the FADT reset register, the 8042 reset line, pvpanic, and QEMU's
 * isa-debug-exit. Each turns a guest write into vm_request_stop(). */
#ifndef VMM_PM_H
#define VMM_PM_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Exit statuses the VMM itself chooses (isa-debug-exit gives (v<<1)|1). */
#define EXIT_GUEST_POWEROFF 0
#define EXIT_GUEST_REBOOT   0
#define EXIT_VM_FAILURE     2   /* triple fault, KVM internal error */
#define EXIT_GUEST_PANIC    4   /* reported through pvpanic */

#define PVPANIC_PORT 0x505

struct pm {
	struct vm *vm;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
};

int pm_attach(struct pm *pm, struct vm *vm);
void pm_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write);
void pm_reset_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write);
void i8042_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write);
void pvpanic_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write);

struct debug_exit {
	struct vm *vm;
	uint16_t iobase;
	uint8_t iosize;
};

int debug_exit_attach(struct debug_exit *d, struct vm *vm, uint16_t iobase,
		      uint8_t iosize);
void debug_exit_io(void *opaque, uint64_t offset, void *data, unsigned len,
		   bool is_write);

#endif
