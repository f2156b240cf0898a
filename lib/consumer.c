/*
 * consumer.c - struct ev_consumer: delivers the events of a scan (or the
 * items of a source) to a sink, and commits a group's position up to
 * which everything is delivered.  See evtail(1), "Handlers".
 *
 * Output and callback sinks take one event at a time, in order: the
 * position after each is delivered at once, and a commit first writes
 * out what the sink buffered.  A handler command is run per event or per
 * batch, with retries, dead letters and parallel runs (jobs.c), and only
 * the contiguous prefix of finished events is committed, so that after
 * any crash a restart handles every event at least once.  One thread
 * runs it all, and one clock times retries, commits and the grace on
 * stopping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer_int.h"

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

/* Keep the first error; later ones are consequences. */
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

	if (c->o.group == NULL && c->o.commit == NULL)
		return 0;
	if (pos == c->st.committed && !c->new_group)
		return 0;
	/* what was delivered must be out before its position is stored;
	 * after a failed write, the caller gives what went out */
	if (c->o.output != NULL && ev_output_errno(c->o.output) == 0 &&
	    (r = ev_output_flush(c->o.output, &err)) != 0)
		return 0; /* not delivered: not committed; run() reports */
	if (c->o.flush != NULL && (r = c->o.flush(c->o.sink_ctx, &err)) != 0)
		return ev_jobs_fail(c, r, &err);
	if (c->o.group != NULL &&
	    (r = ev_group_commit(c->o.group, pos, &err)) != 0)
		return ev_jobs_fail(c, r, &err);
	if (c->o.commit != NULL &&
	    (r = c->o.commit(c->o.commit_ctx, pos, &err)) != 0)
		return ev_jobs_fail(c, r, &err);
	c->st.committed = pos;
	c->new_group = 0;
	c->last_commit = ev_jobs_now(c);
	return 0;
}

/* Is a commit of pos due? */
static int commit_due(struct ev_consumer *c, uint64_t pos)
{
	if ((c->o.group == NULL && c->o.commit == NULL) ||
	    pos == c->st.committed)
		return 0;
	return pos - c->st.committed >= c->o.commit_every ||
	       ev_jobs_now(c) - c->last_commit >= c->o.commit_ms;
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
		ev_err_damaged_rec(err, ev_scan_name(c->o.scan), rec);
	return r;
}

/* Wait until due (paced), sleeping in slices so that progress goes on
 * and a stop is seen; what was delivered goes out first, so that a
 * paced delivery is seen at its pace.  0 when due, 1 when stopped
 * first, <0 when the flush failed. */
static int wait_due(struct ev_consumer *c, int64_t due,
		    volatile sig_atomic_t *stop)
{
	struct ev_error err;
	int64_t now;
	int flushed = 0, r;

	while ((now = ev_jobs_now(c)) < due) {
		if (*stop)
			return 1;
		if (!flushed && (r = flush_sink(c, &err)) != 0)
			return ev_jobs_fail(c, r, &err);
		flushed = 1;
		ev_jobs_tick(c, now);
		c->clock->sleep_ms(c->clock->ctx,
				   due - now < 100 ? due - now : 100);
	}
	return 0;
}

/* One event at a time, to an output or a callback. */
static int run_sync(struct ev_consumer *c, volatile sig_atomic_t *stop)
{
	struct ev_scan *s = c->o.scan;
	struct ev_error err, ferr;
	struct ev_rec rec;
	const struct ev_event *ev;
	int64_t due;
	int r, held = 0;
	int extra = c->o.pace != NULL || c->o.mark != NULL;

	c->st.position = ev_scan_position(s);
	for (;;) {
		if (*stop)
			break;
		r = ev_scan_next(s, &rec, &ev, &err);
		if (r == EV_EAGAIN && *stop)
			break; /* an upcast interrupted: read it again */
		if (r < 0) {
			/* what came before the damage goes out */
			c->st.position = ev_scan_position(s);
			flush_sink(c, &ferr);
			return ev_jobs_fail(c, r, &err);
		}
		if (r == 0) {
			c->st.position = ev_scan_position(s);
			if ((r = flush_sink(c, &err)) != 0)
				return ev_jobs_fail(c, r, &err);
			if (ev_scan_done(s))
				break;
			/* caught up: commit, so the group's lag reads 0 (a
			 * commit callback keeps to its interval) */
			if ((c->o.commit == NULL || c->o.commit_when_idle ||
			     commit_due(c, c->st.position)) &&
			    (r = commit(c, c->st.position)) != 0)
				return r;
			if ((r = ev_scan_wait(s, 1000, &err)) < 0)
				return ev_jobs_fail(c, r, &err);
			continue;
		}
		if (EV_UNLIKELY(extra)) {
			if ((r = ev_jobs_prepare(c, &rec, &ev, &due, &err)) !=
			    0) {
				c->st.position = rec.offset; /* not delivered */
				flush_sink(c, &ferr);
				return ev_jobs_fail(c, r, &err);
			}
			if (due > 0 && (r = wait_due(c, due, stop)) != 0) {
				c->st.position = rec.offset; /* not yet due */
				if (r < 0)
					return r;
				held = 1;
				break;
			}
		}
		if ((r = deliver(c, &rec, ev, &err)) != 0) {
			c->st.position = rec.offset; /* not delivered */
			flush_sink(c, &ferr);
			return ev_jobs_fail(c, r, &err);
		}
		c->st.handled++;
		c->st.position = ev_scan_position(s);
		if (EV_UNLIKELY(c->o.tick != NULL) && (c->st.handled & 63) == 0)
			ev_jobs_tick(c, ev_jobs_now(c));
		if (commit_due(c, c->st.position) &&
		    (r = commit(c, c->st.position)) != 0)
			return r;
	}
	if (!held)
		c->st.position = ev_scan_position(s);
	if ((r = flush_sink(c, &err)) != 0)
		return ev_jobs_fail(c, r, &err);
	return 0;
}

static int run_handlers(struct ev_consumer *c, volatile sig_atomic_t *stop)
{
	struct ev_done *d = malloc(sizeof(*d));
	struct ev_error err;
	int reading = 1, idle, r;
	int64_t wait, now;

	if (d == NULL)
		return ev_jobs_oom(c);
	for (;;) {
		now = ev_jobs_now(c);
		if (*stop && !c->stopping) {
			c->stopping = 1;
			c->stop_at = now + c->o.grace_ms;
		}
		/* read, start what can start, commit what is finished */
		idle = !c->stopping && ev_jobs_fill(c, &reading) == 1;
		if (!c->stopping && !c->st.failed && c->rc == 0)
			ev_jobs_dispatch(c);
		if ((c->rc == 0 || c->st.failed) &&
		    commit_due(c, ev_jobs_handled_upto(c)))
			commit(c, ev_jobs_handled_upto(c));
		if (c->stopping)
			ev_jobs_stop_runs(c, now);
		if (c->o.tick != NULL && now - c->last_tick >= c->o.tick_ms) {
			c->st.position = ev_jobs_handled_upto(c);
			ev_jobs_tick(c, now);
		}
		/* done? */
		ev_jobs_trim_window(c);
		if (c->h->running(c->hctx) == 0 &&
		    (c->stopping || c->st.failed || c->rc != 0 ||
		     (!reading && ev_jobs_live(c) == 0)))
			break;
		/* wait for a run to end, a retry to come due, new data */
		wait = ev_jobs_wait_time(c, idle, reading, now);
		r = c->h->running(c->hctx) ? c->h->wait(c->hctx, wait, d) : 0;
		if (r == 1)
			ev_jobs_finished(c, d);
		else if (r == 0 && c->h->running(c->hctx) == 0 && wait > 0 &&
			 idle && !c->stopping)
			ev_scan_wait(c->o.scan, wait, &err);
		else if (r == 0 && c->h->running(c->hctx) == 0 && wait > 0)
			c->clock->sleep_ms(c->clock->ctx, wait);
		if (idle && (r = ev_scan_wait(c->o.scan, 0, &err)) < 0) {
			ev_jobs_fail(c, r, &err);
			reading = 0;
		}
	}
	free(d);
	if (c->stopping)
		ev_jobs_report_unfinished(c);
	if (c->held_rc != 0 && !c->stopping)
		ev_jobs_fail(c, c->held_rc, &c->held_err);
	c->st.position = ev_jobs_handled_upto(c);
	return c->rc;
}

/* ---------------------------------------------------------------- setup */

/* A Kafka group's rebalance takes partitions away: commit what is
 * delivered or handled while they are still ours.  Runs in flight
 * finish, but their offsets are the next owner's (at least once). */
static void on_revoke(void *ctx)
{
	struct ev_consumer *c = ctx;

	if (c->o.cmd != NULL)
		commit(c, ev_jobs_handled_upto(c));
	else
		commit(c, c->st.position);
}

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
	    (o->on_failure == EV_FAIL_DLQ &&
	     ((o->dlq == NULL && o->letter == NULL) ||
	      (!o->group && !o->group_name))) ||
	    (o->letter != NULL && (o->dlq != NULL || o->park_streams)) ||
	    (o->dlq != NULL && o->log == NULL && o->source_id == NULL) ||
	    (o->park_streams && o->log == NULL) ||
	    (o->on_failure == EV_FAIL_REPORT && o->on_result == NULL) ||
	    (o->cmd == NULL && o->source == NULL &&
	     o->on_failure != EV_FAIL_STOP) ||
	    (o->source != NULL && (o->pace != NULL || o->mark != NULL)) ||
	    (o->tick != NULL && o->tick_ms <= 0))
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
	c->limit =
		o->window ? o->window : (size_t)c->o.parallel * c->o.batch * 4;
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
	c->last_commit = ev_jobs_now(c);
	*out = c;
	if (o->scan != NULL && ev_scan_is_kafka(o->scan))
		ev_kafka_scan_on_revoke(o->scan, on_revoke, c);
	if (o->dlq != NULL && o->on_failure == EV_FAIL_DLQ) {
		struct ev_writer_opts wo;
		memset(&wo, 0, sizeof(wo));
		wo.sync = EV_SYNC_BATCH;
		wo.sync_set = 1;
		if ((r = ev_writer_open(&c->dlq_w, o->dlq, &wo, err)) != 0)
			goto fail;
		if (o->park_streams && (r = ev_jobs_load_parked(c)) != 0) {
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
	uint64_t pos;
	int r, pos_ok = 1;

	if (c->o.cmd != NULL || c->o.source != NULL)
		run_handlers(c, stop);
	else
		run_sync(c, stop);
	pos = c->st.position;
	/* everything delivered so far is committed, whatever the reason we
	 * stopped; when an output failed to write (a broken pipe), up to
	 * the last event written out in full, as with a cursor file, and a
	 * new group that got none out in full is not made */
	if (c->o.output != NULL && ev_output_errno(c->o.output) != 0) {
		pos = ev_output_written(c->o.output);
		if (pos < c->st.committed) /* passed over, and committed */
			pos = c->st.committed;
		if (pos == c->st.committed && c->new_group)
			pos_ok = 0;
	}
	if ((c->o.group != NULL || c->o.commit != NULL) && pos_ok &&
	    (r = commit(c, pos)) != 0 && c->rc == 0)
		ev_jobs_fail(c, r, &cerr);
	/* a Kafka group: what a rebalance refused is sent again while the
	 * partitions are ours; what cannot be is said (handled again) */
	if (c->o.commit != NULL && c->o.scan != NULL && c->rc == 0 &&
	    ev_scan_is_kafka(c->o.scan) &&
	    (r = ev_kafka_scan_settle(c->o.scan, &cerr)) != 0) {
		if (r == EV_EAGAIN)
			ev_jobs_notice(c, "warning: %s", cerr.msg);
		else
			ev_jobs_fail(c, r, &cerr);
	}
	if (c->dlq_w != NULL && (r = ev_writer_close(c->dlq_w, &cerr)) != 0)
		ev_jobs_fail(c, r, &cerr);
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
	if (c->o.scan != NULL && ev_scan_is_kafka(c->o.scan))
		ev_kafka_scan_on_revoke(c->o.scan, NULL, NULL);
	ev_runner_free(c->runner);
	for (i = 0; i < c->njobs; i++)
		ev_jobs_job_free(c->jobs[i]);
	free(c->jobs);
	for (i = c->head; i < c->n; i++)
		ev_jobs_item_free(c->win[i]);
	free(c->win);
	ev_jobs_map_clear(&c->streams, 0);
	ev_jobs_map_clear(&c->parked, 1);
	ev_letters_free(c->letters, c->nletters);
	ev_reader_free(c->dlq_rd);
	ev_buf_free(&c->marked);
	if (c->dlq_w != NULL)
		ev_writer_close(c->dlq_w, &err);
	free(c);
}
