/*
 * schemadir.c - struct ev_schemadir: a schema registry that is just a
 * directory (evlog-schemas(5)): DIR/TYPE/N.json is the schema of the data
 * of events of type TYPE (percent-encoded) with schema version N, and
 * DIR/_envelope.json, when present, constrains the whole event as its
 * JSON envelope.  Every file is compiled into one ev_jschema_set (with
 * the metaschema check on, and DIR as the root relative refs may load
 * from), and types are found by a hash of their names.
 *
 * Also lint: every problem of a directory, not only the first: each file
 * added to a set of its own (an error there is the file's), then all of
 * them compiled in one set as ev_schemadir_open() does, again without
 * each file found bad, so that lint refuses what check refuses and
 * accepts what it accepts.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evlog_private.h"
#include "jschema_int.h"

#define ENVELOPE_FILE "_envelope.json"

struct sversion {
	uint64_t n;
	struct ev_jschema *sc;
	struct ev_jschema_fast *fast; /* its fast walk, or NULL */
	int anything; /* the schema is true or {}: binary data passes */
	char *file;   /* DIR/TYPE/N.json as named */
};

struct stype {
	char *name; /* decoded */
	size_t len;
	uint64_t hash;
	char *dirname; /* DIR/ENCODED */
	struct sversion *v;
	size_t nv; /* sorted by n */
};

/* the keys of an envelope, for ev_jschema_fast_keyset() */
enum {
	EK_ID,
	EK_TYPE,
	EK_TIME,
	EK_STREAM,
	EK_VERSION,
	EK_KEY,
	EK_SCHEMA,
	EK_META,
	EK_COUNT
};

struct ev_schemadir {
	char *dir; /* as given, without trailing slashes */
	int require_schemas;
	struct ev_jschema_set *set;
	struct stype *types;
	size_t ntypes;
	uint32_t *slots; /* index + 1 into types, 0 empty */
	size_t mask;
	struct ev_jschema *envelope;
	struct ev_jschema_fast *envelope_fast;
	char *envelope_file;
	int envelope_data;	 /* does _envelope.json look at data? */
	int envelope_time_blind; /* any string stands for the time */
	/* by EK_*: the values the fast walk takes whatever they are
	 * (EV_JSCHEMA_ANY_*) */
	unsigned envelope_any[EK_COUNT];
};

/* ------------------------------------------------------------ names */

/* the hash of a type name, looked up once per event: a word at a time,
 * every byte of it */
static inline uint64_t name_hash(const char *name, size_t n)
{
	const uint64_t m = 0xff51afd7ed558ccdull;
	uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull, w;
	uint32_t u, x;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&w, name + i, 8);
			h = (h ^ w) * m;
		}
		memcpy(&w, name + n - 8, 8);
		h = (h ^ w) * m;
	} else if (n >= 4) {
		memcpy(&u, name, 4);
		memcpy(&x, name + n - 4, 4);
		h = (h ^ ((uint64_t)u << 32 | x)) * m;
	} else if (n > 0) {
		h = (h ^ ((uint64_t)(uint8_t)name[0] |
			  (uint64_t)(uint8_t)name[n / 2] << 8 |
			  (uint64_t)(uint8_t)name[n - 1] << 16)) *
		    m;
	}
	return h ^ (h >> 29) ^ (h >> 47);
}

static int must_encode(const unsigned char *p, size_t i, size_t n)
{
	unsigned char c = p[i];

	if (c == '%' || c == '/' || c < 0x20 || c == 0x7f)
		return 1;
	if (i == 0 && (c == '.' || c == '_'))
		return 1;
	/* U+0080-009F, the C1 controls */
	if (c == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
		return 1;
	if (c >= 0x80 && c <= 0x9f && i > 0 && p[i - 1] == 0xC2)
		return 1;
	return 0;
}

int ev_schemadir_encode_type(const char *type, size_t n, struct ev_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)type;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!must_encode(p, i, n)) {
			if (ev_buf_putc(out, p[i]) != 0)
				return EV_ERR;
			continue;
		}
		if (ev_buf_putc(out, '%') != 0 ||
		    ev_buf_putc(out, hex[p[i] >> 4]) != 0 ||
		    ev_buf_putc(out, hex[p[i] & 15]) != 0)
			return EV_ERR;
	}
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The reason a directory name does not decode, or NULL (out filled). */
static const char *decode_name(const char *name, struct ev_buf *out)
{
	const char *s = name;
	size_t start = out->len;
	int hi, lo;

	if (*s == '\0')
		return "an empty name";
	if (*s == '.' || *s == '_')
		return "a leading '.' or '_' must be percent-encoded "
		       "(%2E, %5F)";
	for (; *s; s++) {
		if (*s != '%') {
			if (ev_buf_putc(out, *s) != 0)
				return "out of memory";
			continue;
		}
		hi = hexval((unsigned char)s[1]);
		lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
		if (hi < 0 || lo < 0)
			return "'%' is not followed by two hex digits";
		if (ev_buf_putc(out, hi << 4 | lo) != 0)
			return "out of memory";
		s += 2;
	}
	if (ev_utf8_valid(out->p + start, out->len - start) != out->len - start)
		return "it decodes to a name that is not valid UTF-8";
	return NULL;
}

int ev_schemadir_decode_type(const char *name, struct ev_buf *out)
{
	size_t start = out->len;

	if (decode_name(name, out) != NULL) {
		out->len = start;
		return EV_EDATA;
	}
	return 0;
}

/* N.json, N a positive integer without leading zeros: N, or 0. */
static uint64_t version_of(const char *name)
{
	uint64_t v = 0;
	const char *s = name;

	if (*s < '1' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		/* every positive uint64: 18446744073709551615 is one */
		if (v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return 0;
		v = v * 10 + d;
	}
	return strcmp(s, ".json") == 0 ? v : 0;
}

/* ------------------------------------------------------------ scanning */

/* A problem found while scanning or compiling. */
struct problem {
	char *file;
	char *msg;
	int lint_only; /* ev_schemadir_open() does not stop at it */
};

struct scan {
	const char *dir;
	struct stype *types;
	size_t ntypes, cap;
	int has_envelope;
	struct problem *pr;
	size_t npr, prcap;
	int stop_at_first;
	int oom;
};

static void problem(struct scan *sc, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct scan *sc, const char *file, const char *fmt, ...)
{
	struct problem *p;
	va_list ap;
	char *m = NULL;
	int r;

	if (sc->npr == sc->prcap) {
		size_t cap = sc->prcap ? sc->prcap * 2 : 8;
		p = realloc(sc->pr, cap * sizeof(*p));
		if (p == NULL) {
			sc->oom = 1;
			return;
		}
		sc->pr = p;
		sc->prcap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&m, fmt, ap);
	va_end(ap);
	p = &sc->pr[sc->npr];
	p->file = strdup(file);
	if (r < 0 || p->file == NULL) {
		free(p->file);
		if (r >= 0)
			free(m);
		sc->oom = 1;
		return;
	}
	p->msg = m;
	p->lint_only = 0;
	sc->npr++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, sorted (for messages in a stable order);
 * NULL with errno set on failure.  Free each and the vector. */
static char **list_dir(const char *path, size_t *count)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **v = NULL, **nv;
	size_t n = 0, cap = 0;

	*count = 0;
	if (d == NULL)
		return NULL;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				goto fail;
			v = nv;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	else if (v == NULL)
		v = malloc(sizeof(*v));
	if (v == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	*count = n;
	return v;
fail : {
	int e = errno ? errno : ENOMEM;
	while (n > 0)
		free(v[--n]);
	free(v);
	closedir(d);
	errno = e;
	return NULL;
}
}

static void free_list(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

static int cmp_version(const void *a, const void *b)
{
	const struct sversion *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

static char *path_join(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

static void free_types(struct stype *t, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		free(t[i].name);
		free(t[i].dirname);
		for (j = 0; j < t[i].nv; j++) {
			free(t[i].v[j].file);
			ev_jschema_fast_free(t[i].v[j].fast);
		}
		free(t[i].v);
	}
	free(t);
}

/* One type directory: its versions. */
static void scan_type(struct scan *sc, const char *ent, const char *path)
{
	struct ev_buf name = {0};
	struct stype *t;
	const char *why;
	char **files;
	size_t nf, i, k;
	struct stat st;

	why = decode_name(ent, &name);
	if (why != NULL) {
		problem(sc, path,
			"%s: the directory name is not a percent-encoded "
			"type: %s",
			path, why);
		ev_buf_free(&name);
		return;
	}
	for (k = 0; k < sc->ntypes; k++) {
		if (sc->types[k].len == name.len &&
		    memcmp(sc->types[k].name, name.p, name.len) == 0) {
			problem(sc, path,
				"%s: a second directory for type '%.*s' "
				"(the other is %s)",
				path, (int)name.len, (const char *)name.p,
				sc->types[k].dirname);
			ev_buf_free(&name);
			return;
		}
	}
	if (sc->ntypes == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 16;
		t = realloc(sc->types, cap * sizeof(*t));
		if (t == NULL) {
			sc->oom = 1;
			ev_buf_free(&name);
			return;
		}
		sc->types = t;
		sc->cap = cap;
	}
	t = &sc->types[sc->ntypes];
	memset(t, 0, sizeof(*t));
	t->len = name.len;
	t->name = malloc(name.len + 1);
	t->dirname = strdup(path);
	if (t->name == NULL || t->dirname == NULL) {
		free(t->name);
		free(t->dirname);
		sc->oom = 1;
		ev_buf_free(&name);
		return;
	}
	if (name.len > 0)
		memcpy(t->name, name.p, name.len);
	t->name[name.len] = '\0';
	t->hash = name_hash(t->name, t->len);
	ev_buf_free(&name);
	sc->ntypes++;

	files = list_dir(path, &nf);
	if (files == NULL) {
		problem(sc, path, "%s: cannot read the directory: %s", path,
			strerror(errno));
		return;
	}
	t->v = calloc(nf ? nf : 1, sizeof(*t->v));
	if (t->v == NULL) {
		sc->oom = 1;
		free_list(files, nf);
		return;
	}
	for (i = 0; i < nf; i++) {
		char *fp = path_join(path, files[i]);
		uint64_t v = version_of(files[i]);

		if (fp == NULL) {
			sc->oom = 1;
			break;
		}
		if (v == 0) {
			problem(sc, fp,
				"%s: not a schema file: names are N.json, "
				"N the schema version (1, 2, ...)",
				fp);
			free(fp);
			continue;
		}
		if (stat(fp, &st) != 0 || !S_ISREG(st.st_mode)) {
			problem(sc, fp, "%s: not a regular file", fp);
			free(fp);
			continue;
		}
		t->v[t->nv].n = v;
		t->v[t->nv].file = fp;
		t->nv++;
	}
	free_list(files, nf);
	if (t->nv > 1)
		qsort(t->v, t->nv, sizeof(*t->v), cmp_version);
	if (t->nv == 0 && !sc->oom)
		problem(sc, path,
			"%s: a type directory with no schema files (N.json)",
			path);
}

/* Scan dir: types, versions, the envelope; problems for the rest. */
static int scan_dir(struct scan *sc, struct ev_error *err)
{
	char **ents;
	size_t n, i;
	struct stat st;

	ents = list_dir(sc->dir, &n);
	if (ents == NULL) {
		int e = errno;

		if (e == ENOTDIR || (e == ENOENT && stat(sc->dir, &st) == 0 &&
				     !S_ISDIR(st.st_mode)))
			return ev_seterr(err, EV_ENOENT,
					 "schema directory '%s' is not a "
					 "directory",
					 sc->dir);
		if (e == ENOENT)
			return ev_seterr(err, EV_ENOENT,
					 "no schema directory '%s'", sc->dir);
		return ev_seterr_errno(err, EV_EIO, e,
				       "cannot read schema directory '%s'",
				       sc->dir);
	}
	for (i = 0; i < n && !sc->oom; i++) {
		char *path = path_join(sc->dir, ents[i]);

		if (path == NULL) {
			sc->oom = 1;
			break;
		}
		if (stat(path, &st) != 0) {
			problem(sc, path, "%s: %s", path, strerror(errno));
		} else if (strcmp(ents[i], ENVELOPE_FILE) == 0 &&
			   S_ISREG(st.st_mode)) {
			sc->has_envelope = 1;
		} else if (S_ISDIR(st.st_mode)) {
			scan_type(sc, ents[i], path);
		} else {
			problem(sc, path,
				"%s: a stray file: a schema directory holds "
				"TYPE/N.json and " ENVELOPE_FILE,
				path);
		}
		free(path);
	}
	free_list(ents, n);
	if (sc->oom)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

static void scan_free(struct scan *sc)
{
	size_t i;

	free_types(sc->types, sc->ntypes);
	for (i = 0; i < sc->npr; i++) {
		free(sc->pr[i].file);
		free(sc->pr[i].msg);
	}
	free(sc->pr);
}

/* ------------------------------------------------------------ compiling */

static int read_file(const char *path, struct ev_buf *b, struct ev_error *err)
{
	FILE *f = fopen(path, "rb");
	char tmp[65536];
	size_t r;

	b->len = 0;
	if (f == NULL)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (ev_buf_append(b, tmp, r) != 0) {
			fclose(f);
			return ev_seterr(err, EV_ERR, "out of memory");
		}
	}
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		return ev_seterr_errno(err, EV_EIO, e, "cannot read '%s'",
				       path);
	}
	fclose(f);
	return 0;
}

/* Does the schema (JSON text) accept any value: true, or an object of
 * nothing but annotations? */
static int accepts_anything(const struct ev_buf *json)
{
	static const char *const notes[] = {
		"$schema",     "$id",	  "$comment",	"title",
		"description", "$defs",	  "examples",	"definitions",
		"default",     "$anchor", "deprecated", "readOnly",
		"writeOnly",   NULL,
	};
	struct ev_json js;
	struct ev_buf mp = {0};
	const uint8_t *p, *end;
	struct ev_mp_item it, k;
	uint32_t i;
	int ok = 0;

	ev_json_init(&js, (const char *)json->p, json->len);
	if (ev_json_value(&js, &mp) != 0)
		goto out;
	p = mp.p;
	end = mp.p + mp.len;
	if (ev_mp_read(&p, end, &it) != 0)
		goto out;
	if (it.type == EV_MP_BOOL) {
		ok = it.v.b;
		goto out;
	}
	if (it.type != EV_MP_MAP)
		goto out;
	for (i = 0; i < it.n; i++) {
		const char *const *w;
		if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_STR)
			goto out;
		for (w = notes; *w != NULL; w++)
			if (strlen(*w) == k.n && memcmp(*w, k.p, k.n) == 0)
				break;
		if (*w == NULL || ev_mp_skip(&p, end, 0) != 0)
			goto out;
	}
	ok = 1;
out:
	ev_buf_free(&mp);
	return ok;
}

/* Can _envelope.json (text) tell events apart by their data?  Not when
 * its root holds only annotations, type, and properties and required
 * that do not name data or data_base64: then the envelope is validated
 * without its data, which is neither copied nor walked a second time.
 * Anything else (a $ref, an applicator, additionalProperties...) could
 * look at it: 1. */
static int envelope_needs_data(const struct ev_buf *json)
{
	static const char *const plain[] = {
		"$schema",     "$id",	  "$comment",	"title",
		"description", "$defs",	  "examples",	"definitions",
		"default",     "$anchor", "deprecated", "readOnly",
		"writeOnly",   "type",	  NULL,
	};
	struct ev_json js;
	struct ev_buf mp = {0};
	const uint8_t *p, *end;
	struct ev_mp_item it, k, v;
	uint32_t i, j;
	int needs = 1;

	ev_json_init(&js, (const char *)json->p, json->len);
	if (ev_json_value(&js, &mp) != 0)
		goto out;
	p = mp.p;
	end = mp.p + mp.len;
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		goto out;
	for (i = 0; i < it.n; i++) {
		const char *const *w;
		int props, req;

		if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_STR)
			goto out;
		props = k.n == 10 && memcmp(k.p, "properties", 10) == 0;
		req = k.n == 8 && memcmp(k.p, "required", 8) == 0;
		if (props || req) {
			/* the names: keys of properties, items of required */
			if (ev_mp_read(&p, end, &v) != 0 ||
			    v.type != (props ? EV_MP_MAP : EV_MP_ARRAY))
				goto out;
			for (j = 0; j < v.n; j++) {
				struct ev_mp_item nm;

				if (ev_mp_read(&p, end, &nm) != 0 ||
				    nm.type != EV_MP_STR)
					goto out;
				if ((nm.n == 4 &&
				     memcmp(nm.p, "data", 4) == 0) ||
				    (nm.n == 11 &&
				     memcmp(nm.p, "data_base64", 11) == 0))
					goto out;
				if (props && ev_mp_skip(&p, end, 0) != 0)
					goto out;
			}
			continue;
		}
		for (w = plain; *w != NULL; w++)
			if (strlen(*w) == k.n && memcmp(*w, k.p, k.n) == 0)
				break;
		if (*w == NULL || ev_mp_skip(&p, end, 0) != 0)
			goto out;
	}
	needs = 0;
out:
	ev_buf_free(&mp);
	return needs;
}

static int add_schema(struct ev_jschema_set *set, const char *file,
		      struct ev_buf *text, struct ev_jschema **out,
		      int *anything, struct ev_error *err)
{
	int r = read_file(file, text, err);

	if (r != 0)
		return r;
	if (anything != NULL)
		*anything = accepts_anything(text);
	return ev_jschema_add(set, (const char *)text->p, text->len, file, NULL,
			      out, err);
}

static char *strip_slashes(const char *dir)
{
	size_t n = strlen(dir);
	char *s;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	s = malloc(n + 1);
	if (s != NULL) {
		memcpy(s, dir, n);
		s[n] = '\0';
	}
	return s;
}

static int set_new(struct ev_jschema_set **set, const char *dir,
		   const struct ev_schemadir_opts *o, struct ev_error *err)
{
	struct ev_jschema_opts js;
	char *abs = realpath(dir, NULL);
	int r;

	memset(&js, 0, sizeof(js));
	if (o != NULL)
		js = o->js;
	js.check_meta = 1;
	js.local_root = abs != NULL ? abs : dir;
	r = ev_jschema_set_new(set, &js, err);
	free(abs);
	return r;
}

static uint32_t *make_slots(const struct stype *t, size_t n, size_t *mask)
{
	size_t cap = 16, i, j;
	uint32_t *s;

	while (cap < n * 2)
		cap *= 2;
	s = calloc(cap, sizeof(*s));
	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		for (j = t[i].hash & (cap - 1); s[j] != 0;
		     j = (j + 1) & (cap - 1))
			;
		s[j] = (uint32_t)(i + 1);
	}
	*mask = cap - 1;
	return s;
}

/* the names of the envelope, as envelope_raw() writes them */

static const char *const envelope_keys[EK_COUNT] = {
	"id", "type", "time", "stream", "version", "key", "schema", "meta",
};

int ev_schemadir_open(struct ev_schemadir **out, const char *dir,
		      const struct ev_schemadir_opts *o, struct ev_error *err)
{
	struct ev_schemadir *d;
	struct scan sc;
	struct ev_buf text = {0};
	size_t i, j;
	int r;

	*out = NULL;
	memset(&sc, 0, sizeof(sc));
	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->dir = strip_slashes(dir)) == NULL) {
		free(d);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	d->require_schemas = o != NULL && o->require_schemas;
	sc.dir = d->dir;
	if ((r = scan_dir(&sc, err)) != 0)
		goto fail;
	if (sc.npr > 0) {
		r = ev_seterr(err, EV_EDATA, "%s", sc.pr[0].msg);
		goto fail;
	}
	if ((r = set_new(&d->set, d->dir, o, err)) != 0)
		goto fail;
	for (i = 0; i < sc.ntypes; i++) {
		struct stype *t = &sc.types[i];
		for (j = 0; j < t->nv; j++) {
			r = add_schema(d->set, t->v[j].file, &text, &t->v[j].sc,
				       &t->v[j].anything, err);
			if (r != 0)
				goto fail;
		}
	}
	if (sc.has_envelope) {
		d->envelope_file = path_join(d->dir, ENVELOPE_FILE);
		if (d->envelope_file == NULL) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto fail;
		}
		r = add_schema(d->set, d->envelope_file, &text, &d->envelope,
			       NULL, err);
		if (r != 0)
			goto fail;
		d->envelope_data = envelope_needs_data(&text);
	}
	if ((r = ev_jschema_set_compile(d->set, err)) != 0)
		goto fail;
	/* the fast walks (none: out of memory, or nothing to gain) */
	for (i = 0; i < sc.ntypes; i++)
		for (j = 0; j < sc.types[i].nv; j++)
			sc.types[i].v[j].fast =
				ev_jschema_fast_new(sc.types[i].v[j].sc);
	if (d->envelope != NULL &&
	    (d->envelope_fast = ev_jschema_fast_new(d->envelope)) != NULL) {
		if (ev_jschema_fast_keys(d->envelope_fast, envelope_keys,
					 EK_COUNT) != 0) {
			ev_jschema_fast_free(d->envelope_fast);
			d->envelope_fast = NULL;
		} else {
			d->envelope_time_blind =
				ev_jschema_fast_string_blind(d->envelope_fast,
							     EK_TIME);
			for (i = 0; i < EK_COUNT; i++)
				d->envelope_any[i] = (unsigned)
					ev_jschema_fast_any(d->envelope_fast,
							    (unsigned)i);
		}
	}
	d->slots = make_slots(sc.types, sc.ntypes, &d->mask);
	if (d->slots == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	d->types = sc.types;
	d->ntypes = sc.ntypes;
	sc.types = NULL;
	sc.ntypes = 0;
	scan_free(&sc);
	ev_buf_free(&text);
	*out = d;
	return 0;
fail:
	scan_free(&sc);
	ev_buf_free(&text);
	ev_schemadir_free(d);
	return r;
}

void ev_schemadir_free(struct ev_schemadir *d)
{
	if (d == NULL)
		return;
	free_types(d->types, d->ntypes);
	free(d->slots);
	ev_jschema_fast_free(d->envelope_fast);
	ev_jschema_set_free(d->set);
	free(d->envelope_file);
	free(d->dir);
	free(d);
}

const char *ev_schemadir_path(const struct ev_schemadir *d)
{
	return d->dir;
}

size_t ev_schemadir_ntypes(const struct ev_schemadir *d)
{
	return d->ntypes;
}

int ev_schemadir_has_envelope(const struct ev_schemadir *d)
{
	return d->envelope != NULL;
}

/* ------------------------------------------------------------ checking */

/* memcmp() == 0 of the names of a type, inline for the short ones */
static inline int name_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;

	if (n < 8 || n > 16)
		return memcmp(a, b, n) == 0;
	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	if (x != y)
		return 0;
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

static const struct stype *find_type(const struct ev_schemadir *d,
				     const char *name, size_t n)
{
	uint64_t h;
	size_t j;

	if (d->ntypes == 0)
		return NULL;
	h = name_hash(name, n);
	for (j = h & d->mask; d->slots[j] != 0; j = (j + 1) & d->mask) {
		const struct stype *t = &d->types[d->slots[j] - 1];
		if (t->hash == h && t->len == n && name_eq(t->name, name, n))
			return t;
	}
	return NULL;
}

static const struct sversion *find_version(const struct stype *t, uint64_t v)
{
	size_t lo = 0, hi = t->nv;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].n == v)
			return &t->v[mid];
		if (t->v[mid].n < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int ev_schemadir_has_type(const struct ev_schemadir *d, const char *type,
			  size_t n)
{
	return find_type(d, type, n) != NULL;
}

/* An error of the registry's own (no schema file, binary data), added
 * to cx as the validator's are. */
static int registry_error(struct ev_jschema_ctx *cx, const char *instance,
			  const char *schema_path, const char *keyword,
			  const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int registry_error(struct ev_jschema_ctx *cx, const char *instance,
			  const char *schema_path, const char *keyword,
			  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ev_jschema_ctx_add_error(cx, instance, schema_path, keyword, msg) !=
	    0)
		return EV_ERR;
	return 0;
}

/*
 * The fields of a record that a check needs, read in one pass without
 * the full checks of ev_event_decode(): meta is skipped over (the
 * validator reads it, and bounds its depth), or checked against the
 * envelope as it is read, and strings are not checked for UTF-8 (the
 * type is, by ev_schemadir_check_type(), when it is not one of the
 * directory's).  Data that is not binary is where the
 * read stops (1, ev->data set, ev->data_len 0): the validator finds its
 * end, or ev_schemadir_check() skips it, and read_rest() goes on from
 * there.  0 (all read), 1, or EV_EDATA.
 */
struct rstate {
	const uint8_t *p, *end;
	uint32_t i, n;
	uint64_t last;
	const uint8_t *at[EV_K_MAX + 1]; /* where each value is, when read */
	/* the envelope's fast walk, to check meta as it is read (else
	 * NULL), with its scratch context; meta_ok when it found it valid */
	const struct ev_jschema_fast *mf;
	struct ev_jschema_ctx *cx;
	int meta_ok;
};

/* a fixstr, or ev_mp_read's: the string keys of a record */
static inline int read_str(const uint8_t **pp, const uint8_t *end,
			   struct ev_mp_item *it)
{
	const uint8_t *p = *pp;

	if (p < end && *p >= 0xa0 && *p <= 0xbf) {
		uint32_t n = *p & 0x1f;

		if ((size_t)(end - p) <= n)
			return EV_EDATA;
		it->type = EV_MP_STR;
		it->n = n;
		it->p = p + 1;
		*pp = p + 1 + n;
		return 0;
	}
	if (p + 1 < end && *p == 0xd9) { /* str 8: a uuid */
		uint32_t n = p[1];

		if ((size_t)(end - p) < 2 + (size_t)n)
			return EV_EDATA;
		it->type = EV_MP_STR;
		it->n = n;
		it->p = p + 2;
		*pp = p + 2 + n;
		return 0;
	}
	return ev_mp_read(pp, end, it);
}

/* 1 when s is ASCII (so UTF-8), else ev_utf8_valid() decides */
static inline int type_utf8(const uint8_t *s, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= s[i];
	return !(acc & 0x8080808080808080ull) || ev_utf8_valid(s, n) == n;
}

/* ev_mp_skip_fast() with the pairs of a small map (meta) inline when
 * they are strings and small scalars */
static int skip_meta(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	uint32_t i, n;

	if (p >= end || *p < 0x80 || *p > 0x8f)
		return ev_mp_skip_fast(pp, end);
	n = 2 * (uint32_t)(*p++ & 0x0f);
	for (i = 0; i < n; i++) {
		uint8_t c;

		if (p >= end)
			return -1;
		c = *p;
		if (c >= 0xa0 && c <= 0xbf) {
			if ((size_t)(end - p) <= (size_t)(c & 0x1f))
				return -1;
			p += 1 + (c & 0x1f);
		} else if (c == 0xd9) {
			if (end - p < 2 || (size_t)(end - p) < 2 + (size_t)p[1])
				return -1;
			p += 2 + p[1];
		} else if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 ||
			   c == 0xc3) {
			p++;
		} else if (ev_mp_skip_fast(&p, end) != 0) {
			return -1;
		}
	}
	*pp = p;
	return 0;
}

static int read_fields(struct rstate *st, struct ev_event *ev)
{
	const uint8_t *p = st->p, *end = st->end, *v;
	uint32_t i = st->i, n = st->n;
	unsigned last = (unsigned)st->last, k;
	struct ev_mp_item kv;
	struct ev_str *s;

	/* in locals: the stores through ev would make the compiler read
	 * st's again */
	for (; i < n; i++) {
		if (p >= end || *p > EV_K_MAX || *p <= last)
			return EV_EDATA;
		last = k = *p++;
		st->at[k] = p;
		switch (k) {
		case EV_K_ID:
		case EV_K_TYPE:
		case EV_K_STREAM:
		case EV_K_KEY:
			s = k == EV_K_ID       ? &ev->id
			    : k == EV_K_TYPE   ? &ev->type
			    : k == EV_K_STREAM ? &ev->stream
					       : &ev->key;
			if (read_str(&p, end, &kv) != 0 ||
			    kv.type != EV_MP_STR || kv.n == 0)
				return EV_EDATA;
			s->p = (const char *)kv.p;
			s->n = kv.n;
			break;
		case EV_K_TIME:
			if (end - p >= 10 && p[0] == 0xd7 && p[1] == 0xff) {
				/* timestamp 64, as evlog writes it */
				uint64_t w = ev_rbe64(p + 2);
				uint64_t sec = w & ((1ull << 34) - 1);
				uint32_t ns = (uint32_t)(w >> 34);

				/* ev_mp_time_decode(), inline where the
				 * nanoseconds since 1970 fit (to 2262) */
				if (ns <= 999999999 && sec <= 9223372035) {
					ev->time =
						(ev_time_t)(sec * 1000000000 +
							    ns);
					p += 10;
					break;
				}
				kv.type = EV_MP_EXT;
				kv.ext_type = -1;
				kv.n = 8;
				kv.p = p + 2;
				p += 10;
			} else if (ev_mp_read(&p, end, &kv) != 0) {
				return EV_EDATA;
			}
			if (ev_mp_time_decode(&kv, &ev->time) != 0)
				return EV_EDATA;
			break;
		case EV_K_VERSION:
		case EV_K_SCHEMA:
		case EV_K_PREV:
			if (p < end && *p <= 0x7f) {
				kv.type = EV_MP_UINT;
				kv.v.u = *p++;
			} else if (end - p >= 3 && *p == 0xcd) {
				kv.type = EV_MP_UINT;
				kv.v.u = ev_rbe16(p + 1);
				p += 3;
			} else if (end - p >= 5 && *p == 0xce) {
				kv.type = EV_MP_UINT;
				kv.v.u = ev_rbe32(p + 1);
				p += 5;
			} else if (ev_mp_read(&p, end, &kv) != 0 ||
				   kv.type != EV_MP_UINT) {
				return EV_EDATA;
			}
			if (kv.v.u == 0 && k != EV_K_PREV)
				return EV_EDATA;
			if (k == EV_K_VERSION)
				ev->version = kv.v.u;
			else if (k == EV_K_SCHEMA)
				ev->schema = kv.v.u;
			break;
		case EV_K_DATA:
			v = p;
			if (p < end &&
			    (*p == 0xc4 || *p == 0xc5 || *p == 0xc6)) {
				if (ev_mp_read(&p, end, &kv) != 0)
					return EV_EDATA;
				ev->data = kv.p;
				ev->data_len = kv.n;
				ev->data_is_binary = 1;
				break;
			}
			if (p >= end)
				return EV_EDATA;
			/* its end is found by whoever reads it */
			ev->data = v;
			ev->data_len = 0;
			st->i = i + 1;
			st->last = last;
			st->p = p;
			return 1;
		case EV_K_META:
			v = p;
			if (p >= end || !((*p >= 0x80 && *p <= 0x8f) ||
					  *p == 0xde || *p == 0xdf))
				return EV_EDATA;
			if (st->mf != NULL &&
			    ev_jschema_fast_pair_value(st->mf, EK_META,
						       EK_COUNT, p, end, &v,
						       st->cx) == 1) {
				/* valid, so well-formed: v its end */
				st->meta_ok = 1;
				ev->meta = p;
				ev->meta_len = (size_t)(v - p);
				p = v;
				break;
			}
			v = p;
			if (skip_meta(&p, end) != 0)
				return EV_EDATA;
			ev->meta = v;
			ev->meta_len = (size_t)(p - v);
			break;
		default:
			return EV_EDATA;
		}
	}
	/* the type's UTF-8: ev_schemadir_check_type() */
	if (p != end || ev->type.p == NULL || ev->id.p == NULL ||
	    ev->time == EV_TIME_NONE)
		return EV_EDATA;
	st->i = i;
	st->last = last;
	st->p = p;
	return 0;
}

static int read_record(const uint8_t *rec, size_t n, struct ev_event *ev,
		       struct rstate *st, const struct ev_schemadir *d,
		       struct ev_jschema_ctx *cx)
{
	st->mf = d->envelope != NULL && !d->envelope_data ? d->envelope_fast
							  : NULL;
	st->cx = cx;
	st->meta_ok = 0;
	memset(ev, 0, sizeof(*ev));
	ev->time = EV_TIME_NONE;
	ev->schema = 1;
	ev->prev = EV_NO_PREV;
	if (n == 0 || rec[0] < 0x83 || rec[0] > 0x8a)
		return EV_EDATA;
	st->p = rec + 1;
	st->end = rec + n;
	st->i = 0;
	st->n = rec[0] & 0x0f;
	st->last = 0;
	return read_fields(st, ev);
}

/* after text data of dlen bytes (0: not known, skipped here): the rest
 * of the record.  0 or EV_EDATA */
static int read_rest(struct rstate *st, struct ev_event *ev, size_t dlen)
{
	const uint8_t *p = ev->data;

	if (dlen == 0) {
		if (ev_mp_skip_fast(&p, st->end) != 0)
			return EV_EDATA;
		dlen = (size_t)(p - ev->data);
	}
	ev->data_len = dlen;
	st->p = ev->data + dlen;
	return read_fields(st, ev) == 0 ? 0 : EV_EDATA;
}

static const uint8_t nil_value[1] = {0xc0};

/* The JSON envelope of ev (evlog-schemas(5)) as a msgpack map */
static uint8_t *raw_key(uint8_t *o, const char *k)
{
	size_t n = strlen(k);

	*o++ = (uint8_t)(0xa0 | n);
	memcpy(o, k, n);
	return o + n;
}

static uint8_t *raw_str(uint8_t *o, const char *p, size_t n)
{
	o = ev_mp_str_hdr(o, n);
	memcpy(o, p, n);
	return o + n;
}

/* the bytes envelope_raw() may write, binary data given as b64n bytes
 * of base64 */
static size_t envelope_room(const struct ev_event *ev, size_t b64n)
{
	return 96 + 5 * 5 + ev->id.n + ev->type.n + ev->stream.n + ev->key.n +
	       40 + 2 * 9 + ev->meta_len + ev->data_len + b64n;
}

/* into o, which has envelope_room() bytes; returns the end */
static uint8_t *envelope_raw(const struct ev_event *ev, uint8_t *o,
			     const struct ev_buf *b64, int with_data)
{
	unsigned count = 4 + (ev->stream.p != NULL) + (ev->version != 0) +
			 (ev->key.p != NULL) + (ev->meta != NULL) +
			 (with_data && ev->data != NULL);
	char tbuf[40];

	*o++ = (uint8_t)(0x80 | count);
	o = raw_str(raw_key(o, "id"), ev->id.p, ev->id.n);
	o = raw_str(raw_key(o, "type"), ev->type.p, ev->type.n);
	o = raw_str(raw_key(o, "time"), tbuf, ev_time_format(ev->time, tbuf));
	if (ev->stream.p != NULL)
		o = raw_str(raw_key(o, "stream"), ev->stream.p, ev->stream.n);
	if (ev->version != 0)
		o = ev_mp_uint(raw_key(o, "version"), ev->version);
	if (ev->key.p != NULL)
		o = raw_str(raw_key(o, "key"), ev->key.p, ev->key.n);
	o = ev_mp_uint(raw_key(o, "schema"), ev->schema);
	if (ev->meta != NULL) {
		o = raw_key(o, "meta");
		memcpy(o, ev->meta, ev->meta_len);
		o += ev->meta_len;
	}
	if (!with_data) {
		/* _envelope.json does not look at it */
	} else if (ev->data != NULL && ev->data_is_binary) {
		/* as evtail prints it */
		o = raw_str(raw_key(o, "data_base64"), (const char *)b64->p,
			    b64->len);
	} else if (ev->data != NULL) {
		o = raw_key(o, "data");
		memcpy(o, ev->data, ev->data_len);
		o += ev->data_len;
	}
	return o;
}

static void pair(struct ev_jschema_pair *pv, size_t *n, unsigned key,
		 const uint8_t *p, const uint8_t *end)
{
	pv[*n].key = key;
	pv[*n].p = p;
	pv[*n].end = end;
	(*n)++;
}

/* The envelope of ev as envelope_raw() has it without data, checked
 * from the record's own fields (st->at) without building it, nor
 * writing the time when any string stands for it: 1 valid, 0 when the
 * full check must say. */
static int envelope_quick(const struct ev_schemadir *d,
			  const struct ev_event *ev, const struct rstate *st,
			  struct ev_jschema_ctx *cx)
{
	static const uint8_t any_string[1] = {0xa0};
	const unsigned *any = d->envelope_any;
	struct ev_jschema_pair pv[8];
	uint8_t tbuf[48], vbuf[9], sbuf[9];
	unsigned present =
		1u << EK_ID | 1u << EK_TYPE | 1u << EK_TIME | 1u << EK_SCHEMA;
	size_t n = 0;

	/* the pairs to check: not those whose schema takes any value of
	 * their kind, nor meta when checked as it was read */
	if (!(any[EK_ID] & EV_JSCHEMA_ANY_STR))
		pair(pv, &n, EK_ID, st->at[EV_K_ID],
		     (const uint8_t *)ev->id.p + ev->id.n);
	if (!(any[EK_TYPE] & EV_JSCHEMA_ANY_STR))
		pair(pv, &n, EK_TYPE, st->at[EV_K_TYPE],
		     (const uint8_t *)ev->type.p + ev->type.n);
	if (any[EK_TIME] & EV_JSCHEMA_ANY_STR) {
		/* no more to check */
	} else if (d->envelope_time_blind) {
		pair(pv, &n, EK_TIME, any_string, any_string + 1);
	} else {
		char t[40];
		size_t tn = ev_time_format(ev->time, t);
		uint8_t *o = ev_mp_str_hdr(tbuf, tn);

		memcpy(o, t, tn);
		pair(pv, &n, EK_TIME, tbuf, o + tn);
	}
	if (ev->stream.p != NULL) {
		present |= 1u << EK_STREAM;
		if (!(any[EK_STREAM] & EV_JSCHEMA_ANY_STR))
			pair(pv, &n, EK_STREAM, st->at[EV_K_STREAM],
			     (const uint8_t *)ev->stream.p + ev->stream.n);
	}
	if (ev->version != 0) {
		present |= 1u << EK_VERSION;
		/* version and schema are 1 or more (read_fields()) */
		if (!(any[EK_VERSION] & EV_JSCHEMA_ANY_POS))
			pair(pv, &n, EK_VERSION, vbuf,
			     ev_mp_uint(vbuf, ev->version));
	}
	if (ev->key.p != NULL) {
		present |= 1u << EK_KEY;
		if (!(any[EK_KEY] & EV_JSCHEMA_ANY_STR))
			pair(pv, &n, EK_KEY, st->at[EV_K_KEY],
			     (const uint8_t *)ev->key.p + ev->key.n);
	}
	if (!(any[EK_SCHEMA] & EV_JSCHEMA_ANY_POS))
		pair(pv, &n, EK_SCHEMA, sbuf, ev_mp_uint(sbuf, ev->schema));
	if (ev->meta != NULL) {
		present |= 1u << EK_META;
		if (!st->meta_ok)
			pair(pv, &n, EK_META, ev->meta,
			     ev->meta + ev->meta_len);
	}
	return ev_jschema_fast_keyset(d->envelope_fast, present, pv, n, cx);
}

/* The whole event against _envelope.json, its errors added to those
 * in cx: 1 valid, 0 not, <0 out of memory. */
static int check_envelope(const struct ev_schemadir *d,
			  const struct ev_event *ev, struct ev_jschema_ctx *cx,
			  int data_ok)
{
	struct ev_jschema_ctx *tmp = NULL;
	struct ev_buf b = {0}, b64 = {0};
	uint8_t stack[8192];
	uint8_t *env;
	size_t envn, room, i;
	int r = 0;

	/* most events fit on the stack: nothing is allocated for them */
	if (d->envelope_data && ev->data_is_binary &&
	    ev_base64_encode(&b64, ev->data, ev->data_len) != 0) {
		r = EV_ERR;
		goto out;
	}
	room = envelope_room(ev, b64.len);
	if (room <= sizeof(stack)) {
		env = stack;
	} else if (ev_buf_reserve(&b, room) == 0) {
		env = b.p;
	} else {
		r = EV_ERR;
		goto out;
	}
	envn = (size_t)(envelope_raw(ev, env, &b64, d->envelope_data) - env);
	if (data_ok) {
		r = ev_jschema_validate(d->envelope, env, envn, NULL, cx);
		goto out;
	}
	/* keep the data's errors: validate in a context of its own */
	if ((tmp = ev_jschema_ctx_new()) == NULL) {
		r = EV_ERR;
		goto out;
	}
	r = ev_jschema_validate(d->envelope, env, envn, NULL, tmp);
	for (i = 0; r != 1 && r >= EV_EDATA && i < ev_jschema_nerrors(tmp);
	     i++) {
		const struct ev_jschema_error *e = ev_jschema_error_at(tmp, i);
		if (ev_jschema_ctx_add_error(cx, e->instance_path,
					     e->schema_path, e->keyword,
					     e->message) != 0)
			r = EV_ERR;
	}
out:
	ev_jschema_ctx_free(tmp);
	ev_buf_free(&b);
	ev_buf_free(&b64);
	/* an instance the validator cannot take is invalid, with why */
	return r == EV_EDATA ? 0 : r;
}

int ev_schemadir_check(struct ev_schemadir *d, const uint8_t *rec, size_t n,
		       struct ev_jschema_ctx *cx)
{
	struct ev_str type;
	size_t ix;

	return ev_schemadir_check_type(d, rec, n, cx, &type, &ix);
}

int ev_schemadir_check_type(struct ev_schemadir *d, const uint8_t *rec,
			    size_t n, struct ev_jschema_ctx *cx,
			    struct ev_str *type, size_t *type_ix)
{
	struct ev_event ev;
	struct rstate st;
	const struct stype *t;
	const struct sversion *v = NULL;
	int r, ok = 1, done = 0;

	if ((r = read_record(rec, n, &ev, &st, d, cx)) < 0)
		return EV_EDATA;
	ev_jschema_ctx_clear(cx);
	*type = ev.type;
	t = find_type(d, ev.type.p, ev.type.n);
	/* a type of the directory is UTF-8 (decode_name()): others are
	 * checked here */
	if (t == NULL && !type_utf8((const uint8_t *)ev.type.p, ev.type.n))
		goto bad;
	*type_ix = t != NULL ? (size_t)(t - d->types) : SIZE_MAX;
	if (t != NULL)
		v = find_version(t, ev.schema);
	if (r == 1) {
		/* text data: validated as it is read, when there is a
		 * schema for it, else skipped */
		size_t used = 0;

		if (v != NULL && v->fast != NULL &&
		    ev_jschema_fast_prefix(v->fast, ev.data,
					   (size_t)(st.end - ev.data), cx,
					   &used) == 1) {
			/* valid: nothing to collect */
			done = 1;
		} else if (v != NULL) {
			r = ev_jschema_validate_prefix(v->sc, ev.data,
						       (size_t)(st.end -
								ev.data),
						       "/data", cx, &used);
			if (used == 0)
				goto bad;
			if (r < 0 && r != EV_EDATA)
				return r;
			ok = r == 1;
			done = 1;
		}
		if (read_rest(&st, &ev, used) != 0)
			goto bad;
	}
	if (done) {
		/* validated above */
	} else if (t == NULL) {
		if (d->require_schemas) {
			struct ev_buf enc = {0};
			ev_schemadir_encode_type(ev.type.p, ev.type.n, &enc);
			r = registry_error(
				cx, "/type", d->dir, "type",
				"no schemas for type '%.*s' (no directory "
				"%s/%.*s)",
				(int)ev.type.n, ev.type.p, d->dir, (int)enc.len,
				enc.p ? (const char *)enc.p : "");
			ev_buf_free(&enc);
			if (r != 0)
				return r;
			ok = 0;
		}
	} else if (v == NULL) {
		char file[4200];
		snprintf(file, sizeof(file), "%s/%" PRIu64 ".json", t->dirname,
			 ev.schema);
		r = registry_error(cx, "/schema", file, "schema",
				   "no schema file '%s' for schema %" PRIu64
				   " of type '%.*s'",
				   file, ev.schema, (int)ev.type.n, ev.type.p);
		if (r != 0)
			return r;
		ok = 0;
	} else if (ev.data_is_binary) {
		if (!v->anything) {
			char sp[4200];
			snprintf(sp, sizeof(sp), "%s#", v->file);
			r = registry_error(cx, "/data", sp, "type",
					   "data is binary");
			if (r != 0)
				return r;
			ok = 0;
		}
	} else {
		r = ev_jschema_validate(v->sc,
					ev.data != NULL ? ev.data : nil_value,
					ev.data != NULL ? ev.data_len : 1,
					"/data", cx);
		/* EV_EDATA: data the validator cannot take (too deep, not
		 * JSON): invalid, with why in cx */
		if (r < 0 && r != EV_EDATA)
			return r;
		ok = r == 1;
	}
	if (d->envelope == NULL) /* the common path */
		return ok;
	/* a valid envelope takes no more; errors come from the full check */
	if (d->envelope_fast != NULL && !d->envelope_data &&
	    envelope_quick(d, &ev, &st, cx) == 1)
		return ok;
	r = check_envelope(d, &ev, cx, ok);
	if (r < 0)
		return r;
	return ok && r == 1;
bad:
	ev_jschema_ctx_clear(cx);
	return EV_EDATA;
}

/* ------------------------------------------------------------ lint */

struct ev_schemadir_lint {
	char *dir;
	size_t ntypes, nfiles;
	int has_envelope;
	struct problem *pr;
	size_t npr;
};

/* A file of the directory as lint sees it. */
struct lfile {
	char *file; /* as ev_schemadir_open() names it */
	char *abs;  /* its realpath (a doc loaded by a relative ref), or NULL */
	int bad;    /* has a problem: left out of the whole-directory set */
};

/* Is line (up to its end) "NAME: ..." with NAME this file? */
static int names_file(const char *line, size_t n, const char *name)
{
	size_t k;

	if (name == NULL)
		return 0;
	k = strlen(name);
	return k < n && memcmp(line, name, k) == 0 && line[k] == ':';
}

/* A problem once only (the same error can come back in another round). */
static void problem_once(struct scan *sc, const char *file, const char *msg,
			 size_t n)
{
	size_t i;

	for (i = 0; i < sc->npr; i++)
		if (strcmp(sc->pr[i].file, file) == 0 &&
		    strlen(sc->pr[i].msg) == n &&
		    memcmp(sc->pr[i].msg, msg, n) == 0)
			return;
	problem(sc, file, "%.*s", (int)n, msg);
}

/* The most rounds of compiling the whole directory again without the
 * files found bad (each round finds one error of another file). */
#define LINT_ROUNDS 64

/* Compile the files not yet bad in one set, in ev_schemadir_open()'s
 * order, as check and evpub do: an error of a file is a problem of that
 * file, which is left out of the next round.  Stops when the set
 * compiles, or when an error is not any one file's to leave out. */
static void lint_whole(struct scan *sc, const char *dir,
		       const struct ev_schemadir_opts *o, struct lfile *f,
		       size_t nf, struct ev_buf *text)
{
	int round;
	size_t i;

	for (round = 0; round < LINT_ROUNDS && !sc->oom; round++) {
		struct ev_jschema_set *set = NULL;
		struct ev_error e;
		const char *m, *nl;
		int r, progress = 0;

		if ((r = set_new(&set, dir, o, &e)) != 0) {
			if (r == EV_ERR)
				sc->oom = 1;
			else
				problem(sc, dir, "%s", e.msg);
			return;
		}
		for (i = 0; i < nf && r == 0; i++) {
			if (f[i].bad)
				continue;
			r = add_schema(set, f[i].file, text, NULL, NULL, &e);
			if (r != 0 && r != EV_ERR) {
				/* an error of adding (a second $id...) */
				problem_once(sc, f[i].file, e.msg,
					     strlen(e.msg));
				f[i].bad = 1;
				progress = 1;
			}
		}
		if (r == 0)
			r = ev_jschema_set_compile(set, &e);
		ev_jschema_set_free(set);
		if (r == 0)
			return;
		if (r == EV_ERR && strcmp(e.msg, "out of memory") == 0) {
			sc->oom = 1;
			return;
		}
		if (progress)
			continue;
		/* each line of a compile error names its document */
		for (m = e.msg; *m != '\0'; m = *nl ? nl + 1 : nl) {
			size_t n, j;

			nl = strchr(m, '\n');
			if (nl == NULL)
				nl = m + strlen(m);
			n = (size_t)(nl - m);
			for (j = 0; j < nf; j++)
				if (names_file(m, n, f[j].file) ||
				    names_file(m, n, f[j].abs))
					break;
			/* a file left out, loaded again by a relative ref
			 * (named by its absolute path): its error is said */
			if (j < nf && f[j].bad)
				continue;
			problem_once(sc, j < nf ? f[j].file : dir, m, n);
			if (j < nf) {
				f[j].bad = 1;
				progress = 1;
			}
		}
		if (!progress)
			return; /* nothing to leave out: no further round */
	}
}

int ev_schemadir_lint(struct ev_schemadir_lint **out, const char *dir,
		      const struct ev_schemadir_opts *o, struct ev_error *err)
{
	struct ev_schemadir_lint *l;
	struct scan sc;
	struct ev_buf text = {0};
	struct lfile *f = NULL;
	size_t i, j, nf = 0, fcap = 1;
	int r;

	*out = NULL;
	memset(&sc, 0, sizeof(sc));
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->dir = strip_slashes(dir)) == NULL) {
		free(l);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	sc.dir = l->dir;
	if ((r = scan_dir(&sc, err)) != 0)
		goto fail;
	for (i = 0; i < sc.ntypes; i++)
		fcap += sc.types[i].nv;
	if ((f = calloc(fcap, sizeof(*f))) == NULL)
		sc.oom = 1;
	/* each file in a set of its own first: bad JSON, its metaschema, a
	 * bad regex are that file's, whatever the others hold */
	for (i = 0; i <= sc.ntypes && !sc.oom; i++) {
		struct stype *t = i < sc.ntypes ? &sc.types[i] : NULL;
		size_t nv = t != NULL ? t->nv : (size_t)sc.has_envelope;
		uint64_t expect = 1;

		for (j = 0; j < nv && !sc.oom; j++) {
			struct ev_jschema_set *set = NULL;
			struct ev_error e;
			struct lfile *lf = &f[nf++];

			lf->file = t != NULL ? strdup(t->v[j].file)
					     : path_join(l->dir, ENVELOPE_FILE);
			if (lf->file == NULL) {
				sc.oom = 1;
				break;
			}
			lf->abs = realpath(lf->file, NULL);
			r = set_new(&set, l->dir, o, &e);
			if (r == 0)
				r = add_schema(set, lf->file, &text, NULL, NULL,
					       &e);
			ev_jschema_set_free(set);
			if (r == EV_ERR && strcmp(e.msg, "out of memory") == 0)
				sc.oom = 1;
			else if (r != 0)
				problem(&sc, lf->file, "%s", e.msg);
			lf->bad = r != 0;
			if (t != NULL) {
				for (; expect < t->v[j].n && !sc.oom;
				     expect++) {
					problem(&sc, t->dirname,
						"%s/%" PRIu64
						".json: missing: versions "
						"run from 1 without gaps",
						t->dirname, expect);
					if (!sc.oom)
						sc.pr[sc.npr - 1].lint_only = 1;
				}
				expect = t->v[j].n + 1;
			}
		}
	}
	/* then all of them in one set, as check and evpub compile them:
	 * refs between files resolve, and a second $id is an error */
	if (!sc.oom)
		lint_whole(&sc, l->dir, o, f, nf, &text);
	if (sc.oom) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	l->ntypes = sc.ntypes;
	l->nfiles = nf;
	l->has_envelope = sc.has_envelope;
	l->pr = sc.pr;
	l->npr = sc.npr;
	sc.pr = NULL;
	sc.npr = 0;
	r = 0;
	*out = l;
	l = NULL;
fail:
	for (i = 0; i < nf; i++) {
		free(f[i].file);
		free(f[i].abs);
	}
	free(f);
	scan_free(&sc);
	ev_buf_free(&text);
	ev_schemadir_lint_free(l);
	return r;
}

void ev_schemadir_lint_free(struct ev_schemadir_lint *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->npr; i++) {
		free(l->pr[i].file);
		free(l->pr[i].msg);
	}
	free(l->pr);
	free(l->dir);
	free(l);
}

size_t ev_schemadir_lint_count(const struct ev_schemadir_lint *l)
{
	return l->npr;
}

int ev_schemadir_lint_problem(const struct ev_schemadir_lint *l, size_t i,
			      const char **file, const char **message)
{
	if (i >= l->npr)
		return 0;
	*file = l->pr[i].file;
	*message = l->pr[i].msg;
	return 1;
}

int ev_schemadir_lint_stops_open(const struct ev_schemadir_lint *l, size_t i)
{
	return i < l->npr && !l->pr[i].lint_only;
}

void ev_schemadir_lint_totals(const struct ev_schemadir_lint *l, size_t *types,
			      size_t *files)
{
	*types = l->ntypes;
	*files = l->nfiles;
}

const char *ev_schemadir_lint_path(const struct ev_schemadir_lint *l)
{
	return l->dir;
}
