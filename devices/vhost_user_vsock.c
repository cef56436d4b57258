/* vhost-user-vsock-pci: AF_VSOCK served by a vhost-user back-end
 * (vhost-device-vsock), as QEMU's vhost-user-vsock:
 *   -device vhost-user-vsock-pci,chardev=ID[,guest-cid=N]
 * The back-end gets the rx and tx queues; the event queue is the VMM's
 * (it only ever carries a transport reset, after migration). The guest's
 * context id comes from the back-end (GET_CONFIG, as QEMU asks for it),
 * or from guest-cid= when given. */
#include <errno.h>
#include <stdio.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#include "devices/types.h"
#include "lib/qemu_opts.h"

#define PCI_CLASS_COMMUNICATION_OTHER 0x078000

static const char *const vsock_keys[] = { "guest-cid", NULL };

static int vsock_configure(struct vhost_device *d, const struct qemu_opts *opts, char *err,
			   size_t errlen)
{
	int ret;

	if (!qemu_opts_get(opts, "guest-cid"))
		return 0;
	ret = vsock_guest_cid_config(d, opts, err, errlen);
	if (ret == 0)
		d->config_source = VHOST_CONFIG_VMM;
	return ret;
}

const struct vhost_device_type vhost_user_vsock_type = {
	.name = "vhost-user-vsock-pci",
	.usage = "chardev=ID[,guest-cid=N]",
	.virtio_id = VIRTIO_ID_VSOCK,
	.pci_class = PCI_CLASS_COMMUNICATION_OTHER,
	.num_queues = 3,
	.queue_size = 128,
	.vmm_queues = 1,
	.features = (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_VSOCK_F_SEQPACKET),
	.config = VHOST_CONFIG_BACKEND,
	.config_size = sizeof(struct virtio_vsock_config),
	.keys = vsock_keys,
	.configure = vsock_configure,
};
