/* GSI routing, irqfd and ioeventfd: the only place that talks to KVM about
 * interrupts and doorbells, so that devices never issue raw ioctls. */
#ifndef KVM_IRQ_H
#define KVM_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

struct vm;

#define IRQ_MAX_ROUTES 1024
/* GSIs 0-23 are the IOAPIC pins (0-15 also the PICs); MSI routes above. */
#define IRQ_FIRST_MSI_GSI 24

struct irq_routing {
	pthread_mutex_t lock;
	struct kvm_irq_routing *table;
	uint32_t next_gsi;
	uint8_t msi_gsi_used[IRQ_MAX_ROUTES];
};

int irq_routing_init(struct vm *vm);
void irq_routing_free(struct irq_routing *r);

/* Allocates a GSI routed to an MSI message; returns the GSI or -errno. */
int irq_msi_route_add(struct vm *vm, uint64_t addr, uint32_t data);
int irq_msi_route_update(struct vm *vm, int gsi, uint64_t addr, uint32_t data);
int irq_msi_route_remove(struct vm *vm, int gsi);
/* Injects one MSI directly, without a route. */
int irq_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);

/* Writes to eventfd fd raise gsi. */
int irqfd_assign(struct vm *vm, int fd, int gsi);
int irqfd_deassign(struct vm *vm, int fd, int gsi);

/* Guest writes of len bytes at addr signal fd instead of exiting to us.
 * datamatch < 0: any value. */
int ioeventfd_assign(struct vm *vm, int fd, uint64_t addr, unsigned len,
		     bool pio, int64_t datamatch);
int ioeventfd_deassign(struct vm *vm, int fd, uint64_t addr, unsigned len,
		       bool pio, int64_t datamatch);

#endif
