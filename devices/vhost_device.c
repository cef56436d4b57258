#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "kvm/memory.h"
#include "lib/log.h"
#include "lib/qemu_opts.h"
#include "vhost/vhost_user_trace.h"
#include "devices/vhost_device.h"

static struct vhost_device *of(struct virtio_pci *vp)
{
	return vp->opaque;
}

/* ---- when the backend is gone: the VMM answers requests itself ---- */

static void fail_pending(struct vhost_device_dead_queue *dq)
{
	struct vhost_device *d = dq->dev;
	struct virtqueue *vq = &dq->vq;
	struct vq_elem e;
	uint16_t old_used = vq->used_idx;
	/* One ring's worth per wake-up: a guest refilling the queue as fast
	 * as it is drained must not keep the event loop here. */
	unsigned budget = vq->size;
	int ret = 0;

	do {
		while (budget && (ret = vq_pop(d->ram, vq, &e)) > 0) {
			vq_push(d->ram, vq, e.head,
				d->type->fail_request ? d->type->fail_request(d, dq->index, &e) : 0);
			budget--;
		}
		if (!budget) {
			/* Come back after the loop's other watches. */
			eventfd_write(dq->watch.fd, 1);
			break;
		}
		/* With EVENT_IDX the guest kicks only past avail_event, which
		 * the dead backend left behind: move it, or kicks stop. */
	} while (ret == 0 && vq_enable_kicks(d->ram, vq));
	if (ret < 0)
		pr_debug("%s: queue %u: malformed ring while failing requests", d->name,
			 dq->index);
	if (vq->used_idx != old_used && vq_should_notify(d->ram, vq, old_used))
		virtio_pci_notify_queue(&d->vp, dq->index);
}

static void on_dead_kick(void *opaque, uint32_t events)
{
	struct vhost_device_dead_queue *dq = opaque;
	struct vhost_device *d = dq->dev;
	eventfd_t v;

	(void)events;
	eventfd_read(dq->watch.fd, &v);
	pci_dev_lock(&d->vp.pci);
	if (d->failing && d->vp.queues[dq->index].enabled)
		fail_pending(dq);
	pci_dev_unlock(&d->vp.pci);
}

/* Called with the device lock held. Takes every enabled queue over from
 * where the used ring says the backend stopped: requests it took but never
 * completed are answered too. */
static void start_failing(struct vhost_device *d)
{
	unsigned q;
	int used;

	for (q = 0; q < d->backend_queues; q++) {
		struct virtio_pci_queue *pq = &d->vp.queues[q];
		struct vhost_device_dead_queue *dq = &d->dead[q];

		if (!pq->enabled)
			continue;
		dq->vq = (struct virtqueue){
			.size = pq->size, .desc_gpa = pq->desc, .avail_gpa = pq->avail,
			.used_gpa = pq->used,
			.event_idx = d->vp.driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
		};
		used = vq_read_used_idx(d->ram, &dq->vq);
		if (used < 0)
			continue;
		dq->vq.used_idx = dq->vq.last_avail = used;
		if (!dq->watching) {
			dq->watch = (struct loop_watch){ pq->kick_fd, on_dead_kick, dq };
			dq->watching = loop_add(d->loop, &dq->watch, EPOLLIN) == 0;
		}
		/* Kicks the backend never read are in the eventfd and wake the
		 * loop; requests already queued are answered now anyway. */
		fail_pending(dq);
	}
	d->failing = true;
}

static void stop_failing(struct vhost_device *d)
{
	unsigned q;

	for (q = 0; q < d->backend_queues; q++) {
		if (!d->dead[q].watching)
			continue;
		loop_del(d->loop, &d->dead[q].watch);
		d->dead[q].watching = false;
	}
	d->failing = false;
}

static void unwatch_backend(struct vhost_device *d)
{
	if (d->hup_watching)
		loop_del(d->loop, &d->hup_watch);
	if (d->req_watching)
		loop_del(d->loop, &d->req_watch);
	d->hup_watching = d->req_watching = false;
}

/* Device lock held. Returns whether the caller must set NEEDS_RESET. */
static bool backend_lost_locked(struct vhost_device *d, const char *why)
{
	if (d->backend_lost)
		return false;
	d->backend_lost = true;
	pr_err("%s (%s): backend %s; the device needs a reset and guest requests on it now fail",
	       d->name, d->label, why);
	unwatch_backend(d);
	vhost_user_disconnect(&d->vu);
	if (d->vp.started)
		start_failing(d);
	return d->vp.started;
}

static void on_backend_hup(void *opaque, uint32_t events)
{
	struct vhost_device *d = opaque;
	bool needs_reset;

	(void)events;
	pci_dev_lock(&d->vp.pci);
	needs_reset = backend_lost_locked(d, "disconnected");
	pci_dev_unlock(&d->vp.pci);
	if (needs_reset)
		virtio_pci_set_needs_reset(&d->vp);
}

/* Whether the backend hung up its main socket (without reading it),
 * waiting up to wait_ms for it to happen. */
static bool backend_hung_up(struct vhost_device *d, int wait_ms)
{
	struct pollfd p = { .fd = d->vu.fd, .events = POLLRDHUP };

	return d->vu.fd < 0 ||
	       (poll(&p, 1, wait_ms) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

static void on_backend_req(void *opaque, uint32_t events)
{
	struct vhost_device *d = opaque;
	bool needs_reset = false;
	int ret;

	(void)events;
	pci_dev_lock(&d->vp.pci);
	ret = vhost_dev_handle_event(&d->vdev);
	if (ret == -ENOTCONN || ret == -EPROTO) {
		/* Unwatch before the close: the fd number is free after it. A
		 * back-end waiting for the answer to a malformed request sees
		 * the close instead of hanging. */
		loop_del(d->loop, &d->req_watch);
		d->req_watching = false;
		vhost_dev_close_event(&d->vdev);
		/* A dying backend closes both sockets, the request channel
		 * possibly a moment before the main one: give that moment
		 * (this is a rare error path), and say it once, as the loss of
		 * the backend. */
		if (backend_hung_up(d, 200))
			needs_reset = backend_lost_locked(d, "disconnected");
		else
			pr_warn("%s (%s): backend request channel closed: %s",
				d->name, d->label, vhost_dev_error(&d->vdev));
	}
	pci_dev_unlock(&d->vp.pci);
	if (needs_reset)
		virtio_pci_set_needs_reset(&d->vp);
}

/* BACKEND_CONFIG_CHANGE_MSG, from the event loop with the lock held. */
static int on_config_change(void *opaque)
{
	struct vhost_device *d = opaque;
	int ret = 0;

	if (d->config_source == VHOST_CONFIG_BACKEND)
		ret = vhost_dev_get_config(&d->vdev, 0, d->config, d->config_size);
	virtio_pci_config_changed_locked(&d->vp);
	return ret;
}

/* ---- virtio_dev_ops ---- */

static int dev_start(struct virtio_pci *vp)
{
	struct vhost_device *d = of(vp);
	struct vhost_vq_config *vqs;
	struct vhost_mem_table mem;
	unsigned q;
	int ret;

	if (d->backend_lost) {
		/* No backend to hand the rings to: keep the guest's requests
		 * from hanging, and say the device needs a reset. */
		start_failing(d);
		return -ENOTCONN;
	}
	vqs = calloc(d->backend_queues, sizeof(*vqs));
	if (!vqs)
		return -ENOMEM;
	for (q = 0; q < d->backend_queues; q++) {
		const struct virtio_pci_queue *pq = &vp->queues[q];

		vqs[q] = (struct vhost_vq_config){
			.ready = pq->enabled, .size = pq->size,
			.desc_gpa = pq->desc, .avail_gpa = pq->avail, .used_gpa = pq->used,
			.kick_fd = pq->kick_fd, .call_fd = virtio_pci_queue_call_fd(vp, q),
			.vring_base = vhost_dev_vring_base(&d->vdev, q),
		};
	}
	vhost_mem_table_from_guest_ram(&mem, d->ram);
	ret = vhost_dev_start(&d->vdev, vp->driver_features, &mem, vqs);
	free(vqs);
	if (ret == 0 && d->type->started) {
		ret = d->type->started(d);
		if (ret < 0)
			vhost_dev_stop(&d->vdev);
	}
	if (ret < 0) {
		pr_err("%s (%s): cannot start: %s", d->name, d->label,
		       vhost_dev_error(&d->vdev));
		if (vhost_dev_backend_lost(ret))
			backend_lost_locked(d, "stopped answering");
		return ret;
	}
	return 0;
}

static void dev_stop(struct virtio_pci *vp)
{
	struct vhost_device *d = of(vp);
	int ret;

	stop_failing(d);
	if (d->backend_lost || !d->vdev_initialized)
		return;
	if (d->type->stopping)
		d->type->stopping(d);
	ret = vhost_dev_stop(&d->vdev);
	if (ret < 0) {
		pr_warn("%s (%s): stop: %s", d->name, d->label,
			vhost_dev_error(&d->vdev));
		if (vhost_dev_backend_lost(ret))
			backend_lost_locked(d, "stopped answering");
	}
}

static void dev_reset(struct virtio_pci *vp)
{
	struct vhost_device *d = of(vp);

	/* Serving may have begun without a start the transport counts (a
	 * start with the backend already gone fails, yet serves the queues so
	 * that the guest's requests error out); after a reset those rings are
	 * the guest's memory again. */
	stop_failing(d);
	/* The connection stays: a device reset is not a reason to let the
	 * backend go (virtiofsd would exit). */
	if (!d->backend_lost && d->vdev_initialized)
		vhost_dev_reset(&d->vdev);
}

static void dev_config_read(struct virtio_pci *vp, unsigned off, void *data, unsigned len)
{
	struct vhost_device *d = of(vp);

	memcpy(data, d->config + off, len);
}

static void dev_config_write(struct virtio_pci *vp, unsigned off, const void *data,
			     unsigned len)
{
	struct vhost_device *d = of(vp);

	/* Config writes go to the back-end when it owns the config space (a
	 * blk writeback toggle, input's select/subsel); the VMM's own config
	 * spaces have nothing the guest may change. */
	if (d->config_source != VHOST_CONFIG_BACKEND || d->backend_lost)
		return;
	memcpy(d->config + off, data, len);
	if (vhost_dev_set_config(&d->vdev, off, data, len, 0) < 0) {
		pr_warn("%s (%s): SET_CONFIG: %s", d->name, d->label,
			vhost_dev_error(&d->vdev));
		return;
	}
	/* What the guest reads next may depend on what it wrote (input
	 * answers a select with a new union): read it afresh, as QEMU does. */
	if (vhost_dev_get_config(&d->vdev, 0, d->config, d->config_size) < 0)
		pr_warn("%s (%s): GET_CONFIG: %s", d->name, d->label,
			vhost_dev_error(&d->vdev));
}

static const struct virtio_dev_ops vhost_device_ops = {
	.start = dev_start,
	.stop = dev_stop,
	.reset = dev_reset,
	.config_read = dev_config_read,
	.config_write = dev_config_write,
};

/* ---- creation ---- */

/* The keys every vhost device takes, then the type's own. */
static int check_keys(struct vhost_device *d, const struct qemu_opts *opts, char *err,
		      size_t errlen)
{
	static const char *const user[] = { "chardev", "id", NULL };
	static const char *const kernel[] = { "vhostfd", "id", NULL };
	const char *const *common = d->type->backend == VHOST_DEVICE_KERNEL ? kernel : user;
	const char *keys[QEMU_OPTS_MAX + 3];
	size_t n = 0, i;

	for (i = 0; common[i]; i++)
		keys[n++] = common[i];
	for (i = 0; d->type->keys && d->type->keys[i] && n < QEMU_OPTS_MAX + 2; i++)
		keys[n++] = d->type->keys[i];
	keys[n] = NULL;
	return qemu_opts_check_keys(opts, d->what, keys, err, errlen);
}

/* The type's defaults, then its options. */
static int configure(struct vhost_device *d, const struct qemu_opts *opts, char *err,
		     size_t errlen)
{
	const struct vhost_device_type *type = d->type;
	int ret = check_keys(d, opts, err, errlen);

	if (ret < 0)
		return ret;
	d->virtio_id = type->virtio_id;
	d->features = type->features;
	d->num_queues = type->num_queues;
	d->queue_size = type->queue_size;
	d->config_source = type->config;
	d->config_size = type->config == VHOST_CONFIG_NONE ? 0 : type->config_size;
	if (type->configure) {
		ret = type->configure(d, opts, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (d->num_queues <= type->vmm_queues || d->config_size > sizeof(d->config) ||
	    !d->queue_size || (d->queue_size & (d->queue_size - 1)) || !d->virtio_id) {
		snprintf(err, errlen, "%s: the device type's defaults are inconsistent (queues %u, queue size %u, config %u bytes)",
			 d->what, d->num_queues, d->queue_size, d->config_size);
		return -EINVAL;
	}
	if (d->config_source == VHOST_CONFIG_NONE)
		d->config_size = 0;
	d->backend_queues = d->num_queues - type->vmm_queues;
	return 0;
}

/* A vhost-user back-end, from connect to the end of negotiation. */
static int connect_user(struct vhost_device *d, const struct chardev_config *chr,
			const struct vhost_device_env *env, char *err, size_t errlen)
{
	uint64_t protocol = VHOST_USER_PROTOCOL_FEATURES_SUPPORTED;
	int ret;

	if (env->trace)
		vhost_user_set_trace(&d->vu, env->trace);
	ret = vhost_user_open(&d->vu, chr);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", d->what, vhost_user_error(&d->vu));
		return ret;
	}
	if (!vhost_user_connected(&d->vu)) {
		/* server=on,wait=off: the device cannot be shown to the guest
		 * before the back-end has said what it offers, so wait here,
		 * as QEMU's vhost-user-blk realize does whatever wait= says. */
		pr_warn("%s (%s): waiting for a backend to connect to %s (a vhost-user device needs it before the guest starts, even with wait=off)",
			d->name, d->label, chr->path);
		ret = vhost_user_wait_accept(&d->vu);
		if (ret < 0) {
			snprintf(err, errlen, "%s: %s", d->what, vhost_user_error(&d->vu));
			return ret;
		}
	}
	if (d->config_source != VHOST_CONFIG_BACKEND)
		protocol &= ~(1ULL << VHOST_USER_PROTOCOL_F_CONFIG);
	vhost_user_want_protocol_features(&d->vu, protocol);
	ret = vhost_dev_init(&d->vdev, &vhost_user_backend_ops, &d->vu, 0, d->backend_queues,
			     d->features | (1ULL << VIRTIO_F_VERSION_1));
	if (ret < 0) {
		char why[sizeof(d->queues_from) + 3] = "";

		if (d->vdev.max_queues && d->vdev.max_queues < d->backend_queues &&
		    d->queues_from[0])
			snprintf(why, sizeof(why), " (%s)", d->queues_from);
		snprintf(err, errlen, "%s (%s): %s%s", d->what, d->label,
			 vhost_dev_error(&d->vdev), why);
		return ret;
	}
	d->vdev_initialized = true;
	return 0;
}

/* The event loop's watches on a vhost-user back-end: hang-up of its
 * socket, its request channel. */
static int watch_user(struct vhost_device *d, char *err, size_t errlen)
{
	int ret;

	/* EPOLLRDHUP only: replies are read by whoever sent the request; the
	 * loop only wants to hear that the back-end went away. */
	d->hup_watch = (struct loop_watch){ d->vu.fd, on_backend_hup, d };
	ret = loop_add(d->loop, &d->hup_watch, EPOLLRDHUP);
	if (ret < 0) {
		snprintf(err, errlen, "%s: epoll: %s", d->what, strerror(-ret));
		return ret;
	}
	d->hup_watching = true;
	if (vhost_dev_event_fd(&d->vdev) >= 0) {
		d->req_watch = (struct loop_watch){ vhost_dev_event_fd(&d->vdev), on_backend_req, d };
		ret = loop_add(d->loop, &d->req_watch, EPOLLIN);
		if (ret < 0) {
			snprintf(err, errlen, "%s: epoll: %s", d->what, strerror(-ret));
			return ret;
		}
		d->req_watching = true;
	}
	return 0;
}

/* A kernel vhost back-end: /dev/vhost-* opened, or the vhostfd=N a
 * management layer passed in, then negotiated. */
static int connect_kernel(struct vhost_device *d, const struct qemu_opts *opts,
			  const struct vhost_device_env *env, char *err, size_t errlen)
{
	const char *fdarg = qemu_opts_get(opts, "vhostfd");
	unsigned long long fd;
	int ret;

	vhost_kernel_set_trace(&d->vk, env->kernel_trace);
	if (fdarg) {
		if (qemu_opts_parse_num(fdarg, 0x7fffffff, &fd) < 0) {
			snprintf(err, errlen, "%s: vhostfd must be a file descriptor number, got '%s'",
				 d->what, fdarg);
			return -EINVAL;
		}
		snprintf(d->label, sizeof(d->label), "vhostfd=%llu", fd);
		ret = vhost_kernel_attach_fd(&d->vk, (int)fd);
	} else {
		snprintf(d->label, sizeof(d->label), "%s", d->type->kernel_dev);
		ret = vhost_kernel_open(&d->vk, d->type->kernel_dev);
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", d->what, vhost_kernel_error(&d->vk));
		return ret;
	}
	ret = vhost_dev_init(&d->vdev, &vhost_kernel_backend_ops, &d->vk, 0, d->backend_queues,
			     d->features | (1ULL << VIRTIO_F_VERSION_1));
	if (ret < 0) {
		snprintf(err, errlen, "%s (%s): %s", d->what, d->label, vhost_dev_error(&d->vdev));
		return ret;
	}
	d->vdev_initialized = true;
	return 0;
}

int vhost_device_create(struct vhost_device *d, const struct vhost_device_type *type,
			const struct qemu_opts *opts, const struct chardev_config *chr,
			const struct vhost_device_env *env, char *err, size_t errlen)
{
	const char *id = qemu_opts_get(opts, "chardev");
	bool user = type->backend == VHOST_DEVICE_USER;
	struct virtio_dev_desc desc;
	unsigned q;
	int ret;

	memset(d, 0, sizeof(*d));
	d->type = type;
	d->ram = env->ram;
	d->loop = env->loop;
	snprintf(d->name, sizeof(d->name), "%s", opts->type ? opts->type : type->name);
	snprintf(d->what, sizeof(d->what), "-device %s", d->name);
	vhost_user_init(&d->vu, id ? id : "?");
	vhost_kernel_init(&d->vk, qemu_opts_get(opts, "id") ? qemu_opts_get(opts, "id") : d->name);
	ret = configure(d, opts, err, errlen);
	if (ret < 0)
		return ret;
	if (user && (!id || !chr)) {
		snprintf(err, errlen, "%s: needs chardev=ID of a -chardev socket", d->what);
		return -EINVAL;
	}
	if (!d->ram->shared) {
		snprintf(err, errlen, "%s: guest RAM is not shared, so the backend cannot see it; use -object memory-backend-memfd,id=mem,size=SIZE,share=on -numa node,memdev=mem (or share=on on your memory backend)",
			 d->what);
		return -EINVAL;
	}
	if (user) {
		snprintf(d->label, sizeof(d->label), "chardev %s", id);
		ret = connect_user(d, chr, env, err, errlen);
	} else {
		ret = connect_kernel(d, opts, env, err, errlen);
	}
	if (ret < 0)
		return ret;
	vhost_dev_set_config_notifier(&d->vdev, on_config_change, d);
	if (!(d->vdev.features & (1ULL << VIRTIO_F_VERSION_1))) {
		snprintf(err, errlen, "%s (%s): the backend does not offer VIRTIO_F_VERSION_1 (features 0x%llx); legacy virtio is not supported",
			 d->what, d->label, (unsigned long long)d->vdev.features);
		return -ENOTSUP;
	}
	if (d->config_source == VHOST_CONFIG_BACKEND && d->config_size) {
		ret = vhost_dev_get_config(&d->vdev, 0, d->config, d->config_size);
		if (ret < 0) {
			snprintf(err, errlen, "%s (%s): GET_CONFIG: %s", d->what, d->label,
				 vhost_dev_error(&d->vdev));
			return ret;
		}
	}
	if (type->connected) {
		ret = type->connected(d, err, errlen);
		if (ret < 0)
			return ret;
	}

	d->dead = calloc(d->backend_queues, sizeof(*d->dead));
	if (!d->dead)
		return -ENOMEM;
	for (q = 0; q < d->backend_queues; q++)
		d->dead[q] = (struct vhost_device_dead_queue){ .dev = d, .index = q };

	desc = (struct virtio_dev_desc){
		.name = type->name, .virtio_id = d->virtio_id, .pci_class = type->pci_class,
		.num_queues = d->num_queues, .max_queue_size = d->queue_size,
		.features = d->vdev.features & ~(1ULL << VIRTIO_F_VERSION_1),
		.config_size = d->config_size, .ops = &vhost_device_ops,
	};
	ret = virtio_pci_init(&d->vp, env->vm, &desc, d);
	if (ret >= 0)
		ret = pci_bus_add(env->bus, &d->vp.pci, -1);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot create the PCI device: %s", d->what,
			 strerror(-ret));
		return ret;
	}
	if (user) {
		ret = watch_user(d, err, errlen);
		if (ret < 0)
			return ret;
	}
	pr_info("%s (%s): virtio id %u, %u queues of %u, features 0x%llx", d->name, d->label,
		d->virtio_id, d->num_queues, d->queue_size, (unsigned long long)d->vdev.features);
	return 0;
}

void vhost_device_destroy(struct vhost_device *d)
{
	if (!d->type)
		return;
	if (d->dead)
		stop_failing(d);
	unwatch_backend(d);
	if (d->vp.queues)
		virtio_pci_destroy(&d->vp);
	if (d->vdev_initialized)
		vhost_dev_cleanup(&d->vdev);
	vhost_user_close(&d->vu);
	vhost_kernel_close(&d->vk);
	free(d->dead);
	d->type = NULL;
}
