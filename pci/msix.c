/*
 * MSI-X capability, table and PBA; delivery through eventfds that are KVM
 * irqfds while the vector is unmasked. The policy and why it loses nothing
 * are in virtio/msix.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/irq.h"
#include "lib/log.h"
#include "pci/msix.h"
#include "pci/pci.h"

#define ENTRY_CTRL 3	/* index of the vector control dword in entry[] */

/* ---- KVM ---- */

static int kvm_route_add(void *ctx, uint64_t addr, uint32_t data)
{
	return irq_msi_route_add(ctx, addr, data);
}

static int kvm_route_update(void *ctx, int gsi, uint64_t addr, uint32_t data)
{
	return irq_msi_route_update(ctx, gsi, addr, data);
}

static int kvm_route_remove(void *ctx, int gsi)
{
	return irq_msi_route_remove(ctx, gsi);
}

static int kvm_irqfd_assign(void *ctx, int fd, int gsi)
{
	return irqfd_assign(ctx, fd, gsi);
}

static int kvm_irqfd_deassign(void *ctx, int fd, int gsi)
{
	return irqfd_deassign(ctx, fd, gsi);
}

static const struct msix_irq_ops kvm_irq_ops = {
	.route_add = kvm_route_add,
	.route_update = kvm_route_update,
	.route_remove = kvm_route_remove,
	.irqfd_assign = kvm_irqfd_assign,
	.irqfd_deassign = kvm_irqfd_deassign,
};

/* ---- Vector state ---- */

static uint64_t vec_addr(const struct msix_vector *v)
{
	return (uint64_t)v->entry[1] << 32 | v->entry[0];
}

static void vec_warn(struct msix *m, unsigned i, const char *what, int err)
{
	struct msix_vector *v = &m->vec[i];

	if (v->failed)
		return;
	v->failed = true;
	pr_warn("pci %s: MSI-X vector %u: %s: %s; its interrupts stay pending",
		m->dev->name, i, what, strerror(-err));
}

static bool deliverable(const struct msix *m, const struct msix_vector *v)
{
	return v->fd >= 0 && m->enabled && !m->fn_masked &&
	       !(v->entry[ENTRY_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* Attaches or detaches vector i's irqfd to match the masks. m->lock held. */
static void sync_vector(struct msix *m, unsigned i)
{
	struct msix_vector *v = &m->vec[i];
	bool want = deliverable(m, v);
	int ret;

	if (want == v->attached)
		return;
	if (!want) {
		/* KVM zeroes the counter here (see msix.h): from now on it
		 * counts exactly what is raised while masked. */
		if (m->irq) {
			ret = m->irq->irqfd_deassign(m->irq_ctx, v->fd, v->gsi);
			if (ret < 0)
				pr_warn("pci %s: MSI-X vector %u: KVM_IRQFD deassign: %s",
					m->dev->name, i, strerror(-ret));
		}
		v->attached = false;
		return;
	}
	if (m->irq) {
		if (v->gsi < 0) {
			ret = m->irq->route_add(m->irq_ctx, vec_addr(v), v->entry[2]);
			if (ret < 0) {
				vec_warn(m, i, "no GSI route", ret);
				return;
			}
			v->gsi = ret;
		}
		/* KVM injects at once if the eventfd is already readable. */
		ret = m->irq->irqfd_assign(m->irq_ctx, v->fd, v->gsi);
		if (ret < 0) {
			vec_warn(m, i, "KVM_IRQFD", ret);
			return;
		}
	}
	v->attached = true;
	v->failed = false;
}

static void sync_all(struct msix *m)
{
	for (unsigned i = 0; i < m->nvec; i++)
		sync_vector(m, i);
}

/* Message control was written: MSI-X Enable and Function Mask. */
static void cap_write(struct pci_dev *dev, void *opaque, unsigned off, unsigned len)
{
	struct msix *m = opaque;
	uint16_t ctrl = (uint16_t)pci_cfg_get(dev, m->cap + PCI_MSIX_FLAGS, 2);

	(void)off;
	(void)len;
	pthread_mutex_lock(&m->lock);
	m->enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	m->fn_masked = ctrl & PCI_MSIX_FLAGS_MASKALL;
	sync_all(m);
	pthread_mutex_unlock(&m->lock);
}

static const struct pci_cap_ops msix_cap_ops = { .write = cap_write };

static unsigned pba_size(unsigned nvec)
{
	return (nvec + 63) / 64 * 8;
}

int msix_init(struct msix *m, struct vm *vm, struct pci_dev *dev, unsigned nvec,
	      int bar, uint32_t table_off, uint32_t pba_off)
{
	uint64_t table_len = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE, bar_size;
	int cap;

	memset(m, 0, sizeof(*m));
	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || bar < 0 || bar >= PCI_NUM_BARS)
		return -EINVAL;
	if (dev->bars[bar].type != PCI_BAR_MEM32 && dev->bars[bar].type != PCI_BAR_MEM64)
		return -EINVAL;
	bar_size = dev->bars[bar].size;
	/* The low 3 bits of the offset registers hold the BIR. */
	if (table_off % 8 || pba_off % 8 ||
	    table_off + table_len > bar_size || pba_off + pba_size(nvec) > bar_size ||
	    (table_off < pba_off + pba_size(nvec) && pba_off < table_off + table_len))
		return -EINVAL;

	m->vec = calloc(nvec, sizeof(*m->vec));
	if (!m->vec)
		return -ENOMEM;
	for (unsigned i = 0; i < nvec; i++) {
		m->vec[i].fd = -1;
		m->vec[i].gsi = -1;
		/* Masked at reset, as the spec requires. */
		m->vec[i].entry[ENTRY_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	cap = pci_add_capability(dev, PCI_CAP_ID_MSIX, MSIX_CAP_LEN, &msix_cap_ops, m);
	if (cap < 0) {
		free(m->vec);
		m->vec = NULL;
		return cap;
	}
	m->dev = dev;
	m->nvec = nvec;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	m->cap = cap;
	if (vm) {
		m->irq = &kvm_irq_ops;
		m->irq_ctx = vm;
	}
	pci_cfg_set(dev, cap + PCI_MSIX_FLAGS, 2, nvec - 1);
	pci_cfg_set(dev, cap + PCI_MSIX_TABLE, 4, table_off | (uint32_t)bar);
	pci_cfg_set(dev, cap + PCI_MSIX_PBA, 4, pba_off | (uint32_t)bar);
	pci_cfg_set_wmask(dev, cap + PCI_MSIX_FLAGS, 2,
			  PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pthread_mutex_init(&m->lock, NULL);
	return 0;
}

void msix_destroy(struct msix *m)
{
	if (!m->vec)
		return;
	for (unsigned i = 0; i < m->nvec; i++) {
		struct msix_vector *v = &m->vec[i];

		if (m->irq && v->attached)
			m->irq->irqfd_deassign(m->irq_ctx, v->fd, v->gsi);
		if (m->irq && v->gsi >= 0)
			m->irq->route_remove(m->irq_ctx, v->gsi);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(m->vec);
	m->vec = NULL;
	pthread_mutex_destroy(&m->lock);
}

void msix_set_irq_ops(struct msix *m, const struct msix_irq_ops *ops, void *ctx)
{
	pthread_mutex_lock(&m->lock);
	m->irq = ops;
	m->irq_ctx = ctx;
	pthread_mutex_unlock(&m->lock);
}

int msix_vector_fd(struct msix *m, unsigned vec)
{
	struct msix_vector *v;
	int fd;

	if (vec >= m->nvec)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	v = &m->vec[vec];
	if (v->fd < 0) {
		/* Non-blocking: the PBA peeks with poll(), never reads; and
		 * a backend may share the file description. */
		v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->fd < 0) {
			fd = -errno;
			pthread_mutex_unlock(&m->lock);
			return fd;
		}
		sync_vector(m, vec);
	}
	fd = v->fd;
	pthread_mutex_unlock(&m->lock);
	return fd;
}

int msix_notify(struct msix *m, unsigned vec)
{
	int fd = msix_vector_fd(m, vec);

	if (fd < 0)
		return fd;
	/* EAGAIN only if the counter is at its maximum: then the vector is
	 * pending anyway. */
	if (eventfd_write(fd, 1) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

/* ---- Table and PBA ---- */

void msix_table_read(struct msix *m, uint64_t off, void *data, unsigned len)
{
	uint8_t *p = data;

	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < len; i++) {
		uint64_t o = off + i;
		const uint8_t *e;

		if (o >= (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE) {
			p[i] = 0;
			continue;
		}
		e = (const uint8_t *)m->vec[o / PCI_MSIX_ENTRY_SIZE].entry;
		p[i] = e[o % PCI_MSIX_ENTRY_SIZE];	/* x86: little-endian */
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_table_write(struct msix *m, uint64_t off, const void *data, unsigned len)
{
	const uint8_t *p = data;
	unsigned i = 0;

	pthread_mutex_lock(&m->lock);
	while (i < len) {
		uint64_t o = off + i;
		unsigned idx = (unsigned)(o / PCI_MSIX_ENTRY_SIZE);
		struct msix_vector *v;
		uint32_t old[4];
		uint8_t *e;

		if (o >= (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE)
			break;
		v = &m->vec[idx];
		memcpy(old, v->entry, sizeof(old));
		e = (uint8_t *)v->entry;
		for (; i < len && (off + i) / PCI_MSIX_ENTRY_SIZE == idx; i++)
			e[(off + i) % PCI_MSIX_ENTRY_SIZE] = p[i];
		/* Vector control: only the mask bit is implemented. */
		v->entry[ENTRY_CTRL] &= PCI_MSIX_ENTRY_CTRL_MASKBIT;

		/* Keep the route current even while masked, so that it is
		 * right the moment the irqfd is attached again. */
		if (m->irq && v->gsi >= 0 && memcmp(old, v->entry, 3 * sizeof(old[0]))) {
			int ret = m->irq->route_update(m->irq_ctx, v->gsi, vec_addr(v),
						       v->entry[2]);
			if (ret < 0)
				pr_warn("pci %s: MSI-X vector %u: route update: %s",
					m->dev->name, idx, strerror(-ret));
		}
		sync_vector(m, idx);
	}
	pthread_mutex_unlock(&m->lock);
}

static bool vector_pending(const struct msix *m, unsigned i)
{
	const struct msix_vector *v = &m->vec[i];
	struct pollfd pfd = { .fd = v->fd, .events = POLLIN };

	/* Attached: KVM delivers at once, nothing waits. */
	if (v->fd < 0 || v->attached)
		return false;
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

void msix_pba_read(struct msix *m, uint64_t off, void *data, unsigned len)
{
	uint8_t *p = data;

	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < len; i++) {
		uint8_t byte = 0;

		for (unsigned bit = 0; bit < 8; bit++) {
			uint64_t vec = (off + i) * 8 + bit;

			if (vec < m->nvec && vector_pending(m, (unsigned)vec))
				byte |= 1u << bit;
		}
		p[i] = byte;
	}
	pthread_mutex_unlock(&m->lock);
}

bool msix_bar_access(struct msix *m, int bar, uint64_t off, void *data,
		     unsigned len, bool is_write)
{
	uint64_t table_len = (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE;

	if (bar != m->bar)
		return false;
	if (off >= m->table_off && off - m->table_off < table_len) {
		if (is_write)
			msix_table_write(m, off - m->table_off, data, len);
		else
			msix_table_read(m, off - m->table_off, data, len);
		return true;
	}
	if (off >= m->pba_off && off - m->pba_off < pba_size(m->nvec)) {
		/* The PBA is read-only; writes are ignored. */
		if (!is_write)
			msix_pba_read(m, off - m->pba_off, data, len);
		return true;
	}
	return false;
}

bool msix_enabled(struct msix *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}

bool msix_vector_attached(struct msix *m, unsigned vec)
{
	bool on = false;

	pthread_mutex_lock(&m->lock);
	if (vec < m->nvec)
		on = m->vec[vec].attached;
	pthread_mutex_unlock(&m->lock);
	return on;
}

bool msix_vector_pending(struct msix *m, unsigned vec)
{
	bool on = false;

	pthread_mutex_lock(&m->lock);
	if (vec < m->nvec)
		on = vector_pending(m, vec);
	pthread_mutex_unlock(&m->lock);
	return on;
}
