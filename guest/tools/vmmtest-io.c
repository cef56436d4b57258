/*
 * vmmtest-io: tiny freestanding helper for the test guest.
 *
 * The Debian cloud kernel is built without CONFIG_DEVPORT, so there is no
 * /dev/port and busybox cannot do port I/O.  This program does it with
 * ioperm(2), and also waits for console output to drain (busybox has no
 * tcdrain), so that result lines are not lost when the guest powers off.
 *
 *   vmmtest-io outb|outw|outl PORT VALUE   write to an I/O port
 *   vmmtest-io inb|inw|inl PORT            read an I/O port, print 0x.. value
 *   vmmtest-io drain                       tcdrain(stdout)
 *   vmmtest-io vsock-cid                   the guest's vsock CID (from the device's
 *                                          config), in decimal: busybox has no tool
 *
 * Numbers are decimal or 0x-prefixed hex.  Exit status: 0 ok, 1 syscall
 * failed, 2 usage error.
 *
 * Built with: gcc -Os -static -nostdlib -ffreestanding (no libc needed).
 */

typedef unsigned long ulong;

static long sys3(long n, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

#define SYS_write 1
#define SYS_open 2
#define SYS_ioctl 16
#define SYS_ioperm 173
#define SYS_exit_group 231
#define TCSBRK 0x5409
#define IOCTL_VM_SOCKETS_GET_LOCAL_CID 0x7b9 /* _IO(7, 0xb9) */

static __attribute__((noreturn)) void die(int code)
{
	sys3(SYS_exit_group, code, 0, 0);
	for (;;)
		;
}

static ulong slen(const char *s)
{
	ulong n = 0;
	while (s[n])
		n++;
	return n;
}

static void puts2(const char *s)
{
	sys3(SYS_write, 2, (long)s, (long)slen(s));
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static int parse(const char *s, ulong *out)
{
	ulong v = 0, base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	if (!*s)
		return -1;
	for (; *s; s++) {
		ulong d;
		if (*s >= '0' && *s <= '9')
			d = (ulong)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (ulong)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (ulong)(*s - 'A' + 10);
		else
			return -1;
		v = v * base + d;
		if (v > 0xffffffffUL)
			return -1;
	}
	*out = v;
	return 0;
}

static __attribute__((noreturn)) void usage(void)
{
	puts2("usage: vmmtest-io outb|outw|outl PORT VALUE | inb|inw|inl PORT | drain | vsock-cid\n");
	die(2);
}

static void get_port(const char *s, ulong width, ulong *port)
{
	if (parse(s, port) || *port > 0xffff || *port + width > 0x10000)
		usage();
	if (sys3(SYS_ioperm, (long)*port, (long)width, 1) < 0) {
		puts2("vmmtest-io: ioperm failed\n");
		die(1);
	}
}

static __attribute__((noreturn)) void print_hex(ulong v)
{
	char buf[16];
	int i = sizeof(buf);
	buf[--i] = '\n';
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	sys3(SYS_write, 1, (long)(buf + i), (long)(sizeof(buf) - i));
	die(0);
}

static __attribute__((noreturn)) void print_dec(ulong v)
{
	char buf[24];
	int i = sizeof(buf);
	buf[--i] = '\n';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sys3(SYS_write, 1, (long)(buf + i), (long)(sizeof(buf) - i));
	die(0);
}

__attribute__((used)) static void cmain(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	const char *cmd;
	ulong port, val, w;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (streq(cmd, "drain")) {
		die(sys3(SYS_ioctl, 1, TCSBRK, 1) < 0 ? 1 : 0);
	}
	if (streq(cmd, "vsock-cid")) {
		unsigned int cid = 0;
		long fd = sys3(SYS_open, (long)"/dev/vsock", 0, 0);
		if (fd < 0 || sys3(SYS_ioctl, fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, (long)&cid) < 0) {
			puts2("vmmtest-io: /dev/vsock: no local CID\n");
			die(1);
		}
		print_dec(cid);
	}
	if (slen(cmd) != 4 && slen(cmd) != 3)
		usage();
	w = cmd[slen(cmd) - 1] == 'b' ? 1 : cmd[slen(cmd) - 1] == 'w' ? 2 : cmd[slen(cmd) - 1] == 'l' ? 4 : 0;
	if (!w)
		usage();
	if (cmd[0] == 'o' && cmd[1] == 'u' && cmd[2] == 't' && cmd[4] == 0) {
		if (argc != 4)
			usage();
		if (parse(argv[3], &val) || (w < 4 && val >> (8 * w)))
			usage();
		get_port(argv[2], w, &port);
		if (w == 1)
			__asm__ volatile("outb %b0, %w1" : : "a"(val), "Nd"(port));
		else if (w == 2)
			__asm__ volatile("outw %w0, %w1" : : "a"(val), "Nd"(port));
		else
			__asm__ volatile("outl %k0, %w1" : : "a"(val), "Nd"(port));
		die(0);
	}
	if (cmd[0] == 'i' && cmd[1] == 'n' && cmd[3] == 0) {
		unsigned int v32 = 0;
		unsigned short v16 = 0;
		unsigned char v8 = 0;
		if (argc != 3)
			usage();
		get_port(argv[2], w, &port);
		if (w == 1) {
			__asm__ volatile("inb %w1, %b0" : "=a"(v8) : "Nd"(port));
			print_hex(v8);
		} else if (w == 2) {
			__asm__ volatile("inw %w1, %w0" : "=a"(v16) : "Nd"(port));
			print_hex(v16);
		} else {
			__asm__ volatile("inl %w1, %k0" : "=a"(v32) : "Nd"(port));
			print_hex(v32);
		}
	}
	usage();
}

__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call cmain\n"
	"	hlt\n");
