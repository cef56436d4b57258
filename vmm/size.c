/* QEMU's size syntax (qemu_strtosz): an integer or decimal fraction with an
 * optional binary suffix, so that "-m 1.5G" and "size=4096k" mean here what
 * they mean to QEMU. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/config.h"

/* Shift for a suffix letter, or -1 if c is not one. */
static int suffix_shift(char c)
{
	switch (c) {
	case 'b': case 'B': return 0;
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	case 'p': case 'P': return 50;
	case 'e': case 'E': return 60;
	default: return -1;
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_size(const char *s, char default_suffix, uint64_t *out)
{
	/* Fractions are kept as num/den with den <= 10^18 so that digits past
	 * a byte's resolution cannot overflow; they are dropped instead. */
	uint64_t ip = 0, num = 0, den = 1;
	unsigned __int128 v;
	const char *p = s;
	bool digits = false;
	int shift, d;

	if (!s)
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		/* QEMU still takes hex for sizes; no fraction then. */
		p += 2;
		while ((d = hex_digit(*p)) >= 0) {
			if (ip > (UINT64_MAX >> 4))
				return -ERANGE;
			ip = ip << 4 | (uint64_t)d;
			digits = true;
			p++;
		}
	} else {
		while (*p >= '0' && *p <= '9') {
			d = *p - '0';
			if (ip > (UINT64_MAX - (uint64_t)d) / 10)
				return -ERANGE;
			ip = ip * 10 + (uint64_t)d;
			digits = true;
			p++;
		}
		if (digits && *p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				if (den < 1000000000000000000ULL) {
					num = num * 10 + (uint64_t)(*p - '0');
					den *= 10;
				}
				p++;
			}
		}
	}
	if (!digits)
		return -EINVAL;

	shift = suffix_shift(*p);
	if (shift >= 0)
		p++;
	else if (!default_suffix)
		shift = 0;
	else if ((shift = suffix_shift(default_suffix)) < 0)
		return -EINVAL;
	if (*p)
		return -EINVAL;
	/* A fraction of a byte has no meaning. */
	if (num && shift == 0)
		return -EINVAL;

	v = (unsigned __int128)ip << shift;
	v += (((unsigned __int128)num << shift) + den / 2) / den;
	if (v > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}
