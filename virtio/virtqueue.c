#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "kvm/memory.h"
#include "virtio/virtqueue.h"

/* Offsets inside the rings; the guest owns these pages, so every access
 * goes through gpa_to_hva and every index is taken modulo the size. */
static uint16_t *avail_idx(struct guest_ram *ram, const struct virtqueue *vq)
{
	return gpa_to_hva(ram, vq->avail_gpa + 2, 2);
}

static uint16_t *avail_ring(struct guest_ram *ram, const struct virtqueue *vq, uint16_t i)
{
	return gpa_to_hva(ram, vq->avail_gpa + 4 + 2ULL * (i % vq->size), 2);
}

static uint16_t *used_event(struct guest_ram *ram, const struct virtqueue *vq)
{
	return gpa_to_hva(ram, vq->avail_gpa + 4 + 2ULL * vq->size, 2);
}

static struct vring_used_elem *used_ring(struct guest_ram *ram, const struct virtqueue *vq,
					 uint16_t i)
{
	return gpa_to_hva(ram, vq->used_gpa + 4 + 8ULL * (i % vq->size), 8);
}

static int add_buf(struct vq_elem *e, struct guest_ram *ram, uint64_t addr,
		   uint32_t len, bool write)
{
	void *p = gpa_to_hva(ram, addr, len);

	if (!p)
		return -EINVAL;
	if (write) {
		if (e->nin == VQ_MAX_SG)
			return -EINVAL;
		e->in[e->nin++] = (struct iovec){ p, len };
	} else {
		/* The spec puts all readable buffers before writable ones. */
		if (e->nin || e->nout == VQ_MAX_SG)
			return -EINVAL;
		e->out[e->nout++] = (struct iovec){ p, len };
	}
	return 0;
}

static int walk_chain(struct guest_ram *ram, uint64_t table, uint32_t nmax,
		      uint16_t first, struct vq_elem *e, bool indirect_ok)
{
	uint32_t i = first, steps = 0;

	for (;;) {
		struct vring_desc *d = gpa_to_hva(ram, table + 16ULL * i, sizeof(*d));
		struct vring_desc desc;
		int ret;

		if (i >= nmax || !d || ++steps > nmax)
			return -EINVAL;   /* out of table, out of RAM, or a loop */
		memcpy(&desc, d, sizeof(desc));
		if (desc.flags & VRING_DESC_F_INDIRECT) {
			if (!indirect_ok || desc.len % 16 || desc.len == 0 ||
			    (desc.flags & VRING_DESC_F_NEXT))
				return -EINVAL;
			ret = walk_chain(ram, desc.addr, desc.len / 16, 0, e, false);
		} else {
			ret = add_buf(e, ram, desc.addr, desc.len, desc.flags & VRING_DESC_F_WRITE);
		}
		if (ret < 0)
			return ret;
		if (!(desc.flags & VRING_DESC_F_NEXT))
			return 0;
		i = desc.next;
	}
}

int vq_pop(struct guest_ram *ram, struct virtqueue *vq, struct vq_elem *e)
{
	uint16_t *idx = avail_idx(ram, vq), *slot, avail;

	if (!idx || !vq->size)
		return -EINVAL;
	avail = __atomic_load_n(idx, __ATOMIC_ACQUIRE);
	if (avail == vq->last_avail)
		return 0;
	if ((uint16_t)(avail - vq->last_avail) > vq->size)
		return -EINVAL;
	slot = avail_ring(ram, vq, vq->last_avail);
	if (!slot)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->head = *slot;
	if (e->head >= vq->size)
		return -EINVAL;
	vq->last_avail++;
	if (walk_chain(ram, vq->desc_gpa, vq->size, e->head, e, true) < 0)
		return -EINVAL;
	return 1;
}

int vq_push(struct guest_ram *ram, struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *elem = used_ring(ram, vq, vq->used_idx);
	uint16_t *idx = gpa_to_hva(ram, vq->used_gpa + 2, 2);

	if (!elem || !idx)
		return -EINVAL;
	elem->id = head;
	elem->len = len;
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(idx, vq->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool vq_enable_kicks(struct guest_ram *ram, struct virtqueue *vq)
{
	uint16_t *ev = gpa_to_hva(ram, vq->used_gpa + 4 + 8ULL * vq->size, 2);
	uint16_t *idx = avail_idx(ram, vq);

	if (vq->event_idx && ev)
		__atomic_store_n(ev, vq->last_avail, __ATOMIC_RELAXED);
	/* The guest publishes avail->idx then reads avail_event; we write
	 * avail_event then read avail->idx: a full barrier on both sides. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return idx && __atomic_load_n(idx, __ATOMIC_ACQUIRE) != vq->last_avail;
}

bool vq_should_notify(struct guest_ram *ram, struct virtqueue *vq, uint16_t old_used)
{
	uint16_t *flags = gpa_to_hva(ram, vq->avail_gpa, 2), *ev;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		ev = used_event(ram, vq);
		return !ev || vring_need_event(*ev, vq->used_idx, old_used);
	}
	return !flags || !(*flags & VRING_AVAIL_F_NO_INTERRUPT);
}

int vq_read_used_idx(struct guest_ram *ram, const struct virtqueue *vq)
{
	uint16_t *idx = gpa_to_hva(ram, vq->used_gpa + 2, 2);

	return idx ? __atomic_load_n(idx, __ATOMIC_ACQUIRE) : -EINVAL;
}

static size_t copy_iov(const struct iovec *iov, int n, void *buf, size_t len, bool to_iov)
{
	size_t done = 0;
	int i;

	for (i = 0; i < n && done < len; i++) {
		size_t chunk = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		if (to_iov)
			memcpy(iov[i].iov_base, (char *)buf + done, chunk);
		else
			memcpy((char *)buf + done, iov[i].iov_base, chunk);
		done += chunk;
	}
	return done;
}

size_t vq_elem_write(const struct vq_elem *e, const void *buf, size_t len)
{
	return copy_iov(e->in, e->nin, (void *)buf, len, true);
}

size_t vq_elem_read(const struct vq_elem *e, void *buf, size_t len)
{
	return copy_iov(e->out, e->nout, buf, len, false);
}
