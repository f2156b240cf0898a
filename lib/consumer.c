/*
 * consumer.c - struct ev_consumer: delivers the events of a scan (or the
 * items of a source) to a sink, and commits a group's position up to
 * which everything is delivered.  See evtail(1), "Handlers".
 *
 * Output and callback sinks take one event at a time, in order: the
 * position after each is delivered at once, and a commit first writes
 * out what the sink buffered.  A handler command is run per event or per
 * batch, with retries, dead letters and parallel runs; only the
 * contiguous prefix of finished events is committed, so that after any
 * crash a restart handles every event at least once.  One thread runs it
 * all: events are read into a bounded window, jobs (one event, or a
 * batch) are started when a slot is free and no earlier unfinished event
 * of the same stream exists, and finished runs are collected from the
 * runner (handler.c).  One clock times retries, commits and the grace on
 * stopping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evlog_private.h"

enum { WAITING, RUNNING, DONE };

struct job;

struct item {
	uint64_t offset;
	struct ev_buf rec;		/* the record (from a scan) */
	ev_time_t append_time;
	char *json;			/* or its input line (from a source) */
	char *id, *type;		/* from a source */
	char *stream;			/* NULL when the event has none */
	char *cmd;			/* from a source: its own handler */
	uint64_t attempts_before;
	int has_dlq_offset;
	uint64_t dlq_offset;
	void *tag;
	int state;
	int solo;			/* its batch failed: runs alone */
	struct job *job;		/* while it belongs to one */
	struct item *prev_same, *next_same; /* unfinished items of its stream */
};

struct job {
	struct item **items;
	unsigned n;
	unsigned attempts;
	int64_t next_try;		/* clock ms; 0 = now */
	int running;
	ev_time_t first_failure, last_failure;
	struct ev_buf input;
	char *env[EV_HANDLER_ENV_MAX];
	struct ev_done last;
};

/* ---------------------------------------------------------------- maps */

/* A small string-keyed chained hash map. */
struct entry {
	char *key;
	void *a;	/* streams: first unfinished item */
	void *b;	/* streams: last; parked: letter id */
	uint64_t n;	/* parked: offset blocked behind */
	struct entry *next;
};

#define MAP_BUCKETS 1024

struct map {
	struct entry *b[MAP_BUCKETS];
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % MAP_BUCKETS;
}

static struct entry *map_get(struct map *m, const char *k, int create)
{
	struct entry **pp = &m->b[hash(k)], *e;

	for (e = *pp; e != NULL; e = e->next)
		if (strcmp(e->key, k) == 0)
			return e;
	if (!create)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->key = strdup(k)) == NULL) {
		free(e);
		return NULL;
	}
	e->next = *pp;
	*pp = e;
	return e;
}

static void map_del(struct map *m, const char *k)
{
	struct entry **pp = &m->b[hash(k)], *e;

	for (; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->key, k) == 0) {
			*pp = e->next;
			free(e->key);
			free(e);
			return;
		}
}

static void map_clear(struct map *m, int free_b)
{
	struct entry *e, *n;
	int i;

	for (i = 0; i < MAP_BUCKETS; i++) {
		for (e = m->b[i]; e != NULL; e = n) {
			n = e->next;
			if (free_b)
				free(e->b);
			free(e->key);
			free(e);
		}
		m->b[i] = NULL;
	}
}

/* ---------------------------------------------------------------- state */

struct ev_consumer {
	struct ev_consumer_opts o;
	const struct ev_clock *clock;
	const struct ev_handler_ops *h;
	void *hctx;
	struct ev_runner *runner;	/* ours, when h is the real one */
	struct ev_consumer_stats st;
	int64_t last_commit;
	int new_group;			/* commit its start even if idle */
	/* handlers */
	struct item **win;		/* the window, offset order */
	size_t head, n, cap;		/* live items are win[head..n) */
	size_t limit;			/* most items held */
	struct job **jobs;
	size_t njobs, jobs_cap;
	struct map streams;		/* unfinished items per stream */
	struct map parked;		/* park_streams: blocked streams */
	struct ev_letter *letters;	/* for rounds and parking */
	size_t nletters;
	int letters_loaded;
	struct ev_reader *dlq_rd;	/* to see the DLQ change */
	uint64_t dlq_known;		/* its end as far as we know */
	struct ev_writer *dlq_w;
	int stopping;
	int64_t stop_at, kill_at;
	int rc;				/* the first error */
	struct ev_error err;
};

static int64_t mono_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	/* asked once per event: the coarse clock is a few ms coarse and
	 * cheap, plenty for commit intervals, backoffs and graces */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mono_sleep(void *ctx, int64_t ms)
{
	struct timespec ts;

	(void)ctx;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
}

static const struct ev_clock mono_clock = {mono_now, mono_sleep, NULL};

static int64_t now_ms(const struct ev_consumer *c)
{
	return c->clock->now_ms(c->clock->ctx);
}

/* Keep the first error; later ones are consequences. */
static int fail(struct ev_consumer *c, int r, const struct ev_error *err)
{
	if (c->rc == 0 && r < 0) {
		c->rc = r;
		if (err != &c->err)
			c->err = *err;
	}
	return r;
}

static int oom(struct ev_consumer *c)
{
	struct ev_error err;

	return fail(c, ev_seterr(&err, EV_ERR, "out of memory"), &err);
}

static void notice(struct ev_consumer *c, const char *fmt, ...)
	EV_PRINTF(2, 3);

static void notice(struct ev_consumer *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (c->o.notice == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->o.notice(c->o.notice_ctx, msg);
}

void ev_consumer_opts_init(struct ev_consumer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->retries = 3;
	o->backoff_ms = 1000;
	o->backoff_max_ms = 30000;
	o->grace_ms = 10000;
	o->batch = 1;
	o->parallel = 1;
	o->commit_every = 100000;
	o->commit_ms = 1000;
	o->on_failure = EV_FAIL_STOP;
}

/* ---------------------------------------------------------------- commits */

static int commit(struct ev_consumer *c, uint64_t pos)
{
	struct ev_error err;
	int r;

	if (c->o.group == NULL)
		return 0;
	if (pos == c->st.committed && !c->new_group)
		return 0;
	/* what was delivered must be out before its position is stored */
	if (c->o.output != NULL && (r = ev_output_flush(c->o.output, &err)) != 0)
		return 0; /* not delivered: not committed; run() reports */
	if (c->o.flush != NULL && (r = c->o.flush(c->o.sink_ctx, &err)) != 0)
		return fail(c, r, &err);
	if ((r = ev_group_commit(c->o.group, pos, &err)) != 0)
		return fail(c, r, &err);
	c->st.committed = pos;
	c->new_group = 0;
	c->last_commit = now_ms(c);
	return 0;
}

/* Is a commit of pos due? */
static int commit_due(struct ev_consumer *c, uint64_t pos)
{
	if (c->o.group == NULL || pos == c->st.committed)
		return 0;
	return pos - c->st.committed >= c->o.commit_every ||
	       now_ms(c) - c->last_commit >= c->o.commit_ms;
}

/* ---------------------------------------------------------------- sinks */

static int flush_sink(struct ev_consumer *c, struct ev_error *err)
{
	if (c->o.output != NULL)
		return ev_output_flush(c->o.output, err);
	if (c->o.flush != NULL)
		return c->o.flush(c->o.sink_ctx, err);
	return 0;
}

static int deliver(struct ev_consumer *c, const struct ev_rec *rec,
		   const struct ev_event *ev, struct ev_error *err)
{
	int r;

	if (c->o.output == NULL)
		return c->o.sink(c->o.sink_ctx, rec, ev, err);
	r = ev_output_event(c->o.output, rec, ev, err);
	if (r != 0 && r != EV_EIO)
		ev_err_damaged(err, ev_scan_name(c->o.scan), rec->offset);
	return r;
}

/* One event at a time, to an output or a callback. */
static int run_sync(struct ev_consumer *c, volatile sig_atomic_t *stop)
{
	struct ev_scan *s = c->o.scan;
	struct ev_error err, ferr;
	struct ev_rec rec;
	const struct ev_event *ev;
	int r;

	c->st.position = ev_scan_position(s);
	for (;;) {
		if (*stop)
			break;
		r = ev_scan_next(s, &rec, &ev, &err);
		if (r < 0) {
			/* what came before the damage goes out */
			c->st.position = ev_scan_position(s);
			flush_sink(c, &ferr);
			return fail(c, r, &err);
		}
		if (r == 0) {
			c->st.position = ev_scan_position(s);
			if ((r = flush_sink(c, &err)) != 0)
				return fail(c, r, &err);
			if (ev_scan_done(s))
				break;
			/* caught up: commit, so the group's lag reads 0 */
			if ((r = commit(c, c->st.position)) != 0)
				return r;
			if ((r = ev_scan_wait(s, 1000, &err)) < 0)
				return fail(c, r, &err);
			continue;
		}
		if ((r = deliver(c, &rec, ev, &err)) != 0) {
			c->st.position = rec.offset; /* not delivered */
			flush_sink(c, &ferr);
			return fail(c, r, &err);
		}
		c->st.handled++;
		c->st.position = ev_scan_position(s);
		if (commit_due(c, c->st.position) &&
		    (r = commit(c, c->st.position)) != 0)
			return r;
	}
	c->st.position = ev_scan_position(s);
	if ((r = flush_sink(c, &err)) != 0)
		return fail(c, r, &err);
	return 0;
}

/* ---------------------------------------------------------------- window */

static void item_free(struct item *it)
{
	if (it == NULL)
		return;
	ev_buf_free(&it->rec);
	free(it->json);
	free(it->id);
	free(it->type);
	free(it->stream);
	free(it->cmd);
	free(it);
}

static void job_free(struct job *j)
{
	if (j == NULL)
		return;
	ev_handler_env_free(j->env);
	ev_buf_free(&j->input);
	free(j->items);
	free(j);
}

/* An item is finished: take it out of its stream's list. */
static void item_done(struct ev_consumer *c, struct item *it)
{
	struct entry *e;

	it->state = DONE;
	it->job = NULL;
	if (it->stream == NULL)
		return;
	e = map_get(&c->streams, it->stream, 0);
	if (e == NULL)
		return;
	if (it->prev_same)
		it->prev_same->next_same = it->next_same;
	else
		e->a = it->next_same;
	if (it->next_same)
		it->next_same->prev_same = it->prev_same;
	else
		e->b = it->prev_same;
	if (e->a == NULL)
		map_del(&c->streams, it->stream);
}

/* The first unfinished item of a stream, or NULL. */
static struct item *stream_first(struct ev_consumer *c, const char *s)
{
	struct entry *e = map_get(&c->streams, s, 0);

	return e ? e->a : NULL;
}

static size_t live(const struct ev_consumer *c)
{
	return c->n - c->head;
}

/* Put a new item at the end of the window and of its stream's list. */
static int add_item(struct ev_consumer *c, struct item *it)
{
	struct entry *e;

	if (c->n == c->cap) {
		/* drop finished items at the head before growing */
		if (c->head > 0) {
			memmove(c->win, c->win + c->head,
				(c->n - c->head) * sizeof(*c->win));
			c->n -= c->head;
			c->head = 0;
		}
		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 256;
			struct item **nw = realloc(c->win, cap * sizeof(*nw));
			if (nw == NULL)
				return EV_ERR;
			c->win = nw;
			c->cap = cap;
		}
	}
	if (it->stream != NULL) {
		e = map_get(&c->streams, it->stream, 1);
		if (e == NULL)
			return EV_ERR;
		it->prev_same = e->b;
		if (e->b)
			((struct item *)e->b)->next_same = it;
		else
			e->a = it;
		e->b = it;
	}
	c->win[c->n++] = it;
	return 0;
}

static int add_record(struct ev_consumer *c, const struct ev_rec *rec,
		      const struct ev_event *ev)
{
	struct item *it = calloc(1, sizeof(*it));

	if (it == NULL || ev_buf_append(&it->rec, rec->p, rec->n) != 0)
		goto oom;
	it->offset = rec->offset;
	it->append_time = rec->append_time;
	if (ev->stream.p != NULL &&
	    (it->stream = strndup(ev->stream.p, ev->stream.n)) == NULL)
		goto oom;
	if (add_item(c, it) != 0)
		goto oom;
	return 0;
oom:
	item_free(it);
	return oom(c);
}

static char *dup_or_null(const char *s, int *bad)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		*bad = 1;
	return d;
}

static int add_source_item(struct ev_consumer *c, const struct ev_item *in)
{
	struct item *it = calloc(1, sizeof(*it));
	int bad = 0;

	if (it == NULL)
		return oom(c);
	it->offset = in->offset;
	it->json = dup_or_null(in->json, &bad);
	it->id = dup_or_null(in->id, &bad);
	it->type = dup_or_null(in->type, &bad);
	it->stream = dup_or_null(in->stream, &bad);
	it->cmd = dup_or_null(in->cmd, &bad);
	it->attempts_before = in->attempts;
	it->has_dlq_offset = in->has_dlq_offset;
	it->dlq_offset = in->dlq_offset;
	it->tag = in->tag;
	if (bad || it->json == NULL || add_item(c, it) != 0) {
		item_free(it);
		return oom(c);
	}
	return 0;
}

/* Drop finished items at the head of the window. */
static void trim_window(struct ev_consumer *c)
{
	while (c->head < c->n && c->win[c->head]->state == DONE) {
		item_free(c->win[c->head]);
		c->win[c->head++] = NULL;
	}
	if (c->head == c->n)
		c->head = c->n = 0;
}

/* The position to commit: the first unfinished event, else past all. */
static uint64_t handled_upto(struct ev_consumer *c)
{
	trim_window(c);
	if (live(c))
		return c->win[c->head]->offset;
	return c->o.scan != NULL ? ev_scan_position(c->o.scan) : 0;
}

/* ---------------------------------------------------------------- letters */

static int load_letters(struct ev_consumer *c)
{
	struct ev_error err;
	int r;

	ev_letters_free(c->letters, c->nletters);
	c->letters = NULL;
	c->nletters = 0;
	if ((r = ev_dlq_scan(c->o.dlq, &c->letters, &c->nletters, &err)) != 0)
		return fail(c, r, &err);
	c->letters_loaded = 1;
	return 0;
}

/* Remember a letter we wrote, for the rounds of later ones. */
static void note_letter(struct ev_consumer *c, uint64_t offset, uint64_t round,
			const char *group)
{
	struct ev_letter *nl = realloc(c->letters,
				       (c->nletters + 1) * sizeof(*nl));

	if (nl == NULL)
		return;
	c->letters = nl;
	memset(&nl[c->nletters], 0, sizeof(*nl));
	nl[c->nletters].source_offset = offset;
	nl[c->nletters].round = round;
	nl[c->nletters].group = strdup(group);
	nl[c->nletters].source_log_id = strdup(ev_log_id(c->o.log));
	if (nl[c->nletters].group && nl[c->nletters].source_log_id)
		c->nletters++;
	else
		ev_letters_free(nl + c->nletters, 1);
}

/* Park a stream behind the letter of offset (dlq-policy=stream). */
static void park(struct ev_consumer *c, const char *stream, const char *id,
		 uint64_t offset)
{
	struct entry *e = map_get(&c->parked, stream, 1);

	if (e != NULL && e->b == NULL) {
		e->b = strdup(id);
		e->n = offset;
	}
}

/* Write its dead letter and sync it: only then may it be committed. */
static int dead_letter(struct ev_consumer *c, struct item *it, struct job *j,
		       const char *parked_letter, uint64_t parked_offset)
{
	const char *group = ev_group_get(c->o.group)->name;
	struct ev_letter_ctx lc;
	struct ev_event ev;
	struct ev_error err;
	struct ev_buf rec = {0};
	struct ev_done none;
	ev_time_t t;
	char id[EV_GROUP_NAME_MAX + 96];
	int r;

	if ((r = ev_event_decode(it->rec.p, it->rec.len, &ev, &err)) != 0) {
		ev_err_damaged(&err, c->o.log_name, it->offset);
		return fail(c, r, &err);
	}
	if (!c->letters_loaded && (r = load_letters(c)) != 0)
		return r;
	ev.offset = it->offset;
	ev.append_time = it->append_time;
	memset(&none, 0, sizeof(none));
	memset(&lc, 0, sizeof(lc));
	lc.source = &ev;
	lc.source_log = c->o.log_name;
	lc.source_log_id = ev_log_id(c->o.log);
	lc.group = group;
	lc.handler = c->o.cmd;
	lc.attempts = j ? j->attempts : 0;
	lc.first_failure = j ? j->first_failure : EV_TIME_NONE;
	lc.last_failure = j ? j->last_failure : EV_TIME_NONE;
	lc.done = j ? &j->last : &none;
	lc.round = ev_dlq_next_round(c->letters, c->nletters, group,
				     lc.source_log_id, it->offset);
	lc.parked_behind_letter = parked_letter;
	lc.parked_behind_offset = parked_offset;
	r = ev_dlq_letter_encode(&rec, &lc, ev_now(), &t, &err);
	if (r == 0)
		r = ev_writer_add(c->dlq_w, rec.p, rec.len, t, &err);
	if (r == 0)
		r = ev_writer_flush(c->dlq_w, &err);
	ev_buf_free(&rec);
	if (r != 0) {
		ev_err_prefix(&err, "cannot write the dead letter of offset %llu "
				    "to '%s': ",
			      (unsigned long long)it->offset,
			      ev_log_path(c->o.dlq));
		return fail(c, r, &err);
	}
	note_letter(c, it->offset, lc.round, group);
	c->dlq_known++;
	ev_group_stats(c->o.group)->dead_lettered++;
	c->st.dead_lettered++;
	if (c->o.park_streams && it->stream != NULL && parked_letter == NULL) {
		/* dlq-policy=stream: what follows in its stream waits */
		ev_dlq_letter_id(id, sizeof(id), group, lc.source_log_id,
				 it->offset, lc.round);
		park(c, it->stream, id, it->offset);
	}
	return 0;
}

/* dlq-policy=stream: streams with open letters of this group stay parked */
static int load_parked(struct ev_consumer *c)
{
	const char *group = ev_group_get(c->o.group)->name;
	struct ev_error err;
	size_t i;
	int r;

	if (c->dlq_rd == NULL &&
	    (r = ev_reader_open(&c->dlq_rd, c->o.dlq, &err)) != 0)
		return fail(c, r, &err);
	if ((r = ev_reader_refresh(c->dlq_rd, &err)) < 0)
		return fail(c, r, &err);
	c->dlq_known = ev_reader_end_offset(c->dlq_rd);
	if ((r = load_letters(c)) != 0)
		return r;
	map_clear(&c->parked, 1);
	for (i = 0; i < c->nletters; i++) {
		const struct ev_letter *l = &c->letters[i];
		if (ev_letter_parks(l, group, ev_log_id(c->o.log)))
			park(c, l->orig_stream, l->id, l->source_offset);
	}
	return 0;
}

/*
 * dlq-policy=stream, before an event is parked: if anyone but us wrote to
 * the DLQ since we read it (evdlq resolving letters), read it again, so
 * that a stream goes on as soon as none of its letters is open.
 */
static int refresh_parked(struct ev_consumer *c)
{
	struct ev_error err;
	int r;

	if ((r = ev_reader_refresh(c->dlq_rd, &err)) < 0)
		return fail(c, r, &err);
	if (ev_reader_end_offset(c->dlq_rd) == c->dlq_known)
		return 0;
	return load_parked(c);
}

/* ---------------------------------------------------------------- jobs */

static void describe(const struct ev_done *d, char *out, size_t n)
{
	if (d->timed_out)
		snprintf(out, n, "timed out after %.3fs", d->seconds);
	else if (d->signal)
		snprintf(out, n, "killed by signal %d (%s)", d->signal,
			 strsignal(d->signal));
	else
		snprintf(out, n, "exit status %d", d->exit_status);
}

static struct job *new_job(struct ev_consumer *c, struct item **items,
			   unsigned n)
{
	struct job *j = calloc(1, sizeof(*j));
	struct job **nj;
	unsigned i;

	if (j == NULL || (j->items = malloc(n * sizeof(*items))) == NULL) {
		free(j);
		return NULL;
	}
	memcpy(j->items, items, n * sizeof(*items));
	j->n = n;
	j->first_failure = j->last_failure = EV_TIME_NONE;
	if (c->njobs == c->jobs_cap) {
		size_t cap = c->jobs_cap ? 2 * c->jobs_cap : 16;
		nj = realloc(c->jobs, cap * sizeof(*nj));
		if (nj == NULL) {
			job_free(j);
			return NULL;
		}
		c->jobs = nj;
		c->jobs_cap = cap;
	}
	for (i = 0; i < n; i++)
		items[i]->job = j;
	c->jobs[c->njobs++] = j;
	return j;
}

static void drop_job(struct ev_consumer *c, struct job *j)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i] == j) {
			c->jobs[i] = c->jobs[--c->njobs];
			break;
		}
	job_free(j);
}

/* The handler's input and variables for a job (evtail(1) HANDLERS). */
static int job_input(struct ev_consumer *c, struct job *j, struct ev_error *err)
{
	struct item *first = j->items[0];
	struct ev_handler_vars v;
	struct ev_event ev;
	unsigned i;
	int r;

	j->input.len = 0;
	for (i = 0; i < j->n; i++) {
		struct item *it = j->items[i];
		if (it->json != NULL)
			r = ev_buf_puts(&j->input, it->json) != 0 ||
					    ev_buf_putc(&j->input, '\n') != 0
				    ? ev_seterr(err, EV_ERR, "out of memory")
				    : 0;
		else if ((r = ev_handler_input(&j->input, it->rec.p,
					       it->rec.len, it->offset,
					       err)) != 0 &&
			 r != EV_ERR)
			ev_err_damaged(err, c->o.log_name, it->offset);
		if (r != 0)
			return r;
	}
	memset(&v, 0, sizeof(v));
	v.offset = first->offset;
	v.attempt = first->attempts_before + j->attempts + 1;
	v.batch = c->o.batch > 1;
	v.count = j->n;
	v.last_offset = j->items[j->n - 1]->offset;
	if (j->n == 1 && first->json != NULL) {
		v.id.p = first->id;
		v.id.n = first->id ? strlen(first->id) : 0;
		v.type.p = first->type;
		v.type.n = first->type ? strlen(first->type) : 0;
		v.stream.p = first->stream;
		v.stream.n = first->stream ? strlen(first->stream) : 0;
	} else if (j->n == 1 && ev_event_decode(first->rec.p, first->rec.len,
						&ev, err) == 0) {
		v.id = ev.id;
		v.type = ev.type;
		v.stream = ev.stream;
	}
	v.has_dlq_offset = first->has_dlq_offset;
	v.dlq_offset = first->dlq_offset;
	ev_handler_env_free(j->env);
	return ev_handler_env(j->env, &v, err);
}

static int start_job(struct ev_consumer *c, struct job *j)
{
	struct ev_error err;
	const char *cmd = j->items[0]->cmd ? j->items[0]->cmd : c->o.cmd;
	unsigned i;
	int r;

	if ((r = job_input(c, j, &err)) != 0)
		return fail(c, r, &err);
	for (i = 0; i < j->n; i++)
		j->items[i]->state = RUNNING;
	if ((r = c->h->start(c->hctx, cmd, j->input.p, j->input.len, j->env,
			     c->o.timeout_ms, j, &err)) != 0)
		return fail(c, r, &err);
	j->running = 1;
	return 0;
}

/* Can x join a batch led by the items in batch[0..nb)?  Every unfinished
 * earlier item of its stream must be in it, and its stream not parked. */
static int can_join(struct ev_consumer *c, struct item *x,
		    struct item *const *batch, unsigned nb)
{
	struct item *first;
	unsigned q;

	if (x->state != WAITING || x->job != NULL || x->solo)
		return 0;
	if (x->stream == NULL)
		return 1;
	for (first = stream_first(c, x->stream); first != NULL && first != x;
	     first = first->next_same) {
		for (q = 0; q < nb; q++)
			if (batch[q] == first)
				break;
		if (q == nb)
			return 0;
	}
	return !(c->o.park_streams && map_get(&c->parked, x->stream, 0) != NULL);
}

/* A waiting item of a parked stream gets its own letter: 1 parked, 0
 * not parked, <0 error. */
static int park_item(struct ev_consumer *c, struct item *it)
{
	struct entry *pk;
	int r;

	if (!c->o.park_streams || it->stream == NULL ||
	    map_get(&c->parked, it->stream, 0) == NULL)
		return 0;
	if ((r = refresh_parked(c)) != 0)
		return r;
	if ((pk = map_get(&c->parked, it->stream, 0)) == NULL)
		return 0;
	if ((r = dead_letter(c, it, NULL, pk->b, pk->n)) != 0)
		return r;
	item_done(c, it);
	return 1;
}

/*
 * Start what can start: retries whose time has come, then new jobs from
 * the waiting items in offset order.  An item may start only when no
 * earlier unfinished item of its stream exists outside its own batch.
 */
static int dispatch(struct ev_consumer *c)
{
	int64_t now = now_ms(c);
	struct item *batch[1024];
	size_t i, k, m;
	unsigned nb;
	int r;

	for (i = 0; i < c->njobs && c->h->free_slots(c->hctx) > 0; i++) {
		struct job *j = c->jobs[i];
		if (!j->running && j->next_try <= now &&
		    (r = start_job(c, j)) != 0)
			return r;
	}
	for (k = c->head; k < c->n && c->h->free_slots(c->hctx) > 0; k++) {
		struct item *it = c->win[k];
		if (it->state != WAITING || it->job != NULL)
			continue;
		if (it->stream != NULL && stream_first(c, it->stream) != it)
			continue; /* an earlier event of its stream is pending */
		if ((r = park_item(c, it)) != 0) {
			if (r < 0)
				return r;
			continue;
		}
		nb = 0;
		batch[nb++] = it;
		/* a batch: later waiting items whose streams' earlier
		 * events are all in it (none of a batch that failed) */
		for (m = k + 1; m < c->n && !it->solo && nb < c->o.batch &&
				nb < 1024;
		     m++)
			if (can_join(c, c->win[m], batch, nb))
				batch[nb++] = c->win[m];
		if (new_job(c, batch, nb) == NULL)
			return oom(c);
		if ((r = start_job(c, c->jobs[c->njobs - 1])) != 0)
			return r;
	}
	return 0;
}

/* Tell the source's owner what became of an item. */
static int result(struct ev_consumer *c, struct job *j, enum ev_result res)
{
	struct ev_error err;
	int r;

	if (c->o.on_result == NULL)
		return 0;
	r = c->o.on_result(c->o.result_ctx, j->items[0]->tag, res,
			   j->attempts, j->attempts ? &j->last : NULL, &err);
	return r != 0 ? fail(c, r, &err) : 0;
}

/* A batch that keeps failing: one event at a time, so that only the
 * failing ones end up dead. */
static void split_batch(struct ev_consumer *c, struct job *j, const char *why)
{
	struct item **items = j->items;
	unsigned n = j->n, i;

	j->items = NULL;
	j->n = 0;
	drop_job(c, j);
	notice(c,
	       "batch at offsets %llu to %llu failed %u times (%s); retrying "
	       "its events one by one",
	       (unsigned long long)items[0]->offset,
	       (unsigned long long)items[n - 1]->offset, c->o.retries + 1, why);
	for (i = 0; i < n; i++) {
		items[i]->job = NULL;
		items[i]->solo = 1;
	}
	free(items);
}

/* A job failed for the last time: what --on-failure says. */
static int gave_up(struct ev_consumer *c, struct job *j, const char *why)
{
	struct item *it = j->items[0];
	struct ev_group_stats *st;
	int r;

	switch (c->o.on_failure) {
	case EV_FAIL_STOP:
		notice(c,
		       "handler failed on offset %llu after %u attempts (%s); "
		       "stopping, the offset is not committed",
		       (unsigned long long)it->offset, j->attempts, why);
		c->st.failed = 1;
		return 0;
	case EV_FAIL_SKIP:
		notice(c, "skipped offset %llu after %u attempts (%s)",
		       (unsigned long long)it->offset, j->attempts, why);
		if (c->o.group != NULL) {
			st = ev_group_stats(c->o.group);
			st->skipped++;
		}
		c->st.skipped++;
		break;
	case EV_FAIL_DLQ:
		if ((r = dead_letter(c, it, j, NULL, 0)) != 0)
			return r;
		break;
	case EV_FAIL_REPORT:
		if ((r = result(c, j, EV_RESULT_FAILED)) != 0)
			return r;
		break;
	}
	item_done(c, it);
	drop_job(c, j);
	return 0;
}

/* A run ended: account for it, and decide what comes next.  While
 * stopping, a failure (likely our own kill) only leaves its events
 * unfinished, for the next run. */
static int finished(struct ev_consumer *c, const struct ev_done *d)
{
	struct job *j = d->tag;
	struct ev_group_stats *st = c->o.group ? ev_group_stats(c->o.group)
					       : NULL;
	char why[160];
	unsigned i;
	int r;

	j->running = 0;
	if (st != NULL)
		ev_hist_add(st, d->seconds);
	if (!d->ok && c->stopping) {
		for (i = 0; i < j->n; i++)
			j->items[i]->state = WAITING;
		return 0;
	}
	j->attempts++;
	if (d->ok) {
		j->last = *d;
		if ((r = result(c, j, EV_RESULT_OK)) != 0)
			return r;
		for (i = 0; i < j->n; i++)
			item_done(c, j->items[i]);
		if (st != NULL)
			st->handled += j->n;
		c->st.handled += j->n;
		drop_job(c, j);
		return 0;
	}
	if (st != NULL)
		st->failed++;
	j->last = *d;
	j->last_failure = ev_now();
	if (j->first_failure == EV_TIME_NONE)
		j->first_failure = j->last_failure;
	for (i = 0; i < j->n; i++)
		j->items[i]->state = WAITING;
	if (j->attempts <= c->o.retries) {
		j->next_try = now_ms(c) + ev_backoff_ms((int)j->attempts,
							c->o.backoff_ms,
							c->o.backoff_max_ms);
		return 0;
	}
	describe(d, why, sizeof(why));
	if (j->n > 1) {
		split_batch(c, j, why);
		return 0;
	}
	return gave_up(c, j, why);
}

/* ---------------------------------------------------------------- the loop */

/* Read what fits into the window: 0, or 1 when there is nothing now
 * (following: wait for more). */
static int fill(struct ev_consumer *c, int *reading)
{
	struct ev_error err;
	struct ev_rec rec;
	const struct ev_event *ev;
	struct ev_item in;
	int r;

	trim_window(c);
	while (*reading && c->rc == 0 && !c->st.failed && live(c) < c->limit) {
		if (c->o.scan == NULL) {
			memset(&in, 0, sizeof(in));
			r = c->o.source(c->o.source_ctx, &in, &err);
			if (r < 0)
				return fail(c, r, &err);
			if (r == 0) {
				*reading = 0;
				return 0;
			}
			if ((r = add_source_item(c, &in)) != 0)
				return r;
			continue;
		}
		r = ev_scan_next(c->o.scan, &rec, &ev, &err);
		if (r < 0) {
			*reading = 0;
			return fail(c, r, &err);
		}
		if (r == 0) {
			if (ev_scan_done(c->o.scan))
				*reading = 0;
			return *reading;
		}
		if ((r = add_record(c, &rec, ev)) != 0)
			return r;
	}
	return 0;
}

/* On stop: no new runs; after the grace SIGTERM, then SIGKILL. */
static void stop_runs(struct ev_consumer *c, int64_t now)
{
	if (c->kill_at == 0 && now >= c->stop_at) {
		c->h->kill_all(c->hctx, SIGTERM);
		c->kill_at = now + EV_KILL_GRACE_MS;
	} else if (c->kill_at > 0 && now >= c->kill_at) {
		/* what runs now dies, and stays uncommitted */
		c->h->kill_all(c->hctx, SIGKILL);
		c->kill_at = -1;
	}
}

/* How long to wait for a run to end: the next retry, the grace. */
static int64_t wait_time(struct ev_consumer *c, int idle, int reading,
			 int64_t now)
{
	int64_t wait = idle || !reading ? 200 : 0;
	size_t i;

	if (live(c) >= c->limit || c->h->free_slots(c->hctx) == 0)
		wait = 200;
	for (i = 0; i < c->njobs; i++)
		if (!c->jobs[i]->running) {
			int64_t left = c->jobs[i]->next_try - now;
			if (left < wait || wait == 0)
				wait = left < 1 ? 1 : left;
		}
	if (c->stopping) {
		int64_t until = c->kill_at > 0 ? c->kill_at : c->stop_at;
		wait = until - now < 200 ? until - now : 200;
		if (wait < 1)
			wait = 1;
	}
	return wait;
}

/* Runs that were stopped before they were done, for the source's owner. */
static void report_unfinished(struct ev_consumer *c)
{
	size_t i;

	for (i = 0; i < c->njobs && c->rc == 0; i++)
		result(c, c->jobs[i], EV_RESULT_STOPPED);
}

static int run_handlers(struct ev_consumer *c, volatile sig_atomic_t *stop)
{
	struct ev_done *d = malloc(sizeof(*d));
	struct ev_error err;
	int reading = 1, idle, r;
	int64_t wait, now;

	if (d == NULL)
		return oom(c);
	for (;;) {
		now = now_ms(c);
		if (*stop && !c->stopping) {
			c->stopping = 1;
			c->stop_at = now + c->o.grace_ms;
		}
		/* read, start what can start, commit what is finished */
		idle = !c->stopping && fill(c, &reading) == 1;
		if (!c->stopping && !c->st.failed && c->rc == 0)
			dispatch(c);
		if ((c->rc == 0 || c->st.failed) &&
		    commit_due(c, handled_upto(c)))
			commit(c, handled_upto(c));
		if (c->stopping)
			stop_runs(c, now);
		/* done? */
		trim_window(c);
		if (c->h->running(c->hctx) == 0 &&
		    (c->stopping || c->st.failed || c->rc != 0 ||
		     (!reading && live(c) == 0)))
			break;
		/* wait for a run to end, a retry to come due, new data */
		wait = wait_time(c, idle, reading, now);
		r = c->h->running(c->hctx) ? c->h->wait(c->hctx, wait, d) : 0;
		if (r == 1)
			finished(c, d);
		else if (r == 0 && c->h->running(c->hctx) == 0 && wait > 0 &&
			 idle && !c->stopping)
			ev_scan_wait(c->o.scan, wait, &err);
		else if (r == 0 && c->h->running(c->hctx) == 0 && wait > 0)
			c->clock->sleep_ms(c->clock->ctx, wait);
		if (idle && (r = ev_scan_wait(c->o.scan, 0, &err)) < 0) {
			fail(c, r, &err);
			reading = 0;
		}
	}
	free(d);
	if (c->stopping)
		report_unfinished(c);
	c->st.position = handled_upto(c);
	return c->rc;
}

/* ---------------------------------------------------------------- setup */

int ev_consumer_new(struct ev_consumer **out, const struct ev_consumer_opts *o,
		    struct ev_error *err)
{
	struct ev_consumer *c;
	int sinks = (o->output != NULL) + (o->sink != NULL) + (o->cmd != NULL);
	int r;

	*out = NULL;
	if ((o->scan == NULL) == (o->source == NULL) ||
	    (sinks != 1 && !(o->source != NULL && sinks == 0)) ||
	    (o->source != NULL && o->on_result == NULL) ||
	    (o->on_failure == EV_FAIL_DLQ && (o->dlq == NULL || !o->group)) ||
	    (o->dlq != NULL && o->log == NULL) ||
	    (o->on_failure == EV_FAIL_REPORT && o->on_result == NULL) ||
	    (o->cmd == NULL && o->source == NULL && o->on_failure != EV_FAIL_STOP))
		return ev_seterr(err, EV_EUSAGE, "consumer options do not fit");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	c->o = *o;
	if (c->o.batch == 0)
		c->o.batch = 1;
	if (c->o.parallel == 0)
		c->o.parallel = 1;
	if (c->o.backoff_max_ms < c->o.backoff_ms)
		c->o.backoff_max_ms = c->o.backoff_ms;
	if (c->o.log_name == NULL && c->o.scan != NULL)
		c->o.log_name = ev_scan_name(c->o.scan);
	if (c->o.log_name == NULL && c->o.log != NULL)
		c->o.log_name = ev_log_path(c->o.log);
	c->clock = o->clock ? o->clock : &mono_clock;
	c->limit = o->window ? o->window : (size_t)c->o.parallel * c->o.batch * 4;
	if (!o->window && c->limit < 1024)
		c->limit = 1024;
	c->h = o->handler;
	c->hctx = o->handler_ctx;
	if (c->h == NULL && (o->cmd != NULL || o->source != NULL)) {
		if ((c->runner = ev_runner_new((int)c->o.parallel)) == NULL) {
			free(c);
			return ev_seterr(err, EV_ERR, "out of memory");
		}
		c->h = &ev_runner_ops;
		c->hctx = c->runner;
	}
	if (o->scan != NULL)
		c->st.position = c->st.committed = ev_scan_start(o->scan);
	c->new_group = o->group != NULL && !ev_group_get(o->group)->exists;
	c->last_commit = now_ms(c);
	*out = c;
	if (o->dlq != NULL && o->on_failure == EV_FAIL_DLQ) {
		struct ev_writer_opts wo;
		memset(&wo, 0, sizeof(wo));
		wo.sync = EV_SYNC_BATCH;
		wo.sync_set = 1;
		if ((r = ev_writer_open(&c->dlq_w, o->dlq, &wo, err)) != 0)
			goto fail;
		if (o->park_streams && (r = load_parked(c)) != 0) {
			*err = c->err;
			goto fail;
		}
	}
	return 0;
fail:
	ev_consumer_free(c);
	*out = NULL;
	return r;
}

int ev_consumer_run(struct ev_consumer *c, volatile sig_atomic_t *stop,
		    struct ev_error *err)
{
	struct ev_error cerr;
	int r;

	if (c->o.cmd != NULL || c->o.source != NULL)
		run_handlers(c, stop);
	else
		run_sync(c, stop);
	/* everything delivered so far is committed, whatever the reason we
	 * stopped; not past what an output failed to write */
	if (c->o.group != NULL &&
	    !(c->o.output != NULL && ev_output_errno(c->o.output) != 0) &&
	    (r = commit(c, c->st.position)) != 0 && c->rc == 0)
		fail(c, r, &cerr);
	if (c->dlq_w != NULL && (r = ev_writer_close(c->dlq_w, &cerr)) != 0)
		fail(c, r, &cerr);
	c->dlq_w = NULL;
	if (c->rc != 0)
		*err = c->err;
	return c->rc;
}

const struct ev_consumer_stats *ev_consumer_stats(const struct ev_consumer *c)
{
	return &c->st;
}

void ev_consumer_free(struct ev_consumer *c)
{
	struct ev_error err;
	size_t i;

	if (c == NULL)
		return;
	ev_runner_free(c->runner);
	for (i = 0; i < c->njobs; i++)
		job_free(c->jobs[i]);
	free(c->jobs);
	for (i = c->head; i < c->n; i++)
		item_free(c->win[i]);
	free(c->win);
	map_clear(&c->streams, 0);
	map_clear(&c->parked, 1);
	ev_letters_free(c->letters, c->nletters);
	ev_reader_free(c->dlq_rd);
	if (c->dlq_w != NULL)
		ev_writer_close(c->dlq_w, &err);
	free(c);
}
