/* The engine of vu-test-backend (see vu-test-backend.c for what it does
 * and its options): everything but main(), so that unit tests can run it
 * in a forked child (tests/tools/vu_harness.h). A header rather than a .c
 * so that the build never compiles or links it on its own. */
#ifndef TESTS_TOOLS_VU_BACKEND_H
#define TESTS_TOOLS_VU_BACKEND_H

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost/vhost_user_proto.h"

/* Every function is static: each user (the tool, a unit test) gets its
 * own copy and may leave some unused. */
#define VUB_API static __attribute__((unused))

enum vub_fault_kind {
	VUB_FAULT_NONE,
	VUB_FAULT_CLOSE,     /* close the connection instead of answering */
	VUB_FAULT_BAD_ID,    /* answer with another request id */
	VUB_FAULT_BAD_FLAGS, /* answer without the REPLY flag */
	VUB_FAULT_BAD_SIZE,  /* answer with 4 bytes more than it should */
	VUB_FAULT_SHORT,     /* half an answer, then close */
	VUB_FAULT_HANG,      /* never answer anything again */
	VUB_FAULT_LATE,      /* answer after delay_ms */
	VUB_FAULT_NACK,      /* answer "failed" (ack 1, empty GET_CONFIG) */
};

static const char *const vub_fault_names[] = {
	[VUB_FAULT_NONE] = "none", [VUB_FAULT_CLOSE] = "close",
	[VUB_FAULT_BAD_ID] = "bad-id", [VUB_FAULT_BAD_FLAGS] = "bad-flags",
	[VUB_FAULT_BAD_SIZE] = "bad-size", [VUB_FAULT_SHORT] = "short",
	[VUB_FAULT_HANG] = "hang", [VUB_FAULT_LATE] = "late",
	[VUB_FAULT_NACK] = "nack",
};

/* Where something happens: the Nth message overall, or the Kth message
 * with a given request id. */
struct vub_when {
	int index;          /* 1-based, 0 = unused */
	uint32_t request;   /* 0 = unused */
	int occurrence;     /* 1-based */
};

struct vub_config {
	uint64_t features;
	uint64_t protocol_features;
	uint64_t queue_num;
	uint64_t mem_slots;
	uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
	uint32_t config_len;
	uint32_t vring_advance;  /* GET_VRING_BASE answers base + this */
	enum vub_fault_kind fault;
	struct vub_when fault_at;
	int delay_ms;
	struct vub_when config_change_at;
	FILE *log;
};

#define VUB_MAX_REGIONS 16
#define VUB_MAX_VQS 256

struct vub_region {
	uint64_t gpa, size, uaddr, offset;
	void *map;
};

struct vub_vq {
	uint32_t num, base;
	bool enabled;
	int kick, call, err;
	uint64_t desc, avail, used; /* guest-physical */
};

struct vub {
	struct vub_config cfg;
	int fd;
	int nmsgs;
	int counts[VHOST_USER_MAX_REQUEST + 1];
	uint64_t acked_features, acked_protocol;
	bool protocol_set;
	uint8_t status;
	int nregions;
	struct vub_region regions[VUB_MAX_REGIONS];
	struct vub_vq vq[VUB_MAX_VQS];
	int req_fd;
	bool awaiting_req_reply;
	bool hung;
};

VUB_API void vub_config_defaults(struct vub_config *c)
{
	memset(c, 0, sizeof(*c));
	/* VERSION_1 | PROTOCOL_FEATURES | EVENT_IDX */
	c->features = (1ULL << 32) | (1ULL << 30) | (1ULL << 29);
	c->protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
			       (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			       (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
			       (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |
			       (1ULL << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
			       (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
			       (1ULL << VHOST_USER_PROTOCOL_F_STATUS);
	c->queue_num = 2;
	c->mem_slots = 32;
	c->log = stdout;
}

__attribute__((format(printf, 2, 3)))
VUB_API void vub_log(struct vub *b, const char *fmt, ...)
{
	va_list ap;

	if (!b->cfg.log)
		return;
	va_start(ap, fmt);
	vfprintf(b->cfg.log, fmt, ap);
	va_end(ap);
	fputc('\n', b->cfg.log);
	/* A test reads the file after killing us, if it comes to that. */
	fflush(b->cfg.log);
}

VUB_API const char *vub_name(uint32_t request)
{
	const char *n = vhost_user_request_name(request);

	return n ? n : "UNKNOWN";
}

VUB_API void vub_close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Blocking read of exactly len bytes; fds collected as they come.
 * 0 = done, 1 = EOF, -1 = error. */
VUB_API int vub_read(int fd, void *buf, size_t len, int *fds, int *nfds)
{
	size_t got = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? 1 : -1;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t i, cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (i = 0; i < cnt; i++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fds && *nfds < VHOST_USER_MAX_FDS)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
		if (n == 0)
			return 1;
		got += (size_t)n;
	}
	return 0;
}

VUB_API int vub_write(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

VUB_API int vub_send(int fd, const struct vhost_user_msg *m)
{
	if (vub_write(fd, &m->hdr, VHOST_USER_HDR_SIZE) < 0)
		return -1;
	return m->hdr.size ? vub_write(fd, &m->payload, m->hdr.size) : 0;
}

VUB_API bool vub_match(const struct vub_when *w, int index, uint32_t request, int occ)
{
	if (w->index)
		return w->index == index;
	return w->request && w->request == request && w->occurrence == occ;
}

VUB_API struct vub_region *vub_find_uaddr(struct vub *b, uint64_t uaddr, uint64_t len)
{
	int i;

	for (i = 0; i < b->nregions; i++) {
		struct vub_region *r = &b->regions[i];

		if (uaddr >= r->uaddr && uaddr - r->uaddr < r->size &&
		    len <= r->size - (uaddr - r->uaddr))
			return r;
	}
	return NULL;
}

VUB_API void vub_unmap(struct vub_region *r)
{
	if (r->map && r->map != MAP_FAILED)
		munmap(r->map, r->size);
	r->map = NULL;
}

/* Maps a region the way libvhost-user does and reads its first word. */
VUB_API int vub_map(struct vub *b, const struct vhost_user_mem_region *m, int fd,
		   const char *what, int i)
{
	struct vub_region *r;
	uint64_t probe;

	if (b->nregions == VUB_MAX_REGIONS) {
		vub_log(b, "VIOLATION %s: more than %d regions", what, VUB_MAX_REGIONS);
		return -1;
	}
	r = &b->regions[b->nregions];
	*r = (struct vub_region){ m->guest_phys_addr, m->memory_size, m->userspace_addr,
				  m->mmap_offset, NULL };
	r->map = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, r->offset);
	if (r->map == MAP_FAILED) {
		vub_log(b, "VIOLATION %s region %d: mmap failed: %s", what, i, strerror(errno));
		r->map = NULL;
		return -1;
	}
	memcpy(&probe, r->map, sizeof(probe));
	b->nregions++;
	vub_log(b, "  region %d gpa=0x%" PRIx64 " size=0x%" PRIx64 " offset=0x%" PRIx64
		" probe=0x%" PRIx64, i, r->gpa, r->size, r->offset, probe);
	return 0;
}

VUB_API uint64_t vub_uaddr_to_gpa(struct vub *b, uint64_t uaddr, bool *ok)
{
	struct vub_region *r = vub_find_uaddr(b, uaddr, 1);

	*ok = r != NULL;
	return r ? r->gpa + (uaddr - r->uaddr) : 0;
}

/* How many fds a well-formed request carries. */
VUB_API int vub_expected_fds(const struct vhost_user_msg *m)
{
	switch (m->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		return (int)m->payload.memory.nregions;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_SET_BACKEND_REQ_FD:
		return 1;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return m->payload.u64 & VHOST_USER_VRING_NOFD_MASK ? 0 : 1;
	default:
		return 0;
	}
}

VUB_API void vub_reply_u64(struct vub *b, const struct vhost_user_msg *req, uint64_t v)
{
	struct vhost_user_msg r;

	memset(&r, 0, sizeof(r));
	r.hdr.request = req->hdr.request;
	r.hdr.flags = VHOST_USER_REPLY_FLAGS;
	r.hdr.size = sizeof(uint64_t);
	r.payload.u64 = v;
	vub_send(b->fd, &r);
}

/* Sends CONFIG_CHANGE_MSG on the back-end channel. With REPLY_ACK it asks
 * for an answer but does not block on it: the front-end may well re-read
 * the config over the main socket first (QEMU's vhost-user-blk does), so
 * the answer is picked up by the main loop. */
VUB_API void vub_send_config_change(struct vub *b)
{
	struct vhost_user_msg m;
	bool need_reply = b->acked_protocol & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);

	if (b->req_fd < 0) {
		vub_log(b, "BACKEND_REQ CONFIG_CHANGE_MSG not sent: no channel");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.request = VHOST_USER_BACKEND_CONFIG_CHANGE_MSG;
	m.hdr.flags = VHOST_USER_VERSION | (need_reply ? VHOST_USER_NEED_REPLY_MASK : 0);
	if (vub_send(b->req_fd, &m) < 0) {
		vub_log(b, "BACKEND_REQ CONFIG_CHANGE_MSG send failed: %s", strerror(errno));
		return;
	}
	vub_log(b, "BACKEND_REQ CONFIG_CHANGE_MSG sent%s", need_reply ? " need_reply" : "");
	b->awaiting_req_reply = need_reply;
}

VUB_API void vub_read_req_reply(struct vub *b)
{
	struct vhost_user_msg r;

	b->awaiting_req_reply = false;
	memset(&r, 0, sizeof(r));
	if (vub_read(b->req_fd, &r.hdr, VHOST_USER_HDR_SIZE, NULL, NULL) || r.hdr.size != 8 ||
	    vub_read(b->req_fd, &r.payload, 8, NULL, NULL)) {
		vub_log(b, "BACKEND_REQ reply: malformed or missing");
		return;
	}
	vub_log(b, "BACKEND_REQ reply request=%u flags=0x%x ack=%" PRIu64, r.hdr.request,
		r.hdr.flags, r.payload.u64);
}

/* Normal processing of one request; returns false to end the session. */
VUB_API bool vub_handle(struct vub *b, struct vhost_user_msg *m, int *fds, int nfds,
		       bool nack)
{
	union vhost_user_payload *p = &m->payload;
	bool need_reply = m->hdr.flags & VHOST_USER_NEED_REPLY_MASK;
	struct vhost_user_msg r;
	bool ok = true, replied = false, okaddr[3];
	uint32_t idx;
	int i;

	memset(&r, 0, sizeof(r));
	r.hdr.request = m->hdr.request;
	r.hdr.flags = VHOST_USER_REPLY_FLAGS;

	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		vub_log(b, "GET_FEATURES");
		r.hdr.size = 8;
		r.payload.u64 = b->cfg.features;
		break;
	case VHOST_USER_SET_FEATURES:
		vub_log(b, "SET_FEATURES features=0x%" PRIx64 "%s", p->u64,
			need_reply ? " need_reply" : "");
		if (p->u64 & ~b->cfg.features)
			vub_log(b, "VIOLATION SET_FEATURES acks 0x%" PRIx64 " not offered",
				p->u64 & ~b->cfg.features);
		if ((b->cfg.features & (1ULL << 30)) && !(p->u64 & (1ULL << 30)))
			vub_log(b, "VIOLATION SET_FEATURES without PROTOCOL_FEATURES");
		b->acked_features = p->u64;
		break;
	case VHOST_USER_SET_OWNER:
		vub_log(b, "SET_OWNER");
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		vub_log(b, "GET_PROTOCOL_FEATURES");
		r.hdr.size = 8;
		r.payload.u64 = b->cfg.protocol_features;
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		vub_log(b, "SET_PROTOCOL_FEATURES features=0x%" PRIx64, p->u64);
		if (p->u64 & ~b->cfg.protocol_features)
			vub_log(b, "VIOLATION SET_PROTOCOL_FEATURES acks 0x%" PRIx64 " not offered",
				p->u64 & ~b->cfg.protocol_features);
		b->acked_protocol = p->u64;
		b->protocol_set = true;
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		vub_log(b, "GET_QUEUE_NUM");
		r.hdr.size = 8;
		r.payload.u64 = b->cfg.queue_num;
		break;
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		vub_log(b, "GET_MAX_MEM_SLOTS");
		r.hdr.size = 8;
		r.payload.u64 = b->cfg.mem_slots;
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		vub_log(b, "SET_BACKEND_REQ_FD%s", need_reply ? " need_reply" : "");
		if (nfds == 1) {
			if (b->req_fd >= 0)
				close(b->req_fd);
			b->req_fd = fds[0];
			fds[0] = -1;
		}
		break;
	case VHOST_USER_SET_MEM_TABLE:
		vub_log(b, "SET_MEM_TABLE nregions=%u%s", p->memory.nregions,
			need_reply ? " need_reply" : "");
		for (i = 0; i < b->nregions; i++)
			vub_unmap(&b->regions[i]);
		b->nregions = 0;
		for (i = 0; i < (int)p->memory.nregions && i < nfds; i++)
			if (vub_map(b, &p->memory.regions[i], fds[i], "SET_MEM_TABLE", i) < 0)
				ok = false;
		break;
	case VHOST_USER_ADD_MEM_REG:
		vub_log(b, "ADD_MEM_REG%s", need_reply ? " need_reply" : "");
		if (nfds == 1 && vub_map(b, &p->mem_reg.region, fds[0], "ADD_MEM_REG",
					 b->nregions) < 0)
			ok = false;
		break;
	case VHOST_USER_REM_MEM_REG: {
		const struct vhost_user_mem_region *mr = &p->mem_reg.region;

		vub_log(b, "REM_MEM_REG gpa=0x%" PRIx64 " size=0x%" PRIx64 "%s",
			mr->guest_phys_addr, mr->memory_size, need_reply ? " need_reply" : "");
		ok = false;
		for (i = 0; i < b->nregions; i++) {
			struct vub_region *rg = &b->regions[i];

			if (rg->gpa == mr->guest_phys_addr && rg->uaddr == mr->userspace_addr &&
			    rg->size == mr->memory_size) {
				vub_unmap(rg);
				memmove(rg, rg + 1, (b->nregions - i - 1) * sizeof(*rg));
				b->nregions--;
				ok = true;
				break;
			}
		}
		if (!ok)
			vub_log(b, "VIOLATION REM_MEM_REG of a region not mapped");
		break;
	}
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
	case VHOST_USER_GET_VRING_BASE:
		idx = p->state.index;
		if (idx >= VUB_MAX_VQS) {
			vub_log(b, "VIOLATION %s index=%u", vub_name(m->hdr.request), idx);
			ok = false;
			break;
		}
		if (m->hdr.request == VHOST_USER_SET_VRING_NUM) {
			vub_log(b, "SET_VRING_NUM index=%u num=%u", idx, p->state.num);
			b->vq[idx].num = p->state.num;
		} else if (m->hdr.request == VHOST_USER_SET_VRING_BASE) {
			vub_log(b, "SET_VRING_BASE index=%u base=%u", idx, p->state.num);
			b->vq[idx].base = p->state.num;
		} else if (m->hdr.request == VHOST_USER_SET_VRING_ENABLE) {
			vub_log(b, "SET_VRING_ENABLE index=%u enable=%u%s", idx, p->state.num,
				need_reply ? " need_reply" : "");
			if (!(b->acked_features & (1ULL << 30)) && b->acked_features)
				vub_log(b, "VIOLATION SET_VRING_ENABLE without PROTOCOL_FEATURES");
			b->vq[idx].enabled = p->state.num;
			/* Prove the call fd works: signal it once. */
			if (p->state.num && b->vq[idx].call >= 0) {
				uint64_t one = 1;

				if (write(b->vq[idx].call, &one, sizeof(one)) != sizeof(one))
					vub_log(b, "call fd %u: write failed", idx);
			}
		} else {
			vub_log(b, "GET_VRING_BASE index=%u", idx);
			if (p->state.num)
				vub_log(b, "VIOLATION GET_VRING_BASE with num=%u", p->state.num);
			r.hdr.size = sizeof(struct vhost_vring_state);
			r.payload.state.index = idx;
			r.payload.state.num = b->vq[idx].base + b->cfg.vring_advance;
			b->vq[idx].enabled = false;
		}
		break;
	case VHOST_USER_SET_VRING_ADDR:
		idx = p->addr.index;
		if (idx >= VUB_MAX_VQS) {
			vub_log(b, "VIOLATION SET_VRING_ADDR index=%u", idx);
			ok = false;
			break;
		}
		b->vq[idx].desc = vub_uaddr_to_gpa(b, p->addr.desc_user_addr, &okaddr[0]);
		b->vq[idx].avail = vub_uaddr_to_gpa(b, p->addr.avail_user_addr, &okaddr[1]);
		b->vq[idx].used = vub_uaddr_to_gpa(b, p->addr.used_user_addr, &okaddr[2]);
		vub_log(b, "SET_VRING_ADDR index=%u flags=0x%x desc=0x%" PRIx64 " avail=0x%" PRIx64
			" used=0x%" PRIx64, idx, p->addr.flags, b->vq[idx].desc,
			b->vq[idx].avail, b->vq[idx].used);
		if (!okaddr[0] || !okaddr[1] || !okaddr[2])
			vub_log(b, "VIOLATION SET_VRING_ADDR index=%u: a ring is outside the memory table",
				idx);
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR: {
		int *slot;

		idx = p->u64 & VHOST_USER_VRING_IDX_MASK;
		vub_log(b, "%s index=%u %s", vub_name(m->hdr.request), idx,
			p->u64 & VHOST_USER_VRING_NOFD_MASK ? "nofd" : "fd");
		slot = m->hdr.request == VHOST_USER_SET_VRING_KICK ? &b->vq[idx].kick :
		       m->hdr.request == VHOST_USER_SET_VRING_CALL ? &b->vq[idx].call :
								     &b->vq[idx].err;
		if (*slot >= 0)
			close(*slot);
		*slot = -1;
		if (nfds == 1) {
			*slot = fds[0];
			fds[0] = -1;
		}
		break;
	}
	case VHOST_USER_GET_CONFIG:
		vub_log(b, "GET_CONFIG offset=%u size=%u", p->config.offset, p->config.size);
		r.hdr.size = m->hdr.size;
		r.payload.config = p->config;
		if (p->config.size > VHOST_USER_MAX_CONFIG_SIZE ||
		    m->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + p->config.size ||
		    p->config.offset > b->cfg.config_len ||
		    p->config.size > b->cfg.config_len - p->config.offset || nack)
			r.hdr.size = 0; /* the spec's way to say "failed" */
		else
			memcpy(r.payload.config.region, b->cfg.config + p->config.offset,
			       p->config.size);
		replied = true;
		vub_send(b->fd, &r);
		break;
	case VHOST_USER_SET_CONFIG:
		vub_log(b, "SET_CONFIG offset=%u size=%u flags=%u%s", p->config.offset,
			p->config.size, p->config.flags, need_reply ? " need_reply" : "");
		if (p->config.size <= VHOST_USER_MAX_CONFIG_SIZE &&
		    p->config.offset <= b->cfg.config_len &&
		    p->config.size <= b->cfg.config_len - p->config.offset)
			memcpy(b->cfg.config + p->config.offset, p->config.region,
			       p->config.size);
		else
			ok = false;
		break;
	case VHOST_USER_SET_STATUS:
		vub_log(b, "SET_STATUS status=0x%" PRIx64, p->u64);
		b->status = (uint8_t)p->u64;
		break;
	case VHOST_USER_GET_STATUS:
		vub_log(b, "GET_STATUS");
		r.hdr.size = 8;
		r.payload.u64 = b->status;
		break;
	case VHOST_USER_RESET_DEVICE:
		vub_log(b, "RESET_DEVICE");
		b->status = 0;
		for (i = 0; i < VUB_MAX_VQS; i++)
			b->vq[i].enabled = false;
		break;
	default:
		vub_log(b, "UNHANDLED %s (%u)", vub_name(m->hdr.request), m->hdr.request);
		ok = false;
		break;
	}
	if (replied)
		return true;
	if (r.hdr.size) {
		vub_send(b->fd, &r);
		return true;
	}
	if (need_reply) {
		if (!(b->acked_protocol & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK)))
			vub_log(b, "VIOLATION NEED_REPLY without REPLY_ACK on %s",
				vub_name(m->hdr.request));
		vub_reply_u64(b, m, ok && !nack ? 0 : 1);
	}
	return true;
}

/* Misbehaves instead of answering m. Returns false to end the session. */
VUB_API bool vub_fault(struct vub *b, const struct vhost_user_msg *m)
{
	struct vhost_user_msg r;
	/* The size a good answer would have (an ack is a u64 too). */
	uint32_t size = m->hdr.request == VHOST_USER_GET_CONFIG ? m->hdr.size : 8;

	vub_log(b, "FAULT %s at %s", vub_fault_names[b->cfg.fault], vub_name(m->hdr.request));
	memset(&r, 0, sizeof(r));
	r.hdr.request = m->hdr.request;
	r.hdr.flags = VHOST_USER_REPLY_FLAGS;
	r.hdr.size = size;
	switch (b->cfg.fault) {
	case VUB_FAULT_CLOSE:
		return false;
	case VUB_FAULT_BAD_ID:
		r.hdr.request = m->hdr.request == VHOST_USER_GET_FEATURES ?
				VHOST_USER_GET_PROTOCOL_FEATURES : VHOST_USER_GET_FEATURES;
		vub_send(b->fd, &r);
		return true;
	case VUB_FAULT_BAD_FLAGS:
		r.hdr.flags = VHOST_USER_VERSION;
		vub_send(b->fd, &r);
		return true;
	case VUB_FAULT_BAD_SIZE:
		r.hdr.size = size + 4;
		vub_send(b->fd, &r);
		return true;
	case VUB_FAULT_SHORT:
		vub_write(b->fd, &r.hdr, VHOST_USER_HDR_SIZE);
		vub_write(b->fd, &r.payload, size / 2);
		return false;
	case VUB_FAULT_HANG:
		b->hung = true;
		return true;
	default:
		return true;
	}
}

/* Serves one connection until the front-end closes it (0) or a fault
 * ends it (1). Takes ownership of fd. */
VUB_API int vub_serve(struct vub *b, int fd)
{
	int i, ret = 0;

	b->fd = fd;
	b->req_fd = -1;
	b->awaiting_req_reply = false;
	for (i = 0; i < VUB_MAX_VQS; i++)
		b->vq[i].kick = b->vq[i].call = b->vq[i].err = -1;

	for (;;) {
		struct vhost_user_msg m;
		int fds[VHOST_USER_MAX_FDS], nfds = 0, r, occ;
		uint32_t req;
		bool fault, nack = false;
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = b->req_fd, .events = POLLIN } };

		if (poll(p, b->awaiting_req_reply ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (b->awaiting_req_reply && p[1].revents)
			vub_read_req_reply(b);
		if (!p[0].revents)
			continue;
		memset(&m, 0, sizeof(m));
		r = vub_read(fd, &m.hdr, VHOST_USER_HDR_SIZE, fds, &nfds);
		if (r) {
			vub_close_fds(fds, nfds);
			vub_log(b, r > 0 ? "EOF" : "READ ERROR");
			break;
		}
		req = m.hdr.request;
		if (!vhost_user_request_size_ok(req, m.hdr.size) ||
		    m.hdr.size > VHOST_USER_PAYLOAD_MAX) {
			vub_log(b, "VIOLATION %s (%u) with size %u", vub_name(req), req, m.hdr.size);
			vub_close_fds(fds, nfds);
			ret = 1;
			break;
		}
		if (m.hdr.size && vub_read(fd, &m.payload, m.hdr.size, fds, &nfds)) {
			vub_close_fds(fds, nfds);
			vub_log(b, "EOF in payload");
			break;
		}
		b->nmsgs++;
		occ = req <= VHOST_USER_MAX_REQUEST ? ++b->counts[req] : 0;
		if (b->hung) {
			vub_log(b, "IGNORED %s", vub_name(req));
			vub_close_fds(fds, nfds);
			continue;
		}
		if (m.hdr.flags != VHOST_USER_VERSION &&
		    m.hdr.flags != (VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK))
			vub_log(b, "VIOLATION %s flags=0x%x", vub_name(req), m.hdr.flags);
		if (nfds != vub_expected_fds(&m))
			vub_log(b, "VIOLATION %s carries %d fds, expected %d", vub_name(req), nfds,
				vub_expected_fds(&m));

		fault = b->cfg.fault != VUB_FAULT_NONE &&
			vub_match(&b->cfg.fault_at, b->nmsgs, req, occ);
		if (fault && b->cfg.fault == VUB_FAULT_LATE) {
			struct timespec ts = { b->cfg.delay_ms / 1000,
					       (b->cfg.delay_ms % 1000) * 1000000L };

			vub_log(b, "FAULT late %d ms at %s", b->cfg.delay_ms, vub_name(req));
			nanosleep(&ts, NULL);
			fault = false;
		}
		if (fault && b->cfg.fault == VUB_FAULT_NACK) {
			vub_log(b, "FAULT nack at %s", vub_name(req));
			nack = true;
			fault = false;
		}
		if (fault) {
			/* Record what it was, then misbehave. */
			vub_close_fds(fds, nfds);
			if (!vub_fault(b, &m)) {
				ret = 1;
				break;
			}
			continue;
		}
		vub_handle(b, &m, fds, nfds, nack);
		vub_close_fds(fds, nfds);
		if (b->cfg.config_change_at.request &&
		    vub_match(&b->cfg.config_change_at, 0, req, occ))
			vub_send_config_change(b);
	}
	for (i = 0; i < b->nregions; i++)
		vub_unmap(&b->regions[i]);
	b->nregions = 0;
	for (i = 0; i < VUB_MAX_VQS; i++) {
		if (b->vq[i].kick >= 0)
			close(b->vq[i].kick);
		if (b->vq[i].call >= 0)
			close(b->vq[i].call);
		if (b->vq[i].err >= 0)
			close(b->vq[i].err);
		b->vq[i].kick = b->vq[i].call = b->vq[i].err = -1;
	}
	if (b->req_fd >= 0)
		close(b->req_fd);
	b->req_fd = -1;
	close(fd);
	b->fd = -1;
	return ret;
}

VUB_API uint32_t vub_request_by_name(const char *name)
{
	uint32_t i;

	for (i = 1; i <= VHOST_USER_MAX_REQUEST; i++) {
		const char *n = vhost_user_request_name(i);

		if (n && !strcmp(n, name))
			return i;
	}
	return 0;
}

/* "N" or "NAME" or "NAME#K". */
VUB_API int vub_parse_when(const char *s, struct vub_when *w)
{
	char name[64];
	const char *hash;
	char *end;
	size_t len;

	memset(w, 0, sizeof(*w));
	if (*s >= '0' && *s <= '9') {
		w->index = (int)strtol(s, &end, 10);
		return *end || w->index < 1 ? -1 : 0;
	}
	hash = strchr(s, '#');
	len = hash ? (size_t)(hash - s) : strlen(s);
	if (len >= sizeof(name))
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	w->request = vub_request_by_name(name);
	w->occurrence = hash ? (int)strtol(hash + 1, &end, 10) : 1;
	if (hash && (*end || w->occurrence < 1))
		return -1;
	return w->request ? 0 : -1;
}

/* "KIND@WHEN" */
VUB_API int vub_parse_fault(const char *s, struct vub_config *c)
{
	const char *at = strchr(s, '@');
	size_t i;

	if (!at)
		return -1;
	for (i = 1; i < sizeof(vub_fault_names) / sizeof(vub_fault_names[0]); i++) {
		if (strlen(vub_fault_names[i]) == (size_t)(at - s) &&
		    !strncmp(s, vub_fault_names[i], at - s)) {
			c->fault = (enum vub_fault_kind)i;
			return vub_parse_when(at + 1, &c->fault_at);
		}
	}
	return -1;
}

VUB_API int vub_parse_hex_bytes(const char *s, uint8_t *out, uint32_t *len)
{
	uint32_t n = 0;

	while (s[0] && s[1]) {
		unsigned v;

		if (n == VHOST_USER_MAX_CONFIG_SIZE || sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return *s ? -1 : 0;
}

#endif
