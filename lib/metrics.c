/*
 * metrics.c - the figures of logs for machines.  struct ev_metrics is
 * the Prometheus text exposition (evctl metrics): events by type, bytes,
 * segments, group positions and lag, handler run times, and open dead
 * letters; every figure is gathered before anything is formatted, so
 * that a failure leaves no half exposition for a textfile collector to
 * read.  Also here: a group's lag, the Nagios lag check (evctl lag), and
 * evctl info --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

struct logdata {
	char *name;
	struct ev_log *log; /* borrowed */
	struct ev_log_info info;
	struct ev_type_count *types;
	size_t ntypes;
	struct ev_group_state *groups;
	size_t ngroups;
	int dlq; /* a dead-letter log */
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
		  double *seconds, double *age)
{
	struct ev_error err;
	ev_time_t t = EV_TIME_NONE, now;
	uint64_t from =
		g->next < info->first_offset ? info->first_offset : g->next;

	/* from where it reads next: what was trimmed before it read it is
	 * not counted */
	*events = info->next_offset > from ? info->next_offset - from : 0;
	*seconds = 0;
	if (age != NULL)
		*age = 0;
	if (*events == 0 || ev_log_append_time(log, from, &t, &err) != 0 ||
	    t == EV_TIME_NONE)
		return;
	if (info->last_append != EV_TIME_NONE && info->last_append > t)
		*seconds = (double)(info->last_append - t) / 1e9;
	/* how long the first event it has not consumed has waited: the
	 * check of a consumer that stopped, however few events wait */
	if (age != NULL && (now = ev_now()) > t)
		*age = (double)(now - t) / 1e9;
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
	size_t i, k;
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
	    (r = ev_group_list_all(log, state_dir, &d->groups, &d->ngroups,
				   err)) != 0)
		return r;
	/* a group whose state file is damaged has no figures: left out
	 * (the caller reports it) */
	for (i = k = 0; i < d->ngroups; i++)
		if (!d->groups[i].damaged)
			d->groups[k++] = d->groups[i];
	d->ngroups = k;
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
			put(m, "\"} %llu\n",
			    (unsigned long long)m->d[i].types[k].n);
		}
	family(m, "evlog_bytes", "gauge",
	       "Bytes on disk: segments and indexes.");
	for (i = 0; i < m->n; i++) {
		sample(m, "evlog_bytes", &m->d[i], NULL);
		put(m, "%llu\n", (unsigned long long)m->d[i].info.bytes);
	}
	family(m, "evlog_segments", "gauge", "Segment files.");
	for (i = 0; i < m->n; i++) {
		sample(m, "evlog_segments", &m->d[i], NULL);
		put(m, "%llu\n", (unsigned long long)m->d[i].info.segments);
	}
	family(m, "evlog_next_offset", "gauge",
	       "The offset the next event gets.");
	for (i = 0; i < m->n; i++) {
		sample(m, "evlog_next_offset", &m->d[i], NULL);
		put(m, "%llu\n", (unsigned long long)m->d[i].info.next_offset);
	}
	family(m, "evlog_last_append_timestamp_seconds", "gauge",
	       "When the newest batch was appended.");
	for (i = 0; i < m->n; i++)
		if (m->d[i].info.last_append != EV_TIME_NONE) {
			sample(m, "evlog_last_append_timestamp_seconds",
			       &m->d[i], NULL);
			put(m, "%.3f\n",
			    (double)m->d[i].info.last_append / 1e9);
		}
}

enum { G_NEXT, G_LAG, G_LAG_SECONDS, G_AGE_SECONDS, G_HANDLED, G_DEAD };

static void group_family(struct ev_metrics *m, int which, const char *name,
			 const char *type, const char *help)
{
	size_t i, k;
	uint64_t lag;
	double secs, age;

	family(m, name, type, help);
	for (i = 0; i < m->n; i++)
		for (k = 0; k < m->d[i].ngroups; k++) {
			const struct ev_group_state *g = &m->d[i].groups[k];
			ev_group_lag(m->d[i].log, g, &m->d[i].info, &lag, &secs,
				     &age);
			sample(m, name, &m->d[i], g->name);
			if (which == G_LAG_SECONDS)
				put(m, "%.3f\n", secs);
			else if (which == G_AGE_SECONDS)
				put(m, "%.3f\n", age);
			else
				put(m, "%llu\n",
				    (unsigned long long)(which == G_NEXT
								 ? g->next
							 : which == G_LAG ? lag
							 : which == G_HANDLED
								 ? g->stats.handled
								 : g->stats.dead_lettered));
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
				sample(m,
				       "evlog_handler_duration_seconds_bucket",
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
			sample(m, "evlog_handler_duration_seconds_sum",
			       &m->d[i], g->name);
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
	group_family(m, G_AGE_SECONDS, "evlog_group_age_seconds", "gauge",
		     "How long the first event a consumer group has not "
		     "consumed has waited since it was appended.");
	group_family(m, G_HANDLED, "evlog_group_handled_total", "counter",
		     "Events a group's handler has handled.");
	group_family(m, G_DEAD, "evlog_group_dead_lettered_total", "counter",
		     "Events a group has dead-lettered.");
	dlq_families(m);
	histogram(m);
	m->out = NULL;
	return m->oom ? ev_seterr(err, EV_ERR, "out of memory") : 0;
}

/* ------------------------------------------------------------ lag checks */

static int over(const struct ev_threshold *t, uint64_t events, double secs)
{
	/* the Nagios plugin guidelines: N is the range 0..N, N inside */
	return t->is_time ? secs > t->seconds : events > t->events;
}

static void threshold_str(const struct ev_threshold *t, int want_time,
			  char out[32])
{
	out[0] = '\0';
	if (t->is_time && want_time)
		snprintf(out, 32, "%.3f", t->seconds);
	else if (!t->is_time && !want_time)
		snprintf(out, 32, "%llu", (unsigned long long)t->events);
}

int ev_lag_check(struct ev_log *log, const char *group, const char *state_dir,
		 const struct ev_threshold *warn,
		 const struct ev_threshold *crit, struct ev_buf *line,
		 struct ev_error *err)
{
	static const char *const names[] = {"OK", "WARNING", "CRITICAL"};
	struct ev_group_state *gs = NULL;
	struct ev_log_info info;
	struct ev_buf perf = {0};
	size_t n = 0, i, worst_i = 0, damaged = 0;
	int worst = -1, r, st;
	uint64_t lag, wlag = 0;
	double secs, age, wage = 0;
	char tmp[700], w[32], c[32], ws[32], cs[32];

	memset(&info, 0, sizeof(info));
	if ((r = ev_log_info(log, &info, err)) != 0 ||
	    (r = ev_group_list_all(log, state_dir, &gs, &n, err)) != 0)
		goto out;
	threshold_str(warn, 0, w);
	threshold_str(crit, 0, c);
	threshold_str(warn, 1, ws);
	threshold_str(crit, 1, cs);
	for (i = 0; i < n; i++) {
		if (group != NULL && strcmp(gs[i].name, group) != 0)
			continue;
		/* left out: the caller reports it (ev_group_list_all()) */
		if (gs[i].damaged) {
			damaged++;
			continue;
		}
		ev_group_lag(log, &gs[i], &info, &lag, &secs, &age);
		st = over(crit, lag, age) ? 2 : over(warn, lag, age) ? 1 : 0;
		/* its consumer fails every run: never OK */
		if (gs[i].next > info.next_offset)
			st = 2;
		snprintf(tmp, sizeof(tmp),
			 "%s'%s_lag'=%llu;%s;%s;0 '%s_lag_seconds'=%.3fs;;;0 "
			 "'%s_age_seconds'=%.3fs;%s;%s;0",
			 perf.len ? " " : "", gs[i].name,
			 (unsigned long long)lag, w, c, gs[i].name, secs,
			 gs[i].name, age, ws, cs);
		if (ev_buf_puts(&perf, tmp) != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto out;
		}
		if (st > worst || (st == worst && lag > wlag)) {
			worst = st;
			worst_i = i;
			wlag = lag;
			wage = age;
		}
	}
	if (worst < 0 && damaged > 0) {
		r = group != NULL ? ev_seterr(err, EV_EDATA,
					      "the state file of group '%s' "
					      "is damaged",
					      group)
				  : ev_seterr(err, EV_EDATA,
					      "the state file of every group "
					      "of '%s' is damaged",
					      ev_log_path(log));
		goto out;
	}
	if (worst < 0) {
		r = group != NULL
			    ? ev_seterr(err, EV_ENOENT, "no group '%s' in '%s'",
					group, ev_log_path(log))
			    : ev_seterr(err, EV_ENOENT,
					"no consumer groups in '%s'",
					ev_log_path(log));
		goto out;
	}
	if (gs[worst_i].next > info.next_offset)
		snprintf(tmp, sizeof(tmp),
			 "LAG %s - group %s is at offset %llu, past the end "
			 "of the log (offset %llu) | ",
			 names[worst], gs[worst_i].name,
			 (unsigned long long)gs[worst_i].next,
			 (unsigned long long)info.next_offset);
	else
		snprintf(tmp, sizeof(tmp),
			 "LAG %s - group %s is %llu %s (%.1fs) behind | ",
			 names[worst], gs[worst_i].name,
			 (unsigned long long)wlag,
			 ev_plural(wlag, "event", "events"), wage);
	if (ev_buf_puts(line, tmp) != 0 ||
	    ev_buf_append(line, perf.p, perf.len) ||
	    ev_buf_putc(line, '\0') != 0)
		r = ev_seterr(err, EV_ERR, "out of memory");
	else
		r = worst;
out:
	ev_buf_free(&perf);
	free(gs);
	free(info.seg);
	return r;
}

/* ------------------------------------------------------------ info */

static int jtime(struct ev_buf *b, ev_time_t t)
{
	char buf[40];

	if (t == EV_TIME_NONE)
		return ev_buf_puts(b, "null");
	ev_time_format(t, buf);
	return ev_buf_putc(b, '"') || ev_buf_puts(b, buf) ||
	       ev_buf_putc(b, '"');
}

static void info_segments(struct ev_metrics *m, const struct ev_log_info *info)
{
	uint64_t i;

	put(m, ",\"segment_list\":[");
	for (i = 0; i < info->segments; i++) {
		const struct ev_segment_info *s = &info->seg[i];
		put(m,
		    "%s{\"base\":%llu,\"next\":%llu,\"events\":%llu,"
		    "\"bytes\":%llu,\"index_bytes\":%llu,\"batches\":%llu,"
		    "\"min_time\":",
		    i ? "," : "", (unsigned long long)s->base,
		    (unsigned long long)s->next,
		    (unsigned long long)(s->next - s->base),
		    (unsigned long long)s->bytes,
		    (unsigned long long)s->index_bytes,
		    (unsigned long long)s->batches);
		m->oom |= jtime(m->out, s->first_time);
		put(m, ",\"max_time\":");
		m->oom |= jtime(m->out, s->last_time);
		put(m, "}");
	}
	put(m, "]");
}

int ev_log_info_json(struct ev_buf *out, struct ev_log *log, const char *name,
		     const struct ev_log_info *info,
		     const struct ev_type_count *types, size_t ntypes,
		     int with_types)
{
	const struct ev_log_config *cfg = ev_log_get_config(log);
	struct ev_metrics m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.out = out;
	put(&m, "{\"path\":");
	m.oom |= ev_json_string(out, name, strlen(name)) != 0;
	put(&m, ",\"format\":%d,\"id\":\"%s\",\"created\":", EV_FORMAT_VERSION,
	    ev_log_id(log));
	m.oom |= jtime(out, ev_log_created(log));
	put(&m,
	    ",\"events\":%llu,\"first_offset\":%llu,\"next_offset\":%llu,"
	    "\"gaps\":%llu,\"gap_events\":%llu,"
	    "\"segments\":%llu,\"bytes\":%llu,\"segment_bytes\":%llu,"
	    "\"index_bytes\":%llu,\"raw_bytes\":%llu,\"ratio\":%.3f,",
	    (unsigned long long)info->events,
	    (unsigned long long)info->first_offset,
	    (unsigned long long)info->next_offset,
	    (unsigned long long)info->gaps,
	    (unsigned long long)info->gap_events,
	    (unsigned long long)info->segments, (unsigned long long)info->bytes,
	    (unsigned long long)info->segment_bytes,
	    (unsigned long long)(info->bytes - info->segment_bytes),
	    (unsigned long long)info->raw_bytes, ev_log_info_ratio(info));
	put(&m, "\"min_time\":");
	m.oom |= jtime(out, info->min_time);
	put(&m, ",\"max_time\":");
	m.oom |= jtime(out, info->max_time);
	put(&m, ",\"first_append\":");
	m.oom |= jtime(out, info->first_append);
	put(&m, ",\"last_append\":");
	m.oom |= jtime(out, info->last_append);
	put(&m,
	    ",\"config\":{\"segment_bytes\":%llu,\"level\":%d,\"sync\":\"%s\","
	    "\"dedupe_window\":%llu}",
	    (unsigned long long)cfg->segment_bytes, cfg->level,
	    cfg->sync == EV_SYNC_NONE ? "none" : "batch",
	    (unsigned long long)cfg->dedupe_window);
	info_segments(&m, info);
	if (with_types) {
		put(&m, ",\"types\":{");
		for (i = 0; i < ntypes; i++) {
			if (i)
				put(&m, ",");
			m.oom |= ev_json_string(out, types[i].name,
						strlen(types[i].name)) != 0;
			put(&m, ":%llu", (unsigned long long)types[i].n);
		}
		put(&m, "}");
	}
	put(&m, "}\n");
	return m.oom ? EV_ERR : 0;
}

double ev_log_info_ratio(const struct ev_log_info *info)
{
	/* uncompressed record bytes to bytes on disk */
	return info->segment_bytes
		       ? (double)info->raw_bytes / (double)info->bytes
		       : 0.0;
}

/* A time, or "-" for none; to the millisecond (24 characters, for a
 * table column) when ms. */
static const char *ttext(ev_time_t t, int ms, char buf[40])
{
	if (t == EV_TIME_NONE)
		return "-";
	if (ms)
		t -= ((t % 1000000) + 1000000) % 1000000;
	ev_time_format(t, buf);
	return buf;
}

int ev_log_info_text(struct ev_buf *out, struct ev_log *log, const char *name,
		     const struct ev_log_info *info,
		     const struct ev_type_count *types, size_t ntypes,
		     int with_types)
{
	const struct ev_log_config *cfg = ev_log_get_config(log);
	char b1[32], b2[32], b3[32], t1[40], t2[40];
	struct ev_metrics m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.out = out;
	m.oom |= ev_buf_puts(out, "log:          ") != 0 ||
		 ev_buf_puts(out, name) != 0;
	put(&m, "\nformat:       %d\nid:           %s\n", EV_FORMAT_VERSION,
	    ev_log_id(log));
	put(&m, "created:      %s\n", ttext(ev_log_created(log), 0, t1));
	put(&m, "events:       %s\n", ev_commas(info->events, b1));
	if (info->events)
		put(&m, "offsets:      %s to %s\n",
		    ev_commas(info->first_offset, b1),
		    ev_commas(info->next_offset - 1, b2));
	else
		put(&m, "offsets:      none (next %s)\n",
		    ev_commas(info->next_offset, b1));
	if (info->gaps)
		put(&m, "gaps:         %llu (%s %s lost to damage)\n",
		    (unsigned long long)info->gaps,
		    ev_commas(info->gap_events, b1),
		    ev_plural(info->gap_events, "event", "events"));
	put(&m, "segments:     %llu\n", (unsigned long long)info->segments);
	put(&m, "bytes:        %s on disk (segments %s, indexes %s)\n",
	    ev_commas(info->bytes, b1), ev_commas(info->segment_bytes, b2),
	    ev_commas(info->bytes - info->segment_bytes, b3));
	put(&m, "records:      %s bytes uncompressed, ratio %.2f\n",
	    ev_commas(info->raw_bytes, b1), ev_log_info_ratio(info));
	put(&m, "event time:   %s to %s\n", ttext(info->min_time, 0, t1),
	    ttext(info->max_time, 0, t2));
	put(&m, "append time:  %s to %s\n", ttext(info->first_append, 0, t1),
	    ttext(info->last_append, 0, t2));
	put(&m,
	    "settings:     segment-bytes %llu, level %d, sync %s, "
	    "dedupe-window %llu\n",
	    (unsigned long long)cfg->segment_bytes, cfg->level,
	    cfg->sync == EV_SYNC_NONE ? "none" : "batch",
	    (unsigned long long)cfg->dedupe_window);
	if (with_types)
		put(&m, "types:\n");
	for (i = 0; with_types && i < ntypes; i++) {
		put(&m, "  %12s  ", ev_commas(types[i].n, b1));
		m.oom |= ev_buf_puts(out, types[i].name) != 0 ||
			 ev_buf_putc(out, '\n') != 0;
	}
	return m.oom ? EV_ERR : 0;
}

int ev_groups_format(struct ev_buf *out, struct ev_log *log,
		     const struct ev_log_info *info,
		     const struct ev_group_state *gs, size_t n, int json)
{
	char t1[40], b1[32], b2[32];
	struct ev_metrics m;
	int namew = 20;
	uint64_t lag;
	double secs, age;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.out = out;
	/* the name column widens for long names, so the others stay
	 * under their headings */
	for (i = 0; i < n; i++)
		if (strlen(gs[i].name) > (size_t)namew)
			namew = (int)strlen(gs[i].name);
	if (!json && n > 0)
		put(&m, "%-*s %14s %14s %12s %12s  %-24s %s\n", namew, "GROUP",
		    "OFFSET", "LAG", "LAG-SECONDS", "AGE-SECONDS",
		    "LAST-COMMIT", "STATE");
	for (i = 0; i < n && !m.oom; i++) {
		ev_group_lag(log, &gs[i], info, &lag, &secs, &age);
		if (json) {
			m.oom |= ev_group_to_json(out, &gs[i], lag, secs,
						  age) != 0;
			put(&m, "\n");
			continue;
		}
		m.oom |= ev_buf_puts(out, gs[i].name) != 0;
		put(&m, "%*s %14s %14s %12.3f %12.3f  %-24s %s\n",
		    namew - (int)strlen(gs[i].name), "",
		    ev_commas(gs[i].next, b1), ev_commas(lag, b2), secs, age,
		    ttext(gs[i].committed, 1, t1),
		    gs[i].busy ? "busy" : "idle");
	}
	return m.oom ? EV_ERR : 0;
}

int ev_streams_format(struct ev_buf *out, const struct ev_stream_info *v,
		      size_t n, int json)
{
	char b1[32], b2[32], b3[32], b4[32];
	struct ev_metrics m;
	size_t i, w = 6;
	int gaps = 0;

	memset(&m, 0, sizeof(m));
	m.out = out;
	/* versions no event holds: lost in gaps (evlog(5) Gaps) */
#define MISSING(s) \
	((s)->last_version > (s)->count ? (s)->last_version - (s)->count : 0)
	for (i = 0; i < n; i++) {
		if (v[i].name_len > w)
			w = v[i].name_len;
		gaps |= MISSING(&v[i]) > 0;
	}
	if (!json && n > 0)
		put(&m, "%-*s %10s %10s %12s %12s%s\n", (int)w, "STREAM",
		    "VERSION", "EVENTS", "FIRST", "LAST",
		    gaps ? "      MISSING" : "");
	for (i = 0; i < n && !m.oom; i++) {
		const struct ev_stream_info *s = &v[i];
		if (json) {
			put(&m, "{\"stream\":");
			m.oom |= ev_json_string(out, s->name, s->name_len) != 0;
			put(&m,
			    ",\"version\":%llu,\"events\":%llu,"
			    "\"first_offset\":%llu,\"last_offset\":%llu,"
			    "\"missing_versions\":%llu}\n",
			    (unsigned long long)s->last_version,
			    (unsigned long long)s->count,
			    (unsigned long long)s->first_offset,
			    (unsigned long long)s->last_offset,
			    (unsigned long long)MISSING(s));
			continue;
		}
		m.oom |= ev_buf_append(out, s->name, s->name_len) != 0;
		put(&m, "%*s %10llu %10s %12s %12s", (int)(w - s->name_len), "",
		    (unsigned long long)s->last_version,
		    ev_commas(s->count, b1), ev_commas(s->first_offset, b2),
		    ev_commas(s->last_offset, b3));
		if (gaps)
			put(&m, " %12s", ev_commas(MISSING(s), b4));
		put(&m, "\n");
	}
#undef MISSING
	return m.oom ? EV_ERR : 0;
}

int ev_group_to_json(struct ev_buf *out, const struct ev_group_state *g,
		     uint64_t lag, double lag_seconds, double age_seconds)
{
	struct ev_metrics m;

	memset(&m, 0, sizeof(m));
	m.out = out;
	put(&m, "{\"group\":");
	m.oom |= ev_json_string(out, g->name, strlen(g->name)) != 0;
	put(&m,
	    ",\"next\":%llu,\"lag\":%llu,\"lag_seconds\":%.3f,"
	    "\"age_seconds\":%.3f,\"committed\":",
	    (unsigned long long)g->next, (unsigned long long)lag, lag_seconds,
	    age_seconds);
	m.oom |= jtime(out, g->committed);
	put(&m,
	    ",\"busy\":%s,\"handled\":%llu,\"failed\":%llu,"
	    "\"dead_lettered\":%llu,\"skipped\":%llu}",
	    g->busy ? "true" : "false", (unsigned long long)g->stats.handled,
	    (unsigned long long)g->stats.failed,
	    (unsigned long long)g->stats.dead_lettered,
	    (unsigned long long)g->stats.skipped);
	return m.oom ? EV_ERR : 0;
}
