#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "lib/log.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_user_proto.h"

__attribute__((format(printf, 3, 4)))
static int dev_fail(struct vhost_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->err, sizeof(dev->err), fmt, ap);
	va_end(ap);
	return err;
}

/* An op failed: its back-end already wrote the message. */
static int op_fail(struct vhost_dev *dev, int err)
{
	const char *m = dev->ops->error ? dev->ops->error(dev) : NULL;

	if (m && *m)
		snprintf(dev->err, sizeof(dev->err), "%s", m);
	else
		snprintf(dev->err, sizeof(dev->err), "%s: %s", dev->name, strerror(-err));
	return err;
}

const char *vhost_dev_error(const struct vhost_dev *dev)
{
	return dev->err[0] ? dev->err : "no error";
}

int vhost_dev_init(struct vhost_dev *dev, const struct vhost_backend_ops *ops,
		   void *backend, unsigned vq_index, unsigned nvqs,
		   uint64_t features_wanted)
{
	uint64_t features;
	int r;

	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->backend = backend;
	dev->vq_index = vq_index;
	dev->nvqs = nvqs;
	if (ops->describe)
		ops->describe(dev, dev->name, sizeof(dev->name));
	else
		snprintf(dev->name, sizeof(dev->name), "%s", ops->name);
	if (nvqs == 0 || vq_index + nvqs > VHOST_DEV_MAX_VQS)
		return dev_fail(dev, -EINVAL, "%s: queues %u..%u (1 to %d are possible)",
				dev->name, vq_index, vq_index + nvqs - 1, VHOST_DEV_MAX_VQS);

	r = ops->init(dev);
	if (r < 0)
		goto fail;
	r = ops->set_owner(dev);
	if (r < 0)
		goto fail;
	/* Asked again after SET_OWNER, as QEMU's vhost_dev_init() does: this
	 * is the answer the device offers the guest from. */
	r = ops->get_features(dev, &features);
	if (r < 0)
		goto fail;
	/* Bit 30 and LOG_ALL are between us and the back-end; the guest must
	 * never be offered them whatever the device asks for. */
	dev->features = features & features_wanted &
			~((1ULL << VHOST_USER_F_PROTOCOL_FEATURES) | (1ULL << VHOST_F_LOG_ALL));
	dev->initialized = true;
	return 0;
fail:
	op_fail(dev, r);
	if (ops->cleanup)
		ops->cleanup(dev);
	return r;
}

void vhost_dev_cleanup(struct vhost_dev *dev)
{
	if (!dev->ops)
		return;
	if (dev->started)
		vhost_dev_stop(dev);
	if (dev->ops->cleanup)
		dev->ops->cleanup(dev);
	dev->initialized = false;
}

/* Split ring sizes (virtio 1.x 2.7), with the event-index words when
 * EVENT_IDX is on - what QEMU's virtio_queue_get_*_size() return. */
static uint64_t desc_bytes(uint16_t n) { return 16ULL * n; }
static uint64_t avail_bytes(uint16_t n, bool ev) { return 4 + 2ULL * n + (ev ? 2 : 0); }
static uint64_t used_bytes(uint16_t n, bool ev) { return 4 + 8ULL * n + (ev ? 2 : 0); }

static int check_ring(struct vhost_dev *dev, const struct vhost_mem_table *mem,
		      unsigned q, const char *what, uint64_t gpa, uint64_t len,
		      uint64_t align, void **hva)
{
	if (gpa % align)
		return dev_fail(dev, -EINVAL,
				"%s: queue %u: %s ring at guest address 0x%llx is not %llu-byte aligned",
				dev->name, q, what, (unsigned long long)gpa,
				(unsigned long long)align);
	*hva = vhost_mem_table_gpa_to_hva(mem, gpa, len);
	if (!*hva)
		return dev_fail(dev, -EFAULT,
				"%s: queue %u: %s ring at guest address 0x%llx (+%llu bytes) is not in guest RAM",
				dev->name, q, what, (unsigned long long)gpa,
				(unsigned long long)len);
	return 0;
}

/* Everything vhost_dev_start() can know is wrong before it sends a byte,
 * so that a bad configuration never leaves the back-end half set up. */
static int validate_start(struct vhost_dev *dev, uint64_t acked,
			  const struct vhost_mem_table *mem,
			  const struct vhost_vq_config *vqs,
			  struct vhost_vring_addr *addrs)
{
	bool ev = acked & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	unsigned i;
	int r;

	if (!dev->initialized)
		return dev_fail(dev, -EINVAL, "%s: device not initialized", dev->name);
	if (dev->started)
		return dev_fail(dev, -EBUSY, "%s: device already started", dev->name);
	if (!mem->shared)
		return dev_fail(dev, -EINVAL,
				"%s: guest RAM is not shared, so the back-end cannot see the guest's buffers: use -object memory-backend-memfd,id=mem,size=SIZE,share=on -machine memory-backend=mem (a memory-backend-file needs share=on too)",
				dev->name);
	if (mem->nregions < 1)
		return dev_fail(dev, -EINVAL, "%s: no guest memory", dev->name);
	if ((unsigned)mem->nregions > dev->mem_slots)
		return dev_fail(dev, -E2BIG,
				"%s: guest RAM has %d regions but the back-end takes at most %u",
				dev->name, mem->nregions, dev->mem_slots);
	if (acked & ~dev->features)
		return dev_fail(dev, -EINVAL,
				"%s: the driver acked features 0x%llx that were not offered",
				dev->name, (unsigned long long)(acked & ~dev->features));
	if (acked & (1ULL << VIRTIO_F_RING_PACKED))
		return dev_fail(dev, -EOPNOTSUPP, "%s: packed rings are not supported",
				dev->name);
	for (i = 0; i < dev->nvqs; i++) {
		const struct vhost_vq_config *q = &vqs[i];
		void *desc, *avail, *used;

		if (!q->ready)
			continue;
		if (q->size == 0 || q->size > 32768 || (q->size & (q->size - 1)))
			return dev_fail(dev, -EINVAL,
					"%s: queue %u: size %u is not a power of 2 up to 32768",
					dev->name, i, q->size);
		r = check_ring(dev, mem, i, "descriptor", q->desc_gpa, desc_bytes(q->size), 16, &desc);
		if (r == 0)
			r = check_ring(dev, mem, i, "available", q->avail_gpa,
				       avail_bytes(q->size, ev), 2, &avail);
		if (r == 0)
			r = check_ring(dev, mem, i, "used", q->used_gpa,
				       used_bytes(q->size, ev), 4, &used);
		if (r < 0)
			return r;
		addrs[i] = (struct vhost_vring_addr){
			.index = i,
			.desc_user_addr = (uint64_t)(uintptr_t)desc,
			.avail_user_addr = (uint64_t)(uintptr_t)avail,
			.used_user_addr = (uint64_t)(uintptr_t)used,
		};
	}
	return 0;
}

/* After a failed start: disable what was enabled and take back the
 * queues that were handed over, as QEMU's failure path does, keeping the
 * first error's message. On a lost connection every call fails at once. */
static void undo_start(struct vhost_dev *dev, unsigned enabled)
{
	char saved[sizeof(dev->err)];
	unsigned i, base;

	memcpy(saved, dev->err, sizeof(saved));
	for (i = 0; i < enabled; i++)
		dev->ops->set_vring_enable(dev, i, false);
	for (i = 0; i < dev->nvqs; i++) {
		if (!dev->vqs[i].started)
			continue;
		if (dev->ops->get_vring_base(dev, i, &base) == 0)
			dev->vqs[i].vring_base = base;
		dev->vqs[i].started = false;
	}
	memcpy(dev->err, saved, sizeof(saved));
}

int vhost_dev_start(struct vhost_dev *dev, uint64_t acked,
		    const struct vhost_mem_table *mem,
		    const struct vhost_vq_config *vqs)
{
	struct vhost_vring_addr addrs[VHOST_DEV_MAX_VQS];
	const struct vhost_backend_ops *ops = dev->ops;
	unsigned i, enabled = 0;
	int r;

	memset(addrs, 0, sizeof(addrs));
	r = validate_start(dev, acked, mem, vqs, addrs);
	if (r < 0)
		return r;

	r = ops->set_features(dev, acked | dev->backend_features);
	if (r < 0)
		return op_fail(dev, r);
	r = ops->set_mem_table(dev, mem);
	if (r < 0)
		return op_fail(dev, r);
	for (i = 0; i < dev->nvqs; i++) {
		const struct vhost_vq_config *q = &vqs[i];
		struct vhost_vq_state *s = &dev->vqs[i];

		s->started = false;
		if (!q->ready)
			continue;
		/* QEMU's vhost_virtqueue_start() order. */
		r = ops->set_vring_num(dev, i, q->size);
		if (r == 0)
			r = ops->set_vring_base(dev, i, q->vring_base);
		if (r == 0)
			r = ops->set_vring_addr(dev, &addrs[i]);
		if (r == 0)
			r = ops->set_vring_call(dev, i, q->call_fd);
		if (r == 0)
			r = ops->set_vring_kick(dev, i, q->kick_fd);
		if (r < 0)
			goto fail;
		s->started = true;
		s->size = q->size;
		s->vring_base = q->vring_base;
		s->used_idx = (const uint16_t *)(uintptr_t)(addrs[i].used_user_addr + 2);
	}
	/* Only now may the guest's kicks be served: enable every queue and
	 * wait for each acknowledgement (QEMU enables all nvqs, started or
	 * not). */
	if (ops->set_vring_enable) {
		for (i = 0; i < dev->nvqs; i++) {
			r = ops->set_vring_enable(dev, i, true);
			if (r < 0)
				goto fail;
			enabled = i + 1;
		}
	}
	if (ops->dev_start) {
		r = ops->dev_start(dev, true);
		if (r < 0)
			goto fail;
	}
	dev->acked_features = acked;
	dev->started = true;
	return 0;
fail:
	op_fail(dev, r);
	undo_start(dev, enabled);
	return r;
}

int vhost_dev_stop(struct vhost_dev *dev)
{
	const struct vhost_backend_ops *ops = dev->ops;
	char first[sizeof(dev->err)] = "";
	int first_r = 0, r;
	unsigned i, base;

	if (!dev->started)
		return 0;
#define NOTE(r_)                                                           \
	do {                                                               \
		if ((r_) < 0 && !first_r) {                                \
			first_r = (r_);                                    \
			op_fail(dev, first_r);                             \
			memcpy(first, dev->err, sizeof(first));            \
		}                                                          \
	} while (0)

	if (ops->dev_start) {
		r = ops->dev_start(dev, false);
		NOTE(r);
	}
	if (ops->set_vring_enable) {
		for (i = 0; i < dev->nvqs; i++) {
			r = ops->set_vring_enable(dev, i, false);
			NOTE(r);
		}
	}
	for (i = 0; i < dev->nvqs; i++) {
		struct vhost_vq_state *s = &dev->vqs[i];

		if (!s->started)
			continue;
		r = ops->get_vring_base(dev, i, &base);
		if (r == 0) {
			s->vring_base = base;
		} else {
			NOTE(r);
			/* The back-end cannot say where it stopped: resume
			 * after what it completed, like QEMU's
			 * virtio_queue_restore_last_avail_idx(). Requests it
			 * took but never completed are lost to the guest
			 * unless a reset follows. */
			s->vring_base = __atomic_load_n(s->used_idx, __ATOMIC_ACQUIRE);
			/* A back-end known to be gone was already reported. */
			log_msg(r == -ENOTCONN ? LOG_DEBUG : LOG_WARN, "%s: queue %u: could not get the ring state from the back-end; resuming at the used index %u",
				dev->name, i, s->vring_base);
		}
		s->started = false;
	}
	if (ops->reset_status) {
		r = ops->reset_status(dev);
		NOTE(r);
	}
#undef NOTE
	dev->started = false;
	if (first_r)
		memcpy(dev->err, first, sizeof(first));
	return first_r;
}

int vhost_dev_reset(struct vhost_dev *dev)
{
	unsigned i;
	int r = 0, r2;

	if (dev->started)
		r = vhost_dev_stop(dev);
	for (i = 0; i < dev->nvqs; i++)
		dev->vqs[i].vring_base = 0;
	if (dev->ops->reset_device) {
		r2 = dev->ops->reset_device(dev);
		if (r2 < 0 && !r)
			r = op_fail(dev, r2);
	}
	return r;
}

uint32_t vhost_dev_vring_base(const struct vhost_dev *dev, unsigned idx)
{
	return idx < dev->nvqs ? dev->vqs[idx].vring_base : 0;
}

int vhost_dev_get_config(struct vhost_dev *dev, uint32_t offset, void *buf,
			 uint32_t size)
{
	int r;

	if (!dev->ops->get_config)
		return dev_fail(dev, -EOPNOTSUPP, "%s: no config space access", dev->name);
	r = dev->ops->get_config(dev, offset, buf, size);
	return r < 0 ? op_fail(dev, r) : 0;
}

int vhost_dev_set_config(struct vhost_dev *dev, uint32_t offset,
			 const void *buf, uint32_t size, uint32_t flags)
{
	int r;

	if (!dev->ops->set_config)
		return dev_fail(dev, -EOPNOTSUPP, "%s: no config space access", dev->name);
	r = dev->ops->set_config(dev, offset, buf, size, flags);
	return r < 0 ? op_fail(dev, r) : 0;
}

void vhost_dev_set_config_notifier(struct vhost_dev *dev,
				   int (*fn)(void *opaque), void *opaque)
{
	dev->config_notifier = fn;
	dev->config_opaque = opaque;
}

int vhost_dev_event_fd(struct vhost_dev *dev)
{
	return dev->ops->event_fd ? dev->ops->event_fd(dev) : -1;
}

int vhost_dev_handle_event(struct vhost_dev *dev)
{
	int r;

	if (!dev->ops->handle_event)
		return -EAGAIN;
	r = dev->ops->handle_event(dev);
	return r < 0 && r != -EAGAIN ? op_fail(dev, r) : r;
}

void vhost_dev_close_event(struct vhost_dev *dev)
{
	if (dev->ops && dev->ops->close_event)
		dev->ops->close_event(dev);
}

int vhost_dev_vsock_set_guest_cid(struct vhost_dev *dev, uint64_t cid)
{
	int r;

	if (!dev->ops->vsock)
		return dev_fail(dev, -EOPNOTSUPP, "%s: not a vsock back-end", dev->name);
	r = dev->ops->vsock->set_guest_cid(dev, cid);
	return r < 0 ? op_fail(dev, r) : 0;
}

int vhost_dev_vsock_set_running(struct vhost_dev *dev, bool running)
{
	int r;

	if (!dev->ops->vsock)
		return dev_fail(dev, -EOPNOTSUPP, "%s: not a vsock back-end", dev->name);
	r = dev->ops->vsock->set_running(dev, running);
	return r < 0 ? op_fail(dev, r) : 0;
}
