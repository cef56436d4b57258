#include <fnmatch.h>
#include <string.h>

#include "lib/trace_patterns.h"

bool trace_patterns_enable(const char *const *patterns, int n, const char *const *events,
			   size_t nevents)
{
	bool on = false;
	int i;

	for (i = 0; i < n; i++) {
		char pat[128];
		const char *s = patterns[i];
		bool enable = true;
		size_t j;

		if (!s)
			continue;
		if (strncmp(s, "enable=", 7) == 0)
			s += 7;
		if (*s == '-') {
			enable = false;
			s++;
		}
		for (j = 0; s[j] && j < sizeof(pat) - 1; j++)
			pat[j] = s[j] == '-' ? '_' : s[j];
		pat[j] = '\0';
		for (j = 0; j < nevents; j++) {
			if (fnmatch(pat, events[j], 0) == 0) {
				on = enable;
				break;
			}
		}
	}
	return on;
}
