/* The port bus, the 16550A and the CPUID topology, without KVM. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/bus.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "vmm/console.h"
#include "tests/unit/tap.h"
#include "vmm/serial.h"

struct hits {
	uint64_t last_offset;
	int n;
};

static void count_io(void *opaque, uint64_t offset, void *data, unsigned len,
		     bool is_write)
{
	struct hits *h = opaque;

	h->last_offset = offset;
	h->n++;
	if (!is_write)
		memset(data, 0x42, len);
}

static void test_bus(struct tap *t)
{
	struct bus bus;
	struct hits a = { 0 }, b = { 0 };
	uint8_t v[4];

	bus_init(&bus, "test");
	ok(t, bus_register(&bus, 0x100, 8, count_io, &a) == 0, "register 0x100+8");
	ok(t, bus_register(&bus, 0x200, 4, count_io, &b) == 0, "register 0x200+4");
	ok(t, bus_register(&bus, 0x104, 8, count_io, &b) == -EEXIST, "overlap at the end is refused");
	ok(t, bus_register(&bus, 0xfc, 8, count_io, &b) == -EEXIST, "overlap at the start is refused");
	ok(t, bus_register(&bus, 0x300, 0, count_io, &b) == -EINVAL, "empty range is refused");
	ok(t, bus_dispatch(&bus, 0x103, v, 1, false) && a.last_offset == 3 && v[0] == 0x42,
	   "dispatch gives the offset within the range");
	ok(t, !bus_dispatch(&bus, 0x108, v, 2, false) && v[0] == 0xff && v[1] == 0xff,
	   "unclaimed reads see all ones");
	memset(v, 0, sizeof(v));
	ok(t, bus_dispatch(&bus, 0x202, v, 4, false) && v[0] == 0x42 && v[2] == 0xff,
	   "an access straddling the end is cut, the rest reads as ones");
	ok(t, bus_unregister(&bus, 0x100) == 0 && !bus_dispatch(&bus, 0x100, v, 1, true),
	   "unregistered ranges stop dispatching");
	ok(t, bus_unregister(&bus, 0x100) == -ENOENT, "unregistering twice is -ENOENT");
	ok(t, bus_register(&bus, 0x100, 8, count_io, &a) == 0, "the range can be registered again");
	bus_destroy(&bus);
}

static uint8_t in(struct serial *s, unsigned reg)
{
	uint8_t v = 0;

	serial_io(s, reg, &v, 1, false);
	return v;
}

static void out(struct serial *s, unsigned reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

static void test_serial(struct tap *t)
{
	struct serial s;
	int pipefd[2];
	char buf[64];
	ssize_t n;

	if (pipe(pipefd) < 0)
		abort();
	serial_init(&s, NULL, 4, pipefd[1]);

	ok(t, (in(&s, 2) & 0x0f) == 0x01 && !s.irq_level, "no interrupt after reset");
	ok(t, (in(&s, 5) & 0x60) == 0x60, "LSR: transmitter empty");

	out(&s, 7, 0x5a);
	ok(t, in(&s, 7) == 0x5a, "scratch register holds a value");

	out(&s, 3, 0x80);          /* DLAB */
	out(&s, 0, 0x01);
	out(&s, 1, 0x00);
	ok(t, in(&s, 0) == 0x01 && in(&s, 1) == 0x00, "divisor latch behind DLAB");
	out(&s, 3, 0x03);

	out(&s, 4, 0x10 | 0x0a);   /* loopback with RTS and OUT2 */
	ok(t, (in(&s, 6) & 0xf0) == 0x90, "loopback MSR mirrors MCR as Linux's probe expects");
	out(&s, 0, 'L');
	ok(t, (in(&s, 5) & 0x01) && in(&s, 0) == 'L', "loopback: transmitted byte is received");
	out(&s, 4, 0x0b);

	out(&s, 2, 0x07);          /* FIFO on, clear both */
	ok(t, (in(&s, 2) & 0xc0) == 0xc0, "IIR reports FIFOs (16550A)");

	out(&s, 1, 0x02);          /* THRI */
	ok(t, s.irq_level, "enabling THRI with an empty THR raises the line");
	ok(t, (in(&s, 2) & 0x0f) == 0x02, "IIR says THR empty");
	ok(t, !s.irq_level && (in(&s, 2) & 0x0f) == 0x01, "reading IIR acknowledged it");

	out(&s, 0, 'h');
	out(&s, 0, 'i');
	ok(t, s.irq_level, "a write raises THR empty again");
	(void)in(&s, 2);           /* the driver's interrupt handler */
	n = read(pipefd[0], buf, sizeof(buf));
	ok(t, n == 2 && !memcmp(buf, "hi", 2), "output is flushed when the driver reads IIR");

	out(&s, 1, 0x01);          /* RDI only */
	ok(t, serial_receive(&s, (const uint8_t *)"ab", 2) == 2 && s.irq_level,
	   "received bytes raise the line");
	ok(t, (in(&s, 2) & 0x0f) == 0x04, "IIR says data available");
	ok(t, in(&s, 0) == 'a' && in(&s, 0) == 'b', "bytes come out in order");
	ok(t, !s.irq_level && !(in(&s, 5) & 0x01), "line drops when the FIFO is empty");

	close(pipefd[0]);
	out(&s, 1, 0x00);
	for (int i = 0; i < SERIAL_TX_BATCH + 1; i++)
		out(&s, 0, 'x');
	ok(t, s.out_fd == -1, "a vanished reader disables output instead of stalling");
	close(pipefd[1]);
	serial_destroy(&s);
}

static struct kvm_cpuid2 *fake_cpuid(void)
{
	static const uint32_t funcs[][2] = {
		{ 1, 0 }, { 4, 0 }, { 4, 1 }, { 0xb, 0 }, { 0xb, 1 }, { 0xb, 2 },
		{ 0x80000008, 0 }, { 0x8000001e, 0 },
	};
	const int n = sizeof(funcs) / sizeof(funcs[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	c->nent = n;
	for (int i = 0; i < n; i++) {
		c->entries[i].function = funcs[i][0];
		c->entries[i].index = funcs[i][1];
		c->entries[i].eax = c->entries[i].ebx = 0xffffffff;
		c->entries[i].ecx = c->entries[i].edx = 0xffffffff;
	}
	c->entries[0].edx = 0;
	c->entries[0].ecx = 0;
	return c;
}

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid2 *c, uint32_t f, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == f && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static void test_cpuid(struct tap *t)
{
	struct kvm_cpuid2 *c = fake_cpuid();

	cpuid_patch(c, 3, 4, true);
	ok(t, leaf(c, 1, 0)->ebx >> 24 == 3, "leaf 1: initial APIC id");
	ok(t, ((leaf(c, 1, 0)->ebx >> 16) & 0xff) == 4, "leaf 1: 4 logical processors");
	ok(t, leaf(c, 1, 0)->edx & (1u << 28), "leaf 1: HTT set for a multi-core package");
	ok(t, leaf(c, 1, 0)->ecx & (1u << 31), "leaf 1: hypervisor bit");
	ok(t, leaf(c, 1, 0)->ecx & (1u << 24), "leaf 1: TSC deadline timer when KVM has it");
	ok(t, (leaf(c, 4, 1)->eax >> 26) == 3, "leaf 4: cores per package - 1");
	ok(t, leaf(c, 0xb, 0)->ebx == 1 && leaf(c, 0xb, 0)->edx == 3, "leaf 0xb SMT level: 1 thread");
	ok(t, leaf(c, 0xb, 1)->eax == 2 && leaf(c, 0xb, 1)->ebx == 4 &&
	   ((leaf(c, 0xb, 1)->ecx >> 8) & 0xff) == 2, "leaf 0xb core level: shift 2, 4 cores");
	ok(t, leaf(c, 0xb, 2)->ebx == 0, "leaf 0xb ends after the core level");
	ok(t, (leaf(c, 0x80000008, 0)->ecx & 0xff) == 3 &&
	   ((leaf(c, 0x80000008, 0)->ecx >> 12) & 0xf) == 2, "AMD 0x80000008: NC and core id size");
	ok(t, leaf(c, 0x8000001e, 0)->eax == 3, "AMD 0x8000001e: extended APIC id");
	free(c);

	c = fake_cpuid();
	cpuid_patch(c, 0, 1, false);
	ok(t, !(leaf(c, 1, 0)->ecx & (1u << 24)), "no TSC deadline timer unless KVM has it");
	ok(t, !(leaf(c, 1, 0)->edx & (1u << 28)) && ((leaf(c, 1, 0)->ebx >> 16) & 0xff) == 1,
	   "one vCPU: no HTT, one logical processor");
	free(c);
}

static void test_console(struct tap *t)
{
	struct vm vm = { 0 };
	struct serial s;
	struct console c = { 0 };

	pthread_mutex_init(&vm.stop_lock, NULL);
	vm.stop_fd = eventfd(0, EFD_CLOEXEC);
	serial_init(&s, NULL, 4, -1);
	c.serial = &s;
	c.vm = &vm;
	c.is_tty = true;

	console_input(&c, (const unsigned char *)"ab\x01\x01" "c", 5);
	ok(t, s.rx_count == 4 && s.rx[2] == 0x01 && s.rx[3] == 'c',
	   "C-a C-a sends one C-a to the guest");
	console_input(&c, (const unsigned char *)"\x01", 1);
	ok(t, c.escape && s.rx_count == 4, "a lone C-a waits for the next byte");
	console_input(&c, (const unsigned char *)"z", 1);
	ok(t, !c.escape && s.rx_count == 6 && s.rx[4] == 0x01 && s.rx[5] == 'z',
	   "C-a followed by another key passes both through");
	ok(t, !vm.stopping, "nothing so far stops the VM");
	console_input(&c, (const unsigned char *)"\x01x", 2);
	ok(t, vm.stopping && vm.stop_status == 0, "C-a x stops the VM with status 0");

	c.is_tty = false;
	c.escape = false;
	s.rx_count = 0;
	console_input(&c, (const unsigned char *)"\x01x", 2);
	ok(t, s.rx_count == 2, "without a terminal C-a is plain data");

	serial_destroy(&s);
	close(vm.stop_fd);
	pthread_mutex_destroy(&vm.stop_lock);
}

int main(void)
{
	struct tap t = TAP_INIT;

	/* As in the VMM: a closed console must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	test_bus(&t);
	test_serial(&t);
	test_cpuid(&t);
	test_console(&t);
	return tap_done(&t);
}
