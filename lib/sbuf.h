/* A bounded string builder for one line of output (the protocol traces):
 * a line is cut short rather than ever overrunning its buffer, and goes
 * out in one fwrite, so that lines from different devices never interleave
 * mid-line. */
#ifndef LIB_SBUF_H
#define LIB_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *p;
	size_t len, cap;
};

void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap);
__attribute__((format(printf, 2, 3)))
void sb_printf(struct sbuf *b, const char *fmt, ...);

#endif
