/*
 * test_handler.c - the handler contract (lib/handler.c): the variables a
 * run gets and no leaked ones, its standard input, exit statuses,
 * signals, timeouts, the kept tail of its standard error, parallel
 * slots, and the backoff between attempts.  These start real processes
 * (sh), each a few milliseconds.
 */
#include <fcntl.h>

#include "unit.h"

/* Run cmd with in and env to its end. */
static void run(const char *cmd, const char *in, char *const *env,
		int64_t timeout_ms, struct ev_done *d)
{
	struct ev_runner *r = ev_runner_new(1);
	struct ev_error err;

	assert_non_null(r);
	if (ev_runner_start(r, cmd, (const uint8_t *)in, strlen(in), env,
			    timeout_ms, (void *)0x1, &err) != 0)
		fail_msg("start: %s", err.msg);
	assert_int_equal(ev_runner_running(r), 1);
	assert_int_equal(ev_runner_free_slots(r), 0);
	while (ev_runner_wait(r, 1000, d) != 1)
		;
	assert_ptr_equal(d->tag, (void *)0x1);
	assert_int_equal(ev_runner_running(r), 0);
	ev_runner_free(r);
}

static char *slurp(const char *path)
{
	size_t n;
	char *s = unit_read_file(path, &n);

	assert_non_null(s);
	return s;
}

static void test_env_and_input(void **state)
{
	struct ev_handler_vars v;
	struct ev_error err;
	struct ev_done d;
	char *env[EV_HANDLER_ENV_MAX], cmd[9000], out[4200];
	char *dir = unit_tmpdir(), *got;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.offset = 42;
	v.attempt = 3;
	v.id.p = "id-1";
	v.id.n = 4;
	v.type.p = "OrderPlacedXX"; /* n cuts it */
	v.type.n = 11;
	v.has_dlq_offset = 1;
	v.dlq_offset = 7;
	assert_int_equal(ev_handler_env(env, &v, &err), 0);
	snprintf(out, sizeof(out), "%s/out", dir);
	/* EV_STREAM and EV_COUNT are set in our environment: they must not
	 * leak into a run that has no value for them */
	setenv("EV_STREAM", "leaked", 1);
	setenv("EV_COUNT", "99", 1);
	snprintf(cmd, sizeof(cmd), "{ env | grep '^EV_' | sort; cat; } >%s",
		 out);
	run(cmd, "line one\nline two\n", env, 0, &d);
	unsetenv("EV_STREAM");
	unsetenv("EV_COUNT");
	assert_true(d.ok);
	assert_int_equal(d.exit_status, 0);
	got = slurp(out);
	assert_string_equal(got, "EV_ATTEMPT=3\n"
				 "EV_DLQ_OFFSET=7\n"
				 "EV_ID=id-1\n"
				 "EV_OFFSET=42\n"
				 "EV_TYPE=OrderPlaced\n"
				 "line one\nline two\n");
	free(got);
	ev_handler_env_free(env);

	/* a batch */
	memset(&v, 0, sizeof(v));
	v.offset = 5;
	v.attempt = 1;
	v.batch = 1;
	v.count = 3;
	v.last_offset = 9;
	assert_int_equal(ev_handler_env(env, &v, &err), 0);
	snprintf(cmd, sizeof(cmd), "env | grep '^EV_' | sort >%s", out);
	run(cmd, "", env, 0, &d);
	got = slurp(out);
	assert_string_equal(got, "EV_ATTEMPT=1\nEV_COUNT=3\nEV_LAST_OFFSET=9\n"
				 "EV_OFFSET=5\n");
	free(got);
	ev_handler_env_free(env);
	unit_rmtree(dir);
}

static void test_input_line(void **state)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_buf in = {0};
	struct ev_error err;
	const uint8_t *rec;
	size_t n;
	ev_time_t t;
	static const char line[] = "{\"id\":\"x\",\"type\":\"T\","
				   "\"time\":\"2025-01-01T00:00:00Z\","
				   "\"data\":{\"a\":1}}";

	(void)state;
	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_int_equal(ev_parser_line(ps, line, strlen(line), 0, &err), 1);
	ev_parser_record(ps, 0, &rec, &n, &t);
	assert_int_equal(ev_handler_input(&in, rec, n, 17, &err), 0);
	assert_int_equal(ev_buf_putc(&in, '\0'), 0);
	assert_string_equal(
		(char *)in.p,
		"{\"offset\":17,\"id\":\"x\",\"type\":\"T\","
		"\"time\":\"2025-01-01T00:00:00.000Z\",\"schema\":1,"
		"\"data\":{\"a\":1}}\n");
	ev_buf_free(&in);
	ev_parser_free(ps);
}

static void test_failures(void **state)
{
	struct ev_done d;
	char big[6000];
	int saved, devnull;

	(void)state;
	run("cat >/dev/null; exit 7", "x\n", NULL, 0, &d);
	assert_false(d.ok);
	assert_int_equal(d.exit_status, 7);
	assert_int_equal(d.signal, 0);
	assert_false(d.timed_out);

	run("kill -USR1 $$", "", NULL, 0, &d);
	assert_false(d.ok);
	assert_int_equal(d.signal, SIGUSR1);
	assert_int_equal(d.exit_status, -1);

	run("exec sleep 5", "", NULL, 100, &d);
	assert_false(d.ok);
	assert_true(d.timed_out);
	assert_true(d.seconds >= 0.1 && d.seconds < 4.0);

	/* the last EV_STDERR_KEEP bytes of stderr are kept */
	memset(big, 'a', sizeof(big));
	snprintf(big, sizeof(big),
		 "i=0; while [ $i -lt 500 ]; do echo line-$i >&2; "
		 "i=$((i+1)); done; echo last >&2");
	/* it passes through to our stderr too: not into the test log */
	fflush(stderr);
	saved = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	assert_true(saved >= 0 && devnull >= 0);
	dup2(devnull, 2);
	run(big, "", NULL, 0, &d);
	dup2(saved, 2);
	close(saved);
	close(devnull);
	assert_true(d.ok);
	assert_int_equal(d.stderr_len, EV_STDERR_KEEP);
	assert_memory_equal(d.stderr_tail + EV_STDERR_KEEP - 5, "last\n", 5);
	assert_null(memmem(d.stderr_tail, d.stderr_len, "line-0\n", 7));
}

static void test_parallel_slots(void **state)
{
	struct ev_runner *r = ev_runner_new(3);
	struct ev_error err;
	struct ev_done d;
	int i, done = 0, seen[3] = {0, 0, 0};

	(void)state;
	assert_int_equal(ev_runner_free_slots(r), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(ev_runner_start(r, "cat >/dev/null",
						 (const uint8_t *)"", 0, NULL,
						 0, &seen[i], &err),
				 0);
	assert_int_equal(ev_runner_free_slots(r), 0);
	assert_int_equal(ev_runner_start(r, "true", NULL, 0, NULL, 0, NULL,
					 &err),
			 EV_ERR);
	while (done < 3)
		if (ev_runner_wait(r, 1000, &d) == 1) {
			*(int *)d.tag = 1;
			done++;
		}
	assert_true(seen[0] && seen[1] && seen[2]);
	assert_int_equal(ev_runner_wait(r, 10, &d), 0); /* nothing runs */
	ev_runner_free(r);
	ev_runner_free(NULL);
}

static void test_backoff(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		assert_in_range(ev_backoff_ms(1, 1000, 30000), 750, 1250);
		assert_in_range(ev_backoff_ms(2, 1000, 30000), 1500, 2500);
		assert_in_range(ev_backoff_ms(3, 1000, 30000), 3000, 5000);
		/* never past the cap */
		assert_in_range(ev_backoff_ms(20, 1000, 30000), 22500, 30000);
	}
	assert_int_equal(ev_backoff_ms(1, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_and_input),
		cmocka_unit_test(test_input_line),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_parallel_slots),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests_name("handler", tests, NULL, NULL);
}
