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
#include <time.h>

#include "evlog_private.h"

/* Where a record in flight came from: its offset in a local source, or
 * its partition and offset in a Kafka one; free ones are chained. */
struct kslot {
	uint64_t offset;
	int64_t koffset;
	int32_t partition; /* -1: a local source */
	size_t next_free;  /* 1 + the next free slot, 0 none */
};

struct ev_kafka_sink {
	struct ev_kafka_producer *p;
	enum ev_kafka_format fmt;
	struct ev_kafka_msg m;
	char *source; /* the source as named to the user */
	struct ev_kafka_sink_stats st;
	struct kslot *slots;
	size_t nslots, free1; /* free1: 1 + the first free slot, 0 none */
	/* not delivered: the lowest offset of a local source, plus 1 (0
	 * none); of a Kafka source, the lowest per partition (-1 none) */
	uint64_t failed_offset;
	int64_t *kfailed;
	int32_t nkfailed;
	const volatile sig_atomic_t *stop; /* then acks are waited for */
	int timeout_ms;			   /* this long, at most */
};

/* A slot for rec: 1 + its index, or 0 out of memory. */
static size_t slot_take(struct ev_kafka_sink *s, const struct ev_rec *rec)
{
	struct kslot *k;
	size_t i;

	if (s->free1 == 0) {
		size_t n = s->nslots ? 2 * s->nslots : 64;
		if ((k = realloc(s->slots, n * sizeof(*k))) == NULL)
			return 0;
		s->slots = k;
		for (i = s->nslots; i < n; i++)
			k[i].next_free = i + 1 < n ? i + 2 : 0;
		s->free1 = s->nslots + 1;
		s->nslots = n;
	}
	i = s->free1 - 1;
	k = &s->slots[i];
	s->free1 = k->next_free;
	k->offset = rec->offset;
	k->partition = rec->kafka ? rec->partition : -1;
	k->koffset = rec->kafka ? rec->koffset : -1;
	return i + 1;
}

static void slot_give(struct ev_kafka_sink *s, size_t i1)
{
	s->slots[i1 - 1].next_free = s->free1;
	s->free1 = i1;
}

/* A record not delivered: the lowest such place is kept. */
static void note_failed(struct ev_kafka_sink *s, const struct kslot *k)
{
	int64_t *nf;
	int32_t i;

	if (k->partition < 0) {
		if (s->failed_offset == 0 || k->offset + 1 < s->failed_offset)
			s->failed_offset = k->offset + 1;
		return;
	}
	if (k->partition >= s->nkfailed) {
		if ((nf = realloc(s->kfailed, ((size_t)k->partition + 1) *
						      sizeof(*nf))) == NULL)
			return; /* the count stays right; the place unnamed */
		for (i = s->nkfailed; i <= k->partition; i++)
			nf[i] = -1;
		s->kfailed = nf;
		s->nkfailed = k->partition + 1;
	}
	if (s->kfailed[k->partition] < 0 ||
	    k->koffset < s->kfailed[k->partition])
		s->kfailed[k->partition] = k->koffset;
}

/* A delivery report; opaque is 1 + the record's slot. */
static void on_ack(void *ctx, void *opaque, int32_t partition, int64_t offset,
		   const char *error)
{
	struct ev_kafka_sink *s = ctx;
	size_t i1 = (size_t)(uintptr_t)opaque;

	(void)partition;
	(void)offset;
	if (error == NULL) {
		s->st.delivered++;
	} else {
		s->st.failed++;
		if (i1 > 0)
			note_failed(s, &s->slots[i1 - 1]);
	}
	if (i1 > 0)
		slot_give(s, i1);
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
	s->timeout_ms = co->timeout_ms;
	ev_kafka_msg_reset(&s->m);
	if ((rc = ev_kafka_producer_open(&s->p, co, on_ack, s, err)) != 0) {
		ev_kafka_sink_close(s, NULL);
		return rc;
	}
	*out = s;
	return 0;
}

/* Wait for every delivery report: an error names the count not
 * delivered (the producer's message) and the first of them, in a Kafka
 * source the first in each partition. */
static int flush(struct ev_kafka_sink *s, struct ev_error *err)
{
	struct timespec ts;
	int64_t now, give_up = -1;
	char at[512];
	size_t n = 0;
	int32_t i;
	int rc;

	/* librdkafka's retries take message.timeout.ms (5 minutes); once
	 * stopped, not more than the timeout: the rest is not delivered */
	while (ev_kafka_producer_wait(s->p, 100) > 0) {
		if (s->stop == NULL || !*s->stop)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (give_up < 0) {
			give_up = now + s->timeout_ms;
		} else if (now >= give_up) {
			ev_kafka_producer_purge(s->p);
			break;
		}
	}
	rc = ev_kafka_producer_flush(s->p, err);

	if (rc == 0 || s->st.failed == 0)
		return rc;
	if (s->failed_offset > 0) {
		ev_err_prefix(err, "offset %llu of '%s' and after: ",
			      (unsigned long long)(s->failed_offset - 1),
			      s->source);
		return rc;
	}
	at[0] = '\0';
	for (i = 0; i < s->nkfailed && n < sizeof(at); i++)
		if (s->kfailed[i] >= 0)
			n += (size_t)snprintf(at + n, sizeof(at) - n,
					      "%s%d:%lld", n > 0 ? ", " : "",
					      (int)i, (long long)s->kfailed[i]);
	if (n > 0)
		ev_err_prefix(err, "offsets %s%s of '%s' and after: ", at,
			      n >= sizeof(at) ? "..." : "", s->source);
	return rc;
}

int ev_kafka_sink_event(void *ctx, const struct ev_rec *rec,
			const struct ev_event *ev, struct ev_error *err)
{
	struct ev_kafka_sink *s = ctx;
	size_t i1;
	int rc;

	if (ev == NULL)
		return ev_seterr(err, EV_EUSAGE, "a replay needs the event");
	/* a record the cluster gave up on: stop here, not at the end */
	if (s->st.failed > 0)
		return flush(s, err);
	if ((rc = ev_kafka_event_to_msg(ev, s->fmt, &s->m, err)) != 0) {
		if (rec->kafka)
			ev_err_prefix(err, "offset %d:%lld of '%s': ",
				      (int)rec->partition,
				      (long long)rec->koffset, s->source);
		else
			ev_err_prefix(err, "offset %llu of '%s': ",
				      (unsigned long long)rec->offset,
				      s->source);
		return rc;
	}
	if ((i1 = slot_take(s, rec)) == 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	if ((rc = ev_kafka_produce(s->p, &s->m, (void *)(uintptr_t)i1, err)) !=
	    0) {
		slot_give(s, i1);
		return rc;
	}
	s->st.sent++;
	return 0;
}

void ev_kafka_sink_set_stop(struct ev_kafka_sink *s,
			    const volatile sig_atomic_t *stop)
{
	s->stop = stop;
}

int64_t ev_kafka_sink_failed_from(const struct ev_kafka_sink *s,
				  int32_t partition)
{
	if (partition < 0)
		return s->failed_offset > 0 ? (int64_t)(s->failed_offset - 1)
					    : -1;
	return partition < s->nkfailed ? s->kfailed[partition] : -1;
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
	free(s->slots);
	free(s->kfailed);
	free(s->source);
	free(s);
	return rc;
}
