#include <errno.h>

#include "vmm/e820.h"

static int add(struct boot_e820_entry *out, int *n, int max, uint64_t addr,
	       uint64_t len, uint32_t type)
{
	if (len == 0)
		return 0;
	if (*n >= max)
		return -ENOSPC;
	out[*n] = (struct boot_e820_entry){ .addr = addr, .size = len, .type = type };
	(*n)++;
	return 0;
}

int e820_build(struct boot_e820_entry *out, int max,
	       const struct ram_region *regions, int nregions,
	       const struct e820_reserved *extra, int nextra)
{
	int i, n = 0, ret = 0;

	for (i = 0; i < nregions && !ret; i++) {
		const struct ram_region *r = &regions[i];
		uint64_t end = r->gpa + r->size;

		if (r->gpa != 0) {
			ret = add(out, &n, max, r->gpa, r->size, E820_TYPE_RAM);
			continue;
		}
		/* The first region carries the PC's legacy holes. */
		ret = add(out, &n, max, 0, end < E820_EBDA_START ? end : E820_EBDA_START,
			  E820_TYPE_RAM);
		if (!ret)
			ret = add(out, &n, max, E820_EBDA_START,
				  0xa0000 - E820_EBDA_START, E820_TYPE_RESERVED);
		if (!ret)
			ret = add(out, &n, max, E820_BIOS_START,
				  E820_HIGH_MEMORY - E820_BIOS_START, E820_TYPE_RESERVED);
		if (!ret && end > E820_HIGH_MEMORY)
			ret = add(out, &n, max, E820_HIGH_MEMORY,
				  end - E820_HIGH_MEMORY, E820_TYPE_RAM);
	}
	for (i = 0; i < nextra && !ret; i++)
		ret = add(out, &n, max, extra[i].addr, extra[i].len, E820_TYPE_RESERVED);
	if (ret < 0)
		return ret;
	/* Reserved ranges in the hole land between the two RAM regions;
	 * firmware hands out the map sorted, so do we. */
	for (i = 1; i < n; i++) {
		struct boot_e820_entry e = out[i];
		int j = i;

		for (; j > 0 && out[j - 1].addr > e.addr; j--)
			out[j] = out[j - 1];
		out[j] = e;
	}
	return n;
}
