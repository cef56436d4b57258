#include <string.h>

#include "kvm/memory.h"
#include "vhost/vhost_mem.h"

void vhost_mem_table_from_guest_ram(struct vhost_mem_table *mem,
				 const struct guest_ram *ram)
{
	int i;

	memset(mem, 0, sizeof(*mem));
	mem->shared = ram->shared;
	for (i = 0; i < ram->nregions && i < VHOST_MEM_MAX_REGIONS; i++) {
		mem->regions[i] = (struct vhost_mem_region){
			.gpa = ram->regions[i].gpa,
			.size = ram->regions[i].size,
			.mmap_offset = ram->regions[i].offset,
			.hva = ram->regions[i].hva,
			.fd = ram->fd,
		};
	}
	mem->nregions = i;
}

void *vhost_mem_table_gpa_to_hva(const struct vhost_mem_table *mem, uint64_t gpa,
			      uint64_t len)
{
	int i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vhost_mem_region *r = &mem->regions[i];

		/* Written so that no sum can wrap around 2^64. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return (char *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}
