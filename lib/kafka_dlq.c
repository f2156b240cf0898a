/*
 * kafka_dlq.c - dead-letter topics: a dead letter as a Kafka record, the
 * letter sink of evtail --exec --dlq kafka://..., and the letters of a
 * topic read back with their state, for evdlq.
 *
 * A letter is a record of the original key and value, with the headers
 * that Spring Kafka (kafka_dlt-*) and Kafka Connect (__connect.errors.*)
 * put on theirs, and evlog's own letter (the DeadLetter event, JSON) in
 * evlog_letter, from which evdlq reads everything it shows of a letter.
 * Resolutions and discards are records in the same topic, evlog events
 * in CloudEvents binary mode, so the audit trail stays there.  Every one
 * goes to partition 0, so that an offset names a letter and a mark
 * always comes after its letter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

#define CT_ENVELOPE "application/vnd.evlog+json"
#define LETTER_HEADER "evlog_letter"
#define DLQ_PARTITION 0
#define STR_(x) #x
#define STR(x) STR_(x)

struct ev_kafka_dlq {
	struct ev_kafka_conn_opts conn;
	struct ev_kafka_addr addr;   /* conn's: the caller's may go */
	struct ev_kafka_props props; /* the user's, and a delivery timeout */
	struct ev_kafka_producer *p;
	struct ev_kafka_decoder *dec;
	char name[1300];
	/* the letters there and those written since, for the rounds */
	struct ev_letters known;
	int loaded;
	uint64_t written;
	/* the last delivery report */
	int64_t acked_offset;
	/* the offsets whose JSON a scan keeps (evdlq show's) */
	uint64_t *want;
	size_t nwant;
	/* after a scan: those letters' records as JSON, by offset */
	uint64_t *json_off;
	char **json;
	size_t njson, capjson;
};

/* ------------------------------------------------------------ helpers */

static char *mp_str(const uint8_t *data, size_t n, const char *path)
{
	const uint8_t *v;
	size_t vn;
	struct ev_mp_item it;

	if (data == NULL || ev_mp_path(data, n, path, &v, &vn) != 1 ||
	    ev_mp_read(&v, v + vn, &it) != 0 || it.type != EV_MP_STR)
		return NULL;
	return strndup((const char *)it.p, it.n);
}

static int mp_uint(const uint8_t *data, size_t n, const char *path,
		   uint64_t *out)
{
	const uint8_t *v;
	size_t vn;
	struct ev_mp_item it;

	if (data == NULL || ev_mp_path(data, n, path, &v, &vn) != 1 ||
	    ev_mp_read(&v, v + vn, &it) != 0 || it.type != EV_MP_UINT)
		return -1;
	*out = it.v.u;
	return 0;
}

static int hdr(struct ev_kafka_msg *m, const char *name, const char *s,
	       struct ev_error *err)
{
	if (ev_kafka_msg_add_header(m, name, s, s != NULL ? strlen(s) : 0) != 0)
		return ev_seterr(err, EV_EDATA,
				 "too many headers or no memory");
	return 0;
}

/* Spring Kafka writes its numbers as big-endian binary */
static int hdr_be(struct ev_kafka_msg *m, const char *name, uint64_t v,
		  size_t width, struct ev_error *err)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	if (ev_kafka_msg_add_header(m, name, b, width) != 0)
		return ev_seterr(err, EV_EDATA,
				 "too many headers or no memory");
	return 0;
}

static int hdr_num(struct ev_kafka_msg *m, const char *name, uint64_t v,
		   struct ev_error *err)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	return hdr(m, name, tmp, err);
}

/* Kafka Connect's stage of what failed */
static const char *connect_stage(const char *fqcn)
{
	if (fqcn == NULL)
		return "TASK_PUT";
	if (strcmp(fqcn, "evlog.SchemaInvalid") == 0)
		return "VALUE_CONVERTER";
	if (strcmp(fqcn, "evlog.UpcastFailed") == 0)
		return "TRANSFORMATION";
	return "TASK_PUT";
}

/* the topic of a kafka:// source, else the log's path */
static void source_topic(const char *log, char *out, size_t n)
{
	struct ev_kafka_addr a;
	struct ev_error e;

	if (log != NULL && ev_kafka_is_addr(log) &&
	    ev_kafka_addr_parse(log, &a, &e) == 0)
		snprintf(out, n, "%s", a.topic);
	else
		snprintf(out, n, "%s", log != NULL ? log : "");
}

/* ------------------------------------------------------------ a letter */

/* The DeadLetter event of lc: its record in rec, decoded into ev. */
static int letter_event(const struct ev_letter_ctx *lc, ev_time_t now,
			struct ev_buf *rec, struct ev_event *ev,
			struct ev_error *err)
{
	ev_time_t t;
	int r;

	rec->len = 0;
	if ((r = ev_dlq_letter_encode(rec, lc, now, &t, err)) != 0)
		return r;
	return ev_event_decode(rec->p, rec->len, ev, err);
}

static int letter_msg(const struct ev_letter_ctx *lc,
		      const struct ev_event *lev, ev_time_t now,
		      struct ev_kafka_msg *m, struct ev_error *err)
{
	const uint8_t *d = lev->data;
	size_t dn = lev->data_len;
	struct ev_buf js = {0};
	char *fqcn = NULL, *msg = NULL, *trace = NULL, topic[300];
	const char *group = lc->schemas != NULL ? "" : lc->group;
	uint64_t partition = 0, offset = 0;
	int has_offset, r;

	/* the original key and value (and its ce_* headers), as evpub
	 * writes the event */
	if ((r = ev_kafka_event_to_msg(lc->source, EV_KAFKA_BINARY, m, err)) !=
	    0)
		return r;
	m->timestamp = (int64_t)(now / 1000000);
	fqcn = mp_str(d, dn, "exceptionFqcn");
	msg = mp_str(d, dn, "exceptionMessage");
	trace = mp_str(d, dn, "exceptionStacktrace");
	mp_uint(d, dn, "originalPartition", &partition);
	has_offset = mp_uint(d, dn, "originalOffset", &offset) == 0;
	source_topic(lc->source_log, topic, sizeof(topic));
	/* Spring Kafka's */
	r = hdr(m, "kafka_dlt-original-topic", topic, err);
	if (r == 0 && has_offset)
		r = hdr_be(m, "kafka_dlt-original-partition", partition, 4,
			   err) ||
		    hdr_be(m, "kafka_dlt-original-offset", offset, 8, err) ||
		    hdr_be(m, "kafka_dlt-original-timestamp",
			   (uint64_t)(ev_dlq_source_timestamp(lc) / 1000000), 8,
			   err) ||
		    hdr(m, "kafka_dlt-original-timestamp-type",
			ev_dlq_source_timestamp_type(lc), err);
	if (r == 0)
		r = hdr(m, "kafka_dlt-original-consumer-group", group, err) ||
		    hdr(m, "kafka_dlt-exception-fqcn", fqcn, err) ||
		    hdr(m, "kafka_dlt-exception-message", msg, err) ||
		    hdr(m, "kafka_dlt-exception-stacktrace", trace, err);
	/* Kafka Connect's */
	if (r == 0)
		r = hdr(m, "__connect.errors.topic", topic, err);
	if (r == 0 && has_offset)
		r = hdr_num(m, "__connect.errors.partition", partition, err) ||
		    hdr_num(m, "__connect.errors.offset", offset, err);
	if (r == 0)
		r = hdr(m, "__connect.errors.connector.name", group, err) ||
		    hdr(m, "__connect.errors.task.id", "0", err) ||
		    hdr(m, "__connect.errors.stage", connect_stage(fqcn),
			err) ||
		    hdr(m, "__connect.errors.class.name",
			lc->handler != NULL ? lc->handler : "evlog", err) ||
		    hdr(m, "__connect.errors.exception.class.name", fqcn,
			err) ||
		    hdr(m, "__connect.errors.exception.message", msg, err) ||
		    hdr(m, "__connect.errors.exception.stacktrace", trace, err);
	/* evlog's: the whole letter, so that evdlq shows what it shows of
	 * a letter in a log */
	if (r == 0)
		r = ev_event_to_json(lev, &js, EV_JSON_NO_OFFSET, err);
	if (r == 0 &&
	    ev_kafka_msg_add_header(m, LETTER_HEADER, js.p, js.len) != 0)
		r = ev_seterr(err, EV_EDATA, "too many headers or no memory");
	ev_buf_free(&js);
	free(fqcn);
	free(msg);
	free(trace);
	return r != 0 ? (r < 0 ? r : err->code) : 0;
}

int ev_kafka_letter_msg(const struct ev_letter_ctx *lc, ev_time_t now,
			struct ev_kafka_msg *m, struct ev_error *err)
{
	struct ev_buf rec = {0};
	struct ev_event lev;
	int r;

	if ((r = letter_event(lc, now, &rec, &lev, err)) == 0)
		r = letter_msg(lc, &lev, now, m, err);
	ev_buf_free(&rec);
	return r;
}

/* ------------------------------------------------------------ the handle */

static void on_ack(void *ctx, void *opaque, int32_t partition, int64_t offset,
		   const char *error)
{
	struct ev_kafka_dlq *d = ctx;

	(void)opaque;
	(void)partition;
	if (error == NULL)
		d->acked_offset = offset;
}

int ev_kafka_dlq_open(struct ev_kafka_dlq **out,
		      const struct ev_kafka_conn_opts *conn,
		      struct ev_error *err)
{
	struct ev_kafka_dlq *d;
	char kv[64];
	size_t i;
	int r;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	d->conn = *conn;
	d->addr = *conn->addr;
	d->conn.addr = &d->addr;
	snprintf(d->name, sizeof(d->name), "kafka://%s/%s", conn->addr->brokers,
		 conn->addr->topic);
	/* a letter not delivered within the timeout is an error, never a
	 * wait of librdkafka's 5 minutes, unless -X says otherwise */
	for (i = 0; conn->props != NULL && i < conn->props->n; i++) {
		char *p = NULL;
		r = asprintf(&p, "%s=%s", conn->props->kv[2 * i],
			     conn->props->kv[2 * i + 1]) < 0
			    ? ev_seterr(err, EV_ERR, "out of memory")
			    : ev_kafka_props_add(&d->props, p, err);
		free(p);
		if (r != 0) {
			ev_kafka_dlq_close(d);
			return r;
		}
	}
	if (ev_kafka_props_get(&d->props, "message.timeout.ms") == NULL) {
		snprintf(kv, sizeof(kv), "message.timeout.ms=%d",
			 conn->timeout_ms);
		if ((r = ev_kafka_props_add(&d->props, kv, err)) != 0) {
			ev_kafka_dlq_close(d);
			return r;
		}
	}
	d->conn.props = &d->props;
	if ((r = ev_kafka_decoder_new(&d->dec, err)) != 0 ||
	    (r = ev_kafka_producer_open(&d->p, &d->conn, on_ack, d, err)) !=
		    0) {
		ev_kafka_dlq_close(d);
		return r;
	}
	*out = d;
	return 0;
}

const char *ev_kafka_dlq_name(const struct ev_kafka_dlq *d)
{
	return d->name;
}

uint64_t ev_kafka_dlq_count(const struct ev_kafka_dlq *d)
{
	return d != NULL ? d->written : 0;
}

static void json_clear(struct ev_kafka_dlq *d)
{
	size_t i;

	for (i = 0; i < d->njson; i++)
		free(d->json[i]);
	d->njson = 0;
}

void ev_kafka_dlq_close(struct ev_kafka_dlq *d)
{
	if (d == NULL)
		return;
	ev_kafka_producer_close(d->p);
	ev_kafka_decoder_free(d->dec);
	ev_letters_clear(&d->known);
	ev_kafka_props_free(&d->props);
	json_clear(d);
	free(d->json);
	free(d->json_off);
	free(d->want);
	free(d);
}

/* m to partition 0, acknowledged: its offset in *offset */
static int produce(struct ev_kafka_dlq *d, const struct ev_kafka_msg *m,
		   int64_t *offset, struct ev_error *err)
{
	int r;

	d->acked_offset = -1;
	if ((r = ev_kafka_produce_to(d->p, m, DLQ_PARTITION, NULL, err)) != 0 ||
	    (r = ev_kafka_producer_flush(d->p, err)) != 0)
		return r;
	if (d->acked_offset < 0)
		return ev_seterr(err, EV_EIO,
				 "kafka '%s': topic '%s': no "
				 "delivery report",
				 d->conn.addr->brokers, d->conn.addr->topic);
	*offset = d->acked_offset;
	return 0;
}

/* What the rounds need of a letter (ev_dlq_next_round()) and no more:
 * a long run's letters are not all held whole */
static void slim(struct ev_letter *l)
{
	char **f[] = {&l->source_log,  &l->orig_id, &l->orig_type,
		      &l->orig_stream, &l->error,   &l->stderr_tail,
		      &l->handler,     &l->reason,  &l->original_json,
		      &l->input,       &l->schemas};
	size_t i;

	/* a schema letter's round is by its event's id */
	int schema = l->stage != NULL && strcmp(l->stage, "schema") == 0;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (schema && f[i] == &l->orig_id)
			continue;
		free(*f[i]);
		*f[i] = NULL;
	}
}

/* A letter carries its event twice (the value, and evlog_letter) and
 * its standard error three times: one Kafka refuses for its size must say
 * what to raise, else its event blocks the group run after run.  The
 * size counted here is no more than librdkafka's. */
static int check_size(struct ev_kafka_dlq *d, const struct ev_kafka_msg *m,
		      struct ev_error *err)
{
	const char *v = ev_kafka_props_get(&d->props, "message.max.bytes");
	unsigned long long max = v != NULL ? strtoull(v, NULL, 10) : 1000000;
	size_t sz = m->key.len + m->value.len, i;

	for (i = 0; i < m->nh; i++)
		sz += strlen(m->h[i].name) + m->h[i].len;
	if (sz <= max)
		return 0;
	return ev_seterr(err, EV_EIO,
			 "kafka '%s': topic '%s': the letter is %zu bytes, "
			 "more than message.max.bytes (%llu): raise it with "
			 "-X message.max.bytes=N (the topic's "
			 "max.message.bytes too)",
			 d->conn.addr->brokers, d->conn.addr->topic, sz, max);
}

int ev_kafka_dlq_letter(void *ctx, const struct ev_letter_ctx *lc,
			struct ev_error *err)
{
	struct ev_kafka_dlq *d = ctx;
	struct ev_letter_ctx c = *lc;
	struct ev_kafka_msg m = {0};
	struct ev_buf rec = {0};
	struct ev_event lev;
	ev_time_t now = ev_now();
	uint64_t others;
	int64_t off;
	int r;

	if (!d->loaded) { /* the letters there, for the rounds */
		struct ev_letter *v;
		size_t n, i;
		if ((r = ev_kafka_dlq_scan(d, &v, &n, &others, err)) != 0)
			return r;
		d->known.v = v;
		d->known.n = d->known.cap = n;
		d->loaded = 1;
		for (i = 0; i < n; i++)
			slim(&v[i]);
		json_clear(d); /* evdlq's, not needed here */
	}
	if (c.schemas == NULL) {
		uint64_t round =
			ev_dlq_next_round(d->known.v, d->known.n, c.group,
					  c.source_log_id, c.source->offset);
		if (round > c.round)
			c.round = round;
	} else { /* evpub's: the event's earlier letters in the topic */
		char *id = strndup(c.source->id.p, c.source->id.n);
		uint64_t round;
		if (id == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		round = ev_dlq_schema_next_round(d->known.v, d->known.n,
						 c.source_log_id, id);
		free(id);
		if (round > c.schema_round)
			c.schema_round = round;
	}
	ev_kafka_msg_reset(&m);
	r = letter_event(&c, now, &rec, &lev, err);
	if (r == 0)
		r = letter_msg(&c, &lev, now, &m, err);
	if (r == 0)
		r = check_size(d, &m, err);
	if (r == 0)
		r = produce(d, &m, &off, err);
	/* remembered, for the rounds of those to come */
	if (r == 0 &&
	    (r = ev_letters_add(&d->known, &lev, (uint64_t)off, err)) == 0) {
		if (d->known.n > 0)
			slim(&d->known.v[d->known.n - 1]);
		d->written++;
	}
	ev_kafka_msg_free(&m);
	ev_buf_free(&rec);
	return r;
}

int ev_kafka_dlq_mark(void *ctx, int kind, const struct ev_letter *l,
		      const char *handler, unsigned attempts,
		      const char *reason, const struct ev_done *dn,
		      struct ev_error *err)
{
	struct ev_kafka_dlq *d = ctx;
	struct ev_kafka_msg m = {0};
	struct ev_buf rec = {0};
	struct ev_event ev;
	ev_time_t t;
	int64_t off;
	int r;

	ev_kafka_msg_reset(&m);
	r = ev_dlq_resolution_encode(&rec, kind, l, handler, attempts, reason,
				     dn, ev_now(), &t, err);
	if (r == 0)
		r = ev_event_decode(rec.p, rec.len, &ev, err);
	if (r == 0)
		r = ev_kafka_event_to_msg(&ev, EV_KAFKA_BINARY, &m, err);
	if (r == 0) { /* keyed by the letter it is about */
		m.key.len = 0;
		r = ev_buf_puts(&m.key, l->id) != 0
			    ? ev_seterr(err, EV_ERR, "out of memory")
			    : 0;
	}
	if (r == 0)
		r = produce(d, &m, &off, err);
	ev_kafka_msg_free(&m);
	ev_buf_free(&rec);
	return r;
}

/* ------------------------------------------------------------ reading */

int ev_kafka_dlq_want_json(struct ev_kafka_dlq *d, const uint64_t *offsets,
			   size_t n, struct ev_error *err)
{
	uint64_t *w = NULL;

	if (n > 0 && (w = malloc(n * sizeof(*w))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (n > 0)
		memcpy(w, offsets, n * sizeof(*w));
	free(d->want);
	d->want = w;
	d->nwant = n;
	return 0;
}

/* only what evdlq show asked for: a big topic's letters are not held
 * twice */
static int json_keep(struct ev_kafka_dlq *d, uint64_t off, const char *s,
		     size_t n, struct ev_error *err)
{
	size_t i;

	for (i = 0; i < d->nwant && d->want[i] != off; i++)
		;
	if (i == d->nwant)
		return 0;
	if (d->njson == d->capjson) {
		size_t cap = d->capjson ? 2 * d->capjson : 64;
		uint64_t *no = realloc(d->json_off, cap * sizeof(*no));
		char **nj;
		if (no == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		d->json_off = no;
		if ((nj = realloc(d->json, cap * sizeof(*nj))) == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		d->json = nj;
		d->capjson = cap;
	}
	if ((d->json[d->njson] = strndup(s, n)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	d->json_off[d->njson++] = off;
	return 0;
}

const char *ev_kafka_dlq_letter_json(const struct ev_kafka_dlq *d,
				     uint64_t offset)
{
	size_t i;

	for (i = 0; i < d->njson; i++)
		if (d->json_off[i] == offset)
			return d->json[i];
	return NULL;
}

/* a record that is a letter but none evdlq can read: kept, so that it
 * is reported and purged, and shown as evtail reads the record */
static int add_malformed(struct ev_kafka_dlq *d, struct ev_letters *a,
			 const struct ev_kafka_msg *m, uint64_t off,
			 const char *why, struct ev_error *err)
{
	struct ev_letter *l;
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_buf js = {0};
	struct ev_error e2;
	int64_t ts = m->timestamp;
	char id[400];
	int r;

	if (ev_kafka_decode(d->dec, m, d->conn.addr->topic, DLQ_PARTITION,
			    (int64_t)off, &rec, &ev, &e2) == 0 &&
	    ev_record_to_json(rec.p, rec.n, off, &js, &e2) == 0) {
		r = json_keep(d, off, (const char *)js.p, js.len, err);
		ev_buf_free(&js);
		if (r != 0)
			return r;
	}
	ev_buf_free(&js);

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		struct ev_letter *nv = realloc(a->v, cap * sizeof(*nv));
		if (nv == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		a->v = nv;
		a->cap = cap;
	}
	l = &a->v[a->n];
	memset(l, 0, sizeof(*l));
	snprintf(id, sizeof(id), "kafka:%s:%d:%llu", d->conn.addr->topic,
		 DLQ_PARTITION, (unsigned long long)off);
	if ((l->id = strdup(id)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	a->n++;
	l->offset = off;
	l->time = ts >= 0 ? (ev_time_t)ts * 1000000 : ev_now();
	l->state = EV_LETTER_OPEN;
	l->state_time = EV_TIME_NONE;
	l->stage = "handler";
	l->malformed = why;
	return 0;
}

static int is_mark(const struct ev_kafka_header *h)
{
	static const char *const types[] = {"DeadLetterResolved",
					    "DeadLetterDiscarded",
					    "DeadLetterRetryFailed"};
	size_t i;

	for (i = 0; h != NULL && h->value != NULL && i < 3; i++)
		if (h->len == strlen(types[i]) &&
		    memcmp(h->value, types[i], h->len) == 0)
			return 1;
	return 0;
}

/* One record of partition 0 into the letters. */
static int take(struct ev_kafka_dlq *d, struct ev_letters *a,
		const struct ev_kafka_msg *m, int64_t off, struct ev_error *err)
{
	const struct ev_kafka_header *lh =
		ev_kafka_msg_header(m, LETTER_HEADER);
	struct ev_kafka_msg syn = {0};
	struct ev_buf js = {0};
	struct ev_rec rec;
	struct ev_event ev;
	size_t before = a->n;
	int r;

	if (lh != NULL) {
		/* the letter, decoded as an envelope record would be */
		ev_kafka_msg_reset(&syn);
		syn.has_value = lh->value != NULL;
		syn.timestamp = m->timestamp;
		if ((lh->value != NULL &&
		     ev_buf_append(&syn.value, lh->value, lh->len) != 0) ||
		    ev_kafka_msg_add_header(&syn, "content-type", CT_ENVELOPE,
					    strlen(CT_ENVELOPE)) != 0) {
			ev_kafka_msg_free(&syn);
			return ev_seterr(err, EV_ERR, "out of memory");
		}
		r = ev_kafka_decode(d->dec, &syn, d->conn.addr->topic,
				    DLQ_PARTITION, off, &rec, &ev, err);
		ev_kafka_msg_free(&syn);
		if (r == EV_EDATA)
			return add_malformed(d, a, m, (uint64_t)off,
					     "its evlog_letter header is not "
					     "an event",
					     err);
		if (r != 0)
			return r;
		/* a letter only: never a mark, which is a record of its own */
		if (ev.type.n == strlen("DeadLetter") &&
		    memcmp(ev.type.p, "DeadLetter", ev.type.n) == 0 &&
		    (r = ev_letters_add(a, &ev, (uint64_t)off, err)) != 0)
			return r;
		if (a->n == before) /* not a DeadLetter */
			return add_malformed(d, a, m, (uint64_t)off,
					     "its evlog_letter header is not "
					     "a DeadLetter event",
					     err);
		r = ev_record_to_json(rec.p, rec.n, (uint64_t)off, &js, err);
		if (r == 0)
			r = json_keep(d, (uint64_t)off, (const char *)js.p,
				      js.len, err);
		ev_buf_free(&js);
		return r;
	}
	if (is_mark(ev_kafka_msg_header(m, "ce_type"))) {
		r = ev_kafka_decode(d->dec, m, d->conn.addr->topic,
				    DLQ_PARTITION, off, &rec, &ev, err);
		if (r == EV_EDATA)
			return 0; /* names nothing we can know: ignored */
		return r != 0 ? r : ev_letters_add(a, &ev, (uint64_t)off, err);
	}
	if (ev_kafka_msg_header(m, "kafka_dlt-original-topic") != NULL ||
	    ev_kafka_msg_header(m, "__connect.errors.topic") != NULL)
		return add_malformed(d, a, m, (uint64_t)off,
				     "another producer's dead letter, with no "
				     "evlog_letter header",
				     err);
	return 0; /* not ours */
}

int ev_kafka_dlq_scan(struct ev_kafka_dlq *d, struct ev_letter **out,
		      size_t *count, uint64_t *others, struct ev_error *err)
{
	struct ev_kafka_consumer_opts co;
	struct ev_kafka_consumer *c = NULL;
	struct ev_kafka_msg m = {0};
	struct ev_letters a = {0};
	ev_time_t last = ev_now();
	int32_t part;
	int64_t off;
	int r;

	*out = NULL;
	*count = 0;
	*others = 0;
	json_clear(d);
	memset(&co, 0, sizeof(co));
	co.conn = d->conn;
	if ((r = ev_kafka_consumer_open(&c, &co, err)) != 0)
		return r;
	ev_kafka_msg_reset(&m);
	for (;;) {
		part = -1;
		off = -1;
		r = ev_kafka_consumer_next(c, 200, &m, &part, &off, err);
		if (r == 0)
			break;
		if (r == EV_EDATA && part >= 0 && off >= 0) {
			/* a record evlog cannot take (too many headers):
			 * one bad record must not make the topic unreadable */
			last = ev_now();
			if (part != DLQ_PARTITION) {
				(*others)++;
				continue;
			}
			if ((r = add_malformed(
				     d, &a, &m, (uint64_t)off,
				     "it has more than " STR(
					     EV_KAFKA_MAX_HEADERS) " headers",
				     err)) != 0)
				break;
			continue;
		}
		if (r == EV_EAGAIN) {
			/* never a hang on a cluster that went away */
			if (ev_now() - last >
			    (ev_time_t)d->conn.timeout_ms * 1000000) {
				r = ev_seterr(err, EV_EIO,
					      "kafka '%s': topic '%s': no "
					      "record and no end within %d ms "
					      "(--kafka-timeout)",
					      d->conn.addr->brokers,
					      d->conn.addr->topic,
					      d->conn.timeout_ms);
				break;
			}
			continue;
		}
		if (r < 0)
			break;
		last = ev_now();
		if (part != DLQ_PARTITION) {
			(*others)++;
			continue;
		}
		if ((r = take(d, &a, &m, off, err)) != 0)
			break;
	}
	ev_kafka_msg_free(&m);
	ev_kafka_consumer_close(c);
	if (r < 0) {
		ev_letters_clear(&a);
		return r;
	}
	*out = a.v;
	*count = a.n;
	return 0;
}
