/* A virtio-pci device whose queues a vhost back-end serves: the one base
 * every such -device type is built on (QEMU's vhost-user-base, Cloud
 * Hypervisor's vhost_user common handle). It joins the transport
 * (virtio/virtio_pci.h), the vhost life cycle (vhost/vhost_dev.h) and the
 * event loop; a device type is a struct vhost_device_type - a table row,
 * plus a configure function when the type has properties of its own.
 *
 * The back-end is a vhost-user process (struct vhost_user) or the host
 * kernel's /dev/vhost-* (struct vhost_kernel), as the type says; the
 * device talks to either through vhost_dev only. A kernel back-end does
 * not go away, so only vhost-user devices watch for a lost back-end.
 *
 * Queues: the first num_queues - type->vmm_queues go to the back-end; the
 * last type->vmm_queues are the VMM's (the vsock event queue), which it
 * holds and never hands over.
 *
 * When a vhost-user back-end goes away while the guest runs, the device
 * does what the spec offers: DEVICE_NEEDS_RESET and a config interrupt, one
 * log line, and from then on the VMM answers every request on the queues
 * itself (the type's fail_request, or an empty answer), so guest I/O fails
 * instead of hanging.
 *
 * Threads: the transport calls the device ops with the PCI device lock
 * held, from a vCPU thread (register writes, e.g. DRIVER_OK) or the event
 * loop; the event loop's callbacks (back-end hang-up, back-end requests,
 * kicks of queues the VMM serves) take the same lock. */
#ifndef DEVICES_VHOST_DEVICE_H
#define DEVICES_VHOST_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/loop.h"
#include "lib/qemu_opts.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_kernel.h"
#include "vhost/vhost_user.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtqueue.h"

struct vhost_device;
struct guest_ram;
struct pci_bus;

/* The largest config space a device may have: what one GET_CONFIG
 * carries. */
#define VHOST_DEVICE_MAX_CONFIG VHOST_USER_MAX_CONFIG_SIZE

enum vhost_device_backend {
	VHOST_DEVICE_USER,      /* a process behind -chardev socket */
	VHOST_DEVICE_KERNEL,    /* the host kernel's /dev/vhost-* */
};

enum vhost_device_config {
	VHOST_CONFIG_NONE,      /* the device has no config space */
	VHOST_CONFIG_VMM,       /* built by the type's configure */
	VHOST_CONFIG_BACKEND,   /* GET_CONFIG, re-read on CONFIG_CHANGE_MSG */
};

struct vhost_device_type {
	const char *name;          /* the -device name, e.g. vhost-user-fs-pci */
	const char *alias;         /* another name for it, or NULL */
	const char *usage;         /* its properties, for --help */
	enum vhost_device_backend backend;
	const char *kernel_dev;    /* VHOST_DEVICE_KERNEL: what to open */
	uint16_t virtio_id;        /* 0: configure sets d->virtio_id */
	uint32_t pci_class;
	uint16_t num_queues;       /* defaults; configure may change them */
	uint16_t queue_size;
	uint16_t vmm_queues;       /* the last ones are the VMM's */
	/* Device feature bits the device model supports; the guest is
	 * offered the back-end's features within them. */
	uint64_t features;
	enum vhost_device_config config;   /* defaults; configure may */
	uint32_t config_size;              /* change them */
	/* The type's own -device keys besides id and chardev (vhost-user)
	 * or vhostfd (kernel); NULL or NULL-terminated. configure reads them. */
	const char *const *keys;
	/* Optional: reads the type's keys into d (num_queues, queue_size,
	 * config...). -EINVAL with a message naming the key. */
	int (*configure)(struct vhost_device *d, const struct qemu_opts *opts,
			 char *err, size_t errlen);
	/* Optional: device-specific calls to the back-end once it is
	 * negotiated (vsock's guest cid), after the rings are handed over,
	 * and before they are taken back (vsock's running). */
	int (*connected)(struct vhost_device *d, char *err, size_t errlen);
	int (*started)(struct vhost_device *d);
	void (*stopping)(struct vhost_device *d);
	/* Optional: answers a request of a dead back-end; returns the bytes
	 * written into its in buffers. NULL: nothing is written. */
	uint32_t (*fail_request)(struct vhost_device *d, unsigned queue,
				 const struct vq_elem *e);
};

/* A queue the VMM serves itself once the back-end is gone. */
struct vhost_device_dead_queue {
	struct loop_watch watch;   /* on the queue's kick eventfd */
	struct vhost_device *dev;
	unsigned index;
	bool watching;
	struct virtqueue vq;
};

struct vhost_device {
	const struct vhost_device_type *type;
	char name[64];             /* the -device name as given (or the alias) */
	char what[80];             /* "-device NAME": prefixes option errors */
	char label[80];            /* "chardev c0", "/dev/vhost-vsock": in messages */
	struct virtio_pci vp;
	struct vhost_user vu;      /* the back-end, by type->backend */
	struct vhost_kernel vk;
	struct vhost_dev vdev;
	struct guest_ram *ram;
	struct event_loop *loop;
	/* Per instance: the type's defaults, as configure left them. */
	uint16_t virtio_id;
	uint64_t features;         /* the model's feature bits */
	unsigned num_queues;
	unsigned backend_queues;   /* num_queues less the VMM's */
	/* Which options made num_queues, for the error when the back-end
	 * supports fewer, e.g. "1 high-priority + num-request-queues=2". */
	char queues_from[64];
	uint16_t queue_size;
	enum vhost_device_config config_source;
	uint8_t config[VHOST_DEVICE_MAX_CONFIG];
	uint32_t config_size;
	bool vdev_initialized;
	bool backend_lost;
	bool failing;              /* the VMM answers requests itself */
	struct loop_watch hup_watch, req_watch;
	bool hup_watching, req_watching;
	struct vhost_device_dead_queue *dead;   /* num_queues entries */
};

/* What a device is built into, from the machine. */
struct vhost_device_env {
	struct vm *vm;             /* NULL without KVM (unit tests) */
	struct guest_ram *ram;
	struct pci_bus *bus;
	struct event_loop *loop;
	FILE *trace;               /* -trace vhost-user: every message; or NULL */
	FILE *kernel_trace;        /* -trace vhost_kernel: every ioctl; or NULL */
};

/* Builds a device of type from its -device options (opts->type is the
 * name used): checks the keys, connects to chr (the -chardev named by
 * chardev=, NULL if there is none), negotiates with the back-end, creates
 * the PCI function on env->bus and the event loop watches. On failure
 * returns -errno with a one-line message in err; vhost_device_destroy() is
 * needed either way. */
int vhost_device_create(struct vhost_device *d, const struct vhost_device_type *type,
			const struct qemu_opts *opts, const struct chardev_config *chr,
			const struct vhost_device_env *env, char *err, size_t errlen);
void vhost_device_destroy(struct vhost_device *d);

#endif
