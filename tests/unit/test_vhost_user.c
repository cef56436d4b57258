/* vhost-user front-end, connection level: wire format and names, the
 * trace switch and format, connecting and listening, every message
 * encoded by us and decoded by the test back-end (and its replies decoded
 * by us), strict reply validation, the reply timeout, REPLY_ACK and the
 * GET_FEATURES barrier, and the back-end request channel (also requests
 * that arrive in pieces, and back-ends that break its rules). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/tools/vu_harness.h"
#include "tests/unit/tap.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_user.h"
#include "vhost/vhost_user_trace.h"
#include "vmm/config.h"

#define PF(b) (1ULL << VHOST_USER_PROTOCOL_F_##b)

static bool contains(const char *hay, const char *needle)
{
	return hay && needle && strstr(hay, needle) != NULL;
}

static void test_names(struct tap *t)
{
	char buf[512];
	bool all = true;
	uint32_t i;

	for (i = 1; i <= VHOST_USER_MAX_REQUEST; i++)
		all &= vhost_user_request_name(i) != NULL;
	ok(t, all, "every front-end message 1-43 has a name");
	ok(t, !vhost_user_request_name(0) && !vhost_user_request_name(44),
	   "ids 0 and 44 have none");
	all = true;
	for (i = 1; i <= VHOST_USER_BACKEND_MAX_REQUEST; i++)
		all &= vhost_user_backend_request_name(i) != NULL;
	ok(t, all && !vhost_user_backend_request_name(9), "back-end messages 1-8 have names, 9 not");
	all = true;
	for (i = 0; i < VHOST_USER_PROTOCOL_F_NBITS; i++)
		all &= vhost_user_protocol_feature_name(i) != NULL;
	ok(t, all && !vhost_user_protocol_feature_name(20),
	   "protocol feature bits 0-19 have names, 20 not");
	ok(t, !strcmp(vhost_user_request_name(21), "SET_BACKEND_REQ_FD") &&
	   !strcmp(vhost_user_request_name(43), "CHECK_DEVICE_STATE") &&
	   !strcmp(vhost_user_backend_request_name(2), "CONFIG_CHANGE_MSG"),
	   "names follow the spec");

	vhost_user_format_features(buf, sizeof(buf), 0x175000000ULL);
	ok(t, !strcmp(buf, "0x175000000 [NOTIFY_ON_EMPTY LOG_ALL INDIRECT_DESC EVENT_IDX PROTOCOL_FEATURES VERSION_1]"),
	   "virtiofsd's features decode: %s", buf);
	vhost_user_format_features(buf, sizeof(buf), 0x100000006ULL);
	ok(t, !strcmp(buf, "0x100000006 [bit1 bit2 VERSION_1]"), "device bits show as bitN: %s", buf);
	vhost_user_format_protocol_features(buf, sizeof(buf), 0x8c2b);
	ok(t, !strcmp(buf, "0x8c2b [MQ LOG_SHMFD REPLY_ACK BACKEND_REQ BACKEND_SEND_FD HOST_NOTIFIER CONFIGURE_MEM_SLOTS]"),
	   "protocol features decode: %s", buf);
	vhost_user_format_status(buf, sizeof(buf), 0xf);
	ok(t, !strcmp(buf, "0xf [ACKNOWLEDGE DRIVER DRIVER_OK FEATURES_OK]"), "status decodes: %s", buf);
	/* A GET_STATUS reply is 64 bits: bits past 7 are nobody's status (a
	 * 32-bit shift of them was undefined and named bit 33 DRIVER). */
	vhost_user_format_status(buf, sizeof(buf), 0x8000000200000001ULL);
	ok(t, !strcmp(buf, "0x8000000200000001 [ACKNOWLEDGE bit33 bit63]"),
	   "status bits above 7 show as bitN: %s", buf);
	vhost_user_format_features(buf, 8, ~0ULL);
	ok(t, strlen(buf) == 7, "formatting truncates safely");
}

static void test_sizes(struct tap *t)
{
	ok(t, vhost_user_request_size_ok(VHOST_USER_GET_FEATURES, 0) &&
	   !vhost_user_request_size_ok(VHOST_USER_GET_FEATURES, 8), "GET_FEATURES carries nothing");
	ok(t, vhost_user_request_size_ok(VHOST_USER_SET_FEATURES, 8) &&
	   !vhost_user_request_size_ok(VHOST_USER_SET_FEATURES, 4), "SET_FEATURES carries a u64");
	ok(t, vhost_user_request_size_ok(VHOST_USER_SET_MEM_TABLE, 8 + 32) &&
	   vhost_user_request_size_ok(VHOST_USER_SET_MEM_TABLE, 8 + 8 * 32) &&
	   !vhost_user_request_size_ok(VHOST_USER_SET_MEM_TABLE, 8) &&
	   !vhost_user_request_size_ok(VHOST_USER_SET_MEM_TABLE, 8 + 9 * 32) &&
	   !vhost_user_request_size_ok(VHOST_USER_SET_MEM_TABLE, 8 + 33),
	   "SET_MEM_TABLE: 1 to 8 whole regions");
	ok(t, vhost_user_request_size_ok(VHOST_USER_GET_CONFIG, 12) &&
	   vhost_user_request_size_ok(VHOST_USER_GET_CONFIG, 12 + 256) &&
	   !vhost_user_request_size_ok(VHOST_USER_GET_CONFIG, 12 + 257) &&
	   !vhost_user_request_size_ok(VHOST_USER_GET_CONFIG, 11), "GET_CONFIG: header + 0-256 bytes");
	ok(t, vhost_user_request_size_ok(VHOST_USER_SET_VRING_ADDR, 40) &&
	   vhost_user_request_size_ok(VHOST_USER_ADD_MEM_REG, 40) &&
	   vhost_user_request_size_ok(VHOST_USER_GET_VRING_BASE, 8) &&
	   vhost_user_request_size_ok(VHOST_USER_IOTLB_MSG, 32) &&
	   vhost_user_request_size_ok(VHOST_USER_SET_INFLIGHT_FD, 24),
	   "fixed-size payloads");
	ok(t, !vhost_user_request_size_ok(VHOST_USER_CREATE_CRYPTO_SESSION, 8) &&
	   !vhost_user_request_size_ok(99, 0), "unimplemented and unknown ids are never ok");
	ok(t, vhost_user_backend_request_size_ok(VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 0) &&
	   !vhost_user_backend_request_size_ok(VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 8) &&
	   vhost_user_backend_request_size_ok(VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG, 24),
	   "back-end request sizes");
	ok(t, vhost_user_request_has_reply(VHOST_USER_GET_VRING_BASE) &&
	   !vhost_user_request_has_reply(VHOST_USER_SET_VRING_ENABLE), "which requests get replies");
}

static void test_trace_switch(struct tap *t)
{
	static const struct {
		const char *p[3];
		int n;
		bool want;
	} cases[] = {
		{ { "vhost-user" }, 1, true },
		{ { "vhost_user" }, 1, true },
		{ { "enable=vhost_user*" }, 1, true },
		{ { "vhost_user_msg" }, 1, true },
		{ { "vhost_user_backend_req" }, 1, true },
		{ { "*" }, 1, true },
		{ { "vhost*" }, 1, true },
		{ { "virtio*" }, 1, false },
		{ { "vhost_user_msgs" }, 1, false },
		{ { "vhost-user", "-vhost_user*" }, 2, false },
		{ { "-vhost_user*", "enable=vhost-user" }, 2, true },
		{ { NULL }, 0, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(t, vhost_user_trace_enabled(cases[i].p, cases[i].n) == cases[i].want,
		   "-trace %s%s%s -> %s", cases[i].p[0] ? cases[i].p[0] : "(none)",
		   cases[i].n > 1 ? " -trace " : "", cases[i].n > 1 ? cases[i].p[1] : "",
		   cases[i].want ? "on" : "off");
}

static void test_connect_errors(struct tap *t)
{
	struct vhost_user vu;
	struct chardev_config chr = { .id = "c0", .path = "/nonexistent/vu.sock" };
	char path[] = "/tmp/vu-test-XXXXXX", longp[200];
	int fd, r;

	vhost_user_init(&vu, "c0");
	r = vhost_user_open(&vu, &chr);
	ok(t, r == -ENOENT && contains(vhost_user_error(&vu), "vhost-user c0: cannot connect to /nonexistent/vu.sock: No such file or directory") &&
	   contains(vhost_user_error(&vu), "start the back-end first"),
	   "no socket: -ENOENT naming chardev, path and a hint (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);

	fd = mkstemp(path);
	chr.path = path;
	vhost_user_init(&vu, "c0");
	r = vhost_user_open(&vu, &chr);
	ok(t, r == -ECONNREFUSED && contains(vhost_user_error(&vu), "Connection refused"),
	   "a regular file: -ECONNREFUSED (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);
	chr.server = true;
	vhost_user_init(&vu, "c0");
	r = vhost_user_open(&vu, &chr);
	ok(t, r == -EEXIST && contains(vhost_user_error(&vu), "exists and is not a socket"),
	   "server=on does not delete a regular file (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);
	ok(t, access(path, F_OK) == 0, "the file is still there");
	close(fd);
	unlink(path);

	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	chr.path = longp;
	chr.server = false;
	vhost_user_init(&vu, "c0");
	r = vhost_user_open(&vu, &chr);
	ok(t, r == -ENAMETOOLONG, "an overlong path is refused (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);

	vhost_user_init(&vu, "c0");
	r = vhost_user_get_features(&vu, &(uint64_t){ 0 });
	ok(t, r == -ENOTCONN && contains(vhost_user_error(&vu), "GET_FEATURES: not connected"),
	   "messages on no connection: -ENOTCONN (%s)", vhost_user_error(&vu));
}

/* A listener that never accepts: connect() either waits in the backlog
 * (then the first reply times out) or finds the backlog full (then the
 * connect itself gives up after the timeout). Never a hang. */
static void test_silent_listener(struct tap *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct chardev_config chr = { .id = "c1" };
	struct vhost_user vu;
	char dir[] = "/tmp/vu-test-XXXXXX", path[64];
	uint64_t f;
	int64_t t0;
	int ls, filler, r;

	if (!mkdtemp(dir)) {
		ok(t, 0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/s", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = bind(ls, (struct sockaddr *)&sa, sizeof(sa));
	r |= listen(ls, 0);
	chr.path = path;

	vhost_user_init(&vu, "c1");
	vhost_user_set_timeout(&vu, 200);
	r |= vhost_user_open(&vu, &chr);
	ok(t, r == 0 && vhost_user_connected(&vu), "connect to a listener that never accepts succeeds (queued)");
	t0 = h_now_ms();
	r = vhost_user_get_features(&vu, &f);
	ok(t, r == -ETIMEDOUT && h_now_ms() - t0 >= 190 && h_now_ms() - t0 < 2000,
	   "the first reply times out after ~200 ms (%lld ms)", (long long)(h_now_ms() - t0));
	ok(t, contains(vhost_user_error(&vu), "vhost-user c1: GET_FEATURES: no reply from the back-end within 200 ms"),
	   "the error says so: %s", vhost_user_error(&vu));
	ok(t, !vhost_user_connected(&vu) && vhost_user_get_features(&vu, &f) == -ENOTCONN,
	   "the connection is closed after a timeout: later calls fail fast");
	vhost_user_close(&vu);

	/* Make sure the backlog is full (0 means one pending connection; the
	 * one above may still be queued), then connect. */
	filler = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	r = connect(filler, (struct sockaddr *)&sa, sizeof(sa));
	(void)r;
	vhost_user_init(&vu, "c1");
	vhost_user_set_timeout(&vu, 200);
	t0 = h_now_ms();
	r = vhost_user_open(&vu, &chr);
	ok(t, r == -ETIMEDOUT && h_now_ms() - t0 < 2000 && contains(vhost_user_error(&vu), "backlog full"),
	   "a full backlog gives up after the timeout (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);
	close(filler);
	close(ls);
	unlink(path);
	rmdir(dir);
}

static void test_server(struct tap *t)
{
	struct chardev_config chr = { .id = "srv", .server = true, .wait = false };
	struct vhost_user vu;
	struct vub_config cfg;
	struct harness h, h2;
	char dir[] = "/tmp/vu-test-XXXXXX", path[64];
	struct pollfd p;
	uint64_t f = 0;
	char *log;
	int r;

	if (!mkdtemp(dir)) {
		ok(t, 0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/srv.sock", dir);
	chr.path = path;
	vub_config_defaults(&cfg);

	/* wait=off: the caller polls and accepts later. */
	vhost_user_init(&vu, "srv");
	r = vhost_user_open(&vu, &chr);
	ok(t, r == 0 && !vhost_user_connected(&vu) && vhost_user_listen_fd(&vu) >= 0,
	   "server=on,wait=off returns at once with a listening fd");
	ok(t, vhost_user_accept(&vu) == -EAGAIN, "nothing to accept yet: -EAGAIN");
	harness_start_how(&h, &cfg, path, 0);
	p = (struct pollfd){ .fd = vhost_user_listen_fd(&vu), .events = POLLIN };
	r = poll(&p, 1, 5000);
	ok(t, r == 1 && vhost_user_accept(&vu) == 0 && vhost_user_connected(&vu),
	   "the back-end connects; poll + accept");
	ok(t, vhost_user_listen_fd(&vu) == -1, "no listen fd to poll while connected");
	ok(t, vhost_user_get_features(&vu, &f) == 0 && f == cfg.features, "and it talks");
	/* A second back-end is turned away. */
	harness_start_how(&h2, &cfg, path, 0);
	r = poll(&p, 1, 5000);
	ok(t, r == 1 && vhost_user_accept(&vu) == -EBUSY && vhost_user_connected(&vu),
	   "a second connection is refused, the first stays");
	log = harness_finish(&h2);
	ok(t, contains(log, "EOF"), "the second back-end saw its connection closed");
	free(log);
	vhost_user_disconnect(&vu);
	log = harness_finish(&h);
	ok(t, contains(log, "GET_FEATURES\nEOF"), "the first back-end was served until we disconnected");
	free(log);
	ok(t, vhost_user_listen_fd(&vu) >= 0, "after a disconnect the server listens again");
	vhost_user_close(&vu);
	ok(t, access(path, F_OK) != 0, "close removes the socket file");

	/* wait=on: blocks until the back-end is there. */
	chr.wait = true;
	vhost_user_init(&vu, "srv");
	harness_start_how(&h, &cfg, path, 300);
	r = vhost_user_open(&vu, &chr);
	ok(t, r == 0 && vhost_user_connected(&vu), "server=on,wait=on waits for the back-end (%s)",
	   r ? vhost_user_error(&vu) : "ok");
	ok(t, vhost_user_get_features(&vu, &f) == 0, "and it talks");
	vhost_user_close(&vu);
	free(harness_finish(&h));
	rmdir(dir);
}

/* Sets the vu up against a forked back-end with cfg. */
static int connect_backend(struct vhost_user *vu, struct harness *h,
			   const struct vub_config *cfg, FILE *trace)
{
	vhost_user_init(vu, "t0");
	vhost_user_set_trace(vu, trace);
	if (harness_start(h, cfg) < 0)
		return -1;
	if (vhost_user_attach_fd(vu, h->fd) < 0)
		return -1;
	h->fd = -1; /* the vu owns it */
	return 0;
}

static int config_changes;

static int count_config_change(void *opaque)
{
	(void)opaque;
	config_changes++;
	return 0;
}

static const struct vhost_user_backend_req_ops count_ops = {
	.config_change = count_config_change,
};

/* Every message once: what the back-end decoded must be what we meant,
 * and what it answered must be what we return. */
static void test_every_message(struct tap *t)
{
	static const char *const want[] = {
		"GET_FEATURES",
		"GET_PROTOCOL_FEATURES",
		"SET_PROTOCOL_FEATURES features=0x1a229",
		"GET_QUEUE_NUM",
		"GET_MAX_MEM_SLOTS",
		"SET_BACKEND_REQ_FD need_reply",
		"SET_OWNER",
		"SET_FEATURES features=0x160000000",
		"SET_MEM_TABLE nregions=2 need_reply",
		"  region 0 gpa=0x0 size=0x200000 offset=0x0 probe=0x6867666564636261",
		"  region 1 gpa=0x100000000 size=0x200000 offset=0x200000 probe=0x3837363534333231",
		"REM_MEM_REG gpa=0x100000000 size=0x200000 need_reply",
		"ADD_MEM_REG need_reply",
		"  region 1 gpa=0x100000000 size=0x200000 offset=0x200000 probe=0x3837363534333231",
		"SET_VRING_NUM index=1 num=64",
		"SET_VRING_ADDR index=1 flags=0x0 desc=0x1000 avail=0x1400 used=0x2000",
		"SET_VRING_BASE index=1 base=5",
		"GET_VRING_BASE index=1",
		"SET_VRING_KICK index=1 fd",
		"SET_VRING_KICK index=2 nofd",
		"SET_VRING_CALL index=1 fd",
		"SET_VRING_ERR index=1 fd",
		"SET_VRING_ENABLE index=1 enable=1 need_reply",
		"GET_CONFIG offset=2 size=4",
		"SET_CONFIG offset=1 size=2 flags=0 need_reply",
		"GET_CONFIG offset=0 size=8",
		"SET_STATUS status=0x3",
		"GET_STATUS",
		"RESET_DEVICE",
		"GET_FEATURES",
		"EOF",
		NULL,
	};
	struct vhost_user vu;
	struct vub_config cfg;
	struct harness h;
	struct vhost_mem_region reg[2];
	struct vhost_vring_addr addr;
	uint64_t v = 0, pf = 0;
	unsigned base = 0;
	uint8_t cfgbuf[8], st = 0, one[2] = { 0xaa, 0xbb };
	int memfd, kick, call, err, fd0, r;
	char *ram, *log;

	vub_config_defaults(&cfg);
	memcpy(cfg.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	cfg.config_len = 8;
	cfg.vring_advance = 2;
	fd0 = h_count_fds();

	memfd = memfd_create("ram", MFD_CLOEXEC);
	r = ftruncate(memfd, 4 << 20);
	ram = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	memcpy(ram, "abcdefgh", 8);
	memcpy(ram + (2 << 20), "12345678", 8);
	reg[0] = (struct vhost_mem_region){ 0, 2 << 20, 0, ram, memfd };
	reg[1] = (struct vhost_mem_region){ 1ULL << 32, 2 << 20, 2 << 20, ram + (2 << 20), memfd };
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	r |= connect_backend(&vu, &h, &cfg, NULL);
	ok(t, r == 0, "back-end running");
	ok(t, vhost_user_get_features(&vu, &v) == 0 && v == cfg.features, "GET_FEATURES -> 0x%llx",
	   (unsigned long long)v);
	ok(t, vhost_user_get_protocol_features(&vu, &pf) == 0 && pf == cfg.protocol_features,
	   "GET_PROTOCOL_FEATURES -> 0x%llx", (unsigned long long)pf);
	ok(t, vhost_user_get_queue_num(&vu, &v) == -EOPNOTSUPP && vhost_user_get_status(&vu, &st) == -EOPNOTSUPP,
	   "messages gated by protocol features are refused before negotiation");
	ok(t, vhost_user_set_protocol_features(&vu, pf) == 0 && vu.protocol_features == pf,
	   "SET_PROTOCOL_FEATURES records what was negotiated");
	ok(t, vhost_user_get_queue_num(&vu, &v) == 0 && v == 2, "GET_QUEUE_NUM -> %llu", (unsigned long long)v);
	ok(t, vhost_user_get_max_mem_slots(&vu, &v) == 0 && v == 32, "GET_MAX_MEM_SLOTS -> %llu",
	   (unsigned long long)v);
	ok(t, vhost_user_setup_backend_req(&vu, &count_ops, NULL) == 0 && vhost_user_backend_req_fd(&vu) >= 0,
	   "SET_BACKEND_REQ_FD (acked) leaves us a channel to poll");
	ok(t, vhost_user_set_owner(&vu) == 0, "SET_OWNER");
	ok(t, vhost_user_set_features(&vu, 0x160000000ULL) == 0, "SET_FEATURES");
	ok(t, vhost_user_set_mem_table(&vu, reg, 2) == 0, "SET_MEM_TABLE with two regions of one memfd");
	ok(t, vhost_user_rem_mem_reg(&vu, &reg[1]) == 0 && vhost_user_add_mem_reg(&vu, &reg[1]) == 0,
	   "REM_MEM_REG, ADD_MEM_REG");
	ok(t, vhost_user_set_vring_num(&vu, 1, 64) == 0, "SET_VRING_NUM");
	addr = (struct vhost_vring_addr){ .index = 1,
		.desc_user_addr = (uintptr_t)ram + 0x1000,
		.avail_user_addr = (uintptr_t)ram + 0x1400,
		.used_user_addr = (uintptr_t)ram + 0x2000 };
	ok(t, vhost_user_set_vring_addr(&vu, &addr) == 0, "SET_VRING_ADDR (the back-end maps the HVAs back to GPAs)");
	ok(t, vhost_user_set_vring_base(&vu, 1, 5) == 0, "SET_VRING_BASE");
	ok(t, vhost_user_get_vring_base(&vu, 1, &base) == 0 && base == 7, "GET_VRING_BASE -> %u", base);
	ok(t, vhost_user_set_vring_kick(&vu, 1, kick) == 0 && vhost_user_set_vring_kick(&vu, 2, -1) == 0,
	   "SET_VRING_KICK with an fd and with NOFD");
	ok(t, vhost_user_set_vring_call(&vu, 1, call) == 0 && vhost_user_set_vring_err(&vu, 1, err) == 0,
	   "SET_VRING_CALL, SET_VRING_ERR");
	ok(t, vhost_user_set_vring_kick(&vu, 256, kick) == -EINVAL, "queue index 256 does not fit: refused");
	ok(t, vhost_user_set_vring_enable(&vu, 1, true) == 0, "SET_VRING_ENABLE (acked)");
	{
		struct pollfd p = { .fd = call, .events = POLLIN };
		uint64_t n = 0;

		ok(t, poll(&p, 1, 2000) == 1 && read(call, &n, 8) == 8 && n == 1,
		   "the call eventfd reached the back-end: it signalled it");
	}
	ok(t, vhost_user_get_config(&vu, 2, cfgbuf, 4) == 0 && !memcmp(cfgbuf, "\x03\x04\x05\x06", 4),
	   "GET_CONFIG at an offset");
	ok(t, vhost_user_get_config(&vu, 0, cfgbuf, 257) == -E2BIG, "GET_CONFIG over 256 bytes refused");
	ok(t, vhost_user_set_config(&vu, 1, one, 2, 0) == 0, "SET_CONFIG (acked)");
	ok(t, vhost_user_get_config(&vu, 0, cfgbuf, 8) == 0 &&
	   !memcmp(cfgbuf, "\x01\xaa\xbb\x04\x05\x06\x07\x08", 8), "SET_CONFIG reached the back-end");
	ok(t, vhost_user_set_status(&vu, 3) == 0 && vhost_user_get_status(&vu, &st) == 0 && st == 3,
	   "SET_STATUS, GET_STATUS -> %u", st);
	ok(t, vhost_user_reset_device(&vu) == 0, "RESET_DEVICE");
	ok(t, vhost_user_get_features(&vu, &v) == 0, "still in sync afterwards");
	vhost_user_close(&vu);
	log = harness_finish(&h);
	ok(t, log_equals(log, want, false), "the back-end decoded exactly what we sent");
	ok(t, !contains(log, "VIOLATION"), "and found nothing to object to");
	free(log);
	close(kick);
	close(call);
	close(err);
	munmap(ram, 4 << 20);
	close(memfd);
	ok(t, h_count_fds() == fd0, "no fd leaked (%d before, %d after)", fd0, h_count_fds());
}

static const struct {
	const char *fault;
	int err;
	const char *msg;
} garbage[] = {
	{ "bad-id@1", -EPROTO, "GET_FEATURES: reply has request id 15 (GET_PROTOCOL_FEATURES), expected 1; connection closed" },
	{ "bad-flags@1", -EPROTO, "GET_FEATURES: reply has flags 0x1, expected 0x5 (version 1, REPLY); connection closed" },
	{ "bad-size@1", -EPROTO, "GET_FEATURES: reply has size 12, expected 8; connection closed" },
	{ "short@1", -ENOTCONN, "GET_FEATURES: the back-end closed the connection in the middle of its reply" },
	{ "close@1", -ENOTCONN, "GET_FEATURES: the back-end closed the connection instead of replying" },
};

static void test_garbage(struct tap *t)
{
	struct vhost_user vu;
	struct vub_config cfg;
	struct harness h;
	size_t i;
	uint64_t v;
	int r, fd0 = h_count_fds();
	char *log, *tr = NULL;
	size_t trlen = 0;
	FILE *trace;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		vub_config_defaults(&cfg);
		vub_parse_fault(garbage[i].fault, &cfg);
		trace = open_memstream(&tr, &trlen);
		connect_backend(&vu, &h, &cfg, trace);
		r = vhost_user_get_features(&vu, &v);
		ok(t, r == garbage[i].err && contains(vhost_user_error(&vu), garbage[i].msg),
		   "%s: %d, \"%s\"", garbage[i].fault, r, vhost_user_error(&vu));
		ok(t, !vhost_user_connected(&vu) && vhost_user_get_features(&vu, &v) == -ENOTCONN,
		   "%s: connection closed, later calls -ENOTCONN", garbage[i].fault);
		vhost_user_close(&vu);
		fclose(trace);
		if (r == -EPROTO)
			ok(t, contains(tr, "<- ") && contains(tr, "REJECTED: reply has"),
			   "%s: the trace shows the rejected reply", garbage[i].fault);
		free(tr);
		tr = NULL;
		log = harness_finish(&h);
		ok(t, contains(log, "FAULT"), "%s: the fault was injected", garbage[i].fault);
		free(log);
	}
	ok(t, h_count_fds() == fd0, "no fd leaked");
}

/* Replies fed through a socketpair by the test itself. */
static void test_raw_replies(struct tap *t)
{
	struct vhost_user vu;
	struct vhost_vring_state st = { 3, 9 };
	uint64_t v = 0x100, z = 0;
	uint8_t s = 0;
	unsigned base;
	int sv[2], memfd, fd_start = h_count_fds(), fd0, r;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	vhost_user_init(&vu, "raw");
	vhost_user_set_timeout(&vu, 300);
	vhost_user_attach_fd(&vu, sv[0]);

	/* A reply carrying an fd nobody asked for: accepted, fd closed. */
	fd0 = h_count_fds();
	memfd = memfd_create("stray", MFD_CLOEXEC);
	raw_reply(sv[1], VHOST_USER_GET_FEATURES, VHOST_USER_REPLY_FLAGS, 8, &z, 8, memfd);
	close(memfd);
	r = vhost_user_get_features(&vu, &v);
	ok(t, r == 0 && v == 0, "a reply with a stray fd is accepted");
	ok(t, h_count_fds() == fd0, "and the stray fd is closed");

	raw_reply(sv[1], VHOST_USER_GET_VRING_BASE, VHOST_USER_REPLY_FLAGS, 8, &st, 8, -1);
	r = vhost_user_get_vring_base(&vu, 2, &base);
	ok(t, r == -EPROTO && contains(vhost_user_error(&vu), "reply is for queue 3, expected 2"),
	   "GET_VRING_BASE for another queue is rejected (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);
	close(sv[1]);

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	vhost_user_init(&vu, "raw");
	vhost_user_attach_fd(&vu, sv[0]);
	raw_reply(sv[1], VHOST_USER_GET_FEATURES, VHOST_USER_REPLY_FLAGS, 0x10000, NULL, 0, -1);
	r = vhost_user_get_features(&vu, &v);
	ok(t, r == -EPROTO && contains(vhost_user_error(&vu), "reply has size 65536, expected 8"),
	   "a huge size is rejected before reading it (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);
	close(sv[1]);

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	vhost_user_init(&vu, "raw");
	vhost_user_attach_fd(&vu, sv[0]);
	vu.protocol_features = 1ULL << VHOST_USER_PROTOCOL_F_STATUS;
	v = 0x1ff;
	raw_reply(sv[1], VHOST_USER_GET_STATUS, VHOST_USER_REPLY_FLAGS, 8, &v, 8, -1);
	r = vhost_user_get_status(&vu, &s);
	ok(t, r == -EPROTO, "a status over 8 bits is rejected (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);
	close(sv[1]);

	/* Flags with NEED_REPLY or version 2 are not a reply either. */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	vhost_user_init(&vu, "raw");
	vhost_user_attach_fd(&vu, sv[0]);
	raw_reply(sv[1], VHOST_USER_GET_FEATURES, VHOST_USER_REPLY_FLAGS | VHOST_USER_NEED_REPLY_MASK,
		  8, &z, 8, -1);
	ok(t, vhost_user_get_features(&vu, &v) == -EPROTO, "reply flags 0xd are rejected");
	vhost_user_close(&vu);
	close(sv[1]);

	/* The peer is gone before we send: EPIPE becomes -ENOTCONN, no
	 * SIGPIPE. */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	vhost_user_init(&vu, "raw");
	vhost_user_attach_fd(&vu, sv[0]);
	close(sv[1]);
	r = vhost_user_set_owner(&vu);
	ok(t, r == -ENOTCONN && contains(vhost_user_error(&vu), "SET_OWNER: the back-end closed the connection"),
	   "sending to a dead back-end: -ENOTCONN, no SIGPIPE (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);
	ok(t, h_count_fds() == fd_start, "no fd leaked");
}

static void test_timeouts(struct tap *t)
{
	struct vhost_user vu;
	struct vub_config cfg;
	struct harness h;
	uint64_t v;
	int64_t t0;
	int r;
	char *log, *tr = NULL, *p;
	size_t trlen = 0;
	FILE *trace;
	long long us = 0;

	vub_config_defaults(&cfg);
	vub_parse_fault("hang@GET_PROTOCOL_FEATURES", &cfg);
	connect_backend(&vu, &h, &cfg, NULL);
	vhost_user_set_timeout(&vu, 200);
	ok(t, vhost_user_get_features(&vu, &v) == 0, "first message answered");
	t0 = h_now_ms();
	r = vhost_user_get_protocol_features(&vu, &v);
	ok(t, r == -ETIMEDOUT && h_now_ms() - t0 >= 190 && h_now_ms() - t0 < 1500,
	   "a back-end that never answers: -ETIMEDOUT after %lld ms", (long long)(h_now_ms() - t0));
	ok(t, contains(vhost_user_error(&vu), "GET_PROTOCOL_FEATURES: no reply from the back-end within 200 ms; connection closed"),
	   "%s", vhost_user_error(&vu));
	vhost_user_close(&vu);
	log = harness_finish(&h);
	ok(t, contains(log, "FAULT hang at GET_PROTOCOL_FEATURES\nEOF"), "the back-end hung and then saw EOF");
	free(log);

	vub_config_defaults(&cfg);
	vub_parse_fault("late@1", &cfg);
	cfg.delay_ms = 60;
	trace = open_memstream(&tr, &trlen);
	connect_backend(&vu, &h, &cfg, trace);
	vhost_user_set_timeout(&vu, 3000);
	r = vhost_user_get_features(&vu, &v);
	vhost_user_close(&vu);
	fclose(trace);
	p = strstr(tr ? tr : "", "<- GET_FEATURES");
	if (p && (p = strchr(p, '(')) && (p = strchr(p + 1, '(')))
		us = atoll(p + 1);
	ok(t, r == 0 && us >= 60000 && us < 3000000,
	   "a late reply within the timeout is fine, and the trace shows its round trip (%lld us)", us);
	free(tr);
	free(harness_finish(&h));
}

static void test_reply_ack(struct tap *t)
{
	static const char *const barrier[] = {
		"SET_PROTOCOL_FEATURES features=0x1",
		"SET_VRING_ENABLE index=0 enable=1",
		"GET_FEATURES",
		"SET_VRING_NUM index=0 num=8",
		"GET_FEATURES",
		"EOF",
		NULL,
	};
	struct vhost_user vu;
	struct vub_config cfg;
	struct harness h;
	struct vhost_user_msg m;
	uint64_t v;
	char *log;
	int r;

	/* With REPLY_ACK: NEED_REPLY, and a non-zero ack is an error that
	 * leaves the connection usable. */
	vub_config_defaults(&cfg);
	vub_parse_fault("nack@SET_VRING_ENABLE", &cfg);
	connect_backend(&vu, &h, &cfg, NULL);
	r = vhost_user_set_protocol_features(&vu, PF(REPLY_ACK));
	r |= vhost_user_set_vring_enable(&vu, 0, true);
	ok(t, r == -EIO && contains(vhost_user_error(&vu), "SET_VRING_ENABLE: the back-end reported failure (ack 1)"),
	   "a NACKed SET_VRING_ENABLE: -EIO (%s)", vhost_user_error(&vu));
	ok(t, vhost_user_connected(&vu) && vhost_user_get_features(&vu, &v) == 0,
	   "the connection stays usable after a NACK");
	vhost_user_close(&vu);
	log = harness_finish(&h);
	ok(t, contains(log, "SET_VRING_ENABLE index=0 enable=1 need_reply\nGET_FEATURES\nEOF"),
	   "NEED_REPLY was set");
	free(log);

	/* Without REPLY_ACK: SET_VRING_ENABLE is followed by a GET_FEATURES
	 * barrier; other writes are not, unless asked to wait. */
	vub_config_defaults(&cfg);
	connect_backend(&vu, &h, &cfg, NULL);
	r = vhost_user_set_protocol_features(&vu, PF(MQ));
	r |= vhost_user_set_vring_enable(&vu, 0, true);
	memset(&m, 0, sizeof(m));
	m.hdr = (struct vhost_user_hdr){ VHOST_USER_SET_VRING_NUM, VHOST_USER_VERSION, 8 };
	m.payload.state = (struct vhost_vring_state){ 0, 8 };
	r |= vhost_user_write_sync(&vu, &m, NULL, 0, true);
	ok(t, r == 0, "enable and a waited-for write without REPLY_ACK");
	vhost_user_close(&vu);
	log = harness_finish(&h);
	ok(t, log_equals(log, barrier, false), "each is followed by a GET_FEATURES barrier");
	ok(t, !contains(log, "VIOLATION"), "and NEED_REPLY was never set without REPLY_ACK");
	free(log);
}

static void close_fds(int *fds, int nfds)
{
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The back-end channel, with the test playing the back-end. */
static int fail_calls;

static int fail_config_change(void *opaque)
{
	fail_calls++;
	(void)opaque;
	return -EIO;
}

static int read_reply_u64(int fd, uint32_t *request, uint32_t *flags, uint64_t *v)
{
	struct vhost_user_hdr hdr;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1 || vub_read(fd, &hdr, sizeof(hdr), NULL, NULL) ||
	    hdr.size != 8 || vub_read(fd, v, 8, NULL, NULL))
		return -1;
	*request = hdr.request;
	*flags = hdr.flags;
	return 0;
}

/* The channel the way a misbehaving back-end uses it: a test cuts a
 * request anywhere and puts fds on any piece. */
static int send_raw(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 16)
		return -1;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* A request's bytes as they go on the wire; returns how many. */
static size_t put_req(uint8_t *buf, uint32_t request, uint32_t flags,
		      const void *payload, uint32_t size)
{
	struct vhost_user_hdr hdr = { request, flags, size };

	memcpy(buf, &hdr, sizeof(hdr));
	if (size)
		memcpy(buf + sizeof(hdr), payload, size);
	return sizeof(hdr) + size;
}

static int handle_timed(struct vhost_user *vu, int64_t *ms)
{
	int64_t t0 = h_now_ms();
	int r = vhost_user_handle_backend_req(vu);

	*ms = h_now_ms() - t0;
	return r;
}

/* (Re)creates vu's request channel; main_peer is the main socket's other
 * end, where SET_BACKEND_REQ_FD arrives. Returns the back-end's end. */
static int channel_again(struct vhost_user *vu, int main_peer)
{
	struct vhost_user_hdr hdr;
	int fds[VHOST_USER_MAX_FDS], nfds = 0;

	if (vhost_user_setup_backend_req(vu, &count_ops, NULL) < 0 ||
	    vub_read(main_peer, &hdr, sizeof(hdr), fds, &nfds) ||
	    hdr.request != VHOST_USER_SET_BACKEND_REQ_FD || nfds != 1) {
		close_fds(fds, nfds);
		return -1;
	}
	return fds[0];
}

/* A vu with BACKEND_REQ (no REPLY_ACK, so nothing waits on the main
 * socket) and no back-end process: the test is the back-end. */
static int channel_up(struct vhost_user *vu, const char *name, int *main_peer, FILE *trace)
{
	struct vhost_user_msg m;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	vhost_user_init(vu, name);
	vhost_user_set_trace(vu, trace);
	vhost_user_attach_fd(vu, sv[0]);
	*main_peer = sv[1];
	if (vhost_user_set_protocol_features(vu, PF(BACKEND_REQ)) < 0 ||
	    vub_read(sv[1], &m.hdr, sizeof(m.hdr), NULL, NULL) ||
	    vub_read(sv[1], &m.payload, m.hdr.size, NULL, NULL))
		return -1;
	return channel_again(vu, sv[1]);
}

static int count_in(const char *hay, const char *needle)
{
	int n = 0;

	for (; hay && (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

/* The event loop calls in with the device lock held: a request that
 * arrives in pieces must not hold it; each call takes what is there. */
static void test_backend_req_partial(struct tap *t)
{
	struct vhost_user vu;
	struct vhost_user_vring_area area = { 1, 4096, 0 };
	uint8_t buf[128];
	uint64_t v = 0, v2 = 0;
	uint32_t req = 0, flags = 0;
	int64_t ms;
	int fd0 = h_count_fds(), fd1, peer = -1, chan, memfd, r, r1, r2, r3;
	char *tr = NULL;
	size_t n, trlen = 0;
	FILE *trace = open_memstream(&tr, &trlen);
	struct pollfd p;

	chan = channel_up(&vu, "bp", &peer, trace);
	fd1 = h_count_fds();
	ok(t, chan >= 0, "partial requests: channel up");

	n = put_req(buf, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG,
		    VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, &area, sizeof(area));
	memfd = memfd_create("notifier", MFD_CLOEXEC);
	send_raw(chan, buf, 1, &memfd, 1);
	close(memfd);
	r = handle_timed(&vu, &ms);
	ok(t, r == -EAGAIN && ms < 50, "one byte of a request: -EAGAIN at once (%d after %lld ms)",
	   r, (long long)ms);
	send_raw(chan, buf + 1, 6, NULL, 0);
	r1 = vhost_user_handle_backend_req(&vu);
	send_raw(chan, buf + 7, 5, NULL, 0);
	r2 = vhost_user_handle_backend_req(&vu);
	send_raw(chan, buf + 12, 10, NULL, 0);
	r3 = handle_timed(&vu, &ms);
	ok(t, r1 == -EAGAIN && r2 == -EAGAIN && r3 == -EAGAIN && ms < 50,
	   "still -EAGAIN with 7, 12 and 22 of its %zu bytes in (%d %d %d)", n, r1, r2, r3);
	send_raw(chan, buf + 22, n - 22, NULL, 0);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == 0 && read_reply_u64(chan, &req, &flags, &v) == 0 && req == 3 && v == 1,
	   "the last piece completes it: handled and refused with 1 (%d, request %u ack %llu)",
	   r, req, (unsigned long long)v);
	p = (struct pollfd){ .fd = chan, .events = POLLIN };
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == -EAGAIN && poll(&p, 1, 50) == 0, "handled once: nothing more, no second answer");
	ok(t, h_count_fds() == fd1, "the fd that came with its first byte is closed (%d open, %d expected)",
	   h_count_fds(), fd1);

	config_changes = 0;
	n = put_req(buf, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		    VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, NULL, 0);
	send_raw(chan, buf, 5, NULL, 0);
	r1 = handle_timed(&vu, &ms);
	send_raw(chan, buf + 5, n - 5, NULL, 0);
	r2 = vhost_user_handle_backend_req(&vu);
	ok(t, r1 == -EAGAIN && ms < 50 && r2 == 0 && config_changes == 1 &&
	   read_reply_u64(chan, &req, &flags, &v) == 0 && req == 2 && v == 0,
	   "CONFIG_CHANGE_MSG in two pieces: the callback runs once, acked with 0 (%d %d)", r1, r2);

	/* Two requests in one write, then one and a half. */
	n = put_req(buf, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		    VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, NULL, 0);
	n += put_req(buf + n, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		     VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, NULL, 0);
	send_raw(chan, buf, n, NULL, 0);
	r1 = vhost_user_handle_backend_req(&vu);
	r2 = vhost_user_handle_backend_req(&vu);
	r3 = vhost_user_handle_backend_req(&vu);
	ok(t, r1 == 0 && r2 == 0 && r3 == -EAGAIN && config_changes == 3 &&
	   read_reply_u64(chan, &req, &flags, &v) == 0 && read_reply_u64(chan, &req, &flags, &v2) == 0 &&
	   v == 0 && v2 == 0,
	   "two requests in one write: one per call, both answered (%d %d %d)", r1, r2, r3);
	send_raw(chan, buf, 16, NULL, 0);
	r1 = vhost_user_handle_backend_req(&vu);
	r2 = handle_timed(&vu, &ms);
	send_raw(chan, buf + 16, n - 16, NULL, 0);
	r3 = vhost_user_handle_backend_req(&vu);
	ok(t, r1 == 0 && r2 == -EAGAIN && ms < 50 && r3 == 0 && config_changes == 5 &&
	   read_reply_u64(chan, &req, &flags, &v) == 0 && read_reply_u64(chan, &req, &flags, &v2) == 0,
	   "a request and a third of the next: 0, -EAGAIN at once, then 0 (%d %d %d)", r1, r2, r3);

	/* Setting the channel up again forgets what the old one had begun. */
	send_raw(chan, buf, 5, NULL, 0);
	r1 = vhost_user_handle_backend_req(&vu);
	close(chan);
	chan = channel_again(&vu, peer);
	send_raw(chan, buf, 12, NULL, 0);
	r2 = vhost_user_handle_backend_req(&vu);
	ok(t, r1 == -EAGAIN && r2 == 0 && config_changes == 6 &&
	   read_reply_u64(chan, &req, &flags, &v) == 0 && v == 0,
	   "a new channel starts afresh (%d %d: %s)", r1, r2, vhost_user_error(&vu));

	vhost_user_close(&vu);
	close(chan);
	close(peer);
	fclose(trace);
	ok(t, count_in(tr, "bp backend-req <- VRING_HOST_NOTIFIER_MSG (3)") == 1 &&
	   count_in(tr, "bp backend-req <- CONFIG_CHANGE_MSG (2)") == 6,
	   "each request is traced once, when complete");
	free(tr);
	ok(t, h_count_fds() == fd0, "no fd leaked");
}

/* Back-ends that break the rules must not hold the event loop either. */
static void test_backend_req_hostile(struct tap *t)
{
	struct vhost_user vu;
	struct vhost_dev dev = { .ops = &vhost_user_backend_ops, .backend = &vu };
	uint8_t buf[128];
	uint64_t zero = 0;
	int64_t ms = 0;
	int fd0 = h_count_fds(), fd1, peer = -1, chan, fds[10], small = 1, i, r, r1;
	size_t n;
	struct pollfd p;

	/* (c) A malformed request: the back-end that waits for its answer
	 * must see EOF once the device closes the channel. */
	chan = channel_up(&vu, "bh", &peer, NULL);
	n = put_req(buf, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		    VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, &zero, 8);
	send_raw(chan, buf, n, NULL, 0);
	r = vhost_dev_handle_event(&dev);
	ok(t, r == -EPROTO && contains(vhost_dev_error(&dev), "size 8 is wrong for CONFIG_CHANGE_MSG"),
	   "a malformed request through vhost_dev: -EPROTO (%s)", vhost_dev_error(&dev));
	vhost_dev_close_event(&dev);
	p = (struct pollfd){ .fd = chan, .events = POLLIN };
	/* ECONNRESET rather than EOF when the close discarded unread bytes
	 * (the payload here): either way the back-end stops waiting. */
	ok(t, vhost_dev_event_fd(&dev) == -1 && poll(&p, 1, 1000) == 1 &&
	   (read(chan, buf, 1) == 0 || errno == ECONNRESET),
	   "after vhost_dev_close_event() the back-end sees the channel closed, and event_fd is -1");
	ok(t, vhost_dev_handle_event(&dev) == -ENOTCONN, "handle_event on a closed channel: -ENOTCONN");
	close(chan);

	/* Closing with a request half in forgets it, fds included. */
	chan = channel_again(&vu, peer);
	fds[0] = eventfd(0, EFD_CLOEXEC);
	fd1 = h_count_fds();
	send_raw(chan, buf, 3, fds, 1);
	close(fds[0]);
	r = handle_timed(&vu, &ms);
	vhost_user_backend_req_close(&vu);
	ok(t, r == -EAGAIN && ms < 50 && h_count_fds() == fd1 - 2,
	   "a request cut short by the close: its fd is closed with the channel (%d, %d open, %d expected)",
	   r, h_count_fds(), fd1 - 2);
	close(chan);

	/* The back-end goes away in the middle of a request. */
	chan = channel_again(&vu, peer);
	fds[0] = eventfd(0, EFD_CLOEXEC);
	fd1 = h_count_fds();
	send_raw(chan, buf, 3, fds, 1);
	close(fds[0]);
	close(chan);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == -ENOTCONN && h_count_fds() == fd1 - 2,
	   "EOF within a request: -ENOTCONN, its fd closed (%d, %d open, %d expected)", r,
	   h_count_fds(), fd1 - 2);
	vhost_user_backend_req_close(&vu);

	/* (d) A back-end that never reads its answers. */
	chan = channel_again(&vu, peer);
	setsockopt(vhost_user_backend_req_fd(&vu), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	n = put_req(buf, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		    VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, NULL, 0);
	for (i = 0, r = 0; i < 10000 && r == 0; i++) {
		send_raw(chan, buf, n, NULL, 0);
		r = handle_timed(&vu, &ms);
	}
	ok(t, r == -EPROTO && ms < 500 && i > 1 && contains(vhost_user_error(&vu), "does not read our replies"),
	   "a back-end that does not read its answers: -EPROTO after %d requests, in %lld ms (%s)",
	   i, (long long)ms, vhost_user_error(&vu));
	vhost_user_backend_req_close(&vu);
	close(chan);

	/* (e) More fds than a message may carry: in one piece, or spread
	 * over two. */
	chan = channel_again(&vu, peer);
	for (i = 0; i < 10; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	fd1 = h_count_fds();
	send_raw(chan, buf, n, fds, 9);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == -EPROTO && contains(vhost_user_error(&vu), "fds"),
	   "a request with 9 fds is refused: -EPROTO (%s)", vhost_user_error(&vu));
	ok(t, h_count_fds() == fd1, "and none of them is kept (%d open, %d expected)", h_count_fds(), fd1);
	vhost_user_backend_req_close(&vu);
	close(chan);
	chan = channel_again(&vu, peer);
	send_raw(chan, buf, 4, fds, 5);
	send_raw(chan, buf + 4, n - 4, fds + 5, 5);
	r1 = vhost_user_handle_backend_req(&vu);
	r = r1 == -EAGAIN ? vhost_user_handle_backend_req(&vu) : r1;
	ok(t, r == -EPROTO && h_count_fds() == fd1,
	   "5 fds on each of two pieces: -EPROTO, none kept (%d %d, %d open, %d expected: %s)", r1, r,
	   h_count_fds(), fd1, vhost_user_error(&vu));
	close_fds(fds, 10);
	vhost_user_close(&vu);
	close(chan);
	close(peer);
	ok(t, h_count_fds() == fd0, "no fd leaked");
}

/* The back-end asks something (NEED_REPLY) on its channel while we wait
 * for its reply to our request, and answers ours only after it has its
 * answer: served meanwhile, not a deadlock until our timeout; the config
 * change it announced is done after our request. */
static void test_request_while_waiting(struct tap *t)
{
	struct vhost_user vu;
	uint8_t buf[64];
	uint64_t feat = 0x1234, got = 0;
	int peer, chan, st, r;
	int64_t t0, ms;
	pid_t pid;
	size_t n;

	chan = channel_up(&vu, "dl", &peer, NULL);
	if (chan < 0) {
		ok(t, 0, "channel set up");
		return;
	}
	vhost_user_set_timeout(&vu, 3000);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct vhost_user_hdr hdr;
		uint32_t req, flags;
		uint64_t ack = 1;

		alarm(10);
		n = put_req(buf, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
			    VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, NULL, 0);
		send_raw(chan, buf, n, NULL, 0);
		/* The back-end blocks for its answer, as libvhost-user does. */
		if (read_reply_u64(chan, &req, &flags, &ack) < 0 || ack != 0)
			_exit(1);
		if (vub_read(peer, &hdr, sizeof(hdr), NULL, NULL) ||
		    hdr.request != VHOST_USER_GET_FEATURES)
			_exit(2);
		n = put_req(buf, VHOST_USER_GET_FEATURES, VHOST_USER_REPLY_FLAGS, &feat, 8);
		send_raw(peer, buf, n, NULL, 0);
		_exit(0);
	}
	config_changes = 0;
	t0 = h_now_ms();
	r = vhost_user_get_features(&vu, &got);
	ms = h_now_ms() - t0;
	waitpid(pid, &st, 0);
	ok(t, r == 0 && got == feat && ms < 1000 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "a back-end request while we wait for a reply is answered meanwhile (%d in %lld ms, back-end exit %d: %s)",
	   r, (long long)ms, WIFEXITED(st) ? WEXITSTATUS(st) : -1, r ? vhost_user_error(&vu) : "ok");
	ok(t, config_changes == 1, "and the config change runs once, after our request (%d)",
	   config_changes);
	vhost_user_close(&vu);
	close(chan);
	close(peer);
}

/* A reply on the main socket with more fds than a message may carry: the
 * kernel truncates them (MSG_CTRUNC), which must not pass unnoticed. */
static void test_reply_too_many_fds(struct tap *t)
{
	struct vhost_user vu;
	uint8_t buf[64];
	uint64_t zero = 0, v = 0;
	int sv[2], fds[9], fd0 = h_count_fds(), fd1, i, r;
	size_t n;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	vhost_user_init(&vu, "fds");
	vhost_user_set_timeout(&vu, 300);
	vhost_user_attach_fd(&vu, sv[0]);
	for (i = 0; i < 9; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	fd1 = h_count_fds();
	n = put_req(buf, VHOST_USER_GET_FEATURES, VHOST_USER_REPLY_FLAGS, &zero, 8);
	send_raw(sv[1], buf, n, fds, 9);
	r = vhost_user_get_features(&vu, &v);
	ok(t, r == -EPROTO && contains(vhost_user_error(&vu), "more than 8 fds"),
	   "a reply with 9 fds is refused (%s)", vhost_user_error(&vu));
	ok(t, h_count_fds() == fd1 - 1, "none of them kept, the connection closed (%d open, %d expected)",
	   h_count_fds(), fd1 - 1);
	close_fds(fds, 9);
	vhost_user_close(&vu);
	close(sv[1]);
	ok(t, h_count_fds() == fd0, "no fd leaked");
}

static void test_backend_req(struct tap *t)
{
	static const struct vhost_user_backend_req_ops fail_ops = {
		.config_change = fail_config_change,
	};
	static const struct vhost_user_backend_req_ops no_ops = { 0 };
	struct vhost_user vu;
	struct vhost_user_msg m;
	struct vhost_user_vring_area area = { 1, 4096, 0 };
	struct pollfd p;
	uint64_t zero = 0, v;
	uint32_t req, flags;
	int sv[2], fds[8], nfds = 0, chan, memfd, fd0 = h_count_fds(), r;
	char *tr = NULL;
	size_t trlen = 0;
	FILE *trace = open_memstream(&tr, &trlen);

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	vhost_user_init(&vu, "br");
	vhost_user_set_trace(&vu, trace);
	vhost_user_attach_fd(&vu, sv[0]);
	ok(t, vhost_user_setup_backend_req(&vu, &count_ops, NULL) == 0 && vhost_user_backend_req_fd(&vu) < 0,
	   "no BACKEND_REQ negotiated: no channel, no message");
	vhost_user_set_protocol_features(&vu, PF(BACKEND_REQ) | PF(REPLY_ACK));
	raw_reply(sv[1], VHOST_USER_SET_BACKEND_REQ_FD, VHOST_USER_REPLY_FLAGS, 8, &zero, 8, -1);
	r = vhost_user_setup_backend_req(&vu, &count_ops, NULL);
	ok(t, r == 0 && vhost_user_backend_req_fd(&vu) >= 0, "channel set up (%s)", r ? vhost_user_error(&vu) : "ok");
	/* What the back-end received: SET_PROTOCOL_FEATURES, then the fd. */
	memset(&m, 0, sizeof(m));
	r = vub_read(sv[1], &m.hdr, 12, fds, &nfds) | vub_read(sv[1], &m.payload, 8, fds, &nfds);
	r |= vub_read(sv[1], &m.hdr, 12, fds, &nfds);
	ok(t, r == 0 && m.hdr.request == VHOST_USER_SET_BACKEND_REQ_FD && m.hdr.flags == 0x9 &&
	   m.hdr.size == 0 && nfds == 1, "SET_BACKEND_REQ_FD carried one fd with NEED_REPLY");
	chan = nfds == 1 ? fds[0] : -1;

	ok(t, vhost_user_handle_backend_req(&vu) == -EAGAIN, "nothing pending: -EAGAIN");

	config_changes = 0;
	raw_reply(chan, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		  VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, 0, NULL, 0, -1);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == 0 && config_changes == 1, "CONFIG_CHANGE_MSG reaches the device callback");
	ok(t, read_reply_u64(chan, &req, &flags, &v) == 0 && req == 2 && flags == 0x5 && v == 0,
	   "and is acked with 0 (request %u flags 0x%x ack %llu)", req, flags, (unsigned long long)v);

	raw_reply(chan, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, VHOST_USER_VERSION, 0, NULL, 0, -1);
	r = vhost_user_handle_backend_req(&vu);
	p = (struct pollfd){ .fd = chan, .events = POLLIN };
	ok(t, r == 0 && config_changes == 2 && poll(&p, 1, 100) == 0,
	   "without NEED_REPLY there is no answer");

	vu.req_ops = &fail_ops;
	raw_reply(chan, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		  VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, 0, NULL, 0, -1);
	fail_calls = 0;
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == 0 && read_reply_u64(chan, &req, &flags, &v) == 0 && v == 0 && fail_calls == 1,
	   "a failing callback still answers 0: the answer goes out first and says received (ack %llu, %d calls)",
	   (unsigned long long)v, fail_calls);
	vu.req_ops = &no_ops;
	raw_reply(chan, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		  VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, 0, NULL, 0, -1);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == 0 && read_reply_u64(chan, &req, &flags, &v) == 0 && v == 1,
	   "no callback: refused with 1");
	vu.req_ops = &count_ops;

	/* An unsupported request with an fd: refused, fd not kept. */
	nfds = h_count_fds();
	memfd = memfd_create("notifier", MFD_CLOEXEC);
	raw_reply(chan, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG,
		  VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, sizeof(area), &area,
		  sizeof(area), memfd);
	close(memfd);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == 0 && read_reply_u64(chan, &req, &flags, &v) == 0 && req == 3 && v == 1,
	   "VRING_HOST_NOTIFIER_MSG is refused with 1");
	ok(t, h_count_fds() == nfds, "and the fd it carried is closed (%d open, %d expected)",
	   h_count_fds(), nfds);

	raw_reply(chan, 99, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, 0, NULL, 0, -1);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == 0 && read_reply_u64(chan, &req, &flags, &v) == 0 && req == 99 && v == 1,
	   "an unknown request id is refused, the channel stays");

	raw_reply(chan, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, VHOST_USER_REPLY_FLAGS, 0, NULL, 0, -1);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == -EPROTO && contains(vhost_user_error(&vu), "flags 0x5"),
	   "a request with the REPLY flag is malformed (%s)", vhost_user_error(&vu));
	raw_reply(chan, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, VHOST_USER_VERSION, 8, &zero, 8, -1);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == -EPROTO && contains(vhost_user_error(&vu), "size 8 is wrong for CONFIG_CHANGE_MSG"),
	   "CONFIG_CHANGE_MSG with a payload is malformed (%s)", vhost_user_error(&vu));
	/* The stream is out of sync after that: start over. */
	vhost_user_backend_req_close(&vu);
	close(chan);
	vhost_user_close(&vu);
	close(sv[1]);

	/* EOF on the channel. */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	vhost_user_init(&vu, "br");
	vhost_user_attach_fd(&vu, sv[0]);
	vhost_user_set_protocol_features(&vu, PF(BACKEND_REQ));
	vhost_user_setup_backend_req(&vu, &count_ops, NULL);
	nfds = 0;
	vub_read(sv[1], &m.hdr, 12, fds, &nfds);
	vub_read(sv[1], &m.payload, 8, fds, &nfds);
	vub_read(sv[1], &m.hdr, 12, fds, &nfds);
	ok(t, nfds == 1 && m.hdr.flags == VHOST_USER_VERSION, "without REPLY_ACK SET_BACKEND_REQ_FD has no NEED_REPLY");
	if (nfds == 1)
		close(fds[0]);
	r = vhost_user_handle_backend_req(&vu);
	ok(t, r == -ENOTCONN, "the back-end closed the channel: -ENOTCONN (%s)", vhost_user_error(&vu));
	vhost_user_close(&vu);
	close(sv[1]);
	fclose(trace);
	ok(t, contains(tr, "vhost-user br backend-req <- CONFIG_CHANGE_MSG (2) flags=0x9 [NEED_REPLY] size=0") &&
	   contains(tr, "vhost-user br backend-req -> CONFIG_CHANGE_MSG (2) flags=0x5 size=8 ack=0"),
	   "the back-end channel is traced in both directions");
	free(tr);
	ok(t, h_count_fds() == fd0, "no fd leaked");
}

int main(void)
{
	struct tap t = TAP_INIT;

	/* Line by line: the TAP stream stays readable if a test hangs. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Quiet warnings the tests provoke on purpose. */
	log_set_level(LOG_ERROR);
	test_names(&t);
	test_sizes(&t);
	test_trace_switch(&t);
	test_connect_errors(&t);
	test_silent_listener(&t);
	test_server(&t);
	test_every_message(&t);
	test_garbage(&t);
	test_raw_replies(&t);
	test_timeouts(&t);
	test_reply_ack(&t);
	test_backend_req(&t);
	test_reply_too_many_fds(&t);
	test_request_while_waiting(&t);
	test_backend_req_partial(&t);
	test_backend_req_hostile(&t);
	return tap_done(&t);
}
