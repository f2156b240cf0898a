/*
 * upcast_run.c - the general path of upcasting, one event at a time:
 * its record read into a tree (struct wev, upcast_tree.c), run through
 * the steps of its chain (operations, split, Lua steps, and on through
 * the chain of a new type), and each event that comes out written back
 * as a record onto u->out.  upcast.c runs it on what the plans
 * (upcast_plan.c) give back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "luaval_int.h"
#include "upcast_int.h"

#define MAX_PARTS 65536 /* records one event may become */

/* ------------------------------------------------------------ events */

static void wev_root(struct wev *w, struct ent *e)
{
	w->root.map = 1;
	w->root.e = e;
	w->root.n = 2;
	w->root.cap = 2;
	e[0].k = (const uint8_t *)"data";
	e[0].kn = 4;
	e[1].k = (const uint8_t *)"meta";
	e[1].kn = 4;
	e[0].v.node = e[1].v.node = NULL;
	e[0].raw = e[1].raw = NULL;
}

/* The record rec into w, data and meta opened a level (one pass over
 * them).  0, or -1 when it is not a record (ev_event_decode() says
 * why). */
int ev_upcast_wev_parse(struct ev_upcaster *u, const uint8_t *rec, size_t n,
			struct wev *w)
{
	const uint8_t *p = rec, *end = rec + n, *v;
	struct ev_mp_item it, kv;
	struct ent *e = ev_upcast_alloc(u, 2 * sizeof(*e));
	struct ev_str *str;
	uint64_t last = 0, k;
	uint32_t i;

	if (e == NULL)
		return ev_upcast_oom(u);
	memset(w, 0, sizeof(*w));
	w->time = EV_TIME_NONE;
	w->schema = 1;
	w->prev = EV_NO_PREV;
	wev_root(w, e);
	e[0].gone = e[1].gone = 1;
	if (n == 0 || rec[0] < 0x83 || rec[0] > 0x8a ||
	    ev_mp_read(&p, end, &it) != 0)
		return -1;
	/* the common forms read inline, as upcast_plan.c's fparse() does;
	 * the others by ev_mp_read() */
	for (i = 0; i < it.n; i++) {
		if (p < end && *p <= 0x7f) {
			k = *p++;
		} else {
			if (ev_mp_read(&p, end, &kv) != 0 ||
			    kv.type != EV_MP_UINT)
				return -1;
			k = kv.v.u;
		}
		if (k <= last || k > EV_K_MAX)
			return -1;
		last = k;
		switch (k) {
		case EV_K_ID:
		case EV_K_TYPE:
		case EV_K_STREAM:
		case EV_K_KEY:
			str = k == EV_K_ID	 ? &w->id
			      : k == EV_K_TYPE	 ? &w->type
			      : k == EV_K_STREAM ? &w->stream
						 : &w->key;
			if (p < end && (*p & 0xe0) == 0xa0 &&
			    (size_t)(end - p) > (size_t)(*p & 0x1f)) {
				kv.n = *p & 0x1f;
				kv.p = p + 1;
				p += 1 + kv.n;
			} else if (ev_mp_read(&p, end, &kv) != 0 ||
				   kv.type != EV_MP_STR) {
				return -1;
			}
			if (kv.n == 0)
				return -1;
			str->p = (const char *)kv.p;
			str->n = kv.n;
			break;
		case EV_K_TIME:
			v = p;
			if (end - p >= 10 && p[0] == 0xd7 && p[1] == 0xff) {
				/* ev_mp_time_decode() of a timestamp 64 */
				uint64_t tw = ev_rbe64(p + 2);
				if ((tw >> 34) > 999999999 ||
				    ev_time_from_sec(
					    (int64_t)(tw & ((1ull << 34) - 1)),
					    (long)(tw >> 34), &w->time) != 0)
					return -1;
				p += 10;
			} else if (ev_mp_read(&p, end, &kv) != 0 ||
				   ev_mp_time_decode(&kv, &w->time) != 0) {
				return -1;
			}
			w->time_raw = v;
			w->time_raw_n = (size_t)(p - v);
			break;
		case EV_K_VERSION:
		case EV_K_SCHEMA:
		case EV_K_PREV:
			if (p < end && *p <= 0x7f) {
				kv.v.u = *p++;
			} else if (ev_mp_read(&p, end, &kv) != 0 ||
				   kv.type != EV_MP_UINT) {
				return -1;
			}
			if (k != EV_K_PREV && kv.v.u == 0)
				return -1;
			if (k == EV_K_VERSION)
				w->version = kv.v.u;
			else if (k == EV_K_SCHEMA)
				w->schema = kv.v.u;
			else
				w->prev = kv.v.u;
			break;
		case EV_K_DATA:
		case EV_K_META:
			e = &w->root.e[k == EV_K_META];
			e->gone = 0;
			if (p < end &&
			    ((*p & 0xf0) == 0x80 || *p == 0xde || *p == 0xdf)) {
				if (ev_upcast_expand_at(u, &p, end, &e->v) != 0)
					return u->why[0] == 'o' ? EV_ERR : -1;
				break;
			}
			if (k == EV_K_META)
				return -1;
			if (p < end &&
			    (*p == 0xc4 || *p == 0xc5 || *p == 0xc6)) {
				if (ev_mp_read(&p, end, &kv) != 0)
					return -1;
				e->v.p = kv.p;
				e->v.n = kv.n;
				w->data_bin = 1;
				break;
			}
			v = p;
			if (ev_mp_skip_fast(&p, end) != 0)
				return -1;
			e->v.p = v;
			e->v.n = (size_t)(p - v);
			break;
		}
	}
	if (w->type.p == NULL || w->id.p == NULL || w->time == EV_TIME_NONE ||
	    p != end)
		return -1;
	return 0;
}

/* The data (or meta) of w as bytes: in buf when it was changed. */
static int wev_part(struct ev_upcaster *u, struct wev *w, int k,
		    struct ev_buf *buf, const uint8_t **p, size_t *n)
{
	struct ent *e = &w->root.e[k];
	int r;

	*p = NULL;
	*n = 0;
	if (e->gone)
		return 0;
	if (e->v.node == NULL || !e->v.node->dirty) {
		*p = e->v.p;
		*n = e->v.n;
		return 0;
	}
	buf->len = 0;
	if ((r = ev_upcast_ser(u, buf, &e->v, 2)) != 0)
		return r;
	*p = buf->p;
	*n = buf->len;
	return 0;
}

/* w as a decoded event (data and meta in u's buffers). */
static int wev_event(struct ev_upcaster *u, struct wev *w, struct ev_event *ev)
{
	int r;

	memset(ev, 0, sizeof(*ev));
	/* on a Kafka log, event.offset and event.partition the record's */
	ev_event_place(ev, &u->at);
	ev->id = w->id;
	ev->type = w->type;
	ev->stream = w->stream;
	ev->key = w->key;
	ev->time = w->time;
	ev->version = w->version;
	ev->schema = w->schema;
	ev->prev = w->prev;
	if ((r = wev_part(u, w, 0, &u->dbuf, &ev->data, &ev->data_len)) != 0 ||
	    (r = wev_part(u, w, 1, &u->mbuf, &ev->meta, &ev->meta_len)) != 0)
		return r;
	ev->data_is_binary = ev->data != NULL && w->data_bin;
	return 0;
}

static void head_of(const struct wev *w, struct ev_upcast_head *h)
{
	h->id = &w->id;
	h->type = &w->type;
	h->stream = w->stream.p != NULL ? &w->stream : NULL;
	h->key = w->key.p != NULL ? &w->key : NULL;
	h->version = w->version;
	h->schema = w->schema;
	h->time_raw = w->time_raw;
	h->time_raw_n = w->time_raw_n;
	h->time = w->time;
}

/* w as a record (evlog(5) RECORDS), onto u->out. */
static int emit(struct ev_upcaster *u, struct wev *w)
{
	struct ent *d = &w->root.e[0], *m = &w->root.e[1];
	struct ev_upcast_head h;
	size_t start = u->out.len, at;
	unsigned count = 3;
	uint8_t *o;
	int r;

	if (u->nrec >= MAX_PARTS)
		return ev_upcast_fail(u,
				      "the event becomes more than %d events",
				      MAX_PARTS);
	count += (w->stream.p != NULL) + (w->version != 0) + (w->schema > 1) +
		 (w->key.p != NULL) + !d->gone + !m->gone +
		 (w->prev != EV_NO_PREV);
	head_of(w, &h);
	if (ev_buf_reserve(&u->out, EV_UPCAST_HEAD_NEED(&h)) != 0)
		return ev_upcast_oom(u);
	o = ev_upcast_put_head(u->out.p + start, count, &h);
	if (!d->gone) {
		*o++ = EV_K_DATA;
		if (w->data_bin)
			o = ev_mp_bin_hdr(o, d->v.n);
		u->out.len = (size_t)(o - u->out.p);
		if ((r = ev_upcast_ser(u, &u->out, &d->v, 2)) != 0)
			return r;
		o = u->out.p + u->out.len;
	}
	u->out.len = (size_t)(o - u->out.p);
	if (ev_buf_reserve(&u->out, 12) != 0)
		return ev_upcast_oom(u);
	o = u->out.p + u->out.len;
	if (!m->gone) {
		*o++ = EV_K_META;
		at = u->out.len = (size_t)(o - u->out.p);
		if ((r = ev_upcast_ser(u, &u->out, &m->v, 2)) != 0)
			return r;
		if (!((u->out.p[at] & 0xf0) == 0x80 || u->out.p[at] == 0xde ||
		      u->out.p[at] == 0xdf))
			return ev_upcast_fail(u, "meta is %s, not an object",
					      ev_upcast_kind_name(&m->v));
		if (ev_buf_reserve(&u->out, 10) != 0)
			return ev_upcast_oom(u);
		o = u->out.p + u->out.len;
	}
	if (w->prev != EV_NO_PREV) {
		*o++ = EV_K_PREV;
		o = ev_mp_uint(o, w->prev);
	}
	if ((r = ev_upcast_push_end(u, o, start)) < 0)
		return ev_upcast_oom(u);
	if (r > 0)
		return ev_upcast_fail(
			u,
			"the event is %zu bytes encoded, over the "
			"limit of %u bytes",
			(size_t)(o - u->out.p) - start, EV_MAX_RECORD);
	return 0;
}

/* A part of w: the same event, its data and meta as bytes of their own,
 * id ID:i. */
static int part_of(struct ev_upcaster *u, const struct wev *w, const uint8_t *d,
		   size_t dn, const uint8_t *m, size_t mn, size_t i,
		   struct wev *pt)
{
	struct ent *e = ev_upcast_alloc(u, 2 * sizeof(*e));
	char *id;
	int n;

	if (e == NULL)
		return ev_upcast_oom(u);
	*pt = *w;
	wev_root(pt, e);
	e[0].v.p = d;
	e[0].v.n = dn;
	e[0].gone = d == NULL;
	e[1].v.p = m;
	e[1].v.n = mn;
	e[1].gone = m == NULL;
	id = ev_upcast_alloc(u, w->id.n + 24);
	if (id == NULL)
		return ev_upcast_oom(u);
	n = snprintf(id, w->id.n + 24, "%.*s:%zu", (int)w->id.n, w->id.p,
		     i + 1);
	pt->id.p = id;
	pt->id.n = (size_t)n;
	return 0;
}

static int split(struct ev_upcaster *u, struct wev *w, const struct step *st,
		 size_t k)
{
	const struct op *op = &st->ops[k];
	const uint8_t *d, *m, *p, *end;
	struct ev_mp_item it;
	struct val *vp, elem;
	struct wev pt;
	size_t dn, mn, i;
	struct node *nd;
	long at;
	int r, map;

	if ((r = ev_upcast_get_path(u, w, &op->a, 0, &vp)) < 0)
		return r;
	if (r == 0)
		return ev_upcast_fail(u, "%s: no such field to split",
				      op->a.text);
	if (!ev_upcast_is_container(vp, &map) || map)
		return ev_upcast_fail(u, "%s is %s, not an array", op->a.text,
				      ev_upcast_kind_name(vp));
	/* every part starts from the same bytes */
	if ((r = wev_part(u, w, 0, &u->dbuf, &d, &dn)) != 0 ||
	    (d != NULL && (d = ev_upcast_dup(u, d, dn)) == NULL) ||
	    (r = wev_part(u, w, 1, &u->mbuf, &m, &mn)) != 0 ||
	    (m != NULL && (m = ev_upcast_dup(u, m, mn)) == NULL))
		return r ? r : ev_upcast_oom(u);
	if ((r = part_of(u, w, d, dn, m, mn, 0, &pt)) != 0 ||
	    (r = ev_upcast_get_path(u, &pt, &op->a, 0, &vp)) < 0)
		return r;
	p = vp->p;
	end = vp->p + vp->n;
	if (ev_mp_read(&p, end, &it) != 0)
		return ev_upcast_fail(u, "malformed value");
	for (i = 0; i < it.n; i++) {
		elem.p = p;
		elem.node = NULL;
		if (ev_mp_skip_fast(&p, end) != 0)
			return ev_upcast_fail(u, "malformed value");
		elem.n = (size_t)(p - elem.p);
		if ((r = part_of(u, w, d, dn, m, mn, i, &pt)) != 0)
			return r;
		if (op->b.n > 0) {
			if ((r = ev_upcast_remove_path(u, &pt, &op->a)) != 0 ||
			    (r = ev_upcast_set_path(u, &pt, &op->b, &elem)) !=
				    0)
				return r;
		} else if ((r = ev_upcast_walk(u, &pt, &op->a, 0, &nd, &at)) <
				   0 ||
			   (r = ev_upcast_set_path(u, &pt, &op->a, &elem)) !=
				   0) {
			return r;
		}
		if ((r = ev_upcast_run(u, &pt, st, k + 1)) != 0)
			return r;
	}
	return 0;
}

/* A Lua step: w goes in as its table, 0..n events come out. */
struct lua_call {
	struct ev_upcaster *u;
	const struct step *st;
	struct ev_event ev;
	struct wev *res;
	size_t nres, cap;
	int list;
};

/* A string of the event as it went in stays where it is; any other is
 * copied into the arena (Lua's are gone after the call). */
static void keep_str(const char **s, size_t n, const struct ev_str *in)
{
	if (*s != NULL && in->p != NULL && n == in->n &&
	    memcmp(*s, in->p, n) == 0)
		*s = in->p;
}

static const char *arena_str(struct lua_call *c, const char *s, size_t n,
			     const struct ev_str *in)
{
	return s == NULL || s == in->p ? s : ev_upcast_dup(c->u, s, n);
}

/* The strings of f that are not the event's own (keep_str()), which
 * were checked when it was written, are identifiers: no control
 * character, UTF-8. */
static void check_strs(lua_State *L, const struct ev_event *in,
		       const struct ev_fields *f)
{
	struct ev_fields g = *f;

	if (g.type == in->type.p)
		g.type_n = 0;
	if (g.stream == in->stream.p) {
		g.stream = NULL;
		g.stream_n = 0;
	}
	if (g.key == in->key.p) {
		g.key = NULL;
		g.key_n = 0;
	}
	f = &g;
	if (ev_has_control(f->type, f->type_n) ||
	    ev_has_control(f->stream, f->stream_n) ||
	    ev_has_control(f->key, f->key_n))
		luaL_error(L, "the event's %s has a control character",
			   ev_has_control(f->type, f->type_n)	    ? "type"
			   : ev_has_control(f->stream, f->stream_n) ? "stream"
								    : "key");
	if (ev_utf8_valid((const uint8_t *)f->type, f->type_n) != f->type_n ||
	    (f->stream && ev_utf8_valid((const uint8_t *)f->stream,
					f->stream_n) != f->stream_n) ||
	    (f->key &&
	     ev_utf8_valid((const uint8_t *)f->key, f->key_n) != f->key_n))
		luaL_error(L, "the event's type, stream or key is not UTF-8");
}

static void add_result(struct ev_lua *l, struct lua_call *c, int idx)
{
	struct ev_upcaster *u = c->u;
	lua_State *L = ev_lua_state(l);
	struct ev_fields f;
	struct wev *w;
	struct ent *e;

	ev_lua_to_fields(l, idx, &f);
	/* what is as it came keeps its place (not copied, and the type's
	 * chain is found by it) */
	keep_str(&f.type, f.type_n, &c->ev.type);
	keep_str(&f.stream, f.stream_n, &c->ev.stream);
	keep_str(&f.key, f.key_n, &c->ev.key);
	check_strs(L, &c->ev, &f);
	if (c->nres >= MAX_PARTS)
		luaL_error(L, "returned more than %d events", MAX_PARTS);
	if (c->nres == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		struct wev *nv = ev_upcast_alloc(u, cap * sizeof(*nv));
		if (nv == NULL)
			luaL_error(L, "out of memory");
		if (c->nres)
			memcpy(nv, c->res, c->nres * sizeof(*nv));
		c->res = nv;
		c->cap = cap;
	}
	w = &c->res[c->nres];
	memset(w, 0, sizeof(*w));
	e = ev_upcast_alloc(u, 2 * sizeof(*e));
	if (e == NULL)
		luaL_error(L, "out of memory");
	wev_root(w, e);
	w->type.p = arena_str(c, f.type, f.type_n, &c->ev.type);
	w->type.n = f.type_n;
	w->stream.p = arena_str(c, f.stream, f.stream_n, &c->ev.stream);
	w->stream.n = f.stream_n;
	w->key.p = arena_str(c, f.key, f.key_n, &c->ev.key);
	w->key.n = f.key_n;
	w->time = f.time;
	w->version = f.version;
	e[0].gone = f.data == NULL;
	e[0].v.p = f.data ? ev_upcast_dup(u, f.data, f.data_n) : NULL;
	e[0].v.n = f.data_n;
	w->data_bin = f.data_bin;
	e[1].gone = f.meta == NULL;
	e[1].v.p = f.meta ? ev_upcast_dup(u, f.meta, f.meta_n) : NULL;
	e[1].v.n = f.meta_n;
	if (w->type.p == NULL || (f.stream && !w->stream.p) ||
	    (f.key && !w->key.p) || (f.data && !e[0].v.p) ||
	    (f.meta && !e[1].v.p))
		luaL_error(L, "out of memory");
	c->nres++;
}

static int lua_body(struct ev_lua *l, void *vctx)
{
	struct lua_call *c = vctx;
	lua_State *L = ev_lua_state(l);
	lua_Integer n, i;

	lua_rawgeti(L, LUA_REGISTRYINDEX, c->st->lua_ref);
	ev_lua_push_event(l, &c->ev);
	lua_call(L, 1, 1);
	if (lua_isnil(L, -1))
		return 0;
	if (lua_type(L, -1) != LUA_TTABLE)
		luaL_error(L,
			   "returned a %s value, not an event, a list of "
			   "events or nil",
			   luaL_typename(L, -1));
	c->list = ev_lua_is_list(l, -1);
	if (!c->list) {
		add_result(l, c, -1);
		return 0;
	}
	n = (lua_Integer)lua_rawlen(L, -1);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		if (lua_type(L, -1) != LUA_TTABLE)
			luaL_error(L,
				   "returned a list whose element %I is a "
				   "%s value, not an event",
				   i, luaL_typename(L, -1));
		add_result(l, c, -1);
		lua_pop(L, 1);
	}
	return 0;
}

static int run_lua(struct ev_upcaster *u, struct wev *w, const struct step *st)
{
	struct lua_call c;
	struct ev_error e2;
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	c.u = u;
	c.st = st;
	if ((r = wev_event(u, w, &c.ev)) != 0)
		return r;
	if ((r = ev_lua_protected(u->lua, lua_body, &c, &e2)) != 0) {
		if (e2.code == EV_EAGAIN)
			return EV_EAGAIN; /* stopped: no failure of the event */
		return e2.code == EV_ERR ? ev_upcast_oom(u)
					 : ev_upcast_fail(u, "%s", e2.msg);
	}
	for (i = 0; i < c.nres; i++) {
		struct wev *rw = &c.res[i];
		if (c.list) {
			struct wev tmp;
			if ((r = part_of(u, w, NULL, 0, NULL, 0, i, &tmp)) != 0)
				return r;
			rw->id = tmp.id;
		} else {
			rw->id = w->id;
		}
		rw->schema = st->from + 1;
		rw->prev = w->prev;
		if ((r = ev_upcast_run(u, rw, NULL, 0)) != 0)
			return r;
	}
	return 0;
}

/* Run w through the rest of its chain from operation k of step st (st
 * NULL: the step for its type and schema), and emit what comes out. */
int ev_upcast_run(struct ev_upcaster *u, struct wev *w, const struct step *st,
		  size_t k)
{
	int r;

	for (;;) {
		if (st == NULL) {
			const struct chain *c = u->run_c;
			if (u->run_type.p != w->type.p ||
			    u->run_type.n != w->type.n) {
				c = ev_upcast_find_chain(u, w->type.p,
							 w->type.n);
				u->run_c = c;
				u->run_type = w->type;
			}
			if (c == NULL || w->schema > c->max)
				return emit(u, w);
			if (w->schema < c->min) {
				u->f_step = NULL;
				u->f_op = NULL;
				u->f_type = w->type;
				u->f_version = w->schema;
				return ev_upcast_fail(
					u,
					"no step from version %" PRIu64
					": the steps of %s begin at "
					"version %" PRIu64,
					w->schema, c->type, c->min);
			}
			st = c->steps[w->schema - c->min];
			k = 0;
		}
		u->f_step = st;
		u->f_op = NULL;
		if (st->is_lua)
			return run_lua(u, w, st);
		for (; k < st->nops; k++) {
			const struct op *op = &st->ops[k];
			u->f_step = st;
			u->f_op = op;
			if (op->kind == OP_DROP)
				return 0;
			if (op->kind == OP_SPLIT)
				return split(u, w, st, k);
			if ((r = ev_upcast_do_op(u, w, op)) != 0)
				return r;
		}
		w->schema = st->from + 1;
		st = NULL;
	}
}
