/* vhost-user-scsi-pci: a SCSI host whose request queues a vhost-user
 * back-end (SPDK, qemu's contrib back-end) serves, as QEMU's
 * vhost-user-scsi:
 *   -device vhost-user-scsi-pci,chardev=ID[,num_queues=N][,virtqueue_size=N]
 *          [,max_sectors=N][,cmd_per_lun=N][,param_change=on|off]
 * Queues: control, event, then num_queues request queues, all the
 * back-end's. The config space is the VMM's, filled as QEMU's
 * virtio-scsi-common fills it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_scsi.h>

#include "devices/types.h"
#include "lib/qemu_opts.h"

#define PCI_CLASS_STORAGE_SCSI 0x010000
/* QEMU's VIRTIO_SCSI_MAX_CHANNEL / _TARGET / _LUN. */
#define SCSI_MAX_CHANNEL 0
#define SCSI_MAX_TARGET  255
#define SCSI_MAX_LUN     16383

static const char *const scsi_keys[] = {
	"num_queues", "virtqueue_size", "max_sectors", "cmd_per_lun", "param_change", NULL,
};

static int scsi_configure(struct vhost_device *d, const struct qemu_opts *opts, char *err,
			  size_t errlen)
{
	struct virtio_scsi_config cfg;
	uint64_t nq, size, max_sectors, cmd_per_lun;
	bool param_change;
	int ret;

	ret = qemu_opts_get_uint(opts, d->what, "num_queues", 1, 1, VIRTIO_PCI_MAX_QUEUES - 3,
				 &nq, err, errlen);
	if (ret == 0)
		ret = qemu_opts_get_uint(opts, d->what, "virtqueue_size", 128, 4, 1024, &size,
					 err, errlen);
	if (ret == 0)
		ret = qemu_opts_get_uint(opts, d->what, "max_sectors", 0xffff, 1, 0xffffffff,
					 &max_sectors, err, errlen);
	if (ret == 0)
		ret = qemu_opts_get_uint(opts, d->what, "cmd_per_lun", 128, 1, 0xffffffff,
					 &cmd_per_lun, err, errlen);
	if (ret == 0)
		ret = qemu_opts_get_bool(opts, d->what, "param_change", true, &param_change, err,
					 errlen);
	if (ret < 0)
		return ret;
	/* QEMU's switch for the parameter-change event (VIRTIO_SCSI_F_CHANGE). */
	if (!param_change)
		d->features &= ~(1ULL << VIRTIO_SCSI_F_CHANGE);
	if (size & (size - 1)) {
		snprintf(err, errlen, "%s: virtqueue_size must be a power of 2, got %llu", d->what,
			 (unsigned long long)size);
		return -EINVAL;
	}
	d->num_queues = 2 + (unsigned)nq;
	snprintf(d->queues_from, sizeof(d->queues_from), "control + event + num_queues=%llu",
		 (unsigned long long)nq);
	d->queue_size = (uint16_t)size;
	cfg = (struct virtio_scsi_config){
		.num_queues = (uint32_t)nq,
		/* Two descriptors of every request are its headers. */
		.seg_max = (uint32_t)size - 2,
		.max_sectors = (uint32_t)max_sectors,
		.cmd_per_lun = (uint32_t)cmd_per_lun,
		.event_info_size = sizeof(struct virtio_scsi_event),
		.sense_size = VIRTIO_SCSI_SENSE_DEFAULT_SIZE,
		.cdb_size = VIRTIO_SCSI_CDB_DEFAULT_SIZE,
		.max_channel = SCSI_MAX_CHANNEL,
		.max_target = SCSI_MAX_TARGET,
		.max_lun = SCSI_MAX_LUN,
	};
	memcpy(d->config, &cfg, sizeof(cfg));
	return 0;
}

const struct vhost_device_type vhost_user_scsi_type = {
	.name = "vhost-user-scsi-pci",
	.usage = "chardev=ID[,num_queues=N][,virtqueue_size=N][,max_sectors=N][,cmd_per_lun=N][,param_change=on|off]",
	.virtio_id = VIRTIO_ID_SCSI,
	.pci_class = PCI_CLASS_STORAGE_SCSI,
	.num_queues = 3,
	.queue_size = 128,
	.features = (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		    (1ULL << VIRTIO_SCSI_F_HOTPLUG) | (1ULL << VIRTIO_SCSI_F_CHANGE),
	.config = VHOST_CONFIG_VMM,
	.config_size = sizeof(struct virtio_scsi_config),
	.keys = scsi_keys,
	.configure = scsi_configure,
};
