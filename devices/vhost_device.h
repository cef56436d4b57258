/* A virtio-pci device whose queues an external vhost-user backend serves:
 * the glue between the transport (virtio/virtio_pci.h), the device life
 * cycle (vhost/vhost_dev.h) and the event loop. Each device type (fs, blk,
 * ...) is a struct vhost_user_device_type in a small file of its own.
 *
 * When the backend goes away while the guest runs, the device does what
 * the spec offers: DEVICE_NEEDS_RESET and a config interrupt, one log line,
 * and from then on the VMM answers every request on the queues itself
 * with the type's error reply, so guest I/O fails instead of hanging. */
#ifndef VIRTIO_VHOST_USER_DEVICE_H
#define VIRTIO_VHOST_USER_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/loop.h"
#include "lib/qemu_opts.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_user.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtqueue.h"

struct vhost_user_device;
struct guest_ram;
struct pci_bus;

#define VHOST_USER_DEVICE_MAX_CONFIG 256

struct vhost_user_device_type {
	const char *name;          /* the -device name, e.g. vhost-user-fs-pci */
	uint16_t virtio_id;
	uint32_t pci_class;
	/* Device feature bits the device model supports; the guest is
	 * offered the backend's features within them. */
	uint64_t features;
	/* The config space comes from the backend (GET_CONFIG) rather than
	 * from the VMM. */
	bool backend_config;
	/* Reads the type's -device keys (all but chardev) into d: queue
	 * count and size, config space. -EINVAL with a message naming the
	 * key. */
	int (*configure)(struct vhost_user_device *d, const struct qemu_opts *opts,
			 char *err, size_t errlen);
	/* Answers a request of a dead backend with an error; returns the
	 * bytes written into its in buffers. */
	uint32_t (*fail_request)(struct vhost_user_device *d, unsigned queue,
				 const struct vq_elem *e);
};

/* A queue the VMM serves itself once the backend is gone. */
struct vhost_user_dead_queue {
	struct loop_watch watch;   /* on the queue's kick eventfd */
	struct vhost_user_device *dev;
	unsigned index;
	bool watching;
	struct virtqueue vq;
};

struct vhost_user_device {
	const struct vhost_user_device_type *type;
	char chardev[64];
	struct virtio_pci vp;
	struct vhost_user vu;
	struct vhost_dev vdev;
	struct guest_ram *ram;
	struct event_loop *loop;
	unsigned num_queues;       /* set by configure */
	/* Set by configure: which options made num_queues, for the error
	 * when the backend supports fewer, e.g. "1 high-priority +
	 * num-request-queues=2". */
	char queues_from[64];
	uint16_t queue_size;       /* set by configure */
	uint8_t config[VHOST_USER_DEVICE_MAX_CONFIG];
	uint32_t config_size;      /* set by configure */
	bool vdev_initialized;
	bool backend_lost;
	bool failing;              /* the VMM answers requests itself */
	struct loop_watch hup_watch, req_watch;
	bool hup_watching, req_watching;
	struct vhost_user_dead_queue *dead;   /* num_queues entries */
};

/* Looks up a -device type; NULL if it is not a vhost-user device. */
const struct vhost_user_device_type *vhost_user_device_type_find(const char *name);

/* What a device is built into, from the machine. */
struct vhost_user_device_env {
	struct vm *vm;             /* NULL without KVM (unit tests) */
	struct guest_ram *ram;
	struct pci_bus *bus;
	struct event_loop *loop;
	FILE *trace;               /* -trace vhost-user: every message; or NULL */
};

/* Builds the device from its -device options: connects to chr (the
 * -chardev named by chardev=, NULL if there is none), negotiates with the
 * backend, creates the PCI function on env->bus and the event loop
 * watches. On failure returns -errno with a one-line message in err;
 * vhost_user_device_destroy() is needed either way. */
int vhost_user_device_create(struct vhost_user_device *d,
			     const struct vhost_user_device_type *type,
			     const struct qemu_opts *opts, const struct chardev_config *chr,
			     const struct vhost_user_device_env *env, char *err, size_t errlen);
void vhost_user_device_destroy(struct vhost_user_device *d);

#endif
