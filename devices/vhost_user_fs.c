/* vhost-user-fs-pci: virtio-fs served by an external virtiofsd.
 * -device vhost-user-fs-pci,chardev=ID,tag=TAG[,queue-size=N][,num-request-queues=N]
 * as in QEMU. The VMM builds the config space (tag, number of request
 * queues); queue 0 is the high-priority queue, then the request queues. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "lib/qemu_opts.h"
#include "devices/types.h"
#include "devices/vhost_device.h"

#define FS_DEFAULT_QUEUE_SIZE 128
#define FS_MAX_QUEUE_SIZE     1024
#define PCI_CLASS_STORAGE_OTHER 0x018000

static const char *const fs_keys[] = { "tag", "queue-size", "num-request-queues", NULL };

static int fs_configure(struct vhost_device *d, const struct qemu_opts *opts, char *err,
			size_t errlen)
{
	struct virtio_fs_config *cfg = (struct virtio_fs_config *)d->config;
	const char *tag = qemu_opts_get(opts, "tag");
	uint64_t qsize, nreq;
	int ret;

	if (!tag || !*tag) {
		snprintf(err, errlen, "%s: tag=NAME is required (the guest mounts it with mount -t virtiofs NAME DIR)",
			 d->what);
		return -EINVAL;
	}
	if (strlen(tag) > sizeof(cfg->tag)) {
		snprintf(err, errlen, "%s: tag '%s' is longer than %zu bytes", d->what, tag,
			 sizeof(cfg->tag));
		return -EINVAL;
	}
	ret = qemu_opts_get_uint(opts, d->what, "queue-size", FS_DEFAULT_QUEUE_SIZE, 1,
				 FS_MAX_QUEUE_SIZE, &qsize, err, errlen);
	if (ret < 0)
		return ret;
	if (qsize & (qsize - 1)) {
		snprintf(err, errlen, "%s: queue-size must be a power of 2, got %llu", d->what,
			 (unsigned long long)qsize);
		return -EINVAL;
	}
	/* One high-priority queue plus the request queues; each gets an
	 * MSI-X vector and there is one for config changes. */
	ret = qemu_opts_get_uint(opts, d->what, "num-request-queues", 1, 1, 254, &nreq, err,
				 errlen);
	if (ret < 0)
		return ret;

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->tag, tag, strlen(tag));
	cfg->num_request_queues = (uint32_t)nreq;
	d->num_queues = 1 + nreq;
	snprintf(d->queues_from, sizeof(d->queues_from),
		 "1 high-priority queue + num-request-queues=%llu", (unsigned long long)nreq);
	d->queue_size = (uint16_t)qsize;
	return 0;
}

/* With the backend gone, every FUSE request gets ENOTCONN, the error FUSE
 * itself uses for an aborted connection. Forgets expect no reply. */
static uint32_t fs_fail_request(struct vhost_device *d, unsigned queue,
				const struct vq_elem *e)
{
	struct fuse_in_header in;
	struct fuse_out_header out;

	(void)d;
	(void)queue;
	if (vq_elem_read(e, &in, sizeof(in)) < sizeof(in) ||
	    in.opcode == FUSE_FORGET || in.opcode == FUSE_BATCH_FORGET)
		return 0;
	out = (struct fuse_out_header){ .len = sizeof(out), .error = -ENOTCONN,
					.unique = in.unique };
	return vq_elem_write(e, &out, sizeof(out));
}

const struct vhost_device_type vhost_user_fs_type = {
	.name = "vhost-user-fs-pci",
	.usage = "chardev=ID,tag=TAG[,queue-size=N][,num-request-queues=N]",
	.virtio_id = VIRTIO_ID_FS,
	.pci_class = PCI_CLASS_STORAGE_OTHER,
	.num_queues = 2,
	.queue_size = FS_DEFAULT_QUEUE_SIZE,
	.features = (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX),
	.config = VHOST_CONFIG_VMM,
	.config_size = sizeof(struct virtio_fs_config),
	.keys = fs_keys,
	.configure = fs_configure,
	.fail_request = fs_fail_request,
};
