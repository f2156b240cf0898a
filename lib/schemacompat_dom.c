/*
 * schemacompat_dom.c - the two schemas as the comparison reads them: a
 * DOM built from each msgpack image (struct jv, in one arena, every node
 * with its JSON pointer; a key twice refused), its members and numbers
 * read, JSON equality and a hash that agrees with it (struct vset, an
 * enum's values as a set), and local references ("#", "#/pointer",
 * "#anchor") resolved in their document.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemacompat_int.h"

void *ev_sc_arena_alloc(struct arena *ar, size_t n)
{
	struct arena_blk *b = ar->head;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		b = malloc(sizeof(*b) + cap);
		if (b == NULL) {
			ar->oom = 1;
			return NULL;
		}
		b->used = 0;
		b->cap = cap;
		b->next = ar->head;
		ar->head = b;
	}
	p = b->mem + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

void ev_sc_arena_free(struct arena *ar)
{
	struct arena_blk *b, *next;

	for (b = ar->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	ar->head = NULL;
}

static char *arena_strndup(struct arena *ar, const char *s, size_t n)
{
	char *p = ev_sc_arena_alloc(ar, n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* path + "/" + key, the key escaped as RFC 6901 says */
static char *path_join(struct arena *ar, const char *path, const char *key,
		       size_t kn)
{
	size_t pl = strlen(path), i, extra = 0;
	char *p, *o;

	for (i = 0; i < kn; i++)
		extra += key[i] == '~' || key[i] == '/';
	p = ev_sc_arena_alloc(ar, pl + 1 + kn + extra + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, path, pl);
	o = p + pl;
	*o++ = '/';
	for (i = 0; i < kn; i++) {
		if (key[i] == '~') {
			*o++ = '~';
			*o++ = '0';
		} else if (key[i] == '/') {
			*o++ = '~';
			*o++ = '1';
		} else {
			*o++ = key[i];
		}
	}
	*o = '\0';
	return p;
}

static char *path_index(struct arena *ar, const char *path, size_t i)
{
	char num[24];

	snprintf(num, sizeof(num), "%zu", i);
	return path_join(ar, path, num, strlen(num));
}

static int cmp_key(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

/* A key twice in one object: what it means differs between parsers (and
 * the validator), so such a schema is refused. */
static int dup_keys(struct arena *ar, struct jv *v)
{
	const char **k;
	uint32_t i;

	if (v->n < 2)
		return 0;
	k = ev_sc_arena_alloc(ar, v->n * sizeof(*k));
	if (k == NULL)
		return -1;
	for (i = 0; i < v->n; i++) {
		if (strlen(v->k[i]) != v->kn[i])
			return 0; /* a NUL in a key: compared as written */
		k[i] = v->k[i];
	}
	qsort(k, v->n, sizeof(*k), cmp_key);
	for (i = 1; i < v->n; i++)
		if (strcmp(k[i - 1], k[i]) == 0) {
			ar->dup_path = v->path;
			ar->dup_key = k[i];
			return -1;
		}
	return 0;
}

static int build_value(struct arena *ar, struct jdoc *doc, struct jv *v,
		       const uint8_t **p, const uint8_t *end, const char *path,
		       int depth);

int ev_sc_build(struct arena *ar, struct jdoc *doc, struct jv *v,
		const uint8_t **p, const uint8_t *end, const char *path,
		int depth)
{
	const uint8_t *start = *p;
	int rc;

	rc = build_value(ar, doc, v, p, end, path, depth);
	v->mp = start;
	v->mpn = (size_t)(*p - start);
	return rc;
}

static int build_value(struct arena *ar, struct jdoc *doc, struct jv *v,
		       const uint8_t **p, const uint8_t *end, const char *path,
		       int depth)
{
	struct ev_mp_item it;
	uint32_t i;

	if (depth > EV_MAX_DEPTH + 2 || ev_mp_read(p, end, &it) != 0)
		return -1;
	memset(v, 0, sizeof(*v));
	v->doc = doc;
	v->path = (char *)path;
	switch (it.type) {
	case EV_MP_NIL:
		v->t = J_NULL;
		return 0;
	case EV_MP_BOOL:
		v->t = J_BOOL;
		v->v.b = it.v.b;
		return 0;
	case EV_MP_UINT:
		v->t = J_UINT;
		v->v.u = it.v.u;
		if (it.v.u <= INT64_MAX) {
			v->t = J_INT;
			v->v.i = (int64_t)it.v.u;
		}
		return 0;
	case EV_MP_INT:
		v->t = J_INT;
		v->v.i = it.v.i;
		return 0;
	case EV_MP_FLOAT:
		v->t = J_FLOAT;
		v->v.f = it.v.f;
		return 0;
	case EV_MP_STR:
		v->t = J_STR;
		v->n = it.n;
		v->s = arena_strndup(ar, (const char *)it.p, it.n);
		return v->s == NULL ? -1 : 0;
	case EV_MP_ARRAY:
		v->t = J_ARR;
		v->n = it.n;
		if (it.n > (size_t)(end - *p))
			return -1;
		v->a = ev_sc_arena_alloc(ar, (size_t)it.n * sizeof(*v->a) + 1);
		if (v->a == NULL)
			return -1;
		for (i = 0; i < it.n; i++) {
			char *cp = path_index(ar, path, i);

			if (cp == NULL || ev_sc_build(ar, doc, &v->a[i], p, end,
						      cp, depth + 1) != 0)
				return -1;
		}
		return 0;
	case EV_MP_MAP:
		v->t = J_OBJ;
		v->n = it.n;
		if (it.n > (size_t)(end - *p))
			return -1;
		v->a = ev_sc_arena_alloc(ar, (size_t)it.n * sizeof(*v->a) + 1);
		v->k = ev_sc_arena_alloc(ar, (size_t)it.n * sizeof(*v->k) + 1);
		v->kn = ev_sc_arena_alloc(ar,
					  (size_t)it.n * sizeof(*v->kn) + 1);
		if (v->a == NULL || v->k == NULL || v->kn == NULL)
			return -1;
		for (i = 0; i < it.n; i++) {
			struct ev_mp_item key;
			char *cp;

			if (ev_mp_read(p, end, &key) != 0 ||
			    key.type != EV_MP_STR)
				return -1;
			v->k[i] = arena_strndup(ar, (const char *)key.p, key.n);
			v->kn[i] = key.n;
			cp = path_join(ar, path, (const char *)key.p, key.n);
			if (v->k[i] == NULL || cp == NULL ||
			    ev_sc_build(ar, doc, &v->a[i], p, end, cp,
					depth + 1) != 0)
				return -1;
		}
		return dup_keys(ar, v);
	default:
		return -1;
	}
}

void ev_sc_mark_embedded(struct jv *v, int flag, int root, int depth)
{
	const struct jv *id;
	uint32_t i;

	if (depth > 2 * EV_MAX_DEPTH + 8)
		return;
	if (v->t == J_OBJ && !root && (id = ev_sc_get(v, "$id")) != NULL &&
	    id->t == J_STR && id->s[0] != '#')
		flag = 1;
	v->embedded = flag;
	if (v->t == J_OBJ || v->t == J_ARR)
		for (i = 0; i < v->n; i++)
			ev_sc_mark_embedded(&v->a[i], flag, 0, depth + 1);
}

struct jv *ev_sc_get(const struct jv *o, const char *key)
{
	uint32_t i;

	if (o == NULL || o->t != J_OBJ)
		return NULL;
	/* the last of duplicate keys wins, as in JSON.parse */
	for (i = o->n; i-- > 0;)
		if (strcmp(o->k[i], key) == 0 && o->kn[i] == strlen(key))
			return &o->a[i];
	return NULL;
}

struct jv *ev_sc_getn(const struct jv *o, const char *key, size_t kn)
{
	uint32_t i;

	if (o == NULL || o->t != J_OBJ)
		return NULL;
	for (i = o->n; i-- > 0;)
		if (o->kn[i] == kn && memcmp(o->k[i], key, kn) == 0)
			return &o->a[i];
	return NULL;
}

int ev_sc_is_num(const struct jv *v)
{
	return v != NULL &&
	       (v->t == J_INT || v->t == J_UINT || v->t == J_FLOAT);
}

long double ev_sc_num(const struct jv *v)
{
	switch (v->t) {
	case J_INT:
		return (long double)v->v.i;
	case J_UINT:
		return (long double)v->v.u;
	case J_FLOAT:
		return (long double)v->v.f;
	default:
		return 0;
	}
}

int ev_sc_is_integral(const struct jv *v)
{
	return v->t == J_INT || v->t == J_UINT ||
	       (v->t == J_FLOAT && isfinite(v->v.f) && floor(v->v.f) == v->v.f);
}

/* JSON equality: 1 equals 1.0, object members in any order */
int ev_sc_jv_equal(const struct jv *a, const struct jv *b, int depth)
{
	uint32_t i;

	if (depth > 2 * EV_MAX_DEPTH)
		return 0;
	if (ev_sc_is_num(a) && ev_sc_is_num(b))
		return ev_sc_num(a) == ev_sc_num(b);
	if (a->t != b->t)
		return 0;
	switch (a->t) {
	case J_NULL:
		return 1;
	case J_BOOL:
		return a->v.b == b->v.b;
	case J_STR:
		return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
	case J_ARR:
		if (a->n != b->n)
			return 0;
		for (i = 0; i < a->n; i++)
			if (!ev_sc_jv_equal(&a->a[i], &b->a[i], depth + 1))
				return 0;
		return 1;
	case J_OBJ:
		if (a->n != b->n)
			return 0;
		for (i = 0; i < a->n; i++) {
			struct jv *o = ev_sc_getn(b, a->k[i], a->kn[i]);

			if (o == NULL ||
			    !ev_sc_jv_equal(&a->a[i], o, depth + 1))
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}

/* ------------------------------------------------------ a set of values */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t bytes_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A hash that agrees with ev_sc_jv_equal(): equal values hash alike (1 and 1.0,
 * members in any order). */
static uint64_t jv_hash(const struct jv *v, int depth)
{
	uint64_t h;
	uint32_t i;

	if (depth > 2 * EV_MAX_DEPTH)
		return 0;
	switch (v->t) {
	case J_INT: /* negative: the magnitude, complemented */
		return v->v.i < 0 ? mix64(~(0 - (uint64_t)v->v.i))
				  : mix64((uint64_t)v->v.i + 1);
	case J_UINT:
		return mix64(v->v.u + 1);
	case J_FLOAT: {
		double f = v->v.f;
		uint64_t bits;

		/* an integral value in range hashes as the integer */
		if (isfinite(f) && floor(f) == f &&
		    f >= -9223372036854775808.0 && f < 18446744073709551616.0) {
			if (f < 0)
				return mix64(~(uint64_t)-f);
			return mix64((uint64_t)f + 1);
		}
		memcpy(&bits, &f, sizeof(bits));
		return mix64(bits ^ 0x5555555555555555ull);
	}
	case J_NULL:
		return 0x1234;
	case J_BOOL:
		return v->v.b ? 0x2345 : 0x3456;
	case J_STR:
		return bytes_hash(v->s, v->n) ^ 0x77;
	case J_ARR:
		h = 0x4567 + v->n;
		for (i = 0; i < v->n; i++)
			h = mix64(h ^ jv_hash(&v->a[i], depth + 1));
		return h;
	case J_OBJ:
		h = 0x5678 + v->n;
		for (i = 0; i < v->n; i++)
			h += mix64(bytes_hash(v->k[i], v->kn[i]) ^
				   mix64(jv_hash(&v->a[i], depth + 1)));
		return h;
	default:
		return 0;
	}
}

int ev_sc_vset_build(struct vset *s, const struct jv *arr)
{
	size_t cap = 16, i;

	while (cap < 2 * (size_t)arr->n)
		cap *= 2;
	s->slot = calloc(cap, sizeof(*s->slot));
	s->hash = malloc(cap * sizeof(*s->hash));
	s->mask = cap - 1;
	if (s->slot == NULL || s->hash == NULL) {
		free(s->slot);
		free(s->hash);
		s->slot = NULL;
		s->hash = NULL;
		return -1;
	}
	for (i = 0; i < arr->n; i++) {
		const struct jv *v = &arr->a[i];
		uint64_t h = jv_hash(v, 0);
		size_t k = (size_t)h & s->mask;

		while (s->slot[k] != NULL) {
			if (s->hash[k] == h && ev_sc_jv_equal(s->slot[k], v, 0))
				break;
			k = (k + 1) & s->mask;
		}
		if (s->slot[k] == NULL) {
			s->slot[k] = v;
			s->hash[k] = h;
		}
	}
	return 0;
}

int ev_sc_vset_has(const struct vset *s, const struct jv *v)
{
	uint64_t h = jv_hash(v, 0);
	size_t k = (size_t)h & s->mask;

	for (; s->slot[k] != NULL; k = (k + 1) & s->mask)
		if (s->hash[k] == h && ev_sc_jv_equal(s->slot[k], v, 0))
			return 1;
	return 0;
}

void ev_sc_vset_free(struct vset *s)
{
	free(s->slot);
	free(s->hash);
	s->slot = NULL;
	s->hash = NULL;
}

/* Resolve a local reference "#", "#/pointer" or "#anchor" in doc. */
static const struct jv *find_anchor(const struct jv *v, const char *name,
				    int depth)
{
	const struct jv *a, *r;
	uint32_t i;

	if (depth > 2 * EV_MAX_DEPTH + 4)
		return NULL;
	if (v->t == J_OBJ) {
		a = ev_sc_get(v, "$anchor");
		if (a != NULL && a->t == J_STR && strcmp(a->s, name) == 0)
			return v;
		a = ev_sc_get(v, "$dynamicAnchor");
		if (a != NULL && a->t == J_STR && strcmp(a->s, name) == 0)
			return v;
	}
	if (v->t == J_OBJ || v->t == J_ARR)
		for (i = 0; i < v->n; i++)
			if ((r = find_anchor(&v->a[i], name, depth + 1)) !=
			    NULL)
				return r;
	return NULL;
}

static int hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const struct jv *resolve_ptr(const struct jdoc *doc, const char *ref);

/* the target of ref, in the node n, when it is local to the document */
const struct jv *ev_sc_resolve_local(const struct jv *n, const char *ref)
{
	if (n->embedded)
		return NULL;
	return resolve_ptr(n->doc, ref);
}

static const struct jv *resolve_ptr(const struct jdoc *doc, const char *ref)
{
	const struct jv *v = &doc->root;
	char tok[1024];
	const char *p;
	size_t n;

	if (ref[0] != '#')
		return NULL;
	if (ref[1] == '\0')
		return v;
	if (ref[1] != '/')
		return find_anchor(v, ref + 1, 0);
	for (p = ref + 1; *p == '/';) {
		p++;
		n = 0;
		while (*p != '\0' && *p != '/') {
			int c = (unsigned char)*p++;

			if (c == '%' && hexv(p[0]) >= 0 && hexv(p[1]) >= 0) {
				c = hexv(p[0]) * 16 + hexv(p[1]);
				p += 2;
			}
			if (c == '~' && (*p == '0' || *p == '1'))
				c = *p++ == '0' ? '~' : '/';
			if (n + 1 >= sizeof(tok))
				return NULL;
			tok[n++] = (char)c;
		}
		tok[n] = '\0';
		if (v->t == J_OBJ) {
			v = ev_sc_getn(v, tok, n);
		} else if (v->t == J_ARR) {
			char *end;
			unsigned long i = strtoul(tok, &end, 10);

			if (n == 0 || *end != '\0' || i >= v->n)
				return NULL;
			v = &v->a[i];
		} else {
			return NULL;
		}
		if (v == NULL)
			return NULL;
	}
	return *p == '\0' ? v : NULL;
}

/* A $ref/$dynamicRef/$recursiveRef that is not followed. */
const struct jv *ev_sc_ext_ref(const struct jv *n)
{
	const struct jv *r = ev_sc_get(n, "$ref");

	if (r != NULL && r->t == J_STR && ev_sc_resolve_local(n, r->s) == NULL)
		return r;
	r = ev_sc_get(n, "$dynamicRef");
	if (r != NULL && r->t == J_STR)
		return r;
	r = ev_sc_get(n, "$recursiveRef");
	if (r != NULL && r->t == J_STR)
		return r;
	return NULL;
}
