/* The vhost-user device glue without KVM: a vhost-user-fs-pci device on a
 * PCI bus, driven through its BAR as a guest driver drives it, against the
 * test back-end in a child process. What happens to the rings the VMM
 * serves itself once the back-end is gone: nothing after a reset, and a
 * guest that refills a queue as fast as it is drained cannot keep the
 * event loop busy. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "kvm/memory.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/qemu_opts.h"
#include "tests/tools/vu_harness.h"
#include "tests/unit/tap.h"
#include "devices/registry.h"
#include "devices/vhost_device.h"

#define RAM_SIZE (64ULL << 20)
#define QSIZE 64
/* Two ring sets in guest RAM: where the driver first put queue 0, and
 * where it put it after a reset. */
#define RING_A 0x100000ULL
#define RING_B 0x200000ULL
#define BUFS   0x300000ULL

struct rig {
	struct bus pio, mmio;
	struct pci_bus pbus;
	struct guest_ram ram;
	struct event_loop loop;
	struct chardev_config chr;
	struct qemu_opts opts;
	struct vhost_device d;
	struct harness h;
	char dir[32], path[64];
	uint64_t bar;
};

static void wr(struct rig *r, uint64_t off, uint64_t v, unsigned len)
{
	bus_dispatch(&r->mmio, r->bar + off, &v, len, true);
}

static uint64_t rd(struct rig *r, uint64_t off, unsigned len)
{
	uint64_t v = 0;

	bus_dispatch(&r->mmio, r->bar + off, &v, len, false);
	return v;
}

static void *gpa(struct rig *r, uint64_t a, uint64_t len)
{
	return gpa_to_hva(&r->ram, a, len);
}

/* A device of type, made from the -device string dev (NULL: fs's), against
 * the test back-end with bc (NULL: its defaults). */
static int rig_init_with(struct rig *r, const struct vhost_device_type *type, const char *dev,
			 const struct vub_config *bc_in, char *err, size_t errlen)
{
	struct ram_config rc = { .size = RAM_SIZE, .share = true };
	struct pci_bus_config pc;
	struct vhost_device_env env;
	struct vub_config bc;
	int ret;

	memset(r, 0, sizeof(*r));
	bus_init(&r->pio, "pio");
	bus_init(&r->mmio, "mmio");
	pc = (struct pci_bus_config){ .pio = &r->pio, .mmio = &r->mmio };
	pci_layout_init(&pc.layout, RAM_SIZE, 40);
	if (pci_bus_init(&r->pbus, &pc) < 0 || loop_init(&r->loop) < 0 ||
	    guest_ram_create(&r->ram, &rc, err, errlen) < 0)
		return -1;
	snprintf(r->dir, sizeof(r->dir), "/tmp/vud-test-XXXXXX");
	if (!mkdtemp(r->dir))
		return -1;
	snprintf(r->path, sizeof(r->path), "%s/fs.sock", r->dir);
	r->chr = (struct chardev_config){ .id = "c0", .path = r->path, .server = true,
					  .wait = false };
	if (qemu_opts_parse(&r->opts, dev ? dev : "vhost-user-fs-pci,chardev=c0,tag=t,queue-size=64",
			    err, errlen) < 0)
		return -1;
	if (bc_in)
		bc = *bc_in;
	else
		vub_config_defaults(&bc);
	/* The device waits for the back-end to connect to its socket. */
	if (harness_start_how(&r->h, &bc, r->path, 100) < 0)
		return -1;
	env = (struct vhost_device_env){ .ram = &r->ram, .bus = &r->pbus, .loop = &r->loop };
	ret = vhost_device_create(&r->d, type, &r->opts, &r->chr, &env, err, errlen);
	if (ret < 0)
		return ret;
	r->bar = pci_bar_addr(&r->d.vp.pci, VIRTIO_PCI_BAR);
	return 0;
}

static int rig_init(struct rig *r, const struct vhost_device_type *type, char *err,
		    size_t errlen)
{
	return rig_init_with(r, type, NULL, NULL, err, errlen);
}

static void rig_destroy(struct rig *r)
{
	vhost_device_destroy(&r->d);
	free(harness_finish(&r->h));
	unlink(r->path);
	rmdir(r->dir);
	qemu_opts_free(&r->opts);
	guest_ram_destroy(&r->ram);
	loop_destroy(&r->loop);
	pci_bus_destroy(&r->pbus);
	bus_destroy(&r->pio);
	bus_destroy(&r->mmio);
}

/* Kills the back-end and lets the event loop notice. */
static void kill_backend(struct rig *r)
{
	kill(r->h.pid, SIGKILL);
	for (int i = 0; i < 20 && !r->d.backend_lost; i++)
		loop_run_once(&r->loop, 100);
}

static void set_status(struct rig *r, uint8_t s) { wr(r, 0x14, s, 1); }
static uint8_t status(struct rig *r) { return rd(r, 0x14, 1); }

/* Negotiates VERSION_1 and sets up queue 0 with the given rings, enabled;
 * DRIVER_OK is the caller's. */
static void setup_queue0_at(struct rig *r, uint64_t desc, uint64_t avail, uint64_t used)
{
	set_status(r, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(r, 0x08, 1, 4);
	wr(r, 0x0c, 1, 4);   /* VERSION_1 */
	set_status(r, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK);
	wr(r, 0x16, 0, 2);
	wr(r, 0x18, QSIZE, 2);
	wr(r, 0x20, desc, 8);
	wr(r, 0x28, avail, 8);
	wr(r, 0x30, used, 8);
	wr(r, 0x1c, 1, 2);
}

static void setup_queue0(struct rig *r, uint64_t base)
{
	setup_queue0_at(r, base, base + 0x1000, base + 0x2000);
}

static const uint8_t driver_ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

/* Puts one FUSE-sized request (a readable and a writable buffer) into
 * slot i of the ring at base and publishes avail->idx = idx. */
static void post(struct rig *r, uint64_t base, uint16_t i, uint16_t idx)
{
	struct vring_desc *desc = gpa(r, base, 16 * QSIZE);
	uint16_t *avail = gpa(r, base + 0x1000, 4 + 2 * QSIZE);
	uint16_t d0 = (2 * i) % QSIZE;

	desc[d0] = (struct vring_desc){ BUFS + 0x1000 * d0, 40, VRING_DESC_F_NEXT, d0 + 1 };
	desc[d0 + 1] = (struct vring_desc){ BUFS + 0x1000 * (d0 + 1), 16, VRING_DESC_F_WRITE, 0 };
	avail[2 + i % QSIZE] = d0;
	__atomic_store_n(&avail[1], idx, __ATOMIC_RELEASE);
}

static uint16_t used_idx(struct rig *r, uint64_t base)
{
	return __atomic_load_n((uint16_t *)gpa(r, base + 0x2002, 2), __ATOMIC_ACQUIRE);
}

static void test_reset_stops_serving(struct tap *t)
{
	const struct vhost_device_type *fs = device_type_find("vhost-user-fs-pci");
	struct rig r;
	char err[256] = "";

	if (rig_init(&r, fs, err, sizeof(err)) < 0) {
		ok(t, 0, "device created against the test back-end: %s", err);
		rig_destroy(&r);
		return;
	}
	kill_backend(&r);
	ok(t, r.d.backend_lost, "the back-end's death is noticed by the event loop");

	/* DRIVER_OK with the back-end gone: the VMM serves ring A itself. */
	setup_queue0(&r, RING_A);
	set_status(&r, driver_ok);
	ok(t, status(&r) & VIRTIO_CONFIG_S_NEEDS_RESET, "DRIVER_OK without a back-end: NEEDS_RESET");
	post(&r, RING_A, 0, 1);
	wr(&r, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	loop_run_once(&r.loop, 100);
	ok(t, used_idx(&r, RING_A) == 1, "and the guest's request on ring A is answered (used %u)",
	   used_idx(&r, RING_A));

	/* The driver resets, and queue 0 moves to ring B: ring A is the
	 * guest's memory again, and must not be written. */
	set_status(&r, 0);
	setup_queue0(&r, RING_B);
	post(&r, RING_A, 1, 2);
	wr(&r, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	loop_run_once(&r.loop, 100);
	ok(t, used_idx(&r, RING_A) == 1 && used_idx(&r, RING_B) == 0,
	   "after a reset the old ring is left alone (used A %u, B %u)",
	   used_idx(&r, RING_A), used_idx(&r, RING_B));
	rig_destroy(&r);
}

/* A misaligned ring never reaches the VMM's own ring code (the sanitizer
 * build aborts on a misaligned uint16_t access). */
static void test_misaligned_dead_ring(struct tap *t)
{
	const struct vhost_device_type *fs = device_type_find("vhost-user-fs-pci");
	struct rig r;
	char err[256] = "";

	if (rig_init(&r, fs, err, sizeof(err)) < 0) {
		ok(t, 0, "device created against the test back-end: %s", err);
		rig_destroy(&r);
		return;
	}
	kill_backend(&r);
	setup_queue0_at(&r, RING_A, RING_A + 0x1001, RING_A + 0x2000);   /* avail at an odd address */
	set_status(&r, driver_ok);
	wr(&r, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	loop_run_once(&r.loop, 100);
	ok(t, (status(&r) & VIRTIO_CONFIG_S_NEEDS_RESET) && !r.d.failing,
	   "a misaligned available ring is refused at DRIVER_OK, not served");
	rig_destroy(&r);
}

/* A device type whose failed requests make the guest post another one at
 * once: a guest refilling the queue as fast as the VMM drains it, made
 * deterministic. It gives up after REFILL_MAX so that an unbounded drain
 * shows as a count instead of a hang. */
#define REFILL_MAX 100000

static struct rig *refill_rig;
static unsigned refill_posted, refill_answered;

static int refill_configure(struct vhost_device *d, const struct qemu_opts *opts,
			    char *err, size_t errlen)
{
	(void)opts;
	(void)err;
	(void)errlen;
	d->num_queues = 1;
	d->queue_size = QSIZE;
	return 0;
}

static uint32_t refill_fail_request(struct vhost_device *d, unsigned queue,
				    const struct vq_elem *e)
{
	(void)d;
	(void)queue;
	(void)e;
	refill_answered++;
	if (refill_posted < REFILL_MAX) {
		post(refill_rig, RING_A, refill_posted, refill_posted + 1);
		refill_posted++;
	}
	return 0;
}

/* The rig's options are fs's. */
static const char *const refill_keys[] = { "tag", "queue-size", NULL };

static const struct vhost_device_type refill_type = {
	.name = "test-refill", .virtio_id = 26, .pci_class = 0xff0000,
	.num_queues = 1, .queue_size = QSIZE, .keys = refill_keys,
	.configure = refill_configure, .fail_request = refill_fail_request,
};

static void test_drain_budget(struct tap *t)
{
	struct rig r;
	char err[256] = "";
	unsigned first;

	if (rig_init(&r, &refill_type, err, sizeof(err)) < 0) {
		ok(t, 0, "device created against the test back-end: %s", err);
		rig_destroy(&r);
		return;
	}
	setup_queue0(&r, RING_A);
	set_status(&r, driver_ok);
	ok(t, r.d.vp.started, "started against the back-end");
	kill_backend(&r);
	ok(t, r.d.failing, "the back-end dies: the VMM answers the queue itself");

	refill_rig = &r;
	for (refill_posted = 0; refill_posted < QSIZE / 2; refill_posted++)
		post(&r, RING_A, refill_posted, refill_posted + 1);
	wr(&r, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	loop_run_once(&r.loop, 100);
	first = refill_answered;
	ok(t, first == QSIZE, "one kick answers one ring's worth of requests, then returns (%u)",
	   first);
	loop_run_once(&r.loop, 100);
	ok(t, refill_answered == 2 * QSIZE,
	   "and the loop comes back for the next ring's worth without another kick (%u)",
	   refill_answered - first);
	rig_destroy(&r);
}

/* The generic device: its shape from its properties, its config from the
 * back-end, and a config change the back-end announces while the device
 * starts: acked, re-read, one config interrupt. */
static void test_generic(struct tap *t)
{
	const struct vhost_device_type *gen = device_type_find("vhost-user-device-pci");
	struct vub_config bc;
	struct rig r;
	char err[256] = "";
	uint8_t gen0;
	int ret;

	vub_config_defaults(&bc);
	bc.queue_num = 3;
	bc.config_len = 8;
	memcpy(bc.config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	bc.config_change_at = (struct vub_when){ .request = VHOST_USER_SET_VRING_KICK, .occurrence = 1 };
	ret = rig_init_with(&r, gen, "vhost-user-device-pci,chardev=c0,virtio-id=4,num_vqs=3,vq_size=32,config_size=8",
			    &bc, err, sizeof(err));
	ok(t, ret == 0, "vhost-user-device-pci,virtio-id=4,num_vqs=3,config_size=8 created (%s)",
	   ret ? err : "ok");
	if (ret < 0) {
		rig_destroy(&r);
		return;
	}
	ok(t, pci_bus_cfg_read(&r.pbus, r.d.vp.pci.devfn, 2, 2) == 0x1044 && rd(&r, 0x12, 2) == 3 &&
	   rd(&r, 0x18, 2) == 32, "PCI device 0x1044 (virtio rng), 3 queues of 32");
	ok(t, rd(&r, VIRTIO_PCI_DEVICE_OFF, 4) == 0x44332211 && rd(&r, VIRTIO_PCI_DEVICE_OFF + 4, 4) == 0x88776655,
	   "its config space is the back-end's");
	gen0 = rd(&r, 0x15, 1);
	rd(&r, VIRTIO_PCI_ISR_OFF, 1);
	setup_queue0(&r, RING_A);
	set_status(&r, driver_ok);
	/* The request is the event loop's to serve, unless it comes while
	 * one of ours waits for a reply (test_vhost_user covers that). */
	for (int i = 0; i < 10 && rd(&r, 0x15, 1) == gen0; i++)
		loop_run_once(&r.loop, 100);
	ok(t, r.d.vp.started && rd(&r, 0x15, 1) == (uint8_t)(gen0 + 1) &&
	   (rd(&r, VIRTIO_PCI_ISR_OFF, 1) & VIRTIO_PCI_ISR_CONFIG),
	   "a config change announced during start: re-read, generation +1, config interrupt (gen %u -> %u)",
	   gen0, (unsigned)rd(&r, 0x15, 1));
	set_status(&r, 0);
	ok(t, !r.d.vp.started && status(&r) == 0, "reset stops it");
	rig_destroy(&r);
}

/* What the generic device refuses, one line each, before any back-end is
 * asked anything. */
static void test_generic_refusals(struct tap *t)
{
	static const struct { const char *opts, *want; } cases[] = {
		{ "vhost-user-device-pci,chardev=c0", "virtio-id=N is required" },
		{ "vhost-user-device-pci,chardev=c0,virtio-id=999", "virtio-id must be 1..45, got '999'" },
		{ "vhost-user-device-pci,chardev=c0,virtio-id=4,num_vqs=0", "num_vqs must be 1..1023, got '0'" },
		{ "vhost-user-device-pci,chardev=c0,virtio-id=4,num_vqs=5000", "num_vqs must be 1..1023" },
		{ "vhost-user-device-pci,chardev=c0,virtio-id=4,config_size=300", "config_size must be 0..256, got '300'" },
		{ "vhost-user-device-pci,chardev=c0,virtio-id=4,vq_size=100", "vq_size must be a power of 2" },
		{ "vhost-user-device-pci,chardev=c0,virtio-id=4,bogus=1", "unknown parameter 'bogus'" },
		{ "vhost-user-rng-pci,chardev=c0,virtio-id=4", "unknown parameter 'virtio-id'" },
	};
	const struct vhost_device_env env = { 0 };
	struct vhost_device d;
	struct qemu_opts o;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		int ret = -1;

		if (qemu_opts_parse(&o, cases[i].opts, err, sizeof(err)) == 0) {
			ret = vhost_device_create(&d, device_type_find(o.type), &o, NULL, &env, err,
						  sizeof(err));
			vhost_device_destroy(&d);
			qemu_opts_free(&o);
		}
		ok(t, ret == -EINVAL && strstr(err, cases[i].want) && !strchr(err, '\n'),
		   "%s: %s", cases[i].opts, err);
	}
}

int main(void)
{
	struct tap t = TAP_INIT;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The back-end's death is logged on purpose. */
	log_set_level(LOG_ERROR);
	test_reset_stops_serving(&t);
	test_misaligned_dead_ring(&t);
	test_drain_budget(&t);
	test_generic(&t);
	test_generic_refusals(&t);
	return tap_done(&t);
}
