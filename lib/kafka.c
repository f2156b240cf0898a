/*
 * kafka.c - Kafka logs: kafka:// addresses, librdkafka properties
 * (-X key=value, kcat's properties files), and the mapping between
 * events and Kafka records (evtail(1) and evpub(1) KAFKA).  Pure
 * functions, no librdkafka here: the client lives in kafka_client.c,
 * kafka_produce.c and kafka_consume.c.
 *
 * The default mapping is the CloudEvents Kafka protocol binding in
 * binary mode: the key is the event's key (or its stream), the value its
 * data as JSON, the attributes ce_* headers.  evlog's own fields use the
 * attributes of evlog's CloudEvents table (lib/cloudevents.c): stream is
 * ce_subject, version ce_sequence, key ce_partitionkey, schema
 * ce_schemaversion, and meta travels whole in ce_evlogmeta as JSON, so
 * nothing is lost.  "structured" puts the CloudEvents JSON in the value,
 * "envelope" evlog's envelope JSON.  Reading detects each record's
 * format from its headers; a record without them is a foreign one, an
 * event of type kafka.record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlkafka_int.h"
#include "evlog_private.h"

#define CE_DEFAULT_SOURCE "urn:evlog:default"
#define CT_JSON "application/json"
#define CT_CE "application/cloudevents+json"
#define CT_ENVELOPE "application/vnd.evlog+json"
#define CT_BINARY "application/octet-stream"

/* ------------------------------------------------------------ addresses */

int ev_kafka_is_addr(const char *s)
{
	return s != NULL &&
	       strncmp(s, EV_KAFKA_PREFIX, sizeof(EV_KAFKA_PREFIX) - 1) == 0;
}

/* one HOST:PORT of the list, [b, e) */
static int check_broker(const char *s, const char *b, const char *e,
			struct ev_error *err)
{
	const char *colon, *q;
	long port = 0;
	int n = (int)(e - b);

	if (b == e)
		return ev_seterr(err, EV_EUSAGE,
				 "kafka address '%s': empty broker in the list",
				 s);
	if (*b == '[') { /* [IPv6]:PORT */
		q = memchr(b, ']', (size_t)(e - b));
		if (q == NULL || q == b + 1)
			return ev_seterr(
				err, EV_EUSAGE,
				"kafka address '%s': broker '%.*s': unclosed '['",
				s, n, b);
		colon = q + 1 < e && q[1] == ':' ? q + 1 : NULL;
	} else {
		colon = NULL;
		for (q = b; q < e; q++)
			if (*q == ':')
				colon = q;
		if (colon == b)
			return ev_seterr(
				err, EV_EUSAGE,
				"kafka address '%s': broker '%.*s': missing host",
				s, n, b);
		for (q = b; q < (colon != NULL ? colon : e); q++)
			if (!((*q >= 'a' && *q <= 'z') ||
			      (*q >= 'A' && *q <= 'Z') ||
			      (*q >= '0' && *q <= '9') || *q == '.' ||
			      *q == '-' || *q == '_'))
				return ev_seterr(err, EV_EUSAGE,
						 "kafka address '%s': broker "
						 "'%.*s': invalid character "
						 "'%c' in the host",
						 s, n, b, *q);
	}
	if (colon == NULL || colon + 1 == e)
		return ev_seterr(err, EV_EUSAGE,
				 "kafka address '%s': broker '%.*s': missing "
				 "port (HOST:PORT)",
				 s, n, b);
	for (q = colon + 1; q < e; q++) {
		if (*q < '0' || *q > '9' || port > 65535)
			break;
		port = port * 10 + (*q - '0');
	}
	if (q != e || port < 1 || port > 65535)
		return ev_seterr(err, EV_EUSAGE,
				 "kafka address '%s': broker '%.*s': invalid "
				 "port '%.*s' (1 to 65535)",
				 s, n, b, (int)(e - colon - 1), colon + 1);
	return 0;
}

int ev_kafka_addr_parse(const char *s, struct ev_kafka_addr *a,
			struct ev_error *err)
{
	const char *hosts, *slash, *b, *e, *t;
	size_t tn;

	memset(a, 0, sizeof(*a));
	if (!ev_kafka_is_addr(s))
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not a kafka address "
				 "(kafka://HOST:PORT[,HOST:PORT...]/TOPIC)",
				 s);
	hosts = s + sizeof(EV_KAFKA_PREFIX) - 1;
	slash = strchr(hosts, '/');
	if (slash == NULL || slash[1] == '\0')
		return ev_seterr(err, EV_EUSAGE,
				 "kafka address '%s': missing topic "
				 "(kafka://HOST:PORT[,HOST:PORT...]/TOPIC)",
				 s);
	if (slash == hosts)
		return ev_seterr(err, EV_EUSAGE,
				 "kafka address '%s': missing brokers "
				 "(kafka://HOST:PORT[,HOST:PORT...]/TOPIC)",
				 s);
	if ((size_t)(slash - hosts) >= sizeof(a->brokers))
		return ev_seterr(err, EV_EUSAGE,
				 "kafka address '%s': broker list too long", s);
	for (b = hosts; b <= slash; b = e + 1) {
		e = b;
		while (e < slash && *e != ',')
			e++;
		if (check_broker(s, b, e, err) != 0)
			return EV_EUSAGE;
		if (e == slash)
			break;
	}
	t = slash + 1;
	tn = strlen(t);
	if (tn > 249)
		return ev_seterr(err, EV_EUSAGE,
				 "kafka address '%s': topic longer than 249 "
				 "characters",
				 s);
	if (strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
		return ev_seterr(
			err, EV_EUSAGE,
			"kafka address '%s': topic '%s' is not allowed", s, t);
	for (b = t; *b != '\0'; b++)
		if (!((*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z') ||
		      (*b >= '0' && *b <= '9') || *b == '.' || *b == '_' ||
		      *b == '-'))
			return ev_seterr(err, EV_EUSAGE,
					 "kafka address '%s': topic '%s': "
					 "invalid character '%c' (letters, "
					 "digits, '.', '_' and '-')",
					 s, t, *b);
	memcpy(a->brokers, hosts, (size_t)(slash - hosts));
	a->brokers[slash - hosts] = '\0';
	memcpy(a->topic, t, tn + 1);
	return 0;
}

/* ------------------------------------------------------------ properties */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int props_put(struct ev_kafka_props *p, const char *k, const char *v)
{
	char **nv;
	char *kc, *vc;
	size_t i;

	for (i = 0; i < p->n; i++) /* the last one given wins */
		if (strcmp(p->kv[2 * i], k) == 0) {
			vc = strdup(v);
			if (vc == NULL)
				return -1;
			free(p->kv[2 * i + 1]);
			p->kv[2 * i + 1] = vc;
			return 0;
		}
	nv = realloc(p->kv, (p->n + 1) * 2 * sizeof(*nv));
	if (nv == NULL)
		return -1;
	p->kv = nv;
	kc = strdup(k);
	vc = strdup(v);
	if (kc == NULL || vc == NULL) {
		free(kc);
		free(vc);
		return -1;
	}
	p->kv[2 * p->n] = kc;
	p->kv[2 * p->n + 1] = vc;
	p->n++;
	return 0;
}

int ev_kafka_props_add(struct ev_kafka_props *p, const char *arg,
		       struct ev_error *err)
{
	const char *eq = strchr(arg, '=');
	char *k;
	int r;

	if (eq == NULL || eq == arg)
		return ev_seterr(err, EV_EUSAGE,
				 "-X '%s': expected PROPERTY=VALUE", arg);
	k = strndup(arg, (size_t)(eq - arg));
	if (k == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = props_put(p, k, eq + 1);
	free(k);
	return r == 0 ? 0 : ev_seterr(err, EV_ERR, "out of memory");
}

/* Does librdkafka take k=v?  Else EV_EUSAGE naming the file and line
 * (conf: a scratch configuration, or NULL without librdkafka: the
 * client's own configuration says it then). */
static int props_check(rd_kafka_conf_t *conf, const char *k, const char *v,
		       const char *path, unsigned long ln, struct ev_error *err)
{
	char es[512];

	if (conf == NULL ||
	    rd_kafka_conf_set(conf, k, v, es, sizeof(es)) == RD_KAFKA_CONF_OK)
		return 0;
	return ev_seterr(err, EV_EUSAGE, "'%s': line %lu: %s", path, ln, es);
}

int ev_kafka_props_load(struct ev_kafka_props *p, const char *path,
			struct ev_error *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *s, *eq;
	size_t cap = 0;
	unsigned long ln = 0;
	rd_kafka_conf_t *conf = NULL;
	struct ev_error ignored;
	int r = 0;

	if (f == NULL)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "'%s'", path);
	/* each property checked where it is written, not later as -X's */
	if (ev_dl_rdkafka(NULL, &ignored) == 0)
		conf = rd_kafka_conf_new();
	while (getline(&line, &cap, f) != -1) {
		ln++;
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL || eq == s) {
			r = ev_seterr(err, EV_EUSAGE,
				      "'%s': line %lu: expected property=value",
				      path, ln);
			break;
		}
		*eq = '\0';
		s = trim(s);
		eq = trim(eq + 1);
		if ((r = props_check(conf, s, eq, path, ln, err)) != 0)
			break;
		if (props_put(p, s, eq) != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
	}
	if (r == 0 && ferror(f))
		r = ev_seterr_errno(err, EV_EIO, errno, "'%s'", path);
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	free(line);
	fclose(f);
	return r;
}

int ev_kafka_props_check(const struct ev_kafka_props *p, struct ev_error *err)
{
	rd_kafka_conf_t *conf;
	struct ev_error ignored;
	char es[512];
	size_t i;
	int r = 0;

	/* without librdkafka, the client's open says so */
	if (p->n == 0 || ev_dl_rdkafka(NULL, &ignored) != 0)
		return 0;
	if ((conf = rd_kafka_conf_new()) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < p->n && r == 0; i++)
		if (rd_kafka_conf_set(conf, p->kv[2 * i], p->kv[2 * i + 1], es,
				      sizeof(es)) != RD_KAFKA_CONF_OK)
			r = ev_seterr(err, EV_EUSAGE, "-X: %s", es);
	rd_kafka_conf_destroy(conf);
	return r;
}

const char *ev_kafka_props_get(const struct ev_kafka_props *p, const char *k)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->kv[2 * i], k) == 0)
			return p->kv[2 * i + 1];
	return NULL;
}

void ev_kafka_props_free(struct ev_kafka_props *p)
{
	size_t i;

	for (i = 0; i < 2 * p->n; i++)
		free(p->kv[i]);
	free(p->kv);
	p->kv = NULL;
	p->n = 0;
}

int ev_kafka_format_parse(const char *s, enum ev_kafka_format *f,
			  struct ev_error *err)
{
	if (strcmp(s, "binary") == 0)
		*f = EV_KAFKA_BINARY;
	else if (strcmp(s, "structured") == 0)
		*f = EV_KAFKA_STRUCTURED;
	else if (strcmp(s, "envelope") == 0)
		*f = EV_KAFKA_ENVELOPE;
	else
		return ev_seterr(err, EV_EUSAGE,
				 "--kafka-format '%s': expected binary, "
				 "structured or envelope",
				 s);
	return 0;
}

/* ------------------------------------------------------------ messages */

void ev_kafka_msg_reset(struct ev_kafka_msg *m)
{
	m->nh = 0;
	m->hs.len = 0;
	m->key.len = 0;
	m->value.len = 0;
	m->has_key = 0;
	m->has_value = 0;
	m->timestamp = -1;
	m->timestamp_type = EV_KAFKA_TS_NONE;
}

void ev_kafka_msg_free(struct ev_kafka_msg *m)
{
	free(m->h);
	ev_buf_free(&m->hs);
	ev_buf_free(&m->key);
	ev_buf_free(&m->value);
	memset(m, 0, sizeof(*m));
	m->timestamp = -1;
}

/* The names and values of the headers live in one buffer, kept from
 * record to record: no allocation per header.  When it grows, the
 * headers so far are pointed at the new one. */
int ev_kafka_msg_add_header(struct ev_kafka_msg *m, const char *name,
			    const void *v, size_t n)
{
	struct ev_kafka_header *nh;
	size_t nl = strlen(name), need = nl + 1 + (v != NULL ? n + 1 : 0), i;
	uint8_t *o;

	if (m->nh >= EV_KAFKA_MAX_HEADERS)
		return EV_EDATA;
	if (m->nh == m->caph) {
		size_t c = m->caph ? m->caph * 2 : 16;
		nh = realloc(m->h, c * sizeof(*nh));
		if (nh == NULL)
			return EV_ERR;
		m->h = nh;
		m->caph = c;
	}
	if (need < nl || m->hs.len + need < m->hs.len)
		return EV_ERR;
	if (m->hs.cap - m->hs.len < need) {
		size_t cap = m->hs.cap ? m->hs.cap : 1024;
		uint8_t *np;
		while (cap < m->hs.len + need)
			cap *= 2;
		if ((np = malloc(cap)) == NULL)
			return EV_ERR;
		if (m->hs.len > 0)
			memcpy(np, m->hs.p, m->hs.len);
		for (i = 0; i < m->nh; i++) {
			m->h[i].name = (char *)np +
				       ((uint8_t *)m->h[i].name - m->hs.p);
			if (m->h[i].value != NULL)
				m->h[i].value = np + (m->h[i].value - m->hs.p);
		}
		free(m->hs.p);
		m->hs.p = np;
		m->hs.cap = cap;
	}
	o = m->hs.p + m->hs.len;
	memcpy(o, name, nl + 1);
	m->h[m->nh].name = (char *)o;
	m->h[m->nh].value = NULL;
	m->h[m->nh].len = 0;
	if (v != NULL) {
		memcpy(o + nl + 1, v, n);
		o[nl + 1 + n] = '\0';
		m->h[m->nh].value = o + nl + 1;
		m->h[m->nh].len = n;
	}
	m->hs.len += need;
	m->nh++;
	return 0;
}

const struct ev_kafka_header *ev_kafka_msg_header(const struct ev_kafka_msg *m,
						  const char *name)
{
	size_t i;

	for (i = m->nh; i-- > 0;) /* the last one, as Kafka's lastHeader */
		if (strcmp(m->h[i].name, name) == 0)
			return &m->h[i];
	return NULL;
}

static int hdr_str(struct ev_kafka_msg *m, const char *name, const char *s,
		   size_t n, struct ev_error *err)
{
	if (ev_kafka_msg_add_header(m, name, s, n) != 0)
		return ev_seterr(err, EV_EDATA,
				 "too many headers or no memory");
	return 0;
}

static int hdr_u64(struct ev_kafka_msg *m, const char *name, uint64_t v,
		   struct ev_error *err)
{
	char tmp[24];
	char *e = ev_fmt_u64(tmp, v);

	return hdr_str(m, name, tmp, (size_t)(e - tmp), err);
}

/* the source of evlog's CloudEvents table: meta.source when a string */
static void meta_source(const struct ev_event *ev, const char **s, size_t *n)
{
	const uint8_t *p, *end;
	struct ev_mp_item it, key, val;
	uint32_t i;

	*s = CE_DEFAULT_SOURCE;
	*n = strlen(CE_DEFAULT_SOURCE);
	if (ev->meta == NULL)
		return;
	p = ev->meta;
	end = ev->meta + ev->meta_len;
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		return;
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(&p, end, &key) != 0 || key.type != EV_MP_STR)
			return;
		const uint8_t *vp = p;
		if (ev_mp_read(&vp, end, &val) != 0)
			return;
		if (key.n == 6 && memcmp(key.p, "source", 6) == 0 &&
		    val.type == EV_MP_STR && val.n > 0) {
			*s = (const char *)val.p;
			*n = val.n;
			return;
		}
		if (ev_mp_skip(&p, end, 64) != 0)
			return;
	}
}

/* A record has no log offset: the structured value goes without
 * evlogoffset (nor the evlogpartition of an event read from a topic).
 * The attribute's text cannot occur inside a JSON string (a quote there
 * is escaped), so the first match is the attribute. */
static void drop_attr(struct ev_buf *v, const char *at)
{
	size_t atn = strlen(at);
	uint8_t *p = memmem(v->p, v->len, at, atn), *q;

	if (p == NULL)
		return;
	q = memchr(p + atn, '"', v->len - (size_t)(p - v->p) - (atn));
	if (q == NULL)
		return;
	q++;
	memmove(p, q, v->len - (size_t)(q - v->p));
	v->len -= (size_t)(q - p);
}

/* The record's key (the event's key, else its stream) and timestamp. */
static int key_time(const struct ev_event *ev, struct ev_kafka_msg *m,
		    struct ev_error *err)
{
	int r;

	m->timestamp = (int64_t)(ev->time / 1000000); /* ns to ms */
	m->has_key = 1;
	if (ev->key.n > 0)
		r = ev_buf_append(&m->key, ev->key.p, ev->key.n);
	else
		r = ev_buf_append(&m->key, ev->stream.p, ev->stream.n);
	return r == 0 ? 0 : ev_seterr(err, EV_ERR, "out of memory");
}

/* Binary mode's headers, in their order.  The value holds data's JSON
 * (or bytes) in its first djs bytes, then meta's JSON when ev has meta:
 * that goes to ce_evlogmeta and the value keeps data alone. */
static int binary_headers(const struct ev_event *ev, struct ev_kafka_msg *m,
			  size_t djs, struct ev_error *err)
{
	char tmp[40];
	const char *src, *ctype = NULL;
	size_t srcn;
	int r;

	meta_source(ev, &src, &srcn);
	if ((r = hdr_str(m, "ce_specversion", "1.0", 3, err)) != 0 ||
	    (r = hdr_str(m, "ce_id", ev->id.p, ev->id.n, err)) != 0 ||
	    (r = hdr_str(m, "ce_source", src, srcn, err)) != 0 ||
	    (r = hdr_str(m, "ce_type", ev->type.p, ev->type.n, err)) != 0 ||
	    (r = hdr_str(m, "ce_time", tmp, ev_time_format(ev->time, tmp),
			 err)) != 0)
		return r;
	if (ev->stream.n > 0 && (r = hdr_str(m, "ce_subject", ev->stream.p,
					     ev->stream.n, err)) != 0)
		return r;
	if (ev->version != 0 &&
	    (r = hdr_u64(m, "ce_sequence", ev->version, err)) != 0)
		return r;
	if (ev->key.n > 0 &&
	    (r = hdr_str(m, "ce_partitionkey", ev->key.p, ev->key.n, err)) != 0)
		return r;
	if (ev->schema != 1 &&
	    (r = hdr_u64(m, "ce_schemaversion", ev->schema, err)) != 0)
		return r;
	if (ev->meta != NULL) {
		r = hdr_str(m, "ce_evlogmeta", (const char *)m->value.p + djs,
			    m->value.len - djs, err);
		m->value.len = djs;
		if (r != 0)
			return r;
	}
	if (ev->data != NULL) { /* no data: a null value */
		m->has_value = 1;
		ctype = ev->data_is_binary ? CT_BINARY : CT_JSON;
	}
	if (ctype != NULL)
		r = hdr_str(m, "content-type", ctype, strlen(ctype), err);
	return r;
}

/* An event's record in binary mode: data's JSON, then meta's after it in
 * the same buffer (kept from record to record: none allocated). */
static int binary_msg(const struct ev_event *ev, struct ev_kafka_msg *m,
		      struct ev_error *err)
{
	size_t djs;
	int r = 0;

	if (ev->data != NULL && ev->data_is_binary)
		r = ev_buf_append(&m->value, ev->data, ev->data_len) == 0
			    ? 0
			    : ev_seterr(err, EV_ERR, "out of memory");
	else if (ev->data != NULL)
		r = ev_msgpack_to_json(ev->data, ev->data_len, &m->value, err);
	djs = m->value.len;
	if (r == 0 && ev->meta != NULL)
		r = ev_msgpack_to_json(ev->meta, ev->meta_len, &m->value, err);
	return r != 0 ? r : binary_headers(ev, m, djs, err);
}

int ev_kafka_event_to_msg(const struct ev_event *ev, enum ev_kafka_format fmt,
			  struct ev_kafka_msg *m, struct ev_error *err)
{
	int r;

	ev_kafka_msg_reset(m);
	if ((r = key_time(ev, m, err)) != 0)
		return r;
	switch (fmt) {
	case EV_KAFKA_STRUCTURED:
		m->has_value = 1;
		r = ev_event_to_cloudevent(ev, &m->value, err);
		if (r == 0)
			drop_attr(&m->value, ",\"evlogoffset\":\"");
		if (r == 0 && ev->has_partition) /* else data may have one */
			drop_attr(&m->value, ",\"evlogpartition\":\"");
		if (r == 0)
			r = hdr_str(m, "content-type", CT_CE, strlen(CT_CE),
				    err);
		return r;
	case EV_KAFKA_ENVELOPE:
		m->has_value = 1;
		r = ev_event_to_json(ev, &m->value, EV_JSON_NO_OFFSET, err);
		if (r == 0)
			r = hdr_str(m, "content-type", CT_ENVELOPE,
				    strlen(CT_ENVELOPE), err);
		return r;
	case EV_KAFKA_BINARY:
		break;
	}
	return binary_msg(ev, m, err);
}

/*
 * The record evpub's parser encoded, straight into its record in format
 * fmt; *id its id (in rec).  In binary mode one walk of the record both
 * checks it as ev_event_decode() does and writes data's and meta's JSON
 * as it meets them, rather than a walk to find where they end and
 * another to convert them.
 */
static int rec_bad(struct ev_error *err, const char *why)
{
	return ev_seterr(err, EV_EDATA, "invalid record: %s", why);
}

static int rec_str(const uint8_t **p, const uint8_t *end, struct ev_str *s)
{
	struct ev_mp_item it;

	if (ev_mp_read(p, end, &it) != 0 || it.type != EV_MP_STR || it.n == 0 ||
	    ev_utf8_valid(it.p, it.n) != it.n)
		return -1;
	s->p = (const char *)it.p;
	s->n = it.n;
	return 0;
}

int ev_kafka_record_to_msg(const uint8_t *rec, size_t n,
			   enum ev_kafka_format fmt, struct ev_kafka_msg *m,
			   struct ev_str *id, struct ev_error *err)
{
	const uint8_t *p = rec, *end = rec + n, *v;
	struct ev_event ev;
	struct ev_mp_item it, kv;
	uint64_t last = 0, k;
	size_t djs = 0;
	uint32_t i;
	int r;

	if (fmt != EV_KAFKA_BINARY) {
		if ((r = ev_event_decode(rec, n, &ev, err)) != 0 ||
		    (r = ev_kafka_event_to_msg(&ev, fmt, m, err)) != 0)
			return r;
		*id = ev.id;
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.time = EV_TIME_NONE;
	ev.schema = 1;
	ev.prev = EV_NO_PREV;
	ev_kafka_msg_reset(m);
	/* evlog(5): a fixmap of 3 to 10 entries */
	if (n == 0 || rec[0] < 0x83 || rec[0] > 0x8a)
		return rec_bad(err, "not a record map of 3 to 10 fields");
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		return rec_bad(err, "not a msgpack map");
	for (i = 0; i < it.n; i++) {
		if (p >= end || *p > 0x7f)
			return rec_bad(err, "field key is not a small integer");
		k = *p++;
		if (k <= last || k > EV_K_MAX)
			return rec_bad(err,
				       "unknown or out-of-order field key");
		last = k;
		switch (k) {
		case EV_K_TYPE:
			if (rec_str(&p, end, &ev.type) != 0)
				return rec_bad(
					err, "type is not a non-empty string");
			break;
		case EV_K_ID:
			if (rec_str(&p, end, &ev.id) != 0)
				return rec_bad(err,
					       "id is not a non-empty string");
			break;
		case EV_K_STREAM:
			if (rec_str(&p, end, &ev.stream) != 0)
				return rec_bad(
					err,
					"stream is not a non-empty string");
			break;
		case EV_K_KEY:
			if (rec_str(&p, end, &ev.key) != 0)
				return rec_bad(err,
					       "key is not a non-empty string");
			break;
		case EV_K_TIME:
			if (ev_mp_read(&p, end, &kv) != 0 ||
			    ev_mp_time_decode(&kv, &ev.time) != 0)
				return rec_bad(err,
					       "time is not a valid timestamp");
			break;
		case EV_K_VERSION:
		case EV_K_SCHEMA:
		case EV_K_PREV:
			if (ev_mp_read(&p, end, &kv) != 0 ||
			    kv.type != EV_MP_UINT ||
			    (k != EV_K_PREV && kv.v.u == 0))
				return rec_bad(
					err,
					k == EV_K_PREV
						? "previous offset is not "
						  "an unsigned integer"
						: "version or schema is "
						  "not a positive integer");
			if (k == EV_K_VERSION)
				ev.version = kv.v.u;
			else if (k == EV_K_SCHEMA)
				ev.schema = kv.v.u;
			break;
		case EV_K_DATA: /* its JSON, or its bytes, the value */
			v = p;
			if (p < end &&
			    (*p == 0xc4 || *p == 0xc5 || *p == 0xc6)) {
				if (ev_mp_read(&p, end, &kv) != 0)
					return rec_bad(err, "truncated data");
				ev.data = kv.p;
				ev.data_len = kv.n;
				ev.data_is_binary = 1;
				if (ev_buf_append(&m->value, kv.p, kv.n) != 0)
					return ev_seterr(err, EV_ERR,
							 "out of memory");
				break;
			}
			if ((r = ev_json_put_mp(&m->value, &p, end, 1, err)) !=
			    0)
				return r;
			ev.data = v;
			ev.data_len = (size_t)(p - v);
			break;
		case EV_K_META: /* its JSON after data's, for a header */
			v = p;
			if (p >= end || !((*p >= 0x80 && *p <= 0x8f) ||
					  *p == 0xde || *p == 0xdf))
				return rec_bad(err, "meta is not a map");
			djs = m->value.len;
			if ((r = ev_json_put_mp(&m->value, &p, end, 1, err)) !=
			    0)
				return r;
			ev.meta = v;
			ev.meta_len = (size_t)(p - v);
			break;
		}
	}
	if (ev.type.p == NULL || ev.id.p == NULL || ev.time == EV_TIME_NONE)
		return rec_bad(err, "missing type, id or time");
	if (p != end)
		return rec_bad(err, "trailing bytes after the record map");
	if (ev.meta == NULL)
		djs = m->value.len;
	*id = ev.id;
	if ((r = key_time(&ev, m, err)) != 0)
		return r;
	return binary_headers(&ev, m, djs, err);
}

/* ------------------------------------------------------------ reading */

/* is [p, p+n) one JSON value?  (scratch gets its msgpack) */
static int is_json(const uint8_t *p, size_t n, struct ev_buf *scratch)
{
	struct ev_json js;

	if (n == 0 || ev_utf8_valid(p, n) != n)
		return 0;
	scratch->len = 0;
	ev_json_init(&js, (const char *)p, n);
	if (ev_json_ws(&js) < 0 || ev_json_value(&js, scratch) != 0)
		return 0;
	return ev_json_ws(&js) < 0;
}

static int put_key_str(struct ev_buf *out, const char *k, const uint8_t *s,
		       size_t n)
{
	size_t kl = strlen(k);
	int r = ev_buf_reserve(out, kl + 4);

	if (r != 0)
		return r;
	out->p[out->len++] = ',';
	out->p[out->len++] = '"';
	memcpy(out->p + out->len, k, kl);
	out->len += kl;
	out->p[out->len++] = '"';
	out->p[out->len++] = ':';
	return ev_json_string(out, (const char *)s, n);
}

/* ,"k":N without printf (once per record) */
static int put_key_u64(struct ev_buf *out, const char *k, uint64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	int r;

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if ((r = ev_buf_putc(out, ',')) != 0 || (r = ev_buf_putc(out, '"')) ||
	    (r = ev_buf_puts(out, k)) != 0 || (r = ev_buf_puts(out, "\":")))
		return r;
	return ev_buf_append(out, d + i, sizeof(d) - i);
}

/* Where a record's error is: "record TOPIC:P:O", formatted only when an
 * error needs it (not once per record). */
struct where {
	const char *topic;
	int32_t partition;
	int64_t offset;
	char s[320];
};

static const char *W(struct where *w)
{
	if (w->s[0] == '\0')
		snprintf(w->s, sizeof(w->s), "record %s:%d:%lld", w->topic,
			 (int)w->partition, (long long)w->offset);
	return w->s;
}

/* Is [p, p+n) one JSON value as far as its extent goes: UTF-8, strings
 * and brackets balanced, nothing after it?  Every JSON value passes; a
 * value that passes but is not JSON fails the parse of the whole line,
 * which then asks is_json() why.  So a value cannot end early and add
 * keys of its own to the envelope around it. */
static int one_value(const uint8_t *p, size_t n)
{
	size_t i = 0, depth = 0;

	if (ev_utf8_valid(p, n) != n)
		return 0;
	while (i < n &&
	       (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	if (i == n)
		return 0;
	if (p[i] != '{' && p[i] != '[' && p[i] != '"') {
		/* a number or a literal */
		while (i < n && ((p[i] >= '0' && p[i] <= '9') ||
				 (p[i] >= 'a' && p[i] <= 'z') || p[i] == '-' ||
				 p[i] == '+' || p[i] == '.' || p[i] == 'E'))
			i++;
	} else {
		do {
			uint8_t c = p[i++];
			if (c == '"') {
				/* its closing quote: one after an even
				 * run of backslashes */
				for (;;) {
					const uint8_t *q =
						memchr(p + i, '"', n - i);
					size_t b = 0;
					if (q == NULL)
						return 0;
					i = (size_t)(q - p);
					while (b < i && p[i - 1 - b] == '\\')
						b++;
					i++;
					if (b % 2 == 0)
						break;
				}
			} else if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (depth == 0)
					return 0;
				depth--;
			}
		} while (depth > 0 && i < n);
		if (depth > 0)
			return 0;
	}
	while (i < n &&
	       (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i == n;
}

/* a header's value as a JSON string, or null */
static int put_hdr_value(struct ev_buf *out, const struct ev_kafka_header *h)
{
	if (h->value == NULL)
		return ev_buf_puts(out, "null");
	if (ev_utf8_valid(h->value, h->len) == h->len)
		return ev_json_string(out, (const char *)h->value, h->len);
	/* not text: base64, as kcat -J does not, but losslessly */
	ev_buf_puts(out, "{\"base64\":\"");
	ev_base64_encode(out, h->value, h->len);
	return ev_buf_puts(out, "\"}");
}

/* a decimal header ("ce_sequence") as a number */
static int hdr_number(const struct ev_kafka_header *h, uint64_t *v)
{
	size_t i;
	uint64_t x = 0;

	if (h->value == NULL || h->len == 0 || h->len > 19)
		return -1;
	for (i = 0; i < h->len; i++) {
		if (h->value[i] < '0' || h->value[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(h->value[i] - '0');
	}
	*v = x;
	return 0;
}

static int put_value_data(const struct ev_kafka_msg *m, int json_ok,
			  struct ev_buf *out, struct ev_buf *scratch)
{
	if (!m->has_value)
		return 0;
	if (json_ok && is_json(m->value.p, m->value.len, scratch)) {
		ev_buf_puts(out, ",\"data\":");
		return ev_buf_append(out, m->value.p, m->value.len);
	}
	ev_buf_puts(out, ",\"data_base64\":\"");
	ev_base64_encode(out, m->value.p, m->value.len);
	return ev_buf_putc(out, '"');
}

/* The headers from_binary() reads, found in one pass (the last of a
 * name, as ev_kafka_msg_header()). */
enum {
	H_SPECVERSION,
	H_ID,
	H_SOURCE,
	H_TYPE,
	H_SUBJECT,
	H_SEQUENCE,
	H_TIME,
	H_SCHEMAVERSION,
	H_PARTITIONKEY,
	H_DATACONTENTTYPE,
	H_EVLOGMETA,
	H_CONTENTTYPE,
	H_N
};

static int header_slot(const char *nm)
{
	if (nm[0] != 'c')
		return -1;
	if (nm[1] == 'o')
		return strcmp(nm, "content-type") == 0 ? H_CONTENTTYPE : -1;
	if (nm[1] != 'e' || nm[2] != '_')
		return -1;
	nm += 3;
	switch (nm[0]) {
	case 'd':
		return strcmp(nm, "datacontenttype") == 0 ? H_DATACONTENTTYPE
							  : -1;
	case 'e':
		return strcmp(nm, "evlogmeta") == 0 ? H_EVLOGMETA : -1;
	case 'i':
		return strcmp(nm, "id") == 0 ? H_ID : -1;
	case 'p':
		return strcmp(nm, "partitionkey") == 0 ? H_PARTITIONKEY : -1;
	case 's':
		if (strcmp(nm, "specversion") == 0)
			return H_SPECVERSION;
		if (strcmp(nm, "source") == 0)
			return H_SOURCE;
		if (strcmp(nm, "subject") == 0)
			return H_SUBJECT;
		if (strcmp(nm, "sequence") == 0)
			return H_SEQUENCE;
		return strcmp(nm, "schemaversion") == 0 ? H_SCHEMAVERSION : -1;
	case 't':
		if (strcmp(nm, "type") == 0)
			return H_TYPE;
		return strcmp(nm, "time") == 0 ? H_TIME : -1;
	}
	return -1;
}

static void index_headers(const struct ev_kafka_msg *m,
			  const struct ev_kafka_header **hx)
{
	size_t i;
	int j;

	for (j = 0; j < H_N; j++)
		hx[j] = NULL;
	for (i = 0; i < m->nh; i++)
		if ((j = header_slot(m->h[i].name)) >= 0)
			hx[j] = &m->h[i];
}

/* does the content-type say JSON (or is there none)? */
static int says_json(const struct ev_kafka_header *ct)
{
	return ct == NULL || ct->value == NULL ||
	       (ct->len >= 16 && memcmp(ct->value, CT_JSON, 16) == 0) ||
	       (ct->len >= 5 &&
		memcmp(ct->value + ct->len - 5, "+json", 5) == 0);
}

static const struct ev_kafka_header *
content_type(const struct ev_kafka_header *const *hx)
{
	return hx[H_CONTENTTYPE] != NULL ? hx[H_CONTENTTYPE]
					 : hx[H_DATACONTENTTYPE];
}

/* A binary record whose line did not parse: the value or ce_evlogmeta
 * that is not JSON, as is_json() sees it, else 0 (the parser's words
 * stand). */
static int binary_why(const struct ev_kafka_msg *m, struct where *w,
		      struct ev_error *err)
{
	const struct ev_kafka_header *hx[H_N], *ct, *meta;
	struct ev_buf scratch = {0};
	int r = 0;

	index_headers(m, hx);
	ct = content_type(hx);
	meta = hx[H_EVLOGMETA];
	if (says_json(ct) && ct != NULL && ct->value != NULL && m->has_value &&
	    !is_json(m->value.p, m->value.len, &scratch))
		r = ev_seterr(err, EV_EDATA,
			      "%s: content-type '%.*s' but the value is "
			      "not JSON",
			      W(w), (int)(ct->len < 100 ? ct->len : 100),
			      (const char *)ct->value);
	else if (meta != NULL && meta->value != NULL &&
		 !is_json(meta->value, meta->len, &scratch))
		r = ev_seterr(err, EV_EDATA,
			      "%s: header 'ce_evlogmeta': not a JSON object",
			      W(w));
	ev_buf_free(&scratch);
	return r;
}

static int from_binary(const struct ev_kafka_msg *m, struct where *w,
		       struct ev_buf *out, struct ev_error *err)
{
	static const char *const need[] = {"ce_specversion", "ce_id",
					   "ce_source", "ce_type"};
	const struct ev_kafka_header *hx[H_N], *h, *ct, *meta;
	struct ev_buf scratch = {0};
	uint64_t v;
	size_t i;
	int r = 0, json_ok;

	index_headers(m, hx);
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		h = hx[H_SPECVERSION + i];
		if (h == NULL || h->value == NULL || h->len == 0)
			return ev_seterr(err, EV_EDATA,
					 "%s: incomplete CloudEvents headers: "
					 "no '%s'",
					 W(w), need[i]);
		if (ev_utf8_valid(h->value, h->len) != h->len)
			return ev_seterr(err, EV_EDATA,
					 "%s: header '%s' is not UTF-8", W(w),
					 need[i]);
	}
	h = hx[H_SPECVERSION];
	if (h->len != 3 || memcmp(h->value, "1.0", 3) != 0)
		return ev_seterr(err, EV_EDATA,
				 "%s: ce_specversion '%.*s': only 1.0 is known",
				 W(w), (int)(h->len > 16 ? 16 : h->len),
				 (const char *)h->value);
	ev_buf_puts(out, "{\"id\":");
	h = hx[H_ID];
	ev_json_string(out, (const char *)h->value, h->len);
	h = hx[H_TYPE];
	put_key_str(out, "type", h->value, h->len);
	if ((h = hx[H_SUBJECT]) != NULL && h->value != NULL)
		put_key_str(out, "stream", h->value, h->len);
	if ((h = hx[H_SEQUENCE]) != NULL) {
		if (hdr_number(h, &v) != 0)
			return ev_seterr(err, EV_EDATA,
					 "%s: header 'ce_sequence': not a "
					 "version number",
					 W(w));
		put_key_u64(out, "version", v);
	}
	if ((h = hx[H_TIME]) != NULL && h->value != NULL)
		put_key_str(out, "time", h->value, h->len);
	if ((h = hx[H_SCHEMAVERSION]) != NULL) {
		if (hdr_number(h, &v) != 0)
			return ev_seterr(err, EV_EDATA,
					 "%s: header 'ce_schemaversion': not "
					 "a number",
					 W(w));
		put_key_u64(out, "schema", v);
	}
	if ((h = hx[H_PARTITIONKEY]) != NULL && h->value != NULL)
		put_key_str(out, "key", h->value, h->len);
	ct = content_type(hx);
	json_ok = says_json(ct);
	/* a content-type that says JSON is a promise: a value that is not
	 * JSON is an error (a dead letter, per --on-failure), never bytes.
	 * one_value() here, is_json() only when the line does not parse
	 * (binary_why()): the parser reads the value once, not thrice */
	if (json_ok && ct != NULL && ct->value != NULL && m->has_value) {
		if (!one_value(m->value.p, m->value.len))
			return ev_seterr(err, EV_EDATA,
					 "%s: content-type '%.*s' but the "
					 "value is not JSON",
					 W(w),
					 (int)(ct->len < 100 ? ct->len : 100),
					 (const char *)ct->value);
		ev_buf_puts(out, ",\"data\":");
		ev_buf_append(out, m->value.p, m->value.len);
	} else {
		put_value_data(m, json_ok, out, &scratch);
	}
	meta = hx[H_EVLOGMETA];
	if (meta != NULL) {
		if (meta->value == NULL || !one_value(meta->value, meta->len) ||
		    meta->value[0] != '{') {
			ev_buf_free(&scratch);
			return ev_seterr(err, EV_EDATA,
					 "%s: header 'ce_evlogmeta': not a "
					 "JSON object",
					 W(w));
		}
		ev_buf_puts(out, ",\"meta\":");
		ev_buf_append(out, meta->value, meta->len);
	} else {
		/* another producer's: its source and extensions */
		int n = 0;
		for (i = 0; i < m->nh; i++) {
			const struct ev_kafka_header *x = &m->h[i];
			const char *nm = x->name;
			if (strncmp(nm, "ce_", 3) != 0 || x->value == NULL)
				continue;
			nm += 3;
			if (strcmp(nm, "specversion") == 0 ||
			    strcmp(nm, "id") == 0 || strcmp(nm, "type") == 0 ||
			    strcmp(nm, "subject") == 0 ||
			    strcmp(nm, "sequence") == 0 ||
			    strcmp(nm, "time") == 0 ||
			    strcmp(nm, "schemaversion") == 0 ||
			    strcmp(nm, "partitionkey") == 0 ||
			    strcmp(nm, "datacontenttype") == 0 ||
			    (strcmp(nm, "source") == 0 &&
			     x->len == strlen(CE_DEFAULT_SOURCE) &&
			     memcmp(x->value, CE_DEFAULT_SOURCE, x->len) == 0))
				continue;
			if (ev_utf8_valid(x->value, x->len) != x->len)
				continue;
			ev_buf_puts(out, n++ == 0 ? ",\"meta\":{" : ",");
			ev_json_string(out, nm, strlen(nm));
			ev_buf_putc(out, ':');
			ev_json_string(out, (const char *)x->value, x->len);
		}
		if (n > 0)
			ev_buf_putc(out, '}');
	}
	ev_buf_free(&scratch);
	r = ev_buf_putc(out, '}');
	return r == 0 ? 0 : ev_seterr(err, EV_ERR, "out of memory");
}

/* a record of another producer: an event of type kafka.record */
static int from_foreign(const struct ev_kafka_msg *m, const char *topic,
			int32_t partition, int64_t offset, struct ev_buf *out)
{
	struct ev_buf scratch = {0};
	char tmp[40];
	size_t i;
	int r;

	ev_buf_printf(out, "{\"id\":\"kafka:%s:%d:%lld\"", topic,
		      (int)partition, (long long)offset);
	ev_buf_puts(out, ",\"type\":\"kafka.record\",\"stream\":");
	ev_json_string(out, topic, strlen(topic));
	if (m->has_key && m->key.len > 0 &&
	    ev_utf8_valid(m->key.p, m->key.len) == m->key.len)
		put_key_str(out, "key", m->key.p, m->key.len);
	if (m->timestamp >= 0) {
		ev_buf_puts(out, ",\"time\":\"");
		ev_buf_append(out, tmp,
			      ev_time_format((ev_time_t)m->timestamp * 1000000,
					     tmp));
		ev_buf_putc(out, '"');
	}
	if (m->has_value) {
		if (is_json(m->value.p, m->value.len, &scratch)) {
			ev_buf_puts(out, ",\"data\":");
			ev_buf_append(out, m->value.p, m->value.len);
		} else if (ev_utf8_valid(m->value.p, m->value.len) ==
			   m->value.len) {
			ev_buf_puts(out, ",\"data\":");
			ev_json_string(out, (const char *)m->value.p,
				       m->value.len);
		} else {
			put_value_data(m, 0, out, &scratch);
		}
	}
	ev_buf_puts(out, ",\"meta\":{\"kafka\":{");
	if (m->has_key) {
		ev_buf_puts(out, "\"key\":");
		if (ev_utf8_valid(m->key.p, m->key.len) == m->key.len)
			ev_json_string(out, (const char *)m->key.p, m->key.len);
		else {
			ev_buf_puts(out, "{\"base64\":\"");
			ev_base64_encode(out, m->key.p, m->key.len);
			ev_buf_puts(out, "\"}");
		}
		ev_buf_putc(out, ',');
	}
	ev_buf_printf(out, "\"timestamp\":%lld", (long long)m->timestamp);
	if (m->nh > 0) {
		ev_buf_puts(out, ",\"headers\":{");
		for (i = 0; i < m->nh; i++) {
			if (i > 0)
				ev_buf_putc(out, ',');
			ev_json_string(out, m->h[i].name, strlen(m->h[i].name));
			ev_buf_putc(out, ':');
			put_hdr_value(out, &m->h[i]);
		}
		ev_buf_putc(out, '}');
	}
	r = ev_buf_puts(out, "}}}");
	ev_buf_free(&scratch);
	return r == 0 ? 0 : EV_ERR;
}

/* the line of a record; *binary says it came from headers (whose value
 * and meta one_value() let through: binary_why() says more) */
static int msg_to_json(const struct ev_kafka_msg *m, struct where *w,
		       struct ev_buf *out, enum ev_format *fmt, int *binary,
		       struct ev_error *err)
{
	const struct ev_kafka_header *ct = NULL;
	size_t i;

	*fmt = EV_FMT_ENVELOPE;
	*binary = 0;
	for (i = 0; i < m->nh; i++) {
		const char *nm = m->h[i].name;
		if (nm[0] == 'c' && nm[1] == 'e' && nm[2] == '_') {
			*binary = 1;
			return from_binary(m, w, out, err);
		}
		if (strcmp(nm, "content-type") == 0)
			ct = &m->h[i];
	}
	if (ct != NULL && ct->value != NULL &&
	    ((ct->len >= strlen(CT_CE) &&
	      memcmp(ct->value, CT_CE, strlen(CT_CE)) == 0) ||
	     (ct->len >= strlen(CT_ENVELOPE) &&
	      memcmp(ct->value, CT_ENVELOPE, strlen(CT_ENVELOPE)) == 0))) {
		if (!m->has_value || m->value.len == 0)
			return ev_seterr(err, EV_EDATA,
					 "%s: content-type '%.*s' but no value",
					 W(w), (int)ct->len,
					 (const char *)ct->value);
		if (ct->value[12] == 'c') /* application/cloudevents */
			*fmt = EV_FMT_CLOUDEVENTS;
		if (ev_buf_append(out, m->value.p, m->value.len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		return 0;
	}
	if (from_foreign(m, w->topic, w->partition, w->offset, out) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

int ev_kafka_msg_to_json(const struct ev_kafka_msg *m, const char *topic,
			 int32_t partition, int64_t offset, struct ev_buf *out,
			 enum ev_format *fmt, struct ev_error *err)
{
	struct where w;
	int binary, r;

	w.topic = topic;
	w.partition = partition;
	w.offset = offset;
	w.s[0] = '\0';
	r = msg_to_json(m, &w, out, fmt, &binary, err);
	if (r == 0 && binary)
		r = binary_why(m, &w, err);
	return r;
}

/* ------------------------------------------------------------ events */

struct ev_kafka_decoder {
	struct ev_parser *env, *ce; /* the envelope's, CloudEvents' */
	struct ev_buf js;
};

int ev_kafka_decoder_new(struct ev_kafka_decoder **out, struct ev_error *err)
{
	struct ev_kafka_decoder *d = calloc(1, sizeof(*d));
	struct ev_parse_opts po;

	*out = NULL;
	if (d == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	memset(&po, 0, sizeof(po));
	d->env = ev_parser_new(&po);
	po.format = EV_FMT_CLOUDEVENTS;
	d->ce = ev_parser_new(&po);
	if (d->env == NULL || d->ce == NULL) {
		ev_kafka_decoder_free(d);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	*out = d;
	return 0;
}

void ev_kafka_decoder_free(struct ev_kafka_decoder *d)
{
	if (d == NULL)
		return;
	ev_parser_free(d->env);
	ev_parser_free(d->ce);
	ev_buf_free(&d->js);
	free(d);
}

int ev_kafka_decode(struct ev_kafka_decoder *d, const struct ev_kafka_msg *m,
		    const char *topic, int32_t partition, int64_t offset,
		    struct ev_rec *rec, struct ev_event *ev,
		    struct ev_error *err)
{
	struct ev_parser *ps;
	enum ev_format fmt;
	ev_time_t t;
	struct where w;
	int r, binary;

	w.topic = topic;
	w.partition = partition;
	w.offset = offset;
	w.s[0] = '\0';
	d->js.len = 0;
	if ((r = msg_to_json(m, &w, &d->js, &fmt, &binary, err)) != 0)
		return r;
	ps = fmt == EV_FMT_CLOUDEVENTS ? d->ce : d->env;
	/* an event without a time (no ce_time, no "time") gets the
	 * record's timestamp, as a kafka.record does, not the time it is
	 * read */
	r = ev_parser_line(ps, (const char *)d->js.p, d->js.len,
			   m->timestamp >= 0 ? (ev_time_t)m->timestamp * 1000000
					     : EV_TIME_NONE,
			   err);
	if (r == 1) {
		ev_parser_record(ps, 0, &rec->p, &rec->n, &t);
		rec->offset = (uint64_t)offset;
		rec->append_time = t; /* the event's time */
		if (ev == NULL)	      /* the scan decodes it when it needs to */
			return 0;
		if ((r = ev_event_decode(rec->p, rec->n, ev, err)) != 0)
			return r;
		ev->offset = (uint64_t)offset;
		return 0;
	}
	if (r >= 0) /* a batch, or nothing: not one event */
		r = ev_seterr(err, EV_EDATA, "not one event");
	/* a value or meta that only looked like JSON: say which */
	if (r == EV_EDATA && binary && binary_why(m, &w, err) != 0)
		return EV_EDATA;
	if (r == EV_EDATA) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg),
			 "record %.249s:%d:%lld: not an event: %.700s", topic,
			 (int)partition, (long long)offset, msg);
	}
	return r;
}
