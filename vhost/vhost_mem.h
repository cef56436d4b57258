/* Guest memory as a vhost back-end sees it: regions of one or more
 * shareable fds, each with its guest-physical and our host-virtual
 * address. Shared by vhost_user (which sends it) and vhost_dev (which
 * translates ring addresses through it). */
#ifndef VHOST_VHOST_MEM_H
#define VHOST_VHOST_MEM_H

#include <stdbool.h>
#include <stdint.h>

struct guest_ram;

/* More than QEMU's 8 SET_MEM_TABLE regions never happens with our RAM
 * layout (at most two regions of one memfd); keeping the bound here keeps
 * the structs fixed-size. */
#define VHOST_MEM_MAX_REGIONS 8

struct vhost_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t mmap_offset; /* into fd */
	void *hva;            /* our mapping of [gpa, gpa+size) */
	int fd;               /* mapped MAP_SHARED by the back-end */
};

struct vhost_mem_table {
	int nregions;
	/* false: RAM is MAP_PRIVATE, so the back-end would see other pages
	 * than the guest. vhost_dev_start() refuses it. */
	bool shared;
	struct vhost_mem_region regions[VHOST_MEM_MAX_REGIONS];
};

/* Describes guest RAM (kvm/memory.h) for a back-end. Never fails: the
 * fd and the shared flag are checked when a device starts. */
void vhost_mem_table_from_guest_ram(struct vhost_mem_table *mem,
				 const struct guest_ram *ram);

/* Host address of [gpa, gpa+len) if it lies inside one region, else NULL. */
void *vhost_mem_table_gpa_to_hva(const struct vhost_mem_table *mem, uint64_t gpa,
			      uint64_t len);

#endif
