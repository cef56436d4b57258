/* The back-end request channel: requests the back-end sends us on the
 * socketpair handed over with SET_BACKEND_REQ_FD. Only CONFIG_CHANGE_MSG
 * does something today; everything else is refused with a log line, the
 * way QEMU refuses what it does not implement.
 *
 * The event loop's thread calls in on POLLIN, holding the device's lock,
 * so nothing here waits for the back-end: a request is gathered in
 * vu->req_rx over as many calls as its bytes take to arrive, and an
 * answer that does not fit into the socket at once is the back-end's
 * failure to read them, not something to wait out. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "vhost/vhost_user.h"
#include "vhost/vhost_user_internal.h"
#include "vhost/vhost_user_trace.h"

#define CHANNEL "backend-req"

int vhost_user_setup_backend_req(struct vhost_user *vu,
				 const struct vhost_user_backend_req_ops *ops,
				 void *opaque)
{
	int sv[2], r;

	if (!vhost_user_has_protocol_feature(vu, VHOST_USER_PROTOCOL_F_BACKEND_REQ))
		return 0;
	vhost_user_backend_req_close(vu);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vhost_user_fail(vu, -errno, "back-end request channel: socketpair: %s",
				       strerror(errno));
	r = vhost_user_set_backend_req_fd(vu, sv[1]);
	/* The back-end has its own copy now (or never will). */
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		close(sv[0]);
		return vhost_user_fail(vu, r, "back-end request channel: %s", strerror(-r));
	}
	vu->req_fd = sv[0];
	vu->req_ops = ops;
	vu->req_opaque = opaque;
	return 0;
}

int vhost_user_backend_req_fd(const struct vhost_user *vu)
{
	return vu->req_fd;
}

/* Forgets the request being received; its fds are ours to close. */
static void rx_reset(struct vhost_user *vu)
{
	vu_close_fds(vu->req_rx.fds, vu->req_rx.nfds);
	vu->req_rx.nfds = 0;
	vu->req_rx.got = 0;
}

void vhost_user_backend_req_close(struct vhost_user *vu)
{
	if (vu->req_fd >= 0) {
		close(vu->req_fd);
		vu->req_fd = -1;
	}
	rx_reset(vu);
}

static const char *breq_name(uint32_t request)
{
	const char *n = vhost_user_backend_request_name(request);

	return n ? n : "UNKNOWN";
}

/* Refuses what we do not implement; a config change is only noted: it is
 * done once the answer is out (vhost_user_run_deferred), because re-reading
 * the config is a request of ours on the main socket, which a back-end
 * waiting for this answer would never read. So the answer says "received",
 * as the spec asks of it, not whether the re-read worked. */
static int dispatch(struct vhost_user *vu, const struct vhost_user_msg *msg)
{
	const struct vhost_user_backend_req_ops *ops = vu->req_ops;

	if (msg->hdr.request == VHOST_USER_BACKEND_CONFIG_CHANGE_MSG && ops &&
	    ops->config_change) {
		vu->config_change_deferred = true;
		return 0;
	}
	pr_warn("vhost-user %s: back-end request %s (%u) is not supported; refused",
		vu->name, breq_name(msg->hdr.request), msg->hdr.request);
	return -EOPNOTSUPP;
}

/* Reads what the channel has, until the request has want bytes (header,
 * then payload; want >= the header). Never beyond want: the next request
 * and the fds sent with it stay in the socket for the next call. */
static int rx_fill(struct vhost_user *vu, size_t want)
{
	struct vhost_user_msg *m = &vu->req_rx.msg;

	while (vu->req_rx.got < want) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} cbuf;
		size_t got = vu->req_rx.got;
		/* Header and payload live apart (see vhost_user_msg). */
		struct iovec iov = got < VHOST_USER_HDR_SIZE ?
			(struct iovec){ (char *)&m->hdr + got, VHOST_USER_HDR_SIZE - got } :
			(struct iovec){ (char *)&m->payload + (got - VHOST_USER_HDR_SIZE), want - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
		};
		ssize_t n;

		n = recvmsg(vu->req_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -EAGAIN;
			return errno == ECONNRESET ? -ENOTCONN : -errno;
		}
		if (vu_take_fds(&mh, vu->req_rx.fds, &vu->req_rx.nfds, VHOST_USER_MAX_FDS) < 0)
			return vhost_user_fail(vu, -EPROTO,
					       "back-end request channel: a request carries more than %d fds",
					       VHOST_USER_MAX_FDS);
		if (n == 0)
			return -ENOTCONN;
		vu->req_rx.got += (size_t)n;
	}
	return 0;
}

/* Before waiting for a payload: a bad header says the stream is lost, and
 * its size must not decide how much we read. */
static int check_header(struct vhost_user *vu)
{
	const struct vhost_user_msg *msg = &vu->req_rx.msg;
	uint32_t known_flags = VHOST_USER_VERSION_MASK | VHOST_USER_NEED_REPLY_MASK;
	char why[160], note[200];

	why[0] = '\0';
	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    (msg->hdr.flags & ~known_flags))
		snprintf(why, sizeof(why), "flags 0x%x (expected version 1, optionally NEED_REPLY)",
			 msg->hdr.flags);
	else if (msg->hdr.size > VHOST_USER_PAYLOAD_MAX)
		snprintf(why, sizeof(why), "size %u exceeds the largest payload (%zu)",
			 msg->hdr.size, VHOST_USER_PAYLOAD_MAX);
	else if (vhost_user_backend_request_name(msg->hdr.request) &&
		 !vhost_user_backend_request_size_ok(msg->hdr.request, msg->hdr.size))
		snprintf(why, sizeof(why), "size %u is wrong for %s", msg->hdr.size,
			 breq_name(msg->hdr.request));
	if (!why[0])
		return 0;
	snprintf(note, sizeof(note), "REJECTED: %s", why);
	vhost_user_trace_msg(vu->trace, vu->name, CHANNEL, VHOST_USER_TRACE_RECV, msg,
			     vu->req_rx.fds, vu->req_rx.nfds, -1, note);
	return vhost_user_fail(vu, -EPROTO, "back-end request %s (%u): %s",
			       breq_name(msg->hdr.request), msg->hdr.request, why);
}

/* QEMU answers whenever NEED_REPLY is set, REPLY_ACK or not: a back-end
 * that asked waits for the answer. */
static int reply(struct vhost_user *vu, uint32_t request, int result)
{
	struct vhost_user_msg msg;
	bool sent_any;
	int r;

	memset(&msg, 0, sizeof(msg));
	msg.hdr.request = request;
	msg.hdr.flags = VHOST_USER_REPLY_FLAGS;
	msg.hdr.size = sizeof(uint64_t);
	msg.payload.u64 = result < 0 ? 1 : 0;
	/* Deadline now: no room for 20 bytes means the socket is full of
	 * answers the back-end has not read, and waiting for it to read them
	 * would hold the event loop and the device lock. */
	r = vu_send_msg(vu->req_fd, &msg, NULL, 0, vu_now_us(), &sent_any);
	if (r == -ENOTCONN)
		return vhost_user_fail(vu, -ENOTCONN,
				       "back-end request channel: the back-end closed it before our reply to %s",
				       breq_name(request));
	if (r == -ETIMEDOUT)
		return vhost_user_fail(vu, -EPROTO,
				       "back-end request channel: the back-end does not read our replies (no room for the one to %s)",
				       breq_name(request));
	if (r < 0)
		return vhost_user_fail(vu, r, "back-end request channel: replying to %s: %s",
				       breq_name(request), strerror(-r));
	vhost_user_trace_msg(vu->trace, vu->name, CHANNEL, VHOST_USER_TRACE_SEND, &msg,
			     NULL, 0, -1, NULL);
	return 0;
}

int vhost_user_handle_backend_req(struct vhost_user *vu)
{
	const struct vhost_user_msg *msg = &vu->req_rx.msg;
	struct vhost_user_msg m;
	int r;

	if (vu->req_fd < 0)
		return vhost_user_fail(vu, -ENOTCONN, "no back-end request channel");
	r = rx_fill(vu, VHOST_USER_HDR_SIZE);
	if (r == 0)
		r = check_header(vu);
	if (r == 0)
		r = rx_fill(vu, VHOST_USER_HDR_SIZE + msg->hdr.size);
	if (r == -EAGAIN)
		return r;
	if (r == -ENOTCONN || r == -EPROTO) {
		rx_reset(vu);
		return r == -EPROTO ? r :
		       vhost_user_fail(vu, r, "the back-end closed its request channel");
	}
	/* ENOMEM and the like: what was read stays, the stream in step. */
	if (r < 0)
		return vhost_user_fail(vu, r, "back-end request channel: %s", strerror(-r));
	vhost_user_trace_msg(vu->trace, vu->name, CHANNEL, VHOST_USER_TRACE_RECV, msg,
			     vu->req_rx.fds, vu->req_rx.nfds, -1, NULL);

	/* Copied out, and the receive state reset, before anything runs that
	 * may read the channel again (the deferred re-read waits for a reply
	 * and serves the channel meanwhile). No handler keeps an fd today
	 * (host notifiers and shared objects are refused), so none may
	 * outlive the request. */
	m = *msg;
	rx_reset(vu);
	r = dispatch(vu, &m);
	if (m.hdr.flags & VHOST_USER_NEED_REPLY_MASK)
		r = reply(vu, m.hdr.request, r);
	else
		r = 0;
	if (r == 0)
		vhost_user_run_deferred(vu);
	return r;
}

void vhost_user_run_deferred(struct vhost_user *vu)
{
	const struct vhost_user_backend_req_ops *ops = vu->req_ops;
	int r;

	if (!vu->config_change_deferred || vu->awaiting_reply || !ops || !ops->config_change)
		return;
	vu->config_change_deferred = false;
	r = ops->config_change(vu->req_opaque);
	if (r < 0)
		pr_warn("vhost-user %s: back-end request CONFIG_CHANGE_MSG failed: %s", vu->name,
			strerror(-r));
}
