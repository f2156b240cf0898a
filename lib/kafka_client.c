/*
 * kafka_client.c - the librdkafka side of Kafka logs: an idempotent
 * producer with delivery reports, and a consumer without a group that
 * reads a topic's partitions from positions (start, end, @TIME through
 * the offsets-for-times lookup, P:OFFSET, the last N of each).
 *
 * Every wait on the cluster is bounded by the --kafka-timeout: an
 * unreachable cluster is an error within it, never a hang.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlkafka_int.h"
#include "evlog_private.h"
#include "kafka_pos_int.h"

/* ------------------------------------------------------------ config */

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
		    int user, struct ev_error *err)
{
	char es[512];

	if (rd_kafka_conf_set(conf, k, v, es, sizeof(es)) != RD_KAFKA_CONF_OK)
		return ev_seterr(err, EV_EUSAGE, "%s%s", user ? "-X: " : "",
				 es);
	return 0;
}

/* librdkafka's own log lines stay quiet: its errors reach the user
 * through ours */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac,
		      const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

/* ours first, then the user's -X and --kafka-config, which win */
static rd_kafka_conf_t *make_conf(const struct ev_kafka_conn_opts *o,
				  const char *const *ours, struct ev_error *err)
{
	rd_kafka_conf_t *conf;
	char tmp[32];
	size_t i;

	/* librdkafka is loaded for the first client of a run */
	if (ev_dl_rdkafka(o->addr->brokers, err) != 0)
		return NULL;
	if ((conf = rd_kafka_conf_new()) == NULL) {
		ev_seterr(err, EV_ERR, "out of memory");
		return NULL;
	}
	/* librdkafka takes no less than a second here */
	snprintf(tmp, sizeof(tmp), "%d",
		 o->timeout_ms < 1000 ? 1000 : o->timeout_ms);
	if (conf_set(conf, "bootstrap.servers", o->addr->brokers, 0, err) ||
	    conf_set(conf, "socket.connection.setup.timeout.ms", tmp, 0, err) ||
	    conf_set(conf, "log_level", "3", 0, err))
		goto fail;
	for (i = 0; ours != NULL && ours[i] != NULL; i += 2)
		if (conf_set(conf, ours[i], ours[i + 1], 0, err) != 0)
			goto fail;
	for (i = 0; o->props != NULL && i < o->props->n; i++)
		if (conf_set(conf, o->props->kv[2 * i], o->props->kv[2 * i + 1],
			     1, err) != 0)
			goto fail;
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* the topic's partition count, within the timeout: EV_ENOENT when it
 * does not exist, EV_EIO when the cluster does not answer.  The metadata
 * of all topics, since asking for one may create it (the mock cluster,
 * and brokers with auto.create.topics.enable, create it for a producer
 * whatever allow.auto.create.topics says). */
static int topic_partitions(rd_kafka_t *rk, const struct ev_kafka_conn_opts *o,
			    int *nparts, struct ev_error *err)
{
	const struct rd_kafka_metadata *md = NULL;
	const struct rd_kafka_metadata_topic *t = NULL;
	rd_kafka_resp_err_t e;
	int r = 0, i;

	e = rd_kafka_metadata(rk, 1, NULL, &md, o->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ev_seterr(err, EV_EIO,
				 "kafka '%s': no metadata within %d ms "
				 "(--kafka-timeout): %s",
				 o->addr->brokers, o->timeout_ms,
				 rd_kafka_err2str(e));
	for (i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, o->addr->topic) == 0)
			t = &md->topics[i];
	if (t == NULL || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
	    (t->err == 0 && t->partition_cnt == 0))
		r = ev_seterr(err, EV_ENOENT, "kafka '%s': no topic '%s'",
			      o->addr->brokers, o->addr->topic);
	else if (t->err != 0)
		r = ev_seterr(err, EV_EIO, "kafka '%s': topic '%s': %s",
			      o->addr->brokers, o->addr->topic,
			      rd_kafka_err2str(t->err));
	else
		*nparts = t->partition_cnt;
	rd_kafka_metadata_destroy(md);
	return r;
}

/* ------------------------------------------------------------ producer */

struct ev_kafka_producer {
	rd_kafka_t *rk;
	const struct ev_kafka_conn_opts *o;
	ev_kafka_ack_fn ack;
	void *ctx;
	uint64_t sent, acked, failed;
	rd_kafka_resp_err_t first_err;
	char first_msg[512];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
			void *opaque)
{
	struct ev_kafka_producer *p = opaque;

	(void)rk;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (p->failed++ == 0) {
			p->first_err = m->err;
			snprintf(p->first_msg, sizeof(p->first_msg), "%s",
				 rd_kafka_err2str(m->err));
		}
	} else {
		p->acked++;
	}
	if (p->ack != NULL)
		p->ack(p->ctx, m->_private, m->partition, m->offset,
		       m->err ? rd_kafka_err2str(m->err) : NULL);
}

int ev_kafka_producer_open(struct ev_kafka_producer **out,
			   const struct ev_kafka_conn_opts *o,
			   ev_kafka_ack_fn ack, void *ctx, struct ev_error *err)
{
	/* ours, applied before -X and --kafka-config, which win */
	char tmo[16];
	const char *const ours[] = {
		"enable.idempotence",
		"true",
		"acks",
		"all",
		"compression.type",
		"zstd",
		"partitioner",
		"murmur2_random",
		"allow.auto.create.topics",
		"false",
		/* a delivery gives up within the timeout, not librdkafka's
		 * five minutes */
		"message.timeout.ms",
		tmo,
		/* and on time with every broker down: a broker thread
		 * checks its messages' timeouts only between attempts to
		 * reconnect, which back off up to reconnect.backoff.max.ms
		 * (10 s): a second at most */
		"reconnect.backoff.max.ms",
		"1000",
		/* at most 5,000 records queued, not librdkafka's 100,000: a
		 * producer that outruns its brokers otherwise holds tens of
		 * MB of records in flight, fresh pages each (page faults,
		 * cold caches for the brokers' zstd), and spends more CPU
		 * than it saves (bench/README.md "Kafka on the mock
		 * cluster", kpub2) */
		"queue.buffering.max.messages",
		"5000",
		NULL,
	};
	struct ev_kafka_producer *p;
	rd_kafka_conf_t *conf;
	char es[512];
	int nparts, r;

	*out = NULL;
	snprintf(tmo, sizeof(tmo), "%d",
		 o->timeout_ms < 1000 ? 1000 : o->timeout_ms);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	p->o = o;
	p->ack = ack;
	p->ctx = ctx;
	if ((conf = make_conf(o, ours, err)) == NULL) {
		free(p);
		return err->code;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_opaque(conf, p);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof(es));
	if (p->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		free(p);
		return ev_seterr(err, EV_EUSAGE, "kafka: %s", es);
	}
	if ((r = topic_partitions(p->rk, o, &nparts, err)) != 0) {
		ev_kafka_producer_close(p);
		return r;
	}
	*out = p;
	return 0;
}

int ev_kafka_produce(struct ev_kafka_producer *p, const struct ev_kafka_msg *m,
		     void *opaque, struct ev_error *err)
{
	return ev_kafka_produce_to(p, m, RD_KAFKA_PARTITION_UA, opaque, err);
}

int ev_kafka_produce_to(struct ev_kafka_producer *p,
			const struct ev_kafka_msg *m, int32_t partition,
			void *opaque, struct ev_error *err)
{
	rd_kafka_headers_t *hs = rd_kafka_headers_new(m->nh);
	rd_kafka_resp_err_t e;
	size_t i;

	if (hs == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < m->nh; i++)
		rd_kafka_header_add(hs, m->h[i].name, -1, m->h[i].value,
				    m->h[i].value != NULL ? (ssize_t)m->h[i].len
							  : 0);
	for (;;) {
		e = rd_kafka_producev(
			p->rk, RD_KAFKA_V_TOPIC(p->o->addr->topic),
			RD_KAFKA_V_PARTITION(partition),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_KEY(m->has_key ? m->key.p : NULL,
				       m->has_key ? m->key.len : 0),
			RD_KAFKA_V_VALUE(m->has_value ? m->value.p : NULL,
					 m->has_value ? m->value.len : 0),
			RD_KAFKA_V_TIMESTAMP(m->timestamp >= 0 ? m->timestamp
							       : 0),
			RD_KAFKA_V_HEADERS(hs), RD_KAFKA_V_OPAQUE(opaque),
			RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(p->rk, 100); /* room for more */
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rd_kafka_headers_destroy(hs); /* not taken on failure */
		return ev_seterr(err, EV_EIO, "kafka '%s': topic '%s': %s",
				 p->o->addr->brokers, p->o->addr->topic,
				 rd_kafka_err2str(e));
	}
	/* delivery reports, in bulk: each poll takes the queue's lock and
	 * reads the clock, whether or not a report waits */
	if (++p->sent % 64 == 0)
		rd_kafka_poll(p->rk, 0);
	return 0;
}

int ev_kafka_producer_flush(struct ev_kafka_producer *p, struct ev_error *err)
{
	while (rd_kafka_outq_len(p->rk) > 0)
		rd_kafka_flush(p->rk, 1000);
	rd_kafka_poll(p->rk, 0);
	if (p->failed > 0)
		return ev_seterr(err, EV_EIO,
				 "kafka '%s': topic '%s': %llu of %llu "
				 "events not delivered: %s",
				 p->o->addr->brokers, p->o->addr->topic,
				 (unsigned long long)p->failed,
				 (unsigned long long)p->sent, p->first_msg);
	return 0;
}

void ev_kafka_producer_poll(struct ev_kafka_producer *p)
{
	rd_kafka_poll(p->rk, 0);
}

int ev_kafka_producer_wait(struct ev_kafka_producer *p, int timeout_ms)
{
	rd_kafka_flush(p->rk, timeout_ms);
	rd_kafka_poll(p->rk, 0);
	return rd_kafka_outq_len(p->rk);
}

void ev_kafka_producer_purge(struct ev_kafka_producer *p)
{
	int i;

	rd_kafka_purge(p->rk,
		       RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	for (i = 0; i < 50 && rd_kafka_outq_len(p->rk) > 0; i++)
		rd_kafka_poll(p->rk, 100);
}

uint64_t ev_kafka_producer_acked(const struct ev_kafka_producer *p)
{
	return p->acked;
}

void ev_kafka_producer_close(struct ev_kafka_producer *p)
{
	if (p == NULL)
		return;
	if (p->rk != NULL)
		rd_kafka_destroy(p->rk);
	free(p);
}

/* ------------------------------------------------------------ consumer */

struct held {
	struct ev_kafka_msg m;
	int32_t partition;
	int64_t offset;
};

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

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tp_add(rd_kafka_topic_partition_list_t *l, const char *topic,
		  int32_t part, int64_t off)
{
	rd_kafka_topic_partition_t *tp =
		rd_kafka_topic_partition_list_add(l, topic, part);

	if (tp == NULL)
		return -1;
	tp->offset = off;
	return 0;
}

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

/* A rebalance of the group: partitions assigned, or revoked (the owner
 * of the consumer commits what it finished first). */
/* librdkafka's errors: only "every broker is down" matters to us (a
 * following consumer gives up on it after the timeout); the rest it
 * retries itself */
static void on_error(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
	struct ev_kafka_consumer *c = opaque;

	(void)rk;
	(void)reason;
	if (e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && c->down_since == 0)
		c->down_since = mono_ms();
}

/* Following with every broker down: back once the metadata comes (asked
 * at most once a second); EV_EIO when they stay down past the timeout. */
static int still_down(struct ev_kafka_consumer *c, struct ev_error *err)
{
	const struct rd_kafka_metadata *md = NULL;
	int64_t now = mono_ms();

	if (now - c->probed >= 1000) {
		c->probed = now;
		if (rd_kafka_metadata(c->rk, 0, NULL, &md, 500) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			rd_kafka_metadata_destroy(md);
			c->down_since = 0;
			return EV_EAGAIN;
		}
	}
	if (now - c->down_since >= c->o.conn.timeout_ms)
		return ev_seterr(err, EV_EIO,
				 "kafka '%s': every broker has been down for "
				 "%d ms (--kafka-timeout)",
				 c->o.conn.addr->brokers, c->o.conn.timeout_ms);
	return EV_EAGAIN;
}

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

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
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

/* A handle on the topic (it exists), and its metadata again: its
 * partitions then know their leaders when assign() starts them.  One
 * assigned before that starts its offset query on a timer, 500 ms later
 * (librdkafka 2.0.2: "no current leader for partition"), which stalled a
 * read to the end of 0.35 s by that much, one run in two.  The handle
 * is kept until assign() holds the partitions.  Not before the topic is
 * known to exist: a handle asks for the topic's metadata, which creates
 * it on the mock cluster. */
static int know_leaders(rd_kafka_t *rk, const struct ev_kafka_conn_opts *o,
			int64_t since, rd_kafka_topic_t **rkt,
			struct ev_error *err)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	int64_t left = o->timeout_ms - (mono_ms() - since);

	if ((*rkt = rd_kafka_topic_new(rk, o->addr->topic, NULL)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	/* within what the first metadata left of the timeout */
	e = rd_kafka_metadata(rk, 0, *rkt, &md, left > 0 ? (int)left : 1);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ev_seterr(err, EV_EIO,
				 "kafka '%s': no metadata within %d ms "
				 "(--kafka-timeout): %s",
				 o->addr->brokers, o->timeout_ms,
				 rd_kafka_err2str(e));
	rd_kafka_metadata_destroy(md);
	return 0;
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

int ev_kafka_consumer_open(struct ev_kafka_consumer **out,
			   const struct ev_kafka_consumer_opts *o,
			   struct ev_error *err)
{
	/* fetch.wait.max.ms: how long a fetch at the end of a partition
	 * waits for more, which is also how long the end takes to be seen:
	 * 100 ms following, 10 ms for a read to the end.  The fetch queue
	 * keeps librdkafka's limits (queued.max.messages.kbytes, 64 MiB a
	 * partition in 2.0.2): a partition whose queue is full is not
	 * fetched again for a second or so, so a smaller one starves a
	 * fast reader (1 MiB: 100,000 events in 3.6 s, not 1.2 s). */
	static const char *const ours[] = {
		"enable.auto.commit",
		"false",
		"enable.auto.offset.store",
		"false",
		"enable.partition.eof",
		"true",
		"fetch.wait.max.ms", /* the end of a partition sooner */
		"100",
		"allow.auto.create.topics",
		"false",
		/* an offset retention deleted (--from P:O below the first,
		 * or records deleted while following behind): on from the
		 * first; librdkafka's default went to the end, silently
		 * passing over all that was left */
		"auto.offset.reset",
		"earliest",
		"group.id",
		"evlog-evtail-nogroup", /* never joined: assign() only */
		NULL,
	};
	static const char *const ours_group[] = {
		"enable.auto.commit",
		"false",
		"enable.auto.offset.store",
		"false",
		"enable.partition.eof",
		"true",
		"fetch.wait.max.ms",
		"100",
		"allow.auto.create.topics",
		"false",
		"auto.offset.reset", /* a new group reads from the start */
		"earliest",
		NULL,
	};
	struct ev_kafka_consumer *c;
	rd_kafka_conf_t *conf;
	rd_kafka_topic_partition_list_t *l = NULL;
	rd_kafka_topic_t *rkt = NULL;
	rd_kafka_resp_err_t e;
	int64_t t0;
	char es[512];
	int r, i;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	c->o = *o;
	if ((conf = make_conf(&o->conn, o->group ? ours_group : ours, err)) ==
	    NULL) {
		free(c);
		return err->code;
	}
	/* to the end: ours, unless -X says otherwise */
	for (i = 0; !o->follow && i < 1; i++) {
		static const char *const bulk[] = {"fetch.wait.max.ms", "10"};
		if ((o->conn.props == NULL ||
		     ev_kafka_props_get(o->conn.props, bulk[2 * i]) == NULL) &&
		    conf_set(conf, bulk[2 * i], bulk[2 * i + 1], 0, err) != 0) {
			rd_kafka_conf_destroy(conf);
			free(c);
			return err->code;
		}
	}
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_opaque(conf, c);
	if (o->group != NULL) {
		/* the group's name is ours, whatever -X says */
		if (conf_set(conf, "group.id", o->group, 0, err) != 0) {
			rd_kafka_conf_destroy(conf);
			free(c);
			return err->code;
		}
		rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	}
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof(es));
	if (c->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		free(c);
		return ev_seterr(err, EV_EUSAGE, "kafka: %s", es);
	}
	rd_kafka_poll_set_consumer(c->rk);
	t0 = mono_ms();
	if ((r = topic_partitions(c->rk, &o->conn, &c->nparts, err)) != 0)
		goto fail;
	if (o->group == NULL &&
	    (r = know_leaders(c->rk, &o->conn, t0, &rkt, err)) != 0)
		goto fail;
	c->done = calloc((size_t)c->nparts, sizeof(*c->done));
	c->assigned_to = calloc((size_t)c->nparts, 1);
	c->stop = malloc((size_t)c->nparts * sizeof(*c->stop));
	c->start = malloc((size_t)c->nparts * sizeof(*c->start));
	c->delivered = malloc((size_t)c->nparts * sizeof(*c->delivered));
	c->unsent = malloc((size_t)c->nparts * sizeof(*c->unsent));
	c->acked = malloc((size_t)c->nparts * sizeof(*c->acked));
	l = rd_kafka_topic_partition_list_new(c->nparts);
	if (c->done == NULL || c->assigned_to == NULL || c->stop == NULL ||
	    c->start == NULL || c->delivered == NULL || c->unsent == NULL ||
	    c->acked == NULL || l == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	for (i = 0; i < c->nparts; i++)
		c->stop[i] = c->start[i] = c->delivered[i] = c->unsent[i] =
			c->acked[i] = -1;
	c->idle_since = mono_ms();
	if (o->group != NULL) {
		/* a member of the group: partitions come by rebalances */
		if (tp_add(l, o->conn.addr->topic, RD_KAFKA_PARTITION_UA, 0) !=
		    0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto fail;
		}
		e = rd_kafka_subscribe(c->rk, l);
		if (e != 0) {
			r = ev_seterr(err, EV_EIO,
				      "kafka '%s': topic '%s': group '%s': %s",
				      o->conn.addr->brokers,
				      o->conn.addr->topic, o->group,
				      rd_kafka_err2str(e));
			goto fail;
		}
		rd_kafka_topic_partition_list_destroy(l);
		*out = c;
		return 0;
	}
	if ((r = plan(c, l, err)) != 0 || (r = resolve_times(c, l, err)) != 0 ||
	    ((o->track || o->cursor_name != NULL || from_offset(o, -1)) &&
	     (r = exact_starts(c, l, err)) != 0))
		goto fail;
	for (i = 0; i < c->nparts; i++)
		c->done[i] = 1;
	for (i = 0; i < l->cnt; i++) {
		int32_t p = l->elems[i].partition;
		c->done[p] = 0;
		c->nstopping += c->stop[p] >= 0;
	}
	c->ntaken = l->cnt;
	c->nleft = l->cnt;
	c->backlog = o->has_last;
	c->idle_since = mono_ms();
	e = rd_kafka_assign(c->rk, l);
	if (e != 0) {
		r = ev_seterr(err, EV_EIO, "kafka '%s': topic '%s': %s",
			      o->conn.addr->brokers, o->conn.addr->topic,
			      rd_kafka_err2str(e));
		goto fail;
	}
	rd_kafka_topic_partition_list_destroy(l);
	if (rkt != NULL)
		rd_kafka_topic_destroy(rkt);
	*out = c;
	return 0;
fail:
	if (l != NULL)
		rd_kafka_topic_partition_list_destroy(l);
	if (rkt != NULL)
		rd_kafka_topic_destroy(rkt);
	ev_kafka_consumer_close(c);
	return r;
}

static int copy_msg(const rd_kafka_message_t *rm, struct ev_kafka_msg *m,
		    struct ev_error *err)
{
	rd_kafka_headers_t *hs = NULL;
	rd_kafka_timestamp_type_t tt;
	const char *name;
	const void *v;
	size_t n, i;

	ev_kafka_msg_reset(m);
	if (rm->key != NULL) {
		m->has_key = 1;
		if (ev_buf_append(&m->key, rm->key, rm->key_len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	if (rm->payload != NULL) {
		m->has_value = 1;
		if (ev_buf_append(&m->value, rm->payload, rm->len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	m->timestamp = rd_kafka_message_timestamp(rm, &tt);
	if (tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
		m->timestamp = -1;
	m->timestamp_type = tt == RD_KAFKA_TIMESTAMP_CREATE_TIME
				    ? EV_KAFKA_TS_CREATE
			    : tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME
				    ? EV_KAFKA_TS_LOG_APPEND
				    : EV_KAFKA_TS_NONE;
	if (rd_kafka_message_headers(rm, &hs) == 0 && hs != NULL)
		for (i = 0; rd_kafka_header_get_all(hs, i, &name, &v, &n) == 0;
		     i++)
			if (ev_kafka_msg_add_header(m, name, v, n) != 0)
				return ev_seterr(err, EV_EDATA,
						 "more than %d headers",
						 EV_KAFKA_MAX_HEADERS);
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	if (x->m.timestamp != y->m.timestamp)
		return x->m.timestamp < y->m.timestamp ? -1 : 1;
	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Following, every partition read stops at --to, and did. */
static int all_stopped(const struct ev_kafka_consumer *c)
{
	return c->o.follow && c->o.group == NULL && c->nstopping > 0 &&
	       c->nstopping == c->ntaken && c->nstopped >= c->nstopping;
}

/* one record from librdkafka: 1, EV_EAGAIN for none, 0 at the end */
static int poll_one(struct ev_kafka_consumer *c, int timeout_ms,
		    struct ev_kafka_msg *m, int32_t *partition, int64_t *offset,
		    struct ev_error *err)
{
	rd_kafka_message_t *rm;
	int r;

	if (c->nleft == 0 && !c->o.follow && (!c->o.group || c->assigned))
		return 0;
	if (all_stopped(c))
		return 0;
	rm = rd_kafka_consumer_poll(c->rk, timeout_ms);
	if (rm == NULL) {
		/* never a hang: not following, the ends must come within
		 * the timeout (a partition without a leader) */
		if (!c->o.follow &&
		    mono_ms() - c->idle_since >= c->o.conn.timeout_ms)
			return ev_seterr(err, EV_EIO,
					 "kafka '%s': topic '%s': no record "
					 "and no end within %d ms "
					 "(--kafka-timeout)",
					 c->o.conn.addr->brokers,
					 c->o.conn.addr->topic,
					 c->o.conn.timeout_ms);
		if (c->o.follow && c->down_since != 0)
			return still_down(c, err);
		return EV_EAGAIN;
	}
	c->idle_since = mono_ms();
	c->down_since = 0;
	if (rm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		if (rm->partition >= 0 && rm->partition < c->nparts &&
		    !c->done[rm->partition]) {
			c->done[rm->partition] = 1;
			c->nleft--;
		}
		rd_kafka_message_destroy(rm);
		return c->nleft == 0 && !c->o.follow &&
				       (!c->o.group || c->assigned)
			       ? 0
			       : EV_EAGAIN;
	}
	if (rm->err != 0) {
		r = ev_seterr(err,
			      rm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
				      ? EV_ENOENT
				      : EV_EIO,
			      "kafka '%s': topic '%s': %s",
			      c->o.conn.addr->brokers, c->o.conn.addr->topic,
			      rd_kafka_message_errstr(rm));
		rd_kafka_message_destroy(rm);
		return r;
	}
	if (rm->partition >= 0 && rm->partition < c->nparts &&
	    c->stop[rm->partition] >= 0 &&
	    rm->offset >= c->stop[rm->partition]) {
		/* --to: the partition's last record, or one after it (not
		 * read) */
		int32_t p = rm->partition;
		int past = rm->offset > c->stop[p];
		if (c->stop_seen == NULL || !c->stop_seen[p]) {
			if (c->stop_seen == NULL &&
			    (c->stop_seen = calloc((size_t)c->nparts, 1)) ==
				    NULL) {
				rd_kafka_message_destroy(rm);
				return ev_seterr(err, EV_ERR, "out of memory");
			}
			c->stop_seen[p] = 1;
			c->nstopped++;
			if (!c->done[p]) {
				c->done[p] = 1;
				c->nleft--;
			}
		} else if (!past) {
			past = 1; /* read again after a leader change */
		}
		if (past) {
			rd_kafka_message_destroy(rm);
			return (c->nleft == 0 && !c->o.follow) || all_stopped(c)
				       ? 0
				       : EV_EAGAIN;
		}
	}
	r = copy_msg(rm, m, err);
	*partition = rm->partition;
	*offset = rm->offset;
	rd_kafka_message_destroy(rm);
	return r == 0 ? 1 : r;
}

int ev_kafka_consumer_next(struct ev_kafka_consumer *c, int timeout_ms,
			   struct ev_kafka_msg *m, int32_t *partition,
			   int64_t *offset, struct ev_error *err)
{
	int r;

	while (c->backlog) { /* -n: gather, then sort by time */
		struct held *h;
		if (c->nleft == 0) {
			qsort(c->held, c->nheld, sizeof(*c->held), by_time);
			c->backlog = 0;
			break;
		}
		if (c->nheld == c->capheld) {
			size_t cap = c->capheld ? 2 * c->capheld : 64;
			h = realloc(c->held, cap * sizeof(*h));
			if (h == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
			memset(h + c->capheld, 0,
			       (cap - c->capheld) * sizeof(*h));
			c->held = h;
			c->capheld = cap;
		}
		h = &c->held[c->nheld];
		ev_kafka_msg_reset(&h->m);
		r = poll_one(c, timeout_ms, &h->m, &h->partition, &h->offset,
			     err);
		if (r == EV_EAGAIN && c->nleft > 0)
			return EV_EAGAIN;
		if (r < 0 && r != EV_EAGAIN)
			return r;
		if (r == 1)
			c->nheld++;
	}
	if (c->next_held < c->nheld) {
		struct held *h = &c->held[c->next_held++];
		struct ev_kafka_msg t = *m;
		*m = h->m; /* hand it over, keeping the buffers */
		h->m = t;
		*partition = h->partition;
		*offset = h->offset;
		return 1;
	}
	return poll_one(c, timeout_ms, m, partition, offset, err);
}

void ev_kafka_consumer_close(struct ev_kafka_consumer *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->rk != NULL) {
		rd_kafka_consumer_close(c->rk);
		rd_kafka_destroy(c->rk);
	}
	for (i = 0; i < c->capheld; i++)
		ev_kafka_msg_free(&c->held[i].m);
	free(c->held);
	free(c->done);
	free(c->assigned_to);
	free(c->stop);
	free(c->start);
	free(c->delivered);
	free(c->unsent);
	free(c->acked);
	free(c->stop_seen);
	free(c);
}

const char *ev_kafka_consumer_group(const struct ev_kafka_consumer *c)
{
	return c->o.group;
}

int ev_kafka_consumer_following(const struct ev_kafka_consumer *c)
{
	return c->o.follow;
}

int ev_kafka_consumer_timeout(const struct ev_kafka_consumer *c)
{
	return c->o.conn.timeout_ms;
}

int ev_kafka_consumer_partitions(const struct ev_kafka_consumer *c)
{
	return c->nparts;
}

int ev_kafka_consumer_tracks(const struct ev_kafka_consumer *c)
{
	return c->o.group != NULL || c->o.track;
}

const char *ev_kafka_consumer_topic(const struct ev_kafka_consumer *c)
{
	return c->o.conn.addr->topic;
}

int64_t ev_kafka_consumer_next_offset(const struct ev_kafka_consumer *c,
				      int32_t p)
{
	if (p < 0 || p >= c->nparts)
		return -1;
	return c->delivered[p] >= 0 ? c->delivered[p] : c->start[p];
}
