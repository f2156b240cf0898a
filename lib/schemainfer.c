/*
 * schemainfer.c - JSON Schema inference: a draft 2020-12 schema of `data`
 * for each (type, schema version) of the events observed.  The rules are
 * in evctl(1) "schema infer"; the invariant is that every value observed
 * validates against the schema inferred from it.
 *
 * Each value position (the data, a property of an object there, the items
 * of an array) is a node that merges every value seen at it: the JSON
 * types seen, per object the properties with how many objects had them,
 * per array one node for all items, per string position the distinct
 * values (up to enum_max) and the formats every value satisfies.  Nodes
 * are made when a shape is first seen; a repeated shape only counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"
#include "jschema_int.h"

/* deeper than any record (evlog(5): 66 levels) */
#define SI_MAX_DEPTH 100
/* an enum needs at least this many strings observed, and on average two
 * observations per distinct value */
#define SI_ENUM_MIN_COUNT 4

enum {
	T_NULL = 1,
	T_BOOL = 2,
	T_INT = 4, /* integers, and floats with an integral value */
	T_NUM = 8, /* a float with a fraction */
	T_STR = 16,
	T_ARR = 32,
	T_OBJ = 64,
};

/* the formats inferred, in order of preference when several hold; each
 * is checked by the validator's own ev_jsformat_check() */
static const char *const formats[] = {
	"date-time", "date", "uuid", "email", "uri",
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))
#define ALL_FORMATS ((1u << NFORMATS) - 1)

struct si_node;

struct si_str {
	char *s;
	size_t n;
};

struct si_prop {
	struct si_str key;
	uint64_t hash;
	uint64_t count;	   /* objects that had it */
	uint64_t last_obj; /* the object (its number + 1) counted last */
	struct si_node *node;
};

struct si_node {
	uint64_t n; /* values observed here */
	unsigned types;
	/* strings */
	uint64_t nstr;
	unsigned fmts;	     /* the formats every string seen satisfies */
	struct si_str *vals; /* distinct strings while at most enum_max */
	unsigned nvals;
	int vals_over; /* more distinct strings than enum_max */
	/* objects */
	uint64_t nobj;
	struct si_prop *props; /* in the order first seen */
	size_t nprops, cap;
	uint32_t *slots; /* hash of props: index + 1, 0 empty */
	size_t nslots;
	size_t hint;		/* the property expected next */
	struct si_node *values; /* a map's values, when not NULL (no props) */
	/* arrays */
	struct si_node *items;
};

struct si_entry {
	char *type;
	size_t type_n;
	uint64_t schema;
	uint64_t hash;
	int ignored; /* a type ev_schemainfer_only() did not name */
	uint64_t events, binary;
	struct si_node root;
};

struct ev_schemainfer {
	unsigned enum_max;
	size_t max_props;
	struct si_entry **v; /* entries, in the order first seen */
	size_t n, cap;
	uint32_t *slots;
	size_t nslots;
	size_t last; /* the entry of the last event, + 1 */
	struct si_str *only;
	size_t nonly;
	struct si_entry **sorted; /* NULL until asked for, and after a new
				     entry */
	size_t nsorted;
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const uint8_t *s = p;
	size_t i;

	/* FNV-1a */
	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static int str_dup(struct si_str *d, const char *s, size_t n)
{
	if ((d->s = malloc(n + 1)) == NULL)
		return EV_ERR;
	memcpy(d->s, s, n);
	d->s[n] = '\0';
	d->n = n;
	return 0;
}

/* bytewise, a prefix first */
static int str_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

/* ---------------------------------------------------------- the nodes */

static void node_clear(struct si_node *nd);

static void node_free(struct si_node *nd)
{
	if (nd != NULL) {
		node_clear(nd);
		free(nd);
	}
}

static void vals_clear(struct si_node *nd)
{
	unsigned i;

	for (i = 0; i < nd->nvals; i++)
		free(nd->vals[i].s);
	free(nd->vals);
	nd->vals = NULL;
	nd->nvals = 0;
}

static void node_clear(struct si_node *nd)
{
	size_t i;

	vals_clear(nd);
	for (i = 0; i < nd->nprops; i++) {
		free(nd->props[i].key.s);
		node_free(nd->props[i].node);
	}
	free(nd->props);
	free(nd->slots);
	node_free(nd->items);
	node_free(nd->values);
}

static struct si_node *node_new(void)
{
	return calloc(1, sizeof(struct si_node));
}

/* Drop the formats that s does not satisfy. */
static void see_formats(struct si_node *nd, const char *s, size_t n)
{
	unsigned k;

	for (k = 0; k < NFORMATS; k++)
		if ((nd->fmts & (1u << k)) &&
		    ev_jsformat_check(formats[k], s, n) != 1)
			nd->fmts &= ~(1u << k);
}

/* A string value: its formats, and counted among the distinct values
 * while they fit an enum. */
static int see_string(struct ev_schemainfer *si, struct si_node *nd,
		      const char *s, size_t n)
{
	unsigned i;

	if (nd->nstr++ == 0)
		nd->fmts = ALL_FORMATS;
	if (nd->vals_over) {
		if (nd->fmts != 0)
			see_formats(nd, s, n);
		return 0;
	}
	/* a value seen before was checked then */
	for (i = 0; i < nd->nvals; i++)
		if (nd->vals[i].n == n && memcmp(nd->vals[i].s, s, n) == 0)
			return 0;
	if (nd->fmts != 0)
		see_formats(nd, s, n);
	if (nd->nvals >= si->enum_max) {
		/* an open set: the values are no longer needed */
		vals_clear(nd);
		nd->vals_over = 1;
		return 0;
	}
	/* kept strings are written out: they must be UTF-8 */
	if (ev_utf8_valid((const uint8_t *)s, n) != n)
		return EV_EDATA;
	if (nd->vals == NULL &&
	    (nd->vals = calloc(si->enum_max, sizeof(*nd->vals))) == NULL)
		return EV_ERR;
	if (str_dup(&nd->vals[nd->nvals], s, n) != 0)
		return EV_ERR;
	nd->nvals++;
	return 0;
}

static int slots_grow(struct si_node *nd)
{
	size_t ns = nd->nslots ? nd->nslots * 2 : 16, i, k;
	uint32_t *t = calloc(ns, sizeof(*t));

	if (t == NULL)
		return EV_ERR;
	for (i = 0; i < nd->nprops; i++) {
		for (k = nd->props[i].hash & (ns - 1); t[k] != 0;
		     k = (k + 1) & (ns - 1))
			;
		t[k] = (uint32_t)i + 1;
	}
	free(nd->slots);
	nd->slots = t;
	nd->nslots = ns;
	return 0;
}

/* The property key of an object at nd, made when first seen: 0, 1 when
 * nd has max_props keys and this one is new, EV_EDATA (a key that is
 * not UTF-8) or EV_ERR. */
static int prop_get(const struct ev_schemainfer *si, struct si_node *nd,
		    const char *key, size_t n, struct si_prop **out)
{
	struct si_prop *p;
	uint64_t h;
	size_t k;

	/* objects of one shape give their keys in the same order */
	if (nd->hint < nd->nprops) {
		p = &nd->props[nd->hint];
		if (p->key.n == n && memcmp(p->key.s, key, n) == 0) {
			nd->hint++;
			*out = p;
			return 0;
		}
	}
	h = hash_bytes(key, n, 0xcbf29ce484222325ull);
	if (nd->nslots != 0) {
		for (k = h & (nd->nslots - 1); nd->slots[k] != 0;
		     k = (k + 1) & (nd->nslots - 1)) {
			p = &nd->props[nd->slots[k] - 1];
			if (p->hash == h && p->key.n == n &&
			    memcmp(p->key.s, key, n) == 0) {
				nd->hint = nd->slots[k];
				*out = p;
				return 0;
			}
		}
	}
	if (nd->nprops >= si->max_props || nd->nprops >= UINT32_MAX - 1)
		return 1;
	if (nd->nprops == nd->cap) {
		size_t nc = nd->cap ? nd->cap * 2 : 4;
		p = realloc(nd->props, nc * sizeof(*p));
		if (p == NULL)
			return EV_ERR;
		nd->props = p;
		nd->cap = nc;
	}
	if (ev_utf8_valid((const uint8_t *)key, n) != n)
		return EV_EDATA;
	if ((nd->nprops + 1) * 2 > nd->nslots && slots_grow(nd) != 0)
		return EV_ERR;
	p = &nd->props[nd->nprops];
	memset(p, 0, sizeof(*p));
	if (str_dup(&p->key, key, n) != 0)
		return EV_ERR;
	if ((p->node = node_new()) == NULL) {
		free(p->key.s);
		return EV_ERR;
	}
	p->hash = h;
	for (k = h & (nd->nslots - 1); nd->slots[k] != 0;
	     k = (k + 1) & (nd->nslots - 1))
		;
	nd->slots[k] = (uint32_t)++nd->nprops;
	nd->hint = nd->nprops;
	*out = p;
	return 0;
}

static int node_merge(struct ev_schemainfer *si, struct si_node *dst,
		      struct si_node *src, int depth);

/* nd becomes a map: the values of all its keys merged into one node. */
static int to_map(struct ev_schemainfer *si, struct si_node *nd, int depth)
{
	size_t i;
	int r = 0;

	if ((nd->values = node_new()) == NULL)
		return EV_ERR;
	for (i = 0; i < nd->nprops; i++) {
		if (r == 0)
			r = node_merge(si, nd->values, nd->props[i].node,
				       depth + 1);
		free(nd->props[i].key.s);
		node_free(nd->props[i].node);
	}
	free(nd->props);
	free(nd->slots);
	nd->props = NULL;
	nd->slots = NULL;
	nd->nprops = nd->cap = nd->nslots = nd->hint = 0;
	return r;
}

/* Merge what src saw into dst, as if dst had seen it (src is left to be
 * freed).  Counts add up: a property is still required when it was in
 * every object of both. */
static int node_merge(struct ev_schemainfer *si, struct si_node *dst,
		      struct si_node *src, int depth)
{
	size_t i;
	int r;

	if (depth > SI_MAX_DEPTH)
		return EV_EDATA;
	dst->n += src->n;
	dst->types |= src->types;
	if (src->nstr > 0) {
		dst->fmts = dst->nstr > 0 ? dst->fmts & src->fmts : src->fmts;
		dst->nstr += src->nstr;
		if (src->vals_over && !dst->vals_over) {
			vals_clear(dst);
			dst->vals_over = 1;
		}
		for (i = 0; i < src->nvals && !dst->vals_over; i++) {
			unsigned k;
			for (k = 0; k < dst->nvals; k++)
				if (dst->vals[k].n == src->vals[i].n &&
				    memcmp(dst->vals[k].s, src->vals[i].s,
					   src->vals[i].n) == 0)
					break;
			if (k < dst->nvals)
				continue;
			if (dst->nvals >= si->enum_max) {
				vals_clear(dst);
				dst->vals_over = 1;
				break;
			}
			if (dst->vals == NULL &&
			    (dst->vals = calloc(si->enum_max,
						sizeof(*dst->vals))) == NULL)
				return EV_ERR;
			/* moved, not copied */
			dst->vals[dst->nvals++] = src->vals[i];
			src->vals[i].s = NULL;
		}
	}
	dst->nobj += src->nobj;
	/* a map on either side: all the values together */
	if (src->values != NULL && dst->values == NULL &&
	    (r = to_map(si, dst, depth)) != 0)
		return r;
	for (i = 0; i < src->nprops; i++) {
		struct si_prop *p;
		if (dst->values != NULL) {
			r = node_merge(si, dst->values, src->props[i].node,
				       depth + 1);
			if (r != 0)
				return r;
			continue;
		}
		r = prop_get(si, dst, src->props[i].key.s, src->props[i].key.n,
			     &p);
		if (r == 1) {
			/* too many keys together: a map after all, and this
			 * key goes to its values */
			if ((r = to_map(si, dst, depth)) != 0)
				return r;
			i--;
			continue;
		}
		if (r != 0)
			return r;
		p->count += src->props[i].count;
		if ((r = node_merge(si, p->node, src->props[i].node,
				    depth + 1)) != 0)
			return r;
	}
	if (src->values != NULL &&
	    (r = node_merge(si, dst->values, src->values, depth + 1)) != 0)
		return r;
	if (src->items != NULL && dst->items == NULL) {
		dst->items = src->items;
		src->items = NULL;
	} else if (src->items != NULL &&
		   (r = node_merge(si, dst->items, src->items, depth + 1)) !=
			   0) {
		return r;
	}
	return 0;
}

static int not_json(struct ev_error *err, const char *why)
{
	return ev_seterr(err, EV_EDATA, "data is not a JSON value: %s", why);
}

static int failed(struct ev_error *err, int r)
{
	if (r == EV_EDATA)
		return not_json(err, "a string is not UTF-8");
	return ev_seterr(err, EV_ERR, "out of memory");
}

/* Merge the value at *p into nd. */
static int see(struct ev_schemainfer *si, struct si_node *nd, const uint8_t **p,
	       const uint8_t *end, int depth, struct ev_error *err)
{
	struct ev_mp_item it;
	struct si_prop *pr;
	uint64_t obj;
	uint32_t i;
	int r;

	if (depth > SI_MAX_DEPTH)
		return ev_seterr(err, EV_EDATA,
				 "data is nested deeper than %d levels",
				 SI_MAX_DEPTH);
	if (ev_mp_read(p, end, &it) != 0)
		return not_json(err, "truncated msgpack");
	nd->n++;
	switch (it.type) {
	case EV_MP_NIL:
		nd->types |= T_NULL;
		return 0;
	case EV_MP_BOOL:
		nd->types |= T_BOOL;
		return 0;
	case EV_MP_UINT:
	case EV_MP_INT:
		nd->types |= T_INT;
		return 0;
	case EV_MP_FLOAT:
		/* JSON Schema: 1.0 is an integer */
		nd->types |= isfinite(it.v.f) && it.v.f == floor(it.v.f)
				     ? T_INT
				     : T_NUM;
		return 0;
	case EV_MP_STR:
		nd->types |= T_STR;
		if ((r = see_string(si, nd, (const char *)it.p, it.n)) != 0)
			return failed(err, r);
		return 0;
	case EV_MP_ARRAY:
		nd->types |= T_ARR;
		if (it.n > 0 && nd->items == NULL &&
		    (nd->items = node_new()) == NULL)
			return failed(err, EV_ERR);
		for (i = 0; i < it.n; i++)
			if ((r = see(si, nd->items, p, end, depth + 1, err)) !=
			    0)
				return r;
		return 0;
	case EV_MP_MAP:
		nd->types |= T_OBJ;
		obj = ++nd->nobj;
		nd->hint = 0;
		for (i = 0; i < it.n; i++) {
			struct ev_mp_item k;
			if (ev_mp_read(p, end, &k) != 0)
				return not_json(err, "truncated msgpack");
			if (k.type != EV_MP_STR)
				return not_json(err, "a map key is not a "
						     "string");
			r = 0;
			if (nd->values == NULL &&
			    (r = prop_get(si, nd, (const char *)k.p, k.n,
					  &pr)) == 1)
				r = to_map(si, nd, depth);
			if (r != 0)
				return failed(err, r);
			if (nd->values != NULL) {
				r = see(si, nd->values, p, end, depth + 1, err);
				if (r != 0)
					return r;
				continue;
			}
			/* a key repeated in one map counts once */
			if (pr->last_obj != obj) {
				pr->last_obj = obj;
				pr->count++;
			}
			if ((r = see(si, pr->node, p, end, depth + 1, err)) !=
			    0)
				return r;
		}
		return 0;
	default:
		return not_json(err, it.type == EV_MP_BIN
					     ? "binary inside data"
					     : "a msgpack extension");
	}
}

/* ---------------------------------------------------------- entries */

void ev_schemainfer_opts_init(struct ev_schemainfer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->enum_max = 8;
	o->max_props = 1000;
}

int ev_schemainfer_new(struct ev_schemainfer **out,
		       const struct ev_schemainfer_opts *o,
		       struct ev_error *err)
{
	struct ev_schemainfer *si;

	*out = NULL;
	if (o->enum_max > EV_SCHEMAINFER_ENUM_MAX)
		return ev_seterr(err, EV_EUSAGE, "enum_max: %u is more than %d",
				 o->enum_max, EV_SCHEMAINFER_ENUM_MAX);
	if ((si = calloc(1, sizeof(*si))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	si->enum_max = o->enum_max;
	si->max_props = o->max_props ? o->max_props : 1000;
	*out = si;
	return 0;
}

void ev_schemainfer_free(struct ev_schemainfer *si)
{
	size_t i;

	if (si == NULL)
		return;
	for (i = 0; i < si->n; i++) {
		free(si->v[i]->type);
		node_clear(&si->v[i]->root);
		free(si->v[i]);
	}
	for (i = 0; i < si->nonly; i++)
		free(si->only[i].s);
	free(si->only);
	free(si->v);
	free(si->slots);
	free(si->sorted);
	free(si);
}

int ev_schemainfer_only(struct ev_schemainfer *si, const char *type,
			struct ev_error *err)
{
	struct si_str *v;

	v = realloc(si->only, (si->nonly + 1) * sizeof(*v));
	if (v == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	si->only = v;
	if (str_dup(&v[si->nonly], type, strlen(type)) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	si->nonly++;
	return 0;
}

static int wanted(const struct ev_schemainfer *si, const char *type, size_t n)
{
	size_t i;

	if (si->nonly == 0)
		return 1;
	for (i = 0; i < si->nonly; i++)
		if (si->only[i].n == n && memcmp(si->only[i].s, type, n) == 0)
			return 1;
	return 0;
}

static int entries_grow(struct ev_schemainfer *si)
{
	size_t ns = si->nslots ? si->nslots * 2 : 32, i, k;
	uint32_t *t;

	if ((t = calloc(ns, sizeof(*t))) == NULL)
		return EV_ERR;
	for (i = 0; i < si->n; i++) {
		for (k = si->v[i]->hash & (ns - 1); t[k] != 0;
		     k = (k + 1) & (ns - 1))
			;
		t[k] = (uint32_t)i + 1;
	}
	free(si->slots);
	si->slots = t;
	si->nslots = ns;
	return 0;
}

/* The entry of (type, schema), made when first seen; NULL out of memory. */
static struct si_entry *entry_get(struct ev_schemainfer *si, const char *type,
				  size_t tn, uint64_t schema)
{
	struct si_entry *e;
	uint64_t h;
	size_t k;

	if (si->last != 0) {
		e = si->v[si->last - 1];
		if (e->schema == schema && e->type_n == tn &&
		    memcmp(e->type, type, tn) == 0)
			return e;
	}
	h = hash_bytes(&schema, sizeof(schema),
		       hash_bytes(type, tn, 0xcbf29ce484222325ull));
	for (k = si->nslots ? h & (si->nslots - 1) : 0;
	     si->nslots != 0 && si->slots[k] != 0;
	     k = (k + 1) & (si->nslots - 1)) {
		e = si->v[si->slots[k] - 1];
		if (e->hash == h && e->schema == schema && e->type_n == tn &&
		    memcmp(e->type, type, tn) == 0) {
			si->last = si->slots[k];
			return e;
		}
	}
	if (si->n == si->cap) {
		size_t nc = si->cap ? si->cap * 2 : 16;
		struct si_entry **v = realloc(si->v, nc * sizeof(*v));
		if (v == NULL)
			return NULL;
		si->v = v;
		si->cap = nc;
	}
	if ((si->n + 1) * 2 > si->nslots && entries_grow(si) != 0)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->type = malloc(tn + 1)) == NULL) {
		free(e);
		return NULL;
	}
	memcpy(e->type, type, tn);
	e->type[tn] = '\0';
	e->type_n = tn;
	e->schema = schema;
	e->hash = h;
	e->ignored = !wanted(si, type, tn);
	for (k = h & (si->nslots - 1); si->slots[k] != 0;
	     k = (k + 1) & (si->nslots - 1))
		;
	si->v[si->n++] = e;
	si->slots[k] = (uint32_t)si->n;
	si->last = si->n;
	free(si->sorted);
	si->sorted = NULL;
	return e;
}

static const uint8_t nil_value[1] = {0xc0};

int ev_schemainfer_value(struct ev_schemainfer *si, const char *type,
			 size_t type_n, uint64_t schema, const uint8_t *data,
			 size_t n, struct ev_error *err)
{
	struct si_entry *e;
	const uint8_t *p, *end;
	int r;

	if ((e = entry_get(si, type, type_n, schema ? schema : 1)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (e->ignored)
		return 0;
	e->events++;
	if (data == NULL) {
		/* no data is validated as null (evlog-schemas(5)) */
		data = nil_value;
		n = 1;
	}
	end = data + n;
	if (n > 0 && (*data == 0xc4 || *data == 0xc5 || *data == 0xc6)) {
		e->binary++;
		return 1;
	}
	p = data;
	if ((r = see(si, &e->root, &p, end, 1, err)) != 0)
		return r;
	if (p != end)
		return not_json(err, "bytes after the value");
	return 1;
}

int ev_schemainfer_record(struct ev_schemainfer *si, const uint8_t *rec,
			  size_t n, struct ev_error *err)
{
	struct ev_event ev;
	int r;

	if ((r = ev_event_decode(rec, n, &ev, err)) != 0)
		return r;
	if (ev.data != NULL && ev.data_is_binary) {
		/* ev.data holds the bytes, not a msgpack bin */
		struct si_entry *e = entry_get(si, ev.type.p, ev.type.n,
					       ev.schema ? ev.schema : 1);
		if (e == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		if (e->ignored)
			return 0;
		e->events++;
		e->binary++;
		return 1;
	}
	return ev_schemainfer_value(si, ev.type.p, ev.type.n, ev.schema,
				    ev.data, ev.data ? ev.data_len : 0, err);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct si_entry *x = *(struct si_entry *const *)a;
	const struct si_entry *y = *(struct si_entry *const *)b;
	int c = str_cmp(x->type, x->type_n, y->type, y->type_n);

	if (c != 0)
		return c;
	return x->schema < y->schema ? -1 : x->schema > y->schema;
}

/* The entries observed, sorted; NULL out of memory. */
static struct si_entry **sorted(struct ev_schemainfer *si, size_t *n)
{
	size_t i, k = 0;

	if (si->sorted == NULL) {
		if ((si->sorted = malloc((si->n + 1) * sizeof(*si->sorted))) ==
		    NULL)
			return NULL;
		for (i = 0; i < si->n; i++)
			if (!si->v[i]->ignored)
				si->sorted[k++] = si->v[i];
		qsort(si->sorted, k, sizeof(*si->sorted), entry_cmp);
		si->nsorted = k;
	}
	*n = si->nsorted;
	return si->sorted;
}

size_t ev_schemainfer_count(struct ev_schemainfer *si)
{
	size_t n = 0;

	if (sorted(si, &n) == NULL)
		return 0;
	return n;
}

void ev_schemainfer_entry(struct ev_schemainfer *si, size_t i,
			  struct ev_schemainfer_entry *out)
{
	size_t n;
	struct si_entry **v = sorted(si, &n), *e;

	memset(out, 0, sizeof(*out));
	if (v == NULL || i >= n)
		return;
	e = v[i];
	out->type = e->type;
	out->type_n = e->type_n;
	out->schema = e->schema;
	out->events = e->events;
}

/* ---------------------------------------------------------- the schema */

static int indent(struct ev_buf *b, int depth)
{
	int r = ev_buf_putc(b, '\n');

	while (r == 0 && depth-- > 0)
		r = ev_buf_puts(b, "  ");
	return r;
}

/* ",\n  " between members, "\n  " before the first */
static int member(struct ev_buf *b, int *first, int depth, const char *key)
{
	int r = 0;

	if (!*first)
		r = ev_buf_putc(b, ',');
	*first = 0;
	if (r == 0)
		r = indent(b, depth);
	if (r == 0 && key != NULL)
		r = ev_buf_printf(b, "\"%s\": ", key);
	return r;
}

static int prop_cmp(const void *a, const void *b)
{
	const struct si_prop *x = *(struct si_prop *const *)a;
	const struct si_prop *y = *(struct si_prop *const *)b;

	return str_cmp(x->key.s, x->key.n, y->key.s, y->key.n);
}

static int val_cmp(const void *a, const void *b)
{
	const struct si_str *x = a, *y = b;

	return str_cmp(x->s, x->n, y->s, y->n);
}

static int put_type(struct ev_buf *b, unsigned types)
{
	static const struct {
		unsigned bit;
		const char *name;
	} order[] = {
		{T_OBJ, "object"}, {T_ARR, "array"},   {T_STR, "string"},
		{T_NUM, "number"}, {T_INT, "integer"}, {T_BOOL, "boolean"},
		{T_NULL, "null"},
	};
	const char *names[7];
	size_t i, k = 0;
	int r = 0;

	if (types & T_NUM)
		types &= ~(unsigned)T_INT; /* number takes in the integers */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (types & order[i].bit)
			names[k++] = order[i].name;
	if (k == 1)
		return ev_buf_printf(b, "\"%s\"", names[0]);
	r = ev_buf_putc(b, '[');
	for (i = 0; i < k && r == 0; i++)
		r = ev_buf_printf(b, "%s\"%s\"", i ? ", " : "", names[i]);
	return r || ev_buf_putc(b, ']');
}

/* The format of the strings at nd, or NULL. */
static const char *format_of(const struct si_node *nd)
{
	unsigned k;

	if (!(nd->types & T_STR))
		return NULL;
	for (k = 0; k < NFORMATS; k++)
		if (nd->fmts & (1u << k))
			return formats[k];
	return NULL;
}

/* Is the set of strings at nd closed enough for an enum?  Not when they
 * have a format, which says more. */
static int is_enum(const struct ev_schemainfer *si, const struct si_node *nd)
{
	return si->enum_max > 0 && !nd->vals_over && nd->nvals > 0 &&
	       format_of(nd) == NULL &&
	       (nd->types & ~(unsigned)T_NULL) == T_STR &&
	       nd->nstr >= SI_ENUM_MIN_COUNT && nd->nstr >= 2 * nd->nvals;
}

static int put_node(struct ev_schemainfer *si, struct ev_buf *b,
		    struct si_node *nd, int depth, const char *head);

static int put_enum(struct ev_buf *b, struct si_node *nd, int depth)
{
	unsigned i;
	int r;

	qsort(nd->vals, nd->nvals, sizeof(*nd->vals), val_cmp);
	r = ev_buf_putc(b, '[');
	for (i = 0; i < nd->nvals && r == 0; i++) {
		if (i > 0)
			r = ev_buf_putc(b, ',');
		if (r == 0)
			r = indent(b, depth + 1);
		if (r == 0)
			r = ev_json_put_str(b, nd->vals[i].s, nd->vals[i].n);
	}
	if (r == 0 && (nd->types & T_NULL))
		r = ev_buf_putc(b, ',') || indent(b, depth + 1) ||
		    ev_buf_puts(b, "null");
	return r || indent(b, depth) || ev_buf_putc(b, ']');
}

static int put_object(struct ev_schemainfer *si, struct ev_buf *b,
		      struct si_node *nd, int depth, int *first)
{
	struct si_prop **v;
	size_t i, nreq = 0;
	int r = 0, f;

	if (nd->values != NULL) {
		/* a map: no names, one schema for every value */
		if (nd->values->n == 0)
			return 0;
		return member(b, first, depth, "additionalProperties") ||
		       put_node(si, b, nd->values, depth, NULL);
	}
	if (nd->nprops == 0)
		return 0;
	if ((v = malloc(nd->nprops * sizeof(*v))) == NULL)
		return EV_ERR;
	for (i = 0; i < nd->nprops; i++)
		v[i] = &nd->props[i];
	qsort(v, nd->nprops, sizeof(*v), prop_cmp);
	r = member(b, first, depth, "properties") || ev_buf_putc(b, '{');
	for (i = 0, f = 1; i < nd->nprops && r == 0; i++) {
		r = member(b, &f, depth + 1, NULL) ||
		    ev_json_put_str(b, v[i]->key.s, v[i]->key.n) ||
		    ev_buf_puts(b, ": ") ||
		    put_node(si, b, v[i]->node, depth + 1, NULL);
		if (v[i]->count == nd->nobj)
			nreq++;
	}
	if (r == 0)
		r = indent(b, depth) || ev_buf_putc(b, '}');
	if (r == 0 && nreq > 0) {
		r = member(b, first, depth, "required") || ev_buf_putc(b, '[');
		for (i = 0, f = 1; i < nd->nprops && r == 0; i++)
			if (v[i]->count == nd->nobj)
				r = member(b, &f, depth + 1, NULL) ||
				    ev_json_put_str(b, v[i]->key.s,
						    v[i]->key.n);
		if (r == 0)
			r = indent(b, depth) || ev_buf_putc(b, ']');
	}
	free(v);
	return r;
}

/* The schema of nd; head, when not NULL, holds the members that open it
 * (the root's $schema, title and description). */
static int put_node(struct ev_schemainfer *si, struct ev_buf *b,
		    struct si_node *nd, int depth, const char *head)
{
	int first = 1, r;

	r = ev_buf_putc(b, '{');
	if (r == 0 && head != NULL) {
		r = ev_buf_puts(b, head);
		first = 0;
	}
	if (r == 0 && nd != NULL && nd->n > 0) {
		const char *fmt = format_of(nd);
		r = member(b, &first, depth + 1, "type") ||
		    put_type(b, nd->types);
		if (r == 0 && fmt != NULL)
			r = member(b, &first, depth + 1, "format") ||
			    ev_buf_printf(b, "\"%s\"", fmt);
		if (r == 0 && is_enum(si, nd))
			r = member(b, &first, depth + 1, "enum") ||
			    put_enum(b, nd, depth + 1);
		if (r == 0 && (nd->types & T_OBJ))
			r = put_object(si, b, nd, depth + 1, &first);
		if (r == 0 && nd->items != NULL)
			r = member(b, &first, depth + 1, "items") ||
			    put_node(si, b, nd->items, depth + 1, NULL);
	}
	if (r == 0)
		r = first ? 0 : indent(b, depth);
	return r || ev_buf_putc(b, '}');
}

int ev_schemainfer_format(struct ev_schemainfer *si, size_t i,
			  struct ev_buf *out, struct ev_error *err)
{
	struct ev_buf head = {0}, title = {0};
	struct si_entry **v, *e;
	size_t n;
	int r;

	if ((v = sorted(si, &n)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (i >= n)
		return ev_seterr(err, EV_EUSAGE, "no schema %zu", i);
	e = v[i];
	r = ev_buf_printf(&title, "%s (schema %llu)", e->type,
			  (unsigned long long)e->schema);
	r = r || ev_buf_puts(&head, "\n  \"$schema\": "
				    "\"https://json-schema.org/draft/2020-12/"
				    "schema\",\n  \"title\": ");
	r = r || ev_json_put_str(&head, (const char *)title.p, title.len);
	r = r || ev_buf_printf(&head,
			       ",\n  \"description\": \"inferred from "
			       "%llu event%s",
			       (unsigned long long)e->events,
			       e->events == 1 ? "" : "s");
	if (r == 0 && e->binary > 0)
		/* binary data validates only against a schema that takes
		 * every value */
		r = ev_buf_printf(&head,
				  "; %llu with binary data, so any "
				  "value is valid",
				  (unsigned long long)e->binary);
	r = r || ev_buf_putc(&head, '"') || ev_buf_putc(&head, '\0');
	if (r == 0)
		r = put_node(si, out, e->binary > 0 ? NULL : &e->root, 0,
			     (const char *)head.p);
	if (r == 0)
		r = ev_buf_putc(out, '\n');
	ev_buf_free(&head);
	ev_buf_free(&title);
	return r ? ev_seterr(err, EV_ERR, "out of memory") : 0;
}

/* ---------------------------------------------------------- files */

static int mkdir_if(const char *path, struct ev_error *err)
{
	struct stat st;

	if (mkdir(path, 0777) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s'", path);
}

int ev_schemainfer_write_dir(struct ev_schemainfer *si, const char *dir,
			     struct ev_buf *written, struct ev_error *err)
{
	struct ev_buf *paths = NULL, text = {0};
	struct si_entry **v;
	struct stat st;
	size_t n, i, dl = strlen(dir);
	int r = 0, fd;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if ((v = sorted(si, &n)) == NULL ||
	    (n > 0 && (paths = calloc(n, sizeof(*paths))) == NULL))
		return ev_seterr(err, EV_ERR, "out of memory");
	/* every name first: nothing is written when one exists */
	for (i = 0; i < n && r == 0; i++) {
		if (ev_buf_printf(&paths[i], "%.*s/", (int)dl, dir) != 0 ||
		    ev_schemadir_encode_type(v[i]->type, v[i]->type_n,
					     &paths[i]) != 0 ||
		    ev_buf_printf(&paths[i], "/%llu.json%c",
				  (unsigned long long)v[i]->schema, 0) != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
		if (lstat((const char *)paths[i].p, &st) == 0)
			r = ev_seterr(err, EV_EEXIST, "'%s' exists",
				      (const char *)paths[i].p);
	}
	if (r == 0 && n > 0)
		r = mkdir_if(dir, err);
	for (i = 0; i < n && r == 0; i++) {
		char *path = (char *)paths[i].p, *slash = strrchr(path, '/');
		*slash = '\0';
		r = mkdir_if(path, err);
		*slash = '/';
		text.len = 0;
		if (r == 0 && ev_schemainfer_format(si, i, &text, err) != 0)
			r = err->code;
		if (r != 0)
			break;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0) {
			r = ev_seterr_errno(err,
					    errno == EEXIST ? EV_EEXIST
							    : EV_EIO,
					    errno, "cannot create '%s'", path);
			break;
		}
		if (ev_write_full(fd, text.p, text.len, 0) != 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot write '%s'", path);
			close(fd);
			unlink(path);
			break;
		}
		if (close(fd) != 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot write '%s'", path);
			unlink(path);
			break;
		}
		if (written != NULL &&
		    (ev_buf_puts(written, path) || ev_buf_putc(written, '\n')))
			r = ev_seterr(err, EV_ERR, "out of memory");
	}
	for (i = 0; i < n; i++)
		ev_buf_free(&paths[i]);
	free(paths);
	ev_buf_free(&text);
	return r;
}
