/* QEMU's -trace patterns, for the traces of this VMM: globs over event
 * names, "enable=" allowed, a leading '-' disables, '-' and '_' alike
 * (QEMU's event names use '_'; people type "vhost-user"), the last match
 * wins. */
#ifndef LIB_TRACE_PATTERNS_H
#define LIB_TRACE_PATTERNS_H

#include <stdbool.h>
#include <stddef.h>

/* Whether patterns[0..n) turn on any of events[0..nevents). */
bool trace_patterns_enable(const char *const *patterns, int n, const char *const *events,
			   size_t nevents);

#endif
