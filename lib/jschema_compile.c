/*
 * jschema_compile.c - struct ev_jschema_set: JSON Schema documents by URI, and
 * their compilation into struct ev_jschema nodes (jschema_priv.h).
 *
 * A document is transcoded once to msgpack and kept.  Compiling walks
 * every schema position of it (the keywords of its draft and
 * vocabularies), registering resources ($id), anchors and dynamic
 * anchors.  References are kept as absolute URIs until
 * ev_jschema_set_compile() resolves them: through the set, the
 * embedded metaschemas, the --ref-dir mappings, or files under the
 * local root.  A JSON pointer fragment is followed through the msgpack
 * of its resource, and the value it reaches compiled on demand (or
 * found: nodes are keyed by the address of their value).  Last, a
 * check that no cycle of in-place references makes no progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "jschema_priv.h"

/* ------------------------------------------------------------ allocation */

static int track(struct ev_jschema_set *s, void *p)
{
	if (s->nallocs == s->capallocs) {
		size_t nc = s->capallocs ? 2 * s->capallocs : 64;
		void **n = realloc(s->allocs, nc * sizeof(*n));

		if (n == NULL)
			return -1;
		s->allocs = n;
		s->capallocs = nc;
	}
	s->allocs[s->nallocs++] = p;
	return 0;
}

void *js_alloc(struct ev_jschema_set *s, size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL)
		return NULL;
	if (track(s, p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

char *js_strdup(struct ev_jschema_set *s, const char *p, size_t n)
{
	char *d = js_alloc(s, n + 1);

	if (d != NULL) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

/* take ownership of a malloc'd pointer */
static void *own(struct ev_jschema_set *s, void *p)
{
	if (p != NULL && track(s, p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

static int vec_push(void ***v, size_t *n, size_t *cap, void *x)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 32;
		void **nv = realloc(*v, nc * sizeof(**v));

		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/* ------------------------------------------------------------------ maps */

struct jmap_ent {
	char *k;
	size_t kn;
	uint32_t h;
	void *v;
};
struct jmap {
	struct jmap_ent *e;
	size_t cap, n;
};

static uint32_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h;
}

static struct jmap_ent *map_slot(struct jmap *m, const void *k, size_t kn,
				 uint32_t h)
{
	size_t i = h & (m->cap - 1);

	for (;;) {
		struct jmap_ent *e = &m->e[i];

		if (e->k == NULL ||
		    (e->h == h && e->kn == kn && memcmp(e->k, k, kn) == 0))
			return e;
		i = (i + 1) & (m->cap - 1);
	}
}

static void *map_get(struct jmap *m, const void *k, size_t kn)
{
	struct jmap_ent *e;

	if (m == NULL || m->cap == 0)
		return NULL;
	e = map_slot(m, k, kn, hash_bytes(k, kn));
	return e->k ? e->v : NULL;
}

static void *map_gets(struct jmap *m, const char *k)
{
	return map_get(m, k, strlen(k));
}

/* 0 added, 1 there already (not replaced), -1 no memory */
static int map_put(struct jmap *m, const void *k, size_t kn, void *v)
{
	uint32_t h = hash_bytes(k, kn);
	struct jmap_ent *e;

	if (2 * (m->n + 1) > m->cap) {
		size_t nc = m->cap ? 2 * m->cap : 64, i;
		struct jmap_ent *ne = calloc(nc, sizeof(*ne)), *old = m->e;
		size_t oc = m->cap;

		if (ne == NULL)
			return -1;
		m->e = ne;
		m->cap = nc;
		for (i = 0; i < oc; i++)
			if (old[i].k != NULL)
				*map_slot(m, old[i].k, old[i].kn, old[i].h) =
					old[i];
		free(old);
	}
	e = map_slot(m, k, kn, h);
	if (e->k != NULL)
		return 1;
	e->k = malloc(kn + 1);
	if (e->k == NULL)
		return -1;
	memcpy(e->k, k, kn);
	e->k[kn] = '\0';
	e->kn = kn;
	e->h = h;
	e->v = v;
	m->n++;
	return 0;
}

static void map_free(struct jmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->cap; i++)
		free(m->e[i].k);
	free(m->e);
	free(m);
}

/* the node at a JSON pointer of a document: a $ref by pointer finds it
 * without walking the document (linear compiles of long ref chains) */
static int path_key(struct ev_buf *b, const struct jdoc *d, const char *path,
		    size_t pn)
{
	b->len = 0;
	if (ev_buf_append(b, &d, sizeof(d)) != 0 ||
	    ev_buf_append(b, path, pn) != 0)
		return -1;
	return 0;
}

static int node_path_put(struct ev_jschema_set *s, struct jnode *n)
{
	struct ev_buf b = {0};
	int r = path_key(&b, n->doc, n->path, strlen(n->path));

	if (r == 0)
		r = map_put(s->node_by_path, b.p, b.len, n) < 0 ? -1 : 0;
	ev_buf_free(&b);
	return r;
}

static struct jnode *node_path_get(struct ev_jschema_set *s,
				   const struct jdoc *d, const char *path,
				   size_t pn)
{
	struct ev_buf b = {0};
	struct jnode *n = NULL;

	if (path_key(&b, d, path, pn) == 0)
		n = map_get(s->node_by_path, b.p, b.len);
	ev_buf_free(&b);
	return n;
}

/* -------------------------------------------------------------- the set */

int ev_jschema_set_new(struct ev_jschema_set **out,
		       const struct ev_jschema_opts *o, struct ev_error *err)
{
	struct ev_jschema_set *s = calloc(1, sizeof(*s));
	size_t i, n = 0;

	*out = NULL;
	if (s == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (o != NULL)
		s->o = *o;
	s->o.ref_dirs = NULL;
	s->o.local_root = NULL;
	if (s->o.max_errors == 0)
		s->o.max_errors = 100;
	s->res_by_uri = calloc(1, sizeof(struct jmap));
	s->anchors = calloc(1, sizeof(struct jmap));
	s->node_by_addr = calloc(1, sizeof(struct jmap));
	s->node_by_path = calloc(1, sizeof(struct jmap));
	if (s->res_by_uri == NULL || s->anchors == NULL ||
	    s->node_by_addr == NULL || s->node_by_path == NULL)
		goto nomem;
	if (o != NULL && o->ref_dirs != NULL) {
		while (o->ref_dirs[n] != NULL)
			n++;
		s->ref_dirs = js_alloc(s, (n + 1) * sizeof(char *));
		if (s->ref_dirs == NULL)
			goto nomem;
		for (i = 0; i < n; i++)
			if ((s->ref_dirs[i] =
				     js_strdup(s, o->ref_dirs[i],
					       strlen(o->ref_dirs[i]))) == NULL)
				goto nomem;
	}
	if (o != NULL && o->local_root != NULL) {
		char *r = realpath(o->local_root, NULL);

		if (r == NULL)
			r = strdup(o->local_root);
		if ((s->local_root = own(s, r)) == NULL)
			goto nomem;
	}
	*out = s;
	return 0;
nomem:
	ev_jschema_set_free(s);
	return ev_seterr(err, EV_ERR, "out of memory");
}

void ev_jschema_set_free(struct ev_jschema_set *s)
{
	size_t i;
	struct jdoc *d, *nd;

	if (s == NULL)
		return;
	for (i = 0; i < s->nre; i++)
		ev_ecmare_free(s->res_re[i]);
	free(s->res_re);
	for (d = s->docs; d != NULL; d = nd) {
		nd = d->next;
		free(d->mp);
		free(d);
	}
	map_free(s->res_by_uri);
	map_free(s->anchors);
	map_free(s->node_by_addr);
	map_free(s->node_by_path);
	free(s->pending);
	free(s->all);
	for (i = 0; i < s->nallocs; i++)
		free(s->allocs[i]);
	free(s->allocs);
	free(s);
}

enum ev_jschema_draft ev_jschema_draft_of(const struct ev_jschema *sc)
{
	return (enum ev_jschema_draft)sc->draft;
}

/* ------------------------------------------------------------ compiling */

struct cc {
	struct ev_jschema_set *s;
	struct jdoc *doc;
	const uint8_t *end;
	struct ev_error *err;
	int failed;
};

static int cfail(struct cc *c, const char *path, const char *fmt, ...)
	EV_PRINTF(3, 4);

static int cfail(struct cc *c, const char *path, const char *fmt, ...)
{
	char m[768];
	va_list ap;

	if (c->failed)
		return EV_EDATA;
	c->failed = 1;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	ev_seterr(c->err, EV_EDATA, "%s: %s: %s", c->doc->name,
		  *path ? path : "/", m);
	return EV_EDATA;
}

static int nomem(struct cc *c)
{
	if (!c->failed) {
		c->failed = 1;
		ev_seterr(c->err, EV_ERR, "out of memory");
	}
	return EV_ERR;
}

/* path + "/" + escaped key */
static char *path_join(struct ev_jschema_set *s, const char *path,
		       const char *k, size_t kn)
{
	size_t pl = strlen(path), i, extra = 0;
	char *r, *o;

	for (i = 0; i < kn; i++)
		if (k[i] == '~' || k[i] == '/')
			extra++;
	r = js_alloc(s, pl + 1 + kn + extra + 1);
	if (r == NULL)
		return NULL;
	memcpy(r, path, pl);
	o = r + pl;
	*o++ = '/';
	for (i = 0; i < kn; i++) {
		if (k[i] == '~') {
			*o++ = '~';
			*o++ = '0';
		} else if (k[i] == '/') {
			*o++ = '~';
			*o++ = '1';
		} else {
			*o++ = k[i];
		}
	}
	*o = '\0';
	return r;
}

static char *path_idx(struct ev_jschema_set *s, const char *path, size_t i)
{
	char b[32];

	snprintf(b, sizeof(b), "%zu", i);
	return path_join(s, path, b, strlen(b));
}

static int keyis(const struct ev_mp_item *k, const char *name)
{
	size_t n = strlen(name);

	return k->n == n && memcmp(k->p, name, n) == 0;
}

static int num_of(const struct ev_mp_item *it, struct jnum *n)
{
	char *e;

	memset(n, 0, sizeof(*n));
	switch (it->type) {
	case EV_MP_UINT:
		if (it->v.u <= INT64_MAX) {
			n->kind = 0;
			n->i = (int64_t)it->v.u;
			e = ev_fmt_i64(n->text, n->i);
		} else {
			n->kind = 1;
			n->u = it->v.u;
			e = ev_fmt_u64(n->text, n->u);
		}
		n->d = (double)it->v.u;
		break;
	case EV_MP_INT:
		n->kind = 0;
		n->i = it->v.i;
		n->d = (double)it->v.i;
		e = ev_fmt_i64(n->text, n->i);
		break;
	case EV_MP_FLOAT:
		n->kind = 2;
		n->d = it->v.f;
		e = ev_fmt_double(n->text, n->d);
		/* "1.0" reads as 1 in messages */
		if (e - n->text > 2 && e[-1] == '0' && e[-2] == '.')
			e -= 2;
		break;
	default:
		return -1;
	}
	*e = '\0';
	return 0;
}

static int is_nonneg_int(const struct ev_mp_item *it, int64_t *v)
{
	if (it->type == EV_MP_UINT) {
		*v = it->v.u > INT64_MAX ? INT64_MAX : (int64_t)it->v.u;
		return 1;
	}
	if (it->type == EV_MP_INT && it->v.i >= 0) {
		*v = it->v.i;
		return 1;
	}
	if (it->type == EV_MP_FLOAT && it->v.f >= 0 &&
	    it->v.f == floor(it->v.f)) {
		*v = it->v.f >= 9.2e18 ? INT64_MAX : (int64_t)it->v.f;
		return 1;
	}
	return 0;
}

/* the end of the value at p */
static const uint8_t *val_end(struct cc *c, const uint8_t *p)
{
	const uint8_t *q = p;

	if (ev_mp_skip(&q, c->end, JS_SKIP_DEPTH) != 0)
		return NULL;
	return q;
}

/* keyword tables: which draft and vocabulary turn a keyword on */
#define D7 1
#define D19 2
#define D20 4
#define DALL (D7 | D19 | D20)
#define D1920 (D19 | D20)

static int draft_bit(int draft)
{
	return draft == 7 ? D7 : draft == 2019 ? D19 : D20;
}

static int kw_on(int draft, unsigned vocab, int drafts, unsigned voc)
{
	if (!(draft_bit(draft) & drafts))
		return 0;
	if (draft == 7)
		return 1;
	return (vocab & voc) != 0;
}

struct jnode *js_compile_at(struct cc *c, const uint8_t *p, const char *base,
			    struct jres *res, const char *path, int draft,
			    unsigned vocab, int depth);

static int register_res(struct cc *c, const char *uri, struct jres *r)
{
	int k = map_put(c->s->res_by_uri, uri, strlen(uri), r);
	struct jres *old;

	if (k < 0)
		return nomem(c);
	old = map_gets(c->s->res_by_uri, uri);
	/* whichever comes first, two documents may not share a URI: the
	 * second would silently stand for the first */
	if (k == 1 && old != r && old->doc != c->doc)
		return cfail(c, r->path, "'$id' '%s' is also the %s of '%s'",
			     uri, old->by_id ? "'$id'" : "URI", old->doc->name);
	return 0;
}

static int register_anchor(struct cc *c, const char *base, const char *name,
			   size_t nn, struct jnode *n)
{
	size_t bl = strlen(base);
	char *k = malloc(bl + 1 + nn + 1);
	int r;

	if (k == NULL)
		return nomem(c);
	memcpy(k, base, bl);
	k[bl] = '#';
	memcpy(k + bl + 1, name, nn);
	k[bl + 1 + nn] = '\0';
	r = map_put(c->s->anchors, k, bl + 1 + nn, n);
	free(k);
	return r < 0 ? nomem(c) : 0;
}

/* resolve ref against base into set memory */
static char *resolve_uri(struct cc *c, const char *base, const char *ref,
			 size_t rn, const char *path)
{
	char *r = NULL, *tmp = js_strdup(c->s, ref, rn);
	int e;

	if (tmp == NULL)
		return nomem(c), NULL;
	e = ev_uri_resolve(base, tmp, &r);
	if (e != 0 || r == NULL) {
		free(r);
		cfail(c, path, "invalid URI reference '%s'", tmp);
		return NULL;
	}
	return own(c->s, r);
}

/* the URI without its fragment (set memory) */
static char *uri_nofrag(struct ev_jschema_set *s, const char *u)
{
	const char *f;
	size_t n = ev_uri_fragment(u, &f);

	return js_strdup(s, u, n);
}

static struct jnode **compile_array(struct cc *c, const uint8_t *p,
				    const char *base, struct jres *res,
				    const char *path, int draft, unsigned vocab,
				    int depth, uint32_t *count, const char *kw)
{
	struct ev_mp_item it;
	struct jnode **v;
	uint32_t i;

	if (ev_mp_read(&p, c->end, &it) != 0)
		return cfail(c, path, "invalid value"), NULL;
	if (it.type != EV_MP_ARRAY)
		return cfail(c, path, "'%s' must be an array of schemas", kw),
		       NULL;
	if (it.n == 0 && strcmp(kw, "prefixItems") != 0 &&
	    strcmp(kw, "items") != 0)
		return cfail(c, path, "'%s' must not be empty", kw), NULL;
	v = js_alloc(c->s, (it.n + 1) * sizeof(*v));
	if (v == NULL)
		return nomem(c), NULL;
	for (i = 0; i < it.n; i++) {
		char *ip = path_idx(c->s, path, i);

		if (ip == NULL)
			return nomem(c), NULL;
		v[i] = js_compile_at(c, p, base, res, ip, draft, vocab,
				     depth + 1);
		if (v[i] == NULL)
			return NULL;
		p = val_end(c, p);
		if (p == NULL)
			return cfail(c, path, "invalid value"), NULL;
	}
	*count = it.n;
	return v;
}

/* the entry of name in a growing list of props, hashed */
struct proplist {
	struct jprop *v;
	uint32_t n, cap;
	uint32_t *tab; /* index + 1; 0 empty */
	uint32_t tabmask;
};

/* by a hash of every byte: the names of a big schema are often alike
 * ("p1", "p2"...) where js_key_hash looks at three bytes */
static void prop_tab_put(struct proplist *l, uint32_t i)
{
	uint32_t h = hash_bytes(l->v[i].name, l->v[i].len) & l->tabmask;

	while (l->tab[h])
		h = (h + 1) & l->tabmask;
	l->tab[h] = i + 1;
}

static struct jprop *prop_get(struct cc *c, struct proplist *l,
			      const char *name, uint32_t len)
{
	uint32_t i, h;

	if (l->tab != NULL)
		for (h = hash_bytes(name, len) & l->tabmask; l->tab[h];
		     h = (h + 1) & l->tabmask) {
			struct jprop *pr = &l->v[l->tab[h] - 1];

			if (pr->len == len && memcmp(pr->name, name, len) == 0)
				return pr;
		}
	if (l->n == l->cap) {
		uint32_t nc = l->cap ? 2 * l->cap : 16;
		struct jprop *nv = realloc(l->v, nc * sizeof(*nv));
		uint32_t *nt = calloc(2 * (size_t)nc, sizeof(*nt));

		if (nv == NULL || nt == NULL) {
			if (nv != NULL)
				l->v = nv;
			free(nt);
			return nomem(c), NULL;
		}
		l->v = nv;
		l->cap = nc;
		free(l->tab);
		l->tab = nt;
		l->tabmask = 2 * nc - 1;
		for (i = 0; i < l->n; i++)
			prop_tab_put(l, i);
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n].name = name;
	l->v[l->n].len = len;
	l->v[l->n].hash = js_key_hash((const uint8_t *)name, len);
	l->v[l->n].slot = -1;
	prop_tab_put(l, l->n);
	return &l->v[l->n++];
}

/* a string array (required, dependentRequired) */
static int str_array(struct cc *c, const uint8_t *p, const char *path,
		     const char *kw, const char ***names, uint32_t **lens,
		     uint32_t *count)
{
	struct ev_mp_item it, e;
	uint32_t i;

	if (ev_mp_read(&p, c->end, &it) != 0 || it.type != EV_MP_ARRAY)
		return cfail(c, path, "'%s' must be an array of strings", kw);
	*names = js_alloc(c->s, (it.n + 1) * sizeof(char *));
	*lens = js_alloc(c->s, (it.n + 1) * sizeof(uint32_t));
	if (*names == NULL || *lens == NULL)
		return nomem(c);
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(&p, c->end, &e) != 0 || e.type != EV_MP_STR)
			return cfail(c, path,
				     "'%s' must be an array of strings", kw);
		(*names)[i] = (const char *)e.p;
		(*lens)[i] = e.n;
	}
	*count = it.n;
	return 0;
}

static int add_regex(struct cc *c, const char *src, size_t n, const char *path,
		     struct ev_ecmare **out)
{
	char why[256];

	why[0] = '\0';
	if (ev_ecmare_compile(src, n, out, why, sizeof(why)) != 0)
		return cfail(c, path, "invalid regex '%.*s': %s",
			     (int)(n > 200 ? 200 : n), src, why);
	if (vec_push((void ***)&c->s->res_re, &c->s->nre, &c->s->capre, *out) !=
	    0) {
		ev_ecmare_free(*out);
		*out = NULL;
		return nomem(c);
	}
	return 0;
}

static int type_bit(const struct ev_mp_item *t, uint32_t *m)
{
	static const struct {
		const char *n;
		uint32_t b;
	} tab[] = {
		{"null", JT_NULL},   {"boolean", JT_BOOL},
		{"integer", JT_INT}, {"number", JT_INT | JT_NUM},
		{"string", JT_STR},  {"array", JT_ARR},
		{"object", JT_OBJ},
	};
	size_t i;

	if (t->type != EV_MP_STR)
		return -1;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (keyis(t, tab[i].n)) {
			*m |= tab[i].b;
			return 0;
		}
	return -1;
}

static struct jnum *num_kw(struct cc *c, const uint8_t *p, const char *path,
			   const char *kw)
{
	struct ev_mp_item it;
	struct jnum *n;

	if (ev_mp_read(&p, c->end, &it) != 0 ||
	    num_of(&it, &(struct jnum){0}) != 0)
		return cfail(c, path, "'%s' must be a number", kw), NULL;
	n = js_alloc(c->s, sizeof(*n));
	if (n == NULL)
		return nomem(c), NULL;
	num_of(&it, n);
	return n;
}

static int nonneg_kw(struct cc *c, const uint8_t *p, const char *path,
		     const char *kw, int64_t *v)
{
	struct ev_mp_item it;

	if (ev_mp_read(&p, c->end, &it) != 0 || !is_nonneg_int(&it, v))
		return cfail(c, path, "'%s' must be a non-negative integer",
			     kw);
	return 0;
}

static uint32_t pow2_above(uint32_t n)
{
	uint32_t c = 8;

	while (c < 2 * n)
		c *= 2;
	return c;
}

static int build_obj_table(struct cc *c, struct jobj *o, struct proplist *l)
{
	uint32_t i, slot = 0;

	o->props = js_alloc(c->s, (l->n + 1) * sizeof(*o->props));
	if (o->props == NULL)
		return nomem(c);
	if (l->n)
		memcpy(o->props, l->v, l->n * sizeof(*o->props));
	o->nprops = l->n;
	for (i = 0; i < l->n; i++) {
		struct jprop *pr = &o->props[i];

		if (pr->required || pr->dep_schema || pr->ndep_req) {
			if (slot < 64) {
				pr->slot = (int)slot;
				if (pr->required)
					o->reqmask |= 1ull << slot;
				if (pr->dep_schema || pr->ndep_req)
					o->depmask |= 1ull << slot;
				slot++;
			} else {
				o->slots_overflow = 1;
			}
		}
	}
	if (l->n) {
		uint32_t cap = pow2_above(l->n);

		o->tab = js_alloc(c->s, cap * sizeof(*o->tab));
		if (o->tab == NULL)
			return nomem(c);
		o->tabmask = cap - 1;
		for (i = 0; i < l->n; i++) {
			uint32_t h = o->props[i].hash & o->tabmask;

			while (o->tab[h].idx)
				h = (h + 1) & o->tabmask;
			o->tab[h].idx = i + 1;
			o->tab[h].hash = o->props[i].hash;
		}
	}
	return 0;
}

static int build_enum(struct cc *c, struct jenum *e)
{
	uint32_t i, cap;

	if (e->nv < 8)
		return 0;
	cap = pow2_above(e->nv);
	e->tab = js_alloc(c->s, cap * sizeof(uint32_t));
	if (e->tab == NULL)
		return nomem(c);
	e->tabmask = cap - 1;
	for (i = 0; i < e->nv; i++) {
		uint32_t h =
			(uint32_t)js_mp_hash(e->v[i], e->v[i] + e->vn[i], 0) &
			e->tabmask;

		while (e->tab[h])
			h = (h + 1) & e->tabmask;
		e->tab[h] = i + 1;
	}
	return 0;
}

static int add_pending(struct cc *c, struct jnode *n)
{
	if (vec_push((void ***)&c->s->pending, &c->s->npending,
		     &c->s->cappending, n) != 0)
		return nomem(c);
	return 0;
}

/* $ref, $dynamicRef or $recursiveRef (name) of node n: its value v
 * resolved against base into *uri, and n queued to have it looked up
 * once every document is in; EV_EDATA (with why) or nomem otherwise */
static int ref_keyword(struct cc *c, struct jnode *n,
		       const struct ev_mp_item *v, const char *base,
		       const char *kpath, const char *name, char **uri)
{
	if (v->type != EV_MP_STR)
		return cfail(c, kpath, "'%s' must be a string", name);
	*uri = resolve_uri(c, base, (const char *)v->p, v->n, kpath);
	if (*uri == NULL)
		return EV_EDATA;
	return add_pending(c, n);
}

/* the dialect named by a $schema URI: 0 when unknown */
static int known_dialect(const char *u, size_t n)
{
	while (n > 0 && u[n - 1] == '#')
		n--;
#define IS(s) (n == sizeof(s) - 1 && memcmp(u, s, n) == 0)
	if (IS("http://json-schema.org/draft-07/schema") ||
	    IS("https://json-schema.org/draft-07/schema") ||
	    IS("http://json-schema.org/draft-06/schema"))
		return 7;
	if (IS("http://json-schema.org/draft-04/schema") ||
	    IS("http://json-schema.org/draft-03/schema"))
		return -1;
	if (IS("https://json-schema.org/draft/2019-09/schema"))
		return 2019;
	if (IS("https://json-schema.org/draft/2020-12/schema") ||
	    IS("http://json-schema.org/schema"))
		return 2020;
#undef IS
	return 0;
}

static int dialect_of(struct cc *c, const char *uri, size_t n, const char *path,
		      int *draft, unsigned *vocab);

/*
 * Compile the schema value at p.  base is the base URI in effect (no
 * fragment), res the resource it belongs to.
 */
struct jnode *js_compile_at(struct cc *c, const uint8_t *p, const char *base,
			    struct jres *res, const char *path, int draft,
			    unsigned vocab, int depth)
{
	struct ev_jschema_set *s = c->s;
	struct jnode *n;
	struct ev_mp_item it, k;
	const uint8_t *q, *kp;
	uint32_t i;
	struct proplist pl = {0};
	struct jobj *o = NULL;
	struct jarr *a = NULL;
	int d7ref = 0;
	const uint8_t *v_items = NULL, *v_additems = NULL, *v_prefix = NULL;
	const uint8_t *v_maxc = NULL, *v_minc = NULL;
	const char *cur_base = base;
	struct jres *orig_res = res;

	if (c->failed)
		return NULL;
	n = map_get(s->node_by_addr, &p, sizeof(p));
	if (n != NULL)
		return n;
	if (depth > JS_MAX_SCHEMA_DEPTH) {
		cfail(c, path, "schema nested deeper than %d levels",
		      JS_MAX_SCHEMA_DEPTH);
		return NULL;
	}
	q = p;
	if (ev_mp_read(&q, c->end, &it) != 0) {
		cfail(c, path, "invalid value");
		return NULL;
	}
	n = js_alloc(s, sizeof(*n));
	if (n == NULL)
		return nomem(c), NULL;
	n->doc = c->doc;
	n->res = res;
	n->path = path;
	n->p = p;
	n->draft = (uint16_t)draft;
	if (map_put(s->node_by_addr, &p, sizeof(p), n) < 0 ||
	    node_path_put(s, n) != 0 ||
	    vec_push((void ***)&s->all, &s->nall, &s->capall, n) != 0)
		return nomem(c), NULL;
	if (it.type == EV_MP_BOOL) {
		n->kind = it.v.b ? JN_TRUE : JN_FALSE;
		return n;
	}
	if (it.type != EV_MP_MAP) {
		cfail(c, path, "a schema must be an object or a boolean");
		return NULL;
	}
	n->kind = JN_OBJ;
	n->format_assert =
		(uint8_t)(s->o.formats_assert ||
			  (draft != 7 && (vocab & JV_FORMAT_ASSERT)));

	/* pass 1: $schema, $id, anchors; in draft-07 $ref hides the rest */
	kp = q;
	for (i = 0; i < it.n; i++) {
		struct ev_mp_item v;
		const uint8_t *vp;

		if (ev_mp_read(&kp, c->end, &k) != 0 || k.type != EV_MP_STR) {
			cfail(c, path, "object keys must be strings");
			return NULL;
		}
		vp = kp;
		if (ev_mp_read(&vp, c->end, &v) != 0) {
			cfail(c, path, "invalid value");
			return NULL;
		}
		if (keyis(&k, "$ref") && draft == 7)
			d7ref = 1;
		if (keyis(&k, "$schema") && v.type == EV_MP_STR && depth > 0) {
			/* an embedded resource of another draft */
			int d2 = known_dialect((const char *)v.p, v.n);

			if (d2 > 0) {
				draft = d2;
				n->draft = (uint16_t)d2;
				vocab = JV_ALL;
			}
		}
		kp = val_end(c, kp);
		if (kp == NULL) {
			cfail(c, path, "invalid value");
			return NULL;
		}
	}
	kp = q;
	for (i = 0; i < it.n; i++) {
		struct ev_mp_item v;
		const uint8_t *vp;

		ev_mp_read(&kp, c->end, &k);
		vp = kp;
		ev_mp_read(&vp, c->end, &v);
		if (keyis(&k, "$id") && !d7ref) {
			const char *f;
			char *u;
			size_t bl;

			if (v.type != EV_MP_STR) {
				cfail(c, path, "'$id' must be a string");
				return NULL;
			}
			if (draft == 7 && v.n > 0 && v.p[0] == '#') {
				/* a plain-name fragment */
				if (register_anchor(c, cur_base,
						    (const char *)v.p + 1,
						    v.n - 1, n) != 0)
					return NULL;
				goto next1;
			}
			u = resolve_uri(c, cur_base, (const char *)v.p, v.n,
					path);
			if (u == NULL)
				return NULL;
			bl = ev_uri_fragment(u, &f);
			if (f != NULL && *f != '\0' && draft != 7) {
				cfail(c, path,
				      "'$id' must not have a fragment: '%s'",
				      u);
				return NULL;
			}
			u[bl] = '\0';
			if (depth > 0 || strcmp(u, res->uri) != 0) {
				struct jres *r = js_alloc(s, sizeof(*r));

				if (r == NULL)
					return nomem(c), NULL;
				r->uri = u;
				r->doc = c->doc;
				r->p = p;
				r->end = c->end;
				r->path = path;
				r->root = n;
				r->draft = draft;
				r->vocab = vocab;
				r->by_id = 1;
				if (register_res(c, u, r) != 0)
					return NULL;
				res = r;
				n->res = r;
			}
			if (f != NULL && *f != '\0' &&
			    register_anchor(c, u, f, strlen(f), n) != 0)
				return NULL;
			cur_base = u;
		}
next1:
		kp = val_end(c, kp);
	}
	if (res->root == NULL)
		res->root = n;
	if (orig_res->root == NULL)
		orig_res->root = n;
	/* anchors, now that the base is known */
	kp = q;
	for (i = 0; i < it.n; i++) {
		struct ev_mp_item v;
		const uint8_t *vp;

		ev_mp_read(&kp, c->end, &k);
		vp = kp;
		ev_mp_read(&vp, c->end, &v);
		if (d7ref || draft == 7)
			goto next2;
		if (keyis(&k, "$anchor") ||
		    (keyis(&k, "$dynamicAnchor") && draft == 2020)) {
			if (v.type != EV_MP_STR) {
				cfail(c, path, "'%.*s' must be a string",
				      (int)k.n, (const char *)k.p);
				return NULL;
			}
			if (register_anchor(c, cur_base, (const char *)v.p, v.n,
					    n) != 0)
				return NULL;
			if (keyis(&k, "$dynamicAnchor")) {
				struct jdanchor *da = js_alloc(s, sizeof(*da));

				if (da == NULL)
					return nomem(c), NULL;
				da->name = js_strdup(s, (const char *)v.p, v.n);
				if (da->name == NULL)
					return nomem(c), NULL;
				da->node = n;
				da->next = res->dyn;
				res->dyn = da;
			}
		}
		if (keyis(&k, "$recursiveAnchor") && draft == 2019 &&
		    v.type == EV_MP_BOOL && v.v.b)
			n->recursive_anchor = 1;
next2:
		kp = val_end(c, kp);
	}

	/* pass 2: the keywords */
	kp = q;
	for (i = 0; i < it.n && !c->failed; i++) {
		struct ev_mp_item v;
		const uint8_t *vp, *vstart;
		char *kpath;

		ev_mp_read(&kp, c->end, &k);
		vstart = vp = kp;
		ev_mp_read(&vp, c->end, &v);
		kp = val_end(c, kp);
		kpath = path_join(s, path, (const char *)k.p, k.n);
		if (kpath == NULL)
			return nomem(c), NULL;
#define ON(d, voc) kw_on(draft, vocab, (d), (voc))
#define SUB(dst)                                                              \
	do {                                                                  \
		(dst) = js_compile_at(c, vstart, cur_base, res, kpath, draft, \
				      vocab, depth + 1);                      \
		if ((dst) == NULL)                                            \
			goto fail;                                            \
	} while (0)
		if (keyis(&k, "$defs") || keyis(&k, "definitions")) {
			/* compiled now for their $id and anchors */
			const uint8_t *dp = vp;
			uint32_t j;

			if (v.type != EV_MP_MAP) {
				cfail(c, kpath, "must be an object");
				goto fail;
			}
			for (j = 0; j < v.n; j++) {
				struct ev_mp_item dk;
				char *dpath;

				if (ev_mp_read(&dp, c->end, &dk) != 0 ||
				    dk.type != EV_MP_STR) {
					cfail(c, kpath, "invalid key");
					goto fail;
				}
				dpath = path_join(s, kpath, (const char *)dk.p,
						  dk.n);
				if (dpath == NULL)
					return nomem(c), NULL;
				if (js_compile_at(c, dp, cur_base, res, dpath,
						  draft, vocab,
						  depth + 2) == NULL)
					goto fail;
				dp = val_end(c, dp);
			}
			continue;
		}
		if (keyis(&k, "$ref")) {
			if (ref_keyword(c, n, &v, cur_base, kpath, "$ref",
					&n->ref_uri) != 0)
				goto fail;
			n->ref_kw = "$ref";
			continue;
		}
		if (d7ref)
			continue;
		if (keyis(&k, "$dynamicRef") && draft == 2020) {
			if (ref_keyword(c, n, &v, cur_base, kpath,
					"$dynamicRef", &n->dynref_uri) != 0)
				goto fail;
			continue;
		}
		if (keyis(&k, "$recursiveRef") && draft == 2019) {
			if (ref_keyword(c, n, &v, cur_base, kpath,
					"$recursiveRef", &n->recref_uri) != 0)
				goto fail;
			continue;
		}
		if (keyis(&k, "type") && ON(DALL, JV_VALIDATION)) {
			if (v.type == EV_MP_STR) {
				if (type_bit(&v, &n->types) != 0) {
					cfail(c, kpath, "unknown type '%.*s'",
					      (int)v.n, (const char *)v.p);
					goto fail;
				}
				n->type_text =
					js_strdup(s, (const char *)v.p, v.n);
			} else if (v.type == EV_MP_ARRAY) {
				struct ev_buf tb = {0};
				uint32_t j;
				const uint8_t *tp = vp;

				for (j = 0; j < v.n; j++) {
					struct ev_mp_item t;

					if (ev_mp_read(&tp, c->end, &t) != 0 ||
					    type_bit(&t, &n->types) != 0) {
						ev_buf_free(&tb);
						cfail(c, kpath,
						      "'type' must name types");
						goto fail;
					}
					if (j)
						ev_buf_putc(&tb, ',');
					ev_buf_append(&tb, t.p, t.n);
				}
				n->type_text =
					js_strdup(s,
						  tb.p ? (const char *)tb.p
						       : "",
						  tb.len);
				ev_buf_free(&tb);
				if (v.n == 0)
					n->types = 0x80; /* nothing */
			} else {
				cfail(c, kpath,
				      "'type' must be a string or an array");
				goto fail;
			}
			if (n->type_text == NULL)
				return nomem(c), NULL;
			continue;
		}
		if (keyis(&k, "enum") && ON(DALL, JV_VALIDATION)) {
			const uint8_t *ep = vp;
			uint32_t j;

			if (v.type != EV_MP_ARRAY) {
				cfail(c, kpath, "'enum' must be an array");
				goto fail;
			}
			n->enm = js_alloc(s, sizeof(*n->enm));
			if (n->enm == NULL)
				return nomem(c), NULL;
			n->enm->v = js_alloc(s, (v.n + 1) * sizeof(uint8_t *));
			n->enm->vn = js_alloc(s, (v.n + 1) * sizeof(size_t));
			if (n->enm->v == NULL || n->enm->vn == NULL)
				return nomem(c), NULL;
			for (j = 0; j < v.n; j++) {
				const uint8_t *ee = val_end(c, ep);

				if (ee == NULL) {
					cfail(c, kpath, "invalid value");
					goto fail;
				}
				n->enm->v[j] = ep;
				n->enm->vn[j] = (size_t)(ee - ep);
				ep = ee;
			}
			n->enm->nv = v.n;
			n->enm->all_str = 1;
			for (j = 0; j < v.n; j++)
				if (n->enm->v[j][0] < 0xa0 ||
				    (n->enm->v[j][0] > 0xbf &&
				     n->enm->v[j][0] != 0xd9 &&
				     n->enm->v[j][0] != 0xda &&
				     n->enm->v[j][0] != 0xdb))
					n->enm->all_str = 0;
			if (n->enm->all_str) {
				n->enm->sp =
					js_alloc(s,
						 (v.n + 1) * sizeof(uint8_t *));
				n->enm->sl =
					js_alloc(s,
						 (v.n + 1) * sizeof(uint32_t));
				if (n->enm->sp == NULL || n->enm->sl == NULL)
					return nomem(c), NULL;
				for (j = 0; j < v.n; j++) {
					struct ev_mp_item es;
					const uint8_t *q2 = n->enm->v[j];

					ev_mp_read(&q2, c->end, &es);
					n->enm->sp[j] = es.p;
					n->enm->sl[j] = es.n;
				}
			}
			if (build_enum(c, n->enm) != 0)
				goto fail;
			continue;
		}
		if (keyis(&k, "const") && ON(DALL, JV_VALIDATION)) {
			n->const_v = vstart;
			n->const_n = (size_t)(kp - vstart);
			continue;
		}
		if ((keyis(&k, "minimum") || keyis(&k, "maximum") ||
		     keyis(&k, "exclusiveMinimum") ||
		     keyis(&k, "exclusiveMaximum") ||
		     keyis(&k, "multipleOf")) &&
		    ON(DALL, JV_VALIDATION)) {
			struct jnum *x;
			char kw[24];

			snprintf(kw, sizeof(kw), "%.*s", (int)k.n,
				 (const char *)k.p);
			x = num_kw(c, vstart, kpath, kw);
			if (x == NULL)
				goto fail;
			if (n->num == NULL &&
			    (n->num = js_alloc(s, sizeof(*n->num))) == NULL)
				return nomem(c), NULL;
			if (kw[0] == 'm' && kw[1] == 'u') {
				if (x->d <= 0) {
					cfail(c, kpath,
					      "'multipleOf' must be > 0");
					goto fail;
				}
				n->num->mult = x;
			} else if (!strcmp(kw, "minimum")) {
				n->num->min = x;
			} else if (!strcmp(kw, "maximum")) {
				n->num->max = x;
			} else if (!strcmp(kw, "exclusiveMinimum")) {
				n->num->exmin = x;
			} else {
				n->num->exmax = x;
			}
			continue;
		}
		if ((keyis(&k, "minLength") || keyis(&k, "maxLength")) &&
		    ON(DALL, JV_VALIDATION)) {
			int64_t x;

			if (nonneg_kw(c, vstart, kpath,
				      k.p[1] == 'i' ? "minLength" : "maxLength",
				      &x) != 0)
				goto fail;
			if (n->str == NULL) {
				n->str = js_alloc(s, sizeof(*n->str));
				if (n->str == NULL)
					return nomem(c), NULL;
				n->str->minl = n->str->maxl = -1;
			}
			if (k.p[1] == 'i')
				n->str->minl = x;
			else
				n->str->maxl = x;
			continue;
		}
		if (keyis(&k, "pattern") && ON(DALL, JV_VALIDATION)) {
			if (v.type != EV_MP_STR) {
				cfail(c, kpath, "'pattern' must be a string");
				goto fail;
			}
			if (n->str == NULL) {
				n->str = js_alloc(s, sizeof(*n->str));
				if (n->str == NULL)
					return nomem(c), NULL;
				n->str->minl = n->str->maxl = -1;
			}
			n->str->pattern = js_strdup(s, (const char *)v.p, v.n);
			n->str->patlen = v.n;
			if (n->str->pattern == NULL)
				return nomem(c), NULL;
			if (add_regex(c, (const char *)v.p, v.n, kpath,
				      &n->str->re) != 0)
				goto fail;
			/* NULL when not simple: PCRE2 matches it */
			n->str->sre = js_sre_compile(s, (const char *)v.p, v.n);
			continue;
		}
		if (keyis(&k, "format") &&
		    (draft == 7 ||
		     (vocab & (JV_FORMAT_ANN | JV_FORMAT_ASSERT)))) {
			if (v.type != EV_MP_STR) {
				cfail(c, kpath, "'format' must be a string");
				goto fail;
			}
			n->format = js_strdup(s, (const char *)v.p, v.n);
			if (n->format == NULL)
				return nomem(c), NULL;
			continue;
		}
		if (draft == 7 && v.type == EV_MP_STR &&
		    ((keyis(&k, "contentEncoding") && keyis(&v, "base64")) ||
		     (keyis(&k, "contentMediaType") &&
		      keyis(&v, "application/json")))) {
			/* draft-07 content assertions */
			if (k.p[7] == 'E')
				n->content_b64 = 1;
			else
				n->content_json = 1;
			continue;
		}
		if ((keyis(&k, "allOf") || keyis(&k, "anyOf") ||
		     keyis(&k, "oneOf")) &&
		    ON(DALL, JV_APPLICATOR)) {
			uint32_t cnt = 0;
			char kw[8];
			struct jnode **arr;

			snprintf(kw, sizeof(kw), "%.*s", (int)k.n,
				 (const char *)k.p);
			arr = compile_array(c, vstart, cur_base, res, kpath,
					    draft, vocab, depth + 1, &cnt, kw);
			if (arr == NULL)
				goto fail;
			if (kw[0] == 'a' && kw[1] == 'l') {
				n->allof = arr;
				n->nallof = cnt;
			} else if (kw[0] == 'a') {
				n->anyof = arr;
				n->nanyof = cnt;
			} else {
				n->oneof = arr;
				n->noneof = cnt;
			}
			continue;
		}
		if (keyis(&k, "not") && ON(DALL, JV_APPLICATOR)) {
			SUB(n->not_);
			continue;
		}
		if (keyis(&k, "if") && ON(DALL, JV_APPLICATOR)) {
			SUB(n->if_);
			continue;
		}
		if (keyis(&k, "then") && ON(DALL, JV_APPLICATOR)) {
			SUB(n->then_);
			continue;
		}
		if (keyis(&k, "else") && ON(DALL, JV_APPLICATOR)) {
			SUB(n->else_);
			continue;
		}
		/* arrays */
		if (keyis(&k, "items") && ON(DALL, JV_APPLICATOR)) {
			v_items = vstart;
			continue;
		}
		if (keyis(&k, "additionalItems") &&
		    ON(D7 | D19, JV_APPLICATOR)) {
			v_additems = vstart;
			continue;
		}
		if (keyis(&k, "prefixItems") && ON(D20, JV_APPLICATOR)) {
			v_prefix = vstart;
			continue;
		}
		if ((keyis(&k, "contains") && ON(DALL, JV_APPLICATOR)) ||
		    (keyis(&k, "unevaluatedItems") && ON(D1920, JV_UNEVAL)) ||
		    ((keyis(&k, "minItems") || keyis(&k, "maxItems") ||
		      keyis(&k, "uniqueItems") || keyis(&k, "minContains") ||
		      keyis(&k, "maxContains")) &&
		     ON(DALL, JV_VALIDATION))) {
			if (a == NULL) {
				a = js_alloc(s, sizeof(*a));
				if (a == NULL)
					return nomem(c), NULL;
				a->mini = a->maxi = a->maxc = -1;
				a->minc = 1;
			}
			if (keyis(&k, "contains")) {
				SUB(a->contains);
			} else if (keyis(&k, "unevaluatedItems")) {
				SUB(a->uneval);
				n->has_uneval = 1;
			} else if (keyis(&k, "minItems")) {
				if (nonneg_kw(c, vstart, kpath, "minItems",
					      &a->mini) != 0)
					goto fail;
			} else if (keyis(&k, "maxItems")) {
				if (nonneg_kw(c, vstart, kpath, "maxItems",
					      &a->maxi) != 0)
					goto fail;
			} else if (keyis(&k, "uniqueItems")) {
				if (v.type != EV_MP_BOOL) {
					cfail(c, kpath,
					      "'uniqueItems' must be a boolean");
					goto fail;
				}
				a->unique = v.v.b;
			} else if (draft != 7) {
				if (keyis(&k, "minContains"))
					v_minc = vstart;
				else
					v_maxc = vstart;
			}
			continue;
		}
		/* objects */
		if ((keyis(&k, "properties") && ON(DALL, JV_APPLICATOR)) ||
		    (keyis(&k, "patternProperties") &&
		     ON(DALL, JV_APPLICATOR)) ||
		    (keyis(&k, "additionalProperties") &&
		     ON(DALL, JV_APPLICATOR)) ||
		    (keyis(&k, "propertyNames") && ON(DALL, JV_APPLICATOR)) ||
		    (keyis(&k, "dependentSchemas") &&
		     ON(D1920, JV_APPLICATOR)) ||
		    (keyis(&k, "dependencies") && ON(DALL, JV_APPLICATOR)) ||
		    (keyis(&k, "unevaluatedProperties") &&
		     ON(D1920, JV_UNEVAL)) ||
		    ((keyis(&k, "required") || keyis(&k, "minProperties") ||
		      keyis(&k, "maxProperties") ||
		      keyis(&k, "dependentRequired")) &&
		     ON(DALL, JV_VALIDATION))) {
			if (o == NULL) {
				o = js_alloc(s, sizeof(*o));
				if (o == NULL)
					return nomem(c), NULL;
				o->minp = o->maxp = -1;
			}
			if (keyis(&k, "additionalProperties")) {
				SUB(o->addl);
			} else if (keyis(&k, "propertyNames")) {
				SUB(o->pnames);
			} else if (keyis(&k, "unevaluatedProperties")) {
				SUB(o->uneval);
				n->has_uneval = 1;
			} else if (keyis(&k, "minProperties")) {
				if (nonneg_kw(c, vstart, kpath, "minProperties",
					      &o->minp) != 0)
					goto fail;
			} else if (keyis(&k, "maxProperties")) {
				if (nonneg_kw(c, vstart, kpath, "maxProperties",
					      &o->maxp) != 0)
					goto fail;
			} else if (keyis(&k, "required")) {
				const char **names;
				uint32_t *lens, cnt, j;

				if (str_array(c, vstart, kpath, "required",
					      &names, &lens, &cnt) != 0)
					goto fail;
				for (j = 0; j < cnt; j++) {
					struct jprop *pr =
						prop_get(c, &pl, names[j],
							 lens[j]);

					if (pr == NULL)
						goto fail;
					pr->required = 1;
				}
			} else if (keyis(&k, "properties") ||
				   keyis(&k, "patternProperties") ||
				   keyis(&k, "dependentSchemas") ||
				   keyis(&k, "dependentRequired") ||
				   keyis(&k, "dependencies")) {
				const uint8_t *dp = vp;
				uint32_t j;
				int which = keyis(&k, "properties")	     ? 0
					    : keyis(&k, "patternProperties") ? 1
					    : keyis(&k, "dependentSchemas")  ? 2
					    : keyis(&k, "dependentRequired")
						    ? 3
						    : 4;

				if (v.type != EV_MP_MAP) {
					cfail(c, kpath, "must be an object");
					goto fail;
				}
				if (which == 0)
					o->has_props = 1;
				if (which == 1) {
					o->pp = js_alloc(s,
							 (v.n +
							  1) * sizeof(*o->pp));
					if (o->pp == NULL)
						return nomem(c), NULL;
				}
				for (j = 0; j < v.n; j++) {
					struct ev_mp_item dk, dv;
					const uint8_t *dvp;
					char *dpath;
					struct jprop *pr = NULL;

					if (ev_mp_read(&dp, c->end, &dk) != 0 ||
					    dk.type != EV_MP_STR) {
						cfail(c, kpath, "invalid key");
						goto fail;
					}
					dpath = path_join(s, kpath,
							  (const char *)dk.p,
							  dk.n);
					if (dpath == NULL)
						return nomem(c), NULL;
					dvp = dp;
					ev_mp_read(&dvp, c->end, &dv);
					if (which != 1) {
						pr = prop_get(c, &pl,
							      (const char *)
								      dk.p,
							      dk.n);
						if (pr == NULL)
							goto fail;
					}
					if (which == 0) {
						pr->sub = js_compile_at(
							c, dp, cur_base, res,
							dpath, draft, vocab,
							depth + 2);
						if (pr->sub == NULL)
							goto fail;
					} else if (which == 1) {
						struct jpattern *pt =
							&o->pp[o->npp++];

						pt->src = (const char *)dk.p;
						pt->srclen = dk.n;
						pt->path = dpath;
						if (add_regex(c, pt->src, dk.n,
							      dpath,
							      &pt->re) != 0)
							goto fail;
						pt->sub = js_compile_at(
							c, dp, cur_base, res,
							dpath, draft, vocab,
							depth + 2);
						if (pt->sub == NULL)
							goto fail;
					} else if (which == 3 ||
						   (which == 4 &&
						    dv.type == EV_MP_ARRAY)) {
						if (str_array(
							    c, dp, dpath,
							    which == 3
								    ? "dependentRequired"
								    : "dependencies",
							    &pr->dep_req,
							    &pr->dep_req_len,
							    &pr->ndep_req) != 0)
							goto fail;
						pr->dep_kw =
							which == 3
								? "dependentRequired"
								: "dependencies";
						if (pr->ndep_req == 0)
							pr->dep_req_len = NULL;
					} else {
						pr->dep_schema = js_compile_at(
							c, dp, cur_base, res,
							dpath, draft, vocab,
							depth + 2);
						if (pr->dep_schema == NULL)
							goto fail;
						pr->dep_schema_kw =
							which == 2
								? "dependentSchemas"
								: "dependencies";
					}
					dp = val_end(c, dp);
					if (dp == NULL) {
						cfail(c, kpath,
						      "invalid value");
						goto fail;
					}
				}
			}
			continue;
		}
		/* unknown keywords, annotations, $comment...: ignored */
	}
	if (c->failed)
		goto fail;
	/* arrays: items by draft */
	if (v_items || v_additems || v_prefix || v_minc || v_maxc) {
		if (a == NULL) {
			a = js_alloc(s, sizeof(*a));
			if (a == NULL)
				return nomem(c), NULL;
			a->mini = a->maxi = a->maxc = -1;
			a->minc = 1;
		}
		if (v_minc &&
		    nonneg_kw(c, v_minc, path, "minContains", &a->minc) != 0)
			goto fail;
		if (v_maxc &&
		    nonneg_kw(c, v_maxc, path, "maxContains", &a->maxc) != 0)
			goto fail;
		if (draft == 2020) {
			if (v_prefix) {
				a->prefix = compile_array(
					c, v_prefix, cur_base, res,
					path_join(s, path, "prefixItems", 11),
					draft, vocab, depth + 1, &a->nprefix,
					"prefixItems");
				if (a->prefix == NULL)
					goto fail;
				a->prefix_kw = "prefixItems";
			}
			if (v_items) {
				a->items =
					js_compile_at(c, v_items, cur_base, res,
						      path_join(s, path,
								"items", 5),
						      draft, vocab, depth + 1);
				if (a->items == NULL)
					goto fail;
				a->items_kw = "items";
			}
		} else if (v_items) {
			struct ev_mp_item ii;
			const uint8_t *ip = v_items;

			ev_mp_read(&ip, c->end, &ii);
			if (ii.type == EV_MP_ARRAY) {
				a->prefix =
					compile_array(c, v_items, cur_base, res,
						      path_join(s, path,
								"items", 5),
						      draft, vocab, depth + 1,
						      &a->nprefix, "items");
				if (a->prefix == NULL)
					goto fail;
				a->prefix_kw = "items";
				if (v_additems) {
					a->items = js_compile_at(
						c, v_additems, cur_base, res,
						path_join(s, path,
							  "additionalItems",
							  15),
						draft, vocab, depth + 1);
					if (a->items == NULL)
						goto fail;
					a->items_kw = "additionalItems";
				}
			} else {
				a->items =
					js_compile_at(c, v_items, cur_base, res,
						      path_join(s, path,
								"items", 5),
						      draft, vocab, depth + 1);
				if (a->items == NULL)
					goto fail;
				a->items_kw = "items";
			}
		}
	}
	if (o != NULL && build_obj_table(c, o, &pl) != 0)
		goto fail;
	free(pl.v);
	free(pl.tab);
	n->obj = o;
	n->arr = a;
	n->leaf = !o && !a && !n->allof && !n->anyof && !n->oneof && !n->not_ &&
		  !n->if_ && !n->ref_uri && !n->dynref_uri && !n->recref_uri &&
		  !n->has_uneval;
	n->only_types = !o && !a && !n->str && !n->num &&
			!(n->format && n->format_assert) && !n->const_v &&
			!n->enm && !n->allof && !n->anyof && !n->oneof &&
			!n->not_ && !n->if_ && !n->ref_uri && !n->dynref_uri &&
			!n->recref_uri && !n->has_uneval && !n->content_b64 &&
			!n->content_json;
	return n;
fail:
	free(pl.v);
	free(pl.tab);
	if (!c->failed)
		nomem(c);
	return NULL;
#undef ON
#undef SUB
}

/* ------------------------------------------------------------ documents */

/* line:column of p in text */
static void line_col(const char *start, const char *p, size_t *line,
		     size_t *col)
{
	const char *ls = start;

	*line = 1;
	for (const char *q = start; q < p; q++)
		if (*q == '\n') {
			(*line)++;
			ls = q + 1;
		}
	*col = ev_json_column(ls, p);
}

static int load_uri(struct ev_jschema_set *s, const char *uri,
		    struct ev_error *err);

/* $vocabulary of a metaschema document: vocab bits */
static int vocab_of(struct cc *c, const uint8_t *p, const uint8_t *end,
		    const char *path, unsigned *vocab, int *has)
{
	struct ev_mp_item it, k, v;
	uint32_t i, j;

	*has = 0;
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		return 0;
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_STR)
			return 0;
		if (!keyis(&k, "$vocabulary")) {
			if (ev_mp_skip(&p, end, JS_SKIP_DEPTH) != 0)
				return 0;
			continue;
		}
		if (ev_mp_read(&p, end, &v) != 0 || v.type != EV_MP_MAP)
			return 0;
		*has = 1;
		*vocab = JV_CORE;
		for (j = 0; j < v.n; j++) {
			struct ev_mp_item vk, vv;
			const char *slash;
			size_t rest;
			unsigned bit = 0;

			if (ev_mp_read(&p, end, &vk) != 0 ||
			    vk.type != EV_MP_STR ||
			    ev_mp_read(&p, end, &vv) != 0)
				return 0;
			slash = memmem(vk.p, vk.n, "/vocab/", 7);
			if (slash != NULL) {
				const char *nm = slash + 7;

				rest = vk.n - (size_t)(nm - (const char *)vk.p);
#define VIS(x) (rest == sizeof(x) - 1 && memcmp(nm, x, rest) == 0)
				if (VIS("core"))
					bit = JV_CORE;
				else if (VIS("applicator"))
					bit = JV_APPLICATOR |
					      (memmem(vk.p, vk.n, "2019-09", 7)
						       ? JV_UNEVAL
						       : 0);
				else if (VIS("unevaluated"))
					bit = JV_UNEVAL;
				else if (VIS("validation"))
					bit = JV_VALIDATION;
				else if (VIS("meta-data"))
					bit = JV_META;
				else if (VIS("format-annotation") ||
					 VIS("format"))
					bit = JV_FORMAT_ANN;
				else if (VIS("format-assertion"))
					bit = JV_FORMAT_ASSERT;
				else if (VIS("content"))
					bit = JV_CONTENT;
#undef VIS
			}
			if (bit == 0 && vv.type == EV_MP_BOOL && vv.v.b)
				return cfail(c, path,
					     "unknown required vocabulary "
					     "'%.*s'",
					     (int)vk.n, (const char *)vk.p);
			*vocab |= bit;
		}
		return 0;
	}
	return 0;
}

/* The draft and vocabularies a $schema URI means */
static int dialect_of(struct cc *c, const char *uri, size_t n, const char *path,
		      int *draft, unsigned *vocab)
{
	struct ev_jschema_set *s = c->s;
	struct jres *r;
	char *u;
	int k = known_dialect(uri, n), has;
	struct ev_error e2;

	*vocab = JV_ALL;
	if (k < 0)
		return cfail(c, path,
			     "unsupported $schema '%.*s': drafts 2020-12, "
			     "2019-09, 07 and 06 are",
			     (int)n, uri);
	if (k != 0) {
		*draft = k;
		return 0;
	}
	u = uri_nofrag(s, js_strdup(s, uri, n));
	if (u == NULL)
		return nomem(c);
	r = map_gets(s->res_by_uri, u);
	if (r == NULL) {
		if (s->dialect_depth > 4)
			return cfail(c, path,
				     "metaschema chain too long at '%s'", u);
		s->dialect_depth++;
		k = load_uri(s, u, &e2);
		s->dialect_depth--;
		if (k != 0)
			return cfail(c, path, "unknown $schema '%s': %s", u,
				     e2.msg);
		r = map_gets(s->res_by_uri, u);
		if (r == NULL)
			return cfail(c, path, "unknown $schema '%s'", u);
	}
	*draft = r->draft;
	if (vocab_of(c, r->p, r->end, path, vocab, &has) != 0)
		return EV_EDATA;
	if (!has)
		*vocab = JV_ALL;
	return 0;
}

static int add_doc(struct ev_jschema_set *s, uint8_t *mp, size_t n,
		   const char *name, const char *uri, struct ev_jschema **out,
		   struct ev_error *err);

/* A key twice in one object of a schema: JSON leaves its meaning open
 * (RFC 8259 4), and a validator that took one of them would be guessing.
 * Walks the document (msgpack, already checked to be one value) and
 * fails at the first object that repeats a key, naming it by its path. */
struct dupwalk {
	struct cc *c;
	char path[1024];
	size_t len;
};

static int key_cmp(const void *a, const void *b)
{
	const struct ev_mp_item *x = a, *y = b;
	int r = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return r != 0 ? r : (x->n > y->n) - (x->n < y->n);
}

static void dup_push(struct dupwalk *w, const char *k, size_t n)
{
	size_t i;

	if (w->len + 2 < sizeof(w->path))
		w->path[w->len++] = '/';
	for (i = 0; i < n && w->len + 3 < sizeof(w->path); i++) {
		if (k[i] == '~' || k[i] == '/') {
			w->path[w->len++] = '~';
			w->path[w->len++] = k[i] == '~' ? '0' : '1';
		} else {
			w->path[w->len++] = k[i];
		}
	}
	w->path[w->len] = '\0';
}

static int dup_keys(struct dupwalk *w, const uint8_t **p, const uint8_t *end,
		    int depth)
{
	struct ev_mp_item it, small[32], *keys = small;
	size_t save = w->len;
	uint32_t i, j;
	int r = 0;

	if (depth > JS_MAX_SCHEMA_DEPTH + 8)
		return cfail(w->c, w->path, "schema nested too deeply");
	if (ev_mp_read(p, end, &it) != 0)
		return cfail(w->c, w->path, "invalid schema");
	if (it.type == EV_MP_ARRAY) {
		for (i = 0; i < it.n && r == 0; i++) {
			char num[24];

			snprintf(num, sizeof(num), "%u", (unsigned)i);
			dup_push(w, num, strlen(num));
			r = dup_keys(w, p, end, depth + 1);
			w->len = save;
			w->path[save] = '\0';
		}
		return r;
	}
	if (it.type != EV_MP_MAP)
		return 0;
	if (it.n > sizeof(small) / sizeof(small[0]) &&
	    (keys = malloc(it.n * sizeof(*keys))) == NULL)
		return nomem(w->c);
	for (i = 0; i < it.n && r == 0; i++) {
		if (ev_mp_read(p, end, &keys[i]) != 0 ||
		    keys[i].type != EV_MP_STR) {
			r = cfail(w->c, w->path, "object keys must be strings");
			break;
		}
		dup_push(w, (const char *)keys[i].p, keys[i].n);
		r = dup_keys(w, p, end, depth + 1);
		w->len = save;
		w->path[save] = '\0';
	}
	if (r == 0 && it.n > 1) {
		/* sorted, a repeat is next to its twin */
		qsort(keys, it.n, sizeof(*keys), key_cmp);
		for (j = 1; j < it.n; j++)
			if (key_cmp(&keys[j - 1], &keys[j]) == 0) {
				r = cfail(w->c, w->path,
					  "duplicate key '%.*s' (a key may "
					  "appear once in an object)",
					  (int)keys[j].n,
					  (const char *)keys[j].p);
				break;
			}
	}
	if (keys != small)
		free(keys);
	return r;
}

int ev_jschema_add(struct ev_jschema_set *s, const char *json, size_t n,
		   const char *name, const char *uri, struct ev_jschema **out,
		   struct ev_error *err)
{
	struct ev_json js;
	struct ev_buf b = {0};
	int r;

	if (out)
		*out = NULL;
	ev_json_init(&js, json, n);
	/* schemas nest deeper than events: json.c counts from here */
	js.depth = EV_MAX_DEPTH - JS_MAX_SCHEMA_DEPTH;
	if (ev_json_value(&js, &b) != 0 || ev_json_ws(&js) != -1) {
		size_t line, col;
		const char *at = js.errp ? js.errp : js.p;

		line_col(json, at, &line, &col);
		/* json.c names its own limit (events'): say the schemas' */
		if (js.errmsg != NULL &&
		    strncmp(js.errmsg, "nesting deeper than ", 20) == 0)
			ev_seterr(err, EV_EDATA,
				  "%s:%zu:%zu: invalid JSON: nesting deeper "
				  "than %d levels",
				  name ? name : "schema", line, col,
				  JS_MAX_SCHEMA_DEPTH);
		else
			ev_seterr(err, EV_EDATA, "%s:%zu:%zu: invalid JSON: %s",
				  name ? name : "schema", line, col,
				  js.errmsg ? js.errmsg
					    : "trailing characters");
		ev_buf_free(&b);
		return EV_EDATA;
	}
	r = add_doc(s, b.p, b.len, name, uri, out, err);
	return r;
}

int ev_jschema_add_mp(struct ev_jschema_set *s, const uint8_t *mp, size_t n,
		      const char *name, const char *uri,
		      struct ev_jschema **out, struct ev_error *err)
{
	uint8_t *c = malloc(n ? n : 1);
	const uint8_t *p = mp;

	if (out)
		*out = NULL;
	if (c == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (ev_mp_skip(&p, mp + n, JS_SKIP_DEPTH) != 0 || p != mp + n) {
		free(c);
		return ev_seterr(err, EV_EDATA, "%s: not one msgpack value",
				 name ? name : "schema");
	}
	memcpy(c, mp, n);
	return add_doc(s, c, n, name, uri, out, err);
}

static int read_regular(const char *path, struct ev_buf *b,
			struct ev_error *err);

int ev_jschema_add_file(struct ev_jschema_set *s, const char *path,
			struct ev_jschema **out, struct ev_error *err)
{
	struct ev_buf b = {0};
	int r;

	if (out)
		*out = NULL;
	r = read_regular(path, &b, err);
	if (r == EV_ENOENT)
		ev_seterr_errno(err, EV_ENOENT, ENOENT, "cannot open '%s'",
				path);
	if (r == 0)
		r = ev_jschema_add(s, b.p ? (const char *)b.p : "", b.len, path,
				   NULL, out, err);
	ev_buf_free(&b);
	return r;
}

static char *file_uri(const char *path)
{
	char *abs = realpath(path, NULL), *u;
	char cwd[PATH_MAX];

	if (abs == NULL) {
		if (path[0] == '/') {
			abs = strdup(path);
		} else if (getcwd(cwd, sizeof(cwd)) != NULL) {
			abs = malloc(strlen(cwd) + strlen(path) + 2);
			if (abs)
				sprintf(abs, "%s/%s", cwd, path);
		}
	}
	if (abs == NULL)
		return NULL;
	/* percent-encoded, so that a path with spaces is a URI */
	u = malloc(3 * strlen(abs) + 8);
	if (u) {
		char *o = u + 7;
		const unsigned char *q;

		memcpy(u, "file://", 7);
		for (q = (const unsigned char *)abs; *q; q++) {
			if ((*q >= 'a' && *q <= 'z') ||
			    (*q >= 'A' && *q <= 'Z') ||
			    (*q >= '0' && *q <= '9') || strchr("-._~/", *q)) {
				*o++ = (char)*q;
			} else {
				sprintf(o, "%%%02X", *q);
				o += 3;
			}
		}
		*o = '\0';
	}
	free(abs);
	return u;
}

static int resolve_pending(struct ev_jschema_set *s, size_t from,
			   struct ev_error *err);

static int add_doc1(struct ev_jschema_set *s, uint8_t *mp, size_t n,
		    const char *name, const char *uri, struct ev_jschema **out,
		    struct ev_error *err);

/* a document that does not compile leaves no reference to resolve */
static int add_doc(struct ev_jschema_set *s, uint8_t *mp, size_t n,
		   const char *name, const char *uri, struct ev_jschema **out,
		   struct ev_error *err)
{
	size_t np = s->npending;
	int r = add_doc1(s, mp, n, name, uri, out, err);

	if (r != 0 && s->npending > np)
		s->npending = np;
	return r;
}

static int add_doc1(struct ev_jschema_set *s, uint8_t *mp, size_t n,
		    const char *name, const char *uri, struct ev_jschema **out,
		    struct ev_error *err)
{
	struct jdoc *d = calloc(1, sizeof(*d));
	struct cc c = {0};
	struct jres *r;
	struct ev_mp_item it, k;
	const uint8_t *p;
	char *u = NULL;
	int draft = s->o.draft ? (int)s->o.draft : 2020;
	unsigned vocab = JV_ALL;
	struct jnode *root;
	uint32_t i;

	if (d == NULL) {
		free(mp);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	d->mp = mp;
	d->n = n;
	d->set = s;
	d->next = s->docs;
	s->docs = d;
	if (uri != NULL) {
		u = strdup(uri);
	} else if (name != NULL) {
		u = file_uri(name);
	} else {
		u = malloc(64);
		if (u)
			snprintf(u, 64, "urn:evlog:schema:%u", ++s->gen);
	}
	if (u == NULL || own(s, u) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	d->uri = uri_nofrag(s, u);
	d->name = js_strdup(s, name ? name : d->uri,
			    strlen(name ? name : d->uri));
	if (d->uri == NULL || d->name == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	c.s = s;
	c.doc = d;
	c.end = mp + n;
	c.err = err;
	{
		struct dupwalk w = {&c, "", 0};

		p = mp;
		if (dup_keys(&w, &p, c.end, 0) != 0)
			return EV_EDATA;
	}
	/* $schema */
	p = mp;
	if (ev_mp_read(&p, c.end, &it) != 0)
		return cfail(&c, "", "invalid schema");
	if (it.type == EV_MP_MAP) {
		for (i = 0; i < it.n; i++) {
			struct ev_mp_item v;
			const uint8_t *vp;

			if (ev_mp_read(&p, c.end, &k) != 0 ||
			    k.type != EV_MP_STR)
				return cfail(&c, "",
					     "object keys must be strings");
			vp = p;
			if (ev_mp_read(&vp, c.end, &v) != 0)
				return cfail(&c, "", "invalid value");
			if (keyis(&k, "$schema")) {
				if (v.type != EV_MP_STR)
					return cfail(&c, "/$schema",
						     "must be a string");
				if (dialect_of(&c, (const char *)v.p, v.n,
					       "/$schema", &draft, &vocab) != 0)
					return EV_EDATA;
			}
			if (ev_mp_skip(&p, c.end, JS_SKIP_DEPTH) != 0)
				return cfail(&c, "", "invalid value");
		}
	}
	d->draft = draft;
	d->vocab = vocab;
	if (s->o.check_meta && !s->metaschema_loading) {
		struct jnode *meta;
		const char *mu =
			draft == 7 ? "http://json-schema.org/draft-07/schema"
			: draft == 2019
				? "https://json-schema.org/draft/2019-09/schema"
				: "https://json-schema.org/draft/2020-12/schema";
		/* a custom metaschema */
		p = mp;
		ev_mp_read(&p, c.end, &it);
		if (it.type == EV_MP_MAP)
			for (i = 0; i < it.n; i++) {
				struct ev_mp_item v;
				const uint8_t *vp;

				ev_mp_read(&p, c.end, &k);
				vp = p;
				ev_mp_read(&vp, c.end, &v);
				if (keyis(&k, "$schema") && v.type == EV_MP_STR)
					mu = js_strdup(s, (const char *)v.p,
						       v.n);
				ev_mp_skip(&p, c.end, JS_SKIP_DEPTH);
			}
		s->metaschema_loading = 1;
		meta = mu ? ev_jschema_get(s, mu, err) : NULL;
		s->metaschema_loading = 0;
		if (meta == NULL)
			return ev_seterr(err, EV_EDATA,
					 "%s: cannot load the metaschema '%s'",
					 d->name, mu ? mu : "?");
		if (js_check_meta(s, meta, d, err) != 1)
			return err->code ? err->code : EV_EDATA;
	}
	r = map_gets(s->res_by_uri, d->uri);
	if (r != NULL && r->by_id && r->doc != d)
		return ev_seterr(err, EV_EDATA,
				 "%s: its URI '%s' is also the '$id' of '%s'",
				 d->name, d->uri, r->doc->name);
	if (r != NULL && r->root != NULL) {
		/* the same document twice: keep the first */
		if (out)
			*out = r->root;
		return 0;
	}
	r = js_alloc(s, sizeof(*r));
	if (r == NULL)
		return nomem(&c);
	r->uri = d->uri;
	r->doc = d;
	r->p = mp;
	r->end = c.end;
	r->path = "";
	r->draft = draft;
	r->vocab = vocab;
	if (register_res(&c, d->uri, r) != 0)
		return EV_ERR;
	root = js_compile_at(&c, mp, d->uri, r, "", draft, vocab, 0);
	if (root == NULL)
		return c.failed ? err->code : nomem(&c);
	s->ndocs++;
	if (out)
		*out = root;
	return 0;
}

/* ------------------------------------------------------------ references */

/* Read a regular file whole: 0, EV_ENOENT (no message), EV_EDATA for
 * anything else (a FIFO would hang, a directory reads as nothing),
 * EV_EIO */
static int read_regular(const char *path, struct ev_buf *b,
			struct ev_error *err)
{
	/* O_NONBLOCK: opening a FIFO does not wait for a writer */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char tmp[65536];
	FILE *f;
	size_t k;
	int r;

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return EV_ENOENT;
		return ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s'",
				       path);
	}
	if (fstat(fd, &st) != 0) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot stat '%s'",
				    path);
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ev_seterr(err, EV_EDATA,
				 "'%s' is not a regular file (a %s)", path,
				 S_ISDIR(st.st_mode)	? "directory"
				 : S_ISFIFO(st.st_mode) ? "FIFO"
				 : S_ISSOCK(st.st_mode) ? "socket"
							: "device");
	}
	f = fdopen(fd, "rb");
	if (f == NULL) {
		close(fd);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (ev_buf_append(b, tmp, k) != 0) {
			fclose(f);
			return ev_seterr(err, EV_ERR, "out of memory");
		}
	if (ferror(f)) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				    path);
		fclose(f);
		return r;
	}
	fclose(f);
	return 0;
}

static int load_file_as(struct ev_jschema_set *s, const char *path,
			const char *uri, struct ev_error *err)
{
	struct ev_buf b = {0};
	int r = read_regular(path, &b, err);

	if (r == 0)
		r = ev_jschema_add(s, b.p ? (const char *)b.p : "", b.len, path,
				   uri, NULL, err);
	ev_buf_free(&b);
	return r;
}

/* Load the document of an absolute URI (no fragment): an embedded
 * metaschema, a --ref-dir mapping, a file under the local root. */
static int load_uri(struct ev_jschema_set *s, const char *uri,
		    struct ev_error *err)
{
	const char *ms = ev_metaschema_find(uri, strlen(uri));
	size_t i;

	if (ms != NULL)
		return ev_jschema_add(s, ms, strlen(ms), uri, uri, NULL, err);
	for (i = 0; s->ref_dirs && s->ref_dirs[i]; i++) {
		const char *m = s->ref_dirs[i], *eq = strchr(m, '=');
		char *path;
		int r;

		if (eq != NULL) {
			size_t pl = (size_t)(eq - m);

			if (strncmp(uri, m, pl) != 0)
				continue;
			path = malloc(strlen(eq + 1) + strlen(uri + pl) + 2);
			if (path == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
			sprintf(path, "%s/%s", eq + 1, uri + pl);
		} else {
			const char *h = strstr(uri, "://");

			if (h == NULL)
				continue;
			path = malloc(strlen(m) + strlen(h) + 2);
			if (path == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
			sprintf(path, "%s/%s", m, h + 3);
		}
		if (strstr(path, "/../") != NULL) {
			free(path);
			continue;
		}
		r = load_file_as(s, path, uri, err);
		free(path);
		if (r != EV_ENOENT)
			return r;
	}
	if (s->local_root != NULL && strncmp(uri, "file://", 7) == 0) {
		const char *fp = uri + 7;
		char *rp, *dec = NULL;
		size_t rl = strlen(s->local_root);
		int r;

		if (ev_uri_pct_decode(fp, strlen(fp), &dec) != 0)
			goto unresolvable;
		rp = realpath(dec, NULL);
		free(dec);
		if (rp != NULL && strncmp(rp, s->local_root, rl) == 0 &&
		    (rp[rl] == '/' || rp[rl] == '\0')) {
			r = load_file_as(s, rp, uri, err);
			free(rp);
			if (r != EV_ENOENT)
				return r;
		} else {
			free(rp);
		}
	}
unresolvable:
	/* no file can stand for a URN or a tag: only an $id names them */
	if (strncmp(uri, "urn:", 4) == 0 || strncmp(uri, "tag:", 4) == 0)
		return ev_seterr(err, EV_EDATA,
				 "unresolvable $ref '%s': no schema has this "
				 "$id",
				 uri);
	return ev_seterr(err, EV_EDATA,
			 "unresolvable $ref '%s': not in the schema directory; "
			 "map it with --ref-dir",
			 uri);
}

/* walk a JSON pointer from the value at p; NULL when it leads nowhere */
static const uint8_t *walk_pointer(const uint8_t *p, const uint8_t *end,
				   const char *ptr, struct ev_buf *pathb)
{
	while (*ptr == '/') {
		const char *seg = ptr + 1, *e = strchr(seg, '/');
		char tok[1024];
		size_t tn = 0, sl;
		struct ev_mp_item it;
		uint32_t i;

		if (e == NULL)
			e = seg + strlen(seg);
		sl = (size_t)(e - seg);
		for (size_t j = 0; j < sl && tn < sizeof(tok); j++) {
			if (seg[j] == '~' && j + 1 < sl && seg[j + 1] == '0') {
				tok[tn++] = '~';
				j++;
			} else if (seg[j] == '~' && j + 1 < sl &&
				   seg[j + 1] == '1') {
				tok[tn++] = '/';
				j++;
			} else {
				tok[tn++] = seg[j];
			}
		}
		ev_buf_putc(pathb, '/');
		ev_buf_append(pathb, seg, sl);
		if (ev_mp_read(&p, end, &it) != 0)
			return NULL;
		if (it.type == EV_MP_MAP) {
			for (i = 0; i < it.n; i++) {
				struct ev_mp_item k;

				if (ev_mp_read(&p, end, &k) != 0 ||
				    k.type != EV_MP_STR)
					return NULL;
				if (k.n == tn && memcmp(k.p, tok, tn) == 0)
					break;
				if (ev_mp_skip(&p, end, JS_SKIP_DEPTH) != 0)
					return NULL;
			}
			if (i == it.n)
				return NULL;
		} else if (it.type == EV_MP_ARRAY) {
			char *x;
			unsigned long idx;

			tok[tn < sizeof(tok) ? tn : sizeof(tok) - 1] = '\0';
			idx = strtoul(tok, &x, 10);
			if (tn == 0 || *x != '\0' || idx >= it.n ||
			    (tok[0] == '0' && tn > 1))
				return NULL;
			for (i = 0; i < idx; i++)
				if (ev_mp_skip(&p, end, JS_SKIP_DEPTH) != 0)
					return NULL;
		} else {
			return NULL;
		}
		ptr = e;
	}
	return p;
}

/* the node a URI names, loading its document when needed */
static struct jnode *lookup(struct ev_jschema_set *s, const char *uri,
			    struct ev_error *err)
{
	const char *frag;
	size_t bl = ev_uri_fragment(uri, &frag);
	char *base = malloc(bl + 1);
	struct jres *r;
	struct jnode *n = NULL;

	if (base == NULL)
		return ev_seterr(err, EV_ERR, "out of memory"), NULL;
	memcpy(base, uri, bl);
	base[bl] = '\0';
	r = map_gets(s->res_by_uri, base);
	if (r != NULL && r->root == NULL) {
		ev_seterr(err, EV_EDATA,
			  "unresolvable $ref '%s': its document did not "
			  "compile",
			  uri);
		goto out;
	}
	if (r == NULL) {
		if (load_uri(s, base, err) != 0)
			goto out;
		r = map_gets(s->res_by_uri, base);
		if (r == NULL || r->root == NULL) {
			ev_seterr(err, EV_EDATA, "unresolvable $ref '%s'", uri);
			goto out;
		}
	}
	if (frag == NULL || *frag == '\0') {
		n = r->root;
	} else if (*frag == '/') {
		char *dec = NULL;
		struct ev_buf pb = {0};
		const uint8_t *at;

		if (ev_uri_pct_decode(frag, strlen(frag), &dec) != 0) {
			ev_seterr(err, EV_EDATA, "invalid $ref '%s'", uri);
			goto out;
		}
		ev_buf_puts(&pb, r->path);
		ev_buf_puts(&pb, dec);
		n = node_path_get(s, r->doc, (const char *)pb.p, pb.len);
		if (n != NULL) {
			free(dec);
			ev_buf_free(&pb);
			goto out;
		}
		pb.len = 0;
		ev_buf_puts(&pb, r->path);
		at = walk_pointer(r->p, r->end, dec, &pb);
		free(dec);
		if (at == NULL) {
			ev_buf_free(&pb);
			ev_seterr(err, EV_EDATA,
				  "unresolvable $ref '%s': no such location",
				  uri);
			goto out;
		}
		n = map_get(s->node_by_addr, &at, sizeof(at));
		if (n == NULL) {
			struct cc c = {0};
			char *path =
				js_strdup(s, pb.p ? (const char *)pb.p : "",
					  pb.len);

			c.s = s;
			c.doc = r->doc;
			c.end = r->end;
			c.err = err;
			if (path != NULL)
				n = js_compile_at(&c, at, r->uri, r, path,
						  r->draft, r->vocab, 1);
		}
		ev_buf_free(&pb);
	} else {
		n = map_gets(s->anchors, uri);
		if (n == NULL)
			ev_seterr(err, EV_EDATA,
				  "unresolvable $ref '%s': no such anchor",
				  uri);
	}
out:
	free(base);
	return n;
}

static int resolve_one(struct ev_jschema_set *s, struct jnode *n,
		       struct ev_error *err)
{
	struct ev_error e2;

	if (n->ref_uri && n->ref == NULL) {
		n->ref = lookup(s, n->ref_uri, &e2);
		if (n->ref == NULL)
			return ev_seterr(err, e2.code ? e2.code : EV_EDATA,
					 "%s: %s/$ref: %s", n->doc->name,
					 n->path, e2.msg);
	}
	if (n->dynref_uri && n->dynref == NULL) {
		const char *frag;

		n->dynref = lookup(s, n->dynref_uri, &e2);
		if (n->dynref == NULL)
			return ev_seterr(err, e2.code ? e2.code : EV_EDATA,
					 "%s: %s/$dynamicRef: %s", n->doc->name,
					 n->path, e2.msg);
		/* dynamic only when the target bookends: a $dynamicAnchor
		 * of the same name */
		ev_uri_fragment(n->dynref_uri, &frag);
		if (frag != NULL && *frag != '\0' && *frag != '/') {
			struct jdanchor *da;

			for (da = n->dynref->res->dyn; da; da = da->next)
				if (strcmp(da->name, frag) == 0 &&
				    da->node == n->dynref)
					n->dyn_name = da->name;
		}
	}
	if (n->recref_uri && n->recref == NULL) {
		n->recref = lookup(s, n->recref_uri, &e2);
		if (n->recref == NULL)
			return ev_seterr(err, e2.code ? e2.code : EV_EDATA,
					 "%s: %s/$recursiveRef: %s",
					 n->doc->name, n->path, e2.msg);
	}
	return 0;
}

static int resolve_pending(struct ev_jschema_set *s, size_t from,
			   struct ev_error *err)
{
	size_t i;
	int r;

	for (i = from; i < s->npending; i++)
		if ((r = resolve_one(s, s->pending[i], err)) != 0)
			return r;
	s->npending = from;
	return 0;
}

/* The i-th in-place edge of a node (an applicator on the same value):
 * 1 and *out (may be NULL), or 0 past the last */
static int inplace_edge(const struct jnode *n, uint32_t i, struct jnode **out)
{
	struct jnode *fixed[7] = {n->ref, n->dynref, n->recref, n->not_,
				  n->if_, n->then_,  n->else_};

	if (i < 7) {
		*out = fixed[i];
		return 1;
	}
	i -= 7;
	if (i < n->nallof) {
		*out = n->allof[i];
		return 1;
	}
	i -= n->nallof;
	if (i < n->nanyof) {
		*out = n->anyof[i];
		return 1;
	}
	i -= n->nanyof;
	if (i < n->noneof) {
		*out = n->oneof[i];
		return 1;
	}
	i -= n->noneof;
	if (n->obj != NULL && i < n->obj->nprops) {
		*out = n->obj->props[i].dep_schema;
		return 1;
	}
	return 0;
}

struct cframe {
	struct jnode *n;
	uint32_t i;
};

static void inplace_fold(struct jnode *parent, const struct jnode *child)
{
	if (child->ipdepth > parent->ipdepth)
		parent->ipdepth = child->ipdepth;
	parent->ipcount = parent->ipcount > UINT64_MAX - child->ipcount
				  ? UINT64_MAX
				  : parent->ipcount + child->ipcount;
}

/* Over the in-place edges from n, without recursion: a cycle evaluates
 * forever; a chain deeper than the runtime recursion fails every value;
 * a graph whose paths multiply takes exponential time. */
static int cycle_check(struct jnode *root, struct cframe **stk, size_t *cap,
		       struct ev_error *err)
{
	size_t sp = 0;

	if (root == NULL || root->visited)
		return 0;
	for (;;) {
		struct jnode *n, *ch = NULL;

		if (root != NULL) {
			if (sp == *cap) {
				size_t nc = *cap ? 2 * *cap : 256;
				struct cframe *ns =
					realloc(*stk, nc * sizeof(*ns));

				if (ns == NULL)
					return ev_seterr(err, EV_ERR,
							 "out of memory");
				*stk = ns;
				*cap = nc;
			}
			(*stk)[sp].n = root;
			(*stk)[sp].i = 0;
			sp++;
			root->visiting = 1;
			root->ipdepth = 0;
			root->ipcount = 1;
			root = NULL;
		}
		n = (*stk)[sp - 1].n;
		while (inplace_edge(n, (*stk)[sp - 1].i++, &ch) && ch == NULL)
			;
		if (ch != NULL) {
			if (ch->visiting)
				return ev_seterr(
					err, EV_EDATA,
					"%s: %s: $ref cycle with no progress",
					ch->doc->name,
					*ch->path ? ch->path : "/");
			if (ch->visited)
				inplace_fold(n, ch);
			else
				root = ch;
			continue;
		}
		/* all edges done */
		if (n->kind == JN_OBJ && !n->leaf)
			n->ipdepth++;
		n->visiting = 0;
		n->visited = 1;
		if (n->ipdepth > JS_MAX_REF_DEPTH)
			return ev_seterr(err, EV_EDATA,
					 "%s: %s: references nest deeper than "
					 "%d levels (a chain of $ref or "
					 "allOf/anyOf/oneOf/not/if)",
					 n->doc->name, *n->path ? n->path : "/",
					 JS_MAX_REF_DEPTH);
		if (n->ipcount > JS_MAX_STEPS)
			return ev_seterr(err, EV_EDATA,
					 "%s: %s: the schema branches "
					 "exponentially: validating one value "
					 "would take more than %u steps",
					 n->doc->name, *n->path ? n->path : "/",
					 JS_MAX_STEPS);
		if (--sp == 0)
			return 0;
		inplace_fold((*stk)[sp - 1].n, n);
	}
}

int ev_jschema_set_compile(struct ev_jschema_set *s, struct ev_error *err)
{
	struct cframe *stk = NULL;
	size_t i, cap = 0;
	int r;

	if ((r = resolve_pending(s, 0, err)) != 0)
		return r;
	for (i = 0; i < s->nall && r == 0; i++)
		r = cycle_check(s->all[i], &stk, &cap, err);
	free(stk);
	return r;
}

struct ev_jschema *ev_jschema_get(struct ev_jschema_set *s, const char *uri,
				  struct ev_error *err)
{
	size_t from = s->npending;
	struct jnode *n;
	struct ev_error e2;
	char *u;

	if (err == NULL)
		err = &e2;
	/* "...schema#" is the document */
	u = strdup(uri);
	if (u == NULL)
		return NULL;
	if (*u && u[strlen(u) - 1] == '#')
		u[strlen(u) - 1] = '\0';
	n = lookup(s, u, err);
	free(u);
	if (n == NULL)
		return NULL;
	if (resolve_pending(s, from, err) != 0)
		return NULL;
	return n;
}

/* ------------------------------------------------------ simple patterns */

/*
 * Most "pattern"s of event schemas are anchored sequences like
 * ^SKU-[0-9]{5}$ or ^(order|account)-[0-9]+$.  Those are matched here,
 * without a call into PCRE2, when every step is decided by the next
 * character: a repeated atom is followed by the end or by an element
 * that needs a character outside the atom's set, and no alternative
 * of a group is a prefix of another.  Only ASCII is taken, so a byte
 * of a multibyte (or invalid) character matches nothing, as in PCRE2.
 * Anything else (and out of memory) gives NULL: PCRE2 matches it.
 */

static inline int sre_in(const uint64_t *set, uint8_t ch)
{
	return ch < 128 && ((set[ch >> 6] >> (ch & 63)) & 1);
}

static void sre_add(uint64_t *set, uint8_t lo, uint8_t hi)
{
	unsigned ch;

	for (ch = lo; ch <= hi; ch++)
		set[ch >> 6] |= 1ull << (ch & 63);
}

/* a literal: printable ASCII that is no syntax */
static int sre_lit(uint8_t ch)
{
	return ch >= 0x20 && ch < 0x7f && !strchr("\\^$.|?*+()[]{}", ch);
}

/* an escaped literal: ASCII punctuation */
static int sre_punct(uint8_t ch)
{
	return ch != 0 && strchr("^$\\.*+?()[]{}|/-", ch) != NULL;
}

/* \d and \w into set; 0, or -1 for any other escape */
static int sre_class_esc(uint8_t ch, uint64_t *set)
{
	if (ch == 'd') {
		sre_add(set, '0', '9');
		return 0;
	}
	if (ch == 'w') {
		sre_add(set, '0', '9');
		sre_add(set, 'A', 'Z');
		sre_add(set, 'a', 'z');
		sre_add(set, '_', '_');
		return 0;
	}
	return -1;
}

static int sre_num(const uint8_t **pp, const uint8_t *e, uint32_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;

	if (p >= e || *p < '0' || *p > '9')
		return -1;
	while (p < e && *p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p++ - '0');
		if (v > 100000)
			return -1;
	}
	*out = (uint32_t)v;
	*pp = p;
	return 0;
}

/* the n bytes of a (at most 8) as the word that reads them first, and
 * its mask: 1, or 0 when longer */
static int sre_word(const char *a, uint32_t n, uint64_t *w, uint64_t *m)
{
	uint8_t wb[8] = {0}, mb[8] = {0};

	if (n > 8)
		return 0;
	memcpy(wb, a, n);
	memset(mb, 0xff, n);
	memcpy(w, wb, 8);
	memcpy(m, mb, 8);
	return 1;
}

struct jsre *js_sre_compile(struct ev_jschema_set *s, const char *pat, size_t n)
{
	const uint8_t *p = (const uint8_t *)pat, *e = p + n;
	struct jsre_el el[32];
	uint32_t nel = 0, i, j;
	struct jsre *r;

	if (n < 2 || p[0] != '^')
		return NULL;
	p++;
	for (;;) {
		struct jsre_el *x;

		if (p >= e)
			return NULL; /* no "$" */
		if (*p == '$') {
			if (p + 1 != e)
				return NULL;
			break;
		}
		if (nel == sizeof(el) / sizeof(el[0]))
			return NULL;
		x = &el[nel++];
		memset(x, 0, sizeof(*x));
		x->min = x->max = 1;
		if (*p == '(') {
			/* literal alternatives */
			const uint8_t *a = ++p;
			const char *alts[16];
			uint32_t lens[16], k = 0;

			for (;;) {
				if (p >= e)
					return NULL;
				if (*p == '|' || *p == ')') {
					if (p == a || k == 16)
						return NULL;
					alts[k] = (const char *)a;
					lens[k++] = (uint32_t)(p - a);
					if (*p++ == ')')
						break;
					a = p;
					continue;
				}
				if (!sre_lit(*p))
					return NULL;
				p++;
			}
			if (k < 2)
				return NULL;
			for (i = 0; i < k; i++)
				for (j = 0; j < k; j++)
					if (i != j && lens[i] <= lens[j] &&
					    memcmp(alts[i], alts[j], lens[i]) ==
						    0)
						return NULL;
			x->alt = js_alloc(s, k * sizeof(*x->alt));
			x->altlen = js_alloc(s, k * sizeof(*x->altlen));
			if (x->alt == NULL || x->altlen == NULL)
				return NULL;
			for (i = 0; i < k; i++) {
				x->alt[i] = alts[i];
				x->altlen[i] = lens[i];
				sre_add(x->set, (uint8_t)alts[i][0],
					(uint8_t)alts[i][0]);
			}
			x->nalt = k;
			if (p < e && strchr("?*+{", *p))
				return NULL; /* no quantified group */
			continue;
		}
		if (*p == '[') {
			p++;
			if (p < e && *p == '^')
				return NULL;
			if (p < e && *p == ']')
				return NULL;
			while (p < e && *p != ']') {
				uint8_t lo;

				if (*p == '\\') {
					if (p + 1 >= e)
						return NULL;
					if (sre_class_esc(p[1], x->set) == 0) {
						p += 2;
						continue;
					}
					if (!sre_punct(p[1]))
						return NULL;
					lo = p[1];
					p += 2;
				} else if (*p >= 0x20 && *p < 0x7f &&
					   *p != '[') {
					lo = *p++;
				} else {
					return NULL;
				}
				if (p + 1 < e && *p == '-' && p[1] != ']') {
					uint8_t hi = p[1];

					if (hi == '\\' || hi == '[' ||
					    hi < 0x20 || hi >= 0x7f || hi < lo)
						return NULL;
					sre_add(x->set, lo, hi);
					p += 2;
				} else {
					sre_add(x->set, lo, lo);
				}
			}
			if (p >= e)
				return NULL;
			p++;
		} else if (*p == '\\') {
			if (p + 1 >= e)
				return NULL;
			if (sre_class_esc(p[1], x->set) != 0) {
				if (!sre_punct(p[1]))
					return NULL;
				sre_add(x->set, p[1], p[1]);
			}
			p += 2;
		} else if (sre_lit(*p)) {
			sre_add(x->set, *p, *p);
			p++;
		} else {
			return NULL;
		}
		/* a quantifier */
		if (p < e && *p == '?') {
			x->min = 0;
			p++;
		} else if (p < e && *p == '*') {
			x->min = 0;
			x->max = UINT32_MAX;
			p++;
		} else if (p < e && *p == '+') {
			x->max = UINT32_MAX;
			p++;
		} else if (p < e && *p == '{') {
			p++;
			if (sre_num(&p, e, &x->min) != 0)
				return NULL;
			x->max = x->min;
			if (p < e && *p == ',') {
				p++;
				x->max = UINT32_MAX;
				if (p < e && *p != '}' &&
				    (sre_num(&p, e, &x->max) != 0 ||
				     x->max < x->min))
					return NULL;
			}
			if (p >= e || *p != '}')
				return NULL;
			p++;
		}
		if (p < e && strchr("?*+{", *p))
			return NULL; /* lazy or stacked quantifiers */
	}
	/* each repetition decided by the next character */
	for (i = 0; i < nel; i++) {
		if (el[i].alt != NULL || el[i].min == el[i].max)
			continue;
		if (i + 1 == nel)
			continue;
		if (el[i + 1].alt == NULL && el[i + 1].min == 0)
			return NULL;
		if ((el[i].set[0] & el[i + 1].set[0]) ||
		    (el[i].set[1] & el[i + 1].set[1]))
			return NULL;
	}
	r = js_alloc(s, sizeof(*r));
	if (r == NULL || (r->el = js_alloc(s, nel * sizeof(*r->el))) == NULL)
		return NULL;
	/* runs of single literal characters as strings; sets as tables */
	for (i = 0; i < nel; i++) {
		struct jsre_el *x = &el[i], *y;
		uint8_t *tab, one = 0;
		unsigned ch, cnt = 0;

		if (x->alt != NULL) {
			r->el[r->nel++] = *x;
			continue;
		}
		for (ch = 0; ch < 128; ch++)
			if (sre_in(x->set, (uint8_t)ch)) {
				cnt++;
				one = (uint8_t)ch;
			}
		y = r->nel ? &r->el[r->nel - 1] : NULL;
		if (cnt == 1 && x->min == 1 && x->max == 1) {
			char *l;

			if (y != NULL && y->lit != NULL) {
				l = (char *)y->lit; /* room for all: below */
				l[y->litlen++] = (char)one;
				continue;
			}
			if ((l = js_alloc(s, nel)) == NULL)
				return NULL;
			l[0] = (char)one;
			y = &r->el[r->nel++];
			*y = *x;
			y->lit = l;
			y->litlen = 1;
			continue;
		}
		if ((tab = js_alloc(s, 256)) == NULL)
			return NULL;
		for (ch = 0; ch < 128; ch++)
			tab[ch] = (uint8_t)sre_in(x->set, (uint8_t)ch);
		y = &r->el[r->nel++];
		*y = *x;
		y->tab = tab;
	}
	/* the kinds, and literals as words */
	for (i = 0; i < r->nel; i++) {
		struct jsre_el *y = &r->el[i];

		if (y->alt != NULL) {
			y->kind = SRE_ALT;
			y->aw = js_alloc(s, y->nalt * sizeof(*y->aw));
			y->am = js_alloc(s, y->nalt * sizeof(*y->am));
			if (y->aw == NULL || y->am == NULL)
				return NULL;
			y->wide = 1;
			for (j = 0; j < y->nalt; j++)
				if (!sre_word(y->alt[j], y->altlen[j],
					      &y->aw[j], &y->am[j]))
					y->wide = 0;
		} else if (y->lit != NULL) {
			y->kind = y->litlen == 1 ? SRE_CH : SRE_LIT;
			y->wide = (uint8_t)sre_word(y->lit, y->litlen, &y->lw,
						    &y->lm);
		} else {
			y->kind = y->min == y->max ? SRE_FIX : SRE_RUN;
		}
	}
	return r;
}
