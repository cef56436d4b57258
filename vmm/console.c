#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "kvm/vm.h"
#include "lib/log.h"
#include "vmm/console.h"
#include "vmm/serial.h"

static void console_help(void)
{
	static const char help[] =
		"\r\nC-a h    print this help\r\n"
		"C-a x    exit the VMM\r\n"
		"C-a C-a  send C-a to the guest\r\n";

	if (write(STDERR_FILENO, help, sizeof(help) - 1) < 0)
		return;
}

void console_input(struct console *c, const unsigned char *buf, size_t len)
{
	unsigned char out[256];
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char ch = buf[i];

		if (c->escape) {
			c->escape = false;
			if (ch == 'x') {
				vm_request_stop(c->vm, 0, LOG_INFO, "terminated by C-a x");
				break;
			}
			if (ch == 'h' || ch == '?') {
				console_help();
				continue;
			}
			if (ch != CONSOLE_ESCAPE)
				out[n++] = CONSOLE_ESCAPE;
		} else if (ch == CONSOLE_ESCAPE && c->is_tty) {
			c->escape = true;
			continue;
		}
		out[n++] = ch;
		if (n >= sizeof(out) - 1) {
			serial_receive(c->serial, out, n);
			n = 0;
		}
	}
	if (n)
		serial_receive(c->serial, out, n);
}

static void console_readable(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	unsigned char buf[256];
	ssize_t n;

	(void)events;
	n = read(c->watch.fd, buf, sizeof(buf));
	if (n > 0) {
		console_input(c, buf, n);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	/* End of input (CI gives us /dev/null or a closed pipe): the guest
	 * keeps running, we just stop listening. */
	loop_del(c->loop, &c->watch);
	c->watching = false;
}

int console_init(struct console *c, struct serial *serial, struct vm *vm,
		 struct event_loop *loop)
{
	struct termios raw;
	int ret;

	memset(c, 0, sizeof(*c));
	c->serial = serial;
	c->vm = vm;
	c->loop = loop;
	c->watch = (struct loop_watch){ STDIN_FILENO, console_readable, c };
	c->is_tty = isatty(STDIN_FILENO);

	if (c->is_tty && tcgetattr(STDIN_FILENO, &c->saved) == 0) {
		raw = c->saved;
		cfmakeraw(&raw);
		/* Keep output processing so that our own messages on stderr
		 * still start at the left margin. */
		raw.c_oflag |= OPOST | ONLCR;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			c->raw = true;
	}
	ret = loop_add(loop, &c->watch, EPOLLIN);
	if (ret == -EPERM) {
		/* A regular file or /dev/null cannot be polled: no input. */
		return 0;
	}
	if (ret < 0)
		return ret;
	c->watching = true;
	return 0;
}

void console_restore(struct console *c)
{
	if (c->watching) {
		loop_del(c->loop, &c->watch);
		c->watching = false;
	}
	if (c->raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
		c->raw = false;
	}
}
