/*
 * test_timein.c - lib/timein.c: the time formats of evpub --wrap
 * (--time-format, --time-zone): RFC 3339, epoch numbers in four units,
 * strict strftime-style patterns, and the range of ev_time_t at both
 * ends, 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z.
 */
#include "unit.h"

#define S 1000000000LL
/* 2019-09-26T00:00:00Z */
#define T0 (1569456000LL * S)
#define TMIN (INT64_MIN + 1)
#define TMAX INT64_MAX

static struct ev_timein fmt(const char *format, const char *zone)
{
	struct ev_timein ti;
	struct ev_error err;

	if (ev_timein_init(&ti, format, zone, &err) != 0)
		fail_msg("'%s' (zone %s): %s", format, zone ? zone : "-",
			 err.msg);
	return ti;
}

static void ok(const char *format, const char *zone, const char *s,
	       ev_time_t want)
{
	struct ev_timein ti = fmt(format, zone);
	ev_time_t t = 0;

	if (ev_timein_parse(&ti, s, strlen(s), &t) != 0)
		fail_msg("'%s' as %s: refused, want %lld", s, format,
			 (long long)want);
	if (t != want)
		fail_msg("'%s' as %s: %lld, want %lld", s, format, (long long)t,
			 (long long)want);
}

static void bad(const char *format, const char *zone, const char *s)
{
	struct ev_timein ti = fmt(format, zone);
	ev_time_t t = 0;

	if (ev_timein_parse(&ti, s, strlen(s), &t) != EV_EDATA)
		fail_msg("'%s' as %s: accepted as %lld", s, format,
			 (long long)t);
}

static void usage_err(const char *format, const char *zone, const char *msg)
{
	struct ev_timein ti;
	struct ev_error err;

	memset(&err, 0, sizeof(err));
	if (ev_timein_init(&ti, format, zone, &err) != EV_EUSAGE)
		fail_msg("'%s' (zone %s) accepted", format, zone ? zone : "-");
	if (strcmp(err.msg, msg) != 0)
		fail_msg("'%s': '%s', want '%s'", format, err.msg, msg);
}

static void test_rfc3339(void **state)
{
	(void)state;
	ok(NULL, NULL, "2019-09-26T00:00:00Z", T0);
	ok("rfc3339", NULL, "2019-09-26T02:00:00.5+02:00", T0 + S / 2);
	bad("rfc3339", NULL, "2019-09-26 00:00:00");
	bad("rfc3339", NULL, "1569456000");
}

static void test_epoch(void **state)
{
	(void)state;
	ok("epoch", NULL, "1569456000", T0);
	ok("epoch", NULL, "1569456000.5", T0 + S / 2);
	ok("epoch", NULL, "1569456000.000000001", T0 + 1);
	ok("epoch", NULL, "-1", -S);
	ok("epoch", NULL, "-1.25", -S - S / 4);
	ok("epoch", NULL, "0", 0);
	ok("epoch-ms", NULL, "1569456000123", T0 + 123000000);
	ok("epoch-ms", NULL, "1569456000123.456789", T0 + 123456789);
	ok("epoch-us", NULL, "1569456000123456", T0 + 123456000);
	ok("epoch-us", NULL, "1569456000123456.789", T0 + 123456789);
	ok("epoch-ns", NULL, "1569456000123456789", T0 + 123456789);
	/* strictly a decimal number, and no finer than nanoseconds */
	bad("epoch", NULL, "");
	bad("epoch", NULL, "-");
	bad("epoch", NULL, "+1");
	bad("epoch", NULL, " 1");
	bad("epoch", NULL, "1 ");
	bad("epoch", NULL, "1.");
	bad("epoch", NULL, ".5");
	bad("epoch", NULL, "1e9");
	bad("epoch", NULL, "0x10");
	bad("epoch", NULL, "1.0000000001");
	bad("epoch-ms", NULL, "1.0000001");
	bad("epoch-us", NULL, "1.0001");
	bad("epoch-ns", NULL, "1.5");
	bad("epoch", NULL, "2019-09-26T00:00:00Z");
}

static void test_epoch_range(void **state)
{
	(void)state;
	/* both ends in every unit, and one past them */
	ok("epoch", NULL, "9223372036.854775807", TMAX);
	bad("epoch", NULL, "9223372036.854775808");
	bad("epoch", NULL, "9223372037");
	ok("epoch", NULL, "-9223372036.854775807", TMIN);
	bad("epoch", NULL, "-9223372036.854775808"); /* EV_TIME_NONE */
	ok("epoch-ms", NULL, "9223372036854.775807", TMAX);
	bad("epoch-ms", NULL, "9223372036855");
	ok("epoch-ms", NULL, "-9223372036854.775807", TMIN);
	bad("epoch-ms", NULL, "-9223372036855");
	ok("epoch-us", NULL, "9223372036854775.807", TMAX);
	bad("epoch-us", NULL, "9223372036854776");
	ok("epoch-ns", NULL, "9223372036854775807", TMAX);
	bad("epoch-ns", NULL, "9223372036854775808");
	ok("epoch-ns", NULL, "-9223372036854775807", TMIN);
	bad("epoch-ns", NULL, "-9223372036854775808");
	bad("epoch-ns", NULL, "99999999999999999999999");
}

static void test_double(void **state)
{
	struct ev_timein ti;
	ev_time_t t = 0;

	(void)state;
	ti = fmt("epoch", NULL);
	assert_int_equal(ev_timein_double(&ti, 1569456000.5, &t), 0);
	assert_true(t == T0 + S / 2);
	/* to the nearest microsecond: a double has about 16 digits */
	assert_int_equal(ev_timein_double(&ti, 1569456000.123456, &t), 0);
	assert_true(t == T0 + 123456000);
	assert_int_equal(ev_timein_double(&ti, -0.5, &t), 0);
	assert_true(t == -S / 2);
	assert_int_equal(ev_timein_double(&ti, 1e300, &t), EV_EDATA);
	assert_int_equal(ev_timein_double(&ti, -1e300, &t), EV_EDATA);
	assert_int_equal(ev_timein_double(&ti, 9.3e9, &t), EV_EDATA);
	assert_int_equal(ev_timein_double(&ti, 0.0 / 0.0, &t), EV_EDATA);
	ti = fmt("epoch-ms", NULL);
	assert_int_equal(ev_timein_double(&ti, 1569456000123.5, &t), 0);
	assert_true(t == T0 + 123500000);
	/* not for the formats of strings */
	ti = fmt("rfc3339", NULL);
	assert_int_equal(ev_timein_double(&ti, 1.0, &t), EV_EDATA);
	ti = fmt("%Y-%m-%d", NULL);
	assert_int_equal(ev_timein_double(&ti, 1.0, &t), EV_EDATA);
}

static void test_pattern(void **state)
{
	const char *p = "%Y-%m-%d %H:%M:%S";

	(void)state;
	ok(p, NULL, "2019-09-26 00:00:00", T0);
	ok(p, "UTC", "2019-09-26 10:00:01", T0 + 36001 * S);
	ok(p, "+02:00", "2019-09-26 10:00:01", T0 + 28801 * S);
	ok(p, "-05:30", "2019-09-25 18:30:00", T0);
	ok("%Y-%m-%d", NULL, "2019-09-26", T0);
	ok("%Y%m%d%H%M%S", NULL, "20190926000001", T0 + S);
	ok("%F %T", NULL, "2019-09-26 00:00:01", T0 + S);
	ok("%FT%T.%fZ", NULL, "2019-09-26T00:00:01.5Z", T0 + S + S / 2);
	ok("%FT%T.%f", NULL, "2019-09-26T00:00:01.000000001", T0 + S + 1);
	ok("%d/%b/%Y:%H:%M:%S %z", NULL, "26/Sep/2019:02:00:00 +0200", T0);
	ok("%d/%b/%Y:%H:%M:%S %z", NULL, "25/sep/2019:17:00:00 -07:00", T0);
	ok("%d/%b/%Y:%H:%M:%S %z", NULL, "26/SEP/2019:00:00:00 Z", T0);
	ok("%Y-%m-%d 100%%", NULL, "2019-09-26 100%", T0);
	ok(p, NULL, "2020-02-29 00:00:00", 1582934400LL * S);
	/* strictly: every digit, every literal, nothing after */
	bad(p, NULL, "2019-9-26 00:00:00");
	bad(p, NULL, "2019-09-26 0:00:00");
	bad(p, NULL, "2019-09-26T00:00:00");
	bad(p, NULL, "2019-09-26 00:00:00 ");
	bad(p, NULL, " 2019-09-26 00:00:00");
	bad(p, NULL, "2019-09-26 00:00");
	bad(p, NULL, "2019-09-26 00:00:00.5");
	bad(p, NULL, "");
	/* a real date and time */
	bad(p, NULL, "2019-02-29 00:00:00");
	bad(p, NULL, "2019-13-01 00:00:00");
	bad(p, NULL, "2019-00-01 00:00:00");
	bad(p, NULL, "2019-09-31 00:00:00");
	bad(p, NULL, "2019-09-26 24:00:00");
	bad(p, NULL, "2019-09-26 23:60:00");
	bad(p, NULL, "2019-09-26 23:59:60");
	bad("%d/%b/%Y", NULL, "26/Sept/2019");
	bad("%d/%b/%Y", NULL, "26/Spt/2019");
	bad("%Y-%m-%d %z", NULL, "2019-09-26 +2400");
	bad("%Y-%m-%d %z", NULL, "2019-09-26 +02");
	bad("%Y-%m-%d %z", NULL, "2019-09-26");
	bad("%FT%T.%f", NULL, "2019-09-26T00:00:01.");
	bad("%FT%T.%f", NULL, "2019-09-26T00:00:01.1234567891");
	bad("%F", NULL, "2019-09-2");
	bad("%T %F", NULL, "00:00:0");
}

static void test_pattern_range(void **state)
{
	const char *p = "%Y-%m-%d %H:%M:%S.%f";

	(void)state;
	ok(p, NULL, "2262-04-11 23:47:16.854775807", TMAX);
	bad(p, NULL, "2262-04-11 23:47:16.854775808");
	bad(p, NULL, "2262-04-12 00:00:00.0");
	ok(p, NULL, "1677-09-21 00:12:43.145224193", TMIN);
	bad(p, NULL, "1677-09-21 00:12:43.145224192"); /* EV_TIME_NONE */
	bad(p, NULL, "1677-09-20 23:59:59.9");
	/* an offset moves the ends */
	ok(p, "-01:00", "2262-04-11 22:47:16.854775807", TMAX);
	bad(p, "-01:00", "2262-04-11 23:47:16.0");
	ok(p, "+01:00", "1677-09-21 01:12:43.145224193", TMIN);
	bad(p, "+01:00", "1677-09-21 00:12:44.0");
	ok("%Y-%m-%d", NULL, "1677-09-22", -9223286400LL * S);
	bad("%Y-%m-%d", NULL, "1677-09-21");
	ok("%Y-%m-%d", NULL, "2262-04-11", 9223286400LL * S);
	bad("%Y-%m-%d", NULL, "0001-01-01");
	bad("%Y-%m-%d", NULL, "9999-12-31");
}

static void test_usage(void **state)
{
	(void)state;
	usage_err("iso", NULL,
		  "time_format 'iso' is not rfc3339, epoch, epoch-ms, "
		  "epoch-us, epoch-ns or a pattern such as '%Y-%m-%d "
		  "%H:%M:%S'");
	usage_err("%Y-%m-%d %q", NULL,
		  "time_format '%Y-%m-%d %q': unknown directive '%q' (known: "
		  "%Y %m %b %d %H %M %S %f %z %F %T %%)");
	usage_err("%Y-%m-%d %", NULL,
		  "time_format '%Y-%m-%d %': a lone '%' at the end");
	usage_err("%H:%M:%S", NULL,
		  "time_format '%H:%M:%S': a pattern needs a year (%Y), a "
		  "month (%m or %b) and a day (%d)");
	usage_err("%Y-%m-%d %Y", NULL,
		  "time_format '%Y-%m-%d %Y': %Y more than once");
	usage_err("%F %d", NULL, "time_format '%F %d': %d more than once");
	usage_err("%Y-%m-%b-%d", NULL,
		  "time_format '%Y-%m-%b-%d': both %m and %b");
	usage_err("%F.%f", NULL, "time_format '%F.%f': %f needs %S");
	usage_err("epoch", "UTC",
		  "time_zone: only for a pattern, and 'epoch' is not one");
	usage_err(NULL, "UTC",
		  "time_zone: only for a pattern, and 'rfc3339' is not one");
	usage_err("%F %T %z", "UTC",
		  "time_zone: the pattern '%F %T %z' reads the offset (%z)");
	usage_err("%F", "CET",
		  "time_zone 'CET' is not UTC or +HH:MM or -HH:MM");
	usage_err("%F", "+2:00",
		  "time_zone '+2:00' is not UTC or +HH:MM or -HH:MM");
	usage_err("%F", "+24:00",
		  "time_zone '+24:00' is not UTC or +HH:MM or -HH:MM");
	usage_err("%F", "+0200",
		  "time_zone '+0200' is not UTC or +HH:MM or -HH:MM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_epoch_range),
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_pattern_range),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests_name("timein", tests, NULL, NULL);
}
