/*
 * kafka_pos_int.h - what lib/kafka_pos.c (positions and cursor files of
 * Kafka logs) asks of a consumer (lib/kafka_consume.c).
 */
#ifndef EV_KAFKA_POS_INT_H
#define EV_KAFKA_POS_INT_H

#include "evlog.h"

/* The topic the consumer reads. */
const char *ev_kafka_consumer_topic(const struct ev_kafka_consumer *c);
/* For a consumer that tracks its positions: partition p's offset after
 * the last record delivered (ev_kafka_consumer_commit()), else where its
 * read started; -1 when neither is known. */
int64_t ev_kafka_consumer_next_offset(const struct ev_kafka_consumer *c,
				      int32_t p);

#endif
