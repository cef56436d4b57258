/* PCI without KVM: the address map, config mechanism #1 and ECAM, config
 * space masks, capabilities, BAR sizing, placement and moves on the bus,
 * and the ACPI description (MCFG, the SSDT with PCI0's _CRS). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm/bus.h"
#include "lib/log.h"
#include "tests/unit/tap.h"
#include "pci/pci.h"
#include "vmm/acpi.h"

#define GIB (1ULL << 30)

extern char **environ;

/* ---- Helpers: a machine's two buses and a guest's view of them ---- */

struct rig {
	struct bus pio, mmio;
	struct pci_bus pci;
	int cf9_hits;
	uint8_t cf9_last;
};

static void cf9_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct rig *r = opaque;

	(void)off;
	(void)len;
	r->cf9_hits++;
	if (is_write)
		r->cf9_last = *(uint8_t *)data;
	else
		*(uint8_t *)data = 0x5a;
}

static int rig_init(struct rig *r)
{
	struct pci_bus_config cfg = { .pio = &r->pio, .mmio = &r->mmio,
				      .cf9_fn = cf9_io, .cf9_opaque = r };

	memset(r, 0, sizeof(*r));
	bus_init(&r->pio, "pio");
	bus_init(&r->mmio, "mmio");
	cfg.pio = &r->pio;
	cfg.mmio = &r->mmio;
	cfg.cf9_opaque = r;
	pci_layout_init(&cfg.layout, 512ULL << 20, 40);
	return pci_bus_init(&r->pci, &cfg);
}

static void rig_destroy(struct rig *r)
{
	pci_bus_destroy(&r->pci);
	bus_destroy(&r->pio);
	bus_destroy(&r->mmio);
}

static uint32_t le(const uint8_t *p, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint32_t pio_read(struct rig *r, uint16_t port, unsigned len)
{
	uint8_t d[4] = { 0 };

	bus_dispatch(&r->pio, port, d, len, false);
	return le(d, len);
}

static void pio_write(struct rig *r, uint16_t port, unsigned len, uint32_t v)
{
	uint8_t d[4];

	for (unsigned i = 0; i < 4; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	bus_dispatch(&r->pio, port, d, len, true);
}

static uint32_t conf1_addr(unsigned bus, unsigned devfn, unsigned reg)
{
	return 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xfc);
}

/* Config read through 0xcf8/0xcfc, the way Linux's pci_conf1_read does. */
static uint32_t cf8_read(struct rig *r, unsigned devfn, unsigned reg, unsigned len)
{
	pio_write(r, 0xcf8, 4, conf1_addr(0, devfn, reg));
	return pio_read(r, 0xcfc + (reg & 3), len);
}

static void cf8_write(struct rig *r, unsigned devfn, unsigned reg, unsigned len, uint32_t v)
{
	pio_write(r, 0xcf8, 4, conf1_addr(0, devfn, reg));
	pio_write(r, 0xcfc + (reg & 3), len, v);
}

static uint64_t ecam_read(struct rig *r, unsigned devfn, unsigned reg, unsigned len)
{
	uint8_t d[8] = { 0 };
	uint64_t v = 0;

	bus_dispatch(&r->mmio, PCI_ECAM_BASE + (devfn << 12) + reg, d, len, false);
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static void ecam_write(struct rig *r, unsigned devfn, unsigned reg, unsigned len, uint32_t v)
{
	uint8_t d[4];

	for (unsigned i = 0; i < 4; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	bus_dispatch(&r->mmio, PCI_ECAM_BASE + (devfn << 12) + reg, d, len, true);
}

/* ---- The address map ---- */

static void test_layout(struct tap *t)
{
	struct pci_layout l;

	pci_layout_init(&l, 512ULL << 20, 40);
	ok(t, l.ecam_base == 0xe0000000 && l.ecam_size == 1 << 20, "ECAM: bus 0 at 0xe0000000");
	ok(t, l.mmio32.base == 0xc0000000 && l.mmio32.base + l.mmio32.size == l.ecam_base,
	   "32-bit window: from the end of low RAM up to ECAM");
	ok(t, l.io.base == 0xd00 && l.io.base + l.io.size == 0x10000, "I/O window 0xd00-0xffff");
	ok(t, l.mmio64.base == 32 * GIB && l.mmio64.size == 32 * GIB,
	   "512 MiB, 40 bits: 64-bit window [32 GiB, 64 GiB)");

	pci_layout_init(&l, RAM_HIGH_START + 60 * GIB, 40);
	ok(t, l.mmio64.base == 64 * GIB && l.mmio64.size == 32 * GIB,
	   "63 GiB of RAM: the window moves above it, 32 GiB aligned");

	pci_layout_init(&l, 512ULL << 20, 36);
	ok(t, l.mmio64.base == 32 * GIB && l.mmio64.base + l.mmio64.size == 1ULL << 36,
	   "36 address bits: the window ends exactly at 64 GiB");

	pci_layout_init(&l, 500 * GIB + 1, 39);
	ok(t, l.mmio64.base == 501 * GIB && l.mmio64.base + l.mmio64.size == 1ULL << 39,
	   "RAM close to 2^39: the window shrinks to what is left above RAM");

	pci_layout_init(&l, RAM_HIGH_START + 1023 * GIB, 40);
	ok(t, l.mmio64.size == 0, "1 TiB of RAM with 40 bits: no 64-bit window at all");

	pci_layout_init(&l, 512ULL << 20, 0);
	ok(t, l.mmio64.base + l.mmio64.size <= 1ULL << 36,
	   "unknown address width: assume 36 bits");
}

/* ---- Host bridge, config mechanism #1, ECAM ---- */

static void test_host_bridge(struct tap *t)
{
	struct rig r;
	uint8_t d[8];

	ok(t, rig_init(&r) == 0, "bus with host bridge");
	ok(t, cf8_read(&r, 0, PCI_VENDOR_ID, 4) == 0x29c08086, "CF8/CFC: 00:00.0 is 8086:29c0");
	ok(t, cf8_read(&r, 0, PCI_CLASS_REVISION, 4) >> 8 == 0x060000, "class 0x060000, host bridge");
	ok(t, cf8_read(&r, 0, PCI_HEADER_TYPE, 1) == 0, "header type 0, single function");
	ok(t, cf8_read(&r, 0, PCI_DEVICE_ID, 2) == 0x29c0, "word read at 0xcfe: device id");
	ok(t, cf8_read(&r, 0, PCI_VENDOR_ID + 1, 1) == 0x80, "byte read at 0xcfd");
	ok(t, (cf8_read(&r, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) == 0 &&
		      cf8_read(&r, 0, PCI_INTERRUPT_PIN, 1) == 0,
	   "no capabilities, no interrupt pin");
	ok(t, cf8_read(&r, 5 << 3, PCI_VENDOR_ID, 4) == 0xffffffff, "absent 00:05.0 reads all ones");
	ok(t, cf8_read(&r, 7, PCI_VENDOR_ID, 2) == 0xffff, "absent function 00:00.7: vendor 0xffff");

	pio_write(&r, 0xcf8, 4, conf1_addr(1, 0, 0));
	ok(t, pio_read(&r, 0xcfc, 4) == 0xffffffff, "bus 1 does not exist");
	pio_write(&r, 0xcf8, 4, 0x00000000);
	ok(t, pio_read(&r, 0xcfc, 4) == 0xffffffff, "enable bit clear: no config cycle");

	/* Linux's pci_check_type1(): outb 0x01 to 0xcfb, then the latch
	 * must read back what was written as a dword. */
	pio_write(&r, 0xcf8, 4, 0x80000000);
	pio_write(&r, 0xcfb, 1, 0x01);
	ok(t, pio_read(&r, 0xcf8, 4) == 0x80000000, "CONFIG_ADDRESS reads back; a byte at 0xcfb leaves it");
	ok(t, pio_read(&r, 0xcf8, 2) == 0xffff, "a word at 0xcf8 is not CONFIG_ADDRESS");

	pio_write(&r, 0xcf9, 1, 0x06);
	ok(t, r.cf9_hits == 1 && r.cf9_last == 0x06, "byte write to 0xcf9 goes to the reset register");
	ok(t, pio_read(&r, 0xcf9, 1) == 0x5a && r.cf9_hits == 2, "and so does a byte read");
	ok(t, pio_read(&r, 0xcf8, 4) == 0x80000000, "the latch is untouched by 0xcf9");

	ok(t, ecam_read(&r, 0, PCI_VENDOR_ID, 4) == 0x29c08086, "ECAM: 00:00.0 is 8086:29c0");
	ok(t, ecam_read(&r, 0, PCI_DEVICE_ID, 2) == 0x29c0, "ECAM word read");
	ok(t, ecam_read(&r, 0, 0, 8) == 0x0000000029c08086ULL, "ECAM 8-byte read: two dwords");
	ok(t, ecam_read(&r, 9 << 3, PCI_VENDOR_ID, 4) == 0xffffffff, "ECAM: absent 00:09.0 all ones");
	ok(t, ecam_read(&r, 0, 0x100, 4) == 0xffffffff, "no extended config space");
	ok(t, !bus_dispatch(&r.mmio, PCI_ECAM_BASE + (1 << 20), d, 4, false),
	   "ECAM covers bus 0 only");

	ecam_write(&r, 0, PCI_VENDOR_ID, 4, 0x12345678);
	ok(t, cf8_read(&r, 0, PCI_VENDOR_ID, 4) == 0x29c08086, "ids are read-only");
	ecam_write(&r, 0, PCI_CACHE_LINE_SIZE, 1, 0x10);
	ok(t, cf8_read(&r, 0, PCI_CACHE_LINE_SIZE, 1) == 0x10,
	   "a write through ECAM is seen through CF8 (cache line size)");
	rig_destroy(&r);

	ok(t, r.pio.n == 0 && r.mmio.n == 0, "pci_bus_destroy unregisters ports and ECAM");
	{
		struct pci_bus b;

		memset(&b, 0, sizeof(b));
		pci_bus_destroy(&b);
		ok(t, 1, "pci_bus_destroy on a zeroed bus is harmless");
	}
}

static void test_port_conflict(struct tap *t)
{
	struct bus pio, mmio;
	struct pci_bus_config cfg = { .pio = &pio, .mmio = &mmio };
	struct pci_bus bus;
	int dummy = 0;

	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	pci_layout_init(&cfg.layout, 1 << 30, 40);
	/* pm.c's reset register: the machine must hand 0xcf9 over. */
	bus_register(&pio, 0xcf9, 1, cf9_io, &dummy);
	ok(t, pci_bus_init(&bus, &cfg) == -EEXIST, "0xcf9 already registered: -EEXIST");
	pci_bus_destroy(&bus);
	bus_unregister(&pio, 0xcf9);
	cfg.layout.mmio64 = (struct pci_window){ 0xe0000000, 1 << 20 };
	ok(t, pci_bus_init(&bus, &cfg) == -EINVAL, "a window over ECAM is refused");
	pci_bus_destroy(&bus);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

/* ---- A device with BARs and capabilities ---- */

struct moved {
	int bar;
	uint64_t old_addr, new_addr;
};

struct testdev {
	struct pci_dev dev;
	struct moved moves[32];
	int nmoves;
	int hits[PCI_NUM_BARS];
	uint64_t last_off[PCI_NUM_BARS];
	int cap_reads, cap_writes;
	unsigned cap_last_off, cap_last_len;
};

struct bar_ctx {
	struct testdev *td;
	int bar;
};

static void td_bar_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct bar_ctx *c = opaque;

	c->td->hits[c->bar]++;
	c->td->last_off[c->bar] = off;
	if (!is_write)
		memset(data, 0x40 + c->bar, len);
}

static void td_bar_moved(struct pci_dev *dev, int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct testdev *td = dev->opaque;

	if (td->nmoves < 32)
		td->moves[td->nmoves++] = (struct moved){ bar, old_addr, new_addr };
}

static void td_cap_read(struct pci_dev *dev, void *opaque, unsigned off, unsigned len)
{
	struct testdev *td = opaque;

	td->cap_reads++;
	td->cap_last_off = off;
	td->cap_last_len = len;
	/* Like virtio's PCI configuration access capability: the read
	 * hook produces the value. */
	pci_cfg_set(dev, dev->caps[0].off + 12, 4, 0xc0ffee00u + (unsigned)td->cap_reads);
}

static void td_cap_write(struct pci_dev *dev, void *opaque, unsigned off, unsigned len)
{
	struct testdev *td = opaque;

	(void)dev;
	td->cap_writes++;
	td->cap_last_off = off;
	td->cap_last_len = len;
}

static const struct pci_dev_ops td_ops = { .bar_moved = td_bar_moved };
static const struct pci_cap_ops td_cap_ops = { .read = td_cap_read, .write = td_cap_write };
static const struct pci_dev_id td_id = {
	.vendor = 0x1af4, .device = 0x1041, .subsys_vendor = 0x1af4, .subsys_id = 0x1100,
	.class_code = 0x020000, .revision = 1,
};

static struct bar_ctx ctx[PCI_NUM_BARS];

/* BAR 0: 4 KiB 32-bit; BAR 2: 16 KiB 64-bit prefetchable; BAR 4: 32 I/O ports. */
static int td_init(struct tap *t, struct testdev *td)
{
	int c1, c2;

	memset(td, 0, sizeof(*td));
	ok(t, pci_dev_init(&td->dev, "testdev", &td_id, &td_ops, td) == 0, "pci_dev_init");
	for (int i = 0; i < PCI_NUM_BARS; i++)
		ctx[i] = (struct bar_ctx){ td, i };
	ok(t, pci_dev_set_bar(&td->dev, 0, PCI_BAR_MEM32, 4096, false, td_bar_io, &ctx[0]) == 0 &&
		      pci_dev_set_bar(&td->dev, 2, PCI_BAR_MEM64, 16384, true, td_bar_io, &ctx[2]) == 0 &&
		      pci_dev_set_bar(&td->dev, 4, PCI_BAR_IO, 32, false, td_bar_io, &ctx[4]) == 0,
	   "three BARs declared");
	ok(t, pci_dev_set_bar(&td->dev, 3, PCI_BAR_MEM32, 4096, false, td_bar_io, &ctx[3]) == -EBUSY,
	   "the upper half of a 64-bit BAR is taken");
	ok(t, pci_dev_set_bar(&td->dev, 1, PCI_BAR_MEM32, 3000, false, td_bar_io, &ctx[1]) == -EINVAL,
	   "a size that is not a power of two is refused");
	ok(t, pci_dev_set_bar(&td->dev, 5, PCI_BAR_MEM64, 4096, false, td_bar_io, &ctx[5]) == -EINVAL,
	   "a 64-bit BAR cannot start in slot 5");
	ok(t, pci_dev_set_bar(&td->dev, 5, PCI_BAR_IO, 512, false, td_bar_io, &ctx[5]) == -EINVAL,
	   "I/O BARs are at most 256 bytes");

	/* Two vendor-specific capabilities, as virtio-pci adds them. */
	c1 = pci_add_capability(&td->dev, PCI_CAP_ID_VNDR, 16, &td_cap_ops, td);
	c2 = pci_add_capability(&td->dev, PCI_CAP_ID_VNDR, 19, NULL, NULL);
	ok(t, c1 == 0x40 && c2 == 0x50, "capabilities at 0x40 and 0x50 (%d, %d)", c1, c2);
	ok(t, pci_add_capability(&td->dev, PCI_CAP_ID_VNDR, 200, NULL, NULL) == -ENOSPC,
	   "a capability past 0xff does not fit");
	pci_cfg_set_wmask(&td->dev, c1 + 12, 4, 0xffffffff);
	pci_cfg_set(&td->dev, c1 + 2, 1, 16);		/* cap_len, as virtio has it */
	return c1;
}

static bool find_move(const struct testdev *td, int bar, uint64_t old_addr, uint64_t new_addr)
{
	for (int i = 0; i < td->nmoves; i++)
		if (td->moves[i].bar == bar && td->moves[i].old_addr == old_addr &&
		    td->moves[i].new_addr == new_addr)
			return true;
	return false;
}

static bool mmio_hits(struct rig *r, struct testdev *td, int bar, uint64_t addr)
{
	uint8_t d[4];
	int before = td->hits[bar];

	return bus_dispatch(bar == 4 ? &r->pio : &r->mmio, addr, d, 4, false) &&
	       td->hits[bar] == before + 1 && d[0] == 0x40 + bar;
}

static void test_device(struct tap *t)
{
	struct rig r;
	struct testdev td;
	uint64_t b0, b2, b4;
	unsigned devfn, cap, n;
	uint32_t v;
	int c1;

	rig_init(&r);
	c1 = td_init(t, &td);
	ok(t, pci_bus_add(&r.pci, &td.dev, -1) == 8, "added as 00:01.0");
	devfn = 8;
	ok(t, pci_add_capability(&td.dev, PCI_CAP_ID_VNDR, 8, NULL, NULL) == -EINVAL &&
		      pci_dev_set_bar(&td.dev, 1, PCI_BAR_MEM32, 4096, false, td_bar_io, &ctx[1]) == -EINVAL,
	   "no capabilities or BARs after pci_bus_add");

	/* Placement, as firmware would do it. */
	b0 = pci_bar_addr(&td.dev, 0);
	b2 = pci_bar_addr(&td.dev, 2);
	b4 = pci_bar_addr(&td.dev, 4);
	ok(t, b0 >= 0xc0000000 && b0 < 0xe0000000 && b0 % 4096 == 0, "BAR 0 in the 32-bit window: 0x%llx",
	   (unsigned long long)b0);
	ok(t, b2 >= 32 * GIB && b2 < 64 * GIB && b2 % 16384 == 0, "BAR 2 in the 64-bit window: 0x%llx",
	   (unsigned long long)b2);
	ok(t, b4 >= 0xd00 && b4 < 0x10000 && b4 % 32 == 0, "BAR 4 in the I/O window: 0x%llx",
	   (unsigned long long)b4);
	ok(t, cf8_read(&r, devfn, PCI_BASE_ADDRESS_0, 4) == (uint32_t)b0, "BAR 0 register");
	ok(t, cf8_read(&r, devfn, PCI_BASE_ADDRESS_2, 4) == ((uint32_t)b2 | 0xc) &&
		      cf8_read(&r, devfn, PCI_BASE_ADDRESS_3, 4) == (uint32_t)(b2 >> 32),
	   "BAR 2 registers: 64-bit, prefetchable, both halves");
	ok(t, cf8_read(&r, devfn, PCI_BASE_ADDRESS_4, 4) == ((uint32_t)b4 | 1), "BAR 4 register: I/O");
	ok(t, (cf8_read(&r, devfn, PCI_COMMAND, 2) & 3) == 3, "I/O and memory decode enabled");
	ok(t, td.nmoves == 3 && find_move(&td, 0, PCI_BAR_UNMAPPED, b0) &&
		      find_move(&td, 2, PCI_BAR_UNMAPPED, b2) && find_move(&td, 4, PCI_BAR_UNMAPPED, b4),
	   "bar_moved for each BAR from unmapped");
	ok(t, mmio_hits(&r, &td, 0, b0 + 0x10) && td.last_off[0] == 0x10 &&
		      mmio_hits(&r, &td, 2, b2 + 0x3000) && td.last_off[2] == 0x3000 &&
		      mmio_hits(&r, &td, 4, b4 + 2) && td.last_off[4] == 2,
	   "BAR accesses reach the owner's handler with BAR-relative offsets");
	ok(t, cf8_read(&r, devfn, PCI_SUBSYSTEM_VENDOR_ID, 4) == 0x11001af4 &&
		      cf8_read(&r, devfn, PCI_CLASS_REVISION, 4) == 0x02000001,
	   "subsystem ids, class and revision");

	/* The capability list as Linux walks it. */
	ok(t, cf8_read(&r, devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, "status: capability list");
	cap = cf8_read(&r, devfn, PCI_CAPABILITY_LIST, 1);
	n = 0;
	while (cap && n < 48) {
		ok(t, ecam_read(&r, devfn, cap, 1) == PCI_CAP_ID_VNDR, "cap at 0x%x: vendor-specific", cap);
		cap = ecam_read(&r, devfn, cap + 1, 1);
		n++;
	}
	ok(t, n == 2, "two capabilities on the list, then 0");
	cf8_write(&r, devfn, c1 + 1, 1, 0x99);
	ok(t, cf8_read(&r, devfn, c1 + 1, 1) == 0x50, "next pointers are read-only");

	/* Hooks: reads may produce the bytes, writes land through the mask. */
	v = cf8_read(&r, devfn, c1 + 12, 4);
	ok(t, td.cap_reads >= 1 && td.cap_last_off == 12 && td.cap_last_len == 4 &&
		      (v & 0xffffff00) == 0xc0ffee00,
	   "read hook runs first and its bytes are returned");
	td.cap_writes = 0;
	cf8_write(&r, devfn, c1 + 14, 2, 0xabcd);
	ok(t, td.cap_writes == 1 && td.cap_last_off == 14 && td.cap_last_len == 2,
	   "write hook with the offset inside the capability");
	cf8_write(&r, devfn, c1 + 8, 4, 0xffffffff);
	ok(t, pci_cfg_get(&td.dev, c1 + 8, 4) == 0, "capability bytes without a write mask are read-only");
	td.cap_writes = 0;
	cf8_write(&r, devfn, c1 - 4, 4, 0);
	ok(t, td.cap_writes == 0, "no hook for a write outside the capability");

	/* Status: write 1 to clear; command: only the defined bits. */
	pci_cfg_set(&td.dev, PCI_STATUS + 1, 1, PCI_STATUS_REC_MASTER_ABORT >> 8);
	cf8_write(&r, devfn, PCI_STATUS, 2, 0);
	ok(t, cf8_read(&r, devfn, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT, "status: writing 0 keeps the bit");
	cf8_write(&r, devfn, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST);
	v = cf8_read(&r, devfn, PCI_STATUS, 2);
	ok(t, !(v & PCI_STATUS_REC_MASTER_ABORT) && (v & PCI_STATUS_CAP_LIST),
	   "status: writing 1 clears an error bit, not the capability bit");
	cf8_write(&r, devfn, PCI_ROM_ADDRESS, 4, 0xfffff800);
	ok(t, cf8_read(&r, devfn, PCI_ROM_ADDRESS, 4) == 0, "no expansion ROM: sizing reads 0");
	ok(t, cf8_read(&r, devfn, PCI_INTERRUPT_PIN, 1) == 0, "interrupt pin 0: MSI-X only");

	/* Sizing, as Linux's __pci_read_base does it: decode off, all ones,
	 * read back, restore, decode on. */
	td.nmoves = 0;
	cf8_write(&r, devfn, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	ok(t, td.nmoves == 3 && find_move(&td, 0, b0, PCI_BAR_UNMAPPED) &&
		      find_move(&td, 4, b4, PCI_BAR_UNMAPPED),
	   "decode off: every BAR unmapped, owner told");
	ok(t, !bus_dispatch(&r.mmio, b0, (uint8_t[4]){ 0 }, 4, false), "nothing decodes BAR 0 now");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	ok(t, cf8_read(&r, devfn, PCI_BASE_ADDRESS_0, 4) == 0xfffff000, "BAR 0 sizes as 4 KiB");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	ok(t, cf8_read(&r, devfn, PCI_BASE_ADDRESS_2, 4) == 0xffffc00c &&
		      cf8_read(&r, devfn, PCI_BASE_ADDRESS_3, 4) == 0xffffffff,
	   "BAR 2 sizes as 16 KiB, 64-bit, prefetchable");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	ok(t, cf8_read(&r, devfn, PCI_BASE_ADDRESS_4, 4) == 0xffffffe1, "BAR 4 sizes as 32 ports");
	ok(t, td.nmoves == 3, "no mapping while decode is off");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_0, 4, (uint32_t)b0);
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_2, 4, (uint32_t)b2);
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_3, 4, (uint32_t)(b2 >> 32));
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_4, 4, (uint32_t)b4);
	cf8_write(&r, devfn, PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	ok(t, td.nmoves == 6 && find_move(&td, 2, PCI_BAR_UNMAPPED, b2) && mmio_hits(&r, &td, 2, b2),
	   "decode back on: mapped where they were");

	/* A 32-bit BAR moved with decode on: one move, old range gone. */
	td.nmoves = 0;
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_0, 4, 0xd0000000);
	ok(t, td.nmoves == 1 && find_move(&td, 0, b0, 0xd0000000), "BAR 0 moved to 0xd0000000");
	ok(t, mmio_hits(&r, &td, 0, 0xd0000000 + 4) && td.last_off[0] == 4 &&
		      !bus_dispatch(&r.mmio, b0, (uint8_t[4]){ 0 }, 4, false),
	   "the handler moved on the bus");

	/* A 64-bit BAR written half by half with decode on (Linux turns
	 * decode off first; others may not). Each intermediate address is
	 * mapped only if it can be decoded. */
	ok(t, (uint32_t)b2 == 0, "the first 64-bit BAR sits at the window's (aligned) base");
	td.nmoves = 0;
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_3, 4, 0);
	ok(t, pci_bar_addr(&td.dev, 2) == PCI_BAR_UNMAPPED && find_move(&td, 2, b2, PCI_BAR_UNMAPPED),
	   "high half 0 first: address 0 means unassigned, unmapped");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_2, 4, 0xd1000000 | 0xc);
	ok(t, pci_bar_addr(&td.dev, 2) == 0xd1000000 && mmio_hits(&r, &td, 2, 0xd1000000),
	   "then the low half: a 64-bit BAR below 4 GiB, in the 32-bit window");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_2, 4, 0x10000000 | 0xc);
	ok(t, pci_bar_addr(&td.dev, 2) == PCI_BAR_UNMAPPED,
	   "low half first towards 0xc10000000: 0x10000000 is RAM, unmapped meanwhile");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_3, 4, 0xc);
	ok(t, pci_bar_addr(&td.dev, 2) == 48 * GIB + 0x10000000 &&
		      mmio_hits(&r, &td, 2, 48 * GIB + 0x10000000) &&
		      find_move(&td, 2, PCI_BAR_UNMAPPED, 48 * GIB + 0x10000000),
	   "high half written: mapped at 0xc10000000");

	/* Addresses that cannot be decoded are refused, not mapped. */
	td.nmoves = 0;
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_0, 4, 0x00100000);
	ok(t, pci_bar_addr(&td.dev, 0) == PCI_BAR_UNMAPPED && find_move(&td, 0, 0xd0000000, PCI_BAR_UNMAPPED),
	   "BAR 0 over RAM (1 MiB): unmapped");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_0, 4, 0xfee00000);
	ok(t, pci_bar_addr(&td.dev, 0) == PCI_BAR_UNMAPPED, "BAR 0 over the LAPIC: unmapped");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_0, 4, 0xe0000000);
	ok(t, pci_bar_addr(&td.dev, 0) == PCI_BAR_UNMAPPED &&
		      ecam_read(&r, 0, 0, 4) == 0x29c08086,
	   "BAR 0 over ECAM: unmapped, ECAM still works");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_4, 4, 0x3e0);
	ok(t, pci_bar_addr(&td.dev, 4) == PCI_BAR_UNMAPPED, "BAR 4 among the legacy ports (0x3e0): unmapped");
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_0, 4, (uint32_t)b0);
	cf8_write(&r, devfn, PCI_BASE_ADDRESS_4, 4, (uint32_t)b4);
	ok(t, pci_bar_addr(&td.dev, 0) == b0 && pci_bar_addr(&td.dev, 4) == b4, "and back in place");

	/* Removing and rescanning (echo 1 > remove; rescan) resizes and
	 * reprograms everything through the same paths: nothing new. */
	{
		struct testdev td2;
		uint64_t c0;

		td_init(t, &td2);
		for (int i = 0; i < PCI_NUM_BARS; i++)
			ctx[i].td = &td2;	/* both devices' handlers log into td2 */
		ok(t, pci_bus_add(&r.pci, &td2.dev, 2 << 3) == 16, "second device at 00:02.0");
		c0 = pci_bar_addr(&td2.dev, 0);
		ok(t, c0 != PCI_BAR_UNMAPPED && c0 != b0, "placed after the first one");
		ecam_write(&r, 16, PCI_BASE_ADDRESS_0, 4, (uint32_t)b0);
		ok(t, pci_bar_addr(&td2.dev, 0) == PCI_BAR_UNMAPPED && find_move(&td2, 0, c0, PCI_BAR_UNMAPPED),
		   "moved over the first device's BAR 0: refused, unmapped");
		cf8_write(&r, devfn, PCI_BASE_ADDRESS_0, 4, 0xd8000000);
		ecam_write(&r, 16, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
		ok(t, pci_bar_addr(&td2.dev, 0) == b0, "retried on its next command write once free");

		/* Functions: 00:02.1 needs 00:02.0 and makes it multi-function. */
		{
			struct pci_dev f1, f2;

			pci_dev_init(&f1, "fn1", &td_id, NULL, NULL);
			pci_dev_init(&f2, "fn2", &td_id, NULL, NULL);
			ok(t, ecam_read(&r, 16, PCI_HEADER_TYPE, 1) == 0, "00:02.0 single-function");
			ok(t, pci_bus_add(&r.pci, &f1, 17) == 17 &&
				      ecam_read(&r, 16, PCI_HEADER_TYPE, 1) == 0x80,
			   "00:02.1 added; 00:02.0 now multi-function");
			ok(t, pci_bus_add(&r.pci, &f2, 17) == -EBUSY, "00:02.1 is taken");
			ok(t, pci_bus_add(&r.pci, &f2, (5 << 3) | 1) == -EINVAL, "00:05.1 without 00:05.0");
			ok(t, pci_bus_add(&r.pci, &f2, 256) == -EINVAL, "devfn 256 does not exist");
			rig_destroy(&r);
			pci_dev_destroy(&f1);
			pci_dev_destroy(&f2);
		}
		pci_dev_destroy(&td2.dev);
	}
	pci_dev_destroy(&td.dev);
}

static void test_window_full(struct tap *t)
{
	struct rig r;
	struct pci_dev big[3];

	rig_init(&r);
	for (int i = 0; i < 3; i++) {
		pci_dev_init(&big[i], "big", &td_id, NULL, NULL);
		pci_dev_set_bar(&big[i], 0, PCI_BAR_MEM32, 256 << 20, false, td_bar_io, &ctx[0]);
	}
	ok(t, pci_bus_add(&r.pci, &big[0], -1) == 8 && pci_bus_add(&r.pci, &big[1], -1) == 16,
	   "two 256 MiB BARs fill the 32-bit window");
	ok(t, pci_bus_add(&r.pci, &big[2], -1) == -ENOSPC, "a third gets -ENOSPC");
	ok(t, ecam_read(&r, 24, PCI_VENDOR_ID, 4) == 0xffffffff, "and is not on the bus");
	rig_destroy(&r);
	for (int i = 0; i < 3; i++)
		pci_dev_destroy(&big[i]);
}

/*
 * vCPU threads at once: one keeps toggling memory decode and moving BAR 0
 * through config space, the others keep hitting the BAR. Under ASan this
 * checks the bus and device locking; the handler must only ever run with
 * the device lock held, so it must never see another call in progress.
 */
struct race {
	struct rig *r;
	struct pci_dev dev;
	bool stop;
	int in_handler, overlaps, hits;
};

static void race_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct race *rc = opaque;

	(void)off;
	if (__atomic_add_fetch(&rc->in_handler, 1, __ATOMIC_SEQ_CST) != 1)
		rc->overlaps++;
	__atomic_add_fetch(&rc->hits, 1, __ATOMIC_RELAXED);
	if (!is_write)
		memset(data, 0, len);
	__atomic_sub_fetch(&rc->in_handler, 1, __ATOMIC_SEQ_CST);
}

static void *race_reader(void *opaque)
{
	struct race *rc = opaque;
	uint8_t d[4];

	while (!__atomic_load_n(&rc->stop, __ATOMIC_RELAXED)) {
		bus_dispatch(&rc->r->mmio, 0xd0000000, d, 4, false);
		bus_dispatch(&rc->r->mmio, 0xd0100000, d, 4, true);
	}
	return NULL;
}

static void test_concurrency(struct tap *t)
{
	static const struct pci_dev_id rid = { .vendor = 0x1234, .device = 0x1 };
	struct rig r;
	struct race rc = { .r = &r };
	pthread_t th[3];
	int devfn;

	rig_init(&r);
	pci_dev_init(&rc.dev, "race", &rid, NULL, NULL);
	pci_dev_set_bar(&rc.dev, 0, PCI_BAR_MEM32, 1 << 20, false, race_io, &rc);
	devfn = pci_bus_add(&r.pci, &rc.dev, -1);
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, race_reader, &rc);
	/* Until the readers got plenty through, bounded in case they cannot. */
	for (int i = 0; i < 2000000 && __atomic_load_n(&rc.hits, __ATOMIC_RELAXED) < 20000; i++) {
		pci_bus_cfg_write(&r.pci, devfn, PCI_BASE_ADDRESS_0, 4,
				  i & 1 ? 0xd0000000 : 0xd0100000);
		pci_bus_cfg_write(&r.pci, devfn, PCI_COMMAND, 2, i % 3 ? PCI_COMMAND_MEMORY : 0);
	}
	__atomic_store_n(&rc.stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ok(t, rc.overlaps == 0, "BAR handler calls never overlap (%d calls under moves)", rc.hits);
	rig_destroy(&r);
	pci_dev_destroy(&rc.dev);
}

/* ---- ACPI: MCFG and the SSDT ---- */

static const struct acpi_table_header *find_table(const uint8_t *mem, const char *sig)
{
	const struct acpi_rsdp *rsdp = (const void *)mem;
	const struct acpi_xsdt *x = (const void *)(mem + (rsdp->xsdt_address - ACPI_TABLES_GPA));
	unsigned n = (x->header.length - sizeof(*x)) / 8;

	for (unsigned i = 0; i < n; i++) {
		const struct acpi_table_header *h = (const void *)(mem + (x->entry[i] - ACPI_TABLES_GPA));

		if (!memcmp(h->signature, sig, 4))
			return h;
	}
	return NULL;
}

static bool write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool good;

	if (!f)
		return false;
	good = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && good;
}

/* Runs "iasl -p dir/name -d dir/name.dat"; the disassembly is dir/name.dsl,
 * messages dir/name.log. Returns the exit status or -ENOENT. */
static int run_iasl(const char *dir, const char *name)
{
	char prefix[256], dat[256], log[256];
	char *argv[] = { "iasl", "-p", prefix, "-d", dat, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err, status;

	snprintf(prefix, sizeof(prefix), "%s/%s", dir, name);
	snprintf(dat, sizeof(dat), "%s/%s.dat", dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	err = posix_spawnp(&pid, "iasl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -err;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static bool has_complaint(const char *text)
{
	static const char *const words[] = { "Warning", "Error", "Invalid", "Incorrect", "Unknown" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(text, words[i]))
			return true;
	return false;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* iasl's opinion of one table, and its disassembly (to be freed). */
static char *disassemble(struct tap *t, const char *dir, const char *name,
			 const struct acpi_table_header *h)
{
	char path[256], *log, *dsl;
	int rc = -EINVAL;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	if (write_file(path, h, h->length))
		rc = run_iasl(dir, name);
	if (rc == -ENOENT) {
		ok(t, 1, "# SKIP iasl not installed (%s)", name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	log = slurp(path);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	dsl = slurp(path);
	ok(t, rc == 0 && log && dsl && !has_complaint(log) && !has_complaint(dsl),
	   "iasl -d %s: no errors or warnings (rc %d)", name, rc);
	free(log);
	return dsl;
}

static void test_acpi_tables(struct tap *t)
{
	struct pci_layout l;
	struct acpi_pci pci;
	struct acpi_config cfg = { .ncpus = 2, .pci = &pci };
	const struct acpi_mcfg_allocation *a;
	const struct acpi_table_header *mcfg, *ssdt;
	const uint8_t pnp0a08[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x08 };
	const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	uint8_t *mem = calloc(1, ACPI_TABLES_SIZE);
	char tmpl[] = "/tmp/test_pci.XXXXXX", *dir, *dsl;
	long len;

	pci_layout_init(&l, 512ULL << 20, 40);
	pci = (struct acpi_pci){
		.ecam_base = l.ecam_base, .bus_start = 0, .bus_end = 0,
		.io_base = (uint16_t)l.io.base, .io_size = (uint32_t)l.io.size,
		.mmio32_base = l.mmio32.base, .mmio32_size = l.mmio32.size,
		.mmio64_base = l.mmio64.base, .mmio64_size = l.mmio64.size,
	};
	len = acpi_build(mem, ACPI_TABLES_GPA, ACPI_TABLES_SIZE, &cfg);
	ok(t, len > 0, "tables with a PCI host bridge: %ld bytes", len);
	if (len <= 0)
		goto out;
	mcfg = find_table(mem, "MCFG");
	ssdt = find_table(mem, "SSDT");
	ok(t, mcfg && acpi_checksum(mcfg, mcfg->length) == 0 &&
		      mcfg->length == sizeof(struct acpi_mcfg) + sizeof(*a),
	   "MCFG in the XSDT, one allocation, checksum");
	if (mcfg) {
		a = (const void *)((const uint8_t *)mcfg + sizeof(struct acpi_mcfg));
		ok(t, a->address == PCI_ECAM_BASE && a->segment == 0 && a->start_bus == 0 &&
			      a->end_bus == 0,
		   "MCFG: segment 0, bus 0-0 at PCI_ECAM_BASE");
	}
	ok(t, ssdt && acpi_checksum(ssdt, ssdt->length) == 0, "SSDT in the XSDT, checksum");
	ok(t, memmem(dsdt_aml, dsdt_aml_len, pnp0a08, 5) && memmem(dsdt_aml, dsdt_aml_len, pnp0a03, 5) &&
		      memmem(dsdt_aml, dsdt_aml_len, "PCI0", 4) && memmem(dsdt_aml, dsdt_aml_len, "_OSC", 4),
	   "DSDT: PCI0 with _HID PNP0A08, _CID PNP0A03, _OSC");
	cfg.pci = NULL;
	memset(mem, 0, ACPI_TABLES_SIZE);
	ok(t, acpi_build(mem, ACPI_TABLES_GPA, ACPI_TABLES_SIZE, &cfg) > 0 &&
		      !find_table(mem, "MCFG") && !find_table(mem, "SSDT"),
	   "without PCI: no MCFG, no SSDT");
	pci.bus_end = 0;
	pci.io_base = 0xf000;
	pci.io_size = 0x2000;
	cfg.pci = &pci;
	ok(t, acpi_build(mem, ACPI_TABLES_GPA, ACPI_TABLES_SIZE, &cfg) == -EINVAL,
	   "an I/O window past 0xffff is -EINVAL");
	pci.io_base = (uint16_t)l.io.base;
	pci.io_size = (uint32_t)l.io.size;
	len = acpi_build(mem, ACPI_TABLES_GPA, ACPI_TABLES_SIZE, &cfg);
	mcfg = find_table(mem, "MCFG");
	ssdt = find_table(mem, "SSDT");
	if (len <= 0 || !mcfg || !ssdt)
		goto out;

	dir = mkdtemp(tmpl);
	if (!dir) {
		ok(t, 0, "mkdtemp");
		goto out;
	}
	free(disassemble(t, dir, "mcfg", mcfg));
	dsl = disassemble(t, dir, "ssdt", ssdt);
	if (dsl) {
		ok(t, strstr(dsl, "Scope (\\_SB.PCI0)") && strstr(dsl, "Name (_CRS, ResourceTemplate ()"),
		   "SSDT: Name (_CRS) in \\_SB.PCI0");
		ok(t, strstr(dsl, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,") != NULL,
		   "_CRS: bus number window");
		ok(t, strstr(dsl, "IO (Decode16,") && strstr(dsl, "0x0CF8,             // Range Minimum") &&
			      strstr(dsl, "0x08,               // Length"),
		   "_CRS: config ports 0xcf8");
		ok(t, strstr(dsl, "0x0D00,             // Range Minimum") &&
			      strstr(dsl, "0xFFFF,             // Range Maximum"),
		   "_CRS: I/O window 0xd00-0xffff");
		ok(t, strstr(dsl, "0xC0000000,         // Range Minimum") &&
			      strstr(dsl, "0xDFFFFFFF,         // Range Maximum"),
		   "_CRS: 32-bit window 0xc0000000-0xdfffffff");
		ok(t, strstr(dsl, "0x0000000800000000, // Range Minimum") &&
			      strstr(dsl, "0x0000000FFFFFFFFF, // Range Maximum"),
		   "_CRS: 64-bit window 32-64 GiB");
		ok(t, strstr(dsl, "Device (\\_SB.MRES)") && strstr(dsl, "EisaId (\"PNP0C02\")") &&
			      strstr(dsl, "Memory32Fixed (ReadWrite,") &&
			      strstr(dsl, "0xE0000000,         // Address Base") &&
			      strstr(dsl, "0x00100000,         // Address Length"),
		   "SSDT: \\_SB.MRES (PNP0C02) reserves the ECAM range");
		if (t->failed)
			fprintf(stderr, "%s\n", dsl);
		free(dsl);
	}
	rm_dir(dir);
out:
	free(mem);
}

int main(void)
{
	struct tap t = TAP_INIT;

	log_set_level(LOG_ERROR);	/* refused BARs are logged on purpose */
	test_layout(&t);
	test_host_bridge(&t);
	test_port_conflict(&t);
	test_device(&t);
	test_window_full(&t);
	test_concurrency(&t);
	test_acpi_tables(&t);
	return tap_done(&t);
}
