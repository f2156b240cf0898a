/*
 * upcast.c - struct ev_upcaster: upcasting events of older data schema
 * versions as they are read.  The spec format, the Lua steps and what
 * each operation does are in evlog-upcast(5); these files do not repeat
 * them.
 *
 * A set is loaded and checked whole, once (upcast_load.c): spec files
 * are compiled into operations on dotted paths, Lua files into
 * functions of one sandboxed state (luaval.c), both by upcast_parse.c.
 * Per event, the record's data and meta are opened only as deep as the
 * paths of its steps go: a light tree whose leaves are the record's own
 * bytes (upcast_tree.c), kept in an arena that is reused from event to
 * event, then written back into a record as evlog(5) stores it
 * (upcast_run.c).  That is the general path.  Most records take a
 * faster one: once the set is checked, each chain's declarative steps
 * from each version are compiled into a plan (upcast_plan.c), which
 * upcasts a record over its bytes and gives back to the general path
 * whatever it does not handle, with the same result byte for byte.
 *
 * This file holds what callers do per record: peek at it, apply the set
 * to it (a failure named by its step), take the records that come out;
 * and the counting of --check with its report.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luaval_int.h"
#include "upcast_int.h"

int ev_upcaster_has_chain(const struct ev_upcaster *u, const char *type,
			  size_t n)
{
	return ev_upcast_find_chain(u, type, n) != NULL;
}

int ev_upcaster_changes_envelope(const struct ev_upcaster *u)
{
	return u != NULL && u->lua != NULL; /* made for the first Lua step */
}

/* The schema of a record, read without decoding it: 1 when absent.
 * p is past its type (ev_event_peek_type()): two of its keys are read. */
static uint64_t peek_schema(const uint8_t *rec, size_t n, const uint8_t *p)
{
	const uint8_t *end = rec + n;
	struct ev_mp_item it, k;
	uint32_t i;

	if ((rec[0] & 0xf0) == 0x80) {
		it.n = rec[0] & 0x0f; /* most records */
	} else if (ev_mp_read(&rec, end, &it) != 0 || it.type != EV_MP_MAP) {
		return 1;
	}
	if (it.n < 2)
		return 1;
	for (i = 2; i < it.n; i++) {
		if (p < end && *p <= 0x7f) {
			k.v.u = *p++;
		} else if (ev_mp_read(&p, end, &k) != 0 ||
			   k.type != EV_MP_UINT) {
			return 1;
		}
		if (k.v.u > EV_K_SCHEMA)
			return 1;
		if (k.v.u == EV_K_SCHEMA) {
			if (p < end && *p <= 0x7f)
				return *p ? *p : 1;
			return ev_mp_read(&p, end, &k) == 0 &&
					       k.type == EV_MP_UINT && k.v.u
				       ? k.v.u
				       : 1;
		}
		if (ev_upcast_skip(&p, end) != 0)
			return 1;
	}
	return 1;
}

int ev_upcaster_peek(const struct ev_upcaster *u, const uint8_t *rec, size_t n,
		     struct ev_upcast_hint *h)
{
	struct ev_str type;
	const struct chain *c;

	h->chain = NULL;
	h->type = NULL;
	if (u->counting)
		return 1;
	if (ev_upcast_peek_type(rec, n, &type) != 0)
		return 1; /* the decode says what is wrong */
	c = ev_upcast_find_chain(u, type.p, type.n);
	h->chain = c;
	h->type = type.p;
	return c != NULL &&
	       peek_schema(rec, n, (const uint8_t *)type.p + type.n) <= c->max;
}

void ev_upcaster_hint(struct ev_upcaster *u, const struct ev_upcast_hint *h)
{
	/* the apply that follows need not look the chain up again */
	u->hint = h->chain;
	u->hint_type = h->type;
}

int ev_upcaster_wants(struct ev_upcaster *u, const uint8_t *rec, size_t n)
{
	struct ev_upcast_hint h;
	int r = ev_upcaster_peek(u, rec, n, &h);

	ev_upcaster_hint(u, &h);
	return r;
}

/* ------------------------------------------------------------ counting */

static struct cslot *count_slot(struct ev_upcaster *u, const struct ev_str *t,
				uint64_t version)
{
	size_t i, j;

	if (2 * (u->cs_used + 1) > u->cs_cap) {
		size_t cap = u->cs_cap ? 2 * u->cs_cap : 64;
		struct cslot *nv = calloc(cap, sizeof(*nv));
		if (nv == NULL)
			return NULL;
		for (j = 0; j < u->cs_cap; j++) {
			struct cslot *s = &u->cs[j];
			if (s->type == NULL)
				continue;
			i = (ev_hash64(s->type, s->type_n) ^ s->version) &
			    (cap - 1);
			while (nv[i].type != NULL)
				i = (i + 1) & (cap - 1);
			nv[i] = *s;
		}
		free(u->cs);
		u->cs = nv;
		u->cs_cap = cap;
	}
	i = (ev_hash64(t->p, t->n) ^ version) & (u->cs_cap - 1);
	while (u->cs[i].type != NULL) {
		if (u->cs[i].version == version && u->cs[i].type_n == t->n &&
		    memcmp(u->cs[i].type, t->p, t->n) == 0)
			return &u->cs[i];
		i = (i + 1) & (u->cs_cap - 1);
	}
	u->cs[i].type = malloc(t->n + 1);
	if (u->cs[i].type == NULL)
		return NULL;
	memcpy(u->cs[i].type, t->p, t->n);
	u->cs[i].type[t->n] = '\0';
	u->cs[i].type_n = t->n;
	u->cs[i].version = version;
	u->cs_used++;
	return &u->cs[i];
}

void ev_upcaster_set_counting(struct ev_upcaster *u, int on)
{
	u->counting = on;
}

void ev_upcaster_set_stop(struct ev_upcaster *u,
			  const volatile sig_atomic_t *stop)
{
	u->stop = stop;
	if (u->lua != NULL)
		ev_lua_set_stop(u->lua, stop);
}

static int row_cmp(const void *a, const void *b)
{
	const struct ev_upcast_count *x = a, *y = b;
	int c = strcmp(x->type, y->type);

	if (c != 0)
		return c;
	return (x->version > y->version) - (x->version < y->version);
}

int ev_upcaster_counts(struct ev_upcaster *u, const struct ev_upcast_count **v,
		       size_t *n)
{
	size_t i, k = 0;

	free(u->rows);
	u->rows = calloc(u->cs_used ? u->cs_used : 1, sizeof(*u->rows));
	if (u->rows == NULL)
		return EV_ERR;
	for (i = 0; i < u->cs_cap; i++) {
		const struct cslot *s = &u->cs[i];
		if (s->type == NULL)
			continue;
		u->rows[k].type = s->type;
		u->rows[k].version = s->version;
		u->rows[k].upcast = s->upcast;
		u->rows[k].unchanged = s->unchanged;
		u->rows[k].failed = s->failed;
		k++;
	}
	qsort(u->rows, k, sizeof(*u->rows), row_cmp);
	*v = u->rows;
	*n = k;
	return 0;
}

const struct ev_upcast_failure *
ev_upcaster_failures(const struct ev_upcaster *u, size_t *kept, uint64_t *total)
{
	*kept = u->nkept;
	*total = u->nfailed;
	return u->kept;
}

const struct ev_upcast_failure *
ev_upcaster_last_failure(const struct ev_upcaster *u)
{
	return &u->last;
}

static int failure_line(struct ev_buf *out, const struct ev_upcast_failure *f)
{
	char at[EV_PLACE_MAX];

	return ev_buf_printf(out,
			     "offset %s: %s version %" PRIu64 ": step %s: %s",
			     ev_place_str(at, f->has_partition, f->partition,
					  f->offset),
			     f->type, f->version, f->step, f->reason);
}

int ev_upcaster_report(struct ev_upcaster *u, struct ev_buf *out)
{
	const struct ev_upcast_count *v;
	static const char *const head[] = {"TYPE", "VERSION", "UPCAST",
					   "UNCHANGED", "FAILED"};
	char num[5][32];
	size_t n, i, j, w[5];
	int r = 0;

	if (ev_upcaster_counts(u, &v, &n) != 0)
		return EV_ERR;
	for (j = 0; j < 5; j++)
		w[j] = strlen(head[j]);
	for (i = 0; i < n; i++) {
		if (strlen(v[i].type) > w[0])
			w[0] = strlen(v[i].type);
		snprintf(num[0], 32, "%" PRIu64, v[i].version);
		if (strlen(num[0]) > w[1])
			w[1] = strlen(num[0]);
		for (j = 2; j < 5; j++) {
			uint64_t x = j == 2   ? v[i].upcast
				     : j == 3 ? v[i].unchanged
					      : v[i].failed;
			if (strlen(ev_commas(x, num[j])) > w[j])
				w[j] = strlen(num[j]);
		}
	}
	for (i = 0; n > 0 && i <= n; i++) {
		const char *cell[5];
		if (i == 0) {
			for (j = 0; j < 5; j++)
				cell[j] = head[j];
		} else {
			const struct ev_upcast_count *c = &v[i - 1];
			snprintf(num[1], 32, "%" PRIu64, c->version);
			ev_commas(c->upcast, num[2]);
			ev_commas(c->unchanged, num[3]);
			ev_commas(c->failed, num[4]);
			cell[0] = c->type;
			for (j = 1; j < 5; j++)
				cell[j] = num[j];
		}
		r |= ev_buf_printf(out, "%-*s  %*s  %*s  %*s  %*s\n", (int)w[0],
				   cell[0], (int)w[1], cell[1], (int)w[2],
				   cell[2], (int)w[3], cell[3], (int)w[4],
				   cell[4]);
	}
	for (i = 0; i < u->nkept; i++) {
		r |= failure_line(out, &u->kept[i]);
		r |= ev_buf_putc(out, '\n');
	}
	if (u->nfailed > u->nkept)
		r |= ev_buf_printf(out, "... and %" PRIu64 " more %s\n",
				   u->nfailed - u->nkept,
				   ev_plural(u->nfailed - u->nkept, "failure",
					     "failures"));
	return r ? EV_ERR : 0;
}

/* ------------------------------------------------------------ apply */

static void step_name(const struct step *st, const struct op *op, char *out,
		      size_t n)
{
	if (st == NULL)
		snprintf(out, n, "none");
	else if (st->is_lua)
		snprintf(out, n, "%s", st->file);
	else
		snprintf(out, n, "%s:%u", st->file, op ? op->line : st->line);
}

/* A failed Lua step's line goes into the step's name, so that the file
 * is named once and whole.  The reason that is left. */
static const char *lua_where(const struct step *st, const char *why, char *step,
			     size_t n)
{
	const char *line, *rest;
	size_t nline;

	if (st == NULL || !st->is_lua ||
	    (rest = ev_lua_split(st->file, why, &line, &nline)) == NULL)
		return why;
	snprintf(step, n, "%s:%.*s", st->file, (int)nline, line);
	return rest;
}

int ev_upcaster_damaged(const struct ev_upcaster *u)
{
	return u->damaged;
}

int ev_upcaster_counting(const struct ev_upcaster *u)
{
	return u->counting;
}

int ev_upcaster_apply(struct ev_upcaster *u, const uint8_t *rec, size_t n,
		      uint64_t offset, int *changed, struct ev_error *err)
{
	struct ev_rec at;

	memset(&at, 0, sizeof(at));
	at.offset = offset;
	return ev_upcaster_apply_rec(u, rec, n, &at, changed, err);
}

int ev_upcaster_apply_rec(struct ev_upcaster *u, const uint8_t *rec, size_t n,
			  const struct ev_rec *at, int *changed,
			  struct ev_error *err)
{
	struct ev_upcast_failure *f = &u->last;
	struct ev_event dec;
	struct cslot *cs = NULL;
	const struct chain *c;
	char place[EV_PLACE_MAX];
	struct wev w;
	int r;

	*changed = 0;
	ev_arena_reset(&u->arena);
	u->out.len = 0;
	u->nrec = 0;
	u->same = NULL;
	u->damaged = 0;
	u->why[0] = '\0';
	/* the fast path, when the set has a plan for the record */
	r = ev_upcast_plan_apply(u, rec, n, changed);
	if (r != EV_UPCAST_GIVE_UP) {
		u->hint_type = NULL;
		u->plan_runs++;
		return r;
	}
	if (!u->plans_off && !u->counting) {
		u->plan_falls++;
		ev_arena_reset(&u->arena);
		u->out.len = 0;
		u->nrec = 0;
		u->same = NULL;
		*changed = 0;
	}
	if ((r = ev_upcast_wev_parse(u, rec, n, &w)) != 0) {
		if (r == EV_ERR)
			return ev_seterr(err, EV_ERR, "out of memory");
		u->damaged = 1;
		if (ev_event_decode(rec, n, &dec, err) == 0)
			ev_seterr(err, EV_EDATA, "invalid record");
		return EV_EDATA;
	}
	if (u->counting && (cs = count_slot(u, &w.type, w.schema)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	/* the chain ev_upcaster_wants() found, if it is this type's */
	c = u->hint_type == w.type.p && u->hint != NULL &&
			    u->hint->type_n == w.type.n &&
			    memcmp(u->hint->type, w.type.p, w.type.n) == 0
		    ? u->hint
		    : ev_upcast_find_chain(u, w.type.p, w.type.n);
	u->hint_type = NULL;
	if (c == NULL || w.schema > c->max) {
		u->same = rec;
		u->same_n = n;
		u->nrec = 1;
		if (cs != NULL)
			cs->unchanged++;
		return 1;
	}
	u->at = *at;
	u->at.p = NULL;
	u->at.n = 0;
	u->at.kafka_error = NULL;
	u->f_step = NULL;
	u->f_op = NULL;
	u->f_type = w.type;
	u->f_version = w.schema;
	u->run_c = c;
	u->run_type = w.type;
	r = ev_upcast_run(u, &w, NULL, 0);
	if (r == EV_ERR)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (r == EV_EAGAIN) {
		u->nrec = 0;
		return ev_seterr(err, EV_EAGAIN, "interrupted");
	}
	if (r != 0) {
		memset(f, 0, sizeof(*f));
		f->offset = at->kafka ? (uint64_t)at->koffset : at->offset;
		f->has_partition = at->kafka;
		f->partition = at->kafka ? at->partition : 0;
		ev_place_str(place, f->has_partition, f->partition, f->offset);
		if (u->f_step != NULL) {
			snprintf(f->type, sizeof(f->type), "%s",
				 u->f_step->chain->type);
			f->version = u->f_step->from;
		} else {
			snprintf(f->type, sizeof(f->type), "%.*s",
				 (int)u->f_type.n, u->f_type.p);
			f->version = u->f_version;
		}
		step_name(u->f_step, u->f_op, f->step, sizeof(f->step));
		snprintf(f->reason, sizeof(f->reason), "%s",
			 lua_where(u->f_step, u->why, f->step,
				   sizeof(f->step)));
		if (cs != NULL) {
			cs->failed++;
			if (u->nkept < EV_UPCAST_FAILURES_KEPT)
				u->kept[u->nkept++] = *f;
			u->nfailed++;
		}
		u->nrec = 0;
		if (u->f_step == NULL)
			return ev_seterr(err, EV_EDATA,
					 "offset %s: %s version %" PRIu64
					 ": %s",
					 place, f->type, f->version, f->reason);
		return ev_seterr(err, EV_EDATA,
				 "offset %s: %s version %" PRIu64
				 ": step %s: %s",
				 place, f->type, f->version, f->step,
				 f->reason);
	}
	if (cs != NULL)
		cs->upcast++;
	*changed = 1;
	return (int)u->nrec;
}

struct ev_upcaster *ev_upcaster_worker(const struct ev_upcaster *u)
{
	struct ev_upcaster *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	/* the set, read only; what one apply uses, its own */
	w->chains = u->chains;
	w->nchains = u->nchains;
	w->tab = u->tab;
	w->tab_cap = u->tab_cap;
	w->qtab = u->qtab;
	w->qmask = u->qmask;
	w->nsteps = u->nsteps;
	w->plans_off = u->plans_off;
	w->pkeys = u->pkeys;
	w->npkeys = u->npkeys;
	w->plens = u->plens;
	memcpy(w->pfirst, u->pfirst, sizeof(w->pfirst));
	memcpy(w->plen1, u->plen1, sizeof(w->plen1));
	w->pnext = u->pnext;
	w->borrowed = 1;
	w->lua_set = u->lua != NULL;
	return w;
}

int ev_upcaster_append(struct ev_upcaster *u, struct ev_buf *out,
		       const uint8_t *rec, size_t n)
{
	struct ev_buf keep = u->out;
	size_t start = out->len;
	struct ev_str type;
	const struct chain *c;
	int changed = 0, r;

	u->hint_type = NULL;
	if (u->lua_set) {
		/* a chain of Lua steps has no plan: the caller's */
		if (ev_upcast_peek_type(rec, n, &type) != 0)
			return EV_UPCAST_GIVE_UP;
		c = ev_upcast_find_chain(u, type.p, type.n);
		if (c != NULL && (c->plans == NULL || c->no_plan))
			return EV_UPCAST_GIVE_UP;
		u->hint = c;
		u->hint_type = type.p;
	}
	ev_arena_reset(&u->arena);
	u->out = *out;
	u->nrec = 0;
	u->same = NULL;
	r = ev_upcast_plan_apply(u, rec, n, &changed);
	u->hint_type = NULL;
	if (r == EV_UPCAST_GIVE_UP)
		u->out.len = start;
	*out = u->out;
	u->out = keep;
	if (r == 1 && !changed)
		return EV_UPCAST_AS_IS;
	return r;
}

int ev_upcaster_prefix(struct ev_upcaster *u, struct ev_buf *out,
		       const uint8_t *rec, size_t n,
		       const struct ev_upcast_hint *h)
{
	struct ev_buf keep = u->out;
	size_t start = out->len;
	int changed = 0, r;

	ev_arena_reset(&u->arena);
	ev_upcaster_hint(u, h);
	u->out = *out;
	u->nrec = 0;
	u->same = NULL;
	u->want_part = 1;
	r = ev_upcast_plan_apply(u, rec, n, &changed);
	u->want_part = 0;
	u->hint_type = NULL;
	/* 1 and changed: a plan of a part ran (a whole one is not taken) */
	if (r != 1 || !changed) {
		u->out.len = start;
		r = 0;
	}
	*out = u->out;
	u->out = keep;
	return r;
}

void ev_upcaster_record(const struct ev_upcaster *u, int i, const uint8_t **rec,
			size_t *n)
{
	size_t start;

	if (u->same != NULL) {
		*rec = u->same;
		*n = u->same_n;
		return;
	}
	start = i == 0 ? 0 : u->ends[i - 1];
	*rec = u->out.p + start;
	*n = u->ends[i] - start;
}
