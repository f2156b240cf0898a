/*
 * schemareport.c - struct ev_schemareport: what evctl schema check finds
 * (evctl(1) "schema check"): events counted by type, invalid ones
 * grouped by type and by (schema path, message) with the first examples
 * of each, and the report as text, JSON, JUnit XML or TAP.  Also the
 * lint report of a schema directory.
 *
 * A valid event costs a validation and a hash probe for its type, and
 * nothing is allocated for it.  With threads, the caller's thread reads:
 * the records are copied into chunks of a few thousand, queued for the
 * workers, each of which takes the next chunk when it is done with its
 * last (so that they share the work whatever it costs, beside the
 * reader's own read-ahead); when the queue is full, the caller checks
 * its oldest chunk, so that no thread waits while there is work (on a
 * busy machine, a worker may not run for a while).  Each worker counts
 * into a shard of its own, and the caller into one more (with the lines
 * that do not parse); the shards are merged for the report, the
 * examples of each error sorted back into input order by the records'
 * numbers (each shard keeps its own first ones, so the first ones of
 * all are among them).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

/* errors kept per type: past it, the rest are counted as one */
#define MAX_GROUPS 256
/* a chunk of records handed to a thread */
#define CHUNK_RECORDS 2048
#define CHUNK_BYTES (512u << 10)
/* workers at most, and chunks in flight per worker */
#define MAX_WORKERS 8
#define CHUNKS_PER_WORKER 3

struct example {
	uint64_t seq;	 /* the record's number in the whole input */
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
	size_t nex, excap;
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

/* The counts of one thread, or all of them merged. */
struct shard {
	struct ev_jschema_ctx *cx;
	struct rtype *t;
	size_t nt, tcap;
	uint32_t *slots;
	size_t mask;
	struct rtype *none; /* lines that are not events */
	struct rtype *last; /* the type looked up last */
	uint32_t *by_ix;    /* the directory's types: index + 1 into t */
	uint64_t events, invalid, seq;
	int oom;
};

struct centry {
	size_t at, n;
	struct example where;
};

struct chunk {
	struct ev_buf bytes;
	struct centry *e;
	size_t ne, cap;
	struct chunk *next; /* in the queue or the free list */
};

/* shard 0 is the caller's; the workers' follow */
#define NSHARDS (MAX_WORKERS + 1)

struct worker {
	struct ev_schemareport *rp;
	struct shard *sh;
	pthread_t th;
};

struct ev_schemareport {
	struct ev_schemadir *d;
	unsigned examples;
	struct shard sh[NSHARDS];
	struct shard merged;
	int merged_ok;
	char **files;
	size_t nfiles;
	uint64_t events, invalid;
	uint64_t seq; /* records seen, for their order */
	/* the workers */
	int nthreads;
	struct chunk one;   /* the chunk without workers */
	struct chunk *fill; /* the chunk the caller fills */
	struct chunk *pool; /* the workers' chunks, allocated when started */
	size_t npool;
	pthread_mutex_t mu;
	pthread_cond_t work;	   /* a chunk is queued, or quit */
	pthread_cond_t done;	   /* a chunk is free again */
	struct chunk *head, *tail; /* queued, oldest first */
	struct chunk *free_list;
	size_t nfree;
	struct worker w[MAX_WORKERS];
	int nstarted, started, quit;
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

static int shard_init(struct shard *sh, int with_cx)
{
	memset(sh, 0, sizeof(*sh));
	sh->mask = 63;
	sh->slots = calloc(sh->mask + 1, sizeof(*sh->slots));
	if (with_cx)
		sh->cx = ev_jschema_ctx_new();
	return sh->slots != NULL && (!with_cx || sh->cx != NULL) ? 0 : EV_ERR;
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

static void shard_free(struct shard *sh)
{
	size_t i;

	for (i = 0; i < sh->nt; i++)
		free_type(&sh->t[i]);
	free(sh->t);
	if (sh->none != NULL) {
		free_type(sh->none);
		free(sh->none);
	}
	free(sh->slots);
	free(sh->by_ix);
	ev_jschema_ctx_free(sh->cx);
	memset(sh, 0, sizeof(*sh));
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
	rp->nthreads = 1;
	rp->fill = &rp->one;
	if (shard_init(&rp->sh[0], 1) != 0) {
		ev_schemareport_free(rp);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	*out = rp;
	return 0;
}

static void stop_workers(struct ev_schemareport *rp)
{
	int i;

	if (!rp->started)
		return;
	pthread_mutex_lock(&rp->mu);
	rp->quit = 1;
	pthread_cond_broadcast(&rp->work);
	pthread_mutex_unlock(&rp->mu);
	for (i = 0; i < rp->nstarted; i++)
		pthread_join(rp->w[i].th, NULL);
	pthread_mutex_destroy(&rp->mu);
	pthread_cond_destroy(&rp->work);
	pthread_cond_destroy(&rp->done);
	rp->nstarted = 0;
	rp->started = 0;
}

static void free_chunk(struct chunk *c)
{
	ev_buf_free(&c->bytes);
	free(c->e);
}

void ev_schemareport_free(struct ev_schemareport *rp)
{
	size_t i;

	if (rp == NULL)
		return;
	stop_workers(rp);
	for (i = 0; i < NSHARDS; i++)
		shard_free(&rp->sh[i]);
	shard_free(&rp->merged);
	for (i = 0; i < rp->npool; i++)
		free_chunk(&rp->pool[i]);
	free(rp->pool);
	free_chunk(&rp->one);
	for (i = 0; i < rp->nfiles; i++)
		free(rp->files[i]);
	free(rp->files);
	free(rp);
}

void ev_schemareport_set_threads(struct ev_schemareport *rp, int n)
{
	rp->nthreads = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
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

static int grow_slots(struct shard *sh)
{
	size_t cap = (sh->mask + 1) * 2, i, j;
	uint32_t *s = calloc(cap, sizeof(*s));

	if (s == NULL)
		return EV_ERR;
	for (i = 0; i < sh->nt; i++) {
		for (j = sh->t[i].hash & (cap - 1); s[j] != 0;
		     j = (j + 1) & (cap - 1))
			;
		s[j] = (uint32_t)(i + 1);
	}
	free(sh->slots);
	sh->slots = s;
	sh->mask = cap - 1;
	return 0;
}

/* The counts of a type, made when first seen (sh->t may move then: the
 * pointer is good until the next new type).  NULL out of memory. */
static struct rtype *type_of(const struct ev_schemareport *rp, struct shard *sh,
			     const char *name, size_t n)
{
	struct rtype *t = sh->last;
	uint64_t h;
	size_t j;

	if (t != NULL && t->len == n && memcmp(t->name, name, n) == 0)
		return t;
	h = ev_hash64(name, n);
	for (j = h & sh->mask; sh->slots[j] != 0; j = (j + 1) & sh->mask) {
		t = &sh->t[sh->slots[j] - 1];
		if (t->hash == h && t->len == n &&
		    memcmp(t->name, name, n) == 0)
			return sh->last = t;
	}
	if ((sh->nt + 1) * 2 > sh->mask + 1) {
		if (grow_slots(sh) != 0)
			return NULL;
		for (j = h & sh->mask; sh->slots[j] != 0;
		     j = (j + 1) & sh->mask)
			;
	}
	if (sh->nt == sh->tcap) {
		size_t cap = sh->tcap ? sh->tcap * 2 : 16;
		t = realloc(sh->t, cap * sizeof(*t));
		if (t == NULL)
			return NULL;
		sh->t = t;
		sh->tcap = cap;
	}
	t = &sh->t[sh->nt];
	memset(t, 0, sizeof(*t));
	t->name = malloc(n + 1);
	if (t->name == NULL)
		return NULL;
	memcpy(t->name, name, n);
	t->name[n] = '\0';
	t->len = n;
	t->hash = h;
	t->has_schemas = ev_schemadir_has_type(rp->d, name, n);
	sh->slots[j] = (uint32_t)(sh->nt + 1);
	sh->nt++;
	return sh->last = t;
}

/* type_of() a type of the directory's (ix from ev_schemadir_check_type),
 * without hashing its name again */
static struct rtype *type_at(const struct ev_schemareport *rp, struct shard *sh,
			     const struct ev_str *type, size_t ix)
{
	struct rtype *t;

	if (ix == SIZE_MAX)
		return type_of(rp, sh, type->p, type->n);
	if (sh->by_ix == NULL) {
		sh->by_ix = calloc(ev_schemadir_ntypes(rp->d) + 1,
				   sizeof(*sh->by_ix));
		if (sh->by_ix == NULL)
			return NULL;
	}
	if (sh->by_ix[ix] != 0)
		return &sh->t[sh->by_ix[ix] - 1];
	if ((t = type_of(rp, sh, type->p, type->n)) != NULL)
		sh->by_ix[ix] = (uint32_t)(t - sh->t) + 1;
	return t;
}

static struct rtype *none_of(struct shard *sh)
{
	if (sh->none == NULL)
		sh->none = calloc(1, sizeof(*sh->none));
	return sh->none;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* The group of (schema path, message) in t, made when first seen; NULL
 * past MAX_GROUPS (*oom unset) or out of memory (*oom set). */
static struct group *group_of(struct rtype *t, const char *schema_path,
			      const char *keyword, const char *message,
			      int *oom)
{
	struct group *g;
	uint64_t h;
	size_t i;

	schema_path = schema_path != NULL ? schema_path : "";
	message = message != NULL ? message : "";
	h = ev_hash64(schema_path, strlen(schema_path)) ^
	    (ev_hash64(message, strlen(message)) * 31);
	for (i = 0; i < t->ng; i++)
		if (t->g[i].hash == h &&
		    strcmp(t->g[i].schema_path, schema_path) == 0 &&
		    strcmp(t->g[i].message, message) == 0)
			return &t->g[i];
	if (t->ng >= MAX_GROUPS)
		return NULL;
	if (t->ng == t->gcap) {
		size_t cap = t->gcap ? t->gcap * 2 : 4;
		g = realloc(t->g, cap * sizeof(*g));
		if (g == NULL)
			goto oom;
		t->g = g;
		t->gcap = cap;
	}
	g = &t->g[t->ng];
	memset(g, 0, sizeof(*g));
	g->hash = h;
	g->schema_path = dup_or_empty(schema_path);
	g->keyword = dup_or_empty(keyword);
	g->message = dup_or_empty(message);
	if (g->schema_path == NULL || g->keyword == NULL ||
	    g->message == NULL) {
		free(g->schema_path);
		free(g->keyword);
		free(g->message);
		goto oom;
	}
	g->last_seq = UINT64_MAX;
	t->ng++;
	return g;
oom:
	*oom = 1;
	return NULL;
}

static int add_example(struct group *g, const struct example *where,
		       const char *instance)
{
	struct example *e;

	if (g->nex == g->excap) {
		size_t cap = g->excap ? g->excap * 2 : 4;
		e = realloc(g->ex, cap * sizeof(*e));
		if (e == NULL)
			return EV_ERR;
		g->ex = e;
		g->excap = cap;
	}
	e = &g->ex[g->nex];
	*e = *where;
	if ((e->instance = dup_or_empty(instance)) == NULL)
		return EV_ERR;
	g->nex++;
	return 0;
}

/* Count one error of the event sh->seq in its group. */
static int add_error(const struct ev_schemareport *rp, struct shard *sh,
		     struct rtype *t, const char *schema_path,
		     const char *keyword, const char *message,
		     const char *instance, const struct example *where)
{
	int oom = 0;
	struct group *g = group_of(t, schema_path, keyword, message, &oom);

	if (g == NULL) {
		if (oom)
			return EV_ERR;
		t->other++;
		return 0;
	}
	if (g->last_seq == sh->seq)
		return 0;
	g->last_seq = sh->seq;
	g->events++;
	if (g->nex < rp->examples)
		return add_example(g, where, instance);
	return 0;
}

/* An event that is not one: a line the parser refused, a record that
 * does not decode. */
static int add_not_event(const struct ev_schemareport *rp, struct shard *sh,
			 const char *message, const char *instance,
			 const struct example *where)
{
	struct rtype *t = none_of(sh);

	sh->seq++;
	sh->events++;
	sh->invalid++;
	if (t == NULL)
		return EV_ERR;
	t->events++;
	t->invalid++;
	return add_error(rp, sh, t, "", "", message, instance, where);
}

/* One record, named by where.  0, or EV_ERR. */
static int check_record(const struct ev_schemareport *rp, struct shard *sh,
			const uint8_t *rec, size_t n,
			const struct example *where)
{
	struct ev_str type;
	struct rtype *t;
	size_t i, ne, ix;
	int r;

	r = ev_schemadir_check_type(rp->d, rec, n, sh->cx, &type, &ix);
	if (r < 0 && r != EV_EDATA)
		return EV_ERR;
	/* a record ev_schemadir_check() took has a type of UTF-8 */
	if (r == EV_EDATA) {
		struct ev_event ev;
		struct ev_error e;
		if (ev_event_decode(rec, n, &ev, &e) == 0)
			snprintf(e.msg, sizeof(e.msg), "invalid record");
		return add_not_event(rp, sh, e.msg, "", where);
	}
	if ((t = type_at(rp, sh, &type, ix)) == NULL)
		return EV_ERR;
	sh->seq++;
	sh->events++;
	t->events++;
	if (r == 1)
		return 0;
	t->invalid++;
	sh->invalid++;
	ne = ev_jschema_nerrors(sh->cx);
	for (i = 0; i < ne; i++) {
		const struct ev_jschema_error *e =
			ev_jschema_error_at(sh->cx, i);
		r = add_error(rp, sh, t, e->schema_path, e->keyword, e->message,
			      e->instance_path, where);
		if (r != 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------ chunks */

static void check_chunk(const struct ev_schemareport *rp, struct shard *sh,
			struct chunk *c)
{
	size_t i;

	for (i = 0; i < c->ne && !sh->oom; i++)
		if (check_record(rp, sh, c->bytes.p + c->e[i].at, c->e[i].n,
				 &c->e[i].where) != 0)
			sh->oom = 1;
	c->ne = 0;
	c->bytes.len = 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ev_schemareport *rp = w->rp;
	struct chunk *c;

	pthread_mutex_lock(&rp->mu);
	for (;;) {
		while (rp->head == NULL && !rp->quit)
			pthread_cond_wait(&rp->work, &rp->mu);
		if ((c = rp->head) == NULL)
			break;
		if ((rp->head = c->next) == NULL)
			rp->tail = NULL;
		pthread_mutex_unlock(&rp->mu);
		check_chunk(rp, w->sh, c);
		pthread_mutex_lock(&rp->mu);
		c->next = rp->free_list;
		rp->free_list = c;
		rp->nfree++;
		pthread_cond_signal(&rp->done);
	}
	pthread_mutex_unlock(&rp->mu);
	return NULL;
}

/* The caller checks the queued chunk c (the oldest) itself: with rp->mu
 * held, and again after. */
static void help(struct ev_schemareport *rp, struct chunk *c)
{
	if ((rp->head = c->next) == NULL)
		rp->tail = NULL;
	pthread_mutex_unlock(&rp->mu);
	check_chunk(rp, &rp->sh[0], c);
	pthread_mutex_lock(&rp->mu);
	c->next = rp->free_list;
	rp->free_list = c;
	rp->nfree++;
}

/* The chunk the caller fills is full (or the input ended): queued for
 * the workers, the caller's next one taken from the free list.  When
 * every chunk is queued, the workers are behind (or not running: the
 * machine is busy): the caller checks the oldest queued one itself.
 * Without workers, checked here. */
static void hand_over(struct ev_schemareport *rp)
{
	struct chunk *c = rp->fill;

	if (c->ne == 0)
		return;
	if (!rp->started) {
		check_chunk(rp, &rp->sh[0], c);
		return;
	}
	pthread_mutex_lock(&rp->mu);
	c->next = NULL;
	if (rp->tail != NULL)
		rp->tail->next = c;
	else
		rp->head = c;
	rp->tail = c;
	pthread_cond_signal(&rp->work);
	while (rp->free_list == NULL) {
		if ((c = rp->head) == NULL) {
			/* all with the workers */
			pthread_cond_wait(&rp->done, &rp->mu);
			continue;
		}
		help(rp, c);
	}
	rp->fill = rp->free_list;
	rp->free_list = rp->fill->next;
	rp->nfree--;
	pthread_mutex_unlock(&rp->mu);
}

/* Everything queued checked, the caller taking its share. */
static void drain(struct ev_schemareport *rp)
{
	struct chunk *c;

	hand_over(rp);
	if (!rp->started)
		return;
	pthread_mutex_lock(&rp->mu);
	/* all but the one the caller holds are free */
	while (rp->nfree + 1 < rp->npool) {
		if ((c = rp->head) == NULL) {
			pthread_cond_wait(&rp->done, &rp->mu);
			continue;
		}
		help(rp, c);
	}
	pthread_mutex_unlock(&rp->mu);
}

/* The workers, when there are to be some and they are not there yet;
 * else (or when they cannot start) the caller checks everything. */
static void start(struct ev_schemareport *rp)
{
	size_t i;
	int k;

	if (rp->nthreads < 2 || rp->started || rp->npool > 0)
		return;
	for (k = 1; k <= rp->nthreads; k++)
		if (rp->sh[k].slots == NULL && shard_init(&rp->sh[k], 1) != 0)
			return;
	rp->npool = (size_t)rp->nthreads * CHUNKS_PER_WORKER + 1;
	rp->pool = calloc(rp->npool, sizeof(*rp->pool));
	if (rp->pool == NULL) {
		rp->npool = 0;
		return;
	}
	if (pthread_mutex_init(&rp->mu, NULL) != 0)
		goto no_threads;
	if (pthread_cond_init(&rp->work, NULL) != 0) {
		pthread_mutex_destroy(&rp->mu);
		goto no_threads;
	}
	if (pthread_cond_init(&rp->done, NULL) != 0) {
		pthread_cond_destroy(&rp->work);
		pthread_mutex_destroy(&rp->mu);
		goto no_threads;
	}
	/* the caller fills the pool's first (nothing was filled yet:
	 * start() comes first) */
	rp->free_list = NULL;
	for (i = rp->npool; i-- > 1;) {
		rp->pool[i].next = rp->free_list;
		rp->free_list = &rp->pool[i];
	}
	rp->nfree = rp->npool - 1;
	rp->head = rp->tail = NULL;
	rp->quit = 0;
	for (k = 0; k < rp->nthreads; k++) {
		rp->w[k].rp = rp;
		rp->w[k].sh = &rp->sh[k + 1];
		if (pthread_create(&rp->w[k].th, NULL, worker_main,
				   &rp->w[k]) != 0)
			break;
		rp->nstarted++;
	}
	if (rp->nstarted == 0) {
		pthread_cond_destroy(&rp->done);
		pthread_cond_destroy(&rp->work);
		pthread_mutex_destroy(&rp->mu);
		goto no_threads;
	}
	rp->fill = &rp->pool[0];
	rp->started = 1;
	return;
no_threads:
	/* one thread does it all */
	free(rp->pool);
	rp->pool = NULL;
	rp->npool = 0;
	rp->nthreads = 1;
	return;
}

/* Queue one record (copied). */
static int submit(struct ev_schemareport *rp, const uint8_t *rec, size_t n,
		  struct example *where)
{
	struct chunk *c = rp->fill;

	if (c->ne == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct centry *e = realloc(c->e, cap * sizeof(*e));
		if (e == NULL)
			return EV_ERR;
		c->e = e;
		c->cap = cap;
	}
	where->seq = rp->seq++;
	c->e[c->ne].at = c->bytes.len;
	c->e[c->ne].n = n;
	c->e[c->ne].where = *where;
	/* ev_buf_append(), without its call when there is room */
	if (c->bytes.cap - c->bytes.len < n &&
	    ev_buf_reserve(&c->bytes, n) != 0)
		return EV_ERR;
	if (n > 0)
		memcpy(c->bytes.p + c->bytes.len, rec, n);
	c->bytes.len += n;
	c->ne++;
	if (c->ne >= CHUNK_RECORDS || c->bytes.len >= CHUNK_BYTES)
		hand_over(rp);
	return 0;
}

/* After an input: everything checked, the totals up to date. */
static int finish_input(struct ev_schemareport *rp, int r, struct ev_error *err)
{
	int oom = 0;
	size_t i;

	drain(rp);
	rp->merged_ok = 0;
	rp->events = 0;
	rp->invalid = 0;
	for (i = 0; i < NSHARDS; i++) {
		rp->events += rp->sh[i].events;
		rp->invalid += rp->sh[i].invalid;
		oom |= rp->sh[i].oom;
	}
	if (oom)
		return ev_seterr(err, EV_ERR, "out of memory");
	return r;
}

int ev_schemareport_check_log(struct ev_schemareport *rp, struct ev_reader *r,
			      const struct ev_filter *f, struct ev_error *err)
{
	struct example where = {0};
	struct ev_rec rec;
	int rr;

	start(rp);
	/* the workers take the check, the reader's two threads the
	 * decompression: no one thread's share of the work holds the
	 * others up */
	if (rp->started)
		ev_reader_set_readahead(r, 2);
	while ((rr = ev_reader_next(r, &rec, err)) == 1) {
		if (f != NULL && !ev_filter_precheck(f, rec.p, rec.n))
			continue;
		where.offset = rec.offset;
		if (submit(rp, rec.p, rec.n, &where) != 0) {
			rr = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
	}
	return finish_input(rp, rr, err);
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
	start(rp);
	for (;;) {
		r = ev_input_next(in, -1, EV_TIME_NONE, err);
		if (r == EV_EAGAIN)
			continue;
		if (r == 0)
			break;
		ev_input_where(in, &pos);
		where.line = pos.line;
		if (r == EV_EDATA) {
			char col[64] = "";
			if (err->column > 0)
				snprintf(col, sizeof(col), "column %zu",
					 err->column);
			/* the column makes each message its own: group by
			 * what is wrong, show where in the example; in
			 * order with the events around it, on this thread
			 * (the shards are merged by record number) */
			where.seq = rp->seq++;
			if (add_not_event(rp, &rp->sh[0], err->msg, col,
					  &where) != 0) {
				r = ev_seterr(err, EV_ERR, "out of memory");
				break;
			}
			r = 0;
			if (ev_input_broken(in))
				break;
			continue;
		}
		if (r < 0)
			break;
		for (i = 0; i < r; i++) {
			const uint8_t *rec;
			size_t n;
			ev_input_record(in, i, &rec, &n, NULL);
			if (f != NULL && !ev_filter_precheck(f, rec, n))
				continue;
			if (submit(rp, rec, n, &where) != 0)
				return finish_input(rp,
						    ev_seterr(err, EV_ERR,
							      "out of memory"),
						    err);
		}
		r = 0;
	}
	return finish_input(rp, r, err);
}

/* ------------------------------------------------------------ merging */

static int cmp_example(const void *a, const void *b)
{
	const struct example *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int merge_type(const struct ev_schemareport *rp, struct rtype *dt,
		      const struct rtype *st)
{
	size_t i, k;
	int oom = 0;

	dt->events += st->events;
	dt->invalid += st->invalid;
	dt->other += st->other;
	for (i = 0; i < st->ng; i++) {
		const struct group *sg = &st->g[i];
		struct group *dg = group_of(dt, sg->schema_path, sg->keyword,
					    sg->message, &oom);
		if (dg == NULL) {
			if (oom)
				return EV_ERR;
			dt->other += sg->events;
			continue;
		}
		dg->events += sg->events;
		for (k = 0; k < sg->nex; k++)
			if (add_example(dg, &sg->ex[k], sg->ex[k].instance) !=
			    0)
				return EV_ERR;
	}
	(void)rp;
	return 0;
}

/* The shards into rp->merged, each error's examples in input order. */
static int merge(struct ev_schemareport *rp)
{
	struct shard *m = &rp->merged;
	size_t s, i, j, k;

	if (rp->merged_ok)
		return 0;
	shard_free(m);
	if (shard_init(m, 0) != 0)
		return EV_ERR;
	for (s = 0; s < NSHARDS; s++) {
		struct shard *sh = &rp->sh[s];
		for (i = 0; i < sh->nt; i++) {
			struct rtype *t =
				type_of(rp, m, sh->t[i].name, sh->t[i].len);
			if (t == NULL || merge_type(rp, t, &sh->t[i]) != 0)
				return EV_ERR;
		}
		if (sh->none != NULL) {
			struct rtype *t = none_of(m);
			if (t == NULL || merge_type(rp, t, sh->none) != 0)
				return EV_ERR;
		}
	}
	for (i = 0; i <= m->nt; i++) {
		struct rtype *t = i < m->nt ? &m->t[i] : m->none;
		if (t == NULL)
			continue;
		for (j = 0; j < t->ng; j++) {
			struct group *g = &t->g[j];
			if (g->nex > 1)
				qsort(g->ex, g->nex, sizeof(*g->ex),
				      cmp_example);
			for (k = rp->examples; k < g->nex; k++)
				free(g->ex[k].instance);
			if (g->nex > rp->examples)
				g->nex = rp->examples;
		}
	}
	m->events = rp->events;
	m->invalid = rp->invalid;
	rp->merged_ok = 1;
	return 0;
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
	struct shard *m = &rp->merged;
	struct rtype **v;
	size_t i;

	if (merge(rp) != 0 || (v = malloc((m->nt + 1) * sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < m->nt; i++)
		v[i] = &m->t[i];
	if (m->nt > 1)
		qsort(v, m->nt, sizeof(*v), cmp_type);
	*n = m->nt;
	if (m->none != NULL)
		v[(*n)++] = m->none;
	return v;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	int r;

	if (x->events != y->events)
		return x->events > y->events ? -1 : 1;
	/* a group is its schema path and message: ties in the order of
	 * both, not in that of the threads that made them */
	if ((r = strcmp(x->schema_path, y->schema_path)) != 0)
		return r;
	return strcmp(x->message, y->message);
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
