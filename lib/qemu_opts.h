/* Splitting QEMU option strings ("type,key=value,flag,...") into struct
 * qemu_opts, with QEMU's quirks: ",," is a literal comma inside a value, a
 * bare element after the first is a boolean flag ("server" = server=on,
 * "nowait" = wait=off), and a repeated key is kept, the last one winning. */
#ifndef LIB_QEMU_OPTS_H
#define LIB_QEMU_OPTS_H

#include <stddef.h>

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

#endif
