#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/memfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/memory.h"
#include "kvm/vm.h"

int guest_ram_layout(uint64_t size, struct ram_region regions[2])
{
	uint64_t low = size < RAM_LOW_END ? size : RAM_LOW_END;

	regions[0] = (struct ram_region){ .gpa = 0, .size = low, .offset = 0 };
	if (size <= RAM_LOW_END)
		return 1;
	regions[1] = (struct ram_region){
		.gpa = RAM_HIGH_START, .size = size - low, .offset = low,
	};
	return 2;
}

static uint64_t default_hugepage_size(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 2ULL << 20;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb ? (uint64_t)kb << 10 : 2ULL << 20;
}

static int open_backing_file(const char *path, uint64_t size, char *err,
			     size_t errlen)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* QEMU creates an unlinked file inside a directory mem-path. */
		fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			char tmpl[4096];

			snprintf(tmpl, sizeof(tmpl), "%s/vmm-ram.XXXXXX", path);
			fd = mkostemp(tmpl, O_CLOEXEC);
			if (fd >= 0)
				unlink(tmpl);
		}
	} else {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "memory backend mem-path %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < size &&
	    ftruncate(fd, size) < 0) {
		int e = errno;

		snprintf(err, errlen, "memory backend mem-path %s: cannot size to %llu bytes: %s",
			 path, (unsigned long long)size, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int guest_ram_create(struct guest_ram *ram, const struct ram_config *cfg,
		     char *err, size_t errlen)
{
	unsigned int mfd_flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int e, i;

	memset(ram, 0, sizeof(*ram));
	ram->fd = -1;
	ram->size = cfg->size;
	ram->shared = cfg->share;
	ram->page_size = 4096;
	if (cfg->hugetlb)
		ram->page_size = cfg->hugetlbsize ? cfg->hugetlbsize : default_hugepage_size();

	if (cfg->size == 0 || cfg->size % ram->page_size) {
		snprintf(err, errlen, "RAM size %llu is not a multiple of the %llu-byte page size",
			 (unsigned long long)cfg->size, (unsigned long long)ram->page_size);
		return -EINVAL;
	}
	if (cfg->mem_path) {
		ram->fd = open_backing_file(cfg->mem_path, cfg->size, err, errlen);
		if (ram->fd < 0)
			return ram->fd;
	} else {
		if (cfg->hugetlb) {
			mfd_flags |= MFD_HUGETLB;
			/* memfd encodes a non-default page size as its log2. */
			if (cfg->hugetlbsize)
				mfd_flags |= (unsigned)__builtin_ctzll(cfg->hugetlbsize) << MFD_HUGE_SHIFT;
		}
		ram->fd = memfd_create("guest-ram", mfd_flags);
		if (ram->fd < 0) {
			e = errno;
			snprintf(err, errlen, "memfd_create: %s", strerror(e));
			return -e;
		}
		if (ftruncate(ram->fd, cfg->size) < 0) {
			e = errno;
			snprintf(err, errlen, "cannot size guest RAM to %llu bytes: %s",
				 (unsigned long long)cfg->size, strerror(e));
			return -e;
		}
		/* Whoever we hand the fd to (a vhost-user backend) must not be
		 * able to truncate RAM under the guest. */
		if (fcntl(ram->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0)
			ram->sealed = true;
	}

	ram->base = mmap(NULL, cfg->size, PROT_READ | PROT_WRITE,
			 cfg->share ? MAP_SHARED : MAP_PRIVATE, ram->fd, 0);
	if (ram->base == MAP_FAILED) {
		e = errno;
		ram->base = NULL;
		if (cfg->hugetlb)
			snprintf(err, errlen, "hugetlb=on: cannot get %llu MiB of %llu kB huge pages (%s); reserve them first, e.g. echo %llu > /proc/sys/vm/nr_hugepages",
				 (unsigned long long)(cfg->size >> 20),
				 (unsigned long long)(ram->page_size >> 10), strerror(e),
				 (unsigned long long)(cfg->size / ram->page_size));
		else
			snprintf(err, errlen, "cannot map %llu MiB of guest RAM: %s",
				 (unsigned long long)(cfg->size >> 20), strerror(e));
		return -e;
	}
	/* Guest RAM is the guest's: keep it out of our core dumps. */
	madvise(ram->base, cfg->size, MADV_DONTDUMP);
	/* Transparent huge pages where the host allows them for this kind of
	 * memory (for a memfd, shmem_enabled=advise or always), as QEMU asks
	 * for its RAM: 2 MiB guest mappings mean far fewer nested page faults.
	 * Refused or ignored otherwise, which is fine. */
	if (!cfg->hugetlb)
		madvise(ram->base, cfg->size, MADV_HUGEPAGE);

	ram->nregions = guest_ram_layout(cfg->size, ram->regions);
	for (i = 0; i < ram->nregions; i++)
		ram->regions[i].hva = (char *)ram->base + ram->regions[i].offset;
	return 0;
}

void guest_ram_destroy(struct guest_ram *ram)
{
	if (ram->base)
		munmap(ram->base, ram->size);
	if (ram->fd >= 0)
		close(ram->fd);
	ram->base = NULL;
	ram->fd = -1;
}

int guest_ram_map(struct guest_ram *ram, struct vm *vm)
{
	int i, ret;

	for (i = 0; i < ram->nregions; i++) {
		struct ram_region *r = &ram->regions[i];

		ret = vm_set_memory(vm, i, r->gpa, r->size, r->hva);
		if (ret < 0)
			return ret;
	}
	vm->ram = ram;
	return 0;
}

void *gpa_to_hva(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	int i;

	for (i = 0; i < ram->nregions; i++) {
		const struct ram_region *r = &ram->regions[i];

		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return (char *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}
