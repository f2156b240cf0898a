/*
 * schemareport.c - struct ev_schemareport: what evctl schema check finds
 * (evctl(1) "schema check"): events counted by type, invalid ones
 * grouped by type and by (schema path, message) with the first examples
 * of each, and the report as text, JSON, JUnit XML or TAP.  Also the
 * lint report of a schema directory.
 *
 * A valid event costs a validation and a hash probe for its type: the
 * records are validated where the reader keeps them (its batch), and
 * nothing is allocated for them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

/* errors kept per type: past it, the rest are counted as one */
#define MAX_GROUPS 256

struct example {
	uint64_t offset; /* in a log */
	uint32_t file;	 /* else: the input's index + 1, and its line */
	uint64_t line;
	char *instance; /* the instance path */
};

struct group {
	char *schema_path, *keyword, *message;
	uint64_t hash;
	uint64_t events;
	uint64_t last_seq; /* the event counted last, to count each once */
	struct example *ex;
	size_t nex;
};

struct rtype {
	char *name; /* NULL: lines that are not events */
	size_t len;
	uint64_t hash;
	int has_schemas;
	uint64_t events, invalid;
	struct group *g;
	size_t ng, gcap;
	uint64_t other; /* events with errors past MAX_GROUPS */
};

struct ev_schemareport {
	struct ev_schemadir *d;
	struct ev_jschema_ctx *cx;
	unsigned examples;
	struct rtype *t;
	size_t nt, tcap;
	uint32_t *slots;
	size_t mask;
	struct rtype *none; /* lines that are not events */
	struct rtype *last; /* the type looked up last */
	char **files;
	size_t nfiles;
	int from_log;
	uint64_t events, invalid, seq;
};

int ev_schemareport_format_parse(const char *s, enum ev_schemareport_format *f)
{
	static const char *const names[] = {"human", "json", "junit", "tap"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*f = (enum ev_schemareport_format)i;
			return 0;
		}
	return EV_EUSAGE;
}

int ev_schemareport_new(struct ev_schemareport **out, struct ev_schemadir *d,
			unsigned examples, struct ev_error *err)
{
	struct ev_schemareport *rp = calloc(1, sizeof(*rp));

	*out = NULL;
	if (rp == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	rp->d = d;
	rp->examples = examples;
	rp->cx = ev_jschema_ctx_new();
	rp->mask = 63;
	rp->slots = calloc(rp->mask + 1, sizeof(*rp->slots));
	if (rp->cx == NULL || rp->slots == NULL) {
		ev_schemareport_free(rp);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	*out = rp;
	return 0;
}

static void free_type(struct rtype *t)
{
	size_t i, j;

	for (i = 0; i < t->ng; i++) {
		struct group *g = &t->g[i];
		free(g->schema_path);
		free(g->keyword);
		free(g->message);
		for (j = 0; j < g->nex; j++)
			free(g->ex[j].instance);
		free(g->ex);
	}
	free(t->g);
	free(t->name);
}

void ev_schemareport_free(struct ev_schemareport *rp)
{
	size_t i;

	if (rp == NULL)
		return;
	for (i = 0; i < rp->nt; i++)
		free_type(&rp->t[i]);
	free(rp->t);
	if (rp->none != NULL) {
		free_type(rp->none);
		free(rp->none);
	}
	free(rp->slots);
	for (i = 0; i < rp->nfiles; i++)
		free(rp->files[i]);
	free(rp->files);
	ev_jschema_ctx_free(rp->cx);
	free(rp);
}

uint64_t ev_schemareport_events(const struct ev_schemareport *rp)
{
	return rp->events;
}

uint64_t ev_schemareport_invalid(const struct ev_schemareport *rp)
{
	return rp->invalid;
}

/* ------------------------------------------------------------ counting */

static int grow_slots(struct ev_schemareport *rp)
{
	size_t cap = (rp->mask + 1) * 2, i, j;
	uint32_t *s = calloc(cap, sizeof(*s));

	if (s == NULL)
		return EV_ERR;
	for (i = 0; i < rp->nt; i++) {
		for (j = rp->t[i].hash & (cap - 1); s[j] != 0;
		     j = (j + 1) & (cap - 1))
			;
		s[j] = (uint32_t)(i + 1);
	}
	free(rp->slots);
	rp->slots = s;
	rp->mask = cap - 1;
	return 0;
}

/* The counts of a type, made when first seen (rp->t may move then:
 * the pointer is good until the next new type). */
static struct rtype *type_of(struct ev_schemareport *rp, const char *name,
			     size_t n)
{
	struct rtype *t = rp->last;
	uint64_t h;
	size_t j;

	if (t != NULL && t->len == n && memcmp(t->name, name, n) == 0)
		return t;
	h = ev_hash64(name, n);
	for (j = h & rp->mask; rp->slots[j] != 0; j = (j + 1) & rp->mask) {
		t = &rp->t[rp->slots[j] - 1];
		if (t->hash == h && t->len == n &&
		    memcmp(t->name, name, n) == 0)
			return rp->last = t;
	}
	if ((rp->nt + 1) * 2 > rp->mask + 1) {
		if (grow_slots(rp) != 0)
			return NULL;
		for (j = h & rp->mask; rp->slots[j] != 0;
		     j = (j + 1) & rp->mask)
			;
	}
	if (rp->nt == rp->tcap) {
		size_t cap = rp->tcap ? rp->tcap * 2 : 16;
		t = realloc(rp->t, cap * sizeof(*t));
		if (t == NULL)
			return NULL;
		rp->t = t;
		rp->tcap = cap;
	}
	t = &rp->t[rp->nt];
	memset(t, 0, sizeof(*t));
	t->name = malloc(n + 1);
	if (t->name == NULL)
		return NULL;
	memcpy(t->name, name, n);
	t->name[n] = '\0';
	t->len = n;
	t->hash = h;
	t->has_schemas = ev_schemadir_has_type(rp->d, name, n);
	rp->slots[j] = (uint32_t)(rp->nt + 1);
	rp->nt++;
	return rp->last = t;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* Count one error of the event rp->seq in its group. */
static int add_error(struct ev_schemareport *rp, struct rtype *t,
		     const char *schema_path, const char *keyword,
		     const char *message, const char *instance,
		     const struct example *where)
{
	struct group *g = NULL;
	uint64_t h;
	size_t i;

	schema_path = schema_path != NULL ? schema_path : "";
	message = message != NULL ? message : "";
	h = ev_hash64(schema_path, strlen(schema_path)) ^
	    (ev_hash64(message, strlen(message)) * 31);
	for (i = 0; i < t->ng; i++)
		if (t->g[i].hash == h &&
		    strcmp(t->g[i].schema_path, schema_path) == 0 &&
		    strcmp(t->g[i].message, message) == 0) {
			g = &t->g[i];
			break;
		}
	if (g == NULL) {
		if (t->ng >= MAX_GROUPS) {
			t->other++;
			return 0;
		}
		if (t->ng == t->gcap) {
			size_t cap = t->gcap ? t->gcap * 2 : 4;
			g = realloc(t->g, cap * sizeof(*g));
			if (g == NULL)
				return EV_ERR;
			t->g = g;
			t->gcap = cap;
		}
		g = &t->g[t->ng];
		memset(g, 0, sizeof(*g));
		g->hash = h;
		g->schema_path = dup_or_empty(schema_path);
		g->keyword = dup_or_empty(keyword);
		g->message = dup_or_empty(message);
		g->ex = calloc(rp->examples ? rp->examples : 1, sizeof(*g->ex));
		if (g->schema_path == NULL || g->keyword == NULL ||
		    g->message == NULL || g->ex == NULL) {
			free(g->schema_path);
			free(g->keyword);
			free(g->message);
			free(g->ex);
			return EV_ERR;
		}
		g->last_seq = UINT64_MAX;
		t->ng++;
	}
	if (g->last_seq == rp->seq)
		return 0;
	g->last_seq = rp->seq;
	g->events++;
	if (g->nex < rp->examples) {
		struct example *e = &g->ex[g->nex];
		*e = *where;
		e->instance = dup_or_empty(instance);
		if (e->instance == NULL)
			return EV_ERR;
		g->nex++;
	}
	return 0;
}

/* One record, named by where.  0, or EV_ERR. */
static int check_record(struct ev_schemareport *rp, const uint8_t *rec,
			size_t n, const struct example *where)
{
	struct ev_str type;
	struct rtype *t;
	size_t i, ne;
	int r;

	rp->seq++;
	rp->events++;
	if (ev_event_peek_type(rec, n, &type) != 0 ||
	    ev_utf8_valid((const uint8_t *)type.p, type.n) != type.n) {
		type.p = NULL;
		type.n = 0;
	}
	r = ev_schemadir_check(rp->d, rec, n, rp->cx);
	if (r < 0 && r != EV_EDATA)
		return EV_ERR;
	t = type.p != NULL && r != EV_EDATA ? type_of(rp, type.p, type.n)
					    : NULL;
	if (t == NULL && type.p != NULL && r != EV_EDATA)
		return EV_ERR;
	if (r == EV_EDATA) {
		struct ev_event ev;
		struct ev_error e;
		if (rp->none == NULL &&
		    (rp->none = calloc(1, sizeof(*rp->none))) == NULL)
			return EV_ERR;
		rp->none->events++;
		rp->none->invalid++;
		rp->invalid++;
		ev_event_decode(rec, n, &ev, &e);
		return add_error(rp, rp->none, "", "", e.msg, "", where);
	}
	t->events++;
	if (r == 1)
		return 0;
	t->invalid++;
	rp->invalid++;
	ne = ev_jschema_nerrors(rp->cx);
	for (i = 0; i < ne; i++) {
		const struct ev_jschema_error *e =
			ev_jschema_error_at(rp->cx, i);
		r = add_error(rp, t, e->schema_path, e->keyword, e->message,
			      e->instance_path, where);
		if (r != 0)
			return r;
	}
	return 0;
}

int ev_schemareport_check_log(struct ev_schemareport *rp, struct ev_reader *r,
			      const struct ev_filter *f, struct ev_error *err)
{
	struct example where = {0};
	struct ev_rec rec;
	int rr;

	rp->from_log = 1;
	while ((rr = ev_reader_next(r, &rec, err)) == 1) {
		if (f != NULL && !ev_filter_precheck(f, rec.p, rec.n))
			continue;
		where.offset = rec.offset;
		if (check_record(rp, rec.p, rec.n, &where) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	return rr;
}

int ev_schemareport_check_input(struct ev_schemareport *rp, struct ev_input *in,
				const char *name, const struct ev_filter *f,
				struct ev_error *err)
{
	struct example where = {0};
	struct ev_input_pos pos;
	char **v;
	int r, i;

	v = realloc(rp->files, (rp->nfiles + 1) * sizeof(*v));
	if (v == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	rp->files = v;
	if ((v[rp->nfiles] = strdup(name)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	rp->nfiles++;
	where.file = (uint32_t)rp->nfiles;
	for (;;) {
		r = ev_input_next(in, -1, EV_TIME_NONE, err);
		if (r == EV_EAGAIN)
			continue;
		if (r == 0)
			return 0;
		ev_input_where(in, &pos);
		where.line = pos.line;
		if (r == EV_EDATA) {
			char msg[64] = "";
			if (err->column > 0)
				snprintf(msg, sizeof(msg), "column %zu",
					 err->column);
			rp->seq++;
			rp->events++;
			rp->invalid++;
			if (rp->none == NULL &&
			    (rp->none = calloc(1, sizeof(*rp->none))) == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
			rp->none->events++;
			rp->none->invalid++;
			/* the column makes each message its own: group by
			 * what is wrong, show where in the example */
			if (add_error(rp, rp->none, "", "", err->msg, msg,
				      &where) != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
			if (ev_input_broken(in))
				return 0;
			continue;
		}
		if (r < 0)
			return r;
		for (i = 0; i < r; i++) {
			const uint8_t *rec;
			size_t n;
			ev_input_record(in, i, &rec, &n, NULL);
			if (f != NULL && !ev_filter_precheck(f, rec, n))
				continue;
			if (check_record(rp, rec, n, &where) != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
		}
	}
}

/* ------------------------------------------------------------ writing */

static int cmp_type(const void *a, const void *b)
{
	const struct rtype *x = *(const struct rtype *const *)a;
	const struct rtype *y = *(const struct rtype *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* The types in name order, then the lines that are not events. */
static struct rtype **sorted_types(struct ev_schemareport *rp, size_t *n)
{
	struct rtype **v = malloc((rp->nt + 1) * sizeof(*v));
	size_t i;

	if (v == NULL)
		return NULL;
	for (i = 0; i < rp->nt; i++)
		v[i] = &rp->t[i];
	if (rp->nt > 1)
		qsort(v, rp->nt, sizeof(*v), cmp_type);
	*n = rp->nt;
	if (rp->none != NULL)
		v[(*n)++] = rp->none;
	return v;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->events != y->events)
		return x->events > y->events ? -1 : 1;
	return strcmp(x->schema_path, y->schema_path);
}

#define NOT_AN_EVENT "(not an event)"

static const char *type_name(const struct rtype *t)
{
	return t->name != NULL ? t->name : NOT_AN_EVENT;
}

/* "offset 17" or "FILE:LINE" */
static void put_where(struct ev_buf *b, const struct ev_schemareport *rp,
		      const struct example *e)
{
	if (e->file == 0)
		ev_buf_printf(b, "offset %" PRIu64, e->offset);
	else
		ev_buf_printf(b, "%s:%" PRIu64, rp->files[e->file - 1],
			      e->line);
}

static const char *instance_text(const char *s)
{
	return s[0] != '\0' ? s : "(the event)";
}

/* "2 events" */
static void put_count(struct ev_buf *b, uint64_t n, const char *one,
		      const char *many)
{
	char tmp[32];

	ev_buf_printf(b, "%s %s", ev_commas(n, tmp), ev_plural(n, one, many));
}

static uint64_t valid_of(const struct rtype *t)
{
	return t->events - t->invalid;
}

static void human_group(struct ev_buf *b, const struct ev_schemareport *rp,
			const struct group *g)
{
	size_t k;
	char tmp[32];

	ev_buf_puts(b, "  ");
	put_count(b, g->events, "event", "events");
	ev_buf_printf(b, ": %s", g->message);
	if (g->schema_path[0] != '\0')
		ev_buf_printf(b, " (%s)", g->schema_path);
	ev_buf_putc(b, '\n');
	for (k = 0; k < g->nex; k++) {
		ev_buf_puts(b, "    ");
		put_where(b, rp, &g->ex[k]);
		ev_buf_printf(b, ": %s\n", instance_text(g->ex[k].instance));
	}
	if (g->events > g->nex)
		ev_buf_printf(b, "    ... and %s more\n",
			      ev_commas(g->events - g->nex, tmp));
}

static void write_human(struct ev_schemareport *rp, struct rtype **v, size_t n,
			struct ev_buf *b)
{
	uint64_t unchecked = 0;
	size_t i, j;
	char tmp[32];

	for (i = 0; i < n; i++) {
		struct rtype *t = v[i];
		ev_buf_printf(b, "%s: ", type_name(t));
		put_count(b, t->events, "event", "events");
		if (t->name != NULL && !t->has_schemas) {
			ev_buf_puts(b, ", no schemas\n");
			unchecked += t->events;
		} else {
			ev_buf_printf(b, ", %s valid",
				      ev_commas(valid_of(t), tmp));
			ev_buf_printf(b, ", %s invalid\n",
				      ev_commas(t->invalid, tmp));
		}
		if (t->ng > 1)
			qsort(t->g, t->ng, sizeof(*t->g), cmp_group);
		for (j = 0; j < t->ng; j++)
			human_group(b, rp, &t->g[j]);
		if (t->other > 0) {
			ev_buf_puts(b, "  ");
			put_count(b, t->other, "event", "events");
			ev_buf_puts(b, ": other errors\n");
		}
	}
	put_count(b, rp->events, "event", "events");
	ev_buf_printf(b, " checked against %s: %s valid",
		      ev_schemadir_path(rp->d),
		      ev_commas(rp->events - rp->invalid, tmp));
	ev_buf_printf(b, ", %s invalid", ev_commas(rp->invalid, tmp));
	if (unchecked > 0) {
		ev_buf_puts(b, " (");
		put_count(b, unchecked, "event", "events");
		ev_buf_puts(b, " of types without schemas)");
	}
	ev_buf_putc(b, '\n');
}

static void json_str(struct ev_buf *b, const char *s)
{
	ev_json_put_str(b, s, strlen(s));
}

static void write_json(struct ev_schemareport *rp, struct rtype **v, size_t n,
		       struct ev_buf *b)
{
	uint64_t unchecked = 0;
	size_t i, j, k;

	for (i = 0; i < n; i++)
		if (v[i]->name != NULL && !v[i]->has_schemas)
			unchecked += v[i]->events;
	ev_buf_puts(b, "{\"schemas\":");
	json_str(b, ev_schemadir_path(rp->d));
	ev_buf_printf(b,
		      ",\"events\":%" PRIu64 ",\"valid\":%" PRIu64
		      ",\"invalid\":%" PRIu64 ",\"unchecked\":%" PRIu64
		      ",\"types\":[",
		      rp->events, rp->events - rp->invalid, rp->invalid,
		      unchecked);
	for (i = 0; i < n; i++) {
		struct rtype *t = v[i];
		if (i > 0)
			ev_buf_putc(b, ',');
		ev_buf_puts(b, "{\"type\":");
		if (t->name != NULL)
			ev_json_put_str(b, t->name, t->len);
		else
			ev_buf_puts(b, "null");
		ev_buf_printf(b,
			      ",\"schemas\":%s,\"events\":%" PRIu64
			      ",\"valid\":%" PRIu64 ",\"invalid\":%" PRIu64
			      ",\"errors\":[",
			      t->has_schemas ? "true" : "false", t->events,
			      valid_of(t), t->invalid);
		if (t->ng > 1)
			qsort(t->g, t->ng, sizeof(*t->g), cmp_group);
		for (j = 0; j < t->ng; j++) {
			struct group *g = &t->g[j];
			if (j > 0)
				ev_buf_putc(b, ',');
			ev_buf_puts(b, "{\"message\":");
			json_str(b, g->message);
			ev_buf_puts(b, ",\"schemaPath\":");
			json_str(b, g->schema_path);
			ev_buf_puts(b, ",\"keyword\":");
			json_str(b, g->keyword);
			ev_buf_printf(b,
				      ",\"events\":%" PRIu64 ",\"examples\":[",
				      g->events);
			for (k = 0; k < g->nex; k++) {
				struct example *e = &g->ex[k];
				if (k > 0)
					ev_buf_putc(b, ',');
				if (e->file == 0) {
					ev_buf_printf(b, "{\"offset\":%" PRIu64,
						      e->offset);
				} else {
					ev_buf_puts(b, "{\"file\":");
					json_str(b, rp->files[e->file - 1]);
					ev_buf_printf(b, ",\"line\":%" PRIu64,
						      e->line);
				}
				ev_buf_puts(b, ",\"instancePath\":");
				json_str(b, e->instance);
				ev_buf_putc(b, '}');
			}
			ev_buf_puts(b, "]}");
		}
		ev_buf_printf(b, "],\"otherErrors\":%" PRIu64 "}", t->other);
	}
	ev_buf_puts(b, "]}\n");
}

/* Text in XML: the five entities, and what XML 1.0 cannot hold (other
 * control characters, invalid UTF-8) as U+FFFD. */
static void xml_text(struct ev_buf *b, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	while (*p) {
		int n;
		switch (*p) {
		case '&':
			ev_buf_puts(b, "&amp;");
			p++;
			continue;
		case '<':
			ev_buf_puts(b, "&lt;");
			p++;
			continue;
		case '>':
			ev_buf_puts(b, "&gt;");
			p++;
			continue;
		case '"':
			ev_buf_puts(b, "&quot;");
			p++;
			continue;
		case '\'':
			ev_buf_puts(b, "&apos;");
			p++;
			continue;
		}
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
			ev_buf_puts(b, "\xEF\xBF\xBD");
			p++;
			continue;
		}
		n = *p < 0x80 ? 1 : ev_utf8_seq(p, p + strlen((const char *)p));
		if (n <= 0) {
			ev_buf_puts(b, "\xEF\xBF\xBD");
			p++;
			continue;
		}
		ev_buf_append(b, p, (size_t)n);
		p += n;
	}
}

/* The failure text of a type: a line per error and example. */
static void failure_text(struct ev_schemareport *rp, const struct rtype *t,
			 struct ev_buf *tx)
{
	size_t j;

	tx->len = 0;
	for (j = 0; j < t->ng; j++)
		human_group(tx, rp, &t->g[j]);
	if (t->other > 0) {
		ev_buf_puts(tx, "  ");
		put_count(tx, t->other, "event", "events");
		ev_buf_puts(tx, ": other errors\n");
	}
	ev_buf_putc(tx, '\0');
}

static void write_junit(struct ev_schemareport *rp, struct rtype **v, size_t n,
			struct ev_buf *b)
{
	struct ev_buf tx = {0};
	size_t i, failures = 0, skipped = 0;
	char name[64];

	for (i = 0; i < n; i++) {
		if (v[i]->invalid > 0)
			failures++;
		else if (v[i]->name != NULL && !v[i]->has_schemas)
			skipped++;
	}
	ev_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	ev_buf_printf(b,
		      "<testsuites name=\"evctl schema check\" tests=\"%zu\" "
		      "failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
		      n, failures, skipped);
	ev_buf_puts(b, "  <testsuite name=\"");
	xml_text(b, ev_schemadir_path(rp->d));
	ev_buf_printf(b,
		      "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		      "skipped=\"%zu\">\n",
		      n, failures, skipped);
	for (i = 0; i < n; i++) {
		struct rtype *t = v[i];
		if (t->ng > 1)
			qsort(t->g, t->ng, sizeof(*t->g), cmp_group);
		ev_buf_puts(b, "    <testcase classname=\"");
		xml_text(b, ev_schemadir_path(rp->d));
		ev_buf_puts(b, "\" name=\"");
		xml_text(b, type_name(t));
		ev_buf_puts(b, "\">\n");
		if (t->invalid > 0) {
			snprintf(name, sizeof(name), "%" PRIu64 " of %" PRIu64,
				 t->invalid, t->events);
			ev_buf_printf(b,
				      "      <failure type=\"schema\" "
				      "message=\"%s %s invalid\">",
				      name,
				      t->events == 1 ? "event" : "events");
			failure_text(rp, t, &tx);
			xml_text(b, (const char *)tx.p);
			ev_buf_puts(b, "</failure>\n");
		} else if (t->name != NULL && !t->has_schemas) {
			ev_buf_puts(
				b, "      <skipped message=\"no schemas\"/>\n");
		}
		ev_buf_printf(b,
			      "      <system-out>%" PRIu64 " %s</system-out>\n",
			      t->events, t->events == 1 ? "event" : "events");
		ev_buf_puts(b, "    </testcase>\n");
	}
	ev_buf_puts(b, "  </testsuite>\n</testsuites>\n");
	ev_buf_free(&tx);
}

/* A YAML double-quoted scalar (JSON's string syntax is one). */
static void yaml_str(struct ev_buf *b, const char *s)
{
	json_str(b, s);
}

static void write_tap(struct ev_schemareport *rp, struct rtype **v, size_t n,
		      struct ev_buf *b)
{
	struct ev_buf line = {0};
	size_t i, j, k;

	ev_buf_printf(b, "TAP version 13\n1..%zu\n", n);
	for (i = 0; i < n; i++) {
		struct rtype *t = v[i];
		/* a '#' in a description starts a directive: escape it */
		line.len = 0;
		for (const char *s = type_name(t); *s; s++) {
			if (*s == '#' || *s == '\\')
				ev_buf_putc(&line, '\\');
			ev_buf_putc(&line, *s);
		}
		ev_buf_putc(&line, '\0');
		if (t->invalid == 0) {
			ev_buf_printf(b, "ok %zu - %s: ", i + 1,
				      (const char *)line.p);
			put_count(b, t->events, "event", "events");
			if (t->name != NULL && !t->has_schemas)
				ev_buf_puts(b, " # SKIP no schemas");
			ev_buf_putc(b, '\n');
			continue;
		}
		ev_buf_printf(b, "not ok %zu - %s: %" PRIu64 " of ", i + 1,
			      (const char *)line.p, t->invalid);
		put_count(b, t->events, "event", "events");
		ev_buf_puts(b, " invalid\n  ---\n  errors:\n");
		if (t->ng > 1)
			qsort(t->g, t->ng, sizeof(*t->g), cmp_group);
		for (j = 0; j < t->ng; j++) {
			struct group *g = &t->g[j];
			ev_buf_puts(b, "    - message: ");
			yaml_str(b, g->message);
			ev_buf_puts(b, "\n      schemaPath: ");
			yaml_str(b, g->schema_path);
			ev_buf_printf(b, "\n      events: %" PRIu64 "\n",
				      g->events);
			if (g->nex > 0)
				ev_buf_puts(b, "      examples:\n");
			for (k = 0; k < g->nex; k++) {
				line.len = 0;
				put_where(&line, rp, &g->ex[k]);
				ev_buf_printf(&line, ": %s",
					      instance_text(g->ex[k].instance));
				ev_buf_putc(&line, '\0');
				ev_buf_puts(b, "        - ");
				yaml_str(b, (const char *)line.p);
				ev_buf_putc(b, '\n');
			}
		}
		if (t->other > 0)
			ev_buf_printf(b, "  otherErrors: %" PRIu64 "\n",
				      t->other);
		ev_buf_puts(b, "  ...\n");
	}
	ev_buf_free(&line);
}

int ev_schemareport_write(struct ev_schemareport *rp,
			  enum ev_schemareport_format fmt, struct ev_buf *out,
			  struct ev_error *err)
{
	struct rtype **v;
	size_t n;

	/* the types gain their schema flag when seen; the sort needs
	 * them all */
	v = sorted_types(rp, &n);
	if (v == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	switch (fmt) {
	case EV_SREPORT_JSON:
		write_json(rp, v, n, out);
		break;
	case EV_SREPORT_JUNIT:
		write_junit(rp, v, n, out);
		break;
	case EV_SREPORT_TAP:
		write_tap(rp, v, n, out);
		break;
	default:
		write_human(rp, v, n, out);
		break;
	}
	free(v);
	/* a failed append leaves the buffer short: say so */
	if (ev_buf_reserve(out, 1) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

/* ------------------------------------------------------------ lint */

int ev_schemadir_lint_write(const struct ev_schemadir_lint *l, int json,
			    struct ev_buf *out)
{
	size_t i, n = ev_schemadir_lint_count(l), types, files;
	const char *file, *msg;
	char tmp[32];

	ev_schemadir_lint_totals(l, &types, &files);
	if (json) {
		ev_buf_puts(out, "{\"schemas\":");
		json_str(out, ev_schemadir_lint_path(l));
		ev_buf_printf(out,
			      ",\"types\":%zu,\"files\":%zu,\"problems\":[",
			      types, files);
		for (i = 0; ev_schemadir_lint_problem(l, i, &file, &msg); i++) {
			if (i > 0)
				ev_buf_putc(out, ',');
			ev_buf_puts(out, "{\"file\":");
			json_str(out, file);
			ev_buf_puts(out, ",\"message\":");
			json_str(out, msg);
			ev_buf_putc(out, '}');
		}
		ev_buf_puts(out, "]}\n");
	} else {
		for (i = 0; ev_schemadir_lint_problem(l, i, &file, &msg); i++)
			ev_buf_printf(out, "%s\n", msg);
		ev_buf_printf(out, "%s: ", ev_schemadir_lint_path(l));
		put_count(out, types, "type", "types");
		ev_buf_puts(out, ", ");
		put_count(out, files, "schema file", "schema files");
		ev_buf_puts(out, ", ");
		if (n == 0)
			ev_buf_puts(out, "no problems\n");
		else
			ev_buf_printf(out, "%s %s\n", ev_commas(n, tmp),
				      ev_plural(n, "problem", "problems"));
	}
	return ev_buf_reserve(out, 1) == 0 ? 0 : EV_ERR;
}
