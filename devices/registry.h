/* Every -device type the VMM has, by name: one registry for the command
 * line, --help and the machine. */
#ifndef DEVICES_REGISTRY_H
#define DEVICES_REGISTRY_H

#include <stdio.h>

#include "devices/vhost_device.h"

/* The type named name (or aliased so), NULL if there is none. */
const struct vhost_device_type *device_type_find(const char *name);
/* Why a known QEMU device cannot be had here (one line), or NULL. */
const char *device_type_refusal(const char *name);
/* "-device NAME,PROPERTIES  virtio-name" lines for --help. */
void device_types_usage(FILE *out);
/* The names, comma-separated, for "unknown device type" messages. */
void device_types_list(char *buf, size_t len);

#endif
