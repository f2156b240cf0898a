/*
 * kafka_sink.c - struct ev_kafka_sink: stored events produced into a
 * Kafka topic, as evreplay --to-log kafka://... does (evreplay(1)
 * "Replaying into a Kafka topic").
 *
 * Each event (as the consumer gives it: marked, upcast) becomes a record
 * in the chosen --kafka-format (ev_kafka_event_to_msg(), as evpub makes
 * them) and goes to the idempotent producer.  A consumer's sink: what
 * ev_kafka_sink_flush() returns from is acknowledged by the cluster
 * (acks=all), so that a group commits only that.  A Kafka topic keeps no
 * stream versions and no dedupe window: versions travel as they are
 * (ce_sequence) and are not checked, and a replay run twice produces its
 * events twice.  The first failed delivery stops the sink at its next
 * event, as the flush would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

struct ev_kafka_sink {
	struct ev_kafka_producer *p;
	enum ev_kafka_format fmt;
	struct ev_kafka_msg m;
	char *source; /* the source as named to the user */
	struct ev_kafka_sink_stats st;
	uint64_t failed;
	uint64_t failed_offset; /* of the first event not delivered */
};

/* A delivery report; opaque is the event's offset in the source, plus 1. */
static void on_ack(void *ctx, void *opaque, int32_t partition, int64_t offset,
		   const char *error)
{
	struct ev_kafka_sink *s = ctx;

	(void)partition;
	(void)offset;
	if (error == NULL) {
		s->st.delivered++;
		return;
	}
	if (s->failed++ == 0)
		s->failed_offset = (uint64_t)(uintptr_t)opaque;
}

int ev_kafka_sink_open(struct ev_kafka_sink **out,
		       const struct ev_kafka_conn_opts *co,
		       enum ev_kafka_format fmt, const char *source,
		       struct ev_error *err)
{
	struct ev_kafka_sink *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->source = strdup(source)) == NULL) {
		free(s);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	s->fmt = fmt;
	ev_kafka_msg_reset(&s->m);
	if ((rc = ev_kafka_producer_open(&s->p, co, on_ack, s, err)) != 0) {
		ev_kafka_sink_close(s, NULL);
		return rc;
	}
	*out = s;
	return 0;
}

/* Wait for every delivery report: an error names the count not
 * delivered (the producer's message) and the first of them. */
static int flush(struct ev_kafka_sink *s, struct ev_error *err)
{
	int rc = ev_kafka_producer_flush(s->p, err);

	if (rc != 0 && s->failed > 0 && s->failed_offset > 0)
		ev_err_prefix(err, "offset %llu of '%s' and after: ",
			      (unsigned long long)(s->failed_offset - 1),
			      s->source);
	return rc;
}

int ev_kafka_sink_event(void *ctx, const struct ev_rec *rec,
			const struct ev_event *ev, struct ev_error *err)
{
	struct ev_kafka_sink *s = ctx;
	int rc;

	if (ev == NULL)
		return ev_seterr(err, EV_EUSAGE, "a replay needs the event");
	/* a record the cluster gave up on: stop here, not at the end */
	if (s->failed > 0)
		return flush(s, err);
	if ((rc = ev_kafka_event_to_msg(ev, s->fmt, &s->m, err)) != 0) {
		ev_err_prefix(err, "offset %llu of '%s': ",
			      (unsigned long long)rec->offset, s->source);
		return rc;
	}
	if ((rc = ev_kafka_produce(s->p, &s->m,
				   (void *)(uintptr_t)(rec->offset + 1),
				   err)) != 0)
		return rc;
	s->st.sent++;
	return 0;
}

int ev_kafka_sink_flush(void *ctx, struct ev_error *err)
{
	return flush(ctx, err);
}

const struct ev_kafka_sink_stats *
ev_kafka_sink_stats(const struct ev_kafka_sink *s)
{
	return &s->st;
}

int ev_kafka_sink_close(struct ev_kafka_sink *s, struct ev_error *err)
{
	struct ev_error e2;
	int rc = 0;

	if (s == NULL)
		return 0;
	if (s->p != NULL) {
		rc = flush(s, err != NULL ? err : &e2);
		ev_kafka_producer_close(s->p);
	}
	ev_kafka_msg_free(&s->m);
	free(s->source);
	free(s);
	return rc;
}
