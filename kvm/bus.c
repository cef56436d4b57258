#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/bus.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->n = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above addr. */
static int bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	int lo = 0, hi = bus->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque)
{
	int i, ret = 0;

	if (len == 0 || base + len < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->n && bus->ranges[i].base < base + len) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->n == bus->cap) {
		int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->n - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){ base, len, fn, opaque };
	bus->n++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	int i, ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->n && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->n - i - 1) * sizeof(bus->ranges[0]));
		bus->n--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool bus_dispatch(struct bus *bus, uint64_t addr, void *data, unsigned len,
		  bool is_write)
{
	struct bus_range r;
	bool found = false;
	int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = bus_lower_bound(bus, addr);
	if (i < bus->n && bus->ranges[i].base <= addr) {
		r = bus->ranges[i];
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);

	if (!found) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	/* An access straddling the end is cut to what the device covers. */
	if (addr + len > r.base + r.len) {
		unsigned inside = r.base + r.len - addr;

		if (!is_write)
			memset((char *)data + inside, 0xff, len - inside);
		len = inside;
	}
	r.fn(r.opaque, addr - r.base, data, len, is_write);
	return true;
}
