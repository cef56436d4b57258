/*
 * PCI: one root bus (bus 0) behind a host bridge at 00:00.0, configuration
 * through ports 0xcf8/0xcfc and through ECAM, and the endpoint side that a
 * device type (the virtio-pci transport) builds on: config space with write
 * masks, a capability list, BARs that the VMM places and the guest may move.
 *
 * Guest physical address map (pci_layout_init() computes it; vmm/acpi.c
 * describes it in the MCFG and in PCI0's _CRS, vmm/boot.c reserves the ECAM
 * range in the e820 map):
 *
 *   0x0d00-0xffff            I/O window. Below it are the legacy ports
 *                            (COM1, PM, pvpanic, PIC/PIT...); 0xcf8-0xcff,
 *                            the config ports, lie inside it (as on every
 *                            PC) and are listed as a consumed resource.
 *   0xc0000000-0xdfffffff    32-bit MMIO window (512 MiB): the start of the
 *                            hole above low RAM (RAM_LOW_END).
 *   0xe0000000-0xe00fffff    ECAM for bus 0 only: 32 devices x 8 functions
 *                            x 4 KiB. There are no bridges, so no other bus
 *                            can exist; one bus keeps the reservation small.
 *   0xfec00000-0xffffffff    IOAPIC, LAPIC: never PCI.
 *   64-bit window            above all RAM: 32 GiB aligned to 32 GiB (so a
 *                            BAR up to 32 GiB can be naturally aligned),
 *                            e.g. [32 GiB, 64 GiB) for up to 28 GiB of RAM.
 *                            It must stay below 2^MAXPHYADDR of the guest's
 *                            CPU (CPUID 0x80000008, 40 bits in the lab, 39 on
 *                            many desktops) or Linux drops it as "not CPU
 *                            addressable"; when the aligned window does not
 *                            fit, it shrinks to whatever lies between RAM and
 *                            that limit, and without room it is left out and
 *                            64-bit BARs come from the 32-bit window.
 *
 * Threading: vCPU threads reach config space (CF8/CFC, ECAM) and BARs
 * concurrently. Each pci_dev has a mutex, held around every config access,
 * every BAR access (the owner's handler runs under it) and every callback
 * into the owner (capability hooks, bar_moved). So an owner's device logic
 * is serialized per device without locks of its own, and must not call the
 * pci_dev_lock()ing functions from those callbacks. Devices are added before
 * the vCPUs start and live as long as the bus (no hot-unplug).
 */
#ifndef PCI_PCI_H
#define PCI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/pci_regs.h>

#include "kvm/bus.h"
#include "kvm/memory.h"

#define PCI_CONFIG_ADDRESS_PORT	0xcf8	/* 4 bytes; CONFIG_DATA at 0xcfc */
#define PCI_CONFIG_PORTS_LEN	8
#define PCI_DEVFN_COUNT		256	/* on bus 0: 32 slots x 8 functions */
#define PCI_CFG_SIZE		256	/* conventional config space */
#define PCI_ECAM_FN_SIZE	4096	/* ECAM stride per function */
#define PCI_NUM_BARS		6

#define PCI_ECAM_BASE		0xe0000000ULL
#define PCI_ECAM_BUSES		1
#define PCI_ECAM_SIZE		((uint64_t)PCI_ECAM_BUSES << 20)
#define PCI_MMIO32_BASE		RAM_LOW_END
#define PCI_MMIO32_SIZE		0x20000000ULL
#define PCI_IO_WIN_BASE		0x0d00ULL
#define PCI_IO_WIN_SIZE		(0x10000ULL - PCI_IO_WIN_BASE)
#define PCI_MMIO64_SIZE		(32ULL << 30)
/* Smaller than this, a 64-bit window is not worth describing. */
#define PCI_MMIO64_MIN_SIZE	(1ULL << 30)

/* The host bridge: the ids of QEMU q35's MCH, which Linux knows as a plain
 * host bridge with no quirks that matter without its chipset registers. */
#define PCI_HOST_VENDOR		0x8086
#define PCI_HOST_DEVICE		0x29c0

#define PCI_BAR_UNMAPPED	UINT64_MAX

struct pci_window {
	uint64_t base, size;	/* size 0: no window */
};

struct pci_layout {
	uint64_t ecam_base, ecam_size;
	struct pci_window io, mmio32, mmio64;
};

/* The default layout above for RAM ending at ram_end (one past its highest
 * byte) and a guest CPU with phys_bits of physical address. */
void pci_layout_init(struct pci_layout *l, uint64_t ram_end, unsigned phys_bits);

struct pci_dev;

enum pci_bar_type {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,	/* takes two BAR slots: bar and bar + 1 */
};

struct pci_dev_ops {
	/*
	 * A BAR's decoded address changed: the guest reprogrammed it, or
	 * toggled memory/I/O decode in the command register. old_addr and
	 * new_addr are guest addresses or PCI_BAR_UNMAPPED. The BAR handler
	 * has already moved on the bus; the owner moves what the bus does not
	 * see (ioeventfds on the notify region, for a virtio device). Called
	 * with the device lock held; may be NULL.
	 */
	void (*bar_moved)(struct pci_dev *dev, int bar, uint64_t old_addr,
			  uint64_t new_addr);
};

/*
 * Hooks on one capability's bytes; off is relative to the capability start,
 * and [off, off + len) is the part of the access that falls inside it.
 * read runs before the bytes are returned and may refresh dev->cfg (e.g.
 * virtio's PCI configuration access capability); write runs after the write
 * landed in dev->cfg through the write masks. Device lock held.
 */
struct pci_cap_ops {
	void (*read)(struct pci_dev *dev, void *opaque, unsigned off, unsigned len);
	void (*write)(struct pci_dev *dev, void *opaque, unsigned off, unsigned len);
};

struct pci_dev_id {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_id;
	uint32_t class_code;	/* base class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
};

struct pci_bar {
	enum pci_bar_type type;	/* NONE also for the upper half of a 64-bit BAR */
	bool prefetchable;
	uint64_t size;
	bus_handler_fn fn;
	void *opaque;
	struct pci_dev *dev;
	int index;
	uint64_t addr;		/* where it is registered, or PCI_BAR_UNMAPPED */
	uint64_t refused;	/* last address we declined, to log it once */
};

#define PCI_MAX_CAPS 16

struct pci_cap {
	uint8_t id, off, len;
	const struct pci_cap_ops *ops;
	void *opaque;
};

struct pci_dev {
	char name[32];
	struct pci_bus *bus;	/* set by pci_bus_add() */
	int devfn;
	pthread_mutex_t lock;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* bits the guest clears by writing 1 */
	struct pci_bar bars[PCI_NUM_BARS];
	struct pci_cap caps[PCI_MAX_CAPS];
	int ncaps;
	unsigned cap_next;	/* first free byte for the next capability */
	const struct pci_dev_ops *ops;
	void *opaque;		/* the owner's, for its callbacks */
};

struct pci_bus_config {
	struct bus *pio, *mmio;	/* &vm->pio and &vm->mmio in the VMM */
	struct pci_layout layout;
	/* Port 0xcf9 (a chipset's reset control register) sits inside the
	 * CONFIG_ADDRESS dword. Only dword accesses reach CONFIG_ADDRESS; a
	 * byte access to 0xcf9 goes here instead. NULL: ignored. */
	bus_handler_fn cf9_fn;
	void *cf9_opaque;
};

struct pci_bus {
	bool initialized;
	struct bus *pio, *mmio;
	struct pci_layout layout;
	bus_handler_fn cf9_fn;
	void *cf9_opaque;
	/* devs[] and the BAR allocators; config accesses only read devs[],
	 * which stops changing before the vCPUs start. */
	pthread_mutex_t lock;
	uint32_t config_address;	/* the 0xcf8 latch, accessed atomically */
	struct pci_dev *devs[PCI_DEVFN_COUNT];
	uint64_t next_io, next_mmio32, next_mmio64;
	bool ports_registered, ecam_registered;
	struct pci_dev host;		/* 00:00.0 */
};

/* Registers the config ports and ECAM on cfg's buses and adds the host
 * bridge. -EINVAL for a layout with overlapping or misaligned windows,
 * -EEXIST if the ports or ECAM range are taken. pci_bus_destroy() is needed
 * either way (it is also safe on a zeroed struct). */
int pci_bus_init(struct pci_bus *bus, const struct pci_bus_config *cfg);
/* Unregisters everything from the buses, without bar_moved callbacks: the
 * owners are tearing down too. Devices stay the owners' to destroy. */
void pci_bus_destroy(struct pci_bus *bus);

/*
 * Puts dev at devfn (slot << 3 | function), or in the first free slot as
 * function 0 if devfn < 0. Function 0 of the slot must already be there for
 * a function > 0 (it is then marked multi-function). Places every BAR in
 * its window (64-bit ones in the 64-bit window if there is one), naturally
 * aligned, enables I/O and memory decode as firmware would, and maps the
 * BARs (bar_moved callbacks from PCI_BAR_UNMAPPED). Returns the devfn, or
 * -EBUSY (devfn taken), -ENOSPC (no slot, or a window is full), -EINVAL.
 */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev, int devfn);

/* Config-space access by devfn as the guest sees it: absent functions read
 * all ones, offsets past 255 read all ones (no extended space). len 1, 2
 * or 4. Takes the device lock. The CF8/CFC and ECAM handlers use these. */
uint32_t pci_bus_cfg_read(struct pci_bus *bus, unsigned devfn, unsigned off,
			  unsigned len);
void pci_bus_cfg_write(struct pci_bus *bus, unsigned devfn, unsigned off,
		       unsigned len, uint32_t val);

/*
 * Device side. Call pci_dev_init(), then pci_dev_set_bar() and
 * pci_add_capability() as needed, then pci_bus_add().
 */
int pci_dev_init(struct pci_dev *dev, const char *name,
		 const struct pci_dev_id *id, const struct pci_dev_ops *ops,
		 void *opaque);
void pci_dev_destroy(struct pci_dev *dev);

/* Declares BAR bar: size a power of two (memory >= 16 bytes, I/O 4..256);
 * fn handles its accesses with offsets relative to the BAR (device lock
 * held). A 64-bit BAR uses slots bar and bar + 1. Before pci_bus_add(). */
int pci_dev_set_bar(struct pci_dev *dev, int bar, enum pci_bar_type type,
		    uint64_t size, bool prefetchable, bus_handler_fn fn,
		    void *opaque);

/* Appends a capability of len bytes (>= 2; id and next pointer are filled
 * in and read-only, the rest reads 0 and is read-only until the caller
 * sets write masks) to the list at 0x34, sets the status register's
 * capability-list bit, and returns its config-space offset, or -ENOSPC.
 * ops may be NULL. Before pci_bus_add(). */
int pci_add_capability(struct pci_dev *dev, uint8_t id, unsigned len,
		       const struct pci_cap_ops *ops, void *opaque);

/* Raw config-space accessors for the owner: no masks, no hooks, no lock
 * (before pci_bus_add(), or with the device lock held). len 1, 2 or 4. */
uint32_t pci_cfg_get(const struct pci_dev *dev, unsigned off, unsigned len);
void pci_cfg_set(struct pci_dev *dev, unsigned off, unsigned len, uint32_t val);
void pci_cfg_set_wmask(struct pci_dev *dev, unsigned off, unsigned len,
		       uint32_t mask);

/* Where BAR bar is mapped now, or PCI_BAR_UNMAPPED. Device lock held. */
uint64_t pci_bar_addr(const struct pci_dev *dev, int bar);

void pci_dev_lock(struct pci_dev *dev);
void pci_dev_unlock(struct pci_dev *dev);

#endif
