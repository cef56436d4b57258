/* The engine of vu-test-backend (see vu-test-backend.c for what it does
 * and its options): everything but main(), so that unit tests can run it
 * in a forked child (tests/tools/vu_harness.h). A header rather than a .c
 * so that the build never compiles or links it on its own. */
#ifndef TESTS_TOOLS_VU_BACKEND_H
#define TESTS_TOOLS_VU_BACKEND_H

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost/vhost_user_proto.h"

/* Every function is static: each user (the tool, a unit test) gets its
 * own copy and may leave some unused. */
#define VUB_API static __attribute__((unused))

enum vub_fault_kind {
	VUB_FAULT_NONE,
	VUB_FAULT_CLOSE,     /* close the connection instead of answering */
	VUB_FAULT_BAD_ID,    /* answer with another request id */
	VUB_FAULT_BAD_FLAGS, /* answer without the REPLY flag */
	VUB_FAULT_BAD_SIZE,  /* answer with 4 bytes more than it should */
	VUB_FAULT_SHORT,     /* half an answer, then close */
	VUB_FAULT_HANG,      /* never answer anything again */
	VUB_FAULT_LATE,      /* answer after delay_ms */
	VUB_FAULT_NACK,      /* answer "failed" (ack 1, empty GET_CONFIG) */
};

static const char *const vub_fault_names[] = {
	[VUB_FAULT_NONE] = "none", [VUB_FAULT_CLOSE] = "close",
	[VUB_FAULT_BAD_ID] = "bad-id", [VUB_FAULT_BAD_FLAGS] = "bad-flags",
	[VUB_FAULT_BAD_SIZE] = "bad-size", [VUB_FAULT_SHORT] = "short",
	[VUB_FAULT_HANG] = "hang", [VUB_FAULT_LATE] = "late",
	[VUB_FAULT_NACK] = "nack",
};

/* Where something happens: the Nth message overall, or the Kth message
 * with a given request id. */
struct vub_when {
	int index;          /* 1-based, 0 = unused */
	uint32_t request;   /* 0 = unused */
	int occurrence;     /* 1-based */
};

/* --device=NAME: which virtio device the back-end plays (see
 * vub_device_types below). NONE is the protocol-only test back-end. */
enum vub_device {
	VUB_DEV_NONE,
	VUB_DEV_RNG,
	VUB_DEV_GPIO,
	VUB_DEV_I2C,
	VUB_DEV_SCMI,
	VUB_DEV_INPUT,
	VUB_DEV_SND,
	VUB_DEV_SPI,
	VUB_DEV_VSOCK,
	VUB_DEV_SCSI,
	VUB_DEV_COUNT,
};

struct vub_config {
	uint64_t features;
	uint64_t protocol_features;
	uint64_t queue_num;
	uint64_t mem_slots;
	uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
	uint32_t config_len;
	uint32_t vring_advance;  /* GET_VRING_BASE answers base + this */
	enum vub_fault_kind fault;
	struct vub_when fault_at;
	int delay_ms;
	struct vub_when config_change_at;
	FILE *log;
	enum vub_device device;
	uint64_t guest_cid;      /* vsock: the config's guest_cid */
};

#define VUB_MAX_REGIONS 16
#define VUB_MAX_VQS 256

struct vub_region {
	uint64_t gpa, size, uaddr, offset;
	void *map;
};

struct vub_vq {
	uint32_t num, base;
	bool enabled;
	int kick, call, err;
	uint64_t desc, avail, used; /* guest-physical */
	/* Device modes: the ring as the back-end serves it. */
	uint16_t last_avail;  /* next available entry to take (GET_VRING_BASE) */
	uint16_t used_idx;    /* our used->idx */
	bool started;         /* SET_VRING_KICK with an fd, until GET_VRING_BASE */
	bool sync_used;       /* read used->idx before the next request */
	bool broken;          /* the driver broke the ring: served no more */
	bool call_pending;    /* a notification was due before there was a call fd */
	uint64_t kicks, requests, bytes, calls;
};

#define VUB_GPIO_LINES 8

struct vub {
	struct vub_config cfg;
	int fd;
	int nmsgs;
	int counts[VHOST_USER_MAX_REQUEST + 1];
	uint64_t acked_features, acked_protocol;
	bool protocol_set;
	uint8_t status;
	int nregions;
	struct vub_region regions[VUB_MAX_REGIONS];
	struct vub_vq vq[VUB_MAX_VQS];
	int req_fd;
	bool awaiting_req_reply;
	bool hung;
	/* Device state: virtio-input's selector, the mock GPIO lines. */
	uint8_t input_select, input_subsel;
	uint8_t gpio_dir[VUB_GPIO_LINES], gpio_val[VUB_GPIO_LINES];
	bool rng_readable_logged;
};

VUB_API void vub_config_defaults(struct vub_config *c)
{
	memset(c, 0, sizeof(*c));
	/* VERSION_1 | PROTOCOL_FEATURES | EVENT_IDX */
	c->features = (1ULL << 32) | (1ULL << 30) | (1ULL << 29);
	c->protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
			       (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			       (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
			       (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |
			       (1ULL << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
			       (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
			       (1ULL << VHOST_USER_PROTOCOL_F_STATUS);
	c->queue_num = 2;
	c->mem_slots = 32;
	c->log = stdout;
}

__attribute__((format(printf, 2, 3)))
VUB_API void vub_log(struct vub *b, const char *fmt, ...)
{
	va_list ap;

	if (!b->cfg.log)
		return;
	va_start(ap, fmt);
	vfprintf(b->cfg.log, fmt, ap);
	va_end(ap);
	fputc('\n', b->cfg.log);
	/* A test reads the file after killing us, if it comes to that. */
	fflush(b->cfg.log);
}

VUB_API const char *vub_name(uint32_t request)
{
	const char *n = vhost_user_request_name(request);

	return n ? n : "UNKNOWN";
}

VUB_API void vub_close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Blocking read of exactly len bytes; fds collected as they come.
 * 0 = done, 1 = EOF, -1 = error. */
VUB_API int vub_read(int fd, void *buf, size_t len, int *fds, int *nfds)
{
	size_t got = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? 1 : -1;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t i, cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (i = 0; i < cnt; i++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fds && *nfds < VHOST_USER_MAX_FDS)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
		if (n == 0)
			return 1;
		got += (size_t)n;
	}
	return 0;
}

VUB_API int vub_write(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

VUB_API int vub_send(int fd, const struct vhost_user_msg *m)
{
	if (vub_write(fd, &m->hdr, VHOST_USER_HDR_SIZE) < 0)
		return -1;
	return m->hdr.size ? vub_write(fd, &m->payload, m->hdr.size) : 0;
}

VUB_API bool vub_match(const struct vub_when *w, int index, uint32_t request, int occ)
{
	if (w->index)
		return w->index == index;
	return w->request && w->request == request && w->occurrence == occ;
}

VUB_API struct vub_region *vub_find_uaddr(struct vub *b, uint64_t uaddr, uint64_t len)
{
	int i;

	for (i = 0; i < b->nregions; i++) {
		struct vub_region *r = &b->regions[i];

		if (uaddr >= r->uaddr && uaddr - r->uaddr < r->size &&
		    len <= r->size - (uaddr - r->uaddr))
			return r;
	}
	return NULL;
}

VUB_API void vub_unmap(struct vub_region *r)
{
	if (r->map && r->map != MAP_FAILED)
		munmap(r->map, r->size);
	r->map = NULL;
}

/* Maps a region the way libvhost-user does and reads its first word. */
VUB_API int vub_map(struct vub *b, const struct vhost_user_mem_region *m, int fd,
		   const char *what, int i)
{
	struct vub_region *r;
	uint64_t probe;

	if (b->nregions == VUB_MAX_REGIONS) {
		vub_log(b, "VIOLATION %s: more than %d regions", what, VUB_MAX_REGIONS);
		return -1;
	}
	r = &b->regions[b->nregions];
	*r = (struct vub_region){ m->guest_phys_addr, m->memory_size, m->userspace_addr,
				  m->mmap_offset, NULL };
	r->map = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, r->offset);
	if (r->map == MAP_FAILED) {
		vub_log(b, "VIOLATION %s region %d: mmap failed: %s", what, i, strerror(errno));
		r->map = NULL;
		return -1;
	}
	memcpy(&probe, r->map, sizeof(probe));
	b->nregions++;
	vub_log(b, "  region %d gpa=0x%" PRIx64 " size=0x%" PRIx64 " offset=0x%" PRIx64
		" probe=0x%" PRIx64, i, r->gpa, r->size, r->offset, probe);
	return 0;
}

VUB_API uint64_t vub_uaddr_to_gpa(struct vub *b, uint64_t uaddr, bool *ok)
{
	struct vub_region *r = vub_find_uaddr(b, uaddr, 1);

	*ok = r != NULL;
	return r ? r->gpa + (uaddr - r->uaddr) : 0;
}

/* ---- Device modes: the virtio devices behind QEMU's vhost-user-*-pci ----
 *
 * With --device=NAME the back-end offers what rust-vmm's vhost-device-NAME
 * offers (features, protocol features, queue count, config space; see
 * vub_device_types) and, once a ring is started, serves it: it waits on the
 * kick eventfd, walks the split ring's available entries and descriptor
 * chains (indirect tables too) in the guest memory it mapped, answers each
 * request as the queue's role says, puts used entries and signals the call
 * eventfd when the driver wants it (used_event with EVENT_IDX, else
 * VRING_AVAIL_F_NO_INTERRUPT; NOTIFY_ON_EMPTY if acked). rng is real
 * (getrandom()); the others answer enough for a driver to probe and never
 * hang on us (see the roles). */

#define VUB_F_NOTIFY_ON_EMPTY 24
#define VUB_F_INDIRECT_DESC   28
#define VUB_F_EVENT_IDX       29
#define VUB_F_VERSION_1       32

#define VUB_DESC_F_NEXT     1
#define VUB_DESC_F_WRITE    2
#define VUB_DESC_F_INDIRECT 4
#define VUB_AVAIL_F_NO_INTERRUPT 1

#define VUB_MAX_IOV 1024

/* What a queue does with a request. */
enum vub_role {
	VUB_ROLE_HOLD,        /* the device's own events (eventq, rx): never completed */
	VUB_ROLE_RNG,         /* fill every writable byte from getrandom() */
	VUB_ROLE_SINK,        /* take what the driver sends, write nothing */
	VUB_ROLE_ZERO,        /* zero the writable part: "OK" for virtio-scsi's controlq */
	VUB_ROLE_STATUS_LAST, /* zero, then the type's status in the last writable byte */
	VUB_ROLE_GPIO,        /* virtio-gpio requests on a mock of VUB_GPIO_LINES lines */
	VUB_ROLE_SND_CTL,     /* virtio-snd control: VIRTIO_SND_S_NOT_SUPP */
	VUB_ROLE_SND_PCM,     /* virtio-snd xfer: VIRTIO_SND_S_IO_ERR in the pcm status */
	VUB_ROLE_SCSI_CMD,    /* virtio-scsi request: VIRTIO_SCSI_S_BAD_TARGET (empty bus) */
};

static const char *const vub_role_names[] = {
	[VUB_ROLE_HOLD] = "hold", [VUB_ROLE_RNG] = "rng", [VUB_ROLE_SINK] = "sink",
	[VUB_ROLE_ZERO] = "zero", [VUB_ROLE_STATUS_LAST] = "status", [VUB_ROLE_GPIO] = "gpio",
	[VUB_ROLE_SND_CTL] = "snd-ctl", [VUB_ROLE_SND_PCM] = "snd-pcm",
	[VUB_ROLE_SCSI_CMD] = "scsi-cmd",
};

#define VUB_PF(f) (1ULL << VHOST_USER_PROTOCOL_F_##f)
/* VERSION_1 | PROTOCOL_FEATURES | EVENT_IDX | INDIRECT_DESC | NOTIFY_ON_EMPTY:
 * "the current libvhost defaults except VHOST_F_LOG_ALL", as the rust
 * back-ends say. */
#define VUB_LIBVHOST_FEATURES 0x171000000ULL

struct vub_device_type {
	const char *name;          /* --device=NAME */
	const char *qemu;          /* the -device it is the back-end of */
	uint32_t virtio_id;
	uint64_t features, protocol_features;
	uint32_t queues;           /* GET_QUEUE_NUM */
	enum vub_role roles[4];    /* per queue; later queues take the last one */
	uint8_t status;            /* VUB_ROLE_STATUS_LAST's byte */
};

/* Features, protocol features and queue counts as rust-vmm/vhost-device's
 * back-ends answer them (vhost-device-NAME/src/vhu_NAME.rs, or
 * vhost-device-sound/src/device.rs): */
static const struct vub_device_type vub_device_types[VUB_DEV_COUNT] = {
	[VUB_DEV_NONE] = { "none", "(protocol only)", 0, 0, 0, 0, { VUB_ROLE_HOLD }, 0 },
	[VUB_DEV_RNG] = { "rng", "vhost-user-rng-pci", 4, VUB_LIBVHOST_FEATURES, VUB_PF(MQ), 1,
			  { VUB_ROLE_RNG }, 0 },
	/* VIRTIO_GPIO_F_IRQ; requestq, eventq (irq: held until a line fires) */
	[VUB_DEV_GPIO] = { "gpio", "vhost-user-gpio-pci", 41, VUB_LIBVHOST_FEATURES | 1,
			   VUB_PF(MQ) | VUB_PF(CONFIG) | VUB_PF(REPLY_ACK), 2,
			   { VUB_ROLE_GPIO, VUB_ROLE_HOLD }, 0 },
	/* VIRTIO_I2C_F_ZERO_LENGTH_REQUEST; no bus behind: VIRTIO_I2C_MSG_ERR */
	[VUB_DEV_I2C] = { "i2c", "vhost-user-i2c-pci", 34, VUB_LIBVHOST_FEATURES | 1, VUB_PF(MQ), 1,
			  { VUB_ROLE_STATUS_LAST }, 1 },
	/* VIRTIO_SCMI_F_P2A_CHANNELS; cmdq, eventq */
	[VUB_DEV_SCMI] = { "scmi", "vhost-user-scmi-pci", 32, VUB_LIBVHOST_FEATURES | 1, VUB_PF(MQ), 2,
			   { VUB_ROLE_HOLD, VUB_ROLE_HOLD }, 0 },
	/* eventq (device -> driver), statusq (LEDs: taken) */
	[VUB_DEV_INPUT] = { "input", "vhost-user-input-pci", 18, 0x170000000ULL,
			    VUB_PF(MQ) | VUB_PF(CONFIG), 2, { VUB_ROLE_HOLD, VUB_ROLE_SINK }, 0 },
	/* controlq, eventq, txq, rxq */
	[VUB_DEV_SND] = { "snd", "vhost-user-snd-pci", 25, VUB_LIBVHOST_FEATURES,
			  VUB_PF(MQ) | VUB_PF(CONFIG), 4,
			  { VUB_ROLE_SND_CTL, VUB_ROLE_HOLD, VUB_ROLE_SND_PCM, VUB_ROLE_SND_PCM }, 0 },
	/* no controller behind: VIRTIO_SPI_TRANS_ERR */
	[VUB_DEV_SPI] = { "spi", "vhost-user-spi-pci", 45, VUB_LIBVHOST_FEATURES,
			  VUB_PF(MQ) | VUB_PF(CONFIG) | VUB_PF(REPLY_ACK), 1,
			  { VUB_ROLE_STATUS_LAST }, 2 },
	/* No INDIRECT_DESC. rx (held: no peer sends), tx (taken, dropped),
	 * event. vhost-device-vsock says 3 queues; the front-end (QEMU's
	 * vhost-user-vsock) hands it rx and tx only and keeps the event queue. */
	[VUB_DEV_VSOCK] = { "vsock", "vhost-user-vsock-pci", 19, 0x161000000ULL,
			    VUB_PF(MQ) | VUB_PF(CONFIG), 3,
			    { VUB_ROLE_HOLD, VUB_ROLE_SINK, VUB_ROLE_HOLD }, 0 },
	/* VIRTIO_SCSI_F_HOTPLUG; controlq, eventq, request queues (1 by
	 * default, --queues=2+N for more) */
	[VUB_DEV_SCSI] = { "scsi", "vhost-user-scsi-pci", 8, 0x170000002ULL,
			   VUB_PF(MQ) | VUB_PF(CONFIG), 3,
			   { VUB_ROLE_ZERO, VUB_ROLE_HOLD, VUB_ROLE_SCSI_CMD }, 0 },
};

VUB_API int vub_device_by_name(const char *name)
{
	int i;

	if (!strcmp(name, "sound"))
		return VUB_DEV_SND;
	for (i = 0; i < VUB_DEV_COUNT; i++)
		if (!strcmp(name, vub_device_types[i].name))
			return i;
	return -1;
}

static inline void vub_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void vub_le32(uint8_t *p, uint32_t v)
{
	vub_le16(p, (uint16_t)v);
	vub_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void vub_le64(uint8_t *p, uint64_t v)
{
	vub_le32(p, (uint32_t)v);
	vub_le32(p + 4, (uint32_t)(v >> 32));
}

/* The GPIO line names: NUL-terminated, back to back (gpio_names_size is
 * their total length), as vhost-device-gpio builds them from the chip. */
VUB_API uint32_t vub_gpio_names(uint8_t *out, uint32_t room)
{
	uint32_t n = 0;
	int i;

	for (i = 0; i < VUB_GPIO_LINES; i++) {
		char name[32];
		int len = snprintf(name, sizeof(name), "vub-gpio-%d", i) + 1;

		if (out && n + (uint32_t)len <= room)
			memcpy(out + n, name, (size_t)len);
		n += (uint32_t)len;
	}
	return n;
}

/* virtio-input's config for the current select/subsel: a keyboard (keys
 * ESC..F12, autorepeat, three LEDs, MSC_SCAN), as an evdev keyboard
 * would look through vhost-device-input. */
VUB_API void vub_input_config(struct vub *b)
{
	uint8_t *c = b->cfg.config, *u = c + 8, size = 0;
	uint8_t sel = b->input_select, sub = b->input_subsel;
	int i;

	memset(c, 0, 136);
	c[0] = sel;
	c[1] = sub;
	switch (sel) {
	case 0x01: /* VIRTIO_INPUT_CFG_ID_NAME */
		size = (uint8_t)snprintf((char *)u, 128, "vu-test-backend keyboard");
		break;
	case 0x02: /* ID_SERIAL */
		size = (uint8_t)snprintf((char *)u, 128, "vub-input-0");
		break;
	case 0x03: /* ID_DEVIDS: bustype BUS_VIRTUAL, vendor, product, version */
		vub_le16(u, 0x06);
		vub_le16(u + 2, 0x0627);
		vub_le16(u + 4, 0x0001);
		vub_le16(u + 6, 0x0001);
		size = 8;
		break;
	case 0x11: /* EV_BITS */
		if (sub == 0x01) { /* EV_KEY: KEY_ESC (1) .. KEY_F12 (88) */
			for (i = 1; i <= 88; i++)
				u[i / 8] |= (uint8_t)(1u << (i % 8));
			size = 12;
		} else if (sub == 0x04) { /* EV_MSC: MSC_SCAN */
			u[0] = 1u << 4;
			size = 1;
		} else if (sub == 0x11) { /* EV_LED: NUML CAPSL SCROLLL */
			u[0] = 0x07;
			size = 1;
		} else if (sub == 0x14) { /* EV_REP: present (size != 0) */
			size = 1;
		}
		break;
	default: /* UNSET, PROP_BITS, ABS_INFO, other EV_BITS: nothing */
		break;
	}
	c[2] = size;
}

/* Presets the configuration for a device type: what the back-end offers
 * and its config space. Options given after it override. */
VUB_API void vub_device_preset(struct vub_config *c, enum vub_device d)
{
	const struct vub_device_type *t = &vub_device_types[d];
	uint8_t *p = c->config;

	c->device = d;
	if (d == VUB_DEV_NONE)
		return;
	c->features = t->features;
	c->protocol_features = t->protocol_features;
	c->queue_num = t->queues;
	if (!c->guest_cid)
		c->guest_cid = 3;
	memset(p, 0, sizeof(c->config));
	c->config_len = 0;
	switch (d) {
	case VUB_DEV_GPIO: /* struct virtio_gpio_config */
		vub_le16(p, VUB_GPIO_LINES);
		vub_le32(p + 4, vub_gpio_names(NULL, 0));
		c->config_len = 8;
		break;
	case VUB_DEV_INPUT: /* struct virtio_input_config, select 0 */
		c->config_len = 136;
		break;
	case VUB_DEV_SND:
		/* struct virtio_snd_config {jacks, streams, chmaps, controls}, all
		 * 0: Linux's virtio_snd probes such a card without a single
		 * control request (it queries JACK/PCM/CHMAP_INFO only for
		 * nonzero counts). vhost-device-sound says 0, 2, 1, 0 and
		 * answers those queries; --config overrides. */
		c->config_len = 16;
		break;
	case VUB_DEV_SPI: /* struct virtio_spi_config, vhost-device-spi's dummy */
		p[0] = 1;                  /* cs_max_number */
		p[1] = 1;                  /* cs_change_supported */
		vub_le32(p + 8, 0xf);      /* mode_func_supported */
		vub_le32(p + 12, 10000);   /* max_freq_hz */
		c->config_len = 32;
		break;
	case VUB_DEV_VSOCK: /* struct virtio_vsock_config */
		vub_le64(p, c->guest_cid);
		c->config_len = 8;
		break;
	case VUB_DEV_SCSI: /* struct virtio_scsi_config, as vhost-device-scsi */
		vub_le32(p, t->queues - 2);  /* num_queues */
		vub_le32(p + 4, 128 - 2);    /* seg_max */
		vub_le32(p + 8, 0xffff);     /* max_sectors */
		vub_le32(p + 12, 128);       /* cmd_per_lun */
		vub_le32(p + 16, 16);        /* event_info_size */
		vub_le32(p + 20, 96);        /* sense_size */
		vub_le32(p + 24, 32);        /* cdb_size */
		vub_le16(p + 30, 255);       /* max_target (max_channel 0) */
		vub_le32(p + 32, 0x3fff);    /* max_lun */
		c->config_len = 36;
		break;
	default:
		break;
	}
}

/* The parts of the config that depend on other options. */
VUB_API void vub_device_finish_config(struct vub_config *c)
{
	if (c->device == VUB_DEV_VSOCK)
		vub_le64(c->config, c->guest_cid);
	if (c->device == VUB_DEV_SCSI && c->queue_num >= 3)
		vub_le32(c->config, (uint32_t)c->queue_num - 2);
}

/* roles[] lists the type's queues; queues past them take the last role
 * (scsi's request queues 2, 3, ...). */
VUB_API enum vub_role vub_queue_role(const struct vub *b, uint32_t idx)
{
	const struct vub_device_type *t = &vub_device_types[b->cfg.device];
	uint32_t last = t->queues > 4 ? 3 : t->queues ? t->queues - 1 : 0;

	return t->roles[idx < last ? idx : last];
}

/* The host address of [gpa, gpa + len) if one region holds it all. */
VUB_API void *vub_gpa(struct vub *b, uint64_t gpa, uint64_t len)
{
	int i;

	for (i = 0; i < b->nregions; i++) {
		struct vub_region *r = &b->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return (char *)r->map + (gpa - r->gpa);
	}
	return NULL;
}

/* One request's buffers, split where they cross a region boundary. */
struct vub_iov {
	uint8_t *p;
	uint32_t len;
	bool writable;
};

struct vub_chain {
	struct vub_iov iov[VUB_MAX_IOV];
	int n;
	uint64_t rlen, wlen;
	bool order_violation; /* a readable buffer after a writable one */
};

static int vub_chain_add(struct vub *b, struct vub_chain *ch, uint64_t gpa, uint32_t len,
			 bool writable)
{
	if (!writable && ch->wlen)
		ch->order_violation = true;
	while (len) {
		uint32_t piece = 0;
		uint8_t *p = NULL;
		int i;

		for (i = 0; i < b->nregions && !p; i++) {
			struct vub_region *r = &b->regions[i];

			if (gpa >= r->gpa && gpa - r->gpa < r->size) {
				uint64_t left = r->size - (gpa - r->gpa);

				p = (uint8_t *)r->map + (gpa - r->gpa);
				piece = left < len ? (uint32_t)left : len;
			}
		}
		if (!p || ch->n == VUB_MAX_IOV)
			return -1;
		ch->iov[ch->n++] = (struct vub_iov){ p, piece, writable };
		if (writable)
			ch->wlen += piece;
		else
			ch->rlen += piece;
		gpa += piece;
		len -= piece;
	}
	return 0;
}

/* Walks the chain from head (a direct table of vq->num entries, at most
 * one indirect table). NULL, or what is wrong with it. */
static const char *vub_walk(struct vub *b, struct vub_vq *vq, const uint8_t *table,
			    uint16_t head, struct vub_chain *ch)
{
	uint32_t size = vq->num, i = head, steps = 0;
	bool indirect = false;

	ch->n = 0;
	ch->rlen = ch->wlen = 0;
	ch->order_violation = false;
	for (;;) {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;

		if (i >= size)
			return "descriptor index out of range";
		if (++steps > size)
			return "descriptor chain loops";
		memcpy(&addr, table + 16 * i, 8);
		memcpy(&len, table + 16 * i + 8, 4);
		memcpy(&flags, table + 16 * i + 12, 2);
		memcpy(&next, table + 16 * i + 14, 2);
		if (flags & VUB_DESC_F_INDIRECT) {
			if (!(b->acked_features & (1ULL << VUB_F_INDIRECT_DESC)))
				return "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC";
			if (indirect)
				return "indirect descriptor inside an indirect table";
			if (flags & VUB_DESC_F_NEXT)
				return "indirect descriptor with VRING_DESC_F_NEXT";
			if (!len || len % 16)
				return "indirect table length not a multiple of 16";
			table = vub_gpa(b, addr, len);
			if (!table)
				return "indirect table outside guest memory";
			size = len / 16;
			i = 0;
			steps = 0;
			indirect = true;
			continue;
		}
		if (vub_chain_add(b, ch, addr, len, flags & VUB_DESC_F_WRITE) < 0)
			return "buffer outside guest memory (or too many pieces)";
		if (!(flags & VUB_DESC_F_NEXT))
			return NULL;
		i = next;
	}
}

/* Copies len bytes to the writable part at offset off; returns the bytes
 * written. */
static uint32_t vub_chain_write(struct vub_chain *ch, uint64_t off, const void *src,
				uint32_t len)
{
	const uint8_t *s = src;
	uint32_t done = 0;
	int i;

	for (i = 0; i < ch->n && done < len; i++) {
		struct vub_iov *v = &ch->iov[i];
		uint32_t n;

		if (!v->writable)
			continue;
		if (off >= v->len) {
			off -= v->len;
			continue;
		}
		n = v->len - (uint32_t)off < len - done ? v->len - (uint32_t)off : len - done;
		memcpy(v->p + off, s + done, n);
		done += n;
		off = 0;
	}
	return done;
}

/* Gathers up to len bytes of the readable part. */
static uint32_t vub_chain_read(const struct vub_chain *ch, void *dst, uint32_t len)
{
	uint8_t *d = dst;
	uint32_t done = 0;
	int i;

	for (i = 0; i < ch->n && done < len; i++) {
		const struct vub_iov *v = &ch->iov[i];
		uint32_t n;

		if (v->writable)
			continue;
		n = v->len < len - done ? v->len : len - done;
		memcpy(d + done, v->p, n);
		done += n;
	}
	return done;
}

static uint32_t vub_chain_zero(struct vub_chain *ch)
{
	int i;

	for (i = 0; i < ch->n; i++)
		if (ch->iov[i].writable)
			memset(ch->iov[i].p, 0, ch->iov[i].len);
	return (uint32_t)ch->wlen;
}

static int vub_fill_random(uint8_t *p, uint32_t len)
{
	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (uint32_t)n;
	}
	return 0;
}

/* A virtio-gpio request on the mock lines: struct virtio_gpio_request in,
 * virtio_gpio_response (or _get_names) out. */
static uint32_t vub_gpio_request(struct vub *b, struct vub_chain *ch)
{
	uint8_t req[8] = { 0 }, resp[2] = { 1, 0 }; /* VIRTIO_GPIO_STATUS_ERR */
	uint16_t type, line;
	uint32_t value;

	if (vub_chain_read(ch, req, sizeof(req)) < sizeof(req))
		return vub_chain_write(ch, 0, resp, 1);
	type = (uint16_t)(req[0] | req[1] << 8);
	line = (uint16_t)(req[2] | req[3] << 8);
	value = (uint32_t)req[4] | (uint32_t)req[5] << 8 | (uint32_t)req[6] << 16 |
		(uint32_t)req[7] << 24;
	if (type == 0x0001) { /* VIRTIO_GPIO_MSG_GET_NAMES */
		uint8_t out[1 + 32 * VUB_GPIO_LINES];
		uint32_t n = vub_gpio_names(out + 1, sizeof(out) - 1);

		out[0] = 0;
		return vub_chain_write(ch, 0, out, 1 + n);
	}
	if (line < VUB_GPIO_LINES) {
		resp[0] = 0; /* VIRTIO_GPIO_STATUS_OK */
		switch (type) {
		case 0x0002: /* GET_DIRECTION */
			resp[1] = b->gpio_dir[line];
			break;
		case 0x0003: /* SET_DIRECTION: NONE 0, OUT 1, IN 2 */
			if (value <= 2)
				b->gpio_dir[line] = (uint8_t)value;
			else
				resp[0] = 1;
			break;
		case 0x0004: /* GET_VALUE */
			resp[1] = b->gpio_val[line];
			break;
		case 0x0005: /* SET_VALUE */
			b->gpio_val[line] = value & 1;
			break;
		case 0x0006: /* SET_IRQ_TYPE */
			break;
		default:
			resp[0] = 1;
			break;
		}
	}
	return vub_chain_write(ch, 0, resp, sizeof(resp));
}

/* Serves one request; returns the used length. */
static uint32_t vub_serve_request(struct vub *b, uint32_t idx, enum vub_role role,
				  struct vub_chain *ch)
{
	uint8_t v[4];
	uint32_t len = 0;
	int i;

	switch (role) {
	case VUB_ROLE_RNG:
		if (ch->rlen && !b->rng_readable_logged) {
			vub_log(b, "VIOLATION queue %u: an rng request with %" PRIu64
				" device-readable bytes (ignored)", idx, ch->rlen);
			b->rng_readable_logged = true;
		}
		for (i = 0; i < ch->n; i++) {
			if (!ch->iov[i].writable)
				continue;
			if (vub_fill_random(ch->iov[i].p, ch->iov[i].len) < 0) {
				vub_log(b, "getrandom failed: %s", strerror(errno));
				break;
			}
			len += ch->iov[i].len;
		}
		return len;
	case VUB_ROLE_ZERO:
		return vub_chain_zero(ch);
	case VUB_ROLE_STATUS_LAST:
		len = vub_chain_zero(ch);
		if (len)
			vub_chain_write(ch, len - 1, &vub_device_types[b->cfg.device].status, 1);
		return len;
	case VUB_ROLE_GPIO:
		return vub_gpio_request(b, ch);
	case VUB_ROLE_SND_CTL: /* struct virtio_snd_hdr */
		vub_chain_zero(ch);
		vub_le32(v, 0x8002); /* VIRTIO_SND_S_NOT_SUPP */
		return vub_chain_write(ch, 0, v, 4);
	case VUB_ROLE_SND_PCM: /* struct virtio_snd_pcm_status ends the chain */
		len = vub_chain_zero(ch);
		vub_le32(v, 0x8003); /* VIRTIO_SND_S_IO_ERR */
		if (len >= 8)
			vub_chain_write(ch, len - 8, v, 4);
		return len;
	case VUB_ROLE_SCSI_CMD: { /* struct virtio_scsi_cmd_resp: response at 11 */
		uint8_t bad_target = 3; /* VIRTIO_SCSI_S_BAD_TARGET */

		len = vub_chain_zero(ch);
		vub_chain_write(ch, 11, &bad_target, 1);
		return len;
	}
	case VUB_ROLE_SINK:
	default:
		return 0;
	}
}

/* u16 after the ring entries of avail (used_event) and used (avail_event). */
#define VUB_AVAIL_SIZE(num) (4 + 2 * (uint64_t)(num) + 2)
#define VUB_USED_SIZE(num)  (4 + 8 * (uint64_t)(num) + 2)

static bool vub_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

static void vub_ring_broken(struct vub *b, uint32_t idx, const char *why)
{
	vub_log(b, "VIOLATION queue %u: %s; the ring is not served any more", idx, why);
	b->vq[idx].broken = true;
}

VUB_API bool vub_ring_live(const struct vub *b, uint32_t idx)
{
	const struct vub_vq *vq = &b->vq[idx];
	bool enabled = vq->enabled || !(b->acked_features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES));

	return b->cfg.device != VUB_DEV_NONE && vq->started && enabled && !vq->broken && vq->num;
}

/* Serves every available request of ring idx, then signals the call fd
 * if the driver asked for it. */
VUB_API void vub_process_ring(struct vub *b, uint32_t idx)
{
	static struct vub_chain ch;
	struct vub_vq *vq = &b->vq[idx];
	enum vub_role role = vub_queue_role(b, idx);
	bool event_idx = b->acked_features & (1ULL << VUB_F_EVENT_IDX);
	uint16_t *avail_idx, *used_idx, *used_event, *avail_event, old_used, avail_now;
	uint8_t *avail, *used, *desc;
	bool notify;

	if (!vub_ring_live(b, idx) || role == VUB_ROLE_HOLD)
		return;
	if (vq->num > 32768 || (vq->num & (vq->num - 1))) {
		vub_ring_broken(b, idx, "queue size is not a power of 2 up to 32768");
		return;
	}
	desc = vub_gpa(b, vq->desc, 16 * (uint64_t)vq->num);
	avail = vub_gpa(b, vq->avail, VUB_AVAIL_SIZE(vq->num));
	used = vub_gpa(b, vq->used, VUB_USED_SIZE(vq->num));
	if (!desc || !avail || !used) {
		vub_ring_broken(b, idx, "a ring is outside the guest memory");
		return;
	}
	avail_idx = (uint16_t *)(avail + 2);
	used_event = (uint16_t *)(avail + 4 + 2 * vq->num);
	used_idx = (uint16_t *)(used + 2);
	avail_event = (uint16_t *)(used + 4 + 8 * vq->num);
	if (vq->sync_used) {
		vq->used_idx = __atomic_load_n(used_idx, __ATOMIC_ACQUIRE);
		vq->sync_used = false;
		if (vq->used_idx != vq->last_avail)
			vub_log(b, "queue %u: used idx %u, vring base %u: %u requests were in flight",
				idx, vq->used_idx, vq->last_avail,
				(uint16_t)(vq->last_avail - vq->used_idx));
	}
	old_used = vq->used_idx;
	for (;;) {
		avail_now = __atomic_load_n(avail_idx, __ATOMIC_ACQUIRE);
		if ((uint16_t)(avail_now - vq->last_avail) > vq->num) {
			char why[96];

			snprintf(why, sizeof(why), "avail idx %u is %u entries past %u (size %u)",
				 avail_now, (uint16_t)(avail_now - vq->last_avail), vq->last_avail,
				 vq->num);
			vub_ring_broken(b, idx, why);
			break;
		}
		while (vq->last_avail != avail_now) {
			uint16_t head;
			uint32_t len;
			const char *why;
			uint8_t *elem;

			memcpy(&head, avail + 4 + 2 * (vq->last_avail % vq->num), 2);
			why = vub_walk(b, vq, desc, head, &ch);
			if (why) {
				vub_ring_broken(b, idx, why);
				break;
			}
			if (ch.order_violation)
				vub_log(b, "VIOLATION queue %u head %u: a readable descriptor after a writable one",
					idx, head);
			if (!vq->requests)
				vub_log(b, "FIRST REQUEST queue=%u head=%u pieces=%d readable=%" PRIu64
					" writable=%" PRIu64, idx, head, ch.n, ch.rlen, ch.wlen);
			len = vub_serve_request(b, idx, role, &ch);
			elem = used + 4 + 8 * (vq->used_idx % vq->num);
			{
				uint32_t id = head;

				memcpy(elem, &id, 4);
				memcpy(elem + 4, &len, 4);
			}
			vq->used_idx++;
			vq->last_avail++;
			vq->requests++;
			vq->bytes += len;
		}
		if (vq->broken || !event_idx)
			break;
		/* Kick us for the next entry; then look again, in case the
		 * driver added one before it could see that. */
		__atomic_store_n(avail_event, vq->last_avail, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(avail_idx, __ATOMIC_ACQUIRE) == vq->last_avail)
			break;
	}
	if (vq->used_idx == old_used)
		return;
	__atomic_store_n(used_idx, vq->used_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (event_idx) {
		notify = vub_need_event(__atomic_load_n(used_event, __ATOMIC_RELAXED), vq->used_idx,
					old_used);
	} else {
		uint16_t flags;

		memcpy(&flags, avail, 2);
		notify = !(flags & VUB_AVAIL_F_NO_INTERRUPT);
		if ((b->acked_features & (1ULL << VUB_F_NOTIFY_ON_EMPTY)) &&
		    __atomic_load_n(avail_idx, __ATOMIC_ACQUIRE) == vq->last_avail)
			notify = true;
	}
	if (notify && vq->call < 0)
		vq->call_pending = true;
	if (notify && vq->call >= 0) {
		uint64_t one = 1;

		if (write(vq->call, &one, sizeof(one)) != sizeof(one))
			vub_log(b, "queue %u: call fd write failed: %s", idx, strerror(errno));
		vq->calls++;
	}
}

/* The ring starts (SET_VRING_KICK) or is enabled: serve what is there. */
static void vub_ring_start(struct vub *b, uint32_t idx)
{
	struct vub_vq *vq = &b->vq[idx];

	if (!vub_ring_live(b, idx))
		return;
	vub_log(b, "RING START index=%u num=%u base=%u role=%s event_idx=%d indirect=%d", idx,
		vq->num, vq->last_avail, vub_role_names[vub_queue_role(b, idx)],
		!!(b->acked_features & (1ULL << VUB_F_EVENT_IDX)),
		!!(b->acked_features & (1ULL << VUB_F_INDIRECT_DESC)));
	vub_process_ring(b, idx);
}

static void vub_ring_stats(struct vub *b, uint32_t idx, const char *what)
{
	struct vub_vq *vq = &b->vq[idx];

	vub_log(b, "%s index=%u kicks=%" PRIu64 " requests=%" PRIu64 " bytes=%" PRIu64
		" calls=%" PRIu64 "%s", what, idx, vq->kicks, vq->requests, vq->bytes, vq->calls,
		vq->broken ? " broken" : "");
}

/* A kick: drain the eventfd, serve the ring. */
static void vub_kick(struct vub *b, uint32_t idx)
{
	uint64_t n;

	if (read(b->vq[idx].kick, &n, sizeof(n)) != sizeof(n))
		return;
	if (!b->vq[idx].kicks++)
		vub_log(b, "KICK index=%u (first; role %s)", idx,
			vub_role_names[vub_queue_role(b, idx)]);
	vub_process_ring(b, idx);
}

/* How many fds a well-formed request carries. */
VUB_API int vub_expected_fds(const struct vhost_user_msg *m)
{
	switch (m->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		return (int)m->payload.memory.nregions;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_SET_BACKEND_REQ_FD:
		return 1;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return m->payload.u64 & VHOST_USER_VRING_NOFD_MASK ? 0 : 1;
	default:
		return 0;
	}
}

VUB_API void vub_reply_u64(struct vub *b, const struct vhost_user_msg *req, uint64_t v)
{
	struct vhost_user_msg r;

	memset(&r, 0, sizeof(r));
	r.hdr.request = req->hdr.request;
	r.hdr.flags = VHOST_USER_REPLY_FLAGS;
	r.hdr.size = sizeof(uint64_t);
	r.payload.u64 = v;
	vub_send(b->fd, &r);
}

/* Sends CONFIG_CHANGE_MSG on the back-end channel. With REPLY_ACK it asks
 * for an answer but does not block on it: the front-end may well re-read
 * the config over the main socket first (QEMU's vhost-user-blk does), so
 * the answer is picked up by the main loop. */
VUB_API void vub_send_config_change(struct vub *b)
{
	struct vhost_user_msg m;
	bool need_reply = b->acked_protocol & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);

	if (b->req_fd < 0) {
		vub_log(b, "BACKEND_REQ CONFIG_CHANGE_MSG not sent: no channel");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.request = VHOST_USER_BACKEND_CONFIG_CHANGE_MSG;
	m.hdr.flags = VHOST_USER_VERSION | (need_reply ? VHOST_USER_NEED_REPLY_MASK : 0);
	if (vub_send(b->req_fd, &m) < 0) {
		vub_log(b, "BACKEND_REQ CONFIG_CHANGE_MSG send failed: %s", strerror(errno));
		return;
	}
	vub_log(b, "BACKEND_REQ CONFIG_CHANGE_MSG sent%s", need_reply ? " need_reply" : "");
	b->awaiting_req_reply = need_reply;
}

VUB_API void vub_read_req_reply(struct vub *b)
{
	struct vhost_user_msg r;

	b->awaiting_req_reply = false;
	memset(&r, 0, sizeof(r));
	if (vub_read(b->req_fd, &r.hdr, VHOST_USER_HDR_SIZE, NULL, NULL) || r.hdr.size != 8 ||
	    vub_read(b->req_fd, &r.payload, 8, NULL, NULL)) {
		vub_log(b, "BACKEND_REQ reply: malformed or missing");
		return;
	}
	vub_log(b, "BACKEND_REQ reply request=%u flags=0x%x ack=%" PRIu64, r.hdr.request,
		r.hdr.flags, r.payload.u64);
}

/* Normal processing of one request; returns false to end the session. */
VUB_API bool vub_handle(struct vub *b, struct vhost_user_msg *m, int *fds, int nfds,
		       bool nack)
{
	union vhost_user_payload *p = &m->payload;
	bool need_reply = m->hdr.flags & VHOST_USER_NEED_REPLY_MASK;
	struct vhost_user_msg r;
	bool ok = true, replied = false, okaddr[3];
	uint32_t idx;
	int i;

	memset(&r, 0, sizeof(r));
	r.hdr.request = m->hdr.request;
	r.hdr.flags = VHOST_USER_REPLY_FLAGS;

	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		vub_log(b, "GET_FEATURES");
		r.hdr.size = 8;
		r.payload.u64 = b->cfg.features;
		break;
	case VHOST_USER_SET_FEATURES:
		vub_log(b, "SET_FEATURES features=0x%" PRIx64 "%s", p->u64,
			need_reply ? " need_reply" : "");
		if (p->u64 & ~b->cfg.features)
			vub_log(b, "VIOLATION SET_FEATURES acks 0x%" PRIx64 " not offered",
				p->u64 & ~b->cfg.features);
		if ((b->cfg.features & (1ULL << 30)) && !(p->u64 & (1ULL << 30)))
			vub_log(b, "VIOLATION SET_FEATURES without PROTOCOL_FEATURES");
		b->acked_features = p->u64;
		break;
	case VHOST_USER_SET_OWNER:
		vub_log(b, "SET_OWNER");
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		vub_log(b, "GET_PROTOCOL_FEATURES");
		r.hdr.size = 8;
		r.payload.u64 = b->cfg.protocol_features;
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		vub_log(b, "SET_PROTOCOL_FEATURES features=0x%" PRIx64, p->u64);
		if (p->u64 & ~b->cfg.protocol_features)
			vub_log(b, "VIOLATION SET_PROTOCOL_FEATURES acks 0x%" PRIx64 " not offered",
				p->u64 & ~b->cfg.protocol_features);
		b->acked_protocol = p->u64;
		b->protocol_set = true;
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		vub_log(b, "GET_QUEUE_NUM");
		r.hdr.size = 8;
		r.payload.u64 = b->cfg.queue_num;
		break;
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		vub_log(b, "GET_MAX_MEM_SLOTS");
		r.hdr.size = 8;
		r.payload.u64 = b->cfg.mem_slots;
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		vub_log(b, "SET_BACKEND_REQ_FD%s", need_reply ? " need_reply" : "");
		if (nfds == 1) {
			if (b->req_fd >= 0)
				close(b->req_fd);
			b->req_fd = fds[0];
			fds[0] = -1;
		}
		break;
	case VHOST_USER_SET_MEM_TABLE:
		vub_log(b, "SET_MEM_TABLE nregions=%u%s", p->memory.nregions,
			need_reply ? " need_reply" : "");
		for (i = 0; i < b->nregions; i++)
			vub_unmap(&b->regions[i]);
		b->nregions = 0;
		for (i = 0; i < (int)p->memory.nregions && i < nfds; i++)
			if (vub_map(b, &p->memory.regions[i], fds[i], "SET_MEM_TABLE", i) < 0)
				ok = false;
		break;
	case VHOST_USER_ADD_MEM_REG:
		vub_log(b, "ADD_MEM_REG%s", need_reply ? " need_reply" : "");
		if (nfds == 1 && vub_map(b, &p->mem_reg.region, fds[0], "ADD_MEM_REG",
					 b->nregions) < 0)
			ok = false;
		break;
	case VHOST_USER_REM_MEM_REG: {
		const struct vhost_user_mem_region *mr = &p->mem_reg.region;

		vub_log(b, "REM_MEM_REG gpa=0x%" PRIx64 " size=0x%" PRIx64 "%s",
			mr->guest_phys_addr, mr->memory_size, need_reply ? " need_reply" : "");
		ok = false;
		for (i = 0; i < b->nregions; i++) {
			struct vub_region *rg = &b->regions[i];

			if (rg->gpa == mr->guest_phys_addr && rg->uaddr == mr->userspace_addr &&
			    rg->size == mr->memory_size) {
				vub_unmap(rg);
				memmove(rg, rg + 1, (b->nregions - i - 1) * sizeof(*rg));
				b->nregions--;
				ok = true;
				break;
			}
		}
		if (!ok)
			vub_log(b, "VIOLATION REM_MEM_REG of a region not mapped");
		break;
	}
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
	case VHOST_USER_GET_VRING_BASE:
		idx = p->state.index;
		if (idx >= VUB_MAX_VQS) {
			vub_log(b, "VIOLATION %s index=%u", vub_name(m->hdr.request), idx);
			ok = false;
			break;
		}
		if (m->hdr.request == VHOST_USER_SET_VRING_NUM) {
			vub_log(b, "SET_VRING_NUM index=%u num=%u", idx, p->state.num);
			b->vq[idx].num = p->state.num;
		} else if (m->hdr.request == VHOST_USER_SET_VRING_BASE) {
			vub_log(b, "SET_VRING_BASE index=%u base=%u", idx, p->state.num);
			b->vq[idx].base = p->state.num;
			b->vq[idx].last_avail = (uint16_t)p->state.num;
			b->vq[idx].sync_used = true;
		} else if (m->hdr.request == VHOST_USER_SET_VRING_ENABLE) {
			vub_log(b, "SET_VRING_ENABLE index=%u enable=%u%s", idx, p->state.num,
				need_reply ? " need_reply" : "");
			if (!(b->acked_features & (1ULL << 30)) && b->acked_features)
				vub_log(b, "VIOLATION SET_VRING_ENABLE without PROTOCOL_FEATURES");
			b->vq[idx].enabled = p->state.num;
			/* Prove the call fd works: signal it once (a device
			 * signals only when it has used entries). */
			if (b->cfg.device != VUB_DEV_NONE) {
				if (p->state.num)
					vub_ring_start(b, idx);
			} else if (p->state.num && b->vq[idx].call >= 0) {
				uint64_t one = 1;

				if (write(b->vq[idx].call, &one, sizeof(one)) != sizeof(one))
					vub_log(b, "call fd %u: write failed", idx);
			}
		} else {
			vub_log(b, "GET_VRING_BASE index=%u", idx);
			if (p->state.num)
				vub_log(b, "VIOLATION GET_VRING_BASE with num=%u", p->state.num);
			r.hdr.size = sizeof(struct vhost_vring_state);
			r.payload.state.index = idx;
			/* Where to resume: the next available entry not
			 * taken (the base given, when nothing is served). */
			r.payload.state.num = (uint32_t)(b->cfg.device != VUB_DEV_NONE ?
							 b->vq[idx].last_avail : b->vq[idx].base) +
					      b->cfg.vring_advance;
			b->vq[idx].enabled = false;
			if (b->cfg.device != VUB_DEV_NONE && b->vq[idx].started)
				vub_ring_stats(b, idx, "RING STOP");
			b->vq[idx].started = false;
		}
		break;
	case VHOST_USER_SET_VRING_ADDR:
		idx = p->addr.index;
		if (idx >= VUB_MAX_VQS) {
			vub_log(b, "VIOLATION SET_VRING_ADDR index=%u", idx);
			ok = false;
			break;
		}
		b->vq[idx].desc = vub_uaddr_to_gpa(b, p->addr.desc_user_addr, &okaddr[0]);
		b->vq[idx].avail = vub_uaddr_to_gpa(b, p->addr.avail_user_addr, &okaddr[1]);
		b->vq[idx].used = vub_uaddr_to_gpa(b, p->addr.used_user_addr, &okaddr[2]);
		b->vq[idx].sync_used = true;
		vub_log(b, "SET_VRING_ADDR index=%u flags=0x%x desc=0x%" PRIx64 " avail=0x%" PRIx64
			" used=0x%" PRIx64, idx, p->addr.flags, b->vq[idx].desc,
			b->vq[idx].avail, b->vq[idx].used);
		if (!okaddr[0] || !okaddr[1] || !okaddr[2])
			vub_log(b, "VIOLATION SET_VRING_ADDR index=%u: a ring is outside the memory table",
				idx);
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR: {
		int *slot;

		idx = p->u64 & VHOST_USER_VRING_IDX_MASK;
		vub_log(b, "%s index=%u %s", vub_name(m->hdr.request), idx,
			p->u64 & VHOST_USER_VRING_NOFD_MASK ? "nofd" : "fd");
		slot = m->hdr.request == VHOST_USER_SET_VRING_KICK ? &b->vq[idx].kick :
		       m->hdr.request == VHOST_USER_SET_VRING_CALL ? &b->vq[idx].call :
								     &b->vq[idx].err;
		if (*slot >= 0)
			close(*slot);
		*slot = -1;
		if (nfds == 1) {
			*slot = fds[0];
			fds[0] = -1;
		}
		/* A new call fd (the front-end switches between its own
		 * notifier while the guest masks the vector and the irqfd):
		 * signal it once, as libvhost-user does, so that a used entry
		 * put while the old one was being replaced is never missed.
		 * The driver takes a spurious interrupt for nothing new. */
		if (m->hdr.request == VHOST_USER_SET_VRING_CALL && *slot >= 0 &&
		    b->cfg.device != VUB_DEV_NONE &&
		    (b->vq[idx].call_pending || b->vq[idx].requests)) {
			uint64_t one = 1;

			b->vq[idx].call_pending = false;
			if (write(*slot, &one, sizeof(one)) == sizeof(one))
				b->vq[idx].calls++;
		}
		if (m->hdr.request == VHOST_USER_SET_VRING_KICK && idx < VUB_MAX_VQS) {
			/* The ring starts (and a kick fd ends polling mode). */
			b->vq[idx].started = *slot >= 0;
			b->vq[idx].broken = false;
			b->vq[idx].sync_used = true;
			if (b->cfg.device != VUB_DEV_NONE && *slot < 0)
				vub_log(b, "queue %u: kick without an fd (polling) is not served", idx);
			vub_ring_start(b, idx);
		}
		break;
	}
	case VHOST_USER_GET_CONFIG:
		vub_log(b, "GET_CONFIG offset=%u size=%u", p->config.offset, p->config.size);
		r.hdr.size = m->hdr.size;
		r.payload.config = p->config;
		if (p->config.size > VHOST_USER_MAX_CONFIG_SIZE ||
		    m->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + p->config.size ||
		    p->config.offset > b->cfg.config_len ||
		    p->config.size > b->cfg.config_len - p->config.offset || nack)
			r.hdr.size = 0; /* the spec's way to say "failed" */
		else
			memcpy(r.payload.config.region, b->cfg.config + p->config.offset,
			       p->config.size);
		replied = true;
		vub_send(b->fd, &r);
		break;
	case VHOST_USER_SET_CONFIG:
		vub_log(b, "SET_CONFIG offset=%u size=%u flags=%u%s", p->config.offset,
			p->config.size, p->config.flags, need_reply ? " need_reply" : "");
		if (p->config.size <= VHOST_USER_MAX_CONFIG_SIZE &&
		    p->config.offset <= b->cfg.config_len &&
		    p->config.size <= b->cfg.config_len - p->config.offset)
			memcpy(b->cfg.config + p->config.offset, p->config.region,
			       p->config.size);
		else
			ok = false;
		if (ok && b->cfg.device == VUB_DEV_INPUT) {
			/* The driver wrote select and/or subsel. */
			b->input_select = b->cfg.config[0];
			b->input_subsel = b->cfg.config[1];
			vub_input_config(b);
		}
		break;
	case VHOST_USER_SET_STATUS:
		vub_log(b, "SET_STATUS status=0x%" PRIx64, p->u64);
		b->status = (uint8_t)p->u64;
		break;
	case VHOST_USER_GET_STATUS:
		vub_log(b, "GET_STATUS");
		r.hdr.size = 8;
		r.payload.u64 = b->status;
		break;
	case VHOST_USER_RESET_DEVICE:
		vub_log(b, "RESET_DEVICE");
		b->status = 0;
		for (i = 0; i < VUB_MAX_VQS; i++)
			b->vq[i].enabled = b->vq[i].started = false;
		break;
	default:
		vub_log(b, "UNHANDLED %s (%u)", vub_name(m->hdr.request), m->hdr.request);
		ok = false;
		break;
	}
	if (replied)
		return true;
	if (r.hdr.size) {
		vub_send(b->fd, &r);
		return true;
	}
	if (need_reply) {
		if (!(b->acked_protocol & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK)))
			vub_log(b, "VIOLATION NEED_REPLY without REPLY_ACK on %s",
				vub_name(m->hdr.request));
		vub_reply_u64(b, m, ok && !nack ? 0 : 1);
	}
	return true;
}

/* Misbehaves instead of answering m. Returns false to end the session. */
VUB_API bool vub_fault(struct vub *b, const struct vhost_user_msg *m)
{
	struct vhost_user_msg r;
	/* The size a good answer would have (an ack is a u64 too). */
	uint32_t size = m->hdr.request == VHOST_USER_GET_CONFIG ? m->hdr.size : 8;

	vub_log(b, "FAULT %s at %s", vub_fault_names[b->cfg.fault], vub_name(m->hdr.request));
	memset(&r, 0, sizeof(r));
	r.hdr.request = m->hdr.request;
	r.hdr.flags = VHOST_USER_REPLY_FLAGS;
	r.hdr.size = size;
	switch (b->cfg.fault) {
	case VUB_FAULT_CLOSE:
		return false;
	case VUB_FAULT_BAD_ID:
		r.hdr.request = m->hdr.request == VHOST_USER_GET_FEATURES ?
				VHOST_USER_GET_PROTOCOL_FEATURES : VHOST_USER_GET_FEATURES;
		vub_send(b->fd, &r);
		return true;
	case VUB_FAULT_BAD_FLAGS:
		r.hdr.flags = VHOST_USER_VERSION;
		vub_send(b->fd, &r);
		return true;
	case VUB_FAULT_BAD_SIZE:
		r.hdr.size = size + 4;
		vub_send(b->fd, &r);
		return true;
	case VUB_FAULT_SHORT:
		vub_write(b->fd, &r.hdr, VHOST_USER_HDR_SIZE);
		vub_write(b->fd, &r.payload, size / 2);
		return false;
	case VUB_FAULT_HANG:
		b->hung = true;
		return true;
	default:
		return true;
	}
}

/* Serves one connection until the front-end closes it (0) or a fault
 * ends it (1). Takes ownership of fd. */
VUB_API int vub_serve(struct vub *b, int fd)
{
	int i, ret = 0;

	b->fd = fd;
	b->req_fd = -1;
	b->awaiting_req_reply = false;
	/* The mock GPIO lines start as inputs, at 0. */
	memset(b->gpio_dir, 2, sizeof(b->gpio_dir));
	memset(b->gpio_val, 0, sizeof(b->gpio_val));
	for (i = 0; i < VUB_MAX_VQS; i++)
		b->vq[i].kick = b->vq[i].call = b->vq[i].err = -1;

	for (;;) {
		struct vhost_user_msg m;
		int fds[VHOST_USER_MAX_FDS], nfds = 0, r, occ, np = 2, k;
		uint32_t req;
		bool fault, nack = false;
		static struct pollfd p[2 + VUB_MAX_VQS];
		static uint32_t ring_of[2 + VUB_MAX_VQS];

		p[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = b->awaiting_req_reply ? b->req_fd : -1,
					.events = POLLIN };
		/* Device modes: the kicks of the started rings too. */
		for (i = 0; b->cfg.device != VUB_DEV_NONE && i < VUB_MAX_VQS; i++) {
			if (!b->vq[i].started || b->vq[i].kick < 0)
				continue;
			ring_of[np] = (uint32_t)i;
			p[np++] = (struct pollfd){ .fd = b->vq[i].kick, .events = POLLIN };
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (b->awaiting_req_reply && p[1].revents)
			vub_read_req_reply(b);
		for (k = 2; k < np; k++)
			if (p[k].revents && b->vq[ring_of[k]].kick == p[k].fd)
				vub_kick(b, ring_of[k]);
		if (!p[0].revents)
			continue;
		memset(&m, 0, sizeof(m));
		r = vub_read(fd, &m.hdr, VHOST_USER_HDR_SIZE, fds, &nfds);
		if (r) {
			vub_close_fds(fds, nfds);
			vub_log(b, r > 0 ? "EOF" : "READ ERROR");
			break;
		}
		req = m.hdr.request;
		if (!vhost_user_request_size_ok(req, m.hdr.size) ||
		    m.hdr.size > VHOST_USER_PAYLOAD_MAX) {
			vub_log(b, "VIOLATION %s (%u) with size %u", vub_name(req), req, m.hdr.size);
			vub_close_fds(fds, nfds);
			ret = 1;
			break;
		}
		if (m.hdr.size && vub_read(fd, &m.payload, m.hdr.size, fds, &nfds)) {
			vub_close_fds(fds, nfds);
			vub_log(b, "EOF in payload");
			break;
		}
		b->nmsgs++;
		occ = req <= VHOST_USER_MAX_REQUEST ? ++b->counts[req] : 0;
		if (b->hung) {
			vub_log(b, "IGNORED %s", vub_name(req));
			vub_close_fds(fds, nfds);
			continue;
		}
		if (m.hdr.flags != VHOST_USER_VERSION &&
		    m.hdr.flags != (VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK))
			vub_log(b, "VIOLATION %s flags=0x%x", vub_name(req), m.hdr.flags);
		if (nfds != vub_expected_fds(&m))
			vub_log(b, "VIOLATION %s carries %d fds, expected %d", vub_name(req), nfds,
				vub_expected_fds(&m));

		fault = b->cfg.fault != VUB_FAULT_NONE &&
			vub_match(&b->cfg.fault_at, b->nmsgs, req, occ);
		if (fault && b->cfg.fault == VUB_FAULT_LATE) {
			struct timespec ts = { b->cfg.delay_ms / 1000,
					       (b->cfg.delay_ms % 1000) * 1000000L };

			vub_log(b, "FAULT late %d ms at %s", b->cfg.delay_ms, vub_name(req));
			nanosleep(&ts, NULL);
			fault = false;
		}
		if (fault && b->cfg.fault == VUB_FAULT_NACK) {
			vub_log(b, "FAULT nack at %s", vub_name(req));
			nack = true;
			fault = false;
		}
		if (fault) {
			/* Record what it was, then misbehave. */
			vub_close_fds(fds, nfds);
			if (!vub_fault(b, &m)) {
				ret = 1;
				break;
			}
			continue;
		}
		vub_handle(b, &m, fds, nfds, nack);
		vub_close_fds(fds, nfds);
		if (b->cfg.config_change_at.request &&
		    vub_match(&b->cfg.config_change_at, 0, req, occ))
			vub_send_config_change(b);
	}
	for (i = 0; b->cfg.device != VUB_DEV_NONE && i < VUB_MAX_VQS; i++)
		if (b->vq[i].started || b->vq[i].kicks || b->vq[i].requests)
			vub_ring_stats(b, (uint32_t)i, "RING STATS");
	for (i = 0; i < b->nregions; i++)
		vub_unmap(&b->regions[i]);
	b->nregions = 0;
	for (i = 0; i < VUB_MAX_VQS; i++) {
		if (b->vq[i].kick >= 0)
			close(b->vq[i].kick);
		if (b->vq[i].call >= 0)
			close(b->vq[i].call);
		if (b->vq[i].err >= 0)
			close(b->vq[i].err);
		b->vq[i].kick = b->vq[i].call = b->vq[i].err = -1;
	}
	if (b->req_fd >= 0)
		close(b->req_fd);
	b->req_fd = -1;
	close(fd);
	b->fd = -1;
	return ret;
}

VUB_API uint32_t vub_request_by_name(const char *name)
{
	uint32_t i;

	for (i = 1; i <= VHOST_USER_MAX_REQUEST; i++) {
		const char *n = vhost_user_request_name(i);

		if (n && !strcmp(n, name))
			return i;
	}
	return 0;
}

/* "N" or "NAME" or "NAME#K". */
VUB_API int vub_parse_when(const char *s, struct vub_when *w)
{
	char name[64];
	const char *hash;
	char *end;
	size_t len;

	memset(w, 0, sizeof(*w));
	if (*s >= '0' && *s <= '9') {
		w->index = (int)strtol(s, &end, 10);
		return *end || w->index < 1 ? -1 : 0;
	}
	hash = strchr(s, '#');
	len = hash ? (size_t)(hash - s) : strlen(s);
	if (len >= sizeof(name))
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	w->request = vub_request_by_name(name);
	w->occurrence = hash ? (int)strtol(hash + 1, &end, 10) : 1;
	if (hash && (*end || w->occurrence < 1))
		return -1;
	return w->request ? 0 : -1;
}

/* "KIND@WHEN" */
VUB_API int vub_parse_fault(const char *s, struct vub_config *c)
{
	const char *at = strchr(s, '@');
	size_t i;

	if (!at)
		return -1;
	for (i = 1; i < sizeof(vub_fault_names) / sizeof(vub_fault_names[0]); i++) {
		if (strlen(vub_fault_names[i]) == (size_t)(at - s) &&
		    !strncmp(s, vub_fault_names[i], at - s)) {
			c->fault = (enum vub_fault_kind)i;
			return vub_parse_when(at + 1, &c->fault_at);
		}
	}
	return -1;
}

VUB_API int vub_parse_hex_bytes(const char *s, uint8_t *out, uint32_t *len)
{
	uint32_t n = 0;

	while (s[0] && s[1]) {
		unsigned v;

		if (n == VHOST_USER_MAX_CONFIG_SIZE || sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return *s ? -1 : 0;
}

#endif
