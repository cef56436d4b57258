/* Splitting QEMU option strings ("type,key=value,flag,...") into struct
 * qemu_opts, with QEMU's quirks: ",," is a literal comma inside a value, a
 * bare element after the first is a boolean flag ("server" = server=on,
 * "nowait" = wait=off), and a repeated key is kept, the last one winning. */
#ifndef LIB_QEMU_OPTS_H
#define LIB_QEMU_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QEMU_OPTS_MAX 32

/* A QEMU-style "driver,key=value,key=value" option string, split. The first
 * element without '=' is the driver/type; keys keep their order. */
struct qemu_opts {
	char *type;
	int n;
	char *key[QEMU_OPTS_MAX];
	char *val[QEMU_OPTS_MAX];
};


/* Fills o (which need not be initialised) from str. A bare first element
 * becomes o->type (QEMU's "implied" first key). On failure returns -EINVAL
 * or -ENOMEM with a message in err, and o holds nothing to free. */
int qemu_opts_parse(struct qemu_opts *o, const char *str, char *err,
		    size_t errlen);
void qemu_opts_free(struct qemu_opts *o);
/* Value of the last occurrence of key, or NULL. */
const char *qemu_opts_get(const struct qemu_opts *o, const char *key);

/* Typed getters, one error style for every option: what names the option
 * ("-device vhost-user-fs-pci"), and a failure is -EINVAL with a one-line
 * "WHAT: ..." message in err naming the key. */

/* Every key of o is in allowed (NULL-terminated), else "unknown parameter". */
int qemu_opts_check_keys(const struct qemu_opts *o, const char *what,
			 const char *const *allowed, char *err, size_t errlen);
/* C syntax (0x.., 0.., decimal), all of it, at most max: 0, -EINVAL or
 * -ERANGE, no message. */
int qemu_opts_parse_num(const char *s, unsigned long long max, unsigned long long *out);
/* key's value as a number in min..max, or def if key is absent. */
int qemu_opts_get_uint(const struct qemu_opts *o, const char *what, const char *key,
		       uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
		       char *err, size_t errlen);
/* The spellings QEMU's qapi_bool_parse() takes (on/off, yes/no, true/false,
 * y/n), for val of key. */
int qemu_opts_parse_bool(const char *what, const char *key, const char *val, bool *out,
			 char *err, size_t errlen);
/* key's value as a boolean, or def if key is absent. */
int qemu_opts_get_bool(const struct qemu_opts *o, const char *what, const char *key,
		       bool def, bool *out, char *err, size_t errlen);

#endif
