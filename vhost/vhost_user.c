#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "vhost/vhost_user.h"
#include "vhost/vhost_user_internal.h"
#include "vhost/vhost_user_trace.h"

int64_t vu_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *req_name(uint32_t request)
{
	const char *n = vhost_user_request_name(request);

	return n ? n : "UNKNOWN";
}

int vhost_user_fail(struct vhost_user *vu, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(vu->err, sizeof(vu->err), "vhost-user %s: ", vu->name);
	if (n < 0 || n >= (int)sizeof(vu->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(vu->err + n, sizeof(vu->err) - n, fmt, ap);
	va_end(ap);
	vhost_user_trace_note(vu->trace, vu->name, "error: %s", vu->err + n);
	return err;
}

void vu_close_fds(int *fds, int nfds)
{
	int i;

	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Waits until fd is ready for events or deadline_us passes. */
static int wait_fd(int fd, short events, int64_t deadline_us)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline_us - vu_now_us();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)((left + 999) / 1000));
		if (r > 0)
			return 0; /* ready, or HUP/ERR: the next call reports it */
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int vu_send_msg(int fd, const struct vhost_user_msg *msg, const int *fds,
		int nfds, int64_t deadline_us, bool *sent_any)
{
	size_t total = VHOST_USER_HDR_SIZE + msg->hdr.size, sent = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;

	*sent_any = false;
	if (nfds < 0 || nfds > VHOST_USER_MAX_FDS || msg->hdr.size > VHOST_USER_PAYLOAD_MAX)
		return -EINVAL;
	while (sent < total) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		ssize_t n;

		/* Header and payload live apart (see vhost_user_msg). */
		if (sent < VHOST_USER_HDR_SIZE) {
			iov[0].iov_base = (char *)&msg->hdr + sent;
			iov[0].iov_len = VHOST_USER_HDR_SIZE - sent;
			iov[1].iov_base = (void *)&msg->payload;
			iov[1].iov_len = msg->hdr.size;
			mh.msg_iovlen = msg->hdr.size ? 2 : 1;
		} else {
			iov[0].iov_base = (char *)&msg->payload + (sent - VHOST_USER_HDR_SIZE);
			iov[0].iov_len = total - sent;
			mh.msg_iovlen = 1;
		}
		/* The fds travel with the first byte only. */
		if (sent == 0 && nfds > 0) {
			struct cmsghdr *c;

			memset(&cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		/* MSG_NOSIGNAL: a dead back-end is an EPIPE for the device to
		 * handle, not a SIGPIPE that kills the VMM. */
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				r = wait_fd(fd, POLLOUT, deadline_us);
				if (r < 0)
					return r;
				continue;
			}
			if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
				return -ENOTCONN;
			return -errno;
		}
		sent += (size_t)n;
		*sent_any = true;
	}
	return 0;
}

int vu_take_fds(struct msghdr *mh, int *fds, int *nfds, int maxfds)
{
	bool too_many = mh->msg_flags & MSG_CTRUNC;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t i, cnt;
		int f;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt; i++) {
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < maxfds) {
				fds[(*nfds)++] = f;
			} else {
				close(f);
				too_many = true;
			}
		}
	}
	return too_many ? -EPROTO : 0;
}

int vu_recv_full(int fd, void *buf, size_t len, int64_t deadline_us,
		 int *fds, int *nfds, int maxfds)
{
	size_t got = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
		};
		ssize_t n;

		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				r = wait_fd(fd, POLLIN, deadline_us);
				if (r < 0)
					return r;
				continue;
			}
			if (errno == ECONNRESET)
				return -ENOTCONN;
			return -errno;
		}
		if (vu_take_fds(&mh, fds, nfds, maxfds) < 0)
			return -EPROTO;
		if (n == 0)
			return -ENOTCONN;
		got += (size_t)n;
	}
	return 0;
}

void vhost_user_init(struct vhost_user *vu, const char *name)
{
	memset(vu, 0, sizeof(*vu));
	snprintf(vu->name, sizeof(vu->name), "%s", name ? name : "?");
	vu->fd = -1;
	vu->listen_fd = -1;
	vu->req_fd = -1;
	vu->timeout_ms = VHOST_USER_DEFAULT_TIMEOUT_MS;
	vu->protocol_features_wanted = VHOST_USER_PROTOCOL_FEATURES_SUPPORTED;
}

void vhost_user_want_protocol_features(struct vhost_user *vu, uint64_t mask)
{
	vu->protocol_features_wanted = mask & VHOST_USER_PROTOCOL_FEATURES_SUPPORTED;
}

void vhost_user_set_timeout(struct vhost_user *vu, int timeout_ms)
{
	vu->timeout_ms = timeout_ms > 0 ? timeout_ms : VHOST_USER_DEFAULT_TIMEOUT_MS;
}

void vhost_user_set_trace(struct vhost_user *vu, FILE *f)
{
	vu->trace = f;
}

const char *vhost_user_error(const struct vhost_user *vu)
{
	return vu->err[0] ? vu->err : "no error";
}

bool vhost_user_connected(const struct vhost_user *vu)
{
	return vu->fd >= 0;
}

int vhost_user_listen_fd(const struct vhost_user *vu)
{
	return vu->fd < 0 ? vu->listen_fd : -1;
}

/* A new connection is a new back-end session: nothing negotiated on the
 * previous one carries over. */
static void attach(struct vhost_user *vu, int fd)
{
	vu->fd = fd;
	vu->protocol_features = 0;
	vu->nshadow = 0;
	vu->err[0] = '\0';
}

int vhost_user_attach_fd(struct vhost_user *vu, int fd)
{
	int fl;

	if (fd < 0)
		return vhost_user_fail(vu, -EBADF, "no socket to attach");
	if (vu->fd >= 0)
		return vhost_user_fail(vu, -EBUSY, "already connected");
	/* Our I/O never blocks outside poll(), whatever the fd came with. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return vhost_user_fail(vu, -errno, "fd %d: %s", fd, strerror(errno));
	attach(vu, fd);
	vhost_user_trace_note(vu->trace, vu->name, "connected (fd %d)", fd);
	return 0;
}

static int fill_addr(struct vhost_user *vu, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(vu->path) >= sizeof(sa->sun_path))
		return vhost_user_fail(vu, -ENAMETOOLONG,
				       "socket path %s is too long (at most %zu bytes)",
				       vu->path, sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, vu->path, strlen(vu->path));
	return 0;
}

static const char *connect_hint(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return " (nothing listens there: start the back-end first, or use server=on to let it connect to us)";
	case ENOENT:
		return " (no socket there: start the back-end first, or use server=on to let it connect to us)";
	case EACCES:
		return " (permission denied on the socket or a directory above it)";
	case ENOTSOCK:
		return " (the path is not a socket)";
	default:
		return "";
	}
}

static int do_connect(struct vhost_user *vu)
{
	struct sockaddr_un sa;
	int64_t deadline;
	int fd, r, e;

	r = fill_addr(vu, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vhost_user_fail(vu, -errno, "socket: %s", strerror(errno));
	deadline = vu_now_us() + (int64_t)vu->timeout_ms * 1000;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		e = errno;
		if (e == EINTR)
			continue;
		/* Non-blocking AF_UNIX connect says EAGAIN while the
		 * listener's backlog is full; it does not queue us, so retry
		 * until the reply timeout rather than block forever. */
		if (e == EAGAIN && vu_now_us() < deadline) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			continue;
		}
		close(fd);
		if (e == EAGAIN)
			return vhost_user_fail(vu, -ETIMEDOUT,
					       "cannot connect to %s: the back-end accepts no connections (listen backlog full for %d ms)",
					       vu->path, vu->timeout_ms);
		return vhost_user_fail(vu, -e, "cannot connect to %s: %s%s",
				       vu->path, strerror(e), connect_hint(e));
	}
	attach(vu, fd);
	vhost_user_trace_note(vu->trace, vu->name, "connected to %s", vu->path);
	return 0;
}

static int do_listen(struct vhost_user *vu)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r, e;

	r = fill_addr(vu, &sa);
	if (r < 0)
		return r;
	/* A socket file left by an earlier run would make bind() fail; QEMU
	 * removes it too. Anything else at that path is not ours to delete. */
	if (lstat(vu->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return vhost_user_fail(vu, -EEXIST,
					       "cannot listen on %s: it exists and is not a socket",
					       vu->path);
		unlink(vu->path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vhost_user_fail(vu, -errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		e = errno;
		close(fd);
		return vhost_user_fail(vu, -e, "cannot listen on %s: %s", vu->path,
				       strerror(e));
	}
	vu->listen_fd = fd;
	vu->unlink_path = true;
	vhost_user_trace_note(vu->trace, vu->name, "listening on %s", vu->path);
	return 0;
}

int vhost_user_accept(struct vhost_user *vu)
{
	int fd;

	if (vu->listen_fd < 0)
		return vhost_user_fail(vu, -EINVAL, "not listening (server=off)");
	for (;;) {
		fd = accept4(vu->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			break;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		return vhost_user_fail(vu, -errno, "accept on %s: %s", vu->path,
				       strerror(errno));
	}
	if (vu->fd >= 0) {
		close(fd);
		pr_warn("vhost-user %s: refused a second back-end connection on %s: one is already connected",
			vu->name, vu->path);
		return -EBUSY;
	}
	attach(vu, fd);
	vhost_user_trace_note(vu->trace, vu->name, "back-end connected on %s", vu->path);
	return 0;
}

int vhost_user_open(struct vhost_user *vu, const struct chardev_config *chr)
{
	int r;

	if (vu->fd >= 0 || vu->listen_fd >= 0)
		return vhost_user_fail(vu, -EBUSY, "already open");
	if (!chr->path || !*chr->path)
		return vhost_user_fail(vu, -EINVAL, "chardev has no path=");
	snprintf(vu->path, sizeof(vu->path), "%s", chr->path);
	if (strlen(chr->path) >= sizeof(vu->path))
		return vhost_user_fail(vu, -ENAMETOOLONG,
				       "socket path %s is too long (at most %zu bytes)",
				       chr->path, sizeof(vu->path) - 1);
	vu->server = chr->server;
	if (!chr->server)
		return do_connect(vu);
	r = do_listen(vu);
	if (r < 0 || !chr->wait)
		return r;
	/* QEMU prints this too: without it a VMM that waits for a back-end
	 * nobody started just looks hung. */
	pr_warn("vhost-user %s: waiting for a back-end to connect to %s (server=on,wait=on)",
		vu->name, vu->path);
	return vhost_user_wait_accept(vu);
}

int vhost_user_wait_accept(struct vhost_user *vu)
{
	sigset_t none;
	int r;

	/* The VMM blocks SIGINT and SIGTERM for its signalfd; waiting here
	 * with them unblocked keeps Ctrl-C working on a backend that never
	 * comes. */
	sigemptyset(&none);
	for (;;) {
		struct pollfd p = { .fd = vu->listen_fd, .events = POLLIN };

		if (ppoll(&p, 1, NULL, &none) < 0 && errno != EINTR)
			return vhost_user_fail(vu, -errno, "poll: %s", strerror(errno));
		r = vhost_user_accept(vu);
		if (r != -EAGAIN)
			return r;
	}
}

void vhost_user_disconnect(struct vhost_user *vu)
{
	vhost_user_backend_req_close(vu);
	if (vu->fd >= 0) {
		close(vu->fd);
		vu->fd = -1;
		vhost_user_trace_note(vu->trace, vu->name, "disconnected");
	}
	vu->protocol_features = 0;
	vu->nshadow = 0;
	vu->config_change_deferred = false;
}

void vhost_user_close(struct vhost_user *vu)
{
	vhost_user_disconnect(vu);
	if (vu->listen_fd >= 0) {
		close(vu->listen_fd);
		vu->listen_fd = -1;
	}
	if (vu->unlink_path) {
		unlink(vu->path);
		vu->unlink_path = false;
	}
}

/* The connection cannot be trusted any more (peer gone, timeout, garbage):
 * close it, so that every later call fails fast with -ENOTCONN instead of
 * reading a stale reply. The spec asks the front-end to do exactly that. */
__attribute__((format(printf, 3, 4)))
static int lost(struct vhost_user *vu, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (vu->fd >= 0) {
		close(vu->fd);
		vu->fd = -1;
	}
	return vhost_user_fail(vu, err, "%s; connection closed", msg);
}

static int not_connected(struct vhost_user *vu, uint32_t request)
{
	return vhost_user_fail(vu, -ENOTCONN, "%s: not connected to the back-end",
			       req_name(request));
}

static int send_msg(struct vhost_user *vu, const struct vhost_user_msg *msg,
		    const int *fds, int nfds)
{
	const char *name = req_name(msg->hdr.request);
	bool sent_any;
	int r;

	if (vu->fd < 0)
		return not_connected(vu, msg->hdr.request);
	r = vu_send_msg(vu->fd, msg, fds, nfds,
			vu_now_us() + (int64_t)vu->timeout_ms * 1000, &sent_any);
	if (r == -ENOTCONN)
		return lost(vu, -ENOTCONN, "%s: the back-end closed the connection", name);
	if (r == -ETIMEDOUT)
		return lost(vu, -ETIMEDOUT,
			    "%s: could not send for %d ms: the back-end is not reading",
			    name, vu->timeout_ms);
	if (r < 0 && sent_any)
		return lost(vu, r, "%s: send failed halfway: %s", name, strerror(-r));
	if (r < 0)
		return vhost_user_fail(vu, r, "%s: send failed: %s", name, strerror(-r));
	vhost_user_trace_msg(vu->trace, vu->name, NULL, VHOST_USER_TRACE_SEND,
			     msg, fds, nfds, -1, NULL);
	return 0;
}

/* Waits for the main socket to have data until deadline. The back-end may
 * meanwhile wait for us: a NEED_REPLY request on its channel, unanswered,
 * would stall both sides until our timeout (QEMU fixed the same deadlock
 * in vhost_user_read by serving the channel while it waits). So the
 * channel is served here too; a broken one is left to the event loop,
 * which sees the same error and closes it. */
static int await_reply(struct vhost_user *vu, int64_t deadline_us)
{
	bool serve = vu->req_fd >= 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = vu->fd, .events = POLLIN },
			{ .fd = vu->req_fd, .events = POLLIN },
		};
		int64_t left = deadline_us - vu_now_us();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(p, serve ? 2 : 1, (int)((left + 999) / 1000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (p[0].revents)
			return 0;
		r = vhost_user_handle_backend_req(vu);
		if (r < 0 && r != -EAGAIN)
			serve = false;
	}
}

/* Reads the reply to req: request id equal, flags exactly VERSION|REPLY,
 * size within [min, max]. t_sent_us times the round trip for the trace. */
static int read_reply(struct vhost_user *vu, const struct vhost_user_msg *req,
		      struct vhost_user_msg *reply, uint32_t min, uint32_t max,
		      int64_t t_sent_us)
{
	const char *name = req_name(req->hdr.request);
	int64_t deadline = vu_now_us() + (int64_t)vu->timeout_ms * 1000;
	int fds[VHOST_USER_MAX_FDS], nfds = 0, r;
	char why[160];

	if (vu->fd < 0)
		return not_connected(vu, req->hdr.request);
	memset(reply, 0, sizeof(*reply));
	vu->awaiting_reply = true;
	r = await_reply(vu, deadline);
	vu->awaiting_reply = false;
	if (r == 0)
		r = vu_recv_full(vu->fd, &reply->hdr, VHOST_USER_HDR_SIZE, deadline, fds,
				 &nfds, VHOST_USER_MAX_FDS);
	/* None of our requests is answered with fds; never keep them. */
	vu_close_fds(fds, nfds);
	if (r == -ETIMEDOUT)
		return lost(vu, -ETIMEDOUT, "%s: no reply from the back-end within %d ms",
			    name, vu->timeout_ms);
	if (r == -ENOTCONN)
		return lost(vu, -ENOTCONN, "%s: the back-end closed the connection instead of replying",
			    name);
	if (r == -EPROTO)
		return lost(vu, r, "%s: the reply carries more than %d fds", name,
			    VHOST_USER_MAX_FDS);
	if (r < 0)
		return lost(vu, r, "%s: reading the reply: %s", name, strerror(-r));

	why[0] = '\0';
	if (reply->hdr.request != req->hdr.request)
		snprintf(why, sizeof(why), "reply has request id %u (%s), expected %u",
			 reply->hdr.request, req_name(reply->hdr.request),
			 req->hdr.request);
	else if (reply->hdr.flags != VHOST_USER_REPLY_FLAGS)
		snprintf(why, sizeof(why), "reply has flags 0x%x, expected 0x%x (version 1, REPLY)",
			 reply->hdr.flags, VHOST_USER_REPLY_FLAGS);
	else if (reply->hdr.size < min || reply->hdr.size > max) {
		if (min == max)
			snprintf(why, sizeof(why), "reply has size %u, expected %u",
				 reply->hdr.size, min);
		else
			snprintf(why, sizeof(why), "reply has size %u, expected %u to %u",
				 reply->hdr.size, min, max);
	}
	if (why[0]) {
		char note[200];

		snprintf(note, sizeof(note), "REJECTED: %s", why);
		vhost_user_trace_msg(vu->trace, vu->name, NULL, VHOST_USER_TRACE_RECV,
				     reply, NULL, 0, vu_now_us() - t_sent_us, note);
		return lost(vu, -EPROTO, "%s: %s", name, why);
	}
	nfds = 0;
	r = vu_recv_full(vu->fd, &reply->payload, reply->hdr.size, deadline, fds,
			 &nfds, VHOST_USER_MAX_FDS);
	vu_close_fds(fds, nfds);
	if (r == -ETIMEDOUT)
		return lost(vu, -ETIMEDOUT, "%s: reply payload did not arrive within %d ms",
			    name, vu->timeout_ms);
	if (r == -ENOTCONN)
		return lost(vu, -ENOTCONN, "%s: the back-end closed the connection in the middle of its reply",
			    name);
	if (r == -EPROTO)
		return lost(vu, r, "%s: the reply carries more than %d fds", name,
			    VHOST_USER_MAX_FDS);
	if (r < 0)
		return lost(vu, r, "%s: reading the reply: %s", name, strerror(-r));
	vhost_user_trace_msg(vu->trace, vu->name, NULL, VHOST_USER_TRACE_RECV,
			     reply, NULL, 0, vu_now_us() - t_sent_us, NULL);
	return 0;
}

/* read_reply, then what the back-end asked for while we waited. */
static int recv_reply(struct vhost_user *vu, const struct vhost_user_msg *req,
		      struct vhost_user_msg *reply, uint32_t min, uint32_t max,
		      int64_t t_sent_us)
{
	int r = read_reply(vu, req, reply, min, max, t_sent_us);

	if (r == 0)
		vhost_user_run_deferred(vu);
	return r;
}

/* REPLY_ACK: a u64, zero for success. */
static int process_ack(struct vhost_user *vu, const struct vhost_user_msg *req,
		       int64_t t_sent_us)
{
	struct vhost_user_msg reply;
	int r;

	r = recv_reply(vu, req, &reply, sizeof(uint64_t), sizeof(uint64_t), t_sent_us);
	if (r < 0)
		return r;
	if (reply.payload.u64)
		return vhost_user_fail(vu, -EIO, "%s: the back-end reported failure (ack %llu)",
				       req_name(req->hdr.request),
				       (unsigned long long)reply.payload.u64);
	return 0;
}

static void msg_init(struct vhost_user_msg *msg, uint32_t request, uint32_t size)
{
	memset(msg, 0, sizeof(*msg));
	msg->hdr.request = request;
	msg->hdr.flags = VHOST_USER_VERSION;
	msg->hdr.size = size;
}

static void need_reply_if_acked(struct vhost_user *vu, struct vhost_user_msg *msg)
{
	if (vhost_user_has_protocol_feature(vu, VHOST_USER_PROTOCOL_F_REPLY_ACK))
		msg->hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
}

/* Sends msg; a NEED_REPLY set by the caller is always waited for. */
static int send_and_ack(struct vhost_user *vu, struct vhost_user_msg *msg,
			const int *fds, int nfds)
{
	int64_t t = vu_now_us();
	int r = send_msg(vu, msg, fds, nfds);

	if (r < 0 || !(msg->hdr.flags & VHOST_USER_NEED_REPLY_MASK))
		return r;
	return process_ack(vu, msg, t);
}

static int get_u64(struct vhost_user *vu, uint32_t request, uint64_t *out)
{
	struct vhost_user_msg msg, reply;
	int64_t t = vu_now_us();
	int r;

	msg_init(&msg, request, 0);
	r = send_msg(vu, &msg, NULL, 0);
	if (r < 0)
		return r;
	r = recv_reply(vu, &msg, &reply, sizeof(uint64_t), sizeof(uint64_t), t);
	if (r < 0)
		return r;
	*out = reply.payload.u64;
	return 0;
}

int vhost_user_write_sync(struct vhost_user *vu, struct vhost_user_msg *msg,
			  const int *fds, int nfds, bool wait)
{
	uint64_t dummy;
	int r;

	if (wait)
		need_reply_if_acked(vu, msg);
	r = send_and_ack(vu, msg, fds, nfds);
	if (r < 0 || !wait || (msg->hdr.flags & VHOST_USER_NEED_REPLY_MASK))
		return r;
	/* No REPLY_ACK: every back-end answers GET_FEATURES, and it answers
	 * in order, so its reply proves msg was processed. */
	return get_u64(vu, VHOST_USER_GET_FEATURES, &dummy);
}

static int set_u64(struct vhost_user *vu, uint32_t request, uint64_t v, bool wait)
{
	struct vhost_user_msg msg;

	msg_init(&msg, request, sizeof(uint64_t));
	msg.payload.u64 = v;
	return vhost_user_write_sync(vu, &msg, NULL, 0, wait);
}

static int set_vring_state(struct vhost_user *vu, uint32_t request,
			   unsigned index, unsigned num, bool wait)
{
	struct vhost_user_msg msg;

	msg_init(&msg, request, sizeof(struct vhost_vring_state));
	msg.payload.state.index = index;
	msg.payload.state.num = num;
	return vhost_user_write_sync(vu, &msg, NULL, 0, wait);
}

static int need_feature(struct vhost_user *vu, uint32_t request, unsigned bit)
{
	if (vhost_user_has_protocol_feature(vu, bit))
		return 0;
	return vhost_user_fail(vu, -EOPNOTSUPP,
			       "%s needs protocol feature %s, which was not negotiated",
			       req_name(request), vhost_user_protocol_feature_name(bit));
}

int vhost_user_get_features(struct vhost_user *vu, uint64_t *features)
{
	return get_u64(vu, VHOST_USER_GET_FEATURES, features);
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	/* With dirty logging on, the back-end must be logging before we go
	 * on (QEMU: vhost_user_set_features). */
	return set_u64(vu, VHOST_USER_SET_FEATURES, features,
		       features & (1ULL << VHOST_F_LOG_ALL));
}

int vhost_user_set_owner(struct vhost_user *vu)
{
	struct vhost_user_msg msg;

	msg_init(&msg, VHOST_USER_SET_OWNER, 0);
	return send_msg(vu, &msg, NULL, 0);
}

int vhost_user_get_protocol_features(struct vhost_user *vu, uint64_t *features)
{
	return get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, features);
}

int vhost_user_set_protocol_features(struct vhost_user *vu, uint64_t features)
{
	int r = set_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, features, false);

	if (r == 0)
		vu->protocol_features = features;
	return r;
}

int vhost_user_get_queue_num(struct vhost_user *vu, uint64_t *num)
{
	int r = need_feature(vu, VHOST_USER_GET_QUEUE_NUM, VHOST_USER_PROTOCOL_F_MQ);

	return r < 0 ? r : get_u64(vu, VHOST_USER_GET_QUEUE_NUM, num);
}

int vhost_user_get_max_mem_slots(struct vhost_user *vu, uint64_t *slots)
{
	int r = need_feature(vu, VHOST_USER_GET_MAX_MEM_SLOTS,
			     VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);

	return r < 0 ? r : get_u64(vu, VHOST_USER_GET_MAX_MEM_SLOTS, slots);
}

int vhost_user_set_backend_req_fd(struct vhost_user *vu, int fd)
{
	struct vhost_user_msg msg;
	int r = need_feature(vu, VHOST_USER_SET_BACKEND_REQ_FD,
			     VHOST_USER_PROTOCOL_F_BACKEND_REQ);

	if (r < 0)
		return r;
	if (fd < 0)
		return vhost_user_fail(vu, -EBADF, "SET_BACKEND_REQ_FD: no fd");
	msg_init(&msg, VHOST_USER_SET_BACKEND_REQ_FD, 0);
	need_reply_if_acked(vu, &msg);
	return send_and_ack(vu, &msg, &fd, 1);
}

static void fill_region(struct vhost_user_mem_region *dst,
			const struct vhost_mem_region *src, bool with_offset)
{
	dst->guest_phys_addr = src->gpa;
	dst->memory_size = src->size;
	dst->userspace_addr = (uint64_t)(uintptr_t)src->hva;
	/* REM_MEM_REG: "the mmap offset is ignored"; QEMU sends 0. */
	dst->mmap_offset = with_offset ? src->mmap_offset : 0;
}

static int check_region(struct vhost_user *vu, const char *what,
			const struct vhost_mem_region *r, int i)
{
	if (r->fd < 0)
		return vhost_user_fail(vu, -EBADF,
				       "%s: region %d (gpa 0x%llx) has no fd: guest RAM must be a shareable memfd or file",
				       what, i, (unsigned long long)r->gpa);
	if (!r->size || !r->hva)
		return vhost_user_fail(vu, -EINVAL, "%s: region %d is empty", what, i);
	return 0;
}

int vhost_user_set_mem_table(struct vhost_user *vu,
			     const struct vhost_mem_region *regions, int n)
{
	struct vhost_user_msg msg;
	int fds[VHOST_USER_MEMORY_MAX_NREGIONS];
	int i, r;

	if (n < 1)
		return vhost_user_fail(vu, -EINVAL, "SET_MEM_TABLE: no memory regions");
	if (n > VHOST_USER_MEMORY_MAX_NREGIONS)
		return vhost_user_fail(vu, -E2BIG,
				       "SET_MEM_TABLE: %d regions, but one message holds at most %d",
				       n, VHOST_USER_MEMORY_MAX_NREGIONS);
	msg_init(&msg, VHOST_USER_SET_MEM_TABLE,
		 8 + n * sizeof(struct vhost_user_mem_region));
	msg.payload.memory.nregions = n;
	for (i = 0; i < n; i++) {
		r = check_region(vu, "SET_MEM_TABLE", &regions[i], i);
		if (r < 0)
			return r;
		fill_region(&msg.payload.memory.regions[i], &regions[i], true);
		fds[i] = regions[i].fd;
	}
	need_reply_if_acked(vu, &msg);
	return send_and_ack(vu, &msg, fds, n);
}

static int mem_reg(struct vhost_user *vu, uint32_t request,
		   const struct vhost_mem_region *region)
{
	struct vhost_user_msg msg;
	bool add = request == VHOST_USER_ADD_MEM_REG;
	int r = need_feature(vu, request, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);

	if (r < 0)
		return r;
	if (add) {
		r = check_region(vu, "ADD_MEM_REG", region, 0);
		if (r < 0)
			return r;
	}
	msg_init(&msg, request, sizeof(struct vhost_user_mem_reg_msg));
	fill_region(&msg.payload.mem_reg.region, region, add);
	need_reply_if_acked(vu, &msg);
	/* Exactly one fd with ADD, none with REM (the spec's SHOULD). */
	return send_and_ack(vu, &msg, add ? &region->fd : NULL, add ? 1 : 0);
}

int vhost_user_add_mem_reg(struct vhost_user *vu,
			   const struct vhost_mem_region *region)
{
	return mem_reg(vu, VHOST_USER_ADD_MEM_REG, region);
}

int vhost_user_rem_mem_reg(struct vhost_user *vu,
			   const struct vhost_mem_region *region)
{
	return mem_reg(vu, VHOST_USER_REM_MEM_REG, region);
}

/* QEMU's reg_equal(): the back-end matches regions by GPA, UVA and size. */
static bool same_region(const struct vhost_mem_region *a,
			const struct vhost_mem_region *b)
{
	return a->gpa == b->gpa && a->hva == b->hva && a->size == b->size;
}

int vhost_user_set_memory(struct vhost_user *vu, const struct vhost_mem_table *mem)
{
	int i, j, r;

	if (!vhost_user_has_protocol_feature(vu, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return vhost_user_set_mem_table(vu, mem->regions, mem->nregions);

	if (mem->nregions < 1)
		return vhost_user_fail(vu, -EINVAL, "ADD_MEM_REG: no memory regions");
	/* Removals first, last to first as QEMU does, each dropped from the
	 * shadow only once the back-end acknowledged it. */
	for (i = vu->nshadow - 1; i >= 0; i--) {
		bool keep = false;

		for (j = 0; j < mem->nregions && !keep; j++)
			keep = same_region(&vu->shadow[i], &mem->regions[j]);
		if (keep)
			continue;
		r = vhost_user_rem_mem_reg(vu, &vu->shadow[i]);
		if (r < 0)
			return r;
		memmove(&vu->shadow[i], &vu->shadow[i + 1],
			(vu->nshadow - i - 1) * sizeof(vu->shadow[0]));
		vu->nshadow--;
	}
	for (j = 0; j < mem->nregions; j++) {
		bool have = false;

		for (i = 0; i < vu->nshadow && !have; i++)
			have = same_region(&vu->shadow[i], &mem->regions[j]);
		if (have)
			continue;
		if (vu->nshadow == VHOST_MEM_MAX_REGIONS)
			return vhost_user_fail(vu, -E2BIG, "ADD_MEM_REG: more than %d regions",
					       VHOST_MEM_MAX_REGIONS);
		r = vhost_user_add_mem_reg(vu, &mem->regions[j]);
		if (r < 0)
			return r;
		vu->shadow[vu->nshadow++] = mem->regions[j];
	}
	return 0;
}

int vhost_user_set_vring_num(struct vhost_user *vu, unsigned index, unsigned num)
{
	return set_vring_state(vu, VHOST_USER_SET_VRING_NUM, index, num, false);
}

int vhost_user_set_vring_addr(struct vhost_user *vu,
			      const struct vhost_vring_addr *addr)
{
	struct vhost_user_msg msg;

	msg_init(&msg, VHOST_USER_SET_VRING_ADDR, sizeof(struct vhost_vring_addr));
	msg.payload.addr = *addr;
	/* With logging on, wait until the back-end logs (as QEMU). */
	return vhost_user_write_sync(vu, &msg, NULL, 0,
				     addr->flags & (1u << VHOST_VRING_F_LOG));
}

int vhost_user_set_vring_base(struct vhost_user *vu, unsigned index, unsigned base)
{
	return set_vring_state(vu, VHOST_USER_SET_VRING_BASE, index, base, false);
}

int vhost_user_get_vring_base(struct vhost_user *vu, unsigned index,
			      unsigned *base)
{
	struct vhost_user_msg msg, reply;
	int64_t t = vu_now_us();
	int r;

	msg_init(&msg, VHOST_USER_GET_VRING_BASE, sizeof(struct vhost_vring_state));
	msg.payload.state.index = index;
	r = send_msg(vu, &msg, NULL, 0);
	if (r < 0)
		return r;
	r = recv_reply(vu, &msg, &reply, sizeof(struct vhost_vring_state),
		       sizeof(struct vhost_vring_state), t);
	if (r < 0)
		return r;
	if (reply.payload.state.index != index)
		return lost(vu, -EPROTO, "GET_VRING_BASE: reply is for queue %u, expected %u",
			    reply.payload.state.index, index);
	*base = reply.payload.state.num;
	return 0;
}

static int set_vring_fd(struct vhost_user *vu, uint32_t request, unsigned index,
			int fd)
{
	struct vhost_user_msg msg;

	if (index > VHOST_USER_VRING_IDX_MASK)
		return vhost_user_fail(vu, -EINVAL, "%s: queue index %u does not fit in 8 bits",
				       req_name(request), index);
	msg_init(&msg, request, sizeof(uint64_t));
	msg.payload.u64 = index;
	if (fd < 0)
		msg.payload.u64 |= VHOST_USER_VRING_NOFD_MASK;
	return send_msg(vu, &msg, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
}

int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned index, int fd)
{
	return set_vring_fd(vu, VHOST_USER_SET_VRING_KICK, index, fd);
}

int vhost_user_set_vring_call(struct vhost_user *vu, unsigned index, int fd)
{
	return set_vring_fd(vu, VHOST_USER_SET_VRING_CALL, index, fd);
}

int vhost_user_set_vring_err(struct vhost_user *vu, unsigned index, int fd)
{
	return set_vring_fd(vu, VHOST_USER_SET_VRING_ERR, index, fd);
}

int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned index,
				bool enable)
{
	return set_vring_state(vu, VHOST_USER_SET_VRING_ENABLE, index, enable, true);
}

int vhost_user_get_config(struct vhost_user *vu, uint32_t offset, void *buf,
			  uint32_t size)
{
	struct vhost_user_msg msg, reply;
	uint32_t want = VHOST_USER_CONFIG_HDR_SIZE + size;
	int64_t t;
	int r = need_feature(vu, VHOST_USER_GET_CONFIG, VHOST_USER_PROTOCOL_F_CONFIG);

	if (r < 0)
		return r;
	if (size > VHOST_USER_MAX_CONFIG_SIZE)
		return vhost_user_fail(vu, -E2BIG, "GET_CONFIG: %u bytes, at most %u per message",
				       size, VHOST_USER_MAX_CONFIG_SIZE);
	msg_init(&msg, VHOST_USER_GET_CONFIG, want);
	msg.payload.config.offset = offset;
	msg.payload.config.size = size;
	t = vu_now_us();
	r = send_msg(vu, &msg, NULL, 0);
	if (r < 0)
		return r;
	/* "vhost-user back-end's payload size MUST match the front-end's
	 * request, vhost-user back-end uses zero length of payload to
	 * indicate an error" */
	r = recv_reply(vu, &msg, &reply, 0, want, t);
	if (r < 0)
		return r;
	if (reply.hdr.size == 0)
		return vhost_user_fail(vu, -EIO, "GET_CONFIG: the back-end reported failure (empty reply)");
	if (reply.hdr.size != want)
		return lost(vu, -EPROTO, "GET_CONFIG: reply has size %u, expected %u",
			    reply.hdr.size, want);
	memcpy(buf, reply.payload.config.region, size);
	return 0;
}

int vhost_user_set_config(struct vhost_user *vu, uint32_t offset,
			  const void *buf, uint32_t size, uint32_t flags)
{
	struct vhost_user_msg msg;
	int r = need_feature(vu, VHOST_USER_SET_CONFIG, VHOST_USER_PROTOCOL_F_CONFIG);

	if (r < 0)
		return r;
	if (size > VHOST_USER_MAX_CONFIG_SIZE)
		return vhost_user_fail(vu, -E2BIG, "SET_CONFIG: %u bytes, at most %u per message",
				       size, VHOST_USER_MAX_CONFIG_SIZE);
	msg_init(&msg, VHOST_USER_SET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + size);
	msg.payload.config.offset = offset;
	msg.payload.config.size = size;
	msg.payload.config.flags = flags;
	memcpy(msg.payload.config.region, buf, size);
	need_reply_if_acked(vu, &msg);
	return send_and_ack(vu, &msg, NULL, 0);
}

int vhost_user_set_status(struct vhost_user *vu, uint8_t status)
{
	int r = need_feature(vu, VHOST_USER_SET_STATUS, VHOST_USER_PROTOCOL_F_STATUS);

	return r < 0 ? r : set_u64(vu, VHOST_USER_SET_STATUS, status, false);
}

int vhost_user_get_status(struct vhost_user *vu, uint8_t *status)
{
	uint64_t v;
	int r = need_feature(vu, VHOST_USER_GET_STATUS, VHOST_USER_PROTOCOL_F_STATUS);

	if (r < 0)
		return r;
	r = get_u64(vu, VHOST_USER_GET_STATUS, &v);
	if (r < 0)
		return r;
	if (v > 0xff)
		return lost(vu, -EPROTO, "GET_STATUS: status 0x%llx does not fit in 8 bits",
			    (unsigned long long)v);
	*status = (uint8_t)v;
	return 0;
}

int vhost_user_reset_device(struct vhost_user *vu)
{
	struct vhost_user_msg msg;
	int r = need_feature(vu, VHOST_USER_RESET_DEVICE,
			     VHOST_USER_PROTOCOL_F_RESET_DEVICE);

	if (r < 0)
		return r;
	msg_init(&msg, VHOST_USER_RESET_DEVICE, 0);
	return send_msg(vu, &msg, NULL, 0);
}
