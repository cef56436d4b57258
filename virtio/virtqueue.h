/* A split virtqueue read and written by the VMM itself. The data path
 * belongs to the backend; the VMM only touches rings when there is no
 * backend to do it: to fail the requests of a backend that died, so that
 * guest I/O errors out instead of hanging, and to recover the ring position
 * when a backend cannot tell it. */
#ifndef VIRTIO_VIRTQUEUE_H
#define VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_ram;

#define VQ_MAX_SG 64

struct virtqueue {
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;   /* next avail entry to take */
	uint16_t used_idx;     /* our copy of used->idx */
	bool event_idx;        /* VIRTIO_RING_F_EVENT_IDX negotiated */
};

/* One request: the device-readable buffers, then the device-writable ones. */
struct vq_elem {
	uint16_t head;
	int nout, nin;
	struct iovec out[VQ_MAX_SG];
	struct iovec in[VQ_MAX_SG];
};

/* Takes the next available request. Returns 1, 0 when the ring is empty,
 * or -EINVAL when the guest wrote a malformed ring or chain (out of RAM,
 * loops, too long). */
int vq_pop(struct guest_ram *ram, struct virtqueue *vq, struct vq_elem *e);
/* Returns a request to the guest with len bytes written into its in
 * buffers. */
int vq_push(struct guest_ram *ram, struct virtqueue *vq, uint16_t head, uint32_t len);
/* Asks the guest to kick for the next request: with EVENT_IDX, writes
 * avail_event (the guest only kicks when it passes it). Returns true when
 * requests arrived meanwhile, so the caller pops again instead of waiting
 * for a kick that will not come. */
bool vq_enable_kicks(struct guest_ram *ram, struct virtqueue *vq);
/* Whether the guest wants an interrupt for what was pushed since old_used. */
bool vq_should_notify(struct guest_ram *ram, struct virtqueue *vq, uint16_t old_used);
/* The used index the guest sees, or -EINVAL if the ring is not in RAM. */
int vq_read_used_idx(struct guest_ram *ram, const struct virtqueue *vq);
/* Copies up to len bytes into the in buffers; returns the bytes copied. */
size_t vq_elem_write(const struct vq_elem *e, const void *buf, size_t len);
/* Copies up to len bytes out of the out buffers; returns the bytes copied. */
size_t vq_elem_read(const struct vq_elem *e, void *buf, size_t len);

#endif
