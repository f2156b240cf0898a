/*
 * kafka_start.c - where a consumer without a group starts each
 * partition of its topic (kafka_consume_int.h): from the start or the
 * end, at @TIME through the offsets-for-times lookup, at --from
 * P:OFFSET or a cursor file's offsets (checked against the watermarks),
 * or the last N of each; and where --to stops each.
 */
#include <stdio.h>

#include "kafka_consume_int.h"

/* each partition's start */
static int plan(struct ev_kafka_consumer *c, rd_kafka_topic_partition_list_t *l,
		struct ev_error *err)
{
	const struct ev_kafka_consumer_opts *o = &c->o;
	const char *topic = o->conn.addr->topic;
	int64_t lo, hi;
	int i;
	size_t k;
	int named = 0, times = 0;
	const char *what = o->cursor_what ? o->cursor_what : "cursor file";

	if (o->cursor_parts > 0 && o->cursor_parts != c->nparts)
		return ev_seterr(err, EV_EDATA,
				 "%s '%s' was made when topic '%s' had %d "
				 "partitions; it has %d now",
				 what, o->cursor_name, topic,
				 (int)o->cursor_parts, c->nparts);
	for (k = 0; k < o->nfrom; k++)
		if (o->from[k].kind == EV_KAFKA_FROM_TIME)
			times = 1;
	for (k = 0; k < o->nfrom; k++)
		if (o->from[k].kind == EV_KAFKA_FROM_OFFSET) {
			if (o->from[k].partition >= c->nparts &&
			    o->cursor_name != NULL)
				return ev_seterr(
					err, EV_EDATA,
					"%s '%s' names partition "
					"%d, but topic '%s' has partitions 0 "
					"to %d",
					what, o->cursor_name,
					(int)o->from[k].partition, topic,
					c->nparts - 1);
			if (times)
				return ev_seterr(err, EV_EUSAGE,
						 "--from @TIME and --from "
						 "PARTITION:OFFSET do not go "
						 "together");
			if (o->from[k].partition >= c->nparts)
				return ev_seterr(
					err, EV_EUSAGE,
					"--from %d:%lld: topic '%s' has "
					"partitions 0 to %d",
					(int)o->from[k].partition,
					(long long)o->from[k].offset, topic,
					c->nparts - 1);
			/* a cursor's partitions; the others from the
			 * start (added to the topic since), unless its
			 * partition count is checked */
			named = o->cursor_name == NULL || o->cursor_parts > 0;
		}
	for (k = 0; k < o->nto; k++) {
		if (o->to[k].partition >= c->nparts)
			return ev_seterr(err, EV_EUSAGE,
					 "--to %d:%lld: topic '%s' has "
					 "partitions 0 to %d",
					 (int)o->to[k].partition,
					 (long long)o->to[k].offset, topic,
					 c->nparts - 1);
		c->stop[o->to[k].partition] = o->to[k].offset;
	}
	for (i = 0; i < c->nparts; i++) {
		int64_t off = RD_KAFKA_OFFSET_BEGINNING;
		int take = !named;

		for (k = 0; k < o->nfrom; k++) {
			const struct ev_kafka_from *f = &o->from[k];
			if (f->kind == EV_KAFKA_FROM_OFFSET) {
				if (f->partition == i) {
					off = f->offset;
					take = 1;
				}
			} else if (f->kind == EV_KAFKA_FROM_END) {
				off = RD_KAFKA_OFFSET_END;
			} else if (f->kind == EV_KAFKA_FROM_TIME) {
				/* a time in ms, resolved by resolve_times() */
				off = (int64_t)(f->time / 1000000);
			}
		}
		if (!take)
			continue;
		if (o->has_last) {
			rd_kafka_resp_err_t e =
				rd_kafka_query_watermark_offsets(
					c->rk, topic, i, &lo, &hi,
					o->conn.timeout_ms);
			if (e != 0)
				return ev_seterr(err, EV_EIO,
						 "kafka '%s': topic '%s': "
						 "partition %d: %s",
						 o->conn.addr->brokers, topic,
						 i, rd_kafka_err2str(e));
			off = hi - (int64_t)o->last > lo ? hi - (int64_t)o->last
							 : lo;
		}
		/* past its --to already: not read */
		if (c->stop[i] >= 0 && off >= 0 && off > c->stop[i] &&
		    !o->has_last && !times)
			continue;
		if (tp_add(l, topic, i, off) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	return 0;
}

/* Does --from name partition p (any, p < 0) with an offset
 * (PARTITION:OFFSET)? */
static int from_offset(const struct ev_kafka_consumer_opts *o, int32_t p)
{
	size_t k;

	for (k = 0; k < o->nfrom; k++)
		if (o->from[k].kind == EV_KAFKA_FROM_OFFSET &&
		    (p < 0 || o->from[k].partition == p))
			return 1;
	return 0;
}

/* A cursor's offset, or --from P:O's, off below partition p's first,
 * lo: said, and lo. */
static int64_t below_first(const struct ev_kafka_consumer *c, int32_t p,
			   int64_t off, int64_t lo)
{
	const struct ev_kafka_consumer_opts *o = &c->o;
	char msg[1024], at[256];

	if (o->notice == NULL)
		return lo;
	if (o->cursor_name != NULL)
		snprintf(at, sizeof(at),
			 "%s '%s' points to partition %d "
			 "offset %lld, but partition",
			 o->cursor_what ? o->cursor_what : "cursor file",
			 o->cursor_name, (int)p, (long long)off);
	else
		snprintf(at, sizeof(at), "--from %d:%lld: partition", (int)p,
			 (long long)off);
	snprintf(msg, sizeof(msg),
		 "%s %d of topic '%s' now begins at offset %lld: offsets %lld "
		 "to %lld were deleted by retention before they were read",
		 at, (int)p, o->conn.addr->topic, (long long)lo, (long long)off,
		 (long long)(lo - 1));
	o->notice(o->notice_ctx, msg);
	return lo;
}

/* Each start as an offset, for a cursor file or --from P:O: the start
 * and the end through the watermarks.  A cursor's offset past a
 * partition's end is an error (damaged data), --from's a usage error;
 * one before its first offset (gone by
 * retention), a cursor's or --from's, starts at the first, with a
 * warning. */
static int exact_starts(struct ev_kafka_consumer *c,
			rd_kafka_topic_partition_list_t *l,
			struct ev_error *err)
{
	const struct ev_kafka_consumer_opts *o = &c->o;
	int64_t lo, hi;
	int i;

	for (i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &l->elems[i];
		rd_kafka_resp_err_t e =
			rd_kafka_query_watermark_offsets(c->rk,
							 o->conn.addr->topic,
							 tp->partition, &lo,
							 &hi,
							 o->conn.timeout_ms);
		if (e != 0)
			return ev_seterr(err, EV_EIO,
					 "kafka '%s': topic '%s': partition "
					 "%d: %s",
					 o->conn.addr->brokers,
					 o->conn.addr->topic,
					 (int)tp->partition,
					 rd_kafka_err2str(e));
		if (tp->offset == RD_KAFKA_OFFSET_BEGINNING)
			tp->offset = lo;
		else if (tp->offset == RD_KAFKA_OFFSET_END)
			tp->offset = hi;
		else if (tp->offset > hi && o->cursor_name != NULL)
			return ev_seterr(err, EV_EDATA,
					 "%s '%s' points to partition "
					 "%d offset %lld, past its end (offset "
					 "%lld)",
					 o->cursor_what ? o->cursor_what
							: "cursor file",
					 o->cursor_name, (int)tp->partition,
					 (long long)tp->offset, (long long)hi);
		else if (tp->offset > hi && from_offset(o, tp->partition))
			/* as --from past the end of a local log: librdkafka
			 * would reset it to the first offset, and read all */
			return ev_seterr(
				err, EV_EUSAGE,
				"--from %d:%lld: offset %lld is past "
				"the end of partition %d of topic '%s' "
				"(offset %lld)",
				(int)tp->partition, (long long)tp->offset,
				(long long)tp->offset, (int)tp->partition,
				o->conn.addr->topic, (long long)hi);
		else if (tp->offset < lo && (o->cursor_name != NULL ||
					     from_offset(o, tp->partition)))
			tp->offset =
				below_first(c, tp->partition, tp->offset, lo);
		else if (tp->offset < lo)
			tp->offset = lo;
		c->start[tp->partition] = tp->offset;
	}
	return 0;
}

/* @TIME: the offsets-for-times lookup, for every partition */
static int resolve_times(struct ev_kafka_consumer *c,
			 rd_kafka_topic_partition_list_t *l,
			 struct ev_error *err)
{
	const struct ev_kafka_consumer_opts *o = &c->o;
	rd_kafka_topic_partition_list_t *q;
	rd_kafka_resp_err_t e;
	size_t k;
	int i, j, any = 0;

	for (k = 0; k < o->nfrom; k++)
		if (o->from[k].kind == EV_KAFKA_FROM_TIME)
			any = 1;
	if (!any || o->has_last)
		return 0;
	/* the partitions whose position is a time (>= 0 here) */
	q = rd_kafka_topic_partition_list_new(l->cnt);
	if (q == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < l->cnt; i++)
		if (l->elems[i].offset >= 0 &&
		    tp_add(q, o->conn.addr->topic, l->elems[i].partition,
			   l->elems[i].offset) != 0) {
			rd_kafka_topic_partition_list_destroy(q);
			return ev_seterr(err, EV_ERR, "out of memory");
		}
	e = q->cnt > 0
		    ? rd_kafka_offsets_for_times(c->rk, q, o->conn.timeout_ms)
		    : RD_KAFKA_RESP_ERR_NO_ERROR;
	for (i = 0; e == 0 && i < q->cnt; i++) {
		if (q->elems[i].err != 0) {
			e = q->elems[i].err;
			break;
		}
		for (j = 0; j < l->cnt; j++)
			if (l->elems[j].partition == q->elems[i].partition)
				/* no record at or after the time: the end */
				l->elems[j].offset =
					q->elems[i].offset >= 0
						? q->elems[i].offset
						: RD_KAFKA_OFFSET_END;
	}
	rd_kafka_topic_partition_list_destroy(q);
	if (e != 0)
		return ev_seterr(
			err, EV_EIO,
			"kafka '%s': topic '%s': offsets for times: %s",
			o->conn.addr->brokers, o->conn.addr->topic,
			rd_kafka_err2str(e));
	return 0;
}

int ev_kafka_starts(struct ev_kafka_consumer *c,
		    rd_kafka_topic_partition_list_t *l, struct ev_error *err)
{
	const struct ev_kafka_consumer_opts *o = &c->o;
	int r;

	if ((r = plan(c, l, err)) != 0 || (r = resolve_times(c, l, err)) != 0)
		return r;
	if (o->track || o->cursor_name != NULL || from_offset(o, -1))
		return exact_starts(c, l, err);
	return 0;
}
