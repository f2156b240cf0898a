/*
 * isession.c - struct ev_isession: the interpreter of evtail -i
 * (evtail(1) INTERACTIVE SESSION).  It takes command lines and writes
 * what they produce to a FILE *; cmd/evtail_i.c is the readline glue
 * around it.
 *
 * Moving is done with scans (struct ev_scan) of windows of offsets: the
 * filter, its pre-check and the reader's index are the selection's own.
 * Going forward reads on from the current event; going backward reads
 * windows that end before it, growing, and keeps the last matches, so a
 * common filter answers at once and a rare one costs a search, which is
 * interruptible like every long command.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

#define NONE UINT64_MAX
#define WINDOW_MIN 1024	  /* offsets of the first window going backward */
#define WINDOW_MAX 65536  /* and of every window of a long command */
#define FINE_BUCKETS 4096 /* stats: times first fall into these */
#define MAX_PATHS 2000	  /* field paths completed from one event */
#define PATH_DEPTH 8

enum fmt { FMT_PRETTY, FMT_JSON, FMT_TEMPLATE };

/* One filter as given: kind ("type", "stream", "where") and its text. */
struct spec {
	const char *kind;
	char *text;
};

struct pattern {
	char *text;	/* what was typed: TEXT or /REGEX/ */
	char *needle;	/* TEXT, or NULL for a regex */
	pcre2_code *re; /* /REGEX/ */
	pcre2_match_data *md;
};

struct ev_isession {
	struct ev_log *log;
	struct ev_reader *rd;
	char *name;
	int color, rows, cols;
	volatile sig_atomic_t *stop;
	ev_progress_fn progress;
	void *ctx;
	int (*next_waiting)(void *ctx);

	struct ev_filter *flt; /* NULL: every event */
	struct spec *specs;
	size_t nspecs;
	/* with exact stream names in the filter: their events' offsets,
	 * from the stream index, up to cand_end (what came after is read) */
	int has_cand;
	uint64_t *cand;
	size_t ncand;
	uint64_t cand_end;

	uint64_t cur; /* the current event's offset, or NONE: the end */
	enum fmt fmt;
	struct ev_template *tpl;
	struct pattern pat; /* the last search */

	struct ev_type_count *types; /* loaded on first use */
	size_t ntypes;
	struct ev_state *state; /* the stream index, loaded on first use */

	struct ev_buf line, tmp, prompt;
	struct ev_rec rec; /* the event in hand (fetch()) */
	struct ev_event ev;
};

/* ---------------------------------------------------------------- helpers */

static int fail(struct ev_error *err, int code, const char *cmd,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct ev_error *err, int code, const char *cmd,
		const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ev_seterr(err, code, "%s: %s", cmd, msg);
}

/* Prefix err's message with the command's name. */
static int named(struct ev_error *err, const char *cmd, int r)
{
	char msg[sizeof(err->msg) + 64];
	size_t n;

	if (r >= 0 || strncmp(err->msg, cmd, strlen(cmd)) == 0)
		return r;
	n = (size_t)snprintf(msg, sizeof(msg), "%s: %s", cmd, err->msg);
	if (n >= sizeof(err->msg))
		n = sizeof(err->msg) - 1;
	memcpy(err->msg, msg, n);
	err->msg[n] = '\0';
	return r;
}

static int oom(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "out of memory");
}

static int stopped(const struct ev_isession *s)
{
	return s->stop != NULL && *s->stop;
}

/* The next word of *p (NUL-terminated in place), or NULL. */
static char *word(char **p)
{
	char *w = *p, *e;

	while (*w == ' ' || *w == '\t')
		w++;
	if (*w == '\0') {
		*p = w;
		return NULL;
	}
	for (e = w; *e != '\0' && *e != ' ' && *e != '\t'; e++)
		;
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	return w;
}

/* The rest of the line, trimmed; "" when there is none. */
static char *rest(char *p)
{
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		p[--n] = '\0';
	return p;
}

static int parse_count(const char *cmd, const char *a, uint64_t *n,
		       struct ev_error *err)
{
	char *e;
	unsigned long long v;

	if (a == NULL || *a == '\0') {
		*n = 1;
		return 0;
	}
	errno = 0;
	v = strtoull(a, &e, 10);
	if (errno == ERANGE && *a >= '0' && *a <= '9' && *e == '\0')
		errno = 0; /* past 2^64: as many as there are */
	if (*a < '0' || *a > '9' || *e != '\0' || errno != 0 || v == 0)
		return fail(err, EV_EUSAGE, cmd,
			    "'%s' is not a positive number", a);
	*n = v;
	return 0;
}

static void out_write(FILE *out, const void *p, size_t n)
{
	if (n > 0)
		fwrite(p, 1, n, out);
}

/* The columns a code point takes in a terminal: 0 for combining marks,
 * 2 for East Asian wide ones and emoji, else 1 (as wcwidth() would in a
 * UTF-8 locale, without depending on the locale). */
static int cp_width(uint32_t c)
{
	if ((c >= 0x300 && c <= 0x36f) || c == 0x200b ||
	    (c >= 0xfe00 && c <= 0xfe0f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) ||
	    (c >= 0x2e80 && c <= 0xa4cf && c != 0x303f) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/* The next character of p[*i..n): its width, *i moved past it; an
 * escape sequence (ESC [ ... letter) takes no columns. */
static int next_width(const uint8_t *p, size_t n, size_t *i)
{
	uint32_t c = p[*i];
	int k, len;

	if (c == 0x1b) {
		(*i)++;
		if (*i < n && p[*i] == '[')
			for ((*i)++;
			     *i < n && !(p[*i] >= 0x40 && p[*i] <= 0x7e);
			     (*i)++)
				;
		if (*i < n)
			(*i)++;
		return 0;
	}
	len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	c = len == 1 ? c : c & (0x3f >> (len - 1));
	for (k = 1; k < len && *i + (size_t)k < n; k++)
		c = c << 6 | (p[*i + (size_t)k] & 0x3f);
	*i += (size_t)k;
	return c < 0x20 ? 0 : cp_width(c);
}

/* How much of p fits in cols columns: all of it (*cut 0), or the bytes
 * that fit in cols - 1, leaving a column for an ellipsis (*cut 1). */
static size_t cut_at(const uint8_t *p, size_t n, size_t cols, int *cut)
{
	size_t i = 0, w = 0, fit = 0, j;
	int cw;

	*cut = 0;
	while (i < n) {
		j = i;
		cw = next_width(p, n, &j);
		if (w + (size_t)cw <= cols - 1)
			fit = j;
		w += (size_t)cw;
		if (w > cols) {
			*cut = 1;
			return fit;
		}
		i = j;
	}
	return n;
}

/* Write a line, cut to the screen's width with an ellipsis. */
static void put_line(struct ev_isession *s, FILE *out, const uint8_t *p,
		     size_t n)
{
	int cut = 0;
	size_t k = s->cols > 1 ? cut_at(p, n, (size_t)s->cols, &cut) : n;

	out_write(out, p, k);
	if (cut)
		fputs(s->color ? "\033[0m\xe2\x80\xa6" : "\xe2\x80\xa6", out);
	fputc('\n', out);
}

/* --------------------------------------------------------------- patterns */

static void pattern_free(struct pattern *p)
{
	free(p->text);
	free(p->needle);
	pcre2_match_data_free(p->md);
	pcre2_code_free(p->re);
	memset(p, 0, sizeof(*p));
}

/* TEXT, or /REGEX/ with an optional i after it. */
static int pattern_set(struct pattern *p, const char *cmd, const char *text,
		       struct ev_error *err)
{
	struct pattern np;
	size_t n = strlen(text);
	int ecode, caseless = 0;
	PCRE2_SIZE eoff;
	PCRE2_UCHAR msg[256];

	memset(&np, 0, sizeof(np));
	if ((np.text = strdup(text)) == NULL)
		return oom(err);
	if (n >= 2 && text[0] == '/' &&
	    (text[n - 1] == '/' ||
	     (n >= 3 && text[n - 1] == 'i' && text[n - 2] == '/'))) {
		if (text[n - 1] == 'i') {
			caseless = 1;
			n--;
		}
		np.re = pcre2_compile((PCRE2_SPTR)text + 1, n - 2,
				      PCRE2_UTF |
					      (caseless ? PCRE2_CASELESS : 0),
				      &ecode, &eoff, NULL);
		if (np.re == NULL) {
			pcre2_get_error_message(ecode, msg, sizeof(msg));
			pattern_free(&np);
			return fail(err, EV_EUSAGE, cmd,
				    "bad regular expression '%s' at "
				    "character %zu: %s",
				    text, (size_t)eoff + 1, (char *)msg);
		}
		/* a search may read every event: compiled to machine code
		 * when the library can (else interpreted, as well) */
		(void)pcre2_jit_compile(np.re, PCRE2_JIT_COMPLETE);
		if ((np.md = pcre2_match_data_create_from_pattern(np.re,
								  NULL)) ==
		    NULL) {
			pattern_free(&np);
			return oom(err);
		}
	} else if ((np.needle = strdup(text)) == NULL) {
		pattern_free(&np);
		return oom(err);
	}
	pattern_free(p);
	*p = np;
	return 0;
}

/* Where p first matches in t[from..n): 1 with [*b, *e), or 0. */
static int pattern_find(struct pattern *p, const uint8_t *t, size_t n,
			size_t from, size_t *b, size_t *e)
{
	const uint8_t *m;
	PCRE2_SIZE *ov;
	size_t k;

	if (from > n)
		return 0;
	if (p->needle != NULL) {
		k = strlen(p->needle);
		if (k == 0 ||
		    (m = memmem(t + from, n - from, p->needle, k)) == NULL)
			return 0;
		*b = (size_t)(m - t);
		*e = *b + k;
		return 1;
	}
	if (pcre2_match(p->re, t, n, from, 0, p->md, NULL) < 0)
		return 0;
	ov = pcre2_get_ovector_pointer(p->md);
	*b = ov[0];
	*e = ov[1];
	return 1;
}

/* ------------------------------------------------------------ the filter */

static int cand_push(void *ctx, const struct ev_rec *rec)
{
	uint64_t **v = ((uint64_t ***)ctx)[0];
	size_t *n = ((size_t **)ctx)[1], *cap = ((size_t **)ctx)[2];
	uint64_t *p;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((p = realloc(*v, *cap * sizeof(*p))) == NULL)
			return -1;
		*v = p;
	}
	(*v)[(*n)++] = rec->offset;
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * When every stream filter names one stream exactly, the events of those
 * streams, read through their links, are all there is to look at: moving
 * through a stream of a big log needs no scan.  Best effort: anything
 * that does not work out (an old log without links) means scanning.
 */
static void build_cands(struct ev_isession *s)
{
	uint64_t *v = NULL, end = UINT64_MAX, e = 0;
	size_t n = 0, cap = 0, i, k, nexact = 0;
	void *ctx[3] = {&v, &n, &cap};
	struct ev_error err;
	int r = 0;

	free(s->cand);
	s->cand = NULL;
	s->ncand = 0;
	s->has_cand = 0;
	if (s->log == NULL)
		return;
	for (i = 0; i < s->nspecs; i++)
		if (strcmp(s->specs[i].kind, "stream") == 0) {
			if (s->specs[i]
				    .text[strcspn(s->specs[i].text, "*?[\\")] !=
			    '\0')
				return; /* a glob: scan */
			nexact++;
		}
	for (i = 0; i < s->nspecs && nexact > 0 && r == 0; i++)
		if (strcmp(s->specs[i].kind, "stream") == 0) {
			r = ev_stream_read(s->log, s->specs[i].text,
					   strlen(s->specs[i].text), 0, 0,
					   cand_push, ctx, &e, &err);
			if (e < end)
				end = e;
		}
	if (r != 0 || nexact == 0) {
		free(v);
		return;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_offset);
	for (i = k = 0; i < n; i++)
		if (k == 0 || v[i] != v[k - 1])
			v[k++] = v[i];
	s->cand = v;
	s->ncand = k;
	s->cand_end = end;
	s->has_cand = 1;
}

static int rebuild_filter(struct ev_isession *s, struct ev_error *err)
{
	struct ev_filter *f;
	size_t i;
	int r = 0;

	if (s->nspecs == 0) {
		ev_filter_free(s->flt);
		s->flt = NULL;
		build_cands(s);
		return 0;
	}
	if ((f = ev_filter_new()) == NULL)
		return oom(err);
	for (i = 0; i < s->nspecs && r == 0; i++) {
		const struct spec *sp = &s->specs[i];

		if (strcmp(sp->kind, "type") == 0)
			r = ev_filter_add_type(f, sp->text) ? oom(err) : 0;
		else if (strcmp(sp->kind, "stream") == 0)
			r = ev_filter_add_stream(f, sp->text) ? oom(err) : 0;
		else
			r = ev_filter_add_where(f, sp->text, err);
	}
	if (r != 0) {
		ev_filter_free(f);
		return r;
	}
	ev_filter_free(s->flt);
	s->flt = f;
	build_cands(s);
	return 0;
}

/* --------------------------------------------------------------- events */

/* The event at offset into s->rec and s->ev: 1, 0 when there is none. */
static int fetch(struct ev_isession *s, uint64_t off, struct ev_error *err)
{
	int r = ev_reader_get(s->rd, off, &s->rec, err);

	if (r != 1)
		return r;
	if ((r = ev_event_decode(s->rec.p, s->rec.n, &s->ev, err)) != 0) {
		ev_err_damaged(err, s->name, off);
		return r;
	}
	s->ev.offset = s->rec.offset;
	s->ev.append_time = s->rec.append_time;
	return 1;
}

/* Highlight every match of the last search in the line (plain text). */
static int highlight(struct ev_isession *s, struct ev_buf *b)
{
	struct ev_buf h = {0};
	size_t from = 0, mb, me;

	if (!s->color || (s->pat.needle == NULL && s->pat.re == NULL))
		return 0;
	while (from <= b->len &&
	       pattern_find(&s->pat, b->p, b->len, from, &mb, &me)) {
		if (me == mb) /* an empty match: nothing to show */
			break;
		if (ev_buf_append(&h, b->p + from, mb - from) ||
		    ev_buf_puts(&h, "\033[7m") ||
		    ev_buf_append(&h, b->p + mb, me - mb) ||
		    ev_buf_puts(&h, "\033[27m")) {
			ev_buf_free(&h);
			return -1;
		}
		from = me;
	}
	if (h.len == 0)
		return 0;
	if (ev_buf_append(&h, b->p + from, b->len - from)) {
		ev_buf_free(&h);
		return -1;
	}
	ev_buf_free(b);
	*b = h;
	return 0;
}

/* Print the event in hand in the session's format, one line. */
static int print_event(struct ev_isession *s, FILE *out, int mark,
		       struct ev_error *err)
{
	struct ev_buf *b = &s->line;
	int r;

	b->len = 0;
	switch (s->fmt) {
	case FMT_PRETTY:
		r = ev_event_to_pretty(&s->ev, b, s->color && !mark, err);
		break;
	case FMT_JSON:
		r = ev_record_to_json(s->rec.p, s->rec.n, s->rec.offset, b,
				      err);
		break;
	default:
		r = ev_template_render(s->tpl, &s->ev, b, err);
		break;
	}
	if (r != 0) {
		ev_err_damaged(err, s->name, s->rec.offset);
		return r;
	}
	if (mark && highlight(s, b) != 0)
		return oom(err);
	if (s->fmt == FMT_PRETTY)
		put_line(s, out, b->p, b->len);
	else {
		out_write(out, b->p, b->len);
		fputc('\n', out);
	}
	return 0;
}

static int print_at(struct ev_isession *s, FILE *out, uint64_t off, int mark,
		    struct ev_error *err)
{
	int r = fetch(s, off, err);

	if (r == 0)
		return ev_seterr(err, EV_ENOENT, "no event at offset %llu",
				 (unsigned long long)off);
	return r < 0 ? r : print_event(s, out, mark, err);
}

/* --------------------------------------------------------------- walking */

/*
 * The matches of the filter (and of pat, when given) in [lo, hi], in
 * order, window by window: fn gets each; it returns 0 to go on, 1 to
 * stop.  Returns 0, 1 when fn stopped, EV_EAGAIN when *stop was set, or
 * <0.  what names the command for progress and messages.
 */
typedef int (*match_fn)(struct ev_isession *s, void *ctx,
			const struct ev_rec *rec);

/* Does the event in hand match pat? 1, 0, or <0. */
static int pattern_match(struct ev_isession *s, struct pattern *pat,
			 struct ev_error *err)
{
	size_t mb, me;
	int r;

	s->tmp.len = 0;
	if ((r = ev_record_to_json(s->rec.p, s->rec.n, s->rec.offset, &s->tmp,
				   err)) != 0) {
		ev_err_damaged(err, s->name, s->rec.offset);
		return r;
	}
	return pattern_find(pat, s->tmp.p, s->tmp.len, 0, &mb, &me);
}

/* A list of offsets. */
struct offs {
	uint64_t *v;
	size_t n, cap;
	uint64_t want; /* for first(): how many */
};

static int offs_add(struct offs *o, uint64_t off)
{
	uint64_t *v;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;

		if ((v = realloc(o->v, cap * sizeof(*v))) == NULL)
			return -1;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = off;
	return 0;
}

static int collect(struct ev_isession *s, void *ctx, const struct ev_rec *rec)
{
	struct offs *o = ctx;

	(void)s;
	if (offs_add(o, rec->offset) != 0)
		return -1;
	return o->want > 0 && o->n >= o->want;
}

/* walk() over the candidates in [lo, hi] below cand_end. */
static int walk_cands(struct ev_isession *s, uint64_t lo, uint64_t hi,
		      struct pattern *pat, const char *what, match_fn fn,
		      void *ctx, struct ev_error *err)
{
	size_t a = 0, b = s->ncand, i;
	int r = 0;

	while (a < b) { /* the first candidate at or after lo */
		size_t m = a + (b - a) / 2;

		if (s->cand[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	for (i = a; i < s->ncand && s->cand[i] <= hi; i++) {
		if ((i & 1023) == 1023 && stopped(s))
			return fail(err, EV_EAGAIN, what, "interrupted");
		if (fn == collect && pat == NULL &&
		    ev_filter_only_streams(s->flt)) {
			/* the offsets are the answer: no batch to read */
			if (offs_add(ctx, s->cand[i]) != 0)
				return oom(err);
			if (((struct offs *)ctx)->want > 0 &&
			    ((struct offs *)ctx)->n >=
				    ((struct offs *)ctx)->want)
				return 1;
			continue;
		}
		if ((r = fetch(s, s->cand[i], err)) < 0)
			return r;
		if (r == 0 ||
		    (s->flt != NULL && !ev_filter_match(s->flt, &s->ev)))
			continue;
		if (pat != NULL && (r = pattern_match(s, pat, err)) <= 0) {
			if (r < 0)
				return r;
			continue;
		}
		if ((r = fn(s, ctx, &s->rec)) != 0) {
			if (r < 0 && err->msg[0] == '\0')
				oom(err);
			return r;
		}
	}
	return 0;
}

static int walk(struct ev_isession *s, uint64_t lo, uint64_t hi,
		struct pattern *pat, const char *what, match_fn fn, void *ctx,
		struct ev_error *err)
{
	struct ev_scan_opts so;
	struct ev_scan *scan = NULL;
	struct ev_rec rec;
	const struct ev_event *ev;
	uint64_t a = lo, b, total = hi >= lo ? hi - lo + 1 : 0, seen = 0;
	size_t mb, me;
	int r = 0;

	if (s->has_cand && total > 0) {
		r = walk_cands(s, lo, hi, pat, what, fn, ctx, err);
		if (r != 0 || hi < s->cand_end)
			return r;
		a = lo > s->cand_end ? lo : s->cand_end;
	}
	while (total > 0 && a <= hi && r == 0) {
		if (stopped(s))
			return fail(err, EV_EAGAIN, what, "interrupted");
		b = hi - a >= WINDOW_MAX ? a + WINDOW_MAX - 1 : hi;
		memset(&so, 0, sizeof(so));
		so.name = s->name;
		so.filter = s->flt;
		so.from.kind = EV_POS_OFFSET;
		so.from.offset = a;
		so.to.kind = EV_POS_OFFSET;
		so.to.offset = b;
		if ((r = ev_scan_open(&scan, s->log, s->rd, &so, err)) != 0)
			return r;
		while ((r = ev_scan_next(scan, &rec, &ev, err)) == 1) {
			r = 0;
			if ((++seen & 255) == 0 && stopped(s)) {
				/* a slow search stops within a window too */
				r = fail(err, EV_EAGAIN, what, "interrupted");
				break;
			}
			if (pat != NULL) {
				s->tmp.len = 0;
				if ((r = ev_record_to_json(rec.p, rec.n,
							   rec.offset, &s->tmp,
							   err)) != 0) {
					ev_err_damaged(err, s->name,
						       rec.offset);
					break;
				}
				if (!pattern_find(pat, s->tmp.p, s->tmp.len, 0,
						  &mb, &me))
					continue;
			}
			if ((r = fn(s, ctx, &rec)) != 0) {
				if (r < 0 && err->msg[0] == '\0')
					oom(err);
				break;
			}
		}
		ev_scan_free(scan);
		scan = NULL;
		if (r < 0)
			return r;
		if (s->progress != NULL && (r == 0 || b == hi))
			s->progress(s->ctx, what, b - lo + 1, total);
		if (b == hi)
			break;
		a = b + 1;
	}
	return r;
}

/*
 * The last want matches (filter, and pat when given) in [lo, hi], in
 * order, searching backward window by window: into o.  0, EV_EAGAIN,
 * or <0.
 */
static int last_matches(struct ev_isession *s, uint64_t lo, uint64_t hi,
			uint64_t want, struct pattern *pat, const char *what,
			struct offs *o, struct ev_error *err)
{
	struct offs w = {0}, acc = {0};
	uint64_t win = WINDOW_MIN, a, b = hi, done = 0, total;
	size_t i, k;
	int r = 0;

	o->n = 0;
	if (hi == NONE || hi < lo || want == 0)
		return 0;
	total = hi - lo + 1;
	for (;;) {
		a = b - lo + 1 > win ? b - win + 1 : lo;
		w.n = 0;
		w.want = 0;
		r = walk(s, a, b, pat, what, collect, &w, err);
		if (r < 0)
			break;
		/* these come before what was found so far */
		for (i = 0; i < acc.n; i++)
			if (offs_add(&w, acc.v[i]) != 0) {
				r = oom(err);
				goto out;
			}
		free(acc.v);
		acc = w;
		memset(&w, 0, sizeof(w));
		done += b - a + 1;
		if (s->progress != NULL && total > WINDOW_MAX)
			s->progress(s->ctx, what, done, total);
		if (acc.n >= want || a == lo)
			break;
		if (stopped(s)) {
			r = fail(err, EV_EAGAIN, what, "interrupted");
			break;
		}
		b = a - 1;
		if (win < WINDOW_MAX)
			win *= 2;
	}
out:
	if (r >= 0) {
		k = acc.n > want ? acc.n - (size_t)want : 0;
		for (i = k; i < acc.n; i++)
			if (offs_add(o, acc.v[i]) != 0) {
				r = oom(err);
				break;
			}
	}
	free(w.v);
	free(acc.v);
	return r < 0 ? r : 0;
}

/* The first want matches in [lo, hi]. */
static int first_matches(struct ev_isession *s, uint64_t lo, uint64_t hi,
			 uint64_t want, struct pattern *pat, const char *what,
			 struct offs *o, struct ev_error *err)
{
	int r;

	o->n = 0;
	o->want = want;
	if (hi == NONE || hi < lo || want == 0)
		return 0;
	r = walk(s, lo, hi, pat, what, collect, o, err);
	return r < 0 ? r : 0;
}

/* The log's first offset and its last (NONE when empty), up to date. */
static int bounds(struct ev_isession *s, uint64_t *first, uint64_t *last,
		  struct ev_error *err)
{
	uint64_t end;

	*first = 0;
	*last = NONE;
	if (ev_reader_refresh(s->rd, err) < 0)
		return err->code;
	*first = ev_reader_first_offset(s->rd);
	end = ev_reader_end_offset(s->rd);
	*last = end > *first ? end - 1 : NONE;
	return 0;
}

static int print_offs(struct ev_isession *s, FILE *out, const struct offs *o,
		      int mark, struct ev_error *err)
{
	size_t i;
	int r;

	for (i = 0; i < o->n; i++)
		if ((r = print_at(s, out, o->v[i], mark, err)) != 0)
			return r;
	return 0;
}

/* --------------------------------------------------------------- commands */

struct cmd {
	const char *name, *args, *summary, *more;
	int (*fn)(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err);
};

static const struct cmd commands[];

static int filter_label(const struct ev_isession *s, struct ev_buf *b)
{
	size_t i;
	int r = 0;

	for (i = 0; i < s->nspecs && r == 0; i++)
		r = ev_buf_printf(b, "%s%s %s", i ? ", " : "", s->specs[i].kind,
				  s->specs[i].text);
	return r;
}

static int c_next(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err)
{
	struct offs o = {0};
	uint64_t n, first, last, from;
	int r;

	if ((r = parse_count("next", word(&args), &n, err)) != 0)
		return r;
	if (*rest(args) != '\0')
		return fail(err, EV_EUSAGE, "next", "unexpected '%s'",
			    rest(args));
	if ((r = bounds(s, &first, &last, err)) != 0)
		return named(err, "next", r);
	from = s->cur == NONE ? (last == NONE ? first : last + 1) : s->cur + 1;
	if (from < first)
		from = first;
	r = first_matches(s, from, last, n, NULL, "next", &o, err);
	if (r < 0 && o.n > 0) {
		/* damage or Ctrl-C on the way: what came before it, as
		 * evtail prints the log up to the damage */
		struct ev_error e = *err;

		if (print_offs(s, out, &o, 0, err) == 0)
			s->cur = o.v[o.n - 1];
		*err = e;
	}
	if (r == 0 && o.n == 0)
		r = fail(err, EV_ENOENT, "next", "at the end of the log");
	if (r == 0 && (r = print_offs(s, out, &o, 0, err)) == 0)
		s->cur = o.v[o.n - 1];
	free(o.v);
	return named(err, "next", r);
}

static int c_prev(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err)
{
	struct offs o = {0};
	uint64_t n, first, last, to;
	int r;

	if ((r = parse_count("prev", word(&args), &n, err)) != 0)
		return r;
	if (*rest(args) != '\0')
		return fail(err, EV_EUSAGE, "prev", "unexpected '%s'",
			    rest(args));
	if ((r = bounds(s, &first, &last, err)) != 0)
		return named(err, "prev", r);
	to = s->cur == NONE ? last : (s->cur > first ? s->cur - 1 : NONE);
	r = last_matches(s, first, to, n, NULL, "prev", &o, err);
	if (r == 0 && o.n == 0)
		r = fail(err, EV_ENOENT, "prev", "at the start of the log");
	if (r == 0 && (r = print_offs(s, out, &o, 0, err)) == 0)
		s->cur = o.v[0];
	free(o.v);
	return named(err, "prev", r);
}

static int c_goto(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err)
{
	struct offs o = {0};
	struct ev_pos pos;
	uint64_t first, last, at;
	char *a = rest(args);
	int r;

	if (*a == '\0')
		return fail(err, EV_EUSAGE, "goto",
			    "missing OFFSET, @TIME, start or end");
	r = ev_pos_parse(a, 0, ev_now(), &pos);
	if (r == EV_EDATA)
		return fail(err, EV_EUSAGE, "goto",
			    "'%s' is outside the times a log holds (%s)", a,
			    EV_TIME_RANGE);
	if (r != 0)
		return fail(err, EV_EUSAGE, "goto",
			    "'%s' is not an offset, @TIME, start or end", a);
	if ((r = bounds(s, &first, &last, err)) != 0)
		return named(err, "goto", r);
	if (pos.kind == EV_POS_END) {
		r = last_matches(s, first, last, 1, NULL, "goto", &o, err);
	} else {
		if (pos.kind == EV_POS_OFFSET && last != NONE &&
		    (pos.offset > last || pos.offset < first))
			return fail(err, EV_EUSAGE, "goto",
				    "offset %llu is outside the log (%llu to "
				    "%llu)",
				    (unsigned long long)pos.offset,
				    (unsigned long long)first,
				    (unsigned long long)last);
		if ((r = ev_pos_resolve(s->rd, &pos, &at, err)) != 0)
			return named(err, "goto", r);
		r = first_matches(s, at, last, 1, NULL, "goto", &o, err);
	}
	if (r == 0 && o.n == 0 && last == NONE)
		r = fail(err, EV_ENOENT, "goto", "the log is empty");
	else if (r == 0 && o.n == 0 && pos.kind == EV_POS_END)
		r = fail(err, EV_ENOENT, "goto",
			 "no event matches the filters");
	else if (r == 0 && o.n == 0)
		r = fail(err, EV_ENOENT, "goto", "no event%s at or after '%s'",
			 s->flt ? " that matches the filters" : "", a);
	if (r == 0 && (r = print_offs(s, out, &o, 0, err)) == 0)
		s->cur = o.v[0];
	free(o.v);
	return named(err, "goto", r);
}

static int find(struct ev_isession *s, char *args, FILE *out, int back,
		struct ev_error *err)
{
	const char *cmd = back ? "find-prev" : "find";
	struct offs o = {0};
	uint64_t first, last, from;
	char *a = rest(args);
	int r;

	if (*a != '\0' && (r = pattern_set(&s->pat, cmd, a, err)) != 0)
		return r;
	if (s->pat.text == NULL)
		return fail(err, EV_EUSAGE, cmd,
			    "missing TEXT or /REGEX/ (no search yet)");
	if ((r = bounds(s, &first, &last, err)) != 0)
		return named(err, cmd, r);
	/* from the current event on, then round from the other end to it,
	 * as vi searches */
	if (back) {
		from = s->cur == NONE ? last
				      : (s->cur > first ? s->cur - 1 : NONE);
		r = last_matches(s, first, from, 1, &s->pat, cmd, &o, err);
		if (r == 0 && o.n == 0 && s->cur != NONE && last != NONE)
			r = last_matches(s, s->cur, last, 1, &s->pat, cmd, &o,
					 err);
	} else {
		from = s->cur == NONE ? (last == NONE ? first : last + 1)
				      : s->cur + 1;
		r = first_matches(s, from < first ? first : from, last, 1,
				  &s->pat, cmd, &o, err);
		if (r == 0 && o.n == 0 && last != NONE)
			r = first_matches(s, first,
					  s->cur == NONE ? last : s->cur, 1,
					  &s->pat, cmd, &o, err);
	}
	if (r == 0 && o.n == 0)
		r = fail(err, EV_ENOENT, cmd, "'%s' not found", s->pat.text);
	if (r == 0 && (r = print_offs(s, out, &o, 1, err)) == 0)
		s->cur = o.v[0];
	free(o.v);
	return named(err, cmd, r);
}

static int c_find(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err)
{
	return find(s, args, out, 0, err);
}

static int c_find_prev(struct ev_isession *s, char *args, FILE *out,
		       struct ev_error *err)
{
	return find(s, args, out, 1, err);
}

static int c_filter(struct ev_isession *s, char *args, FILE *out,
		    struct ev_error *err)
{
	static const char *const kinds[] = {"type", "stream", "where"};
	struct spec *v;
	char *kind = word(&args), *a = rest(args);
	size_t i;
	int r;

	(void)out;
	if (kind == NULL)
		return fail(err, EV_EUSAGE, "filter",
			    "missing type, stream, where or clear");
	if (strcmp(kind, "clear") == 0) {
		if (*a != '\0')
			return fail(err, EV_EUSAGE, "filter",
				    "unexpected '%s' after clear", a);
		for (i = 0; i < s->nspecs; i++)
			free(s->specs[i].text);
		free(s->specs);
		s->specs = NULL;
		s->nspecs = 0;
		return rebuild_filter(s, err);
	}
	for (i = 0; i < 3; i++)
		if (strcmp(kind, kinds[i]) == 0)
			break;
	if (i == 3)
		return fail(err, EV_EUSAGE, "filter",
			    "'%s' is not type, stream, where or clear", kind);
	if (*a == '\0')
		return fail(err, EV_EUSAGE, "filter",
			    i == 2 ? "missing EXPR" : "missing GLOB");
	if ((v = realloc(s->specs, (s->nspecs + 1) * sizeof(*v))) == NULL)
		return oom(err);
	s->specs = v;
	v[s->nspecs].kind = kinds[i];
	if ((v[s->nspecs].text = strdup(a)) == NULL)
		return oom(err);
	s->nspecs++;
	if ((r = rebuild_filter(s, err)) != 0) {
		/* a bad expression is not kept */
		free(v[--s->nspecs].text);
		return named(err, "filter", r);
	}
	return 0;
}

static int c_filters(struct ev_isession *s, char *args, FILE *out,
		     struct ev_error *err)
{
	size_t i;

	if (*rest(args) != '\0')
		return fail(err, EV_EUSAGE, "filters", "unexpected '%s'",
			    rest(args));
	if (s->nspecs == 0)
		fputs("no filters: every event\n", out);
	for (i = 0; i < s->nspecs; i++)
		fprintf(out, "%s %s\n", s->specs[i].kind, s->specs[i].text);
	return 0;
}

/* Indented JSON text with colours: keys, strings, numbers, literals. */
static void put_json_colored(FILE *out, const uint8_t *p, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		if (p[i] == '"') {
			for (j = i + 1; j < n && p[j] != '"'; j++)
				if (p[j] == '\\')
					j++;
			j = j < n ? j + 1 : n;
			fputs(j < n && p[j] == ':' ? "\033[34m" : "\033[32m",
			      out);
			out_write(out, p + i, j - i);
			fputs("\033[0m", out);
			i = j;
		} else if (p[i] == '-' || (p[i] >= '0' && p[i] <= '9')) {
			for (j = i; j < n && strchr("+-.eE0123456789", p[j]) &&
				    p[j] != '\0';
			     j++)
				;
			fputs("\033[36m", out);
			out_write(out, p + i, j - i);
			fputs("\033[0m", out);
			i = j;
		} else if (p[i] >= 'a' && p[i] <= 'z') {
			for (j = i; j < n && p[j] >= 'a' && p[j] <= 'z'; j++)
				;
			fputs("\033[33m", out);
			out_write(out, p + i, j - i);
			fputs("\033[0m", out);
			i = j;
		} else {
			fputc(p[i++], out);
		}
	}
}

static int parse_offset(const char *cmd, const char *a, uint64_t *off,
			struct ev_error *err)
{
	char *e;

	errno = 0;
	*off = strtoull(a, &e, 10);
	if (*a < '0' || *a > '9' || *e != '\0' || errno != 0)
		return fail(err, EV_EUSAGE, cmd, "'%s' is not an offset", a);
	return 0;
}

static int c_show(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err)
{
	struct ev_buf ind = {0};
	uint64_t off = s->cur, first, last;
	char *a = rest(args);
	int r;

	if (*a != '\0' && (r = parse_offset("show", a, &off, err)) != 0)
		return r;
	if ((r = bounds(s, &first, &last, err)) != 0)
		return named(err, "show", r);
	if (off == NONE) /* at the end: the last event */
		off = last;
	if (last == NONE || off < first || off > last)
		return last == NONE
			       ? fail(err, EV_ENOENT, "show",
				      "no event: the log is empty")
			       : fail(err, EV_EUSAGE, "show",
				      "offset %llu is outside the log (%llu "
				      "to %llu)",
				      (unsigned long long)off,
				      (unsigned long long)first,
				      (unsigned long long)last);
	if ((r = fetch(s, off, err)) < 0)
		return named(err, "show", r);
	if (r == 0)
		return fail(err, EV_ENOENT, "show",
			    "no event at offset %llu (a gap)",
			    (unsigned long long)off);
	s->tmp.len = 0;
	if ((r = ev_event_to_json(&s->ev, &s->tmp, 0, err)) != 0 ||
	    (r = ev_json_indent(&ind, (const char *)s->tmp.p, s->tmp.len)) !=
		    0) {
		ev_buf_free(&ind);
		if (r == EV_ERR && err->msg[0] == '\0')
			oom(err);
		return named(err, "show", r);
	}
	if (s->color)
		put_json_colored(out, ind.p, ind.len);
	else
		out_write(out, ind.p, ind.len);
	ev_buf_free(&ind);
	s->cur = off;
	return 0;
}

struct stream_walk {
	struct ev_isession *s;
	FILE *out;
	uint64_t n;
	struct ev_error *err;
};

static int stream_line(struct ev_isession *s, FILE *out,
		       const struct ev_rec *rec, struct ev_error *err)
{
	struct ev_event ev;
	char t[40];
	int r;

	if ((r = ev_event_decode(rec->p, rec->n, &ev, err)) != 0) {
		ev_err_damaged(err, s->name, rec->offset);
		return r;
	}
	t[ev_time_format(ev.time, t)] = '\0';
	fprintf(out,
		s->color ? "\033[36m%7llu\033[0m \033[2m%10llu\033[0m "
			   "\033[34m%-24s\033[0m \033[1;32m%.*s\033[0m\n"
			 : "%7llu %10llu %-24s %.*s\n",
		(unsigned long long)ev.version, (unsigned long long)rec->offset,
		t, (int)ev.type.n, ev.type.p);
	return 0;
}

static int stream_one(void *ctx, const struct ev_rec *rec)
{
	struct stream_walk *w = ctx;

	/* a long stream takes long to print: Ctrl-C stops it */
	if (stopped(w->s))
		return fail(w->err, EV_EAGAIN, "stream", "interrupted");
	w->n++;
	return stream_line(w->s, w->out, rec, w->err);
}

static int need_log(struct ev_isession *s, const char *cmd,
		    struct ev_error *err)
{
	if (s->log != NULL)
		return 0;
	if (ev_reader_is_archive(s->rd))
		return fail(err, EV_EUSAGE, cmd,
			    "'%s' is an archive, not a log: it has no stream "
			    "index; import it with 'evctl import' to use one",
			    s->name);
	return fail(err, EV_EUSAGE, cmd,
		    "'%s' is a segment file, not a log: it has no stream "
		    "index",
		    s->name);
}

static int c_stream(struct ev_isession *s, char *args, FILE *out,
		    struct ev_error *err)
{
	struct stream_walk w = {s, out, 0, err};
	struct ev_stream_info info;
	uint64_t end;
	char *a = rest(args), cb[32];
	int r;

	if (*a == '\0')
		return fail(err, EV_EUSAGE, "stream", "missing NAME");
	if ((r = need_log(s, "stream", err)) != 0)
		return r;
	r = ev_state_lookup(s->log, a, strlen(a), &info, &end, err);
	if (r < 0)
		return named(err, "stream", r);
	if (r == 0)
		return fail(err, EV_ENOENT, "stream", "no stream '%s' in '%s'",
			    a, s->name);
	fprintf(out, "%s: %s %s, version %llu, offsets %llu to %llu\n", a,
		ev_commas(info.count, cb),
		ev_plural(info.count, "event", "events"),
		(unsigned long long)info.last_version,
		(unsigned long long)info.first_offset,
		(unsigned long long)info.last_offset);
	fprintf(out, "%7s %10s %-24s %s\n", "VERSION", "OFFSET", "TIME",
		"TYPE");
	r = ev_stream_read(s->log, a, strlen(a), 0, 0, stream_one, &w, &end,
			   err);
	if (r == 1) {
		/* no links to follow (an old log): a search */
		struct ev_filter *f = ev_filter_new(), *saved = s->flt;
		struct offs o = {0};
		size_t i;

		if (f == NULL || ev_filter_add_stream_exact(f, a) != 0) {
			ev_filter_free(f);
			return oom(err);
		}
		s->flt = f;
		r = first_matches(s, info.first_offset, info.last_offset,
				  UINT64_MAX, NULL, "stream", &o, err);
		s->flt = saved;
		ev_filter_free(f);
		for (i = 0; r == 0 && i < o.n; i++)
			if ((r = fetch(s, o.v[i], err)) == 1)
				r = stream_line(s, out, &s->rec, err);
		free(o.v);
	}
	return named(err, "stream", r);
}

static int load_types(struct ev_isession *s, struct ev_error *err)
{
	if (s->types != NULL || s->log == NULL)
		return 0;
	return ev_log_type_counts(s->log, &s->types, &s->ntypes, err);
}

static int c_types(struct ev_isession *s, char *args, FILE *out,
		   struct ev_error *err)
{
	char b[32];
	size_t i, w = 4;
	int r;

	if (*rest(args) != '\0')
		return fail(err, EV_EUSAGE, "types", "unexpected '%s'",
			    rest(args));
	if ((r = need_log(s, "types", err)) != 0)
		return r;
	/* the counts grow with the log: read what came since */
	ev_type_counts_free(s->types, s->ntypes);
	s->types = NULL;
	s->ntypes = 0;
	if ((r = load_types(s, err)) != 0)
		return named(err, "types", r);
	for (i = 0; i < s->ntypes; i++)
		if (strlen(s->types[i].name) > w)
			w = strlen(s->types[i].name);
	for (i = 0; i < s->ntypes; i++)
		fprintf(out, "%-*s %12s\n", (int)w, s->types[i].name,
			ev_commas(s->types[i].n, b));
	return 0;
}

static int load_state(struct ev_isession *s, int fresh, struct ev_error *err)
{
	if (s->state != NULL && !fresh)
		return 0;
	ev_state_free(s->state);
	s->state = NULL;
	return ev_state_load(&s->state, s->log, 0, err);
}

/* streams: the ones that match, collected in one pass over the index
 * (only names with the glob's literal prefix are tried) */
struct listing {
	const char *glob;
	size_t plen;
	struct ev_stream_info *v;
	size_t n, cap;
	struct ev_buf name;
	int failed;
};

static int list_one(void *ctx, const struct ev_stream_info *si)
{
	struct listing *l = ctx;
	void *p;

	if (si->name_len < l->plen || memcmp(si->name, l->glob, l->plen) != 0)
		return 0;
	if (l->glob[l->plen] != '\0') {
		l->name.len = 0;
		if (ev_buf_append(&l->name, si->name, si->name_len) ||
		    ev_buf_putc(&l->name, '\0')) {
			l->failed = 1;
			return 1;
		}
		if (fnmatch(l->glob, (const char *)l->name.p, 0) != 0)
			return 0;
	} else if (si->name_len != l->plen) {
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		if ((p = realloc(l->v, cap * sizeof(*l->v))) == NULL) {
			l->failed = 1;
			return 1;
		}
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *si;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct ev_stream_info *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int c_streams(struct ev_isession *s, char *args, FILE *out,
		     struct ev_error *err)
{
	struct listing l;
	struct ev_buf b = {0};
	char *glob = word(&args);
	int r;

	if (*rest(args) != '\0')
		return fail(err, EV_EUSAGE, "streams", "unexpected '%s'",
			    rest(args));
	if ((r = need_log(s, "streams", err)) != 0)
		return r;
	if ((r = load_state(s, 1, err)) != 0)
		return named(err, "streams", r);
	memset(&l, 0, sizeof(l));
	l.glob = glob != NULL ? glob : "*";
	l.plen = strcspn(l.glob, "*?[\\");
	ev_state_foreach_stream(s->state, list_one, &l);
	ev_buf_free(&l.name);
	if (l.failed) {
		free(l.v);
		return oom(err);
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_name);
	r = ev_streams_format(&b, l.v, l.n, 0);
	free(l.v);
	if (r != 0) {
		ev_buf_free(&b);
		return oom(err);
	}
	out_write(out, b.p, b.len);
	ev_buf_free(&b);
	if (l.n == 0 && glob != NULL)
		return fail(err, EV_ENOENT, "streams", "no stream matches '%s'",
			    glob);
	return 0;
}

/* stats: counts by type and times in fine buckets. */
struct stats {
	struct ev_type_count *t;
	size_t nt, capt;
	uint64_t total;
	ev_time_t lo, hi;     /* the fine buckets' range */
	ev_time_t tmin, tmax; /* the events' */
	uint64_t fine[FINE_BUCKETS];
	struct ev_error *err;
};

static int stats_one(struct ev_isession *s, void *ctx, const struct ev_rec *rec)
{
	struct stats *st = ctx;
	struct ev_event ev;
	size_t i;
	uint64_t k;
	int r;

	if ((r = ev_event_decode(rec->p, rec->n, &ev, st->err)) != 0) {
		ev_err_damaged(st->err, s->name, rec->offset);
		return r;
	}
	st->total++;
	for (i = 0; i < st->nt; i++)
		if (strlen(st->t[i].name) == ev.type.n &&
		    memcmp(st->t[i].name, ev.type.p, ev.type.n) == 0)
			break;
	if (i == st->nt) {
		if (st->nt == st->capt) {
			size_t cap = st->capt ? st->capt * 2 : 16;
			void *p = realloc(st->t, cap * sizeof(*st->t));

			if (p == NULL)
				return oom(st->err);
			st->t = p;
			st->capt = cap;
		}
		if ((st->t[i].name = strndup(ev.type.p, ev.type.n)) == NULL)
			return oom(st->err);
		st->t[i].n = 0;
		st->nt++;
	}
	st->t[i].n++;
	/* move it up to keep the list about sorted: frequent types first */
	while (i > 0 && st->t[i].n > st->t[i - 1].n) {
		struct ev_type_count x = st->t[i];

		st->t[i] = st->t[i - 1];
		st->t[--i] = x;
	}
	if (st->total == 1 || ev.time < st->tmin)
		st->tmin = ev.time;
	if (st->total == 1 || ev.time > st->tmax)
		st->tmax = ev.time;
	if (ev.time <= st->lo)
		k = 0;
	else if (ev.time >= st->hi)
		k = FINE_BUCKETS - 1;
	else
		k = (uint64_t)((double)((uint64_t)ev.time - (uint64_t)st->lo) /
			       (double)((uint64_t)st->hi - (uint64_t)st->lo) *
			       FINE_BUCKETS);
	if (k >= FINE_BUCKETS)
		k = FINE_BUCKETS - 1;
	st->fine[k]++;
	return 0;
}

static int by_count(const void *a, const void *b)
{
	const struct ev_type_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void put_duration(FILE *out, double ns)
{
	static const struct {
		const char *u;
		double ns;
	} units[] = {{"d", 86400e9}, {"h", 3600e9}, {"m", 60e9},
		     {"s", 1e9},     {"ms", 1e6},   {"us", 1e3}};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ns >= units[i].ns) {
			fprintf(out, "%.3g%s", ns / units[i].ns, units[i].u);
			return;
		}
	fprintf(out, "%.0fns", ns);
}

static void histogram(struct ev_isession *s, FILE *out, struct stats *st)
{
	static const char *const blocks[] = {" ",
					     "\xe2\x96\x81",
					     "\xe2\x96\x82",
					     "\xe2\x96\x83",
					     "\xe2\x96\x84",
					     "\xe2\x96\x85",
					     "\xe2\x96\x86",
					     "\xe2\x96\x87",
					     "\xe2\x96\x88"};
	uint64_t col[512], max = 0;
	size_t a = 0, b = FINE_BUCKETS - 1, w, i, k, span;
	char t1[40], t2[40], c[32];
	double fine_ns, col_ns;

	while (a < b && st->fine[a] == 0)
		a++;
	while (b > a && st->fine[b] == 0)
		b--;
	span = b - a + 1;
	w = s->cols > 20 ? (size_t)s->cols - 2 : 60;
	if (w > sizeof(col) / sizeof(col[0]))
		w = sizeof(col) / sizeof(col[0]);
	if (w > span)
		w = span;
	memset(col, 0, sizeof(col));
	for (i = a; i <= b; i++) {
		k = (i - a) * w / span;
		col[k] += st->fine[i];
	}
	for (k = 0; k < w; k++)
		if (col[k] > max)
			max = col[k];
	fine_ns = ((double)st->hi - (double)st->lo) / FINE_BUCKETS;
	col_ns = fine_ns * (double)span / (double)w;
	t1[ev_time_format(st->tmin, t1)] = '\0';
	t2[ev_time_format(st->tmax, t2)] = '\0';
	fprintf(out, "from %s to %s, ", t1, t2);
	fprintf(out, "%zu %s of ", w, ev_plural(w, "column", "columns"));
	put_duration(out, col_ns);
	fprintf(out, ", \xe2\x96\x88 = %s\n", ev_commas(max, c));
	if (s->color)
		fputs("\033[32m", out);
	for (k = 0; k < w; k++)
		fputs(blocks[col[k] == 0 ? 0 : (col[k] * 8 + max - 1) / max],
		      out);
	if (s->color)
		fputs("\033[0m", out);
	fputc('\n', out);
}

static int c_stats(struct ev_isession *s, char *args, FILE *out,
		   struct ev_error *err)
{
	struct stats *st;
	struct ev_log_info info;
	uint64_t first, last;
	char b[32];
	size_t i, w = 4;
	int r;

	if (*rest(args) != '\0')
		return fail(err, EV_EUSAGE, "stats", "unexpected '%s'",
			    rest(args));
	if ((r = bounds(s, &first, &last, err)) != 0)
		return named(err, "stats", r);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return oom(err);
	st->err = err;
	st->lo = st->hi = EV_TIME_NONE;
	if (s->log != NULL && ev_log_info(s->log, &info, err) == 0) {
		st->lo = info.min_time;
		st->hi = info.max_time;
		free(info.seg);
	}
	if (st->lo == EV_TIME_NONE || st->hi == EV_TIME_NONE ||
	    st->hi <= st->lo) {
		/* a lone segment, or no spread of times */
		st->lo = 0;
		st->hi = st->lo + 1;
		if (last != NONE && fetch(s, last, err) == 1 &&
		    s->ev.time > 0) {
			st->hi = s->ev.time + 1;
			if (fetch(s, first, err) == 1 && s->ev.time < st->hi)
				st->lo = s->ev.time;
		}
	}
	r = last == NONE
		    ? 0
		    : walk(s, first, last, NULL, "stats", stats_one, st, err);
	if (r == 0) {
		if (st->nt > 1)
			qsort(st->t, st->nt, sizeof(*st->t), by_count);
		fprintf(out, "%s %s", ev_commas(st->total, b),
			ev_plural(st->total, "event", "events"));
		if (s->nspecs > 0) {
			s->tmp.len = 0;
			filter_label(s, &s->tmp);
			fprintf(out, " (%.*s)", (int)s->tmp.len,
				(const char *)s->tmp.p);
		}
		fprintf(out, ", %zu %s\n", st->nt,
			ev_plural(st->nt, "type", "types"));
		for (i = 0; i < st->nt; i++)
			if (strlen(st->t[i].name) > w)
				w = strlen(st->t[i].name);
		for (i = 0; i < st->nt; i++)
			fprintf(out, "  %-*s %12s %5.1f%%\n", (int)w,
				st->t[i].name, ev_commas(st->t[i].n, b),
				100.0 * (double)st->t[i].n / (double)st->total);
		if (st->total > 0)
			histogram(s, out, st);
	}
	ev_type_counts_free(st->t, st->nt);
	free(st);
	return named(err, "stats", r);
}

static int c_follow(struct ev_isession *s, char *args, FILE *out,
		    struct ev_error *err)
{
	struct ev_scan_opts so;
	struct ev_scan *scan = NULL;
	struct ev_rec rec;
	const struct ev_event *ev;
	uint64_t first, last;
	int r;

	if (*rest(args) != '\0')
		return fail(err, EV_EUSAGE, "follow", "unexpected '%s'",
			    rest(args));
	/* as evtail --follow: an archive is a snapshot, which never grows */
	if (ev_reader_is_archive(s->rd))
		return fail(err, EV_EUSAGE, "follow",
			    "'%s' is an archive, which does not grow; import "
			    "it with 'evctl import' to follow the log",
			    s->name);
	if ((r = bounds(s, &first, &last, err)) != 0)
		return named(err, "follow", r);
	memset(&so, 0, sizeof(so));
	so.name = s->name;
	so.filter = s->flt;
	so.from.kind = EV_POS_END;
	so.follow = 1;
	if ((r = ev_scan_open(&scan, s->log, s->rd, &so, err)) != 0)
		return named(err, "follow", r);
	fflush(out);
	while (!stopped(s)) {
		r = ev_scan_next(scan, &rec, &ev, err);
		if (r == 1) {
			if ((r = fetch(s, rec.offset, err)) == 1 &&
			    (r = print_event(s, out, 0, err)) == 0) {
				s->cur = rec.offset;
				fflush(out);
			}
			if (r < 0)
				break;
			continue;
		}
		if (r < 0 || ev_scan_done(scan))
			break;
		/* a script's next command ends it, as Ctrl-C does */
		if (s->next_waiting != NULL && s->next_waiting(s->ctx))
			break;
		if ((r = ev_scan_wait(scan, 250, err)) < 0)
			break;
	}
	ev_scan_free(scan);
	/* Ctrl-C ends a follow: that is how it is meant to end */
	return named(err, "follow", r < 0 ? r : 0);
}

static int c_format(struct ev_isession *s, char *args, FILE *out,
		    struct ev_error *err)
{
	struct ev_template *t;
	char *f = word(&args), *a = rest(args);
	int r;

	(void)out;
	if (f == NULL)
		return fail(err, EV_EUSAGE, "format",
			    "missing json, pretty or template TPL");
	if (strcmp(f, "template") == 0) {
		if (*a == '\0')
			return fail(err, EV_EUSAGE, "format", "missing TPL");
		if ((r = ev_template_new(&t, a, err)) != 0)
			return named(err, "format", r);
		ev_template_free(s->tpl);
		s->tpl = t;
		s->fmt = FMT_TEMPLATE;
		return 0;
	}
	if (*a != '\0')
		return fail(err, EV_EUSAGE, "format", "unexpected '%s'", a);
	if (strcmp(f, "json") == 0)
		s->fmt = FMT_JSON;
	else if (strcmp(f, "pretty") == 0)
		s->fmt = FMT_PRETTY;
	else
		return fail(err, EV_EUSAGE, "format",
			    "'%s' is not json, pretty or template", f);
	return 0;
}

struct saving {
	struct ev_output *o;
	uint64_t n;
	struct ev_error *err;
};

static int save_one(struct ev_isession *s, void *ctx, const struct ev_rec *rec)
{
	struct saving *sv = ctx;

	(void)s;
	sv->n++;
	return ev_output_event(sv->o, rec, NULL, sv->err);
}

/*
 * Would writing path harm what the session reads?  O_TRUNC on one of the
 * log's files (a Tab away: save completes file names) would destroy the
 * log, and any other file there is not the log's to have: refuse a path
 * in the log's directory, or the lone segment file itself.
 */
static int save_harms_log(struct ev_isession *s, const char *path,
			  struct ev_error *err)
{
	struct stat st, ls, up = {0};
	char *dir, *slash, *up_dir;
	int r = 0, i;

	if (stat(s->name, &ls) != 0)
		return 0;
	if (!S_ISDIR(ls.st_mode)) {
		if (stat(path, &st) == 0 && st.st_dev == ls.st_dev &&
		    st.st_ino == ls.st_ino)
			r = fail(err, EV_EUSAGE, "save",
				 "'%s' is the file the session reads", path);
		return r;
	}
	if ((dir = strdup(path)) == NULL)
		return oom(err);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	/* the directory, then its parents (LOG/state/ is the log's too) */
	for (i = 0; i < 64 && stat(dir, &st) == 0; i++) {
		if (st.st_dev == ls.st_dev && st.st_ino == ls.st_ino) {
			r = fail(err, EV_EUSAGE, "save",
				 "'%s' is in the log '%s'", path, s->name);
			break;
		}
		if (st.st_dev == up.st_dev && st.st_ino == up.st_ino)
			break; /* the root */
		up = st;
		if ((up_dir = malloc(strlen(dir) + 4)) == NULL) {
			r = oom(err);
			break;
		}
		sprintf(up_dir, "%s/..", dir);
		free(dir);
		dir = up_dir;
	}
	free(dir);
	return r;
}

static int c_save(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err)
{
	struct saving sv = {NULL, 0, err};
	uint64_t first, last;
	char *path = rest(args), b[32];
	int fd, r;

	if (*path == '\0')
		return fail(err, EV_EUSAGE, "save", "missing FILE");
	if ((r = save_harms_log(s, path, err)) != 0)
		return r;
	if ((r = bounds(s, &first, &last, err)) != 0)
		return named(err, "save", r);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) <
	    0)
		return fail(err, errno == ENOENT ? EV_ENOENT : EV_EIO, "save",
			    "cannot create '%s': %s", path, strerror(errno));
	r = ev_output_new(&sv.o, fd, EV_OUT_JSON, NULL, 0, err);
	if (r == 0 && last != NONE)
		r = walk(s, first, last, NULL, "save", save_one, &sv, err);
	if (r == 0)
		r = ev_output_end(sv.o, err);
	ev_output_free(sv.o);
	if (close(fd) != 0 && r == 0)
		r = fail(err, EV_EIO, "save", "cannot write '%s': %s", path,
			 strerror(errno));
	if (r == 0)
		fprintf(out, "saved %s %s to '%s'\n", ev_commas(sv.n, b),
			ev_plural(sv.n, "event", "events"), path);
	return named(err, "save", r);
}

static int c_help(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err);

static int c_quit(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err)
{
	(void)s;
	(void)out;
	if (*rest(args) != '\0')
		return fail(err, EV_EUSAGE, "quit", "unexpected '%s'",
			    rest(args));
	return EV_ISESSION_QUIT;
}

static const struct cmd commands[] = {
	{"next", "[N]", "the next N events (1); Enter is next",
	 "Shows the next N events the filters let through; the last one\n"
	 "becomes the current event.",
	 c_next},
	{"prev", "[N]", "the N events before (1); - is prev",
	 "Shows the N events before the current one, oldest first; the\n"
	 "first of them becomes the current event.",
	 c_prev},
	{"goto", "OFFSET|@TIME|start|end", "go to a place in the log",
	 "Shows the first event at or after OFFSET or TIME (RFC 3339, a\n"
	 "date, now, or relative as -1h) that the filters let through, the\n"
	 "first one (start) or the last one (end).",
	 c_goto},
	{"find", "[TEXT|/REGEX/]", "search forward, the match highlighted",
	 "Searches the events' JSON for TEXT, or for a regular expression\n"
	 "(/REGEX/i ignores case), from the current event on and then from\n"
	 "the start; without an argument, for the last one again.",
	 c_find},
	{"find-prev", "[TEXT|/REGEX/]", "search backward",
	 "As find, from the current event back, then from the end.",
	 c_find_prev},
	{"filter", "type GLOB|stream GLOB|where EXPR|clear",
	 "show only matching events",
	 "Filters add up as evtail's options do: an event passes with any\n"
	 "of the type globs, any of the stream globs and every where\n"
	 "expression (evtail(1) Filter expressions); clear drops them all.",
	 c_filter},
	{"filters", "", "list the filters", NULL, c_filters},
	{"show", "[OFFSET]", "the whole event, indented",
	 "Shows the current event, or the one at OFFSET, which becomes\n"
	 "current, as indented JSON.",
	 c_show},
	{"stream", "NAME", "the events of one stream, with versions",
	 "Lists the events of stream NAME read through the stream index:\n"
	 "version, offset, time and type.",
	 c_stream},
	{"stats", "", "counts by type, histogram over time",
	 "Counts the events the filters let through by type, and draws how\n"
	 "they spread over time; reads the whole log (Ctrl-C stops it).",
	 c_stats},
	{"types", "", "the event types, with counts", NULL, c_types},
	{"streams", "[GLOB]", "the streams, as evctl streams lists them", NULL,
	 c_streams},
	{"follow", "",
	 "print new events until Ctrl-C (in a script: until its next line)",
	 NULL, c_follow},
	{"format", "json|pretty|template TPL", "how events print (pretty)",
	 "TPL as evtail --template takes it: '{offset} {type} {data.x}'.",
	 c_format},
	{"save", "FILE", "write the filtered events to FILE",
	 "Writes every event the filters let through to FILE as NDJSON, as\n"
	 "evtail prints them (Ctrl-C stops it).",
	 c_save},
	{"help", "[COMMAND]", "the commands, or what one does", NULL, c_help},
	{"quit", "", "end the session (as Ctrl-D)", NULL, c_quit},
	{NULL, NULL, NULL, NULL, NULL},
};

static const char *const command_names[] = {
	"next",	   "prev",   "goto",   "find",	"find-prev", "filter",
	"filters", "show",   "stream", "stats", "types",     "streams",
	"follow",  "format", "save",   "help",	"quit",	     NULL,
};

const char *const *ev_isession_commands(void)
{
	return command_names;
}

static const struct cmd *lookup(const char *name)
{
	const struct cmd *c;

	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int c_help(struct ev_isession *s, char *args, FILE *out,
		  struct ev_error *err)
{
	const struct cmd *c;
	char *a = rest(args);
	char use[64];

	(void)s;
	if (*a != '\0') {
		if ((c = lookup(a)) == NULL)
			return fail(err, EV_EUSAGE, "help", "no command '%s'",
				    a);
		fprintf(out, "%s%s%s\n%s\n", c->name, *c->args ? " " : "",
			c->args, c->more != NULL ? c->more : c->summary);
		return 0;
	}
	for (c = commands; c->name != NULL; c++) {
		snprintf(use, sizeof(use), "%s%s%s", c->name,
			 *c->args ? " " : "", c->args);
		if (strlen(use) > 28)
			fprintf(out, "%s\n%-28s %s\n", use, "", c->summary);
		else
			fprintf(out, "%-28s %s\n", use, c->summary);
	}
	return 0;
}

/* ---------------------------------------------------------------- session */

int ev_isession_new(struct ev_isession **out, struct ev_log *log,
		    struct ev_reader *r, const struct ev_isession_opts *o,
		    struct ev_error *err)
{
	struct ev_isession *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return oom(err);
	s->log = log;
	s->rd = r;
	s->name = strdup(o->name ? o->name : ev_reader_path(r));
	if (s->name == NULL) {
		free(s);
		return oom(err);
	}
	s->color = o->color;
	s->rows = o->rows;
	s->cols = o->cols;
	s->stop = o->stop;
	s->progress = o->progress;
	s->ctx = o->ctx;
	s->next_waiting = o->next_waiting;
	s->cur = NONE;
	s->fmt = FMT_PRETTY;
	*out = s;
	return 0;
}

void ev_isession_free(struct ev_isession *s)
{
	size_t i;

	if (s == NULL)
		return;
	ev_filter_free(s->flt);
	for (i = 0; i < s->nspecs; i++)
		free(s->specs[i].text);
	free(s->specs);
	free(s->cand);
	ev_template_free(s->tpl);
	pattern_free(&s->pat);
	ev_type_counts_free(s->types, s->ntypes);
	ev_state_free(s->state);
	ev_buf_free(&s->line);
	ev_buf_free(&s->tmp);
	ev_buf_free(&s->prompt);
	free(s->name);
	free(s);
}

void ev_isession_set_size(struct ev_isession *s, int rows, int cols)
{
	s->rows = rows;
	s->cols = cols;
}

int ev_isession_screen(struct ev_isession *s, FILE *out, struct ev_error *err)
{
	struct offs o = {0};
	uint64_t first, last, n = s->rows > 3 ? (uint64_t)s->rows - 2 : 1;
	int r;

	if ((r = bounds(s, &first, &last, err)) != 0)
		return r;
	r = last_matches(s, first, last, n, NULL, "screen", &o, err);
	if (r == 0 && (r = print_offs(s, out, &o, 0, err)) == 0 && o.n > 0)
		s->cur = o.v[o.n - 1];
	free(o.v);
	return r;
}

int ev_isession_run(struct ev_isession *s, const char *line, FILE *out,
		    struct ev_error *err)
{
	const struct cmd *c;
	char *copy, *p, *name;
	const char *near;
	int r;

	ev_error_clear(err);
	if ((copy = strdup(line)) == NULL)
		return oom(err);
	p = copy;
	p[strcspn(p, "\r\n")] = '\0';
	name = word(&p);
	if (name == NULL) {
		r = c_next(s, p, out, err); /* Enter */
	} else if (name[0] == '#') {
		r = 0; /* a comment, in scripts */
	} else if (strcmp(name, "-") == 0) {
		r = c_prev(s, p, out, err);
	} else if ((c = lookup(name)) != NULL) {
		r = c->fn(s, p, out, err);
	} else {
		near = ev_suggest(name, strlen(name), command_names,
				  sizeof(command_names) /
						  sizeof(command_names[0]) -
					  1);
		if (near != NULL)
			r = ev_seterr(err, EV_EUSAGE,
				      "no command '%s'; did you mean '%s'? "
				      "(see 'help')",
				      name, near);
		else
			r = ev_seterr(err, EV_EUSAGE,
				      "no command '%s' (see 'help')", name);
	}
	free(copy);
	fflush(out);
	return r;
}

const char *ev_isession_prompt(struct ev_isession *s)
{
	s->prompt.len = 0;
	if (ev_buf_puts(&s->prompt, s->name) != 0)
		return "> ";
	if (s->nspecs > 0) {
		ev_buf_puts(&s->prompt, " [");
		filter_label(s, &s->prompt);
		ev_buf_putc(&s->prompt, ']');
	}
	ev_buf_puts(&s->prompt, "> ");
	if (ev_buf_putc(&s->prompt, '\0') != 0)
		return "> ";
	return (const char *)s->prompt.p;
}

/* ------------------------------------------------------------- completion */

struct cands {
	char **v;
	size_t n, cap;
	const char *prefix;
	size_t plen;
	size_t max;
	int failed;
};

static void cand_addn(struct cands *c, const char *p, size_t n)
{
	char **v;
	size_t i;

	if (c->failed || n < c->plen || memcmp(p, c->prefix, c->plen) != 0)
		return;
	if (c->max > 0 && c->n >= c->max)
		return;
	for (i = 0; i < c->n; i++)
		if (strlen(c->v[i]) == n && memcmp(c->v[i], p, n) == 0)
			return;
	if (c->n + 1 >= c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;

		if ((v = realloc(c->v, cap * sizeof(*v))) == NULL) {
			c->failed = 1;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	if ((c->v[c->n] = strndup(p, n)) == NULL) {
		c->failed = 1;
		return;
	}
	c->v[++c->n] = NULL;
}

static void cand_add(struct cands *c, const char *p)
{
	cand_addn(c, p, strlen(p));
}

static int stream_cand(void *ctx, const struct ev_stream_info *si)
{
	struct cands *c = ctx;

	cand_addn(c, si->name, si->name_len);
	return c->failed || (c->max > 0 && c->n >= c->max);
}

static int cand_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths of a msgpack map, under prefix pre, into c. */
static void map_paths(struct cands *c, struct ev_buf *pre, const uint8_t *p,
		      const uint8_t *end, int depth)
{
	struct ev_mp_item k, v;
	uint32_t i, n;
	size_t keep = pre->len;
	const uint8_t *q;

	if (depth > PATH_DEPTH || ev_mp_read(&p, end, &k) != 0 ||
	    k.type != EV_MP_MAP)
		return;
	n = k.n;
	for (i = 0; i < n && c->n < MAX_PATHS; i++) {
		if (ev_mp_read(&p, end, &k) != 0)
			return;
		q = p;
		if (ev_mp_read(&q, end, &v) != 0)
			return;
		if (k.type == EV_MP_STR) {
			pre->len = keep;
			if (ev_buf_putc(pre, '.') ||
			    ev_buf_append(pre, k.p, k.n)) {
				c->failed = 1;
				return;
			}
			cand_addn(c, (const char *)pre->p, pre->len);
			if (v.type == EV_MP_MAP)
				map_paths(c, pre, p, end, depth + 1);
		}
		if (ev_mp_skip(&p, end, PATH_DEPTH + 2) != 0)
			return;
	}
	pre->len = keep;
}

static void field_paths(struct ev_isession *s, struct cands *c)
{
	static const char *const envelope[] = {
		"offset", "id",	    "type", "stream", "version",
		"time",	  "schema", "key",  "data",   "meta",
	};
	struct ev_buf pre = {0};
	size_t i;

	for (i = 0; i < sizeof(envelope) / sizeof(envelope[0]); i++)
		cand_add(c, envelope[i]);
	if (s->cur == NONE || fetch(s, s->cur, &(struct ev_error){0}) != 1)
		return;
	if (s->ev.data != NULL && !s->ev.data_is_binary) {
		ev_buf_puts(&pre, "data");
		map_paths(c, &pre, s->ev.data, s->ev.data + s->ev.data_len, 0);
	}
	if (s->ev.meta != NULL) {
		pre.len = 0;
		ev_buf_puts(&pre, "meta");
		map_paths(c, &pre, s->ev.meta, s->ev.meta + s->ev.meta_len, 0);
	}
	ev_buf_free(&pre);
}

int ev_isession_complete(struct ev_isession *s, const char *line, size_t start,
			 char ***v, size_t *n)
{
	static const char *const kinds[] = {"type", "stream", "where", "clear",
					    NULL};
	static const char *const formats[] = {"json", "pretty", "template",
					      NULL};
	static const char *const ends[] = {"start", "end", NULL};
	struct cands c = {0};
	char *copy, *p, *tok[3] = {NULL, NULL, NULL};
	const char *const *list = NULL;
	struct ev_error err;
	size_t ntok = 0, i;
	int r = 0;

	*v = NULL;
	*n = 0;
	if ((copy = strndup(line, start)) == NULL)
		return EV_ERR;
	c.prefix = line + start;
	c.plen = strlen(c.prefix);
	p = copy;
	while (ntok < 3 && (tok[ntok] = word(&p)) != NULL)
		ntok++;
	if (ntok == 0)
		list = command_names;
	else if (ntok == 1 && strcmp(tok[0], "help") == 0)
		list = command_names;
	else if (ntok == 1 && strcmp(tok[0], "filter") == 0)
		list = kinds;
	else if (ntok == 1 && strcmp(tok[0], "format") == 0)
		list = formats;
	else if (ntok == 1 && strcmp(tok[0], "goto") == 0)
		list = ends;
	else if (ntok == 1 && strcmp(tok[0], "save") == 0)
		r = EV_ISESSION_FILES;
	else if (ntok == 2 && strcmp(tok[0], "filter") == 0 &&
		 strcmp(tok[1], "type") == 0) {
		if (load_types(s, &err) == 0)
			for (i = 0; i < s->ntypes; i++)
				cand_add(&c, s->types[i].name);
	} else if ((ntok == 1 && (strcmp(tok[0], "stream") == 0 ||
				  strcmp(tok[0], "streams") == 0)) ||
		   (ntok == 2 && strcmp(tok[0], "filter") == 0 &&
		    strcmp(tok[1], "stream") == 0)) {
		/* at most MAX_STREAMS with the prefix, in one pass over the
		 * index: no sorting of a million names per Tab */
		c.max = EV_ISESSION_MAX_STREAMS;
		if (s->log != NULL && load_state(s, 0, &err) == 0)
			ev_state_foreach_stream(s->state, stream_cand, &c);
	} else if (ntok >= 2 && strcmp(tok[0], "filter") == 0 &&
		   strcmp(tok[1], "where") == 0) {
		field_paths(s, &c);
	}
	for (i = 0; list != NULL && list[i] != NULL; i++)
		cand_add(&c, list[i]);
	free(copy);
	if (c.failed) {
		ev_isession_complete_free(c.v);
		return EV_ERR;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cand_cmp);
	*v = c.v;
	*n = c.n;
	return r;
}

void ev_isession_complete_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
