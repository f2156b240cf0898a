/*
 * timein.c - struct ev_timein: how evpub --wrap reads the time of a line
 * (--time-format, --time-zone): RFC 3339, seconds to nanoseconds since
 * the epoch, or a strftime-style pattern read strictly.  evpub(1)
 * documents the formats.  Every result is range-checked: a time is what
 * int64 nanoseconds since the epoch hold, less EV_TIME_NONE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

static const struct {
	const char *name;
	enum ev_timein_kind kind;
} kinds[] = {
	{"rfc3339", EV_TIMEIN_RFC3339},	  {"epoch", EV_TIMEIN_EPOCH_S},
	{"epoch-ms", EV_TIMEIN_EPOCH_MS}, {"epoch-us", EV_TIMEIN_EPOCH_US},
	{"epoch-ns", EV_TIMEIN_EPOCH_NS},
};

/* nanoseconds per unit of an epoch kind */
static int64_t unit_ns(enum ev_timein_kind k)
{
	switch (k) {
	case EV_TIMEIN_EPOCH_S:
		return 1000000000;
	case EV_TIMEIN_EPOCH_MS:
		return 1000000;
	case EV_TIMEIN_EPOCH_US:
		return 1000;
	default:
		return 1;
	}
}

/* "UTC" or ±HH:MM into seconds east of UTC; 0 or EV_EUSAGE */
static int parse_zone(const char *z, int64_t *off)
{
	int h, m;

	if (strcmp(z, "UTC") == 0) {
		*off = 0;
		return 0;
	}
	if (strlen(z) != 6 || (z[0] != '+' && z[0] != '-') || z[3] != ':')
		return EV_EUSAGE;
	if (z[1] < '0' || z[1] > '9' || z[2] < '0' || z[2] > '9' ||
	    z[4] < '0' || z[4] > '9' || z[5] < '0' || z[5] > '9')
		return EV_EUSAGE;
	h = (z[1] - '0') * 10 + (z[2] - '0');
	m = (z[4] - '0') * 10 + (z[5] - '0');
	if (h > 23 || m > 59)
		return EV_EUSAGE;
	*off = (int64_t)(h * 3600 + m * 60) * (z[0] == '-' ? -1 : 1);
	return 0;
}

/* Check a pattern: known directives, each once, and a whole date. */
static int check_pattern(struct ev_timein *ti, const char *p,
			 struct ev_error *err)
{
	const char *known = "YmbdHMSfzTF%";
	char seen[128] = {0};
	const char *s;

	for (s = p; *s != '\0'; s++) {
		if (*s != '%')
			continue;
		s++;
		if (*s == '\0')
			return ev_seterr(err, EV_EUSAGE,
					 "time_format '%s': a lone '%%' at the "
					 "end",
					 p);
		if (strchr(known, *s) == NULL)
			return ev_seterr(err, EV_EUSAGE,
					 "time_format '%s': unknown directive "
					 "'%%%c' (known: %%Y %%m %%b %%d %%H "
					 "%%M %%S %%f %%z %%F %%T %%%%)",
					 p, *s);
		if (*s == '%')
			continue;
		if (*s == 'F') {
			seen['Y']++, seen['m']++, seen['d']++;
		} else if (*s == 'T') {
			seen['H']++, seen['M']++, seen['S']++;
		} else {
			seen[(unsigned char)*s]++;
		}
	}
	if (seen['m'] && seen['b'])
		return ev_seterr(err, EV_EUSAGE,
				 "time_format '%s': both %%m and %%b", p);
	for (s = "YmbdHMSfz"; *s != '\0'; s++)
		if (seen[(unsigned char)*s] > 1)
			return ev_seterr(err, EV_EUSAGE,
					 "time_format '%s': %%%c more than "
					 "once",
					 p, *s);
	if (!seen['Y'] || !(seen['m'] || seen['b']) || !seen['d'])
		return ev_seterr(err, EV_EUSAGE,
				 "time_format '%s': a pattern needs a year "
				 "(%%Y), a month (%%m or %%b) and a day (%%d)",
				 p);
	if (seen['f'] && !seen['S'])
		return ev_seterr(err, EV_EUSAGE,
				 "time_format '%s': %%f needs %%S", p);
	ti->has_offset = seen['z'] > 0;
	return 0;
}

const char *ev_timein_name(const struct ev_timein *ti)
{
	size_t i;

	if (ti->kind == EV_TIMEIN_PATTERN)
		return ti->pattern;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == ti->kind)
			return kinds[i].name;
	return "rfc3339";
}

int ev_timein_init(struct ev_timein *ti, const char *format, const char *zone,
		   struct ev_error *err)
{
	size_t i;

	memset(ti, 0, sizeof(*ti));
	ti->kind = EV_TIMEIN_RFC3339;
	if (format != NULL && strchr(format, '%') != NULL) {
		ti->kind = EV_TIMEIN_PATTERN;
		ti->pattern = format;
		if (check_pattern(ti, format, err) != 0)
			return EV_EUSAGE;
	} else if (format != NULL) {
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strcmp(format, kinds[i].name) == 0)
				break;
		if (i == sizeof(kinds) / sizeof(kinds[0]))
			return ev_seterr(err, EV_EUSAGE,
					 "time_format '%s' is not rfc3339, "
					 "epoch, epoch-ms, epoch-us, epoch-ns "
					 "or a pattern such as '%%Y-%%m-%%d "
					 "%%H:%%M:%%S'",
					 format);
		ti->kind = kinds[i].kind;
	}
	if (zone == NULL)
		return 0;
	if (ti->kind != EV_TIMEIN_PATTERN)
		return ev_seterr(err, EV_EUSAGE,
				 "time_zone: only for a pattern, and '%s' is "
				 "not one",
				 ev_timein_name(ti));
	if (ti->has_offset)
		return ev_seterr(err, EV_EUSAGE,
				 "time_zone: the pattern '%s' reads the "
				 "offset (%%z)",
				 ti->pattern);
	if (parse_zone(zone, &ti->zone) != 0)
		return ev_seterr(err, EV_EUSAGE,
				 "time_zone '%s' is not UTC or +HH:MM or "
				 "-HH:MM",
				 zone);
	return 0;
}

/* ip units and frac (a fraction of a unit, in nanoseconds of ...) into
 * *out, range-checked */
static int epoch_time(int neg, uint64_t ip, uint64_t frac_ns, int64_t unit,
		      ev_time_t *out)
{
	uint64_t mag;

	/* the magnitude: at most 2^63 - 1, both ways (INT64_MIN is
	 * EV_TIME_NONE) */
	if (__builtin_mul_overflow(ip, (uint64_t)unit, &mag) ||
	    __builtin_add_overflow(mag, frac_ns, &mag) || mag > INT64_MAX)
		return EV_EDATA;
	*out = neg ? -(int64_t)mag : (int64_t)mag;
	return 0;
}

/* [-]DIGITS[.DIGITS], no more fraction digits than nanoseconds */
static int parse_epoch(const struct ev_timein *ti, const char *s, size_t n,
		       ev_time_t *out)
{
	int64_t unit = unit_ns(ti->kind);
	uint64_t ip = 0, frac = 0, scale = (uint64_t)unit;
	size_t i = 0, digits = 0;
	int neg = 0;

	if (i < n && s[i] == '-') {
		neg = 1;
		i++;
	}
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
		if (__builtin_mul_overflow(ip, 10, &ip) ||
		    __builtin_add_overflow(ip, (uint64_t)(s[i] - '0'), &ip))
			return EV_EDATA;
	if (digits == 0)
		return EV_EDATA;
	if (i < n && s[i] == '.') {
		i++;
		digits = 0;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
			if (scale < 10)
				return EV_EDATA; /* finer than nanoseconds */
			scale /= 10;
			frac += (uint64_t)(s[i] - '0') * scale;
		}
		if (digits == 0)
			return EV_EDATA;
	}
	if (i != n)
		return EV_EDATA;
	return epoch_time(neg, ip, frac, unit, out);
}

/* exactly n digits at *p, advanced */
static int digits(const char **p, const char *end, int n, int *v)
{
	int i;

	*v = 0;
	if (end - *p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

static int month_name(const char **p, const char *end, int *mo)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char low[3];
	int i;

	if (end - *p < 3)
		return -1;
	for (i = 0; i < 3; i++) {
		low[i] = (*p)[i];
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	}
	for (i = 0; i < 12; i++)
		if (memcmp(names + 3 * i, low, 3) == 0) {
			*mo = i + 1;
			*p += 3;
			return 0;
		}
	return -1;
}

/* Z, ±HH:MM or ±HHMM into seconds east of UTC */
static int offset(const char **p, const char *end, int64_t *off)
{
	int h, m, sign;

	if (*p < end && (**p == 'Z' || **p == 'z')) {
		(*p)++;
		*off = 0;
		return 0;
	}
	if (*p >= end || (**p != '+' && **p != '-'))
		return -1;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (digits(p, end, 2, &h) != 0)
		return -1;
	if (*p < end && **p == ':')
		(*p)++;
	if (digits(p, end, 2, &m) != 0 || h > 23 || m > 59)
		return -1;
	*off = sign * (int64_t)(h * 3600 + m * 60);
	return 0;
}

/* The fields of a pattern, read strictly: each number with its exact
 * count of digits, each other character as it is, and nothing after. */
struct fields {
	int y, mo, d, h, mi, s;
	long ns;
	int64_t off;
};

static int match_pattern(const char *pat, const char *s, size_t n,
			 struct fields *f)
{
	const char *p = s, *end = s + n;
	int k;

	for (; *pat != '\0'; pat++) {
		if (*pat != '%') {
			if (p >= end || *p != *pat)
				return -1;
			p++;
			continue;
		}
		switch (*++pat) {
		case 'Y':
			if (digits(&p, end, 4, &f->y) != 0)
				return -1;
			break;
		case 'm':
			if (digits(&p, end, 2, &f->mo) != 0)
				return -1;
			break;
		case 'b':
			if (month_name(&p, end, &f->mo) != 0)
				return -1;
			break;
		case 'd':
			if (digits(&p, end, 2, &f->d) != 0)
				return -1;
			break;
		case 'H':
			if (digits(&p, end, 2, &f->h) != 0)
				return -1;
			break;
		case 'M':
			if (digits(&p, end, 2, &f->mi) != 0)
				return -1;
			break;
		case 'S':
			if (digits(&p, end, 2, &f->s) != 0)
				return -1;
			break;
		case 'F':
			if (end - p < 10 ||
			    match_pattern("%Y-%m-%d", p, 10, f) != 0)
				return -1;
			p += 10;
			break;
		case 'T':
			if (end - p < 8 ||
			    match_pattern("%H:%M:%S", p, 8, f) != 0)
				return -1;
			p += 8;
			break;
		case 'f':
			for (k = 0; p < end && *p >= '0' && *p <= '9';
			     p++, k++) {
				if (k == 9)
					return -1;
				f->ns = f->ns * 10 + (*p - '0');
			}
			if (k == 0)
				return -1;
			for (; k < 9; k++)
				f->ns *= 10;
			break;
		case 'z':
			if (offset(&p, end, &f->off) != 0)
				return -1;
			break;
		case '%':
			if (p >= end || *p != '%')
				return -1;
			p++;
			break;
		default:
			return -1;
		}
	}
	return p == end ? 0 : -1;
}

int ev_timein_parse(const struct ev_timein *ti, const char *s, size_t n,
		    ev_time_t *out)
{
	struct fields f;
	char rfc[48];
	int64_t off, sec, ns;
	ev_time_t noon;
	int len;

	switch (ti->kind) {
	case EV_TIMEIN_RFC3339:
		return ev_time_parse(s, n, out) == 0 ? 0 : EV_EDATA;
	case EV_TIMEIN_PATTERN:
		break;
	default:
		return parse_epoch(ti, s, n, out);
	}
	memset(&f, 0, sizeof(f));
	if (match_pattern(ti->pattern, s, n, &f) != 0)
		return EV_EDATA;
	if (f.h > 23 || f.mi > 59 || f.s > 59)
		return EV_EDATA;
	/* the date at noon UTC, which RFC 3339 checks (a day of the month
	 * that exists, and a noon in range even on the first and last
	 * days), then the rest, range-checked here */
	len = snprintf(rfc, sizeof(rfc), "%04d-%02d-%02dT12:00:00Z", f.y, f.mo,
		       f.d);
	if (len != 20 || ev_time_parse(rfc, 20, &noon) != 0)
		return EV_EDATA;
	off = ti->has_offset ? f.off : ti->zone;
	sec = (int64_t)(f.h - 12) * 3600 + f.mi * 60 + f.s - off;
	if (__builtin_mul_overflow(sec, (int64_t)1000000000, &ns) ||
	    __builtin_add_overflow(ns, (int64_t)f.ns, &ns) ||
	    __builtin_add_overflow(noon, ns, &ns) || ns == EV_TIME_NONE)
		return EV_EDATA;
	*out = ns;
	return 0;
}

int ev_timein_double(const struct ev_timein *ti, double v, ev_time_t *out)
{
	double us;
	int64_t r;

	if (ti->kind == EV_TIMEIN_RFC3339 || ti->kind == EV_TIMEIN_PATTERN)
		return EV_EDATA;
	/* a double holds about 16 digits: to the nearest microsecond; the
	 * comparisons are false for NaN */
	us = v * (double)unit_ns(ti->kind) / 1000.0;
	if (!(us > -9223372036854775.0 && us < 9223372036854775.0))
		return EV_EDATA;
	r = (int64_t)(us < 0 ? us - 0.5 : us + 0.5);
	*out = r * 1000;
	return 0;
}
