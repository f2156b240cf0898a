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

/* an event given to the writer and not durable yet: a conflict names it */
struct pend {
	uint64_t tag, version;
	size_t id_off; /* in ids */
	uint32_t id_n;
	int32_t partition; /* a Kafka log's record's, else -1 */
	int64_t koffset;   /* and its offset there */
};

struct ev_replay {
	struct ev_writer *w;
	char *source; /* the source as named to the user */
	struct ev_replay_stats st;
	int failed;
	int kafka; /* the source is a Kafka log */
	/* the events in flight, in tag order: q[qh] to q[qh + qn - 1], their
	 * ids in ids; only the consumer's thread touches them */
	struct pend *q;
	size_t qh, qn, qcap;
	struct ev_buf ids;
	uint64_t durable; /* the last tag made durable (writer's thread) */
	uint64_t stop;	  /* the offset a failure stopped at, or UINT64_MAX */
	/* events the scan skipped (ev_replay_skipped()): their offsets, and
	 * why for the first EV_REPLAY_SKIP_WHY */
	uint64_t *skip_off;
	size_t nskip, capskip;
	char *skip_why[EV_REPLAY_SKIP_WHY];
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
	if (n > 0)
		__atomic_store_n(&r->durable, acks[n - 1].tag,
				 __ATOMIC_RELEASE);
}

/* Remember an event in flight (ids longer than a message shows are
 * cut); forget those made durable.  -1: out of memory. */
static int pend_push(struct ev_replay *r, uint64_t tag,
		     const struct ev_rec *rec, const struct ev_event *ev)
{
	uint64_t durable = __atomic_load_n(&r->durable, __ATOMIC_ACQUIRE);
	size_t id_n = ev->id.n > 200 ? 200 : ev->id.n, i, base;
	struct pend *nq;

	while (r->qn > 0 && r->q[r->qh].tag <= durable) {
		r->qh++;
		r->qn--;
	}
	if (r->qn == 0) {
		r->qh = 0;
		r->ids.len = 0;
	}
	if (r->qh + r->qn == r->qcap && r->qh > 0) {
		/* slide what is left to the front, ids too */
		base = r->q[r->qh].id_off;
		memmove(r->q, r->q + r->qh, r->qn * sizeof(*r->q));
		memmove(r->ids.p, r->ids.p + base, r->ids.len - base);
		r->ids.len -= base;
		for (i = 0; i < r->qn; i++)
			r->q[i].id_off -= base;
		r->qh = 0;
	}
	if (r->qn == r->qcap) {
		nq = realloc(r->q, (r->qcap ? 2 * r->qcap : 256) * sizeof(*nq));
		if (nq == NULL)
			return -1;
		r->q = nq;
		r->qcap = r->qcap ? 2 * r->qcap : 256;
	}
	if (ev_buf_append(&r->ids, ev->id.p, id_n) != 0)
		return -1;
	r->q[r->qh + r->qn] = (struct pend){
		tag,
		ev->version,
		r->ids.len - id_n,
		(uint32_t)id_n,
		rec->kafka ? rec->partition : -1,
		rec->kafka ? rec->koffset : 0,
	};
	r->qn++;
	return 0;
}

/* The event in flight with tag, or NULL. */
static const struct pend *pend_find(const struct ev_replay *r, uint64_t tag)
{
	size_t i;

	for (i = r->qh; i < r->qh + r->qn; i++)
		if (r->q[i].tag == tag)
			return &r->q[i];
	return NULL;
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
	r->stop = UINT64_MAX;
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

/* The version a conflict's message says the stream is at (resolve.c:
 * "stream 'S' is at version N, event has version M"), or -1. */
static int conflict_version(const char *msg, uint64_t *n)
{
	static const char at[] = " is at version ";
	const char *p = NULL, *q;
	char *end;

	if (strstr(msg, ", event has version ") == NULL)
		return -1;
	for (q = strstr(msg, at); q != NULL; q = strstr(q + 1, at))
		p = q;
	if (p == NULL)
		return -1;
	*n = strtoull(p + sizeof(at) - 1, &end, 10);
	return end > p + sizeof(at) - 1 && *end == ',' ? 0 : -1;
}

/* The writer failed: say which event of the source it stopped at, and
 * at a version conflict its id and the version its stream expected. */
static int failed(struct ev_replay *r, int rc, struct ev_error *err)
{
	uint64_t tag = ev_writer_failed_tag(r->w), have;
	const struct pend *p = pend_find(r, tag);

	r->failed = 1;
	if (tag > 0 && r->stop == UINT64_MAX)
		r->stop = tag - 1;
	if (rc == EV_EAGAIN && p != NULL &&
	    conflict_version(err->msg, &have) == 0) {
		ev_err_prefix(err, "event '%.*s': ", (int)p->id_n,
			      (const char *)r->ids.p + p->id_off);
		/* the suffix is dropped rather than cut when there is no room
		 */
		if (strlen(err->msg) + 32 < sizeof(err->msg))
			snprintf(err->msg + strlen(err->msg),
				 sizeof(err->msg) - strlen(err->msg),
				 ", expected %llu",
				 (unsigned long long)have + 1);
	}
	/* a Kafka log's record by its place, as -o pretty shows it (the
	 * tag counts the records read) */
	if (p != NULL && p->partition >= 0)
		ev_err_prefix(err,
			      "offset %d:%lld of '%s': ", (int)p->partition,
			      (long long)p->koffset, r->source);
	else if (tag > 0 && !r->kafka)
		ev_err_prefix(err, "offset %llu of '%s': ",
			      (unsigned long long)(tag - 1), r->source);
	else if (tag > 0)
		ev_err_prefix(err, "'%s': ", r->source);
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
	r->kafka |= rec->kafka;
	if (pend_push(r, rec->offset + 1, rec, ev) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
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

int ev_replay_skipped(struct ev_replay *r, uint64_t offset, const char *why,
		      struct ev_error *err)
{
	uint64_t *nv;
	size_t cap;

	if (r->nskip < EV_REPLAY_SKIP_WHY &&
	    (r->skip_why[r->nskip] = strdup(why)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (r->nskip == r->capskip) {
		cap = r->capskip ? 2 * r->capskip : 64;
		if ((nv = realloc(r->skip_off, cap * sizeof(*nv))) == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		r->skip_off = nv;
		r->capskip = cap;
	}
	r->skip_off[r->nskip++] = offset;
	return 0;
}

uint64_t ev_replay_skips(const struct ev_replay *r)
{
	size_t lo = 0, hi = r->nskip, mid;

	/* offsets come in order: those before the stop */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (r->skip_off[mid] < r->stop)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *ev_replay_skip_why(const struct ev_replay *r, size_t i)
{
	return i < EV_REPLAY_SKIP_WHY && i < ev_replay_skips(r) ? r->skip_why[i]
								: NULL;
}

const struct ev_replay_stats *ev_replay_stats(const struct ev_replay *r)
{
	return &r->st;
}

int ev_replay_close(struct ev_replay *r, struct ev_error *err)
{
	struct ev_error e2;
	size_t i;
	int rc = 0;

	if (r == NULL)
		return 0;
	if (r->w != NULL)
		rc = ev_writer_close(r->w, err != NULL ? err : &e2);
	free(r->source);
	free(r->q);
	ev_buf_free(&r->ids);
	for (i = 0; i < EV_REPLAY_SKIP_WHY; i++)
		free(r->skip_why[i]);
	free(r->skip_off);
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
