/*
 * test_kafka_admin.c - lib/kafka_admin.c without a cluster: the lag of
 * committed offsets against watermarks, the Nagios lines of evctl lag
 * and health, and the formats of info, groups and metrics, on topic
 * infos made by hand (tests/kafka-admin.bats runs them on the mock).
 */
#include "unit.h"

/* three brokers (2 down when down), three partitions: 0 and 2 with 10
 * events from offset 5, 1 without a leader when noleader */
static struct ev_kafka_topic_info *topic(int down, int noleader)
{
	struct ev_kafka_topic_info *ti = calloc(1, sizeof(*ti));
	int i;

	assert_non_null(ti);
	strcpy(ti->topic, "orders");
	ti->controller = 1;
	ti->nbrokers = 3;
	ti->brokers = calloc(3, sizeof(*ti->brokers));
	ti->nparts = 3;
	ti->parts = calloc(3, sizeof(*ti->parts));
	assert_non_null(ti->brokers);
	assert_non_null(ti->parts);
	for (i = 0; i < 3; i++) {
		ti->brokers[i].id = i + 1;
		strcpy(ti->brokers[i].host, "k");
		ti->brokers[i].port = 9092 + i;
		ti->brokers[i].up = !(down && i == 1);
		ti->parts[i].partition = i;
		ti->parts[i].leader = i + 1;
		ti->parts[i].nreplicas = ti->parts[i].nisr = 3;
		ti->parts[i].low = 5;
		ti->parts[i].high = 15;
	}
	if (noleader) {
		ti->parts[1].leader = -1;
		ti->parts[1].low = ti->parts[1].high = -1;
		strcpy(ti->parts[1].err, "no leader");
	}
	return ti;
}

static struct ev_kafka_group_offsets *group(const char *name, int64_t c0,
					    int64_t c1, int64_t c2)
{
	struct ev_kafka_group_offsets *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->group = strdup(name);
	g->committed = calloc(3, sizeof(*g->committed));
	assert_non_null(g->committed);
	g->committed[0] = c0;
	g->committed[1] = c1;
	g->committed[2] = c2;
	g->any = c0 >= 0 || c1 >= 0 || c2 >= 0;
	return g;
}

static void test_partition_lag(void **state)
{
	struct ev_kafka_part_info p = {.low = 5, .high = 15};
	uint64_t lag;

	(void)state;
	/* none committed, or below the low watermark: from the low one */
	assert_int_equal(ev_kafka_partition_lag(&p, -1, &lag), 0);
	assert_int_equal(lag, 10);
	assert_int_equal(ev_kafka_partition_lag(&p, 2, &lag), 0);
	assert_int_equal(lag, 10);
	assert_int_equal(ev_kafka_partition_lag(&p, 12, &lag), 0);
	assert_int_equal(lag, 3);
	assert_int_equal(ev_kafka_partition_lag(&p, 15, &lag), 0);
	assert_int_equal(lag, 0);
	/* past the end */
	assert_int_equal(ev_kafka_partition_lag(&p, 16, &lag), 1);
	p.low = p.high = -1;
	assert_int_equal(ev_kafka_partition_lag(&p, 3, &lag), -1);
}

static void test_lag_check(void **state)
{
	struct ev_kafka_topic_info *ti = topic(0, 0);
	struct ev_kafka_group_offsets *g = group("billing", 15, 10, -1);
	struct ev_threshold warn = {0, 10, 0}, crit = {0, 20, 0};
	struct ev_buf line = {0};
	struct ev_error err;

	(void)state;
	/* 0 + 5 + 10 */
	assert_int_equal(ev_kafka_lag_check(ti, g, 1, &warn, &crit, &line,
					    &err),
			 1);
	assert_string_equal((char *)line.p,
			    "LAG WARNING - group billing is 15 events behind | "
			    "'billing_lag'=15;10;20;0 'billing_0_lag'=0;;;0 "
			    "'billing_1_lag'=5;;;0 'billing_2_lag'=10;;;0");
	line.len = 0;
	g->committed[1] = 99; /* past the end: CRITICAL */
	assert_int_equal(ev_kafka_lag_check(ti, g, 1, &warn, &crit, &line,
					    &err),
			 2);
	assert_true(strncmp((char *)line.p,
			    "LAG CRITICAL - group billing is at offset 99 of "
			    "partition 1, past its end (offset 15) | ",
			    75) == 0);
	line.len = 0;
	g->committed[0] = g->committed[1] = g->committed[2] = -1;
	g->any = 0;
	assert_int_equal(ev_kafka_lag_check(ti, g, 1, &warn, &crit, &line,
					    &err),
			 EV_ENOENT);
	assert_string_equal(err.msg, "group 'billing' has no committed offsets "
				     "on topic 'orders'");
	assert_int_equal(ev_kafka_lag_check(ti, g, 0, &warn, &crit, &line,
					    &err),
			 EV_ENOENT);
	ev_buf_free(&line);
	ev_kafka_group_offsets_free(g, 1);
	ev_kafka_topic_info_free(ti);
}

static void test_health(void **state)
{
	struct ev_kafka_topic_info *ti = topic(0, 0);
	struct ev_kafka_group_offsets *g = group("g", 15, 15, 5);
	struct ev_buf line = {0};
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_kafka_health_check("L", ti, g, 1, NULL, 1000, &line,
					       &err),
			 0);
	assert_string_equal(
		(char *)line.p,
		"HEALTH OK - L: 3 of 3 brokers up, 3 of 3 partitions "
		"of 'orders' with a leader up, group g 10 events "
		"behind | brokers_up=3;;;0;3 "
		"partitions_without_leader=0;;;0;3 'g_lag'=10;1000;;0");
	/* degraded past max_lag; exactly max_lag is not past it */
	line.len = 0;
	assert_int_equal(ev_kafka_health_check("L", ti, g, 1, NULL, 10, &line,
					       &err),
			 0);
	line.len = 0;
	assert_int_equal(ev_kafka_health_check("L", ti, g, 1, NULL, 9, &line,
					       &err),
			 1);
	assert_non_null(strstr((char *)line.p,
			       "degraded: group g is 10 events behind (more "
			       "than 9)"));
	ev_kafka_topic_info_free(ti);
	/* a broker down: WARNING; a partition without a leader: CRITICAL */
	ti = topic(1, 0);
	line.len = 0;
	assert_int_equal(ev_kafka_health_check("L", ti, NULL, 0, NULL, 0, &line,
					       &err),
			 1);
	assert_true(
		strncmp((char *)line.p,
			"HEALTH WARNING - L: broker 2 (k:9093) is down; 2 of "
			"3 brokers up",
			64) == 0);
	ev_kafka_topic_info_free(ti);
	ti = topic(0, 1);
	line.len = 0;
	assert_int_equal(ev_kafka_health_check("L", ti, g, 1, NULL, 0, &line,
					       &err),
			 2);
	assert_true(
		strncmp((char *)line.p,
			"HEALTH CRITICAL - L: partition 1: no leader; 3 of 3 "
			"brokers up, 2 of 3 partitions",
			70) == 0);
	/* a coordinator that does not answer: CRITICAL */
	ev_kafka_topic_info_free(ti);
	ti = topic(0, 0);
	line.len = 0;
	assert_int_equal(ev_kafka_health_check("L", ti, NULL, 0, "timed out", 0,
					       &line, &err),
			 2);
	assert_true(strncmp((char *)line.p, "HEALTH CRITICAL - L: timed out; ",
			    32) == 0);
	g->any = 0;
	assert_int_equal(ev_kafka_health_check("L", ti, g, 1, NULL, 0, &line,
					       &err),
			 EV_ENOENT);
	ev_buf_free(&line);
	ev_kafka_group_offsets_free(g, 1);
	ev_kafka_topic_info_free(ti);
}

static void test_formats(void **state)
{
	struct ev_kafka_topic_info *ti = topic(1, 1);
	struct ev_kafka_group_offsets *g = group("a\"b\\c", 7, -1, 20);
	struct ev_kafka_metrics_log ml = {"kafka://k:9092/orders", ti, g, 1};
	struct ev_buf out = {0};

	(void)state;
	assert_int_equal(ev_kafka_info_format(&out, "L", ti, 0), 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	assert_non_null(strstr((char *)out.p, "brokers:      3, 2 up\n"
					      "  broker 1 at k:9092: up, "
					      "controller\n"
					      "  broker 2 at k:9093: down\n"));
	assert_non_null(strstr((char *)out.p, "events:       20\n"));
	assert_non_null(
		strstr((char *)out.p,
		       "        1       -        3    3              -        "
		       "      -              -  no leader\n"));
	out.len = 0;
	assert_int_equal(ev_kafka_info_format(&out, "L", ti, 1), 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	assert_non_null(strstr((char *)out.p,
			       "{\"partition\":1,\"leader\":-1,\"replicas\":3,"
			       "\"isr\":3,\"low\":null,\"high\":null,"
			       "\"events\":null,\"state\":\"no leader\"}"));
	out.len = 0;
	assert_int_equal(ev_kafka_groups_format(&out, ti, g, 1, 1), 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	assert_string_equal(
		(char *)out.p,
		"{\"group\":\"a\\\"b\\\\c\",\"topic\":\"orders\",\"lag\":8,"
		"\"partitions\":[{\"partition\":0,\"next\":7,\"end\":15,"
		"\"lag\":8},{\"partition\":1,\"next\":null,\"end\":null,"
		"\"lag\":null},{\"partition\":2,\"next\":20,\"end\":15,"
		"\"lag\":0}]}\n");
	out.len = 0;
	assert_int_equal(ev_kafka_metrics_format(&out, &ml, 1), 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	/* label values escaped; no sample where a figure is unknown */
	assert_non_null(
		strstr((char *)out.p,
		       "evlog_group_lag_events{log=\"kafka://k:9092/orders\","
		       "group=\"a\\\"b\\\\c\",partition=\"0\"} 8\n"));
	assert_null(strstr((char *)out.p, "evlog_next_offset{log=\"kafka://"
					  "k:9092/orders\",partition=\"1\"}"));
	assert_non_null(strstr((char *)out.p,
			       "evlog_kafka_partition_leader{log=\"kafka://"
			       "k:9092/orders\",partition=\"1\"} -1\n"));
	assert_non_null(strstr((char *)out.p,
			       "evlog_kafka_brokers_up{log=\"kafka://k:9092/"
			       "orders\"} 2\n"));
	ev_buf_free(&out);
	ev_kafka_group_offsets_free(g, 1);
	ev_kafka_topic_info_free(ti);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partition_lag),
		cmocka_unit_test(test_lag_check),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
