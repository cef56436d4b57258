/*
 * vsock-xfer: move bytes over AF_VSOCK and checksum them, for both ends of
 * the vhost-vsock tests and bench/vsock.sh (the guest's copy is in its
 * initramfs, /bin/vsock-xfer; the host runs the same static binary,
 * build/guest/vsock-xfer).
 *
 *   vsock-xfer send CID PORT BYTES [OPTIONS]   connect, write BYTES, wait for the peer
 *   vsock-xfer recv PORT [OPTIONS]             listen on VMADDR_CID_ANY, accept one
 *                                              connection, read to EOF
 *   vsock-xfer cid                             this side's local CID (IOCTL_VM_SOCKETS_GET_LOCAL_CID)
 *
 * Options:
 *   --timeout SECS  connect timeout, and the longest wait for a connection or
 *                   for any progress of a read or write (default 60)
 *   --retry         send: retry a refused connect (ECONNRESET: nobody listens
 *                   yet) every 20 ms until --timeout
 *   --chunk BYTES   size of each write(2) and read(2) (default 262144)
 *   --seed N        pattern seed (default 1)
 *   --fast          no per-byte work, to measure the transport: the sender writes
 *                   the first chunk of the pattern over and over, nobody checksums
 *                   (fnv64=-)
 *
 * The stream: 64-bit little-endian word i is splitmix64(seed + i), cut at
 * BYTES. Its checksum "fnv64" is FNV-1a-64 over those words (a last partial
 * word zero-padded), then the length folded in: h = (h ^ len) * prime.
 *
 * After the data the sender shuts its side down (SHUT_WR); the receiver, at
 * EOF, prints its line and answers with "bytes=N fnv64=0xH\n" before it
 * closes, so the sender's time covers the delivery and it can compare:
 *
 *   vsock-xfer: listening port=P local_cid=C
 *   vsock-xfer: recv bytes=N seconds=S mibs=M fnv64=0xH peer_cid=C peer_port=P
 *   vsock-xfer: send bytes=N seconds=S mibs=M fnv64=0xH cid=C port=P peer=match
 *
 * (peer=match, peer=MISMATCH(bytes=N fnv64=0xH), or peer=none when the
 * receiver closed without an answer.) seconds run from connect, resp. accept,
 * to the answer, resp. EOF. Errors are one line on stderr, e.g.
 *   vsock-xfer: connect to cid 2 port 1234: Connection reset by peer
 * Exit status: 0 ok, 1 error, 2 usage, 3 the peer's checksum differs.
 *
 * Built with gcc -O2 -static (glibc); works on any x86-64 Linux with vsock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static const char *prog = "vsock-xfer";
static int timeout_s = 60;
static int retry;
static int fast;
static size_t chunk = 262144;
static uint64_t seed = 1;

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* one write: the line stays whole when stderr is shared */
	dprintf(2, "%s: %.*s", prog, n, buf);
	exit(1);
}

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr,
		"usage: %s send CID PORT BYTES [--timeout S] [--retry] [--chunk N] [--seed N] [--fast]\n"
		"       %s recv PORT [--timeout S] [--chunk N] [--fast]\n"
		"       %s cid\n",
		prog, prog, prog);
	exit(2);
}

/* Prints a whole line on stdout at once, unbuffered: a reader on a pipe (the
 * guest check, a test) sees "listening" before anyone connects. */
static __attribute__((format(printf, 1, 2))) void out(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0) {
		if (n > (int)sizeof(buf) - 1)
			n = (int)sizeof(buf) - 1;
		if (write(1, buf, (size_t)n) < 0) {
			/* nothing sensible to do */
		}
	}
}

static uint64_t parse_u64(const char *what, const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-')
		die("%s must be a whole number, got '%s'", what, s ? s : "");
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		die("%s must be a whole number up to %" PRIu64 ", got '%s'", what, max, s);
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Fills buf (len a multiple of 8) with the words from word index w on. */
static void pattern(unsigned char *buf, size_t len, uint64_t w)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t v = splitmix64(seed + w++);
		memcpy(buf + i, &v, 8); /* x86-64: little-endian */
	}
}

struct sum {
	uint64_t h, len;
	unsigned char carry[8];
	unsigned ncarry;
};

static void sum_init(struct sum *s)
{
	memset(s, 0, sizeof(*s));
	s->h = FNV_OFFSET;
}

static void sum_add(struct sum *s, const unsigned char *p, size_t n)
{
	uint64_t h = s->h, w;

	s->len += n;
	while (s->ncarry && n) {
		s->carry[s->ncarry++] = *p++;
		n--;
		if (s->ncarry == 8) {
			memcpy(&w, s->carry, 8);
			h = (h ^ w) * FNV_PRIME;
			s->ncarry = 0;
		}
	}
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * FNV_PRIME;
	}
	memcpy(s->carry, p, n);
	s->ncarry = (unsigned)n;
	s->h = h;
}

static uint64_t sum_end(struct sum *s)
{
	uint64_t h = s->h, w = 0;

	if (s->ncarry) {
		memcpy(&w, s->carry, s->ncarry);
		h = (h ^ w) * FNV_PRIME;
	}
	return (h ^ s->len) * FNV_PRIME;
}

static void fmt_sum(char *buf, size_t len, uint64_t h)
{
	if (fast)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "0x%016" PRIx64, h);
}

/* Waits for EVENTS on fd for up to --timeout; dies naming WHAT on timeout. */
static void wait_fd(int fd, short events, const char *what)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	for (;;) {
		r = poll(&p, 1, timeout_s * 1000);
		if (r > 0)
			return;
		if (r == 0)
			die("%s: no progress within %d s", what, timeout_s);
		if (errno != EINTR)
			die("%s: poll: %s", what, strerror(errno));
	}
}

static int vsock_socket(void)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket(AF_VSOCK): %s%s", strerror(errno),
		    errno == EAFNOSUPPORT ? " (is the vsock module loaded?)" : "");
	return fd;
}

static long local_cid(void)
{
	unsigned int cid = 0;
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		cid = (unsigned)-1;
	close(fd);
	return cid == (unsigned)-1 ? -1 : (long)cid;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl(O_NONBLOCK): %s", strerror(errno));
}

static int cmd_send(uint32_t cid, uint32_t port, uint64_t bytes)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	struct timeval tv = { .tv_sec = timeout_s };
	char what[96], sumbuf[24], reply[128], peer[160];
	unsigned char *buf;
	struct sum s;
	uint64_t sent = 0, w = 0;
	size_t rlen = 0;
	double t0, t1, deadline = now() + timeout_s;
	int fd;

	snprintf(what, sizeof(what), "send to cid %" PRIu32 " port %" PRIu32, cid, port);
	buf = aligned_alloc(4096, chunk);
	if (!buf)
		die("out of memory for a %zu-byte buffer", chunk);
	if (fast)
		pattern(buf, chunk, 0);
	sum_init(&s);

	for (;;) {
		fd = vsock_socket();
		if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)) < 0)
			die("setsockopt(SO_VM_SOCKETS_CONNECT_TIMEOUT): %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (retry && (errno == ECONNRESET || errno == ECONNREFUSED || errno == EINTR) &&
		    now() < deadline) {
			close(fd);
			usleep(20000);
			continue;
		}
		die("connect to cid %" PRIu32 " port %" PRIu32 ": %s%s", cid, port, strerror(errno),
		    errno == ECONNRESET ? (retry ? " (nobody listened within the timeout)" : "") : "");
	}
	set_nonblock(fd);
	t0 = now();
	while (sent < bytes) {
		size_t n = bytes - sent < chunk ? (size_t)(bytes - sent) : chunk;
		size_t off = 0;

		if (!fast) {
			/* n <= chunk, a multiple of 8: the fill fits */
			pattern(buf, (n + 7) & ~(size_t)7, w);
			w += chunk / 8;
			sum_add(&s, buf, n);
		}
		while (off < n) {
			ssize_t r = send(fd, buf + off, n - off, MSG_NOSIGNAL);

			if (r > 0) {
				off += (size_t)r;
				continue;
			}
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				wait_fd(fd, POLLOUT, what);
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			die("%s: write after %" PRIu64 " bytes: %s", what, sent + off,
			    r < 0 ? strerror(errno) : "wrote nothing");
		}
		sent += n;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("%s: shutdown(SHUT_WR) after %" PRIu64 " bytes: %s", what, sent, strerror(errno));
	/* The receiver's answer, up to its close. */
	for (;;) {
		ssize_t r = read(fd, reply + rlen, sizeof(reply) - 1 - rlen);

		if (r > 0) {
			rlen += (size_t)r;
			if (rlen == sizeof(reply) - 1)
				break;
			continue;
		}
		if (r == 0)
			break;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			wait_fd(fd, POLLIN, what);
			continue;
		}
		if (errno == EINTR)
			continue;
		/* A reset after the answer is still an answer. */
		if (errno == ECONNRESET && rlen)
			break;
		die("%s: waiting for the receiver after %" PRIu64 " bytes: %s", what, sent,
		    strerror(errno));
	}
	t1 = now();
	close(fd);
	reply[rlen] = 0;
	if (rlen && reply[rlen - 1] == '\n')
		reply[--rlen] = 0;

	uint64_t h = sum_end(&s);
	fmt_sum(sumbuf, sizeof(sumbuf), h);
	int mismatch = 0;
	if (!rlen) {
		snprintf(peer, sizeof(peer), "none");
	} else {
		char want[96];

		snprintf(want, sizeof(want), "bytes=%" PRIu64 " fnv64=%s", sent, sumbuf);
		if (strcmp(want, reply) == 0) {
			snprintf(peer, sizeof(peer), "match");
		} else {
			snprintf(peer, sizeof(peer), "MISMATCH(%.120s)", reply);
			mismatch = 1;
		}
	}
	double secs = t1 - t0;
	out("%s: send bytes=%" PRIu64 " seconds=%.6f mibs=%.2f fnv64=%s cid=%" PRIu32
	    " port=%" PRIu32 " peer=%s\n",
	    prog, sent, secs, secs > 0 ? (double)sent / 1048576.0 / secs : 0.0, sumbuf, cid, port,
	    peer);
	if (mismatch) {
		dprintf(2, "%s: %s: the receiver got %s, we sent bytes=%" PRIu64 " fnv64=%s\n", prog,
			what, reply, sent, sumbuf);
		return 3;
	}
	return 0;
}

static int cmd_recv(uint32_t port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	struct sockaddr_vm peer;
	socklen_t plen = sizeof(peer);
	char what[64], sumbuf[24], reply[96];
	unsigned char *buf;
	struct sum s;
	uint64_t got = 0;
	double t0, t1;
	long lc;
	int lfd, fd;

	snprintf(what, sizeof(what), "recv port %" PRIu32, port);
	buf = aligned_alloc(4096, chunk);
	if (!buf)
		die("out of memory for a %zu-byte buffer", chunk);
	sum_init(&s);
	lfd = vsock_socket();
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind to port %" PRIu32 ": %s", port, strerror(errno));
	if (listen(lfd, 1) < 0)
		die("listen on port %" PRIu32 ": %s", port, strerror(errno));
	set_nonblock(lfd);
	lc = local_cid();
	if (lc < 0)
		out("%s: listening port=%" PRIu32 " local_cid=-\n", prog, port);
	else
		out("%s: listening port=%" PRIu32 " local_cid=%ld\n", prog, port, lc);
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int r = poll(&p, 1, timeout_s * 1000);

		if (r == 0)
			die("%s: nobody connected within %d s", what, timeout_s);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("%s: poll: %s", what, strerror(errno));
		}
		fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			break;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			die("%s: accept: %s", what, strerror(errno));
	}
	close(lfd);
	t0 = now();
	for (;;) {
		ssize_t r = read(fd, buf, chunk);

		if (r > 0) {
			got += (uint64_t)r;
			if (!fast)
				sum_add(&s, buf, (size_t)r);
			continue;
		}
		if (r == 0)
			break;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			wait_fd(fd, POLLIN, what);
			continue;
		}
		if (errno == EINTR)
			continue;
		die("%s: read from cid %" PRIu32 " port %" PRIu32 " after %" PRIu64 " bytes: %s", what,
		    peer.svm_cid, peer.svm_port, got, strerror(errno));
	}
	t1 = now();
	fmt_sum(sumbuf, sizeof(sumbuf), sum_end(&s));
	double secs = t1 - t0;
	out("%s: recv bytes=%" PRIu64 " seconds=%.6f mibs=%.2f fnv64=%s peer_cid=%" PRIu32
	    " peer_port=%" PRIu32 "\n",
	    prog, got, secs, secs > 0 ? (double)got / 1048576.0 / secs : 0.0, sumbuf, peer.svm_cid,
	    peer.svm_port);
	/* The answer; the sender may already be gone, which is its business. */
	int n = snprintf(reply, sizeof(reply), "bytes=%" PRIu64 " fnv64=%s\n", got, sumbuf);
	if (send(fd, reply, (size_t)n, MSG_NOSIGNAL) < 0 && errno == EAGAIN) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (poll(&p, 1, timeout_s * 1000) > 0)
			(void)!send(fd, reply, (size_t)n, MSG_NOSIGNAL);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char *pos[4];
	int npos = 0, i;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--timeout") == 0 && i + 1 < argc)
			timeout_s = (int)parse_u64("--timeout", argv[++i], 86400);
		else if (strcmp(a, "--chunk") == 0 && i + 1 < argc)
			chunk = (size_t)parse_u64("--chunk", argv[++i], 64 << 20);
		else if (strcmp(a, "--seed") == 0 && i + 1 < argc)
			seed = parse_u64("--seed", argv[++i], UINT64_MAX);
		else if (strcmp(a, "--retry") == 0)
			retry = 1;
		else if (strcmp(a, "--fast") == 0)
			fast = 1;
		else if (a[0] == '-' && a[1] == '-')
			usage();
		else if (npos < 4)
			pos[npos++] = argv[i];
		else
			usage();
	}
	if (timeout_s < 1)
		die("--timeout must be at least 1 s");
	if (chunk < 8 || chunk % 8)
		die("--chunk must be a multiple of 8 of at least 8, got %zu", chunk);

	if (strcmp(argv[1], "send") == 0 && npos == 3) {
		uint64_t cid = parse_u64("CID", pos[0], 0xffffffffULL);
		uint64_t port = parse_u64("PORT", pos[1], 0xffffffffULL);
		uint64_t bytes = parse_u64("BYTES", pos[2], UINT64_MAX / 2);

		return cmd_send((uint32_t)cid, (uint32_t)port, bytes);
	}
	if (strcmp(argv[1], "recv") == 0 && npos == 1)
		return cmd_recv((uint32_t)parse_u64("PORT", pos[0], 0xffffffffULL));
	if (strcmp(argv[1], "cid") == 0 && npos == 0) {
		long c = local_cid();

		if (c < 0)
			die("/dev/vsock: no local CID (no vsock transport loaded?)");
		printf("%ld\n", c);
		return 0;
	}
	usage();
}
