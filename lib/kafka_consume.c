/*
 * kafka_consume.c - the consumer of Kafka logs (kafka_consume_int.h):
 * opened without a group, it reads a topic's partitions from positions
 * (kafka_start.c); in a group, partitions come by rebalances
 * (kafka_group.c).  Records come one at a time (with -n, each
 * partition's last N merged by time first), to the end of every
 * partition or, following, on until every partition's --to.
 *
 * Every wait on the cluster is bounded by the --kafka-timeout: an
 * unreachable cluster is an error within it, never a hang.
 */
#include <stdlib.h>
#include <string.h>

#include "kafka_consume_int.h"
#include "kafka_pos_int.h"

struct held {
	struct ev_kafka_msg m;
	int32_t partition;
	int64_t offset;
};

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
	if ((conf = ev_kafka_make_conf(&o->conn, NULL,
				       o->group ? ours_group : ours, err)) ==
	    NULL) {
		free(c);
		return err->code;
	}
	/* to the end: ours, unless -X says otherwise */
	for (i = 0; !o->follow && i < 1; i++) {
		static const char *const bulk[] = {"fetch.wait.max.ms", "10"};
		if ((o->conn.props == NULL ||
		     ev_kafka_props_get(o->conn.props, bulk[2 * i]) == NULL) &&
		    ev_kafka_conf_set(conf, bulk[2 * i], bulk[2 * i + 1], 0,
				      err) != 0) {
			rd_kafka_conf_destroy(conf);
			free(c);
			return err->code;
		}
	}
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_opaque(conf, c);
	if (o->group != NULL) {
		/* the group's name is ours, whatever -X says */
		if (ev_kafka_conf_set(conf, "group.id", o->group, 0, err) !=
		    0) {
			rd_kafka_conf_destroy(conf);
			free(c);
			return err->code;
		}
		rd_kafka_conf_set_rebalance_cb(conf, ev_kafka_on_rebalance);
	}
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof(es));
	if (c->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		free(c);
		return ev_seterr(err, EV_EUSAGE, "kafka: %s", es);
	}
	rd_kafka_poll_set_consumer(c->rk);
	t0 = mono_ms();
	if ((r = ev_kafka_topic_partitions(c->rk, &o->conn, &c->nparts, err)) !=
	    0)
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
	if ((r = ev_kafka_starts(c, l, err)) != 0)
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
