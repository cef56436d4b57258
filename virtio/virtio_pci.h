/* The virtio-pci modern transport (virtio 1.x, no legacy interface): common,
 * notify, ISR, device and PCI-access capabilities in one memory BAR, MSI-X
 * in another, feature negotiation and the status state machine. What a
 * device type adds is a struct virtio_dev_desc and its ops.
 *
 * Notifications never pass through here once set up: every queue's notify
 * address is a KVM ioeventfd on the queue's kick eventfd, and every MSI-X
 * vector is an irqfd on its own eventfd (virtio/msix.h), which is what a
 * vhost backend gets as kick and call fds.
 *
 * BAR layout (as QEMU's, which drivers and tools are used to):
 *   BAR 1 (32-bit memory, 8 KiB): MSI-X table at 0, PBA at 0x1000
 *   BAR 4 (64-bit prefetchable memory, 16 KiB):
 *     0x0000 common configuration   0x1000 ISR status
 *     0x2000 device configuration   0x3000 notify, 4 bytes per queue
 */
#ifndef VIRTIO_VIRTIO_PCI_H
#define VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "pci/msix.h"
#include "pci/pci.h"

struct vm;
struct virtio_pci;

#define VIRTIO_PCI_MSIX_BAR     1
#define VIRTIO_PCI_MSIX_BAR_SIZE 0x2000
#define VIRTIO_PCI_MSIX_PBA     0x1000
#define VIRTIO_PCI_BAR          4
#define VIRTIO_PCI_BAR_SIZE     0x4000
#define VIRTIO_PCI_COMMON_OFF   0x0000
#define VIRTIO_PCI_ISR_OFF      0x1000
#define VIRTIO_PCI_DEVICE_OFF   0x2000
#define VIRTIO_PCI_NOTIFY_OFF   0x3000
#define VIRTIO_PCI_NOTIFY_MULT  4
#define VIRTIO_PCI_MAX_QUEUES   (0x1000 / VIRTIO_PCI_NOTIFY_MULT)
#define VIRTIO_PCI_MAX_CONFIG   0x1000

struct virtio_dev_ops {
	/* DRIVER_OK was set: the device (its backend) takes the queues over.
	 * Every enabled queue has been checked: size set, rings aligned as
	 * the split ring needs (desc 16, avail 2, used 4). Non-zero: the
	 * transport sets DEVICE_NEEDS_RESET. */
	int (*start)(struct virtio_pci *vp);
	/* Undo start: the driver reset the device or the VM is going away. */
	void (*stop)(struct virtio_pci *vp);
	/* The driver wrote status 0, after stop: forget queue positions. */
	void (*reset)(struct virtio_pci *vp);
	/* Device configuration space, off relative to its start, within
	 * config_size. Device lock held. */
	void (*config_read)(struct virtio_pci *vp, unsigned off, void *data, unsigned len);
	void (*config_write)(struct virtio_pci *vp, unsigned off, const void *data,
			     unsigned len);
};

/* One device type: everything the transport needs to know about it. */
struct virtio_dev_desc {
	const char *name;          /* "vhost-user-fs-pci", for messages */
	uint16_t virtio_id;        /* VIRTIO_ID_* */
	uint32_t pci_class;        /* class << 16 | subclass << 8 | prog-if */
	uint16_t num_queues;
	uint16_t max_queue_size;   /* power of two */
	uint64_t features;         /* offered; VIRTIO_F_VERSION_1 is added */
	uint32_t config_size;
	const struct virtio_dev_ops *ops;
};

struct virtio_pci_queue {
	uint16_t size;             /* as the driver set it (max_queue_size first) */
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, avail, used;
	int kick_fd;               /* eventfd behind the notify address */
};

struct virtio_pci {
	struct pci_dev pci;
	struct msix msix;
	struct vm *vm;             /* NULL in unit tests: no ioeventfds */
	struct virtio_dev_desc desc;
	void *opaque;              /* the device type's state */
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t device_feature_select, driver_feature_select;
	uint16_t msix_config;
	uint16_t queue_select;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	/* A config-change interrupt was raised and the driver has not looked
	 * at the config space (or ISR) since: the next change only bumps the
	 * generation, which the driver's read will see anyway. */
	bool config_irq_unread;
	bool started;
	uint64_t notify_base;      /* where the notify region is mapped */
	struct virtio_pci_queue *queues;
	int pci_cfg_cap;           /* offset of the PCI access capability */
};

/* Builds the device (PCI function, capabilities, BARs, MSI-X with one
 * vector per queue plus one for config, kick eventfds) for desc; then
 * pci_bus_add(bus, &vp->pci, -1) puts it on the bus. Returns 0 or -errno. */
int virtio_pci_init(struct virtio_pci *vp, struct vm *vm,
		    const struct virtio_dev_desc *desc, void *opaque);
/* Stops the device if started and frees everything but the struct. */
void virtio_pci_destroy(struct virtio_pci *vp);

/* The device configuration changed (a backend said so): bump the
 * generation and raise the config interrupt, unless the driver has not yet
 * looked at the previous one (so a backend cannot flood the guest with
 * interrupts). Takes the device lock. */
void virtio_pci_config_changed(struct virtio_pci *vp);
void virtio_pci_config_changed_locked(struct virtio_pci *vp);
/* The device cannot go on (backend lost): DEVICE_NEEDS_RESET and the config
 * interrupt, as the spec asks. Takes the device lock. */
void virtio_pci_set_needs_reset(struct virtio_pci *vp);
/* Raises queue q's interrupt from the VMM (not the backend). */
int virtio_pci_notify_queue(struct virtio_pci *vp, unsigned q);
/* The eventfd a backend signals for queue q, or -1 without a vector. */
int virtio_pci_queue_call_fd(struct virtio_pci *vp, unsigned q);

#endif
