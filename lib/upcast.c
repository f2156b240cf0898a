/*
 * upcast.c - struct ev_upcaster: upcasting events of older data schema
 * versions as they are read.  The spec format, the Lua steps and what
 * each operation does are in evlog-upcast(5); this file does not repeat
 * them.
 *
 * A set is loaded and checked whole, once: spec files are compiled into
 * operations on dotted paths, Lua files into functions of one sandboxed
 * state (luaval.c).  Per event, the record's data and meta are opened
 * only as deep as the paths of its steps go: a light tree whose leaves
 * are the record's own bytes, kept in an arena that is reused from event
 * to event, then written back into a record as evlog(5) stores it.
 * That is the general path.  Most records take a faster one: once the
 * set is checked, each chain's declarative steps from each version are
 * compiled into a plan (upcast_plan.c), which upcasts a record over its
 * bytes and gives back to the general path whatever it does not handle,
 * with the same result byte for byte.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "luaval_int.h"
#include "upcast_int.h"

#define MAX_PARTS 65536		   /* records one event may become */
#define MAX_SPEC_BYTES (16u << 20) /* a spec or Lua file */

static const struct opdef {
	const char *name;
	enum op_kind kind;
	const char *usage;
} opdefs[] = {
	{"copy", OP_COPY, "copy FROM TO"},
	{"default", OP_DEFAULT, "default PATH VALUE"},
	{"delete", OP_REMOVE, "delete PATH"},
	{"drop", OP_DROP, "drop"},
	{"map", OP_MAP, "map PATH TABLE [else VALUE]"},
	{"move", OP_MOVE, "move FROM TO"},
	{"remove", OP_REMOVE, "remove PATH"},
	{"rename", OP_MOVE, "rename FROM TO"},
	{"retype", OP_RETYPE, "retype TYPE"},
	{"scale", OP_SCALE, "scale PATH FACTOR [round]"},
	{"set", OP_SET, "set PATH VALUE"},
	{"split", OP_SPLIT, "split PATH [INTO]"},
	{"tonumber", OP_TONUMBER, "tonumber PATH"},
	{"tostring", OP_TOSTRING, "tostring PATH"},
};
#define NOPDEFS (sizeof(opdefs) / sizeof(opdefs[0]))

/* the light tree of an event being upcast */
struct node;
struct val {
	const uint8_t *p; /* msgpack bytes, unless node */
	size_t n;
	struct node *node;
};
struct ent {
	const uint8_t *k; /* key text (maps) */
	size_t kn;
	struct val v;
	int gone;
	const uint8_t *raw; /* where it begins in the record (its key's
			     * header, or the element), or NULL: added */
};
struct node {
	int map;
	int dirty; /* changed: its bytes (in its val) are not it */
	struct ent *e;
	size_t n, cap;
};
struct wev {
	struct ev_str id, type, stream, key;
	ev_time_t time;
	const uint8_t *time_raw; /* its encoding in the record, if any */
	size_t time_raw_n;
	uint64_t version, schema, prev;
	struct node root; /* "data" and "meta" */
	int data_bin;	  /* data is the payload of a bin */
};

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

/* U+0000-001F and U+007F-009F: not in identifiers (evlog(5)). */
static int has_control(const char *s, size_t n)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
		if ((unsigned char)s[i] == 0xc2 && i + 1 < n &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ failures */

/* "a string", "an object": what the value at p is, for messages. */
static const char *kind_name(const struct val *v)
{
	if (v->node != NULL)
		return v->node->map ? "an object" : "an array";
	return ev_upcast_kind(v->p, v->n);
}

static int is_container(const struct val *v, int *map)
{
	uint8_t c;

	if (v->node != NULL) {
		*map = v->node->map;
		return 1;
	}
	if (v->n == 0)
		return 0;
	c = v->p[0];
	if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf) {
		*map = 1;
		return 1;
	}
	if ((c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd) {
		*map = 0;
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ the tree */

/* Open the map or array at *pp into a node of v, which gets its bytes;
 * *pp moves past it. */
static int expand_at(struct ev_upcaster *u, const uint8_t **pp,
		     const uint8_t *end, struct val *v)
{
	const uint8_t *p = *pp, *s;
	struct ev_mp_item it, k;
	struct node *nd;
	uint32_t i;

	if (ev_mp_read(&p, end, &it) != 0 ||
	    (it.type != EV_MP_MAP && it.type != EV_MP_ARRAY))
		return ev_upcast_fail(u, "malformed value");
	if (it.n > (size_t)(end - p))
		return ev_upcast_fail(u, "malformed value");
	nd = ev_upcast_alloc(u,
			     sizeof(*nd) + ((size_t)it.n + 2) * sizeof(*nd->e));
	if (nd == NULL)
		return ev_upcast_oom(u);
	nd->map = it.type == EV_MP_MAP;
	nd->dirty = 0;
	nd->n = it.n;
	nd->cap = (size_t)it.n + 2;
	nd->e = (struct ent *)(nd + 1);
	for (i = 0; i < it.n; i++) {
		struct ent *e = &nd->e[i];
		e->k = NULL;
		e->kn = 0;
		e->gone = 0;
		e->v.node = NULL;
		e->raw = p;
		if (nd->map && p < end && (*p & 0xe0) == 0xa0 &&
		    (size_t)(end - p) > (size_t)(*p & 0x1f)) {
			/* most keys are short */
			e->k = p + 1;
			e->kn = *p & 0x1f;
			p += 1 + e->kn;
		} else if (nd->map) {
			if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_STR)
				return ev_upcast_fail(u, "malformed object");
			e->k = k.p;
			e->kn = k.n;
		}
		s = p;
		if (p < end && (*p <= 0x7f || *p >= 0xe0 || *p == 0xc0 ||
				*p == 0xc2 || *p == 0xc3)) {
			p++; /* most values are small scalars */
		} else if (p < end && (*p & 0xe0) == 0xa0 &&
			   (size_t)(end - p) > (size_t)(*p & 0x1f)) {
			p += 1 + (*p & 0x1f);
		} else if (ev_mp_skip_quick(&p, end) != 0) {
			return ev_upcast_fail(u, "malformed value");
		}
		e->v.p = s;
		e->v.n = (size_t)(p - s);
	}
	v->p = *pp;
	v->n = (size_t)(p - *pp);
	v->node = nd;
	*pp = p;
	return 0;
}

static int expand(struct ev_upcaster *u, struct val *v)
{
	const uint8_t *p = v->p;

	return expand_at(u, &p, v->p + v->n, v);
}

static int append_ent(struct ev_upcaster *u, struct node *nd, const void *k,
		      size_t kn, const struct val *v)
{
	struct ent *e;

	if (nd->n == nd->cap) {
		size_t cap = nd->cap ? 2 * nd->cap : 4;
		e = ev_upcast_alloc(u, cap * sizeof(*e));
		if (e == NULL)
			return ev_upcast_oom(u);
		if (nd->n)
			memcpy(e, nd->e, nd->n * sizeof(*e));
		nd->e = e;
		nd->cap = cap;
	}
	e = &nd->e[nd->n++];
	e->k = k;
	e->kn = kn;
	e->v = *v;
	e->gone = 0;
	e->raw = NULL;
	return 0;
}

/* Are the n bytes at a and b the same?  Keys are short: no call. */
static inline int same_key(const uint8_t *a, const char *b, size_t n)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (a[j] != (uint8_t)b[j])
			return 0;
	return 1;
}

/* The entry named seg in nd: its index, or -1. */
static long find_ent(const struct node *nd, const struct ev_str *seg)
{
	size_t i, idx;
	char *end;

	if (nd->map) {
		/* of repeated keys the last counts, as in --where */
		for (i = nd->n; i-- > 0;)
			if (nd->e[i].kn == seg->n && !nd->e[i].gone &&
			    same_key(nd->e[i].k, seg->p, seg->n))
				return (long)i;
		return -1;
	}
	if (seg->n == 0 || seg->n > 9 || seg->p[0] < '0' || seg->p[0] > '9')
		return -1;
	idx = strtoul(seg->p, &end, 10);
	if (end != seg->p + seg->n || idx >= nd->n)
		return -1;
	return (long)idx;
}

/* The first s+1 segments of a path, for messages. */
static int prefix_len(const struct path *pa, int s)
{
	return (int)(pa->seg[s].p + pa->seg[s].n - pa->text);
}

/*
 * Walk pa in w.  Returns 1 found (*ndp holds it at *ip), 0 absent
 * (*ndp the object or array that would hold it, or NULL when a level
 * above is missing), or a failure.  create makes missing objects on the
 * way down (not the last); modify marks the nodes on the way as
 * changed.
 */
static int walk_m(struct ev_upcaster *u, struct wev *w, const struct path *pa,
		  int create, int modify, struct node **ndp, long *ip)
{
	struct node *nd = &w->root, *child;
	struct val empty = {(const uint8_t *)"\x80", 1, NULL}, made = empty;
	long i;
	int s, map;

	*ndp = NULL;
	*ip = -1;
	s = 0;
	i = pa->seg[0].p[0] == 'm';
	if (pa->n > 1 && !nd->e[i].gone && nd->e[i].v.node != NULL &&
	    (i == 1 || !w->data_bin)) {
		/* data or meta, opened: the loop's first step, done */
		if (modify)
			nd->dirty = 1;
		nd = nd->e[i].v.node;
		s = 1;
	}
	for (; s < pa->n; s++) {
		if (modify)
			nd->dirty = 1;
		if (s == 0) {
			/* the root holds data and meta, and paths begin
			 * with one of them (parse_path()) */
			i = pa->seg[0].p[0] == 'm';
			if (nd->e[i].gone)
				i = -1;
		} else {
			i = find_ent(nd, &pa->seg[s]);
		}
		if (s == 0 && i < 0 && create && pa->n > 1) {
			/* data or meta, made: its entry in the root */
			i = pa->seg[0].p[0] == 'm';
			nd->e[i].gone = 0;
			nd->e[i].v = empty;
			if (i == 0)
				w->data_bin = 0;
		}
		if (s == pa->n - 1) {
			*ndp = nd;
			*ip = i;
			return i >= 0;
		}
		if (s == 0 && i >= 0 && w->data_bin && pa->seg[0].n == 4 &&
		    memcmp(pa->seg[0].p, "data", 4) == 0)
			return ev_upcast_fail(
				u, "data is binary (data_base64): it has "
				   "no fields");
		if (i < 0) {
			if (!create)
				return 0;
			if (!nd->map)
				return ev_upcast_fail(
					u,
					"%.*s has %zu elements: there is "
					"no %.*s",
					prefix_len(pa, s - 1), pa->text, nd->n,
					(int)pa->seg[s].n, pa->seg[s].p);
			/* an empty object, opened */
			child = ev_upcast_alloc(u,
						sizeof(*child) +
							4 * sizeof(struct ent));
			if (child == NULL)
				return ev_upcast_oom(u);
			child->map = 1;
			child->dirty = 0;
			child->n = 0;
			child->cap = 4;
			child->e = (struct ent *)(child + 1);
			made.node = child;
			if (append_ent(u, nd, pa->seg[s].p, pa->seg[s].n,
				       &made) != 0)
				return EV_ERR;
			nd = child;
			continue;
		}
		if (!is_container(&nd->e[i].v, &map))
			return ev_upcast_fail(
				u, "%.*s is %s, not an object or array",
				prefix_len(pa, s), pa->text,
				kind_name(&nd->e[i].v));
		if (nd->e[i].v.node == NULL) {
			int r = expand(u, &nd->e[i].v);
			if (r != 0)
				return r;
		}
		child = nd->e[i].v.node;
		nd = child;
	}
	return 0;
}

static int walk(struct ev_upcaster *u, struct wev *w, const struct path *pa,
		int create, struct node **ndp, long *ip)
{
	return walk_m(u, w, pa, create, create, ndp, ip);
}

/* Set pa to v, making objects on the way. */
static int set_path(struct ev_upcaster *u, struct wev *w, const struct path *pa,
		    const struct val *v)
{
	struct node *nd;
	long i;
	int r = walk(u, w, pa, 1, &nd, &i);

	if (r < 0)
		return r;
	if (pa->n == 1 && pa->seg[0].n == 4 &&
	    memcmp(pa->seg[0].p, "data", 4) == 0)
		w->data_bin = 0;
	if (r == 1) {
		nd->e[i].v = *v;
		return 0;
	}
	if (nd == &w->root) {
		i = pa->seg[0].p[0] == 'm';
		nd->e[i].gone = 0;
		nd->e[i].v = *v;
		return 0;
	}
	if (nd->map)
		return append_ent(u, nd, pa->seg[pa->n - 1].p,
				  pa->seg[pa->n - 1].n, v);
	if (pa->seg[pa->n - 1].n > 0 && pa->seg[pa->n - 1].p[0] >= '0' &&
	    pa->seg[pa->n - 1].p[0] <= '9') {
		char *end;
		if (strtoul(pa->seg[pa->n - 1].p, &end, 10) == nd->n &&
		    end == pa->seg[pa->n - 1].p + pa->seg[pa->n - 1].n)
			return append_ent(u, nd, NULL, 0, v);
	}
	return ev_upcast_fail(u, "%.*s has %zu elements: there is no %.*s",
			      prefix_len(pa, pa->n - 2), pa->text, nd->n,
			      (int)pa->seg[pa->n - 1].n, pa->seg[pa->n - 1].p);
}

/* Remove entry i of nd (found by a walk of pa that marked the way). */
static void remove_at(struct wev *w, const struct path *pa, struct node *nd,
		      long i)
{
	long j;

	if (!nd->map) {
		memmove(&nd->e[i], &nd->e[i + 1],
			(nd->n - (size_t)i - 1) * sizeof(*nd->e));
		nd->n--;
		return;
	}
	/* the walk found the last of repeated keys: the others are before */
	nd->e[i].gone = 1;
	for (j = 0; j < i; j++)
		if (nd->e[j].kn == nd->e[i].kn &&
		    memcmp(nd->e[j].k, nd->e[i].k, nd->e[i].kn) == 0)
			nd->e[j].gone = 1;
	if (nd == &w->root && pa->seg[0].n == 4 &&
	    memcmp(pa->seg[0].p, "data", 4) == 0)
		w->data_bin = 0;
}

static int remove_path(struct ev_upcaster *u, struct wev *w,
		       const struct path *pa)
{
	struct node *nd;
	long i;
	size_t j;
	int r = walk_m(u, w, pa, 0, 1, &nd, &i);

	if (r <= 0)
		return r;
	if (nd != &w->root) {
		remove_at(w, pa, nd, i);
		return 0;
	}
	if (!nd->map) {
		memmove(&nd->e[i], &nd->e[i + 1],
			(nd->n - (size_t)i - 1) * sizeof(*nd->e));
		nd->n--;
		return 0;
	}
	for (j = 0; j < nd->n; j++)
		if (nd->e[j].kn == nd->e[i].kn &&
		    memcmp(nd->e[j].k, nd->e[i].k, nd->e[i].kn) == 0)
			nd->e[j].gone = 1;
	if (nd == &w->root && pa->seg[0].n == 4 &&
	    memcmp(pa->seg[0].p, "data", 4) == 0)
		w->data_bin = 0;
	return 0;
}

static int is_whole_data(const struct wev *w, const struct path *pa)
{
	return w->data_bin && pa->n == 1 && pa->seg[0].n == 4 &&
	       memcmp(pa->seg[0].p, "data", 4) == 0;
}

/* The value at pa: 1 with *v, 0 absent, or a failure. */
static int get_path(struct ev_upcaster *u, struct wev *w, const struct path *pa,
		    int modify, struct val **v)
{
	struct node *nd;
	long i;
	int r;

	if (is_whole_data(w, pa))
		return ev_upcast_fail(u, "data is binary (data_base64)");
	r = walk_m(u, w, pa, 0, modify, &nd, &i);
	if (r == 1)
		*v = &nd->e[i].v;
	return r;
}

/* Is e, of nd, still as it was read: its key and value the bytes at
 * e->raw?  A value that begins where it began is the same value. */
static inline int as_read(const struct node *nd, const struct ent *e)
{
	if (e->raw == NULL || e->gone ||
	    (e->v.node != NULL && e->v.node->dirty))
		return 0;
	if (!nd->map)
		return e->v.p == e->raw;
	/* and its key's header as ev_mp_str_hdr() writes it */
	return e->v.p == e->k + e->kn && e->k - e->raw == (e->kn < 32	   ? 1
							   : e->kn < 256   ? 2
							   : e->kn < 65536 ? 3
									   : 5);
}

/* Append v as msgpack. */
static int ser(struct ev_upcaster *u, struct ev_buf *out, const struct val *v,
	       int depth)
{
	const struct node *nd = v->node;
	size_t i, live = 0, need = 5;
	uint8_t *o;
	int r;

	if (nd == NULL || !nd->dirty) {
		if (ev_buf_reserve(out, v->n) != 0)
			return ev_upcast_oom(u);
		memcpy(out->p + out->len, v->p, v->n);
		out->len += v->n;
		return 0;
	}
	if (depth > EV_MAX_DEPTH)
		return ev_upcast_fail(u,
				      "the event nests deeper than %d levels",
				      EV_MAX_DEPTH);
	for (i = 0; i < nd->n; i++)
		if (!nd->e[i].gone) {
			live++;
			need += 5 + nd->e[i].kn + nd->e[i].v.n;
		}
	/* room for all but what changed below (reserved as it comes) */
	if (ev_buf_reserve(out, need) != 0)
		return ev_upcast_oom(u);
	o = out->p + out->len;
	o = nd->map ? ev_mp_map_hdr(o, live) : ev_mp_array_hdr(o, live);
	for (i = 0; i < nd->n; i++) {
		const struct ent *e = &nd->e[i];
		if (e->gone)
			continue;
		if (as_read(nd, e)) {
			/* it and those after it as read: their bytes at once */
			const uint8_t *from = e->raw, *to = e->v.p + e->v.n;
			while (i + 1 < nd->n && nd->e[i + 1].raw == to &&
			       as_read(nd, &nd->e[i + 1])) {
				i++;
				to = nd->e[i].v.p + nd->e[i].v.n;
			}
			memcpy(o, from, (size_t)(to - from));
			o += to - from;
			continue;
		}
		if (nd->map) {
			o = ev_mp_str_hdr(o, e->kn);
			memcpy(o, e->k, e->kn);
			o += e->kn;
		}
		if (e->v.node == NULL || !e->v.node->dirty) {
			memcpy(o, e->v.p, e->v.n);
			o += e->v.n;
			continue;
		}
		out->len = (size_t)(o - out->p);
		if ((r = ser(u, out, &e->v, depth + 1)) != 0)
			return r;
		/* what is left fits in what was reserved */
		if (ev_buf_reserve(out, need) != 0)
			return ev_upcast_oom(u);
		o = out->p + out->len;
	}
	out->len = (size_t)(o - out->p);
	return 0;
}

/* v as bytes of their own, in the arena (a copy must not share the
 * nodes of its source). */
static int flatten(struct ev_upcaster *u, struct val *v)
{
	int r;

	if (v->node == NULL || !v->node->dirty) {
		v->node = NULL;
		return 0;
	}
	u->tmp.len = 0;
	if ((r = ser(u, &u->tmp, v, 2)) != 0)
		return r;
	v->p = ev_upcast_dup(u, u->tmp.p, u->tmp.len);
	if (v->p == NULL)
		return ev_upcast_oom(u);
	v->n = u->tmp.len;
	v->node = NULL;
	return 0;
}

static int do_op(struct ev_upcaster *u, struct wev *w, const struct op *op)
{
	struct val *vp, v;
	struct node *nd;
	long i;
	int r;

	switch (op->kind) {
	case OP_SET:
		v.p = op->val.p;
		v.n = op->val.len;
		v.node = NULL;
		return set_path(u, w, &op->a, &v);
	case OP_DEFAULT:
		if (is_whole_data(w, &op->a))
			return 0;
		r = walk(u, w, &op->a, 0, &nd, &i);
		if (r != 0)
			return r < 0 ? r : 0;
		v.p = op->val.p;
		v.n = op->val.len;
		v.node = NULL;
		return set_path(u, w, &op->a, &v);
	case OP_REMOVE:
		if (is_whole_data(w, &op->a)) {
			w->data_bin = 0;
			w->root.e[0].gone = 1;
			return 0;
		}
		return remove_path(u, w, &op->a);
	case OP_MOVE:
		if (is_whole_data(w, &op->a))
			return ev_upcast_fail(u,
					      "data is binary (data_base64)");
		/* one walk finds it and marks the way for its removal */
		r = walk_m(u, w, &op->a, 0, 1, &nd, &i);
		if (r <= 0)
			return r;
		v = nd->e[i].v;
		if (nd == &w->root) {
			if ((r = remove_path(u, w, &op->a)) != 0)
				return r;
		} else {
			remove_at(w, &op->a, nd, i);
		}
		return set_path(u, w, &op->b, &v);
	case OP_COPY:
		if ((r = get_path(u, w, &op->a, 0, &vp)) <= 0)
			return r;
		v = *vp;
		if ((r = flatten(u, &v)) != 0)
			return r;
		return set_path(u, w, &op->b, &v);
	case OP_RETYPE:
		w->type.p = op->type;
		w->type.n = op->type_n;
		return 0;
	default:
		break;
	}
	if ((r = get_path(u, w, &op->a, 1, &vp)) <= 0)
		return r;
	/* map compares the bytes; the others fail on an object */
	if (op->kind == OP_MAP && (r = flatten(u, vp)) != 0)
		return r;
	return ev_upcast_value_op(u, op,
				  vp->node != NULL ? kind_name(vp) : NULL,
				  &vp->p, &vp->n);
}

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
static int wev_parse(struct ev_upcaster *u, const uint8_t *rec, size_t n,
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
				if (expand_at(u, &p, end, &e->v) != 0)
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
	if ((r = ser(u, buf, &e->v, 2)) != 0)
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
		if ((r = ser(u, &u->out, &d->v, 2)) != 0)
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
		if ((r = ser(u, &u->out, &m->v, 2)) != 0)
			return r;
		if (!((u->out.p[at] & 0xf0) == 0x80 || u->out.p[at] == 0xde ||
		      u->out.p[at] == 0xdf))
			return ev_upcast_fail(u, "meta is %s, not an object",
					      kind_name(&m->v));
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

static int run(struct ev_upcaster *u, struct wev *w, const struct step *st,
	       size_t k);

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

	if ((r = get_path(u, w, &op->a, 0, &vp)) < 0)
		return r;
	if (r == 0)
		return ev_upcast_fail(u, "%s: no such field to split",
				      op->a.text);
	if (!is_container(vp, &map) || map)
		return ev_upcast_fail(u, "%s is %s, not an array", op->a.text,
				      kind_name(vp));
	/* every part starts from the same bytes */
	if ((r = wev_part(u, w, 0, &u->dbuf, &d, &dn)) != 0 ||
	    (d != NULL && (d = ev_upcast_dup(u, d, dn)) == NULL) ||
	    (r = wev_part(u, w, 1, &u->mbuf, &m, &mn)) != 0 ||
	    (m != NULL && (m = ev_upcast_dup(u, m, mn)) == NULL))
		return r ? r : ev_upcast_oom(u);
	if ((r = part_of(u, w, d, dn, m, mn, 0, &pt)) != 0 ||
	    (r = get_path(u, &pt, &op->a, 0, &vp)) < 0)
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
			if ((r = remove_path(u, &pt, &op->a)) != 0 ||
			    (r = set_path(u, &pt, &op->b, &elem)) != 0)
				return r;
		} else if ((r = walk(u, &pt, &op->a, 0, &nd, &at)) < 0 ||
			   (r = set_path(u, &pt, &op->a, &elem)) != 0) {
			return r;
		}
		if ((r = run(u, &pt, st, k + 1)) != 0)
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
	if (has_control(f->type, f->type_n) ||
	    has_control(f->stream, f->stream_n) ||
	    has_control(f->key, f->key_n))
		luaL_error(L, "the event's %s has a control character",
			   has_control(f->type, f->type_n)	 ? "type"
			   : has_control(f->stream, f->stream_n) ? "stream"
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
		if ((r = run(u, rw, NULL, 0)) != 0)
			return r;
	}
	return 0;
}

/* Run w through the rest of its chain from operation k of step st (st
 * NULL: the step for its type and schema), and emit what comes out. */
static int run(struct ev_upcaster *u, struct wev *w, const struct step *st,
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
			if ((r = do_op(u, w, op)) != 0)
				return r;
		}
		w->schema = st->from + 1;
		st = NULL;
	}
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
	if ((r = wev_parse(u, rec, n, &w)) != 0) {
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
	r = run(u, &w, NULL, 0);
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

/* ------------------------------------------------------------ loading */

struct parse {
	struct ev_upcaster *u;
	const char *file;
	unsigned line;
	const char *lstart, *p, *end;
	struct chain *chain;
	struct step *step;
	struct ev_error *err;
	struct ev_buf buf;
};

static int perr(struct parse *ps, const char *fmt, ...) EV_PRINTF(2, 3);

static int perr(struct parse *ps, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ev_seterr(ps->err, EV_EUSAGE, "%s:%u: %s", ps->file, ps->line,
			 msg);
}

static void skip_ws(struct parse *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* The next bare word (up to a space or a comment), or n 0. */
static const char *word(struct parse *ps, size_t *n)
{
	const char *s;

	skip_ws(ps);
	s = ps->p;
	if (s < ps->end && *s == '#') {
		*n = 0;
		return s;
	}
	while (ps->p < ps->end && *ps->p != ' ' && *ps->p != '\t')
		ps->p++;
	*n = (size_t)(ps->p - s);
	return s;
}

static int at_end(struct parse *ps)
{
	skip_ws(ps);
	return ps->p >= ps->end || *ps->p == '#';
}

static int no_more(struct parse *ps, const char *what)
{
	size_t n;
	const char *s;

	if (at_end(ps))
		return 0;
	s = word(ps, &n);
	return perr(ps, "unexpected '%.*s' after %s", (int)n, s, what);
}

static struct chain *get_chain(struct ev_upcaster *u, const char *type,
			       size_t n)
{
	struct chain *c, **slot, **nv;
	size_t i;

	if (2 * (u->nchains + 1) > u->tab_cap) {
		size_t cap = u->tab_cap ? 2 * u->tab_cap : 16;
		nv = calloc(cap, sizeof(*nv));
		if (nv == NULL)
			return NULL;
		for (i = 0; i < u->nchains; i++)
			*ev_upcast_chain_slot(nv, cap, u->chains[i]->type,
					      u->chains[i]->type_n) =
				u->chains[i];
		free(u->tab);
		u->tab = nv;
		u->tab_cap = cap;
	}
	slot = ev_upcast_chain_slot(u->tab, u->tab_cap, type, n);
	if (*slot != NULL)
		return *slot;
	c = calloc(1, sizeof(*c));
	nv = realloc(u->chains, (u->nchains + 1) * sizeof(*nv));
	if (c == NULL || nv == NULL || (c->type = malloc(n + 1)) == NULL) {
		free(c);
		if (nv != NULL)
			u->chains = nv;
		return NULL;
	}
	memcpy(c->type, type, n);
	c->type[n] = '\0';
	c->type_n = n;
	u->chains = nv;
	u->chains[u->nchains++] = c;
	*slot = c;
	return c;
}

static struct step *add_step(struct ev_upcaster *u, struct chain *c,
			     uint64_t from, const char *file, unsigned line)
{
	struct step *st = calloc(1, sizeof(*st)), **nv;

	if (st == NULL)
		return NULL;
	if (c->nsteps == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;
		nv = realloc(c->steps, cap * sizeof(*nv));
		if (nv == NULL) {
			free(st);
			return NULL;
		}
		c->steps = nv;
		c->cap = cap;
	}
	st->from = from;
	st->chain = c;
	st->file = file;
	st->line = line;
	st->seq = u->nsteps++;
	st->lua_ref = LUA_NOREF;
	c->steps[c->nsteps++] = st;
	return st;
}

/* A type name: a bare word, or a JSON string; *out is malloc'ed. */
static int type_name(struct parse *ps, const char *what, char **out,
		     size_t *outn)
{
	struct ev_json js;
	const char *s;
	size_t n;

	skip_ws(ps);
	ps->buf.len = 0;
	if (ps->p < ps->end && *ps->p == '"') {
		ev_json_init(&js, ps->p, (size_t)(ps->end - ps->p));
		if (ev_json_string_raw(&js, &ps->buf) != 0)
			return perr(ps, "%s: %s", what,
				    js.errmsg ? js.errmsg : "bad string");
		ps->p = js.p;
	} else {
		s = word(ps, &n);
		if (ev_buf_append(&ps->buf, s, n) != 0)
			return ev_seterr(ps->err, EV_ERR, "out of memory");
	}
	if (ps->buf.len == 0)
		return perr(ps, "%s: expected a type name", what);
	if (has_control((const char *)ps->buf.p, ps->buf.len) ||
	    ev_utf8_valid(ps->buf.p, ps->buf.len) != ps->buf.len)
		return perr(ps,
			    "%s: a type name has no control characters "
			    "and is UTF-8",
			    what);
	*out = malloc(ps->buf.len + 1);
	if (*out == NULL)
		return ev_seterr(ps->err, EV_ERR, "out of memory");
	memcpy(*out, ps->buf.p, ps->buf.len);
	(*out)[ps->buf.len] = '\0';
	*outn = ps->buf.len;
	return 0;
}

static void path_free(struct path *pa)
{
	free(pa->text);
	free(pa->seg);
	free(pa->kid);
	memset(pa, 0, sizeof(*pa));
}

static int parse_path(struct parse *ps, const char *opname, struct path *pa)
{
	static const char *const envelope[] = {
		"offset",  "id",   "type", "stream",
		"version", "time", "key",  "schema",
	};
	const char *s, *q;
	size_t n, i;
	int k;

	s = word(ps, &n);
	if (n == 0)
		return perr(ps, "%s: expected a path such as data.amount",
			    opname);
	q = memchr(s, '.', n);
	k = q ? (int)(q - s) : (int)n;
	if (!((k == 4 &&
	       (memcmp(s, "data", 4) == 0 || memcmp(s, "meta", 4) == 0)))) {
		for (i = 0; i < sizeof(envelope) / sizeof(envelope[0]); i++)
			if (strlen(envelope[i]) == (size_t)k &&
			    memcmp(envelope[i], s, (size_t)k) == 0)
				break;
		if (i < sizeof(envelope) / sizeof(envelope[0]))
			return perr(ps,
				    "%s: '%.*s' is not in data or meta: "
				    "operations change data and meta, "
				    "retype the type, and a Lua step the "
				    "rest",
				    opname, (int)n, s);
		return perr(ps,
			    "%s: '%.*s' is not a path in data or meta; did "
			    "you mean 'data.%.*s'?",
			    opname, (int)n, s, (int)n, s);
	}
	if (s[n - 1] == '.' || memmem(s, n, "..", 2) != NULL)
		return perr(ps,
			    "%s: '%.*s' is not a dotted path such as "
			    "data.amount",
			    opname, (int)n, s);
	pa->text = malloc(n + 1);
	pa->seg = calloc(n / 2 + 2, sizeof(*pa->seg));
	if (pa->text == NULL || pa->seg == NULL)
		return ev_seterr(ps->err, EV_ERR, "out of memory");
	memcpy(pa->text, s, n);
	pa->text[n] = '\0';
	for (q = pa->text; *q != '\0';) {
		size_t m = strcspn(q, ".");
		pa->seg[pa->n].p = q;
		pa->seg[pa->n].n = m;
		pa->n++;
		q += m;
		if (*q == '.')
			q++;
	}
	if (pa->n > EV_MAX_DEPTH)
		return perr(ps, "%s: '%s' is deeper than %d levels", opname,
			    pa->text, EV_MAX_DEPTH);
	return 0;
}

/* One JSON value into b. */
static int json_arg(struct parse *ps, const char *opname, struct ev_buf *b)
{
	struct ev_json js;

	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p == '#')
		return perr(ps, "%s: expected a JSON value", opname);
	ev_json_init(&js, ps->p, (size_t)(ps->end - ps->p));
	if (ev_json_value(&js, b) != 0)
		return perr(ps, "%s: bad JSON value at column %zu: %s", opname,
			    ev_json_column(ps->lstart,
					   js.errp ? js.errp : js.p),
			    js.errmsg ? js.errmsg : "invalid JSON");
	ps->p = js.p;
	if (ps->p < ps->end && *ps->p != ' ' && *ps->p != '\t' && *ps->p != '#')
		return perr(ps,
			    "%s: bad JSON value at column %zu: expected "
			    "a space after it",
			    opname, ev_json_column(ps->lstart, ps->p));
	return 0;
}

/* map's table: {"from": to, ...} or [[from, to], ...]. */
static int map_table(struct parse *ps, struct op *op)
{
	const uint8_t *p = op->val.p, *end = op->val.p + op->val.len, *s;
	struct ev_mp_item it, pair;
	uint32_t i;
	int map;

	if (ev_mp_read(&p, end, &it) != 0 ||
	    (it.type != EV_MP_MAP && it.type != EV_MP_ARRAY))
		return perr(ps, "map: the table is an object {\"from\": to} "
				"or an array of [from, to] pairs");
	map = it.type == EV_MP_MAP;
	op->map = calloc(it.n ? it.n : 1, sizeof(*op->map));
	if (op->map == NULL)
		return ev_seterr(ps->err, EV_ERR, "out of memory");
	for (i = 0; i < it.n; i++) {
		struct mapent *m = &op->map[op->nmap++];
		if (!map && (ev_mp_read(&p, end, &pair) != 0 ||
			     pair.type != EV_MP_ARRAY || pair.n != 2))
			return perr(ps,
				    "map: entry %u of the table is not a "
				    "[from, to] pair",
				    i + 1);
		s = p;
		ev_mp_skip(&p, end, 2);
		m->from = s;
		m->from_n = (size_t)(p - s);
		s = p;
		ev_mp_skip(&p, end, 2);
		m->to = s;
		m->to_n = (size_t)(p - s);
	}
	return 0;
}

static const struct opdef *find_op(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < NOPDEFS; i++)
		if (strlen(opdefs[i].name) == n &&
		    memcmp(opdefs[i].name, s, n) == 0)
			return &opdefs[i];
	return NULL;
}

static int parse_op(struct parse *ps, const struct opdef *d, struct op *op)
{
	struct ev_mp_item it;
	const uint8_t *p;
	const char *s;
	size_t n;
	int r;

	op->kind = d->kind;
	op->name = d->name;
	op->line = ps->line;
	switch (d->kind) {
	case OP_SET:
	case OP_DEFAULT:
		if ((r = parse_path(ps, d->name, &op->a)) != 0 ||
		    (r = json_arg(ps, d->name, &op->val)) != 0)
			return r;
		if (op->a.n == 1 && op->a.text[0] == 'm' &&
		    !((op->val.p[0] & 0xf0) == 0x80 || op->val.p[0] == 0xde ||
		      op->val.p[0] == 0xdf))
			return perr(ps, "%s: meta is an object", d->name);
		break;
	case OP_MOVE:
	case OP_COPY:
		if ((r = parse_path(ps, d->name, &op->a)) != 0 ||
		    (r = parse_path(ps, d->name, &op->b)) != 0)
			return r;
		break;
	case OP_REMOVE:
	case OP_TONUMBER:
	case OP_TOSTRING:
		if ((r = parse_path(ps, d->name, &op->a)) != 0)
			return r;
		break;
	case OP_MAP:
		if ((r = parse_path(ps, d->name, &op->a)) != 0 ||
		    (r = json_arg(ps, d->name, &op->val)) != 0 ||
		    (r = map_table(ps, op)) != 0)
			return r;
		skip_ws(ps);
		s = ps->p;
		if (!at_end(ps)) {
			s = word(ps, &n);
			if (n != 4 || memcmp(s, "else", 4) != 0)
				return perr(ps,
					    "map: unexpected '%.*s' after the "
					    "table (else VALUE?)",
					    (int)n, s);
			op->else_at = op->val.len;
			if ((r = json_arg(ps, d->name, &op->val)) != 0)
				return r;
			/* the table moved if the buffer grew */
			free(op->map);
			op->map = NULL;
			op->nmap = 0;
			n = op->val.len;
			op->val.len = op->else_at;
			r = map_table(ps, op);
			op->val.len = n;
			if (r != 0)
				return r;
		}
		break;
	case OP_SCALE:
		if ((r = parse_path(ps, d->name, &op->a)) != 0 ||
		    (r = json_arg(ps, d->name, &op->val)) != 0)
			return r;
		p = op->val.p;
		ev_mp_read(&p, op->val.p + op->val.len, &it);
		if (it.type == EV_MP_UINT && it.v.u <= INT64_MAX) {
			op->factor_int = 1;
			op->ifactor = (int64_t)it.v.u;
			op->factor = (double)it.v.u;
		} else if (it.type == EV_MP_INT) {
			op->factor_int = 1;
			op->ifactor = it.v.i;
			op->factor = (double)it.v.i;
		} else if (it.type == EV_MP_FLOAT) {
			op->factor = it.v.f;
		} else {
			return perr(ps, "scale: the factor is a number");
		}
		if (!at_end(ps)) {
			s = word(ps, &n);
			if (n != 5 || memcmp(s, "round", 5) != 0)
				return perr(ps,
					    "scale: unexpected '%.*s' after "
					    "the factor (round?)",
					    (int)n, s);
			op->round = 1;
		}
		break;
	case OP_RETYPE:
		if ((r = type_name(ps, d->name, &op->type, &op->type_n)) != 0)
			return r;
		break;
	case OP_SPLIT:
		if ((r = parse_path(ps, d->name, &op->a)) != 0)
			return r;
		if (!at_end(ps) && (r = parse_path(ps, d->name, &op->b)) != 0)
			return r;
		break;
	case OP_DROP:
		break;
	}
	return no_more(ps, "its arguments");
}

static int parse_line(struct parse *ps)
{
	const struct opdef *d;
	const char *names[NOPDEFS + 2], *s, *sug;
	struct op *op;
	char *tname;
	size_t n, i, tn;
	uint64_t from;
	char *e;
	int r;

	s = word(ps, &n);
	if (n == 0)
		return 0;
	if (n == 4 && memcmp(s, "type", 4) == 0) {
		if ((r = type_name(ps, "type", &tname, &tn)) != 0)
			return r;
		ps->chain = get_chain(ps->u, tname, tn);
		free(tname);
		if (ps->chain == NULL)
			return ev_seterr(ps->err, EV_ERR, "out of memory");
		if (ps->chain->file == NULL) {
			ps->chain->file = ps->file;
			ps->chain->line = ps->line;
		}
		ps->step = NULL;
		return no_more(ps, "the type");
	}
	if (n == 4 && memcmp(s, "from", 4) == 0) {
		if (ps->chain == NULL)
			return perr(ps, "'from' before any 'type': name the "
					"event type first");
		s = word(ps, &n);
		from = n && s[0] >= '0' && s[0] <= '9' ? strtoull(s, &e, 10)
						       : 0;
		if (n == 0 || e != s + n || from == 0 || from == UINT64_MAX)
			return perr(ps,
				    "from: '%.*s' is not a version (1, "
				    "2, ...)",
				    (int)n, s);
		ps->step = add_step(ps->u, ps->chain, from, ps->file, ps->line);
		if (ps->step == NULL)
			return ev_seterr(ps->err, EV_ERR, "out of memory");
		return no_more(ps, "the version");
	}
	d = find_op(s, n);
	if (d == NULL) {
		for (i = 0; i < NOPDEFS; i++)
			names[i] = opdefs[i].name;
		names[NOPDEFS] = "type";
		names[NOPDEFS + 1] = "from";
		sug = ev_suggest(s, n, names, NOPDEFS + 2);
		if (sug != NULL)
			return perr(ps,
				    "unknown operation '%.*s'; did you mean "
				    "'%s'?",
				    (int)n, s, sug);
		return perr(ps, "unknown operation '%.*s'", (int)n, s);
	}
	if (ps->step == NULL)
		return perr(ps,
			    "'%s' outside a step: begin one with 'from N' "
			    "after 'type NAME'",
			    d->name);
	if (ps->step->nops > 0 &&
	    ps->step->ops[ps->step->nops - 1].kind == OP_DROP)
		return perr(ps, "'%s' after 'drop': nothing follows a drop",
			    d->name);
	if (ps->step->nops == ps->step->cap) {
		size_t cap = ps->step->cap ? 2 * ps->step->cap : 4;
		op = realloc(ps->step->ops, cap * sizeof(*op));
		if (op == NULL)
			return ev_seterr(ps->err, EV_ERR, "out of memory");
		ps->step->ops = op;
		ps->step->cap = cap;
	}
	op = &ps->step->ops[ps->step->nops++];
	memset(op, 0, sizeof(*op));
	if ((r = parse_op(ps, d, op)) != 0)
		return r;
	return 0;
}

/* A whole file into a malloc'ed, NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *n,
		     struct ev_error *err)
{
	struct stat st;
	char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;
	size_t got = 0;

	*out = NULL;
	if (fd < 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)MAX_SPEC_BYTES) {
		close(fd);
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not a regular file of at most %u "
				 "MiB",
				 path, MAX_SPEC_BYTES >> 20);
	}
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		close(fd);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	while (got < (size_t)st.st_size &&
	       (k = read(fd, p + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)k;
	close(fd);
	p[got] = '\0';
	*out = p;
	*n = got;
	return 0;
}

static const char *keep_name(struct ev_upcaster *u, const char *path)
{
	char **nv = realloc(u->files, (u->nfiles + 1) * sizeof(*nv));

	if (nv == NULL)
		return NULL;
	u->files = nv;
	if ((nv[u->nfiles] = strdup(path)) == NULL)
		return NULL;
	return nv[u->nfiles++];
}

static int load_spec(struct ev_upcaster *u, const char *path,
		     struct ev_error *err)
{
	struct parse ps;
	char *text;
	size_t n;
	const char *p, *nl;
	int r;

	if ((r = read_file(path, &text, &n, err)) != 0)
		return r;
	memset(&ps, 0, sizeof(ps));
	ps.u = u;
	ps.err = err;
	ps.file = keep_name(u, path);
	if (ps.file == NULL) {
		free(text);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	if (ev_utf8_valid((const uint8_t *)text, n) != n) {
		free(text);
		return ev_seterr(err, EV_EUSAGE, "%s: not UTF-8 text", path);
	}
	for (p = text; p < text + n; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + n - p));
		if (nl == NULL)
			nl = text + n;
		ps.line++;
		ps.lstart = ps.p = p;
		ps.end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if ((r = parse_line(&ps)) != 0)
			break;
	}
	ev_buf_free(&ps.buf);
	free(text);
	return r;
}

/* TYPE.N.lua: the step of TYPE from version N. */
/* A Lua file that does not load is named whole, with the line where Lua
 * says one, else line 1: FILE:LINE: MESSAGE. */
static int lua_load_error(const char *file, int r, struct ev_error *err)
{
	char msg[2 * sizeof(err->msg) + 32];
	const char *line, *rest;
	size_t nline;

	if (r == EV_ERR || (strncmp(err->msg, file, strlen(file)) == 0 &&
			    err->msg[strlen(file)] == ':'))
		return r; /* named already */
	if ((rest = ev_lua_split(file, err->msg, &line, &nline)) != NULL)
		snprintf(msg, sizeof(msg), "%s:%.*s: %s", file, (int)nline,
			 line, rest);
	else
		snprintf(msg, sizeof(msg), "%s:1: %s", file, err->msg);
	return ev_seterr(err, r, "%s", msg);
}

static int load_lua(struct ev_upcaster *u, const char *path,
		    struct ev_error *err)
{
	const char *base = strrchr(path, '/'), *dot;
	struct chain *c;
	struct step *st;
	const char *file;
	char *text, *e = NULL;
	size_t n, bn;
	uint64_t from = 0;
	int r, ref;

	base = base ? base + 1 : path;
	bn = strlen(base) - 4; /* without .lua */
	dot = bn > 0 ? memrchr(base, '.', bn) : NULL;
	if (dot != NULL && dot > base && dot[1] >= '0' && dot[1] <= '9')
		from = strtoull(dot + 1, &e, 10);
	if (dot == NULL || dot == base || from == 0 || from == UINT64_MAX ||
	    e != base + bn)
		return ev_seterr(err, EV_EUSAGE,
				 "%s:1: a Lua step is named TYPE.N.lua, N "
				 "the version it upcasts from "
				 "(OrderCreated.1.lua)",
				 path);
	if (u->lua == NULL && (r = ev_lua_new(&u->lua, 0, 0, err)) != 0)
		return r;
	ev_lua_set_stop(u->lua, u->stop);
	if ((r = read_file(path, &text, &n, err)) != 0)
		return r;
	if ((file = keep_name(u, path)) == NULL) {
		free(text);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	r = ev_lua_load_function(u->lua, file, text, n, &ref, err);
	free(text);
	if (r != 0)
		return lua_load_error(file, r, err);
	c = get_chain(u, base, (size_t)(dot - base));
	if (c == NULL || (st = add_step(u, c, from, file, 1)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	st->is_lua = 1;
	st->lua_ref = ref;
	return 0;
}

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct ev_upcaster *u, const char *path,
		    struct ev_error *err)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL, **nv, *full;
	size_t n = 0, i;
	int r = 0;

	if (d == NULL)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s'",
				       path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    !(ends_with(de->d_name, ".upcast") ||
		      ends_with(de->d_name, ".lua")))
			continue;
		nv = realloc(names, (n + 1) * sizeof(*nv));
		if (nv == NULL || (nv[n] = strdup(de->d_name)) == NULL) {
			if (nv != NULL)
				names = nv;
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto out;
		}
		names = nv;
		n++;
	}
	if (n == 0) {
		r = ev_seterr(err, EV_EUSAGE,
			      "'%s' has no spec files (*.upcast) and no Lua "
			      "steps (TYPE.N.lua)",
			      path);
		goto out;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && r == 0; i++) {
		if (asprintf(&full, "%s%s%s", path,
			     ends_with(path, "/") ? "" : "/", names[i]) < 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
		r = ends_with(names[i], ".lua") ? load_lua(u, full, err)
						: load_spec(u, full, err);
		free(full);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

static int step_cmp(const void *a, const void *b)
{
	const struct step *x = *(const struct step *const *)a;
	const struct step *y = *(const struct step *const *)b;

	if (x->from != y->from)
		return (x->from > y->from) - (x->from < y->from);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Each chain's steps in order, one per version, with no gap. */
static int check_chains(struct ev_upcaster *u, struct ev_error *err)
{
	size_t i, j;

	for (i = 0; i < u->nchains; i++) {
		struct chain *c = u->chains[i];
		if (c->nsteps == 0)
			return ev_seterr(err, EV_EUSAGE,
					 "%s:%u: type %s has no steps: give "
					 "it one with 'from N'",
					 c->file, c->line, c->type);
		qsort(c->steps, c->nsteps, sizeof(*c->steps), step_cmp);
		for (j = 1; j < c->nsteps; j++) {
			struct step *a = c->steps[j - 1], *b = c->steps[j];
			if (a->from == b->from)
				return ev_seterr(
					err, EV_EUSAGE,
					"%s:%u: a second step of %s from "
					"version %" PRIu64
					" (the first is at %s:%u)",
					b->file, b->line, c->type, b->from,
					a->file, a->line);
			if (b->from != a->from + 1)
				return ev_seterr(
					err, EV_EUSAGE,
					"%s:%u: %s has no step from version "
					"%" PRIu64 " (between the steps from "
					"%" PRIu64 " and %" PRIu64 ")",
					b->file, b->line, c->type, a->from + 1,
					a->from, b->from);
		}
		c->min = c->steps[0]->from;
		c->max = c->steps[c->nsteps - 1]->from;
	}
	return 0;
}

int ev_upcaster_load(struct ev_upcaster **out, const char *path,
		     struct ev_error *err)
{
	struct ev_upcaster *u = calloc(1, sizeof(*u));
	struct stat st;
	int r;

	*out = NULL;
	if (u == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (stat(path, &st) != 0) {
		r = ev_seterr_errno(err, errno == ENOENT ? EV_ENOENT : EV_EIO,
				    errno, "cannot open '%s'", path);
	} else if (S_ISDIR(st.st_mode)) {
		r = load_dir(u, path, err);
	} else if (ends_with(path, ".lua")) {
		r = load_lua(u, path, err);
	} else {
		r = load_spec(u, path, err);
	}
	if (r == 0)
		r = check_chains(u, err);
	if (r == 0 &&
	    (ev_upcast_make_qtab(u) != 0 || ev_upcast_plans_make(u) != 0))
		r = ev_seterr(err, EV_ERR, "out of memory");
	if (r != 0) {
		ev_upcaster_free(u);
		return r;
	}
	*out = u;
	return 0;
}

static void step_free(struct step *st)
{
	size_t i;

	for (i = 0; i < st->nops; i++) {
		struct op *op = &st->ops[i];
		path_free(&op->a);
		path_free(&op->b);
		ev_buf_free(&op->val);
		free(op->map);
		free(op->type);
	}
	free(st->ops);
	free(st);
}

void ev_upcaster_free(struct ev_upcaster *u)
{
	size_t i, j;

	if (u == NULL)
		return;
	if (u->borrowed) {
		ev_arena_free(&u->arena);
		ev_buf_free(&u->out);
		ev_buf_free(&u->tmp);
		ev_buf_free(&u->dbuf);
		ev_buf_free(&u->mbuf);
		free(u->ends);
		free(u);
		return;
	}
	ev_upcast_plans_free(u);
	for (i = 0; i < u->nchains; i++) {
		for (j = 0; j < u->chains[i]->nsteps; j++)
			step_free(u->chains[i]->steps[j]);
		free(u->chains[i]->steps);
		free(u->chains[i]->type);
		free(u->chains[i]);
	}
	free(u->chains);
	free(u->tab);
	free(u->qtab);
	for (i = 0; i < u->nfiles; i++)
		free(u->files[i]);
	free(u->files);
	ev_lua_free(u->lua);
	ev_arena_free(&u->arena);
	ev_buf_free(&u->out);
	ev_buf_free(&u->tmp);
	ev_buf_free(&u->dbuf);
	ev_buf_free(&u->mbuf);
	free(u->ends);
	for (i = 0; i < u->cs_cap; i++)
		free(u->cs[i].type);
	free(u->cs);
	free(u->rows);
	free(u);
}
