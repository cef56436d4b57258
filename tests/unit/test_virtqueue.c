/* Split-ring parsing by the VMM: chains, indirect tables, malformed rings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "kvm/memory.h"
#include "tests/unit/tap.h"
#include "virtio/virtqueue.h"

#define RAM_SIZE  (1 << 20)
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define QSIZE     8

static struct guest_ram ram;
static uint8_t *mem;

static struct vring_desc *desc(int i)
{
	return (struct vring_desc *)(mem + DESC_GPA) + i;
}

static void set_desc(int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	*desc(i) = (struct vring_desc){ addr, len, flags, next };
}

static void make_avail(uint16_t *heads, int n)
{
	uint16_t *avail = (uint16_t *)(mem + AVAIL_GPA);

	for (int i = 0; i < n; i++)
		avail[2 + i] = heads[i];
	avail[1] += n;
}

static struct virtqueue fresh_vq(void)
{
	memset(mem, 0, 0x4000);
	return (struct virtqueue){ .size = QSIZE, .desc_gpa = DESC_GPA,
				   .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA };
}

int main(void)
{
	struct tap t = TAP_INIT;
	struct virtqueue vq;
	struct vq_elem e;
	uint16_t heads[2];
	char buf[16];

	mem = calloc(1, RAM_SIZE);
	ram.nregions = 1;
	ram.regions[0] = (struct ram_region){ .gpa = 0, .size = RAM_SIZE, .hva = mem };

	vq = fresh_vq();
	ok(&t, vq_pop(&ram, &vq, &e) == 0, "an empty ring pops nothing");

	/* A request: 16 readable bytes, then 8 writable ones. */
	memcpy(mem + 0x10000, "request-payload", 16);
	set_desc(0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
	set_desc(1, 0x11000, 8, VRING_DESC_F_WRITE, 0);
	heads[0] = 0;
	make_avail(heads, 1);
	ok(&t, vq_pop(&ram, &vq, &e) == 1 && e.head == 0 && e.nout == 1 && e.nin == 1,
	   "a two-descriptor chain pops as one out and one in buffer");
	ok(&t, vq_elem_read(&e, buf, sizeof(buf)) == 16 && !memcmp(buf, "request-payload", 16),
	   "the out buffer holds what the guest wrote");
	ok(&t, vq_elem_write(&e, "reply-too-long!", 16) == 8 && !memcmp(mem + 0x11000, "reply-to", 8),
	   "writes are cut to the in buffers' size");
	ok(&t, vq_pop(&ram, &vq, &e) == 0, "the ring is empty again");
	ok(&t, vq_push(&ram, &vq, 0, 8) == 0 && vq_read_used_idx(&ram, &vq) == 1,
	   "push publishes one used element");
	ok(&t, ((struct vring_used_elem *)(mem + USED_GPA + 4))->id == 0 &&
	   ((struct vring_used_elem *)(mem + USED_GPA + 4))->len == 8, "with its head and length");
	ok(&t, vq_should_notify(&ram, &vq, 0), "no NO_INTERRUPT flag: notify");
	*(uint16_t *)(mem + AVAIL_GPA) = VRING_AVAIL_F_NO_INTERRUPT;
	ok(&t, !vq_should_notify(&ram, &vq, 0), "NO_INTERRUPT suppresses the notification");
	vq.event_idx = true;
	*(uint16_t *)(mem + AVAIL_GPA + 4 + 2 * QSIZE) = 0;   /* used_event = 0 */
	ok(&t, vq_should_notify(&ram, &vq, 0), "EVENT_IDX: crossing used_event notifies");
	ok(&t, !vq_should_notify(&ram, &vq, 1), "EVENT_IDX: not crossing it does not");
	ok(&t, !vq_enable_kicks(&ram, &vq) && *(uint16_t *)(mem + USED_GPA + 4 + 8 * QSIZE) == vq.last_avail,
	   "EVENT_IDX: avail_event follows what we took; nothing new");
	make_avail(heads, 1);
	ok(&t, vq_enable_kicks(&ram, &vq), "a request that arrived meanwhile is reported");

	/* An indirect table with three entries. */
	vq = fresh_vq();
	set_desc(0, 0x20000, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	((struct vring_desc *)(mem + 0x20000))[0] = (struct vring_desc){ 0x21000, 4, VRING_DESC_F_NEXT, 1 };
	((struct vring_desc *)(mem + 0x20000))[1] = (struct vring_desc){ 0x22000, 4, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
	((struct vring_desc *)(mem + 0x20000))[2] = (struct vring_desc){ 0x23000, 4, VRING_DESC_F_WRITE, 0 };
	heads[0] = 0;
	make_avail(heads, 1);
	ok(&t, vq_pop(&ram, &vq, &e) == 1 && e.nout == 1 && e.nin == 2, "an indirect table is followed");

	vq = fresh_vq();
	set_desc(0, 0x10000, 4, VRING_DESC_F_NEXT, 1);
	set_desc(1, 0x10000, 4, VRING_DESC_F_NEXT, 0);
	make_avail(heads, 1);
	ok(&t, vq_pop(&ram, &vq, &e) == -EINVAL, "a descriptor loop is refused");

	vq = fresh_vq();
	set_desc(0, RAM_SIZE - 2, 4, 0, 0);
	make_avail(heads, 1);
	ok(&t, vq_pop(&ram, &vq, &e) == -EINVAL, "a buffer past the end of RAM is refused");

	vq = fresh_vq();
	set_desc(0, 0x10000, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(1, 0x10000, 4, 0, 0);
	make_avail(heads, 1);
	ok(&t, vq_pop(&ram, &vq, &e) == -EINVAL, "a readable buffer after a writable one is refused");

	vq = fresh_vq();
	heads[0] = QSIZE + 3;
	make_avail(heads, 1);
	ok(&t, vq_pop(&ram, &vq, &e) == -EINVAL, "a head beyond the queue size is refused");

	vq = fresh_vq();
	*(uint16_t *)(mem + AVAIL_GPA + 2) = QSIZE + 5;
	ok(&t, vq_pop(&ram, &vq, &e) == -EINVAL, "an avail index running ahead by more than the size is refused");

	vq = fresh_vq();
	set_desc(0, 0x20000, 16, VRING_DESC_F_INDIRECT, 0);
	((struct vring_desc *)(mem + 0x20000))[0] = (struct vring_desc){ 0x20000, 16, VRING_DESC_F_INDIRECT, 0 };
	heads[0] = 0;
	make_avail(heads, 1);
	ok(&t, vq_pop(&ram, &vq, &e) == -EINVAL, "a nested indirect table is refused");

	vq = fresh_vq();
	vq.used_gpa = RAM_SIZE;
	ok(&t, vq_read_used_idx(&ram, &vq) == -EINVAL && vq_push(&ram, &vq, 0, 0) == -EINVAL,
	   "a used ring outside RAM is refused");

	free(mem);
	return tap_done(&t);
}
