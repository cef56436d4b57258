/*
 * PCI root bus: host bridge, config mechanism #1 (0xcf8/0xcfc), ECAM, and
 * the config space and BAR logic of the devices on it. See virtio/pci.h for
 * the address map and the locking rules.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "pci/pci.h"

#define CONFIG_ADDRESS_ENABLE	0x80000000u
/* Bits the guest's CONFIG_ADDRESS can select; 30:24 are reserved (AMD uses
 * 27:24 for extended registers, which only apply to its own chipsets). */
#define CONFIG_ADDRESS_BUS(a)	(((a) >> 16) & 0xff)
#define CONFIG_ADDRESS_DEVFN(a)	(((a) >> 8) & 0xff)
#define CONFIG_ADDRESS_REG(a)	((a) & 0xfc)

/* What firmware and a plain endpoint let the OS change in the command
 * register: I/O, memory, bus master, parity and SERR# response, INTx
 * disable. Status bits are read-only or write-1-to-clear error flags. */
#define COMMAND_WMASK	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
			 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
#define STATUS_W1C	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
			 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
			 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

#define PCI_CAP_START	0x40	/* capabilities live after the type 0 header */
#define SZ_1G		(1ULL << 30)
#define PAGE_SIZE	4096ULL

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static uint32_t ones(unsigned len)
{
	return len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
}

static uint32_t get_le(const void *data, unsigned len)
{
	const uint8_t *p = data;
	uint32_t v = 0;

	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(void *data, unsigned len, uint32_t v)
{
	uint8_t *p = data;

	for (unsigned i = 0; i < len; i++)
		p[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0xff;
}

static bool overlaps(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
	return a < b + blen && b < a + alen;
}

void pci_layout_init(struct pci_layout *l, uint64_t ram_end, unsigned phys_bits)
{
	uint64_t limit, base;

	memset(l, 0, sizeof(*l));
	l->ecam_base = PCI_ECAM_BASE;
	l->ecam_size = PCI_ECAM_SIZE;
	l->io = (struct pci_window){ PCI_IO_WIN_BASE, PCI_IO_WIN_SIZE };
	l->mmio32 = (struct pci_window){ PCI_MMIO32_BASE, PCI_MMIO32_SIZE };

	/* 36 bits is what the SDM says to assume without CPUID 0x80000008;
	 * 52 is the architectural maximum. */
	if (phys_bits < 32)
		phys_bits = 36;
	if (phys_bits > 52)
		phys_bits = 52;
	limit = 1ULL << phys_bits;
	if (ram_end < RAM_HIGH_START)
		ram_end = RAM_HIGH_START;

	base = align_up(ram_end, PCI_MMIO64_SIZE);
	if (base < limit && limit - base >= PCI_MMIO64_SIZE) {
		l->mmio64 = (struct pci_window){ base, PCI_MMIO64_SIZE };
		return;
	}
	/* RAM reaches close to the top: take what is left between them. */
	base = align_up(ram_end, SZ_1G);
	if (base < limit && limit - base >= PCI_MMIO64_MIN_SIZE)
		l->mmio64 = (struct pci_window){
			base, limit - base < PCI_MMIO64_SIZE ? limit - base : PCI_MMIO64_SIZE,
		};
}

static bool in_window(const struct pci_window *w, uint64_t addr, uint64_t size)
{
	return w->size && size <= w->size && addr >= w->base &&
	       addr - w->base <= w->size - size;
}

static bool windows_overlap(const struct pci_window *a, const struct pci_window *b)
{
	return a->size && b->size && a->base < b->base + b->size &&
	       b->base < a->base + a->size;
}

static bool layout_valid(const struct pci_layout *l)
{
	const struct pci_window ecam = { l->ecam_base, l->ecam_size };

	if (!l->ecam_size || l->ecam_size % (1 << 20) || l->ecam_size > (256u << 20) ||
	    l->ecam_base % (1 << 20) || l->ecam_base + l->ecam_size < l->ecam_base)
		return false;
	if (!l->io.size || l->io.base + l->io.size > 0x10000 ||
	    !l->mmio32.size || l->mmio32.base + l->mmio32.size > (1ULL << 32) ||
	    l->mmio64.base + l->mmio64.size < l->mmio64.base)
		return false;
	return !windows_overlap(&l->mmio32, &ecam) && !windows_overlap(&l->mmio64, &ecam) &&
	       !windows_overlap(&l->mmio32, &l->mmio64);
}

/* ---- Config space of one device ---- */

uint32_t pci_cfg_get(const struct pci_dev *dev, unsigned off, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len && i < 4; i++) {
		uint8_t b = off + i < PCI_CFG_SIZE ? dev->cfg[off + i] : 0xff;

		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

void pci_cfg_set(struct pci_dev *dev, unsigned off, unsigned len, uint32_t val)
{
	for (unsigned i = 0; i < len && i < 4 && off + i < PCI_CFG_SIZE; i++)
		dev->cfg[off + i] = (uint8_t)(val >> (8 * i));
}

void pci_cfg_set_wmask(struct pci_dev *dev, unsigned off, unsigned len,
		       uint32_t mask)
{
	for (unsigned i = 0; i < len && i < 4 && off + i < PCI_CFG_SIZE; i++)
		dev->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

static void run_cap_hooks(struct pci_dev *dev, unsigned off, unsigned len,
			  bool is_write)
{
	for (int i = 0; i < dev->ncaps; i++) {
		const struct pci_cap *c = &dev->caps[i];
		unsigned lo, hi;

		if (!c->ops || !overlaps(off, len, c->off, c->len))
			continue;
		lo = off > c->off ? off : c->off;
		hi = off + len < (unsigned)c->off + c->len ? off + len : (unsigned)c->off + c->len;
		if (is_write && c->ops->write)
			c->ops->write(dev, c->opaque, lo - c->off, hi - lo);
		else if (!is_write && c->ops->read)
			c->ops->read(dev, c->opaque, lo - c->off, hi - lo);
	}
}

/* The address the BAR's registers hold now, whether or not it is decoded. */
static uint64_t bar_reg_addr(const struct pci_dev *dev, int i)
{
	uint32_t lo = pci_cfg_get(dev, PCI_BASE_ADDRESS_0 + 4 * i, 4);

	switch (dev->bars[i].type) {
	case PCI_BAR_IO:
		return lo & PCI_BASE_ADDRESS_IO_MASK;
	case PCI_BAR_MEM32:
		return lo & PCI_BASE_ADDRESS_MEM_MASK;
	case PCI_BAR_MEM64:
		return (uint64_t)pci_cfg_get(dev, PCI_BASE_ADDRESS_0 + 4 * (i + 1), 4) << 32 |
		       (lo & PCI_BASE_ADDRESS_MEM_MASK);
	default:
		return PCI_BAR_UNMAPPED;
	}
}

static const char *bar_kind(enum pci_bar_type t)
{
	return t == PCI_BAR_IO ? "I/O" : t == PCI_BAR_MEM64 ? "64-bit memory" : "memory";
}

/*
 * Whether the guest's address for a BAR can be decoded: inside a host
 * bridge window of its kind, as on a real root complex, which forwards
 * nothing else to the bus. The windows are disjoint from RAM, ECAM, the
 * IOAPIC/LAPIC and the legacy ports by construction, so this also keeps a
 * BAR from shadowing any of them. Address 0 is how firmware and Linux say
 * "unassigned"; during sizing the registers hold the size mask, which lies
 * outside every window (and Linux disables decode around it anyway).
 */
static bool bar_addr_ok(const struct pci_dev *dev, int i, uint64_t addr)
{
	const struct pci_layout *l = &dev->bus->layout;
	const struct pci_bar *b = &dev->bars[i];

	if (addr == 0)
		return false;
	if (b->type == PCI_BAR_IO)
		return in_window(&l->io, addr, b->size);
	return in_window(&l->mmio32, addr, b->size) || in_window(&l->mmio64, addr, b->size);
}

static void bar_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct pci_bar *b = opaque;

	pthread_mutex_lock(&b->dev->lock);
	/* A vCPU may have looked the range up just before another vCPU
	 * disabled decode; the access then finds the BAR unmapped. */
	if (b->addr != PCI_BAR_UNMAPPED)
		b->fn(b->opaque, off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len);
	pthread_mutex_unlock(&b->dev->lock);
}

static void log_refused(struct pci_dev *dev, int i, uint64_t addr, const char *why)
{
	struct pci_bar *b = &dev->bars[i];

	/* Once per address: a guest rewriting a BAR in a loop must not
	 * flood the log. */
	if (b->refused == addr)
		return;
	b->refused = addr;
	pr_warn("pci 00:%02x.%x (%s): BAR %d (%s, 0x%" PRIx64 " bytes) at 0x%" PRIx64 ": %s; left unmapped",
		dev->devfn >> 3, dev->devfn & 7, dev->name, i, bar_kind(b->type), b->size,
		addr, why);
}

/*
 * Brings every BAR's bus registration in line with its registers and the
 * command register's decode bits. Called after any write to either, so a
 * BAR follows the guest: unmapped while decode is off (Linux turns it off
 * while sizing and while rewriting a 64-bit BAR's two halves), moved when
 * reprogrammed. An address refused now (outside the windows, or over
 * another device's range) is retried on the next such write.
 */
static void update_bars(struct pci_dev *dev)
{
	uint16_t cmd = (uint16_t)pci_cfg_get(dev, PCI_COMMAND, 2);

	if (!dev->bus)
		return;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		struct bus *where = b->type == PCI_BAR_IO ? dev->bus->pio : dev->bus->mmio;
		uint64_t addr, want = PCI_BAR_UNMAPPED, old = b->addr;
		bool decode;

		if (b->type == PCI_BAR_NONE)
			continue;
		decode = cmd & (b->type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
		addr = bar_reg_addr(dev, i);
		if (decode) {
			if (bar_addr_ok(dev, i, addr))
				want = addr;
			else if (addr != 0)
				log_refused(dev, i, addr, "outside the host bridge's windows");
		}
		if (want == old)
			continue;
		if (old != PCI_BAR_UNMAPPED)
			bus_unregister(where, old);
		b->addr = PCI_BAR_UNMAPPED;
		if (want != PCI_BAR_UNMAPPED) {
			int ret = bus_register(where, want, b->size, bar_io, b);

			if (ret < 0) {
				log_refused(dev, i, want, ret == -EEXIST ?
					    "overlaps another device" : strerror(-ret));
				want = PCI_BAR_UNMAPPED;
			} else {
				b->refused = PCI_BAR_UNMAPPED;
			}
		}
		b->addr = want;
		if (want != old && dev->ops && dev->ops->bar_moved)
			dev->ops->bar_moved(dev, i, old, want);
	}
}

static void cfg_write_locked(struct pci_dev *dev, unsigned off, unsigned len, uint32_t val)
{
	for (unsigned i = 0; i < len && i < 4 && off + i < PCI_CFG_SIZE; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));

		dev->cfg[o] = (dev->cfg[o] & ~dev->wmask[o]) | (b & dev->wmask[o]);
		dev->cfg[o] &= ~(b & dev->w1cmask[o]);
	}
	if (overlaps(off, len, PCI_COMMAND, 2) ||
	    overlaps(off, len, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS))
		update_bars(dev);
	run_cap_hooks(dev, off, len, true);
}

/* ---- Device setup ---- */

int pci_dev_init(struct pci_dev *dev, const char *name,
		 const struct pci_dev_id *id, const struct pci_dev_ops *ops,
		 void *opaque)
{
	if (!id)
		return -EINVAL;
	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s", name ? name : "device");
	dev->devfn = -1;
	dev->ops = ops;
	dev->opaque = opaque;
	dev->cap_next = PCI_CAP_START;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		dev->bars[i].dev = dev;
		dev->bars[i].index = i;
		dev->bars[i].addr = PCI_BAR_UNMAPPED;
		dev->bars[i].refused = PCI_BAR_UNMAPPED;
	}
	pci_cfg_set(dev, PCI_VENDOR_ID, 2, id->vendor);
	pci_cfg_set(dev, PCI_DEVICE_ID, 2, id->device);
	pci_cfg_set(dev, PCI_REVISION_ID, 1, id->revision);
	pci_cfg_set(dev, PCI_CLASS_PROG, 1, id->class_code & 0xff);
	pci_cfg_set(dev, PCI_CLASS_DEVICE, 2, id->class_code >> 8);
	pci_cfg_set(dev, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL);
	pci_cfg_set(dev, PCI_SUBSYSTEM_VENDOR_ID, 2, id->subsys_vendor);
	pci_cfg_set(dev, PCI_SUBSYSTEM_ID, 2, id->subsys_id);
	pci_cfg_set_wmask(dev, PCI_COMMAND, 2, COMMAND_WMASK);
	dev->w1cmask[PCI_STATUS] = STATUS_W1C & 0xff;
	dev->w1cmask[PCI_STATUS + 1] = STATUS_W1C >> 8;
	/* Cache line size and interrupt line are plain storage for the OS.
	 * Interrupt pin stays 0: devices here interrupt through MSI-X only
	 * (see the _PRT note in vmm/dsdt.asl). */
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	pthread_mutex_init(&dev->lock, NULL);
	return 0;
}

void pci_dev_destroy(struct pci_dev *dev)
{
	pthread_mutex_destroy(&dev->lock);
}

int pci_dev_set_bar(struct pci_dev *dev, int bar, enum pci_bar_type type,
		    uint64_t size, bool prefetchable, bus_handler_fn fn,
		    void *opaque)
{
	struct pci_bar *b;
	uint32_t flags;
	uint64_t mask;

	if (dev->bus || bar < 0 || bar >= PCI_NUM_BARS || !fn || !is_pow2(size))
		return -EINVAL;
	if (dev->bars[bar].type != PCI_BAR_NONE ||
	    (bar > 0 && dev->bars[bar - 1].type == PCI_BAR_MEM64))
		return -EBUSY;
	switch (type) {
	case PCI_BAR_IO:
		if (size < 4 || size > 256 || prefetchable)
			return -EINVAL;
		flags = PCI_BASE_ADDRESS_SPACE_IO;
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > (1ULL << 31))
			return -EINVAL;
		flags = PCI_BASE_ADDRESS_MEM_TYPE_32;
		break;
	case PCI_BAR_MEM64:
		if (size < 16 || bar == PCI_NUM_BARS - 1)
			return -EINVAL;
		if (dev->bars[bar + 1].type != PCI_BAR_NONE)
			return -EBUSY;
		flags = PCI_BASE_ADDRESS_MEM_TYPE_64;
		break;
	default:
		return -EINVAL;
	}
	if (prefetchable)
		flags |= PCI_BASE_ADDRESS_MEM_PREFETCH;

	b = &dev->bars[bar];
	b->type = type;
	b->prefetchable = prefetchable;
	b->size = size;
	b->fn = fn;
	b->opaque = opaque;
	/*
	 * The sizing protocol falls out of the write mask: only the address
	 * bits at or above the size are writable, the type bits are
	 * read-only, so writing all ones reads back ~(size - 1) | flags.
	 */
	mask = ~(size - 1);
	pci_cfg_set(dev, PCI_BASE_ADDRESS_0 + 4 * bar, 4, flags);
	pci_cfg_set_wmask(dev, PCI_BASE_ADDRESS_0 + 4 * bar, 4,
			  (uint32_t)mask & (type == PCI_BAR_IO ? PCI_BASE_ADDRESS_IO_MASK :
					    PCI_BASE_ADDRESS_MEM_MASK));
	if (type == PCI_BAR_MEM64)
		pci_cfg_set_wmask(dev, PCI_BASE_ADDRESS_0 + 4 * (bar + 1), 4,
				  (uint32_t)(mask >> 32));
	return 0;
}

int pci_add_capability(struct pci_dev *dev, uint8_t id, unsigned len,
		       const struct pci_cap_ops *ops, void *opaque)
{
	unsigned off = align_up(dev->cap_next, 4);
	uint8_t *link = &dev->cfg[PCI_CAPABILITY_LIST];

	if (dev->bus || len < 2 || len > PCI_CFG_SIZE)
		return -EINVAL;
	if (dev->ncaps == PCI_MAX_CAPS || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	/* Append, so the guest walks them in the order they were added. */
	while (*link)
		link = &dev->cfg[*link + PCI_CAP_LIST_NEXT];
	*link = (uint8_t)off;
	dev->cfg[off + PCI_CAP_LIST_ID] = id;
	dev->cfg[off + PCI_CAP_LIST_NEXT] = 0;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->caps[dev->ncaps++] = (struct pci_cap){
		.id = id, .off = (uint8_t)off, .len = (uint8_t)len, .ops = ops, .opaque = opaque,
	};
	dev->cap_next = off + len;
	return (int)off;
}

uint64_t pci_bar_addr(const struct pci_dev *dev, int bar)
{
	if (bar < 0 || bar >= PCI_NUM_BARS)
		return PCI_BAR_UNMAPPED;
	return dev->bars[bar].addr;
}

void pci_dev_lock(struct pci_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
}

void pci_dev_unlock(struct pci_dev *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

/* ---- The bus ---- */

static struct pci_dev *find_dev(struct pci_bus *bus, unsigned devfn)
{
	struct pci_dev *dev;

	if (devfn >= PCI_DEVFN_COUNT)
		return NULL;
	pthread_mutex_lock(&bus->lock);
	dev = bus->devs[devfn];
	pthread_mutex_unlock(&bus->lock);
	return dev;
}

uint32_t pci_bus_cfg_read(struct pci_bus *bus, unsigned devfn, unsigned off,
			  unsigned len)
{
	struct pci_dev *dev = find_dev(bus, devfn);
	uint32_t v;

	/* No device: the master abort reads all ones, vendor 0xffff. */
	if (!dev || off >= PCI_CFG_SIZE)
		return ones(len);
	pthread_mutex_lock(&dev->lock);
	run_cap_hooks(dev, off, len, false);
	v = pci_cfg_get(dev, off, len);
	pthread_mutex_unlock(&dev->lock);
	return v & ones(len);
}

void pci_bus_cfg_write(struct pci_bus *bus, unsigned devfn, unsigned off,
		       unsigned len, uint32_t val)
{
	struct pci_dev *dev = find_dev(bus, devfn);

	if (!dev || off >= PCI_CFG_SIZE)
		return;
	pthread_mutex_lock(&dev->lock);
	cfg_write_locked(dev, off, len, val);
	pthread_mutex_unlock(&dev->lock);
}

/*
 * Ports 0xcf8-0xcff. Only a dword access at 0xcf8 is CONFIG_ADDRESS (Linux
 * probes mechanism #1 by writing a byte to 0xcfb first and expects it not to
 * disturb the latch); a byte at 0xcf9 is the reset control register.
 */
static void config_ports_io(void *opaque, uint64_t off, void *data, unsigned len,
			    bool is_write)
{
	struct pci_bus *bus = opaque;
	uint32_t addr;
	unsigned reg;

	if (off < 4) {
		if (off == 0 && len == 4) {
			if (is_write)
				__atomic_store_n(&bus->config_address, get_le(data, 4),
						 __ATOMIC_RELAXED);
			else
				put_le(data, 4, __atomic_load_n(&bus->config_address,
								__ATOMIC_RELAXED));
		} else if (off == 1 && len == 1 && bus->cf9_fn) {
			bus->cf9_fn(bus->cf9_opaque, 0, data, len, is_write);
		} else if (!is_write) {
			memset(data, 0xff, len);
		}
		return;
	}
	addr = __atomic_load_n(&bus->config_address, __ATOMIC_RELAXED);
	reg = CONFIG_ADDRESS_REG(addr) + (unsigned)(off - 4);
	if (!(addr & CONFIG_ADDRESS_ENABLE) || CONFIG_ADDRESS_BUS(addr) != 0) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (is_write)
		pci_bus_cfg_write(bus, CONFIG_ADDRESS_DEVFN(addr), reg, len, get_le(data, len));
	else
		put_le(data, len, pci_bus_cfg_read(bus, CONFIG_ADDRESS_DEVFN(addr), reg, len));
}

/* ECAM: offset = bus << 20 | devfn << 12 | register. */
static void ecam_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint8_t *p = data;

	/* An 8-byte access is two dword config cycles, as on hardware. */
	for (unsigned done = 0; done < len;) {
		uint64_t o = off + done;
		unsigned n = len - done > 4 ? 4 : len - done;
		unsigned devfn = (o >> 12) & 0xff, reg = o & 0xfff;

		if (o >> 20) {
			/* Only bus 0 exists; the range covers no other. */
			if (!is_write)
				memset(p + done, 0xff, n);
		} else if (is_write) {
			pci_bus_cfg_write(bus, devfn, reg, n, get_le(p + done, n));
		} else {
			put_le(p + done, n, pci_bus_cfg_read(bus, devfn, reg, n));
		}
		done += n;
	}
}

static const struct pci_dev_id host_bridge_id = {
	.vendor = PCI_HOST_VENDOR,
	.device = PCI_HOST_DEVICE,
	.class_code = 0x060000,	/* bridge, host bridge */
};

int pci_bus_init(struct pci_bus *bus, const struct pci_bus_config *cfg)
{
	int ret;

	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->lock, NULL);
	bus->initialized = true;
	if (!cfg->pio || !cfg->mmio || !layout_valid(&cfg->layout))
		return -EINVAL;
	bus->pio = cfg->pio;
	bus->mmio = cfg->mmio;
	bus->layout = cfg->layout;
	bus->cf9_fn = cfg->cf9_fn;
	bus->cf9_opaque = cfg->cf9_opaque;
	bus->next_io = bus->layout.io.base;
	bus->next_mmio32 = bus->layout.mmio32.base;
	bus->next_mmio64 = bus->layout.mmio64.base;

	ret = bus_register(bus->pio, PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_PORTS_LEN,
			   config_ports_io, bus);
	if (ret < 0)
		return ret;
	bus->ports_registered = true;
	ret = bus_register(bus->mmio, bus->layout.ecam_base, bus->layout.ecam_size,
			   ecam_io, bus);
	if (ret < 0)
		return ret;
	bus->ecam_registered = true;

	/* The host bridge has no BARs and no capabilities: its registers are
	 * the standard header. Linux needs it to recognise bus 0 (its type 1
	 * probe's sanity check looks for a host bridge class). */
	pci_dev_init(&bus->host, "host bridge", &host_bridge_id, NULL, NULL);
	ret = pci_bus_add(bus, &bus->host, 0);
	return ret < 0 ? ret : 0;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus->initialized)
		return;
	for (int devfn = 0; devfn < PCI_DEVFN_COUNT; devfn++) {
		struct pci_dev *dev = bus->devs[devfn];

		if (!dev)
			continue;
		for (int i = 0; i < PCI_NUM_BARS; i++) {
			struct pci_bar *b = &dev->bars[i];

			if (b->addr == PCI_BAR_UNMAPPED)
				continue;
			bus_unregister(b->type == PCI_BAR_IO ? bus->pio : bus->mmio, b->addr);
			b->addr = PCI_BAR_UNMAPPED;
		}
		dev->bus = NULL;
	}
	if (bus->ports_registered)
		bus_unregister(bus->pio, PCI_CONFIG_ADDRESS_PORT);
	if (bus->ecam_registered)
		bus_unregister(bus->mmio, bus->layout.ecam_base);
	if (bus->devs[0] == &bus->host)
		pci_dev_destroy(&bus->host);
	pthread_mutex_destroy(&bus->lock);
	bus->initialized = false;
}

static uint64_t *bar_cursor(struct pci_bus *bus, enum pci_bar_type type,
			    const struct pci_window **w)
{
	if (type == PCI_BAR_IO) {
		*w = &bus->layout.io;
		return &bus->next_io;
	}
	if (type == PCI_BAR_MEM64 && bus->layout.mmio64.size) {
		*w = &bus->layout.mmio64;
		return &bus->next_mmio64;
	}
	*w = &bus->layout.mmio32;
	return &bus->next_mmio32;
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev, int devfn)
{
	uint64_t addr[PCI_NUM_BARS], next_io, next32, next64;
	uint16_t cmd = 0;
	int ret = 0;

	if (dev->bus)
		return -EINVAL;
	pthread_mutex_lock(&bus->lock);
	if (devfn < 0) {
		for (int slot = 1; slot < 32 && devfn < 0; slot++)
			if (!bus->devs[slot << 3])
				devfn = slot << 3;
		if (devfn < 0) {
			ret = -ENOSPC;
			goto out;
		}
	} else if (devfn >= PCI_DEVFN_COUNT) {
		ret = -EINVAL;
		goto out;
	} else if (bus->devs[devfn]) {
		ret = -EBUSY;
		goto out;
	} else if ((devfn & 7) && !bus->devs[devfn & ~7]) {
		/* Linux scans functions 1-7 only if function 0 says it is a
		 * multi-function device. */
		ret = -EINVAL;
		goto out;
	}

	/* Place all BARs first, so that a failure leaves nothing behind.
	 * Memory BARs get at least a page of their own: no two devices
	 * then share a page, which the guest may map with different
	 * attributes. */
	next_io = bus->next_io;
	next32 = bus->next_mmio32;
	next64 = bus->next_mmio64;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		const struct pci_window *w;
		uint64_t *cur, align;

		addr[i] = 0;
		if (b->type == PCI_BAR_NONE)
			continue;
		cur = bar_cursor(bus, b->type, &w);
		align = b->type == PCI_BAR_IO || b->size >= PAGE_SIZE ? b->size : PAGE_SIZE;
		addr[i] = align_up(*cur, align);
		if (!in_window(w, addr[i], b->size)) {
			ret = -ENOSPC;
			break;
		}
		*cur = addr[i] + (b->size > align ? b->size : align);
		cmd |= b->type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	if (ret < 0) {
		bus->next_io = next_io;
		bus->next_mmio32 = next32;
		bus->next_mmio64 = next64;
		goto out;
	}
	bus->devs[devfn] = dev;
	dev->bus = bus;
	dev->devfn = devfn;
	if (devfn & 7) {
		struct pci_dev *fn0 = bus->devs[devfn & ~7];

		pthread_mutex_lock(&fn0->lock);
		fn0->cfg[PCI_HEADER_TYPE] |= 0x80;
		pthread_mutex_unlock(&fn0->lock);
	}
out:
	pthread_mutex_unlock(&bus->lock);
	if (ret < 0)
		return ret;

	pthread_mutex_lock(&dev->lock);
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t lo;

		if (dev->bars[i].type == PCI_BAR_NONE)
			continue;
		/* The registers hold only the type flags until now. */
		lo = pci_cfg_get(dev, PCI_BASE_ADDRESS_0 + 4 * i, 4) | (uint32_t)addr[i];
		pci_cfg_set(dev, PCI_BASE_ADDRESS_0 + 4 * i, 4, lo);
		if (dev->bars[i].type == PCI_BAR_MEM64)
			pci_cfg_set(dev, PCI_BASE_ADDRESS_0 + 4 * (i + 1), 4,
				    (uint32_t)(addr[i] >> 32));
	}
	/* Firmware leaves devices decoding; Linux keeps the placement. */
	pci_cfg_set(dev, PCI_COMMAND, 2, pci_cfg_get(dev, PCI_COMMAND, 2) | cmd);
	update_bars(dev);
	pthread_mutex_unlock(&dev->lock);
	return devfn;
}
