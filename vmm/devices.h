/* The -device list made real: every entry is a vhost device. */
#ifndef VMM_DEVICES_H
#define VMM_DEVICES_H

#include <stddef.h>

#include "devices/vhost_device.h"
#include "vmm/config.h"

struct device_set {
	int n;
	struct vhost_device *devs;
};

/* Creates every -device of cfg in order. Returns -errno with a one-line
 * message in err; devices_destroy() is needed either way. */
int devices_create(struct device_set *s, const struct vmm_config *cfg, struct vm *vm,
		   struct guest_ram *ram, struct pci_bus *bus, struct event_loop *loop,
		   char *err, size_t errlen);
void devices_destroy(struct device_set *s);

#endif
