#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>

#include "lib/sbuf.h"
#include "lib/trace_patterns.h"
#include "vhost/vhost_user_trace.h"

bool vhost_user_trace_enabled(const char *const *patterns, int n)
{
	static const char *const events[] = { "vhost_user", "vhost_user_msg", "vhost_user_backend_req" };

	return trace_patterns_enable(patterns, n, events, sizeof(events) / sizeof(events[0]));
}

static size_t format_bits(char *buf, size_t len, uint64_t v,
			  const char *(*name)(unsigned))
{
	struct sbuf b = { buf, 0, len };
	bool first = true;
	unsigned bit;

	if (!len)
		return 0;
	buf[0] = '\0';
	if (!v) {
		sb_printf(&b, "0x0");
		return b.len;
	}
	sb_printf(&b, "0x%llx [", (unsigned long long)v);
	for (bit = 0; bit < 64; bit++) {
		const char *n;

		if (!(v & (1ULL << bit)))
			continue;
		n = name(bit);
		if (n)
			sb_printf(&b, "%s%s", first ? "" : " ", n);
		else
			sb_printf(&b, "%sbit%u", first ? "" : " ", bit);
		first = false;
	}
	sb_printf(&b, "]");
	return b.len;
}

size_t vhost_user_format_features(char *buf, size_t len, uint64_t features)
{
	return format_bits(buf, len, features, vhost_user_virtio_feature_name);
}

size_t vhost_user_format_protocol_features(char *buf, size_t len,
					   uint64_t features)
{
	return format_bits(buf, len, features, vhost_user_protocol_feature_name);
}

static const char *status_name(unsigned bit)
{
	/* format_bits walks all 64 bits of the reply, status or not. */
	if (bit > 7)
		return NULL;
	switch (1u << bit) {
	case VIRTIO_CONFIG_S_ACKNOWLEDGE: return "ACKNOWLEDGE";
	case VIRTIO_CONFIG_S_DRIVER: return "DRIVER";
	case VIRTIO_CONFIG_S_DRIVER_OK: return "DRIVER_OK";
	case VIRTIO_CONFIG_S_FEATURES_OK: return "FEATURES_OK";
	case VIRTIO_CONFIG_S_NEEDS_RESET: return "NEEDS_RESET";
	case VIRTIO_CONFIG_S_FAILED: return "FAILED";
	default: return NULL;
	}
}

size_t vhost_user_format_status(char *buf, size_t len, uint64_t status)
{
	return format_bits(buf, len, status, status_name);
}

static void sb_hex(struct sbuf *b, const uint8_t *p, size_t n, size_t max)
{
	size_t i;

	for (i = 0; i < n && i < max; i++)
		sb_printf(b, "%s%02x", i ? " " : "", p[i]);
	if (n > max)
		sb_printf(b, " ...");
}

static void sb_size(struct sbuf *b, uint64_t size)
{
	if (size >= (1ULL << 30) && !(size & ((1ULL << 30) - 1)))
		sb_printf(b, " (%llu GiB)", (unsigned long long)(size >> 30));
	else if (size >= (1ULL << 20) && !(size & ((1ULL << 20) - 1)))
		sb_printf(b, " (%llu MiB)", (unsigned long long)(size >> 20));
}

static void sb_region(struct sbuf *b, const struct vhost_user_mem_region *r)
{
	sb_printf(b, "gpa=0x%llx size=0x%llx", (unsigned long long)r->guest_phys_addr,
		  (unsigned long long)r->memory_size);
	sb_size(b, r->memory_size);
	sb_printf(b, " uaddr=0x%llx mmap_offset=0x%llx",
		  (unsigned long long)r->userspace_addr,
		  (unsigned long long)r->mmap_offset);
}

/* Payload of a main-socket message; size was not validated by anyone yet,
 * so every case checks it before looking. Lines of their own (memory
 * regions) go to more, after the message's own line is complete. */
static void decode_main(struct sbuf *b, struct sbuf *more,
			const struct vhost_user_msg *m, const int *fds, int nfds)
{
	const union vhost_user_payload *p = &m->payload;
	uint32_t size = m->hdr.size;
	bool reply = m->hdr.flags & VHOST_USER_REPLY_MASK;
	char fbuf[512];

	if (reply && !vhost_user_request_has_reply(m->hdr.request)) {
		if (size == sizeof(uint64_t))
			sb_printf(b, " ack=%llu%s", (unsigned long long)p->u64,
				  p->u64 ? " (FAILED)" : "");
		goto raw;
	}
	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_SET_FEATURES:
		if (size != 8)
			goto raw;
		vhost_user_format_features(fbuf, sizeof(fbuf), p->u64);
		sb_printf(b, " features=%s", fbuf);
		return;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		if (size != 8)
			goto raw;
		vhost_user_format_protocol_features(fbuf, sizeof(fbuf), p->u64);
		sb_printf(b, " features=%s", fbuf);
		return;
	case VHOST_USER_GET_QUEUE_NUM:
		if (size != 8)
			goto raw;
		sb_printf(b, " queues=%llu", (unsigned long long)p->u64);
		return;
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		if (size != 8)
			goto raw;
		sb_printf(b, " slots=%llu", (unsigned long long)p->u64);
		return;
	case VHOST_USER_GET_STATUS:
	case VHOST_USER_SET_STATUS:
		if (size != 8)
			goto raw;
		vhost_user_format_status(fbuf, sizeof(fbuf), p->u64);
		sb_printf(b, " status=%s", fbuf);
		return;
	case VHOST_USER_SET_VRING_NUM:
		if (size != 8)
			goto raw;
		sb_printf(b, " index=%u num=%u", p->state.index, p->state.num);
		return;
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
		if (size != 8)
			goto raw;
		if (m->hdr.request == VHOST_USER_GET_VRING_BASE && !reply)
			sb_printf(b, " index=%u", p->state.index);
		else
			sb_printf(b, " index=%u base=%u", p->state.index, p->state.num);
		return;
	case VHOST_USER_SET_VRING_ENABLE:
		if (size != 8)
			goto raw;
		sb_printf(b, " index=%u enable=%u", p->state.index, p->state.num);
		return;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		if (size != 8)
			goto raw;
		sb_printf(b, " index=%llu%s", (unsigned long long)(p->u64 & VHOST_USER_VRING_IDX_MASK),
			  p->u64 & VHOST_USER_VRING_NOFD_MASK ? " nofd" : "");
		if (p->u64 & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
			sb_printf(b, " reserved-bits=0x%llx", (unsigned long long)p->u64);
		return;
	case VHOST_USER_SET_VRING_ADDR:
		if (size != sizeof(p->addr))
			goto raw;
		sb_printf(b, " index=%u desc=0x%llx avail=0x%llx used=0x%llx",
			  p->addr.index, (unsigned long long)p->addr.desc_user_addr,
			  (unsigned long long)p->addr.avail_user_addr,
			  (unsigned long long)p->addr.used_user_addr);
		if (p->addr.flags)
			sb_printf(b, " flags=0x%x log=0x%llx", p->addr.flags,
				  (unsigned long long)p->addr.log_guest_addr);
		return;
	case VHOST_USER_SET_MEM_TABLE: {
		uint32_t i, n;

		if (size < 8)
			goto raw;
		n = p->memory.nregions;
		sb_printf(b, " nregions=%u", n);
		for (i = 0; i < n && i < VHOST_USER_MEMORY_MAX_NREGIONS &&
			    8 + (i + 1) * sizeof(struct vhost_user_mem_region) <= size; i++) {
			sb_printf(more, "      region %u: ", i);
			sb_region(more, &p->memory.regions[i]);
			if ((int)i < nfds)
				sb_printf(more, " fd=%d", fds[i]);
			sb_printf(more, "\n");
		}
		return;
	}
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
		if (size != sizeof(p->mem_reg))
			goto raw;
		sb_printf(b, " ");
		sb_region(b, &p->mem_reg.region);
		return;
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		if (size < VHOST_USER_CONFIG_HDR_SIZE)
			goto raw;
		sb_printf(b, " offset=%u size=%u flags=%u", p->config.offset,
			  p->config.size, p->config.flags);
		/* a GET_CONFIG request carries only zeroes */
		if (m->hdr.request == VHOST_USER_SET_CONFIG || reply) {
			sb_printf(b, " data=[");
			sb_hex(b, p->config.region, size - VHOST_USER_CONFIG_HDR_SIZE, 16);
			sb_printf(b, "]");
		}
		return;
	case VHOST_USER_SET_LOG_BASE:
		if (size != sizeof(p->log))
			goto raw;
		sb_printf(b, " mmap_size=0x%llx mmap_offset=0x%llx",
			  (unsigned long long)p->log.mmap_size,
			  (unsigned long long)p->log.mmap_offset);
		return;
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_SET_INFLIGHT_FD:
		if (size != sizeof(p->inflight))
			goto raw;
		sb_printf(b, " mmap_size=0x%llx mmap_offset=0x%llx num_queues=%u queue_size=%u",
			  (unsigned long long)p->inflight.mmap_size,
			  (unsigned long long)p->inflight.mmap_offset,
			  p->inflight.num_queues, p->inflight.queue_size);
		return;
	case VHOST_USER_IOTLB_MSG:
		if (size != sizeof(p->iotlb))
			goto raw;
		sb_printf(b, " iova=0x%llx size=0x%llx uaddr=0x%llx perm=%u type=%u",
			  (unsigned long long)p->iotlb.iova,
			  (unsigned long long)p->iotlb.size,
			  (unsigned long long)p->iotlb.uaddr, p->iotlb.perm,
			  p->iotlb.type);
		return;
	default:
		break;
	}
raw:
	if (size && !(reply && size == 8 &&
		      !vhost_user_request_has_reply(m->hdr.request))) {
		sb_printf(b, " payload=[");
		sb_hex(b, (const uint8_t *)p, size < VHOST_USER_PAYLOAD_MAX ?
		       size : VHOST_USER_PAYLOAD_MAX, 16);
		sb_printf(b, "]");
	}
}

static void decode_backend(struct sbuf *b, const struct vhost_user_msg *m)
{
	const union vhost_user_payload *p = &m->payload;
	uint32_t size = m->hdr.size;

	if (m->hdr.flags & VHOST_USER_REPLY_MASK) {
		if (size == 8) {
			sb_printf(b, " ack=%llu%s", (unsigned long long)p->u64,
				  p->u64 ? " (FAILED)" : "");
			return;
		}
	} else {
		switch (m->hdr.request) {
		case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG:
			if (size == 0)
				return;
			break;
		case VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG:
			if (size != sizeof(p->area))
				break;
			sb_printf(b, " index=%llu%s size=0x%llx offset=0x%llx",
				  (unsigned long long)(p->area.u64 & VHOST_USER_VRING_IDX_MASK),
				  p->area.u64 & VHOST_USER_VRING_NOFD_MASK ? " nofd" : "",
				  (unsigned long long)p->area.size,
				  (unsigned long long)p->area.offset);
			return;
		case VHOST_USER_BACKEND_VRING_CALL:
		case VHOST_USER_BACKEND_VRING_ERR:
			if (size != sizeof(p->state))
				break;
			sb_printf(b, " index=%u", p->state.index);
			return;
		case VHOST_USER_BACKEND_IOTLB_MSG:
			if (size != sizeof(p->iotlb))
				break;
			sb_printf(b, " iova=0x%llx size=0x%llx perm=%u type=%u",
				  (unsigned long long)p->iotlb.iova,
				  (unsigned long long)p->iotlb.size, p->iotlb.perm,
				  p->iotlb.type);
			return;
		default:
			break;
		}
	}
	if (size) {
		sb_printf(b, " payload=[");
		sb_hex(b, (const uint8_t *)p, size < VHOST_USER_PAYLOAD_MAX ?
		       size : VHOST_USER_PAYLOAD_MAX, 16);
		sb_printf(b, "]");
	}
}

void vhost_user_trace_msg(FILE *f, const char *name, const char *channel,
			  enum vhost_user_trace_dir dir,
			  const struct vhost_user_msg *msg, const int *fds,
			  int nfds, long long rtt_us, const char *note)
{
	char line[4096], extra[2048];
	struct sbuf b = { line, 0, sizeof(line) };
	struct sbuf more = { extra, 0, sizeof(extra) };
	const char *rname;
	int i;

	if (!f)
		return;
	rname = channel ? vhost_user_backend_request_name(msg->hdr.request)
			: vhost_user_request_name(msg->hdr.request);
	sb_printf(&b, "vhost-user %s%s%s %s %s (%u) flags=0x%x", name,
		  channel ? " " : "", channel ? channel : "",
		  dir == VHOST_USER_TRACE_SEND ? "->" : "<-",
		  rname ? rname : "UNKNOWN", msg->hdr.request, msg->hdr.flags);
	if (msg->hdr.flags & VHOST_USER_NEED_REPLY_MASK)
		sb_printf(&b, " [NEED_REPLY]");
	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		sb_printf(&b, " [version %u!]", msg->hdr.flags & VHOST_USER_VERSION_MASK);
	sb_printf(&b, " size=%u", msg->hdr.size);
	/* A rejected header's payload was never read: do not decode it. */
	if (!note) {
		if (channel)
			decode_backend(&b, msg);
		else
			decode_main(&b, &more, msg, fds, nfds);
	}
	if (nfds > 0) {
		sb_printf(&b, " fds=[");
		for (i = 0; i < nfds; i++)
			sb_printf(&b, "%s%d", i ? "," : "", fds[i]);
		sb_printf(&b, "]");
	}
	if (rtt_us >= 0)
		sb_printf(&b, " (%lld us)", rtt_us);
	if (note)
		sb_printf(&b, " %s", note);
	sb_printf(&b, "\n");
	if (more.len)
		sb_printf(&b, "%s", extra);
	if (b.len == sizeof(line) - 1)
		line[sizeof(line) - 2] = '\n';
	fwrite(line, 1, b.len, f);
	fflush(f);
}

void vhost_user_trace_note(FILE *f, const char *name, const char *fmt, ...)
{
	char line[1024];
	struct sbuf b = { line, 0, sizeof(line) };
	va_list ap;

	if (!f)
		return;
	sb_printf(&b, "vhost-user %s: ", name);
	va_start(ap, fmt);
	sb_vprintf(&b, fmt, ap);
	va_end(ap);
	sb_printf(&b, "\n");
	if (b.len == sizeof(line) - 1)
		line[sizeof(line) - 2] = '\n';
	fwrite(line, 1, b.len, f);
	fflush(f);
}
