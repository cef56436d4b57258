#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/qemu_opts.h"
#include "tests/unit/tap.h"
#include "vmm/config.h"

#define ARGV(...) ((char *[]){ "vmm", __VA_ARGS__, NULL })
#define ERRLEN 256

static int argc_of(char **argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

static int parse(struct vmm_config *cfg, char **argv, char *err)
{
	return cmdline_parse(cfg, argc_of(argv), argv, err, ERRLEN);
}

static int streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* One test point: argv fails with exactly want as the message. */
static void check_err(struct tap *t, char **argv, const char *want)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	int ret = parse(&cfg, argv, err);

	ok(t, ret < 0 && !strcmp(err, want), "error \"%s\" (got %d \"%s\")",
	   want, ret, err);
	config_free(&cfg);
}

/* One test point: argv parses for a run. */
static void check_run(struct tap *t, char **argv, const char *what)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	int ret = parse(&cfg, argv, err);

	ok(t, ret == CMDLINE_RUN, "%s (got %d \"%s\")", what, ret, err);
	config_free(&cfg);
}

/* Runs cmdline_parse with stdout captured into out. */
static int parse_captured(char **argv, char *out, size_t outlen)
{
	struct vmm_config cfg;
	char err[ERRLEN];
	FILE *tmp = tmpfile();
	int saved, ret;
	size_t n;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fileno(tmp), STDOUT_FILENO);
	ret = parse(&cfg, argv, err);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, outlen - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	config_free(&cfg);
	return ret;
}

static void test_virtiofsd(struct tap *t)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	const struct qemu_opts *o;
	int ret;

	/* virtiofsd's README, plus what any script adds */
	ret = parse(&cfg, ARGV("-kernel", "/boot/vmlinuz", "-append", "console=ttyS0,115200 rw",
			       "-chardev", "socket,id=char0,path=/tmp/vhostqemu",
			       "-device", "vhost-user-fs-pci,queue-size=1024,chardev=char0,tag=myfs",
			       "-m", "4G",
			       "-object", "memory-backend-file,id=mem,size=4G,mem-path=/dev/shm,share=on",
			       "-numa", "node,memdev=mem"), err);
	ok(t, ret == CMDLINE_RUN, "virtiofsd command line parses (%s)", err);
	if (ret != CMDLINE_RUN)
		return;
	ok(t, streq(cfg.kernel, "/boot/vmlinuz"), "kernel");
	ok(t, streq(cfg.append, "console=ttyS0,115200 rw"), "-append keeps its commas");
	ok(t, cfg.initrd == NULL, "no initrd");
	ok(t, cfg.ram.size == 4ULL << 30, "RAM 4G");
	ok(t, cfg.ram.share, "share=on");
	ok(t, !cfg.ram.hugetlb, "no hugetlb");
	ok(t, streq(cfg.ram.mem_path, "/dev/shm"), "mem-path");
	ok(t, streq(cfg.ram.backend_id, "mem"), "backend id");
	ok(t, cfg.nchardevs == 1 && streq(cfg.chardevs[0].id, "char0") &&
	   streq(cfg.chardevs[0].path, "/tmp/vhostqemu"), "chardev char0");
	ok(t, !cfg.chardevs[0].server && cfg.chardevs[0].wait,
	   "chardev defaults: client, wait");
	ok(t, cfg.ndevices == 1, "one device");
	o = &cfg.devices[0].opts;
	ok(t, streq(o->type, "vhost-user-fs-pci"), "device type");
	ok(t, streq(qemu_opts_get(o, "queue-size"), "1024") &&
	   streq(qemu_opts_get(o, "chardev"), "char0") &&
	   streq(qemu_opts_get(o, "tag"), "myfs"), "device keys kept raw");
	ok(t, cfg.ncpus == 1, "one CPU by default");
	ok(t, cfg.log_level == LOG_WARN, "log level defaults to warn");
	ok(t, !cfg.debug_exit.enabled, "no debug exit");
	config_free(&cfg);
	config_free(&cfg);
	ok(t, cfg.ndevices == 0 && cfg.ram_backend.n == 0, "config_free twice is harmless");
}

static void test_defaults(struct tap *t)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	int ret;

	ret = parse(&cfg, ARGV("-kernel", "k"), err);
	ok(t, ret == CMDLINE_RUN && cfg.ram.size == VMM_DEFAULT_RAM &&
	   cfg.ram.share && !cfg.ram.mem_path && !cfg.ram.backend_id &&
	   cfg.ncpus == 1 && !cfg.nchardevs && !cfg.ndevices && !cfg.ntraces,
	   "defaults: 512M shared memfd RAM, 1 CPU, nothing else");
	config_free(&cfg);
}

static void test_ignored(struct tap *t)
{
	check_run(t, ARGV("-kernel", "k", "-enable-kvm", "-accel", "kvm",
			  "-machine", "q35,accel=kvm", "-M", "pc", "-cpu", "host",
			  "-nodefaults", "-no-user-config", "-display", "none",
			  "-vga", "none", "-no-reboot", "-nographic",
			  "-serial", "mon:stdio", "-name", "guest0"),
		  "accepted-and-ignored options");
	check_run(t, ARGV("-kernel", "k", "-machine", "microvm", "-cpu", "max,+vmx",
			  "-accel", "kvm,kernel-irqchip=on", "-serial", "stdio"),
		  "microvm, -cpu max with features, -accel kvm with keys");
	check_run(t, ARGV("-kernel", "k", "-machine", "type=q35,accel=kvm:tcg,usb=off"),
		  "-machine type=, accel fallback list starting with kvm, other keys");
	check_run(t, ARGV("-kernel", "k", "-M", "pc-q35-8.2"), "versioned q35");
	check_run(t, ARGV("-kernel", "k", "-accel", "kvm", "-accel", "tcg"),
		  "later -accel is an unused fallback");
	check_err(t, ARGV("-kernel", "k", "-accel", "tcg"),
		  "-accel: accelerator 'tcg' is not supported (only kvm)");
	check_err(t, ARGV("-kernel", "k", "-machine", "q35,accel=tcg"),
		  "-machine: accelerator 'tcg' is not supported (only kvm)");
	check_err(t, ARGV("-kernel", "k", "-machine", "virt"),
		  "-machine: machine type 'virt' is not supported (use q35, pc or microvm)");
	check_err(t, ARGV("-kernel", "k", "-cpu", "qemu64,+x2apic"),
		  "-cpu: CPU model 'qemu64' is not supported (use host or max)");
	check_err(t, ARGV("-kernel", "k", "-display", "gtk"),
		  "-display: only 'none' is supported, got 'gtk'");
	check_err(t, ARGV("-kernel", "k", "-vga", "std"),
		  "-vga: only 'none' is supported, got 'std'");
	check_err(t, ARGV("-kernel", "k", "-serial", "pty"),
		  "-serial: only 'stdio' and 'mon:stdio' are supported, got 'pty'");
	check_err(t, ARGV("-kernel", "k", "-serial", "stdio", "-serial", "stdio"),
		  "-serial: only one serial port is supported");
	check_err(t, ARGV("-kernel", "k", "-pidfile", "/tmp/p"),
		  "unknown option '-pidfile'");
	check_err(t, ARGV("-kernel", "k", "-no-shutdown"),
		  "unknown option '-no-shutdown'");
}

static void test_spellings(struct tap *t)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	int ret;

	ret = parse(&cfg, ARGV("--kernel", "k", "--m=1G", "--smp", "2",
			       "--append=a=b,c d", "--initrd=i", "--nographic",
			       "--enable-kvm"), err);
	ok(t, ret == CMDLINE_RUN && streq(cfg.kernel, "k") &&
	   cfg.ram.size == 1ULL << 30 && cfg.ncpus == 2 &&
	   streq(cfg.append, "a=b,c d") && streq(cfg.initrd, "i"),
	   "-- spellings and --opt=value (%s)", err);
	config_free(&cfg);
	ret = parse(&cfg, ARGV("-kernel", "a", "-kernel", "b", "-m", "1G", "-m", "2G"), err);
	ok(t, ret == CMDLINE_RUN && streq(cfg.kernel, "b") && cfg.ram.size == 2ULL << 30,
	   "repeated options: last wins");
	config_free(&cfg);
	check_err(t, ARGV("-kernel", "k", "--nographic=yes"),
		  "-nographic: takes no argument");
	check_err(t, ARGV("-kernel", "k", "-m=1G"), "unknown option '-m=1G'");
	check_err(t, ARGV("-kernel", "k", "-foo"), "unknown option '-foo'");
	check_err(t, ARGV("-kernel", "k", "--foo"), "unknown option '--foo'");
	check_err(t, ARGV("-kernel", "k", "--"), "unknown option '--'");
	check_err(t, ARGV("-kernel", "k", "stray"), "unexpected argument 'stray'");
	check_err(t, ARGV("-kernel", "k", "-"), "unexpected argument '-'");
	check_err(t, ARGV("-kernel", "k", "-m"), "-m: missing argument");
	check_err(t, ARGV("-kernel"), "-kernel: missing argument");
	check_err(t, ARGV("-m", "1G"), "no kernel given: use -kernel PATH");
	check_err(t, ARGV("-kernel", ""), "-kernel: empty path");
}

static void test_mem(struct tap *t)
{
	static const struct {
		const char *arg;
		unsigned long long size;
	} good[] = {
		{ "512", 512ULL << 20 }, { "512M", 512ULL << 20 },
		{ "4G", 4ULL << 30 }, { "size=4G", 4ULL << 30 },
		{ "1.5G", 3ULL << 29 }, { "1G,size=2G", 2ULL << 30 },
		{ "1T", 1ULL << 40 }, { "1.5k", 4096 },
	};
	struct vmm_config cfg;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int ret = parse(&cfg, ARGV("-kernel", "k", "-m", (char *)good[i].arg), err);

		ok(t, ret == CMDLINE_RUN && cfg.ram.size == good[i].size,
		   "-m %s = %llu bytes", good[i].arg, good[i].size);
		config_free(&cfg);
	}
	check_err(t, ARGV("-kernel", "k", "-m", "0"), "-m: size must not be 0");
	check_err(t, ARGV("-kernel", "k", "-m", "99999999G"),
		  "-m: size 99999999G is too large (at most 1T)");
	check_err(t, ARGV("-kernel", "k", "-m", "99999999T"),
		  "-m: size 99999999T is too large (at most 1T)");
	check_err(t, ARGV("-kernel", "k", "-m", "2T"),
		  "-m: size 2T is too large (at most 1T)");
	check_err(t, ARGV("-kernel", "k", "-m", "lots"), "-m: invalid size 'lots'");
	check_err(t, ARGV("-kernel", "k", "-m", "-1"), "-m: invalid size '-1'");
	check_err(t, ARGV("-kernel", "k", "-m", "4G,maxmem=8G"),
		  "-m: unknown parameter 'maxmem'");
}

static void test_smp(struct tap *t)
{
	static const struct {
		const char *arg;
		unsigned n;
	} good[] = {
		{ "2", 2 }, { "cpus=4", 4 }, { "4,sockets=2,cores=2,threads=1", 4 },
		{ "sockets=2,cores=2", 4 }, { "8,sockets=2", 8 },
		{ "4,threads=2", 4 }, { "4,maxcpus=4", 4 }, { "64", 64 },
		{ "cpus=2,cores=2", 2 },
	};
	struct vmm_config cfg;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int ret = parse(&cfg, ARGV("-kernel", "k", "-smp", (char *)good[i].arg), err);

		ok(t, ret == CMDLINE_RUN && cfg.ncpus == good[i].n,
		   "-smp %s = %u CPUs (%s)", good[i].arg, good[i].n, err);
		config_free(&cfg);
	}
	check_err(t, ARGV("-kernel", "k", "-smp", "0"),
		  "-smp: cpus must be at least 1, got 0");
	check_err(t, ARGV("-kernel", "k", "-smp", "65"),
		  "-smp: at most 64 CPUs are supported, got 65");
	check_err(t, ARGV("-kernel", "k", "-smp", "sockets=16,cores=8"),
		  "-smp: at most 64 CPUs are supported, got 128");
	check_err(t, ARGV("-kernel", "k", "-smp", "two"), "-smp: invalid cpus 'two'");
	check_err(t, ARGV("-kernel", "k", "-smp", "4,sockets=3"),
		  "-smp: sockets (3) * cores (1) * threads (1) != maxcpus (4)");
	check_err(t, ARGV("-kernel", "k", "-smp", "4,sockets=2,cores=2,threads=2"),
		  "-smp: sockets (2) * cores (2) * threads (2) != maxcpus (4)");
	check_err(t, ARGV("-kernel", "k", "-smp", "2,maxcpus=4"),
		  "-smp: maxcpus (4) > cpus (2) needs CPU hotplug, which is not supported");
	check_err(t, ARGV("-kernel", "k", "-smp", "4,maxcpus=2"),
		  "-smp: maxcpus (2) must not be less than cpus (4)");
	check_err(t, ARGV("-kernel", "k", "-smp", "2,dies=1"),
		  "-smp: unknown parameter 'dies'");
	check_err(t, ARGV("-kernel", "k", "-smp", "2,cores=0"),
		  "-smp: cores must be at least 1, got 0");
}

static void test_backends(struct tap *t)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	int ret;

	ret = parse(&cfg, ARGV("-numa", "node,memdev=m0", "-kernel", "k",
			       "-object", "memory-backend-memfd,id=m0,size=1G"), err);
	ok(t, ret == CMDLINE_RUN && cfg.ram.size == 1ULL << 30 && cfg.ram.share &&
	   !cfg.ram.mem_path && streq(cfg.ram.backend_id, "m0"),
	   "reference before definition; backend size is RAM size; memfd shares by default (%s)",
	   err);
	config_free(&cfg);

	ret = parse(&cfg, ARGV("-kernel", "k", "-m", "2G", "-machine", "q35,memory-backend=m",
			       "-object", "memory-backend-memfd,id=m,size=2048M,share=off,hugetlb=on,hugetlbsize=2M"),
		    err);
	ok(t, ret == CMDLINE_RUN && cfg.ram.size == 2ULL << 30 && !cfg.ram.share &&
	   cfg.ram.hugetlb && cfg.ram.hugetlbsize == 2ULL << 20,
	   "-machine memory-backend=, share=off, hugetlb (%s)", err);
	config_free(&cfg);

	ret = parse(&cfg, ARGV("-kernel", "k", "-numa", "node,memdev=f",
			       "-object", "memory-backend-file,id=f,size=1G,mem-path=/dev/hugepages/a,,b"),
		    err);
	ok(t, ret == CMDLINE_RUN && !cfg.ram.share &&
	   streq(cfg.ram.mem_path, "/dev/hugepages/a,b"),
	   "file backend: private by default, ',,' in mem-path (%s)", err);
	config_free(&cfg);

	ret = parse(&cfg, ARGV("-kernel", "k", "-m", "1G",
			       "-object", "memory-backend-memfd,id=unused,size=4G,share=no"), err);
	ok(t, ret == CMDLINE_RUN && cfg.ram.size == 1ULL << 30 && cfg.ram.share &&
	   !cfg.ram.backend_id, "an unreferenced backend has no effect");
	config_free(&cfg);

	ret = parse(&cfg, ARGV("-kernel", "k", "-numa", "node,memdev=m",
			       "-machine", "memory-backend=m",
			       "-object", "memory-backend-memfd,id=m,size=1G,share=yes",
			       "-object", "memory-backend-memfd,id=n,size=1G"), err);
	ok(t, ret == CMDLINE_RUN && streq(cfg.ram.backend_id, "m"),
	   "-numa and -machine naming the same backend (%s)", err);
	config_free(&cfg);

	check_err(t, ARGV("-kernel", "k", "-m", "512M", "-numa", "node,memdev=mem",
			  "-object", "memory-backend-memfd,id=mem,size=1G"),
		  "memory backend 'mem' size 1G does not match -m 512M");
	check_err(t, ARGV("-kernel", "k", "-numa", "node,memdev=nope"),
		  "-numa node,memdev: memory backend 'nope' is not defined");
	check_err(t, ARGV("-kernel", "k", "-machine", "pc,memory-backend=nope"),
		  "-machine memory-backend: memory backend 'nope' is not defined");
	check_err(t, ARGV("-kernel", "k", "-numa", "node,memdev=a", "-machine", "memory-backend=b",
			  "-object", "memory-backend-memfd,id=a,size=1G",
			  "-object", "memory-backend-memfd,id=b,size=1G"),
		  "-numa node,memdev=a and -machine memory-backend=b name different backends for the one RAM");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-memfd,id=a,size=1G",
			  "-object", "memory-backend-file,id=a,size=1G,mem-path=/x"),
		  "-object: duplicate id 'a'");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-ram,id=a,size=1G"),
		  "-object: type 'memory-backend-ram' is not supported (only memory-backend-memfd and memory-backend-file)");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-memfd,size=1G"),
		  "-object memory-backend-memfd: no id given");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-memfd,id=a"),
		  "-object memory-backend-memfd,id=a: no size given");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-file,id=a,size=1G"),
		  "-object memory-backend-file,id=a: no mem-path given");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-memfd,id=a,size=1G,share=maybe"),
		  "-object memory-backend-memfd: share=maybe is not a boolean (use on or off)");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-memfd,id=a,size=1G,prealloc=on"),
		  "-object memory-backend-memfd: unknown parameter 'prealloc'");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-memfd,id=a,size=99999999G"),
		  "memory backend 'a' size 99999999G is too large (at most 1T)");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-memfd,id=a,size=0"),
		  "memory backend 'a': size must not be 0");
	check_err(t, ARGV("-kernel", "k", "-object", "memory-backend-memfd,id=a,size=1000"),
		  "memory backend 'a': size 1000 is not a multiple of 4K");
	check_err(t, ARGV("-kernel", "k", "-numa", "node", "-numa", "node"),
		  "-numa node: only one NUMA node is supported");
	check_err(t, ARGV("-kernel", "k", "-numa", "node,nodeid=1"),
		  "-numa node: nodeid must be 0, got '1'");
	check_err(t, ARGV("-kernel", "k", "-numa", "dist,src=0,dst=1,val=20"),
		  "-numa: only 'node' is supported, got 'dist'");
	check_err(t, ARGV("-kernel", "k", "-numa", "node,mem=1G"),
		  "-numa node: unknown parameter 'mem'");
}

static void test_chardev(struct tap *t)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	int ret;

	ret = parse(&cfg, ARGV("-kernel", "k",
			       "-device", "vhost-user-rng-pci,chardev=c1",
			       "-chardev", "socket,id=c0,path=/tmp/a,,b,server,nowait",
			       "-chardev", "socket,id=c1,path=/tmp/c,server=on,wait=off",
			       "-chardev", "socket,id=c2,path=/tmp/d,server=off"), err);
	ok(t, ret == CMDLINE_RUN && cfg.nchardevs == 3, "three chardevs, device before its chardev (%s)",
	   err);
	if (ret == CMDLINE_RUN) {
		ok(t, streq(cfg.chardevs[0].path, "/tmp/a,b") && cfg.chardevs[0].server &&
		   !cfg.chardevs[0].wait, "',,' in path; old server,nowait flags");
		ok(t, cfg.chardevs[1].server && !cfg.chardevs[1].wait, "server=on,wait=off");
		ok(t, !cfg.chardevs[2].server && cfg.chardevs[2].wait, "client, wait defaults on");
		ok(t, cfg.ndevices == 1 && streq(cfg.devices[0].opts.type, "vhost-user-rng-pci"),
		   "device stored");
	}
	config_free(&cfg);

	log_set_level(LOG_ERROR);
	ret = parse(&cfg, ARGV("-kernel", "k", "-chardev", "socket,id=c0,path=/s,reconnect=1"), err);
	ok(t, ret == CMDLINE_RUN, "reconnect=N is accepted, with a warning (%s)", err);
	config_free(&cfg);
	check_err(t, ARGV("-kernel", "k", "-chardev", "socket,id=c0,path=/s,reconnect-ms=soon"),
		  "-chardev socket,id=c0: reconnect-ms must be a number, got 'soon'");

	ret = parse(&cfg, ARGV("-kernel", "k", "-chardev", "socket,id=c0,path=/s",
			       "-device", "driver=vhost-user-fs-pci,chardev=c0,tag=t"), err);
	ok(t, ret == CMDLINE_RUN && streq(cfg.devices[0].opts.type, "vhost-user-fs-pci"),
	   "-device driver=TYPE lands in opts.type (%s)", err);
	config_free(&cfg);

	check_err(t, ARGV("-kernel", "k", "-device", "vhost-user-fs-pci,chardev=c0,tag=t"),
		  "-device vhost-user-fs-pci: chardev 'c0' is not defined");
	check_err(t, ARGV("-kernel", "k", "-chardev", "socket,id=c0,path=/a",
			  "-chardev", "socket,id=c0,path=/b"),
		  "-chardev: duplicate id 'c0'");
	check_err(t, ARGV("-kernel", "k", "-chardev", "pty,id=c0"),
		  "-chardev: backend 'pty' is not supported (only socket)");
	check_err(t, ARGV("-kernel", "k", "-chardev", "socket,id=c0,host=localhost,port=4444"),
		  "-chardev socket: only unix sockets (path=) are supported");
	check_err(t, ARGV("-kernel", "k", "-chardev", "socket,path=/a"),
		  "-chardev socket: no id given");
	check_err(t, ARGV("-kernel", "k", "-chardev", "socket,id=c0"),
		  "-chardev socket,id=c0: no path given");
	check_err(t, ARGV("-kernel", "k", "-chardev", "socket,id=c0,path=/a,server=sometimes"),
		  "-chardev socket: server=sometimes is not a boolean (use on or off)");
	check_err(t, ARGV("-kernel", "k", "-chardev", "socket,id=c0,path=/a,logfile=/tmp/l"),
		  "-chardev socket: unknown parameter 'logfile'");
	check_err(t, ARGV("-kernel", "k", "-device", ",chardev=c0"),
		  "-device: no device type given");
	check_err(t, ARGV("-kernel", "k", "-device", "x,=1"),
		  "-device: empty parameter name in 'x,=1'");
	check_err(t, ARGV("-kernel", "k", "-device", "x,flag,,y"),
		  "-device: empty parameter in 'x,flag,,y'");
	check_err(t, ARGV("-kernel", "k", "-device", "tag=x"),
		  "-device: no device type given");
}

static void test_debug_exit(struct tap *t)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	int ret;

	ret = parse(&cfg, ARGV("-kernel", "k", "-device", "isa-debug-exit"), err);
	ok(t, ret == CMDLINE_RUN && cfg.debug_exit.enabled && cfg.debug_exit.iobase == 0x501 &&
	   cfg.debug_exit.iosize == 2 && cfg.ndevices == 0, "isa-debug-exit QEMU defaults");
	config_free(&cfg);
	ret = parse(&cfg, ARGV("-kernel", "k", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"), err);
	ok(t, ret == CMDLINE_RUN && cfg.debug_exit.iobase == 0xf4 && cfg.debug_exit.iosize == 4,
	   "isa-debug-exit,iobase=0xf4,iosize=0x04");
	config_free(&cfg);
	ret = parse(&cfg, ARGV("-kernel", "k", "-device", "isa-debug-exit,iobase=244,iosize=1"), err);
	ok(t, ret == CMDLINE_RUN && cfg.debug_exit.iobase == 0xf4 && cfg.debug_exit.iosize == 1,
	   "decimal iobase");
	config_free(&cfg);
	check_err(t, ARGV("-kernel", "k", "-device", "isa-debug-exit,iosize=3"),
		  "-device isa-debug-exit: iosize must be 1, 2 or 4, got '3'");
	check_err(t, ARGV("-kernel", "k", "-device", "isa-debug-exit,iobase=0x10000"),
		  "-device isa-debug-exit: invalid iobase '0x10000'");
	check_err(t, ARGV("-kernel", "k", "-device", "isa-debug-exit,iobase=0xffff,iosize=2"),
		  "-device isa-debug-exit: iobase 0xffff + iosize 2 is past the I/O space");
	check_err(t, ARGV("-kernel", "k", "-device", "isa-debug-exit,port=1"),
		  "-device isa-debug-exit: unknown parameter 'port'");
}

static void test_trace_log(struct tap *t)
{
	struct vmm_config cfg;
	char err[ERRLEN] = "";
	int ret;

	ret = parse(&cfg, ARGV("-kernel", "k", "-trace", "vhost-user", "-trace", "enable=vhost_user*",
			       "--trace", "vhost_user*"), err);
	ok(t, ret == CMDLINE_RUN && cfg.ntraces == 3 && streq(cfg.traces[0], "vhost-user") &&
	   streq(cfg.traces[1], "enable=vhost_user*") && streq(cfg.traces[2], "vhost_user*"),
	   "-trace patterns kept as written");
	config_free(&cfg);
	check_err(t, ARGV("-kernel", "k", "-trace", "events=/tmp/ev"),
		  "-trace: unknown parameter 'events'");

	ret = parse(&cfg, ARGV("-kernel", "k", "-v"), err);
	ok(t, ret == CMDLINE_RUN && cfg.log_level == LOG_INFO, "-v: info");
	config_free(&cfg);
	ret = parse(&cfg, ARGV("-kernel", "k", "-v", "--verbose", "-v"), err);
	ok(t, ret == CMDLINE_RUN && cfg.log_level == LOG_DEBUG, "-v twice or more: debug");
	config_free(&cfg);
	ret = parse(&cfg, ARGV("-kernel", "k", "--quiet"), err);
	ok(t, ret == CMDLINE_RUN && cfg.log_level == LOG_ERROR, "--quiet: errors only");
	config_free(&cfg);
}

static void test_help_version(struct tap *t)
{
	char out[8192];
	int ret;

	ret = parse_captured(ARGV("-h"), out, sizeof(out));
	ok(t, ret == CMDLINE_HELP, "-h returns CMDLINE_HELP without -kernel");
	ok(t, strstr(out, "-kernel PATH") && strstr(out, "-chardev socket") &&
	   strstr(out, "-object memory-backend-memfd") && strstr(out, "-smp") &&
	   strstr(out, "-trace"), "usage lists the options");
	ret = parse_captured(ARGV("-kernel", "k", "--help", "-bogus"), out, sizeof(out));
	ok(t, ret == CMDLINE_HELP, "--help stops parsing");
	ret = parse_captured(ARGV("-help"), out, sizeof(out));
	ok(t, ret == CMDLINE_HELP, "-help");
	ret = parse_captured(ARGV("--version"), out, sizeof(out));
	ok(t, ret == CMDLINE_VERSION && !strncmp(out, "vmm ", 4) && strchr(out, '\n'),
	   "--version prints 'vmm VERSION' (%.*s)", (int)strcspn(out, "\n"), out);
	ret = parse_captured(ARGV("-version"), out, sizeof(out));
	ok(t, ret == CMDLINE_VERSION, "-version");
	check_err(t, ARGV("-bogus", "-h"), "unknown option '-bogus'");
}

static void test_qemu_opts(struct tap *t)
{
	struct qemu_opts o;
	char err[ERRLEN] = "", many[512];
	int i, ret;

	ret = qemu_opts_parse(&o, "a,,b,k=v,,w,server,nodelay,k=last,", err, sizeof(err));
	ok(t, ret == 0 && streq(o.type, "a,b") && o.n == 4 &&
	   streq(qemu_opts_get(&o, "k"), "last") && streq(o.val[0], "v,w") &&
	   streq(qemu_opts_get(&o, "server"), "on") &&
	   streq(qemu_opts_get(&o, "delay"), "off") && !qemu_opts_get(&o, "nodelay"),
	   "qemu_opts: escapes, flags, last key wins, trailing comma (%s)", err);
	qemu_opts_free(&o);
	ret = qemu_opts_parse(&o, "k=v,t", err, sizeof(err));
	ok(t, ret == 0 && !o.type && o.n == 2 && streq(qemu_opts_get(&o, "t"), "on"),
	   "qemu_opts: no implied type after a key");
	qemu_opts_free(&o);
	ret = qemu_opts_parse(&o, "", err, sizeof(err));
	ok(t, ret == 0 && !o.type && o.n == 0, "qemu_opts: empty string");
	qemu_opts_free(&o);
	strcpy(many, "t");
	for (i = 0; i <= QEMU_OPTS_MAX; i++)
		sprintf(many + strlen(many), ",k%d=v", i);
	ret = qemu_opts_parse(&o, many, err, sizeof(err));
	ok(t, ret < 0 && !strncmp(err, "more than 32 parameters", 23) && o.n == 0 && !o.type,
	   "qemu_opts: too many parameters fails and leaves nothing (%.40s)", err);
}

int main(void)
{
	struct tap t = TAP_INIT;

	test_qemu_opts(&t);
	test_virtiofsd(&t);
	test_defaults(&t);
	test_ignored(&t);
	test_spellings(&t);
	test_mem(&t);
	test_smp(&t);
	test_backends(&t);
	test_chardev(&t);
	test_debug_exit(&t);
	test_trace_log(&t);
	test_help_version(&t);
	return tap_done(&t);
}
