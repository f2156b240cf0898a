/*
 * upcast_tree.c - the light tree of an event in the general path of
 * upcasting: data and meta opened a level at a time, only as deep as a
 * path goes (the leaves are the record's own bytes, the nodes in the
 * arena of one apply), walked by dotted paths, changed by one operation
 * (ev_upcast_do_op()), and written back as msgpack (ev_upcast_ser()),
 * what was not changed copied as it was read.  upcast_run.c reads a
 * record into the tree, runs the steps on it and writes it back.
 */
#include <stdlib.h>
#include <string.h>

#include "upcast_int.h"

/* ------------------------------------------------------------ failures */

/* "a string", "an object": what the value at p is, for messages. */
const char *ev_upcast_kind_name(const struct val *v)
{
	if (v->node != NULL)
		return v->node->map ? "an object" : "an array";
	return ev_upcast_kind(v->p, v->n);
}

int ev_upcast_is_container(const struct val *v, int *map)
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
int ev_upcast_expand_at(struct ev_upcaster *u, const uint8_t **pp,
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

	return ev_upcast_expand_at(u, &p, v->p + v->n, v);
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
			 * with one of them (parse_path(), upcast_parse.c) */
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
		if (!ev_upcast_is_container(&nd->e[i].v, &map))
			return ev_upcast_fail(
				u, "%.*s is %s, not an object or array",
				prefix_len(pa, s), pa->text,
				ev_upcast_kind_name(&nd->e[i].v));
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

int ev_upcast_walk(struct ev_upcaster *u, struct wev *w, const struct path *pa,
		   int create, struct node **ndp, long *ip)
{
	return walk_m(u, w, pa, create, create, ndp, ip);
}

/* Set pa to v, making objects on the way. */
int ev_upcast_set_path(struct ev_upcaster *u, struct wev *w,
		       const struct path *pa, const struct val *v)
{
	struct node *nd;
	long i;
	int r = ev_upcast_walk(u, w, pa, 1, &nd, &i);

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

int ev_upcast_remove_path(struct ev_upcaster *u, struct wev *w,
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
int ev_upcast_get_path(struct ev_upcaster *u, struct wev *w,
		       const struct path *pa, int modify, struct val **v)
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
int ev_upcast_ser(struct ev_upcaster *u, struct ev_buf *out,
		  const struct val *v, int depth)
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
		if ((r = ev_upcast_ser(u, out, &e->v, depth + 1)) != 0)
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
	if ((r = ev_upcast_ser(u, &u->tmp, v, 2)) != 0)
		return r;
	v->p = ev_upcast_dup(u, u->tmp.p, u->tmp.len);
	if (v->p == NULL)
		return ev_upcast_oom(u);
	v->n = u->tmp.len;
	v->node = NULL;
	return 0;
}

int ev_upcast_do_op(struct ev_upcaster *u, struct wev *w, const struct op *op)
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
		return ev_upcast_set_path(u, w, &op->a, &v);
	case OP_DEFAULT:
		if (is_whole_data(w, &op->a))
			return 0;
		r = ev_upcast_walk(u, w, &op->a, 0, &nd, &i);
		if (r != 0)
			return r < 0 ? r : 0;
		v.p = op->val.p;
		v.n = op->val.len;
		v.node = NULL;
		return ev_upcast_set_path(u, w, &op->a, &v);
	case OP_REMOVE:
		if (is_whole_data(w, &op->a)) {
			w->data_bin = 0;
			w->root.e[0].gone = 1;
			return 0;
		}
		return ev_upcast_remove_path(u, w, &op->a);
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
			if ((r = ev_upcast_remove_path(u, w, &op->a)) != 0)
				return r;
		} else {
			remove_at(w, &op->a, nd, i);
		}
		return ev_upcast_set_path(u, w, &op->b, &v);
	case OP_COPY:
		if ((r = ev_upcast_get_path(u, w, &op->a, 0, &vp)) <= 0)
			return r;
		v = *vp;
		if ((r = flatten(u, &v)) != 0)
			return r;
		return ev_upcast_set_path(u, w, &op->b, &v);
	case OP_RETYPE:
		w->type.p = op->type;
		w->type.n = op->type_n;
		return 0;
	default:
		break;
	}
	if ((r = ev_upcast_get_path(u, w, &op->a, 1, &vp)) <= 0)
		return r;
	/* map compares the bytes; the others fail on an object */
	if (op->kind == OP_MAP && (r = flatten(u, vp)) != 0)
		return r;
	return ev_upcast_value_op(u, op,
				  vp->node != NULL ? ev_upcast_kind_name(vp)
						   : NULL,
				  &vp->p, &vp->n);
}
