#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/machine.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void on_stop(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	eventfd_t v;

	(void)events;
	eventfd_read(m->vm.stop_fd, &v);
}

/* One line of counters on stderr, whatever the log level: SIGUSR2 asks
 * for it (benchmarks sample it around a phase), and -v prints it at exit. */
static void print_stats(struct machine *m)
{
	uint64_t io = 0, mmio = 0, other = 0;
	char line[160];
	unsigned i;
	int n;

	for (i = 0; i < m->ncpus; i++) {
		io += __atomic_load_n(&m->vcpus[i].exits_io, __ATOMIC_RELAXED);
		mmio += __atomic_load_n(&m->vcpus[i].exits_mmio, __ATOMIC_RELAXED);
		other += __atomic_load_n(&m->vcpus[i].exits_other, __ATOMIC_RELAXED);
	}
	n = snprintf(line, sizeof(line), "vmm: stats: userspace_exits=%llu io=%llu mmio=%llu other=%llu\n",
		     (unsigned long long)(io + mmio + other), (unsigned long long)io,
		     (unsigned long long)mmio, (unsigned long long)other);
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

static void on_signal(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(m->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		print_stats(m);
		return;
	}
	vm_request_stop(&m->vm, 128 + (int)si.ssi_signo, LOG_WARN, "terminating on signal %u (%s)",
			si.ssi_signo, strsignal(si.ssi_signo));
}

static int setup_signals(struct machine *m)
{
	sigset_t set;

	/* Blocked here, before any vCPU thread exists, so that every thread
	 * inherits the mask and only the signalfd sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	sigdelset(&set, SIGUSR1);
	m->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->signal_fd < 0)
		return -errno;
	m->signal_watch = (struct loop_watch){ m->signal_fd, on_signal, m };
	return loop_add(&m->loop, &m->signal_watch, EPOLLIN);
}

static void warn_about_console(const char *append)
{
	if (!append || !strstr(append, "console="))
		pr_warn("no console= in -append: the guest's messages will not reach the serial console (add console=ttyS0)");
}

/*
 * ---- PCI ----
 * The host bridge and bus 0, after the platform devices (pm.c owns port
 * 0xcf9, which the bus takes over and hands back byte by byte). Fills the
 * ACPI description of the bridge from the same layout.
 */

/* MAXPHYADDR as the guest will see it: vCPUs get KVM's supported CPUID
 * leaf 0x80000008 unchanged in EAX. Newer KVMs also report the largest
 * guest-physical address they can map in EAX[23:16] (GuestPhysBits). */
static unsigned guest_phys_bits(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid = kvm_supported_cpuid(vm);
	unsigned bits = 0;

	if (!cpuid)
		return 0;
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != 0x80000008)
			continue;
		bits = e->eax & 0xff;
		if ((e->eax >> 16 & 0xff) && (e->eax >> 16 & 0xff) < bits)
			bits = e->eax >> 16 & 0xff;
	}
	free(cpuid);
	return bits;
}

static int setup_pci(struct machine *m, struct acpi_pci *acpi_pci, char *err,
		     size_t errlen)
{
	const struct ram_region *top = &m->ram.regions[m->ram.nregions - 1];
	struct pci_bus_config pc = {
		.pio = &m->vm.pio, .mmio = &m->vm.mmio,
		.cf9_fn = pm_reset_io, .cf9_opaque = &m->pm,
	};
	const struct pci_layout *l = &pc.layout;
	int ret;

	pci_layout_init(&pc.layout, top->gpa + top->size, guest_phys_bits(&m->vm));
	bus_unregister(&m->vm.pio, ACPI_RESET_PORT);
	ret = pci_bus_init(&m->pci, &pc);
	if (ret < 0) {
		snprintf(err, errlen, "PCI host bridge: %s", strerror(-ret));
		return ret;
	}
	*acpi_pci = (struct acpi_pci){
		.ecam_base = l->ecam_base,
		.bus_start = 0,
		.bus_end = (uint8_t)((l->ecam_size >> 20) - 1),
		.io_base = (uint16_t)l->io.base, .io_size = (uint32_t)l->io.size,
		.mmio32_base = l->mmio32.base, .mmio32_size = l->mmio32.size,
		.mmio64_base = l->mmio64.base, .mmio64_size = l->mmio64.size,
	};
	pr_debug("PCI: ECAM 0x%" PRIx64 "+0x%" PRIx64 ", I/O window 0x%" PRIx64 "+0x%" PRIx64
		 ", 32-bit window 0x%" PRIx64 "+0x%" PRIx64 ", 64-bit window 0x%" PRIx64 "+0x%" PRIx64,
		 l->ecam_base, l->ecam_size, l->io.base, l->io.size, l->mmio32.base,
		 l->mmio32.size, l->mmio64.base, l->mmio64.size);
	return 0;
}

static int setup_devices(struct machine *m, char *err, size_t errlen)
{
	const struct vmm_config *cfg = m->cfg;
	int ret;

	ret = serial_attach(&m->serial, SERIAL_COM1_PORT);
	if (!ret)
		ret = pm_attach(&m->pm, &m->vm);
	if (ret < 0) {
		snprintf(err, errlen, "platform devices: %s", strerror(-ret));
		return ret;
	}
	if (cfg->debug_exit.enabled) {
		ret = debug_exit_attach(&m->debug_exit, &m->vm, cfg->debug_exit.iobase,
					cfg->debug_exit.iosize);
		if (ret < 0) {
			snprintf(err, errlen, "-device isa-debug-exit,iobase=0x%x: %s",
				 cfg->debug_exit.iobase,
				 ret == -EEXIST ? "port range already used by another device" :
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int machine_create(struct machine *m, const struct vmm_config *cfg,
		   char *err, size_t errlen)
{
	struct acpi_pci acpi_pci;
	struct acpi_config acpi = { .ncpus = cfg->ncpus, .pci = &acpi_pci };
	struct vcpu_boot_state bs;
	struct kvm_cpuid2 *cpuid;
	unsigned i;
	long used;
	int ret;

	struct boot_files files = {
		.kernel = cfg->kernel, .initrd = cfg->initrd,
		.cmdline = cfg->append, .rsdp_gpa = ACPI_TABLES_GPA,
	};

	memset(m, 0, sizeof(*m));
	m->start_ns = now_ns();
	m->image.kernel_fd = m->image.initrd_fd = -1;
	m->cfg = cfg;
	m->signal_fd = -1;
	m->ram.fd = -1;
	m->loop.epfd = -1;
	serial_init(&m->serial, &m->vm, SERIAL_COM1_IRQ, STDOUT_FILENO);

	/* Bad files and impossible memory are the commonest mistakes: report
	 * them before touching KVM, so the message does not depend on the
	 * host. */
	ret = linux_open(&m->image, &files, cfg->ram.size, err, errlen);
	if (ret < 0)
		return ret;
	ret = guest_ram_create(&m->ram, &cfg->ram, err, errlen);
	if (ret < 0)
		return ret;
	ret = loop_init(&m->loop);
	if (ret < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(-ret));
		return ret;
	}
	ret = setup_signals(m);
	if (ret < 0) {
		snprintf(err, errlen, "signal setup: %s", strerror(-ret));
		return ret;
	}
	ret = vm_create(&m->vm, err, errlen);
	m->vm_created = true;
	if (ret < 0)
		return ret;
	if (cfg->ncpus > (unsigned)m->vm.max_vcpus) {
		snprintf(err, errlen, "-smp %u: this host's KVM supports at most %d vCPUs",
			 cfg->ncpus, m->vm.max_vcpus);
		return -EINVAL;
	}
	ret = guest_ram_map(&m->ram, &m->vm);
	if (ret < 0) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
		return ret;
	}
	ret = setup_devices(m, err, errlen);
	if (ret < 0)
		return ret;
	ret = setup_pci(m, &acpi_pci, err, errlen);
	if (ret < 0)
		return ret;
	/* vhost-user devices connect to their backends here, before the
	 * guest runs, as QEMU's device realize does. */
	ret = devices_create(&m->devices, cfg, &m->vm, &m->ram, &m->pci, &m->loop,
			     err, errlen);
	if (ret < 0)
		return ret;

	used = acpi_build(gpa_to_hva(&m->ram, ACPI_TABLES_GPA, ACPI_TABLES_SIZE),
			  ACPI_TABLES_GPA, ACPI_TABLES_SIZE, &acpi);
	if (used < 0) {
		snprintf(err, errlen, "ACPI tables: %s", strerror((int)-used));
		return (int)used;
	}
	warn_about_console(cfg->append);
	ret = linux_load(&m->image, &m->ram, &bs, err, errlen);
	linux_close(&m->image);
	if (ret < 0)
		return ret;

	cpuid = kvm_supported_cpuid(&m->vm);
	if (!cpuid) {
		ret = -errno;
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return ret;
	}
	for (i = 0; i < cfg->ncpus; i++) {
		ret = vcpu_create(&m->vcpus[i], &m->vm, i, cfg->ncpus, cpuid);
		m->ncpus = i + 1;
		if (ret < 0) {
			snprintf(err, errlen, "vCPU %u: %s", i, strerror(-ret));
			break;
		}
	}
	free(cpuid);
	if (ret < 0)
		return ret;
	ret = vcpu_set_boot_state(&m->vcpus[0], &bs);
	if (ret < 0) {
		snprintf(err, errlen, "vCPU 0 registers: %s", strerror(-ret));
		return ret;
	}

	m->stop_watch = (struct loop_watch){ m->vm.stop_fd, on_stop, m };
	ret = loop_add(&m->loop, &m->stop_watch, EPOLLIN);
	if (ret < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int machine_run(struct machine *m)
{
	unsigned i;
	int ret;

	ret = console_init(&m->console, &m->serial, &m->vm, &m->loop);
	if (ret < 0)
		pr_warn("console input unavailable: %s", strerror(-ret));
	for (i = 0; i < m->ncpus; i++) {
		ret = vcpu_start(&m->vcpus[i]);
		if (ret < 0) {
			vm_request_stop(&m->vm, 1, LOG_ERROR, "cannot start vCPU %u: %s", i, strerror(-ret));
			break;
		}
	}
	while (!vm_stopping(&m->vm)) {
		ret = loop_run_once(&m->loop, -1);
		if (ret < 0)
			vm_request_stop(&m->vm, 1, LOG_ERROR, "event loop: %s", strerror(-ret));
	}
	for (i = 0; i < m->ncpus; i++)
		vcpu_kick(&m->vcpus[i]);
	for (i = 0; i < m->ncpus; i++)
		vcpu_join(&m->vcpus[i]);
	serial_flush(&m->serial);
	console_restore(&m->console);
	if (log_get_level() >= LOG_INFO)
		print_stats(m);
	if (m->ncpus && m->vcpus[0].first_entry_ns)
		pr_info("first vCPU entry %.3f ms after launch",
			(m->vcpus[0].first_entry_ns - m->start_ns) / 1e6);
	return m->vm.stop_status;
}

void machine_destroy(struct machine *m)
{
	unsigned i;

	console_restore(&m->console);
	linux_close(&m->image);
	for (i = 0; i < m->ncpus; i++)
		vcpu_destroy(&m->vcpus[i]);
	serial_destroy(&m->serial);
	pci_bus_destroy(&m->pci);
	/* After the bus (no more BAR dispatch), before the VM (ioeventfds
	 * and irqfds are undone on it). Stopping a started device gives the
	 * rings back to nobody, but lets the backend finish cleanly. */
	devices_destroy(&m->devices);
	if (m->vm_created)
		vm_destroy(&m->vm);
	guest_ram_destroy(&m->ram);
	if (m->signal_fd >= 0)
		close(m->signal_fd);
	loop_destroy(&m->loop);
}
