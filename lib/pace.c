/*
 * pace.c - struct ev_pace: when each event of a paced delivery is due
 * (evreplay(1) PACE).  A steady rate, or the spacing of the events'
 * own times divided by a speed, with long silences capped.
 *
 * The schedule is kept from its start, never from the event before:
 * the k-th event is due at start + k/rate (or at start plus the sum of
 * the spaced gaps before it), so a late delivery, a slow sink or a
 * coarse clock never makes the whole run drift; events that fall
 * behind are due at once until the schedule is caught up.  The consumer
 * waits on its own clock (struct ev_clock), so that tests can use a
 * fake one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

struct ev_pace {
	struct ev_pace_opts o;
	uint64_t k;    /* events scheduled so far */
	int64_t start; /* clock ms of the first */
	/* speed: the gaps so far, those under the cap summed as event time
	 * (exact), the capped ones as the cap */
	long double raw_ns;
	int64_t capped_ms;
	ev_time_t last_t; /* speed: the time of the last scheduled */
	uint64_t last_off;
};

/* A decimal number, all of s up to end: 0, or -1. */
static int parse_num(const char *s, const char *end, double *out)
{
	char buf[64], *e;
	size_t n = (size_t)(end - s);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* digits, a sign and one point: no hex, exponents, inf or nan */
	if (strspn(buf, "+-0123456789.") != n)
		return -1;
	*out = strtod(buf, &e);
	if (*e != '\0' || e == buf || !isfinite(*out))
		return -1;
	return 0;
}

int ev_pace_rate_parse(const char *s, double *per_sec, struct ev_error *err)
{
	const char *slash = strchr(s, '/');
	const char *end = slash ? slash : s + strlen(s);
	double v, unit = 1;

	if (slash != NULL) {
		if (strcmp(slash, "/s") == 0)
			unit = 1;
		else if (strcmp(slash, "/m") == 0)
			unit = 60;
		else
			end = s; /* not a unit we know */
	}
	if (parse_num(s, end, &v) != 0)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not a rate such as 100/s or 30/m", s);
	if (v <= 0)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not above 0: a rate is a number of "
				 "events per second (/s) or minute (/m)",
				 s);
	*per_sec = v / unit;
	return 0;
}

int ev_pace_speed_parse(const char *s, double *speed, struct ev_error *err)
{
	size_t n = strlen(s);
	double v;

	if (n > 0 && (s[n - 1] == 'x' || s[n - 1] == 'X'))
		n--;
	if (parse_num(s, s + n, &v) != 0)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not a speed such as 10 or 0.5", s);
	if (v <= 0)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not above 0: a speed divides the "
				 "time between events",
				 s);
	*speed = v;
	return 0;
}

int ev_pace_new(struct ev_pace **out, const struct ev_pace_opts *o,
		struct ev_error *err)
{
	struct ev_pace *p;

	*out = NULL;
	if ((o->mode == EV_PACE_RATE && !(o->rate > 0)) ||
	    (o->mode == EV_PACE_SPEED && !(o->speed > 0)) ||
	    o->max_gap_ms < 0 ||
	    (o->mode != EV_PACE_RATE && o->mode != EV_PACE_SPEED))
		return ev_seterr(err, EV_EUSAGE, "pace options do not fit");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	p->o = *o;
	p->last_t = EV_TIME_NONE;
	*out = p;
	return 0;
}

void ev_pace_free(struct ev_pace *p)
{
	free(p);
}

int ev_pace_needs_time(const struct ev_pace *p)
{
	return p != NULL && p->o.mode == EV_PACE_SPEED;
}

int ev_pace_schedule(struct ev_pace *p, uint64_t offset, ev_time_t t,
		     int64_t now_ms, int64_t *due_ms, struct ev_error *err)
{
	char a[40], b[40];
	uint64_t gap;

	if (p->k == 0)
		p->start = now_ms;
	if (p->o.mode == EV_PACE_RATE) {
		*due_ms =
			p->start + (int64_t)((double)p->k * 1000.0 / p->o.rate);
		p->k++;
		return 0;
	}
	if (p->k > 0 && t < p->last_t) {
		ev_time_format(t, a);
		ev_time_format(p->last_t, b);
		ev_seterr(err, EV_EDATA,
			  "--speed: the event at offset %llu has time %s, "
			  "before the time of the event at offset %llu "
			  "(%s); spacing by time needs times that do not "
			  "go backwards",
			  (unsigned long long)offset, a,
			  (unsigned long long)p->last_off, b);
		ev_sethint(err, "replay these events with --rate instead");
		return EV_EDATA;
	}
	if (p->k > 0) {
		/* the difference of two times can pass INT64_MAX */
		gap = (uint64_t)t - (uint64_t)p->last_t;
		if (p->o.max_gap_ms > 0 &&
		    (long double)gap / 1e6L / p->o.speed >
			    (long double)p->o.max_gap_ms)
			p->capped_ms += p->o.max_gap_ms;
		else
			p->raw_ns += (long double)gap;
	}
	p->last_t = t;
	p->last_off = offset;
	/* (the epsilon: 999.99999... from the division is 1000) */
	*due_ms = p->start + p->capped_ms +
		  (int64_t)(p->raw_ns / 1e6L / p->o.speed + 1e-6L);
	p->k++;
	return 0;
}
