/*
 * fekdlq.h - --dlq kafka://HOST:PORT/TOPIC: a dead-letter topic as the
 * letter sink of a consumer (evtail --exec), and the options that go
 * with it (lib/kafka_dlq.c; evtail(1) HANDLERS, evdlq(1) KAFKA).
 */
#ifndef EVLOG_FEKDLQ_H
#define EVLOG_FEKDLQ_H

#include "feselect.h"

struct fe_kdlq {
	struct ev_kafka_addr addr;
	struct ev_kafka_conn_opts conn;
	struct ev_kafka_dlq *d;
};

/* Is this --dlq a dead-letter topic? */
int fe_kdlq_is(const char *dlq);
/* What a dead-letter topic does not take (--dlq-policy stream): -1 to
 * go on, or an exit status. */
int fe_kdlq_check(const struct fe_exec *x, const struct ev_consumer_opts *co,
		  const char *usage);
/* Open the topic dlq (props and timeout_ms as for a kafka log) and make
 * it con's letter sink: 0, or an exit status after the message. */
int fe_kdlq_open(struct fe_kdlq *k, const char *dlq,
		 const struct ev_kafka_props *props, int64_t timeout_ms,
		 struct ev_consumer_opts *con, const char *usage);
/* --on-error dlq: s's upcast letters (of logname, whose id is log_id)
 * to the topic dlq, opened unless fe_kdlq_open() did: 0, or an exit
 * status after the message.  Nothing without --on-error dlq. */
int fe_kdlq_upcast(struct fe_kdlq *k, struct fe_select *s, const char *dlq,
		   const struct ev_kafka_props *props, int64_t timeout_ms,
		   const char *logname, const char *log_id, const char *group,
		   const char *usage);
/* evproject --on-error dlq on a kafka log: the letters of projection
 * name's failures (of logname, whose id is log_id) to the topic dlq,
 * opened unless done before, into *out (ev_upcast_dlq_close()): 0, or
 * an exit status after the message. */
int fe_kdlq_projection(struct fe_kdlq *k, const char *dlq,
		       const struct ev_kafka_props *props, int64_t timeout_ms,
		       const char *logname, const char *log_id,
		       const char *name, struct ev_upcast_dlq **out,
		       const char *usage);
void fe_kdlq_close(struct fe_kdlq *k);

#endif
