/*
 * metrics.c - struct ev_metrics: the figures of logs as a Prometheus text
 * exposition (evctl metrics): events by type, bytes, segments, group
 * positions and lag, handler run times, and open dead letters.  Every
 * figure is gathered before anything is formatted, so that a failure
 * leaves no half exposition for a textfile collector to read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

struct logdata {
	char *name;
	struct ev_log *log;	/* borrowed */
	struct ev_log_info info;
	struct ev_type_count *types;
	size_t ntypes;
	struct ev_group_state *groups;
	size_t ngroups;
	int dlq;		/* a dead-letter log */
	uint64_t dlq_open;
	ev_time_t dlq_oldest;
};

struct ev_metrics {
	struct logdata *d;
	size_t n;
	struct ev_buf *out;
	int oom;
};

void ev_group_lag(struct ev_log *log, const struct ev_group_state *g,
		  const struct ev_log_info *info, uint64_t *events,
		  double *seconds)
{
	struct ev_error err;
	ev_time_t t;
	uint64_t from = g->next < info->first_offset ? info->first_offset
						     : g->next;

	/* from where it reads next: what was trimmed before it read it is
	 * not counted */
	*events = info->next_offset > from ? info->next_offset - from : 0;
	*seconds = 0;
	if (*events > 0 && info->last_append != EV_TIME_NONE &&
	    ev_log_append_time(log, from, &t, &err) == 0 &&
	    t != EV_TIME_NONE && info->last_append > t)
		*seconds = (double)(info->last_append - t) / 1e9;
}

int ev_metrics_new(struct ev_metrics **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? 0 : EV_ERR;
}

void ev_metrics_free(struct ev_metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->d[i].name);
		ev_type_counts_free(m->d[i].types, m->d[i].ntypes);
		free(m->d[i].groups);
		free(m->d[i].info.seg);
	}
	free(m->d);
	free(m);
}

static int open_letters(struct logdata *d, struct ev_error *err)
{
	struct ev_letter *lv;
	size_t ln, k;
	int r;

	d->dlq_oldest = EV_TIME_NONE;
	if (!d->dlq)
		return 0;
	if ((r = ev_dlq_scan(d->log, &lv, &ln, err)) != 0)
		return r;
	for (k = 0; k < ln; k++)
		if (lv[k].state == EV_LETTER_OPEN && d->dlq_open++ == 0)
			d->dlq_oldest = lv[k].time;
	ev_letters_free(lv, ln);
	return 0;
}

int ev_metrics_add(struct ev_metrics *m, struct ev_log *log, const char *name,
		   const char *state_dir, struct ev_error *err)
{
	struct logdata *nd, *d;
	int r;

	nd = realloc(m->d, (m->n + 1) * sizeof(*nd));
	if (nd == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	m->d = nd;
	d = &m->d[m->n++];
	memset(d, 0, sizeof(*d));
	d->log = log;
	d->dlq = ev_log_get_config(log)->dead_letters;
	if ((d->name = strdup(name)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if ((r = ev_log_info(log, &d->info, err)) != 0 ||
	    (r = ev_log_type_counts(log, &d->types, &d->ntypes, err)) != 0 ||
	    (r = ev_group_list(log, state_dir, &d->groups, &d->ngroups, err)) !=
		    0)
		return r;
	return open_letters(d, err);
}

static void put(struct ev_metrics *m, const char *fmt, ...) EV_PRINTF(2, 3);

static void put(struct ev_metrics *m, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    ev_buf_append(m->out, buf, (size_t)n) != 0)
		m->oom = 1;
}

/* A label value: \, " and newline escaped. */
static void label(struct ev_metrics *m, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			put(m, "\\n");
		else if (*s == '\\' || *s == '"')
			put(m, "\\%c", *s);
		else if (ev_buf_putc(m->out, *s) != 0)
			m->oom = 1;
	}
}

static void family(struct ev_metrics *m, const char *name, const char *type,
		   const char *help)
{
	put(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{log="...",group="..."} (group NULL: no group label), then the
 * value formatted by the caller */
static void sample(struct ev_metrics *m, const char *name,
		   const struct logdata *d, const char *group)
{
	put(m, "%s{log=\"", name);
	label(m, d->name);
	if (group != NULL) {
		put(m, "\",group=\"");
		label(m, group);
	}
	put(m, "\"} ");
}

static void log_families(struct ev_metrics *m)
{
	size_t i, k;

	family(m, "evlog_events", "gauge", "Events in the log.");
	for (i = 0; i < m->n; i++) {
		sample(m, "evlog_events", &m->d[i], NULL);
		put(m, "%llu\n", (unsigned long long)m->d[i].info.events);
	}
	family(m, "evlog_type_events", "gauge", "Events in the log, by type.");
	for (i = 0; i < m->n; i++)
		for (k = 0; k < m->d[i].ntypes; k++) {
			put(m, "evlog_type_events{log=\"");
			label(m, m->d[i].name);
			put(m, "\",type=\"");
			label(m, m->d[i].types[k].name);
			put(m, "\"} %llu\n", (unsigned long long)m->d[i].types[k].n);
		}
	family(m, "evlog_bytes", "gauge", "Bytes on disk: segments and indexes.");
	for (i = 0; i < m->n; i++) {
		sample(m, "evlog_bytes", &m->d[i], NULL);
		put(m, "%llu\n", (unsigned long long)m->d[i].info.bytes);
	}
	family(m, "evlog_segments", "gauge", "Segment files.");
	for (i = 0; i < m->n; i++) {
		sample(m, "evlog_segments", &m->d[i], NULL);
		put(m, "%llu\n", (unsigned long long)m->d[i].info.segments);
	}
	family(m, "evlog_next_offset", "gauge", "The offset the next event gets.");
	for (i = 0; i < m->n; i++) {
		sample(m, "evlog_next_offset", &m->d[i], NULL);
		put(m, "%llu\n", (unsigned long long)m->d[i].info.next_offset);
	}
	family(m, "evlog_last_append_timestamp_seconds", "gauge",
	       "When the newest batch was appended.");
	for (i = 0; i < m->n; i++)
		if (m->d[i].info.last_append != EV_TIME_NONE) {
			sample(m, "evlog_last_append_timestamp_seconds", &m->d[i],
			       NULL);
			put(m, "%.3f\n", (double)m->d[i].info.last_append / 1e9);
		}
}

enum { G_NEXT, G_LAG, G_LAG_SECONDS, G_HANDLED, G_DEAD };

static void group_family(struct ev_metrics *m, int which, const char *name,
			 const char *type, const char *help)
{
	size_t i, k;
	uint64_t lag;
	double secs;

	family(m, name, type, help);
	for (i = 0; i < m->n; i++)
		for (k = 0; k < m->d[i].ngroups; k++) {
			const struct ev_group_state *g = &m->d[i].groups[k];
			ev_group_lag(m->d[i].log, g, &m->d[i].info, &lag, &secs);
			sample(m, name, &m->d[i], g->name);
			if (which == G_LAG_SECONDS)
				put(m, "%.3f\n", secs);
			else
				put(m, "%llu\n",
				    (unsigned long long)(which == G_NEXT ? g->next
							 : which == G_LAG ? lag
							 : which == G_HANDLED
								 ? g->stats.handled
								 : g->stats
									   .dead_lettered));
		}
}

static void dlq_families(struct ev_metrics *m)
{
	size_t i, dlqs = 0;

	/* only when there is a dead-letter log */
	for (i = 0; i < m->n; i++)
		dlqs += m->d[i].dlq;
	if (dlqs == 0)
		return;
	family(m, "evlog_dlq_open_letters", "gauge",
	       "Open dead letters in a dead-letter log.");
	for (i = 0; i < m->n; i++)
		if (m->d[i].dlq) {
			sample(m, "evlog_dlq_open_letters", &m->d[i], NULL);
			put(m, "%llu\n", (unsigned long long)m->d[i].dlq_open);
		}
	family(m, "evlog_dlq_oldest_open_age_seconds", "gauge",
	       "Age of the oldest open dead letter.");
	for (i = 0; i < m->n; i++)
		if (m->d[i].dlq && m->d[i].dlq_oldest != EV_TIME_NONE) {
			sample(m, "evlog_dlq_oldest_open_age_seconds", &m->d[i],
			       NULL);
			put(m, "%.3f\n",
			    (double)(ev_now() - m->d[i].dlq_oldest) / 1e9);
		}
}

static void histogram(struct ev_metrics *m)
{
	size_t i, k;
	int b;

	family(m, "evlog_handler_duration_seconds", "histogram",
	       "Handler run times recorded by evtail --exec.");
	for (i = 0; i < m->n; i++)
		for (k = 0; k < m->d[i].ngroups; k++) {
			const struct ev_group_state *g = &m->d[i].groups[k];
			uint64_t cum = 0;
			for (b = 0; b < EV_HIST_BUCKETS; b++) {
				cum += g->stats.buckets[b];
				sample(m, "evlog_handler_duration_seconds_bucket",
				       &m->d[i], g->name);
				m->out->len -= 2; /* the le label goes inside */
				if (b < EV_HIST_BUCKETS - 1)
					put(m, ",le=\"%g\"} %llu\n",
					    ev_hist_bounds[b],
					    (unsigned long long)cum);
				else
					put(m, ",le=\"+Inf\"} %llu\n",
					    (unsigned long long)cum);
			}
			sample(m, "evlog_handler_duration_seconds_sum", &m->d[i],
			       g->name);
			put(m, "%.6f\n", g->stats.sum);
			sample(m, "evlog_handler_duration_seconds_count",
			       &m->d[i], g->name);
			put(m, "%llu\n", (unsigned long long)cum);
		}
}

int ev_metrics_format(struct ev_metrics *m, struct ev_buf *out,
		      struct ev_error *err)
{
	m->out = out;
	m->oom = 0;
	log_families(m);
	group_family(m, G_NEXT, "evlog_group_next_offset", "gauge",
		     "The next offset a consumer group will get.");
	group_family(m, G_LAG, "evlog_group_lag_events", "gauge",
		     "Events a consumer group is behind the head.");
	group_family(m, G_LAG_SECONDS, "evlog_group_lag_seconds", "gauge",
		     "Append time a consumer group is behind the head.");
	group_family(m, G_HANDLED, "evlog_group_handled_total", "counter",
		     "Events a group's handler has handled.");
	group_family(m, G_DEAD, "evlog_group_dead_lettered_total", "counter",
		     "Events a group has dead-lettered.");
	dlq_families(m);
	histogram(m);
	m->out = NULL;
	return m->oom ? ev_seterr(err, EV_ERR, "out of memory") : 0;
}
