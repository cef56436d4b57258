#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/irq.h"
#include "kvm/vm.h"

static struct kvm_irq_routing_entry *route_slot(struct irq_routing *r)
{
	return &r->table->entries[r->table->nr++];
}

static void add_irqchip_route(struct irq_routing *r, uint32_t gsi,
			      uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = route_slot(r);

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static int commit(struct vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, vm->routing.table) < 0)
		return -errno;
	return 0;
}

/* The ISA layout of a PC with the override the MADT announces: IRQ0 (the
 * PIT) reaches IOAPIC pin 2, as on real chipsets and in QEMU; everything
 * else is identity. PIC routes stay so that early boot works before the
 * kernel switches to the IOAPIC. */
int irq_routing_init(struct vm *vm)
{
	struct irq_routing *r = &vm->routing;
	uint32_t i;
	int ret;

	pthread_mutex_init(&r->lock, NULL);
	r->table = calloc(1, sizeof(*r->table) +
			     IRQ_MAX_ROUTES * sizeof(r->table->entries[0]));
	if (!r->table)
		return -ENOMEM;
	for (i = 0; i < 8; i++)
		if (i != 2)
			add_irqchip_route(r, i, KVM_IRQCHIP_PIC_MASTER, i);
	for (i = 8; i < 16; i++)
		add_irqchip_route(r, i, KVM_IRQCHIP_PIC_SLAVE, i - 8);
	for (i = 0; i < IRQ_FIRST_MSI_GSI; i++) {
		if (i == 2)
			continue;
		add_irqchip_route(r, i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i);
	}
	r->next_gsi = IRQ_FIRST_MSI_GSI;
	pthread_mutex_lock(&r->lock);
	ret = commit(vm);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void irq_routing_free(struct irq_routing *r)
{
	if (!r->table)
		return;
	free(r->table);
	r->table = NULL;
	pthread_mutex_destroy(&r->lock);
}

static struct kvm_irq_routing_entry *find_msi(struct irq_routing *r, int gsi)
{
	uint32_t i;

	for (i = 0; i < r->table->nr; i++) {
		struct kvm_irq_routing_entry *e = &r->table->entries[i];

		if (e->gsi == (uint32_t)gsi && e->type == KVM_IRQ_ROUTING_MSI)
			return e;
	}
	return NULL;
}

static void fill_msi(struct kvm_irq_routing_entry *e, int gsi, uint64_t addr,
		     uint32_t data)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
}

int irq_msi_route_add(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct irq_routing *r = &vm->routing;
	int gsi, ret;

	pthread_mutex_lock(&r->lock);
	for (gsi = IRQ_FIRST_MSI_GSI; gsi < IRQ_MAX_ROUTES; gsi++)
		if (!r->msi_gsi_used[gsi])
			break;
	if (gsi == IRQ_MAX_ROUTES || r->table->nr == IRQ_MAX_ROUTES) {
		ret = -ENOSPC;
		goto out;
	}
	fill_msi(route_slot(r), gsi, addr, data);
	ret = commit(vm);
	if (ret < 0) {
		r->table->nr--;
		goto out;
	}
	r->msi_gsi_used[gsi] = 1;
	ret = gsi;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_msi_route_update(struct vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	struct irq_routing *r = &vm->routing;
	struct kvm_irq_routing_entry *e, old;
	int ret = -ENOENT;

	pthread_mutex_lock(&r->lock);
	e = find_msi(r, gsi);
	if (e) {
		old = *e;
		fill_msi(e, gsi, addr, data);
		ret = commit(vm);
		if (ret < 0)
			*e = old;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_msi_route_remove(struct vm *vm, int gsi)
{
	struct irq_routing *r = &vm->routing;
	struct kvm_irq_routing_entry *e;
	int ret = -ENOENT;

	pthread_mutex_lock(&r->lock);
	e = find_msi(r, gsi);
	if (e) {
		*e = r->table->entries[--r->table->nr];
		r->msi_gsi_used[gsi] = 0;
		ret = commit(vm);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

static int irqfd(struct vm *vm, int fd, int gsi, uint32_t flags)
{
	struct kvm_irqfd req = { .fd = fd, .gsi = gsi, .flags = flags };

	if (ioctl(vm->vm_fd, KVM_IRQFD, &req) < 0)
		return -errno;
	return 0;
}

int irqfd_assign(struct vm *vm, int fd, int gsi)
{
	return irqfd(vm, fd, gsi, 0);
}

int irqfd_deassign(struct vm *vm, int fd, int gsi)
{
	return irqfd(vm, fd, gsi, KVM_IRQFD_FLAG_DEASSIGN);
}

static int ioeventfd(struct vm *vm, int fd, uint64_t addr, unsigned len,
		     bool pio, int64_t datamatch, uint32_t flags)
{
	struct kvm_ioeventfd req = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = flags,
	};

	if (pio)
		req.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (datamatch >= 0) {
		req.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
		req.datamatch = (uint64_t)datamatch;
	}
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &req) < 0)
		return -errno;
	return 0;
}

int ioeventfd_assign(struct vm *vm, int fd, uint64_t addr, unsigned len,
		     bool pio, int64_t datamatch)
{
	return ioeventfd(vm, fd, addr, len, pio, datamatch, 0);
}

int ioeventfd_deassign(struct vm *vm, int fd, uint64_t addr, unsigned len,
		       bool pio, int64_t datamatch)
{
	return ioeventfd(vm, fd, addr, len, pio, datamatch,
			 KVM_IOEVENTFD_FLAG_DEASSIGN);
}
