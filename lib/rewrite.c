/*
 * rewrite.c - ev_rewrite(): a whole log migrated into a new one, every
 * event upcast to its current version (evreplay(1) REWRITING).  Where
 * the new log is made, and how it gets its name, is placing.c's.
 *
 * The source is read once, in offset order, each record upcast by the
 * upcaster a scan uses (upcast.c), and what comes out is handed to a
 * verbatim writer (writer.c) on a log made beside the target: records
 * as they are stored, not through JSON.  Until the first event that a
 * step drops, splits, moves to another stream or gives another version,
 * the new log's streams are the source's, and each record keeps its
 * version and link, with only its head read; from there on, streams
 * are numbered and linked here against the new log's state, as a writer
 * would, without its dedupe.  A rewrite that drops and splits nothing
 * keeps every offset, and then the log id and the consumer groups too.
 *
 * A thread reads the new log back as the writer makes it durable,
 * building its state (which becomes its snapshot) and a digest of each
 * event's offset, id, stream and version; the writing side keeps the
 * same digest.  Once the last event is in, the two must agree, the
 * count must be what was read less what was dropped plus what splits
 * made, and each stream must end at its version in the source, changed
 * only by what the rewrite dropped, split or moved.  Then everything is
 * synced, and the new log takes its name, or, in place, its swap with
 * the source is made under the source's lock, after the events appended
 * meanwhile are taken in.  Until then the source is only read.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rewrite_int.h"

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int oom(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "out of memory");
}

/* ------------------------------------------------------------ streams */

static struct smark *smark(struct rw *r, const char *name, size_t n)
{
	uint64_t h = ev_hash64(name, n);
	size_t j, cap;

	if (2 * (r->sm_n + 1) > r->sm_cap) {
		struct smark *old = r->sm, *nv;
		size_t oc = r->sm_cap, i;
		cap = oc ? 2 * oc : 64;
		if ((nv = calloc(cap, sizeof(*nv))) == NULL)
			return NULL;
		for (i = 0; i < oc; i++) {
			if (old[i].h == 0)
				continue;
			for (j = old[i].h & (cap - 1); nv[j].h != 0;
			     j = (j + 1) & (cap - 1))
				;
			nv[j] = old[i];
		}
		free(old);
		r->sm = nv;
		r->sm_cap = cap;
	}
	cap = r->sm_cap;
	for (j = h & (cap - 1); r->sm[j].h != 0; j = (j + 1) & (cap - 1))
		if (r->sm[j].h == h && r->sm[j].name_len == n &&
		    memcmp(r->sm_names.p + r->sm[j].name_off, name, n) == 0)
			return &r->sm[j];
	r->sm[j].h = h;
	r->sm[j].name_off = r->sm_names.len;
	r->sm[j].name_len = n;
	r->sm[j].delta = 0;
	r->sm[j].renumbered = 0;
	if (ev_buf_append(&r->sm_names, name, n) != 0) {
		r->sm[j].h = 0;
		return NULL;
	}
	r->sm_n++;
	return &r->sm[j];
}

static const struct smark *smark_find(const struct rw *r, const char *name,
				      size_t n)
{
	uint64_t h;
	size_t j;

	if (r->sm_cap == 0)
		return NULL;
	h = ev_hash64(name, n);
	for (j = h & (r->sm_cap - 1); r->sm[j].h != 0;
	     j = (j + 1) & (r->sm_cap - 1))
		if (r->sm[j].h == h && r->sm[j].name_len == n &&
		    memcmp(r->sm_names.p + r->sm[j].name_off, name, n) == 0)
			return &r->sm[j];
	return NULL;
}

static int renumbered(struct rw *r, const struct ev_str *s,
		      struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct smark *m = smark(r, s->p, s->n);

	if (m == NULL)
		return oom(err);
	if (m->renumbered)
		return 0;
	m->renumbered = 1;
	if (res->renumbered < EV_REWRITE_NAMES &&
	    (res->renumbered_names[res->renumbered] = strndup(s->p, s->n)) ==
		    NULL)
		return oom(err);
	res->renumbered++;
	return 0;
}

static int delta(struct rw *r, const struct ev_str *s, int64_t d,
		 struct ev_error *err)
{
	struct smark *m;

	if (s->p == NULL)
		return 0;
	if ((m = smark(r, s->p, s->n)) == NULL)
		return oom(err);
	m->delta += d;
	return 0;
}

/* ------------------------------------------------------------ copying */

/* A line of the offset map: old offset, new first offset, count. */
static int map_line(struct rw *r, uint64_t old, uint64_t count,
		    struct ev_error *err)
{
	if (ev_buf_printf(&r->map, "%llu %llu %llu\n", (unsigned long long)old,
			  (unsigned long long)r->next,
			  (unsigned long long)count) != 0)
		return oom(err);
	return 0;
}

/* A record's part in the digest of a log: its offset, id, stream and
 * version, which the writing and the reading back must agree on. */
static uint64_t digest(uint64_t d, uint64_t offset, uint64_t ih, uint64_t sh,
		       uint64_t version)
{
	uint64_t x = offset * 0x9e3779b97f4a7c15ULL ^ ih ^
		     (sh * 0xff51afd7ed558ccdULL) ^
		     (version * 0xc4ceb9fe1a85ec53ULL);

	return (d ^ x) * 0x100000001b3ULL + (d >> 29);
}

/*
 * From the first event that moves an offset or a stream, or changes a
 * version, on: streams are numbered and linked as the new log has them,
 * from its state, read back from what was written so far.  Before it,
 * the new log's streams are the source's, and records keep their own.
 */
static int diverge(struct rw *r, struct ev_error *err)
{
	int rc;

	if (!r->clean)
		return 0;
	r->clean = 0;
	if ((rc = ev_writer_flush(r->w, err)) != 0)
		return rc;
	return ev_state_load(&r->st, r->dst, 0, err);
}

/* Append one record of the new log: as it is, or numbered and linked in
 * its stream (see diverge()). */
static int put(struct rw *r, const uint8_t *p, size_t n, uint64_t offset,
	       struct ev_error *err)
{
	struct ev_event ev;
	struct ev_sref ref;
	uint64_t sh = 0, version, last_v, last_off;
	int rc;

	if ((rc = r->clean ? ev_event_decode_head(p, n, &ev, err)
			   : ev_event_decode(p, n, &ev, err)) != 0) {
		ev_err_damaged(err, r->name_src, offset);
		return rc;
	}
	if (ev.stream.p != NULL)
		sh = ev_hash64(ev.stream.p, ev.stream.n);
	version = ev.version;
	if (!r->clean && ev.stream.p != NULL) {
		memset(&ref, 0, sizeof(ref));
		ev_state_stream_h(r->st, ev.stream.p, ev.stream.n, sh, &ref);
		last_v = ref.last_version;
		last_off = ref.last_offset;
		/* a stream whose earlier events were trimmed, and that the
		 * base does not know: its link says so */
		if (!ref.exists && ev.version > 1 && ev.prev != EV_NO_PREV &&
		    ev.prev < r->res->first) {
			last_v = ev.version - 1;
			last_off = ev.prev;
		}
		version = last_v + 1;
		if (ev.version != 0 && ev.version != version &&
		    (rc = renumbered(r, &ev.stream, err)) != 0)
			return rc;
		if (ev.version != version || ev.prev != last_off) {
			r->rel.len = 0;
			if ((rc = ev_record_relink(&r->rel, p, n, &ev, version,
						   last_off, err)) != 0)
				return rc;
			p = r->rel.p;
			n = r->rel.len;
		}
		if (ev_state_apply_h(r->st, &ref, ev.stream.p, ev.stream.n, sh,
				     0, version, r->next) != 0)
			return oom(err);
	}
	if ((rc = ev_writer_add(r->w, p, n, ev.time, err)) != 0)
		return rc;
	r->digest = digest(r->digest, r->next, ev_hash64(ev.id.p, ev.id.n), sh,
			   ev.stream.p != NULL ? version : 0);
	r->next++;
	r->res->written++;
	return 0;
}

/* An event that cannot be upcast, worded as a scan words it. */
static int upcast_failed(struct rw *r, const struct ev_rec *rec, int rc,
			 struct ev_error *why, struct ev_error *err)
{
	*err = *why;
	if (rc == EV_EDATA && ev_upcaster_damaged(r->o->upcaster))
		ev_err_damaged(err, r->name_src, rec->offset);
	else if (rc == EV_EDATA)
		ev_err_prefix(err, "upcast failed in '%s': ", r->name_src);
	return rc;
}

/* One record of the source, as it is or upcast, into the new log. */
static int one(struct rw *r, const struct ev_rec *rec, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct ev_upcaster *u = r->o->upcaster;
	struct ev_event src, ev;
	struct ev_error why;
	const uint8_t *p;
	size_t n;
	int k, i, changed, moved, rc;

	/* offsets the source lost to a gap (evlog(5) Gaps) */
	for (; r->expect < rec->offset; r->expect++) {
		if ((rc = diverge(r, err)) != 0)
			return rc;
		res->lost++;
		if ((rc = map_line(r, r->expect, 0, err)) != 0)
			return rc;
	}
	r->expect = rec->offset + 1;
	res->read++;
	if (u == NULL || !ev_upcaster_wants(u, rec->p, rec->n)) {
		res->unchanged++;
		return put(r, rec->p, rec->n, rec->offset, err);
	}
	k = ev_upcaster_apply(u, rec->p, rec->n, rec->offset, &changed, &why);
	if (k < 0)
		return upcast_failed(r, rec, k, &why, err);
	if (changed)
		res->upcast++;
	else
		res->unchanged++;
	if (k == 1 && !changed) {
		ev_upcaster_record(u, 0, &p, &n);
		return put(r, p, n, rec->offset, err);
	}
	/* dropped, split or changed: which streams lose or gain events */
	if (ev_event_decode_head(rec->p, rec->n, &src, err) != 0) {
		ev_err_damaged(err, r->name_src, rec->offset);
		return EV_EDATA;
	}
	if (k != 1 && (rc = diverge(r, err)) != 0)
		return rc;
	if (k == 0) {
		res->dropped++;
		if ((rc = map_line(r, rec->offset, 0, err)) != 0 ||
		    (rc = delta(r, &src.stream, -1, err)) != 0)
			return rc;
	} else if (k > 1) {
		res->split++;
		res->parts += (uint64_t)k;
		if ((rc = map_line(r, rec->offset, (uint64_t)k, err)) != 0 ||
		    (rc = delta(r, &src.stream, -1, err)) != 0)
			return rc;
	}
	for (i = 0; i < k; i++) {
		ev_upcaster_record(u, i, &p, &n);
		if (ev_event_decode_head(p, n, &ev, err) != 0) {
			ev_err_damaged(err, r->name_src, rec->offset);
			return EV_EDATA;
		}
		moved = ev.stream.n != src.stream.n ||
			(ev.stream.p == NULL) != (src.stream.p == NULL) ||
			(ev.stream.n > 0 &&
			 memcmp(ev.stream.p, src.stream.p, ev.stream.n) != 0);
		if (k > 1 && (rc = delta(r, &ev.stream, 1, err)) != 0)
			return rc;
		if (k == 1 && moved &&
		    ((rc = delta(r, &ev.stream, 1, err)) != 0 ||
		     (rc = delta(r, &src.stream, -1, err)) != 0))
			return rc;
		/* a step that moves the event, or changes its version */
		if ((moved || ev.version != src.version) &&
		    (rc = diverge(r, err)) != 0)
			return rc;
		if ((rc = put(r, p, n, rec->offset, err)) != 0)
			return rc;
	}
	return 0;
}

static void tick(struct rw *r, uint64_t position, uint64_t end)
{
	const struct ev_rewrite_opts *o = r->o;
	struct ev_rewrite_progress pr;
	int64_t now;

	if (o->tick == NULL || ++r->tick_n % TICK_EVERY != 0)
		return;
	now = (int64_t)(since(&r->t0) * 1000);
	if (now < r->tick_at)
		return;
	r->tick_at = now + (o->tick_ms > 0 ? o->tick_ms : 100);
	pr.first = r->res->first;
	pr.end = end;
	pr.position = position;
	pr.read = r->res->read;
	o->tick(o->tick_ctx, &pr);
}

static int stopped(struct rw *r)
{
	return r->o->stop != NULL && *r->o->stop;
}

static int interrupted(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "interrupted");
}

/* Every record the reader has, up to its end. */
static int copy(struct rw *r, struct ev_error *err)
{
	uint64_t end = ev_reader_end_offset(r->rd);
	struct ev_rec rec;
	int k, rc;

	while ((k = ev_reader_next(r->rd, &rec, err)) == 1) {
		if (stopped(r))
			return interrupted(err);
		if ((rc = one(r, &rec, err)) != 0)
			return rc;
		tick(r, rec.offset + 1, end);
	}
	if (k < 0)
		return k;
	/* a gap at the end (in place, events may follow it) */
	end = ev_reader_end_offset(r->rd);
	for (; r->expect < end; r->expect++) {
		if ((rc = diverge(r, err)) != 0)
			return rc;
		r->res->lost++;
		if ((rc = map_line(r, r->expect, 0, err)) != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ the new log */

/*
 * The reading back of the new log, on a thread of its own: it follows
 * the log as the writer makes it durable, as a reader following a log
 * does, and builds the streams from what it reads, so that the check
 * costs little time after the last event is written.
 */
struct verifier {
	pthread_t th;
	struct ev_reader *rd;
	struct ev_state *st; /* the new log's, as read back */
	uint64_t count;	     /* the events read back */
	uint64_t next;	     /* the offset the next one must have */
	uint64_t digest;     /* of what they hold (digest()) */
	pthread_mutex_t mu;
	int done;   /* the writer is closed: read to the end, and stop */
	int joined; /* the thread has ended */
	int rc;
	struct ev_error err;
};

/* One event read back: into the streams, and into the digest. */
static int read_back(struct verifier *v, const struct ev_rec *rec,
		     const struct ev_event *ev)
{
	struct ev_sref ref;
	uint64_t sh = 0, ih = ev_hash64(ev->id.p, ev->id.n), version = 0;

	memset(&ref, 0, sizeof(ref));
	if (ev->stream.p != NULL) {
		sh = ev_hash64(ev->stream.p, ev->stream.n);
		ev_state_stream_h(v->st, ev->stream.p, ev->stream.n, sh, &ref);
		/* one without a version is the next (older writers) */
		version = ev->version ? ev->version : ref.last_version + 1;
	}
	v->digest = digest(v->digest, rec->offset, ih, sh,
			   ev->stream.p ? ev->version : 0);
	return ev_state_apply_h(v->st, &ref, ev->stream.p, ev->stream.n, sh, ih,
				version, rec->offset);
}

static void *verifier_main(void *arg)
{
	struct verifier *v = arg;
	struct ev_event ev;
	struct ev_rec rec;
	int k, done;

	for (;;) {
		k = ev_reader_next(v->rd, &rec, &v->err);
		if (k == 1) {
			if ((k = ev_event_decode_head(rec.p, rec.n, &ev,
						      &v->err)) != 0) {
				v->rc = k;
				break;
			}
			if (rec.offset != v->next) {
				v->rc = ev_seterr(&v->err, EV_EDATA,
						  "offset %llu where %llu "
						  "was due",
						  (unsigned long long)
							  rec.offset,
						  (unsigned long long)v->next);
				break;
			}
			if ((k = read_back(v, &rec, &ev)) != 0) {
				v->rc = oom(&v->err);
				break;
			}
			v->next++;
			v->count++;
			continue;
		}
		if (k < 0) {
			v->rc = k;
			break;
		}
		/* whatever was durable when done was set, the refresh after
		 * it sees */
		pthread_mutex_lock(&v->mu);
		done = v->done;
		pthread_mutex_unlock(&v->mu);
		if ((k = ev_reader_refresh(v->rd, &v->err)) < 0) {
			v->rc = k;
			break;
		}
		if (k == 1)
			continue;
		if (done)
			break;
		usleep(2000); /* until the writer has made more durable */
	}
	return NULL;
}

static int verifier_start(struct rw *r, struct ev_error *err)
{
	struct verifier *v = calloc(1, sizeof(*v));
	int rc;

	if (v == NULL)
		return oom(err);
	/* the base, if any; the ids too, for the snapshot */
	if ((rc = ev_reader_open(&v->rd, r->dst, err)) != 0 ||
	    (rc = ev_state_load(&v->st, r->dst, 1, err)) != 0) {
		ev_reader_free(v->rd);
		free(v);
		return rc;
	}
	v->next = r->res->first;
	pthread_mutex_init(&v->mu, NULL);
	if (pthread_create(&v->th, NULL, verifier_main, v) != 0) {
		pthread_mutex_destroy(&v->mu);
		ev_reader_free(v->rd);
		ev_state_free(v->st);
		free(v);
		return ev_seterr(err, EV_ERR, "cannot start a thread");
	}
	r->vf = v;
	return 0;
}

/* Let the thread read to the end, and wait for it: its status. */
static int verifier_stop(struct rw *r, struct ev_error *err)
{
	struct verifier *v = r->vf;
	int rc;

	if (v == NULL)
		return 0;
	if (!v->joined) {
		pthread_mutex_lock(&v->mu);
		v->done = 1;
		pthread_mutex_unlock(&v->mu);
		pthread_join(v->th, NULL);
		pthread_mutex_destroy(&v->mu);
		v->joined = 1;
	}
	rc = v->rc;
	if (rc != 0 && err != NULL) {
		*err = v->err;
		ev_err_prefix(err, "cannot read the new log back: ");
	}
	return rc;
}

static void verifier_free(struct rw *r)
{
	struct verifier *v = r->vf;

	if (v == NULL)
		return;
	verifier_stop(r, NULL);
	ev_reader_free(v->rd);
	ev_state_free(v->st);
	free(v);
	r->vf = NULL;
}

static int make_temp(struct rw *r, struct ev_error *err)
{
	struct ev_writer_opts wo;
	int rc;

	if (mkdirat(r->pfd, r->tmp, 0777) != 0)
		return ev_seterr_errno(err,
				       errno == EEXIST ? EV_EAGAIN : EV_EIO,
				       errno, "cannot create '%s'",
				       r->tmp_path);
	r->made = 1;
	r->tfd = openat(r->pfd, r->tmp,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->tfd < 0 || flock(r->tfd, LOCK_EX | LOCK_NB) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot lock '%s'",
				       r->tmp_path);
	if ((rc = ev_log_create_at(r->tmp_path, ev_log_get_config(r->src),
				   r->res->first, r->src->id, err)) != 0 ||
	    (rc = ev_log_open(&r->dst, r->tmp_path, err)) != 0 ||
	    (rc = ev_state_copy_base(r->src, r->res->first, r->dst, err)) != 0)
		return rc;
	/* synced once at the end, not batch by batch */
	memset(&wo, 0, sizeof(wo));
	wo.threaded = 1;
	wo.sync_set = 1;
	wo.sync = EV_SYNC_NONE;
	if ((rc = ev_writer_open(&r->w, r->dst, &wo, err)) != 0)
		return rc;
	ev_writer_verbatim(r->w);
	return verifier_start(r, err);
}

struct check {
	struct rw *r;
	struct ev_state *old, *now; /* the source's, the new log's */
	struct ev_error *err;
	int failed; /* err is set */
};

/* Stream s is at version have in the new log: is that its version in
 * the source, changed by the events the rewrite dropped, split or moved?
 * (Past a gap of the source, the versions it lacks are closed up, and
 * only the count and the digest tell.) */
static int check_stream(struct check *c, const struct ev_stream_info *s,
			uint64_t have)
{
	struct ev_stream_info o;
	const struct smark *sm = smark_find(c->r, s->name, s->name_len);
	int64_t d = sm != NULL ? sm->delta : 0;
	uint64_t old = 0, want;
	int nlen = s->name_len > 200 ? 200 : (int)s->name_len;

	if (c->r->res->lost > 0)
		return 0;
	if (ev_state_stream(c->old, s->name, s->name_len, &o))
		old = o.last_version;
	want = (uint64_t)((int64_t)old + d);
	if (have == want)
		return 0;
	c->failed = 1;
	return ev_seterr(c->err, EV_EDATA,
			 "the new log does not check out: stream '%.*s' is at "
			 "version %llu, not %llu",
			 nlen, s->name, (unsigned long long)have,
			 (unsigned long long)want);
}

static int check_new(void *ctx, const struct ev_stream_info *s)
{
	return check_stream(ctx, s, s->last_version);
}

/* A stream of the source that the new log lacks must have lost every
 * event. */
static int check_old(void *ctx, const struct ev_stream_info *s)
{
	struct check *c = ctx;
	struct ev_stream_info n;

	return ev_state_stream(c->now, s->name, s->name_len, &n)
		       ? 0
		       : check_stream(c, s, 0);
}

/*
 * The new log read back, whole, against what was written and against
 * the source: its events counted, their offsets, ids, streams and
 * versions as written (the digest), and so each stream's last version
 * as the new log's state has it, which must be the source's, changed
 * only by what the rewrite dropped, split or moved.
 */
static int verify(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct ev_state *ost = NULL;
	struct check c;
	uint64_t want = res->read - res->dropped + res->parts - res->split;
	int rc;

	if ((rc = verifier_stop(r, err)) != 0)
		goto out;
	if (r->vf->count != want || res->written != want ||
	    res->new_end - res->first != want) {
		rc = ev_seterr(err, EV_EDATA,
			       "the new log does not check out: it holds "
			       "%llu events, not %llu",
			       (unsigned long long)r->vf->count,
			       (unsigned long long)want);
		goto out;
	}
	if (r->vf->digest != r->digest) {
		rc = ev_seterr(err, EV_EDATA,
			       "the new log does not check out: its events "
			       "are not those written");
		goto out;
	}
	if ((rc = ev_state_load_upto(&ost, r->src, 0, res->old_end, err)) != 0)
		goto out;
	memset(&c, 0, sizeof(c));
	c.r = r;
	c.old = ost;
	c.now = r->vf->st;
	c.err = err;
	rc = ev_state_foreach_stream(c.now, check_new, &c);
	if (rc == 0)
		rc = ev_state_foreach_stream(ost, check_old, &c);
	if (rc != 0 && !c.failed)
		rc = ev_seterr(err, EV_EDATA,
			       "cannot read the streams of '%s' or of the new "
			       "log: a snapshot is damaged",
			       r->name_src);
out:
	ev_state_free(ost);
	return rc;
}

/* Copy the groups of the source (their files, whole) when offsets are
 * kept and they do not read past the new log's end. */
static int groups(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct ev_group_state *gs = NULL;
	struct ev_buf b = {0};
	size_t n = 0, i;
	char name[EV_GROUP_NAME_MAX + 16];
	int sfd = -1, dfd = -1, fd, rc;

	if ((rc = ev_group_list(r->src, NULL, &gs, &n, err)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		res->groups += gs[i].exists;
	if (!res->offsets_kept || res->groups == 0)
		goto out;
	sfd = ev_openat(r->src->dirfd, "groups", O_RDONLY | O_DIRECTORY, 0);
	if (sfd < 0 || (rc = ev_log_mkdir(r->dst, "groups", err)) != 0 ||
	    (dfd = ev_openat(r->dst->dirfd, "groups", O_RDONLY | O_DIRECTORY,
			     0)) < 0) {
		rc = rc ? rc
			: ev_seterr_errno(err, EV_EIO, errno,
					  "cannot open the groups of '%s'",
					  r->name_src);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct stat st;
		if (!gs[i].exists)
			continue;
		if (gs[i].next > res->new_end) {
			ev_say(r->o->notice, r->o->notice_ctx,
			       "group '%s' is at offset %llu, past the end of "
			       "the new log: not carried over",
			       gs[i].name, (unsigned long long)gs[i].next);
			continue;
		}
		snprintf(name, sizeof(name), "%s.group", gs[i].name);
		fd = ev_openat(sfd, name, O_RDONLY, 0);
		b.len = 0;
		if (fd < 0 || fstat(fd, &st) != 0 ||
		    ev_buf_reserve(&b, (size_t)st.st_size + 1) != 0 ||
		    ev_read_full(fd, b.p, (size_t)st.st_size, 0) != 1) {
			rc = ev_seterr_errno(err, EV_EIO, errno ? errno : EIO,
					     "cannot read '%s/groups/%s'",
					     r->name_src, name);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		if (ev_file_create(dfd, name, b.p, (size_t)st.st_size) != 0) {
			rc = ev_seterr_errno(err, EV_EIO, errno,
					     "cannot write '%s/groups/%s'",
					     r->tmp_path, name);
			goto out;
		}
		res->groups_carried++;
	}
	if (ev_fsync_dir(dfd) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				     r->tmp_path);
out:
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	ev_buf_free(&b);
	free(gs);
	return rc;
}

/* Every segment and index of the new log to disk, and the head's
 * recovery point at its end: it was all written here, and checked. */
static int sync_all(struct rw *r, struct ev_error *err)
{
	static const char *const ext[4] = {"seg", "idx", "tix", "six"};
	struct ev_log *log = r->dst;
	struct ev_head h;
	uint8_t hb[EV_HEAD_SIZE];
	uint64_t *bases = NULL;
	size_t n = 0, i;
	char name[40];
	int fd, j, rc;

	if ((rc = ev_log_segments(log->dirfd, &bases, &n, err)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		for (j = 0; j < 4 && rc == 0; j++) {
			ev_segment_name(name, sizeof(name), bases[i], ext[j]);
			fd = ev_openat(log->dirfd, name, O_RDONLY, 0);
			if (fd < 0 && errno == ENOENT && j > 0)
				continue; /* an index is a cache */
			if (fd < 0 || fdatasync(fd) != 0)
				rc = ev_seterr_errno(err, EV_EIO, errno,
						     "cannot sync '%s/%s'",
						     log->path, name);
			if (fd >= 0)
				close(fd);
		}
	free(bases);
	if (rc != 0)
		return rc;
	if (ev_head_read(log->dirfd, &h) != 0)
		return ev_seterr(err, EV_EIO, "cannot read '%s/head'",
				 log->path);
	h.checked = h.end;
	ev_head_encode(hb, &h);
	fd = ev_openat(log->dirfd, "head", O_RDWR, 0);
	if (fd < 0 || ev_write_full(fd, hb, sizeof(hb), 0) != 0 ||
	    fdatasync(fd) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno,
				     "cannot write '%s/head'", log->path);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && ev_fsync_dir(log->dirfd) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				     log->path);
	return rc;
}

/* Everything after the last event: the id, the check, the snapshots,
 * the groups, the map, and all of it to disk. */
static int seal(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	int rc;

	rc = ev_writer_close(r->w, err);
	r->w = NULL;
	if (rc != 0)
		return rc;
	res->new_end = r->next;
	res->offsets_kept =
		res->dropped == 0 && res->split == 0 && res->lost == 0;
	/* the thread reading it back has read it all before the id goes */
	if ((rc = verify(r, err)) != 0)
		return rc;
	/* other offsets, another log: what named a place in the old one
	 * (a group, a cursor, a dead letter) must not pass for the new */
	if (!res->offsets_kept &&
	    ((rc = ev_log_retag(r->dst, err)) != 0 ||
	     (rc = ev_state_copy_base(r->src, res->first, r->dst, err)) != 0))
		return rc;
	if ((rc = ev_state_snapshot(r->vf->st, err)) != 0 ||
	    (rc = groups(r, err)) != 0 || (rc = sync_all(r, err)) != 0)
		return rc;
	if (!res->offsets_kept)
		return ev_rw_write_map(r, err);
	if (!r->o->in_place)
		ev_rw_remove_stale_map(r);
	return 0;
}

/* In place: hold the source's writer lock (evlog(5) Writers), so that
 * the events appended since the copy began can be taken in and nothing
 * more comes before the swap. */
static int lock_source(struct rw *r, struct ev_error *err)
{
	struct stat held, named;
	char path[4300];

	r->lockfd = ev_openat(r->src->dirfd, "lock", O_RDWR, 0);
	if (r->lockfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/lock'", r->name_src);
	while (flock(r->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot lock '%s/lock'",
					       r->name_src);
		if (stopped(r))
			return interrupted(err);
		usleep(1000);
	}
	snprintf(path, sizeof(path), "%s/%s", r->dir, r->base);
	if (fstat(r->src->dirfd, &held) != 0 || stat(path, &named) != 0 ||
	    held.st_dev != named.st_dev || held.st_ino != named.st_ino)
		return ev_seterr(err, EV_EAGAIN,
				 "'%s' was replaced while it was being "
				 "rewritten",
				 r->name_src);
	return 0;
}

/* ------------------------------------------------------------ the run */

static int run(struct rw *r, struct ev_error *err)
{
	const struct ev_rewrite_opts *o = r->o;
	struct ev_rewrite_result *res = r->res;
	uint64_t before;
	int rc;

	if ((rc = ev_log_open(&r->src, o->source, err)) != 0 ||
	    (rc = ev_rw_names(r, err)) != 0)
		return rc;
	if (o->in_place && (rc = ev_rw_swap_resume(r, err)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = ev_rw_clear_leftovers(r, err)) != 0 ||
	    (rc = ev_reader_open(&r->rd, r->src, err)) != 0)
		return rc;
	ev_reader_set_notice(r->rd, NULL, NULL);
	res->first = r->expect = r->next = ev_reader_first_offset(r->rd);
	r->clean = 1;
	if ((rc = ev_reader_seek(r->rd, res->first, err)) != 0 ||
	    (rc = make_temp(r, err)) != 0 || (rc = copy(r, err)) != 0)
		return rc;
	if (o->in_place) {
		before = res->read;
		if ((rc = lock_source(r, err)) != 0 ||
		    (rc = ev_reader_refresh(r->rd, err)) < 0 ||
		    (rc = copy(r, err)) != 0)
			return rc;
		res->caught_up = res->read - before;
	}
	res->old_end = r->expect;
	if (stopped(r))
		return interrupted(err);
	if ((rc = seal(r, err)) != 0)
		return rc;
	return o->in_place ? ev_rw_swap(r, err) : ev_rw_place(r, err);
}

int ev_rewrite(const struct ev_rewrite_opts *o, struct ev_rewrite_result *res,
	       struct ev_error *err)
{
	struct rw r;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.res = res;
	r.name_src = o->source;
	r.pfd = r.tfd = r.lockfd = -1;
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	res->offsets_kept = 1;
	rc = run(&r, err);
	if (r.w != NULL)
		ev_writer_close(r.w, NULL);
	verifier_free(&r);
	ev_state_free(r.st);
	ev_reader_free(r.rd);
	ev_log_close(r.dst);
	if (rc != 0 && r.made && !r.swapped) {
		/* nothing stays behind but the source as it was */
		char offs[4300];
		snprintf(offs, sizeof(offs), "%s.offsets", r.tmp);
		unlinkat(r.pfd, offs, 0);
		ev_rw_remove_tree(r.pfd, r.tmp);
		ev_fsync_dir(r.pfd);
	}
	if (r.tfd >= 0)
		close(r.tfd);
	if (r.lockfd >= 0)
		close(r.lockfd);
	if (r.pfd >= 0)
		close(r.pfd);
	ev_log_close(r.src);
	free(r.dir);
	free(r.shown);
	free(r.base);
	free(r.tmp);
	free(r.tmp_path);
	free(r.marker);
	ev_buf_free(&r.map);
	ev_buf_free(&r.rel);
	ev_buf_free(&r.sm_names);
	free(r.sm);
	res->seconds = since(&r.t0);
	return rc;
}

void ev_rewrite_result_free(struct ev_rewrite_result *res)
{
	int i;

	if (res == NULL)
		return;
	for (i = 0; i < EV_REWRITE_NAMES; i++)
		free(res->renumbered_names[i]);
	free(res->offsets_path);
	free(res->target);
	free(res->old_path);
	memset(res, 0, sizeof(*res));
}
