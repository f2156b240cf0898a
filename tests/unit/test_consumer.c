/*
 * test_consumer.c - struct ev_consumer with a fake clock and a fake
 * handler: retries and their backoff, --on-failure, dead letters and
 * parked streams, batches split after failures, per-stream order under
 * parallel runs, commits by count and by time, the grace on stopping,
 * callback sinks and item sources.  Nothing sleeps: time moves only when
 * the consumer waits.
 */
#include "evutil.h"

/* ------------------------------------------------------------ fakes */

struct fclock {
	int64_t now;
	int64_t slept;
};

static int64_t fc_now(void *ctx)
{
	return ((struct fclock *)ctx)->now;
}

static void fc_sleep(void *ctx, int64_t ms)
{
	struct fclock *c = ctx;

	c->now += ms;
	c->slept += ms;
}

#define FMAX 64
#define FRUNS 512

/* A run the fake handler was asked for. */
struct frun {
	uint64_t offset;  /* EV_OFFSET */
	unsigned attempt; /* EV_ATTEMPT */
	unsigned count;	  /* events in its input */
	char stream[64];  /* EV_STREAM, "" when unset */
	char cmd[64];
	int64_t start; /* fake clock */
	int has_count, has_dlq_offset;
	int marked; /* its input has meta.replay "R1" */
};

struct fake {
	struct fclock *clock;
	int max;
	/* running: index into runs[] */
	int running[FMAX];
	void *tags[FMAX];
	int nrunning;
	struct frun runs[FRUNS];
	int nruns;
	int64_t duration; /* each run takes this long */
	/* the outcome of a run: 0 ok, else exit status; -1 runs forever */
	int (*outcome)(const struct frun *r, void *ctx);
	void *octx;
	int kills[32]; /* signals sent, in order */
	int nkills;
	int same_stream_at_once; /* per-stream order was broken */
	struct ev_group *group;	 /* to watch commits from within */
	uint64_t commits_seen[FRUNS];
	int ncommits_seen;
};

static int f_start(void *ctx, const char *cmd, const uint8_t *in, size_t in_len,
		   char *const *env, int64_t timeout_ms, void *tag,
		   struct ev_error *err)
{
	struct fake *f = ctx;
	struct frun *r = &f->runs[f->nruns];
	const char *v;
	size_t i;
	int k;

	(void)timeout_ms;
	(void)err;
	assert_true(f->nrunning < f->max);
	assert_true(f->nruns < FRUNS);
	memset(r, 0, sizeof(*r));
	v = env_get(env, "EV_OFFSET");
	assert_non_null(v);
	r->offset = strtoull(v, NULL, 10);
	v = env_get(env, "EV_ATTEMPT");
	assert_non_null(v);
	r->attempt = (unsigned)atoi(v);
	r->has_count = env_get(env, "EV_COUNT") != NULL;
	r->has_dlq_offset = env_get(env, "EV_DLQ_OFFSET") != NULL;
	v = env_get(env, "EV_STREAM");
	snprintf(r->stream, sizeof(r->stream), "%s", v ? v : "");
	snprintf(r->cmd, sizeof(r->cmd), "%s", cmd ? cmd : "");
	for (i = 0; i < in_len; i++)
		r->count += in[i] == '\n';
	assert_int_equal(in[in_len - 1], '\n');
	r->marked = memmem(in, in_len, "\"replay\":\"R1\"", 13) != NULL;
	r->start = f->clock->now;
	/* never two runs of one stream at once */
	for (k = 0; k < f->nrunning; k++)
		if (r->stream[0] &&
		    strcmp(f->runs[f->running[k]].stream, r->stream) == 0)
			f->same_stream_at_once = 1;
	f->running[f->nrunning] = f->nruns++;
	f->tags[f->nrunning++] = tag;
	return 0;
}

/* End the k-th running run. */
static void f_end(struct fake *f, int k, int status, int sig, struct ev_done *d)
{
	memset(d, 0, sizeof(*d));
	d->tag = f->tags[k];
	d->ok = status == 0 && sig == 0;
	d->exit_status = sig ? -1 : status;
	d->signal = sig;
	d->seconds =
		(double)(f->clock->now - f->runs[f->running[k]].start) / 1000.0;
	memcpy(d->stderr_tail, "boom\n", 5);
	d->stderr_len = 5;
	f->running[k] = f->running[f->nrunning - 1];
	f->tags[k] = f->tags[f->nrunning - 1];
	f->nrunning--;
}

static int f_wait(void *ctx, int64_t timeout_ms, struct ev_done *d)
{
	struct fake *f = ctx;
	int k, o;

	if (f->group != NULL && f->ncommits_seen < FRUNS)
		f->commits_seen[f->ncommits_seen++] =
			ev_group_get(f->group)->next;
	/* the oldest run ends after its duration, unless it runs forever */
	for (k = 0; k < f->nrunning; k++) {
		o = f->outcome(&f->runs[f->running[k]], f->octx);
		if (o >= 0) {
			f->clock->now += f->duration;
			f_end(f, k, o, 0, d);
			return 1;
		}
	}
	f->clock->now += timeout_ms > 0 ? timeout_ms : 1;
	return 0;
}

static int f_running(void *ctx)
{
	return ((struct fake *)ctx)->nrunning;
}

static int f_free_slots(void *ctx)
{
	struct fake *f = ctx;

	return f->max - f->nrunning;
}

static void f_kill_all(void *ctx, int sig)
{
	struct fake *f = ctx;

	if (f->nkills < 32)
		f->kills[f->nkills++] = sig;
	/* a run that runs forever dies by SIGKILL only */
	if (sig == SIGKILL)
		for (int k = 0; k < f->nrunning; k++)
			f->runs[f->running[k]].attempt += 1000; /* marked */
}

static const struct ev_handler_ops fake_ops = {
	f_start, f_wait, f_running, f_free_slots, f_kill_all,
};

static int always_ok(const struct frun *r, void *ctx)
{
	(void)r;
	(void)ctx;
	return 0;
}

/* ------------------------------------------------------------ fixture */

struct fx {
	struct elog l;
	struct ev_reader *rd;
	struct ev_scan *scan;
	struct ev_group *grp;
	struct ev_consumer *c;
	struct ev_consumer_opts o;
	struct fclock clock;
	struct fake fake;
	struct ev_clock evclock;
	char notices[16][300];
	int nnotices;
	struct ev_log *dlq;
	char dlqpath[4300];
};

static void fx_notice(void *ctx, const char *msg)
{
	struct fx *x = ctx;

	if (x->nnotices < 16)
		snprintf(x->notices[x->nnotices++], 300, "%s", msg);
}

/* A log of the streams given, a group "g" on it, and consumer options
 * with the fakes and no backoff jitter worth waiting for. */
static void fx_setup(struct fx *x, const char *const *streams, size_t n)
{
	struct ev_scan_opts so;
	struct ev_error err;

	memset(x, 0, sizeof(*x));
	elog_create(&x->l, 0);
	elog_append_streams(&x->l, streams, n);
	assert_int_equal(ev_reader_open(&x->rd, x->l.log, &err), 0);
	assert_int_equal(ev_group_open(&x->grp, x->l.log, "g", NULL, 0, &err),
			 0);
	memset(&so, 0, sizeof(so));
	so.group = x->grp;
	so.decode = 1;
	assert_int_equal(ev_scan_open(&x->scan, x->l.log, x->rd, &so, &err), 0);
	x->clock.now = 1000000;
	x->evclock.now_ms = fc_now;
	x->evclock.sleep_ms = fc_sleep;
	x->evclock.ctx = &x->clock;
	x->fake.clock = &x->clock;
	x->fake.max = 1;
	x->fake.duration = 10;
	x->fake.outcome = always_ok;
	ev_consumer_opts_init(&x->o);
	x->o.scan = x->scan;
	x->o.cmd = "handler";
	x->o.group = x->grp;
	x->o.log = x->l.log;
	x->o.clock = &x->evclock;
	x->o.handler = &fake_ops;
	x->o.handler_ctx = &x->fake;
	x->o.notice = fx_notice;
	x->o.notice_ctx = x;
}

static int fx_run(struct fx *x)
{
	static volatile sig_atomic_t no_stop;
	struct ev_error err;
	int r;

	x->fake.max = (int)x->o.parallel ? (int)x->o.parallel : 1;
	assert_int_equal(ev_consumer_new(&x->c, &x->o, &err), 0);
	r = ev_consumer_run(x->c, &no_stop, &err);
	if (r != 0)
		print_message("run: %s\n", err.msg);
	return r;
}

static void fx_free(struct fx *x)
{
	ev_consumer_free(x->c);
	ev_scan_free(x->scan);
	ev_group_close(x->grp);
	ev_reader_free(x->rd);
	ev_log_close(x->dlq);
	elog_free(&x->l);
}

static const char *const five[] = {"a", "b", "a", "", "c"};

/* ------------------------------------------------------------ tests */

static void test_all_handled_and_committed(void **state)
{
	struct fx x;
	const struct ev_consumer_stats *st;

	(void)state;
	fx_setup(&x, five, 5);
	assert_int_equal(fx_run(&x), 0);
	st = ev_consumer_stats(x.c);
	assert_int_equal(st->handled, 5);
	assert_int_equal(st->committed, 5);
	assert_int_equal(ev_group_get(x.grp)->next, 5);
	assert_int_equal(x.fake.nruns, 5);
	assert_int_equal(x.fake.runs[0].offset, 0);
	assert_string_equal(x.fake.runs[0].stream, "a");
	assert_string_equal(x.fake.runs[3].stream, "");
	assert_int_equal(x.fake.runs[4].attempt, 1);
	assert_false(x.fake.runs[0].has_count);
	assert_int_equal(ev_group_stats(x.grp)->handled, 5);
	fx_free(&x);
}

/* offset 1 fails twice, then works */
static int fail_twice_at_1(const struct frun *r, void *ctx)
{
	(void)ctx;
	return r->offset == 1 && r->attempt <= 2 ? 3 : 0;
}

static void test_retries_back_off(void **state)
{
	struct fx x;
	int64_t gap1 = -1, gap2 = -1, last = -1;
	int i;

	(void)state;
	fx_setup(&x, five, 5);
	x.fake.outcome = fail_twice_at_1;
	x.o.backoff_ms = 1000;
	x.o.backoff_max_ms = 30000;
	assert_int_equal(fx_run(&x), 0);
	for (i = 0; i < x.fake.nruns; i++) {
		const struct frun *r = &x.fake.runs[i];
		if (r->offset != 1)
			continue;
		if (r->attempt == 2)
			gap1 = r->start - last;
		if (r->attempt == 3)
			gap2 = r->start - last;
		last = r->start + x.fake.duration;
	}
	/* 1s, then 2s, each with up to 25% jitter either way */
	assert_in_range(gap1, 750, 1250);
	assert_in_range(gap2, 1500, 2500);
	assert_int_equal(ev_consumer_stats(x.c)->handled, 5);
	assert_int_equal(ev_consumer_stats(x.c)->committed, 5);
	assert_int_equal(ev_group_stats(x.grp)->failed, 2);
	fx_free(&x);
}

static int always_fail_at_2(const struct frun *r, void *ctx)
{
	(void)ctx;
	return r->offset == 2 ? 7 : 0;
}

static void test_stop_keeps_the_failure_uncommitted(void **state)
{
	struct fx x;
	const struct ev_consumer_stats *st;

	(void)state;
	fx_setup(&x, five, 5);
	x.fake.outcome = always_fail_at_2;
	x.o.retries = 1;
	assert_int_equal(fx_run(&x), 0);
	st = ev_consumer_stats(x.c);
	assert_true(st->failed);
	assert_int_equal(st->committed, 2);
	assert_int_equal(ev_group_get(x.grp)->next, 2);
	assert_int_equal(x.nnotices, 1);
	assert_string_equal(x.notices[0],
			    "handler failed on offset 2 after 2 attempts (exit "
			    "status 7); stopping, the offset is not committed");
	fx_free(&x);
}

static void test_skip_goes_on(void **state)
{
	struct fx x;
	const struct ev_consumer_stats *st;

	(void)state;
	fx_setup(&x, five, 5);
	x.fake.outcome = always_fail_at_2;
	x.o.retries = 0;
	x.o.on_failure = EV_FAIL_SKIP;
	assert_int_equal(fx_run(&x), 0);
	st = ev_consumer_stats(x.c);
	assert_false(st->failed);
	assert_int_equal(st->skipped, 1);
	assert_int_equal(st->handled, 4);
	assert_int_equal(st->committed, 5);
	assert_string_equal(x.notices[0],
			    "skipped offset 2 after 1 attempt (exit status 7)");
	assert_int_equal(ev_group_stats(x.grp)->skipped, 1);
	fx_free(&x);
}

static void open_dlq(struct fx *x)
{
	struct ev_error err;

	snprintf(x->dlqpath, sizeof(x->dlqpath), "%s/dlq", x->l.dir);
	assert_int_equal(ev_dlq_open(&x->dlq, x->dlqpath, x->l.log, &err), 0);
	x->o.dlq = x->dlq;
	x->o.on_failure = EV_FAIL_DLQ;
	x->o.retries = 0;
}

static void test_dead_letters_and_rounds(void **state)
{
	struct fx x;
	struct ev_letter *v;
	struct ev_error err;
	size_t n;
	char id[256];

	(void)state;
	fx_setup(&x, five, 5);
	open_dlq(&x);
	x.fake.outcome = always_fail_at_2;
	assert_int_equal(fx_run(&x), 0);
	assert_int_equal(ev_consumer_stats(x.c)->dead_lettered, 1);
	assert_int_equal(ev_consumer_stats(x.c)->committed, 5);
	assert_int_equal(ev_dlq_scan(x.dlq, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].source_offset, 2);
	assert_int_equal(v[0].round, 1);
	assert_int_equal(v[0].attempts, 1);
	assert_string_equal(v[0].error, "exit status 7");
	assert_string_equal(v[0].stderr_tail, "boom\n");
	ev_dlq_letter_id(id, sizeof(id), "g", ev_log_id(x.l.log), 2, 1);
	assert_string_equal(v[0].id, id);
	ev_letters_free(v, n);

	/* the same event again (a reset group): round 2 */
	ev_consumer_free(x.c);
	x.c = NULL;
	ev_scan_free(x.scan);
	{
		struct ev_scan_opts so;
		memset(&so, 0, sizeof(so));
		so.from.kind = EV_POS_OFFSET;
		so.from.offset = 2;
		so.to.kind = EV_POS_OFFSET;
		so.to.offset = 2;
		so.decode = 1;
		assert_int_equal(ev_scan_open(&x.scan, x.l.log, x.rd, &so,
					      &err),
				 0);
	}
	x.o.scan = x.scan;
	x.o.group = x.grp;
	assert_int_equal(fx_run(&x), 0);
	assert_int_equal(ev_dlq_scan(x.dlq, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[1].round, 2);
	ev_dlq_letter_id(id, sizeof(id), "g", ev_log_id(x.l.log), 2, 2);
	assert_string_equal(v[1].id, id);
	ev_letters_free(v, n);
	fx_free(&x);
}

static int fail_first_a(const struct frun *r, void *ctx)
{
	(void)ctx;
	return r->offset == 0 ? 1 : 0;
}

static void test_stream_policy_parks_the_stream(void **state)
{
	static const char *const s[] = {"a", "b", "a", "a", "b"};
	struct fx x;
	struct ev_letter *v;
	struct ev_error err;
	size_t n, i;

	(void)state;
	fx_setup(&x, s, 5);
	open_dlq(&x);
	x.o.park_streams = 1;
	x.fake.outcome = fail_first_a;
	assert_int_equal(fx_run(&x), 0);
	/* b's events ran; a's later ones were parked without running */
	for (i = 0; i < (size_t)x.fake.nruns; i++)
		assert_true(x.fake.runs[i].offset == 0 ||
			    strcmp(x.fake.runs[i].stream, "b") == 0);
	assert_int_equal(ev_consumer_stats(x.c)->dead_lettered, 3);
	assert_int_equal(ev_consumer_stats(x.c)->handled, 2);
	assert_int_equal(ev_consumer_stats(x.c)->committed, 5);
	assert_int_equal(ev_dlq_scan(x.dlq, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_false(v[0].parked);
	assert_true(v[1].parked);
	assert_true(v[2].parked);
	assert_int_equal(v[2].source_offset, 3);
	assert_string_equal(
		v[1].error,
		"parked behind the dead letter of offset 0 of its stream");
	ev_letters_free(v, n);
	fx_free(&x);
}

static int fail_at_4(const struct frun *r, void *ctx)
{
	(void)ctx;
	return r->offset == 4 || (r->count > 1 && r->offset <= 4 &&
				  r->offset + r->count > 4)
		       ? 2
		       : 0;
}

static void test_failing_batch_runs_one_by_one(void **state)
{
	static const char *const s[] = {"", "", "", "", "", "", "", ""};
	struct fx x;
	int i, solo = 0;

	(void)state;
	fx_setup(&x, s, 8);
	x.o.batch = 3;
	x.o.retries = 1;
	x.o.on_failure = EV_FAIL_SKIP;
	x.fake.outcome = fail_at_4;
	assert_int_equal(fx_run(&x), 0);
	assert_true(x.fake.runs[0].has_count);
	assert_int_equal(x.fake.runs[0].count, 3);
	assert_string_equal(
		x.notices[0],
		"batch at offsets 3 to 5 failed 2 times (exit status "
		"2); retrying its events one by one");
	for (i = 0; i < x.fake.nruns; i++)
		solo += x.fake.runs[i].count == 1 &&
			x.fake.runs[i].offset >= 3 &&
			x.fake.runs[i].offset <= 5;
	/* 3 and 5 once each, 4 twice (a retry) */
	assert_int_equal(solo, 4);
	assert_int_equal(ev_consumer_stats(x.c)->skipped, 1);
	assert_int_equal(ev_consumer_stats(x.c)->handled, 7);
	assert_int_equal(ev_consumer_stats(x.c)->committed, 8);
	fx_free(&x);
}

static void test_parallel_keeps_stream_order(void **state)
{
	static const char *const s[] = {"a", "a", "b", "a", "c", "b",
					"c", "a", "d", "d", "a", "b"};
	struct fx x;
	uint64_t last_a = 0;
	int i, seen_a = 0;

	(void)state;
	fx_setup(&x, s, 12);
	x.o.parallel = 4;
	assert_int_equal(fx_run(&x), 0);
	assert_false(x.fake.same_stream_at_once);
	for (i = 0; i < x.fake.nruns; i++)
		if (strcmp(x.fake.runs[i].stream, "a") == 0) {
			if (seen_a++)
				assert_true(x.fake.runs[i].offset > last_a);
			last_a = x.fake.runs[i].offset;
		}
	assert_int_equal(seen_a, 5);
	assert_int_equal(ev_consumer_stats(x.c)->committed, 12);
	fx_free(&x);
}

static void test_commits_by_count(void **state)
{
	static const char *const s[] = {"", "", "", "", "", "", "", "", "", ""};
	struct fx x;
	int i, mid = 0;

	(void)state;
	fx_setup(&x, s, 10);
	x.o.commit_every = 3;
	x.o.commit_ms = 1000000;
	x.fake.group = x.grp;
	assert_int_equal(fx_run(&x), 0);
	/* commits while running, each at most 3 behind the work */
	for (i = 0; i < x.fake.ncommits_seen; i++)
		if (x.fake.commits_seen[i] > 0 && x.fake.commits_seen[i] < 10)
			mid++;
	assert_true(mid > 0);
	for (i = 1; i < x.fake.ncommits_seen; i++)
		assert_true(x.fake.commits_seen[i] >=
			    x.fake.commits_seen[i - 1]);
	assert_int_equal(ev_group_get(x.grp)->next, 10);
	fx_free(&x);
}

static void test_commits_by_time(void **state)
{
	static const char *const s[] = {"", "", "", ""};
	struct fx x;
	int i, mid = 0;

	(void)state;
	fx_setup(&x, s, 4);
	x.o.commit_every = 1000;
	x.o.commit_ms = 15; /* each run takes 10 */
	x.fake.group = x.grp;
	assert_int_equal(fx_run(&x), 0);
	for (i = 0; i < x.fake.ncommits_seen; i++)
		if (x.fake.commits_seen[i] > 0 && x.fake.commits_seen[i] < 4)
			mid++;
	assert_true(mid > 0);
	assert_int_equal(ev_group_get(x.grp)->next, 4);
	fx_free(&x);
}

/* offset 1 runs until it is killed */
static int forever_at_1(const struct frun *r, void *ctx)
{
	(void)ctx;
	if (r->offset == 1)
		return r->attempt > 1000 ? 137 : -1;
	return 0;
}

static volatile sig_atomic_t stop_flag;

static int stop_when_1_runs(const struct frun *r, void *ctx)
{
	struct fx *x = ctx;

	if (r->offset == 1 && r->attempt < 1000) {
		stop_flag = 1;
		if (x->clock.now - r->start > 60000)
			fail_msg("the run was not killed");
	}
	return forever_at_1(r, ctx);
}

static void test_grace_then_term_then_kill(void **state)
{
	static const char *const s[] = {"", "", "", ""};
	struct fx x;
	struct ev_error err;

	(void)state;
	fx_setup(&x, s, 4);
	x.o.grace_ms = 5000;
	x.fake.outcome = stop_when_1_runs;
	x.fake.octx = &x;
	stop_flag = 0;
	x.fake.max = 1;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &stop_flag, &err), 0);
	/* after the grace SIGTERM, then SIGKILL 2s on */
	assert_int_equal(x.fake.nkills, 2);
	assert_int_equal(x.fake.kills[0], SIGTERM);
	assert_int_equal(x.fake.kills[1], SIGKILL);
	assert_in_range(x.clock.now - x.fake.runs[1].start, 7000, 7500);
	/* nothing new started, and the killed event stays uncommitted */
	assert_int_equal(x.fake.nruns, 2);
	assert_int_equal(ev_group_get(x.grp)->next, 1);
	fx_free(&x);
}

/* ------------------------------------------------------------ sinks */

struct sink {
	uint64_t offsets[16];
	int n, fail_at, flushes;
	struct fclock *clock; /* when set: the time of each event, and */
	int64_t at[16];
	int64_t cost; /* ... how long each takes */
	int marked;   /* events with meta.replay "R1" */
};

static int sink_event(void *ctx, const struct ev_rec *rec,
		      const struct ev_event *ev, struct ev_error *err)
{
	struct sink *s = ctx;

	assert_non_null(ev);
	assert_int_equal(ev->offset, rec->offset);
	if ((int)rec->offset == s->fail_at)
		return ev_seterr(err, EV_EIO, "sink full");
	if (s->clock != NULL) {
		s->at[s->n] = s->clock->now;
		s->clock->now += s->cost;
	}
	if (ev->meta != NULL &&
	    memmem(ev->meta, ev->meta_len, "\xa6replay\xa2R1", 10) != NULL)
		s->marked++;
	s->offsets[s->n++] = rec->offset;
	return 0;
}

static int sink_flush(void *ctx, struct ev_error *err)
{
	(void)err;
	((struct sink *)ctx)->flushes++;
	return 0;
}

static void test_callback_sink(void **state)
{
	struct fx x;
	struct sink sk;
	struct ev_error err;
	static volatile sig_atomic_t no_stop;

	(void)state;
	fx_setup(&x, five, 5);
	memset(&sk, 0, sizeof(sk));
	sk.fail_at = 3;
	x.o.cmd = NULL;
	x.o.handler = NULL;
	x.o.sink = sink_event;
	x.o.flush = sink_flush;
	x.o.sink_ctx = &sk;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), EV_EIO);
	assert_string_equal(err.msg, "sink full");
	assert_int_equal(sk.n, 3);
	assert_int_equal(sk.offsets[2], 2);
	/* delivered up to the failure, flushed, and committed there */
	assert_true(sk.flushes > 0);
	assert_int_equal(ev_consumer_stats(x.c)->position, 3);
	assert_int_equal(ev_group_get(x.grp)->next, 3);
	fx_free(&x);
}

/* ------------------------------------------------------------ sources */

struct src {
	int next, n;
	int results[8];
	unsigned attempts[8];
};

static int src_next(void *ctx, struct ev_item *it, struct ev_error *err)
{
	struct src *s = ctx;
	static const char *const json[] = {"{\"offset\":10}", "{\"offset\":11}",
					   "{\"offset\":12}"};

	(void)err;
	if (s->next >= s->n)
		return 0;
	it->offset = (uint64_t)(10 + s->next);
	it->json = json[s->next];
	it->type = "T";
	it->attempts = 4;
	it->cmd = s->next == 1 ? "own" : NULL;
	it->has_dlq_offset = 1;
	it->dlq_offset = (uint64_t)s->next;
	it->tag = (void *)(intptr_t)s->next;
	s->next++;
	return 1;
}

static int src_result(void *ctx, void *tag, enum ev_result res,
		      unsigned attempts, const struct ev_done *last,
		      struct ev_error *err)
{
	struct src *s = ctx;
	int i = (int)(intptr_t)tag;

	(void)err;
	assert_non_null(last);
	s->results[i] = (int)res;
	s->attempts[i] = attempts;
	return 0;
}

static int fail_11(const struct frun *r, void *ctx)
{
	(void)ctx;
	return r->offset == 11 ? 1 : 0;
}

static void test_item_source(void **state)
{
	struct fx x;
	struct src s;
	struct ev_error err;
	static volatile sig_atomic_t no_stop;

	(void)state;
	fx_setup(&x, five, 1);
	memset(&s, 0, sizeof(s));
	s.n = 3;
	ev_consumer_opts_init(&x.o);
	x.o.source = src_next;
	x.o.source_ctx = &s;
	x.o.on_result = src_result;
	x.o.result_ctx = &s;
	x.o.on_failure = EV_FAIL_REPORT;
	x.o.cmd = "default";
	x.o.retries = 2;
	x.o.window = 1;
	x.o.clock = &x.evclock;
	x.o.handler = &fake_ops;
	x.o.handler_ctx = &x.fake;
	x.fake.outcome = fail_11;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), 0);
	assert_int_equal(s.results[0], EV_RESULT_OK);
	assert_int_equal(s.results[1], EV_RESULT_FAILED);
	assert_int_equal(s.attempts[1], 3);
	assert_int_equal(s.results[2], EV_RESULT_OK);
	/* one at a time, in order; attempts go on from the item's */
	assert_int_equal(x.fake.nruns, 5);
	assert_int_equal(x.fake.runs[0].attempt, 5);
	assert_string_equal(x.fake.runs[0].cmd, "default");
	assert_string_equal(x.fake.runs[1].cmd, "own");
	assert_int_equal(x.fake.runs[3].attempt, 7);
	assert_int_equal(x.fake.runs[4].offset, 12);
	assert_true(x.fake.runs[0].has_dlq_offset);
	fx_free(&x);
}

/* ------------------------------------------------------------ pacing */

static const char *const ten[] = {"a", "b", "a", "",  "c",
				  "a", "b", "",	 "c", "d"};

static struct ev_pace *pace_rate(double rate)
{
	struct ev_pace_opts po = {EV_PACE_RATE, rate, 0, 0};
	struct ev_pace *p;
	struct ev_error err;

	assert_int_equal(ev_pace_new(&p, &po, &err), 0);
	return p;
}

/* A paced sink gets event k at start + k/rate: a sink that takes 3 ms
 * does not push the ones after it later, and one slower than the rate
 * gets them at once until it is back on time. */
static void test_paced_sink_does_not_drift(void **state)
{
	static volatile sig_atomic_t no_stop;
	struct fx x;
	struct sink sk;
	struct ev_error err;
	int64_t start;
	int i;

	(void)state;
	fx_setup(&x, ten, 10);
	memset(&sk, 0, sizeof(sk));
	sk.fail_at = -1;
	sk.clock = &x.clock;
	sk.cost = 3;
	x.o.cmd = NULL;
	x.o.handler = NULL;
	x.o.sink = sink_event;
	x.o.sink_ctx = &sk;
	x.o.pace = pace_rate(100);
	start = x.clock.now;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), 0);
	assert_int_equal(sk.n, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(sk.at[i] - start, 10 * i);
	ev_consumer_free(x.c);
	x.c = NULL;
	ev_pace_free(x.o.pace);
	fx_free(&x);

	/* 25 ms each at 100/s: every event is due by the time the one
	 * before is done, none waits, and the schedule stays where it
	 * was */
	fx_setup(&x, ten, 10);
	memset(&sk, 0, sizeof(sk));
	sk.fail_at = -1;
	sk.clock = &x.clock;
	sk.cost = 25;
	x.o.cmd = NULL;
	x.o.handler = NULL;
	x.o.sink = sink_event;
	x.o.sink_ctx = &sk;
	x.o.pace = pace_rate(100);
	start = x.clock.now;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(sk.at[i] - start, 25 * i);
	assert_int_equal(x.clock.slept, 0);
	ev_pace_free(x.o.pace);
	fx_free(&x);
}

/* Handler runs start when their events are due, in slices that keep
 * the loop going. */
static void test_paced_handlers(void **state)
{
	struct fx x;
	int i;
	int64_t start;

	(void)state;
	fx_setup(&x, ten, 10);
	x.o.pace = pace_rate(4); /* 250 ms apart */
	x.o.parallel = 4;
	start = x.clock.now;
	assert_int_equal(fx_run(&x), 0);
	assert_int_equal(x.fake.nruns, 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(x.fake.runs[i].offset, i);
		assert_int_equal(x.fake.runs[i].start - start, 250 * i);
	}
	assert_int_equal(ev_group_get(x.grp)->next, 10);
	ev_pace_free(x.o.pace);
	fx_free(&x);
}

static volatile sig_atomic_t stop_in_sleep;
static int64_t stop_after;

static void stopping_sleep(void *ctx, int64_t ms)
{
	fc_sleep(ctx, ms);
	if (((struct fclock *)ctx)->slept >= stop_after)
		stop_in_sleep = 1;
}

/* A stop while an event waits to be due leaves it undelivered, and the
 * position (and the group) before it. */
static void test_stop_while_paced(void **state)
{
	struct fx x;
	struct sink sk;
	struct ev_error err;

	(void)state;
	fx_setup(&x, ten, 10);
	memset(&sk, 0, sizeof(sk));
	sk.fail_at = -1;
	x.o.cmd = NULL;
	x.o.handler = NULL;
	x.o.sink = sink_event;
	x.o.sink_ctx = &sk;
	x.o.pace = pace_rate(1);
	x.evclock.sleep_ms = stopping_sleep;
	stop_in_sleep = 0;
	stop_after = 2500; /* while event 3 waits */
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &stop_in_sleep, &err), 0);
	assert_int_equal(sk.n, 3);
	assert_int_equal(ev_consumer_stats(x.c)->position, 3);
	assert_int_equal(ev_group_get(x.grp)->next, 3);
	ev_pace_free(x.o.pace);
	fx_free(&x);
}

/* Marks go into the event every sink gets: a callback's and a
 * handler's. */
static void test_marks(void **state)
{
	static volatile sig_atomic_t no_stop;
	static const struct ev_mark mark = {"R1", 1736500000000000000LL};
	struct fx x;
	struct sink sk;
	struct ev_error err;
	int i;

	(void)state;
	fx_setup(&x, five, 5);
	memset(&sk, 0, sizeof(sk));
	sk.fail_at = -1;
	x.o.cmd = NULL;
	x.o.handler = NULL;
	x.o.sink = sink_event;
	x.o.sink_ctx = &sk;
	x.o.mark = &mark;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), 0);
	assert_int_equal(sk.n, 5);
	assert_int_equal(sk.marked, 5);
	assert_int_equal(sk.offsets[4], 4);
	fx_free(&x);

	fx_setup(&x, five, 5);
	x.o.mark = &mark;
	assert_int_equal(fx_run(&x), 0);
	assert_int_equal(x.fake.nruns, 5);
	for (i = 0; i < 5; i++)
		assert_true(x.fake.runs[i].marked);
	fx_free(&x);
}

/* Times that go backwards, paced by speed: the handlers get the events
 * before, then the consumer fails with the position at the event. */
static void test_speed_backwards_after_the_events_before(void **state)
{
	static const char *const back[] = {
		"{\"type\":\"T\",\"time\":\"2025-01-10T09:00:00Z\"}",
		"{\"type\":\"T\",\"time\":\"2025-01-10T09:00:01Z\"}",
		"{\"type\":\"T\",\"time\":\"2025-01-10T08:00:00Z\"}",
		"{\"type\":\"T\",\"time\":\"2025-01-10T09:00:02Z\"}",
	};
	static volatile sig_atomic_t no_stop;
	struct ev_pace_opts po = {EV_PACE_SPEED, 0, 1000, 0};
	struct ev_error err;
	struct fx x;

	(void)state;
	fx_setup(&x, five, 0);
	elog_append(&x.l, back, 4);
	assert_int_equal(ev_reader_refresh(x.rd, &err), 1);
	assert_int_equal(ev_pace_new(&x.o.pace, &po, &err), 0);
	x.fake.max = 1;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "the event at offset 2 has time"));
	assert_int_equal(x.fake.nruns, 2);
	assert_int_equal(ev_consumer_stats(x.c)->position, 2);
	assert_int_equal(ev_group_get(x.grp)->next, 2);
	ev_pace_free(x.o.pace);
	fx_free(&x);
}

struct ticks {
	int n;
	uint64_t last_handled;
};

static void on_tick(void *ctx, const struct ev_consumer_stats *st)
{
	struct ticks *t = ctx;

	t->n++;
	t->last_handled = st->handled;
}

/* Progress while paced: at most every tick_ms. */
static void test_ticks(void **state)
{
	static volatile sig_atomic_t no_stop;
	struct fx x;
	struct sink sk;
	struct ticks tk = {0, 0};
	struct ev_error err;

	(void)state;
	fx_setup(&x, ten, 10);
	memset(&sk, 0, sizeof(sk));
	sk.fail_at = -1;
	x.o.cmd = NULL;
	x.o.handler = NULL;
	x.o.sink = sink_event;
	x.o.sink_ctx = &sk;
	x.o.pace = pace_rate(2); /* 4.5 s in all */
	x.o.tick = on_tick;
	x.o.tick_ctx = &tk;
	x.o.tick_ms = 1000;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), 0);
	assert_in_range(tk.n, 4, 5);
	assert_in_range(tk.last_handled, 8, 9);
	ev_pace_free(x.o.pace);
	fx_free(&x);
}

static void test_bad_options(void **state)
{
	struct ev_consumer_opts o;
	struct ev_consumer *c;
	struct ev_error err;

	(void)state;
	ev_consumer_opts_init(&o);
	/* neither a scan nor a source */
	assert_int_equal(ev_consumer_new(&c, &o, &err), EV_EUSAGE);
	assert_null(c);
	/* progress every 0 ms */
	o.source = (ev_source_fn)1;
	o.on_result = (ev_result_fn)1;
	o.tick = (ev_tick_fn)1;
	assert_int_equal(ev_consumer_new(&c, &o, &err), EV_EUSAGE);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_handled_and_committed),
		cmocka_unit_test(test_retries_back_off),
		cmocka_unit_test(test_stop_keeps_the_failure_uncommitted),
		cmocka_unit_test(test_skip_goes_on),
		cmocka_unit_test(test_dead_letters_and_rounds),
		cmocka_unit_test(test_stream_policy_parks_the_stream),
		cmocka_unit_test(test_failing_batch_runs_one_by_one),
		cmocka_unit_test(test_parallel_keeps_stream_order),
		cmocka_unit_test(test_commits_by_count),
		cmocka_unit_test(test_commits_by_time),
		cmocka_unit_test(test_grace_then_term_then_kill),
		cmocka_unit_test(test_callback_sink),
		cmocka_unit_test(test_item_source),
		cmocka_unit_test(test_paced_sink_does_not_drift),
		cmocka_unit_test(test_paced_handlers),
		cmocka_unit_test(test_stop_while_paced),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_ticks),
		cmocka_unit_test(test_speed_backwards_after_the_events_before),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests_name("consumer", tests, NULL, NULL);
}
