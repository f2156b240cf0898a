/*
 * letter.c - dead letters as evdlq shows them: which letters a set of
 * selectors picks, a letter as one JSON object, and the counts of
 * evdlq stats.  Reading and writing letters is dlq.c's.
 */
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

int ev_letter_select_error(struct ev_letter_select *s, const char *ere)
{
	regex_t *re = malloc(sizeof(*re));

	if (re == NULL)
		return EV_ERR;
	if (regcomp(re, ere, REG_EXTENDED | REG_NOSUB) != 0) {
		free(re);
		return EV_EUSAGE;
	}
	ev_letter_select_free(s);
	s->error = re;
	return 0;
}

void ev_letter_select_free(struct ev_letter_select *s)
{
	if (s->error != NULL) {
		regfree(s->error);
		free(s->error);
		s->error = NULL;
	}
}

int ev_letter_selected(const struct ev_letter_select *s,
		       const struct ev_letter *l, ev_time_t now)
{
	if (l->malformed != NULL)
		return s->malformed && l->state == EV_LETTER_OPEN &&
		       s->type == NULL && s->stream == NULL &&
		       s->group == NULL && s->error == NULL &&
		       s->older_ms <= 0 &&
		       (!s->have_offset ||
			(l->offset >= s->from && l->offset <= s->to));
	if (!s->all && l->state != EV_LETTER_OPEN)
		return 0;
	if (s->have_offset && (l->offset < s->from || l->offset > s->to))
		return 0;
	if (s->type && fnmatch(s->type, l->orig_type, 0) != 0)
		return 0;
	if (s->stream && (l->orig_stream == NULL ||
			  fnmatch(s->stream, l->orig_stream, 0) != 0))
		return 0;
	if (s->group && strcmp(s->group, l->group) != 0)
		return 0;
	if (s->error != NULL &&
	    !(l->error && regexec(s->error, l->error, 0, NULL, 0) == 0) &&
	    !(l->stderr_tail &&
	      regexec(s->error, l->stderr_tail, 0, NULL, 0) == 0))
		return 0;
	if (s->older_ms > 0 && now - l->time < s->older_ms * 1000000)
		return 0;
	return 1;
}

const char *ev_letter_state_name(int state)
{
	return state == EV_LETTER_OPEN	     ? "open"
	       : state == EV_LETTER_RESOLVED ? "resolved"
					     : "discarded";
}

static int jstr(struct ev_buf *b, const char *key, const char *s)
{
	if (ev_buf_puts(b, key) != 0)
		return EV_ERR;
	if (s == NULL || ev_json_string(b, s, strlen(s)) != 0)
		return ev_buf_puts(b, "null");
	return 0;
}

static int jtime(struct ev_buf *b, const char *key, ev_time_t t)
{
	char buf[40];

	if (ev_buf_puts(b, key) != 0)
		return EV_ERR;
	if (t == EV_TIME_NONE)
		return ev_buf_puts(b, "null");
	ev_time_format(t, buf);
	return ev_buf_putc(b, '"') || ev_buf_puts(b, buf) ||
	       ev_buf_putc(b, '"');
}

int ev_letter_to_json(struct ev_buf *out, const struct ev_letter *l,
		      ev_time_t now)
{
	char num[160];
	int r = 0;

	snprintf(num, sizeof(num), "{\"offset\":%llu",
		 (unsigned long long)l->offset);
	r |= ev_buf_puts(out, num);
	r |= jstr(out, ",\"id\":", l->id);
	r |= jstr(out, ",\"state\":", ev_letter_state_name(l->state));
	r |= jstr(out, ",\"group\":", l->group);
	r |= jstr(out, ",\"source\":{\"log\":", l->source_log);
	r |= jstr(out, ",\"logId\":", l->source_log_id);
	if (l->has_source_partition) { /* a Kafka log's */
		snprintf(num, sizeof(num), ",\"partition\":%d",
			 (int)l->source_partition);
		r |= ev_buf_puts(out, num);
	}
	if (l->no_source_offset) /* a schema letter's event never was */
		snprintf(num, sizeof(num), ",\"offset\":null}");
	else
		snprintf(num, sizeof(num), ",\"offset\":%llu}",
			 (unsigned long long)l->source_offset);
	r |= ev_buf_puts(out, num);
	r |= jstr(out, ",\"type\":", l->orig_type);
	r |= jstr(out, ",\"stream\":", l->orig_stream);
	snprintf(num, sizeof(num), ",\"attempts\":%llu,\"parked\":%s",
		 (unsigned long long)l->attempts, l->parked ? "true" : "false");
	r |= ev_buf_puts(out, num);
	r |= jtime(out, ",\"time\":", l->time);
	snprintf(num, sizeof(num), ",\"ageSeconds\":%lld",
		 (long long)((now - l->time) / 1000000000));
	r |= ev_buf_puts(out, num);
	r |= jstr(out, ",\"error\":", l->error);
	r |= jtime(out, ",\"resolved\":", l->state_time);
	r |= jstr(out, ",\"reason\":", l->reason);
	r |= jstr(out, ",\"stage\":", l->stage ? l->stage : "handler");
	r |= ev_buf_putc(out, '}');
	return r ? EV_ERR : 0;
}

/* ------------------------------------------------------------ stats */

const struct ev_dlq_age ev_dlq_ages[EV_DLQ_AGES] = {
	{"under 1 hour", 3600},
	{"1 hour to 1 day", 86400},
	{"1 to 7 days", 7 * 86400},
	{"over 7 days", INT64_MAX},
};

static int tally_add(struct ev_tally **v, size_t *n, const char *key, size_t kn)
{
	struct ev_tally *nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strlen((*v)[i].key) == kn &&
		    memcmp((*v)[i].key, key, kn) == 0) {
			(*v)[i].n++;
			return 0;
		}
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return EV_ERR;
	*v = nv;
	if ((nv[*n].key = strndup(key, kn)) == NULL)
		return EV_ERR;
	nv[(*n)++].n = 1;
	return 0;
}

/* most first, then by name */
static int tally_cmp(const void *a, const void *b)
{
	const struct ev_tally *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

int ev_dlq_stats(const struct ev_letter *v, size_t n,
		 const struct ev_letter_select *s, ev_time_t now,
		 struct ev_dlq_stats *st)
{
	struct ev_letter_select all = *s;
	const char *e, *stage;
	size_t i, a;

	memset(st, 0, sizeof(*st));
	all.all = 1;
	for (i = 0; i < n; i++) {
		const struct ev_letter *l = &v[i];
		if (!ev_letter_selected(&all, l, now))
			continue;
		if (l->state == EV_LETTER_RESOLVED) {
			st->resolved++;
			continue;
		}
		if (l->state == EV_LETTER_DISCARDED) {
			st->discarded++;
			continue;
		}
		st->open++;
		e = l->error ? l->error : "";
		/* the first line of the error, as ls shows it */
		stage = l->stage != NULL ? l->stage : "handler";
		if (tally_add(&st->by_type, &st->ntypes, l->orig_type,
			      strlen(l->orig_type)) != 0 ||
		    tally_add(&st->by_stage, &st->nstages, stage,
			      strlen(stage)) != 0 ||
		    tally_add(&st->by_error, &st->nerrors, e,
			      strcspn(e, "\n") < 119 ? strcspn(e, "\n")
						     : 119) != 0)
			return EV_ERR;
		for (a = 0;
		     a < EV_DLQ_AGES - 1 &&
		     (now - l->time) / 1000000000 >= ev_dlq_ages[a].max_s;
		     a++)
			;
		st->by_age[a]++;
		if (st->oldest == NULL || l->time < st->oldest->time)
			st->oldest = l;
	}
	qsort(st->by_type, st->ntypes, sizeof(*st->by_type), tally_cmp);
	qsort(st->by_stage, st->nstages, sizeof(*st->by_stage), tally_cmp);
	qsort(st->by_error, st->nerrors, sizeof(*st->by_error), tally_cmp);
	return 0;
}

void ev_dlq_stats_free(struct ev_dlq_stats *st)
{
	size_t i;

	for (i = 0; i < st->ntypes; i++)
		free(st->by_type[i].key);
	for (i = 0; i < st->nerrors; i++)
		free(st->by_error[i].key);
	for (i = 0; i < st->nstages; i++)
		free(st->by_stage[i].key);
	free(st->by_stage);
	free(st->by_type);
	free(st->by_error);
	memset(st, 0, sizeof(*st));
}

static int tally_text(struct ev_buf *out, const char *title,
		      const struct ev_tally *v, size_t n)
{
	int r = ev_buf_printf(out, "%s:\n", title);
	size_t i;
	char b[32];

	for (i = 0; i < n && r == 0; i++)
		r = ev_buf_printf(out, "  %10s  %s\n", ev_commas(v[i].n, b),
				  v[i].key);
	if (n == 0 && r == 0)
		r = ev_buf_puts(out, "  (none)\n");
	return r;
}

int ev_dlq_stats_text(struct ev_buf *out, const struct ev_dlq_stats *st,
		      ev_time_t now)
{
	const struct ev_letter *o = st->oldest;
	char ago[32], b1[32], b2[32], b3[32], t[40];
	int a, r;

	r = ev_buf_printf(out,
			  "open:       %s\nresolved:   %s\ndiscarded:  %s\n",
			  ev_commas(st->open, b1), ev_commas(st->resolved, b2),
			  ev_commas(st->discarded, b3));
	if (o != NULL && r == 0) {
		ev_time_format(o->time, t);
		ev_age_format(o->time, now, ago, sizeof(ago));
		r = ev_buf_printf(out,
				  "oldest:     offset %llu, %s, written %s (%s "
				  "ago)\n",
				  (unsigned long long)o->offset, o->orig_type,
				  t, ago);
	}
	if (r == 0)
		r = tally_text(out, "open by type", st->by_type, st->ntypes);
	if (r == 0)
		r = tally_text(out, "open by stage", st->by_stage, st->nstages);
	if (r == 0)
		r = tally_text(out, "open by error", st->by_error, st->nerrors);
	if (r == 0)
		r = ev_buf_puts(out, "open by age:\n");
	for (a = 0; a < EV_DLQ_AGES && r == 0; a++)
		r = ev_buf_printf(out, "  %10s  %s\n",
				  ev_commas(st->by_age[a], b1),
				  ev_dlq_ages[a].name);
	return r != 0 ? EV_ERR : 0;
}

/* the ORIGINAL cell: the offset in the source, P:O in a Kafka log's
 * partition, "-" for a schema letter's event (it has none) */
static size_t orig_cell(const struct ev_letter *l, char *s, size_t n)
{
	if (l->no_source_offset)
		return (size_t)snprintf(s, n, "-");
	if (l->has_source_partition)
		return (size_t)snprintf(s, n, "%d:%llu",
					(int)l->source_partition,
					(unsigned long long)l->source_offset);
	return (size_t)snprintf(s, n, "%llu",
				(unsigned long long)l->source_offset);
}

/* the widest of at least min and the cells of the selected letters */
static int column(const struct ev_letter *v, size_t n, const unsigned char *sel,
		  int min, int which)
{
	char num[40];
	size_t i, w = (size_t)min, k;

	for (i = 0; i < n; i++) {
		if (!sel[i])
			continue;
		if (which == 0)
			k = (size_t)snprintf(num, sizeof(num), "%llu",
					     (unsigned long long)v[i].offset);
		else if (which == 1)
			k = orig_cell(&v[i], num, sizeof(num));
		else if (which == 2)
			k = strlen(v[i].orig_type);
		else
			k = v[i].orig_stream ? strlen(v[i].orig_stream) : 1;
		if (k > w)
			w = k;
	}
	return (int)w;
}

int ev_letters_table(struct ev_buf *out, const struct ev_letter *v, size_t n,
		     const unsigned char *sel, int with_state, ev_time_t now)
{
	int wo = column(v, n, sel, 8, 0), ws = column(v, n, sel, 10, 1);
	int wt = column(v, n, sel, 24, 2), wst = column(v, n, sel, 20, 3);
	const struct ev_letter *l;
	char ago[32], orig[40];
	size_t i, k, shown = 0;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		if (!sel[i])
			continue;
		if (shown++ == 0)
			r = ev_buf_printf(out,
					  "%-*s %-*s %-*s %-*s %8s %5s %s%s\n",
					  wo, "OFFSET", ws, "ORIGINAL", wt,
					  "TYPE", wst, "STREAM", "ATTEMPTS",
					  "AGE", with_state ? "STATE     " : "",
					  "ERROR");
		l = &v[i];
		ev_age_format(l->time, now, ago, sizeof(ago));
		orig_cell(l, orig, sizeof(orig));
		if (r == 0)
			r = ev_buf_printf(out,
					  "%-*llu %-*s %-*s %-*s %8llu %5s ",
					  wo, (unsigned long long)l->offset, ws,
					  orig, wt, l->orig_type, wst,
					  l->orig_stream ? l->orig_stream : "-",
					  (unsigned long long)l->attempts, ago);
		if (r == 0 && with_state)
			r = ev_buf_printf(out, "%-10s",
					  ev_letter_state_name(l->state));
		/* the first line of the error */
		k = l->error ? strcspn(l->error, "\n") : 0;
		if (k > 119)
			k = 119;
		if (r == 0)
			r = ev_buf_append(out, l->error ? l->error : "", k) ||
			    ev_buf_putc(out, '\n');
	}
	return r != 0 ? EV_ERR : 0;
}
