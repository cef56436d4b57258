/* MSI-X without KVM: the capability, the table and PBA through a BAR, and
 * the masking policy with real eventfds. A model of KVM stands in for the
 * ioctls and behaves as virt/kvm/eventfd.c does where it matters: assigning
 * an irqfd polls the eventfd and injects if it is readable; deassigning
 * reads the counter to zero; while assigned, every write injects. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kvm/bus.h"
#include "kvm/vm.h"
#include "lib/log.h"
#include "tests/unit/tap.h"
#include "pci/msix.h"
#include "pci/pci.h"

#define NVEC		70	/* > 64: the PBA takes two qwords */
#define BAR		1
#define BAR_SIZE	0x4000
#define TABLE_OFF	0x0000
#define PBA_OFF		0x2000
#define MSI_ADDR	0xfee00000u

/* ---- The KVM model ---- */

#define MAX_GSI 64

struct kvm_model {
	struct { bool used; uint64_t addr; uint32_t data; int injected; int fd; } gsi[MAX_GSI];
	int route_adds, route_updates, route_removes, assigns, deassigns;
	bool fail_routes;
};

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int m_route_add(void *ctx, uint64_t addr, uint32_t data)
{
	struct kvm_model *k = ctx;

	if (k->fail_routes)
		return -ENOSPC;
	for (int g = 24; g < MAX_GSI; g++) {
		if (k->gsi[g].used)
			continue;
		k->gsi[g].used = true;
		k->gsi[g].addr = addr;
		k->gsi[g].data = data;
		k->gsi[g].fd = -1;
		k->route_adds++;
		return g;
	}
	return -ENOSPC;
}

static int m_route_update(void *ctx, int gsi, uint64_t addr, uint32_t data)
{
	struct kvm_model *k = ctx;

	k->gsi[gsi].addr = addr;
	k->gsi[gsi].data = data;
	k->route_updates++;
	return 0;
}

static int m_route_remove(void *ctx, int gsi)
{
	struct kvm_model *k = ctx;

	k->gsi[gsi].used = false;
	k->route_removes++;
	return 0;
}

/* kvm_irqfd_assign(): hook in, then "if (events & EPOLLIN) inject". */
static int m_assign(void *ctx, int fd, int gsi)
{
	struct kvm_model *k = ctx;

	k->gsi[gsi].fd = fd;
	k->assigns++;
	if (readable(fd))
		k->gsi[gsi].injected++;
	return 0;
}

/* irqfd_shutdown(): eventfd_ctx_remove_wait_queue() zeroes the count. */
static int m_deassign(void *ctx, int fd, int gsi)
{
	struct kvm_model *k = ctx;
	eventfd_t v;

	k->gsi[gsi].fd = -1;
	k->deassigns++;
	eventfd_read(fd, &v);
	return 0;
}

static const struct msix_irq_ops model_ops = {
	.route_add = m_route_add, .route_update = m_route_update,
	.route_remove = m_route_remove, .irqfd_assign = m_assign,
	.irqfd_deassign = m_deassign,
};

/* A write to an assigned eventfd: irqfd_wakeup() injects (and newer
 * kernels consume the count). The model does it when asked. */
static void kvm_run(struct kvm_model *k)
{
	for (int g = 0; g < MAX_GSI; g++) {
		eventfd_t v;

		if (k->gsi[g].used && k->gsi[g].fd >= 0 && eventfd_read(k->gsi[g].fd, &v) == 0)
			k->gsi[g].injected++;
	}
}

/* ---- A device with MSI-X in BAR 1 ---- */

struct rig {
	struct bus pio, mmio;
	struct pci_bus pci;
	struct pci_dev dev;
	struct msix msix;
	struct kvm_model kvm;
	int other_bar_hits;
	int devfn;
	uint64_t bar;
};

static void bar_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct rig *r = opaque;

	/* What a transport's BAR handler does first. */
	if (msix_bar_access(&r->msix, BAR, off, data, len, is_write))
		return;
	r->other_bar_hits++;
	if (!is_write)
		memset(data, 0, len);
}

static const struct pci_dev_id id = { .vendor = 0x1af4, .device = 0x1041, .class_code = 0xff0000 };

static int rig_init(struct rig *r, bool model)
{
	struct pci_bus_config cfg;
	int ret;

	memset(r, 0, sizeof(*r));
	bus_init(&r->pio, "pio");
	bus_init(&r->mmio, "mmio");
	cfg = (struct pci_bus_config){ .pio = &r->pio, .mmio = &r->mmio };
	pci_layout_init(&cfg.layout, 1ULL << 30, 40);
	ret = pci_bus_init(&r->pci, &cfg);
	if (!ret)
		ret = pci_dev_init(&r->dev, "msixdev", &id, NULL, r);
	if (!ret)
		ret = pci_dev_set_bar(&r->dev, BAR, PCI_BAR_MEM32, BAR_SIZE, false, bar_io, r);
	if (!ret)
		ret = msix_init(&r->msix, NULL, &r->dev, NVEC, BAR, TABLE_OFF, PBA_OFF);
	if (!ret && model)
		msix_set_irq_ops(&r->msix, &model_ops, &r->kvm);
	if (!ret)
		ret = r->devfn = pci_bus_add(&r->pci, &r->dev, -1);
	r->bar = pci_bar_addr(&r->dev, BAR);
	return ret < 0 ? ret : 0;
}

static void rig_destroy(struct rig *r)
{
	msix_destroy(&r->msix);
	pci_bus_destroy(&r->pci);
	pci_dev_destroy(&r->dev);
	bus_destroy(&r->pio);
	bus_destroy(&r->mmio);
}

static uint64_t rd(struct rig *r, uint64_t off, unsigned len)
{
	uint8_t d[8] = { 0 };
	uint64_t v = 0;

	bus_dispatch(&r->mmio, r->bar + off, d, len, false);
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static void wr(struct rig *r, uint64_t off, unsigned len, uint64_t v)
{
	uint8_t d[8];

	for (unsigned i = 0; i < 8; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	bus_dispatch(&r->mmio, r->bar + off, d, len, true);
}

static uint32_t cfg_rd(struct rig *r, unsigned off, unsigned len)
{
	return pci_bus_cfg_read(&r->pci, r->devfn, off, len);
}

static void cfg_wr(struct rig *r, unsigned off, unsigned len, uint32_t v)
{
	pci_bus_cfg_write(&r->pci, r->devfn, off, len, v);
}

/* Message control, as the guest writes it. */
static void ctrl(struct rig *r, uint16_t bits)
{
	cfg_wr(r, r->msix.cap + PCI_MSIX_FLAGS, 2, bits);
}

static void program(struct rig *r, unsigned vec, uint32_t data, bool masked)
{
	uint64_t e = TABLE_OFF + vec * PCI_MSIX_ENTRY_SIZE;

	/* Linux's order: address, data, then vector control, dword by dword. */
	wr(r, e + PCI_MSIX_ENTRY_LOWER_ADDR, 4, MSI_ADDR);
	wr(r, e + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
	wr(r, e + PCI_MSIX_ENTRY_DATA, 4, data);
	wr(r, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, masked);
}

static void mask(struct rig *r, unsigned vec, bool masked)
{
	wr(r, TABLE_OFF + vec * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, masked);
}

static bool pba_bit(struct rig *r, unsigned vec)
{
	return rd(r, PBA_OFF + vec / 64 * 8, 8) >> (vec % 64) & 1;
}

/* ---- Tests ---- */

static void test_init_errors(struct tap *t)
{
	struct pci_dev dev;
	struct msix m;

	pci_dev_init(&dev, "x", &id, NULL, NULL);
	ok(t, msix_init(&m, NULL, &dev, 4, 0, 0, 0x800) == -EINVAL, "BAR not declared: -EINVAL");
	pci_dev_set_bar(&dev, 0, PCI_BAR_MEM32, 4096, false, bar_io, NULL);
	pci_dev_set_bar(&dev, 2, PCI_BAR_IO, 64, false, bar_io, NULL);
	ok(t, msix_init(&m, NULL, &dev, 0, 0, 0, 0x800) == -EINVAL, "0 vectors: -EINVAL");
	ok(t, msix_init(&m, NULL, &dev, 2049, 0, 0, 0x800) == -EINVAL, "2049 vectors: -EINVAL");
	ok(t, msix_init(&m, NULL, &dev, 4, 2, 0, 0x20) == -EINVAL, "an I/O BAR: -EINVAL");
	ok(t, msix_init(&m, NULL, &dev, 4, 0, 4, 0x800) == -EINVAL, "table not 8-byte aligned");
	ok(t, msix_init(&m, NULL, &dev, 4, 0, 0, 0x20) == -EINVAL, "PBA inside the table");
	ok(t, msix_init(&m, NULL, &dev, 256, 0, 0, 0x800) == -EINVAL, "table past the BAR's end");
	ok(t, msix_init(&m, NULL, &dev, 4, 0, 0, 4096 - 8) == 0, "PBA in the BAR's last qword");
	ok(t, dev.ncaps == 1 && (dev.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST), "one capability added");
	msix_destroy(&m);
	msix_destroy(&m);
	ok(t, 1, "msix_destroy twice is harmless");
	pci_dev_destroy(&dev);
}

static void test_capability(struct tap *t)
{
	struct rig r;
	unsigned cap;

	ok(t, rig_init(&r, false) == 0, "device with %d vectors in BAR %d", NVEC, BAR);
	cap = cfg_rd(&r, PCI_CAPABILITY_LIST, 1);
	ok(t, cap == (unsigned)r.msix.cap && cfg_rd(&r, cap, 1) == PCI_CAP_ID_MSIX &&
		      cfg_rd(&r, cap + 1, 1) == 0 && (cfg_rd(&r, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST),
	   "capability 0x11 on the list at 0x%x", cap);
	ok(t, cfg_rd(&r, cap + PCI_MSIX_FLAGS, 2) == NVEC - 1, "message control: table size N-1, off");
	ok(t, cfg_rd(&r, cap + PCI_MSIX_TABLE, 4) == (TABLE_OFF | BAR) &&
		      cfg_rd(&r, cap + PCI_MSIX_PBA, 4) == (PBA_OFF | BAR),
	   "table and PBA offset/BIR");
	ctrl(&r, 0xffff);
	ok(t, cfg_rd(&r, cap + PCI_MSIX_FLAGS, 2) == (0xc000 | (NVEC - 1)) && r.msix.enabled &&
		      r.msix.fn_masked && msix_enabled(&r.msix),
	   "only enable and function mask are writable");
	cfg_wr(&r, cap + PCI_MSIX_TABLE, 4, 0x12345678);
	ok(t, cfg_rd(&r, cap + PCI_MSIX_TABLE, 4) == (TABLE_OFF | BAR), "table offset is read-only");
	ctrl(&r, 0);
	ok(t, !msix_enabled(&r.msix), "disabled again");

	/* The table through the BAR. */
	ok(t, rd(&r, TABLE_OFF + PCI_MSIX_ENTRY_VECTOR_CTRL, 4) == 1 &&
		      rd(&r, TABLE_OFF + (NVEC - 1) * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4) == 1,
	   "every vector masked at reset");
	program(&r, 3, 0x4041, true);
	ok(t, rd(&r, TABLE_OFF + 3 * 16, 8) == MSI_ADDR && rd(&r, TABLE_OFF + 3 * 16 + 8, 4) == 0x4041,
	   "entry reads back (8-byte read of the address)");
	wr(&r, TABLE_OFF + 3 * 16 + 9, 1, 0x77);
	ok(t, rd(&r, TABLE_OFF + 3 * 16 + 8, 4) == 0x7741, "byte writes merge into the entry");
	wr(&r, TABLE_OFF + 3 * 16, 8, 0x00000001fee01000ULL);
	ok(t, rd(&r, TABLE_OFF + 3 * 16, 4) == 0xfee01000 && rd(&r, TABLE_OFF + 3 * 16 + 4, 4) == 1,
	   "an 8-byte write sets both address halves");
	wr(&r, TABLE_OFF + 3 * 16 + 12, 4, 0xfffffffe);
	ok(t, rd(&r, TABLE_OFF + 3 * 16 + 12, 4) == 0, "vector control: only the mask bit sticks");
	wr(&r, PBA_OFF, 8, ~0ULL);
	ok(t, rd(&r, PBA_OFF, 8) == 0 && rd(&r, PBA_OFF + 8, 8) == 0, "PBA is read-only and clear");
	ok(t, rd(&r, 0x3000, 4) == 0 && r.other_bar_hits == 1,
	   "the rest of the BAR goes to the device's own handler");
	rig_destroy(&r);
}

static void test_vector_fd(struct tap *t)
{
	struct rig r;
	int fd;

	rig_init(&r, false);
	ok(t, msix_vector_fd(&r.msix, MSIX_NO_VECTOR) == -EINVAL &&
		      msix_vector_fd(&r.msix, NVEC) == -EINVAL && msix_notify(&r.msix, NVEC) == -EINVAL,
	   "VIRTIO_MSI_NO_VECTOR and out-of-range vectors: -EINVAL");
	fd = msix_vector_fd(&r.msix, 0);
	ok(t, fd >= 0 && msix_vector_fd(&r.msix, 0) == fd, "an eventfd per vector, created once");
	ok(t, msix_vector_fd(&r.msix, 1) != fd, "each vector its own");
	ok(t, fcntl(fd, F_GETFD) & FD_CLOEXEC, "close-on-exec");

	/* Without KVM (vm == NULL) attachment is tracked, no ioctl made. */
	program(&r, 0, 0x4021, false);
	ctrl(&r, PCI_MSIX_FLAGS_ENABLE);
	ok(t, msix_vector_attached(&r.msix, 0) && r.msix.vec[0].gsi < 0,
	   "no KVM: unmasked + enabled shows as attached");
	mask(&r, 0, true);
	ok(t, !msix_vector_attached(&r.msix, 0), "masked: detached");
	ok(t, msix_notify(&r.msix, 0) == 0 && pba_bit(&r, 0) && pba_bit(&r, 0),
	   "notify while masked: PBA bit set, and reading it does not consume it");
	rig_destroy(&r);
	ok(t, fcntl(fd, F_GETFD) < 0 && errno == EBADF, "msix_destroy closes the eventfds");
}

static void test_masking(struct tap *t)
{
	struct rig r;
	struct kvm_model *k = &r.kvm;
	int fd, gsi;

	rig_init(&r, true);
	fd = msix_vector_fd(&r.msix, 0);
	ok(t, k->route_adds == 0 && k->assigns == 0, "an eventfd alone: no route, no irqfd");

	/* Linux's order: program masked entries, enable with the function
	 * masked, unmask the function, unmask the vectors. */
	program(&r, 0, 0x4021, true);
	ctrl(&r, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	ctrl(&r, PCI_MSIX_FLAGS_ENABLE);
	ok(t, !msix_vector_attached(&r.msix, 0) && k->assigns == 0, "vector still masked: not attached");
	mask(&r, 0, false);
	gsi = r.msix.vec[0].gsi;
	ok(t, msix_vector_attached(&r.msix, 0) && k->route_adds == 1 && gsi >= 24 &&
		      k->gsi[gsi].addr == MSI_ADDR && k->gsi[gsi].data == 0x4021 &&
		      k->gsi[gsi].fd == fd,
	   "unmasked: route to the entry's message, eventfd is its irqfd");
	ok(t, k->gsi[gsi].injected == 0, "nothing was pending, nothing injected");

	/* Delivery while unmasked never involves the VMM. */
	eventfd_write(fd, 1);
	kvm_run(k);
	ok(t, k->gsi[gsi].injected == 1 && !pba_bit(&r, 0), "a backend's write is injected by KVM");
	ok(t, msix_notify(&r.msix, 0) == 0 && (kvm_run(k), k->gsi[gsi].injected == 2),
	   "msix_notify() goes the same way");

	/* The guest retargets the vector (Linux masks around it). */
	mask(&r, 0, true);
	wr(&r, TABLE_OFF + PCI_MSIX_ENTRY_DATA, 4, 0x4031);
	mask(&r, 0, false);
	ok(t, k->route_updates == 1 && k->gsi[gsi].data == 0x4031 && k->route_adds == 1,
	   "new data: the same GSI's route is updated");
	wr(&r, TABLE_OFF + PCI_MSIX_ENTRY_LOWER_ADDR, 4, MSI_ADDR | 0x1000);
	ok(t, k->route_updates == 2 && k->gsi[gsi].addr == (MSI_ADDR | 0x1000),
	   "even while unmasked");
	wr(&r, TABLE_OFF + PCI_MSIX_ENTRY_DATA, 4, 0x4031);
	ok(t, k->route_updates == 2, "an unchanged message is not pushed again");

	/* Masked: the interrupt waits in the eventfd and shows in the PBA. */
	mask(&r, 0, true);
	ok(t, !msix_vector_attached(&r.msix, 0) && k->deassigns == 2, "masked: irqfd detached");
	ok(t, !pba_bit(&r, 0), "nothing pending yet");
	eventfd_write(fd, 1);
	kvm_run(k);
	ok(t, k->gsi[gsi].injected == 2, "a write while masked is not injected");
	ok(t, pba_bit(&r, 0) && pba_bit(&r, 0) && msix_vector_pending(&r.msix, 0),
	   "it shows in the PBA, and keeps showing");
	eventfd_write(fd, 1);
	mask(&r, 0, false);
	ok(t, k->gsi[gsi].injected == 3 && !pba_bit(&r, 0),
	   "unmask: KVM injects what was pending, once, as it hooks in");
	mask(&r, 0, true);
	ok(t, !pba_bit(&r, 0), "detaching zeroes the count: no stale PBA bit");

	/* The function mask and MSI-X Enable mask every vector the same way. */
	mask(&r, 0, false);
	ctrl(&r, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	ok(t, !msix_vector_attached(&r.msix, 0), "function mask: detached");
	msix_notify(&r.msix, 0);
	ok(t, pba_bit(&r, 0), "pending under the function mask");
	ctrl(&r, PCI_MSIX_FLAGS_ENABLE);
	ok(t, msix_vector_attached(&r.msix, 0) && k->gsi[gsi].injected == 4 && !pba_bit(&r, 0),
	   "function unmasked: delivered");
	ctrl(&r, 0);
	msix_notify(&r.msix, 0);
	ok(t, !msix_vector_attached(&r.msix, 0) && pba_bit(&r, 0), "MSI-X disabled: pending");
	ctrl(&r, PCI_MSIX_FLAGS_ENABLE);
	ok(t, k->gsi[gsi].injected == 5, "enabled again: delivered");

	/* Lazily created eventfds attach at once if the vector is live. */
	program(&r, 65, 0x4051, false);
	ok(t, !msix_vector_attached(&r.msix, 65) && k->route_adds == 1,
	   "vector 65 unmasked but without an eventfd: nothing to attach");
	fd = msix_vector_fd(&r.msix, 65);
	ok(t, msix_vector_attached(&r.msix, 65) && k->route_adds == 2,
	   "its eventfd is created attached");
	mask(&r, 65, true);
	eventfd_write(fd, 1);
	ok(t, rd(&r, PBA_OFF + 8, 8) == 2 && rd(&r, PBA_OFF, 8) == 0,
	   "vector 65 pending: bit 1 of the PBA's second qword");
	ok(t, rd(&r, PBA_OFF + 8, 1) == 2 && rd(&r, PBA_OFF + 12, 4) == 0, "narrow PBA reads");

	/* Without a route the interrupt stays pending rather than lost. */
	k->fail_routes = true;
	msix_vector_fd(&r.msix, 2);
	program(&r, 2, 0x4061, false);
	msix_notify(&r.msix, 2);
	ok(t, !msix_vector_attached(&r.msix, 2) && pba_bit(&r, 2),
	   "no GSI left: not attached, the interrupt stays pending");
	k->fail_routes = false;
	mask(&r, 2, true);
	mask(&r, 2, false);
	ok(t, msix_vector_attached(&r.msix, 2) && k->gsi[r.msix.vec[2].gsi].injected == 1,
	   "retried on the next unmask, and delivered");

	rig_destroy(&r);
	ok(t, k->deassigns == k->assigns && k->route_removes == k->route_adds,
	   "msix_destroy detaches every irqfd and removes every route (%d, %d)",
	   k->assigns, k->route_adds);
}

/*
 * The same policy against the real KVM, where there is one (the lab): the
 * ioctls succeed, and the claims the policy rests on hold on this kernel.
 * No vCPU runs, so injections themselves are not observed, only what they
 * do to the eventfd.
 */
static void test_real_kvm(struct tap *t)
{
	struct pci_bus_config cfg;
	struct pci_bus pci;
	struct pci_dev dev;
	struct msix m;
	struct utsname u;
	struct vm vm;
	char err[256];
	int fd, devfn;

	if (kvm_host_problem(err, sizeof(err))) {
		ok(t, 1, "# SKIP no usable KVM here (tests/lab/run -- %s)", "build/tests/unit/test_msix");
		return;
	}
	if (vm_create(&vm, err, sizeof(err)) < 0) {
		ok(t, 1, "# SKIP vm_create: %s", err);
		return;
	}
	cfg = (struct pci_bus_config){ .pio = &vm.pio, .mmio = &vm.mmio };
	pci_layout_init(&cfg.layout, 1ULL << 30, 40);
	ok(t, pci_bus_init(&pci, &cfg) == 0, "KVM: PCI bus on the VM's buses");
	pci_dev_init(&dev, "kvmdev", &id, NULL, NULL);
	pci_dev_set_bar(&dev, 0, PCI_BAR_MEM32, BAR_SIZE, false, bar_io, NULL);
	ok(t, msix_init(&m, &vm, &dev, 4, 0, TABLE_OFF, PBA_OFF) == 0, "KVM: msix_init with a VM");
	devfn = pci_bus_add(&pci, &dev, -1);
	fd = msix_vector_fd(&m, 0);
	msix_table_write(&m, 0, &(uint32_t){ MSI_ADDR }, 4);
	msix_table_write(&m, 8, &(uint32_t){ 0x4021 }, 4);
	pci_bus_cfg_write(&pci, devfn, m.cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	msix_table_write(&m, 12, &(uint32_t){ 0 }, 4);
	ok(t, msix_vector_attached(&m, 0) && m.vec[0].gsi >= IRQ_FIRST_MSI_GSI,
	   "KVM: unmasked vector has route GSI %d and an irqfd", m.vec[0].gsi);

	eventfd_write(fd, 1);
	uname(&u);
	ok(t, 1, "# KVM: after a write while attached the eventfd is %s (host kernel %s)",
	   readable(fd) ? "still readable: irqfd_wakeup() does not consume the count" :
			  "empty: irqfd_wakeup() consumes the count", u.release);
	msix_table_write(&m, 12, &(uint32_t){ 1 }, 4);
	ok(t, !msix_vector_attached(&m, 0) && !readable(fd),
	   "KVM: masking (KVM_IRQFD deassign) leaves the counter at zero");
	ok(t, !msix_vector_pending(&m, 0), "KVM: so the PBA bit is clear");
	msix_notify(&m, 0);
	ok(t, msix_vector_pending(&m, 0), "KVM: a notify while masked is pending in the PBA");
	msix_table_write(&m, 0x8, &(uint32_t){ 0x4022 }, 4);
	msix_table_write(&m, 12, &(uint32_t){ 0 }, 4);
	ok(t, msix_vector_attached(&m, 0) && !msix_vector_pending(&m, 0),
	   "KVM: unmasked (route updated, irqfd assigned; KVM injects the pending one)");

	msix_destroy(&m);
	ok(t, fcntl(fd, F_GETFD) < 0, "KVM: msix_destroy deassigned and closed");
	pci_bus_destroy(&pci);
	pci_dev_destroy(&dev);
	vm_destroy(&vm);
}

int main(void)
{
	struct tap t = TAP_INIT;

	log_set_level(LOG_ERROR);
	test_init_errors(&t);
	test_capability(&t);
	test_vector_fd(&t);
	test_masking(&t);
	test_real_kvm(&t);
	return tap_done(&t);
}
