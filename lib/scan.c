/*
 * scan.c - struct ev_scan: the events of a log that a selection picks, in
 * order, as evtail(1) reads them.
 *
 * A scan puts a reader where the selection starts (a stored position, a
 * --from position, the last N matches, or a time), passes each record
 * through the filter, stops where the selection ends (an offset, a time,
 * a number of matches), and, when following, waits for writers to
 * publish more.  One exact stream is read through its links (stream.c)
 * instead of scanning, and the scan then follows on from where the log
 * ended.  Its position is the offset after the last record it read,
 * whether that record matched or not: what a consumer commits.
 *
 * With an upcaster, each record whose type has steps is upcast right
 * after it is read, and the events it becomes go through the filter in
 * its place (so a filter sees the upcast type and data); the others are
 * judged as stored, which is what they stay.  The events one record is
 * split into share its offset, and the position passes it only once the
 * last of them is taken.  The last N matches are then found by reading
 * the selection once ahead, since upcasting may drop, split or retype
 * what a backward search would count.
 *
 * Reading a log, a set without Lua steps upcasts most records ahead of
 * the scan on the reader's read-ahead threads (reader_ahead.c), as they
 * decompress each batch: each thread has an upcaster of its own
 * (ev_upcaster_worker()) that upcasts by the set's plans only, writing
 * the records straight into the batch's buffer, and tells for each
 * record what it became: kept as stored (no step for it), dropped, one
 * record, or left to the scan.  Whatever the plans do not do (a split,
 * a failure, a record that does not decode) the scan upcasts itself,
 * with its own upcaster, as it reads: so a failure is always the scan's
 * upcaster's (ev_upcaster_last_failure()), in order.
 *
 * A set with Lua steps (one Lua state, which cannot be shared) is
 * upcast, reading a log through once (not following, no group), on a
 * thread of its own, a batch ahead of the records the
 * caller takes: the records are read and copied into a batch here, the
 * thread finds which want upcasting and upcasts them, and the scan then
 * goes through the batch as it would through the reader, with the
 * upcast already done, while the thread works on the next batch.  The
 * thread stops a batch at its first failure and no batch follows it
 * until the scan is past it, so a failure is seen with the upcaster
 * as it left it (ev_upcaster_last_failure()); the records after it are
 * upcast here.  An upcaster that counts for --check is not used ahead
 * of the scan, so that it counts what the scan reads, no more.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"
#include "rahook_int.h"
#include "kafka_scan_int.h"

/* One stream's events, read through its links before the scan. */
struct preload {
	struct ev_buf b; /* entries: struct preload_hdr, then the bytes */
	size_t pos;
	uint64_t end; /* the log's end then: follow on from there */
	int active;
};

struct preload_hdr {
	uint64_t offset;
	ev_time_t append_time;
	size_t n;
};

/* A record read ahead, and what the thread made of it. */
struct pitem {
	struct ev_rec rec; /* rec.p: at raw + at */
	size_t at;
	int r;	  /* the reader's: 1 a record, 0 the end, <0 an error */
	int done; /* upcast by the thread: the rest holds */
	int up;	  /* ev_upcaster_wants(), found by the scan */
	struct ev_upcast_hint hint; /* hint.type: type_at into the record
				     * the thread upcasts */
	size_t type_at;
	size_t pre_at; /* that record, when the scan ran the steps before a
			* Lua one (ev_upcaster_prefix()): pre_n bytes at
			* pre.p + pre_at; else rec */
	size_t pre_n;
	int ur; /* ev_upcaster_apply() */
	int damaged;
	size_t part0; /* its records: ends[part0 .. part0 + ur) */
};

struct pbatch {
	struct ev_buf raw, out, pre;
	size_t *ends;
	size_t nends, ends_cap;
	struct pitem *it;
	size_t n, cap, i, nwork; /* the thread upcasts it[0 .. nwork) */
	int last;		 /* nothing is read after it */
	int stopped;		 /* at a failure: it[nwork - 1] */
	int worked;		 /* by the thread (or dropped) */
	int dropped;		 /* queued behind one that stopped */
	struct ev_error end_err, why;
};

#define PIPE_RECORDS 512
#define PIPE_BYTES (256u << 10)
/* Batches given to the thread at most: enough for either thread to run
 * ahead of the other for a while when the two share a core with a
 * third (the reader's) and are not scheduled evenly. */
#define PIPE_DEPTH 6
#define PIPE_NB (PIPE_DEPTH + 1) /* and the scan's own */

/* The batches given to the thread are a queue in b[], the k-th given
 * (counting from 0) at b[k % PIPE_NB]; the scan's is the one before the
 * oldest it has not taken. The thread upcasts them in order; once one
 * stops at a failure, it drops those behind it (nwork 0: the scan
 * upcasts them itself), and so it does with those given to it until the
 * scan has taken all of them. */
struct pipe {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ev_upcaster *up;
	struct ev_upcaster *pre; /* the scan's, for ev_upcaster_prefix() */
	int pre_off;
	struct pbatch b[PIPE_NB];
	struct pbatch *cur; /* the scan's */
	uint64_t given;	    /* batches given to the thread, all told */
	uint64_t taken;	    /* of them, taken back by the scan */
	uint64_t worked;    /* of them, done by the thread (or dropped) */
	int busy;	    /* upcasting one: the upcaster is the thread's */
	int halt;	    /* one stopped: drop all until the scan has them */
	int quit;
};

#define PIPE_AT(pp, k) (&(pp)->b[(k) % PIPE_NB])

/* What the read-ahead threads made of a batch's records. */
enum {
	UI_SCAN,    /* nothing: the scan upcasts it (or finds it wants none) */
	UI_AS_IS,   /* it wants no upcasting */
	UI_DROPPED, /* upcast into none */
	UI_ONE,	    /* upcast into one record: out.p + at, n bytes */
};
struct uitem {
	size_t at;
	uint32_t n;
	int st;
};
struct uaux {
	uint64_t base; /* the batch's first offset */
	size_t count;  /* records of it in it[] */
	struct uitem *it;
	size_t cap;
	struct ev_buf out;
};
/* The hook the scan gives the reader, and the upcasters of its threads */
struct uhook {
	struct ev_reader_hook h;
	const struct ev_upcaster *up;
	struct ev_upcaster *wu[EV_RA_MAX_THREADS];
};
/* a count of matches below this is not worth upcasting batches ahead */
#define UHOOK_MIN_MAX 4096

struct ev_scan {
	struct ev_reader *rd;
	struct ev_filter *filter;
	struct ev_filter *none; /* the filter when the caller gave none */
	struct ev_watch *watch;
	char *name;
	struct ev_pos to;
	ev_time_t skip_before; /* --from @TIME: the first event at or after */
	uint64_t from_version;
	uint64_t max, matched;
	int has_max, follow, done, need_event;
	uint64_t start, pos;
	struct ev_group *group; /* trimmed past while following: go on */
	ev_notice_fn notice;
	void *ctx;
	struct preload pl;
	struct ev_event ev;
	/* upcasting */
	struct ev_upcaster *up;
	enum ev_upcast_policy up_policy;
	int (*up_failed)(void *ctx, const struct ev_rec *rec,
			 const struct ev_error *why, struct ev_error *err);
	void *up_ctx;
	uint64_t up_failures;
	int up_n, up_i;	      /* the records the last one read became */
	struct ev_rec up_src; /* that one, as stored */
	uint64_t up_skip_at;  /* -n: at this offset, pass over the first */
	int up_skip;	      /* up_skip of the records it becomes */
	int up_pass;	      /* reading ahead for -n */
	/* upcasting on a thread of its own */
	struct pipe *pipe;
	int pipe_off;		    /* not (any more) */
	const struct pitem *pi;	    /* the record read last, if upcast */
	const struct pitem *up_pi;  /* the one upcast last, if by it */
	const struct pbatch *up_pb; /* and its batch */
	/* upcasting on the reader's threads */
	struct uhook *uh;
	int uh_off;		   /* not (any more) */
	const struct uitem *ui;	   /* the record read last, if done there */
	const struct uaux *ua;	   /* and its batch */
	const struct uitem *up_ui; /* the one upcast last, if done there */
	const struct uaux *up_ua;  /* and its batch */
	/* a Kafka log (kafka_scan.c): its records instead of a reader's */
	struct ev_kscan *ks;
};

static void pipe_free(struct pipe *pp);
static void uhook_stop(struct ev_scan *s);

static int preload_add(void *ctx, const struct ev_rec *rec)
{
	struct preload *pl = ctx;
	struct preload_hdr h = {rec->offset, rec->append_time, rec->n};

	if (ev_buf_append(&pl->b, &h, sizeof(h)) != 0 ||
	    ev_buf_append(&pl->b, rec->p, rec->n) != 0)
		return EV_ERR;
	return 0;
}

static int preload_next(struct preload *pl, struct ev_rec *rec)
{
	struct preload_hdr h;

	if (pl->pos >= pl->b.len)
		return 0;
	memcpy(&h, pl->b.p + pl->pos, sizeof(h));
	rec->offset = h.offset;
	rec->append_time = h.append_time;
	rec->n = h.n;
	rec->p = pl->b.p + pl->pos + sizeof(h);
	rec->kafka = 0;
	pl->pos += sizeof(h) + h.n;
	return 1;
}

/* Keep only the last n events of the preload that match f.  0, or
 * EV_ERR out of memory. */
static int preload_keep_last(struct preload *pl, struct ev_filter *f,
			     uint64_t n)
{
	struct ev_buf kept = {0};
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_error err;
	size_t *at = NULL, na = 0, cap = 0, i;
	int rc = EV_ERR;

	pl->pos = 0;
	while (preload_next(pl, &rec)) {
		size_t start = pl->pos - rec.n - sizeof(struct preload_hdr);
		if (!ev_filter_precheck(f, rec.p, rec.n) ||
		    ev_event_decode(rec.p, rec.n, &ev, &err) != 0)
			continue;
		ev_event_place(&ev, &rec);
		if (!ev_filter_match(f, &ev))
			continue;
		if (na == cap) {
			size_t *nat;
			cap = cap ? 2 * cap : 64;
			nat = realloc(at, cap * sizeof(*at));
			if (nat == NULL)
				goto out;
			at = nat;
		}
		at[na++] = start;
	}
	for (i = na > n ? na - n : 0; i < na; i++) {
		struct preload_hdr h;
		memcpy(&h, pl->b.p + at[i], sizeof(h));
		if (ev_buf_append(&kept, pl->b.p + at[i], sizeof(h) + h.n) != 0)
			goto out;
	}
	ev_buf_free(&pl->b);
	pl->b = kept;
	kept.p = NULL;
	pl->pos = 0;
	rc = 0;
out:
	free(at);
	ev_buf_free(&kept);
	return rc;
}

/* Where a stored position resumes, checked against the log. */
static int resume_group(struct ev_scan *s, struct ev_group *g,
			const struct ev_scan_opts *o, struct ev_error *err)
{
	const struct ev_group_state *gs = ev_group_get(g);
	uint64_t first = ev_reader_first_offset(s->rd);
	uint64_t end = ev_reader_end_offset(s->rd);
	char msg[256];

	if (gs->next > end)
		return ev_seterr(
			err, EV_EDATA,
			"group '%s' is at offset %llu in '%s', past the end "
			"of '%s' (offset %llu)",
			gs->name, (unsigned long long)gs->next,
			ev_group_file(g), s->name, (unsigned long long)end);
	if (gs->next < first && o->notice != NULL) {
		snprintf(msg, sizeof(msg),
			 "group '%s': offsets %llu to %llu were trimmed before "
			 "it read them",
			 gs->name, (unsigned long long)gs->next,
			 (unsigned long long)(first - 1));
		o->notice(o->ctx, msg);
	}
	s->start = gs->next;
	return 0;
}

static int resume_cursor(struct ev_scan *s, const struct ev_scan_opts *o,
			 struct ev_error *err)
{
	const struct ev_cursor *c = o->cursor;

	if (strcmp(c->log_id, ev_reader_log_id(s->rd)) != 0)
		return ev_seterr(err, EV_EDATA,
				 "cursor file '%s' belongs to log %s, but '%s' "
				 "is log %s",
				 o->cursor_name, c->log_id, s->name,
				 ev_reader_log_id(s->rd));
	if (c->next > ev_reader_end_offset(s->rd))
		return ev_seterr(
			err, EV_EDATA,
			"cursor file '%s' points to offset %llu, past the "
			"end of '%s' (offset %llu)",
			o->cursor_name, (unsigned long long)c->next, s->name,
			(unsigned long long)ev_reader_end_offset(s->rd));
	s->start = c->next;
	return 0;
}

/* Read one exact stream through its links, when the selection allows:
 * 0 (preloaded, or a scan it is), <0 error. */
static int preload_stream(struct ev_scan *s, struct ev_log *log,
			  const struct ev_scan_opts *o, int *last_done,
			  struct ev_error *err)
{
	/* the last N of the stream are its last N matches only when
	 * nothing but the stream filters them */
	int only = ev_filter_only_streams(s->filter) && s->up == NULL &&
		   o->to.kind == EV_POS_NONE;
	int r;

	r = ev_stream_read(log, o->stream, strlen(o->stream), o->from_version,
			   o->last_set && only ? o->last : 0, preload_add,
			   &s->pl, &s->pl.end, err);
	if (r < 0)
		return r;
	if (r == 1)
		return 0; /* no links to follow: scan */
	if (o->last_set && !only && s->up == NULL &&
	    o->to.kind == EV_POS_NONE &&
	    preload_keep_last(&s->pl, s->filter, o->last) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	s->pl.active = 1;
	*last_done = 1;
	return 0;
}

/* Put the reader where the selection starts. */
static int position(struct ev_scan *s, struct ev_log *log,
		    const struct ev_scan_opts *o, struct ev_error *err)
{
	uint64_t first = ev_reader_first_offset(s->rd);
	uint64_t end = ev_reader_end_offset(s->rd);
	ev_time_t since = ev_filter_since(s->filter);
	int resumed = 0, last_done = 0, r;

	/* a position the log has not reached is a mistake, whether or not
	 * a stored one wins over it: following would wait for it, and a
	 * group or cursor would store it */
	if (o->from.kind == EV_POS_OFFSET && o->from.offset > end)
		return ev_seterr(err, EV_EUSAGE,
				 "--from: offset %llu is past the end of '%s' "
				 "(offset %llu)",
				 (unsigned long long)o->from.offset, s->name,
				 (unsigned long long)end);
	if (o->group != NULL && ev_group_get(o->group)->exists) {
		if ((r = resume_group(s, o->group, o, err)) != 0)
			return r;
		resumed = 1;
	} else if (o->cursor != NULL) {
		if ((r = resume_cursor(s, o, err)) != 0)
			return r;
		resumed = 1;
	} else if (o->from.kind == EV_POS_OFFSET) {
		s->start = o->from.offset;
	} else if (o->from.kind == EV_POS_END) {
		s->start = end;
	} else {
		s->start = first;
		if (o->last_set && ev_filter_is_empty(s->filter) &&
		    s->up == NULL && o->to.kind == EV_POS_NONE)
			s->start = end - (o->last < end - first ? o->last
								: end - first);
	}
	if (s->start < first)
		s->start = first;
	s->pos = s->start;
	if (!resumed && o->from.kind == EV_POS_TIME) {
		/* the index seek is conservative: skip what is earlier */
		s->skip_before = o->from.time;
		r = ev_reader_seek_time(s->rd, o->from.time, err);
	} else if (!resumed && o->from.kind == EV_POS_NONE &&
		   since != EV_TIME_NONE && !o->last_set &&
		   !ev_upcaster_changes_envelope(s->up)) {
		/* (a Lua step may change the time --since sees) */
		r = ev_reader_seek_time(s->rd, since, err);
	} else {
		r = ev_reader_seek(s->rd, s->start, err);
	}
	if (r != 0)
		return r;
	if (o->stream != NULL && log != NULL && !resumed && o->group == NULL &&
	    o->from.kind == EV_POS_NONE && !(o->last_set && o->last == 0) &&
	    !ev_upcaster_changes_envelope(s->up) &&
	    (r = preload_stream(s, log, o, &last_done, err)) != 0)
		return r;
	if (o->last_set && !last_done && s->up == NULL &&
	    o->to.kind == EV_POS_NONE && !ev_filter_is_empty(s->filter)) {
		/* -n N with filters: where the last N matches begin */
		if ((r = ev_reader_find_last(s->rd, s->filter, o->last,
					     &s->start, err)) != 0)
			return r;
		s->pos = s->start;
		r = ev_reader_seek(s->rd, s->start, err);
	}
	return r;
}

static int upcast_last(struct ev_scan *s, uint64_t n, struct ev_error *err);

int ev_scan_open(struct ev_scan **out, struct ev_log *log, struct ev_reader *rd,
		 const struct ev_scan_opts *o, struct ev_error *err)
{
	struct ev_scan *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (s == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	s->rd = rd;
	s->filter = o->filter;
	if (s->filter == NULL &&
	    (s->filter = s->none = ev_filter_new()) == NULL)
		goto oom;
	if ((s->name = strdup(o->name ? o->name : ev_reader_path(rd))) == NULL)
		goto oom;
	s->to = o->to;
	s->skip_before = EV_TIME_NONE;
	s->from_version = o->from_version;
	s->max = o->max;
	s->has_max = o->has_max;
	s->follow = o->follow;
	s->group = o->group;
	s->notice = o->notice;
	s->ctx = o->ctx;
	s->up = o->upcaster;
	s->up_policy = o->on_upcast_error;
	s->up_failed = o->upcast_failed;
	s->up_ctx = o->upcast_ctx;
	/* another consumer may have moved on since the reader opened (a
	 * group we waited for) */
	if ((r = ev_reader_refresh(rd, err)) < 0 ||
	    (r = position(s, log, o, err)) != 0)
		goto fail;
	/* bskip: batches whose summaries rule the filter out are passed by
	 * unread; not when events outside the filter decide where the
	 * selection starts or ends (a time) */
	if (s->to.kind != EV_POS_TIME && s->skip_before == EV_TIME_NONE)
		ev_reader_set_skip(rd, ev_filter_skip(s->filter, s->up));
	s->need_event = o->decode || ev_filter_needs_event(s->filter) ||
			s->to.kind == EV_POS_TIME || s->from_version > 0 ||
			s->skip_before != EV_TIME_NONE;
	/* the last N before --to, or of upcast events: read ahead */
	if (o->last_set && (s->up != NULL || s->to.kind != EV_POS_NONE) &&
	    !(o->last == 0) && (r = upcast_last(s, o->last, err)) != 0)
		goto fail;
	if (o->last_set && (s->up != NULL || s->to.kind != EV_POS_NONE) &&
	    o->last == 0) {
		/* none: from the end on */
		s->pl.active = 0;
		s->start = s->pos = ev_reader_end_offset(rd);
		if ((r = ev_reader_seek(rd, s->start, err)) != 0)
			goto fail;
	}
	if (s->follow && (r = ev_watch_new(&s->watch, rd, err)) != 0)
		goto fail;
	*out = s;
	return 0;
oom:
	r = ev_seterr(err, EV_ERR, "out of memory");
fail:
	ev_scan_free(s);
	return r;
}

void ev_scan_free(struct ev_scan *s)
{
	if (s == NULL)
		return;
	if (s->rd != NULL) /* a Kafka log's scan has no reader */
		ev_reader_set_skip(s->rd, NULL); /* bskip: the filter goes */
	pipe_free(s->pipe);
	uhook_stop(s);
	ev_kscan_free(s->ks);
	ev_watch_free(s->watch);
	ev_filter_free(s->none);
	ev_buf_free(&s->pl.b);
	free(s->name);
	free(s);
}

/* ------------------------------------------------------------ the thread */

static void batch_free(struct pbatch *b)
{
	ev_buf_free(&b->raw);
	ev_buf_free(&b->out);
	ev_buf_free(&b->pre);
	free(b->ends);
	free(b->it);
}

/* Upcast b's records on the thread: stops at the first failure. */
static void batch_work(struct ev_upcaster *u, struct pbatch *b)
{
	size_t k;
	int i, changed;

	for (k = 0; k < b->nwork; k++) {
		struct pitem *it = &b->it[k];
		const uint8_t *p = it->pre_n ? b->pre.p + it->pre_at
					     : b->raw.p + it->at,
			      *q;
		size_t pn = it->pre_n ? it->pre_n : it->rec.n, qn;

		it->done = 1;
		if (it->r != 1 || !it->up)
			continue;
		/* the chain batch_fill() found (its record has moved since) */
		if (it->hint.type != NULL)
			it->hint.type = (const char *)p + it->type_at;
		ev_upcaster_hint(u, &it->hint);
		it->ur = ev_upcaster_apply_rec(u, p, pn, &it->rec, &changed,
					       &b->why);
		it->damaged = ev_upcaster_damaged(u);
		if (it->ur < 0) {
			b->stopped = 1;
			b->nwork = k + 1;
			return;
		}
		it->part0 = b->nends;
		for (i = 0; i < it->ur; i++) {
			ev_upcaster_record(u, i, &q, &qn);
			if (b->nends == b->ends_cap) {
				size_t cap = b->ends_cap ? 2 * b->ends_cap
							 : 2 * PIPE_RECORDS;
				size_t *ne =
					realloc(b->ends, cap * sizeof(*ne));
				if (ne == NULL)
					goto oom;
				b->ends = ne;
				b->ends_cap = cap;
			}
			if (ev_buf_append(&b->out, q, qn) != 0)
				goto oom;
			b->ends[b->nends++] = b->out.len;
		}
	}
	return;
oom:
	b->it[k].ur = ev_seterr(&b->why, EV_ERR, "out of memory");
	b->it[k].damaged = 0;
	b->stopped = 1;
	b->nwork = k + 1;
}

/* Drop the batches given from k on that the thread has not begun: the
 * scan upcasts them itself, if it takes them. With mu held. */
static void pipe_drop(struct pipe *pp, uint64_t k)
{
	for (; k < pp->given; k++) {
		struct pbatch *b = PIPE_AT(pp, k);
		b->nwork = 0;
		b->dropped = 1;
		b->worked = 1;
	}
}

static void *pipe_main(void *arg)
{
	struct pipe *pp = arg;
	struct pbatch *b;

	pthread_mutex_lock(&pp->mu);
	for (;;) {
		while (pp->worked == pp->given && !pp->quit)
			pthread_cond_wait(&pp->cv, &pp->mu);
		if (pp->quit)
			break;
		b = PIPE_AT(pp, pp->worked);
		if (!b->dropped) {
			pp->busy = 1;
			pthread_mutex_unlock(&pp->mu);
			batch_work(pp->up, b);
			pthread_mutex_lock(&pp->mu);
			pp->busy = 0;
			b->worked = 1;
			if (b->stopped) {
				/* no batch follows a failure: the scan
				 * upcasts those */
				pp->halt = 1;
				pipe_drop(pp, pp->worked + 1);
			}
		}
		pp->worked++;
		pthread_cond_broadcast(&pp->cv);
	}
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

/* Give b (the next in b[]) to the thread, after what it has. */
static void pipe_submit(struct pipe *pp, struct pbatch *b)
{
	b->worked = b->dropped = 0;
	pthread_mutex_lock(&pp->mu);
	if (pp->given == pp->taken)
		pp->halt = 0; /* the scan has all that came before */
	pp->given++;
	if (pp->halt)
		pipe_drop(pp, pp->given - 1);
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
}

/* The oldest batch given to the thread, once it is done with it. */
static struct pbatch *pipe_take(struct pipe *pp)
{
	struct pbatch *b = PIPE_AT(pp, pp->taken);

	pthread_mutex_lock(&pp->mu);
	while (!b->worked)
		pthread_cond_wait(&pp->cv, &pp->mu);
	pthread_mutex_unlock(&pp->mu);
	pp->taken++;
	return b;
}

/* Whether to read one more batch ahead for the thread. */
static int pipe_more(struct pipe *pp)
{
	const struct pbatch *last;
	int more;

	if (pp->given == pp->taken)
		return 1;
	if (pp->given - pp->taken >= PIPE_DEPTH)
		return 0;
	last = PIPE_AT(pp, pp->given - 1);
	if (last->last)
		return 0;
	pthread_mutex_lock(&pp->mu);
	more = !last->dropped && !pp->halt;
	pthread_mutex_unlock(&pp->mu);
	return more;
}

/* Until the thread is done with the batch it is on, dropping those it
 * has not begun: the upcaster is ours then. */
static void pipe_idle(struct pipe *pp)
{
	pthread_mutex_lock(&pp->mu);
	pipe_drop(pp, pp->worked + (pp->busy ? 1 : 0));
	while (pp->busy)
		pthread_cond_wait(&pp->cv, &pp->mu);
	pthread_mutex_unlock(&pp->mu);
}

static void pipe_free(struct pipe *pp)
{
	int i;

	if (pp == NULL)
		return;
	pthread_mutex_lock(&pp->mu);
	pp->quit = 1;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
	pthread_join(pp->th, NULL);
	pthread_cond_destroy(&pp->cv);
	pthread_mutex_destroy(&pp->mu);
	for (i = 0; i < PIPE_NB; i++)
		batch_free(&pp->b[i]);
	ev_upcaster_free(pp->pre);
	free(pp);
}

static struct pipe *pipe_new(struct ev_upcaster *up)
{
	struct pipe *pp = calloc(1, sizeof(*pp));

	if (pp == NULL)
		return NULL;
	pp->up = up;
	if (pthread_mutex_init(&pp->mu, NULL) != 0)
		goto fail_mu;
	if (pthread_cond_init(&pp->cv, NULL) != 0)
		goto fail_cv;
	if (pthread_create(&pp->th, NULL, pipe_main, pp) != 0)
		goto fail_th;
	return pp;
fail_th:
	pthread_cond_destroy(&pp->cv);
fail_cv:
	pthread_mutex_destroy(&pp->mu);
fail_mu:
	free(pp);
	return NULL;
}

/* The steps before a Lua one of the record of it (rec), into b->pre if a
 * plan does them, and the hint of the record the thread is to upcast. */
static void batch_prefix(struct ev_scan *s, struct pbatch *b, struct pitem *it,
			 const struct ev_rec *rec)
{
	struct pipe *pp = s->pipe;
	const uint8_t *w = rec->p;
	size_t at = b->pre.len;

	if (pp->pre == NULL && !pp->pre_off &&
	    (pp->pre = ev_upcaster_worker(s->up)) == NULL)
		pp->pre_off = 1; /* the thread does them */
	if (pp->pre != NULL && ev_upcaster_prefix(pp->pre, &b->pre, rec->p,
						  rec->n, &it->hint) == 1) {
		it->pre_at = at;
		it->pre_n = b->pre.len - at;
		w = b->pre.p + at;
		(void)ev_upcaster_peek(s->up, w, it->pre_n, &it->hint);
	}
	if (it->hint.type != NULL)
		it->type_at = (size_t)((const uint8_t *)it->hint.type - w);
}

/* Read the next records into b (on this thread: the reader is ours). */
static int batch_fill(struct ev_scan *s, struct pbatch *b)
{
	struct pitem *it;
	struct ev_rec rec;
	int r;

	b->raw.len = b->out.len = b->pre.len = 0;
	b->nends = b->n = b->i = 0;
	b->last = b->stopped = 0;
	if (b->it == NULL &&
	    (b->it = malloc(PIPE_RECORDS * sizeof(*b->it))) == NULL)
		return EV_ERR;
	b->cap = PIPE_RECORDS;
	while (b->n < b->cap && b->raw.len < PIPE_BYTES) {
		it = &b->it[b->n++];
		memset(it, 0, sizeof(*it));
		r = ev_reader_next(s->rd, &rec, &b->end_err);
		it->r = r > 0 ? 1 : r;
		if (r <= 0) {
			b->last = 1;
			break;
		}
		it->rec = rec;
		it->at = b->raw.len;
		/* which want upcasting, and the declarative steps before a
		 * Lua one: done here, where the thread's Lua steps leave
		 * time to spare (set O) */
		it->up = ev_upcaster_peek(s->up, rec.p, rec.n, &it->hint);
		if (it->up)
			batch_prefix(s, b, it, &rec);
		else if (it->hint.type != NULL)
			it->type_at = (size_t)((const uint8_t *)it->hint.type -
					       rec.p);
		if (ev_buf_append(&b->raw, rec.p, rec.n) != 0) {
			it->r = ev_seterr(&b->end_err, EV_ERR, "out of memory");
			b->last = 1;
			break;
		}
		if (s->to.kind == EV_POS_OFFSET && rec.offset > s->to.offset) {
			b->last = 1; /* the scan ends at it */
			b->nwork = b->n - 1;
			return 0;
		}
	}
	b->nwork = b->n;
	return 0;
}

static int pipe_use(struct ev_scan *s)
{
	if (s->pipe != NULL)
		return !s->pipe_off;
	if (s->pipe_off || s->up == NULL || s->follow || s->group != NULL ||
	    s->up_pass || ev_upcaster_counting(s->up) ||
	    !ev_upcaster_changes_envelope(s->up))
		return 0; /* without Lua: on the reader's threads */
	if ((s->pipe = pipe_new(s->up)) == NULL)
		s->pipe_off = 1; /* upcast as we read, then */
	return s->pipe != NULL;
}

/* The next record, from the batches. */
static int pipe_next(struct ev_scan *s, struct ev_rec *rec,
		     struct ev_error *err)
{
	struct pipe *pp = s->pipe;
	struct pbatch *b;
	struct pitem *it;

	for (;;) {
		b = pp->cur;
		if (b != NULL && b->i < b->n) {
			it = &b->it[b->i++];
			if (it->r <= 0) {
				/* the end: read on without the thread */
				s->pipe_off = 1;
				if (it->r < 0)
					*err = b->end_err;
				return it->r;
			}
			*rec = it->rec;
			rec->p = b->raw.p + it->at;
			s->pi = it->done ? it : NULL;
			if (!it->done)
				pipe_idle(pp); /* the upcaster is ours */
			return 1;
		}
		if (b != NULL && b->last) {
			s->pipe_off = 1;
			pp->cur = NULL;
			return ev_reader_next(s->rd, rec, err);
		}
		/* the next batch is the oldest given to the thread; more go
		 * behind it, up to PIPE_DEPTH, for the thread to take on
		 * without waiting for the scan, unless the scan is to upcast
		 * what comes */
		while (pipe_more(pp)) {
			b = PIPE_AT(pp, pp->given);
			if (batch_fill(s, b) != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
			pipe_submit(pp, b);
		}
		pp->cur = pipe_take(pp);
	}
}

/* ------------------------------------------- upcasting on the threads */

static void uaux_free(void *ctx, void *aux)
{
	struct uaux *a = aux;

	(void)ctx;
	free(a->it);
	ev_buf_free(&a->out);
	free(a);
}

/* On read-ahead thread k: upcast the batch's records by the plans. */
static size_t uhook_batch(void *ctx, int k, const struct ev_batchhdr *bh,
			  const uint8_t *raw, size_t n, void **auxp)
{
	struct uhook *uh = ctx;
	struct ev_upcaster *u = uh->wu[k];
	struct uaux *a = *auxp;
	const uint8_t *p = raw, *end = raw + n, *rec;
	struct uitem *it;
	size_t i, rn, at;
	int r;

	if (u == NULL && (u = uh->wu[k] = ev_upcaster_worker(uh->up)) == NULL)
		return (size_t)-1;
	if (a == NULL && (a = *auxp = calloc(1, sizeof(*a))) == NULL)
		return (size_t)-1;
	if (a->cap < bh->count) {
		it = realloc(a->it, bh->count * sizeof(*it));
		if (it == NULL)
			return (size_t)-1;
		a->it = it;
		a->cap = bh->count;
	}
	a->base = bh->base;
	a->out.len = 0;
	for (i = 0; i < bh->count; i++) {
		if (ev_payload_next(&p, end, &rec, &rn) != 0)
			break; /* damage: the reader says so */
		it = &a->it[i];
		at = a->out.len;
		r = ev_upcaster_append(u, &a->out, rec, rn);
		it->at = at;
		it->n = (uint32_t)(a->out.len - at);
		it->st = r == 1			? UI_ONE
			 : r == 0		? UI_DROPPED
			 : r == EV_UPCAST_AS_IS ? UI_AS_IS
						: UI_SCAN;
	}
	a->count = i;
	return a->out.len + a->count * sizeof(*a->it);
}

/* Upcast on the reader's threads from here on, if that is for us. */
static int uhook_use(struct ev_scan *s)
{
	struct uhook *uh;

	if (s->uh != NULL)
		return 1;
	if (s->uh_off || s->up == NULL || s->up_pass || s->ks != NULL ||
	    ev_upcaster_counting(s->up) ||
	    (s->has_max && s->max < UHOOK_MIN_MAX))
		return 0;
	if ((uh = calloc(1, sizeof(*uh))) == NULL) {
		s->uh_off = 1; /* upcast as we read, then */
		return 0;
	}
	uh->up = s->up;
	uh->h.batch = uhook_batch;
	uh->h.free_aux = uaux_free;
	uh->h.ctx = uh;
	ev_reader_set_hook(s->rd, &uh->h);
	s->uh = uh;
	return 1;
}

/* No more upcasting on the reader's threads: they leave the upcaster's
 * set, and what they made goes. */
static void uhook_stop(struct ev_scan *s)
{
	int k;

	if (s->uh == NULL)
		return;
	ev_reader_set_hook(s->rd, NULL);
	for (k = 0; k < EV_RA_MAX_THREADS; k++)
		ev_upcaster_free(s->uh->wu[k]);
	free(s->uh);
	s->uh = NULL;
	s->ui = s->up_ui = NULL;
	s->ua = s->up_ua = NULL;
}

static int next_record(struct ev_scan *s, struct ev_rec *rec,
		       struct ev_error *err)
{
	int r, up;

	if (s->pl.active) {
		if (preload_next(&s->pl, rec))
			return 1;
		/* the stream as it was; now what came after it */
		s->pl.active = 0;
		s->pos = s->pl.end;
		if ((r = ev_reader_seek(s->rd, s->pl.end, err)) != 0)
			return r;
	}
	s->pi = NULL;
	s->ui = NULL;
	if (s->ks != NULL) {
		int end;
		r = ev_kscan_next(s->ks, rec, &end, err);
		/* 2: done even following (every partition at its --to) */
		if (r == 0 && end && (!s->follow || end == 2))
			s->done = 1;
		return r;
	}
	if (pipe_use(s))
		return pipe_next(s, rec, err);
	/* the hook is set before the reader reads ahead, if it can be */
	up = uhook_use(s);
	r = ev_reader_next(s->rd, rec, err);
	if (r == 1 && up) {
		const struct uaux *a = ev_reader_hook_aux(s->rd);
		uint64_t i = rec->offset - (a != NULL ? a->base : 0);
		if (a != NULL && rec->offset >= a->base && i < a->count &&
		    a->it[i].st != UI_SCAN) {
			s->ui = &a->it[i];
			s->ua = a;
		}
	}
	return r;
}

/* --from-version on a Kafka log: versions are those the events carry
 * (ce_sequence); an event of the stream with none cannot be placed, and
 * is an error rather than left out (evtail(1) KAFKA). */
static int unversioned(const struct ev_scan *s, const struct ev_rec *rec,
		       const struct ev_event *ev, struct ev_error *err)
{
	return ev_seterr(err, EV_EDATA,
			 "record %d:%lld of '%s': event '%.*s' of stream "
			 "'%.*s' has no version: --from-version takes the "
			 "versions the events of a kafka log carry "
			 "(ce_sequence)",
			 (int)rec->partition, (long long)rec->koffset, s->name,
			 (int)(ev->id.n > 200 ? 200 : ev->id.n), ev->id.p,
			 (int)(ev->stream.n > 200 ? 200 : ev->stream.n),
			 ev->stream.p);
}

/* The next of the records the last one read was upcast into that the
 * selection takes: 1 with *rec (and *evp), 0 when none is left. */
static int next_part(struct ev_scan *s, struct ev_rec *rec,
		     const struct ev_event **evp, struct ev_error *err)
{
	struct ev_event *ev = &s->ev;
	int i, r;

	while (s->up_i < s->up_n) {
		i = s->up_i++;
		*rec = s->up_src;
		if (s->up_ui != NULL) {
			rec->p = s->up_ua->out.p + s->up_ui->at;
			rec->n = s->up_ui->n;
		} else if (s->up_pi != NULL) {
			size_t k = s->up_pi->part0 + (size_t)i;
			size_t from = k == 0 ? 0 : s->up_pb->ends[k - 1];
			rec->p = s->up_pb->out.p + from;
			rec->n = s->up_pb->ends[k] - from;
		} else {
			ev_upcaster_record(s->up, i, &rec->p, &rec->n);
		}
		if (s->up_i == s->up_n)
			s->pos = rec->offset + 1;
		if (rec->offset == s->up_skip_at && i < s->up_skip)
			continue;
		if (!ev_filter_precheck(s->filter, rec->p, rec->n))
			continue;
		if (!s->need_event) {
			s->matched++;
			return 1;
		}
		if ((r = ev_event_decode(rec->p, rec->n, ev, err)) != 0) {
			char at[EV_PLACE_MAX];
			ev_err_prefix(err, "upcast of offset %s in '%s': ",
				      ev_rec_place(at, rec), s->name);
			return r;
		}
		ev_event_place(ev, rec);
		if (!ev_filter_match(s->filter, ev))
			continue;
		if (s->ks != NULL && s->from_version > 0 && ev->version == 0)
			return unversioned(s, rec, ev, err);
		if (s->from_version > 0 && ev->version < s->from_version)
			continue;
		s->matched++;
		*evp = ev;
		return 1;
	}
	return 0;
}

/* Upcast the record just read: 1 its records are ready for
 * next_part(), 0 it is skipped, <0 error. */
static int upcast(struct ev_scan *s, const struct ev_rec *rec,
		  struct ev_error *err)
{
	struct ev_error why;
	int changed, r, damaged;

	s->up_pi = s->pi;
	s->up_pb = s->pi != NULL ? s->pipe->cur : NULL;
	s->up_ui = s->ui;
	s->up_ua = s->ua;
	if (s->ui != NULL) {
		/* upcast ahead, on a reader's thread */
		r = s->ui->st == UI_ONE ? 1 : 0;
		damaged = 0;
	} else if (s->pi != NULL) {
		/* upcast ahead, on the thread */
		r = s->pi->ur;
		damaged = s->pi->damaged;
		if (r < 0)
			why = s->pipe->cur->why;
	} else {
		r = ev_upcaster_apply_rec(s->up, rec->p, rec->n, rec, &changed,
					  &why);
		damaged = r < 0 && ev_upcaster_damaged(s->up);
	}
	if (r >= 0) {
		s->up_n = r;
		s->up_i = 0;
		s->up_src = *rec;
		if (s->pos < rec->offset)
			s->pos = rec->offset; /* not yet past it */
		if (r == 0)
			s->pos = rec->offset + 1; /* dropped */
		return 1;
	}
	if (r == EV_EDATA && damaged) {
		*err = why;
		ev_err_damaged_rec(err, s->name, rec);
		return r;
	}
	if (r != EV_EDATA || s->up_policy == EV_UPCAST_STOP) {
		*err = why;
		if (r == EV_EDATA)
			ev_err_prefix(err, "upcast failed in '%s': ", s->name);
		return r;
	}
	if (!s->up_pass) {
		s->up_failures++;
		if (s->up_policy == EV_UPCAST_DLQ && s->up_failed != NULL &&
		    (r = s->up_failed(s->up_ctx, rec, &why, err)) != 0)
			return r;
	}
	s->pos = rec->offset + 1;
	return 0;
}

static int scan_next(struct ev_scan *s, struct ev_rec *rec,
		     const struct ev_event **evp, struct ev_error *err)
{
	struct ev_event *ev = &s->ev;
	int r, maybe, up;

	*evp = NULL;
	for (;;) {
		if (s->done || (s->has_max && s->matched >= s->max)) {
			s->done = 1;
			return 0;
		}
		if (s->up_i < s->up_n) {
			if ((r = next_part(s, rec, evp, err)) != 0)
				return r;
			continue;
		}
		r = next_record(s, rec, err);
		if (r < 0 && s->group != NULL && !s->pl.active &&
		    s->pos < ev_reader_first_offset(s->rd)) {
			/* trimmed while we read: a group goes on from the
			 * first event, as when it resumes (evtail(1)) */
			uint64_t first = ev_reader_first_offset(s->rd);
			char msg[256];
			if (s->notice != NULL) {
				snprintf(msg, sizeof(msg),
					 "group '%s': offsets %llu to %llu "
					 "were trimmed before it read them",
					 ev_group_get(s->group)->name,
					 (unsigned long long)s->pos,
					 (unsigned long long)(first - 1));
				s->notice(s->ctx, msg);
			}
			s->pos = first;
			if ((r = ev_reader_seek(s->rd, first, err)) != 0)
				return r;
			continue;
		}
		if (r == 0 && s->ks != NULL)
			return 0; /* none now; done when at the end */
		if (r == 0 && !s->pl.active && ev_reader_tell(s->rd) > s->pos)
			s->pos = ev_reader_tell(s->rd); /* past a gap */
		if (r <= 0) {
			if (r == 0 && !s->follow)
				s->done = 1;
			return r;
		}
		if (s->to.kind == EV_POS_OFFSET && rec->offset > s->to.offset) {
			s->done = 1; /* not read: the next run starts here */
			return 0;
		}
		/* a record that upcasting leaves as it is is judged as
		 * stored; the others only once upcast */
		up = s->ui != NULL ? s->ui->st != UI_AS_IS
		     : s->pi != NULL
			     ? s->pi->up
			     : s->up != NULL &&
				       ev_upcaster_wants(s->up, rec->p, rec->n);
		maybe = up || ev_filter_precheck(s->filter, rec->p, rec->n);
		if (!s->need_event && !up) {
			s->pos = rec->offset + 1;
			if (!maybe)
				continue;
			s->matched++;
			return 1;
		}
		if (!maybe && s->to.kind != EV_POS_TIME &&
		    s->skip_before == EV_TIME_NONE) {
			s->pos = rec->offset + 1;
			continue;
		}
		if (up && s->to.kind != EV_POS_TIME &&
		    s->skip_before == EV_TIME_NONE) {
			/* the upcast decodes it, in its own way */
			if ((r = upcast(s, rec, err)) < 0)
				return r;
			continue;
		}
		if ((r = ev_event_decode(rec->p, rec->n, ev, err)) != 0) {
			ev_err_damaged_rec(err, s->name, rec);
			return r;
		}
		ev_event_place(ev, rec);
		if (s->to.kind == EV_POS_TIME && s->ks != NULL &&
		    (ev->time > s->to.time ||
		     ev_kscan_is_past(s->ks, rec->partition))) {
			/* a Kafka log: its partitions are in time order, not
			 * the topic; this one is done */
			if ((r = ev_kscan_past(s->ks, rec)) < 0)
				return ev_seterr(err, r, "out of memory");
			s->pos = rec->offset + 1;
			if (r == 0)
				continue;
			s->done = 1;
			return 0;
		}
		if (s->to.kind == EV_POS_TIME && ev->time > s->to.time) {
			s->done = 1; /* not read, as above */
			return 0;
		}
		if (s->skip_before != EV_TIME_NONE) {
			if (ev->time < s->skip_before) {
				s->pos = rec->offset + 1;
				continue;
			}
			s->skip_before = EV_TIME_NONE;
		}
		if (up) {
			if ((r = upcast(s, rec, err)) < 0)
				return r;
			continue;
		}
		s->pos = rec->offset + 1;
		if (!maybe || !ev_filter_match(s->filter, ev))
			continue;
		if (s->ks != NULL && s->from_version > 0 && ev->version == 0)
			return unversioned(s, rec, ev, err);
		if (s->from_version > 0 && ev->version < s->from_version)
			continue; /* a scan, when links cannot be followed */
		s->matched++;
		*evp = ev;
		return 1;
	}
}

int ev_scan_next(struct ev_scan *s, struct ev_rec *rec,
		 const struct ev_event **evp, struct ev_error *err)
{
	int r = scan_next(s, rec, evp, err);

	/* at the end, the upcaster is the caller's again: the thread may
	 * have been upcasting a batch the scan will not take */
	if (r <= 0 && s->pipe != NULL)
		pipe_idle(s->pipe);
	/* the reader's threads too leave the upcaster's set: its caller
	 * may free it (following, they upcast again on the next call) */
	if (r <= 0 && s->up_i >= s->up_n)
		uhook_stop(s);
	return r;
}

/* Where the last n matches begin, upcast: read the selection ahead once,
 * keeping where each of the last n matches was (its record's offset
 * and its place among the records that one became), then start there. */
static int upcast_last(struct ev_scan *s, uint64_t n, struct ev_error *err)
{
	struct at {
		uint64_t offset;
		int part;
	} * ring;
	uint64_t cap = n < 1024 ? n : 1024, count = 0, head = 0, i;
	struct ev_rec rec;
	const struct ev_event *ev;
	ev_time_t skip_before = s->skip_before;
	size_t plpos = s->pl.pos;
	int plactive = s->pl.active, follow = s->follow, counting, r;
	uint64_t start = s->start;

	ring = malloc((size_t)cap * sizeof(*ring));
	if (ring == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	/* the read-ahead is not what --check counts: only the pass after */
	counting = s->up != NULL && ev_upcaster_counting(s->up);
	if (counting)
		ev_upcaster_set_counting(s->up, 0);
	s->up_pass = 1;
	s->follow = 0;
	while ((r = ev_scan_next(s, &rec, &ev, err)) > 0) {
		if (count == cap && cap < n) {
			/* a ring as long as the matches, up to n */
			uint64_t ncap = cap < n / 2 ? 2 * cap : n;
			struct at *nv = malloc((size_t)ncap * sizeof(*nv));
			if (nv == NULL) {
				r = ev_seterr(err, EV_ERR, "out of memory");
				break;
			}
			for (i = 0; i < count; i++)
				nv[i] = ring[(head + i) % cap];
			free(ring);
			ring = nv;
			cap = ncap;
			head = count;
		}
		ring[head].offset = rec.offset;
		ring[head].part = s->up_n > 0 && s->up_src.offset == rec.offset
					  ? s->up_i - 1
					  : 0;
		head = (head + 1) % cap;
		if (count < cap)
			count++;
	}
	s->up_pass = 0;
	if (counting)
		ev_upcaster_set_counting(s->up, 1);
	s->follow = follow;
	s->done = 0;
	s->matched = 0;
	s->up_n = s->up_i = 0;
	s->skip_before = skip_before;
	if (r < 0) {
		free(ring);
		return r;
	}
	if (count == cap && count > 0) {
		struct at *a = &ring[head % cap];
		start = a->offset;
		s->up_skip_at = a->offset;
		s->up_skip = a->part;
	}
	free(ring);
	s->start = s->pos = start;
	if (plactive) {
		struct ev_rec pr;
		s->pl.pos = plpos;
		s->pl.active = 1;
		/* on in the stream to where the matches begin */
		for (;;) {
			size_t at = s->pl.pos;
			if (!preload_next(&s->pl, &pr)) {
				s->pl.active = 0;
				break;
			}
			if (pr.offset >= start) {
				s->pl.pos = at;
				return 0;
			}
		}
		if (start < s->pl.end)
			start = s->pl.end;
		s->start = s->pos = start;
	}
	return ev_reader_seek(s->rd, start, err);
}

uint64_t ev_scan_upcast_failures(const struct ev_scan *s)
{
	return s->up_failures;
}

int ev_scan_done(const struct ev_scan *s)
{
	return s->done;
}

int ev_scan_wait(struct ev_scan *s, int64_t timeout_ms, struct ev_error *err)
{
	if (s->done)
		return 0;
	if (s->ks != NULL)
		return ev_kscan_wait(s->ks, timeout_ms, err);
	return ev_watch_wait(s->watch, s->rd, timeout_ms, err);
}

uint64_t ev_scan_position(const struct ev_scan *s)
{
	return s->pos;
}

uint64_t ev_scan_start(const struct ev_scan *s)
{
	return s->start;
}

const char *ev_scan_name(const struct ev_scan *s)
{
	return s->name;
}

/* ------------------------------------------------------------ kafka */

int ev_scan_open_kafka(struct ev_scan **out, struct ev_kafka_consumer *kc,
		       const char *topic, const struct ev_scan_opts *o,
		       struct ev_error *err)
{
	struct ev_scan *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (s == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (o->to.kind == EV_POS_OFFSET) {
		r = ev_seterr(err, EV_EUSAGE,
			      "a kafka log has no single offset to stop "
			      "at: --to takes a time there");
		goto fail;
	}
	s->filter = o->filter;
	if (s->filter == NULL &&
	    (s->filter = s->none = ev_filter_new()) == NULL)
		goto oom;
	if ((s->name = strdup(o->name ? o->name : topic)) == NULL)
		goto oom;
	if ((r = ev_kscan_new(&s->ks, kc, topic, err)) != 0)
		goto fail;
	s->to = o->to;
	s->skip_before = EV_TIME_NONE;
	s->from_version = o->from_version;
	s->max = o->max;
	s->has_max = o->has_max;
	s->follow = o->follow;
	s->notice = o->notice;
	s->ctx = o->ctx;
	s->up = o->upcaster;
	s->up_policy = o->on_upcast_error;
	s->up_failed = o->upcast_failed;
	s->up_ctx = o->upcast_ctx;
	s->pipe_off = 1; /* upcast as it reads */
	s->uh_off = 1;
	s->need_event = o->decode || ev_filter_needs_event(s->filter) ||
			s->to.kind == EV_POS_TIME || s->from_version > 0;
	*out = s;
	return 0;
oom:
	r = ev_seterr(err, EV_ERR, "out of memory");
fail:
	ev_scan_free(s);
	return r;
}

void ev_kafka_scan_set_lenient(struct ev_scan *s, int lenient)
{
	if (s->ks != NULL)
		ev_kscan_set_lenient(s->ks, lenient);
}

int ev_scan_is_kafka(const struct ev_scan *s)
{
	return s->ks != NULL;
}

int ev_kafka_scan_offsets(struct ev_scan *s, uint64_t position, int64_t *next,
			  int nparts)
{
	if (s->ks == NULL)
		return EV_EUSAGE;
	return ev_kscan_offsets(s->ks, position, next, nparts);
}

int ev_kafka_scan_partitions(const struct ev_scan *s)
{
	return s->ks != NULL ? ev_kscan_partitions(s->ks) : 0;
}

int ev_kafka_scan_commit(void *scan, uint64_t position, struct ev_error *err)
{
	struct ev_scan *s = scan;

	return s->ks != NULL ? ev_kscan_commit(s->ks, position, err) : 0;
}

void ev_kafka_scan_on_revoke(struct ev_scan *s, void (*fn)(void *ctx),
			     void *ctx)
{
	if (s->ks != NULL)
		ev_kscan_on_revoke(s->ks, fn, ctx);
}

int ev_kafka_scan_revoked(const struct ev_scan *s, uint64_t pos)
{
	return s->ks != NULL && ev_kscan_revoked(s->ks, pos);
}

int ev_kafka_scan_settle(struct ev_scan *s, struct ev_error *err)
{
	return s->ks != NULL ? ev_kscan_settle(s->ks, err) : 0;
}
