/*
 * kafka_produce.c - the idempotent producer of Kafka logs (acks=all,
 * zstd), with delivery reports: what each record became, and the first
 * failure, reported at the flush.
 *
 * Every wait on the cluster is bounded by the --kafka-timeout: a
 * delivery gives up within it, never a hang.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kafka_client_int.h"

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
	if ((conf = ev_kafka_make_conf(o, NULL, ours, err)) == NULL) {
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
	if ((r = ev_kafka_topic_partitions(p->rk, o, &nparts, err)) != 0) {
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
