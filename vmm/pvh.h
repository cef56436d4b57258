/* The PVH boot path: an uncompressed ELF vmlinux entered through its Xen
 * PVH note in 32-bit protected mode, as Firecracker and Cloud Hypervisor
 * boot it. It skips the bzImage decompressor entirely. */
#ifndef VMM_PVH_H
#define VMM_PVH_H

#include <stddef.h>
#include <stdint.h>

#define PVH_MAX_SEGMENTS 16

struct pvh_segment {
	uint64_t file_offset, paddr, filesz, memsz;
};

struct pvh_info {
	uint32_t entry;                   /* XEN_ELFNOTE_PHYS32_ENTRY */
	int nsegments;
	struct pvh_segment segments[PVH_MAX_SEGMENTS];
	uint64_t end;                     /* highest paddr + memsz */
};

/* True when buf starts like an ELF file. */
int pvh_is_elf(const void *buf, size_t len);
/* Reads the ELF headers from fd (file_size bytes) and finds the PVH entry.
 * Returns 0 or -ENOEXEC with a one-line reason in err. */
int pvh_parse(int fd, uint64_t file_size, struct pvh_info *info, char *err,
	      size_t errlen);

#endif
