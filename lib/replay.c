/*
 * replay.c - struct ev_replay: stored events appended to another log,
 * as evreplay --to-log does (evreplay(1) "Replaying into a log").
 *
 * Each record goes to the writer as it is stored (or as the consumer
 * marked it): id, time, stream, key, meta and data kept, its version
 * too.  The writer does the rest as for any append (resolve.c): an id
 * the target has within its dedupe window is a duplicate and is not
 * appended again; a version that does not follow on from its stream's
 * in the target is a conflict (EV_EAGAIN, naming the stream), unless
 * renumbering; and the record is linked into its stream in the target.
 * It is a consumer's sink: what ev_replay_flush() returns from is
 * durable, so that a group commits only that.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

struct ev_replay {
	struct ev_writer *w;
	char *source; /* the source as named to the user */
	struct ev_replay_stats st;
	int failed;
};

static void on_durable(void *ctx, const struct ev_ack *acks, size_t n)
{
	struct ev_replay *r = ctx;
	size_t i;

	for (i = 0; i < n; i++) {
		if (acks[i].duplicate)
			r->st.duplicates++;
		else
			r->st.appended++;
	}
}

int ev_replay_open(struct ev_replay **out, struct ev_log *target,
		   const char *source, int renumber, struct ev_error *err)
{
	struct ev_writer_opts wo;
	struct ev_replay *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->source = strdup(source)) == NULL) {
		free(r);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	memset(&wo, 0, sizeof(wo));
	wo.renumber = renumber;
	wo.on_durable = on_durable;
	wo.ctx = r;
	if ((rc = ev_writer_open(&r->w, target, &wo, err)) != 0) {
		ev_replay_close(r, NULL);
		return rc;
	}
	*out = r;
	return 0;
}

/* The writer failed: say which event of the source it stopped at. */
static int failed(struct ev_replay *r, int rc, struct ev_error *err)
{
	uint64_t tag = ev_writer_failed_tag(r->w);

	r->failed = 1;
	if (tag > 0)
		ev_err_prefix(err, "offset %llu of '%s': ",
			      (unsigned long long)(tag - 1), r->source);
	return rc;
}

int ev_replay_sink(void *ctx, const struct ev_rec *rec,
		   const struct ev_event *ev, struct ev_error *err)
{
	struct ev_replay *r = ctx;
	int rc;

	if (ev == NULL)
		return ev_seterr(err, EV_EUSAGE, "a replay needs the event");
	/* the tag says where a conflict stopped us: the offset, from 1 */
	rc = ev_writer_add_tagged(r->w, rec->p, rec->n, ev->time,
				  rec->offset + 1, err);
	return rc != 0 ? failed(r, rc, err) : 0;
}

int ev_replay_flush(void *ctx, struct ev_error *err)
{
	struct ev_replay *r = ctx;
	int rc = ev_writer_flush(r->w, err);

	return rc != 0 ? failed(r, rc, err) : 0;
}

const struct ev_replay_stats *ev_replay_stats(const struct ev_replay *r)
{
	return &r->st;
}

int ev_replay_close(struct ev_replay *r, struct ev_error *err)
{
	struct ev_error e2;
	int rc = 0;

	if (r == NULL)
		return 0;
	if (r->w != NULL)
		rc = ev_writer_close(r->w, err != NULL ? err : &e2);
	free(r->source);
	free(r);
	return rc;
}

/* ------------------------------------------------------------ removal */

int ev_dir_empty(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	int rc = 0, sub;

	if (d == NULL) {
		close(dfd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			continue;
		if (depth == 0 ||
		    (sub = openat(dirfd(d), e->d_name,
				  O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) < 0 ||
		    ev_dir_empty(sub, depth - 1) != 0 ||
		    unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int ev_log_remove(const char *path, struct ev_error *err)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	struct stat st;

	if (dfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot remove '%s'",
				       path);
	/* a log, not any directory: its meta file says so */
	if (fstatat(dfd, "meta", &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode)) {
		close(dfd);
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not a log: not removed", path);
	}
	if (ev_dir_empty(dfd, 1) != 0 || rmdir(path) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot remove '%s'",
				       path);
	return 0;
}
