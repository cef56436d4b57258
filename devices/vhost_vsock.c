/* vhost-vsock-pci: AF_VSOCK between the guest and the host, served by the
 * host kernel's vhost_vsock module, as QEMU's vhost-vsock:
 *   -device vhost-vsock-pci,guest-cid=N[,vhostfd=N]
 * The kernel gets the rx and tx queues; the event queue is the VMM's (it
 * only ever carries a transport reset, after migration). The config space
 * is the VMM's: the guest's context id, which the kernel is told too. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#include "devices/types.h"
#include "lib/log.h"
#include "lib/qemu_opts.h"

#define PCI_CLASS_COMMUNICATION_OTHER 0x078000

static const char *const vsock_keys[] = { "guest-cid", NULL };

static uint64_t guest_cid(const struct vhost_device *d)
{
	struct virtio_vsock_config cfg;

	memcpy(&cfg, d->config, sizeof(cfg));
	return cfg.guest_cid;
}

int vsock_guest_cid_config(struct vhost_device *d, const struct qemu_opts *opts, char *err,
			   size_t errlen)
{
	struct virtio_vsock_config cfg;
	uint64_t cid;
	int ret;

	/* 0-2 are the hypervisor, the local host and the host: never a
	 * guest's (VMADDR_CID_*), nor is -1U (VMADDR_CID_ANY). */
	ret = qemu_opts_get_uint(opts, d->what, "guest-cid", 0, 3, 0xfffffffeULL, &cid, err,
				 errlen);
	if (ret < 0)
		return ret;
	cfg.guest_cid = cid;
	memcpy(d->config, &cfg, sizeof(cfg));
	return 0;
}

static int vsock_configure(struct vhost_device *d, const struct qemu_opts *opts, char *err,
			   size_t errlen)
{
	if (!qemu_opts_get(opts, "guest-cid")) {
		snprintf(err, errlen, "%s: guest-cid=N is required (the guest's vsock context id, 3 or more)",
			 d->what);
		return -EINVAL;
	}
	return vsock_guest_cid_config(d, opts, err, errlen);
}

static int vsock_connected(struct vhost_device *d, char *err, size_t errlen)
{
	int ret = vhost_dev_vsock_set_guest_cid(&d->vdev, guest_cid(d));

	if (ret == -EADDRINUSE)
		snprintf(err, errlen, "%s: guest-cid=%llu is in use by another VM on this host",
			 d->what, (unsigned long long)guest_cid(d));
	else if (ret < 0)
		snprintf(err, errlen, "%s (%s): %s", d->what, d->label, vhost_dev_error(&d->vdev));
	return ret;
}

static int vsock_started(struct vhost_device *d)
{
	return vhost_dev_vsock_set_running(&d->vdev, true);
}

static void vsock_stopping(struct vhost_device *d)
{
	if (vhost_dev_vsock_set_running(&d->vdev, false) < 0)
		pr_warn("%s (%s): %s", d->name, d->label, vhost_dev_error(&d->vdev));
}

const struct vhost_device_type vhost_vsock_type = {
	.name = "vhost-vsock-pci",
	.usage = "guest-cid=N[,vhostfd=N]",
	.backend = VHOST_DEVICE_KERNEL,
	.kernel_dev = "/dev/vhost-vsock",
	.virtio_id = VIRTIO_ID_VSOCK,
	.pci_class = PCI_CLASS_COMMUNICATION_OTHER,
	.num_queues = 3,
	.queue_size = 128,
	.vmm_queues = 1,
	.features = (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		    (1ULL << VIRTIO_VSOCK_F_SEQPACKET),
	.config = VHOST_CONFIG_VMM,
	.config_size = sizeof(struct virtio_vsock_config),
	.keys = vsock_keys,
	.configure = vsock_configure,
	.connected = vsock_connected,
	.started = vsock_started,
	.stopping = vsock_stopping,
};
