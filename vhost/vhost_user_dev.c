/* vhost_backend_ops for vhost-user: what QEMU's user_ops in
 * hw/virtio/vhost-user.c do on top of the per-message functions. */
#include <errno.h>
#include <stdio.h>

#include <linux/virtio_config.h>

#include "vhost/vhost_dev.h"
#include "vhost/vhost_user.h"
#include "vhost/vhost_user_internal.h"

static struct vhost_user *vu_of(struct vhost_dev *dev)
{
	return dev->backend;
}

static bool has_pf(struct vhost_dev *dev, unsigned bit)
{
	return vhost_user_has_protocol_feature(vu_of(dev), bit);
}

/* Ring numbers on the wire are the device's, not the vhost_dev's. */
static unsigned ring(struct vhost_dev *dev, unsigned idx)
{
	return dev->vq_index + idx;
}

static int config_change(void *opaque)
{
	struct vhost_dev *dev = opaque;

	if (!dev->config_notifier)
		return -EOPNOTSUPP;
	return dev->config_notifier(dev->config_opaque);
}

static const struct vhost_user_backend_req_ops req_ops = {
	.config_change = config_change,
};

/* QEMU's vhost_user_backend_init(). */
static int vu_init(struct vhost_dev *dev)
{
	struct vhost_user *vu = vu_of(dev);
	uint64_t features, pf, n;
	int r;

	/* Without protocol features: at most 8 regions, one SET_MEM_TABLE. */
	dev->mem_slots = VHOST_USER_MEMORY_MAX_NREGIONS;
	r = vhost_user_get_features(vu, &features);
	if (r < 0)
		return r;
	if (!(features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		return 0;
	dev->backend_features |= 1ULL << VHOST_USER_F_PROTOCOL_FEATURES;

	r = vhost_user_get_protocol_features(vu, &pf);
	if (r < 0)
		return r;
	pf &= vu->protocol_features_wanted & VHOST_USER_PROTOCOL_FEATURES_SUPPORTED;
	r = vhost_user_set_protocol_features(vu, pf);
	if (r < 0)
		return r;

	if (has_pf(dev, VHOST_USER_PROTOCOL_F_MQ)) {
		r = vhost_user_get_queue_num(vu, &n);
		if (r < 0)
			return r;
		dev->max_queues = n;
		if (n < dev->vq_index + dev->nvqs)
			return vhost_user_fail(vu, -EINVAL,
					       "the back-end supports at most %llu queues, the device needs %u",
					       (unsigned long long)n, dev->vq_index + dev->nvqs);
	}
	if (has_pf(dev, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		r = vhost_user_get_max_mem_slots(vu, &n);
		if (r < 0)
			return r;
		if (n == 0)
			return vhost_user_fail(vu, -EINVAL,
					       "GET_MAX_MEM_SLOTS: the back-end takes no memory regions at all");
		dev->mem_slots = n < VHOST_USER_MAX_RAM_SLOTS ? n : VHOST_USER_MAX_RAM_SLOTS;
	}
	return vhost_user_setup_backend_req(vu, &req_ops, dev);
}

static void vu_cleanup(struct vhost_dev *dev)
{
	vhost_user_backend_req_close(vu_of(dev));
}

static int vu_set_owner(struct vhost_dev *dev)
{
	return vhost_user_set_owner(vu_of(dev));
}

static int vu_get_features(struct vhost_dev *dev, uint64_t *features)
{
	return vhost_user_get_features(vu_of(dev), features);
}

/* QEMU's vhost_user_add_status(): read, and write only if a bit is new. */
static int add_status(struct vhost_dev *dev, uint8_t bits)
{
	uint8_t s;
	int r = vhost_user_get_status(vu_of(dev), &s);

	if (r < 0)
		return r;
	if ((s & bits) == bits)
		return 0;
	return vhost_user_set_status(vu_of(dev), s | bits);
}

static int vu_set_features(struct vhost_dev *dev, uint64_t features)
{
	int r = vhost_user_set_features(vu_of(dev), features);

	if (r < 0 || !has_pf(dev, VHOST_USER_PROTOCOL_F_STATUS))
		return r;
	return add_status(dev, VIRTIO_CONFIG_S_FEATURES_OK);
}

static int vu_set_mem_table(struct vhost_dev *dev, const struct vhost_mem_table *mem)
{
	return vhost_user_set_memory(vu_of(dev), mem);
}

static int vu_set_vring_num(struct vhost_dev *dev, unsigned idx, unsigned num)
{
	return vhost_user_set_vring_num(vu_of(dev), ring(dev, idx), num);
}

static int vu_set_vring_base(struct vhost_dev *dev, unsigned idx, unsigned base)
{
	return vhost_user_set_vring_base(vu_of(dev), ring(dev, idx), base);
}

static int vu_get_vring_base(struct vhost_dev *dev, unsigned idx, unsigned *base)
{
	return vhost_user_get_vring_base(vu_of(dev), ring(dev, idx), base);
}

static int vu_set_vring_addr(struct vhost_dev *dev, const struct vhost_vring_addr *addr)
{
	struct vhost_vring_addr a = *addr;

	a.index = ring(dev, addr->index);
	return vhost_user_set_vring_addr(vu_of(dev), &a);
}

static int vu_set_vring_kick(struct vhost_dev *dev, unsigned idx, int fd)
{
	return vhost_user_set_vring_kick(vu_of(dev), ring(dev, idx), fd);
}

static int vu_set_vring_call(struct vhost_dev *dev, unsigned idx, int fd)
{
	return vhost_user_set_vring_call(vu_of(dev), ring(dev, idx), fd);
}

static int vu_set_vring_err(struct vhost_dev *dev, unsigned idx, int fd)
{
	return vhost_user_set_vring_err(vu_of(dev), ring(dev, idx), fd);
}

static int vu_set_vring_enable(struct vhost_dev *dev, unsigned idx, bool enable)
{
	/* Without bit 30 the back-end enabled the rings itself on
	 * SET_FEATURES and does not know this message (QEMU skips it too). */
	if (!(dev->backend_features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		return 0;
	return vhost_user_set_vring_enable(vu_of(dev), ring(dev, idx), enable);
}

static int vu_dev_start(struct vhost_dev *dev, bool started)
{
	if (!started || !has_pf(dev, VHOST_USER_PROTOCOL_F_STATUS))
		return 0;
	return add_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			       VIRTIO_CONFIG_S_DRIVER_OK);
}

static int vu_reset_status(struct vhost_dev *dev)
{
	if (!has_pf(dev, VHOST_USER_PROTOCOL_F_STATUS))
		return 0;
	return vhost_user_set_status(vu_of(dev), 0);
}

static int vu_reset_device(struct vhost_dev *dev)
{
	/* "Historically, reset was not implemented so only reset devices
	 * that are expecting it" (QEMU). */
	if (!has_pf(dev, VHOST_USER_PROTOCOL_F_RESET_DEVICE))
		return 0;
	return vhost_user_reset_device(vu_of(dev));
}

static int vu_get_config(struct vhost_dev *dev, uint32_t offset, void *buf,
			 uint32_t size)
{
	return vhost_user_get_config(vu_of(dev), offset, buf, size);
}

static int vu_set_config(struct vhost_dev *dev, uint32_t offset, const void *buf,
			 uint32_t size, uint32_t flags)
{
	return vhost_user_set_config(vu_of(dev), offset, buf, size, flags);
}

static int vu_event_fd(struct vhost_dev *dev)
{
	return vhost_user_backend_req_fd(vu_of(dev));
}

static int vu_handle_event(struct vhost_dev *dev)
{
	return vhost_user_handle_backend_req(vu_of(dev));
}

static void vu_close_event(struct vhost_dev *dev)
{
	vhost_user_backend_req_close(vu_of(dev));
}

static const char *vu_error(struct vhost_dev *dev)
{
	return vhost_user_error(vu_of(dev));
}

static void vu_describe(struct vhost_dev *dev, char *buf, size_t len)
{
	snprintf(buf, len, "vhost-user %s", vu_of(dev)->name);
}

const struct vhost_backend_ops vhost_user_backend_ops = {
	.name = "vhost-user",
	.init = vu_init,
	.cleanup = vu_cleanup,
	.set_owner = vu_set_owner,
	.get_features = vu_get_features,
	.set_features = vu_set_features,
	.set_mem_table = vu_set_mem_table,
	.set_vring_num = vu_set_vring_num,
	.set_vring_base = vu_set_vring_base,
	.get_vring_base = vu_get_vring_base,
	.set_vring_addr = vu_set_vring_addr,
	.set_vring_kick = vu_set_vring_kick,
	.set_vring_call = vu_set_vring_call,
	.set_vring_err = vu_set_vring_err,
	.set_vring_enable = vu_set_vring_enable,
	.dev_start = vu_dev_start,
	.reset_status = vu_reset_status,
	.reset_device = vu_reset_device,
	.get_config = vu_get_config,
	.set_config = vu_set_config,
	.event_fd = vu_event_fd,
	.handle_event = vu_handle_event,
	.close_event = vu_close_event,
	.error = vu_error,
	.describe = vu_describe,
};
