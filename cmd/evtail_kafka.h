/*
 * evtail_kafka.h - evtail on a kafka:// log (cmd/evtail_kafka.c).
 */
#ifndef EVTAIL_KAFKA_H
#define EVTAIL_KAFKA_H

#include "evlog.h"

/* What evtail's command line says for a kafka log. */
struct evtail_kafka {
	const char *addr; /* kafka://... as given */
	struct ev_kafka_props props;
	int64_t timeout_ms;	    /* --kafka-timeout */
	struct ev_kafka_from *from; /* --from, in order */
	size_t nfrom;
	int has_last; /* -n */
	uint64_t last;
	const char *kafka_opt; /* the first kafka option given, or NULL */
};

/* Read the kafka log: filter (flt), count (has_max, max), output in fmt
 * (tpl, fields, color as evtail's); follow with -f until stop is set.
 * An exit status. */
int evtail_kafka_run(struct evtail_kafka *k, struct ev_filter *flt, int has_max,
		     uint64_t max, enum ev_out_format fmt,
		     struct ev_template *tpl, struct ev_fieldlist *fields,
		     int color, int reverse, int follow,
		     volatile sig_atomic_t *stop, const char *usage);

#endif
