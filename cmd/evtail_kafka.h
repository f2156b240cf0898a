/*
 * evtail_kafka.h - evtail on a kafka:// log (cmd/evtail_kafka.c).
 */
#ifndef EVTAIL_KAFKA_H
#define EVTAIL_KAFKA_H

#include <getopt.h>

#include "evlog.h"

/* What evtail's command line says for a kafka log. */
struct evtail_kafka {
	const char *addr; /* kafka://... as given */
	struct ev_kafka_addr a;
	struct ev_kafka_props props;
	int64_t timeout_ms;	    /* --kafka-timeout */
	struct ev_kafka_from *from; /* --from, in order */
	size_t nfrom;
	int has_last; /* -n */
	uint64_t last;
	const char *kafka_opt;	  /* the first kafka option given, or NULL */
	const char *group;	  /* --group */
	struct ev_kafka_from *to; /* --to PARTITION:OFFSET */
	size_t nto;
	const char *cursor;	     /* --cursor-file */
	struct ev_kafka_from *cfrom; /* its offsets, when it exists */
	size_t ncfrom;
	struct ev_kafka_consumer *kc;
	struct ev_scan *scan;
};

/* Is the LOG operand of evtail's command line a kafka log?  The
 * options are parsed once, quietly, to find it. */
int evtail_kafka_operand(int argc, char **argv, const char *optstring,
			 const struct option *longopts);

/* Open the consumer and the scan of k->addr (so: the selection; follow
 * with -f): -1 with k->kc and k->scan set, or an exit status. */
int evtail_kafka_open(struct evtail_kafka *k, struct ev_scan_opts *so,
		      int follow, const char *usage);
void evtail_kafka_close(struct evtail_kafka *k);
/* --cursor-file: store the offsets of what went out, up to position
 * (the scan's): 0, or an exit status. */
int evtail_kafka_store_cursor(struct evtail_kafka *k, uint64_t position);

#endif
