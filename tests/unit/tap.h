/* Minimal TAP producer for the C unit tests: tests/run.sh counts the lines. */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <stdio.h>
#include <stdlib.h>

struct tap {
	int n, failed;
};

#define TAP_INIT { 0, 0 }

/* ok(t, cond, fmt, ...): one test point; cond is evaluated once. */
#define ok(t, cond, ...)                                                   \
	do {                                                               \
		int tap_cond_ = !!(cond);                                  \
		(t)->n++;                                                  \
		if (tap_cond_) {                                           \
			printf("ok %d - ", (t)->n);                        \
		} else {                                                   \
			(t)->failed++;                                     \
			printf("not ok %d - ", (t)->n);                    \
		}                                                          \
		printf(__VA_ARGS__);                                       \
		printf("\n");                                              \
		if (!tap_cond_)                                            \
			printf("#   failed at %s:%d: %s\n", __FILE__,       \
			       __LINE__, #cond);                           \
	} while (0)

static inline int tap_done(struct tap *t)
{
	printf("1..%d\n", t->n);
	return t->failed ? 1 : 0;
}

#endif
