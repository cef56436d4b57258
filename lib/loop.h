/* The main thread's event loop: epoll over fds with a callback each. */
#ifndef LIB_LOOP_H
#define LIB_LOOP_H

#include <stdint.h>

typedef void (*loop_fn)(void *opaque, uint32_t events);

/* Owned by whoever watches the fd; must outlive the registration. */
struct loop_watch {
	int fd;
	loop_fn fn;
	void *opaque;
};

struct event_loop {
	int epfd;
};

int loop_init(struct event_loop *l);
void loop_destroy(struct event_loop *l);
int loop_add(struct event_loop *l, struct loop_watch *w, uint32_t events);
int loop_del(struct event_loop *l, struct loop_watch *w);
/* Waits up to timeout_ms (-1: forever) and runs the callbacks of ready
 * fds. Returns the number run or -errno. */
int loop_run_once(struct event_loop *l, int timeout_ms);

#endif
