/* The host side of the serial console: stdin into the UART, the terminal
 * in raw mode while the guest owns it, and QEMU's Ctrl-a escapes. */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "lib/loop.h"

struct serial;
struct vm;

#define CONSOLE_ESCAPE 0x01   /* Ctrl-a */

struct console {
	struct serial *serial;
	struct vm *vm;
	struct event_loop *loop;
	struct loop_watch watch;
	bool is_tty;
	bool raw;
	bool escape;      /* the previous byte was Ctrl-a */
	bool watching;
	struct termios saved;
};

int console_init(struct console *c, struct serial *serial, struct vm *vm,
		 struct event_loop *loop);
/* Puts the terminal back as it was; safe to call more than once. */
void console_restore(struct console *c);
/* Feeds host input through the escape handling; exposed for tests. */
void console_input(struct console *c, const unsigned char *buf, size_t len);

#endif
