/* Guest RAM: one shareable backing (memfd by default) mapped once, exposed
 * to KVM as one slot below the 32-bit MMIO hole and one above 4 GiB. A
 * vhost-user backend maps the same fd at the same offsets. */
#ifndef KVM_MEMORY_H
#define KVM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

struct ram_config {
	uint64_t size;         /* bytes */
	bool share;            /* MAP_SHARED: required for vhost-user */
	bool hugetlb;          /* memfd with MFD_HUGETLB */
	uint64_t hugetlbsize;  /* hugetlbsize=: huge page size, 0 = system default */
	const char *mem_path;  /* memory-backend-file: file or directory; NULL = memfd */
	const char *backend_id; /* -object id that defined it, NULL = implicit */
};


/* RAM stops at 3 GiB below 4 GiB; the rest of the 32-bit space is the hole
 * for PCI windows, ECAM, IOAPIC, LAPIC and the like. */
#define RAM_LOW_END    0xc0000000ULL
#define RAM_HIGH_START 0x100000000ULL

struct ram_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset; /* into the backing fd */
	void *hva;
};

struct guest_ram {
	int fd;          /* memfd or file */
	void *base;      /* host mapping of the whole backing */
	uint64_t size;
	bool shared;     /* MAP_SHARED, so another process can map fd */
	bool sealed;
	uint64_t page_size;
	int nregions;
	struct ram_region regions[2];
};

/* On failure returns -errno and a one-line message in err. */
int guest_ram_create(struct guest_ram *ram, const struct ram_config *cfg,
		     char *err, size_t errlen);
void guest_ram_destroy(struct guest_ram *ram);
/* Registers every region with KVM as a memory slot. */
int guest_ram_map(struct guest_ram *ram, struct vm *vm);
/* Host address of [gpa, gpa+len), or NULL unless it lies within one region. */
void *gpa_to_hva(const struct guest_ram *ram, uint64_t gpa, uint64_t len);
/* Pure layout computation, for tests: fills regions for size bytes. */
int guest_ram_layout(uint64_t size, struct ram_region regions[2]);

#endif
