/*
 * kafka_scan_int.h - the Kafka backend of struct ev_scan (lib/scan.c
 * hooks it in; lib/kafka_scan.c).
 */
#ifndef EV_KAFKA_SCAN_INT_H
#define EV_KAFKA_SCAN_INT_H

#include "evlog.h"

struct ev_kscan;
int ev_kscan_new(struct ev_kscan **out, struct ev_kafka_consumer *kc,
		 const char *topic, struct ev_error *err);
void ev_kscan_free(struct ev_kscan *k);
/* The next record, numbered from 0 in the order read: 1 with *rec valid until
 * the next call; 0 when none is there now, with *end set when none will come
 * (every partition read to its end, not following: 1; following, every
 * partition read at its --to: 2); <0 an error. */
int ev_kscan_next(struct ev_kscan *k, struct ev_rec *rec, int *end,
		  struct ev_error *err);
/* Wait up to timeout_ms for a record. */
int ev_kscan_wait(struct ev_kscan *k, int64_t timeout_ms, struct ev_error *err);
int ev_kscan_offsets(struct ev_kscan *k, uint64_t position, int64_t *next,
		     int nparts);
int ev_kscan_partitions(const struct ev_kscan *k);
int ev_kscan_revoked(const struct ev_kscan *k, uint64_t seq);
void ev_kscan_set_lenient(struct ev_kscan *k, int lenient);
/* --to @TIME: rec, the record read last, is in a partition past TIME,
 * or later than TIME: that partition is done, and what of it is read
 * from now on is not read for a group's commits.  1 when every partition
 * is done, 0 when not, EV_ERR out of memory. */
int ev_kscan_past(struct ev_kscan *k, const struct ev_rec *rec);
int ev_kscan_is_past(const struct ev_kscan *k, int32_t partition);
void ev_kscan_on_revoke(struct ev_kscan *k, void (*fn)(void *ctx), void *ctx);
int ev_kscan_commit(struct ev_kscan *k, uint64_t position,
		    struct ev_error *err);
/* A group's last commit, at the end of a run: ev_kafka_scan_settle(). */
int ev_kscan_settle(struct ev_kscan *k, struct ev_error *err);

#endif
