/*
 * test_kafka_dlq.c - dead-letter topics without a cluster: the record of
 * a letter (key, value, Spring Kafka's and Kafka Connect's headers,
 * evlog's letter), the real original partition, letters read back one
 * event at a time, and the engine's letter sink in place of a DLQ log.
 */
#include "evutil.h"

static const struct ev_kafka_header *hdr(const struct ev_kafka_msg *m,
					 const char *name)
{
	const struct ev_kafka_header *h = ev_kafka_msg_header(m, name);

	if (h == NULL)
		fail_msg("no header '%s'", name);
	return h;
}

static void hdr_is(const struct ev_kafka_msg *m, const char *name,
		   const char *want)
{
	const struct ev_kafka_header *h = hdr(m, name);

	assert_int_equal(h->len, strlen(want));
	assert_memory_equal(h->value, want, h->len);
}

static uint64_t hdr_be(const struct ev_kafka_msg *m, const char *name,
		       size_t width)
{
	const struct ev_kafka_header *h = hdr(m, name);
	uint64_t v = 0;
	size_t i;

	assert_int_equal(h->len, width);
	for (i = 0; i < width; i++)
		v = v << 8 | h->value[i];
	return v;
}

/* The event of line, at offset, appended at time t. */
static void event_of(const char *line, uint64_t offset, struct ev_buf *rec,
		     struct ev_event *ev)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_error err;
	const uint8_t *p;
	size_t n;
	ev_time_t t;

	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	assert_int_equal(ev_parser_line(ps, line, strlen(line),
					1700000000000000000LL, &err),
			 1);
	ev_parser_record(ps, 0, &p, &n, &t);
	rec->len = 0;
	assert_int_equal(ev_buf_append(rec, p, n), 0);
	ev_parser_free(ps);
	assert_int_equal(ev_event_decode(rec->p, rec->len, ev, &err), 0);
	ev->offset = offset;
	ev->append_time = 1700000000123000000LL;
}

static void test_letter_record(void **state)
{
	struct ev_buf rec = {0};
	struct ev_event ev;
	struct ev_letter_ctx lc;
	struct ev_done d;
	struct ev_kafka_msg m = {0};
	struct ev_error err;
	const struct ev_kafka_header *h;
	char *js;

	(void)state;
	event_of("{\"id\":\"e1\",\"type\":\"OrderPlaced\",\"stream\":\"o-7\","
		 "\"key\":\"k7\",\"data\":{\"amount\":15}}",
		 300, &rec, &ev);
	memset(&d, 0, sizeof(d));
	d.exit_status = 3;
	memcpy(d.stderr_tail, "boom\n", 5);
	d.stderr_len = 5;
	memset(&lc, 0, sizeof(lc));
	lc.source = &ev;
	lc.source_log = "kafka://b1:9092,b2:9092/orders";
	lc.source_log_id = "abc";
	lc.source_partition = 5;
	lc.has_source_partition = 1;
	lc.source_timestamp = 1700000000123LL; /* the record's, ms */
	lc.source_timestamp_type = EV_KAFKA_TS_CREATE;
	lc.group = "billing";
	lc.handler = "./bill.sh";
	lc.attempts = 4;
	lc.first_failure = lc.last_failure = 1700000001000000000LL;
	lc.done = &d;
	lc.round = 2;
	ev_kafka_msg_reset(&m);
	assert_int_equal(ev_kafka_letter_msg(&lc, 1700000002000000000LL, &m,
					     &err),
			 0);
	/* the original key and value */
	assert_true(m.has_key && m.has_value);
	assert_int_equal(m.key.len, 2);
	assert_memory_equal(m.key.p, "k7", 2);
	assert_int_equal(m.value.len, strlen("{\"amount\":15}"));
	assert_memory_equal(m.value.p, "{\"amount\":15}", m.value.len);
	assert_int_equal(m.timestamp, 1700000002000LL);
	hdr_is(&m, "ce_id", "e1");
	hdr_is(&m, "ce_type", "OrderPlaced");
	/* Spring Kafka's: the topic's name, binary numbers */
	hdr_is(&m, "kafka_dlt-original-topic", "orders");
	assert_int_equal(hdr_be(&m, "kafka_dlt-original-partition", 4), 5);
	assert_int_equal(hdr_be(&m, "kafka_dlt-original-offset", 8), 300);
	assert_int_equal(hdr_be(&m, "kafka_dlt-original-timestamp", 8),
			 1700000000123LL);
	hdr_is(&m, "kafka_dlt-original-timestamp-type", "CreateTime");
	hdr_is(&m, "kafka_dlt-original-consumer-group", "billing");
	hdr_is(&m, "kafka_dlt-exception-fqcn", "evlog.HandlerExit");
	hdr_is(&m, "kafka_dlt-exception-message", "exit status 3");
	hdr_is(&m, "kafka_dlt-exception-stacktrace", "boom\n");
	/* Connect's, as text */
	hdr_is(&m, "__connect.errors.topic", "orders");
	hdr_is(&m, "__connect.errors.partition", "5");
	hdr_is(&m, "__connect.errors.offset", "300");
	hdr_is(&m, "__connect.errors.connector.name", "billing");
	hdr_is(&m, "__connect.errors.task.id", "0");
	hdr_is(&m, "__connect.errors.stage", "TASK_PUT");
	hdr_is(&m, "__connect.errors.class.name", "./bill.sh");
	hdr_is(&m, "__connect.errors.exception.class.name",
	       "evlog.HandlerExit");
	hdr_is(&m, "__connect.errors.exception.message", "exit status 3");
	hdr_is(&m, "__connect.errors.exception.stacktrace", "boom\n");
	/* evlog's letter, with the real partition and the round */
	h = hdr(&m, "evlog_letter");
	js = strndup((const char *)h->value, h->len);
	assert_non_null(js);
	assert_non_null(strstr(js, "\"id\":\"deadletter:billing:abc:300:2\""));
	assert_non_null(strstr(js, "\"type\":\"DeadLetter\""));
	assert_non_null(strstr(js, "\"originalPartition\":5,"));
	assert_non_null(strstr(js, "\"originalOffset\":300,"));
	free(js);
	ev_kafka_msg_free(&m);

	/* a local log's event: partition 0, LogAppendTime, the path */
	lc.has_source_partition = 0;
	lc.source_partition = 0;
	lc.source_log = "/srv/orders.evlog";
	ev_kafka_msg_reset(&m);
	assert_int_equal(ev_kafka_letter_msg(&lc, 1700000002000000000LL, &m,
					     &err),
			 0);
	hdr_is(&m, "kafka_dlt-original-topic", "/srv/orders.evlog");
	assert_int_equal(hdr_be(&m, "kafka_dlt-original-partition", 4), 0);
	hdr_is(&m, "kafka_dlt-original-timestamp-type", "LogAppendTime");
	hdr_is(&m, "__connect.errors.partition", "0");
	ev_kafka_msg_free(&m);
	ev_buf_free(&rec);
}

/* the DeadLetter event of a letter of offset off, and a mark about it */
static void letter_event(uint64_t off, struct ev_buf *out, struct ev_event *ev)
{
	struct ev_buf src = {0};
	struct ev_event sev;
	struct ev_letter_ctx lc;
	struct ev_done d;
	struct ev_error err;
	ev_time_t t;

	event_of("{\"id\":\"e1\",\"type\":\"T\",\"stream\":\"s\"}", off, &src,
		 &sev);
	memset(&d, 0, sizeof(d));
	d.exit_status = 1;
	memset(&lc, 0, sizeof(lc));
	lc.source = &sev;
	lc.source_log = "l";
	lc.source_log_id = "abc";
	lc.group = "g";
	lc.handler = "h";
	lc.done = &d;
	lc.round = 1;
	out->len = 0;
	assert_int_equal(ev_dlq_letter_encode(out, &lc, ev_now(), &t, &err), 0);
	assert_int_equal(ev_event_decode(out->p, out->len, ev, &err), 0);
	ev_buf_free(&src);
}

static void test_letters_one_event_at_a_time(void **state)
{
	struct ev_letters a = {0};
	struct ev_buf b1 = {0}, b2 = {0}, mk = {0};
	struct ev_event l1, l2, mark;
	struct ev_error err;
	ev_time_t t;

	(void)state;
	letter_event(4, &b1, &l1);
	letter_event(9, &b2, &l2);
	assert_int_equal(ev_letters_add(&a, &l1, 0, &err), 0);
	/* not after the last one: ignored */
	assert_int_equal(ev_letters_add(&a, &l2, 0, &err), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(ev_letters_add(&a, &l2, 3, &err), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.v[1].offset, 3);
	assert_int_equal(a.v[1].source_offset, 9);
	assert_null(a.v[1].malformed);
	/* a discard of letter 3, then a resolution: the first one counts */
	assert_int_equal(ev_dlq_resolution_encode(&mk, EV_RESOLUTION_DISCARDED,
						  &a.v[1], NULL, 0, "why", NULL,
						  ev_now(), &t, &err),
			 0);
	assert_int_equal(ev_event_decode(mk.p, mk.len, &mark, &err), 0);
	assert_int_equal(ev_letters_add(&a, &mark, 5, &err), 0);
	assert_int_equal(a.v[1].state, EV_LETTER_DISCARDED);
	assert_string_equal(a.v[1].reason, "why");
	assert_int_equal(a.v[0].state, EV_LETTER_OPEN);
	/* a mark that names no letter is ignored */
	mk.len = 0;
	{
		struct ev_letter fake = a.v[0];
		fake.offset = 77;
		assert_int_equal(
			ev_dlq_resolution_encode(&mk, EV_RESOLUTION_RESOLVED,
						 &fake, "h", 1, NULL, NULL,
						 ev_now(), &t, &err),
			0);
	}
	assert_int_equal(ev_event_decode(mk.p, mk.len, &mark, &err), 0);
	assert_int_equal(ev_letters_add(&a, &mark, 6, &err), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.v[0].state, EV_LETTER_OPEN);
	ev_letters_clear(&a);
	assert_int_equal(a.n, 0);
	ev_buf_free(&b1);
	ev_buf_free(&b2);
	ev_buf_free(&mk);
}

/* ------------------------------------------------------------ the sink */

struct sink {
	int calls, fail;
	uint64_t offsets[8];
	int exit_status[8];
	char group[64], handler[64];
	uint64_t round;
};

static int letter_sink(void *ctx, const struct ev_letter_ctx *lc,
		       struct ev_error *err)
{
	struct sink *s = ctx;

	if (s->fail)
		return ev_seterr(err, EV_EIO, "kafka 'b:1': topic 't': down");
	if (s->calls < 8) {
		s->offsets[s->calls] = lc->source->offset;
		s->exit_status[s->calls] = lc->done->exit_status;
	}
	s->calls++;
	snprintf(s->group, sizeof(s->group), "%s", lc->group);
	snprintf(s->handler, sizeof(s->handler), "%s", lc->handler);
	s->round = lc->round;
	return 0;
}

struct cfx {
	struct elog l;
	struct ev_reader *rd;
	struct ev_scan *scan;
	struct ev_group *grp;
	struct ev_consumer *c;
	struct ev_consumer_opts o;
};

static void cfx_setup(struct cfx *x)
{
	static const char *const s[] = {"a", "b", "a"};
	struct ev_scan_opts so;
	struct ev_error err;

	memset(x, 0, sizeof(*x));
	elog_create(&x->l, 0);
	elog_append_streams(&x->l, s, 3);
	assert_int_equal(ev_reader_open(&x->rd, x->l.log, &err), 0);
	assert_int_equal(ev_group_open(&x->grp, x->l.log, "g", NULL, 0, &err),
			 0);
	memset(&so, 0, sizeof(so));
	so.group = x->grp;
	so.decode = 1;
	assert_int_equal(ev_scan_open(&x->scan, x->l.log, x->rd, &so, &err), 0);
	ev_consumer_opts_init(&x->o);
	x->o.scan = x->scan;
	x->o.cmd = "cat >/dev/null; [ \"$EV_OFFSET\" != 1 ] || exit 3";
	x->o.group = x->grp;
	x->o.log = x->l.log;
	x->o.retries = 0;
	x->o.on_failure = EV_FAIL_DLQ;
	x->o.letter = letter_sink;
}

static void cfx_free(struct cfx *x)
{
	ev_consumer_free(x->c);
	ev_scan_free(x->scan);
	ev_group_close(x->grp);
	ev_reader_free(x->rd);
	elog_free(&x->l);
}

static void test_letter_sink_in_place_of_a_dlq(void **state)
{
	static volatile sig_atomic_t no_stop;
	struct cfx x;
	struct sink s;
	struct ev_error err;

	(void)state;
	memset(&s, 0, sizeof(s));
	cfx_setup(&x);
	x.o.letter_ctx = &s;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.offsets[0], 1);
	assert_int_equal(s.exit_status[0], 3);
	assert_string_equal(s.group, "g");
	assert_int_equal(s.round, 1);
	assert_int_equal(ev_consumer_stats(x.c)->dead_lettered, 1);
	assert_int_equal(ev_consumer_stats(x.c)->committed, 3);
	cfx_free(&x);
}

static void test_a_failing_sink_stops_uncommitted(void **state)
{
	static volatile sig_atomic_t no_stop;
	struct cfx x;
	struct sink s;
	struct ev_error err;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.fail = 1;
	cfx_setup(&x);
	x.o.letter_ctx = &s;
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), 0);
	assert_int_equal(ev_consumer_run(x.c, &no_stop, &err), EV_EIO);
	assert_string_equal(err.msg, "cannot write the dead letter of offset "
				     "1: kafka 'b:1': topic 't': down");
	assert_true(ev_consumer_stats(x.c)->committed <= 1);
	cfx_free(&x);
}

static void test_sink_options(void **state)
{
	struct cfx x;
	struct sink s;
	struct ev_error err;

	(void)state;
	cfx_setup(&x);
	x.o.letter_ctx = &s;
	x.o.park_streams = 1; /* a topic parks nothing */
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), EV_EUSAGE);
	x.o.park_streams = 0;
	x.o.letter = NULL; /* dlq needs a log or a sink */
	assert_int_equal(ev_consumer_new(&x.c, &x.o, &err), EV_EUSAGE);
	cfx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_letter_record),
		cmocka_unit_test(test_letters_one_event_at_a_time),
		cmocka_unit_test(test_letter_sink_in_place_of_a_dlq),
		cmocka_unit_test(test_a_failing_sink_stops_uncommitted),
		cmocka_unit_test(test_sink_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
