/* The device types that need code of their own, one file each; the
 * registry (devices/registry.c) lists them with the types that are only
 * a table row. */
#ifndef DEVICES_TYPES_H
#define DEVICES_TYPES_H

#include "devices/vhost_device.h"

extern const struct vhost_device_type vhost_user_fs_type;       /* vhost_user_fs.c */
extern const struct vhost_device_type vhost_user_generic_type;  /* vhost_user_generic.c */
extern const struct vhost_device_type vhost_user_vsock_type;    /* vhost_user_vsock.c */
extern const struct vhost_device_type vhost_user_scsi_type;     /* vhost_user_scsi.c */
extern const struct vhost_device_type vhost_vsock_type;         /* vhost_vsock.c */

/* vhost_vsock.c: guest-cid= (3..2^32-2) into d's virtio_vsock_config. */
int vsock_guest_cid_config(struct vhost_device *d, const struct qemu_opts *opts, char *err,
			   size_t errlen);

#endif
