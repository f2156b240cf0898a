/*
 * timefmt.c - RFC 3339 times, user time expressions and durations.
 * Times are int64 nanoseconds since the epoch (ev_time_t), less INT64_MIN
 * (EV_TIME_NONE): EV_TIME_RANGE, which evlog(5) documents.  Every
 * computation of a time is checked against that range, never wrapped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

/* days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

static int num(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int mdays(int64_t y, int m)
{
	static const int md[] = {31, 28, 31, 30, 31, 30,
				 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* Why a time was refused, inside this file: not a time, or out of range. */
enum { T_BAD = -1, T_RANGE = -2 };

int ev_time_from_sec(int64_t sec, long ns, ev_time_t *out)
{
	int64_t t;

	/* for negative seconds, (sec + 1) * 1e9 - (1e9 - ns) stays in range
	 * where sec * 1e9 alone would not (1677-09-21T00:12:43.145224193Z) */
	if (sec < 0) {
		sec++;
		ns -= 1000000000;
	}
	if (__builtin_mul_overflow(sec, 1000000000, &t) ||
	    __builtin_add_overflow(t, ns, &t) || t == EV_TIME_NONE)
		return EV_EDATA;
	*out = t;
	return 0;
}

static int make_time(int64_t y, int mo, int d, int h, int mi, int s, long ns,
		     int64_t off, ev_time_t *out)
{
	int64_t sec;

	if (mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo) || h > 23 ||
	    mi > 59 || s > 59)
		return T_BAD;
	/* four-digit years: no overflow before the conversion to ns */
	sec = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
	      mi * 60 + s - off;
	return ev_time_from_sec(sec, ns, out) == 0 ? 0 : T_RANGE;
}

/* ev_time_parse(), returning T_BAD or T_RANGE */
static int time_parse(const char *s, size_t n, ev_time_t *out)
{
	int y, mo, d, h, mi, sec, oh, om, k;
	long ns = 0;
	int64_t off = 0;
	size_t i;

	/* YYYY-MM-DDTHH:MM:SS */
	if (n < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
	    s[16] != ':')
		return T_BAD;
	y = num(s, 4);
	mo = num(s + 5, 2);
	d = num(s + 8, 2);
	h = num(s + 11, 2);
	mi = num(s + 14, 2);
	sec = num(s + 17, 2);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0)
		return T_BAD;
	i = 19;
	if (s[i] == '.') {
		i++;
		for (k = 0; i < n && isdigit((unsigned char)s[i]); i++, k++) {
			if (k >= 9)
				return T_BAD; /* more than nanoseconds */
			ns = ns * 10 + (s[i] - '0');
		}
		if (k == 0)
			return T_BAD;
		for (; k < 9; k++)
			ns *= 10;
	}
	if (i >= n)
		return T_BAD;
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		off = 0;
	} else if ((s[i] == '+' || s[i] == '-') && i + 6 == n &&
		   s[i + 3] == ':') {
		oh = num(s + i + 1, 2);
		om = num(s + i + 4, 2);
		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return T_BAD;
		off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
	} else {
		return T_BAD;
	}
	return make_time(y, mo, d, h, mi, sec, ns, off, out);
}

int ev_time_parse(const char *s, size_t n, ev_time_t *out)
{
	return time_parse(s, n, out) == 0 ? 0 : EV_EDATA;
}

/* v (< 100) as two digits at o */
static void put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

size_t ev_time_format(ev_time_t t, char out[40])
{
	/* one-entry cache: consecutive events mostly share their second */
	static __thread int64_t cached_sec = INT64_MIN;
	static __thread char cached[40];
	static __thread int cached_len;
	int64_t sec = t / 1000000000, ns = t % 1000000000, days, rem, y;
	unsigned m, d;
	char *o = out;
	int frac, div, i;

	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	if (sec != cached_sec) {
		days = sec / 86400;
		rem = sec % 86400;
		if (rem < 0) {
			rem += 86400;
			days--;
		}
		civil_from_days(days, &y, &m, &d);
		if (y >= 0 && y <= 9999) {
			/* YYYY-MM-DDTHH:MM:SS, as the snprintf() below */
			put2(cached, (unsigned)(y / 100));
			put2(cached + 2, (unsigned)(y % 100));
			cached[4] = '-';
			put2(cached + 5, m);
			cached[7] = '-';
			put2(cached + 8, d);
			cached[10] = 'T';
			put2(cached + 11, (unsigned)(rem / 3600));
			cached[13] = ':';
			put2(cached + 14, (unsigned)(rem / 60 % 60));
			cached[16] = ':';
			put2(cached + 17, (unsigned)(rem % 60));
			cached_len = 19;
		} else {
			cached_len =
				snprintf(cached, sizeof(cached),
					 "%04lld-%02u-%02uT%02d:%02d:%02d",
					 (long long)y, m, d, (int)(rem / 3600),
					 (int)(rem / 60 % 60), (int)(rem % 60));
		}
		cached_sec = sec;
	}
	i = cached_len;
	memcpy(o, cached, (size_t)i);
	o += i;
	{
		/* at least milliseconds, as JavaScript's toISOString() */
		if (ns % 1000000 == 0)
			frac = 3, div = 1000000;
		else if (ns % 1000 == 0)
			frac = 6, div = 1000;
		else
			frac = 9, div = 1;
		int64_t v = ns / div;
		*o++ = '.';
		for (i = frac - 1; i >= 0; i--) {
			o[i] = (char)('0' + v % 10);
			v /= 10;
		}
		o += frac;
	}
	*o++ = 'Z';
	*o = '\0';
	return (size_t)(o - out);
}

/* 250ms, 5s, 2m, 1h, 3d; sets *ns.  Returns 0, T_BAD, or T_RANGE for a
 * span that int64 nanoseconds cannot hold. */
static int parse_span(const char *s, int64_t *ns, int bare_unit_ms)
{
	char *end;
	long long v;
	int64_t mul;

	if (!isdigit((unsigned char)*s))
		return T_BAD;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (strcmp(end, "ms") == 0)
		mul = 1000000;
	else if (strcmp(end, "s") == 0)
		mul = 1000000000;
	else if (strcmp(end, "m") == 0)
		mul = 60LL * 1000000000;
	else if (strcmp(end, "h") == 0)
		mul = 3600LL * 1000000000;
	else if (strcmp(end, "d") == 0 && !bare_unit_ms)
		mul = 86400LL * 1000000000; /* days: relative times only */
	else if (*end == '\0' && bare_unit_ms)
		mul = 1000000;
	else
		return T_BAD;
	if (errno == ERANGE || __builtin_mul_overflow(v, mul, ns))
		return T_RANGE;
	return 0;
}

int ev_duration_parse(const char *s, int64_t *ms)
{
	int64_t ns;

	if (parse_span(s, &ns, 1) != 0)
		return EV_EUSAGE;
	*ms = ns / 1000000;
	return 0;
}

/* ev_time_parse_user(), returning T_BAD or T_RANGE */
static int time_parse_user(const char *s, ev_time_t now, ev_time_t *out)
{
	int64_t ns;
	int y, m, d, r;
	size_t n = strlen(s);

	if (strcmp(s, "now") == 0) {
		*out = now;
		return 0;
	}
	if (s[0] == '-' || s[0] == '+') {
		if ((r = parse_span(s + 1, &ns, 0)) != 0)
			return r;
		if (s[0] == '-' ? __builtin_sub_overflow(now, ns, out)
				: __builtin_add_overflow(now, ns, out))
			return T_RANGE;
		return *out == EV_TIME_NONE ? T_RANGE : 0;
	}
	if (n == 10 && s[4] == '-' && s[7] == '-') {
		y = num(s, 4);
		m = num(s + 5, 2);
		d = num(s + 8, 2);
		if (y < 0 || m < 0 || d < 0)
			return T_BAD;
		return make_time(y, m, d, 0, 0, 0, 0, 0, out);
	}
	return time_parse(s, n, out);
}

int ev_time_parse_user(const char *s, ev_time_t now, ev_time_t *out)
{
	switch (time_parse_user(s, now, out)) {
	case 0:
		return 0;
	case T_RANGE:
		return EV_EDATA;
	default:
		return EV_EUSAGE;
	}
}

void ev_age_format(ev_time_t then, ev_time_t now, char *out, size_t n)
{
	int64_t s;

	/* times at the ends of the range are further apart than int64 */
	if (__builtin_sub_overflow(now, then, &s))
		s = then > now ? 0 : INT64_MAX;
	s /= 1000000000;
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, n, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(out, n, "%lldm", (long long)(s / 60));
	else if (s < 172800)
		snprintf(out, n, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, n, "%lldd", (long long)(s / 86400));
}
