/* The back-end request channel: requests the back-end sends us on the
 * socketpair handed over with SET_BACKEND_REQ_FD. Only CONFIG_CHANGE_MSG
 * does something today; everything else is refused with a log line, the
 * way QEMU refuses what it does not implement. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost/vhost_user.h"
#include "vhost/vhost_user_internal.h"
#include "vhost/vhost_user_trace.h"
#include "vmm/log.h"

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

void vhost_user_backend_req_close(struct vhost_user *vu)
{
	if (vu->req_fd >= 0) {
		close(vu->req_fd);
		vu->req_fd = -1;
	}
}

static const char *breq_name(uint32_t request)
{
	const char *n = vhost_user_backend_request_name(request);

	return n ? n : "UNKNOWN";
}

static int dispatch(struct vhost_user *vu, const struct vhost_user_msg *msg)
{
	const struct vhost_user_backend_req_ops *ops = vu->req_ops;
	int r;

	switch (msg->hdr.request) {
	case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG:
		if (!ops || !ops->config_change)
			break;
		r = ops->config_change(vu->req_opaque);
		if (r < 0)
			pr_warn("vhost-user %s: back-end request CONFIG_CHANGE_MSG failed: %s",
				vu->name, strerror(-r));
		return r;
	default:
		break;
	}
	pr_warn("vhost-user %s: back-end request %s (%u) is not supported; refused",
		vu->name, breq_name(msg->hdr.request), msg->hdr.request);
	return -EOPNOTSUPP;
}

int vhost_user_handle_backend_req(struct vhost_user *vu)
{
	struct vhost_user_msg msg, reply;
	int fds[VHOST_USER_MAX_FDS], nfds = 0, r;
	int64_t deadline;
	struct pollfd p;
	uint32_t known_flags = VHOST_USER_VERSION_MASK | VHOST_USER_NEED_REPLY_MASK;
	bool sent_any;
	char why[160];

	if (vu->req_fd < 0)
		return vhost_user_fail(vu, -ENOTCONN, "no back-end request channel");
	/* Called from the event loop on POLLIN; if nothing is there, say so
	 * instead of waiting for a timeout. */
	p = (struct pollfd){ .fd = vu->req_fd, .events = POLLIN };
	if (poll(&p, 1, 0) == 0)
		return -EAGAIN;

	memset(&msg, 0, sizeof(msg));
	deadline = vu_now_us() + (int64_t)vu->timeout_ms * 1000;
	r = vu_recv_full(vu->req_fd, &msg.hdr, VHOST_USER_HDR_SIZE, deadline, fds,
			 &nfds, VHOST_USER_MAX_FDS);
	if (r < 0)
		goto io_error;

	why[0] = '\0';
	if ((msg.hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    (msg.hdr.flags & ~known_flags))
		snprintf(why, sizeof(why), "flags 0x%x (expected version 1, optionally NEED_REPLY)",
			 msg.hdr.flags);
	else if (msg.hdr.size > VHOST_USER_PAYLOAD_MAX)
		snprintf(why, sizeof(why), "size %u exceeds the largest payload (%zu)",
			 msg.hdr.size, VHOST_USER_PAYLOAD_MAX);
	else if (vhost_user_backend_request_name(msg.hdr.request) &&
		 !vhost_user_backend_request_size_ok(msg.hdr.request, msg.hdr.size))
		snprintf(why, sizeof(why), "size %u is wrong for %s", msg.hdr.size,
			 breq_name(msg.hdr.request));
	if (why[0]) {
		char note[200];

		snprintf(note, sizeof(note), "REJECTED: %s", why);
		vhost_user_trace_msg(vu->trace, vu->name, CHANNEL, VHOST_USER_TRACE_RECV,
				     &msg, fds, nfds, -1, note);
		vu_close_fds(fds, nfds);
		return vhost_user_fail(vu, -EPROTO, "back-end request %s (%u): %s",
				       breq_name(msg.hdr.request), msg.hdr.request, why);
	}
	r = vu_recv_full(vu->req_fd, &msg.payload, msg.hdr.size, deadline, fds, &nfds,
			 VHOST_USER_MAX_FDS);
	if (r < 0)
		goto io_error;
	vhost_user_trace_msg(vu->trace, vu->name, CHANNEL, VHOST_USER_TRACE_RECV, &msg,
			     fds, nfds, -1, NULL);

	r = dispatch(vu, &msg);
	/* No handler keeps an fd today (host notifiers and shared objects
	 * are refused), so none may outlive the request. */
	vu_close_fds(fds, nfds);

	/* QEMU answers whenever NEED_REPLY is set, REPLY_ACK or not: a
	 * back-end that asked waits for the answer. */
	if (!(msg.hdr.flags & VHOST_USER_NEED_REPLY_MASK))
		return 0;
	memset(&reply, 0, sizeof(reply));
	reply.hdr.request = msg.hdr.request;
	reply.hdr.flags = VHOST_USER_REPLY_FLAGS;
	reply.hdr.size = sizeof(uint64_t);
	reply.payload.u64 = r < 0 ? 1 : 0;
	r = vu_send_msg(vu->req_fd, &reply, NULL, 0, deadline, &sent_any);
	if (r == -ENOTCONN)
		return vhost_user_fail(vu, -ENOTCONN,
				       "back-end request channel: the back-end closed it before our reply to %s",
				       breq_name(msg.hdr.request));
	if (r < 0)
		return vhost_user_fail(vu, r, "back-end request channel: replying to %s: %s",
				       breq_name(msg.hdr.request), strerror(-r));
	vhost_user_trace_msg(vu->trace, vu->name, CHANNEL, VHOST_USER_TRACE_SEND, &reply,
			     NULL, 0, -1, NULL);
	return 0;

io_error:
	vu_close_fds(fds, nfds);
	if (r == -ENOTCONN)
		return vhost_user_fail(vu, -ENOTCONN, "the back-end closed its request channel");
	if (r == -ETIMEDOUT)
		return vhost_user_fail(vu, -EPROTO,
				       "back-end request channel: a request was cut short (nothing more for %d ms)",
				       vu->timeout_ms);
	return vhost_user_fail(vu, r, "back-end request channel: %s", strerror(-r));
}
