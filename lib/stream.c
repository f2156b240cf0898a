/*
 * stream.c - reading one stream without scanning the log.
 *
 * Each stream event records the offset of its stream's previous event
 * (evlog(5) RECORDS, key 10), and the state says where each stream's
 * newest event is.  Reading a stream is then a walk back along those
 * links, one random read per event (no I/O when the previous event is
 * in the same batch), so it costs about the same in a log of any size.
 * Every step is checked (the record names the stream and has the
 * version one below the last); a log written before links, or a broken
 * link, makes the caller scan instead.
 */
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

/* the events walked, newest first: offset, append time, length, bytes */
struct walked {
	struct ev_buf b;
	size_t *at; /* start of each entry in b */
	size_t n, cap;
};

static int keep(struct walked *w, const struct ev_rec *rec)
{
	uint8_t h[20];

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		size_t *na = realloc(w->at, cap * sizeof(*na));
		if (na == NULL)
			return -1;
		w->at = na;
		w->cap = cap;
	}
	ev_put64(h, rec->offset);
	ev_put64(h + 8, (uint64_t)rec->append_time);
	ev_put32(h + 16, (uint32_t)rec->n);
	w->at[w->n++] = w->b.len;
	if (ev_buf_append(&w->b, h, sizeof(h)) != 0 ||
	    ev_buf_append(&w->b, rec->p, rec->n) != 0)
		return -1;
	return 0;
}

int ev_stream_read(struct ev_log *log, const char *name, size_t n,
		   uint64_t from_version, uint64_t last,
		   int (*fn)(void *ctx, const struct ev_rec *rec), void *ctx,
		   uint64_t *end, struct ev_error *err)
{
	struct ev_stream_info si;
	struct ev_reader *rd = NULL;
	struct walked w = {{0}, NULL, 0, 0};
	struct ev_rec rec;
	struct ev_event ev;
	uint64_t cur, want;
	size_t i;
	int r;

	r = ev_state_lookup(log, name, n, &si, end, err);
	if (r <= 0)
		return r; /* no such stream: nothing to read */
	r = ev_reader_open(&rd, log, err);
	if (r != 0)
		return r;
	cur = si.last_offset;
	want = si.last_version;
	while (cur != EV_NO_PREV && want >= 1 &&
	       (from_version <= 1 || want >= from_version) &&
	       (last == 0 || w.n < last)) {
		if (cur < ev_reader_first_offset(rd))
			break; /* trimmed: the older events are gone */
		r = ev_reader_get(rd, cur, &rec, err);
		if (r < 0)
			goto out;
		if (r == 0 || ev_event_decode(rec.p, rec.n, &ev, err) != 0 ||
		    ev.stream.p == NULL || ev.stream.n != n ||
		    memcmp(ev.stream.p, name, n) != 0 || ev.version != want ||
		    (ev.prev != EV_NO_PREV && ev.prev >= cur)) {
			r = 1; /* not a chain we can trust: scan */
			goto out;
		}
		if (keep(&w, &rec) != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto out;
		}
		if (ev.prev == EV_NO_PREV && want > 1 &&
		    (from_version <= 1 || want > from_version) &&
		    (last == 0 || w.n < last) && si.first_offset != cur) {
			/* more versions before it, but no link to them */
			r = 1;
			goto out;
		}
		cur = ev.prev;
		want--;
	}
	/* oldest first */
	r = 0;
	for (i = w.n; i > 0 && r == 0; i--) {
		const uint8_t *h = w.b.p + w.at[i - 1];
		rec.offset = ev_get64(h);
		rec.append_time = (ev_time_t)ev_get64(h + 8);
		rec.n = ev_get32(h + 16);
		rec.p = h + 20;
		r = fn(ctx, &rec);
	}
out:
	ev_reader_free(rd);
	ev_buf_free(&w.b);
	free(w.at);
	return r;
}

int ev_stream_in_category(const char *name, size_t n, const char *category)
{
	size_t cn = strlen(category);

	/* Message DB: the category of order-7, and of order, is order */
	return n >= cn && memcmp(name, category, cn) == 0 &&
	       (n == cn || name[cn] == '-');
}

struct stream_list {
	struct ev_stream_info *v;
	size_t n, cap;
	const char *category;
};

static int collect(void *ctx, const struct ev_stream_info *s)
{
	struct stream_list *l = ctx;

	if (l->category != NULL &&
	    !ev_stream_in_category(s->name, s->name_len, l->category))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct ev_stream_info *nv = realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *s;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct ev_stream_info *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	return c ? c
		 : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

int ev_stream_list(struct ev_state *st, const char *category,
		   struct ev_stream_info **out, size_t *n)
{
	struct stream_list l = {NULL, 0, 0, category};

	*out = NULL;
	*n = 0;
	if (ev_state_foreach_stream(st, collect, &l) != 0) {
		free(l.v);
		return EV_ERR;
	}
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), by_name);
	*out = l.v;
	*n = l.n;
	return 0;
}
