/* vhost_dev over vhost-user: the whole life cycle against the test
 * back-end, message by message in QEMU's order (golden sequences for a
 * full-featured back-end, one without REPLY_ACK and one without protocol
 * features), the golden trace, restart with the saved ring indices, what
 * start refuses before sending anything, the used-index fallback when the
 * back-end is gone, the config-change path, and a fault injected at every
 * message of init + start + stop with each kind of misbehaviour. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/memory.h"
#include "tests/tools/vu_harness.h"
#include "tests/unit/tap.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_user.h"
#include "vhost/vhost_user_trace.h"
#include "vmm/config.h"

#define PF(b) (1ULL << VHOST_USER_PROTOCOL_F_##b)
#define RAM_SIZE (8u << 20)
#define GB4 0x100000000ULL

static bool contains(const char *hay, const char *needle)
{
	return hay && needle && strstr(hay, needle) != NULL;
}

/* Only '*' is special, so the patterns can hold the trace's brackets. */
static bool star_match(const char *p, const char *s, size_t n)
{
	if (!*p)
		return n == 0;
	if (*p == '*') {
		size_t i;

		for (i = 0; i <= n; i++)
			if (star_match(p + 1, s + i, n - i))
				return true;
		return false;
	}
	return n && *p == *s && star_match(p + 1, s + 1, n - 1);
}

static bool trace_matches(const char *trace, const char *const *want)
{
	const char *p = trace ? trace : "";
	int i = 0;

	while (*p || want[i]) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (!*p || !want[i] || !star_match(want[i], p, n)) {
			printf("#   trace line %d: got  '%.*s'\n#   trace line %d: want '%s'\n",
			       i + 1, (int)n, *p ? p : "(end)", i + 1, want[i] ? want[i] : "(end)");
			return false;
		}
		p += n + (nl ? 1 : 0);
		i++;
	}
	return true;
}

/* Guest RAM: an 8 MiB memfd as two regions (below 4 GiB and above, like
 * our RAM layout), rings for queue 0 in the first and queue 1 in the
 * second, a marker word at the start of each region. */
struct fixture {
	int memfd;
	char *ram;
	struct vhost_mem_table mem;
	struct vhost_vq_config vqs[2];
};

static void fixture_init(struct fixture *f)
{
	uint64_t m0 = 0x1111, m1 = 0x2222;
	int i;

	memset(f, 0, sizeof(*f));
	f->memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (ftruncate(f->memfd, RAM_SIZE) < 0)
		abort();
	f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	memcpy(f->ram, &m0, 8);
	memcpy(f->ram + RAM_SIZE / 2, &m1, 8);
	f->mem.nregions = 2;
	f->mem.shared = true;
	f->mem.regions[0] = (struct vhost_mem_region){ 0, RAM_SIZE / 2, 0, f->ram, f->memfd };
	f->mem.regions[1] = (struct vhost_mem_region){ GB4, RAM_SIZE / 2, RAM_SIZE / 2,
						       f->ram + RAM_SIZE / 2, f->memfd };
	for (i = 0; i < 2; i++) {
		uint64_t base = (i ? GB4 : 0) + 0x10000;

		f->vqs[i] = (struct vhost_vq_config){
			.ready = true, .size = 256,
			.desc_gpa = base, .avail_gpa = base + 0x1000, .used_gpa = base + 0x2000,
			.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
			.call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
			.vring_base = i ? 7 : 0,
		};
	}
}

static void fixture_free(struct fixture *f)
{
	int i;

	for (i = 0; i < 2; i++) {
		close(f->vqs[i].kick_fd);
		close(f->vqs[i].call_fd);
	}
	munmap(f->ram, RAM_SIZE);
	close(f->memfd);
}

/* used->idx of queue q, as the guest would have left it. */
static void set_used_idx(struct fixture *f, int q, uint16_t idx)
{
	char *used = f->ram + (q ? RAM_SIZE / 2 : 0) + 0x12000;

	memcpy(used + 2, &idx, 2);
}

struct run {
	struct vhost_user vu;
	struct vhost_dev dev;
	struct harness h;
	char *trace;
	size_t tracelen;
	FILE *tf;
};

static int run_connect(struct run *r, const struct vub_config *cfg, int timeout_ms,
		       bool trace)
{
	memset(r, 0, sizeof(*r));
	vhost_user_init(&r->vu, "t0");
	vhost_user_set_timeout(&r->vu, timeout_ms);
	if (trace) {
		r->tf = open_memstream(&r->trace, &r->tracelen);
		vhost_user_set_trace(&r->vu, r->tf);
	}
	if (harness_start(&r->h, cfg) < 0 || vhost_user_attach_fd(&r->vu, r->h.fd) < 0)
		return -1;
	r->h.fd = -1;
	return 0;
}

/* Tears down and returns the back-end's log (caller frees). */
static char *run_finish(struct run *r)
{
	vhost_dev_cleanup(&r->dev);
	vhost_user_close(&r->vu);
	if (r->tf)
		fclose(r->tf);
	r->tf = NULL;
	return harness_finish(&r->h);
}

static const uint64_t FEATURES = (1ULL << 32) | (1ULL << 29); /* VERSION_1, EVENT_IDX */

static const char *const golden_full[] = {
	/* vhost_dev_init: QEMU's vhost_user_backend_init + vhost_dev_init,
	 * less the per-queue SET_VRING_CALL (masked notifier) and
	 * SET_VRING_ERR QEMU adds there (see docs/vhost-user.md) */
	"GET_FEATURES",
	"GET_PROTOCOL_FEATURES",
	"SET_PROTOCOL_FEATURES features=0x1a229",
	"GET_QUEUE_NUM",
	"GET_MAX_MEM_SLOTS",
	"SET_BACKEND_REQ_FD need_reply",
	"SET_OWNER",
	"GET_FEATURES",
	/* the device reads its config */
	"GET_CONFIG offset=0 size=8",
	/* vhost_dev_start */
	"SET_FEATURES features=0x160000000",
	"GET_STATUS",
	"SET_STATUS status=0x8",
	"ADD_MEM_REG need_reply",
	"  region 0 gpa=0x0 size=0x400000 offset=0x0 probe=0x1111",
	"ADD_MEM_REG need_reply",
	"  region 1 gpa=0x100000000 size=0x400000 offset=0x400000 probe=0x2222",
	"SET_VRING_NUM index=0 num=256",
	"SET_VRING_BASE index=0 base=0",
	"SET_VRING_ADDR index=0 flags=0x0 desc=0x10000 avail=0x11000 used=0x12000",
	"SET_VRING_CALL index=0 fd",
	"SET_VRING_KICK index=0 fd",
	"SET_VRING_NUM index=1 num=256",
	"SET_VRING_BASE index=1 base=7",
	"SET_VRING_ADDR index=1 flags=0x0 desc=0x100010000 avail=0x100011000 used=0x100012000",
	"SET_VRING_CALL index=1 fd",
	"SET_VRING_KICK index=1 fd",
	"SET_VRING_ENABLE index=0 enable=1 need_reply",
	"SET_VRING_ENABLE index=1 enable=1 need_reply",
	"GET_STATUS",
	"SET_STATUS status=0xf",
	/* vhost_dev_stop */
	"SET_VRING_ENABLE index=0 enable=0 need_reply",
	"SET_VRING_ENABLE index=1 enable=0 need_reply",
	"GET_VRING_BASE index=0",
	"GET_VRING_BASE index=1",
	"SET_STATUS status=0x0",
	/* vhost_dev_reset (virtio reset) */
	"RESET_DEVICE",
	"EOF",
	NULL,
};

static const char *const golden_trace[] = {
	"vhost-user t0: connected (fd *)",
	"vhost-user t0 -> GET_FEATURES (1) flags=0x1 size=0",
	"vhost-user t0 <- GET_FEATURES (1) flags=0x5 size=8 features=0x160000000 [EVENT_IDX PROTOCOL_FEATURES VERSION_1] (* us)",
	"vhost-user t0 -> GET_PROTOCOL_FEATURES (15) flags=0x1 size=0",
	"vhost-user t0 <- GET_PROTOCOL_FEATURES (15) flags=0x5 size=8 features=0x1a229 [MQ REPLY_ACK BACKEND_REQ CONFIG RESET_DEVICE CONFIGURE_MEM_SLOTS STATUS] (* us)",
	"vhost-user t0 -> SET_PROTOCOL_FEATURES (16) flags=0x1 size=8 features=0x1a229 [MQ REPLY_ACK BACKEND_REQ CONFIG RESET_DEVICE CONFIGURE_MEM_SLOTS STATUS]",
	"vhost-user t0 -> GET_QUEUE_NUM (17) flags=0x1 size=0",
	"vhost-user t0 <- GET_QUEUE_NUM (17) flags=0x5 size=8 queues=2 (* us)",
	"vhost-user t0 -> GET_MAX_MEM_SLOTS (36) flags=0x1 size=0",
	"vhost-user t0 <- GET_MAX_MEM_SLOTS (36) flags=0x5 size=8 slots=32 (* us)",
	"vhost-user t0 -> SET_BACKEND_REQ_FD (21) flags=0x9 [NEED_REPLY] size=0 fds=[*]",
	"vhost-user t0 <- SET_BACKEND_REQ_FD (21) flags=0x5 size=8 ack=0 (* us)",
	"vhost-user t0 -> SET_OWNER (3) flags=0x1 size=0",
	"vhost-user t0 -> GET_FEATURES (1) flags=0x1 size=0",
	"vhost-user t0 <- GET_FEATURES (1) flags=0x5 size=8 features=0x160000000 [EVENT_IDX PROTOCOL_FEATURES VERSION_1] (* us)",
	"vhost-user t0 -> GET_CONFIG (24) flags=0x1 size=20 offset=0 size=8 flags=0",
	"vhost-user t0 <- GET_CONFIG (24) flags=0x5 size=20 offset=0 size=8 flags=0 data=[01 02 03 04 05 06 07 08] (* us)",
	"vhost-user t0 -> SET_FEATURES (2) flags=0x1 size=8 features=0x160000000 [EVENT_IDX PROTOCOL_FEATURES VERSION_1]",
	"vhost-user t0 -> GET_STATUS (40) flags=0x1 size=0",
	"vhost-user t0 <- GET_STATUS (40) flags=0x5 size=8 status=0x0 (* us)",
	"vhost-user t0 -> SET_STATUS (39) flags=0x1 size=8 status=0x8 [FEATURES_OK]",
	"vhost-user t0 -> ADD_MEM_REG (37) flags=0x9 [NEED_REPLY] size=40 gpa=0x0 size=0x400000 (4 MiB) uaddr=0x* mmap_offset=0x0 fds=[*]",
	"vhost-user t0 <- ADD_MEM_REG (37) flags=0x5 size=8 ack=0 (* us)",
	"vhost-user t0 -> ADD_MEM_REG (37) flags=0x9 [NEED_REPLY] size=40 gpa=0x100000000 size=0x400000 (4 MiB) uaddr=0x* mmap_offset=0x400000 fds=[*]",
	"vhost-user t0 <- ADD_MEM_REG (37) flags=0x5 size=8 ack=0 (* us)",
	"vhost-user t0 -> SET_VRING_NUM (8) flags=0x1 size=8 index=0 num=256",
	"vhost-user t0 -> SET_VRING_BASE (10) flags=0x1 size=8 index=0 base=0",
	"vhost-user t0 -> SET_VRING_ADDR (9) flags=0x1 size=40 index=0 desc=0x* avail=0x* used=0x*",
	"vhost-user t0 -> SET_VRING_CALL (13) flags=0x1 size=8 index=0 fds=[*]",
	"vhost-user t0 -> SET_VRING_KICK (12) flags=0x1 size=8 index=0 fds=[*]",
	"vhost-user t0 -> SET_VRING_NUM (8) flags=0x1 size=8 index=1 num=256",
	"vhost-user t0 -> SET_VRING_BASE (10) flags=0x1 size=8 index=1 base=7",
	"vhost-user t0 -> SET_VRING_ADDR (9) flags=0x1 size=40 index=1 desc=0x* avail=0x* used=0x*",
	"vhost-user t0 -> SET_VRING_CALL (13) flags=0x1 size=8 index=1 fds=[*]",
	"vhost-user t0 -> SET_VRING_KICK (12) flags=0x1 size=8 index=1 fds=[*]",
	"vhost-user t0 -> SET_VRING_ENABLE (18) flags=0x9 [NEED_REPLY] size=8 index=0 enable=1",
	"vhost-user t0 <- SET_VRING_ENABLE (18) flags=0x5 size=8 ack=0 (* us)",
	"vhost-user t0 -> SET_VRING_ENABLE (18) flags=0x9 [NEED_REPLY] size=8 index=1 enable=1",
	"vhost-user t0 <- SET_VRING_ENABLE (18) flags=0x5 size=8 ack=0 (* us)",
	"vhost-user t0 -> GET_STATUS (40) flags=0x1 size=0",
	"vhost-user t0 <- GET_STATUS (40) flags=0x5 size=8 status=0x8 [FEATURES_OK] (* us)",
	"vhost-user t0 -> SET_STATUS (39) flags=0x1 size=8 status=0xf [ACKNOWLEDGE DRIVER DRIVER_OK FEATURES_OK]",
	"vhost-user t0 -> SET_VRING_ENABLE (18) flags=0x9 [NEED_REPLY] size=8 index=0 enable=0",
	"vhost-user t0 <- SET_VRING_ENABLE (18) flags=0x5 size=8 ack=0 (* us)",
	"vhost-user t0 -> SET_VRING_ENABLE (18) flags=0x9 [NEED_REPLY] size=8 index=1 enable=0",
	"vhost-user t0 <- SET_VRING_ENABLE (18) flags=0x5 size=8 ack=0 (* us)",
	"vhost-user t0 -> GET_VRING_BASE (11) flags=0x1 size=8 index=0",
	"vhost-user t0 <- GET_VRING_BASE (11) flags=0x5 size=8 index=0 base=3 (* us)",
	"vhost-user t0 -> GET_VRING_BASE (11) flags=0x1 size=8 index=1",
	"vhost-user t0 <- GET_VRING_BASE (11) flags=0x5 size=8 index=1 base=10 (* us)",
	"vhost-user t0 -> SET_STATUS (39) flags=0x1 size=8 status=0x0",
	"vhost-user t0 -> RESET_DEVICE (34) flags=0x1 size=0",
	"vhost-user t0: disconnected",
	NULL,
};

static void full_config(struct vub_config *cfg)
{
	vub_config_defaults(cfg);
	memcpy(cfg->config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	cfg->config_len = 8;
	cfg->vring_advance = 3;
}

static void test_golden_full(struct tap *t)
{
	struct vub_config cfg;
	struct fixture f;
	struct run r;
	uint8_t config[8];
	int fd0 = h_count_fds(), rc;
	char *log;

	full_config(&cfg);
	fixture_init(&f);
	rc = run_connect(&r, &cfg, 2000, true);
	rc |= vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	ok(t, rc == 0, "init (%s)", rc ? vhost_dev_error(&r.dev) : "ok");
	ok(t, r.dev.features == FEATURES && r.vu.protocol_features == 0x1a229 &&
	   r.dev.max_queues == 2 && r.dev.mem_slots == 32,
	   "negotiated: features 0x%llx (no bit 30 for the guest), protocol 0x%llx, %llu queues, %u slots",
	   (unsigned long long)r.dev.features, (unsigned long long)r.vu.protocol_features,
	   (unsigned long long)r.dev.max_queues, r.dev.mem_slots);
	ok(t, vhost_dev_get_config(&r.dev, 0, config, 8) == 0 &&
	   !memcmp(config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8), "GET_CONFIG");
	rc = vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
	ok(t, rc == 0 && r.dev.started, "start (%s)", rc ? vhost_dev_error(&r.dev) : "ok");
	{
		struct pollfd p[2] = { { .fd = f.vqs[0].call_fd, .events = POLLIN },
				       { .fd = f.vqs[1].call_fd, .events = POLLIN } };

		ok(t, poll(p, 2, 2000) >= 1 && poll(p, 2, 2000) == 2,
		   "both call eventfds reached the back-end");
	}
	rc = vhost_dev_stop(&r.dev);
	ok(t, rc == 0 && !r.dev.started && vhost_dev_vring_base(&r.dev, 0) == 3 &&
	   vhost_dev_vring_base(&r.dev, 1) == 10,
	   "stop saves where each ring stopped (%u, %u)", vhost_dev_vring_base(&r.dev, 0),
	   vhost_dev_vring_base(&r.dev, 1));
	ok(t, vhost_dev_reset(&r.dev) == 0 && vhost_dev_vring_base(&r.dev, 1) == 0,
	   "reset: RESET_DEVICE, and rings start over at 0");
	log = run_finish(&r);
	ok(t, log_equals(log, golden_full, false), "the message sequence is QEMU's (as documented)");
	ok(t, !contains(log, "VIOLATION"), "the back-end found nothing malformed");
	ok(t, trace_matches(r.trace, golden_trace), "the golden trace");
	free(r.trace);
	free(log);
	fixture_free(&f);
	ok(t, h_count_fds() == fd0, "no fd leaked");
}

/* virtiofsd-like: MQ only, so no REPLY_ACK (barriers), no STATUS, no
 * CONFIGURE_MEM_SLOTS (one SET_MEM_TABLE), no back-end channel. */
static void test_golden_no_reply_ack(struct tap *t)
{
	static const char *const want[] = {
		"GET_FEATURES",
		"GET_PROTOCOL_FEATURES",
		"SET_PROTOCOL_FEATURES features=0x1",
		"GET_QUEUE_NUM",
		"SET_OWNER",
		"GET_FEATURES",
		"SET_FEATURES features=0x160000000",
		"SET_MEM_TABLE nregions=2",
		"  region 0 gpa=0x0 size=0x400000 offset=0x0 probe=0x1111",
		"  region 1 gpa=0x100000000 size=0x400000 offset=0x400000 probe=0x2222",
		"SET_VRING_NUM index=0 num=256",
		"SET_VRING_BASE index=0 base=0",
		"SET_VRING_ADDR index=0 flags=0x0 desc=0x10000 avail=0x11000 used=0x12000",
		"SET_VRING_CALL index=0 fd",
		"SET_VRING_KICK index=0 fd",
		"SET_VRING_NUM index=1 num=256",
		"SET_VRING_BASE index=1 base=7",
		"SET_VRING_ADDR index=1 flags=0x0 desc=0x100010000 avail=0x100011000 used=0x100012000",
		"SET_VRING_CALL index=1 fd",
		"SET_VRING_KICK index=1 fd",
		"SET_VRING_ENABLE index=0 enable=1",
		"GET_FEATURES",
		"SET_VRING_ENABLE index=1 enable=1",
		"GET_FEATURES",
		"SET_VRING_ENABLE index=0 enable=0",
		"GET_FEATURES",
		"SET_VRING_ENABLE index=1 enable=0",
		"GET_FEATURES",
		"GET_VRING_BASE index=0",
		"GET_VRING_BASE index=1",
		"EOF",
		NULL,
	};
	struct vub_config cfg;
	struct fixture f;
	struct run r;
	char *log;
	int rc;

	vub_config_defaults(&cfg);
	cfg.protocol_features = PF(MQ) | PF(LOG_SHMFD) | PF(HOST_NOTIFIER);
	fixture_init(&f);
	rc = run_connect(&r, &cfg, 2000, true);
	rc |= vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	rc |= vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
	rc |= vhost_dev_stop(&r.dev);
	rc |= vhost_dev_reset(&r.dev);
	ok(t, rc == 0 && r.dev.mem_slots == 8 && vhost_dev_event_fd(&r.dev) == -1,
	   "init/start/stop/reset without REPLY_ACK (8 slots, no back-end channel)");
	log = run_finish(&r);
	ok(t, log_equals(log, want, false),
	   "SET_MEM_TABLE, GET_FEATURES barriers, no STATUS, no RESET_DEVICE, unsupported bits masked");
	ok(t, !contains(log, "VIOLATION"), "no violation");
	{
		static const char *const mt[] = {
			"vhost-user t0 -> SET_MEM_TABLE (5) flags=0x1 size=72 nregions=2 fds=[*,*]",
			"      region 0: gpa=0x0 size=0x400000 (4 MiB) uaddr=0x* mmap_offset=0x0 fd=*",
			"      region 1: gpa=0x100000000 size=0x400000 (4 MiB) uaddr=0x* mmap_offset=0x400000 fd=*",
			"vhost-user t0 -> SET_VRING_NUM (8) flags=0x1 size=8 index=0 num=256",
			NULL,
		};
		const char *p = strstr(r.trace ? r.trace : "", "vhost-user t0 -> SET_MEM_TABLE");
		char *cut = p ? strstr(p, "index=0 num=256\n") : NULL;

		if (cut)
			cut[strlen("index=0 num=256")] = '\0';
		ok(t, p && cut && trace_matches(p, mt), "the trace shows each region on a line of its own");
	}
	free(r.trace);
	free(log);
	fixture_free(&f);
}

/* A back-end without VHOST_USER_F_PROTOCOL_FEATURES: rings are enabled by
 * SET_FEATURES, SET_VRING_ENABLE must not be sent. */
static void test_golden_legacy(struct tap *t)
{
	static const char *const want[] = {
		"GET_FEATURES",
		"SET_OWNER",
		"GET_FEATURES",
		"SET_FEATURES features=0x120000000",
		"SET_MEM_TABLE nregions=2",
		"  region 0 gpa=0x0 size=0x400000 offset=0x0 probe=0x1111",
		"  region 1 gpa=0x100000000 size=0x400000 offset=0x400000 probe=0x2222",
		"SET_VRING_NUM index=0 num=256",
		"SET_VRING_BASE index=0 base=0",
		"SET_VRING_ADDR index=0 flags=0x0 desc=0x10000 avail=0x11000 used=0x12000",
		"SET_VRING_CALL index=0 nofd",
		"SET_VRING_KICK index=0 nofd",
		"GET_VRING_BASE index=0",
		"EOF",
		NULL,
	};
	struct vub_config cfg;
	struct fixture f;
	struct run r;
	char *log;
	int rc, kick = 0, call = 0;

	vub_config_defaults(&cfg);
	cfg.features = FEATURES;
	fixture_init(&f);
	/* Queue 1 not enabled by the driver; queue 0 without eventfds. */
	f.vqs[1].ready = false;
	kick = f.vqs[0].kick_fd;
	call = f.vqs[0].call_fd;
	f.vqs[0].kick_fd = f.vqs[0].call_fd = -1;
	rc = run_connect(&r, &cfg, 2000, false);
	rc |= vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	ok(t, rc == 0 && r.vu.protocol_features == 0 && r.dev.backend_features == 0,
	   "init with a legacy back-end");
	ok(t, vhost_dev_get_config(&r.dev, 0, (uint8_t[4]){ 0 }, 4) == -EOPNOTSUPP,
	   "no config access without PROTOCOL_F_CONFIG (%s)", vhost_dev_error(&r.dev));
	rc = vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
	rc |= vhost_dev_stop(&r.dev);
	ok(t, rc == 0, "start/stop");
	log = run_finish(&r);
	ok(t, log_equals(log, want, false),
	   "no SET_VRING_ENABLE, the not-ready queue is skipped, NOFD for missing eventfds");
	free(log);
	f.vqs[0].kick_fd = kick;
	f.vqs[0].call_fd = call;
	fixture_free(&f);
}

/* Second start after a stop: memory is not sent again (the back-end still
 * has it, as QEMU's shadow table knows), rings resume where they stopped. */
static void test_restart(struct tap *t)
{
	struct vub_config cfg;
	struct fixture f;
	struct run r;
	char *log;
	int rc, i;

	full_config(&cfg);
	fixture_init(&f);
	rc = run_connect(&r, &cfg, 2000, false);
	rc |= vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	rc |= vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
	rc |= vhost_dev_stop(&r.dev);
	for (i = 0; i < 2; i++)
		f.vqs[i].vring_base = vhost_dev_vring_base(&r.dev, i);
	rc |= vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
	ok(t, vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs) == -EBUSY, "no double start");
	rc |= vhost_dev_stop(&r.dev);
	ok(t, rc == 0 && vhost_dev_vring_base(&r.dev, 0) == 6 && vhost_dev_vring_base(&r.dev, 1) == 13,
	   "start, stop, start, stop (%u, %u)", vhost_dev_vring_base(&r.dev, 0),
	   vhost_dev_vring_base(&r.dev, 1));
	log = run_finish(&r);
	{
		const char *second = strstr(log, "SET_STATUS status=0x0\n");

		ok(t, second && !contains(second, "ADD_MEM_REG") && !contains(second, "SET_MEM_TABLE") &&
		   contains(second, "SET_VRING_BASE index=0 base=3") &&
		   contains(second, "SET_VRING_BASE index=1 base=10"),
		   "the second start sends no memory and resumes the rings at 3 and 10");
	}
	free(log);
	fixture_free(&f);
}

/* Everything start can know is wrong, it says before sending a byte. */
static void test_refusals(struct tap *t)
{
	struct vub_config cfg;
	struct fixture f;
	struct run r;
	struct vhost_mem_table m;
	struct vhost_vq_config q[2];
	char *log;
	int rc;

	full_config(&cfg);
	fixture_init(&f);
	rc = run_connect(&r, &cfg, 2000, false);
	rc |= vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	ok(t, rc == 0, "init");

	m = f.mem;
	m.shared = false;
	rc = vhost_dev_start(&r.dev, FEATURES, &m, f.vqs);
	ok(t, rc == -EINVAL && contains(vhost_dev_error(&r.dev), "guest RAM is not shared") &&
	   contains(vhost_dev_error(&r.dev), "-object memory-backend-memfd,id=mem,size=SIZE,share=on"),
	   "private RAM is refused with the command line that fixes it: %s", vhost_dev_error(&r.dev));

	memcpy(q, f.vqs, sizeof(q));
	q[1].used_gpa = GB4 + RAM_SIZE / 2 - 0x100;
	rc = vhost_dev_start(&r.dev, FEATURES, &f.mem, q);
	ok(t, rc == -EFAULT && contains(vhost_dev_error(&r.dev), "queue 1: used ring at guest address 0x1003fff00 (+2054 bytes) is not in guest RAM"),
	   "a ring that runs off guest RAM: %s", vhost_dev_error(&r.dev));
	memcpy(q, f.vqs, sizeof(q));
	q[0].desc_gpa = 0x10008;
	rc = vhost_dev_start(&r.dev, FEATURES, &f.mem, q);
	ok(t, rc == -EINVAL && contains(vhost_dev_error(&r.dev), "not 16-byte aligned"),
	   "a misaligned ring: %s", vhost_dev_error(&r.dev));
	memcpy(q, f.vqs, sizeof(q));
	q[0].size = 100;
	rc = vhost_dev_start(&r.dev, FEATURES, &f.mem, q);
	ok(t, rc == -EINVAL && contains(vhost_dev_error(&r.dev), "size 100 is not a power of 2"),
	   "a bad queue size: %s", vhost_dev_error(&r.dev));
	rc = vhost_dev_start(&r.dev, FEATURES | (1ULL << 34), &f.mem, f.vqs);
	ok(t, rc == -EINVAL && contains(vhost_dev_error(&r.dev), "acked features 0x400000000 that were not offered"),
	   "features the back-end never offered: %s", vhost_dev_error(&r.dev));
	r.dev.mem_slots = 1;
	rc = vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
	ok(t, rc == -E2BIG && contains(vhost_dev_error(&r.dev), "2 regions but the back-end takes at most 1"),
	   "more regions than the back-end has slots: %s", vhost_dev_error(&r.dev));
	ok(t, vhost_dev_stop(&r.dev) == 0, "stop of a device never started is a no-op");
	log = run_finish(&r);
	ok(t, contains(log, "SET_OWNER\nGET_FEATURES\nEOF"), "nothing was sent for any of them");
	free(log);

	/* The back-end has fewer queues than the device. */
	cfg.queue_num = 1;
	run_connect(&r, &cfg, 2000, false);
	rc = vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	ok(t, rc == -EINVAL && contains(vhost_dev_error(&r.dev), "vhost-user t0: the back-end supports at most 1 queues, the device needs 2"),
	   "too few queues: %s", vhost_dev_error(&r.dev));
	log = run_finish(&r);
	ok(t, contains(log, "GET_QUEUE_NUM\nEOF"), "init stops right there");
	free(log);
	ok(t, vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 0, 0) == -EINVAL,
	   "zero queues: %s", vhost_dev_error(&r.dev));
	fixture_free(&f);
}

/* A start the back-end refuses halfway is rolled back: rings enabled so
 * far disabled, rings handed over taken back. */
static void test_start_rollback(struct tap *t)
{
	static const char *const tail[] = {
		"SET_VRING_ENABLE index=0 enable=1 need_reply",
		"FAULT nack at SET_VRING_ENABLE",
		"SET_VRING_ENABLE index=1 enable=1 need_reply",
		"SET_VRING_ENABLE index=0 enable=0 need_reply",
		"GET_VRING_BASE index=0",
		"GET_VRING_BASE index=1",
		"EOF",
		NULL,
	};
	struct vub_config cfg;
	struct fixture f;
	struct run r;
	char *log;
	const char *p;
	int rc;

	full_config(&cfg);
	vub_parse_fault("nack@SET_VRING_ENABLE#2", &cfg);
	fixture_init(&f);
	rc = run_connect(&r, &cfg, 2000, false);
	rc |= vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	ok(t, rc == 0, "init");
	rc = vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
	ok(t, rc == -EIO && !r.dev.started &&
	   contains(vhost_dev_error(&r.dev), "vhost-user t0: SET_VRING_ENABLE: the back-end reported failure (ack 1)"),
	   "a refused SET_VRING_ENABLE fails the start: %s", vhost_dev_error(&r.dev));
	ok(t, vhost_dev_stop(&r.dev) == 0, "nothing to stop afterwards");
	log = run_finish(&r);
	p = strstr(log, "SET_VRING_ENABLE index=0 enable=1");
	ok(t, p && log_equals(p, tail, false), "rolled back: queue 0 disabled, both rings taken back");
	free(log);
	fixture_free(&f);
}

/* The device's RAM description from kvm/memory.c. */
static void test_guest_ram(struct tap *t)
{
	struct ram_config rc = { .size = 64ULL << 20, .share = true };
	struct guest_ram ram;
	struct vhost_mem_table m;
	char err[256];

	if (guest_ram_create(&ram, &rc, err, sizeof(err)) < 0) {
		ok(t, 0, "guest_ram_create: %s", err);
		return;
	}
	vhost_mem_table_from_guest_ram(&m, &ram);
	ok(t, m.nregions == 1 && m.shared && m.regions[0].fd == ram.fd &&
	   m.regions[0].hva == ram.base && m.regions[0].size == 64ULL << 20,
	   "64 MiB of shared memfd RAM is one region");
	ok(t, vhost_mem_table_gpa_to_hva(&m, 0x1000, 16) == (char *)ram.base + 0x1000 &&
	   !vhost_mem_table_gpa_to_hva(&m, (64ULL << 20) - 8, 16) &&
	   !vhost_mem_table_gpa_to_hva(&m, ~0ULL - 4, 16), "GPA translation stays inside regions");
	guest_ram_destroy(&ram);
	rc.share = false;
	if (guest_ram_create(&ram, &rc, err, sizeof(err)) == 0) {
		vhost_mem_table_from_guest_ram(&m, &ram);
		ok(t, !m.shared, "MAP_PRIVATE RAM is described as not shared");
		guest_ram_destroy(&ram);
	}
}

/* GET_VRING_BASE cannot be answered: the rings resume at the used index
 * the guest sees, the device learns the back-end is gone. */
static void test_stop_fallback(struct tap *t)
{
	struct vub_config cfg;
	struct fixture f;
	struct run r;
	char *log;
	int rc;

	full_config(&cfg);
	vub_parse_fault("close@GET_VRING_BASE", &cfg);
	fixture_init(&f);
	set_used_idx(&f, 0, 0x55);
	set_used_idx(&f, 1, 0x66);
	rc = run_connect(&r, &cfg, 2000, false);
	rc |= vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	rc |= vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
	ok(t, rc == 0, "started");
	rc = vhost_dev_stop(&r.dev);
	ok(t, rc == -ENOTCONN && vhost_dev_backend_lost(rc) &&
	   contains(vhost_dev_error(&r.dev), "GET_VRING_BASE: the back-end closed the connection"),
	   "stop reports the lost back-end: %s", vhost_dev_error(&r.dev));
	ok(t, !r.dev.started && vhost_dev_vring_base(&r.dev, 0) == 0x55 &&
	   vhost_dev_vring_base(&r.dev, 1) == 0x66,
	   "and falls back to the used index from guest memory (0x%x, 0x%x)",
	   vhost_dev_vring_base(&r.dev, 0), vhost_dev_vring_base(&r.dev, 1));
	log = run_finish(&r);
	free(log);
	fixture_free(&f);
}

/* CONFIG_CHANGE_MSG: the device re-reads the config over the main socket
 * while the back-end waits for its answer. */
static int reread_calls;

static int reread_config(void *opaque)
{
	struct vhost_dev *dev = opaque;
	uint8_t buf[8];

	reread_calls++;
	return vhost_dev_get_config(dev, 0, buf, 8);
}

static void test_config_change(struct tap *t)
{
	struct vub_config cfg;
	struct run r;
	struct pollfd p;
	uint8_t buf[8];
	char *log;
	int rc;

	full_config(&cfg);
	vub_parse_when("GET_CONFIG", &cfg.config_change_at);
	rc = run_connect(&r, &cfg, 2000, false);
	rc |= vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
	vhost_dev_set_config_notifier(&r.dev, reread_config, &r.dev);
	rc |= vhost_dev_get_config(&r.dev, 0, buf, 8);
	ok(t, rc == 0 && vhost_dev_event_fd(&r.dev) >= 0, "init, config read, back-end channel up");
	p = (struct pollfd){ .fd = vhost_dev_event_fd(&r.dev), .events = POLLIN };
	rc = poll(&p, 1, 2000) == 1 ? vhost_dev_handle_event(&r.dev) : -1;
	ok(t, rc == 0 && reread_calls == 1, "the config change reached the device, which re-read it");
	ok(t, vhost_dev_handle_event(&r.dev) == -EAGAIN, "nothing else pending");
	log = run_finish(&r);
	ok(t, contains(log, "BACKEND_REQ CONFIG_CHANGE_MSG sent need_reply") &&
	   contains(log, "BACKEND_REQ reply request=2 flags=0x5 ack=0") &&
	   strstr(strstr(log, "GET_CONFIG") + 1, "GET_CONFIG offset=0 size=8"),
	   "the back-end got its ack, and a second GET_CONFIG");
	free(log);
}

/* Which messages of golden_full (init + GET_CONFIG + start + stop) are
 * answered: a fault there must surface as an error somewhere later. */
static bool answered(const char *line)
{
	return !strncmp(line, "GET_", 4) || contains(line, "need_reply");
}

static void test_fault_matrix(struct tap *t)
{
	static const char *const kinds[] = {
		"close", "bad-id", "bad-flags", "bad-size", "short", "hang", "nack",
	};
	const char *msgs[64];
	int nmsgs = 0, last_answered = 0, k, n, i;
	int fd0 = h_count_fds();
	struct fixture f;

	for (i = 0; golden_full[i]; i++) {
		if (golden_full[i][0] == ' ' || !strcmp(golden_full[i], "EOF") ||
		    !strcmp(golden_full[i], "RESET_DEVICE"))
			continue;
		msgs[nmsgs++] = golden_full[i];
		if (answered(golden_full[i]))
			last_answered = nmsgs;
	}
	fixture_init(&f);
	for (k = 0; k < (int)(sizeof(kinds) / sizeof(kinds[0])); k++) {
		int bad_class = 0, missed = 0, slow = 0, unclear = 0, leaked = 0, violations = 0;
		int errors = 0, want_errors = 0;

		for (n = 1; n <= nmsgs; n++) {
			struct vub_config cfg;
			struct run r;
			char spec[32], *log;
			uint8_t buf[8];
			int64_t t0 = h_now_ms();
			int rc, fds_before = h_count_fds();
			bool want_err;

			full_config(&cfg);
			snprintf(spec, sizeof(spec), "%s@%d", kinds[k], n);
			vub_parse_fault(spec, &cfg);
			rc = run_connect(&r, &cfg, 100, false);
			if (rc == 0)
				rc = vhost_dev_init(&r.dev, &vhost_user_backend_ops, &r.vu, 0, 2, ~0ULL);
			if (rc == 0)
				rc = vhost_dev_get_config(&r.dev, 0, buf, 8);
			if (rc == 0)
				rc = vhost_dev_start(&r.dev, FEATURES, &f.mem, f.vqs);
			if (rc == 0)
				rc = vhost_dev_stop(&r.dev);
			if (h_now_ms() - t0 > 1500)
				slow++;
			if (!strcmp(kinds[k], "nack"))
				want_err = contains(msgs[n - 1], "need_reply") ||
					   !strncmp(msgs[n - 1], "GET_CONFIG", 10);
			else
				want_err = n <= last_answered;
			want_errors += want_err;
			if (rc < 0) {
				const char *e = vhost_dev_error(&r.dev);

				errors++;
				if (strncmp(e, "vhost-user t0: ", 15) || strlen(e) < 30)
					unclear++;
				if ((!strcmp(kinds[k], "close") && rc != -ENOTCONN) ||
				    (!strncmp(kinds[k], "bad-", 4) && rc != -EPROTO) ||
				    (!strcmp(kinds[k], "short") && rc != -ENOTCONN && rc != -EPROTO) ||
				    (!strcmp(kinds[k], "hang") && rc != -ETIMEDOUT) ||
				    (!strcmp(kinds[k], "nack") && rc != -EIO)) {
					bad_class++;
					printf("# %s: %d (%s)\n", spec, rc, e);
				}
			} else if (want_err) {
				missed++;
				printf("# %s: no error\n", spec);
			}
			log = run_finish(&r);
			if (!contains(log, "FAULT"))
				missed++;
			if (contains(log, "VIOLATION"))
				violations++;
			free(log);
			if (h_count_fds() != fds_before)
				leaked++;
		}
		ok(t, !missed && errors == want_errors && !bad_class && !unclear && !slow && !leaked &&
		   !violations,
		   "%s at each of the %d messages: %d clean errors (%d expected), %d of the wrong kind, %d unclear, %d slow, %d leaking",
		   kinds[k], nmsgs, errors, want_errors, bad_class, unclear, slow, leaked);
	}
	fixture_free(&f);
	ok(t, h_count_fds() == fd0, "no fd leaked over the whole matrix");
}

int main(void)
{
	struct tap t = TAP_INIT;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The fallback path warns on purpose. */
	log_set_level(LOG_ERROR);
	test_golden_full(&t);
	test_golden_no_reply_ack(&t);
	test_golden_legacy(&t);
	test_restart(&t);
	test_refusals(&t);
	test_start_rollback(&t);
	test_guest_ram(&t);
	test_stop_fallback(&t);
	test_config_change(&t);
	test_fault_matrix(&t);
	return tap_done(&t);
}
