#include <errno.h>
#include <stdint.h>

#include "tests/unit/tap.h"
#include "vmm/config.h"

static void check(struct tap *t, const char *s, char suffix, int want_ret,
		  uint64_t want)
{
	uint64_t v = 0xdeadbeef;
	int ret = parse_size(s, suffix, &v);

	if (want_ret)
		ok(t, ret == want_ret, "parse_size(\"%s\", '%c') fails with %d (got %d)",
		   s, suffix ? suffix : '0', want_ret, ret);
	else
		ok(t, ret == 0 && v == want, "parse_size(\"%s\", '%c') = %llu (got %d, %llu)",
		   s, suffix ? suffix : '0', (unsigned long long)want, ret,
		   (unsigned long long)v);
}

int main(void)
{
	struct tap t = TAP_INIT;
	uint64_t v = 42;

	/* -m semantics: a bare number is MiB */
	check(&t, "512", 'M', 0, 512ULL << 20);
	check(&t, "512M", 'M', 0, 512ULL << 20);
	check(&t, "512m", 'M', 0, 512ULL << 20);
	check(&t, "4G", 'M', 0, 4ULL << 30);
	check(&t, "4g", 'M', 0, 4ULL << 30);
	check(&t, "1T", 'M', 0, 1ULL << 40);
	check(&t, "4096k", 'M', 0, 4ULL << 20);
	check(&t, "4096K", 'M', 0, 4ULL << 20);
	check(&t, "1.5G", 'M', 0, 3ULL << 29);
	check(&t, "0.5", 'M', 0, 512ULL << 10);
	check(&t, "1.", 'M', 0, 1ULL << 20);
	check(&t, "100B", 'M', 0, 100);
	check(&t, "0x10", 'M', 0, 16ULL << 20);

	/* object sizes: a bare number is bytes */
	check(&t, "4096", 'B', 0, 4096);
	check(&t, "4096", 0, 0, 4096);
	check(&t, "1.5", 'B', -EINVAL, 0);
	check(&t, "2M", 'B', 0, 2ULL << 20);

	/* zero parses; callers decide whether it is allowed */
	check(&t, "0", 'M', 0, 0);
	check(&t, "0G", 'M', 0, 0);

	check(&t, "", 'M', -EINVAL, 0);
	check(&t, "12Q", 'M', -EINVAL, 0);
	check(&t, "-1", 'M', -EINVAL, 0);
	check(&t, "G", 'M', -EINVAL, 0);
	check(&t, ".5G", 'M', -EINVAL, 0);
	check(&t, "1GB", 'M', -EINVAL, 0);
	check(&t, "1.2.3G", 'M', -EINVAL, 0);
	check(&t, "0x", 'M', -EINVAL, 0);
	check(&t, " 512", 'M', -EINVAL, 0);
	check(&t, "512 ", 'M', -EINVAL, 0);
	check(&t, "512 M", 'M', -EINVAL, 0);
	check(&t, "\t1G", 'M', -EINVAL, 0);

	/* 99999999G fits in 64 bits; -m caps it, not parse_size */
	check(&t, "99999999G", 'M', 0, 99999999ULL << 30);
	check(&t, "99999999T", 'M', -ERANGE, 0);
	check(&t, "16E", 'M', -ERANGE, 0);
	check(&t, "15E", 'M', 0, 15ULL << 60);
	check(&t, "18446744073709551615", 'B', 0, UINT64_MAX);
	check(&t, "18446744073709551616", 'B', -ERANGE, 0);
	check(&t, "99999999999999999999999", 'M', -ERANGE, 0);

	ok(&t, parse_size(NULL, 'M', &v) == -EINVAL && v == 42,
	   "NULL is -EINVAL and leaves the output alone");
	ok(&t, parse_size("12Q", 'M', &v) == -EINVAL && v == 42,
	   "failure leaves the output alone");

	return tap_done(&t);
}
