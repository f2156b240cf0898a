/*
 * trace.c - the events of one flow as a tree (evtail --trace, see
 * evtail(1) TRACE): every event whose id or meta.correlationId is the
 * trace id, found through the correlation index (corrindex.c), each a
 * child of the event its meta.causationId names.
 *
 * A Kafka log has no index: ev_trace_build_scan() reads its scan whole
 * for the same events, each named by its partition and offset, and does
 * not look for the causes of orphans elsewhere in the topic.
 *
 * Logs are data from anywhere: causation ids may name events that are
 * not in the log (orphans), an event itself, or go round in a cycle.
 * Every walk here is a loop with its own stack, so a chain of a million
 * events costs memory, not the C stack, and a cycle is cut where it is
 * found, with a note.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrindex_int.h"
#include "evlog_private.h"

/* the deepest indentation the text tree draws; deeper events are drawn
 * there, with their depth */
#define TEXT_MAX_INDENT 24
/* orphans whose cause is looked up in the rest of the log, at most */
#define MAX_CAUSE_LOOKUPS 64

enum note {
	NOTE_NONE = 0,
	NOTE_ORPHAN,	   /* the cause is not in the log */
	NOTE_ORPHAN_ELSE,  /* the cause is in the log, not in this trace */
	NOTE_ORPHAN_MAYBE, /* the cause was not looked up */
	NOTE_SELF,	   /* caused by itself */
	NOTE_CYCLE,	   /* a cycle was cut here */
};

struct node {
	uint64_t offset;
	int32_t part; /* a Kafka record's partition and offset, or -1 */
	int64_t koff;
	ev_time_t time;
	size_t at, n; /* the record in t->recs */
	struct ev_event ev;
	struct ev_str caus, corr;
	long parent, first, last, next; /* -1: none */
	int note;
	uint64_t cause_off; /* NOTE_ORPHAN_ELSE */
	uint64_t depth;
};

struct ev_trace {
	char *id;
	size_t id_n;
	struct ev_buf recs;
	struct node *v;
	size_t n, cap;
	long first_root, last_root;
	size_t roots;
	ev_time_t base, max_time;
	int flags;
	struct ev_corrindex_stats stats;
};

static int keep(void *ctx, const struct ev_rec *rec)
{
	struct ev_trace *t = ctx;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct node *nv = realloc(t->v, cap * sizeof(*nv));
		if (nv == NULL)
			return EV_ERR;
		t->v = nv;
		t->cap = cap;
	}
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].offset = rec->offset;
	t->v[t->n].part = rec->kafka ? rec->partition : -1;
	t->v[t->n].koff = rec->kafka ? rec->koffset : -1;
	t->v[t->n].at = t->recs.len;
	t->v[t->n].n = rec->n;
	t->v[t->n].ev.append_time = rec->append_time;
	if (ev_buf_append(&t->recs, rec->p, rec->n) != 0)
		return EV_ERR;
	t->n++;
	return 0;
}

/* meta.NAME as a string, when it is one */
static void meta_str(const struct ev_event *ev, const char *name,
		     struct ev_str *out)
{
	const uint8_t *v, *q;
	size_t vn;
	struct ev_mp_item it;

	out->p = NULL;
	out->n = 0;
	if (ev->meta == NULL ||
	    ev_mp_path(ev->meta, ev->meta_len, name, &v, &vn) != 1)
		return;
	q = v;
	if (ev_mp_read(&q, v + vn, &it) == 0 && it.type == EV_MP_STR) {
		out->p = (const char *)it.p;
		out->n = it.n;
	}
}

static int str_eq(struct ev_str a, struct ev_str b)
{
	return a.p != NULL && b.p != NULL && a.n == b.n &&
	       memcmp(a.p, b.p, a.n) == 0;
}

static int str_cmp(struct ev_str a, struct ev_str b)
{
	size_t n = a.n < b.n ? a.n : b.n;
	int c = memcmp(a.p, b.p, n);

	return c ? c : (a.n > b.n) - (a.n < b.n);
}

/* node indexes sorted by id, then offset, for finding a cause */
static const struct ev_trace *sort_t;

static int by_id(const void *a, const void *b)
{
	const struct node *x = &sort_t->v[*(const size_t *)a];
	const struct node *y = &sort_t->v[*(const size_t *)b];
	int c = str_cmp(x->ev.id, y->ev.id);

	return c ? c : (x->offset > y->offset) - (x->offset < y->offset);
}

static int by_time(const void *a, const void *b)
{
	const struct node *x = &sort_t->v[*(const size_t *)a];
	const struct node *y = &sort_t->v[*(const size_t *)b];

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

/* The node whose id is s (the first in the log), or -1. */
static long find_id(const struct ev_trace *t, const size_t *ids,
		    struct ev_str s)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (str_cmp(t->v[ids[mid]].ev.id, s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && str_eq(t->v[ids[lo]].ev.id, s) ? (long)ids[lo] : -1;
}

/* Cut the cycles: a walk up from each node, marking the path; a walk
 * that comes back to its own path has found a cycle. */
static int cut_cycles(struct ev_trace *t)
{
	unsigned char *state = calloc(t->n ? t->n : 1, 1);
	long *path = malloc((t->n ? t->n : 1) * sizeof(*path));
	size_t i, np, k;
	long j, c, cut;

	if (state == NULL || path == NULL) {
		free(state);
		free(path);
		return -1;
	}
	for (i = 0; i < t->n; i++) {
		if (state[i])
			continue;
		np = 0;
		for (j = (long)i; j >= 0 && state[j] == 0; j = t->v[j].parent) {
			state[j] = 1;
			path[np++] = j;
		}
		if (j >= 0 && state[j] == 1) {
			/* j is on this path: the cycle is j and its
			 * ancestors back to j; cut at its first event */
			cut = j;
			for (c = t->v[j].parent; c != j; c = t->v[c].parent)
				if (t->v[c].offset < t->v[cut].offset)
					cut = c;
			t->v[cut].parent = -1;
			t->v[cut].note = NOTE_CYCLE;
		}
		for (k = 0; k < np; k++)
			state[path[k]] = 2;
	}
	free(state);
	free(path);
	return 0;
}

static int link_tree(struct ev_trace *t, struct ev_log *log,
		     struct ev_reader *rd, struct ev_error *err)
{
	size_t *ord = malloc((t->n ? t->n : 1) * sizeof(*ord)), i, nlook = 0;
	size_t look[MAX_CAUSE_LOOKUPS];
	struct ev_str self = {t->id, t->id_n}, keys[MAX_CAUSE_LOOKUPS];
	uint64_t offs[MAX_CAUSE_LOOKUPS];
	int rc = 0;

	if (ord == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < t->n; i++)
		ord[i] = i;
	sort_t = t;
	qsort(ord, t->n, sizeof(*ord), by_id);
	for (i = 0; i < t->n; i++) {
		struct node *x = &t->v[i];
		long p;
		x->parent = x->first = x->last = x->next = -1;
		if (x->caus.p == NULL)
			continue;
		if (str_eq(x->caus, x->ev.id)) {
			x->note = NOTE_SELF;
			continue;
		}
		if ((p = find_id(t, ord, x->caus)) >= 0) {
			x->parent = p;
			continue;
		}
		/* a flow's first event names its correlation id (or the
		 * trace's) as its cause: the origin, not an orphan */
		if (str_eq(x->caus, x->corr) || str_eq(x->caus, self))
			continue;
		x->note = NOTE_ORPHAN_MAYBE;
		if (nlook < MAX_CAUSE_LOOKUPS) {
			look[nlook] = i;
			keys[nlook++] = x->caus;
		}
	}
	/* where the causes of the first orphans are: looked up together, so
	 * that a log without an index is read once for them all */
	if (nlook > 0 && (log != NULL || rd != NULL)) {
		struct ev_error e2;
		int r = ev_corrindex_first_ids(log, rd, keys, nlook,
					       (t->flags & EV_CIX_IGNORE) |
						       EV_CIX_NO_WRITE,
					       offs, &e2);
		if (r < 0) {
			*err = e2;
			rc = r;
			goto out;
		}
		for (i = 0; i < nlook; i++) {
			struct node *x = &t->v[look[i]];
			x->note = offs[i] == UINT64_MAX ? NOTE_ORPHAN
							: NOTE_ORPHAN_ELSE;
			x->cause_off = offs[i];
		}
	}
	if (cut_cycles(t) != 0) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	/* children and roots in time order */
	for (i = 0; i < t->n; i++)
		ord[i] = i;
	qsort(ord, t->n, sizeof(*ord), by_time);
	t->first_root = t->last_root = -1;
	for (i = 0; i < t->n; i++) {
		long x = (long)ord[i], p = t->v[x].parent;
		long *first = p >= 0 ? &t->v[p].first : &t->first_root;
		long *last = p >= 0 ? &t->v[p].last : &t->last_root;
		if (*last >= 0)
			t->v[*last].next = x;
		else
			*first = x;
		*last = x;
		if (p < 0)
			t->roots++;
	}
	t->base = t->n ? t->v[t->first_root].time : 0;
	t->max_time = t->n ? t->v[ord[t->n - 1]].time : 0;
out:
	free(ord);
	return rc;
}

static int finish(struct ev_trace *t, struct ev_log *log, struct ev_reader *rd,
		  struct ev_error *err);

int ev_trace_build(struct ev_trace **out, struct ev_log *log,
		   struct ev_reader *rd, const char *id, size_t n, int flags,
		   struct ev_error *err)
{
	struct ev_trace *t;
	int r;

	*out = NULL;
	ev_error_clear(err);
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->id = malloc(n + 1)) == NULL) {
		free(t);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	memcpy(t->id, id, n);
	t->id[n] = '\0';
	t->id_n = n;
	t->flags = flags;
	r = ev_corrindex_find(log, rd, id, n, flags & ~EV_CIX_ID_ONLY, keep, t,
			      &t->stats, err);
	if (r > 0)
		r = ev_seterr(err, EV_ERR, "out of memory");
	if (r == 0)
		r = finish(t, log, rd, err);
	if (r != 0) {
		ev_trace_free(t);
		return r;
	}
	*out = t;
	return 0;
}

/* The events kept, decoded and linked: 0, or an error. */
static int finish(struct ev_trace *t, struct ev_log *log, struct ev_reader *rd,
		  struct ev_error *err)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < t->n; i++) {
		struct node *x = &t->v[i];
		r = ev_event_decode(t->recs.p + x->at, x->n, &x->ev, err);
		if (r != 0) {
			ev_err_damaged(err, log ? ev_log_path(log) : "segment",
				       x->offset);
			break;
		}
		x->ev.offset = x->offset;
		x->time = x->ev.time;
		meta_str(&x->ev, "causationId", &x->caus);
		meta_str(&x->ev, "correlationId", &x->corr);
	}
	if (r == 0)
		r = link_tree(t, log, rd, err);
	return r;
}

int ev_trace_build_scan(struct ev_trace **out, struct ev_scan *scan,
			const char *id, size_t n,
			const volatile sig_atomic_t *stop, struct ev_error *err)
{
	struct ev_trace *t;
	const struct ev_event *ev;
	struct ev_str corr, want = {id, n};
	struct ev_rec rec;
	int r;

	*out = NULL;
	ev_error_clear(err);
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->id = malloc(n + 1)) == NULL) {
		free(t);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	memcpy(t->id, id, n);
	t->id[n] = '\0';
	t->id_n = n;
	for (;;) {
		if (stop != NULL && *stop) {
			r = 0;
			break;
		}
		r = ev_scan_next(scan, &rec, &ev, err);
		if (r > 0) {
			meta_str(ev, "correlationId", &corr);
			if ((str_eq(ev->id, want) ||
			     (corr.p != NULL && str_eq(corr, want))) &&
			    keep(t, &rec) != 0) {
				r = ev_seterr(err, EV_ERR, "out of memory");
				break;
			}
			continue;
		}
		/* a topic: none yet is not the end */
		if (r < 0 || ev_scan_done(scan) ||
		    (r = ev_scan_wait(scan, 1000, err)) < 0)
			break;
	}
	if (r == 0)
		r = finish(t, NULL, NULL, err);
	if (r != 0) {
		ev_trace_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void ev_trace_free(struct ev_trace *t)
{
	if (t == NULL)
		return;
	free(t->id);
	ev_buf_free(&t->recs);
	free(t->v);
	free(t);
}

size_t ev_trace_count(const struct ev_trace *t)
{
	return t->n;
}

const struct ev_corrindex_stats *ev_trace_stats(const struct ev_trace *t)
{
	return &t->stats;
}

/* ------------------------------------------------------------ output */

/* A duration: 0ms, 754ms, 1.5ms, 12µs, 1.661s, 2m3.5s, 1h0m2s, 2d3h0m,
 * signed with
 * plus when sign is set. */
static void fmt_dur(char *out, size_t cap, int64_t d, int sign)
{
	const char *s = d < 0 ? "-" : sign ? "+" : "";
	uint64_t a = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
	uint64_t unit, ip, frac;
	const char *u;
	int digits, len;
	char f[16];

	if (a >= 60000000000ull) {
		/* 2m3.5s, 4h0m7s: minutes and hours before the seconds */
		uint64_t m = a / 60000000000ull;
		char rest[16];
		fmt_dur(rest, sizeof(rest), (int64_t)(a % 60000000000ull), 0);
		if (strcmp(rest, "0ms") == 0)
			rest[0] = '\0';
		if (m >= 1440)
			snprintf(out, cap, "%s%llud%lluh%llum%s", s,
				 (unsigned long long)(m / 1440),
				 (unsigned long long)(m / 60 % 24),
				 (unsigned long long)(m % 60), rest);
		else if (m >= 60)
			snprintf(out, cap, "%s%lluh%llum%s", s,
				 (unsigned long long)(m / 60),
				 (unsigned long long)(m % 60), rest);
		else
			snprintf(out, cap, "%s%llum%s", s,
				 (unsigned long long)m, rest);
		return;
	}
	if (a >= 1000000000ull)
		unit = 1000000000ull, u = "s", digits = 9;
	else if (a >= 1000000ull || a == 0)
		unit = 1000000ull, u = "ms", digits = 6;
	else if (a >= 1000ull)
		unit = 1000ull, u = "\xc2\xb5s", digits = 3;
	else
		unit = 1, u = "ns", digits = 0;
	ip = a / unit;
	frac = a % unit;
	/* at most three fraction digits, trailing zeros dropped */
	if (digits > 3) {
		uint64_t div = 1;
		int k;
		for (k = 0; k < digits - 3; k++)
			div *= 10;
		frac /= div;
		digits = 3;
	}
	f[0] = '\0';
	if (frac > 0) {
		len = snprintf(f, sizeof(f), ".%0*llu", digits,
			       (unsigned long long)frac);
		while (len > 1 && f[len - 1] == '0')
			f[--len] = '\0';
	}
	snprintf(out, cap, "%s%llu%s%s", s, (unsigned long long)ip, f, u);
}

static int put_note(struct ev_buf *o, const struct node *x, int json)
{
	const char *what;
	int r = 0;

	switch (x->note) {
	case NOTE_SELF:
		what = "caused by itself";
		break;
	case NOTE_CYCLE:
		what = "a cycle of causes ends here: caused by ";
		break;
	case NOTE_ORPHAN:
	case NOTE_ORPHAN_ELSE:
	case NOTE_ORPHAN_MAYBE:
		what = "orphan: caused by ";
		break;
	default:
		return 0;
	}
	if (json)
		r |= ev_buf_puts(o, ",\"note\":");
	else
		r |= ev_buf_puts(o, "  [");
	{
		struct ev_buf s = {0};
		r |= ev_buf_puts(&s, what);
		if (x->note != NOTE_SELF) {
			r |= ev_buf_putc(&s, '\'');
			r |= ev_buf_append(&s, x->caus.p, x->caus.n);
			r |= ev_buf_putc(&s, '\'');
		}
		if (x->note == NOTE_CYCLE)
			r |= ev_buf_puts(&s, ", which it caused");
		else if (x->note == NOTE_ORPHAN)
			r |= ev_buf_puts(&s, ", which is not in the log");
		else if (x->note == NOTE_ORPHAN_ELSE)
			r |= ev_buf_printf(&s,
					   ", at offset %llu, outside this "
					   "trace",
					   (unsigned long long)x->cause_off);
		else if (x->note == NOTE_ORPHAN_MAYBE)
			r |= ev_buf_puts(&s, ", which is not in this trace");
		if (r == 0) {
			if (json)
				r |= ev_json_string(o, (const char *)s.p,
						    s.len) != 0;
			else
				r |= ev_buf_append(o, s.p, s.len);
		}
		ev_buf_free(&s);
	}
	if (!json)
		r |= ev_buf_putc(o, ']');
	return r ? -1 : 0;
}

/* A string for a terminal: control characters as '?' (ids and names
 * of a log are data from anywhere). */
static int put_plain(struct ev_buf *o, const char *p, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		unsigned char c = (unsigned char)p[i];
		r = ev_buf_putc(o, c < 0x20 || c == 0x7f ? '?' : c);
	}
	return r;
}

/* The next node of a depth-first walk (children before siblings), with
 * its depth; -1 at the end. */
static long walk_next(const struct ev_trace *t, long x, uint64_t *depth)
{
	if (t->v[x].first >= 0) {
		(*depth)++;
		return t->v[x].first;
	}
	while (x >= 0) {
		if (t->v[x].next >= 0)
			return t->v[x].next;
		x = t->v[x].parent;
		if (x >= 0)
			(*depth)--;
	}
	return -1;
}

static int fmt_text(const struct ev_trace *t, int color, struct ev_buf *o)
{
	/* whether the ancestor at each drawn level has a later sibling */
	char more[TEXT_MAX_INDENT + 1];
	char at[64], gap[64], tb[40];
	uint64_t depth = 0, k;
	long x;
	int r = 0, wat = 1, wgap = 1;

	fmt_dur(gap, sizeof(gap), t->max_time - t->base, 0);
	ev_time_format(t->base, tb);
	r |= ev_buf_puts(o, "trace '");
	r |= put_plain(o, t->id, t->id_n);
	r |= ev_buf_printf(o, "': %zu %s, %zu %s, from %s over %s\n", t->n,
			   ev_plural(t->n, "event", "events"), t->roots,
			   ev_plural(t->roots, "root", "roots"), tb, gap);
	/* the two time columns as wide as their widest */
	for (x = t->first_root; x >= 0; x = walk_next(t, x, &depth)) {
		const struct node *v = &t->v[x];
		fmt_dur(at, sizeof(at), v->time - t->base, 1);
		if ((int)strlen(at) > wat)
			wat = (int)strlen(at);
		if (v->parent >= 0) {
			fmt_dur(gap, sizeof(gap),
				v->time - t->v[v->parent].time, 1);
			if ((int)strlen(gap) > wgap)
				wgap = (int)strlen(gap);
		}
	}
	depth = 0;
	for (x = t->first_root; x >= 0 && r == 0; x = walk_next(t, x, &depth)) {
		const struct node *v = &t->v[x];
		uint64_t shown =
			depth < TEXT_MAX_INDENT ? depth : TEXT_MAX_INDENT;
		fmt_dur(at, sizeof(at), v->time - t->base, 1);
		if (v->parent >= 0)
			fmt_dur(gap, sizeof(gap),
				v->time - t->v[v->parent].time, 1);
		else
			gap[0] = '\0';
		r |= ev_buf_printf(o, "%*s %*s  ", wat, at, wgap, gap);
		if (depth <= TEXT_MAX_INDENT && depth > 0)
			more[depth - 1] = v->next >= 0;
		for (k = 1; k < shown; k++)
			r |= ev_buf_puts(o, more[k - 1] ? "\xe2\x94\x82  "
							: "   ");
		if (depth > 0)
			r |= ev_buf_puts(o,
					 depth > TEXT_MAX_INDENT
						 ? "\xe2\x86\xb3 "
					 : v->next >= 0
						 ? "\xe2\x94\x9c\xe2\x94\x80 "
						 : "\xe2\x94\x94\xe2\x94\x80 ");
		if (depth > TEXT_MAX_INDENT)
			r |= ev_buf_printf(o, "(depth %llu) ",
					   (unsigned long long)depth);
		if (color)
			r |= ev_buf_puts(o, "\033[1m");
		r |= put_plain(o, v->ev.type.p, v->ev.type.n);
		if (color)
			r |= ev_buf_puts(o, "\033[0m");
		if (v->ev.stream.p != NULL) {
			r |= ev_buf_putc(o, ' ');
			r |= put_plain(o, v->ev.stream.p, v->ev.stream.n);
			if (v->ev.version > 0) /* a Kafka log's may have none */
				r |= ev_buf_printf(o, "@%llu",
						   (unsigned long long)
							   v->ev.version);
		}
		if (v->part >= 0)
			r |= ev_buf_printf(o, " #%d:%lld", (int)v->part,
					   (long long)v->koff);
		else
			r |= ev_buf_printf(o, " #%llu",
					   (unsigned long long)v->offset);
		if (v->note != NOTE_NONE) {
			if (color)
				r |= ev_buf_puts(o, "\033[33m");
			r |= put_note(o, v, 0);
			if (color)
				r |= ev_buf_puts(o, "\033[0m");
		}
		r |= ev_buf_putc(o, '\n');
	}
	return r ? -1 : 0;
}

/* A node's event as evtail prints it: a Kafka record's with its
 * partition before its offset. */
static int put_event(struct ev_buf *o, const struct node *v,
		     const struct ev_trace *t, struct ev_error *err)
{
	size_t at = o->len;
	char pb[24];
	int pn;

	if (v->part < 0)
		return ev_record_to_json(t->recs.p + v->at, v->n, v->offset, o,
					 err);
	if (ev_record_to_json(t->recs.p + v->at, v->n, (uint64_t)v->koff, o,
			      err) != 0)
		return err->code;
	/* {"offset":... becomes {"partition":P,"offset":... */
	pn = snprintf(pb, sizeof(pb), "\"partition\":%d,", (int)v->part);
	if (o->len == at || o->p[at] != '{' ||
	    ev_buf_append(o, pb, (size_t)pn) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	memmove(o->p + at + 1 + pn, o->p + at + 1, o->len - at - 1 - pn);
	memcpy(o->p + at + 1, pb, (size_t)pn);
	return 0;
}

static int fmt_json(const struct ev_trace *t, struct ev_buf *o,
		    struct ev_error *err)
{
	char tb[40];
	uint64_t depth = 0, d0;
	long x, y;
	int r = 0;

	r |= ev_buf_puts(o, "{\"trace\":");
	if (ev_json_string(o, t->id, t->id_n) != 0)
		return ev_seterr(err, EV_EDATA, "the trace id is not UTF-8");
	r |= ev_buf_printf(o, ",\"events\":%zu,\"roots\":%zu", t->n, t->roots);
	if (t->n > 0) {
		ev_time_format(t->base, tb);
		r |= ev_buf_printf(o, ",\"start\":\"%s\",\"duration_ns\":%lld",
				   tb, (long long)(t->max_time - t->base));
	}
	r |= ev_buf_puts(o, ",\"tree\":[");
	for (x = t->first_root; x >= 0 && r == 0;) {
		const struct node *v = &t->v[x];
		if (x != t->first_root &&
		    (v->parent < 0 || v != &t->v[t->v[v->parent].first]))
			r |= ev_buf_putc(o, ',');
		r |= ev_buf_printf(o, "{\"at_ns\":%lld,\"gap_ns\":",
				   (long long)(v->time - t->base));
		if (v->parent >= 0)
			r |= ev_buf_printf(o, "%lld",
					   (long long)(v->time -
						       t->v[v->parent].time));
		else
			r |= ev_buf_puts(o, "null");
		r |= put_note(o, v, 1);
		r |= ev_buf_puts(o, ",\"event\":");
		if (r == 0 && put_event(o, v, t, err) != 0)
			return err->code;
		r |= ev_buf_puts(o, ",\"children\":[");
		d0 = depth;
		y = walk_next(t, x, &depth);
		if (depth <= d0) {
			/* no children: close this node and each parent the
			 * walk climbed out of */
			uint64_t k;
			r |= ev_buf_puts(o, "]}");
			for (k = depth; k < d0; k++)
				r |= ev_buf_puts(o, "]}");
		}
		x = y;
	}
	r |= ev_buf_puts(o, "]}\n");
	return r ? ev_seterr(err, EV_ERR, "out of memory") : 0;
}

/* ns as microseconds with three decimals: Chrome's ts and dur */
static int put_us(struct ev_buf *o, int64_t ns)
{
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

	return ev_buf_printf(o, "%s%llu.%03llu", ns < 0 ? "-" : "",
			     (unsigned long long)(a / 1000),
			     (unsigned long long)(a % 1000));
}

/* time order, for the threads */
static const size_t *sort_pos;

static int by_stream(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct ev_str *sx = &sort_t->v[x].ev.stream;
	const struct ev_str *sy = &sort_t->v[y].ev.stream;
	int c;

	/* events without a stream first: they share thread 0 */
	if ((sx->p == NULL) != (sy->p == NULL))
		return sx->p == NULL ? -1 : 1;
	if (sx->p != NULL && (c = str_cmp(*sx, *sy)) != 0)
		return c;
	return (sort_pos[x] > sort_pos[y]) - (sort_pos[x] < sort_pos[y]);
}

static int by_pos(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (sort_pos[x] > sort_pos[y]) - (sort_pos[x] < sort_pos[y]);
}

/* Chrome's trace-event format: one thread per stream, each event a
 * complete slice until the next event of its stream, and a flow arrow
 * from each cause to its effect. */
static int fmt_chrome(const struct ev_trace *t, struct ev_buf *o,
		      struct ev_error *err)
{
	size_t *ord = NULL, *tid = NULL, *pos = NULL, *bys = NULL,
	       *heads = NULL, i, nheads = 0;
	long *next_on = NULL;
	size_t m = t->n ? t->n : 1;
	int r = 0, rc = 0;

	ord = malloc(m * sizeof(*ord));
	tid = malloc(m * sizeof(*tid));
	pos = malloc(m * sizeof(*pos));
	bys = malloc(m * sizeof(*bys));
	heads = malloc(m * sizeof(*heads));
	next_on = malloc(m * sizeof(*next_on));
	if (!ord || !tid || !pos || !bys || !heads || !next_on) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	for (i = 0; i < t->n; i++)
		ord[i] = bys[i] = i;
	sort_t = t;
	qsort(ord, t->n, sizeof(*ord), by_time);
	for (i = 0; i < t->n; i++)
		pos[ord[i]] = i;
	sort_pos = pos;
	qsort(bys, t->n, sizeof(*bys), by_stream);
	/* each stream's run: its next event, and its first for the
	 * thread's number */
	for (i = 0; i < t->n; i++) {
		size_t x = bys[i];
		int same = i + 1 < t->n &&
			   (t->v[x].ev.stream.p == NULL
				    ? t->v[bys[i + 1]].ev.stream.p == NULL
				    : str_eq(t->v[x].ev.stream,
					     t->v[bys[i + 1]].ev.stream));
		next_on[x] = same ? (long)bys[i + 1] : -1;
		if (i == 0 || next_on[bys[i - 1]] < 0)
			heads[nheads++] = x;
	}
	qsort(heads, nheads, sizeof(*heads), by_pos);
	r |= ev_buf_puts(o, "{\"traceEvents\":[");
	r |= ev_buf_puts(o, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,"
			    "\"tid\":0,\"args\":{\"name\":");
	{
		struct ev_buf s = {0};
		r |= ev_buf_puts(&s, "trace ");
		r |= ev_buf_append(&s, t->id, t->id_n);
		if (r == 0 && ev_json_string(o, (const char *)s.p, s.len) != 0)
			r = -1;
		ev_buf_free(&s);
	}
	r |= ev_buf_puts(o, "}}");
	/* threads: the streams in order of their first event, from 1; 0
	 * for the events without a stream */
	{
		size_t k = 0;
		for (i = 0; i < nheads; i++) {
			size_t x = heads[i];
			size_t n = t->v[x].ev.stream.p == NULL ? 0 : ++k;
			long y;
			for (y = (long)x; y >= 0; y = next_on[y])
				tid[y] = n;
			r |= ev_buf_printf(
				o,
				",{\"ph\":\"M\",\"name\":\"thread_name\","
				"\"pid\":1,\"tid\":%zu,\"args\":{\"name\":",
				n);
			if (n == 0)
				r |= ev_buf_puts(o, "\"(no stream)\"");
			else if (ev_json_string(o, t->v[x].ev.stream.p,
						t->v[x].ev.stream.n) != 0)
				r = -1;
			r |= ev_buf_puts(o, "}}");
		}
	}
	for (i = 0; i < t->n && r == 0; i++) {
		size_t x = ord[i];
		const struct node *v = &t->v[x];
		int64_t dur =
			next_on[x] >= 0 ? t->v[next_on[x]].time - v->time : 0;
		char tb[40];
		if (dur <= 0)
			dur = 1000; /* 1µs, so that it shows */
		ev_time_format(v->time, tb);
		r |= ev_buf_puts(o, ",{\"ph\":\"X\",\"name\":");
		if (ev_json_string(o, v->ev.type.p, v->ev.type.n) != 0)
			r = -1;
		r |= ev_buf_printf(o,
				   ",\"cat\":\"event\",\"pid\":1,\"tid\":%zu,"
				   "\"ts\":",
				   tid[x]);
		r |= put_us(o, v->time - t->base);
		r |= ev_buf_puts(o, ",\"dur\":");
		r |= put_us(o, dur);
		if (v->part >= 0)
			r |= ev_buf_printf(o,
					   ",\"args\":{\"partition\":%d,"
					   "\"offset\":%lld,\"id\":",
					   (int)v->part, (long long)v->koff);
		else
			r |= ev_buf_printf(o,
					   ",\"args\":{\"offset\":%llu,\"id\":",
					   (unsigned long long)v->offset);
		if (ev_json_string(o, v->ev.id.p, v->ev.id.n) != 0)
			r = -1;
		if (v->ev.stream.p != NULL)
			r |= ev_buf_printf(o, ",\"version\":%llu",
					   (unsigned long long)v->ev.version);
		r |= ev_buf_printf(o, ",\"time\":\"%s\"", tb);
		if (v->parent >= 0) {
			char g[64];
			fmt_dur(g, sizeof(g), v->time - t->v[v->parent].time,
				1);
			r |= ev_buf_printf(o, ",\"gap\":\"%s\"", g);
		}
		r |= put_note(o, v, 1);
		r |= ev_buf_puts(o, "}}");
	}
	/* the arrows: from the cause's slice to the effect's */
	for (i = 0; i < t->n && r == 0; i++) {
		const struct node *v = &t->v[i];
		if (v->parent < 0)
			continue;
		r |= ev_buf_printf(o,
				   ",{\"ph\":\"s\",\"name\":\"caused\","
				   "\"cat\":\"cause\",\"id\":%zu,\"pid\":1,"
				   "\"tid\":%zu,\"ts\":",
				   i + 1, tid[v->parent]);
		r |= put_us(o, t->v[v->parent].time - t->base);
		r |= ev_buf_printf(o,
				   "},{\"ph\":\"f\",\"bp\":\"e\",\"name\":"
				   "\"caused\",\"cat\":\"cause\",\"id\":%zu,"
				   "\"pid\":1,\"tid\":%zu,\"ts\":",
				   i + 1, tid[i]);
		r |= put_us(o, v->time - t->base);
		r |= ev_buf_putc(o, '}');
	}
	r |= ev_buf_puts(o, "],\"displayTimeUnit\":\"ms\",\"otherData\":{"
			    "\"trace\":");
	if (r == 0 && ev_json_string(o, t->id, t->id_n) != 0)
		r = -1;
	r |= ev_buf_printf(o, ",\"events\":%zu}}\n", t->n);
	if (r)
		rc = ev_seterr(err, EV_ERR, "out of memory");
out:
	free(ord);
	free(tid);
	free(pos);
	free(bys);
	free(heads);
	free(next_on);
	return rc;
}

int ev_trace_format(const struct ev_trace *t, enum ev_trace_format f, int color,
		    struct ev_buf *out, struct ev_error *err)
{
	ev_error_clear(err);
	switch (f) {
	case EV_TRACE_TEXT:
		return fmt_text(t, color, out) == 0
			       ? 0
			       : ev_seterr(err, EV_ERR, "out of memory");
	case EV_TRACE_JSON:
		return fmt_json(t, out, err);
	case EV_TRACE_CHROME:
		return fmt_chrome(t, out, err);
	}
	return ev_seterr(err, EV_EUSAGE, "unknown trace format");
}
