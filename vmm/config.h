/* What the command line asked for: filled by cmdline_parse(), read by the
 * machine assembly. Pure data, no resources. */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm/memory.h"
#include "lib/log.h"
#include "lib/qemu_opts.h"
#include "vhost/vhost_user.h"

#define VMM_MAX_CPUS 64
#define VMM_DEFAULT_RAM (512ULL << 20)
/* More guest RAM than this cannot be backed here; -m says so up front. */
#define VMM_MAX_RAM (1ULL << 40)
#define VMM_MAX_CHARDEVS 16
#define VMM_MAX_DEVICES 16

struct debug_exit_config {
	bool enabled;
	uint16_t iobase;
	uint8_t iosize;        /* 1, 2 or 4 */
};

/* -device TYPE,... other than the ones that map onto fields above; kept as
 * raw options so each device type validates its own keys. */
struct device_config {
	struct qemu_opts opts;
};

struct vmm_config {
	/* kernel, initrd and append point into the argv given to
	 * cmdline_parse(); every other string is owned by the config. */
	const char *kernel;
	const char *initrd;
	const char *append;
	struct ram_config ram;
	/* The -object that backs RAM, if any: owns the strings ram.mem_path
	 * and ram.backend_id point into. */
	struct qemu_opts ram_backend;
	unsigned ncpus;
	struct debug_exit_config debug_exit;
	enum log_level log_level;
	/* -trace patterns, e.g. "vhost-user" or "enable=vhost_user*" */
	int ntraces;
	char *traces[8];
	int nchardevs;
	struct chardev_config chardevs[VMM_MAX_CHARDEVS];
	int ndevices;
	struct device_config devices[VMM_MAX_DEVICES];
};

enum cmdline_result {
	CMDLINE_RUN = 0,     /* boot a VM with the config */
	CMDLINE_HELP = 1,    /* usage printed to stdout, exit 0 */
	CMDLINE_VERSION = 2, /* version printed to stdout, exit 0 */
};

/* Parses argv (QEMU syntax; argv[0] is the program name) into cfg. Returns a
 * cmdline_result, or a negative value with a one-line message (no trailing
 * newline) in err. Unless it returns CMDLINE_RUN, cfg holds nothing to free;
 * calling config_free() on it anyway is harmless. */
int cmdline_parse(struct vmm_config *cfg, int argc, char **argv, char *err,
		  size_t errlen);
void config_free(struct vmm_config *cfg);

/* QEMU size syntax: "512" (MiB when default_suffix is 'M'), "512M", "4G",
 * "1T", "4096k", "1.5G". Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, char default_suffix, uint64_t *out);

#endif
