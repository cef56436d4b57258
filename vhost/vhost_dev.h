/* A device whose virtqueues an external back-end processes: QEMU's
 * struct vhost_dev. It owns the life cycle - negotiate at init, hand the
 * rings over when the driver sets DRIVER_OK, take them back on stop or
 * reset - and knows nothing about the transport (virtio-pci fills a
 * vhost_vq_config per queue) nor, beyond the ops table, about the kind of
 * back-end: vhost-user (vhost_user_backend_ops, backend = struct
 * vhost_user *) and the kernel's /dev/vhost-* (vhost_kernel_backend_ops,
 * backend = struct vhost_kernel *) are two ops tables behind the same
 * calls.
 *
 * A vhost_dev covers nvqs queues of its device starting at vq_index (QEMU's
 * sub-range): the queues before or after it may be served by the VMM (a
 * net control queue, the vsock event queue) or by another vhost_dev (one
 * kernel vhost-net fd per queue pair). Every index in this interface is
 * local, 0..nvqs-1; each back-end maps it to what its protocol numbers
 * (vhost-user: the device's queue vq_index + i; the kernel: i).
 *
 * Threads: every call comes from whichever thread holds the device's lock
 * (a vCPU thread writing the status register, or the event loop), one at a
 * time; the calls that talk to the back-end wait for its answers.
 *
 * Errors: 0 or -errno, with a one-line message in vhost_dev_error().
 * vhost_dev_backend_lost(err) tells whether the back-end is gone or not
 * to be trusted (then the device sets DEVICE_NEEDS_RESET). */
#ifndef VHOST_VHOST_DEV_H
#define VHOST_VHOST_DEV_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vhost_types.h>

#include "vhost/vhost_mem.h"

/* The queue index travels in 8 bits in SET_VRING_KICK/CALL/ERR. */
#define VHOST_DEV_MAX_VQS 256

struct vhost_dev;

/* Back-end calls that exist for one device type only. */
struct vhost_vsock_backend_ops {
	int (*set_guest_cid)(struct vhost_dev *dev, uint64_t cid);
	int (*set_running)(struct vhost_dev *dev, bool running);
};

/* One back-end kind. Mandatory: everything up to set_vring_call. The
 * optional ones may be NULL: that step does not exist for the back-end. */
struct vhost_backend_ops {
	const char *name;
	/* The back-end-specific part of vhost_dev_init() before SET_OWNER:
	 * features, protocol negotiation (vhost-user: within what
	 * vhost_user_want_protocol_features() allowed), limits
	 * (dev->max_queues, dev->mem_slots), side channels. */
	int (*init)(struct vhost_dev *dev);
	/* Releases what init set up; never talks to the back-end. */
	void (*cleanup)(struct vhost_dev *dev);
	int (*set_owner)(struct vhost_dev *dev);
	int (*get_features)(struct vhost_dev *dev, uint64_t *features);
	int (*set_features)(struct vhost_dev *dev, uint64_t features);
	int (*set_mem_table)(struct vhost_dev *dev, const struct vhost_mem_table *mem);
	int (*set_vring_num)(struct vhost_dev *dev, unsigned idx, unsigned num);
	int (*set_vring_base)(struct vhost_dev *dev, unsigned idx, unsigned base);
	int (*get_vring_base)(struct vhost_dev *dev, unsigned idx, unsigned *base);
	int (*set_vring_addr)(struct vhost_dev *dev, const struct vhost_vring_addr *addr);
	int (*set_vring_kick)(struct vhost_dev *dev, unsigned idx, int fd);
	int (*set_vring_call)(struct vhost_dev *dev, unsigned idx, int fd);
	/* optional */
	/* An eventfd the back-end signals on a ring error; no device asks
	 * for one yet (QEMU logs "guest error" when it fires). */
	int (*set_vring_err)(struct vhost_dev *dev, unsigned idx, int fd);
	int (*set_vring_enable)(struct vhost_dev *dev, unsigned idx, bool enable);
	int (*dev_start)(struct vhost_dev *dev, bool started);
	int (*reset_status)(struct vhost_dev *dev);
	int (*reset_device)(struct vhost_dev *dev);
	int (*get_config)(struct vhost_dev *dev, uint32_t offset, void *buf,
			  uint32_t size);
	int (*set_config)(struct vhost_dev *dev, uint32_t offset, const void *buf,
			  uint32_t size, uint32_t flags);
	/* A side channel the event loop polls (vhost-user: back-end
	 * requests); -1 if none. handle_event never blocks (see
	 * vhost_dev_handle_event); close_event closes the channel, after
	 * which event_fd is -1. A back-end with event_fd has close_event. */
	int (*event_fd)(struct vhost_dev *dev);
	int (*handle_event)(struct vhost_dev *dev);
	void (*close_event)(struct vhost_dev *dev);
	/* The back-end's message for its last failure. */
	const char *(*error)(struct vhost_dev *dev);
	/* "vhost-user c0": how messages name the device's back-end. */
	void (*describe)(struct vhost_dev *dev, char *buf, size_t len);
	/* Device-specific calls; NULL where the back-end kind has none. */
	const struct vhost_vsock_backend_ops *vsock;
};

extern const struct vhost_backend_ops vhost_user_backend_ops;
extern const struct vhost_backend_ops vhost_kernel_backend_ops;

/* What the transport knows about one queue when the driver sets
 * DRIVER_OK. Addresses are guest-physical; vhost_dev translates them. */
struct vhost_vq_config {
	/* The driver enabled the queue. Queues that are not ready are not
	 * handed over (QEMU skips queues without rings the same way). */
	bool ready;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	int kick_fd;  /* the queue's ioeventfd; < 0: none, the back-end polls */
	int call_fd;  /* the queue's irqfd; < 0: none (no MSI-X vector) */
	/* Where the back-end resumes: 0 after a reset, else
	 * vhost_dev_vring_base() from the last stop. */
	uint32_t vring_base;
};

struct vhost_vq_state {
	bool started;
	uint16_t size;
	uint32_t vring_base; /* from the last GET_VRING_BASE (or fallback) */
	/* Our mapping of used->idx: after a failed GET_VRING_BASE the
	 * queue resumes where the used ring says, as QEMU does. */
	const uint16_t *used_idx;
};

struct vhost_dev {
	const struct vhost_backend_ops *ops;
	void *backend;
	char name[80];              /* prefix of our error messages */
	unsigned vq_index;          /* the device's first queue this covers */
	unsigned nvqs;
	/* The back-end's device features, limited to what the device wants:
	 * what the transport may offer the guest. */
	uint64_t features;
	/* Bits only the back-end sees (vhost-user: PROTOCOL_FEATURES, bit 30);
	 * added to every SET_FEATURES. */
	uint64_t backend_features;
	uint64_t acked_features;    /* what the driver acked, last start */
	uint64_t max_queues;        /* back-end's limit, 0 if it did not say */
	unsigned mem_slots;         /* memory regions the back-end takes */
	bool initialized;
	bool started;
	/* Back-end says the device config changed: the device re-reads it
	 * (vhost_dev_get_config) and raises the config interrupt. */
	int (*config_notifier)(void *opaque);
	void *config_opaque;
	struct vhost_vq_state vqs[VHOST_DEV_MAX_VQS];
	char err[400];
};

/* Connects the device's queues vq_index..vq_index+nvqs-1 to an already
 * connected back-end and negotiates, in QEMU's order (vhost-user:
 * GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 * GET_QUEUE_NUM, GET_MAX_MEM_SLOTS, SET_BACKEND_REQ_FD, SET_OWNER,
 * GET_FEATURES; the kernel: VHOST_SET_OWNER, VHOST_GET_FEATURES).
 * features_wanted: the virtio feature bits the device model supports
 * (dev->features is the back-end's offer within them). On failure nothing
 * is left to clean up. */
int vhost_dev_init(struct vhost_dev *dev, const struct vhost_backend_ops *ops,
		   void *backend, unsigned vq_index, unsigned nvqs,
		   uint64_t features_wanted);
/* Stops the device if started and releases what init set up. The
 * back-end connection itself belongs to the caller. */
void vhost_dev_cleanup(struct vhost_dev *dev);

/* DRIVER_OK: hands the rings to the back-end. acked: the driver's
 * features (a subset of dev->features). mem: guest RAM, which must be
 * shared. vqs: dev->nvqs entries. Order (vhost-user): SET_FEATURES
 * [GET_STATUS, SET_STATUS +FEATURES_OK], SET_MEM_TABLE or ADD_MEM_REG...,
 * per ready queue SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR,
 * SET_VRING_CALL, SET_VRING_KICK (the call fd first: a
 * back-end without PROTOCOL_FEATURES starts the ring at its kick fd and
 * must have somewhere to signal); per queue SET_VRING_ENABLE 1
 * (synchronous); [GET_STATUS, SET_STATUS +ACKNOWLEDGE|DRIVER|DRIVER_OK].
 * Everything is validated before the first message. */
int vhost_dev_start(struct vhost_dev *dev, uint64_t acked,
		    const struct vhost_mem_table *mem,
		    const struct vhost_vq_config *vqs);
/* Takes the rings back: SET_VRING_ENABLE 0 per queue, GET_VRING_BASE per
 * started queue (saved for the next start; if the back-end cannot say,
 * the used index from guest memory), [SET_STATUS 0]. Always completes;
 * returns the first error. */
int vhost_dev_stop(struct vhost_dev *dev);
/* Virtio reset: stops if needed, RESET_DEVICE if negotiated (as QEMU's
 * virtio_reset), and restarts every queue from index 0 next time. */
int vhost_dev_reset(struct vhost_dev *dev);

/* Where queue idx resumes (after a stop). The device copies it into its
 * own queue state: vhost_dev_init() on a new connection starts afresh. */
uint32_t vhost_dev_vring_base(const struct vhost_dev *dev, unsigned idx);

int vhost_dev_get_config(struct vhost_dev *dev, uint32_t offset, void *buf,
			 uint32_t size);
int vhost_dev_set_config(struct vhost_dev *dev, uint32_t offset,
			 const void *buf, uint32_t size, uint32_t flags);
void vhost_dev_set_config_notifier(struct vhost_dev *dev,
				   int (*fn)(void *opaque), void *opaque);

/* The back-end's side channel for the event loop (-1 if none), polled
 * level-triggered for POLLIN from the event loop's thread. The handler
 * never waits for the back-end and does at most one request per call: 0
 * (one handled), -EAGAIN (nothing, or only part of a request so far),
 * -ENOTCONN (the back-end closed it) or -EPROTO (a malformed request, or
 * a back-end that does not read its answers), with the message in
 * vhost_dev_error(). After -ENOTCONN or -EPROTO the channel is of no more
 * use: remove the event-loop watch, then vhost_dev_close_event(), so that
 * a back-end waiting for an answer sees the close. Not the other way
 * round: after the close the fd number may already belong to another
 * file when the watch is removed. */
int vhost_dev_event_fd(struct vhost_dev *dev);
int vhost_dev_handle_event(struct vhost_dev *dev);
/* Closes the side channel (and whatever it had half received); from then
 * on vhost_dev_event_fd() is -1 and vhost_dev_handle_event() fails with
 * -ENOTCONN, until the next vhost_dev_init(). Does nothing if there is no
 * channel; never talks to the back-end. */
void vhost_dev_close_event(struct vhost_dev *dev);

/* vhost-vsock: the guest's context id, and whether the back-end moves
 * data (QEMU's vhost_vsock_set_guest_cid / _set_running). -EOPNOTSUPP
 * when the back-end kind has no such call. */
int vhost_dev_vsock_set_guest_cid(struct vhost_dev *dev, uint64_t cid);
int vhost_dev_vsock_set_running(struct vhost_dev *dev, bool running);

const char *vhost_dev_error(const struct vhost_dev *dev);

/* The back-end is gone or out of sync: only a new connection helps. */
static inline bool vhost_dev_backend_lost(int err)
{
	return err == -ENOTCONN || err == -ETIMEDOUT || err == -EPROTO;
}

#endif
