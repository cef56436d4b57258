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
