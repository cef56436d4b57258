/* vhost_backend_ops for the kernel's /dev/vhost-* devices: what QEMU's
 * kernel_ops in hw/virtio/vhost-backend.c do, one ioctl per op, plus the
 * ioctl trace. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/vhost.h>
#include <linux/virtio_config.h>

#include "lib/sbuf.h"
#include "lib/trace_patterns.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_kernel.h"
#include "vhost/vhost_user_trace.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The memory regions the kernel takes when the vhost module's parameter
 * cannot be read: its default, and QEMU's fallback too. */
#define DEFAULT_MEM_SLOTS 64
#define MAX_MEM_REGIONS_PARAM "/sys/module/vhost/parameters/max_mem_regions"

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The errnos the vhost ioctls and open() give; others print as "errno N". */
static const char *const errno_names[] = {
	[EPERM] = "EPERM",     [ENOENT] = "ENOENT",   [EINTR] = "EINTR",
	[EIO] = "EIO",         [ENXIO] = "ENXIO",     [E2BIG] = "E2BIG",
	[EBADF] = "EBADF",     [EAGAIN] = "EAGAIN",   [ENOMEM] = "ENOMEM",
	[EACCES] = "EACCES",   [EFAULT] = "EFAULT",   [EBUSY] = "EBUSY",
	[EEXIST] = "EEXIST",   [ENODEV] = "ENODEV",   [EINVAL] = "EINVAL",
	[ENOTTY] = "ENOTTY",   [ENOSPC] = "ENOSPC",   [EROFS] = "EROFS",
	[ENOBUFS] = "ENOBUFS", [EOPNOTSUPP] = "EOPNOTSUPP",
	[EADDRINUSE] = "EADDRINUSE",
};

static const char *errno_name(int e, char *buf, size_t len)
{
	if (e > 0 && (size_t)e < ARRAY_SIZE(errno_names) && errno_names[e])
		return errno_names[e];
	snprintf(buf, len, "errno %d", e);
	return buf;
}

/* ---- the ioctls: one table entry each, which says how to decode ---- */

enum karg {
	KA_NONE,
	KA_FEATURES, /* __u64 */
	KA_MEM,      /* struct vhost_memory + regions */
	KA_NUM,      /* struct vhost_vring_state: index, num */
	KA_BASE,     /* struct vhost_vring_state: index, base in num */
	KA_ADDR,     /* struct vhost_vring_addr */
	KA_FILE,     /* struct vhost_vring_file */
	KA_CID,      /* __u64 */
	KA_RUNNING,  /* int */
};

enum kreq_id {
	K_SET_OWNER, K_GET_FEATURES, K_SET_FEATURES, K_SET_MEM_TABLE,
	K_SET_VRING_NUM, K_SET_VRING_BASE, K_GET_VRING_BASE, K_SET_VRING_ADDR,
	K_SET_VRING_KICK, K_SET_VRING_CALL, K_SET_VRING_ERR,
	K_VSOCK_SET_GUEST_CID, K_VSOCK_SET_RUNNING,
};

static const struct kreq {
	unsigned long req;
	const char *name;
	enum karg arg;
	bool answer; /* the kernel fills in (part of) arg: "<-" */
} kreqs[] = {
#define K(id, arg, answer) [K_##id] = { VHOST_##id, "VHOST_" #id, arg, answer }
	K(SET_OWNER, KA_NONE, false),
	K(GET_FEATURES, KA_FEATURES, true),
	K(SET_FEATURES, KA_FEATURES, false),
	K(SET_MEM_TABLE, KA_MEM, false),
	K(SET_VRING_NUM, KA_NUM, false),
	K(SET_VRING_BASE, KA_BASE, false),
	K(GET_VRING_BASE, KA_BASE, true),
	K(SET_VRING_ADDR, KA_ADDR, false),
	K(SET_VRING_KICK, KA_FILE, false),
	K(SET_VRING_CALL, KA_FILE, false),
	K(SET_VRING_ERR, KA_FILE, false),
	K(VSOCK_SET_GUEST_CID, KA_CID, false),
	K(VSOCK_SET_RUNNING, KA_RUNNING, false),
#undef K
};

/* What a failure means, where the errno alone does not say it. req < 0:
 * any ioctl. */
static const struct {
	int req;
	int err;
	const char *hint;
} hints[] = {
	{ K_VSOCK_SET_GUEST_CID, EINVAL, "CIDs 0, 1, 2 and 0xffffffff are reserved and a CID has 32 bits" },
	{ K_VSOCK_SET_GUEST_CID, EADDRINUSE, "another VM on this host has this CID, or this host's own vsock device does" },
	{ K_SET_OWNER, EBUSY, "the fd has an owner already: a new vhost_dev needs a new fd" },
	{ K_SET_FEATURES, EOPNOTSUPP, "features the kernel did not offer" },
	{ K_SET_MEM_TABLE, E2BIG, "more regions than the vhost module's max_mem_regions" },
	{ K_VSOCK_SET_RUNNING, EFAULT, "a ring the kernel cannot access, or one that was never set up" },
	{ -1, EPERM, "not the owner: VHOST_SET_OWNER was not done, or by another process" },
	{ -1, ENOBUFS, "the device has no ring with that index" },
	{ -1, ENOTTY, "not a vhost device, or an ioctl this one does not have" },
};

static const char *hint_for(enum kreq_id id, int err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hints); i++)
		if ((hints[i].req < 0 || hints[i].req == (int)id) && hints[i].err == err)
			return hints[i].hint;
	return NULL;
}

static void sb_size(struct sbuf *b, uint64_t size)
{
	if (size >= (1ULL << 30) && !(size & ((1ULL << 30) - 1)))
		sb_printf(b, " (%llu GiB)", (unsigned long long)(size >> 30));
	else if (size >= (1ULL << 20) && !(size & ((1ULL << 20) - 1)))
		sb_printf(b, " (%llu MiB)", (unsigned long long)(size >> 20));
}

/* k's argument, as far as it is known: before the call (and after a
 * failure) only what we pass; after a successful call also the answer.
 * Memory regions go to more (NULL: left out). */
static void decode(struct sbuf *b, struct sbuf *more, const struct kreq *k,
		   const void *arg, bool answered)
{
	char fbuf[512];

	switch (k->arg) {
	case KA_NONE:
		break;
	case KA_FEATURES:
		/* GET_FEATURES passes nothing in: its argument is all answer */
		if (k->answer && !answered)
			break;
		vhost_user_format_features(fbuf, sizeof(fbuf), *(const uint64_t *)arg);
		sb_printf(b, " features=%s", fbuf);
		break;
	case KA_MEM: {
		const struct vhost_memory *m = arg;
		uint32_t i;

		sb_printf(b, " nregions=%u", m->nregions);
		for (i = 0; more && i < m->nregions; i++) {
			const struct vhost_memory_region *r = &m->regions[i];

			sb_printf(more, "      region %u: gpa=0x%llx size=0x%llx", i,
				  (unsigned long long)r->guest_phys_addr,
				  (unsigned long long)r->memory_size);
			sb_size(more, r->memory_size);
			sb_printf(more, " uaddr=0x%llx\n", (unsigned long long)r->userspace_addr);
		}
		break;
	}
	case KA_NUM: {
		const struct vhost_vring_state *s = arg;

		sb_printf(b, " index=%u num=%u", s->index, s->num);
		break;
	}
	case KA_BASE: {
		const struct vhost_vring_state *s = arg;

		sb_printf(b, " index=%u", s->index);
		if (answered)
			sb_printf(b, " base=%u", s->num);
		break;
	}
	case KA_ADDR: {
		const struct vhost_vring_addr *a = arg;

		sb_printf(b, " index=%u desc=0x%llx avail=0x%llx used=0x%llx", a->index,
			  (unsigned long long)a->desc_user_addr,
			  (unsigned long long)a->avail_user_addr,
			  (unsigned long long)a->used_user_addr);
		if (a->flags)
			sb_printf(b, " flags=0x%x log=0x%llx", a->flags,
				  (unsigned long long)a->log_guest_addr);
		break;
	}
	case KA_FILE: {
		const struct vhost_vring_file *f = arg;

		sb_printf(b, " index=%u fd=%d%s", f->index, f->fd,
			  f->fd == VHOST_FILE_UNBIND ? " (unbind)" : "");
		break;
	}
	case KA_CID:
		sb_printf(b, " cid=%llu", (unsigned long long)*(const uint64_t *)arg);
		break;
	case KA_RUNNING:
		sb_printf(b, " running=%d", *(const int *)arg);
		break;
	}
}

static void trace_write(FILE *f, struct sbuf *b)
{
	if (b->len == b->cap - 1)
		b->p[b->cap - 2] = '\n';
	fwrite(b->p, 1, b->len, f);
	fflush(f);
}

__attribute__((format(printf, 2, 3)))
static void note(struct vhost_kernel *vk, const char *fmt, ...)
{
	char line[1024];
	struct sbuf b = { line, 0, sizeof(line) };
	va_list ap;

	if (!vk->trace)
		return;
	sb_printf(&b, "vhost-kernel %s: ", vk->name);
	va_start(ap, fmt);
	sb_vprintf(&b, fmt, ap);
	va_end(ap);
	sb_printf(&b, "\n");
	trace_write(vk->trace, &b);
}

__attribute__((format(printf, 3, 4)))
static int fail(struct vhost_kernel *vk, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(vk->err, sizeof(vk->err), "vhost-kernel %s: ", vk->name);
	if (n < 0 || n >= (int)sizeof(vk->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(vk->err + n, sizeof(vk->err) - n, fmt, ap);
	va_end(ap);
	note(vk, "error: %s", vk->err + n);
	return err;
}

/* One ioctl: the call, its trace line, and on failure the message. */
static int kcall(struct vhost_kernel *vk, enum kreq_id id, void *arg)
{
	const struct kreq *k = &kreqs[id];
	struct sbuf m = { vk->err, 0, sizeof(vk->err) };
	char ebuf[16];
	const char *hint;
	int64_t t0, dt;
	int r, e = 0;

	if (vk->fd < 0)
		return fail(vk, -EBADF, "%s: no /dev/vhost-* device open", k->name);
	t0 = now_us();
	do
		r = ioctl(vk->fd, k->req, arg);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		e = errno;
	dt = now_us() - t0;

	if (vk->trace) {
		char line[2048], extra[2048];
		struct sbuf b = { line, 0, sizeof(line) };
		struct sbuf more = { extra, 0, sizeof(extra) };

		sb_printf(&b, "vhost-kernel %s %s %s", vk->name,
			  k->answer && !e ? "<-" : "->", k->name);
		decode(&b, &more, k, arg, !e);
		sb_printf(&b, " (%lld us)", (long long)dt);
		if (e)
			sb_printf(&b, " FAILED: %s (%s)", errno_name(e, ebuf, sizeof(ebuf)),
				  strerror(e));
		sb_printf(&b, "\n");
		if (more.len)
			sb_printf(&b, "%s", extra);
		trace_write(vk->trace, &b);
	}
	if (!e)
		return 0;

	/* "vhost-kernel NAME: IOCTL ARGS: strerror (ENAME: hint)" */
	sb_printf(&m, "vhost-kernel %s: %s", vk->name, k->name);
	decode(&m, NULL, k, arg, false);
	hint = hint_for(id, e);
	sb_printf(&m, ": %s (%s%s%s)", strerror(e), errno_name(e, ebuf, sizeof(ebuf)),
		  hint ? ": " : "", hint ? hint : "");
	return -e;
}

/* ---- the fd ---- */

void vhost_kernel_init(struct vhost_kernel *vk, const char *name)
{
	memset(vk, 0, sizeof(*vk));
	snprintf(vk->name, sizeof(vk->name), "%s", name ? name : "vhost");
	vk->fd = -1;
}

void vhost_kernel_set_trace(struct vhost_kernel *vk, FILE *f)
{
	vk->trace = f;
}

const char *vhost_kernel_error(const struct vhost_kernel *vk)
{
	return vk->err[0] ? vk->err : "no error";
}

/* The module behind a missing /dev node, by the node's name. */
static const char *module_for(const char *path)
{
	static const char *const nodes[][2] = {
		{ "vhost-vsock", "vhost_vsock" },
		{ "vhost-net", "vhost_net" },
		{ "vhost-scsi", "vhost_scsi" },
	};
	const char *base = strrchr(path, '/');
	size_t i;

	base = base ? base + 1 : path;
	for (i = 0; i < ARRAY_SIZE(nodes); i++)
		if (!strcmp(base, nodes[i][0]))
			return nodes[i][1];
	return NULL;
}

/* Only a character device answers vhost ioctls; anything else would fail
 * at the first one with a less helpful ENOTTY. */
static int check_chr(struct vhost_kernel *vk, int fd, const char *what)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail(vk, -errno, "%s: %s", what, strerror(errno));
	if (!S_ISCHR(st.st_mode))
		return fail(vk, -ENOTTY, "%s is not a character device (a /dev/vhost-* device is)",
			    what);
	return 0;
}

int vhost_kernel_open(struct vhost_kernel *vk, const char *path)
{
	const char *mod;
	int fd, e, r;

	if (vk->fd >= 0)
		return fail(vk, -EBUSY, "already open (fd %d)", vk->fd);
	if (!path || !*path)
		return fail(vk, -EINVAL, "no device path");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		mod = module_for(path);
		/* A static /dev node without its driver opens as ENODEV. */
		if ((e == ENOENT || e == ENODEV || e == ENXIO) && mod)
			return fail(vk, -e, "%s: %s (is the %s module loaded?)", path,
				    strerror(e), mod);
		if (e == EACCES || e == EPERM || e == EROFS)
			return fail(vk, -e, "%s: %s (the VMM needs read-write access to it: check its owner, group and mode)",
				    path, strerror(e));
		return fail(vk, -e, "%s: %s", path, strerror(e));
	}
	r = check_chr(vk, fd, path);
	if (r < 0) {
		close(fd);
		return r;
	}
	vk->fd = fd;
	snprintf(vk->path, sizeof(vk->path), "%s", path);
	vk->err[0] = '\0';
	note(vk, "opened %s (fd %d)", path, fd);
	return 0;
}

int vhost_kernel_attach_fd(struct vhost_kernel *vk, int fd)
{
	char what[32];
	int r;

	if (fd < 0)
		return fail(vk, -EBADF, "no fd to attach");
	if (vk->fd >= 0) {
		close(fd);
		return fail(vk, -EBUSY, "already open (fd %d)", vk->fd);
	}
	snprintf(what, sizeof(what), "fd %d", fd);
	r = check_chr(vk, fd, what);
	if (r == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		r = fail(vk, -errno, "fd %d: %s", fd, strerror(errno));
	if (r < 0) {
		/* ours now, whatever happens (EBADF: nothing to close) */
		if (r != -EBADF)
			close(fd);
		return r;
	}
	vk->fd = fd;
	vk->path[0] = '\0';
	vk->err[0] = '\0';
	note(vk, "attached fd %d", fd);
	return 0;
}

void vhost_kernel_close(struct vhost_kernel *vk)
{
	if (vk->fd < 0)
		return;
	close(vk->fd);
	note(vk, "closed fd %d", vk->fd);
	vk->fd = -1;
}

bool vhost_kernel_trace_enabled(const char *const *patterns, int n)
{
	static const char *const events[] = { "vhost_kernel", "vhost_kernel_ioctl" };

	return trace_patterns_enable(patterns, n, events, sizeof(events) / sizeof(events[0]));
}

/* ---- vhost_backend_ops ---- */

static struct vhost_kernel *vk_of(struct vhost_dev *dev)
{
	return dev->backend;
}

/* The vhost module's limit on VHOST_SET_MEM_TABLE regions, as QEMU's
 * vhost_kernel_memslots_limit() reads it. */
static unsigned memslots_limit(struct vhost_kernel *vk)
{
	char buf[32], *end;
	unsigned long v;
	ssize_t n;
	int fd;

	fd = open(MAX_MEM_REGIONS_PARAM, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		note(vk, "%s: %s; assuming %d memory regions", MAX_MEM_REGIONS_PARAM,
		     strerror(errno), DEFAULT_MEM_SLOTS);
		return DEFAULT_MEM_SLOTS;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (n <= 0 || end == buf || (*end && *end != '\n') || errno || v > 65535) {
		note(vk, "%s: cannot parse \"%.*s\"; assuming %d memory regions",
		     MAX_MEM_REGIONS_PARAM, (int)strcspn(buf, "\n"), buf, DEFAULT_MEM_SLOTS);
		return DEFAULT_MEM_SLOTS;
	}
	return (unsigned)v;
}

/* QEMU's vhost_kernel_init() keeps the fd; the features are read by
 * vhost_dev_init() after SET_OWNER, the limits are known here. */
static int vk_init(struct vhost_dev *dev)
{
	struct vhost_kernel *vk = vk_of(dev);

	if (vk->fd < 0)
		return fail(vk, -EBADF, "no /dev/vhost-* device open");
	dev->mem_slots = memslots_limit(vk);
	/* The queues an fd serves are fixed by its device (vsock: 2); the
	 * kernel has no call to ask, a ring beyond them fails ENOBUFS. */
	dev->max_queues = 0;
	return 0;
}

/* Nothing to release: the fd is the caller's (vhost_kernel_close). */
static void vk_cleanup(struct vhost_dev *dev)
{
	(void)dev;
}

static int vk_set_owner(struct vhost_dev *dev)
{
	return kcall(vk_of(dev), K_SET_OWNER, NULL);
}

static int vk_get_features(struct vhost_dev *dev, uint64_t *features)
{
	uint64_t f = 0;
	int r = kcall(vk_of(dev), K_GET_FEATURES, &f);

	if (r == 0)
		*features = f;
	return r;
}

/* vhost_dev never offers VHOST_F_LOG_ALL to the guest (we do no dirty
 * logging, so it is never set here either). VIRTIO_F_ACCESS_PLATFORM would
 * make the kernel translate every ring and buffer address through an
 * IOTLB that we fill on demand; without a vIOMMU the guest's addresses are
 * guest-physical already, so, like QEMU's vhost_dev_set_features() without
 * one, the bit never reaches the kernel even if the driver acked it. */
static int vk_set_features(struct vhost_dev *dev, uint64_t features)
{
	uint64_t f = features & ~(1ULL << VIRTIO_F_ACCESS_PLATFORM);

	return kcall(vk_of(dev), K_SET_FEATURES, &f);
}

/* The kernel accesses guest RAM through our mapping: regions are
 * (guest-physical range, our address); fds and offsets are not needed. */
static int vk_set_mem_table(struct vhost_dev *dev, const struct vhost_mem_table *mem)
{
	struct vhost_kernel *vk = vk_of(dev);
	struct vhost_memory *m;
	int i, r;

	if (mem->nregions < 1 || mem->nregions > VHOST_MEM_MAX_REGIONS)
		return fail(vk, -EINVAL, "VHOST_SET_MEM_TABLE: %d memory regions (1 to %d are possible)",
			    mem->nregions, VHOST_MEM_MAX_REGIONS);
	m = calloc(1, sizeof(*m) + (size_t)mem->nregions * sizeof(m->regions[0]));
	if (!m)
		return fail(vk, -ENOMEM, "VHOST_SET_MEM_TABLE: out of memory");
	m->nregions = (uint32_t)mem->nregions;
	for (i = 0; i < mem->nregions; i++) {
		const struct vhost_mem_region *s = &mem->regions[i];

		if (!s->hva || !s->size) {
			free(m);
			return fail(vk, -EINVAL, "VHOST_SET_MEM_TABLE: region %d is empty or unmapped", i);
		}
		m->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = s->gpa,
			.memory_size = s->size,
			.userspace_addr = (uint64_t)(uintptr_t)s->hva,
		};
	}
	r = kcall(vk, K_SET_MEM_TABLE, m);
	free(m);
	return r;
}

/* Ring indices: vhost_dev's local ones are the fd's own (each fd numbers
 * its rings from 0), unlike vhost-user's, which are the device's. */
static int vring_state(struct vhost_dev *dev, enum kreq_id id, unsigned idx,
		       unsigned num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return kcall(vk_of(dev), id, &s);
}

static int vk_set_vring_num(struct vhost_dev *dev, unsigned idx, unsigned num)
{
	return vring_state(dev, K_SET_VRING_NUM, idx, num);
}

static int vk_set_vring_base(struct vhost_dev *dev, unsigned idx, unsigned base)
{
	return vring_state(dev, K_SET_VRING_BASE, idx, base);
}

/* Unlike vhost-user's, this does not stop the ring: the device stops it
 * first (vsock: VHOST_VSOCK_SET_RUNNING 0, net: VHOST_NET_SET_BACKEND -1). */
static int vk_get_vring_base(struct vhost_dev *dev, unsigned idx, unsigned *base)
{
	struct vhost_vring_state s = { .index = idx };
	int r = kcall(vk_of(dev), K_GET_VRING_BASE, &s);

	if (r == 0)
		*base = s.num;
	return r;
}

static int vk_set_vring_addr(struct vhost_dev *dev, const struct vhost_vring_addr *addr)
{
	struct vhost_vring_addr a = *addr;

	return kcall(vk_of(dev), K_SET_VRING_ADDR, &a);
}

static int vring_file(struct vhost_dev *dev, enum kreq_id id, unsigned idx, int fd)
{
	struct vhost_vring_file f = { .index = idx, .fd = fd < 0 ? VHOST_FILE_UNBIND : fd };

	return kcall(vk_of(dev), id, &f);
}

/* kick fd < 0: the kernel does not poll the ring (nothing kicks it). */
static int vk_set_vring_kick(struct vhost_dev *dev, unsigned idx, int fd)
{
	return vring_file(dev, K_SET_VRING_KICK, idx, fd);
}

/* call fd < 0: the kernel signals nobody. */
static int vk_set_vring_call(struct vhost_dev *dev, unsigned idx, int fd)
{
	return vring_file(dev, K_SET_VRING_CALL, idx, fd);
}

static int vk_set_vring_err(struct vhost_dev *dev, unsigned idx, int fd)
{
	return vring_file(dev, K_SET_VRING_ERR, idx, fd);
}

static const char *vk_error(struct vhost_dev *dev)
{
	return vk_of(dev)->err;
}

static void vk_describe(struct vhost_dev *dev, char *buf, size_t len)
{
	snprintf(buf, len, "vhost-kernel %s", vk_of(dev)->name);
}

static int vk_vsock_set_guest_cid(struct vhost_dev *dev, uint64_t cid)
{
	return kcall(vk_of(dev), K_VSOCK_SET_GUEST_CID, &cid);
}

static int vk_vsock_set_running(struct vhost_dev *dev, bool running)
{
	int start = running;

	return kcall(vk_of(dev), K_VSOCK_SET_RUNNING, &start);
}

static const struct vhost_vsock_backend_ops vk_vsock_ops = {
	.set_guest_cid = vk_vsock_set_guest_cid,
	.set_running = vk_vsock_set_running,
};

/* Left out on purpose:
 * - set_vring_enable: the kernel has no per-ring enable; a ring runs once
 *   the device is started (vsock: SET_RUNNING 1; QEMU's kernel ops have
 *   one only for vhost-net's TUNSETQUEUE, which is the tap's business).
 * - dev_start, reset_status: there is no status to give the kernel.
 * - reset_device: QEMU's was VHOST_RESET_OWNER, and QEMU removed it
 *   (e6383293eb, "vhost-backend: remove vhost_kernel_reset_device()")
 *   when virtio_reset() began to call ->vhost_reset_device() (c0c4f14729):
 *   RESET_OWNER leaves the fd without an owner, every later ioctl is EPERM,
 *   and SET_OWNER happens only in vhost_dev_init(). vhost-vsock does not
 *   even have RESET_OWNER (only vhost-net does): an unknown ioctl falls
 *   through to the ring ioctls, so QEMU's call (no argument) gets EFAULT
 *   and one with an argument ENOTTY (vhost-kernel-probe --errors). A
 *   virtio reset is vhost_dev_stop() plus rings restarting at 0, which is
 *   what vhost_dev_reset() does without it.
 * - get/set_config: the kernel devices have no config space; the device
 *   model builds it (vsock: the guest CID).
 * - event_fd: the fd's read side carries IOTLB misses, which only exist
 *   with VIRTIO_F_ACCESS_PLATFORM (see vk_set_features). */
const struct vhost_backend_ops vhost_kernel_backend_ops = {
	.name = "vhost-kernel",
	.init = vk_init,
	.cleanup = vk_cleanup,
	.set_owner = vk_set_owner,
	.get_features = vk_get_features,
	.set_features = vk_set_features,
	.set_mem_table = vk_set_mem_table,
	.set_vring_num = vk_set_vring_num,
	.set_vring_base = vk_set_vring_base,
	.get_vring_base = vk_get_vring_base,
	.set_vring_addr = vk_set_vring_addr,
	.set_vring_kick = vk_set_vring_kick,
	.set_vring_call = vk_set_vring_call,
	.set_vring_err = vk_set_vring_err,
	.error = vk_error,
	.describe = vk_describe,
	.vsock = &vk_vsock_ops,
};
