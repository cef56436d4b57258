#include <string.h>

#include "kvm/vm.h"
#include "vmm/acpi.h"
#include "vmm/pm.h"

#define PM1_CNT_SCI_EN     0x0001
#define PM1_CNT_SLP_TYP(v) (((v) >> 10) & 7)
#define PM1_CNT_SLP_EN     0x2000
#define RESET_CPU          0x04    /* bit of the 0xcf9 reset control */
#define I8042_CMD_PORT     0x64
#define I8042_CMD_RESET    0xfe
#define PVPANIC_PANICKED   0x01
#define PVPANIC_CRASH_LOADED 0x02

static uint32_t get_le(const void *data, unsigned len)
{
	uint32_t v = 0;

	memcpy(&v, data, len > 4 ? 4 : len);
	return v;
}

static void put_le(void *data, unsigned len, uint32_t v)
{
	memset(data, 0, len);
	memcpy(data, &v, len > 4 ? 4 : len);
}

/* PM1a event block: status (write 1 to clear) then enable, 2 bytes each,
 * followed by the control register. One handler for the 6 bytes keeps the
 * unaligned accesses Linux never makes simple to reason about. */
void pm_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct pm *pm = opaque;
	uint32_t v = get_le(data, len);

	if (!is_write) {
		switch (offset) {
		case 0: put_le(data, len, pm->pm1_sts | (len >= 4 ? (uint32_t)pm->pm1_en << 16 : 0)); break;
		case 2: put_le(data, len, pm->pm1_en); break;
		/* SCI_EN reads as set: ACPI mode is on from the start, there is
		 * no SMI handshake to do (the FADT's SMI_CMD is 0). */
		case 4: put_le(data, len, pm->pm1_cnt | PM1_CNT_SCI_EN); break;
		default: put_le(data, len, 0); break;
		}
		return;
	}
	switch (offset) {
	case 0:
		pm->pm1_sts &= ~(uint16_t)v;
		if (len >= 4)
			pm->pm1_en = v >> 16;
		break;
	case 2:
		pm->pm1_en = v;
		break;
	case 4:
		pm->pm1_cnt = v & ~PM1_CNT_SLP_EN;
		if (!(v & PM1_CNT_SLP_EN))
			break;
		if (PM1_CNT_SLP_TYP(v) == ACPI_S5_SLP_TYP)
			vm_request_stop(pm->vm, EXIT_GUEST_POWEROFF, LOG_INFO, "guest powered off");
		else
			vm_request_stop(pm->vm, EXIT_VM_FAILURE, LOG_ERROR,
					"guest entered sleep type %u, which this VMM does not support",
					PM1_CNT_SLP_TYP(v));
		break;
	}
}

void pm_reset_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct pm *pm = opaque;

	(void)offset;
	if (!is_write) {
		put_le(data, len, 0);
		return;
	}
	if (get_le(data, len) & RESET_CPU)
		vm_request_stop(pm->vm, EXIT_GUEST_REBOOT, LOG_WARN,
				"guest requested a reboot; exiting (this VMM does not restart guests)");
}

/* Only the reset command: the FADT says there is no keyboard controller,
 * but Linux's reboot fallbacks still pulse its reset line. */
void i8042_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct pm *pm = opaque;

	(void)offset;
	if (!is_write) {
		put_le(data, len, 0);
		return;
	}
	if ((get_le(data, len) & 0xff) == I8042_CMD_RESET)
		vm_request_stop(pm->vm, EXIT_GUEST_REBOOT, LOG_WARN,
				"guest requested a reboot; exiting (this VMM does not restart guests)");
}

/* QEMU's pvpanic ISA device: reads tell the guest which events we take. */
void pvpanic_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct pm *pm = opaque;
	uint32_t v;

	(void)offset;
	if (!is_write) {
		put_le(data, len, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
		return;
	}
	v = get_le(data, len);
	if (v & PVPANIC_PANICKED)
		vm_request_stop(pm->vm, EXIT_GUEST_PANIC, LOG_ERROR, "guest kernel panicked");
	else if (v & PVPANIC_CRASH_LOADED)
		vm_request_stop(pm->vm, EXIT_GUEST_PANIC, LOG_ERROR,
				"guest kernel panicked (crash kernel loaded)");
}

int pm_attach(struct pm *pm, struct vm *vm)
{
	int ret;

	memset(pm, 0, sizeof(*pm));
	pm->vm = vm;
	ret = bus_register(&vm->pio, ACPI_PM1A_EVT_PORT, 6, pm_io, pm);
	if (!ret)
		ret = bus_register(&vm->pio, ACPI_RESET_PORT, 1, pm_reset_io, pm);
	if (!ret)
		ret = bus_register(&vm->pio, I8042_CMD_PORT, 1, i8042_io, pm);
	if (!ret)
		ret = bus_register(&vm->pio, PVPANIC_PORT, 1, pvpanic_io, pm);
	return ret;
}

/* QEMU's isa-debug-exit: the status tells a test harness what the guest
 * decided, and is never 0 so that it cannot pass for a clean poweroff. */
void debug_exit_io(void *opaque, uint64_t offset, void *data, unsigned len,
		   bool is_write)
{
	struct debug_exit *d = opaque;
	uint32_t v;

	(void)offset;
	if (!is_write) {
		put_le(data, len, 0);
		return;
	}
	v = get_le(data, len);
	if (len < 4)
		v &= (1u << (8 * len)) - 1;
	vm_request_stop(d->vm, (int)((v << 1) | 1), LOG_INFO,
			"guest wrote 0x%x to isa-debug-exit", v);
}

int debug_exit_attach(struct debug_exit *d, struct vm *vm, uint16_t iobase,
		      uint8_t iosize)
{
	d->vm = vm;
	d->iobase = iobase;
	d->iosize = iosize;
	return bus_register(&vm->pio, iobase, iosize, debug_exit_io, d);
}
