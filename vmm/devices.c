#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/devices.h"

int devices_create(struct device_set *s, const struct vmm_config *cfg, struct vm *vm,
		   struct guest_ram *ram, struct pci_bus *bus, struct event_loop *loop,
		   char *err, size_t errlen)
{
	int i, ret;

	s->n = 0;
	s->devs = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*s->devs));
	if (!s->devs)
		return -ENOMEM;
	for (i = 0; i < cfg->ndevices; i++) {
		const struct qemu_opts *opts = &cfg->devices[i].opts;
		const struct vhost_user_device_type *type = vhost_user_device_type_find(opts->type);

		if (!type) {
			snprintf(err, errlen, "-device %s: unknown device type (supported: isa-debug-exit, vhost-user-fs-pci)",
				 opts->type);
			return -ENOTSUP;
		}
		s->n = i + 1;
		ret = vhost_user_device_create(&s->devs[i], type, opts, cfg, vm, ram, bus, loop,
					       err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void devices_destroy(struct device_set *s)
{
	int i;

	for (i = s->n - 1; i >= 0; i--)
		vhost_user_device_destroy(&s->devs[i]);
	free(s->devs);
	s->devs = NULL;
	s->n = 0;
}
