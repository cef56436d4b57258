/* vmm: boot a Linux guest under KVM with QEMU's command-line syntax. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "lib/log.h"
#include "vmm/config.h"
#include "vmm/machine.h"

int main(int argc, char **argv)
{
	static struct machine m;  /* large (vCPU array): keep it off the stack */
	struct vmm_config cfg;
	char err[512] = "";
	struct timespec launch;
	int ret, status;

	clock_gettime(CLOCK_MONOTONIC, &launch);
	/* A console reader that went away must not kill the VM. */
	signal(SIGPIPE, SIG_IGN);

	ret = cmdline_parse(&cfg, argc, argv, err, sizeof(err));
	if (ret < 0) {
		pr_err("%s", err);
		config_free(&cfg);
		return 1;
	}
	if (ret == CMDLINE_HELP || ret == CMDLINE_VERSION) {
		config_free(&cfg);
		return 0;
	}
	log_set_level(cfg.log_level);

	ret = machine_create(&m, &cfg, err, sizeof(err));
	if (ret < 0) {
		pr_err("%s", err);
		machine_destroy(&m);
		config_free(&cfg);
		return 1;
	}
	/* Boot-time figures count from here, not from VM creation. */
	m.start_ns = (uint64_t)launch.tv_sec * 1000000000ULL + launch.tv_nsec;
	status = machine_run(&m);
	log_msg(m.vm.stop_level, "%s", m.vm.stop_reason);
	machine_destroy(&m);
	config_free(&cfg);
	return status;
}
