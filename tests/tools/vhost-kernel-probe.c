/* vhost-kernel-probe: runs this VMM's kernel vhost back-end
 * (vhost_kernel_backend_ops) against /dev/vhost-vsock with no guest and no
 * KVM, printing the ioctl trace with -v.
 *
 * Life cycle (the default): a memfd as guest RAM, vhost_dev_init() with
 * the two rings the kernel serves (0 = RX, 1 = TX; the event queue is the
 * VMM's), the guest CID, vhost_dev_start() with rings inside that memory
 * and kick/call eventfds, VHOST_VSOCK_SET_RUNNING 1; then, as a guest
 * would, one connection request on the TX ring to a host port nobody
 * listens on, which the kernel must take (TX used ring) and answer with a
 * reset on the RX ring, signalling both call eventfds; then SET_RUNNING 0,
 * vhost_dev_stop() (both rings stop at 1), vhost_dev_cleanup(). Ends with
 * "vhost-kernel-probe: ok", else exits 1 with a one-line error.
 *
 * --errors: what the kernel refuses, each check one line ("ok NAME: ERRNO:
 * message", or "UNEXPECTED ..." and exit 1): a missing device node, no
 * access to it (as nobody, if we are root), reserved CIDs, a CID another
 * fd has, a second SET_OWNER on an fd, VHOST_RESET_OWNER (which
 * vhost-vsock does not have), a ring the
 * device does not have, an ioctl from another process, the CID free again
 * once its fd is closed.
 *
 *   vhost-kernel-probe [-v] [--cid=N] [--port=N] [--queue-size=N] [DEVICE]
 *   vhost-kernel-probe --errors [-v] [--cid=N] [DEVICE]
 * DEVICE defaults to /dev/vhost-vsock.
 */
#include <endian.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vhost.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#include "vhost/vhost_dev.h"
#include "vhost/vhost_kernel.h"
#include "vhost/vhost_user_trace.h"

#define RAM_SIZE (64ULL << 20)
#define NQ 2 /* the rings of a vhost-vsock fd */
#define RX 0
#define TX 1
#define RXBUF_GPA 0x100000ULL
#define TXBUF_GPA 0x101000ULL
#define GUEST_PORT 0x4000u
#define VMADDR_CID_HOST 2

static bool verbose;
static char *ram;

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "vhost-kernel-probe: %s%s%s\n", what, *what ? ": " : "", msg);
	exit(1);
}

static bool opt(const char *arg, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) || arg[n] != '=')
		return false;
	*val = arg + n + 1;
	return true;
}

/* "EINVAL", or "accepted" for 0. */
static const char *ename(int err)
{
	const char *n = err ? strerrorname_np(err < 0 ? -err : err) : "accepted";

	return n ? n : "?";
}

/* Fake guest RAM: a shared memfd, one region at guest address 0. */
static void make_ram(struct vhost_mem_table *mem)
{
	int fd = memfd_create("vhost-kernel-probe-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)RAM_SIZE) < 0)
		die("memfd", strerror(errno));
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED)
		die("mmap", strerror(errno));
	*mem = (struct vhost_mem_table){ .nregions = 1, .shared = true };
	mem->regions[0] = (struct vhost_mem_region){
		.gpa = 0, .size = RAM_SIZE, .hva = ram, .fd = fd,
	};
}

/* Queue i's rings in the 64 KiB at (i + 1) * 64 KiB, as vu-probe lays
 * them out; every queue ready, with its own kick and call eventfd. */
static void make_vqs(struct vhost_vq_config *vqs, unsigned n, unsigned qsize)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t base = (uint64_t)(i + 1) * 0x10000;

		vqs[i] = (struct vhost_vq_config){
			.ready = true, .size = (uint16_t)qsize,
			.desc_gpa = base, .avail_gpa = base + 16 * qsize,
			.used_gpa = (base + 16 * qsize + 6 + 2 * qsize + 4095) & ~4095ULL,
			.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
			.call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		};
		if (vqs[i].kick_fd < 0 || vqs[i].call_fd < 0)
			die("eventfd", strerror(errno));
	}
}

static void close_vqs(struct vhost_vq_config *vqs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		close(vqs[i].kick_fd);
		close(vqs[i].call_fd);
	}
}

static void *gpa(uint64_t a)
{
	return ram + a;
}

/* The driver's side of a split ring: one descriptor made available. */
static void add_buf(const struct vhost_vq_config *q, uint16_t slot, uint64_t addr,
		    uint32_t len, bool device_writes)
{
	struct vring_desc *d = gpa(q->desc_gpa);
	struct vring_avail *av = gpa(q->avail_gpa);

	d[slot] = (struct vring_desc){
		.addr = htole64(addr), .len = htole32(len),
		.flags = htole16(device_writes ? VRING_DESC_F_WRITE : 0),
	};
	av->ring[le16toh(av->idx) % q->size] = htole16(slot);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	av->idx = htole16(le16toh(av->idx) + 1);
}

static uint16_t used_idx(const struct vhost_vq_config *q)
{
	const struct vring_used *u = gpa(q->used_gpa);

	return le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
}

/* Waits until the kernel has signalled the call eventfd and the used ring
 * holds want entries. */
static void await_used(const struct vhost_vq_config *q, const char *name, uint16_t want)
{
	struct pollfd p = { .fd = q->call_fd, .events = POLLIN };
	uint64_t v;
	char msg[160];

	if (poll(&p, 1, 10000) != 1 || read(q->call_fd, &v, sizeof(v)) != sizeof(v)) {
		snprintf(msg, sizeof(msg), "%s ring: no interrupt from the kernel within 10 s (used index %u)",
			 name, used_idx(q));
		die("traffic", msg);
	}
	if (used_idx(q) != want) {
		snprintf(msg, sizeof(msg), "%s ring: used index %u after the interrupt, expected %u",
			 name, used_idx(q), want);
		die("traffic", msg);
	}
}

/* A guest connecting to host port `port`: the kernel must pass the
 * request to the host's vsock core, which finds no listener and resets
 * the connection through the RX ring. This checks the memory table (the
 * buffers are guest-physical), the ring addresses, kicks and calls. */
static void traffic(const struct vhost_vq_config *vqs, uint64_t cid, uint32_t port)
{
	struct virtio_vsock_hdr h = {
		.src_cid = htole64(cid), .dst_cid = htole64(VMADDR_CID_HOST),
		.src_port = htole32(GUEST_PORT), .dst_port = htole32(port),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		.op = htole16(VIRTIO_VSOCK_OP_REQUEST),
		.buf_alloc = htole32(65536),
	};
	const struct vring_used *u = gpa(vqs[RX].used_gpa);
	uint64_t one = 1;
	uint32_t len;
	char msg[256];

	memcpy(gpa(TXBUF_GPA), &h, sizeof(h));
	add_buf(&vqs[TX], 0, TXBUF_GPA, sizeof(h), false);
	if (write(vqs[TX].kick_fd, &one, sizeof(one)) != sizeof(one))
		die("kick", strerror(errno));
	await_used(&vqs[TX], "TX", 1);
	await_used(&vqs[RX], "RX", 1);
	len = le32toh(u->ring[0].len);
	memcpy(&h, gpa(RXBUF_GPA), sizeof(h));
	printf("vhost-kernel-probe: RX: op=%u src=%" PRIu64 ":%u dst=%" PRIu64 ":%u len=%u (used len %u)\n",
	       le16toh(h.op), (uint64_t)le64toh(h.src_cid), le32toh(h.src_port),
	       (uint64_t)le64toh(h.dst_cid), le32toh(h.dst_port), le32toh(h.len), len);
	if (le16toh(h.op) != VIRTIO_VSOCK_OP_RST || le64toh(h.src_cid) != VMADDR_CID_HOST ||
	    le64toh(h.dst_cid) != cid || le32toh(h.src_port) != port ||
	    le32toh(h.dst_port) != GUEST_PORT || len < sizeof(h)) {
		snprintf(msg, sizeof(msg), "the kernel's answer is not a reset from %d:%u to %" PRIu64 ":%u",
			 VMADDR_CID_HOST, port, cid, GUEST_PORT);
		die("traffic", msg);
	}
	printf("vhost-kernel-probe: traffic: the guest's connection request to host port %u was taken from the TX ring and answered with a reset on the RX ring\n",
	       port);
}

static void open_dev(struct vhost_kernel *vk, const char *name, const char *path)
{
	vhost_kernel_init(vk, name);
	if (verbose)
		vhost_kernel_set_trace(vk, stdout);
	if (vhost_kernel_open(vk, path) < 0)
		die("", vhost_kernel_error(vk));
}

static int life_cycle(const char *path, uint64_t cid, uint32_t port, unsigned qsize,
		      bool with_traffic)
{
	static struct vhost_vq_config vqs[NQ];
	static struct vhost_dev dev;
	struct vhost_mem_table mem;
	struct vhost_kernel vk;
	char fbuf[512];
	unsigned i;

	make_ram(&mem);
	open_dev(&vk, "vsock0", path);
	if (vhost_dev_init(&dev, &vhost_kernel_backend_ops, &vk, 0, NQ, ~0ULL) < 0)
		die("init", vhost_dev_error(&dev));
	vhost_user_format_features(fbuf, sizeof(fbuf), dev.features);
	printf("vhost-kernel-probe: init done: features offered to the guest %s, memory slots %u\n",
	       fbuf, dev.mem_slots);
	if (vhost_dev_vsock_set_guest_cid(&dev, cid) < 0)
		die("guest cid", vhost_dev_error(&dev));

	make_vqs(vqs, NQ, qsize);
	/* The driver fills the RX ring before DRIVER_OK. */
	if (with_traffic)
		add_buf(&vqs[RX], 0, RXBUF_GPA, 4096, true);
	/* Everything offered is acked, VIRTIO_F_ACCESS_PLATFORM included:
	 * the back-end must keep that one from the kernel (no vIOMMU). */
	if (vhost_dev_start(&dev, dev.features, &mem, vqs) < 0)
		die("start", vhost_dev_error(&dev));
	if (vhost_dev_vsock_set_running(&dev, true) < 0)
		die("running", vhost_dev_error(&dev));
	printf("vhost-kernel-probe: started %u queues, guest cid %" PRIu64 "\n", NQ, cid);
	if (with_traffic)
		traffic(vqs, cid, port);
	if (vhost_dev_vsock_set_running(&dev, false) < 0)
		die("stopping", vhost_dev_error(&dev));
	if (vhost_dev_stop(&dev) < 0)
		die("stop", vhost_dev_error(&dev));
	for (i = 0; i < NQ; i++) {
		printf("vhost-kernel-probe: queue %u stopped at %u\n", i, vhost_dev_vring_base(&dev, i));
		if (with_traffic && vhost_dev_vring_base(&dev, i) != 1)
			die("stop", "a ring did not stop after its one buffer");
	}
	vhost_dev_cleanup(&dev);
	vhost_kernel_close(&vk);
	close_vqs(vqs, NQ);
	printf("vhost-kernel-probe: ok\n");
	return 0;
}

/* ---- --errors ---- */

static int failures;

static void check(const char *name, int got, int want, const char *msg)
{
	bool ok = got == want;

	printf("vhost-kernel-probe: %s %s: %s%s%s%s%s\n", ok ? "ok" : "UNEXPECTED", name,
	       ename(got), ok ? "" : ", expected ", ok ? "" : ename(want), got ? ": " : "",
	       got ? msg : "");
	failures += !ok;
}

/* Runs fn in a child process and returns its result and message. */
struct child_result {
	int r;
	char msg[400];
};

static void in_child(struct child_result *res, void (*fn)(struct child_result *, void *),
		     void *arg)
{
	int p[2];
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe(p) < 0)
		die("pipe", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		struct child_result c = { 0 };

		close(p[0]);
		fn(&c, arg);
		if (write(p[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], res, sizeof(*res)) != sizeof(*res)) {
		res->r = -EPIPE;
		snprintf(res->msg, sizeof(res->msg), "the child process died");
	}
	close(p[0]);
	waitpid(pid, NULL, 0);
}

static void open_as_nobody(struct child_result *c, void *arg)
{
	struct vhost_kernel vk;

	vhost_kernel_init(&vk, "vsock0");
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
		c->r = -errno;
		snprintf(c->msg, sizeof(c->msg), "cannot become nobody: %s", strerror(errno));
		return;
	}
	c->r = vhost_kernel_open(&vk, arg);
	snprintf(c->msg, sizeof(c->msg), "%s", vhost_kernel_error(&vk));
	vhost_kernel_close(&vk);
}

static void ioctl_from_child(struct child_result *c, void *arg)
{
	struct vhost_dev *dev = arg;
	unsigned base;

	c->r = dev->ops->get_vring_base(dev, 0, &base);
	snprintf(c->msg, sizeof(c->msg), "%s", dev->ops->error(dev));
}

static void init_dev(struct vhost_dev *dev, struct vhost_kernel *vk, unsigned nvqs)
{
	if (vhost_dev_init(dev, &vhost_kernel_backend_ops, vk, 0, nvqs, ~0ULL) < 0)
		die("init", vhost_dev_error(dev));
}

static int errors(const char *path, uint64_t cid)
{
	static const uint64_t bad_cids[] = { 0, 1, 2, 0xffffffffULL, 0x100000000ULL };
	static struct vhost_dev a, a2, b, c;
	static struct vhost_vq_config vqs[3];
	struct vhost_kernel vka, vkb, vkc, vkm;
	struct vhost_mem_table mem;
	struct child_result res;
	char dir[] = "/tmp/vhost-kernel-probe.XXXXXX", missing[64], name[64];
	unsigned i;
	int r;

	/* A device node that does not exist: its module is named. */
	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	snprintf(missing, sizeof(missing), "%s/vhost-vsock", dir);
	vhost_kernel_init(&vkm, "vsock0");
	if (verbose)
		vhost_kernel_set_trace(&vkm, stdout);
	r = vhost_kernel_open(&vkm, missing);
	check("missing device", r, -ENOENT, vhost_kernel_error(&vkm));
	rmdir(dir);

	/* No permission: root opens anything, so try as nobody. */
	if (geteuid() == 0) {
		in_child(&res, open_as_nobody, (void *)path);
		check("no access", res.r, -EACCES, res.msg);
	} else {
		printf("vhost-kernel-probe: skipped no access: not root\n");
	}

	make_ram(&mem);
	open_dev(&vka, "vsock0", path);
	init_dev(&a, &vka, NQ);
	for (i = 0; i < sizeof(bad_cids) / sizeof(bad_cids[0]); i++) {
		r = vhost_dev_vsock_set_guest_cid(&a, bad_cids[i]);
		snprintf(name, sizeof(name), "guest cid %" PRIu64, bad_cids[i]);
		check(name, r, -EINVAL, vhost_dev_error(&a));
	}
	r = vhost_dev_vsock_set_guest_cid(&a, cid);
	snprintf(name, sizeof(name), "guest cid %" PRIu64, cid);
	check(name, r, 0, vhost_dev_error(&a));

	open_dev(&vkb, "vsock1", path);
	init_dev(&b, &vkb, NQ);
	r = vhost_dev_vsock_set_guest_cid(&b, cid);
	check("guest cid of another fd", r, -EADDRINUSE, vhost_dev_error(&b));

	/* One owner per fd, for good. */
	r = vhost_dev_init(&a2, &vhost_kernel_backend_ops, &vka, 0, NQ, ~0ULL);
	check("second SET_OWNER", r, -EBUSY, vhost_dev_error(&a2));
	/* What QEMU's old reset_device sent. vhost-vsock has no such ioctl:
	 * an unknown one falls through to the ring ioctls, which first read a
	 * ring index from the argument - QEMU's NULL is EFAULT - and then do
	 * not know it either (ENOTTY). */
	r = ioctl(vka.fd, VHOST_RESET_OWNER, NULL) < 0 ? -errno : 0;
	check("VHOST_RESET_OWNER as QEMU sent it (no argument)", r, -EFAULT, strerror(-r));
	{
		unsigned ring0 = 0;

		r = ioctl(vka.fd, VHOST_RESET_OWNER, &ring0) < 0 ? -errno : 0;
		check("VHOST_RESET_OWNER with an argument", r, -ENOTTY, strerror(-r));
	}

	/* The fd serves two rings; a third (the event queue's index) is not
	 * the kernel's. */
	open_dev(&vkc, "vsock2", path);
	init_dev(&c, &vkc, 3);
	make_vqs(vqs, 3, 128);
	r = vhost_dev_start(&c, c.features, &mem, vqs);
	check("ring 2", r, -ENOBUFS, vhost_dev_error(&c));

	/* Only the owner's process may talk to the device. */
	in_child(&res, ioctl_from_child, &a);
	check("ioctl from another process", res.r, -EPERM, res.msg);

	/* Closing the fd frees its CID. */
	vhost_dev_cleanup(&a);
	vhost_kernel_close(&vka);
	r = vhost_dev_vsock_set_guest_cid(&b, cid);
	check("guest cid once the first fd is closed", r, 0, vhost_dev_error(&b));

	vhost_dev_cleanup(&b);
	vhost_dev_cleanup(&c);
	vhost_kernel_close(&vkb);
	vhost_kernel_close(&vkc);
	close_vqs(vqs, 3);
	if (failures) {
		fprintf(stderr, "vhost-kernel-probe: %d error check%s did not give the expected errno\n",
			failures, failures == 1 ? "" : "s");
		return 1;
	}
	printf("vhost-kernel-probe: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = "/dev/vhost-vsock", *v;
	unsigned long long cid = 3;
	unsigned long port = 1234567, qsize = 128;
	bool check_errors = false, with_traffic = true;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-v"))
			verbose = true;
		else if (!strcmp(a, "--errors"))
			check_errors = true;
		else if (!strcmp(a, "--no-traffic"))
			with_traffic = false;
		else if (opt(a, "--cid", &v))
			cid = strtoull(v, NULL, 0);
		else if (opt(a, "--port", &v))
			port = strtoul(v, NULL, 0);
		else if (opt(a, "--queue-size", &v))
			qsize = strtoul(v, NULL, 0);
		else if (a[0] != '-' && i == argc - 1)
			path = a;
		else {
			fprintf(stderr, "usage: vhost-kernel-probe [-v] [--errors] [--cid=N] [--port=N] [--queue-size=N] [--no-traffic] [DEVICE]\n");
			return 2;
		}
	}
	if (qsize == 0 || qsize > 1024 || (qsize & (qsize - 1)) || port > UINT32_MAX) {
		fprintf(stderr, "vhost-kernel-probe: bad arguments\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (check_errors)
		return errors(path, cid);
	return life_cycle(path, cid, (uint32_t)port, (unsigned)qsize, with_traffic);
}
