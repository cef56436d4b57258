/* The kernel's vhost back-ends (/dev/vhost-vsock, /dev/vhost-net, ...):
 * one open fd per vhost_dev, driven by ioctls, what QEMU's kernel_ops in
 * hw/virtio/vhost-backend.c do. vhost_kernel_backend_ops (vhost_dev.h)
 * takes a struct vhost_kernel * as its backend.
 *
 * The kernel thread that serves the rings reads and writes guest RAM
 * through our own mapping of it: VHOST_SET_MEM_TABLE passes guest-physical
 * ranges and our addresses for them, no fds (the memory still has to be
 * MAP_SHARED: vhost_dev refuses private RAM for every back-end kind). Rings
 * are numbered inside each fd from 0, so vhost_dev's local indices go to
 * the kernel as they are. Every ioctl comes from the process that did
 * VHOST_SET_OWNER (any of its threads); the kernel answers EPERM to any
 * other. One vhost_dev_init() per fd: the fd stays owned until it is
 * closed (a second VHOST_SET_OWNER is EBUSY), so a new vhost_dev needs a
 * new fd.
 *
 * Errors are 0 or -errno (the kernel's errno, or ours for bad arguments),
 * with a one-line message naming the device, the ioctl and its decoded
 * argument in vhost_kernel_error(). No timeouts: an ioctl returns when the
 * kernel is done. */
#ifndef VHOST_VHOST_KERNEL_H
#define VHOST_VHOST_KERNEL_H

#include <stdbool.h>
#include <stdio.h>

struct vhost_kernel {
	char name[64];   /* device id: in every message and trace line */
	char path[108];  /* what vhost_kernel_open() opened; "" for an fd */
	int fd;          /* the /dev/vhost-* fd, -1 if none */
	FILE *trace;     /* ioctl trace, NULL = off */
	char err[400];
};

/* Sets up vk without an fd (no I/O). name: the device id. */
void vhost_kernel_init(struct vhost_kernel *vk, const char *name);
/* Opens path read-write (close-on-exec). A missing node (ENOENT, or ENODEV
 * from a node whose driver is absent) names the module to load for
 * /dev/vhost-vsock, -net, -scsi; EACCES says which access is missing. */
int vhost_kernel_open(struct vhost_kernel *vk, const char *path);
/* Takes an fd the caller already opened (QEMU's vhostfd=N, passed in by a
 * management layer); vk owns it from then on, also on failure. It must be
 * a character device; it is made close-on-exec. */
int vhost_kernel_attach_fd(struct vhost_kernel *vk, int fd);
/* Closes the fd: the kernel stops the rings and frees the device (a vsock
 * guest CID becomes free again). Safe without an fd. */
void vhost_kernel_close(struct vhost_kernel *vk);
/* Trace destination (stderr when -trace asks for it), or NULL. One line
 * per ioctl, decoded, with its duration; memory regions on lines of their
 * own; failures with the errno name:
 *   vhost-kernel vsock0 -> VHOST_SET_VRING_NUM index=0 num=128 (2 us)
 *   vhost-kernel vsock0 <- VHOST_GET_VRING_BASE index=1 base=1 (1 us)
 *   vhost-kernel vsock0 -> VHOST_VSOCK_SET_GUEST_CID cid=2 (1 us) FAILED: EINVAL (Invalid argument)
 * "->" for an ioctl that only hands the kernel something, "<-" for one
 * whose answer the line shows. */
void vhost_kernel_set_trace(struct vhost_kernel *vk, FILE *f);
const char *vhost_kernel_error(const struct vhost_kernel *vk);

/* Whether -trace patterns turn on this trace, by the rules of
 * vhost_user_trace_enabled() (globs, '-' and '_' alike, "enable=", a
 * leading '-' disables, the last match wins); the events are
 * "vhost_kernel" and "vhost_kernel_ioctl". */
bool vhost_kernel_trace_enabled(const char *const *patterns, int n);

#endif
