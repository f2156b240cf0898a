/*
 * jobs.c - the handler side of struct ev_consumer (consumer_int.h): the
 * window of events read ahead, the jobs that run them (one event, or a
 * batch), their retries and backoffs, the order within a stream,
 * dead letters and parked streams.  Items wait in offset order; a job
 * starts when a slot is free and no earlier unfinished event of its
 * stream exists outside it, and only the contiguous prefix of finished
 * events is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_int.h"

int ev_jobs_fail(struct ev_consumer *c, int r, const struct ev_error *err)
{
	if (c->rc == 0 && r < 0) {
		c->rc = r;
		if (err != &c->err)
			c->err = *err;
	}
	return r;
}

int ev_jobs_oom(struct ev_consumer *c)
{
	struct ev_error err;

	return ev_jobs_fail(c, ev_seterr(&err, EV_ERR, "out of memory"), &err);
}

void ev_jobs_notice(struct ev_consumer *c, const char *fmt, ...)
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

/* ---------------------------------------------------------------- maps */

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

void ev_jobs_map_clear(struct map *m, int free_b)
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

/* ---------------------------------------------------------------- window */

void ev_jobs_item_free(struct item *it)
{
	if (it == NULL)
		return;
	ev_buf_free(&it->rec);
	free(it->json);
	free(it->id);
	free(it->type);
	free(it->stream);
	free(it->bad);
	free(it->cmd);
	free(it);
}

void ev_jobs_job_free(struct job *j)
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

size_t ev_jobs_live(const struct ev_consumer *c)
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

/* ---------------------------------------------------------------- pacing */

/* rec decoded into c->dev, for pacing or marks: 0, or <0 with err. */
static int decode(struct ev_consumer *c, const struct ev_rec *rec,
		  const struct ev_event **ev, struct ev_error *err)
{
	int r;

	if (*ev != NULL)
		return 0;
	if ((r = ev_event_decode(rec->p, rec->n, &c->dev, err)) != 0) {
		ev_err_damaged(err, c->o.log_name, rec->offset);
		return r;
	}
	ev_event_place(&c->dev, rec);
	*ev = &c->dev;
	return 0;
}

int ev_jobs_prepare(struct ev_consumer *c, struct ev_rec *rec,
		    const struct ev_event **ev, int64_t *due_ms,
		    struct ev_error *err)
{
	int r;

	*due_ms = 0;
	if (c->o.pace != NULL) {
		if (ev_pace_needs_time(c->o.pace) &&
		    (r = decode(c, rec, ev, err)) != 0)
			return r;
		r = ev_pace_schedule(c->o.pace, rec->offset,
				     *ev != NULL ? (*ev)->time : EV_TIME_NONE,
				     ev_jobs_now(c), due_ms, err);
		if (r != 0)
			return r;
	}
	if (c->o.mark == NULL)
		return 0;
	if ((r = decode(c, rec, ev, err)) != 0)
		return r;
	c->marked.len = 0;
	if ((r = ev_record_mark(*ev, c->o.mark, &c->marked, err)) != 0 ||
	    (r = ev_event_decode(c->marked.p, c->marked.len, &c->mev, err)) !=
		    0) {
		ev_err_damaged(err, c->o.log_name, rec->offset);
		return r;
	}
	ev_event_place(&c->mev, rec);
	rec->p = c->marked.p;
	rec->n = c->marked.len;
	*ev = &c->mev;
	return 0;
}

void ev_jobs_tick(struct ev_consumer *c, int64_t now)
{
	if (c->o.tick == NULL || now - c->last_tick < c->o.tick_ms)
		return;
	c->last_tick = now;
	c->o.tick(c->o.tick_ctx, &c->st);
}

int64_t ev_jobs_pace_wait(struct ev_consumer *c, int64_t now)
{
	size_t k;

	if (c->o.pace == NULL)
		return 0;
	for (k = c->head; k < c->n; k++) {
		struct item *it = c->win[k];
		if (it->state == WAITING && it->job == NULL)
			return it->due > now ? it->due - now : 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- window */

static int add_record(struct ev_consumer *c, struct ev_rec *rec,
		      const struct ev_event *ev)
{
	struct item *it = calloc(1, sizeof(*it));
	struct ev_error err;
	int r;

	if (it == NULL)
		goto oom;
	if ((r = ev_jobs_prepare(c, rec, &ev, &it->due, &err)) != 0) {
		/* raised once the events before it are done (run_handlers) */
		ev_jobs_item_free(it);
		c->held_rc = r;
		c->held_err = err;
		c->held_at = rec->offset;
		return 0;
	}
	if (ev_buf_append(&it->rec, rec->p, rec->n) != 0)
		goto oom;
	it->offset = rec->offset;
	it->append_time = rec->append_time;
	it->kafka = rec->kafka;
	it->partition = rec->partition;
	it->koffset = rec->koffset;
	if (rec->kafka) {
		it->ktimestamp = rec->ktimestamp;
		it->ktimestamp_type = rec->ktimestamp_type;
	}
	if (rec->kafka && rec->kafka_error != NULL &&
	    (it->bad = strdup(rec->kafka_error)) == NULL)
		goto oom;
	if (rec->kafka && ev->key.p != NULL) {
		/* a Kafka log: the order of a key (its record key) */
		if ((it->stream = strndup(ev->key.p, ev->key.n)) == NULL)
			goto oom;
	} else if (ev->stream.p != NULL &&
		   (it->stream = strndup(ev->stream.p, ev->stream.n)) == NULL)
		goto oom;
	if (add_item(c, it) != 0)
		goto oom;
	return 0;
oom:
	ev_jobs_item_free(it);
	return ev_jobs_oom(c);
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
		return ev_jobs_oom(c);
	it->offset = in->offset;
	it->json = dup_or_null(in->json, &bad);
	it->id = dup_or_null(in->id, &bad);
	it->type = dup_or_null(in->type, &bad);
	it->stream = dup_or_null(in->stream, &bad);
	it->cmd = dup_or_null(in->cmd, &bad);
	it->attempts_before = in->attempts;
	it->has_dlq_offset = in->has_dlq_offset;
	it->dlq_offset = in->dlq_offset;
	it->has_partition = in->has_partition;
	it->partition = in->partition;
	it->tag = in->tag;
	if (bad || it->json == NULL || add_item(c, it) != 0) {
		ev_jobs_item_free(it);
		return ev_jobs_oom(c);
	}
	return 0;
}

/* Drop finished items at the head of the window. */
void ev_jobs_trim_window(struct ev_consumer *c)
{
	while (c->head < c->n && c->win[c->head]->state == DONE) {
		ev_jobs_item_free(c->win[c->head]);
		c->win[c->head++] = NULL;
	}
	if (c->head == c->n)
		c->head = c->n = 0;
}

/* The position to commit: the first unfinished event, else past all. */
uint64_t ev_jobs_handled_upto(struct ev_consumer *c)
{
	ev_jobs_trim_window(c);
	if (ev_jobs_live(c))
		return c->win[c->head]->offset;
	if (c->held_rc != 0)
		return c->held_at; /* not delivered */
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
	if (c->o.letter != NULL) { /* a letter sink counts its own rounds */
		c->letters_loaded = 1;
		return 0;
	}
	if ((r = ev_dlq_scan(c->o.dlq, &c->letters, &c->nletters, &err)) != 0)
		return ev_jobs_fail(c, r, &err);
	c->letters_loaded = 1;
	return 0;
}

/* Remember a letter we wrote, for the rounds of later ones. */
static void note_letter(struct ev_consumer *c, uint64_t offset, uint64_t round,
			const char *group, const char *source_id)
{
	struct ev_letter *nl =
		realloc(c->letters, (c->nletters + 1) * sizeof(*nl));

	if (nl == NULL)
		return;
	c->letters = nl;
	memset(&nl[c->nletters], 0, sizeof(*nl));
	nl[c->nletters].source_offset = offset;
	nl[c->nletters].round = round;
	nl[c->nletters].group = strdup(group);
	nl[c->nletters].source_log_id = strdup(source_id);
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
	const char *group =
		c->o.group ? ev_group_get(c->o.group)->name : c->o.group_name;
	/* a Kafka record: its offset in its partition, and a source id
	 * of each partition */
	uint64_t off = it->kafka ? (uint64_t)it->koffset : it->offset;
	char sid[512];
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
		return ev_jobs_fail(c, r, &err);
	}
	if (!c->letters_loaded && (r = load_letters(c)) != 0)
		return r;
	ev.offset = off;
	ev.append_time = it->append_time;
	memset(&none, 0, sizeof(none));
	memset(&lc, 0, sizeof(lc));
	lc.source = &ev;
	lc.source_log = c->o.log_name;
	if (c->o.log != NULL)
		snprintf(sid, sizeof(sid), "%s", ev_log_id(c->o.log));
	else if (it->kafka)
		snprintf(sid, sizeof(sid), "%s/%d", c->o.source_id,
			 (int)it->partition);
	else
		snprintf(sid, sizeof(sid), "%s", c->o.source_id);
	lc.source_log_id = sid;
	lc.has_source_partition = it->kafka;
	lc.source_partition = it->partition;
	lc.source_timestamp = it->kafka ? it->ktimestamp : -1;
	lc.source_timestamp_type = it->kafka ? it->ktimestamp_type : 0;
	lc.upcast_error = it->bad; /* not an event: never handled */
	lc.group = group;
	lc.handler = c->o.cmd;
	lc.attempts = j ? j->attempts : 0;
	lc.first_failure = j ? j->first_failure : EV_TIME_NONE;
	lc.last_failure = j ? j->last_failure : EV_TIME_NONE;
	lc.done = j ? &j->last : &none;
	lc.round = ev_dlq_next_round(c->letters, c->nletters, group,
				     lc.source_log_id, off);
	lc.parked_behind_letter = parked_letter;
	lc.parked_behind_offset = parked_offset;
	if (c->o.letter != NULL) { /* a dead-letter topic: it says where */
		r = c->o.letter(c->o.letter_ctx, &lc, &err);
		if (r != 0) {
			ev_err_prefix(&err,
				      "cannot write the dead letter of offset "
				      "%llu: ",
				      (unsigned long long)it->offset);
			return ev_jobs_fail(c, r, &err);
		}
	} else {
		r = ev_dlq_letter_encode(&rec, &lc, ev_now(), &t, &err);
		if (r == 0)
			r = ev_writer_add(c->dlq_w, rec.p, rec.len, t, &err);
		if (r == 0)
			r = ev_writer_flush(c->dlq_w, &err);
		ev_buf_free(&rec);
	}
	if (r != 0) {
		ev_err_prefix(&err,
			      "cannot write the dead letter of offset %llu "
			      "to '%s': ",
			      (unsigned long long)off, ev_log_path(c->o.dlq));
		return ev_jobs_fail(c, r, &err);
	}
	note_letter(c, off, lc.round, group, sid);
	c->dlq_known++;
	if (c->o.group != NULL)
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
int ev_jobs_load_parked(struct ev_consumer *c)
{
	const char *group = ev_group_get(c->o.group)->name;
	struct ev_error err;
	size_t i;
	int r;

	if (c->dlq_rd == NULL &&
	    (r = ev_reader_open(&c->dlq_rd, c->o.dlq, &err)) != 0)
		return ev_jobs_fail(c, r, &err);
	if ((r = ev_reader_refresh(c->dlq_rd, &err)) < 0)
		return ev_jobs_fail(c, r, &err);
	c->dlq_known = ev_reader_end_offset(c->dlq_rd);
	if ((r = load_letters(c)) != 0)
		return r;
	ev_jobs_map_clear(&c->parked, 1);
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
		return ev_jobs_fail(c, r, &err);
	if (ev_reader_end_offset(c->dlq_rd) == c->dlq_known)
		return 0;
	return ev_jobs_load_parked(c);
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
			ev_jobs_job_free(j);
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
	ev_jobs_job_free(j);
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
		else if ((r = it->kafka
				      ? ev_handler_input_kafka(&j->input,
							       it->rec.p,
							       it->rec.len,
							       it->partition,
							       it->koffset, err)
				      : ev_handler_input(&j->input, it->rec.p,
							 it->rec.len,
							 it->offset, err)) !=
				 0 &&
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
	if (first->kafka) {
		v.offset = (uint64_t)first->koffset;
		v.last_offset = (uint64_t)j->items[j->n - 1]->koffset;
		v.has_partition = 1;
		v.partition = first->partition;
	} else if (first->has_partition) {
		v.has_partition = 1;
		v.partition = first->partition;
	}
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
		return ev_jobs_fail(c, r, &err);
	for (i = 0; i < j->n; i++)
		j->items[i]->state = RUNNING;
	if ((r = c->h->start(c->hctx, cmd, j->input.p, j->input.len, j->env,
			     c->o.timeout_ms, j, &err)) != 0)
		return ev_jobs_fail(c, r, &err);
	j->running = 1;
	return 0;
}

/* Can x join the batch being made (its items in_batch)?  Every unfinished
 * earlier item of its stream must be in it, and its stream not parked. */
/* A Kafka record of a partition a rebalance took away since it was read:
 * the next owner reads it again from the group's commit. */
static int revoked(struct ev_consumer *c, const struct item *it)
{
	return c->o.scan != NULL &&
	       ev_kafka_scan_revoked(c->o.scan, it->offset);
}

static int can_join(struct ev_consumer *c, struct item *x)
{
	if (x->state != WAITING || x->job != NULL || x->solo ||
	    (x->kafka && revoked(c, x)))
		return 0;
	if (x->stream == NULL)
		return 1;
	/* each item of the batch has all its stream's earlier unfinished
	 * items in it: the one just before x being there is enough */
	if (x->prev_same != NULL && !x->prev_same->in_batch)
		return 0;
	return !(c->o.park_streams &&
		 map_get(&c->parked, x->stream, 0) != NULL);
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

static const char *item_at(const struct item *it, char *buf, size_t n);

/* A Kafka record that is not an event: no handler runs; a dead letter,
 * or skipped, as --on-failure says (the scan stops at it otherwise). */
static int bad_item(struct ev_consumer *c, struct item *it)
{
	char at[64];
	int r;

	if (c->o.on_failure == EV_FAIL_DLQ) {
		if ((r = dead_letter(c, it, NULL, NULL, 0)) != 0)
			return r;
	} else {
		ev_jobs_notice(c, "skipped %s: %s", item_at(it, at, sizeof(at)),
			       it->bad);
		c->st.skipped++;
	}
	item_done(c, it);
	return 0;
}

/*
 * Start what can start: retries whose time has come, then new jobs from
 * the waiting items in offset order.  An item may start only when no
 * earlier unfinished item of its stream exists outside its own batch.
 */
int ev_jobs_dispatch(struct ev_consumer *c)
{
	int64_t now = ev_jobs_now(c);
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
		if (it->due > now)
			break; /* paced: neither it nor those after it yet */
		if (it->stream != NULL && stream_first(c, it->stream) != it)
			continue; /* an earlier event of its stream is pending
				   */
		if ((r = park_item(c, it)) != 0) {
			if (r < 0)
				return r;
			continue;
		}
		if (it->bad != NULL) {
			if ((r = bad_item(c, it)) != 0)
				return r;
			continue;
		}
		if (it->kafka && revoked(c, it)) {
			item_done(c, it); /* its partition's next owner's */
			continue;
		}
		nb = 0;
		batch[nb++] = it;
		it->in_batch = 1;
		/* a batch: later waiting items whose streams' earlier
		 * events are all in it (none of a batch that failed) */
		for (m = k + 1;
		     m < c->n && !it->solo && nb < c->o.batch && nb < 1024; m++)
			if (c->win[m]->due <= now && can_join(c, c->win[m])) {
				batch[nb++] = c->win[m];
				c->win[m]->in_batch = 1;
			}
		for (m = 0; m < nb; m++)
			batch[m]->in_batch = 0;
		if (new_job(c, batch, nb) == NULL)
			return ev_jobs_oom(c);
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
	r = c->o.on_result(c->o.result_ctx, j->items[0]->tag, res, j->attempts,
			   j->attempts ? &j->last : NULL, &err);
	return r != 0 ? ev_jobs_fail(c, r, &err) : 0;
}

/* Where an item is, for messages: "offset 12", or on a Kafka log
 * "partition 3 offset 12". */
static const char *item_at(const struct item *it, char *buf, size_t n)
{
	if (it->kafka)
		snprintf(buf, n, "partition %d offset %lld", (int)it->partition,
			 (long long)it->koffset);
	else
		snprintf(buf, n, "offset %llu", (unsigned long long)it->offset);
	return buf;
}

/* A batch that keeps failing: one event at a time, so that only the
 * failing ones end up dead. */
static void split_batch(struct ev_consumer *c, struct job *j, const char *why)
{
	struct item **items = j->items;
	unsigned n = j->n, i;
	char a[64], b[64];

	j->items = NULL;
	j->n = 0;
	drop_job(c, j);
	if (items[0]->kafka)
		ev_jobs_notice(c,
			       "batch of %u events from %s to %s failed %u "
			       "times (%s); retrying its events one by one",
			       n, item_at(items[0], a, sizeof(a)),
			       item_at(items[n - 1], b, sizeof(b)),
			       c->o.retries + 1, why);
	else
		ev_jobs_notice(
			c,
			"batch at offsets %llu to %llu failed %u times (%s); "
			"retrying its events one by one",
			(unsigned long long)items[0]->offset,
			(unsigned long long)items[n - 1]->offset,
			c->o.retries + 1, why);
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
	char at[64];
	int r;

	switch (c->o.on_failure) {
	case EV_FAIL_STOP:
		ev_jobs_notice(c,
			       "handler failed on %s after %u %s (%s); "
			       "stopping, the offset is not committed",
			       item_at(it, at, sizeof(at)), j->attempts,
			       ev_plural(j->attempts, "attempt", "attempts"),
			       why);
		c->st.failed = 1;
		return 0;
	case EV_FAIL_SKIP:
		ev_jobs_notice(c, "skipped %s after %u %s (%s)",
			       item_at(it, at, sizeof(at)), j->attempts,
			       ev_plural(j->attempts, "attempt", "attempts"),
			       why);
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
int ev_jobs_finished(struct ev_consumer *c, const struct ev_done *d)
{
	struct job *j = d->tag;
	struct ev_group_stats *st =
		c->o.group ? ev_group_stats(c->o.group) : NULL;
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
		j->next_try = ev_jobs_now(c) +
			      ev_backoff_ms((int)j->attempts, c->o.backoff_ms,
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
int ev_jobs_fill(struct ev_consumer *c, int *reading)
{
	struct ev_error err;
	struct ev_rec rec;
	const struct ev_event *ev;
	struct ev_item in;
	int r;

	ev_jobs_trim_window(c);
	while (*reading && c->rc == 0 && !c->st.failed &&
	       ev_jobs_live(c) < c->limit) {
		if (c->held_rc != 0) {
			*reading = 0; /* nothing after a held error */
			return 0;
		}
		if (c->o.scan == NULL) {
			memset(&in, 0, sizeof(in));
			r = c->o.source(c->o.source_ctx, &in, &err);
			if (r < 0)
				return ev_jobs_fail(c, r, &err);
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
			return ev_jobs_fail(c, r, &err);
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
void ev_jobs_stop_runs(struct ev_consumer *c, int64_t now)
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
int64_t ev_jobs_wait_time(struct ev_consumer *c, int idle, int reading,
			  int64_t now)
{
	int64_t wait = idle || !reading ? 200 : 0, pw;
	size_t i;

	if (ev_jobs_live(c) >= c->limit || c->h->free_slots(c->hctx) == 0)
		wait = 200;
	for (i = 0; i < c->njobs; i++)
		if (!c->jobs[i]->running) {
			int64_t left = c->jobs[i]->next_try - now;
			if (left < wait || wait == 0)
				wait = left < 1 ? 1 : left;
		}
	if ((pw = ev_jobs_pace_wait(c, now)) > 0 && (wait == 0 || pw < wait))
		wait = pw < 200 ? pw : 200;
	if (c->stopping) {
		int64_t until = c->kill_at > 0 ? c->kill_at : c->stop_at;
		wait = until - now < 200 ? until - now : 200;
		if (wait < 1)
			wait = 1;
	}
	return wait;
}

/* Runs that were stopped before they were done, for the source's owner. */
void ev_jobs_report_unfinished(struct ev_consumer *c)
{
	size_t i;

	for (i = 0; i < c->njobs && c->rc == 0; i++)
		result(c, c->jobs[i], EV_RESULT_STOPPED);
}
