/* The virtio-pci transport without KVM: capabilities, feature negotiation,
 * the status state machine, queue setup, notify and config access. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "tests/unit/tap.h"
#include "virtio/virtio_pci.h"

struct dev_state {
	int starts, stops, resets;
	int start_ret;
	uint8_t config[8];
};

static int t_start(struct virtio_pci *vp) { struct dev_state *s = vp->opaque; s->starts++; return s->start_ret; }
static void t_stop(struct virtio_pci *vp) { ((struct dev_state *)vp->opaque)->stops++; }
static void t_reset(struct virtio_pci *vp) { ((struct dev_state *)vp->opaque)->resets++; }
static void t_cfg_read(struct virtio_pci *vp, unsigned off, void *data, unsigned len)
{
	memcpy(data, ((struct dev_state *)vp->opaque)->config + off, len);
}

static const struct virtio_dev_ops ops = {
	.start = t_start, .stop = t_stop, .reset = t_reset, .config_read = t_cfg_read,
};

static struct bus pio, mmio;
static struct pci_bus pbus;
static struct virtio_pci vp;
static uint64_t bar;
static int devfn;

static uint32_t cfg_rd(unsigned off, unsigned len) { return pci_bus_cfg_read(&pbus, devfn, off, len); }

static uint64_t rd(uint64_t off, unsigned len)
{
	uint64_t v = 0;

	bus_dispatch(&mmio, bar + off, &v, len, false);
	return v;
}

static void wr(uint64_t off, uint64_t v, unsigned len)
{
	bus_dispatch(&mmio, bar + off, &v, len, true);
}

/* Finds the vendor capability of a virtio cfg_type by walking the list. */
static int find_cap(uint8_t type)
{
	unsigned off = cfg_rd(PCI_CAPABILITY_LIST, 1);
	int guard = 0;

	while (off && guard++ < 48) {
		if (cfg_rd(off, 1) == PCI_CAP_ID_VNDR && cfg_rd(off + 3, 1) == type)
			return off;
		off = cfg_rd(off + 1, 1);
	}
	return -1;
}

static void set_status(uint8_t s) { wr(0x14, s, 1); }
static uint8_t status(void) { return rd(0x14, 1); }

int main(void)
{
	struct tap t = TAP_INIT;
	struct dev_state st = { .config = { 1, 2, 3, 4, 5, 6, 7, 8 } };
	struct virtio_dev_desc desc = {
		.name = "test", .virtio_id = 26, .pci_class = 0x018000, .num_queues = 2,
		.max_queue_size = 256, .features = 1ULL << 28, .config_size = 8, .ops = &ops,
	};
	struct pci_bus_config pc = { .pio = &pio, .mmio = &mmio };
	struct pollfd pfd;
	int cap;

	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	pci_layout_init(&pc.layout, 512ULL << 20, 40);
	ok(&t, pci_bus_init(&pbus, &pc) == 0, "bus");
	ok(&t, virtio_pci_init(&vp, NULL, &desc, &st) == 0, "virtio_pci_init");
	devfn = pci_bus_add(&pbus, &vp.pci, -1);
	ok(&t, devfn > 0, "device added at devfn %d", devfn);
	ok(&t, cfg_rd(0, 2) == 0x1af4 && cfg_rd(2, 2) == 0x1040 + 26, "modern virtio ids 1af4:105a");
	ok(&t, cfg_rd(PCI_REVISION_ID, 1) == 1, "revision 1 (modern)");
	bar = pci_bar_addr(&vp.pci, VIRTIO_PCI_BAR);
	ok(&t, bar != PCI_BAR_UNMAPPED && !(bar & (VIRTIO_PCI_BAR_SIZE - 1)), "BAR 4 mapped and aligned");

	cap = find_cap(VIRTIO_PCI_CAP_COMMON_CFG);
	ok(&t, cap > 0 && cfg_rd(cap + 4, 1) == VIRTIO_PCI_BAR && cfg_rd(cap + 8, 4) == 0,
	   "common cfg capability in BAR 4 at 0");
	cap = find_cap(VIRTIO_PCI_CAP_NOTIFY_CFG);
	ok(&t, cap > 0 && cfg_rd(cap + 8, 4) == VIRTIO_PCI_NOTIFY_OFF &&
	   cfg_rd(cap + 16, 4) == VIRTIO_PCI_NOTIFY_MULT, "notify capability with its multiplier");
	ok(&t, find_cap(VIRTIO_PCI_CAP_ISR_CFG) > 0 && find_cap(VIRTIO_PCI_CAP_DEVICE_CFG) > 0 &&
	   find_cap(VIRTIO_PCI_CAP_PCI_CFG) > 0, "ISR, device and PCI access capabilities");
	ok(&t, cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, "capability list bit");

	ok(&t, rd(0x12, 2) == 2, "num_queues");
	wr(0x00, 1, 4);
	ok(&t, rd(0x04, 4) == 1, "device features high word has VERSION_1");
	wr(0x00, 0, 4);
	ok(&t, rd(0x04, 4) == 1u << 28, "device features low word as offered");

	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(0x08, 0, 4);
	wr(0x0c, 1u << 28, 4);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ok(&t, !(status() & VIRTIO_CONFIG_S_FEATURES_OK), "FEATURES_OK refused without VERSION_1");
	set_status(0);
	ok(&t, status() == 0 && st.resets >= 1, "status 0 resets");

	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(0x08, 1, 4);
	wr(0x0c, 1 | 2, 4);   /* VERSION_1 and an unoffered bit 33 */
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ok(&t, !(status() & VIRTIO_CONFIG_S_FEATURES_OK), "FEATURES_OK refused for unoffered features");
	set_status(0);

	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(0x08, 1, 4);
	wr(0x0c, 1, 4);
	wr(0x08, 0, 4);
	wr(0x0c, 1u << 28, 4);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ok(&t, status() & VIRTIO_CONFIG_S_FEATURES_OK, "FEATURES_OK accepted");
	ok(&t, vp.driver_features == ((1ULL << 32) | (1ULL << 28)), "driver features recorded");

	wr(0x16, 1, 2);                  /* queue_select 1 */
	ok(&t, rd(0x18, 2) == 256 && rd(0x1e, 2) == 1, "queue size starts at the maximum; notify off = index");
	wr(0x18, 100, 2);
	ok(&t, rd(0x18, 2) == 256, "a non power of two size is ignored");
	wr(0x18, 64, 2);
	ok(&t, rd(0x18, 2) == 64, "a smaller power of two is taken");
	wr(0x1a, 2, 2);
	ok(&t, rd(0x1a, 2) == 2, "MSI-X vector 2 accepted");
	wr(0x1a, 99, 2);
	ok(&t, rd(0x1a, 2) == VIRTIO_MSI_NO_VECTOR, "a vector beyond the table reads back NO_VECTOR");
	wr(0x1a, 2, 2);
	wr(0x20, 0x1000, 4);
	wr(0x24, 0x1, 4);
	wr(0x28, 0x2000, 8);
	wr(0x30, 0x3000, 8);
	ok(&t, vp.queues[1].desc == 0x100001000ULL && vp.queues[1].avail == 0x2000 &&
	   vp.queues[1].used == 0x3000, "ring addresses in halves and whole");
	wr(0x1c, 1, 2);
	wr(0x20, 0x5000, 4);
	ok(&t, rd(0x1c, 2) == 1 && vp.queues[1].desc == 0x100001000ULL,
	   "queue enabled; its fields are frozen");
	ok(&t, virtio_pci_queue_call_fd(&vp, 1) >= 0 && virtio_pci_queue_call_fd(&vp, 0) < 0,
	   "call fd for the queue with a vector, none without");

	wr(VIRTIO_PCI_NOTIFY_OFF + 4, 1, 4);   /* a 4-byte notify (ioeventfds take 2) */
	pfd = (struct pollfd){ .fd = vp.queues[1].kick_fd, .events = POLLIN };
	ok(&t, poll(&pfd, 1, 0) == 1, "a notify write that reaches us signals the kick eventfd");

	ok(&t, rd(VIRTIO_PCI_DEVICE_OFF + 2, 2) == 0x0403, "device config read through the device ops");
	ok(&t, rd(VIRTIO_PCI_DEVICE_OFF + 8, 4) == 0, "reads past config_size are 0");

	cap = find_cap(VIRTIO_PCI_CAP_PCI_CFG);
	pci_bus_cfg_write(&pbus, devfn, cap + 4, 1, VIRTIO_PCI_BAR);
	pci_bus_cfg_write(&pbus, devfn, cap + 8, 4, 0x12);   /* num_queues */
	pci_bus_cfg_write(&pbus, devfn, cap + 12, 4, 2);
	ok(&t, (cfg_rd(cap + 16, 4) & 0xffff) == 2, "PCI access capability reads the BAR");

	set_status(status() | VIRTIO_CONFIG_S_DRIVER_OK);
	ok(&t, st.starts == 1 && (status() & VIRTIO_CONFIG_S_DRIVER_OK) && vp.started, "DRIVER_OK starts the device");
	virtio_pci_set_needs_reset(&vp);
	ok(&t, (status() & VIRTIO_CONFIG_S_NEEDS_RESET) && rd(VIRTIO_PCI_ISR_OFF, 1) == 2,
	   "NEEDS_RESET with a config interrupt in ISR");
	ok(&t, rd(VIRTIO_PCI_ISR_OFF, 1) == 0, "reading ISR cleared it");
	set_status(0);
	ok(&t, st.stops == 1 && !vp.started && status() == 0, "reset stops the started device");
	ok(&t, poll(&pfd, 1, 0) == 0, "reset drained stale kicks");
	ok(&t, vp.queues[1].size == 256 && !vp.queues[1].enabled &&
	   vp.queues[1].msix_vector == VIRTIO_MSI_NO_VECTOR, "queues back to reset state");

	st.start_ret = -ENOTCONN;
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(0x08, 1, 4);
	wr(0x0c, 1, 4);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	set_status(status() | VIRTIO_CONFIG_S_DRIVER_OK);
	ok(&t, (status() & VIRTIO_CONFIG_S_NEEDS_RESET) && !vp.started,
	   "a failing start leaves the device needing a reset");

	/* A 64-bit write of a ring address keeps its high half. */
	set_status(0);
	wr(0x16, 0, 2);
	wr(0x20, 0x123456789000ULL, 8);
	wr(0x28, 0xabcd00002000ULL, 8);
	ok(&t, vp.queues[0].desc == 0x123456789000ULL && vp.queues[0].avail == 0xabcd00002000ULL,
	   "an 8-byte queue_desc / queue_driver write is stored whole (0x%llx)",
	   (unsigned long long)vp.queues[0].desc);
	wr(0x24, 0x5555555566666666ULL, 8);
	ok(&t, vp.queues[0].desc == 0x123456789000ULL,
	   "an 8-byte write into the middle of a field is ignored");

	/* Misaligned rings are refused at DRIVER_OK, before the device sees them. */
	st.start_ret = 0;
	st.starts = 0;
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(0x08, 1, 4);
	wr(0x0c, 1, 4);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	wr(0x16, 0, 2);
	wr(0x20, 0x10008, 8);   /* desc: 8-byte aligned only */
	wr(0x28, 0x11000, 8);
	wr(0x30, 0x12000, 8);
	wr(0x1c, 1, 2);
	set_status(status() | VIRTIO_CONFIG_S_DRIVER_OK);
	ok(&t, st.starts == 0 && !vp.started && (status() & VIRTIO_CONFIG_S_NEEDS_RESET),
	   "a descriptor table not 16-byte aligned: DRIVER_OK refused, NEEDS_RESET, no start");
	set_status(0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(0x08, 1, 4);
	wr(0x0c, 1, 4);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	wr(0x16, 0, 2);
	wr(0x20, 0x10000, 8);
	wr(0x28, 0x11001, 8);   /* avail: odd */
	wr(0x30, 0x12000, 8);
	wr(0x1c, 1, 2);
	set_status(status() | VIRTIO_CONFIG_S_DRIVER_OK);
	ok(&t, st.starts == 0 && (status() & VIRTIO_CONFIG_S_NEEDS_RESET),
	   "an odd available ring address: refused");
	set_status(0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(0x08, 1, 4);
	wr(0x0c, 1, 4);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	wr(0x16, 0, 2);
	wr(0x20, 0x10000, 8);
	wr(0x28, 0x11002, 8);
	wr(0x30, 0x12004, 8);
	wr(0x1c, 1, 2);
	set_status(status() | VIRTIO_CONFIG_S_DRIVER_OK);
	ok(&t, st.starts == 1 && vp.started, "rings at their minimum alignment (16, 2, 4) start");

	/* Config changes: one interrupt until the driver looks, so that a
	 * backend cannot flood the guest with them. */
	wr(0x10, 2, 2);
	{
		int vfd = msix_vector_fd(&vp.msix, 2);
		uint8_t gen = rd(0x15, 1);
		eventfd_t n = 0;
		int i;

		while (eventfd_read(vfd, &n) == 0)
			;
		rd(VIRTIO_PCI_ISR_OFF, 1);
		for (i = 0; i < 5; i++)
			virtio_pci_config_changed(&vp);
		n = 0;
		eventfd_read(vfd, &n);
		ok(&t, rd(0x15, 1) == (uint8_t)(gen + 5) && n == 1,
		   "five config changes before the driver looks: generation +5, one interrupt (%llu)",
		   (unsigned long long)n);
		rd(VIRTIO_PCI_DEVICE_OFF, 4);
		virtio_pci_config_changed(&vp);
		n = 0;
		eventfd_read(vfd, &n);
		ok(&t, n == 1, "after the driver read the config space, the next change interrupts");
		rd(0x15, 1);
		virtio_pci_config_changed(&vp);
		n = 0;
		eventfd_read(vfd, &n);
		ok(&t, n == 1, "as after it read config_generation");
		virtio_pci_set_needs_reset(&vp);
		n = 0;
		eventfd_read(vfd, &n);
		ok(&t, n == 1, "NEEDS_RESET interrupts whether or not the driver looked");
	}

	/* The PCI access window: an offset near 4 GiB must not wrap past the
	 * BAR check (the data register keeps what it held). */
	pci_bus_cfg_write(&pbus, devfn, cap + 8, 4, 0x12);
	pci_bus_cfg_write(&pbus, devfn, cap + 12, 4, 2);
	cfg_rd(cap + 16, 4);
	pci_bus_cfg_write(&pbus, devfn, cap + 8, 4, 0xfffffffe);
	ok(&t, (cfg_rd(cap + 16, 4) & 0xffff) == 2,
	   "an offset whose end wraps 32 bits is refused by the PCI access capability");

	virtio_pci_destroy(&vp);
	pci_bus_destroy(&pbus);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	return tap_done(&t);
}
