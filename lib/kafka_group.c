/*
 * kafka_group.c - a Kafka consumer's commits (kafka_consume_int.h): a
 * group member's rebalances, its commits, retried while the coordinator
 * moves, and what a rebalance refused to commit, sent again at the end
 * of a run (ev_kafka_consumer_settle()); without a group, the positions
 * a cursor file records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_consume_int.h"

static rd_kafka_resp_err_t commit_retrying(struct ev_kafka_consumer *c,
					   rd_kafka_topic_partition_list_t *l,
					   int budget_ms);

/* Partitions assigned, some of them with an offset handled before a
 * rebalance took them and not committed then: each starts there rather
 * than at the group's commit (its events are not handled twice), unless
 * the group has gone further since (another member had it). */
static void resume_unsent(struct ev_kafka_consumer *c,
			  rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_topic_partition_list_t *q;
	int i, j;

	if ((q = rd_kafka_topic_partition_list_new(l->cnt)) == NULL)
		return;
	for (i = 0; i < l->cnt; i++) {
		int32_t p = l->elems[i].partition;
		if (p >= 0 && p < c->nparts && c->unsent[p] >= 0 &&
		    tp_add(q, l->elems[i].topic, p, RD_KAFKA_OFFSET_INVALID) !=
			    0)
			break;
	}
	/* the group's commits (not known: ours) */
	if (q->cnt > 0 &&
	    rd_kafka_committed(c->rk, q, c->o.conn.timeout_ms) != 0)
		for (i = 0; i < q->cnt; i++)
			q->elems[i].err = RD_KAFKA_RESP_ERR__TIMED_OUT;
	for (i = 0; i < q->cnt; i++) {
		int32_t p = q->elems[i].partition;
		if (q->elems[i].err == 0 &&
		    q->elems[i].offset >= c->unsent[p]) {
			c->unsent[p] = -1; /* the group went further */
			continue;
		}
		for (j = 0; j < l->cnt; j++)
			if (l->elems[j].partition == p)
				l->elems[j].offset = c->unsent[p];
	}
	rd_kafka_topic_partition_list_destroy(q);
}

/* Send the offsets a rebalance refused, of the partitions ours now:
 * 0 when none is left of them, else the error. */
static rd_kafka_resp_err_t commit_unsent(struct ev_kafka_consumer *c,
					 int budget_ms)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
	int i;

	if (c->unsent == NULL ||
	    (l = rd_kafka_topic_partition_list_new(c->nparts)) == NULL)
		return e;
	for (i = 0; i < c->nparts; i++)
		if (c->unsent[i] >= 0 && c->assigned_to[i])
			tp_add(l, c->o.conn.addr->topic, i, c->unsent[i]);
	if (l->cnt > 0 && (e = commit_retrying(c, l, budget_ms)) == 0)
		for (i = 0; i < l->cnt; i++) {
			c->acked[l->elems[i].partition] = l->elems[i].offset;
			c->unsent[l->elems[i].partition] = -1;
		}
	rd_kafka_topic_partition_list_destroy(l);
	return e;
}

/* A rebalance of the group: partitions assigned, or revoked (the owner
 * of the consumer commits what it finished first). */
void ev_kafka_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
			   rd_kafka_topic_partition_list_t *l, void *opaque)
{
	struct ev_kafka_consumer *c = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	int32_t *parts = NULL;
	int i, n = 0;

	if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		c->rebalancing = 0;
		resume_unsent(c, l);
		for (i = 0; i < l->cnt; i++) {
			int32_t p = l->elems[i].partition;
			if (p < 0 || p >= c->nparts || c->assigned_to[p])
				continue;
			c->assigned_to[p] = 1;
			c->done[p] = 0;
			c->nleft++;
		}
		c->assigned = 1;
		c->idle_since = mono_ms();
		if (coop)
			rd_kafka_error_destroy(
				rd_kafka_incremental_assign(rk, l));
		else
			rd_kafka_assign(rk, l);
		commit_unsent(c, c->o.conn.timeout_ms);
		/* the others' are another member's now, which handles them
		 * again (at least once); at the end, they are named */
		for (i = 0; !c->settling && i < c->nparts; i++)
			if (!c->assigned_to[i])
				c->unsent[i] = -1;
		return;
	}
	c->rebalancing = 1;
	/* revoked (or lost): commit what is finished while they are ours */
	parts = malloc((size_t)(l->cnt > 0 ? l->cnt : 1) * sizeof(*parts));
	for (i = 0; parts != NULL && i < l->cnt; i++)
		if (l->elems[i].partition >= 0 &&
		    l->elems[i].partition < c->nparts)
			parts[n++] = l->elems[i].partition;
	if (c->revoke != NULL && parts != NULL &&
	    e == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
		c->revoke(c->revoke_ctx, parts, n);
	for (i = 0; parts != NULL && i < n; i++) {
		if (c->assigned_to[parts[i]] && !c->done[parts[i]])
			c->nleft--;
		c->assigned_to[parts[i]] = 0;
		c->done[parts[i]] = 1;
	}
	free(parts);
	if (coop)
		rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, l));
	else
		rd_kafka_assign(rk, NULL);
	if (!coop)
		c->assigned = 0;
}

void ev_kafka_consumer_on_revoke(struct ev_kafka_consumer *c,
				 ev_kafka_revoke_fn fn, void *ctx)
{
	c->revoke = fn;
	c->revoke_ctx = ctx;
}

int ev_kafka_consumer_owns(const struct ev_kafka_consumer *c, int32_t p)
{
	if (c->o.group == NULL)
		return 1;
	return p >= 0 && p < c->nparts && c->assigned_to[p];
}

/* A commit that the coordinator could not take yet (it moved, restarts,
 * or loads the group's offsets) is sent again, backing off, until
 * --kafka-timeout has passed. */
static rd_kafka_resp_err_t commit_retrying(struct ev_kafka_consumer *c,
					   rd_kafka_topic_partition_list_t *l,
					   int budget_ms)
{
	int64_t t0 = mono_ms();
	int wait_ms = 50;
	rd_kafka_resp_err_t e;

	for (;;) {
		e = rd_kafka_commit(c->rk, l, 0);
		switch (e) {
		case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
		case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
		case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
		case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
		case RD_KAFKA_RESP_ERR__TRANSPORT:
		case RD_KAFKA_RESP_ERR__TIMED_OUT:
		case RD_KAFKA_RESP_ERR__WAIT_COORD:
			break;
		default:
			return e;
		}
		if (mono_ms() - t0 + wait_ms > budget_ms)
			return e;
		/* no rd_kafka_poll(): the main queue is the consumer's */
		{
			struct timespec ts = {wait_ms / 1000,
					      (long)(wait_ms % 1000) *
						      1000000L};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		if (wait_ms < 1000)
			wait_ms *= 2;
	}
}

int ev_kafka_consumer_commit(struct ev_kafka_consumer *c, const int64_t *next,
			     int nparts, struct ev_error *err)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;
	int i;

	if (c->o.group == NULL) {
		/* no group: a cursor file's positions */
		for (i = 0; i < nparts && i < c->nparts; i++)
			if (next[i] >= 0)
				c->delivered[i] = next[i];
		return 0;
	}
	if ((l = rd_kafka_topic_partition_list_new(c->nparts)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < c->nparts; i++) {
		/* with what an earlier commit left unsent */
		int64_t o = i < nparts ? next[i] : -1;
		if (c->unsent[i] > o)
			o = c->unsent[i];
		if (o >= 0 && c->assigned_to[i] &&
		    tp_add(l, c->o.conn.addr->topic, i, o) != 0) {
			rd_kafka_topic_partition_list_destroy(l);
			return ev_seterr(err, EV_ERR, "out of memory");
		}
	}
	e = l->cnt > 0 ? commit_retrying(c, l, c->o.conn.timeout_ms)
		       : RD_KAFKA_RESP_ERR_NO_ERROR;
	for (i = 0; i < l->cnt; i++) {
		int32_t p = l->elems[i].partition;
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			c->acked[p] = l->elems[i].offset;
			c->unsent[p] = -1;
		} else {
			c->unsent[p] = l->elems[i].offset;
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
	switch (e) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
	case RD_KAFKA_RESP_ERR__NO_OFFSET:
		return 0;
	case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
	case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
	case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
	case RD_KAFKA_RESP_ERR__STATE:
		/* no longer ours: the next owner handles them again (at
		 * least once) */
		return EV_EAGAIN;
	default:
		return ev_seterr(err, EV_EIO,
				 "kafka '%s': topic '%s': group '%s': "
				 "commit: %s",
				 c->o.conn.addr->brokers, c->o.conn.addr->topic,
				 c->o.group, rd_kafka_err2str(e));
	}
}

/* The end of a group member's run: what a rebalance refused to commit
 * is sent again while its partitions are ours, through the rebalance if
 * one is under way (the consumer is polled for it: records read then
 * are not handled, and start the next run), within --kafka-timeout.
 * Whatever a rebalance gave to another member, or did not give back in
 * time, is named in err, with EV_EAGAIN: its next owner handles it
 * again. */
int ev_kafka_consumer_settle(struct ev_kafka_consumer *c, struct ev_error *err)
{
	int64_t t0 = mono_ms(), left;
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
	struct ev_buf b = {0};
	int i, n = 0, waiting, r = 0;

	if (c->o.group == NULL || c->unsent == NULL)
		return 0;
	c->settling = 1;
	for (;;) {
		left = c->o.conn.timeout_ms - (mono_ms() - t0);
		e = commit_unsent(c, left > 0 ? (int)left : 0);
		/* partitions of ours taken away, and not given back yet */
		for (i = waiting = 0; i < c->nparts; i++)
			if (c->unsent[i] >= 0 &&
			    (c->assigned_to[i] ? e != 0 : c->rebalancing))
				waiting = 1;
		if (!waiting || mono_ms() - t0 >= c->o.conn.timeout_ms)
			break;
		{
			rd_kafka_message_t *rm =
				rd_kafka_consumer_poll(c->rk, 100);
			if (rm != NULL)
				rd_kafka_message_destroy(rm);
		}
	}
	if (e != 0 && e != RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS &&
	    e != RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION &&
	    e != RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID &&
	    e != RD_KAFKA_RESP_ERR__STATE) {
		r = ev_seterr(err, EV_EIO,
			      "kafka '%s': topic '%s': group '%s': commit: %s",
			      c->o.conn.addr->brokers, c->o.conn.addr->topic,
			      c->o.group, rd_kafka_err2str(e));
		goto out;
	}
	for (i = 0; i < c->nparts; i++) {
		if (c->unsent[i] < 0)
			continue;
		if (c->acked[i] >= 0 && c->acked[i] < c->unsent[i])
			ev_buf_printf(&b, "%s%d (offsets %lld to %lld)",
				      n++ ? ", " : "", i,
				      (long long)c->acked[i],
				      (long long)c->unsent[i] - 1);
		else
			ev_buf_printf(&b, "%s%d (before offset %lld)",
				      n++ ? ", " : "", i,
				      (long long)c->unsent[i]);
	}
	if (n > 0) {
		const char *why = "a rebalance gave them to another member";
		for (i = 0; i < c->nparts; i++)
			if (c->unsent[i] >= 0 && c->assigned_to[i])
				why = "the group refused the commit until "
				      "--kafka-timeout";
		if (c->rebalancing)
			why = "the group's rebalance did not end within "
			      "--kafka-timeout";
		r = ev_seterr(
			err, EV_EAGAIN,
			"kafka '%s': topic '%s': group '%s': handled, not "
			"committed: partition%s %s: %s; the group "
			"handles them again",
			c->o.conn.addr->brokers, c->o.conn.addr->topic,
			c->o.group, n > 1 ? "s" : "", b.p, why);
	}
out:
	ev_buf_free(&b);
	return r;
}
