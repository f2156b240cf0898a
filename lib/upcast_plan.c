/*
 * upcast_plan.c - the fast path of ev_upcaster_apply(): the declarative
 * steps of a chain, from one version to its end, compiled once into a
 * plan, which upcasts a record in one pass over its bytes.
 *
 * The general path (upcast_run.c) opens data and meta into a tree of every
 * entry and writes every changed object again.  A plan knows every key
 * its paths name (below data and meta): opening an object, it keeps an
 * entry of its own only for those keys (and for a key whose header is
 * not in its smallest form, which the general path writes anew), and
 * the entries between them as runs of raw bytes, copied as they are
 * when the object is written.  The operations then do on this light
 * tree what the general path's do on its own, step for step, so that
 * the record that comes out is the same, byte for byte; whatever a plan
 * does not handle (an array on a path, binary data, a failing step, a
 * record that does not decode, a version with no step) it gives back,
 * and the general path upcasts the record from the start.
 * tests/unit/test_upcast_plan.c holds the two paths side by side.
 */
#include <stdlib.h>
#include <string.h>

#include "upcast_int.h"

#define EV_INLINE __attribute__((always_inline))

struct up_plan {
	const struct op **ops; /* every step's, through retypes */
	size_t nops;
	int drop;	 /* the last op drops the event */
	uint64_t schema; /* the version it comes out at */
	int part;	 /* it stops before a Lua step, at schema: the
			  * declarative steps before it (ev_upcaster_prefix()) */
};

/* The key k among u->pkeys: its number, from 1 (added if new), or 0
 * out of memory. */
static int add_key(struct ev_upcaster *u, const struct ev_str *k)
{
	struct ev_str *nv;
	int *next;
	size_t i;

	for (i = 0; i < u->npkeys; i++)
		if (u->pkeys[i].n == k->n &&
		    memcmp(u->pkeys[i].p, k->p, k->n) == 0)
			return (int)i + 1;
	nv = realloc(u->pkeys, (u->npkeys + 1) * sizeof(*nv));
	if (nv == NULL)
		return 0;
	u->pkeys = nv;
	next = realloc(u->pnext, (u->npkeys + 1) * sizeof(*next));
	if (next == NULL)
		return 0;
	u->pnext = next;
	u->pkeys[u->npkeys] = *k;
	u->pnext[u->npkeys] = u->pfirst[(uint8_t)k->p[0]];
	u->npkeys++;
	u->pfirst[(uint8_t)k->p[0]] = (int)u->npkeys;
	u->plens |= 1ull << (k->n & 63);
	u->plen1[(uint8_t)k->p[0]] |= 1ull << (k->n & 63);
	return (int)u->npkeys;
}

/* The keys of pa's segments below data or meta. */
static int add_keys(struct ev_upcaster *u, struct path *pa)
{
	int s;

	if (pa->n == 0 || pa->kid != NULL)
		return 0;
	if ((pa->kid = calloc((size_t)pa->n, sizeof(*pa->kid))) == NULL)
		return -1;
	for (s = 1; s < pa->n; s++)
		if ((pa->kid[s] = add_key(u, &pa->seg[s])) == 0)
			return -1;
	return 0;
}

static int add_op(struct up_plan *pl, const struct op *op)
{
	const struct op **nv = realloc(pl->ops, (pl->nops + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	pl->ops = nv;
	pl->ops[pl->nops++] = op;
	return 0;
}

static void plan_free(struct up_plan *pl)
{
	if (pl == NULL)
		return;
	free(pl->ops);
	free(pl);
}

/* The plan of c from version v, as ev_upcast_run() goes: *out NULL
 * when there is none.  0, or -1 out of memory. */
static int plan_make(const struct ev_upcaster *u, const struct chain *c,
		     uint64_t v, struct up_plan **out)
{
	struct up_plan *pl = calloc(1, sizeof(*pl));
	const struct step *st;
	const char *type = c->type;
	size_t type_n = c->type_n, k;

	*out = NULL;
	if (pl == NULL)
		return -1;
	for (;;) {
		if (c == NULL || v > c->max)
			break;
		if (v < c->min)
			goto none; /* a failure: the general path says it */
		st = c->steps[v - c->min];
		if (st->is_lua) {
			if (pl->nops == 0)
				goto none;
			pl->part = 1; /* the steps before it */
			break;
		}
		for (k = 0; k < st->nops; k++) {
			const struct op *op = &st->ops[k];
			if (op->kind == OP_SPLIT)
				goto none;
			if (add_op(pl, op) != 0) {
				plan_free(pl);
				return -1;
			}
			if (op->kind == OP_DROP) {
				pl->drop = 1;
				*out = pl;
				return 0;
			}
			if (op->kind == OP_RETYPE) {
				type = op->type;
				type_n = op->type_n;
			}
		}
		v = st->from + 1;
		c = ev_upcast_find_chain(u, type, type_n);
	}
	pl->schema = v;
	*out = pl;
	return 0;
none:
	plan_free(pl);
	return 0;
}

int ev_upcast_plans_make(struct ev_upcaster *u)
{
	size_t i, j, k;
	uint64_t v;

	/* every key the ops name, numbered */
	for (i = 0; i < u->nchains; i++)
		for (j = 0; j < u->chains[i]->nsteps; j++) {
			struct step *st = u->chains[i]->steps[j];
			for (k = 0; k < st->nops; k++)
				if (add_keys(u, &st->ops[k].a) != 0 ||
				    add_keys(u, &st->ops[k].b) != 0)
					return -1;
		}
	for (i = 0; i < u->nchains; i++) {
		struct chain *c = u->chains[i];
		size_t n = (size_t)(c->max - c->min + 1);
		if (c->nsteps != n)
			continue; /* not checked: no plans */
		c->plans = calloc(n, sizeof(*c->plans));
		if (c->plans == NULL)
			return -1;
		c->no_plan = 1;
		for (v = c->min; v <= c->max; v++) {
			if (plan_make(u, c, v, &c->plans[v - c->min]) != 0)
				return -1;
			if (c->plans[v - c->min] == NULL)
				continue;
			if (c->plans[v - c->min]->part)
				c->part_plan = 1;
			else
				c->no_plan = 0;
		}
	}
	return 0;
}

void ev_upcast_plans_free(struct ev_upcaster *u)
{
	size_t i, j;

	for (i = 0; i < u->nchains; i++) {
		struct chain *c = u->chains[i];
		if (c->plans == NULL)
			continue;
		for (j = 0; j < c->nsteps; j++)
			plan_free(c->plans[j]);
		free(c->plans);
		c->plans = NULL;
	}
	free(u->pkeys);
	free(u->pnext);
	u->pkeys = NULL;
	u->pnext = NULL;
	u->npkeys = 0;
}

void ev_upcaster_set_plans(struct ev_upcaster *u, int on)
{
	u->plans_off = !on;
}

/* ------------------------------------------------------------ the tree */

/*
 * The light tree: objects only (an array on the way gives up).  A node
 * holds the bytes of its entries as read, and an entry of its own for
 * each whose key a plan names or is written in a longer form than need
 * be, then the entries added; the entries between are their bytes.
 */
struct fnode;
struct fval {
	const uint8_t *p; /* msgpack bytes, unless node */
	size_t n;
	struct fnode *node;
};
struct fent {
	const uint8_t *k; /* key text */
	size_t kn;
	struct fval v;
	const uint8_t *raw, *rend; /* where it was in the record, or NULL:
				    * added */
	int kid;		   /* its key among u->pkeys, or 0 */
	int gone;
};
struct fnode {
	int dirty;
	const uint8_t *body, *bend; /* the entries as read */
	size_t count;		    /* how many */
	struct fent *e;		    /* e[0 .. nread): of those */
	size_t n, cap, nread;
};
struct fev {
	struct ev_str id, type, stream, key;
	const uint8_t *time_raw;
	size_t time_raw_n;
	/* when the fields up to the time are as emit() writes them: those
	 * bytes, and the key's field, are copied as they are */
	int canon;
	const uint8_t *rec, *pre_end, *key_raw, *type0;
	size_t key_raw_n;
	uint64_t version, schema, prev;
	struct fnode root; /* data and meta */
	struct fent re[2];
};

#define GIVE_UP EV_UPCAST_GIVE_UP
#define NODE_ENTS 4 /* room for entries made with a node */

static inline EV_INLINE struct fnode *fnode_new(struct ev_upcaster *u)
{
	struct fnode *nd =
		ev_upcast_alloc(u, sizeof(*nd) + NODE_ENTS * sizeof(*nd->e));

	if (nd == NULL)
		return NULL;
	memset(nd, 0, sizeof(*nd));
	nd->cap = NODE_ENTS;
	nd->e = (struct fent *)(nd + 1);
	return nd;
}

static inline EV_INLINE struct fent *fappend(struct ev_upcaster *u,
					     struct fnode *nd)
{
	struct fent *e;

	if (nd->n == nd->cap) {
		size_t cap = 2 * nd->cap;
		e = ev_upcast_alloc(u, cap * sizeof(*e));
		if (e == NULL)
			return NULL;
		memcpy(e, nd->e, nd->n * sizeof(*e));
		nd->e = e;
		nd->cap = cap;
	}
	return &nd->e[nd->n++];
}

/* The number of the key k among u->pkeys (from 1), or 0. */
static inline int named(const struct ev_upcaster *u, const uint8_t *k,
			size_t kn)
{
	size_t j;
	int kid;

	if ((kn < 64 && !(u->plen1[k[0]] >> kn & 1)) || kn == 0)
		return 0;
	for (kid = u->pfirst[k[0]]; kid != 0; kid = u->pnext[kid - 1]) {
		const char *q = u->pkeys[kid - 1].p;
		if (u->pkeys[kid - 1].n != kn)
			continue;
		for (j = 1; j < kn && k[j] == (uint8_t)q[j]; j++)
			;
		if (j == kn)
			return kid;
	}
	return 0;
}

static inline size_t str_hdr_len(size_t n)
{
	return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

/* the bytes of v as ev_mp_uint() writes it */
static inline size_t uint_len(uint64_t v)
{
	return v < 0x80		  ? 1
	       : v <= 0xff	  ? 2
	       : v <= 0xffff	  ? 3
	       : v <= 0xffffffffu ? 5
				  : 9;
}

/* The bytes of a msgpack value by its first byte, or 0: one that holds
 * others or gives its length after it (ev_mp_skip_fast() walks it). */
const uint8_t ev_upcast_vsize[256] = {
	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	0,  0,	0,  0,	0,  0,	0,  0,	0,  0,	0,  0,	0,  0,	0,  0,
	0,  0,	0,  0,	0,  0,	0,  0,	0,  0,	0,  0,	0,  0,	0,  0,	1,  2,
	3,  4,	5,  6,	7,  8,	9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
	21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 1,  0,	1,  1,	0,  0,
	0,  0,	0,  0,	5,  9,	2,  3,	5,  9,	2,  3,	5,  9,	3,  4,	6,  10,
	18, 0,	0,  0,	0,  0,	0,  0,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,
	1,  1,	1,  1,
};

/* Open the object at *pp into v (its bytes and a node); *pp moves past
 * it.  As ev_upcast_expand_at(), for objects only. */
static int fopen_at(struct ev_upcaster *u, const uint8_t **pp,
		    const uint8_t *end, struct fval *v)
{
	const uint8_t *p = *pp, *s, *k, *raw;
	struct ev_mp_item it, ki;
	struct fnode *nd;
	struct fent *e;
	size_t kn;
	uint32_t i, count;
	int kid;

	if (p < end && (*p & 0xf0) == 0x80) {
		count = *p++ & 0x0f;
	} else {
		if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
			return GIVE_UP;
		count = it.n;
	}
	if (count > (size_t)(end - p) || (nd = fnode_new(u)) == NULL)
		return GIVE_UP;
	nd->body = p;
	nd->count = count;
	for (i = 0; i < count; i++) {
		raw = p;
		if (EV_LIKELY(end - p >= 2 && (*p & 0xe0) == 0xa0)) {
			/* a short key and, most often, a scalar */
			kn = *p & 0x1f;
			k = p + 1;
			s = k + kn;
			if (EV_UNLIKELY(s >= end))
				return GIVE_UP;
			if (EV_LIKELY(ev_upcast_vsize[*s] != 0)) {
				if (EV_UNLIKELY((size_t)(end - s) <
						ev_upcast_vsize[*s]))
					return GIVE_UP;
				p = s + ev_upcast_vsize[*s];
			} else {
				p = s;
				if (ev_mp_skip_quick(&p, end) != 0)
					return GIVE_UP;
			}
			if (EV_LIKELY(!(u->plen1[*k] >> kn & 1)) ||
			    (kid = named(u, k, kn)) == 0)
				continue; /* in the bytes between */
		} else {
			if (ev_mp_read(&p, end, &ki) != 0 ||
			    ki.type != EV_MP_STR)
				return GIVE_UP;
			k = ki.p;
			kn = ki.n;
			s = p;
			if (p < end && *p == 0xd9 && end - p >= 2 &&
			    (size_t)(end - p) - 2 >= p[1])
				p += 2 + p[1];
			else if (ev_mp_skip_fast(&p, end) != 0)
				return GIVE_UP;
			kid = named(u, k, kn);
			if (kid == 0 && (size_t)(k - raw) == str_hdr_len(kn))
				continue;
		}
		if ((e = fappend(u, nd)) == NULL)
			return GIVE_UP;
		e->kid = kid;
		e->k = k;
		e->kn = kn;
		e->v.p = s;
		e->v.n = (size_t)(p - s);
		e->v.node = NULL;
		e->raw = raw;
		e->rend = p;
		e->gone = 0;
	}
	nd->bend = p;
	nd->nread = nd->n;
	v->p = *pp;
	v->n = (size_t)(p - *pp);
	v->node = nd;
	*pp = p;
	return 0;
}

/* The entry of key kid in nd: its index, or -1 (the last of repeated
 * keys, as find_ent()). */
static inline long ffind(const struct fnode *nd, int kid)
{
	size_t i;

	for (i = nd->n; i-- > 0;)
		if (nd->e[i].kid == kid && !nd->e[i].gone)
			return (long)i;
	return -1;
}

static inline EV_INLINE int fadd(struct ev_upcaster *u, struct fnode *nd,
				 const struct path *pa, int s,
				 const struct fval *v)
{
	struct fent *e = fappend(u, nd);

	if (e == NULL)
		return GIVE_UP;
	e->k = (const uint8_t *)pa->seg[s].p;
	e->kn = pa->seg[s].n;
	e->kid = pa->kid[s];
	e->v = *v;
	e->raw = e->rend = NULL;
	e->gone = 0;
	return 0;
}

/* walk_m() of upcast_tree.c on the light tree. */
static inline EV_INLINE int fwalk(struct ev_upcaster *u, struct fev *w,
				  const struct path *pa, int create, int modify,
				  struct fnode **ndp, long *ip)
{
	struct fnode *nd = &w->root, *child;
	struct fval empty = {(const uint8_t *)"\x80", 1, NULL}, made = empty;
	const uint8_t *p;
	long i;
	int s;

	*ndp = NULL;
	*ip = -1;
	s = 0;
	i = pa->seg[0].p[0] == 'm';
	if (pa->n > 1 && !nd->e[i].gone && nd->e[i].v.node != NULL) {
		if (modify)
			nd->dirty = 1;
		nd = nd->e[i].v.node;
		s = 1;
		if (pa->n == 2) {
			/* data.KEY or meta.KEY: the loop's one step */
			if (modify)
				nd->dirty = 1;
			*ndp = nd;
			*ip = i = ffind(nd, pa->kid[1]);
			return i >= 0;
		}
	}
	for (; s < pa->n; s++) {
		if (modify)
			nd->dirty = 1;
		if (s == 0) {
			i = pa->seg[0].p[0] == 'm';
			if (nd->e[i].gone)
				i = -1;
		} else {
			i = ffind(nd, pa->kid[s]);
		}
		if (s == 0 && i < 0 && create && pa->n > 1) {
			i = pa->seg[0].p[0] == 'm';
			nd->e[i].gone = 0;
			nd->e[i].v = empty;
		}
		if (s == pa->n - 1) {
			*ndp = nd;
			*ip = i;
			return i >= 0;
		}
		if (i < 0) {
			if (!create)
				return 0;
			if ((child = fnode_new(u)) == NULL)
				return GIVE_UP;
			child->body = child->bend = empty.p + 1;
			made.node = child;
			if (fadd(u, nd, pa, s, &made) != 0)
				return GIVE_UP;
			nd = child;
			continue;
		}
		if (nd->e[i].v.node == NULL) {
			/* an object is opened; anything else, the general
			 * path walks into or fails on */
			p = nd->e[i].v.p;
			if (nd->e[i].v.n == 0 ||
			    !((*p & 0xf0) == 0x80 || *p == 0xde || *p == 0xdf))
				return GIVE_UP;
			if (fopen_at(u, &p, p + nd->e[i].v.n, &nd->e[i].v) != 0)
				return GIVE_UP;
		}
		nd = nd->e[i].v.node;
	}
	return 0;
}

static inline EV_INLINE int fset(struct ev_upcaster *u, struct fev *w,
				 const struct path *pa, const struct fval *v)
{
	struct fnode *nd;
	long i;
	int r = fwalk(u, w, pa, 1, 1, &nd, &i);

	if (r < 0)
		return r;
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
	return fadd(u, nd, pa, pa->n - 1, v);
}

/* remove_at() of an object's entry: the others of its key are before
 * it, and have entries of their own (a plan names the key) */
static void fremove_at(struct fnode *nd, long i)
{
	long j;

	nd->e[i].gone = 1;
	for (j = 0; j < i; j++)
		if (nd->e[j].kid == nd->e[i].kid)
			nd->e[j].gone = 1;
}

static inline EV_INLINE int fremove(struct ev_upcaster *u, struct fev *w,
				    const struct path *pa)
{
	struct fnode *nd;
	long i;
	int r = fwalk(u, w, pa, 0, 1, &nd, &i);

	if (r <= 0)
		return r;
	if (nd != &w->root)
		fremove_at(nd, i);
	else
		nd->e[i].gone = 1; /* data or meta */
	return 0;
}

/* ev_buf_reserve(), ev_mp_map_hdr() and ev_mp_str_hdr(), their common
 * case inline */
static inline int reserve(struct ev_buf *b, size_t n)
{
	return EV_LIKELY(b->cap - b->len >= n) ? 0 : ev_buf_reserve(b, n);
}

static inline uint8_t *map_hdr(uint8_t *o, size_t n)
{
	if (EV_LIKELY(n < 16)) {
		*o = (uint8_t)(0x80 | n);
		return o + 1;
	}
	return ev_mp_map_hdr(o, n);
}

static inline uint8_t *str_hdr(uint8_t *o, size_t n)
{
	if (EV_LIKELY(n < 32)) {
		*o = (uint8_t)(0xa0 | n);
		return o + 1;
	}
	return ev_mp_str_hdr(o, n);
}

/* Is e, read from the record, as it was (as_read())? */
static inline int fas_read(const struct fent *e)
{
	if (e->v.node != NULL && e->v.node->dirty)
		return 0;
	return e->v.p == e->k + e->kn &&
	       (size_t)(e->k - e->raw) == str_hdr_len(e->kn);
}

/* ev_upcast_ser(): v as msgpack onto out. */
static int fser(struct ev_buf *out, const struct fval *v, int depth)
{
	const struct fnode *nd = v->node;
	const uint8_t *at;
	size_t i, live, need;
	uint8_t *o;
	int r;

	if (nd == NULL || !nd->dirty) {
		if (reserve(out, v->n) != 0)
			return GIVE_UP;
		memcpy(out->p + out->len, v->p, v->n);
		out->len += v->n;
		return 0;
	}
	if (depth > EV_MAX_DEPTH)
		return GIVE_UP;
	live = nd->count;
	need = 5 + (size_t)(nd->bend - nd->body);
	for (i = 0; i < nd->n; i++) {
		const struct fent *e = &nd->e[i];
		if (i < nd->nread)
			live -= e->gone;
		else if (!e->gone)
			live++;
		if (!e->gone)
			need += 5 + e->kn + e->v.n;
	}
	if (reserve(out, need) != 0)
		return GIVE_UP;
	o = map_hdr(out->p + out->len, live);
	at = nd->body;
	for (i = 0; i < nd->n; i++) {
		const struct fent *e = &nd->e[i];
		if (i == nd->nread) {
			/* the entries read, before those added */
			if (at != nd->bend)
				memcpy(o, at, (size_t)(nd->bend - at));
			o += nd->bend - at;
			at = nd->bend;
		} else if (i < nd->nread) {
			if (at != e->raw)
				memcpy(o, at, (size_t)(e->raw - at));
			o += e->raw - at;
			at = e->rend;
		}
		if (e->gone)
			continue;
		if (i < nd->nread && fas_read(e)) {
			memcpy(o, e->raw, (size_t)(e->rend - e->raw));
			o += e->rend - e->raw;
			continue;
		}
		o = str_hdr(o, e->kn);
		memcpy(o, e->k, e->kn);
		o += e->kn;
		if (e->v.node == NULL || !e->v.node->dirty) {
			memcpy(o, e->v.p, e->v.n);
			o += e->v.n;
			continue;
		}
		out->len = (size_t)(o - out->p);
		if ((r = fser(out, &e->v, depth + 1)) != 0)
			return r;
		if (reserve(out, need) != 0)
			return GIVE_UP;
		o = out->p + out->len;
	}
	if (at != nd->bend)
		memcpy(o, at, (size_t)(nd->bend - at));
	o += nd->bend - at;
	out->len = (size_t)(o - out->p);
	return 0;
}

/* flatten(): v as bytes of their own */
static inline EV_INLINE int fflat(struct ev_upcaster *u, struct fval *v)
{
	uint8_t *d;
	int r;

	if (v->node == NULL || !v->node->dirty) {
		v->node = NULL;
		return 0;
	}
	u->tmp.len = 0;
	if ((r = fser(&u->tmp, v, 2)) != 0)
		return r;
	if ((d = ev_upcast_alloc(u, u->tmp.len ? u->tmp.len : 1)) == NULL)
		return GIVE_UP;
	memcpy(d, u->tmp.p, u->tmp.len);
	v->p = d;
	v->n = u->tmp.len;
	v->node = NULL;
	return 0;
}

/* ev_upcast_do_op() on the light tree. */
static inline EV_INLINE int fop(struct ev_upcaster *u, struct fev *w,
				const struct op *op)
{
	struct fnode *nd;
	struct fval v;
	long i;
	int r;

	switch (op->kind) {
	case OP_SET:
		v.p = op->val.p;
		v.n = op->val.len;
		v.node = NULL;
		return fset(u, w, &op->a, &v);
	case OP_DEFAULT:
		r = fwalk(u, w, &op->a, 0, 0, &nd, &i);
		if (r != 0)
			return r < 0 ? r : 0;
		v.p = op->val.p;
		v.n = op->val.len;
		v.node = NULL;
		return fset(u, w, &op->a, &v);
	case OP_REMOVE:
		return fremove(u, w, &op->a);
	case OP_MOVE:
		r = fwalk(u, w, &op->a, 0, 1, &nd, &i);
		if (r <= 0)
			return r;
		v = nd->e[i].v;
		if (nd == &w->root) {
			if ((r = fremove(u, w, &op->a)) != 0)
				return r;
		} else {
			fremove_at(nd, i);
		}
		return fset(u, w, &op->b, &v);
	case OP_COPY:
		r = fwalk(u, w, &op->a, 0, 0, &nd, &i);
		if (r <= 0)
			return r;
		v = nd->e[i].v;
		if ((r = fflat(u, &v)) != 0)
			return r;
		return fset(u, w, &op->b, &v);
	case OP_RETYPE:
		w->type.p = op->type;
		w->type.n = op->type_n;
		return 0;
	case OP_MAP:
	case OP_SCALE:
	case OP_TONUMBER:
	case OP_TOSTRING:
		r = fwalk(u, w, &op->a, 0, 1, &nd, &i);
		if (r <= 0)
			return r;
		if (nd->e[i].v.node != NULL) {
			/* an object: map flattens it, the others fail */
			if (op->kind != OP_MAP)
				return GIVE_UP;
			if ((r = fflat(u, &nd->e[i].v)) != 0)
				return r;
		}
		if (ev_upcast_value_op(u, op, NULL, &nd->e[i].v.p,
				       &nd->e[i].v.n) != 0)
			return GIVE_UP;
		return 0;
	default:
		return GIVE_UP;
	}
}

/* ------------------------------------------------------------ records */

/* The record into w, as ev_upcast_wev_parse(): data and meta opened
 * when they are objects.  0, or GIVE_UP. */
static int fparse(struct ev_upcaster *u, const uint8_t *rec, size_t n,
		  struct fev *w)
{
	const uint8_t *p = rec, *end = rec + n, *v, *fs;
	struct ev_mp_item kv;
	struct ev_str *str;
	struct fent *e;
	ev_time_t t;
	uint64_t last = 0, k;
	uint32_t i, count;

	/* what the plan reads of w before it sets it (not all of w: a
	 * memset was a tenth of the parse) */
	w->id.p = w->type.p = w->stream.p = w->key.p = NULL;
	w->time_raw = w->pre_end = w->key_raw = NULL;
	w->key_raw_n = 0;
	w->version = 0;
	w->schema = 1;
	w->prev = EV_NO_PREV;
	w->root.dirty = 0;
	w->root.e = w->re;
	w->root.n = w->root.cap = 2;
	w->root.nread = 0;
	w->re[0].k = (const uint8_t *)"data";
	w->re[1].k = (const uint8_t *)"meta";
	w->re[0].kn = w->re[1].kn = 4;
	w->re[0].v.node = w->re[1].v.node = NULL;
	w->re[0].raw = w->re[1].raw = NULL;
	w->re[0].kid = w->re[1].kid = 0;
	w->re[0].gone = w->re[1].gone = 1;
	if (n == 0 || rec[0] < 0x83 || rec[0] > 0x8a)
		return GIVE_UP;
	count = rec[0] & 0x0f;
	p++;
	w->rec = rec;
	w->canon = 1;
	for (i = 0; i < count; i++) {
		fs = p;
		if (p < end && *p <= 0x7f) {
			k = *p++;
		} else {
			if (ev_mp_read(&p, end, &kv) != 0 ||
			    kv.type != EV_MP_UINT)
				return GIVE_UP;
			k = kv.v.u;
			w->canon = 0;
		}
		if (k <= last || k > EV_K_MAX)
			return GIVE_UP;
		last = k;
		if (k > EV_K_TIME && w->pre_end == NULL)
			w->pre_end = fs;
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
			} else if (end - p >= 2 && *p == 0xd9 &&
				   (size_t)(end - p) - 2 >= p[1]) {
				kv.n = p[1];
				kv.p = p + 2;
				p += 2 + kv.n;
			} else if (ev_mp_read(&p, end, &kv) != 0 ||
				   kv.type != EV_MP_STR) {
				return GIVE_UP;
			}
			if (kv.n == 0)
				return GIVE_UP;
			str->p = (const char *)kv.p;
			str->n = kv.n;
			w->canon &=
				(size_t)(kv.p - fs - 1) == str_hdr_len(kv.n);
			if (k == EV_K_KEY) {
				w->key_raw = fs;
				w->key_raw_n = (size_t)(p - fs);
			}
			break;
		case EV_K_TIME:
			v = p;
			if (end - p >= 10 && p[0] == 0xd7 && p[1] == 0xff) {
				/* ev_mp_time_decode() of a timestamp 64 */
				uint64_t tw = ev_rbe64(p + 2);
				if ((tw >> 34) > 999999999 ||
				    ev_time_from_sec((int64_t)(tw &
							       ((1ull << 34) -
								1)),
						     (long)(tw >> 34), &t) != 0)
					return GIVE_UP;
				p += 10;
			} else if (ev_mp_read(&p, end, &kv) != 0 ||
				   ev_mp_time_decode(&kv, &t) != 0) {
				return GIVE_UP;
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
				return GIVE_UP;
			}
			if (k != EV_K_PREV && kv.v.u == 0)
				return GIVE_UP;
			w->canon &= (size_t)(p - fs - 1) == uint_len(kv.v.u);
			if (k == EV_K_VERSION)
				w->version = kv.v.u;
			else if (k == EV_K_SCHEMA)
				w->schema = kv.v.u;
			else
				w->prev = kv.v.u;
			break;
		case EV_K_DATA:
		case EV_K_META:
			e = &w->re[k == EV_K_META];
			e->gone = 0;
			if (p < end &&
			    ((*p & 0xf0) == 0x80 || *p == 0xde || *p == 0xdf)) {
				if (fopen_at(u, &p, end, &e->v) != 0)
					return GIVE_UP;
				break;
			}
			if (k == EV_K_META)
				return GIVE_UP;
			if (p < end && (*p == 0xc4 || *p == 0xc5 || *p == 0xc6))
				return GIVE_UP; /* binary data */
			v = p;
			if (ev_mp_skip_fast(&p, end) != 0)
				return GIVE_UP;
			e->v.p = v;
			e->v.n = (size_t)(p - v);
			break;
		}
	}
	if (w->type.p == NULL || w->id.p == NULL || w->time_raw == NULL ||
	    p != end)
		return GIVE_UP;
	if (w->pre_end == NULL)
		w->pre_end = end;
	w->type0 = (const uint8_t *)w->type.p;
	return 0;
}

/* emit() of upcast_run.c: w as a record onto u->out, its end in u->ends. */
static int femit(struct ev_upcaster *u, struct fev *w)
{
	struct fent *d = &w->re[0], *m = &w->re[1];
	struct ev_upcast_head h;
	size_t start = u->out.len, at;
	unsigned count = 3;
	uint8_t *o;

	count += (w->stream.p != NULL) + (w->version != 0) + (w->schema > 1) +
		 (w->key.p != NULL) + !d->gone + !m->gone +
		 (w->prev != EV_NO_PREV);
	if (w->canon && (const uint8_t *)w->type.p == w->type0) {
		/* the fields up to the time, and the key's, as they are */
		size_t pre = (size_t)(w->pre_end - w->rec - 1);
		if (reserve(&u->out, pre + w->key_raw_n + 16) != 0)
			return GIVE_UP;
		o = u->out.p + start;
		*o++ = (uint8_t)(0x80 | count);
		memcpy(o, w->rec + 1, pre);
		o += pre;
		if (w->schema > 1) {
			*o++ = EV_K_SCHEMA;
			o = ev_mp_uint(o, w->schema);
		}
		if (w->key_raw_n > 0) {
			memcpy(o, w->key_raw, w->key_raw_n);
			o += w->key_raw_n;
		}
		goto data;
	}
	h.id = &w->id;
	h.type = &w->type;
	h.stream = w->stream.p != NULL ? &w->stream : NULL;
	h.key = w->key.p != NULL ? &w->key : NULL;
	h.version = w->version;
	h.schema = w->schema;
	h.time_raw = w->time_raw;
	h.time_raw_n = w->time_raw_n;
	h.time = 0;
	if (reserve(&u->out, EV_UPCAST_HEAD_NEED(&h)) != 0)
		return GIVE_UP;
	o = ev_upcast_put_head(u->out.p + start, count, &h);
data:
	if (!d->gone) {
		*o++ = EV_K_DATA;
		u->out.len = (size_t)(o - u->out.p);
		if (fser(&u->out, &d->v, 2) != 0)
			return GIVE_UP;
		o = u->out.p + u->out.len;
	}
	u->out.len = (size_t)(o - u->out.p);
	if (reserve(&u->out, 12) != 0)
		return GIVE_UP;
	o = u->out.p + u->out.len;
	if (!m->gone) {
		*o++ = EV_K_META;
		at = u->out.len = (size_t)(o - u->out.p);
		if (fser(&u->out, &m->v, 2) != 0)
			return GIVE_UP;
		if (!((u->out.p[at] & 0xf0) == 0x80 || u->out.p[at] == 0xde ||
		      u->out.p[at] == 0xdf))
			return GIVE_UP;
		if (reserve(&u->out, 10) != 0)
			return GIVE_UP;
		o = u->out.p + u->out.len;
	}
	if (w->prev != EV_NO_PREV) {
		*o++ = EV_K_PREV;
		o = ev_mp_uint(o, w->prev);
	}
	return ev_upcast_push_end(u, o, start) != 0 ? GIVE_UP : 0;
}

int ev_upcast_peek_type(const uint8_t *rec, size_t n, struct ev_str *type)
{
	const uint8_t *p = rec + 1, *end = rec + n;
	struct ev_mp_item it;

	if (n < 2 || (rec[0] & 0xf0) != 0x80)
		return ev_event_peek_type(rec, n, type);
	if (rec[0] < 0x82 || *p++ != EV_K_ID)
		return EV_EDATA;
	if (p < end && (*p & 0xe0) == 0xa0 &&
	    (size_t)(end - p) > (size_t)(*p & 0x1f))
		p += 1 + (*p & 0x1f);
	else if (end - p >= 2 && *p == 0xd9 && (size_t)(end - p) - 2 >= p[1])
		p += 2 + p[1];
	else if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_STR)
		return EV_EDATA;
	if (p >= end || *p++ != EV_K_TYPE)
		return EV_EDATA;
	if (p < end && (*p & 0xe0) == 0xa0 &&
	    (size_t)(end - p) > (size_t)(*p & 0x1f)) {
		type->p = (const char *)p + 1;
		type->n = *p & 0x1f;
		return 0;
	}
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_STR)
		return EV_EDATA;
	type->p = (const char *)it.p;
	type->n = it.n;
	return 0;
}

int ev_upcast_plan_apply(struct ev_upcaster *u, const uint8_t *rec, size_t n,
			 int *changed)
{
	const struct up_plan *pl;
	const struct chain *c;
	struct fev w;
	size_t i;

	if (u->plans_off || u->counting)
		return GIVE_UP;
	/* a chain with no plan (a Lua step: set O) is the general path's,
	 * before the record is parsed for nothing */
	if (u->hint_type != NULL && u->hint != NULL &&
	    (u->hint->plans == NULL ||
	     (u->want_part ? !u->hint->part_plan : u->hint->no_plan))) {
		struct ev_str t;
		if (ev_upcast_peek_type(rec, n, &t) == 0 &&
		    t.p == u->hint_type && t.n == u->hint->type_n &&
		    memcmp(t.p, u->hint->type, t.n) == 0)
			return GIVE_UP;
	}
	if (fparse(u, rec, n, &w) != 0)
		return GIVE_UP;
	/* the chain ev_upcaster_wants() found, if it is this record's */
	c = u->hint_type == w.type.p && u->hint != NULL &&
			    u->hint->type_n == w.type.n &&
			    memcmp(u->hint->type, w.type.p, w.type.n) == 0
		    ? u->hint
		    : ev_upcast_find_chain(u, w.type.p, w.type.n);
	if (c == NULL || w.schema > c->max) {
		u->same = rec;
		u->same_n = n;
		u->nrec = 1;
		*changed = 0;
		return 1;
	}
	if (w.schema < c->min || c->plans == NULL ||
	    (pl = c->plans[w.schema - c->min]) == NULL ||
	    pl->part != u->want_part)
		return GIVE_UP;
	for (i = 0; i < pl->nops; i++) {
		const struct op *op = pl->ops[i];
		if (op->kind == OP_DROP) {
			*changed = 1;
			return 0;
		}
		if (fop(u, &w, op) != 0)
			return GIVE_UP;
	}
	w.schema = pl->schema;
	if (femit(u, &w) != 0)
		return GIVE_UP;
	*changed = 1;
	return 1;
}
