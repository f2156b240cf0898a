/*
 * test_dlq.c - dead letters: encoding a letter and reading it back, ids
 * and rounds, resolution records and the state they give, parking,
 * retry order by stream, opening and locking a dead-letter log, the
 * selectors, the JSON and the stats of evdlq, evdlq retry through a
 * fake handler, and the letters of events that could not be upcast.
 */
#include "evutil.h"

struct dfx {
	struct elog src, dlq;
	struct ev_writer *w;
};

/* One letter of source event i (0-based, as appended) of group g. */
static void letter(struct dfx *x, uint64_t offset, const char *group,
		   uint64_t round, int exit_status, const char *parked_id)
{
	struct ev_reader *rd;
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_letter_ctx lc;
	struct ev_done d;
	struct ev_error err;
	struct ev_buf out = {0};
	ev_time_t t;

	assert_int_equal(ev_reader_open(&rd, x->src.log, &err), 0);
	assert_int_equal(ev_reader_get(rd, offset, &rec, &err), 1);
	assert_int_equal(ev_event_decode(rec.p, rec.n, &ev, &err), 0);
	ev.offset = rec.offset;
	ev.append_time = rec.append_time;
	memset(&d, 0, sizeof(d));
	d.exit_status = exit_status;
	memcpy(d.stderr_tail, "oops\n", 5);
	d.stderr_len = 5;
	memset(&lc, 0, sizeof(lc));
	lc.source = &ev;
	lc.source_log = "src.evlog";
	lc.source_log_id = ev_log_id(x->src.log);
	lc.group = group;
	lc.handler = "./h.sh";
	lc.attempts = 4;
	lc.first_failure = lc.last_failure = 1700000000000000000LL;
	lc.done = &d;
	lc.round = round;
	lc.parked_behind_letter = parked_id;
	lc.parked_behind_offset = 0;
	assert_int_equal(ev_dlq_letter_encode(&out, &lc, ev_now(), &t, &err),
			 0);
	assert_int_equal(ev_writer_add(x->w, out.p, out.len, t, &err), 0);
	assert_int_equal(ev_writer_flush(x->w, &err), 0);
	ev_buf_free(&out);
	ev_reader_free(rd);
}

static void dfx_setup(struct dfx *x)
{
	static const char *const s[] = {"a", "a", "b", "", "a", "b"};
	struct ev_writer_opts wo;
	struct ev_error err;

	memset(x, 0, sizeof(*x));
	elog_create(&x->src, 0);
	elog_append_streams(&x->src, s, 6);
	elog_create(&x->dlq, 1);
	memset(&wo, 0, sizeof(wo));
	assert_int_equal(ev_writer_open(&x->w, x->dlq.log, &wo, &err), 0);
}

static void dfx_free(struct dfx *x)
{
	struct ev_error err;

	if (x->w != NULL)
		assert_int_equal(ev_writer_close(x->w, &err), 0);
	elog_free(&x->src);
	elog_free(&x->dlq);
}

static void scan(struct dfx *x, struct ev_letter **v, size_t *n)
{
	struct ev_error err;

	if (ev_dlq_scan(x->dlq.log, v, n, &err) != 0)
		fail_msg("ev_dlq_scan: %s", err.msg);
}

static void test_letter_round_trip(void **state)
{
	struct dfx x;
	struct ev_letter *v;
	size_t n;
	char id[256];

	(void)state;
	dfx_setup(&x);
	letter(&x, 1, "billing", 1, 3, NULL);
	scan(&x, &v, &n);
	assert_int_equal(n, 1);
	ev_dlq_letter_id(id, sizeof(id), "billing", ev_log_id(x.src.log), 1, 1);
	assert_string_equal(v[0].id, id);
	assert_memory_equal(id, "deadletter:billing:", 19);
	assert_int_equal(v[0].offset, 0);
	assert_string_equal(v[0].group, "billing");
	assert_string_equal(v[0].source_log, "src.evlog");
	assert_int_equal(v[0].source_offset, 1);
	assert_string_equal(v[0].orig_type, "T");
	assert_string_equal(v[0].orig_stream, "a");
	assert_string_equal(v[0].error, "exit status 3");
	assert_string_equal(v[0].stderr_tail, "oops\n");
	assert_string_equal(v[0].handler, "./h.sh");
	assert_int_equal(v[0].attempts, 4);
	assert_int_equal(v[0].round, 1);
	assert_false(v[0].parked);
	assert_int_equal(v[0].state, EV_LETTER_OPEN);
	/* the handler's input again: the envelope with the source offset */
	assert_non_null(strstr(v[0].original_json, "{\"offset\":1,"));
	assert_non_null(strstr(v[0].original_json, "\"data\":{\"i\":1}"));
	ev_letters_free(v, n);
	dfx_free(&x);
}

static void test_rounds_and_resolutions(void **state)
{
	struct dfx x;
	struct ev_letter *v;
	struct ev_done d;
	struct ev_error err;
	size_t n;
	const char *id;

	(void)state;
	dfx_setup(&x);
	id = ev_log_id(x.src.log);
	letter(&x, 1, "g", 1, 3, NULL);
	letter(&x, 2, "g", 1, 3, NULL);
	letter(&x, 1, "g", 2, 3, NULL);
	letter(&x, 1, "other", 1, 3, NULL);
	scan(&x, &v, &n);
	assert_int_equal(n, 4);
	assert_int_equal(ev_dlq_next_round(v, n, "g", id, 1), 3);
	assert_int_equal(ev_dlq_next_round(v, n, "g", id, 2), 2);
	assert_int_equal(ev_dlq_next_round(v, n, "g", id, 5), 1);
	assert_int_equal(ev_dlq_next_round(v, n, "other", id, 1), 2);
	assert_int_equal(ev_dlq_next_round(v, n, "g", "elsewhere", 1), 1);

	memset(&d, 0, sizeof(d));
	d.exit_status = 9;
	assert_int_equal(ev_dlq_record(x.w, EV_RESOLUTION_RETRY_FAILED, &v[0],
				       "./h.sh", 2, NULL, &d, &err),
			 0);
	d.exit_status = 0;
	d.ok = 1;
	assert_int_equal(ev_dlq_record(x.w, EV_RESOLUTION_RESOLVED, &v[0],
				       "./h.sh", 1, NULL, &d, &err),
			 0);
	assert_int_equal(ev_dlq_record(x.w, EV_RESOLUTION_DISCARDED, &v[1],
				       NULL, 0, "bad data", NULL, &err),
			 0);
	ev_letters_free(v, n);
	scan(&x, &v, &n);
	assert_int_equal(v[0].state, EV_LETTER_RESOLVED);
	assert_int_equal(v[0].attempts, 4 + 2 + 1);
	assert_int_equal(v[0].retries_failed, 1);
	assert_string_equal(v[0].error, "exit status 9");
	assert_int_equal(v[1].state, EV_LETTER_DISCARDED);
	assert_string_equal(v[1].reason, "bad data");
	assert_int_equal(v[2].state, EV_LETTER_OPEN);
	ev_letters_free(v, n);
	dfx_free(&x);
}

static void test_parking_and_stream_order(void **state)
{
	struct dfx x;
	struct ev_letter *v;
	size_t n, prev[8];
	const char *id;

	(void)state;
	dfx_setup(&x);
	id = ev_log_id(x.src.log);
	letter(&x, 0, "g", 1, 3, NULL);	       /* a */
	letter(&x, 2, "g", 1, 3, NULL);	       /* b */
	letter(&x, 3, "g", 1, 3, NULL);	       /* no stream */
	letter(&x, 4, "g", 1, 3, "parked-id"); /* a, parked */
	letter(&x, 5, "h", 1, 3, NULL);	       /* b, another group */
	scan(&x, &v, &n);
	assert_int_equal(n, 5);
	assert_true(v[3].parked);
	assert_string_equal(v[3].error,
			    "parked behind the dead letter of offset 0 of its "
			    "stream");
	assert_true(ev_letter_parks(&v[0], "g", id));
	assert_false(ev_letter_parks(&v[2], "g", id)); /* no stream */
	assert_false(ev_letter_parks(&v[4], "g", id));
	assert_false(ev_letter_parks(&v[0], "g", "another-log"));
	assert_int_equal(ev_dlq_stream_prev(v, n, prev), 0);
	assert_int_equal(prev[0], n);
	assert_int_equal(prev[1], n);
	assert_int_equal(prev[2], n);
	assert_int_equal(prev[3], 0); /* a behind a */
	assert_int_equal(prev[4], n); /* b, but of group h */
	ev_letters_free(v, n);
	dfx_free(&x);
}

static void test_open_and_lock(void **state)
{
	struct dfx x;
	struct ev_log *d = NULL, *d2 = NULL;
	struct ev_error err;
	char path[4400];
	int fd = -1, fd2 = -1;

	(void)state;
	dfx_setup(&x);
	/* the log being read is no dead-letter log */
	assert_int_equal(ev_dlq_open(&d, x.src.path, x.src.log, &err),
			 EV_EUSAGE);
	assert_null(d);
	assert_non_null(strstr(err.msg, "is the log being read"));
	/* a missing one is made, as a dead-letter log */
	snprintf(path, sizeof(path), "%s/new.dlq", x.src.dir);
	assert_int_equal(ev_dlq_open(&d, path, x.src.log, &err), 0);
	assert_true(ev_log_get_config(d)->dead_letters);
	assert_int_equal(ev_dlq_open(&d2, path, x.src.log, &err), 0);
	assert_int_equal(ev_dlq_lock(d, &fd, &err), 0);
	assert_int_equal(ev_dlq_lock(d2, &fd2, &err), EV_EAGAIN);
	assert_int_equal(fd2, -1);
	ev_dlq_unlock(fd);
	assert_int_equal(ev_dlq_lock(d2, &fd2, &err), 0);
	ev_dlq_unlock(fd2);
	ev_log_close(d);
	ev_log_close(d2);
	dfx_free(&x);
}

static void test_select_json_stats(void **state)
{
	struct dfx x;
	struct ev_letter *v;
	struct ev_letter_select s;
	struct ev_dlq_stats st;
	struct ev_buf b = {0};
	struct ev_error err;
	ev_time_t now = ev_now();
	size_t n;

	(void)state;
	dfx_setup(&x);
	letter(&x, 0, "g", 1, 3, NULL);
	letter(&x, 2, "g", 1, 4, NULL);
	letter(&x, 3, "h", 1, 3, NULL);
	scan(&x, &v, &n);
	assert_int_equal(ev_dlq_record(x.w, EV_RESOLUTION_DISCARDED, &v[2],
				       NULL, 0, "no", NULL, &err),
			 0);
	ev_letters_free(v, n);
	scan(&x, &v, &n);

	memset(&s, 0, sizeof(s));
	assert_true(ev_letter_selected(&s, &v[0], now));
	assert_false(ev_letter_selected(&s, &v[2], now)); /* discarded */
	s.all = 1;
	assert_true(ev_letter_selected(&s, &v[2], now));
	s.group = "g";
	assert_false(ev_letter_selected(&s, &v[2], now));
	s.stream = "b*";
	assert_false(ev_letter_selected(&s, &v[0], now));
	assert_true(ev_letter_selected(&s, &v[1], now));
	assert_int_equal(ev_letter_select_error(&s, "status [3]"), 0);
	assert_false(ev_letter_selected(&s, &v[1], now)); /* exit status 4 */
	assert_int_equal(ev_letter_select_error(&s, "status [4]"), 0);
	assert_true(ev_letter_selected(&s, &v[1], now));
	assert_int_equal(ev_letter_select_error(&s, "(("), EV_EUSAGE);
	s.have_offset = 1;
	s.from = 0;
	s.to = 0;
	assert_false(ev_letter_selected(&s, &v[1], now));
	s.have_offset = 0;
	s.older_ms = 3600000;
	assert_false(ev_letter_selected(&s, &v[1], now));
	ev_letter_select_free(&s);

	assert_int_equal(ev_letter_to_json(&b, &v[2], now), 0);
	assert_int_equal(ev_buf_putc(&b, '\0'), 0);
	assert_non_null(strstr((char *)b.p, "\"state\":\"discarded\""));
	assert_non_null(strstr((char *)b.p, "\"group\":\"h\""));
	assert_non_null(strstr((char *)b.p, "\"reason\":\"no\""));
	assert_non_null(strstr((char *)b.p, "\"stream\":null"));
	assert_memory_equal(b.p, "{\"offset\":2,\"id\":", 17);

	memset(&s, 0, sizeof(s));
	assert_int_equal(ev_dlq_stats(v, n, &s, now, &st), 0);
	assert_int_equal(st.open, 2);
	assert_int_equal(st.discarded, 1);
	assert_int_equal(st.resolved, 0);
	assert_int_equal(st.ntypes, 1);
	assert_int_equal(st.by_type[0].n, 2);
	assert_int_equal(st.nerrors, 2);
	assert_string_equal(st.by_error[0].key, "exit status 3");
	assert_int_equal(st.by_age[0], 2);
	assert_ptr_equal(st.oldest, &v[0]);
	ev_dlq_stats_free(&st);
	ev_buf_free(&b);
	ev_letters_free(v, n);
	dfx_free(&x);
}

/* ------------------------------------------------------------ retry */

struct rfake {
	int64_t now;
	int running;
	void *tag;
	int fail_offset; /* EV_OFFSET whose runs fail */
	int runs;
	char order[64];
};

static int64_t r_now(void *ctx)
{
	return ((struct rfake *)ctx)->now;
}

static void r_sleep(void *ctx, int64_t ms)
{
	((struct rfake *)ctx)->now += ms;
}

static int r_start(void *ctx, const char *cmd, const uint8_t *in, size_t n,
		   char *const *env, int64_t timeout, void *tag,
		   struct ev_error *err)
{
	struct rfake *f = ctx;
	size_t k = strlen(f->order);

	(void)cmd;
	(void)in;
	(void)n;
	(void)timeout;
	(void)err;
	f->running = atoi(env_get(env, "EV_OFFSET"));
	if (k + 1 < sizeof(f->order))
		f->order[k] = (char)('0' + f->running);
	f->tag = tag;
	f->runs++;
	return 0;
}

static int r_wait(void *ctx, int64_t timeout, struct ev_done *d)
{
	struct rfake *f = ctx;

	(void)timeout;
	memset(d, 0, sizeof(d[0]));
	d->tag = f->tag;
	d->ok = f->running != f->fail_offset;
	d->exit_status = d->ok ? 0 : 5;
	f->running = -1;
	f->now += 5;
	return 1;
}

static int r_running(void *ctx)
{
	return ((struct rfake *)ctx)->running >= 0;
}

static int r_free(void *ctx)
{
	return ((struct rfake *)ctx)->running >= 0 ? 0 : 1;
}

static void r_kill(void *ctx, int sig)
{
	(void)ctx;
	(void)sig;
}

static const struct ev_handler_ops rops = {r_start, r_wait, r_running, r_free,
					   r_kill};

struct seen {
	int what[16];
	int n;
};

static void on_report(void *ctx, const struct ev_retry_report *r)
{
	struct seen *s = ctx;

	s->what[s->n++] = (int)r->what;
}

static void test_retry_keeps_stream_order(void **state)
{
	struct dfx x;
	struct ev_letter *v;
	struct ev_retry_opts o;
	struct ev_clock clk;
	struct rfake f;
	struct seen seen;
	struct ev_error err;
	unsigned char sel[8];
	uint64_t resolved;
	size_t n;
	static volatile sig_atomic_t no_stop;

	(void)state;
	dfx_setup(&x);
	letter(&x, 0, "g", 1, 3, NULL); /* a: fails again */
	letter(&x, 1, "g", 1, 3, NULL); /* a: behind it, left open */
	letter(&x, 2, "g", 1, 3, NULL); /* b: resolved */
	letter(&x, 3, "g", 1, 3, NULL); /* none: resolved */
	assert_int_equal(ev_writer_close(x.w, &err), 0);
	x.w = NULL;
	scan(&x, &v, &n);
	memset(sel, 1, sizeof(sel));
	memset(&f, 0, sizeof(f));
	f.running = -1;
	f.fail_offset = 0;
	clk.now_ms = r_now;
	clk.sleep_ms = r_sleep;
	clk.ctx = &f;
	memset(&seen, 0, sizeof(seen));
	memset(&o, 0, sizeof(o));
	o.retries = 1;
	o.backoff_ms = 100;
	o.backoff_max_ms = 100;
	o.report = on_report;
	o.ctx = &seen;
	o.clock = &clk;
	o.handler = &rops;
	o.handler_ctx = &f;
	assert_int_equal(ev_dlq_retry(x.dlq.log, v, n, sel, &o, &no_stop,
				      &resolved, &err),
			 0);
	assert_int_equal(resolved, 2);
	assert_string_equal(f.order, "0023"); /* 0 twice, never 1 */
	assert_int_equal(seen.n, 4);
	assert_int_equal(seen.what[0], EV_RETRY_STILL_OPEN);
	assert_int_equal(seen.what[1], EV_RETRY_LEFT_OPEN);
	assert_int_equal(seen.what[2], EV_RETRY_RESOLVED);
	assert_int_equal(seen.what[3], EV_RETRY_RESOLVED);
	ev_letters_free(v, n);
	/* on record in the DLQ */
	scan(&x, &v, &n);
	assert_int_equal(v[0].state, EV_LETTER_OPEN);
	assert_int_equal(v[0].retries_failed, 1);
	assert_int_equal(v[0].attempts, 4 + 2);
	assert_int_equal(v[1].state, EV_LETTER_OPEN);
	assert_int_equal(v[2].state, EV_LETTER_RESOLVED);
	assert_int_equal(v[3].state, EV_LETTER_RESOLVED);
	ev_letters_free(v, n);
	dfx_free(&x);
}

/* --on-error dlq: letters of events that could not be upcast, with the
 * failure as their error, no handler, and the next round on a second
 * run. */
static void test_upcast_letters(void **state)
{
	struct dfx x;
	struct ev_upcast_dlq *d;
	struct ev_reader *rd;
	struct ev_letter *v;
	struct ev_rec rec;
	struct ev_error err, why;
	size_t n;
	int run;

	(void)state;
	dfx_setup(&x);
	assert_int_equal(ev_writer_close(x.w, &err), 0);
	x.w = NULL;
	assert_int_equal(ev_reader_open(&rd, x.src.log, &err), 0);
	assert_int_equal(ev_reader_get(rd, 2, &rec, &err), 1);
	memset(&why, 0, sizeof(why));
	snprintf(why.msg, sizeof(why.msg),
		 "offset 2: T version 1: step a.upcast:3: data is a string");
	for (run = 0; run < 2; run++) {
		assert_int_equal(ev_upcast_dlq_open(&d, x.dlq.log, "src.evlog",
						    ev_log_id(x.src.log), NULL,
						    &err),
				 0);
		assert_int_equal(ev_upcast_dlq_count(d), 0);
		assert_int_equal(ev_upcast_dlq_letter(d, &rec, &why, &err), 0);
		assert_int_equal(ev_upcast_dlq_count(d), 1);
		assert_int_equal(ev_upcast_dlq_close(d, &err), 0);
	}
	ev_upcast_dlq_close(NULL, &err);
	scan(&x, &v, &n);
	assert_int_equal(n, 2);
	assert_null(v[0].malformed);
	assert_string_equal(v[0].group, "");
	assert_string_equal(v[0].error, why.msg);
	assert_string_equal(v[0].stderr_tail, "");
	assert_null(v[0].handler);
	assert_int_equal(v[0].attempts, 0);
	assert_int_equal(v[0].source_offset, 2);
	assert_string_equal(v[0].orig_stream, "b");
	assert_int_equal(v[0].round, 1);
	assert_int_equal(v[1].round, 2);
	assert_string_not_equal(v[0].id, v[1].id);
	assert_non_null(strstr(v[0].original_json, "{\"offset\":2,"));
	ev_letters_free(v, n);
	ev_reader_free(rd);
	dfx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_letter_round_trip),
		cmocka_unit_test(test_rounds_and_resolutions),
		cmocka_unit_test(test_parking_and_stream_order),
		cmocka_unit_test(test_open_and_lock),
		cmocka_unit_test(test_select_json_stats),
		cmocka_unit_test(test_retry_keeps_stream_order),
		cmocka_unit_test(test_upcast_letters),
	};

	return cmocka_run_group_tests_name("dlq", tests, NULL, NULL);
}
