/*
 * kafka_client.c - the librdkafka client of Kafka logs, what its two
 * sides share (kafka_client_int.h): a client's configuration, and the
 * partition count of its topic.  The idempotent producer is
 * kafka_produce.c; the consumer kafka_consume.c, with where it starts
 * (kafka_start.c) and a group member's rebalances and commits
 * (kafka_group.c).
 *
 * Every wait on the cluster is bounded by the --kafka-timeout: an
 * unreachable cluster is an error within it, never a hang.
 */
#include <stdio.h>
#include <string.h>

#include "kafka_client_int.h"

int ev_kafka_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
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
rd_kafka_conf_t *ev_kafka_make_conf(const struct ev_kafka_conn_opts *o,
				    const char *brokers,
				    const char *const *ours,
				    struct ev_error *err)
{
	rd_kafka_conf_t *conf;
	char tmp[32];
	size_t i;

	if (brokers == NULL)
		brokers = o->addr->brokers;
	/* librdkafka is loaded for the first client of a run */
	if (ev_dl_rdkafka(brokers, err) != 0)
		return NULL;
	if ((conf = rd_kafka_conf_new()) == NULL) {
		ev_seterr(err, EV_ERR, "out of memory");
		return NULL;
	}
	/* librdkafka takes no less than a second here */
	snprintf(tmp, sizeof(tmp), "%d",
		 o->timeout_ms < 1000 ? 1000 : o->timeout_ms);
	if (ev_kafka_conf_set(conf, "bootstrap.servers", brokers, 0, err) ||
	    ev_kafka_conf_set(conf, "socket.connection.setup.timeout.ms", tmp,
			      0, err) ||
	    ev_kafka_conf_set(conf, "log_level", "3", 0, err))
		goto fail;
	for (i = 0; ours != NULL && ours[i] != NULL; i += 2)
		if (ev_kafka_conf_set(conf, ours[i], ours[i + 1], 0, err) != 0)
			goto fail;
	for (i = 0; o->props != NULL && i < o->props->n; i++)
		if (ev_kafka_conf_set(conf, o->props->kv[2 * i],
				      o->props->kv[2 * i + 1], 1, err) != 0)
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
int ev_kafka_topic_partitions(rd_kafka_t *rk,
			      const struct ev_kafka_conn_opts *o, int *nparts,
			      struct ev_error *err)
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
