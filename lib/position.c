/*
 * position.c - struct ev_pos: a place in a log given as OFFSET, start,
 * end or @TIME, and the searches that turn one into an offset: the first
 * event at or after a time, and where the last N matches of a filter
 * begin.  evtail, evctl and evdlq take positions in the same grammar.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

/* A decimal offset, nothing else. */
static int parse_offset(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int ev_pos_parse(const char *s, int flags, ev_time_t now, struct ev_pos *p)
{
	memset(p, 0, sizeof(*p));
	p->time = EV_TIME_NONE;
	if (!(flags & EV_POS_NO_ENDS) && strcmp(s, "start") == 0) {
		p->kind = EV_POS_START;
		return 0;
	}
	if (!(flags & EV_POS_NO_ENDS) && strcmp(s, "end") == 0) {
		p->kind = EV_POS_END;
		return 0;
	}
	if (s[0] == '@') {
		p->kind = EV_POS_TIME;
		return ev_time_parse_user(s + 1, now, &p->time);
	}
	p->kind = EV_POS_OFFSET;
	return parse_offset(s, &p->offset) == 0 ? 0 : EV_EUSAGE;
}

int ev_reader_find_time(struct ev_reader *r, ev_time_t t, uint64_t *out,
			struct ev_error *err)
{
	struct ev_rec rec;
	struct ev_event ev;
	int rc;

	*out = ev_reader_end_offset(r);
	/* the index puts us before the first batch that can hold t; event
	 * times need not grow, so look at each event from there */
	rc = ev_reader_seek_time(r, t, err);
	while (rc == 0 && (rc = ev_reader_next(r, &rec, err)) == 1) {
		rc = ev_event_decode(rec.p, rec.n, &ev, err);
		if (rc != 0)
			ev_err_damaged(err, ev_reader_path(r), rec.offset);
		if (rc == 0 && ev.time >= t) {
			*out = rec.offset;
			break;
		}
	}
	return rc < 0 ? rc : 0;
}

int ev_pos_resolve(struct ev_reader *r, const struct ev_pos *p, uint64_t *out,
		   struct ev_error *err)
{
	uint64_t first = ev_reader_first_offset(r);
	uint64_t end = ev_reader_end_offset(r);

	switch (p->kind) {
	case EV_POS_NONE:
	case EV_POS_START:
		*out = first;
		return 0;
	case EV_POS_END:
		*out = end;
		return 0;
	case EV_POS_TIME:
		return ev_reader_find_time(r, p->time, out, err);
	case EV_POS_OFFSET:
		if (p->offset < first || p->offset > end)
			return ev_seterr(err, EV_EUSAGE,
					 "offset %llu is outside the log (%llu "
					 "to %llu)",
					 (unsigned long long)p->offset,
					 (unsigned long long)first,
					 (unsigned long long)end);
		*out = p->offset;
		return 0;
	}
	return ev_seterr(err, EV_EUSAGE, "no such position");
}

/* A match of the filter: 1, 0 none, <0 an error (damaged data). */
static int matches(struct ev_reader *r, struct ev_filter *f,
		   const struct ev_rec *rec, struct ev_error *err)
{
	struct ev_event ev;
	int rc;

	if (!ev_filter_precheck(f, rec->p, rec->n))
		return 0;
	if ((rc = ev_event_decode(rec->p, rec->n, &ev, err)) != 0) {
		ev_err_damaged(err, ev_reader_path(r), rec->offset);
		return rc;
	}
	ev.offset = rec->offset;
	ev.append_time = rec->append_time;
	return ev_filter_match(f, &ev) != 0;
}

/* The offsets of the matches in one batch, read backwards. */
struct back {
	struct ev_reader *r;
	struct ev_filter *f;
	uint64_t *v;
	size_t n, cap;
	struct ev_error *err;
};

static int back_match(void *ctx, const struct ev_rec *rec)
{
	struct back *b = ctx;
	uint64_t *nv;
	int m = matches(b->r, b->f, rec, b->err);

	if (m <= 0)
		return m;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		if ((nv = realloc(b->v, b->cap * sizeof(*nv))) == NULL)
			return ev_seterr(b->err, EV_ERR, "out of memory");
		b->v = nv;
	}
	b->v[b->n++] = rec->offset;
	return 0;
}

/* batches read backwards at most: one thread, where a read forwards has
 * the read-ahead threads */
#define BACK_MAX 32

/*
 * Where the last n matches begin, reading the log backwards a batch at
 * a time from its end: 1 found (*out); 0 when they go back further than
 * BACK_MAX batches, or a batch cannot be read so (salvage, an archive, a
 * gap), with *lo where the batches read begin and *seen the matches in
 * them; <0 an error.  -n 10 of a type reads the last batch or two, not
 * the whole log, and the read that follows takes the batch it starts in
 * from here.
 */
static int find_last_back(struct ev_reader *r, struct ev_filter *f, uint64_t n,
			  uint64_t *out, uint64_t *lo, uint64_t *seen,
			  struct ev_error *err)
{
	uint64_t first = ev_reader_first_offset(r), at;
	struct back b = {r, f, NULL, 0, 0, err};
	int rc = 1, k;

	*lo = ev_reader_end_offset(r);
	*seen = 0;
	*out = first; /* fewer than n: all of them */
	for (k = 0; *lo > first; k++) {
		b.n = 0;
		if (k == BACK_MAX ||
		    (rc = ev_reader_batch_back(r, *lo, &at, back_match, &b,
					       err)) != 1) {
			rc = k == BACK_MAX ? 0 : rc;
			break;
		}
		if (*seen + b.n >= n) {
			*out = b.v[b.n - (n - *seen)];
			break;
		}
		*seen += b.n;
		*lo = at;
	}
	ev_reader_back_done(r);
	free(b.v);
	return rc;
}

int ev_reader_find_last(struct ev_reader *r, struct ev_filter *f, uint64_t n,
			uint64_t *out, struct ev_error *err)
{
	uint64_t first = ev_reader_first_offset(r);
	uint64_t end = ev_reader_end_offset(r), lo, *ring, seen = 0;
	struct ev_rec rec;
	int rc;

	*out = first;
	if (n == 0) {
		*out = end;
		return 0;
	}
	if (f == NULL || ev_filter_is_empty(f)) {
		/* every event matches: the last n offsets */
		*out = end - (n < end - first ? n : end - first);
		return 0;
	}
	if (n > end - first)
		return 0; /* fewer than n events: all the matches */
	if ((rc = find_last_back(r, f, n, out, &lo, &seen, err)) != 0)
		return rc < 0 ? rc : 0;
	/* the rest before lo, forwards: a ring of the offsets of the last
	 * n matches there, as tail(1) keeps lines */
	n -= seen;
	if (n > lo - first)
		return 0;
	if ((ring = calloc(n, sizeof(*ring))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	seen = 0;
	rc = ev_reader_seek(r, first, err);
	while (rc == 0 && (rc = ev_reader_next(r, &rec, err)) == 1) {
		if (rec.offset >= lo) {
			rc = 0;
			break;
		}
		if ((rc = matches(r, f, &rec, err)) < 0)
			break;
		if (rc == 0)
			continue;
		rc = 0;
		ring[seen % n] = rec.offset;
		seen++;
	}
	if (rc >= 0 && seen >= n)
		*out = ring[seen % n];
	free(ring);
	return rc < 0 ? rc : 0;
}
