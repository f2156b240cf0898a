/*
 * retry.c - evdlq retry: dead letters handled again, through the same
 * consumer (consumer.c) as any event, one at a time, so that retries,
 * backoffs, timeouts and the kill on stopping work as they do for
 * evtail --exec.  A letter waits while an earlier open letter of its
 * stream (same group and source log) is unresolved, selected or not: a
 * stream keeps its order.  See evdlq(1), RETRY.
 */
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

/* What became of a letter in this run, for those behind it. */
enum {
	FATE_UNSELECTED, /* not selected: stays as it was */
	FATE_RESOLVED,	 /* resolved (or would be, in a dry run) */
	FATE_FAILED,	 /* its retry failed */
	FATE_LEFT_OPEN,	 /* not tried */
};

struct retry {
	const struct ev_retry_opts *o;
	const struct ev_letter *v;
	size_t n, i;
	const unsigned char *sel;
	size_t *prev, *blocker;
	unsigned char *fate;
	struct ev_writer *w;
	uint64_t resolved;
	volatile sig_atomic_t *stop;
};

static void report(struct retry *rt, enum ev_retry_what what, size_t i,
		   const char *cmd, unsigned attempts, const struct ev_done *d)
{
	struct ev_retry_report r;
	size_t b = rt->blocker[i];

	memset(&r, 0, sizeof(r));
	r.what = what;
	r.letter = &rt->v[i];
	r.cmd = cmd;
	r.attempts = attempts;
	r.last = d;
	if (what == EV_RETRY_LEFT_OPEN) {
		r.blocker = &rt->v[b];
		r.blocker_failed = rt->fate[b] == FATE_FAILED;
		r.blocker_selected = rt->fate[b] != FATE_UNSELECTED;
	}
	if (rt->o->report != NULL)
		rt->o->report(rt->o->ctx, &r);
}

/* The next letter to run, reporting those passed over: 1, or 0. */
static int next_letter(struct retry *rt, size_t *at)
{
	for (; rt->i < rt->n && !*rt->stop; rt->i++) {
		size_t i = rt->i, p = rt->prev[i];
		const struct ev_letter *l = &rt->v[i];
		const char *cmd = rt->o->cmd ? rt->o->cmd : l->handler;

		rt->blocker[i] = rt->n;
		if (p < rt->n && rt->fate[p] != FATE_RESOLVED)
			rt->blocker[i] =
				rt->blocker[p] < rt->n ? rt->blocker[p] : p;
		if (!rt->sel[i])
			continue;
		rt->fate[i] = FATE_LEFT_OPEN;
		if (rt->blocker[i] < rt->n) {
			report(rt, EV_RETRY_LEFT_OPEN, i, cmd, 0, NULL);
			continue;
		}
		if (cmd == NULL) {
			report(rt, EV_RETRY_NO_HANDLER, i, NULL, 0, NULL);
			continue;
		}
		if (rt->o->dry_run) {
			report(rt, EV_RETRY_WOULD, i, cmd, 0, NULL);
			rt->fate[i] = FATE_RESOLVED;
			continue;
		}
		*at = rt->i++;
		return 1;
	}
	return 0;
}

/* The consumer's source: the letters to run, as items. */
static int source(void *ctx, struct ev_item *it, struct ev_error *err)
{
	struct retry *rt = ctx;
	const struct ev_letter *l;
	size_t i;

	(void)err;
	if (!next_letter(rt, &i))
		return 0;
	l = &rt->v[i];
	it->offset = l->source_offset;
	it->json = l->original_json;
	it->id = l->orig_id;
	it->type = l->orig_type;
	it->stream = l->orig_stream;
	it->attempts = l->attempts; /* EV_ATTEMPT goes on from the letter's */
	it->cmd = rt->o->cmd ? rt->o->cmd : l->handler;
	it->has_dlq_offset = 1;
	it->dlq_offset = l->offset;
	it->has_partition = l->has_source_partition;
	it->partition = l->source_partition;
	it->tag = (void *)(uintptr_t)i;
	return 1;
}

/* An outcome on record: in the DLQ log, or through the mark sink. */
static int record(struct retry *rt, int kind, const struct ev_letter *l,
		  const char *cmd, unsigned attempts, const struct ev_done *d,
		  struct ev_error *err)
{
	if (rt->o->mark != NULL)
		return rt->o->mark(rt->o->mark_ctx, kind, l, cmd, attempts,
				   NULL, d, err);
	return ev_dlq_record(rt->w, kind, l, cmd, attempts, NULL, d, err);
}

/* The consumer's word on a letter: record it, then report it. */
static int result(void *ctx, void *tag, enum ev_result res, unsigned attempts,
		  const struct ev_done *last, struct ev_error *err)
{
	struct retry *rt = ctx;
	size_t i = (size_t)(uintptr_t)tag;
	const struct ev_letter *l = &rt->v[i];
	const char *cmd = rt->o->cmd ? rt->o->cmd : l->handler;
	int r;

	if (res == EV_RESULT_OK) {
		r = record(rt, EV_RESOLUTION_RESOLVED, l, cmd, attempts, last,
			   err);
		if (r != 0)
			return r;
		rt->fate[i] = FATE_RESOLVED;
		rt->resolved++;
		report(rt, EV_RETRY_RESOLVED, i, cmd, attempts, last);
		return 0;
	}
	/* stopped: the failed runs before our kill are on record, the
	 * killed one is not */
	if (attempts == 0)
		return 0;
	r = record(rt, EV_RESOLUTION_RETRY_FAILED, l, cmd, attempts, last, err);
	if (r != 0)
		return r;
	rt->fate[i] = FATE_FAILED;
	report(rt, EV_RETRY_STILL_OPEN, i, cmd, attempts, last);
	return 0;
}

static int run(struct retry *rt, struct ev_log *dlq, struct ev_error *err)
{
	struct ev_consumer_opts co;
	struct ev_consumer *c = NULL;
	struct ev_writer_opts wo;
	struct ev_error cerr;
	int r;

	memset(&wo, 0, sizeof(wo));
	wo.sync = EV_SYNC_BATCH;
	wo.sync_set = 1;
	if (rt->o->mark == NULL &&
	    (r = ev_writer_open(&rt->w, dlq, &wo, err)) != 0)
		return r;
	ev_consumer_opts_init(&co);
	co.source = source;
	co.source_ctx = rt;
	co.on_result = result;
	co.result_ctx = rt;
	co.on_failure = EV_FAIL_REPORT;
	co.retries = rt->o->retries;
	co.backoff_ms = rt->o->backoff_ms;
	co.backoff_max_ms = rt->o->backoff_max_ms;
	co.timeout_ms = rt->o->timeout_ms;
	co.grace_ms = 0; /* a stop ends the run at once: SIGTERM */
	co.window = 1;	 /* one letter at a time, in order */
	co.clock = rt->o->clock;
	co.handler = rt->o->handler;
	co.handler_ctx = rt->o->handler_ctx;
	r = ev_consumer_new(&c, &co, err);
	if (r == 0)
		r = ev_consumer_run(c, rt->stop, err);
	ev_consumer_free(c);
	if (rt->w != NULL && ev_writer_close(rt->w, &cerr) != 0 && r == 0) {
		*err = cerr;
		r = cerr.code;
	}
	rt->w = NULL;
	return r;
}

int ev_dlq_retry(struct ev_log *dlq, const struct ev_letter *v, size_t n,
		 const unsigned char *sel, const struct ev_retry_opts *o,
		 volatile sig_atomic_t *stop, uint64_t *resolved,
		 struct ev_error *err)
{
	struct retry rt;
	size_t i;
	int r;

	memset(&rt, 0, sizeof(rt));
	rt.o = o;
	rt.v = v;
	rt.n = n;
	rt.sel = sel;
	rt.stop = stop;
	rt.prev = malloc((n ? n : 1) * sizeof(*rt.prev));
	rt.blocker = malloc((n ? n : 1) * sizeof(*rt.blocker));
	rt.fate = calloc(n ? n : 1, 1);
	if (rt.prev == NULL || rt.blocker == NULL || rt.fate == NULL ||
	    ev_dlq_stream_prev(v, n, rt.prev) != 0) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	if (o->dry_run) {
		while (next_letter(&rt, &i))
			; /* a dry run runs nothing */
		r = 0;
	} else {
		r = run(&rt, dlq, err);
	}
out:
	*resolved = rt.resolved;
	free(rt.prev);
	free(rt.blocker);
	free(rt.fate);
	return r;
}
