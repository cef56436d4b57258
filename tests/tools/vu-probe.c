/* vu-probe: runs this VMM's vhost-user front-end against a back-end, with
 * no guest and no KVM: init (negotiation), optionally GET_CONFIG, start
 * with a fake memory table (a memfd) and fake rings inside it plus
 * kick/call eventfds, then stop - printing the protocol trace. Handy to see
 * what a back-end (virtiofsd, qemu-storage-daemon, DPDK) makes of us.
 *
 *   vu-probe --socket=PATH [--server] [--queues=N] [--queue-size=N]
 *            [--mem-mb=N] [--config=BYTES] [--timeout-ms=N] [--quiet]
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "vhost/vhost_dev.h"
#include "vhost/vhost_user.h"
#include "vhost/vhost_user_trace.h"
#include "vmm/config.h"

static bool opt(const char *arg, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) || arg[n] != '=')
		return false;
	*val = arg + n + 1;
	return true;
}

static int config_changed(void *opaque)
{
	(void)opaque;
	printf("vu-probe: back-end says the config changed\n");
	return 0;
}

int main(int argc, char **argv)
{
	static struct vhost_user vu;
	static struct vhost_dev dev;
	static struct vhost_vq_config vqs[VHOST_DEV_MAX_VQS];
	struct chardev_config chr = { .id = "probe" };
	struct vhost_mem_table mem = { 0 };
	unsigned nq = 2, qsize = 128, mem_mb = 64, config_len = 0, i;
	int timeout = 0, r, memfd, status = 1;
	uint64_t pf = VHOST_USER_PROTOCOL_FEATURES_SUPPORTED & ~(1ULL << VHOST_USER_PROTOCOL_F_CONFIG);
	bool quiet = false;
	uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
	const char *v;
	char *ram;

	for (i = 1; i < (unsigned)argc; i++) {
		const char *a = argv[i];

		if (opt(a, "--socket", &v))
			chr.path = (char *)v;
		else if (!strcmp(a, "--server"))
			chr.server = chr.wait = true;
		else if (opt(a, "--queues", &v))
			nq = (unsigned)strtoul(v, NULL, 0);
		else if (opt(a, "--queue-size", &v))
			qsize = (unsigned)strtoul(v, NULL, 0);
		else if (opt(a, "--mem-mb", &v))
			mem_mb = (unsigned)strtoul(v, NULL, 0);
		else if (opt(a, "--config", &v))
			config_len = (unsigned)strtoul(v, NULL, 0);
		else if (opt(a, "--timeout-ms", &v))
			timeout = atoi(v);
		else if (!strcmp(a, "--quiet"))
			quiet = true;
		else {
			fprintf(stderr, "usage: vu-probe --socket=PATH [--server] [--queues=N] [--queue-size=N] [--mem-mb=N] [--config=BYTES] [--timeout-ms=N] [--quiet]\n");
			return 2;
		}
	}
	if (!chr.path || !nq || nq > VHOST_DEV_MAX_VQS || !mem_mb ||
	    config_len > VHOST_USER_MAX_CONFIG_SIZE ||
	    (uint64_t)nq * 0x10000 + 0x10000 > (uint64_t)mem_mb << 20 ||
	    qsize == 0 || qsize > 4096 || (qsize & (qsize - 1))) {
		fprintf(stderr, "vu-probe: bad arguments\n");
		return 2;
	}
	if (config_len)
		pf |= 1ULL << VHOST_USER_PROTOCOL_F_CONFIG;

	/* Fake guest RAM: a shared memfd, one region at guest address 0, a
	 * marker in the first word for the back-end to find. */
	memfd = memfd_create("vu-probe-ram", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)mem_mb << 20) < 0) {
		perror("vu-probe: memfd");
		return 1;
	}
	ram = mmap(NULL, (size_t)mem_mb << 20, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED) {
		perror("vu-probe: mmap");
		return 1;
	}
	memcpy(ram, "VUPROBE!", 8);
	mem.nregions = 1;
	mem.shared = true;
	mem.regions[0] = (struct vhost_mem_region){
		.gpa = 0, .size = (uint64_t)mem_mb << 20, .mmap_offset = 0, .hva = ram, .fd = memfd,
	};

	vhost_user_init(&vu, chr.id);
	if (timeout)
		vhost_user_set_timeout(&vu, timeout);
	if (!quiet)
		vhost_user_set_trace(&vu, stdout);
	r = vhost_user_open(&vu, &chr);
	if (r < 0) {
		fprintf(stderr, "vu-probe: %s\n", vhost_user_error(&vu));
		return 1;
	}
	vhost_user_want_protocol_features(&vu, pf);
	r = vhost_dev_init(&dev, &vhost_user_backend_ops, &vu, 0, nq, ~0ULL);
	if (r < 0) {
		fprintf(stderr, "vu-probe: init: %s\n", vhost_dev_error(&dev));
		goto out;
	}
	vhost_dev_set_config_notifier(&dev, config_changed, NULL);
	printf("vu-probe: init done: features offered to the guest 0x%" PRIx64
	       ", protocol features 0x%" PRIx64 ", max queues %" PRIu64 ", memory slots %u\n",
	       dev.features, vu.protocol_features, dev.max_queues, dev.mem_slots);
	if (config_len) {
		r = vhost_dev_get_config(&dev, 0, config, config_len);
		if (r < 0) {
			fprintf(stderr, "vu-probe: config: %s\n", vhost_dev_error(&dev));
			goto out_dev;
		}
	}

	/* Queue i's rings in the 64 KiB at (i + 1) * 64 KiB. */
	for (i = 0; i < nq; i++) {
		uint64_t base = (uint64_t)(i + 1) * 0x10000;

		vqs[i] = (struct vhost_vq_config){
			.ready = true, .size = (uint16_t)qsize,
			.desc_gpa = base, .avail_gpa = base + 16 * qsize,
			.used_gpa = (base + 16 * qsize + 6 + 2 * qsize + 4095) & ~4095ULL,
			.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
			.call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		};
		if (vqs[i].kick_fd < 0 || vqs[i].call_fd < 0) {
			perror("vu-probe: eventfd");
			goto out_fds;
		}
	}
	r = vhost_dev_start(&dev, dev.features, &mem, vqs);
	if (r < 0) {
		fprintf(stderr, "vu-probe: start: %s\n", vhost_dev_error(&dev));
		goto out_fds;
	}
	printf("vu-probe: started %u queues\n", nq);
	/* Serve back-end requests for a moment, as the event loop would. */
	if (vhost_dev_event_fd(&dev) >= 0) {
		struct pollfd p = { .fd = vhost_dev_event_fd(&dev), .events = POLLIN };

		while (poll(&p, 1, 50) > 0 && vhost_dev_handle_event(&dev) == 0)
			;
	}
	r = vhost_dev_stop(&dev);
	if (r < 0) {
		fprintf(stderr, "vu-probe: stop: %s\n", vhost_dev_error(&dev));
		goto out_fds;
	}
	for (i = 0; i < nq; i++)
		printf("vu-probe: queue %u stopped at %u\n", i, vhost_dev_vring_base(&dev, i));
	status = 0;
out_fds:
	for (i = 0; i < nq; i++) {
		if (vqs[i].kick_fd > 0)
			close(vqs[i].kick_fd);
		if (vqs[i].call_fd > 0)
			close(vqs[i].call_fd);
	}
out_dev:
	vhost_dev_cleanup(&dev);
out:
	vhost_user_close(&vu);
	munmap(ram, (size_t)mem_mb << 20);
	close(memfd);
	return status;
}
