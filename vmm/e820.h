/* The guest's physical memory map as the boot protocol reports it. */
#ifndef VMM_E820_H
#define VMM_E820_H

#include <asm/bootparam.h>

#include "kvm/memory.h"

/* Low RAM ends where the EBDA begins, as on a PC; the BIOS area from
 * 0xe0000 holds our ACPI tables. */
#define E820_EBDA_START  0x9fc00ULL
#define E820_BIOS_START  0xe0000ULL
#define E820_HIGH_MEMORY 0x100000ULL

#define E820_TYPE_RAM      1
#define E820_TYPE_RESERVED 2

struct e820_reserved {
	uint64_t addr, len;
};

/* Builds the map for the RAM regions plus extra reserved ranges in the
 * MMIO hole (ECAM, for instance). Returns the number of entries or
 * -ENOSPC. */
int e820_build(struct boot_e820_entry *out, int max,
	       const struct ram_region *regions, int nregions,
	       const struct e820_reserved *extra, int nextra);

#endif
