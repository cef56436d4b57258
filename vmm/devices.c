#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/registry.h"
#include "vhost/vhost_kernel.h"
#include "vhost/vhost_user_trace.h"
#include "vmm/devices.h"

static const struct chardev_config *find_chardev(const struct vmm_config *cfg, const char *id)
{
	int i;

	for (i = 0; id && i < cfg->nchardevs; i++)
		if (!strcmp(cfg->chardevs[i].id, id))
			return &cfg->chardevs[i];
	return NULL;
}

int devices_create(struct device_set *s, const struct vmm_config *cfg, struct vm *vm,
		   struct guest_ram *ram, struct pci_bus *bus, struct event_loop *loop,
		   char *err, size_t errlen)
{
	const struct vhost_device_env env = {
		.vm = vm, .ram = ram, .bus = bus, .loop = loop,
		.trace = vhost_user_trace_enabled((const char *const *)cfg->traces, cfg->ntraces)
			 ? stderr : NULL,
		.kernel_trace = vhost_kernel_trace_enabled((const char *const *)cfg->traces,
							   cfg->ntraces) ? stderr : NULL,
	};
	int i, ret;

	s->n = 0;
	s->devs = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*s->devs));
	if (!s->devs)
		return -ENOMEM;
	for (i = 0; i < cfg->ndevices; i++) {
		const struct qemu_opts *opts = &cfg->devices[i].opts;
		const struct vhost_device_type *type = device_type_find(opts->type);

		/* The command line let only known types through. */
		if (!type) {
			snprintf(err, errlen, "-device %s: unknown device type", opts->type);
			return -ENOTSUP;
		}
		s->n = i + 1;
		ret = vhost_device_create(&s->devs[i], type, opts,
					       find_chardev(cfg, qemu_opts_get(opts, "chardev")),
					       &env, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void devices_destroy(struct device_set *s)
{
	int i;

	for (i = s->n - 1; i >= 0; i--)
		vhost_device_destroy(&s->devs[i]);
	free(s->devs);
	s->devs = NULL;
	s->n = 0;
}
