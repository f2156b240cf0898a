/*
 * evtail_kafka.c - evtail on a kafka:// log: the consumer
 * (lib/kafka_consume.c) read as a scan (lib/kafka_scan.c), so that
 * evtail's filters, outputs and handlers go as on a local log.  See
 * evtail(1) KAFKA.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog.h"
#include "evtail_kafka.h"
#include "fe.h"

int evtail_kafka_operand(int argc, char **argv, const char *optstring,
			 const struct option *longopts)
{
	int save = opterr, r;

	opterr = 0;
	optind = 0;
	while (getopt_long(argc, argv, optstring, longopts, NULL) != -1)
		;
	r = optind < argc && ev_kafka_is_addr(argv[optind]);
	opterr = save;
	optind = 0; /* parse again, from the start */
	return r;
}

int evtail_kafka_open(struct evtail_kafka *k, struct ev_scan_opts *so,
		      int follow, const char *usage)
{
	struct ev_kafka_consumer_opts co;
	struct ev_error err;
	int r;

	if (ev_kafka_addr_parse(k->addr, &k->a, &err) != 0 ||
	    ev_kafka_props_check(&k->props, &err) != 0)
		return err.code == EV_EUSAGE
			       ? fe_usage_error(usage, "%s", err.msg)
			       : fe_report(&err);
	memset(&co, 0, sizeof(co));
	co.conn.addr = &k->a;
	co.conn.props = &k->props;
	co.conn.timeout_ms = (int)k->timeout_ms;
	co.from = k->from;
	co.nfrom = k->nfrom;
	co.to = k->to;
	co.nto = k->nto;
	if (k->cursor != NULL) {
		/* its offsets, when it exists (--from is ignored then) */
		r = ev_kafka_cursor_load(k->cursor, k->a.topic, &k->cfrom,
					 &k->ncfrom, &err);
		if (r != 0 && r != EV_ENOENT)
			return fe_report(&err);
		if (r == 0) {
			co.from = k->cfrom;
			co.nfrom = k->ncfrom;
			co.cursor_name = k->cursor;
		}
		co.track = 1;
	}
	co.has_last = k->has_last;
	co.last = k->last;
	co.follow = follow;
	co.group = k->group;
	co.notice = so->notice; /* offsets lost to retention */
	co.notice_ctx = so->ctx;
	/* what the topic rules out (--from past a partition's end, a
	 * partition it does not have) is said as on a local log's open:
	 * 64, without the usage */
	if (ev_kafka_consumer_open(&k->kc, &co, &err) != 0 ||
	    ev_scan_open_kafka(&k->scan, k->kc, k->a.topic, so, &err) != 0)
		return fe_report(&err);
	return -1;
}

void evtail_kafka_close(struct evtail_kafka *k)
{
	ev_scan_free(k->scan);
	k->scan = NULL;
	ev_kafka_consumer_close(k->kc);
	k->kc = NULL;
	free(k->cfrom);
	k->cfrom = NULL;
	k->ncfrom = 0;
}

int evtail_kafka_store_cursor(struct evtail_kafka *k, uint64_t position)
{
	struct ev_error err;

	/* the positions up to what went out, then the file */
	if (ev_kafka_scan_commit(k->scan, position, &err) != 0 ||
	    ev_kafka_cursor_store(k->cursor, k->kc, &err) != 0)
		return fe_report(&err);
	return 0;
}
