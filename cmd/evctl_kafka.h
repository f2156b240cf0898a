/*
 * evctl_kafka.h - evctl info, groups, lag, health and metrics on a
 * kafka:// log (cmd/evctl_kafka.c; evctl(1) KAFKA).
 */
#ifndef EVCTL_KAFKA_H
#define EVCTL_KAFKA_H

#include "evlog.h"

/* option codes of the Kafka options, beyond any character */
enum {
	EVCTL_OPT_KAFKA_CONFIG = 0x4b00,
	EVCTL_OPT_KAFKA_TIMEOUT,
	EVCTL_OPT_MAX_LAG,
};

/* What a command line says for a kafka log. */
struct evctl_kafka {
	struct ev_kafka_props props; /* -X, --kafka-config */
	int64_t timeout_ms;	     /* --kafka-timeout (10s) */
	const char **groups;	     /* --group, in order */
	size_t ngroups;
	uint64_t max_lag;      /* health --max-lag (1000) */
	const char *kafka_opt; /* the first option only a kafka log takes */
};

/* the usage for usage errors (evctl's) */
extern const char *evctl_kafka_usage;

void evctl_kafka_init(struct evctl_kafka *k);
void evctl_kafka_free(struct evctl_kafka *k);

/* -X, --kafka-config or --kafka-timeout: 0 when taken, -1 when c is
 * none of them, else an exit status with why (the message, for the
 * caller to report). */
int evctl_kafka_option(struct evctl_kafka *k, int c, const char *arg, char *why,
		       size_t whyn);
/* --group NAME, once more: 0, or an exit status (out of memory). */
int evctl_kafka_add_group(struct evctl_kafka *k, const char *name);

/* The commands on a kafka LOG: exit statuses (lag and health: Nagios). */
int evctl_kafka_info(struct evctl_kafka *k, const char *log, int json);
int evctl_kafka_groups(struct evctl_kafka *k, const char *log, int json);
int evctl_kafka_lag(struct evctl_kafka *k, const char *log,
		    const struct ev_threshold *warn,
		    const struct ev_threshold *crit);
int evctl_kafka_health(struct evctl_kafka *k, const char *log);
int evctl_kafka_metrics(struct evctl_kafka *k, char **logs, size_t n);

#endif
