/* vu-test-backend: a minimal vhost-user back-end for testing the
 * front-end. It answers the protocol like a real back-end would (features,
 * protocol features, queue count, memory slots and config bytes are set on
 * the command line), maps the memory table it is given (MAP_SHARED, and
 * reads the first word of each region to prove the fd is usable), checks
 * what it receives (sizes, flags, fds; breaches are logged as VIOLATION),
 * records every message as one line, and can misbehave on purpose at the
 * Nth message or at a named one: close the connection, answer with a wrong
 * request id, wrong flags, a wrong size or a truncated payload, never
 * answer, answer late, or answer "failed".
 *
 *   vu-test-backend --socket-path=PATH    listen (like virtiofsd) and serve
 *                   --connect=PATH        connect to a front-end that listens
 *                   --fd=N                serve an inherited socket
 *   --features=HEX --protocol-features=HEX --queues=N --mem-slots=N
 *   --config=HEXBYTES --log=FILE (default stdout) --vring-advance=N
 *   --fault=KIND@N | KIND@NAME[#K]   KIND: close bad-id bad-flags bad-size
 *                                    short hang late nack
 *   --delay-ms=N (for late) --config-change-after=NAME[#K]
 *
 * --device=NAME makes it the back-end of one virtio device type, as
 * rust-vmm's vhost-device-NAME is (features, protocol features, queue
 * count and config space preset from it; options after it override):
 *
 *   rng    vhost-user-rng-pci     serves the requests for real (getrandom())
 *   gpio   vhost-user-gpio-pci    8 mock lines with names, answers requests
 *   i2c    vhost-user-i2c-pci     no bus: every request fails (MSG_ERR)
 *   scmi   vhost-user-scmi-pci    takes nothing
 *   input  vhost-user-input-pci   a keyboard's virtio_input_config (select/subsel)
 *   snd    vhost-user-snd-pci     0 jacks/streams/chmaps; control: NOT_SUPP
 *   spi    vhost-user-spi-pci     its virtio_spi_config; transfers fail
 *   vsock  vhost-user-vsock-pci   guest_cid (--guest-cid=N, default 3); drops tx
 *   scsi   vhost-user-scsi-pci    an empty bus (BAD_TARGET); --queues=2+N
 *
 * The rings are served once started (the kick eventfds are polled with the
 * socket); "--device=help" lists the types. Each device's ring activity is
 * logged: RING START, the first KICK and REQUEST, RING STOP / RING STATS
 * with requests and bytes.
 *
 * The engine is tests/tools/vu_backend.h, which unit tests use directly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/tools/vu_backend.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vu-test-backend (--socket-path=PATH | --connect=PATH | --fd=N)\n"
		   "  [--features=HEX] [--protocol-features=HEX] [--queues=N] [--mem-slots=N]\n"
		   "  [--config=HEXBYTES] [--log=FILE] [--vring-advance=N]\n"
		   "  [--fault=KIND@N|KIND@NAME[#K]] [--delay-ms=N] [--config-change-after=NAME[#K]]\n"
		   "  [--device=NAME|help] [--guest-cid=N]\n"
		   "  KIND: close bad-id bad-flags bad-size short hang late nack\n");
}

static void list_devices(FILE *f)
{
	int i;

	fprintf(f, "%-6s %-22s %-9s %-12s %-9s %s\n", "NAME", "FRONT-END", "VIRTIO-ID",
		"FEATURES", "PROTOCOL", "QUEUES");
	for (i = 1; i < VUB_DEV_COUNT; i++) {
		const struct vub_device_type *t = &vub_device_types[i];

		fprintf(f, "%-6s %-22s %-9u 0x%-10" PRIx64 " 0x%-7" PRIx64 " %u\n", t->name, t->qemu,
			t->virtio_id, t->features, t->protocol_features, t->queues);
	}
}

static bool opt(const char *arg, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) || arg[n] != '=')
		return false;
	*val = arg + n + 1;
	return true;
}

/* ---- --self-test: a front-end of our own against the engine ----
 *
 * A guest's virtio-rng driver posts one direct descriptor per request, so a
 * boot never shows indirect tables, chains, buffers that cross a memory
 * region or the notification rules at work. This plays the driver and the
 * front-end: a forked child serves --device=rng on a socketpair, the parent
 * maps two GPA-adjacent regions of one memfd, builds a split ring in them
 * and checks each used entry, the random bytes, avail_event, when the call
 * eventfd fires (EVENT_IDX's used_event, or VRING_AVAIL_F_NO_INTERRUPT) and
 * GET_VRING_BASE. Prints TAP; exit status 0 when all pass. */

#define ST_REGION (1u << 20) /* two regions of 1 MiB, GPA 0 and 1 MiB */
#define ST_QSIZE 8
#define ST_DESC 0x1000       /* desc table, avail, used: region 0 */
#define ST_AVAIL 0x2000
#define ST_USED 0x3000

struct st {
	int sock, kick, call, n, failed;
	uint8_t *mem; /* both regions, contiguous here */
	uint16_t avail_idx, used_seen;
};

static void st_ok(struct st *t, bool cond, const char *what)
{
	t->n++;
	if (!cond)
		t->failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", t->n, what);
	fflush(stdout);
}

static int st_msg(struct st *t, uint32_t req, const void *payload, uint32_t size,
		  const int *fds, int nfds, uint64_t *reply)
{
	struct vhost_user_msg m;
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	memset(&m, 0, sizeof(m));
	m.hdr.request = req;
	m.hdr.flags = VHOST_USER_VERSION;
	m.hdr.size = size;
	if (size)
		memcpy(&m.payload, payload, size);
	iov[0] = (struct iovec){ &m.hdr, VHOST_USER_HDR_SIZE };
	iov[1] = (struct iovec){ &m.payload, size };
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(t->sock, &mh, MSG_NOSIGNAL) < 0)
		return -1;
	if (!reply)
		return 0;
	memset(&m, 0, sizeof(m));
	if (vub_read(t->sock, &m.hdr, VHOST_USER_HDR_SIZE, NULL, NULL) || m.hdr.size > 8 ||
	    (m.hdr.size && vub_read(t->sock, &m.payload, m.hdr.size, NULL, NULL)))
		return -1;
	*reply = m.payload.u64;
	return 0;
}

static uint64_t st_u64(struct st *t, uint32_t req)
{
	uint64_t v = ~0ULL;

	st_msg(t, req, NULL, 0, NULL, 0, &v);
	return v;
}

static void st_desc(struct st *t, uint64_t table, int i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *d = t->mem + table + 16 * (uint64_t)i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t *st_u16(struct st *t, uint64_t gpa)
{
	return (uint16_t *)(t->mem + gpa);
}

/* Makes head available and kicks. */
static void st_post(struct st *t, uint16_t head)
{
	uint64_t one = 1;

	*st_u16(t, ST_AVAIL + 4 + 2 * (t->avail_idx % ST_QSIZE)) = head;
	__atomic_store_n(st_u16(t, ST_AVAIL + 2), ++t->avail_idx, __ATOMIC_RELEASE);
	if (write(t->kick, &one, sizeof(one)) != sizeof(one))
		perror("kick");
}

/* Did the call eventfd fire within ms? (drains it) */
static bool st_called(struct st *t, int ms)
{
	struct pollfd p = { .fd = t->call, .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(t->call, &n, sizeof(n)) == sizeof(n);
}

/* Waits until used->idx reaches want (up to 2 s). */
static bool st_used(struct st *t, uint16_t want)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (__atomic_load_n(st_u16(t, ST_USED + 2), __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(1000);
	}
	return false;
}

static bool st_elem(struct st *t, uint16_t slot, uint32_t id, uint32_t len)
{
	uint32_t e[2];

	memcpy(e, t->mem + ST_USED + 4 + 8 * (slot % ST_QSIZE), 8);
	return e[0] == id && e[1] == len;
}

/* Random-looking: not all bytes equal, and not the 0x5a it was filled with. */
static bool st_random(const uint8_t *p, uint32_t len)
{
	uint32_t i, same = 0, fill = 0;

	for (i = 1; i < len; i++) {
		same += p[i] == p[0];
		fill += p[i] == 0x5a;
	}
	return len > 1 && same < len - 1 && fill < len / 4;
}

static int st_start(struct st *t, uint64_t features, const char *log)
{
	static struct vub b;
	int sv[2], memfd, fds[2];
	pid_t pid;
	struct vhost_user_memory mt;
	struct vhost_vring_state st;
	struct vhost_vring_addr ad;
	uint64_t idx;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(sv[0]);
		vub_config_defaults(&b.cfg);
		vub_device_preset(&b.cfg, VUB_DEV_RNG);
		b.cfg.log = fopen(log, "w");
		_exit(vub_serve(&b, sv[1]));
	}
	close(sv[1]);
	t->sock = sv[0];
	memfd = memfd_create("vub-self-test", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 2 * ST_REGION) < 0)
		return -1;
	t->mem = mmap(NULL, 2 * ST_REGION, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (t->mem == MAP_FAILED)
		return -1;
	memset(t->mem, 0x5a, 2 * ST_REGION);
	memset(t->mem + ST_DESC, 0, 0x3000);
	t->kick = eventfd(0, EFD_CLOEXEC);
	t->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->avail_idx = 0;

	st_ok(t, st_u64(t, VHOST_USER_GET_FEATURES) == VUB_LIBVHOST_FEATURES,
	      "GET_FEATURES: 0x171000000, as vhost-device-rng");
	st_msg(t, VHOST_USER_SET_FEATURES, &features, 8, NULL, 0, NULL);
	st_ok(t, st_u64(t, VHOST_USER_GET_PROTOCOL_FEATURES) == VUB_PF(MQ),
	      "GET_PROTOCOL_FEATURES: MQ only, as vhost-device-rng");
	idx = VUB_PF(MQ);
	st_msg(t, VHOST_USER_SET_PROTOCOL_FEATURES, &idx, 8, NULL, 0, NULL);
	st_ok(t, st_u64(t, VHOST_USER_GET_QUEUE_NUM) == 1, "GET_QUEUE_NUM: 1");
	memset(&mt, 0, sizeof(mt));
	mt.nregions = 2;
	mt.regions[0] = (struct vhost_user_mem_region){ 0, ST_REGION, (uintptr_t)t->mem, 0 };
	mt.regions[1] = (struct vhost_user_mem_region){ ST_REGION, ST_REGION,
							 (uintptr_t)t->mem + ST_REGION, ST_REGION };
	fds[0] = fds[1] = memfd;
	st_msg(t, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 2 * sizeof(mt.regions[0]), fds, 2, NULL);
	st = (struct vhost_vring_state){ 0, ST_QSIZE };
	st_msg(t, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL);
	st = (struct vhost_vring_state){ 0, 0 };
	st_msg(t, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL);
	memset(&ad, 0, sizeof(ad));
	ad.desc_user_addr = (uintptr_t)t->mem + ST_DESC;
	ad.avail_user_addr = (uintptr_t)t->mem + ST_AVAIL;
	ad.used_user_addr = (uintptr_t)t->mem + ST_USED;
	st_msg(t, VHOST_USER_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0, NULL);
	idx = 0;
	st_msg(t, VHOST_USER_SET_VRING_KICK, &idx, 8, &t->kick, 1, NULL);
	st_msg(t, VHOST_USER_SET_VRING_CALL, &idx, 8, &t->call, 1, NULL);
	st = (struct vhost_vring_state){ 0, 1 };
	st_msg(t, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0, NULL);
	close(memfd);
	/* A reply proves all of the above was handled. */
	return st_u64(t, VHOST_USER_GET_QUEUE_NUM) == 1 ? 0 : -1;
}

/* Is TEXT in the log (within ms)? */
static bool st_logged(const char *log, const char *text, int ms)
{
	char line[512];
	bool seen = false;

	for (; !seen && ms >= 0; ms -= 10) {
		FILE *f = fopen(log, "r");

		while (f && !seen && fgets(line, sizeof(line), f))
			seen = strstr(line, text) != NULL;
		if (f)
			fclose(f);
		if (!seen)
			usleep(10000);
	}
	return seen;
}

static int st_stop(struct st *t, uint16_t want_base, const char *log, bool broken)
{
	struct vhost_vring_state st = { 0, 0 };
	uint64_t r = ~0ULL;
	int status = -1;
	FILE *f;
	char line[512];
	bool violation = false;

	st_msg(t, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &r);
	st_ok(t, (uint32_t)(r >> 32) == want_base, "GET_VRING_BASE: the next entry to take");
	close(t->sock);
	wait(&status);
	st_ok(t, WIFEXITED(status) && WEXITSTATUS(status) == 0, "the back-end exits 0 at EOF");
	f = fopen(log, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "VIOLATION") && !broken) {
			violation = true;
			printf("# %s", line);
		}
	if (f)
		fclose(f);
	if (!broken)
		st_ok(t, f && !violation, "no VIOLATION in the back-end's log");
	munmap(t->mem, 2 * ST_REGION);
	close(t->kick);
	close(t->call);
	return 0;
}

static int self_test(void)
{
	struct st t = { 0 };
	char log[] = "/tmp/vub-self-test-XXXXXX";
	uint64_t f = VUB_LIBVHOST_FEATURES & ~(1ULL << VUB_F_NOTIFY_ON_EMPTY);
	int lfd = mkstemp(log);

	if (lfd < 0)
		return 1;
	close(lfd);
	/* 1: EVENT_IDX and INDIRECT_DESC acked, as Linux does. */
	if (st_start(&t, f, log) < 0) {
		printf("not ok 1 - set-up failed: %s\n", strerror(errno));
		return 1;
	}
	*st_u16(&t, ST_AVAIL + 4 + 2 * ST_QSIZE) = 0; /* used_event: tell me at entry 1 */
	st_desc(&t, ST_DESC, 0, 0x10000, 64, VUB_DESC_F_WRITE, 0);
	st_post(&t, 0);
	st_ok(&t, st_used(&t, 1) && st_elem(&t, 0, 0, 64),
	      "one 64-byte buffer: used entry {id 0, len 64}");
	st_ok(&t, st_random(t.mem + 0x10000, 64) && t.mem[0x10000 + 64] == 0x5a,
	      "its 64 bytes are random, the byte after it untouched");
	st_ok(&t, st_called(&t, 2000), "EVENT_IDX, used_event 0: the call fd fires");
	st_ok(&t, *st_u16(&t, ST_USED + 4 + 8 * ST_QSIZE) == 1,
	      "avail_event: 1 (kick me at the next entry)");

	/* A chain of three, the middle one across the region boundary. */
	st_desc(&t, ST_DESC, 1, 0x20000, 100, VUB_DESC_F_WRITE | VUB_DESC_F_NEXT, 2);
	st_desc(&t, ST_DESC, 2, ST_REGION - 0x80, 0x100, VUB_DESC_F_WRITE | VUB_DESC_F_NEXT, 5);
	st_desc(&t, ST_DESC, 5, ST_REGION + 0x1000, 28, VUB_DESC_F_WRITE, 0);
	*st_u16(&t, ST_AVAIL + 4 + 2 * ST_QSIZE) = 1;
	st_post(&t, 1);
	st_ok(&t, st_used(&t, 2) && st_elem(&t, 1, 1, 100 + 0x100 + 28),
	      "a 3-descriptor chain across two regions: len 384");
	st_ok(&t, st_random(t.mem + ST_REGION - 0x80, 0x100) && st_random(t.mem + 0x20000, 100) &&
		      st_random(t.mem + ST_REGION + 0x1000, 28),
	      "every piece of it is random");
	st_ok(&t, st_called(&t, 2000), "used_event 1: the call fd fires");

	/* Indirect: one descriptor naming a table of three. */
	st_desc(&t, 0x8000, 0, 0x30000, 16, VUB_DESC_F_WRITE | VUB_DESC_F_NEXT, 2);
	st_desc(&t, 0x8000, 2, 0x30100, 32, VUB_DESC_F_WRITE | VUB_DESC_F_NEXT, 1);
	st_desc(&t, 0x8000, 1, ST_REGION + 0x30000, 4096, VUB_DESC_F_WRITE, 0);
	st_desc(&t, ST_DESC, 3, 0x8000, 3 * 16, VUB_DESC_F_INDIRECT, 0);
	*st_u16(&t, ST_AVAIL + 4 + 2 * ST_QSIZE) = 2;
	st_post(&t, 3);
	st_ok(&t, st_used(&t, 3) && st_elem(&t, 2, 3, 16 + 32 + 4096),
	      "an indirect table of 3 (out of order): used entry {id 3, len 4144}");
	st_ok(&t, st_random(t.mem + ST_REGION + 0x30000, 4096) && st_random(t.mem + 0x30100, 32),
	      "its buffers are random");
	st_ok(&t, st_called(&t, 2000), "used_event 2: the call fd fires");

	/* used_event far ahead: two requests complete, no call. */
	*st_u16(&t, ST_AVAIL + 4 + 2 * ST_QSIZE) = 10;
	st_desc(&t, ST_DESC, 4, 0x40000, 8, VUB_DESC_F_WRITE, 0);
	st_desc(&t, ST_DESC, 6, 0x40010, 8, VUB_DESC_F_WRITE, 0);
	st_post(&t, 4);
	st_post(&t, 6);
	st_ok(&t, st_used(&t, 5) && st_elem(&t, 3, 4, 8) && st_elem(&t, 4, 6, 8),
	      "two more requests served");
	st_ok(&t, !st_called(&t, 300), "used_event 10: no call for used idx 4 and 5");
	st_stop(&t, 5, log, false);

	/* 2: no EVENT_IDX: VRING_AVAIL_F_NO_INTERRUPT decides. */
	if (st_start(&t, f & ~(1ULL << VUB_F_EVENT_IDX), log) < 0) {
		printf("not ok %d - set-up failed\n", ++t.n);
		return 1;
	}
	*st_u16(&t, ST_AVAIL) = VUB_AVAIL_F_NO_INTERRUPT;
	st_desc(&t, ST_DESC, 0, 0x10000, 512, VUB_DESC_F_WRITE, 0);
	st_post(&t, 0);
	st_ok(&t, st_used(&t, 1) && st_elem(&t, 0, 0, 512) && st_random(t.mem + 0x10000, 512),
	      "no EVENT_IDX: a 512-byte request served");
	st_ok(&t, !st_called(&t, 300), "VRING_AVAIL_F_NO_INTERRUPT: no call");
	*st_u16(&t, ST_AVAIL) = 0;
	st_post(&t, 0);
	st_ok(&t, st_used(&t, 2) && st_called(&t, 2000), "flag cleared: the next one calls");
	/* A broken chain: the ring stops, nothing is used, a VIOLATION logged. */
	st_desc(&t, ST_DESC, 1, 0x10000, 8, VUB_DESC_F_WRITE | VUB_DESC_F_NEXT, 99);
	st_post(&t, 1);
	st_ok(&t, st_logged(log, "VIOLATION queue 0: descriptor index out of range", 2000),
	      "a chain naming descriptor 99 of 8: logged as a VIOLATION");
	st_ok(&t, *st_u16(&t, ST_USED + 2) == 2 && !st_called(&t, 100),
	      "... not used, no call: the ring is not served any more");
	st_stop(&t, 2, log, true);
	unlink(log);
	printf("1..%d\n", t.n);
	return t.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct vub b;
	const char *listen_path = NULL, *connect_path = NULL, *v;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = -1, i;

	vub_config_defaults(&b.cfg);
	if (argc == 2 && !strcmp(argv[1], "--self-test"))
		return self_test();
	/* The device preset first, so that any other option overrides it. */
	for (i = 1; i < argc; i++) {
		int d;

		if (opt(argv[i], "--guest-cid", &v))
			b.cfg.guest_cid = strtoull(v, NULL, 0);
		if (!opt(argv[i], "--device", &v))
			continue;
		if (!strcmp(v, "help")) {
			list_devices(stdout);
			return 0;
		}
		d = vub_device_by_name(v);
		if (d < 0) {
			fprintf(stderr, "vu-test-backend: unknown --device %s (--device=help lists them)\n",
				v);
			return 2;
		}
		vub_device_preset(&b.cfg, (enum vub_device)d);
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opt(a, "--device", &v) || opt(a, "--guest-cid", &v)) {
			continue;
		} else if (opt(a, "--socket-path", &v)) {
			listen_path = v;
		} else if (opt(a, "--connect", &v)) {
			connect_path = v;
		} else if (opt(a, "--fd", &v)) {
			fd = atoi(v);
		} else if (opt(a, "--features", &v)) {
			b.cfg.features = strtoull(v, NULL, 16);
		} else if (opt(a, "--protocol-features", &v)) {
			b.cfg.protocol_features = strtoull(v, NULL, 16);
		} else if (opt(a, "--queues", &v)) {
			b.cfg.queue_num = strtoull(v, NULL, 0);
		} else if (opt(a, "--mem-slots", &v)) {
			b.cfg.mem_slots = strtoull(v, NULL, 0);
		} else if (opt(a, "--vring-advance", &v)) {
			b.cfg.vring_advance = (uint32_t)strtoul(v, NULL, 0);
		} else if (opt(a, "--delay-ms", &v)) {
			b.cfg.delay_ms = atoi(v);
		} else if (opt(a, "--config", &v)) {
			if (vub_parse_hex_bytes(v, b.cfg.config, &b.cfg.config_len) < 0) {
				fprintf(stderr, "vu-test-backend: bad --config %s\n", v);
				return 2;
			}
		} else if (opt(a, "--fault", &v)) {
			if (vub_parse_fault(v, &b.cfg) < 0) {
				fprintf(stderr, "vu-test-backend: bad --fault %s\n", v);
				return 2;
			}
		} else if (opt(a, "--config-change-after", &v)) {
			if (vub_parse_when(v, &b.cfg.config_change_at) < 0 ||
			    !b.cfg.config_change_at.request) {
				fprintf(stderr, "vu-test-backend: bad --config-change-after %s\n", v);
				return 2;
			}
		} else if (opt(a, "--log", &v)) {
			b.cfg.log = fopen(v, "w");
			if (!b.cfg.log) {
				fprintf(stderr, "vu-test-backend: %s: %s\n", v, strerror(errno));
				return 2;
			}
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "vu-test-backend: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	vub_device_finish_config(&b.cfg);
	if ((listen_path != NULL) + (connect_path != NULL) + (fd >= 0) != 1) {
		usage(stderr);
		return 2;
	}
	if (listen_path || connect_path) {
		const char *path = listen_path ? listen_path : connect_path;
		int s;

		if (strlen(path) >= sizeof(sa.sun_path)) {
			fprintf(stderr, "vu-test-backend: path too long\n");
			return 2;
		}
		memcpy(sa.sun_path, path, strlen(path));
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0) {
			perror("vu-test-backend: socket");
			return 1;
		}
		if (listen_path) {
			unlink(path);
			if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0) {
				fprintf(stderr, "vu-test-backend: %s: %s\n", path, strerror(errno));
				return 1;
			}
			fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
			close(s);
			unlink(path);
			if (fd < 0) {
				perror("vu-test-backend: accept");
				return 1;
			}
		} else {
			if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				fprintf(stderr, "vu-test-backend: connect %s: %s\n", path,
					strerror(errno));
				return 1;
			}
			fd = s;
		}
	}
	/* Like virtiofsd: one connection, then exit. */
	i = vub_serve(&b, fd);
	if (b.cfg.log && b.cfg.log != stdout)
		fclose(b.cfg.log);
	return i;
}
