/*
 * test_pace.c - struct ev_pace: the schedule of a rate and of a speed
 * with a capped gap, kept from its start so that it never drifts
 * whatever the delays; times that go backwards; parsing rates and
 * speeds.  A paced consumer is tested in test_consumer.c.
 */
#include "unit.h"

#define SEC 1000000000LL

static struct ev_pace *rate_pace(double rate)
{
	struct ev_pace_opts o = {EV_PACE_RATE, rate, 0, 0};
	struct ev_pace *p;
	struct ev_error err;

	assert_int_equal(ev_pace_new(&p, &o, &err), 0);
	return p;
}

static struct ev_pace *speed_pace(double speed, int64_t max_gap_ms)
{
	struct ev_pace_opts o = {EV_PACE_SPEED, 0, speed, max_gap_ms};
	struct ev_pace *p;
	struct ev_error err;

	assert_int_equal(ev_pace_new(&p, &o, &err), 0);
	return p;
}

/* The k-th event is due at start + k/rate, even when every delivery is
 * late: nothing adds up. */
static void test_rate_does_not_drift(void **state)
{
	struct ev_pace *p = rate_pace(2000);
	struct ev_error err;
	int64_t now = 5000, due;
	uint64_t k;

	(void)state;
	for (k = 0; k < 10000; k++) {
		assert_int_equal(ev_pace_schedule(p, k, EV_TIME_NONE, now, &due,
						  &err),
				 0);
		assert_int_equal(due, 5000 + (int64_t)(k / 2));
		/* delivered 3 ms late each time it was due, and never early */
		if (due + 3 > now)
			now = due + 3;
	}
	/* the 10,000th event at 2000/s: 4.9995 s after the first */
	assert_int_equal(due - 5000, 4999);
	ev_pace_free(p);
}

static void test_rate_per_minute_and_fractions(void **state)
{
	struct ev_pace *p = rate_pace(30.0 / 60.0); /* 30/m */
	struct ev_error err;
	int64_t due;
	uint64_t k;

	(void)state;
	for (k = 0; k < 5; k++) {
		assert_int_equal(ev_pace_schedule(p, k, EV_TIME_NONE, 100, &due,
						  &err),
				 0);
		assert_int_equal(due, 100 + (int64_t)k * 2000);
	}
	ev_pace_free(p);
	p = rate_pace(3); /* a third of a second: rounded down, no drift */
	for (k = 0; k < 301; k++)
		assert_int_equal(ev_pace_schedule(p, k, EV_TIME_NONE, 0, &due,
						  &err),
				 0);
	assert_int_equal(due, 100000);
	ev_pace_free(p);
}

/* Speed: gaps between event times divided by the speed, summed from the
 * start; max_gap caps a long silence. */
static void test_speed_and_max_gap(void **state)
{
	static const int64_t t_s[] = {0, 60, 120, 120, 3720, 3780};
	/* at 60x: 1 s, 1 s, 0, 60 s (capped at 2 s), 1 s */
	static const int64_t want[] = {0, 1000, 2000, 2000, 4000, 5000};
	struct ev_pace *p = speed_pace(60, 2000);
	struct ev_error err;
	int64_t due;
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		assert_int_equal(ev_pace_schedule(p, i,
						  1700000000 * SEC +
							  t_s[i] * SEC,
						  777 + (int64_t)i * 50000,
						  &due, &err),
				 0);
		assert_int_equal(due - 777, want[i]);
	}
	ev_pace_free(p);
}

/* Ten minutes of events, one a second, at 60x: 10 s, without drift from
 * rounding each gap. */
static void test_speed_ten_minutes(void **state)
{
	struct ev_pace *p = speed_pace(60, 0);
	struct ev_error err;
	int64_t due = 0;
	uint64_t k;

	(void)state;
	for (k = 0; k <= 600; k++)
		assert_int_equal(ev_pace_schedule(p, k,
						  (ev_time_t)k * SEC + 333, 0,
						  &due, &err),
				 0);
	assert_int_equal(due, 10000);
	ev_pace_free(p);
	/* 3x: gaps of 1 ms that are a third of a ms each, summed exactly */
	p = speed_pace(3, 0);
	for (k = 0; k <= 3000; k++)
		assert_int_equal(ev_pace_schedule(p, k, (ev_time_t)k * 1000000,
						  0, &due, &err),
				 0);
	assert_int_equal(due, 1000);
	ev_pace_free(p);
}

static void test_speed_time_backwards(void **state)
{
	struct ev_pace *p = speed_pace(2, 0);
	struct ev_error err;
	int64_t due;

	(void)state;
	assert_false(ev_pace_needs_time(NULL));
	assert_true(ev_pace_needs_time(p));
	assert_int_equal(ev_pace_schedule(p, 7, 1736500000 * SEC, 0, &due,
					  &err),
			 0);
	assert_int_equal(ev_pace_schedule(p, 9, 1736500000 * SEC - SEC, 0, &due,
					  &err),
			 EV_EDATA);
	assert_string_equal(err.msg,
			    "--speed: the event at offset 9 has time "
			    "2025-01-10T09:06:39.000Z, before the time of the "
			    "event at offset 7 (2025-01-10T09:06:40.000Z); "
			    "spacing by time needs times that do not go "
			    "backwards");
	assert_string_equal(err.hint, "replay these events with --rate "
				      "instead");
	ev_pace_free(p);
	/* the widest gap there is does not overflow */
	p = speed_pace(1, 1000);
	assert_int_equal(ev_pace_schedule(p, 0, EV_TIME_MIN, 0, &due, &err), 0);
	assert_int_equal(ev_pace_schedule(p, 1, EV_TIME_MAX, 0, &due, &err), 0);
	assert_int_equal(due, 1000);
	ev_pace_free(p);
}

static void test_parse(void **state)
{
	struct ev_error err;
	double v;

	(void)state;
	assert_int_equal(ev_pace_rate_parse("2000/s", &v, &err), 0);
	assert_true(v == 2000);
	assert_int_equal(ev_pace_rate_parse("30/m", &v, &err), 0);
	assert_true(v == 0.5);
	assert_int_equal(ev_pace_rate_parse("2.5", &v, &err), 0);
	assert_true(v == 2.5);
	assert_int_equal(ev_pace_rate_parse("0/s", &v, &err), EV_EUSAGE);
	assert_string_equal(err.msg,
			    "'0/s' is not above 0: a rate is a number of "
			    "events per second (/s) or minute (/m)");
	assert_int_equal(ev_pace_rate_parse("-5/s", &v, &err), EV_EUSAGE);
	assert_non_null(strstr(err.msg, "is not above 0"));
	assert_int_equal(ev_pace_rate_parse("fast", &v, &err), EV_EUSAGE);
	assert_string_equal(err.msg,
			    "'fast' is not a rate such as 100/s or 30/m");
	assert_int_equal(ev_pace_rate_parse("10/h", &v, &err), EV_EUSAGE);
	assert_int_equal(ev_pace_rate_parse("/s", &v, &err), EV_EUSAGE);
	assert_int_equal(ev_pace_rate_parse("1e3/s", &v, &err), EV_EUSAGE);
	assert_int_equal(ev_pace_rate_parse("nan", &v, &err), EV_EUSAGE);
	assert_int_equal(ev_pace_rate_parse("", &v, &err), EV_EUSAGE);
	assert_int_equal(ev_pace_speed_parse("60", &v, &err), 0);
	assert_true(v == 60);
	assert_int_equal(ev_pace_speed_parse("0.5x", &v, &err), 0);
	assert_true(v == 0.5);
	assert_int_equal(ev_pace_speed_parse("0", &v, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "'0' is not above 0: a speed divides "
				     "the time between events");
	assert_int_equal(ev_pace_speed_parse("x", &v, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "'x' is not a speed such as 10 or 0.5");
}

static void test_bad_options(void **state)
{
	struct ev_pace_opts o = {EV_PACE_RATE, 0, 0, 0};
	struct ev_pace *p = (struct ev_pace *)&o;
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_pace_new(&p, &o, &err), EV_EUSAGE);
	assert_null(p);
	o.mode = EV_PACE_SPEED;
	o.speed = -1;
	assert_int_equal(ev_pace_new(&p, &o, &err), EV_EUSAGE);
	o.speed = 1;
	o.max_gap_ms = -1;
	assert_int_equal(ev_pace_new(&p, &o, &err), EV_EUSAGE);
	ev_pace_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_does_not_drift),
		cmocka_unit_test(test_rate_per_minute_and_fractions),
		cmocka_unit_test(test_speed_and_max_gap),
		cmocka_unit_test(test_speed_ten_minutes),
		cmocka_unit_test(test_speed_time_backwards),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests_name("pace", tests, NULL, NULL);
}
