/*
 * evctl_kafka.c - evctl info, groups, lag, health and metrics on a
 * kafka:// log: the topic's metadata, brokers and watermarks, consumer
 * groups' committed offsets against the high watermarks
 * (lib/kafka_admin.c).  See evctl(1) KAFKA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evctl_kafka.h"
#include "fe.h"

const char *evctl_kafka_usage = "";

/* Nagios plugin exit statuses */
enum { NAGIOS_CRITICAL = 2, NAGIOS_UNKNOWN = 3 };

void evctl_kafka_init(struct evctl_kafka *k)
{
	memset(k, 0, sizeof(*k));
	k->timeout_ms = 10000;
	k->max_lag = 1000;
}

void evctl_kafka_free(struct evctl_kafka *k)
{
	ev_kafka_props_free(&k->props);
	free(k->groups);
}

int evctl_kafka_option(struct evctl_kafka *k, int c, const char *arg, char *why,
		       size_t whyn)
{
	struct ev_error err;

	switch (c) {
	case 'X':
		if (ev_kafka_props_add(&k->props, arg, &err) != 0) {
			snprintf(why, whyn, "%s", err.msg);
			return err.code == EV_EUSAGE ? EV_EXIT_USAGE
						     : EV_EXIT_FAILURE;
		}
		k->kafka_opt = k->kafka_opt ? k->kafka_opt : "-X";
		return 0;
	case EVCTL_OPT_KAFKA_CONFIG:
		if (ev_kafka_props_load(&k->props, arg, &err) != 0) {
			snprintf(why, whyn, "--kafka-config: %s", err.msg);
			return err.code == EV_EUSAGE ? EV_EXIT_USAGE
						     : ev_exit_code(err.code);
		}
		k->kafka_opt = k->kafka_opt ? k->kafka_opt : "--kafka-config";
		return 0;
	case EVCTL_OPT_KAFKA_TIMEOUT:
		if (ev_duration_parse(arg, &k->timeout_ms) != 0 ||
		    k->timeout_ms <= 0 || k->timeout_ms > INT32_MAX) {
			snprintf(why, whyn,
				 "--kafka-timeout: '%s' is not a duration such "
				 "as 500ms or 10s",
				 arg);
			return EV_EXIT_USAGE;
		}
		k->kafka_opt = k->kafka_opt ? k->kafka_opt : "--kafka-timeout";
		return 0;
	}
	return -1;
}

int evctl_kafka_add_group(struct evctl_kafka *k, const char *name)
{
	const char **ng = realloc(k->groups, (k->ngroups + 1) * sizeof(*ng));

	if (ng == NULL)
		return fe_oom();
	k->groups = ng;
	k->groups[k->ngroups++] = name;
	return 0;
}

/* the address and connection options: 0, or why in err */
static int conn(struct evctl_kafka *k, const char *log,
		struct ev_kafka_addr *addr, struct ev_kafka_conn_opts *co,
		struct ev_error *err)
{
	if (ev_kafka_addr_parse(log, addr, err) != 0)
		return err->code;
	memset(co, 0, sizeof(*co));
	co->addr = addr;
	co->props = &k->props;
	co->timeout_ms = (int)k->timeout_ms;
	return 0;
}

/* an error of the cluster or the command line: an exit status */
static int report(const struct ev_error *err)
{
	if (err->code == EV_EUSAGE)
		return fe_usage_error(evctl_kafka_usage, "%s", err->msg);
	return fe_report(err);
}

/* out on stdout: an exit status */
static int print(int r, const struct ev_buf *out)
{
	if (r != 0)
		return fe_oom();
	if (out->len > 0 && fwrite(out->p, 1, out->len, stdout) != out->len)
		return EV_EXIT_IO;
	return fflush(stdout) == 0 ? EV_EXIT_OK : EV_EXIT_IO;
}

/* The topic of log described, and the groups --group names (all of the
 * cluster's with offsets on it when none is named, when want_groups),
 * fetched.  0, or <0 with err. */
static int gather(struct evctl_kafka *k, const char *log, int want_groups,
		  struct ev_kafka_addr *addr, struct ev_kafka_topic_info **ti,
		  struct ev_kafka_group_offsets **g, size_t *ng,
		  struct ev_error *err)
{
	struct ev_kafka_conn_opts co;
	int r;

	*ti = NULL;
	*g = NULL;
	*ng = 0;
	if ((r = conn(k, log, addr, &co, err)) != 0 ||
	    (r = ev_kafka_topic_describe(&co, ti, err)) != 0)
		return r;
	if (!want_groups)
		return 0;
	return ev_kafka_groups_fetch(&co, *ti, k->ngroups ? k->groups : NULL,
				     k->ngroups, g, ng, err);
}

int evctl_kafka_info(struct evctl_kafka *k, const char *log, int json)
{
	struct ev_kafka_addr addr;
	struct ev_kafka_topic_info *ti;
	struct ev_kafka_group_offsets *g;
	struct ev_buf out = {0};
	struct ev_error err;
	size_t ng;
	int rc;

	if (gather(k, log, 0, &addr, &ti, &g, &ng, &err) != 0)
		return report(&err);
	rc = print(ev_kafka_info_format(&out, log, ti, json), &out);
	ev_buf_free(&out);
	ev_kafka_topic_info_free(ti);
	return rc;
}

int evctl_kafka_groups(struct evctl_kafka *k, const char *log, int json)
{
	struct ev_kafka_addr addr;
	struct ev_kafka_topic_info *ti;
	struct ev_kafka_group_offsets *g;
	struct ev_buf out = {0};
	struct ev_error err;
	size_t ng, i;
	int rc;

	if (gather(k, log, 1, &addr, &ti, &g, &ng, &err) != 0) {
		rc = report(&err);
		goto out;
	}
	/* a group named that has committed nothing: as a local log's
	 * missing group, an error rather than a row of nothing */
	for (i = 0; i < ng; i++)
		if (!g[i].any) {
			fe_warn("group '%s' has no committed offsets on topic "
				"'%s' in kafka '%s'",
				g[i].group, addr.topic, addr.brokers);
			rc = EV_EXIT_NOINPUT;
			goto out;
		}
	rc = print(ev_kafka_groups_format(&out, ti, g, ng, json), &out);
out:
	ev_buf_free(&out);
	ev_kafka_group_offsets_free(g, ng);
	ev_kafka_topic_info_free(ti);
	return rc;
}

int evctl_kafka_lag(struct evctl_kafka *k, const char *log,
		    const struct ev_threshold *warn,
		    const struct ev_threshold *crit)
{
	struct ev_kafka_addr addr;
	struct ev_kafka_topic_info *ti;
	struct ev_kafka_group_offsets *g;
	struct ev_buf line = {0};
	struct ev_error err;
	size_t ng;
	int status;

	if (warn->is_time || crit->is_time) {
		printf("LAG UNKNOWN - --%s: a kafka log's lag is a number of "
		       "events, not a duration\n",
		       warn->is_time ? "warn" : "crit");
		return NAGIOS_UNKNOWN;
	}
	status = gather(k, log, 1, &addr, &ti, &g, &ng, &err);
	if (status == 0)
		status = ev_kafka_lag_check(ti, g, ng, warn, crit, &line, &err);
	if (status < 0) {
		printf("LAG UNKNOWN - %s%s%s\n", err.msg,
		       err.hint[0] ? ": " : "", err.hint);
		status = NAGIOS_UNKNOWN;
	} else {
		printf("%s\n", (char *)line.p);
	}
	ev_buf_free(&line);
	ev_kafka_group_offsets_free(g, ng);
	ev_kafka_topic_info_free(ti);
	return status;
}

int evctl_kafka_health(struct evctl_kafka *k, const char *log)
{
	struct ev_kafka_addr addr;
	struct ev_kafka_conn_opts co;
	struct ev_kafka_topic_info *ti = NULL;
	struct ev_kafka_group_offsets *g = NULL;
	struct ev_buf line = {0};
	struct ev_error err;
	size_t ng = 0, i;
	char gerr[sizeof(err.msg)] = "";
	int status, skip = 0;

	if ((status = conn(k, log, &addr, &co, &err)) != 0) {
		printf("HEALTH UNKNOWN - %s\n", err.msg);
		return NAGIOS_UNKNOWN;
	}
	/* connectivity: the metadata within the timeout, the topic */
	status = ev_kafka_topic_describe(&co, &ti, &err);
	if (status == EV_EIO || status == EV_ENOENT) {
		printf("HEALTH CRITICAL - %s\n", err.msg);
		return NAGIOS_CRITICAL;
	}
	/* the groups' committed offsets, from their coordinators, when
	 * every partition has its leader (else the lag is unknown) */
	for (i = 0; status == 0 && ti != NULL && i < ti->nparts; i++)
		if (ti->parts[i].high < 0)
			skip = 1;
	if (status == 0 && k->ngroups > 0 && !skip &&
	    (status = ev_kafka_groups_fetch(&co, ti, k->groups, k->ngroups, &g,
					    &ng, &err)) == EV_EIO) {
		snprintf(gerr, sizeof(gerr), "%s", err.msg);
		status = 0;
	}
	if (status == 0)
		status = ev_kafka_health_check(log, ti, g, ng,
					       gerr[0] ? gerr : NULL,
					       k->max_lag, &line, &err);
	if (status < 0) {
		printf("HEALTH UNKNOWN - %s%s%s\n", err.msg,
		       err.hint[0] ? ": " : "", err.hint);
		status = NAGIOS_UNKNOWN;
	} else {
		printf("%s\n", (char *)line.p);
	}
	ev_buf_free(&line);
	ev_kafka_group_offsets_free(g, ng);
	ev_kafka_topic_info_free(ti);
	return status;
}

int evctl_kafka_metrics(struct evctl_kafka *k, char **logs, size_t n)
{
	struct ev_kafka_metrics_log *ml;
	struct ev_kafka_topic_info **ti;
	struct ev_kafka_group_offsets **g;
	struct ev_kafka_addr addr;
	struct ev_buf out = {0};
	struct ev_error err;
	size_t *ng, i;
	int rc = 0;

	ml = calloc(n, sizeof(*ml));
	ti = calloc(n, sizeof(*ti));
	g = calloc(n, sizeof(*g));
	ng = calloc(n, sizeof(*ng));
	if (ml == NULL || ti == NULL || g == NULL || ng == NULL) {
		rc = fe_oom();
		goto out;
	}
	/* everything first: a failure prints nothing, so that a textfile
	 * collector never reads half a file */
	for (i = 0; i < n && rc == 0; i++) {
		if (gather(k, logs[i], 1, &addr, &ti[i], &g[i], &ng[i], &err) !=
		    0) {
			rc = report(&err);
			break;
		}
		ml[i].name = logs[i];
		ml[i].ti = ti[i];
		ml[i].groups = g[i];
		ml[i].ngroups = ng[i];
	}
	if (rc == 0)
		rc = print(ev_kafka_metrics_format(&out, ml, n), &out);
out:
	for (i = 0; i < n; i++) {
		if (ti != NULL)
			ev_kafka_topic_info_free(ti[i]);
		if (g != NULL && ng != NULL)
			ev_kafka_group_offsets_free(g[i], ng[i]);
	}
	free(ml);
	free(ti);
	free(g);
	free(ng);
	ev_buf_free(&out);
	return rc;
}
