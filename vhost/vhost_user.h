/* One vhost-user connection, front-end side: the socket (client or
 * server, as the -chardev says), one function per message, strict reply
 * validation with a timeout on every reply, REPLY_ACK, the protocol trace,
 * and the back-end request channel (vhost/backend_req.c).
 *
 * One caller at a time: the device that owns the connection calls in with
 * its device lock held, from a vCPU thread (DRIVER_OK, a reset, a config
 * write reach the device through its registers) or from the event loop
 * (the back-end's requests, its hang-up). A request waits for its reply up
 * to the reply timeout, and serves the back-end request channel meanwhile:
 * a back-end that asks something there while we wait for it gets its
 * answer, and the config change it announced is done once our request is
 * through, so neither side waits for the other. vhost_user_open() in
 * server=on,wait=on mode waits for the back-end as QEMU does (and says so
 * in a log line). Reading the back-end request channel never blocks: the
 * back-end decides when its bytes arrive, so waiting for them would hand
 * it the caller's thread.
 *
 * Return values: 0 or a negative errno, with a one-line message naming the
 * chardev, the message and the cause in vhost_user_error(). Classes:
 *   -ENOTCONN   not connected, or the back-end went away (EOF, EPIPE,
 *               ECONNRESET): the device should go to DEVICE_NEEDS_RESET
 *   -ETIMEDOUT  no reply within the timeout (the connection is closed)
 *   -EPROTO     a malformed reply (wrong id, flags or size; closed too,
 *               because the byte stream can no longer be trusted)
 *   -EIO        the back-end said no: REPLY_ACK with a non-zero value, or
 *               an empty GET_CONFIG reply (the connection stays up)
 *   -EINVAL, -E2BIG, -EOPNOTSUPP  bad arguments or a message the
 *               negotiated protocol features do not allow; nothing sent
 */
#ifndef VHOST_VHOST_USER_H
#define VHOST_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vhost/vhost_mem.h"
#include "vhost/vhost_user_proto.h"

/* -chardev socket,id=..,path=..[,server=on|off][,wait=on|off] */
struct chardev_config {
	char *id;
	char *path;
	bool server;
	bool wait;
};


#define VHOST_USER_DEFAULT_TIMEOUT_MS 5000

/* The protocol features this front-end implements and negotiates when the
 * back-end offers them. Not LOG_SHMFD (no migration), not HOST_NOTIFIER or
 * INFLIGHT_SHMFD (not yet), not BACKEND_SEND_FD: back-end requests that
 * carry fds are refused anyway. */
#define VHOST_USER_PROTOCOL_FEATURES_SUPPORTED                  \
	((1ULL << VHOST_USER_PROTOCOL_F_MQ) |                   \
	 (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |            \
	 (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |          \
	 (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |               \
	 (1ULL << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |         \
	 (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |  \
	 (1ULL << VHOST_USER_PROTOCOL_F_STATUS))

/* What the VMM does with back-end requests. A NULL member means
 * "unsupported": the request is logged and refused. */
struct vhost_user_backend_req_ops {
	/* BACKEND_CONFIG_CHANGE_MSG: re-read the config (GET_CONFIG) and
	 * raise the config interrupt. 0 or -errno (the back-end then sees
	 * a non-zero ack if it asked for one). */
	int (*config_change)(void *opaque);
};

struct vhost_user {
	char name[64];         /* chardev id: in every message and trace line */
	char path[108];        /* socket path ("" for an inherited fd) */
	bool server;           /* we listen, the back-end connects */
	bool unlink_path;      /* we created the socket file: remove it */
	int fd;                /* connected socket, -1 if none */
	int listen_fd;         /* server mode: listening socket, -1 if none */
	int timeout_ms;        /* per reply, and per blocked send */
	FILE *trace;           /* protocol trace, NULL = off */
	uint64_t protocol_features; /* as acked with SET_PROTOCOL_FEATURES */
	/* What the device lets vhost_dev_init() negotiate; all we support
	 * unless vhost_user_want_protocol_features() narrowed it. */
	uint64_t protocol_features_wanted;

	/* Back-end request channel: our end of the socketpair, and the
	 * request that has partly arrived on it (header, then payload, in
	 * msg; got counts both; fds as they came, ours to close). */
	int req_fd;
	const struct vhost_user_backend_req_ops *req_ops;
	void *req_opaque;
	struct {
		struct vhost_user_msg msg;
		size_t got;
		int fds[VHOST_USER_MAX_FDS];
		int nfds;
	} req_rx;
	/* We wait for a reply on the main socket and serve the channel
	 * meanwhile; a config change it announced is done afterwards. */
	bool awaiting_reply;
	bool config_change_deferred;

	/* Regions the back-end has mapped via ADD_MEM_REG, so that a later
	 * vhost_user_set_memory() sends only the difference, as QEMU does. */
	int nshadow;
	struct vhost_mem_region shadow[VHOST_MEM_MAX_REGIONS];

	char err[320];
};

/* Sets up an unconnected vu (no I/O). name is the chardev id. */
void vhost_user_init(struct vhost_user *vu, const char *name);
/* Reply timeout; <= 0 restores VHOST_USER_DEFAULT_TIMEOUT_MS. */
void vhost_user_set_timeout(struct vhost_user *vu, int timeout_ms);
/* Narrows what vhost_dev_init() may negotiate, e.g. without F_CONFIG for a
 * device whose config space the VMM builds itself. */
void vhost_user_want_protocol_features(struct vhost_user *vu, uint64_t mask);
/* Protocol trace destination (stderr when -trace asks for it), or NULL. */
void vhost_user_set_trace(struct vhost_user *vu, FILE *f);

/* Opens the chardev: server=off connects to path (fails at once if nobody
 * listens; a listener whose backlog stays full is given the reply timeout);
 * server=on listens on path and, with wait=on, blocks until a back-end
 * connects; with wait=off it returns at once and the caller polls
 * vhost_user_listen_fd() for POLLIN and then calls vhost_user_accept(). */
int vhost_user_open(struct vhost_user *vu, const struct chardev_config *chr);
/* Server mode: the fd to poll while no back-end is connected, else -1. */
int vhost_user_listen_fd(const struct vhost_user *vu);
/* Server mode: takes one pending connection without blocking. 0 when
 * connected, -EAGAIN if none is pending. A connection arriving while one
 * is up is refused (closed), with a warning. */
int vhost_user_accept(struct vhost_user *vu);
/* Blocks until a back-end connects to a listening vhost_user (SIGINT and
 * SIGTERM still end the process meanwhile). */
int vhost_user_wait_accept(struct vhost_user *vu);
/* Takes ownership of an already connected socket (socketpair, --fd). */
int vhost_user_attach_fd(struct vhost_user *vu, int fd);
bool vhost_user_connected(const struct vhost_user *vu);
/* Drops the connection and the back-end request channel; a server keeps
 * listening, so a back-end may connect again. */
void vhost_user_disconnect(struct vhost_user *vu);
/* Everything: connection, listener (and its socket file). */
void vhost_user_close(struct vhost_user *vu);
const char *vhost_user_error(const struct vhost_user *vu);

static inline bool vhost_user_has_protocol_feature(const struct vhost_user *vu,
						   unsigned bit)
{
	return vu->protocol_features & (1ULL << bit);
}

/* One function per message. */
int vhost_user_get_features(struct vhost_user *vu, uint64_t *features);
/* With VHOST_F_LOG_ALL in features it waits for the back-end (REPLY_ACK
 * or a GET_FEATURES barrier), as QEMU does. */
int vhost_user_set_features(struct vhost_user *vu, uint64_t features);
int vhost_user_set_owner(struct vhost_user *vu);
int vhost_user_get_protocol_features(struct vhost_user *vu, uint64_t *features);
/* Records features as negotiated: REPLY_ACK etc. apply from then on. */
int vhost_user_set_protocol_features(struct vhost_user *vu, uint64_t features);
int vhost_user_get_queue_num(struct vhost_user *vu, uint64_t *num);
int vhost_user_get_max_mem_slots(struct vhost_user *vu, uint64_t *slots);
/* Sends fd (the back-end's end of the request channel); NEED_REPLY if
 * REPLY_ACK. Most callers want vhost_user_setup_backend_req() instead. */
int vhost_user_set_backend_req_fd(struct vhost_user *vu, int fd);
/* Full table, 1-8 regions, one fd each; NEED_REPLY if REPLY_ACK. */
int vhost_user_set_mem_table(struct vhost_user *vu,
			     const struct vhost_mem_region *regions, int n);
int vhost_user_add_mem_reg(struct vhost_user *vu,
			   const struct vhost_mem_region *region);
int vhost_user_rem_mem_reg(struct vhost_user *vu,
			   const struct vhost_mem_region *region);
/* The memory table the way QEMU sends it: with CONFIGURE_MEM_SLOTS,
 * REM_MEM_REG for mapped regions that are gone and ADD_MEM_REG for new
 * ones (nothing if unchanged); otherwise a whole SET_MEM_TABLE. */
int vhost_user_set_memory(struct vhost_user *vu, const struct vhost_mem_table *mem);
int vhost_user_set_vring_num(struct vhost_user *vu, unsigned index, unsigned num);
/* addr holds our (user) addresses of the rings, as the spec wants. */
int vhost_user_set_vring_addr(struct vhost_user *vu,
			      const struct vhost_vring_addr *addr);
int vhost_user_set_vring_base(struct vhost_user *vu, unsigned index, unsigned base);
/* Stops the ring; *base is where the back-end would resume. */
int vhost_user_get_vring_base(struct vhost_user *vu, unsigned index,
			      unsigned *base);
/* fd < 0 sends the NOFD flag (the back-end polls / does not notify). */
int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned index, int fd);
int vhost_user_set_vring_call(struct vhost_user *vu, unsigned index, int fd);
int vhost_user_set_vring_err(struct vhost_user *vu, unsigned index, int fd);
/* Synchronous, as QEMU: NEED_REPLY with REPLY_ACK, else a GET_FEATURES
 * round trip, so the back-end has seen the enable before the guest can
 * kick (rust-vmm/vhost#247). Only valid with VHOST_USER_F_PROTOCOL_FEATURES;
 * the caller checks that. */
int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned index,
				bool enable);
/* size <= 256; needs PROTOCOL_F_CONFIG. */
int vhost_user_get_config(struct vhost_user *vu, uint32_t offset, void *buf,
			  uint32_t size);
int vhost_user_set_config(struct vhost_user *vu, uint32_t offset,
			  const void *buf, uint32_t size, uint32_t flags);
int vhost_user_set_status(struct vhost_user *vu, uint8_t status);
int vhost_user_get_status(struct vhost_user *vu, uint8_t *status);
/* needs PROTOCOL_F_RESET_DEVICE */
int vhost_user_reset_device(struct vhost_user *vu);

/* Like QEMU's vhost_user_write_sync(): sends msg and, if wait, returns
 * only once the back-end has processed it. Exposed for tests and for
 * messages without a dedicated function. fds: up to VHOST_USER_MAX_FDS. */
int vhost_user_write_sync(struct vhost_user *vu, struct vhost_user_msg *msg,
			  const int *fds, int nfds, bool wait);

/* Back-end request channel (vhost/backend_req.c). Creates a socketpair,
 * hands one end to the back-end with SET_BACKEND_REQ_FD and keeps the
 * other; only if BACKEND_REQ was negotiated (else returns 0 and does
 * nothing). */
int vhost_user_setup_backend_req(struct vhost_user *vu,
				 const struct vhost_user_backend_req_ops *ops,
				 void *opaque);
/* The fd the event loop polls for POLLIN (level-triggered), or -1. */
int vhost_user_backend_req_fd(const struct vhost_user *vu);
/* For the event loop on POLLIN; never waits. Takes what the channel has
 * of the current request (never bytes of the next one), checks the header
 * as soon as it is complete, and once the whole request is in, dispatches
 * it and answers NEED_REPLY - without waiting for buffer space either.
 * At most one request per call; a level-triggered loop calls again.
 *   0           one request handled (or refused, answered if asked)
 *   -EAGAIN     nothing, or not all of a request yet: what was there is
 *               kept for the next call
 *   -ENOTCONN   the back-end closed (or reset) the channel, or there is
 *               none
 *   -EPROTO     a malformed request (flags, size, more than
 *               VHOST_USER_MAX_FDS fds), or a back-end that leaves our
 *               answers unread until the socket is full
 * After -ENOTCONN or -EPROTO the byte stream is lost: the caller first
 * removes its event-loop watch of the fd and then calls
 * vhost_user_backend_req_close(), which lets a back-end waiting for an
 * answer see the channel close instead of waiting forever. In that order:
 * once closed, the fd number may be reused by anything, and removing a
 * watch on it then hits the wrong file. */
int vhost_user_handle_backend_req(struct vhost_user *vu);
/* Closes the channel and drops a request half received (and its fds).
 * Safe to call when there is no channel. */
void vhost_user_backend_req_close(struct vhost_user *vu);

#endif
