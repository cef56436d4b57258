/* Address-range dispatch for port I/O and MMIO exits. */
#ifndef KVM_BUS_H
#define KVM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* offset is relative to the registered base. data is little-endian guest
 * data of len bytes (1, 2, 4 or 8). Reads fill data; a handler never fails:
 * whatever the guest does to a device must not stop the VM. */
typedef void (*bus_handler_fn)(void *opaque, uint64_t offset, void *data,
			       unsigned len, bool is_write);

struct bus_range {
	uint64_t base, len;
	bus_handler_fn fn;
	void *opaque;
};

struct bus {
	const char *name;
	/* Ranges move at run time (a guest reprogramming a BAR, from a vCPU
	 * thread) while other vCPUs dispatch, hence the lock. */
	pthread_rwlock_t lock;
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	int n, cap;
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
/* -EEXIST when the range overlaps a registered one, -EINVAL for len 0. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque);
int bus_unregister(struct bus *bus, uint64_t base);
/* Returns false when no device claims addr; reads then see all ones. */
bool bus_dispatch(struct bus *bus, uint64_t addr, void *data, unsigned len,
		  bool is_write);

#endif
