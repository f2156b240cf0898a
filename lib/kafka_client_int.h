/*
 * kafka_client_int.h - what the producer (kafka_produce.c), the
 * consumer (kafka_consume.c) and the admin clients (kafka_admin.c)
 * share of the librdkafka client (kafka_client.c): a client's
 * configuration and its topic's partition count.
 */
#ifndef EV_KAFKA_CLIENT_INT_H
#define EV_KAFKA_CLIENT_INT_H

#include "dlkafka_int.h"
#include "evlog_private.h"

/* One setting: EV_EUSAGE when librdkafka refuses it, prefixed "-X: "
 * when it is the user's. */
int ev_kafka_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
		      int user, struct ev_error *err);
/* A client's configuration, librdkafka loaded first: the brokers (NULL:
 * the connection's) and the connection's timeout, then ours (name,
 * value, ..., NULL), then the user's -X and --kafka-config, which win;
 * NULL with err set.  kafka_admin.c's clients are made with it too. */
rd_kafka_conf_t *ev_kafka_make_conf(const struct ev_kafka_conn_opts *o,
				    const char *brokers,
				    const char *const *ours,
				    struct ev_error *err);
/* The topic's partition count, within the timeout: EV_ENOENT when it
 * does not exist, EV_EIO when the cluster does not answer. */
int ev_kafka_topic_partitions(rd_kafka_t *rk,
			      const struct ev_kafka_conn_opts *o, int *nparts,
			      struct ev_error *err);

#endif
