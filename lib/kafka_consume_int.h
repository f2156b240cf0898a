/*
 * kafka_consume_int.h - struct ev_kafka_consumer, shared by
 * kafka_consume.c (opening, reading, closing), kafka_start.c (where a
 * consumer without a group starts each partition) and kafka_group.c (a
 * group member's rebalances and commits).  kafka_consume.c calls the
 * other two, never the other way round.
 */
#ifndef EV_KAFKA_CONSUME_INT_H
#define EV_KAFKA_CONSUME_INT_H

#include <time.h>

#include "kafka_client_int.h"

struct held;

struct ev_kafka_consumer {
	rd_kafka_t *rk;
	struct ev_kafka_consumer_opts o;
	int nparts;
	int *done; /* per partition: at its end (not following) */
	int nleft; /* partitions not at their end */
	/* -n: the last N of each partition, merged by time */
	struct held *held;
	size_t nheld, capheld, next_held;
	int backlog;	    /* still gathering the held records */
	int64_t idle_since; /* ms: no record nor end since (not following) */
	/* following: librdkafka said every broker is down at down_since
	 * (ms, 0: it did not), and when the metadata was last asked for
	 * to see them back */
	int64_t down_since, probed;
	/* a group: the partitions assigned (done[] then says which of
	 * them are at their end), and who hears of a revoke */
	int assigned;
	char *assigned_to; /* per partition: ours now */
	ev_kafka_revoke_fn revoke;
	void *revoke_ctx;
	/* per partition: --to's last offset (-1: none); where the read
	 * started and the offset after the last record delivered, for a
	 * cursor file (-1: not known) */
	int64_t *stop, *start, *delivered;
	/* partitions read that stop at --to, and those that did */
	int nstopping, nstopped;
	char *stop_seen; /* per partition: its --to reached */
	int ntaken;	 /* partitions read (no group) */
	/* a group, per partition: the offset a rebalance refused to
	 * commit (handled, not committed; -1: none), sent again while the
	 * partition is ours or once it is ours again, and the last offset
	 * the group took from us (-1: none); rebalancing: partitions were
	 * revoked and none assigned since */
	int64_t *unsent, *acked;
	int rebalancing, settling;
};

/* milliseconds on the monotonic clock */
static inline int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* partition part of topic, at offset off, added to l: -1 out of memory */
static inline int tp_add(rd_kafka_topic_partition_list_t *l, const char *topic,
			 int32_t part, int64_t off)
{
	rd_kafka_topic_partition_t *tp =
		rd_kafka_topic_partition_list_add(l, topic, part);

	if (tp == NULL)
		return -1;
	tp->offset = off;
	return 0;
}

/* Each partition's start, into l (kafka_start.c): from the start, the
 * end, @TIME, P:OFFSET, a cursor's offsets or the last N of each, and
 * --to's last offsets into c->stop. */
int ev_kafka_starts(struct ev_kafka_consumer *c,
		    rd_kafka_topic_partition_list_t *l, struct ev_error *err);
/* A rebalance of the group (kafka_group.c): partitions assigned, or
 * revoked (the owner of the consumer commits what it finished first). */
void ev_kafka_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
			   rd_kafka_topic_partition_list_t *l, void *opaque);

#endif
