/*
 * watch.c - struct ev_watch: waiting for writers to publish more of a
 * log, for readers that follow it.
 *
 * Writers publish by rewriting LOG/head and create segment files in LOG/,
 * so an inotify watch on the directory wakes a follower as soon as
 * there is something to read.  Where inotify is not available (no
 * directory to watch, out of watches, another kernel) the follower
 * polls every EV_WATCH_POLL_MS instead.  Either way a signal ends the
 * wait early, so that a caller can look at its stop flag.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "evlog_private.h"

#define EV_WATCH_POLL_MS 200

struct ev_watch {
	int ino; /* inotify descriptor, or -1: poll */
};

int ev_watch_new(struct ev_watch **out, struct ev_reader *r,
		 struct ev_error *err)
{
	struct ev_watch *w = calloc(1, sizeof(*w));
	const char *dir = ev_reader_watch_path(r);

	*out = NULL;
	if (w == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	w->ino = -1;
	if (dir != NULL)
		w->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ino >= 0 &&
	    inotify_add_watch(w->ino, dir,
			      IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO |
				      IN_CREATE) < 0) {
		close(w->ino);
		w->ino = -1;
	}
	*out = w;
	return 0;
}

void ev_watch_free(struct ev_watch *w)
{
	if (w == NULL)
		return;
	if (w->ino >= 0)
		close(w->ino);
	free(w);
}

int ev_watch_fd(const struct ev_watch *w)
{
	return w != NULL ? w->ino : -1;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	nanosleep(&ts, NULL); /* a signal ends it early, as it should */
}

int ev_watch_wait(struct ev_watch *w, struct ev_reader *r, int64_t timeout_ms,
		  struct ev_error *err)
{
	struct pollfd pfd;
	char buf[4096];
	int rc;

	rc = ev_reader_refresh(r, err);
	if (rc != 0 || timeout_ms <= 0)
		return rc;
	if (w != NULL && w->ino >= 0) {
		pfd.fd = w->ino;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1,
			 timeout_ms > 60000 ? 60000 : (int)timeout_ms) > 0)
			while (read(w->ino, buf, sizeof(buf)) > 0)
				;
	} else {
		sleep_ms(timeout_ms < EV_WATCH_POLL_MS ? timeout_ms
						       : EV_WATCH_POLL_MS);
	}
	return ev_reader_refresh(r, err);
}
