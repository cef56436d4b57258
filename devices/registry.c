/* The registry. A type whose back-end does everything (the VMM only
 * passes the config space through, or has none) is a row here; a type
 * with properties or a config space of its own is a file that
 * devices/types.h names. */
#include <stdio.h>
#include <string.h>

#include <linux/virtio_gpio.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_input.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_scmi.h>
#include <linux/virtio_snd.h>

#include "devices/registry.h"
#include "devices/types.h"

#define RING_FEATURES ((1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX))
/* Not in the UAPI headers of Debian 12; the virtio spec's SPI controller
 * and its configuration (5.23.4: 4 bytes, then 7 le32 limits). */
#define VIRTIO_ID_SPI         45
#define VIRTIO_SPI_CONFIG_SIZE 32
#define PCI_CLASS_OTHERS      0xff0000

/* QEMU's queue counts and sizes for the same -device names. */
static const struct vhost_device_type rows[] = {
	{ .name = "vhost-user-rng-pci", .usage = "chardev=ID",
	  .virtio_id = VIRTIO_ID_RNG, .pci_class = PCI_CLASS_OTHERS,
	  .num_queues = 1, .queue_size = 64, .features = RING_FEATURES },
	{ .name = "vhost-user-gpio-pci", .usage = "chardev=ID",
	  .virtio_id = VIRTIO_ID_GPIO, .pci_class = PCI_CLASS_OTHERS,
	  .num_queues = 2, .queue_size = 256, .features = RING_FEATURES | (1ULL << VIRTIO_GPIO_F_IRQ),
	  .config = VHOST_CONFIG_BACKEND, .config_size = sizeof(struct virtio_gpio_config) },
	{ .name = "vhost-user-i2c-pci", .usage = "chardev=ID",
	  .virtio_id = VIRTIO_ID_I2C_ADAPTER, .pci_class = PCI_CLASS_OTHERS,
	  .num_queues = 1, .queue_size = 64, .features = RING_FEATURES | (1ULL << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST) },
	{ .name = "vhost-user-scmi-pci", .usage = "chardev=ID",
	  .virtio_id = VIRTIO_ID_SCMI, .pci_class = PCI_CLASS_OTHERS,
	  .num_queues = 2, .queue_size = 64, .features = RING_FEATURES | (1ULL << VIRTIO_SCMI_F_P2A_CHANNELS) },
	{ .name = "vhost-user-input-pci", .usage = "chardev=ID",
	  .virtio_id = VIRTIO_ID_INPUT, .pci_class = 0x098000 /* input, other */,
	  .num_queues = 2, .queue_size = 64, .features = RING_FEATURES,
	  .config = VHOST_CONFIG_BACKEND, .config_size = sizeof(struct virtio_input_config) },
	{ .name = "vhost-user-snd-pci", .usage = "chardev=ID",
	  .virtio_id = VIRTIO_ID_SOUND, .pci_class = 0x040100 /* audio */,
	  .num_queues = 4, .queue_size = 64, .features = RING_FEATURES,
	  .config = VHOST_CONFIG_BACKEND, .config_size = sizeof(struct virtio_snd_config) },
	{ .name = "vhost-user-spi-pci", .usage = "chardev=ID",
	  .virtio_id = VIRTIO_ID_SPI, .pci_class = PCI_CLASS_OTHERS,
	  .num_queues = 1, .queue_size = 64, .features = RING_FEATURES,
	  .config = VHOST_CONFIG_BACKEND, .config_size = VIRTIO_SPI_CONFIG_SIZE },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const struct vhost_device_type *const coded[] = {
	&vhost_user_fs_type,
	&vhost_user_generic_type,
	&vhost_user_vsock_type,
	&vhost_user_scsi_type,
	&vhost_vsock_type,
};
#define NCODED (sizeof(coded) / sizeof(coded[0]))

static const struct { const char *name, *why; } refused[] = {
	{ "vhost-user-gpu-pci", "needs a display, which this VMM does not have" },
	{ "vhost-user-gpu", "needs a display, which this VMM does not have" },
	{ "vhost-user-vga", "needs a display, which this VMM does not have" },
};

static const struct vhost_device_type *type_at(size_t i)
{
	return i < NCODED ? coded[i] : i < NCODED + NROWS ? &rows[i - NCODED] : NULL;
}

const struct vhost_device_type *device_type_find(const char *name)
{
	const struct vhost_device_type *t;
	size_t i;

	for (i = 0; (t = type_at(i)); i++)
		if (!strcmp(t->name, name) || (t->alias && !strcmp(t->alias, name)))
			return t;
	return NULL;
}

const char *device_type_refusal(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (!strcmp(refused[i].name, name))
			return refused[i].why;
	return NULL;
}

void device_types_usage(FILE *out)
{
	const struct vhost_device_type *t;
	size_t i;

	for (i = 0; (t = type_at(i)); i++) {
		fprintf(out, "  -device %s,%s\n", t->name, t->usage);
		if (t->alias)
			fprintf(out, "  -device %s,...  the same as %s\n", t->alias, t->name);
	}
}

void device_types_list(char *buf, size_t len)
{
	const struct vhost_device_type *t;
	size_t i, n = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; (t = type_at(i)) && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "", t->name);
}
