/*
 * explain.c - why a selection is empty: the --type and --stream globs
 * that match nothing in a log, each told with the closest names.
 *
 * The types come from the type counts (typecount.c, cached in the log)
 * and the streams from the stream state (state.c), so no event is read
 * twice; without a cache that covers the log, a type is first looked
 * for alone, by its summaries, and the log counted only when one of the
 * types has no event.  "Closest" compares names lowercased and without
 * punctuation or glob characters, so that PushEvent finds push and pull_request
 * finds PullRequestEvent; a name is close when one contains the other,
 * or when few edits separate them.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

#define SHOW 3	   /* closest names shown */
#define SHOW_ANY 5 /* names shown when none is close */
#define NORM 64	   /* longest normalised name compared by edits */

struct cand {
	const char *name;
	size_t n;
	uint64_t count; /* events, to break ties and when none is close */
	unsigned score;
};

struct cands {
	struct cand *v;
	size_t n, cap;
};

static int cands_add(struct cands *c, const char *name, size_t n,
		     uint64_t count)
{
	struct cand *nv;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		if ((nv = realloc(c->v, c->cap * sizeof(*nv))) == NULL)
			return EV_ERR;
		c->v = nv;
	}
	c->v[c->n].name = name;
	c->v[c->n].n = n;
	c->v[c->n].count = count;
	c->v[c->n++].score = 0;
	return 0;
}

/* name lowercased, letters and digits only, at most NORM of them */
static size_t normalise(const char *s, size_t n, char out[NORM])
{
	size_t i, k = 0;
	unsigned char ch;

	for (i = 0; i < n && k < NORM; i++) {
		ch = (unsigned char)s[i];
		if (ch >= 'A' && ch <= 'Z')
			out[k++] = (char)(ch - 'A' + 'a');
		else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			 ch >= 0x80)
			out[k++] = (char)ch;
	}
	return k;
}

static unsigned edits(const char *a, size_t an, const char *b, size_t bn)
{
	unsigned row[NORM + 1], prev, cur, best;
	size_t i, j;

	for (j = 0; j <= bn; j++)
		row[j] = (unsigned)j;
	for (i = 1; i <= an; i++) {
		prev = row[0];
		row[0] = (unsigned)i;
		for (j = 1; j <= bn; j++) {
			cur = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[bn];
}

/* How far name is from the pattern p (normalised, pn): lower is
 * closer; UINT_MAX when it is not close at all. */
static unsigned distance(const char *p, size_t pn, const char *name, size_t n)
{
	char b[NORM];
	size_t bn = normalise(name, n, b), lo, hi;
	unsigned d;

	if (pn == 0 || bn == 0)
		return ~0u;
	lo = pn < bn ? pn : bn;
	hi = pn < bn ? bn : pn;
	if (memmem(pn < bn ? b : p, hi, pn < bn ? p : b, lo) != NULL)
		return (unsigned)(hi - lo); /* one holds the other */
	if (hi - lo > 3)
		return ~0u;
	d = edits(p, pn, b, bn);
	/* a few edits, and at most half the name */
	return d <= 3 && 2 * d <= hi ? 100 + d : ~0u;
}

static int by_score(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return memcmp(a->name, b->name, a->n);
}

static int glob_matches(const char *glob, const char *name, size_t n,
			struct ev_buf *tmp)
{
	tmp->len = 0;
	if (ev_buf_append(tmp, name, n) != 0 || ev_buf_putc(tmp, '\0') != 0)
		return -1;
	return fnmatch(glob, (const char *)tmp->p, 0) == 0;
}

/* Tell about glob when no candidate matches it: 0, or EV_ERR. */
static int explain(const char *what, const char *logname, const char *glob,
		   struct cands *c, ev_notice_fn notice, void *ctx)
{
	struct ev_buf msg = {0}, tmp = {0};
	char p[NORM];
	size_t pn = normalise(glob, strlen(glob), p), i, shown = 0;
	int r = 0, m, close = 0;

	for (i = 0; i < c->n; i++) {
		if ((m = glob_matches(glob, c->v[i].name, c->v[i].n, &tmp)) < 0)
			goto oom;
		if (m)
			goto out; /* it matches: nothing to say */
		c->v[i].score = distance(p, pn, c->v[i].name, c->v[i].n);
		close += c->v[i].score != ~0u;
	}
	if (c->n == 0)
		goto out;
	qsort(c->v, c->n, sizeof(*c->v), by_score);
	r = ev_buf_printf(&msg, "no %s in '%s' matches '%s'; %s", what, logname,
			  glob, close ? "closest:" : "most common:");
	for (i = 0; r == 0 && i < c->n; i++) {
		if (close ? c->v[i].score == ~0u || shown == SHOW
			  : shown == SHOW_ANY)
			break;
		r = ev_buf_printf(&msg, "%s %.*s", shown ? "," : "",
				  (int)c->v[i].n, c->v[i].name);
		shown++;
	}
	if (r == 0 && !close && i < c->n)
		r = ev_buf_printf(&msg, ", ... (%zu in all)", c->n);
	if (r != 0 || ev_buf_putc(&msg, '\0') != 0)
		goto oom;
	notice(ctx, (const char *)msg.p);
	goto out;
oom:
	r = EV_ERR;
out:
	ev_buf_free(&msg);
	ev_buf_free(&tmp);
	return r;
}

/*
 * Does the log hold an event of type t?  1 or 0, or a negative EV_E*.
 * The read stops at the first such event and passes by the batches
 * whose summaries rule the type out (evlog(5) Summaries), so it costs a
 * batch or two for a type the log has, and little more than the
 * summaries for one it lacks: not the whole log, as counting would.
 */
static int has_type(struct ev_log *log, const char *t, struct ev_error *err)
{
	struct ev_reader *rd = NULL;
	struct ev_skip *sk;
	struct ev_rec rec;
	struct ev_str got;
	size_t tn = strlen(t);
	int r;

	if ((r = ev_reader_open(&rd, log, err)) != 0)
		return r;
	/* no threads reading ahead: the read stops at the first event of
	 * the type, and what they read past it would only be waited for */
	ev_reader_set_readahead(rd, 0);
	/* the read proper takes the batch it stopped in, if it reads it */
	ev_reader_keep_batch(rd);
	/* (EVLOG_NO_SKIP: every batch, as every read then) */
	sk = ev_skip_off() ? NULL : calloc(1, sizeof(*sk));
	if (sk != NULL && (sk->tkeys = malloc(sizeof(*sk->tkeys))) != NULL) {
		sk->tkeys[0] = ev_sum_type_key(t, tn);
		sk->nt = 1;
		sk->types = 1;
		ev_reader_set_skip(rd, sk); /* the reader's now */
	} else {
		ev_skip_free(sk); /* a read that skips nothing is right too */
	}
	while ((r = ev_reader_next(rd, &rec, err)) == 1)
		if (ev_event_peek_type(rec.p, rec.n, &got) == 0 &&
		    got.n == tn && memcmp(got.p, t, tn) == 0)
			break;
	ev_reader_free(rd);
	return r;
}

/* 1 when each of the types, all names without glob characters, has an
 * event in the log; 0 when one has none or is a glob. */
static int types_present(struct ev_log *log, const char *const *types,
			 size_t ntypes, struct ev_error *err)
{
	size_t i;
	int r;

	for (i = 0; i < ntypes; i++)
		if (strpbrk(types[i], "*?[") != NULL)
			return 0;
	for (i = 0; i < ntypes; i++)
		if ((r = has_type(log, types[i], err)) != 1)
			return r;
	return 1;
}

static int add_stream(void *ctx, const struct ev_stream_info *s)
{
	return cands_add(ctx, s->name, s->name_len, s->count);
}

int ev_explain_globs(struct ev_log *log, const char *logname,
		     const char *const *types, size_t ntypes,
		     const char *const *streams, size_t nstreams,
		     ev_notice_fn notice, void *ctx, struct ev_error *err)
{
	struct ev_type_count *tc = NULL;
	struct ev_state *st = NULL;
	struct ev_stream_info si;
	struct cands c = {0};
	uint64_t end;
	size_t ntc = 0, i, todo = 0;
	int r = 0;

	if (notice == NULL)
		return 0;
	/* the counts tell which types there are; without a cache that
	 * covers the log they cost a read of all of it, before the read the
	 * caller wants: first see whether each type has an event, which is
	 * cheap, and count only when one has none */
	if (ntypes > 0 &&
	    (r = ev_log_type_counts_cached(log, &tc, &ntc, err)) == 1) {
		r = types_present(log, types, ntypes, err);
		if (r < 0)
			goto out;
		if (r == 1)
			ntypes = 0; /* nothing to explain */
		else if ((r = ev_log_type_counts(log, &tc, &ntc, err)) != 0)
			goto out;
	} else if (r < 0) {
		goto out;
	}
	if (ntypes > 0) {
		for (i = 0; i < ntc; i++)
			if (cands_add(&c, tc[i].name, strlen(tc[i].name),
				      tc[i].n) != 0)
				goto oom;
		for (i = 0; i < ntypes; i++)
			if (explain("event type", logname, types[i], &c, notice,
				    ctx) != 0)
				goto oom;
	}
	/* a name without glob characters is looked up alone */
	for (i = 0; i < nstreams; i++) {
		if (strpbrk(streams[i], "*?[") != NULL) {
			todo++;
			continue;
		}
		r = ev_state_lookup(log, streams[i], strlen(streams[i]), &si,
				    &end, err);
		if (r < 0)
			goto out;
		todo += r == 0;
	}
	r = 0;
	if (todo == 0)
		goto out;
	if ((r = ev_state_load(&st, log, 0, err)) != 0)
		goto out;
	c.n = 0;
	if (ev_state_foreach_stream(st, add_stream, &c) != 0)
		goto oom;
	for (i = 0; i < nstreams; i++)
		if (explain("stream", logname, streams[i], &c, notice, ctx) !=
		    0)
			goto oom;
	goto out;
oom:
	r = ev_seterr(err, EV_ERR, "out of memory");
out:
	free(c.v);
	ev_state_free(st);
	ev_type_counts_free(tc, ntc);
	return r;
}
