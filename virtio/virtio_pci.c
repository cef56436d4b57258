#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "kvm/irq.h"
#include "kvm/vm.h"
#include "lib/log.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_PCI_VENDOR     0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040   /* + virtio id: modern-only ids */
#define VIRTIO_PCI_SUBSYS     0x1100
#define COMMON_CFG_SIZE       0x38      /* struct virtio_pci_common_cfg */
#define ISR_QUEUE             0x01

/* Offsets in struct virtio_pci_common_cfg. */
enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
	CC_MSIX = 0x10, CC_NUMQ = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15,
	CC_QSELECT = 0x16, CC_QSIZE = 0x18, CC_QMSIX = 0x1a, CC_QENABLE = 0x1c,
	CC_QNOFF = 0x1e, CC_QDESC = 0x20, CC_QAVAIL = 0x28, CC_QUSED = 0x30,
};

static struct virtio_pci_queue *selected(struct virtio_pci *vp)
{
	return vp->queue_select < vp->desc.num_queues ? &vp->queues[vp->queue_select] : NULL;
}

static uint64_t notify_addr(const struct virtio_pci *vp, unsigned q)
{
	return vp->notify_base + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;
}

/* Kicks go straight from the guest's notify write to the backend's kick
 * eventfd. Every queue has an address of its own, so the value written does
 * not matter: where KVM allows it the ioeventfd has length 0, which KVM
 * serves on its fast MMIO path without decoding the guest's instruction
 * (as QEMU registers it; it matters most nested). Otherwise 2 bytes, the
 * width Linux writes (iowrite16); other widths then still work through the
 * BAR handler. */
static void set_ioeventfds(struct virtio_pci *vp, bool assign)
{
	unsigned q, len;
	int ret;

	if (!vp->vm || vp->notify_base == PCI_BAR_UNMAPPED)
		return;
	len = vp->vm->ioeventfd_any_length ? 0 : 2;
	for (q = 0; q < vp->desc.num_queues; q++) {
		ret = assign ? ioeventfd_assign(vp->vm, vp->queues[q].kick_fd, notify_addr(vp, q), len, false, -1)
			     : ioeventfd_deassign(vp->vm, vp->queues[q].kick_fd, notify_addr(vp, q), len, false, -1);
		if (ret < 0)
			pr_warn("%s: queue %u notify ioeventfd: %s (kicks will be slower)",
				vp->desc.name, q, strerror(-ret));
	}
}

static void bar_moved(struct pci_dev *dev, int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct virtio_pci *vp = dev->opaque;

	(void)old_addr;
	if (bar != VIRTIO_PCI_BAR)
		return;
	set_ioeventfds(vp, false);
	vp->notify_base = new_addr;
	set_ioeventfds(vp, true);
}

static const struct pci_dev_ops virtio_pci_dev_ops = { .bar_moved = bar_moved };

static void drain_kicks(struct virtio_pci *vp)
{
	eventfd_t v;
	unsigned q;

	for (q = 0; q < vp->desc.num_queues; q++)
		while (eventfd_read(vp->queues[q].kick_fd, &v) == 0)
			;
}

static void raise_config_irq_locked(struct virtio_pci *vp)
{
	vp->config_generation++;
	vp->isr |= VIRTIO_PCI_ISR_CONFIG;
	vp->config_irq_unread = true;
	if (vp->msix_config != VIRTIO_MSI_NO_VECTOR)
		msix_notify(&vp->msix, vp->msix_config);
}

static void reset_locked(struct virtio_pci *vp)
{
	unsigned q;

	if (vp->started && vp->desc.ops->stop)
		vp->desc.ops->stop(vp);
	vp->started = false;
	if (vp->desc.ops->reset)
		vp->desc.ops->reset(vp);
	vp->driver_features = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->queue_select = 0;
	vp->status = 0;
	vp->isr = 0;
	vp->config_irq_unread = false;
	for (q = 0; q < vp->desc.num_queues; q++) {
		struct virtio_pci_queue *vq = &vp->queues[q];

		vq->size = vp->desc.max_queue_size;
		vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
		vq->enabled = false;
		vq->desc = vq->avail = vq->used = 0;
	}
	/* Kicks from before the reset belong to rings that no longer exist. */
	drain_kicks(vp);
}

static bool features_acceptable(const struct virtio_pci *vp)
{
	if (vp->driver_features & ~vp->device_features) {
		pr_warn("%s: driver acked features 0x%llx we did not offer; refusing FEATURES_OK",
			vp->desc.name,
			(unsigned long long)(vp->driver_features & ~vp->device_features));
		return false;
	}
	if (!(vp->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
		pr_warn("%s: driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not supported); refusing FEATURES_OK",
			vp->desc.name);
		return false;
	}
	return true;
}

static bool ring_aligned(const struct virtio_pci *vp, unsigned q, const char *what,
			 uint64_t gpa, unsigned align)
{
	if (gpa % align == 0)
		return true;
	pr_warn("%s: queue %u: %s at 0x%llx is not %u-byte aligned; refusing DRIVER_OK",
		vp->desc.name, q, what, (unsigned long long)gpa, align);
	return false;
}

/* The split ring's alignment (virtio 1.x 2.7), checked here once for every
 * path that reads the rings: the backend's, and the VMM's own when it
 * serves a queue after losing the backend. */
static bool queues_acceptable(const struct virtio_pci *vp)
{
	unsigned q;

	for (q = 0; q < vp->desc.num_queues; q++) {
		const struct virtio_pci_queue *vq = &vp->queues[q];

		if (vq->enabled &&
		    !(ring_aligned(vp, q, "descriptor table", vq->desc, 16) &&
		      ring_aligned(vp, q, "available ring", vq->avail, 2) &&
		      ring_aligned(vp, q, "used ring", vq->used, 4)))
			return false;
	}
	return true;
}

static void write_status(struct virtio_pci *vp, uint8_t v)
{
	uint8_t old = vp->status;
	int ret;

	if (v == 0) {
		reset_locked(vp);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !features_acceptable(vp))
		v &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	/* NEEDS_RESET is ours to set; a driver writing back what it read
	 * must not clear it. */
	vp->status = v | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if (!(v & VIRTIO_CONFIG_S_DRIVER_OK) || (old & VIRTIO_CONFIG_S_DRIVER_OK) || vp->started)
		return;
	if (!(vp->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		pr_warn("%s: DRIVER_OK without FEATURES_OK", vp->desc.name);
		vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
		return;
	}
	ret = !queues_acceptable(vp) ? -EINVAL
	      : vp->desc.ops->start ? vp->desc.ops->start(vp) : 0;
	if (ret < 0) {
		vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
		raise_config_irq_locked(vp);
		return;
	}
	vp->started = true;
}

static uint16_t checked_vector(struct virtio_pci *vp, uint16_t v)
{
	/* The driver reads the vector back: NO_VECTOR tells it we refused,
	 * and it falls back to sharing vectors. */
	if (v == VIRTIO_MSI_NO_VECTOR || v >= vp->msix.nvec)
		return VIRTIO_MSI_NO_VECTOR;
	if (msix_vector_fd(&vp->msix, v) < 0)
		return VIRTIO_MSI_NO_VECTOR;
	return v;
}

static void common_snapshot(struct virtio_pci *vp, uint8_t *b)
{
	struct virtio_pci_queue *vq = selected(vp);
	uint32_t df = 0;

	if (vp->device_feature_select < 2)
		df = (uint32_t)(vp->device_features >> (32 * vp->device_feature_select));
	memset(b, 0, COMMON_CFG_SIZE);
	memcpy(b + CC_DFSELECT, &vp->device_feature_select, 4);
	memcpy(b + CC_DF, &df, 4);
	memcpy(b + CC_GFSELECT, &vp->driver_feature_select, 4);
	if (vp->driver_feature_select < 2) {
		uint32_t gf = (uint32_t)(vp->driver_features >> (32 * vp->driver_feature_select));

		memcpy(b + CC_GF, &gf, 4);
	}
	memcpy(b + CC_MSIX, &vp->msix_config, 2);
	memcpy(b + CC_NUMQ, &vp->desc.num_queues, 2);
	b[CC_STATUS] = vp->status;
	b[CC_CFGGEN] = vp->config_generation;
	memcpy(b + CC_QSELECT, &vp->queue_select, 2);
	if (vq) {
		uint16_t en = vq->enabled, noff = vp->queue_select;

		memcpy(b + CC_QSIZE, &vq->size, 2);
		memcpy(b + CC_QMSIX, &vq->msix_vector, 2);
		memcpy(b + CC_QENABLE, &en, 2);
		memcpy(b + CC_QNOFF, &noff, 2);
		memcpy(b + CC_QDESC, &vq->desc, 8);
		memcpy(b + CC_QAVAIL, &vq->avail, 8);
		memcpy(b + CC_QUSED, &vq->used, 8);
	} else {
		uint16_t none = VIRTIO_MSI_NO_VECTOR;

		memcpy(b + CC_QMSIX, &none, 2);
	}
}

/* A 64-bit field written as two 32-bit halves (what the spec asks drivers
 * for) or whole; a whole write must start at the field. */
static void set_field(uint64_t *field, unsigned off_in_field, uint64_t v, unsigned len)
{
	if (len == 8) {
		if (off_in_field == 0)
			*field = v;
		return;
	}
	if (off_in_field == 0)
		*field = (*field & 0xffffffff00000000ULL) | (uint32_t)v;
	else
		*field = (*field & 0xffffffffULL) | ((uint64_t)(uint32_t)v << 32);
}

static void common_write(struct virtio_pci *vp, unsigned off, const void *data, unsigned len)
{
	struct virtio_pci_queue *vq = selected(vp);
	uint64_t v = 0;

	memcpy(&v, data, len);
	switch (off) {
	case CC_DFSELECT:
		vp->device_feature_select = (uint32_t)v;
		return;
	case CC_GFSELECT:
		vp->driver_feature_select = (uint32_t)v;
		return;
	case CC_GF:
		/* Features are fixed once FEATURES_OK is set. */
		if (vp->status & VIRTIO_CONFIG_S_FEATURES_OK || vp->driver_feature_select > 1)
			return;
		set_field(&vp->driver_features, 4 * vp->driver_feature_select, v, 4);
		return;
	case CC_MSIX:
		vp->msix_config = checked_vector(vp, (uint16_t)v);
		return;
	case CC_STATUS:
		write_status(vp, (uint8_t)v);
		return;
	case CC_QSELECT:
		vp->queue_select = (uint16_t)v;
		return;
	}
	/* Queue fields are frozen once the queue is enabled. */
	if (!vq || (vq->enabled && off != CC_QMSIX))
		return;
	switch (off) {
	case CC_QSIZE:
		if (v && v <= vp->desc.max_queue_size && !(v & (v - 1)))
			vq->size = (uint16_t)v;
		return;
	case CC_QMSIX:
		vq->msix_vector = checked_vector(vp, (uint16_t)v);
		return;
	case CC_QENABLE:
		if (v == 1)
			vq->enabled = true;
		return;
	case CC_QDESC: case CC_QDESC + 4:
		set_field(&vq->desc, off - CC_QDESC, v, len);
		return;
	case CC_QAVAIL: case CC_QAVAIL + 4:
		set_field(&vq->avail, off - CC_QAVAIL, v, len);
		return;
	case CC_QUSED: case CC_QUSED + 4:
		set_field(&vq->used, off - CC_QUSED, v, len);
		return;
	}
	pr_debug("%s: ignored common config write at 0x%x (%u bytes)", vp->desc.name, off, len);
}

static void virtio_bar_access(struct virtio_pci *vp, uint64_t off, void *data,
			      unsigned len, bool is_write)
{
	uint8_t snap[COMMON_CFG_SIZE];

	if (off < VIRTIO_PCI_ISR_OFF) {
		if (off + len > COMMON_CFG_SIZE) {
			if (!is_write)
				memset(data, 0, len);
			return;
		}
		if (is_write) {
			common_write(vp, off, data, len);
		} else {
			common_snapshot(vp, snap);
			memcpy(data, snap + off, len);
			if (off <= CC_CFGGEN && off + len > CC_CFGGEN)
				vp->config_irq_unread = false;
		}
	} else if (off < VIRTIO_PCI_DEVICE_OFF) {
		if (is_write)
			return;
		memset(data, 0, len);
		if (off == VIRTIO_PCI_ISR_OFF) {
			/* Reading ISR acknowledges it. */
			*(uint8_t *)data = vp->isr;
			vp->isr = 0;
			vp->config_irq_unread = false;
		}
	} else if (off < VIRTIO_PCI_NOTIFY_OFF) {
		unsigned coff = off - VIRTIO_PCI_DEVICE_OFF;

		if (coff + len > vp->desc.config_size) {
			if (!is_write)
				memset(data, 0, len);
			return;
		}
		if (is_write) {
			if (vp->desc.ops->config_write)
				vp->desc.ops->config_write(vp, coff, data, len);
			return;
		}
		vp->config_irq_unread = false;
		if (vp->desc.ops->config_read)
			vp->desc.ops->config_read(vp, coff, data, len);
		else
			memset(data, 0, len);
	} else {
		unsigned q = (off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT;

		/* Only a notify write the ioeventfd did not catch (another
		 * width, or no KVM) ends up here. */
		if (!is_write) {
			memset(data, 0, len);
			return;
		}
		if (q < vp->desc.num_queues)
			eventfd_write(vp->queues[q].kick_fd, 1);
	}
}

static void virtio_bar_fn(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	virtio_bar_access(opaque, off, data, len, is_write);
}

static void msix_bar_fn(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct virtio_pci *vp = opaque;

	if (!msix_bar_access(&vp->msix, VIRTIO_PCI_MSIX_BAR, off, data, len, is_write) && !is_write)
		memset(data, 0, len);
}

/* VIRTIO_PCI_CAP_PCI_CFG: a window into the BARs through config space,
 * for drivers that cannot map BARs (firmware). The spec requires it. */
static void pci_cfg_cap_access(struct pci_dev *dev, unsigned off, unsigned len, bool is_write)
{
	struct virtio_pci *vp = dev->opaque;
	unsigned cap = vp->pci_cfg_cap;
	uint32_t bar = pci_cfg_get(dev, cap + 4, 1);
	uint32_t boff = pci_cfg_get(dev, cap + 8, 4);
	uint32_t blen = pci_cfg_get(dev, cap + 12, 4);
	uint32_t v = 0;

	if (off + len <= 16 || off >= 20)
		return;   /* not the data bytes */
	if (bar != VIRTIO_PCI_BAR || (blen != 1 && blen != 2 && blen != 4) ||
	    (uint64_t)boff + blen > VIRTIO_PCI_BAR_SIZE || boff % blen)
		return;
	if (is_write) {
		v = pci_cfg_get(dev, cap + 16, 4);
		virtio_bar_access(vp, boff, &v, blen, true);
	} else {
		virtio_bar_access(vp, boff, &v, blen, false);
		pci_cfg_set(dev, cap + 16, 4, v);
	}
}

static void pci_cfg_cap_read(struct pci_dev *dev, void *opaque, unsigned off, unsigned len)
{
	(void)opaque;
	pci_cfg_cap_access(dev, off, len, false);
}

static void pci_cfg_cap_write(struct pci_dev *dev, void *opaque, unsigned off, unsigned len)
{
	(void)opaque;
	pci_cfg_cap_access(dev, off, len, true);
}

static const struct pci_cap_ops pci_cfg_cap_ops = {
	.read = pci_cfg_cap_read,
	.write = pci_cfg_cap_write,
};

static int add_virtio_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset,
			  uint32_t length, unsigned cap_len, const struct pci_cap_ops *ops)
{
	int cap = pci_add_capability(&vp->pci, PCI_CAP_ID_VNDR, cap_len, ops, vp);

	if (cap < 0)
		return cap;
	pci_cfg_set(&vp->pci, cap + 2, 1, cap_len);
	pci_cfg_set(&vp->pci, cap + 3, 1, type);
	pci_cfg_set(&vp->pci, cap + 4, 1, VIRTIO_PCI_BAR);
	pci_cfg_set(&vp->pci, cap + 8, 4, offset);
	pci_cfg_set(&vp->pci, cap + 12, 4, length);
	return cap;
}

static int add_capabilities(struct virtio_pci *vp)
{
	int ret, cap;

	ret = add_virtio_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
			     COMMON_CFG_SIZE, sizeof(struct virtio_pci_cap), NULL);
	if (ret >= 0)
		ret = add_virtio_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1,
				     sizeof(struct virtio_pci_cap), NULL);
	if (ret >= 0 && vp->desc.config_size)
		ret = add_virtio_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
				     vp->desc.config_size, sizeof(struct virtio_pci_cap), NULL);
	if (ret < 0)
		return ret;
	cap = add_virtio_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
			     vp->desc.num_queues * VIRTIO_PCI_NOTIFY_MULT,
			     sizeof(struct virtio_pci_notify_cap), NULL);
	if (cap < 0)
		return cap;
	pci_cfg_set(&vp->pci, cap + 16, 4, VIRTIO_PCI_NOTIFY_MULT);
	cap = add_virtio_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
			     sizeof(struct virtio_pci_cfg_cap), &pci_cfg_cap_ops);
	if (cap < 0)
		return cap;
	/* bar, offset, length and data are the driver's to write. */
	pci_cfg_set_wmask(&vp->pci, cap + 4, 1, 0xff);
	pci_cfg_set_wmask(&vp->pci, cap + 8, 4, 0xffffffff);
	pci_cfg_set_wmask(&vp->pci, cap + 12, 4, 0xffffffff);
	pci_cfg_set_wmask(&vp->pci, cap + 16, 4, 0xffffffff);
	vp->pci_cfg_cap = cap;
	return 0;
}

int virtio_pci_init(struct virtio_pci *vp, struct vm *vm,
		    const struct virtio_dev_desc *desc, void *opaque)
{
	struct pci_dev_id id = {
		.vendor = VIRTIO_PCI_VENDOR,
		.device = VIRTIO_PCI_DEVICE_BASE + desc->virtio_id,
		.subsys_vendor = VIRTIO_PCI_VENDOR,
		.subsys_id = VIRTIO_PCI_SUBSYS,
		.class_code = desc->pci_class,
		.revision = 1,   /* modern device */
	};
	unsigned q;
	int ret;

	memset(vp, 0, sizeof(*vp));
	vp->vm = vm;
	vp->desc = *desc;
	vp->opaque = opaque;
	vp->notify_base = PCI_BAR_UNMAPPED;
	if (!desc->num_queues || desc->num_queues >= VIRTIO_PCI_MAX_QUEUES ||
	    !desc->max_queue_size || (desc->max_queue_size & (desc->max_queue_size - 1)) ||
	    desc->config_size > VIRTIO_PCI_MAX_CONFIG || !desc->ops)
		return -EINVAL;
	vp->device_features = desc->features | (1ULL << VIRTIO_F_VERSION_1);
	vp->queues = calloc(desc->num_queues, sizeof(*vp->queues));
	if (!vp->queues)
		return -ENOMEM;
	for (q = 0; q < desc->num_queues; q++)
		vp->queues[q].kick_fd = -1;
	for (q = 0; q < desc->num_queues; q++) {
		vp->queues[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->queues[q].kick_fd < 0)
			return -errno;
	}
	ret = pci_dev_init(&vp->pci, desc->name, &id, &virtio_pci_dev_ops, vp);
	if (ret < 0)
		return ret;
	ret = pci_dev_set_bar(&vp->pci, VIRTIO_PCI_MSIX_BAR, PCI_BAR_MEM32,
			      VIRTIO_PCI_MSIX_BAR_SIZE, false, msix_bar_fn, vp);
	if (ret >= 0)
		ret = pci_dev_set_bar(&vp->pci, VIRTIO_PCI_BAR, PCI_BAR_MEM64,
				      VIRTIO_PCI_BAR_SIZE, true, virtio_bar_fn, vp);
	if (ret >= 0)
		ret = add_capabilities(vp);
	if (ret >= 0)
		/* A vector per queue and one for config changes. */
		ret = msix_init(&vp->msix, vm, &vp->pci, desc->num_queues + 1,
				VIRTIO_PCI_MSIX_BAR, 0, VIRTIO_PCI_MSIX_PBA);
	if (ret < 0)
		return ret;
	reset_locked(vp);
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	unsigned q;

	if (vp->started && vp->desc.ops->stop)
		vp->desc.ops->stop(vp);
	vp->started = false;
	if (vp->queues) {
		set_ioeventfds(vp, false);
		for (q = 0; q < vp->desc.num_queues; q++)
			if (vp->queues[q].kick_fd >= 0)
				close(vp->queues[q].kick_fd);
	}
	if (vp->msix.dev)
		msix_destroy(&vp->msix);
	if (vp->pci.ops)
		pci_dev_destroy(&vp->pci);
	free(vp->queues);
	vp->queues = NULL;
}

void virtio_pci_config_changed_locked(struct virtio_pci *vp)
{
	if (!vp->config_irq_unread) {
		raise_config_irq_locked(vp);
		return;
	}
	vp->config_generation++;
	vp->isr |= VIRTIO_PCI_ISR_CONFIG;
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	pci_dev_lock(&vp->pci);
	virtio_pci_config_changed_locked(vp);
	pci_dev_unlock(&vp->pci);
}

void virtio_pci_set_needs_reset(struct virtio_pci *vp)
{
	pci_dev_lock(&vp->pci);
	if (!(vp->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
		if (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)
			raise_config_irq_locked(vp);
	}
	pci_dev_unlock(&vp->pci);
}

int virtio_pci_queue_call_fd(struct virtio_pci *vp, unsigned q)
{
	uint16_t v;

	if (q >= vp->desc.num_queues)
		return -1;
	v = vp->queues[q].msix_vector;
	if (v == VIRTIO_MSI_NO_VECTOR)
		return -1;
	return msix_vector_fd(&vp->msix, v);
}

int virtio_pci_notify_queue(struct virtio_pci *vp, unsigned q)
{
	if (q >= vp->desc.num_queues)
		return -EINVAL;
	vp->isr |= ISR_QUEUE;
	if (vp->queues[q].msix_vector == VIRTIO_MSI_NO_VECTOR)
		return 0;
	return msix_notify(&vp->msix, vp->queues[q].msix_vector);
}
