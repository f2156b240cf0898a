/*
 * kafka_scan.c - the records of a Kafka consumer as the records of a
 * scan (ev_scan_open_kafka() in scan.c hooks this in).
 *
 * Each record is mapped to its event by ev_kafka_decode(), as every
 * reader of a Kafka log does, and numbered in the order read: the
 * engine's positions must grow, and a topic's offsets only grow within
 * a partition.  What the number stands for is kept, for a group, until
 * a commit maps a position back to each partition's next offset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"
#include "kafka_scan_int.h"

/* a record read, not yet below a committed position */
struct seen {
	uint64_t seq;
	int32_t partition;
	int64_t koffset;
};

struct ev_kscan {
	struct ev_kafka_consumer *kc;
	char *topic;
	struct ev_kafka_decoder *dec;
	struct ev_kafka_msg m; /* the record in hand */
	int32_t part;
	int64_t off;
	int have; /* m holds a record not yet taken */
	int end;  /* no more will come */
	/* a group: the records read, in order, for commits */
	uint64_t seq; /* the next record's number */
	int lenient;
	char why[sizeof(((struct ev_error *)0)->msg)];
	struct ev_kafka_msg bare; /* a bad record's key and value alone */
	/* the engine: commit what it finished, before a revoke */
	void (*revoke)(void *ctx);
	void *revoke_ctx;
	int track;
	struct seen *seen;
	size_t head, n, cap; /* a ring */
	/* --to @TIME: the partitions past it */
	unsigned char *past;
	int npast_cap, npast;
	/* per partition: the next offset to commit, and the one the group
	 * has (-1: none); a commit refused in a rebalance is sent again */
	int64_t *pending, *sent;
	int nparts;
	int resend; /* a commit was refused, not failed */
};

static int send_pending(struct ev_kscan *k, struct ev_error *err);

/* Partitions revoked: the engine commits what it finished while they
 * are ours; then what was read of them is forgotten (the next owner
 * reads it again from the commit). */
static void on_revoke(void *ctx, const int32_t *parts, int n)
{
	struct ev_kscan *k = ctx;
	size_t i;
	int j;

	if (k->revoke != NULL)
		k->revoke(k->revoke_ctx);
	/* what an earlier commit left unsent, while they are ours */
	if (k->resend) {
		struct ev_error err;
		send_pending(k, &err);
	}
	for (j = 0; j < n; j++) {
		if (k->have && k->part == parts[j])
			k->have = 0;
		if (parts[j] >= 0 && parts[j] < k->nparts)
			k->pending[parts[j]] = k->sent[parts[j]] = -1;
		for (i = 0; i < k->n; i++) {
			struct seen *s = &k->seen[(k->head + i) % k->cap];
			if (s->partition == parts[j])
				s->partition = -1;
		}
	}
}

int ev_kscan_new(struct ev_kscan **out, struct ev_kafka_consumer *kc,
		 const char *topic, struct ev_error *err)
{
	struct ev_kscan *k = calloc(1, sizeof(*k));
	int r, i;

	*out = NULL;
	if (k == NULL || (k->topic = strdup(topic)) == NULL) {
		free(k);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	k->kc = kc;
	ev_kafka_msg_reset(&k->m);
	ev_kafka_msg_reset(&k->bare);
	if ((r = ev_kafka_decoder_new(&k->dec, err)) != 0) {
		ev_kscan_free(k);
		return r;
	}
	k->track = ev_kafka_consumer_tracks(kc); /* a group, a cursor */
	k->nparts = ev_kafka_consumer_partitions(kc);
	k->pending = malloc((size_t)(k->nparts > 0 ? k->nparts : 1) *
			    sizeof(*k->pending));
	k->sent = malloc((size_t)(k->nparts > 0 ? k->nparts : 1) *
			 sizeof(*k->sent));
	if (k->pending == NULL || k->sent == NULL) {
		ev_kscan_free(k);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	for (i = 0; i < k->nparts; i++)
		k->pending[i] = k->sent[i] = -1;
	ev_kafka_consumer_on_revoke(kc, on_revoke, k);
	*out = k;
	return 0;
}

void ev_kscan_free(struct ev_kscan *k)
{
	if (k == NULL)
		return;
	/* a commit refused in a rebalance, and none since: once more */
	if (k->resend) {
		struct ev_error err;
		send_pending(k, &err);
	}
	ev_kafka_consumer_on_revoke(k->kc, NULL, NULL);
	ev_kafka_decoder_free(k->dec);
	ev_kafka_msg_free(&k->m);
	ev_kafka_msg_free(&k->bare);
	free(k->seen);
	free(k->past);
	free(k->pending);
	free(k->sent);
	free(k->topic);
	free(k);
}

/* one poll of the consumer into m: 1 a record in hand, 0 not */
static int fetch(struct ev_kscan *k, int timeout_ms, struct ev_error *err)
{
	int r;

	if (k->have || k->end)
		return k->have;
	r = ev_kafka_consumer_next(k->kc, timeout_ms, &k->m, &k->part, &k->off,
				   err);
	if (r == 1) {
		k->have = 1;
		return 1;
	}
	if (r == 0) {
		k->end = 1;
		return 0;
	}
	return r == EV_EAGAIN ? 0 : r;
}

static int track(struct ev_kscan *k, uint64_t seq)
{
	struct seen *s;

	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 256, i;
		struct seen *ns = malloc(cap * sizeof(*ns));
		if (ns == NULL)
			return -1;
		for (i = 0; i < k->n; i++)
			ns[i] = k->seen[(k->head + i) % k->cap];
		free(k->seen);
		k->seen = ns;
		k->cap = cap;
		k->head = 0;
	}
	s = &k->seen[(k->head + k->n) % k->cap];
	s->seq = seq;
	s->partition = k->part;
	s->koffset = k->off;
	k->n++;
	return 0;
}

int ev_kscan_next(struct ev_kscan *k, struct ev_rec *rec, int *end,
		  struct ev_error *err)
{
	uint64_t seq = k->seq;
	int r;

	*end = 0;
	if ((r = fetch(k, 0, err)) < 0)
		return r;
	if (r == 0) {
		/* following, the consumer ends only at --to: for good */
		*end = k->end && ev_kafka_consumer_following(k->kc) ? 2
								    : k->end;
		return 0;
	}
	k->have = 0;
	rec->kafka_error = NULL;
	/* not decoded here: the scan does when it needs the event */
	r = ev_kafka_decode(k->dec, &k->m, k->topic, k->part, k->off, rec, NULL,
			    err);
	if (r == EV_EDATA && k->lenient) {
		/* not an event: its key and value alone, as another
		 * producer's record, for the engine to dead-letter */
		snprintf(k->why, sizeof(k->why), "%s", err->msg);
		ev_kafka_msg_reset(&k->bare);
		k->bare.timestamp = k->m.timestamp;
		k->bare.has_key = k->m.has_key;
		k->bare.has_value = k->m.has_value;
		if (ev_buf_append(&k->bare.key, k->m.key.p, k->m.key.len) !=
			    0 ||
		    ev_buf_append(&k->bare.value, k->m.value.p,
				  k->m.value.len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		r = ev_kafka_decode(k->dec, &k->bare, k->topic, k->part, k->off,
				    rec, NULL, err);
		rec->kafka_error = k->why;
	}
	if (r != 0)
		return r;
	if (k->track && track(k, seq) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	k->seq++;
	rec->offset = seq;
	rec->kafka = 1;
	rec->partition = k->part;
	rec->koffset = k->off;
	rec->ktimestamp = k->m.timestamp;
	rec->ktimestamp_type = k->m.timestamp_type;
	return 1;
}

int ev_kscan_wait(struct ev_kscan *k, int64_t timeout_ms, struct ev_error *err)
{
	int r;

	if (timeout_ms > 1000)
		timeout_ms = 1000;
	r = fetch(k, (int)(timeout_ms < 0 ? 0 : timeout_ms), err);
	return r < 0 ? r : 0;
}

int ev_kscan_offsets(struct ev_kscan *k, uint64_t position, int64_t *next,
		     int nparts)
{
	int i;

	for (i = 0; i < nparts; i++)
		next[i] = -1;
	while (k->n > 0 && k->seen[k->head].seq < position) {
		const struct seen *s = &k->seen[k->head];
		if (s->partition >= 0 && s->partition < nparts)
			next[s->partition] = s->koffset + 1;
		k->head = (k->head + 1) % k->cap;
		k->n--;
	}
	return 0;
}

int ev_kscan_is_past(const struct ev_kscan *k, int32_t partition)
{
	return partition >= 0 && partition < k->npast_cap && k->past[partition];
}

int ev_kscan_past(struct ev_kscan *k, const struct ev_rec *rec)
{
	int n = ev_kafka_consumer_partitions(k->kc);
	unsigned char *np;

	/* not read: a group's commit stays before it */
	if (k->track && k->n > 0 &&
	    k->seen[(k->head + k->n - 1) % k->cap].seq == rec->offset)
		k->seen[(k->head + k->n - 1) % k->cap].partition = -1;
	if (rec->partition < 0)
		return 0;
	if (rec->partition >= k->npast_cap) {
		if ((np = realloc(k->past, (size_t)rec->partition + 1)) == NULL)
			return EV_ERR;
		memset(np + k->npast_cap, 0,
		       (size_t)(rec->partition + 1 - k->npast_cap));
		k->past = np;
		k->npast_cap = rec->partition + 1;
	}
	if (!k->past[rec->partition]) {
		k->past[rec->partition] = 1;
		k->npast++;
	}
	return n > 0 && k->npast >= n;
}

int ev_kscan_revoked(const struct ev_kscan *k, uint64_t seq)
{
	/* the ring holds every record read since the last commit, in
	 * order: seq's is at seq - the first's */
	if (!k->track || k->n == 0 || seq < k->seen[k->head].seq ||
	    seq - k->seen[k->head].seq >= k->n)
		return 0;
	return k->seen[(k->head + (seq - k->seen[k->head].seq)) % k->cap]
		       .partition < 0;
}

int ev_kscan_partitions(const struct ev_kscan *k)
{
	return ev_kafka_consumer_partitions(k->kc);
}

void ev_kscan_on_revoke(struct ev_kscan *k, void (*fn)(void *ctx), void *ctx)
{
	k->revoke = fn;
	k->revoke_ctx = ctx;
}

/* Commit what is pending and not yet the group's. */
static int send_pending(struct ev_kscan *k, struct ev_error *err)
{
	int64_t *next;
	int i, any = 0, r;

	if ((next = malloc((size_t)(k->nparts > 0 ? k->nparts : 1) *
			   sizeof(*next))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < k->nparts; i++) {
		next[i] = k->pending[i] != k->sent[i] ? k->pending[i] : -1;
		any |= next[i] >= 0;
	}
	r = any ? ev_kafka_consumer_commit(k->kc, next, k->nparts, err) : 0;
	if (r == 0)
		for (i = 0; i < k->nparts; i++)
			if (next[i] >= 0)
				k->sent[i] = next[i];
	/* refused (a rebalance): sent again with the next commit, at a
	 * revoke, or at the end, while the partitions are ours */
	k->resend = r == EV_EAGAIN;
	free(next);
	return r == EV_EAGAIN ? 0 : r;
}

int ev_kscan_commit(struct ev_kscan *k, uint64_t position, struct ev_error *err)
{
	int64_t *next;
	int i;

	if (!k->track)
		return 0;
	if ((next = malloc((size_t)(k->nparts > 0 ? k->nparts : 1) *
			   sizeof(*next))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	ev_kscan_offsets(k, position, next, k->nparts);
	for (i = 0; i < k->nparts; i++)
		if (next[i] >= 0)
			k->pending[i] = next[i];
	free(next);
	return send_pending(k, err);
}

int ev_kscan_settle(struct ev_kscan *k, struct ev_error *err)
{
	int r;

	if (!k->track || ev_kafka_consumer_group(k->kc) == NULL)
		return 0;
	/* what a commit left to send again: the consumer keeps what it
	 * refused, and sends it while the partitions are ours */
	if (k->resend && (r = send_pending(k, err)) != 0)
		return r;
	return ev_kafka_consumer_settle(k->kc, err);
}

void ev_kscan_set_lenient(struct ev_kscan *k, int lenient)
{
	k->lenient = lenient;
}
