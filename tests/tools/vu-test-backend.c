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
 * The engine is tests/tools/vu_backend.h, which unit tests use directly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/tools/vu_backend.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vu-test-backend (--socket-path=PATH | --connect=PATH | --fd=N)\n"
		   "  [--features=HEX] [--protocol-features=HEX] [--queues=N] [--mem-slots=N]\n"
		   "  [--config=HEXBYTES] [--log=FILE] [--vring-advance=N]\n"
		   "  [--fault=KIND@N|KIND@NAME[#K]] [--delay-ms=N] [--config-change-after=NAME[#K]]\n"
		   "  KIND: close bad-id bad-flags bad-size short hang late nack\n");
}

static bool opt(const char *arg, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) || arg[n] != '=')
		return false;
	*val = arg + n + 1;
	return true;
}

int main(int argc, char **argv)
{
	static struct vub b;
	const char *listen_path = NULL, *connect_path = NULL, *v;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = -1, i;

	vub_config_defaults(&b.cfg);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opt(a, "--socket-path", &v)) {
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
