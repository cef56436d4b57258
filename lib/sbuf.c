#include <stdarg.h>
#include <stdio.h>

#include "lib/sbuf.h"

void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	int n;

	if (b->len + 1 >= b->cap)
		return;
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n < 0)
		return;
	b->len += (size_t)n;
	if (b->len >= b->cap)
		b->len = b->cap - 1;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}
