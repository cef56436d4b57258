/* For the vhost unit tests: runs vu-test-backend in a forked child on one
 * end of a socketpair (a real second process, so fd passing and the
 * MAP_SHARED mappings are exercised for real), and reads back what it
 * recorded. Also small helpers: open fd count, elapsed time, a raw peer. */
#ifndef TESTS_TOOLS_VU_HARNESS_H
#define TESTS_TOOLS_VU_HARNESS_H

#include "tests/tools/vu_backend.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

struct harness {
	pid_t pid;
	int fd;          /* the front-end's end; vhost_user_attach_fd() takes it */
	char log[64];
};

static inline int64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int h_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

/* Serves one connection with cfg in a child; how is "fd" (socketpair) or
 * "connect:PATH" (the child connects to a listening front-end, after
 * delay_ms). Returns 0 or -1. */
static inline int harness_start_how(struct harness *h, const struct vub_config *cfg,
				    const char *connect_path, int delay_ms)
{
	int sv[2] = { -1, -1 }, lfd;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	snprintf(h->log, sizeof(h->log), "/tmp/vub-log-XXXXXX");
	lfd = mkstemp(h->log);
	if (lfd < 0)
		return -1;
	if (!connect_path && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(lfd);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (h->pid == 0) {
		struct vub *b = calloc(1, sizeof(*b));
		int fd = sv[1];

		if (sv[0] >= 0)
			close(sv[0]);
		b->cfg = *cfg;
		b->cfg.log = fdopen(lfd, "w");
		if (connect_path) {
			struct sockaddr_un sa = { .sun_family = AF_UNIX };
			struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", connect_path);
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				fprintf(b->cfg.log, "CONNECT FAILED %s\n", strerror(errno));
				fclose(b->cfg.log);
				_exit(1);
			}
		}
		vub_serve(b, fd);
		fclose(b->cfg.log);
		/* _exit: no atexit handlers, no leak check of the child. */
		_exit(0);
	}
	close(lfd);
	if (sv[1] >= 0)
		close(sv[1]);
	h->fd = sv[0];
	return 0;
}

static inline int harness_start(struct harness *h, const struct vub_config *cfg)
{
	return harness_start_how(h, cfg, NULL, 0);
}

/* Waits for the child (it exits once the front-end closed its end; killed
 * after 5 s) and returns what it logged (malloc'd, never NULL). */
static inline char *harness_finish(struct harness *h)
{
	int64_t end = h_now_ms() + 5000;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int st;

	if (h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
	while (h->pid > 0 && waitpid(h->pid, &st, WNOHANG) == 0) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		if (h_now_ms() > end) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &st, 0);
			break;
		}
		nanosleep(&ts, NULL);
	}
	h->pid = 0;
	f = fopen(h->log, "r");
	if (f) {
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			char *nb = realloc(buf, len + n + 1);

			if (!nb)
				break;
			buf = nb;
			memcpy(buf + len, chunk, n);
			len += n;
		}
		fclose(f);
	}
	unlink(h->log);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

/* Compares a log with the expected lines (NULL-terminated), printing the
 * first difference as a TAP comment. Lines starting with "BACKEND_REQ"
 * (asynchronous) are skipped when skip_async. */
static inline bool log_equals(const char *log, const char *const *want, bool skip_async)
{
	const char *p = log;
	int i = 0;

	while (*p || want[i]) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (*p && skip_async && !strncmp(p, "BACKEND_REQ", 11)) {
			p += n + (nl ? 1 : 0);
			continue;
		}
		if (!*p || !want[i] || strlen(want[i]) != n || strncmp(p, want[i], n)) {
			printf("#   line %d: got  '%.*s'\n#   line %d: want '%s'\n", i + 1,
			       (int)n, *p ? p : "(end)", i + 1, want[i] ? want[i] : "(end)");
			return false;
		}
		p += n + (nl ? 1 : 0);
		i++;
	}
	return true;
}

/* A raw reply written into the peer's end before the front-end asks:
 * lets a test feed any bytes without a second process. */
static inline int raw_reply(int peer, uint32_t request, uint32_t flags, uint32_t size,
			    const void *payload, size_t payload_len, int pass_fd)
{
	struct vhost_user_hdr hdr = { request, flags, size };
	char buf[sizeof(hdr) + 512];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, sizeof(hdr) + payload_len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (payload_len > 512)
		return -1;
	memcpy(buf, &hdr, sizeof(hdr));
	if (payload_len)
		memcpy(buf + sizeof(hdr), payload, payload_len);
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = sizeof(cbuf.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	return sendmsg(peer, &mh, MSG_NOSIGNAL) == (ssize_t)iov.iov_len ? 0 : -1;
}

#endif
