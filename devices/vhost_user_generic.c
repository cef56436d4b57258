/* vhost-user-device-pci (QEMU 10.2 also calls it vhost-user-test-device-pci):
 * any virtio device a vhost-user back-end implements, described by its
 * properties alone, as QEMU's vhost-user-device.c:
 *   -device vhost-user-device-pci,chardev=ID,virtio-id=N[,num_vqs=N][,vq_size=N][,config_size=N]
 * The config space, when there is one, is the back-end's (GET_CONFIG). */
#include <errno.h>
#include <stdio.h>

#include <linux/virtio_ring.h>

#include "devices/types.h"
#include "lib/qemu_opts.h"

/* The device ids the virtio spec assigns, up to the SPI controller. */
#define VIRTIO_ID_LAST 45

static const char *const generic_keys[] = {
	"virtio-id", "num_vqs", "vq_size", "config_size", NULL,
};

static int generic_configure(struct vhost_device *d, const struct qemu_opts *opts,
			     char *err, size_t errlen)
{
	uint64_t id, nvqs, size, config;
	int ret;

	if (!qemu_opts_get(opts, "virtio-id")) {
		snprintf(err, errlen, "%s: virtio-id=N is required (the virtio device id the back-end implements)",
			 d->what);
		return -EINVAL;
	}
	ret = qemu_opts_get_uint(opts, d->what, "virtio-id", 0, 1, VIRTIO_ID_LAST, &id, err,
				 errlen);
	if (ret == 0)
		ret = qemu_opts_get_uint(opts, d->what, "num_vqs", 1, 1, VIRTIO_PCI_MAX_QUEUES - 1,
					 &nvqs, err, errlen);
	if (ret == 0)
		ret = qemu_opts_get_uint(opts, d->what, "vq_size", 64, 1, 32768, &size, err,
					 errlen);
	if (ret == 0)
		ret = qemu_opts_get_uint(opts, d->what, "config_size", 0, 0,
					 VHOST_DEVICE_MAX_CONFIG, &config, err, errlen);
	if (ret < 0)
		return ret;
	if (size & (size - 1)) {
		snprintf(err, errlen, "%s: vq_size must be a power of 2, got %llu", d->what,
			 (unsigned long long)size);
		return -EINVAL;
	}
	d->virtio_id = (uint16_t)id;
	d->num_queues = (unsigned)nvqs;
	snprintf(d->queues_from, sizeof(d->queues_from), "num_vqs=%llu",
		 (unsigned long long)nvqs);
	d->queue_size = (uint16_t)size;
	d->config_size = (uint32_t)config;
	d->config_source = config ? VHOST_CONFIG_BACKEND : VHOST_CONFIG_NONE;
	return 0;
}

const struct vhost_device_type vhost_user_generic_type = {
	.name = "vhost-user-device-pci",
	.alias = "vhost-user-test-device-pci",
	.usage = "chardev=ID,virtio-id=N[,num_vqs=N][,vq_size=N][,config_size=N]",
	.pci_class = 0xff0000,
	.num_queues = 1,
	.queue_size = 64,
	.features = (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX),
	.keys = generic_keys,
	.configure = generic_configure,
};
