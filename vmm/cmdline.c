/* The QEMU command-line subset that vhost-user backends' scripts use, so
 * that those scripts run unchanged with "qemu-system-x86_64" replaced by
 * "vmm". Everything accepted either does what it does in QEMU or is
 * something our one fixed machine already is (KVM, host CPU, no display);
 * anything else is refused by name rather than silently ignored. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"
#include "vmm/qemu_opts.h"

#ifndef VMM_VERSION
#define VMM_VERSION "unknown"
#endif

#define MAX_BACKENDS 8
#define PAGE_SIZE_4K 4096ULL

struct mem_backend {
	struct qemu_opts opts; /* owns id and mem_path */
	const char *type;
	const char *id;
	const char *mem_path;
	uint64_t size;
	uint64_t hugetlbsize;
	bool share;
	bool hugetlb;
};

/* Everything the parse needs between options; lives on cmdline_parse()'s
 * stack so that parsing has no global state. */
struct parse_state {
	struct vmm_config *cfg;
	char *err;
	size_t errlen;
	bool mem_given;
	uint64_t mem_size;
	bool serial_given;
	bool accel_given;
	bool numa_node_given;
	char *numa_memdev;    /* -numa node,memdev=ID */
	char *machine_memdev; /* -machine memory-backend=ID */
	int nbackends;
	struct mem_backend backends[MAX_BACKENDS];
};

struct option_desc {
	const char *name;     /* without the leading dash */
	const char *arg;      /* argument, as shown by --help; NULL = a flag */
	int (*handle)(struct parse_state *st, const char *arg);
	const char *help;     /* NULL for an alias, listed with its original */
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, st->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Splits arg, prefixing any error with what (e.g. "-device"). */
static int parse_opts(struct parse_state *st, const char *what,
		      const char *arg, struct qemu_opts *o)
{
	char msg[256];
	int ret = qemu_opts_parse(o, arg, msg, sizeof(msg));

	if (ret < 0) {
		fail(st, "%s: %s", what, msg);
		return ret;
	}
	return 0;
}

/* QEMU's implied first key: "-m 4G" is "-m size=4G"; if both are given the
 * explicit key comes later and so wins, as in QEMU. */
static const char *implied(const struct qemu_opts *o, const char *key)
{
	const char *v = qemu_opts_get(o, key);

	return v ? v : o->type;
}

static int check_keys(struct parse_state *st, const char *what,
		      const struct qemu_opts *o, const char *const *allowed)
{
	const char *const *a;
	int i;

	for (i = 0; i < o->n; i++) {
		for (a = allowed; *a; a++)
			if (!strcmp(o->key[i], *a))
				break;
		if (!*a)
			return fail(st, "%s: unknown parameter '%s'", what, o->key[i]);
	}
	return 0;
}

/* The spellings QEMU's qapi_bool_parse() takes. */
static int parse_bool(struct parse_state *st, const char *what,
		      const char *key, const char *val, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "y" };
	static const char *const no[] = { "off", "no", "false", "n" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(val, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(val, no[i])) {
			*out = false;
			return 0;
		}
	}
	return fail(st, "%s: %s=%s is not a boolean (use on or off)", what, key, val);
}

/* C syntax (0x.., 0.., decimal), all of it, at most max. */
static int parse_num(const char *s, unsigned long long max,
		     unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* The biggest unit that shows size exactly, for messages. */
static const char *format_size(uint64_t size, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	int i = -1;

	while (size && !(size & 1023) && i < 5) {
		size >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)size);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)size, units[i]);
	return buf;
}

static uint64_t align_up_4k(uint64_t v)
{
	return (v + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
}

static int handle_kernel(struct parse_state *st, const char *arg)
{
	if (!*arg)
		return fail(st, "-kernel: empty path");
	st->cfg->kernel = arg;
	return 0;
}

static int handle_initrd(struct parse_state *st, const char *arg)
{
	if (!*arg)
		return fail(st, "-initrd: empty path");
	st->cfg->initrd = arg;
	return 0;
}

static int handle_append(struct parse_state *st, const char *arg)
{
	/* A plain string, not an option list: commas are the kernel's. */
	st->cfg->append = arg;
	return 0;
}

static int handle_m(struct parse_state *st, const char *arg)
{
	static const char *const keys[] = { "size", NULL };
	struct qemu_opts o;
	const char *s;
	uint64_t size;
	int ret;

	ret = parse_opts(st, "-m", arg, &o);
	if (ret < 0)
		return ret;
	/* slots= and maxmem= are memory hotplug, which we do not have. */
	ret = check_keys(st, "-m", &o, keys);
	if (ret < 0)
		goto out;
	s = implied(&o, "size");
	if (!s) {
		ret = fail(st, "-m: no size given");
		goto out;
	}
	ret = parse_size(s, 'M', &size);
	if (ret == -ERANGE || (ret == 0 && size > VMM_MAX_RAM)) {
		ret = fail(st, "-m: size %s is too large (at most 1T)", s);
		goto out;
	}
	if (ret < 0) {
		ret = fail(st, "-m: invalid size '%s'", s);
		goto out;
	}
	if (size == 0) {
		ret = fail(st, "-m: size must not be 0");
		goto out;
	}
	/* QEMU rounds RAM up to its page size too. */
	st->mem_size = align_up_4k(size);
	st->mem_given = true;
out:
	qemu_opts_free(&o);
	return ret;
}

static int smp_value(struct parse_state *st, const struct qemu_opts *o,
		     const char *key, unsigned *out)
{
	const char *v = strcmp(key, "cpus") ? qemu_opts_get(o, key)
					      : implied(o, key);
	unsigned long long n;
	int ret;

	*out = 0;
	if (!v)
		return 0;
	/* The bound only keeps the products below from overflowing; the
	 * real limit is checked on the result. */
	ret = parse_num(v, 1 << 20, &n);
	if (ret == -ERANGE)
		return fail(st, "-smp: %s=%s is too large", key, v);
	if (ret < 0)
		return fail(st, "-smp: invalid %s '%s'", key, v);
	if (n == 0)
		return fail(st, "-smp: %s must be at least 1, got %s", key, v);
	*out = (unsigned)n;
	return 0;
}

/* QEMU's machine_parse_smp_config() for the keys we take: a missing
 * topology level is derived, preferring cores (QEMU >= 6.2), and the
 * product has to come out as maxcpus. */
static int handle_smp(struct parse_state *st, const char *arg)
{
	static const char *const keys[] = {
		"cpus", "sockets", "cores", "threads", "maxcpus", NULL
	};
	unsigned cpus, sockets, cores, threads, maxcpus;
	unsigned long long total;
	struct qemu_opts o;
	int ret;

	ret = parse_opts(st, "-smp", arg, &o);
	if (ret < 0)
		return ret;
	ret = check_keys(st, "-smp", &o, keys);
	if (ret < 0 ||
	    (ret = smp_value(st, &o, "cpus", &cpus)) < 0 ||
	    (ret = smp_value(st, &o, "sockets", &sockets)) < 0 ||
	    (ret = smp_value(st, &o, "cores", &cores)) < 0 ||
	    (ret = smp_value(st, &o, "threads", &threads)) < 0 ||
	    (ret = smp_value(st, &o, "maxcpus", &maxcpus)) < 0)
		goto out;
	if (!cpus && !maxcpus && !sockets && !cores && !threads) {
		ret = fail(st, "-smp: no CPU count given");
		goto out;
	}

	if (!cpus && !maxcpus) {
		sockets = sockets ? sockets : 1;
		cores = cores ? cores : 1;
		threads = threads ? threads : 1;
	} else {
		maxcpus = maxcpus ? maxcpus : cpus;
		if (!cores) {
			sockets = sockets ? sockets : 1;
			threads = threads ? threads : 1;
			cores = maxcpus / ((unsigned long long)sockets * threads);
		} else if (!sockets) {
			threads = threads ? threads : 1;
			sockets = maxcpus / ((unsigned long long)cores * threads);
		}
		if (!threads)
			threads = maxcpus / ((unsigned long long)sockets * cores);
	}
	total = (unsigned long long)sockets * cores * threads;
	if (!maxcpus) {
		if (total > VMM_MAX_CPUS) {
			ret = fail(st, "-smp: at most %d CPUs are supported, got %llu",
				   VMM_MAX_CPUS, total);
			goto out;
		}
		maxcpus = (unsigned)total;
	}
	cpus = cpus ? cpus : maxcpus;
	if (total != maxcpus) {
		ret = fail(st, "-smp: sockets (%u) * cores (%u) * threads (%u) != maxcpus (%u)",
			   sockets, cores, threads, maxcpus);
		goto out;
	}
	if (maxcpus < cpus) {
		ret = fail(st, "-smp: maxcpus (%u) must not be less than cpus (%u)",
			   maxcpus, cpus);
		goto out;
	}
	if (maxcpus > cpus) {
		ret = fail(st, "-smp: maxcpus (%u) > cpus (%u) needs CPU hotplug, which is not supported",
			   maxcpus, cpus);
		goto out;
	}
	if (cpus > VMM_MAX_CPUS) {
		ret = fail(st, "-smp: at most %d CPUs are supported, got %u",
			   VMM_MAX_CPUS, cpus);
		goto out;
	}
	st->cfg->ncpus = cpus;
out:
	qemu_opts_free(&o);
	return ret;
}

static int handle_debug_exit(struct parse_state *st, const struct qemu_opts *o)
{
	static const char *const keys[] = { "driver", "id", "iobase", "iosize", NULL };
	struct debug_exit_config *de = &st->cfg->debug_exit;
	unsigned long long base = 0x501, size = 0x02;
	const char *v;
	int ret;

	if (de->enabled)
		return fail(st, "-device isa-debug-exit: only one is supported");
	ret = check_keys(st, "-device isa-debug-exit", o, keys);
	if (ret < 0)
		return ret;
	v = qemu_opts_get(o, "iobase");
	if (v && parse_num(v, 0xffff, &base) < 0)
		return fail(st, "-device isa-debug-exit: invalid iobase '%s'", v);
	v = qemu_opts_get(o, "iosize");
	if (v && (parse_num(v, 4, &size) < 0 || size == 0 || size == 3))
		return fail(st, "-device isa-debug-exit: iosize must be 1, 2 or 4, got '%s'", v);
	if (base + size > 0x10000)
		return fail(st, "-device isa-debug-exit: iobase 0x%llx + iosize %llu is past the I/O space",
			    base, size);
	de->enabled = true;
	de->iobase = (uint16_t)base;
	de->iosize = (uint8_t)size;
	return 0;
}

static int handle_device(struct parse_state *st, const char *arg)
{
	struct vmm_config *cfg = st->cfg;
	struct qemu_opts o;
	const char *driver;
	int ret;

	ret = parse_opts(st, "-device", arg, &o);
	if (ret < 0)
		return ret;
	driver = implied(&o, "driver");
	if (!driver || !*driver) {
		ret = fail(st, "-device: no device type given");
		goto out;
	}
	if (!strcmp(driver, "isa-debug-exit")) {
		ret = handle_debug_exit(st, &o);
		goto out;
	}
	if (cfg->ndevices == VMM_MAX_DEVICES) {
		ret = fail(st, "-device %s: more than %d devices", driver,
			   VMM_MAX_DEVICES);
		goto out;
	}
	/* The device layer reads opts.type, so "driver=X" must land there. */
	if (driver != o.type) {
		char *t = strdup(driver);

		if (!t) {
			ret = fail(st, "-device: out of memory");
			goto out;
		}
		free(o.type);
		o.type = t;
	}
	cfg->devices[cfg->ndevices++].opts = o;
	return 0;
out:
	qemu_opts_free(&o);
	return ret;
}

static struct mem_backend *find_backend(struct parse_state *st, const char *id)
{
	int i;

	for (i = 0; i < st->nbackends; i++)
		if (!strcmp(st->backends[i].id, id))
			return &st->backends[i];
	return NULL;
}

static int parse_backend(struct parse_state *st, struct mem_backend *b)
{
	static const char *const memfd_keys[] = {
		"qom-type", "id", "size", "share", "hugetlb", "hugetlbsize", NULL
	};
	static const char *const file_keys[] = {
		"qom-type", "id", "size", "share", "mem-path", NULL
	};
	const struct qemu_opts *o = &b->opts;
	bool memfd = !strcmp(b->type, "memory-backend-memfd");
	char what[64];
	const char *v;
	int ret;

	snprintf(what, sizeof(what), "-object %s", b->type);
	ret = check_keys(st, what, o, memfd ? memfd_keys : file_keys);
	if (ret < 0)
		return ret;
	b->id = qemu_opts_get(o, "id");
	if (!b->id || !*b->id)
		return fail(st, "%s: no id given", what);
	if (find_backend(st, b->id))
		return fail(st, "-object: duplicate id '%s'", b->id);

	v = qemu_opts_get(o, "size");
	if (!v)
		return fail(st, "%s,id=%s: no size given", what, b->id);
	ret = parse_size(v, 'B', &b->size);
	if (ret == -ERANGE || (ret == 0 && b->size > VMM_MAX_RAM))
		return fail(st, "memory backend '%s' size %s is too large (at most 1T)",
			    b->id, v);
	if (ret < 0)
		return fail(st, "memory backend '%s': invalid size '%s'", b->id, v);
	if (b->size == 0)
		return fail(st, "memory backend '%s': size must not be 0", b->id);
	if (b->size % PAGE_SIZE_4K)
		return fail(st, "memory backend '%s': size %s is not a multiple of 4K",
			    b->id, v);

	/* QEMU's defaults: memfd is shared, a file is private. */
	b->share = memfd;
	v = qemu_opts_get(o, "share");
	if (v && (ret = parse_bool(st, what, "share", v, &b->share)) < 0)
		return ret;
	v = qemu_opts_get(o, "hugetlb");
	if (v && (ret = parse_bool(st, what, "hugetlb", v, &b->hugetlb)) < 0)
		return ret;
	v = qemu_opts_get(o, "hugetlbsize");
	if (v) {
		ret = parse_size(v, 'B', &b->hugetlbsize);
		if (ret < 0 || !b->hugetlbsize ||
		    (b->hugetlbsize & (b->hugetlbsize - 1)))
			return fail(st, "%s: invalid hugetlbsize '%s'", what, v);
	}
	if (!memfd) {
		b->mem_path = qemu_opts_get(o, "mem-path");
		if (!b->mem_path || !*b->mem_path)
			return fail(st, "%s,id=%s: no mem-path given", what, b->id);
	}
	return 0;
}

static int handle_object(struct parse_state *st, const char *arg)
{
	struct mem_backend *b;
	const char *type;
	int ret;

	if (st->nbackends == MAX_BACKENDS)
		return fail(st, "-object: more than %d memory backends", MAX_BACKENDS);
	b = &st->backends[st->nbackends];
	memset(b, 0, sizeof(*b));
	ret = parse_opts(st, "-object", arg, &b->opts);
	if (ret < 0)
		return ret;
	type = implied(&b->opts, "qom-type");
	if (!type || !*type) {
		ret = fail(st, "-object: no object type given");
		goto err;
	}
	if (strcmp(type, "memory-backend-memfd") &&
	    strcmp(type, "memory-backend-file")) {
		ret = fail(st, "-object: type '%s' is not supported (only memory-backend-memfd and memory-backend-file)",
			   type);
		goto err;
	}
	b->type = type;
	ret = parse_backend(st, b);
	if (ret < 0)
		goto err;
	st->nbackends++;
	return 0;
err:
	qemu_opts_free(&b->opts);
	return ret;
}

/* Remembers a reference to a memory backend, resolved once every -object
 * has been seen (QEMU lets the reference come first). */
static int set_memdev(struct parse_state *st, char **slot, const char *id,
		      const char *what)
{
	char *copy = strdup(id);

	if (!copy)
		return fail(st, "%s: out of memory", what);
	free(*slot);
	*slot = copy;
	return 0;
}

static int handle_numa(struct parse_state *st, const char *arg)
{
	static const char *const keys[] = { "type", "nodeid", "cpus", "memdev", NULL };
	struct qemu_opts o;
	const char *type, *v;
	int ret;

	ret = parse_opts(st, "-numa", arg, &o);
	if (ret < 0)
		return ret;
	type = implied(&o, "type");
	if (!type || strcmp(type, "node")) {
		ret = fail(st, "-numa: only 'node' is supported, got '%s'",
			   type ? type : "");
		goto out;
	}
	/* mem= (legacy fake NUMA memory) is refused here by name too. */
	ret = check_keys(st, "-numa node", &o, keys);
	if (ret < 0)
		goto out;
	if (st->numa_node_given) {
		ret = fail(st, "-numa node: only one NUMA node is supported");
		goto out;
	}
	v = qemu_opts_get(&o, "nodeid");
	if (v && strcmp(v, "0")) {
		ret = fail(st, "-numa node: nodeid must be 0, got '%s'", v);
		goto out;
	}
	/* cpus= needs no check: with one node, every CPU is in it. */
	v = qemu_opts_get(&o, "memdev");
	if (v && (ret = set_memdev(st, &st->numa_memdev, v, "-numa")) < 0)
		goto out;
	st->numa_node_given = true;
out:
	qemu_opts_free(&o);
	return ret;
}

/* "kvm" or a QEMU fallback list "kvm:tcg", whose first entry is what QEMU
 * would use when KVM works. */
static int check_accel(struct parse_state *st, const char *what, const char *v)
{
	size_t len = strcspn(v, ":");

	if (len != 3 || strncmp(v, "kvm", 3))
		return fail(st, "%s: accelerator '%s' is not supported (only kvm)",
			    what, v);
	return 0;
}

static bool machine_type_ok(const char *t)
{
	/* Our one machine is not exactly any of these, but what a guest
	 * kernel needs from them (PC boot, ACPI, PCI) is what it gets. */
	return !strcmp(t, "q35") || !strcmp(t, "pc") || !strcmp(t, "microvm") ||
	       !strncmp(t, "pc-q35-", 7) || !strncmp(t, "pc-i440fx-", 10);
}

static int handle_machine(struct parse_state *st, const char *arg)
{
	struct qemu_opts o;
	const char *v;
	int ret;

	ret = parse_opts(st, "-machine", arg, &o);
	if (ret < 0)
		return ret;
	v = implied(&o, "type");
	if (v && !machine_type_ok(v)) {
		ret = fail(st, "-machine: machine type '%s' is not supported (use q35, pc or microvm)",
			   v);
		goto out;
	}
	v = qemu_opts_get(&o, "accel");
	if (v && (ret = check_accel(st, "-machine", v)) < 0)
		goto out;
	v = qemu_opts_get(&o, "memory-backend");
	if (v && (ret = set_memdev(st, &st->machine_memdev, v, "-machine")) < 0)
		goto out;
	/* Other machine properties (usb=, smm=, kernel-irqchip=, ...) tune
	 * QEMU models we do not have. */
out:
	qemu_opts_free(&o);
	return ret;
}

static int handle_accel(struct parse_state *st, const char *arg)
{
	size_t len = strcspn(arg, ",");

	/* Later -accel options are fallbacks QEMU only tries if the first
	 * fails; KVM failing is fatal here. */
	if (st->accel_given)
		return 0;
	if (len != 3 || strncmp(arg, "kvm", 3))
		return fail(st, "-accel: accelerator '%.*s' is not supported (only kvm)",
			    (int)len, arg);
	st->accel_given = true;
	return 0;
}

static int handle_enable_kvm(struct parse_state *st, const char *arg)
{
	(void)st;
	(void)arg;
	return 0;
}

static int handle_cpu(struct parse_state *st, const char *arg)
{
	size_t len = strcspn(arg, ",");

	/* Feature flags after the model are moot: the guest sees the host's
	 * CPUID, which is what host and max mean under KVM. */
	if ((len == 4 && !strncmp(arg, "host", 4)) ||
	    (len == 3 && !strncmp(arg, "max", 3)))
		return 0;
	return fail(st, "-cpu: CPU model '%.*s' is not supported (use host or max)",
		    (int)len, arg);
}

static int handle_chardev(struct parse_state *st, const char *arg)
{
	static const char *const keys[] = {
		"backend", "id", "path", "server", "wait", NULL
	};
	struct vmm_config *cfg = st->cfg;
	struct chardev_config *c;
	struct qemu_opts o;
	const char *backend, *id, *path, *v;
	bool server = false, wait = true;
	int i, ret;

	ret = parse_opts(st, "-chardev", arg, &o);
	if (ret < 0)
		return ret;
	backend = implied(&o, "backend");
	if (!backend || strcmp(backend, "socket")) {
		ret = fail(st, "-chardev: backend '%s' is not supported (only socket)",
			   backend ? backend : "");
		goto out;
	}
	if (qemu_opts_get(&o, "host") || qemu_opts_get(&o, "port")) {
		ret = fail(st, "-chardev socket: only unix sockets (path=) are supported");
		goto out;
	}
	ret = check_keys(st, "-chardev socket", &o, keys);
	if (ret < 0)
		goto out;
	id = qemu_opts_get(&o, "id");
	if (!id || !*id) {
		ret = fail(st, "-chardev socket: no id given");
		goto out;
	}
	path = qemu_opts_get(&o, "path");
	if (!path || !*path) {
		ret = fail(st, "-chardev socket,id=%s: no path given", id);
		goto out;
	}
	v = qemu_opts_get(&o, "server");
	if (v && (ret = parse_bool(st, "-chardev socket", "server", v, &server)) < 0)
		goto out;
	v = qemu_opts_get(&o, "wait");
	if (v && (ret = parse_bool(st, "-chardev socket", "wait", v, &wait)) < 0)
		goto out;
	for (i = 0; i < cfg->nchardevs; i++) {
		if (!strcmp(cfg->chardevs[i].id, id)) {
			ret = fail(st, "-chardev: duplicate id '%s'", id);
			goto out;
		}
	}
	if (cfg->nchardevs == VMM_MAX_CHARDEVS) {
		ret = fail(st, "-chardev: more than %d chardevs", VMM_MAX_CHARDEVS);
		goto out;
	}
	c = &cfg->chardevs[cfg->nchardevs];
	c->id = strdup(id);
	c->path = strdup(path);
	if (!c->id || !c->path) {
		free(c->id);
		free(c->path);
		memset(c, 0, sizeof(*c));
		ret = fail(st, "-chardev: out of memory");
		goto out;
	}
	c->server = server;
	c->wait = wait;
	cfg->nchardevs++;
out:
	qemu_opts_free(&o);
	return ret;
}

static int handle_serial(struct parse_state *st, const char *arg)
{
	if (strcmp(arg, "stdio") && strcmp(arg, "mon:stdio"))
		return fail(st, "-serial: only 'stdio' and 'mon:stdio' are supported, got '%s'",
			    arg);
	if (st->serial_given)
		return fail(st, "-serial: only one serial port is supported");
	st->serial_given = true;
	return 0;
}

static int handle_nographic(struct parse_state *st, const char *arg)
{
	/* There is no display; the serial port is on stdio regardless. */
	(void)st;
	(void)arg;
	return 0;
}

static int handle_display(struct parse_state *st, const char *arg)
{
	if (strcmp(arg, "none"))
		return fail(st, "-display: only 'none' is supported, got '%s'", arg);
	return 0;
}

static int handle_vga(struct parse_state *st, const char *arg)
{
	if (strcmp(arg, "none"))
		return fail(st, "-vga: only 'none' is supported, got '%s'", arg);
	return 0;
}

static int handle_nodefaults(struct parse_state *st, const char *arg)
{
	/* We never add default devices nor read a user config file. */
	(void)st;
	(void)arg;
	return 0;
}

static int handle_no_reboot(struct parse_state *st, const char *arg)
{
	/* A guest reboot ends the VMM: the behaviour -no-reboot asks for. */
	(void)st;
	(void)arg;
	return 0;
}

static int handle_name(struct parse_state *st, const char *arg)
{
	/* The guest name only labels QEMU windows and monitors, which we
	 * have none of. */
	(void)st;
	(void)arg;
	return 0;
}

static int handle_trace(struct parse_state *st, const char *arg)
{
	static const char *const keys[] = { "enable", NULL };
	struct vmm_config *cfg = st->cfg;
	struct qemu_opts o;
	const char *pat;
	int ret;

	/* Only validated here; cfg keeps the string as written. events= and
	 * file= would need a trace-events file and a log file we lack. */
	ret = parse_opts(st, "-trace", arg, &o);
	if (ret < 0)
		return ret;
	ret = check_keys(st, "-trace", &o, keys);
	if (ret < 0)
		goto out;
	pat = implied(&o, "enable");
	if (!pat || !*pat) {
		ret = fail(st, "-trace: no pattern given");
		goto out;
	}
	if (cfg->ntraces == (int)(sizeof(cfg->traces) / sizeof(cfg->traces[0]))) {
		ret = fail(st, "-trace: more than %d patterns", cfg->ntraces);
		goto out;
	}
	cfg->traces[cfg->ntraces] = strdup(arg);
	if (!cfg->traces[cfg->ntraces]) {
		ret = fail(st, "-trace: out of memory");
		goto out;
	}
	cfg->ntraces++;
out:
	qemu_opts_free(&o);
	return ret;
}

static int handle_verbose(struct parse_state *st, const char *arg)
{
	(void)arg;
	if (st->cfg->log_level < LOG_DEBUG)
		st->cfg->log_level++;
	return 0;
}

static int handle_quiet(struct parse_state *st, const char *arg)
{
	(void)arg;
	st->cfg->log_level = LOG_ERROR;
	return 0;
}

static int handle_help(struct parse_state *st, const char *arg);

static int handle_version(struct parse_state *st, const char *arg)
{
	(void)st;
	(void)arg;
	printf("vmm %s\n", VMM_VERSION);
	return CMDLINE_VERSION;
}

static const struct option_desc options[] = {
	{ "kernel", "PATH", handle_kernel, "guest kernel: bzImage, or ELF vmlinux (PVH entry); required" },
	{ "initrd", "PATH", handle_initrd, "initial ramdisk" },
	{ "append", "CMDLINE", handle_append, "kernel command line" },
	{ "m", "SIZE|size=SIZE", handle_m, "guest RAM, MiB unless suffixed k/M/G/T (default 512M, at most 1T)" },
	{ "smp", "N|cpus=N[,sockets=S][,cores=C][,threads=T][,maxcpus=N]", handle_smp, "number of vCPUs, 1..64" },
	{ "object", "memory-backend-memfd,id=ID,size=SIZE[,share=on|off][,hugetlb=on|off][,hugetlbsize=SIZE]", handle_object, "memfd memory backend (share defaults to on)" },
	{ "object", "memory-backend-file,id=ID,size=SIZE,mem-path=PATH[,share=on|off]", NULL, "file memory backend (share defaults to off)" },
	{ "numa", "node[,nodeid=0][,cpus=..][,memdev=ID]", handle_numa, "the one NUMA node; memdev= picks the RAM backend" },
	{ "machine", "TYPE[,accel=kvm][,memory-backend=ID][,...]", handle_machine, "q35, pc or microvm, all meaning our machine" },
	{ "M", "TYPE[,...]", handle_machine, NULL },
	{ "chardev", "socket,id=ID,path=PATH[,server=on|off][,wait=on|off]", handle_chardev, "unix socket for a vhost-user device" },
	{ "device", "isa-debug-exit[,iobase=ADDR][,iosize=1|2|4]", handle_device, "QEMU's debug exit port (default iobase=0x501, iosize=2)" },
	{ "device", "TYPE,chardev=ID,...", NULL, "vhost-user device, e.g. vhost-user-fs-pci, vhost-user-blk-pci" },
	{ "serial", "stdio|mon:stdio", handle_serial, "serial port on stdio (always the case)" },
	{ "nographic", NULL, handle_nographic, "accepted: there is no display" },
	{ "display", "none", handle_display, "accepted: there is no display" },
	{ "vga", "none", handle_vga, "accepted: there is no VGA" },
	{ "enable-kvm", NULL, handle_enable_kvm, "accepted: KVM is always used" },
	{ "accel", "kvm[,...]", handle_accel, "accepted: KVM is always used" },
	{ "cpu", "host|max[,...]", handle_cpu, "accepted: the guest sees the host CPU" },
	{ "nodefaults", NULL, handle_nodefaults, "accepted: there are no default devices" },
	{ "no-user-config", NULL, handle_nodefaults, "accepted: no config file is read" },
	{ "no-reboot", NULL, handle_no_reboot, "accepted: a guest reboot exits" },
	{ "name", "NAME", handle_name, "accepted: nothing displays the name" },
	{ "trace", "PATTERN|enable=PATTERN", handle_trace, "enable trace events matching PATTERN (e.g. vhost_user*)" },
	{ "verbose", NULL, handle_verbose, "more log messages (twice: debug)" },
	{ "v", NULL, handle_verbose, NULL },
	{ "quiet", NULL, handle_quiet, "log errors only" },
	{ "q", NULL, handle_quiet, NULL },
	{ "help", NULL, handle_help, "this text" },
	{ "h", NULL, handle_help, NULL },
	{ "version", NULL, handle_version, "print the version" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int handle_help(struct parse_state *st, const char *arg)
{
	size_t i;

	(void)st;
	(void)arg;
	printf("usage: vmm -kernel PATH [options]\n"
	       "A KVM VMM for vhost-user devices taking QEMU's option syntax.\n"
	       "Options may be spelled -opt or --opt, and --opt=VALUE works.\n\n");
	for (i = 0; i < NOPTIONS; i++) {
		const struct option_desc *d = &options[i];
		char spell[160];

		if (!d->help)
			continue;
		snprintf(spell, sizeof(spell), "-%s%s%s", d->name,
			 d->arg ? " " : "", d->arg ? d->arg : "");
		if (strlen(spell) > 30)
			printf("  %s\n  %30s  %s\n", spell, "", d->help);
		else
			printf("  %-30s  %s\n", spell, d->help);
	}
	printf("\n-M is -machine, -h is -help, -v is -verbose, -q is -quiet.\n");
	return CMDLINE_HELP;
}

static const struct option_desc *find_option(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (options[i].handle && strlen(options[i].name) == len &&
		    !strncmp(options[i].name, name, len))
			return &options[i];
	return NULL;
}

static int resolve_ram(struct parse_state *st)
{
	struct vmm_config *cfg = st->cfg;
	const char *ref = st->numa_memdev ? st->numa_memdev : st->machine_memdev;
	const char *src = st->numa_memdev ? "-numa node,memdev" : "-machine memory-backend";
	struct mem_backend *b;
	char s1[32], s2[32];

	if (st->numa_memdev && st->machine_memdev &&
	    strcmp(st->numa_memdev, st->machine_memdev))
		return fail(st, "-numa node,memdev=%s and -machine memory-backend=%s name different backends for the one RAM",
			    st->numa_memdev, st->machine_memdev);
	if (!ref) {
		/* Without a backend RAM is still a shared memfd, because a
		 * vhost-user backend has to map it. */
		cfg->ram.size = st->mem_given ? st->mem_size : VMM_DEFAULT_RAM;
		cfg->ram.share = true;
		return 0;
	}
	b = find_backend(st, ref);
	if (!b)
		return fail(st, "%s: memory backend '%s' is not defined", src, ref);
	if (st->mem_given && b->size != st->mem_size)
		return fail(st, "memory backend '%s' size %s does not match -m %s",
			    b->id, format_size(b->size, s1, sizeof(s1)),
			    format_size(st->mem_size, s2, sizeof(s2)));
	cfg->ram.size = b->size;
	cfg->ram.share = b->share;
	cfg->ram.hugetlb = b->hugetlb;
	cfg->ram.hugetlbsize = b->hugetlb ? b->hugetlbsize : 0;
	/* Hand the strings over with the opts that own them. */
	cfg->ram_backend = b->opts;
	memset(&b->opts, 0, sizeof(b->opts));
	cfg->ram.mem_path = b->mem_path;
	cfg->ram.backend_id = b->id;
	return 0;
}

static int check_device_refs(struct parse_state *st)
{
	struct vmm_config *cfg = st->cfg;
	int i, j;

	/* QEMU creates chardevs before devices, so order on the line does
	 * not matter and the check waits until everything is parsed. */
	for (i = 0; i < cfg->ndevices; i++) {
		const struct qemu_opts *o = &cfg->devices[i].opts;
		const char *id = qemu_opts_get(o, "chardev");

		if (!id)
			continue;
		for (j = 0; j < cfg->nchardevs; j++)
			if (!strcmp(cfg->chardevs[j].id, id))
				break;
		if (j == cfg->nchardevs)
			return fail(st, "-device %s: chardev '%s' is not defined",
				    o->type, id);
	}
	return 0;
}

static int parse_args(struct parse_state *st, int argc, char **argv)
{
	int i, ret;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *val = NULL;
		const struct option_desc *d;
		size_t len;

		if (a[0] != '-' || !a[1])
			return fail(st, "unexpected argument '%s'", a);
		name = a + 1;
		if (*name == '-')
			name++;
		len = strlen(name);
		if (name != a + 1) {
			const char *eq = strchr(name, '=');

			if (eq) {
				len = (size_t)(eq - name);
				val = eq + 1;
			}
		}
		d = find_option(name, len);
		if (!d)
			return fail(st, "unknown option '%s'", a);
		if (d->arg && !val) {
			if (i + 1 >= argc)
				return fail(st, "-%s: missing argument", d->name);
			val = argv[++i];
		} else if (!d->arg && val) {
			return fail(st, "-%s: takes no argument", d->name);
		}
		ret = d->handle(st, val);
		if (ret != 0)
			return ret;
	}
	ret = resolve_ram(st);
	if (ret < 0)
		return ret;
	ret = check_device_refs(st);
	if (ret < 0)
		return ret;
	if (!st->cfg->kernel)
		return fail(st, "no kernel given: use -kernel PATH");
	return CMDLINE_RUN;
}

int cmdline_parse(struct vmm_config *cfg, int argc, char **argv, char *err,
		  size_t errlen)
{
	struct parse_state st = {
		.cfg = cfg, .err = err, .errlen = errlen,
	};
	int i, ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ncpus = 1;
	cfg->log_level = LOG_WARN;
	if (errlen)
		err[0] = '\0';

	ret = parse_args(&st, argc, argv);

	for (i = 0; i < st.nbackends; i++)
		qemu_opts_free(&st.backends[i].opts);
	free(st.numa_memdev);
	free(st.machine_memdev);
	if (ret != CMDLINE_RUN)
		config_free(cfg);
	return ret;
}

void config_free(struct vmm_config *cfg)
{
	int i;

	qemu_opts_free(&cfg->ram_backend);
	for (i = 0; i < cfg->ntraces; i++)
		free(cfg->traces[i]);
	for (i = 0; i < cfg->nchardevs; i++) {
		free(cfg->chardevs[i].id);
		free(cfg->chardevs[i].path);
	}
	for (i = 0; i < cfg->ndevices; i++)
		qemu_opts_free(&cfg->devices[i].opts);
	memset(cfg, 0, sizeof(*cfg));
}
