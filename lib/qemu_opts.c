#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/qemu_opts.h"

/* Copies a value up to the first lone ',' turning ",," into ','; *end is
 * left on that ',' or on the terminating NUL. */
static char *read_value(const char *p, const char **end)
{
	size_t len = 0;
	const char *q;
	char *v, *w;

	for (q = p; *q; q++) {
		if (*q == ',') {
			if (q[1] != ',')
				break;
			q++;
		}
		len++;
	}
	v = malloc(len + 1);
	if (!v)
		return NULL;
	for (w = v, q = p; *q; q++) {
		if (*q == ',') {
			if (q[1] != ',')
				break;
			q++;
		}
		*w++ = *q;
	}
	*w = '\0';
	*end = q;
	return v;
}

void qemu_opts_free(struct qemu_opts *o)
{
	int i;

	free(o->type);
	for (i = 0; i < o->n; i++) {
		free(o->key[i]);
		free(o->val[i]);
	}
	memset(o, 0, sizeof(*o));
}

const char *qemu_opts_get(const struct qemu_opts *o, const char *key)
{
	int i;

	for (i = o->n - 1; i >= 0; i--)
		if (!strcmp(o->key[i], key))
			return o->val[i];
	return NULL;
}

int qemu_opts_parse(struct qemu_opts *o, const char *str, char *err,
		    size_t errlen)
{
	const char *p = str;
	bool first = true;
	int ret;

	memset(o, 0, sizeof(*o));
	while (*p) {
		size_t len = strcspn(p, "=,");
		char *key = NULL, *val = NULL;

		if (p[len] == '=') {
			if (len == 0) {
				snprintf(err, errlen, "empty parameter name in '%s'", str);
				ret = -EINVAL;
				goto fail;
			}
			key = strndup(p, len);
			val = read_value(p + len + 1, &p);
		} else if (first) {
			/* QEMU reads an implied first value with escapes too. */
			o->type = read_value(p, &p);
			if (!o->type) {
				ret = -ENOMEM;
				goto nomem;
			}
			first = false;
			if (*p == ',')
				p++;
			continue;
		} else if (len == 0) {
			snprintf(err, errlen, "empty parameter in '%s'", str);
			ret = -EINVAL;
			goto fail;
		} else {
			/* Short-form booleans: "server" is server=on and
			 * "nowait" is wait=off, as QEMU still accepts. */
			bool neg = len > 2 && !strncmp(p, "no", 2);

			key = neg ? strndup(p + 2, len - 2) : strndup(p, len);
			val = strdup(neg ? "off" : "on");
			p += len;
		}
		if (!key || !val) {
			free(key);
			free(val);
			ret = -ENOMEM;
			goto nomem;
		}
		if (o->n == QEMU_OPTS_MAX) {
			free(key);
			free(val);
			snprintf(err, errlen, "more than %d parameters in '%s'",
				 QEMU_OPTS_MAX, str);
			ret = -EINVAL;
			goto fail;
		}
		o->key[o->n] = key;
		o->val[o->n] = val;
		o->n++;
		first = false;
		if (*p == ',')
			p++;
	}
	return 0;

nomem:
	snprintf(err, errlen, "out of memory parsing '%s'", str);
fail:
	qemu_opts_free(o);
	return ret;
}

int qemu_opts_check_keys(const struct qemu_opts *o, const char *what,
			 const char *const *allowed, char *err, size_t errlen)
{
	const char *const *a;
	int i;

	for (i = 0; i < o->n; i++) {
		for (a = allowed; *a; a++)
			if (!strcmp(o->key[i], *a))
				break;
		if (!*a) {
			snprintf(err, errlen, "%s: unknown parameter '%s'", what, o->key[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int qemu_opts_parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int qemu_opts_get_uint(const struct qemu_opts *o, const char *what, const char *key,
		       uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
		       char *err, size_t errlen)
{
	const char *v = qemu_opts_get(o, key);
	unsigned long long n;

	*out = def;
	if (!v)
		return 0;
	if (qemu_opts_parse_num(v, max, &n) < 0 || n < min) {
		snprintf(err, errlen, "%s: %s must be %llu..%llu, got '%s'", what, key,
			 (unsigned long long)min, (unsigned long long)max, v);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int qemu_opts_parse_bool(const char *what, const char *key, const char *val, bool *out,
			 char *err, size_t errlen)
{
	static const char *const yes[] = { "on", "yes", "true", "y" };
	static const char *const no[] = { "off", "no", "false", "n" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(val, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(val, no[i])) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: %s=%s is not a boolean (use on or off)", what, key, val);
	return -EINVAL;
}

int qemu_opts_get_bool(const struct qemu_opts *o, const char *what, const char *key,
		       bool def, bool *out, char *err, size_t errlen)
{
	const char *v = qemu_opts_get(o, key);

	*out = def;
	return v ? qemu_opts_parse_bool(what, key, v, out, err, errlen) : 0;
}
