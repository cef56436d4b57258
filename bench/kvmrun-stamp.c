/*
 * LD_PRELOAD shim for bench/boot.sh: records when a process first issues
 * ioctl(KVM_RUN), i.e. the first vCPU entry, with the same clock as bash's
 * $EPOCHREALTIME (CLOCK_REALTIME), so the benchmark can measure "launch to
 * first vCPU entry" alike for every VMM. The stamp is taken before the real
 * ioctl and written as "SECONDS.NANOSECONDS\n" to $BENCH_KVMRUN_STAMP after
 * that first KVM_RUN returns (so the write does not delay the entry).
 * Every other ioctl costs one extra compare.
 *
 *   gcc -O2 -shared -fPIC -o kvmrun-stamp.so bench/kvmrun-stamp.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int (*real_ioctl)(int, unsigned long, ...);
static int seen;

__attribute__((constructor)) static void init(void)
{
	real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
}

static void write_stamp(const struct timespec *ts)
{
	const char *path = getenv("BENCH_KVMRUN_STAMP");
	char buf[64];
	int fd, n;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%lld.%09ld\n", (long long)ts->tv_sec, ts->tv_nsec);
	if (write(fd, buf, n) != n) {
		/* nothing sensible to do: the benchmark reports the figure missing */
	}
	close(fd);
}

int ioctl(int fd, unsigned long req, ...)
{
	struct timespec ts;
	va_list ap;
	void *arg;
	int ret, saved;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		init();
	if (req != KVM_RUN || __atomic_exchange_n(&seen, 1, __ATOMIC_ACQ_REL))
		return real_ioctl(fd, req, arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	ret = real_ioctl(fd, req, arg);
	saved = errno;
	write_stamp(&ts);
	errno = saved;
	return ret;
}
