#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/pvh.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

int pvh_is_elf(const void *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Walks one PT_NOTE segment for the Xen PVH entry note. */
static int find_entry(int fd, const Elf64_Phdr *ph, uint32_t *entry)
{
	uint8_t *notes, *p, *end;
	int ret = -ENOENT;

	if (ph->p_filesz == 0 || ph->p_filesz > (1 << 20))
		return -ENOENT;
	notes = malloc(ph->p_filesz);
	if (!notes)
		return -ENOMEM;
	if (read_at(fd, notes, ph->p_filesz, ph->p_offset) < 0)
		goto out;
	p = notes;
	end = notes + ph->p_filesz;
	while ((size_t)(end - p) >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_len, desc_len;

		memcpy(&nh, p, sizeof(nh));
		/* In 64 bits: rounding a size near 4 GiB up in 32 would wrap to
		 * 0 and let a note that runs past the segment through. */
		name_len = ((uint64_t)nh.n_namesz + 3) & ~3ULL;
		desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		p += sizeof(nh);
		if ((uint64_t)(end - p) < name_len + desc_len)
			break;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(p, "Xen", 4) && nh.n_descsz >= 4) {
			uint64_t v = 0;

			memcpy(&v, p + name_len, nh.n_descsz >= 8 ? 8 : 4);
			*entry = (uint32_t)v;
			ret = 0;
			break;
		}
		p += name_len + desc_len;
	}
out:
	free(notes);
	return ret;
}

int pvh_parse(int fd, uint64_t file_size, struct pvh_info *info, char *err,
	      size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	bool have_entry = false;
	int i;

	memset(info, 0, sizeof(*info));
	if (read_at(fd, &eh, sizeof(eh), 0) < 0 || !pvh_is_elf(&eh, sizeof(eh))) {
		snprintf(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		snprintf(err, errlen, "not an x86-64 ELF kernel");
		return -ENOEXEC;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (read_at(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph)) < 0) {
			snprintf(err, errlen, "truncated ELF program headers");
			return -ENOEXEC;
		}
		if (ph.p_type == PT_NOTE && !have_entry)
			have_entry = find_entry(fd, &ph, &info->entry) == 0;
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (info->nsegments == PVH_MAX_SEGMENTS || ph.p_filesz > ph.p_memsz ||
		    ph.p_offset + ph.p_filesz > file_size ||
		    ph.p_paddr + ph.p_memsz < ph.p_paddr) {
			snprintf(err, errlen, "ELF segment %d is malformed or out of the file", i);
			return -ENOEXEC;
		}
		info->segments[info->nsegments++] = (struct pvh_segment){
			ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz,
		};
		if (ph.p_paddr + ph.p_memsz > info->end)
			info->end = ph.p_paddr + ph.p_memsz;
	}
	if (!have_entry) {
		snprintf(err, errlen, "ELF kernel has no PVH entry note (CONFIG_PVH): boot its bzImage instead");
		return -ENOEXEC;
	}
	if (!info->nsegments) {
		snprintf(err, errlen, "ELF kernel has no loadable segments");
		return -ENOEXEC;
	}
	return 0;
}
