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

int ev_reader_find_last(struct ev_reader *r, struct ev_filter *f, uint64_t n,
			uint64_t *out, struct ev_error *err)
{
	uint64_t first = ev_reader_first_offset(r);
	uint64_t end = ev_reader_end_offset(r);
	uint64_t *ring, seen = 0;
	struct ev_rec rec;
	struct ev_event ev;
	int rc;

	if (n == 0) {
		*out = end;
		return 0;
	}
	if (f == NULL || ev_filter_is_empty(f)) {
		/* every event matches: the last n offsets */
		*out = end - (n < end - first ? n : end - first);
		return 0;
	}
	/* a ring of the offsets of the last n matches, as tail(1) keeps
	 * lines; n is what the caller wants to print, so it fits */
	ring = calloc(n < end - first ? n : (end - first ? end - first : 1),
		      sizeof(*ring));
	if (ring == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (n > end - first)
		n = end - first ? end - first : 1;
	rc = ev_reader_seek(r, first, err);
	while (rc == 0 && (rc = ev_reader_next(r, &rec, err)) == 1) {
		rc = 0;
		if (!ev_filter_precheck(f, rec.p, rec.n))
			continue;
		if ((rc = ev_event_decode(rec.p, rec.n, &ev, err)) != 0) {
			ev_err_damaged(err, ev_reader_path(r), rec.offset);
			break;
		}
		ev.offset = rec.offset;
		ev.append_time = rec.append_time;
		if (!ev_filter_match(f, &ev))
			continue;
		ring[seen % n] = rec.offset;
		seen++;
	}
	if (rc >= 0)
		*out = seen <= n ? first : ring[seen % n];
	free(ring);
	return rc < 0 ? rc : 0;
}
