#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/loop.h"

int loop_init(struct event_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_destroy(struct event_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int loop_add(struct event_loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_del(struct event_loop *l, struct loop_watch *w)
{
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0)
		return -errno;
	return 0;
}

int loop_run_once(struct event_loop *l, int timeout_ms)
{
	struct epoll_event ev[16];
	int i, n;

	n = epoll_wait(l->epfd, ev, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct loop_watch *w = ev[i].data.ptr;

		w->fn(w->opaque, ev[i].events);
	}
	return n;
}
