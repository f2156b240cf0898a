/*
 * consume.c - evtail --exec: runs a handler per event (or per batch) for
 * a consumer group, with retries, dead letters and parallel runs, and
 * commits only the contiguous prefix of handled offsets, so that after
 * any crash a restart handles every event at least once.  See evtail(1),
 * "Handlers".
 *
 * One thread runs it all: events are read into a bounded window, jobs
 * (one event, or a batch) are started when a slot is free and no earlier
 * unfinished event of the same stream exists, and finished runs are
 * collected from the runner (lib/handler.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consume.h"
#include "fe.h"

enum { WAITING, RUNNING, DONE };



struct job;

struct item {
	uint64_t offset;
	struct ev_buf rec;
	ev_time_t append_time;
	char *stream;			/* NULL when the event has none */
	int state;
	int solo;			/* its batch failed: runs alone */
	struct job *job;		/* while it belongs to one */
	struct item *prev_same, *next_same; /* unfinished items of its stream */
};

struct job {
	struct item **items;
	unsigned n;
	unsigned attempts;
	int64_t next_try;		/* monotonic ms; 0 = now */
	int running;
	ev_time_t first_failure, last_failure;
	struct ev_buf input;
	char *env[8];			/* malloc'd "NAME=value" strings */
	struct ev_done last;
};

/* ---------------------------------------------------------------- maps */

/* A small string-keyed chained hash map. */
struct entry {
	char *key;
	void *a;		/* streams: first unfinished item */
	void *b;		/* streams: last; parked: letter id */
	uint64_t n;		/* parked: offset blocked behind */
	struct entry *next;
};

struct map {
	struct entry *b[1024];
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % 1024;
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

static void map_free(struct map *m, int free_b)
{
	struct entry *e, *n;
	int i;

	for (i = 0; i < 1024; i++)
		for (e = m->b[i]; e != NULL; e = n) {
			n = e->next;
			if (free_b)
				free(e->b);
			free(e->key);
			free(e);
		}
}

/* ---------------------------------------------------------------- state */

struct consumer {
	const struct consume_opts *o;
	struct ev_log *log;
	struct ev_group *grp;
	struct ev_runner *runner;
	struct item **win;		/* the window, offset order */
	size_t head, n, cap;		/* live items are win[head..n) */
	size_t limit;			/* most items held */
	struct job **jobs;
	size_t njobs, jobs_cap;
	struct map streams;		/* unfinished items per stream */
	struct map parked;		/* dlq-policy=stream: blocked streams */
	struct ev_log *dlq;
	struct ev_writer *dlq_w;
	struct ev_letter *letters;	/* for round numbers */
	size_t nletters;
	int letters_loaded;
	struct ev_reader *dlq_rd;	/* to see the DLQ change */
	uint64_t dlq_known;		/* its end as far as we know */
	uint64_t scanned, committed;
	int64_t last_commit;
	uint64_t handled, dead_lettered, skipped;
	int failed_stop;		/* --on-failure=stop fired */
	int rc;
};

static int refresh_parked(struct consumer *c);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void item_free(struct item *it)
{
	if (it == NULL)
		return;
	ev_buf_free(&it->rec);
	free(it->stream);
	free(it);
}

static void env_free(struct job *j)
{
	int i;

	for (i = 0; j->env[i] != NULL; i++) {
		free(j->env[i]);
		j->env[i] = NULL;
	}
}

static void job_free(struct job *j)
{
	if (j == NULL)
		return;
	env_free(j);
	ev_buf_free(&j->input);
	free(j->items);
	free(j);
}

/* An item is finished: take it out of its stream's list. */
static void item_done(struct consumer *c, struct item *it)
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
static struct item *stream_first(struct consumer *c, const char *s)
{
	struct entry *e = map_get(&c->streams, s, 0);

	return e ? e->a : NULL;
}

static int add_item(struct consumer *c, const struct ev_rec *rec,
		    const struct ev_event *ev)
{
	struct item *it = calloc(1, sizeof(*it));
	struct entry *e;

	if (it == NULL || ev_buf_append(&it->rec, rec->p, rec->n) != 0)
		goto oom;
	it->offset = rec->offset;
	it->append_time = rec->append_time;
	if (ev->stream.p != NULL &&
	    (it->stream = strndup(ev->stream.p, ev->stream.n)) == NULL)
		goto oom;
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
				goto oom;
			c->win = nw;
			c->cap = cap;
		}
	}
	c->win[c->n++] = it;
	if (it->stream != NULL) {
		e = map_get(&c->streams, it->stream, 1);
		if (e == NULL)
			goto oom;
		it->prev_same = e->b;
		if (e->b)
			((struct item *)e->b)->next_same = it;
		else
			e->a = it;
		e->b = it;
	}
	return 0;
oom:
	item_free(it);
	fe_warn("out of memory");
	return 1;
}

static size_t live(const struct consumer *c)
{
	return c->n - c->head;
}

/* Drop finished items at the head of the window. */
static void trim_window(struct consumer *c)
{
	while (c->head < c->n && c->win[c->head]->state == DONE) {
		item_free(c->win[c->head]);
		c->win[c->head++] = NULL;
	}
	if (c->head == c->n)
		c->head = c->n = 0;
}

/* The position to commit: the first unfinished event, else past all. */
static uint64_t commit_pos(struct consumer *c)
{
	trim_window(c);
	return live(c) ? c->win[c->head]->offset : c->scanned;
}

static int do_commit(struct consumer *c)
{
	struct ev_error err;
	uint64_t pos = commit_pos(c);

	if (pos == c->committed)
		return 0;
	if (ev_group_commit(c->grp, pos, &err) != 0)
		return fe_report(&err);
	c->committed = pos;
	c->last_commit = now_ms();
	return 0;
}

static int maybe_commit(struct consumer *c)
{
	uint64_t pos = commit_pos(c);

	if (pos - c->committed >= c->o->commit_every ||
	    (pos != c->committed && now_ms() - c->last_commit >= c->o->commit_ms))
		return do_commit(c);
	return 0;
}

/* ---------------------------------------------------------------- letters */

static uint64_t next_round(struct consumer *c, uint64_t offset)
{
	const char *gid = ev_group_get(c->grp)->name;
	struct ev_error err;
	uint64_t round = 1;
	size_t i;

	if (!c->letters_loaded) {
		if (ev_dlq_scan(c->dlq, &c->letters, &c->nletters, &err) != 0)
			fe_report(&err);
		c->letters_loaded = 1;
	}
	for (i = 0; i < c->nletters; i++)
		if (c->letters[i].source_offset == offset &&
		    strcmp(c->letters[i].group, gid) == 0 &&
		    strcmp(c->letters[i].source_log_id, ev_log_id(c->log)) == 0 &&
		    c->letters[i].round >= round)
			round = c->letters[i].round + 1;
	return round;
}

/* Remember a letter we wrote, for the rounds of later ones. */
static void note_letter(struct consumer *c, uint64_t offset, uint64_t round)
{
	struct ev_letter *nl = realloc(c->letters,
				       (c->nletters + 1) * sizeof(*nl));

	if (nl == NULL)
		return;
	c->letters = nl;
	memset(&nl[c->nletters], 0, sizeof(*nl));
	nl[c->nletters].source_offset = offset;
	nl[c->nletters].round = round;
	nl[c->nletters].group = strdup(ev_group_get(c->grp)->name);
	nl[c->nletters].source_log_id = strdup(ev_log_id(c->log));
	if (nl[c->nletters].group && nl[c->nletters].source_log_id)
		c->nletters++;
}

/* Write it's dead letter and sync it: only then may it be committed. */
static int dead_letter(struct consumer *c, struct item *it, struct job *j,
		       const char *parked_letter, uint64_t parked_offset)
{
	struct ev_letter_ctx lc;
	struct ev_event ev;
	struct ev_error err;
	struct ev_buf rec = {0};
	struct ev_done none;
	ev_time_t t;
	char idbuf[EV_GROUP_NAME_MAX + 96];
	int r;

	if (ev_event_decode(it->rec.p, it->rec.len, &ev, &err) != 0)
		return fe_report(&err);
	ev.offset = it->offset;
	ev.append_time = it->append_time;
	memset(&none, 0, sizeof(none));
	memset(&lc, 0, sizeof(lc));
	lc.source = &ev;
	lc.source_log = c->o->log_path;
	lc.source_log_id = ev_log_id(c->log);
	lc.group = ev_group_get(c->grp)->name;
	lc.handler = c->o->cmd;
	lc.attempts = j ? j->attempts : 0;
	lc.first_failure = j ? j->first_failure : EV_TIME_NONE;
	lc.last_failure = j ? j->last_failure : EV_TIME_NONE;
	lc.done = j ? &j->last : &none;
	lc.round = next_round(c, it->offset);
	lc.parked_behind_letter = parked_letter;
	lc.parked_behind_offset = parked_offset;
	r = ev_dlq_letter_encode(&rec, &lc, ev_now(), &t, &err);
	if (r == 0)
		r = ev_writer_add(c->dlq_w, rec.p, rec.len, t, &err);
	if (r == 0)
		r = ev_writer_flush(c->dlq_w, &err);
	ev_buf_free(&rec);
	if (r != 0) {
		fe_warn("cannot write the dead letter of offset %llu to '%s'",
			(unsigned long long)it->offset, c->o->dlq_path);
		return fe_report(&err);
	}
	note_letter(c, it->offset, lc.round);
	c->dlq_known++;
	ev_group_stats(c->grp)->dead_lettered++;
	c->dead_lettered++;
	if (c->o->park_streams && it->stream != NULL && parked_letter == NULL) {
		/* dlq-policy=stream: what follows in its stream waits */
		struct entry *e = map_get(&c->parked, it->stream, 1);
		snprintf(idbuf, sizeof(idbuf), "deadletter:%s:%s:%llu:%llu",
			 lc.group, lc.source_log_id,
			 (unsigned long long)it->offset,
			 (unsigned long long)lc.round);
		if (e != NULL && e->b == NULL) {
			e->b = strdup(idbuf);
			e->n = it->offset;
		}
	}
	return 0;
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

static struct job *new_job(struct consumer *c, struct item **items, unsigned n)
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
	for (i = 0; i < n; i++)
		items[i]->job = j;
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
	c->jobs[c->njobs++] = j;
	return j;
}

static void drop_job(struct consumer *c, struct job *j)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i] == j) {
			c->jobs[i] = c->jobs[--c->njobs];
			break;
		}
	job_free(j);
}

/* Add "NAME=value" to a job's environment; env stays NULL-terminated. */
static int env_set(struct job *j, int *k, const char *name, const char *fmt,
		   ...)
{
	char *v, *nv;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = asprintf(&nv, "%s=%s", name, v);
	free(v);
	if (r < 0)
		return -1;
	j->env[(*k)++] = nv;
	j->env[*k] = NULL;
	return 0;
}

static int start_job(struct consumer *c, struct job *j)
{
	struct ev_error err;
	struct ev_event ev;
	unsigned i;
	int k = 0;

	j->input.len = 0;
	for (i = 0; i < j->n; i++) {
		if (ev_record_to_json(j->items[i]->rec.p, j->items[i]->rec.len,
				      j->items[i]->offset, &j->input, &err) != 0 ||
		    ev_buf_putc(&j->input, '\n') != 0) {
			fe_warn("damaged data in '%s': offset %llu: %s",
				c->o->log_path,
				(unsigned long long)j->items[i]->offset, err.msg);
			return 65;
		}
		j->items[i]->state = RUNNING;
	}
	env_free(j);
	if (env_set(j, &k, "EV_OFFSET", "%llu",
		    (unsigned long long)j->items[0]->offset) != 0 ||
	    env_set(j, &k, "EV_ATTEMPT", "%u", j->attempts + 1) != 0)
		goto oom;
	if (c->o->batch > 1 &&
	    (env_set(j, &k, "EV_COUNT", "%u", j->n) != 0 ||
	     env_set(j, &k, "EV_LAST_OFFSET", "%llu",
		     (unsigned long long)j->items[j->n - 1]->offset) != 0))
		goto oom;
	if (j->n == 1 && ev_event_decode(j->items[0]->rec.p,
					 j->items[0]->rec.len, &ev, &err) == 0) {
		/* ids, types and streams hold no control characters
		 * (evlog(5)), so they pass as they are */
		if (env_set(j, &k, "EV_ID", "%.*s", (int)ev.id.n, ev.id.p) != 0 ||
		    env_set(j, &k, "EV_TYPE", "%.*s", (int)ev.type.n,
			    ev.type.p) != 0)
			goto oom;
		if (ev.stream.p != NULL &&
		    env_set(j, &k, "EV_STREAM", "%.*s", (int)ev.stream.n,
			    ev.stream.p) != 0)
			goto oom;
	}
	if (ev_runner_start(c->runner, c->o->cmd, j->input.p, j->input.len,
			    j->env, c->o->timeout_ms, j, &err) != 0)
		return fe_report(&err);
	j->running = 1;
	return 0;
oom:
	fe_warn("out of memory");
	return 1;
}

/*
 * Start what can start: retries whose time has come, then new jobs from
 * the waiting items in offset order.  An item may start only when no
 * earlier unfinished item of its stream exists outside its own batch.
 */
static int dispatch(struct consumer *c)
{
	int64_t now = now_ms();
	size_t i, k;
	struct item *batch[1024];
	unsigned nb;
	int r;

	for (i = 0; i < c->njobs && ev_runner_free_slots(c->runner) > 0; i++) {
		struct job *j = c->jobs[i];
		if (!j->running && j->next_try <= now) {
			r = start_job(c, j);
			if (r != 0)
				return r;
		}
	}
	for (k = c->head; k < c->n && ev_runner_free_slots(c->runner) > 0; k++) {
		struct item *it = c->win[k], *first;
		struct entry *pk;
		size_t m;
		if (it->state != WAITING || it->job != NULL)
			continue;
		if (it->stream != NULL && stream_first(c, it->stream) != it)
			continue; /* an earlier event of its stream is pending */
		if (c->o->park_streams && it->stream != NULL &&
		    map_get(&c->parked, it->stream, 0) != NULL &&
		    (r = refresh_parked(c)) != 0)
			return r;
		if (c->o->park_streams && it->stream != NULL &&
		    (pk = map_get(&c->parked, it->stream, 0)) != NULL) {
			/* its stream is parked behind a dead letter */
			r = dead_letter(c, it, NULL, pk->b, pk->n);
			if (r != 0)
				return r;
			item_done(c, it);
			continue;
		}
		nb = 0;
		batch[nb++] = it;
		/* a batch: later waiting items whose streams' earlier
		 * events are all in it (none of a batch that failed) */
		for (m = k + 1; m < c->n && !it->solo && nb < c->o->batch &&
				nb < 1024;
		     m++) {
			struct item *x = c->win[m];
			unsigned q;
			int ok = 1;
			if (x->state != WAITING || x->job != NULL || x->solo)
				continue;
			if (x->stream != NULL) {
				first = stream_first(c, x->stream);
				/* every unfinished earlier item of x's stream
				 * must be in this batch */
				for (; first != NULL && first != x;
				     first = first->next_same) {
					for (q = 0; q < nb; q++)
						if (batch[q] == first)
							break;
					if (q == nb) {
						ok = 0;
						break;
					}
				}
				if (ok && c->o->park_streams &&
				    map_get(&c->parked, x->stream, 0) != NULL)
					ok = 0;
			}
			if (ok)
				batch[nb++] = x;
		}
		if (new_job(c, batch, nb) == NULL) {
			fe_warn("out of memory");
			return 1;
		}
		r = start_job(c, c->jobs[c->njobs - 1]);
		if (r != 0)
			return r;
	}
	return 0;
}

/* A run ended: account for it, and decide what comes next.  While
 * stopping, a failure (likely our own kill) only leaves its events
 * unfinished, for the next run. */
static int finished(struct consumer *c, const struct ev_done *d, int stopping)
{
	struct job *j = d->tag;
	struct ev_group_stats *st = ev_group_stats(c->grp);
	char why[160];
	unsigned i;
	int r;

	j->running = 0;
	j->attempts++;
	ev_hist_add(st, d->seconds);
	if (!d->ok && stopping) {
		for (i = 0; i < j->n; i++)
			j->items[i]->state = WAITING;
		return 0;
	}
	if (d->ok) {
		for (i = 0; i < j->n; i++)
			item_done(c, j->items[i]);
		st->handled += j->n;
		c->handled += j->n;
		drop_job(c, j);
		return 0;
	}
	st->failed++;
	j->last = *d;
	j->last_failure = ev_now();
	if (j->first_failure == EV_TIME_NONE)
		j->first_failure = j->last_failure;
	for (i = 0; i < j->n; i++)
		j->items[i]->state = WAITING;
	if (j->attempts <= c->o->retries) {
		j->next_try = now_ms() + ev_backoff_ms((int)j->attempts,
						       c->o->backoff_ms,
						       c->o->backoff_max_ms);
		return 0;
	}
	describe(d, why, sizeof(why));
	if (j->n > 1) {
		/* a batch that keeps failing: one event at a time, so that
		 * only the failing ones end up dead */
		struct item **items = j->items;
		unsigned n = j->n;
		j->items = NULL;
		j->n = 0;
		drop_job(c, j);
		fe_warn("batch at offsets %llu to %llu failed %u times (%s); "
			"retrying its events one by one",
			(unsigned long long)items[0]->offset,
			(unsigned long long)items[n - 1]->offset, c->o->retries + 1,
			why);
		for (i = 0; i < n; i++) {
			items[i]->job = NULL;
			items[i]->solo = 1;
		}
		free(items);
		return 0;
	}
	switch (c->o->on_failure) {
	case FAIL_STOP:
		fe_warn("handler failed on offset %llu after %u attempts (%s); "
			"stopping, the offset is not committed",
			(unsigned long long)j->items[0]->offset, j->attempts, why);
		c->failed_stop = 1;
		if (c->rc == 0)
			c->rc = 1;
		return 0;
	case FAIL_SKIP:
		fe_warn("skipped offset %llu after %u attempts (%s)",
			(unsigned long long)j->items[0]->offset, j->attempts, why);
		st->skipped++;
		c->skipped++;
		item_done(c, j->items[0]);
		drop_job(c, j);
		return 0;
	case FAIL_DLQ:
		r = dead_letter(c, j->items[0], j, NULL, 0);
		if (r != 0)
			return r;
		item_done(c, j->items[0]);
		drop_job(c, j);
		return 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- main */

static int open_dlq(struct consumer *c)
{
	struct ev_log_config cfg;
	struct ev_writer_opts wo;
	struct ev_error err;
	int r;

	r = ev_log_open(&c->dlq, c->o->dlq_path, &err);
	if (r == EV_ENOENT) {
		ev_log_config_init(&cfg);
		cfg.dead_letters = 1;
		r = ev_log_create(c->o->dlq_path, &cfg, &err);
		if (r != 0 && access(c->o->dlq_path, F_OK) == 0)
			r = 0; /* made by another consumer meanwhile */
		if (r == 0)
			r = ev_log_open(&c->dlq, c->o->dlq_path, &err);
	}
	if (r != 0)
		return fe_report(&err);
	if (strcmp(ev_log_id(c->dlq), ev_log_id(c->log)) == 0) {
		fe_warn("--dlq: '%s' is the log being read", c->o->dlq_path);
		return 64;
	}
	memset(&wo, 0, sizeof(wo));
	wo.sync = EV_SYNC_BATCH;
	wo.sync_set = 1;
	if (ev_writer_open(&c->dlq_w, c->dlq, &wo, &err) != 0)
		return fe_report(&err);
	return 0;
}

/* dlq-policy=stream: streams with open letters of this group stay parked */
static int load_parked(struct consumer *c)
{
	struct ev_error err;
	const char *gid = ev_group_get(c->grp)->name;
	size_t i;

	if (c->dlq_rd == NULL &&
	    ev_reader_open(&c->dlq_rd, c->dlq, &err) != 0)
		return fe_report(&err);
	if (ev_reader_refresh(c->dlq_rd, &err) < 0)
		return fe_report(&err);
	c->dlq_known = ev_reader_end_offset(c->dlq_rd);
	if (ev_dlq_scan(c->dlq, &c->letters, &c->nletters, &err) != 0)
		return fe_report(&err);
	c->letters_loaded = 1;
	for (i = 0; i < c->nletters; i++) {
		struct ev_letter *l = &c->letters[i];
		struct entry *e;
		if (l->state != EV_LETTER_OPEN || l->orig_stream == NULL ||
		    strcmp(l->group, gid) != 0 ||
		    strcmp(l->source_log_id, ev_log_id(c->log)) != 0)
			continue;
		e = map_get(&c->parked, l->orig_stream, 1);
		if (e != NULL && e->b == NULL) {
			e->b = strdup(l->id);
			e->n = l->source_offset;
		}
	}
	return 0;
}

/*
 * dlq-policy=stream, before an event is parked: if anyone but us wrote to
 * the DLQ since we read it (evdlq resolving letters), read it again, so
 * that a stream goes on as soon as none of its letters is open.
 */
static int refresh_parked(struct consumer *c)
{
	struct ev_error err;

	if (ev_reader_refresh(c->dlq_rd, &err) < 0)
		return fe_report(&err);
	if (ev_reader_end_offset(c->dlq_rd) == c->dlq_known)
		return 0;
	map_free(&c->parked, 1);
	memset(&c->parked, 0, sizeof(c->parked));
	ev_letters_free(c->letters, c->nletters);
	c->letters = NULL;
	c->nletters = 0;
	return load_parked(c);
}

int consume(struct ev_log *log, struct ev_reader *rd, struct ev_filter *flt,
	    struct ev_group *grp, uint64_t start, const struct consume_opts *o,
	    volatile sig_atomic_t *stop)
{
	struct consumer c;
	struct ev_error err;
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_done d;
	int reading = 1, stopping = 0, r, idle;
	int64_t stop_deadline = 0, wait_ms, now;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.log = log;
	c.grp = grp;
	c.scanned = c.committed = start;
	c.last_commit = now_ms();
	c.limit = (size_t)o->parallel * o->batch * 4;
	if (c.limit < 1024)
		c.limit = 1024;
	c.runner = ev_runner_new((int)o->parallel);
	if (c.runner == NULL) {
		fe_warn("out of memory");
		return 1;
	}
	if (o->dlq_path != NULL && (c.rc = open_dlq(&c)) != 0)
		goto out;
	if (o->park_streams && (c.rc = load_parked(&c)) != 0)
		goto out;

	for (;;) {
		if (*stop && !stopping) {
			stopping = 1;
			stop_deadline = now_ms() + o->grace_ms;
		}
		/* 1. read events into the window */
		idle = 0;
		while (reading && !stopping && !c.failed_stop && c.rc == 0 &&
		       live(&c) < c.limit) {
			r = ev_reader_next(rd, &rec, &err);
			if (r < 0) {
				c.rc = fe_report(&err);
				reading = 0;
				break;
			}
			if (r == 0) {
				if (!o->follow)
					reading = 0;
				else
					idle = 1;
				break;
			}
			if (ev_filter_precheck(flt, rec.p, rec.n)) {
				if (ev_event_decode(rec.p, rec.n, &ev, &err) != 0) {
					fe_warn("damaged data in '%s': offset %llu: %s",
						o->log_path,
						(unsigned long long)rec.offset,
						err.msg);
					c.rc = 65;
					reading = 0;
					break;
				}
				ev.offset = rec.offset;
				ev.append_time = rec.append_time;
				if (ev_filter_match(flt, &ev) &&
				    add_item(&c, &rec, &ev) != 0) {
					c.rc = 1;
					break;
				}
			}
			c.scanned = rec.offset + 1;
		}
		/* 2. start what can start */
		if (!stopping && !c.failed_stop && c.rc == 0) {
			r = dispatch(&c);
			if (r != 0 && c.rc == 0)
				c.rc = r;
		}
		/* 3. commit what is finished */
		if (c.rc == 0 || c.failed_stop) {
			r = maybe_commit(&c);
			if (r != 0) {
				c.rc = r;
				stopping = 1;
			}
		}
		/* 4. done? */
		trim_window(&c);
		if (ev_runner_running(c.runner) == 0) {
			if (stopping || c.failed_stop || c.rc != 0)
				break;
			if (!reading && live(&c) == 0)
				break;
		}
		/* 5. wait for a run to end, a retry to come due, new data */
		now = now_ms();
		wait_ms = idle || !reading ? 200 : 0;
		if (live(&c) >= c.limit || ev_runner_free_slots(c.runner) == 0)
			wait_ms = 200;
		for (i = 0; i < c.njobs; i++)
			if (!c.jobs[i]->running) {
				int64_t left = c.jobs[i]->next_try - now;
				if (left < wait_ms || wait_ms == 0)
					wait_ms = left < 1 ? 1 : left;
			}
		if (stopping) {
			if (now >= stop_deadline) {
				/* the grace is over: what runs now dies, and
				 * stays uncommitted */
				ev_runner_kill_all(c.runner, SIGKILL);
				stop_deadline = now + 60000;
			}
			wait_ms = stop_deadline - now < 200 ? stop_deadline - now
							    : 200;
		}
		r = ev_runner_running(c.runner) ? ev_runner_wait(c.runner, wait_ms, &d)
						 : 0;
		if (r == 1) {
			r = finished(&c, &d, stopping);
			if (r != 0 && c.rc == 0)
				c.rc = r;
		} else if (r == 0 && ev_runner_running(c.runner) == 0 && wait_ms > 0) {
			struct timespec ts = {0, (long)(wait_ms % 1000) * 1000000};
			ts.tv_sec = wait_ms / 1000;
			nanosleep(&ts, NULL);
		}
		if (idle && ev_reader_refresh(rd, &err) < 0) {
			c.rc = fe_report(&err);
			reading = 0;
		}
	}
	/* everything finished so far is committed, whatever the reason */
	r = do_commit(&c);
	if (r != 0 && c.rc == 0)
		c.rc = r;
	if (c.dead_lettered > 0 || c.skipped > 0) {
		char b1[32], b2[32], b3[32];
		fe_warn("%s handled, %s dead-lettered, %s skipped",
			fe_commas(c.handled, b1), fe_commas(c.dead_lettered, b2),
			fe_commas(c.skipped, b3));
	}
out:
	ev_runner_free(c.runner);
	for (i = 0; i < c.njobs; i++)
		job_free(c.jobs[i]);
	free(c.jobs);
	for (i = c.head; i < c.n; i++)
		item_free(c.win[i]);
	free(c.win);
	map_free(&c.streams, 0);
	map_free(&c.parked, 1);
	ev_letters_free(c.letters, c.nletters);
	ev_reader_free(c.dlq_rd);
	if (c.dlq_w != NULL && ev_writer_close(c.dlq_w, &err) != 0 && c.rc == 0)
		c.rc = fe_report(&err);
	ev_log_close(c.dlq);
	return c.rc;
}
