/*
 * MSI-X for a pci_dev: the capability (id 0x11), the vector table and the
 * pending-bit array (PBA) in a BAR of the owner's choosing, and the delivery
 * of each vector through KVM.
 *
 * Delivery and masking policy
 * ---------------------------
 * Every vector has an eventfd, owned here and created on first use
 * (msix_vector_fd() or msix_notify()). Writing to it is the ONLY way an
 * interrupt is raised for the vector: the VMM does it for its own interrupts
 * (msix_notify(), e.g. a virtio configuration change), a vhost-user backend
 * gets the fd as its call fd and writes to it directly.
 *
 * While the vector can be delivered (MSI-X enabled, function not masked,
 * vector not masked) the eventfd is a KVM irqfd on a GSI routed to the
 * vector's MSI message, so an interrupt never passes through VMM code. When
 * it cannot (any of the three masks), the irqfd is detached and writes just
 * add up in the eventfd's counter:
 *
 *  - Detaching (KVM_IRQFD with DEASSIGN) zeroes the counter: KVM's
 *    irqfd_shutdown() unhooks itself with eventfd_ctx_remove_wait_queue(),
 *    which reads and resets the count, and kvm_irqfd_deassign() waits for
 *    that (flush_workqueue) before returning (virt/kvm/eventfd.c). Every
 *    count it discards was already injected by irqfd_wakeup(). So from the
 *    mask on, the counter holds exactly the interrupts raised while masked.
 *  - A guest read of the PBA reports a vector pending when it is not
 *    attached and poll() says its eventfd is readable (POLLIN, timeout 0),
 *    which does not consume the count.
 *  - On unmask the irqfd is attached again, and KVM delivers what piled up:
 *    kvm_irqfd_assign() polls the eventfd after hooking into its wait queue
 *    ("Check if there was an event already pending on the eventfd before we
 *    registered, and trigger it as if we didn't miss it": vfs_poll(), then
 *    schedule_work(&irqfd->inject) on EPOLLIN; torvalds/linux
 *    virt/kvm/eventfd.c, the same in the 4.x and 5.x/6.1 sources and in
 *    the 2025 rework that moved the hook into kvm_irqfd_register()). Since
 *    the poll comes after the hook, a write racing with the assign is seen
 *    by one or the other.
 *
 * So an interrupt raised while masked sets its PBA bit and is delivered on
 * unmask, never lost; several coalesce into one, which MSI-X allows. (Some
 * kernels leave the count alone while attached, others consume it in
 * irqfd_wakeup(), the lab's 6.1 stable kernel among them; either way the
 * detach resets it, which is all the PBA relies on. tests/unit/test_msix.c
 * checks this against the running KVM when there is one.)
 *
 * A vector's GSI route is created the first time it is attached and
 * rewritten whenever the guest rewrites the entry's address or data, masked
 * or not, so it is always current when the irqfd is attached again.
 *
 * Locking: struct msix has its own mutex. Table/PBA accesses and the
 * capability hook run with the device lock held and then take it (device
 * lock first, always); msix_vector_fd() and msix_notify() take only it and
 * may be called from any thread, with or without the device lock.
 */
#ifndef PCI_MSIX_H
#define PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pci_dev;
struct vm;

#define MSIX_MAX_VECTORS	2048	/* the table size field is 11 bits */
#define MSIX_CAP_LEN		12
/* virtio's "no vector"; msix_vector_fd() and msix_notify() refuse it. */
#define MSIX_NO_VECTOR		0xffff

/* How a vector reaches KVM; the default wraps kvm/irq.h. Tests plug in a
 * model of KVM's behaviour (see tests/unit/test_msix.c). */
struct msix_irq_ops {
	int (*route_add)(void *ctx, uint64_t addr, uint32_t data);	/* GSI */
	int (*route_update)(void *ctx, int gsi, uint64_t addr, uint32_t data);
	int (*route_remove)(void *ctx, int gsi);
	int (*irqfd_assign)(void *ctx, int fd, int gsi);
	int (*irqfd_deassign)(void *ctx, int fd, int gsi);
};

struct msix_vector {
	uint32_t entry[4];	/* address low, address high, data, vector control */
	int fd;			/* eventfd, -1 until first used */
	int gsi;		/* KVM MSI route, -1 until first attached */
	bool attached;		/* fd is an irqfd on gsi right now */
	bool failed;		/* attaching failed; logged once */
};

struct msix {
	struct pci_dev *dev;
	pthread_mutex_t lock;
	unsigned nvec;
	int bar;
	uint32_t table_off, pba_off;	/* in the BAR */
	int cap;			/* config-space offset of the capability */
	bool enabled, fn_masked;	/* message control: enable, function mask */
	struct msix_vector *vec;
	const struct msix_irq_ops *irq;	/* NULL: no KVM (state is tracked only) */
	void *irq_ctx;
};

/*
 * Adds the MSI-X capability to dev (before pci_bus_add()) for nvec vectors
 * (1..2048) whose table and PBA live in BAR bar at table_off and pba_off:
 * both 8-byte aligned, inside the BAR, not overlapping. The BAR must be a
 * memory BAR already set with pci_dev_set_bar(); its handler forwards the
 * two ranges to msix_table_read/write() and msix_pba_read(), or simply calls
 * msix_bar_access() first. vm is where vectors are routed; NULL for no KVM,
 * where attachment is tracked but no ioctl is made (unit tests).
 * All vectors start masked, MSI-X disabled. Returns 0 or -errno.
 */
int msix_init(struct msix *m, struct vm *vm, struct pci_dev *dev, unsigned nvec,
	      int bar, uint32_t table_off, uint32_t pba_off);
/* Detaches irqfds, removes routes, closes the eventfds. */
void msix_destroy(struct msix *m);
/* Replaces how vectors reach KVM (before the guest runs). */
void msix_set_irq_ops(struct msix *m, const struct msix_irq_ops *ops, void *ctx);

/* The vector's eventfd, created on first call (and attached at once if the
 * vector is deliverable): what a vhost-user backend gets as its call fd.
 * The fd stays owned by msix. -EINVAL for vec >= nvec (MSIX_NO_VECTOR
 * included), or -errno if it cannot be created. */
int msix_vector_fd(struct msix *m, unsigned vec);
/* Raises vector vec from the VMM: one write to its eventfd. 0 or -errno. */
int msix_notify(struct msix *m, unsigned vec);

/* BAR accesses; off is relative to the table / PBA start, len 1..8.
 * Device lock held (they run inside the BAR handler). */
void msix_table_read(struct msix *m, uint64_t off, void *data, unsigned len);
void msix_table_write(struct msix *m, uint64_t off, const void *data, unsigned len);
void msix_pba_read(struct msix *m, uint64_t off, void *data, unsigned len);
/* For a BAR handler: if [off, off + len) of BAR bar is in the table or the
 * PBA, serves it and returns true (PBA writes are ignored). */
bool msix_bar_access(struct msix *m, int bar, uint64_t off, void *data,
		     unsigned len, bool is_write);

/* MSI-X Enable as the guest set it: whether a virtio transport should use
 * vectors at all. */
bool msix_enabled(struct msix *m);
/* State for tests and debugging. */
bool msix_vector_attached(struct msix *m, unsigned vec);
bool msix_vector_pending(struct msix *m, unsigned vec);

#endif
