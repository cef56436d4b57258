/* Shared by vhost_user.c and backend_req.c only: socket I/O with a
 * deadline, and error reporting into vu->err. */
#ifndef VHOST_VHOST_USER_INTERNAL_H
#define VHOST_VHOST_USER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vhost/vhost_user.h"

/* Monotonic microseconds. */
int64_t vu_now_us(void);

/* Records "vhost-user NAME: <message>" as the error (and in the trace)
 * and returns err. */
int vhost_user_fail(struct vhost_user *vu, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sends header + payload (+ fds with the first byte) on fd, waiting for
 * buffer space until deadline_us. Returns 0, -ETIMEDOUT, -ENOTCONN (peer
 * gone) or -errno; *sent_any tells whether part of it went out (then the
 * stream is out of sync whatever the error). */
int vu_send_msg(int fd, const struct vhost_user_msg *msg, const int *fds,
		int nfds, int64_t deadline_us, bool *sent_any);

/* Keeps the fds one recvmsg() brought in fds (counted in *nfds, at most
 * maxfds). More than that, in one piece (MSG_CTRUNC: the kernel dropped
 * the rest) or over several, is -EPROTO; none leaks either way. */
struct msghdr;
int vu_take_fds(struct msghdr *mh, int *fds, int *nfds, int maxfds);

/* Reads exactly len bytes from fd until deadline_us. File descriptors
 * that arrive are stored in fds and counted in *nfds; the caller closes
 * them. Returns 0, -ETIMEDOUT, -ENOTCONN (EOF or reset), -EPROTO (more
 * than maxfds fds) or -errno. */
int vu_recv_full(int fd, void *buf, size_t len, int64_t deadline_us,
		 int *fds, int *nfds, int maxfds);

void vu_close_fds(int *fds, int nfds);

/* Does what back-end requests answered during one of our requests asked
 * for (re-reading the config), once no request is waiting for its reply. */
void vhost_user_run_deferred(struct vhost_user *vu);

#endif
